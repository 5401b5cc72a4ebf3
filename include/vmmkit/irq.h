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

/* Set line @irq to @level (0 or 1).  Thread-safe.  Returns 0 or -errno. */
int vm_irq_set_level(vm_t *vm, uint32_t irq, int level);

/* Pulse line @irq (raise then lower), for edge semantics.  Returns 0 or -errno. */
int vm_irq_pulse(vm_t *vm, uint32_t irq);

#ifdef __cplusplus
}
#endif
#endif
