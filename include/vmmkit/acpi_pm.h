/*
 * acpi_pm.h - register model of the ACPI fixed hardware an x86 guest's
 * power management uses: the PM1a event and control blocks, the PM timer
 * and the reset register.
 *
 * An x86 guest that is not "hardware-reduced" finds these registers through
 * the FADT (x86_acpi.h writes one describing them at the ports below):
 *
 *   PM1a_EVT_BLK  4 bytes: PM1_STS (2, write 1 to clear) then PM1_EN (2)
 *                 (ACPI 6.4, 4.8.4.1)
 *   PM1a_CNT_BLK  2 bytes: PM1_CNT: SCI_EN, SLP_TYPx, SLP_EN (4.8.4.2)
 *   PM_TMR_BLK    4 bytes: the 3.579545 MHz power management timer (4.8.4.3)
 *   RESET_REG     1 byte at 0xcf9 (4.8.4.6, the FADT's RESET_REG)
 *
 * What the guest does with them, and what this model makes of it:
 *  - ACPI mode is always on: the FADT has no SMI_CMD, so there is no
 *    transition to make, and SCI_EN reads as 1 whatever is written.
 *  - Power off: the guest writes the \_S5 package's SLP_TYPa value
 *    (ACPI_PM_SLP_TYP_S5) with SLP_EN.  The model calls sleep(5); other
 *    sleep types are not modelled and are answered ACPI_PM_SLEEP_IGNORED.
 *  - Reset: a byte write to the reset register with RST_CPU (bit 2) set,
 *    such as the FADT's RESET_VALUE 0x06 (SYS_RST | RST_CPU) or Linux's
 *    "reboot=pci" values 0x06 and 0x0e, calls reset().  SYS_RST (bit 1,
 *    hard) and FULL_RST (bit 3) are stored and read back but make no
 *    difference: a VM's reset is always a whole-machine reset.  Only a
 *    1-byte access exactly at the port is the reset register: 0xcf9 lies
 *    inside PCI configuration mechanism #1's CONFIG_ADDRESS (0xcf8-0xcfb),
 *    and a 2- or 4-byte access there is CONFIG_ADDRESS, not a reset (as on
 *    Intel's chipsets), so it is answered ACPI_PM_BAD_PORT for the caller
 *    to route elsewhere.
 *  - The power button: the VMM calls acpi_pm_power_button(), which sets
 *    PWRBTN_STS; with PWRBTN_EN set the SCI is raised until the guest
 *    clears the status (a fixed-feature button: the FADT's PWR_BUTTON flag
 *    is clear).
 *  - The PM timer counts at ACPI_PM_TIMER_HZ from the caller's monotonic
 *    nanosecond clock, 24 bits wide, or 32 with timer_32bit (the FADT's
 *    TMR_VAL_EXT flag must say the same).  TMR_STS is set each time the
 *    counter's top bit changes; it is evaluated on every register access
 *    and by acpi_pm_update(), which a VMM that lets the guest enable
 *    TMR_EN calls at acpi_pm_timer_deadline() (Linux never enables it).
 *  - The SCI is a level: high while (PM1_STS & PM1_EN) has TMR, PWRBTN,
 *    GBL, SLPBTN or RTC set.  set_irq is called on changes only.
 *
 * What is not modelled: sleeping states S1-S4 (no wake), the global lock
 * and GBL_RLS, bus master status, RTC and sleep-button events, PM1b and
 * GPE blocks (the FADT declares none).
 *
 * Ports: the model is given absolute port numbers and answers any port and
 * width: bytes of an access that fall on none of its registers read as 0xff
 * (an undriven ISA bus) and are dropped on write.  Accesses may be 1, 2 or
 * 4 bytes at any offset inside a block: the registers behave as little-
 * endian byte arrays, a write affecting only the bytes it covers.
 *
 * Not thread-safe: the caller serialises every call on one acpi_pm_t (a
 * mutex around port handling, acpi_pm_power_button() and acpi_pm_update()).
 * Callbacks run inside those calls and must not call back into the same
 * acpi_pm_t.  No assertion depends on a guest value.
 */
