/*
 * image.c - arm64 Linux Image header parsing and the boot memory plan.
 *
 * Spec: Linux Documentation/arch/arm64/booting.rst ("booting.rst"); section
 * numbers below are that document's.  See include/vmmkit/arm64_image.h.
 */
#include <inttypes.h>
#include <stdio.h>

#include <vmmkit/arm64_image.h>

#define SZ_4K UINT64_C(0x1000)
#define SZ_1M (UINT64_C(1) << 20)
#define SZ_2M (UINT64_C(2) << 20)
#define SZ_512M (UINT64_C(512) << 20)
#define SZ_1G (UINT64_C(1) << 30)
#define SZ_32G (UINT64_C(32) << 30)
#define PA_48BIT_LIMIT (UINT64_C(1) << 48)

/* Header field offsets (booting.rst section 4). */
#define HDR_TEXT_OFFSET 0x08
#define HDR_IMAGE_SIZE 0x10
#define HDR_FLAGS 0x18
#define HDR_MAGIC 0x38

/* The header is little-endian whatever the host (booting.rst section 4). */
static uint64_t read_le(const uint8_t *p, unsigned bytes)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < bytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* a + b into *sum; false when it wraps. */
static bool add_ok(uint64_t a, uint64_t b, uint64_t *sum)
{
    return !__builtin_add_overflow(a, b, sum);
}

/* Round @v up to @align (a power of two) into *out; false when it wraps. */
static bool align_up_ok(uint64_t v, uint64_t align, uint64_t *out)
{
    uint64_t t;

    if (!add_ok(v, align - 1, &t))
        return false;
    *out = t & ~(align - 1);
    return true;
}

/* a + b, or UINT64_MAX when that wraps. */
static uint64_t add_sat(uint64_t a, uint64_t b)
{
    uint64_t sum;

    return add_ok(a, b, &sum) ? sum : UINT64_MAX;
}

static uint64_t align_down(uint64_t v, uint64_t align)
{
    return v & ~(align - 1);
}

int arm64_image_parse_header(const void *hdr_buf, size_t hdr_len, uint64_t file_size,
                             arm64_image_info_t *info)
{
    const uint8_t *hdr = hdr_buf;
    arm64_image_info_t out = {0};
    uint64_t image_size, end;
    uint64_t align;

    if (!hdr_buf || !info)
        return -ARM64_IMAGE_E_INVALID_ARG;
    if (hdr_len < ARM64_IMAGE_HEADER_SIZE || file_size < ARM64_IMAGE_HEADER_SIZE)
        return -ARM64_IMAGE_E_TRUNCATED;
    if ((uint32_t)read_le(hdr + HDR_MAGIC, 4) != ARM64_IMAGE_MAGIC)
        return -ARM64_IMAGE_E_BAD_MAGIC;

    out.file_size = file_size;
    image_size = read_le(hdr + HDR_IMAGE_SIZE, 8);
    if (image_size == 0) {
        /*
         * Header notes: before v3.17 image_size is zero, text_offset is
         * 0x80000 in the kernel's (unknown) endianness and the flags field
         * did not exist, so ignore both fields.
         */
        out.legacy = true;
        out.text_offset = ARM64_IMAGE_LEGACY_TEXT_OFFSET;
        out.image_size = file_size;
        out.flags = 0;
    } else {
        out.text_offset = read_le(hdr + HDR_TEXT_OFFSET, 8);
        out.image_size = image_size;
        out.flags = read_le(hdr + HDR_FLAGS, 8);
    }

    /* Flags bit 0: kernel endianness.  Our device models assume LE guests. */
    if (out.flags & ARM64_IMAGE_FLAG_BE)
        return -ARM64_IMAGE_E_BIG_ENDIAN;

    /* Flags bits 1-2: 0 unspecified, 1 4K, 2 16K, 3 64K.  All four are valid. */
    switch ((out.flags & ARM64_IMAGE_FLAG_PAGE_SIZE_MASK) >> ARM64_IMAGE_FLAG_PAGE_SIZE_SHIFT) {
    case 1:
        out.page_size = 4096;
        break;
    case 2:
        out.page_size = 16384;
        break;
    case 3:
        out.page_size = 65536;
        break;
    default:
        out.page_size = 0;
        break;
    }
    out.place_anywhere = (out.flags & ARM64_IMAGE_FLAG_PHYS_BASE) != 0;

    /*
     * booting.rst puts no explicit bound on text_offset, but every arm64
     * kernel had a page-aligned one below 2 MiB (0x80000 until v5.8, 0 since,
     * or a random page multiple below 2 MiB with RANDOMIZE_TEXT_OFFSET).
     * Anything else is a corrupt header, not a kernel to guess about.
     */
    align = out.page_size ? out.page_size : SZ_4K;
    if (out.text_offset >= SZ_2M || (out.text_offset & (align - 1)))
        return -ARM64_IMAGE_E_TEXT_OFFSET;

    /*
     * "At least image_size bytes from the start of the image must be free
     * for use by the kernel": image_size covers the file plus BSS and early
     * page tables.  A file longer than that is not the kernel the header
     * describes (its tail would land in memory the kernel thinks is free).
     */
    if (out.image_size < file_size)
        return -ARM64_IMAGE_E_IMAGE_SIZE;
    /* Bit 3 speaks of a 48-bit physical range: no real image comes near it. */
    if (!add_ok(out.text_offset, out.image_size, &end) || end > PA_48BIT_LIMIT)
        return -ARM64_IMAGE_E_SIZE_OVERFLOW;

    *info = out;
    return 0;
}

