/*
 * jail.c - confine "vmmkit run" (see jail.h; docs/security.md, "The jail").
 *
 * Order matters, and each step needs what the next one takes away:
 *   parent: canonicalise the command line's paths; unshare PID (and the
 *           rest) and fork: the child is PID 1 of its own PID namespace;
 *   child:  mounts private; each file opened (O_PATH), so one inside DIR
 *           itself stays reachable once DIR is covered; tmpfs on DIR; the
 *           files bound in at their own
 *           paths through /proc/self/fd; device nodes; pivot_root into DIR
 *           and the old root detached; the root read-only; host name;
 *           limits; no_new_privs; groups, gid, uid; capabilities; then the
 *           VMM (run.c), which opens the files by the same paths.
 * Every failure ends the child with a message naming the step and path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vmmkit/log.h>

#include "vmmkit/jail.h"

/* Files bound into the jail: at most kernel, initrd, dtb, the disks, two per guard, forwards. */
#define JAIL_MAX_FILES (3 + CLI_MAX_DISKS + 2 * CLI_MAX_GUARDS + CLI_MAX_FORWARDS)

struct jail_file {
    char path[PATH_MAX]; /* canonical, the same outside and inside */
    int fd;              /* O_PATH, opened in the jail's mount namespace before DIR is covered */
    bool writable;
};

struct jail {
    char dir[PATH_MAX];
    struct jail_file files[JAIL_MAX_FILES];
    unsigned int nr_files;
    bool tap; /* a --net tap: keep the host's network namespace, add /dev/net/tun */
    uid_t uid;
    gid_t gid;
    unsigned int cpus;
};

/*
 * The jailed child's pid, for the parent's forwarding signal handler: a
 * handler has no other way to find it.  Written before the handler can run.
 */
static volatile sig_atomic_t jail_child_pid;

static void forward_signal(int sig)
{
    if (jail_child_pid > 0)
        kill((pid_t)jail_child_pid, sig);
}

/* Canonicalise @path in place (it names an existing file) and remember it. */
static int add_file(struct jail *j, char *path, size_t size, bool writable)
{
    char canon[PATH_MAX];
    struct jail_file *f;

    if (!realpath(path, canon)) {
        LOG_ERR("--jail: %s: %s", path, strerror(errno));
        return -1;
    }
    if (strlen(canon) >= size) {
        LOG_ERR("--jail: %s: its full path %s is too long for this option", path, canon);
        return -1;
    }
    for (unsigned int i = 0; i < j->nr_files; i++) {
        if (strcmp(j->files[i].path, canon) == 0) {
            j->files[i].writable |= writable;
            snprintf(path, size, "%s", canon);
            return 0;
        }
    }
    f = &j->files[j->nr_files];
    snprintf(f->path, sizeof(f->path), "%s", canon);
    f->writable = writable;
    f->fd = -1;
    j->nr_files++;
    snprintf(path, size, "%s", canon);
    return 0;
}

/* The same for a const char * option: the canonical copy lives as long as the process. */
static int add_file_const(struct jail *j, const char **path)
{
    char buf[PATH_MAX];
    char *copy;

    if (!*path)
        return 0;
    snprintf(buf, sizeof(buf), "%s", *path);
    if (add_file(j, buf, sizeof(buf), false) < 0)
        return -1;
    copy = strdup(buf);
    if (!copy)
        return -1;
    *path = copy;
    return 0;
}

static int collect(struct jail *j, run_options_t *o)
{
    if (add_file_const(j, &o->kernel) < 0 || add_file_const(j, &o->initrd) < 0 ||
        add_file_const(j, &o->dtb) < 0)
        return -1;
    for (unsigned int i = 0; i < o->nr_disks; i++) {
        cli_disk_t *d = &o->disks[i];
        if (add_file(j, d->path, sizeof(d->path), !d->read_only) < 0)
            return -1;
    }
    for (unsigned int i = 0; i < o->nr_guards; i++) {
        cli_guard_t *g = &o->guards[i];
        if ((g->contents[0] && add_file(j, g->contents, sizeof(g->contents), false) < 0) ||
            (g->writable[0] && add_file(j, g->writable, sizeof(g->writable), false) < 0))
            return -1;
    }
    for (unsigned int i = 0; i < o->nr_forwards; i++) {
        cli_forward_t *f = &o->forwards[i];
        if (add_file(j, f->socket, sizeof(f->socket), true) < 0)
            return -1;
    }
    j->tap = o->nr_nets > 0;
    return 0;
}

/* mkdir -p of @path's parent directories (all inside the jail's tmpfs). */
static int make_parents(char *path)
{
    for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
        *p = '\0';
        int r = mkdir(path, 0755);
        *p = '/';
        if (r < 0 && errno != EEXIST)
            return -1;
    }
    return 0;
}

