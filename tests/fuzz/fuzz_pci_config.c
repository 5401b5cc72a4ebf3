/*
 * fuzz_pci_config.c - libFuzzer harness for the PCI host bridge and device
 * core (src/pci/) and the virtio-pci transport on top (src/virtio/pci.c),
 * with a dummy virtio device behind it.
 *
 * The input is a hostile guest: a sequence of 12-byte records, each
 *
 *   byte 0      kind (bits 0-2) and width (bits 3-4: 1, 2, 4 or 8 bytes)
 *   bytes 1-3   address or offset, little-endian
 *   bytes 4-11  value, little-endian
 *
 * kind 0/1: read / write of the ECAM window at offset % its size (2 buses),
 *           any width and alignment (malformed ones included);
 * kind 2/3: read / write at the address BAR 0 is programmed with, plus
 *           offset % (BAR size + 2 KiB): decoding or not, wherever the
 *           guest moved it;
 * kind 4/5: read / write inside a memory window (bit 23 of the offset picks
 *           the 64-bit one), so BARs moved anywhere in them are reached;
 * kind 6:   the driver writes 8 bytes of guest RAM (rings, descriptors);
 * kind 7:   a host-side event, value % 4: the device serves its queues
 *           (pops, answers, interrupts), changes its config, gives up
 *           (DEVICE_NEEDS_RESET), or the VM resets (pci_host_reset).
 *
 * Accesses go through the core's MMIO dispatch (vcpu_handle_exit) over the
 * fake backend, as the run loop delivers them; guest RAM is a heap buffer
 * mapped as a reservation, so AddressSanitizer reports any access outside
 * it.  After every record the harness checks what must hold whatever the
 * guest did: the read-only identity registers, every decoding BAR inside a
 * host window at its programmed address, INTx asserted only when the
 * function may assert it, every MSI from this function's requester ID,
 * and the virtio status machine's invariants.  Any violation aborts.
 * Build with -I src (fake_hv.h needs the core's private headers).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vmmkit/log.h>
#include <vmmkit/pci.h>
#include <vmmkit/virtio_pci.h>

#define FUZZ_NAME "fuzz_pci_config"
#include "fuzz_driver.h"

#define ECAM 0x30000000ull
#define NR_BUSES 2u
#define MMIO32 0x10000000ull
#define MMIO64 0x8000000000ull
#define WINDOW_SIZE 0x800000ull
#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x10000ull
#define SLOT 1u
#define NQ 2u
#define QMAX 16u
#define CFG_SIZE 16u
#define DEV_ID VIRTIO_ID_RNG
#define RECORD_OFF_BYTES 3u /* 12-byte records */

static const pci_host_config_t host_cfg = {
    .ecam_base = ECAM,
    .nr_buses = NR_BUSES,
    .mmio32_base = MMIO32,
    .mmio32_size = WINDOW_SIZE,
    .mmio64_base = MMIO64,
    .mmio64_size = WINDOW_SIZE,
    .intx_irq = {35, 36, 37, 38},
};

/* Every MSI comes from the one function, as bus 0 devfn SLOT.0 (the ITS device ID). */
static int fuzz_msi(hv_vm_t *vm, uint64_t addr, uint32_t data, uint32_t devid)
{
    CHECK(devid == SLOT << 3);
    return 0;
}

/* fake_hv.h's backend plus MSIs. */
static const struct hv_ops fuzz_ops = {
    .name = "fuzz",
    .vm_create = fake_vm_create_op,
    .vm_destroy = fake_vm_destroy_op,
    .mem_map = fake_mem_map,
    .mem_unmap = fake_mem_unmap,
    .irq_line = fake_irq_line,
    .msi = fuzz_msi,
    .vcpu_create = fake_vcpu_create,
    .vcpu_destroy = fake_vcpu_destroy,
    .vcpu_run = fake_vcpu_run,
    .vcpu_kick = fake_vcpu_kick,
    .vcpu_reset = fake_vcpu_reset,
};

struct harness {
    vm_t *vm;
    vm_vcpu_t *vcpu;
    uint8_t *ram;
    pci_host_t *host;
    virtio_device_t vdev;
    virtio_pci_t *vp;
    uint8_t config[CFG_SIZE];
    virtq_chain_t chain;
    bool pending[NQ];
};

static struct harness *hv(virtio_device_t *vdev)
{
    return vdev->priv;
}

/* Serve queue @idx: pop what is there, answer each chain, interrupt. */
static void serve(virtio_device_t *vdev, unsigned int idx)
{
    struct harness *h = hv(vdev);
    virtq_t *q = &vdev->queues[idx];

    for (unsigned int n = 0; n < 2 * QMAX; n++) {
        int rc = virtq_pop(q, &h->chain);
        if (rc == 0) {
            break;
        }
        if (rc < 0) {
            if (q->broken) {
                virtio_device_set_needs_reset(vdev, "broken ring");
                break;
            }
            virtq_push(q, h->chain.head, 0);
            continue;
        }
        for (unsigned int i = 0; i < h->chain.nr_bufs; i++) {
            const uint8_t *p = h->chain.bufs[i].addr;
            CHECK(p >= h->ram && p + h->chain.bufs[i].len <= h->ram + RAM_SIZE);
        }
        uint8_t fill[32];
        memset(fill, 0x5a, sizeof(fill));
        size_t w = virtq_chain_write(&h->chain, 0, fill, sizeof(fill));
        virtq_push_chain(q, &h->chain, (uint32_t)w);
    }
    virtio_device_used(vdev, idx);
}

static void dummy_config_read(virtio_device_t *vdev, uint32_t offset, void *buf, uint32_t len)
{
    CHECK((uint64_t)offset + len <= CFG_SIZE);
    memcpy(buf, hv(vdev)->config + offset, len);
}

static void dummy_config_write(virtio_device_t *vdev, uint32_t offset, const void *buf,
                               uint32_t len)
{
    CHECK((uint64_t)offset + len <= CFG_SIZE);
    memcpy(hv(vdev)->config + offset, buf, len);
}

/* Odd queues are served at once (on the vCPU thread), even ones by a host event. */
static void dummy_queue_notify(virtio_device_t *vdev, unsigned int idx)
{
    CHECK(idx < NQ);
    CHECK(vdev->queues[idx].ready && vdev->qcfg[idx].enabled);
    if (idx & 1) {
        serve(vdev, idx);
    } else {
        hv(vdev)->pending[idx] = true;
    }
}

static void dummy_reset(virtio_device_t *vdev)
{
    memset(hv(vdev)->pending, 0, sizeof(hv(vdev)->pending));
}

static const virtio_device_ops_t dummy_ops = {
    .name = "virtio-fuzz",
    .device_id = DEV_ID,
    .num_queues = NQ,
    .queue_max_size = QMAX,
    .features = 1ull << 0,
    .config_size = CFG_SIZE,
    .config_read = dummy_config_read,
    .config_write = dummy_config_write,
    .queue_notify = dummy_queue_notify,
    .reset = dummy_reset,
};

static bool harness_init(struct harness *h)
{
    memset(h, 0, sizeof(*h));
    if (vm_create_with_backend(&h->vm, "fuzz", &fuzz_ops) < 0) {
        return false;
    }
    h->vcpu = vm_create_vcpu(h->vm, 0);
    CHECK(h->vcpu);
    h->ram = fuzz_ram_map(h->vm, RAM_BASE, RAM_SIZE);
    CHECK(pci_host_create(h->vm, &host_cfg, &h->host) == 0);
    CHECK(virtio_device_init(&h->vdev, h->vm, &dummy_ops, h, 0) == 0);
    CHECK(virtio_pci_register(h->host, &h->vdev, SLOT, NULL, &h->vp) == (int)SLOT);
    return true;
}

static void harness_fini(struct harness *h)
{
    pci_host_destroy(h->host);
    CHECK(h->vdev.transport == NULL);
    vm_destroy(h->vm);
    free(h->ram);
}

static uint32_t cfg(struct harness *h, unsigned int reg, unsigned int len)
{
    return pci_host_config_read(h->host, 0, SLOT << 3, reg, len);
}

/* The address BAR 0 holds (whether it decodes or not). */
static uint64_t bar0(struct harness *h)
{
    return (cfg(h, PCI_CFG_BAR0, 4) & ~0xfull) | (uint64_t)cfg(h, PCI_CFG_BAR0 + 4, 4) << 32;
}

static bool in_window(uint64_t addr, uint64_t size)
{
    return (addr >= MMIO32 && addr - MMIO32 <= WINDOW_SIZE - size) ||
           (addr >= MMIO64 && addr - MMIO64 <= WINDOW_SIZE - size);
}

