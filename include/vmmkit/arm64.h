/*
 * arm64.h - arm64-specific VM and vCPU set-up.
 *
 * vCPUs are created by vm_create_vcpu() with PSCI 0.2 (so the hypervisor
 * implements PSCI CPU_ON/OFF, SYSTEM_OFF and SYSTEM_RESET); every vCPU but 0
 * starts powered off until the guest brings it up with CPU_ON.  The board
 * then creates the in-kernel GIC at the addresses it chose (after all vCPUs
 * exist) and sets vCPU 0's boot registers per the Linux arm64 boot protocol
 * (Documentation/arch/arm64/booting.rst: x0 = DTB address, x1-x3 = 0,
 * EL1h with DAIF masked, which is how the vCPU starts).
 *
 * Interrupt lines (irq.h) on arm64 are GIC INTIDs of shared peripheral
 * interrupts: 32 .. nr_irqs - 1.
 */
#ifndef VMMKIT_ARM64_H
#define VMMKIT_ARM64_H

#include <stdint.h>

#include <vmmkit/arm64_smccc.h>
#include <vmmkit/vm.h>

#ifdef __cplusplus
extern "C" {
#endif

/* GIC frame sizes (GICv2 / GICv3 architecture specifications). */
#define VM_ARM64_GIC_DIST_SIZE 0x10000u           /* GICD */
#define VM_ARM64_GIC_REDIST_SIZE_PER_CPU 0x20000u /* GICv3 GICR: RD_base + SGI_base */
#define VM_ARM64_GIC_CPU_SIZE 0x2000u             /* GICv2 GICC */
#define VM_ARM64_GIC_ITS_SIZE 0x20000u            /* GICv3 ITS: control + translation frames */

/* The interrupt controller layout the board chose. */
typedef struct vm_arm64_gic {
    int version;          /* in: 0 = auto (v3, else v2), 2 or 3; out: the version created */
    uint64_t dist_base;   /* distributor, VM_ARM64_GIC_DIST_SIZE bytes */
    uint64_t redist_base; /* v3: redistributors, VM_ARM64_GIC_REDIST_SIZE_PER_CPU per vCPU */
    uint64_t cpu_base;    /* v2: CPU interface, VM_ARM64_GIC_CPU_SIZE bytes */
    uint32_t nr_irqs;     /* INTIDs incl. the 32 private ones: 64..1024, a multiple of 32 */
    uint64_t its_base;    /* in: v3 ITS frame (64 KiB aligned), 0 = none; out: 0 when the
                           * host has no in-kernel ITS (MSIs then unavailable) */
} vm_arm64_gic_t;

/*
 * Whether the host can create GIC @version (2 or 3) for this VM, without
 * creating it.  Returns 1 (yes), 0 (no) or a negative errno.
 */
int vm_arm64_gic_supported(vm_t *vm, int version);

/*
 * Create and initialise the in-kernel GIC.  Call after every vCPU has been
 * created and before vm_run().  Its frames are reserved in guest memory (an
 * overlap with another reservation fails with -EEXIST).  On success
 * gic->version holds 2 or 3.  Returns 0, -EINVAL (bad layout or nr_irqs),
 * -ENODEV (no usable GIC version), -EEXIST, or -errno.
 */
int vm_arm64_gic_create(vm_t *vm, vm_arm64_gic_t *gic);

/* Registers reachable through vm_vcpu_arm64_get_reg / set_reg. */
typedef enum vm_arm64_reg {
    VM_ARM64_REG_X0 = 0, /* X0 .. X30 are VM_ARM64_REG_X0 + n */
    VM_ARM64_REG_X30 = 30,
    VM_ARM64_REG_SP_EL0,
    VM_ARM64_REG_SP_EL1,
    VM_ARM64_REG_PC,
    VM_ARM64_REG_PSTATE,
    VM_ARM64_REG_MPIDR_EL1, /* read-only here */
    /* The EL1&0 translation regime (a guest's page tables), and the PA size. */
    VM_ARM64_REG_SCTLR_EL1,
    VM_ARM64_REG_TCR_EL1,
    VM_ARM64_REG_TTBR0_EL1,
    VM_ARM64_REG_TTBR1_EL1,
    VM_ARM64_REG_MAIR_EL1,
    VM_ARM64_REG_ID_AA64MMFR0_EL1, /* read-only here */
    VM_ARM64_REG_COUNT
} vm_arm64_reg_t;

/* Read / write one register (VM stopped, or from the vCPU's own thread). */
int vm_vcpu_arm64_get_reg(vm_vcpu_t *vcpu, vm_arm64_reg_t reg, uint64_t *value);
int vm_vcpu_arm64_set_reg(vm_vcpu_t *vcpu, vm_arm64_reg_t reg, uint64_t value);

/*
 * Boot registers for a kernel entry: PC = @pc, X0 = @x0 (the DTB address),
 * X1-X3 = 0.  PSTATE is left as vCPU initialisation set it (EL1h, DAIF
 * masked).  Returns 0 or -errno.
 */
int vm_vcpu_arm64_set_boot_regs(vm_vcpu_t *vcpu, uint64_t pc, uint64_t x0);

/*
 * SMCCC calls in the VMM.  By default the hypervisor answers the guest's
 * HVC/SMC calls itself (PSCI included).  vm_arm64_smccc_forward() sends
 * the calls with function IDs [@first, @first + @count) to the VMM
 * instead, where the handler set with vm_arm64_set_smccc_handler() serves
 * them on the calling vCPU's thread (arm64_smccc.h's registry is made for
 * it).  Call both before vm_run().  Returns 0, or -EOPNOTSUPP when the
 * hypervisor cannot forward calls (KVM before Linux 6.4: it keeps its own
 * PSCI), or -errno.
 *
 * The handler gets X0..X7 in @call (call->cpu is the vCPU id) and fills
 * X0..X3 in @res; its action says what the vCPU does next:
 * ARM64_SMCCC_RESUME and _WAIT resume after the call (a standby request
 * returns at once, which PSCI allows); _CPU_OFF powers the calling vCPU off
 * until vm_vcpu_arm64_power_on(); _SYSTEM_OFF and _SYSTEM_RESET stop the VM
 * with VM_STOP_POWEROFF / VM_STOP_RESET.
 */
typedef arm64_smccc_action_t (*vm_arm64_smccc_fn)(vm_vcpu_t *vcpu, const arm64_smccc_call_t *call,
                                                  arm64_smccc_result_t *res, void *opaque);
int vm_arm64_smccc_forward(vm_t *vm, uint32_t first, uint32_t count);
int vm_arm64_set_smccc_handler(vm_t *vm, vm_arm64_smccc_fn fn, void *opaque);

/*
 * PSCI CPU_ON for a VMM that serves PSCI itself: from any thread, power
 * @vcpu on at @entry with X0 = @context_id (reset state otherwise: EL1h,
 * DAIF masked, MMU off).  Latched; the vCPU's own thread applies it before
 * it next enters the guest.  Returns 0, or -EBUSY when a power-on is
 * already pending for it.
 */
int vm_vcpu_arm64_power_on(vm_vcpu_t *vcpu, uint64_t entry, uint64_t context_id);

/*
 * The vCPU's affinity for the FDT cpu node "reg" property: MPIDR_EL1's Aff0,
 * Aff1 and Aff2 fields (bits 0-23) and Aff3 (bits 32-39).  Returns
 * UINT64_MAX when the register cannot be read (logged).
 */
uint64_t vm_vcpu_arm64_mpidr(vm_vcpu_t *vcpu);

#ifdef __cplusplus
}
#endif
#endif
