/*
 * system.c - "vmmkit run SYSTEM.xml": a system of VMs from a description.
 *
 * The supervisor (this process) reads the description once, checks every
 * VM's configuration as "vmmkit run" would, and then makes what the VMs
 * share: a sealed memfd per memory region and per channel of its own, two
 * eventfds per channel (one per direction), and the virtual switches
 * (net_switch.h, threads of this process).  Each VM then runs in a process
 * of its own: the supervisor forks and re-executes itself as "vmmkit
 * vm-process", so every VM has a fresh address space (and its own ASLR
 * layout) and holds only its own descriptors, laid out in a fixed order
 * (vm_fd_layout below).  A VM's VMM can reach another VM's memory only
 * through the regions the description shares with it.
 *
 * Everything the supervisor holds is close-on-exec; a child receives
 * exactly: 0 console input, 1 console output, 2 its log, 3 the description
 * (a sealed memfd with the bytes the supervisor parsed, so both read the
 * same system), then its resources from 4 on.
 *
 * The supervisor's loop (one thread; the switches have their own) relays
 * consoles and logs, serves the control socket, and reaps children: a VM
 * that powered off (exit 0) is done; one that failed or whose process died
 * is reported and then, as its on_crash says, left down, restarted, or the
 * whole system is stopped.  The system ends when every VM is down.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <vmmkit/log.h>
#include <vmmkit/net_backend.h>
#include <vmmkit/net_switch.h>

#include "vmmkit/control.h"
#include "vmmkit/run.h"
#include "vmmkit/sysdesc.h"

#define DESC_MAX (1u << 20) /* the parser's own limit too */
#define LINE_MAX_OUT 4096u  /* a console line longer than this is cut */
#define FIRST_RESOURCE_FD 4
#define MAX_CHILD_FDS (FIRST_RESOURCE_FD + CLI_MAX_NETS + 3 * SYS_MAX_VM_CHANNELS + SYS_MAX_MAPS)

typedef enum vm_state {
    VMS_DOWN = 0,
    VMS_RUNNING,
    VMS_STOPPING, /* asked to stop (SIGTERM sent) */
} vm_state_t;

/* Bytes of one stream, cut into lines for the terminal. */
struct linebuf {
    char buf[LINE_MAX_OUT];
    size_t len;
};

struct vm_proc {
    const sys_vm_t *desc;
    unsigned int index;
    pid_t pid;
    vm_state_t state;
    const char *last; /* how it last ended, for "list" */
    unsigned int restarts;
    bool stop_requested; /* by the control socket or a signal: no restart */
    bool failed;         /* its last run ended badly */
    time_t started;

    /* the supervisor's ends; the child's are dup'ed into it at each start */
    int log_r, log_w; /* pipe: the VMM's stderr */
    int con_r;        /* prefix: pipe read end; pty/socket: our socketpair end; else -1 */
    int child_in, child_out;
    struct linebuf log_lb, con_lb;
    /* pty: the master and a slave we keep open (so the master never hangs up) */
    int pty_master, pty_slave_keep;
    char pty_name[64];
    /* socket console: listener and the connected client (-1: none) */
    int con_listen, con_client;
    /* switch ports: our socketpair end goes to the switch, this is the child's */
    int net_fd[CLI_MAX_NETS];
    int net_port[CLI_MAX_NETS];
};

