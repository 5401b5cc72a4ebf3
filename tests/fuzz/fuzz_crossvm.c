/*
 * fuzz_crossvm.c - libFuzzer harness for the cross-VM channel device
 * (src/devices/crossvm.c) on both transports, with the PCI core's
 * memory-backed BAR (src/pci/bar.c) under it.
 *
 * One channel, both ends in one VM as `vmmkit run --channel-pair` has it:
 * end A a PCI function behind a host bridge, end B an MMIO event page with
 * its memory at a fixed address, one memfd between them and an eventfd per
 * direction.  The input is a hostile guest and a hostile peer: a sequence
 * of 12-byte records,
 *
 *   byte 0      kind (bits 0-2) and width (bits 3-4: 1, 2, 4 or 8 bytes)
 *   bytes 1-3   offset, little-endian
 *   bytes 4-11  value, little-endian
 *
 * kind 0/1: read / write of the ECAM window (bus 0) at offset % 1 MiB;
 * kind 2/3: read / write at the address A's BAR0 is programmed with, plus
 *           offset % 6 KiB (decoding or not, wherever the guest put it);
 * kind 4/5: read / write inside the PCI window at offset % 8 MiB, so every
 *           BAR is reached wherever the guest moved it (the shared memory
 *           BAR included: the accesses complete on the memory);
 * kind 6:   read (value bit 0 clear) or write of B's event page at offset
 *           % 6 KiB;
 * kind 7:   the outside world, value % 8: the peer rings A (value >> 3
 *           times) or B; A or B serves its eventfd; the VM resets; B's
 *           memory is scribbled on; A's wait descriptor is read dry.
 *
 * After every record the harness checks what must hold whatever happened:
 * the read-only registers (name, version), A's INTx asserted only while
 * its counter is not 0, Memory Space on, Interrupt Disable off and MSI-X
 * off; B's line exactly "counter != 0"; a decoding memory BAR mapped onto
 * the channel's memory at its programmed address; the doorbell ioeventfd
 * bound at most once and only where BAR0 decodes; every MSI from A's
 * requester ID.  Any violation aborts.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vmmkit/crossvm.h>
#include <vmmkit/log.h>
#include <vmmkit/pci.h>

#define FUZZ_NAME "fuzz_crossvm"
#include "fuzz_driver.h"

#define ECAM 0x30000000ull
#define MMIO32 0x10000000ull
#define WINDOW_SIZE 0x800000ull
#define MEM_SIZE 0x4000u
#define EV_BASE 0x0fff0000ull
#define SHM_BASE 0x8000000000ull
#define SPI 80u
#define INTX 35u
#define RECORD_OFF_BYTES 3u

static const pci_host_config_t host_cfg = {
    .ecam_base = ECAM,
    .mmio32_base = MMIO32,
    .mmio32_size = WINDOW_SIZE,
    .intx_irq = {INTX, 36, 37, 38},
};

/* What the backend saw; one harness at a time (libFuzzer runs inputs one by one). */
static struct {
    int level[1024];
    int bound;           /* live ioeventfd bindings */
    uint64_t bound_addr; /* the last one bound */
} seen;

static int fuzz_irq_line(hv_vm_t *vm, uint32_t irq, int level)
{
    CHECK(irq < 1024);
    seen.level[irq] = level;
    return 0;
}

/* Every MSI comes from A, at slot 0. */
static int fuzz_msi(hv_vm_t *vm, uint64_t addr, uint32_t data, uint32_t devid)
{
    CHECK(devid == 0);
    return 0;
}

static int fuzz_ioeventfd(hv_vm_t *vm, const vm_ioeventfd_t *ev, bool assign)
{
    CHECK(ev->len == 0 && !ev->pio && !ev->has_datamatch);
    if (assign) {
        seen.bound++;
        seen.bound_addr = ev->addr;
    } else {
        CHECK(seen.bound > 0);
        seen.bound--;
    }
    CHECK(seen.bound <= 2); /* A's and B's */
    return 0;
}

