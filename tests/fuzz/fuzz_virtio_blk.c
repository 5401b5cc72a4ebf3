/*
 * fuzz_virtio_blk.c - libFuzzer harness for the virtio block device
 * (src/virtio/blk.c) with its io_uring back end, the split virtqueue
 * (queue.c) and the common layer (virtio.c) under it.
 *
 * The disk is a 64 KiB temporary file made once per process (unlinked at
 * once, opened through /proc/self/fd) and rewritten with the same pattern
 * before every input, so inputs replay alike.  The device has no I/O
 * thread: the harness reaps completions itself (virtio_blk_drain()) after
 * each kick unless the record asks it not to, which leaves requests in
 * flight for a later reset, queue change or the final destroy.
 *
 * The input is a hostile driver.  Byte 0 picks the device and the features
 * the driver accepts (bit 0 EVENT_IDX, bit 1 INDIRECT_DESC, bit 2 FLUSH,
 * bit 3 DISCARD, bit 4 WRITE_ZEROES, bit 5 a read-only disk: RO instead of
 * the last two); byte 1 the queue size (1 << (byte % 9)).  The harness
 * brings the device up with the rings at RAM_BASE (descriptors +0,
 * available ring +0x1000, used ring +0x1800), then plays 11-byte records:
 *
 *   byte 0      kind (bits 0-1)
 *   bytes 1-2   offset, little-endian
 *   bytes 3-10  value, little-endian
 *
 * kind 0: the driver writes the 8 value bytes to guest RAM at offset % RAM
 *         (descriptors, rings, request headers, segments, anything);
 * kind 1: the driver publishes head (value & 0xffff) in the available
 *         ring, bumps avail.idx and, when bit 16 of value is clear, kicks;
 *         bit 17 set: no drain after that kick;
 * kind 2: the driver kicks (bit 17 of value: no drain);
 * kind 3: the driver misbehaves at the transport, value % 4: reset and
 *         bring the device up again; write status (value >> 8); enable
 *         the queue again with size (value >> 8) and rings moved by the
 *         offset; disable the queue.
 *
 * Guest RAM is a heap buffer mapped as a reservation, so AddressSanitizer
 * reports any access the device makes outside it (the kernel's own writes
 * through io_uring it cannot see, but their iovecs come from the same
 * checked chains); libFuzzer's timeout catches a device that spins or a
 * drain that never ends.  After every record the harness checks the
 * counters against each other; at the end, that a read-only disk was not
 * written.  Build with -I src (fake_hv.h needs the core's private headers).
 * Seeds: make-seeds-blk.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vmmkit/log.h>
#include <vmmkit/virtio_blk.h>

#define FUZZ_NAME "fuzz_virtio_blk"
#include "fuzz_driver.h"

#define RAM_BASE 0x10000ull
#define RAM_SIZE 0x10000ull
#define RECORD_OFF_BYTES 2u /* 11-byte records */
#define DISK_SIZE (64u << 10)
#define NO_KICK (1ull << 16)
#define NO_DRAIN (1ull << 17)

/* Descriptors +0, available ring +0x1000, used ring +0x1800; 0x2100 is past the largest. */
static const fuzz_rings_t rings = {
    .nq = 1, .desc = 0x0000, .avail = 0x1000, .used = 0x1800, .end = 0x2100};

struct harness {
    vm_t *vm;
    virtio_blk_t *blk;
    fuzz_driver_t drv;
    bool read_only;
};

/* The disk, made once per process. */
static int disk_fd = -1;
static char disk_path[64];
static uint8_t disk_pattern[DISK_SIZE];

static void disk_init(void)
{
    char name[] = "/tmp/vmmkit-fuzz-blk-XXXXXX";

    if (disk_fd >= 0) {
        return;
    }
    disk_fd = mkstemp(name);
    CHECK(disk_fd >= 0);
    unlink(name);
    for (size_t i = 0; i < DISK_SIZE; i++) {
        disk_pattern[i] = (uint8_t)((i >> 9) * 31u + (i & 511u) + 1u);
    }
    snprintf(disk_path, sizeof(disk_path), "/proc/self/fd/%d", disk_fd);
}

/* Back to the pattern, whole and allocated, for every input. */
static void disk_restore(void)
{
    CHECK(ftruncate(disk_fd, DISK_SIZE) == 0);
    CHECK(pwrite(disk_fd, disk_pattern, DISK_SIZE, 0) == (ssize_t)DISK_SIZE);
}

static bool disk_unchanged(void)
{
    static uint8_t now[DISK_SIZE];
    return pread(disk_fd, now, DISK_SIZE, 0) == (ssize_t)DISK_SIZE &&
           memcmp(now, disk_pattern, DISK_SIZE) == 0;
}