struct system {
    sysdesc_t *d;
    const char *path;
    int desc_fd;
    int region_fd[SYS_MAX_REGIONS];
    int chan_mem[SYS_MAX_CHANNELS];
    int chan_ev[SYS_MAX_CHANNELS][2]; /* [e]: rings from end e, waited on by end 1 - e */
    net_switch_t *sw[SYS_MAX_SWITCHES];
    struct vm_proc vms[SYS_MAX_VMS];
    int sig_fd;
    int ctl_fd;
    char ctl_path[108];
    bool shutting_down;
    unsigned int signals_seen;
    char self[PATH_MAX];
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("vmmkit: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int xclose(int fd)
{
    if (fd >= 0)
        close(fd);
    return -1;
}

/* --- what a VM's process is given ------------------------------------------------------ */

/*
 * The resources of VM @v, in the order the child expects them from
 * FIRST_RESOURCE_FD on: each NIC on a switch (its socket), each channel the
 * VM is an end of, in description order (memory, doorbell to the peer,
 * rings from the peer), each map (the region).  Returns how many, with the
 * supervisor's descriptors in @fds (NULL for the count only).
 */
static unsigned int vm_fd_layout(const struct system *s, const struct vm_proc *p, int *fds)
{
    const sysdesc_t *d = s->d;
    const sys_vm_t *v = p->desc;
    unsigned int n = 0;

    for (unsigned int i = 0; i < v->nr_nets; i++) {
        if (v->nets[i].switch_index < 0)
            continue;
        if (fds)
            fds[n] = p->net_fd[i];
        n++;
    }
    for (unsigned int c = 0; c < d->nr_channels; c++) {
        for (unsigned int e = 0; e < 2; e++) {
            if (d->channels[c].vm[e] != p->index)
                continue;
            if (fds) {
                fds[n] = s->chan_mem[c];
                fds[n + 1] = s->chan_ev[c][e];
                fds[n + 2] = s->chan_ev[c][1 - e];
            }
            n += 3;
        }
    }
    for (unsigned int m = 0; m < v->nr_maps; m++) {
        if (fds)
            fds[n] = s->region_fd[v->maps[m].region];
        n++;
    }
    return n;
}

/*
 * The child's side of the same layout: the board's NICs, channel ends and
 * shared maps over descriptors FIRST_RESOURCE_FD.. (the supervisor's
 * descriptors are never needed: -1 placeholders are fine for checking).
 */
struct vm_devices {
    board_net_t nets[CLI_MAX_NETS];
    board_channel_t channels[SYS_MAX_VM_CHANNELS];
    board_shared_t shared[SYS_MAX_MAPS];
    char labels[CLI_MAX_NETS][SYS_NAME_MAX + 8];
    run_extras_t extras;
};

static void vm_devices(const sysdesc_t *d, unsigned int vm, bool with_fds, struct vm_devices *out)
{
    const sys_vm_t *v = &d->vms[vm];
    int fd = FIRST_RESOURCE_FD;
    unsigned int nc = 0;

    memset(out, 0, sizeof(*out));
    for (unsigned int i = 0; i < v->nr_nets; i++) {
        const sys_net_t *n = &v->nets[i];
        board_net_t *bn = &out->nets[i];

        bn->mac = n->has_mac ? n->mac : NULL;
        if (n->switch_index < 0) {
            bn->tap = n->tap;
            continue;
        }
        snprintf(out->labels[i], sizeof(out->labels[i]), "switch %s",
                 d->switches[n->switch_index].name);
        bn->use_socket = true;
        bn->socket_fd = with_fds ? fd++ : -1;
        bn->label = out->labels[i];
    }
    for (unsigned int c = 0; c < d->nr_channels; c++) {
        for (unsigned int e = 0; e < 2; e++) {
            if (d->channels[c].vm[e] != vm || nc >= SYS_MAX_VM_CHANNELS)
                continue;
            board_channel_t *ch = &out->channels[nc++];
            ch->name = d->channels[c].name;
            ch->mem_size = d->channels[c].size;
            ch->mem_fd = with_fds ? fd++ : -1;
            ch->notify_fd = with_fds ? fd++ : -1;
            ch->wait_fd = with_fds ? fd++ : -1;
        }
    }
    for (unsigned int m = 0; m < v->nr_maps; m++) {
        const sys_map_t *mp = &v->maps[m];
        out->shared[m] = (board_shared_t){
            .name = d->regions[mp->region].name,
            .base = mp->base,
            .size = d->regions[mp->region].size,
            .fd = with_fds ? fd++ : -1,
            .read_only = mp->read_only,
        };
    }
    out->extras = (run_extras_t){
        .nets = out->nets,
        .nr_nets = v->nr_nets,
        .channels = out->channels,
        .nr_channels = nc,
        .shared = out->shared,
        .nr_shared = v->nr_maps,
        .no_console_input =
            v->console_output != SYS_CONSOLE_PTY && v->console_output != SYS_CONSOLE_SOCKET,
    };
}

/* --- reading the description ----------------------------------------------------------- */

/* Read @path (at most DESC_MAX bytes) into a sealed memfd; its bytes in *@buf. */
static int read_description(const char *path, int *memfd, char **buf, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char *b;
    size_t n = 0;

    if (fd < 0) {
        fprintf(stderr, "vmmkit: error: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "vmmkit: error: %s: not a regular file\n", path);
        close(fd);
        return -1;
    }
    b = malloc(DESC_MAX + 1);
    if (!b) {
        close(fd);
        return -1;
    }
    for (;;) {
        ssize_t r = read(fd, b + n, DESC_MAX + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            fprintf(stderr, "vmmkit: error: %s: %s\n", path, strerror(errno));
            goto fail;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > DESC_MAX) {
            fprintf(stderr, "vmmkit: error: %s: larger than %u bytes\n", path, DESC_MAX);
            goto fail;
        }
    }
    close(fd);
    fd = memfd_create("vmmkit-system", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0 || write(fd, b, n) != (ssize_t)n ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
        fprintf(stderr, "vmmkit: error: cannot keep the description: %s\n", strerror(errno));
        goto fail;
    }
    *memfd = fd;
    *buf = b;
    *len = n;
    return 0;
fail:
    xclose(fd);
    free(b);
    return -1;
}

static void dir_of(const char *path, char *dir, size_t len)
{
    const char *slash = strrchr(path, '/');

    if (!slash)
        snprintf(dir, len, ".");
    else if (slash == path)
        snprintf(dir, len, "/");
    else
        snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

static int parse_description(const char *path, const char *buf, size_t len, sysdesc_t **d)
{
    char dir[PATH_MAX];
    char *err = malloc(16384);
    int r;

    if (!err)
        return -ENOMEM;
    err[0] = 0;
    dir_of(path, dir, sizeof(dir));
    r = sysdesc_parse(buf, len, path, dir, true, d, err, 16384);
    if (r < 0)
        fprintf(stderr, "%s\n", err[0] ? err : "the description cannot be read");
    free(err);
    return r;
}

/* Check every VM as "vmmkit run" would check it, before anything starts. */
static int check_vms(const sysdesc_t *d, const char *path)
{
    int bad = 0;

    for (unsigned int i = 0; i < d->nr_vms; i++) {
        struct board_arrays arrays;
        struct vm_devices dev;
        board_config_t cfg;
        char err[512] = "";

        vm_devices(d, i, false, &dev);
        cfg = run_board_config(&d->vms[i].opts, &dev.extras, &arrays);
        if (board_check(&cfg, err, sizeof(err)) < 0) {
            fprintf(stderr, "%s:%u: virtual_machine '%s': %s\n", path, d->vms[i].line,
                    d->vms[i].name, err);
            bad++;
        }
    }
    return bad ? -EINVAL : 0;
}

/* --- the shared resources -------------------------------------------------------------- */

static int make_memfd(const char *what, const char *name, uint64_t size)
{
    char label[64];
    int fd;

    snprintf(label, sizeof(label), "vmmkit-%s-%s", what, name);
    fd = memfd_create(label, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -errno;
    if (ftruncate(fd, (off_t)size) < 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

static int make_resources(struct system *s)
{
    const sysdesc_t *d = s->d;
    int r;

    for (unsigned int i = 0; i < d->nr_regions; i++) {
        s->region_fd[i] = make_memfd("region", d->regions[i].name, d->regions[i].size);
        if (s->region_fd[i] < 0) {
            say("error: memory_region %s: %s", d->regions[i].name, strerror(-s->region_fd[i]));
            return s->region_fd[i];
        }
    }
    for (unsigned int c = 0; c < d->nr_channels; c++) {
        const sys_channel_t *ch = &d->channels[c];

        if (ch->region >= 0)
            s->chan_mem[c] = fcntl(s->region_fd[ch->region], F_DUPFD_CLOEXEC, 0);
        else
            s->chan_mem[c] = make_memfd("channel", ch->name, ch->size);
        if (s->chan_mem[c] < 0) {
            r = s->chan_mem[c] == -1 ? -errno : s->chan_mem[c];
            say("error: channel %s: %s", ch->name, strerror(-r));
            return r;
        }
        for (int e = 0; e < 2; e++) {
            s->chan_ev[c][e] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
            if (s->chan_ev[c][e] < 0) {
                say("error: channel %s: eventfd: %s", ch->name, strerror(errno));
                return -errno;
            }
        }
    }
    for (unsigned int w = 0; w < d->nr_switches; w++) {
        const sys_switch_t *sd = &d->switches[w];

        r = net_switch_create(sd->name, &s->sw[w]);
        if (r < 0) {
            say("error: switch %s: %s", sd->name, strerror(-r));
            return r;
        }
        if (sd->uplink_tap[0]) {
            net_backend_t *be;

            r = tap_open(sd->uplink_tap, &be);
            if (r < 0) {
                fprintf(stderr, "%s:%u: switch '%s': uplink tap %s: %s%s\n", s->path, sd->line,
                        sd->name, sd->uplink_tap, strerror(-r),
                        r == -EPERM || r == -EACCES ? " (needs CAP_NET_ADMIN)" : "");
                return r;
            }
            r = net_switch_set_uplink(s->sw[w], be);
            if (r < 0) {
                net_backend_destroy(be);
                say("error: switch %s: uplink: %s", sd->name, strerror(-r));
                return r;
            }
        }
    }
    return 0;
}

/* A new socketpair for NIC @i of @p: our end to the switch, the other kept for the child. */
static int connect_port(struct system *s, struct vm_proc *p, unsigned int i)
{
    const sys_net_t *n = &p->desc->nets[i];
    char name[SYS_NAME_MAX * 2 + 8];
    int sv[2], r;

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    snprintf(name, sizeof(name), "%s.eth%u", p->desc->name, i);
    if (p->net_port[i] < 0) {
        r = net_switch_add_port(s->sw[n->switch_index], sv[0], name);
        if (r >= 0)
            p->net_port[i] = r;
    } else {
        r = net_switch_replace_port(s->sw[n->switch_index], (unsigned int)p->net_port[i], sv[0]);
    }
    if (r < 0) {
        close(sv[0]);
        close(sv[1]);
        return r;
    }
    xclose(p->net_fd[i]);
    p->net_fd[i] = sv[1];
    return 0;
}

/* --- consoles -------------------------------------------------------------------------- */

static int open_null(int flags)
{
    return open("/dev/null", flags | O_CLOEXEC);
}

static int setup_console(struct system *s, struct vm_proc *p)
{
    const sys_vm_t *v = p->desc;
    int fds[2];

    p->con_r = p->child_in = p->child_out = -1;
    p->pty_master = p->pty_slave_keep = p->con_listen = p->con_client = -1;
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
    p->log_r = fds[0];
    p->log_w = fds[1];
    fcntl(p->log_r, F_SETFL, O_NONBLOCK);

    switch (v->console_output) {
    case SYS_CONSOLE_PREFIX:
        if (pipe2(fds, O_CLOEXEC) < 0)
            return -errno;
        p->con_r = fds[0];
        p->child_out = fds[1];
        fcntl(p->con_r, F_SETFL, O_NONBLOCK);
        p->child_in = open_null(O_RDONLY);
        break;
    case SYS_CONSOLE_FILE:
        p->child_out = open(v->console_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (p->child_out < 0) {
            fprintf(stderr, "%s:%u: virtual_machine '%s': console file %s: %s\n", s->path, v->line,
                    v->name, v->console_path, strerror(errno));
            return -errno;
        }
        p->child_in = open_null(O_RDONLY);
        break;
    case SYS_CONSOLE_NONE:
        p->child_out = open_null(O_WRONLY);
        p->child_in = open_null(O_RDONLY);
        break;
    case SYS_CONSOLE_PTY:
    case SYS_CONSOLE_SOCKET:
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
            return -errno;
        p->con_r = fds[0];
        p->child_in = fds[1];
        p->child_out = fcntl(fds[1], F_DUPFD_CLOEXEC, 0);
        fcntl(p->con_r, F_SETFL, O_NONBLOCK);
        if (v->console_output == SYS_CONSOLE_PTY) {
            struct termios t;
            p->pty_master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
            if (p->pty_master < 0 || grantpt(p->pty_master) < 0 || unlockpt(p->pty_master) < 0 ||
                ptsname_r(p->pty_master, p->pty_name, sizeof(p->pty_name)) != 0) {
                say("error: vm %s: cannot make a pseudo-terminal: %s", v->name, strerror(errno));
                return -errno;
            }
            p->pty_slave_keep = open(p->pty_name, O_RDWR | O_NOCTTY | O_CLOEXEC);
            if (p->pty_slave_keep >= 0 && tcgetattr(p->pty_slave_keep, &t) == 0) {
                cfmakeraw(&t);
                tcsetattr(p->pty_slave_keep, TCSANOW, &t);
            }
            say("vm %s: console on %s", v->name, p->pty_name);
        } else {
            p->con_listen = control_listen(v->console_path);
            if (p->con_listen < 0) {
                fprintf(stderr, "%s:%u: virtual_machine '%s': console socket %s: %s\n", s->path,
                        v->line, v->name, v->console_path, strerror(-p->con_listen));
                return p->con_listen;
            }
            say("vm %s: console on socket %s", v->name, v->console_path);
        }
        break;
    }
    if (p->child_in < 0 || p->child_out < 0)
        return -errno ? -errno : -EIO;
    return 0;
}

/* Print the complete lines in @lb (all of it when @flush), each as "name| line". */
static void emit_lines(FILE *f, const char *name, struct linebuf *lb, bool flush)
{
    size_t start = 0;

    for (size_t i = 0; i < lb->len; i++) {
        if (lb->buf[i] != '\n')
            continue;
        size_t end = i;
        if (end > start && lb->buf[end - 1] == '\r')
            end--;
        fprintf(f, "%s| %.*s\n", name, (int)(end - start), lb->buf + start);
        start = i + 1;
    }
    if (start < lb->len && (flush || (start == 0 && lb->len == sizeof(lb->buf)))) {
        fprintf(f, "%s| %.*s\n", name, (int)(lb->len - start), lb->buf + start);
        start = lb->len;
    }
    memmove(lb->buf, lb->buf + start, lb->len - start);
    lb->len -= start;
    fflush(f);
}

/* Move what @fd has into @lb and print its lines.  Returns false at EOF or on error. */
static bool pump_lines(int fd, FILE *f, const char *name, struct linebuf *lb)
{
    for (;;) {
        ssize_t n = read(fd, lb->buf + lb->len, sizeof(lb->buf) - lb->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 && errno == EAGAIN;
        lb->len += (size_t)n;
        emit_lines(f, name, lb, false);
    }
}

/* Copy what @from has to @to without blocking; output nobody takes is dropped. */
static void relay(int from, int to)
{
    char buf[4096];

    for (;;) {
        ssize_t n = read(from, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        if (to >= 0) {
            ssize_t w = write(to, buf, (size_t)n);
            (void)w; /* a full or gone reader loses output, never stalls the system */
        }
    }
}

/* --- starting and reaping VMs ---------------------------------------------------------- */

static int start_vm(struct system *s, struct vm_proc *p)
{
    int res[MAX_CHILD_FDS], high[MAX_CHILD_FDS];
    unsigned int nres, nfds;
    char *argv[5];
    pid_t pid;
    int r;

    for (unsigned int i = 0; i < p->desc->nr_nets; i++) {
        if (p->desc->nets[i].switch_index < 0)
            continue;
        r = connect_port(s, p, i);
        if (r < 0) {
            say("error: vm %s: cannot connect eth%u to its switch: %s", p->desc->name, i,
                strerror(-r));
            return r;
        }
    }
    nres = vm_fd_layout(s, p, res);
    nfds = FIRST_RESOURCE_FD + nres;
    argv[0] = s->self;
    argv[1] = "vm-process";
    argv[2] = (char *)s->path;
    argv[3] = (char *)p->desc->name;
    argv[4] = NULL;

    pid = fork();
    if (pid < 0) {
        say("error: vm %s: fork: %s", p->desc->name, strerror(errno));
        return -errno;
    }
    if (pid == 0) {
        /* The child: only async-signal-safe calls until exec (the
         * supervisor has threads).  Park every descriptor above the
         * layout first so no dup2 overwrites a source. */
        int src[MAX_CHILD_FDS];
        sigset_t none;

        src[0] = p->child_in;
        src[1] = p->child_out;
        src[2] = p->log_w;
        src[3] = s->desc_fd;
        for (unsigned int i = 0; i < nres; i++)
            src[FIRST_RESOURCE_FD + i] = res[i];
        for (unsigned int i = 0; i < nfds; i++) {
            high[i] = fcntl(src[i], F_DUPFD_CLOEXEC, (int)(MAX_CHILD_FDS + 8));
            if (high[i] < 0)
                _exit(127);
        }
        for (unsigned int i = 0; i < nfds; i++) {
            if (dup2(high[i], (int)i) < 0)
                _exit(127);
        }
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        setpgid(0, 0); /* the terminal's ^C goes to the supervisor, which stops us in order */
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* and a VM never outlives its supervisor */
        execv(s->self, argv);
        _exit(127);
    }
    p->pid = pid;
    p->state = VMS_RUNNING;
    p->failed = false;
    p->started = time(NULL);
    say("vm %s: started (pid %d)", p->desc->name, (int)pid);
    return 0;
}

static void stop_vm(struct vm_proc *p, bool requested)
{
    if (requested)
        p->stop_requested = true;
    if (p->state == VMS_RUNNING && p->pid > 0) {
        kill(p->pid, SIGTERM);
        p->state = VMS_STOPPING;
    }
}

static void stop_all(struct system *s)
{
    s->shutting_down = true;
    for (unsigned int i = 0; i < s->d->nr_vms; i++)
        stop_vm(&s->vms[i], true);
}

static void drain_vm_output(struct vm_proc *p)
{
    pump_lines(p->log_r, stderr, p->desc->name, &p->log_lb);
    emit_lines(stderr, p->desc->name, &p->log_lb, true);
    if (p->desc->console_output == SYS_CONSOLE_PREFIX) {
        pump_lines(p->con_r, stdout, p->desc->name, &p->con_lb);
        emit_lines(stdout, p->desc->name, &p->con_lb, true);
    }
}

/* Child @p ended with wait status @ws. */
static void vm_ended(struct system *s, struct vm_proc *p, int ws)
{
    const char *name = p->desc->name;
    bool clean = WIFEXITED(ws) && WEXITSTATUS(ws) == 0;

    drain_vm_output(p);
    p->pid = 0;
    p->state = VMS_DOWN;
    if (clean) {
        p->last = p->stop_requested ? "stopped" : "powered off";
        say("vm %s: %s", name, p->last);
        return;
    }
    p->failed = true;
    if (WIFSIGNALED(ws)) {
        p->last = "crashed";
        say("vm %s: its process was killed by signal %d (%s)", name, WTERMSIG(ws),
            strsignal(WTERMSIG(ws)));
    } else {
        p->last = "failed";
        say("vm %s: its VMM exited with status %d", name, WEXITSTATUS(ws));
    }
    if (s->shutting_down || p->stop_requested)
        return;
    switch (p->desc->on_crash) {
    case SYS_ON_CRASH_REPORT:
        say("vm %s: left down (on_crash=\"report\"); the other VMs go on", name);
        break;
    case SYS_ON_CRASH_RESTART:
        if (p->restarts >= p->desc->restart_limit) {
            say("vm %s: not restarted: it already restarted %u times (restart_limit)", name,
                p->restarts);
            break;
        }
        p->restarts++;
        say("vm %s: restarting (%u of %u)", name, p->restarts, p->desc->restart_limit);
        if (start_vm(s, p) < 0)
            p->last = "failed";
        break;
    case SYS_ON_CRASH_STOP:
        say("vm %s: stopping the system (on_crash=\"stop\")", name);
        stop_all(s);
        break;
    }
}

static void reap(struct system *s)
{
    for (;;) {
        int ws;
        pid_t pid = waitpid(-1, &ws, WNOHANG);

        if (pid <= 0)
            return;
        for (unsigned int i = 0; i < s->d->nr_vms; i++) {
            if (s->vms[i].pid == pid) {
                vm_ended(s, &s->vms[i], ws);
                break;
            }
        }
    }
}

static bool any_running(const struct system *s)
{
    for (unsigned int i = 0; i < s->d->nr_vms; i++) {
        if (s->vms[i].state != VMS_DOWN)
            return true;
    }
    return false;
}

/* --- the control socket ---------------------------------------------------------------- */

static struct vm_proc *find_vm(struct system *s, const char *name)
{
    int i = sysdesc_find_vm(s->d, name);

    return i < 0 ? NULL : &s->vms[i];
}

static const char *state_name(const struct vm_proc *p)
{
    if (p->state == VMS_RUNNING)
        return "running";
    if (p->state == VMS_STOPPING)
        return "stopping";
    return p->last ? p->last : "down";
}

/* Answer one request line @req into @out. */
static void control_request(struct system *s, char *req, char *out, size_t len)
{
    char *cmd = strtok(req, " \t\r\n"), *arg = strtok(NULL, " \t\r\n");
    struct vm_proc *p = NULL;
    size_t n = 0;

    if (!cmd) {
        snprintf(out, len, "error: empty request\n");
        return;
    }
    if (strcmp(cmd, "list") == 0) {
        for (unsigned int i = 0; i < s->d->nr_vms && n < len; i++) {
            const struct vm_proc *q = &s->vms[i];
            n += (size_t)snprintf(out + n, len - n, "%s %s %d %u\n", q->desc->name, state_name(q),
                                  q->state == VMS_DOWN ? 0 : (int)q->pid, q->restarts);
        }
        return;
    }
    if (strcmp(cmd, "shutdown") == 0) {
        stop_all(s);
        snprintf(out, len, "ok: stopping every VM\n");
        return;
    }
    if (strcmp(cmd, "stop") != 0 && strcmp(cmd, "reboot") != 0 && strcmp(cmd, "start") != 0) {
        snprintf(out, len,
                 "error: unknown command '%s' (list, stop VM, start VM, reboot VM, shutdown)\n",
                 cmd);
        return;
    }
    if (!arg || !(p = find_vm(s, arg))) {
        snprintf(out, len, "error: %s: no VM named '%s'\n", cmd, arg ? arg : "");
        return;
    }
    if (strcmp(cmd, "start") == 0) {
        if (p->state != VMS_DOWN) {
            snprintf(out, len, "error: vm %s is %s\n", arg, state_name(p));
        } else if (s->shutting_down) {
            snprintf(out, len, "error: the system is shutting down\n");
        } else {
            p->stop_requested = false;
            snprintf(out, len,
                     start_vm(s, p) < 0 ? "error: vm %s did not start\n" : "ok: vm %s started\n",
                     arg);
        }
        return;
    }
    if (p->state != VMS_RUNNING) {
        snprintf(out, len, "error: vm %s is %s\n", arg, state_name(p));
        return;
    }
    if (strcmp(cmd, "stop") == 0) {
        stop_vm(p, true);
        snprintf(out, len, "ok: stopping vm %s\n", arg);
    } else {
        kill(p->pid, SIGUSR1);
        snprintf(out, len, "ok: rebooting vm %s\n", arg);
    }
}

static void control_accept(struct system *s)
{
    int c = accept4(s->ctl_fd, NULL, NULL, SOCK_CLOEXEC);
    char req[256], out[4096];

    if (c < 0)
        return;
    if (control_read_line(c, req, sizeof(req), 1000) < 0) {
        close(c);
        return;
    }
    control_request(s, req, out, sizeof(out));
    control_write_all(c, out, strlen(out));
    close(c);
}

static void console_accept(struct vm_proc *p)
{
    int c = accept4(p->con_listen, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

    if (c < 0)
        return;
    if (p->con_client >= 0) {
        static const char busy[] = "vmmkit: this console already has a client\r\n";
        ssize_t w = write(c, busy, sizeof(busy) - 1);
        (void)w;
        close(c);
        return;
    }
    p->con_client = c;
}

/* --- the loop -------------------------------------------------------------------------- */

enum { PF_SIG, PF_CTL, PF_LOG, PF_CON, PF_PTY, PF_LISTEN, PF_CLIENT };

static int loop(struct system *s)
{
    struct pollfd pfd[2 + SYS_MAX_VMS * 5];
    struct {
        int kind;
        struct vm_proc *p;
    } what[2 + SYS_MAX_VMS * 5];

    while (any_running(s)) {
        unsigned int n = 0;

        pfd[n] = (struct pollfd){.fd = s->sig_fd, .events = POLLIN};
        what[n++].kind = PF_SIG;
        if (s->ctl_fd >= 0) {
            pfd[n] = (struct pollfd){.fd = s->ctl_fd, .events = POLLIN};
            what[n++].kind = PF_CTL;
        }
        for (unsigned int i = 0; i < s->d->nr_vms; i++) {
            struct vm_proc *p = &s->vms[i];
            int fds[5] = {p->log_r, p->con_r, p->pty_master, p->con_listen, p->con_client};
            int kinds[5] = {PF_LOG, PF_CON, PF_PTY, PF_LISTEN, PF_CLIENT};
            for (int k = 0; k < 5; k++) {
                if (fds[k] < 0)
                    continue;
                pfd[n] = (struct pollfd){.fd = fds[k], .events = POLLIN};
                what[n].kind = kinds[k];
                what[n++].p = p;
            }
        }
        if (poll(pfd, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            say("error: poll: %s", strerror(errno));
            return EXIT_RUN_ERROR;
        }
        for (unsigned int i = 0; i < n; i++) {
            struct vm_proc *p = what[i].p;

            if (!pfd[i].revents)
                continue;
            switch (what[i].kind) {
            case PF_SIG: {
                struct signalfd_siginfo si;
                while (read(s->sig_fd, &si, sizeof(si)) == sizeof(si)) {
                    if (si.ssi_signo == SIGCHLD)
                        continue;
                    if (++s->signals_seen > 1) {
                        say("%s again: killing every VM", strsignal((int)si.ssi_signo));
                        for (unsigned int v = 0; v < s->d->nr_vms; v++) {
                            if (s->vms[v].pid > 0)
                                kill(s->vms[v].pid, SIGKILL);
                        }
                    } else {
                        say("%s: stopping every VM", strsignal((int)si.ssi_signo));
                        stop_all(s);
                    }
                }
                reap(s);
                break;
            }
            case PF_CTL:
                control_accept(s);
                break;
            case PF_LOG:
                pump_lines(p->log_r, stderr, p->desc->name, &p->log_lb);
                break;
            case PF_CON:
                if (p->desc->console_output == SYS_CONSOLE_PREFIX)
                    pump_lines(p->con_r, stdout, p->desc->name, &p->con_lb);
                else
                    relay(p->con_r, p->pty_master >= 0 ? p->pty_master : p->con_client);
                break;
            case PF_PTY:
                relay(p->pty_master, p->con_r);
                break;
            case PF_LISTEN:
                console_accept(p);
                break;
            case PF_CLIENT:
                if (pfd[i].revents & (POLLHUP | POLLERR)) {
                    relay(p->con_client, p->con_r);
                    p->con_client = xclose(p->con_client);
                } else {
                    relay(p->con_client, p->con_r);
                }
                break;
            }
        }
    }
    return 0;
}

/* --- set-up and tear-down -------------------------------------------------------------- */

static void help(FILE *f)
{
    fprintf(f, "Usage: vmmkit run SYSTEM.xml [--control PATH] [-v]\n"
               "\n"
               "Start every VM of a system description (docs/system-description.md),\n"
               "each in a process of its own, with their shared memory, channels and\n"
               "switches.  The system ends when every VM is down.\n"
               "\n"
               "  --control PATH  serve the control socket at PATH (overrides the\n"
               "                  description's control=); vmmkit ctl PATH list|stop VM|\n"
               "                  start VM|reboot VM|shutdown\n"
               "  -v              more messages from the supervisor\n"
               "  -h, --help      this text\n"
               "\n"
               "Exit status: 0 when every VM powered off or was stopped, 1 when one\n"
               "failed or could not start, 2 for a bad description.\n");
}

static void teardown(struct system *s)
{
    for (unsigned int w = 0; w < SYS_MAX_SWITCHES; w++)
        net_switch_destroy(s->sw[w]);
    if (s->ctl_fd >= 0) {
        close(s->ctl_fd);
        unlink(s->ctl_path);
    }
    for (unsigned int i = 0; s->d && i < s->d->nr_vms; i++) {
        struct vm_proc *p = &s->vms[i];
        if (p->con_listen >= 0) {
            close(p->con_listen);
            unlink(p->desc->console_path);
        }
    }
}

int vmmkit_system_main(int argc, char **argv)
{
    struct system *s;
    const char *path = NULL, *control = NULL;
    char *buf = NULL;
    size_t len = 0;
    int verbose = 0, status = EXIT_RUN_ERROR;
    sigset_t set;
    ssize_t self_len;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            help(stdout);
            return 0;
        } else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
            verbose++;
        } else if (strcmp(argv[i], "--control") == 0 && i + 1 < argc) {
            control = argv[++i];
        } else if (argv[i][0] == '-') {
            fprintf(stderr,
                    "vmmkit: error: run SYSTEM.xml: unknown or incomplete option '%s' "
                    "(try vmmkit run SYSTEM.xml --help)\n",
                    argv[i]);
            return EXIT_USAGE;
        } else if (path) {
            fprintf(stderr, "vmmkit: error: run: one system description at a time ('%s')\n",
                    argv[i]);
            return EXIT_USAGE;
        } else {
            path = argv[i];
        }
    }
    if (control && strlen(control) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        fprintf(stderr, "vmmkit: error: --control %s: longer than a socket path may be\n", control);
        return EXIT_USAGE;
    }
    vmm_log_set_level(verbose ? VMM_LOG_INFO : VMM_LOG_WARN);

    s = calloc(1, sizeof(*s));
    if (!s)
        return EXIT_RUN_ERROR;
    s->path = path;
    s->desc_fd = s->sig_fd = s->ctl_fd = -1;
    /* Every descriptor starts closed, so that teardown() is safe from the first error on. */
    for (unsigned int i = 0; i < SYS_MAX_VMS; i++) {
        struct vm_proc *p = &s->vms[i];
        p->index = i;
        p->log_r = p->log_w = p->con_r = p->child_in = p->child_out = -1;
        p->pty_master = p->pty_slave_keep = p->con_listen = p->con_client = -1;
        for (unsigned int k = 0; k < CLI_MAX_NETS; k++) {
            p->net_fd[k] = -1;
            p->net_port[k] = -1;
        }
    }
    for (unsigned int i = 0; i < SYS_MAX_REGIONS; i++)
        s->region_fd[i] = -1;
    for (unsigned int i = 0; i < SYS_MAX_CHANNELS; i++)
        s->chan_mem[i] = s->chan_ev[i][0] = s->chan_ev[i][1] = -1;
    if (read_description(path, &s->desc_fd, &buf, &len) < 0) {
        status = EXIT_USAGE;
        goto out;
    }
    if (parse_description(path, buf, len, &s->d) < 0 || check_vms(s->d, path) < 0) {
        status = EXIT_USAGE;
        goto out;
    }
    self_len = readlink("/proc/self/exe", s->self, sizeof(s->self) - 1);
    if (self_len <= 0) {
        say("error: cannot find my own program (/proc/self/exe): %s", strerror(errno));
        goto out;
    }
    s->self[self_len] = 0;
    for (unsigned int i = 0; i < s->d->nr_vms; i++)
        s->vms[i].desc = &s->d->vms[i];

    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    s->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (s->sig_fd < 0) {
        say("error: signalfd: %s", strerror(errno));
        goto out;
    }
    if (!control && s->d->control[0])
        control = s->d->control;
    if (control) {
        snprintf(s->ctl_path, sizeof(s->ctl_path), "%s", control);
        s->ctl_fd = control_listen(s->ctl_path);
        if (s->ctl_fd < 0) {
            say("error: control socket %s: %s", s->ctl_path, strerror(-s->ctl_fd));
            s->ctl_fd = -1;
            goto out;
        }
    }
    if (make_resources(s) < 0)
        goto out;
    for (unsigned int i = 0; i < s->d->nr_vms; i++) {
        if (setup_console(s, &s->vms[i]) < 0)
            goto out;
    }
    say("system %s: %u VMs, %u channels, %u switches%s%s", s->d->name, s->d->nr_vms,
        s->d->nr_channels, s->d->nr_switches, s->ctl_fd >= 0 ? ", control socket " : "",
        s->ctl_fd >= 0 ? s->ctl_path : "");
    status = 0;
    for (unsigned int i = 0; i < s->d->nr_vms; i++) {
        if (start_vm(s, &s->vms[i]) < 0) {
            status = EXIT_RUN_ERROR;
            stop_all(s);
            break;
        }
    }
    if (loop(s) != 0)
        status = EXIT_RUN_ERROR;
    for (unsigned int i = 0; i < s->d->nr_vms; i++) {
        if (s->vms[i].failed)
            status = EXIT_RUN_ERROR;
    }
    say("system %s: every VM is down", s->d->name);
out:
    teardown(s);
    free(buf);
    sysdesc_free(s->d);
    free(s);
    return status;
}

/* --- a VM's process -------------------------------------------------------------------- */

int vmmkit_vm_process_main(int argc, char **argv)
{
    static char buf[DESC_MAX + 1];
    char dir[PATH_MAX], err[2048] = "";
    struct vm_devices dev;
    sysdesc_t *d = NULL;
    size_t len = 0;
    int vm, status;

    if (argc != 3) {
        fprintf(stderr, "vmmkit: error: vm-process is started by vmmkit run SYSTEM.xml\n");
        return EXIT_USAGE;
    }
    for (;;) {
        ssize_t n = pread(3, buf + len, sizeof(buf) - len, (off_t)len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fprintf(stderr, "vmmkit: error: vm-process: no description on descriptor 3: %s\n",
                    strerror(errno));
            return EXIT_USAGE;
        }
        if (n == 0 || len + (size_t)n > DESC_MAX)
            break;
        len += (size_t)n;
    }
    close(3);
    dir_of(argv[1], dir, sizeof(dir));
    if (sysdesc_parse(buf, len, argv[1], dir, true, &d, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return EXIT_USAGE;
    }
    vm = sysdesc_find_vm(d, argv[2]);
    if (vm < 0) {
        fprintf(stderr, "vmmkit: error: vm-process: no VM '%s' in %s\n", argv[2], argv[1]);
        sysdesc_free(d);
        return EXIT_USAGE;
    }
    vm_devices(d, (unsigned int)vm, true, &dev);
    vmm_log_set_level(d->vms[vm].opts.verbose >= 2 ? VMM_LOG_DEBUG
                      : d->vms[vm].opts.verbose    ? VMM_LOG_INFO
                                                   : VMM_LOG_WARN);
    status = run_vm(&d->vms[vm].opts, &dev.extras, 0);
    sysdesc_free(d);
    return status;
}
