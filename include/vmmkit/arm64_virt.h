/*
 * arm64_virt.h - an arm64 "virt" board: the VM layout and Linux boot.
 *
 * The board puts together what libvmm's Linux boot does: guest RAM, the
 * vCPUs, an in-kernel GIC (v3, or v2 where the host has no v3), a PL011
 * UART on a chardev, and the boot of an arm64 Image with an initrd and a
 * device tree generated from this layout with libfdt (or given by the user).
 *
 * Memory map (guest-physical), like QEMU's virt machine so guest kernels
 * and their users find nothing unusual:
 *   0x0800_0000  GIC distributor (64 KiB)
 *   0x0801_0000  GICv2 CPU interface (8 KiB)
 *   0x0808_0000  GICv3 ITS (128 KiB), when the host has one
 *   0x080a_0000  GICv3 redistributors (128 KiB per vCPU)
 *   0x0900_0000  PL011 UART (4 KiB), SPI 1 (INTID 33)
 *   0x0a00_0000  virtio-mmio transports (512 bytes each), SPI 16.. (INTID 48..)
 *   0x0c00_0000  free: a good place for the user's generic regions
 *                (board_guard_t, board_forward_t), up to 0x0fff_ffff,
 *                but for the top 64 KiB with MMIO channel ends:
 *   0x0fff_0000  cross-VM channel event pages (4 KiB each, MMIO transport only),
 *                SPI 48.. (INTID 80..); the channels' memory at 0x80_0000_0000
 *                (512 GiB) up, each naturally aligned, in the config's order
 *   0x1000_0000  PCI memory window (32-bit BARs), up to the ECAM
 *   0x3f00_0000  PCI ECAM (1 MiB: bus 0); INTA..D on SPI 3..6 (INTID 35..38)
 *   0x4000_0000  RAM
 *
 * Boot (Linux Documentation/arch/arm64/booting.rst): the Image is placed
 * at a 2 MiB aligned base plus its text_offset, the DTB and initrd above
 * it; vCPU 0 starts at the Image with x0 = the DTB address, MMU and caches
 * off; the others are off until the guest's PSCI CPU_ON.
 */
#ifndef VMMKIT_ARM64_VIRT_H
#define VMMKIT_ARM64_VIRT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vmmkit/arm64_smccc.h>
#include <vmmkit/board.h>
#include <vmmkit/chardev.h>
#include <vmmkit/vm.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ARM64_VIRT_GIC_DIST_BASE 0x08000000ull
#define ARM64_VIRT_GIC_DIST_SIZE 0x00010000ull
#define ARM64_VIRT_GIC_CPU_BASE 0x08010000ull
#define ARM64_VIRT_GIC_CPU_SIZE 0x00002000ull
#define ARM64_VIRT_GIC_ITS_BASE 0x08080000ull
#define ARM64_VIRT_GIC_ITS_SIZE 0x00020000ull
#define ARM64_VIRT_GIC_REDIST_BASE 0x080a0000ull
#define ARM64_VIRT_GIC_REDIST_SIZE_PER_CPU 0x20000ull
#define ARM64_VIRT_GIC_REDIST_LIMIT 0x09000000ull /* redistributors end below the UART */
#define ARM64_VIRT_UART_BASE 0x09000000ull
#define ARM64_VIRT_UART_SIZE 0x00001000ull
#define ARM64_VIRT_UART_INTID 33u
#define ARM64_VIRT_RAM_BASE 0x40000000ull
#define ARM64_VIRT_VIRTIO_MMIO_BASE 0x0a000000ull
#define ARM64_VIRT_VIRTIO_MMIO_STRIDE 0x200ull
#define ARM64_VIRT_VIRTIO_MMIO_INTID 48u
#define ARM64_VIRT_VIRTIO_MMIO_MAX 32u
#define ARM64_VIRT_PCI_MMIO_BASE 0x10000000ull
#define ARM64_VIRT_PCI_MMIO_SIZE 0x2f000000ull
#define ARM64_VIRT_PCI_ECAM_BASE 0x3f000000ull
#define ARM64_VIRT_PCI_ECAM_SIZE 0x00100000ull /* bus 0 */
#define ARM64_VIRT_PCI_INTX_INTID 35u
#define ARM64_VIRT_GIC_NR_IRQS 128u
#define ARM64_VIRT_FREE_BASE 0x0c000000ull /* nothing of the board's up to the PCI window */
#define ARM64_VIRT_FREE_SIZE 0x04000000ull
#define ARM64_VIRT_CHANNEL_EVENT_BASE 0x0fff0000ull /* MMIO channel ends: event page i at */
#define ARM64_VIRT_CHANNEL_EVENT_STRIDE 0x1000ull   /*   base + i * stride, */
#define ARM64_VIRT_CHANNEL_INTID 80u                /*   SPI INTID 80 + i, */
#define ARM64_VIRT_CHANNEL_MEM_BASE 0x8000000000ull /*   memory from 512 GiB up */
#define ARM64_VIRT_IPA_LIMIT (1ull << 40)           /* the hypervisor's default IPA space */
#define ARM64_VIRT_DEFAULT_CMDLINE "console=ttyAMA0"
#define ARM64_VIRT_DEFAULT_CMDLINE_HVC "console=hvc0"

