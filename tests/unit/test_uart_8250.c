/*
 * test_uart_8250.c - unit tests for src/devices/uart_8250.c (16550A model).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <vmmkit/uart_8250.h>

/* What the callbacks saw. */
typedef struct fixture {
    uart_8250_t u;
    uint8_t tx[512];
    size_t tx_len;
    int irq_level;
    unsigned int irq_calls;
    int irq_log[64]; /* the levels in order */
    unsigned int rx_ready_calls;
} fixture_t;

static void cb_tx(void *cookie, uint8_t byte)
{
    fixture_t *f = cookie;

    if (f->tx_len < sizeof(f->tx))
        f->tx[f->tx_len++] = byte;
}

static void cb_set_irq(void *cookie, int level)
{
    fixture_t *f = cookie;

    /* The model reports changes only. */
    assert_int_not_equal(level, f->irq_level);
    f->irq_level = level;
    if (f->irq_calls < 64)
        f->irq_log[f->irq_calls] = level;
    f->irq_calls++;
}

static void cb_rx_ready(void *cookie)
{
    fixture_t *f = cookie;

    f->rx_ready_calls++;
}

static int setup(void **state)
{
    static fixture_t f;
    const uart_8250_ops_t ops = {.tx = cb_tx, .set_irq = cb_set_irq, .rx_ready = cb_rx_ready};

    memset(&f, 0, sizeof(f));
    if (uart_8250_init(&f.u, &ops, &f) != 0)
        return -1;
    *state = &f;
    return 0;
}

static uint8_t in(fixture_t *f, unsigned int off)
{
    uint8_t v = 0x5a;

    assert_int_equal(uart_8250_read(&f->u, off, &v), UART_8250_OK);
    return v;
}

static void out(fixture_t *f, unsigned int off, uint8_t v)
{
    assert_int_equal(uart_8250_write(&f->u, off, v), UART_8250_OK);
}

static void rx(fixture_t *f, const char *s)
{
    size_t n = strlen(s);

    assert_int_equal(uart_8250_receive(&f->u, (const uint8_t *)s, n), n);
}

/* IIR's interrupt identification, FIFO bits stripped. */
static uint8_t iir_id(fixture_t *f)
{
    return in(f, UART_8250_IIR) & UART_8250_IIR_ID_MASK;
}

/* What Linux's serial8250_do_startup leaves: FIFO on (8-byte trigger),
 * 8N1, DTR/RTS/OUT2, RX and line status interrupts. */
static void linux_like_setup(fixture_t *f)
{
    out(f, UART_8250_FCR, 0x87);
    out(f, UART_8250_LCR, 0x03);
    out(f, UART_8250_MCR, UART_8250_MCR_DTR | UART_8250_MCR_RTS | UART_8250_MCR_OUT2);
    out(f, UART_8250_IER, UART_8250_IER_ERBFI | UART_8250_IER_ELSI);
}

static void test_init_rejects_bad_config(void **state)
{
    uart_8250_t u;
    uart_8250_ops_t ops = {.tx = NULL};

    (void)state;
    assert_int_equal(uart_8250_init(NULL, &ops, NULL), -22);
    assert_int_equal(uart_8250_init(&u, NULL, NULL), -22);
    assert_int_equal(uart_8250_init(&u, &ops, NULL), -22);
    ops.tx = cb_tx;
    assert_int_equal(uart_8250_init(&u, &ops, NULL), 0);
}

static void test_reset_values(void **state)
{
    fixture_t *f = *state;

    /* Datasheet Table III; MSR shows a connected terminal. */
    assert_int_equal(in(f, UART_8250_IER), 0);
    assert_int_equal(in(f, UART_8250_IIR), 0x01);
    assert_int_equal(in(f, UART_8250_LCR), 0);
    assert_int_equal(in(f, UART_8250_MCR), 0);
    assert_int_equal(in(f, UART_8250_LSR), 0x60);
    assert_int_equal(in(f, UART_8250_MSR), 0xb0);
    assert_int_equal(in(f, UART_8250_SCR), 0);
    out(f, UART_8250_LCR, UART_8250_LCR_DLAB);
    assert_int_equal(in(f, UART_8250_DLL), 12);
    assert_int_equal(in(f, UART_8250_DLM), 0);
    assert_int_equal(uart_8250_rx_space(&f->u), 1);
    assert_int_equal(f->irq_calls, 0);
    assert_int_equal(f->tx_len, 0);
}

