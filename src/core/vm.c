/*
 * vm.c - vm_t and vm_vcpu_t: creation, the per-vCPU run loop, stopping,
 * reset and exit counters (see vmmkit/vm.h; locking in core/vm_priv.h).
 *
 * The run loop of one vCPU thread:
 *     while no stop reason is set:
 *         hv->vcpu_run()           enter the guest until it exits
 *         vcpu_handle_exit()       count, dispatch, decide
 * vm_request_stop() sets the stop reason (first wins) and kicks every vCPU,
 * so a thread inside the guest comes back with HV_EXIT_INTR and sees it.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vmmkit/log.h>
#include <vmmkit/sandbox.h>
#include <vmmkit/vm.h>

#include "core/vm_priv.h"

#ifdef VMMKIT_ARCH_x86
int vm_x86_prepare_first_vcpu(vm_t *vm); /* core/x86.c */
#endif

static const char *const exit_kind_names[VM_EXIT_KIND_COUNT] = {
    [VM_EXIT_MMIO_READ] = "mmio-read",
    [VM_EXIT_MMIO_WRITE] = "mmio-write",
    [VM_EXIT_IO_IN] = "io-in",
    [VM_EXIT_IO_OUT] = "io-out",
    [VM_EXIT_SYSTEM_EVENT] = "system-event",
    [VM_EXIT_HLT] = "hlt",
    [VM_EXIT_INTR] = "intr",
    [VM_EXIT_HYPERCALL] = "hypercall",
    [VM_EXIT_MMIO_EMULATED] = "mmio-emulated",
    [VM_EXIT_OTHER] = "other",
};

static const char *const stop_reason_names[] = {
    [VM_STOP_NONE] = "none",           [VM_STOP_POWEROFF] = "poweroff", [VM_STOP_RESET] = "reset",
    [VM_STOP_REQUESTED] = "requested", [VM_STOP_ERROR] = "error",       [VM_STOP_HALT] = "halt",
};

static const char *const stat_names[VM_STAT_COUNT] = {
    [VM_STAT_MMIO_UNASSIGNED] = "mmio-unassigned", [VM_STAT_MMIO_UNHANDLED] = "mmio-unhandled",
    [VM_STAT_MMIO_BUS_ERROR] = "mmio-bus-error",   [VM_STAT_PIO_UNASSIGNED] = "pio-unassigned",
    [VM_STAT_PIO_UNHANDLED] = "pio-unhandled",
};

const char *vm_exit_kind_name(vm_exit_kind_t kind)
{
    return (unsigned int)kind < VM_EXIT_KIND_COUNT ? exit_kind_names[kind] : "invalid";
}

const char *vm_stop_reason_name(vm_stop_reason_t reason)
{
    return (unsigned int)reason < sizeof(stop_reason_names) / sizeof(stop_reason_names[0])
               ? stop_reason_names[reason]
               : "invalid";
}

const char *vm_stat_name(vm_stat_t stat)
{
    return (unsigned int)stat < VM_STAT_COUNT ? stat_names[stat] : "invalid";
}

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int vm_create_with_backend(vm_t **vm_out, const char *name, const struct hv_ops *ops)
{
    int rc;

    if (!vm_out || !ops || !ops->vm_create || !ops->vm_destroy || !ops->vcpu_create ||
        !ops->vcpu_destroy || !ops->vcpu_run || !ops->vcpu_kick) {
        return -EINVAL;
    }
    *vm_out = NULL;
    vm_t *vm = calloc(1, sizeof(*vm));
    if (!vm) {
        return -ENOMEM;
    }
    vm->name = strdup(name ? name : "vm");
    if (!vm->name) {
        free(vm);
        return -ENOMEM;
    }
    vm->hv = ops;
    if ((rc = pthread_mutex_init(&vm->lock, NULL)) != 0) {
        free(vm->name);
        free(vm);
        return -rc;
    }
    if ((rc = vm_memory_setup(vm)) < 0) {
        goto err_mutex;
    }
    if ((rc = vm_ioports_setup(vm)) < 0) {
        goto err_mem;
    }
    if ((rc = ops->vm_create(&vm->hv_vm)) < 0) {
        LOG_DEBUG("%s: creating the VM with %s: %s", vm->name, ops->name, strerror(-rc));
        goto err_io;
    }
    *vm_out = vm;
    return 0;

err_io:
    vm_ioports_teardown(vm);
err_mem:
    vm_memory_teardown(vm);
err_mutex:
    pthread_mutex_destroy(&vm->lock);
    free(vm->name);
    free(vm);
    return rc;
}

