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

#include <vmmkit/guest_memory.h>
#include <vmmkit/log.h>
#include <vmmkit/virtio_blk.h>

#include "../unit/fake_hv.h"

#define RAM_BASE 0x10000ull
#define RAM_SIZE 0x10000ull
#define DESC_OFF 0x0000u
#define AVAIL_OFF 0x1000u
#define USED_OFF 0x1800u
#define RING_END 0x2100u /* past the largest used ring */
#define RECORD 11u
#define DISK_SIZE (64u << 10)
#define NO_KICK (1ull << 16)
#define NO_DRAIN (1ull << 17)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_virtio_blk: %s:%d: %s\n", __FILE__, __LINE__, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

struct harness {
    vm_t *vm;
    uint8_t *ram;
    virtio_blk_t *blk;
    virtio_device_t *vdev;
    virtio_transport_ops_t transport;
    uint64_t features; /* what the driver accepts */
    bool read_only;
    uint16_t qsize;
    uint16_t avail_idx; /* the driver's next avail.idx */
    uint64_t irqs;
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

static void count_irq(virtio_device_t *vdev, unsigned int queue)
{
    struct harness *h = vdev->transport_priv;
    h->irqs++;
}

static void count_config_irq(virtio_device_t *vdev)
{
    struct harness *h = vdev->transport_priv;
    h->irqs++;
}

/* RAM for the map iterator: the harness's heap buffer. */
static int map_ram(uintptr_t addr, size_t size, vm_memory_backing_t *backing, void *cookie)
{
    backing->hva = cookie;
    backing->readonly = false;
    return 0;
}

/* What a driver does at probe (3.1.1), under the lock as a transport would. */
static void bring_up(struct harness *h)
{
    virtio_device_t *v = h->vdev;
    const uint8_t steps[] = {0, 1, 3};

    pthread_mutex_lock(&v->lock);
    for (size_t i = 0; i < sizeof(steps); i++) {
        virtio_device_write_status(v, steps[i]);
    }
    virtio_device_write_features(v, 0, (uint32_t)h->features);
    virtio_device_write_features(v, 1, (uint32_t)(h->features >> 32));
    virtio_device_write_status(v, 11);
    v->qcfg[0].size = h->qsize;
    v->qcfg[0].desc = RAM_BASE + DESC_OFF;
    v->qcfg[0].driver = RAM_BASE + AVAIL_OFF;
    v->qcfg[0].device = RAM_BASE + USED_OFF;
    virtio_device_queue_enable(v, 0);
    virtio_device_write_status(v, 15);
    pthread_mutex_unlock(&v->lock);
    memset(h->ram + AVAIL_OFF, 0, RING_END - AVAIL_OFF);
    h->avail_idx = 0;
}

static bool harness_init(struct harness *h, uint8_t feat, uint8_t size)
{
    memset(h, 0, sizeof(*h));
    if (vm_create_with_backend(&h->vm, "fuzz", &fake_hv_ops) < 0) {
        return false;
    }
    h->ram = aligned_alloc(4096, RAM_SIZE);
    vm_memory_reservation_t *r = vm_reserve_memory_at(h->vm, RAM_BASE, RAM_SIZE, NULL, NULL);
    CHECK(h->ram && r);
    memset(h->ram, 0, RAM_SIZE);
    CHECK(vm_map_reservation(h->vm, r, map_ram, h->ram) == 0);

    h->read_only = feat & 0x20;
    virtio_blk_config_t cfg = {.path = disk_path, .read_only = h->read_only, .io = NULL};
    CHECK(virtio_blk_create(h->vm, 0, &cfg, &h->blk) == 0);
    CHECK(virtio_blk_capacity(h->blk) == DISK_SIZE / VIRTIO_BLK_SECTOR_SIZE);
    h->vdev = virtio_blk_device(h->blk);
    h->transport.notify_used = count_irq;
    h->transport.notify_config = count_config_irq;
    virtio_device_set_transport(h->vdev, &h->transport, h);

    const unsigned int bits[] = {VIRTIO_F_RING_EVENT_IDX, VIRTIO_F_RING_INDIRECT_DESC,
                                 VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_DISCARD,
                                 VIRTIO_BLK_F_WRITE_ZEROES};
    h->features = 1ull << VIRTIO_F_VERSION_1;
    for (unsigned int i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
        if (feat & (1u << i)) {
            h->features |= 1ull << bits[i];
        }
    }
    if (h->read_only) {
        h->features |= 1ull << VIRTIO_BLK_F_RO;
    }
    h->features &= h->vdev->device_features; /* a valid negotiation; the rest is in the records */
    h->qsize = (uint16_t)(1u << (size % 9));
    bring_up(h);
    return true;
}

static void harness_fini(struct harness *h)
{
    virtio_blk_destroy(h->blk); /* drops what is still in flight */
    vm_destroy(h->vm);
    free(h->ram);
}

static void kick(struct harness *h, uint64_t value)
{
    pthread_mutex_lock(&h->vdev->lock);
    virtio_device_queue_notify(h->vdev, 0);
    pthread_mutex_unlock(&h->vdev->lock);
    if (!(value & NO_DRAIN)) {
        virtio_blk_drain(h->blk);
    }
}

/* The driver makes @head available (2.7.13) in the configured ring. */
static void publish(struct harness *h, uint16_t head)
{
    uint16_t slot = (uint16_t)(h->avail_idx % h->qsize);
    uint16_t le_head = htole16(head);
    memcpy(h->ram + AVAIL_OFF + 4 + 2u * slot, &le_head, 2);
    h->avail_idx++;
    uint16_t le_idx = htole16(h->avail_idx);
    __atomic_store_n((uint16_t *)(h->ram + AVAIL_OFF + 2), le_idx, __ATOMIC_RELEASE);
}

static void misbehave(struct harness *h, uint16_t off, uint64_t value)
{
    virtio_device_t *v = h->vdev;

    switch (value % 4) {
    case 0:
        bring_up(h);
        return;
    case 1:
        pthread_mutex_lock(&v->lock);
        virtio_device_write_status(v, (uint8_t)(value >> 8));
        pthread_mutex_unlock(&v->lock);
        return;
    case 2:
        pthread_mutex_lock(&v->lock);
        virtio_device_queue_disable(v, 0);
        v->qcfg[0].size = (uint16_t)(value >> 8);
        v->qcfg[0].desc = RAM_BASE + DESC_OFF + off;
        v->qcfg[0].driver = RAM_BASE + AVAIL_OFF + off;
        v->qcfg[0].device = RAM_BASE + USED_OFF + off;
        virtio_device_queue_enable(v, 0);
        pthread_mutex_unlock(&v->lock);
        return;
    default:
        pthread_mutex_lock(&v->lock);
        virtio_device_queue_disable(v, 0);
        pthread_mutex_unlock(&v->lock);
        return;
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
    CHECK(!(h->vdev->status & 0x30));
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
    for (size_t pos = 2; pos + RECORD <= size; pos += RECORD) {
        const uint8_t *r = data + pos;
        uint16_t off = (uint16_t)(r[1] | (r[2] << 8));
        uint64_t value;
        memcpy(&value, r + 3, 8);

        switch (r[0] & 3) {
        case 0:
            memcpy(h->ram + off % (RAM_SIZE - 7), &value, 8);
            break;
        case 1:
            publish(h, (uint16_t)value);
            if (!(value & NO_KICK)) {
                kick(h, value);
            }
            break;
        case 2:
            kick(h, value);
            break;
        default:
            misbehave(h, off, value);
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