static bool harness_init(struct harness *h, uint8_t feat, uint8_t size)
{
    static const uint64_t picks[] = {1ull << VIRTIO_F_RING_EVENT_IDX,
                                     1ull << VIRTIO_F_RING_INDIRECT_DESC,
                                     1ull << VIRTIO_BLK_F_FLUSH, 1ull << VIRTIO_BLK_F_DISCARD,
                                     1ull << VIRTIO_BLK_F_WRITE_ZEROES};

    memset(h, 0, sizeof(*h));
    if (vm_create_with_backend(&h->vm, "fuzz", &fake_hv_ops) < 0) {
        return false;
    }
    uint8_t *ram = fuzz_ram_map(h->vm, RAM_BASE, RAM_SIZE);

    h->read_only = feat & 0x20;
    virtio_blk_config_t cfg = {.path = disk_path, .read_only = h->read_only, .io = NULL};
    CHECK(virtio_blk_create(h->vm, 0, &cfg, &h->blk) == 0);
    CHECK(virtio_blk_capacity(h->blk) == DISK_SIZE / VIRTIO_BLK_SECTOR_SIZE);
    virtio_device_t *vdev = virtio_blk_device(h->blk);

    uint64_t features = fuzz_features(1ull << VIRTIO_F_VERSION_1, feat, picks, 5);
    if (h->read_only) {
        features |= 1ull << VIRTIO_BLK_F_RO;
    }
    features &= vdev->device_features; /* a valid negotiation; the rest is in the records */
    fuzz_driver_attach(&h->drv, vdev, ram, RAM_BASE, &rings, features,
                       (uint16_t)(1u << (size % 9)));
    fuzz_driver_bring_up(&h->drv);
    return true;
}

static void harness_fini(struct harness *h)
{
    virtio_blk_destroy(h->blk); /* drops what is still in flight */
    vm_destroy(h->vm);
    free(h->drv.ram);
}

/* The driver kicks; unless @value asks for none, the harness reaps the completions. */
static void kick(struct harness *h, uint64_t value)
{
    fuzz_driver_kick(&h->drv, 0);
    if (!(value & NO_DRAIN)) {
        virtio_blk_drain(h->blk);
    }
}

static uint64_t st(const struct harness *h, virtio_blk_stat_t s)
{
    return virtio_blk_stat(h->blk, s);
}

/* What must hold after every record, whatever the driver did. */
static void check_invariants(struct harness *h)
{
    uint64_t reads = st(h, VIRTIO_BLK_STAT_READS), writes = st(h, VIRTIO_BLK_STAT_WRITES);
    uint64_t host = reads + writes + st(h, VIRTIO_BLK_STAT_FLUSHES) +
                    st(h, VIRTIO_BLK_STAT_DISCARDS) + st(h, VIRTIO_BLK_STAT_WRITE_ZEROES);

    /* A request moves at most the whole disk. */
    CHECK(st(h, VIRTIO_BLK_STAT_BYTES_READ) <= reads * DISK_SIZE);
    CHECK(st(h, VIRTIO_BLK_STAT_BYTES_WRITTEN) <= writes * DISK_SIZE);
    CHECK(st(h, VIRTIO_BLK_STAT_IO_ERRORS) <= host);
    CHECK(st(h, VIRTIO_BLK_STAT_IN_FLIGHT_PEAK) <= VIRTIO_BLK_QUEUE_DEPTH);
    CHECK(st(h, VIRTIO_BLK_STAT_DROPPED) <= host);
    if (h->read_only) {
        CHECK(writes == 0 && st(h, VIRTIO_BLK_STAT_DISCARDS) == 0 &&
              st(h, VIRTIO_BLK_STAT_WRITE_ZEROES) == 0);
    }
    CHECK(!(h->drv.vdev->status & 0x30));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct harness *h;

    if (size < 2) {
        return 0;
    }
    vmm_log_set_level(VMM_LOG_ERR);
    disk_init();
    disk_restore();
    h = malloc(sizeof(*h));
    if (!h || !harness_init(h, data[0], data[1])) {
        free(h);
        return 0;
    }
    size_t pos = 2;
    fuzz_record_t rec;
    while (fuzz_record_next(data, size, &pos, RECORD_OFF_BYTES, &rec)) {
        switch (rec.head & 3) {
        case 0:
            memcpy(h->drv.ram + rec.off % (RAM_SIZE - 7), &rec.value, 8);
            break;
        case 1:
            fuzz_driver_publish(&h->drv, 0, (uint16_t)rec.value);
            if (!(rec.value & NO_KICK)) {
                kick(h, rec.value);
            }
            break;
        case 2:
            kick(h, rec.value);
            break;
        default:
            fuzz_driver_misbehave(&h->drv, 0, rec.off, rec.value);
            break;
        }
        check_invariants(h);
    }
    bool read_only = h->read_only;
    harness_fini(h);
    free(h);
    if (read_only) {
        CHECK(disk_unchanged());
    }
    return 0;
}