/* Bind @f at DIR + its path: an empty file or directory as the mount point first. */
static int bind_file(const struct jail *j, const struct jail_file *f)
{
    char target[PATH_MAX * 2], source[64];
    struct stat st;
    unsigned long flags = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC;

    snprintf(target, sizeof(target), "%s%s", j->dir, f->path);
    snprintf(source, sizeof(source), "/proc/self/fd/%d", f->fd);
    if (fstat(f->fd, &st) < 0 || make_parents(target) < 0)
        goto fail;
    if (S_ISDIR(st.st_mode) ? mkdir(target, 0755) < 0 && errno != EEXIST
                            : mknod(target, S_IFREG | 0600, 0) < 0 && errno != EEXIST)
        goto fail;
    if (mount(source, target, NULL, MS_BIND, NULL) < 0)
        goto fail;
    if (!f->writable)
        flags |= MS_RDONLY;
    if (mount(NULL, target, NULL, flags, NULL) < 0)
        goto fail;
    return 0;
fail:
    LOG_ERR("--jail: binding %s into %s: %s", f->path, j->dir, strerror(errno));
    return -1;
}

/* A device node in the jail like the host's @host, owned by the jail's user. */
static int make_node(const struct jail *j, const char *host, mode_t mode)
{
    char target[PATH_MAX * 2];
    struct stat st;

    snprintf(target, sizeof(target), "%s%s", j->dir, host);
    if (stat(host, &st) < 0 || !S_ISCHR(st.st_mode)) {
        LOG_ERR("--jail: %s: %s", host, errno ? strerror(errno) : "not a character device");
        return -1;
    }
    if (make_parents(target) < 0 || mknod(target, S_IFCHR | mode, st.st_rdev) < 0 ||
        chown(target, j->uid, j->gid) < 0 || chmod(target, mode) < 0) {
        LOG_ERR("--jail: making %s in %s: %s", host, j->dir, strerror(errno));
        return -1;
    }
    return 0;
}

static int set_limit(int resource, rlim_t value, const char *name)
{
    struct rlimit rl = {.rlim_cur = value, .rlim_max = value};

    if (setrlimit(resource, &rl) < 0) {
        LOG_ERR("--jail: setting %s to %llu: %s", name, (unsigned long long)value, strerror(errno));
        return -1;
    }
    return 0;
}

/* Bounding and ambient sets, groups, gid, uid, then the thread's own sets: nothing left. */
static int drop_privileges(const struct jail *j)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

    for (int cap = 0; cap <= 63; cap++) {
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) {
            LOG_ERR("--jail: dropping capability %d from the bounding set: %s", cap,
                    strerror(errno));
            return -1;
        }
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
        LOG_ERR("--jail: clearing the ambient capabilities: %s", strerror(errno));
        return -1;
    }
    if (setgroups(0, NULL) < 0 || setresgid(j->gid, j->gid, j->gid) < 0 ||
        setresuid(j->uid, j->uid, j->uid) < 0) {
        LOG_ERR("--jail: switching to uid %u gid %u: %s", (unsigned int)j->uid,
                (unsigned int)j->gid, strerror(errno));
        return -1;
    }
    memset(data, 0, sizeof(data));
    if (syscall(SYS_capset, &hdr, data) < 0) {
        LOG_ERR("--jail: clearing the capabilities: %s", strerror(errno));
        return -1;
    }
    /* No ptrace by the same user, no core dump of guest memory. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
        LOG_ERR("--jail: PR_SET_DUMPABLE: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* In the child: everything between fork and the VMM. */
