/*
 * kvm_priv.h - state shared by the KVM backend's common part (kvm.c) and its
 * architecture parts (kvm_x86.c, kvm_arm64.c).  Nothing outside src/hv/kvm/
 * includes this or <linux/kvm.h>.
 *
 * References name sections of the kernel's Documentation/virt/kvm/api.rst.
 */
#ifndef VMMKIT_HV_KVM_PRIV_H
#define VMMKIT_HV_KVM_PRIV_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "hv/hv.h"

/* The signal that kicks a vCPU thread out of KVM_RUN (empty handler, installed once). */
#define KVM_KICK_SIGNAL SIGUSR1

struct hv_vm {
    int kvm_fd; /* /dev/kvm */
    int vm_fd;
    int run_size;       /* bytes of each vCPU's kvm_run mapping */
    uint32_t nr_slots;  /* KVM_CAP_NR_MEMSLOTS */
    uint64_t *slot_map; /* bit set = slot in use (core serialises mem_map/unmap) */
    bool readonly_mem;  /* KVM_CAP_READONLY_MEM */
    bool msi_devid;     /* MSIs must carry a device ID (an arm64 ITS translates them) */
#if defined(VMMKIT_ARCH_x86)
    bool irqchip;
    bool tsc_deadline;        /* x86: KVM_CAP_TSC_DEADLINE_TIMER */
    struct kvm_cpuid2 *cpuid; /* KVM_GET_SUPPORTED_CPUID, patched per vCPU */
#elif defined(VMMKIT_ARCH_arm64)
    struct kvm_vcpu_init preferred; /* KVM_ARM_PREFERRED_TARGET */
    int gic_fd;
    int its_fd;                /* in-kernel ITS, or -1 */
    bool ext_dabt;             /* KVM_CAP_ARM_INJECT_EXT_DABT */
    bool nisv;                 /* KVM_CAP_ARM_NISV_TO_USER enabled */
#endif
};

struct hv_vcpu {
    struct hv_vm *vm;
    unsigned int id;
    int fd;
    struct kvm_run *run;

    /* Kick protocol (kvm.c): kick_lock orders the kicker against run entry/exit. */
    pthread_mutex_t kick_lock;
    bool in_run;      /* the owning thread is inside KVM_RUN (or about to enter) */
    pthread_t thread; /* valid while in_run */

#if defined(VMMKIT_ARCH_x86)
    /* Power-on state captured at creation, restored by reset (x86 has no "re-init" ioctl). */
    struct kvm_regs reset_regs;
    struct kvm_sregs reset_sregs;
    struct kvm_fpu reset_fpu;
    struct kvm_lapic_state reset_lapic;
    struct kvm_mp_state reset_mp_state;
#elif defined(VMMKIT_ARCH_arm64)
    struct kvm_vcpu_init init; /* the features KVM_ARM_VCPU_INIT was given */
#endif
};

/* ioctl() that retries on EINTR; returns its result or -errno. */
int kvm_ioctl(int fd, unsigned long req, void *arg);

/* Architecture hooks (kvm_x86.c / kvm_arm64.c). */
int kvm_arch_vm_init(struct hv_vm *vm);
void kvm_arch_vm_fini(struct hv_vm *vm);
int kvm_arch_vcpu_init(struct hv_vcpu *vcpu);
int kvm_arch_vcpu_reset(struct hv_vcpu *vcpu);
/* The KVM_IRQ_LINE "irq" field for core line @irq, or -EINVAL. */
int kvm_arch_irq_line(struct hv_vm *vm, uint32_t irq, uint32_t *kvm_irq);
/* The irqfd GSI for core line @irq, or -EINVAL. */
int kvm_arch_irqfd_gsi(struct hv_vm *vm, uint32_t irq, uint32_t *gsi);

#if defined(VMMKIT_ARCH_x86)
int kvm_x86_create_irqchip(hv_vm_t *vm);
int kvm_x86_create_pit(hv_vm_t *vm);
int kvm_x86_set_tss_addr(hv_vm_t *vm, uint64_t addr);
int kvm_x86_set_identity_map_addr(hv_vm_t *vm, uint64_t addr);
int kvm_x86_get_regs(hv_vcpu_t *vcpu, vm_x86_regs_t *regs);
int kvm_x86_set_regs(hv_vcpu_t *vcpu, const vm_x86_regs_t *regs);
int kvm_x86_get_sregs(hv_vcpu_t *vcpu, vm_x86_sregs_t *sregs);
int kvm_x86_set_sregs(hv_vcpu_t *vcpu, const vm_x86_sregs_t *sregs);
#elif defined(VMMKIT_ARCH_arm64)
int kvm_arm64_gic_supported(hv_vm_t *vm, int version);
int kvm_arm64_gic_create(hv_vm_t *vm, vm_arm64_gic_t *gic, unsigned int nr_vcpus);
int kvm_arm64_get_reg(hv_vcpu_t *vcpu, vm_arm64_reg_t reg, uint64_t *value);
int kvm_arm64_set_reg(hv_vcpu_t *vcpu, vm_arm64_reg_t reg, uint64_t value);
int kvm_arm64_bus_error(hv_vcpu_t *vcpu);
int kvm_arm64_smccc_forward(hv_vm_t *vm, uint32_t first, uint32_t count);
int kvm_arm64_power_off(hv_vcpu_t *vcpu);
int kvm_arm64_power_on(hv_vcpu_t *vcpu, uint64_t entry, uint64_t x0);
#endif

#endif
