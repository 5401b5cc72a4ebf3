/*
 * mmio_echo.c - "vmmkit mmio-echo": an example handler for forwarding
 * regions (vmmkit run --forward; include/vmmkit/mmio_forward.h).
 *
 * It listens on a UNIX SOCK_SEQPACKET socket and serves one VMM at a time
 * (when one disconnects, the next is accepted) with a register file of
 * --size bytes: a write stores its bytes at its offset, a read returns the
 * bytes last written there (zero at first).  The 8 bytes at 0xff8, when the
 * file reaches that far, are a counter instead: they read as the number of
 * requests served since the handler started, the reading one included, so
 * a guest can see its traffic arrive; writes to them are lost.  An access
 * past the end of the file gets a nonzero status: a bus error in the guest.
 *
 * Threads: main sets up, then waits for SIGTERM, SIGINT or SIGHUP; one
 * thread accepts and serves, with mmio_forward_serve().  To stop, main
 * shuts the sockets down under the lock (accept fails, the VMM's connection
 * reads EOF), joins the thread and removes the socket.
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <vmmkit/mmio_forward.h>

#include "vmmkit/cli.h"

#define ECHO_DEFAULT_SIZE 0x1000u
#define ECHO_MAX_SIZE (64u << 20)
#define ECHO_COUNTER_OFFSET 0xff8u

typedef struct echo {
    const char *path;
    int listen_fd;
    uint8_t *regs;
    uint64_t size;
    uint64_t requests; /* the serving thread's; read by main after it stops */
    bool verbose;
    pthread_mutex_t lock; /* guards the two below */
    int conn_fd;          /* the VMM being served, or -1 */
    bool stopping;
} echo_t;

static void print_help(FILE *f)
{
    fprintf(f, "Usage: vmmkit mmio-echo --socket PATH [--size N] [-v]\n"
               "\n"
               "An example handler for vmmkit run --forward: listens on the UNIX\n"
               "SOCK_SEQPACKET socket PATH and serves one VMM at a time with a register\n"
               "file.  A write stores its bytes at its offset; a read returns the bytes\n"
               "last written there (zero at first).  The 8 bytes at 0xff8 read as the\n"
               "number of requests served so far, that read included.  An access past\n"
               "the end gets an error status: a bus error in the guest.\n"
               "\n"
               "Options:\n"
               "  -s, --socket PATH   where to listen (a stale socket there is replaced)\n"
               "  -n, --size N        bytes in the register file: hex (0x...), decimal, or\n"
               "                      with K/M (default 0x1000, at most 64M)\n"
               "  -v, --verbose       print every request\n"
               "  -h, --help          this text\n"
               "\n"
               "Prints \"mmio-echo: listening on PATH\" on stderr when ready; exits 0 on\n"
               "SIGTERM, SIGINT or SIGHUP, removing PATH.\n");
}

static int32_t echo_handle(void *opaque, const mmio_forward_request_t *req, uint64_t *data)
{
    echo_t *e = opaque;

    e->requests++;
    if (e->verbose && req->is_write)
        fprintf(stderr,
                "mmio-echo: #%" PRIu64 " write of %u bytes at offset %#" PRIx64 ": %#" PRIx64 "\n",
                e->requests, req->width, req->offset, req->data);
    else if (e->verbose)
        fprintf(stderr, "mmio-echo: #%" PRIu64 " read of %u bytes at offset %#" PRIx64 "\n",
                e->requests, req->width, req->offset);
    if (req->offset >= e->size || req->width > e->size - req->offset)
        return -EINVAL;
    if (req->is_write) {
        for (unsigned int i = 0; i < req->width; i++)
            e->regs[req->offset + i] = (uint8_t)(req->data >> (8 * i));
        return 0;
    }
    if (e->size >= ECHO_COUNTER_OFFSET + 8) {
        for (unsigned int i = 0; i < 8; i++)
            e->regs[ECHO_COUNTER_OFFSET + i] = (uint8_t)(e->requests >> (8 * i));
    }
    uint64_t v = 0;
    for (unsigned int i = 0; i < req->width; i++)
        v |= (uint64_t)e->regs[req->offset + i] << (8 * i);
    *data = v;
    return 0;
}

static bool echo_stopping(echo_t *e)
{
    pthread_mutex_lock(&e->lock);
    bool stopping = e->stopping;
    pthread_mutex_unlock(&e->lock);
    return stopping;
}