/* Linux's size_fifo(): bytes that come back in loopback at 115200 8N1. */
static int linux_size_fifo(fixture_t *f)
{
    uint8_t old_lcr = in(f, UART_8250_LCR), old_fcr, old_mcr, dll, dlm;
    int count;

    out(f, UART_8250_LCR, 0);
    old_fcr = in(f, UART_8250_FCR); /* reads IIR, as Linux does */
    old_mcr = in(f, UART_8250_MCR);
    out(f, UART_8250_FCR, 0x07);
    out(f, UART_8250_MCR, UART_8250_MCR_LOOP);
    out(f, UART_8250_LCR, UART_8250_LCR_DLAB);
    dll = in(f, UART_8250_DLL);
    dlm = in(f, UART_8250_DLM);
    out(f, UART_8250_DLL, 1);
    out(f, UART_8250_DLM, 0);
    out(f, UART_8250_LCR, 0x03);
    for (count = 0; count < 256; count++)
        out(f, UART_8250_THR, (uint8_t)count);
    for (count = 0; (in(f, UART_8250_LSR) & UART_8250_LSR_DR) && count < 256; count++)
        in(f, UART_8250_RBR);
    out(f, UART_8250_FCR, old_fcr);
    out(f, UART_8250_MCR, old_mcr);
    out(f, UART_8250_LCR, 0x80);
    out(f, UART_8250_DLL, dll);
    out(f, UART_8250_DLM, dlm);
    out(f, UART_8250_LCR, old_lcr);
    return count;
}

/*
 * The decisions of Linux's autoconfig() and autoconfig_16550a()
 * (drivers/tty/serial/8250/8250_port.c), in their order, with the port
 * accesses they make: the name of the type Linux would pick.
 */
static const char *linux_autoconfig(fixture_t *f)
{
    uint8_t scratch, scratch2, scratch3, status1, status2, save_lcr, save_mcr, iersave;

    scratch = in(f, UART_8250_IER);
    out(f, UART_8250_IER, 0);
    scratch2 = in(f, UART_8250_IER) & 0x0f;
    out(f, UART_8250_IER, 0x0f);
    scratch3 = in(f, UART_8250_IER) & 0x0f;
    out(f, UART_8250_IER, scratch);
    if (scratch2 != 0 || scratch3 != 0x0f)
        return "none (IER test)";
    save_mcr = in(f, UART_8250_MCR);
    save_lcr = in(f, UART_8250_LCR);
    /* The loopback test (not skipped here, as for non-COM1-4 ports). */
    out(f, UART_8250_MCR, UART_8250_MCR_LOOP | 0x0a);
    status1 = in(f, UART_8250_MSR) & 0xf0;
    out(f, UART_8250_MCR, save_mcr);
    if (status1 != 0x90)
        return "none (LOOP test)";
    /* EFR (if any) to 0, then FIFO detection through IIR bits 7:6. */
    out(f, UART_8250_LCR, 0xbf);
    out(f, 2, 0);
    out(f, UART_8250_LCR, 0);
    out(f, UART_8250_FCR, UART_8250_FCR_ENABLE);
    scratch = in(f, UART_8250_IIR) >> 6;
    if (scratch == 0) {
        out(f, UART_8250_SCR, 0xa5);
        return in(f, UART_8250_SCR) == 0xa5 ? "16450" : "8250";
    }
    if (scratch == 1)
        return "unknown";
    if (scratch == 2)
        return "16550";
    /* autoconfig_16550a: EFR with DLAB (ST16C650V1). */
    out(f, UART_8250_LCR, 0x80);
    if (in(f, 2) == 0)
        return "16650";
    /* EFR with LCR 0xbf (ST16C650V2 and others). */
    out(f, UART_8250_LCR, 0xbf);
    if (in(f, 2) == 0)
        return "16650V2";
    /* National SuperIO: MCR's LOOP bit visible in EXCR1 (LCR 0xe0, offset 2). */
    out(f, UART_8250_LCR, 0);
    status1 = in(f, UART_8250_MCR);
    out(f, UART_8250_LCR, 0xe0);
    status2 = in(f, 2);
    if (!((status2 ^ status1) & UART_8250_MCR_LOOP)) {
        out(f, UART_8250_LCR, 0);
        out(f, UART_8250_MCR, status1 ^ UART_8250_MCR_LOOP);
        out(f, UART_8250_LCR, 0xe0);
        status2 = in(f, 2);
        out(f, UART_8250_LCR, 0);
        out(f, UART_8250_MCR, status1);
        if ((status2 ^ status1) & UART_8250_MCR_LOOP)
            return "NS16550A";
    }
    /* TI16750: IIR bit 5 with FCR bit 5, with and without DLAB. */
    out(f, UART_8250_LCR, 0);
    out(f, UART_8250_FCR, UART_8250_FCR_ENABLE | 0x20);
    status1 = in(f, UART_8250_IIR) >> 5;
    out(f, UART_8250_FCR, UART_8250_FCR_ENABLE);
    out(f, UART_8250_LCR, 0x80);
    out(f, UART_8250_FCR, UART_8250_FCR_ENABLE | 0x20);
    status2 = in(f, UART_8250_IIR) >> 5;
    out(f, UART_8250_FCR, UART_8250_FCR_ENABLE);
    out(f, UART_8250_LCR, 0);
    if (status1 == 6 && status2 == 7)
        return "16750";
    /* XScale: IER bit 6 (UUE) writable. */
    iersave = in(f, UART_8250_IER);
    out(f, UART_8250_IER, iersave & ~0x40);
    if (!(in(f, UART_8250_IER) & 0x40)) {
        out(f, UART_8250_IER, iersave | 0x40);
        if (in(f, UART_8250_IER) & 0x40)
            return "XScale";
    }
    out(f, UART_8250_IER, iersave);
    if (linux_size_fifo(f) == 64)
        return "U6_16550A";
    /* autoconfig()'s tail: restore LCR and MCR, clear FIFOs, read RX. */
    out(f, UART_8250_LCR, save_lcr);
    out(f, UART_8250_MCR, save_mcr);
    out(f, UART_8250_FCR, UART_8250_FCR_ENABLE);
    out(f, UART_8250_FCR, UART_8250_FCR_ENABLE | UART_8250_FCR_CLEAR_RX | UART_8250_FCR_CLEAR_TX);
    out(f, UART_8250_FCR, 0);
    in(f, UART_8250_RBR);
    out(f, UART_8250_IER, 0);
    return "16550A";
}

