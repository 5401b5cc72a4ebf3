/*
 * test_virtio_pci.c - the modern virtio-pci transport (src/virtio/pci.c)
 * over the PCI core and the common virtio layer, with a dummy device:
 * identity and capabilities, every common-configuration field, doorbells
 * (trapped and by ioeventfd, following BAR moves), ISR read-to-clear and
 * INTx, MSI-X routing of queue and config interrupts, device-config bounds,
 * the PCI configuration access window, reset, registration errors.
 *
 * Guest accesses go through vcpu_handle_exit() over the fake backend; the
 * test's copy of its operations records lines, MSIs and ioeventfds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <vmmkit/guest_memory.h>
#include <vmmkit/iothread.h>
#include <vmmkit/log.h>
#include <vmmkit/pci.h>
#include <vmmkit/virtio_pci.h>

#include "fake_hv.h"

#define ECAM 0x30000000ull
#define MMIO32 0x10000000ull
#define MMIO64 0x8000000000ull
#define RAM 0x40000000ull
#define SLOT 2u
#define NQ 2u
#define QMAX 16u
#define CFG_SIZE 12u
#define DEV_ID 42u
#define NVEC (NQ + 1)
#define INTX_LINE 37u /* slot 2, pin A: line (2 + 1 - 1) % 4 = 2 */

#define ACK VIRTIO_STATUS_ACKNOWLEDGE
#define DRV VIRTIO_STATUS_DRIVER
#define FOK VIRTIO_STATUS_FEATURES_OK
#define DOK VIRTIO_STATUS_DRIVER_OK

/* --- a backend that records lines, MSIs and ioeventfds --------------------------------- */

#define MAX_EV 16

static struct {
    int level[1024];
    struct {
        uint64_t addr;
        uint32_t data, devid;
    } msi[64];
    int nr_msi;
    vm_ioeventfd_t ev[MAX_EV];
    bool ev_live[MAX_EV];
    int binds, unbinds;
} rec;

static int rec_irq_line(hv_vm_t *vm, uint32_t irq, int level)
{
    if (irq < 1024) {
        rec.level[irq] = level;
    }
    return 0;
}

static int rec_msi(hv_vm_t *vm, uint64_t addr, uint32_t data, uint32_t devid)
{
    if (rec.nr_msi < 64) {
        rec.msi[rec.nr_msi].addr = addr;
        rec.msi[rec.nr_msi].data = data;
        rec.msi[rec.nr_msi].devid = devid;
        rec.nr_msi++;
    }
    return 0;
}

static int rec_ioeventfd(hv_vm_t *vm, const vm_ioeventfd_t *ev, bool assign)
{
    for (int i = 0; i < MAX_EV; i++) {
        if (assign && !rec.ev_live[i]) {
            rec.ev[i] = *ev;
            rec.ev_live[i] = true;
            rec.binds++;
            return 0;
        }
        if (!assign && rec.ev_live[i] && rec.ev[i].fd == ev->fd && rec.ev[i].addr == ev->addr) {
            rec.ev_live[i] = false;
            rec.unbinds++;
            return 0;
        }
    }
    return assign ? -ENOSPC : -ENOENT;
}

/* The live binding at @addr, or NULL. */
static vm_ioeventfd_t *ev_at(uint64_t addr)
{
    for (int i = 0; i < MAX_EV; i++) {
        if (rec.ev_live[i] && rec.ev[i].addr == addr) {
            return &rec.ev[i];
        }
    }
    return NULL;
}

static struct hv_ops test_ops;

/* --- the dummy device ------------------------------------------------------------------ */

struct fixture {
    vm_t *vm;
    vm_vcpu_t *vcpu;
    pci_host_t *host;
    iothread_t *io;
    virtio_device_t vdev;
    virtio_pci_t *p;
    uint8_t config[CFG_SIZE];
    int notify_calls[NQ]; /* atomics: the I/O thread writes them */
    int resets;
};

static struct fixture *fx(virtio_device_t *vdev)
{
    return vdev->priv;
}

static void dummy_config_read(virtio_device_t *vdev, uint32_t off, void *buf, uint32_t len)
{
    memcpy(buf, fx(vdev)->config + off, len);
}

static void dummy_config_write(virtio_device_t *vdev, uint32_t off, const void *buf, uint32_t len)
{
    memcpy(fx(vdev)->config + off, buf, len);
}

static void dummy_queue_notify(virtio_device_t *vdev, unsigned int idx)
{
    __atomic_fetch_add(&fx(vdev)->notify_calls[idx], 1, __ATOMIC_SEQ_CST);
}

static void dummy_reset(virtio_device_t *vdev)
{
    fx(vdev)->resets++;
}

static const virtio_device_ops_t dummy_ops = {
    .name = "virtio-dummy",
    .device_id = DEV_ID,
    .num_queues = NQ,
    .queue_max_size = QMAX,
    .config_size = CFG_SIZE,
    .config_read = dummy_config_read,
    .config_write = dummy_config_write,
    .queue_notify = dummy_queue_notify,
    .reset = dummy_reset,
};

static const pci_host_config_t host_cfg = {
    .ecam_base = ECAM,
    .mmio32_base = MMIO32,
    .mmio32_size = 0x10000000,
    .mmio64_base = MMIO64,
    .mmio64_size = 0x100000000ull,
    .intx_irq = {35, 36, INTX_LINE, 38},
};

static struct fixture *fixture_new(bool eventfds)
{
    struct fixture *f = calloc(1, sizeof(*f));

