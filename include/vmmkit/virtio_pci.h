/*
 * virtio_pci.h - the modern virtio-pci transport (virtio 1.2, 4.1).
 *
 * virtio_pci_register() puts a virtio_device_t (virtio.h) behind a PCI
 * host bridge (pci.h) as a non-transitional ("modern only") PCI function:
 * vendor 0x1af4, device 0x1040 + the virtio device ID, revision 1,
 * subsystem vendor 0x1af4 and subsystem ID 0x40 + the device ID (4.1.2),
 * interrupt pin INTA#.  Its registers sit in one 64-bit memory BAR, BAR 0,
 * found by the driver through vendor-specific capabilities (4.1.4):
 *
 *   BAR 0 offset  size                what                     capability
 *   0x0000        0x3c                common configuration     COMMON_CFG (4.1.4.3)
 *   0x1000        1                   ISR status, read clears  ISR_CFG (4.1.4.5)
 *   0x2000        config_size         device configuration     DEVICE_CFG (4.1.4.6)
 *   0x3000        4 x num_queues      queue notify doorbells   NOTIFY_CFG (4.1.4.4),
 *                                     queue i at 0x3000 + 4i   multiplier 4
 *   0x4000        16 x (queues + 1)   MSI-X table              MSI-X (PCI 3.0 6.8.2)
 *   0x5000        8 x ...             MSI-X pending bits
 *
 * plus the PCI configuration access capability (PCI_CFG, 4.1.4.9), a
 * window onto the BAR through config space.  MSI-X has num_queues + 1
 * vectors; the driver maps the config-change interrupt (msix_config) and
 * each queue (queue_msix_vector) to one; a vector beyond the table is
 * refused and reads back NO_VECTOR (0xffff, 4.1.4.3, 4.1.5.1.2).  With
 * MSI-X disabled the device sets ISR bits and raises INTx; reading the ISR
 * clears it and lowers the line (4.1.4.5, 4.1.5.3, 4.1.5.4).
 *
 * Fast path: with an I/O thread and a backend with ioeventfds, each
 * queue's doorbell is an ioeventfd (16-bit writes, the width drivers use,
 * 4.1.5.2), bound where BAR 0 decodes and moved with it; a kick then costs
 * the vCPU no exit to user space.  Without them, or for other widths,
 * kicks are trapped writes served on the vCPU thread by the same code.
 * MSIs go through vm_irq_msi_devid() (an ioctl) from whichever thread
 * signals them.
 *
 * The driver is held to 4.1.3.1: common-configuration fields are accessed
 * at their natural width (64-bit fields also as two 32-bit halves), the
 * ISR as one byte, device configuration as the common layer allows; queue
 * configuration is frozen once the queue is enabled (its MSI-X vector
 * excepted), queue_enable takes only 1.  Anything else is ignored, named
 * (virtio_pci_error_t), counted and logged rate-limited; nothing stops the
 * VM.  VIRTIO_F_RING_RESET and VIRTIO_F_NOTIF_CONFIG_DATA are not offered:
 * queue_reset and queue_notif_config_data read 0.  Legacy (transitional)
 * drivers and shared memory capabilities are not supported.
 *
 * Threads and locking: the PCI function's lock is vdev->lock, so config
 * space accesses (vCPU threads), BAR accesses (vCPU threads), kicks (the
 * I/O thread) and the device's interrupts all serialise on it; the
 * transport's registers are guarded by it too.
 *
 * Lifetime: the host bridge owns the PCI function; pci_host_destroy()
 * releases the transport (stops the kicks, detaches @vdev).  Destroy the
 * host before the virtio devices and the I/O thread.  pci_host_reset()
 * resets the device (virtio_device_reset) along with the function.
 */
#ifndef VMMKIT_VIRTIO_PCI_H
#define VMMKIT_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include <vmmkit/iothread.h>
#include <vmmkit/pci.h>
#include <vmmkit/virtio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Identity (4.1.2). */
#define VIRTIO_PCI_VENDOR_ID 0x1af4u
#define VIRTIO_PCI_DEVICE_ID_BASE 0x1040u /* + the virtio device ID */
#define VIRTIO_PCI_REVISION 1u
#define VIRTIO_PCI_SUBSYSTEM_ID_BASE 0x40u /* + the virtio device ID */

/* The vendor-specific capability (4.1.4): cfg_type values and field offsets. */
#define VIRTIO_PCI_CAP_COMMON_CFG 1u
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2u
#define VIRTIO_PCI_CAP_ISR_CFG 3u
#define VIRTIO_PCI_CAP_DEVICE_CFG 4u
#define VIRTIO_PCI_CAP_PCI_CFG 5u
#define VIRTIO_PCI_CAP_LEN 2u /* from the capability's start: cap_len */
#define VIRTIO_PCI_CAP_CFG_TYPE 3u
#define VIRTIO_PCI_CAP_BAR 4u
#define VIRTIO_PCI_CAP_ID 5u
#define VIRTIO_PCI_CAP_OFFSET 8u
#define VIRTIO_PCI_CAP_LENGTH 12u
#define VIRTIO_PCI_CAP_SIZE 16u          /* struct virtio_pci_cap */
#define VIRTIO_PCI_NOTIFY_MULTIPLIER 16u /* offset of notify_off_multiplier */
#define VIRTIO_PCI_CFG_DATA 16u          /* offset of pci_cfg_data in the PCI_CFG capability */

