/*
 * test_arm64_esr.c - unit tests for src/arch/arm64/esr.c (ESR_EL2 decoding).
 *
 * ESR values are built here from the field layout of the Arm ARM (DDI 0487)
 * D24.2 "ESR_EL2": EC [31:26], IL [25], ISS [24:0], ISS2 [55:32].  The
 * "real" values are worked out in the comments beside them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <vmmkit/arm64_esr.h>

static uint64_t esr(unsigned ec, unsigned il, uint32_t iss)
{
    return (uint64_t)ec << 26 | (uint64_t)il << 25 | iss;
}

/* Data abort ISS from its fields (names as in the Arm ARM). */
static uint32_t dabt_iss(unsigned isv, unsigned sas, unsigned sse, unsigned srt, unsigned sf,
                         unsigned ar, unsigned wnr, unsigned dfsc)
{
    return isv << 24 | sas << 22 | sse << 21 | srt << 16 | sf << 15 | ar << 14 | wnr << 6 | dfsc;
}

static void test_ec_names(void **state)
{
    static const struct {
        unsigned ec;
        const char *name;
    } named[] = {
        {0x00, "UNKNOWN"},     {0x01, "WFX"},         {0x03, "CP15_32"},     {0x04, "CP15_64"},
        {0x05, "CP14_MR"},     {0x06, "CP14_LS"},     {0x07, "FP_ASIMD"},    {0x08, "CP10_ID"},
        {0x09, "PAC"},         {0x0a, "LS64"},        {0x0c, "CP14_64"},     {0x0d, "BTI"},
        {0x0e, "ILL"},         {0x11, "SVC32"},       {0x12, "HVC32"},       {0x13, "SMC32"},
        {0x15, "SVC64"},       {0x16, "HVC64"},       {0x17, "SMC64"},       {0x18, "SYS64"},
        {0x19, "SVE"},         {0x1a, "ERET"},        {0x1c, "FPAC"},        {0x1d, "SME"},
        {0x1f, "IMP_DEF"},     {0x20, "IABT_LOW"},    {0x21, "IABT_CUR"},    {0x22, "PC_ALIGN"},
        {0x24, "DABT_LOW"},    {0x25, "DABT_CUR"},    {0x26, "SP_ALIGN"},    {0x27, "MOPS"},
        {0x28, "FP_EXC32"},    {0x2c, "FP_EXC64"},    {0x2d, "GCS"},         {0x2f, "SERROR"},
        {0x30, "BREAKPT_LOW"}, {0x31, "BREAKPT_CUR"}, {0x32, "SOFTSTP_LOW"}, {0x33, "SOFTSTP_CUR"},
        {0x34, "WATCHPT_LOW"}, {0x35, "WATCHPT_CUR"}, {0x38, "BKPT32"},      {0x3a, "VECTOR32"},
        {0x3c, "BRK64"},
    };
    unsigned seen = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
        assert_string_equal(arm64_esr_ec_name(named[i].ec), named[i].name);
        assert_string_not_equal(arm64_esr_ec_desc(named[i].ec), "unallocated exception class");
        /* The class comes back out of a full ESR. */
        assert_int_equal(arm64_esr_ec(esr(named[i].ec, 1, 0x1ffffff)), named[i].ec);
    }
    for (unsigned ec = 0; ec < 64; ec++)
        if (strcmp(arm64_esr_ec_name(ec), "UNALLOCATED") != 0)
            seen++;
    assert_int_equal(seen, sizeof(named) / sizeof(named[0]));
    /* A few that must stay unallocated, and out-of-range values. */
    assert_string_equal(arm64_esr_ec_name(0x02), "UNALLOCATED");
    assert_string_equal(arm64_esr_ec_name(0x23), "UNALLOCATED");
    assert_string_equal(arm64_esr_ec_name(0x3f), "UNALLOCATED");
    assert_string_equal(arm64_esr_ec_name(64), "UNALLOCATED");
    assert_string_equal(arm64_esr_ec_desc(0x24), "data abort from a lower EL");
    assert_string_equal(arm64_esr_ec_desc(0x16), "HVC from AArch64");
}

