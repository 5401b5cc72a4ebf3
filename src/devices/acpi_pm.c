/*
 * acpi_pm.c - ACPI fixed-hardware register model: PM1a event and control
 * blocks, PM timer, reset register.
 *
 * Section numbers are the ACPI Specification 6.4's: 4.8.4 "Fixed Hardware
 * Registers" (4.8.4.1 PM1 event grouping, 4.8.4.2 PM1 control grouping,
 * 4.8.4.3 PM timer, 4.8.4.6 reset register); the reset register's bits
 * follow Intel's chipsets (RST_CNT, I/O port 0xcf9).  See
 * include/vmmkit/acpi_pm.h for what is modelled and what is not.
 */
#include <errno.h>
#include <string.h>

#include <vmmkit/acpi_pm.h>

#define NS_PER_SEC 1000000000ull

/* Status bits the guest can clear by writing 1 (all of PM1_STS's defined bits). */
#define STS_W1C_MASK                                                                               \
    (ACPI_PM1_STS_TMR | ACPI_PM1_STS_BM | ACPI_PM1_STS_GBL | ACPI_PM1_STS_PWRBTN |                 \
     ACPI_PM1_STS_SLPBTN | ACPI_PM1_STS_RTC | ACPI_PM1_STS_PCIEXP_WAKE | ACPI_PM1_STS_WAK)
/* PM1_EN's defined bits, all read/write. */
#define EN_MASK                                                                                    \
    (ACPI_PM1_EN_TMR | ACPI_PM1_EN_GBL | ACPI_PM1_EN_PWRBTN | ACPI_PM1_EN_SLPBTN |                 \
     ACPI_PM1_EN_RTC | ACPI_PM1_EN_PCIEXP_WAKE_DIS)
/* Events that raise the SCI when both status and enable are set (4.8.4.1):
 * the bits are at the same positions in PM1_STS and PM1_EN. */
#define SCI_SOURCES                                                                                \
    (ACPI_PM1_STS_TMR | ACPI_PM1_STS_GBL | ACPI_PM1_STS_PWRBTN | ACPI_PM1_STS_SLPBTN |             \
     ACPI_PM1_STS_RTC)
/* PM1_CNT bits that are stored and read back; SCI_EN reads 1, SLP_EN and
 * GBL_RLS are write-only and read 0 (Table 4.13). */
#define CNT_STORED (ACPI_PM1_CNT_BM_RLD | ACPI_PM1_CNT_SLP_TYP_MASK)
/* Reset register bits that read back; RST_CPU is self-clearing. */
#define RST_STORED (ACPI_PM_RST_SYS | ACPI_PM_RST_FULL)

/* ---- the timer -------------------------------------------------------- */

static unsigned int timer_bits(const acpi_pm_t *pm)
{
    return pm->cfg.timer_32bit ? 32 : 24;
}

/* Ticks since the counter was 0 (a clock that steps back reads as no time). */
static uint64_t timer_ticks(acpi_pm_t *pm)
{
    uint64_t now = pm->cfg.clock(pm->cfg.opaque);

    if (now <= pm->timer_base_ns)
        return 0;
    return (uint64_t)((unsigned __int128)(now - pm->timer_base_ns) * ACPI_PM_TIMER_HZ / NS_PER_SEC);
}

/*
 * TMR_STS "is set when the most significant bit of the counter changes"
 * (4.8.4.3): count those changes (ticks / 2^(bits-1)) and set the status
 * whenever the count moved since it was last looked at.
 */
static uint32_t sync_timer(acpi_pm_t *pm)
{
    uint64_t ticks = timer_ticks(pm);
    uint64_t epoch = ticks >> (timer_bits(pm) - 1);

    if (epoch != pm->timer_epoch) {
        pm->timer_epoch = epoch;
        pm->pm1_sts |= ACPI_PM1_STS_TMR;
    }
    return (uint32_t)(ticks & ((1ull << timer_bits(pm)) - 1));
}

uint32_t acpi_pm_timer_read(acpi_pm_t *pm)
{
    return sync_timer(pm);
}

uint64_t acpi_pm_timer_deadline(acpi_pm_t *pm)
{
    unsigned int shift = timer_bits(pm) - 1;
    unsigned __int128 next, ns;

    if (!(pm->pm1_en & ACPI_PM1_EN_TMR))
        return UINT64_MAX;
    next = (unsigned __int128)((timer_ticks(pm) >> shift) + 1) << shift;
    /* The first nanosecond at which timer_ticks() reaches @next. */
    ns = (next * NS_PER_SEC + ACPI_PM_TIMER_HZ - 1) / ACPI_PM_TIMER_HZ + pm->timer_base_ns;
    return ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}

/* ---- the SCI ---------------------------------------------------------- */

int acpi_pm_sci_level(const acpi_pm_t *pm)
{
    return pm->sci_level;
}

