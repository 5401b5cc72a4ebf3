/*
 * iothread.c - an I/O thread: one epoll loop serving file descriptors
 * (see iothread.h).
 *
 * Each watched descriptor has an entry; epoll carries a pointer to it, so a
 * ready descriptor reaches its handler without a lookup.  A second eventfd
 * (wake_fd) wakes the loop for iothread_destroy().
 *
 * Threads and locking: t->lock guards the entry lists, t->running and
 * t->dispatch_seq.  The I/O thread takes it to pick the next handler and
 * releases it while the handler runs, so add and remove from other threads
 * never wait behind a slow handler, and a handler may itself add or remove
 * descriptors.  The remove handshake:
 *
 *   - iothread_remove_fd() marks the entry removed and deletes it from
 *     epoll (under the lock); the loop checks the mark under the lock before
 *     it calls a handler, so no handler starts for it afterwards;
 *   - if the handler is running right now (t->running == entry) on the I/O
 *     thread, a remover on another thread waits on t->idle until that
 *     dispatch ends (t->dispatch_seq tells one dispatch from the next);
 *   - a removed entry is freed by the I/O thread only at the top of its next
 *     loop iteration: an epoll_wait() batch harvested before the removal
 *     may still point to it, and that batch is over by then.
 *
 * The rule this puts on callers: do not call iothread_remove_fd() from
 * another thread while holding a lock the handler takes (the device lock),
 * or the two wait for each other.  From a handler (the I/O thread) removal
 * never waits.  iothread_destroy() is the owner's last call: no add or
 * remove may run beside it, and from a handler it is refused (a thread
 * cannot join itself).
 *
 * A handler is called for the events its descriptor is watched for
 * (EPOLLIN unless iothread_add_fd_events() / iothread_mod_fd() said
 * otherwise) and for EPOLLHUP / EPOLLERR, which epoll always reports;
 * epoll is level-triggered, so a handler must consume its input, stop
 * watching what it cannot serve now, or remove a hung-up descriptor, or the
 * loop calls it again at once.
 *
 * Event masks: an entry remembers its mask (e->events).  A mask of 0
 * parks the descriptor: the entry stays (so remove and its wait still work)
 * but the descriptor leaves epoll, so not even a hang-up is reported until
 * iothread_mod_fd() gives it a mask again.  iothread_mod_fd() never waits:
 * a batch harvested before it may still deliver the old events once, and a
 * handler must check its own state rather than trust @events alone.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <vmmkit/iothread.h>
#include <vmmkit/log.h>
#include <vmmkit/sandbox.h>

#define IOTHREAD_BATCH 32    /* events taken from one epoll_wait() */
#define IOTHREAD_NAME_MAX 16 /* pthread_setname_np(): 15 characters and the NUL */

/* One watched descriptor. */
struct iothread_entry {
    int fd;
    uint32_t events; /* the epoll mask; 0: parked, not in epoll */
    iothread_handler_fn fn;
    void *opaque;
    bool removed;
    struct iothread_entry *next;
};

struct iothread {
    int epfd;
    int wake_fd; /* eventfd: destroy requested */
    pthread_t thread;
    char name[IOTHREAD_NAME_MAX];

    pthread_mutex_t lock;
    pthread_cond_t idle;                  /* signalled when a dispatch ends */
    struct iothread_entry *entries;       /* live entries */
    struct iothread_entry *dead;          /* removed, freed at the next loop top */
    const struct iothread_entry *running; /* handler in progress, or NULL */
    uint64_t dispatch_seq;                /* bumped when a dispatch starts */
    pthread_t self;                       /* the I/O thread, valid once it runs */
    bool stopping;
};

/* Free every entry on @list. */
static void free_entries(struct iothread_entry *list)
{
    while (list) {
        struct iothread_entry *next = list->next;
        free(list);
        list = next;
    }
}

/*
 * Run the handler of @e for @events unless it was removed meanwhile.
 * Called with t->lock held; returns with it held.
 */
