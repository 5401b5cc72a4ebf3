/*
 * regions.c - every board's generic regions: access-controlled
 * (mmio_guard.h) and forwarding (mmio_forward.h) MMIO regions the user
 * places in the guest-physical map (vmmkit run --guard, --forward).
 *
 * Checking is address, file and socket work only, done from
 * board_check_common(), so
 * a region in the wrong place, a file of the wrong size or a missing socket
 * is a one-line error before anything starts, on any host.  The cross-VM
 * channels' MMIO windows and the shared maps (channels.c) are checked
 * here too, first, so a generic region over one of them names it.  Each region is
 * a trapping reservation, made after the board's own devices and freed
 * before the VM, when no vCPU runs (mmio_guard.h, mmio_forward.h: a
 * reservation's cookie outlives vm_run()).  The machine description mentions
 * none of them: the guest reaches them through /dev/mem or a driver of its own.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <vmmkit/log.h>
#include <vmmkit/mmio_forward.h>
#include <vmmkit/mmio_guard.h>

#include "board/board_priv.h"

/* One region of either kind, for the checks and their messages. */
typedef struct region {
    char label[96]; /* "--guard 0xc000000,0x1000", as the command line spells it */
    uint64_t base;
    uint64_t size;
} region_t;

/* Whether [a, a + an) and [b, b + bn) share a byte (neither wraps; empty ranges never do). */
static bool overlaps(uint64_t a, uint64_t an, uint64_t b, uint64_t bn)
{
    return an && bn && a <= b + (bn - 1) && b <= a + (an - 1);
}

static region_t region_of(const char *opt, uint64_t base, uint64_t size)
{
    region_t r = {.base = base, .size = size};

    snprintf(r.label, sizeof(r.label), "%s %#" PRIx64 ",%#" PRIx64, opt, base, size);
    return r;
}

/* @r in a place of its own: outside RAM, the board's windows and @others[0..@n). */
static int check_place(const board_config_t *cfg, const board_layout_t *lay, const region_t *r,
                       const region_t *others, unsigned int n, char *err, size_t errlen)
{
    uint64_t free_last = lay->free_base + lay->free_size - 1;

    if (r->size == 0 || r->base + (r->size - 1) < r->base)
        return board_errorf(err, errlen, -EINVAL,
                            "%s: the size must be more than 0 and the region must not wrap",
                            r->label);
    for (unsigned int i = 0; i < lay->nr_ram; i++) {
        const board_window_t *ram = &lay->ram[i];
        if (overlaps(r->base, r->size, ram->base, ram->size))
            return board_errorf(err, errlen, -EINVAL,
                                "%s: overlaps guest RAM at %#" PRIx64 "-%#" PRIx64
                                " (--mem %" PRIu64 "M); %s, e.g. in %#" PRIx64 "-%#" PRIx64
                                ", or above RAM",
                                r->label, ram->base, ram->base + ram->size - 1, cfg->ram_size >> 20,
                                lay->ram_hint, lay->free_base, free_last);
    }
    for (unsigned int w = 0; w < lay->nr_windows; w++) {
        const board_window_t *win = &lay->windows[w];
        if (overlaps(r->base, r->size, win->base, win->size))
            return board_errorf(err, errlen, -EINVAL,
                                "%s: overlaps %s at %#" PRIx64 "-%#" PRIx64 "; e.g. %#" PRIx64
                                "-%#" PRIx64 " is free",
                                r->label, win->name, win->base, win->base + win->size - 1,
                                lay->free_base, free_last);
    }
    if (r->base + (r->size - 1) >= lay->phys_limit)
        return board_errorf(err, errlen, -EINVAL,
                            "%s: ends above the guest-physical limit of %#" PRIx64, r->label,
                            lay->phys_limit);
    for (unsigned int i = 0; i < n; i++) {
        if (overlaps(r->base, r->size, others[i].base, others[i].size))
            return board_errorf(err, errlen, -EINVAL, "%s: overlaps %s", r->label, others[i].label);
    }
    return 0;
}

/*
 * Open a guard's @what file (contents or writable) and check it holds exactly
 * the region's size; returns the descriptor, or -errno + @err.
 */
static int open_region_file(const region_t *r, const char *what, const char *path, char *err,
                            size_t errlen)
{
    char whose[128];
    uint64_t size;

    snprintf(whose, sizeof(whose), "%s: %s", r->label, what);
    int fd = board_open_file(whose, path, &size, err, errlen);
    if (fd < 0)
        return fd;
    if (size != r->size) {
        close(fd);
        return board_errorf(err, errlen, -EINVAL,
                            "%s %s: %" PRIu64 " bytes, but the region is %" PRIu64
                            " bytes: the file must be exactly that size",
                            whose, path, size, r->size);
    }
    return fd;
}

static int check_socket_path(const region_t *r, const char *path, char *err, size_t errlen)
{
    struct stat st;

    if (!path || !path[0])
        return board_errorf(err, errlen, -EINVAL, "%s: no socket given for the handler", r->label);
    if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return board_errorf(err, errlen, -ENAMETOOLONG, "%s: socket %s: longer than %zu bytes",
                            r->label, path, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
    if (stat(path, &st) < 0)
        return board_errorf(err, errlen, -errno, "%s: socket %s: %s (start the handler first)",
                            r->label, path, strerror(errno));
    if (!S_ISSOCK(st.st_mode))
        return board_errorf(err, errlen, -ENOTSOCK, "%s: %s is not a socket", r->label, path);
    return 0;
}

/* Name a board-placed or caller-placed range: "channel 'x' event page at 0x..-0x..". */
static region_t region_named(const char *kind, const char *name, const char *part, uint64_t base,
                             uint64_t size)
{
    region_t r = {.base = base, .size = size};

    snprintf(r.label, sizeof(r.label), "%s '%.40s'%s at %#" PRIx64 "-%#" PRIx64, kind, name, part,
             base, base + size - 1);
    return r;
}

/*
 * The channels' MMIO windows and the shared maps, placed first: the
 * generic regions are then checked against them too.  Fills @regions from
 * *@n on.
 */
static int check_channel_places(const board_config_t *cfg, const board_layout_t *lay,
                                region_t *regions, unsigned int *n, char *err, size_t errlen)
{
    int r = board_channels_check(cfg, lay, err, errlen);

    if (r < 0)
        return r;
    if (cfg->transport != BOARD_TRANSPORT_PCI) {
        for (unsigned int i = 0; i < cfg->nr_channels; i++) {
            const board_channel_t *c = &cfg->channels[i];
            uint64_t ev, mem;

            board_channel_place(cfg, lay, i, &ev, &mem);
            regions[*n] =
                region_named("channel", c->name, " event page", ev, lay->channel_event_stride);
            r = check_place(cfg, lay, &regions[*n], regions, *n, err, errlen);
            if (r < 0)
                return r;
            (*n)++;
            regions[*n] = region_named("channel", c->name, " memory", mem, c->mem_size);
            r = check_place(cfg, lay, &regions[*n], regions, *n, err, errlen);
            if (r < 0)
                return r;
            (*n)++;
        }
    }
    for (unsigned int i = 0; i < cfg->nr_shared; i++, (*n)++) {
        const board_shared_t *sh = &cfg->shared[i];

        regions[*n] = region_named("shared map", sh->name ? sh->name : "?", "", sh->base, sh->size);
        r = check_place(cfg, lay, &regions[*n], regions, *n, err, errlen);
        if (r < 0)
            return r;
    }
    return 0;
}

int board_regions_check(const board_config_t *cfg, const board_layout_t *lay, char *err,
                        size_t errlen)
{
    region_t
        regions[2 * BOARD_MAX_CHANNELS + BOARD_MAX_SHARED + BOARD_MAX_GUARDS + BOARD_MAX_FORWARDS];
    unsigned int n = 0, first;
    int r;

    r = check_channel_places(cfg, lay, regions, &n, err, errlen);
    if (r < 0)
        return r;
    first = n; /* the generic regions start here */

    if (cfg->nr_guards > BOARD_MAX_GUARDS)
        return board_errorf(err, errlen, -EINVAL, "%u --guard regions: at most %u", cfg->nr_guards,
                            BOARD_MAX_GUARDS);
    if (cfg->nr_forwards > BOARD_MAX_FORWARDS)
        return board_errorf(err, errlen, -EINVAL, "%u --forward regions: at most %u",
                            cfg->nr_forwards, BOARD_MAX_FORWARDS);
    for (unsigned int i = 0; i < cfg->nr_guards; i++, n++) {
        const board_guard_t *g = &cfg->guards[i];
        regions[n] = region_of("--guard", g->base, g->size);
        r = check_place(cfg, lay, &regions[n], regions, n, err, errlen);
        if (r < 0)
            return r;
        if (g->size > MMIO_GUARD_MAX_SIZE)
            return board_errorf(err, errlen, -EINVAL, "%s: larger than the limit of %lluM",
                                regions[n].label, MMIO_GUARD_MAX_SIZE >> 20);
        if ((unsigned int)g->policy > MMIO_GUARD_REPORT_AND_MASK)
            return board_errorf(err, errlen, -EINVAL,
                                "%s: policy %d is none of report, mask, report-and-mask",
                                regions[n].label, (int)g->policy);
    }
    for (unsigned int i = 0; i < cfg->nr_forwards; i++, n++) {
        const board_forward_t *f = &cfg->forwards[i];
        regions[n] = region_of("--forward", f->base, f->size);
        r = check_place(cfg, lay, &regions[n], regions, n, err, errlen);
        if (r < 0)
            return r;
        if (f->timeout_ms > MMIO_FORWARD_MAX_TIMEOUT_MS)
            return board_errorf(err, errlen, -EINVAL, "%s: timeout %u ms is over the limit of %u",
                                regions[n].label, f->timeout_ms, MMIO_FORWARD_MAX_TIMEOUT_MS);
    }
    /* Files and sockets once every place is known to be right. */
    for (unsigned int i = 0; i < cfg->nr_guards; i++) {
        const board_guard_t *g = &cfg->guards[i];
        const char *files[2][2] = {{"contents", g->contents}, {"writable", g->writable}};
        for (int k = 0; k < 2; k++) {
            if (!files[k][1])
                continue;
            int fd = open_region_file(&regions[first + i], files[k][0], files[k][1], err, errlen);
            if (fd < 0)
                return fd;
            close(fd);
        }
    }
    for (unsigned int i = 0; i < cfg->nr_forwards; i++) {
        r = check_socket_path(&regions[first + cfg->nr_guards + i], cfg->forwards[i].socket, err,
                              errlen);
        if (r < 0)
            return r;
    }
    return 0;
}

/* A guard's @what file, read whole into a new buffer (*@out; NULL when @path is). */
static int read_region_file(const region_t *r, const char *what, const char *path, uint8_t **out,
                            char *err, size_t errlen)
{
    *out = NULL;
    if (!path)
        return 0;
    int fd = open_region_file(r, what, path, err, errlen);
    if (fd < 0)
        return fd;
    uint8_t *buf = malloc(r->size);
    int rc = buf ? board_pread_all(fd, buf, r->size, 0) : -ENOMEM;
    close(fd);
    if (rc < 0) {
        free(buf);
        return board_errorf(err, errlen, rc, "%s: %s %s: cannot read it: %s", r->label, what, path,
                            rc == -EIO ? "file ended early" : strerror(-rc));
    }
    *out = buf;
    return 0;
}

static int create_guard(board_devices_t *d, unsigned int i, char *err, size_t errlen)
{
    const board_guard_t *g = &d->cfg->guards[i];
    region_t r = region_of("--guard", g->base, g->size);
    uint8_t *contents = NULL, *writable = NULL;
    char name[32];
    int rc;

    rc = read_region_file(&r, "contents", g->contents, &contents, err, errlen);
    if (rc == 0)
        rc = read_region_file(&r, "writable", g->writable, &writable, err, errlen);
    if (rc == 0) {
        snprintf(name, sizeof(name), "guard@%#" PRIx64, g->base);
        mmio_guard_config_t gc = {
            .name = name,
            .base = g->base,
            .size = g->size,
            .contents = contents,
            .writable = writable,
            .policy = g->policy,
        };
        rc = mmio_guard_create(d->vm, &gc, &d->guards[i]);
        if (rc < 0)
            board_errorf(err, errlen, rc, "%s: cannot create the region: %s", r.label,
                         strerror(-rc));
        else
            LOG_INFO("%s: access-controlled region %#" PRIx64 "-%#" PRIx64 ", policy %s", name,
                     g->base, g->base + g->size - 1, mmio_guard_policy_name(g->policy));
    }
    free(contents);
    free(writable);
    return rc;
}

/* Connect to a handler the way the region reconnects: non-blocking, so a full backlog fails. */
static int connect_handler(const region_t *r, const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd, e;

    if (strlen(path) >= sizeof(sa.sun_path))
        return board_errorf(err, errlen, -ENAMETOOLONG, "%s: socket %s: path too long", r->label,
                            path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return board_errorf(err, errlen, -errno, "%s: cannot make a socket: %s", r->label,
                            strerror(errno));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
        return fd;
    e = errno;
    close(fd);
    return board_errorf(err, errlen, -e, "%s: cannot connect to the handler at %s: %s%s", r->label,
                        path, strerror(e),
                        e == ECONNREFUSED ? " (nothing listens there: start the handler first)"
                        : e == EPROTOTYPE ? " (the handler must listen on a SOCK_SEQPACKET socket)"
                        : e == EAGAIN     ? " (the handler accepts no more connections)"
                                          : "");
}

static int create_forward(board_devices_t *d, unsigned int i, char *err, size_t errlen)
{
    const board_forward_t *f = &d->cfg->forwards[i];
    region_t r = region_of("--forward", f->base, f->size);
    char name[32];
    int fd = connect_handler(&r, f->socket, err, errlen);
    int rc;

    if (fd < 0)
        return fd;
    snprintf(name, sizeof(name), "forward@%#" PRIx64, f->base);
    mmio_forward_config_t fc = {
        .name = name,
        .base = f->base,
        .size = f->size,
        .fd = fd,
        .path = f->socket,
        .timeout_ms = f->timeout_ms,
        .reconnect_ms = BOARD_FORWARD_RECONNECT_MS,
    };
    rc = mmio_forward_create(d->vm, &fc, &d->forwards[i]);
    if (rc < 0) {
        close(fd); /* a failed create leaves the socket to us */
        return board_errorf(err, errlen, rc, "%s: cannot create the region: %s", r.label,
                            strerror(-rc));
    }
    LOG_INFO("%s: forwarding region %#" PRIx64 "-%#" PRIx64 " to the handler at %s", name, f->base,
             f->base + f->size - 1, f->socket);
    return 0;
}

/* The guards' contents go back to their initial bytes at every VM reset. */
static void regions_reset_hook(vm_t *vm, void *cookie)
{
    board_devices_t *d = cookie;

    for (unsigned int i = 0; i < d->cfg->nr_guards; i++)
        mmio_guard_reset(d->guards[i]);
}

int board_regions_create(board_devices_t *d, char *err, size_t errlen)
{
    int r;

    for (unsigned int i = 0; i < d->cfg->nr_guards; i++) {
        r = create_guard(d, i, err, errlen);
        if (r < 0)
            return r;
    }
    for (unsigned int i = 0; i < d->cfg->nr_forwards; i++) {
        r = create_forward(d, i, err, errlen);
        if (r < 0)
            return r;
    }
    if (d->cfg->nr_guards) {
        r = vm_register_reset_hook(d->vm, regions_reset_hook, d);
        if (r < 0)
            return board_errorf(err, errlen, r, "cannot register the regions' reset: %s",
                                strerror(-r));
    }
    return 0;
}

void board_regions_destroy(board_devices_t *d)
{
    for (unsigned int i = 0; i < BOARD_MAX_GUARDS; i++) {
        mmio_guard_t *g = d->guards[i];
        if (!g)
            continue;
        LOG_INFO("guard@%#" PRIx64 ": %" PRIu64 " reads, %" PRIu64 " writes, %" PRIu64
                 " violations",
                 mmio_guard_base(g), mmio_guard_stat(g, MMIO_GUARD_STAT_READS),
                 mmio_guard_stat(g, MMIO_GUARD_STAT_WRITES),
                 mmio_guard_stat(g, MMIO_GUARD_STAT_VIOLATIONS));
        mmio_guard_destroy(g);
        d->guards[i] = NULL;
    }
    for (unsigned int i = 0; i < BOARD_MAX_FORWARDS; i++) {
        mmio_forward_t *f = d->forwards[i];
        if (!f)
            continue;
        char line[512];
        int len = snprintf(line, sizeof(line), "forward@%#" PRIx64 ":", mmio_forward_base(f));
        for (int s = 0; s < MMIO_FORWARD_STAT_COUNT && len < (int)sizeof(line); s++)
            len += snprintf(line + len, sizeof(line) - (size_t)len, "%s %" PRIu64 " %s",
                            s ? "," : "", mmio_forward_stat(f, (mmio_forward_stat_t)s),
                            mmio_forward_stat_name((mmio_forward_stat_t)s));
        LOG_INFO("%s", line);
        mmio_forward_destroy(f);
        d->forwards[i] = NULL;
    }
}
