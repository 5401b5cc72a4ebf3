/*
 * test_vm.c - the run loop, stop reasons, reset and counters (src/core/vm.c)
 * over a fake backend that plays scripted exits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <vmmkit/ioports.h>
#include <vmmkit/irq.h>
#include <vmmkit/log.h>
#include <vmmkit/vm.h>

#include "fake_hv.h"

static int outs_seen;

static ioport_fault_result_t count_out(vm_vcpu_t *vcpu, void *cookie, unsigned int port,
                                       unsigned int size, unsigned int value)
{
    outs_seen++;
    return IO_FAULT_HANDLED;
}

static vm_t *vm_with_script(const struct fake_exit *script, size_t len, unsigned int nr_vcpus)
{
    vm_t *vm = fake_vm_create();
    assert_non_null(vm);
    fake_next_script = script;
    fake_next_script_len = len;
    for (unsigned int i = 0; i < nr_vcpus; i++) {
        assert_non_null(vm_create_vcpu(vm, i));
    }
    return vm;
}

static void test_names(void **state)
{
    assert_string_equal(vm_exit_kind_name(VM_EXIT_MMIO_READ), "mmio-read");
    assert_string_equal(vm_exit_kind_name(VM_EXIT_KIND_COUNT), "invalid");
    assert_string_equal(vm_stop_reason_name(VM_STOP_REQUESTED), "requested");
    assert_string_equal(vm_stat_name(VM_STAT_MMIO_UNASSIGNED), "mmio-unassigned");
}

static void test_create_rules(void **state)
{
    vm_t *vm = fake_vm_create();
    assert_string_equal(vm_name(vm), "test");
    errno = 0;
    assert_null(vm_create_vcpu(vm, 1)); /* ids are dense */
    assert_int_equal(errno, EINVAL);
    vm_vcpu_t *v0 = vm_create_vcpu(vm, 0);
    assert_non_null(v0);
    assert_int_equal(vm_vcpu_count(vm), 1);
    assert_ptr_equal(vm_get_vcpu(vm, 0), v0);
    assert_null(vm_get_vcpu(vm, 1));
    assert_int_equal(vm_vcpu_id(v0), 0);
    assert_ptr_equal(vm_vcpu_vm(v0), vm);
    for (unsigned int i = 1; i < 9; i++) {
        assert_non_null(vm_create_vcpu(vm, i)); /* the array grows */
    }
    assert_int_equal(vm_first_entry_ns(vm), 0);
    vm_destroy(vm);

    vm_t *empty = fake_vm_create();
    assert_int_equal(vm_run(empty), VM_STOP_ERROR); /* no vCPU */
    vm_destroy(empty);
}

static void test_run_to_poweroff_and_counters(void **state)
{
    static struct fake_exit script[4];
    uint8_t v = 7;
    fake_io(&script[0], 0x80, 1, true, 1, &v);
    fake_io(&script[1], 0x80, 1, true, 1, &v);
    fake_mmio(&script[2], 0x1000, 4, false, 0); /* unassigned: read 0, keeps running */
    memset(&script[3], 0, sizeof(script[3]));
    script[3].exit.reason = HV_EXIT_INTR;
    /* then the script runs out: POWEROFF */
    vm_t *vm = vm_with_script(script, 4, 1);
    vm_ioport_interface_t iface = {.port_out = count_out};
    assert_int_equal(vm_io_port_add_handler(vm, (vm_ioport_range_t){0x80, 0x80}, iface), 0);

    outs_seen = 0;
    assert_int_equal(vm_run(vm), VM_STOP_POWEROFF);
    assert_int_equal(outs_seen, 2);
    assert_int_equal(vm_exit_count(vm, VM_EXIT_IO_OUT), 2);
    assert_int_equal(vm_exit_count(vm, VM_EXIT_MMIO_READ), 1);
    assert_int_equal(vm_exit_count(vm, VM_EXIT_INTR), 1);
    assert_int_equal(vm_exit_count(vm, VM_EXIT_SYSTEM_EVENT), 1);
    assert_int_equal(vm_stat_count(vm, VM_STAT_MMIO_UNASSIGNED), 1);
    assert_true(vm_first_entry_ns(vm) > 0);
    vm_destroy(vm);
}

static vm_stop_reason_t run_one(hv_exit_reason_t reason)
{
    static struct fake_exit script[1];
    memset(script, 0, sizeof(script));
    script[0].exit.reason = reason;
    vm_t *vm = vm_with_script(script, 1, 1);
    vm_stop_reason_t r = vm_run(vm);
    vm_destroy(vm);
    return r;
}

