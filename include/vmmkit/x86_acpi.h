/*
 * x86_acpi.h - the ACPI tables an x86_64 Linux guest boots with.
 *
 * An x86 kernel learns most of its machine from ACPI: the CPUs and interrupt
 * controllers (MADT), the power management hardware and how to reset the
 * machine (FADT), PCI's configuration space (MCFG) and the devices with
 * their resources and PCI interrupt routing (the DSDT, in AML).  This module
 * writes those tables from a plain description of the VM's real layout
 * (x86_acpi_config_t), so they always match what the VMM built:
 *
 *   RSDP (revision 2) -> XSDT -> FADT (-> FACS, DSDT), MADT, MCFG
 *
 * Specifications followed: ACPI 6.4 (5.2.5.3 RSDP, 5.2.6 table header,
 * 5.2.8 XSDT, 5.2.9 FADT, 5.2.10 FACS, 5.2.11.1 DSDT, 5.2.12 MADT, 6.4
 * resource descriptors, 19 and 20 for ASL/AML), the PCI Firmware
 * Specification 3.2 (4.1.2 MCFG) and what Linux's arch/x86/kernel/acpi and
 * drivers/acpi expect.  iasl (acpica-tools) disassembles every table without
 * a warning (tests/unit/test_x86_acpi.c).
 *
 * The machine described (not HW-reduced ACPI, a PC):
 *  - vCPUs: one Processor Local APIC entry per vCPU whose APIC ID and ACPI
 *    UID (its index) are below 255, a Processor Local x2APIC entry for the
 *    others; an ACPI0007 processor device per vCPU in \_SB (C000, C001..).
 *  - One IOAPIC, GSI base 0, so ISA IRQ n is GSI n except for the overrides:
 *    ISA IRQ 0 (the PIT) -> GSI 2, edge, and the SCI's IRQ -> its GSI,
 *    level, active high.  The board must route the PIT to IOAPIC pin 2
 *    (an in-kernel irqchip's default routing puts GSI 0 on pin 0: set a
 *    routing table as QEMU does).  The SCI is active high because the VMM drives the line
 *    high to assert it; with no override Linux would program the ACPI
 *    default for the SCI, level active low (ACPI 6.4, 5.2.9: "sharable,
 *    level, active low").
 *  - MADT flag PCAT_COMPAT (the 8259 pair exists: the in-kernel PIC), and
 *    Local APIC NMI on LINT1 of every processor.
 *  - FADT: PM1a event block, PM1a control block and PM timer at the ports
 *    of acpi_pm.h (ACPI_PM_DEFAULT_*), no SMI_CMD (ACPI is always enabled),
 *    no GPE blocks, the reset register at I/O port 0xcf9 with value 0x06
 *    and RESET_REG_SUP, a fixed-feature power button, no C2/C3;
 *    IAPC_BOOT_ARCH: LEGACY_DEVICES when any ISA device is configured, 8042
 *    when the i8042 is, VGA Not Present always, CMOS RTC Not Present when
 *    no RTC is.
 *  - DSDT: \_SB.PCI0 (PNP0A08, compatible PNP0A03) with _SEG/_BBN/_UID, its
 *    _CRS (bus numbers, I/O 0xcf8-0xcff, the I/O window, the 32-bit and
 *    64-bit memory windows) and _PRT (GSIs, no link devices); \_SB.MRES
 *    (PNP0C02) reserving the ECAM window, which Linux requires before it
 *    uses MCFG; COM1.. (PNP0501), the RTC (PNP0B00), the keyboard controller
 *    (PNP0303); virtio-mmio transports (LNRO0005, Memory32Fixed and an
 *    extended Interrupt); \_S5 = { ACPI_PM_SLP_TYP_S5, same, 0, 0 }.
 *
 * PCI INTx: Linux programs the GSIs a _PRT names (with no link device) as
 * level, active low.  Linux's in-kernel IOAPIC has ignored polarity since
 * Linux 3.17, so the VMM still drives the line 1 = asserted.  Prefer GSIs
 * 16-23 for INTx: below 16 they are ISA IRQ numbers too.
 *
 * Where the tables go: the blob is written into a caller buffer that stands
 * for guest-physical [base, base + size).  The RSDP comes first, at base,
 * which must be 16-byte aligned inside 0xe0000-0xfffff: Linux finds it by
 * scanning that BIOS area (ACPI 6.4, 5.2.5.1) when nothing else tells it.
 * The board may also put the RSDP's address in boot_params.acpi_rsdp_addr
 * (boot protocol 2.14+), which the kernel prefers to the scan.  The board
 * marks the blob's range reserved in the E820 map (like the whole BIOS area
 * 0xe0000-0xfffff on a PC), and the ECAM window too.  X86_ACPI_DEFAULT_BASE
 * and X86_ACPI_DEFAULT_SIZE leave 0xf0000-0xfffff to the MP table
 * (x86_mptable.h).
 *
 * Pure: no I/O, no hypervisor, no allocation.  The config struct grows over time:
 * zero-initialise it (designated initialisers); a field left 0/NULL means
 * "absent" or "the default".
 */
