/*
 * arm64_smccc.h - the SMC Calling Convention: function IDs and a registry
 * of the services a virtual machine monitor offers through HVC or SMC.
 *
 * A guest asks firmware (or the hypervisor) for a service by putting a
 * function ID in W0, arguments in X1..X7 and executing HVC #0 or SMC #0; the
 * results come back in X0..X3.  The function ID says who owns the call and
 * how to read it (Arm DEN0028 "SMC Calling Convention" v1.1 and later,
 * 2.5 "Function Identifiers"; yielding-call ranges in 2.5.2):
 *
 *   bit 31      1 = fast call, 0 = yielding call
 *   bit 30      1 = SMC64/HVC64 (64-bit arguments), 0 = SMC32/HVC32
 *   bits 29:24  owning entity number (OEN): 0 Arm architecture, 1 CPU
 *               service, 2 SiP, 3 OEM, 4 standard secure service (PSCI,
 *               TRNG, ...), 5 standard hypervisor service, 6 vendor-specific
 *               hypervisor service, 7 vendor-specific EL3 monitor, 8-47
 *               reserved, 48-49 trusted applications, 50-63 trusted OS
 *   bits 23:16  must be zero in a fast call (this module implements SMCCC
 *               1.1, where all eight bits are reserved)
 *   bits 15:0   function number within the entity
 *
 * arm64_smccc_t is a registry: services register a range of function
 * numbers of one owning entity, and arm64_smccc_dispatch() routes a call to
 * its handler, which fills X0..X3.  The registry itself answers:
 *   - SMCCC_VERSION (0x80000000): 1.1, i.e. 0x10001;
 *   - SMCCC_ARCH_FEATURES (0x80000001): for the queried function ID, the
 *     answer of its service (its features callback, or SUCCESS when it has
 *     none), SUCCESS for SMCCC_VERSION and SMCCC_ARCH_FEATURES themselves,
 *     NOT_SUPPORTED for anything nobody registered;
 *   - the general service queries (DEN0028 "General Service Queries": Call
 *     Count 0xFF00, Call UID 0xFF01, Revision 0xFF03; SMC32 fast calls of
 *     any entity but the Arm architecture one) for an entity whose owner
 *     called arm64_smccc_set_service_info(); NOT_SUPPORTED otherwise;
 *   - NOT_SUPPORTED (-1 in X0) for anything else: unregistered IDs,
 *     yielding calls (no trusted OS is emulated), and malformed fast calls
 *     (bits 23:16 not zero).
 *
 * SMC32/HVC32 calls: only the low 32 bits of X1..X7 are significant (DEN0028
 * "SMC32/HVC32 argument passing": the upper halves are ignored), so the
 * dispatcher clears the upper halves before a handler sees them; a handler
 * never has to mask.  W0 is the function ID: the upper half of X0 is
 * ignored for every call.
 * Results are 64-bit values: negative return codes are sign-extended, which
 * an SMC32 caller reads in W0..W3 (the upper halves it must ignore).
 *
 * Threads: register services before any vCPU runs; after that the registry
 * is only read, and arm64_smccc_dispatch() may be called from every vCPU
 * thread at once.  Handlers run on the calling vCPU's thread and must do
 * their own locking.
 *
 * Pure: no hypervisor calls.  The backend reads the call from the vCPU's
 * registers on an HVC or SMC trap, dispatches, and acts on the result (see
 * arm64_smccc_action_t).  After an HVC the guest's PC already points past
 * the instruction; after a trapped SMC it points at the SMC, and the backend
 * adds 4 before resuming.
 */
#ifndef VMMKIT_ARM64_SMCCC_H
#define VMMKIT_ARM64_SMCCC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Function ID fields (DEN0028 2.5.1, fast calls). */
#define ARM64_SMCCC_FAST_CALL (1u << 31)
#define ARM64_SMCCC_64 (1u << 30)
#define ARM64_SMCCC_OWNER_SHIFT 24
#define ARM64_SMCCC_OWNER_MASK 0x3fu
#define ARM64_SMCCC_MBZ_MASK 0x00ff0000u
#define ARM64_SMCCC_FUNC_MASK 0xffffu

/* Build a fast-call function ID. */
#define ARM64_SMCCC_FAST_ID(is64, owner, func)                                                     \
    (ARM64_SMCCC_FAST_CALL | ((is64) ? ARM64_SMCCC_64 : 0u) |                                      \
     (((uint32_t)(owner)&ARM64_SMCCC_OWNER_MASK) << ARM64_SMCCC_OWNER_SHIFT) |                     \
     ((uint32_t)(func)&ARM64_SMCCC_FUNC_MASK))

