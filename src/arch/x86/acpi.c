/*
 * acpi.c - ACPI tables for x86_64 guests: RSDP, XSDT, FADT, FACS, MADT,
 * MCFG and a DSDT in AML (aml.c).  See include/vmmkit/x86_acpi.h for the
 * machine they describe.  Section numbers are ACPI 6.4's unless named.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <vmmkit/x86_acpi.h>

#include "arch/x86/aml.h"
#include "arch/x86/table_bytes.h"

/* Table revisions written (5.2.5.3, 5.2.8, 5.2.9, 5.2.10, 5.2.11.1, 5.2.12; PCI FW 4.1.2). */
#define RSDP_REVISION 2
#define XSDT_REVISION 1
#define FADT_REVISION 6
#define FADT_MINOR_REVISION 4 /* ACPI 6.4 */
#define FACS_VERSION 2
#define DSDT_REVISION 2 /* 64-bit AML integers */
#define MADT_REVISION 5
#define MCFG_REVISION 1

#define DEFAULT_OEM_ID "VMMKIT"
#define DEFAULT_OEM_TABLE_ID "VMMKIT"
#define OEM_REVISION 1
#define CREATOR_ID "VMMK"
#define CREATOR_REVISION 1
#define HYPERVISOR_VENDOR "VMMKIT  " /* FADT Hypervisor Vendor Identity, 8 bytes */

/* Sizes of fixed structures. */
#define SDT_HEADER_LEN 36 /* 5.2.6 */
#define RSDP_LEN 36       /* 5.2.5.3, revision 2 */
#define RSDP_V1_LEN 20    /* the part the first checksum covers */
#define FACS_LEN 64       /* 5.2.10 */
#define FACS_ALIGN 64
#define FADT_LEN 276 /* 5.2.9, Table 5.9: up to Hypervisor Vendor Identity */
#define MCFG_LEN (SDT_HEADER_LEN + 8 + 16)
#define TABLE_ALIGN 16

/* System Description Table Header (5.2.6, Table 5.4) field offsets. */
#define SDT_LENGTH 4
#define SDT_REVISION 8
#define SDT_CHECKSUM 9
#define SDT_OEM_ID 10
#define SDT_OEM_TABLE_ID 16
#define SDT_OEM_REVISION 24
#define SDT_CREATOR_ID 28
#define SDT_CREATOR_REVISION 32

/* RSDP (5.2.5.3, Table 5.3). */
#define RSDP_CHECKSUM 8
#define RSDP_OEM_ID 9
#define RSDP_REV 15
#define RSDP_RSDT 16
#define RSDP_LENGTH 20
#define RSDP_XSDT 24
#define RSDP_EXT_CHECKSUM 32

/* FACS (5.2.10, Table 5.14). */
#define FACS_LENGTH 4
#define FACS_VERSION_OFF 32

/* FADT (5.2.9, Table 5.9). */
#define FADT_FIRMWARE_CTRL 36
#define FADT_DSDT 40
#define FADT_PREFERRED_PM_PROFILE 45
#define FADT_SCI_INT 46
#define FADT_SMI_CMD 48
#define FADT_PM1A_EVT_BLK 56
#define FADT_PM1A_CNT_BLK 64
#define FADT_PM_TMR_BLK 76
#define FADT_PM1_EVT_LEN 88
#define FADT_PM1_CNT_LEN 89
#define FADT_PM_TMR_LEN 91
#define FADT_P_LVL2_LAT 96
#define FADT_P_LVL3_LAT 98
#define FADT_CENTURY 108
#define FADT_IAPC_BOOT_ARCH 109
#define FADT_FLAGS 112
#define FADT_RESET_REG 116
#define FADT_RESET_VALUE 128
#define FADT_MINOR_VERSION 131
#define FADT_X_DSDT 140
#define FADT_X_PM1A_EVT_BLK 148
#define FADT_X_PM1A_CNT_BLK 172
#define FADT_X_PM_TMR_BLK 208
#define FADT_HYPERVISOR_VENDOR 268

/* Latencies above these mean "C2/C3 not supported" (5.2.9). */
#define P_LVL2_UNSUPPORTED 0x0fff
#define P_LVL3_UNSUPPORTED 0x0fff

/* FADT Fixed Feature Flags (Table 5.10). */
#define FADT_F_WBINVD (1u << 0)
#define FADT_F_PROC_C1 (1u << 2)
#define FADT_F_PWR_BUTTON (1u << 4) /* set: control-method button; clear: fixed feature */
#define FADT_F_SLP_BUTTON (1u << 5) /* set: no fixed-feature sleep button */
#define FADT_F_FIX_RTC (1u << 6)    /* set: RTC wake status not in fixed registers */
#define FADT_F_TMR_VAL_EXT (1u << 8)
#define FADT_F_RESET_REG_SUP (1u << 10)

/* IA-PC Boot Architecture Flags (Table 5.11). */
#define IAPC_LEGACY_DEVICES (1u << 0)
#define IAPC_8042 (1u << 1)
#define IAPC_VGA_NOT_PRESENT (1u << 2)
#define IAPC_CMOS_RTC_NOT_PRESENT (1u << 5)

/* Generic Address Structure (5.2.3.2, Table 5.1). */
#define GAS_LEN 12
#define GAS_SYSTEM_IO 1
#define GAS_ACCESS_BYTE 1
#define GAS_ACCESS_WORD 2
#define GAS_ACCESS_DWORD 3

/* MADT (5.2.12, Table 5.19) and its structures (Table 5.21). */
#define MADT_LAPIC_ADDR 36
#define MADT_FLAGS 40
#define MADT_ENTRIES 44
#define MADT_PCAT_COMPAT (1u << 0)
#define MADT_TYPE_LAPIC 0
#define MADT_TYPE_IOAPIC 1
#define MADT_TYPE_ISO 2
#define MADT_TYPE_LAPIC_NMI 4
#define MADT_TYPE_X2APIC 9
#define MADT_TYPE_X2APIC_NMI 10
#define MADT_LAPIC_LEN 8
#define MADT_IOAPIC_LEN 12
#define MADT_ISO_LEN 10
#define MADT_LAPIC_NMI_LEN 6
#define MADT_X2APIC_LEN 16
#define MADT_X2APIC_NMI_LEN 12
#define MADT_CPU_ENABLED (1u << 0)
/* MPS INTI flags (Table 5.26): polarity bits 1:0, trigger mode bits 3:2. */
#define MPS_ACTIVE_HIGH 0x1u
#define MPS_EDGE (0x1u << 2)
#define MPS_LEVEL (0x3u << 2)
/* "All processors" in a Local APIC NMI / Local x2APIC NMI structure. */
#define MADT_ALL_CPUS_UID8 0xffu
#define MADT_ALL_CPUS_UID32 0xffffffffu
#define LINT1 1
/* Local APIC structures hold 8-bit IDs and UIDs, 0xff being broadcast / "all". */
#define XAPIC_LIMIT 0xffu

