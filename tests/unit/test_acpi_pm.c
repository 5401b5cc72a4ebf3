/*
 * test_acpi_pm.c - unit tests for src/devices/acpi_pm.c (the ACPI PM1
 * event/control blocks, PM timer and reset register).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <vmmkit/acpi_pm.h>

#define EVT ACPI_PM_DEFAULT_PM1A_EVT_PORT
#define STS EVT
#define EN (EVT + 2)
#define CNT ACPI_PM_DEFAULT_PM1A_CNT_PORT
#define TMR ACPI_PM_DEFAULT_PM_TMR_PORT
#define RST ACPI_PM_DEFAULT_RESET_PORT
#define NS 1000000000ull

/* What the callbacks saw. */
typedef struct fixture {
    acpi_pm_t pm;
    uint64_t now;
    int sci;
    unsigned int sci_calls;
    unsigned int sleep_calls;
    unsigned int sleep_state;
    unsigned int reset_calls;
} fixture_t;

static uint64_t cb_clock(void *opaque)
{
    return ((fixture_t *)opaque)->now;
}

static void cb_set_irq(void *opaque, int level)
{
    fixture_t *f = opaque;

    f->sci = level;
    f->sci_calls++;
}

static void cb_sleep(void *opaque, unsigned int state)
{
    fixture_t *f = opaque;

    f->sleep_calls++;
    f->sleep_state = state;
}

static void cb_reset(void *opaque)
{
    ((fixture_t *)opaque)->reset_calls++;
}

static int setup_with(void **state, bool timer_32bit)
{
    static fixture_t f;
    acpi_pm_config_t cfg = {
        .timer_32bit = timer_32bit,
        .clock = cb_clock,
        .set_irq = cb_set_irq,
        .sleep = cb_sleep,
        .reset = cb_reset,
        .opaque = &f,
    };

    memset(&f, 0, sizeof(f));
    f.now = 5 * NS; /* the clock does not start at 0 */
    if (acpi_pm_init(&f.pm, &cfg) != 0)
        return -1;
    *state = &f;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, false);
}

static int setup32(void **state)
{
    return setup_with(state, true);
}

static uint32_t rd(fixture_t *f, uint16_t port, unsigned int width)
{
    uint32_t v = 0x12345678;

    assert_int_equal(acpi_pm_io_read(&f->pm, port, width, &v), ACPI_PM_OK);
    return v;
}

static void wr(fixture_t *f, uint16_t port, unsigned int width, uint32_t v)
{
    assert_int_equal(acpi_pm_io_write(&f->pm, port, width, v), ACPI_PM_OK);
}

/* Ticks of the 3.579545 MHz timer in @ns nanoseconds. */
static uint64_t ticks(uint64_t ns)
{
    return (uint64_t)((unsigned __int128)ns * ACPI_PM_TIMER_HZ / NS);
}

/* The first ns offset from the timer's start at which it has counted @t ticks. */
static uint64_t ns_for_ticks(uint64_t t)
{
    return (uint64_t)(((unsigned __int128)t * NS + ACPI_PM_TIMER_HZ - 1) / ACPI_PM_TIMER_HZ);
}

/* ---- set-up ------------------------------------------------------------ */

static void test_init_errors(void **state)
{
    acpi_pm_t pm;
    acpi_pm_config_t cfg = {.clock = cb_clock, .opaque = *state};

    assert_int_equal(acpi_pm_init(NULL, &cfg), -EINVAL);
    assert_int_equal(acpi_pm_init(&pm, NULL), -EINVAL);
    cfg.clock = NULL;
    assert_int_equal(acpi_pm_init(&pm, &cfg), -EINVAL);
    cfg.clock = cb_clock;
    cfg.pm1a_cnt_port = EVT + 2; /* inside the event block */
    assert_int_equal(acpi_pm_init(&pm, &cfg), -EINVAL);
    cfg.pm1a_cnt_port = 0;
    cfg.reset_port = TMR + 3;
    assert_int_equal(acpi_pm_init(&pm, &cfg), -EINVAL);
    cfg.reset_port = 0;
    cfg.pm_tmr_port = 0xfffe; /* runs past 0xffff */
    assert_int_equal(acpi_pm_init(&pm, &cfg), -EINVAL);
    cfg.pm_tmr_port = 0xfffc;
    assert_int_equal(acpi_pm_init(&pm, &cfg), 0);
}

