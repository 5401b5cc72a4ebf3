/*
 * fuzz_virtio_mmio.c - libFuzzer harness for the virtio-mmio transport and
 * the common virtio layer (src/virtio/mmio.c, virtio.c), with the split
 * virtqueue (queue.c) behind a dummy device.
 *
 * The input is a hostile driver: a sequence of 11-byte records, each
 *
 *   byte 0      kind (bits 0-1) and width (bits 2-3: 1, 2, 4 or 8 bytes)
 *   bytes 1-2   offset, little-endian
 *   bytes 3-10  value, little-endian
 *
 * kind 0: MMIO read of the window at offset % 0x210 (a little past its end);
 * kind 1: MMIO write of the value there;
 * kind 2: the driver writes guest RAM (8 bytes at offset % RAM), to build
 *         descriptor tables and rings;
 * kind 3: a host-side event, value % 4: the device finishes its pending
 *         work (pushes used buffers, interrupts), changes its config, gives
 *         up (DEVICE_NEEDS_RESET), or the VM resets (virtio_mmio_reset).
 *
 * Accesses go through the core's MMIO dispatch (vcpu_handle_exit) over the
 * fake backend, as the run loop delivers them.  Guest RAM is a heap buffer
 * mapped as a reservation, so AddressSanitizer reports any access a chain
 * walk or a device makes outside it; the dummy device also checks every
 * buffer it is given against the RAM bounds, and after every record the
 * harness checks the invariants of the status machine.  Any violation
 * aborts.
 *
 * Seeds (corpus/fuzz_virtio_mmio/, records as above): bring_up (Linux's
 * probe sequence, a chain served on each queue, interrupts acknowledged,
 * config change, VM reset), indirect (an indirect table), config (config
 * space at every width and past its end), abuse (bad widths, read-only and
 * write-only registers, status order, queue changes while live), bad_chains
 * (a descriptor loop, an avail.idx jump), activate_fails.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vmmkit/log.h>
#include <vmmkit/virtio_mmio.h>

#define FUZZ_NAME "fuzz_virtio_mmio"
#include "fuzz_driver.h"

#define BASE 0x0a000000ull
#define INTID 40u
#define RAM_BASE 0x10000ull
#define RAM_SIZE 0x10000ull
#define NQ 2u
#define QMAX 16u
#define CFG_SIZE 24u
#define RECORD_OFF_BYTES 2u /* 11-byte records */

struct harness {
    vm_t *vm;
    vm_vcpu_t *vcpu;
    uint8_t *ram;
    virtio_device_t vdev;
    virtio_mmio_t *m;
    uint8_t config[CFG_SIZE];
    virtq_chain_t chain;
    bool pending[NQ]; /* kicked, work not yet completed */
    bool active;
};

static struct harness *hv(virtio_device_t *vdev)
{
    return vdev->priv;
}

/* Every buffer a popped chain hands the device lies wholly in guest RAM. */
static void check_chain(struct harness *h, const virtq_chain_t *c)
{
    CHECK(c->nr_bufs <= VIRTQ_MAX_CHAIN_BUFS);
    CHECK(c->nr_readable <= c->nr_bufs);
    for (unsigned int i = 0; i < c->nr_bufs; i++) {
        const uint8_t *p = c->bufs[i].addr;
        CHECK(c->bufs[i].len <= RAM_SIZE);
        CHECK(p >= h->ram && p + c->bufs[i].len <= h->ram + RAM_SIZE);
        CHECK(c->bufs[i].writable == (i >= c->nr_readable));
    }
}

/* Serve queue @idx: pop what is there, answer each chain, interrupt. */
static void serve(virtio_device_t *vdev, unsigned int idx)
{
    struct harness *h = hv(vdev);
    virtq_t *q = &vdev->queues[idx];

    for (unsigned int n = 0; n < 2 * QMAX; n++) {
        int rc = virtq_pop(q, &h->chain);
        if (rc == 0) {
            break;
        }
        if (rc < 0) {
            if (q->broken) {
                virtio_device_set_needs_reset(vdev, "broken ring");
                break;
            }
            virtq_push(q, h->chain.head, 0);
            continue;
        }
        check_chain(h, &h->chain);
        uint8_t fill[64];
        memset(fill, 0xab, sizeof(fill));
        size_t w = virtq_chain_write(&h->chain, 0, fill, sizeof(fill));
        uint8_t sink[64];
        virtq_chain_read(&h->chain, 0, sink, sizeof(sink));
        virtq_push_chain(q, &h->chain, (uint32_t)w);
    }
    virtio_device_used(vdev, idx);
}

static void dummy_config_read(virtio_device_t *vdev, uint32_t offset, void *buf, uint32_t len)
{
    CHECK((uint64_t)offset + len <= CFG_SIZE);
    memcpy(buf, hv(vdev)->config + offset, len);
}

static void dummy_config_write(virtio_device_t *vdev, uint32_t offset, const void *buf,
                               uint32_t len)
{
    CHECK((uint64_t)offset + len <= CFG_SIZE);
    memcpy(hv(vdev)->config + offset, buf, len);
}

static int dummy_activate(virtio_device_t *vdev)
{
    CHECK(vdev->status & VIRTIO_STATUS_FEATURES_OK);
    hv(vdev)->active = true;
    return hv(vdev)->config[0] == 0xee ? -1 : 0; /* the input can make activation fail */
}

