/*
 * test_arm64_image.c - unit tests for src/arch/arm64/image.c (Image header
 * parsing, kernel placement and the boot memory plan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <vmmkit/arm64_image.h>

#define MiB (1ull << 20)
#define GiB (1ull << 30)

static void put_le(uint8_t *p, uint64_t v, unsigned int bytes)
{
    for (unsigned int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A header like a v6.1 defconfig kernel's: text_offset 0, 4K pages, bit 3 set. */
static void make_header(uint8_t *buf, uint64_t text_offset, uint64_t image_size, uint64_t flags)
{
    memset(buf, 0, ARM64_IMAGE_HEADER_SIZE);
    put_le(buf + 0x00, 0xfa405a4d, 4); /* "MZ" + ccmp, as EFI-stub kernels start */
    put_le(buf + 0x04, 0x14000000, 4);
    put_le(buf + 0x08, text_offset, 8);
    put_le(buf + 0x10, image_size, 8);
    put_le(buf + 0x18, flags, 8);
    memcpy(buf + 0x38, "ARM\x64", 4);
    put_le(buf + 0x3c, 0x40, 4);
}

static int parse(uint64_t text_offset, uint64_t image_size, uint64_t flags, size_t len,
                 arm64_image_info_t *info)
{
    uint8_t buf[ARM64_IMAGE_HEADER_SIZE];

    make_header(buf, text_offset, image_size, flags);
    return arm64_image_parse(buf, len, info);
}

static void test_good_header(void **state)
{
    arm64_image_info_t info;

    (void)state;
    assert_int_equal(parse(0, 30 * MiB, 0xa, 20 * MiB, &info), 0);
    assert_int_equal(info.text_offset, 0);
    assert_int_equal(info.image_size, 30 * MiB);
    assert_int_equal(info.file_size, 20 * MiB);
    assert_int_equal(info.flags, 0xa);
    assert_int_equal(info.page_size, 4096);
    assert_true(info.place_anywhere);
    assert_false(info.legacy);
    /* Classic text_offset 0x80000 with 64K pages and bit 3 clear. */
    assert_int_equal(parse(0x80000, 8 * MiB, 0x6, 4 * MiB, &info), 0);
    assert_int_equal(info.text_offset, 0x80000);
    assert_int_equal(info.page_size, 65536);
    assert_false(info.place_anywhere);
    /* Exactly the header, image_size == file: fine. */
    assert_int_equal(parse(0, 64, 0, 64, &info), 0);
}

static void test_page_sizes(void **state)
{
    static const struct {
        uint64_t flags;
        uint32_t page_size;
    } cases[] = {{0 << 1, 0}, {1 << 1, 4096}, {2 << 1, 16384}, {3 << 1, 65536}};
    arm64_image_info_t info;

    (void)state;
    for (unsigned int i = 0; i < 4; i++) {
        assert_int_equal(parse(0, 4 * MiB, cases[i].flags, MiB, &info), 0);
        assert_int_equal(info.page_size, cases[i].page_size);
    }
    /* Check against a host with 4K and 64K granules only. */
    assert_int_equal(parse(0, 4 * MiB, 2 << 1, MiB, &info), 0);
    assert_int_equal(arm64_image_check_page_size(&info, ARM64_IMAGE_PAGE_4K | ARM64_IMAGE_PAGE_64K),
                     -ARM64_IMAGE_E_PAGE_SIZE);
    assert_int_equal(arm64_image_check_page_size(&info, ARM64_IMAGE_PAGE_16K), 0);
    assert_int_equal(parse(0, 4 * MiB, 0, MiB, &info), 0);
    assert_int_equal(arm64_image_check_page_size(&info, 0), 0); /* unspecified: can't tell */
    assert_int_equal(parse(0, 4 * MiB, 1 << 1, MiB, &info), 0);
    assert_int_equal(arm64_image_check_page_size(&info, ARM64_IMAGE_PAGE_4K), 0);
    assert_int_equal(arm64_image_check_page_size(&info, ARM64_IMAGE_PAGE_64K),
                     -ARM64_IMAGE_E_PAGE_SIZE);
    assert_int_equal(arm64_image_check_page_size(NULL, 7), -ARM64_IMAGE_E_INVALID_ARG);
}

