/*
 * host.c - the PCI host bridge: the ECAM configuration window, the slot
 * table of bus 0, BAR placement in the memory windows, and the four
 * shared legacy interrupt lines.
 *
 * ECAM (PCIe Base Specification 4.0, 7.2.2, Table 7-1): the window's
 * offset encodes bus (bits 27:20), device (19:15), function (14:12) and
 * register (11:0).  Configuration requests are at most a DWORD and never
 * cross one (7.2.2.1), so an access of another width, or a misaligned one,
 * is malformed: it reads all-ones, is dropped and counted.  A request to
 * a function that is not there completes as Unsupported Request, which the
 * root complex returns to the CPU as all-ones (PCI 3.0 6.1: "returning all
 * 1's on read accesses to Configuration Space registers of non-existent
 * devices") - that is how the guest enumerates.
 *
 * Legacy interrupts: pin P of the device in slot S drives line
 * (S + P - 1) mod 4, the swizzle of the PCI-to-PCI Bridge Architecture
 * Specification 1.2, 9.1 (Table 9-1), which the device tree's
 * interrupt-map spells out for the guest.  Several devices share each
 * line: the host keeps which slots assert it and drives the line with the
 * OR (PCI 3.0 2.2.6: INTx# are wire-ORed, level-sensitive, active low).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vmmkit/guest_memory.h>
#include <vmmkit/irq.h>

#include "pci/pci_priv.h"

#define ECAM_BUS_SHIFT 20
#define ECAM_DEVFN_SHIFT 12
#define ECAM_REG_MASK 0xfffu
#define FOUR_GIB (1ull << 32)

static const char *const error_names[PCI_E_COUNT] = {
    [PCI_E_CONFIG_ACCESS] = "config-access",
    [PCI_E_BAR_PLACEMENT] = "bar-placement",
    [PCI_E_BAR_STALE] = "bar-stale",
    [PCI_E_MSIX_ACCESS] = "msix-access",
    [PCI_E_MSIX_VECTOR] = "msix-vector",
    [PCI_E_MSI_DELIVERY] = "msi-delivery",
    [PCI_E_BAR_MAP] = "bar-map",
};

const char *pci_error_name(pci_error_t err)
{
    return (unsigned int)err < PCI_E_COUNT ? error_names[err] : "unknown";
}

void pci_host_report(pci_host_t *host, pci_error_t err, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    if (!host || (unsigned int)err >= PCI_E_COUNT) {
        return;
    }
    __atomic_fetch_add(&host->errors[err], 1, __ATOMIC_RELAXED);
    if (!vmm_log_enabled(VMM_LOG_WARN)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    LOG_WARN_RL(&host->rl, "%s: pci: %s (%s)", vm_name(host->vm), msg, pci_error_name(err));
}

uint64_t pci_host_error_count(const pci_host_t *host, pci_error_t err)
{
    if (!host || (unsigned int)err >= PCI_E_COUNT) {
        return 0;
    }
    return __atomic_load_n(&host->errors[err], __ATOMIC_RELAXED);
}

/* [@base, @base + @size) is non-empty, does not wrap, and is page aligned. */
static bool window_ok(uint64_t base, uint64_t size)
{
    return size && base + (size - 1) >= base && !((base | size) & (PCI_BAR_MIN_SIZE - 1));
}

/* Two non-empty ranges share a byte (sizes 0 never overlap). */
static bool windows_overlap(uint64_t a, uint64_t asize, uint64_t b, uint64_t bsize)
{
    return asize && bsize && a <= b + (bsize - 1) && b <= a + (asize - 1);
}

/*
 * The layout's rules (see pci_host_create).  Returns NULL, or what is
 * wrong and what would be right, for the log line.
 */
