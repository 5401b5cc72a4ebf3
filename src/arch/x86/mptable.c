/*
 * mptable.c - Intel MultiProcessor Specification 1.4 tables ("MP spec":
 * chapter 4 "MP Configuration Table", Appendix D for PCI interrupts).
 * See include/vmmkit/x86_mptable.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <vmmkit/x86_mptable.h>

#include "arch/x86/table_bytes.h"

#define SPEC_REV 4 /* MP spec 1.4 */

/* Floating pointer structure (MP spec 4.1, Table 4-1). */
#define MPFP_LEN 16
#define MPFP_PHYSPTR 4
#define MPFP_LENGTH 8 /* in 16-byte paragraphs */
#define MPFP_SPEC_REV 9
#define MPFP_CHECKSUM 10
#define MPFP_FEATURE1 11 /* 0: a configuration table is present */
#define MPFP_FEATURE2 12 /* bit 7 IMCRP: 0 = virtual wire mode */

/* Configuration table header (MP spec 4.2, Table 4-2). */
#define MPC_HEADER_LEN 44
#define MPC_LENGTH 4
#define MPC_SPEC_REV 6
#define MPC_CHECKSUM 7
#define MPC_OEM_ID 8      /* 8 bytes */
#define MPC_PRODUCT_ID 16 /* 12 bytes */
#define MPC_OEM_TABLE_PTR 28
#define MPC_OEM_TABLE_SIZE 32
#define MPC_ENTRY_COUNT 34
#define MPC_LAPIC_ADDR 36
#define MPC_EXT_LENGTH 40
#define MPC_EXT_CHECKSUM 42

/* Entry types and lengths (MP spec 4.3, Table 4-3). */
#define MP_PROCESSOR 0
#define MP_BUS 1
#define MP_IOAPIC 2
#define MP_IOINTR 3
#define MP_LINTR 4
#define MP_PROCESSOR_LEN 20
#define MP_ENTRY_LEN 8

/* Processor entry CPU flags (4.3.1). */
#define CPU_EN (1u << 0)
#define CPU_BP (1u << 1)
/* I/O APIC entry flags (4.3.3). */
#define IOAPIC_EN (1u << 0)
/* Interrupt types (4.3.4, Table 4-11). */
#define INT_INT 0
#define INT_NMI 1
#define INT_EXTINT 3
/* Interrupt flags: 0 = conforming to the bus (ISA: edge high; PCI: level low). */
#define IRQ_CONFORMING 0
#define ALL_LAPICS 0xffu

#define ISA_IRQS 16u
#define PCI_SLOTS 32u
#define PCI_PINS 4u
#define MAX_PCI_IRQS (PCI_SLOTS * PCI_PINS)

#define DEFAULT_OEM_ID "VMMKIT"
#define DEFAULT_PRODUCT_ID "VMMKIT"

static int fail(char *msg, size_t len, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *msg, size_t len, int err, const char *fmt, ...)
{
    va_list ap;

    if (msg && len) {
        va_start(ap, fmt);
        vsnprintf(msg, len, fmt, ap);
        va_end(ap);
    }
    return err;
}

static uint32_t apic_id(const x86_mptable_config_t *cfg, unsigned int i)
{
    return cfg->apic_ids ? cfg->apic_ids[i] : i;
}

static unsigned int ioapic_pins(const x86_mptable_config_t *cfg)
{
    return cfg->ioapic_pins ? cfg->ioapic_pins : X86_ACPI_IOAPIC_PINS;
}

static bool swizzle_present(const x86_mptable_config_t *cfg)
{
    return cfg->intx_gsi[0] || cfg->intx_gsi[1] || cfg->intx_gsi[2] || cfg->intx_gsi[3];
}

static size_t nr_pci_entries(const x86_mptable_config_t *cfg)
{
    if (!cfg->pci)
        return 0;
    if (cfg->nr_pci_irqs)
        return cfg->nr_pci_irqs;
    return swizzle_present(cfg) ? MAX_PCI_IRQS : 0;
}

