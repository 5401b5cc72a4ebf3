/*
 * arm64_insn.h - decode and execute A64 load/store instructions, for MMIO
 * emulation when a data abort carries no syndrome.
 *
 * When a guest load or store to an emulated device faults, ESR_EL2 usually
 * describes the access (ISV = 1: size, register, direction; arm64_esr.h).
 * For some instructions it does not (ISV = 0): load/store pair, writeback
 * (pre- and post-index) forms, SIMD&FP registers.  The monitor must then
 * read the instruction at the guest's PC and carry it out itself.  This
 * module turns the 32-bit instruction word into the accesses it makes
 * (arm64_insn_decode()) and performs them through callbacks
 * (arm64_insn_apply()): registers and memory are the caller's.
 *
 * Accepted (Arm ARM C4.1 "Loads and Stores", the encoding tables):
 *   - LDR/STR (immediate: unsigned offset, pre-index, post-index) of W and X
 *     registers, LDRB/STRB/LDRH/STRH, LDRSB/LDRSH into W or X, LDRSW;
 *   - the same with a register offset: Xm with LSL, Wm with UXTW/SXTW, Xm
 *     with SXTX, shifted by the access size or not;
 *   - LDUR/STUR and their B/H/SB/SH/SW forms (unscaled 9-bit offset);
 *   - LDTR/STTR and their forms (unprivileged: accepted as the plain
 *     access; the permission check they change already passed when the
 *     access reached the monitor);
 *   - LDR (literal) of W, X, and LDRSW (literal): PC-relative;
 *   - LDP/STP of W and X, LDPSW (signed offset, pre-index, post-index) and
 *     LDNP/STNP (accepted as a plain pair: the non-temporal hint has no
 *     meaning for an emulated device);
 *   - the SIMD&FP forms of all of the above: LDR/STR/LDUR/STUR of B, H, S,
 *     D and Q registers (Q: 16 bytes) with immediate, register and literal
 *     addressing, LDP/STP/LDNP/STNP of S, D and Q registers.
 * Refused, with a named reason (arm64_insn_err_t): anything outside the
 * load/store group; exclusives (LDXR, STXR, LDXP, ...); load-acquire /
 * store-release (LDAR, STLR, LDAPR, LDAPUR, STLUR: they always produce a
 * valid syndrome anyway); atomics (LDADD and the rest of the LSE group,
 * SWP, CAS, CASP, LD64B/ST64B); SIMD structure loads/stores (LD1..LD4,
 * ST1..ST4, LDnR); prefetches (PRFM, PRFUM: no data moves); pointer-
 * authenticated loads (LDRAA/LDRAB); memory tagging (STG, LDG, STGP, ...);
 * memory copy/set (CPY*, SET*); SVE and SME; unallocated encodings; and
 * the forms the architecture makes CONSTRAINED UNPREDICTABLE:
 *   - writeback with the base also a transfer register (Rn == Rt, or Rn ==
 *     Rt2 for a pair), Rn != 31, general registers, loads and stores alike;
 *   - a load pair with Rt == Rt2 (general or SIMD&FP).
 * The hardware may do any of several things for these; emulating one of
 * them would be a guess, so they are refused and the caller injects an
 * abort or stops the guest.
 *
 * Register 31: as a base (Rn) it is SP; as a data register (Rt, Rt2) or
 * an index (Rm) it is XZR/WZR: reads are zero, writes are discarded.
 *
 * Pure and thread-safe: no global state, no hypervisor calls.  Data is
 * little-endian (SCTLR_EL1.EE = 0), the only order the board's guests use.
 */
