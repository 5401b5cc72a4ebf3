/*
 * test_arm64_psci.c - unit tests for src/arch/arm64/psci.c (PSCI 1.1 state
 * machine, Arm DEN0022), through the SMCCC registry as a guest reaches it.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <vmmkit/arm64_psci.h>

#define RET(v) ((uint64_t)(int64_t)(v))

/* vCPU MPIDRs: Aff0, Aff1, Aff2 and (SMC64 only) Aff3 in use. */
static const uint64_t mpidrs[] = {0x0, 0x1, 0x100, 0x10000, 0x100000000ull};
#define NR_CPUS 5u

static const arm64_psci_ram_t ram[] = {
    {0x40000000, 0x10000000},
    {0x100000000ull, 0x1000},
};

typedef struct backend {
    arm64_psci_t *psci;
    int start_ret;     /* what start_vcpu returns */
    bool run_on_start; /* start_vcpu reports the vCPU running at once */
    unsigned int starts, stops, offs, resets;
    unsigned int start_cpu, stop_cpu;
    uint64_t entry, context_id;
    int lookups;
} backend_t;

static int op_start(void *opaque, unsigned int cpu, uint64_t entry, uint64_t context_id)
{
    backend_t *b = opaque;

    __atomic_fetch_add(&b->starts, 1, __ATOMIC_SEQ_CST);
    b->start_cpu = cpu;
    b->entry = entry;
    b->context_id = context_id;
    /* Called without the module's lock: reading state or reporting progress is fine. */
    assert_int_equal(arm64_psci_cpu_state(b->psci, cpu), ARM64_PSCI_STATE_ON_PENDING);
    if (b->run_on_start)
        arm64_psci_cpu_running(b->psci, cpu);
    return b->start_ret;
}

static void op_stop(void *opaque, unsigned int cpu)
{
    backend_t *b = opaque;

    b->stops++;
    b->stop_cpu = cpu;
    /* Told before the state changes (see psci.c). */
    assert_int_equal(arm64_psci_cpu_state(b->psci, cpu), ARM64_PSCI_STATE_ON);
}

static void op_off(void *opaque)
{
    ((backend_t *)opaque)->offs++;
}

static void op_reset(void *opaque)
{
    ((backend_t *)opaque)->resets++;
}

static int op_lookup(void *opaque, uint64_t mpidr)
{
    backend_t *b = opaque;

    b->lookups++;
    /* Index = Aff0 + 2 * Aff1, two CPUs. */
    if (mpidr & ~0xffffull)
        return -1;
    return (int)((mpidr & 0xff) + 2 * ((mpidr >> 8) & 0xff));
}

static const arm64_psci_ops_t ops = {
    .start_vcpu = op_start,
    .stop_vcpu = op_stop,
    .system_off = op_off,
    .system_reset = op_reset,
};

typedef struct fixture {
    backend_t be;
    arm64_psci_t *psci;
    arm64_smccc_t *smccc;
} fixture_t;

static int setup(void **state)
{
    static fixture_t f;
    arm64_psci_config_t cfg = {
        .nr_cpus = NR_CPUS,
        .ops = &ops,
        .opaque = &f.be,
        .mpidr = mpidrs,
        .ram = ram,
        .nr_ram = 2,
    };

    memset(&f, 0, sizeof(f));
    assert_int_equal(arm64_psci_create(&cfg, &f.psci), 0);
    f.be.psci = f.psci;
    assert_int_equal(arm64_smccc_create(&f.smccc), 0);
    assert_int_equal(arm64_psci_register(f.psci, f.smccc), 0);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;

    arm64_smccc_destroy(f->smccc);
    arm64_psci_destroy(f->psci);
    return 0;
}

/* One call from vCPU @cpu through the registry. */
static arm64_smccc_action_t psci(fixture_t *f, unsigned int cpu, uint64_t fid, uint64_t a1,
                                 uint64_t a2, uint64_t a3, uint64_t *x0)
{
    arm64_smccc_call_t c = {.x = {fid, a1, a2, a3}, .cpu = cpu};
    arm64_smccc_result_t res;
    arm64_smccc_action_t act = arm64_smccc_dispatch(f->smccc, &c, &res);

    *x0 = res.x[0];
    return act;
}