void x86_mptable_config_from_acpi(const x86_acpi_config_t *acpi, x86_mptable_config_t *mp)
{
    memset(mp, 0, sizeof(*mp));
    mp->nr_cpus = acpi->nr_cpus;
    mp->apic_ids = acpi->apic_ids;
    mp->lapic_addr = acpi->lapic_addr;
    mp->ioapic_id = acpi->ioapic_id;
    mp->ioapic_addr = acpi->ioapic_addr;
    mp->ioapic_pins = acpi->ioapic_pins;
    if (acpi->pci.ecam_size) {
        mp->pci = true;
        mp->pci_bus = acpi->pci.bus_first;
        memcpy(mp->intx_gsi, acpi->pci.intx_gsi, sizeof(mp->intx_gsi));
        mp->pci_irqs = acpi->pci.prt;
        mp->nr_pci_irqs = acpi->pci.nr_prt;
    }
}

static int check_intx_pin(const x86_mptable_config_t *cfg, const char *what, size_t i, uint32_t gsi,
                          char *msg, size_t len)
{
    if (gsi < ISA_IRQS || gsi >= ioapic_pins(cfg))
        return fail(msg, len, -EINVAL,
                    "%s[%zu] is IOAPIC pin %" PRIu32 "; PCI INTx needs pins 16-%u (0-15 are ISA's)",
                    what, i, gsi, ioapic_pins(cfg) - 1);
    return 0;
}

int x86_mptable_check_config(const x86_mptable_config_t *cfg, char *msg, size_t len)
{
    int ret;

    if (msg && len)
        msg[0] = '\0';
    if (!cfg)
        return fail(msg, len, -EINVAL, "no config");
    if (!cfg->nr_cpus || cfg->nr_cpus > X86_MPTABLE_MAX_CPUS)
        return fail(msg, len, -EINVAL, "nr_cpus is %u; the MP table holds 1..%u", cfg->nr_cpus,
                    X86_MPTABLE_MAX_CPUS);
    for (unsigned int i = 0; i < cfg->nr_cpus; i++) {
        uint32_t id = apic_id(cfg, i);

        if (id >= ALL_LAPICS)
            return fail(msg, len, -EINVAL,
                        "vCPU %u has APIC ID %" PRIu32 "; the MP table holds IDs 0-254", i, id);
        for (unsigned int j = 0; j < i; j++) {
            if (apic_id(cfg, j) == id)
                return fail(msg, len, -EINVAL, "vCPUs %u and %u share APIC ID %" PRIu32, j, i, id);
        }
    }
    if (ioapic_pins(cfg) < ISA_IRQS || ioapic_pins(cfg) > 0xffu)
        return fail(msg, len, -EINVAL, "ioapic_pins is %u; must be 16..255", ioapic_pins(cfg));
    if (cfg->pci && cfg->nr_pci_irqs) {
        if (!cfg->pci_irqs)
            return fail(msg, len, -EINVAL, "nr_pci_irqs is %zu but pci_irqs is NULL",
                        cfg->nr_pci_irqs);
        if (cfg->nr_pci_irqs > MAX_PCI_IRQS)
            return fail(msg, len, -EINVAL, "nr_pci_irqs is %zu; at most %u", cfg->nr_pci_irqs,
                        MAX_PCI_IRQS);
        for (size_t i = 0; i < cfg->nr_pci_irqs; i++) {
            const x86_acpi_pci_irq_t *q = &cfg->pci_irqs[i];

            if (q->slot >= PCI_SLOTS || q->pin < 1 || q->pin > PCI_PINS)
                return fail(msg, len, -EINVAL,
                            "pci_irqs[%zu]: slot %u pin %u; slots are 0-31, pins 1-4", i, q->slot,
                            q->pin);
            ret = check_intx_pin(cfg, "pci_irqs", i, q->gsi, msg, len);
            if (ret < 0)
                return ret;
        }
    } else if (cfg->pci && swizzle_present(cfg)) {
        for (size_t i = 0; i < PCI_PINS; i++) {
            ret = check_intx_pin(cfg, "intx_gsi", i, cfg->intx_gsi[i], msg, len);
            if (ret < 0)
                return ret;
        }
    }
    if (cfg->oem_id && strlen(cfg->oem_id) > 8)
        return fail(msg, len, -EINVAL, "oem_id \"%s\" is longer than 8 characters", cfg->oem_id);
    if (cfg->product_id && strlen(cfg->product_id) > 12)
        return fail(msg, len, -EINVAL, "product_id \"%s\" is longer than 12 characters",
                    cfg->product_id);
    return 0;
}

