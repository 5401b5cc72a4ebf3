/*
 * arm64.c - arm64 VM and vCPU set-up over the backend (see vmmkit/arm64.h).
 * Built on every host; empty unless VMMKIT_ARCH_arm64.
 */
#ifdef VMMKIT_ARCH_arm64

#include <errno.h>
#include <string.h>

#include <vmmkit/arm64.h>
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

#endif /* VMMKIT_ARCH_arm64 */
