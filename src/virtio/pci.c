/*
 * pci.c - the modern virtio-pci transport (virtio 1.2, 4.1; see
 * vmmkit/virtio_pci.h).
 *
 * A PCI function (src/pci) whose owner is this file: BAR 0 holds the
 * common configuration, the ISR, the device configuration and the queue
 * doorbells, which bar_read/bar_write decode under vdev->lock (the
 * function's lock) and hand to the common layer (virtio.c) for the virtio
 * semantics.  The MSI-X table and PBA, also in BAR 0, are the PCI core's.
 * What stays here is the register file (selectors, msix_config, ISR), the
 * choice between MSI-X and INTx for each interrupt (4.1.5.3, 4.1.5.4), the
 * PCI configuration access window (4.1.4.9) and the doorbells' ioeventfds,
 * re-bound whenever the guest moves BAR 0.
 *
 * Values are little-endian, like the host: the core's fault data is the
 * access's bytes, zero-extended.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <vmmkit/eventfd.h>
#include <vmmkit/log.h>
#include <vmmkit/virtio_pci.h>

/* One queue's doorbell: an eventfd for 16-bit writes at its notify address. */
struct vp_doorbell {
    virtio_pci_t *p;
    unsigned int idx;
    int fd;       /* -1: none */
    bool watched; /* on the I/O thread */
    bool bound;   /* ioeventfd bound at @addr */
    uint64_t addr;
};

struct virtio_pci {
    virtio_device_t *vdev;
    pci_device_t *pci;
    iothread_t *io;
    unsigned int nr_vectors;
    bool ioeventfd_ok; /* false once the backend said it has none */
    struct vp_doorbell doorbells[VIRTIO_MAX_QUEUES];

    /* The register file; guarded by vdev->lock. */
    uint32_t dfselect, gfselect;
    uint16_t queue_select;
    uint16_t msix_config;
    uint8_t isr;

    /* The PCI configuration access capability (4.1.4.9). */
    unsigned int cfgcap;
    uint8_t cfg_bar;
    uint32_t cfg_offset, cfg_length, cfg_data;

    uint64_t errors[VIRTIO_PCI_E_COUNT]; /* relaxed atomics */
    vmm_ratelimit_t log_rl;
};

static const char *const vp_error_names[VIRTIO_PCI_E_COUNT] = {
    [VIRTIO_PCI_E_WIDTH] = "width",
    [VIRTIO_PCI_E_UNKNOWN] = "unknown-offset",
    [VIRTIO_PCI_E_READ_ONLY] = "read-only",
    [VIRTIO_PCI_E_WRITE_ONLY] = "write-only",
    [VIRTIO_PCI_E_QUEUE_SELECT] = "queue-select",
    [VIRTIO_PCI_E_QUEUE_LIVE] = "queue-live",
    [VIRTIO_PCI_E_VALUE] = "value",
    [VIRTIO_PCI_E_MSIX_VECTOR] = "msix-vector",
    [VIRTIO_PCI_E_CFG_WINDOW] = "cfg-window",
};

/* What the driver should have done instead, for the log line. */
static const char *const vp_error_hints[VIRTIO_PCI_E_COUNT] = {
    [VIRTIO_PCI_E_WIDTH] = "access each field at its natural width, 64-bit ones also as two "
                           "32-bit halves (4.1.3.1)",
    [VIRTIO_PCI_E_UNKNOWN] = "only the structures the capabilities describe are there",
    [VIRTIO_PCI_E_READ_ONLY] = "this field is read-only",
    [VIRTIO_PCI_E_WRITE_ONLY] = "doorbells are write-only",
    [VIRTIO_PCI_E_QUEUE_SELECT] = "select a queue below num_queues first",
    [VIRTIO_PCI_E_QUEUE_LIVE] = "configure a queue before enabling it (4.1.4.3.2)",
    [VIRTIO_PCI_E_VALUE] = "queue_enable takes 1; queue_reset needs VIRTIO_F_RING_RESET",
    [VIRTIO_PCI_E_MSIX_VECTOR] = "vectors are below the MSI-X table size, or NO_VECTOR",
    [VIRTIO_PCI_E_CFG_WINDOW] = "cap.length 1, 2 or 4, cap.offset a multiple of it, inside "
                                "an implemented BAR (4.1.4.9)",
};

const char *virtio_pci_error_name(virtio_pci_error_t err)
{
    return (unsigned int)err < VIRTIO_PCI_E_COUNT ? vp_error_names[err] : "unknown";
}

uint64_t virtio_pci_error_count(const virtio_pci_t *p, virtio_pci_error_t err)
{
    if (!p || (unsigned int)err >= VIRTIO_PCI_E_COUNT) {
        return 0;
    }
    return __atomic_load_n(&p->errors[err], __ATOMIC_RELAXED);
}

