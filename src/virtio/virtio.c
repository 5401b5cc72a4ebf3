/*
 * virtio.c - the transport-independent half of a virtio device (see
 * vmmkit/virtio.h): the device status state machine (virtio 1.2, 2.1 and
 * 3.1.1), feature negotiation (2.2), config-space bounds, the queues'
 * configuration before they go live (2.7) and DEVICE_NEEDS_RESET (2.1.2).
 *
 * Everything here runs with vdev->lock held and treats the values it is
 * given as the guest's: each is checked, and a bad one is ignored (named,
 * counted, logged rate-limited) or puts the device into DEVICE_NEEDS_RESET.
 * Nothing a driver writes stops the VMM.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <vmmkit/log.h>
#include <vmmkit/virtio.h>

/* Status bits a driver may set (2.1); DEVICE_NEEDS_RESET is the device's. */
#define DRIVER_STATUS_BITS                                                                         \
    (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |                \
     VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FAILED)

/* Feature bits the common layer offers on top of the device's own. */
#define COMMON_FEATURES                                                                            \
    ((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_RING_INDIRECT_DESC) |                        \
     (1ull << VIRTIO_F_RING_EVENT_IDX))

static const char *const virtio_error_names[VIRTIO_E_COUNT] = {
    [VIRTIO_E_STATUS_CLEAR] = "status-clear",
    [VIRTIO_E_STATUS_ORDER] = "status-order",
    [VIRTIO_E_STATUS_RESERVED] = "status-reserved",
    [VIRTIO_E_FEATURES_REFUSED] = "features-refused",
    [VIRTIO_E_FEATURES_LATE] = "features-late",
    [VIRTIO_E_FEATURES_SELECT] = "features-select",
    [VIRTIO_E_CONFIG_WIDTH] = "config-width",
    [VIRTIO_E_CONFIG_RANGE] = "config-range",
    [VIRTIO_E_CONFIG_READONLY] = "config-readonly",
    [VIRTIO_E_QUEUE_INDEX] = "queue-index",
    [VIRTIO_E_QUEUE_STATE] = "queue-state",
    [VIRTIO_E_QUEUE_CONFIG] = "queue-config",
    [VIRTIO_E_NOTIFY_NOT_READY] = "notify-not-ready",
    [VIRTIO_E_NOTIFY_NOT_LIVE] = "notify-not-live",
    [VIRTIO_E_ACTIVATE] = "activate",
};

/* What the driver should have done instead, for the log line. */
static const char *const virtio_error_hints[VIRTIO_E_COUNT] = {
    [VIRTIO_E_STATUS_CLEAR] = "status bits are only cleared by writing 0 (2.1.1)",
    [VIRTIO_E_STATUS_ORDER] = "set ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK in order; "
                              "reset after FAILED (3.1.1)",
    [VIRTIO_E_STATUS_RESERVED] = "only ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK and FAILED "
                                 "are the driver's (2.1)",
    [VIRTIO_E_FEATURES_REFUSED] = "accept a subset of the offered features including "
                                  "VERSION_1 (2.2.2, 6.1)",
    [VIRTIO_E_FEATURES_LATE] = "features are fixed once FEATURES_OK is set (3.1.1)",
    [VIRTIO_E_FEATURES_SELECT] = "no feature bits beyond 63 are offered",
    [VIRTIO_E_CONFIG_WIDTH] = "config accesses are 1, 2, 4 or 8 bytes, aligned (4.2.2.2)",
    [VIRTIO_E_CONFIG_RANGE] = "config accesses stay inside the device's config space",
    [VIRTIO_E_CONFIG_READONLY] = "this device's config space is read-only",
    [VIRTIO_E_QUEUE_INDEX] = "queue indices are below the device's number of queues",
    [VIRTIO_E_QUEUE_STATE] = "enable a queue once, after FEATURES_OK (3.1.1)",
    [VIRTIO_E_QUEUE_CONFIG] = "a queue size is a power of 2 up to the maximum and the rings "
                              "lie in guest RAM, aligned (2.7)",
    [VIRTIO_E_NOTIFY_NOT_READY] = "kick only queues that are enabled",
    [VIRTIO_E_NOTIFY_NOT_LIVE] = "kick only after DRIVER_OK and before FAILED (2.1.2)",
    [VIRTIO_E_ACTIVATE] = "the device could not start; reset it",
};