/* SCI_EN is always 1 here, so the SCI follows the enabled status bits. */
static void update_sci(acpi_pm_t *pm)
{
    int level = (pm->pm1_sts & pm->pm1_en & SCI_SOURCES) != 0;

    if (level == pm->sci_level)
        return;
    pm->sci_level = level;
    if (pm->cfg.set_irq)
        pm->cfg.set_irq(pm->cfg.opaque, level);
}

/* ---- set-up ----------------------------------------------------------- */

static bool ranges_overlap(unsigned int a, unsigned int alen, unsigned int b, unsigned int blen)
{
    return a < b + blen && b < a + alen;
}

int acpi_pm_init(acpi_pm_t *pm, const acpi_pm_config_t *cfg)
{
    unsigned int start[4], len[4] = {ACPI_PM_PM1_EVT_LEN, ACPI_PM_PM1_CNT_LEN, ACPI_PM_TMR_LEN, 1};

    if (!pm || !cfg || !cfg->clock)
        return -EINVAL;
    memset(pm, 0, sizeof(*pm));
    pm->cfg = *cfg;
    if (!pm->cfg.pm1a_evt_port)
        pm->cfg.pm1a_evt_port = ACPI_PM_DEFAULT_PM1A_EVT_PORT;
    if (!pm->cfg.pm1a_cnt_port)
        pm->cfg.pm1a_cnt_port = ACPI_PM_DEFAULT_PM1A_CNT_PORT;
    if (!pm->cfg.pm_tmr_port)
        pm->cfg.pm_tmr_port = ACPI_PM_DEFAULT_PM_TMR_PORT;
    if (!pm->cfg.reset_port)
        pm->cfg.reset_port = ACPI_PM_DEFAULT_RESET_PORT;
    start[0] = pm->cfg.pm1a_evt_port;
    start[1] = pm->cfg.pm1a_cnt_port;
    start[2] = pm->cfg.pm_tmr_port;
    start[3] = pm->cfg.reset_port;
    for (int i = 0; i < 4; i++) {
        if (start[i] + len[i] > 0x10000u)
            return -EINVAL;
        for (int j = 0; j < i; j++) {
            if (ranges_overlap(start[i], len[i], start[j], len[j]))
                return -EINVAL;
        }
    }
    pm->pm1_cnt = ACPI_PM1_CNT_SCI_EN;
    pm->timer_base_ns = cfg->clock(cfg->opaque);
    return 0;
}

void acpi_pm_reset(acpi_pm_t *pm)
{
    pm->pm1_sts = 0;
    pm->pm1_en = 0;
    pm->pm1_cnt = ACPI_PM1_CNT_SCI_EN;
    pm->reset_reg = 0;
    pm->timer_base_ns = pm->cfg.clock(pm->cfg.opaque);
    pm->timer_epoch = 0;
    update_sci(pm);
}

/* ---- port access ------------------------------------------------------ */

/* Which register a port's byte belongs to. */
typedef enum reg {
    REG_NONE,
    REG_STS,
    REG_EN,
    REG_CNT,
    REG_TMR,
} reg_t;

/* The register at @port and the byte of it (0 = least significant). */
static reg_t reg_at(const acpi_pm_t *pm, unsigned int port, unsigned int *byte)
{
    unsigned int off;

    off = port - pm->cfg.pm1a_evt_port;
    if (port >= pm->cfg.pm1a_evt_port && off < ACPI_PM_PM1_EVT_LEN) {
        *byte = off & 1;
        return off < 2 ? REG_STS : REG_EN; /* 4.8.4.1: status, then enable */
    }
    off = port - pm->cfg.pm1a_cnt_port;
    if (port >= pm->cfg.pm1a_cnt_port && off < ACPI_PM_PM1_CNT_LEN) {
        *byte = off;
        return REG_CNT;
    }
    off = port - pm->cfg.pm_tmr_port;
    if (port >= pm->cfg.pm_tmr_port && off < ACPI_PM_TMR_LEN) {
        *byte = off;
        return REG_TMR;
    }
    return REG_NONE;
}

static bool width_ok(unsigned int width)
{
    return width == 1 || width == 2 || width == 4;
}

static bool is_reset_access(const acpi_pm_t *pm, uint16_t port, unsigned int width)
{
    return width == 1 && port == pm->cfg.reset_port;
}

acpi_pm_result_t acpi_pm_io_read(acpi_pm_t *pm, uint16_t port, unsigned int width, uint32_t *val)
{
    uint32_t out = 0, tmr = 0;
    bool hit = false, timer_read = false;

    *val = 0xffffffffu;
    if (!width_ok(width))
        return ACPI_PM_BAD_WIDTH;
    if (is_reset_access(pm, port, width)) {
        *val = pm->reset_reg;
        return ACPI_PM_OK;
    }
    for (unsigned int i = 0; i < width; i++) {
        unsigned int byte = 0;
        uint32_t reg = 0xff;

        switch (reg_at(pm, (unsigned int)port + i, &byte)) {
        case REG_NONE:
            out |= 0xffu << (8 * i);
            continue;
        case REG_STS:
            if (!timer_read) { /* one look at the clock per access */
                tmr = sync_timer(pm);
                timer_read = true;
            }
            reg = pm->pm1_sts;
            break;
        case REG_EN:
            reg = pm->pm1_en;
            break;
        case REG_CNT:
            reg = (pm->pm1_cnt & CNT_STORED) | ACPI_PM1_CNT_SCI_EN;
            break;
        case REG_TMR:
            if (!timer_read) {
                tmr = sync_timer(pm);
                timer_read = true;
            }
            reg = tmr;
            break;
        }
        hit = true;
        out |= ((reg >> (8 * byte)) & 0xffu) << (8 * i);
    }
    if (!hit)
        return ACPI_PM_BAD_PORT;
    *val = out;
    if (timer_read)
        update_sci(pm); /* TMR_STS may have risen */
    return ACPI_PM_OK;
}

