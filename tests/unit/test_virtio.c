/*
 * test_virtio.c - the transport-independent virtio device layer
 * (src/virtio/virtio.c) with a dummy device and a recording transport over
 * fake-backend guest RAM: every status transition (legal and not), feature
 * negotiation, config-space bounds, queue enable / disable / notify,
 * DEVICE_NEEDS_RESET, reset, used-buffer and config interrupts, counters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <vmmkit/guest_memory.h>
#include <vmmkit/log.h>
#include <vmmkit/virtio.h>

#include "fake_hv.h"

#define RAM_BASE 0x100000ull
#define RAM_SIZE 0x100000ull
#define DESC_GPA (RAM_BASE + 0x0000)
#define AVAIL_GPA (RAM_BASE + 0x1000)
#define USED_GPA (RAM_BASE + 0x2000)
#define QMAX 16u
#define NQ 2u
#define CFG_SIZE 12u

#define ACK VIRTIO_STATUS_ACKNOWLEDGE
#define DRV VIRTIO_STATUS_DRIVER
#define FOK VIRTIO_STATUS_FEATURES_OK
#define DOK VIRTIO_STATUS_DRIVER_OK
#define NEEDS_RESET VIRTIO_STATUS_DEVICE_NEEDS_RESET
#define FAILED VIRTIO_STATUS_FAILED
#define F_V1 (1ull << VIRTIO_F_VERSION_1)
#define F_DEV0 (1ull << 0) /* device-specific bits the dummy offers */
#define F_DEV5 (1ull << 5)

/* What the dummy device and the recording transport saw. */
struct fixture {
    vm_t *vm;
    virtio_device_t vdev;
    uint8_t config[CFG_SIZE];
    int activate_calls, activate_rc;
    int notify_calls[NQ];
    int reset_calls, config_writes;
    int used_irqs[NQ], config_irqs, transport_resets;
};

static struct fixture *fx(virtio_device_t *vdev)
{
    return vdev->priv;
}

static void dummy_config_read(virtio_device_t *vdev, uint32_t offset, void *buf, uint32_t len)
{
    memcpy(buf, fx(vdev)->config + offset, len);
}

static void dummy_config_write(virtio_device_t *vdev, uint32_t offset, const void *buf,
                               uint32_t len)
{
    memcpy(fx(vdev)->config + offset, buf, len);
    fx(vdev)->config_writes++;
}

static int dummy_activate(virtio_device_t *vdev)
{
    fx(vdev)->activate_calls++;
    return fx(vdev)->activate_rc;
}

static void dummy_queue_notify(virtio_device_t *vdev, unsigned int idx)
{
    assert_true(idx < NQ);
    fx(vdev)->notify_calls[idx]++;
}

static void dummy_reset(virtio_device_t *vdev)
{
    fx(vdev)->reset_calls++;
}

static const virtio_device_ops_t dummy_ops = {
    .name = "virtio-dummy",
    .device_id = 42,
    .num_queues = NQ,
    .queue_max_size = QMAX,
    .features = F_DEV0 | F_DEV5,
    .config_size = CFG_SIZE,
    .config_read = dummy_config_read,
    .config_write = dummy_config_write,
    .activate = dummy_activate,
    .queue_notify = dummy_queue_notify,
    .reset = dummy_reset,
};

static void rec_notify_used(virtio_device_t *vdev, unsigned int queue)
{
    fx(vdev)->used_irqs[queue]++;
}

static void rec_notify_config(virtio_device_t *vdev)
{
    fx(vdev)->config_irqs++;
}

static void rec_reset(virtio_device_t *vdev)
{
    fx(vdev)->transport_resets++;
}

static const virtio_transport_ops_t rec_transport = {
    .notify_used = rec_notify_used,
    .notify_config = rec_notify_config,
    .reset = rec_reset,
};

