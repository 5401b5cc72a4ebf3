/*
 * bar.c - memory BARs: the registers, their sizing protocol, where they
 * decode, and the guest's accesses to them.
 *
 * "PCI 3.0" is the PCI Local Bus Specification 3.0, 6.2.5.1 "Address Maps"
 * for the BAR registers: bit 0 is 0 for memory, bits 2:1 the type (00
 * 32-bit, 10 64-bit), bit 3 prefetchable, and the address bits below the
 * BAR's size are read-only zero.  So writing all-ones and reading back
 * gives the size mask, with no special case: we store the address masked
 * to the size and compose the register from it.  A 64-bit BAR takes two
 * registers; the upper one holds address bits 63:32.
 *
 * A BAR decodes while the command register's Memory Space bit is set
 * (6.2.2) and its address is not 0 (unassigned) and lies wholly inside one
 * of the host's windows (a host bridge forwards nothing else).  Decoding
 * is a trapped reservation at the BAR's address; whenever the command
 * register or a BAR register is written, pci_bars_update() frees the
 * reservations that no longer match and then makes the new ones (in two
 * passes, so BARs of one device may swap places).  A reservation the core
 * refuses (the guest put the BAR over RAM or another device) leaves the
 * BAR not decoding, counted as PCI_E_BAR_PLACEMENT; it is tried again on
 * the device's next command or BAR write.
 *
 * A memory-backed BAR (pci_device_set_bar_memory) decodes as a mapped
 * reservation instead: the same reservation, then backed by the owner's
 * memory, so the guest reaches it without exits wherever it moves.  Only
 * writes to a read-only one trap (to the owner's bar_write).  A mapping the
 * backend refuses leaves the BAR not decoding, counted as PCI_E_BAR_MAP.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <vmmkit/guest_memory.h>

#include "pci/pci_priv.h"

#define BAR_ADDR_LO_MASK 0xfffffff0u /* bits 3:0 are type bits (6.2.5.1) */

static bool is_pow2(uint64_t x)
{
    return x && !(x & (x - 1));
}

int pci_device_add_bar(pci_device_t *dev, unsigned int bar, uint64_t size, unsigned int flags)
{
    bool is64 = flags & PCI_BAR_F_64BIT;

    if (!dev || bar >= PCI_NUM_BARS || (flags & ~(PCI_BAR_F_64BIT | PCI_BAR_F_PREFETCH))) {
        return -EINVAL;
    }
    if (dev->host) {
        return -EBUSY;
    }
    if (!is_pow2(size) || size < PCI_BAR_MIN_SIZE || (!is64 && size > (1ull << 31)) ||
        size > (1ull << 63)) {
        return -EINVAL;
    }
    if (dev->bars[bar].size || dev->bars[bar].upper) {
        return -EINVAL;
    }
    if (is64 && (bar + 1 >= PCI_NUM_BARS || dev->bars[bar + 1].size || dev->bars[bar + 1].upper)) {
        return -EINVAL;
    }
    dev->bars[bar].size = size;
    dev->bars[bar].flags = flags;
    if (is64) {
        dev->bars[bar + 1].upper = true;
    }
    return 0;
}

int pci_device_set_bar_memory(pci_device_t *dev, unsigned int bar, void *hva, bool read_only)
{
    long page = sysconf(_SC_PAGESIZE);

    if (!dev || bar >= PCI_NUM_BARS || !dev->bars[bar].size || !hva ||
        (uintptr_t)hva % (uintptr_t)(page > 0 ? page : 4096)) {
        return -EINVAL;
    }
    if (dev->host) {
        return -EBUSY;
    }
    if (dev->msix.nr && dev->msix.bar == bar) {
        return -EINVAL; /* the MSI-X structures must trap */
    }
    dev->bars[bar].hva = hva;
    dev->bars[bar].read_only = read_only;
    return 0;
}

uint32_t pci_bar_reg_read(const pci_device_t *dev, unsigned int index)
{
    const struct pci_bar *b = &dev->bars[index];
    uint32_t v;

    if (b->upper) {
        return (uint32_t)(dev->bars[index - 1].addr >> 32);
    }
    if (!b->size) {
        return 0; /* an absent BAR: reads 0, sizing gives 0 (6.2.5.1) */
    }
    v = (uint32_t)b->addr & BAR_ADDR_LO_MASK;
    if (b->flags & PCI_BAR_F_64BIT) {
        v |= PCI_BAR_MEM_TYPE_64;
    }
    if (b->flags & PCI_BAR_F_PREFETCH) {
        v |= PCI_BAR_MEM_PREFETCH;
    }
    return v;
}

void pci_bar_reg_write(pci_device_t *dev, unsigned int index, uint32_t val)
{
    struct pci_bar *b = &dev->bars[index];

    if (b->upper) {
        struct pci_bar *lo = &dev->bars[index - 1];
        lo->addr = ((lo->addr & UINT32_MAX) | (uint64_t)val << 32) & ~(lo->size - 1);
        return;
    }
    if (!b->size) {
        return;
    }
    b->addr = ((b->addr & ~(uint64_t)UINT32_MAX) | (val & BAR_ADDR_LO_MASK)) & ~(b->size - 1);
}

