/*
 * psci.c - PSCI 1.1 (Arm DEN0022) as a state machine over a VM's vCPUs
 * (see include/vmmkit/arm64_psci.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <vmmkit/arm64_psci.h>

/* CPU_SUSPEND power_state bits that must be zero in the original format. */
#define POWER_STATE_RESERVED                                                                       \
    (~(ARM64_PSCI_POWER_STATE_ID_MASK | ARM64_PSCI_POWER_STATE_TYPE_POWERDOWN |                    \
       ARM64_PSCI_POWER_STATE_LEVEL_MASK))

typedef struct mpidr_slot {
    uint64_t mpidr; /* affinity bits only */
    unsigned int index;
} mpidr_slot_t;

struct arm64_psci {
    pthread_mutex_t lock;      /* guards state[] */
    arm64_psci_state_t *state; /* nr_cpus entries */
    unsigned int nr_cpus;
    const arm64_psci_ops_t *ops;
    void *opaque;
    mpidr_slot_t *map; /* sorted by mpidr; NULL when ops->mpidr_to_index is used */
    arm64_psci_ram_t *ram;
    size_t nr_ram;
    arm64_smccc_t *smccc; /* the registry we answer SMCCC_VERSION for, or NULL */
};

static int cmp_slot(const void *a, const void *b)
{
    const mpidr_slot_t *x = a, *y = b;

    return x->mpidr < y->mpidr ? -1 : x->mpidr > y->mpidr;
}

static bool config_ok(const arm64_psci_config_t *cfg)
{
    const arm64_psci_ops_t *ops = cfg->ops;

    if (cfg->nr_cpus == 0 || cfg->nr_cpus > ARM64_PSCI_MAX_CPUS)
        return false;
    if (!ops || !ops->start_vcpu || !ops->stop_vcpu || !ops->system_off || !ops->system_reset)
        return false;
    if (!ops->mpidr_to_index && !cfg->mpidr)
        return false;
    if (!cfg->ram || cfg->nr_ram == 0)
        return false;
    for (size_t i = 0; i < cfg->nr_ram; i++)
        if (cfg->ram[i].size == 0 || cfg->ram[i].base + (cfg->ram[i].size - 1) < cfg->ram[i].base)
            return false;
    return true;
}

int arm64_psci_create(const arm64_psci_config_t *cfg, arm64_psci_t **out)
{
    arm64_psci_t *p;

    if (!cfg || !out || !config_ok(cfg))
        return -EINVAL;
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    pthread_mutex_init(&p->lock, NULL);
    p->nr_cpus = cfg->nr_cpus;
    p->ops = cfg->ops;
    p->opaque = cfg->opaque;
    p->nr_ram = cfg->nr_ram;
    p->state = calloc(cfg->nr_cpus, sizeof(*p->state));
    p->ram = calloc(cfg->nr_ram, sizeof(*p->ram));
    if (!cfg->ops->mpidr_to_index)
        p->map = calloc(cfg->nr_cpus, sizeof(*p->map));
    if (!p->state || !p->ram || (!cfg->ops->mpidr_to_index && !p->map)) {
        arm64_psci_destroy(p);
        return -ENOMEM;
    }
    memcpy(p->ram, cfg->ram, cfg->nr_ram * sizeof(*p->ram));
    if (p->map) {
        for (unsigned int i = 0; i < cfg->nr_cpus; i++)
            p->map[i] = (mpidr_slot_t){cfg->mpidr[i] & ARM64_PSCI_MPIDR_AFFINITY_MASK, i};
        qsort(p->map, cfg->nr_cpus, sizeof(*p->map), cmp_slot);
        for (unsigned int i = 1; i < cfg->nr_cpus; i++) {
            if (p->map[i].mpidr == p->map[i - 1].mpidr) {
                arm64_psci_destroy(p);
                return -EINVAL;
            }
        }
    }
    arm64_psci_reset(p);
    *out = p;
    return 0;
}

void arm64_psci_destroy(arm64_psci_t *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->lock);
    free(p->state);
    free(p->ram);
    free(p->map);
    free(p);
}

void arm64_psci_reset(arm64_psci_t *p)
{
    pthread_mutex_lock(&p->lock);
    for (unsigned int i = 0; i < p->nr_cpus; i++)
        p->state[i] = i == 0 ? ARM64_PSCI_STATE_ON : ARM64_PSCI_STATE_OFF;
    pthread_mutex_unlock(&p->lock);
}

void arm64_psci_cpu_running(arm64_psci_t *p, unsigned int cpu)
{
    if (cpu >= p->nr_cpus)
        return;
    pthread_mutex_lock(&p->lock);
    if (p->state[cpu] == ARM64_PSCI_STATE_ON_PENDING)
        p->state[cpu] = ARM64_PSCI_STATE_ON;
    pthread_mutex_unlock(&p->lock);
}

