/*
 * test_ioports.c - port I/O registration and dispatch (src/core/ioports.c)
 * through vcpu_handle_exit() over a fake backend.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <vmmkit/ioports.h>
#include <vmmkit/log.h>

#include "fake_hv.h"

struct port_log {
    int outs, ins;
    unsigned int port[8], size[8], value[8];
    unsigned int in_value;
    ioport_fault_result_t result;
};

static ioport_fault_result_t log_out(vm_vcpu_t *vcpu, void *cookie, unsigned int port,
                                     unsigned int size, unsigned int value)
{
    struct port_log *l = cookie;
    if (l->outs < 8) {
        l->port[l->outs] = port;
        l->size[l->outs] = size;
        l->value[l->outs] = value;
    }
    l->outs++;
    return l->result;
}

static ioport_fault_result_t log_in(vm_vcpu_t *vcpu, void *cookie, unsigned int port,
                                    unsigned int size, unsigned int *result)
{
    struct port_log *l = cookie;
    l->ins++;
    *result = l->in_value + (unsigned int)l->ins - 1;
    return l->result;
}

static int setup(void **state)
{
    vmm_log_set_level(VMM_LOG_ERR);
    vm_t *vm = fake_vm_create();
    assert_non_null(vm);
    assert_non_null(vm_create_vcpu(vm, 0));
    *state = vm;
    return 0;
}

static int teardown(void **state)
{
    vm_destroy(*state);
    return 0;
}

static void test_register_rules(void **state)
{
    vm_t *vm = *state;
    vm_ioport_interface_t iface = {.desc = "uart"};

    assert_int_equal(vm_io_port_add_handler(vm, (vm_ioport_range_t){0x3f8, 0x3ff}, iface), 0);
    assert_int_equal(vm_io_port_add_handler(vm, (vm_ioport_range_t){0x3ff, 0x400}, iface), -EEXIST);
    assert_int_equal(vm_io_port_add_handler(vm, (vm_ioport_range_t){0x3f0, 0x3f8}, iface), -EEXIST);
    assert_int_equal(vm_io_port_add_handler(vm, (vm_ioport_range_t){0x3fa, 0x3fa}, iface), -EEXIST);
    assert_int_equal(vm_io_port_add_handler(vm, (vm_ioport_range_t){0x10, 0x0f}, iface), -EINVAL);
    assert_int_equal(vm_io_port_add_handler(vm, (vm_ioport_range_t){0x3f0, 0x3f7}, iface), 0);
    assert_int_equal(vm_io_port_add_handler(vm, (vm_ioport_range_t){0x400, 0x400}, iface), 0);
    assert_int_equal(vm_io_port_add_handler(vm, (vm_ioport_range_t){0xffff, 0xffff}, iface), 0);
    assert_int_equal(vm_io_port_remove_handler(vm, 0x3f8), 0);
    assert_int_equal(vm_io_port_remove_handler(vm, 0x3f8), -ENOENT);
    assert_int_equal(vm_io_port_remove_handler(vm, 0x3f1), -ENOENT); /* not a range start */
    assert_int_equal(vm_io_port_add_handler(vm, (vm_ioport_range_t){0x3f8, 0x3ff}, iface), 0);
}

