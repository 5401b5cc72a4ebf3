/*
 * pci.h - a PCI host bridge with an ECAM configuration window, and the
 * devices behind it.
 *
 * The host bridge is what the guest's "pci-host-ecam-generic" driver sees:
 * a memory-mapped configuration window (PCIe Base Spec 4.0, 7.2.2
 * "Enhanced Configuration Access Mechanism": 4 KiB of configuration space
 * per function, 1 MiB per bus), one or two memory windows the devices'
 * BARs live in (a 32-bit one below 4 GiB and/or a 64-bit one), four legacy
 * interrupt lines that the INTA#..INTD# pins of the devices are swizzled
 * onto, and MSI-X messages delivered with vm_irq_msi_devid() (the
 * requester ID, bus << 8 | devfn, is the ITS device ID).  Devices sit on
 * bus 0, one function (function 0) per slot.
 *
 * A device is a conventional PCI function with a type-0 header (PCI Local
 * Bus Spec 3.0, 6.1 and 6.2): identity, command and status registers
 * (memory decode, bus mastering, INTx disable and the interrupt status
 * bit), up to six 32- or 64-bit memory BARs, a capability list, and
 * optionally an MSI-X capability (3.0, 6.8.2) whose table and pending-bit
 * array live in one of its BARs.  The device's owner (a transport such as
 * virtio_pci.h) describes it with pci_device_create(), pci_device_add_bar(),
 * pci_device_add_capability() and pci_device_add_msix(), then registers it
 * in a slot with pci_host_register().  This module knows nothing of what
 * the device does: BAR accesses outside the MSI-X structures go to the
 * owner's bar_read/bar_write callbacks.
 *
 * BARs are placed by the VMM at registration (naturally aligned, from the
 * host's windows) but decode only while the command register's Memory
 * Space bit is set, as on real hardware; then each BAR is a trapped
 * reservation (guest_memory.h) whose fault callback serves the access, or,
 * for a memory-backed BAR (pci_device_set_bar_memory(): shared memory, a
 * frame buffer), a mapped reservation the guest reaches without exits.  The
 * guest may move a BAR (Linux reassigns them all on arm64): the BAR
 * register follows the sizing protocol (write all-ones, read back the size
 * mask, 3.0 6.2.5.1) and, whenever the command register or a BAR changes,
 * the reservation is moved to match.  A BAR the guest places outside the
 * host's windows, or over something else, does not decode (counted and
 * logged).  The owner's bar_map callback hears every move (to re-bind
 * ioeventfds).
 *
 * The guest is hostile: every configuration and BAR access of any offset,
 * width and value is harmless.  Configuration accesses must be 1, 2 or 4
 * bytes, naturally aligned (PCIe 7.2.2); others read all-ones and are
 * dropped and counted.  Absent functions and buses other than 0 read
 * all-ones.  Nothing asserts on a guest value.
 *
 * Threads and locking:
 *   - Every device has one lock, a mutex: the owner's (pci_device_create()
 *     @lock, e.g. &vdev->lock, so the transport and the device share it) or
 *     the device's own.  The host takes it around every configuration
 *     access (from the vCPU threads, through the ECAM window) and every BAR
 *     access, and calls the device's callbacks with it held.  The owner
 *     holds it when it calls pci_device_msix_notify(), pci_device_set_intx()
 *     and pci_device_bar_access().
 *   - BAR reservations are moved with the device lock held; the core's
 *     memory lock is always taken inside it, never around it.
 *   - The legacy interrupt lines are shared by several devices: the host
 *     keeps which devices assert each one under its own small lock, taken
 *     inside a device lock.
 *   - Devices are registered before vm_run() and the slot table does not
 *     change while the VM runs.
 *   - Destroy the host (pci_host_destroy) after vm_run() returned and
 *     before vm_destroy(): it frees its reservations in the VM.
 */