static void test_linux_autoconfig_finds_16550a(void **state)
{
    fixture_t *f = *state;

    assert_string_equal(linux_autoconfig(f), "16550A");
    /* Nothing leaked to the host (all TX was in loopback), no interrupt. */
    assert_int_equal(f->tx_len, 0);
    assert_int_equal(f->irq_calls, 0);
    /* The port is left as Linux left it. */
    assert_int_equal(in(f, UART_8250_LCR), 0);
    assert_int_equal(in(f, UART_8250_MCR), 0);
    assert_int_equal(in(f, UART_8250_IIR), 0x01);
    assert_int_equal(in(f, UART_8250_LSR), 0x60);
    /* size_fifo() counts 16 again (and "restores" FCR from what it read at
     * IIR, 0x01, as Linux's does: FIFOs on afterwards). */
    assert_int_equal(linux_size_fifo(f), 16);
    assert_int_equal(in(f, UART_8250_IIR), 0xc1);
    out(f, UART_8250_THR, 'k');
    assert_int_equal(f->tx_len, 1);
}

static void test_fifo_bits_in_iir(void **state)
{
    fixture_t *f = *state;

    out(f, UART_8250_FCR, UART_8250_FCR_ENABLE);
    assert_int_equal(in(f, UART_8250_IIR), 0xc1);
    /* FCR bit 5 (a 16750's 64-byte mode) does nothing: IIR bit 5 stays 0. */
    out(f, UART_8250_FCR, 0xe1);
    assert_int_equal(in(f, UART_8250_IIR), 0xc1);
    /* FCR is reached with DLAB set too (only offsets 0/1 change). */
    out(f, UART_8250_LCR, 0x80);
    out(f, UART_8250_FCR, 0);
    assert_int_equal(in(f, UART_8250_IIR), 0x01);
    out(f, UART_8250_LCR, 0);
    /* Bits other than FCR0 are not programmed with FCR0 clear. */
    out(f, UART_8250_FCR, 0xc0);
    assert_int_equal(in(f, UART_8250_IIR), 0x01);
    assert_int_equal(uart_8250_rx_space(&f->u), 1);
}

static void test_thre_interrupt(void **state)
{
    fixture_t *f = *state;

    out(f, UART_8250_MCR, UART_8250_MCR_OUT2);
    assert_int_equal(f->irq_calls, 0);
    /* Enabling ETBEI with THR empty raises THRE at once. */
    out(f, UART_8250_IER, UART_8250_IER_ETBEI);
    assert_int_equal(f->irq_level, 1);
    assert_int_equal(iir_id(f), UART_8250_IIR_THRE);
    /* That IIR read cleared it (it was the source shown). */
    assert_int_equal(f->irq_level, 0);
    assert_int_equal(iir_id(f), UART_8250_IIR_NONE);
    /* Writing THR clears it, the instant transmission sets it again. */
    out(f, UART_8250_THR, 'a');
    assert_int_equal(f->tx[0], 'a');
    assert_int_equal(f->irq_level, 1);
    assert_true(in(f, UART_8250_LSR) & UART_8250_LSR_THRE);
    /* More writes while pending: no new calls. */
    out(f, UART_8250_THR, 'b');
    assert_int_equal(f->irq_calls, 3);
    /* Disabling ETBEI drops the line; re-enabling raises it again. */
    out(f, UART_8250_IER, 0);
    assert_int_equal(f->irq_level, 0);
    assert_int_equal(iir_id(f), UART_8250_IIR_NONE);
    out(f, UART_8250_IER, UART_8250_IER_ETBEI);
    assert_int_equal(f->irq_level, 1);
    /* Rewriting IER with ETBEI still set is not a rising edge of ETBEI. */
    assert_int_equal(iir_id(f), UART_8250_IIR_THRE);
    out(f, UART_8250_IER, UART_8250_IER_ETBEI);
    assert_int_equal(iir_id(f), UART_8250_IIR_NONE);
    assert_int_equal(f->irq_level, 0);
}

