/*
 * test_virtio_blk.c - the virtio block device (src/virtio/blk.c) driven
 * like a guest would over hand-built rings in fake-backend RAM, with a real
 * image file (unlinked at once, reached through /proc/self/fd) and a real
 * io_uring: identity and config space, reads and writes of every chain
 * shape, many requests in flight, stalls and their resumption, FLUSH,
 * GET_ID, DISCARD and WRITE_ZEROES on the file, a read-only disk, requests
 * a hostile driver gets wrong, host failures (a file that shrank, a write
 * past RLIMIT_FSIZE), resets with requests in flight and a broken ring.
 *
 * Completions arrive on the I/O thread: the tests wait (with generous
 * timeouts, for slow emulated CPUs) for used entries, interrupts and
 * counters, and assume no order between them.  Fixtures without an I/O
 * thread complete requests only in virtio_blk_drain() or a reset.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <vmmkit/iothread.h>
#include <vmmkit/log.h>
#include <vmmkit/virtio_blk.h>

#include "fake_hv.h"
#include "virtio_guest.h"

#define KiB (1ull << 10)
#define MiB (1ull << 20)
#define RAM_BASE 0x40000000ull
#define RAM_SIZE (16 * MiB)
#define QSIZE 256u
#define DISK_SIZE (1 * MiB)
#define DISK_SECTORS (DISK_SIZE / 512u)
#define SECTOR 512u
#define WAIT_MS 10000 /* QEMU TCG runs these too */

#define F(bit) (1ull << (bit))
#define VERSION_1 F(VIRTIO_F_VERSION_1)
#define RW_FEATURES                                                                                \
    (VERSION_1 | F(VIRTIO_BLK_F_SIZE_MAX) | F(VIRTIO_BLK_F_SEG_MAX) | F(VIRTIO_BLK_F_BLK_SIZE) |   \
     F(VIRTIO_BLK_F_FLUSH) | F(VIRTIO_BLK_F_DISCARD) | F(VIRTIO_BLK_F_WRITE_ZEROES))
#define RO_FEATURES (VERSION_1 | F(VIRTIO_BLK_F_RO) | F(VIRTIO_BLK_F_FLUSH))

struct fixture {
    vm_t *vm;
    iothread_t *io; /* NULL: requests complete in virtio_blk_drain() or a reset */
    virtio_blk_t *blk;
    int fd; /* the test's own handle on the image */
    char path[64];
    struct vguest g;
};

/* One posted request. */
struct req {
    uint16_t head;
    uint64_t status; /* gpa of its status byte */
    uint64_t data;   /* gpa of its data, when in one piece */
};

static uint8_t pattern(uint64_t off)
{
    return (uint8_t)((off >> 9) * 31u + (off & 511u) + 1u);
}

/* An unlinked temporary file of @size bytes of pattern(); its fd. */
static int make_image(size_t size)
{
    const char *dir = getenv("TMPDIR");
    char name[256];
    uint8_t buf[4096];

    snprintf(name, sizeof(name), "%s/vmmkit-blk-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(name);
    assert_true(fd >= 0);
    unlink(name);
    for (size_t off = 0; off < size; off += sizeof(buf)) {
        size_t n = size - off < sizeof(buf) ? size - off : sizeof(buf);
        for (size_t i = 0; i < n; i++) {
            buf[i] = pattern(off + i);
        }
        assert_int_equal(pwrite(fd, buf, n, (off_t)off), (ssize_t)n);
    }
    return fd;
}

static struct fixture *fixture_new(bool with_io, bool read_only, const char *serial)
{
    vmm_log_set_level(VMM_LOG_ERR); /* the tests provoke warnings on purpose */
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->vm = fake_vm_create();
    assert_non_null(f->vm);
    assert_int_equal(vm_ram_add(f->vm, RAM_BASE, RAM_SIZE), 0);
    if (with_io) {
        f->io = iothread_create("blk-test");
        assert_non_null(f->io);
    }
    f->fd = make_image(DISK_SIZE);
    snprintf(f->path, sizeof(f->path), "/proc/self/fd/%d", f->fd);
    virtio_blk_config_t cfg = {
        .path = f->path, .read_only = read_only, .serial = serial, .io = f->io};
    assert_int_equal(virtio_blk_create(f->vm, 0, &cfg, &f->blk), 0);
    vg_init(&f->g, f->vm, virtio_blk_device(f->blk), RAM_BASE, RAM_SIZE);
    return f;
}

static int setup(void **state)
{
    *state = fixture_new(true, false, NULL);
    return 0;
}

static int setup_sync(void **state)
{
    *state = fixture_new(false, false, NULL);
    return 0;
}

static int setup_ro(void **state)
{
    *state = fixture_new(true, true, "serial-0123456789-abcdef");
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    virtio_blk_destroy(f->blk);
    if (f->io) {
        iothread_destroy(f->io);
    }
    vm_destroy(f->vm);
    close(f->fd);
    free(f);
    return 0;
}

static uint64_t bstat(struct fixture *f, virtio_blk_stat_t s)
{
    return virtio_blk_stat(f->blk, s);
}

static void bring_up(struct fixture *f, uint64_t features, bool indirect)
{
    assert_true(vg_negotiate(&f->g, features | (indirect ? F(VIRTIO_F_RING_INDIRECT_DESC) : 0)));
    vg_setup_queue(&f->g, 0, QSIZE);
    vg_driver_ok(&f->g);
    assert_int_equal(vg_status(&f->g) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
}

static void *hva(struct fixture *f, uint64_t gpa, size_t len)
{
    void *p = vg_hva(&f->g, gpa, len);
    assert_non_null(p);
    return p;
}

/* A 16-byte request header (5.2.6) in guest RAM. */
static uint64_t header(struct fixture *f, uint32_t type, uint64_t sector)
{
    uint64_t gpa = vg_alloc(&f->g, 16);
    uint8_t raw[16] = {0};
    uint32_t t = htole32(type);
    uint64_t s = htole64(sector);
    memcpy(raw, &t, 4);
    memcpy(raw + 8, &s, 8);
    memcpy(hva(f, gpa, 16), raw, 16);
    return gpa;
}

/* A status byte, preset to a value the device never writes. */
static uint64_t status_byte(struct fixture *f)
{
    uint64_t gpa = vg_alloc(&f->g, 1);
    *(uint8_t *)hva(f, gpa, 1) = 0xee;
    return gpa;
}

static uint8_t status_of(struct fixture *f, const struct req *r)
{
    return *(volatile uint8_t *)hva(f, r->status, 1);
}

/* Guest RAM of @len bytes, filled with @fill. */
static uint64_t buffer(struct fixture *f, size_t len, uint8_t fill)
{
    uint64_t gpa = vg_alloc(&f->g, len);
    assert_true(gpa != 0);
    memset(hva(f, gpa, len), fill, len);
    return gpa;
}

/* Header, one data buffer of @len bytes (writable for IN), status: the usual shape. */
static struct req post_rw(struct fixture *f, uint32_t type, uint64_t sector, uint32_t len)
{
    struct req r;
    bool in = type == VIRTIO_BLK_T_IN;
    struct vg_buf b[3];
    unsigned int n = 0;

    b[n++] = (struct vg_buf){header(f, type, sector), 16, false};
    r.data = buffer(f, len ? len : 1, in ? 0xcc : 0);
    if (len) {
        b[n++] = (struct vg_buf){r.data, len, in};
    }
    r.status = status_byte(f);
    b[n++] = (struct vg_buf){r.status, 1, true};
    r.head = vg_add_chain(&f->g, 0, b, n);
    return r;
}

/* A discard / write-zeroes segment (5.2.6). */
static void put_segment(uint8_t *p, uint64_t sector, uint32_t nr, uint32_t flags)
{
    uint64_t s = htole64(sector);
    uint32_t n = htole32(nr), fl = htole32(flags);
    memcpy(p, &s, 8);
    memcpy(p + 8, &n, 4);
    memcpy(p + 12, &fl, 4);
}

/* Header, @nseg segments {sector, nr, flags}, status. */
static struct req post_segments(struct fixture *f, uint32_t type, const uint64_t (*segs)[3],
                                unsigned int nseg)
{
    struct req r;
    r.data = vg_alloc(&f->g, 16u * nseg);
    for (unsigned int i = 0; i < nseg; i++) {
        put_segment(hva(f, r.data + 16u * i, 16), segs[i][0], (uint32_t)segs[i][1],
                    (uint32_t)segs[i][2]);
    }
    r.status = status_byte(f);
    struct vg_buf b[3] = {
        {header(f, type, 0), 16, false}, {r.data, 16u * nseg, false}, {r.status, 1, true}};
    r.head = vg_add_chain(&f->g, 0, b, 3);
    return r;
}

/* Wait up to WAIT_MS for a used entry. */
static bool wait_used(struct fixture *f, uint32_t *id, uint32_t *len)
{
    for (int i = 0; i < WAIT_MS; i++) {
        if (vg_get_used(&f->g, 0, id, len)) {
            return true;
        }
        usleep(1000);
    }
    return false;
}

static bool wait_stat(struct fixture *f, virtio_blk_stat_t s, uint64_t n)
{
    for (int i = 0; i < WAIT_MS; i++) {
        if (bstat(f, s) >= n) {
            return true;
        }
        usleep(1000);
    }
    return false;
}

static bool wait_irqs(struct fixture *f, int n)
{
    for (int i = 0; i < WAIT_MS; i++) {
        if (vg_used_irqs(&f->g, 0) >= n) {
            return true;
        }
        usleep(1000);
    }
    return false;
}

/* The next used entry is @r's, with @len bytes written and status @status. */
static void expect_done(struct fixture *f, const struct req *r, uint32_t len, uint8_t status)
{
    uint32_t id = 0xffff, got = 0;
    if (!f->io) {
        virtio_blk_drain(f->blk);
    }
    assert_true(wait_used(f, &id, &got));
    assert_int_equal(id, r->head);
    assert_int_equal(got, len);
    assert_int_equal(status_of(f, r), status);
}

/* Kick, then expect @r's completion. */
static void kick_expect(struct fixture *f, const struct req *r, uint32_t len, uint8_t status)
{
    vg_kick(&f->g, 0);
    expect_done(f, r, len, status);
}

static bool is_pattern(const uint8_t *p, uint64_t off, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != pattern(off + i)) {
            return false;
        }
    }
    return true;
}

