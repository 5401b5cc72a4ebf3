/*
 * mmio_forward.c - the forwarding MMIO region and the handler's side of its
 * wire protocol (see include/vmmkit/mmio_forward.h for both).
 *
 * The VMM side never blocks without a deadline: the socket is used with
 * MSG_DONTWAIT and poll(), and one deadline covers sending the request and
 * waiting for its reply.  Sequence numbers tell a reply to the current
 * request from a late one: the requests in [stale_lo, next_seq - 1) were
 * given up on (timed out, or answered with garbage) and may still be
 * answered late; such replies are dropped.  Anything else with the wrong
 * seq is a bad reply.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <vmmkit/guest_memory.h>
#include <vmmkit/log.h>
#include <vmmkit/mmio_forward.h>

/* Late replies are recognised for this many abandoned requests at most. */
#define STALE_WINDOW (1u << 16)
/* Receive buffer: larger than any valid message, so an oversized one shows. */
#define MSG_BUF 64

struct mmio_forward {
    vm_t *vm;
    vm_memory_reservation_t *res;
    char *name;
    uint64_t base, size;
    char *path;                /* NULL: no reconnects */
    unsigned int reconnect_ms; /* 0: no reconnects */
    unsigned int timeout_ms;   /* atomic */

    pthread_mutex_t lock; /* one request at a time; guards what follows */
    int fd;               /* -1: no handler */
    uint32_t next_seq;    /* seq of the next request */
    uint32_t stale_lo;    /* first abandoned request a late reply may still answer */
    uint64_t next_reconnect_ns;

    uint64_t stats[MMIO_FORWARD_STAT_COUNT]; /* atomics */
    vmm_ratelimit_t rl_fail;
};

/* Why an access failed (for the log line). */
typedef enum fwd_failure {
    FWD_OK = 0,
    FWD_TIMEOUT,
    FWD_DEAD,
    FWD_BAD_SIZE,
    FWD_BAD_SEQ,
    FWD_BAD_DATA,
    FWD_STATUS,
    FWD_REFUSED,
} fwd_failure_t;

static const char *const stat_names[MMIO_FORWARD_STAT_COUNT] = {
    [MMIO_FORWARD_STAT_READS] = "reads",
    [MMIO_FORWARD_STAT_WRITES] = "writes",
    [MMIO_FORWARD_STAT_REQUESTS] = "requests",
    [MMIO_FORWARD_STAT_TIMEOUTS] = "timeouts",
    [MMIO_FORWARD_STAT_HANDLER_DEATHS] = "handler-deaths",
    [MMIO_FORWARD_STAT_BAD_REPLIES] = "bad-replies",
    [MMIO_FORWARD_STAT_ERRORS] = "errors",
    [MMIO_FORWARD_STAT_STALE_REPLIES] = "stale-replies",
    [MMIO_FORWARD_STAT_REFUSED] = "refused",
    [MMIO_FORWARD_STAT_RECONNECTS] = "reconnects",
};

/* --- little-endian fields ------------------------------------------------------------ */

static void put_le(uint8_t *p, unsigned int n, uint64_t v)
{
    for (unsigned int i = 0; i < n; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint64_t get_le(const uint8_t *p, unsigned int n)
{
    uint64_t v = 0;
    for (unsigned int i = 0; i < n; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

static uint64_t width_mask(unsigned int width)
{
    return width >= 8 ? UINT64_MAX : (1ull << (8 * width)) - 1;
}

static void encode_request(uint8_t *b, const mmio_forward_request_t *r)
{
    memset(b, 0, MMIO_FORWARD_REQUEST_SIZE);
    put_le(b + 0, 4, MMIO_FORWARD_MAGIC);
    put_le(b + 4, 4, r->seq);
    put_le(b + 8, 8, r->addr);
    put_le(b + 16, 8, r->offset);
    b[24] = (uint8_t)r->width;
    b[25] = r->is_write ? 1 : 0;
    put_le(b + 32, 8, r->data);
}

/* --- the VMM side -------------------------------------------------------------------- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Milliseconds left until @deadline, rounded up; 0 when it passed. */
static int ms_left(uint64_t deadline)
{
    uint64_t now = now_ns();
    if (now >= deadline) {
        return 0;
    }
    return (int)((deadline - now + 999999) / 1000000);
}

static void stat_inc(mmio_forward_t *f, mmio_forward_stat_t stat)
{
    __atomic_fetch_add(&f->stats[stat], 1, __ATOMIC_RELAXED);
}

/* A connected, non-blocking, close-on-exec socket to @path, or -errno. */
static int connect_path(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        return -ENAMETOOLONG;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return -errno;
    }
    /* Non-blocking: a listener with a full backlog fails at once (EAGAIN) instead of waiting. */
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

/* 0 when @fd is a connected AF_UNIX SOCK_SEQPACKET socket, else -EINVAL. */
static int check_socket(int fd)
{
    int type = 0, domain = 0;
    socklen_t len = sizeof(type);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET) {
        return -EINVAL;
    }
    len = sizeof(domain);
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 || domain != AF_UNIX) {
        return -EINVAL;
    }
    struct sockaddr_un peer;
    len = sizeof(peer);
    if (getpeername(fd, (struct sockaddr *)&peer, &len) < 0) {
        return -EINVAL; /* not connected */
    }
    return 0;
}

/* The handler is gone: drop the connection.  Called with f->lock held. */
static void handler_lost(mmio_forward_t *f)
{
    close(f->fd);
    f->fd = -1;
    f->next_reconnect_ns = now_ns(); /* the next access may try at once */
    stat_inc(f, MMIO_FORWARD_STAT_HANDLER_DEATHS);
}

/* With a path and an interval, try to reach a new handler.  Called with f->lock held. */
static void maybe_reconnect(mmio_forward_t *f)
{
    if (!f->path || f->reconnect_ms == 0) {
        return;
    }
    uint64_t now = now_ns();
    if (now < f->next_reconnect_ns) {
        return;
    }
    f->next_reconnect_ns = now + (uint64_t)f->reconnect_ms * 1000000ull;
    int fd = connect_path(f->path);
    if (fd < 0) {
        LOG_WARN_RL(&f->rl_fail, "%s: %s: reconnecting to %s: %s; next try in %u ms",
                    vm_name(f->vm), f->name, f->path, strerror(-fd), f->reconnect_ms);
        return;
    }
    f->fd = fd;
    f->stale_lo = f->next_seq; /* nothing the new handler sends can be late */
    stat_inc(f, MMIO_FORWARD_STAT_RECONNECTS);
    LOG_INFO("%s: %s: reconnected to the handler at %s", vm_name(f->vm), f->name, f->path);
}

/* Send @req's bytes before @deadline.  Called with f->lock held. */
static fwd_failure_t send_request(mmio_forward_t *f, const uint8_t *buf, uint64_t deadline)
{
    for (;;) {
        ssize_t n = send(f->fd, buf, MMIO_FORWARD_REQUEST_SIZE, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n == (ssize_t)MMIO_FORWARD_REQUEST_SIZE) {
            return FWD_OK;
        }
        if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            return FWD_DEAD; /* EPIPE, ECONNRESET, ENOTCONN, or a short send on a packet socket */
        }
        if (errno == EINTR) {
            continue;
        }
        /* The handler's queue is full (it stalls): wait for room, within the deadline. */
        int ms = ms_left(deadline);
        if (ms == 0) {
            return FWD_TIMEOUT;
        }
        struct pollfd pfd = {.fd = f->fd, .events = POLLOUT};
        int rc = poll(&pfd, 1, ms);
        if (rc == 0) {
            return FWD_TIMEOUT;
        }
        if (rc < 0 && errno != EINTR) {
            return FWD_DEAD;
        }
    }
}

/* Whether @seq answers a request given up on earlier. */
static bool is_stale(const mmio_forward_t *f, uint32_t seq, uint32_t cur)
{
    return (uint32_t)(seq - f->stale_lo) < (uint32_t)(cur - f->stale_lo);
}

/*
 * Wait for the reply to request @cur before @deadline and check it; for a
 * read, *@data receives its value.  Called with f->lock held.
 */
static fwd_failure_t wait_reply(mmio_forward_t *f, uint32_t cur, unsigned int width, bool is_write,
                                uint64_t deadline, uint64_t *data, int32_t *status)
{
    for (;;) {
        int ms = ms_left(deadline);
        if (ms == 0) {
            return FWD_TIMEOUT;
        }
        struct pollfd pfd = {.fd = f->fd, .events = POLLIN};
        int rc = poll(&pfd, 1, ms);
        if (rc == 0) {
            return FWD_TIMEOUT;
        }
        if (rc < 0) {
            if (errno == EINTR) {
                continue;
            }
            return FWD_DEAD;
        }
        if (!(pfd.revents & POLLIN)) {
            return FWD_DEAD; /* POLLHUP / POLLERR with nothing left to read */
        }
        uint8_t buf[MSG_BUF];
        ssize_t n = recv(f->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                continue;
            }
            return FWD_DEAD;
        }
        if (n == 0) {
            return FWD_DEAD; /* EOF */
        }
        if (n != (ssize_t)MMIO_FORWARD_REPLY_SIZE) {
            return FWD_BAD_SIZE;
        }
        uint32_t seq = (uint32_t)get_le(buf, 4);
        if (seq != cur) {
            if (is_stale(f, seq, cur)) {
                f->stale_lo = seq + 1; /* replies come in order: earlier ones will not */
                stat_inc(f, MMIO_FORWARD_STAT_STALE_REPLIES);
                continue;
            }
            return FWD_BAD_SEQ;
        }
        f->stale_lo = cur + 1; /* answered: nothing before it is awaited any more */
        *status = (int32_t)(uint32_t)get_le(buf + 4, 4);
        if (*status != 0) {
            return FWD_STATUS;
        }
        uint64_t v = get_le(buf + 8, 8);
        if (!is_write) {
            if (v & ~width_mask(width)) {
                return FWD_BAD_DATA;
            }
            *data = v;
        }
        return FWD_OK;
    }
}

static const char *failure_text(fwd_failure_t why)
{
    switch (why) {
    case FWD_TIMEOUT:
        return "the handler did not answer in time";
    case FWD_DEAD:
        return "the handler is gone";
    case FWD_BAD_SIZE:
        return "the reply is not 16 bytes";
    case FWD_BAD_SEQ:
        return "the reply answers no request sent";
    case FWD_BAD_DATA:
        return "the reply's data has bits past the access width";
    case FWD_STATUS:
        return "the handler returned an error status";
    case FWD_REFUSED:
        return "no handler is connected";
    case FWD_OK:
    default:
        return "ok";
    }
}

static void count_failure(mmio_forward_t *f, fwd_failure_t why)
{
    switch (why) {
    case FWD_TIMEOUT:
        stat_inc(f, MMIO_FORWARD_STAT_TIMEOUTS);
        break;
    case FWD_DEAD:
        break; /* handler_lost() counted it */
    case FWD_BAD_SIZE:
    case FWD_BAD_SEQ:
    case FWD_BAD_DATA:
        stat_inc(f, MMIO_FORWARD_STAT_BAD_REPLIES);
        break;
    case FWD_STATUS:
        stat_inc(f, MMIO_FORWARD_STAT_ERRORS);
        break;
    case FWD_REFUSED:
        stat_inc(f, MMIO_FORWARD_STAT_REFUSED);
        break;
    case FWD_OK:
    default:
        break;
    }
}

static memory_fault_result_t forward_access(mmio_forward_t *f, vm_vcpu_t *vcpu, uint64_t offset,
                                            unsigned int width, bool is_write, uint64_t *data)
{
    if (!f || !data || width < 1 || width > 8 || offset >= f->size || width > f->size - offset) {
        return FAULT_UNHANDLED;
    }
    stat_inc(f, is_write ? MMIO_FORWARD_STAT_WRITES : MMIO_FORWARD_STAT_READS);
    mmio_forward_request_t req = {
        .addr = f->base + offset,
        .offset = offset,
        .width = width,
        .is_write = is_write,
        .data = is_write ? *data & width_mask(width) : 0,
    };
    uint64_t value = 0;
    int32_t status = 0;
    fwd_failure_t why;

    pthread_mutex_lock(&f->lock);
    unsigned int timeout_ms = __atomic_load_n(&f->timeout_ms, __ATOMIC_RELAXED);
    uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000ull;
    if (f->fd < 0) {
        maybe_reconnect(f);
    }
    if (f->fd < 0) {
        why = FWD_REFUSED;
    } else {
        req.seq = f->next_seq++;
        if (f->next_seq == 0) {
            f->next_seq = 1; /* 0 is never used: a zeroed reply never matches */
        }
        if ((uint32_t)(req.seq - f->stale_lo) > STALE_WINDOW) {
            f->stale_lo = req.seq - STALE_WINDOW;
        }
        uint8_t buf[MMIO_FORWARD_REQUEST_SIZE];
        encode_request(buf, &req);
        why = send_request(f, buf, deadline);
        if (why == FWD_OK) {
            stat_inc(f, MMIO_FORWARD_STAT_REQUESTS);
            why = wait_reply(f, req.seq, width, is_write, deadline, &value, &status);
        }
        if (why == FWD_DEAD) {
            handler_lost(f);
        }
    }
    pthread_mutex_unlock(&f->lock);

    if (why == FWD_OK) {
        if (!is_write) {
            *data = value;
        }
        return FAULT_HANDLED;
    }
    count_failure(f, why);
    char who[32] = "host";
    if (vcpu) {
        snprintf(who, sizeof(who), "vcpu%u", vm_vcpu_id(vcpu));
    }
    char extra[48] = "";
    if (why == FWD_TIMEOUT) {
        snprintf(extra, sizeof(extra), " (%u ms)", timeout_ms);
    } else if (why == FWD_STATUS) {
        snprintf(extra, sizeof(extra), " (%d)", (int)status);
    }
    LOG_WARN_RL(&f->rl_fail, "%s: %s: %s %s of %u bytes at %#llx: %s%s; bus error", vm_name(f->vm),
                f->name, who, is_write ? "write" : "read", width, (unsigned long long)req.addr,
                failure_text(why), extra);
    if (!is_write) {
        *data = width_mask(width);
    }
    return FAULT_BUS_ERROR;
}

static memory_fault_result_t forward_fault(vm_t *vm, vm_vcpu_t *vcpu, uintptr_t addr, size_t len,
                                           void *cookie)
{
    mmio_forward_t *f = cookie;
    bool is_write = !is_vcpu_read_fault(vcpu);
    uint64_t data = is_write ? get_vcpu_fault_data(vcpu) : 0;

    if (addr < f->base) {
        return FAULT_UNHANDLED;
    }
    memory_fault_result_t res =
        forward_access(f, vcpu, addr - f->base, (unsigned int)len, is_write, &data);
    if (res == FAULT_HANDLED && !is_write) {
        set_vcpu_fault_data(vcpu, data);
    }
    return res;
}

static void forward_free(mmio_forward_t *f)
{
    if (f->fd >= 0) {
        close(f->fd);
    }
    free(f->path);
    free(f->name);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

int mmio_forward_create(vm_t *vm, const mmio_forward_config_t *cfg, mmio_forward_t **out)
{
    if (!vm || !cfg || !out) {
        return -EINVAL;
    }
    const char *name = cfg->name ? cfg->name : "mmio-forward";
    if (cfg->size == 0 || cfg->base + cfg->size - 1 < cfg->base) {
        LOG_ERR("%s: region at %#llx of %#llx bytes: the size must be at least 1 and the region "
                "must not wrap",
                name, (unsigned long long)cfg->base, (unsigned long long)cfg->size);
        return -EINVAL;
    }
    if (cfg->fd < 0 && !cfg->path) {
        LOG_ERR("%s: neither a connected socket nor a socket path is given", name);
        return -EINVAL;
    }
    if (cfg->timeout_ms > MMIO_FORWARD_MAX_TIMEOUT_MS) {
        LOG_ERR("%s: timeout %u ms is over the limit of %u ms", name, cfg->timeout_ms,
                MMIO_FORWARD_MAX_TIMEOUT_MS);
        return -EINVAL;
    }
    if (cfg->path && strlen(cfg->path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        LOG_ERR("%s: socket path %s is longer than %zu bytes", name, cfg->path,
                sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
        return -ENAMETOOLONG;
    }
    if (cfg->fd >= 0 && check_socket(cfg->fd) < 0) {
        LOG_ERR("%s: descriptor %d is not a connected AF_UNIX SOCK_SEQPACKET socket", name,
                cfg->fd);
        return -EINVAL;
    }

    mmio_forward_t *f = calloc(1, sizeof(*f));
    if (!f) {
        return -ENOMEM;
    }
    if (pthread_mutex_init(&f->lock, NULL) != 0) {
        free(f);
        return -ENOMEM;
    }
    f->fd = -1;
    f->vm = vm;
    f->base = cfg->base;
    f->size = cfg->size;
    f->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : MMIO_FORWARD_DEFAULT_TIMEOUT_MS;
    f->reconnect_ms = cfg->reconnect_ms;
    f->next_seq = 1;
    f->stale_lo = 1;
    vmm_ratelimit_init(&f->rl_fail, 5000, 10);
    f->name = strdup(name);
    f->path = cfg->path ? strdup(cfg->path) : NULL;
    if (!f->name || (cfg->path && !f->path)) {
        forward_free(f);
        return -ENOMEM;
    }
    if (cfg->fd < 0) {
        int fd = connect_path(cfg->path);
        if (fd < 0) {
            LOG_ERR("%s: connecting to the handler at %s: %s", name, cfg->path, strerror(-fd));
            forward_free(f);
            return fd;
        }
        f->fd = fd;
    }

    errno = 0;
    f->res = vm_reserve_memory_at(vm, cfg->base, cfg->size, forward_fault, f);
    if (!f->res) {
        int rc = errno ? -errno : -ENOMEM;
        LOG_ERR("%s: region %#llx-%#llx: %s", name, (unsigned long long)cfg->base,
                (unsigned long long)(cfg->base + cfg->size - 1), strerror(-rc));
        forward_free(f); /* closes only a socket we connected ourselves */
        return rc;
    }
    if (cfg->fd >= 0) {
        f->fd = cfg->fd; /* ours from here on */
    }
    LOG_DEBUG("%s: forwarding region %#llx-%#llx, timeout %u ms", name,
              (unsigned long long)cfg->base, (unsigned long long)(cfg->base + cfg->size - 1),
              f->timeout_ms);
    *out = f;
    return 0;
}

void mmio_forward_destroy(mmio_forward_t *f)
{
    if (!f) {
        return;
    }
    vm_free_reserved_memory(f->vm, f->res);
    forward_free(f);
}

memory_fault_result_t mmio_forward_access(mmio_forward_t *f, uint64_t offset, unsigned int width,
                                          bool is_write, uint64_t *data)
{
    return forward_access(f, NULL, offset, width, is_write, data);
}

int mmio_forward_set_timeout(mmio_forward_t *f, unsigned int timeout_ms)
{
    if (!f || timeout_ms > MMIO_FORWARD_MAX_TIMEOUT_MS) {
        return -EINVAL;
    }
    __atomic_store_n(&f->timeout_ms, timeout_ms ? timeout_ms : MMIO_FORWARD_DEFAULT_TIMEOUT_MS,
                     __ATOMIC_RELAXED);
    return 0;
}

bool mmio_forward_connected(mmio_forward_t *f)
{
    if (!f) {
        return false;
    }
    pthread_mutex_lock(&f->lock);
    bool up = f->fd >= 0;
    pthread_mutex_unlock(&f->lock);
    return up;
}

uint64_t mmio_forward_stat(const mmio_forward_t *f, mmio_forward_stat_t stat)
{
    if (!f || (unsigned int)stat >= MMIO_FORWARD_STAT_COUNT) {
        return 0;
    }
    return __atomic_load_n(&f->stats[stat], __ATOMIC_RELAXED);
}

const char *mmio_forward_stat_name(mmio_forward_stat_t stat)
{
    return (unsigned int)stat < MMIO_FORWARD_STAT_COUNT ? stat_names[stat] : "unknown";
}

uint64_t mmio_forward_base(const mmio_forward_t *f)
{
    return f ? f->base : 0;
}

uint64_t mmio_forward_size(const mmio_forward_t *f)
{
    return f ? f->size : 0;
}

/* --- the handler's side -------------------------------------------------------------- */

int mmio_forward_recv_request(int fd, mmio_forward_request_t *req)
{
    if (!req) {
        return -EINVAL;
    }
    uint8_t b[MSG_BUF];
    ssize_t n;
    do {
        n = recv(fd, b, sizeof(b), MSG_TRUNC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return errno == ECONNRESET ? 0 : -errno;
    }
    if (n == 0) {
        return 0;
    }
    if (n != (ssize_t)MMIO_FORWARD_REQUEST_SIZE || get_le(b, 4) != MMIO_FORWARD_MAGIC) {
        return -EPROTO;
    }
    for (unsigned int i = 26; i < 32; i++) {
        if (b[i] != 0) {
            return -EPROTO;
        }
    }
    mmio_forward_request_t r = {
        .seq = (uint32_t)get_le(b + 4, 4),
        .addr = get_le(b + 8, 8),
        .offset = get_le(b + 16, 8),
        .width = b[24],
        .is_write = b[25] == 1,
        .data = get_le(b + 32, 8),
    };
    if (r.width < 1 || r.width > 8 || b[25] > 1 || (r.data & ~width_mask(r.width)) ||
        (!r.is_write && r.data != 0)) {
        return -EPROTO;
    }
    *req = r;
    return 1;
}

int mmio_forward_send_reply(int fd, uint32_t seq, int32_t status, uint64_t data)
{
    uint8_t b[MMIO_FORWARD_REPLY_SIZE];
    put_le(b + 0, 4, seq);
    put_le(b + 4, 4, (uint32_t)status);
    put_le(b + 8, 8, data);
    ssize_t n;
    do {
        n = send(fd, b, sizeof(b), MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return -errno;
    }
    return n == (ssize_t)sizeof(b) ? 0 : -EIO;
}

int mmio_forward_serve(int fd, mmio_forward_handler_fn fn, void *opaque)
{
    if (!fn) {
        return -EINVAL;
    }
    for (;;) {
        mmio_forward_request_t req;
        int rc = mmio_forward_recv_request(fd, &req);
        if (rc <= 0) {
            return rc;
        }
        uint64_t data = 0;
        int32_t status = fn(opaque, &req, &data);
        if (req.is_write || status != 0) {
            data = 0;
        }
        rc = mmio_forward_send_reply(fd, req.seq, status, data & width_mask(req.width));
        if (rc == -EPIPE || rc == -ECONNRESET) {
            return 0;
        }
        if (rc < 0) {
            return rc;
        }
    }
}
