/*
 * test_cmos_rtc.c - unit tests for src/devices/cmos_rtc.c (MC146818A RTC
 * and CMOS RAM) over a fake clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <vmmkit/cmos_rtc.h>

#define NS 1000000000ll
#define MS 1000000ll
#define US 1000ll
/* 2024-03-15 13:45:30 UTC, a Friday. */
#define T0 1710510330ll

typedef struct fixture {
    cmos_rtc_t rtc;
    int64_t now;
    int irq_level;
    unsigned int irq_calls;
    int64_t timer;
    unsigned int timer_calls;
} fixture_t;

static int64_t cb_now(void *cookie)
{
    fixture_t *f = cookie;

    return f->now;
}

static void cb_set_irq(void *cookie, int level)
{
    fixture_t *f = cookie;

    assert_int_not_equal(level, f->irq_level);
    f->irq_level = level;
    f->irq_calls++;
}

static void cb_set_timer(void *cookie, int64_t when)
{
    fixture_t *f = cookie;

    f->timer = when;
    f->timer_calls++;
}

static int setup(void **state)
{
    static fixture_t f;
    const cmos_rtc_ops_t ops = {.now_ns = cb_now, .set_irq = cb_set_irq, .set_timer = cb_set_timer};

    memset(&f, 0, sizeof(f));
    f.now = T0 * NS + 250 * MS;
    f.timer = CMOS_RTC_NO_EVENT;
    if (cmos_rtc_init(&f.rtc, &ops, &f) != 0)
        return -1;
    *state = &f;
    return 0;
}

static uint8_t rd(fixture_t *f, uint8_t index)
{
    uint8_t v = 0x5a;

    assert_int_equal(cmos_rtc_write(&f->rtc, CMOS_RTC_INDEX, index), CMOS_RTC_OK);
    assert_int_equal(cmos_rtc_read(&f->rtc, CMOS_RTC_DATA, &v), CMOS_RTC_OK);
    return v;
}

static void wr(fixture_t *f, uint8_t index, uint8_t v)
{
    assert_int_equal(cmos_rtc_write(&f->rtc, CMOS_RTC_INDEX, index), CMOS_RTC_OK);
    assert_int_equal(cmos_rtc_write(&f->rtc, CMOS_RTC_DATA, v), CMOS_RTC_OK);
}

/* The time bytes in order: sec, min, hour, dow, dom, month, year, century. */
static void expect_time(fixture_t *f, const uint8_t want[8])
{
    static const uint8_t idx[8] = {0x00, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, 0x32};

    for (unsigned int i = 0; i < 8; i++) {
        uint8_t v = rd(f, idx[i]);

        if (v != want[i])
            fail_msg("time byte 0x%02x: 0x%02x, want 0x%02x", idx[i], v, want[i]);
    }
}

/* Set the clock as Linux's mc146818_set_time() does: SET, divider reset,
 * the bytes (BCD, 24 h), SET off, divider back. */
static void linux_set_time(fixture_t *f, const uint8_t t[8])
{
    static const uint8_t idx[8] = {0x00, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, 0x32};
    uint8_t control = rd(f, CMOS_RTC_REG_B), freq;

    wr(f, CMOS_RTC_REG_B, control | CMOS_RTC_B_SET);
    freq = rd(f, CMOS_RTC_REG_A);
    wr(f, CMOS_RTC_REG_A, freq | 0x70);
    for (unsigned int i = 0; i < 8; i++)
        wr(f, idx[i], t[i]);
    wr(f, CMOS_RTC_REG_B, control);
    wr(f, CMOS_RTC_REG_A, freq);
}

static void advance(fixture_t *f, int64_t ns)
{
    f->now += ns;
}

/* RS = 0: no periodic flag (PF is set at the RS rate whatever PIE says). */
static void no_periodic(fixture_t *f)
{
    wr(f, CMOS_RTC_REG_A, CMOS_RTC_A_DV_32KHZ);
}

static void test_init(void **state)
{
    cmos_rtc_t r;
    cmos_rtc_ops_t ops = {.now_ns = NULL};

    (void)state;
    assert_int_equal(cmos_rtc_init(NULL, &ops, NULL), -22);
    assert_int_equal(cmos_rtc_init(&r, NULL, NULL), -22);
    assert_int_equal(cmos_rtc_init(&r, &ops, NULL), -22);
}

