/*
 * crossvm.h - one end of a cross-VM channel: memory shared between two VMs
 * (each in a VMM process of its own) and a doorbell each way, seen by the
 * guest as a device.
 *
 * A channel is a shared memory descriptor (a memfd both VMMs map) and two
 * eventfds, one per direction, made by whoever starts the VMs (the
 * supervisor) and handed to both ends.  This end's doorbell adds 1 to
 * @notify_fd, the peer's @wait_fd; what the peer rings arrives on this end's
 * @wait_fd.  The eventfds belong to the supervisor, so a ring to a peer that
 * is down stays in the eventfd and is counted when the peer is back: it is
 * counted, not lost.
 *
 * The guest ABI is seL4 CAmkES's cross-VM connection (the same event page
 * layout, so its guest drivers work), with the name and version registers,
 * a counter that saturates, level interrupts and MSI-X added.
 *
 * The event page (4 KiB; every register little-endian):
 *
 *   offset      size  access  what
 *   0x00        4     W       doorbell: any write rings the peer; reads 0
 *   0x04        4     RW      events received: doorbell rings from the peer
 *                             since last cleared, saturating at 0xffffffff;
 *                             writing 0 clears it, other values are ignored
 *   0x08..0x37  48    R       the channel's name, NUL-padded
 *   0x38        4     R       ABI version (CROSSVM_VERSION)
 *   the rest          R       0
 *
 * Accesses of any width (1, 2, 4, 8) and alignment are harmless.  A write
 * is taken by the register its first byte falls in: one starting at
 * 0x00-0x03 rings, one starting at 0x04 clears when its value is 0,
 * anything else is ignored (counted as CROSSVM_STAT_IGNORED).  A read
 * returns the bytes it covers of the layout above.
 *
 * Interrupt: level, asserted while events received is not 0.  Clearing the
 * counter lowers it; the guest clears and then re-enables its interrupt
 * (with UIO: write 1 to /dev/uioN), and a ring that came in between asserts
 * it again.
 *
 * Two flavours of the same device:
 *
 * PCI (crossvm_attach_pci), vendor 0x1af4, device 0xa111, class 0x058000
 * (memory controller, "other": it is shared memory, and no class driver
 * claims it), revision = CROSSVM_VERSION, interrupt pin INTA#:
 *   BAR0  the event page, 4 KiB, 32-bit, non-prefetchable, trapped
 *   BAR1  the shared memory, 64-bit prefetchable (BAR registers 1 and 2),
 *         the channel's size; mapped: the guest reaches it without exits,
 *         wherever the guest moves it (pci_device_set_bar_memory)
 *   BAR3  MSI-X table (0x000) and PBA (0x800), one vector, 4 KiB, 32-bit.
 *         (CAmkES has the memory at BAR1 too; the 64-bit BAR takes register
 *         2, so MSI-X is in BAR3.)
 * INTx follows the level above while the command register's Memory Space
 * bit is set (the device is not "on" before a driver enables it, so an
 * unclaimed device never holds a shared line up), with the PCI 2.3
 * Interrupt Status bit and Interrupt Disable (pci_device_set_intx()), which
 * is what Linux's uio_pci_generic needs.  With MSI-X enabled, vector 0 is
 * sent each time new events arrive (pending while masked, PCI 3.0 6.8.2)
 * and INTx is off.
 *
 * MMIO (crossvm_attach_mmio): the event page at a 4 KiB window, the shared
 * memory mapped at a fixed guest-physical address, and the level interrupt
 * on an SPI (irq.h numbering); where is the board's choice, described to
 * the guest by the board (arm64: a "vmmkit,crossvm" device tree node).
 *
 * Fast path: where the backend has ioeventfds, the doorbell register is an
 * ioeventfd on @notify_fd itself (any width, at offset 0; moved with BAR0),
 * so a ring costs no exit to user space and no thread in this VMM.  Other
 * writes, and every write on a backend without ioeventfds, trap and ring
 * the same eventfd from the vCPU thread.
 *
 * Reset (pci_host_reset() for PCI, crossvm_reset() for MMIO): events
 * received is kept, since the rings arrived for this VM and a driver that
 * starts after the reset must still see them; the interrupt is driven
 * again from it (PCI: low until a driver enables the function again).  The
 * shared memory is the channel's, not the VM's: reset leaves it alone.
 *
 * The guest is hostile: no access of any offset, width or value does more
 * than what the table says; nothing asserts on a guest value.
 *
 * Threads and locking: one mutex per end guards its registers, counter and
 * interrupt state; it is also the PCI function's lock (pci.h), so config
 * space and BAR accesses (vCPU threads), the @wait_fd handler (the I/O
 * thread) and crossvm_poll() all serialise on it.  Doorbell writes to
 * @notify_fd happen with it held (a non-blocking write(2)).
 *
 * Lifetime: create, attach to one transport, run, then (after vm_run()
 * returned) for PCI destroy the host bridge first (it releases the
 * function), then crossvm_destroy() before the I/O thread goes.  The
 * descriptors stay the caller's: crossvm_destroy() does not close them.
 */