/* MCFG (PCI Firmware Specification 3.2, 4.1.2, Tables 4-2 and 4-3). */
#define MCFG_ALLOC 44
#define MCFG_ALLOC_BASE 0
#define MCFG_ALLOC_SEGMENT 8
#define MCFG_ALLOC_BUS_START 10
#define MCFG_ALLOC_BUS_END 11

#define PCI_SLOTS 32u
#define PCI_PINS 4u

#define UART_PORTS 8u
#define RTC_PORTS 2u
#define FOUR_GIB 0x100000000ull

/* ---- messages --------------------------------------------------------- */

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

/* ---- the config with defaults applied --------------------------------- */

typedef struct eff {
    uint32_t ioapic_addr;
    unsigned int ioapic_pins;
    uint32_t lapic_addr;
    uint16_t evt, cnt, tmr, reset;
    unsigned int sci;
} eff_t;

static eff_t effective(const x86_acpi_config_t *cfg)
{
    eff_t e = {
        .ioapic_addr = cfg->ioapic_addr ? cfg->ioapic_addr : X86_ACPI_IOAPIC_ADDR,
        .ioapic_pins = cfg->ioapic_pins ? cfg->ioapic_pins : X86_ACPI_IOAPIC_PINS,
        .lapic_addr = cfg->lapic_addr ? cfg->lapic_addr : X86_ACPI_LAPIC_ADDR,
        .evt = cfg->pm1a_evt_port ? cfg->pm1a_evt_port : ACPI_PM_DEFAULT_PM1A_EVT_PORT,
        .cnt = cfg->pm1a_cnt_port ? cfg->pm1a_cnt_port : ACPI_PM_DEFAULT_PM1A_CNT_PORT,
        .tmr = cfg->pm_tmr_port ? cfg->pm_tmr_port : ACPI_PM_DEFAULT_PM_TMR_PORT,
        .reset = cfg->reset_port ? cfg->reset_port : ACPI_PM_DEFAULT_RESET_PORT,
        .sci = cfg->sci_irq ? cfg->sci_irq : X86_ACPI_SCI_IRQ,
    };
    return e;
}

static uint32_t apic_id(const x86_acpi_config_t *cfg, unsigned int i)
{
    return cfg->apic_ids ? cfg->apic_ids[i] : i;
}

/* A vCPU gets a Local APIC entry when both its APIC ID and its UID fit one. */
static bool cpu_is_xapic(const x86_acpi_config_t *cfg, unsigned int i)
{
    return apic_id(cfg, i) < XAPIC_LIMIT && i < XAPIC_LIMIT;
}

static bool pci_present(const x86_acpi_config_t *cfg)
{
    return cfg->pci.ecam_size != 0;
}

static bool swizzle_present(const x86_acpi_pci_t *p)
{
    return p->intx_gsi[0] || p->intx_gsi[1] || p->intx_gsi[2] || p->intx_gsi[3];
}

/* The GSI slot @slot's pin @pin (1..4) drives under the swizzle. */
static uint32_t swizzle_gsi(const x86_acpi_pci_t *p, unsigned int slot, unsigned int pin)
{
    return p->intx_gsi[(slot + pin - 1) % PCI_PINS];
}

/* ---- config checks ---------------------------------------------------- */

/* A named range (I/O ports or guest-physical memory), for overlap checks. */
typedef struct range {
    const char *what;
    size_t index;
    uint64_t base;
    uint64_t size;
} range_t;

/* The @n-th I/O port range the config uses; false past the last. */
static bool io_range_at(const x86_acpi_config_t *cfg, const eff_t *e, size_t n, range_t *r)
{
    if (n < cfg->nr_uarts) {
        *r = (range_t){"uart", n, cfg->uarts[n].port, UART_PORTS};
        return true;
    }
    n -= cfg->nr_uarts;
    switch (n) {
    case 0:
        *r = (range_t){"pm1a_evt", 0, e->evt, ACPI_PM_PM1_EVT_LEN};
        return true;
    case 1:
        *r = (range_t){"pm1a_cnt", 0, e->cnt, ACPI_PM_PM1_CNT_LEN};
        return true;
    case 2:
        *r = (range_t){"pm_tmr", 0, e->tmr, ACPI_PM_TMR_LEN};
        return true;
    case 3:
        *r = (range_t){"reset", 0, e->reset, 1};
        return true;
    case 4:
        *r = (range_t){"rtc", 0, X86_ACPI_RTC_PORT, cfg->rtc ? RTC_PORTS : 0};
        return true;
    case 5:
        *r = (range_t){"i8042.data", 0, X86_ACPI_I8042_DATA_PORT, cfg->i8042 ? 1 : 0};
        return true;
    case 6:
        *r = (range_t){"i8042.cmd", 0, X86_ACPI_I8042_CMD_PORT, cfg->i8042 ? 1 : 0};
        return true;
    case 7:
        *r = (range_t){"pci.config", 0, X86_ACPI_PCI_CONFIG_PORT,
                       pci_present(cfg) ? X86_ACPI_PCI_CONFIG_LEN : 0};
        return true;
    case 8:
        *r = (range_t){"pci.io", 0, cfg->pci.io_base, pci_present(cfg) ? cfg->pci.io_size : 0};
        return true;
    default:
        return false;
    }
}

/* The @n-th MMIO range; false past the last. */
static bool mmio_range_at(const x86_acpi_config_t *cfg, const eff_t *e, size_t n, range_t *r)
{
    const x86_acpi_pci_t *p = &cfg->pci;

    if (n < cfg->nr_virtio) {
        *r = (range_t){"virtio", n, cfg->virtio[n].base, cfg->virtio[n].size};
        return true;
    }
    n -= cfg->nr_virtio;
    switch (n) {
    case 0:
        *r = (range_t){"ioapic", 0, e->ioapic_addr, X86_ACPI_APIC_WINDOW};
        return true;
    case 1:
        *r = (range_t){"lapic", 0, e->lapic_addr, X86_ACPI_APIC_WINDOW};
        return true;
    case 2:
        *r = (range_t){"pci.ecam", 0, p->ecam_base, p->ecam_size};
        return true;
    case 3:
        *r = (range_t){"pci.mmio", 0, p->mmio_base, pci_present(cfg) ? p->mmio_size : 0};
        return true;
    case 4:
        *r = (range_t){"pci.mmio64", 0, p->mmio64_base, pci_present(cfg) ? p->mmio64_size : 0};
        return true;
    default:
        return false;
    }
}

