/*
 * kvm_x86.c - the KVM backend's x86 part: in-kernel irqchip, VMX helper
 * pages, CPUID, register conversion and vCPU reset.
 *
 * x86 KVM has no "re-initialise this vCPU" ioctl, so the power-on state a
 * vCPU has right after KVM_CREATE_VCPU (KVM resets it there) is captured
 * once and written back on reset: general and system registers, FPU, and
 * with the in-kernel irqchip the local APIC and MP state.  MSRs, XCRs and
 * debug registers are not restored (enough for a VMM that reloads the
 * kernel; a full firmware-style reset is a later issue).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vmmkit/log.h>

#include "hv/kvm/kvm_priv.h"

/* api.rst, KVM_GET_SUPPORTED_CPUID: grow the buffer while it says E2BIG. */
static int fetch_supported_cpuid(struct hv_vm *vm)
{
    for (unsigned int nent = 64; nent <= 4096; nent *= 2) {
        struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(struct kvm_cpuid_entry2));
        if (!c) {
            return -ENOMEM;
        }
        c->nent = nent;
        int rc = kvm_ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c);
        if (rc == 0) {
            vm->cpuid = c;
            return 0;
        }
        free(c);
        if (rc != -E2BIG) {
            LOG_ERR("kvm: KVM_GET_SUPPORTED_CPUID: %s", strerror(-rc));
            return rc;
        }
    }
    return -E2BIG;
}

int kvm_arch_vm_init(struct hv_vm *vm)
{
    vm->tsc_deadline = kvm_ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
                                 (void *)(uintptr_t)KVM_CAP_TSC_DEADLINE_TIMER) > 0;
    return fetch_supported_cpuid(vm);
}

void kvm_arch_vm_fini(struct hv_vm *vm)
{
    free(vm->cpuid);
    vm->cpuid = NULL;
}

/*
 * Give the vCPU the host-supported CPUID, trimmed to what this VMM really
 * provides, with its own APIC id (leaf 1 EBX[31:24], leaves 0xB/0x1F EDX).
 * Needed before long mode: KVM refuses EFER.LME unless the guest CPUID
 * advertises LM.  What changes (Intel SDM vol. 2A, CPUID; AMD APM vol. 3,
 * appendix E):
 *  - leaf 1 ECX bit 31, "hypervisor present", so the guest looks for the
 *    hypervisor leaves and finds KVM's (0x40000000: kvmclock, which gives
 *    it the TSC frequency, so it does not calibrate against the PIT);
 *  - leaf 1 ECX bit 24, the TSC-deadline timer, which the in-kernel local
 *    APIC emulates but KVM_GET_SUPPORTED_CPUID leaves out (api.rst,
 *    KVM_CAP_TSC_DEADLINE_TIMER);
 *  - leaf 0xA (architectural performance monitoring) emptied: the VMM
 *    configures no virtual PMU, and a guest that probes one only adds
 *    exits.
 */
static int set_cpuid(struct hv_vcpu *vcpu)
{
    struct kvm_cpuid2 *src = vcpu->vm->cpuid;
    size_t bytes = sizeof(*src) + src->nent * sizeof(struct kvm_cpuid_entry2);
    struct kvm_cpuid2 *c = malloc(bytes);
    if (!c) {
        return -ENOMEM;
    }
    memcpy(c, src, bytes);
    for (uint32_t i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];
        if (e->function == 1) {
            e->ebx = (e->ebx & 0x00ffffffu) | (vcpu->id << 24);
            e->ecx |= 1u << 31;
            if (vcpu->vm->irqchip && vcpu->vm->tsc_deadline) {
                e->ecx |= 1u << 24;
            }
        } else if (e->function == 0xa) {
            e->eax = e->ebx = e->ecx = e->edx = 0;
        } else if (e->function == 0xb || e->function == 0x1f) {
            e->edx = vcpu->id;
        }
    }
    int rc = kvm_ioctl(vcpu->fd, KVM_SET_CPUID2, c);
    free(c);
    if (rc < 0) {
        LOG_ERR("kvm: KVM_SET_CPUID2 on vcpu%u: %s", vcpu->id, strerror(-rc));
    }
    return rc;
}

int kvm_arch_vcpu_init(struct hv_vcpu *vcpu)
{
    int rc;

    if ((rc = set_cpuid(vcpu)) < 0) {
        return rc;
    }
    if ((rc = kvm_ioctl(vcpu->fd, KVM_GET_REGS, &vcpu->reset_regs)) < 0 ||
        (rc = kvm_ioctl(vcpu->fd, KVM_GET_SREGS, &vcpu->reset_sregs)) < 0 ||
        (rc = kvm_ioctl(vcpu->fd, KVM_GET_FPU, &vcpu->reset_fpu)) < 0) {
        return rc;
    }
    if (vcpu->vm->irqchip &&
        ((rc = kvm_ioctl(vcpu->fd, KVM_GET_LAPIC, &vcpu->reset_lapic)) < 0 ||
         (rc = kvm_ioctl(vcpu->fd, KVM_GET_MP_STATE, &vcpu->reset_mp_state)) < 0)) {
        return rc;
    }
    return 0;
}