static bool all_bytes(const uint8_t *p, uint8_t v, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != v) {
            return false;
        }
    }
    return true;
}

/* Whether the file is @v over [@off, @off + @len). */
static bool file_is(struct fixture *f, uint64_t off, size_t len, uint8_t v)
{
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    assert_int_equal(pread(f->fd, buf, len, (off_t)off), (ssize_t)len);
    bool ok = all_bytes(buf, v, len);
    free(buf);
    return ok;
}

static bool file_is_pattern(struct fixture *f, uint64_t off, size_t len)
{
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    assert_int_equal(pread(f->fd, buf, len, (off_t)off), (ssize_t)len);
    bool ok = is_pattern(buf, off, len);
    free(buf);
    return ok;
}

/*
 * Whether this file system punches holes that show (fewer blocks, SEEK_HOLE
 * finds them): ext4, xfs, btrfs and tmpfs do; some do not, and tmpfs with
 * huge pages keeps the page.  The hole tests skip where they would not.
 */
static bool can_punch(struct fixture *f)
{
    int fd = make_image(1 * MiB);
    struct stat before, after;
    bool ok =
        fstat(fd, &before) == 0 &&
        fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 128 * KiB, 128 * KiB) == 0 &&
        fstat(fd, &after) == 0 && after.st_blocks < before.st_blocks &&
        lseek(fd, 0, SEEK_HOLE) == (off_t)(128 * KiB);
    close(fd);
    return ok;
}

static uint64_t blocks(struct fixture *f)
{
    struct stat st;
    assert_int_equal(fstat(f->fd, &st), 0);
    return (uint64_t)st.st_blocks;
}

static uint32_t cfg32(virtio_device_t *vdev, uint32_t off)
{
    uint32_t v = 0;
    pthread_mutex_lock(&vdev->lock);
    virtio_device_config_read(vdev, off, &v, 4);
    pthread_mutex_unlock(&vdev->lock);
    return le32toh(v);
}

static uint8_t cfg8(virtio_device_t *vdev, uint32_t off)
{
    uint8_t v = 0;
    pthread_mutex_lock(&vdev->lock);
    virtio_device_config_read(vdev, off, &v, 1);
    pthread_mutex_unlock(&vdev->lock);
    return v;
}

/* --- identity ---------------------------------------------------------------- */

static void test_identity(void **state)
{
    struct fixture *f = *state;
    virtio_device_t *vdev = virtio_blk_device(f->blk);
    uint64_t cap = 0;

    assert_int_equal(vdev->ops->device_id, VIRTIO_ID_BLOCK);
    assert_int_equal(vdev->ops->num_queues, 1);
    assert_int_equal(vdev->ops->queue_max_size, VIRTIO_BLK_QUEUE_SIZE);
    assert_string_equal(vdev->name, "virtio-blk0");
    assert_int_equal(vdev->device_features & (RW_FEATURES | F(VIRTIO_BLK_F_RO)), RW_FEATURES);
    assert_int_equal(virtio_blk_capacity(f->blk), DISK_SECTORS);

    pthread_mutex_lock(&vdev->lock);
    virtio_device_config_read(vdev, 0, &cap, 8);
    pthread_mutex_unlock(&vdev->lock);
    assert_int_equal(le64toh(cap), DISK_SECTORS);
    assert_int_equal(cfg32(vdev, 8), VIRTIO_BLK_SIZE_MAX);
    assert_int_equal(cfg32(vdev, 12), VIRTIO_BLK_SEG_MAX);
    assert_int_equal(cfg32(vdev, 16), 0); /* geometry: not offered */
    assert_int_equal(cfg32(vdev, 20), 512);
    assert_int_equal(cfg32(vdev, 24), 0); /* topology: not offered */
    assert_int_equal(cfg8(vdev, 32), 0);  /* writeback */
    assert_int_equal(cfg32(vdev, 36), VIRTIO_BLK_MAX_DISCARD_SECTORS);
    assert_int_equal(cfg32(vdev, 40), VIRTIO_BLK_MAX_DISCARD_SEG);
    uint32_t align = cfg32(vdev, 44);
    assert_true(align >= 1 && (align & (align - 1)) == 0);
    assert_int_equal(cfg32(vdev, 48), VIRTIO_BLK_MAX_DISCARD_SECTORS);
    assert_int_equal(cfg32(vdev, 52), VIRTIO_BLK_MAX_DISCARD_SEG);
    assert_int_equal(cfg8(vdev, 56), 1); /* write_zeroes_may_unmap */
    assert_int_equal(cfg8(vdev, 57) | cfg8(vdev, 58) | cfg8(vdev, 59), 0);
    assert_int_equal(cfg32(vdev, VIRTIO_BLK_CONFIG_SIZE), 0); /* past the end */

    /* Read-only config space: writes are dropped and counted by the common layer. */
    uint32_t v = 0x12345678;
    pthread_mutex_lock(&vdev->lock);
    virtio_device_config_write(vdev, 32, &v, 1);
    pthread_mutex_unlock(&vdev->lock);
    assert_int_equal(cfg8(vdev, 32), 0);
    assert_int_equal(virtio_device_error_count(vdev, VIRTIO_E_CONFIG_READONLY), 1);

    assert_string_equal(virtio_blk_stat_name(VIRTIO_BLK_STAT_OUT_OF_RANGE), "out-of-range");
    assert_string_equal(virtio_blk_stat_name(VIRTIO_BLK_STAT_COUNT), "unknown");
    assert_int_equal(virtio_blk_stat(f->blk, VIRTIO_BLK_STAT_COUNT), 0);
    virtio_blk_destroy(NULL);
}

