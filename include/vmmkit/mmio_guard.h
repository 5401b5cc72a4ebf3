/*
 * mmio_guard.h - an access-controlled MMIO region: a block of bytes the guest
 * may read freely and write only where a mask allows.
 *
 * This is libsel4vmmplatsupport's Arm "access-controlled device"
 * (ac_device.h), made independent of the architecture and the hypervisor.
 * The guard claims [base, base + size) as a trapping reservation
 * (guest_memory.h): nothing is mapped, so every guest access exits and is
 * answered here.  The region holds a host buffer, its contents, which the
 * creator fills (from bytes or a file it read) to present a block of device
 * registers, a calibration table, a ROM-like area:
 *
 *   - A read of any width (1..8 bytes) at any offset returns the contents,
 *     little-endian, whatever the alignment.
 *   - A write is checked against the writable mask, one bit per bit of the
 *     contents (1 = the guest may change it; a per-byte mask is one whose
 *     bytes are 0x00 or 0xff).  The write violates the mask when it would
 *     change a protected bit: ((value ^ current) & ~mask) != 0.  Writing a
 *     protected bit with the value it already holds is no violation, so a
 *     driver's read-modify-write of a register stays quiet.  The policy
 *     decides what a violation does:
 *       MMIO_GUARD_REPORT           the write lands whole; it is counted and
 *                                   logged (rate-limited);
 *       MMIO_GUARD_MASK             only writable bits change, silently;
 *       MMIO_GUARD_REPORT_AND_MASK  only writable bits change; counted and
 *                                   logged.
 *   - Optionally every guest write is then passed to a host hook with the
 *     old, requested and stored values, so a user can attach a real action
 *     (gate a host clock, toggle a GPIO, count doorbells).
 *
 * Accesses are never refused and never stop the VM: the guard answers every
 * access the core delivers (the core delivers only accesses wholly inside
 * the region; one that straddles its end is the core's, counted as
 * unassigned).
 *
 * Threads: guest accesses come from any vCPU thread, host calls from any
 * thread.  One mutex per guard serialises the contents, so each access is
 * atomic with respect to the others (a vCPU never sees half of another's
 * 8-byte write).  Counters are atomics, readable without the lock.
 */
#ifndef VMMKIT_MMIO_GUARD_H
#define VMMKIT_MMIO_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vmmkit/guest_memory.h>
#include <vmmkit/vm.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest region a guard takes: contents, mask and reset copy live in host memory. */
#define MMIO_GUARD_MAX_SIZE (64ull << 20)

/* What a write that would change a protected bit does (see the top of this file). */
typedef enum mmio_guard_policy {
    MMIO_GUARD_REPORT = 0,      /* stored whole; counted and logged */
    MMIO_GUARD_MASK,            /* protected bits keep their value; silent */
    MMIO_GUARD_REPORT_AND_MASK, /* protected bits keep their value; counted and logged */
} mmio_guard_policy_t;

/* Counters, per guard. */
typedef enum mmio_guard_stat {
    MMIO_GUARD_STAT_READS = 0,  /* guest reads */
    MMIO_GUARD_STAT_WRITES,     /* guest writes, violating or not */
    MMIO_GUARD_STAT_VIOLATIONS, /* writes that tried to change a protected bit, under a
                                   reporting policy (MMIO_GUARD_MASK counts none) */
    MMIO_GUARD_STAT_COUNT
} mmio_guard_stat_t;

typedef struct mmio_guard mmio_guard_t;

/* One guest write, as the hook sees it.  Values are the low @width bytes, zero-extended. */
typedef struct mmio_guard_write {
    uint64_t addr;      /* guest-physical address of the first byte */
    uint64_t offset;    /* from the region's base */
    unsigned int width; /* 1..8 bytes */
    uint64_t old;       /* contents before the write */
    uint64_t value;     /* what the guest wrote */
    uint64_t stored;    /* contents after the write (value, or value masked) */
    uint64_t denied;    /* protected bits the guest tried to change: (value ^ old) & ~mask */
} mmio_guard_write_t;

