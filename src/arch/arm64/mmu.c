/*
 * mmu.c - AArch64 stage-1 translation table walk for the EL1&0 regime (see
 * include/vmmkit/arm64_mmu.h).
 *
 * The steps and their order are those of the Arm ARM (DDI 0487) pseudocode
 * AArch64.S1Translate / AArch64.S1Walk: TxSZ check, VA range check, E0PD,
 * EPD, then one descriptor per level from the start level; at the leaf the
 * output address size, then the access flag, then permissions.  Bit
 * positions are from D8 "Translation table descriptor formats" and D24.2.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <vmmkit/arm64_esr.h>
#include <vmmkit/arm64_mmu.h>

#include "arch/arm64/line.h"

/* VMSAv8-64 descriptor bits (Arm ARM D8, "Translation table descriptor formats"). */
#define DESC_VALID (1ull << 0)
#define DESC_TABLE (1ull << 1) /* table at levels -1..2, page at level 3; else block */
#define DESC_ATTRINDX_SHIFT 2  /* [4:2] */
#define DESC_AP_SHIFT 6        /* AP[2:1] in [7:6] */
#define DESC_AF (1ull << 10)
#define DESC_NG (1ull << 11)
#define DESC_DBM (1ull << 51)
#define DESC_PXN (1ull << 53)
#define DESC_UXN (1ull << 54)
#define TABLE_PXN (1ull << 59)
#define TABLE_UXN (1ull << 60)
#define TABLE_AP_SHIFT 61 /* APTable in [62:61] */

#define APTABLE_NO_EL0 1u /* APTable[0]: no EL0 access below */
#define APTABLE_RO 2u     /* APTable[1]: no write access below */

#define TCR_TXSZ_MASK 0x3fu
#define TCR_TG_MASK 3u
#define TCR_IPS_MASK 7u

/* The largest PA the VMSAv8-64 descriptor formats can express. */
#define MAX_PA_BITS 52u

/* Bits @hi..@lo set (0 <= lo <= hi <= 63). */
static uint64_t mask(unsigned int hi, unsigned int lo)
{
    return (~0ull >> (63 - hi)) & (~0ull << lo);
}

/* Everything the walk derives from the registers for one VA range. */
typedef struct walk {
    unsigned int gbits;  /* log2 of the granule: 12, 14 or 16 */
    unsigned int stride; /* VA bits resolved per level: gbits - 3 */
    unsigned int iasize; /* 64 - TxSZ */
    unsigned int oasize; /* output address size in bits */
    int start;           /* start level, -1..3 */
    bool ds;             /* 4K/16K with the 52-bit format (FEAT_LPA2) */
    bool lpa64k;         /* 64K: descriptor bits [15:12] are OA[51:48] (FEAT_LPA) */
    bool pa52;           /* the implementation may have a 52-bit PA */
    bool be;             /* big-endian descriptors */
} walk_t;

static int fail(arm64_mmu_result_t *res, arm64_mmu_err_t err, int level)
{
    res->level = level;
    return -(int)err;
}

/* The PA size the caller says the vCPU has, within what the formats express. */
static unsigned int pa_max(const arm64_mmu_regs_t *regs)
{
    if (regs->pa_bits == 0 || regs->pa_bits > MAX_PA_BITS)
        return MAX_PA_BITS;
    return regs->pa_bits < 32 ? 32 : regs->pa_bits;
}

/* TCR_EL1.IPS (D24.2): 0b110 is 52 bits; 0b111 means the same as 0b110 without D128. */
static unsigned int ips_bits(unsigned int ips)
{
    static const unsigned int bits[8] = {32, 36, 40, 42, 44, 48, 52, 52};

    return bits[ips & TCR_IPS_MASK];
}

/*
 * Granule bits from TG0 or TG1, which encode the sizes differently
 * (D24.2, TCR_EL1.TG0 and TG1).  0 for a reserved encoding.
 */
