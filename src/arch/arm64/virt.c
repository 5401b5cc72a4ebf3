/*
 * virt.c - the arm64 virt board: VM, vCPUs, GIC, PL011 and Linux boot
 * (see arm64_virt.h).
 *
 * Locking: the PL011 model is reached from vCPU threads (MMIO faults) and
 * from the console input thread (host input); uart_lock serialises both.
 * Its callbacks (tx, set_irq, rx_ready) run under that lock and never take
 * it again.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libfdt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vmmkit/arm64.h>
#include <vmmkit/arm64_fdt.h>
#include <vmmkit/arm64_virt.h>
#include <vmmkit/guest_memory.h>
#include <vmmkit/irq.h>
#include <vmmkit/log.h>
#include <vmmkit/pl011.h>

#include "arch/arm64/virt_priv.h"

/* PL011 callbacks, under uart_lock. */
static void uart_tx(void *opaque, uint8_t byte)
{
    arm64_virt_t *b = opaque;

    chardev_write(b->cfg.console, &byte, 1);
}

static void uart_set_irq(void *opaque, int level)
{
    arm64_virt_t *b = opaque;

    vm_irq_set_level(b->vm, ARM64_VIRT_UART_INTID, level);
}

static void uart_rx_ready(void *opaque)
{
    arm64_virt_t *b = opaque;

    chardev_rx_ready(b->cfg.console);
}

/* Console input thread: host bytes into the RX FIFO. */
static size_t uart_receive(void *opaque, const uint8_t *buf, size_t len)
{
    arm64_virt_t *b = opaque;
    size_t took;

    pthread_mutex_lock(&b->uart_lock);
    took = pl011_receive(&b->uart, buf, len);
    pthread_mutex_unlock(&b->uart_lock);
    return took;
}

static memory_fault_result_t uart_fault(vm_t *vm, vm_vcpu_t *vcpu, uintptr_t addr, size_t len,
                                        void *cookie)
{
    arm64_virt_t *b = cookie;
    uint64_t offset = addr - ARM64_VIRT_UART_BASE;

    pthread_mutex_lock(&b->uart_lock);
    if (is_vcpu_read_fault(vcpu)) {
        uint64_t val = 0;
        pl011_mmio_read(&b->uart, offset, (unsigned)len, &val);
        set_vcpu_fault_data(vcpu, val);
    } else {
        pl011_mmio_write(&b->uart, offset, (unsigned)len, get_vcpu_fault_data(vcpu));
    }
    pthread_mutex_unlock(&b->uart_lock);
    return FAULT_HANDLED;
}

static void uart_reset_hook(vm_t *vm, void *cookie)
{
    arm64_virt_t *b = cookie;

    pthread_mutex_lock(&b->uart_lock);
    pl011_reset(&b->uart);
    pthread_mutex_unlock(&b->uart_lock);
}

static int create_gic(arm64_virt_t *b, char *err, size_t errlen)
{
    vm_arm64_gic_t gic = {
        .version = b->cfg.gic_version,
        .dist_base = ARM64_VIRT_GIC_DIST_BASE,
        .cpu_base = ARM64_VIRT_GIC_CPU_BASE,
        .redist_base = ARM64_VIRT_GIC_REDIST_BASE,
        .its_base = ARM64_VIRT_GIC_ITS_BASE,
        .nr_irqs = ARM64_VIRT_GIC_NR_IRQS,
    };
    int r = vm_arm64_gic_create(b->vm, &gic);

    if (r < 0)
        return board_errorf(err, errlen, r, "cannot create the %s interrupt controller: %s",
                            b->cfg.gic_version == 2   ? "GICv2"
                            : b->cfg.gic_version == 3 ? "GICv3"
                                                      : "GICv3 or GICv2",
                            strerror(-r));
    b->gic_version = gic.version;
    b->its_base = gic.its_base;
    LOG_INFO("interrupt controller: in-kernel GICv%d%s", gic.version,
             gic.its_base ? " with an ITS" : "");
    return 0;
}