/* Whether [@addr, @addr + @size) lies wholly inside window [@base, @base + @wsize). */
static bool inside(uint64_t addr, uint64_t size, uint64_t base, uint64_t wsize)
{
    return wsize && addr >= base && addr - base <= wsize - 1 &&
           size - 1 <= wsize - 1 - (addr - base);
}

/* [@addr, @addr + @size) lies wholly inside one of the host's windows. */
static bool in_windows(const pci_host_t *host, uint64_t addr, uint64_t size)
{
    if (addr + (size - 1) < addr) {
        return false;
    }
    return inside(addr, size, host->cfg.mmio32_base, host->cfg.mmio32_size) ||
           inside(addr, size, host->cfg.mmio64_base, host->cfg.mmio64_size);
}

/* Whether BAR @b should decode now, at b->addr. */
static bool bar_wanted(const pci_device_t *dev, const struct pci_bar *b)
{
    return b->size && (pci_cfg_get16(dev, PCI_CFG_COMMAND) & PCI_COMMAND_MEMORY) && b->addr;
}

/* Stop BAR @b decoding: free its reservation and tell the owner. */
static void bar_unmap(pci_device_t *dev, struct pci_bar *b)
{
    if (!b->res) {
        return;
    }
    vm_free_reserved_memory(dev->host->vm, b->res);
    b->res = NULL;
    if (dev->ops && dev->ops->bar_map) {
        dev->ops->bar_map(dev, b->index, false, b->mapped_addr);
    }
}

/* Serve one access at @offset of BAR @bar: MSI-X structures here, the rest by the owner. */
static void bar_dispatch(pci_device_t *dev, unsigned int bar, uint64_t offset, unsigned int len,
                         bool is_write, uint64_t *val)
{
    const struct pci_bar *b = &dev->bars[bar];

    if (b->hva && !(is_write && b->read_only)) {
        /* Memory: little-endian host, as the guest sees it through the mapping. */
        if (is_write) {
            memcpy((uint8_t *)b->hva + offset, val, len);
        } else {
            memcpy(val, (const uint8_t *)b->hva + offset, len);
        }
        return;
    }
    if (pci_msix_bar_access(dev, bar, offset, len, is_write, val)) {
        return;
    }
    if (is_write) {
        if (dev->ops && dev->ops->bar_write) {
            dev->ops->bar_write(dev, bar, offset, len, *val);
        }
    } else if (dev->ops && dev->ops->bar_read) {
        dev->ops->bar_read(dev, bar, offset, len, val);
    }
}

/*
 * A guest access to a decoding BAR.  The core looked the reservation up
 * before this vCPU took the device lock; if the guest moved the BAR in
 * between, the access is looked up again where the address now decodes.
 */
static memory_fault_result_t bar_fault(vm_t *vm, vm_vcpu_t *vcpu, uintptr_t addr, size_t len,
                                       void *cookie)
{
    struct pci_bar *b = cookie;
    pci_device_t *dev = b->dev;
    uint64_t val = 0, off;

    pthread_mutex_lock(dev->lock);
    if (!b->res || addr < b->mapped_addr || len > b->size ||
        addr - b->mapped_addr > b->size - len) {
        pthread_mutex_unlock(dev->lock);
        pci_host_report(dev->host, PCI_E_BAR_STALE,
                        "%s: BAR%u access at %#lx raced with a BAR move; looked up again",
                        dev->name, b->index, (unsigned long)addr);
        return FAULT_RESTART;
    }
    off = addr - b->mapped_addr;
    if (is_vcpu_read_fault(vcpu)) {
        bar_dispatch(dev, b->index, off, (unsigned int)len, false, &val);
        set_vcpu_fault_data(vcpu, val);
    } else {
        val = get_vcpu_fault_data(vcpu);
        bar_dispatch(dev, b->index, off, (unsigned int)len, true, &val);
    }
    pthread_mutex_unlock(dev->lock);
    return FAULT_HANDLED;
}

/* Map iterator of a memory-backed BAR: the owner's memory (@cookie is the BAR). */
static int bar_backing(uintptr_t addr, size_t size, vm_memory_backing_t *backing, void *cookie)
{
    const struct pci_bar *b = cookie;

    backing->hva = b->hva;
    backing->readonly = b->read_only;
    return 0;
}

/*
 * Make BAR @b decode at b->addr: a trapped reservation there (mapped for a
 * memory-backed BAR), if the address is inside a window and free;
 * otherwise counted and left off.
 */