const char *virtio_error_name(virtio_error_t err)
{
    if ((unsigned int)err >= VIRTIO_E_COUNT) {
        return "unknown";
    }
    return virtio_error_names[err];
}

uint64_t virtio_device_error_count(const virtio_device_t *vdev, virtio_error_t err)
{
    if (!vdev || (unsigned int)err >= VIRTIO_E_COUNT) {
        return 0;
    }
    return __atomic_load_n(&vdev->errors[err], __ATOMIC_RELAXED);
}

/*
 * Count @err against @vdev and log it rate-limited: the device's name, the
 * reason's name, the details (@fmt) and what would have been right.
 */
static void virtio_fail(virtio_device_t *vdev, virtio_error_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void virtio_fail(virtio_device_t *vdev, virtio_error_t err, const char *fmt, ...)
{
    __atomic_fetch_add(&vdev->errors[err], 1, __ATOMIC_RELAXED);
    if (!vmm_log_enabled(VMM_LOG_WARN)) {
        return;
    }
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    LOG_WARN_RL(&vdev->log_rl, "%s: %s: %s; %s", vdev->name, virtio_error_name(err), what,
                virtio_error_hints[err]);
}

static bool is_power_of_2(uint32_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

/* qcfg[@idx] in its reset state (4.1.4.3: queue_size reads the maximum). */
static void queue_config_reset(virtio_device_t *vdev, unsigned int idx)
{
    vdev->qcfg[idx] = (virtio_queue_config_t){
        .size = vdev->ops->queue_max_size,
        .msix_vector = VIRTIO_MSI_NO_VECTOR,
    };
}

int virtio_device_init(virtio_device_t *vdev, vm_t *vm, const virtio_device_ops_t *ops, void *priv,
                       unsigned int index)
{
    if (!vdev || !vm || !ops || !ops->name || ops->num_queues == 0 ||
        ops->num_queues > VIRTIO_MAX_QUEUES || !is_power_of_2(ops->queue_max_size) ||
        ops->queue_max_size > VIRTQ_MAX_SIZE) {
        return -EINVAL;
    }
    memset(vdev, 0, sizeof(*vdev));
    int rc = pthread_mutex_init(&vdev->lock, NULL);
    if (rc != 0) {
        return -rc;
    }
    vdev->ops = ops;
    vdev->priv = priv;
    vdev->vm = vm;
    snprintf(vdev->name, sizeof(vdev->name), "%s%u", ops->name, index);
    vdev->device_features = ops->features | COMMON_FEATURES;
    vmm_ratelimit_init(&vdev->log_rl, 5000, 10);
    for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
        virtq_t *q = &vdev->queues[i];
        virtq_reset(q);
        q->vm = vm;
        snprintf(vdev->queue_names[i], sizeof(vdev->queue_names[i]), "%s.q%u", vdev->name, i);
        q->name = vdev->queue_names[i];
        queue_config_reset(vdev, i);
    }
    return 0;
}

void virtio_device_set_transport(virtio_device_t *vdev, const virtio_transport_ops_t *t,
                                 void *transport_priv)
{
    vdev->transport = t;
    vdev->transport_priv = t ? transport_priv : NULL;
}

static void notify_config(virtio_device_t *vdev)
{
    if (vdev->transport && vdev->transport->notify_config) {
        vdev->transport->notify_config(vdev);
    }
}

void virtio_device_set_needs_reset(virtio_device_t *vdev, const char *why)
{
    bool first = !(vdev->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);

    LOG_WARN_RL(&vdev->log_rl, "%s: device needs reset: %s", vdev->name, why ? why : "error");
    vdev->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    /* 2.1.2: after DRIVER_OK the driver must be told; before it, Linux keeps
     * the config interrupt pending until it is ready, so telling is harmless. */
    if (first) {
        notify_config(vdev);
    }
}

void virtio_device_reset(virtio_device_t *vdev)
{
    if (vdev->ops->reset) {
        vdev->ops->reset(vdev);
    }
    for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
        virtq_reset(&vdev->queues[i]);
        queue_config_reset(vdev, i);
    }
    vdev->status = 0;
    vdev->driver_features = 0;
    vdev->driver_features_beyond_64 = false;
    vdev->notify_pending = 0;
    if (vdev->transport && vdev->transport->reset) {
        vdev->transport->reset(vdev);
    }
}

