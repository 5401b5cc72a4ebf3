/*
 * common.c - what every board checks and loads the same way: files,
 * disks, counts, the VM's creation (board_priv.h).
 *
 * Pure file work but for board_create_vm(): it builds on every host, so
 * the same checks (and their messages) run wherever vmmkit is started.
 * Images are never kept in VMM memory: they are read from their files
 * straight into guest RAM at every boot, so a reboot boots the files as
 * they are then.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "board/board_priv.h"

int board_errorf(char *err, size_t errlen, int ret, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return ret;
}

int board_open_file(const char *what, const char *path, uint64_t *size, char *err, size_t errlen)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return board_errorf(err, errlen, -errno, "%s %s: %s", what, path, strerror(errno));
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return board_errorf(err, errlen, -e, "%s %s: %s", what, path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return board_errorf(err, errlen, -EINVAL, "%s %s: not a regular file", what, path);
    }
    *size = (uint64_t)st.st_size;
    return fd;
}

int board_pread_all(int fd, void *buf, size_t len, off_t off)
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

int board_load_file(vm_t *vm, const char *what, const char *path, uint64_t gpa, uint64_t size,
                    char *err, size_t errlen)
{
    uint64_t now;
    void *dst;
    int fd = board_open_file(what, path, &now, err, errlen);
    int r;

    if (fd < 0)
        return fd;
    if (now != size) {
        close(fd);
        return board_errorf(err, errlen, -EINVAL,
                            "%s %s: changed size since start (%" PRIu64 " bytes, was %" PRIu64 ")",
                            what, path, now, size);
    }
    dst = gpa_to_hva(vm, gpa, size);
    r = dst ? board_pread_all(fd, dst, size, 0) : -EFAULT;
    close(fd);
    if (r < 0)
        return board_errorf(err, errlen, r, "%s %s: cannot load: %s", what, path,
                            r == -EIO ? "file ended early" : strerror(-r));
    return 0;
}

/*
 * A --disk must open the way the device will open it (read-write unless
 * read-only), be a regular file or a block device and hold at least one
 * sector.  The device opens it again; this only turns mistakes into
 * one-line errors before anything starts.
 */
static int check_disk(const board_disk_t *d, char *err, size_t errlen)
{
    struct stat st;

    if (stat(d->path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
        return board_errorf(err, errlen, -EINVAL, "--disk %s: not a regular file or block device",
                            d->path);
    int fd = open(d->path, (d->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == EACCES || e == EROFS || e == EPERM)
            return board_errorf(err, errlen, -e, "--disk %s: %s%s", d->path, strerror(e),
                                d->read_only ? "" : " (add ,ro for a read-only disk)");
        return board_errorf(err, errlen, -e, "--disk %s: %s", d->path, strerror(e));
    }
    int r = fstat(fd, &st) < 0 ? -errno : 0;
    close(fd);
    if (r < 0)
        return board_errorf(err, errlen, r, "--disk %s: %s", d->path, strerror(-r));
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
        return board_errorf(err, errlen, -EINVAL, "--disk %s: not a regular file or block device",
                            d->path);
    if (S_ISREG(st.st_mode) && st.st_size < 512)
        return board_errorf(err, errlen, -EINVAL,
                            "--disk %s: %lld bytes, smaller than one 512-byte sector", d->path,
                            (long long)st.st_size);
    return 0;
}

int board_check_common(const board_config_t *cfg, const board_layout_t *lay, uint64_t *initrd_size,
                       char *err, size_t errlen)
{
    int r;

    *initrd_size = 0;
    if (cfg->initrd) {
        int fd = board_open_file("--initrd", cfg->initrd, initrd_size, err, errlen);
        if (fd < 0)
            return fd;
        close(fd);
        if (*initrd_size == 0)
            return board_errorf(err, errlen, -EINVAL, "--initrd %s: empty file", cfg->initrd);
    }
    if (cfg->nr_disks > BOARD_MAX_DISKS)
        return board_errorf(err, errlen, -EINVAL, "%u disks: at most %u", cfg->nr_disks,
                            BOARD_MAX_DISKS);
    for (unsigned int i = 0; i < cfg->nr_disks; i++) {
        r = check_disk(&cfg->disks[i], err, errlen);
        if (r < 0)
            return r;
    }
    if (cfg->nr_nets > BOARD_MAX_NETS)
        return board_errorf(err, errlen, -EINVAL, "%u NICs: at most %u", cfg->nr_nets,
                            BOARD_MAX_NETS);
    return board_regions_check(cfg, lay, err, errlen);
}

int board_create_vm(vm_t **vm, const char *sim, char *err, size_t errlen)
{
    int r = vm_create(vm, "vm0");

    switch (r) {
    case 0:
        return 0;
    case -ENOENT:
        return board_errorf(err, errlen, r,
                            "/dev/kvm: not found: this host has no KVM (on a "
                            "machine without it, run vmmkit in %s)",
                            sim);
    case -EACCES:
    case -EPERM:
        return board_errorf(err, errlen, r,
                            "/dev/kvm: permission denied (join the kvm group "
                            "or run as root)");
    default:
        return board_errorf(err, errlen, r, "/dev/kvm: the hypervisor refused to create a VM: %s",
                            strerror(-r));
    }
}
