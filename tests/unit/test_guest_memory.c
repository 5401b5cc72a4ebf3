/*
 * test_guest_memory.c - reservations, mapping, gpa_to_hva and MMIO fault
 * dispatch (src/core/guest_memory.c, src/core/fault.c) over a fake backend.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <vmmkit/guest_memory.h>
#include <vmmkit/log.h>

#include "fake_hv.h"

#define MiB (1ull << 20)

static int setup(void **state)
{
    vmm_log_set_level(VMM_LOG_ERR); /* the tests provoke warnings on purpose */
    vm_t *vm = fake_vm_create();
    assert_non_null(vm);
    assert_int_equal(vm_memory_init(vm), 0);
    *state = vm;
    return 0;
}

static int teardown(void **state)
{
    vm_destroy(*state);
    return 0;
}

static void expect_refused(vm_t *vm, uintptr_t addr, size_t size, int err)
{
    errno = 0;
    assert_null(vm_reserve_memory_at(vm, addr, size, NULL, NULL));
    assert_int_equal(errno, err);
}

static void test_overlaps_refused(void **state)
{
    vm_t *vm = *state;
    vm_memory_reservation_t *r = vm_reserve_memory_at(vm, 0x10000, 0x10000, NULL, NULL);
    assert_non_null(r);

    expect_refused(vm, 0x10000, 0x10000, EEXIST); /* identical */
    expect_refused(vm, 0x14000, 0x1000, EEXIST);  /* inside */
    expect_refused(vm, 0x0, 0x100000, EEXIST);    /* covering */
    expect_refused(vm, 0x8000, 0x10000, EEXIST);  /* overlaps the start */
    expect_refused(vm, 0x18000, 0x10000, EEXIST); /* overlaps the end */
    expect_refused(vm, 0xf000, 0x1001, EEXIST);   /* touches the first byte */
    expect_refused(vm, 0x1ffff, 0x1000, EEXIST);  /* touches the last byte */
    expect_refused(vm, 0x10000, 1, EEXIST);       /* one byte, first */
    expect_refused(vm, 0x1ffff, 1, EEXIST);       /* one byte, last */

    /* Adjacent on both sides is fine. */
    vm_memory_reservation_t *below = vm_reserve_memory_at(vm, 0xf000, 0x1000, NULL, NULL);
    vm_memory_reservation_t *above = vm_reserve_memory_at(vm, 0x20000, 0x1000, NULL, NULL);
    assert_non_null(below);
    assert_non_null(above);

    uintptr_t a;
    size_t s;
    vm_get_reservation_memory_region(r, &a, &s);
    assert_int_equal(a, 0x10000);
    assert_int_equal(s, 0x10000);
}

static void test_invalid_ranges(void **state)
{
    vm_t *vm = *state;
    expect_refused(vm, 0x1000, 0, EINVAL);                  /* empty */
    expect_refused(vm, UINT64_MAX - 0xfff, 0x2000, EINVAL); /* wraps */
    /* Ending exactly at the top of the address space is allowed. */
    assert_non_null(vm_reserve_memory_at(vm, UINT64_MAX - 0xfff, 0x1000, NULL, NULL));
    expect_refused(vm, UINT64_MAX, 1, EEXIST);
}

static void test_free_and_rereserve(void **state)
{
    vm_t *vm = *state;
    vm_memory_reservation_t *a = vm_reserve_memory_at(vm, 0x100000, 0x1000, NULL, NULL);
    vm_memory_reservation_t *b = vm_reserve_memory_at(vm, 0x101000, 0x1000, NULL, NULL);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(vm_free_reserved_memory(vm, a), 0);
    a = vm_reserve_memory_at(vm, 0x100000, 0x1000, NULL, NULL);
    assert_non_null(a);
    /* b is still there. */
    expect_refused(vm, 0x101800, 0x10, EEXIST);

    /* A mapped reservation: freeing unmaps it from the backend. */
    assert_int_equal(vm_map_reservation(vm, b, NULL, NULL), 0);
    assert_int_equal(vm->hv_vm->nr_live, 1);
    assert_non_null(gpa_to_hva(vm, 0x101000, 0x1000));
    assert_int_equal(vm_free_reserved_memory(vm, b), 0);
    assert_int_equal(vm->hv_vm->nr_live, 0);
    assert_null(gpa_to_hva(vm, 0x101000, 1));
    assert_non_null(vm_reserve_memory_at(vm, 0x101000, 0x2000, NULL, NULL));
}

