/*
 * test_virtio_net.c - the virtio network device (src/virtio/net.c) driven
 * like a guest would over hand-built rings in fake-backend RAM, with the
 * SOCK_SEQPACKET back end (src/backends/net_socket.c) on a socketpair as
 * the network: the test holds the other end.  Identity, features and
 * config space; transmit in several chain shapes; receive into one
 * buffer, across merged buffers (with and without the back end's peek),
 * held while the guest has no buffers; frames too big; hostile transmit
 * and receive chains and headers; offload negotiation; EAGAIN and its
 * resumption; reset with work pending; a broken ring; a hung-up back end;
 * bursts both ways with checksums; the I/O-thread-free poll mode.
 *
 * Completions arrive on the I/O thread, so the test waits (up to 5 s, or
 * longer for bursts) for used entries, counters and interrupts, and never
 * assumes an order between them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <vmmkit/iothread.h>
#include <vmmkit/log.h>
#include <vmmkit/net_backend.h>
#include <vmmkit/virtio_net.h>

#include "fake_hv.h"
#include "virtio_guest.h"

#define MiB (1ull << 20)
#define RAM_BASE 0x40000000ull
#define RAM_SIZE (16 * MiB)
#define QSIZE 256u
#define RXQ VIRTIO_NET_RX_QUEUE
#define TXQ VIRTIO_NET_TX_QUEUE
#define HDR VIRTIO_NET_HDR_LEN
#define F(bit) (1ull << (bit))
#define VERSION_1 F(VIRTIO_F_VERSION_1)
#define MRG F(VIRTIO_NET_F_MRG_RXBUF)
#define CSUM F(VIRTIO_NET_F_CSUM)
#define GUEST_CSUM F(VIRTIO_NET_F_GUEST_CSUM)
#define MAX_FRAME_BUF (HDR + NET_MAX_FRAME + 64)

static const uint8_t test_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

struct fixture {
    vm_t *vm;
    iothread_t *io;
    net_backend_t *be;
    net_backend_ops_t nopeek_ops; /* the socket's ops without peek_len: a tap's view */
    virtio_net_t *net;
    int peer; /* the network's end of the socketpair */
    struct vguest g;
    uint64_t rx_gpa[QSIZE]; /* buffer of each posted one-buffer receive chain, by head */
};

enum fixture_kind {
    FIX_DEFAULT, /* all offloads, an I/O thread, the socket's peek */
    FIX_PLAIN,   /* a back end without offloads */
    FIX_NOPEEK,  /* no peek: the device must guess the room like for a tap */
    FIX_POLL,    /* no I/O thread: virtio_net_poll() */
};

static struct fixture *fixture_new(enum fixture_kind kind)
{
    vmm_log_set_level(VMM_LOG_ERR); /* the tests provoke warnings on purpose */
    struct fixture *f = calloc(1, sizeof(*f));
    int sv[2];
    assert_non_null(f);
    f->vm = fake_vm_create();
    assert_non_null(f->vm);
    assert_int_equal(vm_ram_add(f->vm, RAM_BASE, RAM_SIZE), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    f->peer = sv[1];
    assert_int_equal(
        net_socket_open(sv[0], kind == FIX_PLAIN ? 0 : NET_OFFLOAD_ALL, "test-sock", &f->be), 0);
    if (kind == FIX_NOPEEK) {
        f->nopeek_ops = *f->be->ops;
        f->nopeek_ops.peek_len = NULL;
        f->be->ops = &f->nopeek_ops;
    }
    if (kind != FIX_POLL) {
        f->io = iothread_create("net-test-io");
        assert_non_null(f->io);
    }
    virtio_net_config_t cfg = {.has_mac = true, .backend = f->be, .io = f->io};
    memcpy(cfg.mac, test_mac, 6);
    assert_int_equal(virtio_net_create(f->vm, 0, &cfg, &f->net), 0);
    vg_init(&f->g, f->vm, virtio_net_device(f->net), RAM_BASE, RAM_SIZE);
    return f;
}

static int setup(void **state)
{
    *state = fixture_new(FIX_DEFAULT);
    return 0;
}

static int setup_plain(void **state)
{
    *state = fixture_new(FIX_PLAIN);
    return 0;
}

static int setup_nopeek(void **state)
{
    *state = fixture_new(FIX_NOPEEK);
    return 0;
}

static int setup_poll(void **state)
{
    *state = fixture_new(FIX_POLL);
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    virtio_net_destroy(f->net); /* off the I/O thread first */
    iothread_destroy(f->io);
    if (f->be->ops == &f->nopeek_ops) {
        f->nopeek_ops.destroy(f->be);
    } else {
        net_backend_destroy(f->be);
    }
    if (f->peer >= 0) {
        close(f->peer);
    }
    vm_destroy(f->vm);
    free(f);
    return 0;
}

static uint64_t nstat(struct fixture *f, virtio_net_stat_t s)
{
    return virtio_net_stat(f->net, s);
}

/* Negotiate @features, enable both queues with @qsize entries, DRIVER_OK. */
static void bring_up_size(struct fixture *f, uint64_t features, uint16_t qsize)
{
    assert_true(vg_negotiate(&f->g, VERSION_1 | features));
    vg_setup_queue(&f->g, RXQ, qsize);
    vg_setup_queue(&f->g, TXQ, qsize);
    vg_driver_ok(&f->g);
    assert_int_equal(vg_status(&f->g) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
}

static void bring_up(struct fixture *f, uint64_t features)
{
    bring_up_size(f, features, QSIZE);
}

/* Wait up to @ms for a used entry on queue @qi. */
static bool wait_used_ms(struct fixture *f, unsigned int qi, uint32_t *id, uint32_t *len, int ms)
{
    for (int i = 0; i < ms; i++) {
        if (vg_get_used(&f->g, qi, id, len)) {
            return true;
        }
        usleep(1000);
    }
    return false;
}

static bool wait_used(struct fixture *f, unsigned int qi, uint32_t *id, uint32_t *len)
{
    return wait_used_ms(f, qi, id, len, 5000);
}

/* Wait up to 5 s for counter @s to reach @n. */
static bool wait_stat(struct fixture *f, virtio_net_stat_t s, uint64_t n)
{
    for (int i = 0; i < 5000; i++) {
        if (nstat(f, s) >= n) {
            return true;
        }
        usleep(1000);
    }
    return false;
}

/* Wait up to 5 s for @n interrupts on queue @qi. */
static bool wait_irqs(struct fixture *f, unsigned int qi, int n)
{
    for (int i = 0; i < 5000; i++) {
        if (vg_used_irqs(&f->g, qi) >= n) {
            return true;
        }
        usleep(1000);
    }
    return false;
}

static bool wait_config_irqs(struct fixture *f, int n)
{
    for (int i = 0; i < 5000; i++) {
        if (__atomic_load_n(&f->g.config_irqs, __ATOMIC_SEQ_CST) >= n) {
            return true;
        }
        usleep(1000);
    }
    return false;
}

/* Frame @seq of @len bytes: Ethernet header (EtherType 0x88b5), seq, a pattern. */
static void make_frame(uint8_t *p, size_t len, uint32_t seq)
{
    static const uint8_t dst[6] = {0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc};
    memcpy(p, dst, 6);
    memcpy(p + 6, test_mac, 6);
    p[12] = 0x88;
    p[13] = 0xb5;
    for (size_t i = 14; i < len; i++) {
        p[i] = (uint8_t)(seq * 131u + i * 7u);
    }
    if (len >= 18) {
        memcpy(p + 14, &seq, 4);
    }
}

/* FNV-1a over @len bytes, folded into @h. */
static uint64_t fnv(uint64_t h, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ p[i]) * 0x100000001b3ull;
    }
    return h;
}

