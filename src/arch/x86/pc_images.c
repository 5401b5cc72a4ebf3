/*
 * pc_images.c - the x86 pc board's memory map and boot images: checking
 * and planning (x86_pc.h).
 *
 * Pure file and layout work, no hypervisor: it builds on every host, so the
 * same checks (and their messages) run wherever vmmkit is started.  The
 * images are read again from their files at every boot (pc.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vmmkit/x86_boot.h>
#include <vmmkit/x86_pc.h>

#include "arch/x86/pc_priv.h"

#define ARM64_IMAGE_MAGIC_OFFSET 0x38
#define PC_FB_MIN_SIDE 64u
#define PC_FB_MAX_SIDE 4096u

void pc_layout(const board_config_t *cfg, board_layout_t *lay)
{
    uint64_t low = cfg->ram_size < X86_PC_LOW_RAM_MAX ? cfg->ram_size : X86_PC_LOW_RAM_MAX;

    *lay = (board_layout_t){
        .ram = {{"guest RAM", 0, low}},
        .nr_ram = 1,
        .ram_hint = "put it in the 32-bit hole above RAM",
        .windows =
            {
                {"the PCI ECAM", X86_PC_PCI_ECAM_BASE, X86_PC_PCI_ECAM_SIZE},
                {"the virtio-mmio windows", X86_PC_VIRTIO_MMIO_BASE,
                 X86_PC_VIRTIO_MMIO_MAX * X86_PC_VIRTIO_MMIO_STRIDE},
                {"the framebuffer window", X86_PC_FB_BASE, X86_PC_FB_MAX},
                {"the PCI memory window", X86_PC_PCI_MMIO_BASE, X86_PC_PCI_MMIO_SIZE},
                {"the IOAPIC, local APICs and VMX pages", X86_PC_IOAPIC_BASE,
                 X86_BOOT_4G - X86_PC_IOAPIC_BASE},
            },
        .nr_windows = 5,
        .free_base = X86_PC_FREE_BASE,
        .free_size = X86_PC_FREE_SIZE,
        .phys_limit = X86_PC_PHYS_LIMIT,
        .virtio_mmio_base = X86_PC_VIRTIO_MMIO_BASE,
        .virtio_mmio_stride = X86_PC_VIRTIO_MMIO_STRIDE,
        .virtio_mmio_irq = X86_PC_VIRTIO_MMIO_GSI,
        .virtio_mmio_max = X86_PC_VIRTIO_MMIO_MAX,
        .pci =
            {
                .ecam_base = X86_PC_PCI_ECAM_BASE,
                .nr_buses = 1,
                .mmio32_base = X86_PC_PCI_MMIO_BASE,
                .mmio32_size = X86_PC_PCI_MMIO_SIZE,
            },
        .pci_host_bridge = true,
        /* MMIO channel ends are refused on this board (pc_plan()): PCI only */
        .channel_event_base = X86_PC_FREE_BASE,
        .channel_event_stride = 0x1000,
        .channel_mem_base = 0x8000000000ull,
    };
    if (cfg->ram_size > low) {
        lay->ram[1] = (board_window_t){"guest RAM", X86_PC_HIGH_RAM_BASE, cfg->ram_size - low};
        lay->nr_ram = 2;
    }
    for (unsigned int pin = 0; pin < PCI_NUM_PINS; pin++)
        lay->pci.intx_irq[pin] = X86_PC_PCI_INTX_GSI + pin;
}