static int setup(void **state)
{
    vmm_log_set_level(VMM_LOG_ERR); /* the tests provoke warnings on purpose */
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->vm = fake_vm_create();
    assert_non_null(f->vm);
    assert_int_equal(vm_ram_add(f->vm, RAM_BASE, RAM_SIZE), 0);
    for (unsigned int i = 0; i < CFG_SIZE; i++) {
        f->config[i] = (uint8_t)(0x10 + i);
    }
    assert_int_equal(virtio_device_init(&f->vdev, f->vm, &dummy_ops, f, 3), 0);
    virtio_device_set_transport(&f->vdev, &rec_transport, f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    vm_destroy(f->vm);
    free(f);
    return 0;
}

static uint64_t errs(struct fixture *f, virtio_error_t e)
{
    return virtio_device_error_count(&f->vdev, e);
}

/* The sum of every counter, to check that a legal action counts nothing. */
static uint64_t all_errs(struct fixture *f)
{
    uint64_t n = 0;
    for (int e = 0; e < VIRTIO_E_COUNT; e++) {
        n += errs(f, (virtio_error_t)e);
    }
    return n;
}

static void write_features(struct fixture *f, uint64_t features)
{
    virtio_device_write_features(&f->vdev, 0, (uint32_t)features);
    virtio_device_write_features(&f->vdev, 1, (uint32_t)(features >> 32));
}

/* ACKNOWLEDGE, DRIVER, @features, FEATURES_OK: the driver's steps 1-5 of 3.1.1. */
static void negotiate(struct fixture *f, uint64_t features)
{
    virtio_device_write_status(&f->vdev, ACK);
    virtio_device_write_status(&f->vdev, ACK | DRV);
    write_features(f, features);
    virtio_device_write_status(&f->vdev, ACK | DRV | FOK);
    assert_int_equal(f->vdev.status, ACK | DRV | FOK);
}

/* Queue @idx configured on valid rings in RAM, then enabled. */
static void enable_queue(struct fixture *f, unsigned int idx, uint16_t size)
{
    virtio_queue_config_t *c = &f->vdev.qcfg[idx];
    c->size = size;
    c->desc = DESC_GPA + idx * 0x4000;
    c->driver = AVAIL_GPA + idx * 0x4000;
    c->device = USED_GPA + idx * 0x4000;
    virtio_device_queue_enable(&f->vdev, idx);
}

/* A device brought all the way up with queue 0 live. */
static void bring_up(struct fixture *f, uint64_t features)
{
    negotiate(f, features);
    enable_queue(f, 0, QMAX);
    assert_true(f->vdev.qcfg[0].enabled);
    virtio_device_write_status(&f->vdev, ACK | DRV | FOK | DOK);
    assert_int_equal(f->vdev.status, ACK | DRV | FOK | DOK);
}

/* --- init ------------------------------------------------------------------------------ */

static void test_init(void **state)
{
    struct fixture *f = *state;
    virtio_device_t *v = &f->vdev;

    assert_string_equal(v->name, "virtio-dummy3");
    assert_string_equal(v->queues[1].name, "virtio-dummy3.q1");
    assert_int_equal(v->status, 0);
    assert_int_equal(v->device_features, F_DEV0 | F_DEV5 | F_V1 |
                                             (1ull << VIRTIO_F_RING_INDIRECT_DESC) |
                                             (1ull << VIRTIO_F_RING_EVENT_IDX));
    for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
        assert_int_equal(v->qcfg[i].size, QMAX); /* PCI queue_size reads the maximum */
        assert_int_equal(v->qcfg[i].msix_vector, VIRTIO_MSI_NO_VECTOR);
        assert_false(v->qcfg[i].enabled);
        assert_false(v->queues[i].ready);
    }
    assert_int_equal(all_errs(f), 0);

    /* Malformed device descriptions are refused. */
    virtio_device_t d;
    virtio_device_ops_t bad = dummy_ops;
    bad.name = NULL;
    assert_int_equal(virtio_device_init(&d, f->vm, &bad, NULL, 0), -EINVAL);
    bad = dummy_ops;
    bad.num_queues = 0;
    assert_int_equal(virtio_device_init(&d, f->vm, &bad, NULL, 0), -EINVAL);
    bad.num_queues = VIRTIO_MAX_QUEUES + 1;
    assert_int_equal(virtio_device_init(&d, f->vm, &bad, NULL, 0), -EINVAL);
    bad = dummy_ops;
    bad.queue_max_size = 0;
    assert_int_equal(virtio_device_init(&d, f->vm, &bad, NULL, 0), -EINVAL);
    bad.queue_max_size = 48;
    assert_int_equal(virtio_device_init(&d, f->vm, &bad, NULL, 0), -EINVAL);
    assert_int_equal(virtio_device_init(&d, NULL, &dummy_ops, NULL, 0), -EINVAL);
    assert_int_equal(virtio_device_init(NULL, f->vm, &dummy_ops, NULL, 0), -EINVAL);
    bad = dummy_ops;
    bad.num_queues = VIRTIO_MAX_QUEUES;
    bad.queue_max_size = VIRTQ_MAX_SIZE;
    assert_int_equal(virtio_device_init(&d, f->vm, &bad, NULL, 0), 0);
}

static void test_error_names(void **state)
{
    for (int i = 0; i < VIRTIO_E_COUNT; i++) {
        const char *n = virtio_error_name((virtio_error_t)i);
        assert_non_null(n);
        assert_string_not_equal(n, "unknown");
        for (int j = 0; j < i; j++) {
            assert_string_not_equal(n, virtio_error_name((virtio_error_t)j));
        }
    }
    assert_string_equal(virtio_error_name(VIRTIO_E_COUNT), "unknown");
    assert_string_equal(virtio_error_name((virtio_error_t)-1), "unknown");
    assert_int_equal(virtio_device_error_count(NULL, VIRTIO_E_STATUS_CLEAR), 0);
}

/* --- status ---------------------------------------------------------------------------- */

