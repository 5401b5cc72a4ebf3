/*
 * i8042.h - register model of the PC's keyboard controller (an Intel 8042
 * running the PS/2 "keyboard controller" firmware) with a keyboard that
 * answers commands but never has a key pressed, and of the system control
 * port B at 0x61 next to it.
 *
 * An x86 guest needs this controller for three things: Linux's i8042 and
 * atkbd drivers probe it at boot (and wait up to half a second per command
 * on a controller that does not answer), Linux reboots through it
 * (reboot=k, and the fallback of the other methods: command 0xFE pulses
 * the CPU reset line), and PIT calibration reads port B.  The model
 * answers (references: IBM PS/2 Hardware Interface Technical Reference,
 * "Keyboard/Auxiliary Device Controller" and "Keyboard" chapters, "TR"
 * below; Linux's drivers/input/serio/i8042.c and libps2.c for what a guest
 * expects):
 *
 *  - port 0x64 read: the status register.  OBF with the output buffer's
 *    source (AUXDATA) and a time-out flag, IBF never (commands complete at
 *    once), SYS (from the command byte), CMD/DATA (last write was to 0x64),
 *    and "keyboard not inhibited" (bit 4; Linux warns "Keylock active"
 *    otherwise).
 *  - port 0x64 write: a controller command: 0x20-0x3f read and 0x60-0x7f
 *    write the 32 bytes of controller RAM (byte 0 is the command byte),
 *    0xa4 (password: none, 0xf1), 0xa7/0xa8 disable/enable the aux
 *    interface, 0xa9 aux interface test (0x00: no error), 0xaa self test
 *    (0x55, sets SYS), 0xab keyboard interface test (0x00), 0xad/0xae
 *    disable/enable the keyboard interface, 0xd0/0xd1 read/write the
 *    output port (a written bit 0 of 0 asserts reset),
 *    0xd2/0xd3 put a byte in the output buffer as if from the keyboard /
 *    the aux device, 0xd4 send a byte to the aux device, 0xdd/0xdf A20
 *    off/on, 0xf0-0xff pulse output port bits 3:0 (0xfe: reset).  Other
 *    commands are ignored (I8042_UNKNOWN_COMMAND).
 *  - port 0x60: the output buffer (read), a command's argument or a byte
 *    for the keyboard (write).  The keyboard ACKs (0xfa) what Linux's
 *    atkbd sends: 0xff reset (0xfa 0xaa), 0xf2 identify (0xfa 0xab 0x83,
 *    0x41 for 0x83 when the command byte asks for translation), 0xed LEDs,
 *    0xf3 typematic rate, 0xf0 scan code set (0 reads it back), 0xf4/0xf5/
 *    0xf6 enable/disable/defaults, 0xf7-0xfd, 0xee echo (0xee), 0xfe resend
 *    (its last byte); anything else is answered 0xfe (resend).  A byte for a
 *    command's argument that is itself a command starts that command, as a
 *    PS/2 keyboard does.
 *
 * The aux (mouse) port exists but nothing is plugged into it (decided so:
 * a working port is what a PS/2 chipset without a mouse is, and it keeps
 * every probe step fast).  Linux's check_aux() passes (0xd3 loops back
 * with AUXDATA, 0xa7/0xa8 flip command byte bit 5, the looped byte raises
 * IRQ 12), so it registers "i8042 AUX port"; every byte sent to the mouse
 * through 0xd4 is answered at once with 0xfe and the time-out flag, as a
 * controller with no device answers, so psmouse's probe fails at once
 * (-ENODEV) instead of waiting for a mouse.  The board must wire IRQ 12 (or the ACPI
 * tables leave out the PS/2 mouse, PNP0F13, and Linux skips the aux port).
 * A board that does not wire IRQ 12 costs Linux a 250 ms wait in that test.
 *
 * The output buffer holds one byte; behind it wait the controller's own
 * answers (8 bytes) and then the keyboard's (16, as a PS/2 keyboard's
 * buffer), which stay in the keyboard while the command byte disables the
 * keyboard interface.  When the guest reads a byte and another is waiting,
 * the next byte is loaded at once and the interrupt line drops and rises
 * again, so each byte is a new edge.  Bytes that do not fit are dropped and
 * the access says I8042_OVERFLOW (a guest that writes commands without
 * reading the answers).
 *
 * Interrupts: IRQ 1 is high while the output buffer holds a non-aux byte
 * and command byte bit 0 is set; IRQ 12 while it holds an aux byte and bit
 * 1 is set.  Both are ISA edge interrupts: the board drives the levels into
 * the PIC/IOAPIC pins and the controller takes the rising edges.
 *
 * Reset: the reset callback is called for 0xfe (any 0xf0-0xff with bit 0
 * clear) and for 0xd1 with bit 0 clear.  Linux writes 0xfe up to ten times
 * before it gives up, so the callback may come again before the vCPUs
 * stop: make it idempotent (request a reset, do not perform it inside the
 * port access).  The board resets this model with i8042_reset().
 *
 * Port B (0x61, offset 1; on an AT it is the chipset's, kept here because
 * it shares the 0x60-0x64 range): bits 0 (PIT channel 2 gate), 1 (speaker
 * data), 2 and 3 (parity and channel check enables) are stored; bit 4
 * toggles on every read (the DRAM refresh request that old delay loops
 * count); bit 5 is PIT channel 2's output from the pit_ch2_out callback, or
 * 1 without one (as if the count had run out, so a polling loop ends);
 * bits 6 and 7 (NMI sources) read 0.  With an in-kernel PIT (the
 * backend's, hv.h) the hypervisor answers port 0x61 itself and these
 * accesses never reach the model.
 *
 * Not modelled: key presses (no host keyboard input), scan code translation
 * of key codes (there are none; only the identify answer follows the
 * command byte's translate bit), the keyboard's typematic and LEDs (stored),
 * a mouse, MUX mode (0xd3 loops every byte, so Linux finds no multiplexer),
 * A20 masking (the output port's bit 1 is stored; the hypervisor does not
 * mask A20),
 * parity errors.
 *
 * Not thread-safe: the caller serialises every call on one i8042_t.
 * Callbacks are made from inside those calls and must not call back into
 * the same i8042_t.  No assertion depends on a guest value.
 */
