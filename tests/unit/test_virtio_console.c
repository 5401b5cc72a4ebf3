/*
 * test_virtio_console.c - the virtio console device (src/virtio/console.c)
 * driven like a guest would over hand-built rings in fake-backend RAM,
 * with stdio chardevs on pipes as the host side: output, input through the
 * chardev's thread including the "no buffer yet" retry and input before
 * DRIVER_OK, emergency writes, the MULTIPORT control protocol, and chains,
 * control messages and rings a hostile driver gets wrong.
 */
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <vmmkit/chardev.h>
#include <vmmkit/log.h>
#include <vmmkit/virtio_console.h>

#include "fake_hv.h"
#include "virtio_guest.h"

#define MiB (1ull << 20)
#define RAM_BASE 0x40000000ull
#define RAM_SIZE (4 * MiB)
#define QSIZE 16u
#define VERSION_1 (1ull << VIRTIO_F_VERSION_1)
#define MULTIPORT (1ull << VIRTIO_CONSOLE_F_MULTIPORT)
#define NPORTS 3u

/* Control events (5.3.6.2). */
enum {
    DEVICE_READY = 0,
    DEVICE_ADD = 1,
    PORT_READY = 3,
    CONSOLE_PORT = 4,
    RESIZE = 5,
    PORT_OPEN = 6,
    PORT_NAME = 7,
};

/* One host side: a chardev whose input and output are pipes. */
struct host {
    chardev_t *cd;
    int in_w;  /* the test types here */
    int out_r; /* the guest's output arrives here */
    int in_r, out_w;
};

struct fixture {
    vm_t *vm;
    virtio_console_t *con;
    struct host host[NPORTS];
    unsigned int nr_ports;
    struct vguest g;
    uint64_t buf_of_head[VIRTIO_MAX_QUEUES][QSIZE]; /* gpa of each posted one-buffer chain */
};

static void host_open(struct host *h, bool with_input)
{
    int in[2], out[2];
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    h->in_r = in[0];
    h->in_w = in[1];
    h->out_r = out[0];
    h->out_w = out[1];
    h->cd = chardev_stdio_open(with_input ? h->in_r : -1, h->out_w);
    assert_non_null(h->cd);
}

static void host_close(struct host *h)
{
    chardev_close(h->cd); /* joins the input thread before the console goes */
    close(h->in_r);
    close(h->in_w);
    close(h->out_r);
    close(h->out_w);
}

static struct fixture *fixture_new(unsigned int nr_ports, const char *const *names)
{
    vmm_log_set_level(VMM_LOG_ERR); /* the tests provoke warnings on purpose */
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->vm = fake_vm_create();
    assert_non_null(f->vm);
    assert_int_equal(vm_ram_add(f->vm, RAM_BASE, RAM_SIZE), 0);
    f->nr_ports = nr_ports;
    virtio_console_port_config_t cfg[NPORTS];
    for (unsigned int i = 0; i < nr_ports; i++) {
        host_open(&f->host[i], true);
        cfg[i] =
            (virtio_console_port_config_t){.cd = f->host[i].cd, .name = names ? names[i] : NULL};
    }
    if (nr_ports == 1 && !names) {
        assert_int_equal(virtio_console_create(f->vm, 0, f->host[0].cd, &f->con), 0);
    } else {
        assert_int_equal(virtio_console_create_ports(f->vm, 0, cfg, nr_ports, &f->con), 0);
    }
    vg_init(&f->g, f->vm, virtio_console_device(f->con), RAM_BASE, RAM_SIZE);
    return f;
}

static int setup_single(void **state)
{
    *state = fixture_new(1, NULL);
    return 0;
}

static int setup_multi(void **state)
{
    static const char *const names[NPORTS] = {NULL, "org.test.one", NULL};
    *state = fixture_new(NPORTS, names);
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    for (unsigned int i = 0; i < f->nr_ports; i++) {
        host_close(&f->host[i]);
    }
    virtio_console_destroy(f->con);
    vm_destroy(f->vm);
    free(f);
    return 0;
}

static uint64_t cstat(struct fixture *f, virtio_console_stat_t s)
{
    return virtio_console_stat(f->con, s);
}