/* BAR 0 layout (see the table above). */
#define VIRTIO_PCI_BAR 0u
#define VIRTIO_PCI_BAR_SIZE 0x8000u
#define VIRTIO_PCI_COMMON_OFFSET 0x0000u
#define VIRTIO_PCI_COMMON_SIZE 0x3cu
#define VIRTIO_PCI_ISR_OFFSET 0x1000u
#define VIRTIO_PCI_DEVICE_OFFSET 0x2000u
#define VIRTIO_PCI_DEVICE_MAX 0x1000u /* most device config space this layout holds */
#define VIRTIO_PCI_NOTIFY_OFFSET 0x3000u
#define VIRTIO_PCI_NOTIFY_OFF_MULTIPLIER 4u
#define VIRTIO_PCI_MSIX_TABLE_OFFSET 0x4000u
#define VIRTIO_PCI_MSIX_PBA_OFFSET 0x5000u

/* Common configuration fields (4.1.4.3, struct virtio_pci_common_cfg). */
#define VIRTIO_PCI_COMMON_DFSELECT 0x00u /* le32 device_feature_select, RW */
#define VIRTIO_PCI_COMMON_DF 0x04u       /* le32 device_feature, R */
#define VIRTIO_PCI_COMMON_GFSELECT 0x08u /* le32 driver_feature_select, RW */
#define VIRTIO_PCI_COMMON_GF 0x0cu       /* le32 driver_feature, RW */
#define VIRTIO_PCI_COMMON_MSIX 0x10u     /* le16 config_msix_vector, RW */
#define VIRTIO_PCI_COMMON_NUMQ 0x12u     /* le16 num_queues, R */
#define VIRTIO_PCI_COMMON_STATUS 0x14u   /* u8 device_status, RW */
#define VIRTIO_PCI_COMMON_CFGGEN 0x15u   /* u8 config_generation, R */
#define VIRTIO_PCI_COMMON_Q_SELECT 0x16u /* le16 queue_select, RW */
#define VIRTIO_PCI_COMMON_Q_SIZE 0x18u   /* le16 queue_size, RW */
#define VIRTIO_PCI_COMMON_Q_MSIX 0x1au   /* le16 queue_msix_vector, RW */
#define VIRTIO_PCI_COMMON_Q_ENABLE 0x1cu /* le16 queue_enable, RW */
#define VIRTIO_PCI_COMMON_Q_NOFF 0x1eu   /* le16 queue_notify_off, R */
#define VIRTIO_PCI_COMMON_Q_DESC 0x20u   /* le64 queue_desc, RW */
#define VIRTIO_PCI_COMMON_Q_DRIVER 0x28u /* le64 queue_driver, RW */
#define VIRTIO_PCI_COMMON_Q_DEVICE 0x30u /* le64 queue_device, RW */
#define VIRTIO_PCI_COMMON_Q_NDATA 0x38u  /* le16 queue_notif_config_data, R */
#define VIRTIO_PCI_COMMON_Q_RESET 0x3au  /* le16 queue_reset, RW */

/* ISR status bits (4.1.4.5). */
#define VIRTIO_PCI_ISR_QUEUE 1u
#define VIRTIO_PCI_ISR_CONFIG 2u

/* Every way a driver can misuse the transport (counted per transport). */
typedef enum virtio_pci_error {
    VIRTIO_PCI_E_WIDTH = 0,    /* an access not of the field's width or misaligned (4.1.3.1) */
    VIRTIO_PCI_E_UNKNOWN,      /* a BAR offset that names no field (gaps, past a structure) */
    VIRTIO_PCI_E_READ_ONLY,    /* a write to a read-only field */
    VIRTIO_PCI_E_WRITE_ONLY,   /* a read of a doorbell (reads 0) */
    VIRTIO_PCI_E_QUEUE_SELECT, /* a queue field written with queue_select past the last queue */
    VIRTIO_PCI_E_QUEUE_LIVE,   /* queue configuration written while the queue is enabled */
    VIRTIO_PCI_E_VALUE,        /* a value the field cannot take (queue_enable other than 1) */
    VIRTIO_PCI_E_MSIX_VECTOR,  /* an MSI-X vector beyond the table: stored as NO_VECTOR */
    VIRTIO_PCI_E_CFG_WINDOW,   /* pci_cfg_data used with a bad bar, offset or length (4.1.4.9) */
    VIRTIO_PCI_E_COUNT
} virtio_pci_error_t;

typedef struct virtio_pci virtio_pci_t;

/*
 * Expose @vdev (initialised with virtio_device_init(), not yet on a
 * transport) as a PCI function in slot @slot of @host (a negative @slot:
 * the lowest free one).  @io: the I/O thread that serves queue kicks
 * through ioeventfds, or NULL to take every kick as a trapped write on the
 * vCPU thread.  Call before vm_run().  Stores the transport in *@out (may
 * be NULL).
 * Returns the slot; -EINVAL (NULL argument, device config space over
 * VIRTIO_PCI_DEVICE_MAX); -EBUSY (@vdev already has a transport, or the
 * slot is taken); -ENOSPC (no slot, or no room in the windows); -ENOMEM;
 * or the errno of a failed eventfd or I/O-thread operation.
 */
int virtio_pci_register(pci_host_t *host, virtio_device_t *vdev, int slot, iothread_t *io,
                        virtio_pci_t **out);

/* The virtio device and the PCI function behind @p. */
virtio_device_t *virtio_pci_device(const virtio_pci_t *p);
pci_device_t *virtio_pci_function(const virtio_pci_t *p);

/* Whether kicks currently arrive on ioeventfds (BAR 0 decoding, backend willing). */
bool virtio_pci_has_ioeventfd(const virtio_pci_t *p);

/* Name of a reason ("width", ...); "unknown" when out of range. */
const char *virtio_pci_error_name(virtio_pci_error_t err);

/* How often @err happened on @p (any thread). */
uint64_t virtio_pci_error_count(const virtio_pci_t *p, virtio_pci_error_t err);

#ifdef __cplusplus
}
#endif
#endif
