/*
 * test_net_switch.c - the learning switch (src/backends/net_switch.c):
 * learning and forwarding, flooding, no hairpin, ageing on an injected
 * clock, moves, the table's caps, every malformed frame class, a full
 * peer, hang-ups and replaced ports, ports added and a switch destroyed
 * while frames flow, an uplink over a socket back end and one over a real
 * tap, and two virtio-net devices talking through the switch.
 *
 * The tests play the VMs on the other ends of SOCK_SEQPACKET socketpairs.
 * A frame is switched under the switch's lock and the counters are read
 * under it, so once a port's rx_frames shows a frame, everything that frame
 * caused has happened: that is how a test knows nothing else will arrive.
 *
 * main() moves into a network namespace of its own (unshare(CLONE_NEWNET))
 * for the tap test, so the host's network is never touched; without the
 * privilege for that, only the tap test is skipped (and says why).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <vmmkit/iothread.h>
#include <vmmkit/log.h>
#include <vmmkit/net_backend.h>
#include <vmmkit/net_switch.h>
#include <vmmkit/virtio_net.h>

#include "fake_hv.h"
#include "virtio_guest.h"

#define HDR VIRTIO_NET_HDR_LEN
#define BUF_MAX (HDR + NET_MAX_FRAME + 64)
#define WAIT_MS 5000

static const char *tap_skip_reason; /* why the tap test cannot run, or NULL */

/* Locally administered addresses: the last byte tells them apart. */
#define MAC(n) ((const uint8_t[6]){0x02, 0x00, 0x00, 0x00, 0x00, (uint8_t)(n)})
static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t mcast[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};

/* --- helpers ----------------------------------------------------------------------------- */

static uint64_t fake_now; /* the injected clock, read by the switch's thread */

static uint64_t fake_clock(void *opaque)
{
    return __atomic_load_n(&fake_now, __ATOMIC_ACQUIRE);
}

static void clock_advance(uint64_t ns)
{
    __atomic_add_fetch(&fake_now, ns, __ATOMIC_RELEASE);
}

static net_switch_t *switch_with(unsigned int entries, unsigned int port_entries, uint64_t age_ns)
{
    net_switch_config_t cfg = {
        .entries = entries,
        .port_entries = port_entries,
        .age_ns = age_ns,
        .now_ns = fake_clock,
    };
    net_switch_t *sw = NULL;

    __atomic_store_n(&fake_now, 1000000000ull, __ATOMIC_RELEASE);
    assert_int_equal(net_switch_create_config("sw-test", &cfg, &sw), 0);
    return sw;
}

/* A new port; its VM end in *@vm.  @sndbuf (if not 0) shrinks the switch end's send buffer. */
static int add_port(net_switch_t *sw, int *vm, int sndbuf)
{
    int sv[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    if (sndbuf) {
        assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
    }
    int idx = net_switch_add_port(sw, sv[1], NULL);
    assert_true(idx >= 0);
    *vm = sv[0];
    return idx;
}

/* Header @h (NULL: zeroes), then @dst, @src, EtherType 0x88b5 and @payload pattern bytes. */
static size_t make_frame(uint8_t *f, const virtio_net_hdr_t *h, const uint8_t *dst,
                         const uint8_t *src, size_t payload, uint8_t seq)
{
    memset(f, 0, HDR);
    if (h) {
        memcpy(f, h, HDR);
    }
    memcpy(f + HDR, dst, 6);
    memcpy(f + HDR + 6, src, 6);
    f[HDR + 12] = 0x88;
    f[HDR + 13] = 0xb5;
    for (size_t i = 0; i < payload; i++) {
        f[HDR + 14 + i] = (uint8_t)(seq + i);
    }
    return HDR + 14 + payload;
}

static void vm_send(int fd, const uint8_t *f, size_t len)
{
    assert_int_equal(send(fd, f, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* The next message on @fd within @ms, into @buf; its length, or -1 on timeout. */
static ssize_t vm_recv(int fd, uint8_t *buf, size_t cap, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    if (poll(&p, 1, ms) != 1) {
        return -1;
    }
    return recv(fd, buf, cap, MSG_DONTWAIT);
}

/* Nothing is waiting on @fd. */
static void expect_nothing(int fd)
{
    uint8_t b[64];
    assert_int_equal(recv(fd, b, sizeof(b), MSG_DONTWAIT), -1);
    assert_int_equal(errno, EAGAIN);
}

/* The next frame on @fd is @f (@len bytes) with its header zeroed. */
static void expect_frame(int fd, const uint8_t *f, size_t len)
{
    static uint8_t got[BUF_MAX];
    static const uint8_t zero[HDR];

    ssize_t n = vm_recv(fd, got, sizeof(got), WAIT_MS);
    assert_int_equal(n, (ssize_t)len);
    assert_memory_equal(got, zero, HDR);
    assert_memory_equal(got + HDR, f + HDR, len - HDR);
}

static net_switch_stats_t stats(net_switch_t *sw, unsigned int port)
{
    net_switch_stats_t s;
    assert_int_equal(net_switch_port_stats(sw, port, &s), 0);
    return s;
}

static void sleep_ms(unsigned int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Wait until @port has taken @n frames: the switch is done with them. */
static void wait_rx(net_switch_t *sw, unsigned int port, uint64_t n)
{
    for (int i = 0; i < WAIT_MS; i++) {
        if (stats(sw, port).rx_frames >= n) {
            assert_int_equal(stats(sw, port).rx_frames, n);
            return;
        }
        sleep_ms(1);
    }
    fail_msg("port %u took %llu frames, not %llu", port,
             (unsigned long long)stats(sw, port).rx_frames, (unsigned long long)n);
}

/* Wait until @port is down (or up). */
static void wait_up(net_switch_t *sw, unsigned int port, bool up)
{
    for (int i = 0; i < WAIT_MS; i++) {
        if (stats(sw, port).up == up) {
            return;
        }
        sleep_ms(1);
    }
    fail_msg("port %u is not %s", port, up ? "up" : "down");
}

/* Send @f from the VM at @fd (port @port, which has taken @n frames before) and wait for it. */
static void send_wait(net_switch_t *sw, unsigned int port, int fd, const uint8_t *f, size_t len)
{
    uint64_t before = stats(sw, port).rx_frames;
    vm_send(fd, f, len);
    wait_rx(sw, port, before + 1);
}

/* --- arguments ------------------------------------------------------------------------- */

static void test_switch_arguments(void **state)
{
    net_switch_t *sw = NULL;
    net_switch_config_t big = {.entries = (1u << 20) + 1};
    net_switch_stats_t s;
    int sv[2], p[2];

    assert_int_equal(net_switch_create("x", NULL), -EINVAL);
    assert_int_equal(net_switch_create_config("x", &big, &sw), -EINVAL);
    assert_null(sw);
    assert_int_equal(net_switch_create(NULL, &sw), 0);

    assert_int_equal(net_switch_add_port(sw, -1, "bad"), -EINVAL);
    assert_int_equal(pipe(p), 0);
    assert_int_equal(net_switch_add_port(sw, p[0], "pipe"), -ENOTSOCK);
    close(p[0]);
    close(p[1]);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(net_switch_add_port(sw, sv[1], "stream"), -EPROTOTYPE);
    assert_int_equal(net_switch_replace_port(sw, 0, sv[1]), -EPROTOTYPE);
    close(sv[0]);
    close(sv[1]);
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    assert_int_equal(net_switch_replace_port(sw, 0, sv[1]), -ENOENT); /* no port 0 yet */
    assert_int_equal(net_switch_add_port(sw, sv[1], "p0"), 0);
    assert_true(fcntl(sv[1], F_GETFD) & FD_CLOEXEC);
    assert_true(fcntl(sv[1], F_GETFL) & O_NONBLOCK);
    assert_int_equal(net_switch_port_count(sw), 1);

    assert_int_equal(net_switch_port_stats(sw, 1, &s), -ENOENT);
    assert_int_equal(net_switch_port_stats(sw, NET_SWITCH_UPLINK, &s), -ENOENT);
    assert_int_equal(net_switch_port_stats(sw, 0, &s), 0);
    assert_true(s.up);
    assert_int_equal(net_switch_set_uplink(sw, NULL), -EINVAL);
    assert_int_equal(net_switch_poll(sw, 0), -EINVAL); /* it has a thread */

    assert_string_equal(net_switch_drop_name(NET_SWITCH_DROP_PEER_FULL), "peer_full");
    assert_string_equal(net_switch_drop_name(NET_SWITCH_DROP_COUNT), "unknown");
    net_switch_destroy(sw);
    net_switch_destroy(NULL);
    close(sv[0]);
}

/* --- forwarding ------------------------------------------------------------------------ */

static void test_switch_learn_and_forward(void **state)
{
    net_switch_t *sw = switch_with(0, 0, 0);
    uint8_t f[256];
    int a, b, c;
    size_t len;

    assert_int_equal(add_port(sw, &a, 0), 0);
    assert_int_equal(add_port(sw, &b, 0), 1);
    assert_int_equal(add_port(sw, &c, 0), 2);

    /* A broadcast from A reaches B and C, not A; A is learned. */
    len = make_frame(f, NULL, bcast, MAC(0xa), 46, 1);
    send_wait(sw, 0, a, f, len);
    expect_frame(b, f, len);
    expect_frame(c, f, len);
    expect_nothing(a);
    assert_int_equal(stats(sw, 0).macs, 1);

    /* B to A: A only; B is learned. */
    len = make_frame(f, NULL, MAC(0xa), MAC(0xb), 100, 2);
    send_wait(sw, 1, b, f, len);
    expect_frame(a, f, len);
    expect_nothing(b);
    expect_nothing(c);

    /* A to B, C to B: B only. */
    len = make_frame(f, NULL, MAC(0xb), MAC(0xa), 60, 3);
    send_wait(sw, 0, a, f, len);
    expect_frame(b, f, len);
    len = make_frame(f, NULL, MAC(0xb), MAC(0xc), 60, 4);
    send_wait(sw, 2, c, f, len);
    expect_frame(b, f, len);
    expect_nothing(a);
    expect_nothing(c);

    net_switch_stats_t sa = stats(sw, 0), sb = stats(sw, 1);
    assert_int_equal(sa.rx_frames, 2);
    assert_int_equal(sa.rx_bytes, (14 + 46) + (14 + 60));
    assert_int_equal(sa.tx_frames, 1);
    assert_int_equal(sa.tx_bytes, 14 + 100);
    assert_int_equal(sb.tx_frames, 3);
    assert_int_equal(sb.rx_frames, 1);
    for (unsigned int r = 0; r < NET_SWITCH_DROP_COUNT; r++) {
        assert_int_equal(sa.drops[r], 0);
        assert_int_equal(sb.drops[r], 0);
    }
    net_switch_destroy(sw);
    close(a);
    close(b);
    close(c);
}

/* Unknown unicast and multicast go to every other port; a header's stray fields do not pass. */
static void test_switch_flood(void **state)
{
    net_switch_t *sw = switch_with(0, 0, 0);
    uint8_t f[256];
    int vm[4];
    size_t len;

    for (int i = 0; i < 4; i++) {
        assert_int_equal(add_port(sw, &vm[i], 0), i);
    }
    len = make_frame(f, NULL, MAC(0x77), MAC(1), 50, 1);
    send_wait(sw, 1, vm[1], f, len);
    for (int i = 0; i < 4; i++) {
        if (i == 1) {
            expect_nothing(vm[i]);
        } else {
            expect_frame(vm[i], f, len);
        }
    }
    /* Multicast (IPv4 and IPv6 groups), with a header full of receive-side junk. */
    virtio_net_hdr_t h = {.flags = VIRTIO_NET_HDR_F_DATA_VALID | VIRTIO_NET_HDR_F_RSC_INFO,
                          .hdr_len = htole16(54),
                          .gso_size = htole16(1000),
                          .csum_start = htole16(34),
                          .csum_offset = htole16(16),
                          .num_buffers = htole16(7)};
    len = make_frame(f, &h, mcast, MAC(3), 50, 2);
    send_wait(sw, 3, vm[3], f, len);
    for (int i = 0; i < 3; i++) {
        expect_frame(vm[i], f, len); /* with a zeroed header */
    }
    len = make_frame(f, NULL, (const uint8_t[6]){0x33, 0x33, 0, 0, 0, 1}, MAC(3), 50, 3);
    send_wait(sw, 3, vm[3], f, len);
    for (int i = 0; i < 3; i++) {
        expect_frame(vm[i], f, len);
    }
    expect_nothing(vm[3]);
    assert_int_equal(stats(sw, 0).tx_frames, 3);
    net_switch_destroy(sw);
    for (int i = 0; i < 4; i++) {
        close(vm[i]);
    }
}

/* A frame to an address behind its own port is dropped, never sent back. */
static void test_switch_no_hairpin(void **state)
{
    net_switch_t *sw = switch_with(0, 0, 0);
    uint8_t f[256];
    int a, b;
    size_t len;

    add_port(sw, &a, 0);
    add_port(sw, &b, 0);
    len = make_frame(f, NULL, bcast, MAC(0xa1), 46, 1);
    send_wait(sw, 0, a, f, len);
    expect_frame(b, f, len);
    len = make_frame(f, NULL, MAC(0xa1), MAC(0xa2), 46, 2);
    send_wait(sw, 0, a, f, len);
    /* To itself, too. */
    len = make_frame(f, NULL, MAC(0xa2), MAC(0xa2), 46, 3);
    send_wait(sw, 0, a, f, len);
    expect_nothing(a);
    expect_nothing(b);
    assert_int_equal(stats(sw, 0).drops[NET_SWITCH_DROP_HAIRPIN], 2);
    assert_int_equal(stats(sw, 0).macs, 2);
    net_switch_destroy(sw);
    close(a);
    close(b);
}

static void test_switch_aging(void **state)
{
    const uint64_t age = 1000000;
    net_switch_t *sw = switch_with(0, 0, age);
    uint8_t f[256];
    int a, b, c;
    size_t len;

    add_port(sw, &a, 0);
    add_port(sw, &b, 0);
    add_port(sw, &c, 0);
    len = make_frame(f, NULL, bcast, MAC(0xa), 46, 1);
    send_wait(sw, 0, a, f, len);
    expect_frame(b, f, len);
    expect_frame(c, f, len);

    /* Just before the ageing time: still known, A only. */
    clock_advance(age - 1);
    len = make_frame(f, NULL, MAC(0xa), MAC(0xb), 46, 2);
    send_wait(sw, 1, b, f, len);
    expect_frame(a, f, len);
    expect_nothing(c);

    /* Not refreshed for the ageing time: forgotten, so flooded. */
    clock_advance(1);
    send_wait(sw, 1, b, f, len);
    expect_frame(a, f, len);
    expect_frame(c, f, len);
    assert_int_equal(stats(sw, 0).macs, 0);
    assert_int_equal(stats(sw, 1).macs, 1); /* B was refreshed by the frame just sent */

    /* A frame refreshes its source: A, sending now and then, is never forgotten. */
    len = make_frame(f, NULL, MAC(0xb), MAC(0xa), 46, 3);
    for (int i = 0; i < 4; i++) {
        send_wait(sw, 0, a, f, len);
        expect_frame(b, f, len);
        clock_advance(age / 2);
    }
    len = make_frame(f, NULL, MAC(0xa), MAC(0xc), 46, 4);
    send_wait(sw, 2, c, f, len);
    expect_frame(a, f, len);
    expect_nothing(b);
    net_switch_destroy(sw);
    close(a);
    close(b);
    close(c);
}

/* An address seen on another port moves there. */
static void test_switch_mac_move(void **state)
{
    net_switch_t *sw = switch_with(0, 0, 0);
    uint8_t f[256];
    int a, b, c;
    size_t len;

    add_port(sw, &a, 0);
    add_port(sw, &b, 0);
    add_port(sw, &c, 0);
    len = make_frame(f, NULL, MAC(0xb), MAC(0xa), 46, 1);
    send_wait(sw, 0, a, f, len); /* flooded: B unknown */
    expect_frame(b, f, len);
    expect_frame(c, f, len);
    send_wait(sw, 2, c, f, len); /* 0xa now behind C */
    expect_frame(a, f, len);
    expect_frame(b, f, len);
    assert_int_equal(stats(sw, 0).macs, 0);
    assert_int_equal(stats(sw, 2).macs, 1);

    len = make_frame(f, NULL, MAC(0xa), MAC(0xb), 46, 2);
    send_wait(sw, 1, b, f, len);
    expect_frame(c, f, len);
    expect_nothing(a);
    net_switch_destroy(sw);
    close(a);
    close(b);
    close(c);
}

/* The table holds 6 addresses, a port at most 4: one VM cannot take everyone's room. */
static void test_switch_table_caps(void **state)
{
    const uint64_t age = 1000000;
    net_switch_t *sw = switch_with(6, 4, age);
    uint8_t f[256];
    int a, b, c;
    size_t len;

    add_port(sw, &a, 0);
    add_port(sw, &b, 0);
    add_port(sw, &c, 0);
    for (int i = 0; i < 4; i++) {
        len = make_frame(f, NULL, bcast, MAC(0x10 + i), 46, (uint8_t)i);
        send_wait(sw, 0, a, f, len);
        expect_frame(b, f, len);
        expect_frame(c, f, len);
    }
    /* A's share is full: a fifth source is refused, the known ones still pass. */
    len = make_frame(f, NULL, bcast, MAC(0x14), 46, 5);
    send_wait(sw, 0, a, f, len);
    expect_nothing(b);
    assert_int_equal(stats(sw, 0).drops[NET_SWITCH_DROP_TABLE_FULL], 1);
    assert_int_equal(stats(sw, 0).macs, 4);
    len = make_frame(f, NULL, bcast, MAC(0x12), 46, 6);
    send_wait(sw, 0, a, f, len);
    expect_frame(b, f, len);
    expect_frame(c, f, len);

    /* B takes the last two entries; then C can learn nothing. */
    for (int i = 0; i < 2; i++) {
        len = make_frame(f, NULL, MAC(0x10), MAC(0x20 + i), 46, 7);
        send_wait(sw, 1, b, f, len);
        expect_frame(a, f, len);
    }
    len = make_frame(f, NULL, MAC(0x10), MAC(0x30), 46, 8);
    send_wait(sw, 2, c, f, len);
    expect_nothing(a);
    assert_int_equal(stats(sw, 2).drops[NET_SWITCH_DROP_TABLE_FULL], 1);
    assert_int_equal(stats(sw, 2).macs, 0);

    /* Entries that age out make room again. */
    clock_advance(age);
    send_wait(sw, 2, c, f, len);
    expect_frame(a, f, len);
    expect_frame(b, f, len); /* 0x10 aged out too: flooded */
    assert_int_equal(stats(sw, 0).macs, 0);
    assert_int_equal(stats(sw, 1).macs, 0);
    assert_int_equal(stats(sw, 2).macs, 1);
    net_switch_destroy(sw);
    close(a);
    close(b);
    close(c);
}

/* Every kind of bad frame is dropped at ingress and counted; the limits themselves pass. */
static void test_switch_malformed(void **state)
{
    net_switch_t *sw = switch_with(0, 0, 0);
    static uint8_t f[BUF_MAX];
    net_switch_stats_t s;
    int a, b, n = 0;
    size_t len;

    add_port(sw, &a, 0);
    add_port(sw, &b, 0);

    /* Too short: empty, a partial header, a header alone, one byte short of an Ethernet header. */
    memset(f, 0, sizeof(f));
    const size_t shorts[] = {0, 1, HDR - 1, HDR, HDR + 13};
    for (size_t i = 0; i < sizeof(shorts) / sizeof(shorts[0]); i++) {
        send_wait(sw, 0, a, f, shorts[i]);
        n++;
    }
    /* Too long by one byte. */
    len = make_frame(f, NULL, bcast, MAC(0xa), NET_MAX_FRAME - 14 + 1, 0);
    send_wait(sw, 0, a, f, len);
    n++;
    /* Source addresses: multicast, broadcast, all zeros. */
    send_wait(sw, 0, a, f, make_frame(f, NULL, bcast, mcast, 46, 0));
    send_wait(sw, 0, a, f, make_frame(f, NULL, MAC(0xb), bcast, 46, 0));
    send_wait(sw, 0, a, f, make_frame(f, NULL, bcast, (const uint8_t[6]){0}, 46, 0));
    n += 3;
    s = stats(sw, 0);
    assert_int_equal(s.drops[NET_SWITCH_DROP_MALFORMED], n);

    /* Offloads: NEEDS_CSUM, each GSO type, GSO_NONE with the ECN bit. */
    const virtio_net_hdr_t offl[] = {
        {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = htole16(34), .csum_offset = 16},
        {.gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = htole16(1400)},
        {.gso_type = VIRTIO_NET_HDR_GSO_UDP},
        {.gso_type = VIRTIO_NET_HDR_GSO_TCPV6},
        {.gso_type = VIRTIO_NET_HDR_GSO_UDP_L4},
        {.gso_type = VIRTIO_NET_HDR_GSO_ECN},
        {.gso_type = 0x42},
    };
    for (size_t i = 0; i < sizeof(offl) / sizeof(offl[0]); i++) {
        send_wait(sw, 0, a, f, make_frame(f, &offl[i], bcast, MAC(0xa), 46, 0));
    }
    /* Reserved group addresses: STP, PAUSE, LLDP. */
    send_wait(sw, 0, a, f,
              make_frame(f, NULL, (const uint8_t[6]){1, 0x80, 0xc2, 0, 0, 0}, MAC(0xa), 46, 0));
    send_wait(sw, 0, a, f,
              make_frame(f, NULL, (const uint8_t[6]){1, 0x80, 0xc2, 0, 0, 1}, MAC(0xa), 46, 0));
    send_wait(sw, 0, a, f,
              make_frame(f, NULL, (const uint8_t[6]){1, 0x80, 0xc2, 0, 0, 0xe}, MAC(0xa), 46, 0));
    expect_nothing(b);
    s = stats(sw, 0);
    assert_int_equal(s.drops[NET_SWITCH_DROP_OFFLOAD], sizeof(offl) / sizeof(offl[0]));
    assert_int_equal(s.drops[NET_SWITCH_DROP_RESERVED], 3);
    assert_int_equal(s.macs, 0); /* nothing dropped taught the switch anything */
    assert_int_equal(s.rx_frames, n + 10);
    assert_int_equal(s.tx_frames, 0);

    /* Not reserved: 01:80:c2:00:00:10; the smallest and the largest frames. */
    len = make_frame(f, NULL, (const uint8_t[6]){1, 0x80, 0xc2, 0, 0, 0x10}, MAC(0xa), 0, 0);
    send_wait(sw, 0, a, f, len);
    expect_frame(b, f, len);
    len = make_frame(f, NULL, bcast, MAC(0xa), NET_MAX_FRAME - 14, 9);
    send_wait(sw, 0, a, f, len);
    expect_frame(b, f, len);
    s = stats(sw, 1);
    assert_int_equal(s.tx_frames, 2);
    assert_int_equal(s.tx_bytes, 14 + NET_MAX_FRAME);
    for (unsigned int r = 0; r < NET_SWITCH_DROP_COUNT; r++) {
        assert_int_equal(s.drops[r], 0);
    }
    net_switch_destroy(sw);
    close(a);
    close(b);
}

/* A VM that does not read loses frames; the switch and everyone else go on. */
static void test_switch_full_peer(void **state)
{
    net_switch_t *sw = switch_with(0, 0, 0);
    const unsigned int frames = 2000;
    uint8_t f[256], got[256];
    int a, b, c;
    size_t len;

    add_port(sw, &a, 0);
    add_port(sw, &b, 4096); /* the smallest send buffer: B is full after a few frames */
    add_port(sw, &c, 0);
    len = make_frame(f, NULL, bcast, MAC(0xa), 200, 1);
    uint64_t c_got = 0;
    for (unsigned int i = 0; i < frames; i++) {
        vm_send(a, f, len);
        /* C keeps up (now and then), B never reads. */
        while (vm_recv(c, got, sizeof(got), 0) > 0) {
            c_got++;
        }
    }
    wait_rx(sw, 0, frames);
    while (vm_recv(c, got, sizeof(got), 0) > 0) {
        c_got++;
    }
    net_switch_stats_t sb = stats(sw, 1), sc = stats(sw, 2);
    assert_true(sb.drops[NET_SWITCH_DROP_PEER_FULL] > 0);
    assert_int_equal(sb.tx_frames + sb.drops[NET_SWITCH_DROP_PEER_FULL], frames);
    assert_int_equal(sc.tx_frames + sc.drops[NET_SWITCH_DROP_PEER_FULL], frames);
    assert_int_equal(c_got, sc.tx_frames);

    /* B catches up: it got exactly what was counted as sent, and takes frames again. */
    uint64_t b_got = 0;
    while (vm_recv(b, got, sizeof(got), 0) > 0) {
        b_got++;
    }
    assert_int_equal(b_got, sb.tx_frames);
    send_wait(sw, 0, a, f, len);
    expect_frame(b, f, len);
    net_switch_destroy(sw);
    close(a);
    close(b);
    close(c);
}

/* A VM that goes away takes its port down; a new socket brings it back, counters kept. */
static void test_switch_hangup_and_replace(void **state)
{
    net_switch_t *sw = switch_with(0, 0, 0);
    uint8_t f[256], got[64];
    int a, b, c, sv[2];
    size_t len;

    add_port(sw, &a, 0);
    add_port(sw, &b, 0);
    add_port(sw, &c, 0);
    len = make_frame(f, NULL, bcast, MAC(0xb), 46, 1);
    send_wait(sw, 1, b, f, len);
    expect_frame(a, f, len);
    expect_frame(c, f, len);
    len = make_frame(f, NULL, MAC(0xb), MAC(0xa), 46, 2);
    send_wait(sw, 0, a, f, len);
    expect_frame(b, f, len);
    assert_int_equal(stats(sw, 1).macs, 1);

    /* B's VM dies. */
    close(b);
    wait_up(sw, 1, false);
    net_switch_stats_t sb = stats(sw, 1);
    assert_int_equal(sb.macs, 0);
    assert_int_equal(sb.tx_frames, 1);

    /* 0xb is forgotten: frames to it are flooded, and B, down, counts what it missed. */
    send_wait(sw, 0, a, f, len);
    expect_frame(c, f, len);
    assert_int_equal(stats(sw, 1).drops[NET_SWITCH_DROP_PORT_DOWN], 1);

    /* The VM restarted: a new socket, the same port. */
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(net_switch_replace_port(sw, 1, sv[1]), 0);
    b = sv[0];
    sb = stats(sw, 1);
    assert_true(sb.up);
    assert_int_equal(sb.tx_frames, 1);
    assert_int_equal(sb.rx_frames, 1);
    send_wait(sw, 0, a, f, len);
    expect_frame(b, f, len);
    expect_frame(c, f, len);
    len = make_frame(f, NULL, MAC(0xa), MAC(0xb), 46, 3);
    send_wait(sw, 1, b, f, len);
    expect_frame(a, f, len);
    expect_nothing(c);

    /* Replacing a port that is up closes its old socket and forgets its addresses. */
    int old = b;
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(net_switch_replace_port(sw, 1, sv[1]), 0);
    b = sv[0];
    assert_int_equal(recv(old, got, sizeof(got), 0), 0); /* end of file */
    close(old);
    assert_int_equal(stats(sw, 1).macs, 0);
    len = make_frame(f, NULL, MAC(0xb), MAC(0xa), 46, 4);
    send_wait(sw, 0, a, f, len);
    expect_frame(b, f, len);
    expect_frame(c, f, len);

    /* A hang-up found by a send (EPIPE) takes the port down too. */
    shutdown(c, SHUT_RDWR);
    len = make_frame(f, NULL, bcast, MAC(0xa), 46, 5);
    vm_send(a, f, len);
    wait_up(sw, 2, false);
    assert_int_equal(stats(sw, 2).macs, 0);
    net_switch_destroy(sw);
    close(a);
    close(b);
    close(c);
}

struct blaster {
    int fd;
    uint8_t src;
    bool stop;     /* __atomic */
    uint64_t sent; /* __atomic */
    int error;     /* errno that ended it, 0 when told to stop */
};

/* Send broadcasts as fast as the socket takes them, until told or the switch is gone. */
static void *blast(void *arg)
{
    struct blaster *bl = arg;
    uint8_t f[1600];
    size_t len = make_frame(f, NULL, bcast, MAC(bl->src), 1000, bl->src);

    while (!__atomic_load_n(&bl->stop, __ATOMIC_RELAXED)) {
        if (send(bl->fd, f, len, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)len) {
            __atomic_add_fetch(&bl->sent, 1, __ATOMIC_RELAXED);
        } else if (errno == EAGAIN) {
            struct pollfd p = {.fd = bl->fd, .events = POLLOUT};
            poll(&p, 1, 10);
        } else {
            bl->error = errno;
            break;
        }
    }
    return NULL;
}

/* Ports join a switch that is busy and get their share at once. */
static void test_switch_add_port_while_running(void **state)
{
    net_switch_t *sw = switch_with(0, 0, 0);
    struct blaster bl = {.src = 0xa};
    pthread_t t;
    uint8_t got[2048];
    int vm[8];

    add_port(sw, &bl.fd, 0);
    assert_int_equal(pthread_create(&t, NULL, blast, &bl), 0);
    for (int i = 0; i < 8; i++) {
        int idx = add_port(sw, &vm[i], 0);
        assert_int_equal(idx, i + 1);
        ssize_t n = vm_recv(vm[i], got, sizeof(got), WAIT_MS);
        assert_int_equal(n, HDR + 14 + 1000);
        assert_int_equal(got[HDR + 11], 0xa);
    }
    __atomic_store_n(&bl.stop, true, __ATOMIC_RELAXED);
    pthread_join(t, NULL);
    assert_int_equal(bl.error, 0);
    assert_true(bl.sent > 0);
    net_switch_destroy(sw);
    close(bl.fd);
    for (int i = 0; i < 8; i++) {
        close(vm[i]);
    }
}

/* Destroy while VMs send as fast as they can: senders see the switch go, nothing breaks. */
static void test_switch_destroy_in_flight(void **state)
{
    net_switch_t *sw = switch_with(0, 0, 0);
    struct blaster bl[3] = {{.src = 1}, {.src = 2}, {.src = 3}};
    pthread_t t[3];
    int idle;

    add_port(sw, &idle, 0); /* never reads */
    for (int i = 0; i < 3; i++) {
        add_port(sw, &bl[i].fd, 0);
        assert_int_equal(pthread_create(&t[i], NULL, blast, &bl[i]), 0);
    }
    /* Every VM has frames in flight, and the switch has switched some. */
    for (int i = 0; i < 3; i++) {
        for (int ms = 0; ms < WAIT_MS && __atomic_load_n(&bl[i].sent, __ATOMIC_RELAXED) < 10;
             ms++) {
            sleep_ms(1);
        }
        assert_true(__atomic_load_n(&bl[i].sent, __ATOMIC_RELAXED) >= 10);
    }
    sleep_ms(20);
    net_switch_destroy(sw);
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        assert_true(bl[i].error == EPIPE || bl[i].error == ECONNRESET);
        close(bl[i].fd);
    }
    /* What reached the idle VM before is still there; then end of file. */
    uint8_t got[2048];
    ssize_t n;
    while ((n = recv(idle, got, sizeof(got), MSG_DONTWAIT)) > 0) {
        assert_int_equal(n, HDR + 14 + 1000);
    }
    assert_int_equal(n, 0);
    close(idle);
}

/* The uplink is any back end: here a socket, the test playing the network. */
static void test_switch_uplink_socket(void **state)
{
    net_switch_t *sw = switch_with(0, 0, 0);
    net_backend_t *be;
    uint8_t f[256];
    int a, b, sv[2];
    size_t len;

    add_port(sw, &a, 0);
    add_port(sw, &b, 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(net_socket_open(sv[1], 0, "up0", &be), 0);
    assert_int_equal(net_switch_set_uplink(sw, be), 0);
    assert_int_equal(net_switch_set_uplink(sw, be), -EBUSY);
    int net = sv[0];

    len = make_frame(f, NULL, bcast, MAC(0xa), 46, 1);
    send_wait(sw, 0, a, f, len);
    expect_frame(b, f, len);
    expect_frame(net, f, len);

    /* From the network: learned behind the uplink, switched to A only. */
    len = make_frame(f, NULL, MAC(0xa), MAC(0xee), 46, 2);
    send_wait(sw, NET_SWITCH_UPLINK, net, f, len);
    expect_frame(a, f, len);
    expect_nothing(b);
    len = make_frame(f, NULL, MAC(0xee), MAC(0xb), 46, 3);
    send_wait(sw, 1, b, f, len);
    expect_frame(net, f, len);
    expect_nothing(a);
    /* The uplink is checked like a port. */
    virtio_net_hdr_t h = {.gso_type = VIRTIO_NET_HDR_GSO_TCPV4};
    send_wait(sw, NET_SWITCH_UPLINK, net, f, make_frame(f, &h, bcast, MAC(0xee), 46, 4));
    expect_nothing(a);

    net_switch_stats_t su = stats(sw, NET_SWITCH_UPLINK);
    assert_true(su.up);
    assert_int_equal(su.rx_frames, 2);
    assert_int_equal(su.tx_frames, 2);
    assert_int_equal(su.macs, 1);
    assert_int_equal(su.drops[NET_SWITCH_DROP_OFFLOAD], 1);

    /* The network goes away: the uplink is down, the VMs go on. */
    close(net);
    wait_up(sw, NET_SWITCH_UPLINK, false);
    len = make_frame(f, NULL, bcast, MAC(0xa), 46, 5);
    send_wait(sw, 0, a, f, len);
    expect_frame(b, f, len);
    assert_int_equal(stats(sw, NET_SWITCH_UPLINK).drops[NET_SWITCH_DROP_PORT_DOWN], 1);
    net_switch_destroy(sw);
    close(a);
    close(b);
}

/* --- an uplink over a real tap ----------------------------------------------------------- */

#define TAP_NAME "vmmkit-sw0"
#define TAP_IP "192.0.2.1"
#define VM_IP "192.0.2.2"

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint16_t ip_checksum(const uint8_t *p, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t)~sum;
}

/* Bring @ifname up as @ip/24, IPv6 off (less noise on the wire). */
static void if_up(const char *ifname, const char *ip)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
    char path[96];

    snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = write(fd, "1", 1);
        (void)n;
        close(fd);
    }
    assert_true(s >= 0);
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    sin->sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
    assert_int_equal(ioctl(s, SIOCSIFADDR, &ifr), 0);
    assert_int_equal(inet_pton(AF_INET, "255.255.255.0", &sin->sin_addr), 1);
    assert_int_equal(ioctl(s, SIOCSIFNETMASK, &ifr), 0);
    assert_int_equal(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    assert_int_equal(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
    close(s);
}

/* The next frame on @fd with EtherType @type (others skipped), within 5 s; its length or 0. */
static size_t recv_type(int fd, uint8_t *buf, size_t cap, uint16_t type)
{
    for (int i = 0; i < 50; i++) {
        ssize_t n = vm_recv(fd, buf, cap, WAIT_MS / 50);
        if (n >= (ssize_t)(HDR + 14) && get16(buf + HDR + 12) == type) {
            return (size_t)n;
        }
    }
    return 0;
}

/*
 * Frames from a port reach the host through the tap and the host's answers
 * come back: the VM behind port A asks for the tap's address with ARP and
 * pings it; B sees the request (a broadcast) but not the answers.
 */
static void test_switch_uplink_tap(void **state)
{
    net_switch_t *sw;
    net_backend_t *be;
    uint8_t f[256], got[2048], tap_mac[6];
    int a, b;

    if (tap_skip_reason) {
        print_message("test_switch_uplink_tap: skipped: %s\n", tap_skip_reason);
        skip();
    }
    assert_int_equal(net_switch_create("sw-tap", &sw), 0);
    add_port(sw, &a, 0);
    add_port(sw, &b, 0);
    assert_int_equal(tap_open(TAP_NAME, &be), 0);
    if_up(TAP_NAME, TAP_IP);
    assert_int_equal(net_switch_set_uplink(sw, be), 0);

    /* ARP request, broadcast: who has TAP_IP, tell VM_IP. */
    uint8_t *e = f + HDR;
    memset(f, 0, sizeof(f));
    memcpy(e, bcast, 6);
    memcpy(e + 6, MAC(0xa), 6);
    put16(e + 12, 0x0806);
    put16(e + 14, 1);
    put16(e + 16, 0x0800);
    e[18] = 6;
    e[19] = 4;
    put16(e + 20, 1);
    memcpy(e + 22, MAC(0xa), 6);
    inet_pton(AF_INET, VM_IP, e + 28);
    inet_pton(AF_INET, TAP_IP, e + 38);
    vm_send(a, f, HDR + 60);
    size_t n = recv_type(a, got, sizeof(got), 0x0806);
    assert_true(n >= HDR + 42);
    assert_int_equal(get16(got + HDR + 20), 2); /* a reply */
    assert_memory_equal(got + HDR, MAC(0xa), 6);
    memcpy(tap_mac, got + HDR + 22, 6);
    assert_memory_equal(got + HDR + 6, tap_mac, 6);
    n = recv_type(b, got, sizeof(got), 0x0806);
    assert_int_equal(n, HDR + 60);
    assert_int_equal(get16(got + HDR + 20), 1); /* B saw the request only */

    /* Ping: an ICMP echo request, fully checksummed, and its reply. */
    uint8_t *ip = e + 14, *icmp = ip + 20;
    memset(f, 0, sizeof(f));
    memcpy(e, tap_mac, 6);
    memcpy(e + 6, MAC(0xa), 6);
    put16(e + 12, 0x0800);
    ip[0] = 0x45;
    put16(ip + 2, 20 + 8 + 32);
    ip[8] = 64;
    ip[9] = 1;
    inet_pton(AF_INET, VM_IP, ip + 12);
    inet_pton(AF_INET, TAP_IP, ip + 16);
    put16(ip + 10, ip_checksum(ip, 20));
    icmp[0] = 8;
    put16(icmp + 4, 0x1234);
    put16(icmp + 6, 1);
    for (int i = 0; i < 32; i++) {
        icmp[8 + i] = (uint8_t)i;
    }
    put16(icmp + 2, ip_checksum(icmp, 40));
    vm_send(a, f, HDR + 14 + 60);
    n = recv_type(a, got, sizeof(got), 0x0800);
    assert_int_equal(n, HDR + 14 + 60);
    assert_int_equal(got[HDR + 14 + 9], 1);  /* ICMP */
    assert_int_equal(got[HDR + 14 + 20], 0); /* echo reply */
    assert_memory_equal(got + HDR + 14 + 28, icmp + 8, 32);
    assert_int_equal(ip_checksum(got + HDR + 14 + 20, 40), 0); /* complete: no offloads */
    /* The answers were for A alone (B may still hear the host's broadcasts). */
    ssize_t r;
    while ((r = recv(b, got, sizeof(got), MSG_DONTWAIT)) >= 0) {
        assert_true(r >= (ssize_t)(HDR + 14));
        assert_true(got[HDR] & 1);
    }

    net_switch_stats_t su = stats(sw, NET_SWITCH_UPLINK);
    assert_true(su.up);
    assert_true(su.tx_frames >= 2);
    assert_true(su.rx_frames >= 2);
    assert_int_equal(su.drops[NET_SWITCH_DROP_OFFLOAD], 0);
    net_switch_destroy(sw);
    assert_int_equal(if_nametoindex(TAP_NAME), 0); /* the switch closed the tap */
    close(a);
    close(b);
}

/* --- two virtio-net devices ------------------------------------------------------------ */

#define MiB (1ull << 20)
#define RAM_BASE 0x40000000ull
#define RAM_SIZE (16 * MiB)
#define QSIZE 64u
#define RX_BUF_LEN 2048u
#define F(bit) (1ull << (bit))

struct nic {
    vm_t *vm;
    iothread_t *io;
    net_backend_t *be;
    virtio_net_t *net;
    struct vguest g;
    uint64_t rx_gpa[QSIZE];
};

static void nic_post_rx(struct nic *n)
{
    uint16_t head;
    uint64_t gpa = vg_add_one(&n->g, VIRTIO_NET_RX_QUEUE, RX_BUF_LEN, true, &head);
    assert_true(gpa != 0);
    n->rx_gpa[head] = gpa;
}

/* A VM with one virtio-net device on port @port's socket, driver bound, receive buffers posted. */
static void nic_up(struct nic *n, int fd, uint8_t mac_byte)
{
    memset(n, 0, sizeof(*n));
    n->vm = fake_vm_create();
    assert_non_null(n->vm);
    assert_int_equal(vm_ram_add(n->vm, RAM_BASE, RAM_SIZE), 0);
    n->io = iothread_create("sw-nic-io");
    assert_non_null(n->io);
    assert_int_equal(net_socket_open(fd, 0, "nic", &n->be), 0);
    virtio_net_config_t cfg = {.has_mac = true, .backend = n->be, .io = n->io};
    memcpy(cfg.mac, MAC(mac_byte), 6);
    assert_int_equal(virtio_net_create(n->vm, 0, &cfg, &n->net), 0);
    vg_init(&n->g, n->vm, virtio_net_device(n->net), RAM_BASE, RAM_SIZE);
    assert_true(vg_negotiate(&n->g, F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MAC)));
    vg_setup_queue(&n->g, VIRTIO_NET_RX_QUEUE, QSIZE);
    vg_setup_queue(&n->g, VIRTIO_NET_TX_QUEUE, QSIZE);
    vg_driver_ok(&n->g);
    for (unsigned int i = 0; i < QSIZE / 2; i++) {
        nic_post_rx(n);
    }
    vg_kick(&n->g, VIRTIO_NET_RX_QUEUE);
}

static void nic_down(struct nic *n)
{
    virtio_net_destroy(n->net);
    iothread_destroy(n->io);
    net_backend_destroy(n->be);
    vm_destroy(n->vm);
}

/* The driver transmits @f (@len bytes, header first) and waits for the buffer to come back. */
static void nic_send(struct nic *n, const uint8_t *f, size_t len)
{
    uint32_t id, used_len;
    struct vg_buf b = {.gpa = vg_alloc(&n->g, len), .len = (uint32_t)len};

    assert_true(b.gpa != 0);
    memcpy(vg_hva(&n->g, b.gpa, b.len), f, len);
    uint16_t head = vg_add_chain(&n->g, VIRTIO_NET_TX_QUEUE, &b, 1);
    vg_kick(&n->g, VIRTIO_NET_TX_QUEUE);
    for (int i = 0; i < WAIT_MS; i++) {
        if (vg_get_used(&n->g, VIRTIO_NET_TX_QUEUE, &id, &used_len)) {
            assert_int_equal(id, head);
            return;
        }
        sleep_ms(1);
    }
    fail_msg("the transmit buffer never came back");
}

/* The driver's next received frame (header included) within 5 s; its length, or 0. */
static size_t nic_recv(struct nic *n, uint8_t *f, size_t cap)
{
    uint32_t id, len;

    for (int i = 0; i < WAIT_MS; i++) {
        if (vg_get_used(&n->g, VIRTIO_NET_RX_QUEUE, &id, &len)) {
            assert_true(len <= cap);
            memcpy(f, vg_hva(&n->g, n->rx_gpa[id], len), len);
            nic_post_rx(n);
            vg_kick(&n->g, VIRTIO_NET_RX_QUEUE);
            return len;
        }
        sleep_ms(1);
    }
    return 0;
}

/* Two guests' drivers talk through the switch: a broadcast, then unicast both ways. */
static void test_switch_two_virtio_nets(void **state)
{
    net_switch_t *sw = switch_with(0, 0, 0);
    struct nic n1, n2;
    uint8_t f[512], got[RX_BUF_LEN];
    int sv1[2], sv2[2];
    size_t len;

    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv1), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv2), 0);
    assert_int_equal(net_switch_add_port(sw, sv1[1], "vm1"), 0);
    assert_int_equal(net_switch_add_port(sw, sv2[1], "vm2"), 1);
    nic_up(&n1, sv1[0], 1);
    nic_up(&n2, sv2[0], 2);

    len = make_frame(f, NULL, bcast, MAC(1), 100, 1);
    nic_send(&n1, f, len);
    assert_int_equal(nic_recv(&n2, got, sizeof(got)), len);
    assert_memory_equal(got + HDR, f + HDR, len - HDR);
    assert_int_equal(le16toh(((virtio_net_hdr_t *)got)->num_buffers), 1);

    for (int i = 0; i < 20; i++) {
        len = make_frame(f, NULL, MAC(1), MAC(2), 200 + i, (uint8_t)i);
        nic_send(&n2, f, len);
        assert_int_equal(nic_recv(&n1, got, sizeof(got)), len);
        assert_memory_equal(got + HDR, f + HDR, len - HDR);
        len = make_frame(f, NULL, MAC(2), MAC(1), 300 + i, (uint8_t)i);
        nic_send(&n1, f, len);
        assert_int_equal(nic_recv(&n2, got, sizeof(got)), len);
        assert_memory_equal(got + HDR, f + HDR, len - HDR);
    }
    assert_int_equal(stats(sw, 0).tx_frames, 20);
    assert_int_equal(stats(sw, 1).tx_frames, 21);
    nic_down(&n1);
    nic_down(&n2);
    net_switch_destroy(sw);
}

