/*
 * net_socket.c - a network back end over a SOCK_SEQPACKET socket (see
 * net_backend.h): one message, one frame, header first.
 *
 * Message boundaries make the framing free, and a peek with MSG_TRUNC
 * tells a frame's length before it is taken, so the device can gather
 * just enough receive buffers.  Everything is non-blocking
 * (MSG_DONTWAIT) and MSG_NOSIGNAL keeps a vanished peer from raising
 * SIGPIPE: the peer's end shows as recv() returning -EPIPE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vmmkit/net_backend.h>

struct net_socket {
    net_backend_t be;   /* first: the device sees only this */
    unsigned int asked; /* the offloads set_offloads() asked for */
};

/* -errno for a failed call; a peer that left reads as -EPIPE. */
static ssize_t sock_error(int err)
{
    switch (err) {
    case EWOULDBLOCK:
        return -EAGAIN;
    case ECONNRESET:
    case ENOTCONN:
    case EPIPE:
        return -EPIPE;
    default:
        return -err;
    }
}

/* A zero-length read: an empty message, or the peer shut the connection down. */
static ssize_t sock_zero(net_backend_t *be)
{
    struct pollfd p = {.fd = be->fd, .events = POLLIN | POLLRDHUP};

    if (poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP))) {
        return -EPIPE;
    }
    return 0;
}

static ssize_t sock_recv(net_backend_t *be, const struct iovec *iov, int iovcnt)
{
    struct msghdr msg = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
    ssize_t r;

    do {
        /* MSG_TRUNC: the whole message's length even when it did not fit. */
        r = recvmsg(be->fd, &msg, MSG_DONTWAIT | MSG_TRUNC);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        return sock_error(errno);
    }
    return r == 0 ? sock_zero(be) : r;
}

static ssize_t sock_peek_len(net_backend_t *be)
{
    char byte;
    ssize_t r;

    do {
        r = recv(be->fd, &byte, 1, MSG_DONTWAIT | MSG_PEEK | MSG_TRUNC);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        return sock_error(errno);
    }
    return r == 0 ? sock_zero(be) : r;
}

static ssize_t sock_send(net_backend_t *be, const struct iovec *iov, int iovcnt)
{
    struct msghdr msg = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
    ssize_t r;

    do {
        r = sendmsg(be->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (r < 0 && errno == EINTR);
    return r < 0 ? sock_error(errno) : r;
}

static int sock_set_offloads(net_backend_t *be, unsigned int offloads)
{
    struct net_socket *s = (struct net_socket *)be;

    s->asked = offloads & be->offloads;
    return 0;
}

static void sock_destroy(net_backend_t *be)
{
    close(be->fd);
    free(be);
}

static const net_backend_ops_t socket_ops = {
    .kind = "socket",
    .recv = sock_recv,
    .peek_len = sock_peek_len,
    .send = sock_send,
    .set_offloads = sock_set_offloads,
    .destroy = sock_destroy,
};

int net_socket_open(int fd, unsigned int offloads, const char *name, net_backend_t **out)
{
    struct net_socket *s;
    int type = 0;
    socklen_t len = sizeof(type);
    int flags;

    if (fd < 0 || !out || (offloads & ~NET_OFFLOAD_ALL) ||
        ((offloads & (NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6)) && !(offloads & NET_OFFLOAD_CSUM))) {
        return -EINVAL;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) {
        return -errno;
    }
    if (type != SOCK_SEQPACKET) {
        return -EPROTOTYPE;
    }
    flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        return -errno;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        return -ENOMEM;
    }
    s->be.ops = &socket_ops;
    s->be.fd = fd;
    s->be.offloads = offloads;
    snprintf(s->be.name, sizeof(s->be.name), "%s", name ? name : "socket");
    *out = &s->be;
    return 0;
}

unsigned int net_socket_offloads(const net_backend_t *be)
{
    if (!be || be->ops != &socket_ops) {
        return 0;
    }
    return ((const struct net_socket *)be)->asked;
}
