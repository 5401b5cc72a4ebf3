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
 *   - vm_reset() re-initialises both vCPUs and the guest runs again;
 *   - SMCCC calls in the VMM (where the host forwards them, Linux 6.4+): a
 *     SiP call over HVC reaches its handler, an unregistered one over SMC
 *     returns NOT_SUPPORTED and the guest continues after the SMC, PSCI
 *     CPU_ON / AFFINITY_INFO / CPU_OFF / SYSTEM_OFF are served by
 *     arm64_psci.h, and a device's FAULT_BUS_ERROR reaches the guest as a
 *     synchronous external abort its vector table sees.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "native_guest.h"

#ifdef VMMKIT_ARCH_arm64

#include <sys/utsname.h>

#include <vmmkit/arm64.h>
#include <vmmkit/arm64_psci.h>

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

/*
 * The SMCCC guest: assembled with aarch64-linux-gnu-as; its vector table
 * (VBAR_EL1 = RAM_BASE + 0x800) has one handler, for a synchronous
 * exception from the current EL (vector offset 0x200): it reports ESR_EL1,
 * sets w4 = 0xbad and returns past the faulting instruction.
 */
static const uint32_t smccc_guest[] = {
    0xd2a12001, /* 000: mov x1, #0x9000000 */
    0x10003fea, /* 004: adr x10, 800 */
    0xd518c00a, /* 008: msr vbar_el1, x10 */
    0xd5033fdf, /* 00c: isb */
    0x52b04000, /* 010: mov w0, #0x82000000 */
    0xd4000002, /* 014: hvc #0x0 */
    0xaa0103e5, /* 018: mov x5, x1 */
    0xd2a12001, /* 01c: mov x1, #0x9000000 */
    0xb9000020, /* 020: str w0, [x1] */
    0xb9000425, /* 024: str w5, [x1, #4] */
    0xb9000822, /* 028: str w2, [x1, #8] */
    0x52800020, /* 02c: mov w0, #0x1 */
    0x72b04000, /* 030: movk w0, #0x8200, lsl #16 */
    0xd4000003, /* 034: smc #0x0 */
    0xd2a12001, /* 038: mov x1, #0x9000000 */
    0xb9000c20, /* 03c: str w0, [x1, #12] */
    0x52800060, /* 040: mov w0, #0x3 */
    0x72b88000, /* 044: movk w0, #0xc400, lsl #16 */
    0xd2800021, /* 048: mov x1, #0x1 */
    0x100002e2, /* 04c: adr x2, a8 */
    0xd2800ee3, /* 050: mov x3, #0x77 */
    0xd4000002, /* 054: hvc #0x0 */
    0xd2a12001, /* 058: mov x1, #0x9000000 */
    0xb9001020, /* 05c: str w0, [x1, #16] */
    0x10000368, /* 060: adr x8, cc */
    0xb9400109, /* 064: ldr w9, [x8] */
    0x34ffffe9, /* 068: cbz w9, 64 */
    0x52800080, /* 06c: mov w0, #0x4 */
    0x72b88000, /* 070: movk w0, #0xc400, lsl #16 */
    0xd2800021, /* 074: mov x1, #0x1 */
    0xd2800002, /* 078: mov x2, #0x0 */
    0xd4000002, /* 07c: hvc #0x0 */
    0x7100041f, /* 080: cmp w0, #0x1 */
    0x54ffff41, /* 084: b.ne 6c */
    0xd2a12001, /* 088: mov x1, #0x9000000 */
    0xb9001420, /* 08c: str w0, [x1, #20] */
    0xb9480024, /* 090: ldr w4, [x1, #2048] */
    0xb9001824, /* 094: str w4, [x1, #24] */
    0x52800100, /* 098: mov w0, #0x8 */
    0x72b08000, /* 09c: movk w0, #0x8400, lsl #16 */
    0xd4000002, /* 0a0: hvc #0x0 */
    0x14000000, /* 0a4: b a4 */
    0xd2a12001, /* 0a8: mov x1, #0x9000000 */
    0xb9002020, /* 0ac: str w0, [x1, #32] */
    0x100000e8, /* 0b0: adr x8, cc */
    0x52800029, /* 0b4: mov w9, #0x1 */
    0xb9000109, /* 0b8: str w9, [x8] */
    0x52800040, /* 0bc: mov w0, #0x2 */
    0x72b08000, /* 0c0: movk w0, #0x8400, lsl #16 */
    0xd4000002, /* 0c4: hvc #0x0 */
    0x14000000, /* 0c8: b c8 */
    0x00000000, /* 0cc: flag */
};
static const uint32_t smccc_vector[] = {
    0xd538520a, /* 000: mrs x10, esr_el1 */
    0xd2a1200b, /* 004: mov x11, #0x9000000 */
    0xb9001d6a, /* 008: str w10, [x11, #28] */
    0x528175a4, /* 00c: mov w4, #0xbad */
    0xd538402a, /* 010: mrs x10, elr_el1 */
    0x9100114a, /* 014: add x10, x10, #0x4 */
    0xd518402a, /* 018: msr elr_el1, x10 */
    0xd69f03e0, /* 01c: eret */
};