int arm64_image_parse(const void *buf, size_t len, arm64_image_info_t *info)
{
    return arm64_image_parse_header(buf, len, len, info);
}

int arm64_image_check_page_size(const arm64_image_info_t *info, unsigned supported)
{
    if (!info)
        return -ARM64_IMAGE_E_INVALID_ARG;
    switch (info->page_size) {
    case 0:
        return 0;
    case 4096:
        return (supported & ARM64_IMAGE_PAGE_4K) ? 0 : -ARM64_IMAGE_E_PAGE_SIZE;
    case 16384:
        return (supported & ARM64_IMAGE_PAGE_16K) ? 0 : -ARM64_IMAGE_E_PAGE_SIZE;
    case 65536:
        return (supported & ARM64_IMAGE_PAGE_64K) ? 0 : -ARM64_IMAGE_E_PAGE_SIZE;
    default:
        return -ARM64_IMAGE_E_PAGE_SIZE;
    }
}

/*
 * The kernel's 2 MiB aligned base, load address and end; see
 * arm64_image_place().  The base is the lowest 2 MiB boundary inside RAM: the
 * region between base and image "has no special significance" (section 4)
 * but kernels before v4.6 cannot use memory below the base, so keep it in
 * RAM and as low as possible.
 */
static int place_kernel(const arm64_image_info_t *info, uint64_t ram_base, uint64_t ram_size,
                        uint64_t *base_out, uint64_t *load_out, uint64_t *end_out)
{
    uint64_t ram_end, base, load, end;

    if (!add_ok(ram_base, ram_size, &ram_end))
        return -ARM64_IMAGE_E_SIZE_OVERFLOW;
    if (!align_up_ok(ram_base, SZ_2M, &base) || !add_ok(base, info->text_offset, &load) ||
        !add_ok(load, info->image_size, &end))
        return -ARM64_IMAGE_E_NO_ROOM;
    if (end > ram_end)
        return -ARM64_IMAGE_E_NO_ROOM;
    /* Flags bit 3 set: "all image_size bytes ... within the 48-bit range". */
    if (info->place_anywhere && end > PA_48BIT_LIMIT)
        return -ARM64_IMAGE_E_ABOVE_48BIT;
    *base_out = base;
    *load_out = load;
    *end_out = end;
    return 0;
}

int arm64_image_place(const arm64_image_info_t *info, uint64_t ram_base, uint64_t ram_size,
                      uint64_t *load_addr)
{
    uint64_t base, load, end;
    int ret;

    if (!info || !load_addr)
        return -ARM64_IMAGE_E_INVALID_ARG;
    ret = place_kernel(info, ram_base, ram_size, &base, &load, &end);
    if (ret < 0)
        return ret;
    *load_addr = load;
    return 0;
}

/*
 * Smallest end of RAM (a 2 MiB boundary) that holds kernel, initrd and DTB
 * packed as arm64_boot_layout() packs them, into *need_end.  False on wrap.
 */
static bool packed_end(uint64_t kernel_end, uint64_t initrd_size, uint64_t dtb_max,
                       uint64_t *need_end)
{
    uint64_t k, i, d, sum;

    return align_up_ok(kernel_end, SZ_4K, &k) && align_up_ok(initrd_size, SZ_4K, &i) &&
           align_up_ok(dtb_max, SZ_4K, &d) && add_ok(k, i, &sum) && add_ok(sum, d, &sum) &&
           align_up_ok(sum, SZ_2M, need_end);
}

