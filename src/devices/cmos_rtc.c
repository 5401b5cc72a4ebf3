/*
 * cmos_rtc.c - MC146818A real-time clock and CMOS RAM register model.
 *
 * "Datasheet" is Motorola's MC146818A Real-Time Clock Plus RAM data sheet:
 * "Address Map" (Figure 2), "Time, Calendar and Alarm Locations" (Table 3:
 * BCD and binary ranges, 12-hour PM bit), "Update Cycle" (UIP, tBUC 244 us,
 * the 1984 us update), "Register A" (UIP, DV2-0, RS3-0 and Table 5's
 * periodic rates), "Register B" (SET, PIE, AIE, UIE, SQWE, DM, 24/12, DSE),
 * "Register C" (IRQF, PF, AF, UF), "Register D" (VRT), "Interrupts" and
 * "RESET".  See include/vmmkit/cmos_rtc.h for what is modelled and how the
 * clock is derived from the board's.
 */
#include <errno.h>
#include <string.h>

#include <vmmkit/cmos_rtc.h>

#define NS_PER_SEC 1000000000ll
#define SECS_PER_DAY 86400ll
/* The time base (datasheet Register A, DV2-0 = 010: 32.768 kHz). */
#define TIME_BASE_HZ 32768ll
/* Clock values beyond this are taken as this (year 2116, far from any
 * overflow in the arithmetic below). */
#define CLOCK_MAX (1ll << 62)

/* The time bytes that count with the clock, the century included. */
static const uint8_t time_bytes[] = {
    CMOS_RTC_SECONDS,      CMOS_RTC_MINUTES, CMOS_RTC_HOURS, CMOS_RTC_DAY_OF_WEEK,
    CMOS_RTC_DAY_OF_MONTH, CMOS_RTC_MONTH,   CMOS_RTC_YEAR,  CMOS_RTC_CENTURY,
};

static bool is_time_byte(unsigned int index)
{
    for (unsigned int i = 0; i < sizeof(time_bytes); i++)
        if (time_bytes[i] == index)
            return true;
    return false;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
    return a - floor_div(a, b) * b;
}

/*
 * Days since 1970-01-01 of @y-@m-@d in the proleptic Gregorian calendar
 * (@m 1..12, @d 1..31), counting from March so that the leap day ends a
 * year: 400-year eras of 146097 days, 719468 days from 0000-03-01 to the
 * epoch.
 */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    int64_t year = m <= 2 ? y - 1 : y;
    int64_t era = floor_div(year, 400);
    int64_t yoe = year - era * 400;                      /* 0..399 */
    int64_t mar = m > 2 ? m - 3 : m + 9;                 /* 0 = March */
    int64_t doy = (153 * mar + 2) / 5 + d - 1;           /* 0..365 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* 0..146096 */

    return era * 146097 + doe - 719468;
}

/* The inverse: the date of day @z since 1970-01-01. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t days = z + 719468;
    int64_t era = floor_div(days, 146097);
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153; /* 0 = March */

    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* The clock keeps to 0000-01-01 00:00:00 .. 9999-12-31 23:59:59. */
static int64_t clamp_time(int64_t s)
{
    int64_t lo = days_from_civil(0, 1, 1) * SECS_PER_DAY;
    int64_t hi = days_from_civil(9999, 12, 31) * SECS_PER_DAY + SECS_PER_DAY - 1;

    return s < lo ? lo : s > hi ? hi : s;
}

/* Day of the week of guest second @s, 0 = Sunday (1970-01-01: Thursday). */
static int weekday0(int64_t s)
{
    return (int)floor_mod(floor_div(s, SECS_PER_DAY) + 4, 7);
}

/* One byte in register B's format (datasheet Table 3): BCD or binary. */
static uint8_t encode(unsigned int v, uint8_t b)
{
    if (b & CMOS_RTC_B_DM_BINARY)
        return (uint8_t)v;
    return (uint8_t)(((v / 10) << 4) | (v % 10));
}