static void test_exit_reasons_map_to_stops(void **state)
{
    vmm_log_set_level(VMM_LOG_ERR);
    assert_int_equal(run_one(HV_EXIT_POWEROFF), VM_STOP_POWEROFF);
    assert_int_equal(run_one(HV_EXIT_RESET), VM_STOP_RESET);
    assert_int_equal(run_one(HV_EXIT_SHUTDOWN), VM_STOP_RESET);
    assert_int_equal(run_one(HV_EXIT_CRASH), VM_STOP_ERROR);
    assert_int_equal(run_one(HV_EXIT_INTERNAL_ERROR), VM_STOP_ERROR);
    assert_int_equal(run_one(HV_EXIT_FAIL_ENTRY), VM_STOP_ERROR);
    assert_int_equal(run_one(HV_EXIT_UNKNOWN), VM_STOP_ERROR);
    assert_int_equal(run_one(HV_EXIT_HLT), VM_STOP_HALT);
}

/* Two vCPUs: one halts, the other powers off later; power-off wins, both are joined. */
static void test_halt_one_of_two(void **state)
{
    static struct fake_exit script[1];
    memset(script, 0, sizeof(script));
    script[0].exit.reason = HV_EXIT_HLT;
    vm_t *vm = vm_with_script(script, 1, 1);
    fake_next_script_len = 0; /* vcpu1: straight to POWEROFF */
    assert_non_null(vm_create_vcpu(vm, 1));
    assert_int_equal(vm_run(vm), VM_STOP_POWEROFF);
    vm_destroy(vm);
}

static void test_request_stop_first_wins(void **state)
{
    vm_t *vm = vm_with_script(NULL, 0, 2);
    vm_request_stop(vm, VM_STOP_REQUESTED);
    vm_request_stop(vm, VM_STOP_ERROR); /* too late */
    assert_int_equal(vm_get_vcpu(vm, 0)->hv->kicks, 2);
    assert_int_equal(vm_run(vm), VM_STOP_REQUESTED);
    assert_int_equal(vm_get_vcpu(vm, 0)->hv->runs, 0);
    /* The reason was consumed: the next run plays the (empty) script. */
    assert_int_equal(vm_run(vm), VM_STOP_POWEROFF);
    vm_destroy(vm);
}

static int hook_order[4], hook_calls;

static void hook(vm_t *vm, void *cookie)
{
    hook_order[hook_calls++] = (int)(intptr_t)cookie;
    /* A device finishing a DMA as it resets: RAM is zeroed after the hooks. */
    uint8_t *ram = gpa_to_hva(vm, 0x10000, 16);
    if (ram)
        memset(ram, 0xa5, 16);
}

static void test_reset_hooks(void **state)
{
    vm_t *vm = vm_with_script(NULL, 0, 1);
    hook_calls = 0;
    assert_int_equal(vm_ram_add(vm, 0x10000, 0x10000), 0);
    assert_int_equal(vm_register_reset_hook(vm, hook, (void *)1), 0);
    assert_int_equal(vm_register_reset_hook(vm, hook, (void *)2), 0);
    assert_int_equal(vm_register_reset_hook(vm, NULL, NULL), -EINVAL);
    assert_int_equal(vm_run(vm), VM_STOP_POWEROFF);
    assert_int_equal(vm_reset(vm), 0);
    assert_int_equal(hook_calls, 2);
    assert_int_equal(hook_order[0], 1);
    assert_int_equal(hook_order[1], 2);
    const uint8_t zero[16] = {0};
    assert_memory_equal(gpa_to_hva(vm, 0x10000, 16), zero, 16);
    assert_int_equal(vm_get_vcpu(vm, 0)->hv->resets, 1);
    vm_destroy(vm);
}

static void test_irq_lines(void **state)
{
    vm_t *vm = vm_with_script(NULL, 0, 1);
    assert_int_equal(vm_irq_set_level(vm, 33, 5), 0);
    assert_int_equal(vm->hv_vm->last_irq, 33);
    assert_int_equal(vm->hv_vm->last_level, 1);
    assert_int_equal(vm_irq_pulse(vm, 40), 0);
    assert_int_equal(vm->hv_vm->last_irq, 40);
    assert_int_equal(vm->hv_vm->last_level, 0);
    assert_int_equal(vm->hv_vm->irq_calls, 3);
    /* The fake backend has no MSI or eventfds: callers are told to fall back. */
    assert_int_equal(vm_irq_msi(vm, 0xfee00000, 0x41), -EOPNOTSUPP);
    vm_destroy(vm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_create_rules),
        cmocka_unit_test(test_run_to_poweroff_and_counters),
        cmocka_unit_test(test_exit_reasons_map_to_stops),
        cmocka_unit_test(test_halt_one_of_two),
        cmocka_unit_test(test_request_stop_first_wins),
        cmocka_unit_test(test_reset_hooks),
        cmocka_unit_test(test_irq_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