static void test_gpa_to_hva_bounds(void **state)
{
    vm_t *vm = *state;
    const uint64_t base = 0x200000, size = 2 * MiB;

    assert_int_equal(vm_ram_add(vm, base, size), 0);
    assert_int_equal(vm_ram_size(vm), size);
    uint8_t *p = gpa_to_hva(vm, base, size);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % (2 * MiB), 0); /* huge-page aligned backing */
    assert_ptr_equal(gpa_to_hva(vm, base + size - 1, 1), p + size - 1); /* last byte */
    assert_null(gpa_to_hva(vm, base + size - 1, 2));                    /* one past */
    assert_null(gpa_to_hva(vm, base + size, 1));                        /* after */
    assert_null(gpa_to_hva(vm, base - 1, 2));                           /* before */
    assert_null(gpa_to_hva(vm, base, size + 1));
    assert_null(gpa_to_hva(vm, UINT64_MAX, 2)); /* wraps */
    assert_null(gpa_to_hva(vm, base + 16, SIZE_MAX));

    /* Copies are bounds-checked the same way. */
    uint32_t v = 0x11223344, back = 0;
    assert_int_equal(vm_guest_write(vm, base + size - 4, &v, 4), 0);
    assert_int_equal(vm_guest_read(vm, base + size - 4, &back, 4), 0);
    assert_int_equal(back, v);
    assert_int_equal(vm_guest_write(vm, base + size - 3, &v, 4), -EFAULT);
    assert_int_equal(vm_guest_read(vm, base - 2, &back, 4), -EFAULT);

    /* Two adjacent RAM regions: a range across the seam is refused. */
    assert_int_equal(vm_ram_add(vm, base + size, size), 0);
    assert_non_null(gpa_to_hva(vm, base + size, 4));
    assert_null(gpa_to_hva(vm, base + size - 2, 4));
    assert_int_equal(vm_ram_size(vm), 2 * size);

    /* RAM at the very top of the address space: the last byte, and a wrap. */
    const uint64_t top = UINT64_MAX - 2 * MiB + 1;
    assert_int_equal(vm_ram_add(vm, top, 2 * MiB), 0);
    assert_non_null(gpa_to_hva(vm, UINT64_MAX, 1));
    assert_non_null(gpa_to_hva(vm, top, 2 * MiB));
    assert_null(gpa_to_hva(vm, UINT64_MAX, 2));
    assert_null(gpa_to_hva(vm, UINT64_MAX - 1, 3));
}

static int map_readonly(uintptr_t addr, size_t size, vm_memory_backing_t *backing, void *cookie)
{
    backing->hva = cookie;
    backing->readonly = true;
    return 0;
}

static void test_mapping_rules(void **state)
{
    vm_t *vm = *state;
    static uint8_t rom[0x2000] __attribute__((aligned(0x1000)));

    /* Not page aligned: refused. */
    vm_memory_reservation_t *odd = vm_reserve_memory_at(vm, 0x1000800, 0x1000, NULL, NULL);
    assert_non_null(odd);
    assert_int_equal(vm_map_reservation(vm, odd, NULL, NULL), -EINVAL);

    /* Read-only mapping: the backend sees the flag; gpa_to_hva refuses it. */
    vm_memory_reservation_t *r = vm_reserve_memory_at(vm, 0x2000000, sizeof(rom), NULL, NULL);
    assert_int_equal(vm_map_reservation(vm, r, map_readonly, rom), 0);
    assert_int_equal(vm->hv_vm->maps[0].flags, HV_MEM_READONLY);
    assert_ptr_equal(vm->hv_vm->maps[0].hva, rom);
    assert_int_equal(vm->hv_vm->maps[0].gpa, 0x2000000);
    assert_null(gpa_to_hva(vm, 0x2000000, 1));
    assert_int_equal(vm_map_reservation(vm, r, NULL, NULL), -EBUSY); /* already mapped */
}

static void test_anon_reservations(void **state)
{
    vm_t *vm = *state;
    uintptr_t a = 0, b = 0, c = 0;

    assert_int_equal(vm_ram_add(vm, 0, 16 * MiB), 0);
    /* Default window: above RAM. */
    assert_non_null(vm_reserve_anon_memory(vm, 0x3000, 0x10000, NULL, NULL, &a));
    assert_true(a >= 16 * MiB);
    assert_int_equal(a % 0x10000, 0);
    assert_non_null(vm_reserve_anon_memory(vm, 0x3000, 0x10000, NULL, NULL, &b));
    assert_int_equal(b % 0x10000, 0);
    assert_true(b >= a + 0x3000);
    /* Something already sitting at the next aligned slot is skipped. */
    assert_non_null(vm_reserve_memory_at(vm, b + 0x10000, 0x100, NULL, NULL));
    assert_non_null(vm_reserve_anon_memory(vm, 0x1000, 0x10000, NULL, NULL, &c));
    assert_int_equal(c, b + 0x20000);

    /* Bad alignment. */
    errno = 0;
    assert_null(vm_reserve_anon_memory(vm, 0x1000, 0x3000, NULL, NULL, &c));
    assert_int_equal(errno, EINVAL);

    /* An explicit window: fills exactly, then runs out. */
    assert_int_equal(vm_memory_set_anon_window(vm, 0x40000000, 0x200000), 0);
    assert_non_null(vm_reserve_anon_memory(vm, 0x100000, 0x100000, NULL, NULL, &a));
    assert_int_equal(a, 0x40000000);
    assert_non_null(vm_reserve_anon_memory(vm, 0x100000, 0x100000, NULL, NULL, &b));
    assert_int_equal(b, 0x40100000);
    errno = 0;
    assert_null(vm_reserve_anon_memory(vm, 0x1000, 0, NULL, NULL, &c));
    assert_int_equal(errno, ENOMEM);
    assert_int_equal(vm_memory_set_anon_window(vm, 0x1000, 0), -EINVAL);
}

/* --- fault dispatch through vcpu_handle_exit(), the run loop's function --------------- */

struct fault_log {
    int calls;
    uintptr_t addr;
    size_t len;
    bool read;
    uint64_t data;
    vm_vcpu_t *vcpu;
    uintptr_t acc_addr;
    size_t acc_len;
    memory_fault_result_t result;
    uint64_t reply;
    vm_memory_reservation_t *self; /* for FAULT_RESTART: map on first call */
};

static memory_fault_result_t record_fault(vm_t *vm, vm_vcpu_t *vcpu, uintptr_t addr, size_t len,
                                          void *cookie)
{
    struct fault_log *log = cookie;
    log->calls++;
    log->addr = addr;
    log->len = len;
    log->vcpu = vcpu;
    log->read = is_vcpu_read_fault(vcpu);
    log->data = get_vcpu_fault_data(vcpu);
    log->acc_addr = get_vcpu_fault_address(vcpu);
    log->acc_len = get_vcpu_fault_size(vcpu);
    if (log->read) {
        set_vcpu_fault_data(vcpu, log->reply);
    }
    if (log->result == FAULT_RESTART && log->self) {
        assert_int_equal(vm_map_reservation(vm, log->self, NULL, NULL), 0);
        log->self = NULL;
    }
    return log->result;
}

static uint64_t data_of(const struct fake_exit *f, uint32_t len)
{
    uint64_t v = 0;
    memcpy(&v, f->exit.mmio.data, len);
    return v;
}