#ifndef VMMKIT_X86_ACPI_H
#define VMMKIT_X86_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vmmkit/acpi_pm.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Most vCPUs described (the x86 hypervisor's limit in Linux 6.x). */
#define X86_ACPI_MAX_CPUS 1024u
/* The PC's interrupt controllers. */
#define X86_ACPI_IOAPIC_ADDR 0xfec00000u
#define X86_ACPI_IOAPIC_PINS 24u /* the in-kernel IOAPIC */
#define X86_ACPI_IOAPIC_MAX_PINS 240u
#define X86_ACPI_LAPIC_ADDR 0xfee00000u
/* Their MMIO windows, for the overlap checks. */
#define X86_ACPI_APIC_WINDOW 0x1000u
/* The SCI's ISA IRQ (and GSI) unless configured: IRQ 9, as on PCs. */
#define X86_ACPI_SCI_IRQ 9u
/* Where Linux scans for the RSDP (ACPI 6.4, 5.2.5.1: the BIOS read-only area). */
#define X86_ACPI_SCAN_START 0xe0000u
#define X86_ACPI_SCAN_END 0x100000u
/* A blob placement that leaves 0xf0000-0xfffff to the MP table. */
#define X86_ACPI_DEFAULT_BASE 0xe0000u
#define X86_ACPI_DEFAULT_SIZE 0x10000u
/* At most this many UARTs (COM1-COM4), virtio-mmio devices (\_SB.VR00-VR3F)
 * and _PRT table entries (32 slots x 4 pins): so X86_ACPI_DEFAULT_SIZE
 * always holds the tables. */
#define X86_ACPI_MAX_UARTS 4u
#define X86_ACPI_MAX_VIRTIO 64u
#define X86_ACPI_MAX_PRT 128u
/* Fixed ISA resources of the RTC and the i8042. */
#define X86_ACPI_RTC_PORT 0x70u
#define X86_ACPI_RTC_IRQ 8u
#define X86_ACPI_I8042_DATA_PORT 0x60u
#define X86_ACPI_I8042_CMD_PORT 0x64u
#define X86_ACPI_I8042_IRQ 1u
/* PCI configuration mechanism #1, which the root bridge's _CRS claims. */
#define X86_ACPI_PCI_CONFIG_PORT 0xcf8u
#define X86_ACPI_PCI_CONFIG_LEN 8u
/* ECAM: 1 MiB of configuration space per bus. */
#define X86_ACPI_ECAM_BUS_SIZE 0x100000u

/* A 16550 UART: COM1 is {0x3f8, 4}, COM2 {0x2f8, 3}. */
typedef struct x86_acpi_uart {
    uint16_t port; /* first of 8 ports */
    uint8_t irq;   /* ISA IRQ 1-15 (not 2), edge */
} x86_acpi_uart_t;

/* One virtio-mmio transport (virtio 1.2, 4.2), below 4 GiB. */
typedef struct x86_acpi_virtio_mmio {
    uint64_t base;
    uint64_t size;
    uint32_t gsi;
    bool level_triggered; /* false (default): edge, active high, which suits irqfd pulses */
} x86_acpi_virtio_mmio_t;

/* One _PRT entry: device @slot's pin @pin (1..4 = INTA#..INTD#) drives @gsi. */
typedef struct x86_acpi_pci_irq {
    uint8_t slot; /* 0..31 */
    uint8_t pin;
    uint32_t gsi;
} x86_acpi_pci_irq_t;

/*
 * The PCI root bridge (segment 0 only).  ecam_size == 0 means no PCI: no
 * PCI0, no MCFG.  Windows are identity-mapped (PCI address == CPU address).
 *
 * Legacy interrupts (_PRT): either a table (prt/nr_prt, entries for the
 * slots that need them) or, when nr_prt is 0, the swizzle of pci.h: slot s
 * pin p (1..4) drives intx_gsi[(s + p - 1) % 4], for all 32 slots.  All
 * four intx_gsi 0 and no table: no _PRT (MSI/MSI-X only).
 */
