/*
 * test_virtio_mmio.c - the virtio-mmio transport (src/virtio/mmio.c):
 * guest accesses go through the core's MMIO dispatch (vcpu_handle_exit, as
 * the run loop calls it) over the fake backend, against a dummy device.
 * Every register read and written at every width, unknown and legacy
 * offsets, the queue registers and their freeze while QueueReady is 1,
 * a Linux-like bring-up, interrupt status and acknowledge, config space,
 * reset, registration errors, and the eventfd paths (ioeventfd kicks served
 * by a real I/O thread, irqfd interrupts) with a backend that records
 * bindings.
 */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <vmmkit/eventfd.h>
#include <vmmkit/guest_memory.h>
#include <vmmkit/iothread.h>
#include <vmmkit/log.h>
#include <vmmkit/virtio_mmio.h>

#include "fake_hv.h"

#define BASE 0x0a000000ull
#define INTID 48u
#define RAM_BASE 0x100000ull
#define RAM_SIZE 0x100000ull
#define DESC_GPA (RAM_BASE + 0x0000)
#define AVAIL_GPA (RAM_BASE + 0x1000)
#define USED_GPA (RAM_BASE + 0x2000)
#define QMAX 64u
#define NQ 2u
#define CFG_SIZE 16u

#define ACK VIRTIO_STATUS_ACKNOWLEDGE
#define DRV VIRTIO_STATUS_DRIVER
#define FOK VIRTIO_STATUS_FEATURES_OK
#define DOK VIRTIO_STATUS_DRIVER_OK

/* --- a backend that also records ioeventfd and irqfd bindings ------------------------- */

#define MAX_BINDS 16

struct eventfd_log {
    vm_ioeventfd_t ioev[MAX_BINDS];
    bool ioev_live[MAX_BINDS];
    int ioev_binds, ioev_unbinds;
    int ioev_fail; /* non-zero: the next bind fails with it */
    int irq_fd;
    uint32_t irq;
    int irqfd_binds, irqfd_unbinds;
};

/* The backend has no cookie of its own for this: one log for the test program. */
static struct eventfd_log evlog;

static int rec_ioeventfd(hv_vm_t *vm, const vm_ioeventfd_t *ev, bool assign)
{
    if (assign) {
        if (evlog.ioev_fail) {
            return evlog.ioev_fail;
        }
        for (int i = 0; i < MAX_BINDS; i++) {
            if (!evlog.ioev_live[i]) {
                evlog.ioev[i] = *ev;
                evlog.ioev_live[i] = true;
                evlog.ioev_binds++;
                return 0;
            }
        }
        return -ENOSPC;
    }
    for (int i = 0; i < MAX_BINDS; i++) {
        if (evlog.ioev_live[i] && evlog.ioev[i].fd == ev->fd && evlog.ioev[i].addr == ev->addr &&
            evlog.ioev[i].datamatch == ev->datamatch) {
            evlog.ioev_live[i] = false;
            evlog.ioev_unbinds++;
            return 0;
        }
    }
    return -ENOENT;
}

static int rec_irqfd(hv_vm_t *vm, int fd, uint32_t irq, int resample_fd, bool assign)
{
    assert_int_equal(resample_fd, -1); /* edge-triggered */
    if (assign) {
        evlog.irq_fd = fd;
        evlog.irq = irq;
        evlog.irqfd_binds++;
    } else {
        assert_int_equal(fd, evlog.irq_fd);
        evlog.irqfd_unbinds++;
    }
    return 0;
}

static struct hv_ops eventfd_hv_ops;

/* --- the dummy device ------------------------------------------------------------------ */

struct fixture {
    vm_t *vm;
    vm_vcpu_t *vcpu;
    virtio_device_t vdev;
    virtio_mmio_t *m;
    iothread_t *io;
    uint8_t config[CFG_SIZE];
    int activate_calls, reset_calls;
    int notify_calls[NQ]; /* atomics: the I/O thread writes them */
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
}

static int dummy_activate(virtio_device_t *vdev)
{
    fx(vdev)->activate_calls++;
    return 0;
}

static void dummy_queue_notify(virtio_device_t *vdev, unsigned int idx)
{
    __atomic_fetch_add(&fx(vdev)->notify_calls[idx], 1, __ATOMIC_RELAXED);
}

static void dummy_reset(virtio_device_t *vdev)
{
    fx(vdev)->reset_calls++;
}

static const virtio_device_ops_t dummy_ops = {
    .name = "virtio-dummy",
    .device_id = VIRTIO_ID_RNG,
    .num_queues = NQ,
    .queue_max_size = QMAX,
    .features = 1ull << 3,
    .config_size = CFG_SIZE,
    .config_read = dummy_config_read,
    .config_write = dummy_config_write,
    .activate = dummy_activate,
    .queue_notify = dummy_queue_notify,
    .reset = dummy_reset,
};

static struct fixture *fixture_new(const struct hv_ops *ops)
{
    vmm_log_set_level(VMM_LOG_ERR); /* the tests provoke warnings on purpose */
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(vm_create_with_backend(&f->vm, "test", ops), 0);
    assert_int_equal(vm_ram_add(f->vm, RAM_BASE, RAM_SIZE), 0);
    f->vcpu = vm_create_vcpu(f->vm, 0);
    assert_non_null(f->vcpu);
    for (unsigned int i = 0; i < CFG_SIZE; i++) {
        f->config[i] = (uint8_t)(0x40 + i);
    }
    assert_int_equal(virtio_device_init(&f->vdev, f->vm, &dummy_ops, f, 0), 0);
    return f;
}

