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
#include <stdlib.h>
#include <string.h>

#include <vmmkit/log.h>
#include <vmmkit/virtio_rng.h>

#define FUZZ_NAME "fuzz_virtio_rng"
#include "fuzz_driver.h"

#define RAM_BASE 0x10000ull
#define RAM_SIZE 0x10000ull
#define RECORD_OFF_BYTES 2u /* 11-byte records */

/* Descriptors +0, available ring +0x100, used ring +0x200 (up to 16 entries). */
static const fuzz_rings_t rings = {
    .nq = 1, .desc = 0x000, .avail = 0x100, .used = 0x200, .end = 0x300};

struct harness {
    vm_t *vm;
    virtio_rng_t *rng;
    fuzz_driver_t drv;
};

static bool harness_init(struct harness *h, uint8_t feat, uint8_t size)
{
    static const uint64_t picks[] = {1ull << VIRTIO_F_RING_EVENT_IDX,
                                     1ull << VIRTIO_F_RING_INDIRECT_DESC};

    memset(h, 0, sizeof(*h));
    if (vm_create_with_backend(&h->vm, "fuzz", &fake_hv_ops) < 0) {
        return false;
    }
    uint8_t *ram = fuzz_ram_map(h->vm, RAM_BASE, RAM_SIZE);
    CHECK(virtio_rng_create(h->vm, 0, &h->rng) == 0);
    fuzz_driver_attach(&h->drv, virtio_rng_device(h->rng), ram, RAM_BASE, &rings,
                       fuzz_features(1ull << VIRTIO_F_VERSION_1, feat, picks, 2),
                       (uint16_t)(1u << (size % 5)));
    fuzz_driver_bring_up(&h->drv);
    return true;
}

static void harness_fini(struct harness *h)
{
    virtio_rng_destroy(h->rng);
    vm_destroy(h->vm);
    free(h->drv.ram);
}

/* What must hold after every record, whatever the driver did. */
static void check_invariants(struct harness *h)
{
    uint64_t requests = virtio_rng_stat(h->rng, VIRTIO_RNG_STAT_REQUESTS);
    uint64_t bytes = virtio_rng_stat(h->rng, VIRTIO_RNG_STAT_BYTES);

    CHECK(bytes <= requests * VIRTIO_RNG_MAX_FILL);
    CHECK(virtio_rng_stat(h->rng, VIRTIO_RNG_STAT_SHORT) <= requests);
    CHECK(!(h->drv.vdev->status & 0x30));
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
    size_t pos = 2;
    fuzz_record_t rec;
    while (fuzz_record_next(data, size, &pos, RECORD_OFF_BYTES, &rec)) {
        switch (rec.head & 3) {
        case 0:
            memcpy(h->drv.ram + rec.off % (RAM_SIZE - 7), &rec.value, 8);
            break;
        case 1:
            fuzz_driver_publish(&h->drv, 0, (uint16_t)rec.value);
            if (!(rec.value & (1ull << 16))) {
                fuzz_driver_kick(&h->drv, 0);
            }
            break;
        case 2:
            fuzz_driver_kick(&h->drv, 0);
            break;
        default:
            fuzz_driver_misbehave(&h->drv, 0, rec.off, rec.value);
            break;
        }
        check_invariants(h);
    }
    harness_fini(h);
    free(h);
    return 0;
}
