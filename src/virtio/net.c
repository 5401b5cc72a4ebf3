/*
 * net.c - the virtio network device (virtio 1.2, 5.1; see virtio_net.h).
 *
 * Receive: frames go from the back end straight into the guest's receive
 * buffers.  The device pops receiveq chains into a list of held slots
 * (rx_slots: head, length, their iovecs in rx_iov) until there is room for
 * the next frame, then reads the frame with one recv() over the iovecs:
 *  - without MRG_RXBUF only the first slot is used (5.1.6.3.1: one chain
 *    holds the whole frame); a frame too big for it is dropped, the slot
 *    kept for the next frame;
 *  - with MRG_RXBUF the frame flows over as many slots as it needs, all
 *    but the last filled completely (5.1.6.4); num_buffers in the first
 *    slot's header says how many, and their used entries are pushed
 *    together, in order.  Slots the frame did not need stay held.
 * How much room to gather: a back end that can peek (a socket) tells the
 * frame's length; for one that cannot (a tap) the device gathers room for
 * the largest frame the negotiated features allow (5.1.6.3: 1514 bytes,
 * 65589 with GUEST_TSO) plus a VLAN tag, or for the largest frame it has
 * seen from the back end when that is more (a tap with a jumbo MTU: one
 * frame is dropped, the next ones fit), or, when the guest has posted its
 * whole ring and still less than that, reads with what it has.
 * When there is not enough, the device leaves the frame in the back end,
 * stops watching it (no EPOLLIN) and resumes on the next receiveq kick.
 *
 * Transmit: each chain's header is checked and copied (the guest cannot
 * change it after the check), the frame itself is sent from guest RAM.
 * -EAGAIN keeps the chain (tx_held) and watches the back end for EPOLLOUT.
 *
 * The back end's descriptor stays registered with the I/O thread for the
 * device's life; its event mask (net->events) follows what the device waits
 * for: EPOLLIN while receiving is possible, EPOLLOUT while transmit waits
 * for the back end or has work left over, nothing (parked) otherwise, so a
 * hung-up back end cannot make the I/O thread spin.
 *
 * Held chains belong to the ring they were popped from: a reset or a
 * queue disabled by the driver (virtio-mmio QueueReady = 0,
 * ops->queue_disable) forgets them.
 *
 * Locking: all of it runs with vdev->lock held (virtio.h); the I/O thread
 * handler and virtio_net_poll() take it.  Counters are atomics.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <vmmkit/log.h>
#include <vmmkit/virtio_net.h>

#define RXQ VIRTIO_NET_RX_QUEUE
#define TXQ VIRTIO_NET_TX_QUEUE
#define HDR_LEN VIRTIO_NET_HDR_LEN
#define ETH_HLEN_MIN 14u                       /* destination, source, EtherType */
#define RX_MAX_SLOTS VIRTIO_NET_QUEUE_SIZE     /* chains held for receive at most */
#define TX_MAX_IOV (VIRTQ_MAX_CHAIN_BUFS + 1u) /* the header copy + the chain */
#define RX_ROOM_PLAIN (HDR_LEN + 1514u + 4u)   /* 5.1.6.3, plus a VLAN tag */
#define RX_ROOM_GSO (HDR_LEN + NET_MAX_FRAME)  /* 5.1.6.3 with GUEST_TSO4/6 */
#define RX_ERRORS_GIVE_UP 64u /* receive errors in a row before the back end counts as gone */

/* A receiveq chain the device holds: its iovecs are the next nr_iov of rx_iov. */
struct rx_slot {
    uint16_t head;
    uint16_t nr_iov;
    uint32_t len; /* writable bytes */
};

struct virtio_net {
    virtio_device_t vdev;
    virtio_device_ops_t ops; /* per device: the features follow the back end */
    net_backend_t *be;
    iothread_t *io;
    uint8_t mac[6];
    uint16_t link;   /* config status: VIRTIO_NET_S_LINK_UP or 0 */
    bool active;     /* DRIVER_OK seen since the last reset */
    bool watched;    /* be->fd is registered with io */
    bool gone;       /* the back end hung up: link down for good */
    uint32_t events; /* the mask io watches be->fd for */
    unsigned int rx_errors_in_row;

    /* Receive. */
    bool rx_waiting; /* paused for guest buffers until a receiveq kick */
    bool rx_more;    /* the last pass ran out of budget: frames may wait */
    struct rx_slot rx_slots[RX_MAX_SLOTS];
    struct iovec rx_iov[VIRTIO_NET_RX_MAX_IOV];
    unsigned int rx_nr_slots, rx_nr_iov;
    size_t rx_room;         /* bytes in all held slots */
    size_t rx_seen_max;     /* the longest frame read, header included (up to RX_ROOM_GSO) */
    virtq_chain_t rx_chain; /* scratch for popping */

    /* Transmit. */
    bool tx_held;            /* tx_chain is popped and checked, not yet sent */
    bool tx_blocked;         /* the back end said EAGAIN: wait until it is writable */
    bool tx_more;            /* the last pass ran out of budget: resume on the next round */
    virtio_net_hdr_t tx_hdr; /* the checked copy of tx_chain's header */
    struct iovec tx_iov[TX_MAX_IOV];
    int tx_nr_iov;
    size_t tx_len; /* frame bytes, header not counted */
    virtq_chain_t tx_chain;