static void test_create_errors(void **state)
{
    struct fixture *f = *state;
    virtio_blk_t *b = NULL;
    virtio_blk_config_t cfg = {.path = "/nonexistent/vmmkit-disk.img", .io = f->io};

    assert_int_equal(virtio_blk_create(f->vm, 1, &cfg, &b), -ENOENT);
    assert_int_equal(virtio_blk_create(NULL, 1, &cfg, &b), -EINVAL);
    assert_int_equal(virtio_blk_create(f->vm, 1, NULL, &b), -EINVAL);
    assert_int_equal(virtio_blk_create(f->vm, 1, &cfg, NULL), -EINVAL);
    cfg.path = NULL;
    assert_int_equal(virtio_blk_create(f->vm, 1, &cfg, &b), -EINVAL);
    cfg.path = "/";
    cfg.read_only = true;
    assert_int_equal(virtio_blk_create(f->vm, 1, &cfg, &b), -EISDIR);
    cfg.path = "/dev/null";
    assert_int_equal(virtio_blk_create(f->vm, 1, &cfg, &b), -ENOTBLK);

    /* A size that is not a multiple of 512 loses its tail. */
    int fd = make_image(4 * KiB + 100);
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    cfg.path = path;
    cfg.read_only = false;
    assert_int_equal(virtio_blk_create(f->vm, 1, &cfg, &b), 0);
    assert_int_equal(virtio_blk_capacity(b), 8);
    assert_string_equal(virtio_blk_device(b)->name, "virtio-blk1");
    virtio_blk_destroy(b);
    close(fd);
}

static void test_ro_identity(void **state)
{
    struct fixture *f = *state;
    virtio_device_t *vdev = virtio_blk_device(f->blk);

    assert_true(vdev->device_features & F(VIRTIO_BLK_F_RO));
    assert_false(vdev->device_features & F(VIRTIO_BLK_F_DISCARD));
    assert_false(vdev->device_features & F(VIRTIO_BLK_F_WRITE_ZEROES));
    assert_true(vdev->device_features & F(VIRTIO_BLK_F_FLUSH));
    assert_int_equal(cfg32(vdev, 36), 0);
    assert_int_equal(cfg32(vdev, 48), 0);
    assert_int_equal(cfg8(vdev, 56), 0);
}

/* --- reads and writes ----------------------------------------------------------- */

static void test_read(void **state)
{
    struct fixture *f = *state;
    bring_up(f, RW_FEATURES, false);

    struct req r = post_rw(f, VIRTIO_BLK_T_IN, 10, 4096);
    kick_expect(f, &r, 4096 + 1, VIRTIO_BLK_S_OK);
    assert_true(is_pattern(hva(f, r.data, 4096), 10 * SECTOR, 4096));
    assert_true(wait_irqs(f, 1));
    assert_true(wait_stat(f, VIRTIO_BLK_STAT_BYTES_READ, 4096));
    assert_int_equal(bstat(f, VIRTIO_BLK_STAT_READS), 1);
    assert_int_equal(bstat(f, VIRTIO_BLK_STAT_IO_ERRORS), 0);

    /* The last sector, and an empty read at the very end. */
    r = post_rw(f, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, SECTOR);
    kick_expect(f, &r, SECTOR + 1, VIRTIO_BLK_S_OK);
    assert_true(is_pattern(hva(f, r.data, SECTOR), DISK_SIZE - SECTOR, SECTOR));
    r = post_rw(f, VIRTIO_BLK_T_IN, DISK_SECTORS, 0);
    kick_expect(f, &r, 1, VIRTIO_BLK_S_OK);
}

static void test_write(void **state)
{
    struct fixture *f = *state;
    bring_up(f, RW_FEATURES, false);

    struct req w = post_rw(f, VIRTIO_BLK_T_OUT, 3, 2 * SECTOR);
    memset(hva(f, w.data, 2 * SECTOR), 0x5a, 2 * SECTOR);
    kick_expect(f, &w, 1, VIRTIO_BLK_S_OK);
    assert_true(file_is(f, 3 * SECTOR, 2 * SECTOR, 0x5a));
    assert_true(file_is_pattern(f, 2 * SECTOR, SECTOR));
    assert_true(file_is_pattern(f, 5 * SECTOR, SECTOR));
    assert_true(wait_stat(f, VIRTIO_BLK_STAT_BYTES_WRITTEN, 2 * SECTOR));
    assert_int_equal(bstat(f, VIRTIO_BLK_STAT_WRITES), 1);

    /* Read it back through the device. */
    struct req r = post_rw(f, VIRTIO_BLK_T_IN, 3, 2 * SECTOR);
    kick_expect(f, &r, 2 * SECTOR + 1, VIRTIO_BLK_S_OK);
    assert_true(all_bytes(hva(f, r.data, 2 * SECTOR), 0x5a, 2 * SECTOR));
}

/* Without FLUSH negotiated, writes and write-zeroes are made stable before they complete. */
static void test_writethrough(void **state)
{
    struct fixture *f = *state;
    bring_up(f, RW_FEATURES & ~F(VIRTIO_BLK_F_FLUSH), false);

    struct req w = post_rw(f, VIRTIO_BLK_T_OUT, 100, 4096);
    memset(hva(f, w.data, 4096), 0x77, 4096);
    kick_expect(f, &w, 1, VIRTIO_BLK_S_OK);
    assert_true(file_is(f, 100 * SECTOR, 4096, 0x77));

    const uint64_t seg[1][3] = {{100, 8, 0}};
    struct req z = post_segments(f, VIRTIO_BLK_T_WRITE_ZEROES, seg, 1);
    kick_expect(f, &z, 1, VIRTIO_BLK_S_OK);
    assert_true(file_is(f, 100 * SECTOR, 4096, 0));
    /* A FLUSH is still served. */
    struct req fl = post_rw(f, VIRTIO_BLK_T_FLUSH, 0, 0);
    kick_expect(f, &fl, 1, VIRTIO_BLK_S_OK);
}