typedef bool (*range_fn)(const x86_acpi_config_t *, const eff_t *, size_t, range_t *);

/* The reset register sits inside CONFIG_ADDRESS's ports by PC tradition. */
static bool overlap_allowed(const range_t *a, const range_t *b)
{
    return (!strcmp(a->what, "reset") && !strcmp(b->what, "pci.config")) ||
           (!strcmp(b->what, "reset") && !strcmp(a->what, "pci.config"));
}

static int check_overlaps(const x86_acpi_config_t *cfg, const eff_t *e, range_fn at, uint64_t limit,
                          const char *space, char *msg, size_t len)
{
    range_t a, b;

    for (size_t i = 0; at(cfg, e, i, &a); i++) {
        if (!a.size)
            continue;
        if (a.base > limit || a.size > limit - a.base)
            return fail(msg, len, -EINVAL,
                        "%s[%zu] at 0x%" PRIx64 " size 0x%" PRIx64 " passes the end of %s", a.what,
                        a.index, a.base, a.size, space);
        for (size_t j = 0; j < i && at(cfg, e, j, &b); j++) {
            if (b.size && a.base < b.base + b.size && b.base < a.base + a.size &&
                !overlap_allowed(&a, &b))
                return fail(msg, len, -EINVAL,
                            "%s[%zu] [0x%" PRIx64 ", +0x%" PRIx64 ") overlaps %s[%zu] [0x%" PRIx64
                            ", +0x%" PRIx64 ") in %s",
                            a.what, a.index, a.base, a.size, b.what, b.index, b.base, b.size,
                            space);
        }
    }
    return 0;
}

/* Who uses each GSI: exclusive users (ISA devices, virtio) and shared PCI INTx. */
typedef struct gsi_map {
    const char *owner[X86_ACPI_IOAPIC_MAX_PINS];
    bool pci[X86_ACPI_IOAPIC_MAX_PINS];
} gsi_map_t;

static int claim_gsi(gsi_map_t *m, const eff_t *e, uint32_t gsi, const char *who, bool shared_pci,
                     char *msg, size_t len)
{
    if (gsi >= e->ioapic_pins)
        return fail(msg, len, -EINVAL, "%s uses GSI %" PRIu32 "; the IOAPIC has GSIs 0-%u", who,
                    gsi, e->ioapic_pins - 1);
    if (gsi == 0)
        return fail(msg, len, -EINVAL, "%s uses GSI 0, which is not routed (the PIT is on GSI 2)",
                    who);
    if (m->owner[gsi])
        return fail(msg, len, -EINVAL, "%s uses GSI %" PRIu32 ", already %s's", who, gsi,
                    m->owner[gsi]);
    if (shared_pci) {
        m->pci[gsi] = true;
        return 0;
    }
    if (m->pci[gsi])
        return fail(msg, len, -EINVAL, "%s uses GSI %" PRIu32 ", which PCI INTx uses", who, gsi);
    m->owner[gsi] = who;
    return 0;
}

static int check_pci(const x86_acpi_config_t *cfg, const eff_t *e, gsi_map_t *m, char *msg,
                     size_t len)
{
    const x86_acpi_pci_t *p = &cfg->pci;
    uint64_t buses;
    int ret;

    if (!pci_present(cfg))
        return 0;
    if (p->bus_first > p->bus_last)
        return fail(msg, len, -EINVAL, "pci bus range %u..%u is empty", p->bus_first, p->bus_last);
    buses = (uint64_t)(p->bus_last - p->bus_first + 1);
    if (p->ecam_size != buses * X86_ACPI_ECAM_BUS_SIZE)
        return fail(msg, len, -EINVAL,
                    "pci.ecam_size is 0x%" PRIx64 "; buses %u..%u need 0x%" PRIx64 " (1 MiB each)",
                    p->ecam_size, p->bus_first, p->bus_last, buses * X86_ACPI_ECAM_BUS_SIZE);
    if (p->ecam_base % X86_ACPI_ECAM_BUS_SIZE)
        return fail(msg, len, -EINVAL, "pci.ecam_base 0x%" PRIx64 " is not 1 MiB aligned",
                    p->ecam_base);
    if (p->ecam_base < (uint64_t)p->bus_first * X86_ACPI_ECAM_BUS_SIZE)
        return fail(msg, len, -EINVAL,
                    "pci.ecam_base 0x%" PRIx64 " is below bus 0's place for bus_first %u",
                    p->ecam_base, p->bus_first);
    if (p->io_size && (p->io_base + (uint64_t)p->io_size > 0x10000u))
        return fail(msg, len, -EINVAL, "pci I/O window 0x%x size 0x%" PRIx32 " passes port 0xffff",
                    p->io_base, p->io_size);
    if (!p->mmio_size && !p->mmio64_size)
        return fail(msg, len, -EINVAL, "pci has no memory window");
    if (p->mmio_size && (p->mmio_base >= FOUR_GIB || p->mmio_size > FOUR_GIB - p->mmio_base))
        return fail(msg, len, -EINVAL,
                    "pci.mmio [0x%" PRIx64 ", +0x%" PRIx64 ") must lie below 4 GiB", p->mmio_base,
                    p->mmio_size);
    if (p->nr_prt) {
        if (!p->prt)
            return fail(msg, len, -EINVAL, "pci.nr_prt is %zu but prt is NULL", p->nr_prt);
        if (p->nr_prt > X86_ACPI_MAX_PRT)
            return fail(msg, len, -EINVAL, "pci.nr_prt is %zu; at most %u", p->nr_prt,
                        X86_ACPI_MAX_PRT);
        for (size_t i = 0; i < p->nr_prt; i++) {
            const x86_acpi_pci_irq_t *q = &p->prt[i];

            if (q->slot >= PCI_SLOTS || q->pin < 1 || q->pin > PCI_PINS)
                return fail(msg, len, -EINVAL,
                            "pci.prt[%zu]: slot %u pin %u; slots are 0-31, pins 1-4", i, q->slot,
                            q->pin);
            for (size_t j = 0; j < i; j++) {
                if (p->prt[j].slot == q->slot && p->prt[j].pin == q->pin)
                    return fail(msg, len, -EINVAL,
                                "pci.prt[%zu] and [%zu] both route slot %u pin %u", j, i, q->slot,
                                q->pin);
            }
            ret = claim_gsi(m, e, q->gsi, "pci INTx", true, msg, len);
            if (ret < 0)
                return ret;
        }
    } else if (swizzle_present(p)) {
        for (unsigned int i = 0; i < PCI_PINS; i++) {
            if (!p->intx_gsi[i])
                return fail(msg, len, -EINVAL,
                            "pci.intx_gsi[%u] is 0; give all four swizzle targets or none", i);
            ret = claim_gsi(m, e, p->intx_gsi[i], "pci INTx", true, msg, len);
            if (ret < 0)
                return ret;
        }
    }
    return 0;
}