    uint64_t stats[VIRTIO_NET_STAT_COUNT];
    vmm_ratelimit_t log_rl;
};

static const char *const net_stat_names[VIRTIO_NET_STAT_COUNT] = {
    [VIRTIO_NET_STAT_RX_FRAMES] = "rx-frames",
    [VIRTIO_NET_STAT_RX_BYTES] = "rx-bytes",
    [VIRTIO_NET_STAT_TX_FRAMES] = "tx-frames",
    [VIRTIO_NET_STAT_TX_BYTES] = "tx-bytes",
    [VIRTIO_NET_STAT_RX_WAITS_FOR_BUFFERS] = "rx-waits-for-buffers",
    [VIRTIO_NET_STAT_RX_DROPPED_TOO_BIG] = "rx-dropped-too-big",
    [VIRTIO_NET_STAT_RX_DROPPED_BAD] = "rx-dropped-bad",
    [VIRTIO_NET_STAT_TX_EAGAIN] = "tx-eagain",
    [VIRTIO_NET_STAT_TX_DROPPED] = "tx-dropped",
    [VIRTIO_NET_STAT_BACKEND_ERRORS] = "backend-errors",
    [VIRTIO_NET_STAT_TX_REFUSED] = "tx-refused",
    [VIRTIO_NET_STAT_TX_BAD_HEADER] = "tx-bad-header",
    [VIRTIO_NET_STAT_RX_REFUSED] = "rx-refused",
    [VIRTIO_NET_STAT_RING_BROKEN] = "ring-broken",
};

const char *virtio_net_stat_name(virtio_net_stat_t stat)
{
    if ((unsigned int)stat >= VIRTIO_NET_STAT_COUNT) {
        return "unknown";
    }
    return net_stat_names[stat];
}

/* Add @n to counter @stat. */
static void net_count(virtio_net_t *net, virtio_net_stat_t stat, uint64_t n)
{
    __atomic_fetch_add(&net->stats[stat], n, __ATOMIC_RELAXED);
}

