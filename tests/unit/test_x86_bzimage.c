/*
 * test_x86_bzimage.c - unit tests for src/arch/x86/bzimage.c (setup header
 * parsing), boot_layout.c (the boot memory plan) and zero_page.c (struct
 * boot_params).  Headers are synthesised like a Debian 6.1 amd64 kernel's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <vmmkit/x86.h>
#include <vmmkit/x86_boot.h>

#define KiB (1ull << 10)
#define MiB (1ull << 20)
#define GiB (1ull << 30)

/* The board's page-table area holds identity tables for 4 GiB. */
_Static_assert(X86_BOOT_PAGE_TABLES_SIZE == VM_X86_IDENTITY_PT_BYTES(4ull << 30),
               "page tables for 4 GiB");

static void put_le(uint8_t *p, uint64_t v, unsigned int bytes)
{
    for (unsigned int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Values of Debian's 6.1.0 cloud-amd64 vmlinuz (boot protocol 2.15). */
#define SETUP_SECTS 39
#define SYSSIZE 885536u /* * 16 = 14168576 bytes */
#define KSIZE (SYSSIZE * 16ull)
#define KOFF ((SETUP_SECTS + 1) * 512ull)
#define FILE_SIZE (KOFF + KSIZE + 1472) /* a signature follows the kernel */
#define INIT_SIZE 0x3378000ull
#define VERSION_STR "6.1.0-57-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP"

static uint8_t img_buf[X86_BZIMAGE_PROBE_SIZE];

static uint8_t *make_header(void)
{
    uint8_t *b = img_buf;

    memset(b, 0, sizeof(img_buf));
    b[0] = 'M';
    b[1] = 'Z';
    b[0x1ef] = 0xff; /* the sentinel, as header.S sets it */
    b[0x1f1] = SETUP_SECTS;
    put_le(b + 0x1f4, SYSSIZE, 4);
    put_le(b + 0x1fa, 0xffff, 2); /* vid_mode: normal */
    put_le(b + 0x1fe, 0xaa55, 2);
    b[0x200] = 0xeb;
    b[0x201] = 0x6a; /* header ends at 0x26c */
    memcpy(b + 0x202, "HdrS", 4);
    put_le(b + 0x206, 0x020f, 2);
    put_le(b + 0x20e, 0x100, 2); /* version string at 0x300 */
    b[0x211] = X86_LOADFLAG_LOADED_HIGH;
    put_le(b + 0x214, 0x100000, 4);
    put_le(b + 0x224, 0x5be0, 2);
    put_le(b + 0x22c, 0x7fffffff, 4);
    put_le(b + 0x230, 0x200000, 4);
    b[0x234] = 1;
    b[0x235] = 21;
    put_le(b + 0x236, 0x7f, 2);
    put_le(b + 0x238, 2047, 4);
    put_le(b + 0x248, 0x2cc, 4);
    put_le(b + 0x24c, 0xd69d77, 4);
    put_le(b + 0x258, 0x1000000, 8);
    put_le(b + 0x260, INIT_SIZE, 4);
    put_le(b + 0x264, 0xd735c0, 4);
    put_le(b + 0x268, 0xd7ffbc, 4);
    memcpy(b + 0x300, VERSION_STR, sizeof(VERSION_STR));
    return b;
}

static int parse(x86_bzimage_info_t *info)
{
    return x86_bzimage_parse(img_buf, sizeof(img_buf), FILE_SIZE, info);
}

/* Parse after changing @bytes at @off to @v: the error must be @err, the
 * message must mention @needle. */
static void expect_field(unsigned off, uint64_t v, unsigned bytes, int err, const char *needle)
{
    x86_bzimage_info_t info = {.version = 0x1234};
    char msg[256];

    make_header();
    put_le(img_buf + off, v, bytes);
    assert_int_equal(parse(&info), -err);
    assert_int_equal(info.version, 0x1234); /* untouched on failure */
    x86_bzimage_describe(-err, img_buf, sizeof(img_buf), FILE_SIZE, msg, sizeof(msg));
    if (!strstr(msg, needle))
        fail_msg("message \"%s\" lacks \"%s\"", msg, needle);
}

static void test_parse_debian_header(void **state)
{
    x86_bzimage_info_t info;

    (void)state;
    make_header();
    assert_int_equal(parse(&info), 0);
    assert_int_equal(info.version, 0x020f);
    assert_int_equal(info.setup_sects, SETUP_SECTS);
    assert_int_equal(info.header_end, 0x26c);
    assert_int_equal(info.kernel_offset, KOFF);
    assert_int_equal(info.kernel_size, KSIZE);
    assert_int_equal(info.file_size, FILE_SIZE);
    assert_true(info.relocatable);
    assert_true(info.above_4g);
    assert_int_equal(info.kernel_alignment, 2 * MiB);
    assert_int_equal(info.min_alignment, 2 * MiB);
    assert_int_equal(info.pref_address, 16 * MiB);
    assert_int_equal(info.init_size, INIT_SIZE);
    assert_int_equal(info.initrd_addr_max, 0x7fffffff);
    assert_int_equal(info.cmdline_size, 2047);
    assert_int_equal(info.loadflags, X86_LOADFLAG_LOADED_HIGH);
    assert_int_equal(info.xloadflags, 0x7f);
    assert_string_equal(x86_bzimage_kernel_version(img_buf, sizeof(img_buf), &info), VERSION_STR);
    /* Exactly setup + syssize * 16: no signature. */
    assert_int_equal(x86_bzimage_parse(img_buf, sizeof(img_buf), KOFF + KSIZE, &info), 0);
}

static void test_parse_minimal_buffer(void **state)
{
    x86_bzimage_info_t info;

    (void)state;
    make_header();
    /* Just through the header's end is enough. */
    assert_int_equal(x86_bzimage_parse(img_buf, 0x26c, FILE_SIZE, &info), 0);
    assert_null(x86_bzimage_kernel_version(img_buf, 0x26c, &info)); /* not in the buffer */
    assert_int_equal(x86_bzimage_parse(img_buf, 0x26b, FILE_SIZE, &info), -X86_BOOT_E_TRUNCATED);
    assert_int_equal(x86_bzimage_parse(img_buf, 0x207, FILE_SIZE, &info), -X86_BOOT_E_TRUNCATED);
    assert_int_equal(x86_bzimage_parse(img_buf, 0, FILE_SIZE, &info), -X86_BOOT_E_TRUNCATED);
    assert_int_equal(x86_bzimage_parse(NULL, 1024, FILE_SIZE, &info), -X86_BOOT_E_INVALID_ARG);
    assert_int_equal(x86_bzimage_parse(img_buf, 1024, FILE_SIZE, NULL), -X86_BOOT_E_INVALID_ARG);
}

static void test_setup_sects_zero_means_four(void **state)
{
    x86_bzimage_info_t info;

    (void)state;
    make_header();
    img_buf[0x1f1] = 0;
    assert_int_equal(parse(&info), 0);
    assert_int_equal(info.setup_sects, 4);
    assert_int_equal(info.kernel_offset, 5 * 512);
}

static void test_kernel_version_bounds(void **state)
{
    x86_bzimage_info_t info;

    (void)state;
    make_header();
    put_le(img_buf + 0x20e, 0, 2);
    assert_int_equal(parse(&info), 0);
    assert_null(x86_bzimage_kernel_version(img_buf, sizeof(img_buf), &info));
    /* No NUL before the end of the buffer. */
    make_header();
    memset(img_buf + 0x300, 'x', sizeof(img_buf) - 0x300);
    assert_int_equal(parse(&info), 0);
    assert_null(x86_bzimage_kernel_version(img_buf, sizeof(img_buf), &info));
    /* Beyond the setup code (offset >= kernel_offset). */
    make_header();
    put_le(img_buf + 0x20e, KOFF, 2);
    assert_int_equal(parse(&info), 0);
    assert_null(x86_bzimage_kernel_version(img_buf, sizeof(img_buf), &info));
}

static void test_bad_boot_flag(void **state)
{
    (void)state;
    expect_field(0x1fe, 0x55aa, 2, X86_BOOT_E_BOOT_FLAG, "0x55aa");
}

static void test_no_hdrs(void **state)
{
    (void)state;
    expect_field(0x202, 0x53726449, 4, X86_BOOT_E_NO_HDRS, "HdrS");
}

static void test_old_protocol(void **state)
{
    x86_bzimage_info_t info;

    (void)state;
    expect_field(0x206, 0x020b, 2, X86_BOOT_E_PROTOCOL, "2.11");
    make_header();
    put_le(img_buf + 0x206, 0x020c, 2);
    assert_int_equal(parse(&info), 0);
}

static void test_header_size(void **state)
{
    x86_bzimage_info_t info;

    (void)state;
    expect_field(0x201, 0x61, 1, X86_BOOT_E_HEADER_SIZE, "0x263");
    expect_field(0x201, 0x8f, 1, X86_BOOT_E_HEADER_SIZE, "0x291");
    expect_field(0x200, 0xe9, 1, X86_BOOT_E_HEADER_SIZE, "jump");
    make_header();
    img_buf[0x201] = 0x62; /* ends at 0x264: init_size included */
    assert_int_equal(parse(&info), 0);
    assert_int_equal(info.header_end, 0x264);
    img_buf[0x201] = 0x8e; /* ends at 0x290 */
    assert_int_equal(parse(&info), 0);
}

static void test_syssize_zero(void **state)
{
    (void)state;
    expect_field(0x1f4, 0, 4, X86_BOOT_E_SYSSIZE, "syssize");
}

static void test_file_truncated(void **state)
{
    x86_bzimage_info_t info;
    char msg[256];

    (void)state;
    make_header();
    assert_int_equal(x86_bzimage_parse(img_buf, sizeof(img_buf), KOFF + KSIZE - 1, &info),
                     -X86_BOOT_E_FILE_TRUNCATED);
    x86_bzimage_describe(-X86_BOOT_E_FILE_TRUNCATED, img_buf, sizeof(img_buf), KOFF + KSIZE - 1,
                         msg, sizeof(msg));
    assert_non_null(strstr(msg, "14189055"));
    assert_non_null(strstr(msg, "14189056"));
    /* Only the setup code. */
    assert_int_equal(x86_bzimage_parse(img_buf, sizeof(img_buf), 1024, &info),
                     -X86_BOOT_E_FILE_TRUNCATED);
}

static void test_not_loaded_high(void **state)
{
    (void)state;
    expect_field(0x211, 0x80, 1, X86_BOOT_E_NOT_LOADED_HIGH, "zImage");
}

static void test_no_64bit_entry(void **state)
{
    (void)state;
    expect_field(0x236, 0x7e, 2, X86_BOOT_E_NO_64BIT_ENTRY, "0x007e");
}

static void test_kernel_alignment(void **state)
{
    x86_bzimage_info_t info;

    (void)state;
    expect_field(0x230, 0x300000, 4, X86_BOOT_E_KERNEL_ALIGNMENT, "0x300000");
    expect_field(0x230, 0, 4, X86_BOOT_E_KERNEL_ALIGNMENT, "0x0 ");
    expect_field(0x230, 0x800, 4, X86_BOOT_E_KERNEL_ALIGNMENT, "0x800");
    expect_field(0x230, 0x80000000, 4, X86_BOOT_E_KERNEL_ALIGNMENT, "0x80000000");
    /* 16 MiB, CONFIG_PHYSICAL_ALIGN's maximum, is fine. */
    make_header();
    put_le(img_buf + 0x230, 16 * MiB, 4);
    assert_int_equal(parse(&info), 0);
    assert_int_equal(info.min_alignment, 2 * MiB);
}

static void test_min_alignment(void **state)
{
    x86_bzimage_info_t info;

    (void)state;
    expect_field(0x235, 22, 1, X86_BOOT_E_MIN_ALIGNMENT, "2^22");
    expect_field(0x235, 200, 1, X86_BOOT_E_MIN_ALIGNMENT, "2^200");
    make_header();
    img_buf[0x235] = 0; /* none: kernel_alignment */
    assert_int_equal(parse(&info), 0);
    assert_int_equal(info.min_alignment, 2 * MiB);
    img_buf[0x235] = 12;
    assert_int_equal(parse(&info), 0);
    assert_int_equal(info.min_alignment, 4 * KiB);
}

static void test_pref_address(void **state)
{
    x86_bzimage_info_t info;

    (void)state;
    expect_field(0x258, 0x80000, 8, X86_BOOT_E_PREF_ADDRESS, "0x80000");
    expect_field(0x258, 0x1100000, 8, X86_BOOT_E_PREF_ADDRESS, "0x1100000");
    expect_field(0x258, 4 * GiB - 2 * MiB, 8, X86_BOOT_E_PREF_ADDRESS, "above 4 GiB");
    expect_field(0x258, UINT64_MAX - 0x1fffff, 8, X86_BOOT_E_PREF_ADDRESS, "0xffffffffffe00000");
    make_header();
    put_le(img_buf + 0x258, 0, 8); /* none */
    assert_int_equal(parse(&info), 0);
    assert_int_equal(info.pref_address, 0);
}

static void test_init_size(void **state)
{
    (void)state;
    expect_field(0x260, KSIZE - 1, 4, X86_BOOT_E_INIT_SIZE, "0xd831ff");
    expect_field(0x260, 0, 4, X86_BOOT_E_INIT_SIZE, "init_size");
}

static void test_initrd_addr_max(void **state)
{
    (void)state;
    expect_field(0x22c, 0xfffff, 4, X86_BOOT_E_INITRD_ADDR_MAX, "0xfffff");
}

static void test_cmdline_size(void **state)
{
    (void)state;
    expect_field(0x238, 0, 4, X86_BOOT_E_CMDLINE_SIZE, "cmdline_size");
}

/* ---- layout ---- */

static x86_bzimage_info_t debian(void)
{
    x86_bzimage_info_t info;

    make_header();
    assert_int_equal(parse(&info), 0);
    return info;
}

/* Every rule of the plan on a successful bzImage layout. */
static void assert_layout_sane(const x86_bzimage_info_t *k, const x86_boot_layout_t *l)
{
    uint64_t hi_end = X86_BOOT_4G + l->high_ram_size;

    assert_int_equal(l->boot_params_addr, X86_BOOT_ZERO_PAGE_ADDR);
    assert_int_equal(l->cmdline_addr, X86_BOOT_CMDLINE_ADDR);
    assert_true(l->cmdline_size <= X86_BOOT_CMDLINE_MAX);
    assert_true(l->cmdline_size - 1 <= k->cmdline_size);
    assert_int_equal(l->entry, l->kernel_load_addr + 0x200);
    assert_true(l->kernel_start >= X86_BOOT_KERNEL_MIN_ADDR);
    assert_true(l->kernel_load_addr >= l->kernel_start);
    assert_true(l->kernel_load_addr + k->kernel_size <= l->kernel_end);
    assert_true(l->kernel_end <= l->low_ram_end);
    if (k->relocatable) {
        assert_int_equal(l->kernel_load_addr % k->kernel_alignment, 0);
        assert_true(l->kernel_load_addr >= k->pref_address);
        assert_int_equal(l->kernel_end, l->kernel_load_addr + k->init_size);
    } else {
        assert_int_equal(l->kernel_load_addr, 0x100000);
    }
    if (l->initrd_size) {
        assert_int_equal(l->initrd_addr % 4096, 0);
        if (l->initrd_addr < X86_BOOT_4G) {
            assert_true(l->initrd_addr >= l->kernel_end);
            assert_true(l->initrd_addr + l->initrd_size <= l->low_ram_end);
            assert_true(l->initrd_addr + l->initrd_size - 1 <= k->initrd_addr_max);
        } else {
            assert_true(k->above_4g);
            assert_true(l->initrd_addr + l->initrd_size <= hi_end);
        }
    } else {
        assert_int_equal(l->initrd_addr, 0);
    }
}

static void test_layout_typical(void **state)
{
    x86_bzimage_info_t k = debian();
    x86_boot_layout_t l;

    (void)state;
    /* 1 GiB guest, 30 MiB initrd. */
    assert_int_equal(x86_boot_layout(&k, GiB, 0, 30 * MiB + 5, 13, &l), 0);
    assert_layout_sane(&k, &l);
    assert_int_equal(l.kernel_load_addr, 16 * MiB);
    assert_int_equal(l.entry, 16 * MiB + 0x200);
    assert_int_equal(l.kernel_start, 16 * MiB);
    assert_int_equal(l.kernel_end, 16 * MiB + INIT_SIZE);
    assert_int_equal(l.cmdline_size, 14);
    assert_int_equal(l.cmdline_max, 2047);
    /* As high as possible: right under the end of RAM. */
    assert_int_equal(l.initrd_addr, GiB - 30 * MiB - 4096);
    assert_int_equal(l.initrd_size, 30 * MiB + 5);
    /* No initrd. */
    assert_int_equal(x86_boot_layout(&k, GiB, 0, 0, 0, &l), 0);
    assert_layout_sane(&k, &l);
    assert_int_equal(l.initrd_addr, 0);
    assert_int_equal(l.cmdline_size, 1);
}

static void test_layout_initrd_addr_max(void **state)
{
    x86_bzimage_info_t k = debian();
    x86_boot_layout_t l;

    (void)state;
    /* 3 GiB below the hole: the initrd ends at initrd_addr_max + 1 (2 GiB). */
    assert_int_equal(x86_boot_layout(&k, 3 * GiB, 4 * GiB, 64 * MiB, 20, &l), 0);
    assert_layout_sane(&k, &l);
    assert_int_equal(l.initrd_addr, 2 * GiB - 64 * MiB);
    assert_int_equal(l.initrd_limit, 2 * GiB);
    /* An odd initrd_addr_max: page-aligned below it. */
    k.initrd_addr_max = 0x37ffffff + 0x800;
    assert_int_equal(x86_boot_layout(&k, 3 * GiB, 0, 4096, 20, &l), 0);
    assert_int_equal(l.initrd_addr, 0x37fff000);
    assert_layout_sane(&k, &l);
}

static void test_layout_initrd_above_4g(void **state)
{
    x86_bzimage_info_t k = debian();
    x86_boot_layout_t l;
    char msg[256];

    (void)state;
    /* A 3 GiB initrd cannot go under 2 GiB: high RAM takes it. */
    assert_int_equal(x86_boot_layout(&k, 3 * GiB, 4 * GiB, 3 * GiB + 1, 20, &l), 0);
    assert_layout_sane(&k, &l);
    assert_int_equal(l.initrd_addr, 4 * GiB + GiB - 4096);
    /* Low RAM too small for it, high RAM fine. */
    assert_int_equal(x86_boot_layout(&k, 128 * MiB, GiB, 100 * MiB, 20, &l), 0);
    assert_layout_sane(&k, &l);
    assert_int_equal(l.initrd_addr, 4 * GiB + GiB - 100 * MiB);
    /* Without XLF_CAN_BE_LOADED_ABOVE_4G: no amount of low RAM helps. */
    k.above_4g = false;
    assert_int_equal(x86_boot_layout(&k, 3 * GiB, 4 * GiB, 3 * GiB, 20, &l),
                     -X86_BOOT_E_INITRD_TOO_BIG);
    x86_boot_layout_describe(-X86_BOOT_E_INITRD_TOO_BIG, &l, msg, sizeof(msg));
    assert_non_null(strstr(msg, "3072 MiB"));
    assert_non_null(strstr(msg, "0x80000000"));
    /* ... and a small initrd in too little low RAM is a plain NO_ROOM. */
    assert_int_equal(x86_boot_layout(&k, 128 * MiB, GiB, 100 * MiB, 20, &l), -X86_BOOT_E_NO_ROOM);
    assert_int_equal(l.ram_needed, 16 * MiB + INIT_SIZE + 100 * MiB);
    /* Above 4G allowed, but high RAM too small. */
    k.above_4g = true;
    assert_int_equal(x86_boot_layout(&k, 3 * GiB, 2 * GiB, 3 * GiB, 20, &l),
                     -X86_BOOT_E_INITRD_TOO_BIG);
}

static void test_layout_exact_fit_and_one_byte_short(void **state)
{
    x86_bzimage_info_t k = debian();
    x86_boot_layout_t l;
    uint64_t need;
    char msg[256];

    (void)state;
    assert_int_equal(x86_boot_layout(&k, 64 * MiB, 0, 30 * MiB, 20, &l), -X86_BOOT_E_NO_ROOM);
    need = l.ram_needed;
    /* 16 MiB + init_size (51.47 MiB) + 30 MiB. */
    assert_int_equal(need, 16 * MiB + INIT_SIZE + 30 * MiB);
    x86_boot_layout_describe(-X86_BOOT_E_NO_ROOM, &l, msg, sizeof(msg));
    assert_non_null(strstr(msg, "up to 98 MiB"));
    assert_non_null(strstr(msg, "ends at 64 MiB"));
    assert_non_null(strstr(msg, "and the initrd need low RAM"));
    assert_int_equal(x86_boot_layout(&k, need, 0, 30 * MiB, 20, &l), 0);
    assert_layout_sane(&k, &l);
    assert_int_equal(l.initrd_addr, l.kernel_end);
    assert_int_equal(x86_boot_layout(&k, need - 1, 0, 30 * MiB, 20, &l), -X86_BOOT_E_NO_ROOM);
    assert_int_equal(l.ram_needed, need);
    /* Kernel alone. */
    assert_int_equal(x86_boot_layout(&k, 16 * MiB + INIT_SIZE, 0, 0, 20, &l), 0);
    assert_int_equal(x86_boot_layout(&k, 16 * MiB + INIT_SIZE - 1, 0, 0, 20, &l),
                     -X86_BOOT_E_NO_ROOM);
    assert_int_equal(l.ram_needed, 16 * MiB + INIT_SIZE);
    x86_boot_layout_describe(-X86_BOOT_E_NO_ROOM, &l, msg, sizeof(msg));
    assert_null(strstr(msg, "initrd"));
}

static void test_layout_relocatable_alignment(void **state)
{
    x86_bzimage_info_t k = debian();
    x86_boot_layout_t l;

    (void)state;
    /* pref_address 0: the first kernel_alignment boundary above 1 MiB. */
    k.pref_address = 0;
    assert_int_equal(x86_boot_layout(&k, GiB, 0, 0, 0, &l), 0);
    assert_int_equal(l.kernel_load_addr, 2 * MiB);
    assert_layout_sane(&k, &l);
    /* pref_address only min-aligned: rounded up to kernel_alignment. */
    k.pref_address = 18 * MiB;
    k.kernel_alignment = 16 * MiB;
    assert_int_equal(x86_boot_layout(&k, GiB, 0, 0, 0, &l), 0);
    assert_int_equal(l.kernel_load_addr, 32 * MiB);
    assert_layout_sane(&k, &l);
}

static void test_layout_non_relocatable(void **state)
{
    x86_bzimage_info_t k = debian();
    x86_boot_layout_t l;

    (void)state;
    k.relocatable = false;
    assert_int_equal(x86_boot_layout(&k, GiB, 0, MiB, 0, &l), 0);
    assert_layout_sane(&k, &l);
    /* Loaded at 1 MiB, runs at pref_address: owns both. */
    assert_int_equal(l.kernel_load_addr, MiB);
    assert_int_equal(l.entry, MiB + 0x200);
    assert_int_equal(l.kernel_start, MiB);
    assert_int_equal(l.kernel_end, 16 * MiB + INIT_SIZE);
    /* No pref_address: runs where it is loaded. */
    k.pref_address = 0;
    assert_int_equal(x86_boot_layout(&k, GiB, 0, 0, 0, &l), 0);
    assert_int_equal(l.kernel_end, MiB + INIT_SIZE);
    assert_layout_sane(&k, &l);
}

static void test_layout_cmdline(void **state)
{
    x86_bzimage_info_t k = debian();
    x86_boot_layout_t l;
    char msg[256];

    (void)state;
    assert_int_equal(x86_boot_layout(&k, GiB, 0, 0, 2047, &l), 0);
    assert_int_equal(l.cmdline_size, 2048);
    assert_int_equal(x86_boot_layout(&k, GiB, 0, 0, 2048, &l), -X86_BOOT_E_CMDLINE_TOO_LONG);
    x86_boot_layout_describe(-X86_BOOT_E_CMDLINE_TOO_LONG, &l, msg, sizeof(msg));
    assert_non_null(strstr(msg, "2048 bytes"));
    assert_non_null(strstr(msg, "2047"));
    /* A huge cmdline_size is bounded by the room at 0x20000. */
    k.cmdline_size = 0xffffffff;
    assert_int_equal(x86_boot_layout(&k, GiB, 0, 0, X86_BOOT_CMDLINE_MAX - 1, &l), 0);
    assert_int_equal(x86_boot_layout(&k, GiB, 0, 0, X86_BOOT_CMDLINE_MAX, &l),
                     -X86_BOOT_E_CMDLINE_TOO_LONG);
}

static void test_layout_bad_args(void **state)
{
    x86_bzimage_info_t k = debian();
    x86_boot_layout_t l;
    char msg[256];

    (void)state;
    assert_int_equal(x86_boot_layout(NULL, GiB, 0, 0, 0, &l), -X86_BOOT_E_INVALID_ARG);
    assert_int_equal(x86_boot_layout(&k, GiB, 0, 0, 0, NULL), -X86_BOOT_E_INVALID_ARG);
    assert_int_equal(x86_boot_layout(&k, 4 * GiB + 1, 0, 0, 0, &l), -X86_BOOT_E_RAM_MAP);
    assert_int_equal(x86_boot_layout(&k, GiB, UINT64_MAX - GiB, 0, 0, &l), -X86_BOOT_E_RAM_MAP);
    x86_boot_layout_describe(-X86_BOOT_E_RAM_MAP, &l, msg, sizeof(msg));
    assert_non_null(strstr(msg, "0x40000000"));
    assert_int_equal(x86_boot_layout(&k, 4 * GiB, 0, 0, 0, &l), 0);
    /* RAM below 1 MiB holds no kernel. */
    assert_int_equal(x86_boot_layout(&k, 640 * KiB, 0, 0, 0, &l), -X86_BOOT_E_NO_ROOM);
    /* An initrd near 2^64. */
    assert_int_equal(x86_boot_layout(&k, GiB, GiB, UINT64_MAX - 100, 0, &l),
                     -X86_BOOT_E_INITRD_TOO_BIG);
    assert_string_equal(
        (x86_boot_layout_describe(-X86_BOOT_E_NO_ROOM, NULL, msg, sizeof(msg)), msg),
        x86_boot_strerror(X86_BOOT_E_NO_ROOM));
}

/* ---- zero page ---- */

static const x86_e820_entry_t e820_1g[] = {
    {0, 0x9fc00, X86_E820_RAM},
    {0x9fc00, 0x100000 - 0x9fc00, X86_E820_RESERVED},
    {0x100000, GiB - 0x100000, X86_E820_RAM},
};

static uint64_t zp_read(const uint8_t *zp, unsigned off, unsigned bytes)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < bytes; i++)
        v |= (uint64_t)zp[off + i] << (8 * i);
    return v;
}

