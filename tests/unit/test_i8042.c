/*
 * test_i8042.c - unit tests for src/devices/i8042.c (keyboard controller
 * and port B).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <vmmkit/i8042.h>

/* What the callbacks saw. */
typedef struct fixture {
    i8042_t k;
    int level[13];          /* by IRQ number */
    unsigned int rises[13]; /* rising edges by IRQ number */
    unsigned int irq_calls;
    unsigned int resets;
    int pit_out;
    int gate;
    unsigned int gate_calls;
} fixture_t;

static void cb_set_irq(void *cookie, unsigned int irq, int level)
{
    fixture_t *f = cookie;

    assert_true(irq == I8042_IRQ_KBD || irq == I8042_IRQ_AUX);
    assert_int_not_equal(level, f->level[irq]); /* changes only */
    f->level[irq] = level;
    if (level)
        f->rises[irq]++;
    f->irq_calls++;
}

static void cb_reset(void *cookie)
{
    fixture_t *f = cookie;

    f->resets++;
}

static int cb_pit_out(void *cookie)
{
    fixture_t *f = cookie;

    return f->pit_out;
}

static void cb_gate(void *cookie, int level)
{
    fixture_t *f = cookie;

    f->gate = level;
    f->gate_calls++;
}

static int setup(void **state)
{
    static fixture_t f;
    const i8042_ops_t ops = {
        .set_irq = cb_set_irq,
        .reset = cb_reset,
        .pit_ch2_out = cb_pit_out,
        .pit_ch2_gate = cb_gate,
    };

    memset(&f, 0, sizeof(f));
    if (i8042_init(&f.k, &ops, &f) != 0)
        return -1;
    *state = &f;
    return 0;
}

static uint8_t status(fixture_t *f)
{
    uint8_t v = 0;

    assert_int_equal(i8042_read(&f->k, I8042_STATUS, &v), I8042_OK);
    return v;
}

static uint8_t data(fixture_t *f)
{
    uint8_t v = 0;

    assert_int_equal(i8042_read(&f->k, I8042_DATA, &v), I8042_OK);
    return v;
}

static void cmd(fixture_t *f, uint8_t c)
{
    assert_int_equal(i8042_write(&f->k, I8042_COMMAND, c), I8042_OK);
}

static void wr(fixture_t *f, uint8_t v)
{
    assert_int_equal(i8042_write(&f->k, I8042_DATA, v), I8042_OK);
}

/* Linux's command encoding: bits 15:12 arguments, 11:8 results, 7:0 code. */
#define CTL_RCTR 0x0120
#define CTL_WCTR 0x1060
#define CTL_TEST 0x01aa
#define KBD_TEST 0x01ab
#define AUX_DISABLE 0x00a7
#define AUX_ENABLE 0x00a8
#define AUX_TEST 0x01a9
#define AUX_SEND 0x10d4
#define AUX_LOOP 0x11d3

/*
 * __i8042_command() of drivers/input/serio/i8042.c with its polls made
 * instant: the model never sets IBF, and any answer must already be in
 * the output buffer (on a real controller Linux would wait up to 500 ms
 * for it: a missing answer here is that timeout).  Returns 0 or -1.
 */
static int linux_command(fixture_t *f, uint8_t *param, int command)
{
    assert_false(status(f) & I8042_STR_IBF);
    cmd(f, (uint8_t)command);
    for (int i = 0; i < ((command >> 12) & 0xf); i++) {
        assert_false(status(f) & I8042_STR_IBF);
        wr(f, param[i]);
    }
    for (int i = 0; i < ((command >> 8) & 0xf); i++) {
        uint8_t str = status(f);

        if (!(str & I8042_STR_OBF))
            return -1; /* the 500 ms timeout */
        if (command == AUX_LOOP && !(str & I8042_STR_AUXDATA))
            return -1;
        param[i] = data(f);
    }
    return 0;
}

/* i8042_flush(): how many bytes were waiting. */
static int linux_flush(fixture_t *f)
{
    int n = 0;

    while ((status(f) & I8042_STR_OBF) && n < 32) {
        data(f);
        n++;
    }
    return n;
}