#ifndef VMMKIT_PCI_H
#define VMMKIT_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vmmkit/vm.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Sizes (PCIe 4.0 7.2.2; PCI 3.0 6.1, 6.2.5, 6.8.2). */
#define PCI_ECAM_BUS_SIZE (1u << 20) /* configuration space of one bus */
#define PCI_ECAM_FN_SIZE 0x1000u     /* of one function, extended space included */
#define PCI_CFG_SIZE 256u            /* conventional space; the rest reads 0 */
#define PCI_MAX_SLOTS 32u
#define PCI_NUM_BARS 6u
#define PCI_NUM_PINS 4u
#define PCI_BAR_MIN_SIZE 0x1000u   /* a page: every BAR is its own reservation */
#define PCI_MSIX_MAX_VECTORS 2048u /* Table Size is 11 bits */
#define PCI_MSIX_ENTRY_SIZE 16u

/* Type-0 header registers (PCI 3.0 6.1, Figure 6-1). */
#define PCI_CFG_VENDOR_ID 0x00
#define PCI_CFG_DEVICE_ID 0x02
#define PCI_CFG_COMMAND 0x04
#define PCI_CFG_STATUS 0x06
#define PCI_CFG_REVISION_ID 0x08
#define PCI_CFG_CLASS_PROG 0x09 /* prog-if; subclass at 0x0a, base class at 0x0b */
#define PCI_CFG_CACHE_LINE_SIZE 0x0c
#define PCI_CFG_LATENCY_TIMER 0x0d
#define PCI_CFG_HEADER_TYPE 0x0e
#define PCI_CFG_BIST 0x0f
#define PCI_CFG_BAR0 0x10 /* BAR n at 0x10 + 4n */
#define PCI_CFG_CARDBUS_CIS 0x28
#define PCI_CFG_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_CFG_SUBSYSTEM_ID 0x2e
#define PCI_CFG_ROM_ADDRESS 0x30
#define PCI_CFG_CAP_PTR 0x34
#define PCI_CFG_INTERRUPT_LINE 0x3c
#define PCI_CFG_INTERRUPT_PIN 0x3d
#define PCI_CFG_MIN_GNT 0x3e
#define PCI_CFG_MAX_LAT 0x3f
#define PCI_CFG_CAP_START 0x40 /* capabilities are laid out from here */

/* Command register bits (PCI 3.0 6.2.2). */
#define PCI_COMMAND_IO 0x0001u
#define PCI_COMMAND_MEMORY 0x0002u
#define PCI_COMMAND_MASTER 0x0004u
#define PCI_COMMAND_PARITY 0x0040u
#define PCI_COMMAND_SERR 0x0100u
#define PCI_COMMAND_INTX_DISABLE 0x0400u

/* Status register bits (PCI 3.0 6.2.3). */
#define PCI_STATUS_INTERRUPT 0x0008u
#define PCI_STATUS_CAP_LIST 0x0010u

/* Memory BAR low bits (PCI 3.0 6.2.5.1). */
#define PCI_BAR_MEM_TYPE_64 0x4u
#define PCI_BAR_MEM_PREFETCH 0x8u

/* Capability IDs (PCI Code and ID Assignment Spec, 2). */
#define PCI_CAP_ID_VNDR 0x09
#define PCI_CAP_ID_MSIX 0x11

/* MSI-X capability (PCI 3.0 6.8.2): offsets from the capability. */
#define PCI_MSIX_CTRL 0x02
#define PCI_MSIX_TABLE 0x04 /* offset | BIR (bits 2:0) */
#define PCI_MSIX_PBA 0x08
#define PCI_MSIX_CAP_SIZE 12u
#define PCI_MSIX_CTRL_QSIZE 0x07ffu /* Table Size - 1 */
#define PCI_MSIX_CTRL_MASKALL 0x4000u
#define PCI_MSIX_CTRL_ENABLE 0x8000u
/* MSI-X table entry (6.8.2.6 - 6.8.2.9). */
#define PCI_MSIX_ENTRY_ADDR_LO 0x0
#define PCI_MSIX_ENTRY_ADDR_HI 0x4
#define PCI_MSIX_ENTRY_DATA 0x8
#define PCI_MSIX_ENTRY_CTRL 0xc
#define PCI_MSIX_ENTRY_CTRL_MASK 0x1u

