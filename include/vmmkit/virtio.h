/*
 * virtio.h - a virtio device, independent of its transport.
 *
 * A device (console, rng, blk, ...) fills a virtio_device_ops_t and embeds
 * a virtio_device_t; a transport (virtio_mmio.h, virtio_pci.h) exposes it
 * to the guest.  The two meet only here, so every device runs over every
 * transport unchanged.  This file owns what the transports share: the
 * device status state machine (virtio 1.2, 2.1 and 3.1.1), feature
 * negotiation (2.2), the queues' configuration before they go live, the
 * config-space bounds checks and the DEVICE_NEEDS_RESET path.
 *
 * The rules, as this layer enforces them against a driver that may be
 * hostile or simply wrong:
 *  - Status (2.1, 3.1.1): writing 0 resets.  Otherwise bits are only added,
 *    in order: ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK; a write that
 *    clears a bit or skips a step is ignored.  FEATURES_OK is accepted only
 *    when the driver's features are a subset of the offered ones and include
 *    VERSION_1 (6.1); refused, it stays clear when the driver reads it back
 *    (2.2.2).  DRIVER_OK calls ops->activate and delivers kicks that came
 *    early.  FAILED may be set at any time; the device then serves nothing
 *    until a reset.  DEVICE_NEEDS_RESET belongs to the device: a driver
 *    write neither sets nor clears it.
 *  - Features (2.2): two 32-bit halves; writes after FEATURES_OK are ignored.
 *  - Config space (2.5, 4.1.3.1, 4.2.2.2): widths 1, 2, 4, 8, aligned to
 *    min(width, 4), wholly inside ops->config_size; anything else reads 0
 *    and writes are dropped.
 *  - Queues (2.7, 4.2.2.2): a queue goes live only after FEATURES_OK, with a
 *    power-of-2 size up to ops->queue_max_size and rings in guest RAM;
 *    otherwise the device enters DEVICE_NEEDS_RESET (2.1.2), never the VMM.
 *    A kick for a queue that is not live is ignored (before DRIVER_OK it is
 *    remembered and delivered at DRIVER_OK).
 * Every ignored or refused guest action has a name (virtio_error_t), is
 * counted in vdev->errors[] and logged rate-limited with the device's name.
 *
 * Threads and locking: vdev->lock serialises everything on one device: the
 * transport's register accesses (vCPU threads), queue notifications (the
 * I/O thread, or a vCPU thread when the backend has no ioeventfd) and the
 * device's own back-end events.  Device callbacks run with it held; a
 * device calls virtio_device_used() / virtio_device_config_changed() with
 * it held as well.
 */
#ifndef VMMKIT_VIRTIO_H
#define VMMKIT_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <vmmkit/log.h>
#include <vmmkit/virtio_queue.h>
#include <vmmkit/vm.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER 2u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED 128u

/* Reserved feature bits (6). */
#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

/* Device types (5). */
#define VIRTIO_ID_NET 1u
#define VIRTIO_ID_BLOCK 2u
#define VIRTIO_ID_CONSOLE 3u
#define VIRTIO_ID_RNG 4u

#define VIRTIO_MAX_QUEUES 64u

/* "No MSI-X vector" for virtio_queue_config_t.msix_vector (4.1.4.3); the reset value. */
#define VIRTIO_MSI_NO_VECTOR 0xffffu

/* Every way a driver can misuse the common device interface (counted per device). */
typedef enum virtio_error {
    VIRTIO_E_STATUS_CLEAR = 0, /* a status write cleared a bit without resetting (2.1.1) */
    VIRTIO_E_STATUS_ORDER,     /* a status bit set before its predecessor (3.1.1), or after
                                * FAILED without a reset */
    VIRTIO_E_STATUS_RESERVED,  /* a reserved or device-owned status bit written (2.1) */
    VIRTIO_E_FEATURES_REFUSED, /* FEATURES_OK refused: not a subset, or no VERSION_1 (2.2.2) */
    VIRTIO_E_FEATURES_LATE,    /* a feature write after FEATURES_OK (3.1.1) */
    VIRTIO_E_FEATURES_SELECT,  /* feature bits beyond 63 accepted (none are offered) */
    VIRTIO_E_CONFIG_WIDTH,     /* config access not 1/2/4/8 bytes or misaligned (4.2.2.2) */
    VIRTIO_E_CONFIG_RANGE,     /* config access beyond ops->config_size */
    VIRTIO_E_CONFIG_READONLY,  /* config write to a device whose config space is read-only */
    VIRTIO_E_QUEUE_INDEX,      /* a queue index >= ops->num_queues */
    VIRTIO_E_QUEUE_STATE,      /* queue enabled twice, or before FEATURES_OK (3.1.1) */
    VIRTIO_E_QUEUE_CONFIG,     /* queue size or ring addresses refused (2.7) */
    VIRTIO_E_NOTIFY_NOT_READY, /* kick for a queue that is not enabled */
    VIRTIO_E_NOTIFY_NOT_LIVE,  /* kick before DRIVER_OK (deferred), or after FAILED or
                                * DEVICE_NEEDS_RESET (dropped) */
    VIRTIO_E_ACTIVATE,         /* ops->activate refused DRIVER_OK */
    VIRTIO_E_COUNT
} virtio_error_t;

