/*
 * net_backend.h - what a network device talks to on the host: one frame
 * at a time, each preceded by the 12-byte virtio network header.
 *
 * A back end moves whole Ethernet frames.  Every frame, in both
 * directions, starts with a virtio_net_hdr_t (virtio 1.2, 5.1.6: flags,
 * gso_type, hdr_len, gso_size, csum_start, csum_offset, num_buffers; all
 * little-endian), so checksum and segmentation offloads pass through
 * without the device touching the frame: a tap opened with IFF_VNET_HDR
 * and TUNSETVNETHDRSZ 12 reads and writes exactly that, and so does a
 * SOCK_SEQPACKET connection where one message carries one frame (the
 * VM-to-VM switch speaks this).
 *
 * The device drives a back end through its operations and watches
 * be->fd on its I/O thread: readable means a frame may be waiting
 * (recv()), writable means send() may take one again after -EAGAIN.
 * Operations take scatter lists that point straight into guest RAM, so
 * frames are never copied on the host side.  A back end is not
 * thread-safe: its device serialises the calls (under vdev->lock).
 *
 * Offloads (NET_OFFLOAD_*) describe what frames a back end can carry:
 * with NET_OFFLOAD_CSUM it takes frames whose checksum is left to it
 * (VIRTIO_NET_HDR_F_NEEDS_CSUM) and can be asked to deliver such frames;
 * with TSO4 / TSO6 likewise for TCP segmentation (GSO) frames.  It
 * delivers offloaded frames only after set_offloads() asked for them.
 */
#ifndef VMMKIT_NET_BACKEND_H
#define VMMKIT_NET_BACKEND_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* struct virtio_net_hdr (virtio 1.2, 5.1.6), the VERSION_1 layout: 12 bytes, little-endian. */
typedef struct {
    uint8_t flags;        /* VIRTIO_NET_HDR_F_* */
    uint8_t gso_type;     /* VIRTIO_NET_HDR_GSO_* */
    uint16_t hdr_len;     /* le16: headers to replicate per segment (a hint) */
    uint16_t gso_size;    /* le16: MSS of a GSO frame */
    uint16_t csum_start;  /* le16: where checksumming starts (NEEDS_CSUM) */
    uint16_t csum_offset; /* le16: where, after csum_start, the checksum goes */
    uint16_t num_buffers; /* le16: receive buffers the frame spans; 0 on transmit */
} virtio_net_hdr_t;

#define VIRTIO_NET_HDR_LEN 12u

#ifndef __cplusplus
_Static_assert(sizeof(virtio_net_hdr_t) == VIRTIO_NET_HDR_LEN, "virtio_net_hdr_t is 12 bytes");
#endif

/* virtio_net_hdr_t.flags (5.1.6). */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1u
#define VIRTIO_NET_HDR_F_DATA_VALID 2u
#define VIRTIO_NET_HDR_F_RSC_INFO 4u

/* virtio_net_hdr_t.gso_type (5.1.6). */
#define VIRTIO_NET_HDR_GSO_NONE 0u
#define VIRTIO_NET_HDR_GSO_TCPV4 1u
#define VIRTIO_NET_HDR_GSO_UDP 3u
#define VIRTIO_NET_HDR_GSO_TCPV6 4u
#define VIRTIO_NET_HDR_GSO_UDP_L4 5u
#define VIRTIO_NET_HDR_GSO_ECN 0x80u

/*
 * The longest frame either direction carries, header not counted: the
 * spec's largest incoming packet (5.1.6.3: 14 + 40 + 65535 bytes) plus an
 * 802.1Q tag.
 */
#define NET_MAX_FRAME (65589u + 4u)

/* Offloads a back end can carry (net_backend_t.offloads, set_offloads()). */
#define NET_OFFLOAD_CSUM (1u << 0) /* partial checksums (NEEDS_CSUM) */
#define NET_OFFLOAD_TSO4 (1u << 1) /* TCP over IPv4 segmentation (GSO_TCPV4); needs CSUM */
#define NET_OFFLOAD_TSO6 (1u << 2) /* TCP over IPv6 segmentation (GSO_TCPV6); needs CSUM */
#define NET_OFFLOAD_ALL (NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6)

typedef struct net_backend net_backend_t;

