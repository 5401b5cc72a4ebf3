/*
 * x86.c - x86 VM and vCPU set-up over the backend (see vmmkit/x86.h).
 * Built on every host; empty unless VMMKIT_ARCH_x86.
 */
#ifdef VMMKIT_ARCH_x86

#include <errno.h>
#include <string.h>

#include <vmmkit/guest_memory.h>
#include <vmmkit/log.h>
#include <vmmkit/x86.h>

#include "core/vm_priv.h"

#define PAGE_4K 0x1000ull
#define FOUR_GIB 0x100000000ull

/* Called by vm_create_vcpu() with vm->lock held, before any vCPU exists. */
int vm_x86_prepare_first_vcpu(vm_t *vm);

int vm_x86_create_irqchip(vm_t *vm)
{
    if (!vm) {
        return -EINVAL;
    }
    if (vm->nr_vcpus) {
        LOG_ERR("%s: the x86 irqchip must be created before the first vCPU", vm->name);
        return -EBUSY;
    }
    if (vm->x86_irqchip) {
        return -EEXIST;
    }
    if (!HV_HAS(vm, x86_create_irqchip)) {
        return -EOPNOTSUPP;
    }
    int rc = vm->hv->x86_create_irqchip(vm->hv_vm);
    if (rc < 0) {
        LOG_ERR("%s: creating the in-kernel PIC/IOAPIC/LAPIC: %s", vm->name, strerror(-rc));
        return rc;
    }
    vm->x86_irqchip = true;
    return 0;
}

int vm_x86_create_pit(vm_t *vm)
{
    if (!vm) {
        return -EINVAL;
    }
    if (!vm->x86_irqchip) {
        return -ENXIO;
    }
    if (vm->x86_pit) {
        return -EEXIST;
    }
    if (!HV_HAS(vm, x86_create_pit)) {
        return -EOPNOTSUPP;
    }
    int rc = vm->hv->x86_create_pit(vm->hv_vm);
    if (rc < 0) {
        LOG_ERR("%s: creating the in-kernel PIT: %s", vm->name, strerror(-rc));
        return rc;
    }
    vm->x86_pit = true;
    return 0;
}

bool vm_x86_has_irqchip(const vm_t *vm)
{
    return vm && vm->x86_irqchip;
}

/* Reserve [@addr, @addr + @size) for a VMX helper and tell the backend. */
static int set_helper_range(vm_t *vm, uint64_t addr, uint64_t size, int (*op)(hv_vm_t *, uint64_t),
                            const char *what, bool *done)
{
    if (vm->nr_vcpus) {
        LOG_ERR("%s: the %s address must be set before the first vCPU", vm->name, what);
        return -EBUSY;
    }
    if (*done) {
        return -EEXIST;
    }
    if ((addr & (PAGE_4K - 1)) || addr + size > FOUR_GIB) {
        LOG_ERR("%s: %s at %#lx must be page aligned and below 4 GiB", vm->name, what,
                (unsigned long)addr);
        return -EINVAL;
    }
    if (!op) {
        return -EOPNOTSUPP;
    }
    vm_memory_reservation_t *r = vm_reserve_memory_at(vm, addr, size, NULL, NULL);
    if (!r) {
        int err = errno;
        LOG_ERR("%s: cannot place the %s at %#lx-%#lx: %s", vm->name, what, (unsigned long)addr,
                (unsigned long)(addr + size - 1),
                err == EEXIST ? "the range is already reserved" : strerror(err));
        return -err;
    }
    int rc = op(vm->hv_vm, addr);
    if (rc < 0) {
        LOG_ERR("%s: setting the %s at %#lx: %s", vm->name, what, (unsigned long)addr,
                strerror(-rc));
        vm_free_reserved_memory(vm, r);
        return rc;
    }
    *done = true;
    return 0;
}

