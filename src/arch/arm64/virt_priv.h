/*
 * virt_priv.h - what the arm64 virt board's files share (not public).
 */
#ifndef VMMKIT_ARM64_VIRT_PRIV_H
#define VMMKIT_ARM64_VIRT_PRIV_H

#include <stdint.h>
#include <sys/types.h>

#include <pthread.h>

#include <vmmkit/arm64_fdt.h>
#include <vmmkit/arm64_image.h>
#include <vmmkit/arm64_psci.h>
#include <vmmkit/arm64_virt.h>
#include <vmmkit/pl011.h>

#include "board/board_priv.h"

/* booting.rst: the DTB must not exceed 2 MiB. */
#define ARM64_VIRT_DTB_MAX (2u << 20)
/* Room reserved for the generated DTB, and added to a user's DTB. */
#define ARM64_VIRT_DTB_GENERATED_MAX (64u << 10)
#define ARM64_VIRT_DTB_EXTRA (4u << 10)

/* Where everything goes in guest RAM, worked out from the files' sizes. */
typedef struct virt_plan {
    arm64_image_info_t image;
    uint64_t kernel_size; /* file size */
    uint64_t initrd_size;
    uint64_t dtb_room;
    arm64_boot_layout_t layout;
} virt_plan_t;

/* The board (arm64_virt.h); its files share it. */
struct arm64_virt {
    arm64_virt_config_t cfg; /* paths are the caller's, not copied */
    virt_plan_t plan;
    vm_t *vm;
    int gic_version;
    uint64_t its_base; /* 0: no ITS */

    pthread_mutex_t uart_lock;
    pl011_t uart;
    vm_memory_reservation_t *uart_res;

    /* firmware interface (virt_psci.c); NULL: the hypervisor's PSCI */
    arm64_smccc_t *smccc;
    arm64_psci_t *psci;

    /* where the shared devices go (virt_layout()), and the devices (board_priv.h) */
    board_layout_t layout;
    board_devices_t dev;
    arm64_fdt_virtio_mmio_t fdt_mmio[BOARD_VIRTIO_MMIO_MAX];
    arm64_fdt_pci_irq_t fdt_pci_irqs[128];
    arm64_fdt_crossvm_t fdt_channels[BOARD_MAX_CHANNELS];
};

/*
 * virt_psci.c: PSCI and SMCCC services in the VMM where the hypervisor
 * forwards the calls (after the vCPUs exist, before they run).  0 or
 * -errno + @err.
 */
int virt_psci_create(arm64_virt_t *b, char *err, size_t errlen);
void virt_psci_destroy(arm64_virt_t *b);

/* The board's memory map (arm64_virt.h) for the shared devices of @cfg. */
void virt_layout(const arm64_virt_config_t *cfg, board_layout_t *lay);

/* Check the files of @cfg and lay them out in RAM.  0 or -errno + @err. */
int virt_plan(const arm64_virt_config_t *cfg, virt_plan_t *plan, char *err, size_t errlen);

#endif
