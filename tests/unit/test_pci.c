/*
 * test_pci.c - the PCI host bridge and device core (src/pci/): ECAM decode,
 * absent functions, header read-only/writable bits, BAR sizing, placement,
 * decoding and relocation, the capability chain, MSI-X (table, PBA, masks,
 * delivery) and INTx (disable bit, status bit, shared lines), reset.
 *
 * Guest accesses go through vcpu_handle_exit(), the run loop's own
 * dispatch, over the fake backend of fake_hv.h; the test's own copy of its
 * operations adds a recorder for MSIs and for the level of every line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <vmmkit/guest_memory.h>
#include <vmmkit/log.h>
#include <vmmkit/pci.h>

#include "fake_hv.h"

#define ECAM 0x30000000ull
#define MMIO32 0x10000000ull
#define MMIO32_SIZE 0x10000000ull
#define MMIO64 0x8000000000ull
#define MMIO64_SIZE 0x100000000ull
#define RAM 0x40000000ull
#define SLOT 3u
#define BAR0_SIZE 0x4000u /* 64-bit, MSI-X table at 0x2000, PBA at 0x3000 */
#define BAR2_SIZE 0x1000u /* 32-bit */
#define NVEC 4u

/* --- a backend that records lines and MSIs --------------------------------------------- */

struct msi_rec {
    uint64_t addr;
    uint32_t data, devid;
};

static struct {
    int level[1024];
    int line_calls;
    struct msi_rec msi[64];
    int nr_msi;
    int msi_rc;
} rec;

static int rec_irq_line(hv_vm_t *vm, uint32_t irq, int level)
{
    if (irq < 1024) {
        rec.level[irq] = level;
    }
    rec.line_calls++;
    return 0;
}

static int rec_msi(hv_vm_t *vm, uint64_t addr, uint32_t data, uint32_t devid)
{
    if (rec.msi_rc) {
        return rec.msi_rc;
    }
    if (rec.nr_msi < 64) {
        rec.msi[rec.nr_msi++] = (struct msi_rec){addr, data, devid};
    }
    return 0;
}

static struct hv_ops test_ops;

/* --- a test device ---------------------------------------------------------------------- */

struct tdev {
    pci_device_t *pci;
    int reads, writes, resets, releases;
    unsigned int last_bar, last_len;
    uint64_t last_off, last_val;
    int maps, unmaps;
    uint64_t map_addr;
    bool mapped;
};

static void t_bar_read(pci_device_t *dev, unsigned int bar, uint64_t off, unsigned int len,
                       uint64_t *val)
{
    struct tdev *t = pci_device_priv(dev);
    t->reads++;
    t->last_bar = bar;
    t->last_off = off;
    t->last_len = len;
    *val = 0x1122334455667788ull;
}

static void t_bar_write(pci_device_t *dev, unsigned int bar, uint64_t off, unsigned int len,
                        uint64_t val)
{
    struct tdev *t = pci_device_priv(dev);
    t->writes++;
    t->last_bar = bar;
    t->last_off = off;
    t->last_len = len;
    t->last_val = val;
}

static void t_bar_map(pci_device_t *dev, unsigned int bar, bool mapped, uint64_t addr)
{
    struct tdev *t = pci_device_priv(dev);
    if (bar != 0) {
        return;
    }
    if (mapped) {
        t->maps++;
    } else {
        t->unmaps++;
    }
    t->mapped = mapped;
    t->map_addr = addr;
}

static void t_reset(pci_device_t *dev)
{
    ((struct tdev *)pci_device_priv(dev))->resets++;
}

static void t_release(pci_device_t *dev)
{
    ((struct tdev *)pci_device_priv(dev))->releases++;
}

static const pci_device_ops_t t_ops = {
    .bar_read = t_bar_read,
    .bar_write = t_bar_write,
    .bar_map = t_bar_map,
    .reset = t_reset,
    .release = t_release,
};

struct ctx {
    vm_t *vm;
    vm_vcpu_t *vcpu;
    pci_host_t *host;
    struct tdev t, t2;
    int vcap; /* offset of the vendor capability */
};

static const pci_host_config_t host_cfg = {
    .ecam_base = ECAM,
    .nr_buses = 2,
    .mmio32_base = MMIO32,
    .mmio32_size = MMIO32_SIZE,
    .mmio64_base = MMIO64,
    .mmio64_size = MMIO64_SIZE,
    .intx_irq = {35, 36, 37, 38},
};

static pci_device_t *make_dev(struct tdev *t, uint8_t pin, const char *name)
{
    const pci_device_info_t info = {
        .vendor_id = 0x1234,
        .device_id = 0x5678,
        .subsystem_vendor_id = 0xabcd,
        .subsystem_id = 0xef01,
        .revision = 2,
        .class_code = 0x020000,
        .intx_pin = pin,
        .name = name,
    };
    t->pci = pci_device_create(&info, &t_ops, t, NULL);
    assert_non_null(t->pci);
    assert_int_equal(pci_device_add_bar(t->pci, 0, BAR0_SIZE, PCI_BAR_F_64BIT), 0);
    assert_int_equal(pci_device_add_bar(t->pci, 2, BAR2_SIZE, 0), 0);
    return t->pci;
}

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof(*c));
    const uint8_t vbody[6] = {6, 0xaa, 0xbb, 0xcc, 0, 0};
    const uint8_t vmask[6] = {0, 0, 0x0f, 0, 0, 0};

    vmm_log_set_level(VMM_LOG_ERR); /* the tests provoke warnings on purpose */
    memset(&rec, 0, sizeof(rec));
    test_ops = fake_hv_ops;
    test_ops.irq_line = rec_irq_line;
    test_ops.msi = rec_msi;
    assert_int_equal(vm_create_with_backend(&c->vm, "pci", &test_ops), 0);
    c->vcpu = vm_create_vcpu(c->vm, 0);
    assert_non_null(c->vcpu);
    assert_int_equal(vm_ram_add(c->vm, RAM, 2u << 20), 0);
    assert_int_equal(pci_host_create(c->vm, &host_cfg, &c->host), 0);

    make_dev(&c->t, 1, "tdev0");
    assert_int_equal(pci_device_add_msix(c->t.pci, NVEC, 0, 0x2000, 0x3000), PCI_CFG_CAP_START);
    c->vcap = pci_device_add_capability(c->t.pci, PCI_CAP_ID_VNDR, vbody, sizeof(vbody), vmask);
    assert_int_equal(c->vcap, 0x4c);
    assert_int_equal(pci_host_register(c->host, c->t.pci, SLOT), (int)SLOT);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    pci_host_destroy(c->host);
    assert_int_equal(c->t.releases, 1);
    vm_destroy(c->vm);
    free(c);
    return 0;
}

/* --- guest accesses --------------------------------------------------------------------- */

static uint64_t rd(struct ctx *c, uint64_t addr, uint32_t len)
{
    struct fake_exit f;
    uint64_t v = 0;
    fake_mmio(&f, addr, len, false, 0);
    assert_int_equal(vcpu_handle_exit(c->vcpu, &f.exit), VCPU_CONTINUE);
    memcpy(&v, f.exit.mmio.data, len);
    return v;
}