static void test_status_happy_path(void **state)
{
    struct fixture *f = *state;

    bring_up(f, F_V1 | F_DEV5);
    assert_int_equal(f->activate_calls, 1);
    assert_int_equal(f->vdev.driver_features, F_V1 | F_DEV5);
    assert_true(virtio_device_has_feature(&f->vdev, VIRTIO_F_VERSION_1));
    assert_true(virtio_device_has_feature(&f->vdev, 5));
    assert_false(virtio_device_has_feature(&f->vdev, 0));
    assert_false(virtio_device_has_feature(&f->vdev, 64));
    /* Writing the same status again changes nothing and is no error. */
    virtio_device_write_status(&f->vdev, ACK | DRV | FOK | DOK);
    assert_int_equal(f->activate_calls, 1);
    assert_int_equal(all_errs(f), 0);
    assert_int_equal(f->config_irqs, 0);
}

static void test_status_steps_in_one_write(void **state)
{
    struct fixture *f = *state;

    /* Several steps at once are fine as long as none is skipped. */
    virtio_device_write_status(&f->vdev, ACK | DRV);
    assert_int_equal(f->vdev.status, ACK | DRV);
    write_features(f, F_V1);
    virtio_device_write_status(&f->vdev, ACK | DRV | FOK | DOK);
    assert_int_equal(f->vdev.status, ACK | DRV | FOK | DOK);
    assert_int_equal(f->activate_calls, 1);
    assert_int_equal(all_errs(f), 0);
}

static void test_status_order(void **state)
{
    struct fixture *f = *state;
    virtio_device_t *v = &f->vdev;

    virtio_device_write_status(v, DRV); /* DRIVER without ACKNOWLEDGE */
    assert_int_equal(v->status, 0);
    assert_int_equal(errs(f, VIRTIO_E_STATUS_ORDER), 1);

    virtio_device_write_status(v, ACK);
    virtio_device_write_status(v, ACK | FOK); /* FEATURES_OK without DRIVER */
    assert_int_equal(v->status, ACK);
    virtio_device_write_status(v, ACK | DOK); /* DRIVER_OK without FEATURES_OK */
    assert_int_equal(v->status, ACK);
    virtio_device_write_status(v, ACK | DRV);
    write_features(f, F_V1);
    virtio_device_write_status(v, ACK | DRV | DOK); /* still without FEATURES_OK */
    assert_int_equal(v->status, ACK | DRV);
    assert_int_equal(errs(f, VIRTIO_E_STATUS_ORDER), 4);
    assert_int_equal(f->activate_calls, 0);
}

static void test_status_clear_refused(void **state)
{
    struct fixture *f = *state;
    virtio_device_t *v = &f->vdev;

    bring_up(f, F_V1);
    virtio_device_write_status(v, ACK | DRV | FOK); /* drops DRIVER_OK */
    virtio_device_write_status(v, ACK);
    virtio_device_write_status(v, DOK | FOK | DRV); /* drops ACK */
    assert_int_equal(v->status, ACK | DRV | FOK | DOK);
    assert_int_equal(errs(f, VIRTIO_E_STATUS_CLEAR), 3);
    assert_int_equal(f->reset_calls, 0);
    assert_true(v->qcfg[0].enabled);
}

static void test_status_reserved_bits(void **state)
{
    struct fixture *f = *state;
    virtio_device_t *v = &f->vdev;

    /* Bits 16 and 32 are reserved: counted, the rest of the write still counts. */
    virtio_device_write_status(v, ACK | 16);
    assert_int_equal(v->status, ACK);
    virtio_device_write_status(v, ACK | DRV | 32);
    assert_int_equal(v->status, ACK | DRV);
    assert_int_equal(errs(f, VIRTIO_E_STATUS_RESERVED), 2);

    /* The driver cannot set DEVICE_NEEDS_RESET... */
    virtio_device_write_status(v, ACK | DRV | NEEDS_RESET);
    assert_int_equal(v->status, ACK | DRV);
    assert_int_equal(errs(f, VIRTIO_E_STATUS_RESERVED), 3);

    /* ...nor clear it; writing it back as read is no error. */
    virtio_device_set_needs_reset(v, "test");
    assert_int_equal(v->status, ACK | DRV | NEEDS_RESET);
    virtio_device_write_status(v, ACK | DRV);
    assert_int_equal(v->status, ACK | DRV | NEEDS_RESET);
    virtio_device_write_status(v, ACK | DRV | NEEDS_RESET);
    assert_int_equal(errs(f, VIRTIO_E_STATUS_RESERVED), 3);
    assert_int_equal(errs(f, VIRTIO_E_STATUS_CLEAR), 0);
    /* Only a reset clears it. */
    virtio_device_write_status(v, 0);
    assert_int_equal(v->status, 0);
}

