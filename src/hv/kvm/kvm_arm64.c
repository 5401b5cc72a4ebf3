/*
 * kvm_arm64.c - the KVM backend's arm64 part: vCPU initialisation with PSCI
 * 0.2, the in-kernel GIC (v2 or v3), ONE_REG register access and SPI
 * encoding.
 *
 * References: api.rst sections KVM_ARM_PREFERRED_TARGET, KVM_ARM_VCPU_INIT,
 * KVM_SET_ONE_REG (arm64 register ids), KVM_IRQ_LINE (arm64 encoding), and
 * Documentation/virt/kvm/devices/arm-vgic.rst and arm-vgic-v3.rst.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <vmmkit/log.h>

#include "hv/kvm/kvm_priv.h"

#define SPI_FIRST 32u
#define SPI_LAST 1019u

/* ONE_REG id of a 64-bit core register (struct kvm_regs field). */
#define CORE_REG(field)                                                                            \
    (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(field))

/* MPIDR_EL1 is op0=3, op1=0, CRn=0, CRm=0, op2=5 (Arm ARM, D19.2). */
#define SYSREG_MPIDR_EL1 ARM64_SYS_REG(3, 0, 0, 0, 5)

int kvm_arch_vm_init(struct hv_vm *vm)
{
    /* api.rst, KVM_ARM_PREFERRED_TARGET: the target to give KVM_ARM_VCPU_INIT. */
    int rc = kvm_ioctl(vm->vm_fd, KVM_ARM_PREFERRED_TARGET, &vm->preferred);
    if (rc < 0) {
        LOG_ERR("kvm: KVM_ARM_PREFERRED_TARGET: %s", strerror(-rc));
    }
    vm->ext_dabt = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ARM_INJECT_EXT_DABT) > 0;
    /* api.rst, KVM_CAP_ARM_NISV_TO_USER: a data abort without a valid
     * instruction syndrome (a load/store pair, a writeback form) exits as
     * KVM_EXIT_ARM_NISV for the VMM to emulate, instead of failing KVM_RUN. */
    if (ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ARM_NISV_TO_USER) > 0) {
        struct kvm_enable_cap cap = {.cap = KVM_CAP_ARM_NISV_TO_USER};
        vm->nisv = kvm_ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) == 0;
    }
    return rc;
}

/*
 * api.rst, KVM_SET_VCPU_EVENTS (arm64): after an MMIO exit userspace cannot
 * complete, ext_dabt_pending makes KVM take a synchronous external abort at
 * the faulting instruction instead of completing it.
 */
int kvm_arm64_bus_error(hv_vcpu_t *vcpu)
{
    struct kvm_vcpu_events ev;

    if (!vcpu->vm->ext_dabt) {
        return -EOPNOTSUPP;
    }
    memset(&ev, 0, sizeof(ev));
    ev.exception.ext_dabt_pending = 1;
    return kvm_ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &ev);
}

/* api.rst, "4.1 ATTRIBUTES" of the VM: KVM_ARM_VM_SMCCC_CTRL (Linux 6.4).  Older
 * uapi headers lack them. */
#ifndef KVM_ARM_VM_SMCCC_CTRL
#define KVM_ARM_VM_SMCCC_CTRL 0
#define KVM_ARM_VM_SMCCC_FILTER 0
struct kvm_smccc_filter {
    __u32 base;
    __u32 nr_functions;
    __u8 action;
    __u8 pad[15];
};
#define KVM_SMCCC_FILTER_FWD_TO_USER 2
#endif