static void test_reset_state(void **state)
{
    fixture_t *f = *state;

    assert_int_equal(rd(f, STS, 2), 0);
    assert_int_equal(rd(f, EN, 2), 0);
    assert_int_equal(rd(f, CNT, 2), ACPI_PM1_CNT_SCI_EN);
    assert_int_equal(rd(f, TMR, 4), 0);
    assert_int_equal(rd(f, RST, 1), 0);
    assert_int_equal(acpi_pm_sci_level(&f->pm), 0);
    assert_int_equal(f->sci_calls, 0);
}

static void test_custom_ports(void **state)
{
    fixture_t *f = *state;
    acpi_pm_config_t cfg = {
        .pm1a_evt_port = 0xb000,
        .pm1a_cnt_port = 0xb004,
        .pm_tmr_port = 0xb008,
        .reset_port = 0xb00c,
        .clock = cb_clock,
        .sleep = cb_sleep,
        .opaque = f,
    };
    uint32_t v;

    assert_int_equal(acpi_pm_init(&f->pm, &cfg), 0);
    assert_int_equal(rd(f, 0xb004, 2), ACPI_PM1_CNT_SCI_EN);
    assert_int_equal(acpi_pm_io_read(&f->pm, CNT, 2, &v), ACPI_PM_BAD_PORT);
    assert_int_equal(v, 0xffffffffu);
    wr(f, 0xb004, 2, ACPI_PM_SLP_TYP_S5 << ACPI_PM1_CNT_SLP_TYP_SHIFT | ACPI_PM1_CNT_SLP_EN);
    assert_int_equal(f->sleep_calls, 1);
}

/* ---- PM1 event block --------------------------------------------------- */

static void test_pm1_en_read_write(void **state)
{
    fixture_t *f = *state;

    wr(f, EN, 2, 0xffff); /* only the defined bits stick (Table 4.12) */
    assert_int_equal(rd(f, EN, 2), ACPI_PM1_EN_TMR | ACPI_PM1_EN_GBL | ACPI_PM1_EN_PWRBTN |
                                       ACPI_PM1_EN_SLPBTN | ACPI_PM1_EN_RTC |
                                       ACPI_PM1_EN_PCIEXP_WAKE_DIS);
    wr(f, EN + 1, 1, 0x00); /* a byte write changes only its byte */
    assert_int_equal(rd(f, EN, 2), ACPI_PM1_EN_TMR | ACPI_PM1_EN_GBL);
    wr(f, EN, 2, 0);
    assert_int_equal(rd(f, EN, 2), 0);
}

static void test_power_button_status_write_one_to_clear(void **state)
{
    fixture_t *f = *state;

    acpi_pm_power_button(&f->pm);
    assert_int_equal(rd(f, STS, 2), ACPI_PM1_STS_PWRBTN);
    assert_int_equal(f->sci_calls, 0); /* not enabled: no SCI */
    wr(f, STS, 2, 0);                  /* writing 0 changes nothing */
    assert_int_equal(rd(f, STS, 2), ACPI_PM1_STS_PWRBTN);
    wr(f, STS, 2, 0xfeff); /* other bits do not clear it */
    assert_int_equal(rd(f, STS, 2), ACPI_PM1_STS_PWRBTN);
    wr(f, STS + 1, 1, 0x01); /* bit 8 through the high byte */
    assert_int_equal(rd(f, STS, 2), 0);
}

static void test_sci_follows_enabled_status(void **state)
{
    fixture_t *f = *state;

    wr(f, EN, 2, ACPI_PM1_EN_PWRBTN);
    assert_int_equal(f->sci_calls, 0);
    acpi_pm_power_button(&f->pm);
    assert_int_equal(f->sci, 1);
    assert_int_equal(f->sci_calls, 1);
    acpi_pm_power_button(&f->pm); /* already high: no new call */
    assert_int_equal(f->sci_calls, 1);
    assert_int_equal(acpi_pm_sci_level(&f->pm), 1);
    wr(f, STS, 2, ACPI_PM1_STS_PWRBTN);
    assert_int_equal(f->sci, 0);
    assert_int_equal(f->sci_calls, 2);

    /* Status first, enable later: the SCI rises when enabled, falls when disabled. */
    acpi_pm_power_button(&f->pm);
    wr(f, EN, 2, 0);
    assert_int_equal(f->sci, 0);
    assert_int_equal(f->sci_calls, 4);
    wr(f, EN, 2, ACPI_PM1_EN_PWRBTN);
    assert_int_equal(f->sci, 1);
    /* SCI_EN cannot be cleared, so the SCI stays. */
    wr(f, CNT, 2, 0);
    assert_int_equal(f->sci, 1);
}

