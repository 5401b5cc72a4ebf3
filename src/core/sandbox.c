/*
 * sandbox.c - the seccomp allowlists: one table, a row per system call, a
 * column per thread class (see vmmkit/sandbox.h; docs/security.md explains
 * the rows and how to audit them).
 *
 * The filters are compiled once, by vmm_sandbox_set_mode(), with libseccomp
 * into classic BPF programs kept here; a thread installing its filter then
 * makes just two calls (prctl(PR_SET_NO_NEW_PRIVS) and seccomp()), no
 * allocation and no libseccomp, which matters for the vCPU threads: they
 * install theirs under the main thread's filter, so every call they make
 * before and while installing must be on the main list too.
 *
 * The main thread's filter is the union of the MAIN and VCPU columns,
 * because the vCPU threads it creates at every boot inherit it (vmm/sandbox.h,
 * "How the filters stack").  The ioctl row is special: its requests come
 * from this file (terminal requests) and from the hypervisor backend
 * (hv_ops.sandbox_ioctls, kept in src/hv/ so no KVM name appears here),
 * each with the classes that issue it.
 *
 * How the list was found: every device and every path (boot, PSCI CPU_ON,
 * reboot, poweroff, console input, the stop signals, disks on io_uring, net
 * on a tap and on a socket, PCI and MMIO transports) run with
 * --seccomp=log in the simulated host, the kernel's audit lines collected
 * and each call traced back to its caller (docs/security.md).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if_tun.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <vmmkit/log.h>
#include <vmmkit/sandbox.h>

#include "hv/hv.h"

/* The columns. */
#define M VMM_THREAD_BIT(VMM_THREAD_MAIN)
#define V VMM_THREAD_BIT(VMM_THREAD_VCPU)
#define I VMM_THREAD_BIT(VMM_THREAD_IO)
#define C VMM_THREAD_BIT(VMM_THREAD_INPUT)
#define S VMM_THREAD_BIT(VMM_THREAD_SIGNAL)
#define ALL (M | V | I | C | S)

/* One argument condition: (arg[@index] & @mask) == @value.  @mask 0 = none. */
struct sandbox_arg {
    unsigned int index;
    uint64_t mask;
    uint64_t value;
};

/* The placeholder for "the process's own id", filled in when compiling. */
#define ARG_SELF_PID UINT64_MAX

struct sandbox_rule {
    const char *name;       /* as libseccomp spells it */
    unsigned int classes;   /* VMM_THREAD_BIT()s */
    struct sandbox_arg arg; /* a condition on one argument, or none */
    int fail_errno;         /* non-zero: the call fails with this errno instead */
};

#define ARG(i, m, v)                                                                               \
    {                                                                                              \
        .index = (i), .mask = (m), .value = (v)                                                    \
    }
#define ARG_NONE                                                                                   \
    {                                                                                              \
        .mask = 0                                                                                  \
    }

/*
 * THE TABLE.  Review every change: a row widens what a compromised VMM can
 * ask of the host kernel.  Calls that exist on one architecture only
 * (epoll_wait, poll, newfstatat vs fstat) are listed by every name; a name
 * this architecture lacks is skipped.
 */
