/*
 * arm64_mmu.h - walk a guest's AArch64 stage-1 translation tables (the
 * EL1&0 regime) in software, to turn a guest virtual address into the
 * intermediate physical address (IPA) the monitor can read.
 *
 * What for: when a data abort arrives without a valid syndrome (ESR_EL2.ISV
 * = 0, arm64_esr.h) the monitor must read the instruction at the guest's PC
 * and decode it (arm64_insn.h).  PC is a virtual address; the guest's page
 * tables live in guest RAM.  arm64_mmu_translate() walks them the way the
 * hardware would and arm64_mmu_fetch_insn() then reads the 4-byte
 * instruction.  Guest memory is the caller's: one callback reads it.
 *
 * The walk follows the Arm ARM (DDI 0487), chapter D8 "The AArch64 Virtual
 * Memory System Architecture" (translation process, descriptor formats,
 * memory access control) and its pseudocode: AArch64.S1Translate,
 * AArch64.S1StartLevel, AArch64.S1TTBaseAddress, AArch64.NextTableBase,
 * AArch64.LeafBase, AArch64.BlockDescSupported, AArch64.VAIsOutOfRange,
 * AArch64.S1DirectBasePermissions.  Register fields are from D24.2
 * (SCTLR_EL1, TCR_EL1, TTBR0_EL1, TTBR1_EL1, TCR2_EL1).
 *
 * Supported:
 *   - SCTLR_EL1.M = 0: VA == IPA, address size fault when the VA (top byte
 *     ignored per TBIx) exceeds the PA size; all access allowed.
 *   - 4K, 16K and 64K granules (TG0: 00/10/01, TG1: 10/01/11: the two
 *     fields encode the sizes differently); T0SZ/T1SZ from 16 (12 for 64K
 *     or with DS: 52-bit VAs) to 48 (47 for 64K; above 39 as FEAT_TTST
 *     allows), the start level derived from TxSZ (AArch64.S1StartLevel:
 *     level -1 for 4K with DS = 1 and TxSZ < 16).
 *   - Range selection by VA bit 55 (TTBR0 low, TTBR1 high); a VA whose bits
 *     above the TxSZ range are not all equal to bit 55 faults (the hole).
 *   - TBI0/TBI1: bits [63:56] are ignored for data accesses, and for
 *     instruction fetches too unless TBID0/TBID1 is set (FEAT_PAuth): the
 *     architecture's AArch64.AddrTop.  MTX0/MTX1 (canonical memory tags)
 *     are not modelled.
 *   - EPD0/EPD1, E0PD0/E0PD1 (FEAT_E0PD): level 0 translation faults.
 *   - Table, block and page descriptors; blocks at the levels the granule
 *     allows (4K: 1, 2, and 0 with DS; 16K: 2, and 1 with DS; 64K: 2, and 1
 *     with a 52-bit PA); contiguous bit ignored (a hint).
 *   - 52-bit output addresses: 64K with IPS = 52 bits (FEAT_LPA, descriptor
 *     bits [15:12] are OA[51:48], TTBR bits [5:2] are BADDR[51:48]); 4K and
 *     16K with TCR_EL1.DS = 1 (FEAT_LPA2, bits [9:8] and [49:48]); 52-bit
 *     input addresses (FEAT_LVA, DS).  IPS = 52 with DS = 0 and a 4K/16K
 *     granule means 48 bits, as the architecture says.
 *   - Address size faults: TTBR base (level 0), next-level table and output
 *     addresses beyond the size IPS gives (capped by pa_bits).
 *   - Access flag faults when AF = 0 and TCR_EL1.HA = 0 (the walker never
 *     writes a descriptor: with HA = 1 it reports af = false and goes on).
 *   - Permissions: AP[2:1], UXN, PXN; APTable, UXNTable, PXNTable unless
 *     HPD0/HPD1 (FEAT_HPDS); EL0-writable memory is never EL1-executable;
 *     SCTLR_EL1.WXN; PSTATE.PAN and SCTLR_EL1.EPAN for EL1 data accesses;
 *     DBM with HA = HD = 1 counts as writable; an instruction fetch from
 *     Device memory (MAIR_EL1 given) is a permission fault.
 *   - SCTLR_EL1.EE = 1: descriptors are big-endian.  Instructions are always
 *     little-endian (A64), whatever EE says.
 * Refused with a named reason: reserved TG0/TG1 encodings (the hardware
 * would pick an IMPLEMENTATION DEFINED size), TxSZ out of range (level 0
 * translation fault on hardware), TCR2_EL1.D128 (VMSAv9-128 descriptors).
 * Not modelled: stage 2 (the caller's read callback sees IPAs; KVM owns
 * stage 2), TLBs (the walk reads the tables as they are now, so a guest that
 * changed them without invalidating may see a difference), permission
 * indirection and overlays (TCR2_EL1.PIE/POE: the address is translated but
 * permissions are not evaluated, perms_checked is false).
 *
 * Pure and thread-safe: no global state, no allocation, no hypervisor calls.
 * Builds on every host.
 */
