/*
 * esr.c - ESR_EL2 decoding (see include/vmmkit/arm64_esr.h).
 *
 * Field positions and codes follow the Arm ARM (DDI 0487), D24.2 "ESR_EL2".
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include <vmmkit/arm64_esr.h>

#include "arch/arm64/line.h"

/* Data/instruction abort ISS fields (Arm ARM D24.2, ESR_EL2, ISS encodings). */
#define ISS_ISV (1u << 24)
#define ISS_SAS_SHIFT 22
#define ISS_SSE (1u << 21)
#define ISS_SRT_SHIFT 16
#define ISS_SF (1u << 15)
#define ISS_AR (1u << 14)
#define ISS_VNCR (1u << 13)
#define ISS_SET_SHIFT 11
#define ISS_FNV (1u << 10)
#define ISS_EA (1u << 9)
#define ISS_CM (1u << 8)
#define ISS_S1PTW (1u << 7)
#define ISS_WNR (1u << 6)
#define ISS_FSC_MASK 0x3fu

typedef struct ec_info {
    const char *name;
    const char *desc;
} ec_info_t;

static const ec_info_t ec_table[64] = {
    [ARM64_ESR_EC_UNKNOWN] = {"UNKNOWN", "unknown reason"},
    [ARM64_ESR_EC_WFX] = {"WFX", "trapped WFI/WFE/WFIT/WFET"},
    [ARM64_ESR_EC_CP15_32] = {"CP15_32", "trapped AArch32 MCR/MRC (coproc 15)"},
    [ARM64_ESR_EC_CP15_64] = {"CP15_64", "trapped AArch32 MCRR/MRRC (coproc 15)"},
    [ARM64_ESR_EC_CP14_MR] = {"CP14_MR", "trapped AArch32 MCR/MRC (coproc 14)"},
    [ARM64_ESR_EC_CP14_LS] = {"CP14_LS", "trapped AArch32 LDC/STC (coproc 14)"},
    [ARM64_ESR_EC_FP_ASIMD] = {"FP_ASIMD", "trapped SVE/SIMD/FP access"},
    [ARM64_ESR_EC_CP10_ID] = {"CP10_ID", "trapped AArch32 VMRS of an ID register"},
    [ARM64_ESR_EC_PAC] = {"PAC", "trapped pointer authentication instruction"},
    [ARM64_ESR_EC_LS64] = {"LS64", "trapped LD64B/ST64B"},
    [ARM64_ESR_EC_CP14_64] = {"CP14_64", "trapped AArch32 MRRC (coproc 14)"},
    [ARM64_ESR_EC_BTI] = {"BTI", "branch target exception"},
    [ARM64_ESR_EC_ILL] = {"ILL", "illegal execution state"},
    [ARM64_ESR_EC_SVC32] = {"SVC32", "SVC from AArch32"},
    [ARM64_ESR_EC_HVC32] = {"HVC32", "HVC from AArch32"},
    [ARM64_ESR_EC_SMC32] = {"SMC32", "SMC from AArch32"},
    [ARM64_ESR_EC_SVC64] = {"SVC64", "SVC from AArch64"},
    [ARM64_ESR_EC_HVC64] = {"HVC64", "HVC from AArch64"},
    [ARM64_ESR_EC_SMC64] = {"SMC64", "SMC from AArch64"},
    [ARM64_ESR_EC_SYS64] = {"SYS64", "trapped MSR/MRS/system instruction"},
    [ARM64_ESR_EC_SVE] = {"SVE", "trapped SVE access"},
    [ARM64_ESR_EC_ERET] = {"ERET", "trapped ERET/ERETAA/ERETAB"},
    [ARM64_ESR_EC_FPAC] = {"FPAC", "pointer authentication failure"},
    [ARM64_ESR_EC_SME] = {"SME", "trapped SME access"},
    [ARM64_ESR_EC_IMP_DEF] = {"IMP_DEF", "IMPLEMENTATION DEFINED exception to EL3"},
    [ARM64_ESR_EC_IABT_LOW] = {"IABT_LOW", "instruction abort from a lower EL"},
    [ARM64_ESR_EC_IABT_CUR] = {"IABT_CUR", "instruction abort at the same EL"},
    [ARM64_ESR_EC_PC_ALIGN] = {"PC_ALIGN", "PC alignment fault"},
    [ARM64_ESR_EC_DABT_LOW] = {"DABT_LOW", "data abort from a lower EL"},
    [ARM64_ESR_EC_DABT_CUR] = {"DABT_CUR", "data abort at the same EL"},
    [ARM64_ESR_EC_SP_ALIGN] = {"SP_ALIGN", "SP alignment fault"},
    [ARM64_ESR_EC_MOPS] = {"MOPS", "memory copy/set instruction exception"},
    [ARM64_ESR_EC_FP_EXC32] = {"FP_EXC32", "trapped floating-point exception (AArch32)"},
    [ARM64_ESR_EC_FP_EXC64] = {"FP_EXC64", "trapped floating-point exception (AArch64)"},
    [ARM64_ESR_EC_GCS] = {"GCS", "guarded control stack exception"},
    [ARM64_ESR_EC_SERROR] = {"SERROR", "SError exception"},
    [ARM64_ESR_EC_BREAKPT_LOW] = {"BREAKPT_LOW", "breakpoint from a lower EL"},
    [ARM64_ESR_EC_BREAKPT_CUR] = {"BREAKPT_CUR", "breakpoint at the same EL"},
    [ARM64_ESR_EC_SOFTSTP_LOW] = {"SOFTSTP_LOW", "software step from a lower EL"},
    [ARM64_ESR_EC_SOFTSTP_CUR] = {"SOFTSTP_CUR", "software step at the same EL"},
    [ARM64_ESR_EC_WATCHPT_LOW] = {"WATCHPT_LOW", "watchpoint from a lower EL"},
    [ARM64_ESR_EC_WATCHPT_CUR] = {"WATCHPT_CUR", "watchpoint at the same EL"},
    [ARM64_ESR_EC_BKPT32] = {"BKPT32", "BKPT (AArch32)"},
    [ARM64_ESR_EC_VECTOR32] = {"VECTOR32", "vector catch (AArch32)"},
    [ARM64_ESR_EC_BRK64] = {"BRK64", "BRK (AArch64)"},
};

