/*
 * iothread.h - an I/O thread: one epoll loop serving file descriptors.
 *
 * Queue notifications arrive on ioeventfds and host back ends (tap, disk
 * completions, chardevs) on their own descriptors; an I/O thread waits on
 * all of them and calls each descriptor's handler, so the vCPU threads
 * never carry device work.  Handlers run on the I/O thread and take the
 * device's lock themselves.
 */
#ifndef VMMKIT_IOTHREAD_H
#define VMMKIT_IOTHREAD_H

#include <pthread.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct iothread iothread_t;

/*
 * Called on the I/O thread when @fd is ready for the events it is watched
 * for (EPOLLIN unless set otherwise), or hung up / in error (EPOLLHUP,
 * EPOLLERR: always reported while the descriptor is not parked).  @events
 * is what epoll reported; after an iothread_mod_fd() it may still be the
 * old mask once.
 */
typedef void (*iothread_handler_fn)(int fd, uint32_t events, void *opaque);

/* Create and start an I/O thread named @name (for ps/top).  NULL + errno on failure. */
iothread_t *iothread_create(const char *name);

/* Watch @fd for input.  Thread-safe.  Returns 0 or -errno (-EEXIST: watched already). */
int iothread_add_fd(iothread_t *t, int fd, iothread_handler_fn fn, void *opaque);

/*
 * Watch @fd for @events (EPOLLIN, EPOLLOUT, ...; level-triggered).  With
 * @events 0 the descriptor is registered but parked (see iothread_mod_fd()).
 * Thread-safe.  Returns 0 or -errno.
 */
int iothread_add_fd_events(iothread_t *t, int fd, uint32_t events, iothread_handler_fn fn,
                           void *opaque);

/*
 * Watch @fd, already added, for @events from now on.  0 parks it: it stays
 * registered (iothread_remove_fd() still applies) but nothing is reported,
 * not even a hang-up, until a later call gives it a mask again.
 * Thread-safe and never waits, so a device may call it with its own lock
 * held, from any thread, its handler included.  Returns 0, -ENOENT when @fd
 * is not watched, or -errno.
 */
int iothread_mod_fd(iothread_t *t, int fd, uint32_t events);

/*
 * Stop watching @fd.  Thread-safe; when it returns from another thread, no
 * handler for @fd is running or will run (so never call it from another
 * thread with a lock held that the handler takes).  From a handler on the
 * I/O thread itself it never waits.  Returns 0 or -errno.
 */
int iothread_remove_fd(iothread_t *t, int fd);

/* Stop the thread, wait for it, free.  Descriptors are not closed. */
void iothread_destroy(iothread_t *t);

/*
 * pthread_create() for a device or back-end thread: the thread starts with
 * every asynchronous signal blocked, so the vCPU kick and the program's stop
 * signals never land on it.  0 or an errno value, as pthread_create().
 */
int vmm_thread_start_quiet(pthread_t *thread, void *(*fn)(void *), void *arg);

#ifdef __cplusplus
}
#endif
#endif