static bool isa_irq_ok(unsigned int irq)
{
    return irq >= 1 && irq <= 15 && irq != 2;
}

static int check_oem(const char *s, size_t max, const char *what, char *msg, size_t len)
{
    if (s && strlen(s) > max)
        return fail(msg, len, -EINVAL, "%s \"%s\" is longer than %zu characters", what, s, max);
    return 0;
}

int x86_acpi_check_config(const x86_acpi_config_t *cfg, char *msg, size_t len)
{
    static const char *const uart_names[X86_ACPI_MAX_UARTS] = {"uart 0", "uart 1", "uart 2",
                                                               "uart 3"};
    gsi_map_t m;
    eff_t e;
    int ret;

    if (msg && len)
        msg[0] = '\0';
    if (!cfg)
        return fail(msg, len, -EINVAL, "no config");
    e = effective(cfg);
    memset(&m, 0, sizeof(m));

    if (!cfg->nr_cpus || cfg->nr_cpus > X86_ACPI_MAX_CPUS)
        return fail(msg, len, -EINVAL, "nr_cpus is %u; must be 1..%u", cfg->nr_cpus,
                    X86_ACPI_MAX_CPUS);
    for (unsigned int i = 0; i < cfg->nr_cpus; i++) {
        uint32_t id = apic_id(cfg, i);

        if (id == 0xffffffffu)
            return fail(msg, len, -EINVAL, "vCPU %u has APIC ID 0xffffffff (broadcast)", i);
        /* Linux ignores x2APIC entries with IDs below 255 when there are
         * Local APIC entries (arch/x86/kernel/acpi/boot.c). */
        if (i >= XAPIC_LIMIT && id < XAPIC_LIMIT)
            return fail(msg, len, -EINVAL,
                        "vCPU %u has APIC ID %" PRIu32 ": vCPUs from 255 on need IDs from 255 on "
                        "(their x2APIC entries would be ignored)",
                        i, id);
        for (unsigned int j = 0; j < i; j++) {
            if (apic_id(cfg, j) == id)
                return fail(msg, len, -EINVAL, "vCPUs %u and %u share APIC ID %" PRIu32, j, i, id);
        }
    }
    if (e.ioapic_pins < 16 || e.ioapic_pins > X86_ACPI_IOAPIC_MAX_PINS)
        return fail(msg, len, -EINVAL, "ioapic_pins is %u; must be 16..%u (ISA IRQs are GSIs 0-15)",
                    e.ioapic_pins, X86_ACPI_IOAPIC_MAX_PINS);

    /* GSI 2 is the PIT's (ISA IRQ 0's override). */
    m.owner[2] = "the PIT (ISA IRQ 0)";
    if (!isa_irq_ok(e.sci))
        return fail(msg, len, -EINVAL, "sci_irq is %u; must be an ISA IRQ 1-15 other than 2",
                    e.sci);
    ret = claim_gsi(&m, &e, e.sci, "the SCI", false, msg, len);
    if (ret < 0)
        return ret;

    if (cfg->nr_uarts && !cfg->uarts)
        return fail(msg, len, -EINVAL, "nr_uarts is %zu but uarts is NULL", cfg->nr_uarts);
    if (cfg->nr_uarts > X86_ACPI_MAX_UARTS)
        return fail(msg, len, -EINVAL, "nr_uarts is %zu; at most %u", cfg->nr_uarts,
                    X86_ACPI_MAX_UARTS);
    for (size_t i = 0; i < cfg->nr_uarts; i++) {
        if (!cfg->uarts[i].port)
            return fail(msg, len, -EINVAL, "uart %zu has port 0", i);
        if (!isa_irq_ok(cfg->uarts[i].irq))
            return fail(msg, len, -EINVAL,
                        "uart %zu has IRQ %u; must be an ISA IRQ 1-15 other than 2", i,
                        cfg->uarts[i].irq);
        ret = claim_gsi(&m, &e, cfg->uarts[i].irq, uart_names[i], false, msg, len);
        if (ret < 0)
            return ret;
    }
    if (cfg->rtc) {
        ret = claim_gsi(&m, &e, X86_ACPI_RTC_IRQ, "the RTC", false, msg, len);
        if (ret < 0)
            return ret;
    }
    if (cfg->rtc_century && (!cfg->rtc || cfg->rtc_century < 0x0e || cfg->rtc_century > 0x7f))
        return fail(msg, len, -EINVAL,
                    "rtc_century is 0x%x; needs the RTC and a CMOS RAM index 0x0e-0x7f",
                    cfg->rtc_century);
    if (cfg->i8042) {
        ret = claim_gsi(&m, &e, X86_ACPI_I8042_IRQ, "the i8042", false, msg, len);
        if (ret < 0)
            return ret;
    }

    if (cfg->nr_virtio && !cfg->virtio)
        return fail(msg, len, -EINVAL, "nr_virtio is %zu but virtio is NULL", cfg->nr_virtio);
    if (cfg->nr_virtio > X86_ACPI_MAX_VIRTIO)
        return fail(msg, len, -EINVAL, "nr_virtio is %zu; at most %u", cfg->nr_virtio,
                    X86_ACPI_MAX_VIRTIO);
    for (size_t i = 0; i < cfg->nr_virtio; i++) {
        const x86_acpi_virtio_mmio_t *v = &cfg->virtio[i];

        if (!v->size)
            return fail(msg, len, -EINVAL, "virtio[%zu].size is 0", i);
        if (v->base >= FOUR_GIB || v->size > FOUR_GIB - v->base)
            return fail(msg, len, -EINVAL,
                        "virtio[%zu] [0x%" PRIx64 ", +0x%" PRIx64
                        ") must lie below 4 GiB (Memory32Fixed)",
                        i, v->base, v->size);
    }
    ret = check_pci(cfg, &e, &m, msg, len);
    if (ret < 0)
        return ret;
    /* After PCI, so a virtio GSI that PCI INTx shares is named as such. */
    for (size_t i = 0; i < cfg->nr_virtio; i++) {
        ret = claim_gsi(&m, &e, cfg->virtio[i].gsi, "a virtio-mmio device", false, msg, len);
        if (ret < 0)
            return ret;
    }

    ret = check_overlaps(cfg, &e, io_range_at, 0x10000u, "the I/O port space", msg, len);
    if (ret < 0)
        return ret;
    ret =
        check_overlaps(cfg, &e, mmio_range_at, UINT64_MAX, "the physical address space", msg, len);
    if (ret < 0)
        return ret;
    ret = check_oem(cfg->oem_id, 6, "oem_id", msg, len);
    if (ret < 0)
        return ret;
    return check_oem(cfg->oem_table_id, 8, "oem_table_id", msg, len);
}