static unsigned int granule_bits(unsigned int tg, bool upper)
{
    static const unsigned int tg0[4] = {12, 16, 14, 0};
    static const unsigned int tg1[4] = {0, 14, 12, 16};

    return upper ? tg1[tg & TCR_TG_MASK] : tg0[tg & TCR_TG_MASK];
}

/* Bits [51:48] of an address held in a descriptor (AArch64.NextTableBase, LeafBase). */
static uint64_t desc_high_bits(const walk_t *w, uint64_t desc)
{
    if (w->ds)
        return ((desc >> 8) & 3u) << 50 | (desc & mask(49, 48));
    if (w->lpa64k)
        return ((desc >> 12) & 0xfu) << 48;
    return 0;
}

/* The address a table or leaf descriptor holds, aligned to 1 << @lo. */
static uint64_t desc_addr(const walk_t *w, uint64_t desc, unsigned int lo)
{
    return (desc & mask(47, lo)) | desc_high_bits(w, desc);
}

static bool oa_out_of_range(const walk_t *w, uint64_t addr)
{
    return (addr >> w->oasize) != 0;
}

/* AArch64.BlockDescSupported for VMSAv8-64. */
static bool block_allowed(const walk_t *w, int level)
{
    switch (w->gbits) {
    case 12:
        return level == 1 || level == 2 || (level == 0 && w->ds);
    case 14:
        return level == 2 || (level == 1 && w->ds);
    default:
        return level == 2 || (level == 1 && w->pa52);
    }
}

/*
 * The start level table's address from TTBRn (AArch64.S1TTBaseAddress):
 * BADDR aligned to the size of that table, at least 64 bytes with the
 * 52-bit formats, which keep BADDR[51:48] in TTBR bits [5:2].
 */
static uint64_t ttbr_base(const walk_t *w, uint64_t ttbr, bool ttb52)
{
    unsigned int levels = (unsigned int)(3 - w->start);
    unsigned int tsize = w->iasize - (levels * w->stride + w->gbits) + 3;
    uint64_t base;

    if (ttb52) {
        if (tsize < 6)
            tsize = 6;
        base = ((ttbr >> 2) & 0xfu) << 48 | (ttbr & mask(47, 6));
    } else {
        base = ttbr & mask(47, 1);
    }
    return base & ~((1ull << tsize) - 1);
}

static uint64_t load_desc(const uint8_t *b, bool be)
{
    uint64_t v = 0;

    for (unsigned int i = 0; i < 8; i++)
        v |= (uint64_t)b[be ? 7 - i : i] << (8 * i);
    return v;
}

/* SCTLR_EL1.M = 0: the flat map, checked against the PA size (AArch64.S1DisabledOutput). */
static int translate_mmu_off(const arm64_mmu_regs_t *regs, uint64_t va, unsigned int addrtop,
                             arm64_mmu_result_t *res)
{
    unsigned int pa = pa_max(regs);

    res->mmu_off = true;
    if (va & mask(addrtop, pa))
        return fail(res, ARM64_MMU_E_ADDRESS_SIZE, 0);
    res->ipa = va & mask(pa - 1, 0);
    res->size = 1ull << pa;
    res->ap = 1;
    res->af = true;
    res->perms_checked = true;
    res->perm_el0 = res->perm_el1 = ARM64_MMU_PERM_R | ARM64_MMU_PERM_W | ARM64_MMU_PERM_X;
    return 0;
}

/*
 * Stage 1 permissions of the leaf (AArch64.S1DirectBasePermissions and
 * AArch64.S1CheckPermissions).  @apt, @uxnt, @pxnt: the table controls
 * collected on the way down.  Fills the result's attributes; returns true
 * when the access is allowed.
 */
