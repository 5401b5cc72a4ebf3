/*
 * virtio_guest.h - a pretend virtio driver for device tests and fuzzers:
 * negotiates through the virtio_device_* calls a transport would make,
 * builds split rings by hand in fake-backend guest RAM (2.7), kicks, reads
 * the used ring, and counts the interrupts a fake transport receives.
 *
 * RAM layout from g->ram_base: queue i's rings at i * VG_QUEUE_STRIDE
 * (descriptors +0, available ring +0x1000, used ring +0x2000: room for
 * 256 entries), buffers from VG_DATA_OFFSET up (a bump allocator).
 * Header-only, no cmocka: callers check the results.  Include
 * "fake_hv.h" first.
 */
#ifndef VMMKIT_TESTS_VIRTIO_GUEST_H
#define VMMKIT_TESTS_VIRTIO_GUEST_H

#include <endian.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <vmmkit/guest_memory.h>
#include <vmmkit/virtio.h>

#define VG_QUEUE_STRIDE 0x4000u
#define VG_DATA_OFFSET (VIRTIO_MAX_QUEUES * VG_QUEUE_STRIDE)

/* The driver's side of one queue. */
struct vg_queue {
    uint16_t size;
    uint64_t desc, avail, used;
    uint16_t avail_idx; /* next avail.idx to publish */
    uint16_t used_seen; /* used entries consumed so far */
    uint16_t next_desc; /* next free descriptor (round robin) */
};

/* One buffer of a chain to build. */
struct vg_buf {
    uint64_t gpa;
    uint32_t len;
    bool writable;
};

struct vguest {
    vm_t *vm;
    virtio_device_t *vdev;
    uint64_t ram_base;
    size_t ram_size;
    uint64_t data_next; /* bump allocator */
    struct vg_queue q[VIRTIO_MAX_QUEUES];
    int used_irqs[VIRTIO_MAX_QUEUES]; /* atomics: input threads interrupt too */
    int config_irqs;
    virtio_transport_ops_t transport;
};

static void vg_notify_used(virtio_device_t *vdev, unsigned int queue)
{
    struct vguest *g = vdev->transport_priv;
    if (queue < VIRTIO_MAX_QUEUES) {
        __atomic_fetch_add(&g->used_irqs[queue], 1, __ATOMIC_SEQ_CST);
    }
}

static void vg_notify_config(virtio_device_t *vdev)
{
    struct vguest *g = vdev->transport_priv;
    __atomic_fetch_add(&g->config_irqs, 1, __ATOMIC_SEQ_CST);
}

/* Host pointer to guest RAM at @gpa (NULL outside RAM). */
static inline void *vg_hva(struct vguest *g, uint64_t gpa, size_t len)
{
    return gpa_to_hva(g->vm, gpa, len);
}

static inline void vg_put16(struct vguest *g, uint64_t gpa, uint16_t v)
{
    uint16_t le = htole16(v);
    memcpy(vg_hva(g, gpa, 2), &le, 2);
}

static inline uint16_t vg_get16(struct vguest *g, uint64_t gpa)
{
    uint16_t v;
    memcpy(&v, vg_hva(g, gpa, 2), 2);
    return le16toh(v);
}

static inline uint32_t vg_get32(struct vguest *g, uint64_t gpa)
{
    uint32_t v;
    memcpy(&v, vg_hva(g, gpa, 4), 4);
    return le32toh(v);
}

/* Bind @g to @vdev as its transport; RAM must already cover the layout. */
static inline void vg_init(struct vguest *g, vm_t *vm, virtio_device_t *vdev, uint64_t ram_base,
                           size_t ram_size)
{
    memset(g, 0, sizeof(*g));
    g->vm = vm;
    g->vdev = vdev;
    g->ram_base = ram_base;
    g->ram_size = ram_size;
    g->data_next = ram_base + VG_DATA_OFFSET;
    g->transport.notify_used = vg_notify_used;
    g->transport.notify_config = vg_notify_config;
    pthread_mutex_lock(&vdev->lock);
    virtio_device_set_transport(vdev, &g->transport, g);
    pthread_mutex_unlock(&vdev->lock);
}

/* Start the buffer allocator over (after a device reset). */
static inline void vg_reset_data(struct vguest *g)
{
    g->data_next = g->ram_base + VG_DATA_OFFSET;
}

/* @len bytes of guest RAM for buffers, 16-aligned; 0 when RAM runs out. */
static inline uint64_t vg_alloc(struct vguest *g, size_t len)
{
    uint64_t gpa = g->data_next;
    if (gpa + len > g->ram_base + g->ram_size) {
        return 0;
    }
    g->data_next = (gpa + len + 15u) & ~15ull;
    return gpa;
}

static inline void vg_write_status(struct vguest *g, uint8_t status)
{
    pthread_mutex_lock(&g->vdev->lock);
    virtio_device_write_status(g->vdev, status);
    pthread_mutex_unlock(&g->vdev->lock);
}

static inline uint8_t vg_status(struct vguest *g)
{
    pthread_mutex_lock(&g->vdev->lock);
    uint8_t s = g->vdev->status;
    pthread_mutex_unlock(&g->vdev->lock);
    return s;
}

