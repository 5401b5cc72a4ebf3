/*
 * test_x86_aml.c - unit tests for src/arch/x86/aml.c (the AML writer).
 *
 * Expected bytes are worked out by hand from ACPI 6.4 chapter 20 (AML
 * encoding) and 6.4 (resource descriptors); the resource descriptors were
 * also checked once against what iasl 20200925 compiles for the same ASL.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arch/x86/aml.h"

static uint8_t out[8192];
static aml_buf_t b;

static int setup(void **state)
{
    (void)state;
    memset(out, 0xee, sizeof(out));
    aml_init(&b, out, sizeof(out));
    return 0;
}

/* The buffer holds exactly @n bytes equal to @want, and no error. */
static void expect(const uint8_t *want, size_t n)
{
    assert_int_equal(aml_error(&b), 0);
    assert_int_equal(aml_len(&b), n);
    assert_memory_equal(out, want, n);
}

#define EXPECT(...)                                                                                \
    do {                                                                                           \
        static const uint8_t want_[] = {__VA_ARGS__};                                              \
        expect(want_, sizeof(want_));                                                              \
    } while (0)

/* ---- integers (20.2.3) ------------------------------------------------- */

static void test_integer_shortest(void **state)
{
    static const struct {
        uint64_t v;
        uint8_t bytes[9];
        size_t n;
    } cases[] = {
        {0, {0x00}, 1},                                      /* ZeroOp */
        {1, {0x01}, 1},                                      /* OneOp */
        {2, {0x0a, 0x02}, 2},                                /* BytePrefix */
        {0xff, {0x0a, 0xff}, 2},                             /* not OnesOp */
        {0x100, {0x0b, 0x00, 0x01}, 3},                      /* WordPrefix */
        {0xffff, {0x0b, 0xff, 0xff}, 3},                     /* */
        {0x10000, {0x0c, 0x00, 0x00, 0x01, 0x00}, 5},        /* DWordPrefix */
        {0xfec00000, {0x0c, 0x00, 0x00, 0xc0, 0xfe}, 5},     /* */
        {0xffffffff, {0x0c, 0xff, 0xff, 0xff, 0xff}, 5},     /* */
        {0x100000000ull, {0x0e, 0, 0, 0, 0, 1, 0, 0, 0}, 9}, /* QWordPrefix */
        {0x0123456789abcdefull, {0x0e, 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01}, 9},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        setup(state);
        aml_integer(&b, cases[i].v);
        expect(cases[i].bytes, cases[i].n);
    }
}

static void test_integer_forced_prefix(void **state)
{
    (void)state;
    aml_byte_const(&b, 0);
    aml_word_const(&b, 1);
    aml_dword_const(&b, 2);
    aml_qword_const(&b, 3);
    EXPECT(0x0a, 0x00, 0x0b, 0x01, 0x00, 0x0c, 0x02, 0x00, 0x00, 0x00, 0x0e, 0x03, 0, 0, 0, 0, 0, 0,
           0);
}

/* ---- strings and EISA ids ---------------------------------------------- */

static void test_string(void **state)
{
    (void)state;
    aml_string(&b, "LNRO0005");
    EXPECT(0x0d, 'L', 'N', 'R', 'O', '0', '0', '0', '5', 0x00);
    setup(state);
    aml_string(&b, "");
    EXPECT(0x0d, 0x00);
}

static void test_string_refuses_non_ascii(void **state)
{
    (void)state;
    aml_string(&b, "caf\xc3\xa9");
    assert_int_equal(aml_error(&b), -EINVAL);
    assert_int_equal(aml_len(&b), 0);
    setup(state);
    aml_string(&b, NULL);
    assert_int_equal(aml_error(&b), -EINVAL);
}