static bool check_permissions(const arm64_mmu_regs_t *regs, uint64_t desc, unsigned int apt,
                              bool uxnt, bool pxnt, unsigned int el, arm64_mmu_access_t access,
                              arm64_mmu_result_t *res)
{
    bool hd = (regs->tcr & ARM64_TCR_HA) && (regs->tcr & ARM64_TCR_HD);
    unsigned int ap = (unsigned int)(desc >> DESC_AP_SHIFT) & 3u;
    bool wxn = regs->sctlr & ARM64_SCTLR_WXN;
    bool pr = true, pw, ur, uw, px, ux, pan = false, device = false;
    bool r, w, x;

    /* With hardware dirty state, DBM makes AP[2] count as 0 (writable). */
    if (hd && (desc & DESC_DBM))
        ap &= ~2u;
    pw = !(ap & 2u);
    ur = ap & 1u;
    uw = ap == 1u;
    if (apt & APTABLE_NO_EL0)
        ur = uw = false;
    if (apt & APTABLE_RO)
        pw = uw = false;
    ux = !((desc & DESC_UXN) || uxnt);
    /* Memory EL0 can write is never executable at EL1. */
    px = !((desc & DESC_PXN) || pxnt || uw);

    res->ap = (pw ? 0u : 2u) | (ur ? 1u : 0u);

    /* PAN restricts EL1 data accesses to memory EL0 can reach (EPAN: or execute). */
    if (regs->pan && (ur || uw || ((regs->sctlr & ARM64_SCTLR_EPAN) && ux)))
        pan = true;

    res->perm_el0 = (ur ? ARM64_MMU_PERM_R : 0) | (uw ? ARM64_MMU_PERM_W : 0) |
                    (ux && !(wxn && uw) ? ARM64_MMU_PERM_X : 0);
    res->perm_el1 = (pr && !pan ? ARM64_MMU_PERM_R : 0) | (pw && !pan ? ARM64_MMU_PERM_W : 0) |
                    (px && !(wxn && pw) ? ARM64_MMU_PERM_X : 0);

    if (access == ARM64_MMU_FETCH && regs->mair) {
        unsigned int attr = (unsigned int)(regs->mair >> (8 * res->attr_index)) & 0xffu;

        device = (attr & 0xf0u) == 0; /* MAIR Attr<n>[7:4] = 0000: Device memory */
    }

    if (el == 0) {
        r = ur;
        w = uw;
        x = ux;
    } else {
        /* PAN is for data accesses only: a fetch sees the plain EL1 rights. */
        r = pr && !(pan && access != ARM64_MMU_FETCH);
        w = pw && !(pan && access != ARM64_MMU_FETCH);
        x = px;
    }
    if (wxn && w && x)
        x = false;

    switch (access) {
    case ARM64_MMU_FETCH:
        return x && !device;
    case ARM64_MMU_READ:
        return r;
    default:
        return w;
    }
}