static uint64_t call0(fixture_t *f, unsigned int cpu, uint64_t fid, uint64_t a1, uint64_t a2,
                      uint64_t a3)
{
    uint64_t x0;

    assert_int_equal(psci(f, cpu, fid, a1, a2, a3, &x0), ARM64_SMCCC_RESUME);
    return x0;
}

static void test_create_rejects_bad_config(void **state)
{
    backend_t be = {0};
    arm64_psci_ops_t o = ops;
    const uint64_t dup[] = {0x0, 0x1, 0x1};
    const arm64_psci_ram_t empty = {0x1000, 0};
    const arm64_psci_ram_t wraps = {0xfffffffffffff000ull, 0x2000};
    arm64_psci_config_t cfg = {
        .nr_cpus = 3,
        .ops = &o,
        .opaque = &be,
        .mpidr = mpidrs,
        .ram = ram,
        .nr_ram = 1,
    };
    arm64_psci_t *p = NULL;

    (void)state;
    assert_int_equal(arm64_psci_create(&cfg, &p), 0);
    arm64_psci_destroy(p);
    arm64_psci_destroy(NULL);

    cfg.nr_cpus = 0;
    assert_int_equal(arm64_psci_create(&cfg, &p), -EINVAL);
    cfg.nr_cpus = ARM64_PSCI_MAX_CPUS + 1;
    assert_int_equal(arm64_psci_create(&cfg, &p), -EINVAL);
    cfg.nr_cpus = 3;
    cfg.mpidr = dup;
    assert_int_equal(arm64_psci_create(&cfg, &p), -EINVAL);
    cfg.mpidr = NULL;
    assert_int_equal(arm64_psci_create(&cfg, &p), -EINVAL);
    o.mpidr_to_index = op_lookup; /* then no table is needed */
    assert_int_equal(arm64_psci_create(&cfg, &p), 0);
    arm64_psci_destroy(p);
    cfg.mpidr = mpidrs;
    cfg.nr_ram = 0;
    assert_int_equal(arm64_psci_create(&cfg, &p), -EINVAL);
    cfg.nr_ram = 1;
    cfg.ram = &empty;
    assert_int_equal(arm64_psci_create(&cfg, &p), -EINVAL);
    cfg.ram = &wraps;
    assert_int_equal(arm64_psci_create(&cfg, &p), -EINVAL);
    cfg.ram = ram;
    o.start_vcpu = NULL;
    assert_int_equal(arm64_psci_create(&cfg, &p), -EINVAL);
    o.start_vcpu = op_start;
    o.system_reset = NULL;
    assert_int_equal(arm64_psci_create(&cfg, &p), -EINVAL);
    cfg.ops = NULL;
    assert_int_equal(arm64_psci_create(&cfg, &p), -EINVAL);
    assert_int_equal(arm64_psci_create(NULL, &p), -EINVAL);
}

static void test_boot_state_and_version(void **state)
{
    fixture_t *f = *state;

    assert_int_equal(arm64_psci_cpu_state(f->psci, 0), ARM64_PSCI_STATE_ON);
    for (unsigned i = 1; i < NR_CPUS; i++)
        assert_int_equal(arm64_psci_cpu_state(f->psci, i), ARM64_PSCI_STATE_OFF);
    assert_int_equal(arm64_psci_cpu_state(f->psci, NR_CPUS), ARM64_PSCI_STATE_OFF);
    assert_int_equal(call0(f, 0, ARM64_PSCI_VERSION, 0, 0, 0), 0x10001);
    assert_int_equal(call0(f, 0, ARM64_PSCI_MIGRATE_INFO_TYPE, 0, 0, 0), 2);
    assert_string_equal(arm64_psci_state_name(ARM64_PSCI_STATE_ON), "ON");
    assert_string_equal(arm64_psci_state_name(ARM64_PSCI_STATE_OFF), "OFF");
    assert_string_equal(arm64_psci_state_name(ARM64_PSCI_STATE_ON_PENDING), "ON_PENDING");
    assert_string_equal(arm64_psci_func_name(ARM64_PSCI_CPU_ON_64), "CPU_ON_64");
    assert_string_equal(arm64_psci_func_name(ARM64_PSCI_FEATURES), "PSCI_FEATURES");
    assert_null(arm64_psci_func_name(0x8400001f));
}

