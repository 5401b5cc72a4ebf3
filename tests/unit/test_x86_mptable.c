/*
 * test_x86_mptable.c - unit tests for src/arch/x86/mptable.c: the floating
 * pointer, the configuration table header and checksums, and every entry,
 * checked against the layouts of the Intel MultiProcessor Specification 1.4
 * (written out again here).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <vmmkit/x86_mptable.h>

#define BASE X86_MPTABLE_DEFAULT_BASE
#define SIZE X86_MPTABLE_DEFAULT_SIZE

static uint8_t blob[SIZE];
static x86_mptable_info_t info;
static char msg[256];

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;

    for (size_t i = 0; i < n; i++)
        s = (uint8_t)(s + p[i]);
    return s;
}

static x86_mptable_config_t config_pci(void)
{
    x86_mptable_config_t c = {
        .nr_cpus = 4,
        .ioapic_id = 8,
        .pci = true,
        .pci_bus = 0,
        .intx_gsi = {16, 17, 18, 19},
    };
    return c;
}

static void build(const x86_mptable_config_t *c)
{
    int ret = x86_mptable_build(c, blob, BASE, sizeof(blob), &info, msg, sizeof(msg));

    if (ret)
        fail_msg("x86_mptable_build: %d: %s", ret, msg);
}

/* What the configuration table holds, entry by entry. */
typedef struct walk {
    unsigned int entries, cpus, buses, ioapics, iointr, lintr;
    uint8_t cpu_id[256], cpu_flags[256];
    int isa_bus, pci_bus;
    uint8_t isa_pin[16];    /* IOAPIC pin per ISA IRQ, 0xff = none */
    uint8_t pci_pin[32][4]; /* IOAPIC pin per PCI slot and INTx#, 0 = none */
    uint16_t pci_flags;
    uint8_t lint_type[2];
} walk_t;

static void walk(walk_t *w, uint8_t ioapic_id)
{
    const uint8_t *f = blob, *c;
    uint16_t len;
    int last_type = -1;

    memset(w, 0, sizeof(*w));
    memset(w->isa_pin, 0xff, sizeof(w->isa_pin));
    w->isa_bus = w->pci_bus = -1;
    /* MP spec 4.1, Table 4-1: the floating pointer. */
    assert_memory_equal(f, "_MP_", 4);
    assert_int_equal(le32(f + 4), BASE + 16);
    assert_int_equal(f[8], 1); /* length in paragraphs */
    assert_int_equal(f[9], 4); /* spec revision 1.4 */
    assert_int_equal(sum(f, 16), 0);
    assert_int_equal(f[11], 0); /* a configuration table exists */
    assert_int_equal(f[12], 0); /* IMCRP clear: virtual wire mode */
    /* 4.2, Table 4-2: the header. */
    c = blob + 16;
    assert_memory_equal(c, "PCMP", 4);
    len = le16(c + 4);
    assert_int_equal(len, info.mpc_len);
    assert_int_equal(c[6], 4);
    assert_int_equal(sum(c, len), 0);
    assert_memory_equal(c + 8, "VMMKIT  ", 8);
    assert_memory_equal(c + 16, "VMMKIT      ", 12);
    assert_int_equal(le32(c + 28), 0); /* no OEM table */
    assert_int_equal(le32(c + 36), 0xfee00000);
    assert_int_equal(le16(c + 40), 0); /* no extended table */
    for (uint16_t off = 44; off < len;) {
        const uint8_t *e = c + off;

        /* Entries are sorted by type (4.3). */
        assert_true(e[0] >= last_type);
        last_type = e[0];
        w->entries++;
        switch (e[0]) {
        case 0: /* processor, 20 bytes */
            w->cpu_id[w->cpus] = e[1];
            w->cpu_flags[w->cpus++] = e[3];
            assert_int_equal(e[2], 0x14);
            assert_int_equal(le32(e + 4), 0x600);
            assert_int_equal(le32(e + 8), 0x201);
            off += 20;
            continue;
        case 1: /* bus */
            if (!memcmp(e + 2, "ISA   ", 6))
                w->isa_bus = e[1];
            else if (!memcmp(e + 2, "PCI   ", 6))
                w->pci_bus = e[1];
            else
                fail_msg("bus type %.6s", (const char *)e + 2);
            w->buses++;
            break;
        case 2: /* I/O APIC */
            assert_int_equal(e[1], ioapic_id);
            assert_int_equal(e[2], 0x11);
            assert_int_equal(e[3], 1); /* enabled */
            assert_int_equal(le32(e + 4), 0xfec00000);
            w->ioapics++;
            break;
        case 3:                        /* I/O interrupt assignment */
            assert_int_equal(e[1], 0); /* INT */
            assert_int_equal(e[6], ioapic_id);
            if (e[4] == w->isa_bus) {
                assert_true(e[5] < 16);
                assert_int_equal(le16(e + 2), 0); /* conforming: edge high */
                w->isa_pin[e[5]] = e[7];
            } else {
                assert_int_equal(e[4], w->pci_bus);
                w->pci_pin[e[5] >> 2][e[5] & 3] = e[7];
                w->pci_flags |= le16(e + 2);
            }
            w->iointr++;
            break;
        case 4:                           /* local interrupt assignment */
            assert_int_equal(e[6], 0xff); /* every local APIC */
            assert_true(e[7] < 2);
            w->lint_type[e[7]] = e[1];
            w->lintr++;
            break;
        default:
            fail_msg("entry type %u at offset %u", e[0], off);
        }
        off += 8;
    }
    assert_int_equal(le16(c + 34), w->entries);
    assert_int_equal(info.used, 16 + len);
}

