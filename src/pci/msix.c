/*
 * msix.c - MSI-X: the capability, the vector table and pending-bit array
 * inside a BAR, masking, and delivery with vm_irq_msi_devid().
 *
 * "PCI 3.0" is the PCI Local Bus Specification 3.0, 6.8.2 "MSI-X
 * Capability and Table Structure": the capability (6.8.2.1-6.8.2.5:
 * Message Control with Table Size, Function Mask and MSI-X Enable; the
 * Table and PBA offset/BIR registers), table entries of 16 bytes (6.8.2.6-
 * 6.8.2.9: message address, upper address, data, vector control with its
 * Mask bit), the Pending Bit Array (6.8.2.10), and the access rules of
 * 6.8.2 ("aligned full DWORD or aligned full QWORD transactions"; anything
 * else is undefined, so it is dropped and counted here).
 *
 * A vector the device signals while it may not send (the function or the
 * vector masked, or Bus Master Enable clear, 6.2.2) sets its pending bit;
 * the message goes out, and the bit clears, as soon as it may.  At reset
 * every vector is masked (6.8.2.9) and MSI-X is disabled.
 *
 * The requester ID (bus 0, so the devfn) goes with each message: it is the
 * device ID a GIC ITS translates with (the host bridge's msi-map is the
 * identity).
 */
#include <errno.h>
#include <stdlib.h>

#include <vmmkit/irq.h>

#include "pci/pci_priv.h"

#define MSIX_ADDR_LO_MASK 0xfffffffcu /* bits 1:0 read-only zero (6.8.2.6) */

static uint32_t table_bytes(const struct pci_msix *m)
{
    return m->nr * PCI_MSIX_ENTRY_SIZE;
}

/* Size of the PBA: one bit a vector, in whole QWORDs (6.8.2.10). */
static uint32_t pba_bytes(const struct pci_msix *m)
{
    return (m->nr + 63u) / 64u * 8u;
}

/* [@a, @a + @alen) and [@b, @b + @blen) overlap. */
static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

int pci_device_add_msix(pci_device_t *dev, unsigned int nr_vectors, unsigned int bar,
                        uint32_t table_offset, uint32_t pba_offset)
{
    struct pci_msix m = {
        .nr = nr_vectors, .bar = bar, .table_off = table_offset, .pba_off = pba_offset};
    uint8_t body[PCI_MSIX_CAP_SIZE - 2] = {0}, wmask[PCI_MSIX_CAP_SIZE - 2] = {0};
    uint64_t bar_size;
    int off;

    if (!dev || nr_vectors < 1 || nr_vectors > PCI_MSIX_MAX_VECTORS || bar >= PCI_NUM_BARS) {
        return -EINVAL;
    }
    if (dev->host) {
        return -EBUSY;
    }
    bar_size = dev->bars[bar].size;
    if (dev->msix.nr || !bar_size || dev->bars[bar].hva || (table_offset | pba_offset) & 7u ||
        table_offset > bar_size || table_bytes(&m) > bar_size - table_offset ||
        pba_offset > bar_size || pba_bytes(&m) > bar_size - pba_offset ||
        overlaps(table_offset, table_bytes(&m), pba_offset, pba_bytes(&m))) {
        return -EINVAL;
    }
    /* Message Control: Table Size is N - 1, read-only; bits 15:14 writable (6.8.2.3). */
    pci_cfg_set16(body, PCI_MSIX_CTRL - 2, (uint16_t)(nr_vectors - 1));
    pci_cfg_set16(wmask, PCI_MSIX_CTRL - 2, PCI_MSIX_CTRL_ENABLE | PCI_MSIX_CTRL_MASKALL);
    /* Table and PBA offset with the BAR indicator in bits 2:0 (6.8.2.4, 6.8.2.5). */
    pci_cfg_set32(body, PCI_MSIX_TABLE - 2, table_offset | bar);
    pci_cfg_set32(body, PCI_MSIX_PBA - 2, pba_offset | bar);

    m.table = calloc(nr_vectors, sizeof(*m.table));
    m.pba = calloc(pba_bytes(&m) / 8u, sizeof(*m.pba));
    if (!m.table || !m.pba) {
        free(m.table);
        free(m.pba);
        return -ENOMEM;
    }
    off = pci_device_add_capability(dev, PCI_CAP_ID_MSIX, body, sizeof(body), wmask);
    if (off < 0) {
        free(m.table);
        free(m.pba);
        return off;
    }
    m.cap = (uint8_t)off;
    dev->msix = m;
    pci_msix_reset(dev);
    return off;
}

