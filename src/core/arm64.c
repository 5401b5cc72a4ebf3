/*
 * arm64.c - arm64 VM and vCPU set-up over the backend (see vmmkit/arm64.h).
 * Built on every host; empty unless VMMKIT_ARCH_arm64.
 */
#ifdef VMMKIT_ARCH_arm64

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <vmmkit/arm64.h>
#include <vmmkit/arm64_esr.h>
#include <vmmkit/arm64_insn.h>
#include <vmmkit/arm64_mmu.h>
#include <vmmkit/guest_memory.h>
#include <vmmkit/log.h>

#include "core/vm_priv.h"

/* MPIDR_EL1 affinity fields (Arm ARM D19.2.x): Aff0-Aff2 in bits 0-23, Aff3 in 32-39. */
#define MPIDR_AFF_MASK 0xff00ffffffull

int vm_arm64_gic_supported(vm_t *vm, int version)
{
    if (!vm || (version != 2 && version != 3)) {
        return -EINVAL;
    }
    if (!HV_HAS(vm, arm64_gic_supported)) {
        return -EOPNOTSUPP;
    }
    return vm->hv->arm64_gic_supported(vm->hv_vm, version);
}

/* Reserve one GIC frame; NULL (logged) when it collides. */
static vm_memory_reservation_t *reserve_frame(vm_t *vm, uint64_t base, uint64_t size,
                                              const char *what)
{
    vm_memory_reservation_t *r = vm_reserve_memory_at(vm, base, size, NULL, NULL);
    if (!r) {
        LOG_ERR("%s: GIC %s at %#lx-%#lx: %s", vm->name, what, (unsigned long)base,
                (unsigned long)(base + size - 1),
                errno == EEXIST ? "overlaps another reservation" : strerror(errno));
    }
    return r;
}

/* Reserve the frames of GIC @version and create it; undoes the reservations on failure. */
static int gic_try_create(vm_t *vm, vm_arm64_gic_t *gic, int version)
{
    vm_memory_reservation_t *dist, *other;
    int rc;

    if (version == 2 && vm->nr_vcpus > 8) {
        LOG_ERR("%s: a GICv2 serves at most 8 vCPUs, not %u", vm->name, vm->nr_vcpus);
        return -EINVAL;
    }
    if (!(dist = reserve_frame(vm, gic->dist_base, VM_ARM64_GIC_DIST_SIZE, "distributor"))) {
        return -errno;
    }
    if (version == 3) {
        other = reserve_frame(vm, gic->redist_base,
                              (uint64_t)VM_ARM64_GIC_REDIST_SIZE_PER_CPU * vm->nr_vcpus,
                              "redistributors");
    } else {
        other = reserve_frame(vm, gic->cpu_base, VM_ARM64_GIC_CPU_SIZE, "CPU interface");
    }
    if (!other) {
        rc = -errno;
        vm_free_reserved_memory(vm, dist);
        return rc;
    }
    vm_memory_reservation_t *its = NULL;
    if (version == 3 && gic->its_base) {
        if (!(its = reserve_frame(vm, gic->its_base, VM_ARM64_GIC_ITS_SIZE, "ITS"))) {
            rc = -errno;
            vm_free_reserved_memory(vm, other);
            vm_free_reserved_memory(vm, dist);
            return rc;
        }
    }
    vm_arm64_gic_t want = *gic;
    want.version = version;
    if (version != 3) {
        want.its_base = 0;
    }
    rc = vm->hv->arm64_gic_create(vm->hv_vm, &want, vm->nr_vcpus);
    if (rc < 0 || (its && !want.its_base)) {
        if (its) {
            vm_free_reserved_memory(vm, its); /* no ITS after all */
        }
    }
    if (rc < 0) {
        vm_free_reserved_memory(vm, other);
        vm_free_reserved_memory(vm, dist);
        return rc;
    }
    gic->version = version;
    gic->its_base = want.its_base;
    return 0;
}

