/*
 * x86_mptable.h - the Intel MultiProcessor Specification table, for x86
 * guests that boot without ACPI (acpi=off, or a kernel built without it).
 *
 * Before ACPI, an SMP PC described its processors, buses, IOAPIC and
 * interrupt wiring in the MP table (Intel MultiProcessor Specification
 * 1.4, "MP spec" below): a floating pointer structure that the OS finds by
 * scanning (MP spec 4: among other places the BIOS ROM area 0xf0000-
 * 0xfffff, on 16-byte boundaries), pointing to a configuration table of
 * entries.  Linux reads it (arch/x86/kernel/mpparse.c) when it has no
 * MADT.  This module writes one from the same layout the ACPI tables
 * describe (x86_mptable_config_from_acpi()), so both agree:
 *
 *  - a processor entry per vCPU, the first (vCPU 0) with the BSP flag;
 *  - a bus entry for the PCI root bus (when there is PCI) and one for ISA;
 *  - the IOAPIC;
 *  - I/O interrupt entries: ISA IRQs 0-15 to the same IOAPIC pins except
 *    IRQ 0 (the PIT) -> pin 2 and no entry for IRQ 2 (the cascade), as
 *    the ACPI interrupt source override says; and one per PCI slot and pin
 *    (source bus IRQ = slot << 2 | INTx, MP spec D.3), level, active low
 *    (the "conforming" PCI default);
 *  - local interrupt entries: ExtINT on LINT0 and NMI on LINT1 of every
 *    local APIC (the virtual wire mode of MP spec 3.6.2.2; IMCRP clear).
 *
 * The MP table holds 8-bit APIC IDs only: every vCPU's must be below 255.
 * PCI INTx must use IOAPIC pins 16 and up (pins 0-15 carry the ISA IRQs).
 * The table does not assign an ID to the IOAPIC itself: 64-bit Linux
 * uses the table's ID as given, whatever the IOAPIC's ID register holds.
 *
 * Placement: the blob (floating pointer first, then the configuration
 * table) is written into a caller buffer standing for guest-physical
 * [base, base + size); base must be 16-byte aligned inside 0xf0000-0xfffff
 * and the board marks the range reserved in the E820 map.
 * X86_MPTABLE_DEFAULT_BASE/SIZE sit above the ACPI tables' default place.
 *
 * Pure: no I/O, no hypervisor, no allocation.  Zero-initialise the config; a field
 * left 0/NULL means "absent" or "the default".
 */
#ifndef VMMKIT_X86_MPTABLE_H
#define VMMKIT_X86_MPTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vmmkit/x86_acpi.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The BIOS ROM area the floating pointer must be in (MP spec 4). */
#define X86_MPTABLE_SCAN_START 0xf0000u
#define X86_MPTABLE_SCAN_END 0x100000u
#define X86_MPTABLE_DEFAULT_BASE 0xf0000u
#define X86_MPTABLE_DEFAULT_SIZE 0x10000u
/* 8-bit APIC IDs, 0xff meaning "all local APICs". */
#define X86_MPTABLE_MAX_CPUS 255u
/* Defaults: an integrated local APIC (version 0x14) and the in-kernel IOAPIC (0x11). */
#define X86_MPTABLE_LAPIC_VERSION 0x14u
#define X86_MPTABLE_IOAPIC_VERSION 0x11u
/* Processor entry defaults: family 6, features FPU | APIC (CPUID.1:EDX). */
#define X86_MPTABLE_CPU_SIGNATURE 0x600u
#define X86_MPTABLE_CPU_FEATURES 0x201u

typedef struct x86_mptable_config {
    /* vCPUs 1..X86_MPTABLE_MAX_CPUS; apic_ids NULL means vCPU i has ID i. */
    unsigned int nr_cpus;
    const uint32_t *apic_ids;
    uint32_t cpu_signature; /* 0 = X86_MPTABLE_CPU_SIGNATURE */
    uint32_t cpu_features;  /* 0 = X86_MPTABLE_CPU_FEATURES */
    uint8_t lapic_version;  /* 0 = X86_MPTABLE_LAPIC_VERSION */
    uint32_t lapic_addr;    /* 0 = X86_ACPI_LAPIC_ADDR */

    uint8_t ioapic_id;
    uint8_t ioapic_version;   /* 0 = X86_MPTABLE_IOAPIC_VERSION */
    uint32_t ioapic_addr;     /* 0 = X86_ACPI_IOAPIC_ADDR */
    unsigned int ioapic_pins; /* 0 = X86_ACPI_IOAPIC_PINS */

    /* PCI: the root bus and its INTx wiring, as in x86_acpi_pci_t: a table
     * (pci_irqs) or, when nr_pci_irqs is 0, the swizzle over intx_gsi[]
     * (GSI = IOAPIC pin).  The ISA bus takes MP bus ID pci_bus + 1 (vmmkit's
     * PCI has no bridges, so no PCI bus has that number), or 0 without PCI. */
    bool pci;
    uint8_t pci_bus;
    uint32_t intx_gsi[4];
    const x86_acpi_pci_irq_t *pci_irqs;
    size_t nr_pci_irqs;

    const char *oem_id;     /* up to 8 characters; NULL = "VMMKIT" */
    const char *product_id; /* up to 12 characters; NULL = "VMMKIT" */
} x86_mptable_config_t;

/* Where the structures went (guest-physical). */
typedef struct x86_mptable_info {
    uint64_t mpfp;    /* the floating pointer structure (16 bytes) */
    uint64_t mpc;     /* the configuration table */
    uint32_t mpc_len; /* its base table length */
    size_t used;      /* bytes of the buffer used, from its start */
} x86_mptable_info_t;

/*
 * Fill @mp from the ACPI description @acpi (CPUs, APIC addresses, the
 * IOAPIC, PCI's root bus and INTx routing); other fields are zeroed.
 */
void x86_mptable_config_from_acpi(const x86_acpi_config_t *acpi, x86_mptable_config_t *mp);

/*
 * Check @cfg without writing anything.
 * @msg, @len: when non-NULL, receives a one-line reason naming the field and
 *             the value that is wrong (always NUL-terminated when @len > 0).
 * Returns 0 or -EINVAL.
 */
int x86_mptable_check_config(const x86_mptable_config_t *cfg, char *msg, size_t len);

/*
 * Write the MP table for @cfg into @buf, standing for guest-physical
 * [@base, @base + @size); the whole buffer is written (zeroes after it).
 * @base: 16-byte aligned in [X86_MPTABLE_SCAN_START, X86_MPTABLE_SCAN_END);
 *        the floating pointer is at @base, the configuration table after it.
 * @out, @msg, @len: as for x86_acpi_build().
 * Returns 0; -EINVAL for a refused config, a NULL @buf or a bad @base;
 * -ENOSPC when @size is too small (X86_MPTABLE_DEFAULT_SIZE always suffices).
 */
int x86_mptable_build(const x86_mptable_config_t *cfg, void *buf, uint64_t base, size_t size,
                      x86_mptable_info_t *out, char *msg, size_t len);

#ifdef __cplusplus
}
#endif
#endif