#define SIP_MAGIC 0x5349503fu

static arm64_smccc_action_t sip_call(void *opaque, const arm64_smccc_call_t *call,
                                     arm64_smccc_result_t *res)
{
    res->x[0] = 0;
    res->x[1] = SIP_MAGIC;
    res->x[2] = call->cpu;
    return ARM64_SMCCC_RESUME;
}

struct smccc_vm {
    vm_t *vm;
    arm64_smccc_t *smccc;
    arm64_psci_t *psci;
};

static int start_vcpu(void *opaque, unsigned int cpu, uint64_t entry, uint64_t ctx)
{
    struct smccc_vm *t = opaque;
    return vm_vcpu_arm64_power_on(vm_get_vcpu(t->vm, cpu), entry, ctx);
}
static void no_op(void *opaque)
{
}
static void no_op_cpu(void *opaque, unsigned int cpu)
{
}

static const arm64_psci_ops_t test_psci_ops = {
    .start_vcpu = start_vcpu,
    .stop_vcpu = no_op_cpu,
    .system_off = no_op,
    .system_reset = no_op,
};

static arm64_smccc_action_t vm_call(vm_vcpu_t *vcpu, const arm64_smccc_call_t *call,
                                    arm64_smccc_result_t *res, void *opaque)
{
    struct smccc_vm *t = opaque;
    return arm64_smccc_dispatch(t->smccc, call, res);
}

static memory_fault_result_t bus_error_cb(vm_t *vm, vm_vcpu_t *vcpu, uintptr_t addr, size_t len,
                                          void *cookie)
{
    if (addr - DEV_BASE == 0x800)
        return FAULT_BUS_ERROR;
    return dev_cb(vm, vcpu, addr, len, cookie);
}

/* Whether the running kernel is at least @major.@minor. */
static bool kernel_at_least(int major, int minor)
{
    struct utsname u;
    int ma = 0, mi = 0;
    if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
        return false;
    return ma > major || (ma == major && mi >= minor);
}

