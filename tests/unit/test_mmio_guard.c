/*
 * test_mmio_guard.c - the access-controlled MMIO region
 * (src/devices/mmio_guard.c), driven through the core's MMIO dispatch over
 * the fake backend.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>

#include <vmmkit/guest_memory.h>
#include <vmmkit/log.h>
#include <vmmkit/mmio_guard.h>

#include "fake_hv.h"

#define BASE 0x9000000ull
#define SIZE 64u

struct fixture {
    vm_t *vm;
    vm_vcpu_t *vcpu;
    mmio_guard_t *g;
    uint8_t contents[SIZE];
    uint8_t mask[SIZE];
    /* What the write hook saw. */
    mmio_guard_write_t last;
    int hook_calls;
};

static int setup(void **state)
{
    vmm_log_set_level(VMM_LOG_ERR); /* violations are logged on purpose */
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->vm = fake_vm_create();
    assert_non_null(f->vm);
    f->vcpu = vm_create_vcpu(f->vm, 0);
    assert_non_null(f->vcpu);
    for (unsigned int i = 0; i < SIZE; i++) {
        f->contents[i] = (uint8_t)(i * 7 + 3);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    mmio_guard_destroy(f->g);
    vm_destroy(f->vm);
    free(f);
    return 0;
}

static void hook(void *opaque, const mmio_guard_write_t *w)
{
    struct fixture *f = opaque;
    f->last = *w;
    f->hook_calls++;
}

static void create(struct fixture *f, mmio_guard_policy_t policy, bool with_mask)
{
    mmio_guard_config_t cfg = {
        .name = "test-guard",
        .base = BASE,
        .size = SIZE,
        .contents = f->contents,
        .writable = with_mask ? f->mask : NULL,
        .policy = policy,
        .on_write = hook,
        .opaque = f,
    };
    mmio_guard_destroy(f->g);
    f->g = NULL;
    assert_int_equal(mmio_guard_create(f->vm, &cfg, &f->g), 0);
    assert_non_null(f->g);
}

/* A guest read through the core's dispatch. */
static uint64_t rd(struct fixture *f, uint64_t addr, uint32_t len)
{
    struct fake_exit e;
    fake_mmio(&e, addr, len, false, 0);
    assert_int_equal(vcpu_handle_exit(f->vcpu, &e.exit), VCPU_CONTINUE);
    uint64_t v = 0;
    memcpy(&v, e.exit.mmio.data, len);
    if (len < 8) {
        assert_int_equal(e.data[len], 0xaa); /* bytes past the width untouched */
    }
    return v;
}

static void wr(struct fixture *f, uint64_t addr, uint32_t len, uint64_t v)
{
    struct fake_exit e;
    fake_mmio(&e, addr, len, true, v);
    assert_int_equal(vcpu_handle_exit(f->vcpu, &e.exit), VCPU_CONTINUE);
}

static uint64_t le(const uint8_t *p, unsigned int n)
{
    uint64_t v = 0;
    for (unsigned int i = 0; i < n; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

static uint64_t contents_at(struct fixture *f, uint64_t off, unsigned int n)
{
    uint8_t b[8] = {0};
    assert_int_equal(mmio_guard_read(f->g, off, b, n), 0);
    return le(b, n);
}

static uint64_t st(struct fixture *f, mmio_guard_stat_t s)
{
    return mmio_guard_stat(f->g, s);
}

static void test_reads_every_width_and_offset(void **state)
{
    struct fixture *f = *state;
    create(f, MMIO_GUARD_REPORT, false);

    const unsigned int widths[] = {1, 2, 4, 8};
    uint64_t reads = 0;
    for (unsigned int w = 0; w < 4; w++) {
        for (unsigned int off = 0; off + widths[w] <= SIZE; off++) {
            assert_int_equal(rd(f, BASE + off, widths[w]), le(f->contents + off, widths[w]));
            reads++;
        }
    }
    assert_int_equal(st(f, MMIO_GUARD_STAT_READS), reads);
    assert_int_equal(st(f, MMIO_GUARD_STAT_WRITES), 0);
    assert_int_equal(f->hook_calls, 0);

    /* The creator's buffer was copied: changing it changes nothing. */
    f->contents[0] ^= 0xff;
    assert_int_equal(rd(f, BASE, 1), (uint8_t)(f->contents[0] ^ 0xff));
}

static void test_write_inside_mask(void **state)
{
    struct fixture *f = *state;
    memset(f->mask, 0xff, 16); /* bytes 0..15 writable, the rest protected */

    const mmio_guard_policy_t policies[] = {MMIO_GUARD_REPORT, MMIO_GUARD_MASK,
                                            MMIO_GUARD_REPORT_AND_MASK};
    for (unsigned int p = 0; p < 3; p++) {
        create(f, policies[p], true);
        wr(f, BASE + 0, 8, 0x0123456789abcdefull);
        wr(f, BASE + 9, 4, 0xdeadbeef); /* unaligned */
        wr(f, BASE + 15, 1, 0x5a);
        assert_int_equal(rd(f, BASE + 0, 8), 0x0123456789abcdefull);
        assert_int_equal(rd(f, BASE + 9, 4), 0xdeadbeef);
        assert_int_equal(rd(f, BASE + 15, 1), 0x5a);
        assert_int_equal(contents_at(f, 8, 1), f->contents[8]); /* untouched between */
        assert_int_equal(contents_at(f, 16, 8), le(f->contents + 16, 8));
        assert_int_equal(st(f, MMIO_GUARD_STAT_WRITES), 3);
        assert_int_equal(st(f, MMIO_GUARD_STAT_VIOLATIONS), 0);

        /* The hook saw the last write whole. */
        assert_int_equal(f->last.addr, BASE + 15);
        assert_int_equal(f->last.offset, 15);
        assert_int_equal(f->last.width, 1);
        assert_int_equal(f->last.value, 0x5a);
        assert_int_equal(f->last.stored, 0x5a);
        assert_int_equal(f->last.denied, 0);
    }
}

static void test_write_outside_mask(void **state)
{
    struct fixture *f = *state;
    /* A per-bit mask: the low nibble of every byte is writable. */
    memset(f->mask, 0x0f, SIZE);
    const uint64_t off = 0x20, v = 0xffffffffffffffffull;
    const uint64_t old = le(f->contents + off, 8);
    const uint64_t m = 0x0f0f0f0f0f0f0f0full;

    /* report: the write lands whole, counted. */
    create(f, MMIO_GUARD_REPORT, true);
    wr(f, BASE + off, 8, v);
    assert_int_equal(contents_at(f, off, 8), v);
    assert_int_equal(st(f, MMIO_GUARD_STAT_VIOLATIONS), 1);
    assert_int_equal(f->last.old, old);
    assert_int_equal(f->last.stored, v);
    assert_int_equal(f->last.denied, (v ^ old) & ~m);

    /* mask: only writable bits change, silently. */
    create(f, MMIO_GUARD_MASK, true);
    wr(f, BASE + off, 8, v);
    assert_int_equal(contents_at(f, off, 8), (old & ~m) | (v & m));
    assert_int_equal(st(f, MMIO_GUARD_STAT_VIOLATIONS), 0);
    assert_int_equal(st(f, MMIO_GUARD_STAT_WRITES), 1);
    assert_int_equal(f->last.stored, (old & ~m) | (v & m));
    assert_int_equal(f->last.denied, (v ^ old) & ~m);

    /* both: masked and counted. */
    create(f, MMIO_GUARD_REPORT_AND_MASK, true);
    wr(f, BASE + off + 1, 2, 0xa5a5); /* narrow and unaligned */
    uint64_t old16 = le(f->contents + off + 1, 2);
    assert_int_equal(contents_at(f, off + 1, 2), (old16 & ~0x0f0full) | (0xa5a5 & 0x0f0f));
    assert_int_equal(st(f, MMIO_GUARD_STAT_VIOLATIONS), 1);
    assert_int_equal(contents_at(f, off, 1), f->contents[off]); /* neighbours untouched */
    assert_int_equal(contents_at(f, off + 3, 1), f->contents[off + 3]);

    /* Rewriting protected bits with the value they hold is no violation (read-modify-write). */
    uint64_t cur = rd(f, BASE + off, 4);
    wr(f, BASE + off, 4, (cur & ~0x0f0f0f0full) | 0x01020304);
    assert_int_equal(st(f, MMIO_GUARD_STAT_VIOLATIONS), 1);
    assert_int_equal(rd(f, BASE + off, 4), (cur & ~0x0f0f0f0full) | 0x01020304);

    /* No mask at all: nothing is writable. */
    create(f, MMIO_GUARD_REPORT_AND_MASK, false);
    wr(f, BASE, 8, ~le(f->contents, 8));
    assert_int_equal(contents_at(f, 0, 8), le(f->contents, 8));
    assert_int_equal(st(f, MMIO_GUARD_STAT_VIOLATIONS), 1);
    create(f, MMIO_GUARD_REPORT, false);
    wr(f, BASE, 8, 0);
    assert_int_equal(contents_at(f, 0, 8), 0);
    assert_int_equal(st(f, MMIO_GUARD_STAT_VIOLATIONS), 1);
}

static void test_straddling_accesses_not_delivered(void **state)
{
    struct fixture *f = *state;
    create(f, MMIO_GUARD_REPORT, false);

    uint64_t unassigned = vm_stat_count(f->vm, VM_STAT_MMIO_UNASSIGNED);
    assert_int_equal(rd(f, BASE + SIZE - 2, 4), 0); /* straddles the end */
    wr(f, BASE + SIZE - 1, 8, UINT64_MAX);
    assert_int_equal(rd(f, BASE + SIZE, 1), 0); /* just past it */
    assert_int_equal(rd(f, BASE - 1, 2), 0);    /* straddles the start */
    assert_int_equal(vm_stat_count(f->vm, VM_STAT_MMIO_UNASSIGNED), unassigned + 4);
    assert_int_equal(st(f, MMIO_GUARD_STAT_READS), 0);
    assert_int_equal(st(f, MMIO_GUARD_STAT_WRITES), 0);
    assert_int_equal(contents_at(f, SIZE - 1, 1), f->contents[SIZE - 1]);

    /* The last byte and the last 8 bytes are inside. */
    assert_int_equal(rd(f, BASE + SIZE - 1, 1), f->contents[SIZE - 1]);
    assert_int_equal(rd(f, BASE + SIZE - 8, 8), le(f->contents + SIZE - 8, 8));

    /* The direct entry point refuses the same accesses. */
    uint64_t d = 0;
    assert_int_equal(mmio_guard_access(f->g, SIZE - 2, 4, false, &d), FAULT_UNHANDLED);
    assert_int_equal(mmio_guard_access(f->g, SIZE, 1, false, &d), FAULT_UNHANDLED);
    assert_int_equal(mmio_guard_access(f->g, UINT64_MAX, 2, false, &d), FAULT_UNHANDLED);
    assert_int_equal(mmio_guard_access(f->g, 0, 0, false, &d), FAULT_UNHANDLED);
    assert_int_equal(mmio_guard_access(f->g, 0, 9, false, &d), FAULT_UNHANDLED);
    assert_int_equal(mmio_guard_access(f->g, 0, 4, false, NULL), FAULT_UNHANDLED);
    assert_int_equal(mmio_guard_access(f->g, SIZE - 4, 4, false, &d), FAULT_HANDLED);
    assert_int_equal(d, le(f->contents + SIZE - 4, 4));
}

static void test_configs_refused(void **state)
{
    struct fixture *f = *state;
    mmio_guard_t *g = NULL;
    mmio_guard_config_t cfg = {.base = BASE, .size = SIZE};

    cfg.size = 0;
    assert_int_equal(mmio_guard_create(f->vm, &cfg, &g), -EINVAL);
    cfg.size = MMIO_GUARD_MAX_SIZE + 1;
    assert_int_equal(mmio_guard_create(f->vm, &cfg, &g), -EINVAL);
    cfg.base = UINT64_MAX - 3;
    cfg.size = 8;
    assert_int_equal(mmio_guard_create(f->vm, &cfg, &g), -EINVAL);
    cfg.base = BASE;
    cfg.size = SIZE;
    cfg.policy = (mmio_guard_policy_t)7;
    assert_int_equal(mmio_guard_create(f->vm, &cfg, &g), -EINVAL);
    cfg.policy = MMIO_GUARD_MASK;
    assert_int_equal(mmio_guard_create(NULL, &cfg, &g), -EINVAL);
    assert_int_equal(mmio_guard_create(f->vm, NULL, &g), -EINVAL);
    assert_int_equal(mmio_guard_create(f->vm, &cfg, NULL), -EINVAL);
    assert_null(g);

    /* A region that ends at the top of the address space is fine. */
    cfg.base = UINT64_MAX - 7;
    cfg.size = 8;
    assert_int_equal(mmio_guard_create(f->vm, &cfg, &g), 0);
    mmio_guard_destroy(g);

    /* Overlaps are refused. */
    cfg.base = BASE;
    cfg.size = SIZE;
    assert_int_equal(mmio_guard_create(f->vm, &cfg, &f->g), 0);
    cfg.base = BASE + SIZE - 1;
    g = NULL;
    assert_int_equal(mmio_guard_create(f->vm, &cfg, &g), -EEXIST);
    assert_null(g);
}

static void test_destroy_frees_the_range(void **state)
{
    struct fixture *f = *state;
    create(f, MMIO_GUARD_REPORT, false);
    mmio_guard_destroy(f->g);
    f->g = NULL;
    mmio_guard_destroy(NULL);

    /* The guest now reaches nothing there, and the range can be reserved again. */
    uint64_t unassigned = vm_stat_count(f->vm, VM_STAT_MMIO_UNASSIGNED);
    assert_int_equal(rd(f, BASE, 4), 0);
    assert_int_equal(vm_stat_count(f->vm, VM_STAT_MMIO_UNASSIGNED), unassigned + 1);
    create(f, MMIO_GUARD_REPORT, false);
    assert_int_equal(rd(f, BASE, 4), le(f->contents, 4));
}

static void test_host_side(void **state)
{
    struct fixture *f = *state;
    memset(f->mask, 0xff, SIZE);
    create(f, MMIO_GUARD_MASK, true);
    assert_int_equal(mmio_guard_base(f->g), BASE);
    assert_int_equal(mmio_guard_size(f->g), SIZE);

    /* Host writes bypass mask, counters and hook. */
    const uint8_t status[4] = {1, 2, 3, 4};
    assert_int_equal(mmio_guard_write(f->g, 4, status, 4), 0);
    assert_int_equal(rd(f, BASE + 4, 4), 0x04030201);
    assert_int_equal(st(f, MMIO_GUARD_STAT_WRITES), 0);
    assert_int_equal(f->hook_calls, 0);

    /* Bounds. */
    uint8_t buf[SIZE + 1];
    assert_int_equal(mmio_guard_read(f->g, 0, buf, SIZE), 0);
    assert_int_equal(mmio_guard_read(f->g, 0, buf, SIZE + 1), -EINVAL);
    assert_int_equal(mmio_guard_read(f->g, SIZE, buf, 1), -EINVAL);
    assert_int_equal(mmio_guard_write(f->g, 1, buf, SIZE), -EINVAL);
    assert_int_equal(mmio_guard_write(f->g, UINT64_MAX, buf, 2), -EINVAL);
    assert_int_equal(mmio_guard_read(NULL, 0, buf, 1), -EINVAL);

    /* Reset puts the initial contents back; counters stay. */
    wr(f, BASE, 8, 0);
    mmio_guard_reset(f->g);
    assert_int_equal(rd(f, BASE, 8), le(f->contents, 8));
    assert_int_equal(rd(f, BASE + 4, 4), le(f->contents + 4, 4));
    assert_int_equal(st(f, MMIO_GUARD_STAT_WRITES), 1);

    /* A guard made without contents starts, and resets, to zeros. */
    mmio_guard_config_t cfg = {.base = BASE + 0x1000, .size = 16, .writable = f->mask};
    mmio_guard_t *z = NULL;
    assert_int_equal(mmio_guard_create(f->vm, &cfg, &z), 0);
    assert_int_equal(rd(f, BASE + 0x1000, 8), 0);
    wr(f, BASE + 0x1008, 8, 42);
    assert_int_equal(rd(f, BASE + 0x1008, 8), 42);
    mmio_guard_reset(z);
    assert_int_equal(rd(f, BASE + 0x1008, 8), 0);
    mmio_guard_destroy(z);

    /* Names. */
    mmio_guard_policy_t p;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(mmio_guard_policy_parse(mmio_guard_policy_name(i), &p), 0);
        assert_int_equal(p, i);
    }
    assert_int_equal(mmio_guard_policy_parse("deny", &p), -EINVAL);
    assert_string_equal(mmio_guard_policy_name(9), "unknown");
    assert_string_equal(mmio_guard_stat_name(MMIO_GUARD_STAT_VIOLATIONS), "violations");
    assert_string_equal(mmio_guard_stat_name(MMIO_GUARD_STAT_COUNT), "unknown");
    assert_int_equal(mmio_guard_stat(f->g, MMIO_GUARD_STAT_COUNT), 0);
    assert_int_equal(mmio_guard_stat(NULL, MMIO_GUARD_STAT_READS), 0);
}

/* --- several vCPUs at once -------------------------------------------------------------- */

#define THREADS 4
#define ROUNDS 5000

struct worker {
    mmio_guard_t *g;
    unsigned int id;
    bool torn; /* saw half of another thread's 8-byte write */
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    /* Each thread owns 8 bytes at 8*id and hammers the shared word at 32 too. */
    for (uint64_t i = 0; i < ROUNDS; i++) {
        uint64_t v = i * 0x0101010101010101ull;
        mmio_guard_access(w->g, 8 * w->id, 8, true, &v);
        uint64_t shared = (w->id + 1) * 0x1111111111111111ull;
        mmio_guard_access(w->g, 32, 8, true, &shared);
        uint64_t r = 0;
        mmio_guard_access(w->g, 32, 8, false, &r);
        if (r % 0x1111111111111111ull != 0) {
            w->torn = true;
        }
    }
    return NULL;
}

static void test_concurrent_accesses(void **state)
{
    struct fixture *f = *state;
    memset(f->mask, 0xff, SIZE);
    create(f, MMIO_GUARD_REPORT, true);
    f->hook_calls = 0;

    pthread_t t[THREADS];
    struct worker w[THREADS];
    for (unsigned int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){.g = f->g, .id = i};
        assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    for (unsigned int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_false(w[i].torn);
        assert_int_equal(contents_at(f, 8 * i, 8), (ROUNDS - 1) * 0x0101010101010101ull);
    }
    assert_int_equal(st(f, MMIO_GUARD_STAT_WRITES), 2ull * THREADS * ROUNDS);
    assert_int_equal(st(f, MMIO_GUARD_STAT_READS), 1ull * THREADS * ROUNDS);
    assert_int_equal(f->hook_calls, 2 * THREADS * ROUNDS); /* the hook runs under the lock */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reads_every_width_and_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_inside_mask, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_outside_mask, setup, teardown),
        cmocka_unit_test_setup_teardown(test_straddling_accesses_not_delivered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_configs_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_frees_the_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_side, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_accesses, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
