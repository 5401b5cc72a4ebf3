/*
 * net_switch.c - the learning Ethernet switch between VMs (see
 * include/vmmkit/net_switch.h for what it does and its threads).
 *
 * The MAC table (the "filtering database" of 802.1D) is a pool of entries
 * allocated at creation, a hash table over them keyed with a random
 * secret (so a VM cannot choose addresses that all land in one chain), and
 * two lists through every entry: the switch's age list, least recently
 * seen first, and its port's list, which a flush walks.  A refreshed entry
 * moves to the tail of the age list; as the clock never goes back, the
 * list stays in order of last sight and ageing only ever looks at its head.
 * Entries are expired before every frame is switched, so an entry in the
 * table is always live and the caps count live entries only.
 *
 * Every port, and the uplink, has an epoll tag of its index and a
 * generation that changes whenever its socket does (down, replaced): an
 * event harvested for an old socket never reaches the new one.
 *
 * Frames are received into sw->buf, checked, their header zeroed in place,
 * and sent from there to every destination with one non-blocking send each.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <vmmkit/iothread.h>
#include <vmmkit/log.h>
#include <vmmkit/net_backend.h>
#include <vmmkit/net_switch.h>

#define ETH_HLEN 14u
#define FRAME_MIN (VIRTIO_NET_HDR_LEN + ETH_HLEN)
#define FRAME_MAX (VIRTIO_NET_HDR_LEN + NET_MAX_FRAME)
#define SW_BATCH 64u  /* frames served from one port before the next port's turn */
#define SW_EVENTS 32u /* events taken from one epoll_wait() */
#define SW_MAX_ENTRIES (1u << 20)
/*
 * Room in a port's send buffer for two of the largest frames: an AF_UNIX
 * socket refuses a message near its whole send buffer even when nothing is
 * queued (EMSGSIZE), so a small wmem_default would lose every large frame.
 */
#define SW_MIN_SNDBUF (2 * (int)FRAME_MAX + 4096)
#define SW_NAME_MAX 32u
#define SW_THREAD_NAME 16u /* pthread_setname_np(): 15 characters and the NUL */

/* Epoll tags: generation << 32 | index; these indices are not VM ports. */
#define TAG_UPLINK NET_SWITCH_MAX_PORTS
#define TAG_WAKE (NET_SWITCH_MAX_PORTS + 1u)

/* A circular doubly-linked list; a head is an empty list when it points to itself. */
struct list {
    struct list *prev, *next;
};

static void list_init(struct list *l)
{
    l->prev = l->next = l;
}

static bool list_empty(const struct list *l)
{
    return l->next == l;
}

static void list_add_tail(struct list *head, struct list *n)
{
    n->prev = head->prev;
    n->next = head;
    head->prev->next = n;
    head->prev = n;
}

static void list_del(struct list *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    list_init(n);
}

#define list_entry(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

struct sw_port;

/* One learned address. */
struct fdb_entry {
    struct list hash; /* its bucket's chain; a free entry: the free list */
    struct list age;  /* sw->age_list, least recently seen first */
    struct list link; /* its port's entries */
    uint64_t mac;     /* the 48-bit address, first byte most significant */
    uint64_t seen_ns;
    struct sw_port *port;
};

/* A VM port or the uplink. */
struct sw_port {
    unsigned int index; /* NET_SWITCH_UPLINK for the uplink */
    int fd;             /* -1 while down (an uplink keeps its be->fd) */
    net_backend_t *be;  /* the uplink's back end; NULL for a VM port */
    bool up;
    uint32_t gen; /* in the epoll tag; bumped at every change of socket */
    unsigned int nr_macs;
    unsigned int max_macs;
    struct list macs;         /* its fdb_entry.link */
    net_switch_stats_t stats; /* macs and up are filled in by net_switch_port_stats() */
    vmm_ratelimit_t rl;
    char name[SW_NAME_MAX];
};