int arm64_mmu_translate(const arm64_mmu_regs_t *regs, uint64_t va, unsigned int el,
                        arm64_mmu_access_t access, arm64_mmu_read_fn read, void *opaque,
                        arm64_mmu_result_t *res)
{
    arm64_mmu_result_t scratch;
    walk_t w = {0};
    bool upper = (va >> 55) & 1u;
    uint64_t tcr, ttbr;
    unsigned int addrtop, txsz, min_txsz, max_txsz, ips, apt = 0;
    bool tbi, tbid, uxnt = false, pxnt = false, hpd;
    uint64_t table, desc = 0;
    unsigned int top, leafbits;
    int level;

    if (!res)
        res = &scratch;
    memset(res, 0, sizeof(*res));
    res->va = va;
    res->el = el;
    res->access = access;
    if (!regs || !read || el > 1 || (unsigned int)access > ARM64_MMU_WRITE)
        return fail(res, ARM64_MMU_E_BAD_ARG, 0);
    tcr = regs->tcr;
    res->ttbr1 = upper;

    /* Top byte ignore (AArch64.AddrTop): TBID limits TBI to data accesses. */
    tbi = tcr & (upper ? ARM64_TCR_TBI1 : ARM64_TCR_TBI0);
    tbid = tcr & (upper ? ARM64_TCR_TBID1 : ARM64_TCR_TBID0);
    addrtop = (tbi && !(tbid && access == ARM64_MMU_FETCH)) ? 55 : 63;

    if (!(regs->sctlr & ARM64_SCTLR_M))
        return translate_mmu_off(regs, va, addrtop, res);

    if (regs->tcr2 & ARM64_TCR2_D128)
        return fail(res, ARM64_MMU_E_UNSUPPORTED, 0);

    w.gbits = granule_bits(
        (unsigned int)(tcr >> (upper ? ARM64_TCR_TG1_SHIFT : ARM64_TCR_TG0_SHIFT)), upper);
    if (!w.gbits)
        return fail(res, ARM64_MMU_E_BAD_TG, 0);
    w.stride = w.gbits - 3;
    res->granule = 1ull << w.gbits;
    txsz = (unsigned int)(tcr >> (upper ? ARM64_TCR_T1SZ_SHIFT : ARM64_TCR_T0SZ_SHIFT)) &
           TCR_TXSZ_MASK;
    res->txsz = txsz;
    w.ds = w.gbits != 16 && (tcr & ARM64_TCR_DS);
    w.pa52 = pa_max(regs) >= 52;
    w.lpa64k = w.gbits == 16 && w.pa52;
    w.be = regs->sctlr & ARM64_SCTLR_EE;

    /*
     * TxSZ limits: at least 16, or 12 with 52-bit VAs (64K with FEAT_LVA,
     * 4K/16K with DS); at most 48, 47 for 64K (FEAT_TTST).
     */
    min_txsz = (w.gbits == 16 || w.ds) ? 12 : 16;
    max_txsz = w.gbits == 16 ? 47 : 48;
    if (txsz < min_txsz || txsz > max_txsz)
        return fail(res, ARM64_MMU_E_BAD_TXSZ, 0);
    w.iasize = 64 - txsz;

    /* AArch64.VAIsOutOfRange: bits above the range must all equal bit 55. */
    if (addrtop >= w.iasize) {
        uint64_t m = mask(addrtop, w.iasize);

        if ((va & m) != (upper ? m : 0))
            return fail(res, ARM64_MMU_E_VA_RANGE, 0);
    }
    if (el == 0 && (tcr & (upper ? ARM64_TCR_E0PD1 : ARM64_TCR_E0PD0)))
        return fail(res, ARM64_MMU_E_EL0_DISABLED, 0);
    if (tcr & (upper ? ARM64_TCR_EPD1 : ARM64_TCR_EPD0))
        return fail(res, ARM64_MMU_E_WALK_DISABLED, 0);

    /* Output size (AArch64.PhysicalAddressSize, TCR_EL1.IPS). */
    ips = (unsigned int)(tcr >> ARM64_TCR_IPS_SHIFT) & TCR_IPS_MASK;
    w.oasize = ips_bits(ips);
    if (w.gbits != 16 && !w.ds && w.oasize > 48)
        w.oasize = 48;
    if (w.oasize > pa_max(regs))
        w.oasize = pa_max(regs);

    /* AArch64.S1StartLevel. */
    w.start = 3 - (int)((w.iasize - 1 - w.gbits) / w.stride);
    ttbr = upper ? regs->ttbr1 : regs->ttbr0;
    table = ttbr_base(&w, ttbr, w.ds || (w.gbits == 16 && ips >= 6 && w.pa52));
    if (oa_out_of_range(&w, table))
        return fail(res, ARM64_MMU_E_ADDRESS_SIZE, 0);

    /* Permission indirection and overlays disable the hierarchical controls too. */
    hpd = (tcr & (upper ? ARM64_TCR_HPD1 : ARM64_TCR_HPD0)) ||
          (regs->tcr2 & (ARM64_TCR2_PIE | ARM64_TCR2_POE));

    level = w.start;
    top = w.iasize - 1;
    for (;;) {
        unsigned int lsb = (unsigned int)(3 - level) * w.stride + w.gbits;
        uint64_t index = (va & mask(top, lsb)) >> lsb;
        uint8_t raw[8];

        res->desc_ipa = table | index << 3;
        res->has_desc = false;
        if (read(opaque, res->desc_ipa, raw, sizeof(raw)) != 0)
            return fail(res, ARM64_MMU_E_WALK_OUTSIDE_RAM, level);
        desc = load_desc(raw, w.be);
        res->desc = desc;
        res->has_desc = true;

        if (!(desc & DESC_VALID))
            return fail(res, ARM64_MMU_E_INVALID_DESC, level);
        if (level == 3) {
            if (!(desc & DESC_TABLE))
                return fail(res, ARM64_MMU_E_RESERVED_DESC, level);
            break;
        }
        if (!(desc & DESC_TABLE)) {
            if (!block_allowed(&w, level))
                return fail(res, ARM64_MMU_E_RESERVED_DESC, level);
            break;
        }
        /* A table descriptor: collect its controls, check the next address. */
        if (!hpd) {
            apt |= (unsigned int)(desc >> TABLE_AP_SHIFT) & 3u;
            uxnt = uxnt || (desc & TABLE_UXN);
            pxnt = pxnt || (desc & TABLE_PXN);
        }
        table = desc_addr(&w, desc, w.gbits);
        if (oa_out_of_range(&w, table))
            return fail(res, ARM64_MMU_E_ADDRESS_SIZE, level);
        top = lsb - 1;
        level++;
    }

    /* The leaf: output address, then access flag, then permissions. */
    res->level = level;
    leafbits = (unsigned int)(3 - level) * w.stride + w.gbits;
    res->size = 1ull << leafbits;
    res->attr_index = (unsigned int)(desc >> DESC_ATTRINDX_SHIFT) & 7u;
    res->ng = desc & DESC_NG;
    res->af = desc & DESC_AF;
    res->uxn = (desc & DESC_UXN) || uxnt;
    res->pxn = (desc & DESC_PXN) || pxnt;
    res->ap = (unsigned int)(desc >> DESC_AP_SHIFT) & 3u;
    table = desc_addr(&w, desc, leafbits);
    if (oa_out_of_range(&w, table))
        return fail(res, ARM64_MMU_E_ADDRESS_SIZE, level);
    if (!res->af && !(tcr & ARM64_TCR_HA))
        return fail(res, ARM64_MMU_E_ACCESS_FLAG, level);
    res->ipa = table | (va & mask(leafbits - 1, 0));

    if (regs->tcr2 & (ARM64_TCR2_PIE | ARM64_TCR2_POE))
        return 0;
    res->perms_checked = true;
    if (!check_permissions(regs, desc, apt, uxnt, pxnt, el, access, res))
        return fail(res, ARM64_MMU_E_PERMISSION, level);
    return 0;
}

