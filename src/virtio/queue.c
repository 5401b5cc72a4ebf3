/*
 * queue.c - the split virtqueue (virtio 1.2, section 2.7), device side.
 *
 * The guest owns the descriptor table and the available ring and may change
 * them at any moment, from another vCPU, while we read them.  So every
 * guest value is read once into a local copy and checked there (no double
 * fetch), indices are reduced or range-checked before use, a chain walk is
 * bounded by the size of the table it walks, and every buffer address goes
 * through gpa_to_hva(), which refuses anything not wholly in guest RAM.
 *
 * Ring layout (2.7.6, 2.7.8), all fields little-endian:
 *   descriptor table  16 bytes x size              (16-byte aligned)
 *   available ring    flags, idx, ring[size], used_event    (2-aligned)
 *   used ring         flags, idx, {id, len}[size], avail_event (4-aligned)
 */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <vmmkit/guest_memory.h>
#include <vmmkit/log.h>
#include <vmmkit/virtio_queue.h>

/* A descriptor as the guest lays it out (2.7.5). */
struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

#define VIRTQ_DESC_SIZE 16u
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u /* 2.7.7 */

/* Byte offsets inside the rings. */
#define AVAIL_FLAGS 0u
#define AVAIL_IDX 2u
#define AVAIL_RING 4u
#define USED_FLAGS 0u
#define USED_IDX 2u
#define USED_RING 4u
#define USED_ELEM_SIZE 8u

static size_t avail_bytes(uint16_t size)
{
    return AVAIL_RING + 2u * (size_t)size + 2u; /* + used_event */
}

static size_t used_bytes(uint16_t size)
{
    return USED_RING + USED_ELEM_SIZE * (size_t)size + 2u; /* + avail_event */
}

static uint16_t *ring16(void *ring, size_t offset)
{
    return (uint16_t *)((uint8_t *)ring + offset);
}

static uint32_t *ring32(void *ring, size_t offset)
{
    return (uint32_t *)((uint8_t *)ring + offset);
}

/* used_event sits after the available ring's entries (2.7.6, 2.7.7). */
static uint16_t *used_event_field(virtq_t *q)
{
    return ring16(q->avail, AVAIL_RING + 2u * (size_t)q->size);
}

/* avail_event sits after the used ring's entries (2.7.8, 2.7.10). */
static uint16_t *avail_event_field(virtq_t *q)
{
    return ring16(q->used, USED_RING + USED_ELEM_SIZE * (size_t)q->size);
}

/* Guest-shared 16-bit fields are read and written as atomics: the guest may
 * touch them concurrently, and a torn or compiler-duplicated access would be
 * a double fetch. */
static uint16_t load16(uint16_t *p, int order)
{
    return le16toh(__atomic_load_n(p, order));
}

static void store16(uint16_t *p, uint16_t v, int order)
{
    __atomic_store_n(p, htole16(v), order);
}

static const char *const virtq_error_names[VIRTQ_E_COUNT] = {
    [VIRTQ_OK] = "ok",
    [VIRTQ_E_RING_ADDRESS] = "ring-address",
    [VIRTQ_E_AVAIL_IDX_JUMP] = "avail-idx-jump",
    [VIRTQ_E_HEAD_OUT_OF_RANGE] = "head-out-of-range",
    [VIRTQ_E_NEXT_OUT_OF_RANGE] = "next-out-of-range",
    [VIRTQ_E_CHAIN_LOOP] = "chain-loop",
    [VIRTQ_E_CHAIN_TOO_LONG] = "chain-too-long",
    [VIRTQ_E_CHAIN_TOO_BIG] = "chain-too-big",
    [VIRTQ_E_BUFFER_ADDRESS] = "buffer-address",
    [VIRTQ_E_INDIRECT_NESTED] = "indirect-nested",
    [VIRTQ_E_INDIRECT_SIZE] = "indirect-size",
    [VIRTQ_E_INDIRECT_NOT_NEGOTIATED] = "indirect-not-negotiated",
    [VIRTQ_E_INDIRECT_WITH_NEXT] = "indirect-with-next",
    [VIRTQ_E_WRITE_BEFORE_READ] = "write-before-read",
    [VIRTQ_E_UNEXPECTED_WRITABLE] = "unexpected-writable",
    [VIRTQ_E_UNEXPECTED_READABLE] = "unexpected-readable",
    [VIRTQ_E_USED_LEN] = "used-len",
};