static void test_reserved_flags_accepted(void **state)
{
    arm64_image_info_t info;

    (void)state;
    assert_int_equal(parse(0, 4 * MiB, 0xfff0ull | 0xa, MiB, &info), 0);
    assert_int_equal(info.flags, 0xfffa);
}

static void test_truncated(void **state)
{
    uint8_t buf[ARM64_IMAGE_HEADER_SIZE];
    arm64_image_info_t info;

    (void)state;
    make_header(buf, 0, 4 * MiB, 0xa);
    assert_int_equal(arm64_image_parse(buf, 63, &info), -ARM64_IMAGE_E_TRUNCATED);
    assert_int_equal(arm64_image_parse(buf, 0, &info), -ARM64_IMAGE_E_TRUNCATED);
    assert_int_equal(arm64_image_parse(NULL, 64, &info), -ARM64_IMAGE_E_INVALID_ARG);
    assert_int_equal(arm64_image_parse(buf, 64, NULL), -ARM64_IMAGE_E_INVALID_ARG);
}

static void test_parse_header_only(void **state)
{
    uint8_t buf[ARM64_IMAGE_HEADER_SIZE];
    arm64_image_info_t info;

    (void)state;
    make_header(buf, 0, 30 * MiB, 0xa);
    /* The caller read 64 bytes of a 20 MiB file. */
    assert_int_equal(arm64_image_parse_header(buf, sizeof(buf), 20 * MiB, &info), 0);
    assert_int_equal(info.file_size, 20 * MiB);
    assert_int_equal(info.image_size, 30 * MiB);
    assert_int_equal(arm64_image_parse_header(buf, sizeof(buf), 31 * MiB, &info),
                     -ARM64_IMAGE_E_IMAGE_SIZE);
    assert_int_equal(arm64_image_parse_header(buf, 32, 20 * MiB, &info), -ARM64_IMAGE_E_TRUNCATED);
    assert_int_equal(arm64_image_parse_header(buf, sizeof(buf), 63, &info),
                     -ARM64_IMAGE_E_TRUNCATED);
    /* Legacy: the file size becomes the image size. */
    make_header(buf, 0, 0, 0);
    assert_int_equal(arm64_image_parse_header(buf, sizeof(buf), 7 * MiB, &info), 0);
    assert_int_equal(info.image_size, 7 * MiB);
}

static void test_bad_magic(void **state)
{
    uint8_t buf[ARM64_IMAGE_HEADER_SIZE];
    arm64_image_info_t info = {.text_offset = 12345};

    (void)state;
    make_header(buf, 0, 4 * MiB, 0xa);
    buf[0x3b] = 0x65;
    assert_int_equal(arm64_image_parse(buf, 64, &info), -ARM64_IMAGE_E_BAD_MAGIC);
    assert_int_equal(info.text_offset, 12345); /* untouched on failure */
    /* A gzip file (Image.gz) is not an Image. */
    memset(buf, 0, sizeof(buf));
    buf[0] = 0x1f;
    buf[1] = 0x8b;
    assert_int_equal(arm64_image_parse(buf, 64, &info), -ARM64_IMAGE_E_BAD_MAGIC);
}

static void test_big_endian(void **state)
{
    arm64_image_info_t info;

    (void)state;
    assert_int_equal(parse(0, 4 * MiB, 0xb, MiB, &info), -ARM64_IMAGE_E_BIG_ENDIAN);
}

static void test_image_size_smaller_than_file(void **state)
{
    arm64_image_info_t info;

    (void)state;
    assert_int_equal(parse(0, 4 * MiB, 0xa, 4 * MiB + 1, &info), -ARM64_IMAGE_E_IMAGE_SIZE);
    assert_int_equal(parse(0, 4 * MiB, 0xa, 4 * MiB, &info), 0);
}

