/*
 * virtio_queue.h - the split virtqueue (virtio 1.2, section 2.7), walked
 * with the guest treated as hostile.
 *
 * A device pops descriptor chains from the available ring, reads or writes
 * the chain's buffers, and pushes the chain's head to the used ring with the
 * number of bytes it wrote.  Everything the guest controls is checked: head
 * and next indices below the queue size, chains without loops and of bounded
 * length, no indirect table inside an indirect table (2.7.5.3.1), an
 * avail.idx that runs ahead by more than the queue size, every (address,
 * length) wholly inside guest RAM, buffer direction (device-readable ones
 * before device-writable ones, 2.7.4.2).  A violation is returned as a named
 * reason (virtq_error_t), counted per queue, and logged rate-limited; the
 * caller then returns the chain as used with length 0 (virtq_push(..., 0))
 * and may set DEVICE_NEEDS_RESET.  Nothing the guest writes makes the walker
 * loop, abort or touch memory outside guest RAM.
 *
 * Memory ordering (2.7.13): the avail ring index is read with acquire
 * semantics before the ring entries and descriptors it covers; used-ring
 * entries are written before used.idx is published with release semantics;
 * a full barrier separates publishing used.idx from reading the driver's
 * event index / flags that decide whether to interrupt.
 *
 * A queue is not thread-safe: one thread at a time works on it (the
 * device's lock).
 */
#ifndef VMMKIT_VIRTIO_QUEUE_H
#define VMMKIT_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vmmkit/log.h>
#include <vmmkit/vm.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VIRTQ_MAX_SIZE 32768u              /* 2.7: split queue sizes are powers of 2 up to 32768 */
#define VIRTQ_MAX_CHAIN_BUFS 256u          /* buffers a device takes in one chain */
#define VIRTQ_MAX_CHAIN_BYTES (256u << 20) /* total length of one chain */

/* Descriptor flags (2.7.5). */
#define VIRTQ_DESC_F_NEXT 1u
#define VIRTQ_DESC_F_WRITE 2u
#define VIRTQ_DESC_F_INDIRECT 4u

/* Every way a guest can break the split-ring protocol. */
typedef enum virtq_error {
    VIRTQ_OK = 0,
    VIRTQ_E_RING_ADDRESS,      /* a ring (desc/avail/used) is not in guest RAM or misaligned */
    VIRTQ_E_AVAIL_IDX_JUMP,    /* avail.idx ran ahead of us by more than the queue size */
    VIRTQ_E_HEAD_OUT_OF_RANGE, /* an available head index >= queue size */
    VIRTQ_E_NEXT_OUT_OF_RANGE, /* a descriptor's next >= table size */
    VIRTQ_E_CHAIN_LOOP,        /* more descriptors in a chain than the table holds */
    VIRTQ_E_CHAIN_TOO_LONG,    /* more than VIRTQ_MAX_CHAIN_BUFS buffers */
    VIRTQ_E_CHAIN_TOO_BIG,     /* more than VIRTQ_MAX_CHAIN_BYTES bytes, or a length overflow */
    VIRTQ_E_BUFFER_ADDRESS,    /* a buffer is not wholly in guest RAM */
    VIRTQ_E_INDIRECT_NESTED,   /* an indirect descriptor inside an indirect table */
    VIRTQ_E_INDIRECT_SIZE,     /* indirect table length 0, not a multiple of 16, or too big */
    VIRTQ_E_INDIRECT_NOT_NEGOTIATED, /* INDIRECT flag without VIRTIO_F_RING_INDIRECT_DESC */
    VIRTQ_E_INDIRECT_WITH_NEXT,      /* INDIRECT and NEXT both set (2.7.5.3.1) */
    VIRTQ_E_WRITE_BEFORE_READ,       /* a device-readable buffer after a device-writable one */
    VIRTQ_E_UNEXPECTED_WRITABLE,     /* the device needs read-only buffers here */
    VIRTQ_E_UNEXPECTED_READABLE,     /* the device needs write-only buffers here */
    VIRTQ_E_USED_LEN,                /* the device claimed to write more than the chain holds */
    VIRTQ_E_COUNT
} virtq_error_t;

/* One guest buffer, already translated: @addr is a host pointer into guest RAM. */
typedef struct virtq_buf {
    void *addr;
    uint32_t len;
    bool writable; /* device-writable (VIRTQ_DESC_F_WRITE) */
} virtq_buf_t;

/* One popped chain: readable buffers first, then writable ones. */
typedef struct virtq_chain {
    uint16_t head;
    unsigned int nr_bufs;
    unsigned int nr_readable; /* bufs[0..nr_readable) readable, the rest writable */
    uint32_t readable_len;    /* total bytes of the readable buffers */
    uint32_t writable_len;    /* total bytes of the writable buffers */
    virtq_buf_t bufs[VIRTQ_MAX_CHAIN_BUFS];
} virtq_chain_t;