static void test_status_failed(void **state)
{
    struct fixture *f = *state;
    virtio_device_t *v = &f->vdev;

    /* FAILED is honoured at any step, even the first. */
    virtio_device_write_status(v, FAILED);
    assert_int_equal(v->status, FAILED);
    virtio_device_write_status(v, 0);

    bring_up(f, F_V1);
    virtio_device_write_status(v, ACK | DRV | FOK | DOK | FAILED);
    assert_int_equal(v->status, ACK | DRV | FOK | DOK | FAILED);
    /* The device then serves nothing... */
    virtio_device_queue_notify(v, 0);
    assert_int_equal(f->notify_calls[0], 0);
    assert_int_equal(errs(f, VIRTIO_E_NOTIFY_NOT_LIVE), 1);
    /* ...and takes no further steps until a reset. */
    virtio_device_write_status(v, 0);
    virtio_device_write_status(v, FAILED);
    virtio_device_write_status(v, FAILED | ACK);
    assert_int_equal(v->status, FAILED);
    assert_int_equal(errs(f, VIRTIO_E_STATUS_ORDER), 1);
    virtio_device_write_status(v, 0);
    assert_int_equal(v->status, 0);
    bring_up(f, F_V1);
    assert_int_equal(f->activate_calls, 2);
}

static void test_activate_failure(void **state)
{
    struct fixture *f = *state;
    virtio_device_t *v = &f->vdev;

    f->activate_rc = -EIO;
    negotiate(f, F_V1);
    enable_queue(f, 0, QMAX);
    virtio_device_queue_notify(v, 0); /* early kick: would be delivered at DRIVER_OK */
    virtio_device_write_status(v, ACK | DRV | FOK | DOK);
    assert_int_equal(f->activate_calls, 1);
    assert_int_equal(v->status, ACK | DRV | FOK | DOK | NEEDS_RESET);
    assert_int_equal(errs(f, VIRTIO_E_ACTIVATE), 1);
    assert_int_equal(f->config_irqs, 1); /* 2.1.2: the driver is told */
    assert_int_equal(f->notify_calls[0], 0);
    virtio_device_queue_notify(v, 0);
    assert_int_equal(f->notify_calls[0], 0);
}

/* --- features -------------------------------------------------------------------------- */

static void test_features_read(void **state)
{
    struct fixture *f = *state;
    virtio_device_t *v = &f->vdev;

    assert_int_equal(virtio_device_read_features(v, 0), (uint32_t)v->device_features);
    assert_int_equal(virtio_device_read_features(v, 1), 1u); /* VERSION_1 is bit 32 */
    assert_int_equal(virtio_device_read_features(v, 2), 0);
    assert_int_equal(virtio_device_read_features(v, UINT32_MAX), 0);
    assert_int_equal(all_errs(f), 0);
}

static void test_features_halves(void **state)
{
    struct fixture *f = *state;
    virtio_device_t *v = &f->vdev;

    virtio_device_write_features(v, 1, 1);
    virtio_device_write_features(v, 0, (uint32_t)F_DEV0);
    assert_int_equal(v->driver_features, F_V1 | F_DEV0);
    virtio_device_write_features(v, 0, 0); /* each half replaces only itself */
    assert_int_equal(v->driver_features, F_V1);
    virtio_device_write_features(v, 2, 0); /* zero beyond bit 63: harmless */
    assert_int_equal(all_errs(f), 0);
    assert_false(virtio_device_has_feature(v, VIRTIO_F_VERSION_1)); /* not before FEATURES_OK */
}

static void test_features_subset_rule(void **state)
{
    struct fixture *f = *state;
    virtio_device_t *v = &f->vdev;

    virtio_device_write_status(v, ACK | DRV);
    write_features(f, F_V1 | (1ull << 7)); /* bit 7 is not offered */
    virtio_device_write_status(v, ACK | DRV | FOK);
    assert_int_equal(v->status, ACK | DRV); /* 2.2.2: FEATURES_OK stays clear */
    assert_int_equal(errs(f, VIRTIO_E_FEATURES_REFUSED), 1);

    /* DRIVER_OK cannot ride on a refused FEATURES_OK. */
    virtio_device_write_status(v, ACK | DRV | FOK | DOK);
    assert_int_equal(v->status, ACK | DRV);
    assert_int_equal(f->activate_calls, 0);

    /* The driver may retry with an acceptable subset. */
    write_features(f, F_V1 | F_DEV0);
    virtio_device_write_status(v, ACK | DRV | FOK);
    assert_int_equal(v->status, ACK | DRV | FOK);
    assert_int_equal(errs(f, VIRTIO_E_FEATURES_REFUSED), 2);
}

static void test_features_version_1_required(void **state)
{
    struct fixture *f = *state;
    virtio_device_t *v = &f->vdev;

    virtio_device_write_status(v, ACK | DRV);
    write_features(f, F_DEV0); /* a legacy driver */
    virtio_device_write_status(v, ACK | DRV | FOK);
    assert_int_equal(v->status, ACK | DRV);
    assert_int_equal(errs(f, VIRTIO_E_FEATURES_REFUSED), 1);
}