static void test_layout_with_pci(void **state)
{
    x86_mptable_config_t c = config_pci();
    static walk_t w;

    (void)state;
    build(&c);
    assert_int_equal(info.mpfp, BASE);
    assert_int_equal(info.mpc, BASE + 16);
    walk(&w, 8);
    assert_int_equal(w.cpus, 4);
    for (unsigned int i = 0; i < 4; i++) {
        assert_int_equal(w.cpu_id[i], i);
        assert_int_equal(w.cpu_flags[i], i == 0 ? 3 : 1); /* EN, and BP on the first */
    }
    assert_int_equal(w.buses, 2);
    assert_int_equal(w.pci_bus, 0);
    assert_int_equal(w.isa_bus, 1);
    assert_int_equal(w.ioapics, 1);
    /* ISA: IRQ 0 on pin 2, IRQ 2 (the cascade) absent, the rest identity. */
    assert_int_equal(w.isa_pin[0], 2);
    assert_int_equal(w.isa_pin[2], 0xff);
    for (unsigned int irq = 1; irq < 16; irq++) {
        if (irq != 2)
            assert_int_equal(w.isa_pin[irq], irq);
    }
    /* PCI: 32 slots x 4 pins, swizzled (slot + pin) % 4 onto 16-19. */
    assert_int_equal(w.iointr, 15 + 128);
    for (unsigned int slot = 0; slot < 32; slot++) {
        for (unsigned int pin = 0; pin < 4; pin++)
            assert_int_equal(w.pci_pin[slot][pin], 16 + (slot + pin) % 4);
    }
    assert_int_equal(w.pci_flags, 0); /* conforming: PCI's level, active low */
    /* ExtINT on LINT0, NMI on LINT1. */
    assert_int_equal(w.lintr, 2);
    assert_int_equal(w.lint_type[0], 3);
    assert_int_equal(w.lint_type[1], 1);
    /* The rest of the buffer is zero. */
    for (size_t i = info.used; i < sizeof(blob); i++)
        assert_int_equal(blob[i], 0);
}

