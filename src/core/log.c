/*
 * log.c - stderr logging with levels and rate limiting (see vmmkit/log.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <vmmkit/log.h>

/* The one process-wide setting of the library: read and written atomically. */
static int log_level = VMM_LOG_INFO;

static const char *const level_names[] = {
    [VMM_LOG_ERR] = "error",
    [VMM_LOG_WARN] = "warn",
    [VMM_LOG_INFO] = "info",
    [VMM_LOG_DEBUG] = "debug",
};

#define LOG_LINE_MAX 1024

void vmm_log_set_level(vmm_log_level_t level)
{
    if (level > VMM_LOG_DEBUG) {
        level = VMM_LOG_DEBUG;
    }
    __atomic_store_n(&log_level, (int)level, __ATOMIC_RELAXED);
}

vmm_log_level_t vmm_log_get_level(void)
{
    return (vmm_log_level_t)__atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

bool vmm_log_enabled(vmm_log_level_t level)
{
    return (int)level <= __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

int vmm_log_level_parse(const char *s, vmm_log_level_t *level)
{
    for (unsigned int i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (s && strcasecmp(s, level_names[i]) == 0) {
            *level = (vmm_log_level_t)i;
            return 0;
        }
    }
    return -EINVAL;
}

/* Format "vmmkit: <level>: <text><suffix>\n" and write it in one write(2). */
static void log_emit(vmm_log_level_t level, const char *suffix, const char *fmt, va_list ap)
{
    char line[LOG_LINE_MAX];
    size_t cap = sizeof(line) - 1; /* room for the newline */
    int n = snprintf(line, cap, "vmmkit: %s: ", level_names[level]);
    size_t len = n > 0 ? (size_t)n : 0;

    n = vsnprintf(line + len, cap - len, fmt, ap);
    if (n > 0) {
        len += (size_t)n;
    }
    if (suffix && len < cap) {
        n = snprintf(line + len, cap - len, "%s", suffix);
        if (n > 0) {
            len += (size_t)n;
        }
    }
    if (len >= cap) {
        len = cap - 1;
        memcpy(line + len - 3, "...", 3);
    }
    while (len > 0 && line[len - 1] == '\n') {
        len--;
    }
    line[len++] = '\n';

    /* stderr is unbuffered; one write keeps concurrent lines whole. */
    ssize_t off = 0;
    while ((size_t)off < len) {
        ssize_t w = write(STDERR_FILENO, line + off, len - (size_t)off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            break;
        }
        off += w;
    }
}

void vmm_log(vmm_log_level_t level, const char *fmt, ...)
{
    if (level > VMM_LOG_DEBUG || !vmm_log_enabled(level)) {
        return;
    }
    int saved_errno = errno;
    va_list ap;
    va_start(ap, fmt);
    log_emit(level, NULL, fmt, ap);
    va_end(ap);
    errno = saved_errno;
}

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void vmm_ratelimit_init(vmm_ratelimit_t *rl, uint32_t interval_ms, uint32_t burst)
{
    memset(rl, 0, sizeof(*rl));
    rl->interval_ns = (uint64_t)interval_ms * 1000000u;
    rl->burst = burst;
}

bool vmm_ratelimit_allow(vmm_ratelimit_t *rl, uint32_t *suppressed)
{
    /* A zero-filled limiter behaves as VMM_RATELIMIT_DEFAULT. */
    uint64_t interval = rl->interval_ns ? rl->interval_ns : 5000000000ull;
    uint32_t burst = rl->interval_ns ? rl->burst : 10;
    uint64_t now = monotonic_ns();
    uint64_t start = __atomic_load_n(&rl->window_start_ns, __ATOMIC_ACQUIRE);

    if (start == 0 || now - start >= interval) {
        /* Whoever moves the window on resets its count. */
        if (__atomic_compare_exchange_n(&rl->window_start_ns, &start, now, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            __atomic_store_n(&rl->printed, 0, __ATOMIC_RELEASE);
        }
    }
    if (__atomic_fetch_add(&rl->printed, 1, __ATOMIC_ACQ_REL) < burst) {
        uint32_t dropped = __atomic_exchange_n(&rl->suppressed, 0, __ATOMIC_ACQ_REL);
        if (suppressed) {
            *suppressed = dropped;
        }
        return true;
    }
    __atomic_fetch_add(&rl->suppressed, 1, __ATOMIC_RELAXED);
    return false;
}

void vmm_log_ratelimited(vmm_ratelimit_t *rl, vmm_log_level_t level, const char *fmt, ...)
{
    uint32_t dropped = 0;

    if (level > VMM_LOG_DEBUG || !vmm_log_enabled(level) || !vmm_ratelimit_allow(rl, &dropped)) {
        return;
    }
    int saved_errno = errno;
    char suffix[64];
    if (dropped) {
        snprintf(suffix, sizeof(suffix), " (%u similar messages suppressed)", dropped);
    }
    va_list ap;
    va_start(ap, fmt);
    log_emit(level, dropped ? suffix : NULL, fmt, ap);
    va_end(ap);
    errno = saved_errno;
}