/* Odd queues are served at once, even ones when the "host" completes (kind 3). */
static void dummy_queue_notify(virtio_device_t *vdev, unsigned int idx)
{
    CHECK(idx < NQ);
    CHECK(vdev->status & VIRTIO_STATUS_DRIVER_OK);
    CHECK(vdev->queues[idx].ready && vdev->qcfg[idx].enabled);
    if (idx & 1) {
        serve(vdev, idx);
    } else {
        hv(vdev)->pending[idx] = true;
    }
}

static void dummy_reset(virtio_device_t *vdev)
{
    struct harness *h = hv(vdev);
    h->active = false;
    memset(h->pending, 0, sizeof(h->pending));
}

static const virtio_device_ops_t dummy_ops = {
    .name = "virtio-fuzz",
    .device_id = VIRTIO_ID_CONSOLE,
    .num_queues = NQ,
    .queue_max_size = QMAX,
    .features = (1ull << 0) | (1ull << 1),
    .config_size = CFG_SIZE,
    .config_read = dummy_config_read,
    .config_write = dummy_config_write,
    .activate = dummy_activate,
    .queue_notify = dummy_queue_notify,
    .reset = dummy_reset,
};

static bool harness_init(struct harness *h)
{
    memset(h, 0, sizeof(*h));
    if (vm_create_with_backend(&h->vm, "fuzz", &fake_hv_ops) < 0) {
        return false;
    }
    h->vcpu = vm_create_vcpu(h->vm, 0);
    CHECK(h->vcpu);
    h->ram = fuzz_ram_map(h->vm, RAM_BASE, RAM_SIZE);
    CHECK(virtio_device_init(&h->vdev, h->vm, &dummy_ops, h, 0) == 0);
    CHECK(virtio_mmio_register(h->vm, &h->vdev, BASE, INTID, NULL, &h->m) == 0);
    return true;
}

static void harness_fini(struct harness *h)
{
    virtio_mmio_unregister(h->m);
    vm_destroy(h->vm);
    free(h->ram);
}

/* What must hold after every record, whatever the driver did. */
static void check_invariants(struct harness *h)
{
    virtio_device_t *v = &h->vdev;
    uint8_t s = v->status;

    CHECK(!(s & 0x30)); /* reserved bits never stick */
    if (s & VIRTIO_STATUS_FEATURES_OK) {
        CHECK((v->driver_features & ~v->device_features) == 0);
        CHECK(v->driver_features & (1ull << VIRTIO_F_VERSION_1));
        CHECK(s & VIRTIO_STATUS_DRIVER);
    }
    if (s & VIRTIO_STATUS_DRIVER) {
        CHECK(s & VIRTIO_STATUS_ACKNOWLEDGE);
    }
    if (s & VIRTIO_STATUS_DRIVER_OK) {
        CHECK(s & VIRTIO_STATUS_FEATURES_OK);
    }
    for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
        const virtq_t *q = &v->queues[i];
        if (q->ready) {
            CHECK(i < NQ && v->qcfg[i].enabled);
            CHECK(q->size && (q->size & (q->size - 1)) == 0 && q->size <= QMAX);
            CHECK(s & VIRTIO_STATUS_FEATURES_OK);
        }
        if (v->qcfg[i].enabled) {
            CHECK(q->ready);
        }
    }
}

static void host_event(struct harness *h, uint64_t value)
{
    virtio_device_t *v = &h->vdev;

    pthread_mutex_lock(&v->lock);
    switch (value % 4) {
    case 0:
        for (unsigned int i = 0; i < NQ; i++) {
            if (h->pending[i]) {
                h->pending[i] = false;
                serve(v, i);
            }
        }
        break;
    case 1:
        h->config[1]++;
        virtio_device_config_changed(v);
        break;
    case 2:
        virtio_device_set_needs_reset(v, "fuzz");
        break;
    default:
        break;
    }
    pthread_mutex_unlock(&v->lock);
    if (value % 4 == 3) {
        virtio_mmio_reset(h->m);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t widths[4] = {1, 2, 4, 8};
    struct harness *h = malloc(sizeof(*h));

    vmm_log_set_level(VMM_LOG_ERR);
    if (!h || !harness_init(h)) {
        free(h);
        return 0;
    }
    size_t pos = 0;
    fuzz_record_t rec;
    while (fuzz_record_next(data, size, &pos, RECORD_OFF_BYTES, &rec)) {
        unsigned int kind = rec.head & 3;
        uint32_t len = widths[(rec.head >> 2) & 3];
        uint16_t off = (uint16_t)rec.off;
        uint64_t value = rec.value;

        switch (kind) {
        case 0:
        case 1: {
            uint64_t o = off % (VIRTIO_MMIO_SIZE + 0x10);
            uint64_t got = fuzz_guest_access(h->vcpu, BASE + o, len, kind == 1, value);
            if (kind == 0 && o == VIRTIO_MMIO_REG_INTERRUPT_STATUS && len == 4) {
                CHECK((got & ~3ull) == 0);
            }
            if (kind == 0 && o == VIRTIO_MMIO_REG_MAGIC_VALUE && len == 4) {
                CHECK(got == VIRTIO_MMIO_MAGIC);
            }
            break;
        }
        case 2:
            memcpy(h->ram + off % (RAM_SIZE - 7), &value, 8);
            break;
        default:
            host_event(h, value);
            break;
        }
        check_invariants(h);
    }
    harness_fini(h);
    free(h);
    return 0;
}