    vmm_log_set_level(VMM_LOG_ERR); /* the tests provoke warnings on purpose */
    memset(&rec, 0, sizeof(rec));
    test_ops = fake_hv_ops;
    test_ops.irq_line = rec_irq_line;
    test_ops.msi = rec_msi;
    if (eventfds) {
        test_ops.ioeventfd = rec_ioeventfd;
    }
    assert_int_equal(vm_create_with_backend(&f->vm, "vpci", &test_ops), 0);
    f->vcpu = vm_create_vcpu(f->vm, 0);
    assert_non_null(f->vcpu);
    assert_int_equal(vm_ram_add(f->vm, RAM, 2u << 20), 0);
    assert_int_equal(pci_host_create(f->vm, &host_cfg, &f->host), 0);
    assert_int_equal(virtio_device_init(&f->vdev, f->vm, &dummy_ops, f, 0), 0);
    for (unsigned int i = 0; i < CFG_SIZE; i++) {
        f->config[i] = (uint8_t)(0xc0 + i);
    }
    return f;
}

static int setup(void **state)
{
    struct fixture *f = fixture_new(false);
    assert_int_equal(virtio_pci_register(f->host, &f->vdev, SLOT, NULL, &f->p), (int)SLOT);
    *state = f;
    return 0;
}

static int setup_eventfd(void **state)
{
    struct fixture *f = fixture_new(true);
    f->io = iothread_create("test-io");
    assert_non_null(f->io);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    pci_host_destroy(f->host);
    assert_null(f->vdev.transport);
    if (f->io) {
        iothread_destroy(f->io);
    }
    vm_destroy(f->vm);
    free(f);
    return 0;
}

/* --- guest accesses --------------------------------------------------------------------- */

static uint64_t rd(struct fixture *f, uint64_t addr, uint32_t len)
{
    struct fake_exit e;
    uint64_t v = 0;
    fake_mmio(&e, addr, len, false, 0);
    assert_int_equal(vcpu_handle_exit(f->vcpu, &e.exit), VCPU_CONTINUE);
    memcpy(&v, e.exit.mmio.data, len);
    return v;
}

static void wr(struct fixture *f, uint64_t addr, uint32_t len, uint64_t val)
{
    struct fake_exit e;
    fake_mmio(&e, addr, len, true, val);
    assert_int_equal(vcpu_handle_exit(f->vcpu, &e.exit), VCPU_CONTINUE);
}

static uint32_t cfg_rd(struct fixture *f, unsigned int reg, uint32_t len)
{
    return (uint32_t)rd(f, ECAM + (SLOT << 15) + reg, len);
}

static void cfg_wr(struct fixture *f, unsigned int reg, uint32_t len, uint32_t v)
{
    wr(f, ECAM + (SLOT << 15) + reg, len, v);
}

static uint64_t bar_base(struct fixture *f)
{
    return (cfg_rd(f, PCI_CFG_BAR0, 4) & ~0xfu) | (uint64_t)cfg_rd(f, PCI_CFG_BAR0 + 4, 4) << 32;
}

/* Firmware's job: turn on memory decoding (and bus mastering, for MSI-X). */
static void enable(struct fixture *f)
{
    cfg_wr(f, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

static uint64_t bar_rd(struct fixture *f, uint64_t off, uint32_t len)
{
    return rd(f, bar_base(f) + off, len);
}

static void bar_wr(struct fixture *f, uint64_t off, uint32_t len, uint64_t v)
{
    wr(f, bar_base(f) + off, len, v);
}

static uint64_t common_rd(struct fixture *f, uint32_t field, uint32_t len)
{
    return bar_rd(f, VIRTIO_PCI_COMMON_OFFSET + field, len);
}

static void common_wr(struct fixture *f, uint32_t field, uint32_t len, uint64_t v)
{
    bar_wr(f, VIRTIO_PCI_COMMON_OFFSET + field, len, v);
}

static uint64_t errs(struct fixture *f, virtio_pci_error_t e)
{
    return virtio_pci_error_count(f->p, e);
}

/* Reset, negotiate VERSION_1 (FEATURES_OK). */
static void negotiate(struct fixture *f)
{
    common_wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0);
    common_wr(f, VIRTIO_PCI_COMMON_STATUS, 1, ACK);
    common_wr(f, VIRTIO_PCI_COMMON_STATUS, 1, ACK | DRV);
    common_wr(f, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
    common_wr(f, VIRTIO_PCI_COMMON_GF, 4, 1); /* VERSION_1 is bit 32 */
    common_wr(f, VIRTIO_PCI_COMMON_STATUS, 1, ACK | DRV | FOK);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_STATUS, 1), ACK | DRV | FOK);
}

/* Configure queue @q the way Linux does (64-bit fields as two halves) and enable it. */
static void setup_queue(struct fixture *f, unsigned int q, uint16_t vector)
{
    uint64_t base = RAM + 0x4000ull * q;
    common_wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
    common_wr(f, VIRTIO_PCI_COMMON_Q_SIZE, 2, 8);
    common_wr(f, VIRTIO_PCI_COMMON_Q_DESC, 4, (uint32_t)base);
    common_wr(f, VIRTIO_PCI_COMMON_Q_DESC + 4, 4, base >> 32);
    common_wr(f, VIRTIO_PCI_COMMON_Q_DRIVER, 4, (uint32_t)(base + 0x1000));
    common_wr(f, VIRTIO_PCI_COMMON_Q_DRIVER + 4, 4, 0);
    common_wr(f, VIRTIO_PCI_COMMON_Q_DEVICE, 8, base + 0x2000);
    common_wr(f, VIRTIO_PCI_COMMON_Q_MSIX, 2, vector);
    common_wr(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
}

static void bring_up(struct fixture *f)
{
    enable(f);
    negotiate(f);
    for (unsigned int q = 0; q < NQ; q++) {
        setup_queue(f, q, (uint16_t)(q + 1));
    }
    common_wr(f, VIRTIO_PCI_COMMON_STATUS, 1, ACK | DRV | FOK | DOK);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_STATUS, 1), ACK | DRV | FOK | DOK);
}