static const char *check_config(const pci_host_config_t *c, uint64_t ecam_size)
{
    if (c->nr_buses > 256) {
        return "nr_buses is over 256";
    }
    if ((c->ecam_base & (PCI_ECAM_BUS_SIZE - 1)) || c->ecam_base + (ecam_size - 1) < c->ecam_base) {
        return "ecam_base must be 1 MiB aligned and the window must not wrap";
    }
    if (!c->mmio32_size && !c->mmio64_size) {
        return "there is no memory window: set mmio32_size or mmio64_size";
    }
    if (c->mmio32_size && !window_ok(c->mmio32_base, c->mmio32_size)) {
        return "mmio32 must be page aligned and not wrap";
    }
    if (c->mmio32_size && c->mmio32_base + (c->mmio32_size - 1) >= FOUR_GIB) {
        return "mmio32 must end below 4 GiB";
    }
    if (c->mmio64_size && !window_ok(c->mmio64_base, c->mmio64_size)) {
        return "mmio64 must be page aligned and not wrap";
    }
    if (windows_overlap(c->ecam_base, ecam_size, c->mmio32_base, c->mmio32_size) ||
        windows_overlap(c->ecam_base, ecam_size, c->mmio64_base, c->mmio64_size)) {
        return "a memory window overlaps the ECAM window";
    }
    if (windows_overlap(c->mmio32_base, c->mmio32_size, c->mmio64_base, c->mmio64_size)) {
        return "mmio32 and mmio64 overlap";
    }
    return NULL;
}

/* The ECAM window's fault callback: decode bus/devfn/register (PCIe 7.2.2). */
static memory_fault_result_t ecam_fault(vm_t *vm, vm_vcpu_t *vcpu, uintptr_t addr, size_t len,
                                        void *cookie)
{
    pci_host_t *host = cookie;
    uint64_t off = addr - host->cfg.ecam_base;
    unsigned int bus = (unsigned int)(off >> ECAM_BUS_SHIFT);
    unsigned int devfn = (unsigned int)(off >> ECAM_DEVFN_SHIFT) & 0xffu;
    unsigned int reg = (unsigned int)off & ECAM_REG_MASK;

    if (is_vcpu_read_fault(vcpu)) {
        uint64_t v = pci_host_config_read(host, bus, devfn, reg, (unsigned int)len);
        if (len == 8) {
            v = UINT64_MAX; /* malformed: all-ones, counted by the read */
        }
        set_vcpu_fault_data(vcpu, v);
    } else {
        pci_host_config_write(host, bus, devfn, reg, (unsigned int)len,
                              (uint32_t)get_vcpu_fault_data(vcpu));
    }
    return FAULT_HANDLED;
}

int pci_host_create(vm_t *vm, const pci_host_config_t *cfg, pci_host_t **out)
{
    pci_host_t *host;
    uint64_t ecam_size;
    const char *why;
    int rc;

    if (!vm || !cfg || !out) {
        return -EINVAL;
    }
    ecam_size = (uint64_t)(cfg->nr_buses ? cfg->nr_buses : 1) << ECAM_BUS_SHIFT;
    why = check_config(cfg, ecam_size);
    if (why) {
        LOG_ERR("%s: PCI host (ECAM %#lx, %u buses; mmio32 %#lx+%#lx; mmio64 %#lx+%#lx): %s",
                vm_name(vm), (unsigned long)cfg->ecam_base, cfg->nr_buses,
                (unsigned long)cfg->mmio32_base, (unsigned long)cfg->mmio32_size,
                (unsigned long)cfg->mmio64_base, (unsigned long)cfg->mmio64_size, why);
        return -EINVAL;
    }
    host = calloc(1, sizeof(*host));
    if (!host) {
        return -ENOMEM;
    }
    host->vm = vm;
    host->cfg = *cfg;
    host->cfg.nr_buses = cfg->nr_buses ? cfg->nr_buses : 1;
    host->ecam_size = ecam_size;
    host->next32 = cfg->mmio32_base;
    host->next64 = cfg->mmio64_base;
    pthread_mutex_init(&host->intx_lock, NULL);
    vmm_ratelimit_init(&host->rl, 5000, 10);
    host->ecam = vm_reserve_memory_at(vm, cfg->ecam_base, ecam_size, ecam_fault, host);
    if (!host->ecam) {
        rc = -errno;
        LOG_ERR("%s: PCI host: cannot reserve the ECAM window %#lx+%#lx: %s", vm_name(vm),
                (unsigned long)cfg->ecam_base, (unsigned long)ecam_size, strerror(errno));
        pthread_mutex_destroy(&host->intx_lock);
        free(host);
        return rc;
    }
    *out = host;
    return 0;
}