typedef struct virtio_device virtio_device_t;

/* What a device tells the transports about itself. */
typedef struct virtio_device_ops {
    const char *name;        /* "virtio-rng" */
    uint32_t device_id;      /* VIRTIO_ID_* */
    unsigned int num_queues; /* 1..VIRTIO_MAX_QUEUES */
    uint16_t queue_max_size; /* power of 2 */
    uint64_t features;       /* device-specific bits; the common layer adds VERSION_1,
                              * RING_INDIRECT_DESC and RING_EVENT_IDX */
    uint32_t config_size;    /* bytes of device config space */
    /* Config space; the common layer has checked offset + len <= config_size. */
    void (*config_read)(virtio_device_t *vdev, uint32_t offset, void *buf, uint32_t len);
    void (*config_write)(virtio_device_t *vdev, uint32_t offset, const void *buf, uint32_t len);
    /* The driver set DRIVER_OK: queues are live.  Nonzero -> DEVICE_NEEDS_RESET. */
    int (*activate)(virtio_device_t *vdev);
    /* Queue @idx has new available buffers. */
    void (*queue_notify)(virtio_device_t *vdev, unsigned int idx);
    /* Device reset (driver wrote status 0, or the VM reset): drop in-flight work. */
    void (*reset)(virtio_device_t *vdev);
    /*
     * Optional: the driver is disabling queue @idx (virtio-mmio QueueReady
     * = 0), whose ring is dropped when this returns: finish or drop the
     * queue's in-flight work so nothing reaches the ring afterwards.
     */
    void (*queue_disable)(virtio_device_t *vdev, unsigned int idx);
} virtio_device_ops_t;

/* How a transport raises interrupts for the common layer (called with vdev->lock held). */
typedef struct virtio_transport_ops {
    void (*notify_used)(virtio_device_t *vdev, unsigned int queue); /* used-buffer interrupt */
    void (*notify_config)(virtio_device_t *vdev);                   /* config-change interrupt */
    /* Optional: the device was reset; clear transport state (interrupt status, selectors). */
    void (*reset)(virtio_device_t *vdev);
} virtio_transport_ops_t;

/*
 * Per-queue configuration the driver writes before enabling a queue.  A
 * reset sets size to ops->queue_max_size (PCI's queue_size reads the
 * maximum after reset, 4.1.4.3), msix_vector to VIRTIO_MSI_NO_VECTOR and
 * everything else to 0.
 */
typedef struct virtio_queue_config {
    uint16_t size;
    uint64_t desc, driver, device; /* ring addresses (descriptor, avail, used) */
    uint16_t msix_vector;          /* PCI only */
    bool enabled;
} virtio_queue_config_t;

struct virtio_device {
    const virtio_device_ops_t *ops;
    void *priv; /* the device's own state */
    vm_t *vm;
    char name[32]; /* "virtio-rng0" */
    pthread_mutex_t lock;

    uint8_t status;
    uint64_t device_features;       /* offered */
    uint64_t driver_features;       /* accepted, valid once FEATURES_OK */
    bool driver_features_beyond_64; /* the driver wrote bits past 63: FEATURES_OK is refused */
    uint8_t config_generation;
    virtio_queue_config_t qcfg[VIRTIO_MAX_QUEUES];
    virtq_t queues[VIRTIO_MAX_QUEUES];
    char queue_names[VIRTIO_MAX_QUEUES][40]; /* "virtio-rng0.q0", pointed to by queues[i].name */
    uint64_t notify_pending;                 /* bit i: queue i was kicked before DRIVER_OK */

