/*
 * arm64_psci.h - the Power State Coordination Interface (PSCI 1.1, Arm
 * DEN0022) implemented in the virtual machine monitor, as a state machine
 * over the VM's vCPUs.
 *
 * A guest starts its secondary vCPUs, takes them offline, idles them and
 * powers off or reboots the machine through PSCI calls (HVC or SMC, SMC
 * Calling Convention).  This module keeps each vCPU's power state (ON, OFF,
 * ON_PENDING) and answers the calls; what needs the hypervisor (setting a
 * vCPU's registers and waking it, stopping the VM) it asks of the caller
 * through arm64_psci_ops_t.  Register it in an SMCCC registry with
 * arm64_psci_register(): it owns function IDs 0x84000000-0x8400001F and
 * 0xC4000000-0xC400001F (standard secure service, functions 0x00-0x1F).
 *
 * Functions (DEN0022 "PSCI function definitions"; IDs below):
 *   PSCI_VERSION       1.1 (0x10001)
 *   PSCI_FEATURES      0 for every function implemented here, including
 *                      CPU_SUSPEND (bit 1 = 0: the original power_state
 *                      format; bit 0 = 0: no OS-initiated mode) and, once
 *                      registered in a registry, SMCCC_VERSION; NOT_SUPPORTED
 *                      for the rest
 *   CPU_ON             SMC32 and SMC64: target MPIDR, entry point, context
 *                      ID.  INVALID_PARAMETERS for bits outside the MPIDR
 *                      affinity fields or an unknown MPIDR; INVALID_ADDRESS
 *                      for an entry point that is not 4-byte aligned or not
 *                      inside a configured RAM range; then ALREADY_ON,
 *                      ON_PENDING, or SUCCESS with the target ON_PENDING and
 *                      ops->start_vcpu() called (INTERNAL_FAILURE, target OFF
 *                      again, if that op fails)
 *   CPU_OFF            ops->stop_vcpu() is called, then the caller goes OFF
 *                      and the action is ARM64_SMCCC_CPU_OFF; never DENIED
 *                      for one of the VM's vCPUs (no trusted OS is resident
 *                      anywhere); DENIED only for a caller index out of range
 *   AFFINITY_INFO      SMC32 and SMC64, lowest_affinity_level 0 only (others:
 *                      INVALID_PARAMETERS, as permitted from PSCI 1.0):
 *                      0 ON, 1 OFF, 2 ON_PENDING; INVALID_PARAMETERS for an
 *                      unknown MPIDR
 *   CPU_SUSPEND        SMC32 and SMC64, original power_state format: any
 *                      power state with the reserved bits clear returns
 *                      SUCCESS at once with action ARM64_SMCCC_WAIT: the
 *                      caller waits for an interrupt as for a WFI.  Powerdown
 *                      states are treated as standby, which PSCI permits
 *                      (DEN0022A 5.4.2: a powerdown request may be served
 *                      as a standby, which returns SUCCESS with the CPU's
 *                      context intact); the entry point and context ID are
 *                      then not used.  Reserved bits set: INVALID_PARAMETERS
 *   SYSTEM_OFF         ops->system_off(), action ARM64_SMCCC_SYSTEM_OFF
 *   SYSTEM_RESET       ops->system_reset(), action ARM64_SMCCC_SYSTEM_RESET
 *   SYSTEM_RESET2      SMC32 and SMC64: reset_type 0 (SYSTEM_WARM_RESET) as
 *                      SYSTEM_RESET; other architectural types
 *                      INVALID_PARAMETERS; vendor types (bit 31) NOT_SUPPORTED
 *   MIGRATE_INFO_TYPE  2: no trusted OS, migration not required
 *   anything else      NOT_SUPPORTED (MIGRATE, MIGRATE_INFO_UP_CPU,
 *                      CPU_FREEZE, CPU_DEFAULT_SUSPEND, NODE_HW_STATE,
 *                      SYSTEM_SUSPEND, PSCI_SET_SUSPEND_MODE, PSCI_STAT_*,
 *                      MEM_PROTECT*, and SMC64 IDs of SMC32-only functions)
 *
 * The boot state is CPU 0 ON and every other CPU OFF; arm64_psci_reset()
 * returns to it (for a guest reboot).  A CPU started by CPU_ON stays
 * ON_PENDING until the backend reports it running (arm64_psci_cpu_running());
 * any PSCI call made by a CPU also proves it runs and moves it to ON.
 *
 * Threads: every vCPU thread may call at once.  One mutex guards the
 * per-CPU states; the ops are called without it held, from the calling
 * vCPU's thread, so an op may call arm64_psci_cpu_running() or
 * arm64_psci_cpu_state().
 *
 * Pure: no hypervisor calls of its own.
 */