/* Count @stat and log why, rate-limited, with the device's name. */
static void net_event(virtio_net_t *net, virtio_net_stat_t stat, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void net_event(virtio_net_t *net, virtio_net_stat_t stat, const char *fmt, ...)
{
    char what[160];
    va_list ap;

    net_count(net, stat, 1);
    if (!vmm_log_enabled(VMM_LOG_WARN)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    LOG_WARN_RL(&net->log_rl, "%s: %s: %s", net->vdev.name, virtio_net_stat_name(stat), what);
}

static bool net_has(const virtio_net_t *net, unsigned int bit)
{
    return virtio_device_has_feature(&net->vdev, bit);
}

/* Queue @qi may be used: DRIVER_OK, neither FAILED nor NEEDS_RESET (2.1.2), ring sound. */
static bool net_live(const virtio_net_t *net, unsigned int qi)
{
    uint8_t s = net->vdev.status;
    const virtq_t *q = &net->vdev.queues[qi];

    return net->active && (s & VIRTIO_STATUS_DRIVER_OK) &&
           !(s & (VIRTIO_STATUS_FAILED | VIRTIO_STATUS_DEVICE_NEEDS_RESET)) && q->ready &&
           !q->broken;
}

/* Copy @len bytes at byte @off of the scatter list @iov to/from @buf; returns bytes copied. */
static size_t iov_copy(const struct iovec *iov, unsigned int n, size_t off, void *buf, size_t len,
                       bool to_iov)
{
    uint8_t *p = buf;
    size_t done = 0;

    for (unsigned int i = 0; i < n && done < len; i++) {
        if (off >= iov[i].iov_len) {
            off -= iov[i].iov_len;
            continue;
        }
        size_t chunk = iov[i].iov_len - off;
        if (chunk > len - done) {
            chunk = len - done;
        }
        if (to_iov) {
            memcpy((uint8_t *)iov[i].iov_base + off, p + done, chunk);
        } else {
            memcpy(p + done, (uint8_t *)iov[i].iov_base + off, chunk);
        }
        done += chunk;
        off = 0;
    }
    return done;
}

/* --- the back end's event mask --------------------------------------------------------- */

/* Whether the device wants frames from the back end now. */
static bool net_rx_wanted(const virtio_net_t *net)
{
    return !net->gone && !net->rx_waiting && net_live(net, RXQ);
}

/* Make the I/O thread watch the back end for exactly what the device waits for. */
static void net_update_events(virtio_net_t *net)
{
    uint32_t want = 0;
    int rc;

    if (net_rx_wanted(net)) {
        want |= EPOLLIN;
    }
    if (!net->gone && (net->tx_blocked || net->tx_more)) {
        want |= EPOLLOUT;
    }
    if (!net->watched || want == net->events) {
        return;
    }
    rc = iothread_mod_fd(net->io, net->be->fd, want);
    if (rc < 0) {
        net_event(net, VIRTIO_NET_STAT_BACKEND_ERRORS, "cannot watch back end %s for %#x: %s",
                  net->be->name, want, strerror(-rc));
        return;
    }
    net->events = want;
}

/* The back end went away (hang-up, -EPIPE): link down for good, transmit drops. */
static void net_backend_gone(virtio_net_t *net, const char *why)
{
    if (net->gone) {
        return;
    }
    net->gone = true;
    net->link = 0;
    net->tx_blocked = false;
    net->tx_more = false;
    net_count(net, VIRTIO_NET_STAT_BACKEND_ERRORS, 1);
    LOG_WARN("%s: back end %s %s: link down", net->vdev.name, net->be->name, why);
    if (net->vdev.status & VIRTIO_STATUS_DRIVER_OK) {
        virtio_device_config_changed(&net->vdev); /* the driver re-reads status (5.1.4) */
    }
}

/* A back-end call @op failed with @err (not -EAGAIN). */
static void net_backend_failed(virtio_net_t *net, const char *op, ssize_t err)
{
    if (err == -EPIPE) {
        net_backend_gone(net, "has gone");
        return;
    }
    net_event(net, VIRTIO_NET_STAT_BACKEND_ERRORS, "back end %s: %s: %s", net->be->name, op,
              strerror((int)-err));
}

/*
 * Pop the next chain of queue @qi into @c.  Returns true with a chain;
 * false when the queue is empty (notifications re-armed, then checked
 * once more to close the race: 2.7.10) or broken (the device then needs a
 * reset, 2.1.2).  Chains the queue refuses go back with length 0, counted
 * as @refused; *@pushed tells the caller to notify.
 */
static bool net_pop(virtio_net_t *net, unsigned int qi, virtq_chain_t *c, virtio_net_stat_t refused,
                    bool *pushed)
{
    virtq_t *q = &net->vdev.queues[qi];

    for (;;) {
        int r = virtq_pop(q, c);
        if (r == 0) {
            virtq_enable_notify(q);
            r = virtq_pop(q, c);
        }
        if (r > 0) {
            return true;
        }
        if (r == 0) {
            return false;
        }
        if (q->broken) {
            net_count(net, VIRTIO_NET_STAT_RING_BROKEN, 1);
            virtio_device_set_needs_reset(&net->vdev, virtq_error_name((virtq_error_t)-r));
            return false;
        }
        /* Chain-level: the queue counted and logged it; give the chain back empty. */
        net_count(net, refused, 1);
        virtq_push(q, c->head, 0);
        *pushed = true;
    }
}

/* --- receive --------------------------------------------------------------------------- */

static void rx_forget_slots(virtio_net_t *net)
{
    net->rx_nr_slots = 0;
    net->rx_nr_iov = 0;
    net->rx_room = 0;
}

/* Hold rx_chain as a slot; false (chain returned, counted) when it cannot take frames. */
static bool rx_hold_chain(virtio_net_t *net, bool *pushed)
{
    virtq_t *q = &net->vdev.queues[RXQ];
    const virtq_chain_t *c = &net->rx_chain;

    if (c->nr_readable > 0) {
        /* 5.1.6.3: receive buffers are device-writable. */
        net_event(net, VIRTIO_NET_STAT_RX_REFUSED, "receive chain %u has %u readable buffers",
                  c->head, c->nr_readable);
        virtq_report_error(q, VIRTQ_E_UNEXPECTED_READABLE);
        virtq_push(q, c->head, 0);
        *pushed = true;
        return false;
    }
    if (c->writable_len < HDR_LEN) {
        /* 5.1.6.3.1: a buffer holds at least the header. */
        net_event(net, VIRTIO_NET_STAT_RX_REFUSED, "receive chain %u of %u bytes (header: %u)",
                  c->head, c->writable_len, HDR_LEN);
        virtq_push(q, c->head, 0);
        *pushed = true;
        return false;
    }
    struct rx_slot *s = &net->rx_slots[net->rx_nr_slots++];
    s->head = c->head;
    s->nr_iov = (uint16_t)c->nr_bufs;
    s->len = c->writable_len;
    for (unsigned int i = 0; i < c->nr_bufs; i++) {
        net->rx_iov[net->rx_nr_iov++] = (struct iovec){c->bufs[i].addr, c->bufs[i].len};
    }
    net->rx_room += c->writable_len;
    return true;
}

enum rx_gather {
    RX_READY, /* room for the frame (or all the room there will be) */
    RX_WAIT,  /* too few guest buffers: wait for a receiveq kick */
    RX_STOP,  /* the ring broke */
};

/* Hold receiveq chains until they hold @need bytes (MRG_RXBUF) or one chain (without). */
static enum rx_gather rx_gather(virtio_net_t *net, bool mrg, size_t need, bool *pushed)
{
    virtq_t *q = &net->vdev.queues[RXQ];
    bool all = false; /* the device holds all it can: the guest cannot add more */

    while (mrg ? net->rx_room < need : net->rx_nr_slots == 0) {
        if (net->rx_nr_slots == RX_MAX_SLOTS || net->rx_nr_slots >= q->size ||
            net->rx_nr_iov + VIRTQ_MAX_CHAIN_BUFS > VIRTIO_NET_RX_MAX_IOV) {
            all = true;
            break;
        }
        if (!net_pop(net, RXQ, &net->rx_chain, VIRTIO_NET_STAT_RX_REFUSED, pushed)) {
            if (!net_live(net, RXQ)) {
                return RX_STOP;
            }
            break;
        }
        rx_hold_chain(net, pushed);
    }
    if (net->rx_nr_slots == 0) {
        return RX_WAIT;
    }
    if (!mrg || net->rx_room >= need || all) {
        return RX_READY;
    }
    return RX_WAIT;
}

/* Take the next frame out of the back end unseen (it cannot be delivered). */
static void rx_discard(virtio_net_t *net)
{
    uint8_t scrap[HDR_LEN];
    struct iovec iov = {scrap, sizeof(scrap)};
    ssize_t r = net->be->ops->recv(net->be, &iov, 1);

    if (r < 0 && r != -EAGAIN) {
        net_backend_failed(net, "recv", r);
    }
}

/*
 * Check the header the back end wrote into the first slot for a frame of
 * @frame_len bytes spread over @nbufs slots, against what the driver
 * negotiated (5.1.6.4.1), and write it back sanitised with num_buffers.
 * Returns false (counted) when the guest cannot take the frame.
 */
static bool rx_fix_header(virtio_net_t *net, size_t frame_len, unsigned int nbufs)
{
    const struct rx_slot *s = &net->rx_slots[0];
    bool csum = net_has(net, VIRTIO_NET_F_GUEST_CSUM);
    virtio_net_hdr_t h;

    iov_copy(net->rx_iov, s->nr_iov, 0, &h, HDR_LEN, false);
    if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        uint32_t end = (uint32_t)le16toh(h.csum_start) + le16toh(h.csum_offset) + 2u;
        if (!csum || end > frame_len) {
            net_event(net, VIRTIO_NET_STAT_RX_DROPPED_BAD,
                      "back end %s: partial checksum at %u+%u in a %zu-byte frame%s", net->be->name,
                      le16toh(h.csum_start), le16toh(h.csum_offset), frame_len,
                      csum ? "" : " without GUEST_CSUM");
            return false;
        }
    } else {
        h.csum_start = 0;
        h.csum_offset = 0;
    }
    /* Without GUEST_CSUM flags are 0; RSC_INFO never (no RSC_EXT). */
    h.flags &= csum ? (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID) : 0;
    if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
        bool ok =
            (h.gso_type == VIRTIO_NET_HDR_GSO_TCPV4 && net_has(net, VIRTIO_NET_F_GUEST_TSO4)) ||
            (h.gso_type == VIRTIO_NET_HDR_GSO_TCPV6 && net_has(net, VIRTIO_NET_F_GUEST_TSO6));
        if (!ok || !(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || h.gso_size == 0) {
            net_event(net, VIRTIO_NET_STAT_RX_DROPPED_BAD,
                      "back end %s: gso_type %#x gso_size %u (flags %#x) not negotiated",
                      net->be->name, h.gso_type, le16toh(h.gso_size), h.flags);
            return false;
        }
    } else {
        h.gso_size = 0;
    }
    h.num_buffers = htole16((uint16_t)nbufs); /* 5.1.6.3.2: 1 without MRG_RXBUF */
    iov_copy(net->rx_iov, s->nr_iov, 0, &h, HDR_LEN, true);
    return true;
}

/* A frame of @len bytes (header included) sits in the held slots: hand it over. */
static void rx_deliver(virtio_net_t *net, size_t len, bool *pushed)
{
    virtq_t *q = &net->vdev.queues[RXQ];
    unsigned int k = 0, iovs = 0;
    size_t left = len, room = 0;

    do {
        size_t take = net->rx_slots[k].len < left ? net->rx_slots[k].len : left;
        left -= take;
        room += net->rx_slots[k].len;
        iovs += net->rx_slots[k].nr_iov;
        k++;
    } while (left > 0 && k < net->rx_nr_slots);

    if (!rx_fix_header(net, len - HDR_LEN, k)) {
        return; /* the slots stay held for the next frame */
    }
    /* 5.1.6.4: all but the last buffer used completely, pushed together, in order. */
    left = len;
    for (unsigned int i = 0; i < k; i++) {
        uint32_t used = net->rx_slots[i].len < left ? net->rx_slots[i].len : (uint32_t)left;
        virtq_push(q, net->rx_slots[i].head, used);
        left -= used;
    }
    *pushed = true;
    net_count(net, VIRTIO_NET_STAT_RX_FRAMES, 1);
    net_count(net, VIRTIO_NET_STAT_RX_BYTES, len - HDR_LEN);

    net->rx_nr_slots -= k;
    net->rx_nr_iov -= iovs;
    net->rx_room -= room;
    memmove(net->rx_slots, net->rx_slots + k, net->rx_nr_slots * sizeof(net->rx_slots[0]));
    memmove(net->rx_iov, net->rx_iov + iovs, net->rx_nr_iov * sizeof(net->rx_iov[0]));
}

/* Room to gather before reading: the next frame's length when the back end can tell. */
static ssize_t rx_need(virtio_net_t *net, bool mrg)
{
    if (net->be->ops->peek_len) {
        return net->be->ops->peek_len(net->be);
    }
    if (!mrg) {
        return HDR_LEN; /* one chain, whatever its size */
    }
    if (net_has(net, VIRTIO_NET_F_GUEST_TSO4) || net_has(net, VIRTIO_NET_F_GUEST_TSO6)) {
        return RX_ROOM_GSO;
    }
    return net->rx_seen_max > RX_ROOM_PLAIN ? (ssize_t)net->rx_seen_max : RX_ROOM_PLAIN;
}

/*
 * A receive-side call failed: the descriptor may stay readable, so a back
 * end that fails every time would keep the I/O thread busy; after
 * RX_ERRORS_GIVE_UP failures in a row it counts as gone.
 */
static void rx_failed(virtio_net_t *net, const char *op, ssize_t err)
{
    net_backend_failed(net, op, err);
    if (++net->rx_errors_in_row >= RX_ERRORS_GIVE_UP) {
        net_backend_gone(net, "fails every receive");
    }
}

/* Move up to VIRTIO_NET_BUDGET frames from the back end into the receiveq. */
static void net_rx(virtio_net_t *net)
{
    bool mrg = net_has(net, VIRTIO_NET_F_MRG_RXBUF);
    bool peek = net->be->ops->peek_len != NULL;
    bool pushed = false;
    unsigned int frames = 0;

    net->rx_more = false;
    if (!net_rx_wanted(net)) {
        return;
    }
    for (; frames < VIRTIO_NET_BUDGET; frames++) {
        ssize_t need = rx_need(net, mrg);
        if (need == -EAGAIN) {
            break;
        }
        if (need < 0) {
            rx_failed(net, "peek", need);
            break;
        }
        if (peek && ((size_t)need < HDR_LEN + ETH_HLEN_MIN || (size_t)need > RX_ROOM_GSO)) {
            net_event(net,
                      (size_t)need < HDR_LEN + ETH_HLEN_MIN ? VIRTIO_NET_STAT_RX_DROPPED_BAD
                                                            : VIRTIO_NET_STAT_RX_DROPPED_TOO_BIG,
                      "back end %s: a %zd-byte message (header included)", net->be->name, need);
            rx_discard(net);
            continue;
        }
        enum rx_gather g = rx_gather(net, mrg, (size_t)need, &pushed);
        if (g == RX_STOP) {
            break;
        }
        if (g == RX_WAIT) {
            net->rx_waiting = true;
            net_count(net, VIRTIO_NET_STAT_RX_WAITS_FOR_BUFFERS, 1);
            break;
        }
        size_t room = mrg ? net->rx_room : net->rx_slots[0].len;
        unsigned int niov = mrg ? net->rx_nr_iov : net->rx_slots[0].nr_iov;
        if (peek && (size_t)need > room) {
            /* Known in advance: drop it without scribbling over the guest's buffers. */
            net_event(net, VIRTIO_NET_STAT_RX_DROPPED_TOO_BIG,
                      "a %zd-byte frame for %zu bytes of buffers", need, room);
            rx_discard(net);
            continue;
        }
        ssize_t got = net->be->ops->recv(net->be, net->rx_iov, (int)niov);
        if (got == -EAGAIN) {
            break;
        }
        if (got < 0) {
            rx_failed(net, "recv", got);
            break;
        }
        net->rx_errors_in_row = 0;
        if ((size_t)got > net->rx_seen_max) {
            net->rx_seen_max = (size_t)got < RX_ROOM_GSO ? (size_t)got : RX_ROOM_GSO;
        }
        if ((size_t)got > room) {
            net_event(net, VIRTIO_NET_STAT_RX_DROPPED_TOO_BIG,
                      "a %zd-byte frame for %zu bytes of buffers", got, room);
            continue; /* truncated; the slots stay held */
        }
        if ((size_t)got < HDR_LEN + ETH_HLEN_MIN) {
            net_event(net, VIRTIO_NET_STAT_RX_DROPPED_BAD, "back end %s: a %zd-byte frame",
                      net->be->name, got);
            continue;
        }
        rx_deliver(net, (size_t)got, &pushed);
    }
    if (frames == VIRTIO_NET_BUDGET) {
        net->rx_more = true;
    }
    if (pushed) {
        virtio_device_used(&net->vdev, RXQ);
    }
}

/* --- transmit -------------------------------------------------------------------------- */

/*
 * Check a transmit header for a frame of @frame_len bytes against the
 * negotiated features (5.1.6.2.1) and sanitise it into net->tx_hdr.
 * Returns NULL, or why it is refused.
 */
static const char *tx_check_header(virtio_net_t *net, virtio_net_hdr_t h, size_t frame_len)
{
    if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        uint32_t end = (uint32_t)le16toh(h.csum_start) + le16toh(h.csum_offset) + 2u;
        if (!net_has(net, VIRTIO_NET_F_CSUM)) {
            return "NEEDS_CSUM without CSUM";
        }
        if (end > frame_len) {
            return "checksum field outside the frame";
        }
    } else {
        h.csum_start = 0; /* 5.1.6.2.2: not used without NEEDS_CSUM */
        h.csum_offset = 0;
    }
    h.flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM; /* 5.1.6.2.2: unknown flags ignored */
    switch (h.gso_type) {
    case VIRTIO_NET_HDR_GSO_NONE:
        h.gso_size = 0;
        break;
    case VIRTIO_NET_HDR_GSO_TCPV4:
        if (!net_has(net, VIRTIO_NET_F_HOST_TSO4)) {
            return "GSO_TCPV4 without HOST_TSO4";
        }
        break;
    case VIRTIO_NET_HDR_GSO_TCPV6:
        if (!net_has(net, VIRTIO_NET_F_HOST_TSO6)) {
            return "GSO_TCPV6 without HOST_TSO6";
        }
        break;
    default:
        return "a gso_type that was not negotiated";
    }
    if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE &&
        (!(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || h.gso_size == 0)) {
        return "GSO without NEEDS_CSUM or gso_size";
    }
    if (le16toh(h.hdr_len) > frame_len) {
        return "hdr_len beyond the frame";
    }
    h.num_buffers = 0;
    net->tx_hdr = h;
    return NULL;
}