static void test_registers_after_init(void **state)
{
    fixture_t *f = *state;

    assert_int_equal(rd(f, CMOS_RTC_REG_A), 0x26);
    assert_int_equal(rd(f, CMOS_RTC_REG_B), 0x02);
    assert_int_equal(rd(f, CMOS_RTC_REG_C), 0x00);
    assert_int_equal(rd(f, CMOS_RTC_REG_D), 0x80);
    assert_int_equal(f->irq_calls, 0);
    assert_int_equal(f->timer_calls, 0);
    assert_int_equal(cmos_rtc_next_event_ns(&f->rtc), CMOS_RTC_NO_EVENT);
}

static void test_time_bcd_and_binary(void **state)
{
    fixture_t *f = *state;
    static const uint8_t bcd[8] = {0x30, 0x45, 0x13, 6, 0x15, 0x03, 0x24, 0x20};
    static const uint8_t bin[8] = {30, 45, 13, 6, 15, 3, 24, 20};

    expect_time(f, bcd);
    wr(f, CMOS_RTC_REG_B, CMOS_RTC_B_24H | CMOS_RTC_B_DM_BINARY);
    expect_time(f, bin);
    assert_int_equal(rd(f, CMOS_RTC_REG_B), 0x06);
}

static void test_twelve_hour_mode(void **state)
{
    fixture_t *f = *state;

    wr(f, CMOS_RTC_REG_B, 0);
    assert_int_equal(rd(f, CMOS_RTC_HOURS), 0x81); /* 1 PM */
    wr(f, CMOS_RTC_REG_B, CMOS_RTC_B_DM_BINARY);
    assert_int_equal(rd(f, CMOS_RTC_HOURS), 0x81);
    /* Midnight is 12 AM, noon 12 PM, 11 PM is 0x91 in BCD. */
    f->now = 1710460800ll * NS; /* 2024-03-15 00:00:00 */
    wr(f, CMOS_RTC_REG_B, 0);
    assert_int_equal(rd(f, CMOS_RTC_HOURS), 0x12);
    f->now += 12 * 3600 * NS;
    assert_int_equal(rd(f, CMOS_RTC_HOURS), 0x92);
    f->now += 11 * 3600 * NS;
    assert_int_equal(rd(f, CMOS_RTC_HOURS), 0x91);
    f->now -= 12 * 3600 * NS;
    assert_int_equal(rd(f, CMOS_RTC_HOURS), 0x11);
    /* 12-hour writes: 0x88 is 8 PM. */
    wr(f, CMOS_RTC_HOURS, 0x88);
    wr(f, CMOS_RTC_REG_B, CMOS_RTC_B_24H);
    assert_int_equal(rd(f, CMOS_RTC_HOURS), 0x20);
}

static void test_calendar_rollovers(void **state)
{
    fixture_t *f = *state;
    static const uint8_t y2100[8] = {0x00, 0x00, 0x00, 6, 0x01, 0x01, 0x00, 0x21};
    static const uint8_t leap[8] = {0x00, 0x00, 0x00, 5, 0x29, 0x02, 0x24, 0x20};
    static const uint8_t noleap[8] = {0x00, 0x00, 0x00, 2, 0x01, 0x03, 0x00, 0x21};
    static const uint8_t y2000[8] = {0x00, 0x00, 0x00, 3, 0x29, 0x02, 0x00, 0x20};

    f->now = 4102444799ll * NS + 999 * MS; /* 2099-12-31 23:59:59.999 */
    assert_int_equal(rd(f, CMOS_RTC_YEAR), 0x99);
    advance(f, MS);
    expect_time(f, y2100); /* Friday, the century byte counts too */
    f->now = 1709164799ll * NS + 1;
    advance(f, NS);
    expect_time(f, leap);
    f->now = 4107542399ll * NS;
    advance(f, NS);
    expect_time(f, noleap); /* 2100 is not a leap year */
    f->now = 951782399ll * NS;
    advance(f, NS);
    expect_time(f, y2000); /* 2000 is */
}

