/*
 * arm64_fdt.h - the device tree an arm64 Linux guest boots with.
 *
 * An arm64 kernel learns its whole machine from the flattened device tree
 * (DTB) the boot loader hands it in x0: RAM, CPUs and how to start them
 * (PSCI), the interrupt controller, the architected timer, the console UART
 * and the virtio-mmio devices, plus the command line and the initrd in
 * /chosen.  This module writes that DTB with libfdt's sequential-write API
 * from a plain description of the VM's real layout (arm64_fdt_config_t), so
 * the tree always matches what the VMM actually built.
 *
 * It is pure: no I/O, no KVM, no allocation beyond the caller's buffer.  The
 * tree is "linux,dummy-virt" shaped, like QEMU's and kvmtool's virt machines,
 * and warning-free under dtc.  Bindings followed (Linux
 * Documentation/devicetree/bindings/): arm/cpus.yaml, arm/psci.yaml,
 * interrupt-controller/arm,gic.yaml and arm,gic-v3.yaml, timer/arm,arch_timer
 * .yaml, serial/pl011.yaml, clock/fixed-clock.yaml, virtio/mmio.yaml, and
 * /chosen from the Devicetree Specification v0.4 section 3.6; cross-VM
 * channel ends are vmmkit's own "vmmkit,crossvm" nodes (crossvm.h).
 *
 * Interrupts are given as GIC INTIDs (as in vmmkit/irq.h): SPIs are 32..1019
 * and are written as <GIC_SPI intid-32 flags>.
 *
 * The config struct grows over time: zero-initialise it (designated
 * initialisers) and a field left 0/NULL means "absent" or "the default".
 */
#ifndef VMMKIT_ARM64_FDT_H
#define VMMKIT_ARM64_FDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Most vCPUs an arm64 VM can have (the hypervisor's limit on arm64). */
#define ARM64_FDT_MAX_CPUS 512u
/* GICv2 has at most 8 CPU interfaces (GIC architecture spec v2). */
#define ARM64_FDT_GICV2_MAX_CPUS 8u
/* One GICv3 redistributor: two 64 KiB frames, RD_base and SGI_base. */
#define ARM64_FDT_GICV3_REDIST_STRIDE 0x20000ull
/* The PL011's reference clock if the caller gives none (QEMU's value). */
#define ARM64_FDT_UART_CLOCK_HZ 24000000u
/* A buffer this big holds any tree this module writes for a typical VM. */
#define ARM64_FDT_DEFAULT_SIZE 0x10000u

/* Phandles this module hands out (fixed, so callers may refer to them). */
#define ARM64_FDT_PHANDLE_GIC 1u
#define ARM64_FDT_PHANDLE_APB_PCLK 2u
#define ARM64_FDT_PHANDLE_ITS 3u

/* One RAM region: a /memory@base node. */
typedef struct arm64_fdt_mem_region {
    uint64_t base;
    uint64_t size;
} arm64_fdt_mem_region_t;

/* The interrupt controller. */
typedef struct arm64_fdt_gic {
    unsigned int version; /* 2 or 3 */
    uint64_t dist_base;   /* distributor (both versions) */
    uint64_t dist_size;
    uint64_t cpu_base; /* GICv2: CPU interface */
    uint64_t cpu_size;
    uint64_t redist_base; /* GICv3: one contiguous redistributor region */
    uint64_t redist_size; /*        >= cpus * ARM64_FDT_GICV3_REDIST_STRIDE */
    uint64_t its_base;    /* GICv3: ITS, an msi-controller child; */
    uint64_t its_size;    /*        its_size == 0 means no ITS */
} arm64_fdt_gic_t;

/* The PL011 console UART. size == 0 means no UART (and no stdout-path). */
typedef struct arm64_fdt_uart {
    uint64_t base;
    uint64_t size;
    uint32_t intid;    /* SPI INTID, level-high */
    uint32_t clock_hz; /* 0 = ARM64_FDT_UART_CLOCK_HZ */
} arm64_fdt_uart_t;

/* One virtio-mmio transport (virtio 1.2 section 4.2). */
typedef struct arm64_fdt_virtio_mmio {
    uint64_t base;
    uint64_t size;
    uint32_t intid;       /* SPI INTID */
    bool level_triggered; /* false (default): rising edge, which suits irqfd pulses */
} arm64_fdt_virtio_mmio_t;

/* One legacy PCI interrupt: device @devfn's pin @pin is wired to SPI @intid. */
typedef struct arm64_fdt_pci_irq {
    uint32_t devfn; /* device << 3 | function */
    uint32_t pin;   /* 1..4 = INTA#..INTD# */
    uint32_t intid; /* SPI INTID, level-high */
} arm64_fdt_pci_irq_t;

