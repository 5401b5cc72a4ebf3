/*
 * pl011.h - register model of the Arm PrimeCell UART (PL011), the arm64
 * guest's console.
 *
 * This is the device half of a serial console: it turns the guest's loads
 * and stores on the UART's 4 KiB register window into bytes for the host
 * (the tx callback), host input into bytes the guest reads from its receive
 * FIFO, and both into the level of the UART's interrupt line (set_irq).  It
 * models the PL011 r1p5 (ARM DDI 0183G, "TRM" below): 32-entry FIFOs, or
 * 16-entry ones reporting an earlier revision, as QEMU's model does.
 *
 * Transmission is instantaneous: a byte written to DR goes straight to tx(),
 * so the TX FIFO is always empty (FR.TXFE=1, TXFF=0, BUSY=0) and the TX
 * interrupt is raised after every write, like QEMU (Linux masks TXIM as soon
 * as it has nothing more to send, so this cannot storm).  Reception is
 * flow-controlled instead of lossy: pl011_receive() takes what fits and the
 * caller keeps the rest until rx_ready() says the guest made room.  The
 * receive timeout (RTIS) fires at once whenever data is left below the
 * trigger level, because there is no line time to wait for.
 *
 * What is not modelled: baud rate and line format (stored, read back, no
 * effect), DMA (DMACR stored only), IrDA, break, parity/framing/overrun
 * errors (none can happen), modem control outputs (stored in CR; FR shows a
 * connected terminal: CTS, DSR and DCD set).  CR.UARTEN/TXE/RXE are stored
 * but not enforced: Linux's earlycon writes DR before anything enables the
 * UART, and input that arrives while the receiver is off simply waits in the
 * FIFO.  CR.LBE (loopback) is honoured: written bytes go to the RX FIFO.
 *
 * Not thread-safe: the caller serialises every call on one pl011_t (a mutex
 * held around MMIO handling and pl011_receive()).  Callbacks are made from
 * inside those calls and must not call back into the same pl011_t.
 * No assertion depends on a guest value: any offset and width is answered.
 */
#ifndef VMMKIT_PL011_H
#define VMMKIT_PL011_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Size of the register window (TRM 3.2: 4 KiB, IDs at its top). */
#define PL011_MMIO_SIZE 0x1000u
/* Deepest FIFO the model has (r1p5's FIFOs have 32 entries). */
#define PL011_FIFO_MAX 32u

/* Register offsets (TRM 3.2, Table 3-1). */
#define PL011_DR 0x000
#define PL011_RSR_ECR 0x004
#define PL011_FR 0x018
#define PL011_ILPR 0x020
#define PL011_IBRD 0x024
#define PL011_FBRD 0x028
#define PL011_LCR_H 0x02c
#define PL011_CR 0x030
#define PL011_IFLS 0x034
#define PL011_IMSC 0x038
#define PL011_RIS 0x03c
#define PL011_MIS 0x040
#define PL011_ICR 0x044
#define PL011_DMACR 0x048
#define PL011_PERIPH_ID0 0xfe0
#define PL011_PCELL_ID0 0xff0

/* UARTFR bits (TRM 3.3.3). */
#define PL011_FR_CTS (1u << 0)
#define PL011_FR_DSR (1u << 1)
#define PL011_FR_DCD (1u << 2)
#define PL011_FR_BUSY (1u << 3)
#define PL011_FR_RXFE (1u << 4)
#define PL011_FR_TXFF (1u << 5)
#define PL011_FR_RXFF (1u << 6)
#define PL011_FR_TXFE (1u << 7)
#define PL011_FR_RI (1u << 8)

/* UARTLCR_H bits (TRM 3.3.7). */
#define PL011_LCR_H_FEN (1u << 4)

/* UARTCR bits (TRM 3.3.8). */
#define PL011_CR_UARTEN (1u << 0)
#define PL011_CR_LBE (1u << 7)
#define PL011_CR_TXE (1u << 8)
#define PL011_CR_RXE (1u << 9)

/* Interrupt bits of UARTIMSC, UARTRIS, UARTMIS, UARTICR (TRM 3.3.10-3.3.13). */
#define PL011_INT_RI (1u << 0)
#define PL011_INT_CTS (1u << 1)
#define PL011_INT_DCD (1u << 2)
#define PL011_INT_DSR (1u << 3)
#define PL011_INT_RX (1u << 4)
#define PL011_INT_TX (1u << 5)
#define PL011_INT_RT (1u << 6)
#define PL011_INT_FE (1u << 7)
#define PL011_INT_PE (1u << 8)
#define PL011_INT_BE (1u << 9)
#define PL011_INT_OE (1u << 10)
#define PL011_INT_ALL 0x7ffu

