/*
 * test_kvm_arm64.c - the KVM backend on an arm64 host (run it in sim/arm64;
 * it skips elsewhere), with a tiny AArch64 guest at EL1, MMU off:
 *   - vCPU set-up: PSCI 0.2, vCPU 1 powered off, boot registers (PC, X0,
 *     X1-X3 = 0, PSTATE = EL1h with DAIF masked), MPIDR affinities;
 *   - the in-kernel GIC (auto version), its frames reserved, SPI lines;
 *   - MMIO reads and writes of widths 1/2/4/8 to a fault callback, and a
 *     read of an unreserved address that returns 0;
 *   - PSCI CPU_ON (handled in KVM) starts vCPU 1, which reports its context
 *     id; PSCI SYSTEM_OFF from vCPU 0 stops the VM with VM_STOP_POWEROFF
 *     while vCPU 1 sleeps in WFI inside KVM (so the kick must reach it);
 *   - vm_reset() re-initialises both vCPUs and the guest runs again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "native_guest.h"

#ifdef VMMKIT_ARCH_arm64

#include <vmmkit/arm64.h>

#define RAM_BASE 0x40000000u
#define RAM_SIZE 0x200000u
#define DEV_BASE 0x09000000u
#define GIC_DIST 0x08000000u
#define GIC_CPU 0x08010000u
#define GIC_REDIST 0x080a0000u
#define BOOT_X0 0x1234u

static const uint32_t a64_guest[] = {
    0xd2a12001, /* 00: mov  x1, #0x09000000        device window            */
    0xb9000020, /* 04: str  w0, [x1]               write 4: boot X0         */
    0x39404022, /* 08: ldrb w2, [x1, #0x10]        read 1  <- 0x5a          */
    0x79404023, /* 0c: ldrh w3, [x1, #0x20]        read 2  <- 0x1234        */
    0xb9403024, /* 10: ldr  w4, [x1, #0x30]        read 4  <- 0x89abcdef    */
    0xf9402025, /* 14: ldr  x5, [x1, #0x40]        read 8  <- 0x0123..cdef  */
    0x39004422, /* 18: strb w2, [x1, #0x11]        echo 1                   */
    0x79004423, /* 1c: strh w3, [x1, #0x22]        echo 2                   */
    0xb9003424, /* 20: str  w4, [x1, #0x34]        echo 4                   */
    0xf9002425, /* 24: str  x5, [x1, #0x48]        echo 8                   */
    0xd2a14006, /* 28: mov  x6, #0x0a000000        nothing there            */
    0xb94000c7, /* 2c: ldr  w7, [x6]               reads 0                  */
    0xb9005027, /* 30: str  w7, [x1, #0x50]        echo it                  */
    0x52800060, /* 34: mov  w0, #0x3                                        */
    0x72b88000, /* 38: movk w0, #0xc400, lsl #16   PSCI CPU_ON (SMC64)      */
    0xd2800021, /* 3c: mov  x1, #1                 target MPIDR: vCPU 1     */
    0x10000182, /* 40: adr  x2, secondary          entry point (0x70)       */
    0xd2800ee3, /* 44: mov  x3, #0x77              context id               */
    0xd4000002, /* 48: hvc  #0                     handled inside KVM       */
    0xd2a12001, /* 4c: mov  x1, #0x09000000                                 */
    0xb9005820, /* 50: str  w0, [x1, #0x58]        report CPU_ON's result   */
    0x100001e8, /* 54: adr  x8, flag               (0x90)                   */
    0xb9400109, /* 58: 1: ldr w9, [x8]             wait for vCPU 1          */
    0x34ffffe9, /* 5c: cbz  w9, 1b                                          */
    0x52800100, /* 60: mov  w0, #0x8                                        */
    0x72b08000, /* 64: movk w0, #0x8400, lsl #16   PSCI SYSTEM_OFF          */
    0xd4000002, /* 68: hvc  #0                     -> VM_STOP_POWEROFF      */
    0x14000000, /* 6c: b    .                                               */
    0xd2a12001, /* 70: secondary: mov x1, #0x09000000                       */
    0xb9006020, /* 74: str  w0, [x1, #0x60]        report the context id    */
    0x100000c8, /* 78: adr  x8, flag                                        */
    0x52800029, /* 7c: mov  w9, #1                                          */
    0xb9000109, /* 80: str  w9, [x8]               release vCPU 0           */
    0xd503207f, /* 84: 2: wfi                      sleeps inside KVM        */
    0x17ffffff, /* 88: b    2b                                              */
    0xd503201f, /* 8c: nop                                                  */
    0x00000000, /* 90: flag                                                 */
};

struct dev_log {
    int n;
    struct {
        uintptr_t addr;
        size_t len;
        bool read;
        uint64_t data;
        unsigned int vcpu;
    } rec[32];
};

static memory_fault_result_t dev_cb(vm_t *vm, vm_vcpu_t *vcpu, uintptr_t addr, size_t len,
                                    void *cookie)
{
    struct dev_log *l = cookie;
    bool read = is_vcpu_read_fault(vcpu);
    if (read) {
        switch (addr - DEV_BASE) {
        case 0x10:
            set_vcpu_fault_data(vcpu, 0x5a);
            break;
        case 0x20:
            set_vcpu_fault_data(vcpu, 0x1234);
            break;
        case 0x30:
            set_vcpu_fault_data(vcpu, 0x89abcdef);
            break;
        case 0x40:
            set_vcpu_fault_data(vcpu, 0x0123456789abcdefull);
            break;
        }
    }
    int i = __atomic_fetch_add(&l->n, 1, __ATOMIC_RELAXED);
    if (i < 32) {
        l->rec[i].addr = addr;
        l->rec[i].len = len;
        l->rec[i].read = read;
        l->rec[i].data = read ? 0 : get_vcpu_fault_data(vcpu);
        l->rec[i].vcpu = vm_vcpu_id(vcpu);
    }
    return FAULT_HANDLED;
}

