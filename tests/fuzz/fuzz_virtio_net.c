/*
 * fuzz_virtio_net.c - libFuzzer harness for the virtio network device
 * (src/virtio/net.c) and its SOCK_SEQPACKET back end (net_socket.c), over
 * the split virtqueue (queue.c) and the common layer (virtio.c).
 *
 * The input is a hostile driver plus the network.  Byte 0 picks the
 * features the driver accepts (bit 0 EVENT_IDX, 1 INDIRECT_DESC,
 * 2 MRG_RXBUF, 3 CSUM, 4 GUEST_CSUM, 5 HOST_TSO4+6, 6 GUEST_TSO4+6,
 * 7 STATUS; the TSO bits may come without the checksum bit they need, as
 * a broken driver would), byte 1 the queue size (1 << (byte % 5)) and,
 * with bit 7, a back end that cannot peek (the device then guesses the
 * room it needs, as for a tap).  The harness brings the device up with
 * queue q's rings at RAM_BASE + q * 0x400 (descriptors +0, available ring
 * +0x100, used ring +0x200), then plays 11-byte records:
 *
 *   byte 0      kind (bits 0-2)
 *   bytes 1-2   offset, little-endian
 *   bytes 3-10  value, little-endian
 *
 * kind 0: the driver writes the 8 value bytes to guest RAM at offset;
 * kind 1: the driver publishes head (value & 0xffff) on queue offset & 1
 *         and, when bit 16 of value is clear, kicks it;
 * kind 2: the driver kicks queue offset & 1;
 * kind 3: the driver misbehaves at the transport, value % 4: reset and
 *         bring the device up again; write status (value >> 8); enable
 *         queue offset & 1 again with size (value >> 8) and rings moved by
 *         offset & ~15; disable queue offset & 1;
 * kind 4: the network sends a frame: value bytes 0-5 are the header's
 *         flags, gso_type, gso_size (le16), csum_start, csum_offset;
 *         bytes 6-7 its length % 4096, or 60000 + that with offset bit 0;
 * kind 5: the network reads up to value % 64 frames the guest sent and
 *         checks each;
 * kind 6: value % 4: the network hangs up; the back end's send buffer
 *         shrinks (so transmit meets EAGAIN); two extra polls;
 * kind 7: a config read (width 1/2/4 at offset % 12) or write.
 *
 * There is no I/O thread: after every record the harness serves the back
 * end with virtio_net_poll() until it reports no more work, so a run is
 * deterministic.  Guest RAM is a heap buffer mapped as a reservation, so
 * AddressSanitizer reports any access outside it; libFuzzer's timeout
 * catches a loop.  After every record the harness checks the counters
 * against what it injected, and every frame the network receives against
 * what the driver may send.  Build with -I src (fake_hv.h needs the core's
 * private headers).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vmmkit/log.h>
#include <vmmkit/net_backend.h>
#include <vmmkit/virtio_net.h>

#define FUZZ_NAME "fuzz_virtio_net"
#include "fuzz_driver.h"

#define RAM_BASE 0x10000ull
#define RAM_SIZE 0x20000ull /* room for a frame near the 64 KiB limit */
#define NQ 2u
#define RECORD_OFF_BYTES 2u /* 11-byte records */
#define HDR VIRTIO_NET_HDR_LEN
#define POLL_ROUNDS 8
#define F(bit) (1ull << (bit))

/* Queue q's rings at q * 0x400: descriptors +0, available ring +0x100, used ring +0x200. */
static const fuzz_rings_t rings = {
    .nq = NQ, .stride = 0x400, .desc = 0x000, .avail = 0x100, .used = 0x200, .end = 0x400};

struct harness {
    vm_t *vm;
    int peer; /* the network's end; -1 once it hung up */
    net_backend_t *be;
    net_backend_ops_t nopeek_ops;
    virtio_net_t *net;
    fuzz_driver_t drv;
    uint64_t injected; /* frames the network sent */
    uint64_t received; /* frames the network got */
};

static uint8_t frame_buf[HDR + 60000 + 4096];

