/*
 * virt_channels.c - the arm64 virt board's cross-VM channel ends
 * (crossvm.h) and shared memory maps (arm64_virt_channel_t,
 * arm64_virt_shared_t).
 *
 * On the PCI transport each channel end is a PCI function behind the
 * board's host bridge (its BARs wherever the guest puts them).  On the MMIO
 * transport end i has fixed places (arm64_virt.h's memory map): its event
 * page at ARM64_VIRT_CHANNEL_EVENT_BASE + i * 4 KiB (the top of the free
 * window), its memory from ARM64_VIRT_CHANNEL_MEM_BASE (512 GiB) up, each
 * channel naturally aligned after the one before (sizes are powers of two,
 * possibly large, so they go far above RAM rather than into the 64 MiB
 * free window), and SPI ARM64_VIRT_CHANNEL_INTID + i (80.., clear of the
 * UART's 33, PCI INTx's 35..38 and virtio-mmio's 48..79), each described
 * by a "vmmkit,crossvm" device tree node.
 *
 * A shared map is a mapped reservation of the caller's descriptor at the
 * caller's address; a read-only one is mapped read-only and a guest write
 * is a bus error.
 *
 * Checking (names, sizes, descriptors, places) is done from
 * virt_regions_check() before anything starts, with the generic regions,
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

#include "arch/arm64/virt_priv.h"

static bool is_pow2(uint64_t x)
{
    return x && !(x & (x - 1));
}

void virt_channel_place(const arm64_virt_config_t *cfg, unsigned int i, uint64_t *event_base,
                        uint64_t *mem_base)
{
    uint64_t at = ARM64_VIRT_CHANNEL_MEM_BASE;

    for (unsigned int k = 0; k <= i && k < cfg->nr_channels; k++) {
        uint64_t size = cfg->channels[k].mem_size;
        if (is_pow2(size))
            at = (at + size - 1) & ~(size - 1);
        if (k == i)
            break;
        at += size;
    }
    *event_base = ARM64_VIRT_CHANNEL_EVENT_BASE + i * ARM64_VIRT_CHANNEL_EVENT_STRIDE;
    *mem_base = at;
}

/*
 * @fd is open and mmap-able for at least @size bytes.  -1 is a placeholder
 * for a descriptor the caller makes later (a system's supervisor checks
 * every VM before it makes what they share): the rest is checked, and
 * arm64_virt_create() refuses it.
 */
static int check_fd_size(const char *what, int fd, uint64_t size, char *err, size_t errlen)
{
    struct stat st;

    if (fd == -1)
        return 0;
    if (fstat(fd, &st) < 0)
        return virt_errorf(err, errlen, -EINVAL, "%s: descriptor %d: %s", what, fd,
                           strerror(errno));
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
        return virt_errorf(err, errlen, -EINVAL, "%s: descriptor %d is not a memory file (a memfd)",
                           what, fd);
    if ((uint64_t)st.st_size < size)
        return virt_errorf(err, errlen, -EINVAL,
                           "%s: descriptor %d holds %" PRIu64 " bytes, less than %" PRIu64, what,
                           fd, (uint64_t)st.st_size, size);
    return 0;
}

