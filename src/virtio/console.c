/*
 * console.c - the virtio console device (virtio 1.2, 5.3; see
 * virtio_console.h).
 *
 * Queues (5.3.2): port 0 has receiveq 0 and transmitq 1; with MULTIPORT
 * the control receiveq is 2, the control transmitq 3, and port p > 0 has
 * receiveq 2 + 2p and transmitq 3 + 2p.
 *
 * Control protocol (5.3.6.2), as this device runs it:
 *   driver: DEVICE_READY 1      device: DEVICE_ADD for every port
 *   driver: PORT_READY p 1      device: CONSOLE_PORT p 1 (p = 0 only),
 *                                       PORT_NAME p (when named),
 *                                       PORT_OPEN p 1 (the host side is open)
 *   driver: PORT_OPEN p 0/1     device: input to p held / delivered
 * Device messages wait in a small FIFO (con->pending) until the driver
 * posts control receive buffers; with one DEVICE_ADD per port and at most
 * three answers per PORT_READY it cannot overflow, and repeats are refused.
 *
 * Locking: every function here runs with vdev->lock held (the transport's
 * callbacks take it, virtio_console_receive() takes it itself), which also
 * guards the port and control state and the scratch chain.  Counters are
 * atomics so any thread may read them.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vmmkit/log.h>
#include <vmmkit/virtio_console.h>

#define RX0_QUEUE 0u     /* receiveq(port0) */
#define TX0_QUEUE 1u     /* transmitq(port0) */
#define CTRL_RX_QUEUE 2u /* control receiveq: device to driver */
#define CTRL_TX_QUEUE 3u /* control transmitq: driver to device */

/* Config space (5.3.4): le16 cols, le16 rows, le32 max_nr_ports, le32 emerg_wr. */
#define CONFIG_SIZE 12u
#define CONFIG_MAX_NR_PORTS 4u
#define CONFIG_EMERG_WR 8u

/* struct virtio_console_control (5.3.6.2): le32 id, le16 event, le16 value. */
#define CTRL_MSG_SIZE 8u
#define CTRL_PENDING_MAX 128u /* > 4 messages x VIRTIO_CONSOLE_MAX_PORTS */

/* Control events (5.3.6.2). */
enum console_ctrl_event {
    CTRL_DEVICE_READY = 0,
    CTRL_DEVICE_ADD = 1,
    CTRL_DEVICE_REMOVE = 2,
    CTRL_PORT_READY = 3,
    CTRL_CONSOLE_PORT = 4,
    CTRL_RESIZE = 5,
    CTRL_PORT_OPEN = 6,
    CTRL_PORT_NAME = 7,
};

/* A device-to-driver control message waiting for a buffer. */
struct ctrl_msg {
    uint32_t id;
    uint16_t event;
    uint16_t value;
};

struct console_port {
    virtio_console_t *con; /* for the chardev's receive callback */
    unsigned int id;
    chardev_t *cd;
    char name[VIRTIO_CONSOLE_NAME_MAX + 1];
    size_t name_len; /* 0: no PORT_NAME */
    bool rx_waiting; /* input was held: call chardev_rx_ready() when that may change */
    bool ready;      /* MULTIPORT: the driver answered PORT_READY 1 */
    bool guest_open; /* MULTIPORT: the driver's last PORT_OPEN */
};

struct virtio_console {
    virtio_device_t vdev;
    virtio_device_ops_t ops; /* per device: queues and features follow nr_ports */
    unsigned int nr_ports;
    struct console_port ports[VIRTIO_CONSOLE_MAX_PORTS];

    bool driver_ready; /* MULTIPORT: DEVICE_READY 1 received since the reset */
    struct ctrl_msg pending[CTRL_PENDING_MAX];
    unsigned int pending_head, pending_count;

    virtq_chain_t chain; /* scratch for the chain being served */
    uint64_t stats[VIRTIO_CONSOLE_STAT_COUNT];
    vmm_ratelimit_t log_rl;
};