#ifndef VMMKIT_ARM64_MMU_H
#define VMMKIT_ARM64_MMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Register bits the walker reads (Arm ARM D24.2). */
#define ARM64_SCTLR_M (1ull << 0)     /* stage 1 enabled */
#define ARM64_SCTLR_WXN (1ull << 19)  /* writable implies execute-never */
#define ARM64_SCTLR_EE (1ull << 25)   /* big-endian translation table walks */
#define ARM64_SCTLR_EPAN (1ull << 57) /* PAN also for EL0-executable memory */

#define ARM64_TCR_T0SZ_SHIFT 0 /* [5:0] */
#define ARM64_TCR_EPD0 (1ull << 7)
#define ARM64_TCR_TG0_SHIFT 14 /* [15:14] 00 4K, 01 64K, 10 16K */
#define ARM64_TCR_T1SZ_SHIFT 16
#define ARM64_TCR_EPD1 (1ull << 23)
#define ARM64_TCR_TG1_SHIFT 30 /* [31:30] 01 16K, 10 4K, 11 64K */
#define ARM64_TCR_IPS_SHIFT 32 /* [34:32] */
#define ARM64_TCR_TBI0 (1ull << 37)
#define ARM64_TCR_TBI1 (1ull << 38)
#define ARM64_TCR_HA (1ull << 39)
#define ARM64_TCR_HD (1ull << 40)
#define ARM64_TCR_HPD0 (1ull << 41)
#define ARM64_TCR_HPD1 (1ull << 42)
#define ARM64_TCR_TBID0 (1ull << 51)
#define ARM64_TCR_TBID1 (1ull << 52)
#define ARM64_TCR_E0PD0 (1ull << 55)
#define ARM64_TCR_E0PD1 (1ull << 56)
#define ARM64_TCR_DS (1ull << 59)

#define ARM64_TCR_TG0_4K 0u
#define ARM64_TCR_TG0_64K 1u
#define ARM64_TCR_TG0_16K 2u
#define ARM64_TCR_TG1_16K 1u
#define ARM64_TCR_TG1_4K 2u
#define ARM64_TCR_TG1_64K 3u

#define ARM64_TCR2_PIE (1ull << 1)
#define ARM64_TCR2_POE (1ull << 3)
#define ARM64_TCR2_D128 (1ull << 5)

/*
 * Why a translation failed.  The translate and fetch functions return the
 * negative.  The comment names the fault the hardware would raise.
 */
