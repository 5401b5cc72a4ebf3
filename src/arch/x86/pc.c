/*
 * pc.c - the x86 pc board: VM, vCPUs, in-kernel interrupt controllers and
 * PIT, the legacy devices on ports, PCI configuration through 0xcf8/0xcfc,
 * and Linux boot (see x86_pc.h).
 *
 * Locking: the legacy devices (UART, i8042, RTC, ACPI PM) share
 * legacy_lock (pc_priv.h), taken around every port access and around the
 * console's input into the UART.  Their callbacks run under it; the ones
 * that stop the VM (reset, power-off) only ask vm_request_stop(), which
 * takes no lock of ours.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vmmkit/guest_memory.h>
#include <vmmkit/ioports.h>
#include <vmmkit/irq.h>
#include <vmmkit/log.h>
#include <vmmkit/x86.h>
#include <vmmkit/x86_pc.h>

#include "arch/x86/pc_priv.h"

/* Port 0x80: POST codes; Linux's io_delay writes it.  Dropped, quietly. */
#define PORT_POST 0x80u
#define PORT_PCI_ADDR 0xcf8u
#define PORT_PCI_DATA 0xcfcu
/* PCI Local Bus 3.0, 3.2.2.3.2: CONFIG_ADDRESS. */
#define PCI_CONF1_ENABLE 0x80000000u

/* GDT descriptors (Intel SDM vol. 3A, 3.4.5): flat 4 GiB, ring 0. */
#define GDT_CODE64 0x00af9a000000ffffull /* L=1: __BOOT_CS in long mode */
#define GDT_CODE32 0x00cf9a000000ffffull /* D=1: __BOOT_CS for the PVH entry */
#define GDT_DATA 0x00cf92000000ffffull   /* __BOOT_DS */
#define BOOT_CS 0x10u
#define BOOT_DS 0x18u

/* The guest asked for a reset through @by (said once: Linux may ask again while it stops). */
void pc_request_reset(x86_pc_t *pc, const char *by)
{
    const char *none = NULL;

    if (__atomic_compare_exchange_n(&pc->reset_by, &none, by, false, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED))
        LOG_INFO("%s: guest asked for a reset (%s)", vm_name(pc->vm), by);
    vm_request_stop(pc->vm, VM_STOP_RESET);
}

void pc_request_poweroff(x86_pc_t *pc, const char *by)
{
    LOG_INFO("%s: guest powered off (%s)", vm_name(pc->vm), by);
    vm_request_stop(pc->vm, VM_STOP_POWEROFF);
}

/* ---- the UART (COM1) ------------------------------------------------------------------ */

static void uart_tx(void *cookie, uint8_t byte)
{
    x86_pc_t *pc = cookie;

    chardev_write(pc->cfg.console, &byte, 1);
}

static void uart_set_irq(void *cookie, int level)
{
    x86_pc_t *pc = cookie;

    vm_irq_set_level(pc->vm, X86_PC_COM1_GSI, level);
}

static void uart_rx_ready(void *cookie)
{
    x86_pc_t *pc = cookie;

    chardev_rx_ready(pc->cfg.console);
}

/* Console input thread: host bytes into the receive FIFO. */
static size_t uart_receive(void *cookie, const uint8_t *buf, size_t len)
{
    x86_pc_t *pc = cookie;
    size_t took;

    pthread_mutex_lock(&pc->legacy_lock);
    took = uart_8250_receive(&pc->uart, buf, len);
    pthread_mutex_unlock(&pc->legacy_lock);
    return took;
}

/* An 8-bit ISA device answers a wider access byte by byte, lowest port first. */
static ioport_fault_result_t uart_in(vm_vcpu_t *vcpu, void *cookie, unsigned int port,
                                     unsigned int size, unsigned int *result)
{
    x86_pc_t *pc = cookie;
    unsigned int v = 0;

    pthread_mutex_lock(&pc->legacy_lock);
    for (unsigned int i = 0; i < size; i++) {
        uint8_t b;
        uart_8250_read(&pc->uart, port + i - X86_PC_COM1_PORT, &b);
        v |= (unsigned int)b << (8 * i);
    }
    pthread_mutex_unlock(&pc->legacy_lock);
    *result = v;
    return IO_FAULT_HANDLED;
}

