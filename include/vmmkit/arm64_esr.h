/*
 * arm64_esr.h - decode the Exception Syndrome Register a hypervisor reads
 * when a guest traps to EL2 (ESR_EL2).
 *
 * ESR_EL2 says why the exception was taken: the exception class (EC, bits
 * [31:26]), whether the trapped instruction was 32 bits long (IL, bit [25]),
 * and an instruction-specific syndrome (ISS, bits [24:0]) whose layout
 * depends on the class.  FEAT_LS64 and later features add a second syndrome,
 * ISS2, in bits [55:32].  This module names every class the architecture
 * defines and decodes the syndromes a virtual machine monitor acts on: data
 * aborts (MMIO emulation), instruction aborts, WFx, HVC/SMC immediates and
 * trapped system-register accesses.  arm64_esr_describe() writes one line
 * for a log.
 *
 * References are to the Arm Architecture Reference Manual for A-profile
 * (DDI 0487, "Arm ARM" below), section D24.2 "ESR_EL2": the EC table, "ISS
 * encoding for an exception from a Data Abort" and the other ISS encodings.
 *
 * Pure: no hypervisor calls, no allocation, no global state; every function
 * is thread-safe.  Any 64-bit value is accepted: an ESR the hardware could not
 * produce still decodes to fields, never to an assertion.
 */
#ifndef VMMKIT_ARM64_ESR_H
#define VMMKIT_ARM64_ESR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Register layout (Arm ARM D24.2, ESR_EL2). */
#define ARM64_ESR_EC_SHIFT 26
#define ARM64_ESR_EC_MASK 0x3fu
#define ARM64_ESR_IL (1ull << 25)
#define ARM64_ESR_ISS_MASK 0x1ffffffu
#define ARM64_ESR_ISS2_SHIFT 32
#define ARM64_ESR_ISS2_MASK 0xffffffu

/*
 * Exception classes.  The comment says what traps with that class; "lower
 * EL" is the guest when the exception is taken to EL2.  Values missing from
 * the list are unallocated (arm64_esr_ec_name() calls them "UNALLOCATED").
 */