static int setup(void **state)
{
    struct fixture *f = fixture_new(&fake_hv_ops);
    assert_int_equal(virtio_mmio_register(f->vm, &f->vdev, BASE, INTID, NULL, &f->m), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    virtio_mmio_unregister(f->m);
    if (f->io) {
        iothread_destroy(f->io);
    }
    vm_destroy(f->vm);
    free(f);
    return 0;
}

/* --- guest accesses through the core's dispatch ---------------------------------------- */

static uint64_t rd(struct fixture *f, uint64_t off, uint32_t len)
{
    struct fake_exit e;
    fake_mmio(&e, BASE + off, len, false, 0);
    assert_int_equal(vcpu_handle_exit(f->vcpu, &e.exit), VCPU_CONTINUE);
    uint64_t v = 0;
    memcpy(&v, e.exit.mmio.data, len);
    return v;
}

static uint32_t rd32(struct fixture *f, uint64_t off)
{
    return (uint32_t)rd(f, off, 4);
}

static void wr(struct fixture *f, uint64_t off, uint32_t len, uint64_t v)
{
    struct fake_exit e;
    fake_mmio(&e, BASE + off, len, true, v);
    assert_int_equal(vcpu_handle_exit(f->vcpu, &e.exit), VCPU_CONTINUE);
}

static void wr32(struct fixture *f, uint64_t off, uint32_t v)
{
    wr(f, off, 4, v);
}

static uint64_t merr(struct fixture *f, virtio_mmio_error_t e)
{
    return virtio_mmio_error_count(f->m, e);
}

static uint64_t verr(struct fixture *f, virtio_error_t e)
{
    return virtio_device_error_count(&f->vdev, e);
}

static uint64_t all_merr(struct fixture *f)
{
    uint64_t n = 0;
    for (int e = 0; e < VIRTIO_MMIO_E_COUNT; e++) {
        n += merr(f, (virtio_mmio_error_t)e);
    }
    return n;
}

static uint64_t all_verr(struct fixture *f)
{
    uint64_t n = 0;
    for (int e = 0; e < VIRTIO_E_COUNT; e++) {
        n += verr(f, (virtio_error_t)e);
    }
    return n;
}

/* The driver side of 4.2.3.2 for queue @q: select, check, size, rings, ready. */
static void setup_queue(struct fixture *f, uint32_t q, uint32_t size)
{
    uint64_t desc = DESC_GPA + q * 0x4000ull, avail = AVAIL_GPA + q * 0x4000ull,
             used = USED_GPA + q * 0x4000ull;

    wr32(f, VIRTIO_MMIO_REG_QUEUE_SEL, q);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_QUEUE_READY), 0);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_QUEUE_NUM_MAX), QMAX);
    wr32(f, VIRTIO_MMIO_REG_QUEUE_NUM, size);
    wr32(f, VIRTIO_MMIO_REG_QUEUE_DESC_LOW, (uint32_t)desc);
    wr32(f, VIRTIO_MMIO_REG_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
    wr32(f, VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW, (uint32_t)avail);
    wr32(f, VIRTIO_MMIO_REG_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
    wr32(f, VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW, (uint32_t)used);
    wr32(f, VIRTIO_MMIO_REG_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
    wr32(f, VIRTIO_MMIO_REG_QUEUE_READY, 1);
}

/* What Linux's virtio_mmio driver does from probe to DRIVER_OK, with @nq queues. */
static void linux_bring_up(struct fixture *f, unsigned int nq)
{
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_VERSION), 2);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_DEVICE_ID), VIRTIO_ID_RNG);
    wr32(f, VIRTIO_MMIO_REG_STATUS, 0);
    wr32(f, VIRTIO_MMIO_REG_STATUS, ACK);
    wr32(f, VIRTIO_MMIO_REG_STATUS, ACK | DRV);
    wr32(f, VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 1);
    uint64_t feat = (uint64_t)rd32(f, VIRTIO_MMIO_REG_DEVICE_FEATURES) << 32;
    wr32(f, VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 0);
    feat |= rd32(f, VIRTIO_MMIO_REG_DEVICE_FEATURES);
    feat &= (1ull << VIRTIO_F_VERSION_1) | (1ull << 3); /* what this "driver" knows */
    wr32(f, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 1);
    wr32(f, VIRTIO_MMIO_REG_DRIVER_FEATURES, (uint32_t)(feat >> 32));
    wr32(f, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 0);
    wr32(f, VIRTIO_MMIO_REG_DRIVER_FEATURES, (uint32_t)feat);
    wr32(f, VIRTIO_MMIO_REG_STATUS, ACK | DRV | FOK);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_STATUS), ACK | DRV | FOK);
    for (unsigned int q = 0; q < nq; q++) {
        setup_queue(f, q, 16);
        assert_int_equal(rd32(f, VIRTIO_MMIO_REG_QUEUE_READY), 1);
    }
    wr32(f, VIRTIO_MMIO_REG_STATUS, ACK | DRV | FOK | DOK);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_STATUS), ACK | DRV | FOK | DOK);
}

/* --- identity and register rules ------------------------------------------------------- */

static void test_identity_registers(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_MAGIC_VALUE), 0x74726976);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_VERSION), 2);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_DEVICE_ID), VIRTIO_ID_RNG);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_VENDOR_ID), 0x544b4d56); /* "VMKT" */
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_STATUS), 0);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_INTERRUPT_STATUS), 0);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_CONFIG_GENERATION), 0);
    /* No shared memory regions: length and base -1 (4.2.2). */
    wr32(f, VIRTIO_MMIO_REG_SHM_SEL, 0);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_SHM_LEN_LOW), 0xffffffffu);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_SHM_LEN_HIGH), 0xffffffffu);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_SHM_BASE_LOW), 0xffffffffu);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_SHM_BASE_HIGH), 0xffffffffu);
    wr32(f, VIRTIO_MMIO_REG_SHM_SEL, 7);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_SHM_LEN_LOW), 0xffffffffu);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_QUEUE_RESET), 0); /* RING_RESET not offered */
    assert_int_equal(all_merr(f), 0);
    assert_int_equal(all_verr(f), 0);
    assert_ptr_equal(virtio_mmio_device(f->m), &f->vdev);
    assert_int_equal(virtio_mmio_base(f->m), BASE);
    assert_false(virtio_mmio_has_ioeventfd(f->m)); /* no I/O thread, no ioeventfd backend */
    assert_false(virtio_mmio_has_irqfd(f->m));
}