#ifndef VMMKIT_CROSSVM_H
#define VMMKIT_CROSSVM_H

#include <stdbool.h>
#include <stdint.h>

#include <vmmkit/iothread.h>
#include <vmmkit/pci.h>
#include <vmmkit/vm.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CROSSVM_VERSION 1u
#define CROSSVM_PCI_VENDOR_ID 0x1af4u
#define CROSSVM_PCI_DEVICE_ID 0xa111u
#define CROSSVM_PCI_CLASS 0x058000u /* memory controller, other */

/* The event page (see above). */
#define CROSSVM_EVENT_PAGE_SIZE 0x1000u
#define CROSSVM_REG_DOORBELL 0x00u
#define CROSSVM_REG_EVENTS 0x04u
#define CROSSVM_REG_NAME 0x08u
#define CROSSVM_NAME_SIZE 48u /* bytes at CROSSVM_REG_NAME */
#define CROSSVM_NAME_MAX 47u  /* longest name: one NUL at least */
#define CROSSVM_REG_VERSION 0x38u

/* PCI BARs. */
#define CROSSVM_BAR_EVENTS 0u
#define CROSSVM_BAR_MEM 1u
#define CROSSVM_BAR_MSIX 3u
#define CROSSVM_MSIX_TABLE 0x000u
#define CROSSVM_MSIX_PBA 0x800u

/* The shared memory: a power of two, at least this. */
#define CROSSVM_MEM_MIN 0x1000ull

typedef struct crossvm crossvm_t;

/* One end, as the caller has it.  Descriptors stay the caller's. */
typedef struct crossvm_config {
    const char *name;  /* 1..CROSSVM_NAME_MAX bytes, shown in the event page */
    int mem_fd;        /* the shared memory: mmap-able, at least @mem_size bytes */
    uint64_t mem_size; /* a power of two, at least CROSSVM_MEM_MIN */
    int notify_fd;     /* eventfd the doorbell adds 1 to (the peer's wait_fd) */
    int wait_fd;       /* eventfd the peer rings; made non-blocking here if it is not */
    iothread_t *io;    /* watches @wait_fd; NULL: the caller calls crossvm_poll() */
} crossvm_config_t;

/* Where the MMIO flavour goes (the board's choice). */
typedef struct crossvm_mmio_config {
    uint64_t event_base; /* the event page: 4 KiB aligned */
    uint64_t mem_base;   /* the shared memory: page aligned */
    uint32_t intid;      /* the level interrupt line (irq.h numbering) */
} crossvm_mmio_config_t;

