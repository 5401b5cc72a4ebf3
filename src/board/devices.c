/*
 * devices.c - every board's virtio devices: virtio-console (with --console
 * virtio), virtio-blk disks, virtio-net NICs on taps or switch ports and
 * virtio-rng, on virtio-mmio windows at the layout's places or behind the
 * ECAM PCI host bridge; then the cross-VM channel ends on the same
 * transport (channels.c).  The board describes them to the guest from
 * board_devices_t (board_priv.h).
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

#include "board/board_priv.h"

static void devices_reset_hook(vm_t *vm, void *cookie)
{
    board_devices_t *d = cookie;

    for (unsigned int i = 0; i < d->nr_mmio; i++)
        virtio_mmio_reset(d->mmio[i]);
    if (d->pci)
        pci_host_reset(d->pci);
}

/*
 * The host bridge's own function, class 0x060000, no BARs: Linux on x86
 * trusts configuration mechanism #1 only when bus 0 shows a host bridge
 * (arch/x86/pci/direct.c, pci_sanity_check).  The ID is the generic PCIe
 * host bridge's that Linux knows from QEMU's gpex (1b36:0008).
 */
static int add_host_bridge_function(board_devices_t *d)
{
    pci_device_info_t info = {
        .vendor_id = 0x1b36,
        .device_id = 0x0008,
        .class_code = 0x060000,
        .name = "host-bridge",
    };
    pci_device_t *dev = pci_device_create(&info, NULL, NULL, NULL);
    int r;

    if (!dev)
        return -errno;
    r = pci_host_register(d->pci, dev, 0);
    if (r < 0)
        pci_device_destroy(dev);
    return r < 0 ? r : 0;
}

static int create_pci_host(board_devices_t *d, char *err, size_t errlen)
{
    int r = pci_host_create(d->vm, &d->layout->pci, &d->pci);

    if (r == 0 && d->layout->pci_host_bridge)
        r = add_host_bridge_function(d);
    if (r < 0)
        return board_errorf(err, errlen, r, "cannot create the PCI host bridge: %s", strerror(-r));
    return 0;
}

/* Put @vdev on the board's transport. */
static int attach(board_devices_t *d, virtio_device_t *vdev, char *err, size_t errlen)
{
    int r;

    if (d->cfg->transport == BOARD_TRANSPORT_PCI) {
        virtio_pci_t *vp = NULL;
        r = virtio_pci_register(d->pci, vdev, -1, d->io, &vp);
        if (r < 0)
            return board_errorf(err, errlen, r, "cannot put %s on PCI: %s", vdev->name,
                                strerror(-r));
        if (d->nr_vpci < BOARD_VIRTIO_MMIO_MAX)
            d->vpci[d->nr_vpci++] = vp;
        return 0;
    }
    if (d->nr_mmio == d->layout->virtio_mmio_max)
        return board_errorf(err, errlen, -ENOSPC, "no virtio-mmio window left for %s", vdev->name);
    const board_layout_t *lay = d->layout;
    uint64_t base = lay->virtio_mmio_base + d->nr_mmio * lay->virtio_mmio_stride;
    uint32_t irq = lay->virtio_mmio_irq + d->nr_mmio;

    r = virtio_mmio_register(d->vm, vdev, base, irq, d->io, &d->mmio[d->nr_mmio]);
    if (r < 0)
        return board_errorf(err, errlen, r, "cannot put %s on virtio-mmio: %s", vdev->name,
                            strerror(-r));
    d->mmio_desc[d->nr_mmio] =
        (board_mmio_desc_t){.base = base, .size = lay->virtio_mmio_stride, .irq = irq};
    d->nr_mmio++;
    return 0;
}