static void test_eisaid(void **state)
{
    /* 'P'=16 'N'=14 'P'=16 -> 0b10000_01110_10000 = 0x41d0 big-endian, then
     * the product id 0x0a03 big-endian: EisaId("PNP0A03") == 0x030ad041. */
    (void)state;
    aml_eisaid(&b, "PNP0A03");
    EXPECT(0x0c, 0x41, 0xd0, 0x0a, 0x03);
    setup(state);
    aml_eisaid(&b, "PNP0A08");
    aml_eisaid(&b, "PNP0501");
    aml_eisaid(&b, "PNP0B00");
    aml_eisaid(&b, "PNP0303");
    aml_eisaid(&b, "PNP0C02");
    EXPECT(0x0c, 0x41, 0xd0, 0x0a, 0x08, 0x0c, 0x41, 0xd0, 0x05, 0x01, 0x0c, 0x41, 0xd0, 0x0b, 0x00,
           0x0c, 0x41, 0xd0, 0x03, 0x03, 0x0c, 0x41, 0xd0, 0x0c, 0x02);
}

static void test_eisaid_refuses_bad_ids(void **state)
{
    static const char *const bad[] = {"pnp0a03", "PNP0A0", "PNP0A033", "PNP0G03", "P1P0A03", ""};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setup(state);
        aml_eisaid(&b, bad[i]);
        assert_int_equal(aml_error(&b), -EINVAL);
        assert_int_equal(aml_len(&b), 0);
    }
}

/* ---- names (20.2.2) ---------------------------------------------------- */

static void test_name_strings(void **state)
{
    (void)state;
    aml_name_string(&b, "_HID");
    EXPECT('_', 'H', 'I', 'D');
    setup(state);
    aml_name_string(&b, "_S5"); /* padded with '_' */
    EXPECT('_', 'S', '5', '_');
    setup(state);
    aml_name_string(&b, "\\_SB");
    EXPECT(0x5c, '_', 'S', 'B', '_');
    setup(state);
    aml_name_string(&b, "\\_SB.PCI0"); /* DualNamePrefix */
    EXPECT(0x5c, 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0');
    setup(state);
    aml_name_string(&b, "\\_SB.PCI0.COM1"); /* MultiNamePrefix, SegCount 3 */
    EXPECT(0x5c, 0x2f, 0x03, '_', 'S', 'B', '_', 'P', 'C', 'I', '0', 'C', 'O', 'M', '1');
    setup(state);
    aml_name_string(&b, "^^FOO");
    EXPECT(0x5e, 0x5e, 'F', 'O', 'O', '_');
    setup(state);
    aml_name_string(&b, ""); /* NullName */
    EXPECT(0x00);
    setup(state);
    aml_name_string(&b, "\\");
    EXPECT(0x5c, 0x00);
}

static void test_name_strings_refused(void **state)
{
    static const char *const bad[] = {"1ABC", "ABCDE", "abc", "A..B",      "A.",
                                      ".A",   "\\^A",  "A-B", "\\_SB.PC I"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setup(state);
        aml_name_string(&b, bad[i]);
        assert_int_equal(aml_error(&b), -EINVAL);
    }
}

static void test_name(void **state)
{
    (void)state;
    aml_name(&b, "_UID");
    aml_integer(&b, 1);
    EXPECT(0x08, '_', 'U', 'I', 'D', 0x01);
}

/* ---- PkgLength (20.2.4) ------------------------------------------------ */

static void test_pkglength_encoding(void **state)
{
    static const struct {
        size_t len; /* bytes covered, excluding the PkgLength itself */
        uint8_t bytes[4];
        unsigned int n;
    } cases[] = {
        {0, {0x01}, 1},
        {62, {0x3f}, 1}, /* largest one-byte value: 63 */
        /* 63 + 2 = 65 = 0x41: lead 01<<6 | 0x1, then 0x41 >> 4 */
        {63, {0x41, 0x04}, 2},
        {0xffd, {0x4f, 0xff}, 2},                  /* 0xfff, the largest two-byte value */
        {0xffe, {0x81, 0x00, 0x01}, 3},            /* 0x1001 */
        {0xffffc, {0x8f, 0xff, 0xff}, 3},          /* 0xfffff */
        {0xffffd, {0xc1, 0x00, 0x00, 0x01}, 4},    /* 0x100001 */
        {0x0ffffffb, {0xcf, 0xff, 0xff, 0xff}, 4}, /* 0x0fffffff, the largest */
    };
    uint8_t pl[4];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(pl, 0, sizeof(pl));
        assert_int_equal(aml_pkglength_encode(cases[i].len, pl), cases[i].n);
        assert_memory_equal(pl, cases[i].bytes, cases[i].n);
    }
    assert_int_equal(aml_pkglength_encode(0x0ffffffc, pl), 0);
}