static void test_read_only_registers(void **state)
{
    struct fixture *f = *state;
    static const uint32_t ro[] = {
        VIRTIO_MMIO_REG_MAGIC_VALUE,      VIRTIO_MMIO_REG_VERSION,
        VIRTIO_MMIO_REG_DEVICE_ID,        VIRTIO_MMIO_REG_VENDOR_ID,
        VIRTIO_MMIO_REG_DEVICE_FEATURES,  VIRTIO_MMIO_REG_QUEUE_NUM_MAX,
        VIRTIO_MMIO_REG_INTERRUPT_STATUS, VIRTIO_MMIO_REG_SHM_LEN_LOW,
        VIRTIO_MMIO_REG_SHM_LEN_HIGH,     VIRTIO_MMIO_REG_SHM_BASE_LOW,
        VIRTIO_MMIO_REG_SHM_BASE_HIGH,    VIRTIO_MMIO_REG_CONFIG_GENERATION,
    };
    uint32_t before[sizeof(ro) / sizeof(ro[0])];

    for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++) {
        before[i] = rd32(f, ro[i]);
        wr32(f, ro[i], 0x12345678);
    }
    assert_int_equal(merr(f, VIRTIO_MMIO_E_REG_READ_ONLY), sizeof(ro) / sizeof(ro[0]));
    for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++) {
        assert_int_equal(rd32(f, ro[i]), before[i]);
    }
    assert_int_equal(all_verr(f), 0);
}

static void test_write_only_registers(void **state)
{
    struct fixture *f = *state;
    static const uint32_t wo[] = {
        VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, VIRTIO_MMIO_REG_DRIVER_FEATURES,
        VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, VIRTIO_MMIO_REG_QUEUE_SEL,
        VIRTIO_MMIO_REG_QUEUE_NUM,           VIRTIO_MMIO_REG_QUEUE_NOTIFY,
        VIRTIO_MMIO_REG_INTERRUPT_ACK,       VIRTIO_MMIO_REG_QUEUE_DESC_LOW,
        VIRTIO_MMIO_REG_QUEUE_DESC_HIGH,     VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW,
        VIRTIO_MMIO_REG_QUEUE_DRIVER_HIGH,   VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW,
        VIRTIO_MMIO_REG_QUEUE_DEVICE_HIGH,   VIRTIO_MMIO_REG_SHM_SEL,
    };

    /* Even with values written to them, they read 0. */
    wr32(f, VIRTIO_MMIO_REG_QUEUE_SEL, 1);
    wr32(f, VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 1);
    for (size_t i = 0; i < sizeof(wo) / sizeof(wo[0]); i++) {
        assert_int_equal(rd32(f, wo[i]), 0);
    }
    assert_int_equal(merr(f, VIRTIO_MMIO_E_REG_WRITE_ONLY), sizeof(wo) / sizeof(wo[0]));
}

static void test_unknown_offsets(void **state)
{
    struct fixture *f = *state;
    /* Holes, and version 1's GuestPageSize, QueueAlign and QueuePFN. */
    static const uint32_t holes[] = {0x018, 0x01c, 0x028, 0x02c, 0x03c, 0x040, 0x048,
                                     0x054, 0x068, 0x074, 0x088, 0x0a8, 0x0c4, 0x0f8};

    for (size_t i = 0; i < sizeof(holes) / sizeof(holes[0]); i++) {
        assert_int_equal(rd32(f, holes[i]), 0);
        wr32(f, holes[i], 0xffffffff);
    }
    assert_int_equal(merr(f, VIRTIO_MMIO_E_REG_UNKNOWN), 2 * sizeof(holes) / sizeof(holes[0]));
    /* QueueReset is known but VIRTIO_F_RING_RESET is not offered: a write is unsupported. */
    wr32(f, VIRTIO_MMIO_REG_QUEUE_RESET, 1);
    assert_int_equal(merr(f, VIRTIO_MMIO_E_REG_UNKNOWN), 2 * sizeof(holes) / sizeof(holes[0]) + 1);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_STATUS), 0);
    assert_int_equal(all_verr(f), 0);
}

static void test_register_widths(void **state)
{
    struct fixture *f = *state;

    /* Only 32-bit aligned accesses reach a register (4.2.2.2). */
    assert_int_equal(rd(f, VIRTIO_MMIO_REG_MAGIC_VALUE, 1), 0);
    assert_int_equal(rd(f, VIRTIO_MMIO_REG_MAGIC_VALUE, 2), 0);
    assert_int_equal(rd(f, VIRTIO_MMIO_REG_MAGIC_VALUE, 8), 0);
    assert_int_equal(rd(f, VIRTIO_MMIO_REG_MAGIC_VALUE + 1, 1), 0);
    assert_int_equal(rd(f, VIRTIO_MMIO_REG_MAGIC_VALUE + 2, 4), 0);
    assert_int_equal(rd(f, VIRTIO_MMIO_REG_VERSION + 1, 2), 0);
    assert_int_equal(merr(f, VIRTIO_MMIO_E_REG_WIDTH), 6);

    wr(f, VIRTIO_MMIO_REG_STATUS, 1, ACK);
    wr(f, VIRTIO_MMIO_REG_STATUS, 2, ACK);
    wr(f, VIRTIO_MMIO_REG_STATUS, 8, ACK);
    wr(f, VIRTIO_MMIO_REG_STATUS + 2, 4, ACK);
    wr(f, VIRTIO_MMIO_REG_QUEUE_DESC_LOW, 8, DESC_GPA); /* no 64-bit register writes */
    assert_int_equal(merr(f, VIRTIO_MMIO_E_REG_WIDTH), 11);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_STATUS), 0);
    assert_int_equal(f->vdev.qcfg[0].desc, 0);
    /* The last register word is 0x0fc; 0x0fe is still a register-space access. */
    assert_int_equal(rd(f, 0x0fe, 2), 0);
    assert_int_equal(merr(f, VIRTIO_MMIO_E_REG_WIDTH), 12);
}

