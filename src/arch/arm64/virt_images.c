/*
 * virt_images.c - the arm64 virt board's boot images: checking and loading.
 *
 * Pure file and layout work, no hypervisor: it builds on every host, so the
 * same checks (and their messages) run wherever vmmkit is started.  Images
 * are never kept in VMM memory: they are read from their files straight
 * into guest RAM at every boot, so a reboot boots the files as they are then.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libfdt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmmkit/arm64_image.h>
#include <vmmkit/arm64_virt.h>

#include "arch/arm64/virt_priv.h"

static int check_kernel(const char *path, arm64_image_info_t *info, uint64_t *size, char *err,
                        size_t errlen)
{
    uint8_t hdr[ARM64_IMAGE_HEADER_SIZE];
    int fd = board_open_file("--kernel", path, size, err, errlen);
    int r;

    if (fd < 0)
        return fd;
    if (*size < sizeof(hdr)) {
        close(fd);
        return board_errorf(err, errlen, -EINVAL,
                            "--kernel %s: truncated: %" PRIu64 " bytes, shorter than an arm64 "
                            "Image header (%zu bytes)",
                            path, *size, sizeof(hdr));
    }
    r = board_pread_all(fd, hdr, sizeof(hdr), 0);
    close(fd);
    if (r < 0)
        return board_errorf(err, errlen, r, "--kernel %s: %s", path, strerror(-r));
    /* The parser sees the header and the real file size. */
    r = arm64_image_parse_header(hdr, sizeof(hdr), *size, info);
    if (r < 0)
        return board_errorf(err, errlen, -EINVAL, "--kernel %s: %s", path, arm64_image_strerror(r));
    return 0;
}

static int check_dtb(const char *path, uint64_t *size, char *err, size_t errlen)
{
    struct fdt_header hdr;
    int fd = board_open_file("--dtb", path, size, err, errlen);
    int r;

    if (fd < 0)
        return fd;
    if (*size > ARM64_VIRT_DTB_MAX) {
        close(fd);
        return board_errorf(err, errlen, -EFBIG,
                            "--dtb %s: %" PRIu64 " bytes, more than the %u "
                            "the arm64 boot protocol allows",
                            path, *size, ARM64_VIRT_DTB_MAX);
    }
    r = *size >= sizeof(hdr) ? board_pread_all(fd, &hdr, sizeof(hdr), 0) : -EIO;
    close(fd);
    if (r < 0 || fdt_magic(&hdr) != FDT_MAGIC)
        return board_errorf(err, errlen, -EINVAL, "--dtb %s: not a device tree blob (bad magic)",
                            path);
    if (fdt_totalsize(&hdr) > *size)
        return board_errorf(err, errlen, -EINVAL,
                            "--dtb %s: truncated: %" PRIu64 " bytes, the header says %u", path,
                            *size, fdt_totalsize(&hdr));
    return 0;
}

void virt_layout(const arm64_virt_config_t *cfg, board_layout_t *lay)
{
    *lay = (board_layout_t){
        .ram = {{"guest RAM", ARM64_VIRT_RAM_BASE, cfg->ram_size}},
        .nr_ram = 1,
        .ram_hint = "put it below 0x40000000",
        .windows =
            {
                {"the GIC", ARM64_VIRT_GIC_DIST_BASE,
                 ARM64_VIRT_GIC_REDIST_LIMIT - ARM64_VIRT_GIC_DIST_BASE},
                {"the PL011 UART", ARM64_VIRT_UART_BASE, ARM64_VIRT_UART_SIZE},
                {"the virtio-mmio windows", ARM64_VIRT_VIRTIO_MMIO_BASE,
                 ARM64_VIRT_VIRTIO_MMIO_MAX * ARM64_VIRT_VIRTIO_MMIO_STRIDE},
                {"the PCI memory window", ARM64_VIRT_PCI_MMIO_BASE, ARM64_VIRT_PCI_MMIO_SIZE},
                {"the PCI ECAM", ARM64_VIRT_PCI_ECAM_BASE, ARM64_VIRT_PCI_ECAM_SIZE},
            },
        .nr_windows = 5,
        .free_base = ARM64_VIRT_FREE_BASE,
        .free_size = ARM64_VIRT_FREE_SIZE,
        .phys_limit = ARM64_VIRT_IPA_LIMIT,
        .virtio_mmio_base = ARM64_VIRT_VIRTIO_MMIO_BASE,
        .virtio_mmio_stride = ARM64_VIRT_VIRTIO_MMIO_STRIDE,
        .virtio_mmio_irq = ARM64_VIRT_VIRTIO_MMIO_INTID,
        .virtio_mmio_max = ARM64_VIRT_VIRTIO_MMIO_MAX,
        .pci =
            {
                .ecam_base = ARM64_VIRT_PCI_ECAM_BASE,
                .nr_buses = 1,
                .mmio32_base = ARM64_VIRT_PCI_MMIO_BASE,
                .mmio32_size = ARM64_VIRT_PCI_MMIO_SIZE,
            },
        .channel_event_base = ARM64_VIRT_CHANNEL_EVENT_BASE,
        .channel_event_stride = ARM64_VIRT_CHANNEL_EVENT_STRIDE,
        .channel_irq = ARM64_VIRT_CHANNEL_INTID,
        .channel_mem_base = ARM64_VIRT_CHANNEL_MEM_BASE,
    };
    for (unsigned int pin = 0; pin < PCI_NUM_PINS; pin++)
        lay->pci.intx_irq[pin] = ARM64_VIRT_PCI_INTX_INTID + pin;
}

int virt_plan(const arm64_virt_config_t *cfg, virt_plan_t *plan, char *err, size_t errlen)
{
    board_layout_t lay;
    uint64_t dtb_size = 0;
    int r;

    memset(plan, 0, sizeof(*plan));
    r = check_kernel(cfg->kernel, &plan->image, &plan->kernel_size, err, errlen);
    if (r < 0)
        return r;
    virt_layout(cfg, &lay);
    r = board_check_common(cfg, &lay, &plan->initrd_size, err, errlen);
    if (r < 0)
        return r;
    if (cfg->dtb) {
        r = check_dtb(cfg->dtb, &dtb_size, err, errlen);
        if (r < 0)
            return r;
        /* Room to add /chosen properties to the user's tree. */
        plan->dtb_room = dtb_size + ARM64_VIRT_DTB_EXTRA;
    } else {
        plan->dtb_room = ARM64_VIRT_DTB_GENERATED_MAX;
    }
    r = arm64_boot_layout(&plan->image, ARM64_VIRT_RAM_BASE, cfg->ram_size, plan->initrd_size,
                          plan->dtb_room, &plan->layout);
    if (r < 0) {
        char why[256];
        arm64_boot_layout_describe(r, &plan->layout, why, sizeof(why));
        if (r == -ARM64_IMAGE_E_NO_ROOM)
            return board_errorf(err, errlen, -ENOSPC, "--mem %" PRIu64 "M is too small: %s",
                                cfg->ram_size >> 20, why);
        return board_errorf(err, errlen, -EINVAL, "cannot lay out the boot images: %s", why);
    }
    return 0;
}

int arm64_virt_check(const arm64_virt_config_t *cfg, char *err, size_t errlen)
{
    virt_plan_t plan;

    return virt_plan(cfg, &plan, err, errlen);
}
