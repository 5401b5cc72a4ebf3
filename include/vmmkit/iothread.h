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

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct iothread iothread_t;

/* Called on the I/O thread when @fd is readable (EPOLLIN) or hung up. */
typedef void (*iothread_handler_fn)(int fd, uint32_t events, void *opaque);

/* Create and start an I/O thread named @name (for ps/top).  NULL + errno on failure. */
iothread_t *iothread_create(const char *name);

/* Watch @fd for input.  Thread-safe.  Returns 0 or -errno. */
int iothread_add_fd(iothread_t *t, int fd, iothread_handler_fn fn, void *opaque);

/*
 * Stop watching @fd.  Thread-safe; when it returns from another thread, no
 * handler for @fd is running or will run.  Returns 0 or -errno.
 */
int iothread_remove_fd(iothread_t *t, int fd);

/* Stop the thread, wait for it, free.  Descriptors are not closed. */
void iothread_destroy(iothread_t *t);

#ifdef __cplusplus
}
#endif
#endif
