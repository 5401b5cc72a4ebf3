/*
 * virtio_console.h - the virtio console device (virtio 1.2, 5.3).
 *
 * Each port joins a guest byte stream to a host chardev (chardev.h).  Port
 * 0 is the console (hvc0 in a Linux guest) on receiveq0 / transmitq0.  With
 * more than one port the device offers VIRTIO_CONSOLE_F_MULTIPORT and
 * speaks the control protocol (5.3.6.2) on the control queues: it announces
 * every port (DEVICE_ADD), names port 0 the console (CONSOLE_PORT), tags
 * ports that have a name (PORT_NAME: /dev/virtio-ports/<name> in Linux) and
 * reports each as open on the host side (PORT_OPEN); ports 1.. appear as
 * /dev/vportNpM.  VIRTIO_CONSOLE_F_EMERG_WRITE is offered too: a byte
 * written to emerg_wr goes to port 0's chardev, even before the driver set
 * the device up (5.3.5).  F_SIZE is not offered.
 *
 * Data paths:
 *  - guest output: each transmitq chain's readable bytes go to the port's
 *    chardev (chardev_write(), which may block on a slow host stream), and
 *    the chain is returned with length 0;
 *  - host input: the chardev's input thread calls the console (through
 *    virtio_console_receive()), which copies into the guest's receiveq
 *    buffers.  When there is no buffer, or the port is not ready, the
 *    console takes fewer bytes; the chardev keeps the rest and the console
 *    calls chardev_rx_ready() when that may have changed (the guest added
 *    receive buffers, DRIVER_OK, the guest opened the port).  Nothing is
 *    lost and nothing polls.  Input before DRIVER_OK is held this way; with
 *    MULTIPORT a port takes input once the guest has opened it (PORT_OPEN).
 *
 * Threads and locking: everything runs under the device's vdev->lock (see
 * virtio.h): the transport's callbacks (vCPU threads, the I/O thread) and
 * the chardevs' input threads.  The console calls chardev_write() and
 * chardev_rx_ready() with it held; a chardev calls back into the console
 * without its own locks held, so the order is always vdev->lock, then the
 * chardev's output lock.
 *
 * The guest may be hostile: chains of the wrong shape or direction are
 * returned used (length 0), counted (virtio_console_stat(), and the
 * queues' virtq_error_t counters) and logged rate-limited; a broken ring
 * puts the device into DEVICE_NEEDS_RESET.  Nothing it does stops the VMM
 * or makes a thread spin.
 */
#ifndef VMMKIT_VIRTIO_CONSOLE_H
#define VMMKIT_VIRTIO_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include <vmmkit/chardev.h>
#include <vmmkit/virtio.h>
#include <vmmkit/vm.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Feature bits (5.3.3). */
#define VIRTIO_CONSOLE_F_SIZE 0
#define VIRTIO_CONSOLE_F_MULTIPORT 1
#define VIRTIO_CONSOLE_F_EMERG_WRITE 2

/* Ports: (31 + 1) pairs of queues fill VIRTIO_MAX_QUEUES (5.3.2). */
#define VIRTIO_CONSOLE_MAX_PORTS 31u
#define VIRTIO_CONSOLE_QUEUE_SIZE 256u /* largest queue the driver may choose */
#define VIRTIO_CONSOLE_NAME_MAX 63u    /* bytes of a port name */

typedef struct virtio_console virtio_console_t;

/* One port's host side. */
typedef struct virtio_console_port_config {
    chardev_t *cd;    /* required; the caller keeps ownership */
    const char *name; /* PORT_NAME tag (multiport only), NULL for none; copied */
} virtio_console_port_config_t;