/* The kernel: a bzImage (its first bytes) or an ELF vmlinux with a PVH note (all of it). */
static int check_kernel(const char *path, pc_plan_t *plan, char *err, size_t errlen)
{
    uint8_t *hdr = plan->setup;
    size_t got;
    char why[256];
    int fd = board_open_file("--kernel", path, &plan->kernel_size, err, errlen);
    int r;

    if (fd < 0)
        return fd;
    got = plan->kernel_size < X86_BZIMAGE_PROBE_SIZE ? (size_t)plan->kernel_size
                                                     : X86_BZIMAGE_PROBE_SIZE;
    memset(hdr, 0, X86_BZIMAGE_PROBE_SIZE);
    r = board_pread_all(fd, hdr, got, 0);
    if (r < 0) {
        close(fd);
        return board_errorf(err, errlen, r, "--kernel %s: %s", path, strerror(-r));
    }
    if (got >= 4 && memcmp(hdr,
                           "\x7f"
                           "ELF",
                           4) == 0) {
        void *elf = mmap(NULL, (size_t)plan->kernel_size, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        if (elf == MAP_FAILED)
            return board_errorf(err, errlen, -errno, "--kernel %s: cannot map it: %s", path,
                                strerror(errno));
        r = x86_pvh_parse(elf, (size_t)plan->kernel_size, &plan->elf);
        if (r < 0)
            x86_pvh_describe(r, elf, (size_t)plan->kernel_size, why, sizeof(why));
        munmap(elf, (size_t)plan->kernel_size);
        if (r < 0)
            return board_errorf(err, errlen, -EINVAL, "--kernel %s: an ELF file, but %s", path,
                                why);
        plan->pvh = true;
        return 0;
    }
    close(fd);
    r = x86_bzimage_parse(hdr, got, plan->kernel_size, &plan->bz);
    if (r == 0)
        return 0;
    if (got >= ARM64_IMAGE_MAGIC_OFFSET + 4 &&
        memcmp(hdr + ARM64_IMAGE_MAGIC_OFFSET, "ARM\x64", 4) == 0)
        return board_errorf(err, errlen, -EINVAL,
                            "--kernel %s: an arm64 Image, not an x86 kernel (bzImage or ELF "
                            "vmlinux): boot it on an arm64 host, or in sim/arm64",
                            path);
    x86_bzimage_describe(r, hdr, got, plan->kernel_size, why, sizeof(why));
    return board_errorf(err, errlen, -EINVAL, "--kernel %s: %s", path, why);
}

/* The framebuffer's geometry: 32 bits a pixel, within the board's window. */
static int check_framebuffer(const board_config_t *cfg, char *err, size_t errlen)
{
    if (!cfg->fb_width && !cfg->fb_height)
        return 0;
    if (cfg->fb_width < PC_FB_MIN_SIDE || cfg->fb_width > PC_FB_MAX_SIDE ||
        cfg->fb_height < PC_FB_MIN_SIDE || cfg->fb_height > PC_FB_MAX_SIDE)
        return board_errorf(err, errlen, -EINVAL,
                            "--framebuffer %ux%u: each side must be %u to %u pixels", cfg->fb_width,
                            cfg->fb_height, PC_FB_MIN_SIDE, PC_FB_MAX_SIDE);
    if ((uint64_t)cfg->fb_width * cfg->fb_height * 4 > X86_PC_FB_MAX)
        return board_errorf(err, errlen, -EINVAL,
                            "--framebuffer %ux%u: %" PRIu64 " MiB at 32 bits a pixel, more than "
                            "the board's %llu MiB window",
                            cfg->fb_width, cfg->fb_height,
                            ((uint64_t)cfg->fb_width * cfg->fb_height * 4) >> 20,
                            X86_PC_FB_MAX >> 20);
    return 0;
}

/* The E820 map: RAM around the BIOS area; the ECAM reserved. */
static int build_e820(pc_plan_t *plan, char *err, size_t errlen)
{
    x86_e820_entry_t in[PC_E820_INPUTS];
    size_t n = 0;
    int r;

    in[n++] = (x86_e820_entry_t){0, plan->low_ram, X86_E820_RAM};
    if (plan->high_ram)
        in[n++] = (x86_e820_entry_t){X86_PC_HIGH_RAM_BASE, plan->high_ram, X86_E820_RAM};
    in[n++] = (x86_e820_entry_t){X86_BOOT_EBDA_ADDR, X86_BOOT_BIOS_END - X86_BOOT_EBDA_ADDR,
                                 X86_E820_RESERVED};
    /* Linux uses the MCFG's ECAM only where E820 (or ACPI) reserves it. */
    in[n++] = (x86_e820_entry_t){X86_PC_PCI_ECAM_BASE, X86_PC_PCI_ECAM_SIZE, X86_E820_RESERVED};
    /* the framebuffer is left a hole (not RAM): efifb claims it as its own */
    r = x86_e820_build(in, n, plan->e820, X86_E820_MAX_ENTRIES);
    if (r < 0) {
        char why[256];
        x86_e820_describe(r, in, n, X86_E820_MAX_ENTRIES, why, sizeof(why));
        return board_errorf(err, errlen, -EINVAL, "cannot build the E820 map: %s", why);
    }
    plan->nr_e820 = (unsigned int)r;
    return 0;
}

int pc_plan(const board_config_t *cfg, pc_plan_t *plan, char *err, size_t errlen)
{
    board_layout_t lay;
    size_t cmdline_len;
    int r;

    memset(plan, 0, sizeof(*plan));
    r = check_kernel(cfg->kernel, plan, err, errlen);
    if (r < 0)
        return r;
    if (cfg->dtb)
        return board_errorf(err, errlen, -EINVAL,
                            "--dtb %s: the x86 board describes itself with ACPI tables, not a "
                            "device tree",
                            cfg->dtb);
    if (cfg->gic_version)
        return board_errorf(err, errlen, -EINVAL,
                            "--gic %d: the x86 board has an IOAPIC and local APICs, not a GIC",
                            cfg->gic_version);
    if (cfg->cpus == 0 || cfg->cpus > X86_PC_MAX_CPUS)
        return board_errorf(err, errlen, -EINVAL, "--cpus %u: this board takes 1 to %u vCPUs",
                            cfg->cpus, X86_PC_MAX_CPUS);
    if (cfg->nr_channels && cfg->transport != BOARD_TRANSPORT_PCI)
        return board_errorf(err, errlen, -EINVAL,
                            "channel '%s': cross-VM channel ends on the x86 board are PCI "
                            "devices: use --transport pci",
                            cfg->channels[0].name ? cfg->channels[0].name : "?");
    r = check_framebuffer(cfg, err, errlen);
    if (r < 0)
        return r;
    pc_layout(cfg, &lay);
    r = board_check_common(cfg, &lay, &plan->initrd_size, err, errlen);
    if (r < 0)
        return r;

    plan->low_ram = lay.ram[0].size;
    plan->high_ram = lay.nr_ram > 1 ? lay.ram[1].size : 0;
    plan->cmdline = cfg->cmdline          ? cfg->cmdline
                    : cfg->virtio_console ? X86_PC_DEFAULT_CMDLINE_HVC
                                          : X86_PC_DEFAULT_CMDLINE;
    r = build_e820(plan, err, errlen);
    if (r < 0)
        return r;
    cmdline_len = strlen(plan->cmdline);
    r = plan->pvh ? x86_pvh_layout(&plan->elf, plan->low_ram, plan->high_ram, plan->initrd_size,
                                   cmdline_len, &plan->layout)
                  : x86_boot_layout(&plan->bz, plan->low_ram, plan->high_ram, plan->initrd_size,
                                    cmdline_len, &plan->layout);
    if (r < 0) {
        char why[256];
        x86_boot_layout_describe(r, &plan->layout, why, sizeof(why));
        if (r == -X86_BOOT_E_NO_ROOM || r == -X86_BOOT_E_INITRD_TOO_BIG)
            return board_errorf(err, errlen, -ENOSPC, "--mem %" PRIu64 "M is too small: %s",
                                cfg->ram_size >> 20, why);
        if (r == -X86_BOOT_E_CMDLINE_TOO_LONG)
            return board_errorf(err, errlen, -EINVAL, "--cmdline: %s", why);
        return board_errorf(err, errlen, -EINVAL, "cannot lay out the boot images: %s", why);
    }
    return 0;
}

int x86_pc_check(const board_config_t *cfg, char *err, size_t errlen)
{
    pc_plan_t plan;

    return pc_plan(cfg, &plan, err, errlen);
}