static const struct hv_ops fuzz_ops = {
    .name = "fuzz",
    .vm_create = fake_vm_create_op,
    .vm_destroy = fake_vm_destroy_op,
    .mem_map = fake_mem_map,
    .mem_unmap = fake_mem_unmap,
    .irq_line = fuzz_irq_line,
    .msi = fuzz_msi,
    .ioeventfd = fuzz_ioeventfd,
    .vcpu_create = fake_vcpu_create,
    .vcpu_destroy = fake_vcpu_destroy,
    .vcpu_run = fake_vcpu_run,
    .vcpu_kick = fake_vcpu_kick,
    .vcpu_reset = fake_vcpu_reset,
};

struct harness {
    vm_t *vm;
    vm_vcpu_t *vcpu;
    pci_host_t *host;
    crossvm_t *a, *b;
    int mem_fd, ab, ba; /* A rings ab (B waits on it); B rings ba */
    uint8_t *peer;      /* the memory as a third party maps it */
};

static bool harness_init(struct harness *h)
{
    memset(h, 0, sizeof(*h));
    memset(&seen, 0, sizeof(seen));
    h->mem_fd = memfd_create("fuzz", MFD_CLOEXEC);
    h->ab = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    h->ba = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    CHECK(h->mem_fd >= 0 && h->ab >= 0 && h->ba >= 0 && ftruncate(h->mem_fd, MEM_SIZE) == 0);
    h->peer = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, h->mem_fd, 0);
    CHECK(h->peer != MAP_FAILED);
    CHECK(vm_create_with_backend(&h->vm, "fuzz", &fuzz_ops) == 0);
    h->vcpu = vm_create_vcpu(h->vm, 0);
    CHECK(h->vcpu);
    CHECK(pci_host_create(h->vm, &host_cfg, &h->host) == 0);
    const crossvm_config_t ca = {.name = "fuzz-channel",
                                 .mem_fd = h->mem_fd,
                                 .mem_size = MEM_SIZE,
                                 .notify_fd = h->ab,
                                 .wait_fd = h->ba};
    crossvm_config_t cb = ca;
    cb.notify_fd = h->ba;
    cb.wait_fd = h->ab;
    CHECK(crossvm_create(h->vm, &ca, &h->a) == 0 && crossvm_create(h->vm, &cb, &h->b) == 0);
    CHECK(crossvm_attach_pci(h->a, h->host, 0) == 0);
    const crossvm_mmio_config_t m = {.event_base = EV_BASE, .mem_base = SHM_BASE, .intid = SPI};
    CHECK(crossvm_attach_mmio(h->b, &m) == 0);
    return true;
}

static void harness_fini(struct harness *h)
{
    pci_host_destroy(h->host);
    crossvm_destroy(h->a);
    crossvm_destroy(h->b);
    CHECK(seen.bound == 0);
    vm_destroy(h->vm);
    munmap(h->peer, MEM_SIZE);
    close(h->mem_fd);
    close(h->ab);
    close(h->ba);
}

static uint32_t cfg_read(struct harness *h, unsigned int reg, uint32_t len)
{
    return (uint32_t)fuzz_guest_access(h->vcpu, ECAM + reg, len, false, 0);
}

static uint64_t bar0(struct harness *h)
{
    return cfg_read(h, PCI_CFG_BAR0, 4) & ~0xfull;
}

static void ring(int fd, uint64_t n)
{
    if (n) {
        (void)!write(fd, &n, sizeof(n)); /* may be refused when full: so be it */
    }
}

static void host_event(struct harness *h, uint64_t value)
{
    uint64_t n = value >> 3, sink;

    switch (value % 8) {
    case 0:
        ring(h->ba, n & 0xffffffffffull);
        break;
    case 1:
        ring(h->ab, n & 0xffffffffffull);
        break;
    case 2:
        crossvm_poll(h->a);
        break;
    case 3:
        crossvm_poll(h->b);
        break;
    case 4:
        pci_host_reset(h->host);
        crossvm_reset(h->b);
        break;
    case 5:
        memcpy(h->peer + (n % (MEM_SIZE - 8)), &value, 8);
        break;
    case 6:
        (void)!read(h->ba, &sink, sizeof(sink)); /* someone else drains A's doorbells */
        break;
    default:
        crossvm_poll(h->a);
        crossvm_poll(h->b);
        break;
    }
}

