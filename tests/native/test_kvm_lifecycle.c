/*
 * test_kvm_lifecycle.c - VM life cycle on the KVM backend:
 *   two VMs run at once in one process, each with its own handlers;
 *   vm_request_stop() from another thread stops a guest spinning in
 *   "jmp $" promptly with VM_STOP_REQUESTED;
 *   a guest asks for a reset (keyboard-controller 0xfe), vm_reset() puts the
 *   vCPU back to its power-on state, zeroes RAM and runs the reset hooks, and
 *   the reloaded guest runs again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "native_guest.h"

#ifdef VMMKIT_ARCH_x86

#include <pthread.h>

/* --- two VMs --------------------------------------------------------------------------- */

struct two_vm {
    vm_t *vm;
    unsigned int seen;
    vm_t *seen_vm;
    int outs;
    vm_stop_reason_t reason;
};

static ioport_fault_result_t note_out(vm_vcpu_t *vcpu, void *cookie, unsigned int port,
                                      unsigned int size, unsigned int value)
{
    struct two_vm *t = cookie;
    t->seen = value;
    t->seen_vm = vm_vcpu_vm(vcpu);
    t->outs++;
    return IO_FAULT_HANDLED;
}

static void *run_thread(void *arg)
{
    struct two_vm *t = arg;
    t->reason = vm_run(t->vm);
    return NULL;
}

static void test_two_vms(void **state)
{
    /* mov $N, %al ; out %al, $0x80 ; hlt -- N differs per VM. */
    uint8_t code[2][5] = {
        {0xb0, 0x11, 0xe6, 0x80, 0xf4},
        {0xb0, 0x22, 0xe6, 0x80, 0xf4},
    };
    struct two_vm t[2];
    pthread_t th[2];

    memset(t, 0, sizeof(t));
    for (int i = 0; i < 2; i++) {
        t[i].vm = guest_create(i ? "vm-b" : "vm-a", code[i], sizeof(code[i]), false);
        assert_non_null(t[i].vm);
        vm_ioport_interface_t iface = {.cookie = &t[i], .port_out = note_out};
        assert_int_equal(vm_io_port_add_handler(t[i].vm, (vm_ioport_range_t){0x80, 0x80}, iface),
                         0);
    }
    assert_string_equal(vm_name(t[0].vm), "vm-a");
    assert_string_equal(vm_name(t[1].vm), "vm-b");
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, run_thread, &t[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
    }
    for (int i = 0; i < 2; i++) {
        assert_int_equal(t[i].reason, VM_STOP_HALT);
        assert_int_equal(t[i].outs, 1);
        assert_int_equal(t[i].seen, i ? 0x22 : 0x11);
        assert_ptr_equal(t[i].seen_vm, t[i].vm);
        assert_int_equal(vm_exit_count(t[i].vm, VM_EXIT_IO_OUT), 1);
    }
    vm_destroy(t[0].vm);
    /* The other VM is unaffected by its sibling's destruction: run it again. */
    assert_int_equal(guest_set_entry(vm_get_vcpu(t[1].vm, 0)), 0);
    assert_int_equal(vm_run(t[1].vm), VM_STOP_HALT);
    assert_int_equal(t[1].outs, 2);
    vm_destroy(t[1].vm);
}

/* --- stop a spinning guest from another thread ------------------------------------------ */

struct stopper {
    vm_t *vm;
    uint64_t requested_ns;
};

static void *stop_thread(void *arg)
{
    struct stopper *s = arg;
    uint64_t deadline = native_now_ns() + 5000000000ull;
    while (vm_first_entry_ns(s->vm) == 0 && native_now_ns() < deadline) {
        usleep(1000);
    }
    usleep(100000); /* let it spin a while inside the guest */
    s->requested_ns = native_now_ns();
    vm_request_stop(s->vm, VM_STOP_REQUESTED);
    vm_request_stop(s->vm, VM_STOP_ERROR); /* a later reason must not override */
    return NULL;
}

