/*
 * uart_8250.h - register model of the PC's serial port, a 16550A UART
 * (COM1 at ports 0x3f8-0x3ff, IRQ 4; COM2 at 0x2f8, IRQ 3), the x86 guest's
 * console.
 *
 * The device half of a serial console, like pl011.h: guest port accesses
 * to the UART's eight registers become bytes for the host (tx), host input
 * becomes bytes the guest reads from the receive FIFO, and both become the
 * level of the UART's interrupt output (set_irq).  It models the National
 * Semiconductor PC16550D ("datasheet" below: PC16550D Universal Asynchronous
 * Receiver/Transmitter with FIFOs, June 1995): 16-byte FIFOs, receive
 * trigger levels 1/4/8/14, the IIR priorities, the loopback mode, and the
 * FIFO-enabled bits that make Linux's 8250 autoconfig say "16550A" (IER
 * bits 7:4 read 0, IIR bits 7:6 read 11 with FCR0 set and bit 5 always 0,
 * no EFR, MCR bits 7:5 read 0, 16 bytes counted in loopback).
 *
 * Transmission is instantaneous: a byte written to THR goes straight to
 * tx(), so LSR.THRE and LSR.TEMT always read 1, and the THR-empty interrupt
 * is pending again after every write.  THRE interrupt rules (datasheet 8.6,
 * Table IV): it is pending when THR empties, cleared by reading IIR while it
 * is the source shown or by writing THR, and set again whenever IER.ETBEI
 * goes from 0 to 1 (THR being empty): Linux's serial8250_do_startup()
 * tests exactly this (UART_BUG_THRE, UART_BUG_TXEN).  Reception is flow-
 * controlled instead of lossy: uart_8250_receive() takes what fits and the
 * caller keeps the rest until rx_ready() says the guest made room.  The
 * character timeout (IIR 0x0c) fires at once whenever data is left below
 * the trigger level in FIFO mode: there are no character times to wait for.
 *
 * What is not modelled: baud rate and line format (DLL/DLM and LCR are
 * stored and read back, no effect), break (LCR bit 6 stored only), parity,
 * framing and break errors (none can happen), DMA mode (FCR3 stored only,
 * no RXRDY/TXRDY pins).  Overrun cannot happen on host input (it is flow-
 * controlled); it happens only in loopback, where THR writes into a full
 * receiver set LSR.OE as on the chip.  The modem inputs show a connected
 * terminal: CTS, DSR and DCD set, RI clear, so MSR has no delta bits outside
 * loopback.  In loopback (MCR4, datasheet 8.8) TX goes to RX, MSR mirrors
 * MCR (RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD, with delta bits), and host
 * input is refused (the SIN pin is disconnected) until loopback ends.
 *
 * The interrupt line, as on a PC's serial card: the UART's INTR output
 * reaches the ISA bus only through a buffer enabled by MCR.OUT2, and in
 * loopback the OUT2 pin is forced inactive, so the line is
 *     level = (IIR shows an interrupt) && MCR.OUT2 && !MCR.LOOP.
 * ISA IRQs are edge-triggered: the board should drive the level into the
 * PIC/IOAPIC pin (vm_irq_set_level(vm, 4, level)) and let the interrupt
 * controller take the rising edges.  An edge-triggered line that stays high
 * loses any cause that appears while the guest's handler runs; so once the
 * guest has read IIR (its acknowledgement) a new cause that appears while
 * the line is still high (a cause that was not pending, or new received
 * data) makes the model call set_irq(0) then set_irq(1): a fresh edge.
 *
 * Not thread-safe: the caller serialises every call on one uart_8250_t.
 * Callbacks are made from inside those calls and must not call back into
 * the same uart_8250_t.  No assertion depends on a guest value: any offset
 * and value is answered.
 */