static void test_set_bit_freezes_and_sets(void **state)
{
    fixture_t *f = *state;
    static const uint8_t frozen[8] = {0x30, 0x45, 0x13, 6, 0x15, 0x03, 0x24, 0x20};
    static const uint8_t y1999[8] = {0x50, 0x59, 0x23, 2, 0x31, 0x12, 0x99, 0x19};
    static const uint8_t y2000[8] = {0x00, 0x00, 0x00, 3, 0x01, 0x01, 0x00, 0x20};
    static const uint8_t later[8] = {0x00, 0x00, 0x01, 3, 0x01, 0x01, 0x00, 0x20};
    static const uint8_t idx[8] = {0x00, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, 0x32};

    no_periodic(f);
    wr(f, CMOS_RTC_REG_B, CMOS_RTC_B_24H | CMOS_RTC_B_UIE);
    wr(f, CMOS_RTC_REG_B, CMOS_RTC_B_24H | CMOS_RTC_B_UIE | CMOS_RTC_B_SET);
    /* SET clears UIE and freezes the clock. */
    assert_int_equal(rd(f, CMOS_RTC_REG_B), CMOS_RTC_B_24H | CMOS_RTC_B_SET);
    advance(f, 5 * NS);
    expect_time(f, frozen);
    assert_int_equal(rd(f, CMOS_RTC_REG_C), 0); /* no updates while held */
    /* Written bytes read back as written (a wrong day of week included:
     * 1999-12-31 was a Friday, 6; the clock counts the day as written). */
    for (unsigned int i = 0; i < 8; i++)
        wr(f, idx[i], y1999[i]);
    advance(f, 3 * NS);
    expect_time(f, y1999);
    wr(f, CMOS_RTC_REG_B, CMOS_RTC_B_24H);
    expect_time(f, y1999);
    advance(f, 10 * NS);
    expect_time(f, y2000);
    /* The host clock goes on; the offset stays. */
    advance(f, 3600 * NS);
    expect_time(f, later);
}

static void test_linux_set_time_and_divider(void **state)
{
    fixture_t *f = *state;
    static const uint8_t t[8] = {0x00, 0x30, 0x08, 2, 0x04, 0x07, 0x22, 0x20};

    f->now = T0 * NS + 100 * MS;
    linux_set_time(f, t);
    assert_int_equal(rd(f, CMOS_RTC_REG_A), 0x26);
    expect_time(f, t);
    /* The divider restarted: the first update is 500 ms later. */
    advance(f, 499 * MS);
    assert_int_equal(rd(f, CMOS_RTC_SECONDS), 0x00);
    advance(f, 1 * MS);
    assert_int_equal(rd(f, CMOS_RTC_SECONDS), 0x01);
    advance(f, 999 * MS);
    assert_int_equal(rd(f, CMOS_RTC_SECONDS), 0x01);
    advance(f, 1 * MS);
    assert_int_equal(rd(f, CMOS_RTC_SECONDS), 0x02);
    /* The divider held in reset holds the clock, and UIP is clear. */
    wr(f, CMOS_RTC_REG_A, 0x76);
    advance(f, 5 * NS + 999 * MS);
    assert_int_equal(rd(f, CMOS_RTC_SECONDS), 0x02);
    assert_int_equal(rd(f, CMOS_RTC_REG_A), 0x76);
}

static void test_write_while_running(void **state)
{
    fixture_t *f = *state;

    /* Minutes change at once; the second's phase (.250) is kept. */
    wr(f, CMOS_RTC_MINUTES, 0x10);
    assert_int_equal(rd(f, CMOS_RTC_MINUTES), 0x10);
    assert_int_equal(rd(f, CMOS_RTC_SECONDS), 0x30);
    advance(f, 749 * MS);
    assert_int_equal(rd(f, CMOS_RTC_SECONDS), 0x30);
    advance(f, 1 * MS);
    assert_int_equal(rd(f, CMOS_RTC_SECONDS), 0x31);
    /* Out-of-range values count arithmetically and read back normalised. */
    wr(f, CMOS_RTC_MINUTES, 0x61); /* minute 61: 14:01 */
    assert_int_equal(rd(f, CMOS_RTC_HOURS), 0x14);
    assert_int_equal(rd(f, CMOS_RTC_MINUTES), 0x01);
    wr(f, CMOS_RTC_MONTH, 0x13); /* month 13: January 2025 */
    assert_int_equal(rd(f, CMOS_RTC_MONTH), 0x01);
    assert_int_equal(rd(f, CMOS_RTC_YEAR), 0x25);
    /* The century byte moves the year. */
    wr(f, CMOS_RTC_CENTURY, 0x19);
    assert_int_equal(rd(f, CMOS_RTC_YEAR), 0x25);
    assert_int_equal(rd(f, CMOS_RTC_CENTURY), 0x19);
    /* The year stays within 0000-9999. */
    wr(f, CMOS_RTC_CENTURY, 0x99);
    wr(f, CMOS_RTC_YEAR, 0x99);
    wr(f, CMOS_RTC_MONTH, 0x99);
    assert_int_equal(rd(f, CMOS_RTC_CENTURY), 0x99);
    assert_int_equal(rd(f, CMOS_RTC_YEAR), 0x99);
    assert_int_equal(rd(f, CMOS_RTC_MONTH), 0x12);
    assert_int_equal(rd(f, CMOS_RTC_DAY_OF_MONTH), 0x31);
}