static const char *const console_stat_names[VIRTIO_CONSOLE_STAT_COUNT] = {
    [VIRTIO_CONSOLE_STAT_TX_BYTES] = "tx-bytes",
    [VIRTIO_CONSOLE_STAT_RX_BYTES] = "rx-bytes",
    [VIRTIO_CONSOLE_STAT_EMERG_BYTES] = "emerg-bytes",
    [VIRTIO_CONSOLE_STAT_RX_HELD] = "rx-held",
    [VIRTIO_CONSOLE_STAT_TX_ERRORS] = "tx-errors",
    [VIRTIO_CONSOLE_STAT_REFUSED] = "refused",
    [VIRTIO_CONSOLE_STAT_RING_BROKEN] = "ring-broken",
    [VIRTIO_CONSOLE_STAT_WRONG_DIRECTION] = "wrong-direction",
    [VIRTIO_CONSOLE_STAT_RX_NO_WRITABLE] = "rx-no-writable",
    [VIRTIO_CONSOLE_STAT_QUEUE_UNUSED] = "queue-unused",
    [VIRTIO_CONSOLE_STAT_CTRL_SHORT] = "ctrl-short",
    [VIRTIO_CONSOLE_STAT_CTRL_BAD_ID] = "ctrl-bad-id",
    [VIRTIO_CONSOLE_STAT_CTRL_UNEXPECTED] = "ctrl-unexpected",
    [VIRTIO_CONSOLE_STAT_CTRL_UNKNOWN] = "ctrl-unknown",
    [VIRTIO_CONSOLE_STAT_CTRL_SMALL] = "ctrl-small",
    [VIRTIO_CONSOLE_STAT_CTRL_DROPPED] = "ctrl-dropped",
    [VIRTIO_CONSOLE_STAT_CONFIG_WRITE] = "config-write",
};

const char *virtio_console_stat_name(virtio_console_stat_t stat)
{
    if ((unsigned int)stat >= VIRTIO_CONSOLE_STAT_COUNT) {
        return "unknown";
    }
    return console_stat_names[stat];
}

/* Add @n to counter @stat. */
static void console_count(virtio_console_t *con, virtio_console_stat_t stat, uint64_t n)
{
    __atomic_fetch_add(&con->stats[stat], n, __ATOMIC_RELAXED);
}

/* Count guest misbehaviour @stat and log it rate-limited with the device's name. */
static void console_misbehaved(virtio_console_t *con, virtio_console_stat_t stat, const char *fmt,
                               ...) __attribute__((format(printf, 3, 4)));

