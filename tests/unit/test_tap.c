/*
 * test_tap.c - the tap back end (src/backends/tap.c), alone and under the
 * virtio network device: names and errors, attaching, offloads, and real
 * frames through a tap in a network namespace of its own: the test plays
 * the guest, asks for 192.0.2.1 with ARP and pings it (once with the
 * checksum left to the host through NEEDS_CSUM), and receives the kernel's
 * answers through the receive queue.
 *
 * main() forks; the child moves into a new network namespace
 * (unshare(CLONE_NEWNET)) and runs the tests there, so the host's network
 * is never touched.  Without the privilege for that, or without
 * /dev/net/tun, every test is skipped and says why ("SKIPPED: ...").
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <netinet/in.h>
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
#include <sys/wait.h>
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
#define RX_BUFS 64u
#define RX_BUF_LEN 2048u
#define RXQ VIRTIO_NET_RX_QUEUE
#define TXQ VIRTIO_NET_TX_QUEUE
#define HDR VIRTIO_NET_HDR_LEN
#define F(bit) (1ull << (bit))
#define TAP_IP "192.0.2.1"
#define GUEST_IP "192.0.2.2"

static const char *skip_reason; /* set in the child when the tests cannot run */

static const uint8_t guest_mac[6] = {0x52, 0x54, 0x00, 0x0a, 0x0b, 0x0c};

#define SKIP_UNLESS_READY()                                                                        \
    do {                                                                                           \
        if (skip_reason) {                                                                         \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* Bring @ifname up as @ip/24 (ioctls on an AF_INET socket). */
static void if_up(const char *ifname, const char *ip)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;

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

    /* Less noise on the wire: no IPv6 autoconfiguration on the tap (best effort). */
    char path[96];
    snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = write(fd, "1", 1);
        (void)n;
        close(fd);
    }
}

/* --- the back end alone ---------------------------------------------------------------- */

static void test_tap_bad_names(void **state)
{
    net_backend_t *be = NULL;

    SKIP_UNLESS_READY();
    assert_int_equal(tap_open("a-name-too-long-for-linux", &be), -ENAMETOOLONG);
    assert_int_equal(tap_open("bad/name", &be), -EINVAL);
    assert_int_equal(tap_open("tap0", NULL), -EINVAL);
    assert_null(be);
}

static void test_tap_open_and_attach(void **state)
{
    net_backend_t *be = NULL, *again = NULL, *picked = NULL;

    SKIP_UNLESS_READY();
    assert_int_equal(tap_open("vmmkit-t0", &be), 0);
    assert_string_equal(be->name, "vmmkit-t0");
    assert_string_equal(be->ops->kind, "tap");
    assert_null(be->ops->peek_len);
    assert_int_equal(be->offloads, NET_OFFLOAD_ALL);
    assert_true(fcntl(be->fd, F_GETFL) & O_NONBLOCK);
    assert_true(fcntl(be->fd, F_GETFD) & FD_CLOEXEC);
    assert_true(if_nametoindex("vmmkit-t0") > 0);

    /* Offloads the kernel takes, and back to none. */
    assert_int_equal(be->ops->set_offloads(be, NET_OFFLOAD_ALL), 0);
    assert_int_equal(be->ops->set_offloads(be, NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO6), 0);
    assert_int_equal(be->ops->set_offloads(be, 0), 0);

    /* A single-queue tap has one user. */
    assert_int_equal(tap_open("vmmkit-t0", &again), -EBUSY);

    /* Nothing to read yet (the interface is down). */
    uint8_t buf[64];
    struct iovec iov = {buf, sizeof(buf)};
    assert_int_equal(be->ops->recv(be, &iov, 1), -EAGAIN);

    /* The kernel picks a name. */
    assert_int_equal(tap_open(NULL, &picked), 0);
    assert_true(strncmp(picked->name, "tap", 3) == 0);
    net_backend_destroy(picked);

    net_backend_destroy(be);
    /* Not persistent: the interface went with its last user. */
    assert_int_equal(if_nametoindex("vmmkit-t0"), 0);
}

