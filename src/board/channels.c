/*
 * channels.c - every board's cross-VM channel ends (crossvm.h) and shared
 * memory maps (board_channel_t, board_shared_t).
 *
 * On the PCI transport each channel end is a PCI function behind the
 * board's host bridge (its BARs wherever the guest puts them).  On the MMIO
 * transport end i has fixed places (the layout's, board_priv.h): its event
 * page at channel_event_base + i * channel_event_stride, its memory from
 * channel_mem_base up, each channel naturally aligned after the one before
 * (sizes are powers of two, possibly large, so they go far above RAM), and
 * interrupt line channel_irq + i; the board describes each to the guest
 * (arm64: a "vmmkit,crossvm" device tree node) from board_devices_t.
 *
 * A shared map is a mapped reservation of the caller's descriptor at the
 * caller's address; a read-only one is mapped read-only and a guest write
 * is a bus error.
 *
 * Checking (names, sizes, descriptors, places) is done from
 * board_regions_check() before anything starts, with the generic regions,
 * so every overlap is one error message naming both sides.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmmkit/crossvm.h>
#include <vmmkit/log.h>

#include "board/board_priv.h"

static bool is_pow2(uint64_t x)
{
    return x && !(x & (x - 1));
}

void board_channel_place(const board_config_t *cfg, const board_layout_t *lay, unsigned int i,
                         uint64_t *event_base, uint64_t *mem_base)
{
    uint64_t at = lay->channel_mem_base;

    for (unsigned int k = 0; k <= i && k < cfg->nr_channels; k++) {
        uint64_t size = cfg->channels[k].mem_size;
        if (is_pow2(size))
            at = (at + size - 1) & ~(size - 1);
        if (k == i)
            break;
        at += size;
    }
    *event_base = lay->channel_event_base + i * lay->channel_event_stride;
    *mem_base = at;
}

/*
 * @fd is open and mmap-able for at least @size bytes.  -1 is a placeholder
 * for a descriptor the caller makes later (a system's supervisor checks
 * every VM before it makes what they share): the rest is checked, and
 * board_create() refuses it.
 */
static int check_fd_size(const char *what, int fd, uint64_t size, char *err, size_t errlen)
{
    struct stat st;

    if (fd == -1)
        return 0;
    if (fstat(fd, &st) < 0)
        return board_errorf(err, errlen, -EINVAL, "%s: descriptor %d: %s", what, fd,
                            strerror(errno));
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
        return board_errorf(err, errlen, -EINVAL,
                            "%s: descriptor %d is not a memory file (a memfd)", what, fd);
    if ((uint64_t)st.st_size < size)
        return board_errorf(err, errlen, -EINVAL,
                            "%s: descriptor %d holds %" PRIu64 " bytes, less than %" PRIu64, what,
                            fd, (uint64_t)st.st_size, size);
    return 0;
}