static ioport_fault_result_t uart_out(vm_vcpu_t *vcpu, void *cookie, unsigned int port,
                                      unsigned int size, unsigned int value)
{
    x86_pc_t *pc = cookie;

    pthread_mutex_lock(&pc->legacy_lock);
    for (unsigned int i = 0; i < size; i++)
        uart_8250_write(&pc->uart, port + i - X86_PC_COM1_PORT, (uint8_t)(value >> (8 * i)));
    pthread_mutex_unlock(&pc->legacy_lock);
    return IO_FAULT_HANDLED;
}

/* ---- the i8042 (0x60, 0x64) ---------------------------------------------------------- */

static void kbc_set_irq(void *cookie, unsigned int irq, int level)
{
    x86_pc_t *pc = cookie;

    vm_irq_set_level(pc->vm, irq, level);
}

static void kbc_reset(void *cookie)
{
    pc_request_reset(cookie, "the i8042's reset line");
}

static ioport_fault_result_t kbc_in(vm_vcpu_t *vcpu, void *cookie, unsigned int port,
                                    unsigned int size, unsigned int *result)
{
    x86_pc_t *pc = cookie;
    uint8_t b = 0xff;

    pthread_mutex_lock(&pc->legacy_lock);
    i8042_read(&pc->kbc, port - I8042_PORT_BASE, &b);
    pthread_mutex_unlock(&pc->legacy_lock);
    *result = size == 1 ? b : (0xffffff00u | b);
    return IO_FAULT_HANDLED;
}

static ioport_fault_result_t kbc_out(vm_vcpu_t *vcpu, void *cookie, unsigned int port,
                                     unsigned int size, unsigned int value)
{
    x86_pc_t *pc = cookie;

    pthread_mutex_lock(&pc->legacy_lock);
    i8042_write(&pc->kbc, port - I8042_PORT_BASE, (uint8_t)value);
    pthread_mutex_unlock(&pc->legacy_lock);
    return IO_FAULT_HANDLED;
}

/* ---- PCI configuration mechanism #1 (0xcf8/0xcfc) and the reset register -------------- */

static ioport_fault_result_t pci_in(vm_vcpu_t *vcpu, void *cookie, unsigned int port,
                                    unsigned int size, unsigned int *result)
{
    x86_pc_t *pc = cookie;
    uint32_t addr = __atomic_load_n(&pc->pci_addr, __ATOMIC_RELAXED);

    if (port < PORT_PCI_DATA) {
        /* CONFIG_ADDRESS reads back as a dword only; 0xcf9 is the write-only reset register */
        *result = port == PORT_PCI_ADDR && size == 4 ? addr : 0xffffffffu;
        return IO_FAULT_HANDLED;
    }
    unsigned int off = port - PORT_PCI_DATA;
    if (!(addr & PCI_CONF1_ENABLE) || !pc->dev.pci || off + size > 4 || (off & (size - 1))) {
        *result = 0xffffffffu;
        return IO_FAULT_HANDLED;
    }
    *result = pci_host_config_read(pc->dev.pci, (addr >> 16) & 0xff, (addr >> 8) & 0xff,
                                   (addr & 0xfc) + off, size);
    return IO_FAULT_HANDLED;
}

static ioport_fault_result_t pci_out(vm_vcpu_t *vcpu, void *cookie, unsigned int port,
                                     unsigned int size, unsigned int value)
{
    x86_pc_t *pc = cookie;

    if (port == PORT_PCI_ADDR && size == 4) {
        __atomic_store_n(&pc->pci_addr, value & 0x80fffffcu, __ATOMIC_RELAXED);
        return IO_FAULT_HANDLED;
    }
    if (port == X86_PC_RESET_PORT && size == 1) {
        /* The ACPI reset register (FADT RESET_REG): the ACPI PM model's */
        pc_pm_write_reset(pc, value);
        return IO_FAULT_HANDLED;
    }
    if (port < PORT_PCI_DATA)
        return IO_FAULT_HANDLED; /* other widths of CONFIG_ADDRESS: not a configuration cycle */
    uint32_t addr = __atomic_load_n(&pc->pci_addr, __ATOMIC_RELAXED);
    unsigned int off = port - PORT_PCI_DATA;
    if (!(addr & PCI_CONF1_ENABLE) || !pc->dev.pci || off + size > 4 || (off & (size - 1)))
        return IO_FAULT_HANDLED;
    pci_host_config_write(pc->dev.pci, (addr >> 16) & 0xff, (addr >> 8) & 0xff, (addr & 0xfc) + off,
                          size, value);
    return IO_FAULT_HANDLED;
}