/* pci_device_add_bar() flags. */
#define PCI_BAR_F_64BIT (1u << 0)    /* a 64-bit BAR: takes two BAR registers */
#define PCI_BAR_F_PREFETCH (1u << 1) /* prefetchable */

typedef struct pci_host pci_host_t;
typedef struct pci_device pci_device_t;

/*
 * Everything the guest can do wrong at the host bridge, counted per host
 * (pci_host_error_count) and logged rate-limited.
 */
typedef enum pci_error {
    PCI_E_CONFIG_ACCESS, /* config access not 1/2/4 bytes or not naturally aligned */
    PCI_E_BAR_PLACEMENT, /* BAR placed outside the host windows or over something else */
    PCI_E_BAR_STALE,     /* BAR access through a mapping the guest has just moved */
    PCI_E_MSIX_ACCESS,   /* MSI-X table/PBA access not an aligned dword/qword, or a PBA write */
    PCI_E_MSIX_VECTOR,   /* the device signalled a vector beyond its table (device bug) */
    PCI_E_MSI_DELIVERY,  /* the backend refused to deliver an MSI */
    PCI_E_BAR_MAP,       /* the backend refused to map a memory-backed BAR where it decodes */
    PCI_E_COUNT
} pci_error_t;

/* The host bridge's layout, chosen by the board. */
typedef struct pci_host_config {
    uint64_t ecam_base;    /* 1 MiB aligned */
    unsigned int nr_buses; /* ECAM covers buses 0..nr_buses-1 (0 means 1); devices sit on bus 0 */
    uint64_t mmio32_base;  /* 32-bit non-prefetchable window, below 4 GiB; */
    uint64_t mmio32_size;  /*   size 0 = none */
    uint64_t mmio64_base;  /* 64-bit window; size 0 = none (at least one window) */
    uint64_t mmio64_size;
    uint32_t intx_irq[PCI_NUM_PINS]; /* lines (irq.h numbering) for swizzled INTA#..INTD# */
} pci_host_config_t;

/*
 * One legacy interrupt route, for the device tree's interrupt-map: pin
 * @pin (1..4 = INTA#..INTD#) of the device at @devfn on bus 0 drives line
 * @irq (irq.h numbering: on arm64 the SPI's GIC INTID, level-high).
 */
typedef struct pci_irq_route {
    uint32_t devfn; /* slot << 3 | function */
    uint32_t pin;
    uint32_t irq;
} pci_irq_route_t;

/* What the device presents in its header. */
typedef struct pci_device_info {
    uint16_t vendor_id;
    uint16_t device_id;
    uint16_t subsystem_vendor_id;
    uint16_t subsystem_id;
    uint8_t revision;
    uint32_t class_code; /* base class << 16 | subclass << 8 | prog-if */
    uint8_t intx_pin;    /* 0 = no legacy interrupt, 1..4 = INTA#..INTD# */
    const char *name;    /* for logs, e.g. "virtio-rng0" (copied) */
} pci_device_info_t;

/*
 * The owner's callbacks; every one is optional and all run with the
 * device's lock held (release excepted).
 */
