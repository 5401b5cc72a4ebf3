/*
 * zero_page.c - struct boot_params ("the zero page") for the 64-bit Linux
 * boot protocol.
 *
 * Specs: Linux Documentation/arch/x86/boot.rst ("boot.rst", sections "64-bit
 * Boot Protocol" and "Details of Header Fields"), Documentation/arch/x86/
 * zero-page.rst, include/uapi/linux/screen_info.h.  See
 * include/vmmkit/x86_boot.h.
 */
#include <string.h>

#include "boot_priv.h"

/* The setup header is copied from here (boot.rst, "64-bit Boot Protocol"). */
#define HDR_START X86_BZIMAGE_HDR_OFFSET
#define HDR_END_MAX 0x290

static bool below_4g(uint64_t addr, uint64_t size)
{
    uint64_t end;

    return x86_add_ok(addr, size, &end) && end <= X86_BOOT_4G;
}

/* A colour channel fits the pixel. */
static bool channel_ok(uint8_t size, uint8_t pos, uint16_t depth)
{
    return size == 0 || (unsigned)size + pos <= depth;
}

/*
 * Check @fb and describe it as a VESA linear framebuffer (VIDEO_TYPE_VLFB):
 * the type vesafb, and sysfb's simple-framebuffer, read from screen_info.
 */
static int fill_screen_info(x86_screen_info_t *si, const x86_framebuffer_t *fb)
{
    uint64_t bpp, end, units;

    switch (fb->depth) {
    case 8:
    case 15:
    case 16:
    case 24:
    case 32:
        break;
    default:
        return -X86_BOOT_E_FRAMEBUFFER;
    }
    bpp = (fb->depth + 7u) / 8u;
    if (!fb->width || !fb->height || fb->line_length < fb->width * bpp ||
        fb->size < (uint64_t)fb->line_length * fb->height || !fb->base ||
        !x86_add_ok(fb->base, fb->size, &end))
        return -X86_BOOT_E_FRAMEBUFFER;
    if (!channel_ok(fb->red_size, fb->red_pos, fb->depth) ||
        !channel_ok(fb->green_size, fb->green_pos, fb->depth) ||
        !channel_ok(fb->blue_size, fb->blue_pos, fb->depth) ||
        !channel_ok(fb->rsvd_size, fb->rsvd_pos, fb->depth))
        return -X86_BOOT_E_FRAMEBUFFER;
    /* lfb_size counts 64 KiB units for VLFB (screen_info.h's
     * __screen_info_lfb_size() shifts it by 16). */
    units = fb->size / X86_SZ_64K + (fb->size % X86_SZ_64K != 0);
    if (units > UINT32_MAX)
        return -X86_BOOT_E_FRAMEBUFFER;

    si->orig_video_isVGA = X86_VIDEO_TYPE_VLFB;
    si->lfb_width = fb->width;
    si->lfb_height = fb->height;
    si->lfb_depth = fb->depth;
    si->lfb_linelength = fb->line_length;
    si->lfb_base = (uint32_t)fb->base;
    si->lfb_size = (uint32_t)units;
    si->red_size = fb->red_size;
    si->red_pos = fb->red_pos;
    si->green_size = fb->green_size;
    si->green_pos = fb->green_pos;
    si->blue_size = fb->blue_size;
    si->blue_pos = fb->blue_pos;
    si->rsvd_size = fb->rsvd_size;
    si->rsvd_pos = fb->rsvd_pos;
    /* No VGA registers behind it: VBE mode attribute bit 5. */
    si->vesa_attributes = X86_VESA_ATTR_NOT_VGA;
    if (fb->base >> 32) {
        si->ext_lfb_base = (uint32_t)(fb->base >> 32);
        si->capabilities |= X86_VIDEO_CAPABILITY_64BIT_BASE;
    }
    return 0;
}