int vm_create(vm_t **vm_out, const char *name)
{
    return vm_create_with_backend(vm_out, name, hv_default_backend());
}

void vm_destroy(vm_t *vm)
{
    if (!vm) {
        return;
    }
    if (__atomic_load_n(&vm->running, __ATOMIC_ACQUIRE)) {
        /* Its vCPU threads still use it: leaking is the only safe choice. */
        LOG_ERR("%s: vm_destroy() while vm_run() is in progress; the VM is leaked", vm->name);
        return;
    }
    for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
        vm->hv->vcpu_destroy(vm->vcpus[i]->hv);
#if defined(VMMKIT_ARCH_arm64)
        pthread_mutex_destroy(&vm->vcpus[i]->power_lock);
#endif
        free(vm->vcpus[i]);
    }
    free(vm->vcpus);
    vm_memory_teardown(vm); /* unmaps from the backend before its VM goes */
    vm_ioports_teardown(vm);
    vm->hv->vm_destroy(vm->hv_vm);
    pthread_mutex_destroy(&vm->lock);
    free(vm->hooks);
    free(vm->name);
    free(vm);
}

const char *vm_name(const vm_t *vm)
{
    return vm->name;
}

vm_vcpu_t *vm_create_vcpu(vm_t *vm, unsigned int id)
{
    int rc = 0;
    vm_vcpu_t *vcpu = NULL;

    if (!vm) {
        errno = EINVAL;
        return NULL;
    }
    pthread_mutex_lock(&vm->lock);
    if (__atomic_load_n(&vm->running, __ATOMIC_ACQUIRE)) {
        rc = -EBUSY;
        goto out;
    }
    if (id != vm->nr_vcpus) {
        LOG_ERR("%s: vCPU ids are dense from 0: asked for vcpu%u, next is vcpu%u", vm->name, id,
                vm->nr_vcpus);
        rc = -EINVAL;
        goto out;
    }
#ifdef VMMKIT_ARCH_x86
    if (id == 0 && (rc = vm_x86_prepare_first_vcpu(vm)) < 0) {
        goto out;
    }
#endif
    if (vm->nr_vcpus == vm->vcpus_cap) {
        unsigned int cap = vm->vcpus_cap ? vm->vcpus_cap * 2 : 4;
        vm_vcpu_t **v = realloc(vm->vcpus, cap * sizeof(*v));
        if (!v) {
            rc = -ENOMEM;
            goto out;
        }
        vm->vcpus = v;
        vm->vcpus_cap = cap;
    }
    vcpu = calloc(1, sizeof(*vcpu));
    if (!vcpu) {
        rc = -ENOMEM;
        goto out;
    }
    vcpu->vm = vm;
    vcpu->id = id;
#if defined(VMMKIT_ARCH_arm64)
    pthread_mutex_init(&vcpu->power_lock, NULL);
#endif
    if ((rc = vm->hv->vcpu_create(vm->hv_vm, id, &vcpu->hv)) < 0) {
        LOG_ERR("%s: creating vcpu%u with %s: %s", vm->name, id, vm->hv->name, strerror(-rc));
        free(vcpu);
        vcpu = NULL;
        goto out;
    }
    vm->vcpus[vm->nr_vcpus++] = vcpu;
out:
    pthread_mutex_unlock(&vm->lock);
    if (rc < 0) {
        errno = -rc;
    }
    return vcpu;
}

unsigned int vm_vcpu_count(const vm_t *vm)
{
    return vm->nr_vcpus;
}

