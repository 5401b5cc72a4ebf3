/*
 * net_switch.h - a learning Ethernet switch between VMs, with an optional
 * uplink to the host's network.
 *
 * The switch runs outside the VMs (in the supervisor, on a thread of its
 * own).  Each port is the switch's end of a connected AF_UNIX
 * SOCK_SEQPACKET socket whose other end is a VM's network back end
 * (net_socket_open() with no offloads): one message is one frame, preceded
 * by the 12-byte virtio network header (net_backend.h).  The uplink, when
 * there is one, is any net_backend_t, normally a tap (tap_open()).
 *
 * It forwards as an IEEE 802.1D MAC bridge without VLANs or spanning tree
 * does:
 *   - it learns which port each source MAC address lives behind, and a
 *     source seen on another port is learned there again (the VM moved);
 *   - a frame to a learned unicast address goes to that port only; one
 *     whose destination lives behind the port it came from is dropped
 *     (never sent back out of its ingress port);
 *   - broadcast, multicast and unknown unicast frames are flooded to every
 *     other port that is up, and to the uplink;
 *   - frames to the reserved group addresses 01:80:c2:00:00:00-0f (STP,
 *     PAUSE, LACP, LLDP...; 802.1D 7.12.6) are not forwarded;
 *   - entries not refreshed for the ageing time (300 s) expire.
 *
 * Every port is hostile: what a VM sends may be anything at any rate.
 * Every frame is checked (net_switch_drop_t lists what is refused), the
 * MAC table is bounded, in total and per port, so one VM cannot evict the
 * others' entries, and nothing is ever sent back to its sender.  Sends
 * never block: a port whose socket is full loses the frame (counted), so a
 * slow VM slows nobody else.  Each port is served a bounded batch of frames
 * at a time, so a busy VM cannot starve the others.  A port whose peer hung
 * up goes down: its entries are flushed and it carries nothing until
 * net_switch_replace_port() gives it a new socket.
 *
 * Ports carry no offloads: frames go from one VM to another whose driver
 * may not have negotiated checksum or segmentation offloads, so a frame
 * whose header asks for either (NEEDS_CSUM, a GSO type) is dropped, and
 * every frame passed on has a zeroed header (no flags, GSO_NONE,
 * num_buffers 0).  The uplink is asked for the same (set_offloads(be, 0)).
 * docs/virtual-switch.md has the whole story.
 *
 * Threads and locking:
 *   - The switch has one thread (named after the switch) that waits with
 *     epoll on every port, the uplink and an eventfd that wakes it to stop;
 *     it receives each frame into one buffer and sends it to each
 *     destination from there (no allocation per frame).
 *   - sw->lock, a mutex inside the switch, guards the ports, the MAC table
 *     and the counters.  The thread holds it while it serves one port's
 *     batch of frames; every function below takes it, so they are all
 *     thread-safe and may be called while traffic flows, from any thread
 *     but the switch's own (the switch calls nothing back).
 *   - net_switch_destroy() is the owner's last call: nothing else may run
 *     beside it.
 *   - A switch created with cfg->no_thread has no thread: the caller runs
 *     it with net_switch_poll() (tests and fuzzers), never from two threads
 *     at once.
 *
 * File descriptors the switch owns are close-on-exec, so VM processes
 * forked and executed beside it never inherit another VM's port.
 */
#ifndef VMMKIT_NET_SWITCH_H
#define VMMKIT_NET_SWITCH_H

#include <stdbool.h>
#include <stdint.h>

#include <vmmkit/net_backend.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct net_switch net_switch_t;

/* The port index that names the uplink in net_switch_port_stats(). */
#define NET_SWITCH_UPLINK 0xffffffffu

/* At most this many VM ports per switch (a flood is one send per port). */
#define NET_SWITCH_MAX_PORTS 256u

/* Defaults of net_switch_config_t (a field left 0 takes its default). */
#define NET_SWITCH_DEFAULT_ENTRIES 4096u                   /* MAC table entries in all */
#define NET_SWITCH_DEFAULT_PORT_ENTRIES 256u               /* learned behind one VM port */
#define NET_SWITCH_DEFAULT_UPLINK_ENTRIES 1024u            /* learned behind the uplink */
#define NET_SWITCH_DEFAULT_AGE_NS (300ull * 1000000000ull) /* 802.1D's default ageing time */

/*
 * Why a frame was dropped, each counted per port.  Ingress reasons count
 * on the port the frame came from, egress reasons on the port it could not
 * be sent to.
 */
typedef enum net_switch_drop {
    /* Ingress. */
    NET_SWITCH_DROP_MALFORMED,  /* shorter than the header and an Ethernet header (12 + 14),
                                 * longer than 12 + NET_MAX_FRAME, or a source address that is
                                 * multicast, broadcast or all zeros */
    NET_SWITCH_DROP_OFFLOAD,    /* the header asks for an offload: NEEDS_CSUM or a GSO type */
    NET_SWITCH_DROP_RESERVED,   /* to a reserved group address 01:80:c2:00:00:0x */
    NET_SWITCH_DROP_HAIRPIN,    /* its destination was learned behind its own port */
    NET_SWITCH_DROP_TABLE_FULL, /* its source could not be learned: the table or the
                                 * port's share of it is full */
    /* Egress. */
    NET_SWITCH_DROP_PEER_FULL, /* the port's socket (or the uplink) could not take it now */
    NET_SWITCH_DROP_PORT_DOWN, /* the port was down (or the uplink's interface is down) */
    /* Either. */
    NET_SWITCH_DROP_ERROR, /* another receive or send error (the frame is lost) */
    NET_SWITCH_DROP_COUNT
} net_switch_drop_t;

