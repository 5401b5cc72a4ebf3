/*
 * insn.c - A64 load/store decoding and execution for MMIO emulation (see
 * include/vmmkit/arm64_insn.h).
 *
 * The decoder follows the Arm ARM (DDI 0487) C4.1 "Loads and Stores" table:
 * bits 28:25 = x1x0 select the group; bits 29:28 (with bit 27 = 1) split it
 * into exclusive/ordered/atomic (00), literal and RCpc/MOPS/MTE (01), pairs
 * (10) and single registers (11).  Field names are the Arm ARM's.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <vmmkit/arm64_insn.h>

#include "arch/arm64/line.h"

static uint32_t bits(uint32_t v, unsigned int hi, unsigned int lo)
{
    return (v >> lo) & ((1u << (hi - lo + 1)) - 1);
}

static int64_t sext(uint64_t v, unsigned int width)
{
    uint64_t m = 1ull << (width - 1);

    v &= (width == 64) ? ~0ull : (1ull << width) - 1;
    return (int64_t)((v ^ m) - m);
}

const char *arm64_insn_strerror(int err)
{
    static const char *const msg[ARM64_INSN_E_COUNT] = {
        [ARM64_INSN_OK] = "accepted",
        [ARM64_INSN_E_NOT_LOAD_STORE] = "not a load or store",
        [ARM64_INSN_E_UNALLOCATED] = "unallocated load/store encoding",
        [ARM64_INSN_E_EXCLUSIVE] = "exclusive load/store (LDXR, STXR, LDXP, ...)",
        [ARM64_INSN_E_ORDERED] = "load-acquire/store-release (LDAR, STLR, LDAPR, ...)",
        [ARM64_INSN_E_ATOMIC] = "atomic memory operation (LDADD, SWP, CAS, LD64B, ...)",
        [ARM64_INSN_E_SIMD_STRUCT] = "SIMD structure load/store (LD1..LD4, ST1..ST4)",
        [ARM64_INSN_E_PREFETCH] = "prefetch (PRFM, PRFUM): no data transfer",
        [ARM64_INSN_E_POINTER_AUTH] = "pointer-authenticated load (LDRAA, LDRAB)",
        [ARM64_INSN_E_MEMTAG] = "memory tagging instruction (STG, LDG, STGP, ...)",
        [ARM64_INSN_E_MEMCPY] = "memory copy/set instruction (CPY*, SET*)",
        [ARM64_INSN_E_SVE] = "SVE or SME instruction",
        [ARM64_INSN_E_UNPREDICTABLE] =
            "CONSTRAINED UNPREDICTABLE: writeback base is a transfer register, or LDP Rt == Rt2",
    };

    if (err < 0)
        err = -err;
    if (err < ARM64_INSN_E_COUNT && msg[err])
        return msg[err];
    return "unknown decode result";
}

/* Size, direction and register kind of a single-register access. */
typedef struct sized {
    unsigned int scale; /* log2 of the access size */
    bool load, sign, reg64, simd;
} sized_t;

/*
 * The size/opc table shared by every single-register class (Arm ARM C4.1,
 * "Load/store register (...)": size = bits 31:30, V = bit 26, opc = bits
 * 23:22).  @prefetch_ok: the class has PRFM/PRFUM at size 11, opc 10.
 */
static int size_opc(uint32_t insn, bool prefetch_ok, sized_t *s)
{
    unsigned int size = bits(insn, 31, 30), opc = bits(insn, 23, 22);

    memset(s, 0, sizeof(*s));
    if (bits(insn, 26, 26)) {
        s->simd = true;
        s->load = opc & 1;
        if (opc <= 1)
            s->scale = size; /* B, H, S, D */
        else if (size == 0)
            s->scale = 4; /* Q */
        else
            return -ARM64_INSN_E_UNALLOCATED;
        return 0;
    }
    s->scale = size;
    switch (opc) {
    case 0: /* STRB, STRH, STR Wt, STR Xt */
        s->reg64 = size == 3;
        return 0;
    case 1: /* LDRB, LDRH, LDR Wt, LDR Xt */
        s->load = true;
        s->reg64 = size == 3;
        return 0;
    case 2: /* LDRSB Xt, LDRSH Xt, LDRSW, PRFM */
        if (size == 3)
            return prefetch_ok ? -ARM64_INSN_E_PREFETCH : -ARM64_INSN_E_UNALLOCATED;
        s->load = s->sign = s->reg64 = true;
        return 0;
    default: /* LDRSB Wt, LDRSH Wt */
        if (size >= 2)
            return -ARM64_INSN_E_UNALLOCATED;
        s->load = s->sign = true;
        return 0;
    }
}