/* Count @err and log it rate-limited with the device's name and BAR offset @off. */
static void vp_fail(virtio_pci_t *p, virtio_pci_error_t err, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void vp_fail(virtio_pci_t *p, virtio_pci_error_t err, uint64_t off, const char *fmt, ...)
{
    char what[128];
    va_list ap;

    __atomic_fetch_add(&p->errors[err], 1, __ATOMIC_RELAXED);
    if (!vmm_log_enabled(VMM_LOG_WARN)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    LOG_WARN_RL(&p->log_rl, "%s: virtio-pci BAR0+%#llx: %s: %s; ignored: %s", p->vdev->name,
                (unsigned long long)off, virtio_pci_error_name(err), what, vp_error_hints[err]);
}

/* --- interrupts (4.1.5.3, 4.1.5.4) ----------------------------------------------------- */

/* With MSI-X off: set @bit in the ISR, whose OR is the INTx level (4.1.4.5). */
static void vp_raise(virtio_pci_t *p, uint16_t vector, uint8_t bit)
{
    if (pci_device_msix_enabled(p->pci)) {
        if (vector != VIRTIO_MSI_NO_VECTOR) {
            pci_device_msix_notify(p->pci, vector); /* pending while masked: the core's */
        }
        return;
    }
    p->isr |= bit;
    pci_device_set_intx(p->pci, 1);
}

/* Used-buffer interrupt for @queue: its MSI-X vector, or ISR bit 0 and INTx (4.1.5.3). */
static void vp_notify_used(virtio_device_t *vdev, unsigned int queue)
{
    virtio_pci_t *p = vdev->transport_priv;
    vp_raise(p, vdev->qcfg[queue].msix_vector, VIRTIO_PCI_ISR_QUEUE);
}

/* Config-change interrupt: msix_config's vector, or ISR bit 1 and INTx (4.1.5.4). */
static void vp_notify_config(virtio_device_t *vdev)
{
    virtio_pci_t *p = vdev->transport_priv;
    vp_raise(p, p->msix_config, VIRTIO_PCI_ISR_CONFIG);
}

/* The device was reset (status 0, or the function's reset): the transport's registers too. */
static void vp_transport_reset(virtio_device_t *vdev)
{
    virtio_pci_t *p = vdev->transport_priv;

    p->isr = 0;
    pci_device_set_intx(p->pci, 0);
    p->msix_config = VIRTIO_MSI_NO_VECTOR;
    p->dfselect = 0;
    p->gfselect = 0;
    p->queue_select = 0;
}

static const virtio_transport_ops_t vp_transport_ops = {
    .notify_used = vp_notify_used,
    .notify_config = vp_notify_config,
    .reset = vp_transport_reset,
};

/* --- common configuration (4.1.4.3) ---------------------------------------------------- */

/* Width of the field starting at @off, 0 where none starts. */
static unsigned int common_field_size(uint32_t off)
{
    switch (off) {
    case VIRTIO_PCI_COMMON_DFSELECT:
    case VIRTIO_PCI_COMMON_DF:
    case VIRTIO_PCI_COMMON_GFSELECT:
    case VIRTIO_PCI_COMMON_GF:
        return 4;
    case VIRTIO_PCI_COMMON_MSIX:
    case VIRTIO_PCI_COMMON_NUMQ:
    case VIRTIO_PCI_COMMON_Q_SELECT:
    case VIRTIO_PCI_COMMON_Q_SIZE:
    case VIRTIO_PCI_COMMON_Q_MSIX:
    case VIRTIO_PCI_COMMON_Q_ENABLE:
    case VIRTIO_PCI_COMMON_Q_NOFF:
    case VIRTIO_PCI_COMMON_Q_NDATA:
    case VIRTIO_PCI_COMMON_Q_RESET:
        return 2;
    case VIRTIO_PCI_COMMON_STATUS:
    case VIRTIO_PCI_COMMON_CFGGEN:
        return 1;
    case VIRTIO_PCI_COMMON_Q_DESC:
    case VIRTIO_PCI_COMMON_Q_DRIVER:
    case VIRTIO_PCI_COMMON_Q_DEVICE:
        return 8;
    default:
        return 0;
    }
}

/*
 * Which field an access of @len bytes at @off reaches (4.1.3.1): the
 * field's natural width at its start, or for a 64-bit field either half
 * as 32 bits.  Sets *@field and *@shift (0, or 32 for a high half).
 */
static bool common_decode(uint32_t off, unsigned int len, uint32_t *field, unsigned int *shift)
{
    unsigned int size = common_field_size(off);

    if (len == 4 && off >= VIRTIO_PCI_COMMON_Q_DESC && off < VIRTIO_PCI_COMMON_Q_NDATA &&
        (off & 7) == 4) {
        *field = off - 4;
        *shift = 32;
        return true;
    }
    if (size && (len == size || (size == 8 && len == 4))) {
        *field = off;
        *shift = 0;
        return true;
    }
    return false;
}

/* The selected queue's configuration, or NULL when queue_select names none. */
static virtio_queue_config_t *selected(virtio_pci_t *p)
{
    return p->queue_select < p->vdev->ops->num_queues ? &p->vdev->qcfg[p->queue_select] : NULL;
}

/* The value of common-configuration field @field (4.1.4.3), zero-extended. */
static uint64_t common_read(virtio_pci_t *p, uint32_t field)
{
    virtio_device_t *vdev = p->vdev;
    virtio_queue_config_t *q = selected(p);

    switch (field) {
    case VIRTIO_PCI_COMMON_DFSELECT:
        return p->dfselect;
    case VIRTIO_PCI_COMMON_DF:
        return virtio_device_read_features(vdev, p->dfselect);
    case VIRTIO_PCI_COMMON_GFSELECT:
        return p->gfselect;
    case VIRTIO_PCI_COMMON_GF:
        return p->gfselect < 2 ? (uint32_t)(vdev->driver_features >> (32 * p->gfselect)) : 0;
    case VIRTIO_PCI_COMMON_MSIX:
        return p->msix_config;
    case VIRTIO_PCI_COMMON_NUMQ:
        return vdev->ops->num_queues;
    case VIRTIO_PCI_COMMON_STATUS:
        return vdev->status;
    case VIRTIO_PCI_COMMON_CFGGEN:
        return vdev->config_generation;
    case VIRTIO_PCI_COMMON_Q_SELECT:
        return p->queue_select;
    case VIRTIO_PCI_COMMON_Q_SIZE:
        return q ? q->size : 0; /* 0: no such queue (4.1.4.3) */
    case VIRTIO_PCI_COMMON_Q_MSIX:
        return q ? q->msix_vector : VIRTIO_MSI_NO_VECTOR;
    case VIRTIO_PCI_COMMON_Q_ENABLE:
        return q && q->enabled;
    case VIRTIO_PCI_COMMON_Q_NOFF:
        return q ? p->queue_select : 0; /* doorbell at queue_notify_off * multiplier */
    case VIRTIO_PCI_COMMON_Q_DESC:
        return q ? q->desc : 0;
    case VIRTIO_PCI_COMMON_Q_DRIVER:
        return q ? q->driver : 0;
    case VIRTIO_PCI_COMMON_Q_DEVICE:
        return q ? q->device : 0;
    default: /* queue_notif_config_data, queue_reset: features not offered */
        return 0;
    }
}

/* A vector the driver wrote: kept when the table has it, else NO_VECTOR (4.1.5.1.2). */
static uint16_t vector_checked(virtio_pci_t *p, uint32_t off, uint16_t v)
{
    if (v == VIRTIO_MSI_NO_VECTOR || v < p->nr_vectors) {
        return v;
    }
    vp_fail(p, VIRTIO_PCI_E_MSIX_VECTOR, off, "vector %u of %u", v, p->nr_vectors);
    return VIRTIO_MSI_NO_VECTOR;
}

/* The selected queue for a configuration write, or NULL (counted) when none may be. */
static virtio_queue_config_t *queue_for_write(virtio_pci_t *p, uint32_t off, bool frozen_ok)
{
    virtio_queue_config_t *q = selected(p);

    if (!q) {
        vp_fail(p, VIRTIO_PCI_E_QUEUE_SELECT, off, "queue_select is %u, the device has %u queues",
                p->queue_select, p->vdev->ops->num_queues);
        return NULL;
    }
    if (q->enabled && !frozen_ok) {
        vp_fail(p, VIRTIO_PCI_E_QUEUE_LIVE, off, "queue %u is enabled", p->queue_select);
        return NULL;
    }
    return q;
}

/* Replace @len bytes at bit @shift of *@dst with @v. */
static void set_bits(uint64_t *dst, unsigned int shift, unsigned int len, uint64_t v)
{
    uint64_t mask = (len == 8 ? UINT64_MAX : (1ull << (8 * len)) - 1) << shift;
    *dst = (*dst & ~mask) | ((v << shift) & mask);
}

static void common_write(virtio_pci_t *p, uint32_t field, unsigned int shift, unsigned int len,
                         uint64_t v)
{
    virtio_device_t *vdev = p->vdev;
    virtio_queue_config_t *q;

    switch (field) {
    case VIRTIO_PCI_COMMON_DFSELECT:
        p->dfselect = (uint32_t)v;
        break;
    case VIRTIO_PCI_COMMON_GFSELECT:
        p->gfselect = (uint32_t)v;
        break;
    case VIRTIO_PCI_COMMON_GF:
        virtio_device_write_features(vdev, p->gfselect, (uint32_t)v);
        break;
    case VIRTIO_PCI_COMMON_MSIX:
        p->msix_config = vector_checked(p, field, (uint16_t)v);
        break;
    case VIRTIO_PCI_COMMON_STATUS:
        virtio_device_write_status(vdev, (uint8_t)v); /* 0 resets: vp_transport_reset */
        break;
    case VIRTIO_PCI_COMMON_Q_SELECT:
        p->queue_select = (uint16_t)v; /* checked where it is used */
        break;
    case VIRTIO_PCI_COMMON_Q_SIZE:
        if ((q = queue_for_write(p, field, false))) {
            q->size = (uint16_t)v; /* checked by the common layer at enable */
        }
        break;
    case VIRTIO_PCI_COMMON_Q_MSIX:
        /* Drivers also detach a live queue's vector (Linux's del_vq): allowed. */
        if ((q = queue_for_write(p, field, true))) {
            q->msix_vector = vector_checked(p, field, (uint16_t)v);
        }
        break;
    case VIRTIO_PCI_COMMON_Q_ENABLE:
        if (!(q = queue_for_write(p, field, true))) {
            break;
        }
        if (v == 1) {
            virtio_device_queue_enable(vdev, p->queue_select); /* counts a second enable */
        } else {
            vp_fail(p, VIRTIO_PCI_E_VALUE, field, "queue_enable %#llx (4.1.4.3.2: never 0)",
                    (unsigned long long)v);
        }
        break;
    case VIRTIO_PCI_COMMON_Q_DESC:
        if ((q = queue_for_write(p, field, false))) {
            set_bits(&q->desc, shift, len, v);
        }
        break;
    case VIRTIO_PCI_COMMON_Q_DRIVER:
        if ((q = queue_for_write(p, field, false))) {
            set_bits(&q->driver, shift, len, v);
        }
        break;
    case VIRTIO_PCI_COMMON_Q_DEVICE:
        if ((q = queue_for_write(p, field, false))) {
            set_bits(&q->device, shift, len, v);
        }
        break;
    case VIRTIO_PCI_COMMON_Q_RESET:
        vp_fail(p, VIRTIO_PCI_E_VALUE, field, "queue_reset %#llx without VIRTIO_F_RING_RESET",
                (unsigned long long)v);
        break;
    default: /* device_feature, num_queues, config_generation, queue_notify_off, _data */
        vp_fail(p, VIRTIO_PCI_E_READ_ONLY, field, "write of %#llx", (unsigned long long)v);
        break;
    }
}

/* --- BAR 0 ----------------------------------------------------------------------------- */

static void vp_bar_read(pci_device_t *dev, unsigned int bar, uint64_t off, unsigned int len,
                        uint64_t *val)
{
    virtio_pci_t *p = pci_device_priv(dev);
    virtio_device_t *vdev = p->vdev;
    uint64_t notify_end = VIRTIO_PCI_NOTIFY_OFFSET +
                          (uint64_t)VIRTIO_PCI_NOTIFY_OFF_MULTIPLIER * vdev->ops->num_queues;
    uint32_t field;
    unsigned int shift;

    if (off < VIRTIO_PCI_COMMON_OFFSET + VIRTIO_PCI_COMMON_SIZE) {
        if (common_decode((uint32_t)off, len, &field, &shift)) {
            uint64_t v = common_read(p, field) >> shift;
            *val = len == 8 ? v : v & ((1ull << (8 * len)) - 1);
        } else {
            vp_fail(p, VIRTIO_PCI_E_WIDTH, off, "common configuration read of %u bytes", len);
        }
    } else if (off == VIRTIO_PCI_ISR_OFFSET && len == 1) {
        /* Reading clears the ISR and deasserts INTx (4.1.4.5.1). */
        *val = p->isr;
        p->isr = 0;
        pci_device_set_intx(p->pci, 0);
    } else if (off == VIRTIO_PCI_ISR_OFFSET) {
        vp_fail(p, VIRTIO_PCI_E_WIDTH, off, "ISR read of %u bytes", len);
    } else if (off >= VIRTIO_PCI_DEVICE_OFFSET &&
               off < VIRTIO_PCI_DEVICE_OFFSET + VIRTIO_PCI_DEVICE_MAX) {
        /* Width and bounds are the common layer's (4.1.3.1); it counts its refusals. */
        virtio_device_config_read(vdev, (uint32_t)(off - VIRTIO_PCI_DEVICE_OFFSET), val, len);
    } else if (off >= VIRTIO_PCI_NOTIFY_OFFSET && off < notify_end) {
        vp_fail(p, VIRTIO_PCI_E_WRITE_ONLY, off, "doorbell read of %u bytes", len);
    } else {
        vp_fail(p, VIRTIO_PCI_E_UNKNOWN, off, "read of %u bytes", len);
    }
}

/* A guest write of BAR 0 outside the MSI-X structures. */
static void vp_bar_write(pci_device_t *dev, unsigned int bar, uint64_t off, unsigned int len,
                         uint64_t val)
{
    virtio_pci_t *p = pci_device_priv(dev);
    virtio_device_t *vdev = p->vdev;
    uint64_t notify_end = VIRTIO_PCI_NOTIFY_OFFSET +
                          (uint64_t)VIRTIO_PCI_NOTIFY_OFF_MULTIPLIER * vdev->ops->num_queues;
    uint32_t field;
    unsigned int shift;

    if (off < VIRTIO_PCI_COMMON_OFFSET + VIRTIO_PCI_COMMON_SIZE) {
        if (common_decode((uint32_t)off, len, &field, &shift)) {
            common_write(p, field, shift, len, val);
        } else {
            vp_fail(p, VIRTIO_PCI_E_WIDTH, off, "common configuration write of %u bytes", len);
        }
    } else if (off == VIRTIO_PCI_ISR_OFFSET) {
        vp_fail(p, VIRTIO_PCI_E_READ_ONLY, off, "ISR write of %u bytes", len);
    } else if (off >= VIRTIO_PCI_DEVICE_OFFSET &&
               off < VIRTIO_PCI_DEVICE_OFFSET + VIRTIO_PCI_DEVICE_MAX) {
        virtio_device_config_write(vdev, (uint32_t)(off - VIRTIO_PCI_DEVICE_OFFSET), &val, len);
    } else if (off >= VIRTIO_PCI_NOTIFY_OFFSET && off < notify_end) {
        uint64_t rel = off - VIRTIO_PCI_NOTIFY_OFFSET;
        /* The address names the queue; the value is its index (4.1.5.2). */
        if ((len == 2 || len == 4) && rel % VIRTIO_PCI_NOTIFY_OFF_MULTIPLIER == 0) {
            virtio_device_queue_notify(vdev,
                                       (unsigned int)(rel / VIRTIO_PCI_NOTIFY_OFF_MULTIPLIER));
        } else {
            vp_fail(p, VIRTIO_PCI_E_WIDTH, off, "doorbell write of %u bytes", len);
        }
    } else {
        vp_fail(p, VIRTIO_PCI_E_UNKNOWN, off, "write of %u bytes (%#llx)", len,
                (unsigned long long)val);
    }
}

/* --- doorbells ------------------------------------------------------------------------- */

/* I/O thread: queue @d->idx was kicked through its ioeventfd. */
static void doorbell_event(int fd, uint32_t events, void *opaque)
{
    struct vp_doorbell *d = opaque;
    virtio_device_t *vdev = d->p->vdev;
    uint64_t count;

    if (read(fd, &count, sizeof(count)) != (ssize_t)sizeof(count)) {
        return; /* EAGAIN: nothing to serve */
    }
    pthread_mutex_lock(&vdev->lock);
    virtio_device_queue_notify(vdev, d->idx);
    pthread_mutex_unlock(&vdev->lock);
}

/* The doorbell's ioeventfd: 16-bit writes at its address, any value. */
static vm_ioeventfd_t doorbell_desc(const struct vp_doorbell *d)
{
    return (vm_ioeventfd_t){.fd = d->fd, .addr = d->addr, .len = 2};
}

/* Unbind every bound doorbell (BAR 0 stops decoding or moves). */
static void doorbells_unbind(virtio_pci_t *p)
{
    for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
        struct vp_doorbell *d = &p->doorbells[i];
        if (d->bound) {
            vm_ioeventfd_t ev = doorbell_desc(d);
            vm_ioeventfd_unbind(p->vdev->vm, &ev);
            d->bound = false;
        }
    }
}

/* BAR 0 now decodes at @base: bind each doorbell there; the trapped path stays for the rest. */
static void doorbells_bind(virtio_pci_t *p, uint64_t base)
{
    for (unsigned int i = 0; i < p->vdev->ops->num_queues && p->ioeventfd_ok; i++) {
        struct vp_doorbell *d = &p->doorbells[i];
        vm_ioeventfd_t ev;
        int rc;

        if (!d->watched) {
            continue;
        }
        d->addr = base + VIRTIO_PCI_NOTIFY_OFFSET + (uint64_t)VIRTIO_PCI_NOTIFY_OFF_MULTIPLIER * i;
        ev = doorbell_desc(d);
        rc = vm_ioeventfd_bind(p->vdev->vm, &ev);
        if (rc == -EOPNOTSUPP) {
            p->ioeventfd_ok = false; /* kicks stay trapped writes */
        } else if (rc == 0) {
            d->bound = true;
        }
    }
}

/* Undo doorbells_setup(): I/O thread first, then the bindings, then the fds. */
static void doorbells_teardown(virtio_pci_t *p)
{
    for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
        struct vp_doorbell *d = &p->doorbells[i];
        if (d->watched) {
            iothread_remove_fd(p->io, d->fd); /* no handler runs once it returns */
            d->watched = false;
        }
    }
    doorbells_unbind(p);
    for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
        if (p->doorbells[i].fd >= 0) {
            close(p->doorbells[i].fd);
            p->doorbells[i].fd = -1;
        }
    }
}

