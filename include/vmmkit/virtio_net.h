/*
 * virtio_net.h - the virtio network device (virtio 1.2, 5.1).
 *
 * One receiveq / transmitq pair (queues 0 and 1; no control queue, no
 * multiqueue) joins the guest to a host network back end (net_backend.h:
 * a tap, or a SOCK_SEQPACKET connection to a switch).  Every frame carries
 * the 12-byte virtio_net_hdr_t (VERSION_1), which the back end understands
 * too, so frames go between guest RAM and the back end's descriptor with
 * readv/writev and no copy.
 *
 * Features offered: MAC, STATUS, MRG_RXBUF, and, as far as the back end
 * carries them (net_backend_t.offloads), CSUM + HOST_TSO4/6 (the guest
 * may send partially checksummed and TSO frames) and GUEST_CSUM +
 * GUEST_TSO4/6 (the back end is asked, at DRIVER_OK, to deliver such
 * frames).  Config space (5.1.4), read-only: mac, status (LINK_UP while
 * the back end is there), max_virtqueue_pairs = 1.
 *
 * Data paths:
 *  - transmit: a transmitq kick pops chains (at most VIRTIO_NET_BUDGET a
 *    call), checks each (device-readable only, the header and an Ethernet
 *    header at least, NET_MAX_FRAME at most, header fields consistent with
 *    the negotiated features), and sends it; the chain is returned with
 *    length 0.  When the back end says -EAGAIN the chain is kept and the
 *    device waits for the back end to become writable; the guest then
 *    waits too (no spinning, no silent drop).
 *  - receive: the I/O thread watches the back end.  Frames are read
 *    straight into receiveq buffers: one chain a frame, or with MRG_RXBUF
 *    as many chains as the frame needs (num_buffers in the first chain's
 *    header; their used entries pushed together, in order).  When the
 *    guest has posted too few buffers the device stops reading, leaves the
 *    frames in the back end and resumes on the guest's next receiveq kick:
 *    nothing is dropped for lack of buffers.  A frame that cannot fit
 *    (no MRG_RXBUF and a buffer too small), or whose offloads the driver
 *    did not negotiate, is dropped and counted.
 *  - each wakeup serves at most VIRTIO_NET_BUDGET frames a direction and
 *    then yields to the I/O thread's other descriptors; the rest follows
 *    on its next round.
 *
 * Threads and locking: everything runs under vdev->lock (virtio.h): the
 * transport's callbacks (vCPU threads, the I/O thread for ioeventfd
 * kicks) and the device's own back-end handler on the I/O thread.  With
 * no I/O thread the caller drives the back end with virtio_net_poll().
 *
 * The guest may be hostile: every chain or header it gets wrong is
 * returned used (length 0), counted (virtio_net_stat(), and the queues'
 * virtq_error_t counters) and logged rate-limited; a broken ring puts the
 * device into DEVICE_NEEDS_RESET.  Nothing it does stops the VMM, spins a
 * thread or makes the device touch memory outside guest RAM.
 */
#ifndef VMMKIT_VIRTIO_NET_H
#define VMMKIT_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include <vmmkit/iothread.h>
#include <vmmkit/net_backend.h>
#include <vmmkit/virtio.h>
#include <vmmkit/vm.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Feature bits (5.1.3). */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU 3
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN 9
#define VIRTIO_NET_F_GUEST_UFO 10
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_HOST_ECN 13
#define VIRTIO_NET_F_HOST_UFO 14
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_F_CTRL_VQ 17
#define VIRTIO_NET_F_MQ 22

/* Config space status bits (5.1.4). */
#define VIRTIO_NET_S_LINK_UP 1u
#define VIRTIO_NET_S_ANNOUNCE 2u

/* Config space layout (5.1.4): mac[6], le16 status, le16 max_virtqueue_pairs. */
#define VIRTIO_NET_CONFIG_MAC 0u
#define VIRTIO_NET_CONFIG_STATUS 6u
#define VIRTIO_NET_CONFIG_MAX_VQ_PAIRS 8u
#define VIRTIO_NET_CONFIG_SIZE 10u

#define VIRTIO_NET_RX_QUEUE 0u      /* receiveq1 */
#define VIRTIO_NET_TX_QUEUE 1u      /* transmitq1 */
#define VIRTIO_NET_QUEUE_SIZE 256u  /* largest queue the driver may choose */
#define VIRTIO_NET_BUDGET 64u       /* frames a direction per wakeup */
#define VIRTIO_NET_RX_MAX_IOV 1024u /* receive buffers gathered for one read (UIO_MAXIOV) */