int vm_x86_set_tss_addr(vm_t *vm, uint64_t addr)
{
    if (!vm) {
        return -EINVAL;
    }
    return set_helper_range(vm, addr, 3 * PAGE_4K, vm->hv->x86_set_tss_addr, "VMX TSS",
                            &vm->x86_tss_set);
}

int vm_x86_set_identity_map_addr(vm_t *vm, uint64_t addr)
{
    if (!vm) {
        return -EINVAL;
    }
    return set_helper_range(vm, addr, PAGE_4K, vm->hv->x86_set_identity_map_addr,
                            "EPT identity map", &vm->x86_idmap_set);
}

int vm_x86_prepare_first_vcpu(vm_t *vm)
{
    int rc;

    if (!vm->x86_idmap_set && HV_HAS(vm, x86_set_identity_map_addr) &&
        (rc = vm_x86_set_identity_map_addr(vm, VM_X86_DEFAULT_IDENTITY_MAP_ADDR)) < 0) {
        return rc;
    }
    if (!vm->x86_tss_set && HV_HAS(vm, x86_set_tss_addr) &&
        (rc = vm_x86_set_tss_addr(vm, VM_X86_DEFAULT_TSS_ADDR)) < 0) {
        return rc;
    }
    return 0;
}

int vm_vcpu_x86_get_regs(vm_vcpu_t *vcpu, vm_x86_regs_t *regs)
{
    if (!vcpu || !regs) {
        return -EINVAL;
    }
    return HV_HAS(vcpu->vm, x86_get_regs) ? vcpu->vm->hv->x86_get_regs(vcpu->hv, regs)
                                          : -EOPNOTSUPP;
}

int vm_vcpu_x86_set_regs(vm_vcpu_t *vcpu, const vm_x86_regs_t *regs)
{
    if (!vcpu || !regs) {
        return -EINVAL;
    }
    return HV_HAS(vcpu->vm, x86_set_regs) ? vcpu->vm->hv->x86_set_regs(vcpu->hv, regs)
                                          : -EOPNOTSUPP;
}

int vm_vcpu_x86_get_sregs(vm_vcpu_t *vcpu, vm_x86_sregs_t *sregs)
{
    if (!vcpu || !sregs) {
        return -EINVAL;
    }
    return HV_HAS(vcpu->vm, x86_get_sregs) ? vcpu->vm->hv->x86_get_sregs(vcpu->hv, sregs)
                                           : -EOPNOTSUPP;
}

int vm_vcpu_x86_set_sregs(vm_vcpu_t *vcpu, const vm_x86_sregs_t *sregs)
{
    if (!vcpu || !sregs) {
        return -EINVAL;
    }
    return HV_HAS(vcpu->vm, x86_set_sregs) ? vcpu->vm->hv->x86_set_sregs(vcpu->hv, sregs)
                                           : -EOPNOTSUPP;
}

int vm_vcpu_x86_set_real_mode_entry(vm_vcpu_t *vcpu, uint16_t cs, uint16_t ip)
{
    vm_x86_sregs_t sregs;
    vm_x86_regs_t regs;
    int rc;

    if ((rc = vm_vcpu_x86_get_sregs(vcpu, &sregs)) < 0 ||
        (rc = vm_vcpu_x86_get_regs(vcpu, &regs)) < 0) {
        return rc;
    }
    vm_x86_segment_t *segs[] = {&sregs.cs, &sregs.ds, &sregs.es, &sregs.fs, &sregs.gs, &sregs.ss};
    for (unsigned int i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
        segs[i]->selector = cs;
        segs[i]->base = (uint64_t)cs << 4;
        segs[i]->limit = 0xffff;
    }
    regs.rip = ip;
    regs.rflags = 0x2; /* bit 1 is reserved-one; IF clear */
    if ((rc = vm_vcpu_x86_set_sregs(vcpu, &sregs)) < 0) {
        return rc;
    }
    return vm_vcpu_x86_set_regs(vcpu, &regs);
}