/* What the guest (or device) should have done instead, for the log line. */
static const char *const virtq_error_hints[VIRTQ_E_COUNT] = {
    [VIRTQ_OK] = "",
    [VIRTQ_E_RING_ADDRESS] = "rings must lie in guest RAM, desc 16-, avail 2-, used 4-aligned",
    [VIRTQ_E_AVAIL_IDX_JUMP] = "avail.idx may run at most queue-size entries ahead",
    [VIRTQ_E_HEAD_OUT_OF_RANGE] = "a head must be below the queue size",
    [VIRTQ_E_NEXT_OUT_OF_RANGE] = "next must be below the table size",
    [VIRTQ_E_CHAIN_LOOP] = "a chain may not hold more descriptors than its table",
    [VIRTQ_E_CHAIN_TOO_LONG] = "at most VIRTQ_MAX_CHAIN_BUFS (256) non-empty buffers a chain",
    [VIRTQ_E_CHAIN_TOO_BIG] = "at most VIRTQ_MAX_CHAIN_BYTES (256 MiB) a chain",
    [VIRTQ_E_BUFFER_ADDRESS] = "buffers must lie wholly in guest RAM",
    [VIRTQ_E_INDIRECT_NESTED] = "an indirect table may not point to another (2.7.5.3.1)",
    [VIRTQ_E_INDIRECT_SIZE] = "an indirect table holds 1..32768 whole 16-byte descriptors",
    [VIRTQ_E_INDIRECT_NOT_NEGOTIATED] = "VIRTIO_F_RING_INDIRECT_DESC was not negotiated",
    [VIRTQ_E_INDIRECT_WITH_NEXT] = "INDIRECT and NEXT may not both be set (2.7.5.3.1)",
    [VIRTQ_E_WRITE_BEFORE_READ] = "device-readable buffers must come first (2.7.4.2)",
    [VIRTQ_E_UNEXPECTED_WRITABLE] = "this device takes device-readable buffers only here",
    [VIRTQ_E_UNEXPECTED_READABLE] = "this device takes device-writable buffers only here",
    [VIRTQ_E_USED_LEN] = "the device may not report more than the chain's writable bytes",
};

const char *virtq_error_name(virtq_error_t err)
{
    if ((unsigned int)err >= VIRTQ_E_COUNT) {
        return "unknown";
    }
    return virtq_error_names[err];
}

static const char *qname(const virtq_t *q)
{
    return q->name ? q->name : "virtq";
}

/* Count @err, log it with the offending @value, return -@err. */
static int virtq_fail(virtq_t *q, virtq_error_t err, const char *what, uint64_t value)
{
    q->errors[err]++;
    LOG_WARN_RL(&q->log_rl, "%s: %s: %s %#llx: %s", qname(q), virtq_error_name(err), what,
                (unsigned long long)value, virtq_error_hints[err]);
    return -(int)err;
}

int virtq_report_error(virtq_t *q, virtq_error_t err)
{
    if ((unsigned int)err >= VIRTQ_E_COUNT || err == VIRTQ_OK) {
        return 0;
    }
    q->errors[err]++;
    LOG_WARN_RL(&q->log_rl, "%s: %s: %s", qname(q), virtq_error_name(err), virtq_error_hints[err]);
    return -(int)err;
}

/* A limiter that was never set up gets the default once; re-enabling the
 * queue must not reset it, or a guest could lift the limit by toggling. */
static void virtq_init_log(virtq_t *q)
{
    if (q->log_rl.interval_ns == 0) {
        q->log_rl = (vmm_ratelimit_t)VMM_RATELIMIT_DEFAULT;
    }
}

void virtq_reset(virtq_t *q)
{
    q->size = 0;
    q->ready = false;
    q->event_idx = false;
    q->indirect = false;
    q->desc_gpa = q->avail_gpa = q->used_gpa = 0;
    q->desc = q->avail = q->used = NULL;
    q->last_avail = 0;
    q->used_idx = 0;
    q->signalled_used = 0;
    q->signalled_valid = false;
    q->broken = false;
    virtq_init_log(q);
}

