/*
 * i8042.c - PS/2 keyboard controller (8042) register model, with a keyboard
 * that answers commands and an empty aux port, and system control port B.
 *
 * "TR" is IBM's PS/2 Hardware Interface Technical Reference: the
 * "Keyboard/Auxiliary Device Controller" chapter (status register, command
 * byte, controller commands, output port) and the "Keyboard" chapter
 * (commands to the keyboard and its responses).  See include/vmmkit/i8042.h
 * for what is modelled and why.
 */
#include <errno.h>
#include <string.h>

#include <vmmkit/i8042.h>

/* Controller answers (TR, controller commands 0xa4, 0xa9, 0xaa, 0xab). */
#define CTL_NO_PASSWORD 0xf1u
#define CTL_SELF_TEST_OK 0x55u
#define CTL_INTERFACE_OK 0x00u

/* Keyboard commands and responses (TR, "Keyboard" chapter). */
#define KBD_CMD_SET_LEDS 0xedu
#define KBD_CMD_ECHO 0xeeu
#define KBD_CMD_SCAN_SET 0xf0u
#define KBD_CMD_IDENTIFY 0xf2u
#define KBD_CMD_TYPEMATIC 0xf3u
#define KBD_CMD_ENABLE 0xf4u
#define KBD_CMD_DISABLE 0xf5u
#define KBD_CMD_DEFAULTS 0xf6u
#define KBD_CMD_SET3_LAST 0xfdu /* 0xf7-0xfd: scan code set 3 key types */
#define KBD_CMD_RESEND 0xfeu
#define KBD_CMD_RESET 0xffu
#define KBD_FIRST_CMD KBD_CMD_SET_LEDS
#define KBD_ACK 0xfau
#define KBD_RESEND 0xfeu
#define KBD_BAT_OK 0xaau
#define KBD_ID0 0xabu
#define KBD_ID1 0x83u
#define KBD_ID1_XLATED 0x41u    /* 0x83 through the set 2 -> set 1 translation */
#define KBD_TYPEMATIC_DEF 0x2bu /* 10.9 characters/s after 500 ms */

/* A byte to the aux device with nothing plugged in: the controller gives
 * up and answers 0xfe with the time-out flag. */
#define AUX_NO_DEVICE 0xfeu

/* Scan code set numbers through the translation table (set 1, 2, 3). */
static const uint8_t xlated_set[4] = {0x00, 0x43, 0x41, 0x3f};

static void set_line(i8042_t *k, unsigned int irq, int *cur, int level)
{
    if (*cur == level)
        return;
    *cur = level;
    if (k->ops.set_irq)
        k->ops.set_irq(k->cookie, irq, level);
}

/* IRQ 1 / IRQ 12: the output buffer is full with a byte of that interface
 * and the command byte enables its interrupt (TR, "Command Byte"). */
static void update_irqs(i8042_t *k)
{
    bool aux = (k->ob.flags & I8042_STR_AUXDATA) != 0;

    set_line(k, I8042_IRQ_KBD, &k->irq_kbd, k->obf && !aux && (k->ram[0] & I8042_CTR_KBDINT));
    set_line(k, I8042_IRQ_AUX, &k->irq_aux, k->obf && aux && (k->ram[0] & I8042_CTR_AUXINT));
}

/* Append to a ring of @size; on a full ring the byte is dropped. */
static void queue_push(i8042_t *k, i8042_byte_t *q, unsigned int size, unsigned int head,
                       unsigned int *count, uint8_t value, uint8_t flags)
{
    if (*count >= size) {
        k->overflow = true;
        return;
    }
    q[(head + *count) % size] = (i8042_byte_t){.value = value, .flags = flags};
    (*count)++;
}

static i8042_byte_t queue_pop(i8042_byte_t *q, unsigned int size, unsigned int *head,
                              unsigned int *count)
{
    i8042_byte_t b = q[*head];

    *head = (*head + 1) % size;
    (*count)--;
    return b;
}

/* A byte from the controller itself (command answers, 0xd2-0xd4). */
static void ctl_send(i8042_t *k, uint8_t value, uint8_t flags)
{
    queue_push(k, k->ctl_q, I8042_CTL_QUEUE, k->ctl_head, &k->ctl_count, value, flags);
}