static void single(arm64_insn_t *out, const sized_t *s, unsigned int rt, int64_t offset)
{
    out->load = s->load;
    out->nr_access = 1;
    out->access[0] = (arm64_insn_access_t){
        .offset = offset,
        .size = (uint8_t)(1u << s->scale),
        .reg = (uint8_t)rt,
        .simd = s->simd,
        .reg64 = s->reg64,
        .sign_extend = s->sign,
    };
}

/* Bits 29:27 = 111: the single-register classes. */
static int decode_single(uint32_t insn, arm64_insn_t *out)
{
    unsigned int rt = bits(insn, 4, 0), rn = bits(insn, 9, 5);
    bool v = bits(insn, 26, 26);
    sized_t s;
    int r;

    out->base = rn;
    if (bits(insn, 24, 24)) { /* unsigned immediate */
        if ((r = size_opc(insn, true, &s)) < 0)
            return r;
        out->form = ARM64_INSN_IMM_UNSIGNED;
        single(out, &s, rt, (int64_t)bits(insn, 21, 10) << s.scale);
        return 0;
    }
    if (!bits(insn, 21, 21)) { /* 9-bit signed immediate classes */
        unsigned int op = bits(insn, 11, 10);
        int64_t imm9 = sext(bits(insn, 20, 12), 9);

        if (op == 2 && v) /* no unprivileged SIMD&FP forms */
            return -ARM64_INSN_E_UNALLOCATED;
        if ((r = size_opc(insn, op == 0, &s)) < 0)
            return r;
        switch (op) {
        case 0:
            out->form = ARM64_INSN_IMM_UNSCALED;
            single(out, &s, rt, imm9);
            return 0;
        case 2:
            out->form = ARM64_INSN_UNPRIVILEGED;
            single(out, &s, rt, imm9);
            return 0;
        case 1:
            out->form = ARM64_INSN_IMM_POST;
            out->writeback = ARM64_INSN_WB_POST;
            single(out, &s, rt, 0);
            break;
        default:
            out->form = ARM64_INSN_IMM_PRE;
            out->writeback = ARM64_INSN_WB_PRE;
            single(out, &s, rt, imm9);
            break;
        }
        out->wb_offset = imm9;
        /* LDR/STR (immediate) pseudo-code: wback && n == t && n != 31. */
        if (!v && rn == rt && rn != 31)
            return -ARM64_INSN_E_UNPREDICTABLE;
        return 0;
    }
    switch (bits(insn, 11, 10)) {
    case 0: /* atomic memory operations; LDAPR lives here (o3 = 1, opc = 100) */
        if (v)
            return -ARM64_INSN_E_UNALLOCATED;
        if (bits(insn, 15, 15) && bits(insn, 14, 12) == 4)
            return -ARM64_INSN_E_ORDERED;
        return -ARM64_INSN_E_ATOMIC;
    case 2: { /* register offset */
        unsigned int option = bits(insn, 15, 13);

        if (!(option & 2))
            return -ARM64_INSN_E_UNALLOCATED;
        if ((r = size_opc(insn, true, &s)) < 0)
            return r;
        out->form = ARM64_INSN_REG_OFFSET;
        single(out, &s, rt, 0);
        out->has_index = true;
        out->index_reg = bits(insn, 20, 16);
        out->extend = (arm64_insn_extend_t)option;
        out->shift = bits(insn, 12, 12) ? s.scale : 0;
        return 0;
    }
    default: /* LDRAA/LDRAB: size 11, V 0 */
        if (!v && bits(insn, 31, 30) == 3)
            return -ARM64_INSN_E_POINTER_AUTH;
        return -ARM64_INSN_E_UNALLOCATED;
    }
}