static void test_zero_page_fields(void **state)
{
    x86_bzimage_info_t k = debian();
    x86_boot_layout_t l;
    static uint8_t zp[X86_ZERO_PAGE_SIZE];
    x86_boot_params_opts_t opts = {.acpi_rsdp_addr = 0xe0000};

    (void)state;
    assert_int_equal(x86_boot_layout(&k, GiB, 0, 30 * MiB, 13, &l), 0);
    memset(zp, 0xaa, sizeof(zp));
    assert_int_equal(x86_boot_params_build(zp, img_buf, sizeof(img_buf), &k, &l, e820_1g, 3, &opts),
                     0);
    /* Offsets from zero-page.rst and boot.rst, read as bytes. */
    assert_int_equal(zp_read(zp, 0x1ef, 1), 0); /* sentinel: only the header copied */
    assert_int_equal(zp_read(zp, 0x1f0, 1), 0);
    assert_int_equal(zp_read(zp, 0x1f1, 1), SETUP_SECTS);
    assert_int_equal(zp_read(zp, 0x1f4, 4), SYSSIZE);
    assert_int_equal(zp_read(zp, 0x1fe, 2), 0xaa55);
    assert_int_equal(zp_read(zp, 0x202, 4), 0x53726448);
    assert_int_equal(zp_read(zp, 0x206, 2), 0x020f);
    assert_int_equal(zp_read(zp, 0x210, 1), 0xff);     /* type_of_loader */
    assert_int_equal(zp_read(zp, 0x211, 1), 0x81);     /* LOADED_HIGH | CAN_USE_HEAP */
    assert_int_equal(zp_read(zp, 0x214, 4), 16 * MiB); /* code32_start */
    assert_int_equal(zp_read(zp, 0x218, 4), l.initrd_addr);
    assert_int_equal(zp_read(zp, 0x21c, 4), 30 * MiB);
    assert_int_equal(zp_read(zp, 0x224, 2), 0xde00);
    assert_int_equal(zp_read(zp, 0x228, 4), 0x20000);
    assert_int_equal(zp_read(zp, 0x22c, 4), 0x7fffffff);
    assert_int_equal(zp_read(zp, 0x238, 4), 2047);
    assert_int_equal(zp_read(zp, 0x258, 8), 16 * MiB);
    assert_int_equal(zp_read(zp, 0x260, 4), INIT_SIZE);
    assert_int_equal(zp_read(zp, 0x268, 4), 0xd7ffbc);
    assert_int_equal(zp_read(zp, 0x26c, 4), 0); /* past the header: zero */
    assert_int_equal(zp_read(zp, 0x070, 8), 0xe0000);
    assert_int_equal(zp_read(zp, 0x0c0, 4), 0);
    assert_int_equal(zp_read(zp, 0x0c4, 4), 0);
    assert_int_equal(zp_read(zp, 0x0c8, 4), 0);
    assert_int_equal(zp_read(zp, 0x1e8, 1), 3);
    assert_int_equal(zp_read(zp, 0x2d0 + 20 * 1, 8), 0x9fc00);
    assert_int_equal(zp_read(zp, 0x2d0 + 20 * 1 + 8, 8), 0x60400);
    assert_int_equal(zp_read(zp, 0x2d0 + 20 * 1 + 16, 4), X86_E820_RESERVED);
    assert_int_equal(zp_read(zp, 0x2d0 + 20 * 2, 8), 0x100000);
    assert_int_equal(zp_read(zp, 0x2d0 + 20 * 3, 8), 0);
    assert_int_equal(zp_read(zp, 0x00f, 1), 0); /* no framebuffer */
    /* Everything outside the written fields is zero. */
    for (unsigned i = 0x2d0 + 20 * 3; i < X86_ZERO_PAGE_SIZE; i++)
        assert_int_equal(zp[i], 0);
    for (unsigned i = 0; i < 0x1e8; i++)
        if (i < 0x070 || i >= 0x078)
            assert_int_equal(zp[i], 0);
}

