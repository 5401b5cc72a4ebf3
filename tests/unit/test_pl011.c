/*
 * test_pl011.c - unit tests for src/devices/pl011.c (PL011 register model).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <vmmkit/pl011.h>

/* What the callbacks saw. */
typedef struct fixture {
    pl011_t uart;
    uint8_t tx[256];
    size_t tx_len;
    int irq_level;
    unsigned int irq_calls;
    unsigned int rx_ready_calls;
} fixture_t;

static void cb_tx(void *opaque, uint8_t byte)
{
    fixture_t *f = opaque;

    if (f->tx_len < sizeof(f->tx))
        f->tx[f->tx_len++] = byte;
}

static void cb_set_irq(void *opaque, int level)
{
    fixture_t *f = opaque;

    f->irq_level = level;
    f->irq_calls++;
}

static void cb_rx_ready(void *opaque)
{
    fixture_t *f = opaque;

    f->rx_ready_calls++;
}

static int setup_depth(void **state, unsigned int depth)
{
    static fixture_t f;
    pl011_config_t cfg = {
        .tx = cb_tx,
        .set_irq = cb_set_irq,
        .rx_ready = cb_rx_ready,
        .opaque = &f,
        .fifo_depth = depth,
    };

    memset(&f, 0, sizeof(f));
    if (pl011_init(&f.uart, &cfg) != 0)
        return -1;
    *state = &f;
    return 0;
}

static int setup(void **state)
{
    return setup_depth(state, 0);
}

static int setup16(void **state)
{
    return setup_depth(state, 16);
}

static uint32_t rd(fixture_t *f, uint64_t off)
{
    uint64_t v = 0xdeadbeef;

    assert_int_equal(pl011_mmio_read(&f->uart, off, 4, &v), PL011_OK);
    return (uint32_t)v;
}

static void wr(fixture_t *f, uint64_t off, uint32_t v)
{
    assert_int_equal(pl011_mmio_write(&f->uart, off, 4, v), PL011_OK);
}

/* Linux's pl011_startup(): FIFOs on, 8N1, UART/TX/RX enabled, RX+RT unmasked. */
static void linux_like_setup(fixture_t *f)
{
    wr(f, PL011_LCR_H, 0x70); /* WLEN 8 bits, FEN */
    wr(f, PL011_CR, PL011_CR_UARTEN | PL011_CR_TXE | PL011_CR_RXE);
    wr(f, PL011_IMSC, PL011_INT_RX | PL011_INT_RT);
}

static void test_init_rejects_bad_config(void **state)
{
    pl011_t u;
    pl011_config_t cfg = {.tx = cb_tx};

    (void)state;
    assert_int_equal(pl011_init(NULL, &cfg), -22);
    assert_int_equal(pl011_init(&u, NULL), -22);
    cfg.tx = NULL;
    assert_int_equal(pl011_init(&u, &cfg), -22);
    cfg.tx = cb_tx;
    cfg.fifo_depth = 8;
    assert_int_equal(pl011_init(&u, &cfg), -22);
    cfg.fifo_depth = 16;
    assert_int_equal(pl011_init(&u, &cfg), 0);
}

static void test_id_registers(void **state)
{
    fixture_t *f = *state;
    static const uint32_t want[8] = {0x11, 0x10, 0x34, 0x00, 0x0d, 0xf0, 0x05, 0xb1};

    for (unsigned int i = 0; i < 8; i++)
        assert_int_equal(rd(f, 0xfe0 + 4 * i), want[i]);
}

static void test_id_registers_r1p1(void **state)
{
    fixture_t *f = *state;

    assert_int_equal(rd(f, 0xfe8), 0x14);
    assert_int_equal(pl011_rx_space(&f->uart), 1); /* FEN clear after reset */
    wr(f, PL011_LCR_H, PL011_LCR_H_FEN);
    assert_int_equal(pl011_rx_space(&f->uart), 16);
}

