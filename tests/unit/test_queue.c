/*
 * test_queue.c - the split virtqueue (src/virtio/queue.c) over hand-built
 * rings in fake-backend guest RAM: every virtq_error_t, good chains
 * (direct, indirect, mixed, zero-length buffers), 16-bit index wrap-around,
 * interrupt suppression (used_event, avail_event, NO_INTERRUPT), the used
 * ring as the guest sees it, and the chain copy helpers.
 */
#include <endian.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <vmmkit/guest_memory.h>
#include <vmmkit/log.h>
#include <vmmkit/virtio_queue.h>

#include "fake_hv.h"

#define MiB (1ull << 20)
#define RAM_BASE 0x100000ull
#define RAM_SIZE (1 * MiB)
#define RAM_END (RAM_BASE + RAM_SIZE)
#define DESC_GPA (RAM_BASE + 0x00000)
#define AVAIL_GPA (RAM_BASE + 0x10000)
#define USED_GPA (RAM_BASE + 0x20000)
#define INDIRECT_GPA (RAM_BASE + 0x40000)
#define DATA_GPA (RAM_BASE + 0x80000)
#define OUTSIDE_GPA 0x10000000ull /* no RAM there */
#define QSIZE 16u

#define F_NEXT VIRTQ_DESC_F_NEXT
#define F_WRITE VIRTQ_DESC_F_WRITE
#define F_INDIRECT VIRTQ_DESC_F_INDIRECT

struct fixture {
    vm_t *vm;
    virtq_t q;
    virtq_chain_t chain;
    uint16_t size;      /* size the rings were built for */
    uint16_t avail_idx; /* the "driver's" avail.idx */
};

static int setup(void **state)
{
    vmm_log_set_level(VMM_LOG_ERR); /* the tests provoke warnings on purpose */
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->vm = fake_vm_create();
    assert_non_null(f->vm);
    assert_int_equal(vm_ram_add(f->vm, RAM_BASE, RAM_SIZE), 0);
    virtq_reset(&f->q);
    f->q.name = "test.q0";
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    vm_destroy(f->vm);
    free(f);
    return 0;
}

/* Guest-side view of RAM. */
static void *hva(struct fixture *f, uint64_t gpa, size_t len)
{
    void *p = gpa_to_hva(f->vm, gpa, len);
    assert_non_null(p);
    return p;
}

static void put16(struct fixture *f, uint64_t gpa, uint16_t v)
{
    v = htole16(v);
    memcpy(hva(f, gpa, 2), &v, 2);
}

static uint16_t get16(struct fixture *f, uint64_t gpa)
{
    uint16_t v;
    memcpy(&v, hva(f, gpa, 2), 2);
    return le16toh(v);
}

static uint32_t get32(struct fixture *f, uint64_t gpa)
{
    uint32_t v;
    memcpy(&v, hva(f, gpa, 4), 4);
    return le32toh(v);
}

/* Write descriptor @i of the table at @table (little-endian, 2.7.5). */
static void set_desc(struct fixture *f, uint64_t table, uint16_t i, uint64_t addr, uint32_t len,
                     uint16_t flags, uint16_t next)
{
    uint8_t raw[16];
    uint64_t a = htole64(addr);
    uint32_t l = htole32(len);
    uint16_t fl = htole16(flags), n = htole16(next);
    memcpy(raw, &a, 8);
    memcpy(raw + 8, &l, 4);
    memcpy(raw + 12, &fl, 2);
    memcpy(raw + 14, &n, 2);
    memcpy(hva(f, table + 16u * i, 16), raw, 16);
}

static void set_avail_idx(struct fixture *f, uint16_t idx)
{
    f->avail_idx = idx;
    put16(f, AVAIL_GPA + 2, idx);
}

/* Make @head available (driver side of 2.7.13). */
static void avail_add(struct fixture *f, uint16_t head)
{
    put16(f, AVAIL_GPA + 4 + 2u * (f->avail_idx % f->size), head);
    set_avail_idx(f, (uint16_t)(f->avail_idx + 1));
}

static void set_avail_flags(struct fixture *f, uint16_t flags)
{
    put16(f, AVAIL_GPA, flags);
}

static void set_used_event(struct fixture *f, uint16_t v)
{
    put16(f, AVAIL_GPA + 4 + 2u * f->size, v);
}

static uint16_t used_idx(struct fixture *f)
{
    return get16(f, USED_GPA + 2);
}

static uint16_t avail_event(struct fixture *f)
{
    return get16(f, USED_GPA + 4 + 8u * f->size);
}

static void used_elem(struct fixture *f, uint16_t slot, uint32_t *id, uint32_t *len)
{
    *id = get32(f, USED_GPA + 4 + 8u * slot);
    *len = get32(f, USED_GPA + 4 + 8u * slot + 4);
}

static void enable_q(struct fixture *f, uint16_t size, bool event_idx, bool indirect)
{
    f->size = size;
    assert_int_equal(
        virtq_enable(&f->q, f->vm, size, DESC_GPA, AVAIL_GPA, USED_GPA, event_idx, indirect), 0);
    assert_true(f->q.ready);
    assert_false(f->q.broken);
}

/* Pop and expect a chain-level error: counted, head returned, no buffers. */
static void expect_chain_error(struct fixture *f, uint16_t head, virtq_error_t err)
{
    uint64_t before = f->q.errors[err];
    uint16_t last = f->q.last_avail;
    assert_int_equal(virtq_pop(&f->q, &f->chain), -(int)err);
    assert_int_equal(f->q.errors[err], before + 1);
    assert_int_equal(f->chain.head, head);
    assert_int_equal(f->chain.nr_bufs, 0);
    assert_int_equal(f->chain.readable_len + f->chain.writable_len, 0);
    assert_int_equal(f->q.last_avail, (uint16_t)(last + 1));
    assert_false(f->q.broken);
    virtq_push(&f->q, head, 0);
}