/* ---- blocks ------------------------------------------------------------ */

static void test_device(void **state)
{
    size_t dev;

    (void)state;
    /* Device(COM1) { Name(_UID, One) }: content 4 + 6 = 10, PkgLength 11. */
    dev = aml_device_begin(&b, "COM1");
    aml_name(&b, "_UID");
    aml_integer(&b, 1);
    aml_end(&b, dev);
    EXPECT(0x5b, 0x82, 0x0b, 'C', 'O', 'M', '1', 0x08, '_', 'U', 'I', 'D', 0x01);
}

static void test_scope(void **state)
{
    (void)state;
    aml_end(&b, aml_scope_begin(&b, "\\_SB"));
    EXPECT(0x10, 0x06, 0x5c, '_', 'S', 'B', '_');
}

static void test_package_s5(void **state)
{
    size_t pkg;

    (void)state;
    /* Name(\_S5, Package(4) {5, 5, 0, 0}), as iasl compiles it. */
    aml_name(&b, "\\_S5");
    pkg = aml_package_begin(&b, 4);
    aml_integer(&b, 5);
    aml_integer(&b, 5);
    aml_integer(&b, 0);
    aml_integer(&b, 0);
    aml_end(&b, pkg);
    EXPECT(0x08, 0x5c, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00);
}

static void test_method(void **state)
{
    size_t m;

    (void)state;
    /* Method(_STA, 0, NotSerialized) { Return(0x0F) } */
    m = aml_method_begin(&b, "_STA", 0, false);
    aml_return(&b);
    aml_integer(&b, 0x0f);
    aml_end(&b, m);
    EXPECT(0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f);
    setup(state);
    /* Method(FOO, 2, Serialized) {}: flags 0x0a */
    aml_end(&b, aml_method_begin(&b, "FOO", 2, true));
    EXPECT(0x14, 0x06, 'F', 'O', 'O', '_', 0x0a);
}

static void test_buffer(void **state)
{
    static const uint8_t data[3] = {0xaa, 0xbb, 0xcc};

    (void)state;
    /* Buffer(3) {...}: BufferOp, PkgLength 1 + 2 + 3 = 6, BytePrefix 3, data */
    aml_buffer(&b, data, sizeof(data));
    EXPECT(0x11, 0x06, 0x0a, 0x03, 0xaa, 0xbb, 0xcc);
}

/* A block that outgrows a one-byte PkgLength moves its contents back. */
static void test_nested_long_blocks(void **state)
{
    uint8_t data[100];
    size_t dev;
    const uint8_t *p = out;

    (void)state;
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)i;
    dev = aml_device_begin(&b, "TEST");
    aml_name(&b, "BUF0");
    aml_buffer(&b, data, sizeof(data));
    aml_end(&b, dev);
    assert_int_equal(aml_error(&b), 0);
    /* Buffer: 0x0a 0x64 + 100 = 102 bytes, + 2 = 104 = 0x68 -> 0x48 0x06.
     * Device: "TEST" + NameOp "BUF0" + BufferOp + 2 + 102 = 114, + 2 = 116 =
     * 0x74 -> 0x44 0x07. */
    assert_int_equal(aml_len(&b), 2 + 116);
    assert_int_equal(p[0], 0x5b);
    assert_int_equal(p[1], 0x82);
    assert_int_equal(p[2], 0x44);
    assert_int_equal(p[3], 0x07);
    assert_memory_equal(p + 4, "TEST", 4);
    assert_int_equal(p[8], 0x08);
    assert_memory_equal(p + 9, "BUF0", 4);
    assert_int_equal(p[13], 0x11);
    assert_int_equal(p[14], 0x48);
    assert_int_equal(p[15], 0x06);
    assert_int_equal(p[16], 0x0a);
    assert_int_equal(p[17], 100);
    assert_memory_equal(p + 18, data, sizeof(data));
}

