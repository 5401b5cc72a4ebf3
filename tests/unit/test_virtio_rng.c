/*
 * test_virtio_rng.c - the virtio entropy device (src/virtio/rng.c) driven
 * like a guest would over hand-built rings in fake-backend RAM: fills,
 * multi-buffer and oversized chains, chains of the wrong direction or
 * shape, a broken ring and the reset after it, batching of interrupts,
 * EVENT_IDX re-arming and kicks before DRIVER_OK.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include <vmmkit/log.h>
#include <vmmkit/virtio_rng.h>

#include "fake_hv.h"
#include "virtio_guest.h"

#define MiB (1ull << 20)
#define RAM_BASE 0x40000000ull
#define RAM_SIZE (8 * MiB)
#define QSIZE 16u
#define VERSION_1 (1ull << VIRTIO_F_VERSION_1)

struct fixture {
    vm_t *vm;
    virtio_rng_t *rng;
    struct vguest g;
};

static int setup(void **state)
{
    vmm_log_set_level(VMM_LOG_ERR); /* the tests provoke warnings on purpose */
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->vm = fake_vm_create();
    assert_non_null(f->vm);
    assert_int_equal(vm_ram_add(f->vm, RAM_BASE, RAM_SIZE), 0);
    assert_int_equal(virtio_rng_create(f->vm, 0, &f->rng), 0);
    vg_init(&f->g, f->vm, virtio_rng_device(f->rng), RAM_BASE, RAM_SIZE);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    virtio_rng_destroy(f->rng);
    vm_destroy(f->vm);
    free(f);
    return 0;
}

/* Bring the device up with @features and one queue of QSIZE. */
static void bring_up(struct fixture *f, uint64_t features)
{
    assert_true(vg_negotiate(&f->g, VERSION_1 | features));
    vg_setup_queue(&f->g, 0, QSIZE);
    vg_driver_ok(&f->g);
    assert_int_equal(vg_status(&f->g) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
}

static bool all_zero(const void *p, size_t len)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < len; i++) {
        if (b[i]) {
            return false;
        }
    }
    return true;
}

static void expect_used(struct fixture *f, uint16_t head, uint32_t len)
{
    uint32_t id = 0, got = 0;
    assert_true(vg_get_used(&f->g, 0, &id, &got));
    assert_int_equal(id, head);
    assert_int_equal(got, len);
}

static void test_identity(void **state)
{
    struct fixture *f = *state;
    virtio_device_t *vdev = virtio_rng_device(f->rng);
    assert_int_equal(vdev->ops->device_id, VIRTIO_ID_RNG);
    assert_int_equal(vdev->ops->num_queues, 1);
    assert_int_equal(vdev->ops->config_size, 0);
    assert_string_equal(vdev->name, "virtio-rng0");
    assert_int_equal(virtio_rng_create(NULL, 0, &f->rng), -EINVAL);
    assert_string_equal(virtio_rng_stat_name(VIRTIO_RNG_STAT_NO_WRITABLE), "no-writable");
    assert_string_equal(virtio_rng_stat_name(VIRTIO_RNG_STAT_COUNT), "unknown");
    assert_int_equal(virtio_rng_stat(f->rng, VIRTIO_RNG_STAT_COUNT), 0);
    virtio_rng_destroy(NULL);
}

static void test_fills_one_buffer(void **state)
{
    struct fixture *f = *state;
    uint16_t head;
    bring_up(f, 0);

    uint64_t gpa = vg_add_one(&f->g, 0, 64, true, &head);
    vg_kick(&f->g, 0);
    expect_used(f, head, 64);
    assert_false(all_zero(vg_hva(&f->g, gpa, 64), 64));
    assert_int_equal(vg_used_irqs(&f->g, 0), 1);
    assert_int_equal(virtio_rng_stat(f->rng, VIRTIO_RNG_STAT_REQUESTS), 1);
    assert_int_equal(virtio_rng_stat(f->rng, VIRTIO_RNG_STAT_BYTES), 64);
    assert_int_equal(virtio_rng_stat(f->rng, VIRTIO_RNG_STAT_SHORT), 0);

    /* A kick with nothing new: no used entry, no interrupt. */
    vg_kick(&f->g, 0);
    uint32_t id = 0, len = 0;
    assert_false(vg_get_used(&f->g, 0, &id, &len));
    assert_int_equal(vg_used_irqs(&f->g, 0), 1);
}

