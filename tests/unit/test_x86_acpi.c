/*
 * test_x86_acpi.c - unit tests for src/arch/x86/acpi.c: build the tables,
 * check every header, checksum and field offset against the ACPI 6.4
 * layouts (written out again here, independently of acpi.c), walk the MADT,
 * look for the DSDT's devices, and have iasl (acpica-tools) disassemble and
 * recompile every table without an error or a warning.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <vmmkit/x86_acpi.h>

#define BASE X86_ACPI_DEFAULT_BASE
#define SIZE X86_ACPI_DEFAULT_SIZE

static uint8_t blob[SIZE];
static x86_acpi_tables_t tables;
static char msg[256];

static const x86_acpi_uart_t com12[] = {{0x3f8, 4}, {0x2f8, 3}};
static const x86_acpi_virtio_mmio_t virtio_devs[] = {
    {.base = 0xd0000000, .size = 0x200, .gsi = 5},
    {.base = 0xd0000200, .size = 0x200, .gsi = 6, .level_triggered = true},
};

/* A PC with everything: 4 vCPUs, PCI (swizzle onto GSIs 16-19), COM1/2, RTC, i8042, virtio. */
static x86_acpi_config_t config_full(void)
{
    x86_acpi_config_t c = {
        .nr_cpus = 4,
        .pci =
            {
                .ecam_base = 0xb0000000,
                .ecam_size = 256ull << 20,
                .bus_first = 0,
                .bus_last = 255,
                .io_base = 0x1000,
                .io_size = 0xf000,
                .mmio_base = 0xc0000000,
                .mmio_size = 0x10000000,
                .mmio64_base = 0x100000000ull,
                .mmio64_size = 0x100000000ull,
                .intx_gsi = {16, 17, 18, 19},
            },
        .uarts = com12,
        .nr_uarts = 2,
        .rtc = true,
        .rtc_century = 0x32,
        .i8042 = true,
        .virtio = virtio_devs,
        .nr_virtio = 2,
    };
    return c;
}

/* One vCPU and nothing else. */
static x86_acpi_config_t config_minimal(void)
{
    x86_acpi_config_t c = {.nr_cpus = 1};
    return c;
}

static void build(const x86_acpi_config_t *c)
{
    int ret = x86_acpi_build(c, blob, BASE, sizeof(blob), &tables, msg, sizeof(msg));

    if (ret != 0)
        fail_msg("x86_acpi_build: %d: %s", ret, msg);
}

static const uint8_t *at(uint64_t addr)
{
    assert_true(addr >= BASE && addr < BASE + SIZE);
    return blob + (addr - BASE);
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;

    for (size_t i = 0; i < n; i++)
        s = (uint8_t)(s + p[i]);
    return s;
}

/* A table's header (ACPI 6.4, 5.2.6): signature, length, revision, checksum; returns it. */
static const uint8_t *table(uint64_t addr, const char *sig, uint32_t len, uint8_t rev)
{
    const uint8_t *t = at(addr);

    assert_memory_equal(t, sig, 4);
    if (len)
        assert_int_equal(le32(t + 4), len);
    assert_int_equal(t[8], rev);
    assert_int_equal(sum(t, le32(t + 4)), 0);
    assert_memory_equal(t + 10, "VMMKIT", 6);
    assert_true(addr + le32(t + 4) <= BASE + tables.used);
    return t;
}

/* Does @needle occur in the DSDT's AML? */
static size_t dsdt_count(const void *needle, size_t n)
{
    const uint8_t *d = at(tables.dsdt);
    size_t len = le32(d + 4), count = 0;

    for (size_t i = 36; i + n <= len; i++) {
        if (!memcmp(d + i, needle, n))
            count++;
    }
    return count;
}

#define DSDT_COUNT(...)                                                                            \
    ({                                                                                             \
        static const uint8_t needle_[] = {__VA_ARGS__};                                            \
        dsdt_count(needle_, sizeof(needle_));                                                      \
    })

/* ---- RSDP, XSDT, FACS -------------------------------------------------- */

static void test_rsdp(void **state)
{
    x86_acpi_config_t c = config_full();
    const uint8_t *r;

    (void)state;
    build(&c);
    /* At the blob's base, 16-byte aligned, inside the BIOS area Linux scans. */
    assert_int_equal(tables.rsdp, BASE);
    assert_int_equal(tables.rsdp % 16, 0);
    assert_true(tables.rsdp >= 0xe0000 && tables.rsdp + 36 <= 0x100000);
    r = at(tables.rsdp);
    /* ACPI 6.4, 5.2.5.3, Table 5.3. */
    assert_memory_equal(r, "RSD PTR ", 8);
    assert_int_equal(sum(r, 20), 0); /* checksum: the ACPI 1.0 part */
    assert_memory_equal(r + 9, "VMMKIT", 6);
    assert_int_equal(r[15], 2);         /* revision */
    assert_int_equal(le32(r + 16), 0);  /* no RSDT */
    assert_int_equal(le32(r + 20), 36); /* length */
    assert_int_equal(le64(r + 24), tables.xsdt);
    assert_int_equal(sum(r, 36), 0); /* extended checksum */
}

static void test_xsdt(void **state)
{
    x86_acpi_config_t c = config_full();
    const uint8_t *x;

    (void)state;
    build(&c);
    x = table(tables.xsdt, "XSDT", 36 + 3 * 8, 1);
    assert_int_equal(le64(x + 36), tables.fadt);
    assert_int_equal(le64(x + 44), tables.madt);
    assert_int_equal(le64(x + 52), tables.mcfg);

    c = config_minimal();
    build(&c);
    x = table(tables.xsdt, "XSDT", 36 + 2 * 8, 1);
    assert_int_equal(tables.mcfg, 0);
    assert_int_equal(le64(x + 36), tables.fadt);
    assert_int_equal(le64(x + 44), tables.madt);
}

static void test_facs(void **state)
{
    x86_acpi_config_t c = config_minimal();
    const uint8_t *f;

    (void)state;
    build(&c);
    assert_int_equal(tables.facs % 64, 0); /* 5.2.10: 64-byte aligned */
    f = at(tables.facs);
    assert_memory_equal(f, "FACS", 4);
    assert_int_equal(le32(f + 4), 64);
    assert_int_equal(le32(f + 12), 0); /* no firmware waking vector */
    assert_int_equal(f[32], 2);        /* version */
}

/* ---- FADT (5.2.9, Table 5.9) ------------------------------------------- */