int vm_arm64_gic_create(vm_t *vm, vm_arm64_gic_t *gic)
{
    int rc;

    if (!vm || !gic) {
        return -EINVAL;
    }
    if (gic->version != 0 && gic->version != 2 && gic->version != 3) {
        LOG_ERR("%s: GIC version %d: use 0 (auto), 2 or 3", vm->name, gic->version);
        return -EINVAL;
    }
    if (gic->nr_irqs < 64 || gic->nr_irqs > 1024 || gic->nr_irqs % 32) {
        LOG_ERR("%s: GIC nr_irqs %u: must be 64..1024 in steps of 32", vm->name, gic->nr_irqs);
        return -EINVAL;
    }
    /* Frame alignment the GIC architecture and KVM require (arm-vgic*.rst). */
    if ((gic->dist_base & 0xffff) || (gic->version != 2 && (gic->redist_base & 0xffff)) ||
        (gic->version != 3 && (gic->cpu_base & 0xfff))) {
        LOG_ERR("%s: GIC frames must be 64 KiB aligned (CPU interface: 4 KiB): distributor "
                "%#lx, redistributors %#lx, CPU interface %#lx",
                vm->name, (unsigned long)gic->dist_base, (unsigned long)gic->redist_base,
                (unsigned long)gic->cpu_base);
        return -EINVAL;
    }
    if (vm->nr_vcpus == 0) {
        LOG_ERR("%s: create the vCPUs before the GIC", vm->name);
        return -EINVAL;
    }
    if (!HV_HAS(vm, arm64_gic_create)) {
        return -EOPNOTSUPP;
    }
    if (gic->version != 0) {
        rc = gic_try_create(vm, gic, gic->version);
    } else {
        /* Auto: GICv3 unless the host says it cannot emulate one, else GICv2. */
        rc = vm_arm64_gic_supported(vm, 3) == 0 ? -ENODEV : gic_try_create(vm, gic, 3);
        if (rc == -ENODEV) {
            LOG_DEBUG("%s: no in-kernel GICv3 on this host; trying GICv2", vm->name);
            rc = gic_try_create(vm, gic, 2);
        }
    }
    if (rc < 0) {
        LOG_ERR("%s: creating the in-kernel GIC%s: %s", vm->name,
                gic->version == 3   ? "v3"
                : gic->version == 2 ? "v2"
                                    : "",
                strerror(-rc));
        return rc;
    }
    LOG_DEBUG("%s: GICv%d with %u interrupts, distributor at %#lx", vm->name, gic->version,
              gic->nr_irqs, (unsigned long)gic->dist_base);
    return 0;
}

int vm_vcpu_arm64_get_reg(vm_vcpu_t *vcpu, vm_arm64_reg_t reg, uint64_t *value)
{
    if (!vcpu || !value || (unsigned int)reg >= VM_ARM64_REG_COUNT) {
        return -EINVAL;
    }
    if (!HV_HAS(vcpu->vm, arm64_get_reg)) {
        return -EOPNOTSUPP;
    }
    return vcpu->vm->hv->arm64_get_reg(vcpu->hv, reg, value);
}

int vm_vcpu_arm64_set_reg(vm_vcpu_t *vcpu, vm_arm64_reg_t reg, uint64_t value)
{
    if (!vcpu || (unsigned int)reg >= VM_ARM64_REG_COUNT || reg == VM_ARM64_REG_MPIDR_EL1) {
        return -EINVAL;
    }
    if (!HV_HAS(vcpu->vm, arm64_set_reg)) {
        return -EOPNOTSUPP;
    }
    return vcpu->vm->hv->arm64_set_reg(vcpu->hv, reg, value);
}

int vm_vcpu_arm64_set_boot_regs(vm_vcpu_t *vcpu, uint64_t pc, uint64_t x0)
{
    /* Linux arm64 booting.rst: x0 = DTB physical address, x1..x3 = 0 (reserved). */
    int rc = vm_vcpu_arm64_set_reg(vcpu, VM_ARM64_REG_PC, pc);
    if (rc == 0) {
        rc = vm_vcpu_arm64_set_reg(vcpu, VM_ARM64_REG_X0, x0);
    }
    for (int i = 1; rc == 0 && i <= 3; i++) {
        rc = vm_vcpu_arm64_set_reg(vcpu, (vm_arm64_reg_t)(VM_ARM64_REG_X0 + i), 0);
    }
    if (rc < 0) {
        LOG_ERR("%s: setting the boot registers of vcpu%u: %s", vcpu->vm->name, vcpu->id,
                strerror(-rc));
    }
    return rc;
}

uint64_t vm_vcpu_arm64_mpidr(vm_vcpu_t *vcpu)
{
    uint64_t mpidr;
    int rc = vm_vcpu_arm64_get_reg(vcpu, VM_ARM64_REG_MPIDR_EL1, &mpidr);
    if (rc < 0) {
        LOG_ERR("%s: reading MPIDR_EL1 of vcpu%u: %s", vcpu ? vcpu->vm->name : "?",
                vcpu ? vcpu->id : 0, strerror(-rc));
        return UINT64_MAX;
    }
    return mpidr & MPIDR_AFF_MASK;
}

/* --- SMCCC calls and vCPU power in the VMM ---------------------------------------------- */

