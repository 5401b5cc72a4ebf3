/*
 * cmos_rtc.h - register model of the PC's real-time clock and CMOS RAM, a
 * Motorola MC146818A behind index port 0x70 and data port 0x71, IRQ 8.
 *
 * 128 bytes are addressed through the index port (bits 6:0; bit 7 is the
 * PC's NMI mask, stored and reported by cmos_rtc_nmi_masked()): the clock's
 * ten time and alarm bytes and registers A-D at 0x00-0x0d, then RAM.  The
 * model follows the MC146818A data sheet ("datasheet" below: "Address Map",
 * "Time, Calendar and Alarm Locations", "Update Cycle", "Registers A-D",
 * "Interrupts"), plus the PC convention of a century byte at 0x32 (what the
 * ACPI FADT's CENTURY field names), which here counts with the clock.
 *
 * Time comes from the board's clock callback (now_ns: nanoseconds since
 * the Unix epoch, e.g. CLOCK_REALTIME; tests fake it).  The clock counts
 * that time, in UTC (a board wanting local time shifts its callback), plus
 * an offset the guest sets by writing the time: the registers are computed
 * on every read, never stored, so there is no thread and no drift.
 * Register B chooses BCD or binary (DM) and 24- or 12-hour mode (with the
 * PM flag in bit 7 of the hours byte); changing either bit changes how the
 * running time reads at once (the chip would keep the old encoding until
 * the next update).  Register B's SET bit and a divider reset in register A
 * (DV2-0 = 11x) hold the clock: the time bytes then read back exactly what
 * the guest wrote, and releasing the hold starts the clock from them (after
 * a divider reset the first update comes 500 ms later, as on the chip).
 * A time byte written while the clock runs changes the time at once.
 * Out-of-range values are taken arithmetically (minute 61 is the next
 * hour's first) and read back normalised; the year is kept in 0000-9999.
 *
 * The update cycle: once a second the time advances; UIP (register A bit 7)
 * is set for the last 2228 us before it (244 us of warning plus the 1984 us
 * update), so a guest that reads the time while UIP is clear (Linux's
 * mc146818_avoid_UIP loop) never sees it change under it.  UF (update
 * ended) is set as the new second appears, AF when the new time matches the
 * three alarm bytes (compared as encoded in the current format; a byte
 * with bits 7:6 both set matches anything), PF at
 * the periodic rate of register A's RS3-0 (none for 0; 3.90625 ms, 7.8125
 * ms, then 122.07 us doubling up to 500 ms for 3-15).  Register C holds the
 * flags and IRQF (set when a flag's enable in register B, PIE/AIE/UIE, is
 * set); reading C returns and clears them all and lowers the interrupt.
 * Register D reads 0x80 (VRT: the RAM and time are valid).  SQWE and DSE
 * are stored and have no effect (no square-wave pin, no daylight saving).
 *
 * No threads, so the flags are brought up to date from the clock at every
 * access (a polling guest sees them without any tick), and the board drives
 * the interrupt: after every call, the model knows the clock time of the
 * next event that would raise IRQ 8 (cmos_rtc_next_event_ns(); the set_timer
 * callback reports each change of it).  The board arms a timer for it on
 * the same clock as now_ns (timerfd with CLOCK_REALTIME, TFD_TIMER_ABSTIME)
 * and calls cmos_rtc_tick() when it fires.  While the interrupt is raised
 * there is no next event: nothing more happens to the line until the guest
 * reads register C, which is an access after which a new time is reported.
 * A periodic rate of 8192 Hz costs the board that many timer wake-ups.
 *
 * IRQ 8 is an ISA edge interrupt: the board drives the level into the PIC /
 * IOAPIC pin; the level rises when IRQF is set and falls when C is read, so
 * every interrupt is a new edge.
 *
 * Not thread-safe: the caller serialises every call on one cmos_rtc_t.
 * Callbacks are made from inside those calls and must not call back into
 * the same cmos_rtc_t.  No assertion depends on a guest value.
 */
#ifndef VMMKIT_CMOS_RTC_H
#define VMMKIT_CMOS_RTC_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Ports: index 0x70 (offset 0), data 0x71 (offset 1); ISA IRQ 8. */
#define CMOS_RTC_PORT_BASE 0x70u
#define CMOS_RTC_NR_PORTS 2u
#define CMOS_RTC_INDEX 0
#define CMOS_RTC_DATA 1
#define CMOS_RTC_IRQ 8u
#define CMOS_RTC_SIZE 128u
#define CMOS_RTC_NMI_MASK 0x80u /* index port bit 7 */

/* Clock registers (datasheet "Address Map"). */
#define CMOS_RTC_SECONDS 0x00
#define CMOS_RTC_SECONDS_ALARM 0x01
#define CMOS_RTC_MINUTES 0x02
#define CMOS_RTC_MINUTES_ALARM 0x03
#define CMOS_RTC_HOURS 0x04
#define CMOS_RTC_HOURS_ALARM 0x05
#define CMOS_RTC_DAY_OF_WEEK 0x06 /* 1-7, Sunday = 1 */
#define CMOS_RTC_DAY_OF_MONTH 0x07
#define CMOS_RTC_MONTH 0x08
#define CMOS_RTC_YEAR 0x09
#define CMOS_RTC_REG_A 0x0a
#define CMOS_RTC_REG_B 0x0b
#define CMOS_RTC_REG_C 0x0c
#define CMOS_RTC_REG_D 0x0d
#define CMOS_RTC_CENTURY 0x32 /* PC convention; the FADT CENTURY field */

/* Register A. */
#define CMOS_RTC_A_UIP 0x80u
#define CMOS_RTC_A_DV_MASK 0x70u
#define CMOS_RTC_A_DV_32KHZ 0x20u /* the normal time base */
#define CMOS_RTC_A_DV_RESET 0x60u /* DV2-1 set: divider chain held in reset */
#define CMOS_RTC_A_RS_MASK 0x0fu
#define CMOS_RTC_A_INIT 0x26u /* 32.768 kHz, 1024 Hz periodic rate (a BIOS's) */

/* Register B. */
#define CMOS_RTC_B_SET 0x80u
#define CMOS_RTC_B_PIE 0x40u
#define CMOS_RTC_B_AIE 0x20u
#define CMOS_RTC_B_UIE 0x10u
#define CMOS_RTC_B_SQWE 0x08u
#define CMOS_RTC_B_DM_BINARY 0x04u
#define CMOS_RTC_B_24H 0x02u
#define CMOS_RTC_B_DSE 0x01u
#define CMOS_RTC_B_INIT CMOS_RTC_B_24H /* BCD, 24-hour, no interrupts */

/* Register C and D. */
#define CMOS_RTC_C_IRQF 0x80u
#define CMOS_RTC_C_PF 0x40u
#define CMOS_RTC_C_AF 0x20u
#define CMOS_RTC_C_UF 0x10u
#define CMOS_RTC_D_VRT 0x80u

/* Alarm byte "don't care" (bits 7:6 both set). */
#define CMOS_RTC_ALARM_ANY 0xc0u

/* How long UIP is set before each update: 244 us + the 1984 us update. */
#define CMOS_RTC_UIP_NS 2228000
/* cmos_rtc_next_event_ns() when nothing will raise the interrupt. */
#define CMOS_RTC_NO_EVENT INT64_MAX

/* What a port access did.  Every value still completes the access. */
typedef enum cmos_rtc_result {
    CMOS_RTC_OK = 0,
    CMOS_RTC_IGNORED,    /* a read of the write-only index port (reads 0xff),
                            a write to read-only register C or D */
    CMOS_RTC_BAD_OFFSET, /* offset not 0 or 1: reads 0xff, writes dropped */
} cmos_rtc_result_t;

/* The board's side.  now_ns is required. */
typedef struct cmos_rtc_ops {
    /* The clock: ns since 1970-01-01 00:00:00 UTC.  Read at every access
     * and tick; values below 0 count as 0. */
    int64_t (*now_ns)(void *cookie);
    /* IRQ 8 changed to @level; only called on a change. */
    void (*set_irq)(void *cookie, int level);
    /* The next event changed to @when_ns (on now_ns's clock), or to
     * CMOS_RTC_NO_EVENT: (re)arm or disarm the timer that calls
     * cmos_rtc_tick(). */
    void (*set_timer)(void *cookie, int64_t when_ns);
} cmos_rtc_ops_t;