/* What an end counts (crossvm_stat). */
typedef enum crossvm_stat {
    CROSSVM_STAT_RINGS,       /* doorbell writes that trapped and rang the peer from here */
    CROSSVM_STAT_RING_ERRORS, /* rings the eventfd refused (it was full or broken) */
    CROSSVM_STAT_EVENTS,      /* rings received from the peer */
    CROSSVM_STAT_SATURATED,   /* rings received while the counter was at its maximum */
    CROSSVM_STAT_CLEARS,      /* counter clears by the guest */
    CROSSVM_STAT_IGNORED,     /* writes to read-only or unknown offsets, non-zero counter writes */
    CROSSVM_STAT_WAIT_ERRORS, /* @wait_fd could not be read (then it is no longer watched) */
    CROSSVM_STAT_MSIX,        /* MSI-X messages sent or left pending */
    CROSSVM_STAT_COUNT
} crossvm_stat_t;

/*
 * Map the channel's memory and make an end for @vm.  Nothing reaches the
 * guest before an attach.  Returns 0 and the end in *@out, or -EINVAL (a
 * bad name, size or descriptor; the memory descriptor shorter than
 * @mem_size), -ENOMEM, or the -errno of mmap(2).
 */
int crossvm_create(vm_t *vm, const crossvm_config_t *cfg, crossvm_t **out);

/*
 * Put the end on PCI: a function in slot @slot of @host (the lowest free
 * one when negative), laid out as above.  From here the host owns the
 * function; pci_host_reset() resets the end with it.  Before vm_run().
 * Returns the slot, or -EBUSY (already attached) or pci_host_register()'s
 * errors (-ENOSPC: no slot, or no room in the windows for the BARs).
 */
int crossvm_attach_pci(crossvm_t *cv, pci_host_t *host, int slot);

/*
 * Put the end at fixed addresses: the event page (trapped) at
 * @m->event_base, the shared memory (mapped) at @m->mem_base, the
 * interrupt on line @m->intid.  Call crossvm_reset() from a vm_reset()
 * hook.  Before vm_run().  Returns 0, -EBUSY (already attached), -EINVAL
 * (misaligned), -EEXIST (a range is taken), or the -errno of the mapping.
 */
int crossvm_attach_mmio(crossvm_t *cv, const crossvm_mmio_config_t *m);

/* VM reset of an MMIO end (see "Reset" above).  PCI ends reset with their host. */
void crossvm_reset(crossvm_t *cv);

/*
 * Serve @wait_fd now: read what the peer rang, add it to the counter, raise
 * the interrupt.  What the I/O thread does when @wait_fd is readable; for a
 * caller without an I/O thread.  Takes the lock.
 */
void crossvm_poll(crossvm_t *cv);

/* Events received as the guest would read them now (takes the lock). */
uint32_t crossvm_events(crossvm_t *cv);

/* Whether the doorbell is bound to an ioeventfd now (takes the lock). */
bool crossvm_doorbell_bound(crossvm_t *cv);

/* How many times @s happened (thread-safe); 0 for a bad @s. */
uint64_t crossvm_stat(const crossvm_t *cv, crossvm_stat_t s);

/* Name of a counter ("rings", ...). */
const char *crossvm_stat_name(crossvm_stat_t s);

/* The channel's name, the shared memory as this VMM maps it, and its size. */
const char *crossvm_name(const crossvm_t *cv);
void *crossvm_memory(const crossvm_t *cv);
uint64_t crossvm_memory_size(const crossvm_t *cv);

/* The PCI function (NULL unless attached to PCI and its host still exists). */
pci_device_t *crossvm_pci_function(crossvm_t *cv);

/*
 * Stop watching @wait_fd, free the MMIO reservations (the VM must still
 * exist, no vCPU running), unmap the memory, free.  For PCI, destroy the
 * host first.  NULL is a no-op.
 */
void crossvm_destroy(crossvm_t *cv);

#ifdef __cplusplus
}
#endif
#endif