typedef enum arm64_mmu_err {
    ARM64_MMU_OK = 0,
    ARM64_MMU_E_INVALID_DESC = 1,      /* translation fault: descriptor bit 0 is 0 */
    ARM64_MMU_E_RESERVED_DESC = 2,     /* translation fault: a block where none is allowed,
                                          or 0b01 at level 3 */
    ARM64_MMU_E_VA_RANGE = 3,          /* translation fault, level 0: VA outside both ranges */
    ARM64_MMU_E_WALK_DISABLED = 4,     /* translation fault, level 0: EPD0/EPD1 set */
    ARM64_MMU_E_EL0_DISABLED = 5,      /* translation fault, level 0: E0PD0/E0PD1 at EL0 */
    ARM64_MMU_E_BAD_TXSZ = 6,          /* T0SZ/T1SZ out of range (level 0 translation fault) */
    ARM64_MMU_E_ADDRESS_SIZE = 7,      /* address size fault: an address beyond the OA size */
    ARM64_MMU_E_ACCESS_FLAG = 8,       /* access flag fault: AF = 0, HA = 0 */
    ARM64_MMU_E_PERMISSION = 9,        /* permission fault */
    ARM64_MMU_E_WALK_OUTSIDE_RAM = 10, /* a descriptor could not be read (external abort
                                          on the walk) */
    ARM64_MMU_E_BAD_TG = 11,           /* TG0/TG1 holds a reserved encoding */
    ARM64_MMU_E_UNSUPPORTED = 12,      /* TCR2_EL1.D128: 128-bit descriptors */
    ARM64_MMU_E_BAD_ARG = 13,          /* el not 0 or 1, unknown access, NULL pointer */
    ARM64_MMU_E_PC_ALIGN = 14,         /* fetch: PC not 4-byte aligned */
    ARM64_MMU_E_INSN_OUTSIDE_RAM = 15, /* fetch: the instruction's bytes could not be read */
    ARM64_MMU_E_COUNT
} arm64_mmu_err_t;

/* The access being translated: only permission checks depend on it. */
typedef enum arm64_mmu_access {
    ARM64_MMU_FETCH = 0, /* instruction fetch */
    ARM64_MMU_READ = 1,  /* data read */
    ARM64_MMU_WRITE = 2, /* data write */
} arm64_mmu_access_t;

/* The vCPU state the walk needs: the EL1&0 regime registers, as read. */
typedef struct arm64_mmu_regs {
    uint64_t sctlr; /* SCTLR_EL1: M, WXN, EE, EPAN */
    uint64_t tcr;   /* TCR_EL1 */
    uint64_t ttbr0; /* TTBR0_EL1 (ASID and CnP ignored) */
    uint64_t ttbr1; /* TTBR1_EL1 */
    uint64_t mair;  /* MAIR_EL1, to refuse fetches from Device memory; 0: not given */
    uint64_t tcr2;  /* TCR2_EL1 when the guest has FEAT_TCR2, else 0 */
    /* The implementation's PA size in bits (arm64_mmu_parange_bits() of
     * ID_AA64MMFR0_EL1): it caps IPS, bounds the MMU-off range and says
     * whether 52-bit formats exist.  0: not known; taken as 52. */
    unsigned int pa_bits;
    bool pan; /* PSTATE.PAN when the access was made */
} arm64_mmu_regs_t;

/* Permission bits in arm64_mmu_result_t.perm_el0 / perm_el1. */
#define ARM64_MMU_PERM_R 1u
#define ARM64_MMU_PERM_W 2u
#define ARM64_MMU_PERM_X 4u