#ifndef VMMKIT_ARM64_PSCI_H
#define VMMKIT_ARM64_PSCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vmmkit/arm64_smccc.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Function IDs (DEN0022); _64 is the SMC64 form. */
#define ARM64_PSCI_VERSION 0x84000000u
#define ARM64_PSCI_CPU_SUSPEND 0x84000001u
#define ARM64_PSCI_CPU_SUSPEND_64 0xc4000001u
#define ARM64_PSCI_CPU_OFF 0x84000002u
#define ARM64_PSCI_CPU_ON 0x84000003u
#define ARM64_PSCI_CPU_ON_64 0xc4000003u
#define ARM64_PSCI_AFFINITY_INFO 0x84000004u
#define ARM64_PSCI_AFFINITY_INFO_64 0xc4000004u
#define ARM64_PSCI_MIGRATE 0x84000005u
#define ARM64_PSCI_MIGRATE_64 0xc4000005u
#define ARM64_PSCI_MIGRATE_INFO_TYPE 0x84000006u
#define ARM64_PSCI_MIGRATE_INFO_UP_CPU 0x84000007u
#define ARM64_PSCI_MIGRATE_INFO_UP_CPU_64 0xc4000007u
#define ARM64_PSCI_SYSTEM_OFF 0x84000008u
#define ARM64_PSCI_SYSTEM_RESET 0x84000009u
#define ARM64_PSCI_FEATURES 0x8400000au
#define ARM64_PSCI_CPU_FREEZE 0x8400000bu
#define ARM64_PSCI_CPU_DEFAULT_SUSPEND 0x8400000cu
#define ARM64_PSCI_CPU_DEFAULT_SUSPEND_64 0xc400000cu
#define ARM64_PSCI_NODE_HW_STATE 0x8400000du
#define ARM64_PSCI_NODE_HW_STATE_64 0xc400000du
#define ARM64_PSCI_SYSTEM_SUSPEND 0x8400000eu
#define ARM64_PSCI_SYSTEM_SUSPEND_64 0xc400000eu
#define ARM64_PSCI_SET_SUSPEND_MODE 0x8400000fu
#define ARM64_PSCI_STAT_RESIDENCY 0x84000010u
#define ARM64_PSCI_STAT_RESIDENCY_64 0xc4000010u
#define ARM64_PSCI_STAT_COUNT 0x84000011u
#define ARM64_PSCI_STAT_COUNT_64 0xc4000011u
#define ARM64_PSCI_SYSTEM_RESET2 0x84000012u
#define ARM64_PSCI_SYSTEM_RESET2_64 0xc4000012u
#define ARM64_PSCI_MEM_PROTECT 0x84000013u
#define ARM64_PSCI_MEM_PROTECT_CHECK_RANGE 0x84000014u
#define ARM64_PSCI_MEM_PROTECT_CHECK_RANGE_64 0xc4000014u

/* The function numbers PSCI owns in the standard secure service. */
#define ARM64_PSCI_FUNC_FIRST 0x00u
#define ARM64_PSCI_FUNC_LAST 0x1fu

/* PSCI_VERSION's answer: major in bits 31:16, minor in 15:0. */
#define ARM64_PSCI_VERSION_1_1 0x00010001u

/* Return codes (DEN0022 "Return error codes"). */
#define ARM64_PSCI_RET_SUCCESS 0
#define ARM64_PSCI_RET_NOT_SUPPORTED (-1)
#define ARM64_PSCI_RET_INVALID_PARAMETERS (-2)
#define ARM64_PSCI_RET_DENIED (-3)
#define ARM64_PSCI_RET_ALREADY_ON (-4)
#define ARM64_PSCI_RET_ON_PENDING (-5)
#define ARM64_PSCI_RET_INTERNAL_FAILURE (-6)
#define ARM64_PSCI_RET_NOT_PRESENT (-7)
#define ARM64_PSCI_RET_DISABLED (-8)
#define ARM64_PSCI_RET_INVALID_ADDRESS (-9)

/* MIGRATE_INFO_TYPE's answer: no trusted OS / no migration needed. */
#define ARM64_PSCI_TOS_NOT_PRESENT_MP 2

/* CPU_SUSPEND power_state, original format (DEN0022 "CPU_SUSPEND"). */
#define ARM64_PSCI_POWER_STATE_ID_MASK 0xffffu
#define ARM64_PSCI_POWER_STATE_TYPE_POWERDOWN (1u << 16)
#define ARM64_PSCI_POWER_STATE_LEVEL_SHIFT 24
#define ARM64_PSCI_POWER_STATE_LEVEL_MASK (3u << 24)

/* SYSTEM_RESET2 reset_type. */
#define ARM64_PSCI_RESET2_VENDOR (1u << 31)
#define ARM64_PSCI_RESET2_WARM_RESET 0u

/* MPIDR_EL1 affinity fields: Aff3 [39:32], Aff2..Aff0 [23:0]. */
#define ARM64_PSCI_MPIDR_AFFINITY_MASK 0xff00ffffffull

/* A vCPU's power state; the values are AFFINITY_INFO's answers. */
typedef enum arm64_psci_state {
    ARM64_PSCI_STATE_ON = 0,
    ARM64_PSCI_STATE_OFF = 1,
    ARM64_PSCI_STATE_ON_PENDING = 2,
} arm64_psci_state_t;

