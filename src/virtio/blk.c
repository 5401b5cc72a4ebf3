/*
 * blk.c - the virtio block device (virtio 1.2, 5.2; see virtio_blk.h).
 *
 * A request lives in one of VIRTIO_BLK_QUEUE_DEPTH slots from the moment
 * its chain is popped until it is returned as used.  The chain is popped
 * straight into its slot, and the slot keeps the iovecs io_uring reads or
 * writes through, the status byte's address and the host operations still
 * outstanding.  Most requests are one operation (a readv, a writev, an
 * fsync); a discard or write-zeroes request is one fallocate per segment,
 * and, when the driver did not accept FLUSH, one fdatasync after them.
 * Each operation's user_data names its slot, the operation and the
 * device's generation, which every reset moves on, so a completion can
 * never be mistaken for a later request in the same slot.
 *
 * Room: a request is popped only when a slot is free and the io_uring has
 * room for the most operations one request can need
 * (VIRTIO_BLK_MAX_DISCARD_SEG) beside all those outstanding, so preparing
 * an operation never finds the submission queue full and the completion
 * queue (twice the submission queue) never overflows.  Without room the
 * device marks itself stalled and stops popping; completions resume it.
 *
 * Locking: everything here runs with vdev->lock held (the common layer's
 * callbacks; the completion handler and virtio_blk_drain() take it), which
 * guards the slots, the io_uring (neither its submission nor its
 * completion side is thread-safe) and the state below.  Counters are
 * atomics so any thread may read them.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/falloc.h>
#include <linux/fs.h>

#include <vmmkit/log.h>
#include <vmmkit/virtio_blk.h>

#define BLK_QUEUE 0u /* requestq (5.2.2) */

/* io_uring sizing (see the top of the file). */
#define RING_ENTRIES 256u
#define MAX_OPS_PER_REQ VIRTIO_BLK_MAX_DISCARD_SEG
#define OP_SYNC 0xffffu /* the operation index of a write-through fdatasync */

/* Config space offsets (5.2.4). */
#define CFG_CAPACITY 0u
#define CFG_SIZE_MAX 8u
#define CFG_SEG_MAX 12u
#define CFG_BLK_SIZE 20u
#define CFG_NUM_QUEUES 34u
#define CFG_MAX_DISCARD_SECTORS 36u
#define CFG_MAX_DISCARD_SEG 40u
#define CFG_DISCARD_SECTOR_ALIGNMENT 44u
#define CFG_MAX_WRITE_ZEROES_SECTORS 48u
#define CFG_MAX_WRITE_ZEROES_SEG 52u
#define CFG_WRITE_ZEROES_MAY_UNMAP 56u

#define WAIT_WARN_SECONDS 5 /* a reset that waits this long for the host says so */

/* One fallocate of a discard / write-zeroes request, in bytes. */
struct blk_extent {
    uint64_t offset, len;
    int mode; /* FALLOC_FL_* */
};

/* One request, from pop to push. */
struct blk_req {
    virtq_chain_t chain;
    struct iovec iov[VIRTQ_MAX_CHAIN_BUFS];
    unsigned int niov;
    struct blk_extent ext[MAX_OPS_PER_REQ];
    uint8_t *status;  /* the chain's last writable byte */
    const void *ring; /* the queue's used ring when popped: pushes go back only there */
    uint32_t type;
    uint64_t sector, len; /* for counters and log lines */
    uint32_t used_len;    /* bytes written into the chain when it succeeds */
    unsigned int pending; /* operations submitted, not yet completed */
    uint32_t gen;
    uint8_t result;    /* VIRTIO_BLK_S_* so far */
    int host_err;      /* first host errno; 0 for a short transfer */
    int64_t short_res; /* what a short transfer returned */
    bool sync_after;   /* write-through: fdatasync once the extents are done */
    bool busy;
};

struct virtio_blk {
    virtio_device_t vdev;
    int fd;
    int efd; /* eventfd io_uring signals on each completion (with an I/O thread) */
    iothread_t *io;
    struct io_uring ring;
    bool ring_ready;

    uint64_t capacity; /* sectors */
    bool read_only;
    uint8_t config[VIRTIO_BLK_CONFIG_SIZE];
    char id[VIRTIO_BLK_ID_BYTES];

    /* Under vdev.lock: */
    struct blk_req *reqs; /* VIRTIO_BLK_QUEUE_DEPTH slots */
    uint16_t free_slots[VIRTIO_BLK_QUEUE_DEPTH];
    unsigned int nr_free;
    unsigned int ops_in_flight; /* operations prepared and not yet completed */
    uint32_t gen;               /* moves on at every reset */
    bool dropping;              /* a reset or destroy waits for the host: results go nowhere */
    bool stalled;               /* stopped popping for lack of room */
    bool pushed;                /* chains pushed since the last interrupt decision */
    bool writethrough;          /* FLUSH not negotiated: writes are stable when they complete */
    bool no_zero_range;         /* the file system refused ZERO_RANGE once: punch instead */

    uint64_t stats[VIRTIO_BLK_STAT_COUNT];
    vmm_ratelimit_t log_rl;    /* guest misbehaviour */
    vmm_ratelimit_t io_log_rl; /* host errors */
    virtio_device_ops_t ops;   /* per device: features follow read_only */
};

static const char *const blk_stat_names[VIRTIO_BLK_STAT_COUNT] = {
    [VIRTIO_BLK_STAT_READS] = "reads",
    [VIRTIO_BLK_STAT_WRITES] = "writes",
    [VIRTIO_BLK_STAT_FLUSHES] = "flushes",
    [VIRTIO_BLK_STAT_DISCARDS] = "discards",
    [VIRTIO_BLK_STAT_WRITE_ZEROES] = "write-zeroes",
    [VIRTIO_BLK_STAT_GET_ID] = "get-id",
    [VIRTIO_BLK_STAT_BYTES_READ] = "bytes-read",
    [VIRTIO_BLK_STAT_BYTES_WRITTEN] = "bytes-written",
    [VIRTIO_BLK_STAT_IO_ERRORS] = "io-errors",
    [VIRTIO_BLK_STAT_IN_FLIGHT_PEAK] = "in-flight-peak",
    [VIRTIO_BLK_STAT_STALLS] = "stalls",
    [VIRTIO_BLK_STAT_DROPPED] = "dropped",
    [VIRTIO_BLK_STAT_REFUSED] = "refused",
    [VIRTIO_BLK_STAT_NO_STATUS] = "no-status",
    [VIRTIO_BLK_STAT_BAD_REQUEST] = "bad-request",
    [VIRTIO_BLK_STAT_OUT_OF_RANGE] = "out-of-range",
    [VIRTIO_BLK_STAT_READ_ONLY] = "read-only",
    [VIRTIO_BLK_STAT_UNSUPPORTED] = "unsupported",
    [VIRTIO_BLK_STAT_RING_BROKEN] = "ring-broken",
};