static ioport_fault_result_t post_in(vm_vcpu_t *vcpu, void *cookie, unsigned int port,
                                     unsigned int size, unsigned int *result)
{
    *result = 0xffffffffu;
    return IO_FAULT_HANDLED;
}

static ioport_fault_result_t post_out(vm_vcpu_t *vcpu, void *cookie, unsigned int port,
                                      unsigned int size, unsigned int value)
{
    return IO_FAULT_HANDLED;
}

static void legacy_reset_hook(vm_t *vm, void *cookie)
{
    x86_pc_t *pc = cookie;

    pthread_mutex_lock(&pc->legacy_lock);
    uart_8250_reset(&pc->uart);
    i8042_reset(&pc->kbc);
    pc_legacy_reset(pc);
    pthread_mutex_unlock(&pc->legacy_lock);
    __atomic_store_n(&pc->pci_addr, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&pc->reset_by, NULL, __ATOMIC_RELAXED);
}

static int add_ports(x86_pc_t *pc, uint16_t first, uint16_t last, ioport_in_fn in,
                     ioport_out_fn out, const char *what, char *err, size_t errlen)
{
    vm_ioport_interface_t iface = {.cookie = pc, .port_in = in, .port_out = out, .desc = what};
    int r = vm_io_port_add_handler(pc->vm, (vm_ioport_range_t){first, last}, iface);

    if (r < 0)
        return board_errorf(err, errlen, r, "cannot claim ports %#x-%#x for %s: %s", first, last,
                            what, strerror(-r));
    return 0;
}

static int create_legacy(x86_pc_t *pc, char *err, size_t errlen)
{
    int r;

    uart_8250_init(
        &pc->uart,
        &(uart_8250_ops_t){.tx = uart_tx, .set_irq = uart_set_irq, .rx_ready = uart_rx_ready}, pc);
    i8042_init(&pc->kbc, &(i8042_ops_t){.set_irq = kbc_set_irq, .reset = kbc_reset}, pc);
    r = add_ports(pc, X86_PC_COM1_PORT, X86_PC_COM1_PORT + UART_8250_NR_PORTS - 1, uart_in,
                  uart_out, "COM1", err, errlen);
    /* 0x61 stays with the in-kernel PIT (its speaker port) */
    if (r == 0)
        r = add_ports(pc, I8042_PORT_BASE, I8042_PORT_BASE, kbc_in, kbc_out, "the i8042", err,
                      errlen);
    if (r == 0)
        r = add_ports(pc, I8042_PORT_BASE + I8042_STATUS, I8042_PORT_BASE + I8042_STATUS, kbc_in,
                      kbc_out, "the i8042", err, errlen);
    if (r == 0)
        r = add_ports(pc, PORT_PCI_ADDR, PORT_PCI_DATA + 3, pci_in, pci_out,
                      "PCI configuration and the reset register", err, errlen);
    if (r == 0)
        r = add_ports(pc, PORT_POST, PORT_POST, post_in, post_out, "POST codes", err, errlen);
    if (r == 0)
        r = pc_legacy_create(pc, err, errlen);
    if (r == 0)
        r = vm_register_reset_hook(pc->vm, legacy_reset_hook, pc);
    return r;
}

/* ---- the VM ---------------------------------------------------------------------------- */