/* One eventfd per queue on the I/O thread; bound when BAR 0 decodes.  Returns 0 or -errno. */
static int doorbells_setup(virtio_pci_t *p)
{
    for (unsigned int i = 0; i < p->vdev->ops->num_queues; i++) {
        struct vp_doorbell *d = &p->doorbells[i];
        int rc;

        d->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (d->fd < 0) {
            return -errno;
        }
        rc = iothread_add_fd(p->io, d->fd, doorbell_event, d);
        if (rc < 0) {
            return rc;
        }
        d->watched = true;
    }
    p->ioeventfd_ok = true;
    return 0;
}

/* --- the PCI function's callbacks ------------------------------------------------------ */

static void vp_bar_map(pci_device_t *dev, unsigned int bar, bool mapped, uint64_t addr)
{
    virtio_pci_t *p = pci_device_priv(dev);

    doorbells_unbind(p);
    if (mapped && bar == VIRTIO_PCI_BAR) {
        doorbells_bind(p, addr);
    }
}

/* The PCI_CFG window's bar/offset/length name an access the BAR can take (4.1.4.9). */
static bool window_ok(virtio_pci_t *p)
{
    uint32_t len = p->cfg_length;
    uint64_t size = pci_device_bar_size(p->pci, p->cfg_bar);

    return (len == 1 || len == 2 || len == 4) && p->cfg_offset % len == 0 && size &&
           p->cfg_offset <= size - len;
}