/* Check tx_chain and build tx_iov for it.  False: refused (counted), return it with 0. */
static bool tx_prepare(virtio_net_t *net)
{
    virtq_t *q = &net->vdev.queues[TXQ];
    const virtq_chain_t *c = &net->tx_chain;
    virtio_net_hdr_t h;
    const char *why;
    size_t skip = HDR_LEN;

    if (c->nr_readable < c->nr_bufs) {
        net_event(net, VIRTIO_NET_STAT_TX_REFUSED, "transmit chain %u has %u writable buffers",
                  c->head, c->nr_bufs - c->nr_readable);
        virtq_report_error(q, VIRTQ_E_UNEXPECTED_WRITABLE);
        return false;
    }
    if (c->readable_len < HDR_LEN + ETH_HLEN_MIN || c->readable_len > HDR_LEN + NET_MAX_FRAME) {
        net_event(net, VIRTIO_NET_STAT_TX_REFUSED,
                  "transmit chain %u of %u bytes (header and frame: %u..%u)", c->head,
                  c->readable_len, HDR_LEN + ETH_HLEN_MIN, HDR_LEN + NET_MAX_FRAME);
        return false;
    }
    virtq_chain_read(c, 0, &h, HDR_LEN);
    why = tx_check_header(net, h, c->readable_len - HDR_LEN);
    if (why) {
        net_event(net, VIRTIO_NET_STAT_TX_BAD_HEADER,
                  "chain %u: %s (flags %#x gso_type %#x gso_size %u csum %u+%u hdr_len %u, "
                  "%u-byte frame)",
                  c->head, why, h.flags, h.gso_type, le16toh(h.gso_size), le16toh(h.csum_start),
                  le16toh(h.csum_offset), le16toh(h.hdr_len), c->readable_len - HDR_LEN);
        return false;
    }
    /* The checked header copy, then the frame straight from guest RAM. */
    net->tx_iov[0] = (struct iovec){&net->tx_hdr, HDR_LEN};
    net->tx_nr_iov = 1;
    for (unsigned int i = 0; i < c->nr_bufs; i++) {
        size_t len = c->bufs[i].len;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        net->tx_iov[net->tx_nr_iov++] =
            (struct iovec){(uint8_t *)c->bufs[i].addr + skip, len - skip};
        skip = 0;
    }
    net->tx_len = c->readable_len - HDR_LEN;
    return true;
}

