/*
 * uart_8250.c - 16550A UART register model (the PC's COM ports).
 *
 * "Datasheet" is National Semiconductor's PC16550D Universal Asynchronous
 * Receiver/Transmitter with FIFOs (June 1995): Table II (register summary),
 * Table III (reset configuration), Table IV (interrupt control functions),
 * section 8 (one register each: 8.1 LCR, 8.3 baud generator, 8.4 LSR,
 * 8.5 FCR, 8.6 IIR, 8.7 IER, 8.8 MCR, 8.9 MSR, 8.10 FIFO interrupt mode,
 * 8.12 scratchpad).  See include/vmmkit/uart_8250.h for what is modelled.
 */
#include <errno.h>
#include <string.h>

#include <vmmkit/uart_8250.h>

/* Writable bits (datasheet Table II: IER 7:4 and MCR 7:5 are always 0). */
#define IER_MASK 0x0fu
#define MCR_MASK 0x1fu
#define FCR_STORED (UART_8250_FCR_ENABLE | UART_8250_FCR_DMA | UART_8250_FCR_TRIGGER_MASK)

/* Divisor after init: 12 = 9600 baud from the PC's 1.8432 MHz clock (8.3). */
#define DLL_INIT 12u

/* A connected terminal: the modem inputs outside loopback (8.9). */
#define MSR_LINES_TERMINAL (UART_8250_MSR_CTS | UART_8250_MSR_DSR | UART_8250_MSR_DCD)
#define MSR_LINES 0xf0u
#define MSR_DELTAS 0x0fu

/* The four interrupt sources of Table IV, as bits of uart->causes. */
#define CAUSE_RLS 0x1u  /* receiver line status (overrun) */
#define CAUSE_RX 0x2u   /* received data available or character timeout */
#define CAUSE_THRE 0x4u /* transmitter holding register empty */
#define CAUSE_MS 0x8u   /* modem status */

static bool fifo_enabled(const uart_8250_t *u)
{
    return (u->fcr & UART_8250_FCR_ENABLE) != 0;
}

/* Receiver depth: 16 in FIFO mode, the one-byte RBR in 16450 mode (8.5). */
static unsigned int rx_depth(const uart_8250_t *u)
{
    return fifo_enabled(u) ? UART_8250_FIFO_SIZE : 1u;
}

/* RCVR trigger level in bytes, FCR bits 7:6 (8.5); 1 in 16450 mode. */
static unsigned int rx_trigger(const uart_8250_t *u)
{
    static const unsigned int levels[4] = {1, 4, 8, 14};

    return fifo_enabled(u) ? levels[(u->fcr >> 6) & 3u] : 1u;
}

/* The enabled sources that are pending now (Table IV, gated by IER, 8.7). */
static unsigned int pending_causes(const uart_8250_t *u)
{
    unsigned int c = 0;

    if ((u->ier & UART_8250_IER_ELSI) && u->overrun)
        c |= CAUSE_RLS;
    if ((u->ier & UART_8250_IER_ERBFI) && u->rx_count > 0)
        c |= CAUSE_RX;
    if ((u->ier & UART_8250_IER_ETBEI) && u->thr_pending)
        c |= CAUSE_THRE;
    if ((u->ier & UART_8250_IER_EDSSI) && (u->msr & MSR_DELTAS))
        c |= CAUSE_MS;
    return c;
}

/*
 * IIR bits 3:0 (8.6, Table IV): the highest-priority pending source.  Data
 * below the trigger level in FIFO mode is reported as a character timeout:
 * with no line time, "four character times" have always passed.
 */
static uint8_t iir_id(const uart_8250_t *u)
{
    unsigned int c = pending_causes(u);

    if (c & CAUSE_RLS)
        return UART_8250_IIR_RLS;
    if (c & CAUSE_RX)
        return fifo_enabled(u) && u->rx_count < rx_trigger(u) ? UART_8250_IIR_TIMEOUT
                                                              : UART_8250_IIR_RDA;
    if (c & CAUSE_THRE)
        return UART_8250_IIR_THRE;
    if (c & CAUSE_MS)
        return UART_8250_IIR_MSR;
    return UART_8250_IIR_NONE;
}