/* Reset, ACKNOWLEDGE, DRIVER, accept @features, FEATURES_OK; true when it stuck. */
static inline bool vg_negotiate(struct vguest *g, uint64_t features)
{
    vg_write_status(g, 0);
    vg_write_status(g, VIRTIO_STATUS_ACKNOWLEDGE);
    vg_write_status(g, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    pthread_mutex_lock(&g->vdev->lock);
    virtio_device_write_features(g->vdev, 0, (uint32_t)features);
    virtio_device_write_features(g->vdev, 1, (uint32_t)(features >> 32));
    pthread_mutex_unlock(&g->vdev->lock);
    vg_write_status(g,
                    VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    memset(g->q, 0, sizeof(g->q));
    return vg_status(g) & VIRTIO_STATUS_FEATURES_OK;
}

/* Lay out queue @idx with @size entries, zero its rings, enable it. */
static inline void vg_setup_queue(struct vguest *g, unsigned int idx, uint16_t size)
{
    struct vg_queue *q = &g->q[idx];
    uint64_t base = g->ram_base + (uint64_t)idx * VG_QUEUE_STRIDE;

    memset(q, 0, sizeof(*q));
    q->size = size;
    q->desc = base;
    q->avail = base + 0x1000;
    q->used = base + 0x2000;
    memset(vg_hva(g, base, VG_QUEUE_STRIDE), 0, VG_QUEUE_STRIDE);
    pthread_mutex_lock(&g->vdev->lock);
    g->vdev->qcfg[idx].size = size;
    g->vdev->qcfg[idx].desc = q->desc;
    g->vdev->qcfg[idx].driver = q->avail;
    g->vdev->qcfg[idx].device = q->used;
    virtio_device_queue_enable(g->vdev, idx);
    pthread_mutex_unlock(&g->vdev->lock);
}

static inline void vg_driver_ok(struct vguest *g)
{
    vg_write_status(g, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                           VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

/* Write descriptor @i of queue @qi (2.7.5). */
static inline void vg_set_desc(struct vguest *g, unsigned int qi, uint16_t i, uint64_t addr,
                               uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t raw[16];
    uint64_t a = htole64(addr);
    uint32_t l = htole32(len);
    uint16_t fl = htole16(flags), n = htole16(next);
    memcpy(raw, &a, 8);
    memcpy(raw + 8, &l, 4);
    memcpy(raw + 12, &fl, 2);
    memcpy(raw + 14, &n, 2);
    memcpy(vg_hva(g, g->q[qi].desc + 16u * i, 16), raw, 16);
}

/* Publish @head in queue @qi's available ring (no kick). */
static inline void vg_avail(struct vguest *g, unsigned int qi, uint16_t head)
{
    struct vg_queue *q = &g->q[qi];
    vg_put16(g, q->avail + 4 + 2u * (q->avail_idx % q->size), head);
    q->avail_idx++;
    uint16_t *idx = vg_hva(g, q->avail + 2, 2);
    __atomic_store_n(idx, htole16(q->avail_idx), __ATOMIC_RELEASE); /* 2.7.13 */
}

/* Set avail.idx to @idx without adding entries (for hostile rings). */
static inline void vg_set_avail_idx(struct vguest *g, unsigned int qi, uint16_t idx)
{
    g->q[qi].avail_idx = idx;
    vg_put16(g, g->q[qi].avail + 2, idx);
}

/* Build a chain of @n buffers from free descriptors and publish it; returns its head. */
static inline uint16_t vg_add_chain(struct vguest *g, unsigned int qi, const struct vg_buf *bufs,
                                    unsigned int n)
{
    struct vg_queue *q = &g->q[qi];
    uint16_t head = q->next_desc;
    for (unsigned int i = 0; i < n; i++) {
        uint16_t d = (uint16_t)((head + i) % q->size);
        uint16_t next = (uint16_t)((d + 1) % q->size);
        uint16_t flags = (bufs[i].writable ? 2u : 0u) | (i + 1 < n ? 1u : 0u);
        vg_set_desc(g, qi, d, bufs[i].gpa, bufs[i].len, flags, next);
    }
    q->next_desc = (uint16_t)((head + n) % q->size);
    vg_avail(g, qi, head);
    return head;
}

/* One buffer of @len bytes, freshly allocated, as a one-descriptor chain. */
static inline uint64_t vg_add_one(struct vguest *g, unsigned int qi, uint32_t len, bool writable,
                                  uint16_t *head)
{
    struct vg_buf b = {.gpa = vg_alloc(g, len), .len = len, .writable = writable};
    uint16_t h = vg_add_chain(g, qi, &b, 1);
    if (head) {
        *head = h;
    }
    return b.gpa;
}

/* The transport's notify register: kick queue @qi under the device lock. */
static inline void vg_kick(struct vguest *g, unsigned int qi)
{
    pthread_mutex_lock(&g->vdev->lock);
    virtio_device_queue_notify(g->vdev, qi);
    pthread_mutex_unlock(&g->vdev->lock);
}

static inline uint16_t vg_used_idx(struct vguest *g, unsigned int qi)
{
    uint16_t *idx = vg_hva(g, g->q[qi].used + 2, 2);
    return le16toh(__atomic_load_n(idx, __ATOMIC_ACQUIRE));
}

/* Take the next used element of queue @qi; false when there is none. */
static inline bool vg_get_used(struct vguest *g, unsigned int qi, uint32_t *id, uint32_t *len)
{
    struct vg_queue *q = &g->q[qi];
    if (vg_used_idx(g, qi) == q->used_seen) {
        return false;
    }
    uint64_t elem = q->used + 4 + 8u * (q->used_seen % q->size);
    *id = vg_get32(g, elem);
    *len = vg_get32(g, elem + 4);
    q->used_seen++;
    return true;
}

/* avail_event (EVENT_IDX): where the device wants the next kick (2.7.10). */
static inline uint16_t vg_avail_event(struct vguest *g, unsigned int qi)
{
    return vg_get16(g, g->q[qi].used + 4 + 8u * g->q[qi].size);
}

static inline int vg_used_irqs(struct vguest *g, unsigned int qi)
{
    return __atomic_load_n(&g->used_irqs[qi], __ATOMIC_SEQ_CST);
}

#endif
