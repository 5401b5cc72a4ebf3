/*
 * guest_memory.h - guest physical memory and reservations.
 *
 * The API follows libsel4vm's guest_memory.h.  A reservation claims a range
 * of guest-physical address space.  A reservation that is mapped
 * (vm_map_reservation) is backed by host memory and the guest reaches it
 * without exits (RAM, a shared memfd for a cross-VM channel, a device
 * window).  A reservation that is not mapped traps: every guest access to it
 * calls its fault callback, which emulates the access through the vCPU's
 * fault accessors below (this is how MMIO devices are built).  Overlapping
 * reservations are refused.
 *
 * Lookups from an address to its reservation go through an interval tree
 * under a reader-writer lock: the exit path takes it shared (uncontended, a
 * few tens of ns against a ~10 us exit).  Most reservations are made before
 * vm_run(), but a fault callback may reserve, map or free while the VM runs
 * (a guest moving a PCI BAR): callbacks run with the lock released.  A
 * reservation freed while vCPUs run may still see a callback already in
 * flight on another vCPU, so its cookie must outlive vm_run().
 *
 * All other code reaches guest RAM only through gpa_to_hva() and
 * vm_guest_read()/vm_guest_write(), which refuse any range not wholly
 * inside one mapped RAM region.
 */
#ifndef VMMKIT_GUEST_MEMORY_H
#define VMMKIT_GUEST_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <vmmkit/vm.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vm_memory_reservation vm_memory_reservation_t;

/* What a fault callback did with an access. */
typedef enum memory_fault_result {
    FAULT_HANDLED,   /* access emulated; the vCPU continues past it */
    FAULT_UNHANDLED, /* not this callback's: logged, reads return 0 */
    FAULT_RESTART,   /* re-execute the access (the mapping was changed) */
    FAULT_IGNORE,    /* drop the access silently: reads return 0 */
    FAULT_ERROR,     /* fatal: the VM stops with VM_STOP_ERROR */
    FAULT_BUS_ERROR, /* the device cannot complete the access: the guest gets a bus
                      * error (arm64: a synchronous external abort; where the
                      * architecture has none, reads return all ones and writes
                      * are dropped) */
} memory_fault_result_t;

/*
 * Fault callback, libsel4vm's shape.
 * @addr: guest-physical address accessed; @len: access width in bytes
 * (1, 2, 4 or 8).  Direction and data go through is_vcpu_read_fault(),
 * get_vcpu_fault_data() and set_vcpu_fault_data().  An access is passed on
 * only when it lies wholly inside the reservation.  Callbacks run on the
 * vCPU threads, possibly on several at once: a device serialises its own
 * state.  A read the callback does not answer returns 0.
 */
typedef memory_fault_result_t (*memory_fault_callback_fn)(vm_t *vm, vm_vcpu_t *vcpu, uintptr_t addr,
                                                          size_t len, void *cookie);

/*
 * How a mapped reservation is backed.  The iterator given to
 * vm_map_reservation() fills it once for the whole reservation (KVM maps a
 * reservation as one memory slot, where seL4 maps frame by frame).
 */
typedef struct vm_memory_backing {
    void *hva;     /* host mapping, at least the reservation's size, page aligned */
    bool readonly; /* guest writes trap to the fault callback instead */
} vm_memory_backing_t;

/* Fill @backing for reservation [@addr, @addr + @size).  Return 0 or -errno. */
typedef int (*memory_map_iterator_fn)(uintptr_t addr, size_t size, vm_memory_backing_t *backing,
                                      void *cookie);

/*
 * Initialise the VM's guest-memory state.  vm_create() already does it; the
 * call is kept for libsel4vm's order and is harmless.  Returns 0, or -EINVAL
 * for a NULL @vm.
 */
int vm_memory_init(vm_t *vm);