/* A Generic Address Structure: system I/O at @port. */
static void expect_gas_io(const uint8_t *g, uint8_t bits, uint8_t access, uint16_t port)
{
    assert_int_equal(g[0], 1); /* SystemIO */
    assert_int_equal(g[1], bits);
    assert_int_equal(g[2], 0);
    assert_int_equal(g[3], access);
    assert_int_equal(le64(g + 4), port);
}

static void test_fadt(void **state)
{
    x86_acpi_config_t c = config_full();
    const uint8_t *f;
    uint32_t flags;

    (void)state;
    build(&c);
    f = table(tables.fadt, "FACP", 276, 6);
    assert_int_equal(f[131], 4); /* FADT minor version: ACPI 6.4 */
    assert_int_equal(le32(f + 36), tables.facs);
    assert_int_equal(le64(f + 132), 0); /* X_FIRMWARE_CTRL 0 when FIRMWARE_CTRL is set */
    assert_int_equal(le32(f + 40), tables.dsdt);
    assert_int_equal(le64(f + 140), tables.dsdt);
    assert_int_equal(le16(f + 46), 9); /* SCI_INT */
    assert_int_equal(le32(f + 48), 0); /* SMI_CMD: none, ACPI always on */
    assert_int_equal(f[52], 0);        /* ACPI_ENABLE */
    assert_int_equal(f[53], 0);        /* ACPI_DISABLE */
    assert_int_equal(le32(f + 56), 0x600);
    assert_int_equal(le32(f + 60), 0); /* no PM1b */
    assert_int_equal(le32(f + 64), 0x604);
    assert_int_equal(le32(f + 72), 0); /* no PM2 */
    assert_int_equal(le32(f + 76), 0x608);
    assert_int_equal(le32(f + 80), 0); /* no GPE0 */
    assert_int_equal(f[88], 4);        /* PM1_EVT_LEN */
    assert_int_equal(f[89], 2);        /* PM1_CNT_LEN */
    assert_int_equal(f[91], 4);        /* PM_TMR_LEN */
    assert_true(le16(f + 96) > 100);   /* no C2 */
    assert_true(le16(f + 98) > 1000);  /* no C3 */
    assert_int_equal(f[108], 0x32);    /* CENTURY */
    /* IAPC_BOOT_ARCH (Table 5.11): LEGACY_DEVICES, 8042, VGA Not Present. */
    assert_int_equal(le16(f + 109), 0x0007);
    flags = le32(f + 112);
    assert_true(flags & (1u << 10));     /* RESET_REG_SUP */
    assert_false(flags & (1u << 4));     /* PWR_BUTTON clear: fixed-feature button */
    assert_false(flags & (1u << 8));     /* TMR_VAL_EXT: 24-bit timer */
    assert_false(flags & (1u << 20));    /* not HW_REDUCED_ACPI */
    expect_gas_io(f + 116, 8, 1, 0xcf9); /* RESET_REG */
    assert_int_equal(f[128], 0x06);      /* RESET_VALUE */
    expect_gas_io(f + 148, 32, 2, 0x600);
    assert_int_equal(f[160], 0); /* X_PM1b_EVT_BLK */
    expect_gas_io(f + 172, 16, 2, 0x604);
    expect_gas_io(f + 208, 32, 3, 0x608);
    assert_int_equal(f[220], 0); /* X_GPE0_BLK */
    assert_int_equal(f[244], 0); /* no SLEEP_CONTROL_REG */
}

static void test_fadt_options(void **state)
{
    x86_acpi_config_t c = config_minimal();
    const uint8_t *f;

    (void)state;
    c.pm_timer_32bit = true;
    c.pm1a_evt_port = 0xb000;
    c.pm1a_cnt_port = 0xb004;
    c.pm_tmr_port = 0xb008;
    c.sci_irq = 10;
    build(&c);
    f = table(tables.fadt, "FACP", 276, 6);
    assert_true(le32(f + 112) & (1u << 8)); /* TMR_VAL_EXT */
    assert_int_equal(le16(f + 46), 10);
    assert_int_equal(le32(f + 56), 0xb000);
    assert_int_equal(le32(f + 64), 0xb004);
    assert_int_equal(le32(f + 76), 0xb008);
    expect_gas_io(f + 148, 32, 2, 0xb000);
    /* No ISA devices, no RTC: VGA Not Present | CMOS RTC Not Present. */
    assert_int_equal(le16(f + 109), (1u << 2) | (1u << 5));
    assert_int_equal(f[108], 0);
    /* A UART alone makes legacy devices present, still no 8042. */
    c.uarts = com12;
    c.nr_uarts = 1;
    build(&c);
    f = at(tables.fadt);
    assert_int_equal(le16(f + 109), (1u << 0) | (1u << 2) | (1u << 5));
}

/* ---- MADT (5.2.12) ----------------------------------------------------- */

typedef struct madt_walk {
    unsigned int lapic, x2apic, ioapic, iso, lapic_nmi, x2apic_nmi;
    uint32_t apic_id[1100];
    uint32_t uid[1100];
    unsigned int cpus;
} madt_walk_t;

static void walk_madt(madt_walk_t *w)
{
    const uint8_t *m = at(tables.madt);
    uint32_t len = le32(m + 4);

    memset(w, 0, sizeof(*w));
    for (uint32_t off = 44; off < len;) {
        const uint8_t *e = m + off;

        assert_true(e[1] >= 2 && off + e[1] <= len);
        switch (e[0]) {
        case 0: /* Processor Local APIC */
            assert_int_equal(e[1], 8);
            assert_int_equal(le32(e + 4), 1); /* enabled */
            w->uid[w->cpus] = e[2];
            w->apic_id[w->cpus++] = e[3];
            w->lapic++;
            break;
        case 1: /* I/O APIC */
            assert_int_equal(e[1], 12);
            assert_int_equal(le32(e + 4), 0xfec00000);
            assert_int_equal(le32(e + 8), 0); /* GSI base */
            w->ioapic++;
            break;
        case 2: /* Interrupt Source Override */
            assert_int_equal(e[1], 10);
            assert_int_equal(e[2], 0); /* ISA */
            if (e[3] == 0) {
                assert_int_equal(le32(e + 4), 2);
                assert_int_equal(le16(e + 8), 0x0005); /* edge, active high */
            } else {
                assert_int_equal(e[3], 9);
                assert_int_equal(le32(e + 4), 9);
                assert_int_equal(le16(e + 8), 0x000d); /* level, active high */
            }
            w->iso++;
            break;
        case 4: /* Local APIC NMI */
            assert_int_equal(e[1], 6);
            assert_int_equal(e[2], 0xff); /* all processors */
            assert_int_equal(e[5], 1);    /* LINT1 */
            w->lapic_nmi++;
            break;
        case 9: /* Processor Local x2APIC */
            assert_int_equal(e[1], 16);
            assert_int_equal(le32(e + 8), 1);
            w->apic_id[w->cpus] = le32(e + 4);
            w->uid[w->cpus++] = le32(e + 12);
            w->x2apic++;
            break;
        case 10: /* Local x2APIC NMI */
            assert_int_equal(e[1], 12);
            assert_int_equal(le32(e + 4), 0xffffffffu);
            assert_int_equal(e[8], 1);
            w->x2apic_nmi++;
            break;
        default:
            fail_msg("unexpected MADT entry type %u", e[0]);
        }
        off += e[1];
    }
}

