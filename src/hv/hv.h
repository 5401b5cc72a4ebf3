/*
 * hv.h - the hypervisor backend interface: the only way the core reaches the
 * hypervisor.
 *
 * A backend is a const table of operations (struct hv_ops).  The KVM backend
 * (src/hv/kvm/) is the only code that opens /dev/kvm or names anything from
 * <linux/kvm.h>; an seL4 backend would replace just that directory.  Unit
 * tests plug a fake table in through vm_create_with_backend()
 * (src/core/vm_priv.h).
 *
 * What a backend provides:
 *   VM:     vm_create / vm_destroy; mem_map / mem_unmap (one host mapping
 *           per guest-physical range, a KVM memory slot); irq_line and msi
 *           (interrupts into the in-hypervisor controller); ioeventfd and
 *           irqfd (doorbells and interrupts that bypass the vCPU loop).
 *   vCPU:   vcpu_create / vcpu_destroy; vcpu_run, which enters the guest and
 *           reports why it came back as a backend-neutral struct hv_exit;
 *           vcpu_kick, callable from any thread, which makes a vcpu_run in
 *           progress (or the next one) return HV_EXIT_INTR promptly;
 *           vcpu_reset, back to the power-on state.
 *   arch:   register access and interrupt-controller set-up for the host
 *           architecture (the x86_* or arm64_* members).
 *
 * Every operation returns 0 or a negative errno.  An operation a backend
 * does not provide is NULL; the core then returns -EOPNOTSUPP to its caller,
 * and device code falls back (an ioeventfd becomes an ordinary MMIO exit, an
 * irqfd becomes vm_irq_set_level() from the I/O thread).
 *
 * Threads: vcpu_run, vcpu_reset and the register accessors of one vCPU are
 * called only by the thread that owns it (its run thread, or the VMM thread
 * while the VM is stopped).  vcpu_kick, irq_line, msi, ioeventfd and irqfd
 * may be called from any thread.  mem_map and mem_unmap are serialised by
 * the core (its memory write lock).
 */
#ifndef VMMKIT_HV_H
#define VMMKIT_HV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vmmkit/eventfd.h>
#if defined(VMMKIT_ARCH_x86)
#include <vmmkit/x86.h>
#elif defined(VMMKIT_ARCH_arm64)
#include <vmmkit/arm64.h>
#endif

typedef struct hv_vm hv_vm_t;     /* backend's VM, opaque to the core */
typedef struct hv_vcpu hv_vcpu_t; /* backend's vCPU, opaque to the core */

/* Why vcpu_run() returned. */
typedef enum hv_exit_reason {
    HV_EXIT_MMIO,           /* data access to guest-physical memory with no (writable) mapping */
    HV_EXIT_IO,             /* x86 IN/OUT (also string forms, see io.count) */
    HV_EXIT_POWEROFF,       /* guest asked to power off (PSCI SYSTEM_OFF, ...) */
    HV_EXIT_RESET,          /* guest asked for a reset (PSCI SYSTEM_RESET, ...) */
    HV_EXIT_CRASH,          /* guest reported a crash (PSCI/hypervisor crash event) */
    HV_EXIT_HLT,            /* vCPU halted and nothing in the hypervisor will wake it */
    HV_EXIT_SHUTDOWN,       /* x86 shutdown (triple fault) */
    HV_EXIT_INTERNAL_ERROR, /* the hypervisor could not emulate something; detail = sub-error */
    HV_EXIT_FAIL_ENTRY,     /* the hardware refused to enter; detail = hardware reason */
    HV_EXIT_INTR,           /* kicked (vcpu_kick) or interrupted by a signal */
    HV_EXIT_HYPERCALL,      /* arm64: a forwarded SMCCC call (arm64_smccc_forward) */
    HV_EXIT_MMIO_NISV,      /* arm64: an MMIO data abort without a valid instruction syndrome:
                             * the VMM decodes the instruction itself */
    HV_EXIT_UNKNOWN,        /* anything else; detail = the backend's raw exit code */
} hv_exit_reason_t;