static void test_mode_change_while_held(void **state)
{
    fixture_t *f = *state;

    wr(f, CMOS_RTC_REG_B, CMOS_RTC_B_24H | CMOS_RTC_B_SET);
    wr(f, CMOS_RTC_REG_B, CMOS_RTC_B_SET | CMOS_RTC_B_DM_BINARY);
    assert_int_equal(rd(f, CMOS_RTC_HOURS), 0x81);
    assert_int_equal(rd(f, CMOS_RTC_MINUTES), 45);
    wr(f, CMOS_RTC_MINUTES, 59);
    wr(f, CMOS_RTC_REG_B, CMOS_RTC_B_24H);
    assert_int_equal(rd(f, CMOS_RTC_HOURS), 0x13);
    assert_int_equal(rd(f, CMOS_RTC_MINUTES), 0x59);
}

static void test_uip_window(void **state)
{
    fixture_t *f = *state;
    uint8_t sec = 0;
    int loops = 0;

    f->now = T0 * NS + NS - CMOS_RTC_UIP_NS - 1;
    assert_false(rd(f, CMOS_RTC_REG_A) & CMOS_RTC_A_UIP);
    advance(f, 1);
    assert_true(rd(f, CMOS_RTC_REG_A) & CMOS_RTC_A_UIP);
    assert_int_equal(rd(f, CMOS_RTC_SECONDS), 0x30);
    advance(f, CMOS_RTC_UIP_NS - 1);
    assert_true(rd(f, CMOS_RTC_REG_A) & CMOS_RTC_A_UIP);
    advance(f, 1);
    assert_false(rd(f, CMOS_RTC_REG_A) & CMOS_RTC_A_UIP);
    assert_int_equal(rd(f, CMOS_RTC_SECONDS), 0x31);
    /* Linux's mc146818_avoid_UIP: poll every 100 us until UIP is clear,
     * read, check UIP and the seconds again. */
    f->now = T0 * NS + NS - 1500 * US;
    for (;;) {
        sec = rd(f, CMOS_RTC_SECONDS);
        if (rd(f, CMOS_RTC_REG_A) & CMOS_RTC_A_UIP) {
            advance(f, 100 * US);
            loops++;
            continue;
        }
        if (sec != rd(f, CMOS_RTC_SECONDS))
            continue;
        break;
    }
    assert_int_equal(sec, 0x31);
    assert_in_range(loops, 14, 16);
    /* SET clears UIP. */
    f->now = T0 * NS + NS - 1000 * US;
    wr(f, CMOS_RTC_REG_B, CMOS_RTC_B_24H | CMOS_RTC_B_SET);
    assert_false(rd(f, CMOS_RTC_REG_A) & CMOS_RTC_A_UIP);
}

static void test_update_interrupt(void **state)
{
    fixture_t *f = *state;

    no_periodic(f);
    /* Without UIE, UF is set but IRQ 8 stays low. */
    advance(f, NS);
    assert_int_equal(rd(f, CMOS_RTC_REG_C), CMOS_RTC_C_UF);
    assert_int_equal(rd(f, CMOS_RTC_REG_C), 0);
    assert_int_equal(f->irq_calls, 0);
    /* With UIE: the next event is the next second boundary (.000). */
    wr(f, CMOS_RTC_REG_B, CMOS_RTC_B_24H | CMOS_RTC_B_UIE);
    assert_int_equal(f->timer_calls, 1);
    assert_int_equal(f->timer, (T0 + 2) * NS);
    assert_int_equal(cmos_rtc_next_event_ns(&f->rtc), (T0 + 2) * NS);
    f->now = f->timer - 1;
    cmos_rtc_tick(&f->rtc);
    assert_int_equal(f->irq_level, 0);
    f->now = f->timer;
    cmos_rtc_tick(&f->rtc);
    assert_int_equal(f->irq_level, 1);
    assert_int_equal(rd(f, CMOS_RTC_SECONDS), 0x32);
    /* While raised there is no next event. */
    assert_int_equal(f->timer, CMOS_RTC_NO_EVENT);
    advance(f, 3 * NS);
    cmos_rtc_tick(&f->rtc);
    assert_int_equal(f->irq_calls, 1);
    /* Reading C returns IRQF|UF, clears them, lowers the line, re-arms. */
    assert_int_equal(rd(f, CMOS_RTC_REG_C), CMOS_RTC_C_IRQF | CMOS_RTC_C_UF);
    assert_int_equal(f->irq_level, 0);
    assert_int_equal(f->timer, (T0 + 6) * NS);
    assert_int_equal(rd(f, CMOS_RTC_REG_C), 0);
    /* Polling without a tick sees the flag on the first access; caught
     * up and cleared in the same access, it never raised the line. */
    advance(f, NS);
    assert_int_equal(rd(f, CMOS_RTC_REG_C), CMOS_RTC_C_IRQF | CMOS_RTC_C_UF);
    assert_int_equal(f->irq_calls, 2);
    /* UIE off: no next event. */
    wr(f, CMOS_RTC_REG_B, CMOS_RTC_B_24H);
    assert_int_equal(f->timer, CMOS_RTC_NO_EVENT);
}

