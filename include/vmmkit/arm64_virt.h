/*
 * arm64_virt.h - an arm64 "virt" board: the VM layout and Linux boot.
 *
 * The board puts together what libvmm's Linux boot does: guest RAM, the
 * vCPUs, an in-kernel GIC (v3, or v2 where the host has no v3), a PL011
 * UART on a chardev, and the boot of an arm64 Image with an initrd and a
 * device tree generated from this layout with libfdt (or given by the user).
 *
 * Memory map (guest-physical), like QEMU's virt machine so guest kernels
 * and their users find nothing unusual:
 *   0x0800_0000  GIC distributor (64 KiB)
 *   0x0801_0000  GICv2 CPU interface (8 KiB)
 *   0x0808_0000  GICv3 ITS (128 KiB), when the host has one
 *   0x080a_0000  GICv3 redistributors (128 KiB per vCPU)
 *   0x0900_0000  PL011 UART (4 KiB), SPI 1 (INTID 33)
 *   0x0a00_0000  virtio-mmio transports (512 bytes each), SPI 16.. (INTID 48..)
 *   0x0c00_0000  free: a good place for the user's generic regions
 *                (arm64_virt_guard_t, arm64_virt_forward_t), up to 0x0fff_ffff,
 *                but for the top 64 KiB with MMIO channel ends:
 *   0x0fff_0000  cross-VM channel event pages (4 KiB each, MMIO transport only),
 *                SPI 48.. (INTID 80..); the channels' memory at 0x80_0000_0000
 *                (512 GiB) up, each naturally aligned, in the config's order
 *   0x1000_0000  PCI memory window (32-bit BARs), up to the ECAM
 *   0x3f00_0000  PCI ECAM (1 MiB: bus 0); INTA..D on SPI 3..6 (INTID 35..38)
 *   0x4000_0000  RAM
 *
 * Boot (Linux Documentation/arch/arm64/booting.rst): the Image is placed
 * at a 2 MiB aligned base plus its text_offset, the DTB and initrd above
 * it; vCPU 0 starts at the Image with x0 = the DTB address, MMU and caches
 * off; the others are off until the guest's PSCI CPU_ON.
 */
#ifndef VMMKIT_ARM64_VIRT_H
#define VMMKIT_ARM64_VIRT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vmmkit/arm64_smccc.h>
#include <vmmkit/chardev.h>
#include <vmmkit/mmio_guard.h>
#include <vmmkit/vm.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ARM64_VIRT_GIC_DIST_BASE 0x08000000ull
#define ARM64_VIRT_GIC_DIST_SIZE 0x00010000ull
#define ARM64_VIRT_GIC_CPU_BASE 0x08010000ull
#define ARM64_VIRT_GIC_CPU_SIZE 0x00002000ull
#define ARM64_VIRT_GIC_ITS_BASE 0x08080000ull
#define ARM64_VIRT_GIC_ITS_SIZE 0x00020000ull
#define ARM64_VIRT_GIC_REDIST_BASE 0x080a0000ull
#define ARM64_VIRT_GIC_REDIST_SIZE_PER_CPU 0x20000ull
#define ARM64_VIRT_GIC_REDIST_LIMIT 0x09000000ull /* redistributors end below the UART */
#define ARM64_VIRT_UART_BASE 0x09000000ull
#define ARM64_VIRT_UART_SIZE 0x00001000ull
#define ARM64_VIRT_UART_INTID 33u
#define ARM64_VIRT_RAM_BASE 0x40000000ull
#define ARM64_VIRT_VIRTIO_MMIO_BASE 0x0a000000ull
#define ARM64_VIRT_VIRTIO_MMIO_STRIDE 0x200ull
#define ARM64_VIRT_VIRTIO_MMIO_INTID 48u
#define ARM64_VIRT_VIRTIO_MMIO_MAX 32u
#define ARM64_VIRT_PCI_MMIO_BASE 0x10000000ull
#define ARM64_VIRT_PCI_MMIO_SIZE 0x2f000000ull
#define ARM64_VIRT_PCI_ECAM_BASE 0x3f000000ull
#define ARM64_VIRT_PCI_ECAM_SIZE 0x00100000ull /* bus 0 */
#define ARM64_VIRT_PCI_INTX_INTID 35u
#define ARM64_VIRT_GIC_NR_IRQS 128u
#define ARM64_VIRT_FREE_BASE 0x0c000000ull /* nothing of the board's up to the PCI window */
#define ARM64_VIRT_FREE_SIZE 0x04000000ull
#define ARM64_VIRT_CHANNEL_EVENT_BASE 0x0fff0000ull /* MMIO channel ends: event page i at */
#define ARM64_VIRT_CHANNEL_EVENT_STRIDE 0x1000ull   /*   base + i * stride, */
#define ARM64_VIRT_CHANNEL_INTID 80u                /*   SPI INTID 80 + i, */
#define ARM64_VIRT_CHANNEL_MEM_BASE 0x8000000000ull /*   memory from 512 GiB up */
#define ARM64_VIRT_IPA_LIMIT (1ull << 40)           /* the hypervisor's default IPA space */
#define ARM64_VIRT_DEFAULT_CMDLINE "console=ttyAMA0"
#define ARM64_VIRT_DEFAULT_CMDLINE_HVC "console=hvc0"

