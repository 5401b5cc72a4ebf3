/*
 * test_arm64_smccc.c - unit tests for src/arch/arm64/smccc.c (SMC Calling
 * Convention function IDs and the service registry; Arm DEN0028).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <vmmkit/arm64_smccc.h>

#define NOT_SUPPORTED ((uint64_t)-1)

static void test_decode_fields(void **state)
{
    arm64_smccc_fid_t f;

    (void)state;
    f = arm64_smccc_decode(0xc4000003); /* PSCI CPU_ON, SMC64 */
    assert_int_equal(f.raw, 0xc4000003);
    assert_true(f.fast);
    assert_true(f.is64);
    assert_int_equal(f.owner, ARM64_SMCCC_OWNER_STANDARD);
    assert_int_equal(f.func, 3);
    assert_false(f.malformed);

    f = arm64_smccc_decode(0x8200ffff);
    assert_true(f.fast);
    assert_false(f.is64);
    assert_int_equal(f.owner, ARM64_SMCCC_OWNER_SIP);
    assert_int_equal(f.func, 0xffff);

    f = arm64_smccc_decode(0x32000004); /* an OP-TEE style yielding call */
    assert_false(f.fast);
    assert_false(f.is64);
    assert_int_equal(f.owner, 50);
    assert_int_equal(f.func, 4);
    assert_false(f.malformed);

    f = arm64_smccc_decode(0x7f00abcd);
    assert_false(f.fast);
    assert_true(f.is64);
    assert_int_equal(f.owner, 63);

    assert_int_equal(ARM64_SMCCC_FAST_ID(true, 4, 3), 0xc4000003);
    assert_int_equal(ARM64_SMCCC_FAST_ID(false, 0, 0), ARM64_SMCCC_VERSION);
    assert_int_equal(ARM64_SMCCC_FAST_ID(false, 6, 0xff01), 0x8600ff01);
}

/* Bits 23:16 must be zero in a fast call; yielding calls do not use the rule. */
static void test_decode_malformed(void **state)
{
    (void)state;
    for (unsigned b = 16; b < 24; b++) {
        assert_true(arm64_smccc_decode(0x84000000u | 1u << b).malformed);
        assert_true(arm64_smccc_decode(0xc4000000u | 1u << b).malformed);
        assert_false(arm64_smccc_decode(0x32000000u | 1u << b).malformed);
    }
    assert_false(arm64_smccc_decode(0x8400ffff).malformed);
    assert_false(arm64_smccc_decode(0xbf00ffff).malformed);
}

static void test_owner_names(void **state)
{
    static const char *const fast_names[8] = {
        "Arm architecture",
        "CPU service",
        "SiP",
        "OEM",
        "standard secure service",
        "standard hypervisor service",
        "vendor hypervisor service",
        "vendor EL3 monitor",
    };

    (void)state;
    for (unsigned o = 0; o < 64; o++) {
        const char *fast = arm64_smccc_owner_name(o, true);
        const char *yield = arm64_smccc_owner_name(o, false);

        if (o < 8)
            assert_string_equal(fast, fast_names[o]);
        else if (o < 48)
            assert_string_equal(fast, "reserved");
        else if (o < 50)
            assert_string_equal(fast, "trusted application");
        else
            assert_string_equal(fast, "trusted OS");
        assert_string_equal(yield, o < 2 ? "Armv7 legacy" : "trusted OS");
        /* The owner survives a round trip through a function ID. */
        assert_int_equal(arm64_smccc_decode(ARM64_SMCCC_FAST_ID(o & 1, o, 0)).owner, o);
    }
    assert_string_equal(arm64_smccc_owner_name(64, true), "invalid");
}

