/*
 * eventfd.h - doorbells and interrupts that bypass the vCPU exit loop.
 *
 * An ioeventfd turns a guest write to a doorbell (a virtio queue-notify
 * register) into an eventfd signal that the hypervisor raises without
 * returning to user space: an I/O thread polls the eventfd, and the vCPU
 * goes straight back into the guest.  While it is bound, matching writes no
 * longer reach the reservation's fault callback (or the port handler).
 *
 * An irqfd is the other direction: writing to the eventfd drives an
 * interrupt line from any thread without a system call into the VM.  For a
 * level-triggered line pass a resample eventfd; the hypervisor signals it
 * when the guest acknowledges the interrupt, and the device re-asserts the
 * line (writes the irqfd again) if it is still pending.
 *
 * A backend without eventfds returns -EOPNOTSUPP; devices then keep using
 * fault callbacks and vm_irq_set_level(), which always work.
 */
#ifndef VMMKIT_EVENTFD_H
#define VMMKIT_EVENTFD_H

#include <stdbool.h>
#include <stdint.h>

#include <vmmkit/vm.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A doorbell. */
typedef struct vm_ioeventfd {
    int fd;             /* eventfd(2) to signal */
    uint64_t addr;      /* guest-physical address (or port number when @pio) */
    uint32_t len;       /* width of the write: 1, 2, 4 or 8 (0 = any width, MMIO only) */
    bool pio;           /* x86 port I/O instead of MMIO */
    bool has_datamatch; /* only writes of exactly @datamatch signal */
    uint64_t datamatch;
} vm_ioeventfd_t;

/*
 * Bind / unbind a doorbell (unbind takes the same description).
 * Returns 0, -EOPNOTSUPP (backend without ioeventfd: keep using the fault
 * callback), -EEXIST (already bound) or another negative errno.
 */
int vm_ioeventfd_bind(vm_t *vm, const vm_ioeventfd_t *ev);
int vm_ioeventfd_unbind(vm_t *vm, const vm_ioeventfd_t *ev);

/*
 * Bind eventfd @fd to interrupt line @irq (numbered as in irq.h).
 * @resample_fd is -1 for an edge (the line is pulsed on each write) or an
 * eventfd the hypervisor signals when a level-triggered line is acknowledged.
 * Returns 0, -EOPNOTSUPP (no irqfd: use vm_irq_set_level) or -errno.
 */
int vm_irqfd_bind(vm_t *vm, int fd, uint32_t irq, int resample_fd);
int vm_irqfd_unbind(vm_t *vm, int fd, uint32_t irq);

#ifdef __cplusplus
}
#endif
#endif