int arm64_mmu_fetch_insn(const arm64_mmu_regs_t *regs, uint64_t pc, unsigned int el,
                         arm64_mmu_read_fn read, void *opaque, uint32_t *insn,
                         arm64_mmu_result_t *res)
{
    arm64_mmu_result_t scratch;
    uint8_t b[4];
    int err;

    if (!res)
        res = &scratch;
    if ((pc & 3u) || !insn) {
        memset(res, 0, sizeof(*res));
        res->va = pc;
        res->el = el;
        res->access = ARM64_MMU_FETCH;
        return fail(res, (pc & 3u) ? ARM64_MMU_E_PC_ALIGN : ARM64_MMU_E_BAD_ARG, 0);
    }
    err = arm64_mmu_translate(regs, pc, el, ARM64_MMU_FETCH, read, opaque, res);
    if (err)
        return err;
    /* Aligned to 4, the word never crosses a page. */
    if (read(opaque, res->ipa, b, sizeof(b)) != 0)
        return -(int)ARM64_MMU_E_INSN_OUTSIDE_RAM;
    *insn = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return 0;
}

const char *arm64_mmu_strerror(int err)
{
    static const char *const msg[ARM64_MMU_E_COUNT] = {
        [ARM64_MMU_OK] = "translated",
        [ARM64_MMU_E_INVALID_DESC] = "translation fault: descriptor not valid",
        [ARM64_MMU_E_RESERVED_DESC] =
            "translation fault: reserved descriptor (block not allowed here, or 0b01 at level 3)",
        [ARM64_MMU_E_VA_RANGE] =
            "translation fault: VA outside the TxSZ range (the hole between TTBR0 and TTBR1)",
        [ARM64_MMU_E_WALK_DISABLED] = "translation fault: walks disabled by TCR_EL1.EPDn",
        [ARM64_MMU_E_EL0_DISABLED] = "translation fault: EL0 access disabled by TCR_EL1.E0PDn",
        [ARM64_MMU_E_BAD_TXSZ] = "bad configuration: TCR_EL1.TnSZ out of range",
        [ARM64_MMU_E_ADDRESS_SIZE] = "address size fault: address beyond the output size",
        [ARM64_MMU_E_ACCESS_FLAG] = "access flag fault: AF is 0",
        [ARM64_MMU_E_PERMISSION] = "permission fault",
        [ARM64_MMU_E_WALK_OUTSIDE_RAM] = "walk outside RAM: a table descriptor is not in guest RAM",
        [ARM64_MMU_E_BAD_TG] = "bad configuration: reserved TCR_EL1.TGn granule encoding",
        [ARM64_MMU_E_UNSUPPORTED] = "unsupported: TCR2_EL1.D128 (128-bit descriptors)",
        [ARM64_MMU_E_BAD_ARG] = "bad argument: EL not 0 or 1, unknown access, or NULL",
        [ARM64_MMU_E_PC_ALIGN] = "PC not 4-byte aligned",
        [ARM64_MMU_E_INSN_OUTSIDE_RAM] = "instruction not in guest RAM",
    };

    if (err < 0)
        err = -err;
    if (err < ARM64_MMU_E_COUNT && msg[err])
        return msg[err];
    return "unknown translation result";
}

