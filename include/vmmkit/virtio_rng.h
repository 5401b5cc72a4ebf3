/*
 * virtio_rng.h - the virtio entropy device (virtio 1.2, 5.4).
 *
 * One queue (requestq).  The driver posts device-writable buffers; the
 * device fills them from the host kernel's random pool (getrandom(2),
 * non-blocking) and returns each chain with the number of bytes written.
 * It may write less than the whole chain (5.4.6.2): at most
 * VIRTIO_RNG_MAX_FILL bytes a chain, so one request cannot keep the thread
 * that serves the queue busy for long, and fewer when the host pool is not
 * ready yet.  No feature bits, no config space.
 *
 * Create it, then expose virtio_rng_device() through a transport
 * (virtio_mmio_register() / virtio_pci_register()).  Queue notifications
 * and resets come through the virtio_device_t with its lock held (see
 * virtio.h); the device has no thread and no host back end of its own.
 *
 * The guest may be hostile: chains it gets wrong are returned used with
 * length 0, counted (virtio_rng_stat(), and the queue's own virtq_error_t
 * counters) and logged rate-limited; a broken ring puts the device into
 * DEVICE_NEEDS_RESET.  Nothing it does stops the VMM.
 */
#ifndef VMMKIT_VIRTIO_RNG_H
#define VMMKIT_VIRTIO_RNG_H

#include <stdint.h>

#include <vmmkit/virtio.h>
#include <vmmkit/vm.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VIRTIO_RNG_QUEUE_SIZE 256u      /* largest requestq the driver may choose */
#define VIRTIO_RNG_MAX_FILL (64u << 10) /* bytes written into one chain at most */

typedef struct virtio_rng virtio_rng_t;

/* What the device counts (virtio_rng_stat()). */
typedef enum virtio_rng_stat {
    VIRTIO_RNG_STAT_REQUESTS = 0, /* chains served with random bytes */
    VIRTIO_RNG_STAT_BYTES,        /* random bytes written to the guest */
    VIRTIO_RNG_STAT_SHORT,        /* chains given fewer bytes than asked: the fill cap or a
                                   * host pool not ready (EAGAIN) */
    /* Guest misbehaviour: */
    VIRTIO_RNG_STAT_NO_WRITABLE, /* a chain without device-writable bytes: used with 0 */
    VIRTIO_RNG_STAT_READABLE,    /* a chain with device-readable buffers (5.4.6.1): ignored */
    VIRTIO_RNG_STAT_REFUSED,     /* a chain the queue refused (virtq_error_t): used with 0 */
    VIRTIO_RNG_STAT_RING_BROKEN, /* a ring-level error: DEVICE_NEEDS_RESET */
    VIRTIO_RNG_STAT_COUNT
} virtio_rng_stat_t;

/*
 * Create virtio-rng number @index (named "virtio-rng<index>") for @vm.
 * Returns 0 and the device in *@out, or -EINVAL / -ENOMEM.
 */
int virtio_rng_create(vm_t *vm, unsigned int index, virtio_rng_t **out);

/* The transport-independent device, to register with a transport. */
virtio_device_t *virtio_rng_device(virtio_rng_t *rng);

/* Counter @stat since creation (any thread; relaxed reads). */
uint64_t virtio_rng_stat(const virtio_rng_t *rng, virtio_rng_stat_t stat);

/* Name of @stat ("requests", ...); "unknown" when out of range. */
const char *virtio_rng_stat_name(virtio_rng_stat_t stat);

/*
 * Free the device.  Unregister it from its transport (and remove any
 * ioeventfd handler) first: no notification may be in flight.
 */
void virtio_rng_destroy(virtio_rng_t *rng);

#ifdef __cplusplus
}
#endif
#endif