static void test_fills_every_buffer_of_a_chain(void **state)
{
    struct fixture *f = *state;
    bring_up(f, 0);
    struct vg_buf b[3] = {
        {vg_alloc(&f->g, 16), 16, true},
        {vg_alloc(&f->g, 8), 0, true}, /* zero-length: skipped */
        {vg_alloc(&f->g, 32), 32, true},
    };
    uint16_t head = vg_add_chain(&f->g, 0, b, 3);
    vg_kick(&f->g, 0);
    expect_used(f, head, 48);
    assert_false(all_zero(vg_hva(&f->g, b[0].gpa, 16), 16));
    assert_false(all_zero(vg_hva(&f->g, b[2].gpa, 32), 32));
}

static void test_big_chain_capped(void **state)
{
    struct fixture *f = *state;
    uint16_t head;
    bring_up(f, 0);

    uint32_t len = 2 * 1024 * 1024;
    uint64_t gpa = vg_add_one(&f->g, 0, len, true, &head);
    vg_kick(&f->g, 0);
    expect_used(f, head, VIRTIO_RNG_MAX_FILL);
    /* Nothing beyond what was reported was touched. */
    assert_true(all_zero(vg_hva(&f->g, gpa + VIRTIO_RNG_MAX_FILL, len - VIRTIO_RNG_MAX_FILL),
                         len - VIRTIO_RNG_MAX_FILL));
    assert_int_equal(virtio_rng_stat(f->rng, VIRTIO_RNG_STAT_SHORT), 1);
    assert_int_equal(virtio_rng_stat(f->rng, VIRTIO_RNG_STAT_BYTES), VIRTIO_RNG_MAX_FILL);
}

static void test_readable_only_chain(void **state)
{
    struct fixture *f = *state;
    uint16_t head;
    bring_up(f, 0);

    uint64_t gpa = vg_add_one(&f->g, 0, 32, false, &head);
    vg_kick(&f->g, 0);
    expect_used(f, head, 0);
    assert_true(all_zero(vg_hva(&f->g, gpa, 32), 32));
    assert_int_equal(virtio_rng_stat(f->rng, VIRTIO_RNG_STAT_NO_WRITABLE), 1);
    assert_int_equal(virtio_rng_stat(f->rng, VIRTIO_RNG_STAT_READABLE), 1);
    assert_int_equal(virtio_rng_device(f->rng)->queues[0].errors[VIRTQ_E_UNEXPECTED_READABLE], 1);
    assert_int_equal(vg_used_irqs(&f->g, 0), 1);
}

static void test_readable_then_writable(void **state)
{
    struct fixture *f = *state;
    bring_up(f, 0);
    struct vg_buf b[2] = {
        {vg_alloc(&f->g, 16), 16, false},
        {vg_alloc(&f->g, 24), 24, true},
    };
    uint16_t head = vg_add_chain(&f->g, 0, b, 2);
    vg_kick(&f->g, 0);
    expect_used(f, head, 24);
    assert_true(all_zero(vg_hva(&f->g, b[0].gpa, 16), 16)); /* never written */
    assert_false(all_zero(vg_hva(&f->g, b[1].gpa, 24), 24));
    assert_int_equal(virtio_rng_stat(f->rng, VIRTIO_RNG_STAT_READABLE), 1);
}

