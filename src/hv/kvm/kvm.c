/*
 * kvm.c - the KVM backend, architecture-independent part (see hv/hv.h).
 *
 * "api.rst" is the kernel's Documentation/virt/kvm/api.rst; sections are
 * cited by name (their numbers drift between kernel versions).
 *
 * Kicking a vCPU (hv_ops.vcpu_kick), following api.rst "The kvm_run
 * structure", immediate_exit: the kicker takes the vCPU's kick_lock, sets
 * kvm_run->immediate_exit and, when the vCPU's thread is inside (or about to
 * enter) KVM_RUN, sends it KVM_KICK_SIGNAL, whose handler does nothing.  The
 * runner marks itself in_run under the same lock before KVM_RUN, so either
 * the kicker sees in_run and signals (KVM_RUN returns -EINTR as soon as the
 * signal is pending), or KVM_RUN starts after immediate_exit was set and
 * returns -EINTR at once.  The flag is cleared under the lock when KVM_RUN
 * returns -EINTR; the core sets its stop reason before kicking, so whoever
 * sees that -EINTR also sees the reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vmmkit/log.h>
#include <vmmkit/sandbox.h>

#include "hv/kvm/kvm_priv.h"

#define KVM_DEVICE "/dev/kvm"

int kvm_ioctl(int fd, unsigned long req, void *arg)
{
    int rc;
    do {
        rc = ioctl(fd, req, arg);
    } while (rc < 0 && errno == EINTR);
    return rc < 0 ? -errno : rc;
}

/* --- the kick signal: the library's one piece of process-wide state ------------------ */

static pthread_once_t kick_signal_once = PTHREAD_ONCE_INIT;

/*
 * Whether this thread has the kick signal unblocked.  Thread-local, because
 * vm_run() starts fresh threads each time and pthread_t values get reused.
 */
static __thread bool kick_signal_unblocked;

static void kick_signal_handler(int sig)
{
    (void)sig; /* its only job is to interrupt KVM_RUN */
}

static void kick_signal_install(void)
{
    struct sigaction sa, old;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = kick_signal_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: KVM_RUN is never restarted anyway */
    if (sigaction(KVM_KICK_SIGNAL, &sa, &old) < 0) {
        LOG_ERR("kvm: installing the vCPU kick handler for signal %d: %s", KVM_KICK_SIGNAL,
                strerror(errno));
        return;
    }
    if (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN &&
        old.sa_handler != kick_signal_handler) {
        LOG_WARN("kvm: signal %d (SIGUSR1) had a handler; vmmkit now uses it to kick vCPUs",
                 KVM_KICK_SIGNAL);
    }
}

/* --- VM ------------------------------------------------------------------------------- */

static int kvm_check_cap(struct hv_vm *vm, long cap)
{
    int rc = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, cap);
    return rc < 0 ? 0 : rc;
}

static void kvm_vm_destroy(hv_vm_t *vm)
{
    if (!vm) {
        return;
    }
    kvm_arch_vm_fini(vm);
    if (vm->vm_fd >= 0) {
        close(vm->vm_fd);
    }
    if (vm->kvm_fd >= 0) {
        close(vm->kvm_fd);
    }
    free(vm->slot_map);
    free(vm);
}