#ifndef VMMKIT_UART_8250_H
#define VMMKIT_UART_8250_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* PC port bases and ISA IRQs of the first two serial ports. */
#define UART_8250_COM1_BASE 0x3f8u
#define UART_8250_COM1_IRQ 4u
#define UART_8250_COM2_BASE 0x2f8u
#define UART_8250_COM2_IRQ 3u
/* Ports the UART occupies from its base. */
#define UART_8250_NR_PORTS 8u
/* Depth of each FIFO (datasheet: "16 bytes"). */
#define UART_8250_FIFO_SIZE 16u

/* Register offsets (datasheet Table II); DLL/DLM when LCR.DLAB is set. */
#define UART_8250_RBR 0 /* read, DLAB=0 */
#define UART_8250_THR 0 /* write, DLAB=0 */
#define UART_8250_DLL 0 /* DLAB=1 */
#define UART_8250_IER 1 /* DLAB=0 */
#define UART_8250_DLM 1 /* DLAB=1 */
#define UART_8250_IIR 2 /* read */
#define UART_8250_FCR 2 /* write */
#define UART_8250_LCR 3
#define UART_8250_MCR 4
#define UART_8250_LSR 5
#define UART_8250_MSR 6
#define UART_8250_SCR 7

/* IER bits (datasheet 8.7). */
#define UART_8250_IER_ERBFI 0x01u /* received data available (and timeout) */
#define UART_8250_IER_ETBEI 0x02u /* THR empty */
#define UART_8250_IER_ELSI 0x04u  /* receiver line status */
#define UART_8250_IER_EDSSI 0x08u /* modem status */

/* IIR values (datasheet 8.6, Table IV): bit 0 clear = interrupt pending. */
#define UART_8250_IIR_NONE 0x01u
#define UART_8250_IIR_MSR 0x00u
#define UART_8250_IIR_THRE 0x02u
#define UART_8250_IIR_RDA 0x04u
#define UART_8250_IIR_RLS 0x06u
#define UART_8250_IIR_TIMEOUT 0x0cu
#define UART_8250_IIR_ID_MASK 0x0fu
#define UART_8250_IIR_FIFO 0xc0u /* both set when FCR0 = 1 */

/* FCR bits (datasheet 8.5). */
#define UART_8250_FCR_ENABLE 0x01u
#define UART_8250_FCR_CLEAR_RX 0x02u
#define UART_8250_FCR_CLEAR_TX 0x04u
#define UART_8250_FCR_DMA 0x08u
#define UART_8250_FCR_TRIGGER_MASK 0xc0u /* 00: 1, 01: 4, 10: 8, 11: 14 bytes */

/* LCR bits (datasheet 8.1). */
#define UART_8250_LCR_DLAB 0x80u

/* MCR bits (datasheet 8.8). */
#define UART_8250_MCR_DTR 0x01u
#define UART_8250_MCR_RTS 0x02u
#define UART_8250_MCR_OUT1 0x04u
#define UART_8250_MCR_OUT2 0x08u
#define UART_8250_MCR_LOOP 0x10u

/* LSR bits (datasheet 8.4). */
#define UART_8250_LSR_DR 0x01u
#define UART_8250_LSR_OE 0x02u
#define UART_8250_LSR_THRE 0x20u
#define UART_8250_LSR_TEMT 0x40u

/* MSR bits (datasheet 8.9). */
#define UART_8250_MSR_DCTS 0x01u
#define UART_8250_MSR_DDSR 0x02u
#define UART_8250_MSR_TERI 0x04u
#define UART_8250_MSR_DDCD 0x08u
#define UART_8250_MSR_CTS 0x10u
#define UART_8250_MSR_DSR 0x20u
#define UART_8250_MSR_RI 0x40u
#define UART_8250_MSR_DCD 0x80u

/* What a port access did.  Every value still completes the access. */
typedef enum uart_8250_result {
    UART_8250_OK = 0,     /* a register was read or written */
    UART_8250_IGNORED,    /* a write to read-only LSR or MSR (no effect) */
    UART_8250_BAD_OFFSET, /* offset above 7: reads 0xff (a floating ISA
                             bus), writes dropped */
} uart_8250_result_t;