static void test_features_beyond_64(void **state)
{
    struct fixture *f = *state;
    virtio_device_t *v = &f->vdev;

    virtio_device_write_status(v, ACK | DRV);
    write_features(f, F_V1);
    virtio_device_write_features(v, 2, 1); /* accepts bit 64, never offered */
    assert_int_equal(errs(f, VIRTIO_E_FEATURES_SELECT), 1);
    virtio_device_write_status(v, ACK | DRV | FOK);
    assert_int_equal(v->status, ACK | DRV);
    assert_int_equal(errs(f, VIRTIO_E_FEATURES_REFUSED), 1);
    /* A reset forgets it. */
    virtio_device_write_status(v, 0);
    negotiate(f, F_V1);
}

static void test_features_late_write(void **state)
{
    struct fixture *f = *state;
    virtio_device_t *v = &f->vdev;

    negotiate(f, F_V1 | F_DEV0);
    virtio_device_write_features(v, 0, (uint32_t)F_DEV5);
    virtio_device_write_features(v, 1, 0);
    assert_int_equal(v->driver_features, F_V1 | F_DEV0);
    assert_int_equal(errs(f, VIRTIO_E_FEATURES_LATE), 2);
    assert_true(virtio_device_has_feature(v, 0));
}

/* --- config space ---------------------------------------------------------------------- */

static uint64_t cfg_read(struct fixture *f, uint32_t off, uint32_t len)
{
    uint64_t v = 0x5a5a5a5a5a5a5a5aull;
    virtio_device_config_read(&f->vdev, off, &v, len);
    if (len < 8) {
        v &= (1ull << (8 * len)) - 1; /* bytes past @len are not the read's */
    }
    return v;
}

static void test_config_widths(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(cfg_read(f, 0, 1), 0x10);
    assert_int_equal(cfg_read(f, 11, 1), 0x1b);
    assert_int_equal(cfg_read(f, 2, 2), 0x1312);
    assert_int_equal(cfg_read(f, 8, 4), 0x1b1a1918);
    assert_int_equal(cfg_read(f, 0, 8), 0x1716151413121110ull);
    assert_int_equal(cfg_read(f, 4, 8), 0x1b1a191817161514ull); /* a 64-bit field, 4-aligned */
    assert_int_equal(all_errs(f), 0);

    uint16_t w = 0xbeef;
    virtio_device_config_write(&f->vdev, 6, &w, 2);
    assert_int_equal(f->config[6], 0xef);
    assert_int_equal(f->config[7], 0xbe);
    uint64_t q = 0x0102030405060708ull;
    virtio_device_config_write(&f->vdev, 4, &q, 8);
    assert_int_equal(f->config[4], 0x08);
    assert_int_equal(f->config[11], 0x01);
    assert_int_equal(f->config_writes, 2);
    assert_int_equal(all_errs(f), 0);
}

static void test_config_bad_accesses(void **state)
{
    struct fixture *f = *state;

    /* Odd widths and misalignment: read 0, counted. */
    uint8_t wide[16];
    memset(wide, 0xa5, sizeof(wide));
    virtio_device_config_read(&f->vdev, 0, wide, 3);
    assert_int_equal(wide[0] | wide[1] | wide[2], 0);
    assert_int_equal(wide[3], 0xa5); /* nothing past @len */
    virtio_device_config_read(&f->vdev, 0, wide, 16);
    for (unsigned int i = 0; i < sizeof(wide); i++) {
        assert_int_equal(wide[i], 0);
    }
    assert_int_equal(cfg_read(f, 0, 0), 0);
    assert_int_equal(cfg_read(f, 1, 2), 0);
    assert_int_equal(cfg_read(f, 2, 4), 0);
    assert_int_equal(cfg_read(f, 2, 8), 0);
    assert_int_equal(errs(f, VIRTIO_E_CONFIG_WIDTH), 6);

    /* Past the end, straddling it, and offsets that would wrap. */
    assert_int_equal(cfg_read(f, CFG_SIZE, 1), 0);
    assert_int_equal(cfg_read(f, 8, 8), 0);
    assert_int_equal(cfg_read(f, 0x100, 4), 0);
    assert_int_equal(cfg_read(f, UINT32_MAX, 1), 0);
    assert_int_equal(cfg_read(f, UINT32_MAX - 3, 4), 0);
    assert_int_equal(errs(f, VIRTIO_E_CONFIG_RANGE), 5);

    /* Writes likewise dropped. */
    uint64_t v = ~0ull;
    virtio_device_config_write(&f->vdev, 1, &v, 4);
    virtio_device_config_write(&f->vdev, 8, &v, 8);
    virtio_device_config_write(&f->vdev, UINT32_MAX, &v, 1);
    assert_int_equal(f->config_writes, 0);
    assert_int_equal(f->config[8], 0x18);
    assert_int_equal(errs(f, VIRTIO_E_CONFIG_WIDTH), 7);
    assert_int_equal(errs(f, VIRTIO_E_CONFIG_RANGE), 7);
}