/* A byte from the keyboard; remembered for its resend command. */
static void kbd_send(i8042_t *k, uint8_t value)
{
    queue_push(k, k->kbd_q, I8042_KBD_QUEUE, k->kbd_head, &k->kbd_count, value, 0);
    k->kbd_last = value;
}

/*
 * Fill an empty output buffer: the controller's answers first, then the
 * keyboard's bytes, which wait while the keyboard interface is disabled
 * (command byte bit 4 holds the keyboard's clock line low).
 */
static void load_output(i8042_t *k)
{
    if (k->obf)
        return;
    if (k->ctl_count) {
        k->ob = queue_pop(k->ctl_q, I8042_CTL_QUEUE, &k->ctl_head, &k->ctl_count);
        k->obf = true;
    } else if (k->kbd_count && !(k->ram[0] & I8042_CTR_KBDDIS)) {
        k->ob = queue_pop(k->kbd_q, I8042_KBD_QUEUE, &k->kbd_head, &k->kbd_count);
        k->obf = true;
    }
}

static void refresh(i8042_t *k)
{
    load_output(k);
    update_irqs(k);
}

static void assert_reset(i8042_t *k)
{
    if (k->ops.reset)
        k->ops.reset(k->cookie);
}

static void kbd_defaults(i8042_t *k)
{
    k->kbd_pending = 0;
    k->kbd_leds = 0;
    k->kbd_typematic = KBD_TYPEMATIC_DEF;
    k->kbd_set = 2;
}

int i8042_init(i8042_t *k, const i8042_ops_t *ops, void *cookie)
{
    if (!k)
        return -EINVAL;
    memset(k, 0, sizeof(*k));
    if (ops)
        k->ops = *ops;
    k->cookie = cookie;
    i8042_reset(k);
    return 0;
}

void i8042_reset(i8042_t *k)
{
    bool gate = (k->portb & I8042_PORTB_PIT2_GATE) != 0;

    memset(k->ram, 0, sizeof(k->ram));
    k->ram[0] = I8042_CTR_INIT;
    k->outport = I8042_OUT_INIT;
    k->sys = true;
    k->last_was_cmd = false;
    k->pending = 0;
    k->obf = false;
    k->ob = (i8042_byte_t){0, 0};
    k->ctl_head = k->ctl_count = 0;
    k->kbd_head = k->kbd_count = 0;
    k->overflow = false;
    kbd_defaults(k);
    k->kbd_last = 0;
    k->kbd_scanning = true;
    k->portb = 0;
    k->refresh = false;
    update_irqs(k);
    if (gate && k->ops.pit_ch2_gate)
        k->ops.pit_ch2_gate(k->cookie, 0);
}

int i8042_irq_level(const i8042_t *k, unsigned int irq)
{
    if (irq == I8042_IRQ_KBD)
        return k->irq_kbd;
    if (irq == I8042_IRQ_AUX)
        return k->irq_aux;
    return 0;
}

/* A command or argument that needs an argument byte next. */
static void kbd_command(i8042_t *k, uint8_t cmd)
{
    k->kbd_pending = 0;
    switch (cmd) {
    case KBD_CMD_SET_LEDS:
    case KBD_CMD_SCAN_SET:
    case KBD_CMD_TYPEMATIC:
        kbd_send(k, KBD_ACK);
        k->kbd_pending = cmd;
        break;
    case KBD_CMD_ECHO:
        kbd_send(k, KBD_CMD_ECHO);
        break;
    case KBD_CMD_IDENTIFY:
        kbd_send(k, KBD_ACK);
        kbd_send(k, KBD_ID0);
        kbd_send(k, (k->ram[0] & I8042_CTR_XLATE) ? KBD_ID1_XLATED : KBD_ID1);
        break;
    case KBD_CMD_ENABLE:
        k->kbd_scanning = true;
        kbd_send(k, KBD_ACK);
        break;
    case KBD_CMD_DISABLE:
        kbd_defaults(k);
        k->kbd_scanning = false;
        kbd_send(k, KBD_ACK);
        break;
    case KBD_CMD_DEFAULTS:
        kbd_defaults(k);
        kbd_send(k, KBD_ACK);
        break;
    case KBD_CMD_RESEND:
        kbd_send(k, k->kbd_last);
        break;
    case KBD_CMD_RESET:
        kbd_defaults(k);
        k->kbd_scanning = true;
        kbd_send(k, KBD_ACK);
        kbd_send(k, KBD_BAT_OK); /* basic assurance test passed */
        break;
    default:
        if (cmd > KBD_CMD_TYPEMATIC && cmd <= KBD_CMD_SET3_LAST)
            kbd_send(k, KBD_ACK); /* 0xf7-0xfd: set 3 key types, accepted */
        else
            kbd_send(k, KBD_RESEND); /* not a command: ask for it again */
        break;
    }
}

