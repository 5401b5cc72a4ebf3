/*
 * board_priv.h - what every board shares: the devices of board.h's
 * configuration, placed where the architecture's layout says.
 *
 * A board (src/arch/arm64/virt*.c, src/arch/x86/pc*.c) fills a
 * board_layout_t with its memory map (RAM, its own fixed windows, where
 * virtio-mmio windows, the PCI host bridge and MMIO channel ends go, and
 * which interrupt lines they use), then:
 *   board_check_common()   files, counts, regions and channel places (pure)
 *   board_devices_create() after the VM, its vCPUs and interrupt controller:
 *                          the I/O thread, virtio devices on their
 *                          transport, channel ends, shared maps
 *   board_regions_create() the --guard/--forward regions, after the devices
 *   board_devices_destroy(), board_regions_destroy() in that order, before
 *                          the VM goes.
 * What the guest must be told (virtio-mmio windows, MMIO channel ends, the
 * PCI host bridge's interrupt routing) is left in board_devices_t for the
 * board's machine description (FDT or ACPI).
 *
 * Locking: none here; each device has its own (vdev->lock).
 */
#ifndef VMMKIT_BOARD_PRIV_H
#define VMMKIT_BOARD_PRIV_H

#include <stdint.h>
#include <sys/types.h>

#include <vmmkit/board.h>
#include <vmmkit/crossvm.h>
#include <vmmkit/guest_memory.h>
#include <vmmkit/iothread.h>
#include <vmmkit/mmio_forward.h>
#include <vmmkit/mmio_guard.h>
#include <vmmkit/net_backend.h>
#include <vmmkit/pci.h>
#include <vmmkit/virtio_blk.h>
#include <vmmkit/virtio_console.h>
#include <vmmkit/virtio_mmio.h>
#include <vmmkit/virtio_net.h>
#include <vmmkit/virtio_pci.h>
#include <vmmkit/virtio_rng.h>

#define BOARD_VIRTIO_MMIO_MAX 32u
#define BOARD_MAX_WINDOWS 16u

/* A named guest-physical range. */
typedef struct board_window {
    const char *name; /* "the PCI ECAM", for messages */
    uint64_t base;
    uint64_t size;
} board_window_t;

/* Where an architecture's board puts the shared devices. */
typedef struct board_layout {
    board_window_t ram[2]; /* guest RAM (x86: below and above the 32-bit hole) */
    unsigned int nr_ram;
    const char *ram_hint; /* how to move a region out of RAM, e.g. "put it below 0x40000000" */
    board_window_t windows[BOARD_MAX_WINDOWS]; /* the board's fixed windows */
    unsigned int nr_windows;
    uint64_t free_base, free_size; /* a free range to suggest for the user's regions */
    uint64_t phys_limit;           /* guest-physical addresses end below this */

    /* virtio-mmio window i: base + i * stride, interrupt line irq + i */
    uint64_t virtio_mmio_base, virtio_mmio_stride;
    uint32_t virtio_mmio_irq;
    unsigned int virtio_mmio_max;

    /* PCI (BOARD_TRANSPORT_PCI); @pci_host_bridge: a host bridge function at
     * 00:00.0 (x86 guests look for one to trust configuration mechanism #1) */
    pci_host_config_t pci;
    bool pci_host_bridge;

    /* MMIO channel end i: event page at event_base + i * event_stride,
     * line irq + i; the channels' memory from mem_base up, each naturally
     * aligned, in the config's order */
    uint64_t channel_event_base, channel_event_stride;
    uint32_t channel_irq;
    uint64_t channel_mem_base;
} board_layout_t;

/* A virtio-mmio window for the machine description. */
typedef struct board_mmio_desc {
    uint64_t base, size;
    uint32_t irq;
} board_mmio_desc_t;

/* An MMIO channel end for the machine description. */
typedef struct board_channel_desc {
    const char *name;
    uint64_t event_base, event_size;
    uint64_t mem_base, mem_size;
    uint32_t irq;
} board_channel_desc_t;

