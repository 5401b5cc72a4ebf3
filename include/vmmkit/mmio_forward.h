/*
 * mmio_forward.h - a forwarding MMIO region: every guest access to it becomes
 * a request to a handler in another process.
 *
 * This is libsel4vmmplatsupport's Arm "generic forward device"
 * (generic_forward_device.h), made independent of the architecture and the
 * hypervisor, with the handler in a separate process reached over a UNIX
 * socket.  The region claims [base, base + size) as a trapping reservation
 * (guest_memory.h); each access the core delivers is sent as one request,
 * and the vCPU waits for the reply.  A handler can then emulate a device in
 * any language, in a sandbox, or forward to real hardware it owns.
 *
 * The handler is another program, so nothing it does may hang or crash the
 * VMM.  Every failure completes the guest's access with FAULT_BUS_ERROR (the
 * guest gets a bus error; where the architecture has none, a read returns
 * all ones and a write is dropped), is counted and is logged rate-limited:
 *   - no reply within the timeout (default 1000 ms)     -> timeouts
 *   - the handler is gone (EOF, EPIPE, ECONNRESET)     -> handler_deaths
 *   - a reply of the wrong size, for a request never sent, or with data
 *     bits above the access width                     -> bad_replies
 *   - a reply with a nonzero status                    -> errors
 * After the handler dies the region is dead: later accesses fail at once
 * (refused) without a system call, unless the region was created with a
 * socket path and a reconnect interval, in which case an access tries to
 * reconnect at most once per interval.
 *
 * A reply that arrives after its request timed out (a handler that stalled
 * and then recovered) is recognised by its sequence number and dropped
 * (stale_replies), so it never answers a later access.
 *
 * Threads: one request is outstanding per region at a time.  A mutex
 * serialises the accesses of all vCPUs to the region; a vCPU that finds the
 * handler busy waits for the access before it (each bounded by the
 * timeout).  While a vCPU waits, a request to stop the VM takes effect when
 * the wait ends.
 *
 * ## Wire protocol (version 1)
 *
 * A connected AF_UNIX SOCK_SEQPACKET socket: one message is one request or
 * one reply, never split or merged.  Fields are little-endian at the byte
 * offsets given; reserved bytes are zero.
 *
 * Request, VMM -> handler, MMIO_FORWARD_REQUEST_SIZE (40) bytes:
 *     0  u32  magic     MMIO_FORWARD_MAGIC: the bytes 'v' 'm' 'f' 0x01
 *                       (0x01 is the protocol version)
 *     4  u32  seq       request number, one more than the region's previous
 *                       request (wrapping); the region's first is 1, and a
 *                       handler reached by a reconnect sees the count go on
 *     8  u64  addr      guest-physical address of the access's first byte
 *    16  u64  offset    addr minus the region's base
 *    24  u8   width     access size in bytes, 1..8 (1, 2, 4, 8 in practice)
 *    25  u8   is_write  1 for a write, 0 for a read
 *    26  u8[6]          reserved, zero
 *    32  u64  data      write: the value in the low width bytes, the rest
 *                       zero; read: zero
 *
 * Reply, handler -> VMM, MMIO_FORWARD_REPLY_SIZE (16) bytes:
 *     0  u32  seq       the request's seq
 *     4  i32  status    0: done; anything else: the access fails with a
 *                       bus error (a negative errno is customary)
 *     8  u64  data      read with status 0: the value in the low width
 *                       bytes, the rest zero (or the reply is refused);
 *                       otherwise ignored
 *
 * The handler answers every request, in order.  It may take as long as it
 * likes, but past the timeout the guest has had its bus error and the late
 * reply is dropped.  A write's effect on the device is the handler's: the
 * VMM cannot undo a write whose reply came too late.
 *
 * mmio_forward_serve() below is the handler's side of the protocol; with it
 * a handler program is a callback and a few lines.
 */
#ifndef VMMKIT_MMIO_FORWARD_H
#define VMMKIT_MMIO_FORWARD_H

#include <stdbool.h>
#include <stdint.h>

#include <vmmkit/guest_memory.h>
#include <vmmkit/vm.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MMIO_FORWARD_MAGIC 0x01666d76u /* 'v' 'm' 'f' 0x01, read little-endian */
#define MMIO_FORWARD_REQUEST_SIZE 40u
#define MMIO_FORWARD_REPLY_SIZE 16u

#define MMIO_FORWARD_DEFAULT_TIMEOUT_MS 1000u
#define MMIO_FORWARD_MAX_TIMEOUT_MS 60000u

/* Counters, per region. */
typedef enum mmio_forward_stat {
    MMIO_FORWARD_STAT_READS = 0,      /* guest reads */
    MMIO_FORWARD_STAT_WRITES,         /* guest writes */
    MMIO_FORWARD_STAT_REQUESTS,       /* requests sent to the handler */
    MMIO_FORWARD_STAT_TIMEOUTS,       /* no reply (or no room to send) within the timeout */
    MMIO_FORWARD_STAT_HANDLER_DEATHS, /* connections lost: EOF, EPIPE, ECONNRESET */
    MMIO_FORWARD_STAT_BAD_REPLIES,    /* wrong size, unknown seq, data past the width */
    MMIO_FORWARD_STAT_ERRORS,         /* replies with a nonzero status */
    MMIO_FORWARD_STAT_STALE_REPLIES,  /* late replies to timed-out requests, dropped */
    MMIO_FORWARD_STAT_REFUSED,        /* accesses failed at once: no handler connected */
    MMIO_FORWARD_STAT_RECONNECTS,     /* successful reconnections to the socket path */
    MMIO_FORWARD_STAT_COUNT
} mmio_forward_stat_t;

typedef struct mmio_forward mmio_forward_t;