/* ---- writing ---------------------------------------------------------- */

/* An 8-byte I/O (MP_IOINTR) or local (MP_LINTR) interrupt assignment entry. */
static uint8_t *put_intr(uint8_t *p, uint8_t type, uint8_t irqtype, uint8_t srcbus, uint8_t srcirq,
                         uint8_t dst, uint8_t dstpin)
{
    p[0] = type;
    p[1] = irqtype;
    put16(p + 2, IRQ_CONFORMING);
    p[4] = srcbus;
    p[5] = srcirq;
    p[6] = dst;
    p[7] = dstpin;
    return p + MP_ENTRY_LEN;
}

static uint8_t *put_bus(uint8_t *p, uint8_t id, const char *type)
{
    p[0] = MP_BUS;
    p[1] = id;
    put_id(p + 2, type, 6); /* MP spec 4.3.2, Table 4-8: "ISA   ", "PCI   " */
    return p + MP_ENTRY_LEN;
}

static size_t mpc_len(const x86_mptable_config_t *cfg)
{
    size_t entries = (cfg->pci ? 2 : 1) + 1 + (ISA_IRQS - 1) + nr_pci_entries(cfg) + 2;

    return MPC_HEADER_LEN + cfg->nr_cpus * MP_PROCESSOR_LEN + entries * MP_ENTRY_LEN;
}