static void test_wide_and_narrow_access(void **state)
{
    fixture_t *f = *state;
    uint32_t v;

    wr(f, EN, 2, ACPI_PM1_EN_PWRBTN | ACPI_PM1_EN_TMR);
    acpi_pm_power_button(&f->pm);
    /* A dword at the event block: STS in the low half, EN in the high. */
    assert_int_equal(rd(f, EVT, 4),
                     (uint32_t)(ACPI_PM1_EN_PWRBTN | ACPI_PM1_EN_TMR) << 16 | ACPI_PM1_STS_PWRBTN);
    /* A word across the two registers: STS's high byte, EN's low byte. */
    assert_int_equal(rd(f, EVT + 1, 2), 0x0101);
    assert_int_equal(rd(f, EVT + 3, 1), 0x01);
    /* A dword at PM1_CNT covers two ports that are not the model's. */
    assert_int_equal(rd(f, CNT, 4), 0xffff0000u | ACPI_PM1_CNT_SCI_EN);
    /* A dword write at the event block: clear status and set enables at once. */
    wr(f, EVT, 4, (uint32_t)ACPI_PM1_EN_TMR << 16 | ACPI_PM1_STS_PWRBTN);
    assert_int_equal(rd(f, STS, 2), 0);
    assert_int_equal(rd(f, EN, 2), ACPI_PM1_EN_TMR);

    assert_int_equal(acpi_pm_io_read(&f->pm, EVT, 3, &v), ACPI_PM_BAD_WIDTH);
    assert_int_equal(v, 0xffffffffu);
    assert_int_equal(acpi_pm_io_write(&f->pm, EVT, 8, 0), ACPI_PM_BAD_WIDTH);
    assert_int_equal(acpi_pm_io_write(&f->pm, EVT, 0, 0), ACPI_PM_BAD_WIDTH);
    assert_int_equal(acpi_pm_io_read(&f->pm, 0x1234, 2, &v), ACPI_PM_BAD_PORT);
    assert_int_equal(v, 0xffffffffu);
    assert_int_equal(acpi_pm_io_write(&f->pm, 0x1234, 4, 0xffffffff), ACPI_PM_BAD_PORT);
    assert_int_equal(acpi_pm_io_read(&f->pm, 0xffff, 4, &v), ACPI_PM_BAD_PORT);
    /* An access that starts before a block and reaches into it. */
    assert_int_equal(rd(f, EVT - 2, 4), 0x0000ffffu);
}

/* ---- PM1 control block ------------------------------------------------- */

static void test_pm1_cnt_bits(void **state)
{
    fixture_t *f = *state;

    wr(f, CNT, 2, 0); /* SCI_EN cannot be cleared: no SMI_CMD, always ACPI mode */
    assert_int_equal(rd(f, CNT, 2), ACPI_PM1_CNT_SCI_EN);
    wr(f, CNT, 2, ACPI_PM1_CNT_BM_RLD | ACPI_PM1_CNT_GBL_RLS | 3u << ACPI_PM1_CNT_SLP_TYP_SHIFT);
    /* BM_RLD and SLP_TYP read back; GBL_RLS is write-only. */
    assert_int_equal(rd(f, CNT, 2),
                     ACPI_PM1_CNT_SCI_EN | ACPI_PM1_CNT_BM_RLD | 3u << ACPI_PM1_CNT_SLP_TYP_SHIFT);
    assert_int_equal(rd(f, CNT + 1, 1), 0x0c);
    assert_int_equal(f->sleep_calls, 0);
}