int x86_pc_create(const board_config_t *cfg, x86_pc_t **out, char *err, size_t errlen)
{
    x86_pc_t *pc = calloc(1, sizeof(*pc));
    int r;

    if (!pc)
        return board_errorf(err, errlen, -ENOMEM, "out of memory");
    pc->cfg = *cfg;
    pc->fb.fd = -1;
    pc->rtc_timer = -1;
    pthread_mutex_init(&pc->legacy_lock, NULL);
    r = pc_plan(cfg, &pc->plan, err, errlen);
    if (r < 0)
        goto fail;
    pc_layout(&pc->cfg, &pc->layout);
    r = board_create_vm(&pc->vm, "sim/x86_64", err, errlen);
    if (r < 0)
        goto fail;
    r = vm_memory_init(pc->vm);
    if (r == 0)
        r = vm_ram_add(pc->vm, 0, pc->plan.low_ram);
    if (r == 0 && pc->plan.high_ram)
        r = vm_ram_add(pc->vm, X86_PC_HIGH_RAM_BASE, pc->plan.high_ram);
    if (r < 0) {
        r = board_errorf(err, errlen, r, "cannot allocate %" PRIu64 " MiB of guest RAM: %s",
                         cfg->ram_size >> 20, strerror(-r));
        goto fail;
    }
    r = vm_x86_create_irqchip(pc->vm);
    if (r == 0)
        r = vm_x86_create_pit(pc->vm);
    if (r < 0) {
        r = board_errorf(err, errlen, r,
                         "cannot create the in-kernel PIC, IOAPIC, local APICs and PIT: %s",
                         strerror(-r));
        goto fail;
    }
    for (unsigned int i = 0; i < cfg->cpus; i++) {
        if (!vm_create_vcpu(pc->vm, i)) {
            r = board_errorf(err, errlen, -errno, "cannot create vCPU %u: %s", i, strerror(errno));
            goto fail;
        }
    }
    r = create_legacy(pc, err, errlen);
    if (r < 0)
        goto fail;
    r = pc_framebuffer_create(pc, err, errlen);
    if (r < 0)
        goto fail;
    r = board_devices_create(&pc->dev, pc->vm, &pc->cfg, &pc->layout, err, errlen);
    if (r < 0)
        goto fail;
    r = board_regions_create(&pc->dev, err, errlen);
    if (r < 0)
        goto fail;
    if (!cfg->virtio_console) {
        r = chardev_start(cfg->console, uart_receive, pc);
        if (r < 0) {
            r = board_errorf(err, errlen, r, "cannot start console input: %s", strerror(-r));
            goto fail;
        }
    }
    *out = pc;
    return 0;
fail:
    x86_pc_destroy(pc);
    return r;
}

/* ---- boot ------------------------------------------------------------------------------ */

/* The protected-mode kernel of a bzImage: the file after its setup sectors. */
static int load_bzimage(x86_pc_t *pc, char *err, size_t errlen)
{
    const pc_plan_t *p = &pc->plan;
    uint64_t size;
    void *dst = gpa_to_hva(pc->vm, p->layout.kernel_load_addr, p->bz.kernel_size);
    int fd = board_open_file("--kernel", pc->cfg.kernel, &size, err, errlen);
    int r;

    if (fd < 0)
        return fd;
    if (size != p->kernel_size) {
        close(fd);
        return board_errorf(err, errlen, -EINVAL,
                            "--kernel %s: changed size since start (%" PRIu64 " bytes, was %" PRIu64
                            ")",
                            pc->cfg.kernel, size, p->kernel_size);
    }
    r = dst ? board_pread_all(fd, dst, p->bz.kernel_size, (off_t)p->bz.kernel_offset) : -EFAULT;
    close(fd);
    if (r < 0)
        return board_errorf(err, errlen, r, "--kernel %s: cannot load: %s", pc->cfg.kernel,
                            r == -EIO ? "file ended early" : strerror(-r));
    return 0;
}

/* An ELF vmlinux: each PT_LOAD segment at its physical address, its BSS zeroed. */
static int load_pvh(x86_pc_t *pc, char *err, size_t errlen)
{
    const pc_plan_t *p = &pc->plan;
    uint64_t size;
    int fd = board_open_file("--kernel", pc->cfg.kernel, &size, err, errlen);
    int r = 0;

    if (fd < 0)
        return fd;
    if (size != p->kernel_size) {
        close(fd);
        return board_errorf(err, errlen, -EINVAL, "--kernel %s: changed size since start",
                            pc->cfg.kernel);
    }
    for (unsigned int i = 0; r == 0 && i < p->elf.nr_segments; i++) {
        const x86_pvh_segment_t *s = &p->elf.segments[i];
        uint8_t *dst = gpa_to_hva(pc->vm, s->paddr, s->memsz);
        if (!dst) {
            r = -EFAULT;
            break;
        }
        r = board_pread_all(fd, dst, s->filesz, (off_t)s->offset);
        memset(dst + s->filesz, 0, s->memsz - s->filesz);
    }
    close(fd);
    if (r < 0)
        return board_errorf(err, errlen, r, "--kernel %s: cannot load: %s", pc->cfg.kernel,
                            r == -EIO ? "file ended early" : strerror(-r));
    return 0;
}

