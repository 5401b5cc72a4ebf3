/*
 * test_iothread.c - the I/O thread (src/backends/iothread.c): handlers run
 * on the named thread with the VMM's signals blocked, add/remove rules,
 * removal from a handler, and the remove guarantee against a handler in
 * progress on another thread, under stress; event masks (EPOLLOUT,
 * parking a descriptor with mask 0, re-arming it).
 *
 * cmocka's asserts are not thread-safe, so handlers only record what they
 * saw and the test thread checks it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <vmmkit/iothread.h>

/* What a handler records. */
struct probe {
    int fd;
    sem_t called;      /* posted after each call */
    int calls;         /* atomic */
    uint32_t events;   /* of the last call */
    char thread[16];   /* name of the thread that ran it */
    bool usr1_blocked; /* SIGUSR1 and SIGUSR2 blocked on that thread */
    bool usr2_blocked;
    int running;          /* atomic: inside the handler */
    int alive;            /* atomic: cleared by the test once the handler must be gone */
    int violations;       /* atomic: calls seen while !alive */
    iothread_t *t;        /* for handlers that remove themselves */
    unsigned sleep_us;    /* handler duration */
    sem_t started;        /* posted on entry */
    pthread_mutex_t lock; /* the recorded fields: eventfd kicks are invisible to TSan */
};

static void probe_init(struct probe *p, int fd)
{
    memset(p, 0, sizeof(*p));
    p->fd = fd;
    p->alive = 1;
    sem_init(&p->called, 0, 0);
    sem_init(&p->started, 0, 0);
    pthread_mutex_init(&p->lock, NULL);
}

static void probe_fini(struct probe *p)
{
    sem_destroy(&p->called);
    sem_destroy(&p->started);
    pthread_mutex_destroy(&p->lock);
}

/* Wait for @s for up to 5 s; false on timeout. */
static bool wait_sem(sem_t *s)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 5;
    while (sem_timedwait(s, &ts) != 0) {
        if (errno != EINTR) {
            return false;
        }
    }
    return true;
}

/* Whether @s gets posted within @ms milliseconds. */
static bool posted_within(sem_t *s, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return sem_timedwait(s, &ts) == 0;
}

static void drain(int fd)
{
    uint64_t v;
    ssize_t n = read(fd, &v, sizeof(v));
    (void)n;
}

static void kick(int fd)
{
    uint64_t one = 1;
    ssize_t n = write(fd, &one, sizeof(one));
    (void)n;
}

/* The common handler: record, optionally dawdle, drain the eventfd. */
static void probe_handler(int fd, uint32_t events, void *opaque)
{
    struct probe *p = opaque;
    sigset_t mask;

    __atomic_store_n(&p->running, 1, __ATOMIC_SEQ_CST);
    sem_post(&p->started);
    if (!__atomic_load_n(&p->alive, __ATOMIC_SEQ_CST)) {
        __atomic_fetch_add(&p->violations, 1, __ATOMIC_SEQ_CST);
    }
    pthread_mutex_lock(&p->lock);
    p->events = events;
    pthread_getname_np(pthread_self(), p->thread, sizeof(p->thread));
    pthread_sigmask(SIG_BLOCK, NULL, &mask);
    p->usr1_blocked = sigismember(&mask, SIGUSR1) == 1;
    p->usr2_blocked = sigismember(&mask, SIGUSR2) == 1;
    pthread_mutex_unlock(&p->lock);
    if (p->sleep_us) {
        usleep(p->sleep_us);
    }
    drain(fd);
    __atomic_fetch_add(&p->calls, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&p->running, 0, __ATOMIC_SEQ_CST);
    sem_post(&p->called);
}