static void test_outside_window(void **state)
{
    struct fixture *f = *state;
    struct fake_exit e;

    /* Past the window and straddling its end: the core's business, not the device's. */
    fake_mmio(&e, BASE + VIRTIO_MMIO_SIZE, 4, false, 0);
    assert_int_equal(vcpu_handle_exit(f->vcpu, &e.exit), VCPU_CONTINUE);
    fake_mmio(&e, BASE + VIRTIO_MMIO_SIZE - 4, 8, false, 0);
    assert_int_equal(vcpu_handle_exit(f->vcpu, &e.exit), VCPU_CONTINUE);
    assert_int_equal(vm_stat_count(f->vm, VM_STAT_MMIO_UNASSIGNED), 2);
    assert_int_equal(all_merr(f), 0);
    assert_int_equal(all_verr(f), 0);
}

/* --- features, status, queues ---------------------------------------------------------- */

static void test_features_registers(void **state)
{
    struct fixture *f = *state;

    wr32(f, VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 0);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_DEVICE_FEATURES),
                     (1u << 3) | (1u << VIRTIO_F_RING_INDIRECT_DESC) |
                         (1u << VIRTIO_F_RING_EVENT_IDX));
    wr32(f, VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 1);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_DEVICE_FEATURES), 1); /* VERSION_1 */
    wr32(f, VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 2);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_DEVICE_FEATURES), 0);
    wr32(f, VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 0xffffffff);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_DEVICE_FEATURES), 0);

    wr32(f, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 1);
    wr32(f, VIRTIO_MMIO_REG_DRIVER_FEATURES, 1);
    wr32(f, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 0);
    wr32(f, VIRTIO_MMIO_REG_DRIVER_FEATURES, 1u << 3);
    assert_int_equal(f->vdev.driver_features, (1ull << VIRTIO_F_VERSION_1) | (1ull << 3));
    wr32(f, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 5);
    wr32(f, VIRTIO_MMIO_REG_DRIVER_FEATURES, 1);
    assert_int_equal(verr(f, VIRTIO_E_FEATURES_SELECT), 1);
    assert_int_equal(all_merr(f), 0);
}

static void test_linux_bring_up(void **state)
{
    struct fixture *f = *state;

    linux_bring_up(f, NQ);
    assert_int_equal(f->activate_calls, 1);
    assert_true(f->vdev.queues[0].ready);
    assert_true(f->vdev.queues[1].ready);
    assert_int_equal(f->vdev.queues[1].size, 16);
    assert_int_equal(f->vdev.queues[1].desc_gpa, DESC_GPA + 0x4000);
    assert_int_equal(f->vdev.queues[1].avail_gpa, AVAIL_GPA + 0x4000);
    assert_int_equal(f->vdev.queues[1].used_gpa, USED_GPA + 0x4000);
    assert_int_equal(f->vdev.driver_features, (1ull << VIRTIO_F_VERSION_1) | (1ull << 3));
    assert_int_equal(all_merr(f), 0);
    assert_int_equal(all_verr(f), 0);

    /* Kicks by MMIO exit (no ioeventfd here): the value is the queue index. */
    wr32(f, VIRTIO_MMIO_REG_QUEUE_NOTIFY, 1);
    wr32(f, VIRTIO_MMIO_REG_QUEUE_NOTIFY, 0);
    wr32(f, VIRTIO_MMIO_REG_QUEUE_NOTIFY, 1);
    assert_int_equal(f->notify_calls[0], 1);
    assert_int_equal(f->notify_calls[1], 2);
    wr32(f, VIRTIO_MMIO_REG_QUEUE_NOTIFY, NQ);
    wr32(f, VIRTIO_MMIO_REG_QUEUE_NOTIFY, 0xffffffff);
    assert_int_equal(verr(f, VIRTIO_E_QUEUE_INDEX), 2);
}

static void test_feature_refusal_seen_by_driver(void **state)
{
    struct fixture *f = *state;

    wr32(f, VIRTIO_MMIO_REG_STATUS, ACK);
    wr32(f, VIRTIO_MMIO_REG_STATUS, ACK | DRV);
    wr32(f, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 0);
    wr32(f, VIRTIO_MMIO_REG_DRIVER_FEATURES, 1u << 3); /* no VERSION_1: a legacy driver */
    wr32(f, VIRTIO_MMIO_REG_STATUS, ACK | DRV | FOK);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_STATUS), ACK | DRV); /* FEATURES_OK reads clear */
    assert_int_equal(verr(f, VIRTIO_E_FEATURES_REFUSED), 1);
    /* Status values that do not fit the 8-bit status are ignored whole. */
    wr32(f, VIRTIO_MMIO_REG_STATUS, 0x100);
    wr32(f, VIRTIO_MMIO_REG_STATUS, 0x100 | ACK | DRV | 128);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_STATUS), ACK | DRV);
    assert_int_equal(merr(f, VIRTIO_MMIO_E_VALUE), 2);
    /* The driver gives up. */
    wr32(f, VIRTIO_MMIO_REG_STATUS, ACK | DRV | VIRTIO_STATUS_FAILED);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_STATUS), ACK | DRV | VIRTIO_STATUS_FAILED);
}

