/*
 * test_x86_e820.c - unit tests for src/arch/x86/e820.c (building a sorted,
 * non-overlapping E820 map and checking ranges against it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <vmmkit/x86_boot.h>

#define MiB (1ull << 20)
#define GiB (1ull << 30)

#define RAM X86_E820_RAM
#define RSV X86_E820_RESERVED
#define ACPI X86_E820_ACPI
#define NVS X86_E820_NVS

static void expect_entry(const x86_e820_entry_t *e, uint64_t addr, uint64_t size, uint32_t type)
{
    if (e->addr != addr || e->size != size || e->type != type)
        fail_msg("entry 0x%llx+0x%llx type %u, want 0x%llx+0x%llx type %u",
                 (unsigned long long)e->addr, (unsigned long long)e->size, e->type,
                 (unsigned long long)addr, (unsigned long long)size, type);
}

/* The map the x86 pc board builds: RAM split around the BIOS area, the ECAM
 * window in the hole, high RAM. */
static void test_pc_map(void **state)
{
    const x86_e820_entry_t in[] = {
        {0, 3 * GiB, RAM},
        {4 * GiB, 2 * GiB, RAM},
        {X86_BOOT_EBDA_ADDR, X86_BOOT_BIOS_END - X86_BOOT_EBDA_ADDR, RSV},
        {0xc0000000, MiB, RSV},
    };
    x86_e820_entry_t out[X86_E820_MAX_ENTRIES];

    (void)state;
    assert_int_equal(x86_e820_build(in, 4, out, X86_E820_MAX_ENTRIES), 5);
    expect_entry(&out[0], 0, 0x9fc00, RAM);
    expect_entry(&out[1], 0x9fc00, 0x60400, RSV);
    expect_entry(&out[2], 0x100000, 3 * GiB - 0x100000, RAM);
    expect_entry(&out[3], 0xc0000000, MiB, RSV);
    expect_entry(&out[4], 4 * GiB, 2 * GiB, RAM);
    /* Counting only. */
    assert_int_equal(x86_e820_build(in, 4, NULL, 0), 5);
    /* Exactly enough room, one short. */
    assert_int_equal(x86_e820_build(in, 4, out, 5), 5);
    assert_int_equal(x86_e820_build(in, 4, out, 4), -X86_BOOT_E_E820_TOO_MANY);
}

static void test_sorting_and_merging(void **state)
{
    /* Out of order, adjacent RAM pieces, overlapping RAM. */
    const x86_e820_entry_t in[] = {
        {2 * GiB, GiB, RAM},       {0, MiB, RAM}, {MiB, MiB, RAM}, {512 * MiB, 2 * GiB, RAM},
        {3 * GiB + MiB, MiB, RAM}, /* after a hole */
    };
    x86_e820_entry_t out[8];

    (void)state;
    assert_int_equal(x86_e820_build(in, 5, out, 8), 3);
    expect_entry(&out[0], 0, 2 * MiB, RAM);
    expect_entry(&out[1], 512 * MiB, 3 * GiB - 512 * MiB, RAM);
    expect_entry(&out[2], 3 * GiB + MiB, MiB, RAM);
}

static void test_reserved_splits_ram(void **state)
{
    const x86_e820_entry_t in[] = {
        {0, GiB, RAM},
        {100 * MiB, MiB, RSV},
        {101 * MiB, MiB, RSV},     /* adjacent: merged */
        {GiB - MiB, 2 * MiB, RSV}, /* straddles RAM's end */
    };
    x86_e820_entry_t out[8];

    (void)state;
    assert_int_equal(x86_e820_build(in, 4, out, 8), 4);
    expect_entry(&out[0], 0, 100 * MiB, RAM);
    expect_entry(&out[1], 100 * MiB, 2 * MiB, RSV);
    expect_entry(&out[2], 102 * MiB, GiB - MiB - 102 * MiB, RAM);
    expect_entry(&out[3], GiB - MiB, 2 * MiB, RSV);
}