static void test_common_fields(void **state)
{
    uint64_t e = 0x00abcdef00000000ull | esr(0x24, 1, 0x1234567);

    (void)state;
    assert_int_equal(arm64_esr_ec(e), 0x24);
    assert_true(arm64_esr_il(e));
    assert_int_equal(arm64_esr_iss(e), 0x1234567);
    assert_int_equal(arm64_esr_iss2(e), 0xabcdef);
    assert_false(arm64_esr_il(esr(0x24, 0, 0)));
    assert_int_equal(arm64_esr_iss2(0xff00000000000000ull), 0); /* bits 63:56 are not ISS2 */
    assert_true(arm64_esr_is_dabt(esr(0x24, 1, 0)));
    assert_true(arm64_esr_is_dabt(esr(0x25, 1, 0)));
    assert_false(arm64_esr_is_dabt(esr(0x20, 1, 0)));
    assert_true(arm64_esr_is_iabt(esr(0x20, 1, 0)));
    assert_true(arm64_esr_is_iabt(esr(0x21, 1, 0)));
    assert_false(arm64_esr_is_iabt(esr(0x24, 1, 0)));
}

/* Each data-abort ISS bit on its own. */
static void test_dabt_field_by_field(void **state)
{
    arm64_esr_dabt_t d;

    (void)state;
    /* ISV with each SAS value: access sizes 1, 2, 4, 8. */
    for (unsigned sas = 0; sas < 4; sas++) {
        assert_int_equal(
            arm64_esr_decode_dabt(esr(0x24, 1, dabt_iss(1, sas, 0, 0, 0, 0, 0, 0)), &d), 0);
        assert_true(d.isv);
        assert_int_equal(d.access_size, 1u << sas);
    }
    assert_int_equal(arm64_esr_decode_dabt(esr(0x24, 1, dabt_iss(1, 0, 1, 0, 0, 0, 0, 0)), &d), 0);
    assert_true(d.sse);
    for (unsigned srt = 0; srt < 32; srt++) {
        arm64_esr_decode_dabt(esr(0x24, 1, dabt_iss(1, 0, 0, srt, 0, 0, 0, 0)), &d);
        assert_int_equal(d.srt, srt);
    }
    arm64_esr_decode_dabt(esr(0x24, 1, dabt_iss(1, 0, 0, 0, 1, 0, 0, 0)), &d);
    assert_true(d.sf);
    assert_false(d.ar);
    arm64_esr_decode_dabt(esr(0x24, 1, dabt_iss(1, 0, 0, 0, 0, 1, 0, 0)), &d);
    assert_true(d.ar);
    assert_false(d.sf);

    /* Bits that do not depend on ISV. */
    arm64_esr_decode_dabt(esr(0x24, 1, 1u << 13), &d);
    assert_true(d.vncr);
    for (unsigned set = 0; set < 4; set++) {
        arm64_esr_decode_dabt(esr(0x24, 1, set << 11 | 0x10), &d);
        assert_int_equal(d.set, set);
        assert_int_equal(d.dfsc, 0x10);
    }
    arm64_esr_decode_dabt(esr(0x24, 1, 1u << 10), &d);
    assert_true(d.fnv);
    assert_false(d.ea);
    arm64_esr_decode_dabt(esr(0x24, 1, 1u << 9), &d);
    assert_true(d.ea);
    assert_false(d.cm);
    arm64_esr_decode_dabt(esr(0x24, 1, 1u << 8), &d);
    assert_true(d.cm);
    assert_false(d.s1ptw);
    arm64_esr_decode_dabt(esr(0x24, 1, 1u << 7), &d);
    assert_true(d.s1ptw);
    assert_false(d.wnr);
    arm64_esr_decode_dabt(esr(0x24, 1, 1u << 6), &d);
    assert_true(d.wnr);
    assert_int_equal(d.dfsc, 0);
    for (unsigned fsc = 0; fsc < 64; fsc++) {
        arm64_esr_decode_dabt(esr(0x25, 1, fsc), &d);
        assert_int_equal(d.dfsc, fsc);
    }

    /* ISV clear: the syndrome-only fields read as zero even if the bits are set. */
    assert_int_equal(arm64_esr_decode_dabt(esr(0x24, 1, dabt_iss(0, 3, 1, 7, 1, 1, 1, 7)), &d), 0);
    assert_false(d.isv);
    assert_int_equal(d.access_size, 0);
    assert_false(d.sse);
    assert_int_equal(d.srt, 0);
    assert_false(d.sf);
    assert_false(d.ar);
    assert_true(d.wnr);
    assert_int_equal(d.dfsc, 7);

    /* Not a data abort. */
    assert_int_equal(arm64_esr_decode_dabt(esr(0x16, 1, 0), &d), -EINVAL);
    assert_int_equal(arm64_esr_decode_dabt(esr(0x20, 1, 7), &d), -EINVAL);
}