/* The argument of 0xed, 0xf0 or 0xf3. */
static void kbd_argument(i8042_t *k, uint8_t cmd, uint8_t arg)
{
    k->kbd_pending = 0;
    switch (cmd) {
    case KBD_CMD_SET_LEDS:
        k->kbd_leds = arg & 0x07u;
        kbd_send(k, KBD_ACK);
        break;
    case KBD_CMD_TYPEMATIC:
        k->kbd_typematic = arg & 0x7fu;
        kbd_send(k, KBD_ACK);
        break;
    default: /* KBD_CMD_SCAN_SET */
        if (arg == 0) {
            kbd_send(k, KBD_ACK);
            kbd_send(k, (k->ram[0] & I8042_CTR_XLATE) ? xlated_set[k->kbd_set] : k->kbd_set);
        } else if (arg <= 3) {
            k->kbd_set = arg;
            kbd_send(k, KBD_ACK);
        } else {
            kbd_send(k, KBD_RESEND);
        }
        break;
    }
}

/* A byte written to port 0x60 with no controller command waiting. */
static void kbd_write(i8042_t *k, uint8_t v)
{
    if (k->kbd_pending && v < KBD_FIRST_CMD)
        kbd_argument(k, k->kbd_pending, v);
    else
        kbd_command(k, v);
}

/* The output port as command 0xd0 reads it: bits 4 and 5 are the IRQ
 * outputs of the two interfaces (TR, "Output Port"). */
static uint8_t outport_read(const i8042_t *k)
{
    uint8_t v = k->outport & (uint8_t) ~(I8042_OUT_KBD_OBF | I8042_OUT_AUX_OBF);

    if (k->irq_kbd)
        v |= I8042_OUT_KBD_OBF;
    if (k->irq_aux)
        v |= I8042_OUT_AUX_OBF;
    return v;
}

/* A write to port 0x64 (TR, "Commands (I/O Address Hex 64)"). */
static i8042_result_t controller_command(i8042_t *k, uint8_t cmd)
{
    k->last_was_cmd = true;
    k->pending = 0; /* a new command abandons one waiting for its argument */
    if (cmd >= 0x20 && cmd <= 0x3f) {
        ctl_send(k, k->ram[cmd & 0x1fu], 0);
        return I8042_OK;
    }
    if (cmd >= 0x60 && cmd <= 0x7f) {
        k->pending = cmd;
        return I8042_OK;
    }
    if (cmd >= 0xf0) {
        /* Pulse output port bits 3:0 low where the command's bit is 0;
         * bit 0 is the CPU reset line. */
        if (!(cmd & I8042_OUT_RESET))
            assert_reset(k);
        return I8042_OK;
    }
    switch (cmd) {
    case 0xa4: /* password installed? */
        ctl_send(k, CTL_NO_PASSWORD, 0);
        break;
    case 0xa7:
        k->ram[0] |= I8042_CTR_AUXDIS;
        break;
    case 0xa8:
        k->ram[0] &= (uint8_t)~I8042_CTR_AUXDIS;
        break;
    case 0xa9: /* aux interface test: clock and data lines fine */
    case 0xab: /* keyboard interface test */
        ctl_send(k, CTL_INTERFACE_OK, 0);
        break;
    case 0xaa:
        k->sys = true;
        ctl_send(k, CTL_SELF_TEST_OK, 0);
        break;
    case 0xad:
        k->ram[0] |= I8042_CTR_KBDDIS;
        break;
    case 0xae:
        k->ram[0] &= (uint8_t)~I8042_CTR_KBDDIS;
        break;
    case 0xd0:
        ctl_send(k, outport_read(k), 0);
        break;
    case 0xd1: /* write output port */
    case 0xd2: /* write keyboard output buffer */
    case 0xd3: /* write aux output buffer */
    case 0xd4: /* write to the aux device */
        k->pending = cmd;
        break;
    case 0xdd:
        k->outport &= (uint8_t)~I8042_OUT_A20;
        break;
    case 0xdf:
        k->outport |= I8042_OUT_A20;
        break;
    default:
        return I8042_UNKNOWN_COMMAND;
    }
    return I8042_OK;
}

