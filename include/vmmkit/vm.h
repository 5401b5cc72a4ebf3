/*
 * vm.h - the virtual machine object, its vCPUs and its run loop.
 *
 * A vm_t is one guest: its memory (guest_memory.h), its port and MMIO
 * dispatch (ioports.h, reservations), its interrupt lines (irq.h) and its
 * vCPUs.  There are no globals: a process may hold several vm_t.  The
 * hypervisor is reached only through the backend (src/hv/hv.h); nothing in
 * this header names it.
 *
 * Life cycle:
 *   vm_create() -> vm_memory_init() -> vm_ram_add() / reservations /
 *   devices -> vm_create_vcpu() for each vCPU -> architecture boot set-up
 *   -> vm_run() ... -> vm_destroy().
 * vm_run() starts one thread per vCPU; each runs the exit loop and
 * dispatches exits to reservations and port handlers.  vm_run() returns
 * when the guest powers off, asks for a reset, or fails.
 */
#ifndef VMMKIT_VM_H
#define VMMKIT_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vm vm_t;
typedef struct vm_vcpu vm_vcpu_t;

/* Why vm_run() returned. */
typedef enum vm_stop_reason {
    VM_STOP_NONE = 0,
    VM_STOP_POWEROFF,  /* guest powered off (PSCI SYSTEM_OFF, ACPI S5, ...) */
    VM_STOP_RESET,     /* guest asked for a reset (PSCI SYSTEM_RESET, ...) */
    VM_STOP_REQUESTED, /* the VMM called vm_request_stop() */
    VM_STOP_ERROR,     /* a vCPU failed (entry failure, unhandled exit, ...) */
    VM_STOP_HALT,      /* every vCPU halted with nothing to wake it (x86 HLT without
                          an in-kernel irqchip: how tiny test guests end) */
} vm_stop_reason_t;

/* Returns a short constant name for a stop reason ("poweroff", ...). */
const char *vm_stop_reason_name(vm_stop_reason_t reason);

/* Kinds of exits, counted per VM for --stats. */
typedef enum vm_exit_kind {
    VM_EXIT_MMIO_READ,
    VM_EXIT_MMIO_WRITE,
    VM_EXIT_IO_IN,
    VM_EXIT_IO_OUT,
    VM_EXIT_SYSTEM_EVENT,
    VM_EXIT_HLT,
    VM_EXIT_INTR, /* interrupted by a signal / kick */
    VM_EXIT_HYPERCALL,
    VM_EXIT_MMIO_EMULATED, /* arm64: MMIO without a syndrome, the instruction emulated */
    VM_EXIT_OTHER,
    VM_EXIT_KIND_COUNT
} vm_exit_kind_t;

/* Returns a short constant name for an exit kind ("mmio-read", ...). */
const char *vm_exit_kind_name(vm_exit_kind_t kind);

/*
 * Guest accesses that reached nothing, counted per VM (the guest may be
 * hostile: these never stop it, they are counted and logged rate-limited).
 */
typedef enum vm_stat {
    VM_STAT_MMIO_UNASSIGNED, /* MMIO to an address with no reservation (or straddling one) */
    VM_STAT_MMIO_UNHANDLED,  /* a fault callback returned FAULT_UNHANDLED, or none exists */
    VM_STAT_MMIO_BUS_ERROR,  /* a fault callback returned FAULT_BUS_ERROR */
    VM_STAT_PIO_UNASSIGNED,  /* port I/O to an unregistered port */
    VM_STAT_PIO_UNHANDLED,   /* a port handler returned IO_FAULT_UNHANDLED */
    VM_STAT_COUNT
} vm_stat_t;

/* Returns a short constant name for a statistic ("mmio-unassigned", ...). */
const char *vm_stat_name(vm_stat_t stat);

/*
 * Create a VM.
 * @vm_out: where the new VM is stored.
 * @name:   a name used in log messages (copied).
 * Returns 0, or a negative errno: -ENOENT when the hypervisor device is
 * missing, -EACCES when it may not be opened, -EOPNOTSUPP when the
 * hypervisor refuses (wrong API version, missing capability).
 */
int vm_create(vm_t **vm_out, const char *name);

/*
 * Tear down a VM: vCPUs, memory, reservations and handlers.  Call after
 * vm_run() returned (a VM still running is left alone and logged).
 */
void vm_destroy(vm_t *vm);

/* The name given to vm_create(). */
const char *vm_name(const vm_t *vm);

/*
 * Create vCPU number @id (0-based, dense).  On arm64 a vCPU other than 0
 * starts powered off and is brought up by the guest through PSCI CPU_ON.
 * Returns the vCPU or NULL with errno set (EINVAL: @id is not the next
 * number; EBUSY: the VM runs; or the hypervisor's error).
 */
vm_vcpu_t *vm_create_vcpu(vm_t *vm, unsigned int id);

/* Number of vCPUs created so far, and vCPU @id (NULL when out of range). */
unsigned int vm_vcpu_count(const vm_t *vm);
vm_vcpu_t *vm_get_vcpu(vm_t *vm, unsigned int id);
unsigned int vm_vcpu_id(const vm_vcpu_t *vcpu);
vm_t *vm_vcpu_vm(vm_vcpu_t *vcpu);

/*
 * Run the VM: one thread per vCPU runs the exit loop until a vCPU reports
 * power-off, reset or an error, or vm_request_stop() is called.  Returns
 * the reason; all vCPU threads have been joined on return, so the VM can
 * be reset (vm_reset()) and run again.
 */
vm_stop_reason_t vm_run(vm_t *vm);

/*
 * Ask a running VM to stop (thread-safe, async-signal-unsafe; callable from
 * a fault or port handler too).  The first reason given wins; vm_run()
 * returns it.  Every vCPU is kicked out of the guest (a signal plus the
 * hypervisor's immediate-exit flag), so the stop takes effect within one
 * exit even while the guest spins.  A request made while the VM is not
 * running makes the next vm_run() return it at once.
 */
void vm_request_stop(vm_t *vm, vm_stop_reason_t reason);

/*
 * Reset the VM after vm_run() returned VM_STOP_RESET: re-initialises every
 * vCPU to its power-on state, runs the reset hooks (vm_register_reset_hook)
 * in registration order, so devices stop every access to guest memory they
 * have in flight, then zeroes guest RAM (vm_ram_add() regions).  The caller
 * then loads the images and sets boot registers again.  Returns 0, -EBUSY
 * (the VM is running) or -errno.
 */
int vm_reset(vm_t *vm);

/* A callback run on every vm_reset(), for devices to return to power-on state. */
typedef void (*vm_reset_hook_fn)(vm_t *vm, void *cookie);
int vm_register_reset_hook(vm_t *vm, vm_reset_hook_fn fn, void *cookie);

/*
 * Exit counters, by kind, summed over the vCPUs since vm_create().  Exact
 * after vm_run() returned; may be read (approximately) while it runs.
 */
uint64_t vm_exit_count(const vm_t *vm, vm_exit_kind_t kind);

/* Counter @stat (vm_stat_t) since vm_create(). */
uint64_t vm_stat_count(const vm_t *vm, vm_stat_t stat);

/*
 * Monotonic time (ns, CLOCK_MONOTONIC) of the first entry into the guest by
 * any vCPU since vm_create(), or 0 when the guest never ran.
 */
uint64_t vm_first_entry_ns(const vm_t *vm);

#ifdef __cplusplus
}
#endif
#endif