int virt_channels_check(const arm64_virt_config_t *cfg, char *err, size_t errlen)
{
    long page = sysconf(_SC_PAGESIZE);
    char what[96];
    int r;

    if (page <= 0)
        page = 4096;
    if (cfg->nr_channels > ARM64_VIRT_MAX_CHANNELS)
        return virt_errorf(err, errlen, -EINVAL, "%u channel ends: at most %u", cfg->nr_channels,
                           ARM64_VIRT_MAX_CHANNELS);
    if (cfg->nr_shared > ARM64_VIRT_MAX_SHARED)
        return virt_errorf(err, errlen, -EINVAL, "%u shared maps: at most %u", cfg->nr_shared,
                           ARM64_VIRT_MAX_SHARED);
    for (unsigned int i = 0; i < cfg->nr_channels; i++) {
        const arm64_virt_channel_t *c = &cfg->channels[i];
        size_t len = c->name ? strlen(c->name) : 0;

        if (len == 0 || len > CROSSVM_NAME_MAX)
            return virt_errorf(err, errlen, -EINVAL,
                               "channel %u: the name must be 1..%u bytes long", i,
                               CROSSVM_NAME_MAX);
        snprintf(what, sizeof(what), "channel '%s'", c->name);
        if (!is_pow2(c->mem_size) || c->mem_size < CROSSVM_MEM_MIN)
            return virt_errorf(err, errlen, -EINVAL,
                               "%s: size %" PRIu64 ": must be a power of two of at least 4K", what,
                               c->mem_size);
        if (cfg->transport == ARM64_VIRT_TRANSPORT_PCI && c->mem_size > ARM64_VIRT_PCI_MMIO_SIZE)
            return virt_errorf(err, errlen, -EINVAL,
                               "%s: %" PRIu64 "M does not fit the PCI memory window (%lluM)", what,
                               c->mem_size >> 20, ARM64_VIRT_PCI_MMIO_SIZE >> 20);
        r = check_fd_size(what, c->mem_fd, c->mem_size, err, errlen);
        if (r < 0)
            return r;
        if ((c->notify_fd != -1 || c->wait_fd != -1) &&
            (fcntl(c->notify_fd, F_GETFD) < 0 || fcntl(c->wait_fd, F_GETFD) < 0))
            return virt_errorf(err, errlen, -EINVAL,
                               "%s: doorbell descriptors %d and %d are not both open", what,
                               c->notify_fd, c->wait_fd);
    }
    if (cfg->transport != ARM64_VIRT_TRANSPORT_PCI && cfg->nr_channels) {
        uint64_t ev, mem;
        virt_channel_place(cfg, cfg->nr_channels - 1, &ev, &mem);
        if (mem + cfg->channels[cfg->nr_channels - 1].mem_size > ARM64_VIRT_IPA_LIMIT)
            return virt_errorf(err, errlen, -EINVAL,
                               "the channels' memory (from %#llx) ends above the guest-physical "
                               "limit of %#llx: make the channels smaller",
                               ARM64_VIRT_CHANNEL_MEM_BASE, ARM64_VIRT_IPA_LIMIT);
    }
    for (unsigned int i = 0; i < cfg->nr_shared; i++) {
        const arm64_virt_shared_t *s = &cfg->shared[i];

        snprintf(what, sizeof(what), "shared map '%s'", s->name ? s->name : "?");
        if (!s->size || s->base % (uint64_t)page || s->size % (uint64_t)page)
            return virt_errorf(err, errlen, -EINVAL,
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

static int create_shared(arm64_virt_t *b, unsigned int i, char *err, size_t errlen)
{
    const arm64_virt_shared_t *s = &b->cfg.shared[i];
    const char *name = s->name ? s->name : "?";
    int prot = PROT_READ | (s->read_only ? 0 : PROT_WRITE);
    void *hva = mmap(NULL, (size_t)s->size, prot, MAP_SHARED, s->fd, 0);
    int r;

    if (hva == MAP_FAILED)
        return virt_errorf(err, errlen, -errno, "shared map '%s': cannot map it: %s", name,
                           strerror(errno));
    b->shared_hva[i] = hva;
    b->shared_res[i] = vm_reserve_memory_at(b->vm, s->base, s->size, shared_fault, b);
    if (!b->shared_res[i])
        return virt_errorf(err, errlen, -errno, "shared map '%s' at %#" PRIx64 ": %s", name,
                           s->base, strerror(errno));
    struct shared_backing sb = {.hva = hva, .read_only = s->read_only};
    r = vm_map_reservation(b->vm, b->shared_res[i], shared_iter, &sb);
    if (r < 0)
        return virt_errorf(err, errlen, r, "shared map '%s' at %#" PRIx64 ": cannot map it: %s",
                           name, s->base, strerror(-r));
    LOG_INFO("shared map '%s': %#" PRIx64 "-%#" PRIx64 "%s", name, s->base, s->base + s->size - 1,
             s->read_only ? ", read-only" : "");
    return 0;
}

/* MMIO channel ends: the line follows the counter again after a VM reset. */
static void channels_reset_hook(vm_t *vm, void *cookie)
{
    arm64_virt_t *b = cookie;

    for (unsigned int i = 0; i < b->cfg.nr_channels; i++)
        crossvm_reset(b->channels[i]);
}

static int create_channel(arm64_virt_t *b, unsigned int i, char *err, size_t errlen)
{
    const arm64_virt_channel_t *c = &b->cfg.channels[i];
    crossvm_config_t cc = {
        .name = c->name,
        .mem_fd = c->mem_fd,
        .mem_size = c->mem_size,
        .notify_fd = c->notify_fd,
        .wait_fd = c->wait_fd,
        .io = b->io,
    };
    int r = crossvm_create(b->vm, &cc, &b->channels[i]);

    if (r < 0)
        return virt_errorf(err, errlen, r, "channel '%s': %s", c->name, strerror(-r));
    if (b->cfg.transport == ARM64_VIRT_TRANSPORT_PCI) {
        r = crossvm_attach_pci(b->channels[i], b->pci, -1);
        if (r < 0)
            return virt_errorf(err, errlen, r, "channel '%s': cannot put it on PCI: %s%s", c->name,
                               strerror(-r),
                               r == -ENOSPC ? " (no slot left, or its memory does not fit the "
                                              "PCI memory window with the other BARs)"
                                            : "");
        LOG_INFO("channel '%s': PCI 00:%02x.0, %" PRIu64 " KiB", c->name, (unsigned int)r,
                 c->mem_size >> 10);
        return 0;
    }
    crossvm_mmio_config_t m = {.intid = ARM64_VIRT_CHANNEL_INTID + i};
    virt_channel_place(&b->cfg, i, &m.event_base, &m.mem_base);
    r = crossvm_attach_mmio(b->channels[i], &m);
    if (r < 0)
        return virt_errorf(err, errlen, r,
                           "channel '%s': cannot place it at %#" PRIx64 " and %#" PRIx64 ": %s",
                           c->name, m.event_base, m.mem_base, strerror(-r));
    b->fdt_channels[b->nr_fdt_channels++] = (arm64_fdt_crossvm_t){
        .name = c->name,
        .event_base = m.event_base,
        .event_size = CROSSVM_EVENT_PAGE_SIZE,
        .mem_base = m.mem_base,
        .mem_size = c->mem_size,
        .intid = m.intid,
    };
    LOG_INFO("channel '%s': event page %#" PRIx64 ", memory %#" PRIx64 " (%" PRIu64
             " KiB), INTID %u",
             c->name, m.event_base, m.mem_base, c->mem_size >> 10, m.intid);
    return 0;
}

int virt_channels_create(arm64_virt_t *b, char *err, size_t errlen)
{
    int r;

    for (unsigned int i = 0; i < b->cfg.nr_shared; i++) {
        r = create_shared(b, i, err, errlen);
        if (r < 0)
            return r;
    }
    for (unsigned int i = 0; i < b->cfg.nr_channels; i++) {
        r = create_channel(b, i, err, errlen);
        if (r < 0)
            return r;
    }
    if (b->cfg.nr_channels && b->cfg.transport != ARM64_VIRT_TRANSPORT_PCI) {
        r = vm_register_reset_hook(b->vm, channels_reset_hook, b);
        if (r < 0)
            return virt_errorf(err, errlen, r, "cannot register the channels' reset: %s",
                               strerror(-r));
    }
    return 0;
}

void virt_channels_fdt(arm64_virt_t *b, arm64_fdt_config_t *fc)
{
    fc->crossvm = b->fdt_channels;
    fc->nr_crossvm = b->nr_fdt_channels;
}

void virt_channels_destroy(arm64_virt_t *b)
{
    for (unsigned int i = 0; i < ARM64_VIRT_MAX_CHANNELS; i++) {
        crossvm_t *cv = b->channels[i];
        if (!cv)
            continue;
        LOG_INFO("channel '%s': %" PRIu64 " rings sent by trap, %" PRIu64
                 " events received, %" PRIu64 " ignored writes",
                 crossvm_name(cv), crossvm_stat(cv, CROSSVM_STAT_RINGS),
                 crossvm_stat(cv, CROSSVM_STAT_EVENTS), crossvm_stat(cv, CROSSVM_STAT_IGNORED));
        crossvm_destroy(cv);
        b->channels[i] = NULL;
    }
    b->nr_fdt_channels = 0;
    for (unsigned int i = 0; i < ARM64_VIRT_MAX_SHARED; i++) {
        if (b->shared_res[i] && b->vm)
            vm_free_reserved_memory(b->vm, b->shared_res[i]);
        b->shared_res[i] = NULL;
        if (b->shared_hva[i])
            munmap(b->shared_hva[i], (size_t)b->cfg.shared[i].size);
        b->shared_hva[i] = NULL;
    }
}
