/*
 * virt_psci.c - the arm64 virt board's firmware interface: PSCI 1.1 and the
 * SMCCC services served by the VMM itself (arm64_psci.h, arm64_smccc.h)
 * where the hypervisor forwards the guest's HVC/SMC calls, and the
 * hypervisor's own PSCI where it cannot.
 *
 * Forwarded: PSCI (standard secure service, function numbers 0x00-0x1f,
 * SMC32 and SMC64), SiP and OEM calls (all numbers); the Arm architecture
 * calls (SMCCC_VERSION, the mitigation workarounds) stay with the
 * hypervisor.  The board registers one SiP service of its own,
 * VIRT_SIP_IDENTIFY, and users register more through arm64_virt_smccc().
 */
#include <errno.h>
#include <string.h>

#include <vmmkit/arm64.h>
#include <vmmkit/log.h>

#include "arch/arm64/virt_priv.h"

#define SMC32_FAST(owner) (0x80000000u | ((uint32_t)(owner) << 24))
#define SMC64_FAST(owner) (0xc0000000u | ((uint32_t)(owner) << 24))

/* The function ranges the board takes from the hypervisor. */
static const struct {
    unsigned int owner;
    uint32_t count;
} forwarded[] = {
    {ARM64_SMCCC_OWNER_STANDARD, 0x20}, /* PSCI */
    {ARM64_SMCCC_OWNER_SIP, 0x10000},   /* silicon provider */
    {ARM64_SMCCC_OWNER_OEM, 0x10000},   /* OEM */
};

static int psci_start_vcpu(void *opaque, unsigned int cpu, uint64_t entry, uint64_t context_id)
{
    arm64_virt_t *b = opaque;
    vm_vcpu_t *vcpu = vm_get_vcpu(b->vm, cpu);

    return vcpu ? vm_vcpu_arm64_power_on(vcpu, entry, context_id) : -EINVAL;
}

/* The core powers the caller off, and stops the VM, from the call's action. */
static void psci_stop_vcpu(void *opaque, unsigned int cpu)
{
}
static void psci_system_off(void *opaque)
{
}
static void psci_system_reset(void *opaque)
{
}

static const arm64_psci_ops_t psci_ops = {
    .start_vcpu = psci_start_vcpu,
    .stop_vcpu = psci_stop_vcpu,
    .system_off = psci_system_off,
    .system_reset = psci_system_reset,
};

/* SiP 0: who answers.  x0 = SUCCESS, x1 = VIRT_SIP_MAGIC, x2 = the call's cpu. */
static arm64_smccc_action_t sip_identify(void *opaque, const arm64_smccc_call_t *call,
                                         arm64_smccc_result_t *res)
{
    (void)opaque;
    res->x[0] = 0;
    res->x[1] = ARM64_VIRT_SIP_MAGIC;
    res->x[2] = call->cpu;
    return ARM64_SMCCC_RESUME;
}

static arm64_smccc_action_t virt_smccc_call(vm_vcpu_t *vcpu, const arm64_smccc_call_t *call,
                                            arm64_smccc_result_t *res, void *opaque)
{
    arm64_virt_t *b = opaque;

    (void)vcpu;
    return arm64_smccc_dispatch(b->smccc, call, res);
}

static void psci_reset_hook(vm_t *vm, void *cookie)
{
    arm64_virt_t *b = cookie;

    arm64_psci_reset(b->psci);
}

int virt_psci_create(arm64_virt_t *b, char *err, size_t errlen)
{
    unsigned int n = b->cfg.cpus;
    uint64_t mpidr[n];
    arm64_psci_ram_t ram = {.base = ARM64_VIRT_RAM_BASE, .size = b->cfg.ram_size};
    int r;

    for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++) {
        r = vm_arm64_smccc_forward(b->vm, SMC32_FAST(forwarded[i].owner), forwarded[i].count);
        if (r == 0)
            r = vm_arm64_smccc_forward(b->vm, SMC64_FAST(forwarded[i].owner), forwarded[i].count);
        if (r == -EOPNOTSUPP && i == 0) {
            LOG_INFO("PSCI: the hypervisor's (it cannot forward SMCCC calls to the VMM)");
            return 0;
        }
        if (r < 0)
            return board_errorf(err, errlen, r, "cannot forward SMCCC calls to the VMM: %s",
                                strerror(-r));
    }
    for (unsigned int i = 0; i < n; i++)
        mpidr[i] = vm_vcpu_arm64_mpidr(vm_get_vcpu(b->vm, i));
    r = arm64_smccc_create(&b->smccc);
    if (r == 0)
        r = arm64_psci_create(&(arm64_psci_config_t){.nr_cpus = n,
                                                     .ops = &psci_ops,
                                                     .opaque = b,
                                                     .mpidr = mpidr,
                                                     .ram = &ram,
                                                     .nr_ram = 1},
                              &b->psci);
    if (r == 0)
        r = arm64_psci_register(b->psci, b->smccc);
    if (r == 0)
        r = arm64_smccc_register(b->smccc, &(arm64_smccc_service_t){.name = "vmmkit-sip",
                                                                    .owner = ARM64_SMCCC_OWNER_SIP,
                                                                    .first = 0,
                                                                    .last = 0,
                                                                    .call = sip_identify});
    if (r == 0)
        r = vm_arm64_set_smccc_handler(b->vm, virt_smccc_call, b);
    if (r == 0)
        r = vm_register_reset_hook(b->vm, psci_reset_hook, b);
    if (r < 0)
        return board_errorf(err, errlen, r, "cannot set up PSCI in the VMM: %s", strerror(-r));
    LOG_INFO("PSCI: 1.1 in the VMM (HVC/SMC calls forwarded: PSCI, SiP, OEM)");
    return 0;
}

void virt_psci_destroy(arm64_virt_t *b)
{
    arm64_smccc_destroy(b->smccc); /* the registry first: it refers to the PSCI module */
    arm64_psci_destroy(b->psci);
    b->psci = NULL;
    b->smccc = NULL;
}

arm64_smccc_t *arm64_virt_smccc(arm64_virt_t *b)
{
    return b ? b->smccc : NULL;
}