static void wr(struct ctx *c, uint64_t addr, uint32_t len, uint64_t val)
{
    struct fake_exit f;
    fake_mmio(&f, addr, len, true, val);
    assert_int_equal(vcpu_handle_exit(c->vcpu, &f.exit), VCPU_CONTINUE);
}

static uint64_t cfg_addr(unsigned int bus, unsigned int slot, unsigned int fn, unsigned int reg)
{
    return ECAM + ((uint64_t)bus << 20) + ((uint64_t)slot << 15) + ((uint64_t)fn << 12) + reg;
}

static uint32_t cfg_rd(struct ctx *c, unsigned int reg, uint32_t len)
{
    return (uint32_t)rd(c, cfg_addr(0, SLOT, 0, reg), len);
}

static void cfg_wr(struct ctx *c, unsigned int reg, uint32_t len, uint32_t val)
{
    wr(c, cfg_addr(0, SLOT, 0, reg), len, val);
}

static uint64_t bar0(struct ctx *c)
{
    return (cfg_rd(c, PCI_CFG_BAR0, 4) & ~0xfu) | (uint64_t)cfg_rd(c, PCI_CFG_BAR0 + 4, 4) << 32;
}

static void enable_mem(struct ctx *c, uint16_t extra)
{
    cfg_wr(c, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY | extra);
}

/* --- tests ------------------------------------------------------------------------------ */

static void test_create_checks(void **state)
{
    struct ctx *c = *state;
    pci_host_t *h;
    pci_host_config_t bad;

    bad = host_cfg;
    bad.ecam_base = ECAM + 0x1000; /* not 1 MiB aligned */
    assert_int_equal(pci_host_create(c->vm, &bad, &h), -EINVAL);
    bad = host_cfg;
    bad.mmio32_base = 0xf8000000; /* crosses 4 GiB */
    assert_int_equal(pci_host_create(c->vm, &bad, &h), -EINVAL);
    bad = host_cfg;
    bad.mmio32_size = bad.mmio64_size = 0;
    assert_int_equal(pci_host_create(c->vm, &bad, &h), -EINVAL);
    bad = host_cfg;
    bad.mmio64_base = MMIO32 + 0x1000; /* overlaps mmio32 (only) */
    bad.mmio64_size = 0x1000;
    assert_int_equal(pci_host_create(c->vm, &bad, &h), -EINVAL);
    bad = host_cfg;
    bad.nr_buses = 257;
    assert_int_equal(pci_host_create(c->vm, &bad, &h), -EINVAL);
    /* The same ECAM window twice: the reservation is refused. */
    assert_int_equal(pci_host_create(c->vm, &host_cfg, &h), -EEXIST);
    assert_int_equal(pci_host_ecam_size(c->host), 2u << 20);
    assert_int_equal(pci_host_get_config(c->host)->ecam_base, ECAM);

    /* Registration errors. */
    pci_device_t *d = make_dev(&c->t2, 1, "tdev1");
    assert_int_equal(pci_host_register(c->host, d, SLOT), -EBUSY);
    assert_int_equal(pci_host_register(c->host, d, 32), -EINVAL);
    assert_int_equal(pci_host_register(c->host, d, -1), 0);      /* lowest free slot */
    assert_int_equal(pci_host_register(c->host, d, 5), -EINVAL); /* already registered */
    assert_int_equal(pci_device_add_bar(d, 4, 0x1000, 0), -EBUSY);
    assert_int_equal(pci_device_devfn(d), 0);
    assert_ptr_equal(pci_host_device(c->host, 0), d);
    assert_ptr_equal(pci_device_vm(d), c->vm);
}

static void test_device_checks(void **state)
{
    struct ctx *c = *state;
    const pci_device_info_t info = {.vendor_id = 1, .intx_pin = 5};
    const pci_device_info_t ok = {.vendor_id = 1};
    pci_device_t *d;

    (void)c;
    errno = 0;
    assert_null(pci_device_create(&info, NULL, NULL, NULL));
    assert_int_equal(errno, EINVAL);
    d = pci_device_create(&ok, NULL, NULL, NULL);
    assert_non_null(d);
    assert_int_equal(pci_device_devfn(d), -1);
    assert_null(pci_device_vm(d));
    assert_int_equal(pci_device_add_bar(d, 6, 0x1000, 0), -EINVAL);
    assert_int_equal(pci_device_add_bar(d, 0, 0x1800, 0), -EINVAL);     /* not a power of 2 */
    assert_int_equal(pci_device_add_bar(d, 0, 0x800, 0), -EINVAL);      /* below a page */
    assert_int_equal(pci_device_add_bar(d, 0, 1ull << 32, 0), -EINVAL); /* 32-bit, 4 GiB */
    assert_int_equal(pci_device_add_bar(d, 5, 0x1000, PCI_BAR_F_64BIT), -EINVAL); /* no upper */
    assert_int_equal(pci_device_add_bar(d, 0, 0x1000, 0x80), -EINVAL);
    assert_int_equal(pci_device_add_bar(d, 0, 1ull << 32, PCI_BAR_F_64BIT), 0);
    assert_int_equal(pci_device_add_bar(d, 1, 0x1000, 0), -EINVAL); /* the upper half */
    assert_int_equal(pci_device_add_bar(d, 0, 0x1000, 0), -EINVAL); /* taken */
    assert_int_equal(pci_device_add_bar(d, 2, 0x1000, 0), 0);
    /* MSI-X: structures inside the BAR, aligned, not overlapping. */
    assert_int_equal(pci_device_add_msix(d, 0, 2, 0, 0x800), -EINVAL);
    assert_int_equal(pci_device_add_msix(d, 2049, 2, 0, 0x800), -EINVAL);
    assert_int_equal(pci_device_add_msix(d, 4, 3, 0, 0x800), -EINVAL); /* no BAR 3 */
    assert_int_equal(pci_device_add_msix(d, 4, 2, 4, 0x800), -EINVAL); /* misaligned */
    assert_int_equal(pci_device_add_msix(d, 4, 2, 0, 0x38), -EINVAL);  /* overlap */
    assert_int_equal(pci_device_add_msix(d, 4, 2, 0xff8, 0), -EINVAL); /* past the end */
    assert_int_equal(pci_device_add_msix(d, 4, 2, 0, 0x40), 0x40);
    assert_int_equal(pci_device_add_msix(d, 4, 2, 0x100, 0x200), -EINVAL); /* twice */
    assert_int_equal(pci_device_msix_vectors(d), 4);
    /* The capability area fills up. */
    uint8_t big[178] = {0}; /* 0x4c + 2 + 178 = 256: exactly full */
    assert_int_equal(pci_device_add_capability(d, 0x09, big, sizeof(big), NULL), 0x4c);
    assert_int_equal(pci_device_add_capability(d, 0x09, big, 8, NULL), -ENOSPC);
    assert_int_equal(pci_device_add_capability(d, 0x09, NULL, 4, NULL), -EINVAL);
    /* Not registered: notify does nothing. */
    assert_int_equal(pci_device_msix_notify(d, 0), PCI_MSIX_NO_VECTOR);
    pci_device_destroy(d);
}

static void test_ecam_decode(void **state)
{
    struct ctx *c = *state;
    const uint32_t widths[] = {1, 2, 4};

    /* bus/device/function/register decode: only 00:03.0 answers. */
    assert_int_equal(rd(c, cfg_addr(0, SLOT, 0, 0), 4), 0x56781234);
    assert_int_equal(rd(c, cfg_addr(0, SLOT, 0, 2), 2), 0x5678);
    assert_int_equal(rd(c, cfg_addr(0, SLOT, 0, 1), 1), 0x12);
    assert_int_equal(rd(c, cfg_addr(0, SLOT, 0, PCI_CFG_CLASS_PROG), 1), 0x00);
    assert_int_equal(rd(c, cfg_addr(0, SLOT, 0, PCI_CFG_REVISION_ID), 4), 0x02000002);
    assert_int_equal(rd(c, cfg_addr(0, SLOT, 0, PCI_CFG_SUBSYSTEM_VENDOR_ID), 4), 0xef01abcd);
    for (int i = 0; i < 3; i++) {
        uint64_t ones = (1ull << (8 * widths[i])) - 1;
        assert_int_equal(rd(c, cfg_addr(0, SLOT, 1, 0), widths[i]), ones);     /* function 1 */
        assert_int_equal(rd(c, cfg_addr(0, SLOT + 1, 0, 0), widths[i]), ones); /* empty slot */
        assert_int_equal(rd(c, cfg_addr(1, SLOT, 0, 0), widths[i]), ones);     /* bus 1 */
        assert_int_equal(rd(c, cfg_addr(0, 31, 7, 0xffc), widths[i]), ones);
    }
    /* Writes to absent functions go nowhere. */
    wr(c, cfg_addr(0, SLOT, 1, PCI_CFG_COMMAND), 2, 0xffff);
    wr(c, cfg_addr(1, SLOT, 0, PCI_CFG_COMMAND), 2, 0xffff);
    assert_int_equal(cfg_rd(c, PCI_CFG_COMMAND, 2), 0);
    /* The direct calls agree with the window for every dword. */
    for (unsigned int reg = 0; reg < PCI_CFG_SIZE; reg += 4) {
        assert_int_equal(pci_host_config_read(c->host, 0, SLOT << 3, reg, 4), cfg_rd(c, reg, 4));
    }
    /* Extended space of a conventional function reads 0 ("no extended capabilities"). */
    assert_int_equal(cfg_rd(c, 0x100, 4), 0);
    assert_int_equal(cfg_rd(c, 0xffc, 4), 0);
    cfg_wr(c, 0x100, 4, 0x12345678);
    assert_int_equal(cfg_rd(c, 0x100, 4), 0);
    assert_int_equal(pci_host_error_count(c->host, PCI_E_CONFIG_ACCESS), 0);

    /* Malformed accesses: 8 bytes, misaligned; all-ones, dropped, counted. */
    assert_int_equal(rd(c, cfg_addr(0, SLOT, 0, 0), 8), UINT64_MAX);
    assert_int_equal(rd(c, cfg_addr(0, SLOT, 0, 1), 2), 0xffff);
    assert_int_equal(rd(c, cfg_addr(0, SLOT, 0, 2), 4), 0xffffffff);
    cfg_wr(c, PCI_CFG_COMMAND + 1, 2, 0xffff);
    wr(c, cfg_addr(0, SLOT, 0, PCI_CFG_COMMAND), 8, ~0ull);
    assert_int_equal(cfg_rd(c, PCI_CFG_COMMAND, 2), 0);
    assert_int_equal(pci_host_error_count(c->host, PCI_E_CONFIG_ACCESS), 5);
    assert_int_equal(pci_host_config_read(c->host, 0, SLOT << 3, 0, 3), UINT32_MAX);
    assert_int_equal(pci_host_config_read(c->host, 0, SLOT << 3, 0x1000, 4), UINT32_MAX);
    assert_int_equal(pci_host_error_count(c->host, PCI_E_CONFIG_ACCESS), 7);
    assert_string_equal(pci_error_name(PCI_E_CONFIG_ACCESS), "config-access");
    assert_string_equal(pci_error_name(PCI_E_COUNT), "unknown");
    assert_int_equal(pci_host_error_count(c->host, PCI_E_COUNT), 0);
}

static void test_header_masks(void **state)
{
    struct ctx *c = *state;
    uint8_t before[PCI_CFG_SIZE];

    for (unsigned int r = 0; r < PCI_CFG_SIZE; r++) {
        before[r] = (uint8_t)cfg_rd(c, r, 1);
    }
    /* Header type 0, single function; no BIST; latency timer 0; cap list present. */
    assert_int_equal(before[PCI_CFG_HEADER_TYPE], 0);
    assert_int_equal(cfg_rd(c, PCI_CFG_STATUS, 2), PCI_STATUS_CAP_LIST);
    assert_int_equal(before[PCI_CFG_INTERRUPT_PIN], 1);
    assert_int_equal(cfg_rd(c, PCI_CFG_CLASS_PROG, 1) | cfg_rd(c, 0x0a, 2) << 8, 0x020000);

    /* Write all-ones byte by byte everywhere outside the BARs (covered below). */
    for (unsigned int r = 0; r < PCI_CFG_SIZE; r++) {
        if (r >= PCI_CFG_BAR0 && r < PCI_CFG_BAR0 + 24) {
            continue;
        }
        cfg_wr(c, r, 1, 0xff);
    }
    for (unsigned int r = 0; r < PCI_CFG_SIZE; r++) {
        uint8_t now = (uint8_t)cfg_rd(c, r, 1);
        if (r >= PCI_CFG_BAR0 && r < PCI_CFG_BAR0 + 24) {
            continue;
        }
        switch (r) {
        case PCI_CFG_COMMAND:
            assert_int_equal(now, 0x46); /* memory, master, parity */
            break;
        case PCI_CFG_COMMAND + 1:
            assert_int_equal(now, 0x05); /* SERR, INTx disable */
            break;
        case PCI_CFG_CACHE_LINE_SIZE:
        case PCI_CFG_INTERRUPT_LINE:
            assert_int_equal(now, 0xff);
            break;
        default:
            if (r == (unsigned int)c->vcap + 4) {
                assert_int_equal(now, (before[r] & 0xf0) | 0x0f); /* the cap's writable nibble */
                break;
            }
            if (r == PCI_CFG_CAP_START + PCI_MSIX_CTRL + 1) {
                assert_int_equal(now, before[r] | 0xc0); /* MSI-X enable, function mask */
                break;
            }
            assert_int_equal(now, before[r]); /* read-only */
        }
    }
    /* Whole-register writes behave the same; the ROM BAR is not implemented. */
    cfg_wr(c, PCI_CFG_VENDOR_ID, 4, 0);
    assert_int_equal(cfg_rd(c, PCI_CFG_VENDOR_ID, 4), 0x56781234);
    cfg_wr(c, PCI_CFG_ROM_ADDRESS, 4, 0xffffffff);
    assert_int_equal(cfg_rd(c, PCI_CFG_ROM_ADDRESS, 4), 0);
    cfg_wr(c, PCI_CFG_COMMAND, 4, 0xffffffff); /* status is not write-1-to-set */
    assert_int_equal(cfg_rd(c, PCI_CFG_COMMAND, 4), (uint32_t)PCI_STATUS_CAP_LIST << 16 | 0x0546);
    cfg_wr(c, PCI_CFG_COMMAND, 2, 0);
    cfg_wr(c, PCI_CFG_INTERRUPT_LINE, 2, 0x0442); /* pin stays */
    assert_int_equal(cfg_rd(c, PCI_CFG_INTERRUPT_LINE, 2), 0x0142);
}