static void test_config_readonly_device(void **state)
{
    struct fixture *f = *state;
    virtio_device_ops_t ops = dummy_ops;
    ops.config_write = NULL;
    virtio_device_t d;
    assert_int_equal(virtio_device_init(&d, f->vm, &ops, f, 0), 0);

    uint32_t v = 1;
    virtio_device_config_write(&d, 0, &v, 4);
    assert_int_equal(virtio_device_error_count(&d, VIRTIO_E_CONFIG_READONLY), 1);
    assert_int_equal(f->config[0], 0x10);

    /* No config space at all: every access is out of range. */
    ops.config_size = 0;
    ops.config_read = NULL;
    assert_int_equal(virtio_device_init(&d, f->vm, &ops, f, 0), 0);
    uint8_t b = 0xff;
    virtio_device_config_read(&d, 0, &b, 1);
    assert_int_equal(b, 0);
    assert_int_equal(virtio_device_error_count(&d, VIRTIO_E_CONFIG_RANGE), 1);
}

static void test_config_changed(void **state)
{
    struct fixture *f = *state;
    uint8_t gen = f->vdev.config_generation;

    virtio_device_config_changed(&f->vdev);
    assert_int_equal(f->vdev.config_generation, (uint8_t)(gen + 1));
    assert_int_equal(f->config_irqs, 1);
    /* A reset keeps the generation moving forward, never back. */
    virtio_device_reset(&f->vdev);
    assert_int_equal(f->vdev.config_generation, (uint8_t)(gen + 1));
}

/* --- queues ---------------------------------------------------------------------------- */

static void test_queue_enable(void **state)
{
    struct fixture *f = *state;
    virtio_device_t *v = &f->vdev;

    negotiate(f, F_V1 | (1ull << VIRTIO_F_RING_EVENT_IDX));
    enable_queue(f, 1, 8);
    assert_true(v->qcfg[1].enabled);
    assert_true(v->queues[1].ready);
    assert_int_equal(v->queues[1].size, 8);
    assert_int_equal(v->queues[1].desc_gpa, DESC_GPA + 0x4000);
    assert_true(v->queues[1].event_idx); /* as negotiated */
    assert_false(v->queues[1].indirect);
    assert_int_equal(all_errs(f), 0);

    /* Twice: ignored, the live ring untouched, no reset needed. */
    virtio_device_queue_enable(v, 1);
    assert_int_equal(errs(f, VIRTIO_E_QUEUE_STATE), 1);
    assert_true(v->queues[1].ready);
    assert_int_equal(v->status & NEEDS_RESET, 0);

    /* A queue the device does not have. */
    virtio_device_queue_enable(v, NQ);
    virtio_device_queue_enable(v, UINT32_MAX);
    assert_int_equal(errs(f, VIRTIO_E_QUEUE_INDEX), 2);
    assert_int_equal(v->status & NEEDS_RESET, 0);
}

static void test_queue_enable_before_features_ok(void **state)
{
    struct fixture *f = *state;
    virtio_device_t *v = &f->vdev;

    virtio_device_write_status(v, ACK | DRV);
    enable_queue(f, 0, QMAX);
    assert_false(v->qcfg[0].enabled);
    assert_false(v->queues[0].ready);
    assert_int_equal(errs(f, VIRTIO_E_QUEUE_STATE), 1);
    assert_int_equal(v->status, ACK | DRV | NEEDS_RESET);
    assert_int_equal(f->config_irqs, 1);
}

/* Each bad configuration sends the device to DEVICE_NEEDS_RESET, the VMM lives on. */
static void expect_needs_reset(struct fixture *f, uint16_t size, uint64_t desc, uint64_t driver,
                               uint64_t device)
{
    virtio_device_t *v = &f->vdev;

    virtio_device_write_status(v, 0);
    negotiate(f, F_V1);
    int irqs = f->config_irqs;
    uint64_t before = errs(f, VIRTIO_E_QUEUE_CONFIG);
    v->qcfg[0] =
        (virtio_queue_config_t){.size = size, .desc = desc, .driver = driver, .device = device};
    virtio_device_queue_enable(v, 0);
    assert_false(v->qcfg[0].enabled);
    assert_false(v->queues[0].ready);
    assert_true(v->status & NEEDS_RESET);
    assert_int_equal(errs(f, VIRTIO_E_QUEUE_CONFIG), before + 1);
    assert_int_equal(f->config_irqs, irqs + 1);
    /* Once is enough to tell: a second bad enable does not interrupt again. */
    virtio_device_queue_enable(v, 0);
    assert_int_equal(f->config_irqs, irqs + 1);
    /* Nothing goes live afterwards either. */
    virtio_device_write_status(v, ACK | DRV | FOK | DOK);
    assert_int_equal(f->activate_calls, 0);
}