int kvm_arch_vcpu_reset(struct hv_vcpu *vcpu)
{
    int rc;

    if ((rc = kvm_ioctl(vcpu->fd, KVM_SET_SREGS, &vcpu->reset_sregs)) < 0 ||
        (rc = kvm_ioctl(vcpu->fd, KVM_SET_REGS, &vcpu->reset_regs)) < 0 ||
        (rc = kvm_ioctl(vcpu->fd, KVM_SET_FPU, &vcpu->reset_fpu)) < 0) {
        return rc;
    }
    if (vcpu->vm->irqchip &&
        ((rc = kvm_ioctl(vcpu->fd, KVM_SET_LAPIC, &vcpu->reset_lapic)) < 0 ||
         (rc = kvm_ioctl(vcpu->fd, KVM_SET_MP_STATE, &vcpu->reset_mp_state)) < 0)) {
        return rc;
    }
    return 0;
}

int kvm_arch_irq_line(struct hv_vm *vm, uint32_t irq, uint32_t *kvm_irq)
{
    /* The default routing of KVM_CREATE_IRQCHIP: GSI n = IOAPIC pin n (and PIC for n < 16). */
    *kvm_irq = irq;
    return 0;
}

int kvm_arch_irqfd_gsi(struct hv_vm *vm, uint32_t irq, uint32_t *gsi)
{
    *gsi = irq;
    return 0;
}

/*
 * The PC's interrupt routing (api.rst, KVM_SET_GSI_ROUTING), replacing
 * KVM's default one: GSI n reaches the PICs' input n (0-15, but 2, the
 * cascade) and IOAPIC pin n (0-23), except that GSI 0, where the in-kernel
 * PIT ticks, reaches IOAPIC pin 2 as on a PC whose MADT overrides ISA IRQ 0
 * to GSI 2 (Linux's timer check needs the tick where the MADT says), and
 * GSI 2 reaches nothing.
 */
static int set_pc_irq_routing(hv_vm_t *vm)
{
    enum { NR = 15 + 23 };
    struct kvm_irq_routing *r = calloc(1, sizeof(*r) + NR * sizeof(struct kvm_irq_routing_entry));
    unsigned int n = 0;

    if (!r) {
        return -ENOMEM;
    }
    for (uint32_t gsi = 0; gsi < 16; gsi++) {
        if (gsi == 2) {
            continue;
        }
        r->entries[n++] = (struct kvm_irq_routing_entry){
            .gsi = gsi,
            .type = KVM_IRQ_ROUTING_IRQCHIP,
            .u.irqchip = {.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
                          .pin = gsi & 7},
        };
    }
    for (uint32_t gsi = 0; gsi < 24; gsi++) {
        if (gsi == 2) {
            continue;
        }
        r->entries[n++] = (struct kvm_irq_routing_entry){
            .gsi = gsi,
            .type = KVM_IRQ_ROUTING_IRQCHIP,
            .u.irqchip = {.irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi == 0 ? 2 : gsi},
        };
    }
    r->nr = n;
    int rc = kvm_ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, r);
    free(r);
    return rc;
}

/* api.rst, KVM_CREATE_IRQCHIP: PIC, IOAPIC and a local APIC per vCPU created later. */
int kvm_x86_create_irqchip(hv_vm_t *vm)
{
    int rc = kvm_ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, NULL);
    if (rc == 0) {
        rc = set_pc_irq_routing(vm);
    }
    if (rc == 0) {
        vm->irqchip = true;
    }
    return rc;
}

/*
 * api.rst, KVM_CREATE_PIT2: the i8254 on ports 0x40-0x43 (and the speaker
 * port 0x61), ticking on GSI 0; after the irqchip.
 */
int kvm_x86_create_pit(hv_vm_t *vm)
{
    struct kvm_pit_config pit = {.flags = 0};

    return kvm_ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit);
}

/* api.rst, KVM_SET_TSS_ADDR: the address is the argument itself. */
int kvm_x86_set_tss_addr(hv_vm_t *vm, uint64_t addr)
{
    return kvm_ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (void *)(uintptr_t)addr);
}

/* api.rst, KVM_SET_IDENTITY_MAP_ADDR: a pointer to the 64-bit address. */
int kvm_x86_set_identity_map_addr(hv_vm_t *vm, uint64_t addr)
{
    return kvm_ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &addr);
}