/* The device used a buffer on queue @q: what a device does, under the lock. */
static void device_used(struct fixture *f, unsigned int q)
{
    pthread_mutex_lock(&f->vdev.lock);
    virtq_push(&f->vdev.queues[q], 0, 0);
    virtio_device_used(&f->vdev, q);
    pthread_mutex_unlock(&f->vdev.lock);
}

static void config_changed(struct fixture *f)
{
    pthread_mutex_lock(&f->vdev.lock);
    virtio_device_config_changed(&f->vdev);
    pthread_mutex_unlock(&f->vdev.lock);
}

/* Offset of the virtio vendor capability of @type, 0 when none. */
static unsigned int find_vcap(struct fixture *f, uint8_t type)
{
    unsigned int ptr = cfg_rd(f, PCI_CFG_CAP_PTR, 1), n = 0;
    while (ptr && n++ < 48) {
        if (cfg_rd(f, ptr, 1) == PCI_CAP_ID_VNDR &&
            cfg_rd(f, ptr + VIRTIO_PCI_CAP_CFG_TYPE, 1) == type) {
            return ptr;
        }
        ptr = cfg_rd(f, ptr + 1, 1);
    }
    return 0;
}

/* --- tests ------------------------------------------------------------------------------ */

static void test_identity_and_capabilities(void **state)
{
    struct fixture *f = *state;
    static const struct {
        uint8_t type;
        uint32_t offset, length;
        uint8_t cap_len;
    } want[] = {
        {VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFFSET, VIRTIO_PCI_COMMON_SIZE, 16},
        {VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFFSET, 4 * NQ, 20},
        {VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFFSET, 1, 16},
        {VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_OFFSET, CFG_SIZE, 16},
        {VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 20},
    };

    /* 4.1.2: modern device ID, revision 1, subsystem IDs; our class for an unknown type. */
    assert_int_equal(cfg_rd(f, PCI_CFG_VENDOR_ID, 2), 0x1af4);
    assert_int_equal(cfg_rd(f, PCI_CFG_DEVICE_ID, 2), 0x1040 + DEV_ID);
    assert_int_equal(cfg_rd(f, PCI_CFG_REVISION_ID, 1), 1);
    assert_int_equal(cfg_rd(f, PCI_CFG_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
    assert_int_equal(cfg_rd(f, PCI_CFG_SUBSYSTEM_ID, 2), 0x40 + DEV_ID);
    assert_int_equal(cfg_rd(f, PCI_CFG_REVISION_ID, 4) >> 8, 0xff0000);
    assert_int_equal(cfg_rd(f, PCI_CFG_INTERRUPT_PIN, 1), 1);
    /* BAR 0: 64-bit memory, 32 KiB, placed in the 64-bit window. */
    assert_int_equal(cfg_rd(f, PCI_CFG_BAR0, 4), (uint32_t)MMIO64 | PCI_BAR_MEM_TYPE_64);
    cfg_wr(f, PCI_CFG_BAR0, 4, 0xffffffff);
    assert_int_equal(cfg_rd(f, PCI_CFG_BAR0, 4), (uint32_t) ~(VIRTIO_PCI_BAR_SIZE - 1) | 4u);
    cfg_wr(f, PCI_CFG_BAR0, 4, (uint32_t)MMIO64);
    assert_ptr_equal(virtio_pci_device(f->p), &f->vdev);
    assert_non_null(virtio_pci_function(f->p));

    /* MSI-X first: num_queues + 1 vectors, table and PBA in BAR 0. */
    unsigned int msix = cfg_rd(f, PCI_CFG_CAP_PTR, 1);
    assert_int_equal(cfg_rd(f, msix, 1), PCI_CAP_ID_MSIX);
    assert_int_equal(cfg_rd(f, msix + PCI_MSIX_CTRL, 2), NVEC - 1);
    assert_int_equal(cfg_rd(f, msix + PCI_MSIX_TABLE, 4), VIRTIO_PCI_MSIX_TABLE_OFFSET);
    assert_int_equal(cfg_rd(f, msix + PCI_MSIX_PBA, 4), VIRTIO_PCI_MSIX_PBA_OFFSET);

    /* The five virtio capabilities, in order after it (4.1.4). */
    unsigned int ptr = cfg_rd(f, msix + 1, 1);
    for (unsigned int i = 0; i < 5; i++) {
        assert_true(ptr != 0 && (ptr & 3) == 0);
        assert_int_equal(find_vcap(f, want[i].type), ptr);
        assert_int_equal(cfg_rd(f, ptr, 1), PCI_CAP_ID_VNDR);
        assert_int_equal(cfg_rd(f, ptr + VIRTIO_PCI_CAP_LEN, 1), want[i].cap_len);
        assert_int_equal(cfg_rd(f, ptr + VIRTIO_PCI_CAP_BAR, 1), 0);
        assert_int_equal(cfg_rd(f, ptr + VIRTIO_PCI_CAP_ID, 1), 0);
        assert_int_equal(cfg_rd(f, ptr + VIRTIO_PCI_CAP_OFFSET, 4), want[i].offset);
        assert_int_equal(cfg_rd(f, ptr + VIRTIO_PCI_CAP_LENGTH, 4), want[i].length);
        if (want[i].type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
            assert_int_equal(cfg_rd(f, ptr + VIRTIO_PCI_NOTIFY_MULTIPLIER, 4), 4);
        }
        if (want[i].type != VIRTIO_PCI_CAP_PCI_CFG) {
            /* Read-only. */
            cfg_wr(f, ptr + VIRTIO_PCI_CAP_OFFSET, 4, 0x12345678);
            cfg_wr(f, ptr + VIRTIO_PCI_CAP_BAR, 1, 3);
            assert_int_equal(cfg_rd(f, ptr + VIRTIO_PCI_CAP_OFFSET, 4), want[i].offset);
            assert_int_equal(cfg_rd(f, ptr + VIRTIO_PCI_CAP_BAR, 1), 0);
        }
        ptr = cfg_rd(f, ptr + 1, 1);
    }
    assert_int_equal(ptr, 0);
}

static void test_common_cfg_fields(void **state)
{
    struct fixture *f = *state;
    enable(f);

    /* Feature windows (4.1.4.3): device_feature by device_feature_select. */
    for (uint32_t sel = 0; sel < 3; sel++) {
        common_wr(f, VIRTIO_PCI_COMMON_DFSELECT, 4, sel);
        assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_DFSELECT, 4), sel);
        assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_DF, 4),
                         virtio_device_read_features(&f->vdev, sel));
    }
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_DF, 4), 0);
    common_wr(f, VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_DF, 4) & 1, 1); /* VERSION_1 */
    common_wr(f, VIRTIO_PCI_COMMON_DF, 4, 0);
    assert_int_equal(errs(f, VIRTIO_PCI_E_READ_ONLY), 1);
    common_wr(f, VIRTIO_PCI_COMMON_STATUS, 1, ACK);
    common_wr(f, VIRTIO_PCI_COMMON_STATUS, 1, ACK | DRV);
    common_wr(f, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
    common_wr(f, VIRTIO_PCI_COMMON_GF, 4, 1);
    common_wr(f, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
    common_wr(f, VIRTIO_PCI_COMMON_GF, 4, 1u << VIRTIO_F_RING_EVENT_IDX);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_GF, 4), 1u << VIRTIO_F_RING_EVENT_IDX);
    common_wr(f, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_GFSELECT, 4), 1);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_GF, 4), 1);
    common_wr(f, VIRTIO_PCI_COMMON_GFSELECT, 4, 7);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_GF, 4), 0);
    assert_int_equal(f->vdev.driver_features,
                     (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_RING_EVENT_IDX));

    /* config_msix_vector: kept when the table has it, NO_VECTOR otherwise. */
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    common_wr(f, VIRTIO_PCI_COMMON_MSIX, 2, NVEC - 1);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_MSIX, 2), NVEC - 1);
    common_wr(f, VIRTIO_PCI_COMMON_MSIX, 2, NVEC);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    assert_int_equal(errs(f, VIRTIO_PCI_E_MSIX_VECTOR), 1);

    /* num_queues and config_generation: read-only. */
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_NUMQ, 2), NQ);
    common_wr(f, VIRTIO_PCI_COMMON_NUMQ, 2, 9);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_NUMQ, 2), NQ);
    uint8_t gen = (uint8_t)common_rd(f, VIRTIO_PCI_COMMON_CFGGEN, 1);
    config_changed(f);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_CFGGEN, 1), (uint8_t)(gen + 1));
    common_wr(f, VIRTIO_PCI_COMMON_CFGGEN, 1, 0);
    assert_int_equal(errs(f, VIRTIO_PCI_E_READ_ONLY), 3);

    /* The queue window: reset values, notify offsets. */
    for (unsigned int q = 0; q < NQ; q++) {
        common_wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
        assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_SELECT, 2), q);
        assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_SIZE, 2), QMAX);
        assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
        assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
        assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_NOFF, 2), q);
        assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_DESC, 8), 0);
        assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_NDATA, 2), 0);
        assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_RESET, 2), 0);
    }
    common_wr(f, VIRTIO_PCI_COMMON_Q_NOFF, 2, 5);
    common_wr(f, VIRTIO_PCI_COMMON_Q_NDATA, 2, 5);
    assert_int_equal(errs(f, VIRTIO_PCI_E_READ_ONLY), 5);
    common_wr(f, VIRTIO_PCI_COMMON_Q_RESET, 2, 1);
    assert_int_equal(errs(f, VIRTIO_PCI_E_VALUE), 1);

    /* Ring addresses: whole, or by 32-bit halves, read back either way. */
    common_wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
    common_wr(f, VIRTIO_PCI_COMMON_Q_SIZE, 2, 4);
    common_wr(f, VIRTIO_PCI_COMMON_Q_DESC, 8, 0x1122334455667780ull);
    common_wr(f, VIRTIO_PCI_COMMON_Q_DRIVER, 4, 0x89abcdef);
    common_wr(f, VIRTIO_PCI_COMMON_Q_DRIVER + 4, 4, 0x01234567);
    common_wr(f, VIRTIO_PCI_COMMON_Q_DEVICE + 4, 4, 0xfedcba98);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_SIZE, 2), 4);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_DESC, 8), 0x1122334455667780ull);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_DESC + 4, 4), 0x11223344);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_DRIVER, 8), 0x0123456789abcdefull);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_DEVICE, 4), 0);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_DEVICE + 4, 4), 0xfedcba98);
    assert_int_equal(f->vdev.qcfg[1].driver, 0x0123456789abcdefull);
    assert_int_equal(f->vdev.qcfg[0].desc, 0);

    /* queue_msix_vector validation. */
    common_wr(f, VIRTIO_PCI_COMMON_Q_MSIX, 2, 2);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_MSIX, 2), 2);
    common_wr(f, VIRTIO_PCI_COMMON_Q_MSIX, 2, 0x7fff);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    assert_int_equal(errs(f, VIRTIO_PCI_E_MSIX_VECTOR), 2);

    /* queue_select beyond the device: size 0, NO_VECTOR, writes refused. */
    common_wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 2, NQ);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_DRIVER, 8), 0);
    common_wr(f, VIRTIO_PCI_COMMON_Q_SIZE, 2, 4);
    common_wr(f, VIRTIO_PCI_COMMON_Q_MSIX, 2, 1);
    common_wr(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
    common_wr(f, VIRTIO_PCI_COMMON_Q_DESC, 4, 0x1000);
    assert_int_equal(errs(f, VIRTIO_PCI_E_QUEUE_SELECT), 4);

    /* Widths (4.1.3.1): anything but the natural width is refused, reads 0. */
    uint64_t w = errs(f, VIRTIO_PCI_E_WIDTH);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_DFSELECT, 2), 0);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_NUMQ, 4), 0);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_STATUS, 2), 0);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_SELECT + 1, 1), 0);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_DESC + 4, 8), 0);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_DESC + 2, 4), 0);
    common_wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 4, 0);
    common_wr(f, VIRTIO_PCI_COMMON_STATUS, 4, 0);
    assert_int_equal(errs(f, VIRTIO_PCI_E_WIDTH), w + 8);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_STATUS, 1), ACK | DRV);
    /* Past the structure: nothing there. */
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_SIZE, 4), 0);
    common_wr(f, 0x800, 4, 1);
    assert_int_equal(errs(f, VIRTIO_PCI_E_UNKNOWN), 2);

    /* Enabling freezes the queue (msix vector excepted); 0 is not a value. */
    common_wr(f, VIRTIO_PCI_COMMON_STATUS, 1, ACK | DRV | FOK);
    setup_queue(f, 0, 1);
    common_wr(f, VIRTIO_PCI_COMMON_Q_SIZE, 2, 2);
    common_wr(f, VIRTIO_PCI_COMMON_Q_DESC, 4, 0);
    common_wr(f, VIRTIO_PCI_COMMON_Q_DEVICE + 4, 4, 1);
    assert_int_equal(errs(f, VIRTIO_PCI_E_QUEUE_LIVE), 3);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_SIZE, 2), 8);
    common_wr(f, VIRTIO_PCI_COMMON_Q_MSIX, 2, 2);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_MSIX, 2), 2);
    common_wr(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 0);
    common_wr(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 2);
    assert_int_equal(errs(f, VIRTIO_PCI_E_VALUE), 3);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
    common_wr(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1); /* twice: the common layer counts it */
    assert_int_equal(virtio_device_error_count(&f->vdev, VIRTIO_E_QUEUE_STATE), 1);

    /* device_status 0 resets the device and the transport's registers. */
    common_wr(f, VIRTIO_PCI_COMMON_MSIX, 2, 0);
    common_wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_STATUS, 1), 0);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_SELECT, 2), 0);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_GFSELECT, 4), 0);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_SIZE, 2), QMAX);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    assert_int_equal(f->resets, 1);
    assert_string_equal(virtio_pci_error_name(VIRTIO_PCI_E_WIDTH), "width");
    assert_string_equal(virtio_pci_error_name(VIRTIO_PCI_E_COUNT), "unknown");
    assert_int_equal(virtio_pci_error_count(NULL, VIRTIO_PCI_E_WIDTH), 0);
}