static void test_handler_runs_on_named_thread(void **state)
{
    iothread_t *t = iothread_create("vmmkit-io-test");
    assert_non_null(t);
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct probe p;
    probe_init(&p, fd);

    assert_int_equal(iothread_add_fd(t, fd, probe_handler, &p), 0);
    kick(fd);
    assert_true(wait_sem(&p.called));
    assert_int_equal(p.calls, 1);
    pthread_mutex_lock(&p.lock);
    assert_true(p.events & EPOLLIN);
    assert_string_equal(p.thread, "vmmkit-io-test");
    assert_true(p.usr1_blocked);
    assert_true(p.usr2_blocked);
    pthread_mutex_unlock(&p.lock);

    /* Level-triggered, drained: no second call without a second kick. */
    assert_false(posted_within(&p.called, 50));
    kick(fd);
    assert_true(wait_sem(&p.called));
    assert_int_equal(p.calls, 2);

    assert_int_equal(iothread_remove_fd(t, fd), 0);
    iothread_destroy(t);
    close(fd);
    probe_fini(&p);
}

static void test_long_name_truncated(void **state)
{
    iothread_t *t = iothread_create("a-name-longer-than-fifteen");
    assert_non_null(t);
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct probe p;
    probe_init(&p, fd);
    assert_int_equal(iothread_add_fd(t, fd, probe_handler, &p), 0);
    kick(fd);
    assert_true(wait_sem(&p.called));
    assert_string_equal(p.thread, "a-name-longer-t");
    iothread_destroy(t); /* with the fd still watched */
    close(fd);
    probe_fini(&p);
}

static void noop_handler(int fd, uint32_t events, void *opaque)
{
}

static void test_add_remove_rules(void **state)
{
    iothread_t *t = iothread_create("io-rules");
    assert_non_null(t);
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

    assert_int_equal(iothread_add_fd(NULL, fd, noop_handler, NULL), -EINVAL);
    assert_int_equal(iothread_add_fd(t, -1, noop_handler, NULL), -EINVAL);
    assert_int_equal(iothread_add_fd(t, fd, NULL, NULL), -EINVAL);
    assert_int_equal(iothread_add_fd(t, 1000000, noop_handler, NULL), -EBADF);
    assert_int_equal(iothread_remove_fd(t, fd), -ENOENT);
    assert_int_equal(iothread_remove_fd(NULL, fd), -EINVAL);

    assert_int_equal(iothread_add_fd(t, fd, noop_handler, NULL), 0);
    assert_int_equal(iothread_add_fd(t, fd, noop_handler, NULL), -EEXIST);
    assert_int_equal(iothread_remove_fd(t, fd), 0);
    assert_int_equal(iothread_remove_fd(t, fd), -ENOENT);
    /* Watched again after removal. */
    assert_int_equal(iothread_add_fd(t, fd, noop_handler, NULL), 0);
    assert_int_equal(iothread_remove_fd(t, fd), 0);

    iothread_destroy(t);
    iothread_destroy(NULL);
    close(fd);
}

static void test_removed_fd_not_called(void **state)
{
    iothread_t *t = iothread_create("io-removed");
    assert_non_null(t);
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct probe p;
    probe_init(&p, fd);

    assert_int_equal(iothread_add_fd(t, fd, probe_handler, &p), 0);
    assert_int_equal(iothread_remove_fd(t, fd), 0);
    kick(fd);
    assert_false(posted_within(&p.called, 100));
    assert_int_equal(p.calls, 0);

    iothread_destroy(t);
    close(fd);
    probe_fini(&p);
}

/* A handler that removes its own descriptor: must not deadlock. */
static void self_removing_handler(int fd, uint32_t events, void *opaque)
{
    struct probe *p = opaque;

    p->events = (uint32_t)iothread_remove_fd(p->t, fd); /* the result, for the test */
    __atomic_fetch_add(&p->calls, 1, __ATOMIC_SEQ_CST);
    sem_post(&p->called);
    /* Not drained: a handler still registered would be called again at once. */
}

static void test_remove_from_handler(void **state)
{
    iothread_t *t = iothread_create("io-self");
    assert_non_null(t);
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct probe p;
    probe_init(&p, fd);
    p.t = t;

    assert_int_equal(iothread_add_fd(t, fd, self_removing_handler, &p), 0);
    kick(fd);
    assert_true(wait_sem(&p.called));
    assert_int_equal((int)p.events, 0);
    assert_false(posted_within(&p.called, 100));
    assert_int_equal(p.calls, 1);

    iothread_destroy(t);
    close(fd);
    probe_fini(&p);
}