static acpi_pm_result_t write_reset(acpi_pm_t *pm, uint8_t v)
{
    pm->reset_reg = v & RST_STORED;
    if ((v & ACPI_PM_RST_CPU) && pm->cfg.reset)
        pm->cfg.reset(pm->cfg.opaque);
    return ACPI_PM_OK;
}

acpi_pm_result_t acpi_pm_io_write(acpi_pm_t *pm, uint16_t port, unsigned int width, uint32_t val)
{
    /* The bytes written to each 16-bit register, and which bytes. */
    uint16_t sts_val = 0, en_val = 0, cnt_val = 0;
    uint16_t sts_mask = 0, en_mask = 0, cnt_mask = 0;
    bool hit_rw = false, hit_ro = false;
    acpi_pm_result_t result = ACPI_PM_OK;

    if (!width_ok(width))
        return ACPI_PM_BAD_WIDTH;
    if (is_reset_access(pm, port, width))
        return write_reset(pm, (uint8_t)val);
    for (unsigned int i = 0; i < width; i++) {
        unsigned int byte = 0;
        uint16_t b = (uint16_t)((val >> (8 * i)) & 0xff);

        switch (reg_at(pm, (unsigned int)port + i, &byte)) {
        case REG_NONE:
            continue;
        case REG_STS:
            sts_val |= (uint16_t)(b << (8 * byte));
            sts_mask |= (uint16_t)(0xff << (8 * byte));
            break;
        case REG_EN:
            en_val |= (uint16_t)(b << (8 * byte));
            en_mask |= (uint16_t)(0xff << (8 * byte));
            break;
        case REG_CNT:
            cnt_val |= (uint16_t)(b << (8 * byte));
            cnt_mask |= (uint16_t)(0xff << (8 * byte));
            break;
        case REG_TMR:
            hit_ro = true;
            continue;
        }
        hit_rw = true;
    }
    if (!hit_rw)
        return hit_ro ? ACPI_PM_IGNORED : ACPI_PM_BAD_PORT;
    if (sts_mask) {
        /* Write 1 to clear (4.8.4.1.1); a timer change not yet seen is seen
         * first, so clearing TMR_STS acknowledges it. */
        sync_timer(pm);
        pm->pm1_sts &= (uint16_t) ~(sts_val & sts_mask & STS_W1C_MASK);
    }
    if (en_mask)
        pm->pm1_en = (uint16_t)((pm->pm1_en & ~en_mask) | (en_val & en_mask & EN_MASK));
    if (cnt_mask) {
        pm->pm1_cnt = (uint16_t)((pm->pm1_cnt & ~(cnt_mask & CNT_STORED)) |
                                 (cnt_val & cnt_mask & CNT_STORED));
        if (cnt_val & cnt_mask & ACPI_PM1_CNT_SLP_EN) {
            /* 4.8.4.2.1: SLP_EN starts the transition to the SLP_TYP state. */
            unsigned int typ =
                (pm->pm1_cnt & ACPI_PM1_CNT_SLP_TYP_MASK) >> ACPI_PM1_CNT_SLP_TYP_SHIFT;

            if (typ == ACPI_PM_SLP_TYP_S5) {
                if (pm->cfg.sleep)
                    pm->cfg.sleep(pm->cfg.opaque, ACPI_PM_STATE_S5);
            } else {
                result = ACPI_PM_SLEEP_IGNORED;
            }
        }
    }
    update_sci(pm);
    return result;
}

/* ---- events ----------------------------------------------------------- */

void acpi_pm_power_button(acpi_pm_t *pm)
{
    /* The fixed-feature power button: PWRBTN_STS, an SCI if PWRBTN_EN. */
    pm->pm1_sts |= ACPI_PM1_STS_PWRBTN;
    update_sci(pm);
}

void acpi_pm_update(acpi_pm_t *pm)
{
    sync_timer(pm);
    update_sci(pm);
}

const char *acpi_pm_result_name(acpi_pm_result_t result)
{
    switch (result) {
    case ACPI_PM_OK:
        return "ok";
    case ACPI_PM_IGNORED:
        return "ignored";
    case ACPI_PM_SLEEP_IGNORED:
        return "sleep-ignored";
    case ACPI_PM_BAD_PORT:
        return "bad-port";
    case ACPI_PM_BAD_WIDTH:
        return "bad-width";
    }
    return "unknown";
}
