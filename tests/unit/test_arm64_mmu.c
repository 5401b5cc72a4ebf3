/*
 * test_arm64_mmu.c - unit tests for src/arch/arm64/mmu.c (the AArch64
 * stage-1 walker that finds a guest PC's IPA and fetches the instruction).
 *
 * Page tables are built by hand in a fake guest RAM.  The VA bits each
 * level resolves come from the Arm ARM (DDI 0487) D8 granule tables, written
 * out per granule below (lvl_shift), not from the walker's formula; the
 * start level of each configuration is given by the test, worked out from
 * the same tables.  The Linux-like tests place every descriptor at an index
 * computed by hand.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <vmmkit/arm64_esr.h>
#include <vmmkit/arm64_insn.h>
#include <vmmkit/arm64_mmu.h>

/* ---- fake guest RAM ---- */

#define RAM_BASE 0x40000000ull
#define RAM_SIZE (16ull << 20)
#define TABLES (RAM_BASE + (8ull << 20)) /* tables above, data below */

typedef struct guest {
    uint8_t *ram;
    uint64_t next;      /* next free table */
    bool be;            /* write descriptors big-endian */
    unsigned int reads; /* reads made by the walker */
    uint64_t last_read; /* the IPA of the last one */
    unsigned int last_len;
} guest_t;

static int read_cb(void *opaque, uint64_t ipa, void *buf, unsigned int len)
{
    guest_t *g = opaque;

    g->reads++;
    g->last_read = ipa;
    g->last_len = len;
    if (ipa < RAM_BASE || ipa - RAM_BASE > RAM_SIZE - len)
        return -EFAULT;
    memcpy(buf, g->ram + (ipa - RAM_BASE), len);
    return 0;
}

static uint8_t *at(guest_t *g, uint64_t ipa, unsigned int len)
{
    assert_true(ipa >= RAM_BASE && ipa - RAM_BASE <= RAM_SIZE - len);
    return g->ram + (ipa - RAM_BASE);
}