int arm64_virt_create(const arm64_virt_config_t *cfg, arm64_virt_t **out, char *err, size_t errlen)
{
    unsigned int max_cpus;
    arm64_virt_t *b;
    int r;

    b = calloc(1, sizeof(*b));
    if (!b)
        return board_errorf(err, errlen, -ENOMEM, "out of memory");
    b->cfg = *cfg;
    pthread_mutex_init(&b->uart_lock, NULL);

    r = virt_plan(cfg, &b->plan, err, errlen);
    if (r < 0)
        goto fail;
    virt_layout(&b->cfg, &b->layout);
    max_cpus = (unsigned)((ARM64_VIRT_GIC_REDIST_LIMIT - ARM64_VIRT_GIC_REDIST_BASE) /
                          ARM64_VIRT_GIC_REDIST_SIZE_PER_CPU);
    if (cfg->gic_version == 2)
        max_cpus = 8; /* GICv2 architectural limit */
    if (cfg->cpus > max_cpus) {
        r = board_errorf(err, errlen, -EINVAL, "--cpus %u: this board takes at most %u vCPUs",
                         cfg->cpus, max_cpus);
        goto fail;
    }

    r = board_create_vm(&b->vm, "sim/arm64", err, errlen);
    if (r < 0)
        goto fail;
    r = vm_memory_init(b->vm);
    if (r == 0)
        r = vm_ram_add(b->vm, ARM64_VIRT_RAM_BASE, cfg->ram_size);
    if (r < 0) {
        r = board_errorf(err, errlen, r, "cannot allocate %" PRIu64 " MiB of guest RAM: %s",
                         cfg->ram_size >> 20, strerror(-r));
        goto fail;
    }
    for (unsigned int i = 0; i < cfg->cpus; i++) {
        if (!vm_create_vcpu(b->vm, i)) {
            r = board_errorf(err, errlen, -errno, "cannot create vCPU %u: %s", i, strerror(errno));
            goto fail;
        }
    }
    r = virt_psci_create(b, err, errlen);
    if (r < 0)
        goto fail;
    r = create_gic(b, err, errlen);
    if (r < 0)
        goto fail;

    pl011_init(&b->uart,
               &(pl011_config_t){
                   .tx = uart_tx, .set_irq = uart_set_irq, .rx_ready = uart_rx_ready, .opaque = b});
    b->uart_res =
        vm_reserve_memory_at(b->vm, ARM64_VIRT_UART_BASE, ARM64_VIRT_UART_SIZE, uart_fault, b);
    if (!b->uart_res) {
        r = board_errorf(err, errlen, -errno, "cannot reserve the UART's MMIO window: %s",
                         strerror(errno));
        goto fail;
    }
    vm_register_reset_hook(b->vm, uart_reset_hook, b);
    r = board_devices_create(&b->dev, b->vm, &b->cfg, &b->layout, err, errlen);
    if (r < 0)
        goto fail;
    r = board_regions_create(&b->dev, err, errlen);
    if (r < 0)
        goto fail;
    if (!cfg->virtio_console) {
        r = chardev_start(cfg->console, uart_receive, b);
        if (r < 0) {
            r = board_errorf(err, errlen, r, "cannot start console input: %s", strerror(-r));
            goto fail;
        }
    }
    *out = b;
    return 0;
fail:
    arm64_virt_destroy(b);
    return r;
}

static int set_chosen(void *fdt, const char *cmdline, uint64_t initrd_start, uint64_t initrd_end)
{
    int node = fdt_path_offset(fdt, "/chosen");
    int r = 0;

    if (node < 0)
        node = fdt_add_subnode(fdt, 0, "chosen");
    if (node < 0)
        return node;
    if (cmdline)
        r = fdt_setprop_string(fdt, node, "bootargs", cmdline);
    if (r == 0 && initrd_end > initrd_start) {
        r = fdt_setprop_u64(fdt, node, "linux,initrd-start", initrd_start);
        if (r == 0)
            r = fdt_setprop_u64(fdt, node, "linux,initrd-end", initrd_end);
    }
    return r;
}

/* The user's DTB, with /chosen pointing at this boot's initrd and command line. */
static int load_user_dtb(arm64_virt_t *b, void *dst, char *err, size_t errlen)
{
    const arm64_boot_layout_t *l = &b->plan.layout;
    uint64_t size;
    void *blob;
    int fd = board_open_file("--dtb", b->cfg.dtb, &size, err, errlen);
    int r;

    if (fd < 0)
        return fd;
    blob = malloc(size);
    r = blob ? board_pread_all(fd, blob, size, 0) : -ENOMEM;
    close(fd);
    if (r == 0 && size + ARM64_VIRT_DTB_EXTRA > b->plan.dtb_room)
        r = -EFBIG;
    if (r == 0)
        r = fdt_open_into(blob, dst, (int)b->plan.dtb_room) == 0 ? 0 : -EINVAL;
    if (r == 0 &&
        set_chosen(dst, b->cfg.cmdline, l->initrd_addr, l->initrd_addr + b->plan.initrd_size) != 0)
        r = -ENOSPC;
    if (r == 0)
        r = fdt_pack(dst) == 0 ? 0 : -EINVAL;
    free(blob);
    if (r < 0)
        return board_errorf(err, errlen, r, "--dtb %s: cannot use it: %s", b->cfg.dtb,
                            strerror(-r));
    return 0;
}