/* The 32-bit register of the PCI_CFG capability at @rel (4, 8, 12 or 16) from its start. */
static uint32_t *cfg_field(virtio_pci_t *p, unsigned int rel)
{
    switch (rel) {
    case VIRTIO_PCI_CAP_OFFSET:
        return &p->cfg_offset;
    case VIRTIO_PCI_CAP_LENGTH:
        return &p->cfg_length;
    default:
        return &p->cfg_data;
    }
}

/* Whether a config access at @reg falls in the PCI_CFG capability's fields; sets *@rel. */
static bool in_cfgcap(const virtio_pci_t *p, uint32_t reg, unsigned int *rel)
{
    uint32_t dword = reg & ~3u;

    if (dword < p->cfgcap + VIRTIO_PCI_CAP_BAR || dword >= p->cfgcap + VIRTIO_PCI_CFG_DATA + 4) {
        return false;
    }
    *rel = dword - p->cfgcap;
    return true;
}

/* Config reads of the PCI_CFG capability's fields; a pci_cfg_data read goes to the BAR. */
static void vp_config_read(pci_device_t *dev, uint32_t reg, unsigned int len, uint32_t *val)
{
    virtio_pci_t *p = pci_device_priv(dev);
    unsigned int rel;
    uint32_t dw;

    if (!in_cfgcap(p, reg, &rel)) {
        return;
    }
    if (rel == VIRTIO_PCI_CAP_BAR) {
        dw = p->cfg_bar; /* id and padding read 0 */
    } else {
        if (rel == VIRTIO_PCI_CFG_DATA) {
            /* The read goes through to the BAR into the first cap.length bytes. */
            uint64_t v = 0;
            if (window_ok(p) && pci_device_bar_access(dev, p->cfg_bar, p->cfg_offset, p->cfg_length,
                                                      false, &v) == 0) {
                uint32_t m = p->cfg_length == 4 ? UINT32_MAX : (1u << (8 * p->cfg_length)) - 1;
                p->cfg_data = (p->cfg_data & ~m) | ((uint32_t)v & m);
            } else {
                vp_fail(p, VIRTIO_PCI_E_CFG_WINDOW, p->cfg_offset,
                        "pci_cfg_data read with bar %u length %u", p->cfg_bar, p->cfg_length);
            }
        }
        dw = *cfg_field(p, rel);
    }
    *val = dw >> (8 * (reg & 3u));
}