typedef struct pci_device_ops {
    /*
     * A guest read of @len bytes (1, 2, 4 or 8) at @offset in BAR @bar,
     * outside the MSI-X table and PBA.  *@val is preset to 0; leave it for
     * an access the device does not take.
     */
    void (*bar_read)(pci_device_t *dev, unsigned int bar, uint64_t offset, unsigned int len,
                     uint64_t *val);
    /* A guest write of @len bytes of @val at @offset in BAR @bar. */
    void (*bar_write)(pci_device_t *dev, unsigned int bar, uint64_t offset, unsigned int len,
                      uint64_t val);
    /* BAR @bar now decodes at @addr (@mapped), or no longer decodes (!@mapped). */
    void (*bar_map)(pci_device_t *dev, unsigned int bar, bool mapped, uint64_t addr);
    /*
     * After the core answered a config read of @len bytes at @reg (in the
     * first 256 bytes) into *@val: the owner may change *@val, for
     * registers with side effects inside its capabilities.
     */
    void (*config_read)(pci_device_t *dev, uint32_t reg, unsigned int len, uint32_t *val);
    /* After the core applied a config write (writable bits only). */
    void (*config_write)(pci_device_t *dev, uint32_t reg, unsigned int len, uint32_t val);
    /* The device is back at power-on (pci_host_reset): reset the owner's state. */
    void (*reset)(pci_device_t *dev);
    /* pci_host_destroy / pci_device_destroy: free the owner's state (no lock held). */
    void (*release)(pci_device_t *dev);
} pci_device_ops_t;

/* What pci_device_msix_notify() did with a message. */
typedef enum pci_msix_result {
    PCI_MSIX_DELIVERED, /* sent with vm_irq_msi_devid() */
    PCI_MSIX_PENDING,   /* masked (vector or function mask) or bus mastering off: pending bit set */
    PCI_MSIX_DISABLED,  /* MSI-X is not enabled: the caller uses INTx */
    PCI_MSIX_NO_VECTOR, /* no such vector (counted as PCI_E_MSIX_VECTOR) */
    PCI_MSIX_FAILED,    /* the backend refused (counted as PCI_E_MSI_DELIVERY) */
} pci_msix_result_t;

/* --- the host bridge ------------------------------------------------------------------- */

/*
 * Create a host bridge in @vm with the layout @cfg, and reserve its ECAM
 * window (@cfg->nr_buses MiB at @cfg->ecam_base).
 * Returns 0 and the host in *@out, or -EINVAL (a window empty, misaligned,
 * wrapping, overlapping another, mmio32 above 4 GiB, no memory window),
 * -EEXIST (the ECAM window overlaps a reservation) or -ENOMEM.
 */
int pci_host_create(vm_t *vm, const pci_host_config_t *cfg, pci_host_t **out);

/*
 * Free every device (its BAR reservations, then its owner's release
 * callback), the ECAM window and the host.  Call after vm_run() returned
 * and before vm_destroy().  NULL is a no-op.
 */
void pci_host_destroy(pci_host_t *host);

/*
 * Return every device to its power-on state (VM reset): command register
 * 0 (so no BAR decodes), BARs back at the VMM's placement, the capability
 * registers as built, MSI-X disabled with every vector masked and nothing
 * pending, legacy lines low; then each owner's reset callback.  Call from
 * a vm_reset() hook.
 */
void pci_host_reset(pci_host_t *host);

/*
 * Put @dev in slot @slot (0..31) of bus 0, or the lowest free slot when
 * @slot is negative, and place its BARs in the host's windows (64-bit BARs
 * in the 64-bit window when there is one).  The host owns @dev from then
 * on (pci_host_destroy releases it).  Register before vm_run().
 * Returns the slot, or -EINVAL (bad @slot, NULL argument, @dev already
 * registered), -EBUSY (slot taken), -ENOSPC (no free slot, or the windows
 * are full).
 */
int pci_host_register(pci_host_t *host, pci_device_t *dev, int slot);

/* The layout the host was created with (for the device tree or ACPI). */
const pci_host_config_t *pci_host_get_config(const pci_host_t *host);

/* Size of the ECAM window: nr_buses MiB. */
uint64_t pci_host_ecam_size(const pci_host_t *host);

/*
 * The legacy interrupt map: for every occupied slot, its four pins with
 * the line each is swizzled to (line index (slot + pin - 1) mod 4, the
 * PCI-to-PCI Bridge Architecture Spec 1.2, 9.1 swizzle).  Writes at most
 * @max entries to @out (may be NULL with @max 0) and returns the number
 * of entries the full map has (4 per occupied slot, at most 128).
 */