static virtio_net_hdr_t hdr_none(void)
{
    virtio_net_hdr_t h;
    memset(&h, 0, sizeof(h));
    return h;
}

/* The network sends one frame (@h then @len bytes of frame @seq); false on EAGAIN. */
static bool peer_send(struct fixture *f, const virtio_net_hdr_t *h, size_t len, uint32_t seq)
{
    static uint8_t buf[MAX_FRAME_BUF];
    memcpy(buf, h, HDR);
    make_frame(buf + HDR, len, seq);
    ssize_t n = send(f->peer, buf, HDR + len, MSG_DONTWAIT);
    if (n < 0 && errno == EAGAIN) {
        return false;
    }
    assert_int_equal(n, (ssize_t)(HDR + len));
    return true;
}

/* The next message at the network's end within @ms; its length, or -1. */
static ssize_t peer_recv_ms(struct fixture *f, void *buf, size_t max, int ms)
{
    struct pollfd p = {.fd = f->peer, .events = POLLIN};
    if (poll(&p, 1, ms) != 1) {
        return -1;
    }
    return recv(f->peer, buf, max, MSG_DONTWAIT);
}

static ssize_t peer_recv(struct fixture *f, void *buf, size_t max)
{
    return peer_recv_ms(f, buf, max, 5000);
}

/* Post a one-buffer receive chain of @len bytes; returns its head. */
static uint16_t post_rx(struct fixture *f, uint32_t len)
{
    uint16_t head;
    uint64_t gpa = vg_add_one(&f->g, RXQ, len, true, &head);
    assert_true(gpa != 0);
    f->rx_gpa[head] = gpa;
    return head;
}

/* Guest RAM of the receive buffer posted with @head. */
static uint8_t *rx_buf(struct fixture *f, uint16_t head, size_t len)
{
    return vg_hva(&f->g, f->rx_gpa[head], len);
}

/* Copy @len bytes into fresh guest RAM as one device-readable buffer. */
static struct vg_buf tx_buf(struct fixture *f, const void *data, uint32_t len)
{
    struct vg_buf b = {.gpa = vg_alloc(&f->g, len ? len : 1), .len = len, .writable = false};
    assert_true(b.gpa != 0);
    if (len) {
        memcpy(vg_hva(&f->g, b.gpa, len), data, len);
    }
    return b;
}

/* Post header @h + frame @seq of @len bytes as one readable buffer and kick. */
static uint16_t tx_one(struct fixture *f, const virtio_net_hdr_t *h, size_t len, uint32_t seq)
{
    static uint8_t buf[MAX_FRAME_BUF];
    memcpy(buf, h, HDR);
    make_frame(buf + HDR, len, seq);
    struct vg_buf b = tx_buf(f, buf, (uint32_t)(HDR + len));
    uint16_t head = vg_add_chain(&f->g, TXQ, &b, 1);
    vg_kick(&f->g, TXQ);
    return head;
}

static void expect_used(struct fixture *f, unsigned int qi, uint16_t head, uint32_t len)
{
    uint32_t id = 0, got = 0;
    assert_true(wait_used(f, qi, &id, &got));
    assert_int_equal(id, head);
    assert_int_equal(got, len);
}

static uint16_t cfg_read16(struct fixture *f, uint32_t off)
{
    virtio_device_t *vdev = virtio_net_device(f->net);
    uint16_t v = 0;
    pthread_mutex_lock(&vdev->lock);
    virtio_device_config_read(vdev, off, &v, 2);
    pthread_mutex_unlock(&vdev->lock);
    return le16toh(v);
}

/* --- identity -------------------------------------------------------------------------- */

static void test_identity(void **state)
{
    struct fixture *f = *state;
    virtio_device_t *vdev = virtio_net_device(f->net);
    uint8_t mac[6];
    uint64_t want = F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS) | MRG | CSUM | GUEST_CSUM |
                    F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6) |
                    F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6);

    assert_int_equal(vdev->ops->device_id, VIRTIO_ID_NET);
    assert_int_equal(vdev->ops->num_queues, 2);
    assert_string_equal(vdev->name, "virtio-net0");
    assert_int_equal(vdev->device_features & 0xffffffffull & ~(F(28) | F(29)), want);
    assert_false(vdev->device_features & F(VIRTIO_NET_F_CTRL_VQ));
    assert_false(vdev->device_features & F(VIRTIO_NET_F_MQ));
    assert_false(vdev->device_features & F(VIRTIO_NET_F_MTU));

    pthread_mutex_lock(&vdev->lock);
    for (unsigned int i = 0; i < 6; i++) {
        virtio_device_config_read(vdev, i, &mac[i], 1);
    }
    pthread_mutex_unlock(&vdev->lock);
    assert_memory_equal(mac, test_mac, 6);
    virtio_net_get_mac(f->net, mac);
    assert_memory_equal(mac, test_mac, 6);
    assert_int_equal(cfg_read16(f, VIRTIO_NET_CONFIG_STATUS), VIRTIO_NET_S_LINK_UP);
    assert_int_equal(cfg_read16(f, VIRTIO_NET_CONFIG_MAX_VQ_PAIRS), 1);

    /* 5.1.4: read-only to the driver. */
    uint8_t zero[6] = {0};
    pthread_mutex_lock(&vdev->lock);
    virtio_device_config_write(vdev, 0, zero, 4);
    pthread_mutex_unlock(&vdev->lock);
    assert_int_equal(virtio_device_error_count(vdev, VIRTIO_E_CONFIG_READONLY), 1);
    virtio_net_get_mac(f->net, mac);
    assert_memory_equal(mac, test_mac, 6);

    assert_string_equal(virtio_net_stat_name(VIRTIO_NET_STAT_RX_FRAMES), "rx-frames");
    assert_string_equal(virtio_net_stat_name(VIRTIO_NET_STAT_COUNT), "unknown");
}

