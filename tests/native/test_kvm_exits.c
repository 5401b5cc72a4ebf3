/*
 * test_kvm_exits.c - port I/O and MMIO exits through the KVM backend and the
 * core's dispatch, with tiny real-mode guests on this machine's /dev/kvm:
 *   ports:  OUT of widths 1/2/4 reach the handler; IN returns the handler's
 *           value (echoed back out); an unregistered port reads all-ones; a
 *           REP OUTSB arrives element by element.
 *   mmio:   writes and reads of widths 1/2/4 reach a fault callback with the
 *           right address, width and data; reads see set_vcpu_fault_data();
 *           an unreserved address reads 0 and does not stop the VM; a mapped
 *           reservation is reached without exits and seen via gpa_to_hva().
 *   error:  a callback returning FAULT_ERROR stops the VM with VM_STOP_ERROR.
 *   ioeventfd: a doorbell write signals its eventfd instead of the callback.
 * Exit counters are checked along the way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "native_guest.h"

#ifdef VMMKIT_ARCH_x86

#include <sys/eventfd.h>

#include <vmmkit/eventfd.h>

struct io_rec {
    bool out;
    unsigned int port, size, value;
};

struct io_log {
    struct io_rec rec[32];
    int n;
};

static void io_record(struct io_log *l, bool out, unsigned int port, unsigned int size,
                      unsigned int value)
{
    if (l->n < 32) {
        l->rec[l->n] = (struct io_rec){out, port, size, value};
    }
    l->n++;
}

static ioport_fault_result_t rec_out(vm_vcpu_t *vcpu, void *cookie, unsigned int port,
                                     unsigned int size, unsigned int value)
{
    io_record(cookie, true, port, size, value);
    return IO_FAULT_HANDLED;
}

/* IN answers depend on the width: 0xa5, 0xbeef, 0xcafef00d. */
static ioport_fault_result_t rec_in(vm_vcpu_t *vcpu, void *cookie, unsigned int port,
                                    unsigned int size, unsigned int *result)
{
    *result = size == 1 ? 0xa5 : size == 2 ? 0xbeef : 0xcafef00d;
    io_record(cookie, false, port, size, *result);
    return IO_FAULT_HANDLED;
}

static void expect_rec(const struct io_log *l, int i, bool out, unsigned int port,
                       unsigned int size, unsigned int value)
{
    if (i >= l->n) {
        fail_msg("port record %d missing: only %d recorded", i, l->n);
    }
    assert_int_equal(l->rec[i].out, out);
    assert_int_equal(l->rec[i].port, port);
    assert_int_equal(l->rec[i].size, size);
    assert_int_equal(l->rec[i].value, value);
}

static const uint8_t ports_guest[] = {
    0xba, 0x00, 0x05,                   /* mov $0x500, %dx                       */
    0xb0, 0x5a,                         /* mov $0x5a, %al                        */
    0xee,                               /* out %al, (%dx)      -> 0x500 b 0x5a   */
    0x42,                               /* inc %dx             dx = 0x501        */
    0xb8, 0x34, 0x12,                   /* mov $0x1234, %ax                      */
    0xef,                               /* out %ax, (%dx)      -> 0x501 w 0x1234 */
    0xba, 0x04, 0x05,                   /* mov $0x504, %dx                       */
    0x66, 0xb8, 0xef, 0xbe, 0xad, 0xde, /* mov $0xdeadbeef, %eax                 */
    0x66, 0xef,                         /* out %eax, (%dx)     -> 0x504 l        */
    0xba, 0x08, 0x05,                   /* mov $0x508, %dx                       */
    0xec,                               /* in (%dx), %al       <- 0xa5           */
    0xee,                               /* out %al, (%dx)      echo              */
    0xed,                               /* in (%dx), %ax       <- 0xbeef         */
    0xef,                               /* out %ax, (%dx)      echo              */
    0x66, 0xed,                         /* in (%dx), %eax      <- 0xcafef00d     */
    0x66, 0xef,                         /* out %eax, (%dx)     echo              */
    0xba, 0x00, 0x06,                   /* mov $0x600, %dx     unregistered      */
    0xec,                               /* in (%dx), %al       <- 0xff           */
    0xba, 0x08, 0x05,                   /* mov $0x508, %dx                       */
    0xee,                               /* out %al, (%dx)      echo 0xff         */
    0xba, 0x00, 0x06,                   /* mov $0x600, %dx                       */
    0xee,                               /* out %al, (%dx)      dropped           */
    0xbe, 0x00, 0x11,                   /* mov $0x1100, %si    "abc" (by test)   */
    0xb9, 0x03, 0x00,                   /* mov $3, %cx                           */
    0xba, 0x0c, 0x05,                   /* mov $0x50c, %dx                       */
    0xf3, 0x6e,                         /* rep outsb           -> 0x50c x3       */
    0xf4,                               /* hlt                 (no irqchip: end) */
};

