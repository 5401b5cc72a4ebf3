/*
 * pc_pm.c - the x86 pc board's ACPI PM block (acpi_pm.h) on its ports:
 * PM1a event and control (power-off through the DSDT's \_S5), the PM
 * timer, the SCI on GSI 9, and the reset register (0xcf9, reached through
 * pc.c's 0xcf8-0xcff handler).  Under the board's legacy_lock.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <vmmkit/irq.h>
#include <vmmkit/log.h>

#include "arch/x86/pc_priv.h"

static uint64_t pm_clock(void *opaque)
{
    struct timespec ts;

    (void)opaque;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void pm_set_irq(void *opaque, int level)
{
    x86_pc_t *pc = opaque;

    vm_irq_set_level(pc->vm, X86_PC_SCI_GSI, level);
}

static void pm_sleep(void *opaque, unsigned int state)
{
    if (state == ACPI_PM_STATE_S5)
        pc_request_poweroff(opaque, "ACPI S5");
}

static void pm_reset(void *opaque)
{
    pc_request_reset(opaque, "the ACPI reset register");
}

static ioport_fault_result_t pm_in(vm_vcpu_t *vcpu, void *cookie, unsigned int port,
                                   unsigned int size, unsigned int *result)
{
    x86_pc_t *pc = cookie;
    uint32_t v = 0xffffffffu;

    (void)vcpu;
    pthread_mutex_lock(&pc->legacy_lock);
    acpi_pm_io_read(&pc->pm, (uint16_t)port, size, &v);
    pthread_mutex_unlock(&pc->legacy_lock);
    *result = v;
    return IO_FAULT_HANDLED;
}

static ioport_fault_result_t pm_out(vm_vcpu_t *vcpu, void *cookie, unsigned int port,
                                    unsigned int size, unsigned int value)
{
    x86_pc_t *pc = cookie;
    acpi_pm_result_t r;

    (void)vcpu;
    pthread_mutex_lock(&pc->legacy_lock);
    r = acpi_pm_io_write(&pc->pm, (uint16_t)port, size, value);
    pthread_mutex_unlock(&pc->legacy_lock);
    if (r == ACPI_PM_SLEEP_IGNORED)
        LOG_WARN_RL(&pc->pm_rl,
                    "%s: the guest asked for a sleeping state this board does not have "
                    "(PM1a_CNT %#x); only S5 (power off) is",
                    vm_name(pc->vm), value);
    return IO_FAULT_HANDLED;
}

void pc_pm_write_reset(x86_pc_t *pc, unsigned int value)
{
    pthread_mutex_lock(&pc->legacy_lock);
    acpi_pm_io_write(&pc->pm, X86_PC_RESET_PORT, 1, value);
    pthread_mutex_unlock(&pc->legacy_lock);
}

int pc_pm_create(x86_pc_t *pc, char *err, size_t errlen)
{
    acpi_pm_config_t c = {
        .reset_port = X86_PC_RESET_PORT,
        .clock = pm_clock,
        .set_irq = pm_set_irq,
        .sleep = pm_sleep,
        .reset = pm_reset,
        .opaque = pc,
    };
    vm_ioport_interface_t iface = {
        .cookie = pc, .port_in = pm_in, .port_out = pm_out, .desc = "the ACPI PM block"};
    /* PM1a_EVT, PM1a_CNT and the PM timer lie back to back from 0x600 */
    vm_ioport_range_t range = {ACPI_PM_DEFAULT_PM1A_EVT_PORT,
                               ACPI_PM_DEFAULT_PM_TMR_PORT + ACPI_PM_TMR_LEN - 1};
    int r = acpi_pm_init(&pc->pm, &c);

    vmm_ratelimit_init(&pc->pm_rl, 5000, 10);

    if (r < 0)
        return board_errorf(err, errlen, r, "cannot set up the ACPI PM block: %s", strerror(-r));
    r = vm_io_port_add_handler(pc->vm, range, iface);
    if (r < 0)
        return board_errorf(err, errlen, r, "cannot claim the ACPI PM ports: %s", strerror(-r));
    return 0;
}

void pc_pm_reset(x86_pc_t *pc)
{
    acpi_pm_reset(&pc->pm);
}
