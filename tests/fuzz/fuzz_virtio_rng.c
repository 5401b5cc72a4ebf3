/*
 * fuzz_virtio_rng.c - libFuzzer harness for the virtio entropy device
 * (src/virtio/rng.c) with the split virtqueue (queue.c) and the common
 * layer (virtio.c) under it.
 *
 * The input is a hostile driver.  Byte 0 picks the features it accepts
 * (bit 0 EVENT_IDX, bit 1 INDIRECT_DESC), byte 1 the queue size
 * (1 << (byte % 5)); the harness brings the device up with the rings at
 * RAM_BASE (descriptors +0, available ring +0x100, used ring +0x200), then
 * plays 11-byte records:
 *
 *   byte 0      kind (bits 0-1)
 *   bytes 1-2   offset, little-endian
 *   bytes 3-10  value, little-endian
 *
 * kind 0: the driver writes the 8 value bytes to guest RAM at offset % RAM
 *         (descriptors, rings, indirect tables, anything);
 * kind 1: the driver publishes head (value & 0xffff) in the available
 *         ring, bumps avail.idx and, when bit 16 of value is clear, kicks;
 * kind 2: the driver kicks;
 * kind 3: the driver misbehaves at the transport, value % 4: reset and
 *         bring the device up again; write status (value >> 8); enable
 *         the queue again with size (value >> 8) and rings moved by the
 *         offset; disable the queue.
 *
 * Guest RAM is a heap buffer mapped as a reservation, so AddressSanitizer
 * reports any access the device makes outside it; libFuzzer's timeout
 * catches a walk that spins.  After every record the harness checks the
 * device's counters against each other.  Build with -I src (fake_hv.h
 * needs the core's private headers).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vmmkit/guest_memory.h>
#include <vmmkit/log.h>
#include <vmmkit/virtio_rng.h>

#include "../unit/fake_hv.h"

#define RAM_BASE 0x10000ull
#define RAM_SIZE 0x10000ull
#define DESC_OFF 0x000u
#define AVAIL_OFF 0x100u
#define USED_OFF 0x200u
#define RECORD 11u

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_virtio_rng: %s:%d: %s\n", __FILE__, __LINE__, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

struct harness {
    vm_t *vm;
    uint8_t *ram;
    virtio_rng_t *rng;
    virtio_device_t *vdev;
    virtio_transport_ops_t transport;
    uint64_t features; /* what the driver accepts */
    uint16_t qsize;
    uint16_t avail_idx; /* the driver's next avail.idx */
    uint64_t irqs;
};

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
    memset(h->ram + AVAIL_OFF, 0, USED_OFF + 0x100 - AVAIL_OFF);
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
    CHECK(virtio_rng_create(h->vm, 0, &h->rng) == 0);
    h->vdev = virtio_rng_device(h->rng);
    h->transport.notify_used = count_irq;
    h->transport.notify_config = count_config_irq;
    virtio_device_set_transport(h->vdev, &h->transport, h);

    h->features = 1ull << VIRTIO_F_VERSION_1;
    if (feat & 1) {
        h->features |= 1ull << VIRTIO_F_RING_EVENT_IDX;
    }
    if (feat & 2) {
        h->features |= 1ull << VIRTIO_F_RING_INDIRECT_DESC;
    }
    h->qsize = (uint16_t)(1u << (size % 5));
    bring_up(h);
    return true;
}

static void harness_fini(struct harness *h)
{
    virtio_rng_destroy(h->rng);
    vm_destroy(h->vm);
    free(h->ram);
}

static void kick(struct harness *h)
{
    pthread_mutex_lock(&h->vdev->lock);
    virtio_device_queue_notify(h->vdev, 0);
    pthread_mutex_unlock(&h->vdev->lock);
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

/* What must hold after every record, whatever the driver did. */
static void check_invariants(struct harness *h)
{
    uint64_t requests = virtio_rng_stat(h->rng, VIRTIO_RNG_STAT_REQUESTS);
    uint64_t bytes = virtio_rng_stat(h->rng, VIRTIO_RNG_STAT_BYTES);

    CHECK(bytes <= requests * VIRTIO_RNG_MAX_FILL);
    CHECK(virtio_rng_stat(h->rng, VIRTIO_RNG_STAT_SHORT) <= requests);
    CHECK(!(h->vdev->status & 0x30));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct harness *h;

    if (size < 2) {
        return 0;
    }
    vmm_log_set_level(VMM_LOG_ERR);
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
            if (!(value & (1ull << 16))) {
                kick(h);
            }
            break;
        case 2:
            kick(h);
            break;
        default:
            misbehave(h, off, value);
            break;
        }
        check_invariants(h);
    }
    harness_fini(h);
    free(h);
    return 0;
}