static void console_misbehaved(virtio_console_t *con, virtio_console_stat_t stat, const char *fmt,
                               ...)
{
    char what[160];
    va_list ap;

    console_count(con, stat, 1);
    if (!vmm_log_enabled(VMM_LOG_WARN)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    LOG_WARN_RL(&con->log_rl, "%s: %s: %s", con->vdev.name, virtio_console_stat_name(stat), what);
}

static bool console_multiport(const virtio_console_t *con)
{
    return virtio_device_has_feature(&con->vdev, VIRTIO_CONSOLE_F_MULTIPORT);
}

/* DRIVER_OK and neither FAILED nor DEVICE_NEEDS_RESET: buffers may be used (2.1.2). */
static bool console_live(const virtio_console_t *con)
{
    uint8_t s = con->vdev.status;

    return (s & VIRTIO_STATUS_DRIVER_OK) &&
           !(s & (VIRTIO_STATUS_FAILED | VIRTIO_STATUS_DEVICE_NEEDS_RESET));
}

/* The receiveq of @port (5.3.2). */
static unsigned int port_rx_queue(unsigned int port)
{
    return port == 0 ? RX0_QUEUE : 2u + 2u * port;
}

/* Whether @p takes host input now. */
static bool port_accepts_input(const virtio_console_t *con, const struct console_port *p)
{
    if (!console_live(con)) {
        return false;
    }
    if (console_multiport(con)) {
        return p->ready && p->guest_open;
    }
    return p->id == 0;
}

/* Input held on @p may go in now: let its chardev try again. */
static void port_retry_input(struct console_port *p)
{
    if (p->rx_waiting) {
        p->rx_waiting = false;
        chardev_rx_ready(p->cd);
    }
}

/*
 * Pop the next chain of queue @idx into con->chain.  Returns true with a
 * chain; false when the queue is empty (with notifications re-armed, then
 * checked once more to close the race: 2.7.10) or broken (the device then
 * needs a reset, 2.1.2).  Chains the queue refuses are returned to the
 * guest with length 0 on the way; *@pushed tells the caller to notify.
 */
static bool console_pop(virtio_console_t *con, unsigned int idx, bool *pushed)
{
    virtq_t *q = &con->vdev.queues[idx];

    for (;;) {
        int r = virtq_pop(q, &con->chain);
        if (r == 0) {
            virtq_enable_notify(q);
            r = virtq_pop(q, &con->chain);
        }
        if (r > 0) {
            return true;
        }
        if (r == 0) {
            return false;
        }
        if (q->broken) {
            console_count(con, VIRTIO_CONSOLE_STAT_RING_BROKEN, 1);
            virtio_device_set_needs_reset(&con->vdev, virtq_error_name((virtq_error_t)-r));
            return false;
        }
        /* A chain-level error (counted and logged by the queue): give it back empty. */
        console_count(con, VIRTIO_CONSOLE_STAT_REFUSED, 1);
        virtq_push(q, con->chain.head, 0);
        *pushed = true;
    }
}

/* Guest output on transmitq @idx of @p: readable bytes to the chardev (5.3.6). */
static void console_tx(virtio_console_t *con, struct console_port *p, unsigned int idx)
{
    virtq_t *q = &con->vdev.queues[idx];
    const virtq_chain_t *c = &con->chain;
    bool pushed = false;

    while (console_pop(con, idx, &pushed)) {
        if (c->nr_readable < c->nr_bufs) {
            /* 5.3.6.1: no device-writable buffers in a transmitq. */
            console_count(con, VIRTIO_CONSOLE_STAT_WRONG_DIRECTION, 1);
            virtq_report_error(q, VIRTQ_E_UNEXPECTED_WRITABLE);
        }
        for (unsigned int i = 0; i < c->nr_readable; i++) {
            int rc = chardev_write(p->cd, c->bufs[i].addr, c->bufs[i].len);
            if (rc < 0) {
                console_count(con, VIRTIO_CONSOLE_STAT_TX_ERRORS, 1);
                LOG_WARN_RL(&con->log_rl, "%s: port %u: output dropped: %s", con->vdev.name, p->id,
                            strerror(-rc));
                break;
            }
            console_count(con, VIRTIO_CONSOLE_STAT_TX_BYTES, c->bufs[i].len);
        }
        virtq_push(q, c->head, 0); /* nothing written into a transmit buffer */
        pushed = true;
    }
    if (pushed) {
        virtio_device_used(&con->vdev, idx);
    }
}

/* Encode @m into @out (CTRL_MSG_SIZE + VIRTIO_CONSOLE_NAME_MAX bytes); returns its size. */
static size_t ctrl_encode(const virtio_console_t *con, const struct ctrl_msg *m, uint8_t *out)
{
    uint32_t id = htole32(m->id);
    uint16_t event = htole16(m->event), value = htole16(m->value);
    size_t n = CTRL_MSG_SIZE;

    memcpy(out, &id, 4);
    memcpy(out + 4, &event, 2);
    memcpy(out + 6, &value, 2);
    if (m->event == CTRL_PORT_NAME) {
        /* 5.3.6.2: the UTF-8 name follows, without a NUL. */
        const struct console_port *p = &con->ports[m->id];
        memcpy(out + n, p->name, p->name_len);
        n += p->name_len;
    }
    return n;
}

/* Queue a device-to-driver control message (sent by ctrl_flush()). */
static void ctrl_send(virtio_console_t *con, uint32_t id, uint16_t event, uint16_t value)
{
    if (con->pending_count == CTRL_PENDING_MAX) {
        console_misbehaved(con, VIRTIO_CONSOLE_STAT_CTRL_DROPPED,
                           "event %u for port %u dropped: %u messages wait for buffers", event, id,
                           CTRL_PENDING_MAX);
        return;
    }
    unsigned int slot = (con->pending_head + con->pending_count) % CTRL_PENDING_MAX;
    con->pending[slot] = (struct ctrl_msg){.id = id, .event = event, .value = value};
    con->pending_count++;
}

/* Move pending control messages into the control receiveq's buffers. */
static void ctrl_flush(virtio_console_t *con)
{
    virtq_t *q = &con->vdev.queues[CTRL_RX_QUEUE];
    const virtq_chain_t *c = &con->chain;
    uint8_t msg[CTRL_MSG_SIZE + VIRTIO_CONSOLE_NAME_MAX];
    bool pushed = false;

    if (!console_live(con)) {
        return;
    }
    while (con->pending_count > 0 && console_pop(con, CTRL_RX_QUEUE, &pushed)) {
        const struct ctrl_msg *m = &con->pending[con->pending_head];
        size_t n = ctrl_encode(con, m, msg);

        if (c->nr_readable > 0) {
            console_count(con, VIRTIO_CONSOLE_STAT_WRONG_DIRECTION, 1);
            virtq_report_error(q, VIRTQ_E_UNEXPECTED_READABLE);
        }
        if (c->writable_len < n) {
            /* Keep the message for the next buffer. */
            console_misbehaved(con, VIRTIO_CONSOLE_STAT_CTRL_SMALL,
                               "control buffer of %u bytes for a %zu-byte message", c->writable_len,
                               n);
            virtq_push(q, c->head, 0);
            pushed = true;
            continue;
        }
        virtq_push_chain(q, c, (uint32_t)virtq_chain_write(c, 0, msg, n));
        pushed = true;
        con->pending_head = (con->pending_head + 1) % CTRL_PENDING_MAX;
        con->pending_count--;
    }
    if (pushed) {
        virtio_device_used(&con->vdev, CTRL_RX_QUEUE);
    }
}

/* One driver-to-device control message (5.3.6.2). */
static void ctrl_handle(virtio_console_t *con, uint32_t id, uint16_t event, uint16_t value)
{
    struct console_port *p;

    switch (event) {
    case CTRL_DEVICE_READY:
        if (con->driver_ready) {
            console_misbehaved(con, VIRTIO_CONSOLE_STAT_CTRL_UNEXPECTED, "DEVICE_READY again");
            return;
        }
        if (value != 1) {
            LOG_WARN_RL(&con->log_rl, "%s: the driver failed to set up (DEVICE_READY %u)",
                        con->vdev.name, value);
            return;
        }
        con->driver_ready = true;
        for (unsigned int i = 0; i < con->nr_ports; i++) {
            ctrl_send(con, i, CTRL_DEVICE_ADD, 0);
        }
        return;
    case CTRL_PORT_READY:
    case CTRL_PORT_OPEN:
        break;
    default:
        console_misbehaved(con, VIRTIO_CONSOLE_STAT_CTRL_UNKNOWN,
                           "event %u (port %u, value %u) is not the driver's", event, id, value);
        return;
    }

    if (id >= con->nr_ports) {
        console_misbehaved(con, VIRTIO_CONSOLE_STAT_CTRL_BAD_ID, "event %u for port %u of %u",
                           event, id, con->nr_ports);
        return;
    }
    p = &con->ports[id];
    if (event == CTRL_PORT_READY) {
        if (!con->driver_ready || p->ready) {
            console_misbehaved(con, VIRTIO_CONSOLE_STAT_CTRL_UNEXPECTED,
                               "PORT_READY for port %u %s", id,
                               p->ready ? "again" : "before DEVICE_READY");
            return;
        }
        if (value != 1) {
            LOG_WARN_RL(&con->log_rl, "%s: the driver failed to add port %u", con->vdev.name, id);
            return;
        }
        p->ready = true;
        if (id == 0) {
            ctrl_send(con, id, CTRL_CONSOLE_PORT, 1);
        }
        if (p->name_len > 0) {
            ctrl_send(con, id, CTRL_PORT_NAME, 1);
        }
        ctrl_send(con, id, CTRL_PORT_OPEN, 1); /* the chardev is always connected */
        return;
    }
    /* CTRL_PORT_OPEN: a guest process opened or closed the port. */
    if (!p->ready) {
        console_misbehaved(con, VIRTIO_CONSOLE_STAT_CTRL_UNEXPECTED,
                           "PORT_OPEN for port %u, which is not ready", id);
        return;
    }
    p->guest_open = value != 0;
    if (p->guest_open) {
        port_retry_input(p);
    }
}

/* The control transmitq: handle each message, then send what they produced. */
static void ctrl_tx(virtio_console_t *con)
{
    virtq_t *q = &con->vdev.queues[CTRL_TX_QUEUE];
    const virtq_chain_t *c = &con->chain;
    bool pushed = false;

    while (console_pop(con, CTRL_TX_QUEUE, &pushed)) {
        uint8_t raw[CTRL_MSG_SIZE];

        if (c->nr_readable < c->nr_bufs) {
            console_count(con, VIRTIO_CONSOLE_STAT_WRONG_DIRECTION, 1);
            virtq_report_error(q, VIRTQ_E_UNEXPECTED_WRITABLE);
        }
        if (virtq_chain_read(c, 0, raw, sizeof(raw)) < sizeof(raw)) {
            console_misbehaved(con, VIRTIO_CONSOLE_STAT_CTRL_SHORT, "control message of %u bytes",
                               c->readable_len);
        } else {
            uint32_t id;
            uint16_t event, value;
            memcpy(&id, raw, 4);
            memcpy(&event, raw + 4, 2);
            memcpy(&value, raw + 6, 2);
            ctrl_handle(con, le32toh(id), le16toh(event), le16toh(value));
        }
        virtq_push(q, c->head, 0);
        pushed = true;
    }
    if (pushed) {
        virtio_device_used(&con->vdev, CTRL_TX_QUEUE);
    }
    ctrl_flush(con);
}

/* ops->queue_notify: the driver kicked queue @idx (vdev->lock held). */
static void console_queue_notify(virtio_device_t *vdev, unsigned int idx)
{
    virtio_console_t *con = vdev->priv;
    bool multiport = console_multiport(con);
    unsigned int port;

    if (idx == CTRL_RX_QUEUE || idx == CTRL_TX_QUEUE) {
        if (!multiport) {
            console_misbehaved(con, VIRTIO_CONSOLE_STAT_QUEUE_UNUSED,
                               "kick on control queue %u without MULTIPORT", idx);
        } else if (idx == CTRL_RX_QUEUE) {
            ctrl_flush(con);
        } else {
            ctrl_tx(con);
        }
        return;
    }
    port = idx < 2u ? 0u : idx / 2u - 1u;
    if (port >= con->nr_ports || (port > 0 && !multiport)) {
        console_misbehaved(con, VIRTIO_CONSOLE_STAT_QUEUE_UNUSED,
                           "kick on queue %u of port %u without MULTIPORT", idx, port);
        return;
    }
    if (idx & 1u) {
        console_tx(con, &con->ports[port], idx);
    } else {
        /* New receive buffers: held input may go in now. */
        port_retry_input(&con->ports[port]);
    }
}

size_t virtio_console_receive(virtio_console_t *con, unsigned int port, const void *buf, size_t len)
{
    const uint8_t *src = buf;
    size_t done = 0;

    if (!con || port >= con->nr_ports || !buf || len == 0) {
        return 0;
    }
    pthread_mutex_lock(&con->vdev.lock);
    struct console_port *p = &con->ports[port];
    if (port_accepts_input(con, p)) {
        unsigned int idx = port_rx_queue(port);
        virtq_t *q = &con->vdev.queues[idx];
        const virtq_chain_t *c = &con->chain;
        bool pushed = false;

        while (done < len && console_pop(con, idx, &pushed)) {
            if (c->nr_readable > 0) {
                /* 5.3.6.1: no device-readable buffers in a receiveq. */
                console_count(con, VIRTIO_CONSOLE_STAT_WRONG_DIRECTION, 1);
                virtq_report_error(q, VIRTQ_E_UNEXPECTED_READABLE);
            }
            if (c->writable_len == 0) {
                console_count(con, VIRTIO_CONSOLE_STAT_RX_NO_WRITABLE, 1);
            }
            size_t n = virtq_chain_write(c, 0, src + done, len - done);
            virtq_push_chain(q, c, (uint32_t)n);
            pushed = true;
            done += n;
        }
        if (pushed) {
            virtio_device_used(&con->vdev, idx);
        }
        console_count(con, VIRTIO_CONSOLE_STAT_RX_BYTES, done);
    }
    if (done < len) {
        /* The chardev keeps the rest until port_retry_input(). */
        p->rx_waiting = true;
        console_count(con, VIRTIO_CONSOLE_STAT_RX_HELD, 1);
    }
    pthread_mutex_unlock(&con->vdev.lock);
    return done;
}

/* chardev_receive_fn for a port: the chardev's input thread. */
static size_t console_chardev_receive(void *opaque, const uint8_t *buf, size_t len)
{
    struct console_port *p = opaque;

    return virtio_console_receive(p->con, p->id, buf, len);
}

/* ops->config_read: cols and rows 0 (no F_SIZE), max_nr_ports, emerg_wr reads 0. */
static void console_config_read(virtio_device_t *vdev, uint32_t offset, void *buf, uint32_t len)
{
    virtio_console_t *con = vdev->priv;
    uint8_t cfg[CONFIG_SIZE] = {0};
    uint32_t max_nr_ports = htole32(con->nr_ports);

    memcpy(cfg + CONFIG_MAX_NR_PORTS, &max_nr_ports, sizeof(max_nr_ports));
    memcpy(buf, cfg + offset, len); /* the common layer checked offset + len <= CONFIG_SIZE */
}

/* ops->config_write: only emerg_wr is writable; its low byte goes to port 0 (5.3.5.1). */
static void console_config_write(virtio_device_t *vdev, uint32_t offset, const void *buf,
                                 uint32_t len)
{
    virtio_console_t *con = vdev->priv;
    uint8_t byte;

    if (offset != CONFIG_EMERG_WR) {
        console_misbehaved(con, VIRTIO_CONSOLE_STAT_CONFIG_WRITE,
                           "config write of %u bytes at %#x (only emerg_wr at %#x is writable)",
                           len, offset, CONFIG_EMERG_WR);
        return;
    }
    memcpy(&byte, buf, 1); /* little-endian: the first byte is the low one */
    if (chardev_write(con->ports[0].cd, &byte, 1) < 0) {
        console_count(con, VIRTIO_CONSOLE_STAT_TX_ERRORS, 1);
        return;
    }
    console_count(con, VIRTIO_CONSOLE_STAT_EMERG_BYTES, 1);
}

/* ops->activate: DRIVER_OK; input held until now may go in. */
static int console_activate(virtio_device_t *vdev)
{
    virtio_console_t *con = vdev->priv;

    for (unsigned int i = 0; i < con->nr_ports; i++) {
        port_retry_input(&con->ports[i]);
    }
    return 0;
}

/* ops->reset: forget the control state; held input stays held (rx_waiting). */
static void console_reset(virtio_device_t *vdev)
{
    virtio_console_t *con = vdev->priv;

    con->driver_ready = false;
    con->pending_head = 0;
    con->pending_count = 0;
    for (unsigned int i = 0; i < con->nr_ports; i++) {
        con->ports[i].ready = false;
        con->ports[i].guest_open = false;
    }
}

/* Check the caller's port descriptions.  Returns 0 or -EINVAL. */
static int check_ports(const virtio_console_port_config_t *ports, unsigned int nr_ports)
{
    if (!ports || nr_ports == 0 || nr_ports > VIRTIO_CONSOLE_MAX_PORTS) {
        return -EINVAL;
    }
    for (unsigned int i = 0; i < nr_ports; i++) {
        if (!ports[i].cd || (ports[i].name && strlen(ports[i].name) > VIRTIO_CONSOLE_NAME_MAX)) {
            return -EINVAL;
        }
    }
    return 0;
}

int virtio_console_create_ports(vm_t *vm, unsigned int index,
                                const virtio_console_port_config_t *ports, unsigned int nr_ports,
                                virtio_console_t **out)
{
    virtio_console_t *con;
    bool multiport = nr_ports > 1;
    int rc;

    if (!vm || !out || check_ports(ports, nr_ports) < 0) {
        return -EINVAL;
    }
    con = calloc(1, sizeof(*con));
    if (!con) {
        return -ENOMEM;
    }
    con->ops = (virtio_device_ops_t){
        .name = "virtio-console",
        .device_id = VIRTIO_ID_CONSOLE,
        .num_queues = multiport ? 2u * (nr_ports + 1u) : 2u,
        .queue_max_size = VIRTIO_CONSOLE_QUEUE_SIZE,
        .features = (1ull << VIRTIO_CONSOLE_F_EMERG_WRITE) |
                    (multiport ? 1ull << VIRTIO_CONSOLE_F_MULTIPORT : 0),
        .config_size = CONFIG_SIZE,
        .config_read = console_config_read,
        .config_write = console_config_write,
        .activate = console_activate,
        .queue_notify = console_queue_notify,
        .reset = console_reset,
    };
    rc = virtio_device_init(&con->vdev, vm, &con->ops, con, index);
    if (rc < 0) {
        free(con);
        return rc;
    }
    vmm_ratelimit_init(&con->log_rl, 5000, 10);
    con->nr_ports = nr_ports;
    for (unsigned int i = 0; i < nr_ports; i++) {
        struct console_port *p = &con->ports[i];
        p->con = con;
        p->id = i;
        p->cd = ports[i].cd;
        if (ports[i].name) {
            p->name_len = strlen(ports[i].name);
            memcpy(p->name, ports[i].name, p->name_len);
        }
    }

    /* Last: from here on the chardevs' threads call into the device. */
    for (unsigned int i = 0; i < nr_ports; i++) {
        rc = chardev_start(con->ports[i].cd, console_chardev_receive, &con->ports[i]);
        if (rc < 0) {
            if (i == 0) {
                pthread_mutex_destroy(&con->vdev.lock);
                free(con);
            } else {
                LOG_ERR("%s: port %u: cannot start its input (%s); ports 0..%u run already, "
                        "so the device is left allocated",
                        con->vdev.name, i, strerror(-rc), i - 1);
            }
            return rc;
        }
    }
    *out = con;
    return 0;
}

int virtio_console_create(vm_t *vm, unsigned int index, chardev_t *cd, virtio_console_t **out)
{
    virtio_console_port_config_t port = {.cd = cd, .name = NULL};

    return virtio_console_create_ports(vm, index, &port, 1, out);
}

virtio_device_t *virtio_console_device(virtio_console_t *con)
{
    return &con->vdev;
}

uint64_t virtio_console_stat(const virtio_console_t *con, virtio_console_stat_t stat)
{
    if (!con || (unsigned int)stat >= VIRTIO_CONSOLE_STAT_COUNT) {
        return 0;
    }
    return __atomic_load_n(&con->stats[stat], __ATOMIC_RELAXED);
}

void virtio_console_destroy(virtio_console_t *con)
{
    if (!con) {
        return;
    }
    pthread_mutex_destroy(&con->vdev.lock);
    free(con);
}