static void test_larger_type_wins(void **state)
{
    /* ACPI tables in the reserved BIOS area, NVS inside those. */
    const x86_e820_entry_t in[] = {
        {0, 2 * MiB, RAM},
        {0x9fc00, 0x60400, RSV},
        {0xe0000, 0x10000, ACPI},
        {0xe8000, 0x1000, NVS},
    };
    x86_e820_entry_t out[8];

    (void)state;
    assert_int_equal(x86_e820_build(in, 4, out, 8), 7);
    expect_entry(&out[0], 0, 0x9fc00, RAM);
    expect_entry(&out[1], 0x9fc00, 0xe0000 - 0x9fc00, RSV);
    expect_entry(&out[2], 0xe0000, 0x8000, ACPI);
    expect_entry(&out[3], 0xe8000, 0x1000, NVS);
    expect_entry(&out[4], 0xe9000, 0x7000, ACPI);
    expect_entry(&out[5], 0xf0000, 0x10000, RSV);
    expect_entry(&out[6], MiB, MiB, RAM);
}

static void test_reserved_only_pieces_and_top(void **state)
{
    /* Non-RAM ranges outside RAM stay; a range ending at 2^64 - 1. */
    const x86_e820_entry_t in[] = {
        {MiB, MiB, RAM},
        {0xfec00000, 0x1000, RSV},
        {UINT64_MAX - 0xfff, 0xfff, RSV},
    };
    x86_e820_entry_t out[8];

    (void)state;
    assert_int_equal(x86_e820_build(in, 3, out, 8), 3);
    expect_entry(&out[0], MiB, MiB, RAM);
    expect_entry(&out[1], 0xfec00000, 0x1000, RSV);
    expect_entry(&out[2], UINT64_MAX - 0xfff, 0xfff, RSV);
}

static void test_bad_ranges(void **state)
{
    x86_e820_entry_t in[] = {
        {0, GiB, RAM},
        {GiB, 0, RAM},
    };
    x86_e820_entry_t out[8];
    char msg[256];

    (void)state;
    assert_int_equal(x86_e820_build(in, 2, out, 8), -X86_BOOT_E_E820_ZERO_SIZE);
    x86_e820_describe(-X86_BOOT_E_E820_ZERO_SIZE, in, 2, 8, msg, sizeof(msg));
    assert_non_null(strstr(msg, "range 1 at 0x40000000"));
    in[1] = (x86_e820_entry_t){UINT64_MAX - 10, 11, RSV};
    assert_int_equal(x86_e820_build(in, 2, out, 8), -X86_BOOT_E_E820_WRAP);
    x86_e820_describe(-X86_BOOT_E_E820_WRAP, in, 2, 8, msg, sizeof(msg));
    assert_non_null(strstr(msg, "size 0xb"));
    in[1] = (x86_e820_entry_t){GiB, GiB, 0};
    assert_int_equal(x86_e820_build(in, 2, out, 8), -X86_BOOT_E_E820_TYPE);
    x86_e820_describe(-X86_BOOT_E_E820_TYPE, in, 2, 8, msg, sizeof(msg));
    assert_non_null(strstr(msg, "type 0"));
    /* Reserved over all the RAM: nothing left. */
    in[1] = (x86_e820_entry_t){0, 2 * GiB, RSV};
    assert_int_equal(x86_e820_build(in, 2, out, 8), -X86_BOOT_E_E820_NO_RAM);
    in[0].type = RSV;
    assert_int_equal(x86_e820_build(in, 1, out, 8), -X86_BOOT_E_E820_NO_RAM);
    /* Arguments. */
    assert_int_equal(x86_e820_build(NULL, 1, out, 8), -X86_BOOT_E_INVALID_ARG);
    assert_int_equal(x86_e820_build(in, 0, out, 8), -X86_BOOT_E_INVALID_ARG);
    assert_int_equal(x86_e820_build(in, X86_E820_MAX_INPUT + 1, out, 8), -X86_BOOT_E_INVALID_ARG);
    assert_int_equal(x86_e820_build(in, 1, NULL, 8), -X86_BOOT_E_INVALID_ARG);
}