const char *arm64_esr_ec_name(unsigned int ec)
{
    if (ec < 64 && ec_table[ec].name)
        return ec_table[ec].name;
    return "UNALLOCATED";
}

const char *arm64_esr_ec_desc(unsigned int ec)
{
    if (ec < 64 && ec_table[ec].desc)
        return ec_table[ec].desc;
    return "unallocated exception class";
}

bool arm64_esr_is_dabt(uint64_t esr)
{
    unsigned int ec = arm64_esr_ec(esr);

    return ec == ARM64_ESR_EC_DABT_LOW || ec == ARM64_ESR_EC_DABT_CUR;
}

bool arm64_esr_is_iabt(uint64_t esr)
{
    unsigned int ec = arm64_esr_ec(esr);

    return ec == ARM64_ESR_EC_IABT_LOW || ec == ARM64_ESR_EC_IABT_CUR;
}

/*
 * The DFSC/IFSC code table (Arm ARM D24.2, ESR_EL2.ISS "DFSC, bits [5:0]").
 * Codes with a level come in runs; the level of the first code of each run
 * is given, the rest follow.
 */
arm64_esr_fsc_kind_t arm64_esr_fsc_decode(unsigned int fsc, int *level)
{
    arm64_esr_fsc_kind_t kind = ARM64_ESR_FSC_RESERVED;
    int lvl = 0;

    fsc &= ISS_FSC_MASK;
    if (fsc <= 0x03) {
        kind = ARM64_ESR_FSC_ADDR_SIZE, lvl = (int)fsc;
    } else if (fsc <= 0x07) {
        kind = ARM64_ESR_FSC_TRANSLATION, lvl = (int)fsc - 0x04;
    } else if (fsc <= 0x0b) {
        kind = ARM64_ESR_FSC_ACCESS_FLAG, lvl = (int)fsc - 0x08;
    } else if (fsc <= 0x0f) {
        kind = ARM64_ESR_FSC_PERMISSION, lvl = (int)fsc - 0x0c;
    } else if (fsc == 0x10) {
        kind = ARM64_ESR_FSC_SEA;
    } else if (fsc == 0x11) {
        kind = ARM64_ESR_FSC_TAG_CHECK;
    } else if (fsc >= 0x12 && fsc <= 0x17) {
        kind = ARM64_ESR_FSC_SEA_TTW, lvl = (int)fsc - 0x14; /* 0x12 is level -2 */
    } else if (fsc == 0x18) {
        kind = ARM64_ESR_FSC_PARITY;
    } else if (fsc >= 0x1b && fsc <= 0x1f) {
        kind = ARM64_ESR_FSC_PARITY_TTW, lvl = (int)fsc - 0x1c; /* 0x1b is level -1 */
    } else if (fsc == 0x21) {
        kind = ARM64_ESR_FSC_ALIGNMENT;
    } else if (fsc >= 0x22 && fsc <= 0x27) {
        kind = ARM64_ESR_FSC_GPF_TTW, lvl = (int)fsc - 0x24; /* 0x22 is level -2 */
    } else if (fsc == 0x28) {
        kind = ARM64_ESR_FSC_GPF;
    } else if (fsc == 0x29) {
        kind = ARM64_ESR_FSC_ADDR_SIZE, lvl = -1;
    } else if (fsc == 0x2a) {
        kind = ARM64_ESR_FSC_TRANSLATION, lvl = -2;
    } else if (fsc == 0x2b) {
        kind = ARM64_ESR_FSC_TRANSLATION, lvl = -1;
    } else if (fsc == 0x2c) {
        kind = ARM64_ESR_FSC_ADDR_SIZE, lvl = -2;
    } else if (fsc == 0x30) {
        kind = ARM64_ESR_FSC_TLB_CONFLICT;
    } else if (fsc == 0x31) {
        kind = ARM64_ESR_FSC_ATOMIC_HW;
    } else if (fsc == 0x34) {
        kind = ARM64_ESR_FSC_LOCKDOWN;
    } else if (fsc == 0x35) {
        kind = ARM64_ESR_FSC_EXCL_ATOMIC;
    }
    if (level)
        *level = lvl;
    return kind;
}