const char *virtio_blk_stat_name(virtio_blk_stat_t stat)
{
    if ((unsigned int)stat >= VIRTIO_BLK_STAT_COUNT) {
        return "unknown";
    }
    return blk_stat_names[stat];
}

/* Add @n to counter @stat. */
static void blk_count(virtio_blk_t *blk, virtio_blk_stat_t stat, uint64_t n)
{
    __atomic_fetch_add(&blk->stats[stat], n, __ATOMIC_RELAXED);
}

/* Name of a request type for log lines. */
static const char *blk_type_name(uint32_t type)
{
    switch (type) {
    case VIRTIO_BLK_T_IN:
        return "read";
    case VIRTIO_BLK_T_OUT:
        return "write";
    case VIRTIO_BLK_T_FLUSH:
        return "flush";
    case VIRTIO_BLK_T_GET_ID:
        return "get-id";
    case VIRTIO_BLK_T_DISCARD:
        return "discard";
    case VIRTIO_BLK_T_WRITE_ZEROES:
        return "write-zeroes";
    default:
        return "request";
    }
}

/*
 * Count guest misbehaviour @stat and log it rate-limited with the device's
 * name; returns @status, the answer the request gets.
 */
static uint8_t blk_refuse(virtio_blk_t *blk, virtio_blk_stat_t stat, uint8_t status,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static uint8_t blk_refuse(virtio_blk_t *blk, virtio_blk_stat_t stat, uint8_t status,
                          const char *fmt, ...)
{
    char what[160];
    va_list ap;

    blk_count(blk, stat, 1);
    if (vmm_log_enabled(VMM_LOG_WARN)) {
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        LOG_WARN_RL(&blk->log_rl, "%s: %s: %s: %s", blk->vdev.name, virtio_blk_stat_name(stat),
                    what,
                    stat == VIRTIO_BLK_STAT_NO_STATUS ? "returned with length 0"
                    : status == VIRTIO_BLK_S_UNSUPP   ? "answered UNSUPP"
                                                      : "answered IOERR");
    }
    return status;
}

/* DRIVER_OK, neither FAILED nor DEVICE_NEEDS_RESET, and the requestq live (2.1.2). */
static bool blk_live(const virtio_blk_t *blk)
{
    uint8_t s = blk->vdev.status;

    return (s & VIRTIO_STATUS_DRIVER_OK) &&
           !(s & (VIRTIO_STATUS_FAILED | VIRTIO_STATUS_DEVICE_NEEDS_RESET)) &&
           blk->vdev.queues[BLK_QUEUE].ready;
}

/* Room for one more request: a free slot and io_uring entries for its operations. */
static bool blk_has_room(const virtio_blk_t *blk)
{
    return blk->nr_free > 0 && blk->ops_in_flight + MAX_OPS_PER_REQ <= RING_ENTRIES;
}

static uint64_t blk_user_data(const virtio_blk_t *blk, const struct blk_req *req, unsigned int op)
{
    return (uint64_t)req->gen << 32 | (uint64_t)(req - blk->reqs) << 16 | op;
}

/* Interrupt the driver once for everything pushed since the last call. */
static void blk_flush_used(virtio_blk_t *blk)
{
    if (blk->pushed) {
        blk->pushed = false;
        virtio_device_used(&blk->vdev, BLK_QUEUE);
    }
}

/* --- chains ----------------------------------------------------------------- */

/*
 * Gather bytes [@off, @off + @len) of the readable (@writable false) or
 * writable part of @c into @iov (room for c->nr_bufs entries), skipping
 * empty pieces.  Returns the number of entries; the caller checked that
 * the part holds the range.
 */
static unsigned int chain_iov(const virtq_chain_t *c, bool writable, uint64_t off, uint64_t len,
                              struct iovec *iov)
{
    unsigned int first = writable ? c->nr_readable : 0;
    unsigned int end = writable ? c->nr_bufs : c->nr_readable;
    unsigned int n = 0;

    for (unsigned int i = first; i < end && len > 0; i++) {
        const virtq_buf_t *b = &c->bufs[i];
        if (off >= b->len) {
            off -= b->len;
            continue;
        }
        uint64_t take = b->len - off;
        if (take > len) {
            take = len;
        }
        iov[n].iov_base = (uint8_t *)b->addr + off;
        iov[n].iov_len = (size_t)take;
        n++;
        len -= take;
        off = 0;
    }
    return n;
}

/* Host address of byte @off of the writable part of @c; NULL past its end. */
static uint8_t *chain_writable_byte(const virtq_chain_t *c, uint64_t off)
{
    for (unsigned int i = c->nr_readable; i < c->nr_bufs; i++) {
        const virtq_buf_t *b = &c->bufs[i];
        if (off < b->len) {
            return (uint8_t *)b->addr + off;
        }
        off -= b->len;
    }
    return NULL;
}

/* --- slots ------------------------------------------------------------------ */

static struct blk_req *blk_slot_peek(virtio_blk_t *blk)
{
    return &blk->reqs[blk->free_slots[blk->nr_free - 1]];
}

/* Take the slot blk_slot_peek() showed for the request just popped into it. */
static void blk_slot_take(virtio_blk_t *blk, struct blk_req *req)
{
    blk->nr_free--;
    req->busy = true;
    req->gen = blk->gen;
    req->niov = 0;
    req->pending = 0;
    req->result = VIRTIO_BLK_S_OK;
    req->host_err = 0;
    req->short_res = 0;
    req->sync_after = false;
    req->used_len = 1;
    req->type = UINT32_MAX;
    req->sector = 0;
    req->len = 0;
}

/* @req went to the host: note the most requests in flight at once. */
static void blk_note_in_flight(virtio_blk_t *blk)
{
    uint64_t n = VIRTIO_BLK_QUEUE_DEPTH - blk->nr_free;

    if (n > __atomic_load_n(&blk->stats[VIRTIO_BLK_STAT_IN_FLIGHT_PEAK], __ATOMIC_RELAXED)) {
        __atomic_store_n(&blk->stats[VIRTIO_BLK_STAT_IN_FLIGHT_PEAK], n, __ATOMIC_RELAXED);
    }
}

static void blk_slot_release(virtio_blk_t *blk, struct blk_req *req)
{
    req->busy = false;
    blk->free_slots[blk->nr_free++] = (uint16_t)(req - blk->reqs);
}

/*
 * The request is over: write its status, return its chain (unless the
 * device was reset or the queue went away meanwhile: then nothing of the
 * guest's is touched) and free its slot.
 */
static void blk_finish(virtio_blk_t *blk, struct blk_req *req)
{
    virtq_t *q = &blk->vdev.queues[BLK_QUEUE];

    if (blk->dropping || req->gen != blk->gen || !q->ready || q->used != req->ring) {
        blk_count(blk, VIRTIO_BLK_STAT_DROPPED, 1);
    } else {
        *req->status = req->result;
        virtq_push_chain(q, &req->chain, req->result == VIRTIO_BLK_S_OK ? req->used_len : 1u);
        blk->pushed = true;
    }
    blk_slot_release(blk, req);
}

/* Answer @req at once with @status (nothing went to the host). */
static void blk_answer(virtio_blk_t *blk, struct blk_req *req, uint8_t status)
{
    req->result = status;
    blk_finish(blk, req);
}

/* --- host operations ------------------------------------------------------------ */

/* Prepare operation @op of @req (its readv / writev / fsync / fallocate). */
static bool blk_prep_op(virtio_blk_t *blk, struct blk_req *req, unsigned int op)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&blk->ring);
    off_t off = (off_t)(req->sector * VIRTIO_BLK_SECTOR_SIZE);

    if (!sqe) {
        /* Cannot happen with the room rule; fail the request rather than lose it. */
        LOG_ERR_RL(&blk->io_log_rl, "%s: io_uring submission queue full (%u operations out)",
                   blk->vdev.name, blk->ops_in_flight);
        return false;
    }
    if (op == OP_SYNC || req->type == VIRTIO_BLK_T_FLUSH) {
        io_uring_prep_fsync(sqe, blk->fd, IORING_FSYNC_DATASYNC);
    } else if (req->type == VIRTIO_BLK_T_IN) {
        io_uring_prep_readv(sqe, blk->fd, req->iov, req->niov, (uint64_t)off);
    } else if (req->type == VIRTIO_BLK_T_OUT) {
        io_uring_prep_writev2(sqe, blk->fd, req->iov, req->niov, (uint64_t)off,
                              blk->writethrough ? RWF_DSYNC : 0);
    } else {
        const struct blk_extent *e = &req->ext[op];
        io_uring_prep_fallocate(sqe, blk->fd, e->mode, (off_t)e->offset, (off_t)e->len);
    }
    io_uring_sqe_set_data64(sqe, blk_user_data(blk, req, op));
    req->pending++;
    blk->ops_in_flight++;
    return true;
}