typedef struct virtio_net virtio_net_t;

typedef struct virtio_net_config {
    bool has_mac;           /* false: 52:54:00:xx:xx:xx, random (locally administered) */
    uint8_t mac[6];         /* the guest's address when has_mac; must be unicast */
    net_backend_t *backend; /* required; the caller keeps ownership */
    iothread_t *io;         /* serves the back end; NULL: the caller calls virtio_net_poll() */
} virtio_net_config_t;

/* What the device counts (virtio_net_stat()). */
typedef enum virtio_net_stat {
    VIRTIO_NET_STAT_RX_FRAMES = 0,        /* frames delivered to the guest */
    VIRTIO_NET_STAT_RX_BYTES,             /* their bytes, headers not counted */
    VIRTIO_NET_STAT_TX_FRAMES,            /* frames the back end took */
    VIRTIO_NET_STAT_TX_BYTES,             /* their bytes, headers not counted */
    VIRTIO_NET_STAT_RX_WAITS_FOR_BUFFERS, /* receive paused: too few guest buffers */
    VIRTIO_NET_STAT_RX_DROPPED_TOO_BIG,   /* a frame larger than the buffers could hold */
    VIRTIO_NET_STAT_RX_DROPPED_BAD,       /* a back-end frame the guest cannot take: shorter
                                           * than the headers, or offloads it did not negotiate */
    VIRTIO_NET_STAT_TX_EAGAIN,            /* the back end was full: transmit paused */
    VIRTIO_NET_STAT_TX_DROPPED,           /* frames lost to a back-end error or a gone back end */
    VIRTIO_NET_STAT_BACKEND_ERRORS,       /* failed back-end calls (not EAGAIN), a hang-up */
    /* Guest misbehaviour: */
    VIRTIO_NET_STAT_TX_REFUSED,    /* a transmit chain refused: by the queue (virtq_error_t),
                                    * writable buffers, too short or too long; used, 0 */
    VIRTIO_NET_STAT_TX_BAD_HEADER, /* a transmit header the negotiated features forbid, or
                                    * with fields outside the frame; used, 0 */
    VIRTIO_NET_STAT_RX_REFUSED,    /* a receive chain refused: by the queue, readable buffers,
                                    * or shorter than the header; used, 0 */
    VIRTIO_NET_STAT_RING_BROKEN,   /* a ring-level error: DEVICE_NEEDS_RESET */
    VIRTIO_NET_STAT_COUNT
} virtio_net_stat_t;

/*
 * Create virtio-net number @index ("virtio-net<index>") on @cfg->backend,
 * its descriptor served by @cfg->io.  Offers the features the back end
 * supports (above).  Returns 0 and the device in *@out, -EINVAL (no back
 * end, a multicast MAC), -ENOMEM, or the I/O thread's error.
 */
int virtio_net_create(vm_t *vm, unsigned int index, const virtio_net_config_t *cfg,
                      virtio_net_t **out);

/* The transport-independent device, to register with a transport. */
virtio_device_t *virtio_net_device(virtio_net_t *net);

/* The MAC address the device reports (config space). */
void virtio_net_get_mac(const virtio_net_t *net, uint8_t mac[6]);

/*
 * Serve the back end on the calling thread: resume transmit work that
 * waits for the back end, then receive pending frames, at most
 * VIRTIO_NET_BUDGET each.  For a device without an I/O thread (tests,
 * fuzzing, a caller's own loop); harmless with one.  Takes vdev->lock, so
 * never call it with that lock held.  Returns true when work remains
 * (call again), false when the device waits for the guest or the back end.
 */
bool virtio_net_poll(virtio_net_t *net);

/* Counter @stat since creation (any thread; relaxed reads). */
uint64_t virtio_net_stat(const virtio_net_t *net, virtio_net_stat_t stat);

/* Name of @stat ("rx-frames", ...); "unknown" when out of range. */
const char *virtio_net_stat_name(virtio_net_stat_t stat);

/*
 * Free the device.  Unregister it from its transport first (no kick in
 * flight); this takes the back end off the I/O thread (waiting out a
 * handler in progress), so call it without vdev->lock held and not from
 * that I/O thread.  The back end and the I/O thread are the caller's;
 * destroy the back end after the device.
 */
void virtio_net_destroy(virtio_net_t *net);

#ifdef __cplusplus
}
#endif
#endif
