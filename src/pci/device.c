/*
 * device.c - a PCI function's configuration space: the type-0 header, the
 * read-only / writable split of every byte, and the capability list.
 *
 * "PCI 3.0" is the PCI Local Bus Specification 3.0: 6.1 (the header
 * layout, Figure 6-1), 6.2 (the registers: 6.2.2 command, 6.2.3 status,
 * 6.2.4 miscellaneous, 6.2.5 BARs), 6.7 (capabilities list).
 *
 * The header lives in a 256-byte image with a byte-for-byte write mask, so
 * a write of any width touches only the bits the guest may change; BARs
 * are the exception, computed from their state in bar.c.  Side effects
 * (memory decode, INTx disable, MSI-X enable and function mask) are applied
 * after the image has been updated.  Bytes beyond 256 (PCIe extended space)
 * read 0, which says "no extended capabilities" (PCIe 4.0 7.9.1).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pci/pci_priv.h"

/* Writable header bits (PCI 3.0 6.2.2: the command bits we implement; 6.2.4). */
#define COMMAND_WMASK                                                                              \
    (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY | PCI_COMMAND_SERR |             \
     PCI_COMMAND_INTX_DISABLE)

/* An access of @len bytes at @reg touches [@start, @start + @size). */
static bool in_range(unsigned int reg, unsigned int len, unsigned int start, unsigned int size)
{
    return reg < start + size && start < reg + len;
}

pci_device_t *pci_device_create(const pci_device_info_t *info, const pci_device_ops_t *ops,
                                void *priv, pthread_mutex_t *lock)
{
    pci_device_t *dev;

    if (!info || info->intx_pin > PCI_NUM_PINS) {
        errno = EINVAL;
        return NULL;
    }
    dev = calloc(1, sizeof(*dev));
    if (!dev) {
        errno = ENOMEM;
        return NULL;
    }
    snprintf(dev->name, sizeof(dev->name), "%s", info->name ? info->name : "pci-device");
    dev->ops = ops;
    dev->priv = priv;
    pthread_mutex_init(&dev->own_lock, NULL);
    dev->lock = lock ? lock : &dev->own_lock;
    dev->intx_pin = info->intx_pin;
    dev->slot = -1;
    dev->cap_end = PCI_CFG_CAP_START;
    for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
        dev->bars[i].dev = dev;
        dev->bars[i].index = i;
    }

    /* Identity and class (6.2.1); header type 0, single function; no BIST. */
    pci_cfg_set16(dev->cfg, PCI_CFG_VENDOR_ID, info->vendor_id);
    pci_cfg_set16(dev->cfg, PCI_CFG_DEVICE_ID, info->device_id);
    dev->cfg[PCI_CFG_REVISION_ID] = info->revision;
    dev->cfg[PCI_CFG_CLASS_PROG] = (uint8_t)info->class_code;
    dev->cfg[PCI_CFG_CLASS_PROG + 1] = (uint8_t)(info->class_code >> 8);
    dev->cfg[PCI_CFG_CLASS_PROG + 2] = (uint8_t)(info->class_code >> 16);
    pci_cfg_set16(dev->cfg, PCI_CFG_SUBSYSTEM_VENDOR_ID, info->subsystem_vendor_id);
    pci_cfg_set16(dev->cfg, PCI_CFG_SUBSYSTEM_ID, info->subsystem_id);
    dev->cfg[PCI_CFG_INTERRUPT_PIN] = info->intx_pin;

    /* What the guest may write (6.2.2, 6.2.4); everything else is read-only. */
    pci_cfg_set16(dev->wmask, PCI_CFG_COMMAND, COMMAND_WMASK);
    dev->wmask[PCI_CFG_CACHE_LINE_SIZE] = 0xff;
    dev->wmask[PCI_CFG_INTERRUPT_LINE] = 0xff;
    return dev;
}

void pci_device_destroy(pci_device_t *dev)
{
    if (!dev) {
        return;
    }
    pci_msix_free(dev);
    if (dev->ops && dev->ops->release) {
        dev->ops->release(dev);
    }
    pthread_mutex_destroy(&dev->own_lock);
    free(dev);
}

int pci_device_add_capability(pci_device_t *dev, uint8_t id, const void *body, size_t len,
                              const void *wmask)
{
    unsigned int off;

    if (!dev || (len && !body)) {
        return -EINVAL;
    }
    if (dev->host) {
        return -EBUSY;
    }
    /* Capabilities are dword aligned; the pointer's low two bits are reserved (6.7). */
    off = (dev->cap_end + 3u) & ~3u;
    if (len > PCI_CFG_SIZE || off + 2u + len > PCI_CFG_SIZE) {
        return -ENOSPC;
    }
    dev->cfg[off] = id;
    dev->cfg[off + 1] = 0; /* end of the list */
    if (len) {
        memcpy(&dev->cfg[off + 2], body, len);
    }
    if (wmask && len) {
        memcpy(&dev->wmask[off + 2], wmask, len);
    }
    if (dev->cap_last) {
        dev->cfg[dev->cap_last + 1] = (uint8_t)off;
    } else {
        dev->cfg[PCI_CFG_CAP_PTR] = (uint8_t)off;
    }
    pci_cfg_set16(dev->cfg, PCI_CFG_STATUS,
                  pci_cfg_get16(dev, PCI_CFG_STATUS) | PCI_STATUS_CAP_LIST);
    dev->cap_last = (uint8_t)off;
    dev->cap_end = off + 2u + (unsigned int)len;
    return (int)off;
}