/* Only what the back end carries is offered; a default MAC is local and unicast. */
static void test_plain_backend_and_default_mac(void **state)
{
    struct fixture *f = *state;
    virtio_device_t *vdev = virtio_net_device(f->net);
    virtio_net_t *other = NULL;
    virtio_net_config_t cfg = {.backend = f->be, .io = NULL};
    uint8_t mac[6];

    assert_int_equal(vdev->device_features & (CSUM | GUEST_CSUM | F(VIRTIO_NET_F_HOST_TSO4) |
                                              F(VIRTIO_NET_F_GUEST_TSO4)),
                     0);
    assert_true(vdev->device_features & MRG);

    assert_int_equal(virtio_net_create(f->vm, 3, &cfg, &other), 0);
    assert_string_equal(virtio_net_device(other)->name, "virtio-net3");
    virtio_net_get_mac(other, mac);
    assert_int_equal(mac[0], 0x52);
    assert_int_equal(mac[0] & 1, 0); /* unicast */
    assert_int_equal(mac[0] & 2, 2); /* locally administered */
    virtio_net_destroy(other);

    cfg.has_mac = true;
    cfg.mac[0] = 0x01; /* multicast */
    assert_int_equal(virtio_net_create(f->vm, 4, &cfg, &other), -EINVAL);
    memset(cfg.mac, 0, 6);
    assert_int_equal(virtio_net_create(f->vm, 4, &cfg, &other), -EINVAL);
    cfg.backend = NULL;
    assert_int_equal(virtio_net_create(f->vm, 4, &cfg, &other), -EINVAL);

    /* Without CSUM the driver must send fully checksummed frames. */
    bring_up(f, MRG);
    virtio_net_hdr_t h = hdr_none();
    h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    h.csum_start = htole16(14);
    h.csum_offset = htole16(2);
    uint16_t head = tx_one(f, &h, 60, 1);
    expect_used(f, TXQ, head, 0);
    assert_int_equal(nstat(f, VIRTIO_NET_STAT_TX_BAD_HEADER), 1);
}