static int confine(struct jail *j)
{
    /* No mount event of ours reaches the host, nor the host's ours. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        LOG_ERR("--jail: making the mounts private: %s", strerror(errno));
        return -1;
    }
    /* Opened here, in the new mount namespace: a bind's source must be in the caller's. */
    for (unsigned int i = 0; i < j->nr_files; i++) {
        j->files[i].fd = open(j->files[i].path, O_PATH | O_CLOEXEC);
        if (j->files[i].fd < 0) {
            LOG_ERR("--jail: %s: %s", j->files[i].path, strerror(errno));
            return -1;
        }
    }
    if (mount("vmmkit-jail", j->dir, "tmpfs", MS_NOSUID | MS_NOEXEC,
              "size=1m,nr_inodes=4096,mode=0755") < 0) {
        LOG_ERR("--jail: mounting a tmpfs on %s: %s", j->dir, strerror(errno));
        return -1;
    }
    for (unsigned int i = 0; i < j->nr_files; i++) {
        if (bind_file(j, &j->files[i]) < 0)
            return -1;
        close(j->files[i].fd);
    }
    if (make_node(j, "/dev/kvm", 0600) < 0 || make_node(j, "/dev/urandom", 0444) < 0 ||
        (j->tap && make_node(j, "/dev/net/tun", 0600) < 0))
        return -1;
    /*
     * pivot_root(".", "."): the old root ends up on top of the new one; detach it.
     * A host whose root is the initramfs (rootfs) cannot pivot it (EINVAL): then
     * move DIR's mount onto "/" and chroot into it, as switch_root does; the old
     * root stays underneath, out of reach of a process without capabilities.
     */
    if (chdir(j->dir) < 0) {
        LOG_ERR("--jail: %s: %s", j->dir, strerror(errno));
        return -1;
    }
    if (syscall(SYS_pivot_root, ".", ".") == 0) {
        if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) {
            LOG_ERR("--jail: detaching the old root: %s", strerror(errno));
            return -1;
        }
    } else if (errno != EINVAL || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
               chdir("/") < 0) {
        LOG_ERR("--jail: making %s the root: %s", j->dir, strerror(errno));
        return -1;
    }
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC, NULL) < 0) {
        LOG_ERR("--jail: making the jail's root read-only: %s", strerror(errno));
        return -1;
    }
    if (sethostname("vmmkit", 6) < 0) {
        LOG_ERR("--jail: sethostname: %s", strerror(errno));
        return -1;
    }
    /*
     * Limits: descriptors (vCPUs, queues' eventfds, disks: far below), no
     * core files, and with a uid of its own a thread budget (vCPUs, I/O,
     * input, signal threads; RLIMIT_NPROC counts every task of the uid).
     * Not RLIMIT_FSIZE: disks never grow, and stdout may be a file.
     */
    if (set_limit(RLIMIT_NOFILE, 4096, "RLIMIT_NOFILE") < 0 ||
        set_limit(RLIMIT_CORE, 0, "RLIMIT_CORE") < 0 ||
        (j->uid != 0 && set_limit(RLIMIT_NPROC, j->cpus + 16, "RLIMIT_NPROC") < 0))
        return -1;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        LOG_ERR("--jail: no_new_privs: %s", strerror(errno));
        return -1;
    }
    return drop_privileges(j);
}

static int wait_child(pid_t pid)
{
    int status;

    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            LOG_ERR("--jail: waiting for the VMM: %s", strerror(errno));
            return EXIT_RUN_ERROR;
        }
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    LOG_ERR("the jailed VMM was killed by signal %d (%s)%s", WTERMSIG(status),
            strsignal(WTERMSIG(status)),
            WTERMSIG(status) == SIGSYS ? ": a system call outside its seccomp allowlist "
                                         "(--seccomp=log and the kernel log name it)"
                                       : "");
    return 128 + WTERMSIG(status);
}

int jail_run(run_options_t *o, jail_fn fn, void *arg)
{
    static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1};
    struct jail *j = calloc(1, sizeof(*j));
    struct sigaction sa;
    int flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;
    pid_t pid;
    int rc;

    if (!j)
        return EXIT_RUN_ERROR;
    if (!realpath(o->jail.dir, j->dir)) {
        LOG_ERR("--jail %s: %s", o->jail.dir, strerror(errno));
        free(j);
        return EXIT_RUN_ERROR;
    }
    if (strcmp(j->dir, "/") == 0) {
        LOG_ERR("--jail /: the jail needs a directory of its own (an empty one)");
        free(j);
        return EXIT_RUN_ERROR;
    }
    j->uid = o->jail.has_uid ? o->jail.uid : getuid();
    j->gid = o->jail.has_gid ? o->jail.gid : getgid();
    j->cpus = o->cpus;
    if (collect(j, o) < 0) {
        free(j);
        return EXIT_RUN_ERROR;
    }
    if (!j->tap)
        flags |= CLONE_NEWNET;
    if (unshare(flags) < 0) {
        LOG_ERR("--jail: new namespaces: %s (the jail needs root)", strerror(errno));
        free(j);
        return EXIT_RUN_ERROR;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = forward_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
        sigaction(forwarded[i], &sa, NULL);
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        LOG_ERR("--jail: fork: %s", strerror(errno));
        free(j);
        return EXIT_RUN_ERROR;
    }
    if (pid == 0) {
        sa.sa_handler = SIG_DFL;
        for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
            sigaction(forwarded[i], &sa, NULL);
        /* The VMM does not outlive the process that answers for it. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || confine(j) < 0)
            _exit(EXIT_RUN_ERROR);
        free(j);
        rc = fn(o, arg);
        exit(rc);
    }
    jail_child_pid = pid;
    free(j);
    return wait_child(pid);
}