const char *arm64_esr_fsc_name(unsigned int fsc)
{
    /* Names with levels, indexed by level + 2 (levels -2..3). */
    static const char *const addr_size[] = {
        "address size fault, level -2", "address size fault, level -1",
        "address size fault, level 0",  "address size fault, level 1",
        "address size fault, level 2",  "address size fault, level 3",
    };
    static const char *const translation[] = {
        "translation fault, level -2", "translation fault, level -1", "translation fault, level 0",
        "translation fault, level 1",  "translation fault, level 2",  "translation fault, level 3",
    };
    static const char *const access_flag[] = {
        NULL,
        NULL,
        "access flag fault, level 0",
        "access flag fault, level 1",
        "access flag fault, level 2",
        "access flag fault, level 3",
    };
    static const char *const permission[] = {
        NULL,
        NULL,
        "permission fault, level 0",
        "permission fault, level 1",
        "permission fault, level 2",
        "permission fault, level 3",
    };
    static const char *const sea_ttw[] = {
        "synchronous external abort on table walk, level -2",
        "synchronous external abort on table walk, level -1",
        "synchronous external abort on table walk, level 0",
        "synchronous external abort on table walk, level 1",
        "synchronous external abort on table walk, level 2",
        "synchronous external abort on table walk, level 3",
    };
    static const char *const parity_ttw[] = {
        NULL,
        "synchronous parity/ECC error on table walk, level -1",
        "synchronous parity/ECC error on table walk, level 0",
        "synchronous parity/ECC error on table walk, level 1",
        "synchronous parity/ECC error on table walk, level 2",
        "synchronous parity/ECC error on table walk, level 3",
    };
    static const char *const gpf_ttw[] = {
        "granule protection fault on table walk, level -2",
        "granule protection fault on table walk, level -1",
        "granule protection fault on table walk, level 0",
        "granule protection fault on table walk, level 1",
        "granule protection fault on table walk, level 2",
        "granule protection fault on table walk, level 3",
    };
    int level;
    arm64_esr_fsc_kind_t kind = arm64_esr_fsc_decode(fsc, &level);
    const char *const *by_level = NULL;

    switch (kind) {
    case ARM64_ESR_FSC_ADDR_SIZE:
        by_level = addr_size;
        break;
    case ARM64_ESR_FSC_TRANSLATION:
        by_level = translation;
        break;
    case ARM64_ESR_FSC_ACCESS_FLAG:
        by_level = access_flag;
        break;
    case ARM64_ESR_FSC_PERMISSION:
        by_level = permission;
        break;
    case ARM64_ESR_FSC_SEA_TTW:
        by_level = sea_ttw;
        break;
    case ARM64_ESR_FSC_PARITY_TTW:
        by_level = parity_ttw;
        break;
    case ARM64_ESR_FSC_GPF_TTW:
        by_level = gpf_ttw;
        break;
    case ARM64_ESR_FSC_SEA:
        return "synchronous external abort";
    case ARM64_ESR_FSC_TAG_CHECK:
        return "synchronous tag check fault";
    case ARM64_ESR_FSC_PARITY:
        return "synchronous parity/ECC error";
    case ARM64_ESR_FSC_ALIGNMENT:
        return "alignment fault";
    case ARM64_ESR_FSC_GPF:
        return "granule protection fault";
    case ARM64_ESR_FSC_TLB_CONFLICT:
        return "TLB conflict abort";
    case ARM64_ESR_FSC_ATOMIC_HW:
        return "unsupported atomic hardware update fault";
    case ARM64_ESR_FSC_LOCKDOWN:
        return "IMPLEMENTATION DEFINED fault (lockdown)";
    case ARM64_ESR_FSC_EXCL_ATOMIC:
        return "IMPLEMENTATION DEFINED fault (unsupported exclusive or atomic access)";
    case ARM64_ESR_FSC_RESERVED:
        break;
    }
    if (by_level && level >= -2 && level <= 3 && by_level[level + 2])
        return by_level[level + 2];
    return "reserved fault status code";
}

