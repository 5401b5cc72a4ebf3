/*
 * test_sandbox.c - the seccomp allowlists (src/core/sandbox.c): each case
 * installs a class's filter in a forked child and makes a call; a call
 * outside the list kills the child with SIGSYS in kill mode and proceeds in
 * log and off modes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>

#include <vmmkit/log.h>
#include <vmmkit/sandbox.h>

/* What the child did: exited with a code, or was killed by a signal. */
struct outcome {
    bool signaled;
    int code; /* exit code or signal */
};

/*
 * Fork; in the child set @mode, enter @cls and run @fn, which returns the
 * child's exit code (0 = the call went through as expected).
 */
static struct outcome in_child(vmm_sandbox_mode_t mode, vmm_thread_class_t cls, int (*fn)(void))
{
    struct outcome o = {0};
    int status;
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        if (vmm_sandbox_set_mode(mode) < 0)
            _exit(100);
        if (vmm_sandbox_enter(cls) < 0)
            _exit(101);
        _exit(fn());
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status)) {
        o.signaled = true;
        o.code = WTERMSIG(status);
    } else {
        o.code = WEXITSTATUS(status);
    }
    return o;
}

static void expect_exit(struct outcome o, int code)
{
    if (o.signaled || o.code != code)
        fail_msg("child %s %d, expected exit %d", o.signaled ? "killed by signal" : "exited",
                 o.code, code);
}

static void expect_sigsys(struct outcome o)
{
    if (!o.signaled || o.code != SIGSYS)
        fail_msg("child %s %d, expected SIGSYS", o.signaled ? "killed by signal" : "exited",
                 o.code);
}

/* --- what the children do ------------------------------------------------------------- */

/* On no list: a network socket. */
static int call_socket(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    return fd >= 0 ? 0 : 1;
}

/* On no list: running a program. */
static int call_execve(void)
{
    char *argv[] = {(char *)"true", NULL};
    syscall(SYS_execve, "/nonexistent/true", argv, NULL);
    return errno == ENOENT ? 0 : 1;
}

/* On no list: a pipe (a thread's descriptors are made at set-up). */
static int call_pipe(void)
{
    int p[2];
    return pipe(p) < 0 ? 1 : 0;
}

/* On every list: what a thread does all day. */
static int call_everyday(void)
{
    char c = 'x';
    void *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void *heap = malloc(100000);

    if (m == MAP_FAILED || !heap)
        return 2;
    memset(heap, 1, 100000);
    free(heap);
    munmap(m, 1 << 20);
    if (write(STDERR_FILENO, &c, 0) < 0)
        return 3;
    return getpid() > 0 ? 0 : 4;
}

/* vCPU: ioctl with a request of the list (a terminal query: ENOTTY on /dev/null). */
static int call_ioctl_listed(void)
{
    struct termios t;
    int fd = STDIN_FILENO;
    return (ioctl(fd, TCGETS, &t) == 0 || errno == ENOTTY || errno == EBADF) ? 0 : 1;
}

/* vCPU: ioctl with a request not on the list. */
static int call_ioctl_unlisted(void)
{
    int n;
    ioctl(STDIN_FILENO, FIONREAD, &n);
    return 0;
}

/* No list maps executable memory. */
static int call_mmap_exec(void)
{
    void *m = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return m == MAP_FAILED ? 1 : 0;
}

/* Main: opening for reading (a reboot reloads the kernel) but never for writing. */
static int call_open_read(void)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return fd >= 0 ? 0 : 1;
}

static int call_open_write(void)
{
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    return fd >= 0 ? 0 : 1;
}

/* Main: clone3 fails with ENOSYS (its flags cannot be checked) ... */
static int call_clone3(void)
{
    long r = syscall(SYS_clone3, NULL, (size_t)0);
    return r < 0 && errno == ENOSYS ? 0 : 1;
}

/* ... clone for a process is refused ... */
static int call_fork(void)
{
    pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    if (pid == 0)
        _exit(0);
    return pid > 0 ? 0 : 1;
}

/* ... and a thread works, and installs the vCPU filter on top: the filters stack. */
static void *vcpu_like(void *arg)
{
    int *rc = arg;

    if (vmm_sandbox_enter(VMM_THREAD_VCPU) < 0) {
        *rc = 5;
        return NULL;
    }
    *rc = 0;
    return NULL;
}

static int call_thread(void)
{
    pthread_t t;
    int rc = -1;

    if (pthread_create(&t, NULL, vcpu_like, &rc) != 0)
        return 6;
    pthread_join(t, NULL);
    return rc;
}

/* A vCPU thread under main's filter and its own cannot open files (main only). */
static void *vcpu_opens(void *arg)
{
    (void)arg;
    if (vmm_sandbox_enter(VMM_THREAD_VCPU) < 0)
        return (void *)1;
    return (void *)(intptr_t)call_open_read();
}

static int call_thread_open(void)
{
    pthread_t t;
    void *r = NULL;

    if (pthread_create(&t, NULL, vcpu_opens, NULL) != 0)
        return 6;
    pthread_join(t, &r);
    return (int)(intptr_t)r;
}

/* --- the tests ------------------------------------------------------------------------ */