/* Hand prepared operations to the kernel; what it does not take now goes at the next call. */
static void blk_submit(virtio_blk_t *blk)
{
    while (io_uring_sq_ready(&blk->ring) > 0) {
        int r = io_uring_submit(&blk->ring);
        if (r > 0) {
            continue;
        }
        if (r == -EINTR) {
            continue;
        }
        if (r < 0) {
            LOG_WARN_RL(&blk->io_log_rl, "%s: io_uring submit: %s; retried at the next event",
                        blk->vdev.name, strerror(-r));
        }
        return;
    }
}

/* Log why the host failed @req (rate-limited). */
static void blk_log_host_error(virtio_blk_t *blk, const struct blk_req *req)
{
    if (!vmm_log_enabled(VMM_LOG_WARN)) {
        return;
    }
    if (req->host_err) {
        LOG_WARN_RL(&blk->io_log_rl, "%s: %s of %llu bytes at sector %llu: %s", blk->vdev.name,
                    blk_type_name(req->type), (unsigned long long)req->len,
                    (unsigned long long)req->sector, strerror(req->host_err));
    } else {
        LOG_WARN_RL(&blk->io_log_rl,
                    "%s: %s of %llu bytes at sector %llu came up short (%lld bytes): "
                    "the image ends early",
                    blk->vdev.name, blk_type_name(req->type), (unsigned long long)req->len,
                    (unsigned long long)req->sector, (long long)req->short_res);
    }
}

/* All operations of @req are done: count, maybe fdatasync first, then finish it. */
static void blk_req_done(virtio_blk_t *blk, struct blk_req *req)
{
    if (req->sync_after && req->result == VIRTIO_BLK_S_OK && !blk->dropping) {
        req->sync_after = false;
        if (blk_prep_op(blk, req, OP_SYNC)) {
            return;
        }
        req->result = VIRTIO_BLK_S_IOERR;
        req->host_err = EAGAIN;
    }
    if (!blk->dropping) {
        if (req->result != VIRTIO_BLK_S_OK) {
            blk_count(blk, VIRTIO_BLK_STAT_IO_ERRORS, 1);
            blk_log_host_error(blk, req);
        } else if (req->type == VIRTIO_BLK_T_IN) {
            blk_count(blk, VIRTIO_BLK_STAT_BYTES_READ, req->len);
        } else if (req->type == VIRTIO_BLK_T_OUT) {
            blk_count(blk, VIRTIO_BLK_STAT_BYTES_WRITTEN, req->len);
        }
    }
    blk_finish(blk, req);
}