/*
 * Whole ESR values as a guest's MMIO access produces them.  EC 0x24 << 26 =
 * 0x90000000, IL = 0x02000000, ISV = 0x01000000.
 */
static void test_dabt_real_values(void **state)
{
    arm64_esr_dabt_t d;

    (void)state;
    /* LDR X0, [Xn] to an unmapped page: SAS 3 (0xc00000), SRT 0, SF (0x8000), DFSC 7
     * (translation, level 3): 0x90000000 + 0x02000000 + 0x01000000 + 0xc00000 + 0x8000 + 7. */
    assert_int_equal(arm64_esr_decode_dabt(0x93c08007, &d), 0);
    assert_true(d.isv);
    assert_int_equal(d.access_size, 8);
    assert_int_equal(d.srt, 0);
    assert_true(d.sf);
    assert_false(d.sse);
    assert_false(d.wnr);
    assert_int_equal(d.dfsc, 7);

    /* LDR W3, [Xn]: SAS 2 (0x800000), SRT 3 (0x30000), SF 0 -> 0x93830007. */
    assert_int_equal(esr(0x24, 1, dabt_iss(1, 2, 0, 3, 0, 0, 0, 7)), 0x93830007);
    arm64_esr_decode_dabt(0x93830007, &d);
    assert_int_equal(d.access_size, 4);
    assert_int_equal(d.srt, 3);
    assert_false(d.sf);

    /* STR W1, [Xn]: WnR (0x40) -> 0x93810047. */
    arm64_esr_decode_dabt(0x93810047, &d);
    assert_true(d.wnr);
    assert_int_equal(d.access_size, 4);
    assert_int_equal(d.srt, 1);

    /* STRB WZR at level-2 translation fault: SAS 0, SRT 31 (0x1f0000), DFSC 6 -> 0x931f0046. */
    assert_int_equal(esr(0x24, 1, dabt_iss(1, 0, 0, 31, 0, 0, 1, 6)), 0x931f0046);
    arm64_esr_decode_dabt(0x931f0046, &d);
    assert_int_equal(d.access_size, 1);
    assert_int_equal(d.srt, 31);
    assert_int_equal(d.dfsc, 6);

    /* LDRSH X2, [Xn]: SAS 1 (0x400000), SSE (0x200000), SRT 2, SF -> 0x93628007. */
    assert_int_equal(esr(0x24, 1, dabt_iss(1, 1, 1, 2, 1, 0, 0, 7)), 0x93628007);
    arm64_esr_decode_dabt(0x93628007, &d);
    assert_int_equal(d.access_size, 2);
    assert_true(d.sse);
    assert_true(d.sf);

    /* STP to MMIO: no syndrome.  0x90000000 + IL + WnR + DFSC 7 = 0x92000047. */
    arm64_esr_decode_dabt(0x92000047, &d);
    assert_false(d.isv);
    assert_true(d.wnr);
    assert_int_equal(d.dfsc, 7);
}