#ifndef VMMKIT_I8042_H
#define VMMKIT_I8042_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Ports: register 0x60-0x64 as one range and pass port - 0x60. */
#define I8042_PORT_BASE 0x60u
#define I8042_NR_PORTS 5u
#define I8042_DATA 0    /* 0x60: output buffer / data, argument, keyboard byte */
#define I8042_PORT_B 1  /* 0x61: system control port B */
#define I8042_STATUS 4  /* 0x64 read: status register */
#define I8042_COMMAND 4 /* 0x64 write: controller command */

/* The ISA IRQs of the two interfaces, as passed to set_irq. */
#define I8042_IRQ_KBD 1u
#define I8042_IRQ_AUX 12u

/* Status register bits (TR, "Status Register"). */
#define I8042_STR_OBF 0x01u
#define I8042_STR_IBF 0x02u
#define I8042_STR_SYS 0x04u
#define I8042_STR_CMD 0x08u
#define I8042_STR_NOT_INHIBITED 0x10u
#define I8042_STR_AUXDATA 0x20u
#define I8042_STR_TIMEOUT 0x40u
#define I8042_STR_PARITY 0x80u

/* Command byte (controller RAM byte 0) bits (TR, "Command Byte"). */
#define I8042_CTR_KBDINT 0x01u
#define I8042_CTR_AUXINT 0x02u
#define I8042_CTR_SYS 0x04u
#define I8042_CTR_IGNKEYLOCK 0x08u
#define I8042_CTR_KBDDIS 0x10u
#define I8042_CTR_AUXDIS 0x20u
#define I8042_CTR_XLATE 0x40u
/* The command byte after i8042_init/reset: what a PC BIOS leaves (keyboard
 * interrupt on, SYS, aux disabled, translation on). */
#define I8042_CTR_INIT (I8042_CTR_KBDINT | I8042_CTR_SYS | I8042_CTR_AUXDIS | I8042_CTR_XLATE)

/* Output port bits (TR, "Output Port"). */
#define I8042_OUT_RESET 0x01u /* 0: CPU reset asserted */
#define I8042_OUT_A20 0x02u
#define I8042_OUT_KBD_OBF 0x10u /* IRQ 1 line */
#define I8042_OUT_AUX_OBF 0x20u /* IRQ 12 line */
#define I8042_OUT_INIT 0xcfu    /* reset off, A20 on, clock and data lines high */

/* Port B bits. */
#define I8042_PORTB_PIT2_GATE 0x01u
#define I8042_PORTB_SPEAKER 0x02u
#define I8042_PORTB_REFRESH 0x10u
#define I8042_PORTB_PIT2_OUT 0x20u