/* Pop and expect a ring-level error: counted, nothing consumed, broken. */
static void expect_ring_error(struct fixture *f, virtq_error_t err)
{
    uint64_t before = f->q.errors[err];
    uint16_t last = f->q.last_avail;
    assert_int_equal(virtq_pop(&f->q, &f->chain), -(int)err);
    assert_int_equal(f->q.errors[err], before + 1);
    assert_int_equal(f->q.last_avail, last);
    assert_true(f->q.broken);
    assert_int_equal(virtq_pop(&f->q, &f->chain), 0);
}

/* --- virtq_enable ------------------------------------------------------ */

static void test_enable_size(void **state)
{
    struct fixture *f = *state;
    static const uint16_t bad[] = {0, 3, 6, 100, 32767, 49152, 65535};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(
            virtq_enable(&f->q, f->vm, bad[i], DESC_GPA, AVAIL_GPA, USED_GPA, false, false),
            -EINVAL);
        assert_false(f->q.ready);
    }
    assert_int_equal(virtq_enable(NULL, f->vm, 4, DESC_GPA, AVAIL_GPA, USED_GPA, false, false),
                     -EINVAL);
    assert_int_equal(virtq_enable(&f->q, NULL, 4, DESC_GPA, AVAIL_GPA, USED_GPA, false, false),
                     -EINVAL);
    /* Every power of 2 up to 32768 (the largest rings: 512 + 64 + 256 KiB). */
    for (uint32_t size = 1; size <= VIRTQ_MAX_SIZE; size <<= 1) {
        assert_int_equal(virtq_enable(&f->q, f->vm, (uint16_t)size, RAM_BASE, RAM_BASE + 0x80000,
                                      RAM_BASE + 0x92000, true, true),
                         0);
        assert_true(f->q.ready);
        assert_int_equal(f->q.size, size);
    }
    assert_int_equal(f->q.errors[VIRTQ_E_RING_ADDRESS], 0);
}

static void expect_ring_address(struct fixture *f, uint16_t size, uint64_t desc, uint64_t avail,
                                uint64_t used)
{
    uint64_t before = f->q.errors[VIRTQ_E_RING_ADDRESS];
    assert_int_equal(virtq_enable(&f->q, f->vm, size, desc, avail, used, true, true),
                     -VIRTQ_E_RING_ADDRESS);
    assert_int_equal(f->q.errors[VIRTQ_E_RING_ADDRESS], before + 1);
    assert_false(f->q.ready);
    assert_true(f->q.broken);
    assert_int_equal(virtq_pop(&f->q, &f->chain), 0);
}

static void test_enable_ring_address(void **state)
{
    struct fixture *f = *state;
    /* Misaligned: desc 16, avail 2, used 4 (2.7). */
    expect_ring_address(f, QSIZE, DESC_GPA + 8, AVAIL_GPA, USED_GPA);
    expect_ring_address(f, QSIZE, DESC_GPA, AVAIL_GPA + 1, USED_GPA);
    expect_ring_address(f, QSIZE, DESC_GPA, AVAIL_GPA, USED_GPA + 2);
    /* Outside RAM. */
    expect_ring_address(f, QSIZE, OUTSIDE_GPA, AVAIL_GPA, USED_GPA);
    expect_ring_address(f, QSIZE, DESC_GPA, OUTSIDE_GPA, USED_GPA);
    expect_ring_address(f, QSIZE, DESC_GPA, AVAIL_GPA, OUTSIDE_GPA);
    /* Wrapping the address space. */
    expect_ring_address(f, QSIZE, UINT64_MAX - 15, AVAIL_GPA, USED_GPA);
    /* Straddling the end of RAM: the table, and only the trailing
     * used_event / avail_event fields. */
    expect_ring_address(f, QSIZE, RAM_END - 16 * QSIZE + 16, AVAIL_GPA, USED_GPA);
    expect_ring_address(f, QSIZE, DESC_GPA, RAM_END - (4 + 2 * QSIZE), USED_GPA);
    expect_ring_address(f, QSIZE, DESC_GPA, AVAIL_GPA, RAM_END - (4 + 8 * QSIZE));
    /* ... while ending exactly at the end of RAM is fine. */
    assert_int_equal(virtq_enable(&f->q, f->vm, QSIZE, RAM_END - 16 * QSIZE,
                                  RAM_END - 16 * QSIZE - (6 + 2 * QSIZE) - 2,
                                  RAM_END - 16 * QSIZE - 0x1000 - (6 + 8 * QSIZE) - 2, true, true),
                     0);
    assert_true(f->q.ready);
    assert_false(f->q.broken);
    /* The counters and the name survive enable and reset. */
    virtq_reset(&f->q);
    assert_int_equal(f->q.errors[VIRTQ_E_RING_ADDRESS], 10);
    assert_string_equal(f->q.name, "test.q0");
    assert_false(f->q.ready);
}

/* --- good chains -------------------------------------------------------- */

static void test_pop_empty_and_not_ready(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(virtq_pop(&f->q, &f->chain), 0); /* never enabled */
    virtq_push(&f->q, 0, 0);                          /* ignored */
    assert_false(virtq_should_notify(&f->q));
    enable_q(f, QSIZE, false, false);
    assert_int_equal(virtq_pop(&f->q, &f->chain), 0);
    assert_int_equal(used_idx(f), 0);
}

