/*
 * mmio.c - the virtio-mmio transport, version 2 (virtio 1.2, 4.2; see
 * vmmkit/virtio_mmio.h).
 *
 * One reservation of VIRTIO_MMIO_SIZE bytes traps every guest access into
 * mmio_fault(), which decodes the register under vdev->lock and hands the
 * virtio semantics (status, features, config space, queue checks) to the
 * common layer (virtio.c).  What stays here is the register file itself:
 * the selectors, the queue configuration registers, InterruptStatus and the
 * interrupt line, and the optional fast paths (an ioeventfd per queue on
 * QueueNotify served by the I/O thread; an irqfd for the interrupt).
 *
 * Layout (4.2.2): 32-bit control registers at 0x000..0x0ff, accessed only
 * 32 bits wide and aligned; device config space from 0x100, any width the
 * common layer accepts.  Values are little-endian, like the host (the core's
 * fault data is the access's bytes, zero-extended).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <vmmkit/eventfd.h>
#include <vmmkit/guest_memory.h>
#include <vmmkit/irq.h>
#include <vmmkit/log.h>
#include <vmmkit/virtio_mmio.h>

/* One queue's doorbell: an eventfd bound to QueueNotify with datamatch = @idx. */
struct mmio_doorbell {
    virtio_mmio_t *m;
    unsigned int idx;
    int fd;       /* -1: none */
    bool bound;   /* ioeventfd bound */
    bool watched; /* on the I/O thread */
};

struct virtio_mmio {
    vm_t *vm;
    virtio_device_t *vdev;
    uint64_t base;
    uint32_t intid;
    iothread_t *io;
    vm_memory_reservation_t *res;
    int irq_fd; /* irqfd, or -1: pulse the line with vm_irq_pulse() */
    bool irq_bound;
    bool has_doorbells;
    struct mmio_doorbell doorbells[VIRTIO_MAX_QUEUES];

    /* The register file; guarded by vdev->lock. */
    uint32_t device_features_sel;
    uint32_t driver_features_sel;
    uint32_t queue_sel;
    uint32_t shm_sel;
    uint32_t interrupt_status;

    uint64_t errors[VIRTIO_MMIO_E_COUNT]; /* relaxed atomics */
    vmm_ratelimit_t log_rl;
};

static const char *const mmio_error_names[VIRTIO_MMIO_E_COUNT] = {
    [VIRTIO_MMIO_E_REG_WIDTH] = "reg-width",
    [VIRTIO_MMIO_E_REG_UNKNOWN] = "reg-unknown",
    [VIRTIO_MMIO_E_REG_READ_ONLY] = "reg-read-only",
    [VIRTIO_MMIO_E_REG_WRITE_ONLY] = "reg-write-only",
    [VIRTIO_MMIO_E_QUEUE_SEL] = "queue-sel",
    [VIRTIO_MMIO_E_QUEUE_LIVE] = "queue-live",
    [VIRTIO_MMIO_E_VALUE] = "value",
};

/* What the driver should have done instead (4.2.2.2), for the log line. */
static const char *const mmio_error_hints[VIRTIO_MMIO_E_COUNT] = {
    [VIRTIO_MMIO_E_REG_WIDTH] = "control registers take 32-bit aligned accesses only",
    [VIRTIO_MMIO_E_REG_UNKNOWN] = "only the version 2 registers are implemented",
    [VIRTIO_MMIO_E_REG_READ_ONLY] = "this register is read-only",
    [VIRTIO_MMIO_E_REG_WRITE_ONLY] = "this register is write-only",
    [VIRTIO_MMIO_E_QUEUE_SEL] = "select a queue below QueueNumMax's range first",
    [VIRTIO_MMIO_E_QUEUE_LIVE] = "write 0 to QueueReady before changing a queue",
    [VIRTIO_MMIO_E_VALUE] = "QueueNum fits 16 bits, QueueReady is 0 or 1, Status fits 8 bits",
};

const char *virtio_mmio_error_name(virtio_mmio_error_t err)
{
    if ((unsigned int)err >= VIRTIO_MMIO_E_COUNT) {
        return "unknown";
    }
    return mmio_error_names[err];
}

uint64_t virtio_mmio_error_count(const virtio_mmio_t *m, virtio_mmio_error_t err)
{
    if (!m || (unsigned int)err >= VIRTIO_MMIO_E_COUNT) {
        return 0;
    }
    return __atomic_load_n(&m->errors[err], __ATOMIC_RELAXED);
}

