/*
 * test_control.c - the control socket's plumbing (control.c): listening
 * over stale sockets, refusing live ones and non-sockets, reading request
 * lines with limits and time-outs, and "vmmkit ctl" against a small server.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmmkit/control.h"
#include "vmmkit/run.h"

static char dir[64];

static void path_in_dir(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", dir, name);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/vmmkit-ctl-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_listen_live_stale_and_not_socket(void **state)
{
    char p[128], f[128];
    int a, b;

    (void)state;
    path_in_dir(p, sizeof(p), "c.sock");
    a = control_listen(p);
    assert_true(a >= 0);
    assert_int_equal(fcntl(a, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    /* 0600: only its owner may stop the system */
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* a second server on a live socket is refused */
    assert_int_equal(control_listen(p), -EADDRINUSE);
    /* once its server is gone the socket is stale and replaced */
    close(a);
    b = control_listen(p);
    assert_true(b >= 0);
    close(b);
    /* a path that is not a socket is never removed */
    path_in_dir(f, sizeof(f), "file");
    close(open(f, O_CREAT | O_WRONLY, 0600));
    assert_int_equal(control_listen(f), -EEXIST);
    assert_int_equal(access(f, F_OK), 0);
    /* too long for a socket address */
    char longp[200];
    memset(longp, 'x', sizeof(longp) - 1);
    longp[sizeof(longp) - 1] = 0;
    assert_int_equal(control_listen(longp), -ENAMETOOLONG);
    assert_int_equal(control_listen(""), -ENAMETOOLONG);
}

static void test_read_line(void **state)
{
    int sv[2];
    char buf[16];

    (void)state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    /* a line in two pieces */
    assert_int_equal(write(sv[1], "li", 2), 2);
    assert_int_equal(write(sv[1], "st\nrest", 7), 7);
    assert_int_equal(control_read_line(sv[0], buf, sizeof(buf), 1000), 4);
    assert_string_equal(buf, "list");
    close(sv[0]);
    close(sv[1]);

    /* nothing comes: a time-out, not a hang */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(control_read_line(sv[0], buf, sizeof(buf), 50), -ETIMEDOUT);
    /* too long a line */
    assert_int_equal(write(sv[1], "0123456789abcdefghij\n", 21), 21);
    assert_int_equal(control_read_line(sv[0], buf, sizeof(buf), 1000), -EMSGSIZE);
    close(sv[0]);
    close(sv[1]);

    /* the peer closes after an unterminated request: that is the line */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(write(sv[1], "stop a", 6), 6);
    close(sv[1]);
    assert_int_equal(control_read_line(sv[0], buf, sizeof(buf), 1000), 6);
    assert_string_equal(buf, "stop a");
    /* and a peer that closes having sent nothing */
    assert_int_equal(control_read_line(sv[0], buf, sizeof(buf), 1000), -ECONNRESET);
    close(sv[0]);
    assert_int_equal(control_read_line(-1, buf, 0, 10), -EINVAL);
}

/* A one-shot server answering @reply to whatever it is asked. */
struct server {
    int fd;
    const char *reply;
    char got[256];
};

static void *serve_once(void *arg)
{
    struct server *s = arg;
    int c;

    for (;;) {
        c = accept(s->fd, NULL, NULL);
        if (c >= 0 || errno != EAGAIN)
            break;
        usleep(1000);
    }
    if (c < 0)
        return NULL;
    control_read_line(c, s->got, sizeof(s->got), 2000);
    control_write_all(c, s->reply, strlen(s->reply));
    close(c);
    return NULL;
}

static int run_ctl(const char *sock, const char *cmd, const char *vm, struct server *srv)
{
    char *argv[] = {"ctl", (char *)sock, (char *)cmd, (char *)vm, NULL};
    int argc = vm ? 4 : 3, r;
    pthread_t t;

    if (srv)
        assert_int_equal(pthread_create(&t, NULL, serve_once, srv), 0);
    r = vmmkit_ctl_main(argc, argv);
    if (srv)
        pthread_join(t, NULL);
    return r;
}

static void test_ctl_client(void **state)
{
    char p[128];
    struct server srv = {.reply = "a running 42 0\nb powered off 0 0\n"};

    (void)state;
    path_in_dir(p, sizeof(p), "ctl.sock");
    srv.fd = control_listen(p);
    assert_true(srv.fd >= 0);
    assert_int_equal(run_ctl(p, "list", NULL, &srv), 0);
    assert_string_equal(srv.got, "list");

    srv.reply = "ok: stopping vm a\n";
    assert_int_equal(run_ctl(p, "stop", "a", &srv), 0);
    assert_string_equal(srv.got, "stop a");

    srv.reply = "error: stop: no VM named 'x'\n";
    assert_int_equal(run_ctl(p, "stop", "x", &srv), EXIT_RUN_ERROR);

    /* usage errors never reach the server */
    assert_int_equal(run_ctl(p, "frobnicate", NULL, NULL), EXIT_USAGE);
    assert_int_equal(run_ctl(p, "stop", NULL, NULL), EXIT_USAGE);
    assert_int_equal(run_ctl(p, "list", "a", NULL), EXIT_USAGE);
    close(srv.fd);
    unlink(p);
    /* nobody there */
    assert_int_equal(run_ctl(p, "list", NULL, NULL), EXIT_RUN_ERROR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listen_live_stale_and_not_socket),
        cmocka_unit_test(test_read_line),
        cmocka_unit_test(test_ctl_client),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
