/*
 * mmio_guard.c - the access-controlled MMIO region (see
 * include/vmmkit/mmio_guard.h for the semantics).
 *
 * The contents and the mask are byte arrays; an access of 1..8 bytes is
 * assembled little-endian byte by byte, so any alignment works and the host's
 * byte order does not matter.  One mutex per guard covers the contents and
 * the hook call; the counters are atomics.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vmmkit/guest_memory.h>
#include <vmmkit/log.h>
#include <vmmkit/mmio_guard.h>

struct mmio_guard {
    vm_t *vm;
    vm_memory_reservation_t *res;
    char *name;
    uint64_t base, size;
    mmio_guard_policy_t policy;
    mmio_guard_write_fn on_write;
    void *opaque;

    pthread_mutex_t lock; /* guards contents */
    uint8_t *contents;    /* size bytes, what the guest reads */
    uint8_t *mask;        /* size bytes, bit set = writable; NULL: nothing writable */
    uint8_t *initial;     /* size bytes for mmio_guard_reset(); NULL: zeros */

    uint64_t stats[MMIO_GUARD_STAT_COUNT]; /* atomics */
    vmm_ratelimit_t rl_violation;
};

static const char *const stat_names[MMIO_GUARD_STAT_COUNT] = {
    [MMIO_GUARD_STAT_READS] = "reads",
    [MMIO_GUARD_STAT_WRITES] = "writes",
    [MMIO_GUARD_STAT_VIOLATIONS] = "violations",
};

static const char *const policy_names[] = {
    [MMIO_GUARD_REPORT] = "report",
    [MMIO_GUARD_MASK] = "mask",
    [MMIO_GUARD_REPORT_AND_MASK] = "report-and-mask",
};
#define NR_POLICIES (sizeof(policy_names) / sizeof(policy_names[0]))

static void stat_inc(mmio_guard_t *g, mmio_guard_stat_t stat)
{
    __atomic_fetch_add(&g->stats[stat], 1, __ATOMIC_RELAXED);
}