static void test_queue_sel_out_of_range(void **state)
{
    struct fixture *f = *state;

    wr32(f, VIRTIO_MMIO_REG_STATUS, ACK | DRV);
    wr32(f, VIRTIO_MMIO_REG_QUEUE_SEL, NQ);
    /* A driver probing for a queue reads 0 (4.2.2): not an error. */
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_QUEUE_NUM_MAX), 0);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_QUEUE_READY), 0);
    assert_int_equal(all_merr(f), 0);
    /* Configuring it is. */
    static const uint32_t regs[] = {
        VIRTIO_MMIO_REG_QUEUE_NUM,         VIRTIO_MMIO_REG_QUEUE_DESC_LOW,
        VIRTIO_MMIO_REG_QUEUE_DESC_HIGH,   VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW,
        VIRTIO_MMIO_REG_QUEUE_DRIVER_HIGH, VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW,
        VIRTIO_MMIO_REG_QUEUE_DEVICE_HIGH, VIRTIO_MMIO_REG_QUEUE_READY,
    };
    for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
        wr32(f, regs[i], 1);
    }
    wr32(f, VIRTIO_MMIO_REG_QUEUE_SEL, 0xffffffff);
    wr32(f, VIRTIO_MMIO_REG_QUEUE_READY, 0);
    assert_int_equal(merr(f, VIRTIO_MMIO_E_QUEUE_SEL), sizeof(regs) / sizeof(regs[0]) + 1);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_STATUS), ACK | DRV); /* nothing else happened */
    assert_int_equal(all_verr(f), 0);
}

static void test_queue_frozen_while_ready(void **state)
{
    struct fixture *f = *state;
    virtio_queue_config_t *c = &f->vdev.qcfg[0];

    linux_bring_up(f, 1);
    wr32(f, VIRTIO_MMIO_REG_QUEUE_SEL, 0);
    /* 4.2.2.2: QueueNum and the ring addresses are left alone while QueueReady is 1. */
    wr32(f, VIRTIO_MMIO_REG_QUEUE_NUM, 32);
    wr32(f, VIRTIO_MMIO_REG_QUEUE_DESC_LOW, 0x5000);
    wr32(f, VIRTIO_MMIO_REG_QUEUE_DESC_HIGH, 1);
    wr32(f, VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW, 0x5000);
    wr32(f, VIRTIO_MMIO_REG_QUEUE_DRIVER_HIGH, 1);
    wr32(f, VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW, 0x5000);
    wr32(f, VIRTIO_MMIO_REG_QUEUE_DEVICE_HIGH, 1);
    assert_int_equal(merr(f, VIRTIO_MMIO_E_QUEUE_LIVE), 7);
    assert_int_equal(c->size, 16);
    assert_int_equal(c->desc, DESC_GPA);
    assert_int_equal(c->driver, AVAIL_GPA);
    assert_int_equal(c->device, USED_GPA);
    /* Ready again: the common layer ignores it. */
    wr32(f, VIRTIO_MMIO_REG_QUEUE_READY, 1);
    assert_int_equal(verr(f, VIRTIO_E_QUEUE_STATE), 1);
    assert_true(f->vdev.queues[0].ready);
    /* QueueReady takes 0 or 1. */
    wr32(f, VIRTIO_MMIO_REG_QUEUE_READY, 2);
    assert_int_equal(merr(f, VIRTIO_MMIO_E_VALUE), 1);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_QUEUE_READY), 1);

    /* Stop using it (write 0, read back 0), then it may change and go live again. */
    wr32(f, VIRTIO_MMIO_REG_QUEUE_READY, 0);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_QUEUE_READY), 0);
    assert_false(f->vdev.queues[0].ready);
    wr32(f, VIRTIO_MMIO_REG_QUEUE_NOTIFY, 0);
    assert_int_equal(verr(f, VIRTIO_E_NOTIFY_NOT_READY), 1);
    wr32(f, VIRTIO_MMIO_REG_QUEUE_NUM, 32);
    wr32(f, VIRTIO_MMIO_REG_QUEUE_READY, 1);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_QUEUE_READY), 1);
    assert_int_equal(f->vdev.queues[0].size, 32);
    assert_int_equal(merr(f, VIRTIO_MMIO_E_QUEUE_LIVE), 7);
}

