/*
 * pl011.c - Arm PrimeCell UART (PL011) register model.
 *
 * "TRM" is the PrimeCell UART (PL011) Technical Reference Manual, r1p5
 * (ARM DDI 0183G): chapter 2 "Functional Overview" (FIFOs, interrupts),
 * chapter 3 "Programmers Model" (3.2 summary, 3.3.x one register each).
 * See include/vmmkit/pl011.h for what is modelled and what is not.
 */
#include <errno.h>
#include <string.h>

#include <vmmkit/pl011.h>

/* Reset values (TRM 3.2, Table 3-1). */
#define CR_RESET (PL011_CR_RXE | PL011_CR_TXE) /* 0x0300 */
#define IFLS_RESET 0x12u                       /* both trigger levels at 1/2 */

/* Writable bits of each register (TRM 3.3.x; reserved bits read as zero). */
#define RSR_MASK 0x0fu
#define ILPR_MASK 0xffu
#define IBRD_MASK 0xffffu
#define FBRD_MASK 0x3fu
#define LCR_H_MASK 0xffu
#define CR_MASK 0xff87u /* bits 6:3 reserved */
#define IFLS_MASK 0x3fu
#define DMACR_MASK 0x07u

/* UARTRSR/UARTECR overrun error bit (TRM 3.3.2). */
#define RSR_OE (1u << 3)

/* UARTIFLS RXIFLSEL, bits 5:3 (TRM 3.3.9). */
#define IFLS_RX_SHIFT 3
#define IFLS_RX_MASK 0x7u

/* Peripheral and PrimeCell identification (TRM 3.3.15, 3.3.16). */
static const uint8_t periph_id[4] = {0x11, 0x10, 0x34, 0x00};
static const uint8_t pcell_id[4] = {0x0d, 0xf0, 0x05, 0xb1};
/* PeriphID2 = revision << 4 | designer[7:4]: r1p5 is revision 3 (32-entry
 * FIFOs); QEMU's model reports revision 1 (16 entries).  Linux's driver
 * sizes its FIFO from this field (16 below revision 3, 32 from it). */
#define PERIPH_ID2_R1P5 0x34u
#define PERIPH_ID2_R1P1 0x14u

static unsigned int fifo_depth(const pl011_t *u)
{
    /* TRM 3.3.7 LCR_H.FEN = 0: "character mode", 1-byte holding registers. */
    return (u->lcr_h & PL011_LCR_H_FEN) ? u->cfg.fifo_depth : 1;
}

/*
 * RX interrupt trigger level in bytes (TRM 3.3.9): 1/8, 1/4, 1/2, 3/4 or
 * 7/8 of the FIFO; in character mode a single byte.  The reserved codes
 * 5-7 are taken as the reset value, 1/2.
 */
static unsigned int rx_trigger(const pl011_t *u)
{
    static const unsigned int eighths[5] = {1, 2, 4, 6, 7};
    unsigned int sel = (u->ifls >> IFLS_RX_SHIFT) & IFLS_RX_MASK;

    if (!(u->lcr_h & PL011_LCR_H_FEN))
        return 1;
    if (sel > 4)
        sel = 2;
    return u->cfg.fifo_depth * eighths[sel] / 8;
}

/* UARTINTR is the OR of the masked sources (TRM chapter 2, "Interrupts"). */
static void update_irq(pl011_t *u)
{
    int level = (u->ris & u->imsc) != 0;

    if (level == u->irq_level)
        return;
    u->irq_level = level;
    if (u->cfg.set_irq)
        u->cfg.set_irq(u->cfg.opaque, level);
}

/* Tell the caller it may retry input it was refused, once room exists. */
static void maybe_rx_ready(pl011_t *u)
{
    if (!u->rx_blocked || pl011_rx_space(u) == 0)
        return;
    u->rx_blocked = false;
    if (u->cfg.rx_ready)
        u->cfg.rx_ready(u->cfg.opaque);
}

/*
 * The receive interrupts after the FIFO level or the trigger changed (TRM
 * chapter 2, "Interrupts"): UARTRXINTR is asserted when the level reaches the
 * trigger (@may_raise_rx: data arrived or the trigger moved) and cleared when
 * reads take it below; UARTRTINTR is asserted when data has sat in the FIFO
 * for 32 bit periods.  There are no bit periods here, so data left below the
 * trigger level times out at once; RT clears when the FIFO empties.  Either
 * may also be cleared through ICR.
 */
static void rx_level_changed(pl011_t *u, bool may_raise_rx)
{
    unsigned int trigger = rx_trigger(u);

    if (may_raise_rx && u->rx_count >= trigger)
        u->ris |= PL011_INT_RX;
    if (u->rx_count < trigger)
        u->ris &= ~PL011_INT_RX;
    if (u->rx_count == 0)
        u->ris &= ~PL011_INT_RT;
    else if (u->rx_count < trigger)
        u->ris |= PL011_INT_RT;
}