static void test_no_pci(void **state)
{
    static const uint32_t ids[2] = {3, 7};
    x86_mptable_config_t c = {.nr_cpus = 2, .apic_ids = ids};
    static walk_t w;

    (void)state;
    build(&c);
    walk(&w, 0);
    assert_int_equal(w.buses, 1);
    assert_int_equal(w.isa_bus, 0);
    assert_int_equal(w.pci_bus, -1);
    assert_int_equal(w.iointr, 15);
    assert_int_equal(w.cpu_id[0], 3);
    assert_int_equal(w.cpu_id[1], 7);
    assert_int_equal(w.cpu_flags[0], 3);
    assert_int_equal(w.cpu_flags[1], 1);
    assert_int_equal(info.mpc_len, 44 + 2 * 20 + (1 + 1 + 15 + 2) * 8);
}

static void test_pci_table(void **state)
{
    static const x86_acpi_pci_irq_t irqs[2] = {{.slot = 3, .pin = 2, .gsi = 20},
                                               {.slot = 4, .pin = 1, .gsi = 21}};
    x86_mptable_config_t c = config_pci();
    static walk_t w;

    (void)state;
    c.pci_irqs = irqs;
    c.nr_pci_irqs = 2;
    c.pci_bus = 255; /* the ISA bus then takes ID 0, listed first */
    build(&c);
    walk(&w, 8);
    assert_int_equal(w.iointr, 15 + 2);
    assert_int_equal(w.pci_bus, 255);
    assert_int_equal(w.isa_bus, 0);
    assert_int_equal(w.pci_pin[3][1], 20);
    assert_int_equal(w.pci_pin[4][0], 21);
    assert_int_equal(w.pci_pin[0][0], 0);
}

static void test_from_acpi(void **state)
{
    static const uint32_t ids[2] = {0, 1};
    x86_acpi_config_t a = {
        .nr_cpus = 2,
        .apic_ids = ids,
        .ioapic_id = 4,
        .pci = {.ecam_base = 0xb0000000,
                .ecam_size = 1 << 20,
                .mmio_size = 1,
                .intx_gsi = {20, 21, 22, 23}},
    };
    x86_mptable_config_t m;

    (void)state;
    memset(&m, 0xa5, sizeof(m));
    x86_mptable_config_from_acpi(&a, &m);
    assert_int_equal(m.nr_cpus, 2);
    assert_ptr_equal(m.apic_ids, ids);
    assert_int_equal(m.ioapic_id, 4);
    assert_true(m.pci);
    assert_int_equal(m.pci_bus, 0);
    assert_int_equal(m.intx_gsi[3], 23);
    assert_null(m.pci_irqs);
    assert_int_equal(m.cpu_signature, 0);
    assert_null(m.oem_id);
    a.pci.ecam_size = 0;
    x86_mptable_config_from_acpi(&a, &m);
    assert_false(m.pci);
}

static void test_options(void **state)
{
    x86_mptable_config_t c = config_pci();
    const uint8_t *p;

    (void)state;
    c.cpu_signature = 0x806f0;
    c.cpu_features = 0x178bfbff;
    c.lapic_version = 0x15;
    c.oem_id = "ACME";
    c.product_id = "ROADRUNNER";
    build(&c);
    p = blob + 16;
    assert_memory_equal(p + 8, "ACME    ", 8);
    assert_memory_equal(p + 16, "ROADRUNNER  ", 12);
    p += 44;
    assert_int_equal(p[2], 0x15);
    assert_int_equal(le32(p + 4), 0x806f0);
    assert_int_equal(le32(p + 8), 0x178bfbff);
    assert_int_equal(sum(blob + 16, info.mpc_len), 0);
}

static void test_max_cpus_fit(void **state)
{
    x86_mptable_config_t c = config_pci();
    static walk_t w;

    (void)state;
    c.nr_cpus = X86_MPTABLE_MAX_CPUS;
    c.ioapic_id = 0;
    build(&c);
    walk(&w, 0);
    assert_int_equal(w.cpus, 255);
    assert_int_equal(w.cpu_id[254], 254);
    assert_true(info.used <= SIZE);
}