/* serial8250_do_startup's THRE re-assertion and TXEN tests. */
static void test_linux_thre_tests(void **state)
{
    fixture_t *f = *state;
    uint8_t iir1, iir, lsr;

    /* UART_BUG_THRE test: IER=THRI, IIR, IER=0, IER=THRI, IIR. */
    out(f, UART_8250_IER, UART_8250_IER_ETBEI);
    iir1 = in(f, UART_8250_IIR);
    out(f, UART_8250_IER, 0);
    out(f, UART_8250_IER, UART_8250_IER_ETBEI);
    iir = in(f, UART_8250_IIR);
    out(f, UART_8250_IER, 0);
    assert_false(iir1 & UART_8250_IIR_NONE);
    assert_false(iir & UART_8250_IIR_NONE); /* re-asserted: no UART_BUG_THRE */
    /* UART_BUG_TXEN test: IER=THRI, LSR, IIR. */
    out(f, UART_8250_IER, UART_8250_IER_ETBEI);
    lsr = in(f, UART_8250_LSR);
    iir = in(f, UART_8250_IIR);
    out(f, UART_8250_IER, 0);
    assert_true(lsr & UART_8250_LSR_TEMT);
    assert_false(iir & UART_8250_IIR_NONE);
    /* OUT2 was never set: the line never rose. */
    assert_int_equal(f->irq_calls, 0);
}

/* Interrupt-driven output as Linux does it: start_tx sets THRI, the handler
 * reads IIR and LSR and writes up to 16 bytes per interrupt, stop_tx
 * clears THRI when the buffer is empty. */
static void test_interrupt_driven_tx(void **state)
{
    fixture_t *f = *state;
    char msg[100];
    size_t sent = 0;
    unsigned int interrupts = 0;

    for (unsigned int i = 0; i < sizeof(msg); i++)
        msg[i] = (char)('!' + i % 90);
    linux_like_setup(f);
    out(f, UART_8250_IER, in(f, UART_8250_IER) | UART_8250_IER_ETBEI);
    while (f->irq_level && interrupts < 100) {
        uint8_t iir;

        interrupts++;
        /* The handler loops until IIR says no interrupt. */
        while (!((iir = in(f, UART_8250_IIR)) & UART_8250_IIR_NONE)) {
            uint8_t lsr = in(f, UART_8250_LSR);

            if (!(lsr & UART_8250_LSR_THRE))
                continue;
            if (sent == sizeof(msg)) {
                out(f, UART_8250_IER, in(f, UART_8250_IER) & ~UART_8250_IER_ETBEI);
                continue;
            }
            for (unsigned int n = 0; n < 16 && sent < sizeof(msg); n++)
                out(f, UART_8250_THR, (uint8_t)msg[sent++]);
        }
    }
    assert_int_equal(f->tx_len, sizeof(msg));
    assert_memory_equal(f->tx, msg, sizeof(msg));
    assert_int_equal(f->irq_level, 0);
    /* One interrupt; the handler's IIR loop did the rest. */
    assert_int_equal(interrupts, 1);
}

static void test_iir_priorities(void **state)
{
    fixture_t *f = *state;

    /* Build all four causes at once in loopback, 16450 mode. */
    out(f, UART_8250_MCR, UART_8250_MCR_LOOP | UART_8250_MCR_DTR);
    out(f, UART_8250_IER, 0x0f);
    out(f, UART_8250_THR, 'x');
    out(f, UART_8250_THR, 'y'); /* overruns the one-byte RBR */
    assert_int_equal(iir_id(f), UART_8250_IIR_RLS);
    assert_int_equal(in(f, UART_8250_LSR), 0x63); /* DR, OE, THRE, TEMT */
    assert_int_equal(in(f, UART_8250_LSR), 0x61); /* OE cleared by the read */
    assert_int_equal(iir_id(f), UART_8250_IIR_RDA);
    assert_int_equal(in(f, UART_8250_RBR), 'y'); /* 16450 overrun overwrites */
    assert_int_equal(iir_id(f), UART_8250_IIR_THRE);
    /* That read cleared THRE; modem status (DSR from DTR) is left. */
    assert_int_equal(iir_id(f), UART_8250_IIR_MSR);
    assert_int_equal(in(f, UART_8250_MSR), 0x20 | UART_8250_MSR_DCTS | UART_8250_MSR_DDCD);
    assert_int_equal(iir_id(f), UART_8250_IIR_NONE);
    /* In loopback the PC's OUT2 gate is off: the line never rose. */
    assert_int_equal(f->irq_calls, 0);
    /* IER masks each cause: none is shown with IER 0. */
    out(f, UART_8250_THR, 'z');
    out(f, UART_8250_IER, 0);
    assert_int_equal(iir_id(f), UART_8250_IIR_NONE);
    out(f, UART_8250_IER, UART_8250_IER_ERBFI);
    assert_int_equal(iir_id(f), UART_8250_IIR_RDA);
}