static void test_reset_values(void **state)
{
    fixture_t *f = *state;

    assert_int_equal(rd(f, PL011_CR), 0x300);
    assert_int_equal(rd(f, PL011_IFLS), 0x12);
    assert_int_equal(rd(f, PL011_FR),
                     PL011_FR_TXFE | PL011_FR_RXFE | PL011_FR_CTS | PL011_FR_DSR | PL011_FR_DCD);
    assert_int_equal(rd(f, PL011_IMSC), 0);
    assert_int_equal(rd(f, PL011_RIS), 0);
    assert_int_equal(rd(f, PL011_MIS), 0);
    assert_int_equal(rd(f, PL011_LCR_H), 0);
    assert_int_equal(f->irq_calls, 0);
}

static void test_tx_path(void **state)
{
    fixture_t *f = *state;
    const char *msg = "hi!\n";

    for (const char *p = msg; *p; p++) {
        /* What a polling console does: wait for !TXFF, write DR. */
        assert_false(rd(f, PL011_FR) & PL011_FR_TXFF);
        wr(f, PL011_DR, (uint8_t)*p | 0xf00); /* upper bits are not data */
        assert_false(rd(f, PL011_FR) & PL011_FR_BUSY);
        assert_true(rd(f, PL011_FR) & PL011_FR_TXFE);
    }
    assert_int_equal(f->tx_len, 4);
    assert_memory_equal(f->tx, msg, 4);
    /* Byte-wide writes, as Linux earlycon without mmio32 does. */
    assert_int_equal(pl011_mmio_write(&f->uart, PL011_DR, 1, 'x'), PL011_OK);
    assert_int_equal(pl011_mmio_write(&f->uart, PL011_DR, 2, 'y'), PL011_OK);
    assert_int_equal(f->tx_len, 6);
    assert_memory_equal(f->tx + 4, "xy", 2);
}

static void test_tx_works_while_disabled(void **state)
{
    fixture_t *f = *state;

    /* Reset CR has UARTEN clear; earlycon writes anyway (documented leniency). */
    wr(f, PL011_CR, 0);
    wr(f, PL011_DR, 'a');
    assert_int_equal(f->tx_len, 1);
}

static void test_tx_interrupt(void **state)
{
    fixture_t *f = *state;

    assert_false(rd(f, PL011_RIS) & PL011_INT_TX);
    wr(f, PL011_IMSC, PL011_INT_TX);
    assert_int_equal(f->irq_calls, 0); /* nothing sent yet: no TX interrupt */
    wr(f, PL011_DR, 'a');
    assert_true(rd(f, PL011_RIS) & PL011_INT_TX);
    assert_true(rd(f, PL011_MIS) & PL011_INT_TX);
    assert_int_equal(f->irq_level, 1);
    assert_int_equal(f->irq_calls, 1);
    /* More output while high: no new calls. */
    wr(f, PL011_DR, 'b');
    assert_int_equal(f->irq_calls, 1);
    /* Linux's pl011_stop_tx masks TXIM when its buffer is empty. */
    wr(f, PL011_IMSC, 0);
    assert_int_equal(f->irq_level, 0);
    assert_int_equal(f->irq_calls, 2);
    /* RIS keeps TX until ICR clears it. */
    assert_true(rd(f, PL011_RIS) & PL011_INT_TX);
    wr(f, PL011_ICR, PL011_INT_TX);
    assert_false(rd(f, PL011_RIS) & PL011_INT_TX);
    wr(f, PL011_IMSC, PL011_INT_TX);
    assert_int_equal(f->irq_calls, 2);
}