static void test_cpu_on_lifecycle(void **state)
{
    fixture_t *f = *state;

    /* CPU_ON of an OFF CPU: SUCCESS, the backend is asked, the target is ON_PENDING. */
    assert_int_equal(call0(f, 0, ARM64_PSCI_CPU_ON_64, 0x100, 0x40080000, 0xc0ffee),
                     ARM64_PSCI_RET_SUCCESS);
    assert_int_equal(f->be.starts, 1);
    assert_int_equal(f->be.start_cpu, 2);
    assert_int_equal(f->be.entry, 0x40080000);
    assert_int_equal(f->be.context_id, 0xc0ffee);
    assert_int_equal(arm64_psci_cpu_state(f->psci, 2), ARM64_PSCI_STATE_ON_PENDING);
    assert_int_equal(call0(f, 0, ARM64_PSCI_AFFINITY_INFO_64, 0x100, 0, 0), 2);

    /* A second CPU_ON before it runs: ON_PENDING, no second start. */
    assert_int_equal(call0(f, 0, ARM64_PSCI_CPU_ON_64, 0x100, 0x40080000, 0),
                     RET(ARM64_PSCI_RET_ON_PENDING));
    assert_int_equal(f->be.starts, 1);

    /* The backend reports it running: ON; then CPU_ON says ALREADY_ON. */
    arm64_psci_cpu_running(f->psci, 2);
    assert_int_equal(arm64_psci_cpu_state(f->psci, 2), ARM64_PSCI_STATE_ON);
    assert_int_equal(call0(f, 0, ARM64_PSCI_AFFINITY_INFO, 0x100, 0, 0), 0);
    assert_int_equal(call0(f, 0, ARM64_PSCI_CPU_ON, 0x100, 0x40080000, 0),
                     RET(ARM64_PSCI_RET_ALREADY_ON));
    assert_int_equal(call0(f, 0, ARM64_PSCI_CPU_ON, 0x0, 0x40080000, 0),
                     RET(ARM64_PSCI_RET_ALREADY_ON)); /* the boot CPU itself */

    /* CPU_OFF from CPU 2: it stops, the backend is told, AFFINITY_INFO says OFF. */
    {
        uint64_t x0;

        assert_int_equal(psci(f, 2, ARM64_PSCI_CPU_OFF, 0, 0, 0, &x0), ARM64_SMCCC_CPU_OFF);
    }
    assert_int_equal(f->be.stops, 1);
    assert_int_equal(f->be.stop_cpu, 2);
    assert_int_equal(call0(f, 0, ARM64_PSCI_AFFINITY_INFO, 0x100, 0, 0), 1);

    /* And it can be started again. */
    f->be.run_on_start = true;
    assert_int_equal(call0(f, 3, ARM64_PSCI_CPU_ON, 0x100, 0x40000000, 7), 0);
    assert_int_equal(f->be.starts, 2);
    assert_int_equal(arm64_psci_cpu_state(f->psci, 2), ARM64_PSCI_STATE_ON);
}

/* SMC32 CPU_ON: only W1..W3 count; SMC64 reaches an Aff3 MPIDR and a high entry. */
static void test_cpu_on_conventions(void **state)
{
    fixture_t *f = *state;

    assert_int_equal(call0(f, 0, ARM64_PSCI_CPU_ON, 0xffffffff00000001ull, 0xabcdef0040000000ull,
                           0x1234567800000009ull),
                     0);
    assert_int_equal(f->be.start_cpu, 1);
    assert_int_equal(f->be.entry, 0x40000000);
    assert_int_equal(f->be.context_id, 9);

    /* Aff3 cannot be expressed in 32 bits: the SMC32 form truncates it to MPIDR 0. */
    assert_int_equal(call0(f, 0, ARM64_PSCI_CPU_ON, 0x100000000ull, 0x40000000, 0),
                     RET(ARM64_PSCI_RET_ALREADY_ON));
    assert_int_equal(
        call0(f, 0, ARM64_PSCI_CPU_ON_64, 0x100000000ull, 0x100000ffcull, 0xffffffffffffffffull),
        0);
    assert_int_equal(f->be.start_cpu, 4);
    assert_int_equal(f->be.entry, 0x100000ffcull);
    assert_int_equal(f->be.context_id, 0xffffffffffffffffull);
    assert_int_equal(call0(f, 0, ARM64_PSCI_AFFINITY_INFO_64, 0x100000000ull, 0, 0), 2);
}