int arm64_mmu_fsc(int err, int level)
{
    if (err < 0)
        err = -err;
    if (level < -1 || level > 3)
        return -1;
    /* Codes: Arm ARM D24.2, ESR_EL2, DFSC/IFSC. */
    switch (err) {
    case ARM64_MMU_E_INVALID_DESC:
    case ARM64_MMU_E_RESERVED_DESC:
    case ARM64_MMU_E_VA_RANGE:
    case ARM64_MMU_E_WALK_DISABLED:
    case ARM64_MMU_E_EL0_DISABLED:
    case ARM64_MMU_E_BAD_TXSZ:
        return level < 0 ? 0x2b : (int)ARM64_ESR_FSC_TRANSLATION_L(level);
    case ARM64_MMU_E_ADDRESS_SIZE:
        return level < 0 ? 0x29 : level; /* 0b0000LL */
    case ARM64_MMU_E_ACCESS_FLAG:
        return level < 0 ? -1 : (int)ARM64_ESR_FSC_ACCESS_FLAG_L(level);
    case ARM64_MMU_E_PERMISSION:
        return level < 0 ? -1 : (int)ARM64_ESR_FSC_PERMISSION_L(level);
    case ARM64_MMU_E_WALK_OUTSIDE_RAM:
        return 0x14 + level; /* synchronous external abort on a walk; 0x13 is level -1 */
    case ARM64_MMU_E_INSN_OUTSIDE_RAM:
        return (int)ARM64_ESR_FSC_SEA_CODE;
    default:
        return -1;
    }
}

/* "4K", "2M", "1G", "512G", "4T": the largest unit that divides @size. */
static void put_size(line_t *l, uint64_t size)
{
    static const char unit[] = "KMGTP";
    unsigned int i = 0;

    size >>= 10;
    while (i + 1 < sizeof(unit) - 1 && size >= 1024 && !(size & 1023)) {
        size >>= 10;
        i++;
    }
    line_put(l, "%llu%c", (unsigned long long)size, unit[i]);
}