static void test_rx_fifo_fill_overflow_drain(void **state)
{
    fixture_t *f = *state;
    uint8_t in[40];

    for (unsigned int i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)('A' + i);
    linux_like_setup(f);
    assert_int_equal(pl011_rx_space(&f->uart), 32);
    assert_int_equal(pl011_receive(&f->uart, in, 10), 10);
    assert_false(rd(f, PL011_FR) & PL011_FR_RXFE);
    assert_false(rd(f, PL011_FR) & PL011_FR_RXFF);
    assert_int_equal(pl011_rx_space(&f->uart), 22);
    /* Only 22 more fit; the caller keeps the rest. */
    assert_int_equal(pl011_receive(&f->uart, in + 10, 30), 22);
    assert_true(rd(f, PL011_FR) & PL011_FR_RXFF);
    assert_int_equal(pl011_rx_space(&f->uart), 0);
    assert_int_equal(pl011_receive(&f->uart, in + 32, 8), 0);
    assert_int_equal(f->rx_ready_calls, 0);
    /* The guest drains in order; the first pop makes room: rx_ready once. */
    assert_int_equal(rd(f, PL011_DR), 'A');
    assert_int_equal(f->rx_ready_calls, 1);
    assert_false(rd(f, PL011_FR) & PL011_FR_RXFF);
    for (unsigned int i = 1; i < 32; i++)
        assert_int_equal(rd(f, PL011_DR), 'A' + i);
    assert_int_equal(f->rx_ready_calls, 1);
    assert_true(rd(f, PL011_FR) & PL011_FR_RXFE);
    /* Empty FIFO reads 0 without side effects. */
    assert_int_equal(rd(f, PL011_DR), 0);
    /* The caller retries the refused bytes. */
    assert_int_equal(pl011_receive(&f->uart, in + 32, 8), 8);
    for (unsigned int i = 32; i < 40; i++)
        assert_int_equal(rd(f, PL011_DR), 'A' + i);
}

static void test_rx_ready_only_after_refusal(void **state)
{
    fixture_t *f = *state;
    uint8_t b = 'x';

    linux_like_setup(f);
    assert_int_equal(pl011_receive(&f->uart, &b, 1), 1);
    rd(f, PL011_DR);
    assert_int_equal(f->rx_ready_calls, 0);
}

static void test_rx_narrow_reads(void **state)
{
    fixture_t *f = *state;
    uint8_t in[2] = {0x41, 0x42};
    uint64_t v;

    linux_like_setup(f);
    pl011_receive(&f->uart, in, 2);
    /* Linux's driver uses 16-bit accesses; some code uses bytes. */
    assert_int_equal(pl011_mmio_read(&f->uart, PL011_DR, 2, &v), PL011_OK);
    assert_int_equal(v, 0x41);
    assert_int_equal(pl011_mmio_read(&f->uart, PL011_DR, 1, &v), PL011_OK);
    assert_int_equal(v, 0x42);
    assert_int_equal(pl011_mmio_read(&f->uart, PL011_FR, 2, &v), PL011_OK);
    assert_true(v & PL011_FR_RXFE);
}

static void test_fifo_disabled_depth_one(void **state)
{
    fixture_t *f = *state;
    uint8_t in[3] = {'1', '2', '3'};

    /* Reset state: LCR_H.FEN = 0, a one-byte holding register. */
    assert_int_equal(pl011_rx_space(&f->uart), 1);
    assert_int_equal(pl011_receive(&f->uart, in, 3), 1);
    assert_true(rd(f, PL011_FR) & PL011_FR_RXFF);
    assert_false(rd(f, PL011_FR) & PL011_FR_RXFE);
    /* In character mode one byte is the trigger: RX, not RT. */
    assert_true(rd(f, PL011_RIS) & PL011_INT_RX);
    assert_false(rd(f, PL011_RIS) & PL011_INT_RT);
    assert_int_equal(rd(f, PL011_DR), '1');
    assert_int_equal(f->rx_ready_calls, 1);
    assert_false(rd(f, PL011_RIS) & PL011_INT_RX);
    assert_int_equal(pl011_receive(&f->uart, in + 1, 2), 1);
    /* Enabling the FIFO keeps the held byte and makes room for more. */
    wr(f, PL011_LCR_H, PL011_LCR_H_FEN);
    assert_int_equal(f->rx_ready_calls, 2);
    assert_int_equal(pl011_receive(&f->uart, in + 2, 1), 1);
    assert_int_equal(rd(f, PL011_DR), '2');
    assert_int_equal(rd(f, PL011_DR), '3');
}