typedef enum arm64_esr_ec {
    ARM64_ESR_EC_UNKNOWN = 0x00,     /* unknown reason (e.g. an undefined instruction) */
    ARM64_ESR_EC_WFX = 0x01,         /* WFI, WFE, WFIT, WFET */
    ARM64_ESR_EC_CP15_32 = 0x03,     /* AArch32 MCR/MRC, coproc 0b1111 */
    ARM64_ESR_EC_CP15_64 = 0x04,     /* AArch32 MCRR/MRRC, coproc 0b1111 */
    ARM64_ESR_EC_CP14_MR = 0x05,     /* AArch32 MCR/MRC, coproc 0b1110 */
    ARM64_ESR_EC_CP14_LS = 0x06,     /* AArch32 LDC/STC, coproc 0b1110 */
    ARM64_ESR_EC_FP_ASIMD = 0x07,    /* SVE, Advanced SIMD or FP access (CPTR_EL2) */
    ARM64_ESR_EC_CP10_ID = 0x08,     /* AArch32 VMRS of an ID register (HCR_EL2.TID0) */
    ARM64_ESR_EC_PAC = 0x09,         /* pointer authentication instruction (HCR_EL2.API) */
    ARM64_ESR_EC_LS64 = 0x0a,        /* LD64B/ST64B* (FEAT_LS64) */
    ARM64_ESR_EC_CP14_64 = 0x0c,     /* AArch32 MRRC, coproc 0b1110 */
    ARM64_ESR_EC_BTI = 0x0d,         /* branch target exception (FEAT_BTI) */
    ARM64_ESR_EC_ILL = 0x0e,         /* illegal execution state */
    ARM64_ESR_EC_SVC32 = 0x11,       /* SVC from AArch32 */
    ARM64_ESR_EC_HVC32 = 0x12,       /* HVC from AArch32 */
    ARM64_ESR_EC_SMC32 = 0x13,       /* SMC from AArch32 */
    ARM64_ESR_EC_SVC64 = 0x15,       /* SVC from AArch64 */
    ARM64_ESR_EC_HVC64 = 0x16,       /* HVC from AArch64 */
    ARM64_ESR_EC_SMC64 = 0x17,       /* SMC from AArch64 (HCR_EL2.TSC) */
    ARM64_ESR_EC_SYS64 = 0x18,       /* MSR, MRS or system instruction from AArch64 */
    ARM64_ESR_EC_SVE = 0x19,         /* SVE access (CPTR_EL2.ZEN/TZ) */
    ARM64_ESR_EC_ERET = 0x1a,        /* ERET, ERETAA, ERETAB (FEAT_NV) */
    ARM64_ESR_EC_FPAC = 0x1c,        /* pointer authentication failure (FEAT_FPAC) */
    ARM64_ESR_EC_SME = 0x1d,         /* SME access */
    ARM64_ESR_EC_IMP_DEF = 0x1f,     /* IMPLEMENTATION DEFINED, EL3 only */
    ARM64_ESR_EC_IABT_LOW = 0x20,    /* instruction abort from a lower EL */
    ARM64_ESR_EC_IABT_CUR = 0x21,    /* instruction abort at the same EL */
    ARM64_ESR_EC_PC_ALIGN = 0x22,    /* PC alignment fault */
    ARM64_ESR_EC_DABT_LOW = 0x24,    /* data abort from a lower EL */
    ARM64_ESR_EC_DABT_CUR = 0x25,    /* data abort at the same EL */
    ARM64_ESR_EC_SP_ALIGN = 0x26,    /* SP alignment fault */
    ARM64_ESR_EC_MOPS = 0x27,        /* memory copy/set instruction (FEAT_MOPS) */
    ARM64_ESR_EC_FP_EXC32 = 0x28,    /* trapped floating-point exception, AArch32 */
    ARM64_ESR_EC_FP_EXC64 = 0x2c,    /* trapped floating-point exception, AArch64 */
    ARM64_ESR_EC_GCS = 0x2d,         /* guarded control stack exception (FEAT_GCS) */
    ARM64_ESR_EC_SERROR = 0x2f,      /* SError exception */
    ARM64_ESR_EC_BREAKPT_LOW = 0x30, /* hardware breakpoint, lower EL */
    ARM64_ESR_EC_BREAKPT_CUR = 0x31, /* hardware breakpoint, same EL */
    ARM64_ESR_EC_SOFTSTP_LOW = 0x32, /* software step, lower EL */
    ARM64_ESR_EC_SOFTSTP_CUR = 0x33, /* software step, same EL */
    ARM64_ESR_EC_WATCHPT_LOW = 0x34, /* watchpoint, lower EL */
    ARM64_ESR_EC_WATCHPT_CUR = 0x35, /* watchpoint, same EL */
    ARM64_ESR_EC_BKPT32 = 0x38,      /* BKPT, AArch32 */
    ARM64_ESR_EC_VECTOR32 = 0x3a,    /* vector catch, AArch32 */
    ARM64_ESR_EC_BRK64 = 0x3c,       /* BRK, AArch64 */
} arm64_esr_ec_t;

/* The fields every ESR has. */
static inline unsigned int arm64_esr_ec(uint64_t esr)
{
    return (unsigned int)(esr >> ARM64_ESR_EC_SHIFT) & ARM64_ESR_EC_MASK;
}

/* IL: true when the trapped instruction was 32 bits (always, from AArch64). */
static inline bool arm64_esr_il(uint64_t esr)
{
    return (esr & ARM64_ESR_IL) != 0;
}

static inline uint32_t arm64_esr_iss(uint64_t esr)
{
    return (uint32_t)esr & ARM64_ESR_ISS_MASK;
}

static inline uint32_t arm64_esr_iss2(uint64_t esr)
{
    return (uint32_t)(esr >> ARM64_ESR_ISS2_SHIFT) & ARM64_ESR_ISS2_MASK;
}

/*
 * The class's short name ("DABT_LOW", "HVC64", ...) and a description ("data
 * abort from a lower EL").  Unallocated classes are "UNALLOCATED" and
 * "unallocated exception class".  Never NULL.
 */
const char *arm64_esr_ec_name(unsigned int ec);
const char *arm64_esr_ec_desc(unsigned int ec);

/* True for the two data-abort classes, and for the two instruction-abort ones. */
bool arm64_esr_is_dabt(uint64_t esr);
bool arm64_esr_is_iabt(uint64_t esr);

