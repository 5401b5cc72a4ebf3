/*
 * irq.c - interrupt lines, MSIs and eventfd bindings: thin checks in front
 * of the backend (see vmmkit/irq.h and vmmkit/eventfd.h).
 */
#include <errno.h>
#include <string.h>

#include <vmmkit/eventfd.h>
#include <vmmkit/irq.h>
#include <vmmkit/log.h>

#include "core/vm_priv.h"

int vm_irq_set_level(vm_t *vm, uint32_t irq, int level)
{
    if (!vm) {
        return -EINVAL;
    }
    if (!HV_HAS(vm, irq_line)) {
        return -EOPNOTSUPP;
    }
    return vm->hv->irq_line(vm->hv_vm, irq, level ? 1 : 0);
}

int vm_irq_pulse(vm_t *vm, uint32_t irq)
{
    int rc = vm_irq_set_level(vm, irq, 1);
    if (rc == 0) {
        rc = vm_irq_set_level(vm, irq, 0);
    }
    return rc;
}

int vm_irq_msi(vm_t *vm, uint64_t addr, uint32_t data)
{
    return vm_irq_msi_devid(vm, addr, data, 0);
}

int vm_irq_msi_devid(vm_t *vm, uint64_t addr, uint32_t data, uint32_t devid)
{
    if (!vm) {
        return -EINVAL;
    }
    if (!HV_HAS(vm, msi)) {
        return -EOPNOTSUPP;
    }
    return vm->hv->msi(vm->hv_vm, addr, data, devid);
}

static int ioeventfd_check(const vm_ioeventfd_t *ev)
{
    if (!ev || ev->fd < 0) {
        return -EINVAL;
    }
    switch (ev->len) {
    case 0:
        return ev->pio || ev->has_datamatch ? -EINVAL : 0;
    case 1:
    case 2:
    case 4:
        return 0;
    case 8:
        return ev->pio ? -EINVAL : 0;
    default:
        return -EINVAL;
    }
}

int vm_ioeventfd_bind(vm_t *vm, const vm_ioeventfd_t *ev)
{
    int rc = ioeventfd_check(ev);
    if (!vm || rc < 0) {
        return -EINVAL;
    }
    if (!HV_HAS(vm, ioeventfd)) {
        return -EOPNOTSUPP;
    }
    rc = vm->hv->ioeventfd(vm->hv_vm, ev, true);
    if (rc < 0 && rc != -EOPNOTSUPP) {
        LOG_WARN("%s: binding an eventfd to %s %#lx (%u bytes): %s", vm->name,
                 ev->pio ? "port" : "MMIO", (unsigned long)ev->addr, ev->len, strerror(-rc));
    }
    return rc;
}

int vm_ioeventfd_unbind(vm_t *vm, const vm_ioeventfd_t *ev)
{
    int rc = ioeventfd_check(ev);
    if (!vm || rc < 0) {
        return -EINVAL;
    }
    if (!HV_HAS(vm, ioeventfd)) {
        return -EOPNOTSUPP;
    }
    return vm->hv->ioeventfd(vm->hv_vm, ev, false);
}

int vm_irqfd_bind(vm_t *vm, int fd, uint32_t irq, int resample_fd)
{
    if (!vm || fd < 0) {
        return -EINVAL;
    }
    if (!HV_HAS(vm, irqfd)) {
        return -EOPNOTSUPP;
    }
    int rc = vm->hv->irqfd(vm->hv_vm, fd, irq, resample_fd, true);
    if (rc < 0 && rc != -EOPNOTSUPP) {
        LOG_WARN("%s: binding an eventfd to interrupt line %u: %s", vm->name, irq, strerror(-rc));
    }
    return rc;
}

int vm_irqfd_unbind(vm_t *vm, int fd, uint32_t irq)
{
    if (!vm || fd < 0) {
        return -EINVAL;
    }
    if (!HV_HAS(vm, irqfd)) {
        return -EOPNOTSUPP;
    }
    return vm->hv->irqfd(vm->hv_vm, fd, irq, -1, false);
}