static void test_queue_bad_config(void **state)
{
    struct fixture *f = *state;

    expect_needs_reset(f, 0, DESC_GPA, AVAIL_GPA, USED_GPA);        /* size 0 */
    expect_needs_reset(f, 3, DESC_GPA, AVAIL_GPA, USED_GPA);        /* not a power of 2 */
    expect_needs_reset(f, QMAX * 2, DESC_GPA, AVAIL_GPA, USED_GPA); /* over the maximum */
    expect_needs_reset(f, 0xffff, DESC_GPA, AVAIL_GPA, USED_GPA);
    expect_needs_reset(f, QMAX, 0, AVAIL_GPA, USED_GPA);         /* desc not in RAM */
    expect_needs_reset(f, QMAX, DESC_GPA, 0x10000000, USED_GPA); /* avail not in RAM */
    expect_needs_reset(f, QMAX, DESC_GPA, AVAIL_GPA, RAM_BASE + RAM_SIZE - 8); /* used ends past */
    expect_needs_reset(f, QMAX, DESC_GPA + 8, AVAIL_GPA, USED_GPA);            /* desc misaligned */
    expect_needs_reset(f, QMAX, DESC_GPA, AVAIL_GPA + 1, USED_GPA);    /* avail misaligned */
    expect_needs_reset(f, QMAX, DESC_GPA, AVAIL_GPA, USED_GPA + 2);    /* used misaligned */
    expect_needs_reset(f, QMAX, UINT64_MAX - 15, AVAIL_GPA, USED_GPA); /* wraps */

    /* A reset brings it all back. */
    virtio_device_write_status(&f->vdev, 0);
    bring_up(f, F_V1);
    assert_int_equal(f->activate_calls, 1);
}

static void test_queue_disable(void **state)
{
    struct fixture *f = *state;
    virtio_device_t *v = &f->vdev;

    bring_up(f, F_V1);
    virtio_device_queue_disable(v, 0);
    assert_false(v->qcfg[0].enabled);
    assert_false(v->queues[0].ready);
    assert_int_equal(v->qcfg[0].size, QMAX); /* the configuration is kept */
    assert_int_equal(v->qcfg[0].desc, DESC_GPA);
    virtio_device_queue_notify(v, 0);
    assert_int_equal(errs(f, VIRTIO_E_NOTIFY_NOT_READY), 1);
    virtio_device_queue_disable(v, NQ);
    assert_int_equal(errs(f, VIRTIO_E_QUEUE_INDEX), 1);
    /* And it may go live again. */
    virtio_device_queue_enable(v, 0);
    assert_true(v->queues[0].ready);
    virtio_device_queue_notify(v, 0);
    assert_int_equal(f->notify_calls[0], 1);
}

static void test_notify(void **state)
{
    struct fixture *f = *state;
    virtio_device_t *v = &f->vdev;

    /* Not enabled, or not there. */
    virtio_device_queue_notify(v, 0);
    assert_int_equal(errs(f, VIRTIO_E_NOTIFY_NOT_READY), 1);
    virtio_device_queue_notify(v, NQ);
    virtio_device_queue_notify(v, 0xffff);
    assert_int_equal(errs(f, VIRTIO_E_QUEUE_INDEX), 2);

    /* Before DRIVER_OK: held back, then delivered once at DRIVER_OK (2.1.2). */
    negotiate(f, F_V1);
    enable_queue(f, 0, QMAX);
    enable_queue(f, 1, QMAX);
    virtio_device_queue_notify(v, 1);
    virtio_device_queue_notify(v, 1);
    assert_int_equal(f->notify_calls[1], 0);
    assert_int_equal(errs(f, VIRTIO_E_NOTIFY_NOT_LIVE), 2);
    virtio_device_write_status(v, ACK | DRV | FOK | DOK);
    assert_int_equal(f->notify_calls[0], 0);
    assert_int_equal(f->notify_calls[1], 1);

    /* Live. */
    virtio_device_queue_notify(v, 0);
    virtio_device_queue_notify(v, 1);
    assert_int_equal(f->notify_calls[0], 1);
    assert_int_equal(f->notify_calls[1], 2);

    /* In DEVICE_NEEDS_RESET: dropped. */
    virtio_device_set_needs_reset(v, "test");
    virtio_device_queue_notify(v, 0);
    assert_int_equal(f->notify_calls[0], 1);
    assert_int_equal(errs(f, VIRTIO_E_NOTIFY_NOT_LIVE), 3);
}

static void test_early_kick_dropped_by_reset(void **state)
{
    struct fixture *f = *state;
    virtio_device_t *v = &f->vdev;

    negotiate(f, F_V1);
    enable_queue(f, 0, QMAX);
    virtio_device_queue_notify(v, 0);
    virtio_device_write_status(v, 0);
    bring_up(f, F_V1);
    assert_int_equal(f->notify_calls[0], 0);

    /* Nor does a kick survive its queue being disabled. */
    virtio_device_write_status(v, 0);
    negotiate(f, F_V1);
    enable_queue(f, 0, QMAX);
    virtio_device_queue_notify(v, 0);
    virtio_device_queue_disable(v, 0);
    virtio_device_queue_enable(v, 0);
    virtio_device_write_status(v, ACK | DRV | FOK | DOK);
    assert_int_equal(f->notify_calls[0], 0);
}