static void test_bad_chains_refused_then_served(void **state)
{
    struct fixture *f = *state;
    uint16_t h1, h2, h3;
    bring_up(f, 0);

    /* A buffer outside RAM. */
    struct vg_buf out = {0x10000000ull, 64, true};
    h1 = vg_add_chain(&f->g, 0, &out, 1);
    /* A loop: descriptor 5 -> 6 -> 5. */
    vg_set_desc(&f->g, 0, 5, vg_alloc(&f->g, 8), 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 6);
    vg_set_desc(&f->g, 0, 6, vg_alloc(&f->g, 8), 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 5);
    vg_avail(&f->g, 0, 5);
    h2 = 5;
    /* A good one after them. */
    f->g.q[0].next_desc = 8;
    vg_add_one(&f->g, 0, 16, true, &h3);

    vg_kick(&f->g, 0);
    expect_used(f, h1, 0);
    expect_used(f, h2, 0);
    expect_used(f, h3, 16);
    assert_int_equal(virtio_rng_stat(f->rng, VIRTIO_RNG_STAT_REFUSED), 2);
    assert_int_equal(virtio_rng_stat(f->rng, VIRTIO_RNG_STAT_REQUESTS), 1);
    assert_int_equal(vg_used_irqs(&f->g, 0), 1); /* one interrupt for the batch */
    assert_int_equal(vg_status(&f->g) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
}

static void test_broken_ring_needs_reset(void **state)
{
    struct fixture *f = *state;
    uint16_t head;
    bring_up(f, 0);

    vg_set_avail_idx(&f->g, 0, QSIZE + 1); /* ran ahead by more than the queue size */
    vg_kick(&f->g, 0);
    assert_true(vg_status(&f->g) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    assert_int_equal(f->g.config_irqs, 1);
    assert_int_equal(virtio_rng_stat(f->rng, VIRTIO_RNG_STAT_RING_BROKEN), 1);
    assert_int_equal(vg_used_idx(&f->g, 0), 0);

    /* Further kicks are dropped by the common layer until a reset. */
    vg_kick(&f->g, 0);
    assert_int_equal(virtio_rng_stat(f->rng, VIRTIO_RNG_STAT_RING_BROKEN), 1);

    /* The driver resets and starts over: served again. */
    bring_up(f, 0);
    vg_add_one(&f->g, 0, 32, true, &head);
    vg_kick(&f->g, 0);
    expect_used(f, head, 32);
}

static void test_head_out_of_range(void **state)
{
    struct fixture *f = *state;
    bring_up(f, 0);
    vg_avail(&f->g, 0, QSIZE + 3);
    vg_kick(&f->g, 0);
    assert_true(vg_status(&f->g) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    assert_int_equal(virtio_rng_stat(f->rng, VIRTIO_RNG_STAT_RING_BROKEN), 1);
}

static void test_many_chains_wrap(void **state)
{
    struct fixture *f = *state;
    bring_up(f, 0);
    /* Several rounds over a small ring, past the 16-bit index wrap of nothing
     * in particular but the ring's own wrap. */
    for (int round = 0; round < 10; round++) {
        uint16_t heads[QSIZE];
        for (unsigned int i = 0; i < QSIZE; i++) {
            vg_add_one(&f->g, 0, 8, true, &heads[i]);
        }
        vg_kick(&f->g, 0);
        for (unsigned int i = 0; i < QSIZE; i++) {
            expect_used(f, heads[i], 8);
        }
        vg_reset_data(&f->g);
    }
    assert_int_equal(virtio_rng_stat(f->rng, VIRTIO_RNG_STAT_REQUESTS), 10 * QSIZE);
    assert_int_equal(vg_used_irqs(&f->g, 0), 10);
}

static void test_event_idx_rearmed(void **state)
{
    struct fixture *f = *state;
    uint16_t head;
    bring_up(f, 1ull << VIRTIO_F_RING_EVENT_IDX);

    for (int i = 0; i < 3; i++) {
        vg_add_one(&f->g, 0, 8, true, &head);
    }
    vg_kick(&f->g, 0);
    /* Drained: the device asks for a kick at the next entry (2.7.10). */
    assert_int_equal(vg_avail_event(&f->g, 0), 3);
    assert_int_equal(vg_used_idx(&f->g, 0), 3);
}

static void test_kick_before_driver_ok(void **state)
{
    struct fixture *f = *state;
    uint16_t head;

    assert_true(vg_negotiate(&f->g, VERSION_1));
    vg_setup_queue(&f->g, 0, QSIZE);
    vg_add_one(&f->g, 0, 8, true, &head);
    vg_kick(&f->g, 0); /* deferred by the common layer */
    assert_int_equal(vg_used_idx(&f->g, 0), 0);
    vg_driver_ok(&f->g);
    expect_used(f, head, 8);
}

static void test_indirect_chain(void **state)
{
    struct fixture *f = *state;
    bring_up(f, 1ull << VIRTIO_F_RING_INDIRECT_DESC);

    /* An indirect table of two writable descriptors. */
    uint64_t table = vg_alloc(&f->g, 32);
    uint64_t a = vg_alloc(&f->g, 8), b = vg_alloc(&f->g, 8);
    uint8_t raw[32] = {0};
    uint64_t la = htole64(a), lb = htole64(b);
    uint32_t len = htole32(8);
    uint16_t f0 = htole16(VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT), f1 = htole16(VIRTQ_DESC_F_WRITE);
    uint16_t n1 = htole16(1);
    memcpy(raw, &la, 8);
    memcpy(raw + 8, &len, 4);
    memcpy(raw + 12, &f0, 2);
    memcpy(raw + 14, &n1, 2);
    memcpy(raw + 16, &lb, 8);
    memcpy(raw + 24, &len, 4);
    memcpy(raw + 28, &f1, 2);
    memcpy(vg_hva(&f->g, table, 32), raw, 32);
    vg_set_desc(&f->g, 0, 0, table, 32, VIRTQ_DESC_F_INDIRECT, 0);
    vg_avail(&f->g, 0, 0);
    vg_kick(&f->g, 0);
    expect_used(f, 0, 16);
    assert_false(all_zero(vg_hva(&f->g, a, 8), 8));
    assert_false(all_zero(vg_hva(&f->g, b, 8), 8));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fills_one_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fills_every_buffer_of_a_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_chain_capped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readable_only_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readable_then_writable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_chains_refused_then_served, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broken_ring_needs_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_chains_wrap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_idx_rearmed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kick_before_driver_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indirect_chain, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