static void test_sleep_s5(void **state)
{
    fixture_t *f = *state;
    uint32_t typ = ACPI_PM_SLP_TYP_S5 << ACPI_PM1_CNT_SLP_TYP_SHIFT;

    /* ACPICA writes SLP_TYP first, then SLP_TYP | SLP_EN. */
    wr(f, CNT, 2, typ | ACPI_PM1_CNT_SCI_EN);
    assert_int_equal(f->sleep_calls, 0);
    wr(f, CNT, 2, typ | ACPI_PM1_CNT_SCI_EN | ACPI_PM1_CNT_SLP_EN);
    assert_int_equal(f->sleep_calls, 1);
    assert_int_equal(f->sleep_state, ACPI_PM_STATE_S5);
    /* SLP_EN is write-only. */
    assert_int_equal(rd(f, CNT, 2), typ | ACPI_PM1_CNT_SCI_EN);
    /* A byte write of the high byte is enough. */
    wr(f, CNT + 1, 1, (typ | ACPI_PM1_CNT_SLP_EN) >> 8);
    assert_int_equal(f->sleep_calls, 2);
}

static void test_other_sleep_types_ignored(void **state)
{
    fixture_t *f = *state;

    for (uint32_t typ = 0; typ < 8; typ++) {
        if (typ == ACPI_PM_SLP_TYP_S5)
            continue;
        assert_int_equal(acpi_pm_io_write(&f->pm, CNT, 2,
                                          typ << ACPI_PM1_CNT_SLP_TYP_SHIFT | ACPI_PM1_CNT_SLP_EN),
                         ACPI_PM_SLEEP_IGNORED);
    }
    assert_int_equal(f->sleep_calls, 0);
}

static void test_sleep_without_callback(void **state)
{
    fixture_t *f = *state;
    acpi_pm_config_t cfg = {.clock = cb_clock, .opaque = f};

    assert_int_equal(acpi_pm_init(&f->pm, &cfg), 0);
    wr(f, CNT, 2, ACPI_PM_SLP_TYP_S5 << ACPI_PM1_CNT_SLP_TYP_SHIFT | ACPI_PM1_CNT_SLP_EN);
    wr(f, RST, 1, ACPI_PM_RESET_VALUE);
    acpi_pm_power_button(&f->pm);
    wr(f, EN, 2, ACPI_PM1_EN_PWRBTN);
    assert_int_equal(acpi_pm_sci_level(&f->pm), 1);
}

/* ---- PM timer ---------------------------------------------------------- */

static void test_timer_rate(void **state)
{
    fixture_t *f = *state;
    uint64_t start = f->now;

    assert_int_equal(rd(f, TMR, 4), 0);
    f->now = start + NS;
    assert_int_equal(rd(f, TMR, 4), ACPI_PM_TIMER_HZ);
    f->now = start + NS / 1000; /* 3579.545 ticks in 1 ms */
    assert_int_equal(rd(f, TMR, 4), 3579);
    f->now = start + 279; /* one tick is 279.365 ns */
    assert_int_equal(rd(f, TMR, 4), 0);
    f->now = start + 280;
    assert_int_equal(rd(f, TMR, 4), 1);
    assert_int_equal(acpi_pm_timer_read(&f->pm), 1);
    /* A clock that steps back reads as the start. */
    f->now = start - 1000;
    assert_int_equal(rd(f, TMR, 4), 0);
}

static void test_timer_24bit_wraps(void **state)
{
    fixture_t *f = *state;
    uint64_t start = f->now;

    f->now = start + ns_for_ticks((1u << 24) + 5);
    assert_int_equal(rd(f, TMR, 4), 5);
    f->now = start + 10 * NS;
    assert_int_equal(rd(f, TMR, 4), ticks(10 * NS) & 0xffffff);
    /* Byte and word reads see the same counter. */
    assert_int_equal(rd(f, TMR, 1), ticks(10 * NS) & 0xff);
    assert_int_equal(rd(f, TMR + 1, 2), (ticks(10 * NS) >> 8) & 0xffff);
    assert_int_equal(rd(f, TMR + 3, 1), 0); /* bits 31:24 read 0 */
}

static void test_timer_32bit(void **state)
{
    fixture_t *f = *state;
    uint64_t start = f->now;

    f->now = start + 10 * NS;
    assert_int_equal(rd(f, TMR, 4), ticks(10 * NS)); /* 35795450 > 2^24 */
    f->now = start + ns_for_ticks((1ull << 32) + 7);
    assert_int_equal(rd(f, TMR, 4), 7);
}

static void test_timer_is_read_only(void **state)
{
    fixture_t *f = *state;

    f->now += NS;
    assert_int_equal(acpi_pm_io_write(&f->pm, TMR, 4, 0), ACPI_PM_IGNORED);
    assert_int_equal(rd(f, TMR, 4), ACPI_PM_TIMER_HZ);
}

static void test_timer_status_and_sci(void **state)
{
    fixture_t *f = *state;
    uint64_t start = f->now, deadline;

    assert_int_equal(acpi_pm_timer_deadline(&f->pm), UINT64_MAX); /* TMR_EN clear */
    wr(f, EN, 2, ACPI_PM1_EN_TMR);
    deadline = acpi_pm_timer_deadline(&f->pm);
    /* The top bit (23) first changes at 2^23 ticks, about 2.34 s. */
    assert_int_equal(deadline, start + ns_for_ticks(1u << 23));
    f->now = deadline - 1;
    acpi_pm_update(&f->pm);
    assert_int_equal(rd(f, STS, 2), 0);
    assert_int_equal(f->sci, 0);
    f->now = deadline;
    acpi_pm_update(&f->pm);
    assert_int_equal(f->sci, 1);
    assert_int_equal(rd(f, STS, 2), ACPI_PM1_STS_TMR);
    /* Acknowledge: status and SCI drop until the bit changes again. */
    wr(f, STS, 2, ACPI_PM1_STS_TMR);
    assert_int_equal(rd(f, STS, 2), 0);
    assert_int_equal(f->sci, 0);
    assert_int_equal(acpi_pm_timer_deadline(&f->pm), start + ns_for_ticks(2u << 23));
    /* It changes back at 2^24 (the wrap); a read of PM1_STS notices too. */
    f->now = start + ns_for_ticks(1u << 24);
    assert_int_equal(rd(f, STS, 2), ACPI_PM1_STS_TMR);
    assert_int_equal(f->sci, 1);
}

static void test_timer_status_without_enable(void **state)
{
    fixture_t *f = *state;

    f->now += ns_for_ticks(1u << 23);
    assert_int_equal(rd(f, STS, 2), ACPI_PM1_STS_TMR); /* status is set regardless */
    assert_int_equal(f->sci_calls, 0);
}

static void test_timer_32bit_status(void **state)
{
    fixture_t *f = *state;
    uint64_t start = f->now;

    f->now = start + ns_for_ticks(1u << 23);
    assert_int_equal(rd(f, STS, 2), 0); /* the top bit is 31 now */
    f->now = start + ns_for_ticks(1ull << 31);
    assert_int_equal(rd(f, STS, 2), ACPI_PM1_STS_TMR);
}

/* ---- reset register ---------------------------------------------------- */

static void test_reset_register(void **state)
{
    fixture_t *f = *state;
    uint32_t v;

    wr(f, RST, 1, ACPI_PM_RESET_VALUE); /* the FADT's RESET_VALUE, 0x06 */
    assert_int_equal(f->reset_calls, 1);
    assert_int_equal(rd(f, RST, 1), ACPI_PM_RST_SYS); /* RST_CPU self-clears */
    wr(f, RST, 1, ACPI_PM_RST_SYS); /* Linux's cf9 method: 0x02, then 0x06 or 0x0e */
    assert_int_equal(f->reset_calls, 1);
    wr(f, RST, 1, ACPI_PM_RST_SYS | ACPI_PM_RST_CPU | ACPI_PM_RST_FULL);
    assert_int_equal(f->reset_calls, 2);
    assert_int_equal(rd(f, RST, 1), ACPI_PM_RST_SYS | ACPI_PM_RST_FULL);
    wr(f, RST, 1, ACPI_PM_RST_CPU); /* a soft reset resets too */
    assert_int_equal(f->reset_calls, 3);

    /* Wider accesses at 0xcf8/0xcf9 are PCI's CONFIG_ADDRESS, not this register. */
    assert_int_equal(acpi_pm_io_write(&f->pm, 0xcf8, 4, 0x80000400), ACPI_PM_BAD_PORT);
    assert_int_equal(acpi_pm_io_write(&f->pm, RST, 2, 0x0606), ACPI_PM_BAD_PORT);
    assert_int_equal(acpi_pm_io_write(&f->pm, 0xcf8, 1, 0x06), ACPI_PM_BAD_PORT);
    assert_int_equal(f->reset_calls, 3);
    assert_int_equal(acpi_pm_io_read(&f->pm, 0xcf8, 4, &v), ACPI_PM_BAD_PORT);
    assert_int_equal(v, 0xffffffffu);
}

