/*
 * fuzz_driver.h - what the libFuzzer harnesses in tests/fuzz/ share: the
 * CHECK() that aborts on a broken invariant, guest RAM backed by a heap
 * buffer, the fixed-size records an input is cut into, a guest access
 * through the core's MMIO dispatch, and the hostile virtio driver the
 * device harnesses play (feature choice, bring-up, available entries,
 * kicks, misbehaviour at the transport).
 *
 * Define FUZZ_NAME (the harness's name, a string) before including it: it
 * starts every CHECK() message.  Everything here is static inline, so each
 * harness stays one translation unit with its own coverage; nothing holds
 * state of its own (a harness embeds a fuzz_driver_t and rebuilds it for
 * every input).  Build with -I src (fake_hv.h needs the core's private
 * headers).
 *
 * The driver keeps queue q's rings in guest RAM at ram_base + q * stride
 * plus the offsets of a fuzz_rings_t; a harness picks a layout, the queue
 * size and the features, and decides from its input which queue each step
 * goes to.  References: virtio 1.2, 3.1.1 (device initialisation) and
 * 2.7.13 (supplying buffers to the device).
 */
#ifndef VMMKIT_TESTS_FUZZ_DRIVER_H
#define VMMKIT_TESTS_FUZZ_DRIVER_H

#include <endian.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vmmkit/guest_memory.h>
#include <vmmkit/virtio.h>

#include "../unit/fake_hv.h"

#ifndef FUZZ_NAME
#error "define FUZZ_NAME (the harness's name) before including fuzz_driver.h"
#endif

/* Abort with FUZZ_NAME, the place and the condition when @cond is false. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, FUZZ_NAME ": %s:%d: %s\n", __FILE__, __LINE__, #cond);                 \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Map iterator for fuzz_ram_map(): @cookie is the heap buffer. */
static inline int fuzz_map_ram(uintptr_t addr, size_t size, vm_memory_backing_t *backing,
                               void *cookie)
{
    backing->hva = cookie;
    backing->readonly = false;
    return 0;
}

/*
 * Guest RAM of @vm: @size zeroed bytes of heap (4 KiB aligned) mapped as a
 * reservation at @base, so AddressSanitizer sees any access past it.
 * Returns the buffer (the caller frees it after vm_destroy()); aborts when
 * it cannot be had.
 */
static inline uint8_t *fuzz_ram_map(vm_t *vm, uint64_t base, uint64_t size)
{
    uint8_t *ram = aligned_alloc(4096, size);
    vm_memory_reservation_t *r = vm_reserve_memory_at(vm, base, size, NULL, NULL);

    CHECK(ram && r);
    memset(ram, 0, size);
    CHECK(vm_map_reservation(vm, r, fuzz_map_ram, ram) == 0);
    return ram;
}

/* One record of an input: a head byte, an offset, a value. */
typedef struct fuzz_record {
    uint8_t head;   /* byte 0: the kind, and whatever else the harness packs in */
    uint32_t off;   /* the next @off_bytes bytes, little-endian */
    uint64_t value; /* the 8 bytes after them */
} fuzz_record_t;

/*
 * The record at *@pos of @data (@size bytes), 1 + @off_bytes (at most 3)
 * + 8 bytes long, into @rec; *@pos moves past it.  Returns false, leaving
 * both alone, when less than a whole record is left (the tail is ignored).
 */
static inline bool fuzz_record_next(const uint8_t *data, size_t size, size_t *pos,
                                    unsigned int off_bytes, fuzz_record_t *rec)
{
    size_t len = 1u + off_bytes + 8u;

    if (*pos + len > size) {
        return false;
    }
    const uint8_t *r = data + *pos;
    rec->head = r[0];
    rec->off = 0;
    for (unsigned int i = 0; i < off_bytes; i++) {
        rec->off |= (uint32_t)r[1 + i] << (8 * i);
    }
    memcpy(&rec->value, r + 1 + off_bytes, 8);
    *pos += len;
    return true;
}