/* What an MMIO access did. Every value still completes the access. */
typedef enum pl011_result {
    PL011_OK = 0,     /* a register was read or written */
    PL011_IGNORED,    /* a real register, but the access has no effect: a write
                         to a read-only one (FR, RIS, MIS, IDs) or a read of
                         write-only ICR (reads 0) */
    PL011_BAD_OFFSET, /* no register there (or not 4-byte aligned): reads 0,
                         writes ignored */
    PL011_BAD_WIDTH,  /* width not 1, 2 or 4 bytes: reads 0, writes ignored */
} pl011_result_t;

/* Guest output, one byte at a time, in order. */
typedef void (*pl011_tx_fn)(void *opaque, uint8_t byte);
/* The UART's interrupt line changed to @level (0 or 1). Only called on change. */
typedef void (*pl011_set_irq_fn)(void *opaque, int level);
/* The guest made room in the RX FIFO after pl011_receive() had to refuse
 * bytes: retry them now (e.g. chardev_rx_ready()). */
typedef void (*pl011_rx_ready_fn)(void *opaque);

typedef struct pl011_config {
    pl011_tx_fn tx;             /* required */
    pl011_set_irq_fn set_irq;   /* NULL: no interrupt line (polled guests only) */
    pl011_rx_ready_fn rx_ready; /* NULL: caller polls pl011_rx_space() */
    void *opaque;               /* passed to every callback */
    unsigned int fifo_depth;    /* 0 or 32: r1p5, PeriphID2 0x34;
                                   16: r1p1 (0x14), QEMU's model */
} pl011_config_t;

/* The device.  Opaque in spirit: use the functions, not the fields. */
typedef struct pl011 {
    pl011_config_t cfg;
    uint8_t periph_id2;
    /* Receive FIFO: a ring of cfg.fifo_depth entries. */
    uint8_t rx_fifo[PL011_FIFO_MAX];
    unsigned int rx_head;  /* index of the oldest byte */
    unsigned int rx_count; /* bytes held */
    bool rx_blocked;       /* pl011_receive() refused bytes since the last rx_ready */
    /* Registers. */
    uint32_t rsr, ilpr, ibrd, fbrd, lcr_h, cr, ifls, imsc, ris, dmacr;
    int irq_level; /* what set_irq was last told */
} pl011_t;

/*
 * Initialise @uart in its reset state with @cfg's callbacks.
 * Returns 0, or -EINVAL when @uart, @cfg or cfg->tx is NULL or
 * cfg->fifo_depth is not 0, 16 or 32.  Does not call set_irq.
 */
int pl011_init(pl011_t *uart, const pl011_config_t *cfg);

/*
 * Reset to the TRM's reset values (3.3: CR 0x300, IFLS 0x12, FIFOs empty,
 * interrupts clear and masked).  Pending input is dropped; set_irq is called
 * if the line was high, rx_ready if input had been refused.
 */
void pl011_reset(pl011_t *uart);

/*
 * A guest load at @offset (from the window's base) of @width bytes.
 * @val: receives the value (0 for anything that is not a readable register).
 * Registers are 32-bit words; 8- and 16-bit loads of a register return its
 * low bits with the register's full side effects (Linux's driver uses 16-bit
 * accesses unless the DT says reg-io-width = <4>; a byte read of DR pops).
 * Returns a pl011_result_t; the access is complete whatever it says.
 */
pl011_result_t pl011_mmio_read(pl011_t *uart, uint64_t offset, unsigned int width, uint64_t *val);

/*
 * A guest store of @val (low @width bytes) at @offset.  Narrow stores write
 * the register zero-extended (the PL011's registers are at most 16 bits).
 * Returns a pl011_result_t; the access is complete whatever it says.
 */
pl011_result_t pl011_mmio_write(pl011_t *uart, uint64_t offset, unsigned int width, uint64_t val);

/*
 * Push host input into the RX FIFO.
 * Returns how many of the @len bytes were taken (0..@len).  When fewer than
 * @len, the caller keeps the rest and retries after the rx_ready callback
 * (or when pl011_rx_space() > 0).  Updates the interrupt line.
 */
size_t pl011_receive(pl011_t *uart, const uint8_t *buf, size_t len);

/* How many bytes pl011_receive() would take now. */
size_t pl011_rx_space(const pl011_t *uart);

/* The interrupt line's level: (RIS & IMSC) != 0. */
int pl011_irq_level(const pl011_t *uart);

/* A short name for a pl011_result_t ("ok", "bad-offset", ...), for logs. */
const char *pl011_result_name(pl011_result_t result);

#ifdef __cplusplus
}
#endif
#endif