/* Owning entity numbers of fast calls (DEN0028 "Function Identifier ranges"). */
typedef enum arm64_smccc_owner {
    ARM64_SMCCC_OWNER_ARCH = 0,
    ARM64_SMCCC_OWNER_CPU = 1,
    ARM64_SMCCC_OWNER_SIP = 2,
    ARM64_SMCCC_OWNER_OEM = 3,
    ARM64_SMCCC_OWNER_STANDARD = 4,     /* standard secure service: PSCI, TRNG, ... */
    ARM64_SMCCC_OWNER_STANDARD_HYP = 5, /* standard hypervisor service */
    ARM64_SMCCC_OWNER_VENDOR_HYP = 6,   /* vendor-specific hypervisor service */
    ARM64_SMCCC_OWNER_VENDOR_EL3 = 7,   /* vendor-specific EL3 monitor service */
    ARM64_SMCCC_OWNER_TRUSTED_APP = 48, /* 48-49 */
    ARM64_SMCCC_OWNER_TRUSTED_APP_END = 49,
    ARM64_SMCCC_OWNER_TRUSTED_OS = 50, /* 50-63 */
    ARM64_SMCCC_OWNER_TRUSTED_OS_END = 63,
} arm64_smccc_owner_t;

/* Return codes in X0 (DEN0028 "Arm Architecture Calls"). */
#define ARM64_SMCCC_RET_SUCCESS 0
#define ARM64_SMCCC_RET_NOT_SUPPORTED (-1)
#define ARM64_SMCCC_RET_NOT_REQUIRED (-2)
#define ARM64_SMCCC_RET_INVALID_PARAMETER (-3)

/* Arm architecture calls (DEN0028 "Arm Architecture Calls"). */
#define ARM64_SMCCC_VERSION 0x80000000u
#define ARM64_SMCCC_ARCH_FEATURES 0x80000001u
#define ARM64_SMCCC_ARCH_SOC_ID 0x80000002u
#define ARM64_SMCCC_ARCH_WORKAROUND_1 0x80008000u
#define ARM64_SMCCC_ARCH_WORKAROUND_2 0x80007fffu
#define ARM64_SMCCC_ARCH_WORKAROUND_3 0x80003fffu

/* The version this module implements, as SMCCC_VERSION returns it. */
#define ARM64_SMCCC_VERSION_1_1 0x10001u

/* General service queries, function numbers within an entity (DEN0028). */
#define ARM64_SMCCC_FUNC_CALL_COUNT 0xff00u
#define ARM64_SMCCC_FUNC_CALL_UID 0xff01u
#define ARM64_SMCCC_FUNC_REVISION 0xff03u

/* A function ID taken apart. */
typedef struct arm64_smccc_fid {
    uint32_t raw;
    bool fast;          /* bit 31 */
    bool is64;          /* bit 30: SMC64/HVC64 convention */
    unsigned int owner; /* bits 29:24 */
    unsigned int func;  /* bits 15:0 */
    bool malformed;     /* a fast call with bits 23:16 not zero */
} arm64_smccc_fid_t;

/* Decode @fid. */
arm64_smccc_fid_t arm64_smccc_decode(uint32_t fid);

/*
 * The owning entity's name for a call of kind @fast: "Arm architecture",
 * "CPU service", "SiP", "OEM", "standard secure service", "standard
 * hypervisor service", "vendor hypervisor service", "vendor EL3 monitor",
 * "reserved", "trusted application", "trusted OS"; for yielding calls
 * "Armv7 legacy" (0-1) or "trusted OS" (2-63).  Never NULL.
 */
const char *arm64_smccc_owner_name(unsigned int owner, bool fast);

/*
 * The name of a call this module knows ("SMCCC_VERSION", "SMCCC_ARCH_FEATURES",
 * "SMCCC_ARCH_WORKAROUND_1", "CALL_UID", ...), or NULL.  Services' own names
 * (PSCI's) come from the service (arm64_psci_func_name()).
 */
const char *arm64_smccc_call_name(uint32_t fid);

/*
 * One line for a log: "0xc4000003 (fast SMC64, standard secure service,
 * function 0x0003)", with " malformed" when bits 23:16 are set.  Returns the
 * full length, as snprintf() does.
 */
int arm64_smccc_describe(uint32_t fid, char *buf, size_t len);

/* A call as the guest made it. */
typedef struct arm64_smccc_call {
    uint64_t x[8];    /* X0..X7 at the HVC/SMC; W0 is the function ID */
    unsigned int cpu; /* index of the calling vCPU */
} arm64_smccc_call_t;

/* What goes back into X0..X3 (unused result registers are 0). */
typedef struct arm64_smccc_result {
    uint64_t x[4];
} arm64_smccc_result_t;

/*
 * What the calling vCPU does once the call is handled.  For every action but
 * CPU_OFF the backend writes X0..X3 from the result (the guest never sees
 * them after SYSTEM_OFF/RESET, but writing is harmless).
 */