/* A write to port 0x60: a waiting command's argument, else the keyboard's. */
static void data_write(i8042_t *k, uint8_t v)
{
    uint8_t cmd = k->pending;

    k->last_was_cmd = false;
    k->pending = 0;
    if (cmd >= 0x60 && cmd <= 0x7f) {
        k->ram[cmd & 0x1fu] = v;
        if (cmd == 0x60)
            k->sys = (v & I8042_CTR_SYS) != 0;
        return;
    }
    switch (cmd) {
    case 0xd1:
        k->outport = v;
        if (!(v & I8042_OUT_RESET))
            assert_reset(k);
        break;
    case 0xd2:
        ctl_send(k, v, 0);
        break;
    case 0xd3:
        ctl_send(k, v, I8042_STR_AUXDATA);
        break;
    case 0xd4:
        ctl_send(k, AUX_NO_DEVICE, I8042_STR_AUXDATA | I8042_STR_TIMEOUT);
        break;
    default:
        kbd_write(k, v);
        break;
    }
}

/*
 * Port 0x60 read: take the output buffer.  Another waiting byte is loaded
 * at once, and the line is dropped before it rises for it, so every byte
 * is an edge.  An empty buffer reads its last byte again.
 */
static i8042_result_t data_read(i8042_t *k, uint8_t *value)
{
    *value = k->ob.value;
    if (!k->obf)
        return I8042_IGNORED;
    k->obf = false;
    update_irqs(k);
    refresh(k);
    return I8042_OK;
}

static uint8_t status_read(const i8042_t *k)
{
    uint8_t s = I8042_STR_NOT_INHIBITED;

    if (k->sys)
        s |= I8042_STR_SYS;
    if (k->last_was_cmd)
        s |= I8042_STR_CMD;
    if (k->obf)
        s |= I8042_STR_OBF | (k->ob.flags & (I8042_STR_AUXDATA | I8042_STR_TIMEOUT));
    return s;
}

static uint8_t portb_read(i8042_t *k)
{
    uint8_t v = k->portb;
    int out = k->ops.pit_ch2_out ? k->ops.pit_ch2_out(k->cookie) : 1;

    k->refresh = !k->refresh;
    if (k->refresh)
        v |= I8042_PORTB_REFRESH;
    if (out)
        v |= I8042_PORTB_PIT2_OUT;
    return v;
}

static void portb_write(i8042_t *k, uint8_t v)
{
    uint8_t old = k->portb;

    k->portb = v & 0x0fu;
    if (((old ^ k->portb) & I8042_PORTB_PIT2_GATE) && k->ops.pit_ch2_gate)
        k->ops.pit_ch2_gate(k->cookie, k->portb & I8042_PORTB_PIT2_GATE);
}

i8042_result_t i8042_read(i8042_t *k, unsigned int offset, uint8_t *value)
{
    switch (offset) {
    case I8042_DATA:
        return data_read(k, value);
    case I8042_PORT_B:
        *value = portb_read(k);
        return I8042_OK;
    case I8042_STATUS:
        *value = status_read(k);
        return I8042_OK;
    default:
        *value = 0xff;
        return I8042_BAD_OFFSET;
    }
}

i8042_result_t i8042_write(i8042_t *k, unsigned int offset, uint8_t value)
{
    i8042_result_t res = I8042_OK;

    k->overflow = false;
    switch (offset) {
    case I8042_DATA:
        data_write(k, value);
        break;
    case I8042_PORT_B:
        portb_write(k, value);
        return I8042_OK;
    case I8042_COMMAND:
        res = controller_command(k, value);
        break;
    default:
        return I8042_BAD_OFFSET;
    }
    refresh(k);
    if (k->overflow && res == I8042_OK)
        res = I8042_OVERFLOW;
    return res;
}

const char *i8042_result_name(i8042_result_t result)
{
    switch (result) {
    case I8042_OK:
        return "ok";
    case I8042_IGNORED:
        return "ignored";
    case I8042_BAD_OFFSET:
        return "bad-offset";
    case I8042_UNKNOWN_COMMAND:
        return "unknown-command";
    case I8042_OVERFLOW:
        return "overflow";
    }
    return "unknown";
}