typedef struct net_backend_ops {
    const char *kind; /* "tap", "socket" */
    /*
     * Take the next frame, header first, into @iov (@iovcnt entries, at
     * most 1024).  Returns the frame's whole length, header included:
     * more than @iov holds when the frame did not fit (the rest is lost,
     * the frame is consumed); -EAGAIN when none is waiting; -EPIPE when
     * the peer has gone for good; another -errno when this frame was lost.
     */
    ssize_t (*recv)(net_backend_t *be, const struct iovec *iov, int iovcnt);
    /*
     * Optional: the length, header included, of the next frame without
     * taking it; -EAGAIN when none is waiting, -EPIPE or -errno as recv().
     * NULL when the back end cannot tell (a tap): the device then prepares
     * room for the largest frame it may receive.
     */
    ssize_t (*peek_len)(net_backend_t *be);
    /*
     * Send one frame, header first, gathered from @iov (at most 1024
     * entries).  Returns the bytes taken (the whole frame), -EAGAIN when
     * the back end cannot take it now (wait for be->fd to be writable),
     * -EPIPE when the peer has gone, -ENETDOWN when the network side is
     * down for now (a tap whose host interface is not up: the frame is
     * dropped quietly), or another -errno (the frame is lost).
     */
    ssize_t (*send)(net_backend_t *be, const struct iovec *iov, int iovcnt);
    /*
     * Deliver received frames with the offloads in @offloads (a subset of
     * be->offloads) from now on; 0 asks for fully checksummed, unsegmented
     * frames.  Returns 0 or -errno.
     */
    int (*set_offloads)(net_backend_t *be, unsigned int offloads);
    /* Close the descriptor and free the back end. */
    void (*destroy)(net_backend_t *be);
} net_backend_ops_t;

struct net_backend {
    const net_backend_ops_t *ops;
    int fd;                /* watched for EPOLLIN / EPOLLOUT by the device */
    unsigned int offloads; /* NET_OFFLOAD_* the back end can carry */
    char name[32];         /* "tap0", for logs */
};

/*
 * Attach to tap interface @name, creating it when it does not exist
 * (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, a 12-byte header, no offloads until
 * set_offloads()); NULL or "" lets the kernel pick a name (be->name tells
 * which).  The descriptor is non-blocking and close-on-exec; the interface
 * is not brought up.  Offloads: CSUM, TSO4 and TSO6.  Returns 0 and the
 * back end in *@out, or -errno for the caller to report:
 *   -ENAMETOOLONG  @name does not fit an interface name (15 bytes);
 *   -ENOENT        no /dev/net/tun (the tun module is not loaded);
 *   -EPERM/-EACCES creating or attaching needs CAP_NET_ADMIN, or the tap
 *                  belongs to another user;
 *   -EBUSY         another process has the tap open;
 *   -EINVAL        @name is not a valid interface name, or it names a
 *                  device that is not a tap;
 *   -EOPNOTSUPP    the kernel's tun lacks IFF_VNET_HDR or a 12-byte header.
 */
int tap_open(const char *name, net_backend_t **out);

/*
 * A back end over the connected SOCK_SEQPACKET socket @fd (a socketpair,
 * or a connection to a switch): each message is one frame, header first.
 * Takes ownership of @fd (made non-blocking; closed by destroy).  The
 * peer must take and deliver frames with the offloads in @offloads;
 * set_offloads() only records what the device asked for
 * (net_socket_offloads()).  @name is for logs (NULL: "socket").  Returns 0
 * and the back end in *@out, -ENOTSOCK / -EPROTOTYPE when @fd is not a
 * SOCK_SEQPACKET socket, -EINVAL or -ENOMEM; on error @fd stays the
 * caller's.
 */
int net_socket_open(int fd, unsigned int offloads, const char *name, net_backend_t **out);

/* The offloads the device last asked a socket back end to deliver (set_offloads()). */
unsigned int net_socket_offloads(const net_backend_t *be);

/* Close and free @be (NULL is fine).  Its device must be destroyed first. */
static inline void net_backend_destroy(net_backend_t *be)
{
    if (be) {
        be->ops->destroy(be);
    }
}

#ifdef __cplusplus
}
#endif
#endif