static void test_fsc(void **state)
{
    static const struct {
        unsigned fsc;
        arm64_esr_fsc_kind_t kind;
        int level;
        const char *name;
    } codes[] = {
        {0x00, ARM64_ESR_FSC_ADDR_SIZE, 0, "address size fault, level 0"},
        {0x03, ARM64_ESR_FSC_ADDR_SIZE, 3, "address size fault, level 3"},
        {0x29, ARM64_ESR_FSC_ADDR_SIZE, -1, "address size fault, level -1"},
        {0x2c, ARM64_ESR_FSC_ADDR_SIZE, -2, "address size fault, level -2"},
        {0x04, ARM64_ESR_FSC_TRANSLATION, 0, "translation fault, level 0"},
        {0x05, ARM64_ESR_FSC_TRANSLATION, 1, "translation fault, level 1"},
        {0x06, ARM64_ESR_FSC_TRANSLATION, 2, "translation fault, level 2"},
        {0x07, ARM64_ESR_FSC_TRANSLATION, 3, "translation fault, level 3"},
        {0x2b, ARM64_ESR_FSC_TRANSLATION, -1, "translation fault, level -1"},
        {0x2a, ARM64_ESR_FSC_TRANSLATION, -2, "translation fault, level -2"},
        {0x08, ARM64_ESR_FSC_ACCESS_FLAG, 0, "access flag fault, level 0"},
        {0x0b, ARM64_ESR_FSC_ACCESS_FLAG, 3, "access flag fault, level 3"},
        {0x0c, ARM64_ESR_FSC_PERMISSION, 0, "permission fault, level 0"},
        {0x0f, ARM64_ESR_FSC_PERMISSION, 3, "permission fault, level 3"},
        {0x10, ARM64_ESR_FSC_SEA, 0, "synchronous external abort"},
        {0x11, ARM64_ESR_FSC_TAG_CHECK, 0, "synchronous tag check fault"},
        {0x12, ARM64_ESR_FSC_SEA_TTW, -2, "synchronous external abort on table walk, level -2"},
        {0x13, ARM64_ESR_FSC_SEA_TTW, -1, "synchronous external abort on table walk, level -1"},
        {0x14, ARM64_ESR_FSC_SEA_TTW, 0, "synchronous external abort on table walk, level 0"},
        {0x17, ARM64_ESR_FSC_SEA_TTW, 3, "synchronous external abort on table walk, level 3"},
        {0x18, ARM64_ESR_FSC_PARITY, 0, "synchronous parity/ECC error"},
        {0x1b, ARM64_ESR_FSC_PARITY_TTW, -1,
         "synchronous parity/ECC error on table walk, level -1"},
        {0x1f, ARM64_ESR_FSC_PARITY_TTW, 3, "synchronous parity/ECC error on table walk, level 3"},
        {0x21, ARM64_ESR_FSC_ALIGNMENT, 0, "alignment fault"},
        {0x22, ARM64_ESR_FSC_GPF_TTW, -2, "granule protection fault on table walk, level -2"},
        {0x23, ARM64_ESR_FSC_GPF_TTW, -1, "granule protection fault on table walk, level -1"},
        {0x27, ARM64_ESR_FSC_GPF_TTW, 3, "granule protection fault on table walk, level 3"},
        {0x28, ARM64_ESR_FSC_GPF, 0, "granule protection fault"},
        {0x30, ARM64_ESR_FSC_TLB_CONFLICT, 0, "TLB conflict abort"},
        {0x31, ARM64_ESR_FSC_ATOMIC_HW, 0, "unsupported atomic hardware update fault"},
        {0x34, ARM64_ESR_FSC_LOCKDOWN, 0, "IMPLEMENTATION DEFINED fault (lockdown)"},
        {0x35, ARM64_ESR_FSC_EXCL_ATOMIC, 0,
         "IMPLEMENTATION DEFINED fault (unsupported exclusive or atomic access)"},
    };
    static const unsigned reserved[] = {0x19, 0x1a, 0x20, 0x2d, 0x2e, 0x2f, 0x32, 0x33, 0x36, 0x3f};
    int level;

    (void)state;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        level = 99;
        assert_int_equal(arm64_esr_fsc_decode(codes[i].fsc, &level), codes[i].kind);
        assert_int_equal(level, codes[i].level);
        assert_string_equal(arm64_esr_fsc_name(codes[i].fsc), codes[i].name);
    }
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        assert_int_equal(arm64_esr_fsc_decode(reserved[i], NULL), ARM64_ESR_FSC_RESERVED);
        assert_string_equal(arm64_esr_fsc_name(reserved[i]), "reserved fault status code");
    }
    /* The helper macros agree with the table. */
    assert_int_equal(ARM64_ESR_FSC_TRANSLATION_L(3), 0x07);
    assert_int_equal(ARM64_ESR_FSC_ACCESS_FLAG_L(1), 0x09);
    assert_int_equal(ARM64_ESR_FSC_PERMISSION_L(2), 0x0e);
    assert_int_equal(arm64_esr_fsc_decode(ARM64_ESR_FSC_SEA_CODE, NULL), ARM64_ESR_FSC_SEA);
    assert_int_equal(arm64_esr_fsc_decode(ARM64_ESR_FSC_ALIGNMENT_CODE, NULL),
                     ARM64_ESR_FSC_ALIGNMENT);
    /* Bits above the 6-bit code are ignored. */
    assert_int_equal(arm64_esr_fsc_decode(0x47, &level), ARM64_ESR_FSC_TRANSLATION);
    assert_int_equal(level, 3);
}