static void bar_map(pci_device_t *dev, struct pci_bar *b)
{
    pci_host_t *host = dev->host;
    vm_memory_reservation_t *res;

    if (!in_windows(host, b->addr, b->size)) {
        pci_host_report(host, PCI_E_BAR_PLACEMENT,
                        "%s: BAR%u at %#lx (%#lx bytes) is outside the host bridge's windows; "
                        "it does not decode",
                        dev->name, b->index, (unsigned long)b->addr, (unsigned long)b->size);
        return;
    }
    res = vm_reserve_memory_at(host->vm, b->addr, b->size, bar_fault, b);
    if (!res) {
        pci_host_report(host, PCI_E_BAR_PLACEMENT,
                        "%s: BAR%u at %#lx (%#lx bytes) overlaps another reservation (%s); "
                        "it does not decode",
                        dev->name, b->index, (unsigned long)b->addr, (unsigned long)b->size,
                        strerror(errno));
        return;
    }
    if (b->hva) {
        int rc = vm_map_reservation(host->vm, res, bar_backing, b);
        if (rc < 0) {
            vm_free_reserved_memory(host->vm, res);
            pci_host_report(host, PCI_E_BAR_MAP,
                            "%s: BAR%u at %#lx (%#lx bytes): cannot map its memory (%s); "
                            "it does not decode",
                            dev->name, b->index, (unsigned long)b->addr, (unsigned long)b->size,
                            strerror(-rc));
            return;
        }
    }
    b->res = res;
    b->mapped_addr = b->addr;
    if (dev->ops && dev->ops->bar_map) {
        dev->ops->bar_map(dev, b->index, true, b->addr);
    }
}

void pci_bars_update(pci_device_t *dev)
{
    if (!dev->host) {
        return;
    }
    /* First free what changed, so BARs of this device may trade places. */
    for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
        struct pci_bar *b = &dev->bars[i];
        if (b->res && !(bar_wanted(dev, b) && b->mapped_addr == b->addr)) {
            bar_unmap(dev, b);
        }
    }
    for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
        struct pci_bar *b = &dev->bars[i];
        if (!b->res && bar_wanted(dev, b)) {
            bar_map(dev, b);
        }
    }
}

void pci_bars_unmap(pci_device_t *dev)
{
    if (!dev->host) {
        return;
    }
    for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
        bar_unmap(dev, &dev->bars[i]);
    }
}

/* Next @size-aligned address at or above @next that fits in window [@base, @base + @wsize). */
static int place_in(uint64_t *next, uint64_t size, uint64_t base, uint64_t wsize, uint64_t *out)
{
    uint64_t a = (*next + size - 1) & ~(size - 1);

    if (a < *next || !inside(a, size, base, wsize)) {
        return -ENOSPC;
    }
    *out = a;
    *next = a + size;
    return 0;
}

int pci_bars_place(pci_host_t *host, pci_device_t *dev)
{
    uint64_t next32 = host->next32, next64 = host->next64, at[PCI_NUM_BARS] = {0};
    const pci_host_config_t *c = &host->cfg;

    for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
        const struct pci_bar *b = &dev->bars[i];
        int rc;

        if (!b->size) {
            continue;
        }
        if ((b->flags & PCI_BAR_F_64BIT) && c->mmio64_size) {
            rc = place_in(&next64, b->size, c->mmio64_base, c->mmio64_size, &at[i]);
        } else {
            rc = place_in(&next32, b->size, c->mmio32_base, c->mmio32_size, &at[i]);
        }
        if (rc < 0) {
            LOG_ERR("%s: no room for BAR%u (%#lx bytes) in the PCI host's windows", dev->name, i,
                    (unsigned long)b->size);
            return rc;
        }
    }
    for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
        dev->bars[i].placed = dev->bars[i].addr = at[i];
    }
    host->next32 = next32;
    host->next64 = next64;
    return 0;
}

int pci_device_bar_access(pci_device_t *dev, unsigned int bar, uint64_t offset, unsigned int len,
                          bool is_write, uint64_t *val)
{
    if (!dev || !val || bar >= PCI_NUM_BARS || !dev->bars[bar].size ||
        (len != 1 && len != 2 && len != 4 && len != 8) || offset > dev->bars[bar].size - len) {
        if (val && !is_write) {
            *val = 0;
        }
        return -EINVAL;
    }
    if (!is_write) {
        *val = 0;
    }
    bar_dispatch(dev, bar, offset, len, is_write, val);
    return 0;
}

bool pci_device_bar_mapped(const pci_device_t *dev, unsigned int bar, uint64_t *addr)
{
    if (!dev || bar >= PCI_NUM_BARS || !dev->bars[bar].res) {
        return false;
    }
    if (addr) {
        *addr = dev->bars[bar].mapped_addr;
    }
    return true;
}

uint64_t pci_device_bar_size(const pci_device_t *dev, unsigned int bar)
{
    return dev && bar < PCI_NUM_BARS ? dev->bars[bar].size : 0;
}

uint16_t pci_device_command(const pci_device_t *dev)
{
    return dev ? pci_cfg_get16(dev, PCI_CFG_COMMAND) : 0;
}
