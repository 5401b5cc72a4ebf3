/*
 * virtio_mmio.h - the virtio-mmio transport, version 2 (virtio 1.2, 4.2).
 *
 * virtio_mmio_register() puts a virtio_device_t (virtio.h) at a guest-
 * physical base address: a 0x200-byte window of 32-bit registers (0x000..
 * 0x0ff) and the device's config space (0x100..0x1ff), trapped through a
 * reservation's fault callback (guest_memory.h), and one interrupt line.
 * The guest finds it through a device-tree node the board writes:
 *
 *     virtio_mmio@a000000 {
 *         compatible = "virtio,mmio";
 *         reg = <0x0 0xa000000 0x0 0x200>;
 *         interrupts = <GIC_SPI (intid - 32) IRQ_TYPE_EDGE_RISING>;
 *         dma-coherent;
 *     };
 *
 * (arm64_fdt_virtio_mmio_t with level_triggered = false).
 *
 * Fast paths.  With an I/O thread and a backend that has ioeventfds, each
 * queue's QueueNotify write (value = queue index) signals an eventfd that
 * the I/O thread serves, so a kick costs the vCPU no exit to user space;
 * otherwise kicks arrive as MMIO exits and are served on the vCPU thread by
 * the same code.  The interrupt goes through an irqfd when the backend has
 * one, else through vm_irq_pulse().  It is edge-triggered: each used-buffer
 * or config-change event sets its bit in InterruptStatus and pulses the
 * line; InterruptACK clears bits (4.2.2, 4.2.3.4).
 *
 * The guest is held to the register rules of 4.2.2.2: control registers
 * take 32-bit aligned accesses only, read-only registers ignore writes,
 * write-only ones read 0, queue configuration is frozen while QueueReady is
 * 1.  Anything else is ignored, named (virtio_mmio_error_t), counted and
 * logged rate-limited; nothing stops the VM.  Legacy (version 1) drivers,
 * shared memory regions (SHMLen/SHMBase read all-ones, "no region") and
 * VIRTIO_F_RING_RESET (QueueReset reads 0) are not supported.
 *
 * Threads: register accesses come from vCPU threads, kicks from the I/O
 * thread; all of it runs under vdev->lock, which also guards this
 * transport's own registers.
 */
#ifndef VMMKIT_VIRTIO_MMIO_H
#define VMMKIT_VIRTIO_MMIO_H

#include <stdint.h>

#include <vmmkit/iothread.h>
#include <vmmkit/virtio.h>
#include <vmmkit/vm.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Register offsets from the window's base (4.2.2, table "MMIO Device Register Layout"). */
#define VIRTIO_MMIO_REG_MAGIC_VALUE 0x000u         /* R  */
#define VIRTIO_MMIO_REG_VERSION 0x004u             /* R  */
#define VIRTIO_MMIO_REG_DEVICE_ID 0x008u           /* R  */
#define VIRTIO_MMIO_REG_VENDOR_ID 0x00cu           /* R  */
#define VIRTIO_MMIO_REG_DEVICE_FEATURES 0x010u     /* R  */
#define VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL 0x014u /* W  */
#define VIRTIO_MMIO_REG_DRIVER_FEATURES 0x020u     /* W  */
#define VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL 0x024u /* W  */
#define VIRTIO_MMIO_REG_QUEUE_SEL 0x030u           /* W  */
#define VIRTIO_MMIO_REG_QUEUE_NUM_MAX 0x034u       /* R  */
#define VIRTIO_MMIO_REG_QUEUE_NUM 0x038u           /* W  */
#define VIRTIO_MMIO_REG_QUEUE_READY 0x044u         /* RW */
#define VIRTIO_MMIO_REG_QUEUE_NOTIFY 0x050u        /* W  */
#define VIRTIO_MMIO_REG_INTERRUPT_STATUS 0x060u    /* R  */
#define VIRTIO_MMIO_REG_INTERRUPT_ACK 0x064u       /* W  */
#define VIRTIO_MMIO_REG_STATUS 0x070u              /* RW */
#define VIRTIO_MMIO_REG_QUEUE_DESC_LOW 0x080u      /* W  */
#define VIRTIO_MMIO_REG_QUEUE_DESC_HIGH 0x084u     /* W  */
#define VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW 0x090u    /* W  */
#define VIRTIO_MMIO_REG_QUEUE_DRIVER_HIGH 0x094u   /* W  */
#define VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW 0x0a0u    /* W  */
#define VIRTIO_MMIO_REG_QUEUE_DEVICE_HIGH 0x0a4u   /* W  */
#define VIRTIO_MMIO_REG_SHM_SEL 0x0acu             /* W  */
#define VIRTIO_MMIO_REG_SHM_LEN_LOW 0x0b0u         /* R  */
#define VIRTIO_MMIO_REG_SHM_LEN_HIGH 0x0b4u        /* R  */
#define VIRTIO_MMIO_REG_SHM_BASE_LOW 0x0b8u        /* R  */
#define VIRTIO_MMIO_REG_SHM_BASE_HIGH 0x0bcu       /* R  */
#define VIRTIO_MMIO_REG_QUEUE_RESET 0x0c0u         /* RW */
#define VIRTIO_MMIO_REG_CONFIG_GENERATION 0x0fcu   /* R  */
#define VIRTIO_MMIO_REG_CONFIG 0x100u              /* RW, device config space */