vm_vcpu_t *vm_get_vcpu(vm_t *vm, unsigned int id)
{
    return vm && id < vm->nr_vcpus ? vm->vcpus[id] : NULL;
}

unsigned int vm_vcpu_id(const vm_vcpu_t *vcpu)
{
    return vcpu->id;
}

vm_t *vm_vcpu_vm(vm_vcpu_t *vcpu)
{
    return vcpu->vm;
}

/* Only the vCPU's own thread writes its counters; readers use relaxed loads. */
static void count_exit(vm_vcpu_t *vcpu, vm_exit_kind_t kind)
{
    __atomic_store_n(&vcpu->exits[kind], vcpu->exits[kind] + 1, __ATOMIC_RELAXED);
}

static vcpu_action_t stop_with(vm_vcpu_t *vcpu, vm_stop_reason_t reason)
{
    vm_request_stop(vcpu->vm, reason);
    return VCPU_STOP;
}

vcpu_action_t vcpu_handle_exit(vm_vcpu_t *vcpu, hv_exit_t *exit)
{
    vm_t *vm = vcpu->vm;

    switch (exit->reason) {
    case HV_EXIT_MMIO:
        count_exit(vcpu, exit->mmio.is_write ? VM_EXIT_MMIO_WRITE : VM_EXIT_MMIO_READ);
        return vcpu_handle_mmio(vcpu, exit);
    case HV_EXIT_IO:
        count_exit(vcpu, exit->io.is_out ? VM_EXIT_IO_OUT : VM_EXIT_IO_IN);
        return vcpu_handle_io(vcpu, exit);
    case HV_EXIT_INTR:
        count_exit(vcpu, VM_EXIT_INTR);
        return VCPU_CONTINUE; /* the loop checks the stop reason */
#if defined(VMMKIT_ARCH_arm64)
    case HV_EXIT_HYPERCALL:
        count_exit(vcpu, VM_EXIT_HYPERCALL);
        return vcpu_arm64_handle_smccc(vcpu, exit);
    case HV_EXIT_MMIO_NISV:
        count_exit(vcpu, VM_EXIT_MMIO_EMULATED);
        return vcpu_arm64_handle_nisv(vcpu, exit);
#endif
    case HV_EXIT_POWEROFF:
        count_exit(vcpu, VM_EXIT_SYSTEM_EVENT);
        LOG_INFO("%s: vcpu%u: guest powered off", vm->name, vcpu->id);
        return stop_with(vcpu, VM_STOP_POWEROFF);
    case HV_EXIT_RESET:
        count_exit(vcpu, VM_EXIT_SYSTEM_EVENT);
        LOG_INFO("%s: vcpu%u: guest asked for a reset", vm->name, vcpu->id);
        return stop_with(vcpu, VM_STOP_RESET);
    case HV_EXIT_CRASH:
        count_exit(vcpu, VM_EXIT_SYSTEM_EVENT);
        LOG_ERR("%s: vcpu%u: guest reported a crash", vm->name, vcpu->id);
        return stop_with(vcpu, VM_STOP_ERROR);
    case HV_EXIT_HLT:
        count_exit(vcpu, VM_EXIT_HLT);
        LOG_DEBUG("%s: vcpu%u: halted with nothing to wake it; its run ends", vm->name, vcpu->id);
        return VCPU_HALT;
    case HV_EXIT_SHUTDOWN:
        count_exit(vcpu, VM_EXIT_OTHER);
        LOG_WARN("%s: vcpu%u: shutdown (triple fault): the machine resets", vm->name, vcpu->id);
        return stop_with(vcpu, VM_STOP_RESET);
    case HV_EXIT_INTERNAL_ERROR:
        count_exit(vcpu, VM_EXIT_OTHER);
        LOG_ERR("%s: vcpu%u: %s internal error %lu (could not emulate the guest); stopping",
                vm->name, vcpu->id, vm->hv->name, (unsigned long)exit->detail);
        return stop_with(vcpu, VM_STOP_ERROR);
    case HV_EXIT_FAIL_ENTRY:
        count_exit(vcpu, VM_EXIT_OTHER);
        LOG_ERR("%s: vcpu%u: the hardware refused to enter the guest (reason %#lx): invalid "
                "vCPU state; stopping",
                vm->name, vcpu->id, (unsigned long)exit->detail);
        return stop_with(vcpu, VM_STOP_ERROR);
    case HV_EXIT_UNKNOWN:
    default:
        count_exit(vcpu, VM_EXIT_OTHER);
        LOG_ERR("%s: vcpu%u: unexpected exit from %s (code %lu); stopping", vm->name, vcpu->id,
                vm->hv->name, (unsigned long)exit->detail);
        return stop_with(vcpu, VM_STOP_ERROR);
    }
}