static void test_rx_trigger_levels(void **state)
{
    fixture_t *f = *state;
    static const struct {
        uint8_t fcr;
        unsigned int trigger;
    } cases[] = {{0x01, 1}, {0x41, 4}, {0x81, 8}, {0xc1, 14}};
    uint8_t in_bytes[16];

    memset(in_bytes, 'q', sizeof(in_bytes));
    out(f, UART_8250_MCR, UART_8250_MCR_OUT2);
    out(f, UART_8250_IER, UART_8250_IER_ERBFI);
    for (unsigned int c = 0; c < 4; c++) {
        unsigned int t = cases[c].trigger;

        out(f, UART_8250_FCR, cases[c].fcr | UART_8250_FCR_CLEAR_RX);
        assert_int_equal(iir_id(f), UART_8250_IIR_NONE);
        assert_int_equal(uart_8250_receive(&f->u, in_bytes, t - 1), t - 1);
        /* Below the trigger: the character timeout reports the data. */
        assert_int_equal(iir_id(f), t > 1 ? UART_8250_IIR_TIMEOUT : UART_8250_IIR_NONE);
        assert_int_equal(uart_8250_receive(&f->u, in_bytes, 1), 1);
        assert_int_equal(iir_id(f), UART_8250_IIR_RDA);
        assert_int_equal(f->irq_level, 1);
        /* Reading one byte goes below the trigger: timeout again, or none. */
        in(f, UART_8250_RBR);
        assert_int_equal(iir_id(f), t > 1 ? UART_8250_IIR_TIMEOUT : UART_8250_IIR_NONE);
        for (unsigned int i = 1; i < t; i++)
            in(f, UART_8250_RBR);
        assert_int_equal(iir_id(f), UART_8250_IIR_NONE);
        assert_int_equal(f->irq_level, 0);
        assert_false(in(f, UART_8250_LSR) & UART_8250_LSR_DR);
    }
}

static void test_rx_16450_mode(void **state)
{
    fixture_t *f = *state;
    const uint8_t abc[3] = {'a', 'b', 'c'};

    out(f, UART_8250_IER, UART_8250_IER_ERBFI);
    /* Character mode: a one-byte RBR, never a timeout. */
    assert_int_equal(uart_8250_receive(&f->u, abc, 3), 1);
    assert_int_equal(iir_id(f), UART_8250_IIR_RDA);
    assert_int_equal(in(f, UART_8250_LSR), 0x61);
    assert_int_equal(f->rx_ready_calls, 0);
    assert_int_equal(in(f, UART_8250_RBR), 'a');
    assert_int_equal(f->rx_ready_calls, 1);
    /* An empty RBR reads 0 and changes nothing. */
    assert_int_equal(in(f, UART_8250_RBR), 0);
    assert_int_equal(f->rx_ready_calls, 1);
    assert_int_equal(uart_8250_receive(&f->u, abc + 1, 2), 1);
    assert_int_equal(in(f, UART_8250_RBR), 'b');
    assert_int_equal(f->rx_ready_calls, 2);
}

static void test_rx_fifo_flow_control(void **state)
{
    fixture_t *f = *state;
    uint8_t in_bytes[40];

    for (unsigned int i = 0; i < sizeof(in_bytes); i++)
        in_bytes[i] = (uint8_t)('A' + i);
    linux_like_setup(f);
    assert_int_equal(uart_8250_rx_space(&f->u), 16);
    assert_int_equal(uart_8250_receive(&f->u, in_bytes, 10), 10);
    assert_int_equal(uart_8250_receive(&f->u, in_bytes + 10, 30), 6);
    assert_int_equal(uart_8250_rx_space(&f->u), 0);
    assert_int_equal(uart_8250_receive(&f->u, in_bytes + 16, 24), 0);
    /* Never an overrun on host input. */
    assert_int_equal(in(f, UART_8250_LSR), 0x61);
    assert_int_equal(in(f, UART_8250_RBR), 'A');
    assert_int_equal(f->rx_ready_calls, 1);
    for (unsigned int i = 1; i < 16; i++)
        assert_int_equal(in(f, UART_8250_RBR), 'A' + i);
    assert_int_equal(f->rx_ready_calls, 1);
    assert_int_equal(uart_8250_receive(&f->u, in_bytes + 16, 24), 16);
    assert_int_equal(f->rx_ready_calls, 1);
    /* 8 of those 24 were refused again: the first read makes room. */
    assert_int_equal(in(f, UART_8250_RBR), 'A' + 16);
    assert_int_equal(f->rx_ready_calls, 2);
    for (unsigned int i = 17; i < 32; i++)
        assert_int_equal(in(f, UART_8250_RBR), 'A' + i);
    assert_int_equal(f->rx_ready_calls, 2);
}

static void test_rx_ready_only_after_refusal(void **state)
{
    fixture_t *f = *state;

    linux_like_setup(f);
    rx(f, "x");
    in(f, UART_8250_RBR);
    out(f, UART_8250_FCR, 0x87);
    assert_int_equal(f->rx_ready_calls, 0);
}