/*
 * One exit.  The data pointers point into the backend's per-vCPU state and
 * stay valid until the next vcpu_run() of the same vCPU; the core writes the
 * answer to a read (MMIO read, port IN) through them before running again,
 * and the backend completes the guest's instruction with it on that next run.
 * Data are in guest byte order (little-endian on both supported hosts).
 */
typedef struct hv_exit {
    hv_exit_reason_t reason;
    uint64_t detail; /* backend-specific code for logs (see the reasons above) */
    union {
        struct {
            uint64_t addr; /* guest-physical address */
            uint8_t *data; /* @len bytes: written value, or where to put the read value */
            uint32_t len;  /* 1, 2, 4 or 8 */
            bool is_write;
        } mmio;
        struct {
            uint64_t ipa;     /* the faulting guest-physical address */
            uint64_t esr_iss; /* ESR_EL2's ISS (no valid syndrome: ISV = 0) */
        } nisv;
        struct {
            uint32_t function_id; /* W0 */
            bool smc;             /* made with SMC, else HVC; the PC is past it either way */
        } hypercall;
        struct {
            uint8_t *data;  /* @count elements of @size bytes, packed */
            uint32_t count; /* > 1 for REP INS/OUTS */
            uint16_t port;
            uint8_t size; /* 1, 2 or 4 */
            bool is_out;
        } io;
    };
} hv_exit_t;

/*
 * One ioctl request the backend makes once the VM is set up, and the
 * thread classes that make it (VMM_THREAD_BIT()s of vmmkit/sandbox.h).  The
 * sandbox (src/core/sandbox.c) admits ioctl() only with the requests of the
 * calling thread's class, so the backend keeps this list next to its calls.
 */
typedef struct hv_ioctl_rule {
    unsigned long request;
    unsigned int classes;
} hv_ioctl_rule_t;

/* mem_map() flags. */
#define HV_MEM_READONLY (1u << 0) /* guest writes exit as HV_EXIT_MMIO */

struct hv_ops {
    const char *name; /* "kvm", for logs */
    /* The requests issued after set-up, for the sandbox; NULL/0 when none. */
    const hv_ioctl_rule_t *sandbox_ioctls;
    unsigned int nr_sandbox_ioctls;

    /*
     * Open the hypervisor and create an empty VM.  Returns -ENOENT when the
     * hypervisor device is missing, -EACCES when it may not be opened,
     * -EOPNOTSUPP when it refuses (API version, missing capability).
     */
    int (*vm_create)(hv_vm_t **out);
    /* Destroy the VM (its vCPUs have been destroyed). */
    void (*vm_destroy)(hv_vm_t *vm);

    /*
     * Map host memory [@hva, @hva + @size) at guest-physical @gpa (all page
     * aligned).  *@handle identifies the mapping for mem_unmap().
     */
    int (*mem_map)(hv_vm_t *vm, uint64_t gpa, uint64_t size, void *hva, unsigned int flags,
                   int *handle);
    int (*mem_unmap)(hv_vm_t *vm, int handle);

    /* Drive interrupt line @irq (GIC INTID on arm64, GSI on x86) to @level. */
    int (*irq_line)(hv_vm_t *vm, uint32_t irq, int level);
    /* Deliver a message-signalled interrupt. */
    int (*msi)(hv_vm_t *vm, uint64_t addr, uint32_t data, uint32_t devid);
    /* Bind (@assign) or unbind an eventfd to a doorbell (see vmmkit/eventfd.h). */
    int (*ioeventfd)(hv_vm_t *vm, const vm_ioeventfd_t *ev, bool assign);
    /* Bind (@assign) or unbind @fd to line @irq; @resample_fd is -1 or a level-resample fd. */
    int (*irqfd)(hv_vm_t *vm, int fd, uint32_t irq, int resample_fd, bool assign);