/* Send up to VIRTIO_NET_BUDGET transmitq chains; one interrupt for the batch. */
static void net_tx(virtio_net_t *net)
{
    virtq_t *q = &net->vdev.queues[TXQ];
    bool pushed = false;
    unsigned int frames = 0;

    net->tx_more = false;
    net->tx_blocked = false;
    if (!net_live(net, TXQ)) {
        return;
    }
    for (; frames < VIRTIO_NET_BUDGET; frames++) {
        if (!net->tx_held) {
            if (!net_pop(net, TXQ, &net->tx_chain, VIRTIO_NET_STAT_TX_REFUSED, &pushed)) {
                break;
            }
            if (!tx_prepare(net)) {
                virtq_push(q, net->tx_chain.head, 0);
                pushed = true;
                continue;
            }
            net->tx_held = true;
        }
        if (net->gone) {
            net_count(net, VIRTIO_NET_STAT_TX_DROPPED, 1);
        } else {
            ssize_t r = net->be->ops->send(net->be, net->tx_iov, net->tx_nr_iov);
            if (r == -EAGAIN) {
                net->tx_blocked = true;
                net_count(net, VIRTIO_NET_STAT_TX_EAGAIN, 1);
                break;
            }
            if (r == -ENETDOWN) {
                /* Like a cable into a switched-off port: dropped, not an error. */
                net_count(net, VIRTIO_NET_STAT_TX_DROPPED, 1);
            } else if (r < 0) {
                net_backend_failed(net, "send", r);
                net_count(net, VIRTIO_NET_STAT_TX_DROPPED, 1);
            } else {
                net_count(net, VIRTIO_NET_STAT_TX_FRAMES, 1);
                net_count(net, VIRTIO_NET_STAT_TX_BYTES, net->tx_len);
            }
        }
        /* 5.1.6.2: nothing is written into a transmit buffer. */
        virtq_push(q, net->tx_chain.head, 0);
        net->tx_held = false;
        pushed = true;
    }
    if (frames == VIRTIO_NET_BUDGET) {
        net->tx_more = true;
    }
    if (pushed) {
        virtio_device_used(&net->vdev, TXQ);
    }
}