static void test_direct_chain(void **state)
{
    struct fixture *f = *state;
    enable_q(f, QSIZE, false, false);
    /* 5 -> 9 -> 2: two readable, one writable; an unused WRITE-less tail. */
    set_desc(f, DESC_GPA, 5, DATA_GPA, 10, F_NEXT, 9);
    set_desc(f, DESC_GPA, 9, DATA_GPA + 0x100, 20, F_NEXT, 2);
    set_desc(f, DESC_GPA, 2, DATA_GPA + 0x200, 30, F_WRITE, 7);
    avail_add(f, 5);

    assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
    virtq_chain_t *c = &f->chain;
    assert_int_equal(c->head, 5);
    assert_int_equal(c->nr_bufs, 3);
    assert_int_equal(c->nr_readable, 2);
    assert_int_equal(c->readable_len, 30);
    assert_int_equal(c->writable_len, 30);
    assert_ptr_equal(c->bufs[0].addr, hva(f, DATA_GPA, 10));
    assert_int_equal(c->bufs[0].len, 10);
    assert_false(c->bufs[0].writable);
    assert_ptr_equal(c->bufs[1].addr, hva(f, DATA_GPA + 0x100, 20));
    assert_ptr_equal(c->bufs[2].addr, hva(f, DATA_GPA + 0x200, 30));
    assert_true(c->bufs[2].writable);
    assert_int_equal(virtq_pop(&f->q, &f->chain), 0);

    virtq_push(&f->q, 5, 17);
    assert_int_equal(used_idx(f), 1);
    uint32_t id = 0, len = 0;
    used_elem(f, 0, &id, &len);
    assert_int_equal(id, 5);
    assert_int_equal(len, 17);

    /* A single descriptor chain using the whole table size is fine. */
    for (uint16_t i = 0; i < QSIZE; i++) {
        set_desc(f, DESC_GPA, i, DATA_GPA + i, 1, i + 1u < QSIZE ? F_NEXT : 0, i + 1);
    }
    avail_add(f, 0);
    assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
    assert_int_equal(f->chain.nr_bufs, QSIZE);
}

static void test_zero_length_buffers(void **state)
{
    struct fixture *f = *state;
    enable_q(f, QSIZE, false, false);
    /* Zero-length buffers are accepted and skipped, never translated:
     * their address may be anything. */
    set_desc(f, DESC_GPA, 0, OUTSIDE_GPA, 0, F_NEXT, 1);
    set_desc(f, DESC_GPA, 1, DATA_GPA, 8, F_NEXT, 2);
    set_desc(f, DESC_GPA, 2, UINT64_MAX, 0, F_WRITE | F_NEXT, 3);
    set_desc(f, DESC_GPA, 3, DATA_GPA + 8, 4, F_WRITE, 0);
    avail_add(f, 0);
    assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
    assert_int_equal(f->chain.nr_bufs, 2);
    assert_int_equal(f->chain.nr_readable, 1);
    assert_int_equal(f->chain.readable_len, 8);
    assert_int_equal(f->chain.writable_len, 4);

    /* A chain of nothing but an empty buffer is a valid, empty chain. */
    set_desc(f, DESC_GPA, 4, 0, 0, 0, 0);
    avail_add(f, 4);
    assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
    assert_int_equal(f->chain.head, 4);
    assert_int_equal(f->chain.nr_bufs, 0);
}

static void test_indirect_chain(void **state)
{
    struct fixture *f = *state;
    enable_q(f, QSIZE, false, true);
    /* An indirect table of 4 (its own indices, 2.7.5.3): 0 -> 3 -> 1 -> 2. */
    set_desc(f, INDIRECT_GPA, 0, DATA_GPA, 16, F_NEXT, 3);
    set_desc(f, INDIRECT_GPA, 3, DATA_GPA + 16, 0, F_NEXT, 1);
    set_desc(f, INDIRECT_GPA, 1, DATA_GPA + 32, 16, F_WRITE | F_NEXT, 2);
    set_desc(f, INDIRECT_GPA, 2, DATA_GPA + 48, 16, F_WRITE, 0);
    /* The WRITE flag on the indirect descriptor itself is ignored. */
    set_desc(f, DESC_GPA, 7, INDIRECT_GPA, 4 * 16, F_INDIRECT | F_WRITE, 0);
    avail_add(f, 7);
    assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
    assert_int_equal(f->chain.head, 7);
    assert_int_equal(f->chain.nr_bufs, 3);
    assert_int_equal(f->chain.nr_readable, 1);
    assert_ptr_equal(f->chain.bufs[0].addr, hva(f, DATA_GPA, 16));
    assert_ptr_equal(f->chain.bufs[1].addr, hva(f, DATA_GPA + 32, 16));
    assert_ptr_equal(f->chain.bufs[2].addr, hva(f, DATA_GPA + 48, 16));
    assert_int_equal(f->chain.writable_len, 32);

    /* An indirect table needs no alignment, and may be larger than the
     * queue (up to 32768 entries). */
    uint64_t odd = INDIRECT_GPA + 0x1003;
    for (uint16_t i = 0; i < 64; i++) {
        set_desc(f, odd, i, DATA_GPA + i, 1, i < 63 ? F_NEXT : 0, i + 1);
    }
    set_desc(f, DESC_GPA, 0, odd, 64 * 16, F_INDIRECT, 0);
    avail_add(f, 0);
    assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
    assert_int_equal(f->chain.nr_bufs, 64);
    assert_int_equal(f->chain.readable_len, 64);
}

static void test_mixed_chain(void **state)
{
    struct fixture *f = *state;
    enable_q(f, QSIZE, false, true);
    /* 2.7.5.3.2: direct descriptors followed by one indirect descriptor. */
    set_desc(f, DESC_GPA, 3, DATA_GPA, 4, F_NEXT, 4);
    set_desc(f, DESC_GPA, 4, DATA_GPA + 4, 4, F_NEXT, 5);
    set_desc(f, DESC_GPA, 5, INDIRECT_GPA, 2 * 16, F_INDIRECT, 0);
    set_desc(f, INDIRECT_GPA, 0, DATA_GPA + 8, 8, F_NEXT, 1);
    set_desc(f, INDIRECT_GPA, 1, DATA_GPA + 16, 32, F_WRITE, 0);
    avail_add(f, 3);
    assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
    assert_int_equal(f->chain.nr_bufs, 4);
    assert_int_equal(f->chain.nr_readable, 3);
    assert_int_equal(f->chain.readable_len, 16);
    assert_int_equal(f->chain.writable_len, 32);
    assert_ptr_equal(f->chain.bufs[2].addr, hva(f, DATA_GPA + 8, 8));
    assert_ptr_equal(f->chain.bufs[3].addr, hva(f, DATA_GPA + 16, 32));

    /* Direction is kept across the switch: writable direct, readable indirect. */
    set_desc(f, DESC_GPA, 3, DATA_GPA, 4, F_WRITE | F_NEXT, 5);
    avail_add(f, 3);
    expect_chain_error(f, 3, VIRTQ_E_WRITE_BEFORE_READ);
}