void pci_msix_free(pci_device_t *dev)
{
    free(dev->msix.table);
    free(dev->msix.pba);
    dev->msix.table = NULL;
    dev->msix.pba = NULL;
    dev->msix.nr = 0;
}

void pci_msix_reset(pci_device_t *dev)
{
    struct pci_msix *m = &dev->msix;

    for (unsigned int i = 0; i < m->nr; i++) {
        m->table[i] = (struct pci_msix_entry){.ctrl = PCI_MSIX_ENTRY_CTRL_MASK};
    }
    for (unsigned int i = 0; i < pba_bytes(m) / 8u; i++) {
        m->pba[i] = 0;
    }
}

/* Message Control as the guest last wrote it (the config image holds it). */
static uint16_t msix_ctrl(const pci_device_t *dev)
{
    return pci_cfg_get16(dev, dev->msix.cap + PCI_MSIX_CTRL);
}

bool pci_msix_enabled(const pci_device_t *dev)
{
    return dev->msix.nr && (msix_ctrl(dev) & PCI_MSIX_CTRL_ENABLE);
}

/* Vector @v may be sent now (6.8.2.3 Function Mask, 6.8.2.9 Mask, 6.2.2 Bus Master). */
static bool may_send(const pci_device_t *dev, unsigned int v)
{
    uint16_t ctrl = msix_ctrl(dev);

    return (ctrl & PCI_MSIX_CTRL_ENABLE) && !(ctrl & PCI_MSIX_CTRL_MASKALL) &&
           !(dev->msix.table[v].ctrl & PCI_MSIX_ENTRY_CTRL_MASK) &&
           (pci_cfg_get16(dev, PCI_CFG_COMMAND) & PCI_COMMAND_MASTER);
}

/* Deliver vector @v's message now, with the requester ID. */
static pci_msix_result_t send(pci_device_t *dev, unsigned int v)
{
    const struct pci_msix_entry *e = &dev->msix.table[v];
    uint64_t addr = (uint64_t)e->addr_hi << 32 | e->addr_lo;
    int rc = vm_irq_msi_devid(dev->host->vm, addr, e->data, (uint32_t)pci_device_devfn(dev));

    if (rc < 0) {
        pci_host_report(dev->host, PCI_E_MSI_DELIVERY,
                        "%s: MSI-X vector %u (address %#lx, data %#x) not delivered: error %d",
                        dev->name, v, (unsigned long)addr, e->data, rc);
        return PCI_MSIX_FAILED;
    }
    return PCI_MSIX_DELIVERED;
}

pci_msix_result_t pci_device_msix_notify(pci_device_t *dev, unsigned int vector)
{
    if (!dev || !dev->host) {
        return PCI_MSIX_NO_VECTOR;
    }
    if (vector >= dev->msix.nr) {
        pci_host_report(dev->host, PCI_E_MSIX_VECTOR, "%s: MSI-X vector %u of %u signalled",
                        dev->name, vector, dev->msix.nr);
        return PCI_MSIX_NO_VECTOR;
    }
    if (!pci_msix_enabled(dev)) {
        return PCI_MSIX_DISABLED;
    }
    if (!may_send(dev, vector)) {
        dev->msix.pba[vector / 64] |= 1ull << (vector % 64);
        return PCI_MSIX_PENDING;
    }
    return send(dev, vector);
}

void pci_msix_flush_pending(pci_device_t *dev)
{
    struct pci_msix *m = &dev->msix;

    if (!dev->host || !pci_msix_enabled(dev)) {
        return;
    }
    for (unsigned int w = 0; w < pba_bytes(m) / 8u; w++) {
        uint64_t bits = m->pba[w];
        while (bits) {
            unsigned int v = w * 64u + (unsigned int)__builtin_ctzll(bits);
            bits &= bits - 1;
            if (may_send(dev, v)) {
                m->pba[w] &= ~(1ull << (v % 64));
                send(dev, v);
            }
        }
    }
}