static void test_fault_dispatch(void **state)
{
    vm_t *vm = *state;
    struct fault_log log = {.result = FAULT_HANDLED};
    const uint64_t dev = 0x9000000;

    vm_vcpu_t *vcpu = vm_create_vcpu(vm, 0);
    assert_non_null(vcpu);
    assert_non_null(vm_reserve_memory_at(vm, dev, 0x1000, record_fault, &log));

    /* Writes of every width: address, width, direction and data reach the callback. */
    const uint32_t widths[] = {1, 2, 4, 8};
    const uint64_t values[] = {0xa5, 0xbeef, 0xdeadbeef, 0x0123456789abcdefull};
    for (int i = 0; i < 4; i++) {
        struct fake_exit w;
        fake_mmio(&w, dev + 0x10 * i, widths[i], true, values[i]);
        assert_int_equal(vcpu_handle_exit(vcpu, &w.exit), VCPU_CONTINUE);
        assert_int_equal(log.calls, i + 1);
        assert_int_equal(log.addr, dev + 0x10 * i);
        assert_int_equal(log.len, widths[i]);
        assert_int_equal(log.acc_addr, dev + 0x10 * i);
        assert_int_equal(log.acc_len, widths[i]);
        assert_false(log.read);
        assert_int_equal(log.data, values[i]);
        assert_ptr_equal(log.vcpu, vcpu);
    }
    /* Reads: the guest sees set_vcpu_fault_data's value, truncated to the width. */
    log.reply = 0x1122334455667788ull;
    for (int i = 0; i < 4; i++) {
        struct fake_exit r;
        fake_mmio(&r, dev + 0x100 + 8 * i, widths[i], false, 0);
        assert_int_equal(vcpu_handle_exit(vcpu, &r.exit), VCPU_CONTINUE);
        assert_true(log.read);
        uint64_t mask = widths[i] == 8 ? UINT64_MAX : (1ull << (8 * widths[i])) - 1;
        assert_int_equal(data_of(&r, widths[i]), log.reply & mask);
        if (widths[i] < 8) {
            assert_int_equal(r.data[widths[i]], 0xaa); /* bytes past the width untouched */
        }
    }
    /* Accessors outside a callback are inert. */
    assert_false(is_vcpu_read_fault(vcpu));
    assert_int_equal(get_vcpu_fault_data(vcpu), 0);
    assert_int_equal(get_vcpu_fault_size(vcpu), 0);

    /* FAULT_UNHANDLED and FAULT_IGNORE: reads return 0; only UNHANDLED is counted. */
    log.result = FAULT_UNHANDLED;
    struct fake_exit r;
    fake_mmio(&r, dev + 0x200, 4, false, 0);
    assert_int_equal(vcpu_handle_exit(vcpu, &r.exit), VCPU_CONTINUE);
    assert_int_equal(data_of(&r, 4), 0);
    assert_int_equal(vm_stat_count(vm, VM_STAT_MMIO_UNHANDLED), 1);
    log.result = FAULT_IGNORE;
    fake_mmio(&r, dev + 0x200, 4, false, 0);
    assert_int_equal(vcpu_handle_exit(vcpu, &r.exit), VCPU_CONTINUE);
    assert_int_equal(data_of(&r, 4), 0);
    assert_int_equal(vm_stat_count(vm, VM_STAT_MMIO_UNHANDLED), 1);
    /* FAULT_BUS_ERROR without a backend that injects one: reads see all ones. */
    log.result = FAULT_BUS_ERROR;
    fake_mmio(&r, dev + 0x200, 4, false, 0);
    assert_int_equal(vcpu_handle_exit(vcpu, &r.exit), VCPU_CONTINUE);
    assert_int_equal(data_of(&r, 4), 0xffffffffu);
    assert_int_equal(r.data[4], 0xaa);
    assert_int_equal(vm_stat_count(vm, VM_STAT_MMIO_BUS_ERROR), 1);
    log.result = FAULT_HANDLED;

    /* Nothing there: read 0, counted, VM keeps running; same for a straddling access. */
    int calls = log.calls;
    fake_mmio(&r, 0x7000000, 4, false, 0);
    assert_int_equal(vcpu_handle_exit(vcpu, &r.exit), VCPU_CONTINUE);
    assert_int_equal(data_of(&r, 4), 0);
    struct fake_exit w;
    fake_mmio(&w, 0x7000000, 8, true, 42);
    assert_int_equal(vcpu_handle_exit(vcpu, &w.exit), VCPU_CONTINUE);
    fake_mmio(&r, dev + 0xffe, 4, false, 0);
    assert_int_equal(vcpu_handle_exit(vcpu, &r.exit), VCPU_CONTINUE);
    assert_int_equal(data_of(&r, 4), 0);
    assert_int_equal(log.calls, calls);
    assert_int_equal(vm_stat_count(vm, VM_STAT_MMIO_UNASSIGNED), 3);

    /* Exit counters by kind. */
    assert_int_equal(vm_exit_count(vm, VM_EXIT_MMIO_WRITE), 5);
    assert_int_equal(vm_exit_count(vm, VM_EXIT_MMIO_READ), 9);

    /* FAULT_ERROR stops the VM: the stop reason is set, and vm_run() reports it. */
    log.result = FAULT_ERROR;
    fake_mmio(&w, dev, 4, true, 1);
    assert_int_equal(vcpu_handle_exit(vcpu, &w.exit), VCPU_STOP);
    assert_int_equal(vcpu->hv->kicks, 1);
    assert_int_equal(vm_run(vm), VM_STOP_ERROR);
    assert_int_equal(vcpu->hv->runs, 0); /* stopped before entering */
}

