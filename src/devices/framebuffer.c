/*
 * framebuffer.c - a linear framebuffer in a shared file, and its PNG
 * (framebuffer.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmmkit/framebuffer.h>

#define PAGE 4096ull

static uint64_t data_size(uint32_t stride, uint32_t height)
{
    return ((uint64_t)stride * height + PAGE - 1) & ~(PAGE - 1);
}

int fb_create(fb_t *fb, const char *path, uint32_t width, uint32_t height)
{
    memset(fb, 0, sizeof(*fb));
    fb->fd = -1;
    if (!width || !height || width > FB_MAX_SIDE || height > FB_MAX_SIDE)
        return -EINVAL;
    fb->hdr = (fb_file_header_t){
        .version = FB_FILE_VERSION,
        .format = FB_FORMAT_XRGB8888,
        .width = width,
        .height = height,
        .stride = width * 4,
        .data_offset = FB_FILE_DATA_OFFSET,
        .data_size = data_size(width * 4, height),
    };
    memcpy(fb->hdr.magic, FB_FILE_MAGIC, sizeof(fb->hdr.magic));
    fb->fd = path ? open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)
                  : memfd_create("vmmkit-framebuffer", MFD_CLOEXEC);
    if (fb->fd < 0)
        return -errno;
    int r = 0;
    fb_file_header_t h = fb->hdr;
    if (ftruncate(fb->fd, (off_t)(FB_FILE_DATA_OFFSET + h.data_size)) < 0 ||
        pwrite(fb->fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
        r = errno ? -errno : -EIO;
    if (r == 0) {
        fb->pixels = mmap(NULL, (size_t)fb->hdr.data_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                          fb->fd, FB_FILE_DATA_OFFSET);
        if (fb->pixels == MAP_FAILED) {
            fb->pixels = NULL;
            r = -errno;
        }
    }
    if (r < 0)
        fb_close(fb);
    return r;
}

int fb_open(fb_t *fb, const char *path)
{
    struct stat st;
    int r = 0;

    memset(fb, 0, sizeof(*fb));
    fb->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fb->fd < 0)
        return -errno;
    if (fstat(fb->fd, &st) < 0)
        r = -errno;
    else if (pread(fb->fd, &fb->hdr, sizeof(fb->hdr), 0) != (ssize_t)sizeof(fb->hdr))
        r = -EINVAL;
    const fb_file_header_t *h = &fb->hdr;
    if (r == 0 &&
        (memcmp(h->magic, FB_FILE_MAGIC, sizeof(h->magic)) != 0 || h->version != FB_FILE_VERSION ||
         h->format != FB_FORMAT_XRGB8888 || !h->width || !h->height || h->width > FB_MAX_SIDE ||
         h->height > FB_MAX_SIDE || h->stride < h->width * 4 ||
         h->data_offset != FB_FILE_DATA_OFFSET || h->data_size < (uint64_t)h->stride * h->height ||
         (uint64_t)st.st_size < h->data_offset + h->data_size))
        r = -EINVAL;
    if (r == 0) {
        fb->pixels =
            mmap(NULL, (size_t)h->data_size, PROT_READ, MAP_SHARED, fb->fd, h->data_offset);
        if (fb->pixels == MAP_FAILED) {
            fb->pixels = NULL;
            r = -errno;
        }
    }
    if (r < 0)
        fb_close(fb);
    return r;
}

void fb_close(fb_t *fb)
{
    if (fb->pixels)
        munmap(fb->pixels, (size_t)fb->hdr.data_size);
    fb->pixels = NULL;
    if (fb->fd >= 0)
        close(fb->fd);
    fb->fd = -1;
}

/* libpng reports errors through longjmp; the message is kept for @err. */
struct png_failure {
    char *err;
    size_t errlen;
};

static void png_fail(png_structp png, png_const_charp msg)
{
    struct png_failure *f = png_get_error_ptr(png);

    snprintf(f->err, f->errlen, "PNG: %s", msg);
    png_longjmp(png, 1);
}

static void png_warn(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

int fb_write_png(const fb_t *fb, const char *path, char *err, size_t errlen)
{
    const fb_file_header_t *h = &fb->hdr;
    struct png_failure failure = {err, errlen};
    png_structp png = NULL;
    png_infop info = NULL;
    uint8_t *volatile row = malloc((size_t)h->width * 3);
    FILE *volatile f = fopen(path, "wb");
    volatile int r = 0;

    if (!f || !row) {
        r = -errno;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &failure, png_fail, png_warn);
    info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        r = -ENOMEM;
        snprintf(err, errlen, "PNG: out of memory");
        goto out;
    }
    if (setjmp(png_jmpbuf(png))) {
        r = -EIO;
        goto out;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, h->width, h->height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (uint32_t y = 0; y < h->height; y++) {
        const uint8_t *src = (const uint8_t *)fb->pixels + (size_t)y * h->stride;
        for (uint32_t x = 0; x < h->width; x++) {
            /* x8r8g8b8 little-endian: B, G, R, X in memory */
            row[3 * x] = src[4 * x + 2];
            row[3 * x + 1] = src[4 * x + 1];
            row[3 * x + 2] = src[4 * x];
        }
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
out:
    if (png)
        png_destroy_write_struct(&png, info ? &info : NULL);
    if (f && fclose(f) != 0 && r == 0) {
        r = -errno;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
    }
    free(row);
    if (r < 0)
        unlink(path);
    return r;
}