static void test_ports(void **state)
{
    struct io_log log = {.n = 0};
    vm_t *vm = guest_create("ports", ports_guest, sizeof(ports_guest), false);
    assert_non_null(vm);
    assert_int_equal(vm_guest_write(vm, 0x1100, "abc", 3), 0);
    vm_ioport_interface_t iface = {
        .cookie = &log, .port_in = rec_in, .port_out = rec_out, .desc = "test"};
    assert_int_equal(vm_io_port_add_handler(vm, (vm_ioport_range_t){0x500, 0x50f}, iface), 0);

    assert_int_equal(vm_run(vm), VM_STOP_HALT);

    expect_rec(&log, 0, true, 0x500, 1, 0x5a);
    expect_rec(&log, 1, true, 0x501, 2, 0x1234);
    expect_rec(&log, 2, true, 0x504, 4, 0xdeadbeef);
    expect_rec(&log, 3, false, 0x508, 1, 0xa5);
    expect_rec(&log, 4, true, 0x508, 1, 0xa5);
    expect_rec(&log, 5, false, 0x508, 2, 0xbeef);
    expect_rec(&log, 6, true, 0x508, 2, 0xbeef);
    expect_rec(&log, 7, false, 0x508, 4, 0xcafef00d);
    expect_rec(&log, 8, true, 0x508, 4, 0xcafef00d);
    expect_rec(&log, 9, true, 0x508, 1, 0xff); /* the unregistered IN read all-ones */
    expect_rec(&log, 10, true, 0x50c, 1, 'a');
    expect_rec(&log, 11, true, 0x50c, 1, 'b');
    expect_rec(&log, 12, true, 0x50c, 1, 'c');
    assert_int_equal(log.n, 13);

    /* (j) exit counters: 4 INs, at least 8 OUTs (REP OUTSB may come in one exit), 1 HLT. */
    assert_int_equal(vm_exit_count(vm, VM_EXIT_IO_IN), 4);
    assert_true(vm_exit_count(vm, VM_EXIT_IO_OUT) >= 8);
    assert_true(vm_exit_count(vm, VM_EXIT_IO_OUT) <= 11);
    assert_int_equal(vm_exit_count(vm, VM_EXIT_HLT), 1);
    assert_int_equal(vm_exit_count(vm, VM_EXIT_MMIO_READ), 0);
    assert_int_equal(vm_stat_count(vm, VM_STAT_PIO_UNASSIGNED), 2);
    assert_true(vm_first_entry_ns(vm) > 0);
    vm_destroy(vm);
}

struct mmio_log {
    int n;
    struct {
        uintptr_t addr;
        size_t len;
        bool read;
        uint64_t data;
    } rec[16];
    memory_fault_result_t result;
};

/* Records the access; reads of offsets 0x40/0x50/0x60 answer 0x5a/0x1234/0x89abcdef. */
static memory_fault_result_t mmio_cb(vm_t *vm, vm_vcpu_t *vcpu, uintptr_t addr, size_t len,
                                     void *cookie)
{
    struct mmio_log *l = cookie;
    if (l->n < 16) {
        l->rec[l->n].addr = addr;
        l->rec[l->n].len = len;
        l->rec[l->n].read = is_vcpu_read_fault(vcpu);
        l->rec[l->n].data = l->rec[l->n].read ? 0 : get_vcpu_fault_data(vcpu);
    }
    l->n++;
    if (is_vcpu_read_fault(vcpu)) {
        switch (addr & 0xfff) {
        case 0x40:
            set_vcpu_fault_data(vcpu, 0x5a);
            break;
        case 0x50:
            set_vcpu_fault_data(vcpu, 0x1234);
            break;
        case 0x60:
            set_vcpu_fault_data(vcpu, 0x89abcdef);
            break;
        }
    }
    return l->result;
}