int arm64_boot_layout(const arm64_image_info_t *img, uint64_t ram_base, uint64_t ram_size,
                      size_t initrd_size, size_t dtb_max, arm64_boot_layout_t *out)
{
    arm64_boot_layout_t l = {0};
    uint64_t ram_end, base, load, kernel_end, window_end, limit, need_end, dtb_top, low_end;
    int ret;

    if (!img || !out)
        return -ARM64_IMAGE_E_INVALID_ARG;
    if (dtb_max == 0)
        return -ARM64_IMAGE_E_INVALID_ARG;
    /* Section 2: the DTB "must not exceed 2 megabytes in size". */
    if (dtb_max > ARM64_IMAGE_DTB_MAX_SIZE)
        return -ARM64_IMAGE_E_DTB_TOO_BIG;
    if (!add_ok(ram_base, ram_size, &ram_end))
        return -ARM64_IMAGE_E_SIZE_OVERFLOW;

    l.ram_base = ram_base;
    l.ram_size = ram_size;
    l.dtb_max = dtb_max;
    l.initrd_size = initrd_size;

    /* Where the kernel goes (as place_kernel() puts it), RAM size aside. */
    if (!align_up_ok(ram_base, SZ_2M, &base) || !add_ok(base, img->text_offset, &load) ||
        !add_ok(load, img->image_size, &kernel_end) ||
        !packed_end(kernel_end, initrd_size, dtb_max, &need_end))
        return -ARM64_IMAGE_E_SIZE_OVERFLOW;

    /*
     * Section 4: the initrd "must reside entirely within a 1 GB aligned
     * physical memory window of up to 32 GB in size that fully covers the
     * kernel Image as well".  The initrd sits above the kernel, so the best
     * window starts at the kernel's 1 GiB boundary.  More RAM cannot help an
     * initrd that does not fit.
     */
    window_end = add_sat(align_down(load, SZ_1G), SZ_32G);
    if (initrd_size && need_end > window_end)
        return -ARM64_IMAGE_E_INITRD_TOO_BIG;
    if (need_end > ram_end) {
        l.ram_needed = need_end - ram_base;
        *out = l;
        return -ARM64_IMAGE_E_NO_ROOM;
    }
    ret = place_kernel(img, ram_base, ram_size, &l.kernel_base, &l.kernel_addr, &l.kernel_end);
    if (ret < 0)
        return ret; /* only E_ABOVE_48BIT is left */

    limit = ram_end;
    if (initrd_size && window_end < limit)
        limit = window_end;
    /*
     * Section 2 NOTE: before v4.2 the DTB must lie in the 512 MiB from the
     * kernel base.  Honour it whenever everything fits there.
     */
    low_end = add_sat(l.kernel_base, SZ_512M);
    if (limit > low_end && need_end <= low_end)
        limit = low_end;

    /*
     * Section 2: the DTB is mapped cacheable with blocks of up to 2 MiB, so it
     * must not share a 2 MiB block with anything that is not RAM: end it at a
     * 2 MiB boundary at or below the end of RAM.
     */
    dtb_top = align_down(limit, SZ_2M);
    l.dtb_addr = align_down(dtb_top - dtb_max, SZ_4K);
    if (initrd_size) {
        l.initrd_addr = align_down(l.dtb_addr - initrd_size, SZ_4K);
        if (l.initrd_addr < l.kernel_end) /* cannot happen after need_end */
            return -ARM64_IMAGE_E_NO_ROOM;
    } else if (l.dtb_addr < l.kernel_end) {
        return -ARM64_IMAGE_E_NO_ROOM;
    }
    *out = l;
    return 0;
}

static const char *const err_text[ARM64_IMAGE_E_COUNT] = {
    [ARM64_IMAGE_OK] = "success",
    [ARM64_IMAGE_E_INVALID_ARG] = "invalid argument (NULL pointer or zero size)",
    [ARM64_IMAGE_E_TRUNCATED] = "file is shorter than the 64-byte arm64 Image header",
    [ARM64_IMAGE_E_BAD_MAGIC] = "no \"ARM\\x64\" magic at offset 0x38: not an arm64 Image "
                                "(compressed? decompress Image.gz first)",
    [ARM64_IMAGE_E_BIG_ENDIAN] = "big-endian kernel (flags bit 0); only little-endian "
                                 "guests are supported",
    [ARM64_IMAGE_E_PAGE_SIZE] = "kernel page size (flags bits 1-2) is not supported by "
                                "the host CPU",
    [ARM64_IMAGE_E_IMAGE_SIZE] = "header image_size is smaller than the Image file",
    [ARM64_IMAGE_E_TEXT_OFFSET] = "header text_offset is not page aligned or not below 2 MiB",
    [ARM64_IMAGE_E_SIZE_OVERFLOW] = "text_offset + image_size or RAM base + size overflows",
    [ARM64_IMAGE_E_NO_ROOM] = "guest RAM too small for kernel, initrd and DTB",
    [ARM64_IMAGE_E_ABOVE_48BIT] = "kernel would end above the 48-bit physical range "
                                  "(flags bit 3)",
    [ARM64_IMAGE_E_DTB_TOO_BIG] = "DTB larger than the 2 MiB booting.rst allows",
    [ARM64_IMAGE_E_INITRD_TOO_BIG] = "initrd does not fit the 32 GiB window it must share "
                                     "with the kernel",
};

const char *arm64_image_strerror(int err)
{
    if (err < 0)
        err = -err;
    if (err < ARM64_IMAGE_E_COUNT && err_text[err])
        return err_text[err];
    return "unknown arm64 Image error";
}

int arm64_boot_layout_describe(int err, const arm64_boot_layout_t *layout, char *buf, size_t len)
{
    if (err < 0)
        err = -err;
    if (layout && err == ARM64_IMAGE_E_NO_ROOM && layout->ram_needed) {
        return snprintf(buf, len,
                        "guest RAM too small: kernel, initrd and DTB need %" PRIu64 " MiB (%" PRIu64
                        " bytes) from 0x%" PRIx64 ", RAM has %" PRIu64 " MiB",
                        (layout->ram_needed + SZ_1M - 1) / SZ_1M, layout->ram_needed,
                        layout->ram_base, layout->ram_size / SZ_1M);
    }
    return snprintf(buf, len, "%s", arm64_image_strerror(err));
}