/* 2.2.2 and 6.1: FEATURES_OK only for a subset of the offer that includes VERSION_1. */
static bool features_acceptable(virtio_device_t *vdev)
{
    uint64_t extra = vdev->driver_features & ~vdev->device_features;

    if (extra || vdev->driver_features_beyond_64) {
        virtio_fail(vdev, VIRTIO_E_FEATURES_REFUSED,
                    "FEATURES_OK refused: features %#llx are not offered (offered %#llx)",
                    (unsigned long long)extra, (unsigned long long)vdev->device_features);
        return false;
    }
    if (!(vdev->driver_features & (1ull << VIRTIO_F_VERSION_1))) {
        virtio_fail(vdev, VIRTIO_E_FEATURES_REFUSED,
                    "FEATURES_OK refused: no VERSION_1 in features %#llx (legacy drivers are "
                    "not supported)",
                    (unsigned long long)vdev->driver_features);
        return false;
    }
    return true;
}

/* DRIVER_OK was just set: start the device and hand it the early kicks. */
static void device_activate(virtio_device_t *vdev)
{
    if (vdev->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET) {
        /* It broke during set-up: do not start it; make sure the driver hears (2.1.2). */
        vdev->notify_pending = 0;
        notify_config(vdev);
        return;
    }
    if (vdev->ops->activate) {
        int rc = vdev->ops->activate(vdev);
        if (rc != 0) {
            virtio_fail(vdev, VIRTIO_E_ACTIVATE,
                        "DRIVER_OK: the device failed to start (%d): needs reset", rc);
            vdev->notify_pending = 0;
            virtio_device_set_needs_reset(vdev, "the device failed to start");
            return;
        }
    }
    uint64_t pending = vdev->notify_pending;
    vdev->notify_pending = 0;
    for (unsigned int i = 0; i < vdev->ops->num_queues && pending; i++) {
        if ((pending & (1ull << i)) && vdev->queues[i].ready && vdev->ops->queue_notify) {
            vdev->ops->queue_notify(vdev, i);
        }
    }
}