static void test_bar_sizing(void **state)
{
    struct ctx *c = *state;
    uint32_t lo = cfg_rd(c, PCI_CFG_BAR0, 4), hi = cfg_rd(c, PCI_CFG_BAR0 + 4, 4);
    uint32_t b2 = cfg_rd(c, PCI_CFG_BAR0 + 8, 4);

    /* Placed by the VMM: the 64-bit BAR in the 64-bit window, the 32-bit one below 4 GiB. */
    assert_int_equal(lo, (uint32_t)MMIO64 | PCI_BAR_MEM_TYPE_64);
    assert_int_equal(hi, MMIO64 >> 32);
    assert_int_equal(b2, MMIO32);

    /* Sizing (PCI 3.0 6.2.5.1): all-ones in, size mask and type bits out. */
    cfg_wr(c, PCI_CFG_BAR0, 4, 0xffffffff);
    cfg_wr(c, PCI_CFG_BAR0 + 4, 4, 0xffffffff);
    assert_int_equal(cfg_rd(c, PCI_CFG_BAR0, 4), (uint32_t) ~(BAR0_SIZE - 1) | PCI_BAR_MEM_TYPE_64);
    assert_int_equal(cfg_rd(c, PCI_CFG_BAR0 + 4, 4), 0xffffffff);
    cfg_wr(c, PCI_CFG_BAR0 + 8, 4, 0xffffffff);
    assert_int_equal(cfg_rd(c, PCI_CFG_BAR0 + 8, 4), (uint32_t) ~(BAR2_SIZE - 1));
    for (unsigned int i = 3; i < 6; i++) { /* unimplemented BARs */
        cfg_wr(c, PCI_CFG_BAR0 + 4 * i, 4, 0xffffffff);
        assert_int_equal(cfg_rd(c, PCI_CFG_BAR0 + 4 * i, 4), 0);
    }
    /* Sub-dword writes merge into the register. */
    cfg_wr(c, PCI_CFG_BAR0 + 8, 4, 0x12345678);
    assert_int_equal(cfg_rd(c, PCI_CFG_BAR0 + 8, 4), 0x12345000);
    cfg_wr(c, PCI_CFG_BAR0 + 10, 2, 0xabcd);
    assert_int_equal(cfg_rd(c, PCI_CFG_BAR0 + 8, 4), 0xabcd5000);
    cfg_wr(c, PCI_CFG_BAR0 + 9, 1, 0xff);
    assert_int_equal(cfg_rd(c, PCI_CFG_BAR0 + 8, 4), 0xabcdf000);
    assert_int_equal(cfg_rd(c, PCI_CFG_BAR0 + 11, 1), 0xab);
    /* Restore and nothing decodes while Memory Space is off. */
    cfg_wr(c, PCI_CFG_BAR0, 4, lo);
    cfg_wr(c, PCI_CFG_BAR0 + 4, 4, hi);
    cfg_wr(c, PCI_CFG_BAR0 + 8, 4, b2);
    assert_int_equal(bar0(c), MMIO64);
    assert_false(pci_device_bar_mapped(c->t.pci, 0, NULL));
    assert_int_equal(pci_device_bar_size(c->t.pci, 0), BAR0_SIZE);
    assert_int_equal(pci_device_bar_size(c->t.pci, 1), 0);
}

static void test_bar_decode_and_move(void **state)
{
    struct ctx *c = *state;
    uint64_t unassigned = vm_stat_count(c->vm, VM_STAT_MMIO_UNASSIGNED), a;

    /* Memory Space off: the BAR is not there. */
    assert_int_equal(rd(c, MMIO64 + 0x10, 4), 0);
    assert_int_equal(c->t.reads, 0);
    assert_int_equal(vm_stat_count(c->vm, VM_STAT_MMIO_UNASSIGNED), unassigned + 1);

    /* On: accesses of every width reach the owner with the offset in the BAR. */
    enable_mem(c, 0);
    assert_true(pci_device_bar_mapped(c->t.pci, 0, &a));
    assert_int_equal(a, MMIO64);
    assert_int_equal(c->t.maps, 1);
    assert_int_equal(c->t.map_addr, MMIO64);
    const uint32_t widths[] = {1, 2, 4, 8};
    for (int i = 0; i < 4; i++) {
        uint64_t mask = widths[i] == 8 ? UINT64_MAX : (1ull << (8 * widths[i])) - 1;
        assert_int_equal(rd(c, MMIO64 + 0x10, widths[i]), 0x1122334455667788ull & mask);
        assert_int_equal(c->t.last_off, 0x10);
        assert_int_equal(c->t.last_len, widths[i]);
        wr(c, MMIO64 + 0x1ff8, widths[i], 0xa5a5a5a5a5a5a5a5ull & mask);
        assert_int_equal(c->t.last_off, 0x1ff8);
        assert_int_equal(c->t.last_val, 0xa5a5a5a5a5a5a5a5ull & mask);
    }
    rd(c, MMIO32 + 0xffc, 4);
    assert_int_equal(c->t.last_bar, 2);
    assert_int_equal(c->t.last_off, 0xffc);

    /* Move BAR0 while decoding (a 64-bit BAR: the low half, then the high half). */
    const uint64_t new0 = MMIO64 + 0x10000000ull;
    cfg_wr(c, PCI_CFG_BAR0, 4, (uint32_t)new0);
    cfg_wr(c, PCI_CFG_BAR0 + 4, 4, (uint32_t)(new0 >> 32));
    assert_true(pci_device_bar_mapped(c->t.pci, 0, &a));
    assert_int_equal(a, new0);
    assert_int_equal(c->t.map_addr, new0);
    assert_true(c->t.mapped);
    int reads = c->t.reads;
    assert_int_equal(rd(c, MMIO64 + 0x10, 4), 0); /* old place: nothing */
    assert_int_equal(c->t.reads, reads);
    assert_int_equal(rd(c, new0 + 0x10, 4), 0x55667788);
    assert_int_equal(c->t.reads, reads + 1);

    /* Into the 32-bit window (a 64-bit BAR may hold a 32-bit address), with decode off. */
    cfg_wr(c, PCI_CFG_COMMAND, 2, 0);
    assert_false(pci_device_bar_mapped(c->t.pci, 0, NULL));
    assert_false(c->t.mapped);
    cfg_wr(c, PCI_CFG_BAR0, 4, (uint32_t)(MMIO32 + 0x100000));
    cfg_wr(c, PCI_CFG_BAR0 + 4, 4, 0);
    assert_false(pci_device_bar_mapped(c->t.pci, 0, NULL));
    enable_mem(c, 0);
    assert_true(pci_device_bar_mapped(c->t.pci, 0, &a));
    assert_int_equal(a, MMIO32 + 0x100000);

    /* Outside the windows: does not decode, counted; and BAR 0 = unassigned. */
    cfg_wr(c, PCI_CFG_BAR0, 4, 0x00004000);
    assert_false(pci_device_bar_mapped(c->t.pci, 0, NULL));
    assert_int_equal(pci_host_error_count(c->host, PCI_E_BAR_PLACEMENT), 1);
    cfg_wr(c, PCI_CFG_BAR0, 4, (uint32_t)(MMIO32 + MMIO32_SIZE)); /* just past the window */
    assert_false(pci_device_bar_mapped(c->t.pci, 0, NULL));
    assert_int_equal(pci_host_error_count(c->host, PCI_E_BAR_PLACEMENT), 2);
    cfg_wr(c, PCI_CFG_BAR0, 4, 0);
    assert_false(pci_device_bar_mapped(c->t.pci, 0, NULL));
    assert_int_equal(pci_host_error_count(c->host, PCI_E_BAR_PLACEMENT), 2);

    /* Over the other BAR: refused by the core, counted; free it again and it maps. */
    cfg_wr(c, PCI_CFG_BAR0, 4, (uint32_t)MMIO32);
    assert_false(pci_device_bar_mapped(c->t.pci, 0, NULL));
    assert_true(pci_device_bar_mapped(c->t.pci, 2, NULL));
    assert_int_equal(pci_host_error_count(c->host, PCI_E_BAR_PLACEMENT), 3);
    cfg_wr(c, PCI_CFG_BAR0 + 8, 4, (uint32_t)(MMIO32 + 0x200000));
    assert_true(pci_device_bar_mapped(c->t.pci, 0, &a)); /* retried on the next BAR write */
    assert_int_equal(a, MMIO32);

    /* Sizing while decoding moves the BAR to the top of the space: out of the windows. */
    cfg_wr(c, PCI_CFG_BAR0, 4, 0xffffffff);
    cfg_wr(c, PCI_CFG_BAR0 + 4, 4, 0xffffffff);
    assert_false(pci_device_bar_mapped(c->t.pci, 0, NULL));

    /* pci_device_bar_access checks its bounds. */
    uint64_t v = 7;
    assert_int_equal(pci_device_bar_access(c->t.pci, 0, BAR0_SIZE - 4, 8, false, &v), -EINVAL);
    assert_int_equal(v, 0);
    assert_int_equal(pci_device_bar_access(c->t.pci, 1, 0, 4, false, &v), -EINVAL);
    assert_int_equal(pci_device_bar_access(c->t.pci, 0, 0, 3, false, &v), -EINVAL);
    assert_int_equal(pci_device_bar_access(c->t.pci, 0, BAR0_SIZE - 8, 8, false, &v), 0);
    assert_int_equal(v, 0x1122334455667788ull);
}