/* Read arithmetically: BCD digits above 9 still count (0x1f is 25). */
static int64_t decode(uint8_t v, uint8_t b)
{
    if (b & CMOS_RTC_B_DM_BINARY)
        return v;
    return (v >> 4) * 10 + (v & 0x0f);
}

/* Hours: 0-23, or 1-12 with bit 7 for PM in 12-hour mode. */
static uint8_t encode_hour(unsigned int h, uint8_t b)
{
    unsigned int h12 = h % 12 ? h % 12 : 12;

    if (b & CMOS_RTC_B_24H)
        return encode(h, b);
    return (uint8_t)(encode(h12, b) | (h >= 12 ? 0x80 : 0));
}

static int64_t decode_hour(uint8_t v, uint8_t b)
{
    int64_t h;

    if (b & CMOS_RTC_B_24H)
        return decode(v, b);
    h = decode(v & 0x7f, b);
    if (h == 12)
        h = 0;
    return (v & 0x80) ? h + 12 : h;
}

/* Write guest second @s into @img's time bytes in format @b, the day of the
 * week moved by @dow_delta. */
static void encode_time(uint8_t *img, int64_t s, uint8_t b, uint8_t dow_delta)
{
    int64_t t = clamp_time(s);
    int64_t day = floor_div(t, SECS_PER_DAY);
    int64_t tod = t - day * SECS_PER_DAY;
    int64_t year;
    int month, mday;

    civil_from_days(day, &year, &month, &mday);
    img[CMOS_RTC_SECONDS] = encode((unsigned int)(tod % 60), b);
    img[CMOS_RTC_MINUTES] = encode((unsigned int)(tod / 60 % 60), b);
    img[CMOS_RTC_HOURS] = encode_hour((unsigned int)(tod / 3600), b);
    img[CMOS_RTC_DAY_OF_WEEK] = encode((unsigned int)((weekday0(t) + dow_delta) % 7 + 1), b);
    img[CMOS_RTC_DAY_OF_MONTH] = encode((unsigned int)mday, b);
    img[CMOS_RTC_MONTH] = encode((unsigned int)month, b);
    img[CMOS_RTC_YEAR] = encode((unsigned int)(year % 100), b);
    img[CMOS_RTC_CENTURY] = encode((unsigned int)(year / 100), b);
}

/* The guest second @img's time bytes name in format @b (clamped), and the
 * day-of-week byte's distance from that second's weekday into *@dow_delta. */
static int64_t decode_time(const uint8_t *img, uint8_t b, uint8_t *dow_delta)
{
    int64_t year = decode(img[CMOS_RTC_CENTURY], b) * 100 + decode(img[CMOS_RTC_YEAR], b);
    int64_t month0 = decode(img[CMOS_RTC_MONTH], b) - 1;
    int64_t days, s;

    year += floor_div(month0, 12);
    days = days_from_civil(year, floor_mod(month0, 12) + 1, 1) +
           decode(img[CMOS_RTC_DAY_OF_MONTH], b) - 1;
    s = clamp_time(days * SECS_PER_DAY + decode_hour(img[CMOS_RTC_HOURS], b) * 3600 +
                   decode(img[CMOS_RTC_MINUTES], b) * 60 + decode(img[CMOS_RTC_SECONDS], b));
    *dow_delta = (uint8_t)floor_mod(decode(img[CMOS_RTC_DAY_OF_WEEK], b) - 1 - weekday0(s), 7);
    return s;
}

/* Divider chain held in reset: DV2 and DV1 set (datasheet Register A). */
static bool divider_reset(const cmos_rtc_t *rtc)
{
    return (rtc->ram[CMOS_RTC_REG_A] & CMOS_RTC_A_DV_RESET) == CMOS_RTC_A_DV_RESET;
}

/* No updates: SET, or no 1 Hz from the divider. */
static bool held(const cmos_rtc_t *rtc)
{
    return (rtc->ram[CMOS_RTC_REG_B] & CMOS_RTC_B_SET) || divider_reset(rtc);
}

static int64_t clock_now(cmos_rtc_t *rtc)
{
    int64_t now = rtc->ops.now_ns(rtc->cookie);

    return now < 0 ? 0 : now > CLOCK_MAX ? CLOCK_MAX : now;
}