static void test_cpu_on_errors(void **state)
{
    fixture_t *f = *state;

    /* Unknown MPIDR, and bits outside the affinity fields (bit 31 is RES1 in MPIDR_EL1). */
    assert_int_equal(call0(f, 0, ARM64_PSCI_CPU_ON_64, 0x2, 0x40000000, 0),
                     RET(ARM64_PSCI_RET_INVALID_PARAMETERS));
    assert_int_equal(call0(f, 0, ARM64_PSCI_CPU_ON_64, 0x80000001ull, 0x40000000, 0),
                     RET(ARM64_PSCI_RET_INVALID_PARAMETERS));
    assert_int_equal(call0(f, 0, ARM64_PSCI_CPU_ON_64, 0x1000001ull, 0x40000000, 0),
                     RET(ARM64_PSCI_RET_INVALID_PARAMETERS));
    assert_int_equal(call0(f, 0, ARM64_PSCI_CPU_ON_64, 0x10000000001ull, 0x40000000, 0),
                     RET(ARM64_PSCI_RET_INVALID_PARAMETERS));

    /* Entry points outside RAM, straddling its end, or not word aligned. */
    static const uint64_t bad_entries[] = {
        0x0, 0x3ffffffc, 0x50000000, 0x40000002, 0x4ffffffe, 0x100001000ull, 0xfffffffffffffffcull,
    };
    for (size_t i = 0; i < sizeof(bad_entries) / sizeof(bad_entries[0]); i++)
        assert_int_equal(call0(f, 0, ARM64_PSCI_CPU_ON_64, 0x1, bad_entries[i], 0),
                         RET(ARM64_PSCI_RET_INVALID_ADDRESS));
    assert_int_equal(f->be.starts, 0);
    assert_int_equal(arm64_psci_cpu_state(f->psci, 1), ARM64_PSCI_STATE_OFF);

    /* The last word of each RAM range is a valid entry. */
    assert_int_equal(call0(f, 0, ARM64_PSCI_CPU_ON_64, 0x1, 0x4ffffffc, 0), 0);
    assert_int_equal(call0(f, 0, ARM64_PSCI_CPU_ON_64, 0x100, 0x100000ffcull, 0), 0);

    /* The backend fails to start it: INTERNAL_FAILURE and the CPU is OFF again. */
    f->be.start_ret = -ENOMEM;
    assert_int_equal(call0(f, 0, ARM64_PSCI_CPU_ON, 0x10000, 0x40000000, 0),
                     RET(ARM64_PSCI_RET_INTERNAL_FAILURE));
    assert_int_equal(arm64_psci_cpu_state(f->psci, 3), ARM64_PSCI_STATE_OFF);
}

static void test_affinity_info(void **state)
{
    fixture_t *f = *state;

    assert_int_equal(call0(f, 0, ARM64_PSCI_AFFINITY_INFO, 0x0, 0, 0), 0);
    assert_int_equal(call0(f, 0, ARM64_PSCI_AFFINITY_INFO, 0x10000, 0, 0), 1);
    /* Only level 0 is implemented. */
    assert_int_equal(call0(f, 0, ARM64_PSCI_AFFINITY_INFO, 0x0, 1, 0),
                     RET(ARM64_PSCI_RET_INVALID_PARAMETERS));
    assert_int_equal(call0(f, 0, ARM64_PSCI_AFFINITY_INFO_64, 0x0, 3, 0),
                     RET(ARM64_PSCI_RET_INVALID_PARAMETERS));
    /* SMC32: the level is W2, so a 64-bit value with a zero low half is level 0. */
    assert_int_equal(call0(f, 0, ARM64_PSCI_AFFINITY_INFO, 0x0, 0x100000000ull, 0), 0);
    assert_int_equal(call0(f, 0, ARM64_PSCI_AFFINITY_INFO, 0x3, 0, 0),
                     RET(ARM64_PSCI_RET_INVALID_PARAMETERS));
}