int kvm_arm64_smccc_forward(hv_vm_t *vm, uint32_t first, uint32_t count)
{
    struct kvm_smccc_filter f = {
        .base = first, .nr_functions = count, .action = KVM_SMCCC_FILTER_FWD_TO_USER};
    struct kvm_device_attr attr = {
        .group = KVM_ARM_VM_SMCCC_CTRL,
        .attr = KVM_ARM_VM_SMCCC_FILTER,
        .addr = (uint64_t)(uintptr_t)&f,
    };

    if (kvm_ioctl(vm->vm_fd, KVM_HAS_DEVICE_ATTR, &attr) < 0) {
        return -EOPNOTSUPP;
    }
    return kvm_ioctl(vm->vm_fd, KVM_SET_DEVICE_ATTR, &attr);
}

/* api.rst, KVM_SET_MP_STATE on arm64: STOPPED powers the vCPU off. */
int kvm_arm64_power_off(hv_vcpu_t *vcpu)
{
    struct kvm_mp_state mp = {.mp_state = KVM_MP_STATE_STOPPED};
    return kvm_ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp);
}

/*
 * PSCI CPU_ON in user space: KVM_ARM_VCPU_INIT again resets the vCPU (EL1h,
 * DAIF masked, MMU off), then the entry registers, then RUNNABLE.
 */
int kvm_arm64_power_on(hv_vcpu_t *vcpu, uint64_t entry, uint64_t x0)
{
    struct kvm_mp_state mp = {.mp_state = KVM_MP_STATE_RUNNABLE};
    int rc = kvm_ioctl(vcpu->fd, KVM_ARM_VCPU_INIT, &vcpu->init);

    if (rc == 0) {
        rc = kvm_arm64_set_reg(vcpu, VM_ARM64_REG_PC, entry);
    }
    if (rc == 0) {
        rc = kvm_arm64_set_reg(vcpu, VM_ARM64_REG_X0, x0);
    }
    if (rc == 0) {
        rc = kvm_ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp);
    }
    return rc;
}

void kvm_arch_vm_fini(struct hv_vm *vm)
{
    if (vm->its_fd >= 0) {
        close(vm->its_fd);
        vm->its_fd = -1;
    }
    if (vm->gic_fd >= 0) {
        close(vm->gic_fd);
        vm->gic_fd = -1;
    }
}

/*
 * api.rst, KVM_ARM_VCPU_INIT: PSCI 0.2 so KVM implements CPU_ON/OFF,
 * SYSTEM_OFF and SYSTEM_RESET; every vCPU but 0 starts powered off and waits
 * for CPU_ON.  The vCPU starts in EL1h with DAIF masked.
 */
int kvm_arch_vcpu_init(struct hv_vcpu *vcpu)
{
    vcpu->init = vcpu->vm->preferred;
    memset(vcpu->init.features, 0, sizeof(vcpu->init.features));
    vcpu->init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
    if (vcpu->id > 0) {
        vcpu->init.features[0] |= 1u << KVM_ARM_VCPU_POWER_OFF;
    }
    int rc = kvm_ioctl(vcpu->fd, KVM_ARM_VCPU_INIT, &vcpu->init);
    if (rc < 0) {
        LOG_ERR("kvm: KVM_ARM_VCPU_INIT of vcpu%u (target %u, PSCI 0.2): %s", vcpu->id,
                vcpu->init.target, strerror(-rc));
    }
    return rc;
}

/* api.rst, KVM_ARM_VCPU_INIT: calling it again, same target and features, resets the vCPU. */
int kvm_arch_vcpu_reset(struct hv_vcpu *vcpu)
{
    return kvm_ioctl(vcpu->fd, KVM_ARM_VCPU_INIT, &vcpu->init);
}

/* api.rst, KVM_IRQ_LINE on arm64: irq_type (bits 24-27) SPI, irq_id (bits 0-15) the INTID. */
int kvm_arch_irq_line(struct hv_vm *vm, uint32_t irq, uint32_t *kvm_irq)
{
    if (irq < SPI_FIRST || irq > SPI_LAST) {
        return -EINVAL;
    }
    *kvm_irq = ((uint32_t)KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) | irq;
    return 0;
}