int board_devices_create(board_devices_t *d, vm_t *vm, const board_config_t *cfg,
                         const board_layout_t *lay, char *err, size_t errlen)
{
    int r;

    d->vm = vm;
    d->cfg = cfg;
    d->layout = lay;
    if (lay->virtio_mmio_max > BOARD_VIRTIO_MMIO_MAX)
        return board_errorf(err, errlen, -EINVAL, "the board has more virtio-mmio windows than %u",
                            BOARD_VIRTIO_MMIO_MAX);

    if (!d->cfg->virtio_console && d->cfg->no_rng && !d->cfg->nr_disks && !d->cfg->nr_nets &&
        !d->cfg->nr_channels)
        return board_channels_create(d, err, errlen); /* shared maps only, if any */
    d->io = iothread_create("vm0-io");
    if (!d->io)
        return board_errorf(err, errlen, -errno, "cannot start the I/O thread: %s",
                            strerror(errno));
    if (d->cfg->transport == BOARD_TRANSPORT_PCI) {
        r = create_pci_host(d, err, errlen);
        if (r < 0)
            return r;
    }
    if (d->cfg->virtio_console) {
        r = virtio_console_create(d->vm, 0, d->cfg->console, &d->vcon);
        if (r < 0)
            return board_errorf(err, errlen, r, "cannot create the virtio console: %s",
                                strerror(-r));
        r = attach(d, virtio_console_device(d->vcon), err, errlen);
        if (r < 0)
            return r;
    }
    for (unsigned int i = 0; i < d->cfg->nr_disks; i++) {
        const board_disk_t *disk = &d->cfg->disks[i];
        virtio_blk_config_t bc = {
            .path = disk->path,
            .read_only = disk->read_only,
            .serial = disk->serial && disk->serial[0] ? disk->serial : NULL,
            .io = d->io,
        };
        r = virtio_blk_create(d->vm, i, &bc, &d->blk[i]);
        if (r < 0)
            return board_errorf(err, errlen, r, "--disk %s: %s", disk->path, strerror(-r));
        r = attach(d, virtio_blk_device(d->blk[i]), err, errlen);
        if (r < 0)
            return r;
    }
    for (unsigned int i = 0; i < d->cfg->nr_nets; i++) {
        const board_net_t *n = &d->cfg->nets[i];
        const char *what = n->use_socket ? (n->label ? n->label : "socket") : n->tap;
        if (n->use_socket) {
            int fd = fcntl(n->socket_fd, F_DUPFD_CLOEXEC, 0);
            if (fd < 0)
                return board_errorf(err, errlen, -errno, "%s: %s", what, strerror(errno));
            r = net_socket_open(fd, 0, what, &d->netbe[i]);
            if (r < 0) {
                close(fd);
                return board_errorf(err, errlen, r, "%s: %s", what, strerror(-r));
            }
        } else {
            r = tap_open(n->tap, &d->netbe[i]);
            if (r < 0)
                return board_errorf(err, errlen, r, "--net tap=%s: %s%s", n->tap, strerror(-r),
                                    r == -EPERM || r == -EACCES ? " (needs CAP_NET_ADMIN)" : "");
        }
        virtio_net_config_t nc = {.backend = d->netbe[i], .io = d->io};
        if (n->mac) {
            nc.has_mac = true;
            memcpy(nc.mac, n->mac, sizeof(nc.mac));
        }
        r = virtio_net_create(d->vm, i, &nc, &d->net[i]);
        if (r < 0)
            return board_errorf(err, errlen, r, "cannot create the NIC on %s: %s", what,
                                strerror(-r));
        r = attach(d, virtio_net_device(d->net[i]), err, errlen);
        if (r < 0)
            return r;
    }
    if (!d->cfg->no_rng) {
        r = virtio_rng_create(d->vm, 0, &d->rng);
        if (r < 0)
            return board_errorf(err, errlen, r, "cannot create virtio-rng: %s", strerror(-r));
        r = attach(d, virtio_rng_device(d->rng), err, errlen);
        if (r < 0)
            return r;
    }
    r = board_channels_create(d, err, errlen);
    if (r < 0)
        return r;
    return vm_register_reset_hook(d->vm, devices_reset_hook, d);
}

