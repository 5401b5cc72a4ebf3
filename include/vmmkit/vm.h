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
    VM_STOP_POWEROFF,   /* guest powered off (PSCI SYSTEM_OFF, ACPI S5, ...) */
    VM_STOP_RESET,      /* guest asked for a reset (PSCI SYSTEM_RESET, ...) */
    VM_STOP_REQUESTED,  /* the VMM called vm_request_stop() */
    VM_STOP_ERROR,      /* a vCPU failed (entry failure, unhandled exit, ...) */
} vm_stop_reason_t;

/* Kinds of exits, counted per VM for --stats. */
typedef enum vm_exit_kind {
    VM_EXIT_MMIO_READ,
    VM_EXIT_MMIO_WRITE,
    VM_EXIT_IO_IN,
    VM_EXIT_IO_OUT,
    VM_EXIT_SYSTEM_EVENT,
    VM_EXIT_HLT,
    VM_EXIT_INTR,        /* interrupted by a signal / kick */
    VM_EXIT_HYPERCALL,
    VM_EXIT_OTHER,
    VM_EXIT_KIND_COUNT
} vm_exit_kind_t;

/* Returns a short constant name for an exit kind ("mmio-read", ...). */
const char *vm_exit_kind_name(vm_exit_kind_t kind);

/*
 * Create a VM.
 * @vm_out: where the new VM is stored.
 * @name:   a name used in log messages (copied).
 * Returns 0, or a negative errno: -ENOENT when the hypervisor device is
 * missing, -EACCES when it may not be opened, -EOPNOTSUPP when the
 * hypervisor refuses (wrong API version, missing capability).
 */
int vm_create(vm_t **vm_out, const char *name);

/* Tear down a VM: stops vCPUs, frees memory, reservations and handlers. */
void vm_destroy(vm_t *vm);

/* The name given to vm_create(). */
const char *vm_name(const vm_t *vm);

/*
 * Create vCPU number @id (0-based, dense).  On arm64 a vCPU other than 0
 * starts powered off and is brought up by the guest through PSCI CPU_ON.
 * Returns the vCPU or NULL with errno set.
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
 * Ask a running VM to stop (thread-safe, async-signal-unsafe).  The first
 * reason given wins; vm_run() returns it.
 */
void vm_request_stop(vm_t *vm, vm_stop_reason_t reason);

/*
 * Reset the VM after vm_run() returned VM_STOP_RESET: re-initialises every
 * vCPU to its power-on state, runs the reset hooks (vm_register_reset_hook)
 * in registration order, and zeroes guest RAM.  The caller then loads the
 * images and sets boot registers again.  Returns 0 or a negative errno.
 */
int vm_reset(vm_t *vm);

/* A callback run on every vm_reset(), for devices to return to power-on state. */
typedef void (*vm_reset_hook_fn)(vm_t *vm, void *cookie);
int vm_register_reset_hook(vm_t *vm, vm_reset_hook_fn fn, void *cookie);

/* Exit counters, by kind; safe to read after vm_run() returned. */
uint64_t vm_exit_count(const vm_t *vm, vm_exit_kind_t kind);

/*
 * Monotonic time (ns, CLOCK_MONOTONIC) of the first entry into the guest by
 * any vCPU since vm_create(), or 0 when the guest never ran.
 */
uint64_t vm_first_entry_ns(const vm_t *vm);

#ifdef __cplusplus
}
#endif
#endif