static void test_fcr_clears_receiver(void **state)
{
    fixture_t *f = *state;
    uint8_t many[20];

    memset(many, 'm', sizeof(many));
    linux_like_setup(f);
    assert_int_equal(uart_8250_receive(&f->u, many, 20), 16);
    assert_int_equal(f->irq_level, 1);
    /* FCR1 clears the receiver: the line drops, the caller may retry. */
    out(f, UART_8250_FCR, 0x81 | UART_8250_FCR_CLEAR_RX);
    assert_int_equal(f->irq_level, 0);
    assert_int_equal(f->rx_ready_calls, 1);
    assert_false(in(f, UART_8250_LSR) & UART_8250_LSR_DR);
    /* Re-writing FCR with FCR0 set and no clear bit keeps the data. */
    rx(f, "kept");
    out(f, UART_8250_FCR, 0x01);
    assert_int_equal(in(f, UART_8250_RBR), 'k');
    /* Leaving FIFO mode clears too (datasheet 8.5), and so does entering it. */
    out(f, UART_8250_FCR, 0);
    assert_false(in(f, UART_8250_LSR) & UART_8250_LSR_DR);
    rx(f, "z");
    out(f, UART_8250_FCR, 0x01);
    assert_false(in(f, UART_8250_LSR) & UART_8250_LSR_DR);
    /* FCR2 (transmitter reset) has nothing to clear. */
    rx(f, "t");
    out(f, UART_8250_FCR, 0x01 | UART_8250_FCR_CLEAR_TX);
    assert_int_equal(in(f, UART_8250_RBR), 't');
}

static void test_loopback(void **state)
{
    fixture_t *f = *state;
    static const struct {
        uint8_t mcr, msr_lines;
    } mirror[] = {
        {0x10, 0x00}, {0x11, 0x20}, {0x12, 0x10}, {0x14, 0x40}, {0x18, 0x80}, {0x1f, 0xf0},
    };
    uint8_t many[20];

    for (unsigned int i = 0; i < sizeof(mirror) / sizeof(mirror[0]); i++) {
        out(f, UART_8250_MCR, mirror[i].mcr);
        assert_int_equal(in(f, UART_8250_MSR) & 0xf0, mirror[i].msr_lines);
    }
    /* TX goes to RX, not to the host. */
    out(f, UART_8250_FCR, UART_8250_FCR_ENABLE);
    out(f, UART_8250_MCR, UART_8250_MCR_LOOP);
    out(f, UART_8250_THR, 'L');
    assert_int_equal(f->tx_len, 0);
    assert_int_equal(in(f, UART_8250_LSR), 0x61);
    assert_int_equal(in(f, UART_8250_RBR), 'L');
    /* Host input is refused while SIN is disconnected. */
    memset(many, 'h', sizeof(many));
    assert_int_equal(uart_8250_rx_space(&f->u), 0);
    assert_int_equal(uart_8250_receive(&f->u, many, 3), 0);
    /* FIFO mode overrun: 16 kept, the rest lost, OE until LSR is read. */
    for (unsigned int i = 0; i < 20; i++)
        out(f, UART_8250_THR, (uint8_t)i);
    assert_int_equal(in(f, UART_8250_LSR), 0x63);
    for (unsigned int i = 0; i < 16; i++)
        assert_int_equal(in(f, UART_8250_RBR), i);
    assert_int_equal(in(f, UART_8250_LSR), 0x60);
    assert_int_equal(f->rx_ready_calls, 0);
    /* Leaving loopback reconnects SIN: the refused input may come now. */
    out(f, UART_8250_MCR, 0);
    assert_int_equal(f->rx_ready_calls, 1);
    assert_int_equal(in(f, UART_8250_MSR) & 0xf0, 0xb0);
    assert_int_equal(uart_8250_receive(&f->u, many, 3), 3);
    out(f, UART_8250_THR, 'M');
    assert_int_equal(f->tx_len, 1);
}

static void test_loopback_gates_irq(void **state)
{
    fixture_t *f = *state;

    out(f, UART_8250_MCR, UART_8250_MCR_OUT2);
    out(f, UART_8250_IER, UART_8250_IER_ERBFI);
    rx(f, "a");
    assert_int_equal(f->irq_level, 1);
    /* OUT2 is forced inactive in loopback: the PC's gate closes. */
    out(f, UART_8250_MCR, UART_8250_MCR_OUT2 | UART_8250_MCR_LOOP);
    assert_int_equal(f->irq_level, 0);
    assert_int_equal(iir_id(f), UART_8250_IIR_RDA); /* still pending */
    out(f, UART_8250_MCR, UART_8250_MCR_OUT2);
    assert_int_equal(f->irq_level, 1);
    /* Without OUT2 the line stays low too. */
    out(f, UART_8250_MCR, UART_8250_MCR_DTR | UART_8250_MCR_RTS);
    assert_int_equal(f->irq_level, 0);
    in(f, UART_8250_RBR);
    out(f, UART_8250_MCR, UART_8250_MCR_OUT2);
    assert_int_equal(f->irq_level, 0);
}

static void test_modem_status(void **state)
{
    fixture_t *f = *state;

    out(f, UART_8250_IER, UART_8250_IER_EDSSI);
    /* A connected terminal: no deltas, no interrupt. */
    assert_int_equal(in(f, UART_8250_MSR), 0xb0);
    assert_int_equal(iir_id(f), UART_8250_IIR_NONE);
    /* Entering loopback with all outputs off: CTS, DSR, DCD fall. */
    out(f, UART_8250_MCR, UART_8250_MCR_LOOP);
    assert_int_equal(iir_id(f), UART_8250_IIR_MSR);
    assert_int_equal(in(f, UART_8250_MSR), 0x0b);
    assert_int_equal(in(f, UART_8250_MSR), 0x00); /* deltas cleared by the read */
    assert_int_equal(iir_id(f), UART_8250_IIR_NONE);
    /* RI: TERI only on the trailing edge. */
    out(f, UART_8250_MCR, UART_8250_MCR_LOOP | UART_8250_MCR_OUT1);
    assert_int_equal(in(f, UART_8250_MSR), 0x40);
    out(f, UART_8250_MCR, UART_8250_MCR_LOOP);
    assert_int_equal(in(f, UART_8250_MSR), UART_8250_MSR_TERI);
    /* Deltas are latched across changes until read. */
    out(f, UART_8250_MCR, UART_8250_MCR_LOOP | UART_8250_MCR_RTS);
    out(f, UART_8250_MCR, UART_8250_MCR_LOOP);
    assert_int_equal(in(f, UART_8250_MSR), UART_8250_MSR_DCTS);
}