/* i8042_toggle_aux(): 0 when command byte bit 5 followed. */
static int linux_toggle_aux(fixture_t *f, int on)
{
    uint8_t param;

    if (linux_command(f, &param, on ? AUX_ENABLE : AUX_DISABLE))
        return -1;
    if (linux_command(f, &param, CTL_RCTR))
        return -1;
    return (!(param & I8042_CTR_AUXDIS)) == on ? 0 : -1;
}

/* What the interrupt handler sees: the bytes of one interrupt source. */
static int isr_read(fixture_t *f, unsigned int irq, uint8_t *byte)
{
    uint8_t str;

    if (!f->level[irq])
        return -1;
    str = status(f);
    assert_true(str & I8042_STR_OBF);
    assert_int_equal(!!(str & I8042_STR_AUXDATA), irq == I8042_IRQ_AUX);
    *byte = data(f);
    return 0;
}

/* A keyboard command as atkbd sends it (i8042_kbd_write) and the bytes it
 * answers through IRQ 1, into @resp; returns how many. */
static int kbd_exchange(fixture_t *f, uint8_t byte, uint8_t *resp, int max)
{
    int n = 0;

    assert_false(status(f) & I8042_STR_IBF);
    wr(f, byte);
    while (n < max && isr_read(f, I8042_IRQ_KBD, &resp[n]) == 0)
        n++;
    return n;
}

static void test_init(void **state)
{
    i8042_t k;
    uint8_t v;

    (void)state;
    assert_int_equal(i8042_init(NULL, NULL, NULL), -22);
    assert_int_equal(i8042_init(&k, NULL, NULL), 0);
    /* No callbacks at all: still works. */
    assert_int_equal(i8042_write(&k, I8042_COMMAND, 0xaa), I8042_OK);
    assert_int_equal(i8042_irq_level(&k, I8042_IRQ_KBD), 1);
    assert_int_equal(i8042_read(&k, I8042_DATA, &v), I8042_OK);
    assert_int_equal(v, 0x55);
    assert_int_equal(i8042_write(&k, I8042_COMMAND, 0xfe), I8042_OK);
    assert_int_equal(i8042_read(&k, I8042_PORT_B, &v), I8042_OK);
    assert_true(v & I8042_PORTB_PIT2_OUT);
}

static void test_reset_state(void **state)
{
    fixture_t *f = *state;
    uint8_t param;

    assert_int_equal(status(f), I8042_STR_NOT_INHIBITED | I8042_STR_SYS);
    assert_int_equal(linux_command(f, &param, CTL_RCTR), 0);
    assert_int_equal(param, I8042_CTR_INIT);
    assert_int_equal(param, 0x65);
    assert_int_equal(f->irq_calls, 2); /* that answer raised IRQ 1 (KBDINT) */
    assert_int_equal(f->level[I8042_IRQ_KBD], 0);
    assert_int_equal(f->resets, 0);
}

/* Linux's probe, in order: i8042_controller_check, _selftest, _init,
 * i8042_check_aux with its IRQ test, i8042_check_mux, i8042_setup_kbd,
 * then atkbd's probe and activation over IRQ 1. */