static void test_cpu_off_and_calling_cpu(void **state)
{
    fixture_t *f = *state;
    uint64_t x0;

    /* CPU 0 may turn itself off too: there is no trusted OS to refuse it. */
    assert_int_equal(psci(f, 0, ARM64_PSCI_CPU_OFF, 0, 0, 0, &x0), ARM64_SMCCC_CPU_OFF);
    assert_int_equal(arm64_psci_cpu_state(f->psci, 0), ARM64_PSCI_STATE_OFF);
    assert_int_equal(f->be.stop_cpu, 0);

    /* A CPU that makes a call runs: ON_PENDING (or a stale OFF) becomes ON. */
    assert_int_equal(call0(f, 0, ARM64_PSCI_VERSION, 0, 0, 0), 0x10001);
    assert_int_equal(arm64_psci_cpu_state(f->psci, 0), ARM64_PSCI_STATE_ON);
    assert_int_equal(call0(f, 0, ARM64_PSCI_CPU_ON, 0x1, 0x40000000, 0), 0);
    assert_int_equal(arm64_psci_cpu_state(f->psci, 1), ARM64_PSCI_STATE_ON_PENDING);
    assert_int_equal(call0(f, 1, ARM64_PSCI_FEATURES, ARM64_PSCI_CPU_ON, 0, 0), 0);
    assert_int_equal(arm64_psci_cpu_state(f->psci, 1), ARM64_PSCI_STATE_ON);
    /* cpu_running() leaves ON and OFF alone. */
    arm64_psci_cpu_running(f->psci, 1);
    arm64_psci_cpu_running(f->psci, 3);
    arm64_psci_cpu_running(f->psci, 99);
    assert_int_equal(arm64_psci_cpu_state(f->psci, 1), ARM64_PSCI_STATE_ON);
    assert_int_equal(arm64_psci_cpu_state(f->psci, 3), ARM64_PSCI_STATE_OFF);

    /* A caller the module does not know cannot be turned off. */
    assert_int_equal(call0(f, 77, ARM64_PSCI_CPU_OFF, 0, 0, 0), RET(ARM64_PSCI_RET_DENIED));
}

static void test_system_calls(void **state)
{
    fixture_t *f = *state;
    uint64_t x0;

    assert_int_equal(psci(f, 1, ARM64_PSCI_SYSTEM_OFF, 0, 0, 0, &x0), ARM64_SMCCC_SYSTEM_OFF);
    assert_int_equal(f->be.offs, 1);
    assert_int_equal(psci(f, 0, ARM64_PSCI_SYSTEM_RESET, 0, 0, 0, &x0), ARM64_SMCCC_SYSTEM_RESET);
    assert_int_equal(f->be.resets, 1);
    /* SYSTEM_RESET2: warm reset (0) resets; other architectural types are invalid;
     * vendor types (bit 31) are not supported. */
    assert_int_equal(psci(f, 0, ARM64_PSCI_SYSTEM_RESET2, 0, 0xcafe, 0, &x0),
                     ARM64_SMCCC_SYSTEM_RESET);
    assert_int_equal(psci(f, 0, ARM64_PSCI_SYSTEM_RESET2_64, 0, 0, 0, &x0),
                     ARM64_SMCCC_SYSTEM_RESET);
    assert_int_equal(f->be.resets, 3);
    assert_int_equal(call0(f, 0, ARM64_PSCI_SYSTEM_RESET2, 1, 0, 0),
                     RET(ARM64_PSCI_RET_INVALID_PARAMETERS));
    assert_int_equal(call0(f, 0, ARM64_PSCI_SYSTEM_RESET2, 0x80000000, 0, 0),
                     RET(ARM64_PSCI_RET_NOT_SUPPORTED));
    /* SMC32: reset_type is W1. */
    assert_int_equal(psci(f, 0, ARM64_PSCI_SYSTEM_RESET2, 0x700000000ull, 0, 0, &x0),
                     ARM64_SMCCC_SYSTEM_RESET);
    assert_int_equal(f->be.resets, 4);
    assert_int_equal(f->be.offs, 1);
}