static void set_irq(uart_8250_t *u, int level)
{
    u->irq_level = level;
    if (u->ops.set_irq)
        u->ops.set_irq(u->cookie, level);
}

/*
 * Recompute the interrupt output after any change.  INTR is high while IIR
 * shows a source; a PC passes it to the bus only with MCR.OUT2 set, and
 * loopback forces the OUT2 pin inactive (8.8).  After the guest has read
 * IIR, a source that was not pending (or new received data) appearing
 * while the line is still high drops and raises it, so an edge-triggered
 * interrupt controller sees the new cause (see uart_8250.h).
 */
static void update_irq(uart_8250_t *u)
{
    unsigned int causes = pending_causes(u);
    bool gate = (u->mcr & UART_8250_MCR_OUT2) && !(u->mcr & UART_8250_MCR_LOOP);
    int level = causes != 0 && gate;
    bool event = (causes & ~u->causes) != 0 || (u->rx_arrived && (causes & CAUSE_RX));

    u->causes = causes;
    u->rx_arrived = false;
    if (level && u->irq_level && event && u->acked) {
        u->acked = false;
        set_irq(u, 0);
        set_irq(u, 1);
        return;
    }
    if (level == u->irq_level)
        return;
    if (level)
        u->acked = false;
    set_irq(u, level);
}

/* The modem inputs now: a terminal, or MCR's outputs in loopback (8.8). */
static uint8_t modem_lines(const uart_8250_t *u)
{
    uint8_t m = u->mcr;

    if (!(m & UART_8250_MCR_LOOP))
        return MSR_LINES_TERMINAL;
    return (uint8_t)(((m & UART_8250_MCR_RTS) << 3) | ((m & UART_8250_MCR_DTR) << 5) |
                     ((m & UART_8250_MCR_OUT1) << 4) | ((m & UART_8250_MCR_OUT2) << 4));
}

/* Latch new input lines into MSR with their delta bits (8.9): DCTS, DDSR
 * and DDCD on any change, TERI when RI goes from on to off. */
static void set_modem_lines(uart_8250_t *u, uint8_t lines)
{
    uint8_t old = u->msr & MSR_LINES;
    uint8_t changed = old ^ lines;
    uint8_t deltas = 0;

    if (changed & UART_8250_MSR_CTS)
        deltas |= UART_8250_MSR_DCTS;
    if (changed & UART_8250_MSR_DSR)
        deltas |= UART_8250_MSR_DDSR;
    if (changed & UART_8250_MSR_DCD)
        deltas |= UART_8250_MSR_DDCD;
    if ((old & UART_8250_MSR_RI) && !(lines & UART_8250_MSR_RI))
        deltas |= UART_8250_MSR_TERI;
    u->msr = (uint8_t)((u->msr & MSR_DELTAS) | deltas | lines);
}

size_t uart_8250_rx_space(const uart_8250_t *u)
{
    unsigned int depth = rx_depth(u);

    if (u->mcr & UART_8250_MCR_LOOP)
        return 0;
    return u->rx_count < depth ? depth - u->rx_count : 0;
}

/* Tell the caller it may retry refused input, once there is room. */
static void maybe_rx_ready(uart_8250_t *u)
{
    if (!u->rx_blocked || uart_8250_rx_space(u) == 0)
        return;
    u->rx_blocked = false;
    if (u->ops.rx_ready)
        u->ops.rx_ready(u->cookie);
}

/* Append one byte; false (nothing changes) when the receiver is full. */
static bool rx_push(uart_8250_t *u, uint8_t byte)
{
    if (u->rx_count >= rx_depth(u))
        return false;
    u->rx_fifo[(u->rx_head + u->rx_count) % UART_8250_FIFO_SIZE] = byte;
    u->rx_count++;
    u->rx_arrived = true;
    return true;
}

static void rx_clear(uart_8250_t *u)
{
    u->rx_head = 0;
    u->rx_count = 0;
}