static void test_big_package(void **state)
{
    size_t pkg;

    (void)state;
    /* 200 elements of One: 1 + 200 = 201 bytes, + 2 = 203 = 0xcb -> 0x4b 0x0c. */
    pkg = aml_package_begin(&b, 200);
    for (int i = 0; i < 200; i++)
        aml_integer(&b, 1);
    aml_end(&b, pkg);
    assert_int_equal(aml_error(&b), 0);
    assert_int_equal(aml_len(&b), 1 + 203);
    assert_int_equal(out[0], 0x12);
    assert_int_equal(out[1], 0x4b);
    assert_int_equal(out[2], 0x0c);
    assert_int_equal(out[3], 200);
    assert_int_equal(out[4], 0x01);
    assert_int_equal(out[203], 0x01);
}

/* A 3-byte PkgLength: a buffer of 5000 bytes. */
static void test_three_byte_pkglength(void **state)
{
    static uint8_t data[5000];

    (void)state;
    aml_buffer(&b, data, sizeof(data));
    /* 0x0b 0x88 0x13 + 5000 = 5003 bytes, + 3 = 5006 = 0x138e:
     * lead 0x80 | 0xe, then 0x38, 0x01 */
    assert_int_equal(aml_error(&b), 0);
    assert_int_equal(aml_len(&b), 1 + 5006);
    assert_int_equal(out[1], 0x8e);
    assert_int_equal(out[2], 0x38);
    assert_int_equal(out[3], 0x01);
    assert_int_equal(out[4], 0x0b);
    assert_int_equal(out[5], 0x88);
    assert_int_equal(out[6], 0x13);
}

static void test_block_misuse(void **state)
{
    size_t dev;

    (void)state;
    dev = aml_device_begin(&b, "DEV0");
    assert_int_equal(aml_error(&b), -EINVAL); /* left open */
    aml_end(&b, dev);
    assert_int_equal(aml_error(&b), 0);
    aml_end(&b, dev); /* closed twice */
    assert_int_equal(aml_error(&b), -EINVAL);

    setup(state);
    aml_method_begin(&b, "M000", 8, false);
    assert_int_equal(aml_error(&b), -EINVAL);
    setup(state);
    aml_package_begin(&b, 256);
    assert_int_equal(aml_error(&b), -EINVAL);
    setup(state);
    aml_device_begin(&b, "bad");
    assert_int_equal(aml_error(&b), -EINVAL);
}

/* ---- bounds ------------------------------------------------------------ */

static void test_never_writes_past_capacity(void **state)
{
    uint8_t small[16];
    size_t dev;

    (void)state;
    memset(out, 0xee, sizeof(out));
    aml_init(&b, out, 4);
    aml_integer(&b, 0x100000000ull); /* 9 bytes into 4 */
    assert_int_equal(aml_error(&b), -ENOSPC);
    assert_int_equal(aml_len(&b), 0);
    aml_byte(&b, 1); /* sticky: nothing more is written */
    assert_int_equal(aml_len(&b), 0);
    for (size_t i = 0; i < 64; i++)
        assert_int_equal(out[i], 0xee);

    /* Exactly full is fine. */
    aml_init(&b, out, 5);
    aml_dword_const(&b, 0x11223344);
    assert_int_equal(aml_error(&b), 0);
    assert_int_equal(aml_len(&b), 5);
    assert_int_equal(out[5], 0xee);

    /* A block that does not fit. */
    aml_init(&b, small, 8);
    dev = aml_device_begin(&b, "DEV0");
    aml_name(&b, "_UID");
    aml_integer(&b, 0);
    aml_end(&b, dev);
    assert_int_equal(aml_error(&b), -ENOSPC);
    assert_true(aml_len(&b) <= 8);

    /* NULL storage holds nothing. */
    aml_init(&b, NULL, 100);
    aml_byte(&b, 0);
    assert_int_equal(aml_error(&b), -ENOSPC);
}