/* Guest second at divider time @d. */
static int64_t guest_second(const cmos_rtc_t *rtc, int64_t d)
{
    return d / NS_PER_SEC + rtc->sec_offset;
}

/* Divider time in 1/32768 s ticks, rounded down. */
static int64_t to_ticks(int64_t d)
{
    return d / NS_PER_SEC * TIME_BASE_HZ + d % NS_PER_SEC * TIME_BASE_HZ / NS_PER_SEC;
}

/* The first divider time (ns) at which to_ticks() reaches @t. */
static int64_t from_ticks(int64_t t)
{
    int64_t r = t % TIME_BASE_HZ;

    return t / TIME_BASE_HZ * NS_PER_SEC + (r * NS_PER_SEC + TIME_BASE_HZ - 1) / TIME_BASE_HZ;
}

/* Periodic interrupt period in time-base ticks (datasheet Table 5), 0 for
 * none: RS 1 and 2 repeat rates 8 and 9 (256 and 128 Hz). */
static int64_t periodic_ticks(const cmos_rtc_t *rtc)
{
    unsigned int rs = rtc->ram[CMOS_RTC_REG_A] & CMOS_RTC_A_RS_MASK;

    if (rs == 0)
        return 0;
    return rs <= 2 ? 1ll << (rs + 6) : 1ll << (rs - 1);
}

/*
 * One alarm byte against the time bytes' format: -1 for "don't care" (bits
 * 7:6 set), else the field value whose encoding is exactly that byte (the
 * chip compares bytes: in 12-hour mode 0x00 never matches, 0x12 is
 * midnight), or -2 when there is none and the alarm never fires.
 */
static int alarm_field(const cmos_rtc_t *rtc, unsigned int index, int limit)
{
    uint8_t v = rtc->ram[index];
    uint8_t b = rtc->ram[CMOS_RTC_REG_B];

    if ((v & CMOS_RTC_ALARM_ANY) == CMOS_RTC_ALARM_ANY)
        return -1;
    for (int x = 0; x < limit; x++) {
        uint8_t e = index == CMOS_RTC_HOURS_ALARM ? encode_hour((unsigned int)x, b)
                                                  : encode((unsigned int)x, b);

        if (e == v)
            return x;
    }
    return -2;
}

/* The first second of the day at or after @start (0..86399) whose
 * h:m:s match the alarm fields, or -1. */
static int64_t alarm_in_day(int64_t start, int ah, int am, int as)
{
    int ch = (int)(start / 3600), cm = (int)(start / 60 % 60), cs = (int)(start % 60);

    for (int h = ch; h < 24; h++) {
        if (ah >= 0 && h != ah)
            continue;
        for (int m = h == ch ? cm : 0; m < 60; m++) {
            int s0 = (h == ch && m == cm) ? cs : 0;
            int s = as < 0 ? s0 : (as >= s0 ? as : -1);

            if (am >= 0 && m != am)
                continue;
            if (s >= 0)
                return h * 3600 + m * 60 + s;
        }
    }
    return -1;
}

/* The first guest second after @g at which the alarm matches, or
 * CMOS_RTC_NO_EVENT (datasheet "Interrupts": AF is set when the time bytes
 * equal the alarm bytes at an update). */
static int64_t alarm_after(const cmos_rtc_t *rtc, int64_t g)
{
    int as = alarm_field(rtc, CMOS_RTC_SECONDS_ALARM, 60);
    int am = alarm_field(rtc, CMOS_RTC_MINUTES_ALARM, 60);
    int ah = alarm_field(rtc, CMOS_RTC_HOURS_ALARM, 24);
    int64_t day = floor_div(g, SECS_PER_DAY);
    int64_t t;

    if (as == -2 || am == -2 || ah == -2)
        return CMOS_RTC_NO_EVENT;
    if (g - day * SECS_PER_DAY + 1 < SECS_PER_DAY) {
        t = alarm_in_day(g - day * SECS_PER_DAY + 1, ah, am, as);
        if (t >= 0)
            return day * SECS_PER_DAY + t;
    }
    return (day + 1) * SECS_PER_DAY + alarm_in_day(0, ah, am, as);
}