/* Bits 29:27 = 101: load/store pair. */
static int decode_pair(uint32_t insn, arm64_insn_t *out)
{
    unsigned int opc = bits(insn, 31, 30), type = bits(insn, 24, 23);
    unsigned int rt = bits(insn, 4, 0), rt2 = bits(insn, 14, 10), rn = bits(insn, 9, 5);
    bool v = bits(insn, 26, 26), load = bits(insn, 22, 22);
    bool sign = false, reg64 = false;
    unsigned int scale;
    int64_t imm;

    if (v) {
        if (opc == 3)
            return -ARM64_INSN_E_UNALLOCATED;
        scale = 2 + opc; /* S, D, Q */
    } else if (opc == 0) {
        scale = 2;
    } else if (opc == 2) {
        scale = 3;
        reg64 = true;
    } else if (opc == 1 && type != 0) {
        if (!load)
            return -ARM64_INSN_E_MEMTAG; /* STGP */
        scale = 2;                       /* LDPSW */
        sign = reg64 = true;
    } else {
        return -ARM64_INSN_E_UNALLOCATED;
    }
    imm = sext(bits(insn, 21, 15), 7) * (1ll << scale);

    out->base = rn;
    out->load = load;
    out->nr_access = 2;
    for (unsigned int i = 0; i < 2; i++)
        out->access[i] = (arm64_insn_access_t){
            .size = (uint8_t)(1u << scale),
            .reg = (uint8_t)(i ? rt2 : rt),
            .simd = v,
            .reg64 = reg64,
            .sign_extend = sign,
        };
    switch (type) {
    case 0:
        out->form = ARM64_INSN_PAIR_NOALLOC;
        break;
    case 1:
        out->form = ARM64_INSN_PAIR_POST;
        out->writeback = ARM64_INSN_WB_POST;
        break;
    case 2:
        out->form = ARM64_INSN_PAIR_OFFSET;
        break;
    default:
        out->form = ARM64_INSN_PAIR_PRE;
        out->writeback = ARM64_INSN_WB_PRE;
        break;
    }
    if (out->writeback != ARM64_INSN_WB_POST)
        out->access[0].offset = imm;
    out->access[1].offset = out->access[0].offset + (1ll << scale);
    if (out->writeback != ARM64_INSN_WB_NONE)
        out->wb_offset = imm;

    /* LDP/STP pseudo-code: the two CONSTRAINED UNPREDICTABLE cases. */
    if (load && rt == rt2)
        return -ARM64_INSN_E_UNPREDICTABLE;
    if (!v && out->writeback != ARM64_INSN_WB_NONE && (rt == rn || rt2 == rn) && rn != 31)
        return -ARM64_INSN_E_UNPREDICTABLE;
    return 0;
}

/* Bits 29:27 = 011, bit 24 = 0: load register (literal). */
static int decode_literal(uint32_t insn, arm64_insn_t *out)
{
    unsigned int opc = bits(insn, 31, 30);
    sized_t s = {.load = true};

    if (bits(insn, 26, 26)) {
        if (opc == 3)
            return -ARM64_INSN_E_UNALLOCATED;
        s.simd = true;
        s.scale = 2 + opc; /* S, D, Q */
    } else if (opc == 3) {
        return -ARM64_INSN_E_PREFETCH; /* PRFM (literal) */
    } else {
        s.scale = opc == 1 ? 3 : 2;
        s.reg64 = opc != 0;
        s.sign = opc == 2; /* LDRSW (literal) */
    }
    out->form = ARM64_INSN_LITERAL;
    out->base = ARM64_INSN_REG_PC;
    single(out, &s, bits(insn, 4, 0), sext(bits(insn, 23, 5), 19) * 4);
    return 0;
}

/* Bits 29:27 = 001: exclusive, ordered, compare-and-swap; SIMD structures. */
static int decode_ordered_group(uint32_t insn)
{
    bool o2 = bits(insn, 23, 23), o1 = bits(insn, 21, 21);

    if (bits(insn, 26, 26))
        return bits(insn, 31, 31) ? -ARM64_INSN_E_UNALLOCATED : -ARM64_INSN_E_SIMD_STRUCT;
    if (bits(insn, 24, 24))
        return -ARM64_INSN_E_UNALLOCATED;
    if (!o2 && !o1)
        return -ARM64_INSN_E_EXCLUSIVE; /* LDXR, STXR, LDAXR, STLXR (B/H/W/X) */
    if (!o2)                            /* LDXP/STXP (size 1x) or CASP (size 0x) */
        return bits(insn, 31, 31) ? -ARM64_INSN_E_EXCLUSIVE : -ARM64_INSN_E_ATOMIC;
    if (!o1)
        return -ARM64_INSN_E_ORDERED; /* LDAR, STLR, LDLAR, STLLR */
    return -ARM64_INSN_E_ATOMIC;      /* CAS, CASA, CASL, CASAL (B/H/W/X) */
}