/* Data in several buffers, the header split in two. */
static void test_multi_buffer(void **state)
{
    struct fixture *f = *state;
    bring_up(f, RW_FEATURES, false);

    /* IN: 512 + 1024 + 512 bytes of data, the header in 8 + 8 bytes. */
    uint64_t h = header(f, VIRTIO_BLK_T_IN, 40);
    uint64_t d[3] = {buffer(f, 512, 0), buffer(f, 1024, 0), buffer(f, 512, 0)};
    struct req r = {.status = status_byte(f)};
    struct vg_buf b[6] = {{h, 8, false},      {h + 8, 8, false}, {d[0], 512, true},
                          {d[1], 1024, true}, {d[2], 512, true}, {r.status, 1, true}};
    r.head = vg_add_chain(&f->g, 0, b, 6);
    kick_expect(f, &r, 2048 + 1, VIRTIO_BLK_S_OK);
    assert_true(is_pattern(hva(f, d[0], 512), 40 * SECTOR, 512));
    assert_true(is_pattern(hva(f, d[1], 1024), 41 * SECTOR, 1024));
    assert_true(is_pattern(hva(f, d[2], 512), 43 * SECTOR, 512));

    /* OUT: 3 data buffers, an empty buffer among them. */
    h = header(f, VIRTIO_BLK_T_OUT, 60);
    uint64_t o[3] = {buffer(f, 1024, 0x11), buffer(f, 0, 0), buffer(f, 512, 0x22)};
    struct req w = {.status = status_byte(f)};
    struct vg_buf wb[5] = {{h, 16, false},
                           {o[0], 1024, false},
                           {o[1], 0, false},
                           {o[2], 512, false},
                           {w.status, 1, true}};
    w.head = vg_add_chain(&f->g, 0, wb, 5);
    kick_expect(f, &w, 1, VIRTIO_BLK_S_OK);
    assert_true(file_is(f, 60 * SECTOR, 1024, 0x11));
    assert_true(file_is(f, 62 * SECTOR, 512, 0x22));
}

/* The header in the same buffer as the data; the status in the same buffer as the data. */
static void test_shared_buffers(void **state)
{
    struct fixture *f = *state;
    bring_up(f, RW_FEATURES, false);

    /* OUT: one readable buffer of header + 1024 bytes. */
    uint64_t hb = vg_alloc(&f->g, 16 + 1024);
    uint64_t h = header(f, VIRTIO_BLK_T_OUT, 200);
    memcpy(hva(f, hb, 16), hva(f, h, 16), 16);
    memset(hva(f, hb + 16, 1024), 0x3c, 1024);
    struct req w = {.status = status_byte(f)};
    struct vg_buf wb[2] = {{hb, 16 + 1024, false}, {w.status, 1, true}};
    w.head = vg_add_chain(&f->g, 0, wb, 2);
    kick_expect(f, &w, 1, VIRTIO_BLK_S_OK);
    assert_true(file_is(f, 200 * SECTOR, 1024, 0x3c));
    assert_true(file_is_pattern(f, 202 * SECTOR, SECTOR));

    /* IN: one writable buffer of 1024 bytes of data + the status byte. */
    uint64_t db = buffer(f, 1024 + 1, 0xcc);
    struct req r = {.status = db + 1024};
    struct vg_buf rb[2] = {{header(f, VIRTIO_BLK_T_IN, 200), 16, false}, {db, 1024 + 1, true}};
    r.head = vg_add_chain(&f->g, 0, rb, 2);
    kick_expect(f, &r, 1024 + 1, VIRTIO_BLK_S_OK);
    assert_true(all_bytes(hva(f, db, 1024), 0x3c, 1024));

    /* IN: the header and a few data bytes share a buffer; readable data is ignored. */
    uint64_t hx = vg_alloc(&f->g, 32);
    memcpy(hva(f, hx, 16), hva(f, header(f, VIRTIO_BLK_T_IN, 0), 16), 16);
    uint64_t d2 = buffer(f, 512 + 1, 0);
    struct req r2 = {.status = d2 + 512};
    struct vg_buf xb[2] = {{hx, 32, false}, {d2, 512 + 1, true}};
    r2.head = vg_add_chain(&f->g, 0, xb, 2);
    kick_expect(f, &r2, 512 + 1, VIRTIO_BLK_S_OK);
    assert_true(is_pattern(hva(f, d2, 512), 0, 512));
}

/* 64 reads and then 64 writes in flight at once; completions in any order. */
static void test_many_in_flight(void **state)
{
    struct fixture *f = *state;
    enum { N = 64, LEN = 8 * KiB };
    struct req r[N];
    bool seen[N] = {false};
    bring_up(f, RW_FEATURES, false);

    for (int i = 0; i < N; i++) {
        r[i] = post_rw(f, VIRTIO_BLK_T_IN, (uint64_t)i * 32u, LEN);
    }
    vg_kick(&f->g, 0);
    for (int n = 0; n < N; n++) {
        uint32_t id = 0, len = 0;
        assert_true(wait_used(f, &id, &len));
        int i = 0;
        while (i < N && r[i].head != id) {
            i++;
        }
        assert_true(i < N);
        assert_false(seen[i]);
        seen[i] = true;
        assert_int_equal(len, LEN + 1);
        assert_int_equal(status_of(f, &r[i]), VIRTIO_BLK_S_OK);
        assert_true(is_pattern(hva(f, r[i].data, LEN), (uint64_t)i * 32u * SECTOR, LEN));
    }
    /* One kick took all 64 before the I/O thread could reap any. */
    assert_int_equal(bstat(f, VIRTIO_BLK_STAT_IN_FLIGHT_PEAK), N);
    assert_true(wait_stat(f, VIRTIO_BLK_STAT_BYTES_READ, (uint64_t)N * LEN));

    for (int i = 0; i < N; i++) {
        r[i] = post_rw(f, VIRTIO_BLK_T_OUT, (uint64_t)i * 32u, LEN);
        memset(hva(f, r[i].data, LEN), (uint8_t)(i + 1), LEN);
    }
    vg_kick(&f->g, 0);
    for (int n = 0; n < N; n++) {
        uint32_t id = 0, len = 0;
        assert_true(wait_used(f, &id, &len));
        assert_int_equal(len, 1);
    }
    for (int i = 0; i < N; i++) {
        assert_int_equal(status_of(f, &r[i]), VIRTIO_BLK_S_OK);
        assert_true(file_is(f, (uint64_t)i * 32u * SECTOR, LEN, (uint8_t)(i + 1)));
    }
    assert_true(wait_stat(f, VIRTIO_BLK_STAT_BYTES_WRITTEN, (uint64_t)N * LEN));
}

/* A descriptor of an indirect table at @table (2.7.5.3). */
static void put_desc(struct fixture *f, uint64_t gpa, uint64_t addr, uint32_t len, uint16_t flags,
                     uint16_t next)
{
    uint8_t raw[16];
    uint64_t a = htole64(addr);
    uint32_t l = htole32(len);
    uint16_t fl = htole16(flags), nx = htole16(next);
    memcpy(raw, &a, 8);
    memcpy(raw + 8, &l, 4);
    memcpy(raw + 12, &fl, 2);
    memcpy(raw + 14, &nx, 2);
    memcpy(hva(f, gpa, 16), raw, 16);
}