/* Append one byte; false (and nothing changes) when the FIFO is full. */
static bool rx_push(pl011_t *u, uint8_t byte)
{
    if (u->rx_count >= fifo_depth(u))
        return false;
    u->rx_fifo[(u->rx_head + u->rx_count) % PL011_FIFO_MAX] = byte;
    u->rx_count++;
    return true;
}

int pl011_init(pl011_t *uart, const pl011_config_t *cfg)
{
    if (!uart || !cfg || !cfg->tx)
        return -EINVAL;
    if (cfg->fifo_depth != 0 && cfg->fifo_depth != 16 && cfg->fifo_depth != 32)
        return -EINVAL;
    memset(uart, 0, sizeof(*uart));
    uart->cfg = *cfg;
    if (uart->cfg.fifo_depth == 0)
        uart->cfg.fifo_depth = PL011_FIFO_MAX;
    uart->periph_id2 = uart->cfg.fifo_depth == 32 ? PERIPH_ID2_R1P5 : PERIPH_ID2_R1P1;
    uart->cr = CR_RESET;
    uart->ifls = IFLS_RESET;
    return 0;
}

void pl011_reset(pl011_t *uart)
{
    uart->rx_head = 0;
    uart->rx_count = 0;
    uart->rsr = 0;
    uart->ilpr = 0;
    uart->ibrd = 0;
    uart->fbrd = 0;
    uart->lcr_h = 0;
    uart->cr = CR_RESET;
    uart->ifls = IFLS_RESET;
    uart->imsc = 0;
    uart->ris = 0;
    uart->dmacr = 0;
    update_irq(uart);
    maybe_rx_ready(uart);
}

size_t pl011_rx_space(const pl011_t *uart)
{
    unsigned int depth = fifo_depth(uart);

    return uart->rx_count < depth ? depth - uart->rx_count : 0;
}

int pl011_irq_level(const pl011_t *uart)
{
    return (uart->ris & uart->imsc) != 0;
}

size_t pl011_receive(pl011_t *uart, const uint8_t *buf, size_t len)
{
    size_t taken = 0;

    while (taken < len && rx_push(uart, buf[taken]))
        taken++;
    if (taken < len)
        uart->rx_blocked = true;
    if (taken) {
        rx_level_changed(uart, true);
        update_irq(uart);
    }
    return taken;
}

/* UARTDR read (TRM 3.3.1): pop the oldest byte; bits 11:8 (errors) are 0. */
static uint32_t dr_read(pl011_t *u)
{
    uint8_t byte;

    if (u->rx_count == 0)
        return 0;
    byte = u->rx_fifo[u->rx_head];
    u->rx_head = (u->rx_head + 1) % PL011_FIFO_MAX;
    u->rx_count--;
    rx_level_changed(u, false);
    update_irq(u);
    maybe_rx_ready(u);
    return byte;
}

/*
 * UARTDR write (TRM 3.3.1): the byte leaves at once.  The TX FIFO drains
 * through its trigger level with every byte, so UARTTXINTR is asserted
 * after each write (TRM chapter 2: the transmit interrupt follows the FIFO
 * passing through the trigger level); Linux masks TXIM when it is done.
 * In loopback (CR.LBE) the byte goes to the RX FIFO instead; a full FIFO
 * then overruns (RIS.OE, RSR.OE) as the hardware would.
 */
static void dr_write(pl011_t *u, uint8_t byte)
{
    if (u->cr & PL011_CR_LBE) {
        if (rx_push(u, byte)) {
            rx_level_changed(u, true);
        } else {
            u->rsr |= RSR_OE;
            u->ris |= PL011_INT_OE;
        }
    } else {
        u->cfg.tx(u->cfg.opaque, byte);
    }
    u->ris |= PL011_INT_TX;
    update_irq(u);
}

/* UARTFR (TRM 3.3.3): TX is never busy or full; a terminal is attached. */
static uint32_t fr_read(const pl011_t *u)
{
    uint32_t fr = PL011_FR_TXFE | PL011_FR_CTS | PL011_FR_DSR | PL011_FR_DCD;

    if (u->rx_count == 0)
        fr |= PL011_FR_RXFE;
    if (u->rx_count >= fifo_depth(u))
        fr |= PL011_FR_RXFF;
    return fr;
}

/* Reject what is not a register access; @val gets 0 for reads. */
static pl011_result_t check_access(uint64_t offset, unsigned int width)
{
    if (width != 1 && width != 2 && width != 4)
        return PL011_BAD_WIDTH;
    if (offset >= PL011_MMIO_SIZE || (offset & 3))
        return PL011_BAD_OFFSET;
    return PL011_OK;
}