/* ---- resource descriptors (6.4) ---------------------------------------- */

static void test_res_io_irq(void **state)
{
    (void)state;
    aml_res_io(&b, 0x3f8, 0x3f8, 1, 8); /* IO(Decode16, 0x3F8, 0x3F8, 1, 8) */
    aml_res_irq_noflags(&b, 4);         /* IRQNoFlags() {4} */
    EXPECT(0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08, 0x22, 0x10, 0x00);
    setup(state);
    aml_res_irq_noflags(&b, 16);
    assert_int_equal(aml_error(&b), -EINVAL);
}

static void test_res_memory32_fixed(void **state)
{
    (void)state;
    aml_res_memory32_fixed(&b, 0xd0000000, 0x200, true);
    aml_res_memory32_fixed(&b, 0x12345678, 0x1000, false);
    EXPECT(0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xd0, 0x00, 0x02, 0x00, 0x00, /* */
           0x86, 0x09, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12, 0x00, 0x10, 0x00, 0x00);
}

static void test_res_word_bus_number_and_io(void **state)
{
    (void)state;
    /* WordBusNumber(ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, 0, 0xFF, 0, 0x100) */
    aml_res_word_bus_number(&b, 0, 0xff);
    /* WordIO(ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0, 0x1000, 0xFFFF, 0,
     * 0xF000) */
    aml_res_word_io(&b, 0x1000, 0xffff);
    EXPECT(0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00,
           0x01, /* */
           0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0x00, 0x00, 0x00, 0x10, 0xff, 0xff, 0x00, 0x00, 0x00,
           0xf0);
}

static void test_res_dword_qword_memory(void **state)
{
    (void)state;
    /* DWordMemory(ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable,
     * ReadWrite, 0, 0xC0000000, 0xFEBFFFFF, 0, 0x3EC00000) */
    aml_res_dword_memory(&b, 0xc0000000, 0xfebfffff, true, false);
    EXPECT(0x87, 0x17, 0x00, 0x00, 0x0c, 0x01,             /* */
           0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, /* _GRA, _MIN */
           0xff, 0xff, 0xbf, 0xfe, 0x00, 0x00, 0x00, 0x00, /* _MAX, _TRA */
           0x00, 0x00, 0xc0, 0x3e);                        /* _LEN */
    setup(state);
    /* QWordMemory(ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable,
     * ReadWrite, 0, 0x100000000, 0x1FFFFFFFF, 0, 0x100000000) */
    aml_res_qword_memory(&b, 0x100000000ull, 0x1ffffffffull, true, true);
    EXPECT(0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, /* _GRA */
           0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,             /* _MIN */
           0xff, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00,             /* _MAX */
           0, 0, 0, 0, 0, 0, 0, 0,                                     /* _TRA */
           0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00);            /* _LEN */
    setup(state);
    /* A consumer, non-cacheable: general flags 0x0d, type flags 0x01. */
    aml_res_qword_memory(&b, 0xb0000000, 0xbfffffff, false, false);
    assert_int_equal(out[4], 0x0d);
    assert_int_equal(out[5], 0x01);
    setup(state);
    aml_res_dword_memory(&b, 0x2000, 0x1000, true, false); /* max < min */
    assert_int_equal(aml_error(&b), -EINVAL);
    setup(state);
    aml_res_qword_memory(&b, 0, UINT64_MAX, true, false); /* length 2^64 */
    assert_int_equal(aml_error(&b), -EINVAL);
}