/* The virt board takes board.h's configuration (gic_version is its own). */
typedef board_config_t arm64_virt_config_t;

typedef struct arm64_virt arm64_virt_t;

/*
 * The board's SiP service, function 0 (SMC32 0x82000000 / SMC64
 * 0xc2000000), where the VMM serves SMCCC calls: X0 = 0 (SUCCESS), X1 =
 * ARM64_VIRT_SIP_MAGIC ("vmmk"), X2 = the calling vCPU's index.
 */
#define ARM64_VIRT_SIP_MAGIC 0x766d6d6bu

/*
 * Check the files named in @cfg without touching the hypervisor: each is a
 * readable regular file, the kernel is a valid arm64 Image, a user DTB is a
 * valid FDT, and kernel + initrd + DTB fit in the RAM asked for; the generic
 * regions lie outside RAM, the board's windows and each other, their files
 * have the region's size and their sockets exist.  Returns 0
 * or a negative errno with a one-line message naming the problem in @err.
 */
int arm64_virt_check(const arm64_virt_config_t *cfg, char *err, size_t errlen);

/*
 * Create the VM and its devices.  The files named in @cfg are checked here
 * (readable, a valid Image, everything fits in RAM) so errors come before
 * anything runs.  On failure returns a negative errno and writes a one-line
 * message naming the problem into @err.
 */
int arm64_virt_create(const arm64_virt_config_t *cfg, arm64_virt_t **out, char *err, size_t errlen);

/*
 * Load the images and the DTB into guest RAM and set the boot vCPU's
 * registers.  Called for the first boot and again after every vm_reset()
 * (the images are read from their files again).  Returns 0 or a negative
 * errno with a message in @err.
 */
int arm64_virt_boot(arm64_virt_t *board, char *err, size_t errlen);

/*
 * Write the DTB the guest boots with (after arm64_virt_boot()) to @path.
 * Returns 0 or a negative errno with a message in @err.
 */
int arm64_virt_dump_dtb(arm64_virt_t *board, const char *path, char *err, size_t errlen);

/* The board's VM. */
vm_t *arm64_virt_vm(arm64_virt_t *board);

/* The GIC version in use (2 or 3). */
int arm64_virt_gic_version(const arm64_virt_t *board);

/* Destroy the VM and the devices (not the console chardev). */
void arm64_virt_destroy(arm64_virt_t *board);

/*
 * The board's error counters: each virtio device (its own reasons, its
 * queues' and its transport's), the PCI host bridge, and the VM's accesses
 * that reached nothing (vm_stat_t).  Fills up to @max entries of @out, one
 * per part that counted anything, and returns how many.  Call after
 * vm_run() returned (the counters are read without the devices' locks).
 */
unsigned int arm64_virt_guest_errors(const arm64_virt_t *board, board_errors_t *out,
                                     unsigned int max);

/*
 * The SMCCC registry of the VMM's firmware interface, for users to add SiP
 * or OEM services (arm64_smccc_register(), before arm64_virt_boot()); PSCI
 * 1.1 is registered in it.  NULL when the hypervisor cannot forward calls
 * and serves PSCI itself.
 */
arm64_smccc_t *arm64_virt_smccc(arm64_virt_t *board);

#ifdef __cplusplus
}
#endif
#endif