static void test_linux_probe(void **state)
{
    fixture_t *f = *state;
    uint8_t param, ctr[2], p[4];
    int n;

    /* i8042_controller_check: a controller whose buffer drains. */
    assert_int_equal(linux_flush(f), 0);
    /* i8042_controller_selftest. */
    assert_int_equal(linux_command(f, &param, CTL_TEST), 0);
    assert_int_equal(param, 0x55);
    /* i8042_controller_init: a stable CTR, keyboard off, no keylock. */
    assert_int_equal(linux_command(f, &ctr[0], CTL_RCTR), 0);
    assert_int_equal(linux_command(f, &ctr[1], CTL_RCTR), 0);
    assert_int_equal(ctr[0], ctr[1]);
    param = (uint8_t)((ctr[0] | I8042_CTR_KBDDIS) & ~I8042_CTR_KBDINT);
    assert_true(status(f) & I8042_STR_NOT_INHIBITED);
    assert_true(ctr[0] & I8042_CTR_XLATE); /* translated: atkbd keeps set 2 */
    assert_int_equal(linux_command(f, &param, CTL_WCTR), 0);
    assert_int_equal(linux_flush(f), 0);
    /* i8042_check_aux: the loop test passes, so AUX_TEST is not asked. */
    param = 0x5a;
    assert_int_equal(linux_command(f, &param, AUX_LOOP), 0);
    assert_int_equal(param, 0x5a);
    assert_int_equal(linux_toggle_aux(f, 0), 0);
    assert_int_equal(linux_toggle_aux(f, 1), 0);
    /* The IRQ 12 test: enable the aux port, loop 0xa5, wait for IRQ 12. */
    assert_int_equal(linux_command(f, &param, CTL_RCTR), 0);
    param = (uint8_t)((param & ~I8042_CTR_AUXDIS) | I8042_CTR_AUXINT);
    assert_int_equal(linux_command(f, &param, CTL_WCTR), 0);
    param = 0xa5;
    assert_int_equal(linux_command(f, &param, AUX_LOOP & 0xf0ff), 0);
    assert_int_equal(f->level[I8042_IRQ_AUX], 1);
    assert_int_equal(isr_read(f, I8042_IRQ_AUX, &param), 0);
    assert_int_equal(param, 0xa5);
    assert_int_equal(f->level[I8042_IRQ_AUX], 0);
    /* ... and the interface off again. */
    assert_int_equal(linux_command(f, &param, CTL_RCTR), 0);
    param = (uint8_t)((param | I8042_CTR_AUXDIS) & ~I8042_CTR_AUXINT);
    assert_int_equal(linux_command(f, &param, CTL_WCTR), 0);
    /* i8042_check_mux -> i8042_set_mux_mode(true): a plain controller
     * echoes the third byte, so there is no multiplexer. */
    p[0] = 0xf0;
    assert_int_equal(linux_command(f, p, AUX_LOOP), 0);
    assert_int_equal(p[0], 0xf0);
    p[0] = 0x56;
    assert_int_equal(linux_command(f, p, AUX_LOOP), 0);
    assert_int_equal(p[0], 0x56);
    p[0] = 0xa4;
    assert_int_equal(linux_command(f, p, AUX_LOOP), 0);
    assert_int_equal(p[0], 0xa4);
    /* i8042_enable_kbd_port. */
    assert_int_equal(linux_command(f, &param, CTL_RCTR), 0);
    param = (uint8_t)((param & ~I8042_CTR_KBDDIS) | I8042_CTR_KBDINT);
    assert_int_equal(linux_command(f, &param, CTL_WCTR), 0);
    assert_int_equal(f->level[I8042_IRQ_KBD], 0);
    /* atkbd_probe: GETID answers 0xab 0x41 (translated). */
    n = kbd_exchange(f, 0xf2, p, 4);
    assert_int_equal(n, 3);
    assert_int_equal(p[0], 0xfa);
    assert_int_equal(p[1], 0xab);
    assert_int_equal(p[2], 0x41);
    /* atkbd_deactivate, then atkbd_set_repeat_rate, _set_leds, _activate. */
    assert_int_equal(kbd_exchange(f, 0xf5, p, 4), 1);
    assert_int_equal(p[0], 0xfa);
    assert_int_equal(kbd_exchange(f, 0xf3, p, 4), 1);
    assert_int_equal(kbd_exchange(f, 0x00, p, 4), 1);
    assert_int_equal(p[0], 0xfa);
    assert_int_equal(kbd_exchange(f, 0xed, p, 4), 1);
    assert_int_equal(kbd_exchange(f, 0x02, p, 4), 1);
    assert_int_equal(f->k.kbd_leds, 0x02);
    assert_int_equal(kbd_exchange(f, 0xf4, p, 4), 1);
    assert_int_equal(p[0], 0xfa);
    /* Nothing left over, no reset on the way. */
    assert_int_equal(linux_flush(f), 0);
    assert_int_equal(f->resets, 0);
}