static void test_names_and_describe(void **state)
{
    char buf[160];
    int n;

    (void)state;
    assert_string_equal(arm64_smccc_call_name(0x80000000), "SMCCC_VERSION");
    assert_string_equal(arm64_smccc_call_name(0x80000001), "SMCCC_ARCH_FEATURES");
    assert_string_equal(arm64_smccc_call_name(0x80000002), "SMCCC_ARCH_SOC_ID");
    assert_string_equal(arm64_smccc_call_name(0x80008000), "SMCCC_ARCH_WORKAROUND_1");
    assert_string_equal(arm64_smccc_call_name(0x80007fff), "SMCCC_ARCH_WORKAROUND_2");
    assert_string_equal(arm64_smccc_call_name(0x80003fff), "SMCCC_ARCH_WORKAROUND_3");
    assert_string_equal(arm64_smccc_call_name(0x8600ff01), "CALL_UID");
    assert_string_equal(arm64_smccc_call_name(0x8400ff00), "CALL_COUNT");
    assert_string_equal(arm64_smccc_call_name(0x8200ff03), "REVISION");
    assert_null(arm64_smccc_call_name(0xc600ff01)); /* the queries are SMC32 only */
    assert_null(arm64_smccc_call_name(0x8000ff01)); /* not for the Arm architecture entity */
    assert_null(arm64_smccc_call_name(0x84000003));

    n = arm64_smccc_describe(0xc4000003, buf, sizeof(buf));
    assert_string_equal(buf, "0xc4000003 (fast SMC64, standard secure service, function 0x0003)");
    assert_int_equal(n, strlen(buf));
    arm64_smccc_describe(0x80000000, buf, sizeof(buf));
    assert_string_equal(
        buf, "0x80000000 (fast SMC32, Arm architecture, function 0x0000, SMCCC_VERSION)");
    arm64_smccc_describe(0x84010000, buf, sizeof(buf));
    assert_string_equal(buf, "0x84010000 (fast SMC32, standard secure service, function 0x0000, "
                             "malformed: bits 23:16 set)");
    arm64_smccc_describe(0x32000004, buf, sizeof(buf));
    assert_string_equal(buf, "0x32000004 (yielding SMC32, trusted OS, function 0x0004)");
    assert_string_equal(arm64_smccc_action_name(ARM64_SMCCC_RESUME), "RESUME");
    assert_string_equal(arm64_smccc_action_name(ARM64_SMCCC_WAIT), "WAIT");
    assert_string_equal(arm64_smccc_action_name(ARM64_SMCCC_CPU_OFF), "CPU_OFF");
    assert_string_equal(arm64_smccc_action_name(ARM64_SMCCC_SYSTEM_OFF), "SYSTEM_OFF");
    assert_string_equal(arm64_smccc_action_name(ARM64_SMCCC_SYSTEM_RESET), "SYSTEM_RESET");
}

/* A service that records its last call and answers with its function number. */
typedef struct recorder {
    unsigned int calls;
    arm64_smccc_call_t last;
    arm64_smccc_action_t action;
    int32_t features;
} recorder_t;

static arm64_smccc_action_t record(void *opaque, const arm64_smccc_call_t *call,
                                   arm64_smccc_result_t *res)
{
    recorder_t *r = opaque;

    /* The dispatcher's defaults. */
    assert_int_equal(res->x[0], NOT_SUPPORTED);
    assert_int_equal(res->x[1], 0);
    assert_int_equal(res->x[2], 0);
    assert_int_equal(res->x[3], 0);
    r->calls++;
    r->last = *call;
    res->x[0] = call->x[0] & 0xffff;
    res->x[1] = call->x[1];
    res->x[2] = call->x[7];
    res->x[3] = call->cpu;
    return r->action;
}

static int32_t record_features(void *opaque, uint32_t fid)
{
    recorder_t *r = opaque;

    return fid & 1 ? r->features : ARM64_SMCCC_RET_NOT_SUPPORTED;
}

static arm64_smccc_action_t call(arm64_smccc_t *s, uint64_t x0, uint64_t x1,
                                 arm64_smccc_result_t *res)
{
    arm64_smccc_call_t c = {.x = {x0, x1}, .cpu = 2};

    return arm64_smccc_dispatch(s, &c, res);
}