/* --- device callbacks ------------------------------------------------------------------ */

/* I/O thread: the back end is readable, writable, hung up or in error. */
static void net_fd_event(int fd, uint32_t events, void *opaque)
{
    virtio_net_t *net = opaque;

    (void)fd;
    pthread_mutex_lock(&net->vdev.lock);
    if (net->watched) {
        if ((events & EPOLLOUT) && (net->tx_blocked || net->tx_more)) {
            net_tx(net);
        }
        if (events & EPOLLIN) {
            net_rx(net);
        }
        /* A hang-up once pending frames are read (a socket's queue outlives its peer). */
        if ((events & (EPOLLHUP | EPOLLERR)) && !(net->rx_more && net_rx_wanted(net))) {
            net_backend_gone(net, (events & EPOLLERR) ? "reports an error" : "hung up");
        }
        net_update_events(net);
    }
    pthread_mutex_unlock(&net->vdev.lock);
}

/* ops->queue_notify: the driver kicked queue @idx (vdev->lock held). */
static void net_queue_notify(virtio_device_t *vdev, unsigned int idx)
{
    virtio_net_t *net = vdev->priv;

    if (idx == RXQ) {
        /* New receive buffers: read again (on the I/O thread, or the next poll). */
        net->rx_waiting = false;
    } else if (idx == TXQ && !(net->tx_blocked && net->io)) {
        /* While blocked the I/O thread resumes on EPOLLOUT; without one, try now. */
        net_tx(net);
    }
    net_update_events(net);
}