static void test_rx_interrupt_trigger_level(void **state)
{
    fixture_t *f = *state;
    uint8_t in[32];

    memset(in, 'z', sizeof(in));
    linux_like_setup(f); /* IFLS reset: RX trigger at 1/2 = 16 bytes */
    assert_int_equal(pl011_receive(&f->uart, in, 15), 15);
    /* Below the trigger: the receive timeout reports the data. */
    assert_int_equal(rd(f, PL011_RIS) & (PL011_INT_RX | PL011_INT_RT), PL011_INT_RT);
    assert_int_equal(f->irq_level, 1);
    assert_int_equal(f->irq_calls, 1);
    assert_int_equal(pl011_receive(&f->uart, in, 1), 1);
    assert_true(rd(f, PL011_RIS) & PL011_INT_RX);
    assert_int_equal(f->irq_calls, 1); /* still high: no call */
    /* Reading one byte takes the level below the trigger: RX drops, RT holds
     * the line up for the 15 left. */
    rd(f, PL011_DR);
    assert_int_equal(rd(f, PL011_RIS) & (PL011_INT_RX | PL011_INT_RT), PL011_INT_RT);
    assert_int_equal(f->irq_level, 1);
    for (unsigned int i = 0; i < 15; i++)
        rd(f, PL011_DR);
    assert_int_equal(rd(f, PL011_RIS) & (PL011_INT_RX | PL011_INT_RT), 0);
    assert_int_equal(f->irq_level, 0);
    assert_int_equal(f->irq_calls, 2);
}

static void test_ifls_levels(void **state)
{
    fixture_t *f = *state;
    static const struct {
        uint32_t rxiflsel;
        unsigned int trigger;
    } cases[] = {{0, 4}, {1, 8}, {2, 16}, {3, 24}, {4, 28}, {7, 16}};
    uint8_t in[32];

    memset(in, 'q', sizeof(in));
    wr(f, PL011_LCR_H, PL011_LCR_H_FEN);
    for (unsigned int c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        wr(f, PL011_IFLS, cases[c].rxiflsel << 3);
        wr(f, PL011_ICR, PL011_INT_ALL);
        assert_int_equal(pl011_receive(&f->uart, in, cases[c].trigger - 1), cases[c].trigger - 1);
        assert_false(rd(f, PL011_RIS) & PL011_INT_RX);
        assert_int_equal(pl011_receive(&f->uart, in, 1), 1);
        assert_true(rd(f, PL011_RIS) & PL011_INT_RX);
        while (!(rd(f, PL011_FR) & PL011_FR_RXFE))
            rd(f, PL011_DR);
    }
}