static void put64(guest_t *g, uint64_t ipa, uint64_t v)
{
    uint8_t *p = at(g, ipa, 8);

    for (unsigned int i = 0; i < 8; i++)
        p[g->be ? 7 - i : i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(guest_t *g, uint64_t ipa)
{
    uint8_t *p = at(g, ipa, 8);
    uint64_t v = 0;

    for (unsigned int i = 0; i < 8; i++)
        v |= (uint64_t)p[g->be ? 7 - i : i] << (8 * i);
    return v;
}

/* Instructions are little-endian whatever the descriptors are. */
static void put_insn(guest_t *g, uint64_t ipa, uint32_t insn)
{
    uint8_t *p = at(g, ipa, 4);

    for (unsigned int i = 0; i < 4; i++)
        p[i] = (uint8_t)(insn >> (8 * i));
}

static uint64_t alloc_table(guest_t *g, uint64_t size)
{
    uint64_t t = (g->next + size - 1) & ~(size - 1);

    g->next = t + size;
    assert_true(g->next <= RAM_BASE + RAM_SIZE);
    memset(at(g, t, 8), 0, size);
    return t;
}

static int setup(void **state)
{
    guest_t *g = calloc(1, sizeof(*g));

    assert_non_null(g);
    g->ram = calloc(1, RAM_SIZE);
    assert_non_null(g->ram);
    g->next = TABLES;
    *state = g;
    return 0;
}

static int teardown(void **state)
{
    guest_t *g = *state;

    free(g->ram);
    free(g);
    return 0;
}

/* ---- descriptors (Arm ARM D8, "Translation table descriptor formats") ---- */

#define D_BLOCK 1ull
#define D_TABLE 3ull
#define D_PAGE 3ull
#define D_ATTR(i) ((uint64_t)(i) << 2)
#define D_AP_EL0 (1ull << 6) /* AP[1] */
#define D_AP_RO (1ull << 7)  /* AP[2] */
#define D_SH_INNER (3ull << 8)
#define D_AF (1ull << 10)
#define D_NG (1ull << 11)
#define D_DBM (1ull << 51)
#define D_PXN (1ull << 53)
#define D_UXN (1ull << 54)
#define T_PXN (1ull << 59)
#define T_UXN (1ull << 60)
#define T_AP_NO_EL0 (1ull << 61)
#define T_AP_RO (1ull << 62)

/* A kernel-style executable page: EL1 RW, EL0 none, AF set. */
#define KPAGE (D_PAGE | D_AF | D_SH_INNER)

/* The low VA bit each level resolves, per granule (levels -1..3). */
static unsigned int lvl_shift(unsigned int gbits, int level)
{
    static const unsigned int s4k[5] = {48, 39, 30, 21, 12};
    static const unsigned int s16k[5] = {0, 47, 36, 25, 14};
    static const unsigned int s64k[5] = {0, 0, 42, 29, 16};

    assert_true(level >= -1 && level <= 3);
    switch (gbits) {
    case 12:
        return s4k[level + 1];
    case 14:
        return s16k[level + 1];
    default:
        return s64k[level + 1];
    }
}

typedef struct geom {
    unsigned int gbits;  /* 12, 14, 16 */
    unsigned int iasize; /* 64 - TxSZ */
    int start;           /* start level, from the Arm ARM tables */
} geom_t;

static uint64_t index_at(const geom_t *geo, uint64_t va, int level)
{
    unsigned int lo = lvl_shift(geo->gbits, level);
    unsigned int hi = level == geo->start ? geo->iasize : lvl_shift(geo->gbits, level - 1);

    return (va >> lo) & ((1ull << (hi - lo)) - 1);
}

/*
 * Map @va with the leaf descriptor @leaf (address and attributes) at
 * @level, adding tables (with attributes @tattr) under @root as needed.
 * Returns the IPA of the leaf descriptor.
 */
static uint64_t map(guest_t *g, const geom_t *geo, uint64_t root, uint64_t va, int level,
                    uint64_t leaf, uint64_t tattr)
{
    uint64_t table = root;
    uint64_t granule = 1ull << geo->gbits;

    for (int l = geo->start; l < level; l++) {
        uint64_t slot = table + 8 * index_at(geo, va, l);
        uint64_t d = get64(g, slot);

        if (!(d & 1)) {
            d = alloc_table(g, granule) | D_TABLE | tattr;
            put64(g, slot, d);
        }
        table = d & 0x0000fffffffff000ull & ~(granule - 1);
    }
    put64(g, table + 8 * index_at(geo, va, level), leaf);
    return table + 8 * index_at(geo, va, level);
}

static uint64_t tcr_make(unsigned int t0sz, unsigned int tg0, unsigned int t1sz, unsigned int tg1,
                         unsigned int ips)
{
    return (uint64_t)t0sz | (uint64_t)tg0 << 14 | (uint64_t)t1sz << 16 | (uint64_t)tg1 << 30 |
           (uint64_t)ips << 32;
}

static arm64_mmu_regs_t regs_of(uint64_t tcr, uint64_t ttbr0, uint64_t ttbr1)
{
    arm64_mmu_regs_t r = {.sctlr = ARM64_SCTLR_M, .tcr = tcr, .ttbr0 = ttbr0, .ttbr1 = ttbr1};

    return r;
}

static int xlate(guest_t *g, const arm64_mmu_regs_t *r, uint64_t va, unsigned int el,
                 arm64_mmu_access_t access, arm64_mmu_result_t *res)
{
    g->reads = 0;
    return arm64_mmu_translate(r, va, el, access, read_cb, g, res);
}

/* Translate @va as an EL1 read and expect @ipa with @size, found at @level. */
static void expect_ok(guest_t *g, const arm64_mmu_regs_t *r, uint64_t va, uint64_t ipa,
                      uint64_t size, int level, unsigned int reads)
{
    arm64_mmu_result_t res;

    assert_int_equal(xlate(g, r, va, 1, ARM64_MMU_READ, &res), 0);
    assert_int_equal(res.ipa, ipa);
    assert_int_equal(res.size, size);
    assert_int_equal(res.level, level);
    assert_int_equal(g->reads, reads);
}

static void expect_fault(guest_t *g, const arm64_mmu_regs_t *r, uint64_t va, unsigned int el,
                         arm64_mmu_access_t access, arm64_mmu_err_t err, int level)
{
    arm64_mmu_result_t res;

    assert_int_equal(xlate(g, r, va, el, access, &res), -(int)err);
    assert_int_equal(res.level, level);
}

/* ---- granules and sizes ---- */

/* 4K, T0SZ = 16: 48-bit VAs, start level 0, blocks of 1G (level 1) and 2M (level 2). */
static void test_4k_48bit(void **state)
{
    guest_t *g = *state;
    geom_t geo = {12, 48, 0};
    uint64_t root = alloc_table(g, 4096);
    arm64_mmu_regs_t r = regs_of(tcr_make(16, ARM64_TCR_TG0_4K, 16, ARM64_TCR_TG1_4K, 5), root, 0);
    arm64_mmu_result_t res;

    map(g, &geo, root, 0x0000123456789000ull, 3, 0x40080000ull | KPAGE, 0);
    map(g, &geo, root, 0x0000008040000000ull, 1, 0x100000000ull | D_BLOCK | D_AF, 0);
    map(g, &geo, root, 0x0000000000600000ull, 2, 0x80000000ull | D_BLOCK | D_AF, 0);

    expect_ok(g, &r, 0x0000123456789abcull, 0x40080abcull, 4096, 3, 4);
    expect_ok(g, &r, 0x0000008052345678ull, 0x112345678ull, 1ull << 30, 1, 2);
    expect_ok(g, &r, 0x0000000000712345ull, 0x80112345ull, 2ull << 20, 2, 3);

    assert_int_equal(xlate(g, &r, 0x0000123456789ff8ull, 1, ARM64_MMU_READ, &res), 0);
    assert_false(res.ttbr1);
    assert_false(res.mmu_off);
    assert_int_equal(res.granule, 4096);
    assert_int_equal(res.txsz, 16);
    assert_true(res.has_desc);
    assert_int_equal(res.desc, 0x40080000ull | KPAGE);
    assert_true(res.af);
    assert_int_equal(res.ap, 0);
    assert_false(res.uxn);
    assert_false(res.pxn);
    assert_true(res.perms_checked);
    assert_int_equal(res.perm_el0, ARM64_MMU_PERM_X); /* AP 00, UXN 0: EL0 execute-only */
    assert_int_equal(res.perm_el1, ARM64_MMU_PERM_R | ARM64_MMU_PERM_W | ARM64_MMU_PERM_X);
}

/* 4K, T0SZ = 25: 39-bit VAs, start level 1 (three levels, 1G blocks at the root). */
static void test_4k_39bit(void **state)
{
    guest_t *g = *state;
    geom_t geo = {12, 39, 1};
    uint64_t root = alloc_table(g, 4096);
    arm64_mmu_regs_t r = regs_of(tcr_make(25, ARM64_TCR_TG0_4K, 25, ARM64_TCR_TG1_4K, 5), root, 0);

    map(g, &geo, root, 0x0000005512345000ull, 3, 0x40001000ull | KPAGE, 0);
    map(g, &geo, root, 0x0000004000000000ull, 1, 0xc0000000ull | D_BLOCK | D_AF, 0);

    expect_ok(g, &r, 0x0000005512345678ull, 0x40001678ull, 4096, 3, 3);
    expect_ok(g, &r, 0x000000403ffffffcull, 0xfffffffcull, 1ull << 30, 1, 1);
    /* Bit 39 is beyond the 39-bit range: in the hole, no walk. */
    expect_fault(g, &r, 0x0000008000000000ull, 1, ARM64_MMU_READ, ARM64_MMU_E_VA_RANGE, 0);
    assert_int_equal(g->reads, 0);
}

/* 16K, T0SZ = 17: 47-bit VAs, start level 1; 32M blocks at level 2. */
static void test_16k_47bit(void **state)
{
    guest_t *g = *state;
    geom_t geo = {14, 47, 1};
    uint64_t root = alloc_table(g, 16384);
    arm64_mmu_regs_t r =
        regs_of(tcr_make(17, ARM64_TCR_TG0_16K, 17, ARM64_TCR_TG1_16K, 5), root, 0);

    map(g, &geo, root, 0x000076543210c000ull, 3, 0x40004000ull | KPAGE, 0);
    map(g, &geo, root, 0x0000100002000000ull, 2, 0x200000000ull | D_BLOCK | D_AF, 0);

    expect_ok(g, &r, 0x000076543210f00dull, 0x4000700dull, 16384, 3, 3);
    expect_ok(g, &r, 0x0000100003234568ull, 0x201234568ull, 32ull << 20, 2, 2);
    expect_fault(g, &r, 0x0000800000000000ull, 1, ARM64_MMU_READ, ARM64_MMU_E_VA_RANGE, 0);
}

/* 16K, T0SZ = 16: 48-bit VAs, start level 0 with a two-entry table (bit 47). */
static void test_16k_48bit(void **state)
{
    guest_t *g = *state;
    geom_t geo = {14, 48, 0};
    uint64_t root = alloc_table(g, 16384);
    arm64_mmu_regs_t r =
        regs_of(tcr_make(16, ARM64_TCR_TG0_16K, 16, ARM64_TCR_TG1_16K, 5), root, 0);

    map(g, &geo, root, 0x0000800000004000ull, 3, 0x40008000ull | KPAGE, 0);
    expect_ok(g, &r, 0x0000800000004010ull, 0x40008010ull, 16384, 3, 4);
    /* Entry 1 of the root table holds the bit-47 half. */
    assert_true(get64(g, root + 8) & 1);
    assert_false(get64(g, root) & 1);
}

/* 64K, T0SZ = 22: 42-bit VAs, start level 2; 512M blocks at level 2. */
static void test_64k_42bit(void **state)
{
    guest_t *g = *state;
    geom_t geo = {16, 42, 2};
    uint64_t root = alloc_table(g, 65536);
    arm64_mmu_regs_t r =
        regs_of(tcr_make(22, ARM64_TCR_TG0_64K, 22, ARM64_TCR_TG1_64K, 5), root, 0);

    map(g, &geo, root, 0x000002abcdef0000ull, 3, 0x40010000ull | KPAGE, 0);
    map(g, &geo, root, 0x0000010020000000ull, 2, 0x60000000ull | D_BLOCK | D_AF, 0);

    expect_ok(g, &r, 0x000002abcdef1234ull, 0x40011234ull, 65536, 3, 2);
    expect_ok(g, &r, 0x000001003fffffffull, 0x7fffffffull, 512ull << 20, 2, 1);
}

/* 64K, T0SZ = 16: 48-bit VAs, start level 1; level 1 blocks (4T) only with a 52-bit PA. */
static void test_64k_48bit(void **state)
{
    guest_t *g = *state;
    geom_t geo = {16, 48, 1};
    uint64_t root = alloc_table(g, 65536);
    arm64_mmu_regs_t r =
        regs_of(tcr_make(16, ARM64_TCR_TG0_64K, 16, ARM64_TCR_TG1_64K, 6), root, 0);

    map(g, &geo, root, 0x0000fedcba980000ull, 3, 0x40020000ull | KPAGE, 0);
    map(g, &geo, root, 0x00000000e0000000ull, 2, 0x20000000ull | D_BLOCK | D_AF, 0);
    map(g, &geo, root, 0x0000040000000000ull, 1, 0x80000000000ull | D_BLOCK | D_AF, 0);

    expect_ok(g, &r, 0x0000fedcba98fffcull, 0x4002fffcull, 65536, 3, 3);
    expect_ok(g, &r, 0x00000000e0000004ull, 0x20000004ull, 512ull << 20, 2, 2);
    /* pa_bits unknown: a 52-bit PA may exist, so the 4T block is allowed. */
    expect_ok(g, &r, 0x0000040000123456ull, 0x80000123456ull, 1ull << 42, 1, 1);
    r.pa_bits = 48;
    expect_fault(g, &r, 0x0000040000123456ull, 1, ARM64_MMU_READ, ARM64_MMU_E_RESERVED_DESC, 1);
}

/* TTBR1: the high range, with TG1's own encoding; ASID and CnP ignored. */
static void test_ttbr1_high(void **state)
{
    guest_t *g = *state;
    geom_t g4 = {12, 48, 0}, g16 = {14, 47, 1}, g64 = {16, 42, 2};
    uint64_t root4 = alloc_table(g, 4096), root16 = alloc_table(g, 16384);
    uint64_t root64 = alloc_table(g, 65536);
    arm64_mmu_regs_t r;
    arm64_mmu_result_t res;

    map(g, &g4, root4, 0xffff000012345000ull, 3, 0x40001000ull | KPAGE, 0);
    r = regs_of(tcr_make(16, ARM64_TCR_TG0_4K, 16, ARM64_TCR_TG1_4K, 5), 0,
                0xabcd000000000000ull | root4 | 1);
    expect_ok(g, &r, 0xffff000012345678ull, 0x40001678ull, 4096, 3, 4);
    assert_int_equal(xlate(g, &r, 0xffff000012345678ull, 1, ARM64_MMU_READ, &res), 0);
    assert_true(res.ttbr1);

    map(g, &g16, root16, 0xffff8000abcd4000ull, 3, 0x40004000ull | KPAGE, 0);
    r = regs_of(tcr_make(16, ARM64_TCR_TG0_4K, 17, ARM64_TCR_TG1_16K, 5), 0, root16);
    expect_ok(g, &r, 0xffff8000abcd4321ull, 0x40004321ull, 16384, 3, 3);
    /* Below the 47-bit high range: the hole. */
    expect_fault(g, &r, 0xffff7fffffffc000ull, 1, ARM64_MMU_READ, ARM64_MMU_E_VA_RANGE, 0);

    map(g, &g64, root64, 0xfffffc0000010000ull, 3, 0x40010000ull | KPAGE, 0);
    r = regs_of(tcr_make(16, ARM64_TCR_TG0_4K, 22, ARM64_TCR_TG1_64K, 5), 0, root64);
    expect_ok(g, &r, 0xfffffc000001fff0ull, 0x4001fff0ull, 65536, 3, 2);
}

/* ---- MMU off ---- */

static void test_mmu_off(void **state)
{
    guest_t *g = *state;
    arm64_mmu_regs_t r = {.tcr = ARM64_TCR_TBI0, .pa_bits = 40};
    arm64_mmu_result_t res;
    uint32_t insn = 0;

    assert_int_equal(xlate(g, &r, 0x40001234ull, 0, ARM64_MMU_FETCH, &res), 0);
    assert_int_equal(res.ipa, 0x40001234ull);
    assert_true(res.mmu_off);
    assert_int_equal(res.size, 1ull << 40);
    assert_int_equal(res.perm_el0, ARM64_MMU_PERM_R | ARM64_MMU_PERM_W | ARM64_MMU_PERM_X);
    assert_int_equal(g->reads, 0);

    /* Beyond the PA size: address size fault at level 0. */
    expect_fault(g, &r, 1ull << 40, 1, ARM64_MMU_READ, ARM64_MMU_E_ADDRESS_SIZE, 0);
    expect_fault(g, &r, 0xffff000000000000ull, 1, ARM64_MMU_READ, ARM64_MMU_E_ADDRESS_SIZE, 0);
    /* TBI0 applies with the MMU off too; TBID0 keeps it off fetches. */
    assert_int_equal(xlate(g, &r, 0x5a00000040000000ull, 1, ARM64_MMU_READ, &res), 0);
    assert_int_equal(res.ipa, 0x40000000ull);
    assert_int_equal(xlate(g, &r, 0x5a00000040000000ull, 1, ARM64_MMU_FETCH, &res), 0);
    r.tcr |= ARM64_TCR_TBID0;
    expect_fault(g, &r, 0x5a00000040000000ull, 1, ARM64_MMU_FETCH, ARM64_MMU_E_ADDRESS_SIZE, 0);
    r.pa_bits = 0; /* unknown: 52 bits */
    assert_int_equal(xlate(g, &r, 1ull << 51, 1, ARM64_MMU_READ, &res), 0);

    put_insn(g, 0x40000100ull, 0xd503201fu); /* nop */
    assert_int_equal(arm64_mmu_fetch_insn(&r, 0x40000100ull, 1, read_cb, g, &insn, NULL), 0);
    assert_int_equal(insn, 0xd503201fu);
}

/* ---- faults ---- */

/* An unmapped VA faults at the level where the walk met an invalid entry. */
static void test_unmapped_each_level(void **state)
{
    guest_t *g = *state;
    geom_t geo = {12, 48, 0};
    uint64_t root = alloc_table(g, 4096);
    arm64_mmu_regs_t r = regs_of(tcr_make(16, ARM64_TCR_TG0_4K, 16, ARM64_TCR_TG1_4K, 5), root, 0);
    uint64_t va = 0x0000123456789000ull;
    arm64_mmu_result_t res;
    int level;

    map(g, &geo, root, va, 3, 0x40001000ull | KPAGE, 0);
    /* Differ from the mapped VA in the index of level 0, 1, 2, 3. */
    static const uint64_t other[4] = {1ull << 39, 1ull << 30, 1ull << 21, 1ull << 12};
    for (level = 0; level <= 3; level++) {
        assert_int_equal(xlate(g, &r, va ^ other[level], 1, ARM64_MMU_FETCH, &res),
                         -ARM64_MMU_E_INVALID_DESC);
        assert_int_equal(res.level, level);
        assert_int_equal(g->reads, (unsigned int)level + 1);
        assert_true(res.has_desc);
        assert_int_equal(res.desc, 0);
        assert_int_equal(arm64_mmu_fsc(-ARM64_MMU_E_INVALID_DESC, res.level), 0x04 + level);
    }
    /* The last read was the level 3 slot of the mapped page's table. */
    assert_int_equal(res.desc_ipa, g->last_read);

    /* 4K with DS = 1 and T0SZ = 12 starts at level -1. */
    r.tcr = tcr_make(12, ARM64_TCR_TG0_4K, 16, ARM64_TCR_TG1_4K, 6) | ARM64_TCR_DS;
    assert_int_equal(xlate(g, &r, 0x000f000000000000ull, 1, ARM64_MMU_READ, &res),
                     -ARM64_MMU_E_INVALID_DESC);
    assert_int_equal(res.level, -1);
    assert_int_equal(arm64_mmu_fsc(-ARM64_MMU_E_INVALID_DESC, -1), 0x2b);
}

static void test_reserved_descriptors(void **state)
{
    guest_t *g = *state;
    geom_t g4 = {12, 48, 0}, g16 = {14, 47, 1};
    uint64_t root4 = alloc_table(g, 4096), root16 = alloc_table(g, 16384);
    arm64_mmu_regs_t r = regs_of(tcr_make(16, ARM64_TCR_TG0_4K, 16, ARM64_TCR_TG1_4K, 5), root4, 0);

    /* Level 3 with type 0b01; a 512G block at level 0 without DS. */
    map(g, &g4, root4, 0x0000000000001000ull, 3, 0x40001000ull | D_BLOCK | D_AF, 0);
    map(g, &g4, root4, 0x0000008000000000ull, 0, 0x8000000000ull | D_BLOCK | D_AF, 0);
    expect_fault(g, &r, 0x0000000000001000ull, 1, ARM64_MMU_READ, ARM64_MMU_E_RESERVED_DESC, 3);
    expect_fault(g, &r, 0x0000008000000000ull, 1, ARM64_MMU_READ, ARM64_MMU_E_RESERVED_DESC, 0);

    /* 16K: no 64G block at level 1 without DS. */
    r = regs_of(tcr_make(17, ARM64_TCR_TG0_16K, 16, ARM64_TCR_TG1_4K, 5), root16, 0);
    map(g, &g16, root16, 0x0000001000000000ull, 1, 0x1000000000ull | D_BLOCK | D_AF, 0);
    expect_fault(g, &r, 0x0000001000000000ull, 1, ARM64_MMU_READ, ARM64_MMU_E_RESERVED_DESC, 1);
}

static void test_va_hole(void **state)
{
    guest_t *g = *state;
    uint64_t root = alloc_table(g, 4096);
    arm64_mmu_regs_t r =
        regs_of(tcr_make(16, ARM64_TCR_TG0_4K, 16, ARM64_TCR_TG1_4K, 5), root, root);
    arm64_mmu_result_t res;

    expect_fault(g, &r, 0x0001000000000000ull, 1, ARM64_MMU_FETCH, ARM64_MMU_E_VA_RANGE, 0);
    expect_fault(g, &r, 0xfffeffffffff0000ull, 1, ARM64_MMU_FETCH, ARM64_MMU_E_VA_RANGE, 0);
    expect_fault(g, &r, 0x0080000000000000ull, 1, ARM64_MMU_READ, ARM64_MMU_E_VA_RANGE, 0);
    assert_int_equal(g->reads, 0);
    assert_int_equal(arm64_mmu_fsc(-ARM64_MMU_E_VA_RANGE, 0), 0x04);
    /* The edges of both ranges are inside: they walk (and find nothing). */
    expect_fault(g, &r, 0x0000fffffffff000ull, 1, ARM64_MMU_READ, ARM64_MMU_E_INVALID_DESC, 0);
    assert_int_equal(xlate(g, &r, 0xffff000000000000ull, 1, ARM64_MMU_READ, &res),
                     -ARM64_MMU_E_INVALID_DESC);
    assert_true(res.ttbr1);
}

static void test_epd_and_e0pd(void **state)
{
    guest_t *g = *state;
    geom_t geo = {12, 48, 0};
    uint64_t root = alloc_table(g, 4096);
    uint64_t tcr = tcr_make(16, ARM64_TCR_TG0_4K, 16, ARM64_TCR_TG1_4K, 5);
    arm64_mmu_regs_t r = regs_of(tcr | ARM64_TCR_EPD0, root, root);

    map(g, &geo, root, 0x0000000000400000ull, 3, 0x40001000ull | KPAGE | D_AP_EL0, 0);
    map(g, &geo, root, 0xffff000000400000ull, 3, 0x40001000ull | KPAGE | D_AP_EL0, 0);

    expect_fault(g, &r, 0x0000000000400000ull, 1, ARM64_MMU_READ, ARM64_MMU_E_WALK_DISABLED, 0);
    assert_int_equal(g->reads, 0);
    expect_ok(g, &r, 0xffff000000400008ull, 0x40001008ull, 4096, 3, 4);

    r.tcr = tcr | ARM64_TCR_EPD1;
    expect_ok(g, &r, 0x0000000000400008ull, 0x40001008ull, 4096, 3, 4);
    expect_fault(g, &r, 0xffff000000400000ull, 1, ARM64_MMU_READ, ARM64_MMU_E_WALK_DISABLED, 0);

    /* E0PD1: EL0 accesses to the high range fault; EL1 ones do not. */
    r.tcr = tcr | ARM64_TCR_E0PD1;
    expect_fault(g, &r, 0xffff000000400000ull, 0, ARM64_MMU_READ, ARM64_MMU_E_EL0_DISABLED, 0);
    expect_ok(g, &r, 0xffff000000400000ull, 0x40001000ull, 4096, 3, 4);
    assert_int_equal(xlate(g, &r, 0x0000000000400000ull, 0, ARM64_MMU_READ, NULL), 0);
}

static void test_address_size(void **state)
{
    guest_t *g = *state;
    geom_t geo = {12, 48, 0};
    uint64_t root = alloc_table(g, 4096);
    arm64_mmu_regs_t r = regs_of(tcr_make(16, ARM64_TCR_TG0_4K, 16, ARM64_TCR_TG1_4K, 0), root, 0);
    arm64_mmu_result_t res;

    /* IPS = 32 bits: an output address at 4G is beyond it. */
    map(g, &geo, root, 0x0000000000001000ull, 3, 0x100000000ull | KPAGE, 0);
    expect_fault(g, &r, 0x0000000000001000ull, 1, ARM64_MMU_READ, ARM64_MMU_E_ADDRESS_SIZE, 3);
    assert_int_equal(arm64_mmu_fsc(-ARM64_MMU_E_ADDRESS_SIZE, 3), 0x03);
    /* IPS = 36 bits lets it through. */
    r.tcr = tcr_make(16, ARM64_TCR_TG0_4K, 16, ARM64_TCR_TG1_4K, 1);
    expect_ok(g, &r, 0x0000000000001000ull, 0x100000000ull, 4096, 3, 4);
    /* ... unless the implementation's PA is 32 bits. */
    r.pa_bits = 32;
    expect_fault(g, &r, 0x0000000000001000ull, 1, ARM64_MMU_READ, ARM64_MMU_E_ADDRESS_SIZE, 3);
    r.pa_bits = 0;

    /* A table address beyond the size faults at the table descriptor's level. */
    put64(g, root + 8, 0x1000000000ull | D_TABLE); /* L0[1] -> 64G, beyond 36 bits */
    expect_fault(g, &r, 0x0000008000000000ull, 1, ARM64_MMU_READ, ARM64_MMU_E_ADDRESS_SIZE, 0);
    assert_int_equal(g->reads, 1);

    /* The TTBR itself beyond the size: level 0, nothing read. */
    r.ttbr0 = 0x1000000000ull;
    assert_int_equal(xlate(g, &r, 0x1000ull, 1, ARM64_MMU_READ, &res), -ARM64_MMU_E_ADDRESS_SIZE);
    assert_int_equal(res.level, 0);
    assert_false(res.has_desc);
    assert_int_equal(g->reads, 0);
}

static void test_access_flag(void **state)
{
    guest_t *g = *state;
    geom_t geo = {12, 48, 0};
    uint64_t root = alloc_table(g, 4096);
    arm64_mmu_regs_t r = regs_of(tcr_make(16, ARM64_TCR_TG0_4K, 16, ARM64_TCR_TG1_4K, 5), root, 0);
    arm64_mmu_result_t res;

    map(g, &geo, root, 0x0000000000002000ull, 3, 0x40002000ull | D_PAGE, 0);
    map(g, &geo, root, 0x0000000000200000ull, 2, 0x40200000ull | D_BLOCK, 0);
    expect_fault(g, &r, 0x0000000000002000ull, 1, ARM64_MMU_FETCH, ARM64_MMU_E_ACCESS_FLAG, 3);
    expect_fault(g, &r, 0x0000000000200000ull, 1, ARM64_MMU_READ, ARM64_MMU_E_ACCESS_FLAG, 2);
    assert_int_equal(arm64_mmu_fsc(-ARM64_MMU_E_ACCESS_FLAG, 3), 0x0b);

    /* With hardware access flag management there is no fault. */
    r.tcr |= ARM64_TCR_HA;
    assert_int_equal(xlate(g, &r, 0x0000000000002004ull, 1, ARM64_MMU_FETCH, &res), 0);
    assert_int_equal(res.ipa, 0x40002004ull);
    assert_false(res.af);
}

static void test_walk_outside_ram(void **state)
{
    guest_t *g = *state;
    uint64_t root = alloc_table(g, 4096);
    arm64_mmu_regs_t r = regs_of(tcr_make(16, ARM64_TCR_TG0_4K, 16, ARM64_TCR_TG1_4K, 5), root, 0);
    arm64_mmu_result_t res;

    /* L0[0] points at 2G: the level 1 read is outside RAM. */
    put64(g, root, 0x80000000ull | D_TABLE);
    assert_int_equal(xlate(g, &r, 0x0000000040000000ull, 1, ARM64_MMU_READ, &res),
                     -ARM64_MMU_E_WALK_OUTSIDE_RAM);
    assert_int_equal(res.level, 1);
    assert_int_equal(res.desc_ipa, 0x80000000ull + 8 * 1);
    assert_false(res.has_desc);
    assert_int_equal(arm64_mmu_fsc(-ARM64_MMU_E_WALK_OUTSIDE_RAM, 1), 0x15);

    /* TTBR0 itself outside RAM: level 0. */
    r.ttbr0 = 0x10000000ull;
    expect_fault(g, &r, 0x0ull, 1, ARM64_MMU_READ, ARM64_MMU_E_WALK_OUTSIDE_RAM, 0);
    assert_int_equal(g->last_read, 0x10000000ull);
    assert_int_equal(g->last_len, 8);
}

static void test_bad_config(void **state)
{
    guest_t *g = *state;
    uint64_t root = alloc_table(g, 65536);
    arm64_mmu_regs_t r = regs_of(tcr_make(16, 3, 16, 0, 5), root, root);
    arm64_mmu_result_t res;

    /* TG0 = 0b11 and TG1 = 0b00 are reserved. */
    expect_fault(g, &r, 0x1000ull, 1, ARM64_MMU_READ, ARM64_MMU_E_BAD_TG, 0);
    expect_fault(g, &r, 0xffff000000001000ull, 1, ARM64_MMU_READ, ARM64_MMU_E_BAD_TG, 0);
    assert_int_equal(g->reads, 0);
    assert_int_equal(arm64_mmu_fsc(-ARM64_MMU_E_BAD_TG, 0), -1);

    /* TxSZ limits: 16..48 for 4K/16K, 12..48 with DS, 12..47 for 64K. */
    r.tcr = tcr_make(15, ARM64_TCR_TG0_4K, 49, ARM64_TCR_TG1_4K, 5);
    expect_fault(g, &r, 0x1000ull, 1, ARM64_MMU_READ, ARM64_MMU_E_BAD_TXSZ, 0);
    expect_fault(g, &r, 0xffffffffffff0000ull, 1, ARM64_MMU_READ, ARM64_MMU_E_BAD_TXSZ, 0);
    assert_int_equal(arm64_mmu_fsc(-ARM64_MMU_E_BAD_TXSZ, 0), 0x04);
    r.tcr = tcr_make(11, ARM64_TCR_TG0_64K, 48, ARM64_TCR_TG1_64K, 5);
    expect_fault(g, &r, 0x1000ull, 1, ARM64_MMU_READ, ARM64_MMU_E_BAD_TXSZ, 0);
    expect_fault(g, &r, 0xffffffffffff0000ull, 1, ARM64_MMU_READ, ARM64_MMU_E_BAD_TXSZ, 0);
    /* 64K with T0SZ = 12 (FEAT_LVA) and 4K with T0SZ = 48 (FEAT_TTST) walk. */
    r.tcr = tcr_make(12, ARM64_TCR_TG0_64K, 48, ARM64_TCR_TG1_4K, 5);
    expect_fault(g, &r, 0x000f000000000000ull, 1, ARM64_MMU_READ, ARM64_MMU_E_INVALID_DESC, 1);
    assert_int_equal(xlate(g, &r, 0xffffffffffff0000ull, 1, ARM64_MMU_READ, &res),
                     -ARM64_MMU_E_INVALID_DESC);
    assert_int_equal(res.level, 3); /* a 16-bit range: one level-3 table */
    assert_int_equal(res.txsz, 48);

    /* TCR2_EL1.D128 is refused. */
    r.tcr = tcr_make(16, ARM64_TCR_TG0_4K, 16, ARM64_TCR_TG1_4K, 5);
    r.tcr2 = ARM64_TCR2_D128;
    expect_fault(g, &r, 0x1000ull, 1, ARM64_MMU_READ, ARM64_MMU_E_UNSUPPORTED, 0);

    /* Arguments. */
    r.tcr2 = 0;
    expect_fault(g, &r, 0x1000ull, 2, ARM64_MMU_READ, ARM64_MMU_E_BAD_ARG, 0);
    expect_fault(g, &r, 0x1000ull, 1, (arm64_mmu_access_t)3, ARM64_MMU_E_BAD_ARG, 0);
    assert_int_equal(arm64_mmu_translate(&r, 0, 1, ARM64_MMU_READ, NULL, g, &res),
                     -ARM64_MMU_E_BAD_ARG);
    assert_int_equal(arm64_mmu_translate(NULL, 0, 1, ARM64_MMU_READ, read_cb, g, &res),
                     -ARM64_MMU_E_BAD_ARG);
}

/* ---- permissions ---- */

typedef struct perm_case {
    uint64_t leaf;  /* attribute bits of the page */
    uint64_t tattr; /* attribute bits of every table on the way */
    unsigned int el;
    arm64_mmu_access_t access;
    bool ok;
} perm_case_t;

static void test_permissions(void **state)
{
    static const perm_case_t cases[] = {
        /* UXN stops EL0 fetches, PXN EL1 fetches. */
        {KPAGE | D_AP_EL0 | D_AP_RO | D_UXN, 0, 0, ARM64_MMU_FETCH, false},
        {KPAGE | D_AP_EL0 | D_AP_RO | D_UXN, 0, 1, ARM64_MMU_FETCH, true},
        {KPAGE | D_AP_EL0 | D_AP_RO | D_PXN, 0, 1, ARM64_MMU_FETCH, false},
        {KPAGE | D_AP_EL0 | D_AP_RO | D_PXN, 0, 0, ARM64_MMU_FETCH, true},
        /* EL0-writable memory is not executable at EL1. */
        {KPAGE | D_AP_EL0, 0, 1, ARM64_MMU_FETCH, false},
        {KPAGE | D_AP_EL0, 0, 0, ARM64_MMU_FETCH, true},
        /* AP[2:1] = 00: EL1 only; 10: EL1 read-only; 11: read-only for both. */
        {KPAGE, 0, 0, ARM64_MMU_READ, false},
        {KPAGE, 0, 1, ARM64_MMU_WRITE, true},
        /* ... AP = 00 with UXN = 0 is execute-only memory for EL0. */
        {KPAGE, 0, 0, ARM64_MMU_FETCH, true},
        {KPAGE | D_AP_RO, 0, 1, ARM64_MMU_WRITE, false},
        {KPAGE | D_AP_RO, 0, 1, ARM64_MMU_READ, true},
        {KPAGE | D_AP_RO | D_AP_EL0, 0, 0, ARM64_MMU_READ, true},
        {KPAGE | D_AP_RO | D_AP_EL0, 0, 0, ARM64_MMU_WRITE, false},
        /* Hierarchical controls. */
        {KPAGE | D_AP_EL0, T_UXN, 0, ARM64_MMU_FETCH, false},
        {KPAGE, T_PXN, 1, ARM64_MMU_FETCH, false},
        {KPAGE | D_AP_EL0, T_AP_NO_EL0, 0, ARM64_MMU_READ, false},
        {KPAGE | D_AP_EL0, T_AP_NO_EL0, 1, ARM64_MMU_WRITE, true},
        /* ... and with EL0 shut out, the page is EL1-executable again. */
        {KPAGE | D_AP_EL0, T_AP_NO_EL0, 1, ARM64_MMU_FETCH, true},
        {KPAGE, T_AP_RO, 1, ARM64_MMU_WRITE, false},
        {KPAGE, T_AP_RO, 1, ARM64_MMU_FETCH, true},
    };
    guest_t *g = *state;
    geom_t geo = {12, 48, 0};
    uint64_t tcr = tcr_make(16, ARM64_TCR_TG0_4K, 16, ARM64_TCR_TG1_4K, 5);
    arm64_mmu_result_t res;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const perm_case_t *c = &cases[i];
        uint64_t root;
        arm64_mmu_regs_t r;
        int err;

        g->next = TABLES;
        root = alloc_table(g, 4096);
        r = regs_of(tcr, root, 0);
        map(g, &geo, root, 0x0000000012345000ull, 3, 0x40005000ull | c->leaf, c->tattr);
        err = xlate(g, &r, 0x0000000012345000ull, c->el, c->access, &res);
        if (err != (c->ok ? 0 : -ARM64_MMU_E_PERMISSION))
            fail_msg("case %zu: got %d (%s)", i, err, arm64_mmu_strerror(err));
        if (!c->ok) {
            assert_int_equal(res.level, 3);
            assert_int_equal(arm64_mmu_fsc(err, res.level), 0x0f);
        }
        /* HPD0 turns the table controls off. */
        if (c->tattr) {
            r.tcr = tcr | ARM64_TCR_HPD0;
            err = xlate(g, &r, 0x0000000012345000ull, c->el, c->access, &res);
            if (c->tattr == T_AP_NO_EL0 && c->el == 1 && c->access == ARM64_MMU_FETCH)
                assert_int_equal(err, -ARM64_MMU_E_PERMISSION); /* EL0-writable again */
            else
                assert_int_equal(err, 0);
        }
    }
}

/* WXN, PAN, EPAN, DBM, Device memory, and the reported rights. */
static void test_permission_controls(void **state)
{
    guest_t *g = *state;
    geom_t geo = {12, 48, 0};
    uint64_t root = alloc_table(g, 4096);
    uint64_t tcr = tcr_make(16, ARM64_TCR_TG0_4K, 16, ARM64_TCR_TG1_4K, 5);
    arm64_mmu_regs_t r = regs_of(tcr, root, 0);
    const uint64_t rw_el1 = 0x1000, ro_all = 0x2000, xo_el0 = 0x3000, dbm = 0x4000;
    const uint64_t dev = 0x5000, user_rw = 0x6000;
    arm64_mmu_result_t res;

    map(g, &geo, root, rw_el1, 3, 0x40001000ull | KPAGE | D_UXN, 0);
    map(g, &geo, root, ro_all, 3, 0x40002000ull | KPAGE | D_AP_RO | D_AP_EL0, 0);
    map(g, &geo, root, xo_el0, 3, 0x40003000ull | KPAGE | D_PXN, 0);
    map(g, &geo, root, dbm, 3, 0x40004000ull | KPAGE | D_AP_RO | D_DBM, 0);
    map(g, &geo, root, dev, 3, 0x40005000ull | KPAGE | D_ATTR(1), 0);
    map(g, &geo, root, user_rw, 3, 0x40006000ull | KPAGE | D_AP_EL0 | D_UXN | D_PXN, 0);

    /* WXN: the EL1-writable page is no longer EL1-executable. */
    assert_int_equal(xlate(g, &r, rw_el1, 1, ARM64_MMU_FETCH, &res), 0);
    r.sctlr |= ARM64_SCTLR_WXN;
    expect_fault(g, &r, rw_el1, 1, ARM64_MMU_FETCH, ARM64_MMU_E_PERMISSION, 3);
    assert_int_equal(xlate(g, &r, ro_all, 1, ARM64_MMU_FETCH, &res), 0);
    r.sctlr &= ~ARM64_SCTLR_WXN;

    /* PAN: EL1 data accesses to EL0-accessible memory fault; fetches do not. */
    r.pan = true;
    expect_fault(g, &r, ro_all, 1, ARM64_MMU_READ, ARM64_MMU_E_PERMISSION, 3);
    assert_int_equal(xlate(g, &r, ro_all, 1, ARM64_MMU_FETCH, &res), 0);
    assert_int_equal(res.perm_el1, ARM64_MMU_PERM_X);
    assert_int_equal(res.perm_el0, ARM64_MMU_PERM_R | ARM64_MMU_PERM_X);
    assert_int_equal(xlate(g, &r, ro_all, 0, ARM64_MMU_READ, &res), 0);
    expect_fault(g, &r, user_rw, 1, ARM64_MMU_WRITE, ARM64_MMU_E_PERMISSION, 3);
    /* ... EL0 execute-only memory only with EPAN. */
    assert_int_equal(xlate(g, &r, xo_el0, 1, ARM64_MMU_READ, &res), 0);
    r.sctlr |= ARM64_SCTLR_EPAN;
    expect_fault(g, &r, xo_el0, 1, ARM64_MMU_READ, ARM64_MMU_E_PERMISSION, 3);
    r.sctlr &= ~ARM64_SCTLR_EPAN;
    r.pan = false;
    assert_int_equal(xlate(g, &r, user_rw, 1, ARM64_MMU_WRITE, &res), 0);
    assert_int_equal(res.perm_el0, ARM64_MMU_PERM_R | ARM64_MMU_PERM_W);
    assert_int_equal(res.perm_el1, ARM64_MMU_PERM_R | ARM64_MMU_PERM_W);
    assert_int_equal(res.ap, 1);

    /* DBM with HA and HD: read-only in the descriptor, yet writable. */
    expect_fault(g, &r, dbm, 1, ARM64_MMU_WRITE, ARM64_MMU_E_PERMISSION, 3);
    r.tcr = tcr | ARM64_TCR_HD; /* HD without HA is off */
    expect_fault(g, &r, dbm, 1, ARM64_MMU_WRITE, ARM64_MMU_E_PERMISSION, 3);
    r.tcr = tcr | ARM64_TCR_HA | ARM64_TCR_HD;
    assert_int_equal(xlate(g, &r, dbm, 1, ARM64_MMU_WRITE, &res), 0);
    assert_int_equal(res.ap, 0);
    r.tcr = tcr;

    /* Fetching from Device memory: MAIR_EL1 slot 1 is Device-nGnRE (0x04). */
    assert_int_equal(xlate(g, &r, dev, 1, ARM64_MMU_FETCH, &res), 0); /* MAIR not given */
    r.mair = 0x04ffull;
    expect_fault(g, &r, dev, 1, ARM64_MMU_FETCH, ARM64_MMU_E_PERMISSION, 3);
    assert_int_equal(xlate(g, &r, dev, 1, ARM64_MMU_READ, &res), 0);
    assert_int_equal(res.attr_index, 1);
    assert_int_equal(xlate(g, &r, rw_el1, 1, ARM64_MMU_FETCH, &res), 0);

    /* Permission indirection: addresses translate, permissions are not judged. */
    r.tcr2 = ARM64_TCR2_PIE;
    assert_int_equal(xlate(g, &r, user_rw, 0, ARM64_MMU_FETCH, &res), 0);
    assert_false(res.perms_checked);
    assert_int_equal(res.ipa, 0x40006000ull);
}

/* ---- TBI and byte order ---- */

static void test_tbi(void **state)
{
    guest_t *g = *state;
    geom_t geo = {12, 48, 0};
    uint64_t root = alloc_table(g, 4096);
    uint64_t tcr = tcr_make(16, ARM64_TCR_TG0_4K, 16, ARM64_TCR_TG1_4K, 5);
    arm64_mmu_regs_t r = regs_of(tcr, root, root);
    arm64_mmu_result_t res;

    map(g, &geo, root, 0x0000000012345000ull, 3, 0x40005000ull | KPAGE, 0);
    map(g, &geo, root, 0xffff800000001000ull, 3, 0x40001000ull | KPAGE, 0);

    /* Without TBI the tag byte puts the address in the hole. */
    expect_fault(g, &r, 0x5a00000012345678ull, 1, ARM64_MMU_READ, ARM64_MMU_E_VA_RANGE, 0);
    r.tcr = tcr | ARM64_TCR_TBI0 | ARM64_TCR_TBI1;
    assert_int_equal(xlate(g, &r, 0x5a00000012345678ull, 1, ARM64_MMU_READ, &res), 0);
    assert_int_equal(res.ipa, 0x40005678ull);
    assert_int_equal(xlate(g, &r, 0x12ff800000001008ull, 1, ARM64_MMU_WRITE, &res), 0);
    assert_int_equal(res.ipa, 0x40001008ull);
    /* TBI still applies to fetches unless TBIDn is set. */
    assert_int_equal(xlate(g, &r, 0x5a00000012345678ull, 1, ARM64_MMU_FETCH, &res), 0);
    r.tcr |= ARM64_TCR_TBID0;
    expect_fault(g, &r, 0x5a00000012345678ull, 1, ARM64_MMU_FETCH, ARM64_MMU_E_VA_RANGE, 0);
    assert_int_equal(xlate(g, &r, 0x5a00000012345678ull, 1, ARM64_MMU_READ, &res), 0);
    assert_int_equal(xlate(g, &r, 0x12ff800000001008ull, 1, ARM64_MMU_FETCH, &res), 0);
    /* The tag does not choose the range: bit 55 does. */
    expect_fault(g, &r, 0xff7f800000001000ull, 1, ARM64_MMU_READ, ARM64_MMU_E_VA_RANGE, 0);
}

static void test_big_endian_descriptors(void **state)
{
    guest_t *g = *state;
    geom_t geo = {16, 48, 1};
    uint64_t root = alloc_table(g, 65536);
    arm64_mmu_regs_t r =
        regs_of(tcr_make(16, ARM64_TCR_TG0_64K, 16, ARM64_TCR_TG1_64K, 5), root, 0);
    arm64_mmu_result_t res;
    uint32_t insn = 0;

    g->be = true;
    map(g, &geo, root, 0x0000123456780000ull, 3, 0x40010000ull | KPAGE, 0);
    put_insn(g, 0x40010010ull, 0xf9400020u); /* ldr x0, [x1] */

    r.sctlr |= ARM64_SCTLR_EE;
    assert_int_equal(xlate(g, &r, 0x0000123456780010ull, 1, ARM64_MMU_READ, &res), 0);
    assert_int_equal(res.ipa, 0x40010010ull);
    assert_int_equal(res.desc, 0x40010000ull | KPAGE);
    /* The instruction stays little-endian. */
    assert_int_equal(arm64_mmu_fetch_insn(&r, 0x0000123456780010ull, 1, read_cb, g, &insn, &res),
                     0);
    assert_int_equal(insn, 0xf9400020u);

    /* Read as little-endian, the same tables make no sense. */
    r.sctlr &= ~ARM64_SCTLR_EE;
    assert_int_not_equal(xlate(g, &r, 0x0000123456780010ull, 1, ARM64_MMU_READ, &res), 0);
}

/* ---- 52-bit addresses ---- */

static void test_52bit(void **state)
{
    guest_t *g = *state;
    geom_t g64 = {16, 48, 1}, g4 = {12, 52, -1}, g16 = {14, 48, 0};
    uint64_t root64 = alloc_table(g, 65536), root4 = alloc_table(g, 4096);
    uint64_t root16 = alloc_table(g, 16384);
    arm64_mmu_regs_t r;
    arm64_mmu_result_t res;

    /* 64K, IPS = 52 bits: descriptor bits [15:12] are OA[51:48]. */
    map(g, &g64, root64, 0x0000000000010000ull, 3, 0x40010000ull | (0x3ull << 12) | KPAGE, 0);
    r = regs_of(tcr_make(16, ARM64_TCR_TG0_64K, 16, ARM64_TCR_TG1_64K, 6), root64, 0);
    expect_ok(g, &r, 0x0000000000010abcull, 0x0003000040010abcull, 65536, 3, 3);
    /* ... with IPS = 48 bits that is an address size fault. */
    r.tcr = tcr_make(16, ARM64_TCR_TG0_64K, 16, ARM64_TCR_TG1_64K, 5);
    expect_fault(g, &r, 0x0000000000010abcull, 1, ARM64_MMU_READ, ARM64_MMU_E_ADDRESS_SIZE, 3);
    /* ... and with a 48-bit PA the bits are RES0 and ignored. */
    r.pa_bits = 48;
    expect_ok(g, &r, 0x0000000000010abcull, 0x40010abcull, 65536, 3, 3);

    /* TTBR bits [5:2] are BADDR[51:48] for 64K with IPS = 52 bits. */
    r = regs_of(tcr_make(16, ARM64_TCR_TG0_64K, 16, ARM64_TCR_TG1_64K, 6), root64 | 0x4, 0);
    expect_fault(g, &r, 0x10000ull, 1, ARM64_MMU_READ, ARM64_MMU_E_WALK_OUTSIDE_RAM, 1);
    assert_int_equal(g->last_read, (1ull << 48) | root64);
    /* ... but not with IPS = 48 bits: the walk starts at root64 again and reaches the
     * leaf, whose OA[51:48] is now too large. */
    r.tcr = tcr_make(16, ARM64_TCR_TG0_64K, 16, ARM64_TCR_TG1_64K, 5);
    expect_fault(g, &r, 0x0000000000010abcull, 1, ARM64_MMU_READ, ARM64_MMU_E_ADDRESS_SIZE, 3);
    assert_int_equal(g->reads, 3);

    /* 4K with DS = 1, T0SZ = 12: level -1, OA[51:50] in bits [9:8], [49:48] in place. */
    map(g, &g4, root4, 0x000f000000003000ull, 3,
        0x40003000ull | (2ull << 8) | (1ull << 48) | D_PAGE | D_AF, 0);
    r = regs_of(tcr_make(12, ARM64_TCR_TG0_4K, 16, ARM64_TCR_TG1_4K, 6) | ARM64_TCR_DS, root4, 0);
    expect_ok(g, &r, 0x000f000000003ff8ull, (1ull << 51) | (1ull << 48) | 0x40003ff8ull, 4096, 3,
              5);
    /* ... 512G blocks at level 0 exist with DS. */
    map(g, &g4, root4, 0x0001000000000000ull, 0, (1ull << 8) | D_BLOCK | D_AF, 0);
    expect_ok(g, &r, 0x0001001234567890ull, (1ull << 50) | 0x1234567890ull, 1ull << 39, 0, 2);
    /* ... TTBR bits [5:2] are BADDR[51:48] with DS. */
    r.ttbr0 = root4 | (0x1ull << 2);
    expect_fault(g, &r, 0x1000ull, 1, ARM64_MMU_READ, ARM64_MMU_E_WALK_OUTSIDE_RAM, -1);
    assert_int_equal(g->last_read, (1ull << 48) | root4);
    assert_int_equal(arm64_mmu_fsc(-ARM64_MMU_E_WALK_OUTSIDE_RAM, -1), 0x13);

    /* 16K with DS = 1: 64G blocks at level 1. */
    map(g, &g16, root16, 0x0000001000000000ull, 1, 0x1000000000ull | D_BLOCK | D_AF, 0);
    r = regs_of(tcr_make(16, ARM64_TCR_TG0_16K, 16, ARM64_TCR_TG1_16K, 6) | ARM64_TCR_DS, root16,
                0);
    expect_ok(g, &r, 0x0000001000000040ull, 0x1000000040ull, 1ull << 36, 1, 2);
    r.tcr &= ~ARM64_TCR_DS;
    assert_int_equal(xlate(g, &r, 0x0000001000000040ull, 1, ARM64_MMU_READ, &res),
                     -ARM64_MMU_E_RESERVED_DESC);
}

/* ---- a Linux guest ---- */

/*
 * The configuration a Linux arm64 defconfig kernel (4K pages, 48-bit VA)
 * runs with: TCR_EL1 = 0x35b5503510 is T0SZ = T1SZ = 16, IRGN/ORGN = WBWA,
 * SH = inner, TG0 = 0b00 (4K), TG1 = 0b10 (4K), A1, IPS = 0b101 (48 bits),
 * AS (16-bit ASIDs), TBI0.  The kernel image sits at 0xffff800080000000
 * in a 2M block; a user program's text page is at 0xaaaad5e01000.
 * Every index below is worked out by hand from the VA:
 *   0xffff800080001234: L0 [47:39] = 0x100, L1 [38:30] = 2, L2 [29:21] = 0
 *   0x0000aaaad5e01000: L0 = 0x155, L1 = 0xab, L2 = 0xaf, L3 = 1
 */
static void test_linux_defconfig(void **state)
{
    guest_t *g = *state;
    uint64_t pgd_k = alloc_table(g, 4096), pud_k = alloc_table(g, 4096);
    uint64_t pmd_k = alloc_table(g, 4096);
    uint64_t pgd_u = alloc_table(g, 4096), pud_u = alloc_table(g, 4096);
    uint64_t pmd_u = alloc_table(g, 4096), pte_u = alloc_table(g, 4096);
    arm64_mmu_regs_t r = {
        .sctlr = ARM64_SCTLR_M | (1ull << 2) | (1ull << 12), /* M, C, I */
        .tcr = 0x00000035b5503510ull,
        .ttbr0 = (0x0042ull << 48) | pgd_u,      /* ASID bits ignored */
        .ttbr1 = (0x0001ull << 48) | pgd_k | 1u, /* ASID (A1 = 1) and CnP */
        .mair = 0x000000040044ffffull,           /* Normal WB at 0, 1; NC 2; Device 3, 4 */
        .pa_bits = 40,
    };
    const uint64_t kva = 0xffff800080001234ull, uva = 0x0000aaaad5e01000ull;
    arm64_mmu_result_t res;
    arm64_insn_t decoded;
    uint32_t insn = 0;
    char line[256];

    /* Kernel text: EL1 read-only, executable at EL1 only, global. */
    put64(g, pgd_k + 8 * 0x100, pud_k | D_TABLE);
    put64(g, pud_k + 8 * 2, pmd_k | D_TABLE);
    put64(g, pmd_k + 8 * 0,
          0x40200000ull | D_BLOCK | D_ATTR(0) | D_SH_INNER | D_AF | D_AP_RO | D_UXN);
    put_insn(g, 0x40201234ull, 0xa8c17bfdu); /* ldp x29, x30, [sp], #16 */

    /* User text: read-only for both, executable at EL0 only (PXN), not global. */
    put64(g, pgd_u + 8 * 0x155, pud_u | D_TABLE);
    put64(g, pud_u + 8 * 0xab, pmd_u | D_TABLE);
    put64(g, pmd_u + 8 * 0xaf, pte_u | D_TABLE);
    put64(g, pte_u + 8 * 1,
          0x40003000ull | D_PAGE | D_SH_INNER | D_AF | D_NG | D_AP_EL0 | D_AP_RO | D_PXN);
    put_insn(g, 0x40003ffcull, 0xb9400c22u); /* ldr w2, [x1, #12] */

    assert_int_equal(arm64_mmu_fetch_insn(&r, kva, 1, read_cb, g, &insn, &res), 0);
    assert_int_equal(res.ipa, 0x40201234ull);
    assert_int_equal(res.level, 2);
    assert_int_equal(res.size, 2ull << 20);
    assert_true(res.ttbr1);
    assert_int_equal(insn, 0xa8c17bfdu);
    assert_int_equal(arm64_insn_decode(insn, &decoded), 0);
    assert_int_equal(decoded.form, ARM64_INSN_PAIR_POST);
    assert_true(decoded.load);
    arm64_mmu_describe(0, &res, line, sizeof(line));
    assert_string_equal(line, "VA 0xffff800080001234 -> IPA 0x40201234 (2M block at level 2, "
                              "TTBR1, AP 0b10, UXN)");

    /* EL0 cannot fetch kernel text: no EL0 rights, and UXN. */
    assert_int_equal(arm64_mmu_fetch_insn(&r, kva, 0, read_cb, g, &insn, &res),
                     -ARM64_MMU_E_PERMISSION);

    assert_int_equal(arm64_mmu_fetch_insn(&r, uva + 0xffc, 0, read_cb, g, &insn, &res), 0);
    assert_int_equal(insn, 0xb9400c22u);
    assert_int_equal(res.ipa, 0x40003ffcull);
    assert_true(res.ng);
    assert_false(res.ttbr1);
    /* The kernel cannot execute user text. */
    assert_int_equal(arm64_mmu_fetch_insn(&r, uva + 0xffc, 1, read_cb, g, &insn, &res),
                     -ARM64_MMU_E_PERMISSION);
    arm64_mmu_describe(-ARM64_MMU_E_PERMISSION, &res, line, sizeof(line));
    assert_non_null(strstr(line, "permission fault, level 3"));
    assert_non_null(strstr(line, "EL1 instruction fetch"));
    assert_non_null(strstr(line, "PXN"));

    /* A tagged user pointer (TBI0) reaches the same page for data. */
    assert_int_equal(xlate(g, &r, 0x2a00aaaad5e01008ull, 0, ARM64_MMU_READ, &res), 0);
    assert_int_equal(res.ipa, 0x40003008ull);
    /* TBI1 is clear: a tagged kernel pointer is in the hole. */
    expect_fault(g, &r, 0x2aff800080001234ull, 1, ARM64_MMU_READ, ARM64_MMU_E_VA_RANGE, 0);
    /* Past the 40-bit PA: IPS says 48 but the implementation has 40. */
    put64(g, pmd_k + 8 * 1, (1ull << 40) | D_BLOCK | D_AF);
    expect_fault(g, &r, 0xffff800080200000ull, 1, ARM64_MMU_READ, ARM64_MMU_E_ADDRESS_SIZE, 2);
}

/* ---- the fetch helper ---- */

static void test_fetch_insn(void **state)
{
    guest_t *g = *state;
    geom_t geo = {12, 39, 1};
    uint64_t root = alloc_table(g, 4096);
    arm64_mmu_regs_t r = regs_of(tcr_make(25, ARM64_TCR_TG0_4K, 25, ARM64_TCR_TG1_4K, 2), root, 0);
    arm64_mmu_result_t res;
    uint32_t insn = 0;
    char line[256];

    map(g, &geo, root, 0x0000000000400000ull, 3, 0x40001000ull | KPAGE, 0);
    map(g, &geo, root, 0x0000000000401000ull, 3, 0xf0000000ull | KPAGE, 0);
    put_insn(g, 0x40001008ull, 0x29000c22u); /* stp w2, w3, [x1] */

    assert_int_equal(arm64_mmu_fetch_insn(&r, 0x400008ull, 1, read_cb, g, &insn, &res), 0);
    assert_int_equal(insn, 0x29000c22u);
    assert_int_equal(g->last_read, 0x40001008ull);
    assert_int_equal(g->last_len, 4);

    assert_int_equal(arm64_mmu_fetch_insn(&r, 0x400002ull, 1, read_cb, g, &insn, &res),
                     -ARM64_MMU_E_PC_ALIGN);
    assert_int_equal(arm64_mmu_fsc(-ARM64_MMU_E_PC_ALIGN, 0), -1);
    assert_int_equal(arm64_mmu_fetch_insn(&r, 0x400008ull, 1, read_cb, g, NULL, &res),
                     -ARM64_MMU_E_BAD_ARG);

    /* Mapped, but to an IPA outside RAM. */
    assert_int_equal(arm64_mmu_fetch_insn(&r, 0x401ff0ull, 1, read_cb, g, &insn, &res),
                     -ARM64_MMU_E_INSN_OUTSIDE_RAM);
    assert_int_equal(res.ipa, 0xf0000ff0ull);
    assert_int_equal(arm64_mmu_fsc(-ARM64_MMU_E_INSN_OUTSIDE_RAM, 3), 0x10);
    arm64_mmu_describe(-ARM64_MMU_E_INSN_OUTSIDE_RAM, &res, line, sizeof(line));
    assert_string_equal(line, "VA 0x401ff0: instruction not in guest RAM (IPA 0xf0000ff0)");

    /* A translation failure comes back as is. */
    assert_int_equal(arm64_mmu_fetch_insn(&r, 0x402000ull, 1, read_cb, g, &insn, NULL),
                     -ARM64_MMU_E_INVALID_DESC);
}

/* ---- names, codes, descriptions ---- */

static void test_strings_and_codes(void **state)
{
    guest_t *g = *state;
    arm64_mmu_result_t res;
    char line[256], want[256], tiny[8];
    int n, level;

    for (int e = 0; e < ARM64_MMU_E_COUNT; e++) {
        const char *s = arm64_mmu_strerror(-e);

        assert_non_null(s);
        assert_string_not_equal(s, "unknown translation result");
        for (int f = 0; f < e; f++)
            assert_string_not_equal(s, arm64_mmu_strerror(f));
    }
    assert_string_equal(arm64_mmu_strerror(-ARM64_MMU_E_COUNT), "unknown translation result");

    /* Every code the walker reports decodes back to its kind and level. */
    for (level = -1; level <= 3; level++) {
        arm64_esr_fsc_kind_t kind;
        int got = 99;

        kind = arm64_esr_fsc_decode((unsigned int)arm64_mmu_fsc(-ARM64_MMU_E_INVALID_DESC, level),
                                    &got);
        assert_int_equal(kind, ARM64_ESR_FSC_TRANSLATION);
        assert_int_equal(got, level);
        kind = arm64_esr_fsc_decode((unsigned int)arm64_mmu_fsc(-ARM64_MMU_E_ADDRESS_SIZE, level),
                                    &got);
        assert_int_equal(kind, ARM64_ESR_FSC_ADDR_SIZE);
        assert_int_equal(got, level);
        kind = arm64_esr_fsc_decode(
            (unsigned int)arm64_mmu_fsc(-ARM64_MMU_E_WALK_OUTSIDE_RAM, level), &got);
        assert_int_equal(kind, ARM64_ESR_FSC_SEA_TTW);
        assert_int_equal(got, level);
        if (level < 0)
            continue;
        kind = arm64_esr_fsc_decode((unsigned int)arm64_mmu_fsc(-ARM64_MMU_E_ACCESS_FLAG, level),
                                    &got);
        assert_int_equal(kind, ARM64_ESR_FSC_ACCESS_FLAG);
        assert_int_equal(got, level);
        kind =
            arm64_esr_fsc_decode((unsigned int)arm64_mmu_fsc(-ARM64_MMU_E_PERMISSION, level), &got);
        assert_int_equal(kind, ARM64_ESR_FSC_PERMISSION);
        assert_int_equal(got, level);
    }
    assert_int_equal(
        arm64_esr_fsc_decode((unsigned int)arm64_mmu_fsc(-ARM64_MMU_E_INSN_OUTSIDE_RAM, 0), NULL),
        ARM64_ESR_FSC_SEA);
    assert_int_equal(arm64_mmu_fsc(-ARM64_MMU_E_PERMISSION, -1), -1);
    assert_int_equal(arm64_mmu_fsc(-ARM64_MMU_E_INVALID_DESC, 4), -1);
    assert_int_equal(arm64_mmu_fsc(-ARM64_MMU_E_UNSUPPORTED, 0), -1);
    assert_int_equal(arm64_mmu_fsc(0, 0), -1);

    /* A walk fault names the level and the descriptor. */
    uint64_t root = alloc_table(g, 4096);
    arm64_mmu_regs_t r = regs_of(tcr_make(16, ARM64_TCR_TG0_4K, 16, ARM64_TCR_TG1_4K, 5), 0, root);
    int err = xlate(g, &r, 0xffff000000000000ull, 1, ARM64_MMU_READ, &res);
    n = arm64_mmu_describe(err, &res, line, sizeof(line));
    assert_int_equal(n, (int)strlen(line));
    snprintf(want, sizeof(want),
             "VA 0xffff000000000000: translation fault: descriptor not valid, level 0 "
             "(descriptor 0x0000000000000000 at IPA 0x%llx, TTBR1)",
             (unsigned long long)root);
    assert_string_equal(line, want);
    /* Truncation: the full length comes back, the buffer stays terminated. */
    assert_int_equal(arm64_mmu_describe(err, &res, tiny, sizeof(tiny)), n);
    assert_int_equal(strlen(tiny), sizeof(tiny) - 1);

    err = xlate(g, &r, 0x0001000000000000ull, 1, ARM64_MMU_READ, &res);
    arm64_mmu_describe(err, &res, line, sizeof(line));
    assert_non_null(strstr(line, "(TTBR0, T0SZ 16)"));

    assert_int_equal(arm64_mmu_parange_bits(0x5), 48);
    assert_int_equal(arm64_mmu_parange_bits(0x00101122ull), 40);
    assert_int_equal(arm64_mmu_parange_bits(0x6), 52);
    assert_int_equal(arm64_mmu_parange_bits(0xf), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_4k_48bit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_4k_39bit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_16k_47bit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_16k_48bit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_64k_42bit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_64k_48bit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ttbr1_high, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mmu_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmapped_each_level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reserved_descriptors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_va_hole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_epd_and_e0pd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_address_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_access_flag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_walk_outside_ram, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permissions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permission_controls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tbi, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_endian_descriptors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_52bit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_linux_defconfig, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fetch_insn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strings_and_codes, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