/* The devices of a board_config_t, as made. */
typedef struct board_devices {
    vm_t *vm;
    const board_config_t *cfg;    /* the board's copy */
    const board_layout_t *layout; /* the board's */

    iothread_t *io;
    virtio_rng_t *rng;
    virtio_console_t *vcon;
    virtio_blk_t *blk[BOARD_MAX_DISKS];
    virtio_net_t *net[BOARD_MAX_NETS];
    net_backend_t *netbe[BOARD_MAX_NETS];
    pci_host_t *pci;
    virtio_mmio_t *mmio[BOARD_VIRTIO_MMIO_MAX];
    board_mmio_desc_t mmio_desc[BOARD_VIRTIO_MMIO_MAX];
    unsigned int nr_mmio;
    virtio_pci_t *vpci[BOARD_VIRTIO_MMIO_MAX]; /* owned by the host bridge (@pci) */
    unsigned int nr_vpci;

    /* generic regions, in the order of the config */
    mmio_guard_t *guards[BOARD_MAX_GUARDS];
    mmio_forward_t *forwards[BOARD_MAX_FORWARDS];

    /* cross-VM channel ends and shared maps, in the config's order */
    crossvm_t *channels[BOARD_MAX_CHANNELS];
    board_channel_desc_t channel_desc[BOARD_MAX_CHANNELS]; /* MMIO ends */
    unsigned int nr_channel_desc;
    vm_memory_reservation_t *shared_res[BOARD_MAX_SHARED];
    void *shared_hva[BOARD_MAX_SHARED];
} board_devices_t;

/* common.c */
int board_errorf(char *err, size_t errlen, int ret, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Open @path for reading as a regular file; its size in *@size.  fd or -errno + @err. */
int board_open_file(const char *what, const char *path, uint64_t *size, char *err, size_t errlen);
/* Read exactly @len bytes at @off; -EIO (short) or -errno. */
int board_pread_all(int fd, void *buf, size_t len, off_t off);
/* Read the whole file @path, whose size must still be @size, into guest RAM at @gpa. */
int board_load_file(vm_t *vm, const char *what, const char *path, uint64_t gpa, uint64_t size,
                    char *err, size_t errlen);
/*
 * What every board checks in @cfg: the initrd (*@initrd_size, 0 for none),
 * the disks, the NIC count, the channels, the shared maps and the generic
 * regions in @lay's free places.  0 or -errno + @err.
 */
int board_check_common(const board_config_t *cfg, const board_layout_t *lay, uint64_t *initrd_size,
                       char *err, size_t errlen);
/* /dev/kvm's errors as one line each ("not found: ... run vmmkit in @sim"). */
int board_create_vm(vm_t **vm, const char *sim, char *err, size_t errlen);

/* devices.c */
int board_devices_create(board_devices_t *d, vm_t *vm, const board_config_t *cfg,
                         const board_layout_t *lay, char *err, size_t errlen);
void board_devices_destroy(board_devices_t *d);
unsigned int board_devices_errors(const board_devices_t *d, board_errors_t *out, unsigned int max);

/* channels.c (called from board_check_common() and board_devices_create()) */
int board_channels_check(const board_config_t *cfg, const board_layout_t *lay, char *err,
                         size_t errlen);
void board_channel_place(const board_config_t *cfg, const board_layout_t *lay, unsigned int i,
                         uint64_t *event_base, uint64_t *mem_base);
int board_channels_create(board_devices_t *d, char *err, size_t errlen);
void board_channels_destroy(board_devices_t *d);

/* regions.c */
int board_regions_check(const board_config_t *cfg, const board_layout_t *lay, char *err,
                        size_t errlen);
int board_regions_create(board_devices_t *d, char *err, size_t errlen);
void board_regions_destroy(board_devices_t *d);

#endif
