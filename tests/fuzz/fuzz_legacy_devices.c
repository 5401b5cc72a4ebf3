/*
 * fuzz_legacy_devices.c - libFuzzer harness for the PC legacy device
 * models (src/devices/uart_8250.c, i8042.c, cmos_rtc.c): a guest's port
 * accesses to all three, host input to the UART, and a fake clock that
 * moves forwards, backwards and to the RTC's announced events.
 *
 * The input:
 *
 *   bytes 0-7   the clock's start (le64 ns, taken modulo 2^62)
 *   bytes 8-    3-byte steps {op, a, b}; op's low nibble picks the step:
 *     0  UART read at a & 7 (op bit 4: at a, bad offsets included)
 *     1  UART write b at a & 7 (op bit 4: at a)
 *     2  UART host input: b % 24 bytes of a running counter
 *     3  i8042 read at a % 6 (offsets 2, 3, 5 are holes)
 *     4  i8042 write b at a % 6
 *     5  RTC: index write a, then a data read (op bit 4: index read)
 *     6  RTC: index write a, then data write b (op bit 4: offset a)
 *     7  clock forward by (a << 8 | b) units of 1 us, 1 ms, 100 ms or 1 s
 *        (op bits 5:4), then an RTC tick
 *     8  clock to the RTC's next event, then a tick
 *     9  clock back by a ms
 *     10 reset: the UART, the i8042 or the RTC (a % 3)
 *     11-15  a UART THR write, an i8042 command, an RTC register B write
 *        (denser versions of 1, 4 and 6)
 *
 * Invariants, checked after every step (any violation aborts):
 *  - UART: the line is what the pending enabled causes and MCR's OUT2 and
 *    LOOP say; the set_irq calls alternate and match uart_8250_irq_level;
 *    the FIFO holds at most 16 (1 in 16450 mode); a THR write outside
 *    loopback and DLAB sends exactly one byte; rx_ready only comes with
 *    room; host input taken is at most what rx_space said.
 *  - i8042: each line is "output buffer full with a byte of that interface
 *    and its interrupt enabled"; callbacks alternate and match; queues are
 *    within their sizes; the status register's OBF matches.
 *  - RTC: IRQ 8 is "a flag in C whose enable in B is set"; callbacks
 *    alternate and match; the timer the board was given is the next event,
 *    and it lies after the last clock reading; jumping to it raises IRQ 8;
 *    while the clock runs, every time byte is in range for the mode.
 *
 * Seeds (corpus/fuzz_legacy_devices/): Linux's 8250 autoconfig and
 * start-up, its i8042 probe and atkbd commands with a reboot, its RTC
 * read and set-time sequences with update, alarm and periodic interrupts,
 * and a mix of all three.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vmmkit/cmos_rtc.h>
#include <vmmkit/i8042.h>
#include <vmmkit/uart_8250.h>

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_legacy_devices: %s:%d: %s\n", __FILE__, __LINE__, #c);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

typedef struct harness {
    uart_8250_t uart;
    i8042_t kbc;
    cmos_rtc_t rtc;
    int64_t now;
    /* What the callbacks saw. */
    int uart_level, kbd_level, aux_level, rtc_level;
    uint64_t tx_bytes, resets;
    int64_t timer;
    uint8_t rx_seq;
} harness_t;

static harness_t h;

static void uart_tx(void *cookie, uint8_t byte)
{
    harness_t *x = cookie;

    (void)byte;
    x->tx_bytes++;
}

static void uart_irq(void *cookie, int level)
{
    harness_t *x = cookie;

    CHECK(level == 0 || level == 1);
    CHECK(level != x->uart_level);
    x->uart_level = level;
}

static void uart_rx_ready(void *cookie)
{
    harness_t *x = cookie;

    CHECK(uart_8250_rx_space(&x->uart) > 0);
}

static void kbc_irq(void *cookie, unsigned int irq, int level)
{
    harness_t *x = cookie;
    int *cur = irq == I8042_IRQ_KBD ? &x->kbd_level : &x->aux_level;

    CHECK(irq == I8042_IRQ_KBD || irq == I8042_IRQ_AUX);
    CHECK(level == 0 || level == 1);
    CHECK(level != *cur);
    *cur = level;
}

static void kbc_reset(void *cookie)
{
    harness_t *x = cookie;

    x->resets++;
}

static int64_t rtc_now(void *cookie)
{
    harness_t *x = cookie;

    return x->now;
}

static void rtc_irq(void *cookie, int level)
{
    harness_t *x = cookie;

    CHECK(level == 0 || level == 1);
    CHECK(level != x->rtc_level);
    x->rtc_level = level;
}

static void rtc_timer(void *cookie, int64_t when)
{
    harness_t *x = cookie;

    x->timer = when;
}