/* An empty aux port: a byte for the mouse times out at once. */
static void test_aux_device_absent(void **state)
{
    fixture_t *f = *state;
    uint8_t param = 0xf2; /* psmouse's GETID */

    cmd(f, 0x60);
    wr(f, I8042_CTR_KBDINT | I8042_CTR_AUXINT | I8042_CTR_XLATE | I8042_CTR_SYS);
    assert_int_equal(linux_command(f, &param, AUX_SEND), 0);
    assert_int_equal(f->level[I8042_IRQ_AUX], 1);
    assert_int_equal(status(f) & (I8042_STR_OBF | I8042_STR_AUXDATA | I8042_STR_TIMEOUT),
                     I8042_STR_OBF | I8042_STR_AUXDATA | I8042_STR_TIMEOUT);
    assert_int_equal(data(f), 0xfe);
    /* The time-out flag belonged to that byte. */
    assert_false(status(f) & I8042_STR_TIMEOUT);
    assert_int_equal(f->level[I8042_IRQ_AUX], 0);
    /* The interface tests report no errors either way. */
    assert_int_equal(linux_command(f, &param, AUX_TEST), 0);
    assert_int_equal(param, 0x00);
    assert_int_equal(linux_command(f, &param, KBD_TEST), 0);
    assert_int_equal(param, 0x00);
}

static void test_keyboard_commands(void **state)
{
    fixture_t *f = *state;
    uint8_t p[4];

    cmd(f, 0x60);
    wr(f, I8042_CTR_KBDINT); /* translation off */
    /* Reset: ACK, then the self-test result. */
    assert_int_equal(kbd_exchange(f, 0xff, p, 4), 2);
    assert_int_equal(p[0], 0xfa);
    assert_int_equal(p[1], 0xaa);
    /* Untranslated identify. */
    assert_int_equal(kbd_exchange(f, 0xf2, p, 4), 3);
    assert_int_equal(p[2], 0x83);
    /* Scan code set: read, set 3, read, bad set refused. */
    assert_int_equal(kbd_exchange(f, 0xf0, p, 4), 1);
    assert_int_equal(kbd_exchange(f, 0x00, p, 4), 2);
    assert_int_equal(p[1], 2);
    assert_int_equal(kbd_exchange(f, 0xf0, p, 4), 1);
    assert_int_equal(kbd_exchange(f, 0x03, p, 4), 1);
    assert_int_equal(p[0], 0xfa);
    assert_int_equal(kbd_exchange(f, 0xf0, p, 4), 1);
    assert_int_equal(kbd_exchange(f, 0x00, p, 4), 2);
    assert_int_equal(p[1], 3);
    assert_int_equal(kbd_exchange(f, 0xf0, p, 4), 1);
    assert_int_equal(kbd_exchange(f, 0x07, p, 4), 1);
    assert_int_equal(p[0], 0xfe);
    /* Translated, the set number goes through the table. */
    cmd(f, 0x60);
    wr(f, I8042_CTR_KBDINT | I8042_CTR_XLATE);
    kbd_exchange(f, 0xf0, p, 4);
    assert_int_equal(kbd_exchange(f, 0x00, p, 4), 2);
    assert_int_equal(p[1], 0x3f);
    /* Echo, resend, set-3 key types, unknown bytes. */
    assert_int_equal(kbd_exchange(f, 0xee, p, 4), 1);
    assert_int_equal(p[0], 0xee);
    assert_int_equal(kbd_exchange(f, 0xfe, p, 4), 1);
    assert_int_equal(p[0], 0xee);
    assert_int_equal(kbd_exchange(f, 0xf7, p, 4), 1);
    assert_int_equal(p[0], 0xfa);
    assert_int_equal(kbd_exchange(f, 0xfd, p, 4), 1);
    assert_int_equal(p[0], 0xfa);
    assert_int_equal(kbd_exchange(f, 0x01, p, 4), 1);
    assert_int_equal(p[0], 0xfe);
    assert_int_equal(kbd_exchange(f, 0xec, p, 4), 1);
    assert_int_equal(p[0], 0xfe);
    /* A command where an argument was expected starts that command. */
    assert_int_equal(kbd_exchange(f, 0xed, p, 4), 1);
    assert_int_equal(kbd_exchange(f, 0xf2, p, 4), 3);
    assert_int_equal(p[1], 0xab);
    /* Typematic rate and LEDs are stored; defaults restore them. */
    kbd_exchange(f, 0xf3, p, 4);
    kbd_exchange(f, 0xff & 0x7f, p, 4);
    assert_int_equal(f->k.kbd_typematic, 0x7f);
    kbd_exchange(f, 0xed, p, 4);
    kbd_exchange(f, 0x07, p, 4);
    assert_int_equal(f->k.kbd_leds, 7);
    assert_int_equal(kbd_exchange(f, 0xf6, p, 4), 1);
    assert_int_equal(f->k.kbd_leds, 0);
    assert_int_equal(f->k.kbd_typematic, 0x2b);
    assert_int_equal(kbd_exchange(f, 0xf5, p, 4), 1);
    assert_false(f->k.kbd_scanning);
    assert_int_equal(kbd_exchange(f, 0xf4, p, 4), 1);
    assert_true(f->k.kbd_scanning);
}