static void *vcpu_thread(void *arg)
{
    vm_vcpu_t *vcpu = arg;
    vm_t *vm = vcpu->vm;
    bool entered = false;
    char tname[16];

    snprintf(tname, sizeof(tname), "vcpu%u", vcpu->id);
    pthread_setname_np(pthread_self(), tname);
    /* Its seccomp allowlist, before the first guest instruction (vmmkit/sandbox.h). */
    int src = vmm_sandbox_enter(VMM_THREAD_VCPU);
    if (src < 0) {
        LOG_ERR("%s: vcpu%u: cannot install its seccomp filter: %s; stopping", vm->name, vcpu->id,
                strerror(-src));
        vm_request_stop(vm, VM_STOP_ERROR);
        return NULL;
    }

    while (__atomic_load_n(&vm->stop_reason, __ATOMIC_SEQ_CST) == VM_STOP_NONE) {
        if (!entered) {
            uint64_t zero = 0;
            __atomic_compare_exchange_n(&vm->first_entry_ns, &zero, monotonic_ns(), false,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED);
            entered = true;
        }
        int rc = 0;
#if defined(VMMKIT_ARCH_arm64)
        rc = vcpu_arm64_before_run(vcpu);
#endif
        if (rc == 0) {
            rc = vm->hv->vcpu_run(vcpu->hv, &vcpu->exit);
        }
        if (rc < 0) {
            LOG_ERR("%s: vcpu%u: running the guest with %s failed: %s; stopping", vm->name,
                    vcpu->id, vm->hv->name, strerror(-rc));
            vm_request_stop(vm, VM_STOP_ERROR);
            break;
        }
        if (vcpu_handle_exit(vcpu, &vcpu->exit) != VCPU_CONTINUE) {
            break;
        }
    }
    return NULL;
}

vm_stop_reason_t vm_run(vm_t *vm)
{
    int not_running = 0;
    unsigned int started = 0;

    if (!vm) {
        return VM_STOP_ERROR;
    }
    if (!__atomic_compare_exchange_n(&vm->running, &not_running, 1, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        LOG_ERR("%s: vm_run() called while the VM already runs", vm->name);
        return VM_STOP_ERROR;
    }
    if (vm->nr_vcpus == 0) {
        LOG_ERR("%s: vm_run() with no vCPU: create one with vm_create_vcpu() first", vm->name);
        __atomic_store_n(&vm->running, 0, __ATOMIC_RELEASE);
        return VM_STOP_ERROR;
    }
    for (; started < vm->nr_vcpus; started++) {
        vm_vcpu_t *vcpu = vm->vcpus[started];
        int rc = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
        if (rc) {
            LOG_ERR("%s: starting the thread of vcpu%u: %s", vm->name, started, strerror(rc));
            vm_request_stop(vm, VM_STOP_ERROR);
            break;
        }
    }
    for (unsigned int i = 0; i < started; i++) {
        pthread_join(vm->vcpus[i]->thread, NULL);
    }
    vm_stop_reason_t reason = __atomic_exchange_n(&vm->stop_reason, VM_STOP_NONE, __ATOMIC_SEQ_CST);
    if (reason == VM_STOP_NONE) {
        reason = VM_STOP_HALT; /* every thread ended on a halt */
    }
    __atomic_store_n(&vm->running, 0, __ATOMIC_RELEASE);
    LOG_DEBUG("%s: stopped: %s", vm->name, vm_stop_reason_name(reason));
    return reason;
}

void vm_request_stop(vm_t *vm, vm_stop_reason_t reason)
{
    int none = VM_STOP_NONE;

    if (!vm || reason == VM_STOP_NONE) {
        return;
    }
    /* First reason wins; later callers still kick, which is harmless. */
    __atomic_compare_exchange_n(&vm->stop_reason, &none, (int)reason, false, __ATOMIC_SEQ_CST,
                                __ATOMIC_SEQ_CST);
    for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
        vm->hv->vcpu_kick(vm->vcpus[i]->hv);
    }
}