/*
 * One completion: operation @op of the request in the slot @user_data
 * names finished with @res.  Returns 1 when that finished the request.
 */
static unsigned int blk_op_complete(virtio_blk_t *blk, uint64_t user_data, int res)
{
    uint32_t gen = (uint32_t)(user_data >> 32);
    unsigned int slot = (unsigned int)(user_data >> 16) & 0xffffu;
    unsigned int op = (unsigned int)user_data & 0xffffu;
    struct blk_req *req;

    if (blk->ops_in_flight > 0) {
        blk->ops_in_flight--;
    }
    if (slot >= VIRTIO_BLK_QUEUE_DEPTH || !blk->reqs[slot].busy || blk->reqs[slot].gen != gen ||
        blk->reqs[slot].pending == 0) {
        /* Not ours any more (cannot happen: resets wait for every operation). */
        blk_count(blk, VIRTIO_BLK_STAT_DROPPED, 1);
        return 0;
    }
    req = &blk->reqs[slot];
    req->pending--;

    if (op != OP_SYNC &&
        (req->type == VIRTIO_BLK_T_DISCARD || req->type == VIRTIO_BLK_T_WRITE_ZEROES)) {
        struct blk_extent *e = &req->ext[op];
        if (res == -EOPNOTSUPP && (e->mode & FALLOC_FL_ZERO_RANGE) && !blk->dropping) {
            /* No ZERO_RANGE here (tmpfs): a hole reads back as zeroes too. */
            blk->no_zero_range = true;
            e->mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
            if (blk_prep_op(blk, req, op)) {
                return 0;
            }
        }
        if (res == -EOPNOTSUPP && req->type == VIRTIO_BLK_T_DISCARD) {
            res = 0; /* 5.2.6.2: a discard MAY deallocate; keeping the data is fine */
        }
    }
    if (req->result == VIRTIO_BLK_S_OK) {
        if (res < 0) {
            req->result = VIRTIO_BLK_S_IOERR;
            req->host_err = -res;
        } else if ((req->type == VIRTIO_BLK_T_IN || req->type == VIRTIO_BLK_T_OUT) &&
                   op != OP_SYNC && (uint64_t)res != req->len) {
            req->result = VIRTIO_BLK_S_IOERR; /* short: not retried */
            req->short_res = res;
        }
    }
    if (req->pending > 0) {
        return 0;
    }
    blk_req_done(blk, req);
    return req->busy ? 0 : 1;
}

/* Take every completion the kernel has posted.  Returns the requests finished. */
static unsigned int blk_reap(virtio_blk_t *blk)
{
    struct io_uring_cqe *cqe;
    unsigned int done = 0;

    while (io_uring_peek_cqe(&blk->ring, &cqe) == 0) {
        uint64_t user_data = io_uring_cqe_get_data64(cqe);
        int res = cqe->res;
        io_uring_cqe_seen(&blk->ring, cqe);
        done += blk_op_complete(blk, user_data, res);
    }
    blk_submit(blk); /* fallbacks and write-through syncs prepared on the way */
    return done;
}

/*
 * Wait until no operation is outstanding, reaping as they complete.  The
 * host decides how long that takes; a slow one is reported every
 * WAIT_WARN_SECONDS.  Returns the requests finished.
 */
static unsigned int blk_wait_all(virtio_blk_t *blk)
{
    unsigned int done = blk_reap(blk);
    int waited = 0;

    while (blk->ops_in_flight > 0) {
        struct __kernel_timespec ts = {.tv_sec = 1, .tv_nsec = 0};
        struct io_uring_cqe *cqe;

        blk_submit(blk);
        int r = io_uring_wait_cqe_timeout(&blk->ring, &cqe, &ts);
        if (r == -ETIME && ++waited % WAIT_WARN_SECONDS == 0) {
            LOG_WARN("%s: still waiting for %u host operations after %d s", blk->vdev.name,
                     blk->ops_in_flight, waited);
        } else if (r < 0 && r != -ETIME && r != -EINTR) {
            /* -EAGAIN / -EBUSY: the kernel is short of memory or completions; try again. */
            usleep(1000);
        }
        done += blk_reap(blk);
    }
    return done;
}

/* --- requests --------------------------------------------------------------------- */

/* Sectors [@sector, @sector + @nr) lie within the disk (overflow-safe). */
static bool blk_in_range(const virtio_blk_t *blk, uint64_t sector, uint64_t nr)
{
    return sector <= blk->capacity && nr <= blk->capacity - sector;
}

/*
 * IN / OUT: the data is the writable part before the status (IN) or the
 * readable part after the header (OUT).  Returns a status to answer at
 * once, or VIRTIO_BLK_S_OK with the read / write prepared (req->pending).
 */
static uint8_t blk_rw(virtio_blk_t *blk, struct blk_req *req)
{
    const virtq_chain_t *c = &req->chain;
    bool in = req->type == VIRTIO_BLK_T_IN;
    uint64_t len = in ? c->writable_len - 1u : c->readable_len - VIRTIO_BLK_REQ_HDR_SIZE;

    if (!in && blk->read_only) {
        return blk_refuse(blk, VIRTIO_BLK_STAT_READ_ONLY, VIRTIO_BLK_S_IOERR,
                          "write of %llu bytes at sector %llu", (unsigned long long)len,
                          (unsigned long long)req->sector);
    }
    if (len % VIRTIO_BLK_SECTOR_SIZE != 0) {
        return blk_refuse(blk, VIRTIO_BLK_STAT_BAD_REQUEST, VIRTIO_BLK_S_IOERR,
                          "%s of %llu bytes, not a multiple of %u", blk_type_name(req->type),
                          (unsigned long long)len, VIRTIO_BLK_SECTOR_SIZE);
    }
    if (!blk_in_range(blk, req->sector, len / VIRTIO_BLK_SECTOR_SIZE)) {
        return blk_refuse(blk, VIRTIO_BLK_STAT_OUT_OF_RANGE, VIRTIO_BLK_S_IOERR,
                          "%s of %llu sectors at sector %llu of %llu", blk_type_name(req->type),
                          (unsigned long long)(len / VIRTIO_BLK_SECTOR_SIZE),
                          (unsigned long long)req->sector, (unsigned long long)blk->capacity);
    }
    req->len = len;
    if (len == 0) {
        return VIRTIO_BLK_S_OK; /* nothing to move */
    }
    req->niov = chain_iov(c, in, in ? 0 : VIRTIO_BLK_REQ_HDR_SIZE, len, req->iov);
    if (in) {
        req->used_len = (uint32_t)len + 1u;
    }
    blk_count(blk, in ? VIRTIO_BLK_STAT_READS : VIRTIO_BLK_STAT_WRITES, 1);
    return blk_prep_op(blk, req, 0) ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
}

/* GET_ID: up to 20 bytes of the serial into the data before the status. */
static uint8_t blk_get_id(virtio_blk_t *blk, struct blk_req *req)
{
    size_t room = req->chain.writable_len - 1u;
    size_t n = room < VIRTIO_BLK_ID_BYTES ? room : VIRTIO_BLK_ID_BYTES;

    n = virtq_chain_write(&req->chain, 0, blk->id, n);
    req->used_len = (uint32_t)n + 1u;
    blk_count(blk, VIRTIO_BLK_STAT_GET_ID, 1);
    return VIRTIO_BLK_S_OK;
}

/*
 * DISCARD / WRITE_ZEROES: check every segment (5.2.6.2: UNSUPP for flags
 * the type does not allow, before anything else), then one fallocate per
 * non-empty segment.
 */
static uint8_t blk_discard(virtio_blk_t *blk, struct blk_req *req)
{
    const virtq_chain_t *c = &req->chain;
    bool wz = req->type == VIRTIO_BLK_T_WRITE_ZEROES;
    unsigned int feature = wz ? VIRTIO_BLK_F_WRITE_ZEROES : VIRTIO_BLK_F_DISCARD;
    uint8_t raw[MAX_OPS_PER_REQ * VIRTIO_BLK_SEGMENT_SIZE];
    uint64_t len = c->readable_len - VIRTIO_BLK_REQ_HDR_SIZE;
    const char *what = blk_type_name(req->type);
    unsigned int nseg;

    if (blk->read_only) {
        return blk_refuse(blk, VIRTIO_BLK_STAT_READ_ONLY, VIRTIO_BLK_S_IOERR, "%s", what);
    }
    if (!virtio_device_has_feature(&blk->vdev, feature)) {
        return blk_refuse(blk, VIRTIO_BLK_STAT_UNSUPPORTED, VIRTIO_BLK_S_UNSUPP,
                          "%s without its feature negotiated", what);
    }
    if (len == 0 || len % VIRTIO_BLK_SEGMENT_SIZE != 0) {
        return blk_refuse(blk, VIRTIO_BLK_STAT_BAD_REQUEST, VIRTIO_BLK_S_IOERR,
                          "%s with %llu bytes of segments (a multiple of %u, at least one)", what,
                          (unsigned long long)len, VIRTIO_BLK_SEGMENT_SIZE);
    }
    if (len / VIRTIO_BLK_SEGMENT_SIZE > MAX_OPS_PER_REQ) {
        return blk_refuse(blk, VIRTIO_BLK_STAT_BAD_REQUEST, VIRTIO_BLK_S_IOERR,
                          "%s with %llu segments (at most %u)", what,
                          (unsigned long long)(len / VIRTIO_BLK_SEGMENT_SIZE), MAX_OPS_PER_REQ);
    }
    nseg = (unsigned int)(len / VIRTIO_BLK_SEGMENT_SIZE);
    /* One copy: the guest may change the segments while we look at them. */
    virtq_chain_read(c, VIRTIO_BLK_REQ_HDR_SIZE, raw, (size_t)len);

    for (unsigned int i = 0; i < nseg; i++) {
        uint32_t flags;
        memcpy(&flags, raw + i * VIRTIO_BLK_SEGMENT_SIZE + 12, 4);
        flags = le32toh(flags);
        if (flags & ~VIRTIO_BLK_WZ_FLAG_UNMAP) {
            return blk_refuse(blk, VIRTIO_BLK_STAT_UNSUPPORTED, VIRTIO_BLK_S_UNSUPP,
                              "%s segment %u with reserved flags %#x", what, i, flags);
        }
        if (!wz && (flags & VIRTIO_BLK_WZ_FLAG_UNMAP)) {
            return blk_refuse(blk, VIRTIO_BLK_STAT_UNSUPPORTED, VIRTIO_BLK_S_UNSUPP,
                              "discard segment %u with the unmap flag", i);
        }
    }
    unsigned int nops = 0;
    uint64_t total = 0;
    for (unsigned int i = 0; i < nseg; i++) {
        const uint8_t *s = raw + i * VIRTIO_BLK_SEGMENT_SIZE;
        uint64_t sector;
        uint32_t nr, flags;
        memcpy(&sector, s, 8);
        memcpy(&nr, s + 8, 4);
        memcpy(&flags, s + 12, 4);
        sector = le64toh(sector);
        nr = le32toh(nr);
        flags = le32toh(flags);
        if (nr > VIRTIO_BLK_MAX_DISCARD_SECTORS) {
            return blk_refuse(blk, VIRTIO_BLK_STAT_BAD_REQUEST, VIRTIO_BLK_S_IOERR,
                              "%s segment %u of %u sectors (at most %u)", what, i, nr,
                              VIRTIO_BLK_MAX_DISCARD_SECTORS);
        }
        if (!blk_in_range(blk, sector, nr)) {
            return blk_refuse(blk, VIRTIO_BLK_STAT_OUT_OF_RANGE, VIRTIO_BLK_S_IOERR,
                              "%s segment %u: %u sectors at sector %llu of %llu", what, i, nr,
                              (unsigned long long)sector, (unsigned long long)blk->capacity);
        }
        if (i == 0) {
            req->sector = sector;
        }
        if (nr == 0) {
            continue;
        }
        bool punch = !wz || (flags & VIRTIO_BLK_WZ_FLAG_UNMAP) || blk->no_zero_range;
        req->ext[nops++] = (struct blk_extent){
            .offset = sector * VIRTIO_BLK_SECTOR_SIZE,
            .len = (uint64_t)nr * VIRTIO_BLK_SECTOR_SIZE,
            .mode = (punch ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE) | FALLOC_FL_KEEP_SIZE,
        };
        total += (uint64_t)nr * VIRTIO_BLK_SECTOR_SIZE;
    }
    req->len = total;
    if (nops == 0) {
        return VIRTIO_BLK_S_OK;
    }
    blk_count(blk, wz ? VIRTIO_BLK_STAT_WRITE_ZEROES : VIRTIO_BLK_STAT_DISCARDS, 1);
    req->sync_after = blk->writethrough;
    for (unsigned int i = 0; i < nops; i++) {
        if (!blk_prep_op(blk, req, i)) {
            /* Those prepared complete as usual; the request fails. */
            req->result = VIRTIO_BLK_S_IOERR;
            req->host_err = EAGAIN;
            break;
        }
    }
    return VIRTIO_BLK_S_OK;
}

/*
 * Start the request just popped into @req: check it, then either prepare
 * its host operations or answer it at once.
 */
static void blk_start(virtio_blk_t *blk, struct blk_req *req)
{
    const virtq_chain_t *c = &req->chain;
    uint8_t hdr[VIRTIO_BLK_REQ_HDR_SIZE];
    uint32_t type;
    uint8_t status;

    blk_slot_take(blk, req);
    req->ring = blk->vdev.queues[BLK_QUEUE].used;
    if (c->writable_len == 0) {
        /* 5.2.6: the status is the last device-writable byte; there is none to answer in. */
        blk_refuse(blk, VIRTIO_BLK_STAT_NO_STATUS, VIRTIO_BLK_S_IOERR,
                   "a chain of %u readable bytes and no writable byte for the status",
                   c->readable_len);
        virtq_push(&blk->vdev.queues[BLK_QUEUE], c->head, 0);
        blk->pushed = true;
        blk_slot_release(blk, req);
        return;
    }
    req->status = chain_writable_byte(c, c->writable_len - 1u);
    if (virtq_chain_read(c, 0, hdr, sizeof(hdr)) < sizeof(hdr)) {
        blk_answer(blk, req,
                   blk_refuse(blk, VIRTIO_BLK_STAT_BAD_REQUEST, VIRTIO_BLK_S_IOERR,
                              "a header of %u readable bytes (%u needed)", c->readable_len,
                              VIRTIO_BLK_REQ_HDR_SIZE));
        return;
    }
    memcpy(&type, hdr, 4);
    memcpy(&req->sector, hdr + 8, 8);
    req->type = type = le32toh(type);
    req->sector = le64toh(req->sector);

    switch (type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT:
        status = blk_rw(blk, req);
        break;
    case VIRTIO_BLK_T_FLUSH:
        /* Data, if any, is ignored (5.2.6.1: the driver should send none). */
        req->sector = 0;
        blk_count(blk, VIRTIO_BLK_STAT_FLUSHES, 1);
        status = blk_prep_op(blk, req, 0) ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
        break;
    case VIRTIO_BLK_T_GET_ID:
        status = blk_get_id(blk, req);
        break;
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        status = blk_discard(blk, req);
        break;
    default:
        status = blk_refuse(blk, VIRTIO_BLK_STAT_UNSUPPORTED, VIRTIO_BLK_S_UNSUPP,
                            "request type %u", type);
        break;
    }
    if (req->pending == 0) {
        blk_answer(blk, req, status == VIRTIO_BLK_S_OK ? req->result : status);
    } else {
        blk_note_in_flight(blk);
    }
}

/*
 * Take chains from the requestq while there is room, then submit what
 * they need.  An empty queue re-arms notifications and is checked once
 * more (2.7.10); a broken one puts the device into DEVICE_NEEDS_RESET
 * (2.1.2); chains the queue refuses go back with length 0.
 */
static void blk_process(virtio_blk_t *blk)
{
    virtq_t *q = &blk->vdev.queues[BLK_QUEUE];

    blk->stalled = false;
    for (;;) {
        if (!blk_has_room(blk)) {
            blk->stalled = true;
            blk_count(blk, VIRTIO_BLK_STAT_STALLS, 1);
            break;
        }
        struct blk_req *req = blk_slot_peek(blk);
        int r = virtq_pop(q, &req->chain);
        if (r == 0) {
            virtq_enable_notify(q);
            r = virtq_pop(q, &req->chain);
        }
        if (r == 0) {
            break;
        }
        if (r < 0) {
            if (q->broken) {
                blk_count(blk, VIRTIO_BLK_STAT_RING_BROKEN, 1);
                virtio_device_set_needs_reset(&blk->vdev, virtq_error_name((virtq_error_t)-r));
                break;
            }
            /* A chain-level error (counted and logged by the queue): give it back empty. */
            blk_count(blk, VIRTIO_BLK_STAT_REFUSED, 1);
            virtq_push(q, req->chain.head, 0);
            blk->pushed = true;
            continue;
        }
        blk_start(blk, req);
    }
    blk_submit(blk);
}

/* Completions freed room: take the chains that waited for it. */
static void blk_resume(virtio_blk_t *blk)
{
    if (blk->stalled && blk_has_room(blk) && blk_live(blk)) {
        blk_process(blk);
    }
}

/* --- device callbacks (vdev->lock held) ------------------------------------------ */

static void blk_queue_notify(virtio_device_t *vdev, unsigned int idx)
{
    virtio_blk_t *blk = vdev->priv;

    if (idx != BLK_QUEUE) {
        return; /* the common layer only passes queues below num_queues */
    }
    blk_process(blk);
    blk_flush_used(blk);
}

static void blk_config_read(virtio_device_t *vdev, uint32_t offset, void *buf, uint32_t len)
{
    virtio_blk_t *blk = vdev->priv;

    memcpy(buf, blk->config + offset, len); /* the common layer checked the range */
}

/* DRIVER_OK: the features are settled. */
static int blk_activate(virtio_device_t *vdev)
{
    virtio_blk_t *blk = vdev->priv;

    /* 5.2.6.2: FLUSH offered but not negotiated, so every write must be stable. */
    blk->writethrough = !virtio_device_has_feature(vdev, VIRTIO_BLK_F_FLUSH);
    return 0;
}

/*
 * The driver disables the requestq (and a reset does the same): wait for
 * the host to finish everything in flight, drop the results, and move the
 * generation on.  The common layer resets the queue after this returns.
 */
static void blk_queue_disable(virtio_device_t *vdev, unsigned int idx)
{
    virtio_blk_t *blk = vdev->priv;

    (void)idx;
    blk->dropping = true;
    blk_wait_all(blk);
    blk->dropping = false;
    blk->gen++;
    blk->stalled = false;
    blk->pushed = false;
}

static void blk_reset(virtio_device_t *vdev)
{
    virtio_blk_t *blk = vdev->priv;

    blk_queue_disable(vdev, BLK_QUEUE);
    blk->writethrough = false;
}

/* The I/O thread: the io_uring posted completions. */
static void blk_io_ready(int fd, uint32_t events, void *opaque)
{
    virtio_blk_t *blk = opaque;
    uint64_t count;

    /* Consume the signal first: a completion posted after this signals again. */
    while (read(fd, &count, sizeof(count)) < 0 && errno == EINTR) {
    }
    pthread_mutex_lock(&blk->vdev.lock);
    blk_reap(blk);
    blk_resume(blk);
    blk_flush_used(blk);
    pthread_mutex_unlock(&blk->vdev.lock);
}

/* --- creation ----------------------------------------------------------------------- */

static void put_le32(uint8_t *p, uint32_t v)
{
    v = htole32(v);
    memcpy(p, &v, 4);
}

/* Fill the config space (5.2.4); fields of features not offered stay 0. */
static void blk_fill_config(virtio_blk_t *blk, uint32_t blk_size, uint32_t discard_align)
{
    uint64_t cap = htole64(blk->capacity);
    uint16_t nq = htole16(1);

    memset(blk->config, 0, sizeof(blk->config));
    memcpy(blk->config + CFG_CAPACITY, &cap, 8);
    put_le32(blk->config + CFG_SIZE_MAX, VIRTIO_BLK_SIZE_MAX);
    put_le32(blk->config + CFG_SEG_MAX, VIRTIO_BLK_SEG_MAX);
    put_le32(blk->config + CFG_BLK_SIZE, blk_size);
    memcpy(blk->config + CFG_NUM_QUEUES, &nq, 2);
    if (!blk->read_only) {
        put_le32(blk->config + CFG_MAX_DISCARD_SECTORS, VIRTIO_BLK_MAX_DISCARD_SECTORS);
        put_le32(blk->config + CFG_MAX_DISCARD_SEG, VIRTIO_BLK_MAX_DISCARD_SEG);
        put_le32(blk->config + CFG_DISCARD_SECTOR_ALIGNMENT, discard_align);
        put_le32(blk->config + CFG_MAX_WRITE_ZEROES_SECTORS, VIRTIO_BLK_MAX_DISCARD_SECTORS);
        put_le32(blk->config + CFG_MAX_WRITE_ZEROES_SEG, VIRTIO_BLK_MAX_DISCARD_SEG);
        blk->config[CFG_WRITE_ZEROES_MAY_UNMAP] = 1; /* unmap punches a hole */
    }
}

static bool is_power_of_2(uint64_t v)
{
    return v && !(v & (v - 1));
}

/*
 * Size the open image: bytes, the logical block size for blk_size and the
 * allocation unit for discard_sector_alignment.  Returns 0 or -errno.
 */
static int blk_probe(virtio_blk_t *blk, uint64_t *bytes, uint32_t *blk_size,
                     uint32_t *discard_align)
{
    struct stat st;

    if (fstat(blk->fd, &st) < 0) {
        return -errno;
    }
    *blk_size = VIRTIO_BLK_SECTOR_SIZE;
    *discard_align = 1;
    if (S_ISREG(st.st_mode)) {
        *bytes = (uint64_t)st.st_size;
        /* Holes come in file-system blocks (blksize_t is long on x86-64, int on arm64). */
        uint64_t fs_block = st.st_blksize > 0 ? (uint64_t)st.st_blksize : 0;
        if (is_power_of_2(fs_block) && fs_block >= VIRTIO_BLK_SECTOR_SIZE &&
            fs_block <= VIRTIO_BLK_SIZE_MAX) {
            *discard_align = (uint32_t)(fs_block / VIRTIO_BLK_SECTOR_SIZE);
        }
        return 0;
    }
    if (S_ISBLK(st.st_mode)) {
        int lbs = 0;
        if (ioctl(blk->fd, BLKGETSIZE64, bytes) < 0) {
            return -errno;
        }
        if (ioctl(blk->fd, BLKSSZGET, &lbs) == 0 && lbs >= (int)VIRTIO_BLK_SECTOR_SIZE &&
            is_power_of_2((uint64_t)lbs)) {
            *blk_size = (uint32_t)lbs;
            *discard_align = (uint32_t)lbs / VIRTIO_BLK_SECTOR_SIZE;
        }
        return 0;
    }
    if (S_ISDIR(st.st_mode)) {
        return -EISDIR;
    }
    return -ENOTBLK; /* neither a regular file nor a block device */
}

