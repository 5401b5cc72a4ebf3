/*
 * test_crossvm.c - one end of a cross-VM channel (src/devices/crossvm.c):
 * the event page at every offset and width, the doorbell (trapped and by
 * ioeventfd, following BAR moves), the counter (saturation, clearing), INTx
 * (level, Memory Space gate, the Interrupt Status and Disable bits as
 * uio_pci_generic uses them), MSI-X, the shared memory BAR following moves
 * and Memory Space, reset, the MMIO flavour, the I/O thread, and hostile
 * accesses.
 *
 * Guest accesses go through vcpu_handle_exit() over fake_hv.h; the test's
 * copy of its operations records lines, MSIs, ioeventfds and mappings.  The
 * channel's memory is a real memfd and the doorbells real eventfds, so what
 * the peer would see is read from them.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <vmmkit/crossvm.h>
#include <vmmkit/guest_memory.h>
#include <vmmkit/log.h>
#include <vmmkit/pci.h>

#include "fake_hv.h"

#define ECAM 0x30000000ull
#define MMIO32 0x10000000ull
#define MMIO32_SIZE 0x10000000ull
#define RAM 0x40000000ull
#define MEM_SIZE 0x10000u
#define INTX_LINE 35u /* slot 0, INTA# */
#define EV_BASE 0x0fff0000ull
#define SHM_BASE 0x8000000000ull
#define SPI 80u

/* --- a backend that records lines, MSIs and ioeventfds --------------------------------- */

#define MAX_EV 8

static struct {
    int level[1024];
    int nr_msi;
    uint64_t msi_addr;
    uint32_t msi_data;
    vm_ioeventfd_t ev[MAX_EV];
    bool ev_live[MAX_EV];
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
    rec.nr_msi++;
    rec.msi_addr = addr;
    rec.msi_data = data;
    return 0;
}

static int rec_ioeventfd(hv_vm_t *vm, const vm_ioeventfd_t *ev, bool assign)
{
    for (int i = 0; i < MAX_EV; i++) {
        if (assign && !rec.ev_live[i]) {
            rec.ev[i] = *ev;
            rec.ev_live[i] = true;
            return 0;
        }
        if (!assign && rec.ev_live[i] && rec.ev[i].fd == ev->fd && rec.ev[i].addr == ev->addr) {
            rec.ev_live[i] = false;
            return 0;
        }
    }
    return assign ? -ENOSPC : -ENOENT;
}

static int nr_bound(void)
{
    int n = 0;
    for (int i = 0; i < MAX_EV; i++) {
        n += rec.ev_live[i];
    }
    return n;
}

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

/* --- fixture ---------------------------------------------------------------------------- */

struct fx {
    vm_t *vm;
    vm_vcpu_t *vcpu;
    pci_host_t *host;
    crossvm_t *cv;
    int mem_fd, notify_fd, wait_fd;
    uint8_t *peer_mem; /* the peer's view of the channel's memory */
};

static const pci_host_config_t host_cfg = {
    .ecam_base = ECAM,
    .mmio32_base = MMIO32,
    .mmio32_size = MMIO32_SIZE,
    .intx_irq = {INTX_LINE, 36, 37, 38},
};

static struct fx *fx_new(bool ioeventfds)
{
    struct fx *f = calloc(1, sizeof(*f));

    vmm_log_set_level(VMM_LOG_ERR); /* the tests provoke warnings on purpose */
    memset(&rec, 0, sizeof(rec));
    test_ops = fake_hv_ops;
    test_ops.irq_line = rec_irq_line;
    test_ops.msi = rec_msi;
    if (ioeventfds) {
        test_ops.ioeventfd = rec_ioeventfd;
    }
    assert_int_equal(vm_create_with_backend(&f->vm, "cvm", &test_ops), 0);
    f->vcpu = vm_create_vcpu(f->vm, 0);
    assert_non_null(f->vcpu);
    assert_int_equal(vm_ram_add(f->vm, RAM, 2u << 20), 0);
    f->mem_fd = memfd_create("chan", MFD_CLOEXEC);
    assert_true(f->mem_fd >= 0);
    assert_int_equal(ftruncate(f->mem_fd, MEM_SIZE), 0);
    f->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    f->wait_fd = eventfd(0, EFD_CLOEXEC); /* blocking: the device makes it non-blocking */
    assert_true(f->notify_fd >= 0 && f->wait_fd >= 0);
    f->peer_mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, f->mem_fd, 0);
    assert_true(f->peer_mem != MAP_FAILED);
    const crossvm_config_t cc = {.name = "ping",
                                 .mem_fd = f->mem_fd,
                                 .mem_size = MEM_SIZE,
                                 .notify_fd = f->notify_fd,
                                 .wait_fd = f->wait_fd};
    assert_int_equal(crossvm_create(f->vm, &cc, &f->cv), 0);
    assert_true(fcntl(f->wait_fd, F_GETFL) & O_NONBLOCK);
    return f;
}

