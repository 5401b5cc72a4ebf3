/*
 * smccc.c - SMC Calling Convention function IDs and the service registry
 * (see include/vmmkit/arm64_smccc.h; Arm DEN0028, SMCCC 1.1).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vmmkit/arm64_smccc.h>

#define NR_OWNERS 64u

/* A service's range as one sortable key: owner in bits 21:16, function in 15:0. */
#define KEY(owner, func) (((uint32_t)(owner) << 16) | (uint32_t)(func))

typedef struct info_slot {
    bool set;
    arm64_smccc_service_info_t info;
} info_slot_t;

struct arm64_smccc {
    arm64_smccc_service_t *svc; /* sorted by KEY(owner, first); ranges disjoint */
    size_t nr_svc, cap_svc;
    info_slot_t info[NR_OWNERS];
    arm64_smccc_stats_t stats; /* updated with relaxed atomics */
};

arm64_smccc_fid_t arm64_smccc_decode(uint32_t fid)
{
    arm64_smccc_fid_t f = {
        .raw = fid,
        .fast = (fid & ARM64_SMCCC_FAST_CALL) != 0,
        .is64 = (fid & ARM64_SMCCC_64) != 0,
        .owner = (fid >> ARM64_SMCCC_OWNER_SHIFT) & ARM64_SMCCC_OWNER_MASK,
        .func = fid & ARM64_SMCCC_FUNC_MASK,
    };

    f.malformed = f.fast && (fid & ARM64_SMCCC_MBZ_MASK) != 0;
    return f;
}

const char *arm64_smccc_owner_name(unsigned int owner, bool fast)
{
    static const char *const fast_names[] = {
        "Arm architecture",
        "CPU service",
        "SiP",
        "OEM",
        "standard secure service",
        "standard hypervisor service",
        "vendor hypervisor service",
        "vendor EL3 monitor",
    };

    if (owner >= NR_OWNERS)
        return "invalid";
    if (!fast) /* DEN0028 2.5.2: yielding calls belong to trusted OSes */
        return owner <= 1 ? "Armv7 legacy" : "trusted OS";
    if (owner < sizeof(fast_names) / sizeof(fast_names[0]))
        return fast_names[owner];
    if (owner >= ARM64_SMCCC_OWNER_TRUSTED_OS)
        return "trusted OS";
    if (owner >= ARM64_SMCCC_OWNER_TRUSTED_APP)
        return "trusted application";
    return "reserved";
}

const char *arm64_smccc_call_name(uint32_t fid)
{
    arm64_smccc_fid_t f = arm64_smccc_decode(fid);

    switch (fid) {
    case ARM64_SMCCC_VERSION:
        return "SMCCC_VERSION";
    case ARM64_SMCCC_ARCH_FEATURES:
        return "SMCCC_ARCH_FEATURES";
    case ARM64_SMCCC_ARCH_SOC_ID:
        return "SMCCC_ARCH_SOC_ID";
    case ARM64_SMCCC_ARCH_WORKAROUND_1:
        return "SMCCC_ARCH_WORKAROUND_1";
    case ARM64_SMCCC_ARCH_WORKAROUND_2:
        return "SMCCC_ARCH_WORKAROUND_2";
    case ARM64_SMCCC_ARCH_WORKAROUND_3:
        return "SMCCC_ARCH_WORKAROUND_3";
    }
    if (!f.fast || f.is64 || f.malformed || f.owner == ARM64_SMCCC_OWNER_ARCH)
        return NULL;
    switch (f.func) {
    case ARM64_SMCCC_FUNC_CALL_COUNT:
        return "CALL_COUNT";
    case ARM64_SMCCC_FUNC_CALL_UID:
        return "CALL_UID";
    case ARM64_SMCCC_FUNC_REVISION:
        return "REVISION";
    }
    return NULL;
}

int arm64_smccc_describe(uint32_t fid, char *buf, size_t len)
{
    arm64_smccc_fid_t f = arm64_smccc_decode(fid);
    const char *name = arm64_smccc_call_name(fid);

    return snprintf(buf, len, "0x%08x (%s %s, %s, function 0x%04x%s%s%s)", fid,
                    f.fast ? "fast" : "yielding", f.is64 ? "SMC64" : "SMC32",
                    arm64_smccc_owner_name(f.owner, f.fast), f.func, name ? ", " : "",
                    name ? name : "", f.malformed ? ", malformed: bits 23:16 set" : "");
}