/*
 * Set the flags for what happened between the last update and @now: PF at
 * each periodic boundary while the divider runs, UF at each second (and AF
 * if a second in between matched the alarm) while the clock is not held.
 * The state cannot have changed in between: every change first calls this.
 * A clock that went backwards sets nothing.
 */
static void catch_up(cmos_rtc_t *rtc, int64_t now)
{
    int64_t d0 = rtc->last_ns + rtc->div_ns, d1 = now + rtc->div_ns;
    int64_t period = periodic_ticks(rtc);

    if (now > rtc->last_ns && !divider_reset(rtc)) {
        if (period && to_ticks(d1) / period > to_ticks(d0) / period)
            rtc->flags |= CMOS_RTC_C_PF;
        if (!held(rtc) && d1 / NS_PER_SEC > d0 / NS_PER_SEC) {
            rtc->flags |= CMOS_RTC_C_UF;
            if (alarm_after(rtc, guest_second(rtc, d0)) <= guest_second(rtc, d1))
                rtc->flags |= CMOS_RTC_C_AF;
        }
    }
    rtc->last_ns = now;
}

static uint8_t irqf(const cmos_rtc_t *rtc)
{
    uint8_t b = rtc->ram[CMOS_RTC_REG_B];
    uint8_t enabled = (b & CMOS_RTC_B_PIE ? CMOS_RTC_C_PF : 0) |
                      (b & CMOS_RTC_B_AIE ? CMOS_RTC_C_AF : 0) |
                      (b & CMOS_RTC_B_UIE ? CMOS_RTC_C_UF : 0);

    return (rtc->flags & enabled) ? CMOS_RTC_C_IRQF : 0;
}

int64_t cmos_rtc_next_event_ns(const cmos_rtc_t *rtc)
{
    uint8_t b = rtc->ram[CMOS_RTC_REG_B];
    int64_t d = rtc->last_ns + rtc->div_ns;
    int64_t period = periodic_ticks(rtc);
    int64_t best = CMOS_RTC_NO_EVENT, t;

    if (irqf(rtc) || divider_reset(rtc))
        return CMOS_RTC_NO_EVENT;
    if ((b & CMOS_RTC_B_PIE) && period) {
        t = from_ticks((to_ticks(d) / period + 1) * period) - rtc->div_ns;
        best = t < best ? t : best;
    }
    if (b & CMOS_RTC_B_SET)
        return best;
    if (b & CMOS_RTC_B_UIE) {
        t = (d / NS_PER_SEC + 1) * NS_PER_SEC - rtc->div_ns;
        best = t < best ? t : best;
    }
    if (b & CMOS_RTC_B_AIE) {
        int64_t g = alarm_after(rtc, guest_second(rtc, d));

        if (g != CMOS_RTC_NO_EVENT) {
            t = (g - rtc->sec_offset) * NS_PER_SEC - rtc->div_ns;
            best = t < best ? t : best;
        }
    }
    return best;
}

/* After every change: IRQ 8 follows IRQF; the board hears of a new next
 * event. */
static void finish(cmos_rtc_t *rtc)
{
    int level = irqf(rtc) != 0;
    int64_t next;

    if (level != rtc->irq_level) {
        rtc->irq_level = level;
        if (rtc->ops.set_irq)
            rtc->ops.set_irq(rtc->cookie, level);
    }
    next = cmos_rtc_next_event_ns(rtc);
    if (next != rtc->timer_ns) {
        rtc->timer_ns = next;
        if (rtc->ops.set_timer)
            rtc->ops.set_timer(rtc->cookie, next);
    }
}

/* Freeze the running time into the RAM image (SET or divider reset). */
static void hold(cmos_rtc_t *rtc, int64_t now)
{
    encode_time(rtc->ram, guest_second(rtc, now + rtc->div_ns), rtc->ram[CMOS_RTC_REG_B],
                rtc->dow_delta);
}