static void test_zero_page_loader_bits(void **state)
{
    x86_bzimage_info_t k;
    x86_boot_layout_t l;
    static uint8_t zp[X86_ZERO_PAGE_SIZE];
    x86_boot_params_opts_t opts = {.quiet = true};

    (void)state;
    make_header();
    img_buf[0x211] = X86_LOADFLAG_LOADED_HIGH | X86_LOADFLAG_KEEP_SEGMENTS;
    put_le(img_buf + 0x250, 0x12345678, 8); /* setup_data from the file */
    put_le(img_buf + 0x23c, 2, 4);          /* hardware_subarch */
    put_le(img_buf + 0x218, 0x2d2d2d2d, 4); /* ramdisk_image, ramdisk_size */
    put_le(img_buf + 0x21c, 0x2d2d2d2d, 4);
    img_buf[0x226] = 0x12; /* ext_loader_ver */
    assert_int_equal(parse(&k), 0);
    assert_int_equal(x86_boot_layout(&k, GiB, 0, 0, 0, &l), 0);
    assert_int_equal(x86_boot_params_build(zp, img_buf, sizeof(img_buf), &k, &l, e820_1g, 3, &opts),
                     0);
    assert_int_equal(zp_read(zp, 0x211, 1),
                     X86_LOADFLAG_LOADED_HIGH | X86_LOADFLAG_QUIET | X86_LOADFLAG_CAN_USE_HEAP);
    assert_int_equal(zp_read(zp, 0x250, 8), 0);
    assert_int_equal(zp_read(zp, 0x23c, 4), 0);
    assert_int_equal(zp_read(zp, 0x218, 4), 0); /* no initrd */
    assert_int_equal(zp_read(zp, 0x21c, 4), 0);
    assert_int_equal(zp_read(zp, 0x226, 1), 0);
    assert_int_equal(zp_read(zp, 0x070, 8), 0);
    /* A shorter header: bytes after it are not copied. */
    make_header();
    img_buf[0x201] = 0x62;
    assert_int_equal(parse(&k), 0);
    assert_int_equal(x86_boot_params_build(zp, img_buf, sizeof(img_buf), &k, &l, e820_1g, 3, NULL),
                     0);
    assert_int_equal(zp_read(zp, 0x264, 4), 0);
    assert_int_equal(zp_read(zp, 0x260, 4), INIT_SIZE);
}