static void test_dispatch(void **state)
{
    vm_t *vm = *state;
    vm_vcpu_t *vcpu = vm_get_vcpu(vm, 0);
    struct port_log l = {.in_value = 0x12345678, .result = IO_FAULT_HANDLED};
    vm_ioport_interface_t iface = {.cookie = &l, .port_in = log_in, .port_out = log_out};

    assert_int_equal(vm_io_port_add_handler(vm, (vm_ioport_range_t){0x500, 0x50f}, iface), 0);

    /* OUT of each width. */
    uint8_t b = 0x5a;
    uint16_t w = 0x1234;
    uint32_t d = 0xdeadbeef;
    struct fake_exit e;
    fake_io(&e, 0x500, 1, true, 1, &b);
    assert_int_equal(vcpu_handle_exit(vcpu, &e.exit), VCPU_CONTINUE);
    fake_io(&e, 0x502, 2, true, 1, &w);
    assert_int_equal(vcpu_handle_exit(vcpu, &e.exit), VCPU_CONTINUE);
    fake_io(&e, 0x504, 4, true, 1, &d);
    assert_int_equal(vcpu_handle_exit(vcpu, &e.exit), VCPU_CONTINUE);
    assert_int_equal(l.outs, 3);
    assert_int_equal(l.port[0], 0x500);
    assert_int_equal(l.size[0], 1);
    assert_int_equal(l.value[0], 0x5a);
    assert_int_equal(l.port[1], 0x502);
    assert_int_equal(l.size[1], 2);
    assert_int_equal(l.value[1], 0x1234);
    assert_int_equal(l.port[2], 0x504);
    assert_int_equal(l.size[2], 4);
    assert_int_equal(l.value[2], 0xdeadbeef);

    /* IN: the handler's value, truncated to the width. */
    fake_io(&e, 0x508, 2, false, 1, NULL);
    assert_int_equal(vcpu_handle_exit(vcpu, &e.exit), VCPU_CONTINUE);
    assert_int_equal(e.data[0] | (e.data[1] << 8), 0x5678);
    assert_int_equal(e.data[2], 0x55); /* untouched */

    /* REP OUTSB / INSW: one call per element. */
    const uint8_t s[3] = {'a', 'b', 'c'};
    fake_io(&e, 0x50c, 1, true, 3, s);
    assert_int_equal(vcpu_handle_exit(vcpu, &e.exit), VCPU_CONTINUE);
    assert_int_equal(l.outs, 6);
    assert_int_equal(l.value[3], 'a');
    assert_int_equal(l.value[5], 'c');
    l.ins = 0;
    fake_io(&e, 0x50c, 2, false, 2, NULL);
    assert_int_equal(vcpu_handle_exit(vcpu, &e.exit), VCPU_CONTINUE);
    assert_int_equal(e.data[0] | (e.data[1] << 8), 0x5678);
    assert_int_equal(e.data[2] | (e.data[3] << 8), 0x5679);

    /* Unregistered: reads all-ones, writes dropped, counted. */
    fake_io(&e, 0x600, 4, false, 1, NULL);
    assert_int_equal(vcpu_handle_exit(vcpu, &e.exit), VCPU_CONTINUE);
    assert_int_equal(e.data[0] & e.data[1] & e.data[2] & e.data[3], 0xff);
    fake_io(&e, 0x600, 1, true, 1, &b);
    assert_int_equal(vcpu_handle_exit(vcpu, &e.exit), VCPU_CONTINUE);
    /* Straddling the range's end counts as unregistered. */
    fake_io(&e, 0x50e, 4, false, 1, NULL);
    assert_int_equal(vcpu_handle_exit(vcpu, &e.exit), VCPU_CONTINUE);
    assert_int_equal(e.data[0], 0xff);
    assert_int_equal(vm_stat_count(vm, VM_STAT_PIO_UNASSIGNED), 3);

    /* IO_FAULT_UNHANDLED behaves like unregistered, counted apart. */
    l.result = IO_FAULT_UNHANDLED;
    fake_io(&e, 0x508, 1, false, 1, NULL);
    assert_int_equal(vcpu_handle_exit(vcpu, &e.exit), VCPU_CONTINUE);
    assert_int_equal(e.data[0], 0xff);
    assert_int_equal(vm_stat_count(vm, VM_STAT_PIO_UNHANDLED), 1);

    assert_int_equal(vm_exit_count(vm, VM_EXIT_IO_OUT), 5);
    assert_int_equal(vm_exit_count(vm, VM_EXIT_IO_IN), 5);

    /* IO_FAULT_ERROR stops the VM. */
    l.result = IO_FAULT_ERROR;
    fake_io(&e, 0x500, 1, true, 1, &b);
    assert_int_equal(vcpu_handle_exit(vcpu, &e.exit), VCPU_STOP);
    assert_int_equal(vm_run(vm), VM_STOP_ERROR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_register_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dispatch, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