/* Into a network namespace of our own for the tap; NULL, or why the tap test cannot run. */
static const char *enter_netns(void)
{
    static char why[160];
    int fd;

    if (unshare(CLONE_NEWNET) < 0) {
        snprintf(why, sizeof(why), "unshare(CLONE_NEWNET): %s (needs root or CAP_SYS_ADMIN)",
                 strerror(errno));
        return why;
    }
    fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, sizeof(why), "/dev/net/tun: %s", strerror(errno));
        return why;
    }
    close(fd);
    return NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_switch_arguments),
        cmocka_unit_test(test_switch_learn_and_forward),
        cmocka_unit_test(test_switch_flood),
        cmocka_unit_test(test_switch_no_hairpin),
        cmocka_unit_test(test_switch_aging),
        cmocka_unit_test(test_switch_mac_move),
        cmocka_unit_test(test_switch_table_caps),
        cmocka_unit_test(test_switch_malformed),
        cmocka_unit_test(test_switch_full_peer),
        cmocka_unit_test(test_switch_hangup_and_replace),
        cmocka_unit_test(test_switch_add_port_while_running),
        cmocka_unit_test(test_switch_destroy_in_flight),
        cmocka_unit_test(test_switch_uplink_socket),
        cmocka_unit_test(test_switch_uplink_tap),
        cmocka_unit_test(test_switch_two_virtio_nets),
    };

    vmm_log_set_level(VMM_LOG_ERR);
    tap_skip_reason = enter_netns();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