static void test_builtin_calls(void **state)
{
    arm64_smccc_t *s;
    arm64_smccc_result_t res;
    arm64_smccc_stats_t st;

    (void)state;
    assert_int_equal(arm64_smccc_create(&s), 0);
    assert_int_equal(call(s, ARM64_SMCCC_VERSION, 0, &res), ARM64_SMCCC_RESUME);
    assert_int_equal(res.x[0], 0x10001);
    assert_int_equal(res.x[1], 0);

    /* ARCH_FEATURES: the two built-ins are there, nothing else yet. */
    call(s, ARM64_SMCCC_ARCH_FEATURES, ARM64_SMCCC_VERSION, &res);
    assert_int_equal(res.x[0], 0);
    call(s, ARM64_SMCCC_ARCH_FEATURES, ARM64_SMCCC_ARCH_FEATURES, &res);
    assert_int_equal(res.x[0], 0);
    call(s, ARM64_SMCCC_ARCH_FEATURES, ARM64_SMCCC_ARCH_WORKAROUND_1, &res);
    assert_int_equal(res.x[0], NOT_SUPPORTED);
    call(s, ARM64_SMCCC_ARCH_FEATURES, 0x84000000, &res);
    assert_int_equal(res.x[0], NOT_SUPPORTED);
    call(s, ARM64_SMCCC_ARCH_FEATURES, 0xc0000000, &res); /* no SMC64 SMCCC_VERSION */
    assert_int_equal(res.x[0], NOT_SUPPORTED);
    /* SMC64 encodings of the built-ins do not exist. */
    call(s, 0xc0000000, 0, &res);
    assert_int_equal(res.x[0], NOT_SUPPORTED);
    call(s, 0xc0000001, ARM64_SMCCC_VERSION, &res);
    assert_int_equal(res.x[0], NOT_SUPPORTED);
    /* ARCH_FEATURES is SMC32: the queried ID is W1, the upper half of X1 is ignored. */
    call(s, ARM64_SMCCC_ARCH_FEATURES, 0xffffffff00000000ull | ARM64_SMCCC_VERSION, &res);
    assert_int_equal(res.x[0], 0);
    /* W0 is the function ID: the upper half of X0 is ignored too. */
    call(s, 0x1234567800000000ull | ARM64_SMCCC_VERSION, 0, &res);
    assert_int_equal(res.x[0], 0x10001);

    arm64_smccc_get_stats(s, &st);
    assert_int_equal(st.calls, 10);
    assert_int_equal(st.not_supported, 2);
    assert_int_equal(st.malformed, 0);
    arm64_smccc_destroy(s);
    arm64_smccc_destroy(NULL);
}