int arm64_esr_decode_dabt(uint64_t esr, arm64_esr_dabt_t *out)
{
    uint32_t iss = arm64_esr_iss(esr);

    if (!arm64_esr_is_dabt(esr))
        return -EINVAL;
    *out = (arm64_esr_dabt_t){
        .isv = (iss & ISS_ISV) != 0,
        .vncr = (iss & ISS_VNCR) != 0,
        .set = (iss >> ISS_SET_SHIFT) & 3u,
        .fnv = (iss & ISS_FNV) != 0,
        .ea = (iss & ISS_EA) != 0,
        .cm = (iss & ISS_CM) != 0,
        .s1ptw = (iss & ISS_S1PTW) != 0,
        .wnr = (iss & ISS_WNR) != 0,
        .dfsc = iss & ISS_FSC_MASK,
    };
    if (out->isv) {
        out->access_size = 1u << ((iss >> ISS_SAS_SHIFT) & 3u);
        out->sse = (iss & ISS_SSE) != 0;
        out->srt = (iss >> ISS_SRT_SHIFT) & 0x1fu;
        out->sf = (iss & ISS_SF) != 0;
        out->ar = (iss & ISS_AR) != 0;
    }
    return 0;
}

int arm64_esr_decode_iabt(uint64_t esr, arm64_esr_iabt_t *out)
{
    uint32_t iss = arm64_esr_iss(esr);

    if (!arm64_esr_is_iabt(esr))
        return -EINVAL;
    *out = (arm64_esr_iabt_t){
        .set = (iss >> ISS_SET_SHIFT) & 3u,
        .fnv = (iss & ISS_FNV) != 0,
        .ea = (iss & ISS_EA) != 0,
        .s1ptw = (iss & ISS_S1PTW) != 0,
        .ifsc = iss & ISS_FSC_MASK,
    };
    return 0;
}

/* ISS for EC 0x01 (Arm ARM D24.2, "ISS encoding for an exception from a WF* instruction"). */
int arm64_esr_decode_wfx(uint64_t esr, arm64_esr_wfx_t *out)
{
    uint32_t iss = arm64_esr_iss(esr);

    if (arm64_esr_ec(esr) != ARM64_ESR_EC_WFX)
        return -EINVAL;
    *out = (arm64_esr_wfx_t){
        .type = (arm64_esr_wfx_type_t)(iss & 3u),
        .rv = (iss & (1u << 2)) != 0,
        .rn = (iss >> 5) & 0x1fu,
    };
    return 0;
}

const char *arm64_esr_wfx_name(arm64_esr_wfx_type_t type)
{
    static const char *const names[] = {"WFI", "WFE", "WFIT", "WFET"};

    return names[(unsigned int)type & 3u];
}

int arm64_esr_hvc_imm(uint64_t esr)
{
    switch (arm64_esr_ec(esr)) {
    case ARM64_ESR_EC_HVC32:
    case ARM64_ESR_EC_SMC32:
    case ARM64_ESR_EC_HVC64:
    case ARM64_ESR_EC_SMC64:
        return (int)(arm64_esr_iss(esr) & 0xffffu);
    default:
        return -EINVAL;
    }
}