/* The GDT at X86_BOOT_GDT_ADDR: null, null, __BOOT_CS, __BOOT_DS. */
static int write_gdt(x86_pc_t *pc, bool long_mode)
{
    uint64_t gdt[4] = {0, 0, long_mode ? GDT_CODE64 : GDT_CODE32, GDT_DATA};

    return vm_guest_write(pc->vm, X86_BOOT_GDT_ADDR, gdt, sizeof(gdt));
}

/* Segment state as the GDT entry @sel describes it (its hidden part, set directly). */
static vm_x86_segment_t flat_segment(uint16_t sel, bool code, bool long_mode)
{
    return (vm_x86_segment_t){
        .base = 0,
        .limit = 0xffffffff,
        .selector = sel,
        .type = code ? 0xb : 0x3, /* exec/read or read/write, accessed */
        .present = 1,
        .s = 1,
        .l = code && long_mode,
        .db = !(code && long_mode),
        .g = 1,
    };
}

static int set_boot_regs(x86_pc_t *pc)
{
    const x86_boot_layout_t *l = &pc->plan.layout;
    vm_vcpu_t *vcpu = vm_get_vcpu(pc->vm, 0);
    bool long_mode = !pc->plan.pvh;
    vm_x86_sregs_t sregs;
    vm_x86_regs_t regs;
    int r;

    r = write_gdt(pc, long_mode);
    if (r == 0 && long_mode) {
        /* boot.rst, 64-bit BOOT PROTOCOL: paging on, the loaded ranges identity-mapped */
        r = vm_x86_build_identity_page_tables(pc->vm, X86_BOOT_PAGE_TABLES_ADDR, X86_BOOT_4G);
        if (r == 0)
            r = vm_vcpu_x86_set_long_mode(vcpu, X86_BOOT_PAGE_TABLES_ADDR, l->entry,
                                          X86_BOOT_STACK_TOP);
    }
    if (r == 0)
        r = vm_vcpu_x86_get_sregs(vcpu, &sregs);
    if (r < 0)
        return r;
    sregs.cs = flat_segment(BOOT_CS, true, long_mode);
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = flat_segment(BOOT_DS, false, long_mode);
    sregs.gdt = (vm_x86_dtable_t){.base = X86_BOOT_GDT_ADDR, .limit = 4 * 8 - 1};
    sregs.idt = (vm_x86_dtable_t){.base = 0, .limit = 0};
    /* a busy 64-bit (or 32-bit) TSS, as VM entry wants; the kernel loads its own */
    sregs.tr = (vm_x86_segment_t){.limit = 0x67, .type = 0xb, .present = 1};
    if (!long_mode) {
        /* pvh.pandoc: 32-bit protected mode, paging off, flat segments */
        sregs.cr0 = 0x11; /* PE, ET */
        sregs.cr3 = 0;
        sregs.cr4 = 0;
        sregs.efer = 0;
    }
    r = vm_vcpu_x86_set_sregs(vcpu, &sregs);
    if (r < 0)
        return r;
    memset(&regs, 0, sizeof(regs));
    regs.rip = l->entry;
    regs.rflags = 0x2; /* interrupts off */
    if (long_mode) {
        regs.rsi = l->boot_params_addr;
        regs.rsp = X86_BOOT_STACK_TOP;
    } else {
        regs.rbx = l->boot_params_addr;
    }
    return vm_vcpu_x86_set_regs(vcpu, &regs);
}