typedef struct x86_acpi_pci {
    uint64_t ecam_base; /* configuration space of bus bus_first; 1 MiB aligned */
    uint64_t ecam_size; /* (bus_last - bus_first + 1) MiB */
    uint8_t bus_first, bus_last;
    uint16_t io_base; /* I/O window; io_size 0 = none */
    uint32_t io_size;
    uint64_t mmio_base, mmio_size;     /* 32-bit non-prefetchable window (below 4 GiB) */
    uint64_t mmio64_base, mmio64_size; /* 64-bit window; size 0 = none */
    uint32_t intx_gsi[4];              /* swizzle targets for INTA#..INTD# lines */
    const x86_acpi_pci_irq_t *prt;
    size_t nr_prt; /* at most X86_ACPI_MAX_PRT */
} x86_acpi_pci_t;

typedef struct x86_acpi_config {
    /* vCPUs: 1..X86_ACPI_MAX_CPUS.  apic_ids[i] is vCPU i's (x2)APIC ID; NULL
     * means i (the hypervisor's default: the vCPU id).  vCPU 0 is the boot processor. */
    unsigned int nr_cpus;
    const uint32_t *apic_ids;

    /* The IOAPIC: GSIs 0..pins-1.  addr 0 = X86_ACPI_IOAPIC_ADDR, pins 0 =
     * X86_ACPI_IOAPIC_PINS. */
    uint8_t ioapic_id;
    uint32_t ioapic_addr;
    unsigned int ioapic_pins;
    uint32_t lapic_addr; /* 0 = X86_ACPI_LAPIC_ADDR */

    /* ACPI PM hardware (acpi_pm.h); ports 0 = ACPI_PM_DEFAULT_*. */
    uint16_t pm1a_evt_port;
    uint16_t pm1a_cnt_port;
    uint16_t pm_tmr_port;
    bool pm_timer_32bit; /* FADT TMR_VAL_EXT; must match acpi_pm_config_t.timer_32bit */
    uint8_t sci_irq;     /* ISA IRQ 1-15 (not 2), 0 = X86_ACPI_SCI_IRQ */
    uint16_t reset_port; /* 0 = ACPI_PM_DEFAULT_RESET_PORT (value ACPI_PM_RESET_VALUE) */

    x86_acpi_pci_t pci;

    /* ISA devices. */
    const x86_acpi_uart_t *uarts; /* up to X86_ACPI_MAX_UARTS: COM1, COM2, ... */
    size_t nr_uarts;
    bool rtc;            /* CMOS RTC at 0x70-0x71, IRQ 8 */
    uint8_t rtc_century; /* CMOS index of the century byte (FADT CENTURY); 0 = none */
    bool i8042;          /* keyboard controller at 0x60/0x64, IRQ 1 */

    const x86_acpi_virtio_mmio_t *virtio; /* up to X86_ACPI_MAX_VIRTIO */
    size_t nr_virtio;

    /* Table header identification; NULL = "VMMKIT" / "VMMKIT". */
    const char *oem_id;       /* up to 6 characters */
    const char *oem_table_id; /* up to 8 characters */
} x86_acpi_config_t;

/* Where each table went (guest-physical addresses; 0 = not written). */
typedef struct x86_acpi_tables {
    uint64_t rsdp, xsdt, fadt, facs, dsdt, madt, mcfg;
    uint32_t dsdt_len;
    size_t used; /* bytes of the buffer the tables take, from its start */
} x86_acpi_tables_t;

/*
 * Check @cfg without writing anything.
 * @msg, @len: when non-NULL, receives a one-line reason naming the field and
 *             the value that is wrong (always NUL-terminated when @len > 0).
 * Returns 0 or -EINVAL.
 */
int x86_acpi_check_config(const x86_acpi_config_t *cfg, char *msg, size_t len);

/*
 * Write the tables for @cfg into @buf, which stands for guest-physical
 * [@base, @base + @size).  The whole buffer is written (zeroes after the
 * tables).
 * @base: 16-byte aligned, inside [X86_ACPI_SCAN_START, X86_ACPI_SCAN_END);
 *        the RSDP is at @base.
 * @out: when non-NULL, receives the tables' addresses.
 * @msg, @len: as for x86_acpi_check_config(), for every error.
 * Returns 0; -EINVAL for a config x86_acpi_check_config() refuses (NULL @cfg
 * or @buf included) or a @base the scan cannot find or whose end passes 4 GiB;
 * -ENOSPC when @size is too small (X86_ACPI_DEFAULT_SIZE holds the tables of
 * any config this module accepts).
 */
int x86_acpi_build(const x86_acpi_config_t *cfg, void *buf, uint64_t base, size_t size,
                   x86_acpi_tables_t *out, char *msg, size_t len);

#ifdef __cplusplus
}
#endif
#endif