    const virtio_transport_ops_t *transport;
    void *transport_priv;

    uint64_t errors[VIRTIO_E_COUNT]; /* updated with relaxed atomics */
    vmm_ratelimit_t log_rl;
};

/* Name of a reason ("status-order", ...); "unknown" when out of range. */
const char *virtio_error_name(virtio_error_t err);

/* How often @err happened on @vdev (any thread). */
uint64_t virtio_device_error_count(const virtio_device_t *vdev, virtio_error_t err);

/*
 * Initialise @vdev for @ops (which must outlive it) in the reset state;
 * name it "<ops->name><index>".  Offers ops->features plus VERSION_1,
 * RING_INDIRECT_DESC and RING_EVENT_IDX.  Returns 0, or -EINVAL when @ops
 * is malformed (no name, num_queues outside 1..VIRTIO_MAX_QUEUES,
 * queue_max_size not a power of 2 in 1..VIRTQ_MAX_SIZE).
 */
int virtio_device_init(virtio_device_t *vdev, vm_t *vm, const virtio_device_ops_t *ops, void *priv,
                       unsigned int index);

/*
 * Bind the transport (done by virtio_mmio_register() / virtio_pci_register();
 * NULL @t unbinds).  Take vdev->lock around it once other threads may see
 * the device.
 */
void virtio_device_set_transport(virtio_device_t *vdev, const virtio_transport_ops_t *t,
                                 void *transport_priv);

/*
 * Transport side, with vdev->lock held.  Each validates what the guest
 * wrote and never fails the VMM: a bad value is ignored (and counted) or
 * puts the device into DEVICE_NEEDS_RESET.
 *
 * The driver wrote the device status (rules above); 0 resets the device.
 */
void virtio_device_write_status(virtio_device_t *vdev, uint8_t status);
/* Offered feature bits 32*@select .. 32*@select+31 (0 for @select > 1). */
uint32_t virtio_device_read_features(virtio_device_t *vdev, uint32_t select);
/* The driver accepts feature bits 32*@select .. +31; ignored after FEATURES_OK. */
void virtio_device_write_features(virtio_device_t *vdev, uint32_t select, uint32_t value);
/*
 * Read/write @len bytes of config space at @offset (@buf holds @len bytes).
 * Out-of-range, odd-width or misaligned accesses read 0 / are dropped.
 */
void virtio_device_config_read(virtio_device_t *vdev, uint32_t offset, void *buf, uint32_t len);
void virtio_device_config_write(virtio_device_t *vdev, uint32_t offset, const void *buf,
                                uint32_t len);
/*
 * The driver enabled queue @idx with vdev->qcfg[idx]: checks it and makes
 * the ring live (qcfg[idx].enabled), or sets DEVICE_NEEDS_RESET.
 */
void virtio_device_queue_enable(virtio_device_t *vdev, unsigned int idx);
/*
 * The driver stopped using queue @idx (virtio-mmio QueueReady = 0):
 * ops->queue_disable, then the ring is dropped (virtq_reset), its
 * configuration kept.
 */
void virtio_device_queue_disable(virtio_device_t *vdev, unsigned int idx);
/*
 * The driver kicked queue @idx (from the transport's notify register or
 * ioeventfd): ops->queue_notify() when the queue and the device are live.
 */
void virtio_device_queue_notify(virtio_device_t *vdev, unsigned int idx);
/*
 * Full device reset (status 0, or the VM reset): ops->reset, every queue
 * and qcfg back to the reset state, status and features 0, the
 * transport's reset.  The config generation is kept (it only moves on).
 */
void virtio_device_reset(virtio_device_t *vdev);

/*
 * Device side.  After pushing used buffers on queue @idx: interrupt the
 * driver if virtq_should_notify() says so (never before DRIVER_OK, 2.1.2).
 */
void virtio_device_used(virtio_device_t *vdev, unsigned int idx);
/* The device changed its config space: bump the generation, interrupt. */
void virtio_device_config_changed(virtio_device_t *vdev);
/*
 * The device cannot go on (2.1.2): set DEVICE_NEEDS_RESET, log @why
 * (rate-limited) and, the first time, send a config-change interrupt.
 */
void virtio_device_set_needs_reset(virtio_device_t *vdev, const char *why);
/* Whether feature bit @bit was negotiated (false before FEATURES_OK). */
bool virtio_device_has_feature(const virtio_device_t *vdev, unsigned int bit);

#ifdef __cplusplus
}
#endif
#endif