/* Count @err and log it rate-limited with the device's name and register offset @off. */
static void mmio_fail(virtio_mmio_t *m, virtio_mmio_error_t err, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void mmio_fail(virtio_mmio_t *m, virtio_mmio_error_t err, uint64_t off, const char *fmt, ...)
{
    __atomic_fetch_add(&m->errors[err], 1, __ATOMIC_RELAXED);
    if (!vmm_log_enabled(VMM_LOG_WARN)) {
        return;
    }
    char what[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    LOG_WARN_RL(&m->log_rl, "%s: virtio-mmio@%#llx+%#llx: %s: %s; %s", m->vdev->name,
                (unsigned long long)m->base, (unsigned long long)off, virtio_mmio_error_name(err),
                what, mmio_error_hints[err]);
}

/* --- interrupts ------------------------------------------------------------------------ */

/* Record event @bit in InterruptStatus and pulse the (edge-triggered) line (4.2.3.4). */
static void mmio_raise(virtio_mmio_t *m, uint32_t bit)
{
    m->interrupt_status |= bit;
    if (m->irq_fd >= 0) {
        uint64_t one = 1;
        /* Fails only when the counter would overflow: an edge is pending anyway. */
        if (write(m->irq_fd, &one, sizeof(one)) == (ssize_t)sizeof(one)) {
            return;
        }
        if (errno == EAGAIN) {
            return;
        }
    } else if (vm_irq_pulse(m->vm, m->intid) == 0) {
        return;
    }
    LOG_WARN_RL(&m->log_rl, "%s: virtio-mmio@%#llx: raising interrupt %u failed", m->vdev->name,
                (unsigned long long)m->base, m->intid);
}

static void mmio_notify_used(virtio_device_t *vdev, unsigned int queue)
{
    mmio_raise(vdev->transport_priv, VIRTIO_MMIO_INT_VRING);
}

static void mmio_notify_config(virtio_device_t *vdev)
{
    mmio_raise(vdev->transport_priv, VIRTIO_MMIO_INT_CONFIG);
}

/* 4.2.2.1: on reset InterruptStatus is clear (QueueReady is the common layer's). */
static void mmio_transport_reset(virtio_device_t *vdev)
{
    virtio_mmio_t *m = vdev->transport_priv;
    m->interrupt_status = 0;
    m->device_features_sel = 0;
    m->driver_features_sel = 0;
    m->queue_sel = 0;
    m->shm_sel = 0;
}

static const virtio_transport_ops_t mmio_transport_ops = {
    .notify_used = mmio_notify_used,
    .notify_config = mmio_notify_config,
    .reset = mmio_transport_reset,
};

/* --- registers ------------------------------------------------------------------------- */

/* The selected queue's configuration for a write at @off, or NULL (counted) when none may be. */
static virtio_queue_config_t *queue_for_write(virtio_mmio_t *m, uint64_t off)
{
    virtio_device_t *vdev = m->vdev;

    if (m->queue_sel >= vdev->ops->num_queues) {
        mmio_fail(m, VIRTIO_MMIO_E_QUEUE_SEL, off,
                  "QueueSel is %u, the device has %u queues: ignored", m->queue_sel,
                  vdev->ops->num_queues);
        return NULL;
    }
    virtio_queue_config_t *c = &vdev->qcfg[m->queue_sel];
    if (c->enabled) {
        mmio_fail(m, VIRTIO_MMIO_E_QUEUE_LIVE, off, "queue %u is ready: ignored", m->queue_sel);
        return NULL;
    }
    return c;
}

/* Set the low (@high false) or high half of a 64-bit ring address. */
static void set_half(uint64_t *addr, bool high, uint32_t v)
{
    if (high) {
        *addr = (*addr & 0xffffffffull) | ((uint64_t)v << 32);
    } else {
        *addr = (*addr & ~0xffffffffull) | v;
    }
}

/* A 32-bit read of control register @off. */
static uint32_t reg_read(virtio_mmio_t *m, uint64_t off)
{
    virtio_device_t *vdev = m->vdev;
    bool sel_ok = m->queue_sel < vdev->ops->num_queues;

    switch (off) {
    case VIRTIO_MMIO_REG_MAGIC_VALUE:
        return VIRTIO_MMIO_MAGIC;
    case VIRTIO_MMIO_REG_VERSION:
        return VIRTIO_MMIO_VERSION;
    case VIRTIO_MMIO_REG_DEVICE_ID:
        return vdev->ops->device_id;
    case VIRTIO_MMIO_REG_VENDOR_ID:
        return VIRTIO_MMIO_VENDOR;
    case VIRTIO_MMIO_REG_DEVICE_FEATURES:
        return virtio_device_read_features(vdev, m->device_features_sel);
    case VIRTIO_MMIO_REG_QUEUE_NUM_MAX:
        /* 0 means "no such queue": how a driver probes (4.2.3.2). */
        return sel_ok ? vdev->ops->queue_max_size : 0;
    case VIRTIO_MMIO_REG_QUEUE_READY:
        return sel_ok && vdev->qcfg[m->queue_sel].enabled ? 1 : 0;
    case VIRTIO_MMIO_REG_INTERRUPT_STATUS:
        return m->interrupt_status;
    case VIRTIO_MMIO_REG_STATUS:
        return vdev->status;
    case VIRTIO_MMIO_REG_SHM_LEN_LOW:
    case VIRTIO_MMIO_REG_SHM_LEN_HIGH:
    case VIRTIO_MMIO_REG_SHM_BASE_LOW:
    case VIRTIO_MMIO_REG_SHM_BASE_HIGH:
        return 0xffffffffu; /* no shared memory region: length and base -1 (4.2.2) */
    case VIRTIO_MMIO_REG_QUEUE_RESET:
        return 0; /* VIRTIO_F_RING_RESET is not offered */
    case VIRTIO_MMIO_REG_CONFIG_GENERATION:
        return vdev->config_generation;
    case VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL:
    case VIRTIO_MMIO_REG_DRIVER_FEATURES:
    case VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL:
    case VIRTIO_MMIO_REG_QUEUE_SEL:
    case VIRTIO_MMIO_REG_QUEUE_NUM:
    case VIRTIO_MMIO_REG_QUEUE_NOTIFY:
    case VIRTIO_MMIO_REG_INTERRUPT_ACK:
    case VIRTIO_MMIO_REG_QUEUE_DESC_LOW:
    case VIRTIO_MMIO_REG_QUEUE_DESC_HIGH:
    case VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW:
    case VIRTIO_MMIO_REG_QUEUE_DRIVER_HIGH:
    case VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW:
    case VIRTIO_MMIO_REG_QUEUE_DEVICE_HIGH:
    case VIRTIO_MMIO_REG_SHM_SEL:
        mmio_fail(m, VIRTIO_MMIO_E_REG_WRITE_ONLY, off, "read: reads 0");
        return 0;
    default:
        mmio_fail(m, VIRTIO_MMIO_E_REG_UNKNOWN, off, "read: reads 0");
        return 0;
    }
}

/* A 32-bit write of @v to control register @off. */
static void reg_write(virtio_mmio_t *m, uint64_t off, uint32_t v)
{
    virtio_device_t *vdev = m->vdev;
    virtio_queue_config_t *c;

    switch (off) {
    case VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL:
        m->device_features_sel = v;
        break;
    case VIRTIO_MMIO_REG_DRIVER_FEATURES:
        virtio_device_write_features(vdev, m->driver_features_sel, v);
        break;
    case VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL:
        m->driver_features_sel = v;
        break;
    case VIRTIO_MMIO_REG_QUEUE_SEL:
        m->queue_sel = v; /* checked where it is used */
        break;
    case VIRTIO_MMIO_REG_QUEUE_NUM:
        if ((c = queue_for_write(m, off))) {
            if (v > UINT16_MAX) {
                mmio_fail(m, VIRTIO_MMIO_E_VALUE, off, "QueueNum %#x: taken as 0", v);
                v = 0; /* an enable with it then fails: DEVICE_NEEDS_RESET */
            }
            c->size = (uint16_t)v;
        }
        break;
    case VIRTIO_MMIO_REG_QUEUE_READY:
        if (m->queue_sel >= vdev->ops->num_queues) {
            mmio_fail(m, VIRTIO_MMIO_E_QUEUE_SEL, off,
                      "QueueSel is %u, the device has %u queues: ignored", m->queue_sel,
                      vdev->ops->num_queues);
        } else if (v == 1) {
            virtio_device_queue_enable(vdev, m->queue_sel);
        } else if (v == 0) {
            virtio_device_queue_disable(vdev, m->queue_sel); /* 4.2.3.2: stop using it */
        } else {
            mmio_fail(m, VIRTIO_MMIO_E_VALUE, off, "QueueReady %#x: ignored", v);
        }
        break;
    case VIRTIO_MMIO_REG_QUEUE_NOTIFY:
        /* Without VIRTIO_F_NOTIFICATION_DATA the value is the queue index (4.2.3.3). */
        virtio_device_queue_notify(vdev, v);
        break;
    case VIRTIO_MMIO_REG_INTERRUPT_ACK:
        m->interrupt_status &= ~v;
        break;
    case VIRTIO_MMIO_REG_STATUS:
        if (v > UINT8_MAX) {
            mmio_fail(m, VIRTIO_MMIO_E_VALUE, off, "Status %#x: ignored", v);
        } else {
            virtio_device_write_status(vdev, (uint8_t)v);
        }
        break;
    case VIRTIO_MMIO_REG_QUEUE_DESC_LOW:
    case VIRTIO_MMIO_REG_QUEUE_DESC_HIGH:
        if ((c = queue_for_write(m, off))) {
            set_half(&c->desc, off == VIRTIO_MMIO_REG_QUEUE_DESC_HIGH, v);
        }
        break;
    case VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW:
    case VIRTIO_MMIO_REG_QUEUE_DRIVER_HIGH:
        if ((c = queue_for_write(m, off))) {
            set_half(&c->driver, off == VIRTIO_MMIO_REG_QUEUE_DRIVER_HIGH, v);
        }
        break;
    case VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW:
    case VIRTIO_MMIO_REG_QUEUE_DEVICE_HIGH:
        if ((c = queue_for_write(m, off))) {
            set_half(&c->device, off == VIRTIO_MMIO_REG_QUEUE_DEVICE_HIGH, v);
        }
        break;
    case VIRTIO_MMIO_REG_SHM_SEL:
        m->shm_sel = v; /* every region reads as absent */
        break;
    case VIRTIO_MMIO_REG_MAGIC_VALUE:
    case VIRTIO_MMIO_REG_VERSION:
    case VIRTIO_MMIO_REG_DEVICE_ID:
    case VIRTIO_MMIO_REG_VENDOR_ID:
    case VIRTIO_MMIO_REG_DEVICE_FEATURES:
    case VIRTIO_MMIO_REG_QUEUE_NUM_MAX:
    case VIRTIO_MMIO_REG_INTERRUPT_STATUS:
    case VIRTIO_MMIO_REG_SHM_LEN_LOW:
    case VIRTIO_MMIO_REG_SHM_LEN_HIGH:
    case VIRTIO_MMIO_REG_SHM_BASE_LOW:
    case VIRTIO_MMIO_REG_SHM_BASE_HIGH:
    case VIRTIO_MMIO_REG_CONFIG_GENERATION:
        mmio_fail(m, VIRTIO_MMIO_E_REG_READ_ONLY, off, "write of %#x: dropped", v);
        break;
    default: /* QueueReset included: VIRTIO_F_RING_RESET is not offered */
        mmio_fail(m, VIRTIO_MMIO_E_REG_UNKNOWN, off, "write of %#x: dropped", v);
        break;
    }
}

/*
 * The reservation's fault callback: one guest access to the window.  The
 * core passes only accesses of 1, 2, 4 or 8 bytes lying wholly inside it
 * and has zeroed a read's answer.
 */
static memory_fault_result_t mmio_fault(vm_t *vm, vm_vcpu_t *vcpu, uintptr_t addr, size_t len,
                                        void *cookie)
{
    virtio_mmio_t *m = cookie;
    virtio_device_t *vdev = m->vdev;
    uint64_t off = addr - m->base;
    bool read = is_vcpu_read_fault(vcpu);

    if (off >= VIRTIO_MMIO_SIZE || len == 0 || len > 8) {
        return FAULT_UNHANDLED; /* not ours: the core counts and logs it */
    }
    pthread_mutex_lock(&vdev->lock);
    if (off >= VIRTIO_MMIO_REG_CONFIG) {
        uint32_t cfg_off = (uint32_t)(off - VIRTIO_MMIO_REG_CONFIG);
        uint64_t v = 0;
        if (read) {
            virtio_device_config_read(vdev, cfg_off, &v, (uint32_t)len);
            set_vcpu_fault_data(vcpu, v);
        } else {
            v = get_vcpu_fault_data(vcpu);
            virtio_device_config_write(vdev, cfg_off, &v, (uint32_t)len);
        }
    } else if (len != 4 || (off & 3)) {
        mmio_fail(m, VIRTIO_MMIO_E_REG_WIDTH, off, "%s of %zu bytes: %s", read ? "read" : "write",
                  len, read ? "reads 0" : "dropped");
    } else if (read) {
        set_vcpu_fault_data(vcpu, reg_read(m, off));
    } else {
        reg_write(m, off, (uint32_t)get_vcpu_fault_data(vcpu));
    }
    pthread_mutex_unlock(&vdev->lock);
    return FAULT_HANDLED;
}

/* --- set-up and teardown --------------------------------------------------------------- */

/* I/O thread: queue @d->idx was kicked through its ioeventfd. */
static void doorbell_event(int fd, uint32_t events, void *opaque)
{
    struct mmio_doorbell *d = opaque;
    virtio_device_t *vdev = d->m->vdev;
    uint64_t count;

    if (read(fd, &count, sizeof(count)) != (ssize_t)sizeof(count)) {
        return; /* EAGAIN: nothing to serve */
    }
    pthread_mutex_lock(&vdev->lock);
    virtio_device_queue_notify(vdev, d->idx);
    pthread_mutex_unlock(&vdev->lock);
}

/* The doorbell's ioeventfd description: 32-bit writes of @idx to QueueNotify. */
static vm_ioeventfd_t doorbell_desc(const virtio_mmio_t *m, const struct mmio_doorbell *d)
{
    return (vm_ioeventfd_t){
        .fd = d->fd,
        .addr = m->base + VIRTIO_MMIO_REG_QUEUE_NOTIFY,
        .len = 4,
        .has_datamatch = true,
        .datamatch = d->idx,
    };
}

/* Undo what set up @d (I/O thread first: no handler runs once it returns). */
static void doorbell_teardown(virtio_mmio_t *m, struct mmio_doorbell *d)
{
    if (d->watched) {
        iothread_remove_fd(m->io, d->fd);
        d->watched = false;
    }
    if (d->bound) {
        vm_ioeventfd_t ev = doorbell_desc(m, d);
        vm_ioeventfd_unbind(m->vm, &ev);
        d->bound = false;
    }
    if (d->fd >= 0) {
        close(d->fd);
        d->fd = -1;
    }
}

/*
 * One ioeventfd per queue on QueueNotify, served by m->io.  Returns 0 (also
 * when the backend has no ioeventfd: kicks then stay MMIO exits) or -errno.
 */
static int doorbells_setup(virtio_mmio_t *m)
{
    unsigned int n = m->vdev->ops->num_queues;
    int rc = 0;

    for (unsigned int i = 0; i < n; i++) {
        struct mmio_doorbell *d = &m->doorbells[i];
        d->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (d->fd < 0) {
            rc = -errno;
            break;
        }
        vm_ioeventfd_t ev = doorbell_desc(m, d);
        rc = vm_ioeventfd_bind(m->vm, &ev);
        if (rc < 0) {
            break;
        }
        d->bound = true;
        rc = iothread_add_fd(m->io, d->fd, doorbell_event, d);
        if (rc < 0) {
            break;
        }
        d->watched = true;
    }
    if (rc < 0) {
        for (unsigned int i = 0; i < n; i++) {
            doorbell_teardown(m, &m->doorbells[i]);
        }
        return rc == -EOPNOTSUPP ? 0 : rc;
    }
    m->has_doorbells = true;
    return 0;
}

/* An irqfd for the line; with none (-EOPNOTSUPP) the line is pulsed.  Returns 0 or -errno. */
static int irqfd_setup(virtio_mmio_t *m)
{
    m->irq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (m->irq_fd < 0) {
        return -errno;
    }
    int rc = vm_irqfd_bind(m->vm, m->irq_fd, m->intid, -1);
    if (rc == 0) {
        m->irq_bound = true;
        return 0;
    }
    close(m->irq_fd);
    m->irq_fd = -1;
    return rc == -EOPNOTSUPP ? 0 : rc;
}

/* Release everything @m holds except the device binding; frees @m. */
static void mmio_free(virtio_mmio_t *m)
{
    if (m->res) {
        vm_free_reserved_memory(m->vm, m->res);
    }
    for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
        doorbell_teardown(m, &m->doorbells[i]);
    }
    if (m->irq_bound) {
        vm_irqfd_unbind(m->vm, m->irq_fd, m->intid);
    }
    if (m->irq_fd >= 0) {
        close(m->irq_fd);
    }
    free(m);
}

int virtio_mmio_register(vm_t *vm, virtio_device_t *vdev, uint64_t base, uint32_t intid,
                         iothread_t *io, virtio_mmio_t **out)
{
    if (!vm || !vdev || !vdev->ops || !out || (base & 3) || base + VIRTIO_MMIO_SIZE - 1 < base ||
        vdev->ops->config_size > VIRTIO_MMIO_SIZE - VIRTIO_MMIO_REG_CONFIG) {
        return -EINVAL;
    }
    if (vdev->transport) {
        return -EBUSY;
    }
    virtio_mmio_t *m = calloc(1, sizeof(*m));
    if (!m) {
        return -ENOMEM;
    }
    m->vm = vm;
    m->vdev = vdev;
    m->base = base;
    m->intid = intid;
    m->io = io;
    m->irq_fd = -1;
    vmm_ratelimit_init(&m->log_rl, 5000, 10);
    for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
        m->doorbells[i] = (struct mmio_doorbell){.m = m, .idx = i, .fd = -1};
    }

    int rc = irqfd_setup(m);
    if (rc == 0 && io) {
        rc = doorbells_setup(m);
    }
    if (rc < 0) {
        LOG_ERR("%s: virtio-mmio@%#llx: eventfd set-up failed: %s", vdev->name,
                (unsigned long long)base, strerror(-rc));
        mmio_free(m);
        return rc;
    }
    pthread_mutex_lock(&vdev->lock);
    virtio_device_set_transport(vdev, &mmio_transport_ops, m);
    pthread_mutex_unlock(&vdev->lock);

    m->res = vm_reserve_memory_at(vm, base, VIRTIO_MMIO_SIZE, mmio_fault, m);
    if (!m->res) {
        rc = errno ? -errno : -ENOMEM;
        LOG_ERR("%s: virtio-mmio window %#llx-%#llx: %s", vdev->name, (unsigned long long)base,
                (unsigned long long)(base + VIRTIO_MMIO_SIZE - 1), strerror(-rc));
        pthread_mutex_lock(&vdev->lock);
        virtio_device_set_transport(vdev, NULL, NULL);
        pthread_mutex_unlock(&vdev->lock);
        mmio_free(m);
        return rc;
    }
    LOG_DEBUG("%s: virtio-mmio at %#llx, interrupt %u (%s, %s)", vdev->name,
              (unsigned long long)base, intid,
              m->has_doorbells ? "ioeventfd kicks" : "kicks by exit",
              m->irq_bound ? "irqfd" : "line pulse");
    *out = m;
    return 0;
}