/* ISS for EC 0x18 (Arm ARM D24.2, "ISS encoding for an exception from MSR, MRS, ..."). */
int arm64_esr_decode_sysreg(uint64_t esr, arm64_esr_sysreg_t *out)
{
    uint32_t iss = arm64_esr_iss(esr);

    if (arm64_esr_ec(esr) != ARM64_ESR_EC_SYS64)
        return -EINVAL;
    *out = (arm64_esr_sysreg_t){
        .op0 = (iss >> 20) & 3u,
        .op2 = (iss >> 17) & 7u,
        .op1 = (iss >> 14) & 7u,
        .crn = (iss >> 10) & 0xfu,
        .rt = (iss >> 5) & 0x1fu,
        .crm = (iss >> 1) & 0xfu,
        .read = (iss & 1u) != 0,
    };
    return 0;
}

/* snprintf() into a line piece by piece, counting the full length. */

/* "X3", "W3", "XZR" or "WZR". */
static void put_reg(line_t *l, unsigned int r, bool x)
{
    if (r == 31)
        line_put(l, "%s", x ? "XZR" : "WZR");
    else
        line_put(l, "%c%u", x ? 'X' : 'W', r);
}

static void put_abort_flags(line_t *l, uint32_t iss)
{
    if (iss & ISS_VNCR)
        line_put(l, ", VNCR");
    if (iss & ISS_FNV)
        line_put(l, ", FnV (FAR not valid)");
    if (iss & ISS_EA)
        line_put(l, ", EA");
    if (iss & ISS_CM)
        line_put(l, ", CM (cache maintenance)");
    if (iss & ISS_S1PTW)
        line_put(l, ", S1PTW (stage-1 walk)");
    if ((iss >> ISS_SET_SHIFT) & 3u)
        line_put(l, ", SET %u", (iss >> ISS_SET_SHIFT) & 3u);
}

int arm64_esr_describe(uint64_t esr, char *buf, size_t len)
{
    line_t l = {.buf = buf, .len = len, .pos = 0};
    unsigned int ec = arm64_esr_ec(esr);
    uint32_t iss = arm64_esr_iss(esr);
    arm64_esr_dabt_t d;
    arm64_esr_iabt_t i;
    arm64_esr_wfx_t w;
    arm64_esr_sysreg_t s;

    if (len)
        buf[0] = '\0';
    line_put(&l, "ESR 0x%llx: %s (%s), IL%d, ISS 0x%x", (unsigned long long)esr,
             arm64_esr_ec_name(ec), arm64_esr_ec_desc(ec), arm64_esr_il(esr) ? 32 : 16, iss);
    if (arm64_esr_iss2(esr))
        line_put(&l, ", ISS2 0x%x", arm64_esr_iss2(esr));
    if (arm64_esr_decode_dabt(esr, &d) == 0) {
        line_put(&l, ": %s", d.wnr ? "write" : "read");
        if (d.isv) {
            line_put(&l, " %u byte%s ", d.access_size, d.access_size > 1 ? "s" : "");
            put_reg(&l, d.srt, d.sf);
            if (d.sse)
                line_put(&l, ", sign-extend");
            if (d.ar)
                line_put(&l, ", acquire/release");
        } else {
            line_put(&l, ", no syndrome (ISV=0)");
        }
        put_abort_flags(&l, iss);
        line_put(&l, ", DFSC 0x%02x %s", d.dfsc, arm64_esr_fsc_name(d.dfsc));
    } else if (arm64_esr_decode_iabt(esr, &i) == 0) {
        put_abort_flags(&l, iss & (ISS_FNV | ISS_EA | ISS_S1PTW | (3u << ISS_SET_SHIFT)));
        line_put(&l, ", IFSC 0x%02x %s", i.ifsc, arm64_esr_fsc_name(i.ifsc));
    } else if (arm64_esr_decode_wfx(esr, &w) == 0) {
        line_put(&l, ": %s", arm64_esr_wfx_name(w.type));
        if (w.rv) {
            line_put(&l, " ");
            put_reg(&l, w.rn, true);
        }
    } else if (arm64_esr_hvc_imm(esr) >= 0) {
        line_put(&l, ": imm 0x%04x", (unsigned int)arm64_esr_hvc_imm(esr));
    } else if (arm64_esr_decode_sysreg(esr, &s) == 0) {
        if (s.read) {
            line_put(&l, ": MRS ");
            put_reg(&l, s.rt, true);
            line_put(&l, ", S%u_%u_C%u_C%u_%u", s.op0, s.op1, s.crn, s.crm, s.op2);
        } else {
            line_put(&l, ": MSR S%u_%u_C%u_C%u_%u, ", s.op0, s.op1, s.crn, s.crm, s.op2);
            put_reg(&l, s.rt, true);
        }
    }
    return (int)l.pos;
}