/* A live mapping of the fake backend at @gpa, or NULL. */
static struct fake_map *live_map_at(struct ctx *c, uint64_t gpa)
{
    for (int i = 0; i < FAKE_MAX_MAPS; i++) {
        if (c->vm->hv_vm->maps[i].live && c->vm->hv_vm->maps[i].gpa == gpa) {
            return &c->vm->hv_vm->maps[i];
        }
    }
    return NULL;
}

static void test_memory_bar(void **state)
{
    struct ctx *c = *state;
    const pci_device_info_t info = {.vendor_id = 0x1234, .device_id = 0x9999, .name = "membar"};
    uint8_t *mem = aligned_alloc(4096, 0x2000), *rom = aligned_alloc(4096, 0x1000);
    pci_device_t *d;
    struct fake_map *m;
    uint64_t a, v;

    assert_non_null(mem);
    assert_non_null(rom);
    memset(mem, 0, 0x2000);
    memset(rom, 0x5a, 0x1000);
    d = pci_device_create(&info, &t_ops, &c->t2, NULL);
    assert_non_null(d);
    c->t2.pci = d;
    assert_int_equal(pci_device_add_bar(d, 0, 0x2000, PCI_BAR_F_64BIT | PCI_BAR_F_PREFETCH), 0);
    assert_int_equal(pci_device_add_bar(d, 2, 0x1000, 0), 0);
    assert_int_equal(pci_device_add_bar(d, 3, 0x1000, 0), 0);
    /* Argument checks: no such BAR, misaligned memory, the MSI-X BAR either way round. */
    assert_int_equal(pci_device_set_bar_memory(d, 4, mem, false), -EINVAL);
    assert_int_equal(pci_device_set_bar_memory(d, 1, mem, false), -EINVAL); /* upper half */
    assert_int_equal(pci_device_set_bar_memory(d, 0, mem + 8, false), -EINVAL);
    assert_int_equal(pci_device_set_bar_memory(d, 0, NULL, false), -EINVAL);
    assert_int_equal(pci_device_add_msix(d, 1, 3, 0, 0x800), PCI_CFG_CAP_START);
    assert_int_equal(pci_device_set_bar_memory(d, 3, rom, false), -EINVAL);
    assert_int_equal(pci_device_set_bar_memory(d, 0, mem, false), 0);
    assert_int_equal(pci_device_add_msix(d, 1, 0, 0, 0x800), -EINVAL); /* already has one */
    assert_int_equal(pci_device_set_bar_memory(d, 2, rom, true), 0);
    assert_int_equal(pci_host_register(c->host, d, 5), 5);
    assert_int_equal(pci_device_set_bar_memory(d, 0, mem, false), -EBUSY);

    /* Sizing works as for any BAR; nothing decodes with Memory Space off. */
    uint64_t reg = cfg_addr(0, 5, 0, PCI_CFG_BAR0);
    uint32_t lo = (uint32_t)rd(c, reg, 4);
    assert_int_equal(lo & 0xf, PCI_BAR_MEM_TYPE_64 | PCI_BAR_MEM_PREFETCH);
    wr(c, reg, 4, 0xffffffff);
    assert_int_equal(rd(c, reg, 4), 0xffffe000u | PCI_BAR_MEM_TYPE_64 | PCI_BAR_MEM_PREFETCH);
    wr(c, reg, 4, lo);
    uint64_t base0 = (lo & ~0xfu) | (uint64_t)rd(c, reg + 4, 4) << 32;
    uint64_t base2 = rd(c, reg + 8, 4) & ~0xfu;
    assert_null(live_map_at(c, base0));
    assert_false(pci_device_bar_mapped(d, 0, NULL));

    /* Memory Space on: both are mapped, one read-only; the owner hears of it. */
    wr(c, cfg_addr(0, 5, 0, PCI_CFG_COMMAND), 2, PCI_COMMAND_MEMORY);
    assert_true(pci_device_bar_mapped(d, 0, &a));
    assert_int_equal(a, base0);
    m = live_map_at(c, base0);
    assert_non_null(m);
    assert_ptr_equal(m->hva, mem);
    assert_int_equal(m->size, 0x2000);
    assert_int_equal(m->flags & HV_MEM_READONLY, 0);
    m = live_map_at(c, base2);
    assert_non_null(m);
    assert_ptr_equal(m->hva, rom);
    assert_int_equal(m->flags & HV_MEM_READONLY, HV_MEM_READONLY);
    assert_int_equal(c->t2.maps, 1);
    assert_int_equal(c->t2.map_addr, base0);
    assert_ptr_equal(gpa_to_hva(c->vm, base0 + 0x10, 8), mem + 0x10);

    /* Accesses land in the memory, not the owner's callbacks. */
    wr(c, base0 + 0x1ff8, 8, 0x0102030405060708ull);
    assert_int_equal(*(uint64_t *)(mem + 0x1ff8), 0x0102030405060708ull);
    assert_int_equal(rd(c, base0 + 0x1ffc, 4), 0x01020304);
    assert_int_equal(rd(c, base2 + 0x10, 2), 0x5a5a);
    assert_int_equal(c->t2.reads, 0);
    assert_int_equal(c->t2.writes, 0);
    /* A write to the read-only one traps to bar_write and leaves the memory alone. */
    wr(c, base2 + 0x20, 4, 0xdeadbeef);
    assert_int_equal(c->t2.writes, 1);
    assert_int_equal(c->t2.last_bar, 2);
    assert_int_equal(c->t2.last_off, 0x20);
    assert_int_equal(rom[0x20], 0x5a);
    /* pci_device_bar_access reaches the memory too. */
    v = 0xabcd;
    assert_int_equal(pci_device_bar_access(d, 0, 0x100, 2, true, &v), 0);
    assert_int_equal(mem[0x100], 0xcd);
    v = 0;
    assert_int_equal(pci_device_bar_access(d, 0, 0x1ff8, 8, false, &v), 0);
    assert_int_equal(v, 0x0102030405060708ull);

    /* Moved while decoding: the mapping follows, the old place is empty. */
    uint64_t new0 = MMIO64 + 0x20000000ull;
    wr(c, reg, 4, (uint32_t)new0);
    wr(c, reg + 4, 4, (uint32_t)(new0 >> 32));
    assert_true(pci_device_bar_mapped(d, 0, &a));
    assert_int_equal(a, new0);
    assert_null(live_map_at(c, base0));
    m = live_map_at(c, new0);
    assert_non_null(m);
    assert_ptr_equal(m->hva, mem);
    assert_int_equal(c->t2.map_addr, new0);
    assert_int_equal(rd(c, new0 + 0x1ff8, 8), 0x0102030405060708ull);
    assert_int_equal(rd(c, base0 + 0x1ff8, 8), 0);

    /* Memory Space off: unmapped; on again: back where the BAR says. */
    int live = c->vm->hv_vm->nr_live;
    wr(c, cfg_addr(0, 5, 0, PCI_CFG_COMMAND), 2, 0);
    assert_false(pci_device_bar_mapped(d, 0, NULL));
    assert_null(live_map_at(c, new0));
    assert_int_equal(c->vm->hv_vm->nr_live, live - 2);
    assert_false(c->t2.mapped);
    wr(c, cfg_addr(0, 5, 0, PCI_CFG_COMMAND), 2, PCI_COMMAND_MEMORY);
    assert_non_null(live_map_at(c, new0));
    assert_int_equal(pci_device_command(d), PCI_COMMAND_MEMORY);

    /* The backend refuses the mapping: counted, not decoding; the next write retries. */
    test_ops.mem_map = NULL;
    wr(c, cfg_addr(0, 5, 0, PCI_CFG_COMMAND), 2, 0);
    wr(c, cfg_addr(0, 5, 0, PCI_CFG_COMMAND), 2, PCI_COMMAND_MEMORY);
    assert_false(pci_device_bar_mapped(d, 0, NULL));
    assert_true(pci_host_error_count(c->host, PCI_E_BAR_MAP) >= 1);
    assert_string_equal(pci_error_name(PCI_E_BAR_MAP), "bar-map");
    test_ops.mem_map = fake_hv_ops.mem_map;
    wr(c, cfg_addr(0, 5, 0, PCI_CFG_COMMAND), 2, PCI_COMMAND_MEMORY);
    assert_true(pci_device_bar_mapped(d, 0, NULL));

    /* Reset: unmapped, back at the VMM's placement, and mapped there again. */
    pci_host_reset(c->host);
    assert_false(pci_device_bar_mapped(d, 0, NULL));
    assert_null(live_map_at(c, new0));
    wr(c, cfg_addr(0, 5, 0, PCI_CFG_COMMAND), 2, PCI_COMMAND_MEMORY);
    assert_true(pci_device_bar_mapped(d, 0, &a));
    assert_int_equal(a, base0);
    assert_int_equal(rd(c, base0 + 0x100, 1), 0xcd);
    pci_host_destroy(c->host); /* frees the mappings while the memory is still ours */
    c->host = NULL;
    assert_int_equal(c->vm->hv_vm->nr_live, 1); /* RAM only */
    free(mem);
    free(rom);
}