static void test_zero_page_initrd_above_4g(void **state)
{
    x86_bzimage_info_t k = debian();
    x86_boot_layout_t l;
    static uint8_t zp[X86_ZERO_PAGE_SIZE];

    (void)state;
    assert_int_equal(x86_boot_layout(&k, 3 * GiB, 8 * GiB, 5 * GiB, 0, &l), 0);
    assert_true(l.initrd_addr >= 4 * GiB);
    assert_int_equal(x86_boot_params_build(zp, img_buf, sizeof(img_buf), &k, &l, e820_1g, 3, NULL),
                     0);
    assert_int_equal(zp_read(zp, 0x218, 4) | zp_read(zp, 0x0c0, 4) << 32, l.initrd_addr);
    assert_int_equal(zp_read(zp, 0x21c, 4) | zp_read(zp, 0x0c4, 4) << 32, 5 * GiB);
    /* The same plan for a kernel that cannot take it. */
    k.above_4g = false;
    assert_int_equal(x86_boot_params_build(zp, img_buf, sizeof(img_buf), &k, &l, e820_1g, 3, NULL),
                     -X86_BOOT_E_ABOVE_4G);
}

static void test_zero_page_framebuffer(void **state)
{
    x86_bzimage_info_t k = debian();
    x86_boot_layout_t l;
    static uint8_t zp[X86_ZERO_PAGE_SIZE];
    x86_framebuffer_t fb = {
        .base = 0xc8000000,
        .size = 1024 * 768 * 4 + 100,
        .width = 1024,
        .height = 768,
        .depth = 32,
        .line_length = 4096,
        .red_size = 8,
        .red_pos = 16,
        .green_size = 8,
        .green_pos = 8,
        .blue_size = 8,
        .blue_pos = 0,
        .rsvd_size = 8,
        .rsvd_pos = 24,
    };
    x86_boot_params_opts_t opts = {.fb = &fb};
    x86_framebuffer_t bad;

    (void)state;
    assert_int_equal(x86_boot_layout(&k, GiB, 0, 0, 0, &l), 0);
    assert_int_equal(x86_boot_params_build(zp, img_buf, sizeof(img_buf), &k, &l, e820_1g, 3, &opts),
                     0);
    /* screen_info offsets (screen_info.h). */
    assert_int_equal(zp_read(zp, 0x0f, 1), 0x23);
    assert_int_equal(zp_read(zp, 0x12, 2), 1024);
    assert_int_equal(zp_read(zp, 0x14, 2), 768);
    assert_int_equal(zp_read(zp, 0x16, 2), 32);
    assert_int_equal(zp_read(zp, 0x18, 4), 0xc8000000);
    assert_int_equal(zp_read(zp, 0x1c, 4), 49); /* 64 KiB units, rounded up */
    assert_int_equal(zp_read(zp, 0x24, 2), 4096);
    assert_int_equal(zp_read(zp, 0x26, 1), 8);
    assert_int_equal(zp_read(zp, 0x27, 1), 16);
    assert_int_equal(zp_read(zp, 0x29, 1), 8);
    assert_int_equal(zp_read(zp, 0x2b, 1), 0);
    assert_int_equal(zp_read(zp, 0x2d, 1), 24);
    assert_int_equal(zp_read(zp, 0x34, 2), X86_VESA_ATTR_NOT_VGA);
    assert_int_equal(zp_read(zp, 0x36, 4), 0);
    assert_int_equal(zp_read(zp, 0x3a, 4), 0);
    /* Above 4 GiB: ext_lfb_base and the capability bit. */
    fb.base = 0x800000000ull + 0x1000;
    assert_int_equal(x86_boot_params_build(zp, img_buf, sizeof(img_buf), &k, &l, e820_1g, 3, &opts),
                     0);
    assert_int_equal(zp_read(zp, 0x18, 4), 0x1000);
    assert_int_equal(zp_read(zp, 0x3a, 4), 8);
    assert_int_equal(zp_read(zp, 0x36, 4), X86_VIDEO_CAPABILITY_64BIT_BASE);
    fb.base = 0xc8000000;

    /* Each inconsistency refused. */
    opts.fb = &bad;
    bad = fb, bad.depth = 12;
    assert_int_equal(x86_boot_params_build(zp, img_buf, 1024, &k, &l, e820_1g, 3, &opts),
                     -X86_BOOT_E_FRAMEBUFFER);
    bad = fb, bad.width = 0;
    assert_int_equal(x86_boot_params_build(zp, img_buf, 1024, &k, &l, e820_1g, 3, &opts),
                     -X86_BOOT_E_FRAMEBUFFER);
    bad = fb, bad.line_length = 4095;
    assert_int_equal(x86_boot_params_build(zp, img_buf, 1024, &k, &l, e820_1g, 3, &opts),
                     -X86_BOOT_E_FRAMEBUFFER);
    bad = fb, bad.size = 4096 * 768 - 1;
    assert_int_equal(x86_boot_params_build(zp, img_buf, 1024, &k, &l, e820_1g, 3, &opts),
                     -X86_BOOT_E_FRAMEBUFFER);
    bad = fb, bad.base = 0;
    assert_int_equal(x86_boot_params_build(zp, img_buf, 1024, &k, &l, e820_1g, 3, &opts),
                     -X86_BOOT_E_FRAMEBUFFER);
    bad = fb, bad.base = UINT64_MAX - 4096;
    assert_int_equal(x86_boot_params_build(zp, img_buf, 1024, &k, &l, e820_1g, 3, &opts),
                     -X86_BOOT_E_FRAMEBUFFER);
    bad = fb, bad.red_pos = 30;
    assert_int_equal(x86_boot_params_build(zp, img_buf, 1024, &k, &l, e820_1g, 3, &opts),
                     -X86_BOOT_E_FRAMEBUFFER);
    bad = fb, bad.size = 1ull << 49;
    assert_int_equal(x86_boot_params_build(zp, img_buf, 1024, &k, &l, e820_1g, 3, &opts),
                     -X86_BOOT_E_FRAMEBUFFER);
}