static void check_uart(const harness_t *x)
{
    const uart_8250_t *u = &x->uart;
    int causes = ((u->ier & UART_8250_IER_ELSI) && u->overrun) ||
                 ((u->ier & UART_8250_IER_ERBFI) && u->rx_count) ||
                 ((u->ier & UART_8250_IER_ETBEI) && u->thr_pending) ||
                 ((u->ier & UART_8250_IER_EDSSI) && (u->msr & 0x0f));
    int gate = (u->mcr & UART_8250_MCR_OUT2) && !(u->mcr & UART_8250_MCR_LOOP);

    CHECK(uart_8250_irq_level(u) == x->uart_level);
    CHECK(x->uart_level == (causes && gate));
    CHECK(u->rx_count <= ((u->fcr & UART_8250_FCR_ENABLE) ? UART_8250_FIFO_SIZE : 1u));
    CHECK(u->rx_head < UART_8250_FIFO_SIZE);
    CHECK((u->ier & 0xf0) == 0 && (u->mcr & 0xe0) == 0);
}

static void check_kbc(harness_t *x)
{
    const i8042_t *k = &x->kbc;
    int aux = (k->ob.flags & I8042_STR_AUXDATA) != 0;
    uint8_t st;

    CHECK(i8042_irq_level(k, I8042_IRQ_KBD) == x->kbd_level);
    CHECK(i8042_irq_level(k, I8042_IRQ_AUX) == x->aux_level);
    CHECK(x->kbd_level == (k->obf && !aux && (k->ram[0] & I8042_CTR_KBDINT)));
    CHECK(x->aux_level == (k->obf && aux && (k->ram[0] & I8042_CTR_AUXINT)));
    CHECK(k->ctl_count <= I8042_CTL_QUEUE && k->ctl_head < I8042_CTL_QUEUE);
    CHECK(k->kbd_count <= I8042_KBD_QUEUE && k->kbd_head < I8042_KBD_QUEUE);
    /* A byte waits behind an empty buffer only if the keyboard is held. */
    CHECK(k->obf || k->ctl_count == 0);
    CHECK(k->obf || k->kbd_count == 0 || (k->ram[0] & I8042_CTR_KBDDIS));
    CHECK(i8042_read(&x->kbc, I8042_STATUS, &st) == I8042_OK);
    CHECK(!!(st & I8042_STR_OBF) == k->obf);
    CHECK(!(st & I8042_STR_IBF));
}

static int bcd_ok(uint8_t v)
{
    return (v & 0x0f) < 10 && (v >> 4) < 10;
}

/* Decode a running time byte in the current format; -1 if malformed. */
static int time_value(uint8_t v, uint8_t b)
{
    if (b & CMOS_RTC_B_DM_BINARY)
        return v;
    return bcd_ok(v) ? (v >> 4) * 10 + (v & 0x0f) : -1;
}

static void check_rtc(harness_t *x)
{
    const cmos_rtc_t *r = &x->rtc;
    uint8_t b = r->ram[CMOS_RTC_REG_B];
    uint8_t enabled = (b & CMOS_RTC_B_PIE ? CMOS_RTC_C_PF : 0) |
                      (b & CMOS_RTC_B_AIE ? CMOS_RTC_C_AF : 0) |
                      (b & CMOS_RTC_B_UIE ? CMOS_RTC_C_UF : 0);
    int64_t next = cmos_rtc_next_event_ns(r);
    int held = (b & CMOS_RTC_B_SET) ||
               (r->ram[CMOS_RTC_REG_A] & CMOS_RTC_A_DV_RESET) == CMOS_RTC_A_DV_RESET;

    CHECK(cmos_rtc_irq_level(r) == x->rtc_level);
    CHECK(x->rtc_level == ((r->flags & enabled) != 0));
    CHECK((r->flags & ~(CMOS_RTC_C_PF | CMOS_RTC_C_AF | CMOS_RTC_C_UF)) == 0);
    CHECK(next == x->timer);
    CHECK(next == CMOS_RTC_NO_EVENT || next > r->last_ns);
    CHECK(r->div_ns >= 0 && r->div_ns < 1000000000ll);
    if (!held) {
        /* Read the time bytes from a copy, so nothing here is observable. */
        static const struct {
            uint8_t index;
            int lo, hi;
        } field[] = {{0x00, 0, 59}, {0x02, 0, 59}, {0x06, 1, 7}, {0x07, 1, 31},
                     {0x08, 1, 12}, {0x09, 0, 99}, {0x32, 0, 99}};
        cmos_rtc_t copy = *r;
        uint8_t v;
        int hour;

        copy.ops.set_irq = NULL;
        copy.ops.set_timer = NULL;
        for (unsigned int i = 0; i < sizeof(field) / sizeof(field[0]); i++) {
            int n;

            copy.index = field[i].index;
            CHECK(cmos_rtc_read(&copy, CMOS_RTC_DATA, &v) == CMOS_RTC_OK);
            n = time_value(v, b);
            CHECK(n >= field[i].lo && n <= field[i].hi);
        }
        copy.index = CMOS_RTC_HOURS;
        CHECK(cmos_rtc_read(&copy, CMOS_RTC_DATA, &v) == CMOS_RTC_OK);
        if (b & CMOS_RTC_B_24H) {
            hour = time_value(v, b);
            CHECK(hour >= 0 && hour <= 23);
        } else {
            hour = time_value(v & 0x7f, b);
            CHECK(hour >= 1 && hour <= 12);
        }
    }
}