static void test_queue_bad_config_needs_reset(void **state)
{
    struct fixture *f = *state;

    wr32(f, VIRTIO_MMIO_REG_STATUS, ACK | DRV);
    wr32(f, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 1);
    wr32(f, VIRTIO_MMIO_REG_DRIVER_FEATURES, 1);
    wr32(f, VIRTIO_MMIO_REG_STATUS, ACK | DRV | FOK);

    /* QueueNum beyond 16 bits: refused at once, and the enable then fails. */
    wr32(f, VIRTIO_MMIO_REG_QUEUE_SEL, 0);
    wr32(f, VIRTIO_MMIO_REG_QUEUE_NUM, 0x10010);
    assert_int_equal(merr(f, VIRTIO_MMIO_E_VALUE), 1);
    wr32(f, VIRTIO_MMIO_REG_QUEUE_READY, 1);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_QUEUE_READY), 0);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_STATUS),
                     ACK | DRV | FOK | VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    /* The driver hears of it: a config-change interrupt (2.1.2). */
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
    assert_int_equal(f->vm->hv_vm->last_irq, INTID);
    assert_int_equal(f->vm->hv_vm->irq_calls, 2); /* a pulse: raise, lower */
    assert_int_equal(f->vm->hv_vm->last_level, 0);

    /* Rings outside RAM, after a reset. */
    wr32(f, VIRTIO_MMIO_REG_STATUS, 0);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_INTERRUPT_STATUS), 0);
    wr32(f, VIRTIO_MMIO_REG_STATUS, ACK | DRV);
    wr32(f, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 1);
    wr32(f, VIRTIO_MMIO_REG_DRIVER_FEATURES, 1);
    wr32(f, VIRTIO_MMIO_REG_STATUS, ACK | DRV | FOK);
    wr32(f, VIRTIO_MMIO_REG_QUEUE_NUM, 16);
    wr32(f, VIRTIO_MMIO_REG_QUEUE_DESC_HIGH, 0x1000); /* 16 TiB up: no RAM */
    wr32(f, VIRTIO_MMIO_REG_QUEUE_READY, 1);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_QUEUE_READY), 0);
    assert_true(rd32(f, VIRTIO_MMIO_REG_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    assert_int_equal(verr(f, VIRTIO_E_QUEUE_CONFIG), 2);
}

/* --- interrupts, config space, reset --------------------------------------------------- */

static void test_interrupt_status_and_ack(void **state)
{
    struct fixture *f = *state;
    virtio_device_t *v = &f->vdev;

    linux_bring_up(f, 1);
    int calls = f->vm->hv_vm->irq_calls;

    /* A used buffer: bit 0, and a pulse on the line. */
    pthread_mutex_lock(&v->lock);
    virtq_push(&v->queues[0], 0, 0);
    virtio_device_used(v, 0);
    pthread_mutex_unlock(&v->lock);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
    assert_int_equal(f->vm->hv_vm->irq_calls, calls + 2);
    assert_int_equal(f->vm->hv_vm->last_irq, INTID);

    /* A config change: bit 1, the generation moves. */
    pthread_mutex_lock(&v->lock);
    virtio_device_config_changed(v);
    pthread_mutex_unlock(&v->lock);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_INTERRUPT_STATUS),
                     VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_CONFIG_GENERATION), 1);
    assert_int_equal(f->vm->hv_vm->irq_calls, calls + 4);

    /* InterruptACK clears what it names, and only that; undefined bits are harmless. */
    wr32(f, VIRTIO_MMIO_REG_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING | 0xf0);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
    wr32(f, VIRTIO_MMIO_REG_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_INTERRUPT_STATUS), 0);
    wr32(f, VIRTIO_MMIO_REG_INTERRUPT_ACK, 0xffffffff);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_INTERRUPT_STATUS), 0);

    /* A second event while the first is not yet acknowledged pulses again (edge). */
    pthread_mutex_lock(&v->lock);
    virtq_push(&v->queues[0], 1, 0);
    virtio_device_used(v, 0);
    virtq_push(&v->queues[0], 2, 0);
    virtio_device_used(v, 0);
    pthread_mutex_unlock(&v->lock);
    assert_int_equal(f->vm->hv_vm->irq_calls, calls + 8);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
    assert_int_equal(all_merr(f), 0);
}

static void test_config_space(void **state)
{
    struct fixture *f = *state;
    const uint64_t cfg = VIRTIO_MMIO_REG_CONFIG;

    assert_int_equal(rd(f, cfg + 0, 1), 0x40);
    assert_int_equal(rd(f, cfg + 5, 1), 0x45);
    assert_int_equal(rd(f, cfg + 2, 2), 0x4342);
    assert_int_equal(rd(f, cfg + 4, 4), 0x47464544);
    assert_int_equal(rd(f, cfg + 8, 8), 0x4f4e4d4c4b4a4948ull);
    wr(f, cfg + 1, 1, 0xa1);
    wr(f, cfg + 2, 2, 0xb2b3);
    wr(f, cfg + 4, 4, 0xc4c5c6c7);
    wr(f, cfg + 8, 8, 0x0102030405060708ull);
    assert_int_equal(rd(f, cfg + 0, 8), 0xc4c5c6c7b2b3a140ull);
    assert_int_equal(rd(f, cfg + 8, 8), 0x0102030405060708ull);
    assert_int_equal(all_verr(f), 0);

    /* Beyond the device's 16 bytes, up to the window's end: 0, dropped, counted. */
    assert_int_equal(rd(f, cfg + CFG_SIZE, 4), 0);
    assert_int_equal(rd(f, cfg + 12, 8), 0);
    assert_int_equal(rd(f, VIRTIO_MMIO_SIZE - 8, 8), 0);
    assert_int_equal(rd(f, VIRTIO_MMIO_SIZE - 1, 1), 0);
    wr(f, cfg + CFG_SIZE, 1, 0xff);
    assert_int_equal(verr(f, VIRTIO_E_CONFIG_RANGE), 5);
    /* Misaligned. */
    assert_int_equal(rd(f, cfg + 1, 2), 0);
    assert_int_equal(rd(f, cfg + 2, 4), 0);
    wr(f, cfg + 3, 4, 0);
    assert_int_equal(verr(f, VIRTIO_E_CONFIG_WIDTH), 3);
    assert_int_equal(f->config[3], 0xb2);
    assert_int_equal(all_merr(f), 0); /* config space is the common layer's */
}

