/*
 * virt_images.c - the arm64 virt board's boot images: checking and loading.
 *
 * Pure file and layout work, no hypervisor: it builds on every host, so the
 * same checks (and their messages) run wherever vmmkit is started.  Images
 * are never kept in VMM memory: they are read from their files straight
 * into guest RAM at every boot, so a reboot boots the files as they are then.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libfdt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmmkit/arm64_image.h>
#include <vmmkit/arm64_virt.h>

#include "arch/arm64/virt_priv.h"

int virt_errorf(char *err, size_t errlen, int ret, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return ret;
}

/* Open @path for reading as a regular file; store its size.  -errno on failure. */
int virt_open_file(const char *what, const char *path, uint64_t *size, char *err, size_t errlen)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return virt_errorf(err, errlen, -errno, "%s %s: %s", what, path, strerror(errno));
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return virt_errorf(err, errlen, -e, "%s %s: %s", what, path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return virt_errorf(err, errlen, -EINVAL, "%s %s: not a regular file", what, path);
    }
    *size = (uint64_t)st.st_size;
    return fd;
}

/* Read exactly @len bytes at @off; -EIO (short) or -errno. */
int virt_pread_all(int fd, void *buf, size_t len, off_t off)
{
    uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = pread(fd, p, len, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO;
        p += n;
        off += n;
        len -= (size_t)n;
    }
    return 0;
}

static int check_kernel(const char *path, arm64_image_info_t *info, uint64_t *size, char *err,
                        size_t errlen)
{
    uint8_t hdr[ARM64_IMAGE_HEADER_SIZE];
    int fd = virt_open_file("--kernel", path, size, err, errlen);
    int r;

    if (fd < 0)
        return fd;
    if (*size < sizeof(hdr)) {
        close(fd);
        return virt_errorf(err, errlen, -EINVAL,
                           "--kernel %s: truncated: %" PRIu64 " bytes, shorter than an arm64 "
                           "Image header (%zu bytes)",
                           path, *size, sizeof(hdr));
    }
    r = virt_pread_all(fd, hdr, sizeof(hdr), 0);
    close(fd);
    if (r < 0)
        return virt_errorf(err, errlen, r, "--kernel %s: %s", path, strerror(-r));
    /* The parser sees the header and the real file size. */
    r = arm64_image_parse_header(hdr, sizeof(hdr), *size, info);
    if (r < 0)
        return virt_errorf(err, errlen, -EINVAL, "--kernel %s: %s", path, arm64_image_strerror(r));
    return 0;
}

static int check_dtb(const char *path, uint64_t *size, char *err, size_t errlen)
{
    struct fdt_header hdr;
    int fd = virt_open_file("--dtb", path, size, err, errlen);
    int r;

    if (fd < 0)
        return fd;
    if (*size > ARM64_VIRT_DTB_MAX) {
        close(fd);
        return virt_errorf(err, errlen, -EFBIG,
                           "--dtb %s: %" PRIu64 " bytes, more than the %u "
                           "the arm64 boot protocol allows",
                           path, *size, ARM64_VIRT_DTB_MAX);
    }
    r = *size >= sizeof(hdr) ? virt_pread_all(fd, &hdr, sizeof(hdr), 0) : -EIO;
    close(fd);
    if (r < 0 || fdt_magic(&hdr) != FDT_MAGIC)
        return virt_errorf(err, errlen, -EINVAL, "--dtb %s: not a device tree blob (bad magic)",
                           path);
    if (fdt_totalsize(&hdr) > *size)
        return virt_errorf(err, errlen, -EINVAL,
                           "--dtb %s: truncated: %" PRIu64 " bytes, the header says %u", path,
                           *size, fdt_totalsize(&hdr));
    return 0;
}

/*
 * A --disk must open the way the device will open it (read-write unless
 * read-only), be a regular file or a block device and hold at least one
 * sector.  The device opens it again; this only turns mistakes into
 * one-line errors before anything starts.
 */
