/*
 * test_kvm_irq.c - interrupt injection through the in-kernel irqchip.
 *
 * The real-mode guest programs the (in-kernel) master PIC with vector base 8,
 * unmasks IRQ5, says "ready" on port 0x10 and waits in HLT (inside KVM, as an
 * irqchip exists).  Another thread then raises GSI 5 twice: once with
 * vm_irq_pulse() and once through an irqfd.  Each interrupt runs the IVT
 * handler for vector 13, which reports on port 0x11 and sends the PIC an
 * EOI; the second report powers the VM off.
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
#include <sys/eventfd.h>

#include <vmmkit/eventfd.h>

#define IRQ_LINE 5
#define HANDLER 0x1100u

static const uint8_t irq_guest[] = {
    0xb0, 0x11, /* mov $0x11, %al                                           */
    0xe6, 0x20, /* out %al, $0x20    ICW1: edge, cascade, ICW4 follows      */
    0xb0, 0x08, /* mov $0x08, %al                                           */
    0xe6, 0x21, /* out %al, $0x21    ICW2: IRQ0-7 -> vectors 8-15           */
    0xb0, 0x04, /* mov $0x04, %al                                           */
    0xe6, 0x21, /* out %al, $0x21    ICW3: slave on IR2                     */
    0xb0, 0x01, /* mov $0x01, %al                                           */
    0xe6, 0x21, /* out %al, $0x21    ICW4: 8086 mode                        */
    0xb0, 0xdf, /* mov $0xdf, %al                                           */
    0xe6, 0x21, /* out %al, $0x21    OCW1: mask all but IRQ5                */
    0xb0, 0x01, /* mov $0x01, %al                                           */
    0xe6, 0x10, /* out %al, $0x10    "ready" (exits to the VMM)             */
    0xfb,       /* sti                                                      */
    0xf4,       /* 1: hlt            waits in KVM for the interrupt         */
    0xeb, 0xfd, /* jmp 1b                                                   */
};

static const uint8_t irq_handler[] = {
    0xb0, 0x42, /* mov $0x42, %al                                           */
    0xe6, 0x11, /* out %al, $0x11    "interrupt seen"                       */
    0xb0, 0x20, /* mov $0x20, %al                                           */
    0xe6, 0x20, /* out %al, $0x20    OCW2: non-specific EOI                 */
    0xcf,       /* iret                                                     */
};

struct irq_test {
    vm_t *vm;
    int ready;   /* atomic: the guest set up its PIC */
    int reports; /* atomic: handler runs seen on port 0x11 */
    unsigned int last_value;
    int irqfd;
    int rc_pulse, rc_irqfd, timed_out;
};

static ioport_fault_result_t port_out(vm_vcpu_t *vcpu, void *cookie, unsigned int port,
                                      unsigned int size, unsigned int value)
{
    struct irq_test *t = cookie;
    if (port == 0x10) {
        __atomic_store_n(&t->ready, 1, __ATOMIC_RELEASE);
    } else if (port == 0x11) {
        t->last_value = value;
        if (__atomic_add_fetch(&t->reports, 1, __ATOMIC_ACQ_REL) == 2) {
            vm_request_stop(vm_vcpu_vm(vcpu), VM_STOP_POWEROFF);
        }
    }
    return IO_FAULT_HANDLED;
}

/* Wait until *@flag >= @want, at most 5 s. */
static bool wait_for(int *flag, int want)
{
    uint64_t deadline = native_now_ns() + 5000000000ull;
    while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) < want) {
        if (native_now_ns() > deadline) {
            return false;
        }
        usleep(1000);
    }
    return true;
}

static void *injector(void *arg)
{
    struct irq_test *t = arg;

    if (!wait_for(&t->ready, 1)) {
        goto timeout;
    }
    usleep(20000); /* let the guest reach HLT: the interrupt must wake it */
    t->rc_pulse = vm_irq_pulse(t->vm, IRQ_LINE);
    if (!wait_for(&t->reports, 1)) {
        goto timeout;
    }
    if (t->irqfd >= 0) {
        uint64_t one = 1;
        t->rc_irqfd = write(t->irqfd, &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
    } else {
        t->rc_irqfd = vm_irq_pulse(t->vm, IRQ_LINE);
    }
    if (!wait_for(&t->reports, 2)) {
        goto timeout;
    }
    return NULL;
timeout:
    t->timed_out = 1;
    vm_request_stop(t->vm, VM_STOP_REQUESTED);
    return NULL;
}

static void test_irq_injection(void **state)
{
    struct irq_test t = {.irqfd = -1};
    t.vm = guest_create("irq", irq_guest, sizeof(irq_guest), true);
    assert_non_null(t.vm);
    assert_true(vm_x86_has_irqchip(t.vm));
    /* IVT entry for vector 8 + 5 = 13 at 13 * 4: offset HANDLER, segment 0. */
    const uint16_t ivt[2] = {HANDLER, 0};
    assert_int_equal(vm_guest_write(t.vm, 13 * 4, ivt, sizeof(ivt)), 0);
    assert_int_equal(vm_guest_write(t.vm, HANDLER, irq_handler, sizeof(irq_handler)), 0);
    vm_ioport_interface_t iface = {.cookie = &t, .port_out = port_out, .desc = "irq-test"};
    assert_int_equal(vm_io_port_add_handler(t.vm, (vm_ioport_range_t){0x10, 0x11}, iface), 0);

    int efd = eventfd(0, EFD_CLOEXEC);
    assert_true(efd >= 0);
    int rc = vm_irqfd_bind(t.vm, efd, IRQ_LINE, -1);
    if (rc == 0) {
        t.irqfd = efd;
    } else {
        printf("note: irqfd unavailable (%s); the second interrupt is a pulse too\n",
               strerror(-rc));
    }

    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, injector, &t), 0);
    vm_stop_reason_t reason = vm_run(t.vm);
    pthread_join(th, NULL);

    assert_false(t.timed_out);
    assert_int_equal(reason, VM_STOP_POWEROFF);
    assert_int_equal(t.rc_pulse, 0);
    assert_int_equal(t.rc_irqfd, 0);
    assert_int_equal(t.reports, 2);
    assert_int_equal(t.last_value, 0x42);
    /* HLT waited inside KVM: no HLT exit reached user space. */
    assert_int_equal(vm_exit_count(t.vm, VM_EXIT_HLT), 0);
    if (t.irqfd >= 0) {
        assert_int_equal(vm_irqfd_unbind(t.vm, efd, IRQ_LINE), 0);
    }
    close(efd);
    vm_destroy(t.vm);
}

/* Without an irqchip there is nothing to drive: the line reports an error, nothing breaks. */
static void test_irq_without_irqchip(void **state)
{
    static const uint8_t hlt[] = {0xf4};
    vm_t *vm = guest_create("no-irqchip", hlt, sizeof(hlt), false);
    assert_non_null(vm);
    assert_false(vm_x86_has_irqchip(vm));
    assert_true(vm_irq_set_level(vm, IRQ_LINE, 1) < 0);
    assert_int_equal(vm_x86_create_irqchip(vm), -EBUSY); /* vCPUs exist already */
    assert_int_equal(vm_run(vm), VM_STOP_HALT);
    vm_destroy(vm);
}

int main(void)
{
    native_require_kvm();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_irq_injection),
        cmocka_unit_test(test_irq_without_irqchip),
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