static void test_bar_conflict_between_devices(void **state)
{
    struct ctx *c = *state;
    pci_device_t *d = make_dev(&c->t2, 2, "tdev1");
    uint64_t a;

    assert_int_equal(pci_host_register(c->host, d, 4), 4);
    /* Placed after the first device. */
    assert_int_equal(pci_host_config_read(c->host, 0, 4 << 3, PCI_CFG_BAR0 + 8, 4),
                     MMIO32 + BAR2_SIZE);
    enable_mem(c, 0);
    pci_host_config_write(c->host, 0, 4 << 3, PCI_CFG_BAR0 + 8, 4, (uint32_t)MMIO32);
    pci_host_config_write(c->host, 0, 4 << 3, PCI_CFG_COMMAND, 2, PCI_COMMAND_MEMORY);
    assert_false(pci_device_bar_mapped(d, 2, NULL));
    assert_true(pci_device_bar_mapped(d, 0, &a));
    assert_int_equal(a, MMIO64 + BAR0_SIZE);
    assert_int_equal(pci_host_error_count(c->host, PCI_E_BAR_PLACEMENT), 1);
    /* The guest reads the first device there. */
    rd(c, MMIO32 + 8, 4);
    assert_int_equal(c->t.reads, 1);
    assert_int_equal(c->t2.reads, 0);
}