/* Negotiate @features, enable @nqueues queues, DRIVER_OK. */
static void bring_up(struct fixture *f, uint64_t features, unsigned int nqueues)
{
    assert_true(vg_negotiate(&f->g, VERSION_1 | features));
    for (unsigned int i = 0; i < nqueues; i++) {
        vg_setup_queue(&f->g, i, QSIZE);
    }
    vg_driver_ok(&f->g);
    assert_int_equal(vg_status(&f->g) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
}

/* Post a @len-byte device-writable buffer on queue @qi (remembered by head). */
static uint16_t post_rx(struct fixture *f, unsigned int qi, uint32_t len)
{
    uint16_t head;
    uint64_t gpa = vg_add_one(&f->g, qi, len, true, &head);
    assert_true(gpa != 0);
    f->buf_of_head[qi][head] = gpa;
    return head;
}

/* Post @len bytes of @data as one device-readable buffer on queue @qi. */
static uint16_t post_tx(struct fixture *f, unsigned int qi, const void *data, uint32_t len)
{
    uint16_t head;
    uint64_t gpa = vg_add_one(&f->g, qi, len, false, &head);
    memcpy(vg_hva(&f->g, gpa, len), data, len);
    return head;
}

/* Wait up to 5 s for a used entry on queue @qi. */
static bool wait_used(struct fixture *f, unsigned int qi, uint32_t *id, uint32_t *len)
{
    for (int i = 0; i < 5000; i++) {
        if (vg_get_used(&f->g, qi, id, len)) {
            return true;
        }
        usleep(1000);
    }
    return false;
}

/* Wait up to 5 s for counter @s to reach @n. */
static bool wait_stat(struct fixture *f, virtio_console_stat_t s, uint64_t n)
{
    for (int i = 0; i < 5000; i++) {
        if (cstat(f, s) >= n) {
            return true;
        }
        usleep(1000);
    }
    return false;
}

/* Wait up to 5 s for @n interrupts on queue @qi: the I/O thread publishes the used entry first. */
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

/* Read what the guest wrote to host @h (up to @max bytes, waiting up to 1 s for @want). */
static size_t host_read(struct host *h, char *buf, size_t max, size_t want)
{
    size_t got = 0;
    for (int i = 0; i < 1000 && got < want; i++) {
        ssize_t n = read(h->out_r, buf + got, max - got);
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        usleep(1000);
    }
    return got;
}

static void host_type(struct host *h, const char *s)
{
    assert_int_equal(write(h->in_w, s, strlen(s)), (ssize_t)strlen(s));
}

/* --- single port --------------------------------------------------------- */

static void test_identity(void **state)
{
    struct fixture *f = *state;
    virtio_device_t *vdev = virtio_console_device(f->con);
    uint32_t cfg[3];

    assert_int_equal(vdev->ops->device_id, VIRTIO_ID_CONSOLE);
    assert_int_equal(vdev->ops->num_queues, 2);
    assert_string_equal(vdev->name, "virtio-console0");
    assert_true(vdev->device_features & (1ull << VIRTIO_CONSOLE_F_EMERG_WRITE));
    assert_false(vdev->device_features & MULTIPORT);
    assert_false(vdev->device_features & (1ull << VIRTIO_CONSOLE_F_SIZE));
    pthread_mutex_lock(&vdev->lock);
    virtio_device_config_read(vdev, 0, &cfg[0], 4);
    virtio_device_config_read(vdev, 4, &cfg[1], 4);
    virtio_device_config_read(vdev, 8, &cfg[2], 4);
    pthread_mutex_unlock(&vdev->lock);
    assert_int_equal(cfg[0], 0);          /* cols, rows: no F_SIZE */
    assert_int_equal(le32toh(cfg[1]), 1); /* max_nr_ports */
    assert_int_equal(cfg[2], 0);          /* emerg_wr reads 0 */

    virtio_console_t *c;
    virtio_console_port_config_t bad = {.cd = NULL};
    assert_int_equal(virtio_console_create(NULL, 0, f->host[0].cd, &c), -EINVAL);
    assert_int_equal(virtio_console_create(f->vm, 0, NULL, &c), -EINVAL);
    assert_int_equal(virtio_console_create_ports(f->vm, 0, &bad, 1, &c), -EINVAL);
    virtio_console_port_config_t many = {.cd = f->host[0].cd};
    assert_int_equal(virtio_console_create_ports(f->vm, 0, &many, 0, &c), -EINVAL);
    assert_int_equal(virtio_console_create_ports(f->vm, 0, &many, VIRTIO_CONSOLE_MAX_PORTS + 1, &c),
                     -EINVAL);
    char longname[VIRTIO_CONSOLE_NAME_MAX + 2];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    virtio_console_port_config_t named = {.cd = f->host[0].cd, .name = longname};
    assert_int_equal(virtio_console_create_ports(f->vm, 0, &named, 1, &c), -EINVAL);
    assert_string_equal(virtio_console_stat_name(VIRTIO_CONSOLE_STAT_CTRL_SMALL), "ctrl-small");
    assert_string_equal(virtio_console_stat_name(VIRTIO_CONSOLE_STAT_COUNT), "unknown");
    virtio_console_destroy(NULL);
}

static void test_tx_to_chardev(void **state)
{
    struct fixture *f = *state;
    char out[64] = {0};
    uint32_t id = 0, len = 0;
    bring_up(f, 0, 2);

    /* "hello" in two buffers, then " world" in another chain. */
    struct vg_buf b[2] = {{vg_alloc(&f->g, 3), 3, false}, {vg_alloc(&f->g, 2), 2, false}};
    memcpy(vg_hva(&f->g, b[0].gpa, 3), "hel", 3);
    memcpy(vg_hva(&f->g, b[1].gpa, 2), "lo", 2);
    uint16_t h1 = vg_add_chain(&f->g, 1, b, 2);
    uint16_t h2 = post_tx(f, 1, " world", 6);
    vg_kick(&f->g, 1);

    assert_int_equal(host_read(&f->host[0], out, sizeof(out), 11), 11);
    assert_string_equal(out, "hello world");
    assert_true(vg_get_used(&f->g, 1, &id, &len));
    assert_int_equal(id, h1);
    assert_int_equal(len, 0);
    assert_true(vg_get_used(&f->g, 1, &id, &len));
    assert_int_equal(id, h2);
    assert_int_equal(len, 0);
    assert_int_equal(vg_used_irqs(&f->g, 1), 1);
    assert_int_equal(cstat(f, VIRTIO_CONSOLE_STAT_TX_BYTES), 11);
}

static void test_tx_with_writable_buffer(void **state)
{
    struct fixture *f = *state;
    char out[16] = {0};
    uint32_t id = 0, len = 0;
    bring_up(f, 0, 2);

    struct vg_buf b[2] = {{vg_alloc(&f->g, 2), 2, false}, {vg_alloc(&f->g, 8), 8, true}};
    memcpy(vg_hva(&f->g, b[0].gpa, 2), "ok", 2);
    uint16_t h = vg_add_chain(&f->g, 1, b, 2);
    vg_kick(&f->g, 1);
    assert_int_equal(host_read(&f->host[0], out, sizeof(out), 2), 2);
    assert_string_equal(out, "ok");
    assert_true(vg_get_used(&f->g, 1, &id, &len));
    assert_int_equal(id, h);
    assert_int_equal(len, 0);
    assert_int_equal(cstat(f, VIRTIO_CONSOLE_STAT_WRONG_DIRECTION), 1);
}

static void test_rx_through_chardev(void **state)
{
    struct fixture *f = *state;
    uint32_t id = 0, len = 0;
    bring_up(f, 0, 2);

    uint16_t h = post_rx(f, 0, 16);
    vg_kick(&f->g, 0);
    host_type(&f->host[0], "abc");
    assert_true(wait_used(f, 0, &id, &len));
    assert_int_equal(id, h);
    assert_int_equal(len, 3);
    assert_memory_equal(vg_hva(&f->g, f->buf_of_head[0][h], 3), "abc", 3);
    assert_true(wait_irqs(f, 0, 1));
    assert_true(wait_stat(f, VIRTIO_CONSOLE_STAT_RX_BYTES, 3));
    assert_int_equal(cstat(f, VIRTIO_CONSOLE_STAT_RX_BYTES), 3);
}

/* No receive buffer yet: the chardev keeps the input until the guest posts one. */
static void test_rx_waits_for_buffers(void **state)
{
    struct fixture *f = *state;
    uint32_t id = 0, len = 0;
    bring_up(f, 0, 2);

    host_type(&f->host[0], "xyz");
    assert_true(wait_stat(f, VIRTIO_CONSOLE_STAT_RX_HELD, 1));
    usleep(20000);
    /* Held, not retried in a loop. */
    assert_int_equal(cstat(f, VIRTIO_CONSOLE_STAT_RX_HELD), 1);

    uint16_t h1 = post_rx(f, 0, 2); /* room for two of the three bytes */
    vg_kick(&f->g, 0);
    assert_true(wait_used(f, 0, &id, &len));
    assert_int_equal(id, h1);
    assert_int_equal(len, 2);
    assert_memory_equal(vg_hva(&f->g, f->buf_of_head[0][h1], 2), "xy", 2);
    assert_true(wait_stat(f, VIRTIO_CONSOLE_STAT_RX_HELD, 2));

    uint16_t h2 = post_rx(f, 0, 8);
    vg_kick(&f->g, 0);
    assert_true(wait_used(f, 0, &id, &len));
    assert_int_equal(id, h2);
    assert_int_equal(len, 1);
    assert_memory_equal(vg_hva(&f->g, f->buf_of_head[0][h2], 1), "z", 1);
    assert_true(wait_stat(f, VIRTIO_CONSOLE_STAT_RX_BYTES, 3));
    assert_int_equal(cstat(f, VIRTIO_CONSOLE_STAT_RX_BYTES), 3);
}

/* Input typed before DRIVER_OK waits for it. */
static void test_rx_held_until_driver_ok(void **state)
{
    struct fixture *f = *state;
    uint32_t id = 0, len = 0;

    host_type(&f->host[0], "early");
    assert_true(wait_stat(f, VIRTIO_CONSOLE_STAT_RX_HELD, 1));
    assert_true(vg_negotiate(&f->g, VERSION_1));
    vg_setup_queue(&f->g, 0, QSIZE);
    vg_setup_queue(&f->g, 1, QSIZE);
    uint16_t h = post_rx(f, 0, 16);
    usleep(20000);
    assert_int_equal(vg_used_idx(&f->g, 0), 0);
    vg_driver_ok(&f->g);
    assert_true(wait_used(f, 0, &id, &len));
    assert_int_equal(id, h);
    assert_int_equal(len, 5);
    assert_memory_equal(vg_hva(&f->g, f->buf_of_head[0][h], 5), "early", 5);
}

/* Input held across a device reset is delivered after the next DRIVER_OK. */
static void test_rx_held_across_reset(void **state)
{
    struct fixture *f = *state;
    uint32_t id = 0, len = 0;
    bring_up(f, 0, 2);

    vg_write_status(&f->g, 0);
    host_type(&f->host[0], "again");
    assert_true(wait_stat(f, VIRTIO_CONSOLE_STAT_RX_HELD, 1));
    bring_up(f, 0, 2);
    uint16_t h = post_rx(f, 0, 16);
    vg_kick(&f->g, 0);
    assert_true(wait_used(f, 0, &id, &len));
    assert_int_equal(id, h);
    assert_int_equal(len, 5);
}

static void test_rx_direct_shapes(void **state)
{
    struct fixture *f = *state;
    uint32_t id = 0, len = 0;
    bring_up(f, 0, 2);

    /* A readable-only chain, then readable + writable, then a good one. */
    uint16_t h1 = post_tx(f, 0, "zz", 2);
    struct vg_buf b[2] = {{vg_alloc(&f->g, 4), 4, false}, {vg_alloc(&f->g, 4), 4, true}};
    uint16_t h2 = vg_add_chain(&f->g, 0, b, 2);
    uint16_t h3 = post_rx(f, 0, 64);

    assert_int_equal(virtio_console_receive(f->con, 0, "0123456789", 10), 10);
    assert_true(vg_get_used(&f->g, 0, &id, &len));
    assert_int_equal(id, h1);
    assert_int_equal(len, 0);
    assert_true(vg_get_used(&f->g, 0, &id, &len));
    assert_int_equal(id, h2);
    assert_int_equal(len, 4);
    assert_memory_equal(vg_hva(&f->g, b[1].gpa, 4), "0123", 4);
    assert_memory_equal(vg_hva(&f->g, b[0].gpa, 4), "\0\0\0\0", 4); /* readable untouched */
    assert_true(vg_get_used(&f->g, 0, &id, &len));
    assert_int_equal(id, h3);
    assert_int_equal(len, 6);
    assert_int_equal(cstat(f, VIRTIO_CONSOLE_STAT_RX_NO_WRITABLE), 1);
    assert_int_equal(cstat(f, VIRTIO_CONSOLE_STAT_WRONG_DIRECTION), 2);

    /* Port out of range, empty input. */
    assert_int_equal(virtio_console_receive(f->con, 1, "a", 1), 0);
    assert_int_equal(virtio_console_receive(f->con, 0, "a", 0), 0);
    assert_int_equal(virtio_console_receive(NULL, 0, "a", 1), 0);
}

static void test_emergency_write(void **state)
{
    struct fixture *f = *state;
    virtio_device_t *vdev = virtio_console_device(f->con);
    char out[8] = {0};
    uint32_t v = htole32('E');
    uint8_t b = '!';

    /* Before any set-up (5.3.5.1). */
    pthread_mutex_lock(&vdev->lock);
    virtio_device_config_write(vdev, 8, &v, 4);
    virtio_device_config_write(vdev, 8, &b, 1);
    virtio_device_config_write(vdev, 4, &v, 4); /* max_nr_ports: read-only */
    pthread_mutex_unlock(&vdev->lock);
    assert_int_equal(host_read(&f->host[0], out, sizeof(out), 2), 2);
    assert_string_equal(out, "E!");
    assert_int_equal(cstat(f, VIRTIO_CONSOLE_STAT_EMERG_BYTES), 2);
    assert_int_equal(cstat(f, VIRTIO_CONSOLE_STAT_CONFIG_WRITE), 1);
}

static void test_broken_tx_ring(void **state)
{
    struct fixture *f = *state;
    bring_up(f, 0, 2);
    vg_set_avail_idx(&f->g, 1, 1000);
    vg_kick(&f->g, 1);
    assert_true(vg_status(&f->g) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    assert_int_equal(cstat(f, VIRTIO_CONSOLE_STAT_RING_BROKEN), 1);
    assert_int_equal(f->g.config_irqs, 1);
    /* Input is held while the device needs a reset. */
    assert_int_equal(virtio_console_receive(f->con, 0, "a", 1), 0);
}

static void test_bad_tx_chain_refused(void **state)
{
    struct fixture *f = *state;
    char out[8] = {0};
    uint32_t id = 0, len = 0;
    bring_up(f, 0, 2);

    struct vg_buf outside = {0x10000000ull, 4, false};
    uint16_t h1 = vg_add_chain(&f->g, 1, &outside, 1);
    uint16_t h2 = post_tx(f, 1, "ok", 2);
    vg_kick(&f->g, 1);
    assert_true(vg_get_used(&f->g, 1, &id, &len));
    assert_int_equal(id, h1);
    assert_true(vg_get_used(&f->g, 1, &id, &len));
    assert_int_equal(id, h2);
    assert_int_equal(host_read(&f->host[0], out, sizeof(out), 2), 2);
    assert_string_equal(out, "ok");
    assert_int_equal(cstat(f, VIRTIO_CONSOLE_STAT_REFUSED), 1);
}

/* The host types 4 KiB while the guest posts small buffers and writes output. */
struct typist {
    int fd;
    size_t len;
};

static uint8_t pattern_byte(size_t i)
{
    return (uint8_t)(i % 251u);
}

static void *typist_main(void *arg)
{
    struct typist *t = arg;
    uint8_t chunk[100];
    for (size_t off = 0; off < t->len; off += sizeof(chunk)) {
        size_t n = t->len - off < sizeof(chunk) ? t->len - off : sizeof(chunk);
        for (size_t i = 0; i < n; i++) {
            chunk[i] = pattern_byte(off + i);
        }
        if (write(t->fd, chunk, n) != (ssize_t)n) {
            break;
        }
        usleep(100);
    }
    return NULL;
}

static void test_rx_tx_churn(void **state)
{
    struct fixture *f = *state;
    static uint8_t got[4096];
    size_t received = 0;
    unsigned int outstanding = 0, tx_posted = 0;
    char out[256];
    size_t tx_read = 0;
    struct typist t = {.fd = f->host[0].in_w, .len = sizeof(got)};
    pthread_t th;
    bring_up(f, 1ull << VIRTIO_F_RING_EVENT_IDX, 2);

    assert_int_equal(pthread_create(&th, NULL, typist_main, &t), 0);
    for (int spin = 0; spin < 20000 && received < sizeof(got); spin++) {
        uint32_t head, len;
        while (outstanding < QSIZE / 2) {
            post_rx(f, 0, 37);
            outstanding++;
            vg_kick(&f->g, 0);
        }
        while (vg_get_used(&f->g, 0, &head, &len)) {
            assert_true(len <= 37);
            assert_true(received + len <= sizeof(got));
            memcpy(got + received, vg_hva(&f->g, f->buf_of_head[0][head], len), len);
            received += len;
            outstanding--;
        }
        if (tx_posted < 200 && spin % 4 == 0) {
            post_tx(f, 1, "t", 1);
            vg_kick(&f->g, 1);
            tx_posted++;
            while (vg_get_used(&f->g, 1, &head, &len)) {
            }
        }
        ssize_t n = read(f->host[0].out_r, out, sizeof(out));
        if (n > 0) {
            tx_read += (size_t)n;
        }
        usleep(200);
    }
    pthread_join(th, NULL);
    assert_int_equal(received, sizeof(got));
    for (size_t i = 0; i < sizeof(got); i++) {
        assert_int_equal(got[i], pattern_byte(i));
    }
    tx_read += host_read(&f->host[0], out, sizeof(out), tx_posted - tx_read);
    assert_int_equal(tx_read, tx_posted);
    assert_true(wait_stat(f, VIRTIO_CONSOLE_STAT_RX_BYTES, sizeof(got)));
    assert_int_equal(cstat(f, VIRTIO_CONSOLE_STAT_RX_BYTES), sizeof(got));
}

/* --- multiport ----------------------------------------------------------- */

struct ctrl {
    uint32_t id;
    uint16_t event, value;
    char name[80];
};

static void send_ctrl_raw(struct fixture *f, const void *msg, uint32_t len)
{
    post_tx(f, 3, msg, len);
    vg_kick(&f->g, 3);
}

static void send_ctrl(struct fixture *f, uint32_t id, uint16_t event, uint16_t value)
{
    uint8_t raw[8];
    uint32_t i = htole32(id);
    uint16_t e = htole16(event), v = htole16(value);
    memcpy(raw, &i, 4);
    memcpy(raw + 4, &e, 2);
    memcpy(raw + 6, &v, 2);
    send_ctrl_raw(f, raw, 8);
}

/* The next device-to-driver message; false when there is none. */
static bool recv_ctrl(struct fixture *f, struct ctrl *m)
{
    uint32_t head, len;
    if (!vg_get_used(&f->g, 2, &head, &len)) {
        return false;
    }
    assert_true(len >= 8);
    const uint8_t *p = vg_hva(&f->g, f->buf_of_head[2][head], len);
    uint32_t id;
    uint16_t e, v;
    memcpy(&id, p, 4);
    memcpy(&e, p + 4, 2);
    memcpy(&v, p + 6, 2);
    m->id = le32toh(id);
    m->event = le16toh(e);
    m->value = le16toh(v);
    memset(m->name, 0, sizeof(m->name));
    memcpy(m->name, p + 8, len - 8 < sizeof(m->name) - 1 ? len - 8 : sizeof(m->name) - 1);
    return true;
}

static void expect_ctrl(struct fixture *f, uint32_t id, uint16_t event, uint16_t value)
{
    struct ctrl m;
    assert_true(recv_ctrl(f, &m));
    assert_int_equal(m.id, id);
    assert_int_equal(m.event, event);
    assert_int_equal(m.value, value);
}

static void expect_no_ctrl(struct fixture *f)
{
    struct ctrl m;
    assert_false(recv_ctrl(f, &m));
}

/* Multiport up to DEVICE_ADD: ctrl receive buffers posted, DEVICE_READY sent. */
static void multiport_up(struct fixture *f)
{
    bring_up(f, MULTIPORT, 2 * (NPORTS + 1));
    for (int i = 0; i < 8; i++) {
        post_rx(f, 2, 64);
    }
    vg_kick(&f->g, 2);
    expect_no_ctrl(f);
    send_ctrl(f, 0, DEVICE_READY, 1);
    for (uint32_t p = 0; p < NPORTS; p++) {
        expect_ctrl(f, p, DEVICE_ADD, 0);
    }
    expect_no_ctrl(f);
}

static void test_multiport_identity(void **state)
{
    struct fixture *f = *state;
    virtio_device_t *vdev = virtio_console_device(f->con);
    uint32_t max;

    assert_int_equal(vdev->ops->num_queues, 2 * (NPORTS + 1));
    assert_true(vdev->device_features & MULTIPORT);
    pthread_mutex_lock(&vdev->lock);
    virtio_device_config_read(vdev, 4, &max, 4);
    pthread_mutex_unlock(&vdev->lock);
    assert_int_equal(le32toh(max), NPORTS);
}

static void test_multiport_handshake(void **state)
{
    struct fixture *f = *state;
    struct ctrl m;
    uint32_t id = 0, len = 0;
    char out[16] = {0};
    multiport_up(f);

    send_ctrl(f, 0, PORT_READY, 1);
    expect_ctrl(f, 0, CONSOLE_PORT, 1);
    expect_ctrl(f, 0, PORT_OPEN, 1);
    send_ctrl(f, 1, PORT_READY, 1);
    assert_true(recv_ctrl(f, &m));
    assert_int_equal(m.id, 1);
    assert_int_equal(m.event, PORT_NAME);
    assert_string_equal(m.name, "org.test.one");
    expect_ctrl(f, 1, PORT_OPEN, 1);
    send_ctrl(f, 2, PORT_READY, 1);
    expect_ctrl(f, 2, PORT_OPEN, 1);
    expect_no_ctrl(f);

    /* Port 1 (queues 4/5) takes input only once the guest opened it. */
    uint16_t h = post_rx(f, 4, 16);
    vg_kick(&f->g, 4);
    assert_int_equal(virtio_console_receive(f->con, 1, "p1", 2), 0);
    send_ctrl(f, 1, PORT_OPEN, 1);
    assert_int_equal(virtio_console_receive(f->con, 1, "p1", 2), 2);
    assert_true(vg_get_used(&f->g, 4, &id, &len));
    assert_int_equal(id, h);
    assert_int_equal(len, 2);
    assert_memory_equal(vg_hva(&f->g, f->buf_of_head[4][h], 2), "p1", 2);
    send_ctrl(f, 1, PORT_OPEN, 0);
    assert_int_equal(virtio_console_receive(f->con, 1, "p1", 2), 0);

    /* Port 2's output (queue 7) goes to its own chardev. */
    post_tx(f, 7, "two", 3);
    vg_kick(&f->g, 7);
    assert_int_equal(host_read(&f->host[2], out, sizeof(out), 3), 3);
    assert_string_equal(out, "two");
    assert_int_equal(cstat(f, VIRTIO_CONSOLE_STAT_CTRL_UNEXPECTED), 0);
}

/* Port 1's input arrives through its chardev once the guest opens the port. */
static void test_multiport_input_after_open(void **state)
{
    struct fixture *f = *state;
    uint32_t id = 0, len = 0;
    multiport_up(f);
    send_ctrl(f, 1, PORT_READY, 1);
    while (recv_ctrl(f, &(struct ctrl){0})) {
    }

    uint16_t h = post_rx(f, 4, 16);
    vg_kick(&f->g, 4);
    host_type(&f->host[1], "late");
    assert_true(wait_stat(f, VIRTIO_CONSOLE_STAT_RX_HELD, 1));
    send_ctrl(f, 1, PORT_OPEN, 1);
    assert_true(wait_used(f, 4, &id, &len));
    assert_int_equal(id, h);
    assert_int_equal(len, 4);
    assert_memory_equal(vg_hva(&f->g, f->buf_of_head[4][h], 4), "late", 4);
}

static void test_multiport_hostile_control(void **state)
{
    struct fixture *f = *state;
    bring_up(f, MULTIPORT, 2 * (NPORTS + 1));
    post_rx(f, 2, 64);
    vg_kick(&f->g, 2);

    send_ctrl(f, 0, PORT_READY, 1); /* before DEVICE_READY */
    assert_int_equal(cstat(f, VIRTIO_CONSOLE_STAT_CTRL_UNEXPECTED), 1);
    send_ctrl_raw(f, "abcd", 4); /* short */
    assert_int_equal(cstat(f, VIRTIO_CONSOLE_STAT_CTRL_SHORT), 1);
    send_ctrl(f, 0, RESIZE, 0); /* the device's event */
    send_ctrl(f, 0, 0x7777, 0);
    assert_int_equal(cstat(f, VIRTIO_CONSOLE_STAT_CTRL_UNKNOWN), 2);
    expect_no_ctrl(f);

    send_ctrl(f, 0, DEVICE_READY, 1);
    expect_ctrl(f, 0, DEVICE_ADD, 0); /* one buffer: one message so far */
    expect_no_ctrl(f);
    send_ctrl(f, 0, DEVICE_READY, 1); /* again */
    assert_int_equal(cstat(f, VIRTIO_CONSOLE_STAT_CTRL_UNEXPECTED), 2);
    send_ctrl(f, 99, PORT_READY, 1);
    send_ctrl(f, 0xffffffffu, PORT_OPEN, 1);
    assert_int_equal(cstat(f, VIRTIO_CONSOLE_STAT_CTRL_BAD_ID), 2);
    send_ctrl(f, 2, PORT_OPEN, 1); /* port 2 not ready */
    assert_int_equal(cstat(f, VIRTIO_CONSOLE_STAT_CTRL_UNEXPECTED), 3);

    /* A buffer too small keeps the message for the next one. */
    uint16_t small = post_rx(f, 2, 4);
    vg_kick(&f->g, 2);
    uint32_t id = 0, len = 0;
    assert_true(vg_get_used(&f->g, 2, &id, &len));
    assert_int_equal(id, small);
    assert_int_equal(len, 0);
    assert_int_equal(cstat(f, VIRTIO_CONSOLE_STAT_CTRL_SMALL), 1);
    post_rx(f, 2, 64);
    post_rx(f, 2, 64);
    vg_kick(&f->g, 2);
    expect_ctrl(f, 1, DEVICE_ADD, 0);
    expect_ctrl(f, 2, DEVICE_ADD, 0);
    expect_no_ctrl(f);

    /* PORT_READY twice, and a failed one. */
    post_rx(f, 2, 64);
    post_rx(f, 2, 64);
    vg_kick(&f->g, 2);
    send_ctrl(f, 2, PORT_READY, 1);
    expect_ctrl(f, 2, PORT_OPEN, 1);
    send_ctrl(f, 2, PORT_READY, 1);
    assert_int_equal(cstat(f, VIRTIO_CONSOLE_STAT_CTRL_UNEXPECTED), 4);
    send_ctrl(f, 0, PORT_READY, 0);
    expect_no_ctrl(f);
    assert_int_equal(vg_status(&f->g) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
}

/* A multiport device whose driver did not take MULTIPORT: port 0 only. */
static void test_multiport_not_negotiated(void **state)
{
    struct fixture *f = *state;
    uint32_t id = 0, len = 0;
    bring_up(f, 0, 4);

    post_rx(f, 2, 64);
    vg_kick(&f->g, 2);
    assert_int_equal(cstat(f, VIRTIO_CONSOLE_STAT_QUEUE_UNUSED), 1);
    assert_int_equal(virtio_console_receive(f->con, 1, "x", 1), 0);
    uint16_t h = post_rx(f, 0, 8);
    assert_int_equal(virtio_console_receive(f->con, 0, "x", 1), 1);
    assert_true(vg_get_used(&f->g, 0, &id, &len));
    assert_int_equal(id, h);
}

/* A reset forgets the control state: DEVICE_READY is taken again. */
static void test_multiport_reset(void **state)
{
    struct fixture *f = *state;
    multiport_up(f);
    send_ctrl(f, 0, PORT_READY, 1);
    multiport_up(f);
    assert_int_equal(cstat(f, VIRTIO_CONSOLE_STAT_CTRL_UNEXPECTED), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_identity, setup_single, teardown),
        cmocka_unit_test_setup_teardown(test_tx_to_chardev, setup_single, teardown),
        cmocka_unit_test_setup_teardown(test_tx_with_writable_buffer, setup_single, teardown),
        cmocka_unit_test_setup_teardown(test_rx_through_chardev, setup_single, teardown),
        cmocka_unit_test_setup_teardown(test_rx_waits_for_buffers, setup_single, teardown),
        cmocka_unit_test_setup_teardown(test_rx_held_until_driver_ok, setup_single, teardown),
        cmocka_unit_test_setup_teardown(test_rx_held_across_reset, setup_single, teardown),
        cmocka_unit_test_setup_teardown(test_rx_direct_shapes, setup_single, teardown),
        cmocka_unit_test_setup_teardown(test_emergency_write, setup_single, teardown),
        cmocka_unit_test_setup_teardown(test_broken_tx_ring, setup_single, teardown),
        cmocka_unit_test_setup_teardown(test_bad_tx_chain_refused, setup_single, teardown),
        cmocka_unit_test_setup_teardown(test_rx_tx_churn, setup_single, teardown),
        cmocka_unit_test_setup_teardown(test_multiport_identity, setup_multi, teardown),
        cmocka_unit_test_setup_teardown(test_multiport_handshake, setup_multi, teardown),
        cmocka_unit_test_setup_teardown(test_multiport_input_after_open, setup_multi, teardown),
        cmocka_unit_test_setup_teardown(test_multiport_hostile_control, setup_multi, teardown),
        cmocka_unit_test_setup_teardown(test_multiport_not_negotiated, setup_multi, teardown),
        cmocka_unit_test_setup_teardown(test_multiport_reset, setup_multi, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
