/*
 * fault.c - MMIO exit dispatch to reservations, and the vCPU fault
 * accessors of guest_memory.h.
 *
 * An MMIO exit is looked up in the reservation tree (shared lock, released
 * before the callback runs) and answered by the reservation's fault callback.
 * Whatever the guest does, the VM keeps running unless a callback returns
 * FAULT_ERROR: accesses to nothing read as zero and are counted and logged
 * with a rate limit.
 */
#include <errno.h>
#include <string.h>

#include <vmmkit/guest_memory.h>
#include <vmmkit/log.h>

#include "core/vm_priv.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "fault data packing assumes a little-endian host (x86_64, arm64)"
#endif

/* A callback may return FAULT_RESTART this many times in a row for one access. */
#define MAX_RESTARTS 4

static const char *dir_name(const hv_exit_t *exit)
{
    return exit->mmio.is_write ? "write" : "read";
}

/* The guest reads zero / its write is dropped. */
static void drop_access(const hv_exit_t *exit)
{
    if (!exit->mmio.is_write) {
        memset(exit->mmio.data, 0, exit->mmio.len);
    }
}

static uint64_t exit_data(const hv_exit_t *exit)
{
    uint64_t v = 0;
    memcpy(&v, exit->mmio.data, exit->mmio.len);
    return v;
}

/* Rate-limited warning for an access the guest made to nothing useful. */
static void log_dropped(vm_vcpu_t *vcpu, const hv_exit_t *exit, const char *why)
{
    vm_t *vm = vcpu->vm;
    if (exit->mmio.is_write) {
        LOG_WARN_RL(&vm->rl_mmio, "%s: vcpu%u: MMIO write of %u bytes (%#lx) at %#lx %s; dropped",
                    vm->name, vcpu->id, exit->mmio.len, (unsigned long)exit_data(exit),
                    (unsigned long)exit->mmio.addr, why);
    } else {
        LOG_WARN_RL(&vm->rl_mmio, "%s: vcpu%u: MMIO read of %u bytes at %#lx %s; reads 0", vm->name,
                    vcpu->id, exit->mmio.len, (unsigned long)exit->mmio.addr, why);
    }
}