static void setup(const uint8_t *data)
{
    const uart_8250_ops_t uops = {.tx = uart_tx, .set_irq = uart_irq, .rx_ready = uart_rx_ready};
    const i8042_ops_t kops = {.set_irq = kbc_irq, .reset = kbc_reset};
    const cmos_rtc_ops_t rops = {.now_ns = rtc_now, .set_irq = rtc_irq, .set_timer = rtc_timer};
    uint64_t start = 0;

    memset(&h, 0, sizeof(h));
    for (int i = 7; i >= 0; i--)
        start = start << 8 | data[i];
    h.now = (int64_t)(start & ((1ull << 62) - 1));
    h.timer = CMOS_RTC_NO_EVENT;
    CHECK(uart_8250_init(&h.uart, &uops, &h) == 0);
    CHECK(i8042_init(&h.kbc, &kops, &h) == 0);
    CHECK(cmos_rtc_init(&h.rtc, &rops, &h) == 0);
}

static void uart_write(unsigned int off, uint8_t v)
{
    int sends = off == UART_8250_THR && !(h.uart.lcr & UART_8250_LCR_DLAB) &&
                !(h.uart.mcr & UART_8250_MCR_LOOP);
    uint64_t before = h.tx_bytes;
    uart_8250_result_t r = uart_8250_write(&h.uart, off, v);

    CHECK(r == UART_8250_OK || r == UART_8250_IGNORED || r == UART_8250_BAD_OFFSET);
    CHECK(h.tx_bytes == before + (uint64_t)sends);
    CHECK((r == UART_8250_BAD_OFFSET) == (off > 7));
}

static void rtc_access(unsigned int index, int write, uint8_t v)
{
    uint8_t got;

    CHECK(cmos_rtc_write(&h.rtc, CMOS_RTC_INDEX, (uint8_t)index) == CMOS_RTC_OK);
    CHECK(h.rtc.index == (index & 0x7f));
    if (write)
        cmos_rtc_write(&h.rtc, CMOS_RTC_DATA, v);
    else
        CHECK(cmos_rtc_read(&h.rtc, CMOS_RTC_DATA, &got) == CMOS_RTC_OK);
}

static void step(uint8_t op, uint8_t a, uint8_t b)
{
    static const int64_t unit[4] = {1000ll, 1000000ll, 100000000ll, 1000000000ll};
    uint8_t v, buf[24];
    size_t n, space, taken;

    switch (op & 0x0f) {
    case 0:
        CHECK(uart_8250_read(&h.uart, (op & 0x10) ? a : (a & 7u), &v) ==
              ((op & 0x10) && a > 7 ? UART_8250_BAD_OFFSET : UART_8250_OK));
        break;
    case 1:
        uart_write((op & 0x10) ? a : (a & 7u), b);
        break;
    case 2:
        n = b % sizeof(buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = h.rx_seq++;
        space = uart_8250_rx_space(&h.uart);
        taken = uart_8250_receive(&h.uart, buf, n);
        CHECK(taken == (n < space ? n : space));
        h.rx_seq = (uint8_t)(h.rx_seq - (n - taken)); /* the caller keeps the rest */
        break;
    case 3:
        i8042_read(&h.kbc, a % 6u, &v);
        break;
    case 4:
        i8042_write(&h.kbc, a % 6u, b);
        break;
    case 5:
        if (op & 0x10)
            CHECK(cmos_rtc_read(&h.rtc, CMOS_RTC_INDEX, &v) == CMOS_RTC_IGNORED && v == 0xff);
        else
            rtc_access(a, 0, 0);
        break;
    case 6:
        if (op & 0x10)
            cmos_rtc_write(&h.rtc, a, b);
        else
            rtc_access(a, 1, b);
        break;
    case 7:
        h.now += (int64_t)((unsigned int)a << 8 | b) * unit[(op >> 4) & 3];
        cmos_rtc_tick(&h.rtc);
        break;
    case 8:
        if (h.timer != CMOS_RTC_NO_EVENT && h.timer < (1ll << 62)) {
            h.now = h.timer;
            cmos_rtc_tick(&h.rtc);
            CHECK(h.rtc_level == 1); /* the announced event did raise IRQ 8 */
        }
        break;
    case 9:
        h.now -= (int64_t)a * 1000000ll;
        break;
    case 10:
        if (a % 3 == 0)
            uart_8250_reset(&h.uart);
        else if (a % 3 == 1)
            i8042_reset(&h.kbc);
        else
            cmos_rtc_reset(&h.rtc);
        break;
    case 11:
    case 12:
        uart_write(UART_8250_THR, b);
        break;
    case 13:
        i8042_write(&h.kbc, I8042_COMMAND, b);
        break;
    default:
        rtc_access(CMOS_RTC_REG_B, 1, b);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    setup(data);
    for (size_t pos = 8; pos + 3 <= size; pos += 3) {
        step(data[pos], data[pos + 1], data[pos + 2]);
        check_uart(&h);
        check_kbc(&h);
        check_rtc(&h);
    }
    return 0;
}
