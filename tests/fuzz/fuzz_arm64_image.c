/*
 * fuzz_arm64_image.c - libFuzzer harness for the arm64 Image loader's
 * pure half (src/arch/arm64/image.c): the header parser, the kernel's
 * placement and the boot memory plan for kernel, initrd and DTB.
 *
 * The input is a hostile user's files and sizes:
 *
 *   bytes 0-7    the Image file's size claimed beside the header (le64)
 *   bytes 8-15   guest RAM base (le64)
 *   bytes 16-23  guest RAM size (le64)
 *   bytes 24-31  initrd size (le64)
 *   bytes 32-35  DTB room (le32)
 *   bytes 36-    the Image file's first bytes (the header, and maybe more)
 *
 * Whatever the input, the functions return a defined error or a plan, and
 * every accepted plan holds what booting.rst asks: a 2 MiB aligned kernel
 * base, text_offset below 2 MiB, the kernel, initrd and DTB inside RAM and
 * apart, the DTB 8-byte aligned with the room asked for, the initrd above
 * the kernel's image_size and within 32 GiB of it.  The error texts exist
 * for every code.  Any violation aborts.
 *
 * Seeds (corpus/fuzz_arm64_image/): a current kernel's header, a legacy
 * (image_size 0) header, one with place-anywhere, and a bad magic.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vmmkit/arm64_image.h>

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_arm64_image: %s:%d: %s\n", __FILE__, __LINE__, #c);             \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* [a, a + alen) lies in [b, b + blen) (no wrap in either). */
static int inside(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a >= b && alen <= blen && a - b <= blen - alen;
}

static void check_layout(const arm64_image_info_t *info, const arm64_boot_layout_t *l,
                         uint64_t initrd_size, uint64_t dtb_max)
{
    CHECK(l->kernel_base % ARM64_IMAGE_BASE_ALIGN == 0);
    CHECK(l->kernel_addr == l->kernel_base + info->text_offset);
    CHECK(l->kernel_end == l->kernel_addr + info->image_size);
    CHECK(inside(l->kernel_addr, info->image_size, l->ram_base, l->ram_size));
    CHECK(l->dtb_addr % 8 == 0);
    CHECK(l->dtb_max >= dtb_max);
    CHECK(inside(l->dtb_addr, l->dtb_max, l->ram_base, l->ram_size));
    CHECK(l->dtb_addr >= l->kernel_end || l->dtb_addr + l->dtb_max <= l->kernel_base);
    if (initrd_size) {
        CHECK(l->initrd_addr != 0);
        CHECK(l->initrd_size == initrd_size);
        CHECK(inside(l->initrd_addr, initrd_size, l->ram_base, l->ram_size));
        CHECK(l->initrd_addr >= l->kernel_end);
        CHECK(l->initrd_addr + initrd_size <= l->dtb_addr ||
              l->dtb_addr + l->dtb_max <= l->initrd_addr);
        CHECK(l->initrd_addr + initrd_size - l->kernel_base <= (32ull << 30));
    }
    if (info->place_anywhere)
        CHECK(l->kernel_end <= (1ull << 48));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arm64_image_info_t info;
    arm64_boot_layout_t layout;
    uint64_t file_size, ram_base, ram_size, initrd_size, load;
    uint32_t dtb_max;
    char text[256];
    int r;

    if (size < 36)
        return 0;
    file_size = le64(data);
    ram_base = le64(data + 8);
    ram_size = le64(data + 16);
    initrd_size = le64(data + 24);
    dtb_max = (uint32_t)data[32] | (uint32_t)data[33] << 8 | (uint32_t)data[34] << 16 |
              (uint32_t)data[35] << 24;
    data += 36;
    size -= 36;

    /* A whole file in memory: the claimed size is the buffer's. */
    r = arm64_image_parse(data, size, &info);
    CHECK(r <= 0 && -r < ARM64_IMAGE_E_COUNT);
    CHECK(arm64_image_strerror(r) != NULL);
    if (r == 0) {
        CHECK(info.file_size == size);
        CHECK(info.image_size >= info.file_size);
    }

    /* The header with a claimed file size, as the board reads big files. */
    r = arm64_image_parse_header(data, size, file_size, &info);
    CHECK(r <= 0 && -r < ARM64_IMAGE_E_COUNT);
    if (r < 0)
        return 0;
    CHECK(info.text_offset < (2ull << 20));
    CHECK(info.image_size >= info.file_size);
    CHECK(info.page_size == 0 || info.page_size == 4096 || info.page_size == 16384 ||
          info.page_size == 65536);
    arm64_image_check_page_size(&info, data[0] & 7u);

    r = arm64_image_place(&info, ram_base, ram_size, &load);
    CHECK(r <= 0 && -r < ARM64_IMAGE_E_COUNT);
    if (r == 0) {
        CHECK((load - info.text_offset) % ARM64_IMAGE_BASE_ALIGN == 0);
        CHECK(inside(load, info.image_size, ram_base, ram_size));
    }

    memset(&layout, 0, sizeof(layout));
    r = arm64_boot_layout(&info, ram_base, ram_size, (size_t)initrd_size, dtb_max, &layout);
    CHECK(r <= 0 && -r < ARM64_IMAGE_E_COUNT);
    arm64_boot_layout_describe(r, &layout, text, sizeof(text));
    CHECK(memchr(text, 0, sizeof(text)) != NULL);
    if (r == 0)
        check_layout(&info, &layout, initrd_size, dtb_max);
    else if (r == -ARM64_IMAGE_E_NO_ROOM)
        CHECK(layout.ram_needed > ram_size || layout.ram_needed == 0);
    return 0;
}