static void test_reset_line(void **state)
{
    fixture_t *f = *state;

    /* Pulse commands: bit 0 clear pulses the reset line. */
    cmd(f, 0xfe);
    assert_int_equal(f->resets, 1);
    cmd(f, 0xf0);
    assert_int_equal(f->resets, 2);
    cmd(f, 0xff);
    cmd(f, 0xf1);
    assert_int_equal(f->resets, 2);
    /* Output port writes: bit 0 clear asserts reset. */
    cmd(f, 0xd1);
    wr(f, 0xcf);
    assert_int_equal(f->resets, 2);
    cmd(f, 0xd1);
    wr(f, 0xce);
    assert_int_equal(f->resets, 3);
    /* Linux's BOOT_KBD loop: kb_wait (IBF clear) then 0xfe, ten times. */
    for (int i = 0; i < 10; i++) {
        assert_false(status(f) & I8042_STR_IBF);
        cmd(f, 0xfe);
    }
    assert_int_equal(f->resets, 13);
    /* None of these put anything in the output buffer. */
    assert_false(status(f) & I8042_STR_OBF);
}

static void test_output_port(void **state)
{
    fixture_t *f = *state;
    uint8_t param;

    /* Bits 4 and 5 show the two IRQ lines when the command runs: low. */
    cmd(f, 0xd0);
    assert_int_equal(data(f), I8042_OUT_INIT);
    cmd(f, 0xdd);
    assert_int_equal(linux_command(f, &param, 0x01d0), 0);
    assert_int_equal(param, I8042_OUT_INIT & ~I8042_OUT_A20);
    cmd(f, 0xdf);
    assert_int_equal(linux_command(f, &param, 0x01d0), 0);
    assert_int_equal(param, I8042_OUT_INIT);
    /* With a keyboard byte waiting and its interrupt on, bit 4 is set. */
    cmd(f, 0xd2);
    wr(f, 0x11);
    cmd(f, 0xd0);
    assert_int_equal(data(f), 0x11);
    assert_int_equal(data(f), I8042_OUT_INIT | I8042_OUT_KBD_OBF);
    /* A written value reads back (bit 0 set: no reset). */
    param = 0x03;
    assert_int_equal(linux_command(f, &param, 0x10d1), 0);
    assert_int_equal(linux_command(f, &param, 0x01d0), 0);
    assert_int_equal(param, 0x03);
    assert_int_equal(f->resets, 0);
}