static void test_enabling_with_flag_set_raises(void **state)
{
    fixture_t *f = *state;

    no_periodic(f);
    advance(f, NS);
    cmos_rtc_tick(&f->rtc);
    assert_int_equal(f->irq_level, 0);
    /* IRQF = UF & UIE: enabling with UF already set raises IRQ 8. */
    wr(f, CMOS_RTC_REG_B, CMOS_RTC_B_24H | CMOS_RTC_B_UIE);
    assert_int_equal(f->irq_level, 1);
    wr(f, CMOS_RTC_REG_B, CMOS_RTC_B_24H);
    assert_int_equal(f->irq_level, 0);
    assert_int_equal(rd(f, CMOS_RTC_REG_C), CMOS_RTC_C_UF);
}

static void test_alarm_interrupt(void **state)
{
    fixture_t *f = *state;

    no_periodic(f);
    /* 13:45:35 exactly. */
    wr(f, CMOS_RTC_SECONDS_ALARM, 0x35);
    wr(f, CMOS_RTC_MINUTES_ALARM, 0x45);
    wr(f, CMOS_RTC_HOURS_ALARM, 0x13);
    wr(f, CMOS_RTC_REG_B, CMOS_RTC_B_24H | CMOS_RTC_B_AIE);
    assert_int_equal(f->timer, (T0 + 5) * NS);
    f->now = f->timer - 1;
    cmos_rtc_tick(&f->rtc);
    assert_int_equal(f->irq_level, 0);
    assert_int_equal(rd(f, CMOS_RTC_REG_C), CMOS_RTC_C_UF); /* updates, no alarm */
    f->now = (T0 + 5) * NS;
    cmos_rtc_tick(&f->rtc);
    assert_int_equal(f->irq_level, 1);
    assert_int_equal(rd(f, CMOS_RTC_REG_C), CMOS_RTC_C_IRQF | CMOS_RTC_C_AF | CMOS_RTC_C_UF);
    assert_int_equal(f->irq_level, 0);
    /* Next one: tomorrow. */
    assert_int_equal(f->timer, (T0 + 5 + 86400) * NS);
    /* An alarm passed while nobody looked is still flagged. */
    f->now = (T0 + 5 + 86400 + 7200) * NS;
    assert_int_equal(rd(f, CMOS_RTC_REG_C), CMOS_RTC_C_IRQF | CMOS_RTC_C_AF | CMOS_RTC_C_UF);
}