/* Byte 0 of the input: bit i adds picks[i] (the TSO pairs without the checksum they need). */
static uint64_t driver_features(uint8_t b)
{
    static const uint64_t picks[] = {
        F(VIRTIO_F_RING_EVENT_IDX),
        F(VIRTIO_F_RING_INDIRECT_DESC),
        F(VIRTIO_NET_F_MRG_RXBUF),
        F(VIRTIO_NET_F_CSUM),
        F(VIRTIO_NET_F_GUEST_CSUM),
        F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6),
        F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6),
        F(VIRTIO_NET_F_STATUS),
    };

    return fuzz_features(F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MAC), b, picks, 8);
}

static bool harness_init(struct harness *h, uint8_t feat, uint8_t size)
{
    static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x01, 0x02, 0x03};
    int sv[2];

    memset(h, 0, sizeof(*h));
    if (vm_create_with_backend(&h->vm, "fuzz", &fake_hv_ops) < 0) {
        return false;
    }
    uint8_t *ram = fuzz_ram_map(h->vm, RAM_BASE, RAM_SIZE);

    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
    h->peer = sv[1];
    CHECK(net_socket_open(sv[0], NET_OFFLOAD_ALL, "fuzz", &h->be) == 0);
    if (size & 0x80) {
        h->nopeek_ops = *h->be->ops;
        h->nopeek_ops.peek_len = NULL;
        h->be->ops = &h->nopeek_ops;
    }
    virtio_net_config_t cfg = {.has_mac = true, .backend = h->be, .io = NULL};
    memcpy(cfg.mac, mac, 6);
    CHECK(virtio_net_create(h->vm, 0, &cfg, &h->net) == 0);
    fuzz_driver_attach(&h->drv, virtio_net_device(h->net), ram, RAM_BASE, &rings,
                       driver_features(feat), (uint16_t)(1u << ((size & 0x7f) % 5)));
    fuzz_driver_bring_up(&h->drv);
    return true;
}

static void harness_fini(struct harness *h)
{
    virtio_net_destroy(h->net);
    net_backend_destroy(h->be);
    if (h->peer >= 0) {
        close(h->peer);
    }
    vm_destroy(h->vm);
    free(h->drv.ram);
}

/* The network sends one frame built from the record. */
static void network_send(struct harness *h, uint16_t off, uint64_t value)
{
    uint8_t v[8];
    virtio_net_hdr_t hdr;
    size_t len;

    if (h->peer < 0) {
        return;
    }
    memcpy(v, &value, 8);
    memset(&hdr, 0, sizeof(hdr));
    hdr.flags = v[0];
    hdr.gso_type = v[1];
    hdr.gso_size = htole16((uint16_t)(v[2] | v[3] << 8));
    hdr.csum_start = htole16(v[4]);
    hdr.csum_offset = htole16(v[5]);
    hdr.hdr_len = htole16(54);
    len = (size_t)(v[6] | v[7] << 8) % 4096u;
    if (off & 1) {
        len += 60000;
    }
    memcpy(frame_buf, &hdr, HDR);
    for (size_t i = 0; i < len; i++) {
        frame_buf[HDR + i] = (uint8_t)(i * 29u + off);
    }
    if (send(h->peer, frame_buf, HDR + len, MSG_DONTWAIT) == (ssize_t)(HDR + len)) {
        h->injected++;
    }
}

