/*
 * chardev.h - host character back ends for guest consoles.
 *
 * A chardev connects a device model (a UART, a virtio console port) to a
 * host byte stream.  Output is written synchronously.  Input is read by a
 * thread of the chardev and handed to the device through a receive
 * callback; when the device cannot take everything (its FIFO is full), the
 * chardev keeps the rest and waits until the device calls
 * chardev_rx_ready(), so no input is lost and no thread spins.
 *
 * The stdio back end puts a terminal into raw mode (restored on close and
 * on fatal signals) and understands one escape: Ctrl-A x quits (the
 * chardev's quit callback), Ctrl-A Ctrl-A sends a literal Ctrl-A.
 */
#ifndef VMMKIT_CHARDEV_H
#define VMMKIT_CHARDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct chardev chardev_t;

/*
 * Called from the chardev's input thread with @len > 0 bytes.  Returns how
 * many bytes the device accepted (0..@len); the chardev retries the rest
 * after chardev_rx_ready().
 */
typedef size_t (*chardev_receive_fn)(void *opaque, const uint8_t *buf, size_t len);
/* Called from the input thread when the user typed the quit escape. */
typedef void (*chardev_quit_fn)(void *opaque);

/*
 * Open the stdio back end on @in_fd / @out_fd (usually 0 and 1).  When
 * @in_fd is a terminal it is put into raw mode.  @in_fd < 0 means no input.
 * Returns the chardev or NULL with errno set.
 */
chardev_t *chardev_stdio_open(int in_fd, int out_fd);

/*
 * Call @quit (from the input thread) when the user types the quit escape.
 * Set it before chardev_start().
 */
void chardev_set_quit_handler(chardev_t *cd, chardev_quit_fn quit, void *opaque);

/*
 * Start delivering input to @receive.  Without a quit handler the escape
 * is not interpreted.  Returns 0 or a negative errno.
 */
int chardev_start(chardev_t *cd, chardev_receive_fn receive, void *opaque);

/* Write guest output; retries short writes and EINTR.  Returns 0 or -errno. */
int chardev_write(chardev_t *cd, const void *buf, size_t len);

/* The device has room for input again (thread-safe, cheap, never blocks). */
void chardev_rx_ready(chardev_t *cd);

/*
 * Stop the input thread and wait for it: from then on the receive callback
 * is never called again (the device may go).  Output still works.  Safe to
 * call more than once.
 */
void chardev_stop(chardev_t *cd);

/* Stop the input thread, restore the terminal, free. */
void chardev_close(chardev_t *cd);

#ifdef __cplusplus
}
#endif
#endif