/* The zero page (bzImage) or the start info (PVH), with the E820 map. */
static int write_boot_params(x86_pc_t *pc, uint64_t rsdp, char *err, size_t errlen)
{
    const pc_plan_t *p = &pc->plan;
    uint8_t page[4096];
    int r;

    if (p->pvh) {
        r = x86_pvh_start_info_build(page, sizeof(page), p->layout.boot_params_addr, &p->layout,
                                     p->e820, p->nr_e820, rsdp);
    } else {
        x86_framebuffer_t fb;
        x86_boot_params_opts_t opts = {.acpi_rsdp_addr = rsdp,
                                       .fb = pc_framebuffer_describe(pc, &fb)};
        r = x86_boot_params_build(page, p->setup, sizeof(p->setup), &p->bz, &p->layout, p->e820,
                                  p->nr_e820, &opts);
        if (r == 0 && opts.fb)
            pc_framebuffer_set_type((x86_boot_params_t *)page);
        if (r == 0)
            r = (int)sizeof(page);
    }
    if (r < 0)
        return board_errorf(err, errlen, -EINVAL, "cannot build the boot parameters: %s",
                            x86_boot_strerror(r));
    r = vm_guest_write(pc->vm, p->layout.boot_params_addr, page, (size_t)r);
    if (r == 0)
        r = vm_guest_write(pc->vm, p->layout.cmdline_addr, p->cmdline, p->layout.cmdline_size);
    if (r < 0)
        return board_errorf(err, errlen, r, "cannot write the boot parameters: %s", strerror(-r));
    return 0;
}

int x86_pc_boot(x86_pc_t *pc, char *err, size_t errlen)
{
    const x86_boot_layout_t *l = &pc->plan.layout;
    uint64_t rsdp = 0;
    int r;

    r = pc->plan.pvh ? load_pvh(pc, err, errlen) : load_bzimage(pc, err, errlen);
    if (r == 0 && pc->cfg.initrd)
        r = board_load_file(pc->vm, "--initrd", pc->cfg.initrd, l->initrd_addr,
                            pc->plan.initrd_size, err, errlen);
    if (r == 0)
        r = pc_tables_write(pc, &rsdp, err, errlen);
    if (r == 0)
        r = write_boot_params(pc, rsdp, err, errlen);
    if (r < 0)
        return r;
    r = set_boot_regs(pc);
    if (r < 0)
        return board_errorf(err, errlen, r, "cannot set the boot vCPU's registers: %s",
                            strerror(-r));
    LOG_INFO("%s kernel at %#" PRIx64 " (entry %#" PRIx64 "), initrd at %#" PRIx64 " (%" PRIu64
             " bytes), ACPI RSDP at %#" PRIx64,
             pc->plan.pvh ? "PVH" : "bzImage", l->kernel_load_addr, l->entry, l->initrd_addr,
             pc->plan.initrd_size, rsdp);
    return 0;
}

vm_t *x86_pc_vm(x86_pc_t *pc)
{
    return pc->vm;
}

unsigned int x86_pc_guest_errors(const x86_pc_t *pc, board_errors_t *out, unsigned int max)
{
    return board_devices_errors(&pc->dev, out, max);
}

void x86_pc_destroy(x86_pc_t *pc)
{
    if (!pc)
        return;
    /* No more console input into a device that is going away. */
    chardev_stop(pc->cfg.console);
    board_devices_destroy(&pc->dev);
    board_regions_destroy(&pc->dev);
    pc_framebuffer_destroy(pc);
    pc_legacy_destroy(pc);
    if (pc->vm)
        vm_destroy(pc->vm);
    pthread_mutex_destroy(&pc->legacy_lock);
    free(pc);
}

/* ---- board.h: the pc board is this build's board --------------------------------------- */

const char *board_name(void)
{
    return "x86 pc";
}

board_transport_t board_default_transport(void)
{
    return BOARD_TRANSPORT_PCI;
}

bool board_describes_with_acpi(void)
{
    return true;
}

int board_check(const board_config_t *cfg, char *err, size_t errlen)
{
    return x86_pc_check(cfg, err, errlen);
}

int board_create(const board_config_t *cfg, board_t **out, char *err, size_t errlen)
{
    return x86_pc_create(cfg, (x86_pc_t **)out, err, errlen);
}

int board_boot(board_t *board, char *err, size_t errlen)
{
    return x86_pc_boot((x86_pc_t *)board, err, errlen);
}

vm_t *board_vm(board_t *board)
{
    return x86_pc_vm((x86_pc_t *)board);
}

int board_dump_description(board_t *board, const char *path, char *err, size_t errlen)
{
    return x86_pc_dump_acpi((x86_pc_t *)board, path, err, errlen);
}

unsigned int board_guest_errors(const board_t *board, board_errors_t *out, unsigned int max)
{
    return x86_pc_guest_errors((const x86_pc_t *)board, out, max);
}

void board_destroy(board_t *board)
{
    x86_pc_destroy((x86_pc_t *)board);
}
