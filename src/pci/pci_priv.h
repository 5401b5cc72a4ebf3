/*
 * pci_priv.h - the PCI core's private view of a host bridge and a device,
 * shared by host.c (ECAM, slots, windows, legacy lines), device.c (the
 * type-0 header and the capability list), bar.c (BAR registers, decoding,
 * BAR accesses) and msix.c (the MSI-X table, PBA and delivery).
 *
 * Locking (see also include/vmmkit/pci.h):
 *   *dev->lock       everything in struct pci_device after registration:
 *                    the config image, the BARs and their reservations, the
 *                    MSI-X table and PBA, the INTx state.
 *   host->intx_lock  intx_asserted[] and the calls that drive the lines;
 *                    taken inside a device lock, never the other way round.
 *   host->slots[]    written by pci_host_register() before vm_run(), read
 *                    without a lock afterwards.
 *   host->errors[]   relaxed atomics.
 */
#ifndef VMMKIT_PCI_PRIV_H
#define VMMKIT_PCI_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <vmmkit/guest_memory.h>
#include <vmmkit/log.h>
#include <vmmkit/pci.h>

/* One BAR register (a 64-bit BAR has its state in the lower one). */
struct pci_bar {
    pci_device_t *dev;
    unsigned int index;
    uint64_t size;                /* 0: absent (or the upper half of a 64-bit BAR) */
    unsigned int flags;           /* PCI_BAR_F_* */
    bool upper;                   /* the upper half of BAR index - 1 */
    uint64_t addr;                /* the address programmed, already masked to the size */
    uint64_t placed;              /* the VMM's placement: the reset value of @addr */
    vm_memory_reservation_t *res; /* non-NULL while the BAR decodes */
    uint64_t mapped_addr;         /* where @res is */
    void *hva;                    /* memory-backed (pci_device_set_bar_memory) or NULL */
    bool read_only;               /*   guest writes to @hva trap to the owner */
};

struct pci_msix_entry {
    uint32_t addr_lo, addr_hi, data, ctrl;
};

struct pci_msix {
    unsigned int nr; /* vectors; 0: no MSI-X */
    unsigned int bar;
    uint32_t table_off, pba_off;
    uint8_t cap; /* offset of the capability in config space */
    struct pci_msix_entry *table;
    uint64_t *pba; /* (nr + 63) / 64 words */
};

struct pci_device {
    char name[32];
    const pci_device_ops_t *ops;
    void *priv;
    pthread_mutex_t *lock;
    pthread_mutex_t own_lock;
    uint8_t intx_pin; /* 0..4 */

    pci_host_t *host; /* NULL until registered */
    int slot;         /* -1 until registered */

    uint8_t cfg[PCI_CFG_SIZE];       /* the configuration image (BARs excepted) */
    uint8_t wmask[PCI_CFG_SIZE];     /* bits the guest may write */
    uint8_t cfg_reset[PCI_CFG_SIZE]; /* the image at registration, for pci_host_reset */
    uint8_t cap_last;                /* offset of the last capability, 0 without */
    unsigned int cap_end;            /* first byte after it */

    struct pci_bar bars[PCI_NUM_BARS];
    struct pci_msix msix;

    bool intx_level; /* what the device wants */
    bool intx_out;   /* what it drives onto its line */
};

struct pci_host {
    vm_t *vm;
    pci_host_config_t cfg;
    uint64_t ecam_size;
    vm_memory_reservation_t *ecam;
    pci_device_t *slots[PCI_MAX_SLOTS];
    uint64_t next32, next64; /* placement: next free byte of each window */

    pthread_mutex_t intx_lock;
    uint32_t intx_asserted[PCI_NUM_PINS]; /* per line: bit n = slot n asserts it */

    uint64_t errors[PCI_E_COUNT];
    vmm_ratelimit_t rl;
};

/* Count @err against @host and log the formatted reason rate-limited (host.c). */
void pci_host_report(pci_host_t *host, pci_error_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Drive the device's pin from intx_level, the Interrupt Disable bit and MSI-X (host.c). */
void pci_intx_update(pci_device_t *dev);

/* Little-endian access to the configuration image. */
static inline uint16_t pci_cfg_get16(const pci_device_t *dev, unsigned int reg)
{
    return (uint16_t)(dev->cfg[reg] | dev->cfg[reg + 1] << 8);
}

static inline void pci_cfg_set16(uint8_t *img, unsigned int reg, uint16_t v)
{
    img[reg] = (uint8_t)v;
    img[reg + 1] = (uint8_t)(v >> 8);
}

static inline void pci_cfg_set32(uint8_t *img, unsigned int reg, uint32_t v)
{
    for (unsigned int i = 0; i < 4; i++) {
        img[reg + i] = (uint8_t)(v >> (8 * i));
    }
}

/* device.c: config space of one function, lock held; @reg < PCI_ECAM_FN_SIZE, @len 1/2/4. */
uint32_t pci_dev_config_read(pci_device_t *dev, unsigned int reg, unsigned int len);
void pci_dev_config_write(pci_device_t *dev, unsigned int reg, unsigned int len, uint32_t val);
/* device.c: back to the registration image, lock held. */
void pci_dev_reset(pci_device_t *dev);

/* bar.c: the BAR register at config offset 0x10 + 4 * @index. */
uint32_t pci_bar_reg_read(const pci_device_t *dev, unsigned int index);
void pci_bar_reg_write(pci_device_t *dev, unsigned int index, uint32_t val);
/* bar.c: make every BAR's reservation match the command register and the BAR registers. */
void pci_bars_update(pci_device_t *dev);
/* bar.c: stop decoding every BAR (reset, destroy). */
void pci_bars_unmap(pci_device_t *dev);
/* bar.c: place the BARs in the host's windows (registration). */
int pci_bars_place(pci_host_t *host, pci_device_t *dev);

/* msix.c: serve a BAR access if it touches the table or the PBA; false when it does not. */
bool pci_msix_bar_access(pci_device_t *dev, unsigned int bar, uint64_t offset, unsigned int len,
                         bool is_write, uint64_t *val);
/* msix.c: whether MSI-X is enabled / the function masked (from the capability). */
bool pci_msix_enabled(const pci_device_t *dev);
/* msix.c: send every pending vector that may go now (after an unmask, enable or BME). */
void pci_msix_flush_pending(pci_device_t *dev);
/* msix.c: every vector masked, nothing pending (reset and creation). */
void pci_msix_reset(pci_device_t *dev);
void pci_msix_free(pci_device_t *dev);

#endif