static void test_trapped_doorbells(void **state)
{
    struct fixture *f = *state;

    bring_up(f);
    assert_false(virtio_pci_has_ioeventfd(f->p));
    /* 16-bit writes of the index at queue_notify_off * 4 (4.1.4.4, 4.1.5.2). */
    bar_wr(f, VIRTIO_PCI_NOTIFY_OFFSET + 4, 2, 1);
    assert_int_equal(f->notify_calls[1], 1);
    bar_wr(f, VIRTIO_PCI_NOTIFY_OFFSET, 2, 0);
    bar_wr(f, VIRTIO_PCI_NOTIFY_OFFSET, 4, 0);
    assert_int_equal(f->notify_calls[0], 2);
    /* Wrong widths and places, reads, past the last queue. */
    bar_wr(f, VIRTIO_PCI_NOTIFY_OFFSET, 1, 0);
    bar_wr(f, VIRTIO_PCI_NOTIFY_OFFSET, 8, 0);
    bar_wr(f, VIRTIO_PCI_NOTIFY_OFFSET + 2, 2, 0);
    assert_int_equal(errs(f, VIRTIO_PCI_E_WIDTH), 3);
    assert_int_equal(bar_rd(f, VIRTIO_PCI_NOTIFY_OFFSET + 4, 2), 0);
    assert_int_equal(errs(f, VIRTIO_PCI_E_WRITE_ONLY), 1);
    bar_wr(f, VIRTIO_PCI_NOTIFY_OFFSET + 4 * NQ, 2, NQ);
    assert_int_equal(errs(f, VIRTIO_PCI_E_UNKNOWN), 1);
    assert_int_equal(f->notify_calls[0] + f->notify_calls[1], 3);
}