/* --- interrupts and reset -------------------------------------------------------------- */

static void test_used_interrupts(void **state)
{
    struct fixture *f = *state;
    virtio_device_t *v = &f->vdev;

    negotiate(f, F_V1);
    enable_queue(f, 0, QMAX);
    virtq_push(&v->queues[0], 0, 0);
    virtio_device_used(v, 0); /* before DRIVER_OK: never (2.1.2) */
    assert_int_equal(f->used_irqs[0], 0);

    virtio_device_write_status(v, ACK | DRV | FOK | DOK);
    virtq_push(&v->queues[0], 1, 0);
    virtio_device_used(v, 0);
    assert_int_equal(f->used_irqs[0], 1);
    virtio_device_used(v, 0); /* nothing new since */
    assert_int_equal(f->used_irqs[0], 1);

    /* The driver suppresses interrupts (avail.flags NO_INTERRUPT, 2.7.7). */
    uint16_t no_interrupt = 1;
    assert_int_equal(vm_guest_write(f->vm, AVAIL_GPA, &no_interrupt, 2), 0);
    virtq_push(&v->queues[0], 2, 0);
    virtio_device_used(v, 0);
    assert_int_equal(f->used_irqs[0], 1);

    /* Queues that are not there or not live. */
    virtio_device_used(v, 1);
    virtio_device_used(v, NQ);
    assert_int_equal(f->used_irqs[1], 0);
}

static void test_reset_clears_everything(void **state)
{
    struct fixture *f = *state;
    virtio_device_t *v = &f->vdev;

    bring_up(f, F_V1 | F_DEV0);
    enable_queue(f, 1, 4);
    v->qcfg[1].msix_vector = 3;
    virtio_device_set_needs_reset(v, "test");
    uint8_t gen = v->config_generation;

    virtio_device_write_status(v, 0);
    assert_int_equal(f->reset_calls, 1);
    assert_int_equal(f->transport_resets, 1);
    assert_int_equal(v->status, 0);
    assert_int_equal(v->driver_features, 0);
    assert_int_equal(v->notify_pending, 0);
    assert_int_equal(v->config_generation, gen);
    for (unsigned int i = 0; i < NQ; i++) {
        assert_false(v->qcfg[i].enabled);
        assert_false(v->queues[i].ready);
        assert_int_equal(v->qcfg[i].size, QMAX);
        assert_int_equal(v->qcfg[i].desc, 0);
        assert_int_equal(v->qcfg[i].driver, 0);
        assert_int_equal(v->qcfg[i].device, 0);
        assert_int_equal(v->qcfg[i].msix_vector, VIRTIO_MSI_NO_VECTOR);
    }
    assert_false(virtio_device_has_feature(v, VIRTIO_F_VERSION_1));

    /* The counters and the queue names survive: they are the VMM's. */
    assert_true(all_errs(f) == 0);
    assert_string_equal(v->queues[0].name, "virtio-dummy3.q0");

    /* A reset without a transport, or of a device already reset, is fine. */
    virtio_device_set_transport(v, NULL, NULL);
    virtio_device_reset(v);
    assert_int_equal(f->reset_calls, 2);
    assert_int_equal(f->transport_resets, 1);
    virtio_device_set_needs_reset(v, NULL); /* no transport to interrupt: no crash */
}

static void test_counters_survive_reset(void **state)
{
    struct fixture *f = *state;

    virtio_device_write_status(&f->vdev, DOK);
    virtio_device_write_status(&f->vdev, 0);
    assert_int_equal(errs(f, VIRTIO_E_STATUS_ORDER), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_init),
        cmocka_unit_test(test_error_names),
        T(test_status_happy_path),
        T(test_status_steps_in_one_write),
        T(test_status_order),
        T(test_status_clear_refused),
        T(test_status_reserved_bits),
        T(test_status_failed),
        T(test_activate_failure),
        T(test_features_read),
        T(test_features_halves),
        T(test_features_subset_rule),
        T(test_features_version_1_required),
        T(test_features_beyond_64),
        T(test_features_late_write),
        T(test_config_widths),
        T(test_config_bad_accesses),
        T(test_config_readonly_device),
        T(test_config_changed),
        T(test_queue_enable),
        T(test_queue_enable_before_features_ok),
        T(test_queue_bad_config),
        T(test_queue_disable),
        T(test_notify),
        T(test_early_kick_dropped_by_reset),
        T(test_used_interrupts),
        T(test_reset_clears_everything),
        T(test_counters_survive_reset),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