struct net_switch {
    char name[SW_NAME_MAX];
    net_switch_config_t cfg; /* defaults resolved */
    int epfd;
    int wake_fd; /* eventfd: stop requested */
    pthread_t thread;
    bool has_thread;

    pthread_mutex_t lock; /* guards everything below (net_switch.h) */
    bool stopping;
    struct sw_port *ports[NET_SWITCH_MAX_PORTS];
    unsigned int nr_ports;
    struct sw_port *uplink;

    /* The MAC table. */
    struct fdb_entry *pool;
    struct list free_list;
    struct list *buckets;
    uint32_t bucket_mask;
    uint64_t hash_key;
    unsigned int nr_entries;
    struct list age_list;

    uint8_t *buf; /* one frame, header first: FRAME_MAX bytes */
};

static const char *const drop_names[NET_SWITCH_DROP_COUNT] = {
    [NET_SWITCH_DROP_MALFORMED] = "malformed",   [NET_SWITCH_DROP_OFFLOAD] = "offload",
    [NET_SWITCH_DROP_RESERVED] = "reserved",     [NET_SWITCH_DROP_HAIRPIN] = "hairpin",
    [NET_SWITCH_DROP_TABLE_FULL] = "table_full", [NET_SWITCH_DROP_PEER_FULL] = "peer_full",
    [NET_SWITCH_DROP_PORT_DOWN] = "port_down",   [NET_SWITCH_DROP_ERROR] = "error",
};

const char *net_switch_drop_name(net_switch_drop_t reason)
{
    return (unsigned int)reason < NET_SWITCH_DROP_COUNT ? drop_names[reason] : "unknown";
}

static uint64_t clock_monotonic_ns(void *opaque)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t port_tag(const struct sw_port *p)
{
    uint32_t index = p->index == NET_SWITCH_UPLINK ? TAG_UPLINK : p->index;
    return (uint64_t)p->gen << 32 | index;
}

/* "aa:bb:cc:dd:ee:ff" of @mac into @s (18 bytes). */
static const char *mac_str(uint64_t mac, char s[18])
{
    snprintf(s, 18, "%02x:%02x:%02x:%02x:%02x:%02x", (unsigned int)(mac >> 40) & 0xff,
             (unsigned int)(mac >> 32) & 0xff, (unsigned int)(mac >> 24) & 0xff,
             (unsigned int)(mac >> 16) & 0xff, (unsigned int)(mac >> 8) & 0xff,
             (unsigned int)mac & 0xff);
    return s;
}

static uint64_t mac_load(const uint8_t *b)
{
    return (uint64_t)b[0] << 40 | (uint64_t)b[1] << 32 | (uint64_t)b[2] << 24 |
           (uint64_t)b[3] << 16 | (uint64_t)b[4] << 8 | b[5];
}

/* The group bit: multicast, broadcast included (802.3, 3.2.3). */
static bool mac_is_group(uint64_t mac)
{
    return mac & (1ull << 40);
}

/* 01:80:c2:00:00:00 to 0f, which a MAC bridge never forwards (802.1D, 7.12.6). */
static bool mac_is_reserved(uint64_t mac)
{
    return (mac & ~0xfull) == 0x0180c2000000ull;
}

/* --- the MAC table ----------------------------------------------------------------------- */

/* The bucket of @mac: a keyed 64-bit mix (the finaliser of MurmurHash3), so chains stay short. */
static struct list *fdb_bucket(net_switch_t *sw, uint64_t mac)
{
    uint64_t x = mac ^ sw->hash_key;

    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return &sw->buckets[x & sw->bucket_mask];
}

static struct fdb_entry *fdb_lookup(net_switch_t *sw, uint64_t mac)
{
    struct list *head = fdb_bucket(sw, mac);

    for (struct list *l = head->next; l != head; l = l->next) {
        struct fdb_entry *e = list_entry(l, struct fdb_entry, hash);
        if (e->mac == mac) {
            return e;
        }
    }
    return NULL;
}