int uart_8250_init(uart_8250_t *u, const uart_8250_ops_t *ops, void *cookie)
{
    if (!u || !ops || !ops->tx)
        return -EINVAL;
    memset(u, 0, sizeof(*u));
    u->ops = *ops;
    u->cookie = cookie;
    u->dll = DLL_INIT;
    u->msr = MSR_LINES_TERMINAL;
    return 0;
}

void uart_8250_reset(uart_8250_t *u)
{
    rx_clear(u);
    u->ier = 0;
    u->fcr = 0;
    u->lcr = 0;
    u->mcr = 0;
    u->overrun = false;
    u->thr_pending = false;
    u->msr = MSR_LINES_TERMINAL; /* Table III: MSR 3:0 low, 7:4 the inputs */
    u->acked = false;
    update_irq(u);
    maybe_rx_ready(u);
}

int uart_8250_irq_level(const uart_8250_t *u)
{
    return u->irq_level;
}

size_t uart_8250_receive(uart_8250_t *u, const uint8_t *buf, size_t len)
{
    size_t taken = 0;

    if (u->mcr & UART_8250_MCR_LOOP) {
        /* SIN is disconnected in loopback (8.8): the caller keeps it all. */
        if (len)
            u->rx_blocked = true;
        return 0;
    }
    while (taken < len && rx_push(u, buf[taken]))
        taken++;
    if (taken < len)
        u->rx_blocked = true;
    if (taken)
        update_irq(u);
    return taken;
}

/* RBR (8.4, Table IV): pop the oldest byte; an empty receiver reads 0. */
static uint8_t rbr_read(uart_8250_t *u)
{
    uint8_t byte;

    if (u->rx_count == 0)
        return 0;
    byte = u->rx_fifo[u->rx_head];
    u->rx_head = (u->rx_head + 1) % UART_8250_FIFO_SIZE;
    u->rx_count--;
    update_irq(u);
    maybe_rx_ready(u);
    return byte;
}

/*
 * IIR (8.6): the pending source with the FIFO bits; reading it clears a
 * THR-empty interrupt it reports (Table IV) and acknowledges the line.
 */
static uint8_t iir_read(uart_8250_t *u)
{
    uint8_t id = iir_id(u);

    if (id == UART_8250_IIR_THRE)
        u->thr_pending = false;
    u->acked = true;
    update_irq(u);
    return (uint8_t)(id | (fifo_enabled(u) ? UART_8250_IIR_FIFO : 0));
}

/* LSR (8.4): THRE and TEMT always (instant transmission); reading clears
 * OE and with it the line-status interrupt. */
static uint8_t lsr_read(uart_8250_t *u)
{
    uint8_t v = UART_8250_LSR_THRE | UART_8250_LSR_TEMT;

    if (u->rx_count > 0)
        v |= UART_8250_LSR_DR;
    if (u->overrun)
        v |= UART_8250_LSR_OE;
    u->overrun = false;
    update_irq(u);
    return v;
}

/* MSR (8.9): reading clears the delta bits and the modem-status interrupt. */
static uint8_t msr_read(uart_8250_t *u)
{
    uint8_t v = u->msr;

    u->msr &= MSR_LINES;
    update_irq(u);
    return v;
}

/*
 * THR write: the byte leaves at once, so THR is empty again and the
 * THR-empty interrupt is pending again (Table IV: the write cleared it,
 * the transfer to the shift register sets it).  In loopback the byte goes
 * to the receiver; a full receiver overruns (8.4: in FIFO mode the FIFO
 * keeps its contents and the new character is lost, in 16450 mode it
 * overwrites RBR).
 */
static void thr_write(uart_8250_t *u, uint8_t byte)
{
    if (u->mcr & UART_8250_MCR_LOOP) {
        if (!rx_push(u, byte)) {
            u->overrun = true;
            if (!fifo_enabled(u)) {
                u->rx_fifo[u->rx_head] = byte;
                u->rx_arrived = true;
            }
        }
    } else {
        u->ops.tx(u->cookie, byte);
    }
    u->thr_pending = true;
    update_irq(u);
}