/*
 * Reserve [@addr, @addr + @size).  @fault_callback (may be NULL for a range
 * that will be mapped) is called for every trapped access.
 * Returns the reservation, or NULL with errno = EINVAL (empty or wrapping
 * range), EEXIST (overlaps an existing reservation) or ENOMEM.
 */
vm_memory_reservation_t *vm_reserve_memory_at(vm_t *vm, uintptr_t addr, size_t size,
                                              memory_fault_callback_fn fault_callback,
                                              void *cookie);

/*
 * Reserve @size bytes at an address chosen by the VMM, aligned to @align
 * (a power of two; 0 means the page size), from the VM's free device area:
 * the window set with vm_memory_set_anon_window(), or by default the lowest
 * free range above the highest RAM added so far.  The chosen address is
 * stored in @addr.  NULL with errno = EINVAL or ENOMEM (no room) on failure.
 */
vm_memory_reservation_t *vm_reserve_anon_memory(vm_t *vm, size_t size, size_t align,
                                                memory_fault_callback_fn fault_callback,
                                                void *cookie, uintptr_t *addr);

/*
 * Back a reservation with host memory so the guest reaches it without exits.
 * @map_iterator fills the backing; NULL allocates anonymous zeroed memory
 * (2 MiB aligned, transparent huge pages advised).  Returns 0 or -errno.
 */
int vm_map_reservation(vm_t *vm, vm_memory_reservation_t *r, memory_map_iterator_fn map_iterator,
                       void *cookie);

/*
 * Set the window [@base, @base + @size) that vm_reserve_anon_memory() picks
 * addresses from.  Returns 0 or -EINVAL (empty or wrapping window).
 */
int vm_memory_set_anon_window(vm_t *vm, uintptr_t base, size_t size);

/* Unmap (if mapped) and release a reservation.  Returns 0 or -errno. */
int vm_free_reserved_memory(vm_t *vm, vm_memory_reservation_t *r);

/* The guest-physical range of a reservation. */
void vm_get_reservation_memory_region(vm_memory_reservation_t *r, uintptr_t *addr, size_t *size);

/*
 * Convenience: reserve and map anonymous guest RAM at [@addr, @addr+@size),
 * registered as RAM so gpa_to_hva() reaches it.  Returns 0 or -errno.
 */
int vm_ram_add(vm_t *vm, uintptr_t addr, size_t size);

/* Total bytes of guest RAM registered with vm_ram_add(). */
size_t vm_ram_size(const vm_t *vm);

/*
 * Host pointer to guest-physical [@gpa, @gpa + @len), or NULL when any byte
 * of it is outside guest RAM (or the range wraps).  The only sanctioned way
 * to reach guest memory.  "Guest RAM" here is any writable mapped
 * reservation (vm_ram_add() RAM, a shared region, a device window), and the
 * range must lie wholly inside one of them; read-only mappings (a ROM) are
 * refused so a guest-programmed DMA cannot write them.
 */
void *gpa_to_hva(vm_t *vm, uint64_t gpa, size_t len);

/* Copy to/from guest RAM; -EFAULT when the range is not wholly RAM. */
int vm_guest_write(vm_t *vm, uint64_t gpa, const void *src, size_t len);
int vm_guest_read(vm_t *vm, uint64_t gpa, void *dst, size_t len);

/*
 * Fault accessors, valid inside a fault callback (outside one they return
 * false / 0 and set nothing).  The data is the low get_vcpu_fault_size()
 * bytes, zero-extended.
 */
bool is_vcpu_read_fault(vm_vcpu_t *vcpu);
uint64_t get_vcpu_fault_data(vm_vcpu_t *vcpu);            /* value written by the guest */
void set_vcpu_fault_data(vm_vcpu_t *vcpu, uint64_t data); /* value the guest reads */
uintptr_t get_vcpu_fault_address(vm_vcpu_t *vcpu);
size_t get_vcpu_fault_size(vm_vcpu_t *vcpu);

#ifdef __cplusplus
}
#endif
#endif