static void test_cpu_suspend(void **state)
{
    fixture_t *f = *state;
    uint64_t x0;

    /* Standby (StateType 0), any StateID and power level: SUCCESS, then wait like WFI. */
    assert_int_equal(psci(f, 0, ARM64_PSCI_CPU_SUSPEND, 0x0, 0, 0, &x0), ARM64_SMCCC_WAIT);
    assert_int_equal(x0, 0);
    assert_int_equal(psci(f, 0, ARM64_PSCI_CPU_SUSPEND, 0x0300ffff, 0, 0, &x0), ARM64_SMCCC_WAIT);
    assert_int_equal(x0, 0);
    /* Powerdown (StateType 1) is entered as standby: SUCCESS, entry point unused. */
    assert_int_equal(psci(f, 0, ARM64_PSCI_CPU_SUSPEND_64, 0x10000, 0x40001000, 5, &x0),
                     ARM64_SMCCC_WAIT);
    assert_int_equal(x0, 0);
    assert_int_equal(f->be.starts, 0);
    /* Reserved bits (31:26, 23:17) set: INVALID_PARAMETERS, no wait. */
    assert_int_equal(call0(f, 0, ARM64_PSCI_CPU_SUSPEND, 0x04000000, 0, 0),
                     RET(ARM64_PSCI_RET_INVALID_PARAMETERS));
    assert_int_equal(call0(f, 0, ARM64_PSCI_CPU_SUSPEND, 0x00020000, 0, 0),
                     RET(ARM64_PSCI_RET_INVALID_PARAMETERS));
    assert_int_equal(call0(f, 0, ARM64_PSCI_CPU_SUSPEND_64, 0x80000000, 0, 0),
                     RET(ARM64_PSCI_RET_INVALID_PARAMETERS));
}

static void test_features(void **state)
{
    static const uint32_t implemented[] = {
        ARM64_PSCI_VERSION,       ARM64_PSCI_CPU_SUSPEND,      ARM64_PSCI_CPU_SUSPEND_64,
        ARM64_PSCI_CPU_OFF,       ARM64_PSCI_CPU_ON,           ARM64_PSCI_CPU_ON_64,
        ARM64_PSCI_AFFINITY_INFO, ARM64_PSCI_AFFINITY_INFO_64, ARM64_PSCI_MIGRATE_INFO_TYPE,
        ARM64_PSCI_SYSTEM_OFF,    ARM64_PSCI_SYSTEM_RESET,     ARM64_PSCI_FEATURES,
        ARM64_PSCI_SYSTEM_RESET2, ARM64_PSCI_SYSTEM_RESET2_64, ARM64_SMCCC_VERSION,
    };
    static const uint32_t absent[] = {
        ARM64_PSCI_MIGRATE,
        ARM64_PSCI_MIGRATE_64,
        ARM64_PSCI_MIGRATE_INFO_UP_CPU,
        ARM64_PSCI_MIGRATE_INFO_UP_CPU_64,
        ARM64_PSCI_CPU_FREEZE,
        ARM64_PSCI_CPU_DEFAULT_SUSPEND,
        ARM64_PSCI_NODE_HW_STATE_64,
        ARM64_PSCI_SYSTEM_SUSPEND,
        ARM64_PSCI_SYSTEM_SUSPEND_64,
        ARM64_PSCI_SET_SUSPEND_MODE,
        ARM64_PSCI_STAT_RESIDENCY,
        ARM64_PSCI_STAT_COUNT_64,
        ARM64_PSCI_MEM_PROTECT,
        ARM64_PSCI_MEM_PROTECT_CHECK_RANGE,
        0x84000015, /* SYSTEM_OFF2 (PSCI 1.3) */
        0x8400001f,
        0xc4000000, /* SMC64 forms of SMC32-only functions */
        0xc4000002,
        0xc4000008,
        0xc400000a,
        ARM64_SMCCC_ARCH_FEATURES,
        0x84010001, /* malformed */
        0x12345678,
    };
    fixture_t *f = *state;

    for (size_t i = 0; i < sizeof(implemented) / sizeof(implemented[0]); i++) {
        assert_int_equal(call0(f, 0, ARM64_PSCI_FEATURES, implemented[i], 0, 0), 0);
        /* SMCCC_ARCH_FEATURES agrees, through the registry. */
        assert_int_equal(call0(f, 0, ARM64_SMCCC_ARCH_FEATURES, implemented[i], 0, 0), 0);
    }
    for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
        assert_int_equal(call0(f, 0, ARM64_PSCI_FEATURES, absent[i], 0, 0),
                         RET(ARM64_PSCI_RET_NOT_SUPPORTED));
        /* ...and so are the calls themselves. */
        if (arm64_psci_func_name(absent[i]) || (absent[i] >> 24) == 0xc4)
            assert_int_equal(call0(f, 0, absent[i], 0, 0, 0), RET(ARM64_PSCI_RET_NOT_SUPPORTED));
    }
    /* CPU_SUSPEND: bit 1 (extended format) and bit 0 (OS-initiated) clear. */
    assert_int_equal(arm64_psci_features(f->psci, ARM64_PSCI_CPU_SUSPEND) & 3, 0);
}