static void test_request_stop_spinning(void **state)
{
    static const uint8_t spin[] = {
        0xeb, 0xfe, /* 1: jmp 1b */
    };
    struct stopper s;
    pthread_t th;

    s.vm = guest_create("spin", spin, sizeof(spin), false);
    assert_non_null(s.vm);
    assert_int_equal(pthread_create(&th, NULL, stop_thread, &s), 0);
    vm_stop_reason_t reason = vm_run(s.vm);
    uint64_t returned_ns = native_now_ns();
    pthread_join(th, NULL);

    assert_int_equal(reason, VM_STOP_REQUESTED);
    assert_true(vm_first_entry_ns(s.vm) > 0);
    uint64_t latency_ms = (returned_ns - s.requested_ns) / 1000000u;
    printf("note: vm_run() returned %lu ms after vm_request_stop()\n", (unsigned long)latency_ms);
    assert_true(latency_ms < 500);
    assert_true(vm_exit_count(s.vm, VM_EXIT_INTR) >= 1);

    /* A stopped VM resumes where it was: the next stop request ends it again. */
    assert_int_equal(pthread_create(&th, NULL, stop_thread, &s), 0);
    assert_int_equal(vm_run(s.vm), VM_STOP_REQUESTED);
    pthread_join(th, NULL);
    vm_destroy(s.vm);
}

/* --- reset --------------------------------------------------------------------------- */

static const uint8_t reset_guest[] = {
    0xc6, 0x06, 0x00, 0x05, 0xab, /* movb $0xab, 0x500   mark RAM                     */
    0xb0, 0xfe,                   /* mov $0xfe, %al                                   */
    0xe6, 0x64,                   /* out %al, $0x64      i8042 "pulse reset line"     */
    0xf4,                         /* hlt                 (not reached)                */
};

static ioport_fault_result_t kbd_out(vm_vcpu_t *vcpu, void *cookie, unsigned int port,
                                     unsigned int size, unsigned int value)
{
    if (value == 0xfe) {
        vm_request_stop(vm_vcpu_vm(vcpu), VM_STOP_RESET);
    }
    return IO_FAULT_HANDLED;
}

static void reset_hook(vm_t *vm, void *cookie)
{
    int *calls = cookie;
    uint8_t b = 0xff;
    /* Hooks run before RAM is zeroed: devices finish their DMA first. */
    assert_int_equal(vm_guest_read(vm, 0x500, &b, 1), 0);
    if (b == 0xab) {
        (*calls)++;
    }
}

static void test_reset(void **state)
{
    int hook_calls = 0;
    uint8_t mark = 0;
    vm_t *vm = guest_create("reset", reset_guest, sizeof(reset_guest), false);
    assert_non_null(vm);
    vm_ioport_interface_t iface = {.port_out = kbd_out, .desc = "i8042"};
    assert_int_equal(vm_io_port_add_handler(vm, (vm_ioport_range_t){0x64, 0x64}, iface), 0);
    assert_int_equal(vm_register_reset_hook(vm, reset_hook, &hook_calls), 0);

    for (int round = 0; round < 2; round++) {
        assert_int_equal(vm_run(vm), VM_STOP_RESET);
        assert_int_equal(vm_guest_read(vm, 0x500, &mark, 1), 0);
        assert_int_equal(mark, 0xab);

        assert_int_equal(vm_reset(vm), 0);
        assert_int_equal(hook_calls, round + 1);
        assert_int_equal(vm_guest_read(vm, 0x500, &mark, 1), 0);
        assert_int_equal(mark, 0); /* RAM zeroed */
        uint8_t code0 = 0xff;
        assert_int_equal(vm_guest_read(vm, GUEST_CODE, &code0, 1), 0);
        assert_int_equal(code0, 0); /* the code too */

        /* The vCPU is at the x86 reset vector: CS base 0xffff0000, IP 0xfff0. */
        vm_x86_regs_t regs;
        vm_x86_sregs_t sregs;
        vm_vcpu_t *v = vm_get_vcpu(vm, 0);
        assert_int_equal(vm_vcpu_x86_get_regs(v, &regs), 0);
        assert_int_equal(vm_vcpu_x86_get_sregs(v, &sregs), 0);
        assert_int_equal(regs.rip, 0xfff0);
        assert_int_equal(sregs.cs.base, 0xffff0000);
        assert_int_equal(sregs.cs.selector, 0xf000);
        assert_int_equal(sregs.cr0 & 1, 0); /* real mode */

        /* Reload and run again. */
        assert_int_equal(vm_guest_write(vm, GUEST_CODE, reset_guest, sizeof(reset_guest)), 0);
        assert_int_equal(guest_set_entry(v), 0);
    }
    assert_int_equal(vm_run(vm), VM_STOP_RESET);
    vm_destroy(vm);
}

int main(void)
{
    native_require_kvm();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_vms),
        cmocka_unit_test(test_request_stop_spinning),
        cmocka_unit_test(test_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#else
int main(void)
{
    native_require_kvm();
    return 77;
}
#endif