/* How virtio devices reach the guest. */
typedef enum arm64_virt_transport {
    ARM64_VIRT_TRANSPORT_MMIO = 0, /* virtio-mmio windows in the device tree (default) */
    ARM64_VIRT_TRANSPORT_PCI,      /* virtio-pci behind an ECAM host bridge */
} arm64_virt_transport_t;

#define ARM64_VIRT_MAX_DISKS 8u
#define ARM64_VIRT_MAX_NETS 8u

/* A virtio-blk disk on a raw image file (or block device). */
typedef struct arm64_virt_disk {
    const char *path;
    bool read_only;
    const char *serial; /* NULL or "": the device's default */
} arm64_virt_disk_t;

/*
 * A virtio-net NIC on a tap device, or on a connected SOCK_SEQPACKET socket
 * (a port of a virtual switch, net_backend.h: one frame per message, the
 * 12-byte header first, no offloads either way).
 */
typedef struct arm64_virt_net {
    const char *tap;    /* attached to, or made (when !@use_socket) */
    bool use_socket;    /* use @socket_fd instead of a tap */
    int socket_fd;      /* stays the caller's: the board uses a duplicate */
    const char *label;  /* for messages and logs when @use_socket ("switch lan"); NULL: "socket" */
    const uint8_t *mac; /* 6 bytes, or NULL: the device picks a local address */
} arm64_virt_net_t;

#define ARM64_VIRT_MAX_CHANNELS 8u
#define ARM64_VIRT_MAX_SHARED 8u

/*
 * One end of a cross-VM channel (crossvm.h): a device with an event page,
 * a doorbell to the peer and the channel's shared memory.  On the PCI
 * transport it is a PCI function (0x1af4:0xa111); on the MMIO transport a
 * window in the free area described in the device tree.
 */
typedef struct arm64_virt_channel {
    const char *name;  /* shown to the guest in the event page (at most 47 bytes) */
    int mem_fd;        /* the shared memory: an mmap-able descriptor (a memfd) */
    uint64_t mem_size; /* a power of two, at least 4 KiB */
    int notify_fd;     /* eventfd this end's doorbell adds 1 to (the peer's @wait_fd) */
    int wait_fd;       /* eventfd the peer's doorbell adds to: events received */
} arm64_virt_channel_t;

/*
 * A shared memory region mapped at a fixed guest-physical address (RAM
 * the guest reaches without exits, shared with whoever else maps @fd).
 * Like the generic regions it lies outside RAM, the board's windows and
 * the other regions.
 */
typedef struct arm64_virt_shared {
    const char *name; /* for messages */
    uint64_t base;    /* guest-physical, page aligned */
    uint64_t size;    /* page multiple */
    int fd;           /* mmap-able descriptor of at least @size bytes (a memfd) */
    bool read_only;   /* guest writes are refused (a bus error) */
} arm64_virt_shared_t;

#define ARM64_VIRT_MAX_GUARDS 8u
#define ARM64_VIRT_MAX_FORWARDS 8u
/* After a forwarding region's handler died, reconnect at most this often. */
#define ARM64_VIRT_FORWARD_RECONNECT_MS 1000u

/*
 * An access-controlled MMIO region (mmio_guard.h).  Like every generic
 * region it must lie outside RAM and the board's fixed windows (the memory
 * map above) and overlap no other region; the device tree does not describe
 * it (the guest reaches it through /dev/mem or a driver of its own).
 */
typedef struct arm64_virt_guard {
    uint64_t base;              /* guest-physical */
    uint64_t size;              /* 1..MMIO_GUARD_MAX_SIZE */
    mmio_guard_policy_t policy; /* what a write to a protected bit does */
    const char *contents;       /* file of exactly @size bytes, read at create; NULL: zeros */
    const char *writable;       /* file of exactly @size bytes of mask (bit set = the guest
                                   may change it); NULL: nothing is writable */
} arm64_virt_guard_t;

/*
 * A forwarding MMIO region (mmio_forward.h): accesses go to the handler
 * listening on @socket, connected at create; after the handler dies the
 * region reconnects to @socket, at most every ARM64_VIRT_FORWARD_RECONNECT_MS.
 */
typedef struct arm64_virt_forward {
    uint64_t base;           /* guest-physical */
    uint64_t size;           /* at least 1 */
    const char *socket;      /* the handler's AF_UNIX SOCK_SEQPACKET listening socket */
    unsigned int timeout_ms; /* per access; 0: MMIO_FORWARD_DEFAULT_TIMEOUT_MS */
} arm64_virt_forward_t;

