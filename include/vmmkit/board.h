/*
 * board.h - a whole machine: what "vmmkit run" asks of a board, on any
 * architecture.
 *
 * A board puts together a VM (vm.h), its vCPUs and interrupt controller,
 * its console, the devices every vmmkit board carries (virtio-console,
 * virtio-blk disks, virtio-net NICs, virtio-rng, on virtio-mmio windows or
 * behind a PCI host bridge; cross-VM channel ends and shared memory maps;
 * the generic access-controlled and forwarding regions) and the boot of a
 * Linux kernel with an initrd.  The description of the machine the guest
 * reads (a device tree on arm64, ACPI tables on x86) is generated from the
 * board's real layout.
 *
 * Each architecture has one board: arm64's "virt" (arm64_virt.h) and
 * x86's "pc" (x86_pc.h).  This header holds the configuration they share
 * and the functions a program calls without knowing which one it runs;
 * the build's architecture picks the board (the hypervisor runs guests of the host's
 * own architecture).  board_check() is pure and works on any host, so
 * every input error reads the same everywhere.
 *
 * Order: board_check() (optional: board_create() checks too) ->
 * board_create() -> board_boot() -> vm_run(board_vm()) -> on a reset
 * vm_reset() and board_boot() again -> board_destroy().
 */
#ifndef VMMKIT_BOARD_H
#define VMMKIT_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vmmkit/chardev.h>
#include <vmmkit/mmio_guard.h>
#include <vmmkit/vm.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BOARD_MAX_DISKS 8u
#define BOARD_MAX_NETS 8u
#define BOARD_MAX_CHANNELS 8u
#define BOARD_MAX_SHARED 8u
#define BOARD_MAX_GUARDS 8u
#define BOARD_MAX_FORWARDS 8u
/* After a forwarding region's handler died, reconnect at most this often. */
#define BOARD_FORWARD_RECONNECT_MS 1000u

/* How virtio devices reach the guest. */
typedef enum board_transport {
    BOARD_TRANSPORT_MMIO = 0, /* virtio-mmio windows in the machine description (default) */
    BOARD_TRANSPORT_PCI,      /* virtio-pci behind an ECAM host bridge */
} board_transport_t;

/* A virtio-blk disk on a raw image file (or block device). */
typedef struct board_disk {
    const char *path;
    bool read_only;
    const char *serial; /* NULL or "": the device's default */
} board_disk_t;

/*
 * A virtio-net NIC on a tap device, or on a connected SOCK_SEQPACKET socket
 * (a port of a virtual switch, net_backend.h: one frame per message, the
 * 12-byte header first, no offloads either way).
 */
typedef struct board_net {
    const char *tap;    /* attached to, or made (when !@use_socket) */
    bool use_socket;    /* use @socket_fd instead of a tap */
    int socket_fd;      /* stays the caller's: the board uses a duplicate */
    const char *label;  /* for messages and logs when @use_socket ("switch lan"); NULL: "socket" */
    const uint8_t *mac; /* 6 bytes, or NULL: the device picks a local address */
} board_net_t;

/*
 * One end of a cross-VM channel (crossvm.h): a device with an event page,
 * a doorbell to the peer and the channel's shared memory.  On the PCI
 * transport it is a PCI function (0x1af4:0xa111); on the MMIO transport a
 * window at a place of the board's, in the machine description.
 * A descriptor of -1 is a placeholder (board_check() skips it, for a
 * supervisor that checks every VM before it makes what they share;
 * board_create() refuses it).
 */
typedef struct board_channel {
    const char *name;  /* shown to the guest in the event page (at most 47 bytes) */
    int mem_fd;        /* the shared memory: an mmap-able descriptor (a memfd) */
    uint64_t mem_size; /* a power of two, at least 4 KiB */
    int notify_fd;     /* eventfd this end's doorbell adds 1 to (the peer's @wait_fd) */
    int wait_fd;       /* eventfd the peer's doorbell adds to: events received */
} board_channel_t;

/*
 * A shared memory region mapped at a fixed guest-physical address (RAM
 * the guest reaches without exits, shared with whoever else maps @fd).
 * Like the generic regions it lies outside RAM, the board's windows and
 * the other regions.
 */
typedef struct board_shared {
    const char *name; /* for messages */
    uint64_t base;    /* guest-physical, page aligned */
    uint64_t size;    /* page multiple */
    int fd;           /* mmap-able descriptor of at least @size bytes (a memfd); -1 as above */
    bool read_only;   /* guest writes are refused (a bus error) */
} board_shared_t;

/*
 * An access-controlled MMIO region (mmio_guard.h).  Like every generic
 * region it must lie outside RAM and the board's fixed windows and overlap
 * no other region; the machine description does not mention it (the guest
 * reaches it through /dev/mem or a driver of its own).
 */
typedef struct board_guard {
    uint64_t base;              /* guest-physical */
    uint64_t size;              /* 1..MMIO_GUARD_MAX_SIZE */
    mmio_guard_policy_t policy; /* what a write to a protected bit does */
    const char *contents;       /* file of exactly @size bytes, read at create; NULL: zeros */
    const char *writable;       /* file of exactly @size bytes of mask (bit set = the guest
                                   may change it); NULL: nothing is writable */
} board_guard_t;