static int kvm_vm_create(hv_vm_t **out)
{
    int rc;

    pthread_once(&kick_signal_once, kick_signal_install);

    struct hv_vm *vm = calloc(1, sizeof(*vm));
    if (!vm) {
        return -ENOMEM;
    }
    vm->vm_fd = -1;
#if defined(VMMKIT_ARCH_arm64)
    vm->gic_fd = -1;
    vm->its_fd = -1;
#endif
    vm->kvm_fd = open(KVM_DEVICE, O_RDWR | O_CLOEXEC);
    if (vm->kvm_fd < 0) {
        rc = -errno;
        LOG_ERR("kvm: cannot open %s: %s%s", KVM_DEVICE, strerror(-rc),
                rc == -ENOENT   ? " (no KVM: load kvm_intel/kvm_amd, or enable virtualisation)"
                : rc == -EACCES ? " (add the user to the kvm group)"
                                : "");
        goto err;
    }
    /* api.rst, KVM_GET_API_VERSION: the stable API is version 12. */
    if ((rc = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0)) != KVM_API_VERSION) {
        LOG_ERR("kvm: %s speaks API version %d, vmmkit needs %d", KVM_DEVICE, rc, KVM_API_VERSION);
        rc = -EOPNOTSUPP;
        goto err;
    }
    static const struct {
        long cap;
        const char *name;
    } required[] = {
        {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
        {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
    };
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        if (!kvm_check_cap(vm, required[i].cap)) {
            LOG_ERR("kvm: the host KVM lacks %s", required[i].name);
            rc = -EOPNOTSUPP;
            goto err;
        }
    }
    /* api.rst, KVM_CREATE_VM: machine type 0 (on arm64: the default 40-bit IPA space). */
    do {
        vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
    } while (vm->vm_fd < 0 && errno == EINTR);
    if (vm->vm_fd < 0) {
        rc = -errno;
        LOG_ERR("kvm: KVM_CREATE_VM: %s", strerror(-rc));
        goto err;
    }
    vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (vm->run_size < (int)sizeof(struct kvm_run)) {
        LOG_ERR("kvm: KVM_GET_VCPU_MMAP_SIZE returned %d", vm->run_size);
        rc = -EOPNOTSUPP;
        goto err;
    }
    /* api.rst, KVM_CAP_NR_MEMSLOTS: 32 when the capability is missing. */
    int slots = kvm_check_cap(vm, KVM_CAP_NR_MEMSLOTS);
    vm->nr_slots = slots > 0 ? (uint32_t)slots : 32;
    vm->slot_map = calloc((vm->nr_slots + 63) / 64, sizeof(uint64_t));
    if (!vm->slot_map) {
        rc = -ENOMEM;
        goto err;
    }
    vm->readonly_mem = kvm_check_cap(vm, KVM_CAP_READONLY_MEM) > 0;
    if ((rc = kvm_arch_vm_init(vm)) < 0) {
        goto err;
    }
    *out = vm;
    return 0;

err:
    kvm_vm_destroy(vm);
    return rc;
}

/* api.rst, KVM_SET_USER_MEMORY_REGION: one slot per mapping. */
static int kvm_mem_map(hv_vm_t *vm, uint64_t gpa, uint64_t size, void *hva, unsigned int flags,
                       int *handle)
{
    uint32_t slot;

    if ((flags & HV_MEM_READONLY) && !vm->readonly_mem) {
        return -EOPNOTSUPP;
    }
    for (slot = 0; slot < vm->nr_slots; slot++) {
        if (!(vm->slot_map[slot / 64] & (1ull << (slot % 64)))) {
            break;
        }
    }
    if (slot == vm->nr_slots) {
        LOG_ERR("kvm: all %u memory slots are in use", vm->nr_slots);
        return -ENOSPC;
    }
    struct kvm_userspace_memory_region region = {
        .slot = slot,
        .flags = (flags & HV_MEM_READONLY) ? KVM_MEM_READONLY : 0,
        .guest_phys_addr = gpa,
        .memory_size = size,
        .userspace_addr = (uintptr_t)hva,
    };
    int rc = kvm_ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region);
    if (rc < 0) {
        return rc;
    }
    vm->slot_map[slot / 64] |= 1ull << (slot % 64);
    *handle = (int)slot;
    return 0;
}

static int kvm_mem_unmap(hv_vm_t *vm, int handle)
{
    if (handle < 0 || (uint32_t)handle >= vm->nr_slots) {
        return -EINVAL;
    }
    /* A slot is deleted by setting its size to 0 (api.rst, KVM_SET_USER_MEMORY_REGION). */
    struct kvm_userspace_memory_region region = {.slot = (uint32_t)handle, .memory_size = 0};
    int rc = kvm_ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region);
    if (rc == 0) {
        vm->slot_map[handle / 64] &= ~(1ull << (handle % 64));
    }
    return rc;
}