/* One guest access of @len bytes at @addr through vcpu_handle_exit(); what a read saw. */
static inline uint64_t fuzz_guest_access(vm_vcpu_t *vcpu, uint64_t addr, uint32_t len, bool write,
                                         uint64_t value)
{
    struct fake_exit e;
    uint64_t v = 0;

    fake_mmio(&e, addr, len, write, value);
    CHECK(vcpu_handle_exit(vcpu, &e.exit) == VCPU_CONTINUE);
    memcpy(&v, e.exit.mmio.data, len);
    return v;
}

/*
 * The features a driver accepts: @always, plus @masks[i] for every bit i
 * set in @pick (i < @n).  A mask may hold more than one feature bit.
 */
static inline uint64_t fuzz_features(uint64_t always, uint8_t pick, const uint64_t *masks,
                                     unsigned int n)
{
    uint64_t f = always;

    for (unsigned int i = 0; i < n && i < 8; i++) {
        if (pick & (1u << i)) {
            f |= masks[i];
        }
    }
    return f;
}

/* Where the driver puts its rings: queue q's area is ram_base + q * stride. */
typedef struct fuzz_rings {
    unsigned int nq; /* queues brought up: 0..nq-1 */
    uint32_t stride; /* from one queue's area to the next (unused when nq is 1) */
    uint32_t desc;   /* descriptor table, within the area */
    uint32_t avail;  /* available ring */
    uint32_t used;   /* used ring */
    uint32_t end;    /* bring-up zeroes [avail, end) of each area: both rings, any size */
} fuzz_rings_t;

#define FUZZ_MAX_QUEUES 8u

/* The hostile driver's side of one virtio device. */
typedef struct fuzz_driver {
    virtio_device_t *vdev;
    virtio_transport_ops_t transport; /* counts interrupts, nothing more */
    uint8_t *ram;                     /* guest RAM, at ram_base */
    uint64_t ram_base;
    const fuzz_rings_t *rings;
    uint64_t features;                   /* what the driver accepts */
    uint16_t qsize;                      /* what it sets at bring-up */
    uint16_t avail_idx[FUZZ_MAX_QUEUES]; /* its next avail.idx per queue */
    uint64_t irqs;
} fuzz_driver_t;

static inline void fuzz_driver_irq(virtio_device_t *vdev, unsigned int queue)
{
    fuzz_driver_t *d = vdev->transport_priv;
    d->irqs++;
}

static inline void fuzz_driver_config_irq(virtio_device_t *vdev)
{
    fuzz_driver_t *d = vdev->transport_priv;
    d->irqs++;
}

/*
 * Become @vdev's transport, with guest RAM @ram at @ram_base and the rings
 * laid out as @rings (which must outlive @d; nq at most FUZZ_MAX_QUEUES).
 * The driver will accept @features and set queues of @qsize entries; call
 * fuzz_driver_bring_up() to start.
 */
static inline void fuzz_driver_attach(fuzz_driver_t *d, virtio_device_t *vdev, uint8_t *ram,
                                      uint64_t ram_base, const fuzz_rings_t *rings,
                                      uint64_t features, uint16_t qsize)
{
    CHECK(rings->nq <= FUZZ_MAX_QUEUES);
    memset(d, 0, sizeof(*d));
    d->vdev = vdev;
    d->ram = ram;
    d->ram_base = ram_base;
    d->rings = rings;
    d->features = features;
    d->qsize = qsize;
    d->transport.notify_used = fuzz_driver_irq;
    d->transport.notify_config = fuzz_driver_config_irq;
    virtio_device_set_transport(vdev, &d->transport, d);
}

/* Guest address of queue @q's area (its rings are at the offsets of d->rings). */
static inline uint64_t fuzz_driver_area(const fuzz_driver_t *d, unsigned int q)
{
    return d->ram_base + (uint64_t)q * d->rings->stride;
}

