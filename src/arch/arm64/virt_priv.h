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
#include <vmmkit/crossvm.h>
#include <vmmkit/guest_memory.h>
#include <vmmkit/iothread.h>
#include <vmmkit/mmio_forward.h>
#include <vmmkit/mmio_guard.h>
#include <vmmkit/pci.h>
#include <vmmkit/pl011.h>
#include <vmmkit/virtio_blk.h>
#include <vmmkit/virtio_console.h>
#include <vmmkit/virtio_mmio.h>
#include <vmmkit/virtio_net.h>
#include <vmmkit/virtio_pci.h>
#include <vmmkit/virtio_rng.h>

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

    /* virtio devices (virt_devices.c) */
    iothread_t *io;
    virtio_rng_t *rng;
    virtio_console_t *vcon;
    virtio_blk_t *blk[ARM64_VIRT_MAX_DISKS];
    virtio_net_t *net[ARM64_VIRT_MAX_NETS];
    net_backend_t *netbe[ARM64_VIRT_MAX_NETS];
    pci_host_t *pci;
    virtio_mmio_t *mmio[ARM64_VIRT_VIRTIO_MMIO_MAX];
    unsigned int nr_mmio;
    virtio_pci_t *vpci[ARM64_VIRT_VIRTIO_MMIO_MAX]; /* owned by the host bridge (@pci) */
    unsigned int nr_vpci;
    arm64_fdt_virtio_mmio_t fdt_mmio[ARM64_VIRT_VIRTIO_MMIO_MAX];
    arm64_fdt_pci_irq_t fdt_pci_irqs[128];
    size_t nr_fdt_pci_irqs;

    /* generic regions (virt_regions.c), in the order of the config */
    mmio_guard_t *guards[ARM64_VIRT_MAX_GUARDS];
    mmio_forward_t *forwards[ARM64_VIRT_MAX_FORWARDS];

    /* cross-VM channel ends and shared maps (virt_channels.c), in the config's order */
    crossvm_t *channels[ARM64_VIRT_MAX_CHANNELS];
    arm64_fdt_crossvm_t fdt_channels[ARM64_VIRT_MAX_CHANNELS];
    unsigned int nr_fdt_channels;
    vm_memory_reservation_t *shared_res[ARM64_VIRT_MAX_SHARED];
    void *shared_hva[ARM64_VIRT_MAX_SHARED];
};

int virt_errorf(char *err, size_t errlen, int ret, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int virt_open_file(const char *what, const char *path, uint64_t *size, char *err, size_t errlen);
int virt_pread_all(int fd, void *buf, size_t len, off_t off);

/*
 * virt_devices.c: create the virtio devices on their transport (after the
 * GIC), describe them in @fc, tear them down.  0 or -errno + @err.
 */
int virt_devices_create(arm64_virt_t *b, char *err, size_t errlen);
void virt_devices_fdt(arm64_virt_t *b, arm64_fdt_config_t *fc);
void virt_devices_destroy(arm64_virt_t *b);

/*
 * virt_psci.c: PSCI and SMCCC services in the VMM where the hypervisor
 * forwards the calls (after the vCPUs exist, before they run).  0 or
 * -errno + @err.
 */
int virt_psci_create(arm64_virt_t *b, char *err, size_t errlen);
void virt_psci_destroy(arm64_virt_t *b);

/*
 * virt_regions.c: the generic regions (--guard, --forward).  _check is pure
 * (addresses, files, sockets; called from virt_plan()); _create reserves
 * them after the board's devices; _destroy frees them before the VM goes,
 * while no vCPU runs.  0 or -errno + @err.
 */
int virt_regions_check(const arm64_virt_config_t *cfg, char *err, size_t errlen);
int virt_regions_create(arm64_virt_t *b, char *err, size_t errlen);
void virt_regions_destroy(arm64_virt_t *b);

/*
 * virt_channels.c: cross-VM channel ends and shared maps.  _check is pure
 * (names, sizes, descriptors; called from virt_regions_check(), which
 * checks the places); _place gives MMIO end @i's event page and memory;
 * _create makes them after the virtio devices (the I/O thread and the PCI
 * host exist); _fdt describes the MMIO ends; _destroy frees them after the
 * PCI host and before the I/O thread and the VM.  0 or -errno + @err.
 */
int virt_channels_check(const arm64_virt_config_t *cfg, char *err, size_t errlen);
void virt_channel_place(const arm64_virt_config_t *cfg, unsigned int i, uint64_t *event_base,
                        uint64_t *mem_base);
int virt_channels_create(arm64_virt_t *b, char *err, size_t errlen);
void virt_channels_fdt(arm64_virt_t *b, arm64_fdt_config_t *fc);
void virt_channels_destroy(arm64_virt_t *b);

/* Check the files of @cfg and lay them out in RAM.  0 or -errno + @err. */
int virt_plan(const arm64_virt_config_t *cfg, virt_plan_t *plan, char *err, size_t errlen);

#endif