static void dispatch(iothread_t *t, struct iothread_entry *e, uint32_t events)
{
    if (e->removed) {
        return;
    }
    t->running = e;
    t->dispatch_seq++;
    pthread_mutex_unlock(&t->lock);

    e->fn(e->fd, events, e->opaque);

    pthread_mutex_lock(&t->lock);
    t->running = NULL;
    pthread_cond_broadcast(&t->idle);
}

/* The loop: wait for ready descriptors and dispatch them until destroy. */
static void *iothread_main(void *arg)
{
    iothread_t *t = arg;
    struct epoll_event ev[IOTHREAD_BATCH];

    pthread_mutex_lock(&t->lock);
    t->self = pthread_self();
    pthread_mutex_unlock(&t->lock);
    pthread_setname_np(pthread_self(), t->name);
    /* Its seccomp allowlist, before the first handler runs (vmmkit/sandbox.h). */
    int rc = vmm_sandbox_enter(VMM_THREAD_IO);
    if (rc < 0) {
        LOG_ERR("iothread %s: cannot install its seccomp filter: %s; the thread stops", t->name,
                strerror(-rc));
        return NULL;
    }

    for (;;) {
        struct iothread_entry *dead;
        bool stopping;

        /* Entries removed so far were deleted from epoll before this wait,
         * and the previous batch is done: nothing refers to them now. */
        pthread_mutex_lock(&t->lock);
        dead = t->dead;
        t->dead = NULL;
        stopping = t->stopping;
        pthread_mutex_unlock(&t->lock);
        free_entries(dead);
        if (stopping) {
            break;
        }

        int n = epoll_wait(t->epfd, ev, IOTHREAD_BATCH, -1);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            LOG_ERR("iothread %s: epoll_wait: %s; the thread stops", t->name, strerror(errno));
            break;
        }

        pthread_mutex_lock(&t->lock);
        for (int i = 0; i < n && !t->stopping; i++) {
            struct iothread_entry *e = ev[i].data.ptr;
            if (e) {
                dispatch(t, e, ev[i].events);
            }
            /* e == NULL is wake_fd: t->stopping is already set. */
        }
        pthread_mutex_unlock(&t->lock);
    }
    return NULL;
}

/*
 * Start a thread with every asynchronous signal blocked (it inherits the
 * creator's mask): SIGUSR1 is the KVM backend's vCPU kick and SIGUSR2 the
 * program's, and neither must interrupt or be consumed by a device thread.
 * Signals a fault raises synchronously stay deliverable.
 */
int vmm_thread_start_quiet(pthread_t *thread, void *(*fn)(void *), void *arg)
{
    sigset_t all, old;
    int err;

    sigfillset(&all);
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGBUS);
    sigdelset(&all, SIGFPE);
    sigdelset(&all, SIGILL);
    sigdelset(&all, SIGTRAP);
    sigdelset(&all, SIGABRT);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    err = pthread_create(thread, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return err;
}

iothread_t *iothread_create(const char *name)
{
    iothread_t *t = calloc(1, sizeof(*t));
    struct epoll_event ev = {.events = EPOLLIN};
    int err;

    if (!t) {
        return NULL;
    }
    snprintf(t->name, sizeof(t->name), "%s", name ? name : "iothread");
    t->epfd = epoll_create1(EPOLL_CLOEXEC);
    t->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (t->epfd < 0 || t->wake_fd < 0) {
        err = errno;
        goto fail;
    }
    ev.data.ptr = NULL; /* NULL marks wake_fd */
    if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->wake_fd, &ev) < 0) {
        err = errno;
        goto fail;
    }
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->idle, NULL);
    err = vmm_thread_start_quiet(&t->thread, iothread_main, t);
    if (err) {
        pthread_cond_destroy(&t->idle);
        pthread_mutex_destroy(&t->lock);
        goto fail;
    }
    return t;

fail:
    if (t->wake_fd >= 0) {
        close(t->wake_fd);
    }
    if (t->epfd >= 0) {
        close(t->epfd);
    }
    free(t);
    errno = err;
    return NULL;
}

/* The live entry for @fd, or NULL.  Called with t->lock held. */
static struct iothread_entry *find_entry(iothread_t *t, int fd)
{
    for (struct iothread_entry *e = t->entries; e; e = e->next) {
        if (e->fd == fd) {
            return e;
        }
    }
    return NULL;
}