/* --- chain-level errors ------------------------------------------------- */

static void test_next_out_of_range(void **state)
{
    struct fixture *f = *state;
    enable_q(f, QSIZE, false, true);
    set_desc(f, DESC_GPA, 0, DATA_GPA, 4, F_NEXT, QSIZE);
    avail_add(f, 0);
    expect_chain_error(f, 0, VIRTQ_E_NEXT_OUT_OF_RANGE);
    set_desc(f, DESC_GPA, 0, DATA_GPA, 4, F_NEXT, 0xffff);
    avail_add(f, 0);
    expect_chain_error(f, 0, VIRTQ_E_NEXT_OUT_OF_RANGE);
    /* In an indirect table the bound is the table's size, not the queue's. */
    set_desc(f, INDIRECT_GPA, 0, DATA_GPA, 4, F_NEXT, 2);
    set_desc(f, DESC_GPA, 1, INDIRECT_GPA, 2 * 16, F_INDIRECT, 0);
    avail_add(f, 1);
    expect_chain_error(f, 1, VIRTQ_E_NEXT_OUT_OF_RANGE);
    /* The queue goes on. */
    set_desc(f, DESC_GPA, 0, DATA_GPA, 4, 0, 0);
    avail_add(f, 0);
    assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
}

static void test_chain_loop(void **state)
{
    struct fixture *f = *state;
    enable_q(f, QSIZE, false, true);
    /* 0 -> 1 -> 0 -> ... */
    set_desc(f, DESC_GPA, 0, DATA_GPA, 1, F_NEXT, 1);
    set_desc(f, DESC_GPA, 1, DATA_GPA, 1, F_NEXT, 0);
    avail_add(f, 0);
    expect_chain_error(f, 0, VIRTQ_E_CHAIN_LOOP);
    /* A self-loop of zero-length buffers (they are not counted as buffers,
     * so only the walk bound stops it). */
    set_desc(f, DESC_GPA, 2, 0, 0, F_NEXT, 2);
    avail_add(f, 2);
    expect_chain_error(f, 2, VIRTQ_E_CHAIN_LOOP);
    /* Inside an indirect table. */
    set_desc(f, INDIRECT_GPA, 0, DATA_GPA, 1, F_NEXT, 1);
    set_desc(f, INDIRECT_GPA, 1, DATA_GPA, 1, F_NEXT, 0);
    set_desc(f, DESC_GPA, 3, INDIRECT_GPA, 2 * 16, F_INDIRECT, 0);
    avail_add(f, 3);
    expect_chain_error(f, 3, VIRTQ_E_CHAIN_LOOP);
}

static void test_chain_too_long(void **state)
{
    struct fixture *f = *state;
    enable_q(f, 512, false, false);
    /* VIRTQ_MAX_CHAIN_BUFS non-empty buffers are fine, one more is not. */
    for (uint16_t i = 0; i < VIRTQ_MAX_CHAIN_BUFS + 1; i++) {
        set_desc(f, DESC_GPA, i, DATA_GPA + i, 1, F_NEXT, i + 1);
    }
    set_desc(f, DESC_GPA, VIRTQ_MAX_CHAIN_BUFS - 1, DATA_GPA, 1, 0, 0);
    avail_add(f, 0);
    assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
    assert_int_equal(f->chain.nr_bufs, VIRTQ_MAX_CHAIN_BUFS);
    virtq_push(&f->q, 0, 0);

    set_desc(f, DESC_GPA, VIRTQ_MAX_CHAIN_BUFS - 1, DATA_GPA, 1, F_NEXT, VIRTQ_MAX_CHAIN_BUFS);
    set_desc(f, DESC_GPA, VIRTQ_MAX_CHAIN_BUFS, DATA_GPA, 1, 0, 0);
    avail_add(f, 0);
    expect_chain_error(f, 0, VIRTQ_E_CHAIN_TOO_LONG);

    /* Empty buffers do not count towards the limit: 257 descriptors with
     * one empty among them are 256 buffers. */
    set_desc(f, DESC_GPA, 5, 0, 0, F_NEXT, 6);
    avail_add(f, 0);
    assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
    assert_int_equal(f->chain.nr_bufs, VIRTQ_MAX_CHAIN_BUFS);
    assert_int_equal(f->chain.readable_len, VIRTQ_MAX_CHAIN_BUFS);
}

static void test_chain_too_big(void **state)
{
    struct fixture *f = *state;
    enable_q(f, QSIZE, false, false);
    /* One buffer over the limit (checked before the address). */
    set_desc(f, DESC_GPA, 0, DATA_GPA, VIRTQ_MAX_CHAIN_BYTES + 1, 0, 0);
    avail_add(f, 0);
    expect_chain_error(f, 0, VIRTQ_E_CHAIN_TOO_BIG);
    /* Two that only together are over it. */
    set_desc(f, DESC_GPA, 0, OUTSIDE_GPA, VIRTQ_MAX_CHAIN_BYTES / 2 + 1, F_NEXT, 1);
    set_desc(f, DESC_GPA, 1, OUTSIDE_GPA, VIRTQ_MAX_CHAIN_BYTES / 2, F_WRITE, 0);
    avail_add(f, 0);
    expect_chain_error(f, 0, VIRTQ_E_BUFFER_ADDRESS); /* the first is outside RAM */
    set_desc(f, DESC_GPA, 0, DATA_GPA, 16, F_NEXT, 1);
    set_desc(f, DESC_GPA, 1, OUTSIDE_GPA, VIRTQ_MAX_CHAIN_BYTES - 15, F_WRITE, 0);
    avail_add(f, 0);
    expect_chain_error(f, 0, VIRTQ_E_CHAIN_TOO_BIG);
    /* Lengths that would wrap a 32-bit sum. */
    set_desc(f, DESC_GPA, 0, DATA_GPA, 16, F_NEXT, 1);
    set_desc(f, DESC_GPA, 1, DATA_GPA, UINT32_MAX - 8, F_WRITE, 0);
    avail_add(f, 0);
    expect_chain_error(f, 0, VIRTQ_E_CHAIN_TOO_BIG);
    set_desc(f, DESC_GPA, 0, DATA_GPA, UINT32_MAX, F_NEXT, 1);
    avail_add(f, 0);
    expect_chain_error(f, 0, VIRTQ_E_CHAIN_TOO_BIG);
}