/* What the device counts (virtio_console_stat()). */
typedef enum virtio_console_stat {
    VIRTIO_CONSOLE_STAT_TX_BYTES = 0, /* guest output written to chardevs */
    VIRTIO_CONSOLE_STAT_RX_BYTES,     /* host input copied to the guest */
    VIRTIO_CONSOLE_STAT_EMERG_BYTES,  /* bytes written through emerg_wr */
    VIRTIO_CONSOLE_STAT_RX_HELD,      /* input deferred: no buffer, not live or port closed */
    VIRTIO_CONSOLE_STAT_TX_ERRORS,    /* chardev_write() failed: output dropped */
    /* Guest misbehaviour: */
    VIRTIO_CONSOLE_STAT_REFUSED,         /* a chain the queue refused (virtq_error_t): used, 0 */
    VIRTIO_CONSOLE_STAT_RING_BROKEN,     /* a ring-level error: DEVICE_NEEDS_RESET */
    VIRTIO_CONSOLE_STAT_WRONG_DIRECTION, /* writable buffers in a transmitq or readable ones
                                          * in a receiveq (5.3.6.1): ignored */
    VIRTIO_CONSOLE_STAT_RX_NO_WRITABLE,  /* a receiveq chain without writable bytes: used, 0 */
    VIRTIO_CONSOLE_STAT_QUEUE_UNUSED,    /* a kick for a queue the negotiated features leave
                                          * unused (ports > 0 or control without MULTIPORT) */
    VIRTIO_CONSOLE_STAT_CTRL_SHORT,      /* a control message shorter than 8 bytes */
    VIRTIO_CONSOLE_STAT_CTRL_BAD_ID,     /* a control message for a port that does not exist */
    VIRTIO_CONSOLE_STAT_CTRL_UNEXPECTED, /* a control message out of order (PORT_READY before
                                          * DEVICE_READY, twice, PORT_OPEN on a port not ready) */
    VIRTIO_CONSOLE_STAT_CTRL_UNKNOWN,    /* an event the driver does not send */
    VIRTIO_CONSOLE_STAT_CTRL_SMALL,      /* a control receiveq buffer too small for a message */
    VIRTIO_CONSOLE_STAT_CTRL_DROPPED,    /* a device message dropped: pending queue full */
    VIRTIO_CONSOLE_STAT_CONFIG_WRITE,    /* a config write other than emerg_wr: ignored */
    VIRTIO_CONSOLE_STAT_COUNT
} virtio_console_stat_t;

/*
 * Create virtio-console number @index ("virtio-console<index>") with one
 * port, the console, on @cd; no MULTIPORT.  Starts @cd's input
 * (chardev_start(); a chardev already started elsewhere keeps its
 * receiver).  Returns 0 and the device in *@out, or -EINVAL, -ENOMEM or
 * chardev_start()'s error.
 */
int virtio_console_create(vm_t *vm, unsigned int index, chardev_t *cd, virtio_console_t **out);

/*
 * The same with @nr_ports ports (1..VIRTIO_CONSOLE_MAX_PORTS) described by
 * @ports; port 0 is the console.  More than one port offers MULTIPORT.
 * Names longer than VIRTIO_CONSOLE_NAME_MAX are refused (-EINVAL).  When
 * starting the input of a later port fails, the earlier ports' chardevs
 * already call into the device: it is then left allocated (logged) and the
 * error returned.
 */
int virtio_console_create_ports(vm_t *vm, unsigned int index,
                                const virtio_console_port_config_t *ports, unsigned int nr_ports,
                                virtio_console_t **out);

/* The transport-independent device, to register with a transport. */
virtio_device_t *virtio_console_device(virtio_console_t *con);

/*
 * Host input for @port: copy up to @len bytes of @buf into the guest's
 * receive buffers.  Thread-safe: takes vdev->lock, so never call it with
 * that lock held (from a device or transport callback).  Returns the bytes
 * taken; fewer than @len when the guest has no room, the device is not
 * live or the port is not open; the console then calls chardev_rx_ready()
 * on the port's chardev when it should try again.  This is what the
 * port's chardev calls; a console multiplexer may call it directly.
 */
size_t virtio_console_receive(virtio_console_t *con, unsigned int port, const void *buf,
                              size_t len);

/* Counter @stat since creation (any thread; relaxed reads). */
uint64_t virtio_console_stat(const virtio_console_t *con, virtio_console_stat_t stat);

/* Name of @stat ("tx-bytes", ...); "unknown" when out of range. */
const char *virtio_console_stat_name(virtio_console_stat_t stat);

/*
 * Free the device.  First unregister it from its transport (no notification
 * in flight) and stop its chardevs' input: chardev_close() each one (it
 * joins the input thread, whose callback points into the console).  The
 * chardevs are the caller's.
 */
void virtio_console_destroy(virtio_console_t *con);

#ifdef __cplusplus
}
#endif
#endif