/*
 * What the module asks of the backend.  All are called from the calling
 * vCPU's thread, without the module's lock held.
 */
typedef struct arm64_psci_ops {
    /*
     * Start vCPU @cpu (required): the backend puts it in the state PSCI
     * prescribes for a CPU_ON entry (DEN0022 "CPU_ON" and the rules for
     * the caller's entry state): PC = @entry, X0 = @context_id, PSTATE =
     * EL1h with D, A, I and F masked, SCTLR_EL1 with the MMU and caches
     * off, in the caller's execution state (AArch64 here), other registers
     * as at a vCPU reset; then lets it run, and calls
     * arm64_psci_cpu_running() once it does.  It may return before the vCPU
     * runs.  It can arrive before the target's own thread has acted on the
     * ARM64_SMCCC_CPU_OFF of its last CPU_OFF (stop_vcpu() always came
     * first): the backend must latch it rather than lose it.  Returns 0,
     * or a negative errno (the call then fails with INTERNAL_FAILURE and
     * the target is OFF again).
     */
    int (*start_vcpu)(void *opaque, unsigned int cpu, uint64_t entry, uint64_t context_id);
    /* vCPU @cpu (the caller) is turning itself off (required).  Called
     * before its state reads OFF, so a start_vcpu() for it can only follow. */
    void (*stop_vcpu)(void *opaque, unsigned int cpu);
    /* The guest asked for power-off / a reset (both required). */
    void (*system_off)(void *opaque);
    void (*system_reset)(void *opaque);
    /*
     * Optional: the vCPU index with MPIDR affinity @mpidr (Aff3..Aff0 only,
     * other bits clear), or a negative value when none has it.  When NULL,
     * arm64_psci_config_t.mpidr maps indexes to MPIDRs.
     */
    int (*mpidr_to_index)(void *opaque, uint64_t mpidr);
} arm64_psci_ops_t;

/* A range of guest RAM entry points may lie in. */
typedef struct arm64_psci_ram {
    uint64_t base;
    uint64_t size;
} arm64_psci_ram_t;

typedef struct arm64_psci_config {
    unsigned int nr_cpus;        /* 1..ARM64_PSCI_MAX_CPUS */
    const arm64_psci_ops_t *ops; /* kept by reference: must outlive the module */
    void *opaque;                /* passed to every op */
    /* MPIDR_EL1 of vCPU i (affinity bits only are used, all distinct);
     * copied; required unless ops->mpidr_to_index is set. */
    const uint64_t *mpidr;
    /* Guest RAM ranges (copied); CPU_ON entry points must lie inside one. */
    const arm64_psci_ram_t *ram;
    size_t nr_ram; /* at least 1 */
} arm64_psci_config_t;

#define ARM64_PSCI_MAX_CPUS 4096u

typedef struct arm64_psci arm64_psci_t;

/*
 * Create the state machine in its boot state.  Returns 0; -EINVAL for a bad
 * config (no CPUs, too many, a missing op, no RAM range or an empty one, no
 * way to map MPIDRs, two vCPUs sharing an MPIDR); -ENOMEM.
 */
int arm64_psci_create(const arm64_psci_config_t *cfg, arm64_psci_t **out);

/* Free (NULL is fine).  Unregister it first (destroy its registry). */
void arm64_psci_destroy(arm64_psci_t *psci);

/*
 * Register as the PSCI service (standard secure service, functions
 * 0x00-0x1F) in @smccc.  Returns arm64_smccc_register()'s result.
 */
int arm64_psci_register(arm64_psci_t *psci, arm64_smccc_t *smccc);

/*
 * Handle one PSCI call directly (what the registry calls).  @call's W0 is a
 * PSCI function ID; SMC32 arguments are masked here too.
 */
arm64_smccc_action_t arm64_psci_call(arm64_psci_t *psci, const arm64_smccc_call_t *call,
                                     arm64_smccc_result_t *res);

/* PSCI_FEATURES' answer for @fid. */
int32_t arm64_psci_features(const arm64_psci_t *psci, uint32_t fid);

/* Back to the boot state: CPU 0 ON, every other CPU OFF (call with the vCPUs stopped). */
void arm64_psci_reset(arm64_psci_t *psci);

/*
 * The backend reports that vCPU @cpu, started by CPU_ON, now runs guest
 * code: ON_PENDING becomes ON.  Other states are left alone.
 */
void arm64_psci_cpu_running(arm64_psci_t *psci, unsigned int cpu);

/* vCPU @cpu's state; OFF for an index out of range. */
arm64_psci_state_t arm64_psci_cpu_state(arm64_psci_t *psci, unsigned int cpu);

/* "PSCI_VERSION", "CPU_ON", "CPU_ON_64", ... or NULL for an unknown ID. */
const char *arm64_psci_func_name(uint32_t fid);

/* "ON", "OFF", "ON_PENDING". */
const char *arm64_psci_state_name(arm64_psci_state_t state);

#ifdef __cplusplus
}
#endif

#endif /* VMMKIT_ARM64_PSCI_H */