static void test_isr_and_intx(void **state)
{
    struct fixture *f = *state;

    bring_up(f); /* MSI-X stays disabled: INTx and the ISR */
    device_used(f, 0);
    assert_int_equal(rec.level[INTX_LINE], 1);
    assert_true(cfg_rd(f, PCI_CFG_STATUS, 2) & PCI_STATUS_INTERRUPT);
    config_changed(f);
    /* Not a byte, or a write: refused, nothing cleared. */
    assert_int_equal(bar_rd(f, VIRTIO_PCI_ISR_OFFSET, 4), 0);
    bar_wr(f, VIRTIO_PCI_ISR_OFFSET, 1, 0);
    assert_int_equal(errs(f, VIRTIO_PCI_E_WIDTH), 1);
    assert_int_equal(errs(f, VIRTIO_PCI_E_READ_ONLY), 1);
    assert_int_equal(bar_rd(f, VIRTIO_PCI_ISR_OFFSET + 1, 1), 0);
    assert_int_equal(errs(f, VIRTIO_PCI_E_UNKNOWN), 1);
    assert_int_equal(rec.level[INTX_LINE], 1);
    /* Read clears and deasserts (4.1.4.5.1). */
    assert_int_equal(bar_rd(f, VIRTIO_PCI_ISR_OFFSET, 1),
                     VIRTIO_PCI_ISR_QUEUE | VIRTIO_PCI_ISR_CONFIG);
    assert_int_equal(rec.level[INTX_LINE], 0);
    assert_false(cfg_rd(f, PCI_CFG_STATUS, 2) & PCI_STATUS_INTERRUPT);
    assert_int_equal(bar_rd(f, VIRTIO_PCI_ISR_OFFSET, 1), 0);

    /* The command register's Interrupt Disable keeps the line low; the ISR still fills. */
    cfg_wr(f, PCI_CFG_COMMAND, 2,
           PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
    device_used(f, 1);
    assert_int_equal(rec.level[INTX_LINE], 0);
    assert_true(cfg_rd(f, PCI_CFG_STATUS, 2) & PCI_STATUS_INTERRUPT);
    enable(f);
    assert_int_equal(rec.level[INTX_LINE], 1);
    assert_int_equal(bar_rd(f, VIRTIO_PCI_ISR_OFFSET, 1), VIRTIO_PCI_ISR_QUEUE);
    assert_int_equal(rec.level[INTX_LINE], 0);
    assert_int_equal(rec.nr_msi, 0);

    /* A reset clears a pending ISR and the line. */
    config_changed(f);
    assert_int_equal(rec.level[INTX_LINE], 1);
    common_wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0);
    assert_int_equal(rec.level[INTX_LINE], 0);
    assert_int_equal(bar_rd(f, VIRTIO_PCI_ISR_OFFSET, 1), 0);
}

static void msix_entry(struct fixture *f, unsigned int v, uint32_t data, bool masked)
{
    uint64_t e = VIRTIO_PCI_MSIX_TABLE_OFFSET + 16ull * v;
    bar_wr(f, e + PCI_MSIX_ENTRY_ADDR_LO, 4, 0x08090040);
    bar_wr(f, e + PCI_MSIX_ENTRY_ADDR_HI, 4, 0);
    bar_wr(f, e + PCI_MSIX_ENTRY_DATA, 4, data);
    bar_wr(f, e + PCI_MSIX_ENTRY_CTRL, 4, masked);
}

static void test_msix_routing(void **state)
{
    struct fixture *f = *state;
    unsigned int msix = cfg_rd(f, PCI_CFG_CAP_PTR, 1);

    enable(f);
    /* Linux enables MSI-X (function masked) before it programs the table. */
    cfg_wr(f, msix + PCI_MSIX_CTRL, 2, PCI_MSIX_CTRL_ENABLE | PCI_MSIX_CTRL_MASKALL);
    for (unsigned int v = 0; v < NVEC; v++) {
        msix_entry(f, v, 0x100 + v, false);
    }
    cfg_wr(f, msix + PCI_MSIX_CTRL, 2, PCI_MSIX_CTRL_ENABLE);
    negotiate(f);
    common_wr(f, VIRTIO_PCI_COMMON_MSIX, 2, 0);
    setup_queue(f, 0, 1);
    setup_queue(f, 1, VIRTIO_MSI_NO_VECTOR);
    common_wr(f, VIRTIO_PCI_COMMON_STATUS, 1, ACK | DRV | FOK | DOK);

    /* Queue 0 -> vector 1, config -> vector 0, queue 1 -> none (4.1.5.3, 4.1.5.4). */
    device_used(f, 0);
    assert_int_equal(rec.nr_msi, 1);
    assert_int_equal(rec.msi[0].data, 0x101);
    assert_int_equal(rec.msi[0].addr, 0x08090040);
    assert_int_equal(rec.msi[0].devid, SLOT << 3);
    config_changed(f);
    assert_int_equal(rec.nr_msi, 2);
    assert_int_equal(rec.msi[1].data, 0x100);
    device_used(f, 1);
    assert_int_equal(rec.nr_msi, 2);
    /* No ISR, no INTx with MSI-X on. */
    assert_int_equal(rec.level[INTX_LINE], 0);
    assert_int_equal(bar_rd(f, VIRTIO_PCI_ISR_OFFSET, 1), 0);

    /* Masked: pending in the PBA; unmasked: delivered. */
    bar_wr(f, VIRTIO_PCI_MSIX_TABLE_OFFSET + 16 + PCI_MSIX_ENTRY_CTRL, 4, 1);
    device_used(f, 0);
    assert_int_equal(rec.nr_msi, 2);
    assert_int_equal(bar_rd(f, VIRTIO_PCI_MSIX_PBA_OFFSET, 8), 2);
    bar_wr(f, VIRTIO_PCI_MSIX_TABLE_OFFSET + 16 + PCI_MSIX_ENTRY_CTRL, 4, 0);
    assert_int_equal(rec.nr_msi, 3);
    assert_int_equal(rec.msi[2].data, 0x101);
    assert_int_equal(bar_rd(f, VIRTIO_PCI_MSIX_PBA_OFFSET, 8), 0);

    /* Moving a queue's vector while it is live (what Linux's del_vq does). */
    common_wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    common_wr(f, VIRTIO_PCI_COMMON_Q_MSIX, 2, 2);
    device_used(f, 0);
    assert_int_equal(rec.msi[3].data, 0x102);

    /* MSI-X off again: back to INTx and the ISR. */
    cfg_wr(f, msix + PCI_MSIX_CTRL, 2, 0);
    device_used(f, 0);
    assert_int_equal(rec.nr_msi, 4);
    assert_int_equal(rec.level[INTX_LINE], 1);
    assert_int_equal(bar_rd(f, VIRTIO_PCI_ISR_OFFSET, 1), VIRTIO_PCI_ISR_QUEUE);
}