/* Remove from the test thread while the handler sleeps: remove waits for it. */
static void test_remove_waits_for_running_handler(void **state)
{
    iothread_t *t = iothread_create("io-wait");
    assert_non_null(t);
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct probe p;
    probe_init(&p, fd);
    p.sleep_us = 100000;

    assert_int_equal(iothread_add_fd(t, fd, probe_handler, &p), 0);
    kick(fd);
    assert_true(wait_sem(&p.started));
    assert_int_equal(iothread_remove_fd(t, fd), 0);
    /* The handler finished before remove returned. */
    assert_int_equal(__atomic_load_n(&p.running, __ATOMIC_SEQ_CST), 0);
    assert_int_equal(p.calls, 1);

    iothread_destroy(t);
    close(fd);
    probe_fini(&p);
}

/* Another handler on the same thread keeps working while one is removed. */
static void test_other_fds_unaffected(void **state)
{
    iothread_t *t = iothread_create("io-two");
    assert_non_null(t);
    int a = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), b = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct probe pa, pb;
    probe_init(&pa, a);
    probe_init(&pb, b);

    assert_int_equal(iothread_add_fd(t, a, probe_handler, &pa), 0);
    assert_int_equal(iothread_add_fd(t, b, probe_handler, &pb), 0);
    kick(a);
    kick(b);
    assert_true(wait_sem(&pa.called));
    assert_true(wait_sem(&pb.called));
    assert_int_equal(iothread_remove_fd(t, a), 0);
    kick(a);
    kick(b);
    assert_true(wait_sem(&pb.called));
    assert_int_equal(pa.calls, 1);
    assert_int_equal(pb.calls, 2);

    iothread_destroy(t);
    close(a);
    close(b);
    probe_fini(&pa);
    probe_fini(&pb);
}

/* A hung-up pipe reaches the handler (EPOLLHUP), which removes it. */
static void hup_handler(int fd, uint32_t events, void *opaque)
{
    struct probe *p = opaque;

    p->events = events;
    iothread_remove_fd(p->t, fd);
    __atomic_fetch_add(&p->calls, 1, __ATOMIC_SEQ_CST);
    sem_post(&p->called);
}

static void test_hangup_reported(void **state)
{
    iothread_t *t = iothread_create("io-hup");
    assert_non_null(t);
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    struct probe p;
    probe_init(&p, pfd[0]);
    p.t = t;

    assert_int_equal(iothread_add_fd(t, pfd[0], hup_handler, &p), 0);
    close(pfd[1]);
    assert_true(wait_sem(&p.called));
    assert_true(p.events & EPOLLHUP);
    assert_false(posted_within(&p.called, 50));

    iothread_destroy(t);
    close(pfd[0]);
    probe_fini(&p);
}

/* A second thread keeps kicking while the test thread adds and removes. */
struct kicker {
    int fd;
    int stop; /* atomic */
};

static void *kicker_main(void *arg)
{
    struct kicker *k = arg;
    while (!__atomic_load_n(&k->stop, __ATOMIC_SEQ_CST)) {
        kick(k->fd);
        sched_yield();
    }
    return NULL;
}

/*
 * Stress: add, let it fire, remove, and check that once remove returned the
 * handler never runs and is not running (the opaque could be freed).
 */