static void test_iabt(void **state)
{
    arm64_esr_iabt_t i;

    (void)state;
    /* Instruction fetch from an unmapped page: 0x80000000 + IL + IFSC 7 = 0x82000007. */
    assert_int_equal(arm64_esr_decode_iabt(0x82000007, &i), 0);
    assert_int_equal(i.ifsc, 7);
    assert_false(i.fnv);
    assert_false(i.ea);
    assert_false(i.s1ptw);
    assert_int_equal(
        arm64_esr_decode_iabt(esr(0x21, 1, 1u << 10 | 1u << 9 | 1u << 7 | 2u << 11 | 0x10), &i), 0);
    assert_true(i.fnv);
    assert_true(i.ea);
    assert_true(i.s1ptw);
    assert_int_equal(i.set, ARM64_ESR_SET_UC);
    assert_int_equal(i.ifsc, 0x10);
    assert_int_equal(arm64_esr_decode_iabt(0x93c08007, &i), -EINVAL);
}

static void test_wfx(void **state)
{
    arm64_esr_wfx_t w;

    (void)state;
    /* WFI: EC 1 (0x04000000) + IL = 0x06000000; WFE adds TI = 1. */
    assert_int_equal(arm64_esr_decode_wfx(0x06000000, &w), 0);
    assert_int_equal(w.type, ARM64_ESR_WFI);
    assert_false(w.rv);
    assert_int_equal(arm64_esr_decode_wfx(0x06000001, &w), 0);
    assert_int_equal(w.type, ARM64_ESR_WFE);
    /* WFIT X3: TI 2, RV (bit 2), Rn 3 << 5 -> ISS 0x66. */
    assert_int_equal(arm64_esr_decode_wfx(0x06000066, &w), 0);
    assert_int_equal(w.type, ARM64_ESR_WFIT);
    assert_true(w.rv);
    assert_int_equal(w.rn, 3);
    /* WFET X30: TI 3, RV, Rn 30 -> ISS 0x3c7. */
    assert_int_equal(arm64_esr_decode_wfx(esr(1, 1, 30u << 5 | 1u << 2 | 3), &w), 0);
    assert_int_equal(w.type, ARM64_ESR_WFET);
    assert_int_equal(w.rn, 30);
    assert_string_equal(arm64_esr_wfx_name(ARM64_ESR_WFI), "WFI");
    assert_string_equal(arm64_esr_wfx_name(ARM64_ESR_WFE), "WFE");
    assert_string_equal(arm64_esr_wfx_name(ARM64_ESR_WFIT), "WFIT");
    assert_string_equal(arm64_esr_wfx_name(ARM64_ESR_WFET), "WFET");
    assert_int_equal(arm64_esr_decode_wfx(0x5a000000, &w), -EINVAL);
}