static void test_buffer_address(void **state)
{
    struct fixture *f = *state;
    enable_q(f, QSIZE, false, true);
    static const struct {
        uint64_t addr;
        uint32_t len;
    } bad[] = {
        {OUTSIDE_GPA, 1},    /* no RAM */
        {RAM_END - 4, 8},    /* straddles the end of RAM */
        {RAM_BASE - 4, 8},   /* straddles the start */
        {UINT64_MAX - 3, 8}, /* wraps */
        {0, 1},              /* below RAM */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        set_desc(f, DESC_GPA, 0, DATA_GPA, 8, F_NEXT, 1);
        set_desc(f, DESC_GPA, 1, bad[i].addr, bad[i].len, F_WRITE, 0);
        avail_add(f, 0);
        expect_chain_error(f, 0, VIRTQ_E_BUFFER_ADDRESS);
    }
    /* The last byte of RAM is fine. */
    set_desc(f, DESC_GPA, 1, RAM_END - 8, 8, F_WRITE, 0);
    avail_add(f, 0);
    assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
    /* An indirect table outside RAM, or straddling its end. */
    set_desc(f, DESC_GPA, 2, OUTSIDE_GPA, 16, F_INDIRECT, 0);
    avail_add(f, 2);
    expect_chain_error(f, 2, VIRTQ_E_BUFFER_ADDRESS);
    set_desc(f, DESC_GPA, 2, RAM_END - 16, 32, F_INDIRECT, 0);
    avail_add(f, 2);
    expect_chain_error(f, 2, VIRTQ_E_BUFFER_ADDRESS);
    /* A buffer in an indirect table. */
    set_desc(f, INDIRECT_GPA, 0, OUTSIDE_GPA, 4, 0, 0);
    set_desc(f, DESC_GPA, 2, INDIRECT_GPA, 16, F_INDIRECT, 0);
    avail_add(f, 2);
    expect_chain_error(f, 2, VIRTQ_E_BUFFER_ADDRESS);
}

static void test_indirect_errors(void **state)
{
    struct fixture *f = *state;
    enable_q(f, QSIZE, false, true);
    /* Nested (2.7.5.3.1). */
    set_desc(f, INDIRECT_GPA, 0, DATA_GPA, 4, F_NEXT, 1);
    set_desc(f, INDIRECT_GPA, 1, INDIRECT_GPA + 0x100, 16, F_INDIRECT, 0);
    set_desc(f, INDIRECT_GPA + 0x100, 0, DATA_GPA, 4, 0, 0);
    set_desc(f, DESC_GPA, 0, INDIRECT_GPA, 2 * 16, F_INDIRECT, 0);
    avail_add(f, 0);
    expect_chain_error(f, 0, VIRTQ_E_INDIRECT_NESTED);

    /* Sizes: empty, not a multiple of 16, more than 32768 entries. */
    static const uint32_t bad_len[] = {0, 8, 24, 17, (VIRTQ_MAX_SIZE + 1) * 16, UINT32_MAX};
    for (size_t i = 0; i < sizeof(bad_len) / sizeof(bad_len[0]); i++) {
        set_desc(f, DESC_GPA, 1, INDIRECT_GPA, bad_len[i], F_INDIRECT, 0);
        avail_add(f, 1);
        expect_chain_error(f, 1, VIRTQ_E_INDIRECT_SIZE);
    }

    /* INDIRECT with NEXT (2.7.5.3.1). */
    set_desc(f, INDIRECT_GPA, 0, DATA_GPA, 4, 0, 0);
    set_desc(f, DESC_GPA, 2, INDIRECT_GPA, 16, F_INDIRECT | F_NEXT, 3);
    set_desc(f, DESC_GPA, 3, DATA_GPA, 4, 0, 0);
    avail_add(f, 2);
    expect_chain_error(f, 2, VIRTQ_E_INDIRECT_WITH_NEXT);

    /* Fine without NEXT. */
    set_desc(f, DESC_GPA, 2, INDIRECT_GPA, 16, F_INDIRECT, 0);
    avail_add(f, 2);
    assert_int_equal(virtq_pop(&f->q, &f->chain), 1);

    /* Not negotiated. */
    virtq_reset(&f->q);
    set_avail_idx(f, 0);
    enable_q(f, QSIZE, false, false);
    avail_add(f, 2);
    expect_chain_error(f, 2, VIRTQ_E_INDIRECT_NOT_NEGOTIATED);
}

static void test_write_before_read(void **state)
{
    struct fixture *f = *state;
    enable_q(f, QSIZE, false, true);
    set_desc(f, DESC_GPA, 0, DATA_GPA, 4, F_NEXT, 1);
    set_desc(f, DESC_GPA, 1, DATA_GPA, 4, F_WRITE | F_NEXT, 2);
    set_desc(f, DESC_GPA, 2, DATA_GPA, 4, 0, 0);
    avail_add(f, 0);
    expect_chain_error(f, 0, VIRTQ_E_WRITE_BEFORE_READ);
    /* An empty readable buffer after a writable one is still out of order. */
    set_desc(f, DESC_GPA, 2, 0, 0, 0, 0);
    avail_add(f, 0);
    expect_chain_error(f, 0, VIRTQ_E_WRITE_BEFORE_READ);
    /* Inside an indirect table. */
    set_desc(f, INDIRECT_GPA, 0, DATA_GPA, 4, F_WRITE | F_NEXT, 1);
    set_desc(f, INDIRECT_GPA, 1, DATA_GPA, 4, 0, 0);
    set_desc(f, DESC_GPA, 3, INDIRECT_GPA, 32, F_INDIRECT, 0);
    avail_add(f, 3);
    expect_chain_error(f, 3, VIRTQ_E_WRITE_BEFORE_READ);
}

