/*
 * fuzz_net_switch.c - libFuzzer harness for the learning switch
 * (src/backends/net_switch.c) against a model of what it must do.
 *
 * The harness plays every VM (the far end of each port's socketpair) and
 * the network behind the uplink (a socket back end, net_socket.c).  The
 * switch has no thread: after every step the harness serves it with
 * net_switch_poll(), so a run is deterministic, and the clock is the
 * harness's.  A model of the switch (a linear MAC table with the same caps
 * and ageing time, the ports' states) predicts, for every frame injected,
 * the drop reason or the exact set of ports it reaches.  After every step
 * the harness checks, for every port: the frames it read (exactly the
 * frame sent, with a zeroed header; never to its sender), the counters
 * (received, sent, each drop reason) and the MAC entries behind it (within
 * the caps).  A port the harness does not read fills up: a frame for it is
 * then either sent or counted as peer_full, nothing else.
 *
 * Input: byte 0 sets the table's size (2 + byte % 16 entries), byte 1 the
 * caps (VM port: 1 + byte % 8, uplink: 1 + (byte >> 3) % 8); then steps,
 * each an op byte, kind = bits 0-2, port = bits 3-5 (6 and 7: the uplink):
 *
 *   0 SEND   5 bytes: flags, gso_type, dst, src, size; a frame from the port
 *            (dst and src pick addresses: see pick_mac(); size: see
 *            build_frame())
 *   1 RAW    1 byte n, then n bytes: sent from the port as they are
 *   2 TICK   1 byte t: the clock moves t/32 of the ageing time
 *   3 HANGUP the port's peer closes its end
 *   4 REPLACE the port gets a new socket (a VM port only)
 *   5 ADD    a new VM port (at most MAX_PORTS)
 *   6 DRAIN  the harness stops (or starts again) reading the port
 *   7 FILL   1 byte src: four of the largest broadcast frames from the port
 *
 * A port the harness never added or that is down ignores SEND, RAW and
 * FILL.  Seeds: tests/fuzz/make-seeds-switch.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vmmkit/log.h>
#include <vmmkit/net_backend.h>
#include <vmmkit/net_switch.h>

#define FUZZ_NAME "fuzz_net_switch"
#include "fuzz_driver.h"

#define HDR VIRTIO_NET_HDR_LEN
#define FRAME_MAX (HDR + NET_MAX_FRAME)
#define MAX_PORTS 6u
#define UPLINK MAX_PORTS /* the model's index of the uplink */
#define NPORTS (MAX_PORTS + 1u)
#define AGE_NS 3200u
#define MAX_ENTRIES 17u

static uint8_t frame[FRAME_MAX + 1];
static uint8_t got[FRAME_MAX + 64];

struct mport {
    bool exists;
    bool up;
    bool drain; /* the harness reads what arrives */
    int peer;   /* the VM's (or the network's) end; -1 when closed */
    net_switch_stats_t last;
};

struct mentry {
    uint64_t mac;
    unsigned int port;
    uint64_t seen;
};

struct model {
    net_switch_t *sw;
    uint64_t now;
    unsigned int entries, port_entries, uplink_entries;
    unsigned int nr_ports; /* VM ports added */
    struct mport port[NPORTS];
    struct mentry table[MAX_ENTRIES];
    unsigned int nr_entries;
};

static uint64_t harness_clock(void *opaque)
{
    return ((struct model *)opaque)->now;
}

static unsigned int switch_index(unsigned int p)
{
    return p == UPLINK ? NET_SWITCH_UPLINK : p;
}

static net_switch_stats_t port_stats(struct model *m, unsigned int p)
{
    net_switch_stats_t s;
    CHECK(net_switch_port_stats(m->sw, switch_index(p), &s) == 0);
    return s;
}

static void model_flush(struct model *m, unsigned int p)
{
    for (unsigned int i = 0; i < m->nr_entries;) {
        if (m->table[i].port == p) {
            m->table[i] = m->table[--m->nr_entries];
        } else {
            i++;
        }
    }
}

static unsigned int model_count(const struct model *m, unsigned int p)
{
    unsigned int n = 0;
    for (unsigned int i = 0; i < m->nr_entries; i++) {
        n += m->table[i].port == p;
    }
    return n;
}

static int model_find(const struct model *m, uint64_t mac)
{
    for (unsigned int i = 0; i < m->nr_entries; i++) {
        if (m->table[i].mac == mac) {
            return (int)i;
        }
    }
    return -1;
}

static uint64_t mac48(const uint8_t *b)
{
    uint64_t v = 0;
    for (int i = 0; i < 6; i++) {
        v = v << 8 | b[i];
    }
    return v;
}