/* Publish @n buffers as one indirect descriptor: one ring entry per request. */
static uint16_t add_indirect(struct fixture *f, const struct vg_buf *b, unsigned int n)
{
    struct vg_queue *q = &f->g.q[0];
    uint64_t table = vg_alloc(&f->g, 16u * n);
    for (unsigned int i = 0; i < n; i++) {
        uint16_t flags =
            (b[i].writable ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0);
        put_desc(f, table + 16u * i, b[i].gpa, b[i].len, flags, (uint16_t)(i + 1));
    }
    uint16_t d = q->next_desc;
    q->next_desc = (uint16_t)((d + 1) % q->size);
    vg_set_desc(&f->g, 0, d, table, 16u * n, VIRTQ_DESC_F_INDIRECT, 0);
    vg_avail(&f->g, 0, d);
    return d;
}

/* More requests than slots: the device stops at VIRTIO_BLK_QUEUE_DEPTH and resumes. */
static void test_stall_on_slots(void **state)
{
    struct fixture *f = *state; /* no I/O thread: nothing completes until the drain */
    enum { N = 200 };
    static struct req r[N];
    bring_up(f, RW_FEATURES, true);

    for (int i = 0; i < N; i++) {
        r[i].status = status_byte(f);
        struct vg_buf b[2] = {{header(f, VIRTIO_BLK_T_FLUSH, 0), 16, false},
                              {r[i].status, 1, true}};
        r[i].head = add_indirect(f, b, 2);
    }
    vg_kick(&f->g, 0);
    assert_int_equal(vg_used_idx(&f->g, 0), 0);
    assert_int_equal(bstat(f, VIRTIO_BLK_STAT_IN_FLIGHT_PEAK), VIRTIO_BLK_QUEUE_DEPTH);
    assert_int_equal(bstat(f, VIRTIO_BLK_STAT_STALLS), 1);
    assert_int_equal(bstat(f, VIRTIO_BLK_STAT_FLUSHES), VIRTIO_BLK_QUEUE_DEPTH);

    assert_int_equal(virtio_blk_drain(f->blk), N);
    assert_int_equal(vg_used_idx(&f->g, 0), N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(status_of(f, &r[i]), VIRTIO_BLK_S_OK);
    }
    assert_int_equal(bstat(f, VIRTIO_BLK_STAT_FLUSHES), N);
    assert_true(vg_used_irqs(&f->g, 0) >= 1);
}

/* Discards of 16 segments fill the io_uring before the slots run out. */
static void test_stall_on_ring(void **state)
{
    struct fixture *f = *state;
    enum { N = 20 };
    struct req r[N];
    uint64_t segs[VIRTIO_BLK_MAX_DISCARD_SEG][3];
    bring_up(f, RW_FEATURES, false);

    for (int i = 0; i < N; i++) {
        for (unsigned int s = 0; s < VIRTIO_BLK_MAX_DISCARD_SEG; s++) {
            segs[s][0] = (uint64_t)(i * 16 + (int)s) * 4u; /* 4 sectors each */
            segs[s][1] = 4;
            segs[s][2] = 0;
        }
        r[i] = post_segments(f, VIRTIO_BLK_T_DISCARD, (const uint64_t(*)[3])segs,
                             VIRTIO_BLK_MAX_DISCARD_SEG);
    }
    vg_kick(&f->g, 0);
    assert_int_equal(bstat(f, VIRTIO_BLK_STAT_DISCARDS), 16); /* 16 x 16 operations */
    assert_int_equal(bstat(f, VIRTIO_BLK_STAT_STALLS), 1);
    assert_int_equal(virtio_blk_drain(f->blk), N);
    assert_int_equal(vg_used_idx(&f->g, 0), N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(status_of(f, &r[i]), VIRTIO_BLK_S_OK);
    }
    assert_int_equal(bstat(f, VIRTIO_BLK_STAT_DISCARDS), N);
}

/* --- other requests ----------------------------------------------------------- */

static void test_flush(void **state)
{
    struct fixture *f = *state;
    bring_up(f, RW_FEATURES, false);

    struct req r = post_rw(f, VIRTIO_BLK_T_FLUSH, 0, 0);
    kick_expect(f, &r, 1, VIRTIO_BLK_S_OK);
    /* With (ignored) data, and a sector the driver should have left 0. */
    r = post_rw(f, VIRTIO_BLK_T_FLUSH, 5, SECTOR);
    kick_expect(f, &r, 1, VIRTIO_BLK_S_OK);
    assert_true(wait_stat(f, VIRTIO_BLK_STAT_FLUSHES, 2));
    assert_int_equal(bstat(f, VIRTIO_BLK_STAT_IO_ERRORS), 0);
}

static void test_get_id(void **state)
{
    struct fixture *f = *state;
    bring_up(f, RW_FEATURES, false);

    /* 20 writable bytes for the ID, then the status. */
    uint64_t id = buffer(f, VIRTIO_BLK_ID_BYTES, 0xaa);
    struct req g = {.status = status_byte(f)};
    struct vg_buf b[3] = {{header(f, VIRTIO_BLK_T_GET_ID, 0), 16, false},
                          {id, VIRTIO_BLK_ID_BYTES, true},
                          {g.status, 1, true}};
    g.head = vg_add_chain(&f->g, 0, b, 3);
    kick_expect(f, &g, VIRTIO_BLK_ID_BYTES + 1, VIRTIO_BLK_S_OK);
    char want[VIRTIO_BLK_ID_BYTES] = "vmmkit-blk0"; /* NUL-padded */
    assert_memory_equal(hva(f, id, VIRTIO_BLK_ID_BYTES), want, VIRTIO_BLK_ID_BYTES);

    /* A short buffer gets what fits. */
    uint64_t sid = buffer(f, 6, 0xaa);
    struct req s = {.status = status_byte(f)};
    struct vg_buf sb[3] = {
        {header(f, VIRTIO_BLK_T_GET_ID, 0), 16, false}, {sid, 6, true}, {s.status, 1, true}};
    s.head = vg_add_chain(&f->g, 0, sb, 3);
    kick_expect(f, &s, 6 + 1, VIRTIO_BLK_S_OK);
    assert_memory_equal(hva(f, sid, 6), "vmmkit", 6);
    assert_true(wait_stat(f, VIRTIO_BLK_STAT_GET_ID, 2));
}

/* The read-only fixture's serial is longer than 20 bytes: cut, no NUL. */
static void test_get_id_long_serial(void **state)
{
    struct fixture *f = *state;
    bring_up(f, RO_FEATURES, false);

    uint64_t id = buffer(f, 32, 0xaa);
    struct req g = {.status = id + 31};
    struct vg_buf b[2] = {{header(f, VIRTIO_BLK_T_GET_ID, 0), 16, false}, {id, 32, true}};
    g.head = vg_add_chain(&f->g, 0, b, 2);
    kick_expect(f, &g, VIRTIO_BLK_ID_BYTES + 1, VIRTIO_BLK_S_OK);
    assert_memory_equal(hva(f, id, VIRTIO_BLK_ID_BYTES), "serial-0123456789-ab",
                        VIRTIO_BLK_ID_BYTES);
    assert_true(all_bytes(hva(f, id + VIRTIO_BLK_ID_BYTES, 11), 0xaa, 11));
}

