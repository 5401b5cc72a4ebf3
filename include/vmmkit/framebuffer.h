/*
 * framebuffer.h - a linear framebuffer in shared memory, and its file.
 *
 * The guest draws into plain memory (x86: announced to the kernel through
 * the zero page's screen_info, the firmware framebuffer Linux's efifb
 * driver takes over); the VMM never traps a pixel.  The memory is a file
 * (or, without one, a memfd) that opens with a one-page header giving the
 * geometry, so anyone may map the file and read the picture while the VM
 * runs: "vmmkit screenshot FILE OUT.png" does.
 *
 * File layout (all little-endian):
 *   0x0000  fb_file_header_t (magic "VMMKITFB", version 1, geometry)
 *   0x1000  the pixels: height rows of stride bytes, 32 bits a pixel,
 *           x8r8g8b8 (blue in the lowest byte), row 0 at the top
 * Only the pixels are guest memory; the header is the VMM's.
 */
#ifndef VMMKIT_FRAMEBUFFER_H
#define VMMKIT_FRAMEBUFFER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FB_FILE_MAGIC "VMMKITFB"
#define FB_FILE_VERSION 1u
#define FB_FILE_DATA_OFFSET 0x1000u
#define FB_FORMAT_XRGB8888 1u
#define FB_MAX_SIDE 8192u

typedef struct fb_file_header {
    char magic[8];        /* FB_FILE_MAGIC, no NUL */
    uint32_t version;     /* FB_FILE_VERSION */
    uint32_t format;      /* FB_FORMAT_XRGB8888 */
    uint32_t width;       /* pixels */
    uint32_t height;      /* pixels */
    uint32_t stride;      /* bytes per row, >= width * 4 */
    uint32_t data_offset; /* FB_FILE_DATA_OFFSET */
    uint64_t data_size;   /* stride * height, rounded up to a page */
} fb_file_header_t;

/* A framebuffer mapped into the VMM. */
typedef struct fb {
    int fd;       /* the file or memfd */
    void *pixels; /* data_size bytes, shared, read-write */
    fb_file_header_t hdr;
} fb_t;

/*
 * Make a framebuffer of @width x @height: the file @path (created or
 * truncated, mode 0600), or a memfd when @path is NULL; header written,
 * pixels black, mapped.  Returns 0 or -errno (-EINVAL for a side of 0 or
 * over FB_MAX_SIDE).
 */
int fb_create(fb_t *fb, const char *path, uint32_t width, uint32_t height);

/*
 * Open an existing framebuffer file read-only and map its pixels; the
 * header is checked (magic, version, format, sizes that fit the file).
 * Returns 0, -EINVAL (not a framebuffer file, or a corrupt header) or
 * -errno.
 */
int fb_open(fb_t *fb, const char *path);

/* Unmap and close (the file stays).  Safe on a zeroed fb_t. */
void fb_close(fb_t *fb);

/*
 * Write the picture of @fb to @path as an 8-bit RGB PNG (libpng).
 * Returns 0 or -errno; on failure @err says why in one line.
 */
int fb_write_png(const fb_t *fb, const char *path, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
