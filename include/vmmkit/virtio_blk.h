/*
 * virtio_blk.h - the virtio block device (virtio 1.2, 5.2) over a raw
 * image file or a host block device, with io_uring as the back end.
 *
 * One queue (requestq).  Each chain is one request: a 16-byte header
 * (struct virtio_blk_req: le32 type, le32 reserved, le64 sector), the data,
 * and a status byte the device writes last (5.2.6).  The device serves
 * reads (IN), writes (OUT), FLUSH, GET_ID, DISCARD and WRITE_ZEROES; any
 * other type is answered VIRTIO_BLK_S_UNSUPP.  It offers SIZE_MAX,
 * SEG_MAX, BLK_SIZE, FLUSH, GET_ID's serial, DISCARD and WRITE_ZEROES, or
 * RO (and neither DISCARD nor WRITE_ZEROES) for a read-only disk.  The
 * config space is read-only: no CONFIG_WCE, so the driver cannot turn the
 * write cache off, and FLUSH is how it makes writes stable.  A driver that
 * does not accept FLUSH gets write-through behaviour instead (5.2.6.2):
 * every write completes only once it is on stable storage.
 *
 * Data moves without copies: the chain's buffers are host pointers into
 * guest RAM and go to io_uring as the iovecs of a readv / writev at
 * sector * 512.  FLUSH is an fdatasync (IORING_OP_FSYNC, DATASYNC);
 * DISCARD punches a hole in the file (fallocate PUNCH_HOLE | KEEP_SIZE);
 * WRITE_ZEROES punches one too when the driver set the unmap flag, and
 * otherwise zeroes the range in place (ZERO_RANGE | KEEP_SIZE; on a file
 * system without ZERO_RANGE it falls back to punching a hole, which also
 * reads back as zeroes).  Up to VIRTIO_BLK_QUEUE_DEPTH requests are in
 * flight at once and complete in any order.  When the slots or the
 * io_uring run out, the device stops taking chains and resumes as
 * completions free room: nothing is dropped and nothing polls.
 *
 * Threads and locking: everything runs under the device's vdev->lock
 * (virtio.h).  Requests are parsed and submitted in queue_notify (the I/O
 * thread serving the queue's ioeventfd, or a vCPU thread).  The io_uring
 * signals an eventfd that the I/O thread given at creation watches; its
 * handler takes the lock, reaps the completions, writes each status byte,
 * returns the chains as used and interrupts the driver once per batch.
 * A device reset (driver status 0, VM reset) waits, under the lock, for
 * every request still in flight and drops its result, so no I/O writes
 * into guest RAM or into a re-initialised ring after the reset returns.
 *
 * Errors: the guest may be hostile.  A request it gets wrong (a short
 * header, no status byte, a data length that is not a multiple of 512, a
 * range past the capacity, a write to a read-only disk, a bad discard
 * segment) is answered with VIRTIO_BLK_S_IOERR or _UNSUPP, counted
 * (virtio_blk_stat()) and logged rate-limited; a chain the queue refuses
 * is returned used with length 0; a broken ring puts the device into
 * DEVICE_NEEDS_RESET.  A host-side failure (EIO, ENOSPC, a short read or
 * write, as at the end of a file that shrank) becomes VIRTIO_BLK_S_IOERR
 * for that request plus a rate-limited log line; short transfers are not
 * retried.  Nothing stops the VMM.
 */
#ifndef VMMKIT_VIRTIO_BLK_H
#define VMMKIT_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include <vmmkit/iothread.h>
#include <vmmkit/virtio.h>
#include <vmmkit/vm.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types (5.2.6). */
#define VIRTIO_BLK_T_IN 0u
#define VIRTIO_BLK_T_OUT 1u
#define VIRTIO_BLK_T_FLUSH 4u
#define VIRTIO_BLK_T_GET_ID 8u
#define VIRTIO_BLK_T_DISCARD 11u
#define VIRTIO_BLK_T_WRITE_ZEROES 13u

/* Request status (5.2.6). */
#define VIRTIO_BLK_S_OK 0u
#define VIRTIO_BLK_S_IOERR 1u
#define VIRTIO_BLK_S_UNSUPP 2u

/* The unmap flag of a discard / write-zeroes segment (5.2.6). */
#define VIRTIO_BLK_WZ_FLAG_UNMAP 1u

#define VIRTIO_BLK_SECTOR_SIZE 512u
#define VIRTIO_BLK_REQ_HDR_SIZE 16u /* struct virtio_blk_req up to data */
#define VIRTIO_BLK_SEGMENT_SIZE 16u /* struct virtio_blk_discard_write_zeroes */
#define VIRTIO_BLK_ID_BYTES 20u     /* GET_ID: NUL-padded, no NUL when 20 long */

/* Limits, as the device advertises them in its config space. */
#define VIRTIO_BLK_QUEUE_SIZE 256u  /* largest requestq */
#define VIRTIO_BLK_QUEUE_DEPTH 128u /* requests in flight at most */
#define VIRTIO_BLK_SEG_MAX                                                                         \
    (VIRTQ_MAX_CHAIN_BUFS - 2)         /* data buffers: the chain less header                      \
                                        * and status */
#define VIRTIO_BLK_SIZE_MAX (1u << 20) /* bytes in one data buffer */
#define VIRTIO_BLK_MAX_DISCARD_SEG                                                                 \
    16u                                           /* segments in one discard / write               \
                                                   * zeroes request */
#define VIRTIO_BLK_MAX_DISCARD_SECTORS (1u << 22) /* sectors in one segment (2 GiB) */

/* Config space (5.2.4) as the device fills it: 60 bytes, up to unused1. */
#define VIRTIO_BLK_CONFIG_SIZE 60u