static void test_smccc_in_vmm(void **state)
{
    struct dev_log log;
    struct smccc_vm t = {0};
    memset(&log, 0, sizeof(log));
    assert_int_equal(vm_create(&t.vm, "smccc"), 0);
    assert_int_equal(vm_ram_add(t.vm, RAM_BASE, RAM_SIZE), 0);
    assert_non_null(vm_create_vcpu(t.vm, 0));
    assert_non_null(vm_create_vcpu(t.vm, 1));

    int r = vm_arm64_smccc_forward(t.vm, 0x84000000u, 0x20);
    if (r == -EOPNOTSUPP) {
        /* KVM before 6.4 keeps its own PSCI: vmmkit then falls back to it. */
        printf("note: no SMCCC forwarding on this host; its PSCI serves the guest\n");
        assert_false(kernel_at_least(6, 4));
        vm_destroy(t.vm);
        return;
    }
    assert_int_equal(r, 0);
    assert_int_equal(vm_arm64_smccc_forward(t.vm, 0xc4000000u, 0x20), 0);
    assert_int_equal(vm_arm64_smccc_forward(t.vm, 0x82000000u, 0x10000), 0);
    assert_int_equal(vm_arm64_smccc_forward(t.vm, 0xc2000000u, 0x10000), 0);

    uint64_t mpidr[2] = {vm_vcpu_arm64_mpidr(vm_get_vcpu(t.vm, 0)),
                         vm_vcpu_arm64_mpidr(vm_get_vcpu(t.vm, 1))};
    arm64_psci_ram_t ram = {.base = RAM_BASE, .size = RAM_SIZE};
    assert_int_equal(arm64_smccc_create(&t.smccc), 0);
    assert_int_equal(arm64_psci_create(&(arm64_psci_config_t){.nr_cpus = 2,
                                                              .ops = &test_psci_ops,
                                                              .opaque = &t,
                                                              .mpidr = mpidr,
                                                              .ram = &ram,
                                                              .nr_ram = 1},
                                       &t.psci),
                     0);
    assert_int_equal(arm64_psci_register(t.psci, t.smccc), 0);
    assert_int_equal(
        arm64_smccc_register(t.smccc, &(arm64_smccc_service_t){.name = "test-sip",
                                                               .owner = ARM64_SMCCC_OWNER_SIP,
                                                               .first = 0,
                                                               .last = 0,
                                                               .call = sip_call}),
        0);
    assert_int_equal(vm_arm64_set_smccc_handler(t.vm, vm_call, &t), 0);

    vm_arm64_gic_t gic = {
        .dist_base = GIC_DIST, .redist_base = GIC_REDIST, .cpu_base = GIC_CPU, .nr_irqs = 128};
    assert_int_equal(vm_arm64_gic_create(t.vm, &gic), 0);
    assert_non_null(vm_reserve_memory_at(t.vm, DEV_BASE, 0x1000, bus_error_cb, &log));
    assert_int_equal(vm_guest_write(t.vm, RAM_BASE, smccc_guest, sizeof(smccc_guest)), 0);
    assert_int_equal(vm_guest_write(t.vm, RAM_BASE + 0xa00, smccc_vector, sizeof(smccc_vector)), 0);
    assert_int_equal(vm_vcpu_arm64_set_boot_regs(vm_get_vcpu(t.vm, 0), RAM_BASE, 0), 0);

    assert_int_equal(vm_run(t.vm), VM_STOP_POWEROFF);
    assert_int_equal(written(&log, 0x00, 4, 0), 0);           /* SiP: SUCCESS */
    assert_int_equal(written(&log, 0x04, 4, 0), SIP_MAGIC);   /* from the handler */
    assert_int_equal(written(&log, 0x08, 4, 0), 0);           /* the calling vCPU */
    assert_int_equal(written(&log, 0x0c, 4, 0), 0xffffffffu); /* NOT_SUPPORTED, past the SMC */
    assert_int_equal(written(&log, 0x10, 4, 0), 0);           /* CPU_ON: SUCCESS */
    assert_int_equal(written(&log, 0x20, 4, 1), 0x77);        /* context id in vCPU 1's x0 */
    assert_int_equal(written(&log, 0x14, 4, 0), 1);           /* AFFINITY_INFO: OFF */
    uint64_t esr = written(&log, 0x1c, 4, 0);
    assert_int_equal(esr >> 26, 0x25);                  /* data abort, same EL */
    assert_int_equal(esr & 0x3f, 0x10);                 /* synchronous external abort */
    assert_int_equal(written(&log, 0x18, 4, 0), 0xbad); /* the handler ran, then skipped */
    assert_int_equal(vm_stat_count(t.vm, VM_STAT_MMIO_BUS_ERROR), 1);
    assert_true(vm_exit_count(t.vm, VM_EXIT_HYPERCALL) >= 5);
    assert_int_equal(arm64_psci_cpu_state(t.psci, 1), ARM64_PSCI_STATE_OFF);
    vm_destroy(t.vm);
    arm64_smccc_destroy(t.smccc);
    arm64_psci_destroy(t.psci);
}

/*
 * Loads and stores KVM cannot decode (no valid syndrome: pairs, writeback
 * forms) to a device: the VMM fetches the instruction, decodes and emulates
 * it.  The device is plain memory (echo_cb); MMU off.
 */
static const uint32_t nisv_guest[] = {
    0xd2a12001, /* 00: mov x1, #0x9000000 */
    0xd2822222, /* 04: mov x2, #0x1111 */
    0xf2a66662, /* 08: movk x2, #0x3333, lsl #16 */
    0xd2844443, /* 0c: mov x3, #0x2222 */
    0xa90f0c22, /* 10: stp x2, x3, [x1, #240] */
    0x295e1424, /* 14: ldp w4, w5, [x1, #240] */
    0xb9011024, /* 18: str w4, [x1, #272] */
    0xb9011425, /* 1c: str w5, [x1, #276] */
    0x91080026, /* 20: add x6, x1, #0x200 */
    0xf8008cc2, /* 24: str x2, [x6, #8]! */
    0xf9008c26, /* 28: str x6, [x1, #280] */
    0xf85f84c7, /* 2c: ldr x7, [x6], #-8 */
    0xf9009027, /* 30: str x7, [x1, #288] */
    0xf9009426, /* 34: str x6, [x1, #296] */
    0xa9ff27e8, /* 38: ldp x8, x9, [sp, #-16]! */
    0xf9009828, /* 3c: str x8, [x1, #304] */
    0x910003ea, /* 40: mov x10, sp */
    0xf9009c2a, /* 44: str x10, [x1, #312] */
    0x52800100, /* 48: mov w0, #0x8 */
    0x72b08000, /* 4c: movk w0, #0x8400, lsl #16 */
    0xd4000002, /* 50: hvc #0x0 */
    0x14000000, /* 54: b 54 */
};