static void test_dispatch_registered(void **state)
{
    recorder_t sip = {0}, oem = {.action = ARM64_SMCCC_WAIT};
    arm64_smccc_service_t svc = {
        .name = "sip",
        .owner = ARM64_SMCCC_OWNER_SIP,
        .first = 0x10,
        .last = 0x1f,
        .call = record,
        .opaque = &sip,
    };
    arm64_smccc_t *s;
    arm64_smccc_result_t res;
    arm64_smccc_call_t c = {.x = {0xc2000011, 1, 2, 3, 4, 5, 6, 7}, .cpu = 3};
    arm64_smccc_stats_t st;

    (void)state;
    assert_int_equal(arm64_smccc_create(&s), 0);
    assert_int_equal(arm64_smccc_register(s, &svc), 0);
    svc = (arm64_smccc_service_t){.name = "oem",
                                  .owner = ARM64_SMCCC_OWNER_OEM,
                                  .first = 0,
                                  .last = 0xffff,
                                  .call = record,
                                  .opaque = &oem};
    assert_int_equal(arm64_smccc_register(s, &svc), 0);

    /* SMC64 call: every argument register arrives as is. */
    assert_int_equal(arm64_smccc_dispatch(s, &c, &res), ARM64_SMCCC_RESUME);
    assert_int_equal(sip.calls, 1);
    assert_int_equal(sip.last.x[0], 0xc2000011);
    for (unsigned i = 1; i < 8; i++)
        assert_int_equal(sip.last.x[i], i);
    assert_int_equal(sip.last.cpu, 3);
    assert_int_equal(res.x[0], 0x11);
    assert_int_equal(res.x[1], 1);
    assert_int_equal(res.x[2], 7);
    assert_int_equal(res.x[3], 3);

    /* Both ends of the range, both conventions. */
    call(s, 0x82000010, 0, &res);
    assert_int_equal(res.x[0], 0x10);
    call(s, 0xc200001f, 0, &res);
    assert_int_equal(res.x[0], 0x1f);
    assert_int_equal(sip.calls, 3);
    /* Just outside, and another entity's number: nobody. */
    call(s, 0x8200000f, 0, &res);
    assert_int_equal(res.x[0], NOT_SUPPORTED);
    call(s, 0x82000020, 0, &res);
    assert_int_equal(res.x[0], NOT_SUPPORTED);
    call(s, 0x81000010, 0, &res);
    assert_int_equal(res.x[0], NOT_SUPPORTED);
    assert_int_equal(sip.calls, 3);

    /* The handler's action comes back unchanged. */
    assert_int_equal(call(s, 0x8300abcd, 0, &res), ARM64_SMCCC_WAIT);
    assert_int_equal(oem.calls, 1);
    assert_int_equal(res.x[0], 0xabcd);

    /* ARCH_FEATURES answers from the registry: no features callback = SUCCESS. */
    call(s, ARM64_SMCCC_ARCH_FEATURES, 0x82000015, &res);
    assert_int_equal(res.x[0], 0);
    call(s, ARM64_SMCCC_ARCH_FEATURES, 0xc2000015, &res);
    assert_int_equal(res.x[0], 0);
    call(s, ARM64_SMCCC_ARCH_FEATURES, 0x82000020, &res);
    assert_int_equal(res.x[0], NOT_SUPPORTED);
    call(s, ARM64_SMCCC_ARCH_FEATURES, 0x82010015, &res); /* malformed ID */
    assert_int_equal(res.x[0], NOT_SUPPORTED);
    call(s, ARM64_SMCCC_ARCH_FEATURES, 0x02000015, &res); /* yielding */
    assert_int_equal(res.x[0], NOT_SUPPORTED);
    assert_int_equal(arm64_smccc_features(s, 0x83001234), 0);

    arm64_smccc_get_stats(s, &st);
    assert_int_equal(st.not_supported, 3);
    arm64_smccc_destroy(s);
}

/* SMC32: only W1..W7 are significant; the dispatcher masks them for the handler. */
static void test_smc32_arguments_masked(void **state)
{
    recorder_t r = {0};
    arm64_smccc_service_t svc = {
        .owner = ARM64_SMCCC_OWNER_VENDOR_HYP,
        .first = 0,
        .last = 0xfeff,
        .call = record,
        .opaque = &r,
    };
    arm64_smccc_t *s;
    arm64_smccc_result_t res;
    arm64_smccc_call_t c = {.x = {0xffffffff86000001ull}};

    (void)state;
    for (unsigned i = 1; i < 8; i++)
        c.x[i] = 0xdeadbeef00000000ull | i;
    assert_int_equal(arm64_smccc_create(&s), 0);
    assert_int_equal(arm64_smccc_register(s, &svc), 0);
    arm64_smccc_dispatch(s, &c, &res);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.last.x[0], 0x86000001); /* W0 */
    for (unsigned i = 1; i < 8; i++)
        assert_int_equal(r.last.x[i], i);
    /* The caller's copy is untouched. */
    assert_int_equal(c.x[1], 0xdeadbeef00000001ull);

    /* The same registers in an SMC64 call arrive whole. */
    c.x[0] = 0xc6000001;
    arm64_smccc_dispatch(s, &c, &res);
    for (unsigned i = 1; i < 8; i++)
        assert_int_equal(r.last.x[i], 0xdeadbeef00000000ull | i);
    arm64_smccc_destroy(s);
}