static void test_text_offset(void **state)
{
    arm64_image_info_t info;

    (void)state;
    assert_int_equal(parse(0x80001, 4 * MiB, 0xa, MiB, &info), -ARM64_IMAGE_E_TEXT_OFFSET);
    assert_int_equal(parse(0x800, 4 * MiB, 0xa, MiB, &info), -ARM64_IMAGE_E_TEXT_OFFSET);
    assert_int_equal(parse(2 * MiB, 4 * MiB, 0xa, MiB, &info), -ARM64_IMAGE_E_TEXT_OFFSET);
    assert_int_equal(parse(2 * MiB - 4096, 4 * MiB, 0xa, MiB, &info), 0);
    /* With 64K pages the offset must be 64K aligned (randomised TEXT_OFFSET was). */
    assert_int_equal(parse(0x1000, 4 * MiB, 0x6, MiB, &info), -ARM64_IMAGE_E_TEXT_OFFSET);
    assert_int_equal(parse(0x10000, 4 * MiB, 0x6, MiB, &info), 0);
    /* Page size unspecified: 4K is the bar. */
    assert_int_equal(parse(0x1000, 4 * MiB, 0x0, MiB, &info), 0);
}

static void test_size_overflow(void **state)
{
    arm64_image_info_t info;

    (void)state;
    assert_int_equal(parse(0x1000, UINT64_MAX - 0xfff, 0xa, MiB, &info),
                     -ARM64_IMAGE_E_SIZE_OVERFLOW);
    assert_int_equal(parse(0, (1ull << 48) + 1, 0xa, MiB, &info), -ARM64_IMAGE_E_SIZE_OVERFLOW);
    assert_int_equal(parse(0, 1ull << 48, 0xa, MiB, &info), 0);
}

static void test_legacy_image_size_zero(void **state)
{
    arm64_image_info_t info;

    (void)state;
    /* Pre-3.17: text_offset and flags fields are not to be trusted. */
    assert_int_equal(parse(0x1234567, 0, 0xb, 5 * MiB, &info), 0);
    assert_true(info.legacy);
    assert_int_equal(info.text_offset, 0x80000);
    assert_int_equal(info.image_size, 5 * MiB);
    assert_int_equal(info.flags, 0);
    assert_int_equal(info.page_size, 0);
    assert_false(info.place_anywhere);
}

static arm64_image_info_t img(uint64_t text_offset, uint64_t image_size, bool anywhere)
{
    arm64_image_info_t i = {
        .text_offset = text_offset,
        .image_size = image_size,
        .file_size = image_size / 2,
        .flags = anywhere ? 0xa : 0x2,
        .page_size = 4096,
        .place_anywhere = anywhere,
    };
    return i;
}