/*
 * Called after every guest write has been stored, with the guard's lock held,
 * in the order the writes happened.  It must not call mmio_guard_* on the same
 * guard (that would deadlock) and should be quick: the vCPU waits for it.
 */
typedef void (*mmio_guard_write_fn)(void *opaque, const mmio_guard_write_t *w);

typedef struct mmio_guard_config {
    const char *name;             /* for logs (copied); NULL: "mmio-guard" */
    uint64_t base;                /* guest-physical; any alignment */
    uint64_t size;                /* bytes, 1..MMIO_GUARD_MAX_SIZE */
    const void *contents;         /* @size initial bytes (copied); NULL: zeros */
    const void *writable;         /* @size bytes of mask, bit set = writable (copied);
                                     NULL: nothing is writable */
    mmio_guard_policy_t policy;   /* what a violating write does */
    mmio_guard_write_fn on_write; /* NULL: no hook */
    void *opaque;                 /* passed to @on_write */
} mmio_guard_config_t;

/*
 * Create a guard on @vm as @cfg describes and store it in *@out.  The
 * initial contents are also kept for mmio_guard_reset().  Call before
 * vm_run() or from a fault callback (reservations may change while the VM
 * runs).
 * Returns 0; -EINVAL (NULL argument, size 0 or over MMIO_GUARD_MAX_SIZE,
 * base + size wraps, unknown policy); -EEXIST (the range overlaps a
 * reservation); -ENOMEM.
 */
int mmio_guard_create(vm_t *vm, const mmio_guard_config_t *cfg, mmio_guard_t **out);

/*
 * Free the reservation and the guard.  NULL is a no-op.  Call while the VM
 * does not run: a vCPU may be inside the fault callback until vm_run()
 * returns (guest_memory.h: a reservation's cookie outlives vm_run()).
 */
void mmio_guard_destroy(mmio_guard_t *g);

/*
 * Perform one guest access at @offset of @width (1..8) bytes, exactly as
 * the fault callback does: for a read *@data receives the value; for a write
 * *@data is the value (low @width bytes) and the mask and policy apply, the
 * counters move and the hook runs.  For devices that embed a guard behind
 * their own window (a PCI BAR) and for tests.
 * Returns FAULT_HANDLED, or FAULT_UNHANDLED (nothing done) when @g or
 * @data is NULL, @width is not 1..8 or the access is not wholly inside the
 * region.
 */
memory_fault_result_t mmio_guard_access(mmio_guard_t *g, uint64_t offset, unsigned int width,
                                        bool is_write, uint64_t *data);

/*
 * Host-side inspection and update of the contents, bypassing mask, policy,
 * counters and hook (the host changing a status register, say).
 * Return 0, or -EINVAL when an argument is NULL or [@offset, @offset + @len)
 * is not inside the region.
 */
int mmio_guard_read(mmio_guard_t *g, uint64_t offset, void *buf, size_t len);
int mmio_guard_write(mmio_guard_t *g, uint64_t offset, const void *buf, size_t len);

/*
 * Put the initial contents back (counters are kept).  The core has no
 * per-device reset: a board calls this from its reset hook
 * (vm_register_reset_hook).
 */
void mmio_guard_reset(mmio_guard_t *g);

/* How often @stat happened on @g (any thread); 0 for NULL or an unknown @stat. */
uint64_t mmio_guard_stat(const mmio_guard_t *g, mmio_guard_stat_t stat);

/* Name of a counter ("reads", "writes", "violations"); "unknown" when out of range. */
const char *mmio_guard_stat_name(mmio_guard_stat_t stat);

/* Name of a policy ("report", "mask", "report-and-mask"); "unknown" when out of range. */
const char *mmio_guard_policy_name(mmio_guard_policy_t policy);

/*
 * Parse a policy name as mmio_guard_policy_name() spells it (for command
 * lines).  Returns 0, or -EINVAL for any other string.
 */
int mmio_guard_policy_parse(const char *s, mmio_guard_policy_t *policy);

/* The region's guest-physical base and size. */
uint64_t mmio_guard_base(const mmio_guard_t *g);
uint64_t mmio_guard_size(const mmio_guard_t *g);

#ifdef __cplusplus
}
#endif
#endif