/* ---- writing ---------------------------------------------------------- */

static void put8(uint8_t *p, uint8_t v)
{
    p[0] = v;
}

/* System Description Table Header (5.2.6); the checksum is set by finish_table(). */
static void put_header(uint8_t *t, const x86_acpi_config_t *cfg, const char *sig, uint32_t length,
                       uint8_t revision)
{
    memcpy(t, sig, 4);
    put32(t + SDT_LENGTH, length);
    put8(t + SDT_REVISION, revision);
    put8(t + SDT_CHECKSUM, 0);
    put_id(t + SDT_OEM_ID, cfg->oem_id ? cfg->oem_id : DEFAULT_OEM_ID, 6);
    put_id(t + SDT_OEM_TABLE_ID, cfg->oem_table_id ? cfg->oem_table_id : DEFAULT_OEM_TABLE_ID, 8);
    put32(t + SDT_OEM_REVISION, OEM_REVISION);
    memcpy(t + SDT_CREATOR_ID, CREATOR_ID, 4);
    put32(t + SDT_CREATOR_REVISION, CREATOR_REVISION);
}

static void finish_table(uint8_t *t, uint32_t length)
{
    put8(t + SDT_CHECKSUM, 0);
    put8(t + SDT_CHECKSUM, checksum(t, length));
}

/* A Generic Address Structure for system I/O (5.2.3.2). */
static void put_gas_io(uint8_t *p, uint8_t bit_width, uint8_t access, uint16_t port)
{
    put8(p + 0, GAS_SYSTEM_IO);
    put8(p + 1, bit_width);
    put8(p + 2, 0); /* bit offset */
    put8(p + 3, access);
    put64(p + 4, port);
}

/* The blob being written: a buffer standing for [base, base + size). */
typedef struct blob {
    uint8_t *buf;
    uint64_t base;
    size_t size;
    size_t used;
} blob_t;

/* Reserve @len bytes aligned (in guest-physical terms) to @align; NULL if they do not fit. */
static uint8_t *blob_alloc(blob_t *b, size_t len, size_t align, uint64_t *addr)
{
    uint64_t a = (b->base + b->used + align - 1) / align * align;
    size_t off = (size_t)(a - b->base);

    if (off > b->size || len > b->size - off)
        return NULL;
    b->used = off + len;
    *addr = a;
    return b->buf + off;
}

static uint16_t iapc_boot_arch(const x86_acpi_config_t *cfg)
{
    uint16_t f = IAPC_VGA_NOT_PRESENT;

    if (cfg->nr_uarts || cfg->rtc || cfg->i8042)
        f |= IAPC_LEGACY_DEVICES;
    if (cfg->i8042)
        f |= IAPC_8042;
    if (!cfg->rtc)
        f |= IAPC_CMOS_RTC_NOT_PRESENT;
    return f;
}

/* FADT (5.2.9): the fixed hardware, FACS and DSDT. */
static void write_fadt(uint8_t *t, const x86_acpi_config_t *cfg, const eff_t *e, uint64_t facs,
                       uint64_t dsdt)
{
    uint32_t flags =
        FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_SLP_BUTTON | FADT_F_FIX_RTC | FADT_F_RESET_REG_SUP;

    if (cfg->pm_timer_32bit)
        flags |= FADT_F_TMR_VAL_EXT;
    put_header(t, cfg, "FACP", FADT_LEN, FADT_REVISION);
    /* FIRMWARE_CTRL holds the FACS (below 4 GiB); X_FIRMWARE_CTRL must then be 0. */
    put32(t + FADT_FIRMWARE_CTRL, (uint32_t)facs);
    put32(t + FADT_DSDT, (uint32_t)dsdt);
    put8(t + FADT_PREFERRED_PM_PROFILE, 0); /* unspecified */
    put16(t + FADT_SCI_INT, (uint16_t)e->sci);
    put32(t + FADT_SMI_CMD, 0); /* no SMI_CMD: ACPI mode only */
    put32(t + FADT_PM1A_EVT_BLK, e->evt);
    put32(t + FADT_PM1A_CNT_BLK, e->cnt);
    put32(t + FADT_PM_TMR_BLK, e->tmr);
    put8(t + FADT_PM1_EVT_LEN, ACPI_PM_PM1_EVT_LEN);
    put8(t + FADT_PM1_CNT_LEN, ACPI_PM_PM1_CNT_LEN);
    put8(t + FADT_PM_TMR_LEN, ACPI_PM_TMR_LEN);
    put16(t + FADT_P_LVL2_LAT, P_LVL2_UNSUPPORTED);
    put16(t + FADT_P_LVL3_LAT, P_LVL3_UNSUPPORTED);
    put8(t + FADT_CENTURY, cfg->rtc_century);
    put16(t + FADT_IAPC_BOOT_ARCH, iapc_boot_arch(cfg));
    put32(t + FADT_FLAGS, flags);
    put_gas_io(t + FADT_RESET_REG, 8, GAS_ACCESS_BYTE, e->reset);
    put8(t + FADT_RESET_VALUE, ACPI_PM_RESET_VALUE);
    put8(t + FADT_MINOR_VERSION, FADT_MINOR_REVISION);
    put64(t + FADT_X_DSDT, dsdt);
    put_gas_io(t + FADT_X_PM1A_EVT_BLK, ACPI_PM_PM1_EVT_LEN * 8, GAS_ACCESS_WORD, e->evt);
    put_gas_io(t + FADT_X_PM1A_CNT_BLK, ACPI_PM_PM1_CNT_LEN * 8, GAS_ACCESS_WORD, e->cnt);
    put_gas_io(t + FADT_X_PM_TMR_BLK, ACPI_PM_TMR_LEN * 8, GAS_ACCESS_DWORD, e->tmr);
    memcpy(t + FADT_HYPERVISOR_VENDOR, HYPERVISOR_VENDOR, 8);
    finish_table(t, FADT_LEN);
}

/* FACS (5.2.10): no firmware waking vector, no global lock owner. */
static void write_facs(uint8_t *t)
{
    memcpy(t, "FACS", 4);
    put32(t + FACS_LENGTH, FACS_LEN);
    put8(t + FACS_VERSION_OFF, FACS_VERSION);
}