uint32_t pci_dev_config_read(pci_device_t *dev, unsigned int reg, unsigned int len)
{
    unsigned int dword = reg & ~3u, shift = 8 * (reg & 3u);
    uint32_t val = 0;

    if (reg >= PCI_CFG_SIZE) {
        return 0;
    }
    if (dword >= PCI_CFG_BAR0 && dword < PCI_CFG_BAR0 + 4 * PCI_NUM_BARS) {
        val = pci_bar_reg_read(dev, (dword - PCI_CFG_BAR0) / 4) >> shift;
    } else {
        for (unsigned int i = 0; i < len; i++) {
            val |= (uint32_t)dev->cfg[reg + i] << (8 * i);
        }
    }
    if (len < 4) {
        val &= (1u << (8 * len)) - 1;
    }
    if (dev->ops && dev->ops->config_read) {
        dev->ops->config_read(dev, reg, len, &val);
        if (len < 4) {
            val &= (1u << (8 * len)) - 1;
        }
    }
    return val;
}

void pci_dev_config_write(pci_device_t *dev, unsigned int reg, unsigned int len, uint32_t val)
{
    unsigned int dword = reg & ~3u, shift = 8 * (reg & 3u);

    if (reg >= PCI_CFG_SIZE) {
        return;
    }
    if (dword >= PCI_CFG_BAR0 && dword < PCI_CFG_BAR0 + 4 * PCI_NUM_BARS) {
        /* Merge the written bytes into the BAR register, then apply it whole. */
        unsigned int index = (dword - PCI_CFG_BAR0) / 4;
        uint32_t mask = (len < 4 ? (1u << (8 * len)) - 1 : UINT32_MAX) << shift;
        uint32_t old = pci_bar_reg_read(dev, index);

        pci_bar_reg_write(dev, index, (old & ~mask) | ((val << shift) & mask));
        pci_bars_update(dev);
    } else {
        for (unsigned int i = 0; i < len; i++) {
            uint8_t m = dev->wmask[reg + i], b = (uint8_t)(val >> (8 * i));
            dev->cfg[reg + i] = (uint8_t)((dev->cfg[reg + i] & ~m) | (b & m));
        }
        if (in_range(reg, len, PCI_CFG_COMMAND, 2)) {
            /* Memory decode, INTx disable and bus mastering (6.2.2). */
            pci_bars_update(dev);
            pci_intx_update(dev);
            pci_msix_flush_pending(dev);
        }
        if (dev->msix.nr && in_range(reg, len, dev->msix.cap + PCI_MSIX_CTRL, 2)) {
            /* MSI-X Enable and Function Mask (6.8.2.3). */
            pci_intx_update(dev);
            pci_msix_flush_pending(dev);
        }
    }
    if (dev->ops && dev->ops->config_write) {
        dev->ops->config_write(dev, reg, len, val);
    }
}

void pci_dev_reset(pci_device_t *dev)
{
    pci_bars_unmap(dev);
    memcpy(dev->cfg, dev->cfg_reset, sizeof(dev->cfg));
    for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
        dev->bars[i].addr = dev->bars[i].placed;
    }
    pci_msix_reset(dev);
    dev->intx_level = false;
    pci_intx_update(dev);
}

void pci_device_set_intx(pci_device_t *dev, int level)
{
    uint16_t status;

    if (!dev || !dev->intx_pin) {
        return;
    }
    dev->intx_level = level != 0;
    /* Interrupt Status reflects the device's interrupt whatever the disable bit (6.2.3). */
    status = pci_cfg_get16(dev, PCI_CFG_STATUS);
    status = dev->intx_level ? (status | PCI_STATUS_INTERRUPT) : (status & ~PCI_STATUS_INTERRUPT);
    pci_cfg_set16(dev->cfg, PCI_CFG_STATUS, status);
    pci_intx_update(dev);
}

void *pci_device_priv(const pci_device_t *dev)
{
    return dev ? dev->priv : NULL;
}

vm_t *pci_device_vm(const pci_device_t *dev)
{
    return dev && dev->host ? dev->host->vm : NULL;
}

pthread_mutex_t *pci_device_lock(pci_device_t *dev)
{
    return dev ? dev->lock : NULL;
}

const char *pci_device_name(const pci_device_t *dev)
{
    return dev ? dev->name : "";
}

int pci_device_devfn(const pci_device_t *dev)
{
    return dev && dev->slot >= 0 ? dev->slot << 3 : -1;
}