/*
 * What a driver does at probe (3.1.1), under the lock as a transport
 * would: reset, ACKNOWLEDGE, DRIVER, the features, FEATURES_OK, every
 * queue set and enabled with fresh rings, DRIVER_OK.
 */
static inline void fuzz_driver_bring_up(fuzz_driver_t *d)
{
    virtio_device_t *v = d->vdev;
    const fuzz_rings_t *l = d->rings;

    pthread_mutex_lock(&v->lock);
    virtio_device_write_status(v, 0);
    virtio_device_write_status(v, 1);
    virtio_device_write_status(v, 3);
    virtio_device_write_features(v, 0, (uint32_t)d->features);
    virtio_device_write_features(v, 1, (uint32_t)(d->features >> 32));
    virtio_device_write_status(v, 11);
    for (unsigned int q = 0; q < l->nq; q++) {
        uint64_t area = fuzz_driver_area(d, q);
        v->qcfg[q].size = d->qsize;
        v->qcfg[q].desc = area + l->desc;
        v->qcfg[q].driver = area + l->avail;
        v->qcfg[q].device = area + l->used;
        virtio_device_queue_enable(v, q);
        memset(d->ram + (area - d->ram_base) + l->avail, 0, l->end - l->avail);
        d->avail_idx[q] = 0;
    }
    virtio_device_write_status(v, 15);
    pthread_mutex_unlock(&v->lock);
}

/* The driver notifies queue @q. */
static inline void fuzz_driver_kick(fuzz_driver_t *d, unsigned int q)
{
    pthread_mutex_lock(&d->vdev->lock);
    virtio_device_queue_notify(d->vdev, q);
    pthread_mutex_unlock(&d->vdev->lock);
}

/* The driver makes @head available on queue @q (2.7.13) in the ring bring-up set. */
static inline void fuzz_driver_publish(fuzz_driver_t *d, unsigned int q, uint16_t head)
{
    uint8_t *avail = d->ram + (fuzz_driver_area(d, q) - d->ram_base) + d->rings->avail;
    uint16_t slot = (uint16_t)(d->avail_idx[q] % d->qsize);
    uint16_t le_head = htole16(head);

    memcpy(avail + 4 + 2u * slot, &le_head, 2);
    d->avail_idx[q]++;
    uint16_t le_idx = htole16(d->avail_idx[q]);
    __atomic_store_n((uint16_t *)(avail + 2), le_idx, __ATOMIC_RELEASE);
}

/*
 * The driver misbehaves at the transport, @value % 4: reset and bring the
 * device up again; write status (@value >> 8); enable queue @q again with
 * size (@value >> 8) and its rings moved by @shift bytes; disable queue @q.
 */
static inline void fuzz_driver_misbehave(fuzz_driver_t *d, unsigned int q, uint32_t shift,
                                         uint64_t value)
{
    virtio_device_t *v = d->vdev;
    uint64_t area = fuzz_driver_area(d, q);

    switch (value % 4) {
    case 0:
        fuzz_driver_bring_up(d);
        return;
    case 1:
        pthread_mutex_lock(&v->lock);
        virtio_device_write_status(v, (uint8_t)(value >> 8));
        pthread_mutex_unlock(&v->lock);
        return;
    case 2:
        pthread_mutex_lock(&v->lock);
        virtio_device_queue_disable(v, q);
        v->qcfg[q].size = (uint16_t)(value >> 8);
        v->qcfg[q].desc = area + d->rings->desc + shift;
        v->qcfg[q].driver = area + d->rings->avail + shift;
        v->qcfg[q].device = area + d->rings->used + shift;
        virtio_device_queue_enable(v, q);
        pthread_mutex_unlock(&v->lock);
        return;
    default:
        pthread_mutex_lock(&v->lock);
        virtio_device_queue_disable(v, q);
        pthread_mutex_unlock(&v->lock);
        return;
    }
}

#endif /* VMMKIT_TESTS_FUZZ_DRIVER_H */