static void expect_mmio(const struct mmio_log *l, int i, uintptr_t addr, size_t len, bool read,
                        uint64_t data)
{
    if (i >= l->n) {
        fail_msg("MMIO record %d missing: only %d recorded", i, l->n);
    }
    assert_int_equal(l->rec[i].addr, addr);
    assert_int_equal(l->rec[i].len, len);
    assert_int_equal(l->rec[i].read, read);
    assert_int_equal(l->rec[i].data, data);
}

static const uint8_t mmio_guest[] = {
    0xb8, 0x00, 0xd0,                               /* mov $0xd000, %ax                */
    0x8e, 0xd8,                                     /* mov %ax, %ds     device window  */
    0xc6, 0x06, 0x10, 0x00, 0x11,                   /* movb $0x11, 0x10                */
    0xc7, 0x06, 0x20, 0x00, 0x33, 0x22,             /* movw $0x2233, 0x20              */
    0x66, 0xc7, 0x06, 0x30, 0x00, 0x77, 0x66, 0x55, /* movl $0x44556677, 0x30          */
    0x44,                                           /*   (imm32 high byte)             */
    0xa0, 0x40, 0x00,                               /* mov 0x40, %al    <- 0x5a        */
    0x8b, 0x1e, 0x50, 0x00,                         /* mov 0x50, %bx    <- 0x1234      */
    0x66, 0x8b, 0x0e, 0x60, 0x00,                   /* mov 0x60, %ecx   <- 0x89abcdef  */
    0xba, 0x00, 0x05,                               /* mov $0x500, %dx                 */
    0xee,                                           /* out %al, (%dx)   echo           */
    0x89, 0xd8,                                     /* mov %bx, %ax                    */
    0xef,                                           /* out %ax, (%dx)   echo           */
    0x66, 0x89, 0xc8,                               /* mov %ecx, %eax                  */
    0x66, 0xef,                                     /* out %eax, (%dx)  echo           */
    0xb8, 0x00, 0xe0,                               /* mov $0xe000, %ax                */
    0x8e, 0xd8,                                     /* mov %ax, %ds     nothing there  */
    0xc6, 0x06, 0x00, 0x00, 0x99,                   /* movb $0x99, 0x0  dropped        */
    0x66, 0xa1, 0x04, 0x00,                         /* mov 0x4, %eax    <- 0           */
    0x66, 0xef,                                     /* out %eax, (%dx)  echo           */
    0xb8, 0x00, 0xc0,                               /* mov $0xc000, %ax                */
    0x8e, 0xd8,                                     /* mov %ax, %ds     mapped window  */
    0x66, 0xc7, 0x06, 0x00, 0x01, 0xfe, 0xca, 0x0d, /* movl $0x600dcafe, 0x100         */
    0x60,                                           /*   (imm32 high byte)             */
    0x66, 0xa1, 0x00, 0x02,                         /* mov 0x200, %eax  <- VMM's value */
    0x66, 0xef,                                     /* out %eax, (%dx)  echo           */
    0xf4,                                           /* hlt                             */
};

