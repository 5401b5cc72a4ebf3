/*
 * chardev_stdio.c - the stdio character back end (see chardev.h).
 *
 * Threads: the input thread owns the pending-input buffer; other threads
 * only write the wake eventfd (chardev_rx_ready, chardev_close).  Output
 * is written by whichever thread calls chardev_write(), serialised by
 * out_lock so lines from several vCPUs do not interleave mid-write.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <termios.h>
#include <unistd.h>

#include <vmmkit/chardev.h>
#include <vmmkit/sandbox.h>

#define CTRL_A 0x01

struct chardev {
    int in_fd;
    int out_fd;
    int wake_fd; /* eventfd: device has room, or close requested */
    bool raw;    /* in_fd is a terminal we switched to raw mode */
    struct termios saved;
    pthread_mutex_t out_lock;

    pthread_t thread;
    bool thread_started;
    _Atomic bool stopping;
    chardev_receive_fn receive;
    void *opaque;
    chardev_quit_fn quit;
    void *quit_opaque;

    /* input thread only */
    uint8_t pending[256];
    size_t pending_len;
    bool escape; /* the previous byte was Ctrl-A */
};

/*
 * The terminal to restore when a fatal signal ends the process: the only
 * process-wide state here, because a signal handler has no other way to
 * find it.  Written once, before the handler is installed.
 */
static struct termios saved_termios;
static int saved_termios_fd = -1;

static void restore_on_signal(int sig)
{
    if (saved_termios_fd >= 0)
        tcsetattr(saved_termios_fd, TCSANOW, &saved_termios);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void enter_raw_mode(chardev_t *cd)
{
    struct termios t;

    if (!isatty(cd->in_fd) || tcgetattr(cd->in_fd, &cd->saved) != 0)
        return;
    t = cd->saved;
    cfmakeraw(&t);
    /* Keep output post-processing: the guest sends "\r\n" itself, and raw
     * output keeps it that way, but stderr messages from the VMM need
     * OPOST to start at column 0. */
    t.c_oflag |= OPOST;
    if (tcsetattr(cd->in_fd, TCSANOW, &t) != 0)
        return;
    cd->raw = true;
    if (saved_termios_fd < 0) {
        saved_termios = cd->saved;
        saved_termios_fd = cd->in_fd;
        signal(SIGTERM, restore_on_signal);
        signal(SIGHUP, restore_on_signal);
        signal(SIGSEGV, restore_on_signal);
        signal(SIGABRT, restore_on_signal);
    }
}

chardev_t *chardev_stdio_open(int in_fd, int out_fd)
{
    chardev_t *cd = calloc(1, sizeof(*cd));

    if (!cd)
        return NULL;
    cd->in_fd = in_fd;
    cd->out_fd = out_fd;
    cd->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (cd->wake_fd < 0) {
        int e = errno;
        free(cd);
        errno = e;
        return NULL;
    }
    pthread_mutex_init(&cd->out_lock, NULL);
    if (in_fd >= 0)
        enter_raw_mode(cd);
    return cd;
}

int chardev_write(chardev_t *cd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    int ret = 0;

    pthread_mutex_lock(&cd->out_lock);
    while (len > 0) {
        ssize_t n = write(cd->out_fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                struct pollfd pfd = {.fd = cd->out_fd, .events = POLLOUT};
                poll(&pfd, 1, -1);
                continue;
            }
            ret = -errno;
            break;
        }
        p += n;
        len -= (size_t)n;
    }
    pthread_mutex_unlock(&cd->out_lock);
    return ret;
}

void chardev_rx_ready(chardev_t *cd)
{
    uint64_t one = 1;
    ssize_t n = write(cd->wake_fd, &one, sizeof(one));
    (void)n; /* a full eventfd counter already means "wake up" */
}

/*
 * Strip the Ctrl-A escapes out of @buf in place.  Returns the new length;
 * sets *quit when Ctrl-A x was seen (input after it is dropped).
 */
static size_t filter_escapes(chardev_t *cd, uint8_t *buf, size_t len, bool *quit)
{
    size_t out = 0;

    for (size_t i = 0; i < len; i++) {
        uint8_t c = buf[i];
        if (cd->escape) {
            cd->escape = false;
            if (c == 'x' || c == 'X') {
                *quit = true;
                return out;
            }
            if (c == CTRL_A)
                buf[out++] = c;
            continue; /* unknown escape: dropped */
        }
        if (c == CTRL_A && cd->raw && cd->quit) {
            cd->escape = true;
            continue;
        }
        buf[out++] = c;
    }
    return out;
}

static void drain_wake(chardev_t *cd)
{
    uint64_t v;
    ssize_t n = read(cd->wake_fd, &v, sizeof(v));
    (void)n;
}

static void *input_thread(void *arg)
{
    chardev_t *cd = arg;
    bool eof = false;

    /* Its seccomp allowlist, before the first byte reaches a device (vmmkit/sandbox.h). */
    if (vmm_sandbox_enter(VMM_THREAD_INPUT) < 0)
        return NULL; /* no input, rather than input unconfined */
    while (!cd->stopping) {
        struct pollfd pfd[2] = {
            {.fd = cd->wake_fd, .events = POLLIN},
            {.fd = cd->in_fd, .events = POLLIN},
        };
        /* Read more input only when the last chunk was delivered. */
        nfds_t n = (cd->pending_len == 0 && !eof) ? 2 : 1;

        if (cd->pending_len > 0) {
            size_t took = cd->receive(cd->opaque, cd->pending, cd->pending_len);
            if (took > cd->pending_len)
                took = cd->pending_len;
            memmove(cd->pending, cd->pending + took, cd->pending_len - took);
            cd->pending_len -= took;
            if (cd->pending_len == 0)
                continue;
        }
        if (poll(pfd, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pfd[0].revents & POLLIN)
            drain_wake(cd);
        if (n == 2 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t got = read(cd->in_fd, cd->pending, sizeof(cd->pending));
            bool quit = false;
            if (got < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (got <= 0) {
                eof = true; /* the guest keeps running without input */
                continue;
            }
            cd->pending_len = filter_escapes(cd, cd->pending, (size_t)got, &quit);
            if (quit) {
                cd->pending_len = 0;
                cd->quit(cd->quit_opaque);
            }
        }
    }
    return NULL;
}

void chardev_set_quit_handler(chardev_t *cd, chardev_quit_fn quit, void *opaque)
{
    cd->quit = quit;
    cd->quit_opaque = opaque;
}

int chardev_start(chardev_t *cd, chardev_receive_fn receive, void *opaque)
{
    int err;

    if (cd->in_fd < 0 || cd->thread_started)
        return 0;
    cd->receive = receive;
    cd->opaque = opaque;
    err = pthread_create(&cd->thread, NULL, input_thread, cd);
    if (err)
        return -err;
    cd->thread_started = true;
    return 0;
}

void chardev_stop(chardev_t *cd)
{
    if (!cd || !cd->thread_started)
        return;
    cd->stopping = true;
    chardev_rx_ready(cd);
    pthread_join(cd->thread, NULL);
    cd->thread_started = false;
}

void chardev_close(chardev_t *cd)
{
    if (!cd)
        return;
    chardev_stop(cd);
    if (cd->raw) {
        tcsetattr(cd->in_fd, TCSANOW, &cd->saved);
        if (saved_termios_fd == cd->in_fd)
            saved_termios_fd = -1;
    }
    close(cd->wake_fd);
    pthread_mutex_destroy(&cd->out_lock);
    free(cd);
}