void pci_host_destroy(pci_host_t *host)
{
    if (!host) {
        return;
    }
    for (unsigned int s = 0; s < PCI_MAX_SLOTS; s++) {
        pci_device_t *dev = host->slots[s];
        if (!dev) {
            continue;
        }
        pthread_mutex_lock(dev->lock);
        pci_bars_unmap(dev);
        pthread_mutex_unlock(dev->lock);
        host->slots[s] = NULL;
        pci_device_destroy(dev);
    }
    if (host->ecam) {
        vm_free_reserved_memory(host->vm, host->ecam);
    }
    pthread_mutex_destroy(&host->intx_lock);
    free(host);
}

void pci_host_reset(pci_host_t *host)
{
    if (!host) {
        return;
    }
    for (unsigned int s = 0; s < PCI_MAX_SLOTS; s++) {
        pci_device_t *dev = host->slots[s];
        if (!dev) {
            continue;
        }
        pthread_mutex_lock(dev->lock);
        pci_dev_reset(dev);
        if (dev->ops && dev->ops->reset) {
            dev->ops->reset(dev);
        }
        pthread_mutex_unlock(dev->lock);
    }
}

int pci_host_register(pci_host_t *host, pci_device_t *dev, int slot)
{
    int rc;

    if (!host || !dev || dev->host || slot >= (int)PCI_MAX_SLOTS) {
        return -EINVAL;
    }
    if (slot < 0) {
        for (slot = 0; slot < (int)PCI_MAX_SLOTS && host->slots[slot]; slot++) {
        }
        if (slot == (int)PCI_MAX_SLOTS) {
            return -ENOSPC;
        }
    } else if (host->slots[slot]) {
        return -EBUSY;
    }
    rc = pci_bars_place(host, dev);
    if (rc < 0) {
        return rc;
    }
    pthread_mutex_lock(dev->lock);
    dev->host = host;
    dev->slot = slot;
    memcpy(dev->cfg_reset, dev->cfg, sizeof(dev->cfg));
    pthread_mutex_unlock(dev->lock);
    host->slots[slot] = dev;
    return slot;
}

const pci_host_config_t *pci_host_get_config(const pci_host_t *host)
{
    return host ? &host->cfg : NULL;
}

uint64_t pci_host_ecam_size(const pci_host_t *host)
{
    return host ? host->ecam_size : 0;
}

/* Line index of slot @slot's pin @pin (1..4): PCI-to-PCI Bridge spec 1.2, 9.1. */
static unsigned int swizzle(unsigned int slot, unsigned int pin)
{
    return (slot + pin - 1) % PCI_NUM_PINS;
}

uint32_t pci_host_intx_irq(const pci_host_t *host, unsigned int slot, unsigned int pin)
{
    if (!host || slot >= PCI_MAX_SLOTS || pin < 1 || pin > PCI_NUM_PINS) {
        return 0;
    }
    return host->cfg.intx_irq[swizzle(slot, pin)];
}

size_t pci_host_irq_map(const pci_host_t *host, pci_irq_route_t *out, size_t max)
{
    size_t n = 0;

    if (!host) {
        return 0;
    }
    for (unsigned int s = 0; s < PCI_MAX_SLOTS; s++) {
        if (!host->slots[s]) {
            continue;
        }
        for (unsigned int pin = 1; pin <= PCI_NUM_PINS; pin++, n++) {
            if (out && n < max) {
                out[n] = (pci_irq_route_t){
                    .devfn = s << 3, .pin = pin, .irq = pci_host_intx_irq(host, s, pin)};
            }
        }
    }
    return n;
}