size_t pci_host_irq_map(const pci_host_t *host, pci_irq_route_t *out, size_t max);

/* The line slot @slot's pin @pin (1..4) drives; 0 for a bad argument. */
uint32_t pci_host_intx_irq(const pci_host_t *host, unsigned int slot, unsigned int pin);

/*
 * A configuration read / write of @len bytes at register @reg of function
 * @devfn on bus @bus, as the ECAM window does it (an x86 0xcf8/0xcfc port
 * handler would call these too).  Takes the device's lock.  Reads of
 * absent functions, of other buses, and malformed accesses return
 * all-ones (of @len bytes, or 0xffffffff for a bad @len).
 */
uint32_t pci_host_config_read(pci_host_t *host, unsigned int bus, unsigned int devfn,
                              unsigned int reg, unsigned int len);
void pci_host_config_write(pci_host_t *host, unsigned int bus, unsigned int devfn, unsigned int reg,
                           unsigned int len, uint32_t val);

/* The device in slot @slot, or NULL. */
pci_device_t *pci_host_device(pci_host_t *host, unsigned int slot);

/* How many times @err happened on this host (thread-safe); 0 for a bad @err. */
uint64_t pci_host_error_count(const pci_host_t *host, pci_error_t err);

/* Name of a reason ("config-access", ...). */
const char *pci_error_name(pci_error_t err);

/* --- a device -------------------------------------------------------------------------- */

/*
 * Describe a new device: @info for its header, @ops (kept, not copied; may
 * be NULL) and @priv for its owner, @lock the mutex that serialises it (or
 * NULL for one of its own; see "Threads and locking").
 * Returns the device or NULL with errno = EINVAL (@info->intx_pin > 4) or
 * ENOMEM.
 */
pci_device_t *pci_device_create(const pci_device_info_t *info, const pci_device_ops_t *ops,
                                void *priv, pthread_mutex_t *lock);

/*
 * Free a device that was never registered (an owner's error path); calls
 * the release callback.  A registered device belongs to its host.
 */
void pci_device_destroy(pci_device_t *dev);

/*
 * Give @dev memory BAR @bar (0..5) of @size bytes (a power of two, at
 * least PCI_BAR_MIN_SIZE; a 32-bit BAR at most 2 GiB).  @flags:
 * PCI_BAR_F_64BIT (BAR @bar and @bar + 1 form one 64-bit BAR) and
 * PCI_BAR_F_PREFETCH.  Before registration only.
 * Returns 0 or -EINVAL (bad index, size or flags; the BAR or its upper
 * half already in use), -EBUSY (already registered).
 */
int pci_device_add_bar(pci_device_t *dev, unsigned int bar, uint64_t size, unsigned int flags);

/*
 * Back memory BAR @bar (added with pci_device_add_bar()) with host memory
 * @hva: page aligned, at least the BAR's size, and alive until the device
 * is released.  Wherever the BAR decodes it is then a mapped reservation
 * (guest_memory.h): the guest reads it, and unless @read_only writes it,
 * straight from @hva without exits and without the owner's bar callbacks.
 * With @read_only a guest write traps and goes to the owner's bar_write
 * callback (dropped without one).  The BAR follows the sizing protocol,
 * Memory Space and moves like any other, and bar_map tells the owner.
 * pci_device_bar_access() reaches @hva too.  Not for the BAR that holds
 * the MSI-X structures.  Before registration only.
 * Returns 0, -EINVAL (no such BAR, @hva NULL or not page aligned, the
 * MSI-X BAR) or -EBUSY (registered).
 */
int pci_device_set_bar_memory(pci_device_t *dev, unsigned int bar, void *hva, bool read_only);