static void test_capability_chain(void **state)
{
    struct ctx *c = *state;
    uint8_t ids[8];
    unsigned int n = 0, ptr;

    assert_true(cfg_rd(c, PCI_CFG_STATUS, 2) & PCI_STATUS_CAP_LIST);
    ptr = cfg_rd(c, PCI_CFG_CAP_PTR, 1);
    while (ptr && n < 8) {
        assert_int_equal(ptr & 3, 0);
        assert_true(ptr >= PCI_CFG_CAP_START);
        ids[n++] = (uint8_t)cfg_rd(c, ptr, 1);
        ptr = cfg_rd(c, ptr + 1, 1);
    }
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], PCI_CAP_ID_MSIX);
    assert_int_equal(ids[1], PCI_CAP_ID_VNDR);
    /* The vendor capability's body as given, its length byte first. */
    assert_int_equal(cfg_rd(c, c->vcap, 4), 0xaa06u << 16 | PCI_CAP_ID_VNDR);
    /* MSI-X: Table Size N-1, table offset/BIR, PBA offset/BIR. */
    assert_int_equal(cfg_rd(c, 0x40 + PCI_MSIX_CTRL, 2), NVEC - 1);
    assert_int_equal(cfg_rd(c, 0x40 + PCI_MSIX_TABLE, 4), 0x2000);
    assert_int_equal(cfg_rd(c, 0x40 + PCI_MSIX_PBA, 4), 0x3000);
    /* The pointers are read-only. */
    cfg_wr(c, PCI_CFG_CAP_PTR, 1, 0x80);
    cfg_wr(c, 0x41, 1, 0x80);
    assert_int_equal(cfg_rd(c, PCI_CFG_CAP_PTR, 1), 0x40);
    assert_int_equal(cfg_rd(c, 0x41, 1), c->vcap);
    assert_int_equal(pci_device_add_capability(c->t.pci, 9, NULL, 0, NULL), -EBUSY);
}

static void msix_program(struct ctx *c, uint64_t base, unsigned int v, uint64_t addr, uint32_t data)
{
    uint64_t e = base + 0x2000 + 16 * v;
    wr(c, e + PCI_MSIX_ENTRY_ADDR_LO, 4, (uint32_t)addr);
    wr(c, e + PCI_MSIX_ENTRY_ADDR_HI, 4, (uint32_t)(addr >> 32));
    wr(c, e + PCI_MSIX_ENTRY_DATA, 4, data);
}

static void test_msix(void **state)
{
    struct ctx *c = *state;
    pci_device_t *d = c->t.pci;
    const uint64_t b = MMIO64, tbl = b + 0x2000, pba = b + 0x3000;
    const unsigned int ctrl = 0x40 + PCI_MSIX_CTRL;

    enable_mem(c, 0);
    /* Reset state: every vector masked, nothing pending, disabled. */
    for (unsigned int v = 0; v < NVEC; v++) {
        assert_int_equal(rd(c, tbl + 16 * v + PCI_MSIX_ENTRY_CTRL, 4), 1);
        assert_int_equal(rd(c, tbl + 16 * v, 8), 0);
    }
    assert_int_equal(rd(c, pba, 8), 0);
    assert_false(pci_device_msix_enabled(d));
    assert_int_equal(pci_device_msix_notify(d, 0), PCI_MSIX_DISABLED);

    /* Program by dwords and by qwords; address bits 1:0 are read-only zero. */
    msix_program(c, b, 0, 0x08090043ull, 0x21);
    assert_int_equal(rd(c, tbl, 4), 0x08090040);
    wr(c, tbl + 16, 8, 0x0000000108090040ull);
    wr(c, tbl + 24, 8, 0x0000000000000022ull); /* data 0x22, unmasked */
    assert_int_equal(rd(c, tbl + 16, 8), 0x0000000108090040ull);
    assert_int_equal(rd(c, tbl + 24, 8), 0x22);
    wr(c, tbl + 28, 4, 0xfffffffe); /* reserved control bits stay 0 */
    assert_int_equal(rd(c, tbl + 28, 4), 0);

    /* Enabled but vector 0 masked: pending, visible in the PBA. */
    cfg_wr(c, ctrl, 2, PCI_MSIX_CTRL_ENABLE);
    assert_true(pci_device_msix_enabled(d));
    pthread_mutex_lock(pci_device_lock(d));
    assert_int_equal(pci_device_msix_notify(d, 0), PCI_MSIX_PENDING);
    pthread_mutex_unlock(pci_device_lock(d));
    assert_int_equal(rd(c, pba, 4), 1);
    assert_int_equal(rec.nr_msi, 0);
    /* Unmask by a table write: delivered, pending bit cleared. */
    wr(c, tbl + PCI_MSIX_ENTRY_CTRL, 4, 0);
    assert_int_equal(rec.nr_msi, 0); /* still: bus mastering is off */
    assert_int_equal(rd(c, pba, 8), 1);
    enable_mem(c, PCI_COMMAND_MASTER); /* Bus Master Enable releases it */
    assert_int_equal(rec.nr_msi, 1);
    assert_int_equal(rec.msi[0].addr, 0x08090040);
    assert_int_equal(rec.msi[0].data, 0x21);
    assert_int_equal(rec.msi[0].devid, SLOT << 3);
    assert_int_equal(rd(c, pba, 8), 0);

    /* Straight delivery of vector 1 (64-bit address). */
    assert_int_equal(pci_device_msix_notify(d, 1), PCI_MSIX_DELIVERED);
    assert_int_equal(rec.nr_msi, 2);
    assert_int_equal(rec.msi[1].addr, 0x108090040ull);
    assert_int_equal(rec.msi[1].data, 0x22);

    /* Function mask: pending; cleared -> delivered. */
    cfg_wr(c, ctrl, 2, PCI_MSIX_CTRL_ENABLE | PCI_MSIX_CTRL_MASKALL);
    assert_int_equal(pci_device_msix_notify(d, 1), PCI_MSIX_PENDING);
    assert_int_equal(pci_device_msix_notify(d, 1), PCI_MSIX_PENDING); /* one bit, one message */
    assert_int_equal(rd(c, pba, 8), 2);
    cfg_wr(c, ctrl + 1, 1, PCI_MSIX_CTRL_ENABLE >> 8);
    assert_int_equal(rec.nr_msi, 3);
    assert_int_equal(rec.msi[2].data, 0x22);
    assert_int_equal(rd(c, pba, 8), 0);

    /* Vector mask on vector 2 (never programmed): pending until unmasked. */
    assert_int_equal(pci_device_msix_notify(d, 2), PCI_MSIX_PENDING);
    assert_int_equal(rd(c, pba, 8), 4);
    msix_program(c, b, 2, 0x08090040, 0x23);
    assert_int_equal(rec.nr_msi, 3);
    wr(c, tbl + 32 + PCI_MSIX_ENTRY_CTRL, 4, 0);
    assert_int_equal(rec.nr_msi, 4);
    assert_int_equal(rec.msi[3].data, 0x23);

    /* Bad vector, bad accesses. */
    assert_int_equal(pci_device_msix_notify(d, NVEC), PCI_MSIX_NO_VECTOR);
    assert_int_equal(pci_host_error_count(c->host, PCI_E_MSIX_VECTOR), 1);
    assert_int_equal(rd(c, tbl + 2, 2), 0); /* not a dword */
    assert_int_equal(rd(c, tbl + 1, 1), 0);
    assert_int_equal(rd(c, tbl + 4, 8), 0); /* misaligned qword */
    wr(c, tbl + 16 + 12, 2, 1);             /* would mask: dropped */
    assert_int_equal(rd(c, tbl + 28, 4), 0);
    wr(c, pba, 8, ~0ull); /* the PBA is read-only */
    assert_int_equal(rd(c, pba, 8), 0);
    assert_int_equal(pci_host_error_count(c->host, PCI_E_MSIX_ACCESS), 5);
    /* Just past the table and PBA: the owner's. */
    int reads = c->t.reads;
    rd(c, tbl + 16 * NVEC, 4);
    rd(c, pba + 8, 4);
    assert_int_equal(c->t.reads, reads + 2);

    /* Backend refuses: counted. */
    rec.msi_rc = -EINVAL;
    assert_int_equal(pci_device_msix_notify(d, 1), PCI_MSIX_FAILED);
    assert_int_equal(pci_host_error_count(c->host, PCI_E_MSI_DELIVERY), 1);
    rec.msi_rc = 0;

    /* Through the config window helper too (what virtio's PCI cfg capability uses). */
    uint64_t v;
    assert_int_equal(pci_device_bar_access(d, 0, 0x2000 + 32 + 8, 4, false, &v), 0);
    assert_int_equal(v, 0x23);

    /* Disable: notify says so, the caller falls back to INTx. */
    cfg_wr(c, ctrl, 2, 0);
    assert_int_equal(pci_device_msix_notify(d, 1), PCI_MSIX_DISABLED);
}