int vm_reset(vm_t *vm)
{
    int rc;

    if (!vm) {
        return -EINVAL;
    }
    if (__atomic_load_n(&vm->running, __ATOMIC_ACQUIRE)) {
        return -EBUSY;
    }
    if (!HV_HAS(vm, vcpu_reset)) {
        return -EOPNOTSUPP;
    }
    for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
#if defined(VMMKIT_ARCH_arm64)
        pthread_mutex_lock(&vm->vcpus[i]->power_lock);
        /* a CPU_ON the reset overtook */
        __atomic_store_n(&vm->vcpus[i]->power_on_pending, false, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&vm->vcpus[i]->power_lock);
#endif
        if ((rc = vm->hv->vcpu_reset(vm->vcpus[i]->hv)) < 0) {
            LOG_ERR("%s: resetting vcpu%u: %s", vm->name, i, strerror(-rc));
            return rc;
        }
    }
    /* Devices first: a reset device has finished (or dropped) every DMA
     * into guest RAM, so nothing lands in RAM after it is zeroed. */
    pthread_mutex_lock(&vm->lock);
    unsigned int nr_hooks = vm->nr_hooks;
    pthread_mutex_unlock(&vm->lock);
    for (unsigned int i = 0; i < nr_hooks; i++) {
        vm->hooks[i].fn(vm, vm->hooks[i].cookie);
    }
    if ((rc = vm_memory_zero_ram(vm)) < 0) {
        return rc;
    }
    __atomic_store_n(&vm->stop_reason, VM_STOP_NONE, __ATOMIC_SEQ_CST);
    return 0;
}

int vm_register_reset_hook(vm_t *vm, vm_reset_hook_fn fn, void *cookie)
{
    int rc = 0;

    if (!vm || !fn) {
        return -EINVAL;
    }
    pthread_mutex_lock(&vm->lock);
    if (vm->nr_hooks == vm->hooks_cap) {
        unsigned int cap = vm->hooks_cap ? vm->hooks_cap * 2 : 8;
        struct vm_reset_hook *h = realloc(vm->hooks, cap * sizeof(*h));
        if (!h) {
            rc = -ENOMEM;
            goto out;
        }
        vm->hooks = h;
        vm->hooks_cap = cap;
    }
    vm->hooks[vm->nr_hooks++] = (struct vm_reset_hook){.fn = fn, .cookie = cookie};
out:
    pthread_mutex_unlock(&vm->lock);
    return rc;
}

uint64_t vm_exit_count(const vm_t *vm, vm_exit_kind_t kind)
{
    uint64_t sum = 0;

    if (!vm || (unsigned int)kind >= VM_EXIT_KIND_COUNT) {
        return 0;
    }
    for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
        sum += __atomic_load_n(&vm->vcpus[i]->exits[kind], __ATOMIC_RELAXED);
    }
    return sum;
}

uint64_t vm_stat_count(const vm_t *vm, vm_stat_t stat)
{
    if (!vm || (unsigned int)stat >= VM_STAT_COUNT) {
        return 0;
    }
    return __atomic_load_n(&vm->stats[stat], __ATOMIC_RELAXED);
}

uint64_t vm_first_entry_ns(const vm_t *vm)
{
    return vm ? __atomic_load_n(&vm->first_entry_ns, __ATOMIC_RELAXED) : 0;
}