/*
 * Append a capability with ID @id.  @body is what follows the two header
 * bytes (ID, next pointer): @len bytes (0..252), laid out at the next
 * dword boundary and linked at the end of the list.  @wmask (may be NULL:
 * all read-only) holds, byte for byte, the bits the guest may write; the
 * owner's config_write callback then sees the write.  Before registration
 * only.  Returns the capability's offset in config space (>= 0x40), or
 * -ENOSPC (no room below 256), -EINVAL, -EBUSY (registered).
 */
int pci_device_add_capability(pci_device_t *dev, uint8_t id, const void *body, size_t len,
                              const void *wmask);

/*
 * Add an MSI-X capability with @nr_vectors vectors (1..2048) whose table
 * sits at @table_offset and pending-bit array at @pba_offset of BAR @bar
 * (added before, not memory-backed; both offsets 8-byte aligned, the
 * structures inside the BAR and not overlapping each other).  The core serves the guest's
 * accesses to both; the owner's bar callbacks see the rest of the BAR.
 * Returns the capability's offset or -EINVAL, -ENOSPC, -EBUSY, -ENOMEM.
 */
int pci_device_add_msix(pci_device_t *dev, unsigned int nr_vectors, unsigned int bar,
                        uint32_t table_offset, uint32_t pba_offset);

/*
 * Signal MSI-X vector @vector (lock held).  Delivered at once when MSI-X is
 * enabled, the function and the vector unmasked and bus mastering on;
 * otherwise the vector's pending bit is set and the message goes out when
 * the guest unmasks it (PCI 3.0 6.8.2.9).
 */
pci_msix_result_t pci_device_msix_notify(pci_device_t *dev, unsigned int vector);

/* Whether the guest enabled MSI-X (lock held). */
bool pci_device_msix_enabled(const pci_device_t *dev);

/* Number of MSI-X vectors (0 without MSI-X). */
unsigned int pci_device_msix_vectors(const pci_device_t *dev);

/*
 * Set the device's legacy interrupt to @level (lock held).  The status
 * register's Interrupt Status bit follows @level; the pin is asserted only
 * while the command register's Interrupt Disable bit is clear and MSI-X is
 * disabled (PCI 3.0 6.2.2, 6.2.3, 6.8.2.3), and its line is the OR of
 * every device swizzled onto it.  No-op for a device without a pin.
 */
void pci_device_set_intx(pci_device_t *dev, int level);

/*
 * Perform a BAR access on the device's behalf (lock held) exactly as a
 * guest access at @offset of BAR @bar would be served: the MSI-X table and
 * PBA by the core, the rest by the owner's callbacks.  For config-space
 * windows onto BARs (virtio's PCI configuration access capability).
 * Returns 0, or -EINVAL (no such BAR, @offset + @len outside it, @len not
 * 1, 2, 4 or 8): nothing was done and a read gives 0.
 */
int pci_device_bar_access(pci_device_t *dev, unsigned int bar, uint64_t offset, unsigned int len,
                          bool is_write, uint64_t *val);

/*
 * Where BAR @bar decodes: true with the address in *@addr (may be NULL)
 * while it is mapped, false while not (lock held, or VM stopped).
 */
bool pci_device_bar_mapped(const pci_device_t *dev, unsigned int bar, uint64_t *addr);

/* Size of BAR @bar, 0 when it has none. */
uint64_t pci_device_bar_size(const pci_device_t *dev, unsigned int bar);

/*
 * The command register as the guest last wrote it (lock held): e.g. a
 * device that raises INTx only while its driver has it enabled checks
 * PCI_COMMAND_MEMORY from its config_write callback.
 */
uint16_t pci_device_command(const pci_device_t *dev);

/* The owner's cookie, the VM (NULL before registration), the lock, the name. */
void *pci_device_priv(const pci_device_t *dev);
vm_t *pci_device_vm(const pci_device_t *dev);
pthread_mutex_t *pci_device_lock(pci_device_t *dev);
const char *pci_device_name(const pci_device_t *dev);

/* Slot << 3 | function on bus 0, or -1 before registration. */
int pci_device_devfn(const pci_device_t *dev);

#ifdef __cplusplus
}
#endif
#endif