static void test_hvc_smc_imm(void **state)
{
    (void)state;
    /* HVC #0 from AArch64: EC 0x16 (0x58000000) + IL = 0x5a000000. */
    assert_int_equal(arm64_esr_ec(0x5a000000), ARM64_ESR_EC_HVC64);
    assert_int_equal(arm64_esr_hvc_imm(0x5a000000), 0);
    assert_int_equal(arm64_esr_hvc_imm(0x5a001234), 0x1234);
    /* SMC #0xffff from AArch64: EC 0x17 -> 0x5e00ffff. */
    assert_int_equal(arm64_esr_ec(0x5e00ffff), ARM64_ESR_EC_SMC64);
    assert_int_equal(arm64_esr_hvc_imm(0x5e00ffff), 0xffff);
    /* The AArch32 forms. */
    assert_int_equal(arm64_esr_hvc_imm(esr(0x12, 1, 7)), 7);
    assert_int_equal(arm64_esr_hvc_imm(esr(0x13, 1, 9)), 9);
    /* Bits above the immediate are not part of it. */
    assert_int_equal(arm64_esr_hvc_imm(esr(0x16, 1, 0x1ff0042)), 0x42);
    assert_int_equal(arm64_esr_hvc_imm(esr(0x15, 1, 1)), -EINVAL); /* SVC */
    assert_int_equal(arm64_esr_hvc_imm(0x93c08007), -EINVAL);
}

static void test_sysreg(void **state)
{
    arm64_esr_sysreg_t s;

    (void)state;
    /* MRS X0, MIDR_EL1 (op0 3, op1 0, CRn 0, CRm 0, op2 0): ISS 3 << 20 | 1 = 0x300001;
     * EC 0x18 (0x60000000) + IL -> 0x62300001. */
    assert_int_equal(arm64_esr_decode_sysreg(0x62300001, &s), 0);
    assert_int_equal(s.op0, 3);
    assert_int_equal(s.op1, 0);
    assert_int_equal(s.crn, 0);
    assert_int_equal(s.crm, 0);
    assert_int_equal(s.op2, 0);
    assert_int_equal(s.rt, 0);
    assert_true(s.read);
    /* MSR SCTLR_EL1, X5 (3, 0, C1, C0, 0): ISS 0x300000 | 1 << 10 | 5 << 5 = 0x3004a0. */
    assert_int_equal(arm64_esr_decode_sysreg(0x623004a0, &s), 0);
    assert_int_equal(s.crn, 1);
    assert_int_equal(s.rt, 5);
    assert_false(s.read);
    /* Every field at its maximum, one at a time. */
    arm64_esr_decode_sysreg(esr(0x18, 1, 7u << 17), &s);
    assert_int_equal(s.op2, 7);
    assert_int_equal(s.op1, 0);
    arm64_esr_decode_sysreg(esr(0x18, 1, 7u << 14), &s);
    assert_int_equal(s.op1, 7);
    assert_int_equal(s.crn, 0);
    arm64_esr_decode_sysreg(esr(0x18, 1, 0xfu << 1), &s);
    assert_int_equal(s.crm, 15);
    assert_false(s.read);
    assert_int_equal(arm64_esr_decode_sysreg(0x5a000000, &s), -EINVAL);
}