/* What the driver may have sent, given the features it asked for. */
static void check_sent(struct harness *h, const uint8_t *msg, ssize_t n)
{
    virtio_net_hdr_t hdr;

    CHECK(n >= (ssize_t)(HDR + 14) && n <= (ssize_t)(HDR + NET_MAX_FRAME));
    memcpy(&hdr, msg, HDR);
    CHECK(hdr.num_buffers == 0);
    CHECK((hdr.flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM) == 0);
    if (hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        CHECK(h->drv.features & F(VIRTIO_NET_F_CSUM));
        CHECK((size_t)le16toh(hdr.csum_start) + le16toh(hdr.csum_offset) + 2u <= (size_t)n - HDR);
    } else {
        CHECK(hdr.csum_start == 0 && hdr.csum_offset == 0);
    }
    switch (hdr.gso_type) {
    case VIRTIO_NET_HDR_GSO_NONE:
        CHECK(hdr.gso_size == 0);
        break;
    case VIRTIO_NET_HDR_GSO_TCPV4:
    case VIRTIO_NET_HDR_GSO_TCPV6:
        CHECK(h->drv.features & F(VIRTIO_NET_F_HOST_TSO4));
        CHECK(hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
        CHECK(hdr.gso_size != 0);
        break;
    default:
        CHECK(0);
    }
    CHECK(le16toh(hdr.hdr_len) <= (size_t)n - HDR);
}

static void network_receive(struct harness *h, uint64_t value)
{
    for (unsigned int i = 0; h->peer >= 0 && i < value % 64; i++) {
        ssize_t n = recv(h->peer, frame_buf, sizeof(frame_buf), MSG_DONTWAIT);
        if (n < 0) {
            CHECK(errno == EAGAIN);
            return;
        }
        check_sent(h, frame_buf, n);
        h->received++;
    }
}

static void network_event(struct harness *h, uint64_t value)
{
    int small = 4096;

    switch (value % 4) {
    case 0:
        if (h->peer >= 0) {
            close(h->peer);
            h->peer = -1;
        }
        break;
    case 1:
        setsockopt(h->be->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
        break;
    default:
        virtio_net_poll(h->net);
        virtio_net_poll(h->net);
        break;
    }
}

static void config_access(struct harness *h, uint16_t off, uint64_t value)
{
    static const uint32_t widths[3] = {1, 2, 4};
    uint32_t width = widths[(value >> 8) % 3];
    uint64_t buf = value;

    pthread_mutex_lock(&h->drv.vdev->lock);
    if (value & 1) {
        virtio_device_config_write(h->drv.vdev, off % 12u, &buf, width);
    } else {
        virtio_device_config_read(h->drv.vdev, off % 12u, &buf, width);
    }
    pthread_mutex_unlock(&h->drv.vdev->lock);
}

/* What must hold after every record, whatever the driver and the network did. */
static void check_invariants(struct harness *h)
{
    uint64_t rx = virtio_net_stat(h->net, VIRTIO_NET_STAT_RX_FRAMES);
    uint64_t tx = virtio_net_stat(h->net, VIRTIO_NET_STAT_TX_FRAMES);

    CHECK(rx <= h->injected);
    CHECK(virtio_net_stat(h->net, VIRTIO_NET_STAT_RX_BYTES) <= rx * NET_MAX_FRAME);
    CHECK(virtio_net_stat(h->net, VIRTIO_NET_STAT_TX_BYTES) <= tx * NET_MAX_FRAME);
    CHECK(h->received <= tx);
    CHECK(!(h->drv.vdev->status & 0x30));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct harness *h;

    if (size < 2) {
        return 0;
    }
    vmm_log_set_level(VMM_LOG_ERR);
    h = malloc(sizeof(*h));
    if (!h || !harness_init(h, data[0], data[1])) {
        free(h);
        return 0;
    }
    size_t pos = 2;
    fuzz_record_t rec;
    while (fuzz_record_next(data, size, &pos, RECORD_OFF_BYTES, &rec)) {
        uint16_t off = (uint16_t)rec.off;
        uint64_t value = rec.value;

        switch (rec.head & 7) {
        case 0:
            memcpy(h->drv.ram + off % (RAM_SIZE - 7), &value, 8);
            break;
        case 1:
            fuzz_driver_publish(&h->drv, off & 1u, (uint16_t)value);
            if (!(value & (1ull << 16))) {
                fuzz_driver_kick(&h->drv, off & 1u);
            }
            break;
        case 2:
            fuzz_driver_kick(&h->drv, off & 1u);
            break;
        case 3:
            /* Rings moved by off & ~15 stay aligned: the device gets further. */
            fuzz_driver_misbehave(&h->drv, off & 1u, off & ~15u, value);
            break;
        case 4:
            network_send(h, off, value);
            break;
        case 5:
            network_receive(h, value);
            break;
        case 6:
            network_event(h, value);
            break;
        default:
            config_access(h, off, value);
            break;
        }
        for (int i = 0; i < POLL_ROUNDS && virtio_net_poll(h->net); i++) {
        }
        check_invariants(h);
    }
    network_receive(h, 63);
    check_invariants(h);
    harness_fini(h);
    free(h);
    return 0;
}