/*
 * A generic ECAM PCI host bridge (bindings pci/host-generic-pci.yaml).
 * ecam_size == 0 means no PCI.  Memory windows are identity-mapped (PCI
 * address == CPU address).
 */
typedef struct arm64_fdt_pci {
    uint64_t ecam_base;
    uint64_t ecam_size; /* 1 MiB per bus */
    uint32_t bus_first, bus_last;
    uint64_t mmio_base, mmio_size;     /* 32-bit non-prefetchable window (below 4 GiB) */
    uint64_t mmio64_base, mmio64_size; /* 64-bit window; size 0 = none */
    const arm64_fdt_pci_irq_t *irq_map;
    size_t nr_irq_map;
    bool msi; /* MSIs go to the GIC ITS (gic.its_size must be set) */
} arm64_fdt_pci_t;

/*
 * One end of a cross-VM channel on MMIO (crossvm.h): a node
 * "crossvm@<event_base>" with compatible "vmmkit,crossvm", reg = <the event
 * page>, <the shared memory>, a level-high SPI and label = the channel's
 * name, which is what a generic UIO driver needs (uio_pdrv_genirq with
 * of_id=vmmkit,crossvm: map 0 the event page, map 1 the memory).
 */
typedef struct arm64_fdt_crossvm {
    const char *name; /* the "label" property; not NULL */
    uint64_t event_base, event_size;
    uint64_t mem_base, mem_size;
    uint32_t intid; /* SPI INTID, level-high */
} arm64_fdt_crossvm_t;

typedef struct arm64_fdt_config {
    /* RAM: at least one region. */
    const arm64_fdt_mem_region_t *mem;
    size_t nr_mem;

    /* vCPUs: 1..ARM64_FDT_MAX_CPUS (GICv2: ..8).  cpu_mpidr[i] is vCPU i's
     * MPIDR_EL1 as KVM reports it (only the affinity bits are used); NULL
     * means KVM's default, see arm64_fdt_kvm_default_mpidr(). */
    unsigned int nr_cpus;
    const uint64_t *cpu_mpidr;
    const char *cpu_compatible; /* NULL = "arm,arm-v8" */

    arm64_fdt_gic_t gic;
    arm64_fdt_uart_t uart;

    const arm64_fdt_virtio_mmio_t *virtio;
    size_t nr_virtio;

    arm64_fdt_pci_t pci;

    const arm64_fdt_crossvm_t *crossvm;
    size_t nr_crossvm;

    /* /chosen */
    const char *bootargs;  /* NULL = no bootargs property */
    uint64_t initrd_start; /* guest-physical; with initrd_size 0 there is none */
    uint64_t initrd_size;
    const uint8_t *rng_seed; /* bytes for rng-seed (the kernel seeds its RNG and */
    size_t rng_seed_len;     /* wipes them); NULL/0 = absent */
    bool has_kaslr_seed;
    uint64_t kaslr_seed;

    const char *model; /* NULL = "vmmkit arm64 virt" */
} arm64_fdt_config_t;

/*
 * The MPIDR_EL1 KVM gives vCPU @vcpu_id when userspace does not set one
 * (arch/arm64/kvm/sys_regs.c reset_mpidr(): Aff0 = id % 16, Aff1 = id / 16 %
 * 256, Aff2 = id / 4096 % 256).  Prefer reading the real register.
 */
uint64_t arm64_fdt_kvm_default_mpidr(unsigned int vcpu_id);

/*
 * Check @cfg without writing anything.
 * @msg, @len: when non-NULL, receives a one-line reason naming the field and
 *             the value that is wrong (always NUL-terminated when @len > 0).
 * Returns 0 or -EINVAL.
 */
int arm64_fdt_check_config(const arm64_fdt_config_t *cfg, char *msg, size_t len);

/*
 * Write the DTB for @cfg into @buf.
 * @bufsize: bytes available; ARM64_FDT_DEFAULT_SIZE is plenty for a typical
 *           VM (a few KiB are used).  The result is packed: copy
 *           fdt_totalsize(buf) bytes to the guest.
 * Returns 0; -EINVAL for a config arm64_fdt_check_config() refuses (NULL
 * @cfg or @buf included); -ENOSPC when @bufsize is too small
 * (libfdt's FDT_ERR_NOSPACE); -EIO for any other libfdt failure (a bug).
 */
int arm64_fdt_build(const arm64_fdt_config_t *cfg, void *buf, size_t bufsize);

#ifdef __cplusplus
}
#endif
#endif