/* The table DWORD at byte @rel (entry rel / 16, field rel % 16). */
static uint32_t table_read32(const struct pci_msix *m, uint32_t rel)
{
    const struct pci_msix_entry *e = &m->table[rel / PCI_MSIX_ENTRY_SIZE];

    switch (rel % PCI_MSIX_ENTRY_SIZE) {
    case PCI_MSIX_ENTRY_ADDR_LO:
        return e->addr_lo;
    case PCI_MSIX_ENTRY_ADDR_HI:
        return e->addr_hi;
    case PCI_MSIX_ENTRY_DATA:
        return e->data;
    default:
        return e->ctrl;
    }
}

/* Write the table DWORD at byte @rel; unmasking sends what is pending. */
static void table_write32(pci_device_t *dev, uint32_t rel, uint32_t val)
{
    struct pci_msix_entry *e = &dev->msix.table[rel / PCI_MSIX_ENTRY_SIZE];

    switch (rel % PCI_MSIX_ENTRY_SIZE) {
    case PCI_MSIX_ENTRY_ADDR_LO:
        e->addr_lo = val & MSIX_ADDR_LO_MASK;
        break;
    case PCI_MSIX_ENTRY_ADDR_HI:
        e->addr_hi = val;
        break;
    case PCI_MSIX_ENTRY_DATA:
        e->data = val;
        break;
    default:
        /* Only the Mask bit is defined; the rest is reserved (6.8.2.9). */
        e->ctrl = val & PCI_MSIX_ENTRY_CTRL_MASK;
        if (!e->ctrl) {
            pci_msix_flush_pending(dev);
        }
        break;
    }
}

bool pci_msix_bar_access(pci_device_t *dev, unsigned int bar, uint64_t offset, unsigned int len,
                         bool is_write, uint64_t *val)
{
    struct pci_msix *m = &dev->msix;
    bool in_table, in_pba, good;

    if (!m->nr || bar != m->bar) {
        return false;
    }
    in_table = overlaps(offset, len, m->table_off, table_bytes(m));
    in_pba = overlaps(offset, len, m->pba_off, pba_bytes(m));
    if (!in_table && !in_pba) {
        return false;
    }
    /* Aligned DWORD or QWORD, wholly inside one structure (6.8.2). */
    good = (len == 4 || len == 8) && !(offset & (len - 1)) &&
           ((in_table && offset >= m->table_off &&
             offset + len <= (uint64_t)m->table_off + table_bytes(m)) ||
            (in_pba && !is_write && offset >= m->pba_off &&
             offset + len <= (uint64_t)m->pba_off + pba_bytes(m)));
    if (!good) {
        pci_host_report(dev->host, PCI_E_MSIX_ACCESS,
                        "%s: MSI-X %s %s of %u bytes at BAR%u offset %#lx; %s", dev->name,
                        in_table ? "table" : "PBA", is_write ? "write" : "read", len, bar,
                        (unsigned long)offset, is_write ? "dropped" : "reads 0");
        if (!is_write) {
            *val = 0;
        }
        return true;
    }
    if (in_table) {
        uint32_t rel = (uint32_t)(offset - m->table_off);
        if (is_write) {
            table_write32(dev, rel, (uint32_t)*val);
            if (len == 8) {
                table_write32(dev, rel + 4, (uint32_t)(*val >> 32));
            }
        } else {
            *val = table_read32(m, rel);
            if (len == 8) {
                *val |= (uint64_t)table_read32(m, rel + 4) << 32;
            }
        }
        return true;
    }
    {
        uint32_t rel = (uint32_t)(offset - m->pba_off);
        uint64_t word = m->pba[rel / 8];
        *val = len == 8 ? word : (uint32_t)(word >> (8 * (rel % 8)));
    }
    return true;
}

unsigned int pci_device_msix_vectors(const pci_device_t *dev)
{
    return dev ? dev->msix.nr : 0;
}

bool pci_device_msix_enabled(const pci_device_t *dev)
{
    return dev && pci_msix_enabled(dev);
}
