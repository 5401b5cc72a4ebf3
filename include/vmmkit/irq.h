/*
 * irq.h - interrupt lines into the guest's interrupt controller.
 *
 * Devices raise and lower level-triggered lines by number.  The number is
 * the controller's own: on arm64 the GIC INTID of a shared peripheral
 * interrupt (32..1019); on x86 the IOAPIC GSI.  The core passes the line to
 * the backend, which owns the in-kernel interrupt controller.
 */
#ifndef VMMKIT_IRQ_H
#define VMMKIT_IRQ_H

#include <stdint.h>

#include <vmmkit/vm.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Set line @irq to @level (0 or 1; any non-zero is 1).  Thread-safe.
 * Returns 0, -EINVAL (no such line), -ENXIO (no interrupt controller: x86
 * without vm_x86_create_irqchip(), arm64 before vm_arm64_gic_create()) or
 * -errno.
 */
int vm_irq_set_level(vm_t *vm, uint32_t irq, int level);

/* Pulse line @irq (raise then lower), for edge semantics.  Returns 0 or -errno. */
int vm_irq_pulse(vm_t *vm, uint32_t irq);

/*
 * Deliver a message-signalled interrupt: the guest's write of @data to
 * @addr (x86: the LAPIC MSI address window; arm64 needs a GIC ITS, which
 * vmmkit does not create yet).  Thread-safe.  Returns 0, -EOPNOTSUPP or
 * -errno.
 */
int vm_irq_msi(vm_t *vm, uint64_t addr, uint32_t data);

/*
 * The same from a device with ID @devid (PCI: the requester ID, bus << 8 |
 * devfn), which an arm64 GIC ITS needs to translate the MSI; ignored where
 * the interrupt controller does not use it.
 */
int vm_irq_msi_devid(vm_t *vm, uint64_t addr, uint32_t data, uint32_t devid);

#ifdef __cplusplus
}
#endif
#endif