/* The board's side.  Only tx is required. */
typedef struct uart_8250_ops {
    /* Guest output, one byte at a time, in order. */
    void (*tx)(void *cookie, uint8_t byte);
    /* The interrupt output changed to @level (0 or 1); only called on a
     * change (a re-edge is a 0 then a 1).  NULL: a polled UART. */
    void (*set_irq)(void *cookie, int level);
    /* The guest made room after uart_8250_receive() had to refuse bytes:
     * retry them now (e.g. chardev_rx_ready()).  NULL: poll rx_space. */
    void (*rx_ready)(void *cookie);
} uart_8250_ops_t;

/* The device.  Opaque in spirit: use the functions, not the fields. */
typedef struct uart_8250 {
    uart_8250_ops_t ops;
    void *cookie;
    /* Receive FIFO: a ring of UART_8250_FIFO_SIZE entries; one deep in
     * 16450 (character) mode. */
    uint8_t rx_fifo[UART_8250_FIFO_SIZE];
    unsigned int rx_head;  /* index of the oldest byte */
    unsigned int rx_count; /* bytes held */
    bool rx_blocked;       /* receive() refused bytes since the last rx_ready */
    /* Registers. */
    uint8_t ier, fcr, lcr, mcr, scr, dll, dlm;
    uint8_t msr;      /* delta bits 3:0 and line states 7:4 */
    bool overrun;     /* LSR.OE, until LSR is read */
    bool thr_pending; /* the THR-empty interrupt is pending */
    /* Interrupt line. */
    int irq_level;       /* what set_irq was last told */
    unsigned int causes; /* pending enabled causes at the last update */
    bool rx_arrived;     /* bytes arrived since the last update */
    bool acked;          /* IIR was read since the line last rose */
} uart_8250_t;

/*
 * Initialise @u in its reset state (datasheet Table III; DLL = 12, i.e.
 * 9600 baud, DLM and SCR 0), calling @ops (copied) with @cookie.
 * Returns 0, or -EINVAL when @u, @ops or ops->tx is NULL.  No callback.
 */
int uart_8250_init(uart_8250_t *u, const uart_8250_ops_t *ops, void *cookie);

/*
 * Master reset (datasheet Table III): IER, FCR, LCR, MCR 0, FIFOs empty,
 * no interrupt pending, LSR 0x60; DLL, DLM and SCR keep their values, as
 * the chip's.  Received bytes are dropped; set_irq is called if the line
 * was high, rx_ready if input had been refused.
 */
void uart_8250_reset(uart_8250_t *u);

/*
 * A guest IN of one byte at @offset (port - base) into *@value.  A wider
 * access is the board's to split: an 8-bit ISA device answers a 16-bit IN
 * at port p as two byte accesses at p and p + 1.
 * Returns a uart_8250_result_t; the access is complete whatever it says.
 */
uart_8250_result_t uart_8250_read(uart_8250_t *u, unsigned int offset, uint8_t *value);

/* A guest OUT of @value at @offset.  Returns a uart_8250_result_t. */
uart_8250_result_t uart_8250_write(uart_8250_t *u, unsigned int offset, uint8_t value);

/*
 * Push host input into the receive FIFO.
 * Returns how many of the @len bytes were taken (0..@len): at most the
 * free FIFO space, 0 in loopback.  The caller keeps the rest and retries
 * after the rx_ready callback (or when uart_8250_rx_space() > 0).
 */
size_t uart_8250_receive(uart_8250_t *u, const uint8_t *buf, size_t len);

/* How many bytes uart_8250_receive() would take now. */
size_t uart_8250_rx_space(const uart_8250_t *u);

/* The interrupt output's level now (what set_irq was last told). */
int uart_8250_irq_level(const uart_8250_t *u);

/* A short name for a uart_8250_result_t ("ok", "bad-offset", ...), for logs. */
const char *uart_8250_result_name(uart_8250_result_t result);

#ifdef __cplusplus
}
#endif
#endif