static void test_place(void **state)
{
    arm64_image_info_t k = img(0, 30 * MiB, true);
    uint64_t load;

    (void)state;
    assert_int_equal(arm64_image_place(&k, 0x40000000, 512 * MiB, &load), 0);
    assert_int_equal(load, 0x40000000);
    k = img(0x80000, 30 * MiB, false);
    assert_int_equal(arm64_image_place(&k, 0x40000000, 512 * MiB, &load), 0);
    assert_int_equal(load, 0x40080000);
    /* ram_base not 2 MiB aligned: next 2 MiB boundary inside RAM. */
    assert_int_equal(arm64_image_place(&k, 0x40001000, 512 * MiB, &load), 0);
    assert_int_equal(load, 0x40280000);
    /* Exact fit and one byte short. */
    k = img(0x80000, 30 * MiB, false);
    assert_int_equal(arm64_image_place(&k, 0x40000000, 0x80000 + 30 * MiB, &load), 0);
    assert_int_equal(arm64_image_place(&k, 0x40000000, 0x80000 + 30 * MiB - 1, &load),
                     -ARM64_IMAGE_E_NO_ROOM);
    /* Misaligned base eats into the room. */
    assert_int_equal(arm64_image_place(&k, 0x40001000, 0x80000 + 30 * MiB, &load),
                     -ARM64_IMAGE_E_NO_ROOM);
    assert_int_equal(
        arm64_image_place(&k, 0x40001000, 0x80000 + 30 * MiB + 2 * MiB - 0x1000, &load), 0);
    /* Bit 3 set: must end within 48 bits. */
    k = img(0, 30 * MiB, true);
    assert_int_equal(arm64_image_place(&k, (1ull << 48) - 16 * MiB, GiB, &load),
                     -ARM64_IMAGE_E_ABOVE_48BIT);
    k.place_anywhere = false;
    assert_int_equal(arm64_image_place(&k, (1ull << 48) - 16 * MiB, GiB, &load), 0);
    /* RAM wrapping 64 bits; base rounding wrapping. */
    assert_int_equal(arm64_image_place(&k, UINT64_MAX - MiB, 2 * MiB, &load),
                     -ARM64_IMAGE_E_SIZE_OVERFLOW);
    assert_int_equal(arm64_image_place(&k, UINT64_MAX - 2 * MiB, MiB, &load),
                     -ARM64_IMAGE_E_NO_ROOM);
    assert_int_equal(arm64_image_place(NULL, 0, GiB, &load), -ARM64_IMAGE_E_INVALID_ARG);
    assert_int_equal(arm64_image_place(&k, 0, GiB, NULL), -ARM64_IMAGE_E_INVALID_ARG);
}

/* Checks every rule of the plan on a successful layout. */
static void assert_layout_sane(const arm64_image_info_t *k, const arm64_boot_layout_t *l,
                               size_t initrd_size, size_t dtb_max)
{
    uint64_t ram_end = l->ram_base + l->ram_size;

    assert_int_equal(l->kernel_base % (2 * MiB), 0);
    assert_true(l->kernel_base >= l->ram_base);
    assert_int_equal(l->kernel_addr, l->kernel_base + k->text_offset);
    assert_int_equal(l->kernel_end, l->kernel_addr + k->image_size);
    assert_int_equal(l->dtb_addr % 8, 0);
    assert_int_equal(l->dtb_max, dtb_max);
    assert_true(l->dtb_addr >= l->kernel_end);
    assert_true(l->dtb_addr + dtb_max <= ram_end);
    /* The DTB's 2 MiB blocks hold only RAM. */
    assert_true(((l->dtb_addr + dtb_max + 2 * MiB - 1) & ~(2 * MiB - 1)) <= ram_end);
    if (initrd_size) {
        assert_int_equal(l->initrd_addr % 4096, 0);
        assert_int_equal(l->initrd_size, initrd_size);
        assert_true(l->initrd_addr >= l->kernel_end);
        assert_true(l->initrd_addr + initrd_size <= l->dtb_addr);
        /* One 1 GiB aligned window of 32 GiB covers kernel and initrd. */
        assert_true(l->initrd_addr + initrd_size - (l->kernel_addr & ~(GiB - 1)) <= 32 * GiB);
    } else {
        assert_int_equal(l->initrd_addr, 0);
    }
}

static void test_layout_typical(void **state)
{
    arm64_image_info_t k = img(0, 40 * MiB, true);
    arm64_boot_layout_t l;

    (void)state;
    assert_int_equal(arm64_boot_layout(&k, 0x40000000, 512 * MiB, 20 * MiB, 64 * 1024, &l), 0);
    assert_layout_sane(&k, &l, 20 * MiB, 64 * 1024);
    assert_int_equal(l.kernel_addr, 0x40000000);
    /* DTB right under the top of RAM, initrd right under the DTB. */
    assert_int_equal(l.dtb_addr, 0x40000000 + 512 * MiB - 64 * 1024);
    assert_int_equal(l.initrd_addr, l.dtb_addr - 20 * MiB);
    /* No initrd. */
    assert_int_equal(arm64_boot_layout(&k, 0x40000000, 512 * MiB, 0, 64 * 1024, &l), 0);
    assert_layout_sane(&k, &l, 0, 64 * 1024);
    assert_int_equal(l.initrd_size, 0);
}