/* What a walk found; on a fault, as far as it got. */
typedef struct arm64_mmu_result {
    uint64_t va;     /* the address asked for */
    unsigned int el; /* and the access, as asked */
    arm64_mmu_access_t access;
    uint64_t ipa;      /* the translation (success only) */
    uint64_t size;     /* bytes mapped by the page or block; MMU off: 1 << PA size */
    int level;         /* level of the leaf, or of the fault (-1..3) */
    bool mmu_off;      /* SCTLR_EL1.M = 0: identity */
    bool ttbr1;        /* the high range: TTBR1_EL1, TG1, T1SZ */
    uint64_t granule;  /* 4096, 16384 or 65536 (0 before it was known) */
    unsigned int txsz; /* T0SZ or T1SZ of the range */
    bool has_desc;     /* desc holds the last descriptor read (leaf on success) */
    uint64_t desc;     /* in host order */
    uint64_t desc_ipa; /* where it was, or where the failed read was */
    /* The leaf's attributes, hierarchical controls applied (raw descriptor
     * bits when perms_checked is false). */
    unsigned int ap;         /* effective AP[2:1]: 0 EL1 RW, 1 RW, 2 EL1 RO, 3 RO */
    bool uxn, pxn;           /* execute-never at EL0 / EL1, tables included */
    bool af;                 /* the access flag */
    unsigned int attr_index; /* AttrIndx, the MAIR_EL1 slot */
    bool ng;                 /* not global */
    bool perms_checked;      /* false with TCR2_EL1.PIE/POE: perm_* are 0 */
    unsigned int perm_el0;   /* ARM64_MMU_PERM_* at EL0 */
    unsigned int perm_el1;   /* at EL1: PAN applied for data, WXN applied */
} arm64_mmu_result_t;

/*
 * Read @len bytes (8 for a descriptor, 4 for an instruction) of guest
 * memory at @ipa into @buf, in memory order.  Returns 0, or -errno (e.g. -EFAULT when any byte is
 * outside guest RAM): the walker then reports ARM64_MMU_E_WALK_OUTSIDE_RAM.
 */
typedef int (*arm64_mmu_read_fn)(void *opaque, uint64_t ipa, void *buf, unsigned int len);

/*
 * Translate @va for an @access made at exception level @el (0 or 1,
 * PSTATE.EL of the access; pass 0 for LDTR/STTR).  Fills *@res, also on
 * failure (@res may be NULL).  Returns 0, or the negative arm64_mmu_err_t; res->level
 * says where a walk fault was found.
 */
int arm64_mmu_translate(const arm64_mmu_regs_t *regs, uint64_t va, unsigned int el,
                        arm64_mmu_access_t access, arm64_mmu_read_fn read, void *opaque,
                        arm64_mmu_result_t *res);

/*
 * Fetch the A64 instruction at @pc as the vCPU at @el would: refuse a PC
 * not 4-byte aligned, translate for an instruction fetch, read 4 bytes at
 * the IPA (little-endian: A64 instructions are, whatever SCTLR_EL1.EE).
 * @res may be NULL.  Returns 0, or the negative arm64_mmu_err_t.
 */
int arm64_mmu_fetch_insn(const arm64_mmu_regs_t *regs, uint64_t pc, unsigned int el,
                         arm64_mmu_read_fn read, void *opaque, uint32_t *insn,
                         arm64_mmu_result_t *res);

/* One line naming a reason, e.g. "descriptor not valid".  Never NULL. */
const char *arm64_mmu_strerror(int err);

/*
 * The fault status code (ESR_ELx DFSC/IFSC) the hardware would report for
 * @err at @level, e.g. 0x07 for a translation fault at level 3: the value
 * to inject if the monitor forwards the fault.  -1 when no abort
 * corresponds (reserved TG, D128, bad arguments, a misaligned PC: the
 * latter is a PC alignment exception, not an abort).
 */
int arm64_mmu_fsc(int err, int level);

/*
 * One line for a log: "VA 0x... -> IPA 0x... (4K page, level 3, TTBR0)" or
 * "VA 0x...: translation fault at level 2, descriptor not valid (0x0 at IPA
 * 0x...)".  Returns the full length, as snprintf() does.
 */
int arm64_mmu_describe(int err, const arm64_mmu_result_t *res, char *buf, size_t len);

/*
 * PA size in bits from ID_AA64MMFR0_EL1 (PARange, bits [3:0]): 32, 36, 40,
 * 42, 44, 48, 52 or 56; 0 for a reserved value.
 */
unsigned int arm64_mmu_parange_bits(uint64_t id_aa64mmfr0);

#ifdef __cplusplus
}
#endif

#endif /* VMMKIT_ARM64_MMU_H */