static void test_dlab(void **state)
{
    fixture_t *f = *state;

    out(f, UART_8250_IER, 0x05);
    out(f, UART_8250_LCR, 0x83);
    out(f, UART_8250_DLL, 0x01);
    out(f, UART_8250_DLM, 0x02);
    assert_int_equal(in(f, UART_8250_DLL), 0x01);
    assert_int_equal(in(f, UART_8250_DLM), 0x02);
    assert_int_equal(f->tx_len, 0); /* a DLL write is not a THR write */
    assert_int_equal(in(f, UART_8250_LCR), 0x83);
    assert_int_equal(in(f, UART_8250_IIR), 0x01); /* IIR is still at 2 */
    rx(f, "d");
    assert_int_equal(in(f, UART_8250_DLL), 0x01); /* RBR is not popped */
    out(f, UART_8250_LCR, 0x03);
    assert_int_equal(in(f, UART_8250_IER), 0x05);
    assert_int_equal(in(f, UART_8250_RBR), 'd');
    out(f, UART_8250_LCR, 0x80);
    assert_int_equal(in(f, UART_8250_DLM), 0x02);
}

static void test_plain_registers(void **state)
{
    fixture_t *f = *state;

    out(f, UART_8250_SCR, 0xa5);
    assert_int_equal(in(f, UART_8250_SCR), 0xa5);
    out(f, UART_8250_SCR, 0x5a);
    assert_int_equal(in(f, UART_8250_SCR), 0x5a);
    out(f, UART_8250_LCR, 0x7f); /* break and parity bits: stored only */
    assert_int_equal(in(f, UART_8250_LCR), 0x7f);
    out(f, UART_8250_LCR, 0);
    out(f, UART_8250_IER, 0xff);
    assert_int_equal(in(f, UART_8250_IER), 0x0f);
    out(f, UART_8250_IER, 0);
    out(f, UART_8250_MCR, 0xef);
    assert_int_equal(in(f, UART_8250_MCR), 0x0f);
    /* LSR and MSR are read-only. */
    assert_int_equal(uart_8250_write(&f->u, UART_8250_LSR, 0), UART_8250_IGNORED);
    assert_int_equal(uart_8250_write(&f->u, UART_8250_MSR, 0xff), UART_8250_IGNORED);
    assert_int_equal(in(f, UART_8250_LSR), 0x60);
    assert_int_equal(in(f, UART_8250_MSR), 0xb0);
}

static void test_re_edge_after_iir_read(void **state)
{
    fixture_t *f = *state;

    linux_like_setup(f);
    rx(f, "1");
    assert_int_equal(f->irq_calls, 1);
    /* New data before the guest looked: the line just stays high. */
    rx(f, "2");
    assert_int_equal(f->irq_calls, 1);
    /* The guest read IIR (its handler runs); more data arrives while the
     * line is still high: a fresh edge. */
    assert_int_equal(iir_id(f), UART_8250_IIR_TIMEOUT);
    rx(f, "3");
    assert_int_equal(f->irq_calls, 3);
    assert_int_equal(f->irq_log[1], 0);
    assert_int_equal(f->irq_log[2], 1);
    assert_int_equal(f->irq_level, 1);
    /* Only once per acknowledgement. */
    rx(f, "4");
    assert_int_equal(f->irq_calls, 3);
    /* A new cause after an IIR read: THRE enabled while RX keeps it high. */
    iir_id(f);
    out(f, UART_8250_IER, UART_8250_IER_ERBFI | UART_8250_IER_ETBEI);
    assert_int_equal(f->irq_calls, 5);
    /* Reads that leave a cause pending make no edge. */
    iir_id(f);
    in(f, UART_8250_RBR);
    in(f, UART_8250_LSR);
    assert_int_equal(f->irq_calls, 5);
    /* Draining everything drops the line. */
    while (in(f, UART_8250_LSR) & UART_8250_LSR_DR)
        in(f, UART_8250_RBR);
    out(f, UART_8250_IER, UART_8250_IER_ERBFI);
    assert_int_equal(f->irq_level, 0);
    assert_int_equal(f->irq_calls, 6);
}