static void test_res_ext_interrupt(void **state)
{
    (void)state;
    /* Interrupt(ResourceConsumer, Edge, ActiveHigh, Exclusive) {5} */
    aml_res_ext_interrupt(&b, 5, true, false, false);
    /* Interrupt(ResourceConsumer, Level, ActiveLow, Shared) {0x10} */
    aml_res_ext_interrupt(&b, 0x10, false, true, true);
    EXPECT(0x89, 0x06, 0x00, 0x03, 0x01, 0x05, 0x00, 0x00, 0x00, /* */
           0x89, 0x06, 0x00, 0x0d, 0x01, 0x10, 0x00, 0x00, 0x00);
}

static void test_resource_template_end_tag(void **state)
{
    uint8_t scratch[64];
    aml_buf_t r;
    uint8_t sum = 0;

    (void)state;
    aml_init(&r, scratch, sizeof(scratch));
    aml_res_irq_noflags(&r, 4);
    aml_name(&b, "_CRS");
    aml_resource_template(&b, &r);
    /* 0x22 + 0x10 + 0x79 = 0xab, so the checksum is 0x55; Buffer(5). */
    EXPECT(0x08, '_', 'C', 'R', 'S', 0x11, 0x08, 0x0a, 0x05, 0x22, 0x10, 0x00, 0x79, 0x55);
    for (size_t i = 9; i < aml_len(&b); i++)
        sum = (uint8_t)(sum + out[i]);
    assert_int_equal(sum, 0);
}

static void test_resource_template_errors_propagate(void **state)
{
    uint8_t scratch[4];
    aml_buf_t r;

    (void)state;
    aml_init(&r, scratch, sizeof(scratch));
    aml_res_io(&r, 0x60, 0x60, 1, 1); /* 8 bytes into 4 */
    aml_resource_template(&b, &r);
    assert_int_equal(aml_error(&b), -ENOSPC);
    assert_int_equal(aml_len(&b), 0);

    /* Room for the descriptors but not for the End Tag. */
    setup(state);
    aml_init(&r, scratch, 3);
    aml_res_irq_noflags(&r, 1);
    aml_resource_template(&b, &r);
    assert_int_equal(aml_error(&b), -ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_integer_shortest, setup),
        cmocka_unit_test_setup(test_integer_forced_prefix, setup),
        cmocka_unit_test_setup(test_string, setup),
        cmocka_unit_test_setup(test_string_refuses_non_ascii, setup),
        cmocka_unit_test_setup(test_eisaid, setup),
        cmocka_unit_test_setup(test_eisaid_refuses_bad_ids, setup),
        cmocka_unit_test_setup(test_name_strings, setup),
        cmocka_unit_test_setup(test_name_strings_refused, setup),
        cmocka_unit_test_setup(test_name, setup),
        cmocka_unit_test_setup(test_pkglength_encoding, setup),
        cmocka_unit_test_setup(test_device, setup),
        cmocka_unit_test_setup(test_scope, setup),
        cmocka_unit_test_setup(test_package_s5, setup),
        cmocka_unit_test_setup(test_method, setup),
        cmocka_unit_test_setup(test_buffer, setup),
        cmocka_unit_test_setup(test_nested_long_blocks, setup),
        cmocka_unit_test_setup(test_big_package, setup),
        cmocka_unit_test_setup(test_three_byte_pkglength, setup),
        cmocka_unit_test_setup(test_block_misuse, setup),
        cmocka_unit_test_setup(test_never_writes_past_capacity, setup),
        cmocka_unit_test_setup(test_res_io_irq, setup),
        cmocka_unit_test_setup(test_res_memory32_fixed, setup),
        cmocka_unit_test_setup(test_res_word_bus_number_and_io, setup),
        cmocka_unit_test_setup(test_res_dword_qword_memory, setup),
        cmocka_unit_test_setup(test_res_ext_interrupt, setup),
        cmocka_unit_test_setup(test_resource_template_end_tag, setup),
        cmocka_unit_test_setup(test_resource_template_errors_propagate, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
