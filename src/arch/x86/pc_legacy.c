/*
 * pc_legacy.c - the x86 pc board's CMOS RTC (0x70/0x71, GSI 8) and ACPI PM
 * registers (x86_acpi.h's PM block, SCI on GSI 9), on their ports under
 * the board's legacy_lock.
 *
 * The RTC's interrupts (periodic, alarm, update-ended) need a timer: a
 * timerfd on CLOCK_REALTIME, the RTC's own clock, armed from the model's
 * set_timer callback and served by a small I/O thread of the board's.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <vmmkit/irq.h>
#include <vmmkit/log.h>

#include "arch/x86/pc_priv.h"

/* ---- the RTC ------------------------------------------------------------------------- */

static int64_t rtc_now(void *cookie)
{
    struct timespec ts;

    (void)cookie;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void rtc_set_irq(void *cookie, int level)
{
    x86_pc_t *pc = cookie;

    vm_irq_set_level(pc->vm, X86_PC_RTC_GSI, level);
}

static void rtc_set_timer(void *cookie, int64_t when_ns)
{
    x86_pc_t *pc = cookie;
    struct itimerspec its = {0};

    if (pc->rtc_timer < 0)
        return;
    if (when_ns != CMOS_RTC_NO_EVENT) {
        if (when_ns <= 0)
            when_ns = 1; /* 0 would disarm it: at once */
        its.it_value.tv_sec = when_ns / 1000000000ll;
        its.it_value.tv_nsec = when_ns % 1000000000ll;
    }
    timerfd_settime(pc->rtc_timer, TFD_TIMER_ABSTIME, &its, NULL);
}

/* The legacy I/O thread: the RTC's timer fired. */
static void rtc_timer_fired(int fd, uint32_t events, void *opaque)
{
    x86_pc_t *pc = opaque;
    uint64_t n;

    (void)events;
    if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        return;
    pthread_mutex_lock(&pc->legacy_lock);
    cmos_rtc_tick(&pc->rtc);
    pthread_mutex_unlock(&pc->legacy_lock);
}

static ioport_fault_result_t rtc_in(vm_vcpu_t *vcpu, void *cookie, unsigned int port,
                                    unsigned int size, unsigned int *result)
{
    x86_pc_t *pc = cookie;
    uint8_t b = 0xff;

    (void)vcpu;
    pthread_mutex_lock(&pc->legacy_lock);
    cmos_rtc_read(&pc->rtc, port - CMOS_RTC_PORT_BASE, &b);
    pthread_mutex_unlock(&pc->legacy_lock);
    *result = size == 1 ? b : (0xffffff00u | b);
    return IO_FAULT_HANDLED;
}

static ioport_fault_result_t rtc_out(vm_vcpu_t *vcpu, void *cookie, unsigned int port,
                                     unsigned int size, unsigned int value)
{
    x86_pc_t *pc = cookie;

    (void)vcpu;
    (void)size;
    pthread_mutex_lock(&pc->legacy_lock);
    cmos_rtc_write(&pc->rtc, port - CMOS_RTC_PORT_BASE, (uint8_t)value);
    pthread_mutex_unlock(&pc->legacy_lock);
    return IO_FAULT_HANDLED;
}

/*
 * The memory sizes a PC BIOS leaves in CMOS (the extended-memory bytes at
 * 0x34/0x35 in 64 KiB units above 16 MiB, 0x5b-0x5d in 64 KiB units above
 * 4 GiB): nothing of Linux's needs them, other guests' probes may.
 */
static void rtc_memory_bytes(x86_pc_t *pc)
{
    uint64_t above16 = pc->plan.low_ram > (16u << 20) ? (pc->plan.low_ram - (16u << 20)) >> 16 : 0;
    uint64_t above4g = pc->plan.high_ram >> 16;

    if (above16 > 0xffff)
        above16 = 0xffff;
    cmos_rtc_set_byte(&pc->rtc, 0x34, (uint8_t)above16);
    cmos_rtc_set_byte(&pc->rtc, 0x35, (uint8_t)(above16 >> 8));
    cmos_rtc_set_byte(&pc->rtc, 0x5b, (uint8_t)above4g);
    cmos_rtc_set_byte(&pc->rtc, 0x5c, (uint8_t)(above4g >> 8));
    cmos_rtc_set_byte(&pc->rtc, 0x5d, (uint8_t)(above4g >> 16));
}

int pc_legacy_create(x86_pc_t *pc, char *err, size_t errlen)
{
    vm_ioport_interface_t rtc = {
        .cookie = pc, .port_in = rtc_in, .port_out = rtc_out, .desc = "the CMOS RTC"};
    int r;

    pc->rtc_timer = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
    if (pc->rtc_timer < 0)
        return board_errorf(err, errlen, -errno, "cannot make the RTC's timer: %s",
                            strerror(errno));
    pc->legacy_io = iothread_create("vm0-legacy");
    if (!pc->legacy_io)
        return board_errorf(err, errlen, -errno, "cannot start the legacy devices' thread: %s",
                            strerror(errno));
    r = iothread_add_fd(pc->legacy_io, pc->rtc_timer, rtc_timer_fired, pc);
    if (r < 0)
        return board_errorf(err, errlen, r, "cannot watch the RTC's timer: %s", strerror(-r));
    cmos_rtc_init(
        &pc->rtc,
        &(cmos_rtc_ops_t){.now_ns = rtc_now, .set_irq = rtc_set_irq, .set_timer = rtc_set_timer},
        pc);
    rtc_memory_bytes(pc);
    r = vm_io_port_add_handler(
        pc->vm, (vm_ioport_range_t){CMOS_RTC_PORT_BASE, CMOS_RTC_PORT_BASE + CMOS_RTC_NR_PORTS - 1},
        rtc);
    if (r < 0)
        return board_errorf(err, errlen, r, "cannot claim the RTC's ports: %s", strerror(-r));
    return pc_pm_create(pc, err, errlen);
}

void pc_legacy_reset(x86_pc_t *pc)
{
    cmos_rtc_reset(&pc->rtc);
    rtc_memory_bytes(pc);
    pc_pm_reset(pc);
}

void pc_legacy_destroy(x86_pc_t *pc)
{
    if (pc->legacy_io)
        iothread_destroy(pc->legacy_io);
    pc->legacy_io = NULL;
    if (pc->rtc_timer >= 0)
        close(pc->rtc_timer);
    pc->rtc_timer = -1;
}