typedef struct mmio_forward_config {
    const char *name;          /* for logs (copied); NULL: "mmio-forward" */
    uint64_t base;             /* guest-physical; any alignment */
    uint64_t size;             /* bytes, at least 1; base + size must not wrap */
    int fd;                    /* a connected AF_UNIX SOCK_SEQPACKET socket, or -1 to
                                  connect to @path.  On success the region owns it
                                  and closes it; on failure the caller keeps it */
    const char *path;          /* the handler's listening socket (copied): connected to
                                  when @fd is -1, and used for reconnects; may be NULL
                                  when @fd is given */
    unsigned int timeout_ms;   /* per access; 0: MMIO_FORWARD_DEFAULT_TIMEOUT_MS */
    unsigned int reconnect_ms; /* with @path: after the handler dies, an access tries to
                                  reconnect, at most once per @reconnect_ms (the first
                                  access after the death tries at once); 0: never */
} mmio_forward_config_t;

/*
 * Create a forwarding region on @vm as @cfg describes and store it in *@out.
 * Call before vm_run() or from a fault callback.
 * Returns 0; -EINVAL (NULL argument, size 0, base + size wraps, no @fd and no
 * @path, timeout over MMIO_FORWARD_MAX_TIMEOUT_MS, @fd not an AF_UNIX
 * SOCK_SEQPACKET socket); -ENAMETOOLONG (@path); the errno of connecting to
 * @path (-ENOENT, -ECONNREFUSED, ...); -EEXIST (the range overlaps a
 * reservation); -ENOMEM.
 */
int mmio_forward_create(vm_t *vm, const mmio_forward_config_t *cfg, mmio_forward_t **out);

/*
 * Free the reservation, close the socket (the handler sees EOF) and free
 * @f.  NULL is a no-op.  Call while the VM does not run: a vCPU may be
 * inside the fault callback until vm_run() returns (guest_memory.h: a
 * reservation's cookie outlives vm_run()).
 */
void mmio_forward_destroy(mmio_forward_t *f);

/*
 * Forward one access at @offset of @width (1..8) bytes, exactly as the
 * fault callback does: for a read *@data receives the handler's value (all
 * ones in the low @width bytes when the access fails); for a write *@data
 * is the value sent.  Blocks for at most the timeout.  For devices that
 * embed a forwarder behind their own window, and for tests.
 * Returns FAULT_HANDLED; FAULT_BUS_ERROR (see the top of this file); or
 * FAULT_UNHANDLED (nothing sent) when @f or @data is NULL, @width is not
 * 1..8 or the access is not wholly inside the region.
 */
memory_fault_result_t mmio_forward_access(mmio_forward_t *f, uint64_t offset, unsigned int width,
                                          bool is_write, uint64_t *data);

/*
 * Change the per-access timeout (takes effect from the next access).
 * @timeout_ms 0 means MMIO_FORWARD_DEFAULT_TIMEOUT_MS.  Returns 0, or -EINVAL
 * for a NULL @f or a timeout over MMIO_FORWARD_MAX_TIMEOUT_MS.
 */
int mmio_forward_set_timeout(mmio_forward_t *f, unsigned int timeout_ms);

/* Whether a handler is connected (false once it died, until a reconnect). */
bool mmio_forward_connected(mmio_forward_t *f);

/* How often @stat happened on @f (any thread); 0 for NULL or an unknown @stat. */
uint64_t mmio_forward_stat(const mmio_forward_t *f, mmio_forward_stat_t stat);

/* Name of a counter ("timeouts", "handler-deaths", ...); "unknown" when out of range. */
const char *mmio_forward_stat_name(mmio_forward_stat_t stat);

/* The region's guest-physical base and size. */
uint64_t mmio_forward_base(const mmio_forward_t *f);
uint64_t mmio_forward_size(const mmio_forward_t *f);

/* ---- the handler's side ------------------------------------------------------------- */

/* A request, decoded and checked. */
typedef struct mmio_forward_request {
    uint32_t seq;
    uint64_t addr;      /* guest-physical */
    uint64_t offset;    /* from the region's base */
    unsigned int width; /* 1..8 */
    bool is_write;
    uint64_t data; /* write: the value (low @width bytes); read: 0 */
} mmio_forward_request_t;

/*
 * Answer one request.  For a read, store the value in *@data (bits past
 * the width are cleared for you).  Return 0, or a nonzero status to give
 * the guest a bus error.
 */
typedef int32_t (*mmio_forward_handler_fn)(void *opaque, const mmio_forward_request_t *req,
                                           uint64_t *data);

/*
 * Receive one request from @fd (blocking).
 * Returns 1 with *@req filled; 0 when the VMM closed the connection (EOF or
 * ECONNRESET); -EPROTO for a message that is not a version-1 request (wrong
 * size or magic, width not 1..8, is_write not 0 or 1, reserved bytes or
 * data bits past the width set; the message is consumed); or -errno.
 */
int mmio_forward_recv_request(int fd, mmio_forward_request_t *req);

/* Send one reply (blocking, no SIGPIPE).  Returns 0 or -errno (-EPIPE: the VMM is gone). */
int mmio_forward_send_reply(int fd, uint32_t seq, int32_t status, uint64_t data);

/*
 * Serve requests on @fd with @fn until the VMM closes the connection:
 * receive a request, call @fn, send its reply, in order.  Writes are
 * answered with data 0 and reads with @fn's value cut to the width.
 * Returns 0 at EOF (or when the VMM went away before a reply), -EPROTO for a
 * malformed request, or another -errno.  Does not close @fd.
 */
int mmio_forward_serve(int fd, mmio_forward_handler_fn fn, void *opaque);

#ifdef __cplusplus
}
#endif
#endif