int vm_x86_build_identity_page_tables(vm_t *vm, uint64_t pml4_gpa, uint64_t map_size)
{
    /* Intel SDM vol. 3A, 4.5 (4-level paging): PML4E -> PDPTE -> PDE with PS=1 (2 MiB). */
    const uint64_t present_rw = 0x3, page_size = 0x80;
    uint64_t gib = (map_size + (1ull << 30) - 1) >> 30;

    if (!vm || (pml4_gpa & (PAGE_4K - 1)) || gib == 0 || gib > 512) {
        return -EINVAL;
    }
    uint64_t total = VM_X86_IDENTITY_PT_BYTES(map_size);
    uint64_t *pt = gpa_to_hva(vm, pml4_gpa, total);
    if (!pt) {
        LOG_ERR("%s: page tables at %#lx (%lu bytes) are not inside guest RAM", vm->name,
                (unsigned long)pml4_gpa, (unsigned long)total);
        return -EFAULT;
    }
    memset(pt, 0, total);
    uint64_t pdpt_gpa = pml4_gpa + PAGE_4K;
    uint64_t *pml4 = pt, *pdpt = pt + 512, *pd = pt + 1024;
    pml4[0] = pdpt_gpa | present_rw;
    for (uint64_t g = 0; g < gib; g++) {
        pdpt[g] = (pdpt_gpa + PAGE_4K * (1 + g)) | present_rw;
        for (uint64_t e = 0; e < 512; e++) {
            pd[g * 512 + e] = ((g << 30) + (e << 21)) | present_rw | page_size;
        }
    }
    return 0;
}

int vm_vcpu_x86_set_long_mode(vm_vcpu_t *vcpu, uint64_t pml4_gpa, uint64_t rip, uint64_t rsp)
{
    /* Intel SDM vol. 3A, 9.8.5 (initializing IA-32e mode) and 2.5 (control registers). */
    const uint64_t cr0_pe = 1ull << 0, cr0_mp = 1ull << 1, cr0_et = 1ull << 4, cr0_ne = 1ull << 5,
                   cr0_wp = 1ull << 16, cr0_pg = 1ull << 31;
    const uint64_t cr4_pae = 1ull << 5, cr4_osfxsr = 1ull << 9, cr4_osxmmexcpt = 1ull << 10;
    const uint64_t efer_lme = 1ull << 8, efer_lma = 1ull << 10;
    vm_x86_sregs_t sregs;
    vm_x86_regs_t regs;
    int rc;

    if ((rc = vm_vcpu_x86_get_sregs(vcpu, &sregs)) < 0) {
        return rc;
    }
    vm_x86_segment_t code = {
        .base = 0,
        .limit = 0xffffffff,
        .selector = 0x8,
        .type = 0xb, /* exec/read, accessed */
        .present = 1,
        .dpl = 0,
        .db = 0,
        .s = 1,
        .l = 1,
        .g = 1,
    };
    vm_x86_segment_t data = {
        .base = 0,
        .limit = 0xffffffff,
        .selector = 0x10,
        .type = 0x3, /* read/write, accessed */
        .present = 1,
        .dpl = 0,
        .db = 1,
        .s = 1,
        .l = 0,
        .g = 1,
    };
    sregs.cs = code;
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
    sregs.cr0 = cr0_pe | cr0_mp | cr0_et | cr0_ne | cr0_wp | cr0_pg;
    sregs.cr3 = pml4_gpa;
    sregs.cr4 = cr4_pae | cr4_osfxsr | cr4_osxmmexcpt;
    sregs.efer = efer_lme | efer_lma;
    if ((rc = vm_vcpu_x86_set_sregs(vcpu, &sregs)) < 0) {
        return rc;
    }
    memset(&regs, 0, sizeof(regs));
    regs.rip = rip;
    regs.rsp = rsp;
    regs.rflags = 0x2;
    return vm_vcpu_x86_set_regs(vcpu, &regs);
}

#endif /* VMMKIT_ARCH_x86 */
