/*
 * x86_pc.h - an x86 "pc" board: the VM layout, the PC's legacy devices and
 * Linux boot.
 *
 * The board puts together what libsel4vmmplatsupport's x86 half does and a
 * little more: guest RAM below and above the 32-bit PCI hole, the vCPUs, the
 * in-kernel PIC, IOAPIC, local APICs and PIT, a 16550 UART on COM1, an
 * i8042 (enough for its reset line), a CMOS RTC with the host's time, the
 * ACPI PM registers (power-off through \_S5, the reset register), ACPI
 * tables and an MP table generated from this layout, the devices of
 * board.h (virtio behind the PCI host bridge, configured through 0xCF8/0xCFC
 * and ECAM, or on virtio-mmio windows described in the DSDT), an optional
 * linear framebuffer, and the boot of a bzImage (Linux
 * Documentation/arch/x86/boot.rst, 64-bit entry) or an ELF vmlinux through
 * its PVH entry.
 *
 * Memory map (guest-physical):
 *   0x0000_0000  RAM, up to 3 GiB (the zero page, the command line, the
 *                board's GDT and page tables low; E820 reserves
 *                0x9_fc00-0xf_ffff, where the ACPI tables (0xe_0000) and
 *                the MP table (0xf_0000) live)
 *   0xc000_0000  PCI ECAM (1 MiB: bus 0), reserved in E820 and in the MCFG
 *   0xc100_0000  virtio-mmio windows (512 bytes each), GSI 16.. (level)
 *   0xc400_0000  free: a good place for the user's generic regions, up to
 *                0xc7ff_ffff
 *   0xc800_0000  the linear framebuffer (up to 32 MiB), when there is one
 *   0xd000_0000  PCI memory window (32-bit BARs), up to the IOAPIC
 *   0xfec0_0000  IOAPIC; 0xfee0_0000 local APICs; 0xfeff_c000 VMX helper pages
 *   0x1_0000_0000  RAM above 3 GiB, when --mem asks for more
 * Ports: COM1 0x3f8 (GSI 4), i8042 0x60/0x64 (GSI 1), RTC 0x70/0x71
 * (GSI 8), the in-kernel PIT 0x40-0x43 and PICs, PCI 0xcf8/0xcfc, the ACPI
 * PM block (x86_acpi.h; SCI on GSI 9), the reset register 0xcf9, port 0x80
 * (POST codes, dropped without a message).  PCI INTA..D: GSI 16..19.
 *
 * Boot: the bzImage's protected-mode kernel goes where its header asks
 * (x86_boot.h), the initrd high in low RAM; vCPU 0 starts at the 64-bit
 * entry with the board's page tables identity-mapping the first 4 GiB, a
 * GDT with __BOOT_CS (0x10) and __BOOT_DS (0x18), and RSI = the zero page;
 * the others wait for the guest's INIT/SIPI in the in-kernel local APIC.
 */
#ifndef VMMKIT_X86_PC_H
#define VMMKIT_X86_PC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vmmkit/board.h>
#include <vmmkit/vm.h>

#ifdef __cplusplus
extern "C" {
#endif

#define X86_PC_LOW_RAM_MAX 0xc0000000ull /* RAM below the hole ends here at most */
#define X86_PC_HIGH_RAM_BASE 0x100000000ull
#define X86_PC_PCI_ECAM_BASE 0xc0000000ull
#define X86_PC_PCI_ECAM_SIZE 0x00100000ull /* bus 0 */
#define X86_PC_VIRTIO_MMIO_BASE 0xc1000000ull
#define X86_PC_VIRTIO_MMIO_STRIDE 0x200ull
#define X86_PC_VIRTIO_MMIO_GSI 16u
#define X86_PC_VIRTIO_MMIO_MAX 8u /* GSIs 16..23: the IOAPIC's last eight pins */
#define X86_PC_FREE_BASE 0xc4000000ull
#define X86_PC_FREE_SIZE 0x04000000ull
#define X86_PC_FB_BASE 0xc8000000ull
#define X86_PC_FB_MAX 0x02000000ull
#define X86_PC_PCI_MMIO_BASE 0xd0000000ull
#define X86_PC_PCI_MMIO_SIZE 0x2ec00000ull /* up to the IOAPIC */
#define X86_PC_IOAPIC_BASE 0xfec00000ull
#define X86_PC_LAPIC_BASE 0xfee00000ull
#define X86_PC_PCI_INTX_GSI 16u
#define X86_PC_COM1_PORT 0x3f8u
#define X86_PC_COM1_GSI 4u
#define X86_PC_I8042_GSI 1u
#define X86_PC_RTC_GSI 8u
#define X86_PC_SCI_GSI 9u
#define X86_PC_PHYS_LIMIT (1ull << 40) /* guest-physical addresses the board uses end here */
#define X86_PC_MAX_CPUS 64u
#define X86_PC_DEFAULT_CMDLINE "console=ttyS0"
#define X86_PC_DEFAULT_CMDLINE_HVC "console=hvc0"

typedef struct x86_pc x86_pc_t;

/*
 * Check the files named in @cfg without touching the hypervisor: the
 * kernel is a bzImage the board can boot (or an ELF vmlinux with a PVH
 * note), kernel + initrd fit in RAM, the regions lie in free places.
 * Returns 0 or a negative errno with a one-line message in @err.
 */
int x86_pc_check(const board_config_t *cfg, char *err, size_t errlen);

/* Create the VM and its devices (the files are checked here too).  0 or -errno + @err. */
int x86_pc_create(const board_config_t *cfg, x86_pc_t **out, char *err, size_t errlen);

/*
 * Load the kernel, initrd, zero page, ACPI and MP tables into guest RAM and
 * set the boot vCPU's registers; for the first boot and after every
 * vm_reset().  0 or -errno + @err.
 */
int x86_pc_boot(x86_pc_t *board, char *err, size_t errlen);

/* The board's VM. */
vm_t *x86_pc_vm(x86_pc_t *board);

/* Write each ACPI table the guest boots with to @dir/<SIGNATURE>.dat.  0 or -errno + @err. */
int x86_pc_dump_acpi(x86_pc_t *board, const char *dir, char *err, size_t errlen);

/* The board's error counters, as board_guest_errors(). */
unsigned int x86_pc_guest_errors(const x86_pc_t *board, board_errors_t *out, unsigned int max);

/* Destroy the VM and the devices (not the console chardev).  NULL is fine. */
void x86_pc_destroy(x86_pc_t *board);

#ifdef __cplusplus
}
#endif
#endif