static void test_device_reported_errors(void **state)
{
    struct fixture *f = *state;
    enable_q(f, QSIZE, false, false);
    assert_int_equal(virtq_report_error(&f->q, VIRTQ_E_UNEXPECTED_WRITABLE),
                     -VIRTQ_E_UNEXPECTED_WRITABLE);
    assert_int_equal(virtq_report_error(&f->q, VIRTQ_E_UNEXPECTED_READABLE),
                     -VIRTQ_E_UNEXPECTED_READABLE);
    assert_int_equal(f->q.errors[VIRTQ_E_UNEXPECTED_WRITABLE], 1);
    assert_int_equal(f->q.errors[VIRTQ_E_UNEXPECTED_READABLE], 1);
    assert_int_equal(virtq_report_error(&f->q, VIRTQ_OK), 0);
    assert_int_equal(virtq_report_error(&f->q, VIRTQ_E_COUNT), 0);
    assert_false(f->q.broken);

    /* USED_LEN: a device claiming more than the chain's writable bytes. */
    set_desc(f, DESC_GPA, 0, DATA_GPA, 4, F_NEXT, 1);
    set_desc(f, DESC_GPA, 1, DATA_GPA + 4, 12, F_WRITE, 0);
    avail_add(f, 0);
    assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
    virtq_push_chain(&f->q, &f->chain, 13);
    assert_int_equal(f->q.errors[VIRTQ_E_USED_LEN], 1);
    uint32_t id = 0, len = 0;
    used_elem(f, 0, &id, &len);
    assert_int_equal(id, 0);
    assert_int_equal(len, 12);
    avail_add(f, 0);
    assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
    virtq_push_chain(&f->q, &f->chain, 12);
    assert_int_equal(f->q.errors[VIRTQ_E_USED_LEN], 1);
    used_elem(f, 1, &id, &len);
    assert_int_equal(len, 12);
}

/* --- ring-level errors and the broken state ----------------------------- */

static void test_avail_idx_jump(void **state)
{
    struct fixture *f = *state;
    enable_q(f, QSIZE, false, false);
    set_desc(f, DESC_GPA, 0, DATA_GPA, 4, 0, 0);
    /* Exactly a full ring is fine... */
    for (unsigned int i = 0; i < QSIZE; i++) {
        avail_add(f, 0);
    }
    assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
    /* ... one more than the ring holds is not. */
    set_avail_idx(f, (uint16_t)(f->q.last_avail + QSIZE + 1));
    expect_ring_error(f, VIRTQ_E_AVAIL_IDX_JUMP);
    /* Going backwards looks like a huge jump too. */
    virtq_reset(&f->q);
    set_avail_idx(f, 0);
    enable_q(f, QSIZE, false, false);
    set_avail_idx(f, 0xffff);
    expect_ring_error(f, VIRTQ_E_AVAIL_IDX_JUMP);
}

static void test_head_out_of_range(void **state)
{
    struct fixture *f = *state;
    enable_q(f, QSIZE, false, false);
    avail_add(f, QSIZE);
    expect_ring_error(f, VIRTQ_E_HEAD_OUT_OF_RANGE);
}

static void test_broken_until_reset(void **state)
{
    struct fixture *f = *state;
    enable_q(f, QSIZE, false, false);
    set_desc(f, DESC_GPA, 0, DATA_GPA, 4, 0, 0);
    avail_add(f, 0xffff);
    expect_ring_error(f, VIRTQ_E_HEAD_OUT_OF_RANGE);
    /* The guest repairs the entry: still broken. */
    put16(f, AVAIL_GPA + 4, 0);
    assert_int_equal(virtq_pop(&f->q, &f->chain), 0);
    avail_add(f, 0);
    assert_int_equal(virtq_pop(&f->q, &f->chain), 0);
    assert_true(f->q.broken);
    /* Reset: not ready, not broken, still pops nothing. */
    virtq_reset(&f->q);
    assert_false(f->q.broken);
    assert_false(f->q.ready);
    assert_int_equal(virtq_pop(&f->q, &f->chain), 0);
    /* Enabled again: from index 0. */
    set_avail_idx(f, 0);
    enable_q(f, QSIZE, false, false);
    avail_add(f, 0);
    assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
    assert_int_equal(f->q.errors[VIRTQ_E_HEAD_OUT_OF_RANGE], 1);
}

/* --- indices, notification ---------------------------------------------- */

static void test_index_wraparound(void **state)
{
    struct fixture *f = *state;
    enable_q(f, 4, false, false);
    set_desc(f, DESC_GPA, 0, DATA_GPA, 4, F_NEXT, 3);
    set_desc(f, DESC_GPA, 3, DATA_GPA + 4, 4, F_WRITE, 0);
    set_desc(f, DESC_GPA, 1, DATA_GPA, 4, 0, 0);
    /* Run the real 16-bit indices through a full wrap and a bit. */
    for (uint32_t n = 0; n < 0x10000 + 10; n++) {
        uint16_t head = (n & 1) ? 1 : 0;
        avail_add(f, head);
        assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
        assert_int_equal(f->chain.head, head);
        virtq_push(&f->q, head, n);
        assert_int_equal(used_idx(f), (uint16_t)(n + 1));
        uint32_t id, len;
        used_elem(f, n % 4, &id, &len);
        assert_int_equal(id, head);
        assert_int_equal(len, n);
    }
    assert_int_equal(f->q.last_avail, 10);
    /* Pending entries counted across the wrap: last 0xfffe, idx 2 is 4 ahead. */
    f->q.last_avail = 0xfffe;
    f->q.used_idx = 0xfffe;
    set_avail_idx(f, 0xfffe);
    for (int i = 0; i < 4; i++) {
        avail_add(f, 1);
    }
    assert_int_equal(f->avail_idx, 2);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
    }
    assert_int_equal(virtq_pop(&f->q, &f->chain), 0);
    assert_int_equal(f->q.last_avail, 2);
    /* ... and 5 ahead across it is a jump. */
    f->q.last_avail = 0xfffe;
    set_avail_idx(f, 3);
    expect_ring_error(f, VIRTQ_E_AVAIL_IDX_JUMP);
}