static const struct sandbox_rule sandbox_rules[] = {
    /* --- memory ------------------------------------------------------------------- */
    /* malloc (arenas, large blocks), thread stacks, io_uring rings at teardown; never
     * executable memory: no PROT_EXEC, so no new code can be mapped in. */
    {"mmap", ALL, ARG(2, PROT_EXEC, 0), 0},
    {"mprotect", ALL, ARG(2, PROT_EXEC, 0), 0},
    /* free() returns blocks, thread stacks, guest RAM at teardown. */
    {"munmap", ALL, ARG_NONE, 0},
    /* malloc's main heap. */
    {"brk", ALL, ARG_NONE, 0},
    /* free() trims arenas and a thread's stack at exit (MADV_DONTNEED). */
    {"madvise", ALL, ARG_NONE, 0},
    /* realloc() of large blocks (interval tree, descriptor tables). */
    {"mremap", M | V | I, ARG_NONE, 0},

    /* --- threads and synchronisation ---------------------------------------------- */
    /* every mutex, condition variable and pthread_join. */
    {"futex", ALL, ARG_NONE, 0},
    /* vm_run() creates the vCPU threads at every boot: threads only, never a process. */
    {"clone", M, ARG(0, CLONE_THREAD, CLONE_THREAD), 0},
    /* clone3's flags sit in memory a filter cannot read: fail it, glibc falls back
     * to clone. */
    {"clone3", M, ARG_NONE, ENOSYS},
    /* a new thread's first calls (glibc's start_thread), made under the creator's
     * filter: the main filter must have them for the vCPU threads. */
    {"set_robust_list", V, ARG_NONE, 0},
    {"rseq", V, ARG_NONE, 0},
    /* a vCPU thread names itself ("vcpu0") and installs its own filter under the
     * main one; nothing else of prctl. */
    {"prctl", V, ARG(0, ~0ull, PR_SET_NAME), 0},
    {"prctl", V, ARG(0, ~0ull, PR_SET_NO_NEW_PRIVS), 0},
    {"seccomp", V, ARG(0, ~0ull, SECCOMP_SET_MODE_FILTER), 0},
    /* a thread's end; exit_group for the process's end and fatal errors. */
    {"exit", ALL, ARG_NONE, 0},
    {"exit_group", ALL, ARG_NONE, 0},
    {"sched_yield", ALL, ARG_NONE, 0},
    {"sched_getaffinity", M, ARG_NONE, 0},

    /* --- signals ------------------------------------------------------------------ */
    /* glibc blocks signals around thread creation, exit and pthread_kill. */
    {"rt_sigprocmask", ALL, ARG_NONE, 0},
    /* the kick handler (SIGUSR1) returns; any handler does. */
    {"rt_sigreturn", ALL, ARG_NONE, 0},
    /* a fatal signal restores the terminal, then re-raises with the default action
     * (chardev_stdio.c). */
    {"rt_sigaction", ALL, ARG_NONE, 0},
    /* vm_request_stop() kicks vCPUs with SIGUSR1 (from a vCPU on poweroff/reset,
     * the signal thread, console Ctrl-A x, the main thread); the program wakes its
     * signal thread; raise().  Only threads of this process. */
    {"tgkill", ALL, ARG(0, ~0ull, ARG_SELF_PID), 0},
    {"getpid", ALL, ARG_NONE, 0},
    {"gettid", ALL, ARG_NONE, 0},
    /* sanitizer runtimes (ASan) give each thread an alternate signal stack at its
     * start and take it away at its end; it maps nothing. */
    {"sigaltstack", ALL, ARG_NONE, 0},
    /* the signal thread's sigwait(). */
    {"rt_sigtimedwait", S, ARG_NONE, 0},
    /* a call interrupted by the kick signal restarts. */
    {"restart_syscall", ALL, ARG_NONE, 0},

    /* --- time --------------------------------------------------------------------- */
    /* log time stamps and deadlines (vDSO first; these when it is missing). */
    {"clock_gettime", ALL, ARG_NONE, 0},
    {"gettimeofday", ALL, ARG_NONE, 0},
    {"clock_nanosleep", M | V | I, ARG_NONE, 0},
    {"nanosleep", M | V | I, ARG_NONE, 0},
    /* x86: the RTC's interrupt timer, armed by the guest's register writes (a vCPU),
     * re-armed when it fires (the board's I/O thread), disarmed at reset (main). */
    {"timerfd_settime", M | V | I, ARG_NONE, 0},

    /* --- descriptors -------------------------------------------------------------- */
    /* logs (stderr), console output (UART on vCPUs, virtio-console on I/O), eventfd
     * signals (doorbells, irqfds, wake-ups), tap frames. */
    {"write", ALL, ARG_NONE, 0},
    {"read", ALL, ARG_NONE, 0},
    {"writev", M | V | I, ARG_NONE, 0},
    {"readv", M | V | I, ARG_NONE, 0},
    /* a reboot loads the kernel and initrd again (read only, never creating). */
    {"openat", M, ARG(2, O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY), 0},
    {"pread64", M, ARG_NONE, 0},
    {"fstat", M, ARG_NONE, 0},
    {"newfstatat", M, ARG_NONE, 0},
    {"lseek", M, ARG_NONE, 0},
    /* teardown; a transport drops an eventfd; a forwarded region reconnects. */
    {"close", ALL, ARG_NONE, 0},
    /* a queue's doorbell and interrupt eventfds, made when the driver enables it. */
    {"eventfd2", M | V | I, ARG_NONE, 0},
    /* the I/O thread's loop; drivers starting and resetting queues add and remove
     * their doorbells from vCPU threads, resets and teardown from main. */
    {"epoll_wait", I, ARG_NONE, 0},
    {"epoll_pwait", I, ARG_NONE, 0},
    {"epoll_ctl", M | V | I, ARG_NONE, 0},
    /* console input waits; a forwarded region's deadline; a socket NIC's hang-up check. */
    {"poll", M | V | I | C, ARG_NONE, 0},
    {"ppoll", M | V | I | C, ARG_NONE, 0},
    /* virtio-rng. */
    {"getrandom", V | I, ARG_NONE, 0},
    /* virtio-blk submits and reaps on its io_uring (the ring itself is made at set-up;
     * io_uring_setup is on no list).  A reset waits for requests in flight. */
    {"io_uring_enter", M | V | I, ARG_NONE, 0},
    /* a NIC on a socket (switch ports), a forwarded region's requests. */
    {"sendmsg", V | I, ARG_NONE, 0},
    {"recvmsg", V | I, ARG_NONE, 0},
    {"sendto", V | I, ARG_NONE, 0},
    {"recvfrom", V | I, ARG_NONE, 0},
    /* a forwarded region whose handler went away reconnects: a local socket only. */
    {"socket", V, ARG(0, ~0ull, AF_UNIX), 0},
    {"connect", V, ARG_NONE, 0},
    {"getsockopt", V, ARG_NONE, 0},
    /* ioctl: by request only, below. */
};

