/*
 * vm_priv.h - the core's private view of vm_t and vm_vcpu_t (core-internal;
 * devices and the program use the public headers only).
 *
 * Locking, in one place:
 *   vm->mem.lock (rwlock)  guards the reservation tree and every
 *                          reservation's fields.  Readers: the exit path
 *                          (MMIO dispatch), gpa_to_hva(), vm_guest_read/
 *                          write().  Writers: reserve, map, free.  Fault
 *                          callbacks run with it released, so a callback may
 *                          reserve, map or free (a PCI BAR move).
 *   vm->io.lock (rwlock)   the same for the port-range tree.
 *   vm->lock (mutex)       vCPU creation and the reset-hook list.
 *   atomics                stop_reason (first writer wins), running,
 *                          first_entry_ns, stats[].  Per-vCPU exit counters
 *                          are written only by the vCPU's thread and read
 *                          with relaxed atomics.
 * The vCPU array is built before vm_run() and not changed while it runs.
 */
#ifndef VMMKIT_CORE_VM_PRIV_H
#define VMMKIT_CORE_VM_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <vmmkit/guest_memory.h>
#include <vmmkit/ioports.h>
#include <vmmkit/log.h>
#include <vmmkit/vm.h>
#if defined(VMMKIT_ARCH_arm64)
#include <vmmkit/arm64.h>
#endif

#include "core/interval_tree.h"
#include "hv/hv.h"

struct vm_memory_reservation {
    struct itree_node node; /* [addr, addr + size - 1] */
    memory_fault_callback_fn fault_callback;
    void *cookie;
    bool mapped;
    bool readonly; /* mapped read-only: writes still fault */
    bool is_ram;   /* added by vm_ram_add(): zeroed on reset, counted in vm_ram_size() */
    void *hva;     /* host address of the first byte when mapped */
    void *alloc;   /* our own anonymous mapping to munmap, or NULL */
    size_t alloc_len;
    int hv_handle; /* backend mapping handle */
};

struct vm_memory {
    pthread_rwlock_t lock;
    struct itree tree;
    size_t ram_size;
    uint64_t anon_base; /* window for vm_reserve_anon_memory(); */
    uint64_t anon_last; /* anon_base > anon_last: "above RAM" */
};

struct vm_ioport_handler {
    struct itree_node node;
    vm_ioport_interface_t iface;
};

struct vm_ioports {
    pthread_rwlock_t lock;
    struct itree tree;
};

struct vm_reset_hook {
    vm_reset_hook_fn fn;
    void *cookie;
};

struct vm {
    char *name;
    const struct hv_ops *hv;
    hv_vm_t *hv_vm;
    pthread_mutex_t lock;

    struct vm_memory mem;
    struct vm_ioports io;

    vm_vcpu_t **vcpus;
    unsigned int nr_vcpus, vcpus_cap;

    struct vm_reset_hook *hooks;
    unsigned int nr_hooks, hooks_cap;

    int stop_reason;         /* vm_stop_reason_t, atomic, first non-NONE wins */
    int running;             /* atomic: vm_run() in progress */
    uint64_t first_entry_ns; /* atomic */
    uint64_t stats[VM_STAT_COUNT];

    vmm_ratelimit_t rl_mmio; /* unassigned / unhandled MMIO */
    vmm_ratelimit_t rl_pio;  /* unhandled port I/O */
    vmm_ratelimit_t rl_exit; /* odd exits */
#if defined(VMMKIT_ARCH_arm64)
    vm_arm64_smccc_fn smccc_fn; /* forwarded HVC/SMC calls (arm64.c) */
    void *smccc_opaque;
#endif

#ifdef VMMKIT_ARCH_x86
    bool x86_irqchip;
    bool x86_pit;
    bool x86_tss_set;
    bool x86_idmap_set;
#endif
};

struct vm_vcpu {
    vm_t *vm;
    unsigned int id;
    hv_vcpu_t *hv;
    pthread_t thread;
    hv_exit_t exit;         /* the last exit, filled by hv->vcpu_run() */
    const hv_exit_t *fault; /* the MMIO exit being dispatched, for the fault accessors */
    uint64_t exits[VM_EXIT_KIND_COUNT];
    bool bus_error; /* the access being emulated got a bus error (fault.c) */
#if defined(VMMKIT_ARCH_arm64)
    /* A PSCI CPU_ON for this vCPU, latched until its own thread applies it. */
    pthread_mutex_t power_lock;
    bool power_on_pending;
    uint64_t power_on_entry, power_on_x0;
#endif
};

/* What the run loop does after an exit was handled. */
typedef enum vcpu_action {
    VCPU_CONTINUE, /* run the vCPU again */
    VCPU_HALT,     /* this vCPU stops; the others go on */
    VCPU_STOP,     /* a stop reason was set; every vCPU stops */
} vcpu_action_t;

#if defined(VMMKIT_ARCH_arm64)
/* arm64.c: before each entry, apply a latched power-on.  0 or -errno. */
int vcpu_arm64_before_run(vm_vcpu_t *vcpu);
/* arm64.c: an HV_EXIT_HYPERCALL. */
vcpu_action_t vcpu_arm64_handle_smccc(vm_vcpu_t *vcpu, const hv_exit_t *exit);
/* arm64.c: an HV_EXIT_MMIO_NISV: fetch, decode and emulate the instruction. */
vcpu_action_t vcpu_arm64_handle_nisv(vm_vcpu_t *vcpu, const hv_exit_t *exit);
#endif

/*
 * fault.c: one guest access to guest-physical @addr (@len bytes, 1..8) as
 * if it had exited as MMIO: dispatched to the reservation's callback.
 * Reads land in @data.  Sets vcpu->bus_error when the device answered
 * with a bus error that was injected.
 */
vcpu_action_t vcpu_emulate_mmio(vm_vcpu_t *vcpu, uint64_t addr, uint8_t *data, uint32_t len,
                                bool is_write);

/*
 * vm_create() with an explicit backend (unit tests pass a fake one).
 * Same returns as vm_create().
 */
int vm_create_with_backend(vm_t **vm_out, const char *name, const struct hv_ops *ops);

/*
 * Handle one exit of @vcpu: count it, dispatch MMIO to reservations and port
 * I/O to port handlers, map system events to stop reasons.  This is the
 * function the run loop calls after every hv->vcpu_run().
 */
vcpu_action_t vcpu_handle_exit(vm_vcpu_t *vcpu, hv_exit_t *exit);

/* MMIO dispatch (fault.c) and port I/O dispatch (ioports.c). */
vcpu_action_t vcpu_handle_mmio(vm_vcpu_t *vcpu, const hv_exit_t *exit);
vcpu_action_t vcpu_handle_io(vm_vcpu_t *vcpu, const hv_exit_t *exit);

/* Set up / tear down the memory and port state (vm_create, vm_destroy). */
int vm_memory_setup(vm_t *vm);
void vm_memory_teardown(vm_t *vm);
int vm_ioports_setup(vm_t *vm);
void vm_ioports_teardown(vm_t *vm);

/* Zero every RAM reservation (vm_reset).  Returns 0 or -errno. */
int vm_memory_zero_ram(vm_t *vm);

/* Count one event of @stat. */
static inline void vm_stat_inc(vm_t *vm, vm_stat_t stat)
{
    __atomic_fetch_add(&vm->stats[stat], 1, __ATOMIC_RELAXED);
}

/* Core return convention helper: an optional backend operation is missing. */
#define HV_HAS(vm, op) ((vm)->hv->op != NULL)

#endif