/* One port's counters; they survive net_switch_replace_port(). */
typedef struct net_switch_stats {
    uint64_t rx_frames; /* frames taken from the port, those dropped at ingress included */
    uint64_t rx_bytes;  /* their lengths, virtio header not counted */
    uint64_t tx_frames; /* frames sent to the port */
    uint64_t tx_bytes;
    uint64_t drops[NET_SWITCH_DROP_COUNT];
    uint32_t macs; /* MAC addresses learned behind the port now */
    bool up;       /* the port carries traffic */
} net_switch_stats_t;

/*
 * Tuning, for net_switch_create_config().  Zeroed fields take the
 * defaults.  A VM port learns at most @port_entries addresses, the uplink
 * @uplink_entries, all of them together @entries: with the defaults 16
 * VMs can fill their shares and still leave the uplink its own.
 */
typedef struct net_switch_config {
    unsigned int entries;        /* 0: NET_SWITCH_DEFAULT_ENTRIES; at most 1 << 20 */
    unsigned int port_entries;   /* 0: NET_SWITCH_DEFAULT_PORT_ENTRIES */
    unsigned int uplink_entries; /* 0: NET_SWITCH_DEFAULT_UPLINK_ENTRIES */
    uint64_t age_ns;             /* 0: NET_SWITCH_DEFAULT_AGE_NS */
    /*
     * The clock entries age by, in nanoseconds; it must never go back.
     * NULL: CLOCK_MONOTONIC.  Called on the switch's thread with the lock
     * held (tests inject theirs).
     */
    uint64_t (*now_ns)(void *opaque);
    void *clock_opaque;
    bool no_thread; /* no thread: the caller runs the switch with net_switch_poll() */
} net_switch_config_t;

/*
 * Create switch @name (for logs and the thread's name; NULL: "switch")
 * with the default configuration and start its thread.  Returns 0 and the
 * switch in *@out, or -EINVAL, -ENOMEM or another -errno.
 */
int net_switch_create(const char *name, net_switch_t **out);

/* As net_switch_create(), configured by @cfg (NULL: the defaults). */
int net_switch_create_config(const char *name, const net_switch_config_t *cfg, net_switch_t **out);

/*
 * Add a port on @fd, the switch's end of a connected SOCK_SEQPACKET
 * socket; @name is for logs (NULL: "portN").  The switch takes @fd (made
 * non-blocking and close-on-exec; closed when the port goes down or by
 * destroy) and serves it at once.  Returns the port's index (0, 1, ... in
 * order of addition), or -EINVAL, -ENOTSOCK / -EPROTOTYPE (@fd is not a
 * SOCK_SEQPACKET socket), -ENOSPC (NET_SWITCH_MAX_PORTS ports already),
 * -ENOMEM or another -errno; on error @fd stays the caller's.
 */
int net_switch_add_port(net_switch_t *sw, int fd, const char *name);

/*
 * The VM behind @port restarted: the port takes the new socket @fd (as
 * net_switch_add_port() does) and is up again.  Its old socket, if still
 * open, is closed, its MAC entries are flushed and its counters kept.
 * Returns 0, or -ENOENT (no such port) or an error as
 * net_switch_add_port(); on error @fd stays the caller's and the port is
 * as it was.
 */
int net_switch_replace_port(net_switch_t *sw, unsigned int port, int fd);

/*
 * Connect the switch to the host's network through @be (a tap): frames
 * are flooded and forwarded to it as to a port, and frames it delivers are
 * switched to the VMs.  Asks @be for frames without offloads
 * (set_offloads(be, 0)).  On success the switch owns @be and destroys it
 * with itself (or when it reports that its peer has gone: the uplink is
 * then down for good).  Returns 0, -EBUSY when the switch has an uplink
 * already, -EINVAL, or the error of set_offloads() or of watching be->fd;
 * on error @be stays the caller's.
 */
int net_switch_set_uplink(net_switch_t *sw, net_backend_t *be);

/*
 * Copy the counters of @port (NET_SWITCH_UPLINK: the uplink's) into *@out,
 * a consistent snapshot.  Returns 0, or -ENOENT (no such port: *@out is
 * zeroed).
 */
int net_switch_port_stats(net_switch_t *sw, unsigned int port, net_switch_stats_t *out);

/* The number of ports added so far (the uplink not counted). */
unsigned int net_switch_port_count(net_switch_t *sw);

/*
 * Only for a switch created with cfg->no_thread: wait up to @timeout_ms
 * (0: not at all, -1: forever) for ports with frames or hang-ups, and
 * serve them once, as the thread would.  Returns the number of descriptors
 * served, -EINVAL for a switch with a thread, or -errno from epoll.
 */
int net_switch_poll(net_switch_t *sw, int timeout_ms);

/*
 * Stop the thread (frames in flight are lost), close every port and
 * destroy the uplink, then free @sw (NULL is fine).
 */
void net_switch_destroy(net_switch_t *sw);

/* The reason's name for logs and tables ("malformed", "peer_full", ...). */
const char *net_switch_drop_name(net_switch_drop_t reason);

#ifdef __cplusplus
}
#endif
#endif