/* The shared devices (board_priv.h) in the device tree. */
static void describe_devices(arm64_virt_t *b, arm64_fdt_config_t *fc)
{
    const board_devices_t *d = &b->dev;

    for (unsigned int i = 0; i < d->nr_mmio; i++)
        b->fdt_mmio[i] = (arm64_fdt_virtio_mmio_t){.base = d->mmio_desc[i].base,
                                                   .size = d->mmio_desc[i].size,
                                                   .intid = d->mmio_desc[i].irq};
    fc->virtio = b->fdt_mmio;
    fc->nr_virtio = d->nr_mmio;
    for (unsigned int i = 0; i < d->nr_channel_desc; i++) {
        const board_channel_desc_t *c = &d->channel_desc[i];
        b->fdt_channels[i] = (arm64_fdt_crossvm_t){
            .name = c->name,
            .event_base = c->event_base,
            .event_size = c->event_size,
            .mem_base = c->mem_base,
            .mem_size = c->mem_size,
            .intid = c->irq,
        };
    }
    fc->crossvm = b->fdt_channels;
    fc->nr_crossvm = d->nr_channel_desc;
    if (!d->pci)
        return;

    const pci_host_config_t *hc = pci_host_get_config(d->pci);
    pci_irq_route_t routes[128];
    size_t n = pci_host_irq_map(d->pci, routes, 128);

    if (n > 128)
        n = 128;
    for (size_t i = 0; i < n; i++)
        b->fdt_pci_irqs[i] = (arm64_fdt_pci_irq_t){
            .devfn = routes[i].devfn, .pin = routes[i].pin, .intid = routes[i].irq};
    fc->pci = (arm64_fdt_pci_t){
        .ecam_base = hc->ecam_base,
        .ecam_size = pci_host_ecam_size(d->pci),
        .bus_first = 0,
        .bus_last = (uint32_t)(pci_host_ecam_size(d->pci) >> 20) - 1,
        .mmio_base = hc->mmio32_base,
        .mmio_size = hc->mmio32_size,
        .mmio64_base = hc->mmio64_base,
        .mmio64_size = hc->mmio64_size,
        .irq_map = b->fdt_pci_irqs,
        .nr_irq_map = n,
        .msi = b->its_base != 0,
    };
}

static int build_dtb(arm64_virt_t *b, void *dst, char *err, size_t errlen)
{
    const arm64_boot_layout_t *l = &b->plan.layout;
    unsigned int n = vm_vcpu_count(b->vm);
    uint64_t mpidr[n];
    arm64_fdt_mem_region_t ram = {ARM64_VIRT_RAM_BASE, b->cfg.ram_size};
    arm64_fdt_config_t fc = {
        .mem = &ram,
        .nr_mem = 1,
        .nr_cpus = n,
        .cpu_mpidr = mpidr,
        .gic =
            {
                .version = (unsigned)b->gic_version,
                .dist_base = ARM64_VIRT_GIC_DIST_BASE,
                .dist_size = ARM64_VIRT_GIC_DIST_SIZE,
                .cpu_base = ARM64_VIRT_GIC_CPU_BASE,
                .cpu_size = ARM64_VIRT_GIC_CPU_SIZE,
                .redist_base = ARM64_VIRT_GIC_REDIST_BASE,
                .redist_size = ARM64_VIRT_GIC_REDIST_SIZE_PER_CPU * n,
                .its_base = b->its_base,
                .its_size = b->its_base ? ARM64_VIRT_GIC_ITS_SIZE : 0,
            },
        .uart =
            {
                .base = ARM64_VIRT_UART_BASE,
                .size = ARM64_VIRT_UART_SIZE,
                .intid = ARM64_VIRT_UART_INTID,
            },
        .bootargs = b->cfg.cmdline          ? b->cfg.cmdline
                    : b->cfg.virtio_console ? ARM64_VIRT_DEFAULT_CMDLINE_HVC
                                            : ARM64_VIRT_DEFAULT_CMDLINE,
        .initrd_start = l->initrd_addr,
        .initrd_size = b->plan.initrd_size,
    };
    int r;

    for (unsigned int i = 0; i < n; i++)
        mpidr[i] = vm_vcpu_arm64_mpidr(vm_get_vcpu(b->vm, i));
    describe_devices(b, &fc);
    r = arm64_fdt_build(&fc, dst, (size_t)b->plan.dtb_room);
    if (r < 0)
        return board_errorf(err, errlen, r, "cannot build the device tree: %s", strerror(-r));
    return 0;
}