struct echo_dev {
    uint8_t mem[0x1000];
    int accesses;
};

static memory_fault_result_t echo_cb(vm_t *vm, vm_vcpu_t *vcpu, uintptr_t addr, size_t len,
                                     void *cookie)
{
    struct echo_dev *d = cookie;
    uint64_t off = addr - DEV_BASE, v = 0;
    __atomic_fetch_add(&d->accesses, 1, __ATOMIC_RELAXED);
    if (is_vcpu_read_fault(vcpu)) {
        memcpy(&v, d->mem + off, len);
        set_vcpu_fault_data(vcpu, v);
    } else {
        v = get_vcpu_fault_data(vcpu);
        memcpy(d->mem + off, &v, len);
    }
    return FAULT_HANDLED;
}

static uint64_t echo64(const struct echo_dev *d, unsigned int off)
{
    uint64_t v;
    memcpy(&v, d->mem + off, 8);
    return v;
}

static void test_mmio_without_syndrome(void **state)
{
    static struct echo_dev dev;
    vm_t *vm = NULL;
    memset(&dev, 0, sizeof(dev));
    for (int i = 0; i < 16; i++)
        dev.mem[0x2f0 + i] = (uint8_t)(0xa0 + i); /* what the SP-based LDP reads */
    assert_int_equal(vm_create(&vm, "nisv"), 0);
    assert_int_equal(vm_ram_add(vm, RAM_BASE, RAM_SIZE), 0);
    assert_non_null(vm_create_vcpu(vm, 0));
    vm_arm64_gic_t gic = {
        .dist_base = GIC_DIST, .redist_base = GIC_REDIST, .cpu_base = GIC_CPU, .nr_irqs = 128};
    assert_int_equal(vm_arm64_gic_create(vm, &gic), 0);
    assert_non_null(vm_reserve_memory_at(vm, DEV_BASE, 0x1000, echo_cb, &dev));
    assert_int_equal(vm_guest_write(vm, RAM_BASE, nisv_guest, sizeof(nisv_guest)), 0);
    vm_vcpu_t *v0 = vm_get_vcpu(vm, 0);
    assert_int_equal(vm_vcpu_arm64_set_boot_regs(v0, RAM_BASE, 0), 0);
    assert_int_equal(vm_vcpu_arm64_set_reg(v0, VM_ARM64_REG_SP_EL1, DEV_BASE + 0x300), 0);

    assert_int_equal(vm_run(vm), VM_STOP_POWEROFF);
    assert_true(echo64(&dev, 0xf0) == 0x33331111ull); /* stp x2, x3 */
    assert_true(echo64(&dev, 0xf8) == 0x2222ull);
    assert_true((echo64(&dev, 0x110) & 0xffffffffu) == 0x33331111u); /* ldp w4, w5: w4 */
    assert_true((echo64(&dev, 0x110) >> 32) == 0);                   /* w5: x2's upper half */
    assert_true(echo64(&dev, 0x208) == 0x33331111ull);               /* str x2, [x6, #8]! */
    assert_true(echo64(&dev, 0x118) == DEV_BASE + 0x208);            /* its writeback */
    assert_true(echo64(&dev, 0x120) == 0x33331111ull);               /* ldr x7, [x6], #-8 */
    assert_true(echo64(&dev, 0x128) == DEV_BASE + 0x200);            /* its writeback */
    assert_true(echo64(&dev, 0x130) == 0xa7a6a5a4a3a2a1a0ull);       /* ldp x8, x9, [sp, #-16]! */
    assert_true(echo64(&dev, 0x138) == DEV_BASE + 0x2f0);            /* SP written back */
    assert_true(vm_exit_count(vm, VM_EXIT_MMIO_EMULATED) >= 5);
    assert_int_equal(vm_stat_count(vm, VM_STAT_MMIO_BUS_ERROR), 0);
    vm_destroy(vm);
}

int main(void)
{
    native_require_kvm_arm64();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arm64_guest),
        cmocka_unit_test(test_smccc_in_vmm),
        cmocka_unit_test(test_mmio_without_syndrome),
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