/* ---- device reset ------------------------------------------------------ */

static void test_device_reset(void **state)
{
    fixture_t *f = *state;

    wr(f, EN, 2, ACPI_PM1_EN_PWRBTN);
    acpi_pm_power_button(&f->pm);
    wr(f, CNT, 2, 3u << ACPI_PM1_CNT_SLP_TYP_SHIFT);
    wr(f, RST, 1, ACPI_PM_RST_SYS);
    f->now += 3 * NS;
    assert_int_equal(f->sci, 1);
    acpi_pm_reset(&f->pm);
    assert_int_equal(f->sci, 0);
    assert_int_equal(rd(f, STS, 2), 0);
    assert_int_equal(rd(f, EN, 2), 0);
    assert_int_equal(rd(f, CNT, 2), ACPI_PM1_CNT_SCI_EN);
    assert_int_equal(rd(f, RST, 1), 0);
    assert_int_equal(rd(f, TMR, 4), 0); /* the timer restarts */
    f->now += NS;
    assert_int_equal(rd(f, TMR, 4), ACPI_PM_TIMER_HZ);
}

static void test_result_names(void **state)
{
    (void)state;
    assert_string_equal(acpi_pm_result_name(ACPI_PM_OK), "ok");
    assert_string_equal(acpi_pm_result_name(ACPI_PM_IGNORED), "ignored");
    assert_string_equal(acpi_pm_result_name(ACPI_PM_SLEEP_IGNORED), "sleep-ignored");
    assert_string_equal(acpi_pm_result_name(ACPI_PM_BAD_PORT), "bad-port");
    assert_string_equal(acpi_pm_result_name(ACPI_PM_BAD_WIDTH), "bad-width");
    assert_string_equal(acpi_pm_result_name((acpi_pm_result_t)99), "unknown");
}

/* Every port and width near the blocks is answered without a crash. */
static void test_any_port_any_width(void **state)
{
    fixture_t *f = *state;
    uint32_t v;

    for (unsigned int port = 0x5f0; port < 0x620; port++) {
        for (unsigned int w = 0; w <= 8; w++) {
            (void)acpi_pm_io_read(&f->pm, (uint16_t)port, w, &v);
            (void)acpi_pm_io_write(&f->pm, (uint16_t)port, w, 0xffffffffu);
        }
    }
    /* Writing all ones to PM1_CNT sleeps (SLP_TYP 7 is not S5): ignored. */
    assert_int_equal(f->sleep_calls, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_init_errors, setup),
        cmocka_unit_test_setup(test_reset_state, setup),
        cmocka_unit_test_setup(test_custom_ports, setup),
        cmocka_unit_test_setup(test_pm1_en_read_write, setup),
        cmocka_unit_test_setup(test_power_button_status_write_one_to_clear, setup),
        cmocka_unit_test_setup(test_sci_follows_enabled_status, setup),
        cmocka_unit_test_setup(test_wide_and_narrow_access, setup),
        cmocka_unit_test_setup(test_pm1_cnt_bits, setup),
        cmocka_unit_test_setup(test_sleep_s5, setup),
        cmocka_unit_test_setup(test_other_sleep_types_ignored, setup),
        cmocka_unit_test_setup(test_sleep_without_callback, setup),
        cmocka_unit_test_setup(test_timer_rate, setup),
        cmocka_unit_test_setup(test_timer_24bit_wraps, setup),
        cmocka_unit_test_setup(test_timer_32bit, setup32),
        cmocka_unit_test_setup(test_timer_is_read_only, setup),
        cmocka_unit_test_setup(test_timer_status_and_sci, setup),
        cmocka_unit_test_setup(test_timer_status_without_enable, setup),
        cmocka_unit_test_setup(test_timer_32bit_status, setup32),
        cmocka_unit_test_setup(test_reset_register, setup),
        cmocka_unit_test_setup(test_device_reset, setup),
        cmocka_unit_test_setup(test_result_names, setup),
        cmocka_unit_test_setup(test_any_port_any_width, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