pci_device_t *pci_host_device(pci_host_t *host, unsigned int slot)
{
    return host && slot < PCI_MAX_SLOTS ? host->slots[slot] : NULL;
}

/* The function a well-formed request reaches, or NULL (reads all-ones). */
static pci_device_t *lookup(pci_host_t *host, unsigned int bus, unsigned int devfn)
{
    if (bus != 0 || devfn > 0xff || (devfn & 7u)) {
        return NULL; /* only bus 0, only function 0 of each slot */
    }
    return host->slots[devfn >> 3];
}

static bool access_ok(pci_host_t *host, unsigned int bus, unsigned int devfn, unsigned int reg,
                      unsigned int len, bool is_write)
{
    if ((len == 1 || len == 2 || len == 4) && !(reg & (len - 1)) && reg < PCI_ECAM_FN_SIZE) {
        return true;
    }
    pci_host_report(host, PCI_E_CONFIG_ACCESS,
                    "config %s of %u bytes at %02x:%02x.%u register %#x is not an aligned 1, 2 "
                    "or 4-byte access; %s",
                    is_write ? "write" : "read", len, bus & 0xffu, (devfn >> 3) & 0x1fu, devfn & 7u,
                    reg, is_write ? "dropped" : "reads all-ones");
    return false;
}

uint32_t pci_host_config_read(pci_host_t *host, unsigned int bus, unsigned int devfn,
                              unsigned int reg, unsigned int len)
{
    pci_device_t *dev;
    uint32_t v;

    if (!host || !access_ok(host, bus, devfn, reg, len, false)) {
        return UINT32_MAX;
    }
    dev = lookup(host, bus, devfn);
    if (!dev) {
        return len == 4 ? UINT32_MAX : (1u << (8 * len)) - 1;
    }
    pthread_mutex_lock(dev->lock);
    v = pci_dev_config_read(dev, reg, len);
    pthread_mutex_unlock(dev->lock);
    return v;
}

void pci_host_config_write(pci_host_t *host, unsigned int bus, unsigned int devfn, unsigned int reg,
                           unsigned int len, uint32_t val)
{
    pci_device_t *dev;

    if (!host || !access_ok(host, bus, devfn, reg, len, true)) {
        return;
    }
    dev = lookup(host, bus, devfn);
    if (!dev) {
        return;
    }
    pthread_mutex_lock(dev->lock);
    pci_dev_config_write(dev, reg, len, val);
    pthread_mutex_unlock(dev->lock);
}

void pci_intx_update(pci_device_t *dev)
{
    pci_host_t *host = dev->host;
    unsigned int line;
    bool out, before, after;

    out = dev->intx_pin && dev->intx_level &&
          !(pci_cfg_get16(dev, PCI_CFG_COMMAND) & PCI_COMMAND_INTX_DISABLE) &&
          !pci_msix_enabled(dev);
    if (!host || out == dev->intx_out) {
        return;
    }
    dev->intx_out = out;
    line = swizzle((unsigned int)dev->slot, dev->intx_pin);
    pthread_mutex_lock(&host->intx_lock);
    before = host->intx_asserted[line] != 0;
    if (out) {
        host->intx_asserted[line] |= 1u << dev->slot;
    } else {
        host->intx_asserted[line] &= ~(1u << dev->slot);
    }
    after = host->intx_asserted[line] != 0;
    if (before != after) {
        int rc = vm_irq_set_level(host->vm, host->cfg.intx_irq[line], after);
        if (rc < 0) {
            LOG_WARN_RL(&host->rl, "%s: pci: driving legacy line %u (irq %u) to %d: error %d",
                        vm_name(host->vm), line, host->cfg.intx_irq[line], after, rc);
        }
    }
    pthread_mutex_unlock(&host->intx_lock);
}