void virtio_device_write_status(virtio_device_t *vdev, uint8_t value)
{
    if (value == 0) {
        virtio_device_reset(vdev); /* 2.1.1, 2.4 */
        return;
    }
    uint8_t old = vdev->status & DRIVER_STATUS_BITS;
    uint8_t want = value & DRIVER_STATUS_BITS;

    /* Writing back DEVICE_NEEDS_RESET as read is fine; setting it or reserved bits is not. */
    uint8_t reserved =
        value & ~DRIVER_STATUS_BITS & ~(vdev->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    if (reserved) {
        virtio_fail(vdev, VIRTIO_E_STATUS_RESERVED,
                    "status write %#x sets reserved bits %#x: dropped", value, reserved);
    }
    if ((want & old) != old) {
        virtio_fail(vdev, VIRTIO_E_STATUS_CLEAR, "status write %#x clears bits %#x of %#x: ignored",
                    value, old & ~want, vdev->status);
        return;
    }
    uint8_t added = want & ~old;
    if (!added) {
        return;
    }
    if (old & VIRTIO_STATUS_FAILED) {
        virtio_fail(vdev, VIRTIO_E_STATUS_ORDER,
                    "status write %#x after FAILED: ignored until a reset", value);
        return;
    }
    if (added & VIRTIO_STATUS_FAILED) {
        /* 2.1: the driver gave up; only a reset brings the device back. */
        LOG_INFO_RL(&vdev->log_rl, "%s: the driver set FAILED (status %#x)", vdev->name, value);
        vdev->status |= VIRTIO_STATUS_FAILED;
        vdev->notify_pending = 0;
        return;
    }
    /* 3.1.1: each step needs the one before it (given earlier or in this write). */
    if (((added & VIRTIO_STATUS_DRIVER) && !(want & VIRTIO_STATUS_ACKNOWLEDGE)) ||
        ((added & VIRTIO_STATUS_FEATURES_OK) && !(want & VIRTIO_STATUS_DRIVER)) ||
        ((added & VIRTIO_STATUS_DRIVER_OK) && !(want & VIRTIO_STATUS_FEATURES_OK))) {
        virtio_fail(vdev, VIRTIO_E_STATUS_ORDER, "status write %#x on %#x skips a step: ignored",
                    value, vdev->status);
        return;
    }
    vdev->status |= added & (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    if (added & VIRTIO_STATUS_FEATURES_OK) {
        if (!features_acceptable(vdev)) {
            return; /* FEATURES_OK stays clear (2.2.2); DRIVER_OK cannot follow it */
        }
        vdev->status |= VIRTIO_STATUS_FEATURES_OK;
    }
    if (added & VIRTIO_STATUS_DRIVER_OK) {
        vdev->status |= VIRTIO_STATUS_DRIVER_OK;
        device_activate(vdev);
    }
}

uint32_t virtio_device_read_features(virtio_device_t *vdev, uint32_t select)
{
    switch (select) {
    case 0:
        return (uint32_t)vdev->device_features;
    case 1:
        return (uint32_t)(vdev->device_features >> 32);
    default:
        return 0; /* nothing offered beyond bit 63 */
    }
}

void virtio_device_write_features(virtio_device_t *vdev, uint32_t select, uint32_t value)
{
    if (vdev->status & VIRTIO_STATUS_FEATURES_OK) {
        virtio_fail(vdev, VIRTIO_E_FEATURES_LATE, "features[%u] = %#x after FEATURES_OK: ignored",
                    select, value);
        return;
    }
    switch (select) {
    case 0:
        vdev->driver_features = (vdev->driver_features & ~0xffffffffull) | value;
        break;
    case 1:
        vdev->driver_features = (vdev->driver_features & 0xffffffffull) | ((uint64_t)value << 32);
        break;
    default:
        if (value != 0) {
            virtio_fail(vdev, VIRTIO_E_FEATURES_SELECT,
                        "features[%u] = %#x: FEATURES_OK will be refused", select, value);
            vdev->driver_features_beyond_64 = true;
        }
        break;
    }
}

/*
 * Whether a config access of @len bytes at @offset may reach the device:
 * 4.2.2.2 / 4.1.3.1 let drivers use 8-, 16- and 32-bit accesses aligned to
 * their width (64-bit fields as two aligned 32-bit halves); an 8-byte access
 * aligned to 4 is taken too.
 */
static bool config_access_ok(virtio_device_t *vdev, uint32_t offset, uint32_t len, bool write)
{
    const char *dir = write ? "write" : "read";

    if ((len != 1 && len != 2 && len != 4 && len != 8) || (offset & ((len < 4 ? len : 4) - 1))) {
        virtio_fail(vdev, VIRTIO_E_CONFIG_WIDTH, "config %s of %u bytes at %#x: %s", dir, len,
                    offset, write ? "dropped" : "reads 0");
        return false;
    }
    if ((uint64_t)offset + len > vdev->ops->config_size) {
        virtio_fail(vdev, VIRTIO_E_CONFIG_RANGE, "config %s of %u bytes at %#x (size %u): %s", dir,
                    len, offset, vdev->ops->config_size, write ? "dropped" : "reads 0");
        return false;
    }
    return true;
}

void virtio_device_config_read(virtio_device_t *vdev, uint32_t offset, void *buf, uint32_t len)
{
    memset(buf, 0, len);
    if (config_access_ok(vdev, offset, len, false) && vdev->ops->config_read) {
        vdev->ops->config_read(vdev, offset, buf, len);
    }
}

void virtio_device_config_write(virtio_device_t *vdev, uint32_t offset, const void *buf,
                                uint32_t len)
{
    if (!config_access_ok(vdev, offset, len, true)) {
        return;
    }
    if (!vdev->ops->config_write) {
        virtio_fail(vdev, VIRTIO_E_CONFIG_READONLY, "config write of %u bytes at %#x: dropped", len,
                    offset);
        return;
    }
    vdev->ops->config_write(vdev, offset, buf, len);
}

/* @idx names a queue of this device; counts QUEUE_INDEX for @what when not. */
static bool queue_index_ok(virtio_device_t *vdev, unsigned int idx, const char *what)
{
    if (idx >= vdev->ops->num_queues) {
        virtio_fail(vdev, VIRTIO_E_QUEUE_INDEX, "%s queue %u (the device has %u): ignored", what,
                    idx, vdev->ops->num_queues);
        return false;
    }
    return true;
}

void virtio_device_queue_enable(virtio_device_t *vdev, unsigned int idx)
{
    if (!queue_index_ok(vdev, idx, "enable")) {
        return;
    }
    virtio_queue_config_t *c = &vdev->qcfg[idx];
    if (c->enabled) {
        virtio_fail(vdev, VIRTIO_E_QUEUE_STATE, "enable queue %u, which is enabled: ignored", idx);
        return;
    }
    if (!(vdev->status & VIRTIO_STATUS_FEATURES_OK)) {
        /* The ring format (EVENT_IDX, INDIRECT) is not settled yet (3.1.1). */
        virtio_fail(vdev, VIRTIO_E_QUEUE_STATE,
                    "enable queue %u before FEATURES_OK (status %#x): refused", idx, vdev->status);
        virtio_device_set_needs_reset(vdev, "a queue was enabled before FEATURES_OK");
        return;
    }
    if (!is_power_of_2(c->size) || c->size > vdev->ops->queue_max_size) {
        virtio_fail(vdev, VIRTIO_E_QUEUE_CONFIG,
                    "queue %u size %u (a power of 2 up to %u): refused", idx, c->size,
                    vdev->ops->queue_max_size);
        virtio_device_set_needs_reset(vdev, "a queue was enabled with a bad size");
        return;
    }
    int rc = virtq_enable(&vdev->queues[idx], vdev->vm, c->size, c->desc, c->driver, c->device,
                          virtio_device_has_feature(vdev, VIRTIO_F_RING_EVENT_IDX),
                          virtio_device_has_feature(vdev, VIRTIO_F_RING_INDIRECT_DESC));
    if (rc != 0) {
        virtio_fail(vdev, VIRTIO_E_QUEUE_CONFIG,
                    "queue %u rings desc %#llx driver %#llx device %#llx size %u: refused", idx,
                    (unsigned long long)c->desc, (unsigned long long)c->driver,
                    (unsigned long long)c->device, c->size);
        virtio_device_set_needs_reset(vdev, "a queue's rings are not in guest RAM");
        return;
    }
    c->enabled = true;
}

void virtio_device_queue_disable(virtio_device_t *vdev, unsigned int idx)
{
    if (!queue_index_ok(vdev, idx, "disable")) {
        return;
    }
    if (vdev->ops->queue_disable && vdev->queues[idx].ready) {
        vdev->ops->queue_disable(vdev, idx);
    }
    vdev->qcfg[idx].enabled = false;
    vdev->notify_pending &= ~(1ull << idx);
    virtq_reset(&vdev->queues[idx]);
}

void virtio_device_queue_notify(virtio_device_t *vdev, unsigned int idx)
{
    if (!queue_index_ok(vdev, idx, "kick")) {
        return;
    }
    if (!vdev->qcfg[idx].enabled || !vdev->queues[idx].ready) {
        virtio_fail(vdev, VIRTIO_E_NOTIFY_NOT_READY, "kick queue %u, which is not enabled: ignored",
                    idx);
        return;
    }
    if (vdev->status & (VIRTIO_STATUS_FAILED | VIRTIO_STATUS_DEVICE_NEEDS_RESET)) {
        virtio_fail(vdev, VIRTIO_E_NOTIFY_NOT_LIVE, "kick queue %u with status %#x: dropped", idx,
                    vdev->status);
        return;
    }
    if (!(vdev->status & VIRTIO_STATUS_DRIVER_OK)) {
        /* 2.1.2: no buffers are used before DRIVER_OK; keep the kick for then. */
        virtio_fail(vdev, VIRTIO_E_NOTIFY_NOT_LIVE,
                    "kick queue %u before DRIVER_OK: deferred to DRIVER_OK", idx);
        vdev->notify_pending |= 1ull << idx;
        return;
    }
    if (vdev->ops->queue_notify) {
        vdev->ops->queue_notify(vdev, idx);
    }
}

void virtio_device_used(virtio_device_t *vdev, unsigned int idx)
{
    if (idx >= vdev->ops->num_queues || !(vdev->status & VIRTIO_STATUS_DRIVER_OK)) {
        return;
    }
    if (virtq_should_notify(&vdev->queues[idx]) && vdev->transport &&
        vdev->transport->notify_used) {
        vdev->transport->notify_used(vdev, idx);
    }
}

void virtio_device_config_changed(virtio_device_t *vdev)
{
    vdev->config_generation++;
    notify_config(vdev);
}

bool virtio_device_has_feature(const virtio_device_t *vdev, unsigned int bit)
{
    return bit < 64 && (vdev->status & VIRTIO_STATUS_FEATURES_OK) &&
           (vdev->driver_features & (1ull << bit));
}
