/*
 * tap.c - the tap network back end (see net_backend.h).
 *
 * A tap is a virtual Ethernet interface of the host kernel; reading its
 * file descriptor takes the frames the kernel sends out of the interface,
 * writing injects frames into it.  With IFF_VNET_HDR every read and write
 * starts with a virtio network header, whose size TUNSETVNETHDRSZ sets to
 * the 12 bytes of the VERSION_1 layout (the kernel fills the first 10 and
 * skips num_buffers, which the device writes itself).  TUNSETOFFLOAD tells
 * the kernel which offloaded frames it may hand us (partial checksums,
 * TSO); frames we write may carry any of them whatever it says.
 *
 * A read returns the frame's whole length even when the buffers were
 * shorter (the rest is dropped), which is what recv() promises.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <vmmkit/log.h>
#include <vmmkit/net_backend.h>

#define TUN_DEVICE "/dev/net/tun"

/* ssize_t from a syscall result: -errno on failure, EINTR retried. */
#define RETRY_SYSCALL(expr)                                                                        \
    ({                                                                                             \
        ssize_t r_;                                                                                \
        do {                                                                                       \
            r_ = (expr);                                                                           \
        } while (r_ < 0 && errno == EINTR);                                                        \
        r_ < 0 ? -(ssize_t)errno : r_;                                                             \
    })

/* The tap is gone (its interface deleted under us): a read or write says EBADFD. */
static ssize_t tap_errno(ssize_t r)
{
    return r == -EBADFD ? -EPIPE : r;
}

static ssize_t tap_recv(net_backend_t *be, const struct iovec *iov, int iovcnt)
{
    return tap_errno(RETRY_SYSCALL(readv(be->fd, iov, iovcnt)));
}

static ssize_t tap_send(net_backend_t *be, const struct iovec *iov, int iovcnt)
{
    ssize_t r = tap_errno(RETRY_SYSCALL(writev(be->fd, iov, iovcnt)));

    /* The tap refuses frames while its host side is down: nobody listens. */
    return r == -EIO ? -ENETDOWN : r;
}

static int tap_set_offloads(net_backend_t *be, unsigned int offloads)
{
    unsigned int flags = 0;

    if (offloads & NET_OFFLOAD_CSUM) {
        flags |= TUN_F_CSUM;
        /* The kernel takes TSO only together with checksum offload. */
        if (offloads & NET_OFFLOAD_TSO4) {
            flags |= TUN_F_TSO4;
        }
        if (offloads & NET_OFFLOAD_TSO6) {
            flags |= TUN_F_TSO6;
        }
    }
    if (ioctl(be->fd, TUNSETOFFLOAD, (unsigned long)flags) < 0) {
        return -errno;
    }
    return 0;
}

static void tap_destroy(net_backend_t *be)
{
    close(be->fd);
    free(be);
}

static const net_backend_ops_t tap_ops = {
    .kind = "tap",
    .recv = tap_recv,
    .peek_len = NULL, /* a tap cannot show a frame without taking it */
    .send = tap_send,
    .set_offloads = tap_set_offloads,
    .destroy = tap_destroy,
};

/* The tun driver's capabilities and the header size we need.  Returns 0 or -errno. */
static int tap_check_features(int fd)
{
    unsigned int features = 0;
    const unsigned int need = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;

    if (ioctl(fd, TUNGETFEATURES, &features) < 0) {
        return -EOPNOTSUPP; /* older than any kernel with a settable header size */
    }
    if ((features & need) != need) {
        LOG_DEBUG("tap: tun features %#x lack %#x", features, need & ~features);
        return -EOPNOTSUPP;
    }
    return 0;
}

/* Make @fd the tap named in @ifr (or a new one); @ifr gets the final name.  0 or -errno. */
static int tap_attach(int fd, struct ifreq *ifr)
{
    int hdr_len = (int)VIRTIO_NET_HDR_LEN;
    struct ifreq got;

    ifr->ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    if (ioctl(fd, TUNSETIFF, ifr) < 0) {
        return -errno;
    }
    memset(&got, 0, sizeof(got));
    if (ioctl(fd, TUNGETIFF, &got) < 0) {
        return -errno;
    }
    if (!(got.ifr_flags & IFF_VNET_HDR) || !(got.ifr_flags & IFF_TAP)) {
        return -EOPNOTSUPP;
    }
    if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) < 0) {
        return errno == EINVAL ? -EOPNOTSUPP : -errno;
    }
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    /* The header is little-endian (VERSION_1); the kernel assumes host order otherwise. */
    int le = 1;
    if (ioctl(fd, TUNSETVNETLE, &le) < 0) {
        return -EOPNOTSUPP;
    }
#endif
    /* Fully checksummed, unsegmented frames until the driver negotiates more. */
    if (ioctl(fd, TUNSETOFFLOAD, 0ul) < 0) {
        return -errno;
    }
    return 0;
}

int tap_open(const char *name, net_backend_t **out)
{
    struct ifreq ifr;
    net_backend_t *be;
    int fd, rc;

    if (!out) {
        return -EINVAL;
    }
    if (!name) {
        name = "";
    }
    if (strlen(name) >= IFNAMSIZ) {
        return -ENAMETOOLONG;
    }
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, name, strlen(name));

    fd = open(TUN_DEVICE, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    rc = tap_check_features(fd);
    if (rc == 0) {
        rc = tap_attach(fd, &ifr);
    }
    if (rc < 0) {
        close(fd);
        return rc;
    }
    be = calloc(1, sizeof(*be));
    if (!be) {
        close(fd);
        return -ENOMEM;
    }
    be->ops = &tap_ops;
    be->fd = fd;
    be->offloads = NET_OFFLOAD_ALL;
    snprintf(be->name, sizeof(be->name), "%.*s", IFNAMSIZ, ifr.ifr_name);
    *out = be;
    return 0;
}