/* Config writes of the PCI_CFG capability's fields; a pci_cfg_data write goes to the BAR. */
static void vp_config_write(pci_device_t *dev, uint32_t reg, unsigned int len, uint32_t val)
{
    virtio_pci_t *p = pci_device_priv(dev);
    unsigned int rel, shift = 8 * (reg & 3u);
    uint32_t mask = (len >= 4 ? UINT32_MAX : (1u << (8 * len)) - 1) << shift;

    if (!in_cfgcap(p, reg, &rel)) {
        return;
    }
    if (rel == VIRTIO_PCI_CAP_BAR) {
        if (mask & 0xffu) {
            p->cfg_bar = (uint8_t)(val << shift); /* only the bar byte is writable */
        }
        return;
    }
    uint32_t *f = cfg_field(p, rel);
    *f = (*f & ~mask) | ((val << shift) & mask);
    if (rel != VIRTIO_PCI_CFG_DATA) {
        return;
    }
    /* Write the first cap.length bytes of pci_cfg_data through to the BAR. */
    if (!window_ok(p)) {
        vp_fail(p, VIRTIO_PCI_E_CFG_WINDOW, p->cfg_offset,
                "pci_cfg_data write with bar %u length %u", p->cfg_bar, p->cfg_length);
        return;
    }
    uint64_t v = p->cfg_length == 4 ? p->cfg_data : p->cfg_data & ((1u << (8 * p->cfg_length)) - 1);
    pci_device_bar_access(dev, p->cfg_bar, p->cfg_offset, p->cfg_length, true, &v);
}