static void test_alarm_dont_care(void **state)
{
    fixture_t *f = *state;

    no_periodic(f);
    /* Every minute at :00. */
    wr(f, CMOS_RTC_SECONDS_ALARM, 0x00);
    wr(f, CMOS_RTC_MINUTES_ALARM, 0xc0);
    wr(f, CMOS_RTC_HOURS_ALARM, 0xff);
    wr(f, CMOS_RTC_REG_B, CMOS_RTC_B_24H | CMOS_RTC_B_AIE);
    assert_int_equal(f->timer, (T0 + 30) * NS);
    /* Every hour at :50:00. */
    wr(f, CMOS_RTC_MINUTES_ALARM, 0x50);
    assert_int_equal(f->timer, (T0 + 270) * NS);
    /* Every second. */
    wr(f, CMOS_RTC_SECONDS_ALARM, 0xc0);
    wr(f, CMOS_RTC_MINUTES_ALARM, 0xc0);
    assert_int_equal(f->timer, (T0 + 1) * NS);
    /* At 13:00:00 in 12-hour mode (0x81 is 1 PM): tomorrow 01:00 PM. */
    wr(f, CMOS_RTC_REG_B, CMOS_RTC_B_AIE);
    wr(f, CMOS_RTC_SECONDS_ALARM, 0x00);
    wr(f, CMOS_RTC_MINUTES_ALARM, 0x00);
    wr(f, CMOS_RTC_HOURS_ALARM, 0x81);
    assert_int_equal(f->timer, (1710460800ll + 86400 + 13 * 3600) * NS);
    /* Bytes are compared as encoded: 0x00 is no hour in 12-hour mode. */
    wr(f, CMOS_RTC_HOURS_ALARM, 0x00);
    assert_int_equal(f->timer, CMOS_RTC_NO_EVENT);
    wr(f, CMOS_RTC_HOURS_ALARM, 0x12); /* 12 AM: tomorrow 00:00:00 */
    assert_int_equal(f->timer, (1710460800ll + 86400) * NS);
    /* A value the clock never shows (BCD 0x61 seconds): never. */
    wr(f, CMOS_RTC_SECONDS_ALARM, 0x61);
    assert_int_equal(f->timer, CMOS_RTC_NO_EVENT);
    advance(f, 100 * NS);
    assert_int_equal(rd(f, CMOS_RTC_REG_C), CMOS_RTC_C_UF);
}

static void test_periodic_interrupt(void **state)
{
    fixture_t *f = *state;
    static const struct {
        uint8_t rs;
        int64_t period_ns; /* rounded up to whole ns */
    } rates[] = {
        {1, 3906250}, {2, 7812500},    {3, 122071},     {6, 976563},
        {7, 1953125}, {13, 125000000}, {15, 500000000},
    };

    f->now = T0 * NS; /* on a second boundary: every rate's multiples start here */
    cmos_rtc_tick(&f->rtc);
    wr(f, CMOS_RTC_REG_B, CMOS_RTC_B_24H | CMOS_RTC_B_PIE);
    for (unsigned int i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        wr(f, CMOS_RTC_REG_A, (uint8_t)(0x20 | rates[i].rs));
        assert_int_equal(f->timer - f->now, rates[i].period_ns);
    }
    /* 1024 Hz: fire, acknowledge, and the next one is one period on. */
    wr(f, CMOS_RTC_REG_A, 0x26);
    f->now = f->timer;
    cmos_rtc_tick(&f->rtc);
    assert_int_equal(f->irq_level, 1);
    assert_int_equal(rd(f, CMOS_RTC_REG_C), CMOS_RTC_C_IRQF | CMOS_RTC_C_PF);
    assert_int_equal(f->timer, T0 * NS + 1953125);
    /* PF keeps coming while SET holds the time (the divider runs). */
    wr(f, CMOS_RTC_REG_B, CMOS_RTC_B_24H | CMOS_RTC_B_PIE | CMOS_RTC_B_SET);
    f->now = f->timer;
    cmos_rtc_tick(&f->rtc);
    assert_int_equal(f->irq_level, 1);
    assert_int_equal(rd(f, CMOS_RTC_REG_C), CMOS_RTC_C_IRQF | CMOS_RTC_C_PF);
    /* Not with the divider in reset, nor with RS 0. */
    wr(f, CMOS_RTC_REG_A, 0x66);
    assert_int_equal(f->timer, CMOS_RTC_NO_EVENT);
    advance(f, NS);
    assert_int_equal(rd(f, CMOS_RTC_REG_C), 0);
    wr(f, CMOS_RTC_REG_A, 0x20);
    assert_int_equal(f->timer, CMOS_RTC_NO_EVENT);
    advance(f, NS);
    assert_int_equal(rd(f, CMOS_RTC_REG_C), 0);
}