typedef enum arm64_smccc_action {
    ARM64_SMCCC_RESUME = 0,   /* write X0..X3 and resume the guest after the call */
    ARM64_SMCCC_WAIT,         /* write X0..X3, then wait for an interrupt as for a
                                 WFI before resuming (PSCI CPU_SUSPEND) */
    ARM64_SMCCC_CPU_OFF,      /* the calling vCPU is now off: do not resume it until
                                 it is started again (PSCI CPU_OFF) */
    ARM64_SMCCC_SYSTEM_OFF,   /* the guest asked to power the VM off */
    ARM64_SMCCC_SYSTEM_RESET, /* the guest asked to reset the VM */
} arm64_smccc_action_t;

/* "RESUME", "WAIT", "CPU_OFF", "SYSTEM_OFF", "SYSTEM_RESET". */
const char *arm64_smccc_action_name(arm64_smccc_action_t action);

/*
 * A service handler.  @call's X1..X7 are already masked to 32 bits for an
 * SMC32 call.  @res arrives with X0 = NOT_SUPPORTED and X1..X3 = 0.
 */
typedef arm64_smccc_action_t (*arm64_smccc_handler_fn)(void *opaque, const arm64_smccc_call_t *call,
                                                       arm64_smccc_result_t *res);

/*
 * SMCCC_ARCH_FEATURES for one function ID of the service: SUCCESS (0) or a
 * non-negative feature word when implemented, NOT_SUPPORTED when not (or
 * NOT_REQUIRED, for the workaround calls).
 */
typedef int32_t (*arm64_smccc_features_fn)(void *opaque, uint32_t fid);

/* A service: function numbers first..last of one owning entity, both conventions. */
typedef struct arm64_smccc_service {
    const char *name;                 /* for logs, e.g. "PSCI" */
    unsigned int owner;               /* 0..63 */
    uint16_t first, last;             /* function numbers, inclusive */
    arm64_smccc_handler_fn call;      /* required */
    arm64_smccc_features_fn features; /* optional: NULL answers SUCCESS for every ID */
    void *opaque;
} arm64_smccc_service_t;

/* Implementor details for the general service queries of one entity. */
typedef struct arm64_smccc_service_info {
    uint32_t uid[4];     /* Call UID: returned in W0..W3 (uid[0] in W0) */
    uint32_t rev_major;  /* Revision: W0 */
    uint32_t rev_minor;  /* Revision: W1 */
    uint32_t call_count; /* Call Count (deprecated by SMCCC 1.2): 0 = not answered */
} arm64_smccc_service_info_t;

typedef struct arm64_smccc arm64_smccc_t;

/* Counters (monotonic, read with arm64_smccc_get_stats()). */
typedef struct arm64_smccc_stats {
    uint64_t calls;         /* every dispatch */
    uint64_t not_supported; /* answered NOT_SUPPORTED because nobody owns the ID */
    uint64_t malformed;     /* fast calls with bits 23:16 set */
    uint64_t yielding;      /* yielding calls (always NOT_SUPPORTED) */
} arm64_smccc_stats_t;

/* Create an empty registry.  Returns 0 or -ENOMEM. */
int arm64_smccc_create(arm64_smccc_t **out);

/* Free the registry (NULL is fine).  No dispatch may be running. */
void arm64_smccc_destroy(arm64_smccc_t *s);

/*
 * Add @svc (copied).  Returns 0; -EINVAL for owner > 63, first > last or no
 * handler; -EEXIST when the range overlaps another service's or the
 * registry's own calls (Arm architecture functions 0 and 1); -ENOMEM.
 */
int arm64_smccc_register(arm64_smccc_t *s, const arm64_smccc_service_t *svc);

/*
 * Answer the general service queries of entity @owner (1..63) with @info
 * (copied).  Returns 0 or -EINVAL.
 */
int arm64_smccc_set_service_info(arm64_smccc_t *s, unsigned int owner,
                                 const arm64_smccc_service_info_t *info);

/*
 * What SMCCC_ARCH_FEATURES answers for @fid (see the top of this file).
 * Thread-safe once registration is over.
 */
int32_t arm64_smccc_features(const arm64_smccc_t *s, uint32_t fid);

/*
 * Handle one call: fill @res (X0..X3) and return what the calling vCPU does
 * next.  Thread-safe once registration is over.
 */
arm64_smccc_action_t arm64_smccc_dispatch(arm64_smccc_t *s, const arm64_smccc_call_t *call,
                                          arm64_smccc_result_t *res);

/* Copy out the counters. */
void arm64_smccc_get_stats(const arm64_smccc_t *s, arm64_smccc_stats_t *out);

#ifdef __cplusplus
}
#endif

#endif /* VMMKIT_ARM64_SMCCC_H */