static void test_kill_stops_calls_outside(void **state)
{
    (void)state;
    for (int c = 0; c < VMM_THREAD_CLASS_COUNT; c++) {
        expect_sigsys(in_child(VMM_SANDBOX_KILL, (vmm_thread_class_t)c, call_socket));
        expect_sigsys(in_child(VMM_SANDBOX_KILL, (vmm_thread_class_t)c, call_execve));
        expect_sigsys(in_child(VMM_SANDBOX_KILL, (vmm_thread_class_t)c, call_mmap_exec));
    }
    expect_sigsys(in_child(VMM_SANDBOX_KILL, VMM_THREAD_VCPU, call_ioctl_unlisted));
    expect_sigsys(in_child(VMM_SANDBOX_KILL, VMM_THREAD_VCPU, call_open_read));
    expect_sigsys(in_child(VMM_SANDBOX_KILL, VMM_THREAD_MAIN, call_open_write));
    expect_sigsys(in_child(VMM_SANDBOX_KILL, VMM_THREAD_MAIN, call_fork));
    expect_sigsys(in_child(VMM_SANDBOX_KILL, VMM_THREAD_IO, call_pipe));
    expect_sigsys(in_child(VMM_SANDBOX_KILL, VMM_THREAD_MAIN, call_thread_open));
}

static void test_kill_lets_listed_calls_through(void **state)
{
    (void)state;
    for (int c = 0; c < VMM_THREAD_CLASS_COUNT; c++)
        expect_exit(in_child(VMM_SANDBOX_KILL, (vmm_thread_class_t)c, call_everyday), 0);
    expect_exit(in_child(VMM_SANDBOX_KILL, VMM_THREAD_VCPU, call_ioctl_listed), 0);
    expect_exit(in_child(VMM_SANDBOX_KILL, VMM_THREAD_MAIN, call_open_read), 0);
    expect_exit(in_child(VMM_SANDBOX_KILL, VMM_THREAD_MAIN, call_clone3), 0);
    expect_exit(in_child(VMM_SANDBOX_KILL, VMM_THREAD_MAIN, call_thread), 0);
}

static void test_log_and_off_let_calls_proceed(void **state)
{
    (void)state;
    for (int m = VMM_SANDBOX_OFF; m <= VMM_SANDBOX_LOG; m++) {
        vmm_sandbox_mode_t mode = (vmm_sandbox_mode_t)m;
        expect_exit(in_child(mode, VMM_THREAD_VCPU, call_socket), 0);
        expect_exit(in_child(mode, VMM_THREAD_VCPU, call_execve), 0);
        expect_exit(in_child(mode, VMM_THREAD_VCPU, call_ioctl_unlisted), 0);
        expect_exit(in_child(mode, VMM_THREAD_MAIN, call_open_write), 0);
        expect_exit(in_child(mode, VMM_THREAD_MAIN, call_fork), 0);
        expect_exit(in_child(mode, VMM_THREAD_MAIN, call_thread_open), 0);
    }
}

/* The table's shape: what must hold whatever rows are added later. */
static void test_table(void **state)
{
    static const char *const nowhere[] = {"execve",
                                          "execveat",
                                          "fork",
                                          "vfork",
                                          "ptrace",
                                          "io_uring_setup",
                                          "io_uring_register",
                                          "mount",
                                          "pivot_root",
                                          "init_module",
                                          "kexec_load",
                                          "bpf",
                                          "perf_event_open",
                                          "setuid",
                                          "unshare",
                                          "setns"};
    static const char *const vcpu_calls[] = {"ioctl",  "futex", "write", "read",
                                             "tgkill", "mmap",  "exit"};
    (void)state;
    for (int c = 0; c < VMM_THREAD_CLASS_COUNT; c++) {
        for (size_t i = 0; i < sizeof(nowhere) / sizeof(nowhere[0]); i++)
            if (vmm_sandbox_allows((vmm_thread_class_t)c, nowhere[i]) == 1)
                fail_msg("class %s allows %s", vmm_thread_class_name((vmm_thread_class_t)c),
                         nowhere[i]);
    }
    /* Main's filter admits every call of the vCPU threads it creates. */
    for (size_t i = 0; i < sizeof(vcpu_calls) / sizeof(vcpu_calls[0]); i++) {
        assert_int_equal(vmm_sandbox_allows(VMM_THREAD_VCPU, vcpu_calls[i]), 1);
        assert_int_equal(vmm_sandbox_allows(VMM_THREAD_MAIN, vcpu_calls[i]), 1);
    }
    assert_int_equal(vmm_sandbox_allows(VMM_THREAD_MAIN, "openat"), 1);
    assert_int_equal(vmm_sandbox_allows(VMM_THREAD_VCPU, "openat"), 0);
    assert_int_equal(vmm_sandbox_allows(VMM_THREAD_MAIN, "no_such_call"), -1);
}

static void test_modes(void **state)
{
    vmm_sandbox_mode_t m;
    (void)state;
    assert_int_equal(vmm_sandbox_mode(), VMM_SANDBOX_OFF);   /* the library's default */
    assert_int_equal(vmm_sandbox_enter(VMM_THREAD_VCPU), 0); /* off: nothing installed */
    assert_int_equal(vmm_sandbox_mode_parse("log", &m), 0);
    assert_int_equal(m, VMM_SANDBOX_LOG);
    assert_int_equal(vmm_sandbox_mode_parse("Kill", &m), -EINVAL);
    assert_string_equal(vmm_sandbox_mode_name(VMM_SANDBOX_KILL), "kill");
    assert_string_equal(vmm_thread_class_name(VMM_THREAD_IO), "io");
    assert_int_equal(vmm_sandbox_set_mode((vmm_sandbox_mode_t)7), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_modes),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_kill_stops_calls_outside),
        cmocka_unit_test(test_kill_lets_listed_calls_through),
        cmocka_unit_test(test_log_and_off_let_calls_proceed),
    };
    vmm_log_set_level(VMM_LOG_ERR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