/* Run from the RAM image's time, keeping the divider's phase. */
static void run_from_image(cmos_rtc_t *rtc, int64_t now)
{
    int64_t s = decode_time(rtc->ram, rtc->ram[CMOS_RTC_REG_B], &rtc->dow_delta);

    rtc->sec_offset = s - (now + rtc->div_ns) / NS_PER_SEC;
}

int cmos_rtc_init(cmos_rtc_t *rtc, const cmos_rtc_ops_t *ops, void *cookie)
{
    if (!rtc || !ops || !ops->now_ns)
        return -EINVAL;
    memset(rtc, 0, sizeof(*rtc));
    rtc->ops = *ops;
    rtc->cookie = cookie;
    rtc->ram[CMOS_RTC_REG_A] = CMOS_RTC_A_INIT;
    rtc->ram[CMOS_RTC_REG_B] = CMOS_RTC_B_INIT;
    rtc->last_ns = clock_now(rtc);
    rtc->timer_ns = CMOS_RTC_NO_EVENT;
    return 0;
}

void cmos_rtc_reset(cmos_rtc_t *rtc)
{
    catch_up(rtc, clock_now(rtc));
    rtc->ram[CMOS_RTC_REG_B] &=
        (uint8_t) ~(CMOS_RTC_B_PIE | CMOS_RTC_B_AIE | CMOS_RTC_B_UIE | CMOS_RTC_B_SQWE);
    rtc->flags = 0;
    rtc->nmi_masked = false;
    finish(rtc);
}

void cmos_rtc_tick(cmos_rtc_t *rtc)
{
    catch_up(rtc, clock_now(rtc));
    finish(rtc);
}

/* Register A: UIP in the last CMOS_RTC_UIP_NS before each update. */
static uint8_t reg_a_read(const cmos_rtc_t *rtc, int64_t now)
{
    uint8_t v = rtc->ram[CMOS_RTC_REG_A];

    if (!held(rtc) && (now + rtc->div_ns) % NS_PER_SEC >= NS_PER_SEC - CMOS_RTC_UIP_NS)
        v |= CMOS_RTC_A_UIP;
    return v;
}

/* Register A write: DV2-0 and RS3-0 (UIP is read-only).  Leaving divider
 * reset starts the divider so that the first update is 500 ms away. */
static void reg_a_write(cmos_rtc_t *rtc, uint8_t v, int64_t now)
{
    bool was_held = held(rtc), was_reset = divider_reset(rtc);

    rtc->ram[CMOS_RTC_REG_A] = v & (uint8_t)~CMOS_RTC_A_UIP;
    if (was_reset && !divider_reset(rtc))
        rtc->div_ns = floor_mod(NS_PER_SEC / 2 - now, NS_PER_SEC);
    if (!was_held && held(rtc))
        hold(rtc, now);
    else if (was_held && !held(rtc))
        run_from_image(rtc, now);
}

/* Register B write.  SET going to 1 clears UIE (datasheet "UIE").  A new
 * DM or 24/12 while the clock is held re-encodes the held time. */
static void reg_b_write(cmos_rtc_t *rtc, uint8_t v, int64_t now)
{
    uint8_t old = rtc->ram[CMOS_RTC_REG_B];
    bool was_held = held(rtc);
    uint8_t delta;

    if ((v & CMOS_RTC_B_SET) && !(old & CMOS_RTC_B_SET))
        v &= (uint8_t)~CMOS_RTC_B_UIE;
    if (was_held && ((old ^ v) & (CMOS_RTC_B_DM_BINARY | CMOS_RTC_B_24H))) {
        int64_t s = decode_time(rtc->ram, old, &delta);

        encode_time(rtc->ram, s, v, delta);
    }
    rtc->ram[CMOS_RTC_REG_B] = v;
    if (!was_held && held(rtc))
        hold(rtc, now);
    else if (was_held && !held(rtc))
        run_from_image(rtc, now);
}