static size_t madt_len(const x86_acpi_config_t *cfg)
{
    size_t n = MADT_ENTRIES + MADT_IOAPIC_LEN + 2 * MADT_ISO_LEN;
    bool any_xapic = false, any_x2apic = false;

    for (unsigned int i = 0; i < cfg->nr_cpus; i++) {
        if (cpu_is_xapic(cfg, i)) {
            n += MADT_LAPIC_LEN;
            any_xapic = true;
        } else {
            n += MADT_X2APIC_LEN;
            any_x2apic = true;
        }
    }
    if (any_xapic)
        n += MADT_LAPIC_NMI_LEN;
    if (any_x2apic)
        n += MADT_X2APIC_NMI_LEN;
    return n;
}

static uint8_t *madt_iso(uint8_t *p, uint8_t irq, uint32_t gsi, uint16_t flags)
{
    put8(p + 0, MADT_TYPE_ISO);
    put8(p + 1, MADT_ISO_LEN);
    put8(p + 2, 0); /* bus: ISA */
    put8(p + 3, irq);
    put32(p + 4, gsi);
    put16(p + 8, flags);
    return p + MADT_ISO_LEN;
}

/* MADT (5.2.12): the CPUs' local APICs, the IOAPIC, the overrides, NMIs. */
static void write_madt(uint8_t *t, size_t len, const x86_acpi_config_t *cfg, const eff_t *e)
{
    uint8_t *p = t + MADT_ENTRIES;
    bool any_xapic = false, any_x2apic = false;

    put_header(t, cfg, "APIC", (uint32_t)len, MADT_REVISION);
    put32(t + MADT_LAPIC_ADDR, e->lapic_addr);
    put32(t + MADT_FLAGS, MADT_PCAT_COMPAT);
    /* 5.2.12.2 Processor Local APIC / 5.2.12.12 Processor Local x2APIC, in
     * vCPU order (vCPU 0, the boot processor, first). */
    for (unsigned int i = 0; i < cfg->nr_cpus; i++) {
        if (cpu_is_xapic(cfg, i)) {
            put8(p + 0, MADT_TYPE_LAPIC);
            put8(p + 1, MADT_LAPIC_LEN);
            put8(p + 2, (uint8_t)i); /* ACPI Processor UID */
            put8(p + 3, (uint8_t)apic_id(cfg, i));
            put32(p + 4, MADT_CPU_ENABLED);
            p += MADT_LAPIC_LEN;
            any_xapic = true;
        } else {
            put8(p + 0, MADT_TYPE_X2APIC);
            put8(p + 1, MADT_X2APIC_LEN);
            put16(p + 2, 0);
            put32(p + 4, apic_id(cfg, i));
            put32(p + 8, MADT_CPU_ENABLED);
            put32(p + 12, i); /* ACPI Processor UID */
            p += MADT_X2APIC_LEN;
            any_x2apic = true;
        }
    }
    /* 5.2.12.3 I/O APIC, GSIs from 0. */
    put8(p + 0, MADT_TYPE_IOAPIC);
    put8(p + 1, MADT_IOAPIC_LEN);
    put8(p + 2, cfg->ioapic_id);
    put8(p + 3, 0);
    put32(p + 4, e->ioapic_addr);
    put32(p + 8, 0);
    p += MADT_IOAPIC_LEN;
    /* 5.2.12.5 Interrupt Source Overrides: the PIT on pin 2 (edge, high);
     * the SCI level, active high (the line is driven high when asserted). */
    p = madt_iso(p, 0, 2, MPS_EDGE | MPS_ACTIVE_HIGH);
    p = madt_iso(p, (uint8_t)e->sci, e->sci, MPS_LEVEL | MPS_ACTIVE_HIGH);
    /* 5.2.12.7 / 5.2.12.13: NMI on LINT1 of every processor. */
    if (any_xapic) {
        put8(p + 0, MADT_TYPE_LAPIC_NMI);
        put8(p + 1, MADT_LAPIC_NMI_LEN);
        put8(p + 2, MADT_ALL_CPUS_UID8);
        put16(p + 3, 0); /* flags: conforming */
        put8(p + 5, LINT1);
        p += MADT_LAPIC_NMI_LEN;
    }
    if (any_x2apic) {
        put8(p + 0, MADT_TYPE_X2APIC_NMI);
        put8(p + 1, MADT_X2APIC_NMI_LEN);
        put16(p + 2, 0);
        put32(p + 4, MADT_ALL_CPUS_UID32);
        put8(p + 8, LINT1);
        p += MADT_X2APIC_NMI_LEN;
    }
    finish_table(t, (uint32_t)len);
}

/* MCFG (PCI Firmware Specification 3.2, 4.1.2): one ECAM allocation. */
static void write_mcfg(uint8_t *t, const x86_acpi_config_t *cfg)
{
    const x86_acpi_pci_t *p = &cfg->pci;
    uint8_t *a = t + MCFG_ALLOC;

    put_header(t, cfg, "MCFG", MCFG_LEN, MCFG_REVISION);
    /* The base address is bus 0's, even when the first bus decoded is not 0. */
    put64(a + MCFG_ALLOC_BASE, p->ecam_base - (uint64_t)p->bus_first * X86_ACPI_ECAM_BUS_SIZE);
    put16(a + MCFG_ALLOC_SEGMENT, 0);
    put8(a + MCFG_ALLOC_BUS_START, p->bus_first);
    put8(a + MCFG_ALLOC_BUS_END, p->bus_last);
    finish_table(t, MCFG_LEN);
}

/* ---- the DSDT (5.2.11.1) ---------------------------------------------- */

/* Scratch space for one resource template; the largest (PCI0's) takes 128 bytes. */
#define RES_SCRATCH 256

/* A NameSeg of @prefix followed by @v in upper-case hex, 4 characters in all. */
static void seg_name(char out[5], const char *prefix, unsigned int v)
{
    size_t n = strlen(prefix);

    memcpy(out, prefix, n);
    for (size_t i = 4; i > n; i--, v >>= 4)
        out[i - 1] = "0123456789ABCDEF"[v & 0xf];
    out[4] = '\0';
}

static void name_integer(aml_buf_t *b, const char *name, uint64_t v)
{
    aml_name(b, name);
    aml_integer(b, v);
}

static void name_eisaid(aml_buf_t *b, const char *name, const char *id)
{
    aml_name(b, name);
    aml_eisaid(b, id);
}

static void name_string(aml_buf_t *b, const char *name, const char *s)
{
    aml_name(b, name);
    aml_string(b, s);
}

