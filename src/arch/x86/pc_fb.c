/*
 * pc_fb.c - the x86 pc board's linear framebuffer: shared memory at
 * X86_PC_FB_BASE (framebuffer.h), announced in the zero page's
 * screen_info.  The guest draws without exits.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <vmmkit/log.h>

#include "arch/x86/pc_priv.h"

/* screen_info.orig_video_isVGA for a firmware (EFI GOP style) framebuffer:
 * Linux's sysfb makes an "efi-framebuffer" device of it, which efifb drives
 * (include/uapi/linux/screen_info.h, VIDEO_TYPE_EFI). */
#define VIDEO_TYPE_EFI 0x70u

static int fb_iter(uintptr_t addr, size_t size, vm_memory_backing_t *backing, void *cookie)
{
    (void)addr;
    (void)size;
    backing->hva = cookie;
    backing->readonly = false;
    return 0;
}

int pc_framebuffer_create(x86_pc_t *pc, char *err, size_t errlen)
{
    int r;

    pc->fb.fd = -1;
    if (!pc->cfg.fb_width)
        return 0;
    r = fb_create(&pc->fb, pc->cfg.fb_file, pc->cfg.fb_width, pc->cfg.fb_height);
    if (r < 0)
        return board_errorf(err, errlen, r, "--framebuffer%s%s: %s",
                            pc->cfg.fb_file ? " file=" : "", pc->cfg.fb_file ? pc->cfg.fb_file : "",
                            strerror(-r));
    pc->fb_res = vm_reserve_memory_at(pc->vm, X86_PC_FB_BASE, pc->fb.hdr.data_size, NULL, NULL);
    if (!pc->fb_res)
        return board_errorf(err, errlen, -errno, "cannot place the framebuffer at %#llx: %s",
                            X86_PC_FB_BASE, strerror(errno));
    r = vm_map_reservation(pc->vm, pc->fb_res, fb_iter, pc->fb.pixels);
    if (r < 0)
        return board_errorf(err, errlen, r, "cannot map the framebuffer: %s", strerror(-r));
    LOG_INFO("framebuffer: %ux%u at %#llx%s%s", pc->fb.hdr.width, pc->fb.hdr.height, X86_PC_FB_BASE,
             pc->cfg.fb_file ? ", file " : "", pc->cfg.fb_file ? pc->cfg.fb_file : "");
    return 0;
}

const x86_framebuffer_t *pc_framebuffer_describe(const x86_pc_t *pc, x86_framebuffer_t *fb)
{
    if (pc->fb.fd < 0 || !pc->fb.pixels)
        return NULL;
    *fb = (x86_framebuffer_t){
        .base = X86_PC_FB_BASE,
        .size = pc->fb.hdr.data_size,
        .width = (uint16_t)pc->fb.hdr.width,
        .height = (uint16_t)pc->fb.hdr.height,
        .depth = 32,
        .line_length = (uint16_t)pc->fb.hdr.stride,
        .red_size = 8,
        .red_pos = 16,
        .green_size = 8,
        .green_pos = 8,
        .blue_size = 8,
        .blue_pos = 0,
        .rsvd_size = 8,
        .rsvd_pos = 24,
    };
    return fb;
}

void pc_framebuffer_set_type(x86_boot_params_t *zp)
{
    x86_screen_info_t *si = &zp->screen_info;

    si->orig_video_isVGA = VIDEO_TYPE_EFI;
    /* efifb reads lfb_size in bytes, not VESA's 64 KiB units */
    si->lfb_size = (uint32_t)si->lfb_size << 16;
}

void pc_framebuffer_destroy(x86_pc_t *pc)
{
    if (pc->fb_res && pc->vm)
        vm_free_reserved_memory(pc->vm, pc->fb_res);
    pc->fb_res = NULL;
    if (pc->fb.pixels)
        fb_close(&pc->fb);
}