/*
 * What the switch must do with @len bytes in frame[] from port @in: a drop
 * reason (returned), or -1 and the ports it goes to in @to.
 */
static int model_switch(struct model *m, unsigned int in, size_t len, bool to[NPORTS])
{
    const uint8_t *h = frame, *e = frame + HDR;

    memset(to, 0, NPORTS * sizeof(bool));
    if (len < HDR + 14 || len > FRAME_MAX) {
        return NET_SWITCH_DROP_MALFORMED;
    }
    if ((h[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM) || h[1] != VIRTIO_NET_HDR_GSO_NONE) {
        return NET_SWITCH_DROP_OFFLOAD;
    }
    uint64_t dst = mac48(e), src = mac48(e + 6);
    if ((e[6] & 1) || src == 0) {
        return NET_SWITCH_DROP_MALFORMED;
    }
    if ((dst >> 4) == 0x0180c200000ull) {
        return NET_SWITCH_DROP_RESERVED;
    }
    for (unsigned int i = 0; i < m->nr_entries;) {
        if (m->now - m->table[i].seen >= AGE_NS) {
            m->table[i] = m->table[--m->nr_entries];
        } else {
            i++;
        }
    }
    int k = model_find(m, src);
    if (k >= 0 && m->table[k].port == in) {
        m->table[k].seen = m->now;
    } else {
        if (k >= 0) {
            m->table[k] = m->table[--m->nr_entries];
        }
        unsigned int cap = in == UPLINK ? m->uplink_entries : m->port_entries;
        if (m->nr_entries >= m->entries || model_count(m, in) >= cap) {
            return NET_SWITCH_DROP_TABLE_FULL;
        }
        m->table[m->nr_entries++] = (struct mentry){.mac = src, .port = in, .seen = m->now};
    }
    k = (e[0] & 1) ? -1 : model_find(m, dst);
    if (k >= 0) {
        if (m->table[k].port == in) {
            return NET_SWITCH_DROP_HAIRPIN;
        }
        to[m->table[k].port] = true;
        return -1;
    }
    for (unsigned int p = 0; p < NPORTS; p++) {
        to[p] = p != in && m->port[p].exists;
    }
    return -1;
}

/* Read what is waiting on @p's peer (if drained): at most @expect frames, each the one sent. */
static unsigned int drain_port(struct model *m, unsigned int p, size_t len)
{
    unsigned int n = 0;
    ssize_t r;

    if (!m->port[p].drain || m->port[p].peer < 0) {
        return 0;
    }
    while ((r = recv(m->port[p].peer, got, sizeof(got), MSG_DONTWAIT)) >= 0) {
        CHECK(r == (ssize_t)len);
        for (unsigned int i = 0; i < HDR; i++) {
            CHECK(got[i] == 0);
        }
        CHECK(memcmp(got + HDR, frame + HDR, len - HDR) == 0);
        n++;
    }
    CHECK(errno == EAGAIN);
    return n;
}

/* Every port's entries are what the model holds, and within the caps. */
static void check_tables(struct model *m)
{
    unsigned int total = 0;

    for (unsigned int p = 0; p < NPORTS; p++) {
        if (!m->port[p].exists) {
            continue;
        }
        net_switch_stats_t s = port_stats(m, p);
        CHECK(s.macs == model_count(m, p));
        CHECK(s.macs <= (p == UPLINK ? m->uplink_entries : m->port_entries));
        CHECK(s.up == m->port[p].up);
        total += s.macs;
    }
    CHECK(total <= m->entries);
}

/* Inject @len bytes of frame[] from port @in and check everything the switch did. */
static void inject(struct model *m, unsigned int in, size_t len)
{
    bool to[NPORTS];
    net_switch_stats_t before[NPORTS];

    if (!m->port[in].exists || !m->port[in].up) {
        return;
    }
    for (unsigned int p = 0; p < NPORTS; p++) {
        if (m->port[p].exists) {
            before[p] = port_stats(m, p);
        }
    }
    ssize_t r = send(m->port[in].peer, frame, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (r < 0) {
        /* Only a frame larger than the harness's own send buffer is refused. */
        CHECK(errno == EMSGSIZE || errno == ENOBUFS);
        return;
    }
    CHECK(net_switch_poll(m->sw, 0) >= 1);

    int reason = model_switch(m, in, len, to);
    for (unsigned int p = 0; p < NPORTS; p++) {
        if (!m->port[p].exists) {
            continue;
        }
        net_switch_stats_t s = port_stats(m, p), *b = &before[p];
        uint64_t tx = s.tx_frames - b->tx_frames;
        uint64_t full = s.drops[NET_SWITCH_DROP_PEER_FULL] - b->drops[NET_SWITCH_DROP_PEER_FULL];
        uint64_t down = s.drops[NET_SWITCH_DROP_PORT_DOWN] - b->drops[NET_SWITCH_DROP_PORT_DOWN];
        unsigned int read = drain_port(m, p, len);

        CHECK(s.drops[NET_SWITCH_DROP_ERROR] == b->drops[NET_SWITCH_DROP_ERROR]);
        if (p == in) {
            /* Never back to the sender; its own counters say what became of the frame. */
            CHECK(tx == 0 && read == 0 && full == 0 && down == 0);
            CHECK(s.rx_frames == b->rx_frames + 1);
            CHECK(s.rx_bytes == b->rx_bytes + (len > HDR ? len - HDR : 0));
            for (unsigned int d = 0; d < NET_SWITCH_DROP_COUNT; d++) {
                if (d != NET_SWITCH_DROP_PEER_FULL && d != NET_SWITCH_DROP_PORT_DOWN) {
                    CHECK(s.drops[d] == b->drops[d] + (reason == (int)d));
                }
            }
            continue;
        }
        CHECK(s.rx_frames == b->rx_frames);
        if (!to[p]) {
            CHECK(tx == 0 && read == 0 && full == 0 && down == 0);
        } else if (!m->port[p].up) {
            CHECK(tx == 0 && read == 0 && full == 0 && down == 1);
        } else if (m->port[p].drain) {
            CHECK(tx == 1 && read == 1 && full == 0 && down == 0);
            CHECK(s.tx_bytes == b->tx_bytes + len - HDR);
        } else {
            CHECK(tx + full == 1 && down == 0);
        }
    }
    check_tables(m);
}

/* Address @sel picks: unicast (24 of them), broadcast, multicast, reserved, zero. */
static void pick_mac(uint8_t *mac, uint8_t sel)
{
    static const uint8_t bases[6][6] = {
        {0x02, 0, 0, 0, 0, 0},       {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
        {0x01, 0x00, 0x5e, 0, 0, 0}, {0x01, 0x80, 0xc2, 0, 0, 0},
        {0, 0, 0, 0, 0, 0},          {0x33, 0x33, 0, 0, 0, 0},
    };
    unsigned int k = sel & 15;

    if (k < 8) {
        memcpy(mac, bases[0], 6);
        mac[5] = (uint8_t)k;
    } else if (k < 13) {
        memcpy(mac, bases[k - 7], 6);
        if (k == 10 || k == 12) {
            mac[5] = sel >> 4; /* 01:80:c2:00:00:00-0f: reserved; 33:33::xx */
        }
    } else {
        memcpy(mac, bases[0], 6);
        mac[4] = 1;
        mac[5] = (uint8_t)(sel >> 4); /* 16 more */
    }
}

/*
 * A frame with header flags @flags and gso_type @gso, to @dst from @src;
 * @size: 255 one byte too long, 254 the largest; @size % 64 == 61 a
 * truncated one (@size >> 6: 0, 11, 12 or 25 bytes); else a payload of 8
 * bytes per unit of @size % 64.
 */
static size_t build_frame(uint8_t flags, uint8_t gso, uint8_t dst, uint8_t src, uint8_t size)
{
    static const size_t shorts[4] = {0, HDR - 1, HDR, HDR + 13};
    size_t payload;

    memset(frame, 0, HDR);
    frame[0] = flags;
    frame[1] = gso;
    frame[2] = dst;              /* hdr_len: junk the switch must not pass on */
    frame[HDR - 2] = src ^ 0x5a; /* num_buffers, likewise */
    pick_mac(frame + HDR, dst);
    pick_mac(frame + HDR + 6, src);
    frame[HDR + 12] = 0x88;
    frame[HDR + 13] = 0xb5;
    if (size == 255) {
        payload = NET_MAX_FRAME - 14 + 1;
    } else if (size == 254) {
        payload = NET_MAX_FRAME - 14;
    } else if (size % 64 == 61) {
        return shorts[size >> 6];
    } else {
        payload = (size % 64) * 8u;
    }
    memset(frame + HDR + 14, size, payload);
    return HDR + 14 + payload;
}

static int new_pair(int *peer)
{
    int sv[2];

    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
    *peer = sv[0];
    return sv[1];
}

static void add_vm_port(struct model *m)
{
    if (m->nr_ports >= MAX_PORTS) {
        return;
    }
    unsigned int p = m->nr_ports++;
    int fd = new_pair(&m->port[p].peer);
    CHECK(net_switch_add_port(m->sw, fd, NULL) == (int)p);
    m->port[p].exists = m->port[p].up = m->port[p].drain = true;
}

/* The port's peer closes its end; the switch must take the port down at once. */
static void hang_up(struct model *m, unsigned int p)
{
    if (!m->port[p].exists || m->port[p].peer < 0) {
        return;
    }
    close(m->port[p].peer);
    m->port[p].peer = -1;
    if (m->port[p].up) {
        CHECK(net_switch_poll(m->sw, 0) >= 1);
        m->port[p].up = false;
        model_flush(m, p);
    }
    check_tables(m);
}

static void replace(struct model *m, unsigned int p)
{
    int peer;

    if (p == UPLINK || !m->port[p].exists) {
        return;
    }
    int fd = new_pair(&peer);
    CHECK(net_switch_replace_port(m->sw, p, fd) == 0);
    if (m->port[p].peer >= 0) {
        close(m->port[p].peer);
    }
    m->port[p].peer = peer;
    m->port[p].up = true;
    model_flush(m, p);
    /* The old socket's hang-up, if it is reported at all, is not the new socket's. */
    CHECK(net_switch_poll(m->sw, 0) >= 0);
    check_tables(m);
}

static void toggle_drain(struct model *m, unsigned int p)
{
    if (!m->port[p].exists) {
        return;
    }
    m->port[p].drain = !m->port[p].drain;
    if (m->port[p].drain && m->port[p].peer >= 0) {
        /* The backlog of frames nobody checked goes. */
        while (recv(m->port[p].peer, got, sizeof(got), MSG_DONTWAIT) >= 0) {
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct model m;
    size_t pos = 2;

    if (size < 2) {
        return 0;
    }
    vmm_log_set_level(VMM_LOG_ERR);
    memset(&m, 0, sizeof(m));
    for (unsigned int p = 0; p < NPORTS; p++) {
        m.port[p].peer = -1;
    }
    m.now = 1;
    m.entries = 2 + data[0] % 16;
    m.port_entries = 1 + data[1] % 8;
    m.uplink_entries = 1 + (data[1] >> 3) % 8;
    net_switch_config_t cfg = {
        .entries = m.entries,
        .port_entries = m.port_entries,
        .uplink_entries = m.uplink_entries,
        .age_ns = AGE_NS,
        .now_ns = harness_clock,
        .clock_opaque = &m,
        .no_thread = true,
    };
    CHECK(net_switch_create_config("fuzz", &cfg, &m.sw) == 0);
    for (int i = 0; i < 3; i++) {
        add_vm_port(&m);
    }
    net_backend_t *be;
    int fd = new_pair(&m.port[UPLINK].peer);
    CHECK(net_socket_open(fd, 0, "uplink", &be) == 0);
    CHECK(net_switch_set_uplink(m.sw, be) == 0);
    m.port[UPLINK].exists = m.port[UPLINK].up = m.port[UPLINK].drain = true;

    while (pos < size) {
        uint8_t op = data[pos++];
        unsigned int p = (op >> 3) & 7u;
        p = p < MAX_PORTS ? p : UPLINK;
        const uint8_t *a = data + pos;

        switch (op & 7) {
        case 0: /* SEND */
            if (pos + 5 > size) {
                pos = size;
                break;
            }
            pos += 5;
            inject(&m, p, build_frame(a[0], a[1], a[2], a[3], a[4]));
            break;
        case 1: { /* RAW */
            size_t n = pos < size ? a[0] : 0;
            if (pos + 1 + n > size) {
                pos = size;
                break;
            }
            memcpy(frame, a + 1, n);
            pos += 1 + n;
            inject(&m, p, n);
            break;
        }
        case 2: /* TICK */
            if (pos < size) {
                m.now += (uint64_t)a[0] * (AGE_NS / 32);
                pos++;
            }
            break;
        case 3:
            hang_up(&m, p);
            break;
        case 4:
            replace(&m, p);
            break;
        case 5:
            add_vm_port(&m);
            break;
        case 6:
            toggle_drain(&m, p);
            break;
        default: /* FILL */
            if (pos < size) {
                pos++;
                for (int i = 0; i < 4; i++) {
                    inject(&m, p, build_frame(0, 0, 8, a[0], 254));
                }
            }
            break;
        }
        /* Nothing arrives unannounced. */
        CHECK(net_switch_poll(m.sw, 0) == 0);
    }

    net_switch_destroy(m.sw);
    for (unsigned int p = 0; p < NPORTS; p++) {
        if (m.port[p].peer >= 0) {
            close(m.port[p].peer);
        }
    }
    return 0;
}