void virtio_mmio_unregister(virtio_mmio_t *m)
{
    if (!m) {
        return;
    }
    virtio_device_t *vdev = m->vdev;
    /* mmio_free() stops the I/O-thread handlers before anything goes; they take vdev->lock. */
    for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
        doorbell_teardown(m, &m->doorbells[i]);
    }
    pthread_mutex_lock(&vdev->lock);
    virtio_device_set_transport(vdev, NULL, NULL);
    pthread_mutex_unlock(&vdev->lock);
    mmio_free(m);
}

void virtio_mmio_reset(virtio_mmio_t *m)
{
    if (!m) {
        return;
    }
    pthread_mutex_lock(&m->vdev->lock);
    virtio_device_reset(m->vdev); /* calls mmio_transport_reset() */
    pthread_mutex_unlock(&m->vdev->lock);
}

virtio_device_t *virtio_mmio_device(const virtio_mmio_t *m)
{
    return m ? m->vdev : NULL;
}

uint64_t virtio_mmio_base(const virtio_mmio_t *m)
{
    return m ? m->base : 0;
}

bool virtio_mmio_has_ioeventfd(const virtio_mmio_t *m)
{
    return m && m->has_doorbells;
}

bool virtio_mmio_has_irqfd(const virtio_mmio_t *m)
{
    return m && m->irq_bound;
}