/* An ISA device: _HID, _UID, _CRS of I/O ranges and one IRQ. */
static void isa_device(aml_buf_t *b, const char *name, const char *hid, unsigned int uid,
                       const uint16_t *ports, const uint8_t *lens, size_t nports, unsigned int irq)
{
    uint8_t scratch[RES_SCRATCH];
    aml_buf_t r;
    size_t dev;

    dev = aml_device_begin(b, name);
    name_eisaid(b, "_HID", hid);
    name_integer(b, "_UID", uid);
    aml_init(&r, scratch, sizeof(scratch));
    for (size_t i = 0; i < nports; i++)
        aml_res_io(&r, ports[i], ports[i], 1, lens[i]);
    aml_res_irq_noflags(&r, irq);
    aml_name(b, "_CRS");
    aml_resource_template(b, &r);
    aml_end(b, dev);
}

/* One _PRT entry (6.2.13): { address (slot, any function), pin 0-3, source 0 (GSI), GSI }. */
static void prt_entry(aml_buf_t *b, unsigned int slot, unsigned int pin, uint32_t gsi)
{
    size_t pkg = aml_package_begin(b, 4);

    aml_integer(b, (uint64_t)slot << 16 | 0xffff);
    aml_integer(b, pin - 1);
    aml_integer(b, 0);
    aml_integer(b, gsi);
    aml_end(b, pkg);
}

static void write_prt(aml_buf_t *b, const x86_acpi_pci_t *p)
{
    size_t pkg;

    if (p->nr_prt) {
        aml_name(b, "_PRT");
        pkg = aml_package_begin(b, (unsigned int)p->nr_prt);
        for (size_t i = 0; i < p->nr_prt; i++)
            prt_entry(b, p->prt[i].slot, p->prt[i].pin, p->prt[i].gsi);
        aml_end(b, pkg);
    } else if (swizzle_present(p)) {
        aml_name(b, "_PRT");
        pkg = aml_package_begin(b, PCI_SLOTS * PCI_PINS);
        for (unsigned int slot = 0; slot < PCI_SLOTS; slot++) {
            for (unsigned int pin = 1; pin <= PCI_PINS; pin++)
                prt_entry(b, slot, pin, swizzle_gsi(p, slot, pin));
        }
        aml_end(b, pkg);
    }
}

/* \_SB.PCI0: the PCI Express root bridge (6.1.5 _HID, 6.5.5 _BBN, 6.5.6 _SEG). */
static void write_pci0(aml_buf_t *b, const x86_acpi_config_t *cfg)
{
    const x86_acpi_pci_t *p = &cfg->pci;
    uint8_t scratch[RES_SCRATCH];
    aml_buf_t r;
    size_t dev;

    dev = aml_device_begin(b, "PCI0");
    name_eisaid(b, "_HID", "PNP0A08");
    name_eisaid(b, "_CID", "PNP0A03");
    name_integer(b, "_SEG", 0);
    name_integer(b, "_BBN", p->bus_first);
    name_integer(b, "_UID", 0);
    aml_init(&r, scratch, sizeof(scratch));
    aml_res_word_bus_number(&r, p->bus_first, p->bus_last);
    aml_res_io(&r, X86_ACPI_PCI_CONFIG_PORT, X86_ACPI_PCI_CONFIG_PORT, 1, X86_ACPI_PCI_CONFIG_LEN);
    if (p->io_size)
        aml_res_word_io(&r, p->io_base, (uint16_t)(p->io_base + p->io_size - 1));
    if (p->mmio_size)
        aml_res_dword_memory(&r, (uint32_t)p->mmio_base,
                             (uint32_t)(p->mmio_base + p->mmio_size - 1), true, false);
    if (p->mmio64_size)
        aml_res_qword_memory(&r, p->mmio64_base, p->mmio64_base + p->mmio64_size - 1, true, true);
    aml_name(b, "_CRS");
    aml_resource_template(b, &r);
    write_prt(b, p);
    aml_end(b, dev);
}

/* \_SB.MRES: motherboard resources (PNP0C02) reserving the ECAM window. */
static void write_mres(aml_buf_t *b, const x86_acpi_config_t *cfg)
{
    const x86_acpi_pci_t *p = &cfg->pci;
    uint8_t scratch[RES_SCRATCH];
    aml_buf_t r;
    size_t dev;

    dev = aml_device_begin(b, "MRES");
    name_eisaid(b, "_HID", "PNP0C02");
    name_integer(b, "_UID", 0);
    aml_init(&r, scratch, sizeof(scratch));
    if (p->ecam_base < FOUR_GIB && p->ecam_size <= FOUR_GIB - p->ecam_base &&
        p->ecam_size < FOUR_GIB)
        aml_res_memory32_fixed(&r, (uint32_t)p->ecam_base, (uint32_t)p->ecam_size, true);
    else
        aml_res_qword_memory(&r, p->ecam_base, p->ecam_base + p->ecam_size - 1, false, false);
    aml_name(b, "_CRS");
    aml_resource_template(b, &r);
    aml_end(b, dev);
}

/* A virtio-mmio transport: Linux's virtio_mmio binds LNRO0005. */
static void write_virtio(aml_buf_t *b, size_t i, const x86_acpi_virtio_mmio_t *v)
{
    uint8_t scratch[RES_SCRATCH];
    char name[5];
    aml_buf_t r;
    size_t dev;

    seg_name(name, "VR", (unsigned int)i);
    dev = aml_device_begin(b, name);
    name_string(b, "_HID", "LNRO0005");
    name_integer(b, "_UID", i);
    aml_init(&r, scratch, sizeof(scratch));
    aml_res_memory32_fixed(&r, (uint32_t)v->base, (uint32_t)v->size, true);
    aml_res_ext_interrupt(&r, v->gsi, !v->level_triggered, false, false);
    aml_name(b, "_CRS");
    aml_resource_template(b, &r);
    aml_end(b, dev);
}