static void test_icr_and_imsc_per_source(void **state)
{
    fixture_t *f = *state;
    uint8_t b = 'k';

    linux_like_setup(f);
    wr(f, PL011_IMSC, 0);
    /* RT: raise by data, mask/unmask, clear by ICR. */
    pl011_receive(&f->uart, &b, 1);
    assert_int_equal(rd(f, PL011_RIS), PL011_INT_RT);
    assert_int_equal(rd(f, PL011_MIS), 0);
    assert_int_equal(f->irq_calls, 0);
    wr(f, PL011_IMSC, PL011_INT_RT);
    assert_int_equal(rd(f, PL011_MIS), PL011_INT_RT);
    assert_int_equal(f->irq_level, 1);
    wr(f, PL011_ICR, PL011_INT_RX); /* other bits: no effect */
    assert_int_equal(f->irq_level, 1);
    wr(f, PL011_ICR, PL011_INT_RT);
    assert_int_equal(rd(f, PL011_RIS), 0);
    assert_int_equal(f->irq_level, 0);
    /* New data times out again. */
    pl011_receive(&f->uart, &b, 1);
    assert_int_equal(f->irq_level, 1);
    rd(f, PL011_DR);
    rd(f, PL011_DR);
    assert_int_equal(f->irq_level, 0);
    /* RX in character mode. */
    wr(f, PL011_LCR_H, 0);
    wr(f, PL011_IMSC, PL011_INT_RX);
    pl011_receive(&f->uart, &b, 1);
    assert_int_equal(rd(f, PL011_MIS), PL011_INT_RX);
    wr(f, PL011_ICR, PL011_INT_RX);
    assert_int_equal(rd(f, PL011_MIS), 0);
    assert_int_equal(f->irq_level, 0);
    rd(f, PL011_DR);
    /* TX. */
    wr(f, PL011_IMSC, PL011_INT_TX);
    wr(f, PL011_DR, 'o');
    assert_int_equal(rd(f, PL011_MIS), PL011_INT_TX);
    wr(f, PL011_ICR, PL011_INT_TX);
    assert_int_equal(rd(f, PL011_MIS), 0);
    /* OE through loopback overrun. */
    wr(f, PL011_IMSC, PL011_INT_OE);
    wr(f, PL011_CR, PL011_CR_UARTEN | PL011_CR_TXE | PL011_CR_RXE | PL011_CR_LBE);
    wr(f, PL011_DR, '1'); /* fills the holding register */
    assert_int_equal(rd(f, PL011_MIS), 0);
    wr(f, PL011_DR, '2'); /* overruns */
    assert_int_equal(rd(f, PL011_MIS), PL011_INT_OE);
    assert_int_equal(rd(f, PL011_RSR_ECR) & 0x8, 0x8);
    wr(f, PL011_RSR_ECR, 0);
    assert_int_equal(rd(f, PL011_RSR_ECR), 0);
    wr(f, PL011_ICR, PL011_INT_ALL);
    assert_int_equal(rd(f, PL011_RIS), 0);
    assert_int_equal(f->irq_level, 0);
}

static void test_loopback(void **state)
{
    fixture_t *f = *state;

    linux_like_setup(f);
    wr(f, PL011_CR, PL011_CR_UARTEN | PL011_CR_TXE | PL011_CR_RXE | PL011_CR_LBE);
    wr(f, PL011_DR, 'L');
    assert_int_equal(f->tx_len, 0);
    assert_int_equal(rd(f, PL011_DR), 'L');
    wr(f, PL011_CR, PL011_CR_UARTEN | PL011_CR_TXE | PL011_CR_RXE);
    wr(f, PL011_DR, 'M');
    assert_int_equal(f->tx_len, 1);
}

static void test_level_reported_only_on_change(void **state)
{
    fixture_t *f = *state;
    uint8_t b = 'c';

    wr(f, PL011_IMSC, PL011_INT_ALL);
    assert_int_equal(f->irq_calls, 0);
    wr(f, PL011_DR, 'a');
    wr(f, PL011_DR, 'b');
    pl011_receive(&f->uart, &b, 1);
    wr(f, PL011_IMSC, PL011_INT_ALL);
    assert_int_equal(f->irq_calls, 1);
    assert_int_equal(pl011_irq_level(&f->uart), 1);
    wr(f, PL011_ICR, PL011_INT_TX);
    assert_int_equal(f->irq_calls, 1); /* RX still pending */
    rd(f, PL011_DR);
    assert_int_equal(f->irq_calls, 2);
    assert_int_equal(f->irq_level, 0);
    wr(f, PL011_ICR, PL011_INT_ALL);
    wr(f, PL011_IMSC, 0);
    assert_int_equal(f->irq_calls, 2);
}