static const char *access_name(arm64_mmu_access_t access)
{
    switch (access) {
    case ARM64_MMU_FETCH:
        return "instruction fetch";
    case ARM64_MMU_READ:
        return "read";
    default:
        return "write";
    }
}

int arm64_mmu_describe(int err, const arm64_mmu_result_t *res, char *buf, size_t len)
{
    line_t l = {.buf = buf, .len = len, .pos = 0};
    const char *range;

    if (len)
        buf[0] = '\0';
    if (err < 0)
        err = -err;
    if (!res) {
        line_put(&l, "%s", arm64_mmu_strerror(err));
        return (int)l.pos;
    }
    range = res->ttbr1 ? "TTBR1" : "TTBR0";
    line_put(&l, "VA 0x%llx", (unsigned long long)res->va);
    if (err == ARM64_MMU_OK) {
        line_put(&l, " -> IPA 0x%llx (", (unsigned long long)res->ipa);
        if (res->mmu_off) {
            line_put(&l, "MMU off)");
            return (int)l.pos;
        }
        put_size(&l, res->size);
        line_put(&l, " %s at level %d, %s, AP 0b%u%u%s%s%s)", res->level == 3 ? "page" : "block",
                 res->level, range, (res->ap >> 1) & 1u, res->ap & 1u, res->uxn ? ", UXN" : "",
                 res->pxn ? ", PXN" : "", res->af ? "" : ", AF 0");
        return (int)l.pos;
    }
    line_put(&l, ": %s", arm64_mmu_strerror(err));
    switch (err) {
    case ARM64_MMU_E_INVALID_DESC:
    case ARM64_MMU_E_RESERVED_DESC:
    case ARM64_MMU_E_ACCESS_FLAG:
    case ARM64_MMU_E_PERMISSION:
    case ARM64_MMU_E_WALK_OUTSIDE_RAM:
    case ARM64_MMU_E_ADDRESS_SIZE:
        if (res->mmu_off) {
            line_put(&l, " (MMU off: the VA is beyond the PA size)");
            break;
        }
        line_put(&l, ", level %d", res->level);
        if (res->has_desc)
            line_put(&l, " (descriptor 0x%016llx at IPA 0x%llx, %s)", (unsigned long long)res->desc,
                     (unsigned long long)res->desc_ipa, range);
        else if (err == ARM64_MMU_E_WALK_OUTSIDE_RAM)
            line_put(&l, " (descriptor IPA 0x%llx, %s)", (unsigned long long)res->desc_ipa, range);
        else
            line_put(&l, " (%s base address)", range);
        if (err == ARM64_MMU_E_PERMISSION)
            line_put(&l, ": EL%u %s, AP 0b%u%u%s%s", res->el, access_name(res->access),
                     (res->ap >> 1) & 1u, res->ap & 1u, res->uxn ? ", UXN" : "",
                     res->pxn ? ", PXN" : "");
        break;
    case ARM64_MMU_E_VA_RANGE:
    case ARM64_MMU_E_WALK_DISABLED:
    case ARM64_MMU_E_EL0_DISABLED:
    case ARM64_MMU_E_BAD_TXSZ:
        line_put(&l, " (%s, T%cSZ %u)", range, res->ttbr1 ? '1' : '0', res->txsz);
        break;
    case ARM64_MMU_E_BAD_TG:
        line_put(&l, " (TG%c)", res->ttbr1 ? '1' : '0');
        break;
    case ARM64_MMU_E_INSN_OUTSIDE_RAM:
        line_put(&l, " (IPA 0x%llx)", (unsigned long long)res->ipa);
        break;
    default:
        break;
    }
    return (int)l.pos;
}

unsigned int arm64_mmu_parange_bits(uint64_t id_aa64mmfr0)
{
    static const unsigned int bits[16] = {32, 36, 40, 42, 44, 48, 52, 56};

    return bits[id_aa64mmfr0 & 0xfu];
}