static void test_madt(void **state)
{
    static const uint32_t ids[4] = {0, 2, 4, 6};
    x86_acpi_config_t c = config_full();
    const uint8_t *m;
    static madt_walk_t w;

    (void)state;
    c.apic_ids = ids;
    build(&c);
    m = table(tables.madt, "APIC", 44 + 4 * 8 + 12 + 2 * 10 + 6, 5);
    assert_int_equal(le32(m + 36), 0xfee00000); /* local APIC address */
    assert_int_equal(le32(m + 40), 1);          /* PCAT_COMPAT */
    walk_madt(&w);
    assert_int_equal(w.lapic, 4);
    assert_int_equal(w.x2apic, 0);
    assert_int_equal(w.ioapic, 1);
    assert_int_equal(w.iso, 2);
    assert_int_equal(w.lapic_nmi, 1);
    assert_int_equal(w.x2apic_nmi, 0);
    for (unsigned int i = 0; i < 4; i++) {
        assert_int_equal(w.uid[i], i);
        assert_int_equal(w.apic_id[i], ids[i]);
    }
}

static void test_madt_x2apic(void **state)
{
    static uint32_t ids[300];
    x86_acpi_config_t c = config_minimal();
    static madt_walk_t w;

    (void)state;
    c.nr_cpus = 300;
    build(&c);
    table(tables.madt, "APIC", 0, 5);
    walk_madt(&w);
    assert_int_equal(w.lapic, 255);
    assert_int_equal(w.x2apic, 45);
    assert_int_equal(w.lapic_nmi, 1);
    assert_int_equal(w.x2apic_nmi, 1);
    assert_int_equal(w.cpus, 300);
    for (unsigned int i = 0; i < 300; i++) {
        assert_int_equal(w.uid[i], i);
        assert_int_equal(w.apic_id[i], i);
    }

    /* An APIC ID of 255 or more needs an x2APIC entry even for a low vCPU. */
    for (unsigned int i = 0; i < 4; i++)
        ids[i] = i;
    ids[1] = 0x1000;
    c.nr_cpus = 4;
    c.apic_ids = ids;
    build(&c);
    walk_madt(&w);
    assert_int_equal(w.lapic, 3);
    assert_int_equal(w.x2apic, 1);
    assert_int_equal(w.apic_id[1], 0x1000);
    assert_int_equal(w.uid[1], 1);
    assert_int_equal(w.x2apic_nmi, 1);
}

static void test_madt_sci_override(void **state)
{
    x86_acpi_config_t c = config_minimal();
    const uint8_t *m;
    bool found = false;

    (void)state;
    c.sci_irq = 11;
    build(&c);
    m = at(tables.madt);
    for (uint32_t off = 44; off < le32(m + 4); off += m[off + 1]) {
        if (m[off] == 2 && m[off + 3] == 11) {
            assert_int_equal(le32(m + off + 4), 11);
            assert_int_equal(le16(m + off + 8), 0x000d);
            found = true;
        }
    }
    assert_true(found);
}

/* ---- MCFG (PCI Firmware Specification 3.2, 4.1.2) ----------------------- */

static void test_mcfg(void **state)
{
    x86_acpi_config_t c = config_full();
    const uint8_t *m;

    (void)state;
    build(&c);
    m = table(tables.mcfg, "MCFG", 60, 1);
    assert_int_equal(le64(m + 36), 0); /* reserved */
    assert_int_equal(le64(m + 44), 0xb0000000);
    assert_int_equal(le16(m + 52), 0); /* segment */
    assert_int_equal(m[54], 0);
    assert_int_equal(m[55], 255);

    /* Buses 1..16: the base is still bus 0's place. */
    c.pci.bus_first = 1;
    c.pci.bus_last = 16;
    c.pci.ecam_base = 0xb0100000;
    c.pci.ecam_size = 16ull << 20;
    build(&c);
    m = table(tables.mcfg, "MCFG", 60, 1);
    assert_int_equal(le64(m + 44), 0xb0000000);
    assert_int_equal(m[54], 1);
    assert_int_equal(m[55], 16);
}

/* ---- DSDT (5.2.11.1) --------------------------------------------------- */