static void test_remove_race_stress(void **state)
{
    iothread_t *t = iothread_create("io-stress");
    assert_non_null(t);
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct kicker k = {.fd = fd};
    pthread_t kth;
    int violations = 0, still_running = 0, total_calls = 0;

    assert_int_equal(pthread_create(&kth, NULL, kicker_main, &k), 0);
    for (int i = 0; i < 2000; i++) {
        struct probe p;
        probe_init(&p, fd);
        p.sleep_us = (i % 7 == 0) ? 200 : 0;
        assert_int_equal(iothread_add_fd(t, fd, probe_handler, &p), 0);
        if (i % 3 == 0) {
            wait_sem(&p.started); /* remove while it runs, or just after */
        }
        assert_int_equal(iothread_remove_fd(t, fd), 0);
        still_running += __atomic_load_n(&p.running, __ATOMIC_SEQ_CST);
        __atomic_store_n(&p.alive, 0, __ATOMIC_SEQ_CST);
        if (i % 100 == 0) {
            usleep(1000); /* give a stale event the chance to show */
        }
        violations += __atomic_load_n(&p.violations, __ATOMIC_SEQ_CST);
        total_calls += __atomic_load_n(&p.calls, __ATOMIC_SEQ_CST);
        probe_fini(&p);
        /* Poison the stack slot: a late call would read garbage. */
        memset(&p, 0xa5, sizeof(p));
    }
    __atomic_store_n(&k.stop, 1, __ATOMIC_SEQ_CST);
    pthread_join(kth, NULL);

    assert_int_equal(violations, 0);
    assert_int_equal(still_running, 0);
    assert_true(total_calls > 0);
    iothread_destroy(t);
    close(fd);
}

/* Removers on two threads at once, for different fds. */
struct remover {
    iothread_t *t;
    int fd;
    int failures;
};

static void *remover_main(void *arg)
{
    struct remover *r = arg;
    for (int i = 0; i < 500; i++) {
        struct probe p;
        probe_init(&p, r->fd);
        if (iothread_add_fd(r->t, r->fd, probe_handler, &p) != 0) {
            r->failures++;
        }
        kick(r->fd);
        if (iothread_remove_fd(r->t, r->fd) != 0) {
            r->failures++;
        }
        if (__atomic_load_n(&p.running, __ATOMIC_SEQ_CST)) {
            r->failures++;
        }
        __atomic_store_n(&p.alive, 0, __ATOMIC_SEQ_CST);
        r->failures += __atomic_load_n(&p.violations, __ATOMIC_SEQ_CST);
        probe_fini(&p);
    }
    return NULL;
}