#define VIRTIO_MMIO_MAGIC 0x74726976u /* "virt", little-endian */
#define VIRTIO_MMIO_VERSION 2u
/* VendorID: "VMKT" read as a little-endian word (the spec leaves it free; Linux ignores it). */
#define VIRTIO_MMIO_VENDOR 0x544b4d56u
#define VIRTIO_MMIO_SIZE 0x200u /* the window; config space holds up to 0x100 bytes */

/* InterruptStatus / InterruptACK bits (4.2.2). */
#define VIRTIO_MMIO_INT_VRING 1u  /* used-buffer notification */
#define VIRTIO_MMIO_INT_CONFIG 2u /* configuration-change notification */

/* Every way a driver can misuse the MMIO register window (counted per transport). */
typedef enum virtio_mmio_error {
    VIRTIO_MMIO_E_REG_WIDTH = 0,  /* a control register access not 32-bit wide and aligned */
    VIRTIO_MMIO_E_REG_UNKNOWN,    /* an offset that names no (supported) register */
    VIRTIO_MMIO_E_REG_READ_ONLY,  /* a write to a read-only register */
    VIRTIO_MMIO_E_REG_WRITE_ONLY, /* a read of a write-only register (reads 0) */
    VIRTIO_MMIO_E_QUEUE_SEL,      /* a queue register written with QueueSel past the last queue */
    VIRTIO_MMIO_E_QUEUE_LIVE,     /* queue configuration written while QueueReady is 1 */
    VIRTIO_MMIO_E_VALUE, /* a value the register cannot take (QueueReady 2, Status 0x100) */
    VIRTIO_MMIO_E_COUNT
} virtio_mmio_error_t;

typedef struct virtio_mmio virtio_mmio_t;

/*
 * Expose @vdev (initialised with virtio_device_init(), not yet on a
 * transport) to @vm's guest at [@base, @base + VIRTIO_MMIO_SIZE) with
 * interrupt line @intid (numbered as in irq.h: a GIC SPI INTID on arm64).
 * @io: the I/O thread that serves queue kicks through ioeventfds, or NULL
 * to take every kick as an MMIO exit on the vCPU thread.  Falls back
 * silently to exits / vm_irq_pulse() where the backend has no ioeventfd /
 * irqfd.  Call before vm_run().  Stores the transport in *@out.
 * Returns 0; -EINVAL (NULL argument, @base not 4-byte aligned, config
 * space over 0x100 bytes); -EBUSY (@vdev already has a transport); -EEXIST
 * (the window overlaps a reservation); -ENOMEM; or the errno of a failed
 * eventfd, ioeventfd, irqfd or I/O-thread operation.
 */
int virtio_mmio_register(vm_t *vm, virtio_device_t *vdev, uint64_t base, uint32_t intid,
                         iothread_t *io, virtio_mmio_t **out);

/*
 * Undo virtio_mmio_register(): stop the kicks (I/O thread, ioeventfds),
 * free the window, unbind the irqfd, detach @vdev (left in its current
 * state) and free @m.  NULL is a no-op.  Call while the VM does not run:
 * a vCPU may still be inside the fault callback until vm_run() returns.
 */
void virtio_mmio_unregister(virtio_mmio_t *m);

/*
 * Reset the device and the transport to power-on (status 0, queues off,
 * InterruptStatus 0), taking vdev->lock.  The core has no per-device reset:
 * a board calls this from its VM reset hook (vm_register_reset_hook).
 */
void virtio_mmio_reset(virtio_mmio_t *m);

/* The device behind @m, and the window's base address. */
virtio_device_t *virtio_mmio_device(const virtio_mmio_t *m);
uint64_t virtio_mmio_base(const virtio_mmio_t *m);

/* Whether kicks arrive on ioeventfds (true) or as MMIO exits, and the interrupt on an irqfd. */
bool virtio_mmio_has_ioeventfd(const virtio_mmio_t *m);
bool virtio_mmio_has_irqfd(const virtio_mmio_t *m);

/* Name of a reason ("reg-width", ...); "unknown" when out of range. */
const char *virtio_mmio_error_name(virtio_mmio_error_t err);

/* How often @err happened on @m (any thread). */
uint64_t virtio_mmio_error_count(const virtio_mmio_t *m, virtio_mmio_error_t err);

#ifdef __cplusplus
}
#endif
#endif