static void test_reset(void **state)
{
    fixture_t *f = *state;

    wr(f, 0x40, 0x77);
    wr(f, CMOS_RTC_REG_B,
       CMOS_RTC_B_24H | CMOS_RTC_B_DM_BINARY | CMOS_RTC_B_UIE | CMOS_RTC_B_PIE | CMOS_RTC_B_SQWE);
    advance(f, NS);
    cmos_rtc_tick(&f->rtc);
    assert_int_equal(f->irq_level, 1);
    assert_int_equal(cmos_rtc_write(&f->rtc, CMOS_RTC_INDEX, 0x80), CMOS_RTC_OK);
    assert_true(cmos_rtc_nmi_masked(&f->rtc));
    cmos_rtc_reset(&f->rtc);
    assert_int_equal(f->irq_level, 0);
    assert_int_equal(cmos_rtc_irq_level(&f->rtc), 0);
    assert_false(cmos_rtc_nmi_masked(&f->rtc));
    assert_int_equal(f->timer, CMOS_RTC_NO_EVENT);
    assert_int_equal(rd(f, CMOS_RTC_REG_B), CMOS_RTC_B_24H | CMOS_RTC_B_DM_BINARY);
    assert_int_equal(rd(f, CMOS_RTC_REG_C), 0);
    assert_int_equal(rd(f, CMOS_RTC_REG_A), 0x26);
    assert_int_equal(rd(f, 0x40), 0x77);
    assert_int_equal(rd(f, CMOS_RTC_SECONDS), 31);
}

static void test_ram_and_ports(void **state)
{
    fixture_t *f = *state;
    uint8_t v;

    /* The board's pre-fill, then the guest's view. */
    assert_int_equal(cmos_rtc_set_byte(&f->rtc, 0x34, 0x12), 0);
    assert_int_equal(cmos_rtc_set_byte(&f->rtc, 0x5d, 0x01), 0);
    assert_int_equal(cmos_rtc_set_byte(&f->rtc, 0x7f, 0xee), 0);
    assert_int_equal(rd(f, 0x34), 0x12);
    assert_int_equal(rd(f, 0x5d), 0x01);
    assert_int_equal(rd(f, 0x7f), 0xee);
    for (unsigned int i = 0x0e; i < 0x80; i++) {
        if (i == CMOS_RTC_CENTURY)
            continue;
        wr(f, (uint8_t)i, (uint8_t)(i ^ 0xa5));
    }
    for (unsigned int i = 0x0e; i < 0x80; i++) {
        if (i == CMOS_RTC_CENTURY)
            continue;
        assert_int_equal(rd(f, (uint8_t)i), i ^ 0xa5);
        assert_int_equal(cmos_rtc_get_byte(&f->rtc, i, &v), 0);
        assert_int_equal(v, i ^ 0xa5);
    }
    assert_int_equal(cmos_rtc_set_byte(&f->rtc, 0x00, 1), -22);
    assert_int_equal(cmos_rtc_set_byte(&f->rtc, 0x0d, 1), -22);
    assert_int_equal(cmos_rtc_set_byte(&f->rtc, 0x32, 1), -22);
    assert_int_equal(cmos_rtc_set_byte(&f->rtc, 0x80, 1), -22);
    assert_int_equal(cmos_rtc_get_byte(&f->rtc, 0x0a, &v), -22);
    /* The index port: 7 bits of index, bit 7 the NMI mask. */
    assert_int_equal(cmos_rtc_write(&f->rtc, CMOS_RTC_INDEX, 0x80 | 0x34), CMOS_RTC_OK);
    assert_true(cmos_rtc_nmi_masked(&f->rtc));
    assert_int_equal(cmos_rtc_read(&f->rtc, CMOS_RTC_DATA, &v), CMOS_RTC_OK);
    assert_int_equal(v, 0x34 ^ 0xa5);
    assert_int_equal(cmos_rtc_read(&f->rtc, CMOS_RTC_INDEX, &v), CMOS_RTC_IGNORED);
    assert_int_equal(v, 0xff);
    assert_int_equal(cmos_rtc_write(&f->rtc, CMOS_RTC_INDEX, 0x0d), CMOS_RTC_OK);
    assert_false(cmos_rtc_nmi_masked(&f->rtc));
    /* C and D are read-only; UIP is not writable. */
    assert_int_equal(cmos_rtc_write(&f->rtc, CMOS_RTC_DATA, 0), CMOS_RTC_IGNORED);
    assert_int_equal(rd(f, CMOS_RTC_REG_D), 0x80);
    assert_int_equal(cmos_rtc_write(&f->rtc, CMOS_RTC_INDEX, CMOS_RTC_REG_C), CMOS_RTC_OK);
    assert_int_equal(cmos_rtc_write(&f->rtc, CMOS_RTC_DATA, 0xff), CMOS_RTC_IGNORED);
    assert_int_equal(rd(f, CMOS_RTC_REG_C), 0);
    wr(f, CMOS_RTC_REG_A, 0xa6);
    assert_int_equal(rd(f, CMOS_RTC_REG_A), 0x26);
    /* Other offsets. */
    assert_int_equal(cmos_rtc_read(&f->rtc, 2, &v), CMOS_RTC_BAD_OFFSET);
    assert_int_equal(v, 0xff);
    assert_int_equal(cmos_rtc_write(&f->rtc, 0x70, 0), CMOS_RTC_BAD_OFFSET);
    assert_string_equal(cmos_rtc_result_name(CMOS_RTC_OK), "ok");
    assert_string_equal(cmos_rtc_result_name(CMOS_RTC_IGNORED), "ignored");
    assert_string_equal(cmos_rtc_result_name(CMOS_RTC_BAD_OFFSET), "bad-offset");
    assert_string_equal(cmos_rtc_result_name((cmos_rtc_result_t)7), "unknown");
}