static void test_discard(void **state)
{
    struct fixture *f = *state;
    if (!can_punch(f)) {
        skip();
    }
    bring_up(f, RW_FEATURES, false);
    uint64_t before = blocks(f);

    /* 128 KiB from 128 KiB: whole file-system blocks. */
    const uint64_t seg[1][3] = {{256, 256, 0}};
    struct req r = post_segments(f, VIRTIO_BLK_T_DISCARD, seg, 1);
    kick_expect(f, &r, 1, VIRTIO_BLK_S_OK);
    assert_true(blocks(f) < before);
    assert_int_equal(lseek(f->fd, 0, SEEK_HOLE), 128 * KiB);
    assert_true(file_is(f, 128 * KiB, 128 * KiB, 0));
    assert_true(file_is_pattern(f, 256 * KiB, 4096));
    assert_true(wait_stat(f, VIRTIO_BLK_STAT_DISCARDS, 1));

    /* The guest reads zeroes there. */
    struct req rd = post_rw(f, VIRTIO_BLK_T_IN, 300, 4096);
    kick_expect(f, &rd, 4096 + 1, VIRTIO_BLK_S_OK);
    assert_true(all_bytes(hva(f, rd.data, 4096), 0, 4096));

    /* Two segments, one of them empty. */
    const uint64_t two[2][3] = {{600, 8, 0}, {700, 0, 0}};
    r = post_segments(f, VIRTIO_BLK_T_DISCARD, two, 2);
    kick_expect(f, &r, 1, VIRTIO_BLK_S_OK);
    assert_true(file_is(f, 600 * SECTOR, 4096, 0));
}

static void test_write_zeroes(void **state)
{
    struct fixture *f = *state;
    if (!can_punch(f)) {
        skip();
    }
    bring_up(f, RW_FEATURES, false);

    /* Without unmap: zeroes in place (or a hole where ZERO_RANGE is missing). */
    const uint64_t seg[2][3] = {{0, 8, 0}, {20, 3, 0}};
    struct req r = post_segments(f, VIRTIO_BLK_T_WRITE_ZEROES, seg, 2);
    kick_expect(f, &r, 1, VIRTIO_BLK_S_OK);
    assert_true(file_is(f, 0, 4096, 0));
    assert_true(file_is(f, 20 * SECTOR, 3 * SECTOR, 0));
    assert_true(file_is_pattern(f, 4096, 20 * SECTOR - 4096));
    assert_true(file_is_pattern(f, 23 * SECTOR, SECTOR));

    /* With unmap: a hole. */
    uint64_t before = blocks(f);
    const uint64_t unmap[1][3] = {{512, 256, VIRTIO_BLK_WZ_FLAG_UNMAP}};
    r = post_segments(f, VIRTIO_BLK_T_WRITE_ZEROES, unmap, 1);
    kick_expect(f, &r, 1, VIRTIO_BLK_S_OK);
    assert_true(file_is(f, 256 * KiB, 128 * KiB, 0));
    assert_true(blocks(f) < before);
    assert_true(wait_stat(f, VIRTIO_BLK_STAT_WRITE_ZEROES, 2));

    struct req rd = post_rw(f, VIRTIO_BLK_T_IN, 0, 4096);
    kick_expect(f, &rd, 4096 + 1, VIRTIO_BLK_S_OK);
    assert_true(all_bytes(hva(f, rd.data, 4096), 0, 4096));
}

/* --- a read-only disk ---------------------------------------------------------- */

static void test_ro_refuses_writes(void **state)
{
    struct fixture *f = *state;
    bring_up(f, RO_FEATURES, false);

    struct req w = post_rw(f, VIRTIO_BLK_T_OUT, 0, 4096);
    memset(hva(f, w.data, 4096), 0x99, 4096);
    kick_expect(f, &w, 1, VIRTIO_BLK_S_IOERR);
    const uint64_t seg[1][3] = {{0, 8, 0}};
    struct req d = post_segments(f, VIRTIO_BLK_T_DISCARD, seg, 1);
    kick_expect(f, &d, 1, VIRTIO_BLK_S_IOERR);
    struct req z = post_segments(f, VIRTIO_BLK_T_WRITE_ZEROES, seg, 1);
    kick_expect(f, &z, 1, VIRTIO_BLK_S_IOERR);
    assert_true(file_is_pattern(f, 0, 4096));
    assert_true(wait_stat(f, VIRTIO_BLK_STAT_READ_ONLY, 3));
    assert_int_equal(bstat(f, VIRTIO_BLK_STAT_WRITES), 0);

    /* Reads and flushes work. */
    struct req r = post_rw(f, VIRTIO_BLK_T_IN, 8, 4096);
    kick_expect(f, &r, 4096 + 1, VIRTIO_BLK_S_OK);
    assert_true(is_pattern(hva(f, r.data, 4096), 8 * SECTOR, 4096));
    struct req fl = post_rw(f, VIRTIO_BLK_T_FLUSH, 0, 0);
    kick_expect(f, &fl, 1, VIRTIO_BLK_S_OK);
}

/* --- what a hostile driver gets wrong ---------------------------------------------- */

static void test_bad_requests(void **state)
{
    struct fixture *f = *state;
    bring_up(f, RW_FEATURES, false);
    struct req r;

    /* Past the capacity, by one sector and by a sector that overflows. */
    r = post_rw(f, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, 2 * SECTOR);
    kick_expect(f, &r, 1, VIRTIO_BLK_S_IOERR);
    r = post_rw(f, VIRTIO_BLK_T_OUT, UINT64_MAX - 1, 4 * SECTOR);
    kick_expect(f, &r, 1, VIRTIO_BLK_S_IOERR);
    r = post_rw(f, VIRTIO_BLK_T_IN, DISK_SECTORS + 1, 0);
    kick_expect(f, &r, 1, VIRTIO_BLK_S_IOERR);
    assert_true(wait_stat(f, VIRTIO_BLK_STAT_OUT_OF_RANGE, 3));

    /* A length that is not a multiple of 512. */
    r = post_rw(f, VIRTIO_BLK_T_IN, 0, 100);
    kick_expect(f, &r, 1, VIRTIO_BLK_S_IOERR);
    r = post_rw(f, VIRTIO_BLK_T_OUT, 0, 513);
    kick_expect(f, &r, 1, VIRTIO_BLK_S_IOERR);

    /* A header of 8 bytes. */
    r.status = status_byte(f);
    struct vg_buf sh[2] = {{header(f, VIRTIO_BLK_T_IN, 0), 8, false}, {r.status, 1, true}};
    r.head = vg_add_chain(&f->g, 0, sh, 2);
    kick_expect(f, &r, 1, VIRTIO_BLK_S_IOERR);
    assert_true(wait_stat(f, VIRTIO_BLK_STAT_BAD_REQUEST, 3));

    /* Unknown types: GET_LIFETIME, SECURE_ERASE, legacy SCSI, anything. */
    const uint32_t types[] = {10, 14, 2, 42, 0x80000000u};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        r = post_rw(f, types[i], 0, 0);
        kick_expect(f, &r, 1, VIRTIO_BLK_S_UNSUPP);
    }
    assert_true(wait_stat(f, VIRTIO_BLK_STAT_UNSUPPORTED, 5));
    assert_int_equal(bstat(f, VIRTIO_BLK_STAT_READS) + bstat(f, VIRTIO_BLK_STAT_WRITES), 0);
    assert_true(file_is_pattern(f, 0, 4096));
}