/* A model of 2.7.7.2: interrupt iff used_event lies in [old, new) mod 2^16. */
static bool model_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
    for (uint16_t i = old; i != new_idx; i++) {
        if (i == event) {
            return true;
        }
    }
    return false;
}

static void test_event_idx_notify(void **state)
{
    struct fixture *f = *state;
    enable_q(f, QSIZE, true, false);
    set_desc(f, DESC_GPA, 0, DATA_GPA, 4, F_WRITE, 0);

    /* Nothing decided yet: the first push interrupts. */
    set_used_event(f, 100);
    virtq_push(&f->q, 0, 0);
    assert_true(virtq_should_notify(&f->q));
    /* Nothing new: no interrupt. */
    assert_false(virtq_should_notify(&f->q));
    /* used_event = 1: interrupt when used.idx passes 1 (1 -> 2). */
    set_used_event(f, 1);
    virtq_push(&f->q, 0, 0);
    assert_true(virtq_should_notify(&f->q));
    /* Far ahead: no interrupt. */
    set_used_event(f, 10);
    virtq_push(&f->q, 0, 0); /* 2 -> 3 */
    assert_false(virtq_should_notify(&f->q));
    /* NO_INTERRUPT is ignored with EVENT_IDX (2.7.7.2). */
    set_avail_flags(f, 1);
    set_used_event(f, 3);
    virtq_push(&f->q, 0, 0); /* 3 -> 4 */
    assert_true(virtq_should_notify(&f->q));
    set_avail_flags(f, 0);

    /* A batch 4 -> 7: used_event 4, 5, 6 interrupt; 7 and 3 do not. */
    static const struct {
        uint16_t event;
        bool want;
    } batch[] = {{4, true}, {5, true}, {6, true}, {7, false}, {3, false}};
    for (size_t i = 0; i < sizeof(batch) / sizeof(batch[0]); i++) {
        f->q.signalled_used = 4;
        f->q.used_idx = 7;
        set_used_event(f, batch[i].event);
        assert_int_equal(virtq_should_notify(&f->q), batch[i].want);
    }
    /* Against the model, across the wrap, for every event index. */
    static const uint16_t olds[] = {0, 5, 0xfff0, 0xfffe, 0xffff};
    static const uint16_t steps[] = {1, 2, 3, 17, 300};
    for (size_t o = 0; o < sizeof(olds) / sizeof(olds[0]); o++) {
        for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
            for (uint32_t e = 0; e < 0x10000; e += 7) {
                uint16_t old = olds[o], new_idx = (uint16_t)(old + steps[s]);
                f->q.signalled_used = old;
                f->q.used_idx = new_idx;
                set_used_event(f, (uint16_t)e);
                assert_int_equal(virtq_should_notify(&f->q),
                                 model_need_event((uint16_t)e, new_idx, old));
                assert_int_equal(f->q.signalled_used, new_idx);
            }
        }
    }
}

static void test_enable_notify_avail_event(void **state)
{
    struct fixture *f = *state;
    /* Garbage left by the driver is overwritten at enable. */
    f->size = QSIZE;
    put16(f, USED_GPA + 4 + 8u * QSIZE, 0x5555);
    enable_q(f, QSIZE, true, false);
    assert_int_equal(avail_event(f), 0);
    set_desc(f, DESC_GPA, 0, DATA_GPA, 4, 0, 0);
    for (int i = 0; i < 3; i++) {
        avail_add(f, 0);
        assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
    }
    /* Only virtq_enable_notify() moves avail_event, to the next entry we want. */
    assert_int_equal(avail_event(f), 0);
    virtq_enable_notify(&f->q);
    assert_int_equal(avail_event(f), 3);
    /* Across the wrap. */
    f->q.last_avail = 0xffff;
    virtq_enable_notify(&f->q);
    assert_int_equal(avail_event(f), 0xffff);

    /* Without EVENT_IDX the field is left alone. */
    virtq_reset(&f->q);
    put16(f, USED_GPA + 4 + 8u * QSIZE, 0x1234);
    set_avail_idx(f, 0);
    enable_q(f, QSIZE, false, false);
    virtq_enable_notify(&f->q);
    assert_int_equal(avail_event(f), 0x1234);
}

static void test_no_interrupt_flag(void **state)
{
    struct fixture *f = *state;
    enable_q(f, QSIZE, false, false);
    /* used_event is ignored without EVENT_IDX. */
    set_used_event(f, 1000);
    virtq_push(&f->q, 0, 0);
    assert_true(virtq_should_notify(&f->q));
    assert_false(virtq_should_notify(&f->q)); /* nothing new */
    set_avail_flags(f, 1);                    /* VIRTQ_AVAIL_F_NO_INTERRUPT (2.7.7) */
    virtq_push(&f->q, 0, 0);
    assert_false(virtq_should_notify(&f->q));
    set_avail_flags(f, 0);
    virtq_push(&f->q, 0, 0);
    assert_true(virtq_should_notify(&f->q));
    /* Other flag bits do not suppress. */
    set_avail_flags(f, 0xfffe);
    virtq_push(&f->q, 0, 0);
    assert_true(virtq_should_notify(&f->q));
}

/* The guest side of the used ring, on another thread: each entry must be
 * complete when used.idx says it is there (2.7.8.2). */
struct used_reader {
    struct fixture *f;
    uint32_t count;
    uint32_t acked; /* atomic: entries the reader has checked */
    bool ok;
};