/* ioctl requests outside the hypervisor's, and who makes them. */
static const struct {
    unsigned long request;
    unsigned int classes;
} sandbox_ioctls[] = {
    /* the terminal back to its saved mode: chardev_close() at teardown, and any
     * thread a fatal signal hits (chardev_stdio.c); isatty(). */
    {TCGETS, ALL},
    {TCSETS, ALL},
    {TCSETSW, ALL},
    {TCSETSF, ALL},
    /* a tap NIC's offloads follow the features the driver accepts (a vCPU writing
     * the status register) and go back to none at reset (main). */
    {TUNSETOFFLOAD, M | V},
};

#undef M
#undef V
#undef I
#undef C
#undef S
#undef ALL

/* --- compiled filters: written by vmm_sandbox_set_mode() only -------------------------- */

static vmm_sandbox_mode_t sandbox_mode = VMM_SANDBOX_OFF;
static struct sock_fprog sandbox_progs[VMM_THREAD_CLASS_COUNT];

static const char *const class_names[VMM_THREAD_CLASS_COUNT] = {
    [VMM_THREAD_MAIN] = "main",   [VMM_THREAD_VCPU] = "vcpu",     [VMM_THREAD_IO] = "io",
    [VMM_THREAD_INPUT] = "input", [VMM_THREAD_SIGNAL] = "signal",
};

static const char *const mode_names[] = {
    [VMM_SANDBOX_OFF] = "off",
    [VMM_SANDBOX_LOG] = "log",
    [VMM_SANDBOX_KILL] = "kill",
};