int x86_mptable_build(const x86_mptable_config_t *cfg, void *buf, uint64_t base, size_t size,
                      x86_mptable_info_t *out, char *msg, size_t len)
{
    uint8_t *mpfp = buf, *mpc, *p;
    uint8_t isa_bus, pci_bus;
    uint16_t count = 0;
    size_t total;
    int ret;

    ret = x86_mptable_check_config(cfg, msg, len);
    if (ret < 0)
        return ret;
    if (!buf)
        return fail(msg, len, -EINVAL, "no buffer");
    if (base % 16 || base < X86_MPTABLE_SCAN_START || base > X86_MPTABLE_SCAN_END - MPFP_LEN)
        return fail(msg, len, -EINVAL,
                    "base 0x%" PRIx64 " must be 16-byte aligned in [0x%x, 0x%x): the floating "
                    "pointer goes there for the BIOS-area scan",
                    base, X86_MPTABLE_SCAN_START, X86_MPTABLE_SCAN_END);
    total = MPFP_LEN + mpc_len(cfg);
    if (size < total)
        return fail(msg, len, -ENOSPC, "the MP table needs %zu bytes; the buffer has %zu", total,
                    size);
    memset(buf, 0, size);
    mpc = mpfp + MPFP_LEN;
    pci_bus = cfg->pci_bus;
    isa_bus = cfg->pci ? (uint8_t)(pci_bus + 1) : 0;

    /* MP spec 4.3.1: processors, the boot processor first. */
    p = mpc + MPC_HEADER_LEN;
    for (unsigned int i = 0; i < cfg->nr_cpus; i++) {
        p[0] = MP_PROCESSOR;
        p[1] = (uint8_t)apic_id(cfg, i);
        p[2] = cfg->lapic_version ? cfg->lapic_version : X86_MPTABLE_LAPIC_VERSION;
        p[3] = (uint8_t)(CPU_EN | (i == 0 ? CPU_BP : 0));
        put32(p + 4, cfg->cpu_signature ? cfg->cpu_signature : X86_MPTABLE_CPU_SIGNATURE);
        put32(p + 8, cfg->cpu_features ? cfg->cpu_features : X86_MPTABLE_CPU_FEATURES);
        p += MP_PROCESSOR_LEN;
        count++;
    }
    /* 4.3.2: buses, in ascending ID order. */
    if (cfg->pci && isa_bus < pci_bus) {
        p = put_bus(p, isa_bus, "ISA");
        p = put_bus(p, pci_bus, "PCI");
        count += 2;
    } else if (cfg->pci) {
        p = put_bus(p, pci_bus, "PCI");
        p = put_bus(p, isa_bus, "ISA");
        count += 2;
    } else {
        p = put_bus(p, isa_bus, "ISA");
        count++;
    }
    /* 4.3.3: the IOAPIC. */
    p[0] = MP_IOAPIC;
    p[1] = cfg->ioapic_id;
    p[2] = cfg->ioapic_version ? cfg->ioapic_version : X86_MPTABLE_IOAPIC_VERSION;
    p[3] = IOAPIC_EN;
    put32(p + 4, cfg->ioapic_addr ? cfg->ioapic_addr : X86_ACPI_IOAPIC_ADDR);
    p += MP_ENTRY_LEN;
    count++;
    /* 4.3.4: ISA IRQs (IRQ 0 on pin 2, no IRQ 2), then PCI INTx (D.3). */
    for (unsigned int irq = 0; irq < ISA_IRQS; irq++) {
        if (irq == 2)
            continue;
        p = put_intr(p, MP_IOINTR, INT_INT, isa_bus, (uint8_t)irq, cfg->ioapic_id,
                     (uint8_t)(irq == 0 ? 2 : irq));
        count++;
    }
    if (cfg->pci && cfg->nr_pci_irqs) {
        for (size_t i = 0; i < cfg->nr_pci_irqs; i++) {
            const x86_acpi_pci_irq_t *q = &cfg->pci_irqs[i];

            p = put_intr(p, MP_IOINTR, INT_INT, pci_bus, (uint8_t)(q->slot << 2 | (q->pin - 1)),
                         cfg->ioapic_id, (uint8_t)q->gsi);
            count++;
        }
    } else if (cfg->pci && swizzle_present(cfg)) {
        for (unsigned int slot = 0; slot < PCI_SLOTS; slot++) {
            for (unsigned int pin = 0; pin < PCI_PINS; pin++) {
                p = put_intr(p, MP_IOINTR, INT_INT, pci_bus, (uint8_t)(slot << 2 | pin),
                             cfg->ioapic_id, (uint8_t)cfg->intx_gsi[(slot + pin) % PCI_PINS]);
                count++;
            }
        }
    }
    /* 4.3.5: the 8259 on LINT0 (virtual wire), NMI on LINT1, every local APIC. */
    p = put_intr(p, MP_LINTR, INT_EXTINT, isa_bus, 0, ALL_LAPICS, 0);
    p = put_intr(p, MP_LINTR, INT_NMI, isa_bus, 0, ALL_LAPICS, 1);
    count += 2;

    /* 4.2: the header and its checksum over the base table. */
    memcpy(mpc, "PCMP", 4);
    put16(mpc + MPC_LENGTH, (uint16_t)(p - mpc));
    mpc[MPC_SPEC_REV] = SPEC_REV;
    put_id(mpc + MPC_OEM_ID, cfg->oem_id ? cfg->oem_id : DEFAULT_OEM_ID, 8);
    put_id(mpc + MPC_PRODUCT_ID, cfg->product_id ? cfg->product_id : DEFAULT_PRODUCT_ID, 12);
    put32(mpc + MPC_OEM_TABLE_PTR, 0);
    put16(mpc + MPC_OEM_TABLE_SIZE, 0);
    put16(mpc + MPC_ENTRY_COUNT, count);
    put32(mpc + MPC_LAPIC_ADDR, cfg->lapic_addr ? cfg->lapic_addr : X86_ACPI_LAPIC_ADDR);
    put16(mpc + MPC_EXT_LENGTH, 0);
    mpc[MPC_EXT_CHECKSUM] = 0;
    mpc[MPC_CHECKSUM] = checksum(mpc, (size_t)(p - mpc));

    /* 4.1: the floating pointer. */
    memcpy(mpfp, "_MP_", 4);
    put32(mpfp + MPFP_PHYSPTR, (uint32_t)(base + MPFP_LEN));
    mpfp[MPFP_LENGTH] = 1;
    mpfp[MPFP_SPEC_REV] = SPEC_REV;
    mpfp[MPFP_FEATURE1] = 0;
    mpfp[MPFP_FEATURE2] = 0;
    mpfp[MPFP_CHECKSUM] = checksum(mpfp, MPFP_LEN);

    if (out) {
        out->mpfp = base;
        out->mpc = base + MPFP_LEN;
        out->mpc_len = (uint32_t)(p - mpc);
        out->used = (size_t)(p - mpfp);
    }
    return 0;
}