/* Host pointer to a ring of @len bytes at @gpa aligned to @align, or NULL. */
static void *map_ring(vm_t *vm, uint64_t gpa, size_t len, uint64_t align)
{
    if (gpa & (align - 1)) {
        return NULL;
    }
    void *hva = gpa_to_hva(vm, gpa, len);
    /* The host mapping must keep the alignment for the atomic accesses. */
    if (hva && ((uintptr_t)hva & (align - 1))) {
        return NULL;
    }
    return hva;
}

int virtq_enable(virtq_t *q, vm_t *vm, uint16_t size, uint64_t desc_gpa, uint64_t avail_gpa,
                 uint64_t used_gpa, bool event_idx, bool indirect)
{
    if (!q || !vm) {
        return -EINVAL;
    }
    virtq_reset(q);
    q->vm = vm;
    /* 2.7: a power of 2 no larger than 32768 (a uint16_t cannot exceed it). */
    if (size == 0 || (size & (size - 1)) != 0) {
        LOG_WARN_RL(&q->log_rl, "%s: queue size %u is not a power of 2 in 1..%u", qname(q), size,
                    VIRTQ_MAX_SIZE);
        return -EINVAL;
    }
    q->size = size;
    q->desc_gpa = desc_gpa;
    q->avail_gpa = avail_gpa;
    q->used_gpa = used_gpa;
    q->event_idx = event_idx;
    q->indirect = indirect;

    /* 2.7: alignment 16 / 2 / 4, and the whole of each ring in RAM. */
    void *desc = map_ring(vm, desc_gpa, (size_t)size * VIRTQ_DESC_SIZE, 16);
    void *avail = map_ring(vm, avail_gpa, avail_bytes(size), 2);
    void *used = map_ring(vm, used_gpa, used_bytes(size), 4);
    if (!desc || !avail || !used) {
        const char *what = !desc    ? "descriptor table at"
                           : !avail ? "available ring at"
                                    : "used ring at";
        uint64_t gpa = !desc ? desc_gpa : !avail ? avail_gpa : used_gpa;
        q->broken = true;
        return virtq_fail(q, VIRTQ_E_RING_ADDRESS, what, gpa);
    }
    q->desc = desc;
    q->avail = avail;
    q->used = used;
    if (event_idx) {
        /* A definite start: notify us at the first available entry (2.7.10). */
        store16(avail_event_field(q), 0, __ATOMIC_RELAXED);
    }
    q->ready = true;
    return VIRTQ_OK;
}

/* Copy descriptor @i of @table (any alignment: indirect tables need none). */
static void read_desc(const void *table, uint32_t i, struct virtq_desc *d)
{
    struct virtq_desc raw;
    memcpy(&raw, (const uint8_t *)table + (size_t)i * VIRTQ_DESC_SIZE, sizeof(raw));
    d->addr = le64toh(raw.addr);
    d->len = le32toh(raw.len);
    d->flags = le16toh(raw.flags);
    d->next = le16toh(raw.next);
}