static void test_device_config(void **state)
{
    struct fixture *f = *state;
    const uint64_t d = VIRTIO_PCI_DEVICE_OFFSET;

    enable(f);
    assert_int_equal(bar_rd(f, d, 1), 0xc0);
    assert_int_equal(bar_rd(f, d + 2, 2), 0xc3c2);
    assert_int_equal(bar_rd(f, d + 8, 4), 0xcbcac9c8);
    bar_wr(f, d + 4, 4, 0x11223344);
    assert_int_equal(f->config[4], 0x44);
    assert_int_equal(f->config[7], 0x11);
    bar_wr(f, d + 11, 1, 0x55);
    assert_int_equal(bar_rd(f, d + 8, 4), 0x55cac9c8);
    /* Bounds and widths are the common layer's: refused, counted there, read 0. */
    assert_int_equal(bar_rd(f, d + 10, 4), 0);
    assert_int_equal(bar_rd(f, d + 1, 2), 0);
    assert_int_equal(bar_rd(f, d + 12, 1), 0);
    assert_int_equal(bar_rd(f, d + 0xffc, 4), 0);
    bar_wr(f, d + 12, 4, 0xffffffff);
    assert_int_equal(virtio_device_error_count(&f->vdev, VIRTIO_E_CONFIG_WIDTH), 2);
    assert_int_equal(virtio_device_error_count(&f->vdev, VIRTIO_E_CONFIG_RANGE), 3);
    assert_int_equal(bar_rd(f, d + 8, 4), 0x55cac9c8);
    /* Holes of the BAR. */
    assert_int_equal(bar_rd(f, 0x6000, 4), 0);
    bar_wr(f, 0x7ff8, 8, 1);
    assert_int_equal(errs(f, VIRTIO_PCI_E_UNKNOWN), 2);
}

static void test_pci_cfg_window(void **state)
{
    struct fixture *f = *state;
    unsigned int cap = find_vcap(f, VIRTIO_PCI_CAP_PCI_CFG);
    const unsigned int bar = cap + VIRTIO_PCI_CAP_BAR, off = cap + VIRTIO_PCI_CAP_OFFSET,
                       len = cap + VIRTIO_PCI_CAP_LENGTH, data = cap + VIRTIO_PCI_CFG_DATA;

    assert_true(cap != 0);
    /* No memory decoding needed: the window is config space (4.1.4.9). */
    cfg_wr(f, bar, 1, 0);
    cfg_wr(f, off, 4, VIRTIO_PCI_COMMON_NUMQ);
    cfg_wr(f, len, 4, 2);
    assert_int_equal(cfg_rd(f, off, 4), VIRTIO_PCI_COMMON_NUMQ);
    assert_int_equal(cfg_rd(f, len, 4), 2);
    assert_int_equal(cfg_rd(f, data, 4), NQ);
    assert_int_equal(cfg_rd(f, data, 2), NQ);
    /* A write through it. */
    cfg_wr(f, off, 4, VIRTIO_PCI_COMMON_DFSELECT);
    cfg_wr(f, len, 4, 4);
    cfg_wr(f, data, 4, 1);
    enable(f);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_DFSELECT, 4), 1);
    /* Byte-wide field updates; only the bar byte of its dword is writable. */
    cfg_wr(f, len, 1, 1);
    cfg_wr(f, bar, 4, 0xffffff00);
    assert_int_equal(cfg_rd(f, bar, 4), 0);
    cfg_wr(f, off, 4, VIRTIO_PCI_COMMON_STATUS);
    cfg_wr(f, data, 1, ACK);
    assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_STATUS, 1), ACK);
    /* The ISR through the window clears it too. */
    config_changed(f); /* not live: no DRIVER_OK, but still raised */
    cfg_wr(f, off, 4, VIRTIO_PCI_ISR_OFFSET);
    assert_int_equal(cfg_rd(f, data, 1), VIRTIO_PCI_ISR_CONFIG);
    assert_int_equal(cfg_rd(f, data, 1), 0);
    /* The MSI-X table through it (the core's part of the BAR): needs 4 bytes. */
    cfg_wr(f, off, 4, VIRTIO_PCI_MSIX_TABLE_OFFSET + PCI_MSIX_ENTRY_CTRL);
    cfg_wr(f, len, 4, 4);
    assert_int_equal(cfg_rd(f, data, 4), 1);
    /* Bad windows: length 3, misaligned, another BAR, past the end. */
    uint64_t before = errs(f, VIRTIO_PCI_E_CFG_WINDOW);
    cfg_wr(f, len, 4, 3);
    cfg_rd(f, data, 4);
    cfg_wr(f, len, 4, 4);
    cfg_wr(f, off, 4, 2);
    cfg_wr(f, data, 4, 0);
    cfg_wr(f, off, 4, 0);
    cfg_wr(f, bar, 1, 1);
    cfg_rd(f, data, 4);
    cfg_wr(f, bar, 1, 0);
    cfg_wr(f, off, 4, VIRTIO_PCI_BAR_SIZE);
    cfg_rd(f, data, 4);
    cfg_wr(f, bar, 1, 9);
    cfg_rd(f, data, 4);
    assert_int_equal(errs(f, VIRTIO_PCI_E_CFG_WINDOW), before + 5);
    /* A reset of the function clears the window. */
    pci_host_reset(f->host);
    assert_int_equal(cfg_rd(f, bar, 4), 0);
    assert_int_equal(cfg_rd(f, off, 4), 0);
    assert_int_equal(cfg_rd(f, len, 4), 0);
}

static void test_host_reset(void **state)
{
    struct fixture *f = *state;

    bring_up(f);
    config_changed(f);
    assert_int_equal(rec.level[INTX_LINE], 1);
    int resets = f->resets; /* bring_up reset it once already */
    pci_host_reset(f->host);
    assert_int_equal(f->resets, resets + 1);
    assert_int_equal(f->vdev.status, 0);
    assert_false(f->vdev.qcfg[0].enabled);
    assert_int_equal(rec.level[INTX_LINE], 0);
    assert_int_equal(cfg_rd(f, PCI_CFG_COMMAND, 2), 0);
    assert_int_equal(bar_base(f), MMIO64);
}

