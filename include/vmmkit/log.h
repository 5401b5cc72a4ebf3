/*
 * log.h - one logging path for the whole of vmmkit.
 *
 * Every message goes to stderr as one line, "vmmkit: <level>: <text>", written
 * with a single write(2) so lines from different threads do not interleave.
 * Messages above the process-wide level (vmm_log_set_level) are dropped; the
 * default is VMM_LOG_INFO.  The level is the one process-wide setting in the
 * library (an atomic int): several VMs in one process share it.
 *
 * Anything the guest can trigger at will (an access to an unassigned
 * address, a malformed descriptor) must be logged through a rate limiter
 * (vmm_ratelimit_t, LOG_WARN_RL, ...), which prints a burst of lines per
 * interval and then reports how many were suppressed.
 */
#ifndef VMMKIT_LOG_H
#define VMMKIT_LOG_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Message levels, most severe first. */
typedef enum vmm_log_level {
    VMM_LOG_ERR = 0,
    VMM_LOG_WARN,
    VMM_LOG_INFO,
    VMM_LOG_DEBUG,
} vmm_log_level_t;

/*
 * Print one message at @level (a trailing newline is added when missing).
 * Lines longer than about 1 KiB are truncated and marked with "...".
 */
void vmm_log(vmm_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Set the most verbose level printed (process-wide, thread-safe). */
void vmm_log_set_level(vmm_log_level_t level);

/* The current level. */
vmm_log_level_t vmm_log_get_level(void);

/* True when a message at @level would be printed (to skip costly formatting). */
bool vmm_log_enabled(vmm_log_level_t level);

/*
 * Parse "error", "warn", "info" or "debug" into @level.
 * Returns 0, or -EINVAL for any other string.
 */
int vmm_log_level_parse(const char *s, vmm_log_level_t *level);

#define LOG_ERR(...) vmm_log(VMM_LOG_ERR, __VA_ARGS__)
#define LOG_WARN(...) vmm_log(VMM_LOG_WARN, __VA_ARGS__)
#define LOG_INFO(...) vmm_log(VMM_LOG_INFO, __VA_ARGS__)
#define LOG_DEBUG(...) vmm_log(VMM_LOG_DEBUG, __VA_ARGS__)

/*
 * A rate limiter: at most @burst messages per @interval.  Thread-safe
 * (lock-free; under contention a window may let a message or two more
 * through).  Embed one per message site in the object it concerns (the vm_t,
 * the device), initialised with VMM_RATELIMIT_INIT or vmm_ratelimit_init();
 * never a static shared by several VMs.
 */
typedef struct vmm_ratelimit {
    uint64_t interval_ns;
    uint32_t burst;
    uint64_t window_start_ns; /* accessed with __atomic builtins */
    uint32_t printed;         /* in the current window */
    uint32_t suppressed;      /* since the last message that got through */
} vmm_ratelimit_t;

#define VMM_RATELIMIT_INIT(interval_ms, burst_count)                                               \
    {                                                                                              \
        .interval_ns = (uint64_t)(interval_ms)*1000000u, .burst = (burst_count)                    \
    }

/* Default limiter settings used across vmmkit: 10 lines per 5 seconds. */
#define VMM_RATELIMIT_DEFAULT VMM_RATELIMIT_INIT(5000, 10)

/* Initialise @rl for @burst messages per @interval_ms milliseconds. */
void vmm_ratelimit_init(vmm_ratelimit_t *rl, uint32_t interval_ms, uint32_t burst);

/*
 * Account one event.  Returns true when it may be printed; then *@suppressed
 * (may be NULL) receives the number of events dropped since the previous one
 * that was allowed.
 */
bool vmm_ratelimit_allow(vmm_ratelimit_t *rl, uint32_t *suppressed);

/*
 * vmm_log() through limiter @rl; when earlier lines were dropped the message
 * ends with "(N similar messages suppressed)".
 */
void vmm_log_ratelimited(vmm_ratelimit_t *rl, vmm_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define LOG_ERR_RL(rl, ...) vmm_log_ratelimited((rl), VMM_LOG_ERR, __VA_ARGS__)
#define LOG_WARN_RL(rl, ...) vmm_log_ratelimited((rl), VMM_LOG_WARN, __VA_ARGS__)
#define LOG_INFO_RL(rl, ...) vmm_log_ratelimited((rl), VMM_LOG_INFO, __VA_ARGS__)
#define LOG_DEBUG_RL(rl, ...) vmm_log_ratelimited((rl), VMM_LOG_DEBUG, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif
