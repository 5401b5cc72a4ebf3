/*
 * test_mmio_forward.c - the forwarding MMIO region and its handler side
 * (src/devices/mmio_forward.c), over the fake backend, with handlers in a
 * thread (scripted misbehaviour) or in a forked process (killed for real).
 */
#define _GNU_SOURCE /* accept4, pipe2 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vmmkit/guest_memory.h>
#include <vmmkit/log.h>
#include <vmmkit/mmio_forward.h>

#include "fake_hv.h"

#define BASE 0xa000000ull
#define SIZE 256u
/* Waits that should succeed get this long: the tests may run on a slow emulated CPU. */
#define GENEROUS_MS 10000u
#define SHORT_MS 100u

/* Offsets with a meaning to the handlers, all at or above PLAIN (plain RAM below). */
#define PLAIN 0x80u
#define OFF_STALL 0xc0u  /* thread handler: wait for h->release before replying */
#define OFF_PAUSE 0xf0u  /* child handler: tell the parent, then hang until killed */
#define OFF_HANGUP 0xe0u /* reconnect handler: drop the connection */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t wmask(unsigned int width)
{
    return width >= 8 ? UINT64_MAX : (1ull << (8 * width)) - 1;
}

/* A little RAM device, the handlers' default behaviour. */
static uint64_t ram_access(uint8_t *ram, const mmio_forward_request_t *req)
{
    uint64_t v = 0;
    for (unsigned int i = 0; i < req->width && req->offset + i < SIZE; i++) {
        if (req->is_write) {
            ram[req->offset + i] = (uint8_t)(req->data >> (8 * i));
        } else {
            v |= (uint64_t)ram[req->offset + i] << (8 * i);
        }
    }
    return v;
}

/* --- a handler thread that can misbehave on demand ---------------------------------------- */

enum mode {
    M_RAM,       /* answer properly */
    M_SHORT,     /* a 12-byte reply */
    M_LONG,      /* a 24-byte reply */
    M_WRONG_SEQ, /* a reply to a request never sent */
    M_STATUS,    /* status -EIO */
    M_HIGH_BITS, /* read data with a bit set past the width */
    M_HANGUP,    /* close the connection without a reply */
};

struct handler {
    int fd;
    pthread_t thread;
    int mode; /* enum mode, atomic */
    sem_t release;
    pthread_mutex_t lock;
    mmio_forward_request_t last; /* under lock */
    int count;                   /* under lock */
    uint8_t ram[SIZE];           /* the handler thread's own */
};

static void send_raw(int fd, uint32_t seq, size_t len)
{
    uint8_t b[32] = {0};
    memcpy(b, &seq, 4);
    assert_int_equal(send(fd, b, len, MSG_NOSIGNAL), (ssize_t)len);
}

static void *handler_main(void *arg)
{
    struct handler *h = arg;
    mmio_forward_request_t req;
    while (mmio_forward_recv_request(h->fd, &req) == 1) {
        pthread_mutex_lock(&h->lock);
        h->last = req;
        h->count++;
        pthread_mutex_unlock(&h->lock);
        if (req.offset == OFF_STALL) {
            sem_wait(&h->release);
        }
        uint64_t data = ram_access(h->ram, &req);
        switch (__atomic_load_n(&h->mode, __ATOMIC_ACQUIRE)) {
        case M_RAM:
            mmio_forward_send_reply(h->fd, req.seq, 0, data);
            break;
        case M_SHORT:
            send_raw(h->fd, req.seq, 12);
            break;
        case M_LONG:
            send_raw(h->fd, req.seq, 24);
            break;
        case M_WRONG_SEQ:
            mmio_forward_send_reply(h->fd, req.seq + 1000, 0, data);
            break;
        case M_STATUS:
            mmio_forward_send_reply(h->fd, req.seq, -EIO, 0);
            break;
        case M_HIGH_BITS:
            mmio_forward_send_reply(h->fd, req.seq, 0, data | (1ull << (8 * req.width)));
            break;
        case M_HANGUP:
        default:
            shutdown(h->fd, SHUT_RDWR);
            goto out;
        }
    }
out:
    close(h->fd);
    return NULL;
}

struct fixture {
    vm_t *vm;
    vm_vcpu_t *vcpu;
    mmio_forward_t *fwd;
    struct handler *h; /* a handler thread, or NULL */
    pid_t child;       /* a handler process, or 0 */
    int child_note;    /* the child writes a byte here when it hangs on OFF_PAUSE */
};

static int setup(void **state)
{
    vmm_log_set_level(VMM_LOG_ERR); /* the tests provoke warnings on purpose */
    struct fixture *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->vm = fake_vm_create();
    assert_non_null(fx->vm);
    fx->vcpu = vm_create_vcpu(fx->vm, 0);
    assert_non_null(fx->vcpu);
    fx->child_note = -1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    mmio_forward_destroy(fx->fwd); /* the handler sees EOF */
    if (fx->h) {
        for (int i = 0; i < 4; i++) {
            sem_post(&fx->h->release); /* in case a test left it stalled */
        }
        pthread_join(fx->h->thread, NULL);
        sem_destroy(&fx->h->release);
        pthread_mutex_destroy(&fx->h->lock);
        free(fx->h);
    }
    if (fx->child > 0) {
        kill(fx->child, SIGKILL);
        waitpid(fx->child, NULL, 0);
    }
    if (fx->child_note >= 0) {
        close(fx->child_note);
    }
    vm_destroy(fx->vm);
    free(fx);
    return 0;
}

static void create_on_fd(struct fixture *fx, int fd, unsigned int timeout_ms)
{
    mmio_forward_config_t cfg = {
        .name = "test-forward",
        .base = BASE,
        .size = SIZE,
        .fd = fd,
        .timeout_ms = timeout_ms,
    };
    assert_int_equal(mmio_forward_create(fx->vm, &cfg, &fx->fwd), 0);
    assert_true(mmio_forward_connected(fx->fwd));
}

static struct handler *start_thread_handler(struct fixture *fx, unsigned int timeout_ms)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    struct handler *h = calloc(1, sizeof(*h));
    assert_non_null(h);
    h->fd = sv[1];
    sem_init(&h->release, 0, 0);
    pthread_mutex_init(&h->lock, NULL);
    create_on_fd(fx, sv[0], timeout_ms);
    assert_int_equal(pthread_create(&h->thread, NULL, handler_main, h), 0);
    fx->h = h;
    return h;
}

static mmio_forward_request_t last_request(struct handler *h, int *count)
{
    pthread_mutex_lock(&h->lock);
    mmio_forward_request_t r = h->last;
    *count = h->count;
    pthread_mutex_unlock(&h->lock);
    return r;
}

/* --- a handler process -------------------------------------------------------------------- */

struct child_ctx {
    uint8_t ram[SIZE];
    int note;
};

static int32_t child_handle(void *opaque, const mmio_forward_request_t *req, uint64_t *data)
{
    struct child_ctx *c = opaque;
    if (req->offset == OFF_PAUSE) {
        if (write(c->note, "p", 1) != 1) {
            _exit(3);
        }
        for (;;) {
            pause();
        }
    }
    *data = ram_access(c->ram, req);
    return 0;
}

static void start_child_handler(struct fixture *fx, unsigned int timeout_ms)
{
    int sv[2], note[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(pipe2(note, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(sv[0]);
        close(note[0]);
        struct child_ctx c = {.note = note[1]};
        _exit(mmio_forward_serve(sv[1], child_handle, &c) == 0 ? 0 : 2);
    }
    close(sv[1]);
    close(note[1]);
    fx->child = pid;
    fx->child_note = note[0];
    create_on_fd(fx, sv[0], timeout_ms);
}

/* --- guest accesses ----------------------------------------------------------------------- */

/* Through the core's dispatch (for accesses that succeed). */
static uint64_t rd(struct fixture *fx, uint64_t off, uint32_t len)
{
    struct fake_exit e;
    fake_mmio(&e, BASE + off, len, false, 0);
    assert_int_equal(vcpu_handle_exit(fx->vcpu, &e.exit), VCPU_CONTINUE);
    uint64_t v = 0;
    memcpy(&v, e.exit.mmio.data, len);
    return v;
}

static void wr(struct fixture *fx, uint64_t off, uint32_t len, uint64_t v)
{
    struct fake_exit e;
    fake_mmio(&e, BASE + off, len, true, v);
    assert_int_equal(vcpu_handle_exit(fx->vcpu, &e.exit), VCPU_CONTINUE);
}

/*
 * Through the reservation's own fault callback, called as the core calls it,
 * so the test sees the memory_fault_result_t itself (FAULT_BUS_ERROR).
 */
static memory_fault_result_t fault(struct fixture *fx, uint64_t off, uint32_t len, bool is_write,
                                   uint64_t *data)
{
    uint64_t addr = BASE + off;
    struct fake_exit e;
    fake_mmio(&e, addr, len, is_write, *data);
    pthread_rwlock_rdlock(&fx->vm->mem.lock);
    struct itree_node *n = itree_lookup(&fx->vm->mem.tree, addr);
    assert_non_null(n);
    vm_memory_reservation_t *r = itree_entry(n, vm_memory_reservation_t, node);
    memory_fault_callback_fn cb = r->fault_callback;
    void *cookie = r->cookie;
    pthread_rwlock_unlock(&fx->vm->mem.lock);

    if (!is_write) {
        memset(e.data, 0, len); /* as the core does: a read not answered returns 0 */
    }
    fx->vcpu->fault = &e.exit;
    memory_fault_result_t res = cb(fx->vm, fx->vcpu, addr, len, cookie);
    fx->vcpu->fault = NULL;
    if (!is_write) {
        *data = 0;
        memcpy(data, e.data, len);
    }
    return res;
}

static uint64_t st(struct fixture *fx, mmio_forward_stat_t s)
{
    return mmio_forward_stat(fx->fwd, s);
}

/* --- tests -------------------------------------------------------------------------------- */

static void test_round_trips(void **state)
{
    struct fixture *fx = *state;
    struct handler *h = start_thread_handler(fx, GENEROUS_MS);

    /* Writes arrive with address, offset, width and data; seqs count up from 1. */
    const uint32_t widths[] = {1, 2, 4, 8};
    const uint64_t values[] = {0xa5, 0xbeef, 0xdeadbeef, 0x0123456789abcdefull};
    for (unsigned int i = 0; i < 4; i++) {
        wr(fx, 0x10 * i + 1, widths[i], values[i]);
        int count;
        mmio_forward_request_t r = last_request(h, &count);
        assert_int_equal(count, i + 1);
        assert_int_equal(r.seq, i + 1);
        assert_int_equal(r.addr, BASE + 0x10 * i + 1);
        assert_int_equal(r.offset, 0x10 * i + 1);
        assert_int_equal(r.width, widths[i]);
        assert_true(r.is_write);
        assert_int_equal(r.data, values[i]);
    }
    /* Reads get the handler's data, at the access width. */
    for (unsigned int i = 0; i < 4; i++) {
        assert_int_equal(rd(fx, 0x10 * i + 1, widths[i]), values[i]);
        int count;
        mmio_forward_request_t r = last_request(h, &count);
        assert_false(r.is_write);
        assert_int_equal(r.width, widths[i]);
        assert_int_equal(r.data, 0);
    }
    assert_int_equal(rd(fx, 0x31, 2), 0xcdef); /* part of the 8-byte value */

    /* Many sequential accesses against a model of the handler's RAM. */
    uint8_t model[SIZE] = {0};
    for (unsigned int i = 0; i < 4; i++) {
        for (unsigned int b = 0; b < widths[i]; b++) {
            model[0x10 * i + 1 + b] = (uint8_t)(values[i] >> (8 * b));
        }
    }
    uint32_t x = 12345;
    for (int i = 0; i < 2000; i++) {
        x = x * 1103515245u + 12345u;
        unsigned int w = widths[(x >> 8) & 3];
        uint64_t off = (x >> 12) % (PLAIN - w + 1);
        uint64_t v = ((uint64_t)x << 32 | (x >> 3)) & wmask(w);
        if ((x >> 20) & 1) {
            wr(fx, off, w, v);
            for (unsigned int b = 0; b < w; b++) {
                model[off + b] = (uint8_t)(v >> (8 * b));
            }
        } else {
            uint64_t expect = 0;
            for (unsigned int b = 0; b < w; b++) {
                expect |= (uint64_t)model[off + b] << (8 * b);
            }
            assert_int_equal(rd(fx, off, w), expect);
        }
    }
    uint64_t total = st(fx, MMIO_FORWARD_STAT_READS) + st(fx, MMIO_FORWARD_STAT_WRITES);
    assert_int_equal(total, 2000 + 9);
    assert_int_equal(st(fx, MMIO_FORWARD_STAT_REQUESTS), total);
    for (int s = MMIO_FORWARD_STAT_TIMEOUTS; s < MMIO_FORWARD_STAT_COUNT; s++) {
        assert_int_equal(st(fx, s), 0);
    }
    int count;
    assert_int_equal(last_request(h, &count).seq, total);
}

static void test_child_process_round_trips(void **state)
{
    struct fixture *fx = *state;
    start_child_handler(fx, GENEROUS_MS);
    for (uint64_t i = 0; i < 500; i++) {
        wr(fx, (i * 8) % PLAIN, 8, i * 0x9e3779b97f4a7c15ull);
        assert_int_equal(rd(fx, (i * 8) % PLAIN, 8), i * 0x9e3779b97f4a7c15ull);
    }
    assert_int_equal(st(fx, MMIO_FORWARD_STAT_REQUESTS), 1000);

    /* Destroying the region closes the socket: the handler's serve loop ends cleanly. */
    mmio_forward_destroy(fx->fwd);
    fx->fwd = NULL;
    int status = 0;
    assert_int_equal(waitpid(fx->child, &status, 0), fx->child);
    fx->child = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void *delayed_release(void *arg)
{
    struct handler *h = arg;
    usleep(50 * 1000);
    sem_post(&h->release);
    return NULL;
}

static void test_stalled_handler(void **state)
{
    struct fixture *fx = *state;
    struct handler *h = start_thread_handler(fx, GENEROUS_MS);
    wr(fx, 0, 4, 0x11223344);
    assert_int_equal(mmio_forward_set_timeout(fx->fwd, SHORT_MS), 0);

    /* Two requests the handler sits on: each times out with a bus error. */
    for (int i = 0; i < 2; i++) {
        uint64_t d = 0;
        uint64_t t0 = now_ms();
        assert_int_equal(fault(fx, OFF_STALL, 4, false, &d), FAULT_BUS_ERROR);
        assert_true(now_ms() - t0 >= SHORT_MS - 5);
    }
    assert_int_equal(st(fx, MMIO_FORWARD_STAT_TIMEOUTS), 2);
    assert_true(mmio_forward_connected(fx->fwd));

    /* The handler wakes up and answers both late; the next access gets its own reply. */
    sem_post(&h->release);
    sem_post(&h->release);
    assert_int_equal(mmio_forward_set_timeout(fx->fwd, GENEROUS_MS), 0);
    uint64_t d = 0;
    assert_int_equal(fault(fx, 0, 4, false, &d), FAULT_HANDLED);
    assert_int_equal(d, 0x11223344);
    assert_int_equal(st(fx, MMIO_FORWARD_STAT_STALE_REPLIES), 2);
    assert_int_equal(st(fx, MMIO_FORWARD_STAT_BAD_REPLIES), 0);

    /* A late reply that comes in while the next request waits is dropped the same way. */
    assert_int_equal(mmio_forward_set_timeout(fx->fwd, SHORT_MS), 0);
    d = 0;
    assert_int_equal(fault(fx, OFF_STALL, 4, false, &d), FAULT_BUS_ERROR);
    assert_int_equal(mmio_forward_set_timeout(fx->fwd, GENEROUS_MS), 0);
    pthread_t waker;
    assert_int_equal(pthread_create(&waker, NULL, delayed_release, h), 0);
    wr(fx, 4, 4, 0x55667788); /* queued behind the stalled one until the waker runs */
    pthread_join(waker, NULL);
    assert_int_equal(rd(fx, 4, 4), 0x55667788);
    assert_int_equal(st(fx, MMIO_FORWARD_STAT_STALE_REPLIES), 3);
    assert_int_equal(st(fx, MMIO_FORWARD_STAT_TIMEOUTS), 3);
}

static void test_garbled_replies(void **state)
{
    struct fixture *fx = *state;
    struct handler *h = start_thread_handler(fx, GENEROUS_MS);
    wr(fx, 8, 4, 0xcafe);

    const enum mode bad[] = {M_SHORT, M_LONG, M_WRONG_SEQ, M_HIGH_BITS, M_STATUS};
    for (unsigned int i = 0; i < 5; i++) {
        __atomic_store_n(&h->mode, bad[i], __ATOMIC_RELEASE);
        uint64_t d = 0;
        assert_int_equal(fault(fx, 8, 4, false, &d), FAULT_BUS_ERROR);
        /* The direct entry point reads all ones on failure. */
        d = 0;
        assert_int_equal(mmio_forward_access(fx->fwd, 8, 2, false, &d), FAULT_BUS_ERROR);
        assert_int_equal(d, 0xffff);
        /* A proper reply afterwards is taken: nothing left over poisons it. */
        __atomic_store_n(&h->mode, M_RAM, __ATOMIC_RELEASE);
        assert_int_equal(rd(fx, 8, 4), 0xcafe);
    }
    /* A failed write: the handler may have done it, the guest gets its bus error. */
    __atomic_store_n(&h->mode, M_STATUS, __ATOMIC_RELEASE);
    uint64_t d = 0xbeef;
    assert_int_equal(fault(fx, 8, 2, true, &d), FAULT_BUS_ERROR);
    __atomic_store_n(&h->mode, M_RAM, __ATOMIC_RELEASE);

    assert_int_equal(st(fx, MMIO_FORWARD_STAT_BAD_REPLIES), 8);
    assert_int_equal(st(fx, MMIO_FORWARD_STAT_ERRORS), 3);
    assert_int_equal(st(fx, MMIO_FORWARD_STAT_TIMEOUTS), 0);
    assert_int_equal(st(fx, MMIO_FORWARD_STAT_HANDLER_DEATHS), 0);
    assert_true(mmio_forward_connected(fx->fwd));

    /* A handler that hangs up without a reply is a death. */
    __atomic_store_n(&h->mode, M_HANGUP, __ATOMIC_RELEASE);
    d = 0;
    assert_int_equal(fault(fx, 8, 4, false, &d), FAULT_BUS_ERROR);
    assert_int_equal(st(fx, MMIO_FORWARD_STAT_HANDLER_DEATHS), 1);
    assert_false(mmio_forward_connected(fx->fwd));
}

static void test_handler_killed(void **state)
{
    struct fixture *fx = *state;
    start_child_handler(fx, GENEROUS_MS);
    wr(fx, 0, 8, 42);
    assert_int_equal(rd(fx, 0, 8), 42);

    /* SIGKILL between accesses: the next one fails promptly, not after the timeout. */
    assert_int_equal(kill(fx->child, SIGKILL), 0);
    assert_int_equal(waitpid(fx->child, NULL, 0), fx->child);
    fx->child = 0;
    uint64_t d = 0, t0 = now_ms();
    assert_int_equal(fault(fx, 0, 8, false, &d), FAULT_BUS_ERROR);
    assert_true(now_ms() - t0 < GENEROUS_MS / 2);
    assert_int_equal(st(fx, MMIO_FORWARD_STAT_HANDLER_DEATHS), 1);
    assert_int_equal(st(fx, MMIO_FORWARD_STAT_TIMEOUTS), 0);
    assert_false(mmio_forward_connected(fx->fwd));

    /* Later accesses fail at once without talking to anyone. */
    uint64_t requests = st(fx, MMIO_FORWARD_STAT_REQUESTS);
    t0 = now_ms();
    for (int i = 0; i < 100; i++) {
        d = 7;
        assert_int_equal(fault(fx, 0, 4, i & 1, &d), FAULT_BUS_ERROR);
    }
    assert_true(now_ms() - t0 < GENEROUS_MS / 2);
    assert_int_equal(st(fx, MMIO_FORWARD_STAT_REFUSED), 100);
    assert_int_equal(st(fx, MMIO_FORWARD_STAT_REQUESTS), requests);
    assert_int_equal(st(fx, MMIO_FORWARD_STAT_HANDLER_DEATHS), 1);

    /* Through the core, the bus error leaves the VM running. */
    struct fake_exit e;
    fake_mmio(&e, BASE, 4, false, 0);
    assert_int_equal(vcpu_handle_exit(fx->vcpu, &e.exit), VCPU_CONTINUE);
    fake_mmio(&e, BASE, 4, true, 1);
    assert_int_equal(vcpu_handle_exit(fx->vcpu, &e.exit), VCPU_CONTINUE);
    assert_int_equal(st(fx, MMIO_FORWARD_STAT_REFUSED), 102);
}

static void *killer_main(void *arg)
{
    struct fixture *fx = arg;
    char c;
    /* Wait until the child holds a request, then kill it. */
    if (read(fx->child_note, &c, 1) == 1) {
        kill(fx->child, SIGKILL);
    }
    return NULL;
}

static void test_handler_killed_mid_request(void **state)
{
    struct fixture *fx = *state;
    start_child_handler(fx, 30000);
    wr(fx, 0, 4, 1);

    pthread_t killer;
    assert_int_equal(pthread_create(&killer, NULL, killer_main, fx), 0);
    uint64_t d = 0, t0 = now_ms();
    assert_int_equal(fault(fx, OFF_PAUSE, 4, false, &d), FAULT_BUS_ERROR);
    uint64_t took = now_ms() - t0;
    pthread_join(killer, NULL);
    assert_true(took < 15000); /* the death, not the timeout */
    assert_int_equal(st(fx, MMIO_FORWARD_STAT_HANDLER_DEATHS), 1);
    assert_int_equal(st(fx, MMIO_FORWARD_STAT_TIMEOUTS), 0);
    waitpid(fx->child, NULL, 0);
    fx->child = 0;

    d = 0;
    assert_int_equal(fault(fx, 0, 4, true, &d), FAULT_BUS_ERROR);
    assert_int_equal(st(fx, MMIO_FORWARD_STAT_REFUSED), 1);
}

/* --- reconnecting through a socket path ----------------------------------------------------- */

struct listener {
    char dir[64], path[96];
    int lfd;
    int conns; /* connections to serve before the thread ends */
    pthread_t thread;
    uint8_t ram[SIZE];
    int cur; /* the connection being served */
};

static int32_t listener_handle(void *opaque, const mmio_forward_request_t *req, uint64_t *data)
{
    struct listener *l = opaque;
    if (req->offset == OFF_HANGUP) {
        shutdown(l->cur, SHUT_RDWR); /* the reply cannot go out: the VMM sees EOF */
        return 0;
    }
    *data = ram_access(l->ram, req);
    return 0;
}

static void *listener_main(void *arg)
{
    struct listener *l = arg;
    for (int i = 0; i < l->conns; i++) {
        l->cur = accept4(l->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (l->cur < 0) {
            break;
        }
        mmio_forward_serve(l->cur, listener_handle, l);
        close(l->cur);
    }
    return NULL;
}

static void listen_on(struct listener *l)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", l->path);
    l->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    assert_true(l->lfd >= 0);
    unlink(l->path);
    assert_int_equal(bind(l->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(l->lfd, 4), 0);
}

static void test_reconnect(void **state)
{
    struct fixture *fx = *state;
    struct listener l = {.conns = 2};
    snprintf(l.dir, sizeof(l.dir), "/tmp/vmmkit-fwd-XXXXXX");
    assert_non_null(mkdtemp(l.dir));
    snprintf(l.path, sizeof(l.path), "%s/handler.sock", l.dir);
    listen_on(&l);
    assert_int_equal(pthread_create(&l.thread, NULL, listener_main, &l), 0);

    mmio_forward_config_t cfg = {
        .base = BASE,
        .size = SIZE,
        .fd = -1,
        .path = l.path,
        .timeout_ms = GENEROUS_MS,
        .reconnect_ms = 600000, /* one retry per 10 minutes: none within this test */
    };
    assert_int_equal(mmio_forward_create(fx->vm, &cfg, &fx->fwd), 0);
    wr(fx, 0, 4, 0xfeed);
    assert_int_equal(rd(fx, 0, 4), 0xfeed);

    /* The handler drops the connection; the next access reconnects at once. */
    uint64_t d = 0;
    assert_int_equal(fault(fx, OFF_HANGUP, 4, false, &d), FAULT_BUS_ERROR);
    assert_int_equal(st(fx, MMIO_FORWARD_STAT_HANDLER_DEATHS), 1);
    assert_false(mmio_forward_connected(fx->fwd));
    assert_int_equal(rd(fx, 0, 4), 0xfeed); /* the handler's state outlived the connection */
    assert_int_equal(st(fx, MMIO_FORWARD_STAT_RECONNECTS), 1);
    assert_true(mmio_forward_connected(fx->fwd));

    /* Second death; the listener is gone too: the retry fails and is not repeated soon. */
    assert_int_equal(fault(fx, OFF_HANGUP, 4, false, &d), FAULT_BUS_ERROR);
    pthread_join(l.thread, NULL);
    close(l.lfd);
    assert_int_equal(fault(fx, 0, 4, false, &d), FAULT_BUS_ERROR); /* tries, refused */
    listen_on(&l); /* a handler is back, but the interval has not passed */
    assert_int_equal(fault(fx, 0, 4, false, &d), FAULT_BUS_ERROR);
    assert_int_equal(st(fx, MMIO_FORWARD_STAT_RECONNECTS), 1);
    assert_int_equal(st(fx, MMIO_FORWARD_STAT_REFUSED), 2);
    assert_int_equal(st(fx, MMIO_FORWARD_STAT_HANDLER_DEATHS), 2);

    close(l.lfd);
    unlink(l.path);
    rmdir(l.dir);
}

/* --- configuration and the handler side ----------------------------------------------------- */

static void test_configs_refused(void **state)
{
    struct fixture *fx = *state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    mmio_forward_t *f = NULL;
    mmio_forward_config_t cfg = {.base = BASE, .size = SIZE, .fd = sv[0]};

    cfg.size = 0;
    assert_int_equal(mmio_forward_create(fx->vm, &cfg, &f), -EINVAL);
    cfg.size = 16;
    cfg.base = UINT64_MAX - 7;
    assert_int_equal(mmio_forward_create(fx->vm, &cfg, &f), -EINVAL);
    cfg.base = BASE;
    cfg.size = SIZE;
    cfg.timeout_ms = MMIO_FORWARD_MAX_TIMEOUT_MS + 1;
    assert_int_equal(mmio_forward_create(fx->vm, &cfg, &f), -EINVAL);
    cfg.timeout_ms = 0;
    cfg.fd = -1;
    assert_int_equal(mmio_forward_create(fx->vm, &cfg, &f), -EINVAL); /* no fd, no path */
    assert_int_equal(mmio_forward_create(NULL, &cfg, &f), -EINVAL);
    assert_int_equal(mmio_forward_create(fx->vm, NULL, &f), -EINVAL);

    /* Descriptors that are not connected seqpacket sockets. */
    int p[2], st2[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    cfg.fd = p[0];
    assert_int_equal(mmio_forward_create(fx->vm, &cfg, &f), -EINVAL);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, st2), 0);
    cfg.fd = st2[0];
    assert_int_equal(mmio_forward_create(fx->vm, &cfg, &f), -EINVAL);
    int lone = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    cfg.fd = lone;
    assert_int_equal(mmio_forward_create(fx->vm, &cfg, &f), -EINVAL);
    close(p[0]);
    close(p[1]);
    close(st2[0]);
    close(st2[1]);
    close(lone);

    /* Paths. */
    char longpath[200];
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[sizeof(longpath) - 1] = '\0';
    cfg.fd = -1;
    cfg.path = longpath;
    assert_int_equal(mmio_forward_create(fx->vm, &cfg, &f), -ENAMETOOLONG);
    cfg.path = "/nonexistent/vmmkit-handler.sock";
    assert_int_equal(mmio_forward_create(fx->vm, &cfg, &f), -ENOENT);
    assert_null(f);

    /* An overlap is refused and the caller keeps its descriptor. */
    assert_non_null(vm_reserve_memory_at(fx->vm, BASE + SIZE - 1, 2, NULL, NULL));
    cfg.path = NULL;
    cfg.fd = sv[0];
    assert_int_equal(mmio_forward_create(fx->vm, &cfg, &f), -EEXIST);
    assert_true(fcntl(sv[0], F_GETFD) >= 0);

    /* Created: the region owns the descriptor; timeouts are bounded. */
    cfg.size = SIZE - 1;
    assert_int_equal(mmio_forward_create(fx->vm, &cfg, &fx->fwd), 0);
    assert_int_equal(mmio_forward_base(fx->fwd), BASE);
    assert_int_equal(mmio_forward_size(fx->fwd), SIZE - 1);
    assert_int_equal(mmio_forward_set_timeout(fx->fwd, MMIO_FORWARD_MAX_TIMEOUT_MS + 1), -EINVAL);
    assert_int_equal(mmio_forward_set_timeout(fx->fwd, 0), 0);
    assert_int_equal(mmio_forward_set_timeout(NULL, 5), -EINVAL);
    uint64_t d = 0;
    assert_int_equal(mmio_forward_access(fx->fwd, SIZE - 1, 1, false, &d), FAULT_UNHANDLED);
    assert_int_equal(mmio_forward_access(fx->fwd, 0, 3 + 6, false, &d), FAULT_UNHANDLED);
    assert_int_equal(mmio_forward_access(fx->fwd, 0, 4, false, NULL), FAULT_UNHANDLED);
    assert_int_equal(mmio_forward_access(NULL, 0, 4, false, &d), FAULT_UNHANDLED);
    assert_string_equal(mmio_forward_stat_name(MMIO_FORWARD_STAT_HANDLER_DEATHS), "handler-deaths");
    assert_string_equal(mmio_forward_stat_name(MMIO_FORWARD_STAT_COUNT), "unknown");
    mmio_forward_destroy(fx->fwd);
    fx->fwd = NULL;
    assert_int_equal(fcntl(sv[0], F_GETFD), -1); /* closed by destroy */
    close(sv[1]);
}

static int32_t never_called(void *opaque, const mmio_forward_request_t *req, uint64_t *data)
{
    fail();
    return 0;
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4); /* the tests run on little-endian hosts, as the core does */
}

static void test_handler_side_checks(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    uint8_t b[MMIO_FORWARD_REQUEST_SIZE];
    mmio_forward_request_t req;

    /* A well-formed request decodes. */
    memset(b, 0, sizeof(b));
    put32(b, MMIO_FORWARD_MAGIC);
    put32(b + 4, 77);
    b[8] = 0x10;
    b[16] = 0x10;
    b[24] = 2;
    b[25] = 1;
    b[32] = 0x34;
    b[33] = 0x12;
    assert_int_equal(send(sv[0], b, sizeof(b), 0), (ssize_t)sizeof(b));
    assert_int_equal(mmio_forward_recv_request(sv[1], &req), 1);
    assert_int_equal(req.seq, 77);
    assert_int_equal(req.addr, 0x10);
    assert_int_equal(req.width, 2);
    assert_true(req.is_write);
    assert_int_equal(req.data, 0x1234);

    /* Malformed ones: size, magic, width, direction, reserved bytes, data past the width. */
    struct {
        unsigned int at;
        uint8_t val;
        size_t len;
    } bad[] = {{0, 0, sizeof(b) - 1}, {0, 0x77, sizeof(b)}, {24, 0, sizeof(b)}, {24, 9, sizeof(b)},
               {25, 2, sizeof(b)},    {28, 1, sizeof(b)},   {34, 1, sizeof(b)}};
    for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t c[sizeof(b)];
        memcpy(c, b, sizeof(b));
        if (bad[i].len == sizeof(b)) {
            c[bad[i].at] = bad[i].val;
        }
        assert_int_equal(send(sv[0], c, bad[i].len, 0), (ssize_t)bad[i].len);
        assert_int_equal(mmio_forward_recv_request(sv[1], &req), -EPROTO);
    }

    /* serve() stops at a malformed request, and at EOF. */
    b[0] ^= 1;
    assert_int_equal(send(sv[0], b, sizeof(b), 0), (ssize_t)sizeof(b));
    assert_int_equal(mmio_forward_serve(sv[1], never_called, NULL), -EPROTO);
    close(sv[0]);
    assert_int_equal(mmio_forward_serve(sv[1], never_called, NULL), 0);
    assert_int_equal(mmio_forward_serve(sv[1], NULL, NULL), -EINVAL);
    close(sv[1]);
}

/* --- several vCPUs at once ------------------------------------------------------------------ */

#define THREADS 4
#define ROUNDS 300

struct worker {
    mmio_forward_t *fwd;
    unsigned int id;
    int mismatches;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (uint64_t i = 0; i < ROUNDS; i++) {
        uint64_t v = (i << 8) | w->id;
        if (mmio_forward_access(w->fwd, 8 * w->id, 8, true, &v) != FAULT_HANDLED) {
            w->mismatches++;
        }
        uint64_t r = 0;
        if (mmio_forward_access(w->fwd, 8 * w->id, 8, false, &r) != FAULT_HANDLED ||
            r != ((i << 8) | w->id)) {
            w->mismatches++;
        }
    }
    return NULL;
}

static void test_concurrent_accesses(void **state)
{
    struct fixture *fx = *state;
    start_thread_handler(fx, GENEROUS_MS);
    pthread_t t[THREADS];
    struct worker w[THREADS];
    for (unsigned int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){.fwd = fx->fwd, .id = i};
        assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    for (unsigned int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].mismatches, 0);
    }
    assert_int_equal(st(fx, MMIO_FORWARD_STAT_REQUESTS), 2 * THREADS * ROUNDS);
    assert_int_equal(st(fx, MMIO_FORWARD_STAT_STALE_REPLIES), 0);
    assert_int_equal(st(fx, MMIO_FORWARD_STAT_BAD_REPLIES), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_child_process_round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stalled_handler, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbled_replies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handler_killed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handler_killed_mid_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconnect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_configs_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handler_side_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_accesses, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