int vm_arm64_smccc_forward(vm_t *vm, uint32_t first, uint32_t count)
{
    if (!vm || count == 0 || first + (uint64_t)count - 1 > UINT32_MAX) {
        return -EINVAL;
    }
    if (!HV_HAS(vm, arm64_smccc_forward) || !HV_HAS(vm, arm64_power_on) ||
        !HV_HAS(vm, arm64_power_off)) {
        return -EOPNOTSUPP;
    }
    return vm->hv->arm64_smccc_forward(vm->hv_vm, first, count);
}

int vm_arm64_set_smccc_handler(vm_t *vm, vm_arm64_smccc_fn fn, void *opaque)
{
    if (!vm || !fn) {
        return -EINVAL;
    }
    vm->smccc_fn = fn;
    vm->smccc_opaque = opaque;
    return 0;
}

int vm_vcpu_arm64_power_on(vm_vcpu_t *vcpu, uint64_t entry, uint64_t context_id)
{
    int rc = 0;

    if (!vcpu) {
        return -EINVAL;
    }
    pthread_mutex_lock(&vcpu->power_lock);
    if (vcpu->power_on_pending) {
        rc = -EBUSY;
    } else {
        vcpu->power_on_entry = entry;
        vcpu->power_on_x0 = context_id;
        __atomic_store_n(&vcpu->power_on_pending, true, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&vcpu->power_lock);
    if (rc == 0) {
        /* A powered-off vCPU waits inside the hypervisor: wake its thread. */
        vcpu->vm->hv->vcpu_kick(vcpu->hv);
    }
    return rc;
}

int vcpu_arm64_before_run(vm_vcpu_t *vcpu)
{
    uint64_t entry, x0;

    /* Every entry comes through here: the lock only when a power-on waits. */
    if (!__atomic_load_n(&vcpu->power_on_pending, __ATOMIC_ACQUIRE)) {
        return 0;
    }
    pthread_mutex_lock(&vcpu->power_lock);
    bool pending = vcpu->power_on_pending;
    entry = vcpu->power_on_entry;
    x0 = vcpu->power_on_x0;
    __atomic_store_n(&vcpu->power_on_pending, false, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&vcpu->power_lock);
    if (!pending) {
        return 0;
    }
    LOG_DEBUG("%s: vcpu%u: powered on at %#" PRIx64 " (context %#" PRIx64 ")", vcpu->vm->name,
              vcpu->id, entry, x0);
    return vcpu->vm->hv->arm64_power_on(vcpu->hv, entry, x0);
}

vcpu_action_t vcpu_arm64_handle_smccc(vm_vcpu_t *vcpu, const hv_exit_t *exit)
{
    vm_t *vm = vcpu->vm;
    arm64_smccc_call_t call = {.cpu = vcpu->id};
    arm64_smccc_result_t res = {{(uint64_t)(int64_t)-1, 0, 0, 0}}; /* NOT_SUPPORTED */
    arm64_smccc_action_t action = ARM64_SMCCC_RESUME;

    for (unsigned int i = 0; i < 8; i++) {
        if (vm->hv->arm64_get_reg(vcpu->hv, VM_ARM64_REG_X0 + i, &call.x[i]) < 0) {
            LOG_ERR("%s: vcpu%u: cannot read the registers of an SMCCC call; stopping", vm->name,
                    vcpu->id);
            vm_request_stop(vm, VM_STOP_ERROR);
            return VCPU_STOP;
        }
    }
    if (vm->smccc_fn) {
        action = vm->smccc_fn(vcpu, &call, &res, vm->smccc_opaque);
    } else {
        LOG_WARN_RL(&vm->rl_exit, "%s: vcpu%u: SMCCC call %#x with no handler: NOT_SUPPORTED",
                    vm->name, vcpu->id, exit->hypercall.function_id);
    }
    for (unsigned int i = 0; i < 4; i++) {
        vm->hv->arm64_set_reg(vcpu->hv, VM_ARM64_REG_X0 + i, res.x[i]);
    }
    /* The backend resumes after the HVC or SMC (KVM skips a trapped SMC
     * before it forwards the call). */
    switch (action) {
    case ARM64_SMCCC_CPU_OFF:
        if (vm->hv->arm64_power_off(vcpu->hv) < 0) {
            LOG_ERR("%s: vcpu%u: cannot power the vCPU off; stopping", vm->name, vcpu->id);
            vm_request_stop(vm, VM_STOP_ERROR);
            return VCPU_STOP;
        }
        return VCPU_CONTINUE;
    case ARM64_SMCCC_SYSTEM_OFF:
        LOG_INFO("%s: vcpu%u: guest powered off (PSCI in the VMM)", vm->name, vcpu->id);
        vm_request_stop(vm, VM_STOP_POWEROFF);
        return VCPU_STOP;
    case ARM64_SMCCC_SYSTEM_RESET:
        LOG_INFO("%s: vcpu%u: guest asked for a reset (PSCI in the VMM)", vm->name, vcpu->id);
        vm_request_stop(vm, VM_STOP_RESET);
        return VCPU_STOP;
    case ARM64_SMCCC_WAIT:
    case ARM64_SMCCC_RESUME:
    default:
        return VCPU_CONTINUE;
    }
}

/* --- MMIO without an instruction syndrome ------------------------------------------------ */

/* What the emulation of one faulting instruction works with. */
struct nisv_ctx {
    vm_vcpu_t *vcpu;
    arm64_mmu_regs_t mmu;
    unsigned int el;
    bool sp_el0; /* SP is SP_EL0: at EL0, or PSTATE.SPSel = 0 */
    uint64_t pc;
    uint64_t ipa; /* the abort's address: the access KVM saw */
    uint64_t esr; /* the abort's syndrome as ESR_EL2 would read (EC, IL, ISS) */
    bool failed;  /* an access failed: a bus error (or an error stop) */
    vcpu_action_t action;
};

static int nisv_read_ipa(void *opaque, uint64_t ipa, void *buf, unsigned int len)
{
    struct nisv_ctx *c = opaque;
    return vm_guest_read(c->vcpu->vm, ipa, buf, len);
}

static vm_arm64_reg_t nisv_reg(const struct nisv_ctx *c, unsigned int reg)
{
    if (reg == ARM64_INSN_REG_SP) {
        return c->sp_el0 ? VM_ARM64_REG_SP_EL0 : VM_ARM64_REG_SP_EL1;
    }
    return (vm_arm64_reg_t)(VM_ARM64_REG_X0 + reg);
}

static uint64_t nisv_read_reg(void *opaque, unsigned int reg)
{
    struct nisv_ctx *c = opaque;
    uint64_t v = 0;

    if (reg == ARM64_INSN_REG_PC) {
        return c->pc;
    }
    c->vcpu->vm->hv->arm64_get_reg(c->vcpu->hv, nisv_reg(c, reg), &v);
    return v;
}

static void nisv_write_reg(void *opaque, unsigned int reg, uint64_t value)
{
    struct nisv_ctx *c = opaque;
    if (reg != ARM64_INSN_REG_PC) {
        c->vcpu->vm->hv->arm64_set_reg(c->vcpu->hv, nisv_reg(c, reg), value);
    }
}

/* One access of the instruction at guest virtual @va: translated, then dispatched. */
static int nisv_access(struct nisv_ctx *c, uint64_t va, uint8_t *buf, unsigned int size, bool write)
{
    arm64_mmu_result_t res;
    uint64_t ipa;
    int r = arm64_mmu_translate(&c->mmu, va, c->el, write ? ARM64_MMU_WRITE : ARM64_MMU_READ,
                                nisv_read_ipa, c, &res);

    if (r < 0) {
        return -EFAULT;
    }
    ipa = res.ipa;
    if (size > 8) {
        return -EOPNOTSUPP;
    }
    c->action = vcpu_emulate_mmio(c->vcpu, ipa, buf, size, write);
    if (c->action != VCPU_CONTINUE || c->vcpu->bus_error) {
        c->failed = true;
        return -EIO;
    }
    return 0;
}

static int nisv_mem_read(void *opaque, uint64_t addr, void *buf, unsigned int size)
{
    return nisv_access(opaque, addr, buf, size, false);
}

static int nisv_mem_write(void *opaque, uint64_t addr, const void *buf, unsigned int size)
{
    uint8_t tmp[16];

    if (size > sizeof(tmp)) {
        return -EOPNOTSUPP;
    }
    memcpy(tmp, buf, size);
    return nisv_access(opaque, addr, tmp, size, true);
}

static const arm64_insn_ops_t nisv_ops = {
    .read_reg = nisv_read_reg,
    .write_reg = nisv_write_reg,
    .mem_read = nisv_mem_read,
    .mem_write = nisv_mem_write,
    /* No SIMD&FP registers here: those forms get a bus error. */
};

/* The instruction cannot be emulated: the guest takes an external abort. */
static vcpu_action_t nisv_refuse(struct nisv_ctx *c, const char *why)
{
    vm_t *vm = c->vcpu->vm;
    char esr[160];

    arm64_esr_describe(c->esr, esr, sizeof(esr));
    vm_stat_inc(vm, VM_STAT_MMIO_BUS_ERROR);
    LOG_WARN_RL(&vm->rl_mmio,
                "%s: vcpu%u: MMIO at %#" PRIx64 " from the instruction at %#" PRIx64
                " (%s): %s; bus error for the guest",
                vm->name, c->vcpu->id, c->ipa, c->pc, esr, why);
    if (!HV_HAS(vm, vcpu_bus_error) || vm->hv->vcpu_bus_error(c->vcpu->hv) < 0) {
        LOG_ERR("%s: vcpu%u: cannot give the guest a bus error; stopping", vm->name, c->vcpu->id);
        vm_request_stop(vm, VM_STOP_ERROR);
        return VCPU_STOP;
    }
    return VCPU_CONTINUE;
}

vcpu_action_t vcpu_arm64_handle_nisv(vm_vcpu_t *vcpu, const hv_exit_t *exit)
{
    vm_t *vm = vcpu->vm;
    const struct hv_ops *hv = vm->hv;
    /* A data abort from a lower EL (EC 0x24), 32-bit instruction (IL). */
    struct nisv_ctx c = {.vcpu = vcpu,
                         .ipa = exit->nisv.ipa,
                         .esr = (0x24ull << 26) | (1ull << 25) | (exit->nisv.esr_iss & 0x1ffffff),
                         .action = VCPU_CONTINUE};
    uint64_t pstate = 0, mmfr0 = 0;
    uint32_t raw = 0;
    arm64_insn_t insn;
    char why[160];
    int r;

    if (hv->arm64_get_reg(vcpu->hv, VM_ARM64_REG_PC, &c.pc) < 0 ||
        hv->arm64_get_reg(vcpu->hv, VM_ARM64_REG_PSTATE, &pstate) < 0 ||
        hv->arm64_get_reg(vcpu->hv, VM_ARM64_REG_SCTLR_EL1, &c.mmu.sctlr) < 0 ||
        hv->arm64_get_reg(vcpu->hv, VM_ARM64_REG_TCR_EL1, &c.mmu.tcr) < 0 ||
        hv->arm64_get_reg(vcpu->hv, VM_ARM64_REG_TTBR0_EL1, &c.mmu.ttbr0) < 0 ||
        hv->arm64_get_reg(vcpu->hv, VM_ARM64_REG_TTBR1_EL1, &c.mmu.ttbr1) < 0) {
        return nisv_refuse(&c, "its registers cannot be read");
    }
    hv->arm64_get_reg(vcpu->hv, VM_ARM64_REG_MAIR_EL1, &c.mmu.mair);
    if (hv->arm64_get_reg(vcpu->hv, VM_ARM64_REG_ID_AA64MMFR0_EL1, &mmfr0) == 0) {
        c.mmu.pa_bits = arm64_mmu_parange_bits(mmfr0);
    }
    /* PSTATE: M[3:2] the EL, M[0] SPSel, bit 22 PAN; AArch32 (M[4]) is not ours. */
    if (pstate & (1u << 4)) {
        return nisv_refuse(&c, "an AArch32 instruction");
    }
    c.el = (unsigned int)((pstate >> 2) & 3);
    c.sp_el0 = c.el == 0 || !(pstate & 1);
    c.mmu.pan = (pstate >> 22) & 1;

    r = arm64_mmu_fetch_insn(&c.mmu, c.pc, c.el, nisv_read_ipa, &c, &raw, NULL);
    if (r < 0) {
        snprintf(why, sizeof(why), "cannot fetch it: %s", arm64_mmu_strerror(r));
        return nisv_refuse(&c, why);
    }
    r = arm64_insn_decode(raw, &insn);
    if (r < 0) {
        snprintf(why, sizeof(why), "%#010x: %s", raw, arm64_insn_strerror(r));
        return nisv_refuse(&c, why);
    }
    r = arm64_insn_apply(&insn, &nisv_ops, &c);
    if (c.action != VCPU_CONTINUE) {
        return c.action;
    }
    if (c.failed && vcpu->bus_error) {
        return VCPU_CONTINUE; /* the device's bus error is the guest's abort */
    }
    if (r < 0) {
        return nisv_refuse(&c, r == -EINVAL ? "a SIMD&FP access to a device"
                                            : "an address that does not translate");
    }
    /* Done: the guest continues after the instruction. */
    hv->arm64_set_reg(vcpu->hv, VM_ARM64_REG_PC, c.pc + 4);
    return VCPU_CONTINUE;
}

#endif /* VMMKIT_ARCH_arm64 */