static void test_too_many(void **state)
{
    static x86_e820_entry_t in[X86_E820_MAX_INPUT];
    static x86_e820_entry_t out[X86_E820_MAX_ENTRIES];
    char msg[256];

    (void)state;
    /* One RAM range holed by 200 reserved pages: 401 entries. */
    in[0] = (x86_e820_entry_t){0, GiB, RAM};
    for (unsigned i = 1; i <= 200; i++)
        in[i] = (x86_e820_entry_t){i * 2 * MiB, 4096, RSV};
    assert_int_equal(x86_e820_build(in, 201, NULL, 0), 401);
    assert_int_equal(x86_e820_build(in, 201, out, X86_E820_MAX_ENTRIES), -X86_BOOT_E_E820_TOO_MANY);
    x86_e820_describe(-X86_BOOT_E_E820_TOO_MANY, in, 201, X86_E820_MAX_ENTRIES, msg, sizeof(msg));
    assert_non_null(strstr(msg, "needs 401 entries"));
    assert_non_null(strstr(msg, "holds 128"));
    /* 63 holes: 127 entries fit. */
    assert_int_equal(x86_e820_build(in, 64, out, X86_E820_MAX_ENTRIES), 127);
    for (int i = 1; i < 127; i++)
        assert_true(out[i].addr >= out[i - 1].addr + out[i - 1].size);
}

static void test_is_ram(void **state)
{
    const x86_e820_entry_t in[] = {
        {0, 3 * GiB, RAM},
        {4 * GiB, 2 * GiB, RAM},
        {X86_BOOT_EBDA_ADDR, X86_BOOT_BIOS_END - X86_BOOT_EBDA_ADDR, RSV},
    };
    x86_e820_entry_t map[8];
    int n;

    (void)state;
    n = x86_e820_build(in, 3, map, 8);
    assert_int_equal(n, 4);
    assert_true(x86_e820_is_ram(map, n, MiB, 3 * GiB - MiB));
    assert_true(x86_e820_is_ram(map, n, 0x7000, 0x1000));
    assert_false(x86_e820_is_ram(map, n, 0x9f000, 0x1000));      /* touches the EBDA */
    assert_false(x86_e820_is_ram(map, n, 3 * GiB - 4096, 8192)); /* into the hole */
    assert_true(x86_e820_is_ram(map, n, 5 * GiB, GiB));
    assert_false(x86_e820_is_ram(map, n, 5 * GiB, GiB + 1));
    assert_false(x86_e820_is_ram(map, n, MiB, 0));
    assert_false(x86_e820_is_ram(map, n, UINT64_MAX, 2));
    assert_false(x86_e820_is_ram(NULL, n, MiB, 1));
    /* Unmerged, unsorted RAM pieces still cover a range across them. */
    assert_true(x86_e820_is_ram(in, 2, 2 * GiB, GiB));
    const x86_e820_entry_t pieces[] = {{2 * MiB, MiB, RAM}, {0, 2 * MiB, RAM}};
    assert_true(x86_e820_is_ram(pieces, 2, MiB, 2 * MiB));
    /* But not where a reserved range overlaps. */
    assert_false(x86_e820_is_ram(in, 3, 0, MiB));
}

static void test_describe_other(void **state)
{
    const x86_e820_entry_t in[] = {{0, GiB, RAM}};
    char msg[128];

    (void)state;
    x86_e820_describe(-X86_BOOT_E_E820_NO_RAM, in, 1, 8, msg, sizeof(msg));
    assert_string_equal(msg, x86_boot_strerror(X86_BOOT_E_E820_NO_RAM));
    x86_e820_describe(-X86_BOOT_E_INVALID_ARG, NULL, 0, 8, msg, sizeof(msg));
    assert_string_equal(msg, x86_boot_strerror(X86_BOOT_E_INVALID_ARG));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pc_map),
        cmocka_unit_test(test_sorting_and_merging),
        cmocka_unit_test(test_reserved_splits_ram),
        cmocka_unit_test(test_larger_type_wins),
        cmocka_unit_test(test_reserved_only_pieces_and_top),
        cmocka_unit_test(test_bad_ranges),
        cmocka_unit_test(test_too_many),
        cmocka_unit_test(test_is_ram),
        cmocka_unit_test(test_describe_other),
    };

    return cmocka_run_group_tests_name("x86_e820", tests, NULL, NULL);
}