static void test_fault_restart(void **state)
{
    vm_t *vm = *state;
    struct fault_log log = {.result = FAULT_RESTART};
    const uint64_t win = 0xa000000;

    vm_vcpu_t *vcpu = vm_create_vcpu(vm, 0);
    log.self = vm_reserve_memory_at(vm, win, 0x1000, record_fault, &log);
    assert_non_null(log.self);

    /* The callback maps the window and asks for a restart: the write lands in memory. */
    struct fake_exit w;
    fake_mmio(&w, win + 0x40, 4, true, 0xcafef00d);
    assert_int_equal(vcpu_handle_exit(vcpu, &w.exit), VCPU_CONTINUE);
    assert_int_equal(log.calls, 1);
    uint32_t *p = gpa_to_hva(vm, win + 0x40, 4);
    assert_non_null(p);
    assert_int_equal(*p, 0xcafef00d);
    /* Later accesses (a stale exit) are served from memory without the callback. */
    struct fake_exit r;
    fake_mmio(&r, win + 0x40, 2, false, 0);
    assert_int_equal(vcpu_handle_exit(vcpu, &r.exit), VCPU_CONTINUE);
    assert_int_equal(data_of(&r, 2), 0xf00d);
    assert_int_equal(log.calls, 1);

    /* A callback that restarts forever does not hang the vCPU. */
    struct fault_log loop = {.result = FAULT_RESTART};
    assert_non_null(vm_reserve_memory_at(vm, win + 0x1000, 0x1000, record_fault, &loop));
    fake_mmio(&r, win + 0x1000, 4, false, 0);
    assert_int_equal(vcpu_handle_exit(vcpu, &r.exit), VCPU_CONTINUE);
    assert_int_equal(data_of(&r, 4), 0);
    assert_true(loop.calls > 1 && loop.calls <= 8);
}

static void test_zero_ram_on_reset(void **state)
{
    vm_t *vm = *state;
    assert_int_equal(vm_ram_add(vm, 0, 2 * MiB), 0);
    assert_non_null(vm_create_vcpu(vm, 0));
    uint8_t *p = gpa_to_hva(vm, 0x1234, 1);
    *p = 0x77;
    assert_int_equal(vm_reset(vm), 0);
    assert_int_equal(*(uint8_t *)gpa_to_hva(vm, 0x1234, 1), 0);
    assert_int_equal(vm_get_vcpu(vm, 0)->hv->resets, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_overlaps_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_and_rereserve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gpa_to_hva_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mapping_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_anon_reservations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_dispatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_ram_on_reset, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