int board_channels_check(const board_config_t *cfg, const board_layout_t *lay, char *err,
                         size_t errlen)
{
    long page = sysconf(_SC_PAGESIZE);
    char what[96];
    int r;

    if (page <= 0)
        page = 4096;
    if (cfg->nr_channels > BOARD_MAX_CHANNELS)
        return board_errorf(err, errlen, -EINVAL, "%u channel ends: at most %u", cfg->nr_channels,
                            BOARD_MAX_CHANNELS);
    if (cfg->nr_shared > BOARD_MAX_SHARED)
        return board_errorf(err, errlen, -EINVAL, "%u shared maps: at most %u", cfg->nr_shared,
                            BOARD_MAX_SHARED);
    for (unsigned int i = 0; i < cfg->nr_channels; i++) {
        const board_channel_t *c = &cfg->channels[i];
        size_t len = c->name ? strlen(c->name) : 0;

        if (len == 0 || len > CROSSVM_NAME_MAX)
            return board_errorf(err, errlen, -EINVAL,
                                "channel %u: the name must be 1..%u bytes long", i,
                                CROSSVM_NAME_MAX);
        snprintf(what, sizeof(what), "channel '%s'", c->name);
        if (!is_pow2(c->mem_size) || c->mem_size < CROSSVM_MEM_MIN)
            return board_errorf(err, errlen, -EINVAL,
                                "%s: size %" PRIu64 ": must be a power of two of at least 4K", what,
                                c->mem_size);
        if (cfg->transport == BOARD_TRANSPORT_PCI && c->mem_size > lay->pci.mmio32_size)
            return board_errorf(
                err, errlen, -EINVAL, "%s: %" PRIu64 "M does not fit the PCI memory window (%lluM)",
                what, c->mem_size >> 20, (unsigned long long)(lay->pci.mmio32_size >> 20));
        r = check_fd_size(what, c->mem_fd, c->mem_size, err, errlen);
        if (r < 0)
            return r;
        if ((c->notify_fd != -1 || c->wait_fd != -1) &&
            (fcntl(c->notify_fd, F_GETFD) < 0 || fcntl(c->wait_fd, F_GETFD) < 0))
            return board_errorf(err, errlen, -EINVAL,
                                "%s: doorbell descriptors %d and %d are not both open", what,
                                c->notify_fd, c->wait_fd);
    }
    if (cfg->transport != BOARD_TRANSPORT_PCI && cfg->nr_channels) {
        uint64_t ev, mem;
        board_channel_place(cfg, lay, cfg->nr_channels - 1, &ev, &mem);
        if (mem + cfg->channels[cfg->nr_channels - 1].mem_size > lay->phys_limit)
            return board_errorf(err, errlen, -EINVAL,
                                "the channels' memory (from %#llx) ends above the guest-physical "
                                "limit of %#llx: make the channels smaller",
                                (unsigned long long)lay->channel_mem_base,
                                (unsigned long long)lay->phys_limit);
    }
    for (unsigned int i = 0; i < cfg->nr_shared; i++) {
        const board_shared_t *s = &cfg->shared[i];

        snprintf(what, sizeof(what), "shared map '%s'", s->name ? s->name : "?");
        if (!s->size || s->base % (uint64_t)page || s->size % (uint64_t)page)
            return board_errorf(err, errlen, -EINVAL,
                                "%s at %#" PRIx64 ", %#" PRIx64
                                " bytes: the address and size must be page multiples",
                                what, s->base, s->size);
        r = check_fd_size(what, s->fd, s->size, err, errlen);
        if (r < 0)
            return r;
    }
    return 0;
}

/* A guest write to a read-only shared map: a bus error (reads never trap: it is mapped). */
static memory_fault_result_t shared_fault(vm_t *vm, vm_vcpu_t *vcpu, uintptr_t addr, size_t len,
                                          void *cookie)
{
    return is_vcpu_read_fault(vcpu) ? FAULT_IGNORE : FAULT_BUS_ERROR;
}

struct shared_backing {
    void *hva;
    bool read_only;
};

static int shared_iter(uintptr_t addr, size_t size, vm_memory_backing_t *backing, void *cookie)
{
    const struct shared_backing *sb = cookie;

    backing->hva = sb->hva;
    backing->readonly = sb->read_only;
    return 0;
}

static int create_shared(board_devices_t *d, unsigned int i, char *err, size_t errlen)
{
    const board_shared_t *s = &d->cfg->shared[i];
    const char *name = s->name ? s->name : "?";
    int prot = PROT_READ | (s->read_only ? 0 : PROT_WRITE);
    void *hva = mmap(NULL, (size_t)s->size, prot, MAP_SHARED, s->fd, 0);
    int r;

    if (hva == MAP_FAILED)
        return board_errorf(err, errlen, -errno, "shared map '%s': cannot map it: %s", name,
                            strerror(errno));
    d->shared_hva[i] = hva;
    d->shared_res[i] = vm_reserve_memory_at(d->vm, s->base, s->size, shared_fault, d);
    if (!d->shared_res[i])
        return board_errorf(err, errlen, -errno, "shared map '%s' at %#" PRIx64 ": %s", name,
                            s->base, strerror(errno));
    struct shared_backing sb = {.hva = hva, .read_only = s->read_only};
    r = vm_map_reservation(d->vm, d->shared_res[i], shared_iter, &sb);
    if (r < 0)
        return board_errorf(err, errlen, r, "shared map '%s' at %#" PRIx64 ": cannot map it: %s",
                            name, s->base, strerror(-r));
    LOG_INFO("shared map '%s': %#" PRIx64 "-%#" PRIx64 "%s", name, s->base, s->base + s->size - 1,
             s->read_only ? ", read-only" : "");
    return 0;
}

/* MMIO channel ends: the line follows the counter again after a VM reset. */
static void channels_reset_hook(vm_t *vm, void *cookie)
{
    board_devices_t *d = cookie;

    for (unsigned int i = 0; i < d->cfg->nr_channels; i++)
        crossvm_reset(d->channels[i]);
}