/* Everything after the device's own allocation; returns 0 or -errno. */
static int blk_open(virtio_blk_t *blk, unsigned int index, const virtio_blk_config_t *cfg)
{
    uint64_t bytes = 0;
    uint32_t blk_size, discard_align;
    int rc;

    blk->read_only = cfg->read_only;
    blk->fd = open(cfg->path, (cfg->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (blk->fd < 0) {
        return -errno;
    }
    rc = blk_probe(blk, &bytes, &blk_size, &discard_align);
    if (rc < 0) {
        return rc;
    }
    blk->capacity = bytes / VIRTIO_BLK_SECTOR_SIZE;
    if (bytes % VIRTIO_BLK_SECTOR_SIZE != 0) {
        LOG_WARN("%s: %s is %llu bytes, not a multiple of %u: the last %llu bytes are out of "
                 "the guest's reach",
                 blk->vdev.name, cfg->path, (unsigned long long)bytes, VIRTIO_BLK_SECTOR_SIZE,
                 (unsigned long long)(bytes % VIRTIO_BLK_SECTOR_SIZE));
    }
    blk_fill_config(blk, blk_size, discard_align);

    if (cfg->serial) {
        size_t n = strlen(cfg->serial);
        if (n > VIRTIO_BLK_ID_BYTES) {
            LOG_WARN("%s: serial \"%s\" cut to its first %u bytes", blk->vdev.name, cfg->serial,
                     VIRTIO_BLK_ID_BYTES);
            n = VIRTIO_BLK_ID_BYTES;
        }
        memcpy(blk->id, cfg->serial, n);
    } else {
        char def[32];
        snprintf(def, sizeof(def), "vmmkit-blk%u", index);
        memcpy(blk->id, def, strnlen(def, VIRTIO_BLK_ID_BYTES));
    }

    blk->reqs = calloc(VIRTIO_BLK_QUEUE_DEPTH, sizeof(*blk->reqs));
    if (!blk->reqs) {
        return -ENOMEM;
    }
    for (unsigned int i = 0; i < VIRTIO_BLK_QUEUE_DEPTH; i++) {
        blk->free_slots[i] = (uint16_t)(VIRTIO_BLK_QUEUE_DEPTH - 1u - i);
    }
    blk->nr_free = VIRTIO_BLK_QUEUE_DEPTH;

    rc = io_uring_queue_init(RING_ENTRIES, &blk->ring, 0);
    if (rc < 0) {
        return rc;
    }
    blk->ring_ready = true;
    if (cfg->io) {
        blk->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (blk->efd < 0) {
            return -errno;
        }
        rc = io_uring_register_eventfd(&blk->ring, blk->efd);
        if (rc < 0) {
            return rc;
        }
        rc = iothread_add_fd(cfg->io, blk->efd, blk_io_ready, blk);
        if (rc < 0) {
            return rc;
        }
        blk->io = cfg->io; /* last: from here on the I/O thread calls into the device */
    }
    return 0;
}

/* Free what blk_open() set up (the I/O thread no longer watches us). */
static void blk_free(virtio_blk_t *blk)
{
    if (blk->ring_ready) {
        io_uring_queue_exit(&blk->ring);
    }
    if (blk->efd >= 0) {
        close(blk->efd);
    }
    if (blk->fd >= 0) {
        close(blk->fd);
    }
    free(blk->reqs);
    pthread_mutex_destroy(&blk->vdev.lock);
    free(blk);
}

int virtio_blk_create(vm_t *vm, unsigned int index, const virtio_blk_config_t *cfg,
                      virtio_blk_t **out)
{
    virtio_blk_t *blk;
    int rc;

    if (!vm || !cfg || !cfg->path || !out) {
        return -EINVAL;
    }
    blk = calloc(1, sizeof(*blk));
    if (!blk) {
        return -ENOMEM;
    }
    blk->fd = -1;
    blk->efd = -1;
    blk->ops = (virtio_device_ops_t){
        .name = "virtio-blk",
        .device_id = VIRTIO_ID_BLOCK,
        .num_queues = 1,
        .queue_max_size = VIRTIO_BLK_QUEUE_SIZE,
        .features =
            (1ull << VIRTIO_BLK_F_SIZE_MAX) | (1ull << VIRTIO_BLK_F_SEG_MAX) |
            (1ull << VIRTIO_BLK_F_BLK_SIZE) | (1ull << VIRTIO_BLK_F_FLUSH) |
            (cfg->read_only ? 1ull << VIRTIO_BLK_F_RO
                            : (1ull << VIRTIO_BLK_F_DISCARD) | (1ull << VIRTIO_BLK_F_WRITE_ZEROES)),
        .config_size = VIRTIO_BLK_CONFIG_SIZE,
        .config_read = blk_config_read,
        .config_write = NULL, /* read-only: no CONFIG_WCE */
        .activate = blk_activate,
        .queue_notify = blk_queue_notify,
        .reset = blk_reset,
        .queue_disable = blk_queue_disable,
    };
    rc = virtio_device_init(&blk->vdev, vm, &blk->ops, blk, index);
    if (rc < 0) {
        free(blk);
        return rc;
    }
    vmm_ratelimit_init(&blk->log_rl, 5000, 10);
    vmm_ratelimit_init(&blk->io_log_rl, 5000, 10);
    rc = blk_open(blk, index, cfg);
    if (rc < 0) {
        blk_free(blk);
        return rc;
    }
    *out = blk;
    return 0;
}

virtio_device_t *virtio_blk_device(virtio_blk_t *blk)
{
    return &blk->vdev;
}

uint64_t virtio_blk_capacity(const virtio_blk_t *blk)
{
    return blk ? blk->capacity : 0;
}

uint64_t virtio_blk_stat(const virtio_blk_t *blk, virtio_blk_stat_t stat)
{
    if (!blk || (unsigned int)stat >= VIRTIO_BLK_STAT_COUNT) {
        return 0;
    }
    return __atomic_load_n(&blk->stats[stat], __ATOMIC_RELAXED);
}

unsigned int virtio_blk_drain(virtio_blk_t *blk)
{
    unsigned int done = 0;

    if (!blk) {
        return 0;
    }
    pthread_mutex_lock(&blk->vdev.lock);
    do {
        done += blk_wait_all(blk);
        blk_resume(blk);
    } while (blk->ops_in_flight > 0);
    blk_flush_used(blk);
    pthread_mutex_unlock(&blk->vdev.lock);
    return done;
}

void virtio_blk_destroy(virtio_blk_t *blk)
{
    if (!blk) {
        return;
    }
    if (blk->io) {
        /* Without the lock: the handler may be waiting for it (iothread.h). */
        iothread_remove_fd(blk->io, blk->efd);
    }
    pthread_mutex_lock(&blk->vdev.lock);
    blk->dropping = true;
    blk_wait_all(blk);
    pthread_mutex_unlock(&blk->vdev.lock);
    blk_free(blk);
}