/* pci_host_reset(): the function went back to power-on; so does the device. */
static void vp_reset(pci_device_t *dev)
{
    virtio_pci_t *p = pci_device_priv(dev);

    p->cfg_bar = 0;
    p->cfg_offset = p->cfg_length = p->cfg_data = 0;
    virtio_device_reset(p->vdev); /* calls vp_transport_reset() */
}

/* pci_host_destroy() or a failed registration: stop the kicks, detach, free. */
static void vp_release(pci_device_t *dev)
{
    virtio_pci_t *p = pci_device_priv(dev);
    virtio_device_t *vdev = p->vdev;

    doorbells_teardown(p);
    pthread_mutex_lock(&vdev->lock);
    if (vdev->transport_priv == p) {
        virtio_device_set_transport(vdev, NULL, NULL);
    }
    pthread_mutex_unlock(&vdev->lock);
    free(p);
}

static const pci_device_ops_t vp_pci_ops = {
    .bar_read = vp_bar_read,
    .bar_write = vp_bar_write,
    .bar_map = vp_bar_map,
    .config_read = vp_config_read,
    .config_write = vp_config_write,
    .reset = vp_reset,
    .release = vp_release,
};

/* --- registration ---------------------------------------------------------------------- */

/* PCI class codes by device type (PCI Code and ID Assignment Spec, 1.x), as QEMU has them. */
static uint32_t class_code(uint32_t device_id)
{
    switch (device_id) {
    case VIRTIO_ID_NET:
        return 0x020000; /* network, Ethernet */
    case VIRTIO_ID_BLOCK:
        return 0x010000; /* mass storage, SCSI */
    case VIRTIO_ID_CONSOLE:
        return 0x078000; /* simple communication, other */
    default:
        return 0xff0000; /* device does not fit any defined class */
    }
}