/* The default arm64 irqfd routing maps GSI n to SPI n, i.e. INTID n + 32. */
int kvm_arch_irqfd_gsi(struct hv_vm *vm, uint32_t irq, uint32_t *gsi)
{
    if (irq < SPI_FIRST || irq > SPI_LAST) {
        return -EINVAL;
    }
    *gsi = irq - SPI_FIRST;
    return 0;
}

static uint32_t gic_device_type(int version)
{
    return version == 3 ? KVM_DEV_TYPE_ARM_VGIC_V3 : KVM_DEV_TYPE_ARM_VGIC_V2;
}

/* api.rst, KVM_CREATE_DEVICE with KVM_CREATE_DEVICE_TEST: probe without creating. */
int kvm_arm64_gic_supported(hv_vm_t *vm, int version)
{
    struct kvm_create_device cd = {
        .type = gic_device_type(version),
        .flags = KVM_CREATE_DEVICE_TEST,
    };
    int rc = kvm_ioctl(vm->vm_fd, KVM_CREATE_DEVICE, &cd);
    if (rc == 0) {
        return 1;
    }
    return rc == -ENODEV ? 0 : rc;
}

static int set_attr(int fd, uint32_t group, uint64_t attr, void *addr, const char *what)
{
    struct kvm_device_attr a = {
        .group = group,
        .attr = attr,
        .addr = (uint64_t)(uintptr_t)addr,
    };
    int rc = kvm_ioctl(fd, KVM_SET_DEVICE_ATTR, &a);
    if (rc < 0) {
        LOG_ERR("kvm: GIC %s: %s", what, strerror(-rc));
    }
    return rc;
}

/*
 * arm-vgic-its.rst: an in-kernel ITS at @base (KVM_VGIC_ITS_ADDR_TYPE),
 * then KVM_DEV_ARM_VGIC_CTRL_INIT.  MSIs to it carry a device ID
 * (KVM_MSI_VALID_DEVID).  Returns 0, -ENODEV when the host has none.
 */
static int its_create(hv_vm_t *vm, uint64_t base)
{
    struct kvm_create_device cd = {.type = KVM_DEV_TYPE_ARM_VGIC_ITS};
    int rc = kvm_ioctl(vm->vm_fd, KVM_CREATE_DEVICE, &cd);

    if (rc < 0) {
        LOG_DEBUG("kvm: no in-kernel ITS: %s", strerror(-rc));
        return rc;
    }
    if ((rc = set_attr((int)cd.fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_ITS_ADDR_TYPE, &base,
                       "ITS address")) < 0 ||
        (rc = set_attr((int)cd.fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL,
                       "ITS initialisation")) < 0) {
        close((int)cd.fd);
        return rc;
    }
    vm->its_fd = (int)cd.fd;
    vm->msi_devid = true;
    return 0;
}

/*
 * arm-vgic.rst / arm-vgic-v3.rst: create the device, place its frames
 * (KVM_DEV_ARM_VGIC_GRP_ADDR), set the number of interrupts
 * (KVM_DEV_ARM_VGIC_GRP_NR_IRQS), then KVM_DEV_ARM_VGIC_CTRL_INIT, which
 * needs every vCPU to exist already.
 */