/* @width bytes at @p as a little-endian value. */
static uint64_t load_le(const uint8_t *p, unsigned int width)
{
    uint64_t v = 0;
    for (unsigned int i = 0; i < width; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

static void store_le(uint8_t *p, unsigned int width, uint64_t v)
{
    for (unsigned int i = 0; i < width; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint64_t width_mask(unsigned int width)
{
    return width >= 8 ? UINT64_MAX : (1ull << (8 * width)) - 1;
}

static bool in_region(const mmio_guard_t *g, uint64_t offset, uint64_t len)
{
    return offset < g->size && len <= g->size - offset;
}

static bool reports(mmio_guard_policy_t p)
{
    return p == MMIO_GUARD_REPORT || p == MMIO_GUARD_REPORT_AND_MASK;
}

static bool masks(mmio_guard_policy_t p)
{
    return p == MMIO_GUARD_MASK || p == MMIO_GUARD_REPORT_AND_MASK;
}

/* Called with g->lock held.  @vcpu is NULL for mmio_guard_access() from the host. */
static void guard_write(mmio_guard_t *g, vm_vcpu_t *vcpu, uint64_t offset, unsigned int width,
                        uint64_t value)
{
    uint8_t *p = g->contents + offset;
    uint64_t writable = g->mask ? load_le(g->mask + offset, width) : 0;
    mmio_guard_write_t w = {
        .addr = g->base + offset,
        .offset = offset,
        .width = width,
        .old = load_le(p, width),
        .value = value & width_mask(width),
    };
    w.denied = (w.value ^ w.old) & ~writable;
    w.stored = masks(g->policy) ? (w.old & ~writable) | (w.value & writable) : w.value;
    store_le(p, width, w.stored);

    stat_inc(g, MMIO_GUARD_STAT_WRITES);
    if (w.denied && reports(g->policy)) {
        stat_inc(g, MMIO_GUARD_STAT_VIOLATIONS);
        char who[32] = "host";
        if (vcpu) {
            snprintf(who, sizeof(who), "vcpu%u", vm_vcpu_id(vcpu));
        }
        LOG_WARN_RL(&g->rl_violation,
                    "%s: %s: %s wrote %#llx (%u bytes) at %#llx (offset %#llx): protected bits "
                    "%#llx would change; %s",
                    vm_name(g->vm), g->name, who, (unsigned long long)w.value, width,
                    (unsigned long long)w.addr, (unsigned long long)offset,
                    (unsigned long long)w.denied,
                    masks(g->policy) ? "they keep their value" : "stored anyway");
    }
    if (g->on_write) {
        g->on_write(g->opaque, &w);
    }
}

static memory_fault_result_t guard_access(mmio_guard_t *g, vm_vcpu_t *vcpu, uint64_t offset,
                                          unsigned int width, bool is_write, uint64_t *data)
{
    if (!g || !data || width < 1 || width > 8 || !in_region(g, offset, width)) {
        return FAULT_UNHANDLED;
    }
    pthread_mutex_lock(&g->lock);
    if (is_write) {
        guard_write(g, vcpu, offset, width, *data);
    } else {
        *data = load_le(g->contents + offset, width);
        stat_inc(g, MMIO_GUARD_STAT_READS);
    }
    pthread_mutex_unlock(&g->lock);
    return FAULT_HANDLED;
}

static memory_fault_result_t guard_fault(vm_t *vm, vm_vcpu_t *vcpu, uintptr_t addr, size_t len,
                                         void *cookie)
{
    mmio_guard_t *g = cookie;
    bool is_write = !is_vcpu_read_fault(vcpu);
    uint64_t data = is_write ? get_vcpu_fault_data(vcpu) : 0;

    if (addr < g->base) {
        return FAULT_UNHANDLED;
    }
    memory_fault_result_t res =
        guard_access(g, vcpu, addr - g->base, (unsigned int)len, is_write, &data);
    if (res == FAULT_HANDLED && !is_write) {
        set_vcpu_fault_data(vcpu, data);
    }
    return res;
}

static void guard_free(mmio_guard_t *g)
{
    free(g->contents);
    free(g->mask);
    free(g->initial);
    free(g->name);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

int mmio_guard_create(vm_t *vm, const mmio_guard_config_t *cfg, mmio_guard_t **out)
{
    if (!vm || !cfg || !out) {
        return -EINVAL;
    }
    const char *name = cfg->name ? cfg->name : "mmio-guard";
    if (cfg->size == 0 || cfg->size > MMIO_GUARD_MAX_SIZE ||
        cfg->base + cfg->size - 1 < cfg->base) {
        LOG_ERR("%s: region at %#llx of %#llx bytes: the size must be 1..%#llx bytes and the "
                "region must not wrap",
                name, (unsigned long long)cfg->base, (unsigned long long)cfg->size,
                (unsigned long long)MMIO_GUARD_MAX_SIZE);
        return -EINVAL;
    }
    if ((unsigned int)cfg->policy >= NR_POLICIES) {
        LOG_ERR("%s: policy %d is none of report, mask, report-and-mask", name, (int)cfg->policy);
        return -EINVAL;
    }

    mmio_guard_t *g = calloc(1, sizeof(*g));
    if (!g) {
        return -ENOMEM;
    }
    if (pthread_mutex_init(&g->lock, NULL) != 0) {
        free(g);
        return -ENOMEM;
    }
    g->vm = vm;
    g->base = cfg->base;
    g->size = cfg->size;
    g->policy = cfg->policy;
    g->on_write = cfg->on_write;
    g->opaque = cfg->opaque;
    vmm_ratelimit_init(&g->rl_violation, 5000, 10);
    g->name = strdup(name);
    g->contents = calloc(1, cfg->size);
    bool ok = g->name && g->contents;
    if (ok && cfg->contents) {
        g->initial = malloc(cfg->size);
        ok = g->initial != NULL;
        if (ok) {
            memcpy(g->initial, cfg->contents, cfg->size);
            memcpy(g->contents, cfg->contents, cfg->size);
        }
    }
    if (ok && cfg->writable) {
        g->mask = malloc(cfg->size);
        ok = g->mask != NULL;
        if (ok) {
            memcpy(g->mask, cfg->writable, cfg->size);
        }
    }
    if (!ok) {
        guard_free(g);
        return -ENOMEM;
    }

    errno = 0;
    g->res = vm_reserve_memory_at(vm, cfg->base, cfg->size, guard_fault, g);
    if (!g->res) {
        int rc = errno ? -errno : -ENOMEM;
        LOG_ERR("%s: region %#llx-%#llx: %s", name, (unsigned long long)cfg->base,
                (unsigned long long)(cfg->base + cfg->size - 1), strerror(-rc));
        guard_free(g);
        return rc;
    }
    LOG_DEBUG("%s: access-controlled region %#llx-%#llx, policy %s, %s", name,
              (unsigned long long)cfg->base, (unsigned long long)(cfg->base + cfg->size - 1),
              policy_names[cfg->policy], g->mask ? "mask given" : "nothing writable");
    *out = g;
    return 0;
}

void mmio_guard_destroy(mmio_guard_t *g)
{
    if (!g) {
        return;
    }
    vm_free_reserved_memory(g->vm, g->res);
    guard_free(g);
}

memory_fault_result_t mmio_guard_access(mmio_guard_t *g, uint64_t offset, unsigned int width,
                                        bool is_write, uint64_t *data)
{
    return guard_access(g, NULL, offset, width, is_write, data);
}

int mmio_guard_read(mmio_guard_t *g, uint64_t offset, void *buf, size_t len)
{
    if (!g || !buf || !in_region(g, offset, len)) {
        return -EINVAL;
    }
    pthread_mutex_lock(&g->lock);
    memcpy(buf, g->contents + offset, len);
    pthread_mutex_unlock(&g->lock);
    return 0;
}

int mmio_guard_write(mmio_guard_t *g, uint64_t offset, const void *buf, size_t len)
{
    if (!g || !buf || !in_region(g, offset, len)) {
        return -EINVAL;
    }
    pthread_mutex_lock(&g->lock);
    memcpy(g->contents + offset, buf, len);
    pthread_mutex_unlock(&g->lock);
    return 0;
}

void mmio_guard_reset(mmio_guard_t *g)
{
    if (!g) {
        return;
    }
    pthread_mutex_lock(&g->lock);
    if (g->initial) {
        memcpy(g->contents, g->initial, g->size);
    } else {
        memset(g->contents, 0, g->size);
    }
    pthread_mutex_unlock(&g->lock);
}

uint64_t mmio_guard_stat(const mmio_guard_t *g, mmio_guard_stat_t stat)
{
    if (!g || (unsigned int)stat >= MMIO_GUARD_STAT_COUNT) {
        return 0;
    }
    return __atomic_load_n(&g->stats[stat], __ATOMIC_RELAXED);
}

const char *mmio_guard_stat_name(mmio_guard_stat_t stat)
{
    return (unsigned int)stat < MMIO_GUARD_STAT_COUNT ? stat_names[stat] : "unknown";
}

const char *mmio_guard_policy_name(mmio_guard_policy_t policy)
{
    return (unsigned int)policy < NR_POLICIES ? policy_names[policy] : "unknown";
}

int mmio_guard_policy_parse(const char *s, mmio_guard_policy_t *policy)
{
    if (!s || !policy) {
        return -EINVAL;
    }
    for (unsigned int i = 0; i < NR_POLICIES; i++) {
        if (strcmp(s, policy_names[i]) == 0) {
            *policy = (mmio_guard_policy_t)i;
            return 0;
        }
    }
    return -EINVAL;
}

uint64_t mmio_guard_base(const mmio_guard_t *g)
{
    return g ? g->base : 0;
}

uint64_t mmio_guard_size(const mmio_guard_t *g)
{
    return g ? g->size : 0;
}