/* Walk the chain at @head into @c (2.7.5, 2.7.5.3).  Returns 0 or -reason. */
static int walk_chain(virtq_t *q, uint16_t head, virtq_chain_t *c)
{
    const void *table = q->desc;
    uint32_t entries = q->size; /* descriptors in the table being walked */
    uint32_t visited = 0;       /* in that table: more than @entries is a loop */
    uint32_t i = head;
    bool in_indirect = false;
    bool seen_writable = false;
    uint64_t total = 0;

    for (;;) {
        struct virtq_desc d;

        if (++visited > entries) {
            /* 2.7.5.2, 2.7.5.3.1: no loops, no longer than the table. */
            return virtq_fail(q, VIRTQ_E_CHAIN_LOOP, "descriptors visited in a table of", entries);
        }
        read_desc(table, i, &d);

        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            /* 2.7.5.3.1: not nested, not with NEXT, only when negotiated.
             * 2.7.5.3.2: zero or more direct descriptors may precede it. */
            if (in_indirect) {
                return virtq_fail(q, VIRTQ_E_INDIRECT_NESTED, "indirect descriptor", i);
            }
            if (!q->indirect) {
                return virtq_fail(q, VIRTQ_E_INDIRECT_NOT_NEGOTIATED, "descriptor", i);
            }
            if (d.flags & VIRTQ_DESC_F_NEXT) {
                return virtq_fail(q, VIRTQ_E_INDIRECT_WITH_NEXT, "descriptor", i);
            }
            if (d.len == 0 || d.len % VIRTQ_DESC_SIZE != 0 ||
                d.len > VIRTQ_MAX_SIZE * VIRTQ_DESC_SIZE) {
                return virtq_fail(q, VIRTQ_E_INDIRECT_SIZE, "indirect table length", d.len);
            }
            const void *t = gpa_to_hva(q->vm, d.addr, d.len);
            if (!t) {
                return virtq_fail(q, VIRTQ_E_BUFFER_ADDRESS, "indirect table at", d.addr);
            }
            /* The WRITE flag of this descriptor is ignored (2.7.5.3.2). */
            table = t;
            entries = d.len / VIRTQ_DESC_SIZE;
            visited = 0;
            i = 0;
            in_indirect = true;
            continue;
        }

        bool writable = d.flags & VIRTQ_DESC_F_WRITE;
        if (!writable && seen_writable) {
            return virtq_fail(q, VIRTQ_E_WRITE_BEFORE_READ, "readable descriptor", i);
        }
        seen_writable |= writable;

        /* Zero-length buffers carry nothing: accepted, not translated. */
        if (d.len != 0) {
            total += d.len; /* a uint64_t: 256 + 1 lengths of < 2^32 cannot wrap it */
            if (total > VIRTQ_MAX_CHAIN_BYTES) {
                return virtq_fail(q, VIRTQ_E_CHAIN_TOO_BIG, "chain bytes", total);
            }
            if (c->nr_bufs >= VIRTQ_MAX_CHAIN_BUFS) {
                return virtq_fail(q, VIRTQ_E_CHAIN_TOO_LONG, "buffers", c->nr_bufs + 1u);
            }
            void *hva = gpa_to_hva(q->vm, d.addr, d.len);
            if (!hva) {
                return virtq_fail(q, VIRTQ_E_BUFFER_ADDRESS, "buffer at", d.addr);
            }
            c->bufs[c->nr_bufs++] = (virtq_buf_t){.addr = hva, .len = d.len, .writable = writable};
            if (writable) {
                c->writable_len += d.len;
            } else {
                c->readable_len += d.len;
                c->nr_readable++;
            }
        }

        if (!(d.flags & VIRTQ_DESC_F_NEXT)) {
            return 0;
        }
        if (d.next >= entries) {
            return virtq_fail(q, VIRTQ_E_NEXT_OUT_OF_RANGE, "next", d.next);
        }
        i = d.next;
    }
}

int virtq_pop(virtq_t *q, virtq_chain_t *chain)
{
    if (!q->ready || q->broken) {
        return 0;
    }
    /* 2.7.13: read avail.idx before the entries it covers (acquire). */
    uint16_t avail_idx = load16(ring16(q->avail, AVAIL_IDX), __ATOMIC_ACQUIRE);
    uint16_t pending = (uint16_t)(avail_idx - q->last_avail);
    if (pending == 0) {
        return 0;
    }
    /* 2.7.13: the driver cannot have more than size entries outstanding. */
    if (pending > q->size) {
        q->broken = true;
        return virtq_fail(q, VIRTQ_E_AVAIL_IDX_JUMP, "avail.idx", avail_idx);
    }
    /* 2.7.6: entries are indexed modulo the queue size (a power of 2). */
    size_t slot = q->last_avail & (q->size - 1u);
    uint16_t head = load16(ring16(q->avail, AVAIL_RING + 2u * slot), __ATOMIC_RELAXED);
    if (head >= q->size) {
        q->broken = true;
        return virtq_fail(q, VIRTQ_E_HEAD_OUT_OF_RANGE, "head", head);
    }
    q->last_avail++;

    chain->head = head;
    chain->nr_bufs = 0;
    chain->nr_readable = 0;
    chain->readable_len = 0;
    chain->writable_len = 0;
    int err = walk_chain(q, head, chain);
    if (err < 0) {
        /* Nothing of a refused chain may be used. */
        chain->nr_bufs = 0;
        chain->nr_readable = 0;
        chain->readable_len = 0;
        chain->writable_len = 0;
        return err;
    }
    return 1;
}