static void test_bogus_accesses_are_harmless(void **state)
{
    fixture_t *f = *state;
    static const unsigned int bad[] = {8, 9, 15, 0x3f8, 0x10000, 0xffffffffu};
    uint8_t v;

    linux_like_setup(f);
    rx(f, "r");
    for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = 0;
        assert_int_equal(uart_8250_read(&f->u, bad[i], &v), UART_8250_BAD_OFFSET);
        assert_int_equal(v, 0xff);
        assert_int_equal(uart_8250_write(&f->u, bad[i], 'X'), UART_8250_BAD_OFFSET);
    }
    assert_int_equal(f->tx_len, 0);
    assert_int_equal(in(f, UART_8250_RBR), 'r');
    assert_string_equal(uart_8250_result_name(UART_8250_OK), "ok");
    assert_string_equal(uart_8250_result_name(UART_8250_IGNORED), "ignored");
    assert_string_equal(uart_8250_result_name(UART_8250_BAD_OFFSET), "bad-offset");
    assert_string_equal(uart_8250_result_name((uart_8250_result_t)42), "unknown");
}

static void test_reset(void **state)
{
    fixture_t *f = *state;
    uint8_t many[20];

    memset(many, 'r', sizeof(many));
    linux_like_setup(f);
    out(f, UART_8250_SCR, 0x42);
    out(f, UART_8250_LCR, 0x80);
    out(f, UART_8250_DLL, 1);
    out(f, UART_8250_LCR, 0x03);
    assert_int_equal(uart_8250_receive(&f->u, many, 20), 16);
    assert_int_equal(f->irq_level, 1);
    uart_8250_reset(&f->u);
    assert_int_equal(f->irq_level, 0);
    assert_int_equal(f->rx_ready_calls, 1);
    assert_int_equal(in(f, UART_8250_IER), 0);
    assert_int_equal(in(f, UART_8250_IIR), 0x01);
    assert_int_equal(in(f, UART_8250_LCR), 0);
    assert_int_equal(in(f, UART_8250_MCR), 0);
    assert_int_equal(in(f, UART_8250_LSR), 0x60);
    assert_int_equal(in(f, UART_8250_MSR), 0xb0);
    /* SCR and the divisor are not touched by a master reset. */
    assert_int_equal(in(f, UART_8250_SCR), 0x42);
    out(f, UART_8250_LCR, 0x80);
    assert_int_equal(in(f, UART_8250_DLL), 1);
    assert_int_equal(uart_8250_rx_space(&f->u), 1);
    /* A reset without a change reports nothing. */
    uart_8250_reset(&f->u);
    assert_int_equal(f->irq_calls, 2);
    assert_int_equal(f->rx_ready_calls, 1);
}

static void test_no_optional_callbacks(void **state)
{
    fixture_t *f = *state;
    uart_8250_t u;
    const uart_8250_ops_t ops = {.tx = cb_tx};
    const uint8_t abc[3] = {1, 2, 3};
    uint8_t v;

    assert_int_equal(uart_8250_init(&u, &ops, f), 0);
    uart_8250_write(&u, UART_8250_MCR, UART_8250_MCR_OUT2);
    uart_8250_write(&u, UART_8250_IER, 0x0f);
    assert_int_equal(uart_8250_irq_level(&u), 1);
    assert_int_equal(uart_8250_receive(&u, abc, 3), 1);
    uart_8250_read(&u, UART_8250_IIR, &v);
    assert_int_equal(uart_8250_receive(&u, abc, 3), 0);
    assert_int_equal(uart_8250_read(&u, UART_8250_RBR, &v), UART_8250_OK);
    assert_int_equal(v, 1);
    uart_8250_reset(&u);
    assert_int_equal(uart_8250_irq_level(&u), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_rejects_bad_config),
        cmocka_unit_test_setup(test_reset_values, setup),
        cmocka_unit_test_setup(test_linux_autoconfig_finds_16550a, setup),
        cmocka_unit_test_setup(test_fifo_bits_in_iir, setup),
        cmocka_unit_test_setup(test_thre_interrupt, setup),
        cmocka_unit_test_setup(test_linux_thre_tests, setup),
        cmocka_unit_test_setup(test_interrupt_driven_tx, setup),
        cmocka_unit_test_setup(test_iir_priorities, setup),
        cmocka_unit_test_setup(test_rx_trigger_levels, setup),
        cmocka_unit_test_setup(test_rx_16450_mode, setup),
        cmocka_unit_test_setup(test_rx_fifo_flow_control, setup),
        cmocka_unit_test_setup(test_rx_ready_only_after_refusal, setup),
        cmocka_unit_test_setup(test_fcr_clears_receiver, setup),
        cmocka_unit_test_setup(test_loopback, setup),
        cmocka_unit_test_setup(test_loopback_gates_irq, setup),
        cmocka_unit_test_setup(test_modem_status, setup),
        cmocka_unit_test_setup(test_dlab, setup),
        cmocka_unit_test_setup(test_plain_registers, setup),
        cmocka_unit_test_setup(test_re_edge_after_iir_read, setup),
        cmocka_unit_test_setup(test_bogus_accesses_are_harmless, setup),
        cmocka_unit_test_setup(test_reset, setup),
        cmocka_unit_test_setup(test_no_optional_callbacks, setup),
    };

    return cmocka_run_group_tests_name("uart_8250", tests, NULL, NULL);
}