static void test_register_errors(void **state)
{
    struct fixture *f = *state;
    virtio_device_t other;
    virtio_device_ops_t big = dummy_ops;

    assert_int_equal(virtio_pci_register(NULL, &f->vdev, -1, NULL, NULL), -EINVAL);
    assert_int_equal(virtio_pci_register(f->host, NULL, -1, NULL, NULL), -EINVAL);
    assert_int_equal(virtio_pci_register(f->host, &f->vdev, -1, NULL, NULL), -EBUSY);
    big.config_size = VIRTIO_PCI_DEVICE_MAX + 1;
    assert_int_equal(virtio_device_init(&other, f->vm, &big, f, 1), 0);
    assert_int_equal(virtio_pci_register(f->host, &other, -1, NULL, NULL), -EINVAL);
    /* Slot taken: nothing left behind, the device stays free for another transport. */
    assert_int_equal(virtio_device_init(&other, f->vm, &dummy_ops, f, 1), 0);
    assert_int_equal(virtio_pci_register(f->host, &other, SLOT, NULL, NULL), -EBUSY);
    assert_null(other.transport);
    assert_int_equal(virtio_pci_register(f->host, &other, -1, NULL, NULL), 0);
    assert_non_null(other.transport);
    /* The second device's BAR follows the first one's in the window. */
    assert_int_equal(pci_host_config_read(f->host, 0, 0, PCI_CFG_BAR0, 4),
                     (uint32_t)(MMIO64 + VIRTIO_PCI_BAR_SIZE) | PCI_BAR_MEM_TYPE_64);
    pci_host_destroy(f->host);
    assert_null(other.transport);
    assert_int_equal(pci_host_create(f->vm, &host_cfg, &f->host), 0);
}

/* --- the eventfd path ------------------------------------------------------------------- */

static bool wait_for(int *p, int want)
{
    for (int i = 0; i < 5000; i++) {
        if (__atomic_load_n(p, __ATOMIC_SEQ_CST) >= want) {
            return true;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return false;
}

static void test_ioeventfd_doorbells(void **state)
{
    struct fixture *f = *state;
    const uint64_t moved = MMIO64 + 0x100000;

    assert_int_equal(virtio_pci_register(f->host, &f->vdev, SLOT, f->io, &f->p), (int)SLOT);
    /* Nothing bound until BAR 0 decodes. */
    assert_int_equal(rec.binds, 0);
    assert_false(virtio_pci_has_ioeventfd(f->p));
    bring_up(f);
    assert_true(virtio_pci_has_ioeventfd(f->p));
    assert_int_equal(rec.binds, NQ);
    for (unsigned int q = 0; q < NQ; q++) {
        vm_ioeventfd_t *ev = ev_at(MMIO64 + VIRTIO_PCI_NOTIFY_OFFSET + 4 * q);
        assert_non_null(ev);
        assert_int_equal(ev->len, 2);
        assert_false(ev->pio);
        assert_false(ev->has_datamatch);
    }
    /* What KVM does on a doorbell write: signal the eventfd; the I/O thread kicks. */
    uint64_t one = 1;
    assert_int_equal(write(ev_at(MMIO64 + VIRTIO_PCI_NOTIFY_OFFSET + 4)->fd, &one, 8), 8);
    assert_true(wait_for(&f->notify_calls[1], 1));
    /* Trapped writes (another width) still work alongside. */
    bar_wr(f, VIRTIO_PCI_NOTIFY_OFFSET, 4, 0);
    assert_int_equal(__atomic_load_n(&f->notify_calls[0], __ATOMIC_SEQ_CST), 1);

    /* The guest moves BAR 0: the doorbells follow it. */
    cfg_wr(f, PCI_CFG_COMMAND, 2, 0);
    assert_int_equal(rec.unbinds, NQ);
    assert_false(virtio_pci_has_ioeventfd(f->p));
    cfg_wr(f, PCI_CFG_BAR0, 4, (uint32_t)moved);
    assert_int_equal(rec.binds, NQ);
    enable(f);
    assert_int_equal(rec.binds, 2 * NQ);
    assert_non_null(ev_at(moved + VIRTIO_PCI_NOTIFY_OFFSET));
    assert_null(ev_at(MMIO64 + VIRTIO_PCI_NOTIFY_OFFSET));
    assert_int_equal(write(ev_at(moved + VIRTIO_PCI_NOTIFY_OFFSET)->fd, &one, 8), 8);
    assert_true(wait_for(&f->notify_calls[0], 2));
    /* Moved while decoding (one write): unbind, rebind. */
    cfg_wr(f, PCI_CFG_BAR0, 4, (uint32_t)MMIO64);
    assert_non_null(ev_at(MMIO64 + VIRTIO_PCI_NOTIFY_OFFSET + 4));
    assert_int_equal(rec.unbinds, 2 * NQ);

    /* Destroying the host unbinds and detaches. */
    pci_host_destroy(f->host);
    assert_int_equal(rec.unbinds, 3 * NQ);
    assert_null(f->vdev.transport);
    assert_int_equal(pci_host_create(f->vm, &host_cfg, &f->host), 0);
}

static void test_no_ioeventfd_backend(void **state)
{
    struct fixture *f = *state;

    /* An I/O thread, but a backend without ioeventfds: trapped kicks. */
    test_ops.ioeventfd = NULL;
    assert_int_equal(virtio_pci_register(f->host, &f->vdev, SLOT, f->io, &f->p), (int)SLOT);
    bring_up(f);
    assert_false(virtio_pci_has_ioeventfd(f->p));
    bar_wr(f, VIRTIO_PCI_NOTIFY_OFFSET + 4, 2, 1);
    assert_int_equal(f->notify_calls[1], 1);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define E(fn) cmocka_unit_test_setup_teardown(fn, setup_eventfd, teardown)
    const struct CMUnitTest tests[] = {
        T(test_identity_and_capabilities),
        T(test_common_cfg_fields),
        T(test_trapped_doorbells),
        T(test_isr_and_intx),
        T(test_msix_routing),
        T(test_device_config),
        T(test_pci_cfg_window),
        T(test_host_reset),
        T(test_register_errors),
        E(test_ioeventfd_doorbells),
        E(test_no_ioeventfd_backend),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
