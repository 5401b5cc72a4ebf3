/*
 * sandbox.h - seccomp allowlists per thread class.
 *
 * A VMM that runs a hostile guest must assume that one day a guest gets
 * code running in it.  The sandbox limits what that code can ask of the host
 * kernel: each VMM thread, once its set-up is done and before it runs any
 * guest-driven work, installs a seccomp filter that admits only the system
 * calls (and, for ioctl, the request numbers) its class of thread makes.
 * The allowlists live in one reviewed table, src/core/sandbox.c; the
 * hypervisor backend supplies its own ioctl requests (hv.h,
 * hv_ops.sandbox_ioctls).  docs/security.md has the threat model, the table
 * explained and how to audit it with VMM_SANDBOX_LOG.
 *
 * How the filters stack.  A seccomp filter binds the thread that installs
 * it and every thread it creates afterwards, and filters only ever add up:
 * the kernel runs them all and the strictest answer wins.  So:
 *   - the I/O, console-input and signal threads are created during set-up,
 *     by the unfiltered main thread, and each installs its own class's
 *     filter when it starts;
 *   - the main thread installs its filter (VMM_THREAD_MAIN) after it created
 *     those threads, right before its first vm_run();
 *   - vm_run() creates the vCPU threads at every boot, after the main thread
 *     is filtered, so they inherit the main filter and add their own
 *     (VMM_THREAD_VCPU).  The main filter therefore admits the vCPU
 *     class's calls too; a vCPU thread's effective list is its own.
 *
 * Process-wide state: the mode and the compiled filters, set once by
 * vmm_sandbox_set_mode() before any VMM thread starts and read-only after.
 * The default is VMM_SANDBOX_OFF, so a library user opts in; the vmmkit
 * program defaults to VMM_SANDBOX_KILL (--seccomp=).
 */
#ifndef VMMKIT_SANDBOX_H
#define VMMKIT_SANDBOX_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vmm_sandbox_mode {
    VMM_SANDBOX_OFF,  /* no filter */
    VMM_SANDBOX_LOG,  /* a call outside the list proceeds and the kernel logs it (audit) */
    VMM_SANDBOX_KILL, /* a call outside the list kills the whole process with SIGSYS */
} vmm_sandbox_mode_t;

/* The thread classes; each has a column in the table. */
typedef enum vmm_thread_class {
    VMM_THREAD_MAIN,   /* set-up, then waits in vm_run(), resets and reboots, tears down */
    VMM_THREAD_VCPU,   /* the core's vCPU threads: the exit loop, MMIO emulation */
    VMM_THREAD_IO,     /* the I/O thread (iothread.c): queue kicks, disk and net back ends */
    VMM_THREAD_INPUT,  /* a character device's input thread (chardev_stdio.c) */
    VMM_THREAD_SIGNAL, /* the program's signal thread: signals become stop requests */
    VMM_THREAD_CLASS_COUNT,
} vmm_thread_class_t;

/* A set of thread classes, as in hv_ops.sandbox_ioctls: one bit per class. */
#define VMM_THREAD_BIT(cls) (1u << (cls))

/*
 * Choose the mode for threads that call vmm_sandbox_enter() from now on,
 * and compile every class's filter for it.  Call it once, before the VM and
 * its threads are created (it is not thread-safe).  Returns 0 or -errno
 * (-ENOSYS: the kernel has no seccomp filters, -ENOMEM).
 */
int vmm_sandbox_set_mode(vmm_sandbox_mode_t mode);

/* The mode vmm_sandbox_set_mode() set (VMM_SANDBOX_OFF when never called). */
vmm_sandbox_mode_t vmm_sandbox_mode(void);

/*
 * Install @cls's filter on the calling thread (nothing when the mode is
 * off).  Sets no_new_privs first, as the kernel requires.  Threads it
 * creates later inherit the filter.  Returns 0 or -errno; a thread that
 * cannot install its filter must not go on to serve the guest.
 */
int vmm_sandbox_enter(vmm_thread_class_t cls);

/* "off", "log", "kill" <-> the mode.  Parse returns 0 or -EINVAL. */
int vmm_sandbox_mode_parse(const char *s, vmm_sandbox_mode_t *mode);
const char *vmm_sandbox_mode_name(vmm_sandbox_mode_t mode);
const char *vmm_thread_class_name(vmm_thread_class_t cls);

/*
 * The table, for tests and docs: whether @cls's own list admits system
 * call @name (as libseccomp spells it, "openat"); ioctl is listed though
 * its requests are filtered by argument.  -1 when @name is not a system
 * call of this architecture.
 */
int vmm_sandbox_allows(vmm_thread_class_t cls, const char *name);

#ifdef __cplusplus
}
#endif

#endif