#ifndef VMMKIT_ARM64_INSN_H
#define VMMKIT_ARM64_INSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Why an instruction was refused.  arm64_insn_decode() returns the negative. */
typedef enum arm64_insn_err {
    ARM64_INSN_OK = 0,
    ARM64_INSN_E_NOT_LOAD_STORE = 1, /* not in the load/store encoding group */
    ARM64_INSN_E_UNALLOCATED = 2,    /* an unallocated load/store encoding */
    ARM64_INSN_E_EXCLUSIVE = 3,      /* LDXR, STXR, LDAXR, STLXR, LDXP, STXP, ... */
    ARM64_INSN_E_ORDERED = 4,        /* LDAR, STLR, LDLAR, STLLR, LDAPR, LDAPUR, STLUR */
    ARM64_INSN_E_ATOMIC = 5,         /* LSE atomics, SWP, CAS, CASP, LD64B, ST64B */
    ARM64_INSN_E_SIMD_STRUCT = 6,    /* LD1..LD4, ST1..ST4, LD1R..LD4R */
    ARM64_INSN_E_PREFETCH = 7,       /* PRFM, PRFUM: no data transfer */
    ARM64_INSN_E_POINTER_AUTH = 8,   /* LDRAA, LDRAB */
    ARM64_INSN_E_MEMTAG = 9,         /* STG, STZG, ST2G, LDG, STGP, ... (FEAT_MTE) */
    ARM64_INSN_E_MEMCPY = 10,        /* CPY*, SET* (FEAT_MOPS) */
    ARM64_INSN_E_SVE = 11,           /* SVE or SME instruction */
    ARM64_INSN_E_UNPREDICTABLE = 12, /* writeback base == transfer register, LDP Rt == Rt2 */
    ARM64_INSN_E_COUNT
} arm64_insn_err_t;

/* The encoding class an accepted instruction came from. */
typedef enum arm64_insn_form {
    ARM64_INSN_IMM_UNSIGNED = 0, /* [Xn|SP, #uimm12 * size] */
    ARM64_INSN_IMM_UNSCALED,     /* LDUR/STUR: [Xn|SP, #simm9] */
    ARM64_INSN_IMM_PRE,          /* [Xn|SP, #simm9]! */
    ARM64_INSN_IMM_POST,         /* [Xn|SP], #simm9 */
    ARM64_INSN_UNPRIVILEGED,     /* LDTR/STTR: [Xn|SP, #simm9] */
    ARM64_INSN_REG_OFFSET,       /* [Xn|SP, (W|X)m{, extend {#amount}}] */
    ARM64_INSN_LITERAL,          /* PC + simm19 * 4 */
    ARM64_INSN_PAIR_OFFSET,      /* LDP/STP [Xn|SP, #simm7 * size] */
    ARM64_INSN_PAIR_PRE,         /* LDP/STP [Xn|SP, #simm7 * size]! */
    ARM64_INSN_PAIR_POST,        /* LDP/STP [Xn|SP], #simm7 * size */
    ARM64_INSN_PAIR_NOALLOC,     /* LDNP/STNP [Xn|SP, #simm7 * size] */
} arm64_insn_form_t;

/* Register index of SP as a base, and the pseudo-register PC (literal loads). */
#define ARM64_INSN_REG_SP 31u
#define ARM64_INSN_REG_PC 32u

typedef enum arm64_insn_writeback {
    ARM64_INSN_WB_NONE = 0,
    ARM64_INSN_WB_PRE,  /* accesses at base + offset, then base += wb_offset */
    ARM64_INSN_WB_POST, /* accesses at base, then base += wb_offset */
} arm64_insn_writeback_t;

/* The register-offset extend (the encoding's option field). */
typedef enum arm64_insn_extend {
    ARM64_INSN_EXT_UXTW = 2, /* Wm zero-extended */
    ARM64_INSN_EXT_LSL = 3,  /* Xm (UXTX) */
    ARM64_INSN_EXT_SXTW = 6, /* Wm sign-extended */
    ARM64_INSN_EXT_SXTX = 7, /* Xm */
} arm64_insn_extend_t;

/* One memory access of the instruction. */
typedef struct arm64_insn_access {
    int64_t offset;   /* from the base register's value (before writeback), plus
                         the index for a register offset */
    uint8_t size;     /* bytes: 1, 2, 4, 8 or 16 */
    uint8_t reg;      /* Rt or Rt2, 0..31; for a general register 31 is XZR/WZR */
    bool simd;        /* a SIMD&FP register (B/H/S/D/Q by size), else general */
    bool reg64;       /* general register: X (64-bit), else W */
    bool sign_extend; /* load: sign-extend the value to the register width */
} arm64_insn_access_t;