const char *arm64_smccc_action_name(arm64_smccc_action_t action)
{
    switch (action) {
    case ARM64_SMCCC_RESUME:
        return "RESUME";
    case ARM64_SMCCC_WAIT:
        return "WAIT";
    case ARM64_SMCCC_CPU_OFF:
        return "CPU_OFF";
    case ARM64_SMCCC_SYSTEM_OFF:
        return "SYSTEM_OFF";
    case ARM64_SMCCC_SYSTEM_RESET:
        return "SYSTEM_RESET";
    }
    return "invalid";
}

int arm64_smccc_create(arm64_smccc_t **out)
{
    arm64_smccc_t *s = calloc(1, sizeof(*s));

    if (!s)
        return -ENOMEM;
    *out = s;
    return 0;
}

void arm64_smccc_destroy(arm64_smccc_t *s)
{
    if (!s)
        return;
    free(s->svc);
    free(s);
}

/* Index of the first service whose range starts above @key. */
static size_t upper_bound(const arm64_smccc_t *s, uint32_t key)
{
    size_t lo = 0, hi = s->nr_svc;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (KEY(s->svc[mid].owner, s->svc[mid].first) <= key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static const arm64_smccc_service_t *find(const arm64_smccc_t *s, unsigned int owner,
                                         unsigned int func)
{
    size_t i = upper_bound(s, KEY(owner, func));
    const arm64_smccc_service_t *svc;

    if (i == 0)
        return NULL;
    svc = &s->svc[i - 1];
    return svc->owner == owner && func <= svc->last ? svc : NULL;
}

/* The registry's own Arm architecture calls: SMCCC_VERSION and SMCCC_ARCH_FEATURES. */
static bool is_builtin(unsigned int owner, unsigned int func)
{
    return owner == ARM64_SMCCC_OWNER_ARCH && func <= 1;
}

int arm64_smccc_register(arm64_smccc_t *s, const arm64_smccc_service_t *svc)
{
    size_t i;

    if (!s || !svc || !svc->call || svc->owner >= NR_OWNERS || svc->first > svc->last)
        return -EINVAL;
    if (svc->owner == ARM64_SMCCC_OWNER_ARCH && svc->first <= 1)
        return -EEXIST;
    i = upper_bound(s, KEY(svc->owner, svc->first));
    /* Disjoint from the range starting at or before ours and from the next one. */
    if (i > 0 && s->svc[i - 1].owner == svc->owner && s->svc[i - 1].last >= svc->first)
        return -EEXIST;
    if (i < s->nr_svc && s->svc[i].owner == svc->owner && s->svc[i].first <= svc->last)
        return -EEXIST;
    if (s->nr_svc == s->cap_svc) {
        size_t cap = s->cap_svc ? s->cap_svc * 2 : 8;
        arm64_smccc_service_t *n = realloc(s->svc, cap * sizeof(*n));

        if (!n)
            return -ENOMEM;
        s->svc = n;
        s->cap_svc = cap;
    }
    memmove(&s->svc[i + 1], &s->svc[i], (s->nr_svc - i) * sizeof(*s->svc));
    s->svc[i] = *svc;
    s->nr_svc++;
    return 0;
}

int arm64_smccc_set_service_info(arm64_smccc_t *s, unsigned int owner,
                                 const arm64_smccc_service_info_t *info)
{
    if (!s || !info || owner == ARM64_SMCCC_OWNER_ARCH || owner >= NR_OWNERS)
        return -EINVAL;
    s->info[owner].set = true;
    s->info[owner].info = *info;
    return 0;
}

/*
 * Answer a general service query from the entity's info, if it has one.
 * Returns true (and fills @res when not NULL) when answered.
 */
static bool service_query(const arm64_smccc_t *s, arm64_smccc_fid_t f, arm64_smccc_result_t *res)
{
    const arm64_smccc_service_info_t *info;

    if (f.is64 || f.owner == ARM64_SMCCC_OWNER_ARCH || !s->info[f.owner].set)
        return false;
    info = &s->info[f.owner].info;
    switch (f.func) {
    case ARM64_SMCCC_FUNC_CALL_COUNT:
        if (!info->call_count)
            return false;
        if (res)
            res->x[0] = info->call_count;
        return true;
    case ARM64_SMCCC_FUNC_CALL_UID:
        if (res)
            for (unsigned int i = 0; i < 4; i++)
                res->x[i] = info->uid[i];
        return true;
    case ARM64_SMCCC_FUNC_REVISION:
        if (res) {
            res->x[0] = info->rev_major;
            res->x[1] = info->rev_minor;
        }
        return true;
    }
    return false;
}

int32_t arm64_smccc_features(const arm64_smccc_t *s, uint32_t fid)
{
    arm64_smccc_fid_t f = arm64_smccc_decode(fid);
    const arm64_smccc_service_t *svc;

    if (!f.fast || f.malformed)
        return ARM64_SMCCC_RET_NOT_SUPPORTED;
    if (is_builtin(f.owner, f.func))
        return f.is64 ? ARM64_SMCCC_RET_NOT_SUPPORTED : ARM64_SMCCC_RET_SUCCESS;
    if (service_query(s, f, NULL))
        return ARM64_SMCCC_RET_SUCCESS;
    svc = find(s, f.owner, f.func);
    if (!svc)
        return ARM64_SMCCC_RET_NOT_SUPPORTED;
    return svc->features ? svc->features(svc->opaque, fid) : ARM64_SMCCC_RET_SUCCESS;
}

static void count(uint64_t *counter)
{
    __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

/* A 32-bit return code as the 64-bit register value (sign-extended). */
static uint64_t ret64(int32_t v)
{
    return (uint64_t)(int64_t)v;
}

arm64_smccc_action_t arm64_smccc_dispatch(arm64_smccc_t *s, const arm64_smccc_call_t *call,
                                          arm64_smccc_result_t *res)
{
    arm64_smccc_fid_t f = arm64_smccc_decode((uint32_t)call->x[0]);
    arm64_smccc_call_t c = *call;
    const arm64_smccc_service_t *svc;

    memset(res, 0, sizeof(*res));
    res->x[0] = ret64(ARM64_SMCCC_RET_NOT_SUPPORTED);
    count(&s->stats.calls);
    if (!f.fast) {
        count(&s->stats.yielding);
        return ARM64_SMCCC_RESUME;
    }
    if (f.malformed) {
        count(&s->stats.malformed);
        return ARM64_SMCCC_RESUME;
    }
    /* The function ID is W0; SMC32 arguments are W1..W7. */
    c.x[0] = f.raw;
    if (!f.is64)
        for (unsigned int i = 1; i < 8; i++)
            c.x[i] = (uint32_t)c.x[i];

    if (is_builtin(f.owner, f.func)) {
        if (f.is64)
            count(&s->stats.not_supported);
        else if (f.func == 0)
            res->x[0] = ARM64_SMCCC_VERSION_1_1;
        else
            res->x[0] = ret64(arm64_smccc_features(s, (uint32_t)c.x[1]));
        return ARM64_SMCCC_RESUME;
    }
    if (service_query(s, f, res))
        return ARM64_SMCCC_RESUME;
    svc = find(s, f.owner, f.func);
    if (!svc) {
        count(&s->stats.not_supported);
        return ARM64_SMCCC_RESUME;
    }
    return svc->call(svc->opaque, &c, res);
}

void arm64_smccc_get_stats(const arm64_smccc_t *s, arm64_smccc_stats_t *out)
{
    out->calls = __atomic_load_n(&s->stats.calls, __ATOMIC_RELAXED);
    out->not_supported = __atomic_load_n(&s->stats.not_supported, __ATOMIC_RELAXED);
    out->malformed = __atomic_load_n(&s->stats.malformed, __ATOMIC_RELAXED);
    out->yielding = __atomic_load_n(&s->stats.yielding, __ATOMIC_RELAXED);
}