/* What must hold after every record, whatever the guest did. */
static void check_invariants(struct harness *h)
{
    pci_device_t *dev = virtio_pci_function(h->vp);
    virtio_device_t *v = &h->vdev;
    uint16_t command = (uint16_t)cfg(h, PCI_CFG_COMMAND, 2);
    uint64_t at;

    /* Identity and header layout are read-only. */
    CHECK(cfg(h, PCI_CFG_VENDOR_ID, 4) == ((0x1040u + DEV_ID) << 16 | 0x1af4u));
    CHECK(cfg(h, PCI_CFG_REVISION_ID, 1) == 1);
    CHECK(cfg(h, PCI_CFG_HEADER_TYPE, 1) == 0);
    CHECK(cfg(h, PCI_CFG_CAP_PTR, 1) == PCI_CFG_CAP_START);
    CHECK(cfg(h, PCI_CFG_INTERRUPT_PIN, 1) == 1);
    CHECK(pci_host_config_read(h->host, 0, (SLOT + 1) << 3, 0, 4) == UINT32_MAX);
    CHECK((command & ~(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY |
                       PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE)) == 0);

    /* A decoding BAR is where the guest put it, inside a window, with decoding on. */
    if (pci_device_bar_mapped(dev, 0, &at)) {
        CHECK(command & PCI_COMMAND_MEMORY);
        CHECK(at == bar0(h));
        CHECK(in_window(at, VIRTIO_PCI_BAR_SIZE));
        CHECK((at & (VIRTIO_PCI_BAR_SIZE - 1)) == 0);
    }
    CHECK(!pci_device_bar_mapped(dev, 1, NULL));

    /* INTx: asserted only while the function may assert it (PCI 3.0 6.2.2, 6.8.2.3). */
    if (h->vm->hv_vm->irq_calls && h->vm->hv_vm->last_level) {
        CHECK(h->vm->hv_vm->last_irq == pci_host_intx_irq(h->host, SLOT, 1));
        CHECK(!(command & PCI_COMMAND_INTX_DISABLE));
        CHECK(cfg(h, PCI_CFG_STATUS, 2) & PCI_STATUS_INTERRUPT);
        CHECK(!pci_device_msix_enabled(dev));
    }

    /* The status machine (virtio 1.2, 2.1, 3.1.1) whatever the transport let through. */
    if (v->status & VIRTIO_STATUS_DRIVER_OK) {
        CHECK(v->status & VIRTIO_STATUS_FEATURES_OK);
    }
    if (v->status & VIRTIO_STATUS_FEATURES_OK) {
        CHECK((v->driver_features & ~v->device_features) == 0);
    }
    for (unsigned int i = 0; i < NQ; i++) {
        uint16_t vec = v->qcfg[i].msix_vector;
        CHECK(vec == VIRTIO_MSI_NO_VECTOR || vec < NQ + 1);
        CHECK(!v->qcfg[i].enabled || v->queues[i].ready);
    }
}

static void host_event(struct harness *h, uint64_t value)
{
    virtio_device_t *v = &h->vdev;

    if (value % 4 == 3) {
        pci_host_reset(h->host);
        return;
    }
    pthread_mutex_lock(&v->lock);
    switch (value % 4) {
    case 0:
        for (unsigned int i = 0; i < NQ; i++) {
            if (h->pending[i]) {
                h->pending[i] = false;
                serve(v, i);
            }
        }
        break;
    case 1:
        h->config[1]++;
        virtio_device_config_changed(v);
        break;
    default:
        virtio_device_set_needs_reset(v, "fuzz");
        break;
    }
    pthread_mutex_unlock(&v->lock);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t widths[4] = {1, 2, 4, 8};
    struct harness *h = malloc(sizeof(*h));

    vmm_log_set_level(VMM_LOG_ERR);
    if (!h || !harness_init(h)) {
        free(h);
        return 0;
    }
    size_t pos = 0;
    fuzz_record_t rec;
    while (fuzz_record_next(data, size, &pos, RECORD_OFF_BYTES, &rec)) {
        unsigned int kind = rec.head & 7;
        uint32_t len = widths[(rec.head >> 3) & 3];
        uint32_t off = rec.off;
        uint64_t value = rec.value, a;

        switch (kind) {
        case 0:
        case 1:
            a = ECAM + off % ((uint64_t)NR_BUSES * PCI_ECAM_BUS_SIZE);
            if (a + len > ECAM + (uint64_t)NR_BUSES * PCI_ECAM_BUS_SIZE) {
                a -= len;
            }
            fuzz_guest_access(h->vcpu, a, len, kind == 1, value);
            break;
        case 2:
        case 3:
            a = bar0(h) + off % (VIRTIO_PCI_BAR_SIZE + 0x800u);
            if (a + len - 1 >= a) { /* not wrapping the address space */
                fuzz_guest_access(h->vcpu, a, len, kind == 3, value);
            }
            break;
        case 4:
        case 5:
            a = ((off & 0x800000u) ? MMIO64 : MMIO32) + (off & 0x7fffffu);
            fuzz_guest_access(h->vcpu, a, len, kind == 5, value);
            break;
        case 6:
            memcpy(h->ram + off % (RAM_SIZE - 8), &value, 8);
            break;
        default:
            host_event(h, value);
            break;
        }
        check_invariants(h);
    }
    harness_fini(h);
    free(h);
    return 0;
}