/* The record of the write to offset @off, or fail. */
static uint64_t written(const struct dev_log *l, uintptr_t off, size_t len, unsigned int vcpu)
{
    for (int i = 0; i < l->n && i < 32; i++) {
        if (!l->rec[i].read && l->rec[i].addr == DEV_BASE + off) {
            assert_int_equal(l->rec[i].len, len);
            assert_int_equal(l->rec[i].vcpu, vcpu);
            return l->rec[i].data;
        }
    }
    fail_msg("no write to offset %#lx", (unsigned long)off);
    return 0;
}

static void load_and_boot(vm_t *vm)
{
    assert_int_equal(vm_guest_write(vm, RAM_BASE, a64_guest, sizeof(a64_guest)), 0);
    vm_vcpu_t *v0 = vm_get_vcpu(vm, 0);
    assert_int_equal(vm_vcpu_arm64_set_boot_regs(v0, RAM_BASE, BOOT_X0), 0);
    uint64_t pc = 0, x0 = 0, x1 = 1, pstate = 0;
    assert_int_equal(vm_vcpu_arm64_get_reg(v0, VM_ARM64_REG_PC, &pc), 0);
    assert_int_equal(vm_vcpu_arm64_get_reg(v0, VM_ARM64_REG_X0, &x0), 0);
    assert_int_equal(vm_vcpu_arm64_get_reg(v0, VM_ARM64_REG_X0 + 1, &x1), 0);
    assert_int_equal(vm_vcpu_arm64_get_reg(v0, VM_ARM64_REG_PSTATE, &pstate), 0);
    assert_int_equal(pc, RAM_BASE);
    assert_int_equal(x0, BOOT_X0);
    assert_int_equal(x1, 0);
    assert_int_equal(pstate, 0x3c5); /* EL1h, D A I F masked */
}

static void test_arm64_guest(void **state)
{
    struct dev_log log;
    memset(&log, 0, sizeof(log));
    vm_t *vm = NULL;
    assert_int_equal(vm_create(&vm, "a64"), 0);
    assert_int_equal(vm_ram_add(vm, RAM_BASE, RAM_SIZE), 0);
    assert_non_null(vm_create_vcpu(vm, 0));
    assert_non_null(vm_create_vcpu(vm, 1));
    assert_int_equal(vm_vcpu_arm64_mpidr(vm_get_vcpu(vm, 0)), 0);
    assert_int_equal(vm_vcpu_arm64_mpidr(vm_get_vcpu(vm, 1)), 1);

    vm_arm64_gic_t gic = {
        .version = 0,
        .dist_base = GIC_DIST,
        .redist_base = GIC_REDIST,
        .cpu_base = GIC_CPU,
        .nr_irqs = 128,
    };
    int v3 = vm_arm64_gic_supported(vm, 3), v2 = vm_arm64_gic_supported(vm, 2);
    printf("note: host GIC support: v3 %d, v2 %d\n", v3, v2);
    assert_int_equal(vm_arm64_gic_create(vm, &gic), 0);
    printf("note: created GICv%d\n", gic.version);
    assert_true(gic.version == 2 || gic.version == 3);
    assert_int_equal(gic.version == 3 ? v3 : v2, 1);
    /* Its frames are reserved now. */
    assert_null(vm_reserve_memory_at(vm, GIC_DIST + 0x100, 0x100, NULL, NULL));
    /* SPI lines: INTID 32.. ; SGIs/PPIs are not lines. */
    assert_int_equal(vm_irq_set_level(vm, 40, 1), 0);
    assert_int_equal(vm_irq_set_level(vm, 40, 0), 0);
    assert_int_equal(vm_irq_set_level(vm, 5, 1), -EINVAL);

    assert_non_null(vm_reserve_memory_at(vm, DEV_BASE, 0x1000, dev_cb, &log));

    for (int round = 0; round < 2; round++) {
        load_and_boot(vm);
        memset(&log, 0, sizeof(log));
        assert_int_equal(vm_run(vm), VM_STOP_POWEROFF);

        assert_int_equal(written(&log, 0x00, 4, 0), BOOT_X0);
        assert_int_equal(written(&log, 0x11, 1, 0), 0x5a);
        assert_int_equal(written(&log, 0x22, 2, 0), 0x1234);
        assert_int_equal(written(&log, 0x34, 4, 0), 0x89abcdef);
        assert_true(written(&log, 0x48, 8, 0) == 0x0123456789abcdefull);
        assert_int_equal(written(&log, 0x50, 4, 0), 0); /* the unreserved read */
        assert_int_equal(written(&log, 0x58, 4, 0), 0); /* PSCI_SUCCESS */
        assert_int_equal(written(&log, 0x60, 4, 1), 0x77);
        assert_int_equal(vm_stat_count(vm, VM_STAT_MMIO_UNASSIGNED), round + 1);
        assert_int_equal(vm_exit_count(vm, VM_EXIT_SYSTEM_EVENT), round + 1);

        assert_int_equal(vm_reset(vm), 0);
        uint64_t pc = 1;
        assert_int_equal(vm_vcpu_arm64_get_reg(vm_get_vcpu(vm, 0), VM_ARM64_REG_PC, &pc), 0);
        assert_int_equal(pc, 0); /* back to the power-on state */
    }
    vm_destroy(vm);
}

int main(void)
{
    native_require_kvm_arm64();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arm64_guest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#else
int main(void)
{
    native_require_kvm_arm64();
    return 77;
}
#endif