static void fdb_remove(net_switch_t *sw, struct fdb_entry *e)
{
    list_del(&e->hash);
    list_del(&e->age);
    list_del(&e->link);
    e->port->nr_macs--;
    e->port = NULL;
    sw->nr_entries--;
    list_add_tail(&sw->free_list, &e->hash);
}

/* Forget every entry not seen for the ageing time at @now. */
static void fdb_expire(net_switch_t *sw, uint64_t now)
{
    while (!list_empty(&sw->age_list)) {
        struct fdb_entry *e = list_entry(sw->age_list.next, struct fdb_entry, age);
        if (now < e->seen_ns || now - e->seen_ns < sw->cfg.age_ns) {
            return;
        }
        fdb_remove(sw, e);
    }
}

static void fdb_flush_port(net_switch_t *sw, struct sw_port *p)
{
    while (!list_empty(&p->macs)) {
        fdb_remove(sw, list_entry(p->macs.next, struct fdb_entry, link));
    }
}

/*
 * Learn that @mac lives behind @p, seen at @now: refresh its entry, move
 * it from another port, or add it.  False when it could not be learned
 * (the table or @p's share is full; an entry that was on another port is
 * gone then too, its old place being wrong).
 */
static bool fdb_learn(net_switch_t *sw, struct sw_port *p, uint64_t mac, uint64_t now)
{
    struct fdb_entry *e = fdb_lookup(sw, mac);

    if (e && e->port == p) {
        e->seen_ns = now;
        list_del(&e->age);
        list_add_tail(&sw->age_list, &e->age);
        return true;
    }
    if (e) {
        char s[18];
        LOG_DEBUG("switch %s: %s moved from %s to %s", sw->name, mac_str(mac, s), e->port->name,
                  p->name);
        fdb_remove(sw, e);
    }
    if (sw->nr_entries >= sw->cfg.entries || p->nr_macs >= p->max_macs ||
        list_empty(&sw->free_list)) {
        return false;
    }
    e = list_entry(sw->free_list.next, struct fdb_entry, hash);
    list_del(&e->hash);
    e->mac = mac;
    e->seen_ns = now;
    e->port = p;
    list_add_tail(fdb_bucket(sw, mac), &e->hash);
    list_add_tail(&sw->age_list, &e->age);
    list_add_tail(&p->macs, &e->link);
    p->nr_macs++;
    sw->nr_entries++;
    return true;
}

/* --- ports ------------------------------------------------------------------------------- */

/* Stop serving @p: it lost its peer.  Its socket is closed, its entries flushed. */
static void port_down(net_switch_t *sw, struct sw_port *p, const char *why)
{
    if (!p->up) {
        return;
    }
    epoll_ctl(sw->epfd, EPOLL_CTL_DEL, p->be ? p->be->fd : p->fd, NULL);
    if (!p->be) {
        close(p->fd);
        p->fd = -1;
    }
    p->up = false;
    p->gen++;
    fdb_flush_port(sw, p);
    LOG_INFO("switch %s: port %s is down (%s)", sw->name, p->name, why);
}

static void count_drop(struct sw_port *p, net_switch_drop_t reason)
{
    p->stats.drops[reason]++;
}

/* A zero-length read: an empty message, or the peer shut the connection down. */
static ssize_t sock_zero(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN | POLLRDHUP};

    if (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLRDHUP | POLLHUP))) {
        return -EPIPE;
    }
    return 0;
}

/*
 * Take the next frame of @p into sw->buf.  Returns its whole length (more
 * than FRAME_MAX when it did not fit), -EAGAIN when none is waiting,
 * -EPIPE when the peer has gone, or another -errno.
 */