static void test_bad(void **state)
{
    static const uint32_t id255[2] = {0, 255};
    static const uint32_t dup[2] = {1, 1};
    static const x86_acpi_pci_irq_t bad_slot[1] = {{.slot = 32, .pin = 1, .gsi = 16}};
    x86_mptable_config_t c;

    (void)state;
    assert_int_equal(x86_mptable_check_config(NULL, msg, sizeof(msg)), -EINVAL);
    c = config_pci();
    c.nr_cpus = 0;
    assert_int_equal(x86_mptable_check_config(&c, msg, sizeof(msg)), -EINVAL);
    c.nr_cpus = 256;
    assert_int_equal(x86_mptable_check_config(&c, msg, sizeof(msg)), -EINVAL);
    c = config_pci();
    c.nr_cpus = 2;
    c.apic_ids = id255;
    assert_int_equal(x86_mptable_check_config(&c, msg, sizeof(msg)), -EINVAL);
    assert_non_null(strstr(msg, "IDs 0-254"));
    c.apic_ids = dup;
    assert_int_equal(x86_mptable_check_config(&c, msg, sizeof(msg)), -EINVAL);
    c = config_pci();
    c.intx_gsi[1] = 10; /* an ISA pin */
    assert_int_equal(x86_mptable_check_config(&c, msg, sizeof(msg)), -EINVAL);
    assert_non_null(strstr(msg, "intx_gsi[1]"));
    c.intx_gsi[1] = 24; /* past the pins */
    assert_int_equal(x86_mptable_check_config(&c, msg, sizeof(msg)), -EINVAL);
    c = config_pci();
    c.ioapic_pins = 8;
    assert_int_equal(x86_mptable_check_config(&c, msg, sizeof(msg)), -EINVAL);
    c = config_pci();
    c.nr_pci_irqs = 1;
    assert_int_equal(x86_mptable_check_config(&c, msg, sizeof(msg)), -EINVAL);
    c.pci_irqs = bad_slot;
    assert_int_equal(x86_mptable_check_config(&c, msg, sizeof(msg)), -EINVAL);
    assert_non_null(strstr(msg, "slot 32"));
    c = config_pci();
    c.oem_id = "NINECHARS";
    assert_int_equal(x86_mptable_check_config(&c, msg, sizeof(msg)), -EINVAL);
    c = config_pci();
    c.product_id = "THIRTEENCHARS";
    assert_int_equal(x86_mptable_check_config(&c, msg, sizeof(msg)), -EINVAL);
    /* Without PCI, the INTx fields do not matter. */
    c = config_pci();
    c.pci = false;
    c.intx_gsi[0] = 3;
    assert_int_equal(x86_mptable_check_config(&c, msg, sizeof(msg)), 0);

    c = config_pci();
    assert_int_equal(x86_mptable_build(&c, NULL, BASE, SIZE, &info, msg, sizeof(msg)), -EINVAL);
    assert_int_equal(x86_mptable_build(&c, blob, BASE + 4, SIZE, &info, msg, sizeof(msg)), -EINVAL);
    assert_int_equal(x86_mptable_build(&c, blob, 0xe0000, SIZE, &info, msg, sizeof(msg)), -EINVAL);
    assert_int_equal(x86_mptable_build(&c, blob, 0xffff0, SIZE, &info, msg, sizeof(msg)), 0);
    assert_int_equal(x86_mptable_build(&c, blob, 0x100000, SIZE, &info, msg, sizeof(msg)), -EINVAL);
    assert_int_equal(x86_mptable_build(&c, blob, BASE, 200, &info, msg, sizeof(msg)), -ENOSPC);
    assert_non_null(strstr(msg, "needs"));
    assert_int_equal(x86_mptable_build(&c, blob, BASE, SIZE, NULL, NULL, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_with_pci),
        cmocka_unit_test(test_no_pci),
        cmocka_unit_test(test_pci_table),
        cmocka_unit_test(test_from_acpi),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_max_cpus_fit),
        cmocka_unit_test(test_bad),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