pl011_result_t pl011_mmio_read(pl011_t *uart, uint64_t offset, unsigned int width, uint64_t *val)
{
    pl011_result_t res = check_access(offset, width);
    uint32_t v = 0;

    *val = 0;
    if (res != PL011_OK)
        return res;
    switch (offset) {
    case PL011_DR:
        v = dr_read(uart);
        break;
    case PL011_RSR_ECR:
        v = uart->rsr;
        break;
    case PL011_FR:
        v = fr_read(uart);
        break;
    case PL011_ILPR:
        v = uart->ilpr;
        break;
    case PL011_IBRD:
        v = uart->ibrd;
        break;
    case PL011_FBRD:
        v = uart->fbrd;
        break;
    case PL011_LCR_H:
        v = uart->lcr_h;
        break;
    case PL011_CR:
        v = uart->cr;
        break;
    case PL011_IFLS:
        v = uart->ifls;
        break;
    case PL011_IMSC:
        v = uart->imsc;
        break;
    case PL011_RIS:
        v = uart->ris;
        break;
    case PL011_MIS:
        v = uart->ris & uart->imsc;
        break;
    case PL011_ICR:
        res = PL011_IGNORED; /* write-only */
        break;
    case PL011_DMACR:
        v = uart->dmacr;
        break;
    case PL011_PERIPH_ID0:
    case PL011_PERIPH_ID0 + 4:
    case PL011_PERIPH_ID0 + 12:
        v = periph_id[(offset - PL011_PERIPH_ID0) / 4];
        break;
    case PL011_PERIPH_ID0 + 8:
        v = uart->periph_id2;
        break;
    case PL011_PCELL_ID0:
    case PL011_PCELL_ID0 + 4:
    case PL011_PCELL_ID0 + 8:
    case PL011_PCELL_ID0 + 12:
        v = pcell_id[(offset - PL011_PCELL_ID0) / 4];
        break;
    default:
        res = PL011_BAD_OFFSET;
        break;
    }
    if (width < 4)
        v &= (1u << (8 * width)) - 1;
    *val = v;
    return res;
}

pl011_result_t pl011_mmio_write(pl011_t *uart, uint64_t offset, unsigned int width, uint64_t val)
{
    pl011_result_t res = check_access(offset, width);
    uint32_t v;

    if (res != PL011_OK)
        return res;
    v = (uint32_t)val;
    if (width < 4)
        v &= (1u << (8 * width)) - 1;

    switch (offset) {
    case PL011_DR:
        dr_write(uart, (uint8_t)v);
        break;
    case PL011_RSR_ECR:
        uart->rsr = 0; /* any write clears the error flags (TRM 3.3.2) */
        break;
    case PL011_ILPR:
        uart->ilpr = v & ILPR_MASK;
        break;
    case PL011_IBRD:
        uart->ibrd = v & IBRD_MASK;
        break;
    case PL011_FBRD:
        uart->fbrd = v & FBRD_MASK;
        break;
    case PL011_LCR_H:
        /* FEN changes the depth; the FIFO's contents are kept (the TRM does
         * not flush them), so no input is lost when Linux enables FIFOs. */
        uart->lcr_h = v & LCR_H_MASK;
        rx_level_changed(uart, true);
        update_irq(uart);
        maybe_rx_ready(uart);
        break;
    case PL011_CR:
        uart->cr = v & CR_MASK;
        break;
    case PL011_IFLS:
        uart->ifls = v & IFLS_MASK;
        rx_level_changed(uart, true);
        update_irq(uart);
        break;
    case PL011_IMSC:
        uart->imsc = v & PL011_INT_ALL;
        update_irq(uart);
        break;
    case PL011_ICR:
        uart->ris &= ~(v & PL011_INT_ALL);
        update_irq(uart);
        break;
    case PL011_DMACR:
        uart->dmacr = v & DMACR_MASK;
        break;
    case PL011_FR:
    case PL011_RIS:
    case PL011_MIS:
        res = PL011_IGNORED;
        break;
    default:
        if (offset >= PL011_PERIPH_ID0)
            res = PL011_IGNORED; /* ID registers are read-only */
        else
            res = PL011_BAD_OFFSET;
        break;
    }
    return res;
}

const char *pl011_result_name(pl011_result_t result)
{
    switch (result) {
    case PL011_OK:
        return "ok";
    case PL011_IGNORED:
        return "ignored";
    case PL011_BAD_OFFSET:
        return "bad-offset";
    case PL011_BAD_WIDTH:
        return "bad-width";
    }
    return "unknown";
}