#ifndef VMMKIT_ACPI_PM_H
#define VMMKIT_ACPI_PM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Default ports (QEMU's ICH9 layout at 0x600), what x86_acpi.h's FADT uses. */
#define ACPI_PM_DEFAULT_PM1A_EVT_PORT 0x600u
#define ACPI_PM_DEFAULT_PM1A_CNT_PORT 0x604u
#define ACPI_PM_DEFAULT_PM_TMR_PORT 0x608u
/* The reset control register of PC chipsets (RST_CNT). */
#define ACPI_PM_DEFAULT_RESET_PORT 0xcf9u
/* RESET_VALUE the FADT gives: SYS_RST | RST_CPU, a hard reset. */
#define ACPI_PM_RESET_VALUE 0x06u

/* Block lengths, the FADT's PM1_EVT_LEN, PM1_CNT_LEN and PM_TMR_LEN. */
#define ACPI_PM_PM1_EVT_LEN 4u
#define ACPI_PM_PM1_CNT_LEN 2u
#define ACPI_PM_TMR_LEN 4u

/* The PM timer's frequency (ACPI 6.4, 4.8.4.3). */
#define ACPI_PM_TIMER_HZ 3579545u

/*
 * SLP_TYPx value of the \_S5 (soft off) package the DSDT carries and the
 * model recognises.  Chipset specific by design (ACPI 6.4, 7.4.2); 5 reads
 * as S5 in a trace, and 0 - what a guest writes when it does not know
 * better - stays "not a sleep state".
 */
#define ACPI_PM_SLP_TYP_S5 5u
/* The sleeping state passed to the sleep callback for soft off. */
#define ACPI_PM_STATE_S5 5u

/* PM1_STS bits (ACPI 6.4, 4.8.4.1.1, Table 4.11). */
#define ACPI_PM1_STS_TMR (1u << 0)
#define ACPI_PM1_STS_BM (1u << 4)
#define ACPI_PM1_STS_GBL (1u << 5)
#define ACPI_PM1_STS_PWRBTN (1u << 8)
#define ACPI_PM1_STS_SLPBTN (1u << 9)
#define ACPI_PM1_STS_RTC (1u << 10)
#define ACPI_PM1_STS_PCIEXP_WAKE (1u << 14)
#define ACPI_PM1_STS_WAK (1u << 15)

/* PM1_EN bits (4.8.4.1.2, Table 4.12). */
#define ACPI_PM1_EN_TMR (1u << 0)
#define ACPI_PM1_EN_GBL (1u << 5)
#define ACPI_PM1_EN_PWRBTN (1u << 8)
#define ACPI_PM1_EN_SLPBTN (1u << 9)
#define ACPI_PM1_EN_RTC (1u << 10)
#define ACPI_PM1_EN_PCIEXP_WAKE_DIS (1u << 14)

/* PM1_CNT bits (4.8.4.2.1, Table 4.13). */
#define ACPI_PM1_CNT_SCI_EN (1u << 0)
#define ACPI_PM1_CNT_BM_RLD (1u << 1)
#define ACPI_PM1_CNT_GBL_RLS (1u << 2)
#define ACPI_PM1_CNT_SLP_TYP_SHIFT 10
#define ACPI_PM1_CNT_SLP_TYP_MASK (7u << 10)
#define ACPI_PM1_CNT_SLP_EN (1u << 13)

/* Reset control register bits (Intel chipsets' RST_CNT at 0xcf9). */
#define ACPI_PM_RST_SYS (1u << 1)  /* hard reset */
#define ACPI_PM_RST_CPU (1u << 2)  /* 0->1 starts the reset */
#define ACPI_PM_RST_FULL (1u << 3) /* full (power-cycle) reset */

/* What a port access did.  Every value still completes the access. */
typedef enum acpi_pm_result {
    ACPI_PM_OK = 0,        /* a register was read or written */
    ACPI_PM_IGNORED,       /* a register, but the write has no effect: the
                              PM timer is read-only */
    ACPI_PM_SLEEP_IGNORED, /* SLP_EN with a SLP_TYP that is not \_S5's: the
                              request is dropped (log it) */
    ACPI_PM_BAD_PORT,      /* no register of this model there: reads all
                              ones, writes dropped */
    ACPI_PM_BAD_WIDTH,     /* width not 1, 2 or 4: reads all ones, writes dropped */
} acpi_pm_result_t;