const char *vmm_thread_class_name(vmm_thread_class_t cls)
{
    return (unsigned int)cls < VMM_THREAD_CLASS_COUNT ? class_names[cls] : "invalid";
}

const char *vmm_sandbox_mode_name(vmm_sandbox_mode_t mode)
{
    return (unsigned int)mode <= VMM_SANDBOX_KILL ? mode_names[mode] : "invalid";
}

int vmm_sandbox_mode_parse(const char *s, vmm_sandbox_mode_t *mode)
{
    for (unsigned int i = 0; s && i <= VMM_SANDBOX_KILL; i++) {
        if (strcmp(s, mode_names[i]) == 0) {
            *mode = (vmm_sandbox_mode_t)i;
            return 0;
        }
    }
    return -EINVAL;
}

vmm_sandbox_mode_t vmm_sandbox_mode(void)
{
    return sandbox_mode;
}

/* The columns whose rows @cls's filter admits: main's includes its vCPU threads'. */
static unsigned int effective_classes(vmm_thread_class_t cls)
{
    unsigned int bits = VMM_THREAD_BIT(cls);

    if (cls == VMM_THREAD_MAIN) {
        bits |= VMM_THREAD_BIT(VMM_THREAD_VCPU);
    }
    return bits;
}

int vmm_sandbox_allows(vmm_thread_class_t cls, const char *name)
{
    bool found = false;

    if ((unsigned int)cls >= VMM_THREAD_CLASS_COUNT || !name) {
        return -1;
    }
    if (seccomp_syscall_resolve_name(name) < 0) {
        return -1;
    }
    if (strcmp(name, "ioctl") == 0) {
        return 1;
    }
    for (size_t i = 0; i < sizeof(sandbox_rules) / sizeof(sandbox_rules[0]); i++) {
        const struct sandbox_rule *r = &sandbox_rules[i];
        if (strcmp(r->name, name) == 0 && !r->fail_errno && (r->classes & effective_classes(cls))) {
            found = true;
        }
    }
    return found;
}

static int add_ioctl(scmp_filter_ctx ctx, unsigned long request)
{
    /* The kernel takes the request as an unsigned int: compare the low 32 bits. */
    return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                            SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, request & 0xffffffffu));
}

/* Fill @ctx with @cls's rows. */
static int add_rules(scmp_filter_ctx ctx, vmm_thread_class_t cls)
{
    const struct hv_ops *hv = hv_default_backend();
    unsigned int want = effective_classes(cls);
    int rc;

    for (size_t i = 0; i < sizeof(sandbox_rules) / sizeof(sandbox_rules[0]); i++) {
        const struct sandbox_rule *r = &sandbox_rules[i];
        int nr = seccomp_syscall_resolve_name(r->name);
        uint32_t action = r->fail_errno ? SCMP_ACT_ERRNO((uint32_t)r->fail_errno) : SCMP_ACT_ALLOW;

        if (!(r->classes & want)) {
            continue;
        }
        if (nr < 0) {
            continue; /* not a system call of this architecture */
        }
        if (r->arg.mask) {
            uint64_t value = r->arg.value == ARG_SELF_PID ? (uint64_t)getpid() : r->arg.value;
            rc = seccomp_rule_add(ctx, action, nr, 1,
                                  SCMP_CMP(r->arg.index, SCMP_CMP_MASKED_EQ, r->arg.mask, value));
        } else {
            rc = seccomp_rule_add(ctx, action, nr, 0);
        }
        if (rc < 0 && rc != -EEXIST) {
            LOG_ERR("sandbox: %s filter: rule for %s: %s", class_names[cls], r->name,
                    strerror(-rc));
            return rc;
        }
    }
    for (size_t i = 0; i < sizeof(sandbox_ioctls) / sizeof(sandbox_ioctls[0]); i++) {
        if ((sandbox_ioctls[i].classes & want) &&
            (rc = add_ioctl(ctx, sandbox_ioctls[i].request)) < 0 && rc != -EEXIST) {
            return rc;
        }
    }
    for (unsigned int i = 0; hv && i < hv->nr_sandbox_ioctls; i++) {
        if ((hv->sandbox_ioctls[i].classes & want) &&
            (rc = add_ioctl(ctx, hv->sandbox_ioctls[i].request)) < 0 && rc != -EEXIST) {
            return rc;
        }
    }
    return 0;
}