int iothread_add_fd(iothread_t *t, int fd, iothread_handler_fn fn, void *opaque)
{
    return iothread_add_fd_events(t, fd, EPOLLIN, fn, opaque);
}

int iothread_add_fd_events(iothread_t *t, int fd, uint32_t events, iothread_handler_fn fn,
                           void *opaque)
{
    struct iothread_entry *e;
    struct epoll_event ev = {.events = events};
    int rc = 0;

    if (!t || fd < 0 || !fn) {
        return -EINVAL;
    }
    if (events == 0 && fcntl(fd, F_GETFD) < 0) {
        return -EBADF; /* parked at once: epoll_ctl() does not check it for us */
    }
    e = calloc(1, sizeof(*e));
    if (!e) {
        return -ENOMEM;
    }
    e->fd = fd;
    e->events = events;
    e->fn = fn;
    e->opaque = opaque;
    ev.data.ptr = e;

    /* Under the lock, so a concurrent remove of the same fd finds the entry. */
    pthread_mutex_lock(&t->lock);
    if (find_entry(t, fd)) {
        rc = -EEXIST;
    } else if (events != 0 && epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        rc = -errno;
    }
    if (rc < 0) {
        free(e);
    } else {
        e->next = t->entries;
        t->entries = e;
    }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

int iothread_mod_fd(iothread_t *t, int fd, uint32_t events)
{
    struct iothread_entry *e;
    int rc = 0;

    if (!t || fd < 0) {
        return -EINVAL;
    }
    pthread_mutex_lock(&t->lock);
    e = find_entry(t, fd);
    if (!e) {
        rc = -ENOENT;
    } else if (events != e->events) {
        struct epoll_event ev = {.events = events, .data.ptr = e};
        int op = events == 0 ? EPOLL_CTL_DEL : e->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
        if (epoll_ctl(t->epfd, op, fd, &ev) < 0) {
            rc = -errno;
        } else {
            e->events = events;
        }
    }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

int iothread_remove_fd(iothread_t *t, int fd)
{
    struct iothread_entry **pp, *e = NULL;

    if (!t || fd < 0) {
        return -EINVAL;
    }
    pthread_mutex_lock(&t->lock);
    for (pp = &t->entries; *pp; pp = &(*pp)->next) {
        if ((*pp)->fd == fd) {
            e = *pp;
            *pp = e->next;
            break;
        }
    }
    if (!e) {
        pthread_mutex_unlock(&t->lock);
        return -ENOENT;
    }
    /* A descriptor closed before its removal has left epoll already, a parked one too. */
    if (e->events != 0) {
        epoll_ctl(t->epfd, EPOLL_CTL_DEL, fd, NULL);
    }
    e->removed = true;
    e->next = t->dead;
    t->dead = e;

    /* From another thread: wait out a dispatch of this entry in progress. */
    if (t->running == e && !pthread_equal(pthread_self(), t->self)) {
        uint64_t seq = t->dispatch_seq;
        while (t->running == e && t->dispatch_seq == seq) {
            pthread_cond_wait(&t->idle, &t->lock);
        }
    }
    pthread_mutex_unlock(&t->lock);
    return 0;
}

void iothread_destroy(iothread_t *t)
{
    uint64_t one = 1;

    if (!t) {
        return;
    }
    pthread_mutex_lock(&t->lock);
    if (t->running && pthread_equal(pthread_self(), t->self)) {
        /* From a handler: the thread cannot join itself. */
        pthread_mutex_unlock(&t->lock);
        LOG_ERR("iothread %s: destroyed from its own handler; left running", t->name);
        return;
    }
    t->stopping = true;
    pthread_mutex_unlock(&t->lock);
    if (write(t->wake_fd, &one, sizeof(one)) < 0) {
        /* A full counter (EAGAIN) already wakes the loop. */
    }
    pthread_join(t->thread, NULL);

    free_entries(t->entries);
    free_entries(t->dead);
    close(t->wake_fd);
    close(t->epfd);
    pthread_cond_destroy(&t->idle);
    pthread_mutex_destroy(&t->lock);
    free(t);
}