/* Monotonic time in nanoseconds (e.g. CLOCK_MONOTONIC). */
typedef uint64_t (*acpi_pm_clock_fn)(void *opaque);
/* The SCI line changed to @level (0 or 1). */
typedef void (*acpi_pm_set_irq_fn)(void *opaque, int level);
/* The guest entered sleeping state @state (ACPI_PM_STATE_S5: power off). */
typedef void (*acpi_pm_sleep_fn)(void *opaque, unsigned int state);
/* The guest asked for a reset through the reset register. */
typedef void (*acpi_pm_reset_fn)(void *opaque);

typedef struct acpi_pm_config {
    /* Ports; 0 = the ACPI_PM_DEFAULT_* value.  The blocks must not overlap. */
    uint16_t pm1a_evt_port;
    uint16_t pm1a_cnt_port;
    uint16_t pm_tmr_port;
    uint16_t reset_port;
    bool timer_32bit; /* TMR_VAL_EXT: a 32-bit counter (default 24 bits) */

    acpi_pm_clock_fn clock;     /* required */
    acpi_pm_set_irq_fn set_irq; /* NULL: no SCI line */
    acpi_pm_sleep_fn sleep;     /* NULL: power off is ignored (still ACPI_PM_OK) */
    acpi_pm_reset_fn reset;     /* NULL: reset is ignored */
    void *opaque;               /* passed to every callback */
} acpi_pm_config_t;

/* The device.  Opaque in spirit: use the functions, not the fields. */
typedef struct acpi_pm {
    acpi_pm_config_t cfg;
    uint16_t pm1_sts, pm1_en, pm1_cnt;
    uint8_t reset_reg;
    uint64_t timer_base_ns; /* the clock when the counter was 0 */
    uint64_t timer_epoch;   /* counter top-bit changes seen so far */
    int sci_level;          /* what set_irq was last told */
} acpi_pm_t;

/*
 * Initialise @pm in its reset state with @cfg's callbacks (the timer starts
 * at 0 now).  Returns 0, or -EINVAL when @pm, @cfg or cfg->clock is NULL or
 * the port blocks overlap or run past 0xffff.  Does not call set_irq.
 */
int acpi_pm_init(acpi_pm_t *pm, const acpi_pm_config_t *cfg);

/*
 * Reset the registers (status, enables, sleep type and the reset register to
 * 0, SCI_EN to 1) and restart the timer at 0; set_irq(0) if the SCI was high.
 * The VMM calls this when the VM resets.
 */
void acpi_pm_reset(acpi_pm_t *pm);

/*
 * A guest IN of @width bytes at absolute port @port.
 * @val: receives the value (all-ones bytes where no register is).
 * Returns an acpi_pm_result_t; the access is complete whatever it says.
 */
acpi_pm_result_t acpi_pm_io_read(acpi_pm_t *pm, uint16_t port, unsigned int width, uint32_t *val);

/*
 * A guest OUT of the low @width bytes of @val at absolute port @port.  May
 * call sleep, reset and set_irq.
 * Returns an acpi_pm_result_t; the access is complete whatever it says.
 */
acpi_pm_result_t acpi_pm_io_write(acpi_pm_t *pm, uint16_t port, unsigned int width, uint32_t val);

/* The power button was pressed: set PWRBTN_STS and update the SCI. */
void acpi_pm_power_button(acpi_pm_t *pm);

/* Re-evaluate TMR_STS against the clock and update the SCI. */
void acpi_pm_update(acpi_pm_t *pm);

/*
 * When (on the config's clock, in ns) the timer's top bit next changes,
 * i.e. when acpi_pm_update() would next raise TMR_STS; UINT64_MAX while
 * TMR_EN is clear.
 */
uint64_t acpi_pm_timer_deadline(acpi_pm_t *pm);

/* The PM timer's current value (24 or 32 bits). */
uint32_t acpi_pm_timer_read(acpi_pm_t *pm);

/* The SCI line's level. */
int acpi_pm_sci_level(const acpi_pm_t *pm);

/* A short name for an acpi_pm_result_t ("ok", "bad-port", ...), for logs. */
const char *acpi_pm_result_name(acpi_pm_result_t result);

#ifdef __cplusplus
}
#endif
#endif