/* IER (8.7).  Enabling ETBEI while THR is empty raises the THR-empty
 * interrupt even if an IIR read had cleared it (see uart_8250.h). */
static void ier_write(uart_8250_t *u, uint8_t v)
{
    uint8_t old = u->ier;

    u->ier = v & IER_MASK;
    if (!(old & UART_8250_IER_ETBEI) && (u->ier & UART_8250_IER_ETBEI))
        u->thr_pending = true;
    update_irq(u);
}

/*
 * FCR (8.5): FCR0 enables the FIFOs, and the other bits are programmed only
 * with FCR0 set.  Changing between FIFO and 16450 mode clears the FIFOs;
 * FCR1 clears the receiver (the shift register and LSR are not touched);
 * FCR2 clears the transmitter, which is always empty here.
 */
static void fcr_write(uart_8250_t *u, uint8_t v)
{
    bool was = fifo_enabled(u);

    if (!(v & UART_8250_FCR_ENABLE)) {
        u->fcr = 0;
        if (was)
            rx_clear(u);
    } else {
        u->fcr = v & FCR_STORED;
        if (!was || (v & UART_8250_FCR_CLEAR_RX))
            rx_clear(u);
    }
    update_irq(u);
    maybe_rx_ready(u);
}

/* MCR (8.8): the modem inputs follow loopback; leaving it reconnects SIN. */
static void mcr_write(uart_8250_t *u, uint8_t v)
{
    bool was_loop = (u->mcr & UART_8250_MCR_LOOP) != 0;

    u->mcr = v & MCR_MASK;
    set_modem_lines(u, modem_lines(u));
    update_irq(u);
    if (was_loop && !(u->mcr & UART_8250_MCR_LOOP))
        maybe_rx_ready(u);
}

uart_8250_result_t uart_8250_read(uart_8250_t *u, unsigned int offset, uint8_t *value)
{
    bool dlab = (u->lcr & UART_8250_LCR_DLAB) != 0;
    uint8_t v = 0;

    switch (offset) {
    case UART_8250_RBR:
        v = dlab ? u->dll : rbr_read(u);
        break;
    case UART_8250_IER:
        v = dlab ? u->dlm : u->ier;
        break;
    case UART_8250_IIR:
        v = iir_read(u);
        break;
    case UART_8250_LCR:
        v = u->lcr;
        break;
    case UART_8250_MCR:
        v = u->mcr;
        break;
    case UART_8250_LSR:
        v = lsr_read(u);
        break;
    case UART_8250_MSR:
        v = msr_read(u);
        break;
    case UART_8250_SCR:
        v = u->scr;
        break;
    default:
        *value = 0xff;
        return UART_8250_BAD_OFFSET;
    }
    *value = v;
    return UART_8250_OK;
}

uart_8250_result_t uart_8250_write(uart_8250_t *u, unsigned int offset, uint8_t value)
{
    bool dlab = (u->lcr & UART_8250_LCR_DLAB) != 0;

    switch (offset) {
    case UART_8250_THR:
        if (dlab)
            u->dll = value;
        else
            thr_write(u, value);
        break;
    case UART_8250_IER:
        if (dlab)
            u->dlm = value;
        else
            ier_write(u, value);
        break;
    case UART_8250_FCR:
        fcr_write(u, value);
        break;
    case UART_8250_LCR:
        u->lcr = value; /* DLAB only changes the decoding of offsets 0, 1 */
        break;
    case UART_8250_MCR:
        mcr_write(u, value);
        break;
    case UART_8250_LSR:
    case UART_8250_MSR:
        return UART_8250_IGNORED; /* read-only (factory test on the chip) */
    case UART_8250_SCR:
        u->scr = value;
        break;
    default:
        return UART_8250_BAD_OFFSET;
    }
    return UART_8250_OK;
}

const char *uart_8250_result_name(uart_8250_result_t result)
{
    switch (result) {
    case UART_8250_OK:
        return "ok";
    case UART_8250_IGNORED:
        return "ignored";
    case UART_8250_BAD_OFFSET:
        return "bad-offset";
    }
    return "unknown";
}