static void test_reset_clears_transport(void **state)
{
    struct fixture *f = *state;

    linux_bring_up(f, NQ);
    pthread_mutex_lock(&f->vdev.lock);
    virtio_device_config_changed(&f->vdev);
    pthread_mutex_unlock(&f->vdev.lock);
    wr32(f, VIRTIO_MMIO_REG_QUEUE_SEL, 1);
    wr32(f, VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 1);

    /* By the driver: status 0 (4.2.2.1: InterruptStatus and every QueueReady clear). */
    int resets = f->reset_calls;
    wr32(f, VIRTIO_MMIO_REG_STATUS, 0);
    assert_int_equal(f->reset_calls, resets + 1);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_STATUS), 0);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_INTERRUPT_STATUS), 0);
    for (uint32_t q = 0; q < NQ; q++) {
        wr32(f, VIRTIO_MMIO_REG_QUEUE_SEL, q);
        assert_int_equal(rd32(f, VIRTIO_MMIO_REG_QUEUE_READY), 0);
        assert_false(f->vdev.queues[q].ready);
    }
    wr32(f, VIRTIO_MMIO_REG_QUEUE_SEL, 1);
    /* Selectors are back at 0 after a reset. */
    wr32(f, VIRTIO_MMIO_REG_STATUS, 0);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_DEVICE_FEATURES) & (1u << 3), 1u << 3);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_CONFIG_GENERATION), 1); /* kept */

    /* By the VMM (a VM reset hook). */
    linux_bring_up(f, 1);
    virtio_mmio_reset(f->m);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_STATUS), 0);
    assert_false(f->vdev.queues[0].ready);
    virtio_mmio_reset(NULL);
    linux_bring_up(f, NQ);
    assert_int_equal(f->activate_calls, 3);
}

/* --- registration ---------------------------------------------------------------------- */

static void test_register_errors(void **state)
{
    struct fixture *f = *state;
    virtio_mmio_t *m = NULL;
    virtio_device_t other;

    assert_int_equal(virtio_device_init(&other, f->vm, &dummy_ops, f, 1), 0);
    assert_int_equal(virtio_mmio_register(NULL, &other, 0x1000000, 40, NULL, &m), -EINVAL);
    assert_int_equal(virtio_mmio_register(f->vm, NULL, 0x1000000, 40, NULL, &m), -EINVAL);
    assert_int_equal(virtio_mmio_register(f->vm, &other, 0x1000000, 40, NULL, NULL), -EINVAL);
    assert_int_equal(virtio_mmio_register(f->vm, &other, 0x1000002, 40, NULL, &m), -EINVAL);
    assert_int_equal(virtio_mmio_register(f->vm, &other, UINT64_MAX - 0xff, 40, NULL, &m), -EINVAL);
    /* Already on a transport. */
    assert_int_equal(virtio_mmio_register(f->vm, &f->vdev, 0x1000000, 40, NULL, &m), -EBUSY);
    /* Overlapping the first window, or RAM. */
    assert_int_equal(virtio_mmio_register(f->vm, &other, BASE + 0x100, 40, NULL, &m), -EEXIST);
    assert_int_equal(virtio_mmio_register(f->vm, &other, RAM_BASE, 40, NULL, &m), -EEXIST);
    assert_null(other.transport); /* nothing left behind */
    /* Config space that does not fit the window. */
    virtio_device_ops_t big = dummy_ops;
    big.config_size = 0x101;
    virtio_device_t large;
    assert_int_equal(virtio_device_init(&large, f->vm, &big, f, 2), 0);
    assert_int_equal(virtio_mmio_register(f->vm, &large, 0x1000000, 40, NULL, &m), -EINVAL);
    big.config_size = 0x100;
    assert_int_equal(virtio_device_init(&large, f->vm, &big, f, 2), 0);
    assert_int_equal(virtio_mmio_register(f->vm, &large, 0x1000000, 40, NULL, &m), 0);
    virtio_mmio_unregister(m);

    /* Adjacent windows are fine; unregistering frees the window for reuse. */
    assert_int_equal(virtio_mmio_register(f->vm, &other, BASE + VIRTIO_MMIO_SIZE, 41, NULL, &m), 0);
    virtio_mmio_unregister(m);
    assert_null(other.transport);
    assert_int_equal(virtio_mmio_register(f->vm, &other, BASE + VIRTIO_MMIO_SIZE, 41, NULL, &m), 0);
    virtio_mmio_unregister(m);
    virtio_mmio_unregister(NULL);

    virtio_mmio_unregister(f->m);
    f->m = NULL;
    struct fake_exit e;
    fake_mmio(&e, BASE, 4, false, 0);
    assert_int_equal(vcpu_handle_exit(f->vcpu, &e.exit), VCPU_CONTINUE);
    assert_int_equal(vm_stat_count(f->vm, VM_STAT_MMIO_UNASSIGNED), 1); /* the window is gone */
}

static void test_error_names(void **state)
{
    for (int i = 0; i < VIRTIO_MMIO_E_COUNT; i++) {
        const char *n = virtio_mmio_error_name((virtio_mmio_error_t)i);
        assert_non_null(n);
        assert_string_not_equal(n, "unknown");
        for (int j = 0; j < i; j++) {
            assert_string_not_equal(n, virtio_mmio_error_name((virtio_mmio_error_t)j));
        }
    }
    assert_string_equal(virtio_mmio_error_name(VIRTIO_MMIO_E_COUNT), "unknown");
    assert_int_equal(virtio_mmio_error_count(NULL, VIRTIO_MMIO_E_REG_WIDTH), 0);
    assert_null(virtio_mmio_device(NULL));
}

/* --- the eventfd paths ----------------------------------------------------------------- */

static int eventfd_setup(void **state)
{
    memset(&evlog, 0, sizeof(evlog));
    evlog.irq_fd = -1;
    eventfd_hv_ops = fake_hv_ops;
    eventfd_hv_ops.ioeventfd = rec_ioeventfd;
    eventfd_hv_ops.irqfd = rec_irqfd;
    struct fixture *f = fixture_new(&eventfd_hv_ops);
    f->io = iothread_create("test-io");
    assert_non_null(f->io);
    *state = f;
    return 0;
}