static void test_plain_registers_read_back(void **state)
{
    fixture_t *f = *state;

    wr(f, PL011_IBRD, 0x12345);
    assert_int_equal(rd(f, PL011_IBRD), 0x2345);
    wr(f, PL011_FBRD, 0xff);
    assert_int_equal(rd(f, PL011_FBRD), 0x3f);
    wr(f, PL011_ILPR, 0x1ff);
    assert_int_equal(rd(f, PL011_ILPR), 0xff);
    wr(f, PL011_LCR_H, 0x1ff);
    assert_int_equal(rd(f, PL011_LCR_H), 0xff);
    wr(f, PL011_CR, 0xffffffff);
    assert_int_equal(rd(f, PL011_CR), 0xff87);
    wr(f, PL011_IFLS, 0xff);
    assert_int_equal(rd(f, PL011_IFLS), 0x3f);
    wr(f, PL011_DMACR, 0xff);
    assert_int_equal(rd(f, PL011_DMACR), 0x7);
    wr(f, PL011_IMSC, 0xffffffff);
    assert_int_equal(rd(f, PL011_IMSC), PL011_INT_ALL);
    /* A 16-bit store writes the register zero-extended. */
    assert_int_equal(pl011_mmio_write(&f->uart, PL011_IBRD, 2, 0xabcdef), PL011_OK);
    assert_int_equal(rd(f, PL011_IBRD), 0xcdef);
    assert_int_equal(pl011_mmio_write(&f->uart, PL011_IBRD, 1, 0x1234), PL011_OK);
    assert_int_equal(rd(f, PL011_IBRD), 0x34);
}

static void test_bogus_accesses_are_harmless(void **state)
{
    fixture_t *f = *state;
    static const uint64_t bad_offsets[] = {0x008, 0x00c, 0x010, 0x014,  0x01c,  0x04c,
                                           0x080, 0x800, 0xfdc, 0x1000, 0x1004, UINT64_MAX - 3,
                                           0x001, 0x002, 0x003, 0xfe1,  0xfff};
    static const unsigned int bad_widths[] = {0, 3, 5, 8, 16, 0xffffffffu};
    uint64_t v;
    uint8_t b = 'r';

    linux_like_setup(f);
    pl011_receive(&f->uart, &b, 1);
    for (unsigned int i = 0; i < sizeof(bad_offsets) / sizeof(bad_offsets[0]); i++) {
        for (unsigned int w = 1; w <= 4; w *= 2) {
            v = 0x55;
            assert_int_equal(pl011_mmio_read(&f->uart, bad_offsets[i], w, &v), PL011_BAD_OFFSET);
            assert_int_equal(v, 0);
            assert_int_equal(pl011_mmio_write(&f->uart, bad_offsets[i], w, ~0ull),
                             PL011_BAD_OFFSET);
        }
    }
    for (unsigned int i = 0; i < sizeof(bad_widths) / sizeof(bad_widths[0]); i++) {
        v = 0x55;
        /* Not even DR pops with a bad width. */
        assert_int_equal(pl011_mmio_read(&f->uart, PL011_DR, bad_widths[i], &v), PL011_BAD_WIDTH);
        assert_int_equal(v, 0);
        assert_int_equal(pl011_mmio_write(&f->uart, PL011_DR, bad_widths[i], 'X'), PL011_BAD_WIDTH);
    }
    assert_int_equal(f->tx_len, 0);
    /* Read-only and write-only registers. */
    assert_int_equal(pl011_mmio_write(&f->uart, PL011_FR, 4, 0), PL011_IGNORED);
    assert_int_equal(pl011_mmio_write(&f->uart, PL011_RIS, 4, 0), PL011_IGNORED);
    assert_int_equal(pl011_mmio_write(&f->uart, PL011_MIS, 4, 0), PL011_IGNORED);
    assert_int_equal(pl011_mmio_write(&f->uart, 0xfe8, 4, 0), PL011_IGNORED);
    assert_int_equal(pl011_mmio_write(&f->uart, 0xffc, 4, 0), PL011_IGNORED);
    assert_int_equal(pl011_mmio_read(&f->uart, PL011_ICR, 4, &v), PL011_IGNORED);
    assert_int_equal(v, 0);
    /* The device still works, the byte is still there. */
    assert_int_equal(rd(f, 0xfe8), 0x34);
    assert_int_equal(rd(f, PL011_DR), 'r');
    assert_string_equal(pl011_result_name(PL011_BAD_WIDTH), "bad-width");
    assert_string_equal(pl011_result_name((pl011_result_t)99), "unknown");
}