arm64_psci_state_t arm64_psci_cpu_state(arm64_psci_t *p, unsigned int cpu)
{
    arm64_psci_state_t s;

    if (cpu >= p->nr_cpus)
        return ARM64_PSCI_STATE_OFF;
    pthread_mutex_lock(&p->lock);
    s = p->state[cpu];
    pthread_mutex_unlock(&p->lock);
    return s;
}

/* The vCPU index of @mpidr, or -1.  Bits outside the affinity fields fail. */
static int lookup(const arm64_psci_t *p, uint64_t mpidr)
{
    size_t lo = 0, hi = p->nr_cpus;

    if (mpidr & ~ARM64_PSCI_MPIDR_AFFINITY_MASK)
        return -1;
    if (p->ops->mpidr_to_index) {
        int i = p->ops->mpidr_to_index(p->opaque, mpidr);

        return i >= 0 && (unsigned int)i < p->nr_cpus ? i : -1;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (p->map[mid].mpidr == mpidr)
            return (int)p->map[mid].index;
        if (p->map[mid].mpidr < mpidr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* A CPU_ON entry point: word aligned (A64 code) with its instruction in guest RAM. */
static bool entry_ok(const arm64_psci_t *p, uint64_t entry)
{
    if (entry & 3)
        return false;
    for (size_t i = 0; i < p->nr_ram; i++) {
        uint64_t off = entry - p->ram[i].base;

        if (entry >= p->ram[i].base && off < p->ram[i].size && p->ram[i].size - off >= 4)
            return true;
    }
    return false;
}

int32_t arm64_psci_features(const arm64_psci_t *p, uint32_t fid)
{
    switch (fid) {
    case ARM64_PSCI_VERSION:
    case ARM64_PSCI_CPU_SUSPEND: /* bit 1 = 0: original format; bit 0 = 0: no OS-initiated */
    case ARM64_PSCI_CPU_SUSPEND_64:
    case ARM64_PSCI_CPU_OFF:
    case ARM64_PSCI_CPU_ON:
    case ARM64_PSCI_CPU_ON_64:
    case ARM64_PSCI_AFFINITY_INFO:
    case ARM64_PSCI_AFFINITY_INFO_64:
    case ARM64_PSCI_MIGRATE_INFO_TYPE:
    case ARM64_PSCI_SYSTEM_OFF:
    case ARM64_PSCI_SYSTEM_RESET:
    case ARM64_PSCI_FEATURES:
    case ARM64_PSCI_SYSTEM_RESET2:
    case ARM64_PSCI_SYSTEM_RESET2_64:
        return ARM64_PSCI_RET_SUCCESS;
    case ARM64_SMCCC_VERSION: /* DEN0022 "PSCI_FEATURES": SMCCC_VERSION may be queried */
        return p->smccc ? ARM64_PSCI_RET_SUCCESS : ARM64_PSCI_RET_NOT_SUPPORTED;
    default:
        return ARM64_PSCI_RET_NOT_SUPPORTED;
    }
}

static uint64_t ret64(int32_t v)
{
    return (uint64_t)(int64_t)v;
}

static int32_t cpu_on(arm64_psci_t *p, uint64_t target, uint64_t entry, uint64_t context_id)
{
    int idx = lookup(p, target);
    arm64_psci_state_t old;

    if (idx < 0)
        return ARM64_PSCI_RET_INVALID_PARAMETERS;
    if (!entry_ok(p, entry))
        return ARM64_PSCI_RET_INVALID_ADDRESS;
    pthread_mutex_lock(&p->lock);
    old = p->state[idx];
    if (old == ARM64_PSCI_STATE_OFF)
        p->state[idx] = ARM64_PSCI_STATE_ON_PENDING;
    pthread_mutex_unlock(&p->lock);
    if (old == ARM64_PSCI_STATE_ON)
        return ARM64_PSCI_RET_ALREADY_ON;
    if (old == ARM64_PSCI_STATE_ON_PENDING)
        return ARM64_PSCI_RET_ON_PENDING;
    /* We own the OFF -> ON_PENDING transition: start it without the lock. */
    if (p->ops->start_vcpu(p->opaque, (unsigned int)idx, entry, context_id) < 0) {
        pthread_mutex_lock(&p->lock);
        if (p->state[idx] == ARM64_PSCI_STATE_ON_PENDING)
            p->state[idx] = ARM64_PSCI_STATE_OFF;
        pthread_mutex_unlock(&p->lock);
        return ARM64_PSCI_RET_INTERNAL_FAILURE;
    }
    return ARM64_PSCI_RET_SUCCESS;
}

static int32_t affinity_info(arm64_psci_t *p, uint64_t target, uint32_t lowest_level)
{
    int idx;

    if (lowest_level != 0)
        return ARM64_PSCI_RET_INVALID_PARAMETERS;
    idx = lookup(p, target);
    if (idx < 0)
        return ARM64_PSCI_RET_INVALID_PARAMETERS;
    return (int32_t)arm64_psci_cpu_state(p, (unsigned int)idx);
}

arm64_smccc_action_t arm64_psci_call(arm64_psci_t *p, const arm64_smccc_call_t *call,
                                     arm64_smccc_result_t *res)
{
    uint32_t fid = (uint32_t)call->x[0];
    uint64_t a[4] = {0, call->x[1], call->x[2], call->x[3]};
    unsigned int cpu = call->cpu;
    int32_t ret = ARM64_PSCI_RET_NOT_SUPPORTED;
    arm64_smccc_action_t action = ARM64_SMCCC_RESUME;

    memset(res, 0, sizeof(*res));
    /* SMC32: only W1..W3 count (SMCCC). */
    if (!(fid & ARM64_SMCCC_64))
        for (unsigned int i = 1; i < 4; i++)
            a[i] = (uint32_t)a[i];
    /* A CPU that makes a call runs. */
    if (cpu < p->nr_cpus) {
        pthread_mutex_lock(&p->lock);
        p->state[cpu] = ARM64_PSCI_STATE_ON;
        pthread_mutex_unlock(&p->lock);
    }

    switch (fid) {
    case ARM64_PSCI_VERSION:
        ret = (int32_t)ARM64_PSCI_VERSION_1_1;
        break;
    case ARM64_PSCI_FEATURES:
        ret = arm64_psci_features(p, (uint32_t)a[1]);
        break;
    case ARM64_PSCI_CPU_SUSPEND:
    case ARM64_PSCI_CPU_SUSPEND_64:
        /* Every state is entered as standby (see arm64_psci.h). */
        if ((uint32_t)a[1] & POWER_STATE_RESERVED) {
            ret = ARM64_PSCI_RET_INVALID_PARAMETERS;
        } else {
            ret = ARM64_PSCI_RET_SUCCESS;
            action = ARM64_SMCCC_WAIT;
        }
        break;
    case ARM64_PSCI_CPU_OFF:
        if (cpu >= p->nr_cpus) {
            ret = ARM64_PSCI_RET_DENIED; /* not one of our CPUs: cannot turn it off */
            break;
        }
        /*
         * Tell the backend first: until the state reads OFF, a CPU_ON from
         * another vCPU answers ALREADY_ON, so its start_vcpu() can only
         * follow this stop_vcpu().
         */
        p->ops->stop_vcpu(p->opaque, cpu);
        pthread_mutex_lock(&p->lock);
        p->state[cpu] = ARM64_PSCI_STATE_OFF;
        pthread_mutex_unlock(&p->lock);
        ret = ARM64_PSCI_RET_SUCCESS;
        action = ARM64_SMCCC_CPU_OFF;
        break;
    case ARM64_PSCI_CPU_ON:
    case ARM64_PSCI_CPU_ON_64:
        ret = cpu_on(p, a[1], a[2], a[3]);
        break;
    case ARM64_PSCI_AFFINITY_INFO:
    case ARM64_PSCI_AFFINITY_INFO_64:
        ret = affinity_info(p, a[1], (uint32_t)a[2]);
        break;
    case ARM64_PSCI_MIGRATE_INFO_TYPE:
        ret = ARM64_PSCI_TOS_NOT_PRESENT_MP;
        break;
    case ARM64_PSCI_SYSTEM_OFF:
        p->ops->system_off(p->opaque);
        ret = ARM64_PSCI_RET_SUCCESS;
        action = ARM64_SMCCC_SYSTEM_OFF;
        break;
    case ARM64_PSCI_SYSTEM_RESET:
        p->ops->system_reset(p->opaque);
        ret = ARM64_PSCI_RET_SUCCESS;
        action = ARM64_SMCCC_SYSTEM_RESET;
        break;
    case ARM64_PSCI_SYSTEM_RESET2:
    case ARM64_PSCI_SYSTEM_RESET2_64:
        if ((uint32_t)a[1] & ARM64_PSCI_RESET2_VENDOR) {
            ret = ARM64_PSCI_RET_NOT_SUPPORTED; /* no vendor reset types here */
        } else if ((uint32_t)a[1] != ARM64_PSCI_RESET2_WARM_RESET) {
            ret = ARM64_PSCI_RET_INVALID_PARAMETERS;
        } else {
            p->ops->system_reset(p->opaque);
            ret = ARM64_PSCI_RET_SUCCESS;
            action = ARM64_SMCCC_SYSTEM_RESET;
        }
        break;
    default:
        break;
    }
    res->x[0] = ret64(ret);
    return action;
}

static arm64_smccc_action_t smccc_handler(void *opaque, const arm64_smccc_call_t *call,
                                          arm64_smccc_result_t *res)
{
    return arm64_psci_call(opaque, call, res);
}

static int32_t smccc_features(void *opaque, uint32_t fid)
{
    return arm64_psci_features(opaque, fid);
}

int arm64_psci_register(arm64_psci_t *p, arm64_smccc_t *smccc)
{
    arm64_smccc_service_t svc = {
        .name = "PSCI",
        .owner = ARM64_SMCCC_OWNER_STANDARD,
        .first = ARM64_PSCI_FUNC_FIRST,
        .last = ARM64_PSCI_FUNC_LAST,
        .call = smccc_handler,
        .features = smccc_features,
        .opaque = p,
    };
    int r;

    if (!p || !smccc)
        return -EINVAL;
    r = arm64_smccc_register(smccc, &svc);
    if (r == 0)
        p->smccc = smccc;
    return r;
}

const char *arm64_psci_func_name(uint32_t fid)
{
    static const struct {
        uint32_t fid;
        const char *name;
    } names[] = {
        {ARM64_PSCI_VERSION, "PSCI_VERSION"},
        {ARM64_PSCI_CPU_SUSPEND, "CPU_SUSPEND"},
        {ARM64_PSCI_CPU_SUSPEND_64, "CPU_SUSPEND_64"},
        {ARM64_PSCI_CPU_OFF, "CPU_OFF"},
        {ARM64_PSCI_CPU_ON, "CPU_ON"},
        {ARM64_PSCI_CPU_ON_64, "CPU_ON_64"},
        {ARM64_PSCI_AFFINITY_INFO, "AFFINITY_INFO"},
        {ARM64_PSCI_AFFINITY_INFO_64, "AFFINITY_INFO_64"},
        {ARM64_PSCI_MIGRATE, "MIGRATE"},
        {ARM64_PSCI_MIGRATE_64, "MIGRATE_64"},
        {ARM64_PSCI_MIGRATE_INFO_TYPE, "MIGRATE_INFO_TYPE"},
        {ARM64_PSCI_MIGRATE_INFO_UP_CPU, "MIGRATE_INFO_UP_CPU"},
        {ARM64_PSCI_MIGRATE_INFO_UP_CPU_64, "MIGRATE_INFO_UP_CPU_64"},
        {ARM64_PSCI_SYSTEM_OFF, "SYSTEM_OFF"},
        {ARM64_PSCI_SYSTEM_RESET, "SYSTEM_RESET"},
        {ARM64_PSCI_FEATURES, "PSCI_FEATURES"},
        {ARM64_PSCI_CPU_FREEZE, "CPU_FREEZE"},
        {ARM64_PSCI_CPU_DEFAULT_SUSPEND, "CPU_DEFAULT_SUSPEND"},
        {ARM64_PSCI_CPU_DEFAULT_SUSPEND_64, "CPU_DEFAULT_SUSPEND_64"},
        {ARM64_PSCI_NODE_HW_STATE, "NODE_HW_STATE"},
        {ARM64_PSCI_NODE_HW_STATE_64, "NODE_HW_STATE_64"},
        {ARM64_PSCI_SYSTEM_SUSPEND, "SYSTEM_SUSPEND"},
        {ARM64_PSCI_SYSTEM_SUSPEND_64, "SYSTEM_SUSPEND_64"},
        {ARM64_PSCI_SET_SUSPEND_MODE, "PSCI_SET_SUSPEND_MODE"},
        {ARM64_PSCI_STAT_RESIDENCY, "PSCI_STAT_RESIDENCY"},
        {ARM64_PSCI_STAT_RESIDENCY_64, "PSCI_STAT_RESIDENCY_64"},
        {ARM64_PSCI_STAT_COUNT, "PSCI_STAT_COUNT"},
        {ARM64_PSCI_STAT_COUNT_64, "PSCI_STAT_COUNT_64"},
        {ARM64_PSCI_SYSTEM_RESET2, "SYSTEM_RESET2"},
        {ARM64_PSCI_SYSTEM_RESET2_64, "SYSTEM_RESET2_64"},
        {ARM64_PSCI_MEM_PROTECT, "MEM_PROTECT"},
        {ARM64_PSCI_MEM_PROTECT_CHECK_RANGE, "MEM_PROTECT_CHECK_RANGE"},
        {ARM64_PSCI_MEM_PROTECT_CHECK_RANGE_64, "MEM_PROTECT_CHECK_RANGE_64"},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].fid == fid)
            return names[i].name;
    return NULL;
}

const char *arm64_psci_state_name(arm64_psci_state_t state)
{
    switch (state) {
    case ARM64_PSCI_STATE_ON:
        return "ON";
    case ARM64_PSCI_STATE_OFF:
        return "OFF";
    case ARM64_PSCI_STATE_ON_PENDING:
        return "ON_PENDING";
    }
    return "invalid";
}