static void test_no_status(void **state)
{
    struct fixture *f = *state;
    uint32_t id = 0, len = 0xffff;
    bring_up(f, RW_FEATURES, false);

    /* Only a header. */
    struct vg_buf only[1] = {{header(f, VIRTIO_BLK_T_FLUSH, 0), 16, false}};
    uint16_t h1 = vg_add_chain(&f->g, 0, only, 1);
    /* A write whose "status" is readable: nothing writable at all. */
    uint64_t st = status_byte(f);
    struct vg_buf ro[3] = {{header(f, VIRTIO_BLK_T_OUT, 0), 16, false},
                           {buffer(f, 512, 0x44), 512, false},
                           {st, 1, false}};
    uint16_t h2 = vg_add_chain(&f->g, 0, ro, 3);
    vg_kick(&f->g, 0);
    assert_true(wait_used(f, &id, &len));
    assert_int_equal(id, h1);
    assert_int_equal(len, 0);
    assert_true(wait_used(f, &id, &len));
    assert_int_equal(id, h2);
    assert_int_equal(len, 0);
    assert_int_equal(*(uint8_t *)hva(f, st, 1), 0xee);
    assert_true(wait_stat(f, VIRTIO_BLK_STAT_NO_STATUS, 2));
    assert_true(file_is_pattern(f, 0, 512));

    /* A chain the queue refuses (outside RAM) comes back empty too. */
    struct vg_buf out[2] = {{0x10000000ull, 16, false}, {st, 1, true}};
    uint16_t h3 = vg_add_chain(&f->g, 0, out, 2);
    vg_kick(&f->g, 0);
    assert_true(wait_used(f, &id, &len));
    assert_int_equal(id, h3);
    assert_int_equal(len, 0);
    assert_true(wait_stat(f, VIRTIO_BLK_STAT_REFUSED, 1));
}

static void test_bad_segments(void **state)
{
    struct fixture *f = *state;
    bring_up(f, RW_FEATURES, false);
    struct req r;

    /* 5.2.6.2: unmap on a discard, reserved flags anywhere: UNSUPP. */
    const uint64_t unmap[1][3] = {{0, 8, VIRTIO_BLK_WZ_FLAG_UNMAP}};
    r = post_segments(f, VIRTIO_BLK_T_DISCARD, unmap, 1);
    kick_expect(f, &r, 1, VIRTIO_BLK_S_UNSUPP);
    const uint64_t reserved[2][3] = {{0, 8, 0}, {8, 8, 4}};
    r = post_segments(f, VIRTIO_BLK_T_WRITE_ZEROES, reserved, 2);
    kick_expect(f, &r, 1, VIRTIO_BLK_S_UNSUPP);
    assert_true(wait_stat(f, VIRTIO_BLK_STAT_UNSUPPORTED, 2));

    /* Too many segments. */
    uint64_t many[VIRTIO_BLK_MAX_DISCARD_SEG + 1][3];
    for (unsigned int i = 0; i <= VIRTIO_BLK_MAX_DISCARD_SEG; i++) {
        many[i][0] = i * 8u;
        many[i][1] = 8;
        many[i][2] = 0;
    }
    r = post_segments(f, VIRTIO_BLK_T_DISCARD, (const uint64_t(*)[3])many,
                      VIRTIO_BLK_MAX_DISCARD_SEG + 1);
    kick_expect(f, &r, 1, VIRTIO_BLK_S_IOERR);
    /* A segment too long, one past the end, one that overflows. */
    const uint64_t big[1][3] = {{0, VIRTIO_BLK_MAX_DISCARD_SECTORS + 1u, 0}};
    r = post_segments(f, VIRTIO_BLK_T_WRITE_ZEROES, big, 1);
    kick_expect(f, &r, 1, VIRTIO_BLK_S_IOERR);
    const uint64_t past[2][3] = {{0, 8, 0}, {DISK_SECTORS - 4, 8, 0}};
    r = post_segments(f, VIRTIO_BLK_T_DISCARD, past, 2);
    kick_expect(f, &r, 1, VIRTIO_BLK_S_IOERR);
    const uint64_t wrap[1][3] = {{UINT64_MAX - 2, 8, 0}};
    r = post_segments(f, VIRTIO_BLK_T_WRITE_ZEROES, wrap, 1);
    kick_expect(f, &r, 1, VIRTIO_BLK_S_IOERR);
    assert_true(wait_stat(f, VIRTIO_BLK_STAT_OUT_OF_RANGE, 2));

    /* Segment bytes not a multiple of 16, and none at all. */
    r.status = status_byte(f);
    struct vg_buf odd[3] = {{header(f, VIRTIO_BLK_T_DISCARD, 0), 16, false},
                            {buffer(f, 20, 0), 20, false},
                            {r.status, 1, true}};
    r.head = vg_add_chain(&f->g, 0, odd, 3);
    kick_expect(f, &r, 1, VIRTIO_BLK_S_IOERR);
    r = post_rw(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 0);
    kick_expect(f, &r, 1, VIRTIO_BLK_S_IOERR);
    assert_true(wait_stat(f, VIRTIO_BLK_STAT_BAD_REQUEST, 4));
    assert_int_equal(bstat(f, VIRTIO_BLK_STAT_DISCARDS) + bstat(f, VIRTIO_BLK_STAT_WRITE_ZEROES),
                     0);
    assert_true(file_is_pattern(f, 0, 16 * SECTOR));
    assert_true(file_is_pattern(f, DISK_SIZE - 4 * SECTOR, 4 * SECTOR));

    /* DISCARD and WRITE_ZEROES without their features: UNSUPP. */
    bring_up(f, VERSION_1 | F(VIRTIO_BLK_F_FLUSH), false);
    const uint64_t ok[1][3] = {{0, 8, 0}};
    r = post_segments(f, VIRTIO_BLK_T_DISCARD, ok, 1);
    kick_expect(f, &r, 1, VIRTIO_BLK_S_UNSUPP);
    r = post_segments(f, VIRTIO_BLK_T_WRITE_ZEROES, ok, 1);
    kick_expect(f, &r, 1, VIRTIO_BLK_S_UNSUPP);
    assert_true(file_is_pattern(f, 0, 8 * SECTOR));
}

/* --- host failures -------------------------------------------------------------- */

/* The image shrank under the device: reads past its new end come up short. */
static void test_host_short_read(void **state)
{
    struct fixture *f = *state;
    bring_up(f, RW_FEATURES, false);
    assert_int_equal(ftruncate(f->fd, 64 * KiB), 0);

    struct req r = post_rw(f, VIRTIO_BLK_T_IN, 1000, 4096);
    kick_expect(f, &r, 1, VIRTIO_BLK_S_IOERR);
    r = post_rw(f, VIRTIO_BLK_T_IN, 124, 8 * SECTOR); /* half past the end */
    kick_expect(f, &r, 1, VIRTIO_BLK_S_IOERR);
    assert_true(wait_stat(f, VIRTIO_BLK_STAT_IO_ERRORS, 2));
    assert_int_equal(bstat(f, VIRTIO_BLK_STAT_BYTES_READ), 0);

    r = post_rw(f, VIRTIO_BLK_T_IN, 64, 4096);
    kick_expect(f, &r, 4096 + 1, VIRTIO_BLK_S_OK);
    assert_true(is_pattern(hva(f, r.data, 4096), 64 * SECTOR, 4096));
}

/* Writes past RLIMIT_FSIZE fail (EFBIG) or come up short in the kernel. */
static void test_host_write_error(void **state)
{
    struct fixture *f = *state;
    struct rlimit old, lim;
    bring_up(f, RW_FEATURES, false);

    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = 64 * KiB;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);

    struct req w1 = post_rw(f, VIRTIO_BLK_T_OUT, 1000, 4096);
    struct req w2 = post_rw(f, VIRTIO_BLK_T_OUT, 127, 2 * SECTOR); /* straddles 64 KiB */
    memset(hva(f, w1.data, 4096), 0x10, 4096);
    memset(hva(f, w2.data, 2 * SECTOR), 0x20, 2 * SECTOR);
    vg_kick(&f->g, 0);
    uint32_t id = 0, len = 0;
    for (int i = 0; i < 2; i++) {
        assert_true(wait_used(f, &id, &len));
        assert_int_equal(len, 1);
    }
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);

    assert_int_equal(status_of(f, &w1), VIRTIO_BLK_S_IOERR);
    assert_int_equal(status_of(f, &w2), VIRTIO_BLK_S_IOERR);
    assert_true(wait_stat(f, VIRTIO_BLK_STAT_IO_ERRORS, 2));
    assert_true(file_is_pattern(f, 1000 * SECTOR, 4096));

    /* Past the limit's end the disk works again. */
    struct req w3 = post_rw(f, VIRTIO_BLK_T_OUT, 1000, 4096);
    memset(hva(f, w3.data, 4096), 0x30, 4096);
    kick_expect(f, &w3, 1, VIRTIO_BLK_S_OK);
    assert_true(file_is(f, 1000 * SECTOR, 4096, 0x30));
}

/* --- resets and broken rings --------------------------------------------------------- */

/* Without an I/O thread every request is still in flight at the reset: all dropped. */
static void test_reset_drops_in_flight(void **state)
{
    struct fixture *f = *state;
    enum { N = 32, LEN = 64 * KiB };
    struct req r[N];
    bring_up(f, RW_FEATURES, false);

    for (int i = 0; i < N; i++) {
        r[i] = post_rw(f, VIRTIO_BLK_T_IN, (uint64_t)i * 16u, LEN);
    }
    vg_kick(&f->g, 0);
    assert_int_equal(bstat(f, VIRTIO_BLK_STAT_IN_FLIGHT_PEAK), N);
    vg_write_status(&f->g, 0);
    assert_int_equal(bstat(f, VIRTIO_BLK_STAT_DROPPED), N);
    assert_int_equal(vg_used_idx(&f->g, 0), 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(status_of(f, &r[i]), 0xee); /* never answered */
    }
    assert_int_equal(virtio_blk_drain(f->blk), 0);
    assert_int_equal(vg_used_idx(&f->g, 0), 0);
    assert_int_equal(vg_used_irqs(&f->g, 0), 0);

    /* The device works after the reset. */
    vg_reset_data(&f->g);
    bring_up(f, RW_FEATURES, false);
    struct req again = post_rw(f, VIRTIO_BLK_T_IN, 0, 4096);
    kick_expect(f, &again, 4096 + 1, VIRTIO_BLK_S_OK);
    assert_true(is_pattern(hva(f, again.data, 4096), 0, 4096));
}

/*
 * The driver disables the queue with requests in flight and enables it
 * again on the same rings: no stale completion lands on the new ring.
 */
static void test_queue_disable_drops_in_flight(void **state)
{
    struct fixture *f = *state;
    enum { N = 16, LEN = 64 * KiB };
    bring_up(f, RW_FEATURES, false);

    for (int i = 0; i < N; i++) {
        post_rw(f, VIRTIO_BLK_T_IN, (uint64_t)i * 16u, LEN);
    }
    vg_kick(&f->g, 0);
    assert_int_equal(bstat(f, VIRTIO_BLK_STAT_IN_FLIGHT_PEAK), N);
    pthread_mutex_lock(&f->g.vdev->lock);
    virtio_device_queue_disable(f->g.vdev, 0);
    pthread_mutex_unlock(&f->g.vdev->lock);
    assert_int_equal(bstat(f, VIRTIO_BLK_STAT_DROPPED), N);
    vg_reset_data(&f->g);
    vg_setup_queue(&f->g, 0, QSIZE);
    assert_int_equal(virtio_blk_drain(f->blk), 0);
    assert_int_equal(vg_used_idx(&f->g, 0), 0);

    struct req again = post_rw(f, VIRTIO_BLK_T_IN, 8, 4096);
    kick_expect(f, &again, 4096 + 1, VIRTIO_BLK_S_OK);
    assert_true(is_pattern(hva(f, again.data, 4096), 8 * SECTOR, 4096));
}

/* With the I/O thread racing the reset: whatever was not pushed before it never is. */
static void test_reset_with_io_thread(void **state)
{
    struct fixture *f = *state;
    enum { N = 64, LEN = 64 * KiB };
    bring_up(f, RW_FEATURES, false);

    for (int i = 0; i < N; i++) {
        post_rw(f, VIRTIO_BLK_T_IN, (uint64_t)i * 16u, LEN);
    }
    vg_kick(&f->g, 0);
    vg_write_status(&f->g, 0);
    uint16_t used = vg_used_idx(&f->g, 0);
    usleep(200 * 1000);
    assert_int_equal(vg_used_idx(&f->g, 0), used);
    assert_int_equal(used + bstat(f, VIRTIO_BLK_STAT_DROPPED), N);

    vg_reset_data(&f->g);
    bring_up(f, RW_FEATURES, false);
    struct req again = post_rw(f, VIRTIO_BLK_T_IN, 8, 4096);
    kick_expect(f, &again, 4096 + 1, VIRTIO_BLK_S_OK);
    assert_true(is_pattern(hva(f, again.data, 4096), 8 * SECTOR, 4096));
}

static void test_broken_ring(void **state)
{
    struct fixture *f = *state;
    bring_up(f, RW_FEATURES, false);
    vg_set_avail_idx(&f->g, 0, 1000);
    vg_kick(&f->g, 0);
    assert_true(vg_status(&f->g) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    assert_int_equal(bstat(f, VIRTIO_BLK_STAT_RING_BROKEN), 1);
    assert_int_equal(__atomic_load_n(&f->g.config_irqs, __ATOMIC_SEQ_CST), 1);

    /* A reset brings it back. */
    vg_reset_data(&f->g);
    bring_up(f, RW_FEATURES, false);
    struct req r = post_rw(f, VIRTIO_BLK_T_IN, 0, SECTOR);
    kick_expect(f, &r, SECTOR + 1, VIRTIO_BLK_S_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ro_identity, setup_ro, teardown),
        cmocka_unit_test_setup_teardown(test_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writethrough, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multi_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_buffers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stall_on_slots, setup_sync, teardown),
        cmocka_unit_test_setup_teardown(test_stall_on_ring, setup_sync, teardown),
        cmocka_unit_test_setup_teardown(test_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_id_long_serial, setup_ro, teardown),
        cmocka_unit_test_setup_teardown(test_discard, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_zeroes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ro_refuses_writes, setup_ro, teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_segments, setup_sync, teardown),
        cmocka_unit_test_setup_teardown(test_host_short_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_write_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_drops_in_flight, setup_sync, teardown),
        cmocka_unit_test_setup_teardown(test_queue_disable_drops_in_flight, setup_sync, teardown),
        cmocka_unit_test_setup_teardown(test_reset_with_io_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broken_ring, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