static void test_layout_low_512m_preference(void **state)
{
    arm64_image_info_t k = img(0x80000, 40 * MiB, false);
    arm64_boot_layout_t l;

    (void)state;
    /* 4 GiB of RAM: DTB and initrd stay within 512 MiB of the kernel base. */
    assert_int_equal(arm64_boot_layout(&k, 0x40000000, 4 * GiB, 100 * MiB, 2 * MiB, &l), 0);
    assert_layout_sane(&k, &l, 100 * MiB, 2 * MiB);
    assert_int_equal(l.dtb_addr + 2 * MiB, l.kernel_base + 512 * MiB);
    /* An initrd that cannot fit there goes to the top of RAM. */
    assert_int_equal(arm64_boot_layout(&k, 0x40000000, 4 * GiB, 600 * MiB, 2 * MiB, &l), 0);
    assert_layout_sane(&k, &l, 600 * MiB, 2 * MiB);
    assert_int_equal(l.dtb_addr + 2 * MiB, 0x40000000 + 4 * GiB);
}

static void test_layout_exact_fit_and_one_byte_short(void **state)
{
    arm64_image_info_t k = img(0x80000, 40 * MiB + 123, false);
    arm64_boot_layout_t l;
    size_t initrd = 7 * MiB + 5, dtb = 0x10000;
    uint64_t need;
    char msg[256];

    (void)state;
    /* Ask with too little RAM to learn the minimum. */
    assert_int_equal(arm64_boot_layout(&k, 0x40000000, 16 * MiB, initrd, dtb, &l),
                     -ARM64_IMAGE_E_NO_ROOM);
    need = l.ram_needed;
    assert_true(need > 16 * MiB);
    arm64_boot_layout_describe(-ARM64_IMAGE_E_NO_ROOM, &l, msg, sizeof(msg));
    assert_non_null(strstr(msg, "need 48 MiB"));
    assert_non_null(strstr(msg, "RAM has 16 MiB"));
    assert_non_null(strstr(msg, "0x40000000"));
    /* 0.5 MiB text_offset + 40 MiB + 4 KiB (kernel, page up) + 7 MiB + 4 KiB
     * (initrd, page up) + 64 KiB (DTB) = 47.57 MiB, rounded up to 2 MiB. */
    assert_int_equal(need, 48 * MiB);
    assert_int_equal(arm64_boot_layout(&k, 0x40000000, need, initrd, dtb, &l), 0);
    assert_layout_sane(&k, &l, initrd, dtb);
    assert_int_equal(arm64_boot_layout(&k, 0x40000000, need - 1, initrd, dtb, &l),
                     -ARM64_IMAGE_E_NO_ROOM);
    assert_int_equal(l.ram_needed, need);
    /* Same with no initrd. */
    assert_int_equal(arm64_boot_layout(&k, 0x40000000, 16 * MiB, 0, dtb, &l),
                     -ARM64_IMAGE_E_NO_ROOM);
    need = l.ram_needed;
    assert_int_equal(arm64_boot_layout(&k, 0x40000000, need, 0, dtb, &l), 0);
    assert_layout_sane(&k, &l, 0, dtb);
    assert_int_equal(arm64_boot_layout(&k, 0x40000000, need - 1, 0, dtb, &l),
                     -ARM64_IMAGE_E_NO_ROOM);
}