static void fx_pci(struct fx *f)
{
    assert_int_equal(pci_host_create(f->vm, &host_cfg, &f->host), 0);
    assert_int_equal(crossvm_attach_pci(f->cv, f->host, -1), 0);
}

static void fx_free(struct fx *f)
{
    pci_host_destroy(f->host);
    crossvm_destroy(f->cv);
    vm_destroy(f->vm);
    munmap(f->peer_mem, MEM_SIZE);
    close(f->mem_fd);
    close(f->notify_fd);
    close(f->wait_fd);
    free(f);
}

static int setup_pci(void **state)
{
    struct fx *f = fx_new(false);
    fx_pci(f);
    *state = f;
    return 0;
}

static int setup_pci_ioeventfd(void **state)
{
    struct fx *f = fx_new(true);
    fx_pci(f);
    *state = f;
    return 0;
}

static int setup_mmio(void **state)
{
    struct fx *f = fx_new(true);
    const crossvm_mmio_config_t m = {.event_base = EV_BASE, .mem_base = SHM_BASE, .intid = SPI};
    assert_int_equal(crossvm_attach_mmio(f->cv, &m), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_free(*state);
    return 0;
}

/* --- guest accesses --------------------------------------------------------------------- */

static uint64_t rd(struct fx *f, uint64_t addr, uint32_t len)
{
    struct fake_exit e;
    uint64_t v = 0;
    fake_mmio(&e, addr, len, false, 0);
    assert_int_equal(vcpu_handle_exit(f->vcpu, &e.exit), VCPU_CONTINUE);
    memcpy(&v, e.exit.mmio.data, len);
    return v;
}

static void wr(struct fx *f, uint64_t addr, uint32_t len, uint64_t val)
{
    struct fake_exit e;
    fake_mmio(&e, addr, len, true, val);
    assert_int_equal(vcpu_handle_exit(f->vcpu, &e.exit), VCPU_CONTINUE);
}

static uint64_t cfg_addr(unsigned int reg)
{
    return ECAM + reg; /* bus 0, slot 0, function 0 */
}

static uint32_t cfg_rd(struct fx *f, unsigned int reg, uint32_t len)
{
    return (uint32_t)rd(f, cfg_addr(reg), len);
}

static void cfg_wr(struct fx *f, unsigned int reg, uint32_t len, uint32_t val)
{
    wr(f, cfg_addr(reg), len, val);
}

static uint64_t bar_addr(struct fx *f, unsigned int bar)
{
    uint64_t lo = cfg_rd(f, PCI_CFG_BAR0 + 4 * bar, 4);
    uint64_t a = lo & ~0xfull;
    if (lo & PCI_BAR_MEM_TYPE_64) {
        a |= (uint64_t)cfg_rd(f, PCI_CFG_BAR0 + 4 * bar + 4, 4) << 32;
    }
    return a;
}

/* What the peer's eventfd holds (and empties it). */
static uint64_t peer_rings(struct fx *f)
{
    uint64_t n = 0;
    if (read(f->notify_fd, &n, sizeof(n)) != sizeof(n)) {
        return 0;
    }
    return n;
}

/* The peer rings @n times. */
static void peer_ring(struct fx *f, uint64_t n)
{
    assert_int_equal(write(f->wait_fd, &n, sizeof(n)), sizeof(n));
}

static uint16_t status(struct fx *f)
{
    return (uint16_t)cfg_rd(f, PCI_CFG_STATUS, 2);
}

/* The event page as the guest should read it. */
static void expected_page(uint8_t page[0x1000], uint32_t events)
{
    memset(page, 0, 0x1000);
    memcpy(page + CROSSVM_REG_EVENTS, &events, 4);
    memcpy(page + CROSSVM_REG_NAME, "ping", 4);
    page[CROSSVM_REG_VERSION] = CROSSVM_VERSION;
}

/* --- tests ------------------------------------------------------------------------------ */

static void test_create_checks(void **state)
{
    struct fx *f = *state;
    crossvm_t *cv;
    crossvm_config_t cc = {.name = "x",
                           .mem_fd = f->mem_fd,
                           .mem_size = MEM_SIZE,
                           .notify_fd = f->notify_fd,
                           .wait_fd = f->wait_fd};
    char long_name[64];

    memset(long_name, 'n', sizeof(long_name));
    long_name[CROSSVM_NAME_MAX + 1] = '\0';
    cc.name = "";
    assert_int_equal(crossvm_create(f->vm, &cc, &cv), -EINVAL);
    cc.name = long_name;
    assert_int_equal(crossvm_create(f->vm, &cc, &cv), -EINVAL);
    long_name[CROSSVM_NAME_MAX] = '\0';
    cc.name = long_name; /* 47 bytes: fine */
    assert_int_equal(crossvm_create(f->vm, &cc, &cv), 0);
    assert_int_equal(strlen(crossvm_name(cv)), CROSSVM_NAME_MAX);
    crossvm_destroy(cv);
    cc.name = "x";
    cc.mem_size = 0x3000; /* not a power of two */
    assert_int_equal(crossvm_create(f->vm, &cc, &cv), -EINVAL);
    cc.mem_size = 0x800; /* below 4 KiB */
    assert_int_equal(crossvm_create(f->vm, &cc, &cv), -EINVAL);
    cc.mem_size = 2 * MEM_SIZE; /* more than the memfd holds */
    assert_int_equal(crossvm_create(f->vm, &cc, &cv), -EINVAL);
    cc.mem_size = MEM_SIZE;
    cc.notify_fd = -1;
    assert_int_equal(crossvm_create(f->vm, &cc, &cv), -EINVAL);
    cc.notify_fd = f->notify_fd;
    cc.mem_fd = 9999;
    assert_int_equal(crossvm_create(f->vm, &cc, &cv), -EINVAL);
    assert_int_equal(crossvm_create(NULL, &cc, &cv), -EINVAL);
    /* Attached once only; a second host is refused. */
    assert_int_equal(crossvm_attach_pci(f->cv, f->host, -1), -EBUSY);
    const crossvm_mmio_config_t m = {.event_base = EV_BASE, .mem_base = SHM_BASE, .intid = SPI};
    assert_int_equal(crossvm_attach_mmio(f->cv, &m), -EBUSY);
    assert_int_equal(crossvm_memory_size(f->cv), MEM_SIZE);
    assert_string_equal(crossvm_stat_name(CROSSVM_STAT_RINGS), "rings");
    assert_string_equal(crossvm_stat_name(CROSSVM_STAT_COUNT), "unknown");
    assert_int_equal(crossvm_stat(f->cv, CROSSVM_STAT_COUNT), 0);
}

static void test_pci_identity(void **state)
{
    struct fx *f = *state;

    assert_int_equal(cfg_rd(f, PCI_CFG_VENDOR_ID, 2), CROSSVM_PCI_VENDOR_ID);
    assert_int_equal(cfg_rd(f, PCI_CFG_DEVICE_ID, 2), CROSSVM_PCI_DEVICE_ID);
    assert_int_equal(cfg_rd(f, PCI_CFG_REVISION_ID, 1), CROSSVM_VERSION);
    assert_int_equal(cfg_rd(f, PCI_CFG_REVISION_ID, 4) >> 8, CROSSVM_PCI_CLASS);
    assert_int_equal(cfg_rd(f, PCI_CFG_INTERRUPT_PIN, 1), 1);
    /* BAR0 32-bit, BAR1 64-bit prefetchable over registers 1-2, BAR3 32-bit, BAR4/5 absent. */
    assert_int_equal(cfg_rd(f, PCI_CFG_BAR0, 4) & 0xf, 0);
    assert_int_equal(cfg_rd(f, PCI_CFG_BAR0 + 4, 4) & 0xf,
                     PCI_BAR_MEM_TYPE_64 | PCI_BAR_MEM_PREFETCH);
    assert_int_equal(cfg_rd(f, PCI_CFG_BAR0 + 12, 4) & 0xf, 0);
    assert_int_equal(cfg_rd(f, PCI_CFG_BAR0 + 16, 4), 0);
    cfg_wr(f, PCI_CFG_BAR0 + 4, 4, 0xffffffff);
    assert_int_equal(cfg_rd(f, PCI_CFG_BAR0 + 4, 4),
                     (uint32_t) ~(MEM_SIZE - 1) | PCI_BAR_MEM_TYPE_64 | PCI_BAR_MEM_PREFETCH);
    cfg_wr(f, PCI_CFG_BAR0, 4, 0xffffffff);
    assert_int_equal(cfg_rd(f, PCI_CFG_BAR0, 4), 0xfffff000u);
    /* The MSI-X capability: one vector, table and PBA in BAR3. */
    unsigned int cap = cfg_rd(f, PCI_CFG_CAP_PTR, 1);
    assert_int_equal(cfg_rd(f, cap, 1), PCI_CAP_ID_MSIX);
    assert_int_equal(cfg_rd(f, cap + PCI_MSIX_CTRL, 2) & PCI_MSIX_CTRL_QSIZE, 0);
    assert_int_equal(cfg_rd(f, cap + PCI_MSIX_TABLE, 4), CROSSVM_MSIX_TABLE | CROSSVM_BAR_MSIX);
    assert_int_equal(cfg_rd(f, cap + PCI_MSIX_PBA, 4), CROSSVM_MSIX_PBA | CROSSVM_BAR_MSIX);
    assert_non_null(crossvm_pci_function(f->cv));
}

static void test_registers_every_width(void **state)
{
    struct fx *f = *state;
    uint8_t page[0x1000];
    uint64_t base;
    static const uint32_t widths[] = {1, 2, 4, 8};

    cfg_wr(f, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY);
    base = bar_addr(f, CROSSVM_BAR_EVENTS);
    peer_ring(f, 0x01020304);
    crossvm_poll(f->cv);
    expected_page(page, 0x01020304);
    for (uint32_t off = 0; off < 0x48; off++) {
        for (int w = 0; w < 4; w++) {
            uint64_t want = 0;
            memcpy(&want, page + off, widths[w]);
            uint64_t got = rd(f, base + off, widths[w]);
            if (got != want) {
                fail_msg("read of %u at %#x: %#llx, want %#llx", widths[w], off,
                         (unsigned long long)got, (unsigned long long)want);
            }
        }
    }
    assert_int_equal(rd(f, base + CROSSVM_REG_VERSION, 4), 1);
    assert_int_equal(rd(f, base + 0xff8, 8), 0);
    assert_int_equal(rd(f, base + 0xfff, 1), 0);
    assert_int_equal(rd(f, base + CROSSVM_REG_DOORBELL, 4), 0);
    /* The same through pci_device_bar_access (a config-space window would use it). */
    uint64_t v = 0;
    assert_int_equal(pci_device_bar_access(crossvm_pci_function(f->cv), 0, 8, 4, false, &v), 0);
    assert_int_equal(v, 0x676e6970); /* "ping" */
}

static void test_doorbell_trapped(void **state)
{
    struct fx *f = *state;
    static const uint32_t widths[] = {1, 2, 4, 8};
    uint64_t base;

    cfg_wr(f, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY);
    base = bar_addr(f, CROSSVM_BAR_EVENTS);
    assert_false(crossvm_doorbell_bound(f->cv)); /* no ioeventfds in this backend */
    /* Any width and value at 0x00..0x03 rings once. */
    for (int w = 0; w < 4; w++) {
        wr(f, base, widths[w], 0);
        assert_int_equal(peer_rings(f), 1);
        wr(f, base, widths[w], 0xffffffffffffffffull);
        assert_int_equal(peer_rings(f), 1);
    }
    wr(f, base + 1, 1, 7);
    wr(f, base + 2, 2, 7);
    wr(f, base + 3, 1, 7);
    assert_int_equal(peer_rings(f), 3);
    assert_int_equal(crossvm_stat(f->cv, CROSSVM_STAT_RINGS), 11);
    /* Nothing else rings: the counter, the name, the version, beyond. */
    uint64_t ignored = crossvm_stat(f->cv, CROSSVM_STAT_IGNORED);
    wr(f, base + CROSSVM_REG_EVENTS, 4, 1);
    wr(f, base + 5, 1, 0);
    wr(f, base + CROSSVM_REG_NAME, 8, 0x4141414141414141ull);
    wr(f, base + CROSSVM_REG_VERSION, 4, 9);
    wr(f, base + 0x800, 4, 1);
    assert_int_equal(peer_rings(f), 0);
    assert_int_equal(crossvm_stat(f->cv, CROSSVM_STAT_IGNORED), ignored + 5);
    assert_int_equal(rd(f, base + CROSSVM_REG_NAME, 4), 0x676e6970);
    assert_int_equal(rd(f, base + CROSSVM_REG_VERSION, 4), 1);
    /* A full eventfd refuses: counted, nothing breaks. */
    uint64_t big = 0xfffffffffffffffeull;
    assert_int_equal(write(f->notify_fd, &big, sizeof(big)), sizeof(big));
    wr(f, base, 4, 1);
    assert_int_equal(crossvm_stat(f->cv, CROSSVM_STAT_RING_ERRORS), 1);
    assert_int_equal(peer_rings(f), big);
}

static void test_doorbell_ioeventfd_follows_bar(void **state)
{
    struct fx *f = *state;
    uint64_t base, moved = MMIO32 + 0x01000000;
    vm_ioeventfd_t *ev;

    assert_int_equal(nr_bound(), 0); /* not before Memory Space */
    cfg_wr(f, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY);
    base = bar_addr(f, CROSSVM_BAR_EVENTS);
    ev = ev_at(base);
    assert_non_null(ev);
    assert_int_equal(ev->fd, f->notify_fd);
    assert_int_equal(ev->len, 0); /* any width */
    assert_false(ev->has_datamatch);
    assert_true(crossvm_doorbell_bound(f->cv));
    assert_int_equal(nr_bound(), 1);
    /* Moved: unbound at the old place, bound at the new. */
    cfg_wr(f, PCI_CFG_BAR0, 4, (uint32_t)moved);
    assert_null(ev_at(base));
    assert_non_null(ev_at(moved));
    assert_int_equal(nr_bound(), 1);
    /* Other offsets of the doorbell still trap and ring. */
    wr(f, moved + 2, 2, 1);
    assert_int_equal(peer_rings(f), 1);
    /* Memory Space off: unbound. */
    cfg_wr(f, PCI_CFG_COMMAND, 2, 0);
    assert_int_equal(nr_bound(), 0);
    assert_false(crossvm_doorbell_bound(f->cv));
    cfg_wr(f, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY);
    assert_non_null(ev_at(moved));
    /* The host goes: the binding with it. */
    pci_host_destroy(f->host);
    f->host = NULL;
    assert_int_equal(nr_bound(), 0);
    assert_null(crossvm_pci_function(f->cv));
}

static void test_counter(void **state)
{
    struct fx *f = *state;
    uint64_t base;

    cfg_wr(f, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY);
    base = bar_addr(f, CROSSVM_BAR_EVENTS);
    crossvm_poll(f->cv); /* nothing there: no change */
    assert_int_equal(crossvm_events(f->cv), 0);
    peer_ring(f, 1);
    peer_ring(f, 2);
    crossvm_poll(f->cv);
    assert_int_equal(rd(f, base + CROSSVM_REG_EVENTS, 4), 3);
    /* Non-zero writes do nothing; 0 of any width at 0x04 clears. */
    wr(f, base + CROSSVM_REG_EVENTS, 4, 5);
    assert_int_equal(crossvm_events(f->cv), 3);
    wr(f, base + CROSSVM_REG_EVENTS, 1, 0);
    assert_int_equal(crossvm_events(f->cv), 0);
    peer_ring(f, 1);
    crossvm_poll(f->cv);
    wr(f, base + CROSSVM_REG_EVENTS, 8, 0);
    assert_int_equal(rd(f, base + CROSSVM_REG_EVENTS, 4), 0);
    assert_int_equal(crossvm_stat(f->cv, CROSSVM_STAT_CLEARS), 2);
    /* Saturation at 0xffffffff; what does not fit is counted. */
    peer_ring(f, 0xfffffff0ull);
    crossvm_poll(f->cv);
    peer_ring(f, 0x100);
    crossvm_poll(f->cv);
    assert_int_equal(rd(f, base + CROSSVM_REG_EVENTS, 4), 0xffffffffu);
    assert_int_equal(crossvm_stat(f->cv, CROSSVM_STAT_SATURATED), 0xf1);
    peer_ring(f, 0x1000000000ull); /* more than 32 bits at once */
    crossvm_poll(f->cv);
    assert_int_equal(crossvm_events(f->cv), 0xffffffffu);
    assert_int_equal(crossvm_stat(f->cv, CROSSVM_STAT_EVENTS),
                     4 + 0xfffffff0ull + 0x100 + 0x1000000000ull);
    wr(f, base + CROSSVM_REG_EVENTS, 4, 0);
    assert_int_equal(crossvm_events(f->cv), 0);
}

/* INTx as uio_pci_generic drives it: mask in the handler, unmask from user space. */
static void test_intx(void **state)
{
    struct fx *f = *state;
    uint64_t base;

    /* Events before a driver enabled the function: no interrupt, no status. */
    peer_ring(f, 1);
    crossvm_poll(f->cv);
    assert_int_equal(rec.level[INTX_LINE], 0);
    assert_int_equal(status(f) & PCI_STATUS_INTERRUPT, 0);
    /* Enabled (pci_enable_device): asserted at once, status set. */
    cfg_wr(f, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY);
    base = bar_addr(f, CROSSVM_BAR_EVENTS);
    assert_int_equal(rec.level[INTX_LINE], 1);
    assert_true(status(f) & PCI_STATUS_INTERRUPT);
    /* The handler masks (Interrupt Disable): the line drops, the status stays. */
    cfg_wr(f, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE);
    assert_int_equal(rec.level[INTX_LINE], 0);
    assert_true(status(f) & PCI_STATUS_INTERRUPT);
    /* User space clears the counter, then unmasks: nothing pending, the line stays low. */
    wr(f, base + CROSSVM_REG_EVENTS, 4, 0);
    assert_int_equal(status(f) & PCI_STATUS_INTERRUPT, 0);
    cfg_wr(f, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY);
    assert_int_equal(rec.level[INTX_LINE], 0);
    /* A ring while masked: status set, line low; the unmask raises it. */
    cfg_wr(f, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE);
    peer_ring(f, 1);
    crossvm_poll(f->cv);
    assert_true(status(f) & PCI_STATUS_INTERRUPT);
    assert_int_equal(rec.level[INTX_LINE], 0);
    cfg_wr(f, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY);
    assert_int_equal(rec.level[INTX_LINE], 1);
    /* The driver disables the function: the line drops. */
    cfg_wr(f, PCI_CFG_COMMAND, 2, 0);
    assert_int_equal(rec.level[INTX_LINE], 0);
    assert_int_equal(status(f) & PCI_STATUS_INTERRUPT, 0);
}

static void test_msix(void **state)
{
    struct fx *f = *state;
    unsigned int cap = cfg_rd(f, PCI_CFG_CAP_PTR, 1);
    uint64_t base, tbl;

    cfg_wr(f, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    base = bar_addr(f, CROSSVM_BAR_EVENTS);
    tbl = bar_addr(f, CROSSVM_BAR_MSIX) + CROSSVM_MSIX_TABLE;
    wr(f, tbl + PCI_MSIX_ENTRY_ADDR_LO, 4, 0x08090040);
    wr(f, tbl + PCI_MSIX_ENTRY_DATA, 4, 0x31);
    cfg_wr(f, cap + PCI_MSIX_CTRL, 2, PCI_MSIX_CTRL_ENABLE);
    /* Masked at reset: the message waits in the PBA. */
    peer_ring(f, 1);
    crossvm_poll(f->cv);
    assert_int_equal(rec.nr_msi, 0);
    assert_int_equal(rd(f, bar_addr(f, CROSSVM_BAR_MSIX) + CROSSVM_MSIX_PBA, 8), 1);
    wr(f, tbl + PCI_MSIX_ENTRY_CTRL, 4, 0);
    assert_int_equal(rec.nr_msi, 1);
    assert_int_equal(rec.msi_data, 0x31);
    assert_int_equal(rec.msi_addr, 0x08090040);
    /* New events: one message each time; a clear sends none; INTx stays off. */
    peer_ring(f, 2);
    crossvm_poll(f->cv);
    assert_int_equal(rec.nr_msi, 2);
    wr(f, base + CROSSVM_REG_EVENTS, 4, 0);
    assert_int_equal(rec.nr_msi, 2);
    assert_int_equal(rec.level[INTX_LINE], 0);
    crossvm_poll(f->cv); /* nothing new */
    assert_int_equal(rec.nr_msi, 2);
    assert_int_equal(crossvm_stat(f->cv, CROSSVM_STAT_MSIX), 2);
    /* Outside the MSI-X structures BAR3 reads 0 and ignores writes. */
    assert_int_equal(rd(f, bar_addr(f, CROSSVM_BAR_MSIX) + 0xf00, 4), 0);
    wr(f, bar_addr(f, CROSSVM_BAR_MSIX) + 0xf00, 4, 1);
    /* MSI-X off with events pending: INTx takes over. */
    peer_ring(f, 1);
    crossvm_poll(f->cv);
    cfg_wr(f, cap + PCI_MSIX_CTRL, 2, 0);
    assert_int_equal(rec.level[INTX_LINE], 1);
}

/* A live mapping of the fake backend at @gpa, or NULL. */
static struct fake_map *map_at(struct fx *f, uint64_t gpa)
{
    for (int i = 0; i < FAKE_MAX_MAPS; i++) {
        if (f->vm->hv_vm->maps[i].live && f->vm->hv_vm->maps[i].gpa == gpa) {
            return &f->vm->hv_vm->maps[i];
        }
    }
    return NULL;
}

static void test_memory_bar_follows(void **state)
{
    struct fx *f = *state;
    uint64_t mem, moved = MMIO32 + 0x08000000;
    struct fake_map *m;

    mem = bar_addr(f, CROSSVM_BAR_MEM);
    assert_null(map_at(f, mem));
    cfg_wr(f, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY);
    m = map_at(f, mem);
    assert_non_null(m);
    assert_ptr_equal(m->hva, crossvm_memory(f->cv));
    assert_int_equal(m->size, MEM_SIZE);
    assert_int_equal(m->flags & HV_MEM_READONLY, 0);
    /* The guest's writes are the peer's reads, and back. */
    wr(f, mem + 0x10, 8, 0x6f6c6c6568ull); /* "hello" */
    assert_memory_equal(f->peer_mem + 0x10, "hello", 6);
    memcpy(f->peer_mem + MEM_SIZE - 4, "pong", 4);
    assert_int_equal(rd(f, mem + MEM_SIZE - 4, 4), 0x676e6f70);
    /* Moved (both halves of the 64-bit BAR): the mapping follows. */
    cfg_wr(f, PCI_CFG_BAR0 + 4, 4, (uint32_t)moved);
    cfg_wr(f, PCI_CFG_BAR0 + 8, 4, 0);
    assert_null(map_at(f, mem));
    assert_non_null(map_at(f, moved));
    assert_int_equal(rd(f, moved + 0x10, 1), 'h');
    assert_int_equal(rd(f, mem + 0x10, 1), 0); /* nothing at the old place */
    /* Memory Space off: gone; on: back. */
    cfg_wr(f, PCI_CFG_COMMAND, 2, 0);
    assert_null(map_at(f, moved));
    cfg_wr(f, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY);
    assert_non_null(map_at(f, moved));
    /* Reset: back at the VMM's placement, not decoding until enabled. */
    pci_host_reset(f->host);
    assert_null(map_at(f, moved));
    assert_int_equal(bar_addr(f, CROSSVM_BAR_MEM), mem);
    cfg_wr(f, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY);
    assert_non_null(map_at(f, mem));
    assert_memory_equal(f->peer_mem + 0x10, "hello", 6); /* the channel's, not the VM's */
}

static void test_reset_keeps_events(void **state)
{
    struct fx *f = *state;
    unsigned int cap = cfg_rd(f, PCI_CFG_CAP_PTR, 1);

    cfg_wr(f, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    cfg_wr(f, cap + PCI_MSIX_CTRL, 2, PCI_MSIX_CTRL_ENABLE);
    peer_ring(f, 2);
    crossvm_poll(f->cv);
    pci_host_reset(f->host);
    /* Counted for this VM: kept; the line stays low until a driver enables the function. */
    assert_int_equal(crossvm_events(f->cv), 2);
    assert_int_equal(rec.level[INTX_LINE], 0);
    assert_false(pci_device_msix_enabled(crossvm_pci_function(f->cv)));
    assert_false(crossvm_doorbell_bound(f->cv));
    cfg_wr(f, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY);
    assert_int_equal(rec.level[INTX_LINE], 1);
    assert_int_equal(rd(f, bar_addr(f, CROSSVM_BAR_EVENTS) + CROSSVM_REG_EVENTS, 4), 2);
}

static void test_hostile(void **state)
{
    struct fx *f = *state;
    static const uint32_t widths[] = {1, 2, 4, 8};
    uint64_t base, x = 0x9e3779b97f4a7c15ull;

    cfg_wr(f, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    base = bar_addr(f, CROSSVM_BAR_EVENTS);
    /* Every offset and width, read and written with junk; only the two registers act. */
    for (uint32_t off = 0; off < 0x1000; off++) {
        for (int w = 0; w < 4; w++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if (off + widths[w] > 0x1000) {
                continue;
            }
            rd(f, base + off, widths[w]);
            if (off >= CROSSVM_REG_EVENTS) {
                wr(f, base + off, widths[w], x | 1);
            }
        }
    }
    assert_int_equal(peer_rings(f), 0);
    assert_string_equal(crossvm_name(f->cv), "ping");
    assert_int_equal(rd(f, base + CROSSVM_REG_NAME, 4), 0x676e6970);
    /* Straddling the end of the page: dropped by the core, reads 0. */
    assert_int_equal(rd(f, base + 0xffc, 8), 0);
    /* Hostile config writes: sizing and junk in every BAR, then the memory BAR at 0. */
    for (unsigned int bar = 0; bar < 6; bar++) {
        cfg_wr(f, PCI_CFG_BAR0 + 4 * bar, 4, 0xffffffff);
        cfg_wr(f, PCI_CFG_BAR0 + 4 * bar, 4, (uint32_t)x);
    }
    cfg_wr(f, PCI_CFG_BAR0 + 4, 4, 0);
    cfg_wr(f, PCI_CFG_BAR0 + 8, 4, 0);
    assert_false(pci_device_bar_mapped(crossvm_pci_function(f->cv), CROSSVM_BAR_MEM, NULL));
    /* The peer's eventfd broken (a pipe at its end): counted, no spin, no crash. */
    int p[2];
    assert_int_equal(pipe(p), 0);
    close(p[1]);
    assert_int_equal(dup2(p[0], f->wait_fd), f->wait_fd);
    close(p[0]);
    crossvm_poll(f->cv);
    assert_int_equal(crossvm_stat(f->cv, CROSSVM_STAT_WAIT_ERRORS), 1);
}

static void test_mmio(void **state)
{
    struct fx *f = *state;
    uint8_t page[0x1000];
    struct fake_map *m;

    /* Doorbell bound at the event page; the memory mapped at its base. */
    assert_non_null(ev_at(EV_BASE + CROSSVM_REG_DOORBELL));
    assert_true(crossvm_doorbell_bound(f->cv));
    m = map_at(f, SHM_BASE);
    assert_non_null(m);
    assert_ptr_equal(m->hva, crossvm_memory(f->cv));
    assert_int_equal(m->size, MEM_SIZE);
    /* Registers as on PCI. */
    expected_page(page, 0);
    for (uint32_t off = 0; off < 0x40; off += 4) {
        uint32_t want;
        memcpy(&want, page + off, 4);
        assert_int_equal(rd(f, EV_BASE + off, 4), want);
    }
    /* The line follows the counter, with no gate. */
    assert_int_equal(rec.level[SPI], 0);
    peer_ring(f, 3);
    crossvm_poll(f->cv);
    assert_int_equal(rec.level[SPI], 1);
    assert_int_equal(rd(f, EV_BASE + CROSSVM_REG_EVENTS, 4), 3);
    wr(f, EV_BASE + CROSSVM_REG_EVENTS, 4, 0);
    assert_int_equal(rec.level[SPI], 0);
    /* Trapped doorbell widths ring too. */
    wr(f, EV_BASE + 1, 1, 0);
    assert_int_equal(peer_rings(f), 1);
    /* Reset keeps the counter and drives the line again. */
    peer_ring(f, 1);
    crossvm_poll(f->cv);
    rec.level[SPI] = 0; /* as if the reset dropped it */
    crossvm_reset(f->cv);
    assert_int_equal(rec.level[SPI], 1);
    assert_int_equal(crossvm_events(f->cv), 1);
    /* Shared memory both ways. */
    wr(f, SHM_BASE + 8, 4, 0x6e6f6d6d);
    assert_memory_equal(f->peer_mem + 8, "mmon", 4);
    /* Bad attach arguments on a fresh end. */
    crossvm_t *cv;
    const crossvm_config_t cc = {.name = "b",
                                 .mem_fd = f->mem_fd,
                                 .mem_size = MEM_SIZE,
                                 .notify_fd = f->notify_fd,
                                 .wait_fd = f->wait_fd};
    assert_int_equal(crossvm_create(f->vm, &cc, &cv), 0);
    crossvm_mmio_config_t bad = {.event_base = EV_BASE + 8, .mem_base = SHM_BASE, .intid = SPI};
    assert_int_equal(crossvm_attach_mmio(cv, &bad), -EINVAL);
    bad.event_base = EV_BASE; /* taken */
    assert_int_equal(crossvm_attach_mmio(cv, &bad), -EEXIST);
    bad.event_base = EV_BASE + 0x1000; /* memory taken */
    assert_int_equal(crossvm_attach_mmio(cv, &bad), -EEXIST);
    bad.mem_base = SHM_BASE + MEM_SIZE;
    assert_int_equal(crossvm_attach_mmio(cv, &bad), 0);
    crossvm_destroy(cv);
    assert_null(map_at(f, SHM_BASE + MEM_SIZE));
    assert_null(ev_at(EV_BASE + 0x1000));
}

/* The I/O thread serves the peer's rings; destroy takes the descriptor off it. */
static void test_iothread(void **state)
{
    struct fx *f = *state;
    iothread_t *io = iothread_create("cvm-io");
    crossvm_t *cv;
    const crossvm_config_t cc = {.name = "io",
                                 .mem_fd = f->mem_fd,
                                 .mem_size = MEM_SIZE,
                                 .notify_fd = f->notify_fd,
                                 .wait_fd = f->wait_fd,
                                 .io = io};
    const crossvm_mmio_config_t m = {
        .event_base = EV_BASE + 0x1000, .mem_base = SHM_BASE + MEM_SIZE, .intid = SPI + 1};

    assert_non_null(io);
    crossvm_destroy(f->cv); /* the fixture's end would share the eventfd */
    f->cv = NULL;
    assert_int_equal(crossvm_create(f->vm, &cc, &cv), 0);
    assert_int_equal(crossvm_attach_mmio(cv, &m), 0);
    peer_ring(f, 2);
    for (int i = 0; i < 2000 && crossvm_events(cv) != 2; i++) {
        usleep(1000);
    }
    assert_int_equal(crossvm_events(cv), 2);
    assert_int_equal(rec.level[SPI + 1], 1);
    crossvm_destroy(cv);
    assert_int_equal(rec.level[SPI + 1], 0);
    peer_ring(f, 1); /* nobody serves it now */
    usleep(10000);
    iothread_destroy(io);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_checks, setup_pci, teardown),
        cmocka_unit_test_setup_teardown(test_pci_identity, setup_pci, teardown),
        cmocka_unit_test_setup_teardown(test_registers_every_width, setup_pci, teardown),
        cmocka_unit_test_setup_teardown(test_doorbell_trapped, setup_pci, teardown),
        cmocka_unit_test_setup_teardown(test_doorbell_ioeventfd_follows_bar, setup_pci_ioeventfd,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_counter, setup_pci, teardown),
        cmocka_unit_test_setup_teardown(test_intx, setup_pci, teardown),
        cmocka_unit_test_setup_teardown(test_msix, setup_pci, teardown),
        cmocka_unit_test_setup_teardown(test_memory_bar_follows, setup_pci, teardown),
        cmocka_unit_test_setup_teardown(test_reset_keeps_events, setup_pci_ioeventfd, teardown),
        cmocka_unit_test_setup_teardown(test_hostile, setup_pci, teardown),
        cmocka_unit_test_setup_teardown(test_mmio, setup_mmio, teardown),
        cmocka_unit_test_setup_teardown(test_iothread, setup_mmio, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