static void test_malformed_and_yielding(void **state)
{
    recorder_t r = {0};
    arm64_smccc_service_t svc = {
        .owner = ARM64_SMCCC_OWNER_STANDARD,
        .first = 0,
        .last = 0x1f,
        .call = record,
        .opaque = &r,
    };
    arm64_smccc_t *s;
    arm64_smccc_result_t res;
    arm64_smccc_stats_t st;

    (void)state;
    assert_int_equal(arm64_smccc_create(&s), 0);
    assert_int_equal(arm64_smccc_register(s, &svc), 0);
    for (unsigned b = 16; b < 24; b++) {
        assert_int_equal(call(s, 0x84000003u | 1u << b, 0, &res), ARM64_SMCCC_RESUME);
        assert_int_equal(res.x[0], NOT_SUPPORTED);
    }
    call(s, 0x04000003, 0, &res); /* yielding form of a registered number */
    assert_int_equal(res.x[0], NOT_SUPPORTED);
    call(s, 0x80010000, 0, &res); /* malformed SMCCC_VERSION */
    assert_int_equal(res.x[0], NOT_SUPPORTED);
    assert_int_equal(r.calls, 0);
    call(s, 0x84000003, 0, &res);
    assert_int_equal(r.calls, 1);

    arm64_smccc_get_stats(s, &st);
    assert_int_equal(st.calls, 11);
    assert_int_equal(st.malformed, 9);
    assert_int_equal(st.yielding, 1);
    assert_int_equal(st.not_supported, 0);
    arm64_smccc_destroy(s);
}

static void test_register_rules(void **state)
{
    recorder_t r = {0};
    arm64_smccc_service_t svc = {
        .owner = 4, .first = 0x10, .last = 0x1f, .call = record, .opaque = &r};
    arm64_smccc_t *s;
    arm64_smccc_result_t res;

    (void)state;
    assert_int_equal(arm64_smccc_create(&s), 0);
    assert_int_equal(arm64_smccc_register(s, &svc), 0);
    /* Overlaps from either side, inside, around, equal. */
    svc.first = 0x1f, svc.last = 0x20;
    assert_int_equal(arm64_smccc_register(s, &svc), -EEXIST);
    svc.first = 0x00, svc.last = 0x10;
    assert_int_equal(arm64_smccc_register(s, &svc), -EEXIST);
    svc.first = 0x12, svc.last = 0x13;
    assert_int_equal(arm64_smccc_register(s, &svc), -EEXIST);
    svc.first = 0x00, svc.last = 0xffff;
    assert_int_equal(arm64_smccc_register(s, &svc), -EEXIST);
    svc.first = 0x10, svc.last = 0x1f;
    assert_int_equal(arm64_smccc_register(s, &svc), -EEXIST);
    /* Adjacent ranges and the same numbers in another entity are fine. */
    svc.first = 0x00, svc.last = 0x0f;
    assert_int_equal(arm64_smccc_register(s, &svc), 0);
    svc.first = 0x20, svc.last = 0x20;
    assert_int_equal(arm64_smccc_register(s, &svc), 0);
    svc.owner = 5, svc.first = 0x10, svc.last = 0x1f;
    assert_int_equal(arm64_smccc_register(s, &svc), 0);
    /* The registry's own calls are taken; SOC_ID (function 2) is free. */
    svc.owner = 0, svc.first = 0, svc.last = 0;
    assert_int_equal(arm64_smccc_register(s, &svc), -EEXIST);
    svc.first = 1, svc.last = 5;
    assert_int_equal(arm64_smccc_register(s, &svc), -EEXIST);
    svc.first = 2, svc.last = 2;
    assert_int_equal(arm64_smccc_register(s, &svc), 0);
    call(s, ARM64_SMCCC_ARCH_SOC_ID, 0, &res);
    assert_int_equal(res.x[0], 2);
    /* Bad arguments. */
    svc.owner = 64, svc.first = 0x100, svc.last = 0x100;
    assert_int_equal(arm64_smccc_register(s, &svc), -EINVAL);
    svc.owner = 3, svc.first = 9, svc.last = 8;
    assert_int_equal(arm64_smccc_register(s, &svc), -EINVAL);
    svc.first = 8, svc.call = NULL;
    assert_int_equal(arm64_smccc_register(s, &svc), -EINVAL);
    assert_int_equal(arm64_smccc_register(s, NULL), -EINVAL);
    arm64_smccc_destroy(s);
}