static void test_layout_ram_base_unaligned(void **state)
{
    arm64_image_info_t k = img(0, 20 * MiB, true);
    arm64_boot_layout_t l;
    uint64_t base = 0x40000000 + 0x3000, need;

    (void)state;
    assert_int_equal(arm64_boot_layout(&k, base, 256 * MiB, 4 * MiB, 4096, &l), 0);
    assert_layout_sane(&k, &l, 4 * MiB, 4096);
    assert_int_equal(l.kernel_base, 0x40200000);
    /* RAM end is unaligned too: DTB ends at the 2 MiB boundary below it. */
    assert_int_equal(l.dtb_addr + 4096, (base + 256 * MiB) & ~(2 * MiB - 1));
    assert_int_equal(arm64_boot_layout(&k, base, 8 * MiB, 4 * MiB, 4096, &l),
                     -ARM64_IMAGE_E_NO_ROOM);
    need = l.ram_needed;
    assert_int_equal(arm64_boot_layout(&k, base, need, 4 * MiB, 4096, &l), 0);
    assert_layout_sane(&k, &l, 4 * MiB, 4096);
    assert_int_equal(arm64_boot_layout(&k, base, need - 1, 4 * MiB, 4096, &l),
                     -ARM64_IMAGE_E_NO_ROOM);
}

static void test_layout_huge_initrd(void **state)
{
    arm64_image_info_t k = img(0, 20 * MiB, true);
    arm64_boot_layout_t l;
    char msg[256];

    (void)state;
    /* 3 GiB initrd with 1 GiB of RAM: says how much RAM would do. */
    assert_int_equal(arm64_boot_layout(&k, 0x40000000, GiB, 3 * GiB, 4096, &l),
                     -ARM64_IMAGE_E_NO_ROOM);
    assert_int_equal(l.ram_needed, 3 * GiB + 22 * MiB);
    arm64_boot_layout_describe(-ARM64_IMAGE_E_NO_ROOM, &l, msg, sizeof(msg));
    assert_non_null(strstr(msg, "need 3094 MiB"));
    /* Bigger than the 32 GiB window: no RAM size helps. */
    assert_int_equal(arm64_boot_layout(&k, 0x40000000, 64 * GiB, 33 * GiB, 4096, &l),
                     -ARM64_IMAGE_E_INITRD_TOO_BIG);
    assert_int_equal(arm64_boot_layout(&k, 0x40000000, GiB, 33 * GiB, 4096, &l),
                     -ARM64_IMAGE_E_INITRD_TOO_BIG);
    /* Near the window limit with lots of RAM: stays inside the window. */
    assert_int_equal(arm64_boot_layout(&k, 0x40000000, 64 * GiB, 30 * GiB, 4096, &l), 0);
    assert_layout_sane(&k, &l, 30 * GiB, 4096);
    assert_true(l.dtb_addr + 4096 <= 0x40000000 + 32 * GiB);
    /* Sizes near SIZE_MAX wrap. */
    assert_int_equal(arm64_boot_layout(&k, 0x40000000, GiB, SIZE_MAX - 100, 4096, &l),
                     -ARM64_IMAGE_E_SIZE_OVERFLOW);
}