static uint8_t data_read(cmos_rtc_t *rtc, int64_t now)
{
    unsigned int i = rtc->index;
    uint8_t img[CMOS_RTC_SIZE];
    uint8_t v;

    if (is_time_byte(i) && !held(rtc)) {
        encode_time(img, guest_second(rtc, now + rtc->div_ns), rtc->ram[CMOS_RTC_REG_B],
                    rtc->dow_delta);
        return img[i];
    }
    switch (i) {
    case CMOS_RTC_REG_A:
        return reg_a_read(rtc, now);
    case CMOS_RTC_REG_C:
        v = rtc->flags | irqf(rtc);
        rtc->flags = 0;
        return v;
    case CMOS_RTC_REG_D:
        return CMOS_RTC_D_VRT;
    default:
        return rtc->ram[i];
    }
}

static cmos_rtc_result_t data_write(cmos_rtc_t *rtc, uint8_t v, int64_t now)
{
    unsigned int i = rtc->index;

    if (is_time_byte(i) && !held(rtc)) {
        /* Running: the time changes at once, within the same second. */
        hold(rtc, now);
        rtc->ram[i] = v;
        run_from_image(rtc, now);
        return CMOS_RTC_OK;
    }
    switch (i) {
    case CMOS_RTC_REG_A:
        reg_a_write(rtc, v, now);
        break;
    case CMOS_RTC_REG_B:
        reg_b_write(rtc, v, now);
        break;
    case CMOS_RTC_REG_C:
    case CMOS_RTC_REG_D:
        return CMOS_RTC_IGNORED;
    default:
        rtc->ram[i] = v;
        break;
    }
    return CMOS_RTC_OK;
}

cmos_rtc_result_t cmos_rtc_read(cmos_rtc_t *rtc, unsigned int offset, uint8_t *value)
{
    int64_t now;

    if (offset == CMOS_RTC_INDEX) {
        *value = 0xff; /* write-only on a PC */
        return CMOS_RTC_IGNORED;
    }
    if (offset != CMOS_RTC_DATA) {
        *value = 0xff;
        return CMOS_RTC_BAD_OFFSET;
    }
    now = clock_now(rtc);
    catch_up(rtc, now);
    *value = data_read(rtc, now);
    finish(rtc);
    return CMOS_RTC_OK;
}

cmos_rtc_result_t cmos_rtc_write(cmos_rtc_t *rtc, unsigned int offset, uint8_t value)
{
    cmos_rtc_result_t res;
    int64_t now;

    if (offset == CMOS_RTC_INDEX) {
        rtc->index = value & (CMOS_RTC_SIZE - 1);
        rtc->nmi_masked = (value & CMOS_RTC_NMI_MASK) != 0;
        return CMOS_RTC_OK;
    }
    if (offset != CMOS_RTC_DATA)
        return CMOS_RTC_BAD_OFFSET;
    now = clock_now(rtc);
    catch_up(rtc, now);
    res = data_write(rtc, value, now);
    finish(rtc);
    return res;
}

static bool is_ram_byte(unsigned int index)
{
    return index > CMOS_RTC_REG_D && index < CMOS_RTC_SIZE && index != CMOS_RTC_CENTURY;
}

int cmos_rtc_set_byte(cmos_rtc_t *rtc, unsigned int index, uint8_t value)
{
    if (!is_ram_byte(index))
        return -EINVAL;
    rtc->ram[index] = value;
    return 0;
}

int cmos_rtc_get_byte(const cmos_rtc_t *rtc, unsigned int index, uint8_t *value)
{
    if (!is_ram_byte(index))
        return -EINVAL;
    *value = rtc->ram[index];
    return 0;
}

bool cmos_rtc_nmi_masked(const cmos_rtc_t *rtc)
{
    return rtc->nmi_masked;
}

int cmos_rtc_irq_level(const cmos_rtc_t *rtc)
{
    return rtc->irq_level;
}

const char *cmos_rtc_result_name(cmos_rtc_result_t result)
{
    switch (result) {
    case CMOS_RTC_OK:
        return "ok";
    case CMOS_RTC_IGNORED:
        return "ignored";
    case CMOS_RTC_BAD_OFFSET:
        return "bad-offset";
    }
    return "unknown";
}