static ssize_t port_recv(net_switch_t *sw, struct sw_port *p)
{
    ssize_t r;

    if (p->be) {
        struct iovec iov = {.iov_base = sw->buf, .iov_len = FRAME_MAX};
        return p->be->ops->recv(p->be, &iov, 1);
    }
    do {
        /* MSG_TRUNC: the message's whole length even when it did not fit. */
        r = recv(p->fd, sw->buf, FRAME_MAX, MSG_DONTWAIT | MSG_TRUNC);
    } while (r < 0 && errno == EINTR);
    if (r == 0) {
        return sock_zero(p->fd);
    }
    if (r > 0) {
        return r;
    }
    switch (errno) {
    case EWOULDBLOCK:
        return -EAGAIN;
    case ECONNRESET:
    case ENOTCONN:
    case EPIPE:
        return -EPIPE;
    default:
        return -errno;
    }
}

/* Send the frame in sw->buf (@len bytes) to @p, counting what became of it. */
static void port_send(net_switch_t *sw, struct sw_port *p, size_t len)
{
    ssize_t r;

    if (!p->up) {
        count_drop(p, NET_SWITCH_DROP_PORT_DOWN);
        return;
    }
    if (p->be) {
        struct iovec iov = {.iov_base = sw->buf, .iov_len = len};
        r = p->be->ops->send(p->be, &iov, 1);
    } else {
        do {
            r = send(p->fd, sw->buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        } while (r < 0 && errno == EINTR);
        if (r < 0) {
            r = errno == ECONNRESET || errno == ENOTCONN ? -EPIPE : -errno;
        }
    }
    if (r >= 0) {
        p->stats.tx_frames++;
        p->stats.tx_bytes += len - VIRTIO_NET_HDR_LEN;
        return;
    }
    switch (r) {
    case -EAGAIN: /* EWOULDBLOCK on Linux */
    case -ENOBUFS:
        count_drop(p, NET_SWITCH_DROP_PEER_FULL);
        break;
    case -ENETDOWN: /* a tap whose host side is down */
        count_drop(p, NET_SWITCH_DROP_PORT_DOWN);
        break;
    case -EPIPE:
        count_drop(p, NET_SWITCH_DROP_PORT_DOWN);
        port_down(sw, p, "its peer hung up");
        break;
    default:
        count_drop(p, NET_SWITCH_DROP_ERROR);
        LOG_WARN_RL(&p->rl, "switch %s: port %s: send: %s", sw->name, p->name, strerror((int)-r));
        break;
    }
}

/* Send sw->buf to every port but @in that is up, and to the uplink. */
static void flood(net_switch_t *sw, struct sw_port *in, size_t len)
{
    for (unsigned int i = 0; i < sw->nr_ports; i++) {
        if (sw->ports[i] != in) {
            port_send(sw, sw->ports[i], len);
        }
    }
    if (sw->uplink && sw->uplink != in) {
        port_send(sw, sw->uplink, len);
    }
}

/* Refuse the frame from @in for @reason; the reasons a well-behaved VM never causes warn. */
static void drop_ingress(net_switch_t *sw, struct sw_port *in, net_switch_drop_t reason)
{
    count_drop(in, reason);
    if (reason == NET_SWITCH_DROP_HAIRPIN || reason == NET_SWITCH_DROP_RESERVED) {
        LOG_DEBUG_RL(&in->rl, "switch %s: port %s: frame dropped (%s)", sw->name, in->name,
                     drop_names[reason]);
    } else {
        LOG_WARN_RL(&in->rl, "switch %s: port %s: frame dropped (%s)", sw->name, in->name,
                    drop_names[reason]);
    }
}

/* Switch the frame in sw->buf, @len bytes long as received, that came from @in. */
static void switch_frame(net_switch_t *sw, struct sw_port *in, size_t len)
{
    virtio_net_hdr_t *hdr = (virtio_net_hdr_t *)sw->buf;
    const uint8_t *eth = sw->buf + VIRTIO_NET_HDR_LEN;
    uint64_t dst, src;
    struct fdb_entry *e = NULL;

    in->stats.rx_frames++;
    in->stats.rx_bytes += len > VIRTIO_NET_HDR_LEN ? len - VIRTIO_NET_HDR_LEN : 0;
    if (len < FRAME_MIN || len > FRAME_MAX) {
        drop_ingress(sw, in, NET_SWITCH_DROP_MALFORMED);
        return;
    }
    /* Ports carry no offloads (5.1.6.2): a complete checksum, no segmentation. */
    if ((hdr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || hdr->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
        drop_ingress(sw, in, NET_SWITCH_DROP_OFFLOAD);
        return;
    }
    dst = mac_load(eth);
    src = mac_load(eth + 6);
    if (mac_is_group(src) || src == 0) {
        drop_ingress(sw, in, NET_SWITCH_DROP_MALFORMED);
        return;
    }
    if (mac_is_reserved(dst)) {
        drop_ingress(sw, in, NET_SWITCH_DROP_RESERVED);
        return;
    }
    uint64_t now = sw->cfg.now_ns(sw->cfg.clock_opaque);
    fdb_expire(sw, now);
    if (!fdb_learn(sw, in, src, now)) {
        drop_ingress(sw, in, NET_SWITCH_DROP_TABLE_FULL);
        return;
    }
    /* Nothing of the sender's header goes on: no flags, GSO_NONE, num_buffers 0. */
    memset(hdr, 0, VIRTIO_NET_HDR_LEN);
    if (mac_is_group(dst) || !(e = fdb_lookup(sw, dst))) {
        flood(sw, in, len);
    } else if (e->port == in) {
        drop_ingress(sw, in, NET_SWITCH_DROP_HAIRPIN);
    } else {
        port_send(sw, e->port, len);
    }
}

/* Serve up to SW_BATCH frames of @p.  Called with sw->lock held. */
static void serve_port(net_switch_t *sw, struct sw_port *p)
{
    for (unsigned int n = 0; n < SW_BATCH && p->up; n++) {
        ssize_t r = port_recv(sw, p);

        if (r >= 0) {
            switch_frame(sw, p, (size_t)r);
        } else if (r == -EAGAIN) {
            return;
        } else if (r == -EPIPE) {
            port_down(sw, p, "its peer hung up");
        } else if (r == -ENOMEM || r == -ENOBUFS) {
            count_drop(p, NET_SWITCH_DROP_ERROR);
            return; /* the host is short of memory: the next round tries again */
        } else if (p->be) {
            count_drop(p, NET_SWITCH_DROP_ERROR); /* a tap lost this frame */
        } else {
            /* A socket that fails otherwise would fail forever (and wake us forever). */
            count_drop(p, NET_SWITCH_DROP_ERROR);
            LOG_WARN("switch %s: port %s: recv: %s", sw->name, p->name, strerror((int)-r));
            port_down(sw, p, "receive error");
        }
    }
}

/* The port an epoll tag names, if that port still has the socket the tag was made for. */
static struct sw_port *tag_port(net_switch_t *sw, uint64_t tag)
{
    uint32_t index = (uint32_t)tag;
    struct sw_port *p;

    if (index == TAG_UPLINK) {
        p = sw->uplink;
    } else if (index < sw->nr_ports) {
        p = sw->ports[index];
    } else {
        return NULL;
    }
    return p && p->up && p->gen == (uint32_t)(tag >> 32) ? p : NULL;
}

/* Serve the @n events in @ev, taking the lock for each.  False when the switch stops. */
static bool serve_events(net_switch_t *sw, const struct epoll_event *ev, int n)
{
    for (int i = 0; i < n; i++) {
        pthread_mutex_lock(&sw->lock);
        if (sw->stopping) {
            pthread_mutex_unlock(&sw->lock);
            return false;
        }
        struct sw_port *p = tag_port(sw, ev[i].data.u64);
        if (p) {
            serve_port(sw, p);
        }
        pthread_mutex_unlock(&sw->lock);
    }
    return true;
}

static void *switch_main(void *arg)
{
    net_switch_t *sw = arg;
    struct epoll_event ev[SW_EVENTS];
    char tname[SW_THREAD_NAME];

    snprintf(tname, sizeof(tname), "%.*s", (int)sizeof(tname) - 1, sw->name);
    pthread_setname_np(pthread_self(), tname);
    for (;;) {
        int n = epoll_wait(sw->epfd, ev, SW_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            LOG_ERR("switch %s: epoll_wait: %s; the switch stops", sw->name, strerror(errno));
            break;
        }
        if (!serve_events(sw, ev, n)) {
            break;
        }
    }
    return NULL;
}

int net_switch_poll(net_switch_t *sw, int timeout_ms)
{
    struct epoll_event ev[SW_EVENTS];
    int n;

    if (!sw || sw->has_thread) {
        return -EINVAL;
    }
    do {
        n = epoll_wait(sw->epfd, ev, SW_EVENTS, timeout_ms);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return -errno;
    }
    serve_events(sw, ev, n);
    return n;
}

/* --- set-up and control ------------------------------------------------------------------ */

static void switch_free(net_switch_t *sw)
{
    for (unsigned int i = 0; i < sw->nr_ports; i++) {
        if (sw->ports[i]->fd >= 0) {
            close(sw->ports[i]->fd);
        }
        free(sw->ports[i]);
    }
    if (sw->uplink) {
        net_backend_destroy(sw->uplink->be);
        free(sw->uplink);
    }
    if (sw->wake_fd >= 0) {
        close(sw->wake_fd);
    }
    if (sw->epfd >= 0) {
        close(sw->epfd);
    }
    free(sw->buf);
    free(sw->buckets);
    free(sw->pool);
    free(sw);
}

int net_switch_create(const char *name, net_switch_t **out)
{
    return net_switch_create_config(name, NULL, out);
}

int net_switch_create_config(const char *name, const net_switch_config_t *cfg, net_switch_t **out)
{
    net_switch_t *sw;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_WAKE};
    uint32_t buckets = 1;
    int rc;

    if (!out || (cfg && cfg->entries > SW_MAX_ENTRIES)) {
        return -EINVAL;
    }
    sw = calloc(1, sizeof(*sw));
    if (!sw) {
        return -ENOMEM;
    }
    sw->epfd = sw->wake_fd = -1;
    snprintf(sw->name, sizeof(sw->name), "%s", name && *name ? name : "switch");
    if (cfg) {
        sw->cfg = *cfg;
    }
    if (!sw->cfg.entries) {
        sw->cfg.entries = NET_SWITCH_DEFAULT_ENTRIES;
    }
    if (!sw->cfg.port_entries) {
        sw->cfg.port_entries = NET_SWITCH_DEFAULT_PORT_ENTRIES;
    }
    if (!sw->cfg.uplink_entries) {
        sw->cfg.uplink_entries = NET_SWITCH_DEFAULT_UPLINK_ENTRIES;
    }
    if (!sw->cfg.age_ns) {
        sw->cfg.age_ns = NET_SWITCH_DEFAULT_AGE_NS;
    }
    if (!sw->cfg.now_ns) {
        sw->cfg.now_ns = clock_monotonic_ns;
    }
    while (buckets < sw->cfg.entries) {
        buckets <<= 1;
    }
    sw->bucket_mask = buckets - 1;
    sw->pool = calloc(sw->cfg.entries, sizeof(*sw->pool));
    sw->buckets = calloc(buckets, sizeof(*sw->buckets));
    sw->buf = malloc(FRAME_MAX);
    if (!sw->pool || !sw->buckets || !sw->buf) {
        switch_free(sw);
        return -ENOMEM;
    }
    list_init(&sw->free_list);
    list_init(&sw->age_list);
    for (uint32_t i = 0; i < buckets; i++) {
        list_init(&sw->buckets[i]);
    }
    for (unsigned int i = 0; i < sw->cfg.entries; i++) {
        list_init(&sw->pool[i].age);
        list_init(&sw->pool[i].link);
        list_add_tail(&sw->free_list, &sw->pool[i].hash);
    }
    if (getrandom(&sw->hash_key, sizeof(sw->hash_key), GRND_NONBLOCK) != sizeof(sw->hash_key)) {
        /* No entropy yet (early boot): the clock and the address still vary per run. */
        sw->hash_key = clock_monotonic_ns(NULL) ^ (uint64_t)(uintptr_t)sw;
    }

    sw->epfd = epoll_create1(EPOLL_CLOEXEC);
    sw->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (sw->epfd < 0 || sw->wake_fd < 0 || epoll_ctl(sw->epfd, EPOLL_CTL_ADD, sw->wake_fd, &ev)) {
        rc = -errno;
        switch_free(sw);
        return rc;
    }
    pthread_mutex_init(&sw->lock, NULL);
    if (!sw->cfg.no_thread) {
        /* The program's signals are not for the switch (vmm_thread_start_quiet). */
        rc = -vmm_thread_start_quiet(&sw->thread, switch_main, sw);
        if (rc < 0) {
            pthread_mutex_destroy(&sw->lock);
            switch_free(sw);
            return rc;
        }
        sw->has_thread = true;
    }
    *out = sw;
    return 0;
}

/*
 * Check that @fd is a SOCK_SEQPACKET socket and make it non-blocking and
 * close-on-exec, with room to send the largest frame (best effort:
 * net.core.wmem_max caps what may be asked without CAP_NET_ADMIN).
 */
static int take_socket(int fd)
{
    int type = 0, sndbuf = 0;
    socklen_t len = sizeof(type);
    int flags;

    if (fd < 0) {
        return -EINVAL;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) {
        return -errno;
    }
    if (type != SOCK_SEQPACKET) {
        return -EPROTOTYPE;
    }
    flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        return -errno;
    }
    len = sizeof(sndbuf);
    if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) == 0 && sndbuf < SW_MIN_SNDBUF) {
        int want = SW_MIN_SNDBUF; /* the kernel doubles it for its bookkeeping */
        if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof(want)) < 0) {
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want));
        }
    }
    return 0;
}