/* ops->queue_disable: the ring goes away; so do the chains held from it. */
static void net_queue_disable(virtio_device_t *vdev, unsigned int idx)
{
    virtio_net_t *net = vdev->priv;

    if (idx == RXQ) {
        rx_forget_slots(net);
        net->rx_more = false;
    } else if (idx == TXQ) {
        net->tx_held = false;
        net->tx_blocked = false;
        net->tx_more = false;
    }
    net_update_events(net);
}

/* ops->config_read: mac, status, max_virtqueue_pairs (5.1.4). */
static void net_config_read(virtio_device_t *vdev, uint32_t offset, void *buf, uint32_t len)
{
    virtio_net_t *net = vdev->priv;
    uint8_t cfg[VIRTIO_NET_CONFIG_SIZE];
    uint16_t status = htole16(net->link), pairs = htole16(1);

    memcpy(cfg + VIRTIO_NET_CONFIG_MAC, net->mac, 6);
    memcpy(cfg + VIRTIO_NET_CONFIG_STATUS, &status, 2);
    memcpy(cfg + VIRTIO_NET_CONFIG_MAX_VQ_PAIRS, &pairs, 2);
    memcpy(buf, cfg + offset, len); /* the common layer checked offset + len <= config_size */
}

/* 5.1.3.1: a feature accepted without the one it requires. */
static const char *net_feature_gap(const virtio_net_t *net)
{
    static const struct {
        unsigned int bit, needs;
        const char *what;
    } deps[] = {
        {VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_GUEST_CSUM, "GUEST_TSO4 without GUEST_CSUM"},
        {VIRTIO_NET_F_GUEST_TSO6, VIRTIO_NET_F_GUEST_CSUM, "GUEST_TSO6 without GUEST_CSUM"},
        {VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_CSUM, "HOST_TSO4 without CSUM"},
        {VIRTIO_NET_F_HOST_TSO6, VIRTIO_NET_F_CSUM, "HOST_TSO6 without CSUM"},
    };

    for (size_t i = 0; i < sizeof(deps) / sizeof(deps[0]); i++) {
        if (net_has(net, deps[i].bit) && !net_has(net, deps[i].needs)) {
            return deps[i].what;
        }
    }
    return NULL;
}

/* ops->activate: DRIVER_OK; ask the back end for the offloads the driver takes. */
static int net_activate(virtio_device_t *vdev)
{
    virtio_net_t *net = vdev->priv;
    const char *gap = net_feature_gap(net);
    unsigned int offloads = 0;
    int rc;

    if (gap) {
        LOG_WARN_RL(&net->log_rl, "%s: the driver accepted %s (5.1.3.1)", vdev->name, gap);
        return -EINVAL;
    }
    if (net_has(net, VIRTIO_NET_F_GUEST_CSUM)) {
        offloads |= NET_OFFLOAD_CSUM;
    }
    if (net_has(net, VIRTIO_NET_F_GUEST_TSO4)) {
        offloads |= NET_OFFLOAD_TSO4;
    }
    if (net_has(net, VIRTIO_NET_F_GUEST_TSO6)) {
        offloads |= NET_OFFLOAD_TSO6;
    }
    rc = net->be->ops->set_offloads(net->be, offloads);
    if (rc < 0) {
        /* Frames with offloads the driver lacks are dropped on the way in, not delivered. */
        net_event(net, VIRTIO_NET_STAT_BACKEND_ERRORS, "back end %s: offloads %#x: %s",
                  net->be->name, offloads, strerror(-rc));
    }
    net->active = true;
    net->rx_waiting = false;
    net_update_events(net);
    return 0;
}

/* ops->reset: forget held chains and transmit state; frames stay in the back end. */
static void net_reset(virtio_device_t *vdev)
{
    virtio_net_t *net = vdev->priv;
    bool was_active = net->active;

    net->active = false;
    rx_forget_slots(net);
    net->rx_waiting = false;
    net->rx_more = false;
    net->tx_held = false;
    net->tx_blocked = false;
    net->tx_more = false;
    if (was_active && !net->gone) {
        int rc = net->be->ops->set_offloads(net->be, 0);
        if (rc < 0) {
            net_event(net, VIRTIO_NET_STAT_BACKEND_ERRORS, "back end %s: offloads 0: %s",
                      net->be->name, strerror(-rc));
        }
    }
    net_update_events(net);
}