int arm64_insn_decode(uint32_t insn, arm64_insn_t *out)
{
    memset(out, 0, sizeof(*out));
    out->raw = insn;

    if ((insn & 0x0a000000u) != 0x08000000u) { /* bits 28:25 != x1x0 */
        unsigned int op0 = bits(insn, 28, 25);

        if (op0 == 2 || (op0 == 0 && bits(insn, 31, 31)))
            return -ARM64_INSN_E_SVE; /* SVE: op0 0010; SME: op0 0000 with bit 31 set */
        return -ARM64_INSN_E_NOT_LOAD_STORE;
    }
    switch (bits(insn, 29, 28)) {
    case 0:
        return decode_ordered_group(insn);
    case 1:
        if (!bits(insn, 24, 24))
            return decode_literal(insn, out);
        /* RCpc unscaled (LDAPUR, STLUR), FEAT_MOPS and FEAT_MTE tag accesses. */
        if (bits(insn, 31, 24) == 0xd9 && bits(insn, 21, 21))
            return -ARM64_INSN_E_MEMTAG;
        if (!bits(insn, 21, 21) && bits(insn, 11, 10) == 1)
            return -ARM64_INSN_E_MEMCPY;
        return -ARM64_INSN_E_ORDERED;
    case 2:
        return decode_pair(insn, out);
    default:
        return decode_single(insn, out);
    }
}

static void put_data_reg(line_t *l, const arm64_insn_access_t *a)
{
    static const char simd_names[] = "bhsdq";

    if (a->simd) {
        unsigned int k = a->size == 1   ? 0
                         : a->size == 2 ? 1
                         : a->size == 4 ? 2
                         : a->size == 8 ? 3
                                        : 4;

        line_put(l, "%c%u", simd_names[k], a->reg);
    } else if (a->reg == 31) {
        line_put(l, "%s", a->reg64 ? "xzr" : "wzr");
    } else {
        line_put(l, "%c%u", a->reg64 ? 'x' : 'w', a->reg);
    }
}

static void put_base(line_t *l, unsigned int rn)
{
    if (rn == ARM64_INSN_REG_PC)
        line_put(l, "pc");
    else if (rn == 31)
        line_put(l, "sp");
    else
        line_put(l, "x%u", rn);
}

/* The mnemonic, e.g. "ldrsb", "sturh", "ldtrsw", "ldpsw", "stnp". */
static void put_mnemonic(line_t *l, const arm64_insn_t *in)
{
    const arm64_insn_access_t *a = &in->access[0];

    if (in->nr_access == 2) {
        bool nt = in->form == ARM64_INSN_PAIR_NOALLOC;

        line_put(l, "%s%s%s", in->load ? "ld" : "st", nt ? "np" : "p", a->sign_extend ? "sw" : "");
        return;
    }
    line_put(l, "%s", in->load ? "ld" : "st");
    if (in->form == ARM64_INSN_IMM_UNSCALED)
        line_put(l, "ur");
    else if (in->form == ARM64_INSN_UNPRIVILEGED)
        line_put(l, "tr");
    else
        line_put(l, "r");
    if (a->simd)
        return;
    if (a->sign_extend)
        line_put(l, "s");
    if (a->size == 1)
        line_put(l, "b");
    else if (a->size == 2)
        line_put(l, "h");
    else if (a->size == 4 && a->sign_extend)
        line_put(l, "w");
}

int arm64_insn_describe(const arm64_insn_t *in, char *buf, size_t len)
{
    static const char *const ext_names[8] = {
        [ARM64_INSN_EXT_UXTW] = "uxtw",
        [ARM64_INSN_EXT_LSL] = "lsl",
        [ARM64_INSN_EXT_SXTW] = "sxtw",
        [ARM64_INSN_EXT_SXTX] = "sxtx",
    };
    line_t l = {.buf = buf, .len = len, .pos = 0};
    int64_t off = in->access[0].offset;

    if (len)
        buf[0] = '\0';
    put_mnemonic(&l, in);
    line_put(&l, " ");
    put_data_reg(&l, &in->access[0]);
    if (in->nr_access == 2) {
        line_put(&l, ", ");
        put_data_reg(&l, &in->access[1]);
    }
    line_put(&l, ", [");
    put_base(&l, in->base);
    switch (in->writeback) {
    case ARM64_INSN_WB_POST:
        line_put(&l, "], #%lld", (long long)in->wb_offset);
        break;
    case ARM64_INSN_WB_PRE:
        line_put(&l, ", #%lld]!", (long long)off);
        break;
    default:
        if (in->has_index) {
            bool w = in->extend == ARM64_INSN_EXT_UXTW || in->extend == ARM64_INSN_EXT_SXTW;
            bool s_bit = bits(in->raw, 12, 12);

            line_put(&l, ", ");
            if (in->index_reg == 31)
                line_put(&l, "%s", w ? "wzr" : "xzr");
            else
                line_put(&l, "%c%u", w ? 'w' : 'x', in->index_reg);
            /* LSL without S is implied; any other extend, or S, is printed. */
            if (in->extend != ARM64_INSN_EXT_LSL || s_bit)
                line_put(&l, ", %s", ext_names[in->extend]);
            if (s_bit)
                line_put(&l, " #%u", in->shift);
        } else if (off || in->form == ARM64_INSN_LITERAL) {
            line_put(&l, ", #%lld", (long long)off);
        }
        line_put(&l, "]");
        break;
    }
    return (int)l.pos;
}