    /* Create vCPU @id (dense, from 0) in its power-on state. */
    int (*vcpu_create)(hv_vm_t *vm, unsigned int id, hv_vcpu_t **out);
    void (*vcpu_destroy)(hv_vcpu_t *vcpu);
    /*
     * Enter the guest until the next exit and describe it in @exit.  Returns
     * 0 (also for HV_EXIT_INTR) or a negative errno when the hypervisor call
     * itself failed.
     */
    int (*vcpu_run)(hv_vcpu_t *vcpu, hv_exit_t *exit);
    /* From any thread: make vcpu_run() return HV_EXIT_INTR soon. */
    void (*vcpu_kick)(hv_vcpu_t *vcpu);
    /* Return the vCPU to its power-on state (the VM is not running). */
    int (*vcpu_reset)(hv_vcpu_t *vcpu);
    /*
     * Optional: the MMIO access of the last exit cannot complete; give the
     * guest a bus error for it (arm64: a synchronous external abort taken
     * at the faulting instruction) on the next vcpu_run().  -EOPNOTSUPP
     * when the hypervisor cannot; the core then completes the access with
     * all ones read / the write dropped.
     */
    int (*vcpu_bus_error)(hv_vcpu_t *vcpu);

#if defined(VMMKIT_ARCH_x86)
    int (*x86_create_irqchip)(hv_vm_t *vm);
    /* The in-kernel i8254 PIT (after the irqchip). */
    int (*x86_create_pit)(hv_vm_t *vm);
    int (*x86_set_tss_addr)(hv_vm_t *vm, uint64_t addr);
    int (*x86_set_identity_map_addr)(hv_vm_t *vm, uint64_t addr);
    int (*x86_get_regs)(hv_vcpu_t *vcpu, vm_x86_regs_t *regs);
    int (*x86_set_regs)(hv_vcpu_t *vcpu, const vm_x86_regs_t *regs);
    int (*x86_get_sregs)(hv_vcpu_t *vcpu, vm_x86_sregs_t *sregs);
    int (*x86_set_sregs)(hv_vcpu_t *vcpu, const vm_x86_sregs_t *sregs);
#elif defined(VMMKIT_ARCH_arm64)
    /* 1 when GIC @version (2 or 3) can be created, 0 when not, or -errno. */
    int (*arm64_gic_supported)(hv_vm_t *vm, int version);
    /* Create and initialise the GIC for @nr_vcpus vCPUs; sets gic->version. */
    int (*arm64_gic_create)(hv_vm_t *vm, vm_arm64_gic_t *gic, unsigned int nr_vcpus);
    int (*arm64_get_reg)(hv_vcpu_t *vcpu, vm_arm64_reg_t reg, uint64_t *value);
    int (*arm64_set_reg)(hv_vcpu_t *vcpu, vm_arm64_reg_t reg, uint64_t value);
    /*
     * Optional: HVC/SMC calls with function IDs [@first, @first + @count)
     * exit as HV_EXIT_HYPERCALL instead of being handled by the hypervisor.
     * Before any vCPU runs.  -EOPNOTSUPP when the hypervisor cannot.
     */
    int (*arm64_smccc_forward)(hv_vm_t *vm, uint32_t first, uint32_t count);
    /* The calling thread's own vCPU powers off: runs do not enter the guest
     * (they wait for a kick) until arm64_power_on(). */
    int (*arm64_power_off)(hv_vcpu_t *vcpu);
    /* The calling thread's own vCPU: reset it, PC = @entry, X0 = @x0, and
     * let it run (PSCI CPU_ON entry state). */
    int (*arm64_power_on)(hv_vcpu_t *vcpu, uint64_t entry, uint64_t x0);
#endif
};

/* The backend vm_create() uses: KVM on Linux. */
const struct hv_ops *hv_default_backend(void);

#endif