/* Without CAP_NET_ADMIN (and without access to /dev/net/tun) the error says so. */
static void test_tap_unprivileged(void **state)
{
    int status;

    SKIP_UNLESS_READY();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        net_backend_t *be = NULL;
        if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
            setresuid(65534, 65534, 65534) < 0) {
            _exit(2);
        }
        int rc = tap_open("vmmkit-t9", &be);
        _exit(rc == -EPERM || rc == -EACCES ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* --- frames through the device --------------------------------------------------------- */

struct rig {
    vm_t *vm;
    iothread_t *io;
    net_backend_t *be;
    virtio_net_t *net;
    struct vguest g;
    uint64_t rx_gpa[QSIZE];
    uint8_t tap_mac[6];
};

static void rig_post_rx(struct rig *r)
{
    uint16_t head;
    uint64_t gpa = vg_add_one(&r->g, RXQ, RX_BUF_LEN, true, &head);
    assert_true(gpa != 0);
    r->rx_gpa[head] = gpa;
}

static void rig_up(struct rig *r, const char *ifname, uint64_t features)
{
    memset(r, 0, sizeof(*r));
    r->vm = fake_vm_create();
    assert_non_null(r->vm);
    assert_int_equal(vm_ram_add(r->vm, RAM_BASE, RAM_SIZE), 0);
    r->io = iothread_create("tap-test-io");
    assert_non_null(r->io);
    assert_int_equal(tap_open(ifname, &r->be), 0);
    if_up(ifname, TAP_IP);

    virtio_net_config_t cfg = {.has_mac = true, .backend = r->be, .io = r->io};
    memcpy(cfg.mac, guest_mac, 6);
    assert_int_equal(virtio_net_create(r->vm, 0, &cfg, &r->net), 0);
    vg_init(&r->g, r->vm, virtio_net_device(r->net), RAM_BASE, RAM_SIZE);
    assert_true(vg_negotiate(&r->g, F(VIRTIO_F_VERSION_1) | features));
    vg_setup_queue(&r->g, RXQ, QSIZE);
    vg_setup_queue(&r->g, TXQ, QSIZE);
    vg_driver_ok(&r->g);
    assert_int_equal(vg_status(&r->g) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
    /* TUNSETOFFLOAD for what the driver took did not fail. */
    assert_int_equal(virtio_net_stat(r->net, VIRTIO_NET_STAT_BACKEND_ERRORS), 0);
    for (unsigned int i = 0; i < RX_BUFS; i++) {
        rig_post_rx(r);
    }
    vg_kick(&r->g, RXQ);
}

static void rig_down(struct rig *r)
{
    virtio_net_destroy(r->net);
    iothread_destroy(r->io);
    net_backend_destroy(r->be);
    vm_destroy(r->vm);
}

/* Transmit header @h + @len frame bytes and wait for the chain to come back. */
static void rig_send(struct rig *r, const virtio_net_hdr_t *h, const uint8_t *frame, size_t len)
{
    uint8_t buf[2048];
    uint32_t id = UINT32_MAX, used_len = 0;
    bool done = false;

    memcpy(buf, h, HDR);
    memcpy(buf + HDR, frame, len);
    struct vg_buf b = {.gpa = vg_alloc(&r->g, HDR + len), .len = (uint32_t)(HDR + len)};
    assert_true(b.gpa != 0);
    memcpy(vg_hva(&r->g, b.gpa, b.len), buf, b.len);
    uint16_t head = vg_add_chain(&r->g, TXQ, &b, 1);
    vg_kick(&r->g, TXQ);
    for (int i = 0; i < 5000 && !(done = vg_get_used(&r->g, TXQ, &id, &used_len)); i++) {
        usleep(1000);
    }
    assert_true(done);
    assert_int_equal(id, head);
}

/*
 * The next received frame within 5 s, reassembled from its merged buffers
 * (each buffer is posted again); its header in *@h.  Returns the frame's
 * length, or 0 on timeout.
 */
static size_t rig_recv(struct rig *r, virtio_net_hdr_t *h, uint8_t *frame, size_t max)
{
    uint32_t id = 0, len = 0;
    size_t got = 0;
    unsigned int nbufs = 1;

    for (unsigned int i = 0; i < nbufs; i++) {
        int waited = 0;
        while (!vg_get_used(&r->g, RXQ, &id, &len)) {
            if (++waited > 5000) {
                return 0;
            }
            usleep(1000);
        }
        uint8_t *p = vg_hva(&r->g, r->rx_gpa[id], len);
        assert_non_null(p);
        if (i == 0) {
            assert_true(len >= HDR);
            memcpy(h, p, HDR);
            nbufs = le16toh(h->num_buffers);
            assert_true(nbufs >= 1);
            p += HDR;
            len -= HDR;
        }
        assert_true(got + len <= max);
        memcpy(frame + got, p, len);
        got += len;
        rig_post_rx(r);
    }
    vg_kick(&r->g, RXQ);
    return got;
}

static uint16_t ip_checksum(const uint8_t *p, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    }
    if (len & 1) {
        sum += (uint32_t)p[len - 1] << 8;
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* An ARP packet (@op 1 request, 2 reply) from the guest. */
static size_t make_arp(uint8_t *f, uint16_t op, const uint8_t *dst_mac, const char *target_ip)
{
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    memcpy(f, op == 1 ? bcast : dst_mac, 6);
    memcpy(f + 6, guest_mac, 6);
    put16(f + 12, 0x0806);
    put16(f + 14, 1);      /* Ethernet */
    put16(f + 16, 0x0800); /* IPv4 */
    f[18] = 6;
    f[19] = 4;
    put16(f + 20, op);
    memcpy(f + 22, guest_mac, 6);
    inet_pton(AF_INET, GUEST_IP, f + 28);
    memcpy(f + 32, op == 1 ? (const uint8_t[6]){0} : dst_mac, 6);
    inet_pton(AF_INET, target_ip, f + 38);
    memset(f + 42, 0, 18); /* pad to the 60-byte minimum */
    return 60;
}

/* An ICMP echo request to the tap; the checksum is left out when @partial. */
static size_t make_ping(uint8_t *f, const uint8_t *dst_mac, uint16_t seq, bool partial)
{
    const size_t payload = 32, icmp_len = 8 + payload, ip_len = 20 + icmp_len;
    uint8_t *ip = f + 14, *icmp = ip + 20;

    memcpy(f, dst_mac, 6);
    memcpy(f + 6, guest_mac, 6);
    put16(f + 12, 0x0800);
    memset(ip, 0, 20);
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)ip_len);
    put16(ip + 4, seq);
    put16(ip + 6, 0x4000); /* DF */
    ip[8] = 64;
    ip[9] = 1; /* ICMP */
    inet_pton(AF_INET, GUEST_IP, ip + 12);
    inet_pton(AF_INET, TAP_IP, ip + 16);
    put16(ip + 10, ip_checksum(ip, 20));
    icmp[0] = 8; /* echo request */
    icmp[1] = 0;
    put16(icmp + 2, 0);
    put16(icmp + 4, 0x1234);
    put16(icmp + 6, seq);
    for (size_t i = 0; i < payload; i++) {
        icmp[8 + i] = (uint8_t)(i + seq);
    }
    if (!partial) {
        put16(icmp + 2, ip_checksum(icmp, icmp_len));
    }
    return 14 + ip_len;
}

/* Receive until @want says yes (answering the kernel's ARP questions on the way). */
static size_t rig_recv_until(struct rig *r, bool (*want)(const uint8_t *, size_t, const void *),
                             const void *arg, uint8_t *frame, size_t max)
{
    for (int tries = 0; tries < 50; tries++) {
        virtio_net_hdr_t h;
        size_t len = rig_recv(r, &h, frame, max);
        if (len == 0) {
            return 0;
        }
        if (want(frame, len, arg)) {
            return len;
        }
        /* The kernel asking who has GUEST_IP: answer, then keep waiting. */
        if (len >= 42 && get16(frame + 12) == 0x0806 && get16(frame + 20) == 1) {
            uint8_t ip[4], reply[64];
            inet_pton(AF_INET, GUEST_IP, ip);
            if (memcmp(frame + 38, ip, 4) == 0) {
                virtio_net_hdr_t none = {0};
                size_t n = make_arp(reply, 2, frame + 6, TAP_IP);
                rig_send(r, &none, reply, n);
            }
        }
    }
    return 0;
}

static bool is_arp_reply(const uint8_t *f, size_t len, const void *arg)
{
    uint8_t ip[4];
    inet_pton(AF_INET, TAP_IP, ip);
    return len >= 42 && get16(f + 12) == 0x0806 && get16(f + 20) == 2 &&
           memcmp(f + 28, ip, 4) == 0 && memcmp(f + 32, guest_mac, 6) == 0;
}

static bool is_echo_reply(const uint8_t *f, size_t len, const void *arg)
{
    uint16_t seq = *(const uint16_t *)arg;
    return len >= 14 + 20 + 8 && get16(f + 12) == 0x0800 && f[14 + 9] == 1 && f[14 + 20] == 0 &&
           get16(f + 14 + 20 + 4) == 0x1234 && get16(f + 14 + 20 + 6) == seq;
}

static void ping(struct rig *r, uint16_t seq, bool partial)
{
    uint8_t frame[2048];
    virtio_net_hdr_t h = {0};

    if (partial) {
        /* 5.1.6.2: the host completes the ICMP checksum (no pseudo header: 0 to start). */
        h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
        h.csum_start = htole16(14 + 20);
        h.csum_offset = htole16(2);
    }
    size_t n = make_ping(frame, r->tap_mac, seq, partial);
    rig_send(r, &h, frame, n);
    size_t len = rig_recv_until(r, is_echo_reply, &seq, frame, sizeof(frame));
    assert_true(len >= 14 + 20 + 8 + 32);
    /* The reply's payload is ours; its checksum is whole. */
    for (size_t i = 0; i < 32; i++) {
        assert_int_equal(frame[14 + 20 + 8 + i], (uint8_t)(i + seq));
    }
    assert_int_equal(ip_checksum(frame + 14 + 20, get16(frame + 14 + 2) - 20u), 0);
}

static void exchange(uint64_t features, const char *ifname)
{
    struct rig r;
    uint8_t frame[2048];
    virtio_net_hdr_t h = {0};

    rig_up(&r, ifname, features);
    size_t n = make_arp(frame, 1, NULL, TAP_IP);
    rig_send(&r, &h, frame, n);
    size_t len = rig_recv_until(&r, is_arp_reply, NULL, frame, sizeof(frame));
    assert_true(len >= 42);
    memcpy(r.tap_mac, frame + 22, 6); /* the sender's hardware address */

    ping(&r, 1, false);
    if (features & F(VIRTIO_NET_F_CSUM)) {
        ping(&r, 2, true);
    }
    assert_true(virtio_net_stat(r.net, VIRTIO_NET_STAT_TX_FRAMES) >= 2);
    assert_true(virtio_net_stat(r.net, VIRTIO_NET_STAT_RX_FRAMES) >= 2);
    assert_int_equal(virtio_net_stat(r.net, VIRTIO_NET_STAT_TX_BAD_HEADER), 0);
    assert_int_equal(virtio_net_stat(r.net, VIRTIO_NET_STAT_BACKEND_ERRORS), 0);
    rig_down(&r);
}

/* Every offload on, merged receive buffers (the tap cannot peek: room is gathered). */
static void test_tap_exchange_offloads(void **state)
{
    SKIP_UNLESS_READY();
    exchange(F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS) | F(VIRTIO_NET_F_MRG_RXBUF) |
                 F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_HOST_TSO4) |
                 F(VIRTIO_NET_F_HOST_TSO6) | F(VIRTIO_NET_F_GUEST_TSO4) |
                 F(VIRTIO_NET_F_GUEST_TSO6),
             "vmmkit-t1");
}

/* A minimal driver: no offloads, one buffer a frame. */
static void test_tap_exchange_plain(void **state)
{
    SKIP_UNLESS_READY();
    exchange(F(VIRTIO_NET_F_MAC), "vmmkit-t2");
}

/* Into a network namespace of our own; NULL, or why the tests cannot run. */
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
        cmocka_unit_test(test_tap_bad_names),      cmocka_unit_test(test_tap_open_and_attach),
        cmocka_unit_test(test_tap_unprivileged),   cmocka_unit_test(test_tap_exchange_offloads),
        cmocka_unit_test(test_tap_exchange_plain),
    };
    int status;

    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        vmm_log_set_level(VMM_LOG_ERR);
        skip_reason = enter_netns();
        if (skip_reason) {
            fprintf(stderr, "SKIPPED: test_tap: %s\n", skip_reason);
            printf("SKIPPED: test_tap: %s\n", skip_reason);
            fflush(NULL);
        }
        _exit(cmocka_run_group_tests(tests, NULL, NULL));
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            perror("waitpid");
            return 1;
        }
    }
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "test_tap: the test process died of signal %d\n", WTERMSIG(status));
        return 1;
    }
    return WEXITSTATUS(status);
}
