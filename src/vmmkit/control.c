/*
 * control.c - the control socket's plumbing and "vmmkit ctl" (control.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmmkit/cli.h"
#include "vmmkit/control.h"
#include "vmmkit/run.h"

static int unix_address(const char *path, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (!path[0] || strlen(path) >= sizeof(sa->sun_path))
        return -ENAMETOOLONG;
    memcpy(sa->sun_path, path, strlen(path));
    return 0;
}

int control_listen(const char *path)
{
    struct sockaddr_un sa;
    struct stat st;
    mode_t old;
    int fd, r;

    r = unix_address(path, &sa);
    if (r < 0)
        return r;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return -EEXIST;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -errno;
        r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
        close(fd);
        if (r == 0)
            return -EADDRINUSE;
        unlink(path); /* stale: its server is gone */
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    old = umask(0177);
    r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (r < 0 || listen(fd, 16) < 0) {
        r = -errno;
        close(fd);
        return r;
    }
    return fd;
}

int control_read_line(int fd, char *buf, size_t len, int timeout_ms)
{
    size_t n = 0;

    if (len == 0)
        return -EINVAL;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, timeout_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -ETIMEDOUT;
        ssize_t got = recv(fd, buf + n, len - 1 - n, MSG_DONTWAIT);
        if (got < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (got < 0)
            return -errno;
        if (got == 0) { /* the peer closed: take what came as the line */
            buf[n] = 0;
            return n ? (int)n : -ECONNRESET;
        }
        char *nl = memchr(buf + n, '\n', (size_t)got);
        n += (size_t)got;
        if (nl) {
            *nl = 0;
            return (int)(nl - buf);
        }
        if (n == len - 1)
            return -EMSGSIZE;
    }
}

int control_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            if (poll(&pf, 1, 1000) <= 0)
                return -ETIMEDOUT;
            continue;
        }
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void ctl_help(FILE *f)
{
    fprintf(f, "Usage: vmmkit ctl SOCKET COMMAND [VM]\n"
               "\n"
               "Talk to a running system's control socket (vmmkit run SYSTEM.xml\n"
               "with control= or --control).  Commands:\n"
               "  list        one line per VM: NAME STATE PID RESTARTS\n"
               "  stop VM     stop a VM (it is not restarted)\n"
               "  start VM    start a VM that is down\n"
               "  reboot VM   reboot a VM's guest\n"
               "  shutdown    stop every VM; the system then ends\n"
               "\n"
               "Exit status: 0 on success, 1 when the system refused the request or\n"
               "cannot be reached, 2 for a usage error.\n");
}

int vmmkit_ctl_main(int argc, char **argv)
{
    struct sockaddr_un sa;
    char req[256], reply[8192];
    size_t n = 0;
    int fd, r;

    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        ctl_help(stdout);
        return 0;
    }
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "vmmkit: error: ctl needs SOCKET COMMAND [VM] (try vmmkit ctl --help)\n");
        return EXIT_USAGE;
    }
    if (strcmp(argv[2], "list") && strcmp(argv[2], "shutdown") && strcmp(argv[2], "stop") &&
        strcmp(argv[2], "start") && strcmp(argv[2], "reboot")) {
        fprintf(stderr, "vmmkit: error: ctl: unknown command '%s' (try vmmkit ctl --help)\n",
                argv[2]);
        return EXIT_USAGE;
    }
    bool needs_vm =
        !strcmp(argv[2], "stop") || !strcmp(argv[2], "start") || !strcmp(argv[2], "reboot");
    if (needs_vm != (argc == 4)) {
        fprintf(stderr, "vmmkit: error: ctl %s %s\n", argv[2],
                needs_vm ? "needs the VM's name" : "takes no VM");
        return EXIT_USAGE;
    }
    if (unix_address(argv[1], &sa) < 0) {
        fprintf(stderr, "vmmkit: error: ctl: %s is not a usable socket path\n", argv[1]);
        return EXIT_USAGE;
    }
    snprintf(req, sizeof(req), "%s%s%s\n", argv[2], argc == 4 ? " " : "", argc == 4 ? argv[3] : "");
    if (strlen(req) >= sizeof(req) - 1) {
        fprintf(stderr, "vmmkit: error: ctl: the VM's name is too long\n");
        return EXIT_USAGE;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        fprintf(stderr, "vmmkit: error: ctl: cannot reach %s: %s\n", argv[1], strerror(errno));
        if (fd >= 0)
            close(fd);
        return EXIT_RUN_ERROR;
    }
    r = control_write_all(fd, req, strlen(req));
    while (r == 0 && n < sizeof(reply) - 1) {
        ssize_t got = read(fd, reply + n, sizeof(reply) - 1 - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    close(fd);
    reply[n] = 0;
    if (r < 0 || n == 0) {
        fprintf(stderr, "vmmkit: error: ctl: no answer from %s\n", argv[1]);
        return EXIT_RUN_ERROR;
    }
    if (strncmp(reply, "error:", 6) == 0) {
        fprintf(stderr, "vmmkit: %s", reply);
        return EXIT_RUN_ERROR;
    }
    fputs(reply, stdout);
    return 0;
}