static void test_features_without_registry(void **state)
{
    backend_t be = {0};
    arm64_psci_config_t cfg = {
        .nr_cpus = 2,
        .ops = &ops,
        .opaque = &be,
        .mpidr = mpidrs,
        .ram = ram,
        .nr_ram = 1,
    };
    arm64_psci_t *p;
    arm64_smccc_call_t c = {.x = {ARM64_PSCI_FEATURES, ARM64_SMCCC_VERSION}};
    arm64_smccc_result_t res;

    (void)state;
    assert_int_equal(arm64_psci_create(&cfg, &p), 0);
    be.psci = p;
    /* Called directly, not registered anywhere: SMCCC_VERSION is nobody's. */
    assert_int_equal(arm64_psci_call(p, &c, &res), ARM64_SMCCC_RESUME);
    assert_int_equal(res.x[0], RET(ARM64_PSCI_RET_NOT_SUPPORTED));
    /* Direct calls mask SMC32 arguments too. */
    c.x[0] = ARM64_PSCI_CPU_ON;
    c.x[1] = 0xffffffff00000001ull;
    c.x[2] = 0x1111111140000000ull;
    assert_int_equal(arm64_psci_call(p, &c, &res), ARM64_SMCCC_RESUME);
    assert_int_equal(res.x[0], 0);
    assert_int_equal(be.entry, 0x40000000);
    arm64_psci_destroy(p);
}

static void test_reset(void **state)
{
    fixture_t *f = *state;
    uint64_t x0;

    assert_int_equal(call0(f, 0, ARM64_PSCI_CPU_ON, 0x1, 0x40000000, 0), 0);
    assert_int_equal(call0(f, 0, ARM64_PSCI_CPU_ON, 0x100, 0x40000000, 0), 0);
    arm64_psci_cpu_running(f->psci, 1);
    assert_int_equal(psci(f, 0, ARM64_PSCI_CPU_OFF, 0, 0, 0, &x0), ARM64_SMCCC_CPU_OFF);
    arm64_psci_reset(f->psci);
    assert_int_equal(arm64_psci_cpu_state(f->psci, 0), ARM64_PSCI_STATE_ON);
    for (unsigned i = 1; i < NR_CPUS; i++)
        assert_int_equal(arm64_psci_cpu_state(f->psci, i), ARM64_PSCI_STATE_OFF);
    /* After the reset the secondaries can be started again. */
    assert_int_equal(call0(f, 0, ARM64_PSCI_CPU_ON, 0x100, 0x40000000, 0), 0);
}

static arm64_smccc_action_t trng_call(void *opaque, const arm64_smccc_call_t *call,
                                      arm64_smccc_result_t *res)
{
    res->x[0] = 0x42;
    return ARM64_SMCCC_RESUME;
}