void virtq_push(virtq_t *q, uint16_t head, uint32_t written)
{
    if (!q->ready) {
        return;
    }
    /* 2.7.8.2: the element (len included) before used.idx, which is
     * published with release semantics. */
    size_t elem = USED_RING + USED_ELEM_SIZE * (size_t)(q->used_idx & (q->size - 1u));
    __atomic_store_n(ring32(q->used, elem), htole32(head), __ATOMIC_RELAXED);
    __atomic_store_n(ring32(q->used, elem + 4u), htole32(written), __ATOMIC_RELAXED);
    q->used_idx++;
    store16(ring16(q->used, USED_IDX), q->used_idx, __ATOMIC_RELEASE);
}

void virtq_push_chain(virtq_t *q, const virtq_chain_t *chain, uint32_t written)
{
    if (written > chain->writable_len) {
        virtq_fail(q, VIRTQ_E_USED_LEN, "bytes written, more than the chain's writable", written);
        written = chain->writable_len;
    }
    virtq_push(q, chain->head, written);
}

/*
 * 2.7.7.2: interrupt when the used entry just written sits at index
 * used_event; for a batch from @old to @new_idx, when used_event lies in
 * [old, new_idx) modulo 2^16 (vring_need_event of the spec's virtio_ring.h).
 */
static bool vring_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old)
{
    return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old);
}

bool virtq_should_notify(virtq_t *q)
{
    if (!q->ready) {
        return false;
    }
    /* The device-side mirror of 2.7.13.4: used.idx must be visible before
     * we read the driver's suppression state; a store-load full barrier. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);

    uint16_t old = q->signalled_used;
    bool valid = q->signalled_valid;
    uint16_t new_idx = q->used_idx;
    q->signalled_used = new_idx;
    q->signalled_valid = true;
    if (valid && old == new_idx) {
        return false; /* nothing used since the last decision */
    }
    if (q->event_idx) {
        uint16_t used_event = load16(used_event_field(q), __ATOMIC_RELAXED);
        return !valid || vring_need_event(used_event, new_idx, old);
    }
    /* 2.7.7.2: without EVENT_IDX, avail.flags NO_INTERRUPT suppresses; with
     * it (above) the flag is ignored. */
    uint16_t flags = load16(ring16(q->avail, AVAIL_FLAGS), __ATOMIC_RELAXED);
    return !(flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

void virtq_enable_notify(virtq_t *q)
{
    if (!q->ready || !q->event_idx) {
        return;
    }
    /* 2.7.10: notify us when avail.idx passes last_avail; the full barrier
     * orders this store before the re-read of avail.idx in the next pop. */
    store16(avail_event_field(q), q->last_avail, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

size_t virtq_chain_read(const virtq_chain_t *c, size_t offset, void *dst, size_t len)
{
    size_t done = 0;
    for (unsigned int i = 0; i < c->nr_readable && done < len; i++) {
        const virtq_buf_t *b = &c->bufs[i];
        if (offset >= b->len) {
            offset -= b->len;
            continue;
        }
        size_t n = b->len - offset;
        if (n > len - done) {
            n = len - done;
        }
        memcpy((uint8_t *)dst + done, (const uint8_t *)b->addr + offset, n);
        done += n;
        offset = 0;
    }
    return done;
}

size_t virtq_chain_write(const virtq_chain_t *c, size_t offset, const void *src, size_t len)
{
    size_t done = 0;
    for (unsigned int i = c->nr_readable; i < c->nr_bufs && done < len; i++) {
        const virtq_buf_t *b = &c->bufs[i];
        if (offset >= b->len) {
            offset -= b->len;
            continue;
        }
        size_t n = b->len - offset;
        if (n > len - done) {
            n = len - done;
        }
        memcpy((uint8_t *)b->addr + offset, (const uint8_t *)src + done, n);
        done += n;
        offset = 0;
    }
    return done;
}
