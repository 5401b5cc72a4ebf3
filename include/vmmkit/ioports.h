/*
 * ioports.h - x86 port I/O dispatch.
 *
 * A port range is registered with in/out callbacks; a guest IN/OUT to a port
 * in the range calls them.  Ranges may not overlap.  Lookups go through an
 * interval tree under a reader-writer lock; handlers run with it released.
 * An access to an unregistered port reads all-ones and writes are dropped
 * (as on a PC bus), counted and logged at debug level.  REP INS/OUTS call
 * the handler once per element.  On architectures without port I/O
 * the registry exists but is never reached.
 */
#ifndef VMMKIT_IOPORTS_H
#define VMMKIT_IOPORTS_H

#include <stdint.h>

#include <vmmkit/vm.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ioport_fault_result {
    IO_FAULT_HANDLED,
    IO_FAULT_UNHANDLED, /* treated like an unregistered port */
    IO_FAULT_ERROR,     /* fatal: the VM stops with VM_STOP_ERROR */
} ioport_fault_result_t;

/* @size is 1, 2 or 4; @port_no is the absolute port. */
typedef ioport_fault_result_t (*ioport_in_fn)(vm_vcpu_t *vcpu, void *cookie, unsigned int port_no,
                                              unsigned int size, unsigned int *result);
typedef ioport_fault_result_t (*ioport_out_fn)(vm_vcpu_t *vcpu, void *cookie, unsigned int port_no,
                                               unsigned int size, unsigned int value);

typedef struct vm_ioport_range {
    uint16_t start; /* first port */
    uint16_t end;   /* last port, inclusive */
} vm_ioport_range_t;

typedef struct vm_ioport_interface {
    void *cookie;
    ioport_in_fn port_in;
    ioport_out_fn port_out;
    const char *desc; /* for logs; not copied */
} vm_ioport_interface_t;

/*
 * Register a port range.  Returns 0, -EINVAL (start > end), -EEXIST
 * (overlap) or -ENOMEM.  A callback left NULL makes that direction behave as
 * an unregistered port.  An access must lie wholly inside one range (a
 * 4-byte access at the range's last port counts as unregistered).
 */
int vm_io_port_add_handler(vm_t *vm, vm_ioport_range_t range, vm_ioport_interface_t iface);

/*
 * Remove the range that starts at @start (for a device whose I/O BAR moves).
 * A handler already running on another vCPU may still finish: the cookie must
 * stay valid until vm_run() returns.  Returns 0 or -ENOENT.
 */
int vm_io_port_remove_handler(vm_t *vm, uint16_t start);

#ifdef __cplusplus
}
#endif
#endif