static void test_dsdt_devices(void **state)
{
    x86_acpi_config_t c = config_full();

    (void)state;
    build(&c);
    table(tables.dsdt, "DSDT", tables.dsdt_len, 2);
    /* Scope (\_SB) */
    assert_int_equal(DSDT_COUNT(0x5c, '_', 'S', 'B', '_'), 1);
    /* Processor devices: one "ACPI0007" per vCPU, C000..C003. */
    assert_int_equal(DSDT_COUNT(0x0d, 'A', 'C', 'P', 'I', '0', '0', '0', '7', 0), 4);
    assert_int_equal(DSDT_COUNT('C', '0', '0', '3'), 1);
    /* PCI0: Name(_HID, EisaId("PNP0A08")), Name(_CID, EisaId("PNP0A03")) */
    assert_int_equal(DSDT_COUNT('P', 'C', 'I', '0'), 1);
    assert_int_equal(DSDT_COUNT(0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x08), 1);
    assert_int_equal(DSDT_COUNT(0x08, '_', 'C', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03), 1);
    assert_int_equal(DSDT_COUNT(0x08, '_', 'S', 'E', 'G', 0x00), 1);
    assert_int_equal(DSDT_COUNT(0x08, '_', 'B', 'B', 'N', 0x00), 1);
    /* _CRS: the bus range, CONFIG_ADDRESS/DATA, the windows. */
    assert_int_equal(
        DSDT_COUNT(0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0, 0, 0, 0, 0xff, 0, 0, 0, 0, 0x01), 1);
    assert_int_equal(DSDT_COUNT(0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08), 1);
    assert_int_equal(DSDT_COUNT(0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0, 0, 0x00, 0x10, 0xff, 0xff),
                     1);
    assert_int_equal(DSDT_COUNT(0x87, 0x17, 0x00, 0x00, 0x0c, 0x01, 0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff,
                                0xff, 0xff, 0xcf),
                     1);
    assert_int_equal(DSDT_COUNT(0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x03), 1);
    /* _PRT: 128 entries; slot 1 INTA# -> the swizzle's second line, GSI 17. */
    assert_int_equal(DSDT_COUNT('_', 'P', 'R', 'T', 0x12), 1);
    assert_int_equal(
        DSDT_COUNT(0x12, 0x0b, 0x04, 0x0c, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00, 0x0a, 0x11), 1);
    /* Slot 31 INTD# -> (31 + 3) % 4 = 2 -> GSI 18. */
    assert_int_equal(
        DSDT_COUNT(0x12, 0x0c, 0x04, 0x0c, 0xff, 0xff, 0x1f, 0x00, 0x0a, 0x03, 0x00, 0x0a, 0x12),
        1);
    /* MRES (PNP0C02) reserving the ECAM: Memory32Fixed(ReadWrite, 0xB0000000, 0x10000000). */
    assert_int_equal(DSDT_COUNT(0x0c, 0x41, 0xd0, 0x0c, 0x02), 1);
    assert_int_equal(DSDT_COUNT(0x86, 0x09, 0x00, 0x01, 0, 0, 0, 0xb0, 0, 0, 0, 0x10), 1);
    /* COM1 and COM2 (PNP0501): IO(Decode16, 0x3F8, 0x3F8, 1, 8) + IRQNoFlags(){4}. */
    assert_int_equal(DSDT_COUNT(0x0c, 0x41, 0xd0, 0x05, 0x01), 2);
    assert_int_equal(DSDT_COUNT(0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08, 0x22, 0x10, 0x00),
                     1);
    assert_int_equal(DSDT_COUNT(0x47, 0x01, 0xf8, 0x02, 0xf8, 0x02, 0x01, 0x08, 0x22, 0x08, 0x00),
                     1);
    /* RTC (PNP0B00) at 0x70, IRQ 8; keyboard (PNP0303) at 0x60/0x64, IRQ 1. */
    assert_int_equal(DSDT_COUNT(0x0c, 0x41, 0xd0, 0x0b, 0x00), 1);
    assert_int_equal(DSDT_COUNT(0x47, 0x01, 0x70, 0x00, 0x70, 0x00, 0x01, 0x02, 0x22, 0x00, 0x01),
                     1);
    assert_int_equal(DSDT_COUNT(0x0c, 0x41, 0xd0, 0x03, 0x03), 1);
    assert_int_equal(DSDT_COUNT(0x47, 0x01, 0x60, 0x00, 0x60, 0x00, 0x01, 0x01, 0x47, 0x01, 0x64,
                                0x00, 0x64, 0x00, 0x01, 0x01, 0x22, 0x02, 0x00),
                     1);
    /* virtio-mmio: LNRO0005, Memory32Fixed + Interrupt (edge for 0, level for 1). */
    assert_int_equal(DSDT_COUNT(0x0d, 'L', 'N', 'R', 'O', '0', '0', '0', '5', 0), 2);
    assert_int_equal(DSDT_COUNT(0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xd0, 0x00, 0x02, 0x00,
                                0x00, 0x89, 0x06, 0x00, 0x03, 0x01, 0x05, 0, 0, 0),
                     1);
    assert_int_equal(DSDT_COUNT(0x86, 0x09, 0x00, 0x01, 0x00, 0x02, 0x00, 0xd0, 0x00, 0x02, 0x00,
                                0x00, 0x89, 0x06, 0x00, 0x01, 0x01, 0x06, 0, 0, 0),
                     1);
    /* Name(\_S5, Package(4) {5, 5, 0, 0}) */
    assert_int_equal(DSDT_COUNT(0x08, 0x5c, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a,
                                ACPI_PM_SLP_TYP_S5, 0x0a, ACPI_PM_SLP_TYP_S5, 0x00, 0x00),
                     1);
}

static void test_dsdt_minimal(void **state)
{
    x86_acpi_config_t c = config_minimal();

    (void)state;
    build(&c);
    table(tables.dsdt, "DSDT", tables.dsdt_len, 2);
    assert_int_equal(DSDT_COUNT('P', 'C', 'I', '0'), 0);
    assert_int_equal(DSDT_COUNT(0x0c, 0x41, 0xd0, 0x05, 0x01), 0); /* no COM */
    assert_int_equal(DSDT_COUNT(0x0c, 0x41, 0xd0, 0x0b, 0x00), 0); /* no RTC */
    assert_int_equal(DSDT_COUNT(0x0c, 0x41, 0xd0, 0x03, 0x03), 0); /* no KBD */
    assert_int_equal(DSDT_COUNT(0x0d, 'A', 'C', 'P', 'I', '0', '0', '0', '7', 0), 1);
    assert_int_equal(DSDT_COUNT(0x08, 0x5c, '_', 'S', '5', '_'), 1);
}

static void test_dsdt_prt_table(void **state)
{
    static const x86_acpi_pci_irq_t prt[2] = {{.slot = 3, .pin = 2, .gsi = 20},
                                              {.slot = 4, .pin = 1, .gsi = 21}};
    x86_acpi_config_t c = config_full();

    (void)state;
    c.pci.prt = prt;
    c.pci.nr_prt = 2;
    build(&c);
    /* Package(2) of Package(4) {0x0003FFFF, 1, 0, 0x14} ... */
    assert_int_equal(DSDT_COUNT('_', 'P', 'R', 'T', 0x12, 0x1a, 0x02), 1);
    assert_int_equal(
        DSDT_COUNT(0x12, 0x0b, 0x04, 0x0c, 0xff, 0xff, 0x03, 0x00, 0x01, 0x00, 0x0a, 0x14), 1);
    assert_int_equal(
        DSDT_COUNT(0x12, 0x0b, 0x04, 0x0c, 0xff, 0xff, 0x04, 0x00, 0x00, 0x00, 0x0a, 0x15), 1);

    /* No table and no swizzle: no _PRT. */
    c.pci.nr_prt = 0;
    c.pci.prt = NULL;
    memset(c.pci.intx_gsi, 0, sizeof(c.pci.intx_gsi));
    build(&c);
    assert_int_equal(DSDT_COUNT('_', 'P', 'R', 'T'), 0);
}

/* An ECAM above 4 GiB is reserved with a QWordMemory consumer. */
static void test_dsdt_high_ecam(void **state)
{
    x86_acpi_config_t c = config_full();

    (void)state;
    c.pci.ecam_base = 0x200000000ull;
    build(&c);
    assert_int_equal(DSDT_COUNT(0x8a, 0x2b, 0x00, 0x00, 0x0d, 0x01), 1);
    assert_int_equal(le64(at(tables.mcfg) + 44), 0x200000000ull);
}

