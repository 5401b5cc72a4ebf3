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

typedef struct virtio_device virtio_device_t;

/* What a device tells the transports about itself. */
typedef struct virtio_device_ops {
    const char *name;          /* "virtio-rng" */
    uint32_t device_id;        /* VIRTIO_ID_* */
    unsigned int num_queues;   /* 1..VIRTIO_MAX_QUEUES */
    uint16_t queue_max_size;   /* power of 2 */
    uint64_t features;         /* device-specific bits; the common layer adds VERSION_1,
                                * RING_INDIRECT_DESC and RING_EVENT_IDX */
    uint32_t config_size;      /* bytes of device config space */
    /* Config space; the common layer has checked offset + len <= config_size. */
    void (*config_read)(virtio_device_t *vdev, uint32_t offset, void *buf, uint32_t len);
    void (*config_write)(virtio_device_t *vdev, uint32_t offset, const void *buf, uint32_t len);
    /* The driver set DRIVER_OK: queues are live.  Nonzero -> DEVICE_NEEDS_RESET. */
    int (*activate)(virtio_device_t *vdev);
    /* Queue @idx has new available buffers. */
    void (*queue_notify)(virtio_device_t *vdev, unsigned int idx);
    /* Device reset (driver wrote status 0, or the VM reset): drop in-flight work. */
    void (*reset)(virtio_device_t *vdev);
} virtio_device_ops_t;

/* How a transport raises interrupts for the common layer. */
typedef struct virtio_transport_ops {
    void (*notify_used)(virtio_device_t *vdev, unsigned int queue); /* used-buffer interrupt */
    void (*notify_config)(virtio_device_t *vdev);                   /* config-change interrupt */
} virtio_transport_ops_t;

/* Per-queue configuration the driver writes before enabling a queue. */
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
    uint64_t device_features; /* offered */
    uint64_t driver_features; /* accepted, valid once FEATURES_OK */
    uint8_t config_generation;
    virtio_queue_config_t qcfg[VIRTIO_MAX_QUEUES];
    virtq_t queues[VIRTIO_MAX_QUEUES];

    const virtio_transport_ops_t *transport;
    void *transport_priv;
};

/* Initialise @vdev for @ops; name it "<ops->name><index>". Returns 0 or -errno. */
int virtio_device_init(virtio_device_t *vdev, vm_t *vm, const virtio_device_ops_t *ops,
                       void *priv, unsigned int index);

/* Bind the transport (done by virtio_mmio_register() / virtio_pci_register()). */
void virtio_device_set_transport(virtio_device_t *vdev, const virtio_transport_ops_t *t,
                                 void *transport_priv);

/*
 * Transport side, with vdev->lock held.  Each validates what the guest
 * wrote and never fails the VMM: a bad value is ignored (and counted) or
 * puts the device into DEVICE_NEEDS_RESET.
 */
void virtio_device_write_status(virtio_device_t *vdev, uint8_t status);
uint32_t virtio_device_read_features(virtio_device_t *vdev, uint32_t select);
void virtio_device_write_features(virtio_device_t *vdev, uint32_t select, uint32_t value);
/* Read/write config space; out-of-range or odd-width accesses read 0 / are dropped. */
void virtio_device_config_read(virtio_device_t *vdev, uint32_t offset, void *buf, uint32_t len);
void virtio_device_config_write(virtio_device_t *vdev, uint32_t offset, const void *buf,
                                uint32_t len);
/* The driver enabled queue @idx with vdev->qcfg[idx]: checks and makes it live. */
void virtio_device_queue_enable(virtio_device_t *vdev, unsigned int idx);
/* The driver kicked queue @idx (from the transport's notify register or ioeventfd). */
void virtio_device_queue_notify(virtio_device_t *vdev, unsigned int idx);
/* Full device reset (status 0 or VM reset). */
void virtio_device_reset(virtio_device_t *vdev);

/*
 * Device side.  After pushing used buffers on queue @idx: interrupt the
 * driver if virtq_should_notify() says so.
 */
void virtio_device_used(virtio_device_t *vdev, unsigned int idx);
/* The device changed its config space: bump the generation, interrupt. */
void virtio_device_config_changed(virtio_device_t *vdev);
/* The device cannot go on (2.1.2): set DEVICE_NEEDS_RESET and interrupt. */
void virtio_device_set_needs_reset(virtio_device_t *vdev, const char *why);
/* Whether feature bit @bit was negotiated. */
bool virtio_device_has_feature(const virtio_device_t *vdev, unsigned int bit);

#ifdef __cplusplus
}
#endif
#endif