typedef struct arm64_virt_config {
    const char *kernel;  /* path to an arm64 Image */
    const char *initrd;  /* path or NULL */
    const char *dtb;     /* path to a user DTB, or NULL to generate one */
    const char *cmdline; /* kernel command line; NULL: ARM64_VIRT_DEFAULT_CMDLINE, or the
                          * --dtb's own /chosen/bootargs */
    uint64_t ram_size;
    unsigned int cpus;
    int gic_version;                /* 0 = best available, 2 or 3 */
    chardev_t *console;             /* the console's host side */
    bool virtio_console;            /* the console is a virtio-console (hvc0), not the PL011 */
    bool no_rng;                    /* leave out virtio-rng */
    const arm64_virt_disk_t *disks; /* virtio-blk devices, vda first */
    unsigned int nr_disks;          /* up to ARM64_VIRT_MAX_DISKS */
    const arm64_virt_net_t *nets;   /* virtio-net devices, eth0 first */
    unsigned int nr_nets;           /* up to ARM64_VIRT_MAX_NETS */
    arm64_virt_transport_t transport;
    const arm64_virt_guard_t *guards;     /* access-controlled regions */
    unsigned int nr_guards;               /* up to ARM64_VIRT_MAX_GUARDS */
    const arm64_virt_forward_t *forwards; /* forwarding regions */
    unsigned int nr_forwards;             /* up to ARM64_VIRT_MAX_FORWARDS */
    const arm64_virt_channel_t *channels; /* cross-VM channel ends; descriptors stay the caller's */
    unsigned int nr_channels;             /* up to ARM64_VIRT_MAX_CHANNELS */
    const arm64_virt_shared_t *shared;    /* shared memory maps; descriptors stay the caller's */
    unsigned int nr_shared;               /* up to ARM64_VIRT_MAX_SHARED */
} arm64_virt_config_t;

typedef struct arm64_virt arm64_virt_t;

/*
 * The board's SiP service, function 0 (SMC32 0x82000000 / SMC64
 * 0xc2000000), where the VMM serves SMCCC calls: X0 = 0 (SUCCESS), X1 =
 * ARM64_VIRT_SIP_MAGIC ("vmmk"), X2 = the calling vCPU's index.
 */
#define ARM64_VIRT_SIP_MAGIC 0x766d6d6bu

/*
 * Check the files named in @cfg without touching the hypervisor: each is a
 * readable regular file, the kernel is a valid arm64 Image, a user DTB is a
 * valid FDT, and kernel + initrd + DTB fit in the RAM asked for; the generic
 * regions lie outside RAM, the board's windows and each other, their files
 * have the region's size and their sockets exist.  Returns 0
 * or a negative errno with a one-line message naming the problem in @err.
 */
int arm64_virt_check(const arm64_virt_config_t *cfg, char *err, size_t errlen);

/*
 * Create the VM and its devices.  The files named in @cfg are checked here
 * (readable, a valid Image, everything fits in RAM) so errors come before
 * anything runs.  On failure returns a negative errno and writes a one-line
 * message naming the problem into @err.
 */
int arm64_virt_create(const arm64_virt_config_t *cfg, arm64_virt_t **out, char *err, size_t errlen);

/*
 * Load the images and the DTB into guest RAM and set the boot vCPU's
 * registers.  Called for the first boot and again after every vm_reset()
 * (the images are read from their files again).  Returns 0 or a negative
 * errno with a message in @err.
 */
int arm64_virt_boot(arm64_virt_t *board, char *err, size_t errlen);

/*
 * Write the DTB the guest boots with (after arm64_virt_boot()) to @path.
 * Returns 0 or a negative errno with a message in @err.
 */
int arm64_virt_dump_dtb(arm64_virt_t *board, const char *path, char *err, size_t errlen);

/* The board's VM. */
vm_t *arm64_virt_vm(arm64_virt_t *board);

/* The GIC version in use (2 or 3). */
int arm64_virt_gic_version(const arm64_virt_t *board);

/* Destroy the VM and the devices (not the console chardev). */
void arm64_virt_destroy(arm64_virt_t *board);

/* Guest misbehaviour counted by one part of the board (for --stats). */
typedef struct arm64_virt_errors {
    const char *name; /* "virtio-blk0", "pci" or a vm_stat_name(); valid while the board lives */
    uint64_t count;   /* refused or ignored guest actions, every reason summed */
} arm64_virt_errors_t;

/*
 * The board's error counters: each virtio device (its own reasons, its
 * queues' and its transport's), the PCI host bridge, and the VM's accesses
 * that reached nothing (vm_stat_t).  Fills up to @max entries of @out, one
 * per part that counted anything, and returns how many.  Call after
 * vm_run() returned (the counters are read without the devices' locks).
 */
unsigned int arm64_virt_guest_errors(const arm64_virt_t *board, arm64_virt_errors_t *out,
                                     unsigned int max);

/*
 * The SMCCC registry of the VMM's firmware interface, for users to add SiP
 * or OEM services (arm64_smccc_register(), before arm64_virt_boot()); PSCI
 * 1.1 is registered in it.  NULL when the hypervisor cannot forward calls
 * and serves PSCI itself.
 */
arm64_smccc_t *arm64_virt_smccc(arm64_virt_t *board);

#ifdef __cplusplus
}
#endif
#endif