static void *used_reader_thread(void *arg)
{
    struct used_reader *r = arg;
    uint16_t *idx = hva(r->f, USED_GPA + 2, 2);
    uint32_t seen = 0;
    r->ok = true;
    while (seen < r->count) {
        uint16_t now = le16toh(__atomic_load_n(idx, __ATOMIC_ACQUIRE));
        while ((uint16_t)seen != now) {
            const uint8_t *e = hva(r->f, USED_GPA + 4 + 8u * (seen % r->f->size), 8);
            uint32_t id = le32toh(__atomic_load_n((const uint32_t *)e, __ATOMIC_RELAXED));
            uint32_t len = le32toh(__atomic_load_n((const uint32_t *)(e + 4), __ATOMIC_RELAXED));
            if (id != seen % r->f->size || len != seen) {
                r->ok = false;
            }
            seen++;
            __atomic_store_n(&r->acked, seen, __ATOMIC_RELEASE);
        }
    }
    return NULL;
}

static void test_used_ring_ordering(void **state)
{
    struct fixture *f = *state;
    enable_q(f, 64, false, false);
    struct used_reader r = {.f = f, .count = 200000};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, used_reader_thread, &r), 0);
    for (uint32_t n = 0; n < r.count; n++) {
        /* The guest can only have handed out 64 heads at a time. */
        while (n - __atomic_load_n(&r.acked, __ATOMIC_ACQUIRE) >= f->size) {
            sched_yield();
        }
        virtq_push(&f->q, (uint16_t)(n % f->size), n);
    }
    pthread_join(t, NULL);
    assert_true(r.ok);
    assert_int_equal(used_idx(f), (uint16_t)r.count);
}

/* --- copy helpers ------------------------------------------------------- */

static void test_chain_read_write(void **state)
{
    struct fixture *f = *state;
    enable_q(f, QSIZE, false, false);
    uint8_t *data = hva(f, DATA_GPA, 0x100);
    for (int i = 0; i < 0x40; i++) {
        data[i] = (uint8_t)i;
    }
    memset(data + 0x80, 0, 0x80);
    /* Readable 3 + 0 + 5 + 4 bytes at scattered places, writable 2 + 6. */
    set_desc(f, DESC_GPA, 0, DATA_GPA + 0x00, 3, F_NEXT, 1);
    set_desc(f, DESC_GPA, 1, DATA_GPA + 0x10, 0, F_NEXT, 2);
    set_desc(f, DESC_GPA, 2, DATA_GPA + 0x20, 5, F_NEXT, 3);
    set_desc(f, DESC_GPA, 3, DATA_GPA + 0x30, 4, F_NEXT, 4);
    set_desc(f, DESC_GPA, 4, DATA_GPA + 0x80, 2, F_WRITE | F_NEXT, 5);
    set_desc(f, DESC_GPA, 5, DATA_GPA + 0x90, 6, F_WRITE, 0);
    avail_add(f, 0);
    assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
    const virtq_chain_t *c = &f->chain;
    assert_int_equal(c->readable_len, 12);
    assert_int_equal(c->writable_len, 8);

    static const uint8_t all[12] = {0, 1, 2, 0x20, 0x21, 0x22, 0x23, 0x24, 0x30, 0x31, 0x32, 0x33};
    uint8_t buf[32];
    memset(buf, 0xee, sizeof(buf));
    assert_int_equal(virtq_chain_read(c, 0, buf, sizeof(buf)), 12);
    assert_memory_equal(buf, all, 12);
    assert_int_equal(buf[12], 0xee);
    for (size_t off = 0; off <= 13; off++) {
        for (size_t len = 0; len <= 13; len++) {
            size_t want = off >= 12 ? 0 : (len < 12 - off ? len : 12 - off);
            memset(buf, 0xee, sizeof(buf));
            assert_int_equal(virtq_chain_read(c, off, buf, len), want);
            assert_memory_equal(buf, all + (off < 12 ? off : 0), want);
            assert_int_equal(buf[want], 0xee);
        }
    }

    /* Write "ABCDEFGH" from offset 1, 5 bytes: 1 in the first, 4 in the second. */
    assert_int_equal(virtq_chain_write(c, 1, "ABCDEFGH", 5), 5);
    assert_memory_equal(data + 0x80, "\0A", 2);
    assert_memory_equal(data + 0x90, "BCDE\0\0", 6);
    /* Short at the end; nothing past it. */
    assert_int_equal(virtq_chain_write(c, 6, "xyz", 3), 2);
    assert_memory_equal(data + 0x90, "BCDExy", 6);
    assert_int_equal(data[0x96], 0);
    assert_int_equal(virtq_chain_write(c, 8, "x", 1), 0);
    assert_int_equal(virtq_chain_write(c, 100, "x", 1), 0);
    /* The readable part is never written. */
    assert_int_equal(data[0], 0);
    assert_int_equal(data[0x33], 0x33);
}

static void test_error_names(void **state)
{
    (void)state;
    for (int i = 0; i < VIRTQ_E_COUNT; i++) {
        const char *n = virtq_error_name((virtq_error_t)i);
        assert_non_null(n);
        assert_string_not_equal(n, "unknown");
        for (int j = 0; j < i; j++) {
            assert_string_not_equal(n, virtq_error_name((virtq_error_t)j));
        }
    }
    assert_string_equal(virtq_error_name(VIRTQ_E_CHAIN_LOOP), "chain-loop");
    assert_string_equal(virtq_error_name(VIRTQ_E_COUNT), "unknown");
    assert_string_equal(virtq_error_name((virtq_error_t)-1), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_enable_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enable_ring_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pop_empty_and_not_ready, setup, teardown),
        cmocka_unit_test_setup_teardown(test_direct_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_length_buffers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indirect_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mixed_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_too_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_too_big, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buffer_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indirect_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_before_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_reported_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_avail_idx_jump, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broken_until_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_wraparound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_idx_notify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enable_notify_avail_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_interrupt_flag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_used_ring_ordering, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_read_write, setup, teardown),
        cmocka_unit_test(test_error_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