/* Compile @cls's filter for @mode into @prog (its filter array is malloc'd). */
static int compile(vmm_thread_class_t cls, vmm_sandbox_mode_t mode, struct sock_fprog *prog)
{
    uint32_t deny = mode == VMM_SANDBOX_LOG ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS;
    scmp_filter_ctx ctx = seccomp_init(deny);
    struct stat st;
    void *buf = NULL;
    int fd = -1, rc;

    if (!ctx) {
        return -ENOMEM;
    }
    /* A call through another ABI (x86's int 0x80, x32) is denied as well. */
    if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, deny)) < 0 ||
        (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0 ||
        (rc = add_rules(ctx, cls)) < 0) {
        goto out;
    }
    /* libseccomp 2.5 exports to a descriptor only: go through a memfd. */
    fd = memfd_create("vmmkit-seccomp", MFD_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    if ((rc = seccomp_export_bpf(ctx, fd)) < 0) {
        goto out;
    }
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        goto out;
    }
    if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) ||
        st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS) {
        LOG_ERR("sandbox: the %s filter has %lld bytes of BPF, more than the kernel takes",
                class_names[cls], (long long)st.st_size);
        rc = -E2BIG;
        goto out;
    }
    buf = malloc((size_t)st.st_size);
    if (!buf) {
        rc = -ENOMEM;
        goto out;
    }
    if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
        rc = -EIO;
        goto out;
    }
    prog->filter = buf;
    prog->len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
    buf = NULL;
    rc = 0;
out:
    free(buf);
    if (fd >= 0) {
        close(fd);
    }
    seccomp_release(ctx);
    return rc;
}

int vmm_sandbox_set_mode(vmm_sandbox_mode_t mode)
{
    struct sock_fprog progs[VMM_THREAD_CLASS_COUNT];
    int rc = 0;

    if ((unsigned int)mode > VMM_SANDBOX_KILL) {
        return -EINVAL;
    }
    memset(progs, 0, sizeof(progs));
    if (mode != VMM_SANDBOX_OFF) {
        /* Level 3: SCMP_ACT_LOG and SCMP_ACT_KILL_PROCESS (Linux 4.14). */
        if (seccomp_api_get() < 3) {
            LOG_ERR("sandbox: this kernel lacks seccomp filters with the log and "
                    "kill-process actions (Linux 4.14); use --seccomp=off");
            return -ENOSYS;
        }
        for (int c = 0; c < VMM_THREAD_CLASS_COUNT && rc == 0; c++) {
            rc = compile((vmm_thread_class_t)c, mode, &progs[c]);
        }
        if (rc < 0) {
            for (int c = 0; c < VMM_THREAD_CLASS_COUNT; c++) {
                free(progs[c].filter);
            }
            LOG_ERR("sandbox: compiling the seccomp filters: %s", strerror(-rc));
            return rc;
        }
    }
    for (int c = 0; c < VMM_THREAD_CLASS_COUNT; c++) {
        free(sandbox_progs[c].filter);
        sandbox_progs[c] = progs[c];
    }
    sandbox_mode = mode;
    return 0;
}

int vmm_sandbox_enter(vmm_thread_class_t cls)
{
    if (sandbox_mode == VMM_SANDBOX_OFF) {
        return 0;
    }
    if ((unsigned int)cls >= VMM_THREAD_CLASS_COUNT || !sandbox_progs[cls].filter) {
        return -EINVAL;
    }
    /* seccomp(2): an unprivileged thread needs no_new_privs for a filter. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        return -errno;
    }
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &sandbox_progs[cls]) < 0) {
        return -errno;
    }
    return 0;
}