static void test_reset(void **state)
{
    fixture_t *f = *state;
    uint8_t in[40];

    memset(in, 'r', sizeof(in));
    linux_like_setup(f);
    wr(f, PL011_IBRD, 13);
    assert_int_equal(pl011_receive(&f->uart, in, sizeof(in)), 32);
    assert_int_equal(f->irq_level, 1);
    pl011_reset(&f->uart);
    assert_int_equal(f->irq_level, 0);
    assert_int_equal(f->rx_ready_calls, 1); /* room again for refused input */
    assert_int_equal(rd(f, PL011_CR), 0x300);
    assert_int_equal(rd(f, PL011_IBRD), 0);
    assert_int_equal(rd(f, PL011_IMSC), 0);
    assert_int_equal(rd(f, PL011_LCR_H), 0);
    assert_true(rd(f, PL011_FR) & PL011_FR_RXFE);
    assert_int_equal(pl011_rx_space(&f->uart), 1);
    /* Reset without a change reports nothing. */
    pl011_reset(&f->uart);
    assert_int_equal(f->irq_calls, 2);
    assert_int_equal(f->rx_ready_calls, 1);
}

static void test_no_optional_callbacks(void **state)
{
    fixture_t *f = *state;
    pl011_t u;
    pl011_config_t cfg = {.tx = cb_tx, .opaque = f};
    uint8_t in[3] = {1, 2, 3};
    uint64_t v;

    assert_int_equal(pl011_init(&u, &cfg), 0);
    assert_int_equal(pl011_mmio_write(&u, PL011_IMSC, 4, PL011_INT_ALL), PL011_OK);
    assert_int_equal(pl011_receive(&u, in, 3), 1);
    assert_int_equal(pl011_irq_level(&u), 1);
    assert_int_equal(pl011_mmio_read(&u, PL011_DR, 4, &v), PL011_OK);
    assert_int_equal(v, 1);
    pl011_reset(&u);
    assert_int_equal(pl011_irq_level(&u), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_rejects_bad_config),
        cmocka_unit_test_setup(test_id_registers, setup),
        cmocka_unit_test_setup(test_id_registers_r1p1, setup16),
        cmocka_unit_test_setup(test_reset_values, setup),
        cmocka_unit_test_setup(test_tx_path, setup),
        cmocka_unit_test_setup(test_tx_works_while_disabled, setup),
        cmocka_unit_test_setup(test_tx_interrupt, setup),
        cmocka_unit_test_setup(test_rx_fifo_fill_overflow_drain, setup),
        cmocka_unit_test_setup(test_rx_ready_only_after_refusal, setup),
        cmocka_unit_test_setup(test_rx_narrow_reads, setup),
        cmocka_unit_test_setup(test_fifo_disabled_depth_one, setup),
        cmocka_unit_test_setup(test_rx_interrupt_trigger_level, setup),
        cmocka_unit_test_setup(test_ifls_levels, setup),
        cmocka_unit_test_setup(test_icr_and_imsc_per_source, setup),
        cmocka_unit_test_setup(test_loopback, setup),
        cmocka_unit_test_setup(test_level_reported_only_on_change, setup),
        cmocka_unit_test_setup(test_plain_registers_read_back, setup),
        cmocka_unit_test_setup(test_bogus_accesses_are_harmless, setup),
        cmocka_unit_test_setup(test_reset, setup),
        cmocka_unit_test_setup(test_no_optional_callbacks, setup),
    };

    return cmocka_run_group_tests_name("pl011", tests, NULL, NULL);
}