int arm64_virt_boot(arm64_virt_t *b, char *err, size_t errlen)
{
    const arm64_boot_layout_t *l = &b->plan.layout;
    void *dtb;
    int r;

    r = board_load_file(b->vm, "--kernel", b->cfg.kernel, l->kernel_addr, b->plan.kernel_size, err,
                        errlen);
    if (r == 0 && b->cfg.initrd)
        r = board_load_file(b->vm, "--initrd", b->cfg.initrd, l->initrd_addr, b->plan.initrd_size,
                            err, errlen);
    if (r < 0)
        return r;
    dtb = gpa_to_hva(b->vm, l->dtb_addr, b->plan.dtb_room);
    if (!dtb)
        return board_errorf(err, errlen, -EFAULT, "the DTB's place is outside guest RAM");
    r = b->cfg.dtb ? load_user_dtb(b, dtb, err, errlen) : build_dtb(b, dtb, err, errlen);
    if (r < 0)
        return r;
    r = vm_vcpu_arm64_set_boot_regs(vm_get_vcpu(b->vm, 0), l->kernel_addr, l->dtb_addr);
    if (r < 0)
        return board_errorf(err, errlen, r, "cannot set the boot vCPU's registers: %s",
                            strerror(-r));
    LOG_INFO("kernel at 0x%" PRIx64 ", initrd at 0x%" PRIx64 " (%" PRIu64
             " bytes), DTB at 0x%" PRIx64,
             l->kernel_addr, l->initrd_addr, b->plan.initrd_size, l->dtb_addr);
    return 0;
}

int arm64_virt_dump_dtb(arm64_virt_t *b, const char *path, char *err, size_t errlen)
{
    const void *dtb = gpa_to_hva(b->vm, b->plan.layout.dtb_addr, b->plan.dtb_room);
    size_t size;
    FILE *f;

    if (!dtb || fdt_check_header(dtb) != 0)
        return board_errorf(err, errlen, -EINVAL, "no device tree in guest RAM to dump");
    size = fdt_totalsize(dtb);
    f = fopen(path, "wb");
    if (!f)
        return board_errorf(err, errlen, -errno, "--dump-dtb %s: %s", path, strerror(errno));
    if (fwrite(dtb, 1, size, f) != size || fclose(f) != 0) {
        int e = errno ? errno : EIO;
        return board_errorf(err, errlen, -e, "--dump-dtb %s: %s", path, strerror(e));
    }
    return 0;
}

vm_t *arm64_virt_vm(arm64_virt_t *b)
{
    return b->vm;
}

int arm64_virt_gic_version(const arm64_virt_t *b)
{
    return b->gic_version;
}

unsigned int arm64_virt_guest_errors(const arm64_virt_t *b, board_errors_t *out, unsigned int max)
{
    return board_devices_errors(&b->dev, out, max);
}

/* board.h: the virt board is this build's board. */
const char *board_name(void)
{
    return "arm64 virt";
}

board_transport_t board_default_transport(void)
{
    return BOARD_TRANSPORT_MMIO;
}

bool board_describes_with_acpi(void)
{
    return false;
}

int board_check(const board_config_t *cfg, char *err, size_t errlen)
{
    return arm64_virt_check(cfg, err, errlen);
}

int board_create(const board_config_t *cfg, board_t **out, char *err, size_t errlen)
{
    return arm64_virt_create(cfg, (arm64_virt_t **)out, err, errlen);
}

int board_boot(board_t *board, char *err, size_t errlen)
{
    return arm64_virt_boot((arm64_virt_t *)board, err, errlen);
}

vm_t *board_vm(board_t *board)
{
    return arm64_virt_vm((arm64_virt_t *)board);
}

int board_dump_description(board_t *board, const char *path, char *err, size_t errlen)
{
    return arm64_virt_dump_dtb((arm64_virt_t *)board, path, err, errlen);
}

unsigned int board_guest_errors(const board_t *board, board_errors_t *out, unsigned int max)
{
    return arm64_virt_guest_errors((const arm64_virt_t *)board, out, max);
}

void board_destroy(board_t *board)
{
    arm64_virt_destroy((arm64_virt_t *)board);
}

void arm64_virt_destroy(arm64_virt_t *b)
{
    if (!b)
        return;
    /* No more console input into a device that is going away. */
    chardev_stop(b->cfg.console);
    board_devices_destroy(&b->dev);
    /* The regions free their reservations: while the VM still exists. */
    board_regions_destroy(&b->dev);
    if (b->vm)
        vm_destroy(b->vm);
    virt_psci_destroy(b);
    pthread_mutex_destroy(&b->uart_lock);
    free(b);
}