/* Watch @fd for @p's frames and hang-ups under its current generation. */
static int watch(net_switch_t *sw, struct sw_port *p, int fd)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = port_tag(p)};

    return epoll_ctl(sw->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static void port_init(struct sw_port *p, unsigned int index, unsigned int max_macs)
{
    p->index = index;
    p->fd = -1;
    p->max_macs = max_macs;
    list_init(&p->macs);
    vmm_ratelimit_init(&p->rl, 5000, 10);
}

int net_switch_add_port(net_switch_t *sw, int fd, const char *name)
{
    struct sw_port *p;
    int rc;

    if (!sw) {
        return -EINVAL;
    }
    rc = take_socket(fd);
    if (rc < 0) {
        return rc;
    }
    p = calloc(1, sizeof(*p));
    if (!p) {
        return -ENOMEM;
    }
    pthread_mutex_lock(&sw->lock);
    if (sw->nr_ports >= NET_SWITCH_MAX_PORTS) {
        rc = -ENOSPC;
        goto out;
    }
    port_init(p, sw->nr_ports, sw->cfg.port_entries);
    if (name && *name) {
        snprintf(p->name, sizeof(p->name), "%s", name);
    } else {
        snprintf(p->name, sizeof(p->name), "port%u", p->index);
    }
    rc = watch(sw, p, fd);
    if (rc < 0) {
        goto out;
    }
    p->fd = fd;
    p->up = true;
    sw->ports[sw->nr_ports++] = p;
    rc = (int)p->index;
    p = NULL;
out:
    pthread_mutex_unlock(&sw->lock);
    free(p);
    return rc;
}

int net_switch_replace_port(net_switch_t *sw, unsigned int port, int fd)
{
    struct sw_port *p;
    int rc;

    if (!sw) {
        return -EINVAL;
    }
    rc = take_socket(fd);
    if (rc < 0) {
        return rc;
    }
    pthread_mutex_lock(&sw->lock);
    if (port >= sw->nr_ports) {
        rc = -ENOENT;
        goto out;
    }
    p = sw->ports[port];
    p->gen++;
    rc = watch(sw, p, fd);
    if (rc < 0) {
        p->gen--; /* the old socket's events still carry the old generation */
        goto out;
    }
    if (p->up) {
        epoll_ctl(sw->epfd, EPOLL_CTL_DEL, p->fd, NULL);
        close(p->fd);
    }
    fdb_flush_port(sw, p);
    p->fd = fd;
    p->up = true;
    LOG_INFO("switch %s: port %s has a new socket", sw->name, p->name);
out:
    pthread_mutex_unlock(&sw->lock);
    return rc;
}

int net_switch_set_uplink(net_switch_t *sw, net_backend_t *be)
{
    struct sw_port *p;
    int rc;

    if (!sw || !be || !be->ops || !be->ops->recv || !be->ops->send || be->fd < 0) {
        return -EINVAL;
    }
    p = calloc(1, sizeof(*p));
    if (!p) {
        return -ENOMEM;
    }
    port_init(p, NET_SWITCH_UPLINK, sw->cfg.uplink_entries);
    snprintf(p->name, sizeof(p->name), "%s", be->name[0] ? be->name : "uplink");
    p->be = be;

    pthread_mutex_lock(&sw->lock);
    if (sw->uplink) {
        rc = -EBUSY;
        goto out;
    }
    /* Fully checksummed, unsegmented frames, as the ports carry. */
    rc = be->ops->set_offloads ? be->ops->set_offloads(be, 0) : 0;
    if (rc < 0) {
        goto out;
    }
    rc = watch(sw, p, be->fd);
    if (rc < 0) {
        goto out;
    }
    p->up = true;
    sw->uplink = p;
    p = NULL;
out:
    pthread_mutex_unlock(&sw->lock);
    free(p);
    return rc;
}

int net_switch_port_stats(net_switch_t *sw, unsigned int port, net_switch_stats_t *out)
{
    struct sw_port *p = NULL;

    if (!sw || !out) {
        return -EINVAL;
    }
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&sw->lock);
    if (port == NET_SWITCH_UPLINK) {
        p = sw->uplink;
    } else if (port < sw->nr_ports) {
        p = sw->ports[port];
    }
    if (p) {
        *out = p->stats;
        out->macs = p->nr_macs;
        out->up = p->up;
    }
    pthread_mutex_unlock(&sw->lock);
    return p ? 0 : -ENOENT;
}

unsigned int net_switch_port_count(net_switch_t *sw)
{
    unsigned int n;

    if (!sw) {
        return 0;
    }
    pthread_mutex_lock(&sw->lock);
    n = sw->nr_ports;
    pthread_mutex_unlock(&sw->lock);
    return n;
}

void net_switch_destroy(net_switch_t *sw)
{
    if (!sw) {
        return;
    }
    if (sw->has_thread) {
        uint64_t one = 1;
        pthread_mutex_lock(&sw->lock);
        sw->stopping = true;
        pthread_mutex_unlock(&sw->lock);
        if (write(sw->wake_fd, &one, sizeof(one)) != sizeof(one)) {
            LOG_ERR("switch %s: cannot wake its thread: %s", sw->name, strerror(errno));
        }
        pthread_join(sw->thread, NULL);
    }
    pthread_mutex_destroy(&sw->lock);
    switch_free(sw);
}