int kvm_x86_get_regs(hv_vcpu_t *vcpu, vm_x86_regs_t *r)
{
    struct kvm_regs k;
    int rc = kvm_ioctl(vcpu->fd, KVM_GET_REGS, &k);
    if (rc < 0) {
        return rc;
    }
    *r = (vm_x86_regs_t){
        .rax = k.rax,
        .rbx = k.rbx,
        .rcx = k.rcx,
        .rdx = k.rdx,
        .rsi = k.rsi,
        .rdi = k.rdi,
        .rsp = k.rsp,
        .rbp = k.rbp,
        .r8 = k.r8,
        .r9 = k.r9,
        .r10 = k.r10,
        .r11 = k.r11,
        .r12 = k.r12,
        .r13 = k.r13,
        .r14 = k.r14,
        .r15 = k.r15,
        .rip = k.rip,
        .rflags = k.rflags,
    };
    return 0;
}

int kvm_x86_set_regs(hv_vcpu_t *vcpu, const vm_x86_regs_t *r)
{
    struct kvm_regs k = {
        .rax = r->rax,
        .rbx = r->rbx,
        .rcx = r->rcx,
        .rdx = r->rdx,
        .rsi = r->rsi,
        .rdi = r->rdi,
        .rsp = r->rsp,
        .rbp = r->rbp,
        .r8 = r->r8,
        .r9 = r->r9,
        .r10 = r->r10,
        .r11 = r->r11,
        .r12 = r->r12,
        .r13 = r->r13,
        .r14 = r->r14,
        .r15 = r->r15,
        .rip = r->rip,
        .rflags = r->rflags,
    };
    return kvm_ioctl(vcpu->fd, KVM_SET_REGS, &k);
}

static void seg_from_kvm(vm_x86_segment_t *s, const struct kvm_segment *k)
{
    *s = (vm_x86_segment_t){
        .base = k->base,
        .limit = k->limit,
        .selector = k->selector,
        .type = k->type,
        .present = k->present,
        .dpl = k->dpl,
        .db = k->db,
        .s = k->s,
        .l = k->l,
        .g = k->g,
        .avl = k->avl,
        .unusable = k->unusable,
    };
}

static void seg_to_kvm(struct kvm_segment *k, const vm_x86_segment_t *s)
{
    *k = (struct kvm_segment){
        .base = s->base,
        .limit = s->limit,
        .selector = s->selector,
        .type = s->type,
        .present = s->present,
        .dpl = s->dpl,
        .db = s->db,
        .s = s->s,
        .l = s->l,
        .g = s->g,
        .avl = s->avl,
        .unusable = s->unusable,
    };
}

int kvm_x86_get_sregs(hv_vcpu_t *vcpu, vm_x86_sregs_t *s)
{
    struct kvm_sregs k;
    int rc = kvm_ioctl(vcpu->fd, KVM_GET_SREGS, &k);
    if (rc < 0) {
        return rc;
    }
    seg_from_kvm(&s->cs, &k.cs);
    seg_from_kvm(&s->ds, &k.ds);
    seg_from_kvm(&s->es, &k.es);
    seg_from_kvm(&s->fs, &k.fs);
    seg_from_kvm(&s->gs, &k.gs);
    seg_from_kvm(&s->ss, &k.ss);
    seg_from_kvm(&s->tr, &k.tr);
    seg_from_kvm(&s->ldt, &k.ldt);
    s->gdt = (vm_x86_dtable_t){.base = k.gdt.base, .limit = k.gdt.limit};
    s->idt = (vm_x86_dtable_t){.base = k.idt.base, .limit = k.idt.limit};
    s->cr0 = k.cr0;
    s->cr2 = k.cr2;
    s->cr3 = k.cr3;
    s->cr4 = k.cr4;
    s->cr8 = k.cr8;
    s->efer = k.efer;
    s->apic_base = k.apic_base;
    return 0;
}

int kvm_x86_set_sregs(hv_vcpu_t *vcpu, const vm_x86_sregs_t *s)
{
    struct kvm_sregs k;
    /* Start from the current state so the pending-interrupt bitmap is kept. */
    int rc = kvm_ioctl(vcpu->fd, KVM_GET_SREGS, &k);
    if (rc < 0) {
        return rc;
    }
    seg_to_kvm(&k.cs, &s->cs);
    seg_to_kvm(&k.ds, &s->ds);
    seg_to_kvm(&k.es, &s->es);
    seg_to_kvm(&k.fs, &s->fs);
    seg_to_kvm(&k.gs, &s->gs);
    seg_to_kvm(&k.ss, &s->ss);
    seg_to_kvm(&k.tr, &s->tr);
    seg_to_kvm(&k.ldt, &s->ldt);
    k.gdt.base = s->gdt.base;
    k.gdt.limit = s->gdt.limit;
    k.idt.base = s->idt.base;
    k.idt.limit = s->idt.limit;
    k.cr0 = s->cr0;
    k.cr2 = s->cr2;
    k.cr3 = s->cr3;
    k.cr4 = s->cr4;
    k.cr8 = s->cr8;
    k.efer = s->efer;
    k.apic_base = s->apic_base;
    return kvm_ioctl(vcpu->fd, KVM_SET_SREGS, &k);
}
