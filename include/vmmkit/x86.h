/*
 * x86.h - x86-specific VM and vCPU set-up.
 *
 * The in-kernel interrupt controllers (PIC, IOAPIC, local APICs), the VMX
 * helper pages (TSS, EPT identity map) and the vCPU register state, in
 * backend-neutral structs, plus helpers for the two entry states tiny test
 * guests and the Linux boot protocol need: real mode at cs:ip, and flat
 * 64-bit long mode over identity page tables built in guest RAM.
 *
 * Order: vm_create() -> [vm_x86_create_irqchip()] -> [vm_x86_set_tss_addr()]
 * -> vm_create_vcpu()... (the first vCPU creation sets the default helper
 * pages when none were chosen, and reserves them so nothing else lands there).
 */
#ifndef VMMKIT_X86_H
#define VMMKIT_X86_H

#include <stdint.h>

#include <vmmkit/vm.h>

#ifdef __cplusplus
extern "C" {
#endif

/* General-purpose registers. */
typedef struct vm_x86_regs {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip, rflags;
} vm_x86_regs_t;

/* A segment register with its hidden (descriptor cache) part. */
typedef struct vm_x86_segment {
    uint64_t base;
    uint32_t limit; /* in bytes - 1, already scaled by g */
    uint16_t selector;
    uint8_t type; /* descriptor type field (e.g. 0xb: code exec/read accessed) */
    uint8_t present, dpl, db, s, l, g, avl;
    uint8_t unusable;
} vm_x86_segment_t;

typedef struct vm_x86_dtable {
    uint64_t base;
    uint16_t limit;
} vm_x86_dtable_t;

/* System registers. */
typedef struct vm_x86_sregs {
    vm_x86_segment_t cs, ds, es, fs, gs, ss, tr, ldt;
    vm_x86_dtable_t gdt, idt;
    uint64_t cr0, cr2, cr3, cr4, cr8, efer, apic_base;
} vm_x86_sregs_t;

/*
 * Default VMX helper pages (QEMU's choice): just under 0xff000000, clear of a
 * 16 MiB firmware flash at the top of 4 GiB and above the IOAPIC and local
 * APIC pages (0xfec00000, 0xfee00000).
 */
#define VM_X86_DEFAULT_IDENTITY_MAP_ADDR 0xfeffc000u /* one page */
#define VM_X86_DEFAULT_TSS_ADDR 0xfeffd000u          /* three pages */

/*
 * Create the in-kernel PIC, IOAPIC and local APICs (before any vCPU).  Then
 * lines 0-23 of irq.h are IOAPIC GSIs (0-15 also reach the PICs), routed as
 * on a PC: GSI 0 (the PIT's) reaches IOAPIC pin 2, GSI 2 nothing.  HLT
 * waits in the hypervisor for an interrupt.  Without it a HLT ends the
 * vCPU's run (vm_run() returns VM_STOP_HALT once every vCPU has halted).
 * Returns 0, -EEXIST (already created), -EBUSY (vCPUs exist) or -errno.
 */
int vm_x86_create_irqchip(vm_t *vm);

/*
 * Create the in-kernel i8254 PIT (ports 0x40-0x43, its ticks on GSI 0, the
 * speaker port 0x61), after vm_x86_create_irqchip().  Returns 0, -ENXIO (no
 * irqchip), -EEXIST or -errno.
 */
int vm_x86_create_pit(vm_t *vm);

/* True when vm_x86_create_irqchip() succeeded. */
bool vm_x86_has_irqchip(const vm_t *vm);

/*
 * Place the three-page TSS that VMX needs to run real mode at @addr (page
 * aligned, inside the 4 GiB), and reserve it.  Before any vCPU.
 * Returns 0, -EBUSY (vCPUs exist), -EEXIST (range taken) or -errno.
 */
int vm_x86_set_tss_addr(vm_t *vm, uint64_t addr);

/* Place the one-page EPT identity map (as vm_x86_set_tss_addr). */
int vm_x86_set_identity_map_addr(vm_t *vm, uint64_t addr);

/* Read / write a vCPU's registers (VM stopped, or from the vCPU's own thread). */
int vm_vcpu_x86_get_regs(vm_vcpu_t *vcpu, vm_x86_regs_t *regs);
int vm_vcpu_x86_set_regs(vm_vcpu_t *vcpu, const vm_x86_regs_t *regs);
int vm_vcpu_x86_get_sregs(vm_vcpu_t *vcpu, vm_x86_sregs_t *sregs);
int vm_vcpu_x86_set_sregs(vm_vcpu_t *vcpu, const vm_x86_sregs_t *sregs);

/*
 * Real-mode entry at @cs:@ip: CS, DS, ES, FS, GS and SS all get selector @cs
 * (base @cs * 16, limit 64 KiB), RIP = @ip, RFLAGS = 0x2 (interrupts off);
 * other registers keep their values.  Returns 0 or -errno.
 */
int vm_vcpu_x86_set_real_mode_entry(vm_vcpu_t *vcpu, uint16_t cs, uint16_t ip);

/* Guest bytes vm_x86_build_identity_page_tables() writes for @map_size bytes. */
#define VM_X86_IDENTITY_PT_BYTES(map_size) ((2 + (((map_size) + (1ull << 30) - 1) >> 30)) * 4096ull)

/*
 * Write 4-level page tables at guest-physical @pml4_gpa (4 KiB aligned,
 * VM_X86_IDENTITY_PT_BYTES(@map_size) bytes of RAM) that identity-map
 * [0, @map_size) with 2 MiB pages, writable and executable; @map_size is
 * rounded up to 1 GiB, at most 512 GiB.  Returns 0, -EINVAL or -EFAULT (the
 * tables do not fit in RAM).
 */
int vm_x86_build_identity_page_tables(vm_t *vm, uint64_t pml4_gpa, uint64_t map_size);

/*
 * Flat 64-bit entry: paging on with CR3 = @pml4_gpa (tables the caller
 * built, e.g. with vm_x86_build_identity_page_tables), PAE, EFER.LME/LMA,
 * CS a 64-bit ring-0 code segment (selector 0x8), DS/ES/FS/GS/SS flat data
 * (selector 0x10), RIP = @rip, RSP = @rsp, RFLAGS = 0x2.  The hidden segment
 * state is set directly: the guest needs its own GDT before it reloads a
 * segment register or takes an interrupt.  Returns 0 or -errno.
 */
int vm_vcpu_x86_set_long_mode(vm_vcpu_t *vcpu, uint64_t pml4_gpa, uint64_t rip, uint64_t rsp);

#ifdef __cplusplus
}
#endif
#endif