/*
 * A forwarding MMIO region (mmio_forward.h): accesses go to the handler
 * listening on @socket, connected at create; after the handler dies the
 * region reconnects to @socket, at most every BOARD_FORWARD_RECONNECT_MS.
 */
typedef struct board_forward {
    uint64_t base;           /* guest-physical */
    uint64_t size;           /* at least 1 */
    const char *socket;      /* the handler's AF_UNIX SOCK_SEQPACKET listening socket */
    unsigned int timeout_ms; /* per access; 0: MMIO_FORWARD_DEFAULT_TIMEOUT_MS */
} board_forward_t;

typedef struct board_config {
    const char *kernel;  /* arm64: an Image; x86: a bzImage, or an ELF vmlinux with a PVH note */
    const char *initrd;  /* path or NULL */
    const char *dtb;     /* arm64: a user DTB, or NULL to generate one; x86: must be NULL */
    const char *cmdline; /* kernel command line; NULL: the board's default console */
    uint64_t ram_size;
    unsigned int cpus;
    int gic_version;                 /* arm64: 0 = best available, 2 or 3; x86: must be 0 */
    chardev_t *console;              /* the console's host side */
    bool virtio_console;             /* the console is a virtio-console (hvc0), not the UART */
    bool no_rng;                     /* leave out virtio-rng */
    const board_disk_t *disks;       /* virtio-blk devices, vda first */
    unsigned int nr_disks;           /* up to BOARD_MAX_DISKS */
    const board_net_t *nets;         /* virtio-net devices, eth0 first */
    unsigned int nr_nets;            /* up to BOARD_MAX_NETS */
    board_transport_t transport;     /* of the virtio devices and the channel ends */
    const board_guard_t *guards;     /* access-controlled regions */
    unsigned int nr_guards;          /* up to BOARD_MAX_GUARDS */
    const board_forward_t *forwards; /* forwarding regions */
    unsigned int nr_forwards;        /* up to BOARD_MAX_FORWARDS */
    const board_channel_t *channels; /* cross-VM channel ends; descriptors stay the caller's */
    unsigned int nr_channels;        /* up to BOARD_MAX_CHANNELS */
    const board_shared_t *shared;    /* shared memory maps; descriptors stay the caller's */
    unsigned int nr_shared;          /* up to BOARD_MAX_SHARED */
    /* x86: a linear framebuffer of @fb_width x @fb_height, 32 bits a pixel (0: none), in the
     * file @fb_file (framebuffer.h: "vmmkit screenshot" reads it) or, when NULL, a memfd */
    unsigned int fb_width, fb_height;
    const char *fb_file;
} board_config_t;

/* Guest misbehaviour counted by one part of the board (for --stats). */
typedef struct board_errors {
    const char *name; /* "virtio-blk0", "pci" or a vm_stat_name(); valid while the board lives */
    uint64_t count;   /* refused or ignored guest actions, every reason summed */
} board_errors_t;

/* The board of the build's architecture (arm64: arm64_virt_t; x86: x86_pc_t). */
typedef struct board board_t;

/* The architecture's board name, "arm64 virt" or "x86 pc", for messages. */
const char *board_name(void);

/* Where virtio devices go when the user does not say: arm64 MMIO, x86 PCI. */
board_transport_t board_default_transport(void);

/* Whether the board describes itself with ACPI tables (x86) rather than a device tree. */
bool board_describes_with_acpi(void);

/*
 * Check the files and the places in @cfg without touching the hypervisor
 * (the kernel is a valid image for the board's architecture, everything
 * fits in RAM, regions lie in free places, files and sockets exist).
 * Returns 0 or a negative errno with a one-line message naming the
 * problem in @err.
 */
int board_check(const board_config_t *cfg, char *err, size_t errlen);

/*
 * Create the VM and its devices (the files are checked here too).  On
 * failure returns a negative errno and writes a one-line message naming
 * the problem into @err.  -ENOTSUP: this build's architecture has no board
 * that the hypervisor can run here (the host is not the guest's architecture).
 */
int board_create(const board_config_t *cfg, board_t **out, char *err, size_t errlen);

/*
 * Load the images and the machine description into guest RAM and set the
 * boot vCPU's registers.  Called for the first boot and again after every
 * vm_reset() (the images are read from their files again).  Returns 0 or
 * a negative errno with a message in @err.
 */
int board_boot(board_t *board, char *err, size_t errlen);

/* The board's VM. */
vm_t *board_vm(board_t *board);

/*
 * Write the machine description the guest boots with (after board_boot())
 * to @path: arm64 the DTB; x86 the ACPI tables, one file per table, in the
 * directory @path (made if absent).  Returns 0 or a negative errno with a
 * message in @err.
 */
int board_dump_description(board_t *board, const char *path, char *err, size_t errlen);

/*
 * The board's error counters: each virtio device (its own reasons, its
 * queues' and its transport's), the PCI host bridge, and the VM's accesses
 * that reached nothing (vm_stat_t).  Fills up to @max entries of @out, one
 * per part that counted anything, and returns how many.  Call after
 * vm_run() returned.
 */
unsigned int board_guest_errors(const board_t *board, board_errors_t *out, unsigned int max);

/* Destroy the VM and the devices (not the console chardev).  NULL is fine. */
void board_destroy(board_t *board);

#ifdef __cplusplus
}
#endif
#endif