static void test_mmio(void **state)
{
    struct mmio_log mlog = {.result = FAULT_HANDLED};
    struct io_log plog = {.n = 0};
    vm_t *vm = guest_create("mmio", mmio_guest, sizeof(mmio_guest), false);
    assert_non_null(vm);
    vm_ioport_interface_t iface = {.cookie = &plog, .port_out = rec_out};
    assert_int_equal(vm_io_port_add_handler(vm, (vm_ioport_range_t){0x500, 0x503}, iface), 0);
    /* Trapping device window at 0xd0000. */
    assert_non_null(vm_reserve_memory_at(vm, 0xd0000, 0x1000, mmio_cb, &mlog));
    /* Mapped window at 0xc0000, preset by the VMM. */
    vm_memory_reservation_t *win = vm_reserve_memory_at(vm, 0xc0000, 0x10000, mmio_cb, &mlog);
    assert_non_null(win);
    assert_int_equal(vm_map_reservation(vm, win, NULL, NULL), 0);
    uint32_t *wp = gpa_to_hva(vm, 0xc0200, 4);
    assert_non_null(wp);
    *wp = 0x13572468;

    assert_int_equal(vm_run(vm), VM_STOP_HALT);

    /* The callback saw exactly the device window's six accesses. */
    expect_mmio(&mlog, 0, 0xd0010, 1, false, 0x11);
    expect_mmio(&mlog, 1, 0xd0020, 2, false, 0x2233);
    expect_mmio(&mlog, 2, 0xd0030, 4, false, 0x44556677);
    expect_mmio(&mlog, 3, 0xd0040, 1, true, 0);
    expect_mmio(&mlog, 4, 0xd0050, 2, true, 0);
    expect_mmio(&mlog, 5, 0xd0060, 4, true, 0);
    assert_int_equal(mlog.n, 6);
    /* The guest read what set_vcpu_fault_data gave, 0 from nowhere, the VMM's word. */
    expect_rec(&plog, 0, true, 0x500, 1, 0x5a);
    expect_rec(&plog, 1, true, 0x500, 2, 0x1234);
    expect_rec(&plog, 2, true, 0x500, 4, 0x89abcdef);
    expect_rec(&plog, 3, true, 0x500, 4, 0);
    expect_rec(&plog, 4, true, 0x500, 4, 0x13572468);
    assert_int_equal(plog.n, 5);
    /* The guest's write to the mapped window is in host memory. */
    uint32_t *gp = gpa_to_hva(vm, 0xc0100, 4);
    assert_non_null(gp);
    assert_int_equal(*gp, 0x600dcafe);
    /* Counters: the mapped window caused no exit; the unreserved pair was counted. */
    assert_int_equal(vm_exit_count(vm, VM_EXIT_MMIO_WRITE), 4);
    assert_int_equal(vm_exit_count(vm, VM_EXIT_MMIO_READ), 4);
    assert_int_equal(vm_exit_count(vm, VM_EXIT_IO_OUT), 5);
    assert_int_equal(vm_stat_count(vm, VM_STAT_MMIO_UNASSIGNED), 2);
    vm_destroy(vm);
}

static const uint8_t error_guest[] = {
    0xb8, 0x00, 0xd0,                                     /* mov $0xd000, %ax              */
    0x8e, 0xd8,                                           /* mov %ax, %ds                  */
    0x66, 0xc7, 0x06, 0x80, 0x00, 0x01, 0x00, 0x00, 0x00, /* movl $1, 0x80  (doorbell)     */
    0xc6, 0x06, 0x00, 0x00, 0x01,                         /* movb $1, 0x0   -> FAULT_ERROR */
    0xf4,                                                 /* hlt  (never reached)          */
};

static void test_fault_error_stops(void **state)
{
    struct mmio_log mlog = {.result = FAULT_ERROR};
    vm_t *vm = guest_create("error", error_guest, sizeof(error_guest), false);
    assert_non_null(vm);
    assert_non_null(vm_reserve_memory_at(vm, 0xd0000, 0x1000, mmio_cb, &mlog));
    assert_int_equal(vm_run(vm), VM_STOP_ERROR); /* logs the error, as it should */
    assert_int_equal(mlog.n, 1);                 /* stopped at the first access */
    assert_int_equal(mlog.rec[0].addr, 0xd0080);
    assert_int_equal(vm_exit_count(vm, VM_EXIT_HLT), 0);
    vm_destroy(vm);
}

static void test_ioeventfd(void **state)
{
    struct mmio_log mlog = {.result = FAULT_HANDLED};
    vm_t *vm = guest_create("doorbell", error_guest, sizeof(error_guest), false);
    assert_non_null(vm);
    assert_non_null(vm_reserve_memory_at(vm, 0xd0000, 0x1000, mmio_cb, &mlog));
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    assert_true(efd >= 0);
    vm_ioeventfd_t ev = {.fd = efd, .addr = 0xd0080, .len = 4};
    int rc = vm_ioeventfd_bind(vm, &ev);
    if (rc == -EOPNOTSUPP) {
        printf("note: no ioeventfd on this KVM; the doorbell falls back to an exit\n");
    } else {
        assert_int_equal(rc, 0);
    }

    assert_int_equal(vm_run(vm), VM_STOP_HALT);

    uint64_t count = 0;
    if (rc == 0) {
        assert_int_equal(read(efd, &count, sizeof(count)), sizeof(count));
        assert_int_equal(count, 1);
        assert_int_equal(mlog.n, 1); /* only the byte write reached the callback */
        assert_int_equal(mlog.rec[0].addr, 0xd0000);
        assert_int_equal(vm_ioeventfd_unbind(vm, &ev), 0);
    }
    close(efd);
    vm_destroy(vm);
}

int main(void)
{
    native_require_kvm();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ports),
        cmocka_unit_test(test_mmio),
        cmocka_unit_test(test_fault_error_stops),
        cmocka_unit_test(test_ioeventfd),
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