/* Add one virtio vendor capability (struct virtio_pci_cap, 4.1.4); returns its offset. */
static int add_vcap(pci_device_t *dev, uint8_t type, uint32_t offset, uint32_t length,
                    const void *extra, size_t extra_len, const void *wmask)
{
    uint8_t body[VIRTIO_PCI_CAP_SIZE + 4 - 2] = {0};

    body[VIRTIO_PCI_CAP_LEN - 2] = (uint8_t)(VIRTIO_PCI_CAP_SIZE + extra_len);
    body[VIRTIO_PCI_CAP_CFG_TYPE - 2] = type;
    body[VIRTIO_PCI_CAP_BAR - 2] = VIRTIO_PCI_BAR;
    for (unsigned int i = 0; i < 4; i++) {
        body[VIRTIO_PCI_CAP_OFFSET - 2 + i] = (uint8_t)(offset >> (8 * i));
        body[VIRTIO_PCI_CAP_LENGTH - 2 + i] = (uint8_t)(length >> (8 * i));
    }
    if (extra_len) {
        memcpy(&body[VIRTIO_PCI_CAP_SIZE - 2], extra, extra_len);
    }
    return pci_device_add_capability(dev, PCI_CAP_ID_VNDR, body,
                                     VIRTIO_PCI_CAP_SIZE - 2 + extra_len, wmask);
}