/* ---- layout and limits ------------------------------------------------- */

static void test_layout(void **state)
{
    x86_acpi_config_t c = config_full();
    uint64_t addrs[7];

    (void)state;
    memset(blob, 0xaa, sizeof(blob));
    build(&c);
    addrs[0] = tables.rsdp;
    addrs[1] = tables.facs;
    addrs[2] = tables.xsdt;
    addrs[3] = tables.fadt;
    addrs[4] = tables.madt;
    addrs[5] = tables.mcfg;
    addrs[6] = tables.dsdt;
    for (int i = 0; i < 7; i++) {
        assert_true(addrs[i] >= BASE && addrs[i] < BASE + tables.used);
        assert_int_equal(addrs[i] % 16, 0);
        if (i)
            assert_true(addrs[i] > addrs[i - 1]);
    }
    assert_int_equal(tables.dsdt + tables.dsdt_len, BASE + tables.used);
    /* The rest of the buffer is zeroed. */
    for (size_t i = tables.used; i < sizeof(blob); i++)
        assert_int_equal(blob[i], 0);

    /* Any 16-byte aligned base in the scan area works. */
    assert_int_equal(x86_acpi_build(&c, blob, 0xf0010, 0x10000, &tables, msg, sizeof(msg)), 0);
    assert_int_equal(tables.rsdp, 0xf0010);
    assert_int_equal(tables.facs % 64, 0);
}

/* The largest config accepted fits X86_ACPI_DEFAULT_SIZE. */
static void test_largest_config_fits(void **state)
{
    static x86_acpi_virtio_mmio_t v[64];
    static const x86_acpi_uart_t uarts[4] = {{0x3f8, 4}, {0x2f8, 3}, {0x3e8, 5}, {0x2e8, 7}};
    x86_acpi_config_t c = config_full();

    (void)state;
    for (unsigned int i = 0; i < 64; i++)
        v[i] = (x86_acpi_virtio_mmio_t){
            .base = 0xd0000000 + 0x1000 * i, .size = 0x1000, .gsi = 24 + i};
    c.nr_cpus = X86_ACPI_MAX_CPUS;
    c.ioapic_pins = 120;
    c.virtio = v;
    c.nr_virtio = 64;
    c.uarts = uarts;
    c.nr_uarts = 4;
    build(&c);
    assert_true(tables.used <= X86_ACPI_DEFAULT_SIZE);
    table(tables.dsdt, "DSDT", tables.dsdt_len, 2);
    table(tables.madt, "APIC", 0, 5);
    assert_int_equal(DSDT_COUNT(0x0d, 'A', 'C', 'P', 'I', '0', '0', '0', '7', 0),
                     X86_ACPI_MAX_CPUS);
    assert_int_equal(DSDT_COUNT('C', '3', 'F', 'F'), 1);
    assert_int_equal(DSDT_COUNT('V', 'R', '3', 'F'), 1);
}

static void test_build_errors(void **state)
{
    x86_acpi_config_t c = config_full();

    (void)state;
    assert_int_equal(x86_acpi_build(NULL, blob, BASE, SIZE, &tables, msg, sizeof(msg)), -EINVAL);
    assert_int_equal(x86_acpi_build(&c, NULL, BASE, SIZE, &tables, msg, sizeof(msg)), -EINVAL);
    assert_int_equal(x86_acpi_build(&c, blob, BASE + 8, SIZE, &tables, msg, sizeof(msg)), -EINVAL);
    assert_non_null(strstr(msg, "16-byte aligned"));
    assert_int_equal(x86_acpi_build(&c, blob, 0xd0000, SIZE, &tables, msg, sizeof(msg)), -EINVAL);
    assert_int_equal(x86_acpi_build(&c, blob, 0x100000, SIZE, &tables, msg, sizeof(msg)), -EINVAL);
    assert_int_equal(x86_acpi_build(&c, blob, 0xffff0, 16, &tables, msg, sizeof(msg)), -EINVAL);
    for (size_t size = 0; size < 1500; size += 37) {
        assert_int_equal(x86_acpi_build(&c, blob, BASE, size, &tables, msg, sizeof(msg)), -ENOSPC);
        assert_non_null(strstr(msg, "no room"));
    }
    /* Without @out or @msg. */
    assert_int_equal(x86_acpi_build(&c, blob, BASE, SIZE, NULL, NULL, 0), 0);
}

typedef void (*mutate_fn)(x86_acpi_config_t *c);

#define BAD(name, body)                                                                            \
    static void name(x86_acpi_config_t *c)                                                         \
    {                                                                                              \
        body;                                                                                      \
    }

static const uint32_t dup_ids[4] = {0, 1, 1, 3};
static const uint32_t broadcast_ids[4] = {0, 1, 0xffffffffu, 3};
static uint32_t low_ids_many[300];
static const x86_acpi_uart_t uart_same_port[2] = {{0x3f8, 4}, {0x3f8, 3}};
static const x86_acpi_uart_t uart_irq2[1] = {{0x3f8, 2}};
static const x86_acpi_uart_t uart_irq9[1] = {{0x3f8, 9}};
static const x86_acpi_uart_t uart_port0[1] = {{0, 4}};
static const x86_acpi_uart_t uart_at_pm[1] = {{0x600, 4}};
static const x86_acpi_uart_t uart_in_pci_io[1] = {{0x1000, 4}};
static const x86_acpi_uart_t uart_top[1] = {{0xfffc, 4}};
static const x86_acpi_virtio_mmio_t v_gsi4[1] = {{.base = 0xd0000000, .size = 0x200, .gsi = 4}};
static const x86_acpi_virtio_mmio_t v_gsi2[1] = {{.base = 0xd0000000, .size = 0x200, .gsi = 2}};
static const x86_acpi_virtio_mmio_t v_gsi24[1] = {{.base = 0xd0000000, .size = 0x200, .gsi = 24}};
static const x86_acpi_virtio_mmio_t v_gsi16[1] = {{.base = 0xd0000000, .size = 0x200, .gsi = 16}};
static const x86_acpi_virtio_mmio_t v_high[1] = {{.base = 0xfffff000, .size = 0x2000, .gsi = 5}};
static const x86_acpi_virtio_mmio_t v_in_ecam[1] = {{.base = 0xb0000000, .size = 0x200, .gsi = 5}};
static const x86_acpi_virtio_mmio_t v_on_ioapic[1] = {
    {.base = 0xfec00000, .size = 0x200, .gsi = 5}};