/* A decoded load or store. */
typedef struct arm64_insn {
    uint32_t raw;
    arm64_insn_form_t form;
    bool load;              /* else a store */
    unsigned int nr_access; /* 1, or 2 for a pair (the second at offset + size) */
    arm64_insn_access_t access[2];
    unsigned int base; /* Rn: 0..30, ARM64_INSN_REG_SP or ARM64_INSN_REG_PC */
    arm64_insn_writeback_t writeback;
    int64_t wb_offset;      /* what writeback adds to the base */
    bool has_index;         /* register offset: address += extend(Rm) << shift */
    unsigned int index_reg; /* Rm, 31 = XZR/WZR */
    arm64_insn_extend_t extend;
    unsigned int shift; /* 0 or log2(size) */
} arm64_insn_t;

/* Decode @raw.  Returns 0, or the negative arm64_insn_err_t that refuses it. */
int arm64_insn_decode(uint32_t raw, arm64_insn_t *out);

/* One line naming a reason, e.g. "exclusive load/store (LDXR, STXR, ...)".  Never NULL. */
const char *arm64_insn_strerror(int err);

/*
 * The instruction in the assembler's syntax (lower case, as GNU objdump
 * prints it), e.g. "ldp x29, x30, [sp], #16" or "ldr w0, [x1, w2, sxtw #2]";
 * a literal load shows its offset: "ldr x0, [pc, #-8]".  Returns the full
 * length, as snprintf() does.
 */
int arm64_insn_describe(const arm64_insn_t *insn, char *buf, size_t len);

/*
 * Registers and memory, the caller's.  Register numbers: 0..30 are X0..X30,
 * ARM64_INSN_REG_SP is SP, ARM64_INSN_REG_PC is the address of the
 * instruction (only read, for literal loads).  XZR is never asked for.
 */
typedef struct arm64_insn_ops {
    uint64_t (*read_reg)(void *opaque, unsigned int reg);
    /* A W-register load arrives zero-extended: the upper 32 bits are 0. */
    void (*write_reg)(void *opaque, unsigned int reg, uint64_t value);
    /* SIMD&FP forms only: V@reg's low @size bytes, in memory order. */
    void (*read_vreg)(void *opaque, unsigned int reg, uint8_t *buf, unsigned int size);
    /* Set V@reg to the @size bytes, zero-extended to the whole register
     * (the upper part of an SVE Z register included, as the architecture does). */
    void (*write_vreg)(void *opaque, unsigned int reg, const uint8_t *buf, unsigned int size);
    /* @size bytes at guest virtual address @addr, in memory order; 0 or -errno. */
    int (*mem_read)(void *opaque, uint64_t addr, void *buf, unsigned int size);
    int (*mem_write)(void *opaque, uint64_t addr, const void *buf, unsigned int size);
} arm64_insn_ops_t;

/*
 * The guest virtual address of each access (addr[0], and addr[1] for a
 * pair), from the current base and index registers.  Returns nr_access.
 */
unsigned int arm64_insn_addresses(const arm64_insn_t *insn, const arm64_insn_ops_t *ops,
                                  void *opaque, uint64_t addr[2]);

/*
 * Execute @insn: read the base (and index), perform the accesses in order
 * (the first at its offset, a pair's second at offset + size), then write
 * the loaded registers, then the base for a writeback form.  Loads
 * zero- or sign-extend into Wt/Xt as the instruction says; a W write
 * clears the upper 32 bits.  PC is not advanced: the caller adds 4.
 *
 * Returns 0; -EINVAL when a SIMD&FP form meets ops without read_vreg /
 * write_vreg; or a memory callback's negative value.  A failed load
 * changes no register; a failed store leaves any earlier store of the pair
 * done and no writeback.
 */
int arm64_insn_apply(const arm64_insn_t *insn, const arm64_insn_ops_t *ops, void *opaque);

#ifdef __cplusplus
}
#endif

#endif /* VMMKIT_ARM64_INSN_H */