/* Many services registered out of order: each boundary reaches the right one. */
static void test_many_services(void **state)
{
    recorder_t r[40] = {{0}};
    arm64_smccc_t *s;
    arm64_smccc_result_t res;
    unsigned order[40];

    (void)state;
    for (unsigned i = 0; i < 40; i++)
        order[i] = (i * 17) % 40; /* a permutation */
    assert_int_equal(arm64_smccc_create(&s), 0);
    for (unsigned k = 0; k < 40; k++) {
        unsigned i = order[k];
        arm64_smccc_service_t svc = {
            .owner = 1 + i % 4,
            .first = (uint16_t)(0x100 * (i / 4)),
            .last = (uint16_t)(0x100 * (i / 4) + 0x7f),
            .call = record,
            .opaque = &r[i],
        };

        assert_int_equal(arm64_smccc_register(s, &svc), 0);
    }
    for (unsigned i = 0; i < 40; i++) {
        uint32_t base = ARM64_SMCCC_FAST_ID(false, 1 + i % 4, 0x100 * (i / 4));

        call(s, base, 0, &res);
        call(s, base + 0x7f, 0, &res);
        assert_int_equal(r[i].calls, 2);
        call(s, base + 0x80, 0, &res);
        assert_int_equal(res.x[0], NOT_SUPPORTED);
        assert_int_equal(r[i].calls, 2);
    }
    arm64_smccc_destroy(s);
}

static void test_features_callback(void **state)
{
    recorder_t r = {.features = 0x5};
    arm64_smccc_service_t svc = {
        .owner = ARM64_SMCCC_OWNER_ARCH,
        .first = 0x3fff,
        .last = 0x8000,
        .call = record,
        .features = record_features,
        .opaque = &r,
    };
    arm64_smccc_t *s;
    arm64_smccc_result_t res;

    (void)state;
    assert_int_equal(arm64_smccc_create(&s), 0);
    assert_int_equal(arm64_smccc_register(s, &svc), 0);
    /* The callback answers odd function numbers: WORKAROUND_3 (0x3fff), WORKAROUND_2 (0x7fff). */
    call(s, ARM64_SMCCC_ARCH_FEATURES, ARM64_SMCCC_ARCH_WORKAROUND_3, &res);
    assert_int_equal(res.x[0], 5);
    r.features = ARM64_SMCCC_RET_NOT_REQUIRED;
    call(s, ARM64_SMCCC_ARCH_FEATURES, ARM64_SMCCC_ARCH_WORKAROUND_2, &res);
    assert_int_equal(res.x[0], (uint64_t)-2); /* sign-extended */
    assert_int_equal(arm64_smccc_features(s, ARM64_SMCCC_ARCH_WORKAROUND_2),
                     ARM64_SMCCC_RET_NOT_REQUIRED);
    /* WORKAROUND_1 (0x8000, even) is in the range but the callback declines. */
    call(s, ARM64_SMCCC_ARCH_FEATURES, ARM64_SMCCC_ARCH_WORKAROUND_1, &res);
    assert_int_equal(res.x[0], NOT_SUPPORTED);
    /* Outside the range: nobody. */
    call(s, ARM64_SMCCC_ARCH_FEATURES, 0x80008001, &res);
    assert_int_equal(res.x[0], NOT_SUPPORTED);
    /* The call itself reaches the handler. */
    call(s, ARM64_SMCCC_ARCH_WORKAROUND_1, 0, &res);
    assert_int_equal(r.calls, 1);
    assert_int_equal(res.x[0], 0x8000);
    arm64_smccc_destroy(s);
}