static const x86_acpi_virtio_mmio_t v_size0[1] = {{.base = 0xd0000000, .size = 0, .gsi = 5}};
static const x86_acpi_virtio_mmio_t v_same_gsi[2] = {{.base = 0xd0000000, .size = 0x200, .gsi = 5},
                                                     {.base = 0xd0000200, .size = 0x200, .gsi = 5}};
static const x86_acpi_pci_irq_t prt_slot32[1] = {{.slot = 32, .pin = 1, .gsi = 16}};
static const x86_acpi_pci_irq_t prt_pin0[1] = {{.slot = 1, .pin = 0, .gsi = 16}};
static const x86_acpi_pci_irq_t prt_pin5[1] = {{.slot = 1, .pin = 5, .gsi = 16}};
static const x86_acpi_pci_irq_t prt_dup[2] = {{.slot = 1, .pin = 1, .gsi = 16},
                                              {.slot = 1, .pin = 1, .gsi = 17}};
static const x86_acpi_pci_irq_t prt_gsi_rtc[1] = {{.slot = 1, .pin = 1, .gsi = 8}};

BAD(bad_no_cpus, c->nr_cpus = 0)
BAD(bad_too_many_cpus, c->nr_cpus = X86_ACPI_MAX_CPUS + 1)
BAD(bad_dup_apic_ids, c->apic_ids = dup_ids)
BAD(bad_broadcast_apic_id, c->apic_ids = broadcast_ids)
BAD(bad_low_ids_high_cpus, {
    for (unsigned int i = 0; i < 300; i++)
        low_ids_many[i] = i;
    low_ids_many[260] = 254; /* vCPU 260 would get an x2APIC entry with ID 254 */
    low_ids_many[254] = 5000;
    c->nr_cpus = 300;
    c->apic_ids = low_ids_many;
})
BAD(bad_few_pins, c->ioapic_pins = 8)
BAD(bad_many_pins, c->ioapic_pins = 241)
BAD(bad_sci_2, c->sci_irq = 2)
BAD(bad_sci_16, c->sci_irq = 16)
BAD(bad_sci_on_uart, c->sci_irq = 4)
BAD(bad_uarts_null, c->uarts = NULL)
BAD(bad_uarts_5, c->nr_uarts = 5)
BAD(bad_uart_same_port, c->uarts = uart_same_port)
BAD(bad_uart_irq2, {
    c->uarts = uart_irq2;
    c->nr_uarts = 1;
})
BAD(bad_uart_irq_sci, {
    c->uarts = uart_irq9;
    c->nr_uarts = 1;
})
BAD(bad_uart_port0, {
    c->uarts = uart_port0;
    c->nr_uarts = 1;
})
BAD(bad_uart_on_pm, {
    c->uarts = uart_at_pm;
    c->nr_uarts = 1;
})
BAD(bad_uart_in_pci_io, {
    c->uarts = uart_in_pci_io;
    c->nr_uarts = 1;
})
BAD(bad_uart_past_ffff, {
    c->uarts = uart_top;
    c->nr_uarts = 1;
    c->pci.io_size = 0x1000;
})
BAD(bad_century_no_rtc, c->rtc = false)
BAD(bad_century_index, c->rtc_century = 0x05)
BAD(bad_virtio_null, c->virtio = NULL)
BAD(bad_virtio_too_many, c->nr_virtio = X86_ACPI_MAX_VIRTIO + 1)
#define ONE_VIRTIO(v)                                                                              \
    {                                                                                              \
        c->virtio = v;                                                                             \
        c->nr_virtio = 1;                                                                          \
    }
BAD(bad_virtio_gsi_uart, ONE_VIRTIO(v_gsi4))
BAD(bad_virtio_gsi_pit, ONE_VIRTIO(v_gsi2))
BAD(bad_virtio_gsi_past_pins, ONE_VIRTIO(v_gsi24))
BAD(bad_virtio_gsi_pci, ONE_VIRTIO(v_gsi16))
BAD(bad_virtio_high, ONE_VIRTIO(v_high))
BAD(bad_virtio_in_ecam, ONE_VIRTIO(v_in_ecam))
BAD(bad_virtio_on_ioapic, ONE_VIRTIO(v_on_ioapic))
BAD(bad_virtio_size0, ONE_VIRTIO(v_size0))
BAD(bad_virtio_same_gsi, c->virtio = v_same_gsi)
BAD(bad_pci_buses, {
    c->pci.bus_first = 5;
    c->pci.bus_last = 4;
})
BAD(bad_ecam_size, c->pci.ecam_size = 255ull << 20)
BAD(bad_ecam_align, c->pci.ecam_base = 0xb0080000)
BAD(bad_ecam_below_bus0, {
    c->pci.bus_first = 200;
    c->pci.bus_last = 255;
    c->pci.ecam_base = 0x100000;
    c->pci.ecam_size = 56ull << 20;
})
BAD(bad_io_past_ffff, c->pci.io_size = 0xf001)
BAD(bad_io_on_cf8, {
    c->pci.io_base = 0xc00;
    c->pci.io_size = 0x400;
})
BAD(bad_no_windows, {
    c->pci.mmio_size = 0;
    c->pci.mmio64_size = 0;
})
BAD(bad_mmio_high, c->pci.mmio_base = 0xf8000000)
BAD(bad_mmio_on_lapic, {
    c->pci.mmio_base = 0xfee00000;
    c->pci.mmio_size = 0x100000;
})
BAD(bad_mmio64_on_ecam, {
    c->pci.mmio64_base = 0xb0000000;
    c->pci.mmio64_size = 0x1000;
})
BAD(bad_mmio64_wraps, {
    c->pci.mmio64_base = 0xfffffffffffff000ull;
    c->pci.mmio64_size = 0x2000;
})
BAD(bad_prt_null, c->pci.nr_prt = 2)
BAD(bad_prt_many, {
    c->pci.prt = prt_slot32;
    c->pci.nr_prt = 129;
})
BAD(bad_prt_slot, {
    c->pci.prt = prt_slot32;
    c->pci.nr_prt = 1;
})
BAD(bad_prt_pin0, {
    c->pci.prt = prt_pin0;
    c->pci.nr_prt = 1;
})
BAD(bad_prt_pin5, {
    c->pci.prt = prt_pin5;
    c->pci.nr_prt = 1;
})
BAD(bad_prt_dup, {
    c->pci.prt = prt_dup;
    c->pci.nr_prt = 2;
})
BAD(bad_prt_gsi_rtc, {
    c->pci.prt = prt_gsi_rtc;
    c->pci.nr_prt = 1;
})
BAD(bad_swizzle_partial, c->pci.intx_gsi[2] = 0)
BAD(bad_swizzle_gsi0, {
    c->pci.intx_gsi[0] = 0;
    c->pci.intx_gsi[1] = 0;
    c->pci.intx_gsi[2] = 0;
    c->pci.intx_gsi[3] = 2;
})
BAD(bad_swizzle_gsi_sci, c->pci.intx_gsi[1] = 9)
BAD(bad_pm_overlap, c->pm1a_cnt_port = 0x602)
BAD(bad_pm_tmr_past_ffff, c->pm_tmr_port = 0xfffe)
BAD(bad_reset_on_uart, c->reset_port = 0x3f9)
BAD(bad_oem_id, c->oem_id = "TOOLONG")
BAD(bad_oem_table_id, c->oem_table_id = "MUCHTOOLONG")