static void test_socket_backend_rules(void **state)
{
    net_backend_t *be = NULL;
    int sv[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(net_socket_open(sv[0], 0, NULL, &be), -EPROTOTYPE);
    close(sv[0]);
    close(sv[1]);
    assert_int_equal(net_socket_open(-1, 0, NULL, &be), -EINVAL);
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    /* TSO needs checksum offload. */
    assert_int_equal(net_socket_open(sv[0], NET_OFFLOAD_TSO4, NULL, &be), -EINVAL);
    assert_int_equal(net_socket_open(sv[0], NET_OFFLOAD_ALL, NULL, &be), 0);
    assert_string_equal(be->name, "socket");
    assert_string_equal(be->ops->kind, "socket");
    assert_int_equal(be->offloads, NET_OFFLOAD_ALL);
    net_backend_destroy(be);
    close(sv[1]);
    net_backend_destroy(NULL);
}

/* --- transmit -------------------------------------------------------------------------- */

/* Send @bufs (header and frame spread over them) and check what the network gets. */
static void tx_shape(struct fixture *f, const uint8_t *msg, size_t total, const uint32_t *cuts,
                     unsigned int ncuts)
{
    struct vg_buf bufs[8];
    size_t pos = 0;
    static uint8_t got[MAX_FRAME_BUF];

    for (unsigned int i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : total;
        bufs[i] = tx_buf(f, msg + pos, (uint32_t)(end - pos));
        pos = end;
    }
    uint16_t head = vg_add_chain(&f->g, TXQ, bufs, ncuts + 1);
    vg_kick(&f->g, TXQ);
    assert_int_equal(peer_recv(f, got, sizeof(got)), (ssize_t)total);
    assert_memory_equal(got, msg, total);
    expect_used(f, TXQ, head, 0);
}

static void test_tx_shapes(void **state)
{
    struct fixture *f = *state;
    uint8_t msg[HDR + 200];
    int irqs;

    bring_up(f, MRG | CSUM);
    virtio_net_hdr_t h = hdr_none();
    memcpy(msg, &h, HDR);
    make_frame(msg + HDR, 200, 7);

    /* Header alone, then the frame in two buffers (what Linux does without any_header_sg). */
    tx_shape(f, msg, sizeof(msg), (const uint32_t[]){HDR, HDR + 50}, 2);
    /* Header and frame in one buffer. */
    tx_shape(f, msg, sizeof(msg), NULL, 0);
    /* The header itself split across buffers, a zero-length buffer on the way. */
    tx_shape(f, msg, sizeof(msg), (const uint32_t[]){5, 5, HDR + 1}, 3);

    /* A partially checksummed frame keeps its offload fields. */
    h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    h.csum_start = htole16(34);
    h.csum_offset = htole16(16);
    memcpy(msg, &h, HDR);
    tx_shape(f, msg, sizeof(msg), NULL, 0);

    assert_true(wait_stat(f, VIRTIO_NET_STAT_TX_FRAMES, 4));
    assert_true(wait_stat(f, VIRTIO_NET_STAT_TX_BYTES, 4 * 200));
    irqs = vg_used_irqs(&f->g, TXQ);
    assert_true(wait_irqs(f, TXQ, 1));
    assert_true(irqs <= 4);
    assert_int_equal(nstat(f, VIRTIO_NET_STAT_TX_REFUSED), 0);
    assert_int_equal(nstat(f, VIRTIO_NET_STAT_TX_BAD_HEADER), 0);
}

/* Unknown flags are ignored (cleared), num_buffers zeroed, GSO passes when negotiated. */
static void test_tx_header_sanitised_and_gso(void **state)
{
    struct fixture *f = *state;
    static uint8_t got[MAX_FRAME_BUF];

    bring_up(f, MRG | CSUM | F(VIRTIO_NET_F_HOST_TSO4));
    virtio_net_hdr_t h = hdr_none();
    h.flags = VIRTIO_NET_HDR_F_DATA_VALID | 0x40;
    h.num_buffers = htole16(9);
    h.csum_start = htole16(99); /* not used without NEEDS_CSUM */
    tx_one(f, &h, 100, 1);
    assert_int_equal(peer_recv(f, got, sizeof(got)), HDR + 100);
    virtio_net_hdr_t out;
    memcpy(&out, got, HDR);
    assert_int_equal(out.flags, 0);
    assert_int_equal(out.num_buffers, 0);
    assert_int_equal(out.csum_start, 0);

    /* A TSO frame of 9000 bytes. */
    h = hdr_none();
    h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    h.gso_size = htole16(1448);
    h.hdr_len = htole16(54);
    h.csum_start = htole16(34);
    h.csum_offset = htole16(16);
    tx_one(f, &h, 9000, 2);
    assert_int_equal(peer_recv(f, got, sizeof(got)), HDR + 9000);
    assert_memory_equal(got, &h, HDR);
    assert_true(wait_stat(f, VIRTIO_NET_STAT_TX_FRAMES, 2));
    assert_int_equal(nstat(f, VIRTIO_NET_STAT_TX_BAD_HEADER), 0);
}

/* Hostile transmit chains: each is returned with length 0, counted, and sends nothing. */
static void test_tx_bad_chains(void **state)
{
    struct fixture *f = *state;
    static uint8_t msg[HDR + NET_MAX_FRAME + 1];
    uint8_t got[256];
    uint16_t head;

    bring_up(f, MRG | CSUM);
    virtio_net_hdr_t h = hdr_none();
    memcpy(msg, &h, HDR);
    make_frame(msg + HDR, 100, 1);

    /* A writable buffer in a transmit chain. */
    struct vg_buf bufs[2] = {tx_buf(f, msg, HDR + 100),
                             {.gpa = vg_alloc(&f->g, 64), .len = 64, .writable = true}};
    head = vg_add_chain(&f->g, TXQ, bufs, 2);
    vg_kick(&f->g, TXQ);
    expect_used(f, TXQ, head, 0);
    assert_int_equal(nstat(f, VIRTIO_NET_STAT_TX_REFUSED), 1);
    assert_int_equal(f->g.vdev->queues[TXQ].errors[VIRTQ_E_UNEXPECTED_WRITABLE], 1);

    /* Too short: a header and 10 bytes. */
    head = tx_one(f, &h, 10, 2);
    expect_used(f, TXQ, head, 0);
    /* Only a header. */
    bufs[0] = tx_buf(f, msg, HDR);
    head = vg_add_chain(&f->g, TXQ, bufs, 1);
    vg_kick(&f->g, TXQ);
    expect_used(f, TXQ, head, 0);
    /* Too long. */
    head = tx_one(f, &h, NET_MAX_FRAME + 1, 3);
    expect_used(f, TXQ, head, 0);
    assert_int_equal(nstat(f, VIRTIO_NET_STAT_TX_REFUSED), 4);

    /* GSO without HOST_TSO4 negotiated. */
    h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    h.gso_size = htole16(1448);
    h.csum_start = htole16(34);
    h.csum_offset = htole16(16);
    head = tx_one(f, &h, 100, 4);
    expect_used(f, TXQ, head, 0);
    /* TSO for IPv6 without HOST_TSO6. */
    h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
    head = tx_one(f, &h, 100, 4);
    expect_used(f, TXQ, head, 0);
    /* UDP fragmentation: never offered. */
    h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
    head = tx_one(f, &h, 100, 5);
    expect_used(f, TXQ, head, 0);
    /* A checksum field beyond the frame. */
    h.gso_type = VIRTIO_NET_HDR_GSO_NONE;
    h.gso_size = 0;
    h.csum_start = htole16(90);
    h.csum_offset = htole16(9);
    head = tx_one(f, &h, 100, 6);
    expect_used(f, TXQ, head, 0);
    /* hdr_len beyond the frame. */
    h = hdr_none();
    h.hdr_len = htole16(101);
    head = tx_one(f, &h, 100, 7);
    expect_used(f, TXQ, head, 0);
    assert_int_equal(nstat(f, VIRTIO_NET_STAT_TX_BAD_HEADER), 5);

    /* The checksum field ending exactly at the frame's end is fine; so is a good frame. */
    h = hdr_none();
    h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    h.csum_start = htole16(90);
    h.csum_offset = htole16(8);
    head = tx_one(f, &h, 100, 8);
    assert_int_equal(peer_recv(f, got, sizeof(got)), HDR + 100);
    assert_int_equal(got[HDR + 14], 8); /* seq 8: nothing refused went out before it */
    expect_used(f, TXQ, head, 0);
    assert_int_equal(peer_recv_ms(f, got, sizeof(got), 100), -1);
    assert_int_equal(nstat(f, VIRTIO_NET_STAT_TX_FRAMES), 1);
    assert_int_equal(vg_status(&f->g) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
}

/* The back end is full: the chain waits (not dropped), and goes once it drains. */
static void test_tx_eagain_resumes(void **state)
{
    struct fixture *f = *state;
    int small = 4096;
    uint8_t got[2048];
    uint16_t heads[40];
    const unsigned int n = 40;

    assert_int_equal(setsockopt(f->be->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    bring_up(f, MRG);
    virtio_net_hdr_t h = hdr_none();
    for (unsigned int i = 0; i < n; i++) {
        heads[i] = tx_one(f, &h, 1000, i);
    }
    assert_true(wait_stat(f, VIRTIO_NET_STAT_TX_EAGAIN, 1));
    usleep(20000);
    unsigned int used = 0;
    uint32_t id = 0, len = 0;
    while (vg_get_used(&f->g, TXQ, &id, &len)) {
        assert_int_equal(id, heads[used]);
        used++;
    }
    assert_true(used < n); /* some wait for the back end */

    for (unsigned int i = 0; i < n; i++) {
        uint32_t seq;
        assert_int_equal(peer_recv(f, got, sizeof(got)), HDR + 1000);
        memcpy(&seq, got + HDR + 14, 4);
        assert_int_equal(seq, i);
    }
    for (; used < n; used++) {
        expect_used(f, TXQ, heads[used], 0);
    }
    assert_true(wait_stat(f, VIRTIO_NET_STAT_TX_FRAMES, n));
    assert_int_equal(nstat(f, VIRTIO_NET_STAT_TX_DROPPED), 0);

    /* Blocked again, then reset: the held chain is forgotten, the device works after. */
    for (unsigned int i = 0; i < 20; i++) {
        tx_one(f, &h, 1000, 100 + i);
    }
    assert_true(wait_stat(f, VIRTIO_NET_STAT_TX_EAGAIN, 2));
    vg_write_status(&f->g, 0);
    vg_reset_data(&f->g);
    int sent_before = 0;
    while (peer_recv_ms(f, got, sizeof(got), 200) > 0) {
        sent_before++;
    }
    assert_true(sent_before < 20);
    bring_up(f, MRG);
    uint16_t head = tx_one(f, &h, 1000, 999);
    assert_int_equal(peer_recv(f, got, sizeof(got)), HDR + 1000);
    uint32_t seq;
    memcpy(&seq, got + HDR + 14, 4);
    assert_int_equal(seq, 999);
    expect_used(f, TXQ, head, 0);
}

/* --- receive --------------------------------------------------------------------------- */

static void test_rx_one_buffer(void **state)
{
    struct fixture *f = *state;
    uint8_t want[HDR + 300];

    bring_up(f, 0);
    uint16_t head = post_rx(f, 2048);
    vg_kick(&f->g, RXQ);
    virtio_net_hdr_t h = hdr_none();
    assert_true(peer_send(f, &h, 300, 42));
    expect_used(f, RXQ, head, HDR + 300);

    memcpy(want, &h, HDR);
    ((virtio_net_hdr_t *)want)->num_buffers = htole16(1); /* 5.1.6.4: 1 without MRG_RXBUF */
    make_frame(want + HDR, 300, 42);
    assert_memory_equal(rx_buf(f, head, HDR + 300), want, HDR + 300);
    assert_true(wait_stat(f, VIRTIO_NET_STAT_RX_FRAMES, 1));
    assert_true(wait_stat(f, VIRTIO_NET_STAT_RX_BYTES, 300));
    assert_true(wait_irqs(f, RXQ, 1));

    /* A buffer spread over three descriptors, the header split. */
    struct vg_buf bufs[3] = {{vg_alloc(&f->g, 7), 7, true},
                             {vg_alloc(&f->g, 100), 100, true},
                             {vg_alloc(&f->g, 1500), 1500, true}};
    head = vg_add_chain(&f->g, RXQ, bufs, 3);
    vg_kick(&f->g, RXQ);
    assert_true(peer_send(f, &h, 300, 43));
    expect_used(f, RXQ, head, HDR + 300);
    uint8_t got[HDR + 300];
    memcpy(got, vg_hva(&f->g, bufs[0].gpa, 7), 7);
    memcpy(got + 7, vg_hva(&f->g, bufs[1].gpa, 100), 100);
    memcpy(got + 107, vg_hva(&f->g, bufs[2].gpa, HDR + 300 - 107), HDR + 300 - 107);
    make_frame(want + HDR, 300, 43);
    assert_memory_equal(got, want, HDR + 300);
}

/* With MRG_RXBUF a frame flows over several chains; num_buffers counts them. */
static void test_rx_mergeable(void **state)
{
    struct fixture *f = *state;
    uint16_t heads[6];
    uint8_t frame[1000], got[HDR + 1000];

    bring_up(f, MRG);
    for (unsigned int i = 0; i < 6; i++) {
        heads[i] = post_rx(f, 256);
    }
    vg_kick(&f->g, RXQ);
    virtio_net_hdr_t h = hdr_none();
    assert_true(peer_send(f, &h, 1000, 5));
    /* 1012 bytes: 256 + 256 + 256 + 244, in order, all but the last full. */
    expect_used(f, RXQ, heads[0], 256);
    expect_used(f, RXQ, heads[1], 256);
    expect_used(f, RXQ, heads[2], 256);
    expect_used(f, RXQ, heads[3], 244);
    for (unsigned int i = 0; i < 4; i++) {
        memcpy(got + 256 * i, rx_buf(f, heads[i], 256), i < 3 ? 256 : 244);
    }
    virtio_net_hdr_t out;
    memcpy(&out, got, HDR);
    assert_int_equal(le16toh(out.num_buffers), 4);
    make_frame(frame, 1000, 5);
    assert_memory_equal(got + HDR, frame, 1000);

    /* The next frame takes the next chain. */
    assert_true(peer_send(f, &h, 100, 6));
    expect_used(f, RXQ, heads[4], HDR + 100);
    memcpy(&out, rx_buf(f, heads[4], HDR), HDR);
    assert_int_equal(le16toh(out.num_buffers), 1);
    assert_true(wait_stat(f, VIRTIO_NET_STAT_RX_FRAMES, 2));
    assert_int_equal(nstat(f, VIRTIO_NET_STAT_RX_DROPPED_TOO_BIG), 0);
}

/* Without a peek (a tap) the device gathers room for a whole frame, then reads. */
static void test_rx_mergeable_nopeek(void **state)
{
    struct fixture *f = *state;
    uint16_t heads[16];
    virtio_net_hdr_t out, h = hdr_none();

    bring_up(f, MRG);
    for (unsigned int i = 0; i < 16; i++) {
        heads[i] = post_rx(f, 256);
    }
    vg_kick(&f->g, RXQ);
    assert_true(peer_send(f, &h, 1000, 1));
    expect_used(f, RXQ, heads[0], 256);
    expect_used(f, RXQ, heads[1], 256);
    expect_used(f, RXQ, heads[2], 256);
    expect_used(f, RXQ, heads[3], 244);
    memcpy(&out, rx_buf(f, heads[0], HDR), HDR);
    assert_int_equal(le16toh(out.num_buffers), 4);
    /* 312 bytes: the two chains held back from the first read, then more. */
    assert_true(peer_send(f, &h, 300, 2));
    expect_used(f, RXQ, heads[4], 256);
    expect_used(f, RXQ, heads[5], 56);
    memcpy(&out, rx_buf(f, heads[4], HDR), HDR);
    assert_int_equal(le16toh(out.num_buffers), 2);
    uint8_t frame[300], got[300];
    make_frame(frame, 300, 2);
    memcpy(got, rx_buf(f, heads[4], 256) + HDR, 256 - HDR);
    memcpy(got + 256 - HDR, rx_buf(f, heads[5], 56), 56);
    assert_memory_equal(got, frame, 300);
}

/* Without a peek a frame longer than expected is dropped once; after that the room grows. */
static void test_rx_nopeek_learns_size(void **state)
{
    struct fixture *f = *state;
    uint16_t heads[24];
    virtio_net_hdr_t out, h = hdr_none();

    bring_up(f, MRG);
    for (unsigned int i = 0; i < 24; i++) {
        heads[i] = post_rx(f, 256);
    }
    vg_kick(&f->g, RXQ);
    assert_true(peer_send(f, &h, 2000, 1)); /* a jumbo frame: 2012 > 6 x 256 gathered */
    assert_true(wait_stat(f, VIRTIO_NET_STAT_RX_DROPPED_TOO_BIG, 1));
    assert_true(peer_send(f, &h, 2000, 2));
    for (unsigned int i = 0; i < 7; i++) {
        expect_used(f, RXQ, heads[i], 256);
    }
    expect_used(f, RXQ, heads[7], HDR + 2000 - 7 * 256);
    memcpy(&out, rx_buf(f, heads[0], HDR), HDR);
    assert_int_equal(le16toh(out.num_buffers), 8);
    uint32_t seq;
    memcpy(&seq, rx_buf(f, heads[0], HDR + 18) + HDR + 14, 4);
    assert_int_equal(seq, 2);
}

/* A ring smaller than the room wanted: once all of it is held, the device reads anyway. */
static void test_rx_nopeek_small_ring(void **state)
{
    struct fixture *f = *state;
    uint16_t heads[8];
    virtio_net_hdr_t out, h = hdr_none();

    bring_up_size(f, MRG, 8);
    for (unsigned int i = 0; i < 8; i++) {
        heads[i] = post_rx(f, 128); /* 1 KiB: less than the room for a full frame */
    }
    vg_kick(&f->g, RXQ);
    assert_true(peer_send(f, &h, 500, 1));
    for (unsigned int i = 0; i < 3; i++) {
        expect_used(f, RXQ, heads[i], 128);
    }
    expect_used(f, RXQ, heads[3], HDR + 500 - 3 * 128);
    memcpy(&out, rx_buf(f, heads[0], HDR), HDR);
    assert_int_equal(le16toh(out.num_buffers), 4);
}

/* No buffers: the frames wait in the back end, then arrive complete and in order. */
static void test_rx_waits_for_buffers(void **state)
{
    struct fixture *f = *state;
    virtio_net_hdr_t h = hdr_none();
    uint32_t id = 0, len = 0;

    bring_up(f, 0);
    for (uint32_t i = 0; i < 5; i++) {
        assert_true(peer_send(f, &h, 100 + i, i));
    }
    assert_true(wait_stat(f, VIRTIO_NET_STAT_RX_WAITS_FOR_BUFFERS, 1));
    assert_false(wait_used_ms(f, RXQ, &id, &len, 50));

    uint16_t heads[5];
    for (unsigned int i = 0; i < 2; i++) {
        heads[i] = post_rx(f, 2048);
    }
    vg_kick(&f->g, RXQ);
    for (unsigned int i = 0; i < 2; i++) {
        expect_used(f, RXQ, heads[i], HDR + 100 + i);
    }
    assert_true(wait_stat(f, VIRTIO_NET_STAT_RX_WAITS_FOR_BUFFERS, 2));
    for (unsigned int i = 2; i < 5; i++) {
        heads[i] = post_rx(f, 2048);
    }
    vg_kick(&f->g, RXQ);
    for (unsigned int i = 2; i < 5; i++) {
        uint32_t seq;
        expect_used(f, RXQ, heads[i], HDR + 100 + i);
        memcpy(&seq, rx_buf(f, heads[i], HDR + 18) + HDR + 14, 4);
        assert_int_equal(seq, i);
    }
    assert_true(wait_stat(f, VIRTIO_NET_STAT_RX_FRAMES, 5));
    assert_int_equal(nstat(f, VIRTIO_NET_STAT_RX_DROPPED_TOO_BIG), 0);
}

/* Without MRG_RXBUF a frame larger than the chain is dropped; the chain stays for the next. */
static void test_rx_too_big(void **state)
{
    struct fixture *f = *state;
    virtio_net_hdr_t h = hdr_none();

    bring_up(f, 0);
    uint16_t head = post_rx(f, 200);
    vg_kick(&f->g, RXQ);
    assert_true(peer_send(f, &h, 500, 1));
    assert_true(peer_send(f, &h, 100, 2));
    expect_used(f, RXQ, head, HDR + 100);
    uint32_t seq;
    memcpy(&seq, rx_buf(f, head, HDR + 18) + HDR + 14, 4);
    assert_int_equal(seq, 2);
    assert_true(wait_stat(f, VIRTIO_NET_STAT_RX_DROPPED_TOO_BIG, 1));
    assert_int_equal(nstat(f, VIRTIO_NET_STAT_RX_FRAMES), 1);
}

/* The same without a peek: the frame is read, found truncated, dropped. */
static void test_rx_too_big_nopeek(void **state)
{
    test_rx_too_big(state);
}

/* Runts and oversized messages from the back end are dropped, counted. */
static void test_rx_bad_from_backend(void **state)
{
    struct fixture *f = *state;
    virtio_net_hdr_t h = hdr_none();
    static uint8_t big[HDR + NET_MAX_FRAME + 100];

    bring_up(f, MRG);
    uint16_t head = post_rx(f, 2048);
    vg_kick(&f->g, RXQ);
    assert_int_equal(send(f->peer, &h, 5, 0), 5);                /* shorter than a header */
    assert_int_equal(send(f->peer, big, HDR + 10, 0), HDR + 10); /* no Ethernet header */
    assert_int_equal(send(f->peer, big, sizeof(big), 0), (ssize_t)sizeof(big)); /* too big */
    assert_true(peer_send(f, &h, 60, 9));
    expect_used(f, RXQ, head, HDR + 60);
    assert_true(wait_stat(f, VIRTIO_NET_STAT_RX_DROPPED_BAD, 2));
    assert_true(wait_stat(f, VIRTIO_NET_STAT_RX_DROPPED_TOO_BIG, 1));
}

/* Receive chains a driver must not post: returned with 0, counted, skipped. */
static void test_rx_bad_chains(void **state)
{
    struct fixture *f = *state;
    virtio_net_hdr_t h = hdr_none();
    uint8_t junk[64] = {0};

    bring_up(f, MRG);
    struct vg_buf bufs[2] = {tx_buf(f, junk, 64),
                             {.gpa = vg_alloc(&f->g, 2048), .len = 2048, .writable = true}};
    uint16_t bad1 = vg_add_chain(&f->g, RXQ, bufs, 2);
    uint16_t bad2 = post_rx(f, HDR - 1);
    uint16_t good = post_rx(f, 2048);
    vg_kick(&f->g, RXQ);
    assert_true(peer_send(f, &h, 80, 3));
    expect_used(f, RXQ, bad1, 0);
    expect_used(f, RXQ, bad2, 0);
    expect_used(f, RXQ, good, HDR + 80);
    assert_int_equal(nstat(f, VIRTIO_NET_STAT_RX_REFUSED), 2);
    assert_int_equal(vg_status(&f->g) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
}

/* Receive offloads: what the driver did not negotiate never reaches it. */
static void test_rx_offloads(void **state)
{
    struct fixture *f = *state;
    virtio_net_hdr_t out, h = hdr_none();
    uint16_t head;

    /* No GUEST_CSUM: flags cleared (DATA_VALID) or the frame dropped (NEEDS_CSUM). */
    bring_up(f, MRG);
    assert_int_equal(net_socket_offloads(f->be), 0);
    head = post_rx(f, 2048);
    vg_kick(&f->g, RXQ);
    h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
    assert_true(peer_send(f, &h, 60, 1));
    expect_used(f, RXQ, head, HDR + 60);
    memcpy(&out, rx_buf(f, head, HDR), HDR);
    assert_int_equal(out.flags, 0);
    h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    h.csum_start = htole16(34);
    h.csum_offset = htole16(16);
    head = post_rx(f, 2048);
    vg_kick(&f->g, RXQ);
    assert_true(peer_send(f, &h, 60, 2));
    assert_true(wait_stat(f, VIRTIO_NET_STAT_RX_DROPPED_BAD, 1));

    /* GUEST_CSUM + GUEST_TSO4: the back end is asked for them; TSO6 frames still dropped. */
    vg_write_status(&f->g, 0);
    vg_reset_data(&f->g);
    bring_up(f, MRG | GUEST_CSUM | F(VIRTIO_NET_F_GUEST_TSO4));
    assert_int_equal(net_socket_offloads(f->be), NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4);
    uint16_t heads[8];
    for (unsigned int i = 0; i < 8; i++) {
        heads[i] = post_rx(f, 4096);
    }
    vg_kick(&f->g, RXQ);
    /* The frame queued before the reset was dropped (NEEDS_CSUM): nothing waits. */
    h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
    h.gso_size = htole16(1400);
    assert_true(peer_send(f, &h, 3000, 3));
    h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    h.hdr_len = htole16(54);
    assert_true(peer_send(f, &h, 3000, 4));
    expect_used(f, RXQ, heads[0], HDR + 3000);
    memcpy(&out, rx_buf(f, heads[0], HDR), HDR);
    assert_int_equal(out.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    assert_int_equal(out.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
    assert_int_equal(le16toh(out.gso_size), 1400);
    assert_int_equal(le16toh(out.csum_start), 34);
    assert_int_equal(le16toh(out.num_buffers), 1);
    assert_true(wait_stat(f, VIRTIO_NET_STAT_RX_DROPPED_BAD, 2));

    vg_write_status(&f->g, 0);
    assert_int_equal(net_socket_offloads(f->be), 0); /* back to plain frames */
}

/* 5.1.3.1: a feature accepted without the one it needs fails DRIVER_OK. */
static void test_feature_dependencies(void **state)
{
    struct fixture *f = *state;
    virtio_device_t *vdev = virtio_net_device(f->net);

    assert_true(vg_negotiate(&f->g, VERSION_1 | F(VIRTIO_NET_F_GUEST_TSO4)));
    vg_setup_queue(&f->g, RXQ, QSIZE);
    vg_setup_queue(&f->g, TXQ, QSIZE);
    vg_driver_ok(&f->g);
    assert_true(vg_status(&f->g) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    assert_int_equal(virtio_device_error_count(vdev, VIRTIO_E_ACTIVATE), 1);

    assert_true(vg_negotiate(&f->g, VERSION_1 | F(VIRTIO_NET_F_HOST_TSO6)));
    vg_setup_queue(&f->g, RXQ, QSIZE);
    vg_setup_queue(&f->g, TXQ, QSIZE);
    vg_driver_ok(&f->g);
    assert_true(vg_status(&f->g) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);

    bring_up(f, CSUM | F(VIRTIO_NET_F_HOST_TSO6) | GUEST_CSUM | F(VIRTIO_NET_F_GUEST_TSO6));
}

/* --- reset, broken rings, a vanished back end ------------------------------------------ */

/* Frames waiting in the back end survive a reset; held chains do not. */
static void test_reset_with_pending(void **state)
{
    struct fixture *f = *state;
    virtio_net_hdr_t h = hdr_none();

    bring_up(f, MRG);
    for (unsigned int i = 0; i < 3; i++) {
        post_rx(f, 64); /* too small to finish a frame of 500: held */
    }
    vg_kick(&f->g, RXQ);
    for (uint32_t i = 0; i < 3; i++) {
        assert_true(peer_send(f, &h, 500, i));
    }
    assert_true(wait_stat(f, VIRTIO_NET_STAT_RX_WAITS_FOR_BUFFERS, 1));

    vg_write_status(&f->g, 0);
    vg_reset_data(&f->g);
    bring_up(f, 0);
    uint16_t heads[3];
    for (unsigned int i = 0; i < 3; i++) {
        heads[i] = post_rx(f, 2048);
    }
    vg_kick(&f->g, RXQ);
    for (unsigned int i = 0; i < 3; i++) {
        uint32_t seq;
        expect_used(f, RXQ, heads[i], HDR + 500);
        memcpy(&seq, rx_buf(f, heads[i], HDR + 18) + HDR + 14, 4);
        assert_int_equal(seq, i);
    }
}

/* A queue disabled and enabled again under held chains: they are forgotten. */
static void test_queue_replaced_under_held_chains(void **state)
{
    struct fixture *f = *state;
    virtio_net_hdr_t h = hdr_none();
    virtio_device_t *vdev = virtio_net_device(f->net);

    bring_up(f, MRG);
    post_rx(f, 64);
    vg_kick(&f->g, RXQ);
    assert_true(peer_send(f, &h, 500, 1));
    assert_true(wait_stat(f, VIRTIO_NET_STAT_RX_WAITS_FOR_BUFFERS, 1));

    pthread_mutex_lock(&vdev->lock);
    virtio_device_queue_disable(vdev, RXQ);
    pthread_mutex_unlock(&vdev->lock);
    vg_setup_queue(&f->g, RXQ, QSIZE);
    uint16_t head = post_rx(f, 2048);
    vg_kick(&f->g, RXQ);
    expect_used(f, RXQ, head, HDR + 500);
}

static void test_broken_ring(void **state)
{
    struct fixture *f = *state;
    virtio_net_hdr_t h = hdr_none();
    uint8_t got[2048];

    bring_up(f, 0);
    vg_set_avail_idx(&f->g, TXQ, 1000); /* ran ahead by more than the queue size */
    vg_kick(&f->g, TXQ);
    assert_true(vg_status(&f->g) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    assert_int_equal(nstat(f, VIRTIO_NET_STAT_RING_BROKEN), 1);
    assert_true(wait_config_irqs(f, 1));

    /* The receive side stops too: frames stay in the back end. */
    assert_true(peer_send(f, &h, 60, 1));
    usleep(20000);
    assert_int_equal(nstat(f, VIRTIO_NET_STAT_RX_FRAMES), 0);

    vg_write_status(&f->g, 0);
    vg_reset_data(&f->g);
    bring_up(f, 0);
    uint16_t head = post_rx(f, 2048);
    vg_kick(&f->g, RXQ);
    expect_used(f, RXQ, head, HDR + 60);
    head = tx_one(f, &h, 60, 2);
    assert_int_equal(peer_recv(f, got, sizeof(got)), HDR + 60);
    expect_used(f, TXQ, head, 0);

    /* A broken receive ring, found when a frame arrives. */
    vg_set_avail_idx(&f->g, RXQ, 2000);
    assert_true(peer_send(f, &h, 60, 3));
    assert_true(wait_stat(f, VIRTIO_NET_STAT_RING_BROKEN, 2));
    assert_true(vg_status(&f->g) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

/* The network end closes: link down, a config interrupt, transmit drops. */
static void test_backend_hangup(void **state)
{
    struct fixture *f = *state;
    virtio_net_hdr_t h = hdr_none();

    bring_up(f, F(VIRTIO_NET_F_STATUS));
    close(f->peer);
    f->peer = -1;
    assert_true(wait_stat(f, VIRTIO_NET_STAT_BACKEND_ERRORS, 1));
    assert_true(wait_config_irqs(f, 1));
    assert_int_equal(cfg_read16(f, VIRTIO_NET_CONFIG_STATUS), 0);
    uint16_t head = tx_one(f, &h, 60, 1);
    expect_used(f, TXQ, head, 0);
    assert_true(wait_stat(f, VIRTIO_NET_STAT_TX_DROPPED, 1));
    assert_int_equal(vg_status(&f->g) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
    /* Posting buffers does not wake anything up. */
    post_rx(f, 2048);
    vg_kick(&f->g, RXQ);
    usleep(20000);
    assert_int_equal(nstat(f, VIRTIO_NET_STAT_RX_FRAMES), 0);
}

/* --- bursts ---------------------------------------------------------------------------- */

#define BURST 1000u
#define WINDOW 128u

static size_t burst_len(uint32_t i)
{
    return 60 + (i * 37u) % 1400u;
}

static void test_burst_tx(void **state)
{
    struct fixture *f = *state;
    static uint8_t got[2048];
    uint64_t sent_sum = 0xcbf29ce484222325ull, got_sum = 0xcbf29ce484222325ull;
    uint32_t posted = 0, received = 0, completed = 0, id = 0, len = 0;
    virtio_net_hdr_t h = hdr_none();
    struct timespec t0, now;

    bring_up(f, MRG);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (received < BURST || completed < BURST) {
        while (posted < BURST && posted - completed < WINDOW) {
            uint8_t frame[2048];
            make_frame(frame, burst_len(posted), posted);
            sent_sum = fnv(sent_sum, frame, burst_len(posted));
            tx_one(f, &h, burst_len(posted), posted);
            posted++;
        }
        ssize_t n;
        while ((n = recv(f->peer, got, sizeof(got), MSG_DONTWAIT)) > 0) {
            uint32_t seq;
            assert_int_equal(n, (ssize_t)(HDR + burst_len(received)));
            memcpy(&seq, got + HDR + 14, 4);
            assert_int_equal(seq, received);
            got_sum = fnv(got_sum, got + HDR, (size_t)n - HDR);
            received++;
        }
        while (vg_get_used(&f->g, TXQ, &id, &len)) {
            assert_int_equal(len, 0);
            completed++;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        assert_true(now.tv_sec - t0.tv_sec < 60);
        usleep(100);
    }
    assert_true(sent_sum == got_sum);
    assert_true(wait_stat(f, VIRTIO_NET_STAT_TX_FRAMES, BURST));
    assert_int_equal(nstat(f, VIRTIO_NET_STAT_TX_DROPPED), 0);
}

static void test_burst_rx(void **state)
{
    struct fixture *f = *state;
    uint64_t sent_sum = 0xcbf29ce484222325ull, got_sum = 0xcbf29ce484222325ull;
    uint32_t sent = 0, received = 0, id = 0, len = 0;
    virtio_net_hdr_t h = hdr_none();
    struct timespec t0, now;

    bring_up(f, MRG);
    for (unsigned int i = 0; i < WINDOW; i++) {
        post_rx(f, 2048);
    }
    vg_kick(&f->g, RXQ);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (received < BURST) {
        while (sent < BURST && peer_send(f, &h, burst_len(sent), sent)) {
            uint8_t frame[2048];
            make_frame(frame, burst_len(sent), sent);
            sent_sum = fnv(sent_sum, frame, burst_len(sent));
            sent++;
        }
        bool reposted = false;
        while (vg_get_used(&f->g, RXQ, &id, &len)) {
            uint8_t *p = rx_buf(f, (uint16_t)id, len);
            virtio_net_hdr_t out;
            uint32_t seq;
            memcpy(&out, p, HDR);
            assert_int_equal(le16toh(out.num_buffers), 1);
            assert_int_equal(len, HDR + burst_len(received));
            memcpy(&seq, p + HDR + 14, 4);
            assert_int_equal(seq, received);
            got_sum = fnv(got_sum, p + HDR, len - HDR);
            received++;
            post_rx(f, 2048);
            reposted = true;
        }
        if (reposted) {
            vg_kick(&f->g, RXQ);
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        assert_true(now.tv_sec - t0.tv_sec < 60);
        usleep(100);
    }
    assert_true(sent_sum == got_sum);
    assert_true(wait_stat(f, VIRTIO_NET_STAT_RX_FRAMES, BURST));
    assert_int_equal(nstat(f, VIRTIO_NET_STAT_RX_DROPPED_TOO_BIG), 0);
}

/* --- without an I/O thread ------------------------------------------------------------- */

static void test_poll_mode(void **state)
{
    struct fixture *f = *state;
    virtio_net_hdr_t h = hdr_none();
    uint32_t id = 0, len = 0;
    uint8_t got[256];

    bring_up(f, MRG);
    for (unsigned int i = 0; i < 128; i++) {
        post_rx(f, 256);
    }
    vg_kick(&f->g, RXQ);
    for (uint32_t i = 0; i < 100; i++) {
        assert_true(peer_send(f, &h, 60, i));
    }
    /* Nothing moves until polled; then a budget at a time. */
    assert_false(vg_get_used(&f->g, RXQ, &id, &len));
    assert_true(virtio_net_poll(f->net));
    assert_int_equal(nstat(f, VIRTIO_NET_STAT_RX_FRAMES), VIRTIO_NET_BUDGET);
    assert_false(virtio_net_poll(f->net));
    assert_int_equal(nstat(f, VIRTIO_NET_STAT_RX_FRAMES), 100);
    for (uint32_t i = 0; i < 100; i++) {
        assert_true(vg_get_used(&f->g, RXQ, &id, &len));
        assert_int_equal(len, HDR + 60);
    }
    assert_int_equal(vg_used_irqs(&f->g, RXQ), 2);

    /* Transmit runs in the kick itself. */
    uint16_t head = tx_one(f, &h, 60, 7);
    assert_true(vg_get_used(&f->g, TXQ, &id, &len));
    assert_int_equal(id, head);
    assert_int_equal(recv(f->peer, got, sizeof(got), MSG_DONTWAIT), HDR + 60);

    /* A kick serves a budget's worth; the next poll the rest. */
    uint8_t msg[HDR + 60];
    memcpy(msg, &h, HDR);
    for (uint32_t i = 0; i < 100; i++) {
        make_frame(msg + HDR, 60, i);
        struct vg_buf b = tx_buf(f, msg, sizeof(msg));
        vg_add_chain(&f->g, TXQ, &b, 1);
    }
    vg_kick(&f->g, TXQ);
    assert_int_equal(nstat(f, VIRTIO_NET_STAT_TX_FRAMES), 1 + VIRTIO_NET_BUDGET);
    assert_false(virtio_net_poll(f->net));
    assert_int_equal(nstat(f, VIRTIO_NET_STAT_TX_FRAMES), 101);
    for (uint32_t i = 0; i < 100; i++) {
        uint32_t seq;
        assert_int_equal(recv(f->peer, got, sizeof(got), MSG_DONTWAIT), HDR + 60);
        memcpy(&seq, got + HDR + 14, 4);
        assert_int_equal(seq, i);
    }

    /* A closed network end shows up as a hang-up on the next receive. */
    close(f->peer);
    f->peer = -1;
    assert_false(virtio_net_poll(f->net));
    assert_int_equal(cfg_read16(f, VIRTIO_NET_CONFIG_STATUS), 0);
    assert_int_equal(nstat(f, VIRTIO_NET_STAT_BACKEND_ERRORS), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plain_backend_and_default_mac, setup_plain, teardown),
        cmocka_unit_test(test_socket_backend_rules),
        cmocka_unit_test_setup_teardown(test_tx_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_header_sanitised_and_gso, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_bad_chains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_eagain_resumes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_one_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_mergeable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_mergeable_nopeek, setup_nopeek, teardown),
        cmocka_unit_test_setup_teardown(test_rx_nopeek_learns_size, setup_nopeek, teardown),
        cmocka_unit_test_setup_teardown(test_rx_nopeek_small_ring, setup_nopeek, teardown),
        cmocka_unit_test_setup_teardown(test_rx_waits_for_buffers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_too_big, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_too_big_nopeek, setup_nopeek, teardown),
        cmocka_unit_test_setup_teardown(test_rx_bad_from_backend, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_bad_chains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_offloads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_feature_dependencies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_with_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_replaced_under_held_chains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broken_ring, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backend_hangup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_burst_tx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_burst_rx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_poll_mode, setup_poll, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
