/*
 * test_kvm_long_mode.c - a 64-bit guest entered with
 * vm_x86_build_identity_page_tables() + vm_vcpu_x86_set_long_mode(): it
 * makes 8-byte MMIO accesses (the width real mode cannot do) and reports
 * the read value on a port, 32 bits at a time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "native_guest.h"

#ifdef VMMKIT_ARCH_x86

#define PML4 0x10000u

static const uint8_t lm_guest[] = {
    0xbb, 0x00, 0x00, 0x0d, 0x00,       /* mov $0xd0000, %ebx                          */
    0x48, 0xb8, 0xef, 0xcd, 0xab, 0x89, /* movabs $0x0123456789abcdef, %rax            */
    0x67, 0x45, 0x23, 0x01,             /*   (imm64 high bytes)                        */
    0x48, 0x89, 0x03,                   /* mov %rax, (%rbx)     8-byte MMIO write      */
    0x48, 0x8b, 0x4b, 0x08,             /* mov 8(%rbx), %rcx    8-byte MMIO read       */
    0x48, 0x89, 0xc8,                   /* mov %rcx, %rax                              */
    0x66, 0xba, 0x00, 0x05,             /* mov $0x500, %dx                             */
    0xef,                               /* out %eax, (%dx)      low half               */
    0x48, 0xc1, 0xe8, 0x20,             /* shr $32, %rax                               */
    0xef,                               /* out %eax, (%dx)      high half              */
    0xf4,                               /* hlt                                         */
};

struct lm_log {
    uint64_t written;
    uintptr_t waddr, raddr;
    size_t wlen, rlen;
    unsigned int outs[2];
    int nouts;
};

static memory_fault_result_t dev_cb(vm_t *vm, vm_vcpu_t *vcpu, uintptr_t addr, size_t len,
                                    void *cookie)
{
    struct lm_log *l = cookie;
    if (is_vcpu_read_fault(vcpu)) {
        l->raddr = addr;
        l->rlen = len;
        set_vcpu_fault_data(vcpu, 0xfedcba9876543210ull);
    } else {
        l->waddr = addr;
        l->wlen = len;
        l->written = get_vcpu_fault_data(vcpu);
    }
    return FAULT_HANDLED;
}

static ioport_fault_result_t out_cb(vm_vcpu_t *vcpu, void *cookie, unsigned int port,
                                    unsigned int size, unsigned int value)
{
    struct lm_log *l = cookie;
    if (l->nouts < 2) {
        l->outs[l->nouts] = value;
    }
    l->nouts++;
    return IO_FAULT_HANDLED;
}

static void test_long_mode_mmio64(void **state)
{
    struct lm_log log;
    memset(&log, 0, sizeof(log));
    vm_t *vm = guest_create("long", lm_guest, sizeof(lm_guest), false);
    assert_non_null(vm);
    assert_non_null(vm_reserve_memory_at(vm, 0xd0000, 0x1000, dev_cb, &log));
    vm_ioport_interface_t iface = {.cookie = &log, .port_out = out_cb};
    assert_int_equal(vm_io_port_add_handler(vm, (vm_ioport_range_t){0x500, 0x503}, iface), 0);

    /* Tables must fit in RAM; 1 GiB identity map = 3 pages. */
    assert_int_equal(VM_X86_IDENTITY_PT_BYTES(1ull << 30), 3 * 4096);
    assert_int_equal(vm_x86_build_identity_page_tables(vm, GUEST_RAM_SIZE - 0x1000, 1ull << 30),
                     -EFAULT);
    assert_int_equal(vm_x86_build_identity_page_tables(vm, PML4 + 8, 1ull << 30), -EINVAL);
    assert_int_equal(vm_x86_build_identity_page_tables(vm, PML4, 1ull << 30), 0);
    vm_vcpu_t *v = vm_get_vcpu(vm, 0);
    assert_int_equal(vm_vcpu_x86_set_long_mode(v, PML4, GUEST_CODE, GUEST_STACK), 0);

    vm_x86_sregs_t sregs;
    assert_int_equal(vm_vcpu_x86_get_sregs(v, &sregs), 0);
    assert_true(sregs.efer & (1u << 10)); /* LMA */
    assert_int_equal(sregs.cs.l, 1);

    assert_int_equal(vm_run(vm), VM_STOP_HALT);

    assert_int_equal(log.waddr, 0xd0000);
    assert_int_equal(log.wlen, 8);
    assert_true(log.written == 0x0123456789abcdefull);
    assert_int_equal(log.raddr, 0xd0008);
    assert_int_equal(log.rlen, 8);
    assert_int_equal(log.nouts, 2);
    assert_int_equal(log.outs[0], 0x76543210);
    assert_int_equal(log.outs[1], 0xfedcba98);
    vm_destroy(vm);
}

int main(void)
{
    native_require_kvm();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_mode_mmio64),
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