/* Queue depths behind the one-byte output buffer. */
#define I8042_CTL_QUEUE 8u
#define I8042_KBD_QUEUE 16u
/* Controller RAM (commands 0x20-0x3f / 0x60-0x7f). */
#define I8042_RAM_SIZE 32u

/* What a port access did.  Every value still completes the access. */
typedef enum i8042_result {
    I8042_OK = 0,
    I8042_IGNORED,         /* no effect: a data read with the buffer empty (reads
                              the last byte again) */
    I8042_BAD_OFFSET,      /* not 0, 1 or 4: reads 0xff, writes dropped */
    I8042_UNKNOWN_COMMAND, /* a controller command the model does not know: ignored */
    I8042_OVERFLOW,        /* an answer was dropped: the guest does not read them */
} i8042_result_t;

/* The board's side.  Every callback is optional. */
typedef struct i8042_ops {
    /* Interrupt line @irq (I8042_IRQ_KBD or I8042_IRQ_AUX) changed to
     * @level; only called on a change (a re-edge is a 0 then a 1). */
    void (*set_irq)(void *cookie, unsigned int irq, int level);
    /* The guest asserted the CPU reset line.  May be called repeatedly. */
    void (*reset)(void *cookie);
    /* PIT channel 2's output level, for port B bit 5. */
    int (*pit_ch2_out)(void *cookie);
    /* Port B bit 0 (PIT channel 2's gate) changed to @level. */
    void (*pit_ch2_gate)(void *cookie, int level);
} i8042_ops_t;

/* A byte waiting behind the output buffer, and where it came from. */
typedef struct i8042_byte {
    uint8_t value;
    uint8_t flags; /* I8042_STR_AUXDATA and I8042_STR_TIMEOUT */
} i8042_byte_t;

/* The device.  Opaque in spirit: use the functions, not the fields. */
typedef struct i8042 {
    i8042_ops_t ops;
    void *cookie;
    uint8_t ram[I8042_RAM_SIZE]; /* ram[0] is the command byte */
    uint8_t outport;
    bool sys;          /* status SYS */
    bool last_was_cmd; /* status CMD/DATA */
    uint8_t pending;   /* command waiting for its argument on 0x60, or 0 */
    /* Output buffer. */
    bool obf;
    i8042_byte_t ob;
    i8042_byte_t ctl_q[I8042_CTL_QUEUE];
    unsigned int ctl_head, ctl_count;
    i8042_byte_t kbd_q[I8042_KBD_QUEUE];
    unsigned int kbd_head, kbd_count;
    bool overflow; /* a byte was dropped during the current access */
    /* The keyboard. */
    uint8_t kbd_pending; /* command waiting for its argument, or 0 */
    uint8_t kbd_last;    /* last byte it sent, for 0xfe resend */
    uint8_t kbd_leds, kbd_typematic, kbd_set;
    bool kbd_scanning;
    /* Port B. */
    uint8_t portb;        /* bits 3:0 */
    bool refresh;         /* bit 4 */
    int irq_kbd, irq_aux; /* what set_irq was last told */
} i8042_t;

/*
 * Initialise @k in its reset state, calling @ops (copied; NULL: none) with
 * @cookie.  Returns 0, or -EINVAL when @k is NULL.  No callback.
 */
int i8042_init(i8042_t *k, const i8042_ops_t *ops, void *cookie);

/*
 * Back to the state after init (command byte I8042_CTR_INIT, output port
 * I8042_OUT_INIT, buffers empty, keyboard defaults, port B 0), as after a
 * machine reset.  set_irq is called for a line that was high; pit_ch2_gate
 * if the gate was set.
 */
void i8042_reset(i8042_t *k);

/* A guest IN of one byte at @offset (port - 0x60) into *@value. */
i8042_result_t i8042_read(i8042_t *k, unsigned int offset, uint8_t *value);

/* A guest OUT of @value at @offset (port - 0x60). */
i8042_result_t i8042_write(i8042_t *k, unsigned int offset, uint8_t value);

/* The level of line @irq (I8042_IRQ_KBD or I8042_IRQ_AUX; 0 for others). */
int i8042_irq_level(const i8042_t *k, unsigned int irq);

/* A short name for an i8042_result_t ("ok", "unknown-command", ...). */
const char *i8042_result_name(i8042_result_t result);

#ifdef __cplusplus
}
#endif
#endif