/* 52:54:00 and three random bytes: unicast, locally administered (bit 1 of 0x52). */
static void default_mac(uint8_t mac[6], unsigned int index)
{
    uint8_t r[3];

    if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
        uint32_t h =
            (uint32_t)getpid() * 2654435761u ^ (index + 1u) * 40503u ^ (uint32_t)time(NULL);
        memcpy(r, &h, sizeof(r));
    }
    mac[0] = 0x52;
    mac[1] = 0x54;
    mac[2] = 0x00;
    memcpy(mac + 3, r, sizeof(r));
}

int virtio_net_create(vm_t *vm, unsigned int index, const virtio_net_config_t *cfg,
                      virtio_net_t **out)
{
    static const uint8_t zero_mac[6] = {0};
    virtio_net_t *net;
    net_backend_t *be;
    uint64_t features;
    int rc;

    if (!vm || !cfg || !out || !cfg->backend || cfg->backend->fd < 0 || !cfg->backend->ops ||
        !cfg->backend->ops->recv || !cfg->backend->ops->send || !cfg->backend->ops->set_offloads) {
        return -EINVAL;
    }
    if (cfg->has_mac && ((cfg->mac[0] & 1) || !memcmp(cfg->mac, zero_mac, 6))) {
        return -EINVAL; /* multicast or all-zero */
    }
    be = cfg->backend;
    net = calloc(1, sizeof(*net));
    if (!net) {
        return -ENOMEM;
    }
    features = (1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_STATUS) |
               (1ull << VIRTIO_NET_F_MRG_RXBUF);
    if (be->offloads & NET_OFFLOAD_CSUM) {
        /* 5.1.3.1: TSO only beside the checksum offload it requires. */
        features |= (1ull << VIRTIO_NET_F_CSUM) | (1ull << VIRTIO_NET_F_GUEST_CSUM);
        if (be->offloads & NET_OFFLOAD_TSO4) {
            features |= (1ull << VIRTIO_NET_F_HOST_TSO4) | (1ull << VIRTIO_NET_F_GUEST_TSO4);
        }
        if (be->offloads & NET_OFFLOAD_TSO6) {
            features |= (1ull << VIRTIO_NET_F_HOST_TSO6) | (1ull << VIRTIO_NET_F_GUEST_TSO6);
        }
    }
    net->ops = (virtio_device_ops_t){
        .name = "virtio-net",
        .device_id = VIRTIO_ID_NET,
        .num_queues = 2,
        .queue_max_size = VIRTIO_NET_QUEUE_SIZE,
        .features = features,
        .config_size = VIRTIO_NET_CONFIG_SIZE,
        .config_read = net_config_read,
        .config_write = NULL, /* 5.1.4: read-only; the common layer refuses writes */
        .activate = net_activate,
        .queue_notify = net_queue_notify,
        .reset = net_reset,
        .queue_disable = net_queue_disable,
    };
    rc = virtio_device_init(&net->vdev, vm, &net->ops, net, index);
    if (rc < 0) {
        free(net);
        return rc;
    }
    vmm_ratelimit_init(&net->log_rl, 5000, 10);
    net->be = be;
    net->io = cfg->io;
    net->link = VIRTIO_NET_S_LINK_UP;
    if (cfg->has_mac) {
        memcpy(net->mac, cfg->mac, 6);
    } else {
        default_mac(net->mac, index);
    }
    if (net->io) {
        /* Registered parked: nothing to wait for until DRIVER_OK. */
        rc = iothread_add_fd_events(net->io, be->fd, 0, net_fd_event, net);
        if (rc < 0) {
            pthread_mutex_destroy(&net->vdev.lock);
            free(net);
            return rc;
        }
        net->watched = true;
    }
    *out = net;
    return 0;
}

virtio_device_t *virtio_net_device(virtio_net_t *net)
{
    return &net->vdev;
}

void virtio_net_get_mac(const virtio_net_t *net, uint8_t mac[6])
{
    memcpy(mac, net->mac, 6);
}

bool virtio_net_poll(virtio_net_t *net)
{
    bool more;

    if (!net) {
        return false;
    }
    pthread_mutex_lock(&net->vdev.lock);
    if (net->tx_blocked || net->tx_more) {
        net_tx(net);
    }
    net_rx(net);
    more = (net->tx_more && net_live(net, TXQ)) || (net->rx_more && net_rx_wanted(net));
    net_update_events(net);
    pthread_mutex_unlock(&net->vdev.lock);
    return more;
}

uint64_t virtio_net_stat(const virtio_net_t *net, virtio_net_stat_t stat)
{
    if (!net || (unsigned int)stat >= VIRTIO_NET_STAT_COUNT) {
        return 0;
    }
    return __atomic_load_n(&net->stats[stat], __ATOMIC_RELAXED);
}

void virtio_net_destroy(virtio_net_t *net)
{
    bool watched;

    if (!net) {
        return;
    }
    pthread_mutex_lock(&net->vdev.lock);
    watched = net->watched;
    net->watched = false; /* a handler already dispatched finds nothing to do */
    pthread_mutex_unlock(&net->vdev.lock);
    if (watched) {
        iothread_remove_fd(net->io, net->be->fd); /* waits out a handler in progress */
    }
    pthread_mutex_destroy(&net->vdev.lock);
    free(net);
}