static void test_service_queries(void **state)
{
    arm64_smccc_service_info_t info = {
        .uid = {0x11111111, 0x22222222, 0x33333333, 0x44444444},
        .rev_major = 1,
        .rev_minor = 3,
    };
    arm64_smccc_t *s;
    arm64_smccc_result_t res;

    (void)state;
    assert_int_equal(arm64_smccc_create(&s), 0);
    /* Without info: nothing answers. */
    call(s, 0x8200ff01, 0, &res);
    assert_int_equal(res.x[0], NOT_SUPPORTED);

    assert_int_equal(arm64_smccc_set_service_info(s, ARM64_SMCCC_OWNER_SIP, &info), 0);
    call(s, 0x8200ff01, 0, &res); /* SiP Call UID */
    assert_int_equal(res.x[0], 0x11111111);
    assert_int_equal(res.x[1], 0x22222222);
    assert_int_equal(res.x[2], 0x33333333);
    assert_int_equal(res.x[3], 0x44444444);
    call(s, 0x8200ff03, 0, &res); /* Revision */
    assert_int_equal(res.x[0], 1);
    assert_int_equal(res.x[1], 3);
    call(s, 0x8200ff00, 0, &res); /* Call Count: not given */
    assert_int_equal(res.x[0], NOT_SUPPORTED);
    call(s, 0x8200ff02, 0, &res); /* reserved */
    assert_int_equal(res.x[0], NOT_SUPPORTED);
    call(s, 0xc200ff01, 0, &res); /* the queries are SMC32 */
    assert_int_equal(res.x[0], NOT_SUPPORTED);
    call(s, 0x8300ff01, 0, &res); /* OEM has no info */
    assert_int_equal(res.x[0], NOT_SUPPORTED);
    call(s, ARM64_SMCCC_ARCH_FEATURES, 0x8200ff01, &res);
    assert_int_equal(res.x[0], 0);
    call(s, ARM64_SMCCC_ARCH_FEATURES, 0x8200ff00, &res);
    assert_int_equal(res.x[0], NOT_SUPPORTED);

    info.call_count = 21;
    assert_int_equal(arm64_smccc_set_service_info(s, ARM64_SMCCC_OWNER_STANDARD, &info), 0);
    call(s, 0x8400ff00, 0, &res);
    assert_int_equal(res.x[0], 21);

    assert_int_equal(arm64_smccc_set_service_info(s, ARM64_SMCCC_OWNER_ARCH, &info), -EINVAL);
    assert_int_equal(arm64_smccc_set_service_info(s, 64, &info), -EINVAL);
    assert_int_equal(arm64_smccc_set_service_info(s, 3, NULL), -EINVAL);
    arm64_smccc_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_fields),
        cmocka_unit_test(test_decode_malformed),
        cmocka_unit_test(test_owner_names),
        cmocka_unit_test(test_names_and_describe),
        cmocka_unit_test(test_builtin_calls),
        cmocka_unit_test(test_dispatch_registered),
        cmocka_unit_test(test_smc32_arguments_masked),
        cmocka_unit_test(test_malformed_and_yielding),
        cmocka_unit_test(test_register_rules),
        cmocka_unit_test(test_many_services),
        cmocka_unit_test(test_features_callback),
        cmocka_unit_test(test_service_queries),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