/* A live mapping of the fake backend at @gpa, or NULL. */
static struct fake_map *map_at(struct harness *h, uint64_t gpa)
{
    for (int i = 0; i < FAKE_MAX_MAPS; i++) {
        struct fake_map *m = &h->vm->hv_vm->maps[i];
        if (m->live && m->gpa == gpa) {
            return m;
        }
    }
    return NULL;
}

static void check_invariants(struct harness *h)
{
    pci_device_t *dev = crossvm_pci_function(h->a);
    uint16_t cmd = pci_device_command(dev);
    uint64_t a;

    CHECK(dev);
    CHECK(strcmp(crossvm_name(h->a), "fuzz-channel") == 0);
    CHECK(fuzz_guest_access(h->vcpu, EV_BASE + CROSSVM_REG_VERSION, 4, false, 0) ==
          CROSSVM_VERSION);
    CHECK(fuzz_guest_access(h->vcpu, EV_BASE + CROSSVM_REG_NAME, 8, false, 0) ==
          0x6168632d7a7a7566ull); /* "fuzz-cha" */
    /* A's INTx only when it may; B's line exactly the counter. */
    if (seen.level[INTX]) {
        CHECK(crossvm_events(h->a) != 0 && (cmd & PCI_COMMAND_MEMORY) &&
              !(cmd & PCI_COMMAND_INTX_DISABLE) && !pci_device_msix_enabled(dev));
    }
    CHECK(seen.level[SPI] == (crossvm_events(h->b) != 0));
    /* The memory BAR, where it decodes, is the channel's memory. */
    if (pci_device_bar_mapped(dev, CROSSVM_BAR_MEM, &a)) {
        struct fake_map *m = map_at(h, a);
        CHECK(m && m->hva == crossvm_memory(h->a) && m->size == MEM_SIZE);
        CHECK(a >= MMIO32 && a + MEM_SIZE <= MMIO32 + WINDOW_SIZE);
    }
    CHECK(map_at(h, SHM_BASE) && map_at(h, SHM_BASE)->hva == crossvm_memory(h->b));
    /* The doorbell: B's always, A's only while BAR0 decodes. */
    bool a_bound = crossvm_doorbell_bound(h->a);
    CHECK(crossvm_doorbell_bound(h->b));
    CHECK(seen.bound == 1 + a_bound);
    CHECK(!a_bound || pci_device_bar_mapped(dev, CROSSVM_BAR_EVENTS, NULL));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t widths[4] = {1, 2, 4, 8};
    struct harness *h = malloc(sizeof(*h));

    vmm_log_set_level(VMM_LOG_ERR);
    if (!h || !harness_init(h)) {
        free(h);
        return 0;
    }
    size_t pos = 0;
    fuzz_record_t rec;
    while (fuzz_record_next(data, size, &pos, RECORD_OFF_BYTES, &rec)) {
        unsigned int kind = rec.head & 7;
        uint32_t len = widths[(rec.head >> 3) & 3];
        uint32_t off = rec.off;
        uint64_t value = rec.value, a;

        switch (kind) {
        case 0:
        case 1:
            a = ECAM + off % PCI_ECAM_BUS_SIZE;
            if (a + len > ECAM + PCI_ECAM_BUS_SIZE) {
                a -= len;
            }
            fuzz_guest_access(h->vcpu, a, len, kind == 1, value);
            break;
        case 2:
        case 3:
            a = bar0(h) + off % 0x1800u;
            fuzz_guest_access(h->vcpu, a, len, kind == 3, value);
            break;
        case 4:
        case 5:
            a = MMIO32 + off % WINDOW_SIZE;
            fuzz_guest_access(h->vcpu, a, len, kind == 5, value);
            break;
        case 6:
            fuzz_guest_access(h->vcpu, EV_BASE + off % 0x1800u, len, value & 1, value >> 1);
            break;
        default:
            host_event(h, value);
            break;
        }
        check_invariants(h);
    }
    harness_fini(h);
    free(h);
    return 0;
}