/*
 * Fault status codes: the DFSC of a data abort and the IFSC of an
 * instruction abort share one encoding (Arm ARM D24.2, ESR_EL2, "DFSC").
 * arm64_esr_fsc_decode() sorts a code into its kind and the translation
 * level it names (-2..3; 0 for kinds without a level).
 */
typedef enum arm64_esr_fsc_kind {
    ARM64_ESR_FSC_RESERVED = 0, /* a code the architecture does not assign */
    ARM64_ESR_FSC_ADDR_SIZE,    /* address size fault, level n */
    ARM64_ESR_FSC_TRANSLATION,  /* translation fault, level n */
    ARM64_ESR_FSC_ACCESS_FLAG,  /* access flag fault, level n */
    ARM64_ESR_FSC_PERMISSION,   /* permission fault, level n */
    ARM64_ESR_FSC_SEA,          /* synchronous external abort, not on a walk */
    ARM64_ESR_FSC_TAG_CHECK,    /* synchronous tag check fault (FEAT_MTE2) */
    ARM64_ESR_FSC_SEA_TTW,      /* synchronous external abort on a walk, level n */
    ARM64_ESR_FSC_PARITY,       /* synchronous parity/ECC error, not on a walk */
    ARM64_ESR_FSC_PARITY_TTW,   /* synchronous parity/ECC error on a walk, level n */
    ARM64_ESR_FSC_ALIGNMENT,    /* alignment fault */
    ARM64_ESR_FSC_GPF_TTW,      /* granule protection fault on a walk, level n */
    ARM64_ESR_FSC_GPF,          /* granule protection fault, not on a walk */
    ARM64_ESR_FSC_TLB_CONFLICT, /* TLB conflict abort */
    ARM64_ESR_FSC_ATOMIC_HW,    /* unsupported atomic hardware update */
    ARM64_ESR_FSC_LOCKDOWN,     /* IMPLEMENTATION DEFINED (lockdown) */
    ARM64_ESR_FSC_EXCL_ATOMIC,  /* IMPLEMENTATION DEFINED (unsupported exclusive/atomic) */
} arm64_esr_fsc_kind_t;

/* Frequently tested codes. */
#define ARM64_ESR_FSC_TRANSLATION_L(n) (0x04u + (n)) /* n = 0..3 */
#define ARM64_ESR_FSC_ACCESS_FLAG_L(n) (0x08u + (n))
#define ARM64_ESR_FSC_PERMISSION_L(n) (0x0cu + (n))
#define ARM64_ESR_FSC_SEA_CODE 0x10u
#define ARM64_ESR_FSC_ALIGNMENT_CODE 0x21u

/* Kind of fault status code @fsc (6 bits; higher bits ignored); *level may be NULL. */
arm64_esr_fsc_kind_t arm64_esr_fsc_decode(unsigned int fsc, int *level);

/*
 * The fault's name, e.g. "translation fault, level 3" or "alignment fault";
 * "reserved fault status code" for an unassigned code.  Never NULL.
 */
const char *arm64_esr_fsc_name(unsigned int fsc);

/* SET, bits [12:11] of an abort ISS with FEAT_RAS: the synchronous error type. */
typedef enum arm64_esr_set {
    ARM64_ESR_SET_UER = 0, /* recoverable state */
    ARM64_ESR_SET_RESERVED = 1,
    ARM64_ESR_SET_UC = 2,  /* uncontainable */
    ARM64_ESR_SET_UEO = 3, /* restartable state */
} arm64_esr_set_t;

/*
 * A data abort's ISS (Arm ARM D24.2, "ISS encoding for an exception from a
 * Data Abort").  access_size, sse, srt, sf and ar are only meaningful when
 * isv is set; with isv clear they are zero here and the instruction must be
 * decoded instead (arm64_insn.h).
 */