static void test_bad_configs(void **state)
{
    static const struct {
        mutate_fn fn;
        const char *needle; /* in the message */
    } cases[] = {
        {bad_no_cpus, "nr_cpus"},
        {bad_too_many_cpus, "nr_cpus"},
        {bad_dup_apic_ids, "share APIC ID 1"},
        {bad_broadcast_apic_id, "broadcast"},
        {bad_low_ids_high_cpus, "vCPU 260"},
        {bad_few_pins, "ioapic_pins"},
        {bad_many_pins, "ioapic_pins"},
        {bad_sci_2, "sci_irq"},
        {bad_sci_16, "sci_irq"},
        {bad_sci_on_uart, "already the SCI's"},
        {bad_uarts_null, "uarts is NULL"},
        {bad_uarts_5, "nr_uarts"},
        {bad_uart_same_port, "overlaps uart[0]"},
        {bad_uart_irq2, "IRQ 2"},
        {bad_uart_irq_sci, "already the SCI's"},
        {bad_uart_port0, "port 0"},
        {bad_uart_on_pm, "pm1a_evt"},
        {bad_uart_in_pci_io, "pci.io"},
        {bad_uart_past_ffff, "passes the end"},
        {bad_century_no_rtc, "rtc_century"},
        {bad_century_index, "rtc_century"},
        {bad_virtio_null, "virtio is NULL"},
        {bad_virtio_too_many, "nr_virtio"},
        {bad_virtio_gsi_uart, "already uart 0's"},
        {bad_virtio_gsi_pit, "the PIT"},
        {bad_virtio_gsi_past_pins, "GSIs 0-23"},
        {bad_virtio_gsi_pci, "PCI INTx"},
        {bad_virtio_high, "below 4 GiB"},
        {bad_virtio_in_ecam, "pci.ecam[0]"},
        {bad_virtio_on_ioapic, "ioapic"},
        {bad_virtio_size0, "size is 0"},
        {bad_virtio_same_gsi, "GSI 5"},
        {bad_pci_buses, "bus range"},
        {bad_ecam_size, "ecam_size"},
        {bad_ecam_align, "aligned"},
        {bad_ecam_below_bus0, "bus 0"},
        {bad_io_past_ffff, "I/O window"},
        {bad_io_on_cf8, "pci.io[0]"},
        {bad_no_windows, "no memory window"},
        {bad_mmio_high, "below 4 GiB"},
        {bad_mmio_on_lapic, "lapic"},
        {bad_mmio64_on_ecam, "pci.ecam"},
        {bad_mmio64_wraps, "passes the end"},
        {bad_prt_null, "prt is NULL"},
        {bad_prt_many, "nr_prt"},
        {bad_prt_slot, "slot 32"},
        {bad_prt_pin0, "pin 0"},
        {bad_prt_pin5, "pin 5"},
        {bad_prt_dup, "both route"},
        {bad_prt_gsi_rtc, "the RTC"},
        {bad_swizzle_partial, "intx_gsi[2]"},
        {bad_swizzle_gsi0, "intx_gsi[0]"},
        {bad_swizzle_gsi_sci, "the SCI"},
        {bad_pm_overlap, "overlaps pm1a_evt"},
        {bad_pm_tmr_past_ffff, "pm_tmr"},
        {bad_reset_on_uart, "reset"},
        {bad_oem_id, "oem_id"},
        {bad_oem_table_id, "oem_table_id"},
    };

    (void)state;
    assert_int_equal(x86_acpi_check_config(NULL, msg, sizeof(msg)), -EINVAL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        x86_acpi_config_t c = config_full();
        int ret;

        cases[i].fn(&c);
        msg[0] = '\0';
        ret = x86_acpi_check_config(&c, msg, sizeof(msg));
        if (ret != -EINVAL || !strstr(msg, cases[i].needle))
            fail_msg("case %zu: expected -EINVAL with \"%s\", got %d \"%s\"", i, cases[i].needle,
                     ret, msg);
        assert_int_equal(x86_acpi_build(&c, blob, BASE, SIZE, &tables, msg, sizeof(msg)), -EINVAL);
        /* A truncated message is still a string. */
        assert_int_equal(x86_acpi_check_config(&c, msg, 8), -EINVAL);
        assert_true(strlen(msg) < 8);
        assert_int_equal(x86_acpi_check_config(&c, NULL, 0), -EINVAL);
    }
}

static void test_good_variants(void **state)
{
    x86_acpi_config_t c;

    (void)state;
    /* The reset register inside CONFIG_ADDRESS's 0xcf8-0xcff is the PC's layout. */
    c = config_full();
    assert_int_equal(x86_acpi_check_config(&c, msg, sizeof(msg)), 0);
    /* PCI INTx GSIs are shared between slots (the swizzle) and may repeat. */
    c.pci.intx_gsi[0] = c.pci.intx_gsi[1] = c.pci.intx_gsi[2] = c.pci.intx_gsi[3] = 16;
    assert_int_equal(x86_acpi_check_config(&c, msg, sizeof(msg)), 0);
    /* A 64-bit window alone is enough; no I/O window. */
    c = config_full();
    c.pci.mmio_size = 0;
    c.pci.io_size = 0;
    assert_int_equal(x86_acpi_check_config(&c, msg, sizeof(msg)), 0);
    build(&c);
    assert_int_equal(DSDT_COUNT(0x87, 0x17), 0); /* no DWordMemory */
}

/* ---- iasl -------------------------------------------------------------- */

static bool have_iasl(void)
{
    return system("command -v iasl >/dev/null 2>&1") == 0;
}

static char tmpdir[64];

static void write_file(const char *name, const void *data, size_t len)
{
    char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static size_t read_file(const char *name, void *data, size_t max)
{
    char path[128];
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "rb");
    if (!f)
        fail_msg("%s was not written", path);
    n = fread(data, 1, max, f);
    fclose(f);
    return n;
}

