/*
 * virt_devices.c - the arm64 virt board's virtio devices: virtio-console
 * (with --console virtio), virtio-blk disks, virtio-net NICs on taps and
 * virtio-rng, on virtio-mmio windows described
 * in the device tree or behind the ECAM PCI host bridge.
 *
 * Queue kicks reach an I/O thread of the VM's through ioeventfds and
 * interrupts go back through irqfds (virtio-mmio) or MSI-X through the GIC
 * ITS (virtio-pci, where the host has an ITS; INTx otherwise), so device
 * work never runs on a vCPU thread's exit path where the backend offers
 * eventfds.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <vmmkit/log.h>
#include <vmmkit/virtio_pci.h>

#include "arch/arm64/virt_priv.h"

static void devices_reset_hook(vm_t *vm, void *cookie)
{
    arm64_virt_t *b = cookie;

    for (unsigned int i = 0; i < b->nr_mmio; i++)
        virtio_mmio_reset(b->mmio[i]);
    if (b->pci)
        pci_host_reset(b->pci);
}

static int create_pci_host(arm64_virt_t *b, char *err, size_t errlen)
{
    pci_host_config_t hc = {
        .ecam_base = ARM64_VIRT_PCI_ECAM_BASE,
        .nr_buses = 1,
        .mmio32_base = ARM64_VIRT_PCI_MMIO_BASE,
        .mmio32_size = ARM64_VIRT_PCI_MMIO_SIZE,
    };
    int r;

    for (unsigned int pin = 0; pin < PCI_NUM_PINS; pin++)
        hc.intx_irq[pin] = ARM64_VIRT_PCI_INTX_INTID + pin;
    r = pci_host_create(b->vm, &hc, &b->pci);
    if (r < 0)
        return virt_errorf(err, errlen, r, "cannot create the PCI host bridge: %s", strerror(-r));
    return 0;
}

/* Put @vdev on the board's transport. */
static int attach(arm64_virt_t *b, virtio_device_t *vdev, char *err, size_t errlen)
{
    int r;

    if (b->cfg.transport == ARM64_VIRT_TRANSPORT_PCI) {
        r = virtio_pci_register(b->pci, vdev, -1, b->io, NULL);
        if (r < 0)
            return virt_errorf(err, errlen, r, "cannot put %s on PCI: %s", vdev->name,
                               strerror(-r));
        return 0;
    }
    if (b->nr_mmio == ARM64_VIRT_VIRTIO_MMIO_MAX)
        return virt_errorf(err, errlen, -ENOSPC, "no virtio-mmio window left for %s", vdev->name);
    uint64_t base = ARM64_VIRT_VIRTIO_MMIO_BASE + b->nr_mmio * ARM64_VIRT_VIRTIO_MMIO_STRIDE;
    uint32_t intid = ARM64_VIRT_VIRTIO_MMIO_INTID + b->nr_mmio;

    r = virtio_mmio_register(b->vm, vdev, base, intid, b->io, &b->mmio[b->nr_mmio]);
    if (r < 0)
        return virt_errorf(err, errlen, r, "cannot put %s on virtio-mmio: %s", vdev->name,
                           strerror(-r));
    b->fdt_mmio[b->nr_mmio] = (arm64_fdt_virtio_mmio_t){
        .base = base, .size = ARM64_VIRT_VIRTIO_MMIO_STRIDE, .intid = intid};
    b->nr_mmio++;
    return 0;
}