typedef struct arm64_esr_dabt {
    bool isv;                 /* [24] the fields below up to ar are valid */
    unsigned int access_size; /* [23:22] SAS: 1, 2, 4 or 8 bytes */
    bool sse;                 /* [21] the load sign-extends */
    unsigned int srt;         /* [20:16] the transfer register Xt/Wt (31 = XZR/WZR) */
    bool sf;                  /* [15] the register is 64-bit (X), else 32-bit (W) */
    bool ar;                  /* [14] acquire/release semantics (LDAR, STLR, ...) */
    bool vncr;                /* [13] the fault came from a VNCR_EL2 access (FEAT_NV2) */
    unsigned int set;         /* [12:11] SET with an external abort (FEAT_RAS), LST
                                 for DFSC 0x35 (FEAT_LS64); raw 2-bit value */
    bool fnv;                 /* [10] FAR is not valid */
    bool ea;                  /* [9] external abort type (IMPLEMENTATION DEFINED) */
    bool cm;                  /* [8] a cache maintenance or address translation insn */
    bool s1ptw;               /* [7] stage-2 fault on a stage-1 table walk */
    bool wnr;                 /* [6] write (true) or read (false) */
    unsigned int dfsc;        /* [5:0] fault status code, arm64_esr_fsc_name() */
} arm64_esr_dabt_t;

/* Decode a data abort.  Returns 0, or -EINVAL when @esr is not one (EC 0x24/0x25). */
int arm64_esr_decode_dabt(uint64_t esr, arm64_esr_dabt_t *out);

/* An instruction abort's ISS (Arm ARM D24.2, "... from an Instruction Abort"). */
typedef struct arm64_esr_iabt {
    unsigned int set;  /* [12:11] SET (FEAT_RAS) */
    bool fnv;          /* [10] FAR is not valid */
    bool ea;           /* [9] external abort type */
    bool s1ptw;        /* [7] stage-2 fault on a stage-1 table walk */
    unsigned int ifsc; /* [5:0] fault status code */
} arm64_esr_iabt_t;

/* Decode an instruction abort.  Returns 0, or -EINVAL (EC not 0x20/0x21). */
int arm64_esr_decode_iabt(uint64_t esr, arm64_esr_iabt_t *out);

/* WFx ISS TI field, bits [1:0]. */
typedef enum arm64_esr_wfx_type {
    ARM64_ESR_WFI = 0,
    ARM64_ESR_WFE = 1,
    ARM64_ESR_WFIT = 2, /* FEAT_WFxT: with a timeout in a register */
    ARM64_ESR_WFET = 3,
} arm64_esr_wfx_type_t;

typedef struct arm64_esr_wfx {
    arm64_esr_wfx_type_t type; /* [1:0] TI */
    bool rv;                   /* [2] rn holds a valid register (WFIT/WFET) */
    unsigned int rn;           /* [9:5] register holding the timeout */
} arm64_esr_wfx_t;

/* Decode a WFx trap.  Returns 0, or -EINVAL when EC is not 0x01. */
int arm64_esr_decode_wfx(uint64_t esr, arm64_esr_wfx_t *out);

/* "WFI", "WFE", "WFIT" or "WFET". */
const char *arm64_esr_wfx_name(arm64_esr_wfx_type_t type);

/*
 * The 16-bit immediate of an HVC or SMC (ISS bits [15:0]; EC 0x12, 0x13,
 * 0x16, 0x17).  Returns the immediate (0..0xffff), or -EINVAL for another
 * class.  Note that a trapped SMC (EC 0x13/0x17) leaves the preferred return
 * address at the SMC itself: the caller advances PC by 4; an HVC returns past
 * the instruction already.
 */
int arm64_esr_hvc_imm(uint64_t esr);

/* A trapped MSR/MRS/system instruction (EC 0x18, Arm ARM D24.2 "... EC 0x18"). */
typedef struct arm64_esr_sysreg {
    unsigned int op0; /* [21:20] */
    unsigned int op2; /* [19:17] */
    unsigned int op1; /* [16:14] */
    unsigned int crn; /* [13:10] */
    unsigned int rt;  /* [9:5] */
    unsigned int crm; /* [4:1] */
    bool read;        /* [0] direction: MRS (read, true) or MSR (write) */
} arm64_esr_sysreg_t;

/* Decode a trapped system-register access.  Returns 0 or -EINVAL (EC not 0x18). */
int arm64_esr_decode_sysreg(uint64_t esr, arm64_esr_sysreg_t *out);

/*
 * Write a one-line description of @esr into @buf (always NUL-terminated when
 * @len > 0), e.g.
 *   "ESR 0x93c08007: DABT_LOW (data abort from a lower EL), IL32, ISS 0x1c08007:
 *    read 8 bytes X0, DFSC 0x07 translation fault, level 3"
 * (on one line).  Returns the length the full line has, as snprintf() does.
 */
int arm64_esr_describe(uint64_t esr, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* VMMKIT_ARM64_ESR_H */