static void test_write_output_buffers(void **state)
{
    fixture_t *f = *state;

    /* 0xd2: as if from the keyboard, IRQ 1 (KBDINT is on after reset). */
    cmd(f, 0xd2);
    wr(f, 0x42);
    assert_int_equal(status(f) & (I8042_STR_OBF | I8042_STR_AUXDATA), I8042_STR_OBF);
    assert_int_equal(f->level[I8042_IRQ_KBD], 1);
    assert_int_equal(data(f), 0x42);
    assert_int_equal(f->level[I8042_IRQ_KBD], 0);
    /* 0xd3 with AUXINT off: AUXDATA but no IRQ 12. */
    cmd(f, 0xd3);
    wr(f, 0x43);
    assert_int_equal(status(f) & (I8042_STR_OBF | I8042_STR_AUXDATA),
                     I8042_STR_OBF | I8042_STR_AUXDATA);
    assert_int_equal(f->level[I8042_IRQ_AUX], 0);
    assert_int_equal(f->level[I8042_IRQ_KBD], 0);
    /* Enabling AUXINT with the byte waiting raises IRQ 12 now. */
    cmd(f, 0x60);
    wr(f, I8042_CTR_INIT | I8042_CTR_AUXINT);
    assert_int_equal(f->level[I8042_IRQ_AUX], 1);
    cmd(f, 0x60);
    wr(f, I8042_CTR_INIT);
    assert_int_equal(f->level[I8042_IRQ_AUX], 0);
    assert_int_equal(data(f), 0x43);
    /* An empty buffer reads its last byte again, without effect. */
    uint8_t v = 0;
    assert_int_equal(i8042_read(&f->k, I8042_DATA, &v), I8042_IGNORED);
    assert_int_equal(v, 0x43);
}

static void test_each_byte_is_an_edge(void **state)
{
    fixture_t *f = *state;
    uint8_t p[4];

    /* Identify queues three bytes; each read loads the next one at once,
     * and IRQ 1 drops and rises again for it. */
    wr(f, 0xf2);
    assert_int_equal(f->rises[I8042_IRQ_KBD], 1);
    assert_int_equal(isr_read(f, I8042_IRQ_KBD, &p[0]), 0);
    assert_int_equal(f->rises[I8042_IRQ_KBD], 2);
    assert_int_equal(isr_read(f, I8042_IRQ_KBD, &p[1]), 0);
    assert_int_equal(f->rises[I8042_IRQ_KBD], 3);
    assert_int_equal(isr_read(f, I8042_IRQ_KBD, &p[2]), 0);
    assert_int_equal(f->level[I8042_IRQ_KBD], 0);
    assert_int_equal(f->rises[I8042_IRQ_KBD], 3);
    assert_int_equal(f->irq_calls, 6);
    /* Controller answers come before keyboard bytes that wait. */
    wr(f, 0xff);
    cmd(f, 0xaa);
    assert_int_equal(data(f), 0xfa); /* already in the buffer */
    assert_int_equal(data(f), 0x55);
    assert_int_equal(data(f), 0xaa);
}

static void test_keyboard_interface_disable(void **state)
{
    fixture_t *f = *state;
    uint8_t param;

    cmd(f, 0xad);
    assert_int_equal(linux_command(f, &param, CTL_RCTR), 0);
    assert_true(param & I8042_CTR_KBDDIS);
    /* The keyboard's answer waits while its clock is held. */
    wr(f, 0xff);
    assert_false(status(f) & I8042_STR_OBF);
    /* Controller answers still come. */
    assert_int_equal(linux_command(f, &param, CTL_TEST), 0);
    assert_int_equal(param, 0x55);
    cmd(f, 0xae);
    assert_int_equal(data(f), 0xfa);
    assert_int_equal(data(f), 0xaa);
    /* The same through the command byte. */
    cmd(f, 0x60);
    wr(f, I8042_CTR_INIT | I8042_CTR_KBDDIS);
    wr(f, 0xee);
    assert_false(status(f) & I8042_STR_OBF);
    cmd(f, 0x60);
    wr(f, I8042_CTR_INIT);
    assert_int_equal(f->level[I8042_IRQ_KBD], 1);
    assert_int_equal(data(f), 0xee);
}

static void test_controller_ram(void **state)
{
    fixture_t *f = *state;
    uint8_t param;

    for (unsigned int i = 1; i < 32; i++) {
        cmd(f, (uint8_t)(0x60 + i));
        wr(f, (uint8_t)(0x80 + i));
    }
    for (unsigned int i = 1; i < 32; i++) {
        assert_int_equal(linux_command(f, &param, 0x0120 + (int)i), 0);
        assert_int_equal(param, 0x80 + i);
    }
    /* The command byte is RAM byte 0; its SYS bit shows in the status. */
    param = 0x00;
    assert_int_equal(linux_command(f, &param, CTL_WCTR), 0);
    assert_false(status(f) & I8042_STR_SYS);
    assert_int_equal(linux_command(f, &param, CTL_RCTR), 0);
    assert_int_equal(param, 0);
    /* The self test sets SYS again. */
    assert_int_equal(linux_command(f, &param, CTL_TEST), 0);
    assert_true(status(f) & I8042_STR_SYS);
    /* Password check: none installed. */
    assert_int_equal(linux_command(f, &param, 0x01a4), 0);
    assert_int_equal(param, 0xf1);
}

static void test_command_abandons_argument(void **state)
{
    fixture_t *f = *state;
    uint8_t param;

    cmd(f, 0x60);
    cmd(f, 0x20); /* instead of the argument, a new command */
    assert_int_equal(data(f), I8042_CTR_INIT);
    /* So the next data byte goes to the keyboard, not the command byte. */
    wr(f, 0xee);
    assert_int_equal(data(f), 0xee);
    assert_int_equal(linux_command(f, &param, CTL_RCTR), 0);
    assert_int_equal(param, I8042_CTR_INIT);
    /* CMD/DATA follows the last port written. */
    cmd(f, 0xa7);
    assert_true(status(f) & I8042_STR_CMD);
    wr(f, 0xf4);
    assert_false(status(f) & I8042_STR_CMD);
}

static void test_overflow(void **state)
{
    fixture_t *f = *state;

    /* One in the buffer, eight behind it; the tenth answer is dropped. */
    for (int i = 0; i < 9; i++)
        cmd(f, 0xaa);
    assert_int_equal(i8042_write(&f->k, I8042_COMMAND, 0xaa), I8042_OVERFLOW);
    for (int i = 0; i < 9; i++)
        assert_int_equal(data(f), 0x55);
    assert_false(status(f) & I8042_STR_OBF);
    /* The keyboard keeps 16. */
    cmd(f, 0xad);
    for (int i = 0; i < 8; i++)
        wr(f, 0xff);
    assert_int_equal(i8042_write(&f->k, I8042_DATA, 0xee), I8042_OVERFLOW);
    cmd(f, 0xae);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(data(f), 0xfa);
        assert_int_equal(data(f), 0xaa);
    }
    assert_false(status(f) & I8042_STR_OBF);
}

static void test_unknown_and_bogus(void **state)
{
    fixture_t *f = *state;
    static const uint8_t unknown[] = {0x00, 0x1f, 0x80, 0xa0, 0xa1, 0xc0, 0xe0, 0xd5};
    static const unsigned int bad[] = {2, 3, 5, 0x60, 0x64, 0xffffffffu};
    uint8_t v;

    for (unsigned int i = 0; i < sizeof(unknown); i++)
        assert_int_equal(i8042_write(&f->k, I8042_COMMAND, unknown[i]), I8042_UNKNOWN_COMMAND);
    for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = 0;
        assert_int_equal(i8042_read(&f->k, bad[i], &v), I8042_BAD_OFFSET);
        assert_int_equal(v, 0xff);
        assert_int_equal(i8042_write(&f->k, bad[i], 0xfe), I8042_BAD_OFFSET);
    }
    assert_false(status(f) & I8042_STR_OBF);
    assert_int_equal(f->resets, 0);
    assert_int_equal(i8042_irq_level(&f->k, 4), 0);
    assert_string_equal(i8042_result_name(I8042_OK), "ok");
    assert_string_equal(i8042_result_name(I8042_IGNORED), "ignored");
    assert_string_equal(i8042_result_name(I8042_BAD_OFFSET), "bad-offset");
    assert_string_equal(i8042_result_name(I8042_UNKNOWN_COMMAND), "unknown-command");
    assert_string_equal(i8042_result_name(I8042_OVERFLOW), "overflow");
    assert_string_equal(i8042_result_name((i8042_result_t)99), "unknown");
}