static int create_channel(board_devices_t *d, unsigned int i, char *err, size_t errlen)
{
    const board_channel_t *c = &d->cfg->channels[i];
    crossvm_config_t cc = {
        .name = c->name,
        .mem_fd = c->mem_fd,
        .mem_size = c->mem_size,
        .notify_fd = c->notify_fd,
        .wait_fd = c->wait_fd,
        .io = d->io,
    };
    int r = crossvm_create(d->vm, &cc, &d->channels[i]);

    if (r < 0)
        return board_errorf(err, errlen, r, "channel '%s': %s", c->name, strerror(-r));
    if (d->cfg->transport == BOARD_TRANSPORT_PCI) {
        r = crossvm_attach_pci(d->channels[i], d->pci, -1);
        if (r < 0)
            return board_errorf(err, errlen, r, "channel '%s': cannot put it on PCI: %s%s", c->name,
                                strerror(-r),
                                r == -ENOSPC ? " (no slot left, or its memory does not fit the "
                                               "PCI memory window with the other BARs)"
                                             : "");
        LOG_INFO("channel '%s': PCI 00:%02x.0, %" PRIu64 " KiB", c->name, (unsigned int)r,
                 c->mem_size >> 10);
        return 0;
    }
    crossvm_mmio_config_t m = {.intid = d->layout->channel_irq + i};
    board_channel_place(d->cfg, d->layout, i, &m.event_base, &m.mem_base);
    r = crossvm_attach_mmio(d->channels[i], &m);
    if (r < 0)
        return board_errorf(err, errlen, r,
                            "channel '%s': cannot place it at %#" PRIx64 " and %#" PRIx64 ": %s",
                            c->name, m.event_base, m.mem_base, strerror(-r));
    d->channel_desc[d->nr_channel_desc++] = (board_channel_desc_t){
        .name = c->name,
        .event_base = m.event_base,
        .event_size = CROSSVM_EVENT_PAGE_SIZE,
        .mem_base = m.mem_base,
        .mem_size = c->mem_size,
        .irq = m.intid,
    };
    LOG_INFO("channel '%s': event page %#" PRIx64 ", memory %#" PRIx64 " (%" PRIu64
             " KiB), INTID %u",
             c->name, m.event_base, m.mem_base, c->mem_size >> 10, m.intid);
    return 0;
}

int board_channels_create(board_devices_t *d, char *err, size_t errlen)
{
    int r;

    for (unsigned int i = 0; i < d->cfg->nr_shared; i++) {
        r = create_shared(d, i, err, errlen);
        if (r < 0)
            return r;
    }
    for (unsigned int i = 0; i < d->cfg->nr_channels; i++) {
        r = create_channel(d, i, err, errlen);
        if (r < 0)
            return r;
    }
    if (d->cfg->nr_channels && d->cfg->transport != BOARD_TRANSPORT_PCI) {
        r = vm_register_reset_hook(d->vm, channels_reset_hook, d);
        if (r < 0)
            return board_errorf(err, errlen, r, "cannot register the channels' reset: %s",
                                strerror(-r));
    }
    return 0;
}

void board_channels_destroy(board_devices_t *d)
{
    for (unsigned int i = 0; i < BOARD_MAX_CHANNELS; i++) {
        crossvm_t *cv = d->channels[i];
        if (!cv)
            continue;
        LOG_INFO("channel '%s': %" PRIu64 " rings sent by trap, %" PRIu64
                 " events received, %" PRIu64 " ignored writes",
                 crossvm_name(cv), crossvm_stat(cv, CROSSVM_STAT_RINGS),
                 crossvm_stat(cv, CROSSVM_STAT_EVENTS), crossvm_stat(cv, CROSSVM_STAT_IGNORED));
        crossvm_destroy(cv);
        d->channels[i] = NULL;
    }
    d->nr_channel_desc = 0;
    for (unsigned int i = 0; i < BOARD_MAX_SHARED; i++) {
        if (d->shared_res[i] && d->vm)
            vm_free_reserved_memory(d->vm, d->shared_res[i]);
        d->shared_res[i] = NULL;
        if (d->shared_hva[i])
            munmap(d->shared_hva[i], (size_t)d->cfg->shared[i].size);
        d->shared_hva[i] = NULL;
    }
}