/* The base value and index term shared by every access. */
static uint64_t base_plus_index(const arm64_insn_t *in, const arm64_insn_ops_t *ops, void *opaque,
                                uint64_t *base)
{
    uint64_t idx = 0;

    *base = ops->read_reg(opaque, in->base);
    if (in->has_index) {
        if (in->index_reg != 31)
            idx = ops->read_reg(opaque, in->index_reg);
        switch (in->extend) {
        case ARM64_INSN_EXT_UXTW:
            idx = (uint32_t)idx;
            break;
        case ARM64_INSN_EXT_SXTW:
            idx = (uint64_t)(int64_t)(int32_t)idx;
            break;
        default:
            break;
        }
        idx <<= in->shift;
    }
    return *base + idx;
}

unsigned int arm64_insn_addresses(const arm64_insn_t *in, const arm64_insn_ops_t *ops, void *opaque,
                                  uint64_t addr[2])
{
    uint64_t base;
    uint64_t start = base_plus_index(in, ops, opaque, &base);

    for (unsigned int i = 0; i < in->nr_access; i++)
        addr[i] = start + (uint64_t)in->access[i].offset;
    return in->nr_access;
}

static uint64_t le_value(const uint8_t *b, unsigned int size)
{
    uint64_t v = 0;

    for (unsigned int i = size; i-- > 0;)
        v = (v << 8) | b[i];
    return v;
}

static void le_bytes(uint8_t *b, uint64_t v, unsigned int size)
{
    for (unsigned int i = 0; i < size; i++, v >>= 8)
        b[i] = (uint8_t)v;
}

int arm64_insn_apply(const arm64_insn_t *in, const arm64_insn_ops_t *ops, void *opaque)
{
    uint8_t data[2][16];
    uint64_t addr[2], base;
    int r;

    if (in->access[0].simd && (!ops->read_vreg || !ops->write_vreg))
        return -EINVAL;
    addr[0] = base_plus_index(in, ops, opaque, &base);
    addr[1] = addr[0] + (uint64_t)in->access[1].offset;
    addr[0] += (uint64_t)in->access[0].offset;

    for (unsigned int i = 0; i < in->nr_access; i++) {
        const arm64_insn_access_t *a = &in->access[i];

        if (in->load) {
            if ((r = ops->mem_read(opaque, addr[i], data[i], a->size)) < 0)
                return r;
            continue;
        }
        if (a->simd)
            ops->read_vreg(opaque, a->reg, data[i], a->size);
        else
            le_bytes(data[i], a->reg == 31 ? 0 : ops->read_reg(opaque, a->reg), a->size);
    }
    /* Store data was read before any store, so STP of the same register is fine. */
    for (unsigned int i = 0; i < in->nr_access && !in->load; i++)
        if ((r = ops->mem_write(opaque, addr[i], data[i], in->access[i].size)) < 0)
            return r;

    for (unsigned int i = 0; i < in->nr_access && in->load; i++) {
        const arm64_insn_access_t *a = &in->access[i];
        uint64_t v;

        if (a->simd) {
            ops->write_vreg(opaque, a->reg, data[i], a->size);
            continue;
        }
        if (a->reg == 31)
            continue; /* XZR/WZR: the value is discarded */
        v = le_value(data[i], a->size);
        if (a->sign_extend)
            v = (uint64_t)sext(v, a->size * 8u);
        if (!a->reg64)
            v = (uint32_t)v;
        ops->write_reg(opaque, a->reg, v);
    }
    if (in->writeback != ARM64_INSN_WB_NONE)
        ops->write_reg(opaque, in->base, base + (uint64_t)in->wb_offset);
    return 0;
}