/* Accept a VMM, serve it until it leaves, and again; until main stops us. */
static void *serve_thread(void *arg)
{
    echo_t *e = arg;

    for (;;) {
        int fd = accept4(e->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (echo_stopping(e))
                return NULL;
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            fprintf(stderr, "mmio-echo: error: accept: %s\n", strerror(errno));
            sleep(1);
            continue;
        }
        pthread_mutex_lock(&e->lock);
        bool stopping = e->stopping;
        if (!stopping)
            e->conn_fd = fd;
        pthread_mutex_unlock(&e->lock);
        if (stopping) {
            close(fd);
            return NULL;
        }
        fprintf(stderr, "mmio-echo: a VMM connected\n");
        int r = mmio_forward_serve(fd, echo_handle, e);
        pthread_mutex_lock(&e->lock);
        e->conn_fd = -1;
        stopping = e->stopping;
        pthread_mutex_unlock(&e->lock);
        close(fd);
        if (stopping)
            return NULL;
        if (r < 0)
            fprintf(stderr, "mmio-echo: connection dropped: %s\n",
                    r == -EPROTO ? "a request that is not protocol version 1" : strerror(-r));
        else
            fprintf(stderr, "mmio-echo: the VMM disconnected (%" PRIu64 " requests so far)\n",
                    e->requests);
    }
    return NULL;
}

/* Listen on @path, replacing a stale socket (never another kind of file). */
static int listen_on(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "vmmkit: error: mmio-echo: --socket %s: longer than %zu bytes\n", path,
                sizeof(sa.sun_path) - 1);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            fprintf(stderr, "vmmkit: error: mmio-echo: --socket %s: exists and is not a socket\n",
                    path);
            return -1;
        }
        unlink(path);
    }
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
        fprintf(stderr, "vmmkit: error: mmio-echo: --socket %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

int vmmkit_mmio_echo_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"socket", required_argument, NULL, 's'},
        {"size", required_argument, NULL, 'n'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    echo_t e = {.size = ECHO_DEFAULT_SIZE, .listen_fd = -1, .conn_fd = -1};
    pthread_t thread;
    sigset_t stop;
    int c, sig;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":s:n:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            e.path = optarg;
            break;
        case 'n':
            if (cli_parse_length(optarg, &e.size) < 0 || e.size == 0 || e.size > ECHO_MAX_SIZE) {
                fprintf(stderr,
                        "vmmkit: error: mmio-echo: --size '%s': must be 1 byte to 64M (e.g. "
                        "0x1000, 4096, 64K)\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case 'v':
            e.verbose = true;
            break;
        case 'h':
            print_help(stdout);
            return 0;
        case ':':
            fprintf(stderr, "vmmkit: error: mmio-echo: option %s needs a value\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr,
                    "vmmkit: error: mmio-echo: unknown option '%s' (see vmmkit mmio-echo --help)\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "vmmkit: error: mmio-echo: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    if (!e.path || !e.path[0]) {
        fprintf(stderr, "vmmkit: error: mmio-echo: no socket given: use --socket PATH\n");
        return EXIT_USAGE;
    }

    /* Only main takes the stop signals; the serving thread inherits the mask. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    pthread_mutex_init(&e.lock, NULL);
    e.regs = calloc(1, e.size);
    if (!e.regs) {
        fprintf(stderr, "vmmkit: error: mmio-echo: out of memory for %" PRIu64 " bytes\n", e.size);
        return EXIT_RUN_ERROR;
    }
    e.listen_fd = listen_on(e.path);
    if (e.listen_fd < 0) {
        free(e.regs);
        return EXIT_RUN_ERROR;
    }
    if (pthread_create(&thread, NULL, serve_thread, &e) != 0) {
        fprintf(stderr, "vmmkit: error: mmio-echo: cannot start the serving thread\n");
        close(e.listen_fd);
        unlink(e.path);
        free(e.regs);
        return EXIT_RUN_ERROR;
    }
    fprintf(stderr, "mmio-echo: listening on %s\n", e.path);

    while (sigwait(&stop, &sig) != 0)
        ;
    pthread_mutex_lock(&e.lock);
    e.stopping = true;
    if (e.conn_fd >= 0)
        shutdown(e.conn_fd, SHUT_RDWR);
    pthread_mutex_unlock(&e.lock);
    shutdown(e.listen_fd, SHUT_RDWR);
    pthread_join(thread, NULL);
    close(e.listen_fd);
    unlink(e.path);
    fprintf(stderr, "mmio-echo: %s: exiting after %" PRIu64 " requests\n", strsignal(sig),
            e.requests);
    free(e.regs);
    pthread_mutex_destroy(&e.lock);
    return 0;
}