typedef struct virtio_blk virtio_blk_t;

/* The host side of one disk. */
typedef struct virtio_blk_config {
    const char *path;   /* raw image file or block device; required */
    bool read_only;     /* open O_RDONLY, offer VIRTIO_BLK_F_RO, refuse every write */
    const char *serial; /* GET_ID string, ASCII, truncated to VIRTIO_BLK_ID_BYTES;
                         * NULL: "vmmkit-blk<index>" */
    iothread_t *io;     /* the I/O thread that reaps completions.  NULL only for
                         * tests and fuzzers that reap with virtio_blk_drain() */
} virtio_blk_config_t;

/* What the device counts (virtio_blk_stat()). */
typedef enum virtio_blk_stat {
    VIRTIO_BLK_STAT_READS = 0,      /* IN requests sent to the host */
    VIRTIO_BLK_STAT_WRITES,         /* OUT requests sent to the host */
    VIRTIO_BLK_STAT_FLUSHES,        /* FLUSH requests sent to the host */
    VIRTIO_BLK_STAT_DISCARDS,       /* DISCARD requests sent to the host */
    VIRTIO_BLK_STAT_WRITE_ZEROES,   /* WRITE_ZEROES requests sent to the host */
    VIRTIO_BLK_STAT_GET_ID,         /* GET_ID requests answered */
    VIRTIO_BLK_STAT_BYTES_READ,     /* bytes of IN requests that succeeded */
    VIRTIO_BLK_STAT_BYTES_WRITTEN,  /* bytes of OUT requests that succeeded */
    VIRTIO_BLK_STAT_IO_ERRORS,      /* requests the host failed (an error or a short transfer):
                                     * VIRTIO_BLK_S_IOERR */
    VIRTIO_BLK_STAT_IN_FLIGHT_PEAK, /* most requests in flight at once (a maximum) */
    VIRTIO_BLK_STAT_STALLS,         /* times the device stopped taking chains until
                                     * completions freed room */
    VIRTIO_BLK_STAT_DROPPED,        /* completions dropped: the device was reset while the
                                     * request was in flight, or its queue went away */
    /* Guest misbehaviour: */
    VIRTIO_BLK_STAT_REFUSED,      /* a chain the queue refused (virtq_error_t): used with 0 */
    VIRTIO_BLK_STAT_NO_STATUS,    /* a chain without a device-writable byte for the status:
                                   * used with 0 */
    VIRTIO_BLK_STAT_BAD_REQUEST,  /* a short header, a data length that is not a multiple
                                   * of 512 (of 16 for segments), too many or too big
                                   * segments: IOERR */
    VIRTIO_BLK_STAT_OUT_OF_RANGE, /* sectors past the capacity: IOERR */
    VIRTIO_BLK_STAT_READ_ONLY,    /* OUT, DISCARD or WRITE_ZEROES on a read-only disk: IOERR */
    VIRTIO_BLK_STAT_UNSUPPORTED,  /* an unknown type, a feature not negotiated, reserved
                                   * segment flags, unmap on a discard: UNSUPP */
    VIRTIO_BLK_STAT_RING_BROKEN,  /* a ring-level error: DEVICE_NEEDS_RESET */
    VIRTIO_BLK_STAT_COUNT
} virtio_blk_stat_t;

/*
 * Create virtio-blk number @index (named "virtio-blk<index>") for @vm over
 * @cfg->path.  Opens the file (O_RDWR, or O_RDONLY when @cfg->read_only;
 * O_CLOEXEC), sizes it (fstat; BLKGETSIZE64 and the logical block size
 * for a block device; a size that is not a multiple of 512 loses its
 * tail, with a warning), sets up the io_uring and starts watching its
 * completions on @cfg->io.  The strings in @cfg are copied.
 * Returns 0 and the device in *@out; -EINVAL (no @vm, @cfg, path or
 * @out), -ENOTBLK (neither a regular file nor a block device), -EISDIR,
 * the open's or io_uring's -errno (-ENOENT, -EACCES, -EROFS, ...) or
 * -ENOMEM.  The caller prints the message.
 */
int virtio_blk_create(vm_t *vm, unsigned int index, const virtio_blk_config_t *cfg,
                      virtio_blk_t **out);

/* The transport-independent device, to register with a transport. */
virtio_device_t *virtio_blk_device(virtio_blk_t *blk);

/* Capacity in 512-byte sectors, as the config space reports it. */
uint64_t virtio_blk_capacity(const virtio_blk_t *blk);

/* Counter @stat since creation (any thread; relaxed reads). */
uint64_t virtio_blk_stat(const virtio_blk_t *blk, virtio_blk_stat_t stat);

/* Name of @stat ("reads", ...); "unknown" when out of range. */
const char *virtio_blk_stat_name(virtio_blk_stat_t stat);

/*
 * Complete every request in flight on the calling thread: wait for the
 * host, write the status bytes, return the chains as used and interrupt
 * the driver, exactly as the I/O thread would, then take any chains that
 * waited for room, until nothing is in flight.  Takes vdev->lock: call it
 * without.  For tests and fuzzers (and a device created without an I/O
 * thread); harmless beside the I/O thread.  Returns the number of
 * requests it completed.
 */
unsigned int virtio_blk_drain(virtio_blk_t *blk);

/*
 * Free the device: stop watching completions, wait for requests still in
 * flight (their results are dropped), close the file.  Unregister it from
 * its transport (and remove its ioeventfd handler) first: no notification
 * may be in flight.  Call it without vdev->lock held.
 */
void virtio_blk_destroy(virtio_blk_t *blk);

#ifdef __cplusplus
}
#endif
#endif