vcpu_action_t vcpu_handle_mmio(vm_vcpu_t *vcpu, const hv_exit_t *exit)
{
    vm_t *vm = vcpu->vm;
    uint64_t addr = exit->mmio.addr;
    uint32_t len = exit->mmio.len;

    if (len == 0 || len > 8 || addr + len - 1 < addr) {
        LOG_WARN_RL(&vm->rl_mmio, "%s: vcpu%u: MMIO %s of %u bytes at %#lx is malformed; dropped",
                    vm->name, vcpu->id, dir_name(exit), len, (unsigned long)addr);
        if (len > 0 && len <= 8) {
            drop_access(exit);
        }
        return VCPU_CONTINUE;
    }

    for (int attempt = 0; attempt <= MAX_RESTARTS; attempt++) {
        pthread_rwlock_rdlock(&vm->mem.lock);
        struct itree_node *n = itree_lookup(&vm->mem.tree, addr);
        if (!n || addr + len - 1 > n->last) {
            pthread_rwlock_unlock(&vm->mem.lock);
            vm_stat_inc(vm, VM_STAT_MMIO_UNASSIGNED);
            log_dropped(vcpu, exit,
                        n ? "straddles the end of a reservation" : "hits no reservation");
            drop_access(exit);
            return VCPU_CONTINUE;
        }
        vm_memory_reservation_t *r = itree_entry(n, vm_memory_reservation_t, node);
        memory_fault_callback_fn cb = r->fault_callback;
        void *cookie = r->cookie;
        if (r->mapped && (!exit->mmio.is_write || !r->readonly)) {
            /*
             * The range is backed now (mapped after the exit was taken, the
             * usual end of FAULT_RESTART): complete the access on the memory.
             */
            uint8_t *p = (uint8_t *)r->hva + (addr - r->node.start);
            if (exit->mmio.is_write) {
                memcpy(p, exit->mmio.data, len);
            } else {
                memcpy(exit->mmio.data, p, len);
            }
            pthread_rwlock_unlock(&vm->mem.lock);
            return VCPU_CONTINUE;
        }
        pthread_rwlock_unlock(&vm->mem.lock);

        memory_fault_result_t res = FAULT_UNHANDLED;
        if (cb) {
            drop_access(exit); /* a read the callback does not answer returns 0 */
            vcpu->fault = exit;
            res = cb(vm, vcpu, addr, len, cookie);
            vcpu->fault = NULL;
        }
        switch (res) {
        case FAULT_HANDLED:
            return VCPU_CONTINUE;
        case FAULT_IGNORE:
            drop_access(exit);
            return VCPU_CONTINUE;
        case FAULT_UNHANDLED:
            drop_access(exit);
            vm_stat_inc(vm, VM_STAT_MMIO_UNHANDLED);
            log_dropped(vcpu, exit,
                        cb ? "is not handled by its device"
                           : "hits a reservation without a fault callback");
            return VCPU_CONTINUE;
        case FAULT_RESTART:
            continue;
        case FAULT_BUS_ERROR: {
            bool injected = HV_HAS(vm, vcpu_bus_error) && vm->hv->vcpu_bus_error(vcpu->hv) == 0;
            vcpu->bus_error = injected;
            vm_stat_inc(vm, VM_STAT_MMIO_BUS_ERROR);
            if (!injected && !exit->mmio.is_write) {
                /* No bus error to give: what a bus without a target answers. */
                memset(exit->mmio.data, 0xff, len);
            }
            LOG_WARN_RL(&vm->rl_mmio,
                        "%s: vcpu%u: MMIO %s of %u bytes at %#lx failed in its device: %s",
                        vm->name, vcpu->id, dir_name(exit), len, (unsigned long)addr,
                        injected ? "bus error for the guest"
                                 : (exit->mmio.is_write ? "dropped" : "reads all ones"));
            return VCPU_CONTINUE;
        }
        case FAULT_ERROR:
        default:
            LOG_ERR("%s: vcpu%u: MMIO %s of %u bytes at %#lx: device fault callback %s; stopping "
                    "the VM",
                    vm->name, vcpu->id, dir_name(exit), len, (unsigned long)addr,
                    res == FAULT_ERROR ? "returned FAULT_ERROR" : "returned an invalid result");
            vm_request_stop(vm, VM_STOP_ERROR);
            return VCPU_STOP;
        }
    }
    LOG_WARN_RL(&vm->rl_mmio, "%s: vcpu%u: MMIO %s at %#lx restarted %d times; dropped", vm->name,
                vcpu->id, dir_name(exit), (unsigned long)addr, MAX_RESTARTS);
    drop_access(exit);
    return VCPU_CONTINUE;
}

vcpu_action_t vcpu_emulate_mmio(vm_vcpu_t *vcpu, uint64_t addr, uint8_t *data, uint32_t len,
                                bool is_write)
{
    hv_exit_t exit = {.reason = HV_EXIT_MMIO};

    exit.mmio.addr = addr;
    exit.mmio.data = data;
    exit.mmio.len = len;
    exit.mmio.is_write = is_write;
    vcpu->bus_error = false;
    return vcpu_handle_mmio(vcpu, &exit);
}

bool is_vcpu_read_fault(vm_vcpu_t *vcpu)
{
    return vcpu && vcpu->fault && !vcpu->fault->mmio.is_write;
}

uint64_t get_vcpu_fault_data(vm_vcpu_t *vcpu)
{
    if (!vcpu || !vcpu->fault) {
        return 0;
    }
    return exit_data(vcpu->fault);
}

void set_vcpu_fault_data(vm_vcpu_t *vcpu, uint64_t data)
{
    if (!vcpu || !vcpu->fault || vcpu->fault->mmio.is_write) {
        return;
    }
    memcpy(vcpu->fault->mmio.data, &data, vcpu->fault->mmio.len);
}

uintptr_t get_vcpu_fault_address(vm_vcpu_t *vcpu)
{
    return vcpu && vcpu->fault ? (uintptr_t)vcpu->fault->mmio.addr : 0;
}

size_t get_vcpu_fault_size(vm_vcpu_t *vcpu)
{
    return vcpu && vcpu->fault ? vcpu->fault->mmio.len : 0;
}