void board_devices_destroy(board_devices_t *d)
{
    /* Transports first (they take their doorbells off the I/O thread), then
     * the I/O thread, then the devices. */
    for (unsigned int i = 0; i < d->nr_mmio; i++)
        virtio_mmio_unregister(d->mmio[i]);
    d->nr_mmio = 0;
    pci_host_destroy(d->pci);
    d->pci = NULL;
    /* Channel ends after their PCI functions, before the I/O thread that watches them. */
    board_channels_destroy(d);
    /* Devices with descriptors of their own on the I/O thread leave it
     * before it goes (no handler of theirs runs once they are gone). */
    for (unsigned int i = 0; i < BOARD_MAX_DISKS; i++) {
        virtio_blk_destroy(d->blk[i]);
        d->blk[i] = NULL;
    }
    for (unsigned int i = 0; i < BOARD_MAX_NETS; i++) {
        virtio_net_destroy(d->net[i]);
        net_backend_destroy(d->netbe[i]);
        d->net[i] = NULL;
        d->netbe[i] = NULL;
    }
    if (d->io)
        iothread_destroy(d->io);
    d->io = NULL;
    if (d->vcon)
        virtio_console_destroy(d->vcon);
    if (d->rng)
        virtio_rng_destroy(d->rng);
    d->vcon = NULL;
    d->rng = NULL;
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

static void add_errors(board_errors_t *out, unsigned int max, unsigned int *n, const char *name,
                       uint64_t count)
{
    if (count && *n < max)
        out[(*n)++] = (board_errors_t){.name = name, .count = count};
}

unsigned int board_devices_errors(const board_devices_t *d, board_errors_t *out, unsigned int max)
{
    unsigned int n = 0;
    const virtio_device_t *vdevs[2 + BOARD_MAX_DISKS + BOARD_MAX_NETS];
    unsigned int nv = 0;

    if (d->vcon)
        vdevs[nv++] = virtio_console_device(d->vcon);
    for (unsigned int i = 0; i < d->cfg->nr_disks; i++)
        if (d->blk[i])
            vdevs[nv++] = virtio_blk_device(d->blk[i]);
    for (unsigned int i = 0; i < d->cfg->nr_nets; i++)
        if (d->net[i])
            vdevs[nv++] = virtio_net_device(d->net[i]);
    if (d->rng)
        vdevs[nv++] = virtio_rng_device(d->rng);
    for (unsigned int i = 0; i < nv; i++) {
        uint64_t c = vdev_errors(vdevs[i]);
        /* the transport's own reasons go with the device */
        for (unsigned int t = 0; t < d->nr_mmio; t++)
            if (virtio_mmio_device(d->mmio[t]) == vdevs[i])
                for (unsigned int e = 0; e < VIRTIO_MMIO_E_COUNT; e++)
                    c += virtio_mmio_error_count(d->mmio[t], (virtio_mmio_error_t)e);
        for (unsigned int t = 0; t < d->nr_vpci; t++)
            if (d->vpci[t] && virtio_pci_device(d->vpci[t]) == vdevs[i])
                for (unsigned int e = 0; e < VIRTIO_PCI_E_COUNT; e++)
                    c += virtio_pci_error_count(d->vpci[t], (virtio_pci_error_t)e);
        add_errors(out, max, &n, vdevs[i]->name, c);
    }
    if (d->pci) {
        uint64_t c = 0;
        for (unsigned int e = 0; e < PCI_E_COUNT; e++)
            c += pci_host_error_count(d->pci, (pci_error_t)e);
        add_errors(out, max, &n, "pci", c);
    }
    for (unsigned int s = 0; s < VM_STAT_COUNT; s++)
        add_errors(out, max, &n, vm_stat_name((vm_stat_t)s), vm_stat_count(d->vm, (vm_stat_t)s));
    return n;
}