int virt_devices_create(arm64_virt_t *b, char *err, size_t errlen)
{
    int r;

    if (!b->cfg.virtio_console && b->cfg.no_rng && !b->cfg.nr_disks && !b->cfg.nr_nets)
        return 0;
    b->io = iothread_create("vm0-io");
    if (!b->io)
        return virt_errorf(err, errlen, -errno, "cannot start the I/O thread: %s", strerror(errno));
    if (b->cfg.transport == ARM64_VIRT_TRANSPORT_PCI) {
        r = create_pci_host(b, err, errlen);
        if (r < 0)
            return r;
    }
    if (b->cfg.virtio_console) {
        r = virtio_console_create(b->vm, 0, b->cfg.console, &b->vcon);
        if (r < 0)
            return virt_errorf(err, errlen, r, "cannot create the virtio console: %s",
                               strerror(-r));
        r = attach(b, virtio_console_device(b->vcon), err, errlen);
        if (r < 0)
            return r;
    }
    for (unsigned int i = 0; i < b->cfg.nr_disks; i++) {
        const arm64_virt_disk_t *d = &b->cfg.disks[i];
        virtio_blk_config_t bc = {
            .path = d->path,
            .read_only = d->read_only,
            .serial = d->serial && d->serial[0] ? d->serial : NULL,
            .io = b->io,
        };
        r = virtio_blk_create(b->vm, i, &bc, &b->blk[i]);
        if (r < 0)
            return virt_errorf(err, errlen, r, "--disk %s: %s", d->path, strerror(-r));
        r = attach(b, virtio_blk_device(b->blk[i]), err, errlen);
        if (r < 0)
            return r;
    }
    for (unsigned int i = 0; i < b->cfg.nr_nets; i++) {
        const arm64_virt_net_t *n = &b->cfg.nets[i];
        const char *what = n->use_socket ? (n->label ? n->label : "socket") : n->tap;
        if (n->use_socket) {
            int fd = fcntl(n->socket_fd, F_DUPFD_CLOEXEC, 0);
            if (fd < 0)
                return virt_errorf(err, errlen, -errno, "%s: %s", what, strerror(errno));
            r = net_socket_open(fd, 0, what, &b->netbe[i]);
            if (r < 0) {
                close(fd);
                return virt_errorf(err, errlen, r, "%s: %s", what, strerror(-r));
            }
        } else {
            r = tap_open(n->tap, &b->netbe[i]);
            if (r < 0)
                return virt_errorf(err, errlen, r, "--net tap=%s: %s%s", n->tap, strerror(-r),
                                   r == -EPERM || r == -EACCES ? " (needs CAP_NET_ADMIN)" : "");
        }
        virtio_net_config_t nc = {.backend = b->netbe[i], .io = b->io};
        if (n->mac) {
            nc.has_mac = true;
            memcpy(nc.mac, n->mac, sizeof(nc.mac));
        }
        r = virtio_net_create(b->vm, i, &nc, &b->net[i]);
        if (r < 0)
            return virt_errorf(err, errlen, r, "cannot create the NIC on %s: %s", what,
                               strerror(-r));
        r = attach(b, virtio_net_device(b->net[i]), err, errlen);
        if (r < 0)
            return r;
    }
    if (!b->cfg.no_rng) {
        r = virtio_rng_create(b->vm, 0, &b->rng);
        if (r < 0)
            return virt_errorf(err, errlen, r, "cannot create virtio-rng: %s", strerror(-r));
        r = attach(b, virtio_rng_device(b->rng), err, errlen);
        if (r < 0)
            return r;
    }
    return vm_register_reset_hook(b->vm, devices_reset_hook, b);
}

void virt_devices_fdt(arm64_virt_t *b, arm64_fdt_config_t *fc)
{
    fc->virtio = b->fdt_mmio;
    fc->nr_virtio = b->nr_mmio;
    if (!b->pci)
        return;

    const pci_host_config_t *hc = pci_host_get_config(b->pci);
    pci_irq_route_t routes[128];
    size_t n = pci_host_irq_map(b->pci, routes, 128);

    if (n > 128)
        n = 128;
    for (size_t i = 0; i < n; i++)
        b->fdt_pci_irqs[i] = (arm64_fdt_pci_irq_t){
            .devfn = routes[i].devfn, .pin = routes[i].pin, .intid = routes[i].irq};
    b->nr_fdt_pci_irqs = n;
    fc->pci = (arm64_fdt_pci_t){
        .ecam_base = hc->ecam_base,
        .ecam_size = pci_host_ecam_size(b->pci),
        .bus_first = 0,
        .bus_last = (uint32_t)(pci_host_ecam_size(b->pci) >> 20) - 1,
        .mmio_base = hc->mmio32_base,
        .mmio_size = hc->mmio32_size,
        .mmio64_base = hc->mmio64_base,
        .mmio64_size = hc->mmio64_size,
        .irq_map = b->fdt_pci_irqs,
        .nr_irq_map = n,
        .msi = b->its_base != 0,
    };
}

void virt_devices_destroy(arm64_virt_t *b)
{
    /* Transports first (they take their doorbells off the I/O thread), then
     * the I/O thread, then the devices. */
    for (unsigned int i = 0; i < b->nr_mmio; i++)
        virtio_mmio_unregister(b->mmio[i]);
    b->nr_mmio = 0;
    pci_host_destroy(b->pci);
    b->pci = NULL;
    /* Devices with descriptors of their own on the I/O thread leave it
     * before it goes (no handler of theirs runs once they are gone). */
    for (unsigned int i = 0; i < ARM64_VIRT_MAX_DISKS; i++) {
        virtio_blk_destroy(b->blk[i]);
        b->blk[i] = NULL;
    }
    for (unsigned int i = 0; i < ARM64_VIRT_MAX_NETS; i++) {
        virtio_net_destroy(b->net[i]);
        net_backend_destroy(b->netbe[i]);
        b->net[i] = NULL;
        b->netbe[i] = NULL;
    }
    if (b->io)
        iothread_destroy(b->io);
    b->io = NULL;
    if (b->vcon)
        virtio_console_destroy(b->vcon);
    if (b->rng)
        virtio_rng_destroy(b->rng);
    b->vcon = NULL;
    b->rng = NULL;
}