static void test_describe(void **state)
{
    char buf[256];
    int n;

    (void)state;
    n = arm64_esr_describe(0x93c08007, buf, sizeof(buf));
    assert_string_equal(buf, "ESR 0x93c08007: DABT_LOW (data abort from a lower EL), IL32, ISS "
                             "0x1c08007: read 8 bytes X0, DFSC 0x07 translation fault, level 3");
    assert_int_equal(n, strlen(buf));

    arm64_esr_describe(0x93628047, buf, sizeof(buf));
    assert_string_equal(buf, "ESR 0x93628047: DABT_LOW (data abort from a lower EL), IL32, ISS "
                             "0x1628047: write 2 bytes X2, sign-extend, DFSC 0x07 translation "
                             "fault, level 3");

    arm64_esr_describe(esr(0x24, 1, dabt_iss(1, 2, 0, 31, 0, 1, 1, 6)) | 1u << 10, buf,
                       sizeof(buf));
    assert_string_equal(buf, "ESR 0x939f4446: DABT_LOW (data abort from a lower EL), IL32, ISS "
                             "0x19f4446: write 4 bytes WZR, acquire/release, FnV (FAR not "
                             "valid), DFSC 0x06 translation fault, level 2");

    arm64_esr_describe(0x92000047, buf, sizeof(buf));
    assert_string_equal(buf, "ESR 0x92000047: DABT_LOW (data abort from a lower EL), IL32, ISS "
                             "0x47: write, no syndrome (ISV=0), DFSC 0x07 translation fault, "
                             "level 3");

    arm64_esr_describe(0x82000007, buf, sizeof(buf));
    assert_string_equal(buf, "ESR 0x82000007: IABT_LOW (instruction abort from a lower EL), IL32, "
                             "ISS 0x7, IFSC 0x07 translation fault, level 3");

    arm64_esr_describe(0x5a001234, buf, sizeof(buf));
    assert_string_equal(buf, "ESR 0x5a001234: HVC64 (HVC from AArch64), IL32, ISS 0x1234: imm "
                             "0x1234");

    arm64_esr_describe(0x06000066, buf, sizeof(buf));
    assert_string_equal(buf, "ESR 0x6000066: WFX (trapped WFI/WFE/WFIT/WFET), IL32, ISS 0x66: "
                             "WFIT X3");

    arm64_esr_describe(0x62300001, buf, sizeof(buf));
    assert_string_equal(buf, "ESR 0x62300001: SYS64 (trapped MSR/MRS/system instruction), IL32, "
                             "ISS 0x300001: MRS X0, S3_0_C0_C0_0");
    arm64_esr_describe(0x623004a0, buf, sizeof(buf));
    assert_string_equal(buf, "ESR 0x623004a0: SYS64 (trapped MSR/MRS/system instruction), IL32, "
                             "ISS 0x3004a0: MSR S3_0_C1_C0_0, X5");

    arm64_esr_describe(0xf2000000, buf, sizeof(buf));
    assert_string_equal(buf, "ESR 0xf2000000: BRK64 (BRK (AArch64)), IL32, ISS 0x0");

    arm64_esr_describe(0x0000001200000000ull | esr(0x0b, 0, 0), buf, sizeof(buf));
    assert_string_equal(buf, "ESR 0x122c000000: UNALLOCATED (unallocated exception class), IL16, "
                             "ISS 0x0, ISS2 0x12");

    /* Truncation: NUL-terminated, and the full length comes back. */
    n = arm64_esr_describe(0x93c08007, buf, 10);
    assert_int_equal(strlen(buf), 9);
    assert_int_equal(n, 129);
    n = arm64_esr_describe(0x93c08007, NULL, 0);
    assert_int_equal(n, 129);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ec_names),
        cmocka_unit_test(test_common_fields),
        cmocka_unit_test(test_dabt_field_by_field),
        cmocka_unit_test(test_dabt_real_values),
        cmocka_unit_test(test_fsc),
        cmocka_unit_test(test_iabt),
        cmocka_unit_test(test_wfx),
        cmocka_unit_test(test_hvc_smc_imm),
        cmocka_unit_test(test_sysreg),
        cmocka_unit_test(test_describe),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
