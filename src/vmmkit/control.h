/*
 * control.h - a system's control socket, and "vmmkit ctl" that talks to it.
 *
 * The protocol is one request line and one reply per connection, in
 * text: "list" answers one line per VM ("NAME STATE PID RESTARTS"), and
 * "stop VM", "start VM", "reboot VM", "shutdown" answer one line starting
 * "ok:" or "error:".  The socket is created mode 0600: whoever may talk to
 * it may stop the system.
 */
#ifndef VMMKIT_CONTROL_H
#define VMMKIT_CONTROL_H

#include <stddef.h>

/*
 * Listen on the UNIX stream socket @path (close-on-exec, non-blocking,
 * mode 0600).  A stale socket nobody listens on is replaced; a live one
 * gives -EADDRINUSE, a path that is not a socket -EEXIST.  Returns the
 * descriptor or -errno.
 */
int control_listen(const char *path);

/*
 * Read one line (up to "\n", which is dropped; at most @len - 1 bytes) from
 * @fd within @timeout_ms.  Returns its length, or -errno (-ETIMEDOUT, or
 * -EMSGSIZE for a longer line).
 */
int control_read_line(int fd, char *buf, size_t len, int timeout_ms);

/* Write all @len bytes to @fd.  Returns 0 or -errno. */
int control_write_all(int fd, const void *buf, size_t len);

#endif