static void test_zero_page_bad_args(void **state)
{
    x86_bzimage_info_t k = debian();
    x86_boot_layout_t l;
    static uint8_t zp[X86_ZERO_PAGE_SIZE];
    static x86_e820_entry_t many[X86_E820_MAX_ENTRIES + 1];
    uint8_t other[1024];

    (void)state;
    assert_int_equal(x86_boot_layout(&k, GiB, 0, 0, 0, &l), 0);
    assert_int_equal(x86_boot_params_build(NULL, img_buf, 1024, &k, &l, e820_1g, 3, NULL),
                     -X86_BOOT_E_INVALID_ARG);
    assert_int_equal(x86_boot_params_build(zp, NULL, 1024, &k, &l, e820_1g, 3, NULL),
                     -X86_BOOT_E_INVALID_ARG);
    assert_int_equal(x86_boot_params_build(zp, img_buf, 1024, NULL, &l, e820_1g, 3, NULL),
                     -X86_BOOT_E_INVALID_ARG);
    assert_int_equal(x86_boot_params_build(zp, img_buf, 1024, &k, NULL, e820_1g, 3, NULL),
                     -X86_BOOT_E_INVALID_ARG);
    assert_int_equal(x86_boot_params_build(zp, img_buf, 1024, &k, &l, NULL, 3, NULL),
                     -X86_BOOT_E_INVALID_ARG);
    assert_int_equal(x86_boot_params_build(zp, img_buf, 0x26b, &k, &l, e820_1g, 3, NULL),
                     -X86_BOOT_E_TRUNCATED);
    memset(other, 0, sizeof(other));
    assert_int_equal(x86_boot_params_build(zp, other, sizeof(other), &k, &l, e820_1g, 3, NULL),
                     -X86_BOOT_E_NO_HDRS);
    assert_int_equal(x86_boot_params_build(zp, img_buf, 1024, &k, &l, e820_1g, 0, NULL),
                     -X86_BOOT_E_E820_NO_RAM);
    for (unsigned i = 0; i < X86_E820_MAX_ENTRIES + 1; i++)
        many[i] = (x86_e820_entry_t){i * 2 * MiB, MiB, X86_E820_RAM};
    assert_int_equal(
        x86_boot_params_build(zp, img_buf, 1024, &k, &l, many, X86_E820_MAX_ENTRIES + 1, NULL),
        -X86_BOOT_E_E820_TOO_MANY);
    assert_int_equal(
        x86_boot_params_build(zp, img_buf, 1024, &k, &l, many, X86_E820_MAX_ENTRIES, NULL), 0);
    assert_int_equal(zp_read(zp, 0x1e8, 1), 128);
    assert_int_equal(zp_read(zp, 0x2d0 + 127 * 20, 8), 254 * MiB);
    /* A hand-made plan with the kernel above 4 GiB (code32_start is 32 bits). */
    l.kernel_load_addr = 4 * GiB;
    assert_int_equal(x86_boot_params_build(zp, img_buf, 1024, &k, &l, e820_1g, 3, NULL),
                     -X86_BOOT_E_ABOVE_4G);
}