static void test_port_b(void **state)
{
    fixture_t *f = *state;
    uint8_t a, b;

    /* Bit 4 toggles on every read. */
    assert_int_equal(i8042_read(&f->k, I8042_PORT_B, &a), I8042_OK);
    assert_int_equal(i8042_read(&f->k, I8042_PORT_B, &b), I8042_OK);
    assert_int_equal((a ^ b) & I8042_PORTB_REFRESH, I8042_PORTB_REFRESH);
    /* Bit 5 is the PIT's channel 2 output. */
    assert_false(a & I8042_PORTB_PIT2_OUT);
    f->pit_out = 1;
    i8042_read(&f->k, I8042_PORT_B, &a);
    assert_true(a & I8042_PORTB_PIT2_OUT);
    /* Linux's calibration: gate on, speaker off. */
    assert_int_equal(i8042_write(&f->k, I8042_PORT_B, (uint8_t)((a & ~0x02) | 0x01)), I8042_OK);
    assert_int_equal(f->gate, 1);
    assert_int_equal(f->gate_calls, 1);
    i8042_write(&f->k, I8042_PORT_B, 0xf3); /* bits 7:4 are read-only */
    assert_int_equal(f->gate_calls, 1);
    i8042_read(&f->k, I8042_PORT_B, &a);
    assert_int_equal(a & 0xcf, 0x03);
    i8042_write(&f->k, I8042_PORT_B, 0x0c);
    assert_int_equal(f->gate, 0);
    assert_int_equal(f->gate_calls, 2);
    i8042_read(&f->k, I8042_PORT_B, &a);
    assert_int_equal(a & 0xcf, 0x0c);
    /* A reset with the gate on turns it off. */
    i8042_write(&f->k, I8042_PORT_B, 0x01);
    i8042_reset(&f->k);
    assert_int_equal(f->gate, 0);
    assert_int_equal(f->gate_calls, 4);
}

static void test_reset(void **state)
{
    fixture_t *f = *state;
    uint8_t param;

    cmd(f, 0x60);
    wr(f, I8042_CTR_KBDINT | I8042_CTR_AUXINT);
    cmd(f, 0xd3);
    wr(f, 0x01);
    cmd(f, 0x7f);
    wr(f, 0x99);
    wr(f, 0xed); /* the keyboard waits for an argument */
    assert_int_equal(f->level[I8042_IRQ_AUX], 1);
    i8042_reset(&f->k);
    assert_int_equal(f->level[I8042_IRQ_AUX], 0);
    assert_int_equal(status(f), I8042_STR_NOT_INHIBITED | I8042_STR_SYS);
    assert_int_equal(linux_command(f, &param, CTL_RCTR), 0);
    assert_int_equal(param, I8042_CTR_INIT);
    assert_int_equal(linux_command(f, &param, 0x013f), 0);
    assert_int_equal(param, 0);
    /* The keyboard no longer waits: 0x05 is a (bad) command again. */
    wr(f, 0x05);
    assert_int_equal(data(f), 0xfe);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init),
        cmocka_unit_test_setup(test_reset_state, setup),
        cmocka_unit_test_setup(test_linux_probe, setup),
        cmocka_unit_test_setup(test_aux_device_absent, setup),
        cmocka_unit_test_setup(test_keyboard_commands, setup),
        cmocka_unit_test_setup(test_reset_line, setup),
        cmocka_unit_test_setup(test_output_port, setup),
        cmocka_unit_test_setup(test_write_output_buffers, setup),
        cmocka_unit_test_setup(test_each_byte_is_an_edge, setup),
        cmocka_unit_test_setup(test_keyboard_interface_disable, setup),
        cmocka_unit_test_setup(test_controller_ram, setup),
        cmocka_unit_test_setup(test_command_abandons_argument, setup),
        cmocka_unit_test_setup(test_overflow, setup),
        cmocka_unit_test_setup(test_unknown_and_bogus, setup),
        cmocka_unit_test_setup(test_port_b, setup),
        cmocka_unit_test_setup(test_reset, setup),
    };

    return cmocka_run_group_tests_name("i8042", tests, NULL, NULL);
}