/* BAR 0, MSI-X and the five capabilities (4.1.4).  Returns 0 or -errno. */
static int build_function(virtio_pci_t *p)
{
    const virtio_device_ops_t *ops = p->vdev->ops;
    const uint8_t multiplier[4] = {VIRTIO_PCI_NOTIFY_OFF_MULTIPLIER, 0, 0, 0};
    const uint8_t zero[4] = {0};
    int rc;

    rc = pci_device_add_bar(p->pci, VIRTIO_PCI_BAR, VIRTIO_PCI_BAR_SIZE, PCI_BAR_F_64BIT);
    if (rc == 0) {
        rc = pci_device_add_msix(p->pci, p->nr_vectors, VIRTIO_PCI_BAR,
                                 VIRTIO_PCI_MSIX_TABLE_OFFSET, VIRTIO_PCI_MSIX_PBA_OFFSET);
    }
    if (rc >= 0) {
        rc = add_vcap(p->pci, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFFSET,
                      VIRTIO_PCI_COMMON_SIZE, NULL, 0, NULL);
    }
    if (rc >= 0) {
        rc = add_vcap(p->pci, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFFSET,
                      VIRTIO_PCI_NOTIFY_OFF_MULTIPLIER * ops->num_queues, multiplier,
                      sizeof(multiplier), NULL);
    }
    if (rc >= 0) {
        rc = add_vcap(p->pci, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFFSET, 1, NULL, 0, NULL);
    }
    if (rc >= 0 && ops->config_size) {
        rc = add_vcap(p->pci, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_OFFSET, ops->config_size,
                      NULL, 0, NULL);
    }
    if (rc >= 0) {
        /* Its fields are served by vp_config_read/write, not the core's image. */
        rc = add_vcap(p->pci, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, zero, sizeof(zero), NULL);
    }
    if (rc >= 0) {
        p->cfgcap = (unsigned int)rc;
    }
    return rc < 0 ? rc : 0;
}

int virtio_pci_register(pci_host_t *host, virtio_device_t *vdev, int slot, iothread_t *io,
                        virtio_pci_t **out)
{
    virtio_pci_t *p;
    int rc;

    if (!host || !vdev || !vdev->ops || vdev->ops->config_size > VIRTIO_PCI_DEVICE_MAX) {
        return -EINVAL;
    }
    if (vdev->transport) {
        return -EBUSY;
    }
    const pci_device_info_t info = {
        .vendor_id = VIRTIO_PCI_VENDOR_ID,
        .device_id = (uint16_t)(VIRTIO_PCI_DEVICE_ID_BASE + vdev->ops->device_id),
        .subsystem_vendor_id = VIRTIO_PCI_VENDOR_ID,
        .subsystem_id = (uint16_t)(VIRTIO_PCI_SUBSYSTEM_ID_BASE + vdev->ops->device_id),
        .revision = VIRTIO_PCI_REVISION,
        .class_code = class_code(vdev->ops->device_id),
        .intx_pin = 1,
        .name = vdev->name,
    };
    p = calloc(1, sizeof(*p));
    if (!p) {
        return -ENOMEM;
    }
    p->vdev = vdev;
    p->io = io;
    p->nr_vectors = vdev->ops->num_queues + 1; /* config + one per queue */
    p->msix_config = VIRTIO_MSI_NO_VECTOR;
    vmm_ratelimit_init(&p->log_rl, 5000, 10);
    for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
        p->doorbells[i] = (struct vp_doorbell){.p = p, .idx = i, .fd = -1};
    }
    p->pci = pci_device_create(&info, &vp_pci_ops, p, &vdev->lock);
    if (!p->pci) {
        rc = -errno;
        free(p);
        return rc;
    }
    /* From here pci_device_destroy() frees @p (vp_release). */
    rc = build_function(p);
    if (rc == 0 && io) {
        rc = doorbells_setup(p);
    }
    if (rc < 0) {
        LOG_ERR("%s: virtio-pci set-up failed: %s", vdev->name, strerror(-rc));
        pci_device_destroy(p->pci);
        return rc;
    }
    pthread_mutex_lock(&vdev->lock);
    virtio_device_set_transport(vdev, &vp_transport_ops, p);
    pthread_mutex_unlock(&vdev->lock);
    rc = pci_host_register(host, p->pci, slot);
    if (rc < 0) {
        LOG_ERR("%s: virtio-pci: no PCI slot%s: %s", vdev->name, slot < 0 ? "" : " of that number",
                strerror(-rc));
        pci_device_destroy(p->pci);
        return rc;
    }
    LOG_DEBUG("%s: virtio-pci at 00:%02x.0, %u MSI-X vectors%s", vdev->name, (unsigned int)rc,
              p->nr_vectors, io ? ", ioeventfd kicks when the backend has them" : "");
    if (out) {
        *out = p;
    }
    return rc;
}

virtio_device_t *virtio_pci_device(const virtio_pci_t *p)
{
    return p ? p->vdev : NULL;
}

pci_device_t *virtio_pci_function(const virtio_pci_t *p)
{
    return p ? p->pci : NULL;
}

bool virtio_pci_has_ioeventfd(const virtio_pci_t *p)
{
    if (!p) {
        return false;
    }
    for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
        if (p->doorbells[i].bound) {
            return true;
        }
    }
    return false;
}