static void test_intx(void **state)
{
    struct ctx *c = *state;
    pci_device_t *d = c->t.pci;
    const uint32_t line = host_cfg.intx_irq[(SLOT + 1 - 1) % 4];

    assert_int_equal(pci_host_intx_irq(c->host, SLOT, 1), line);
    pci_device_set_intx(d, 1);
    assert_int_equal(rec.level[line], 1);
    assert_true(cfg_rd(c, PCI_CFG_STATUS, 2) & PCI_STATUS_INTERRUPT);

    /* Interrupt Disable: the line drops, Interrupt Status stays. */
    cfg_wr(c, PCI_CFG_COMMAND + 1, 1, PCI_COMMAND_INTX_DISABLE >> 8);
    assert_int_equal(rec.level[line], 0);
    assert_true(cfg_rd(c, PCI_CFG_STATUS, 2) & PCI_STATUS_INTERRUPT);
    cfg_wr(c, PCI_CFG_COMMAND + 1, 1, 0);
    assert_int_equal(rec.level[line], 1);
    pci_device_set_intx(d, 0);
    assert_int_equal(rec.level[line], 0);
    assert_false(cfg_rd(c, PCI_CFG_STATUS, 2) & PCI_STATUS_INTERRUPT);
    /* Disabled while low, raised: stays low, status set. */
    cfg_wr(c, PCI_CFG_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
    int calls = rec.line_calls;
    pci_device_set_intx(d, 1);
    assert_int_equal(rec.line_calls, calls);
    assert_true(cfg_rd(c, PCI_CFG_STATUS, 2) & PCI_STATUS_INTERRUPT);
    cfg_wr(c, PCI_CFG_COMMAND, 2, 0);
    assert_int_equal(rec.level[line], 1);
    /* MSI-X enabled: no INTx (PCI 3.0 6.8.2.3). */
    cfg_wr(c, 0x40 + PCI_MSIX_CTRL, 2, PCI_MSIX_CTRL_ENABLE);
    assert_int_equal(rec.level[line], 0);
    cfg_wr(c, 0x40 + PCI_MSIX_CTRL, 2, 0);
    assert_int_equal(rec.level[line], 1);
    pci_device_set_intx(d, 0);
    assert_int_equal(rec.level[line], 0);
}

static void test_intx_shared_line_and_map(void **state)
{
    struct ctx *c = *state;
    /* Slot 3 pin A and slot 6 pin B share line (3+0)%4 = (6+1)%4 = 3. */
    pci_device_t *d2 = make_dev(&c->t2, 2, "tdev1");
    const uint32_t line = host_cfg.intx_irq[3];
    pci_irq_route_t map[16];

    assert_int_equal(pci_host_register(c->host, d2, 6), 6);
    assert_int_equal(pci_host_intx_irq(c->host, 6, 2), line);
    assert_int_equal(pci_host_intx_irq(c->host, 6, 5), 0);
    assert_int_equal(pci_host_intx_irq(c->host, 32, 1), 0);
    pci_device_set_intx(c->t.pci, 1);
    pci_device_set_intx(d2, 1);
    assert_int_equal(rec.level[line], 1);
    pci_device_set_intx(c->t.pci, 0);
    assert_int_equal(rec.level[line], 1); /* the other still asserts */
    pci_device_set_intx(d2, 0);
    assert_int_equal(rec.level[line], 0);

    /* The interrupt map: 4 pins per occupied slot, swizzled. */
    assert_int_equal(pci_host_irq_map(c->host, NULL, 0), 8);
    assert_int_equal(pci_host_irq_map(c->host, map, 16), 8);
    for (unsigned int i = 0; i < 8; i++) {
        unsigned int slot = i < 4 ? SLOT : 6, pin = i % 4 + 1;
        assert_int_equal(map[i].devfn, slot << 3);
        assert_int_equal(map[i].pin, pin);
        assert_int_equal(map[i].irq, host_cfg.intx_irq[(slot + pin - 1) % 4]);
    }
    assert_int_equal(pci_host_irq_map(c->host, map, 2), 8); /* truncated, count still full */
}

static void test_reset(void **state)
{
    struct ctx *c = *state;
    const uint32_t line = host_cfg.intx_irq[3];

    cfg_wr(c, PCI_CFG_BAR0 + 8, 4, (uint32_t)(MMIO32 + 0x400000));
    enable_mem(c, PCI_COMMAND_MASTER);
    cfg_wr(c, PCI_CFG_INTERRUPT_LINE, 1, 9);
    cfg_wr(c, c->vcap + 4, 1, 0x0f);
    wr(c, MMIO64 + 0x2000 + 12, 4, 0);
    pci_device_set_intx(c->t.pci, 1);
    assert_int_equal(rec.level[line], 1);
    assert_true(pci_device_bar_mapped(c->t.pci, 2, NULL));

    pci_host_reset(c->host);
    assert_int_equal(c->t.resets, 1);
    assert_int_equal(rec.level[line], 0);
    assert_int_equal(cfg_rd(c, PCI_CFG_COMMAND, 4), (uint32_t)PCI_STATUS_CAP_LIST << 16);
    assert_int_equal(cfg_rd(c, PCI_CFG_BAR0 + 8, 4), MMIO32);
    assert_int_equal(cfg_rd(c, PCI_CFG_INTERRUPT_LINE, 1), 0);
    assert_int_equal(cfg_rd(c, c->vcap + 4, 1), 0xbb);
    assert_false(pci_device_bar_mapped(c->t.pci, 0, NULL));
    assert_false(pci_device_bar_mapped(c->t.pci, 2, NULL));
    assert_int_equal(c->t.unmaps, 1);
    enable_mem(c, 0);
    assert_int_equal(rd(c, MMIO64 + 0x2000 + 12, 4), 1); /* masked again */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ecam_decode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_masks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bar_sizing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bar_decode_and_move, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_bar, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bar_conflict_between_devices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_capability_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_msix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intx_shared_line_and_map, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
