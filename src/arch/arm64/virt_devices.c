/*
 * virt_devices.c - the arm64 virt board's virtio devices: virtio-console
 * (with --console virtio), virtio-blk disks, virtio-net NICs on taps and
 * virtio-rng, on virtio-mmio windows described
 * in the device tree or behind the ECAM PCI host bridge; then the cross-VM
 * channel ends on the same transport (virt_channels.c).
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
        virtio_pci_t *vp = NULL;
        r = virtio_pci_register(b->pci, vdev, -1, b->io, &vp);
        if (r < 0)
            return virt_errorf(err, errlen, r, "cannot put %s on PCI: %s", vdev->name,
                               strerror(-r));
        if (b->nr_vpci < ARM64_VIRT_VIRTIO_MMIO_MAX)
            b->vpci[b->nr_vpci++] = vp;
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

    if (!b->cfg.virtio_console && b->cfg.no_rng && !b->cfg.nr_disks && !b->cfg.nr_nets &&
        !b->cfg.nr_channels)
        return virt_channels_create(b, err, errlen); /* shared maps only, if any */
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
    r = virt_channels_create(b, err, errlen);
    if (r < 0)
        return r;
    return vm_register_reset_hook(b->vm, devices_reset_hook, b);
}

void virt_devices_fdt(arm64_virt_t *b, arm64_fdt_config_t *fc)
{
    fc->virtio = b->fdt_mmio;
    fc->nr_virtio = b->nr_mmio;
    virt_channels_fdt(b, fc);
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
    /* Channel ends after their PCI functions, before the I/O thread that watches them. */
    virt_channels_destroy(b);
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

/* Everything @vdev counted against the guest: its own reasons and its queues'. */
static uint64_t vdev_errors(const virtio_device_t *vdev)
{
    uint64_t n = 0;

    for (unsigned int e = 0; e < VIRTIO_E_COUNT; e++)
        n += virtio_device_error_count(vdev, (virtio_error_t)e);
    for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
        for (unsigned int e = 0; e < VIRTQ_E_COUNT; e++)
            n += __atomic_load_n(&vdev->queues[q].errors[e], __ATOMIC_RELAXED);
    return n;
}

static void add_errors(arm64_virt_errors_t *out, unsigned int max, unsigned int *n,
                       const char *name, uint64_t count)
{
    if (count && *n < max)
        out[(*n)++] = (arm64_virt_errors_t){.name = name, .count = count};
}

unsigned int arm64_virt_guest_errors(const arm64_virt_t *b, arm64_virt_errors_t *out,
                                     unsigned int max)
{
    unsigned int n = 0;
    const virtio_device_t *vdevs[2 + ARM64_VIRT_MAX_DISKS + ARM64_VIRT_MAX_NETS];
    unsigned int nv = 0;

    if (b->vcon)
        vdevs[nv++] = virtio_console_device(b->vcon);
    for (unsigned int i = 0; i < b->cfg.nr_disks; i++)
        if (b->blk[i])
            vdevs[nv++] = virtio_blk_device(b->blk[i]);
    for (unsigned int i = 0; i < b->cfg.nr_nets; i++)
        if (b->net[i])
            vdevs[nv++] = virtio_net_device(b->net[i]);
    if (b->rng)
        vdevs[nv++] = virtio_rng_device(b->rng);
    for (unsigned int i = 0; i < nv; i++) {
        uint64_t c = vdev_errors(vdevs[i]);
        /* the transport's own reasons go with the device */
        for (unsigned int t = 0; t < b->nr_mmio; t++)
            if (virtio_mmio_device(b->mmio[t]) == vdevs[i])
                for (unsigned int e = 0; e < VIRTIO_MMIO_E_COUNT; e++)
                    c += virtio_mmio_error_count(b->mmio[t], (virtio_mmio_error_t)e);
        for (unsigned int t = 0; t < b->nr_vpci; t++)
            if (b->vpci[t] && virtio_pci_device(b->vpci[t]) == vdevs[i])
                for (unsigned int e = 0; e < VIRTIO_PCI_E_COUNT; e++)
                    c += virtio_pci_error_count(b->vpci[t], (virtio_pci_error_t)e);
        add_errors(out, max, &n, vdevs[i]->name, c);
    }
    if (b->pci) {
        uint64_t c = 0;
        for (unsigned int e = 0; e < PCI_E_COUNT; e++)
            c += pci_host_error_count(b->pci, (pci_error_t)e);
        add_errors(out, max, &n, "pci", c);
    }
    for (unsigned int s = 0; s < VM_STAT_COUNT; s++)
        add_errors(out, max, &n, vm_stat_name((vm_stat_t)s), vm_stat_count(b->vm, (vm_stat_t)s));
    return n;
}