static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; *hay; hay++) {
        if (!strncasecmp(hay, needle, n))
            return true;
    }
    return false;
}

/*
 * Run iasl with @args in the temp dir; fail on a non-zero status or any
 * line that mentions an error or a warning, other than the compiler's own
 * "0 Errors, 0 Warnings" summary.
 */
static void iasl(const char *what, const char *args)
{
    static char out[65536];
    char cmd[512], *line, *save = NULL;
    size_t n;
    int status;

    snprintf(cmd, sizeof(cmd), "cd %s && iasl %s >iasl.out 2>&1", tmpdir, args);
    status = system(cmd);
    n = read_file("iasl.out", out, sizeof(out) - 1);
    out[n] = '\0';
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("%s: iasl %s: status %d:\n%s", what, args, status, out);
    for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strstr(line, "Compilation successful") || strstr(line, "Compilation complete")) {
            if (!strstr(line, " 0 Errors, 0 Warnings"))
                fail_msg("%s: iasl %s: %s", what, args, line);
            continue;
        }
        if (contains_ci(line, "error") || contains_ci(line, "warning"))
            fail_msg("%s: iasl %s: %s", what, args, line);
    }
}

/*
 * Disassemble a data table, recompile the disassembly, and compare: the
 * bytes must match but for the checksum and the creator fields iasl puts
 * its own name in (header offsets 9 and 28-35).
 */
static void iasl_data_table(const char *what, const char *name, uint64_t addr)
{
    static uint8_t again[SIZE];
    const uint8_t *t = at(addr);
    uint32_t len = le32(t + 4);
    char file[32], args[128];
    size_t n;

    snprintf(file, sizeof(file), "%s.dat", name);
    write_file(file, t, len);
    snprintf(args, sizeof(args), "-d %s", file);
    iasl(what, args);
    snprintf(args, sizeof(args), "-p re_%s %s.dsl", name, name);
    iasl(what, args);
    snprintf(file, sizeof(file), "re_%s.aml", name);
    n = read_file(file, again, sizeof(again));
    assert_int_equal(n, len);
    for (uint32_t i = 0; i < len; i++) {
        if (i == 9 || (i >= 28 && i < 36))
            continue;
        if (again[i] != t[i])
            fail_msg("%s: %s byte %u is 0x%02x; iasl's recompilation has 0x%02x", what, name, i,
                     t[i], again[i]);
    }
}

/* The DSDT: disassemble, then the disassembly must compile again. */
static void iasl_dsdt(const char *what)
{
    const uint8_t *t = at(tables.dsdt);

    write_file("dsdt.dat", t, le32(t + 4));
    iasl(what, "-d dsdt.dat");
    iasl(what, "-p re_dsdt dsdt.dsl");
}

/*
 * iasl cannot disassemble an RSDP ("Loading an RSDP is not supported"), but
 * its data table compiler can build one: give it our field values and it
 * must produce our 36 bytes, both checksums included.
 */
static void iasl_rsdp(const char *what)
{
    const uint8_t *r = at(tables.rsdp);
    uint8_t again[64];
    char src[1024];

    snprintf(src, sizeof(src),
             "[0008] Signature : \"RSD PTR \"\n"
             "[0001] Checksum : 00\n"
             "[0006] Oem ID : \"%.6s\"\n"
             "[0001] Revision : %02X\n"
             "[0004] RSDT Address : %08X\n"
             "[0004] Length : %08X\n"
             "[0008] XSDT Address : %016llX\n"
             "[0001] Extended Checksum : 00\n"
             "[0003] Reserved : 000000\n",
             (const char *)r + 9, r[15], le32(r + 16), le32(r + 20),
             (unsigned long long)le64(r + 24));
    write_file("rsdp.asl", src, strlen(src));
    iasl(what, "rsdp.asl");
    assert_int_equal(read_file("rsdp.aml", again, sizeof(again)), 36);
    assert_memory_equal(again, r, 36);
}

static void iasl_all(const char *what, const x86_acpi_config_t *c)
{
    char cmd[128];

    build(c);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/vmmkit-test-acpi-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    iasl_rsdp(what);
    iasl_data_table(what, "xsdt", tables.xsdt);
    iasl_data_table(what, "facp", tables.fadt);
    iasl_data_table(what, "facs", tables.facs);
    iasl_data_table(what, "apic", tables.madt);
    if (tables.mcfg)
        iasl_data_table(what, "mcfg", tables.mcfg);
    iasl_dsdt(what);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    assert_int_equal(system(cmd), 0);
}

static void test_iasl_clean(void **state)
{
    static const x86_acpi_pci_irq_t prt[3] = {{.slot = 1, .pin = 1, .gsi = 16},
                                              {.slot = 2, .pin = 1, .gsi = 17},
                                              {.slot = 2, .pin = 2, .gsi = 18}};
    x86_acpi_config_t c;

    (void)state;
    if (!have_iasl()) {
        printf("SKIPPED: iasl not installed (apt-get install acpica-tools)\n");
        fprintf(stderr, "SKIPPED: iasl not installed (apt-get install acpica-tools)\n");
        skip();
    }
    c = config_full();
    iasl_all("full PC", &c);
    c = config_minimal();
    iasl_all("minimal", &c);
    c = config_minimal();
    c.nr_cpus = 300;
    c.pm_timer_32bit = true;
    iasl_all("300 vCPUs, x2APIC", &c);
    c = config_full();
    c.pci.prt = prt;
    c.pci.nr_prt = 3;
    c.pci.ecam_base = 0x200000000ull;
    c.pci.bus_first = 0;
    c.pci.bus_last = 15;
    c.pci.ecam_size = 16ull << 20;
    c.pci.mmio64_size = 0;
    iasl_all("PRT table, ECAM above 4 GiB", &c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rsdp),
        cmocka_unit_test(test_xsdt),
        cmocka_unit_test(test_facs),
        cmocka_unit_test(test_fadt),
        cmocka_unit_test(test_fadt_options),
        cmocka_unit_test(test_madt),
        cmocka_unit_test(test_madt_x2apic),
        cmocka_unit_test(test_madt_sci_override),
        cmocka_unit_test(test_mcfg),
        cmocka_unit_test(test_dsdt_devices),
        cmocka_unit_test(test_dsdt_minimal),
        cmocka_unit_test(test_dsdt_prt_table),
        cmocka_unit_test(test_dsdt_high_ecam),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_largest_config_fits),
        cmocka_unit_test(test_build_errors),
        cmocka_unit_test(test_bad_configs),
        cmocka_unit_test(test_good_variants),
        cmocka_unit_test(test_iasl_clean),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