/* api.rst, KVM_IRQ_LINE. */
static int kvm_irq_line(hv_vm_t *vm, uint32_t irq, int level)
{
    struct kvm_irq_level line = {.level = (uint32_t)level};
    uint32_t kirq;
    int rc = kvm_arch_irq_line(vm, irq, &kirq);
    if (rc < 0) {
        return rc;
    }
    line.irq = kirq;
    return kvm_ioctl(vm->vm_fd, KVM_IRQ_LINE, &line);
}

/* api.rst, KVM_SIGNAL_MSI: > 0 delivered, 0 blocked by the guest; both are success. */
static int kvm_msi(hv_vm_t *vm, uint64_t addr, uint32_t data, uint32_t devid)
{
    struct kvm_msi msi = {
        .address_lo = (uint32_t)addr,
        .address_hi = (uint32_t)(addr >> 32),
        .data = data,
    };
    if (vm->msi_devid) {
        msi.flags = KVM_MSI_VALID_DEVID;
        msi.devid = devid;
    }
    int rc = kvm_ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi);
    return rc < 0 ? rc : 0;
}

/* api.rst, KVM_IOEVENTFD. */
static int kvm_ioeventfd(hv_vm_t *vm, const vm_ioeventfd_t *ev, bool assign)
{
    struct kvm_ioeventfd k = {
        .datamatch = ev->has_datamatch ? ev->datamatch : 0,
        .addr = ev->addr,
        .len = ev->len,
        .fd = ev->fd,
        .flags = (ev->has_datamatch ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
                 (ev->pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
                 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
    };
    return kvm_ioctl(vm->vm_fd, KVM_IOEVENTFD, &k);
}

/* api.rst, KVM_IRQFD. */
static int kvm_irqfd(hv_vm_t *vm, int fd, uint32_t irq, int resample_fd, bool assign)
{
    uint32_t gsi;
    int rc = kvm_arch_irqfd_gsi(vm, irq, &gsi);
    if (rc < 0) {
        return rc;
    }
    struct kvm_irqfd k = {.fd = (uint32_t)fd, .gsi = gsi};
    if (!assign) {
        k.flags = KVM_IRQFD_FLAG_DEASSIGN;
    } else if (resample_fd >= 0) {
        k.flags = KVM_IRQFD_FLAG_RESAMPLE;
        k.resamplefd = (uint32_t)resample_fd;
    }
    return kvm_ioctl(vm->vm_fd, KVM_IRQFD, &k);
}

/* --- vCPU ----------------------------------------------------------------------------- */

static void kvm_vcpu_destroy(hv_vcpu_t *vcpu)
{
    if (!vcpu) {
        return;
    }
    if (vcpu->run) {
        munmap(vcpu->run, (size_t)vcpu->vm->run_size);
    }
    if (vcpu->fd >= 0) {
        close(vcpu->fd);
    }
    pthread_mutex_destroy(&vcpu->kick_lock);
    free(vcpu);
}

/* api.rst, KVM_CREATE_VCPU, then the kvm_run mapping (api.rst "The kvm_run structure"). */
static int kvm_vcpu_create(hv_vm_t *vm, unsigned int id, hv_vcpu_t **out)
{
    int rc;
    struct hv_vcpu *vcpu = calloc(1, sizeof(*vcpu));
    if (!vcpu) {
        return -ENOMEM;
    }
    vcpu->vm = vm;
    vcpu->id = id;
    pthread_mutex_init(&vcpu->kick_lock, NULL);
    vcpu->fd = kvm_ioctl(vm->vm_fd, KVM_CREATE_VCPU, (void *)(uintptr_t)id);
    if (vcpu->fd < 0) {
        rc = vcpu->fd;
        vcpu->fd = -1;
        goto err;
    }
    vcpu->run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
    if (vcpu->run == MAP_FAILED) {
        vcpu->run = NULL;
        rc = -errno;
        goto err;
    }
    if ((rc = kvm_arch_vcpu_init(vcpu)) < 0) {
        goto err;
    }
    *out = vcpu;
    return 0;

err:
    kvm_vcpu_destroy(vcpu);
    return rc;
}

static void kvm_vcpu_kick(hv_vcpu_t *vcpu)
{
    pthread_mutex_lock(&vcpu->kick_lock);
    __atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    if (vcpu->in_run) {
        pthread_kill(vcpu->thread, KVM_KICK_SIGNAL);
    }
    pthread_mutex_unlock(&vcpu->kick_lock);
}

/* Translate kvm_run (api.rst "The kvm_run structure") into a backend-neutral exit. */
static void kvm_decode_exit(struct hv_vcpu *vcpu, hv_exit_t *exit)
{
    struct kvm_run *run = vcpu->run;

    memset(exit, 0, sizeof(*exit));
    exit->detail = run->exit_reason;
    switch (run->exit_reason) {
    case KVM_EXIT_MMIO:
        exit->reason = HV_EXIT_MMIO;
        exit->mmio.addr = run->mmio.phys_addr;
        exit->mmio.data = run->mmio.data;
        exit->mmio.len = run->mmio.len;
        exit->mmio.is_write = run->mmio.is_write;
        break;
    case KVM_EXIT_IO: {
        uint64_t bytes = (uint64_t)run->io.count * run->io.size;
        if (run->io.data_offset > (uint64_t)vcpu->vm->run_size ||
            bytes > (uint64_t)vcpu->vm->run_size - run->io.data_offset) {
            exit->reason = HV_EXIT_UNKNOWN; /* never from a sane kernel */
            break;
        }
        exit->reason = HV_EXIT_IO;
        exit->io.data = (uint8_t *)run + run->io.data_offset;
        exit->io.count = run->io.count;
        exit->io.port = run->io.port;
        exit->io.size = run->io.size;
        exit->io.is_out = run->io.direction == KVM_EXIT_IO_OUT;
        break;
    }
    case KVM_EXIT_SYSTEM_EVENT:
        /* api.rst, KVM_EXIT_SYSTEM_EVENT: PSCI SYSTEM_OFF / SYSTEM_RESET, crash. */
        exit->detail = run->system_event.type;
        switch (run->system_event.type) {
        case KVM_SYSTEM_EVENT_SHUTDOWN:
            exit->reason = HV_EXIT_POWEROFF;
            break;
        case KVM_SYSTEM_EVENT_RESET:
            exit->reason = HV_EXIT_RESET;
            break;
        case KVM_SYSTEM_EVENT_CRASH:
            exit->reason = HV_EXIT_CRASH;
            break;
        default:
            exit->reason = HV_EXIT_UNKNOWN;
            exit->detail = ((uint64_t)KVM_EXIT_SYSTEM_EVENT << 32) | run->system_event.type;
            break;
        }
        break;
    case KVM_EXIT_HLT:
        exit->reason = HV_EXIT_HLT;
        break;
    case KVM_EXIT_SHUTDOWN:
        exit->reason = HV_EXIT_SHUTDOWN;
        break;
    case KVM_EXIT_INTERNAL_ERROR:
        exit->reason = HV_EXIT_INTERNAL_ERROR;
        exit->detail = run->internal.suberror;
        break;
    case KVM_EXIT_FAIL_ENTRY:
        exit->reason = HV_EXIT_FAIL_ENTRY;
        exit->detail = run->fail_entry.hardware_entry_failure_reason;
        break;
    case KVM_EXIT_INTR:
        exit->reason = HV_EXIT_INTR;
        break;
#if defined(VMMKIT_ARCH_arm64)
    case KVM_EXIT_ARM_NISV:
        /* api.rst, KVM_EXIT_ARM_NISV: the IPA and the ESR's ISS, no syndrome. */
        exit->reason = HV_EXIT_MMIO_NISV;
        exit->nisv.ipa = run->arm_nisv.fault_ipa;
        exit->nisv.esr_iss = run->arm_nisv.esr_iss;
        break;
    case KVM_EXIT_HYPERCALL:
        /* api.rst, KVM_EXIT_HYPERCALL on arm64: nr is the function ID; bit 0
         * of flags (which overlays longmode) is KVM_HYPERCALL_EXIT_SMC. */
        exit->reason = HV_EXIT_HYPERCALL;
        exit->hypercall.function_id = (uint32_t)run->hypercall.nr;
        exit->hypercall.smc = run->hypercall.longmode & 1u;
        break;
#endif
    default:
        exit->reason = HV_EXIT_UNKNOWN;
        break;
    }
}

/* api.rst, KVM_RUN. */
static int kvm_vcpu_run(hv_vcpu_t *vcpu, hv_exit_t *exit)
{
    if (!kick_signal_unblocked) {
        /* The thread may have inherited a mask that blocks the kick signal. */
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, KVM_KICK_SIGNAL);
        pthread_sigmask(SIG_UNBLOCK, &set, NULL);
        kick_signal_unblocked = true;
    }

    pthread_mutex_lock(&vcpu->kick_lock);
    vcpu->thread = pthread_self();
    vcpu->in_run = true;
    pthread_mutex_unlock(&vcpu->kick_lock);

    int rc = ioctl(vcpu->fd, KVM_RUN, 0);
    int err = errno;

    pthread_mutex_lock(&vcpu->kick_lock);
    vcpu->in_run = false;
    if (rc < 0 && (err == EINTR || err == EAGAIN)) {
        __atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
    }
    pthread_mutex_unlock(&vcpu->kick_lock);

    if (rc < 0) {
        if (err == EINTR || err == EAGAIN) {
            memset(exit, 0, sizeof(*exit));
            exit->reason = HV_EXIT_INTR;
            return 0;
        }
#if defined(VMMKIT_ARCH_arm64)
        if (err == ENOSYS) {
            /* api.rst, KVM_EXIT_ARM_NISV: a data abort without a valid syndrome. */
            LOG_ERR("kvm: vcpu%u made an MMIO access KVM cannot decode (no valid instruction "
                    "syndrome, e.g. a load/store pair or writeback to a device)",
                    vcpu->id);
        }
#endif
        return -err;
    }
    kvm_decode_exit(vcpu, exit);
    return 0;
}

static int kvm_vcpu_reset(hv_vcpu_t *vcpu)
{
    /* A kick left over from the last run must not cut the next one short. */
    __atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
    return kvm_arch_vcpu_reset(vcpu);
}

/*
 * The ioctls this backend makes once the VM is set up, by thread class, for
 * the sandbox (src/core/sandbox.c, docs/security.md).  Creating things
 * (KVM_CREATE_*, capabilities, the GIC's set-up) happens before any filter
 * and is on no list.
 */
#define SB_M VMM_THREAD_BIT(VMM_THREAD_MAIN)
#define SB_V VMM_THREAD_BIT(VMM_THREAD_VCPU)
#define SB_I VMM_THREAD_BIT(VMM_THREAD_IO)
#define SB_C VMM_THREAD_BIT(VMM_THREAD_INPUT)
static const hv_ioctl_rule_t kvm_sandbox_ioctls[] = {
    /* the vCPU loop */
    {KVM_RUN, SB_V},
    /* interrupts: device models raise lines and MSIs from the vCPU that touched a
     * register, the I/O thread that finished a request, the console input thread
     * that received a character, and lower them at reset (main) */
    {KVM_IRQ_LINE, SB_M | SB_V | SB_I | SB_C},
    {KVM_SIGNAL_MSI, SB_M | SB_V | SB_I | SB_C},
    /* doorbells and irqfds bound when a driver enables a queue (a vCPU), unbound at
     * reset and teardown (main) */
    {KVM_IOEVENTFD, SB_M | SB_V},
    {KVM_IRQFD, SB_M | SB_V},
    /* PCI BARs move when the guest programs them (a vCPU); teardown unmaps (main) */
    {KVM_SET_USER_MEMORY_REGION, SB_M | SB_V},
#if defined(VMMKIT_ARCH_arm64)
    /* registers: MMIO emulation, PSCI and SMCCC calls (vCPU), boot state (main) */
    {KVM_GET_ONE_REG, SB_M | SB_V},
    {KVM_SET_ONE_REG, SB_M | SB_V},
    /* PSCI CPU_ON/CPU_OFF on the caller's own vCPU; vm_reset() (main) */
    {KVM_ARM_VCPU_INIT, SB_M | SB_V},
    {KVM_SET_MP_STATE, SB_M | SB_V},
    /* a bus error for an MMIO access nothing answers */
    {KVM_SET_VCPU_EVENTS, SB_V},
#elif defined(VMMKIT_ARCH_x86)
    /* registers: port and MMIO emulation (vCPU), boot state and reset (main) */
    {KVM_GET_REGS, SB_M | SB_V},
    {KVM_SET_REGS, SB_M | SB_V},
    {KVM_GET_SREGS, SB_M | SB_V},
    {KVM_SET_SREGS, SB_M | SB_V},
    {KVM_SET_FPU, SB_M},
    {KVM_SET_LAPIC, SB_M},
    {KVM_SET_MP_STATE, SB_M},
#endif
};
#undef SB_M
#undef SB_V
#undef SB_I
#undef SB_C

static const struct hv_ops kvm_ops = {
    .name = "kvm",
    .sandbox_ioctls = kvm_sandbox_ioctls,
    .nr_sandbox_ioctls = sizeof(kvm_sandbox_ioctls) / sizeof(kvm_sandbox_ioctls[0]),
    .vm_create = kvm_vm_create,
    .vm_destroy = kvm_vm_destroy,
    .mem_map = kvm_mem_map,
    .mem_unmap = kvm_mem_unmap,
    .irq_line = kvm_irq_line,
    .msi = kvm_msi,
    .ioeventfd = kvm_ioeventfd,
    .irqfd = kvm_irqfd,
    .vcpu_create = kvm_vcpu_create,
    .vcpu_destroy = kvm_vcpu_destroy,
    .vcpu_run = kvm_vcpu_run,
    .vcpu_kick = kvm_vcpu_kick,
    .vcpu_reset = kvm_vcpu_reset,
#if defined(VMMKIT_ARCH_x86)
    .x86_create_irqchip = kvm_x86_create_irqchip,
    .x86_create_pit = kvm_x86_create_pit,
    .x86_set_tss_addr = kvm_x86_set_tss_addr,
    .x86_set_identity_map_addr = kvm_x86_set_identity_map_addr,
    .x86_get_regs = kvm_x86_get_regs,
    .x86_set_regs = kvm_x86_set_regs,
    .x86_get_sregs = kvm_x86_get_sregs,
    .x86_set_sregs = kvm_x86_set_sregs,
#elif defined(VMMKIT_ARCH_arm64)
    .arm64_gic_supported = kvm_arm64_gic_supported,
    .arm64_gic_create = kvm_arm64_gic_create,
    .arm64_get_reg = kvm_arm64_get_reg,
    .arm64_set_reg = kvm_arm64_set_reg,
    .vcpu_bus_error = kvm_arm64_bus_error,
    .arm64_smccc_forward = kvm_arm64_smccc_forward,
    .arm64_power_off = kvm_arm64_power_off,
    .arm64_power_on = kvm_arm64_power_on,
#endif
};

const struct hv_ops *hv_default_backend(void)
{
    return &kvm_ops;
}