static void test_clock_edge_cases(void **state)
{
    fixture_t *f = *state;

    /* A clock that steps back: the time follows, no flags appear. */
    f->now -= 3600 * NS;
    assert_int_equal(rd(f, CMOS_RTC_HOURS), 0x12);
    assert_int_equal(rd(f, CMOS_RTC_REG_C), 0);
    /* Before the epoch counts as the epoch: 1970-01-01 00:00:00, a Thursday. */
    f->now = -5 * NS;
    assert_int_equal(rd(f, CMOS_RTC_YEAR), 0x70);
    assert_int_equal(rd(f, CMOS_RTC_CENTURY), 0x19);
    assert_int_equal(rd(f, CMOS_RTC_DAY_OF_WEEK), 5);
    assert_int_equal(rd(f, CMOS_RTC_SECONDS), 0x00);
    /* Far future clocks are clamped, not overflowed. */
    f->now = INT64_MAX;
    assert_int_equal(rd(f, CMOS_RTC_CENTURY), 0x21);
    /* Without set_irq / set_timer everything still works. */
    cmos_rtc_t r;
    const cmos_rtc_ops_t ops = {.now_ns = cb_now};
    uint8_t v;

    f->now = T0 * NS;
    assert_int_equal(cmos_rtc_init(&r, &ops, f), 0);
    cmos_rtc_write(&r, CMOS_RTC_INDEX, CMOS_RTC_REG_A);
    cmos_rtc_write(&r, CMOS_RTC_DATA, CMOS_RTC_A_DV_32KHZ);
    cmos_rtc_write(&r, CMOS_RTC_INDEX, CMOS_RTC_REG_B);
    cmos_rtc_write(&r, CMOS_RTC_DATA, CMOS_RTC_B_24H | CMOS_RTC_B_UIE);
    f->now += NS;
    cmos_rtc_tick(&r);
    assert_int_equal(cmos_rtc_irq_level(&r), 1);
    cmos_rtc_write(&r, CMOS_RTC_INDEX, CMOS_RTC_REG_C);
    cmos_rtc_read(&r, CMOS_RTC_DATA, &v);
    assert_int_equal(v, CMOS_RTC_C_IRQF | CMOS_RTC_C_UF);
    assert_int_equal(cmos_rtc_irq_level(&r), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init),
        cmocka_unit_test_setup(test_registers_after_init, setup),
        cmocka_unit_test_setup(test_time_bcd_and_binary, setup),
        cmocka_unit_test_setup(test_twelve_hour_mode, setup),
        cmocka_unit_test_setup(test_calendar_rollovers, setup),
        cmocka_unit_test_setup(test_set_bit_freezes_and_sets, setup),
        cmocka_unit_test_setup(test_linux_set_time_and_divider, setup),
        cmocka_unit_test_setup(test_write_while_running, setup),
        cmocka_unit_test_setup(test_mode_change_while_held, setup),
        cmocka_unit_test_setup(test_uip_window, setup),
        cmocka_unit_test_setup(test_update_interrupt, setup),
        cmocka_unit_test_setup(test_enabling_with_flag_set_raises, setup),
        cmocka_unit_test_setup(test_alarm_interrupt, setup),
        cmocka_unit_test_setup(test_alarm_dont_care, setup),
        cmocka_unit_test_setup(test_periodic_interrupt, setup),
        cmocka_unit_test_setup(test_reset, setup),
        cmocka_unit_test_setup(test_ram_and_ports, setup),
        cmocka_unit_test_setup(test_clock_edge_cases, setup),
    };

    return cmocka_run_group_tests_name("cmos_rtc", tests, NULL, NULL);
}