int x86_boot_params_build(uint8_t zp[X86_ZERO_PAGE_SIZE], const void *setup_in, size_t setup_len,
                          const x86_bzimage_info_t *img, const x86_boot_layout_t *layout,
                          const x86_e820_entry_t *e820, size_t nr_e820,
                          const x86_boot_params_opts_t *opts)
{
    const uint8_t *setup = setup_in;
    x86_boot_params_t bp;
    uint8_t loadflags;
    int ret;

    if (!zp || !setup || !img || !layout || !e820)
        return -X86_BOOT_E_INVALID_ARG;
    if (img->header_end < HDR_START + offsetof(x86_setup_header_t, init_size) + 4 ||
        img->header_end > HDR_END_MAX)
        return -X86_BOOT_E_INVALID_ARG;
    if (setup_len < img->header_end)
        return -X86_BOOT_E_TRUNCATED;
    if (x86_read_le(setup + 0x202, 4) != X86_BZIMAGE_HDRS)
        return -X86_BOOT_E_NO_HDRS;
    if (nr_e820 == 0)
        return -X86_BOOT_E_E820_NO_RAM;
    if (nr_e820 > X86_E820_MAX_ENTRIES)
        return -X86_BOOT_E_E820_TOO_MANY;
    /* code32_start is 32 bits; so are the pointers unless the kernel takes
     * them above 4 GiB (XLF_CAN_BE_LOADED_ABOVE_4G) through the ext_ fields. */
    if (!below_4g(layout->kernel_load_addr, img->kernel_size))
        return -X86_BOOT_E_ABOVE_4G;
    if (!img->above_4g &&
        (!below_4g(layout->cmdline_addr, layout->cmdline_size) ||
         (layout->initrd_size && !below_4g(layout->initrd_addr, layout->initrd_size))))
        return -X86_BOOT_E_ABOVE_4G;

    /* "The memory for struct boot_params ... initialized to all zero.  Then
     * the setup header at offset 0x01f1 of kernel image on should be loaded
     * into struct boot_params" (boot.rst, "64-bit Boot Protocol"). */
    memset(&bp, 0, sizeof(bp));
    memcpy((uint8_t *)&bp + HDR_START, setup + HDR_START, img->header_end - HDR_START);

    if (opts && opts->fb) {
        ret = fill_screen_info(&bp.screen_info, opts->fb);
        if (ret < 0)
            return ret;
    }

    /* type_of_loader (obligatory): 0xFF, no assigned ID. */
    bp.hdr.type_of_loader = X86_BOOT_LOADER_TYPE_UNDEFINED;
    bp.hdr.ext_loader_ver = 0;
    bp.hdr.ext_loader_type = 0;
    /* loadflags (obligatory): the loader owns QUIET, KEEP_SEGMENTS (obsolete,
     * kept clear) and CAN_USE_HEAP (with heap_end_ptr). */
    loadflags = bp.hdr.loadflags;
    loadflags &= (uint8_t) ~(X86_LOADFLAG_QUIET | X86_LOADFLAG_KEEP_SEGMENTS);
    loadflags |= X86_LOADFLAG_CAN_USE_HEAP;
    if (opts && opts->quiet)
        loadflags |= X86_LOADFLAG_QUIET;
    bp.hdr.loadflags = loadflags;
    bp.hdr.heap_end_ptr = X86_BOOT_HEAP_END_PTR;
    /* code32_start: a relocatable kernel loaded elsewhere than 1 MiB
     * "will have to modify this field to point to the load address". */
    bp.hdr.code32_start = (uint32_t)layout->kernel_load_addr;
    /* cmd_line_ptr (obligatory), its high half in ext_cmd_line_ptr. */
    bp.hdr.cmd_line_ptr = (uint32_t)layout->cmdline_addr;
    bp.ext_cmd_line_ptr = (uint32_t)(layout->cmdline_addr >> 32);
    /* ramdisk_image/size (obligatory; "Leave at zero if there is no initial
     * ramdisk", whatever the file held), high halves in ext_. */
    bp.hdr.ramdisk_image = (uint32_t)(layout->initrd_size ? layout->initrd_addr : 0);
    bp.hdr.ramdisk_size = (uint32_t)layout->initrd_size;
    bp.ext_ramdisk_image = (uint32_t)((layout->initrd_size ? layout->initrd_addr : 0) >> 32);
    bp.ext_ramdisk_size = (uint32_t)(layout->initrd_size >> 32);
    /* setup_data and hardware_subarch are the loader's to write: no list,
     * the default x86/PC environment, whatever the file held. */
    bp.hdr.setup_data = 0;
    bp.hdr.hardware_subarch = 0;
    bp.hdr.hardware_subarch_data = 0;

    bp.e820_entries = (uint8_t)nr_e820;
    memcpy(bp.e820_table, e820, nr_e820 * sizeof(*e820));
    if (opts)
        bp.acpi_rsdp_addr = opts->acpi_rsdp_addr;

    memcpy(zp, &bp, sizeof(bp));
    return 0;
}