int kvm_arm64_gic_create(hv_vm_t *vm, vm_arm64_gic_t *gic, unsigned int nr_vcpus)
{
    int rc;

    if (vm->gic_fd >= 0) {
        return -EEXIST;
    }
    struct kvm_create_device cd = {.type = gic_device_type(gic->version)};
    if ((rc = kvm_ioctl(vm->vm_fd, KVM_CREATE_DEVICE, &cd)) < 0) {
        LOG_ERR("kvm: creating a GICv%d: %s", gic->version, strerror(-rc));
        return rc == -ENODEV ? -ENODEV : rc;
    }
    int fd = (int)cd.fd;
    uint64_t dist = gic->dist_base, redist = gic->redist_base, cpu = gic->cpu_base;
    uint32_t nr_irqs = gic->nr_irqs;

    if (gic->version == 3) {
        if ((rc = set_attr(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, &dist,
                           "distributor address")) < 0 ||
            (rc = set_attr(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, &redist,
                           "redistributor address")) < 0) {
            goto err;
        }
    } else {
        if ((rc = set_attr(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V2_ADDR_TYPE_DIST, &dist,
                           "distributor address")) < 0 ||
            (rc = set_attr(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V2_ADDR_TYPE_CPU, &cpu,
                           "CPU interface address")) < 0) {
            goto err;
        }
    }
    if ((rc = set_attr(fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs, "number of interrupts")) <
            0 ||
        (rc = set_attr(fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL,
                       "initialisation")) < 0) {
        goto err;
    }
    vm->gic_fd = fd;
    LOG_DEBUG("kvm: GICv%d ready for %u vCPUs", gic->version, nr_vcpus);
    if (gic->version == 3 && gic->its_base && its_create(vm, gic->its_base) < 0) {
        gic->its_base = 0; /* no ITS: the GIC works, MSIs do not */
    }
    return 0;

err:
    close(fd);
    return rc;
}

/* ONE_REG id of @reg, or 0 for none. */
static uint64_t reg_id(vm_arm64_reg_t reg)
{
    if (reg <= VM_ARM64_REG_X30) {
        /* X0..X30 are consecutive u64s: 2 u32 units apart in the core-register index. */
        return CORE_REG(regs.regs[0]) + 2 * (uint64_t)(reg - VM_ARM64_REG_X0);
    }
    switch (reg) {
    case VM_ARM64_REG_SP_EL0:
        return CORE_REG(regs.sp);
    case VM_ARM64_REG_SP_EL1:
        return CORE_REG(sp_el1);
    case VM_ARM64_REG_PC:
        return CORE_REG(regs.pc);
    case VM_ARM64_REG_PSTATE:
        return CORE_REG(regs.pstate);
    case VM_ARM64_REG_MPIDR_EL1:
        return SYSREG_MPIDR_EL1;
    /* Arm ARM D19.2: (op0, op1, CRn, CRm, op2) of each system register. */
    case VM_ARM64_REG_SCTLR_EL1:
        return ARM64_SYS_REG(3, 0, 1, 0, 0);
    case VM_ARM64_REG_TTBR0_EL1:
        return ARM64_SYS_REG(3, 0, 2, 0, 0);
    case VM_ARM64_REG_TTBR1_EL1:
        return ARM64_SYS_REG(3, 0, 2, 0, 1);
    case VM_ARM64_REG_TCR_EL1:
        return ARM64_SYS_REG(3, 0, 2, 0, 2);
    case VM_ARM64_REG_MAIR_EL1:
        return ARM64_SYS_REG(3, 0, 10, 2, 0);
    case VM_ARM64_REG_ID_AA64MMFR0_EL1:
        return ARM64_SYS_REG(3, 0, 0, 7, 0);
    default:
        return 0;
    }
}

/* api.rst, KVM_GET_ONE_REG. */
int kvm_arm64_get_reg(hv_vcpu_t *vcpu, vm_arm64_reg_t reg, uint64_t *value)
{
    struct kvm_one_reg r = {.id = reg_id(reg), .addr = (uint64_t)(uintptr_t)value};
    if (!r.id) {
        return -EINVAL;
    }
    return kvm_ioctl(vcpu->fd, KVM_GET_ONE_REG, &r);
}

/* api.rst, KVM_SET_ONE_REG. */
int kvm_arm64_set_reg(hv_vcpu_t *vcpu, vm_arm64_reg_t reg, uint64_t value)
{
    struct kvm_one_reg r = {.id = reg_id(reg), .addr = (uint64_t)(uintptr_t)&value};
    if (!r.id) {
        return -EINVAL;
    }
    return kvm_ioctl(vcpu->fd, KVM_SET_ONE_REG, &r);
}
