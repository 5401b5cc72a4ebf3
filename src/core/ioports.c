/*
 * ioports.c - x86 port I/O dispatch (see vmmkit/ioports.h; locking in
 * core/vm_priv.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vmmkit/ioports.h>
#include <vmmkit/log.h>

#include "core/vm_priv.h"

int vm_ioports_setup(vm_t *vm)
{
    int rc = pthread_rwlock_init(&vm->io.lock, NULL);
    if (rc) {
        return -rc;
    }
    itree_init(&vm->io.tree);
    return 0;
}

void vm_ioports_teardown(vm_t *vm)
{
    struct itree_node *n;

    while ((n = itree_first(&vm->io.tree)) != NULL) {
        itree_remove(&vm->io.tree, n);
        free(itree_entry(n, struct vm_ioport_handler, node));
    }
    pthread_rwlock_destroy(&vm->io.lock);
}

int vm_io_port_add_handler(vm_t *vm, vm_ioport_range_t range, vm_ioport_interface_t iface)
{
    if (!vm || range.start > range.end) {
        return -EINVAL;
    }
    struct vm_ioport_handler *h = calloc(1, sizeof(*h));
    if (!h) {
        return -ENOMEM;
    }
    h->node.start = range.start;
    h->node.last = range.end;
    h->iface = iface;

    pthread_rwlock_wrlock(&vm->io.lock);
    struct itree_node *clash = itree_first_overlap(&vm->io.tree, range.start, range.end);
    if (clash) {
        struct vm_ioport_handler *other = itree_entry(clash, struct vm_ioport_handler, node);
        pthread_rwlock_unlock(&vm->io.lock);
        LOG_ERR("%s: ports %#x-%#x for %s overlap %#x-%#x of %s", vm->name, range.start, range.end,
                iface.desc ? iface.desc : "?", (unsigned int)clash->start,
                (unsigned int)clash->last, other->iface.desc ? other->iface.desc : "?");
        free(h);
        return -EEXIST;
    }
    itree_insert(&vm->io.tree, &h->node);
    pthread_rwlock_unlock(&vm->io.lock);
    return 0;
}

int vm_io_port_remove_handler(vm_t *vm, uint16_t start)
{
    pthread_rwlock_wrlock(&vm->io.lock);
    struct itree_node *n = itree_lookup(&vm->io.tree, start);
    if (!n || n->start != start) {
        pthread_rwlock_unlock(&vm->io.lock);
        return -ENOENT;
    }
    itree_remove(&vm->io.tree, n);
    pthread_rwlock_unlock(&vm->io.lock);
    free(itree_entry(n, struct vm_ioport_handler, node));
    return 0;
}

vcpu_action_t vcpu_handle_io(vm_vcpu_t *vcpu, const hv_exit_t *exit)
{
    vm_t *vm = vcpu->vm;
    unsigned int port = exit->io.port, size = exit->io.size;
    vm_ioport_interface_t iface = {0};
    bool found = false;

    if (size != 1 && size != 2 && size != 4) {
        LOG_WARN_RL(&vm->rl_pio, "%s: vcpu%u: port access of %u bytes at %#x is malformed",
                    vm->name, vcpu->id, size, port);
        return VCPU_CONTINUE;
    }
    pthread_rwlock_rdlock(&vm->io.lock);
    struct itree_node *n = itree_lookup(&vm->io.tree, port);
    if (n && port + size - 1 <= n->last) {
        iface = itree_entry(n, struct vm_ioport_handler, node)->iface;
        found = true;
    }
    pthread_rwlock_unlock(&vm->io.lock);

    for (uint32_t i = 0; i < exit->io.count; i++) {
        uint8_t *p = exit->io.data + (size_t)i * size;
        ioport_fault_result_t res = IO_FAULT_UNHANDLED;
        unsigned int value = 0;

        if (exit->io.is_out) {
            memcpy(&value, p, size);
            if (found && iface.port_out) {
                res = iface.port_out(vcpu, iface.cookie, port, size, value);
            }
        } else if (found && iface.port_in) {
            res = iface.port_in(vcpu, iface.cookie, port, size, &value);
            if (res == IO_FAULT_HANDLED) {
                memcpy(p, &value, size);
            }
        }
        if (res == IO_FAULT_HANDLED) {
            continue;
        }
        if (res == IO_FAULT_ERROR) {
            LOG_ERR("%s: vcpu%u: port %s of %u bytes at %#x: %s handler returned IO_FAULT_ERROR; "
                    "stopping the VM",
                    vm->name, vcpu->id, exit->io.is_out ? "write" : "read", size, port,
                    iface.desc ? iface.desc : "device");
            vm_request_stop(vm, VM_STOP_ERROR);
            return VCPU_STOP;
        }
        /* Unregistered or unhandled: reads float high, writes vanish (PC bus). */
        if (!exit->io.is_out) {
            memset(p, 0xff, size);
        }
        vm_stat_inc(vm, found ? VM_STAT_PIO_UNHANDLED : VM_STAT_PIO_UNASSIGNED);
        LOG_DEBUG_RL(&vm->rl_pio, "%s: vcpu%u: port %s of %u bytes at %#x (value %#x) %s", vm->name,
                     vcpu->id, exit->io.is_out ? "write" : "read", size, port,
                     exit->io.is_out ? value : 0u,
                     found ? "not handled by its device" : "is unregistered");
    }
    return VCPU_CONTINUE;
}