static int check_disk(const arm64_virt_disk_t *d, char *err, size_t errlen)
{
    struct stat st;

    if (stat(d->path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
        return virt_errorf(err, errlen, -EINVAL, "--disk %s: not a regular file or block device",
                           d->path);
    int fd = open(d->path, (d->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == EACCES || e == EROFS || e == EPERM)
            return virt_errorf(err, errlen, -e, "--disk %s: %s%s", d->path, strerror(e),
                               d->read_only ? "" : " (add ,ro for a read-only disk)");
        return virt_errorf(err, errlen, -e, "--disk %s: %s", d->path, strerror(e));
    }
    int r = fstat(fd, &st) < 0 ? -errno : 0;
    close(fd);
    if (r < 0)
        return virt_errorf(err, errlen, r, "--disk %s: %s", d->path, strerror(-r));
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
        return virt_errorf(err, errlen, -EINVAL, "--disk %s: not a regular file or block device",
                           d->path);
    if (S_ISREG(st.st_mode) && st.st_size < 512)
        return virt_errorf(err, errlen, -EINVAL,
                           "--disk %s: %lld bytes, smaller than one 512-byte sector", d->path,
                           (long long)st.st_size);
    return 0;
}

int virt_plan(const arm64_virt_config_t *cfg, virt_plan_t *plan, char *err, size_t errlen)
{
    uint64_t dtb_size = 0;
    int r;

    memset(plan, 0, sizeof(*plan));
    r = check_kernel(cfg->kernel, &plan->image, &plan->kernel_size, err, errlen);
    if (r < 0)
        return r;
    if (cfg->initrd) {
        int fd = virt_open_file("--initrd", cfg->initrd, &plan->initrd_size, err, errlen);
        if (fd < 0)
            return fd;
        close(fd);
        if (plan->initrd_size == 0)
            return virt_errorf(err, errlen, -EINVAL, "--initrd %s: empty file", cfg->initrd);
    }
    if (cfg->dtb) {
        r = check_dtb(cfg->dtb, &dtb_size, err, errlen);
        if (r < 0)
            return r;
        /* Room to add /chosen properties to the user's tree. */
        plan->dtb_room = dtb_size + ARM64_VIRT_DTB_EXTRA;
    } else {
        plan->dtb_room = ARM64_VIRT_DTB_GENERATED_MAX;
    }
    if (cfg->nr_disks > ARM64_VIRT_MAX_DISKS)
        return virt_errorf(err, errlen, -EINVAL, "%u disks: at most %u", cfg->nr_disks,
                           ARM64_VIRT_MAX_DISKS);
    for (unsigned int i = 0; i < cfg->nr_disks; i++) {
        r = check_disk(&cfg->disks[i], err, errlen);
        if (r < 0)
            return r;
    }
    if (cfg->nr_nets > ARM64_VIRT_MAX_NETS)
        return virt_errorf(err, errlen, -EINVAL, "%u NICs: at most %u", cfg->nr_nets,
                           ARM64_VIRT_MAX_NETS);
    r = virt_regions_check(cfg, err, errlen);
    if (r < 0)
        return r;
    r = arm64_boot_layout(&plan->image, ARM64_VIRT_RAM_BASE, cfg->ram_size, plan->initrd_size,
                          plan->dtb_room, &plan->layout);
    if (r < 0) {
        char why[256];
        arm64_boot_layout_describe(r, &plan->layout, why, sizeof(why));
        if (r == -ARM64_IMAGE_E_NO_ROOM)
            return virt_errorf(err, errlen, -ENOSPC, "--mem %" PRIu64 "M is too small: %s",
                               cfg->ram_size >> 20, why);
        return virt_errorf(err, errlen, -EINVAL, "cannot lay out the boot images: %s", why);
    }
    return 0;
}

int arm64_virt_check(const arm64_virt_config_t *cfg, char *err, size_t errlen)
{
    virt_plan_t plan;

    return virt_plan(cfg, &plan, err, errlen);
}