static void test_register_once(void **state)
{
    fixture_t *f = *state;
    arm64_smccc_service_t trng = {
        .owner = ARM64_SMCCC_OWNER_STANDARD,
        .first = 0x50,
        .last = 0x5f,
        .call = trng_call,
    };

    /* PSCI's range is taken; another standard service beside it is welcome. */
    assert_int_equal(arm64_psci_register(f->psci, f->smccc), -EEXIST);
    assert_int_equal(arm64_smccc_register(f->smccc, &trng), 0);
    assert_int_equal(call0(f, 0, 0x84000050, 0, 0, 0), 0x42);
    assert_int_equal(call0(f, 0, ARM64_PSCI_VERSION, 0, 0, 0), 0x10001);
    /* PSCI owns 0x00-0x1f only. */
    assert_int_equal(call0(f, 0, 0x84000020, 0, 0, 0), RET(ARM64_PSCI_RET_NOT_SUPPORTED));
    assert_int_equal(arm64_psci_register(NULL, f->smccc), -EINVAL);
    assert_int_equal(arm64_psci_register(f->psci, NULL), -EINVAL);
}

static void test_mpidr_callback(void **state)
{
    backend_t be = {0};
    arm64_psci_ops_t o = ops;
    arm64_psci_config_t cfg = {.nr_cpus = 4, .ops = &o, .opaque = &be, .ram = ram, .nr_ram = 1};
    arm64_psci_t *p;
    arm64_smccc_call_t c = {.x = {ARM64_PSCI_CPU_ON_64, 0x101, 0x40000000, 0}};
    arm64_smccc_result_t res;

    (void)state;
    o.mpidr_to_index = op_lookup;
    assert_int_equal(arm64_psci_create(&cfg, &p), 0);
    be.psci = p;
    arm64_psci_call(p, &c, &res);
    assert_int_equal(res.x[0], 0);
    assert_int_equal(be.start_cpu, 3); /* Aff0 1 + 2 * Aff1 1 */
    /* Out-of-range indexes from the callback are unknown MPIDRs. */
    c.x[1] = 0x0200;
    arm64_psci_call(p, &c, &res);
    assert_int_equal(res.x[0], RET(ARM64_PSCI_RET_INVALID_PARAMETERS));
    c.x[1] = 0x10000; /* the callback says -1 */
    arm64_psci_call(p, &c, &res);
    assert_int_equal(res.x[0], RET(ARM64_PSCI_RET_INVALID_PARAMETERS));
    assert_int_equal(be.lookups, 3);
    arm64_psci_destroy(p);
}

/* Several vCPU threads race to start the same CPU: exactly one start. */
typedef struct racer {
    fixture_t *f;
    unsigned int cpu;
    uint64_t x0;
} racer_t;

static void *race(void *arg)
{
    racer_t *r = arg;
    arm64_smccc_call_t c = {.x = {ARM64_PSCI_CPU_ON, 0x10000, 0x40000000, r->cpu}, .cpu = r->cpu};
    arm64_smccc_result_t res;

    arm64_smccc_dispatch(r->f->smccc, &c, &res);
    r->x0 = res.x[0];
    return NULL;
}

static void test_concurrent_cpu_on(void **state)
{
    fixture_t *f = *state;

    for (int round = 0; round < 50; round++) {
        pthread_t t[3];
        racer_t r[3];
        unsigned int success = 0, pending = 0;

        arm64_psci_reset(f->psci);
        f->be.starts = 0;
        for (unsigned i = 0; i < 3; i++) {
            r[i] = (racer_t){.f = f, .cpu = i};
            assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
        }
        for (unsigned i = 0; i < 3; i++) {
            pthread_join(t[i], NULL);
            success += r[i].x0 == 0;
            pending += r[i].x0 == RET(ARM64_PSCI_RET_ON_PENDING);
        }
        assert_int_equal(success, 1);
        assert_int_equal(pending, 2);
        assert_int_equal(f->be.starts, 1);
        assert_int_equal(arm64_psci_cpu_state(f->psci, 3), ARM64_PSCI_STATE_ON_PENDING);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_rejects_bad_config),
        cmocka_unit_test_setup_teardown(test_boot_state_and_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cpu_on_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cpu_on_conventions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cpu_on_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_affinity_info, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cpu_off_and_calling_cpu, setup, teardown),
        cmocka_unit_test_setup_teardown(test_system_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cpu_suspend, setup, teardown),
        cmocka_unit_test_setup_teardown(test_features, setup, teardown),
        cmocka_unit_test(test_features_without_registry),
        cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_once, setup, teardown),
        cmocka_unit_test(test_mpidr_callback),
        cmocka_unit_test_setup_teardown(test_concurrent_cpu_on, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