typedef struct virtq {
    vm_t *vm;
    const char *name; /* for logs: "virtio-rng0.q0" (not copied) */
    uint16_t size;    /* queue size the driver chose */
    bool ready;       /* enabled by the driver */
    bool event_idx;   /* VIRTIO_F_RING_EVENT_IDX negotiated */
    bool indirect;    /* VIRTIO_F_RING_INDIRECT_DESC negotiated */
    uint64_t desc_gpa, avail_gpa, used_gpa;
    /* host pointers, valid while ready */
    void *desc, *avail, *used;
    uint16_t last_avail;     /* next available entry to consume */
    uint16_t used_idx;       /* our copy of used.idx */
    uint16_t signalled_used; /* used.idx at the last virtq_should_notify() */
    bool signalled_valid;
    bool broken; /* a ring-level violation: no more pops until reset */
    uint64_t errors[VIRTQ_E_COUNT];
    vmm_ratelimit_t log_rl;
} virtq_t;

/* Name of a reason ("chain-loop", ...). */
const char *virtq_error_name(virtq_error_t err);

/*
 * Make @q live with the ring addresses and size the driver configured.
 * Checks the size (power of 2, 1..VIRTQ_MAX_SIZE), alignment (desc 16,
 * avail 2, used 4: 2.7) and that each ring, including the trailing
 * used_event / avail_event fields, lies wholly in guest RAM.  Keeps
 * q->name and the counters; starts from indices 0.
 * Returns 0 (VIRTQ_OK); -EINVAL for a bad size (or NULL @q / @vm); or
 * -VIRTQ_E_RING_ADDRESS (counted, logged) for a ring outside RAM or
 * misaligned, and the queue is then broken and not ready.
 */
int virtq_enable(virtq_t *q, vm_t *vm, uint16_t size, uint64_t desc_gpa, uint64_t avail_gpa,
                 uint64_t used_gpa, bool event_idx, bool indirect);

/*
 * Back to the reset state (not ready, not broken, no rings, indices 0);
 * q->vm, q->name and the counters are kept.  Also initialises a zeroed
 * queue.
 */
void virtq_reset(virtq_t *q);

/*
 * Pop the next available chain into @chain.  Returns 1 with a chain, 0 when
 * the ring is empty (or the queue is not ready, or broken), or a negative
 * virtq_error_t when the guest broke the protocol.  On a chain-level error
 * the entry is consumed, @chain->head is valid (the caller pushes it back
 * with length 0) and @chain holds no buffers; on a ring-level error
 * (AVAIL_IDX_JUMP, HEAD_OUT_OF_RANGE) nothing is consumed, the queue is
 * marked broken (q->broken) and the caller should set DEVICE_NEEDS_RESET:
 * a broken queue pops nothing until virtq_reset() / virtq_enable().
 */
int virtq_pop(virtq_t *q, virtq_chain_t *chain);

/*
 * Return @head to the guest as used, with @written bytes written (the
 * caller keeps it within the chain's writable length; virtq_push_chain()
 * does that for it).  Writes the used element, then publishes used.idx
 * with release semantics (2.7.8.2).  A no-op on a queue that is not ready.
 */
void virtq_push(virtq_t *q, uint16_t head, uint32_t written);

/*
 * virtq_push() for a popped @chain: a @written beyond chain->writable_len
 * is a device bug, counted and logged as VIRTQ_E_USED_LEN and clamped
 * (2.7.8.2: the device must not claim more than it wrote).
 */
void virtq_push_chain(virtq_t *q, const virtq_chain_t *chain, uint32_t written);

/*
 * Count @err against @q and log it rate-limited with the queue's name, for
 * the violations only a device can see (UNEXPECTED_WRITABLE when it needs
 * read-only buffers, UNEXPECTED_READABLE, ...).  Returns -@err.
 */
int virtq_report_error(virtq_t *q, virtq_error_t err);

/*
 * Whether the driver wants an interrupt for what was pushed since the last
 * one (avail.flags NO_INTERRUPT, or used_event with EVENT_IDX: 2.7.7).
 * Call after a batch of pushes; when it returns true the caller raises the
 * queue's interrupt.
 */
bool virtq_should_notify(virtq_t *q);

/*
 * With EVENT_IDX, tell the driver which avail index we want a notification
 * at (avail_event): call before sleeping on an empty queue, then pop once
 * more to close the race (2.7.10).  No-op without EVENT_IDX.
 */
void virtq_enable_notify(virtq_t *q);

/*
 * Copy helpers over a chain: gather up to @len readable bytes starting at
 * byte @offset of the readable part, or scatter up to @len bytes into the
 * writable part starting at its byte @offset.  Return the bytes copied
 * (short when the part ends first; 0 when @offset is past its end).
 */
size_t virtq_chain_read(const virtq_chain_t *c, size_t offset, void *dst, size_t len);
size_t virtq_chain_write(const virtq_chain_t *c, size_t offset, const void *src, size_t len);

#ifdef __cplusplus
}
#endif
#endif