static void test_layout_bad_args(void **state)
{
    arm64_image_info_t k = img(0, 20 * MiB, true);
    arm64_boot_layout_t l;

    (void)state;
    assert_int_equal(arm64_boot_layout(&k, 0x40000000, GiB, 0, 0, &l), -ARM64_IMAGE_E_INVALID_ARG);
    assert_int_equal(arm64_boot_layout(&k, 0x40000000, GiB, 0, 2 * MiB + 1, &l),
                     -ARM64_IMAGE_E_DTB_TOO_BIG);
    assert_int_equal(arm64_boot_layout(&k, 0x40000000, GiB, 0, 2 * MiB, &l), 0);
    assert_int_equal(arm64_boot_layout(NULL, 0x40000000, GiB, 0, 4096, &l),
                     -ARM64_IMAGE_E_INVALID_ARG);
    assert_int_equal(arm64_boot_layout(&k, 0x40000000, GiB, 0, 4096, NULL),
                     -ARM64_IMAGE_E_INVALID_ARG);
    assert_int_equal(arm64_boot_layout(&k, UINT64_MAX - GiB, 2 * GiB, 0, 4096, &l),
                     -ARM64_IMAGE_E_SIZE_OVERFLOW);
    /* RAM right below 2^64: the kernel base rounds past the end. */
    assert_int_equal(arm64_boot_layout(&k, UINT64_MAX - MiB, MiB, 0, 4096, &l),
                     -ARM64_IMAGE_E_SIZE_OVERFLOW);
    /* Flags bit 3 and RAM straddling 2^48. */
    assert_int_equal(arm64_boot_layout(&k, (1ull << 48) - 16 * MiB, GiB, 0, 4096, &l),
                     -ARM64_IMAGE_E_ABOVE_48BIT);
    k.place_anywhere = false;
    assert_int_equal(arm64_boot_layout(&k, (1ull << 48) - 16 * MiB, GiB, 0, 4096, &l), 0);
    assert_layout_sane(&k, &l, 0, 4096);
}

static void test_layout_legacy_kernel(void **state)
{
    uint8_t buf[ARM64_IMAGE_HEADER_SIZE];
    arm64_image_info_t k;
    arm64_boot_layout_t l;

    (void)state;
    make_header(buf, 0, 0, 0);
    assert_int_equal(arm64_image_parse(buf, 9 * MiB, &k), 0);
    assert_int_equal(arm64_boot_layout(&k, 0x80000000, 256 * MiB, MiB, 4096, &l), 0);
    assert_layout_sane(&k, &l, MiB, 4096);
    assert_int_equal(l.kernel_addr, 0x80080000);
    /* Everything else at the top: the kernel's unknown BSS has room. */
    assert_true(l.initrd_addr >= 0x80000000 + 200 * MiB);
}

static void test_strerror(void **state)
{
    char buf[128];

    (void)state;
    for (int e = 0; e < ARM64_IMAGE_E_COUNT; e++) {
        assert_non_null(arm64_image_strerror(-e));
        assert_string_equal(arm64_image_strerror(-e), arm64_image_strerror(e));
        assert_null(strstr(arm64_image_strerror(-e), "unknown"));
    }
    assert_non_null(strstr(arm64_image_strerror(-ARM64_IMAGE_E_BAD_MAGIC), "magic"));
    assert_non_null(strstr(arm64_image_strerror(-ARM64_IMAGE_E_IMAGE_SIZE), "image_size"));
    assert_string_equal(arm64_image_strerror(-1000), "unknown arm64 Image error");
    arm64_boot_layout_describe(-ARM64_IMAGE_E_BIG_ENDIAN, NULL, buf, sizeof(buf));
    assert_string_equal(buf, arm64_image_strerror(-ARM64_IMAGE_E_BIG_ENDIAN));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_header),
        cmocka_unit_test(test_page_sizes),
        cmocka_unit_test(test_reserved_flags_accepted),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_parse_header_only),
        cmocka_unit_test(test_bad_magic),
        cmocka_unit_test(test_big_endian),
        cmocka_unit_test(test_image_size_smaller_than_file),
        cmocka_unit_test(test_text_offset),
        cmocka_unit_test(test_size_overflow),
        cmocka_unit_test(test_legacy_image_size_zero),
        cmocka_unit_test(test_place),
        cmocka_unit_test(test_layout_typical),
        cmocka_unit_test(test_layout_low_512m_preference),
        cmocka_unit_test(test_layout_exact_fit_and_one_byte_short),
        cmocka_unit_test(test_layout_ram_base_unaligned),
        cmocka_unit_test(test_layout_huge_initrd),
        cmocka_unit_test(test_layout_bad_args),
        cmocka_unit_test(test_layout_legacy_kernel),
        cmocka_unit_test(test_strerror),
    };

    return cmocka_run_group_tests_name("arm64_image", tests, NULL, NULL);
}