/* The device.  Opaque in spirit: use the functions, not the fields. */
typedef struct cmos_rtc {
    cmos_rtc_ops_t ops;
    void *cookie;
    /* RAM, and the alarm bytes, registers A and B; while the clock is held,
     * also the time bytes (0, 2, 4, 6-9 and the century) as written. */
    uint8_t ram[CMOS_RTC_SIZE];
    uint8_t index; /* bits 6:0 of the last index write */
    bool nmi_masked;
    uint8_t flags; /* register C's PF, AF and UF */
    /* The running clock: its divider time is now + div_ns, its seconds
     * floor(divider time / 1 s) + sec_offset. */
    int64_t div_ns;     /* 0 .. 1 s - 1: the divider's phase */
    int64_t sec_offset; /* guest seconds minus divider seconds */
    uint8_t dow_delta;  /* day of week written minus the computed one, mod 7 */
    int64_t last_ns;    /* the clock when the flags were last brought up to date */
    int irq_level;
    int64_t timer_ns; /* what set_timer was last told */
} cmos_rtc_t;

/*
 * Initialise @rtc: the time of @ops->now_ns (copied with @ops), register A
 * CMOS_RTC_A_INIT, B CMOS_RTC_B_INIT, no flags, RAM zero.  Returns 0, or
 * -EINVAL when @rtc, @ops or ops->now_ns is NULL.  No callback is made, so
 * the first set_timer comes with the first access that enables an
 * interrupt.
 */
int cmos_rtc_init(cmos_rtc_t *rtc, const cmos_rtc_ops_t *ops, void *cookie);

/*
 * The chip's RESET pin (datasheet "RESET"), for a machine reset: clears
 * PIE, AIE, UIE and SQWE and the flags in C, lowers IRQ 8; the time, the
 * RAM, the alarms and the other bits of A and B are battery-backed and
 * stay.  The index port's NMI mask is cleared (the PC's NMI logic resets).
 */
void cmos_rtc_reset(cmos_rtc_t *rtc);

/* A guest IN of one byte at @offset (port - 0x70) into *@value. */
cmos_rtc_result_t cmos_rtc_read(cmos_rtc_t *rtc, unsigned int offset, uint8_t *value);

/* A guest OUT of @value at @offset (port - 0x70). */
cmos_rtc_result_t cmos_rtc_write(cmos_rtc_t *rtc, unsigned int offset, uint8_t value);

/* Bring the flags and IRQ 8 up to date with the clock (the board's timer
 * fired). */
void cmos_rtc_tick(cmos_rtc_t *rtc);

/*
 * When, on now_ns's clock, the next enabled event (PF with PIE, AF with
 * AIE, UF with UIE) will raise IRQ 8: a time after the last access or
 * tick, or CMOS_RTC_NO_EVENT (none enabled, the clock held, or IRQ 8
 * already raised).
 */
int64_t cmos_rtc_next_event_ns(const cmos_rtc_t *rtc);

/*
 * Set CMOS RAM byte @index (0x0e-0x7f, not the century byte) before the
 * guest runs: memory sizes at 0x34/0x35 and 0x5b-0x5d, a checksum, ...
 * Returns 0, or -EINVAL for a clock register or an index above 0x7f.
 */
int cmos_rtc_set_byte(cmos_rtc_t *rtc, unsigned int index, uint8_t value);

/* Read RAM byte @index (same range) into *@value.  Returns 0 or -EINVAL. */
int cmos_rtc_get_byte(const cmos_rtc_t *rtc, unsigned int index, uint8_t *value);

/* The NMI mask the guest last wrote to the index port's bit 7. */
bool cmos_rtc_nmi_masked(const cmos_rtc_t *rtc);

/* IRQ 8's level (what set_irq was last told). */
int cmos_rtc_irq_level(const cmos_rtc_t *rtc);

/* A short name for a cmos_rtc_result_t ("ok", "ignored", ...), for logs. */
const char *cmos_rtc_result_name(cmos_rtc_result_t result);

#ifdef __cplusplus
}
#endif
#endif