static void test_strerror(void **state)
{
    char buf[128];

    (void)state;
    for (int e = 0; e < X86_BOOT_E_COUNT; e++) {
        assert_non_null(x86_boot_strerror(-e));
        assert_string_equal(x86_boot_strerror(-e), x86_boot_strerror(e));
        assert_null(strstr(x86_boot_strerror(-e), "unknown"));
    }
    assert_string_equal(x86_boot_strerror(-1000), "unknown x86 boot error");
    assert_non_null(strstr(x86_boot_strerror(-X86_BOOT_E_NO_HDRS), "HdrS"));
    /* describe() on an error that the header does not give: plain text. */
    make_header();
    x86_bzimage_describe(-X86_BOOT_E_NO_HDRS, img_buf, sizeof(img_buf), FILE_SIZE, buf,
                         sizeof(buf));
    assert_string_equal(buf, x86_boot_strerror(X86_BOOT_E_NO_HDRS));
    /* Truncation of the message itself. */
    make_header();
    img_buf[0x1fe] = 0;
    assert_true(x86_bzimage_describe(-X86_BOOT_E_BOOT_FLAG, img_buf, sizeof(img_buf), FILE_SIZE,
                                     buf, 8) > 8);
    assert_int_equal(strlen(buf), 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_debian_header),
        cmocka_unit_test(test_parse_minimal_buffer),
        cmocka_unit_test(test_setup_sects_zero_means_four),
        cmocka_unit_test(test_kernel_version_bounds),
        cmocka_unit_test(test_bad_boot_flag),
        cmocka_unit_test(test_no_hdrs),
        cmocka_unit_test(test_old_protocol),
        cmocka_unit_test(test_header_size),
        cmocka_unit_test(test_syssize_zero),
        cmocka_unit_test(test_file_truncated),
        cmocka_unit_test(test_not_loaded_high),
        cmocka_unit_test(test_no_64bit_entry),
        cmocka_unit_test(test_kernel_alignment),
        cmocka_unit_test(test_min_alignment),
        cmocka_unit_test(test_pref_address),
        cmocka_unit_test(test_init_size),
        cmocka_unit_test(test_initrd_addr_max),
        cmocka_unit_test(test_cmdline_size),
        cmocka_unit_test(test_layout_typical),
        cmocka_unit_test(test_layout_initrd_addr_max),
        cmocka_unit_test(test_layout_initrd_above_4g),
        cmocka_unit_test(test_layout_exact_fit_and_one_byte_short),
        cmocka_unit_test(test_layout_relocatable_alignment),
        cmocka_unit_test(test_layout_non_relocatable),
        cmocka_unit_test(test_layout_cmdline),
        cmocka_unit_test(test_layout_bad_args),
        cmocka_unit_test(test_zero_page_fields),
        cmocka_unit_test(test_zero_page_loader_bits),
        cmocka_unit_test(test_zero_page_initrd_above_4g),
        cmocka_unit_test(test_zero_page_framebuffer),
        cmocka_unit_test(test_zero_page_bad_args),
        cmocka_unit_test(test_strerror),
    };

    return cmocka_run_group_tests_name("x86_bzimage", tests, NULL, NULL);
}