static void write_dsdt_aml(aml_buf_t *b, const x86_acpi_config_t *cfg)
{
    size_t sb, pkg;

    sb = aml_scope_begin(b, "\\_SB");
    /* Processor devices (8.4 Declaring Processors): _UID = the MADT's UID. */
    for (unsigned int i = 0; i < cfg->nr_cpus; i++) {
        char name[5];
        size_t dev;

        seg_name(name, "C", i);
        dev = aml_device_begin(b, name);
        name_string(b, "_HID", "ACPI0007");
        name_integer(b, "_UID", i);
        aml_end(b, dev);
    }
    if (pci_present(cfg)) {
        write_pci0(b, cfg);
        write_mres(b, cfg);
    }
    for (size_t i = 0; i < cfg->nr_uarts; i++) {
        const uint16_t port = cfg->uarts[i].port;
        const uint8_t len = UART_PORTS;
        char name[5];

        seg_name(name, "COM", (unsigned int)i + 1);
        isa_device(b, name, "PNP0501", (unsigned int)i + 1, &port, &len, 1, cfg->uarts[i].irq);
    }
    if (cfg->rtc) {
        const uint16_t port = X86_ACPI_RTC_PORT;
        const uint8_t len = RTC_PORTS;

        isa_device(b, "RTC0", "PNP0B00", 0, &port, &len, 1, X86_ACPI_RTC_IRQ);
    }
    if (cfg->i8042) {
        static const uint16_t ports[2] = {X86_ACPI_I8042_DATA_PORT, X86_ACPI_I8042_CMD_PORT};
        static const uint8_t lens[2] = {1, 1};

        isa_device(b, "KBD0", "PNP0303", 0, ports, lens, 2, X86_ACPI_I8042_IRQ);
    }
    for (size_t i = 0; i < cfg->nr_virtio; i++)
        write_virtio(b, i, &cfg->virtio[i]);
    aml_end(b, sb);

    /* \_S5 (7.4.2): SLP_TYPa, SLP_TYPb, reserved. */
    aml_name(b, "\\_S5");
    pkg = aml_package_begin(b, 4);
    aml_integer(b, ACPI_PM_SLP_TYP_S5);
    aml_integer(b, ACPI_PM_SLP_TYP_S5);
    aml_integer(b, 0);
    aml_integer(b, 0);
    aml_end(b, pkg);
}

/* ---- the blob --------------------------------------------------------- */

static void write_rsdp(uint8_t *p, const x86_acpi_config_t *cfg, uint64_t xsdt)
{
    memcpy(p, "RSD PTR ", 8);
    put_id(p + RSDP_OEM_ID, cfg->oem_id ? cfg->oem_id : DEFAULT_OEM_ID, 6);
    put8(p + RSDP_REV, RSDP_REVISION);
    put32(p + RSDP_RSDT, 0); /* XSDT only */
    put32(p + RSDP_LENGTH, RSDP_LEN);
    put64(p + RSDP_XSDT, xsdt);
    put8(p + RSDP_CHECKSUM, checksum(p, RSDP_V1_LEN));
    put8(p + RSDP_EXT_CHECKSUM, checksum(p, RSDP_LEN));
}

#define NOSPACE(what)                                                                              \
    fail(msg, len, -ENOSPC, "the %zu-byte buffer has no room for the %s", size, what)

int x86_acpi_build(const x86_acpi_config_t *cfg, void *buf, uint64_t base, size_t size,
                   x86_acpi_tables_t *out, char *msg, size_t len)
{
    x86_acpi_tables_t t = {0};
    blob_t b = {.buf = buf, .base = base, .size = size};
    uint8_t *rsdp, *facs, *xsdt, *fadt, *madt, *mcfg = NULL, *dsdt;
    size_t nr_xsdt, mlen;
    aml_buf_t aml;
    eff_t e;
    int ret;

    ret = x86_acpi_check_config(cfg, msg, len);
    if (ret < 0)
        return ret;
    if (!buf)
        return fail(msg, len, -EINVAL, "no buffer");
    if (base % TABLE_ALIGN || base < X86_ACPI_SCAN_START || base > X86_ACPI_SCAN_END - RSDP_LEN)
        return fail(msg, len, -EINVAL,
                    "base 0x%" PRIx64 " must be 16-byte aligned in [0x%x, 0x%x): the RSDP goes "
                    "there for the BIOS-area scan",
                    base, X86_ACPI_SCAN_START, X86_ACPI_SCAN_END);
    if (size > FOUR_GIB - base)
        return fail(msg, len, -EINVAL, "the blob [0x%" PRIx64 ", +0x%zx) passes 4 GiB", base, size);
    e = effective(cfg);
    nr_xsdt = pci_present(cfg) ? 3 : 2; /* FADT, MADT[, MCFG] */
    memset(buf, 0, size);

    rsdp = blob_alloc(&b, RSDP_LEN, TABLE_ALIGN, &t.rsdp);
    if (!rsdp)
        return NOSPACE("RSDP");
    facs = blob_alloc(&b, FACS_LEN, FACS_ALIGN, &t.facs);
    if (!facs)
        return NOSPACE("FACS");
    xsdt = blob_alloc(&b, SDT_HEADER_LEN + 8 * nr_xsdt, TABLE_ALIGN, &t.xsdt);
    if (!xsdt)
        return NOSPACE("XSDT");
    fadt = blob_alloc(&b, FADT_LEN, TABLE_ALIGN, &t.fadt);
    if (!fadt)
        return NOSPACE("FADT");
    mlen = madt_len(cfg);
    madt = blob_alloc(&b, mlen, TABLE_ALIGN, &t.madt);
    if (!madt)
        return NOSPACE("MADT");
    if (pci_present(cfg)) {
        mcfg = blob_alloc(&b, MCFG_LEN, TABLE_ALIGN, &t.mcfg);
        if (!mcfg)
            return NOSPACE("MCFG");
    }
    /* The DSDT takes what is left, then gives back what its AML did not use. */
    dsdt = blob_alloc(&b, SDT_HEADER_LEN, TABLE_ALIGN, &t.dsdt);
    if (!dsdt)
        return NOSPACE("DSDT");
    aml_init(&aml, dsdt + SDT_HEADER_LEN, size - b.used);
    write_dsdt_aml(&aml, cfg);
    ret = aml_error(&aml);
    if (ret == -ENOSPC)
        return NOSPACE("DSDT's AML");
    if (ret < 0)
        return fail(msg, len, -EIO, "building the DSDT's AML failed (%d): a bug", ret);
    if (aml_len(&aml) > UINT32_MAX - SDT_HEADER_LEN)
        return NOSPACE("DSDT's AML");
    t.dsdt_len = (uint32_t)(SDT_HEADER_LEN + aml_len(&aml));
    b.used += aml_len(&aml);

    put_header(dsdt, cfg, "DSDT", t.dsdt_len, DSDT_REVISION);
    finish_table(dsdt, t.dsdt_len);
    write_facs(facs);
    write_fadt(fadt, cfg, &e, t.facs, t.dsdt);
    write_madt(madt, mlen, cfg, &e);
    if (mcfg)
        write_mcfg(mcfg, cfg);
    put_header(xsdt, cfg, "XSDT", (uint32_t)(SDT_HEADER_LEN + 8 * nr_xsdt), XSDT_REVISION);
    put64(xsdt + SDT_HEADER_LEN, t.fadt);
    put64(xsdt + SDT_HEADER_LEN + 8, t.madt);
    if (mcfg)
        put64(xsdt + SDT_HEADER_LEN + 16, t.mcfg);
    finish_table(xsdt, (uint32_t)(SDT_HEADER_LEN + 8 * nr_xsdt));
    write_rsdp(rsdp, cfg, t.xsdt);

    t.used = b.used;
    if (out)
        *out = t;
    return 0;
}