/* Wait up to 5 s for @p to reach @want (the I/O thread writes it). */
static bool wait_for(int *p, int want)
{
    for (int i = 0; i < 5000; i++) {
        if (__atomic_load_n(p, __ATOMIC_RELAXED) >= want) {
            return true;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return false;
}

static void test_ioeventfd_kicks(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(virtio_mmio_register(f->vm, &f->vdev, BASE, INTID, f->io, &f->m), 0);
    assert_true(virtio_mmio_has_ioeventfd(f->m));
    assert_true(virtio_mmio_has_irqfd(f->m));

    /* One doorbell per queue on QueueNotify, 32-bit, matching the queue index. */
    assert_int_equal(evlog.ioev_binds, NQ);
    for (unsigned int q = 0; q < NQ; q++) {
        assert_true(evlog.ioev_live[q]);
        assert_int_equal(evlog.ioev[q].addr, BASE + VIRTIO_MMIO_REG_QUEUE_NOTIFY);
        assert_int_equal(evlog.ioev[q].len, 4);
        assert_false(evlog.ioev[q].pio);
        assert_true(evlog.ioev[q].has_datamatch);
        assert_int_equal(evlog.ioev[q].datamatch, q);
    }
    assert_int_equal(evlog.irqfd_binds, 1);
    assert_int_equal(evlog.irq, INTID);

    linux_bring_up(f, NQ);

    /* What KVM does on a matching QueueNotify write: signal the eventfd. */
    uint64_t one = 1;
    assert_int_equal(write(evlog.ioev[1].fd, &one, 8), 8);
    assert_true(wait_for(&f->notify_calls[1], 1));
    assert_int_equal(write(evlog.ioev[0].fd, &one, 8), 8);
    assert_int_equal(write(evlog.ioev[0].fd, &one, 8), 8);
    assert_true(wait_for(&f->notify_calls[0], 1));
    /* The exit path serves the same register alongside (a write the backend did not take). */
    wr32(f, VIRTIO_MMIO_REG_QUEUE_NOTIFY, 1);
    assert_int_equal(__atomic_load_n(&f->notify_calls[1], __ATOMIC_RELAXED), 2);

    /* The interrupt goes through the irqfd, not the line. */
    int line_calls = f->vm->hv_vm->irq_calls;
    pthread_mutex_lock(&f->vdev.lock);
    virtq_push(&f->vdev.queues[0], 0, 0);
    virtio_device_used(&f->vdev, 0);
    pthread_mutex_unlock(&f->vdev.lock);
    struct pollfd p = {.fd = evlog.irq_fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 1000), 1);
    uint64_t n = 0;
    assert_int_equal(read(evlog.irq_fd, &n, 8), 8);
    assert_int_equal(n, 1);
    assert_int_equal(f->vm->hv_vm->irq_calls, line_calls);
    assert_int_equal(rd32(f, VIRTIO_MMIO_REG_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);

    /* Unregistering unbinds everything. */
    virtio_mmio_unregister(f->m);
    f->m = NULL;
    assert_int_equal(evlog.ioev_unbinds, NQ);
    assert_int_equal(evlog.irqfd_unbinds, 1);
    assert_null(f->vdev.transport);
}

static void test_no_iothread_no_doorbells(void **state)
{
    struct fixture *f = *state;

    /* Without an I/O thread kicks stay MMIO exits, even where ioeventfds exist. */
    assert_int_equal(virtio_mmio_register(f->vm, &f->vdev, BASE, INTID, NULL, &f->m), 0);
    assert_false(virtio_mmio_has_ioeventfd(f->m));
    assert_true(virtio_mmio_has_irqfd(f->m));
    assert_int_equal(evlog.ioev_binds, 0);
    linux_bring_up(f, 1);
    wr32(f, VIRTIO_MMIO_REG_QUEUE_NOTIFY, 0);
    assert_int_equal(f->notify_calls[0], 1);
}

static void test_ioeventfd_failure_unwinds(void **state)
{
    struct fixture *f = *state;

    /* The backend lacks ioeventfds at run time: fall back to exits. */
    evlog.ioev_fail = -EOPNOTSUPP;
    assert_int_equal(virtio_mmio_register(f->vm, &f->vdev, BASE, INTID, f->io, &f->m), 0);
    assert_false(virtio_mmio_has_ioeventfd(f->m));
    virtio_mmio_unregister(f->m);
    f->m = NULL;

    /* A real failure: registration fails and leaves nothing bound or reserved. */
    evlog.ioev_fail = -ENOSPC;
    assert_int_equal(virtio_mmio_register(f->vm, &f->vdev, BASE, INTID, f->io, &f->m), -ENOSPC);
    assert_null(f->m);
    assert_null(f->vdev.transport);
    assert_int_equal(evlog.irqfd_binds, evlog.irqfd_unbinds);
    evlog.ioev_fail = 0;
    assert_int_equal(virtio_mmio_register(f->vm, &f->vdev, BASE, INTID, f->io, &f->m), 0);
    assert_true(virtio_mmio_has_ioeventfd(f->m));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define E(fn) cmocka_unit_test_setup_teardown(fn, eventfd_setup, teardown)
        T(test_identity_registers),
        T(test_read_only_registers),
        T(test_write_only_registers),
        T(test_unknown_offsets),
        T(test_register_widths),
        T(test_outside_window),
        T(test_features_registers),
        T(test_linux_bring_up),
        T(test_feature_refusal_seen_by_driver),
        T(test_queue_sel_out_of_range),
        T(test_queue_frozen_while_ready),
        T(test_queue_bad_config_needs_reset),
        T(test_interrupt_status_and_ack),
        T(test_config_space),
        T(test_reset_clears_transport),
        T(test_register_errors),
        cmocka_unit_test(test_error_names),
        E(test_ioeventfd_kicks),
        E(test_no_iothread_no_doorbells),
        E(test_ioeventfd_failure_unwinds),
#undef T
#undef E
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