static void test_concurrent_removers(void **state)
{
    iothread_t *t = iothread_create("io-removers");
    assert_non_null(t);
    struct remover r[3];
    pthread_t th[3];

    for (int i = 0; i < 3; i++) {
        r[i] = (struct remover){.t = t, .fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
        assert_int_equal(pthread_create(&th[i], NULL, remover_main, &r[i]), 0);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(r[i].failures, 0);
        close(r[i].fd);
    }
    iothread_destroy(t);
}

/* A handler that parks its descriptor (mask 0) after recording each call. */
static void parking_handler(int fd, uint32_t events, void *opaque)
{
    struct probe *p = opaque;

    pthread_mutex_lock(&p->lock);
    p->events = events;
    pthread_mutex_unlock(&p->lock);
    iothread_mod_fd(p->t, fd, 0);
    __atomic_fetch_add(&p->calls, 1, __ATOMIC_SEQ_CST);
    sem_post(&p->called);
}

static uint32_t probe_events(struct probe *p)
{
    pthread_mutex_lock(&p->lock);
    uint32_t e = p->events;
    pthread_mutex_unlock(&p->lock);
    return e;
}

/* EPOLLOUT through iothread_add_fd_events(); a parked descriptor is silent until re-armed. */
static void test_event_masks(void **state)
{
    iothread_t *t = iothread_create("io-masks");
    assert_non_null(t);
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    struct probe p;
    probe_init(&p, pfd[1]);
    p.t = t;

    assert_int_equal(iothread_add_fd_events(t, pfd[1], EPOLLOUT, parking_handler, &p), 0);
    assert_true(wait_sem(&p.called));
    assert_true(probe_events(&p) & EPOLLOUT);
    assert_false(posted_within(&p.called, 50)); /* parked: always writable, yet silent */

    assert_int_equal(iothread_mod_fd(t, pfd[1], EPOLLOUT), 0);
    assert_true(wait_sem(&p.called));
    assert_int_equal(__atomic_load_n(&p.calls, __ATOMIC_SEQ_CST), 2);

    /* The reader goes away while parked: no call, not even for the error... */
    close(pfd[0]);
    assert_false(posted_within(&p.called, 50));
    /* ...until the descriptor is watched again. */
    assert_int_equal(iothread_mod_fd(t, pfd[1], EPOLLIN), 0);
    assert_true(wait_sem(&p.called));
    assert_true(probe_events(&p) & EPOLLERR);

    assert_int_equal(iothread_remove_fd(t, pfd[1]), 0); /* parked entries go too */
    assert_int_equal(iothread_mod_fd(t, pfd[1], EPOLLIN), -ENOENT);
    iothread_destroy(t);
    close(pfd[1]);
    probe_fini(&p);
}

/* A descriptor added parked reports a hang-up only once it gets a mask. */
static void test_parked_hangup(void **state)
{
    iothread_t *t = iothread_create("io-parked");
    assert_non_null(t);
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    struct probe p;
    probe_init(&p, pfd[0]);
    p.t = t;

    assert_int_equal(iothread_add_fd_events(t, pfd[0], 0, parking_handler, &p), 0);
    close(pfd[1]);
    assert_false(posted_within(&p.called, 50));
    assert_int_equal(iothread_mod_fd(t, pfd[0], EPOLLIN), 0);
    assert_true(wait_sem(&p.called));
    assert_true(probe_events(&p) & EPOLLHUP);
    assert_false(posted_within(&p.called, 50));

    iothread_destroy(t); /* with the parked fd still registered */
    close(pfd[0]);
    probe_fini(&p);
}

static void test_mod_rules(void **state)
{
    iothread_t *t = iothread_create("io-mod-rules");
    assert_non_null(t);
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

    assert_int_equal(iothread_mod_fd(NULL, fd, EPOLLIN), -EINVAL);
    assert_int_equal(iothread_mod_fd(t, -1, EPOLLIN), -EINVAL);
    assert_int_equal(iothread_mod_fd(t, fd, EPOLLIN), -ENOENT);
    assert_int_equal(iothread_add_fd_events(t, 1000000, 0, noop_handler, NULL), -EBADF);
    assert_int_equal(iothread_add_fd_events(t, 1000000, EPOLLOUT, noop_handler, NULL), -EBADF);
    assert_int_equal(iothread_add_fd_events(t, fd, 0, NULL, NULL), -EINVAL);

    assert_int_equal(iothread_add_fd_events(t, fd, 0, noop_handler, NULL), 0);
    assert_int_equal(iothread_add_fd_events(t, fd, EPOLLIN, noop_handler, NULL), -EEXIST);
    assert_int_equal(iothread_add_fd(t, fd, noop_handler, NULL), -EEXIST);
    assert_int_equal(iothread_mod_fd(t, fd, 0), 0); /* same mask: nothing to do */
    assert_int_equal(iothread_mod_fd(t, fd, EPOLLIN), 0);
    assert_int_equal(iothread_mod_fd(t, fd, EPOLLIN | EPOLLOUT), 0);
    assert_int_equal(iothread_mod_fd(t, fd, 0), 0);
    assert_int_equal(iothread_remove_fd(t, fd), 0);
    assert_int_equal(iothread_remove_fd(t, fd), -ENOENT);
    iothread_destroy(t);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handler_runs_on_named_thread),
        cmocka_unit_test(test_long_name_truncated),
        cmocka_unit_test(test_add_remove_rules),
        cmocka_unit_test(test_removed_fd_not_called),
        cmocka_unit_test(test_remove_from_handler),
        cmocka_unit_test(test_remove_waits_for_running_handler),
        cmocka_unit_test(test_other_fds_unaffected),
        cmocka_unit_test(test_hangup_reported),
        cmocka_unit_test(test_remove_race_stress),
        cmocka_unit_test(test_concurrent_removers),
        cmocka_unit_test(test_event_masks),
        cmocka_unit_test(test_parked_hangup),
        cmocka_unit_test(test_mod_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
