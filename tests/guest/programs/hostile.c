/*
 * hostile.c - a hostile guest for the vmmkit guest tests (issue 6, part 1).
 *
 *   hostile pci|mmio [SEED]
 *
 * With no virtio driver bound (it unbinds virtio-pci or virtio-mmio itself,
 * so the program may first be read from a virtio disk), it drives every
 * virtio device of the chosen transport directly: virtio-pci functions
 * through BAR 0 (sysfs resource0) and their config space (sysfs config),
 * virtio-mmio windows through /dev/mem.  Rings live in locked anonymous
 * memory whose physical addresses come from /proc/self/pagemap; every ring
 * and buffer lies within one page, so nothing needs physically contiguous
 * memory.  Also pokes the PCI ECAM and the PL011 UART through /dev/mem
 * (the guest kernel needs iomem=relaxed for the claimed ones).
 *
 * Each scenario (the table at the end) breaks the virtio protocol or the
 * register rules in one named way.  After each run on a device the program
 * resets the device and checks that it still works (rng: random bytes;
 * blk: on a read-only disk sector 2 reads as at the start and holds the
 * ext2 magic, on a writable one a pattern written to sector 8 reads back;
 * net: a frame is sent; console: a byte is sent; cross-VM channel: its
 * event page answers), and that every other device does too.  A bus error the guest takes (SIGBUS)
 * counts as the VMM refusing the access, not as a failure.
 *
 * Prints one line per scenario, then "hostile: N scenarios, R runs, F
 * failed" and "hostile: ok" when nothing failed; exits 0 then.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096u
#define POOL_PAGES 512u
#define MAX_DEVS 16
#define MAX_QUEUES 8
#define QSIZE 64u /* the size the good path uses (fits a page) */

/* Board layout (include/vmmkit/arm64_virt.h). */
#define RAM_BASE 0x40000000ull
#define UART_BASE 0x09000000ull
#define GIC_BASE 0x08000000ull
#define VMMIO_BASE 0x0a000000ull
#define VMMIO_STRIDE 0x200u
#define VMMIO_MAX 32u
#define ECAM_BASE 0x3f000000ull
#define FREE_BASE 0x0c000000ull
#define RAM_END (RAM_BASE + (256ull << 20)) /* the test boots with --mem 256M */

/* virtio 1.2 */
#define ST_ACK 1u
#define ST_DRIVER 2u
#define ST_DRIVER_OK 4u
#define ST_FEATURES_OK 8u
#define ST_NEEDS_RESET 0x40u
#define ST_FAILED 0x80u
#define F_VERSION_1 (1ull << 32)
#define D_NEXT 1u
#define D_WRITE 2u
#define D_INDIRECT 4u

#define ID_NET 1u
#define ID_BLK 2u
#define ID_CONSOLE 3u
#define ID_RNG 4u
#define ID_CROSSVM 0xa111u /* PCI device ID of the cross-VM channel */

/* virtio-mmio registers (4.2.2) */
enum {
    M_MAGIC = 0x000,
    M_VERSION = 0x004,
    M_DEVID = 0x008,
    M_VENDOR = 0x00c,
    M_DF = 0x010,
    M_DFSEL = 0x014,
    M_GF = 0x020,
    M_GFSEL = 0x024,
    M_QSEL = 0x030,
    M_QMAX = 0x034,
    M_QNUM = 0x038,
    M_QREADY = 0x044,
    M_NOTIFY = 0x050,
    M_ISR = 0x060,
    M_ACK = 0x064,
    M_STATUS = 0x070,
    M_DESC = 0x080,
    M_DRIVER = 0x090,
    M_DEVICE = 0x0a0,
    M_SHMSEL = 0x0ac,
    M_QRESET = 0x0c0,
    M_CFGGEN = 0x0fc,
    M_CONFIG = 0x100,
};
/* virtio-pci common configuration (4.1.4.3) */
enum {
    C_DFSEL = 0x00,
    C_DF = 0x04,
    C_GFSEL = 0x08,
    C_GF = 0x0c,
    C_MSIX = 0x10,
    C_NUMQ = 0x12,
    C_STATUS = 0x14,
    C_CFGGEN = 0x15,
    C_QSEL = 0x16,
    C_QSIZE = 0x18,
    C_QMSIX = 0x1a,
    C_QENABLE = 0x1c,
    C_QNOFF = 0x1e,
    C_QDESC = 0x20,
    C_QDRIVER = 0x28,
    C_QDEVICE = 0x30,
};

struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct vq {
    uint16_t size;
    volatile struct desc *desc;
    volatile uint16_t *avail; /* flags, idx, ring[] */
    volatile uint8_t *used;   /* flags, idx, ring[] of {id, len} */
    uint64_t desc_pa, avail_pa, used_pa;
    uint16_t avail_idx, used_seen, next_desc;
};

enum transport { T_MMIO, T_PCI };

struct dev {
    enum transport t;
    char name[48];
    uint32_t id;
    /* virtio-mmio */
    volatile uint8_t *regs;
    uint64_t phys;
    /* PCI */
    char sysfs[128];
    int cfgfd;
    volatile uint8_t *bar;
    size_t barlen;
    uint64_t bar_phys;
    volatile uint8_t *common, *isr, *dcfg, *notify;
    uint32_t notify_mult, dcfg_len;
    int msix_cap, pcicfg_cap;
    /* virtio */
    uint64_t features;
    unsigned int nq;
    struct vq q[MAX_QUEUES];
    bool have_ref;
    uint8_t ref[512];
};

static struct dev devs[MAX_DEVS];
static unsigned int ndevs;
static enum transport mode;
static int memfd = -1;
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* ---- output, PRNG ---- */

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

static uint64_t rnd(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static void sleep_ms(unsigned int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- bus errors: the VMM may refuse an access with an external abort ---- */

static sigjmp_buf bus_jmp;
static volatile sig_atomic_t bus_armed;
static unsigned long bus_errors;

static void on_bus(int sig)
{
    if (bus_armed)
        siglongjmp(bus_jmp, sig);
    static const char msg[] = "hostile: unexpected bus error outside a scenario\n";
    if (write(1, msg, sizeof(msg) - 1) < 0)
        _exit(3);
    _exit(3);
}

/* ---- device accesses of an exact width ---- */

static uint64_t rd(volatile void *p, unsigned int w)
{
    switch (w) {
    case 1:
        return *(volatile uint8_t *)p;
    case 2:
        return *(volatile uint16_t *)p;
    case 4:
        return *(volatile uint32_t *)p;
    default:
        return *(volatile uint64_t *)p;
    }
}

static void wr(volatile void *p, unsigned int w, uint64_t v)
{
    switch (w) {
    case 1:
        *(volatile uint8_t *)p = (uint8_t)v;
        break;
    case 2:
        *(volatile uint16_t *)p = (uint16_t)v;
        break;
    case 4:
        *(volatile uint32_t *)p = (uint32_t)v;
        break;
    default:
        *(volatile uint64_t *)p = v;
        break;
    }
}

/* An access that may take a bus error: counted, and the caller goes on. */
static uint64_t pacc(volatile void *p, unsigned int w, bool write, uint64_t v)
{
    sigjmp_buf saved;
    sig_atomic_t armed = bus_armed;
    memcpy(saved, bus_jmp, sizeof(saved));
    bus_armed = 1;
    if (!sigsetjmp(bus_jmp, 1)) {
        if (write)
            wr(p, w, v);
        else
            v = rd(p, w);
    } else {
        if (++bus_errors <= 5)
            say("hostile: bus error on a %u-byte %s at %p\n", w, write ? "write" : "read",
                (void *)p);
        v = ~0ull;
    }
    memcpy(bus_jmp, saved, sizeof(saved));
    bus_armed = armed;
    return v;
}

static uint64_t prd(volatile void *p, unsigned int w)
{
    return pacc(p, w, false, 0);
}

static void pwr(volatile void *p, unsigned int w, uint64_t v)
{
    pacc(p, w, true, v);
}

static void mb(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* ---- DMA pool: locked pages with known physical addresses ---- */

static uint8_t *pool;
static uint64_t pool_pa[POOL_PAGES];
static unsigned int pool_next;

static int pool_init(void)
{
    pool =
        mmap(NULL, POOL_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pool == MAP_FAILED || mlock(pool, POOL_PAGES * PAGE) < 0) {
        perror("hostile: pool");
        return -1;
    }
    memset(pool, 0, POOL_PAGES * PAGE);
    int fd = open("/proc/self/pagemap", O_RDONLY);
    if (fd < 0) {
        perror("hostile: pagemap");
        return -1;
    }
    for (unsigned int i = 0; i < POOL_PAGES; i++) {
        uint64_t e;
        off_t off = (off_t)(((uintptr_t)pool / PAGE + i) * 8);
        if (pread(fd, &e, 8, off) != 8 || !(e >> 63) || !(e & ((1ull << 55) - 1))) {
            fprintf(stderr, "hostile: no physical address for page %u\n", i);
            close(fd);
            return -1;
        }
        pool_pa[i] = (e & ((1ull << 55) - 1)) * PAGE;
    }
    close(fd);
    return 0;
}

/* A zeroed page of the pool; *pa its guest-physical address. */
static void *page_alloc(uint64_t *pa)
{
    if (pool_next >= POOL_PAGES) {
        say("hostile: the DMA pool ran out\n");
        exit(4);
    }
    unsigned int i = pool_next++;
    memset(pool + (size_t)i * PAGE, 0, PAGE);
    *pa = pool_pa[i];
    return pool + (size_t)i * PAGE;
}

/* ---- transport operations ---- */

static void sel_feat(struct dev *d, unsigned int w)
{
    if (d->t == T_MMIO)
        wr(d->regs + M_DFSEL, 4, w);
    else
        wr(d->common + C_DFSEL, 4, w);
}

static uint64_t dev_features(struct dev *d)
{
    uint64_t f = 0;
    for (unsigned int w = 0; w < 2; w++) {
        sel_feat(d, w);
        f |= rd(d->t == T_MMIO ? d->regs + M_DF : d->common + C_DF, 4) << (32 * w);
    }
    return f;
}

static void set_features(struct dev *d, uint64_t f)
{
    for (unsigned int w = 0; w < 2; w++) {
        if (d->t == T_MMIO) {
            wr(d->regs + M_GFSEL, 4, w);
            wr(d->regs + M_GF, 4, (uint32_t)(f >> (32 * w)));
        } else {
            wr(d->common + C_GFSEL, 4, w);
            wr(d->common + C_GF, 4, (uint32_t)(f >> (32 * w)));
        }
    }
}

static uint8_t get_status(struct dev *d)
{
    return (uint8_t)(d->t == T_MMIO ? rd(d->regs + M_STATUS, 4) : rd(d->common + C_STATUS, 1));
}

static void set_status(struct dev *d, uint8_t s)
{
    if (d->t == T_MMIO)
        wr(d->regs + M_STATUS, 4, s);
    else
        wr(d->common + C_STATUS, 1, s);
}

static void q_select(struct dev *d, uint16_t q)
{
    if (d->t == T_MMIO)
        wr(d->regs + M_QSEL, 4, q);
    else
        wr(d->common + C_QSEL, 2, q);
}

/* The selected queue's maximum size (PCI: queue_size right after reset). */
static uint16_t q_max(struct dev *d)
{
    return (uint16_t)(d->t == T_MMIO ? rd(d->regs + M_QMAX, 4) : rd(d->common + C_QSIZE, 2));
}

static void q_num(struct dev *d, uint32_t n)
{
    if (d->t == T_MMIO)
        wr(d->regs + M_QNUM, 4, n);
    else
        wr(d->common + C_QSIZE, 2, n);
}

static void q_ready(struct dev *d, uint32_t v)
{
    if (d->t == T_MMIO)
        wr(d->regs + M_QREADY, 4, v);
    else
        wr(d->common + C_QENABLE, 2, v);
}

static void q_addrs(struct dev *d, uint64_t desc, uint64_t avail, uint64_t used)
{
    uint64_t a[3] = {desc, avail, used};
    for (unsigned int i = 0; i < 3; i++) {
        volatile uint8_t *p =
            d->t == T_MMIO ? d->regs + M_DESC + 0x10 * i : d->common + C_QDESC + 8 * i;
        wr(p, 4, (uint32_t)a[i]);
        wr(p + 4, 4, (uint32_t)(a[i] >> 32));
    }
}

static void notify(struct dev *d, uint16_t q)
{
    mb();
    if (d->t == T_MMIO) {
        wr(d->regs + M_NOTIFY, 4, q);
    } else {
        q_select(d, q);
        uint16_t off = (uint16_t)rd(d->common + C_QNOFF, 2);
        uint64_t o = (uint64_t)off * d->notify_mult;
        if (o + 2 <= d->barlen - (uint64_t)(d->notify - d->bar))
            wr(d->notify + o, 2, q);
        else
            wr(d->notify, 2, q);
    }
}

/* The device configuration; on PCI without a DEVICE_CFG capability (rng), where it would be. */
static volatile uint8_t *dcfg(struct dev *d)
{
    if (d->t == T_MMIO)
        return d->regs + M_CONFIG;
    return d->dcfg ? d->dcfg : d->bar + 0x2000;
}

static uint32_t dcfg_len(struct dev *d)
{
    return d->t == T_MMIO ? 0x100u : d->dcfg_len;
}

static unsigned int nq_total(struct dev *d)
{
    if (d->t == T_PCI)
        return (unsigned int)rd(d->common + C_NUMQ, 2);
    unsigned int n = 0;
    for (n = 0; n < 64; n++) {
        q_select(d, (uint16_t)n);
        if (!q_max(d))
            break;
    }
    return n;
}

/* Status 0 and wait (4.2.3.1, 4.1.4.3: the reset is done when 0 reads back). */
static int dev_reset(struct dev *d)
{
    set_status(d, 0);
    for (int i = 0; i < 1000; i++) {
        if (get_status(d) == 0)
            return 0;
        sleep_ms(1);
    }
    return -1;
}

/* ---- queues ---- */

static uint16_t *avail_ring(struct vq *q)
{
    return (uint16_t *)(q->avail + 2);
}

static uint16_t used_idx(struct vq *q)
{
    mb();
    return *(volatile uint16_t *)(q->used + 2);
}

static uint32_t used_len(struct vq *q, uint16_t slot)
{
    return *(volatile uint32_t *)(q->used + 4 + 8u * (slot % q->size) + 4);
}

/* Fresh rings (from the pool) for queue @qi of size @size, not yet given to the device. */
static struct vq *vq_alloc(struct dev *d, unsigned int qi, uint16_t size)
{
    struct vq *q = &d->q[qi];
    memset(q, 0, sizeof(*q));
    q->size = size;
    q->desc = page_alloc(&q->desc_pa);
    q->avail = page_alloc(&q->avail_pa);
    q->used = page_alloc(&q->used_pa);
    return q;
}

/* Set queue @qi up with fresh rings of @size (clamped to the device's maximum). */
static int vq_setup(struct dev *d, unsigned int qi, uint16_t size)
{
    q_select(d, (uint16_t)qi);
    uint16_t max = q_max(d);
    if (!max)
        return -1;
    if (size > max)
        size = max;
    struct vq *q = vq_alloc(d, qi, size);
    q_num(d, size);
    q_addrs(d, q->desc_pa, q->avail_pa, q->used_pa);
    q_ready(d, 1);
    return 0;
}

/* Make the chain @bufs (pa, len, writable) available on @q and kick queue @qi. */
struct buf {
    uint64_t pa;
    uint32_t len;
    bool w;
};

static uint16_t vq_post(struct vq *q, const struct buf *b, unsigned int n)
{
    uint16_t head = q->next_desc;
    for (unsigned int i = 0; i < n; i++) {
        uint16_t di = (uint16_t)((head + i) % q->size);
        q->desc[di].addr = b[i].pa;
        q->desc[di].len = b[i].len;
        q->desc[di].flags = (uint16_t)((b[i].w ? D_WRITE : 0) | (i + 1 < n ? D_NEXT : 0));
        q->desc[di].next = (uint16_t)((di + 1) % q->size);
    }
    q->next_desc = (uint16_t)((head + n) % q->size);
    avail_ring(q)[q->avail_idx % q->size] = head;
    mb();
    q->avail_idx++;
    q->avail[1] = q->avail_idx;
    mb();
    return head;
}

/* Raw ring writes for the scenarios. */
static void set_desc(struct vq *q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
                     uint16_t next)
{
    volatile struct desc *dd = &q->desc[i % q->size];
    dd->addr = addr;
    dd->len = len;
    dd->flags = flags;
    dd->next = next;
}

static void avail_push(struct vq *q, uint16_t head)
{
    avail_ring(q)[q->avail_idx % q->size] = head;
    mb();
    q->avail_idx++;
    q->avail[1] = q->avail_idx;
    mb();
}

/* Wait for the device to use one more buffer: its written length, or -1 after @ms. */
static long vq_wait(struct vq *q, unsigned int ms)
{
    for (unsigned int t = 0; t <= ms; t++) {
        uint16_t u = used_idx(q);
        if (u != q->used_seen) {
            uint32_t len = used_len(q, q->used_seen);
            q->used_seen++;
            return len;
        }
        sleep_ms(1);
    }
    return -1;
}

/* ---- bringing a device up ---- */

/* Features the good path asks for, per device (all offered bits it copes with). */
static uint64_t good_features(struct dev *d)
{
    uint64_t want = F_VERSION_1 | (1ull << 28) | (1ull << 29); /* INDIRECT_DESC, EVENT_IDX */
    if (d->id == ID_NET)
        want |= (1ull << 5) | (1ull << 17); /* MAC, CTRL_VQ */
    if (d->id == ID_CONSOLE)
        want |= (1ull << 1); /* MULTIPORT */
    if (d->id == ID_BLK)
        want |= (1ull << 1) | (1ull << 2) | (1ull << 5) | (1ull << 6) | (1ull << 9) | (1ull << 13) |
                (1ull << 14); /* SIZE_MAX, SEG_MAX, RO, BLK_SIZE, FLUSH, DISCARD, WRITE_ZEROES */
    return d->features & want;
}

/* Reset, negotiate @feat, set up @nq queues of QSIZE; DRIVER_OK when @ok. */
static int dev_init_feat(struct dev *d, uint64_t feat, unsigned int nq, bool ok)
{
    if (dev_reset(d) < 0)
        return -1;
    set_status(d, ST_ACK);
    set_status(d, ST_ACK | ST_DRIVER);
    d->features = dev_features(d);
    set_features(d, feat & d->features);
    set_status(d, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
    if (!(get_status(d) & ST_FEATURES_OK))
        return -2;
    for (unsigned int i = 0; i < nq && i < MAX_QUEUES; i++)
        if (vq_setup(d, i, QSIZE) < 0)
            return -3;
    if (ok)
        set_status(d, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
    return 0;
}

static int dev_init(struct dev *d)
{
    return dev_init_feat(d, good_features(d), d->nq, true);
}

/* ---- one good request per device: is it still alive? ---- */

static int blk_req(struct dev *d, uint32_t type, uint64_t sector, uint8_t *data, uint32_t dlen,
                   uint8_t *status)
{
    uint64_t hpa, dpa, spa;
    uint8_t *h = page_alloc(&hpa);
    uint8_t *buf = page_alloc(&dpa);
    uint8_t *st = page_alloc(&spa);
    *(uint32_t *)h = type;
    *(uint64_t *)(h + 8) = sector;
    *st = 0xee;
    bool out = type == 1;
    if (out)
        memcpy(buf, data, dlen);
    struct buf b[3] = {{hpa, 16, false}, {dpa, dlen, !out}, {spa, 1, true}};
    vq_post(&d->q[0], b, 3);
    notify(d, 0);
    if (vq_wait(&d->q[0], 3000) < 0)
        return -1;
    if (data && !out)
        memcpy(data, buf, dlen);
    *status = *st;
    return 0;
}

static int check_dev(struct dev *d, char *why, size_t whylen)
{
    if (d->id == ID_CROSSVM) {
        /* the event page still answers: ABI version 1, a name */
        uint32_t v = (uint32_t)rd(d->bar + 0x38, 4);
        if (v != 1 || !rd(d->bar + 8, 1)) {
            snprintf(why, whylen, "crossvm: version %#x, name byte %#x", v,
                     (unsigned int)rd(d->bar + 8, 1));
            return -1;
        }
        return 0;
    }
    unsigned int mark = pool_next;
    int r = dev_init(d);
    if (r < 0) {
        snprintf(why, whylen, "re-initialisation failed (%d, status %#x)", r, get_status(d));
        goto out;
    }
    r = -1;
    switch (d->id) {
    case ID_RNG: {
        uint64_t pa;
        uint8_t *b = page_alloc(&pa);
        vq_post(&d->q[0], &(struct buf){pa, 64, true}, 1);
        notify(d, 0);
        long n = vq_wait(&d->q[0], 3000);
        bool any = false;
        for (int i = 0; i < 64; i++)
            any |= b[i] != 0;
        if (n <= 0 || !any)
            snprintf(why, whylen, "rng: used length %ld, %s", n, any ? "bytes" : "no bytes");
        else
            r = 0;
        break;
    }
    case ID_BLK: {
        uint8_t data[512], st = 0;
        if (!(d->features & (1ull << 5))) {
            /* a writable disk: a pattern written to sector 8 reads back */
            static uint8_t round;
            uint8_t pat[512];
            round++;
            for (int i = 0; i < 512; i++)
                pat[i] = (uint8_t)(i * 7 + round);
            if (blk_req(d, 1, 8, pat, 512, &st) < 0 || st != 0) {
                snprintf(why, whylen, "blk: write of sector 8: status %u", st);
            } else if (blk_req(d, 0, 8, data, 512, &st) < 0 || st != 0) {
                snprintf(why, whylen, "blk: read of sector 8: status %u", st);
            } else if (memcmp(pat, data, 512) != 0) {
                snprintf(why, whylen, "blk: sector 8 does not read back as written");
            } else {
                r = 0;
            }
            break;
        }
        if (blk_req(d, 0, 2, data, 512, &st) < 0) {
            snprintf(why, whylen, "blk: read of sector 2 never completed");
        } else if (st != 0) {
            snprintf(why, whylen, "blk: read of sector 2: status %u", st);
        } else if (!d->have_ref) {
            if (data[56] != 0x53 || data[57] != 0xef) {
                snprintf(why, whylen, "blk: sector 2 lacks the ext2 magic");
            } else {
                memcpy(d->ref, data, 512);
                d->have_ref = true;
                r = 0;
            }
        } else if (memcmp(d->ref, data, 512) != 0) {
            snprintf(why, whylen, "blk: sector 2 reads differently");
        } else {
            r = 0;
        }
        break;
    }
    case ID_NET: {
        uint64_t pa;
        uint8_t *f = page_alloc(&pa);
        /* 12-byte header (all zero), then a broadcast frame of an unused ethertype. */
        memset(f + 12, 0xff, 6);
        memcpy(f + 18, "\x52\x54\x00\x12\x34\x99", 6);
        f[24] = 0x88;
        f[25] = 0xb5;
        memcpy(f + 26, "vmmkit hostile", 14);
        vq_post(&d->q[1], &(struct buf){pa, 12 + 60, false}, 1);
        notify(d, 1);
        if (vq_wait(&d->q[1], 3000) < 0)
            snprintf(why, whylen, "net: a transmitted frame never completed");
        else
            r = 0;
        break;
    }
    case ID_CONSOLE: {
        uint64_t pa;
        uint8_t *b = page_alloc(&pa);
        memcpy(b, "~", 1);
        vq_post(&d->q[1], &(struct buf){pa, 1, false}, 1);
        notify(d, 1);
        if (vq_wait(&d->q[1], 3000) < 0)
            snprintf(why, whylen, "console: output never completed");
        else
            r = 0;
        break;
    }
    default:
        r = 0;
    }
out:
    dev_reset(d);
    pool_next = mark;
    return r;
}

/* ---- discovery ---- */

static int write_file(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, s, strlen(s));
    close(fd);
    return n == (ssize_t)strlen(s) ? 0 : -1;
}

static uint64_t read_hex_file(const char *path)
{
    char buf[64] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    return strtoull(buf, NULL, 16);
}

static int cfg_read(struct dev *d, unsigned int off, void *v, size_t n)
{
    return pread(d->cfgfd, v, n, off) == (ssize_t)n ? 0 : -1;
}

static int cfg_write(struct dev *d, unsigned int off, const void *v, size_t n)
{
    return pwrite(d->cfgfd, v, n, off) == (ssize_t)n ? 0 : -1;
}

static uint32_t cfg32(struct dev *d, unsigned int off)
{
    uint32_t v = 0xffffffff;
    cfg_read(d, off, &v, 4);
    return v;
}

static void set_nq(struct dev *d)
{
    switch (d->id) {
    case ID_NET:
        d->nq = (d->features & (1ull << 17)) ? 3 : 2;
        break;
    case ID_CONSOLE:
        d->nq = (d->features & (1ull << 1)) ? 4 : 2;
        break;
    default:
        d->nq = 1;
    }
}

static void probe_pci(void)
{
    DIR *dir = opendir("/sys/bus/pci/devices");
    struct dirent *e;
    if (!dir)
        return;
    while ((e = readdir(dir)) && ndevs < MAX_DEVS) {
        if (e->d_name[0] == '.')
            continue;
        char p[512];
        snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/vendor", e->d_name);
        if (read_hex_file(p) != 0x1af4)
            continue;
        snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/device", e->d_name);
        uint32_t did = (uint32_t)read_hex_file(p);
        struct dev *d = &devs[ndevs];
        memset(d, 0, sizeof(*d));
        d->t = T_PCI;
        if (did == ID_CROSSVM)
            d->id = ID_CROSSVM;
        else if (did > 0x1040 && did < 0x107f)
            d->id = did - 0x1040;
        else
            continue;
        snprintf(d->sysfs, sizeof(d->sysfs), "/sys/bus/pci/devices/%.64s", e->d_name);
        snprintf(p, sizeof(p), "%s/driver/unbind", d->sysfs);
        write_file(p, e->d_name); /* no driver: nothing to do */
        snprintf(p, sizeof(p), "%s/enable", d->sysfs);
        write_file(p, "1");
        snprintf(p, sizeof(p), "%s/config", d->sysfs);
        d->cfgfd = open(p, O_RDWR);
        if (d->cfgfd < 0)
            continue;
        /* memory decoding and bus mastering on */
        uint16_t cmd = 0;
        cfg_read(d, 4, &cmd, 2);
        cmd |= 6;
        cfg_write(d, 4, &cmd, 2);
        snprintf(p, sizeof(p), "%s/resource0", d->sysfs);
        int fd = open(p, O_RDWR | O_SYNC);
        struct stat sb;
        if (fd < 0 || fstat(fd, &sb) < 0 || !sb.st_size) {
            say("hostile: %s: no BAR 0\n", e->d_name);
            continue;
        }
        d->barlen = (size_t)sb.st_size;
        d->bar = mmap(NULL, d->barlen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        if (d->bar == MAP_FAILED) {
            say("hostile: %s: cannot map BAR 0: %s\n", e->d_name, strerror(errno));
            continue;
        }
        snprintf(p, sizeof(p), "%s/resource", d->sysfs);
        d->bar_phys = read_hex_file(p);
        snprintf(d->name, sizeof(d->name), "pci %.30s", e->d_name);
        if (d->id == ID_CROSSVM) {
            snprintf(d->name, sizeof(d->name), "pci %.20s (crossvm)", e->d_name);
            uint8_t ptr = (uint8_t)(cfg32(d, 0x34) & 0xfc);
            for (int guard = 0; ptr && guard < 48; guard++) {
                uint8_t cap[4] = {0};
                cfg_read(d, ptr, cap, sizeof(cap));
                if (cap[0] == 0x11)
                    d->msix_cap = ptr;
                ptr = cap[1] & 0xfc;
            }
            ndevs++;
            continue;
        }
        /* the vendor capabilities (4.1.4) */
        uint8_t ptr = (uint8_t)(cfg32(d, 0x34) & 0xfc);
        for (int guard = 0; ptr && guard < 48; guard++) {
            uint8_t cap[20] = {0};
            cfg_read(d, ptr, cap, sizeof(cap));
            if (cap[0] == 0x11)
                d->msix_cap = ptr;
            if (cap[0] == 0x09) {
                uint32_t off, len;
                memcpy(&off, cap + 8, 4);
                memcpy(&len, cap + 12, 4);
                if (cap[3] == 5)
                    d->pcicfg_cap = ptr;
                if (cap[4] == 0 && off < d->barlen) {
                    volatile uint8_t *at = d->bar + off;
                    if (cap[3] == 1)
                        d->common = at;
                    else if (cap[3] == 2) {
                        d->notify = at;
                        memcpy(&d->notify_mult, cap + 16, 4);
                    } else if (cap[3] == 3)
                        d->isr = at;
                    else if (cap[3] == 4) {
                        d->dcfg = at;
                        d->dcfg_len = len;
                    }
                }
            }
            ptr = cap[1] & 0xfc;
        }
        if (!d->common || !d->notify || !d->isr) {
            say("hostile: %s: missing virtio capabilities\n", d->name);
            continue;
        }
        snprintf(d->name, sizeof(d->name), "pci %.20s (virtio %u)", e->d_name, d->id);
        d->features = dev_features(d);
        set_nq(d);
        ndevs++;
    }
    closedir(dir);
}

static volatile uint8_t *map_phys(uint64_t pa, size_t len)
{
    uint64_t base = pa & ~(uint64_t)(PAGE - 1);
    size_t l = (size_t)(pa - base + len + PAGE - 1) & ~(size_t)(PAGE - 1);
    void *m = mmap(NULL, l, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, (off_t)base);
    if (m == MAP_FAILED)
        return NULL;
    return (volatile uint8_t *)m + (pa - base);
}

static void probe_mmio(void)
{
    DIR *dir = opendir("/sys/bus/platform/devices");
    struct dirent *e;
    if (!dir)
        return;
    while ((e = readdir(dir)) && ndevs < MAX_DEVS) {
        if (!strstr(e->d_name, ".virtio_mmio"))
            continue;
        char p[512];
        snprintf(p, sizeof(p), "/sys/bus/platform/devices/%s/driver/unbind", e->d_name);
        write_file(p, e->d_name);
        uint64_t pa = strtoull(e->d_name, NULL, 16);
        struct dev *d = &devs[ndevs];
        memset(d, 0, sizeof(*d));
        d->t = T_MMIO;
        d->phys = pa;
        d->regs = map_phys(pa, VMMIO_STRIDE);
        if (!d->regs) {
            say("hostile: cannot map %s: %s\n", e->d_name, strerror(errno));
            continue;
        }
        if (rd(d->regs + M_MAGIC, 4) != 0x74726976 || rd(d->regs + M_VERSION, 4) != 2)
            continue;
        d->id = (uint32_t)rd(d->regs + M_DEVID, 4);
        if (!d->id)
            continue;
        snprintf(d->name, sizeof(d->name), "mmio %#" PRIx64 " (virtio %u)", pa, d->id);
        d->features = dev_features(d);
        set_nq(d);
        ndevs++;
    }
    closedir(dir);
    /* cross-VM channel ends: "vmmkit,crossvm" nodes, crossvm@EVENT_PAGE */
    dir = opendir("/proc/device-tree");
    if (!dir)
        return;
    while ((e = readdir(dir)) && ndevs < MAX_DEVS) {
        if (strncmp(e->d_name, "crossvm@", 8) != 0)
            continue;
        struct dev *d = &devs[ndevs];
        memset(d, 0, sizeof(*d));
        d->t = T_MMIO;
        d->id = ID_CROSSVM;
        d->phys = strtoull(e->d_name + 8, NULL, 16);
        d->bar = map_phys(d->phys, PAGE);
        d->barlen = PAGE;
        if (!d->bar)
            continue;
        snprintf(d->name, sizeof(d->name), "mmio %#" PRIx64 " (crossvm)", d->phys);
        ndevs++;
    }
    closedir(dir);
}

/* ======================================================================
 * Scenarios.  Each gets a device already reset and a fresh pool; it may
 * leave the device in any state.  Returns 0, or 1 when it does not apply.
 * ====================================================================== */

#define NOT_APPLICABLE 1

/* The queue a scenario breaks: the one the device reads requests from. */
static unsigned int work_queue(struct dev *d)
{
    return (d->id == ID_NET || d->id == ID_CONSOLE) ? 1 : 0;
}

static struct vq *up_work(struct dev *d, unsigned int *qi)
{
    if (dev_init(d) < 0)
        return NULL;
    *qi = work_queue(d);
    return &d->q[*qi];
}

/* A readable-or-writable plain buffer in the pool, for chains that must look sane. */
static uint64_t scratch(void)
{
    uint64_t pa;
    page_alloc(&pa);
    return pa;
}

/* The flags a data buffer of this device's work queue wants. */
static uint16_t data_flags(struct dev *d)
{
    return (d->id == ID_RNG || d->id == ID_BLK) ? D_WRITE : 0;
}

/* Post a single-descriptor chain (addr, len, flags) on the work queue and kick. */
static void kick_one(struct dev *d, struct vq *q, unsigned int qi, uint64_t addr, uint32_t len,
                     uint16_t flags)
{
    uint16_t h = q->next_desc;
    set_desc(q, h, addr, len, flags, 0);
    q->next_desc = (uint16_t)((h + 1) % q->size);
    avail_push(q, h);
    notify(d, (uint16_t)qi);
    sleep_ms(20);
}

static int sc_desc_self_loop(struct dev *d)
{
    unsigned int qi;
    struct vq *q = up_work(d, &qi);
    if (!q)
        return -1;
    set_desc(q, 0, scratch(), 64, (uint16_t)(data_flags(d) | D_NEXT), 0);
    avail_push(q, 0);
    notify(d, (uint16_t)qi);
    sleep_ms(30);
    return 0;
}

static int sc_desc_loop_back(struct dev *d)
{
    unsigned int qi;
    struct vq *q = up_work(d, &qi);
    if (!q)
        return -1;
    uint64_t pa = scratch();
    for (uint16_t i = 0; i < 3; i++)
        set_desc(q, i, pa + 64u * i, 64, (uint16_t)(data_flags(d) | D_NEXT),
                 (uint16_t)((i + 1) % 3));
    avail_push(q, 0);
    notify(d, (uint16_t)qi);
    sleep_ms(30);
    return 0;
}

static int sc_chain_longer_than_queue(struct dev *d)
{
    unsigned int qi;
    struct vq *q = up_work(d, &qi);
    if (!q)
        return -1;
    uint64_t pa = scratch();
    /* every descriptor chained to the next, the last back to the first */
    for (uint16_t i = 0; i < q->size; i++)
        set_desc(q, i, pa + 16u * (i % 64), 16, (uint16_t)(data_flags(d) | D_NEXT),
                 (uint16_t)((i + 1) % q->size));
    avail_push(q, 5);
    notify(d, (uint16_t)qi);
    sleep_ms(30);
    return 0;
}

static int sc_desc_next_out_of_range(struct dev *d)
{
    unsigned int qi;
    struct vq *q = up_work(d, &qi);
    if (!q)
        return -1;
    uint64_t pa = scratch();
    set_desc(q, 0, pa, 64, (uint16_t)(data_flags(d) | D_NEXT), 0xffff);
    set_desc(q, 1, pa, 64, (uint16_t)(data_flags(d) | D_NEXT), q->size);
    avail_push(q, 0);
    avail_push(q, 1);
    notify(d, (uint16_t)qi);
    sleep_ms(30);
    return 0;
}

static int sc_avail_head_out_of_range(struct dev *d)
{
    unsigned int qi;
    struct vq *q = up_work(d, &qi);
    if (!q)
        return -1;
    avail_push(q, q->size);
    avail_push(q, 0xffff);
    avail_push(q, 0x8000);
    notify(d, (uint16_t)qi);
    sleep_ms(30);
    return 0;
}

static int sc_addr_beyond_ram(struct dev *d)
{
    unsigned int qi;
    struct vq *q = up_work(d, &qi);
    if (!q)
        return -1;
    kick_one(d, q, qi, 0x4000000000ull, 512, data_flags(d));
    kick_one(d, q, qi, RAM_END - 16, 512, data_flags(d));   /* straddles the end */
    kick_one(d, q, qi, RAM_BASE - 256, 512, data_flags(d)); /* straddles the start */
    kick_one(d, q, qi, 0, 64, data_flags(d));
    return 0;
}

static int sc_addr_in_mmio(struct dev *d)
{
    unsigned int qi;
    struct vq *q = up_work(d, &qi);
    if (!q)
        return -1;
    kick_one(d, q, qi, UART_BASE, 64, data_flags(d));
    kick_one(d, q, qi, GIC_BASE, 64, data_flags(d));
    kick_one(d, q, qi, VMMIO_BASE, 512, data_flags(d));
    kick_one(d, q, qi, ECAM_BASE, 512, data_flags(d));
    if (d->t == T_PCI)
        kick_one(d, q, qi, d->bar_phys, 64, data_flags(d));
    return 0;
}

static int sc_addr_wraps(struct dev *d)
{
    unsigned int qi;
    struct vq *q = up_work(d, &qi);
    if (!q)
        return -1;
    kick_one(d, q, qi, 0xfffffffffffff000ull, 0x2000, data_flags(d));
    kick_one(d, q, qi, 0xffffffffffffffffull, 1, data_flags(d));
    kick_one(d, q, qi, scratch() | 0xffffffff00000000ull, 64, data_flags(d));
    return 0;
}

static int sc_len_huge(struct dev *d)
{
    unsigned int qi;
    struct vq *q = up_work(d, &qi);
    if (!q)
        return -1;
    kick_one(d, q, qi, scratch(), 0xffffffffu, data_flags(d));
    kick_one(d, q, qi, scratch(), 0x80000000u, data_flags(d));
    /* many descriptors whose lengths add up past 4 GiB */
    uint64_t pa = scratch();
    for (uint16_t i = 0; i < 8; i++)
        set_desc(q, i, pa, 0x7fffffff, (uint16_t)(data_flags(d) | (i < 7 ? D_NEXT : 0)),
                 (uint16_t)(i + 1));
    avail_push(q, 0);
    notify(d, (uint16_t)qi);
    sleep_ms(30);
    return 0;
}

static int sc_len_zero(struct dev *d)
{
    unsigned int qi;
    struct vq *q = up_work(d, &qi);
    if (!q)
        return -1;
    kick_one(d, q, qi, scratch(), 0, data_flags(d));
    kick_one(d, q, qi, 0, 0, data_flags(d));
    uint64_t pa = scratch();
    for (uint16_t i = 0; i < 5; i++)
        set_desc(q, (uint16_t)(10 + i), pa, 0, (uint16_t)(data_flags(d) | (i < 4 ? D_NEXT : 0)),
                 (uint16_t)(11 + i));
    avail_push(q, 10);
    notify(d, (uint16_t)qi);
    sleep_ms(30);
    return 0;
}

static int sc_indirect_in_indirect(struct dev *d)
{
    unsigned int qi;
    struct vq *q = up_work(d, &qi);
    if (!q)
        return -1;
    uint64_t t1pa, t2pa;
    struct desc *t1 = page_alloc(&t1pa);
    struct desc *t2 = page_alloc(&t2pa);
    t1[0] = (struct desc){t2pa, 32, D_INDIRECT, 0};
    t2[0] = (struct desc){t1pa, 16, D_INDIRECT, 0};
    t2[1] = (struct desc){scratch(), 64, data_flags(d), 0};
    set_desc(q, 0, t1pa, 16, D_INDIRECT, 0);
    avail_push(q, 0);
    /* and a table pointing at itself */
    t1[1] = (struct desc){t1pa + 16, 16, D_INDIRECT, 0};
    set_desc(q, 1, t1pa + 16, 16, D_INDIRECT, 0);
    avail_push(q, 1);
    notify(d, (uint16_t)qi);
    sleep_ms(30);
    return 0;
}

static int sc_indirect_bad_len(struct dev *d)
{
    unsigned int qi;
    struct vq *q = up_work(d, &qi);
    if (!q)
        return -1;
    uint64_t tpa;
    struct desc *t = page_alloc(&tpa);
    uint64_t pa = scratch();
    for (int i = 0; i < 256; i++)
        t[i] = (struct desc){pa, 16, (uint16_t)(data_flags(d) | D_NEXT), (uint16_t)(i + 1)};
    static const uint32_t lens[] = {0, 1, 15, 17, 24, 4095, 16 * 65, 4096, 0x10000, 0xffffffff};
    for (unsigned int i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
        kick_one(d, q, qi, tpa, lens[i], D_INDIRECT);
    return 0;
}

static int sc_indirect_loop(struct dev *d)
{
    unsigned int qi;
    struct vq *q = up_work(d, &qi);
    if (!q)
        return -1;
    uint64_t tpa, pa = scratch();
    struct desc *t = page_alloc(&tpa);
    for (int i = 0; i < 8; i++)
        t[i] = (struct desc){pa, 64, (uint16_t)(data_flags(d) | D_NEXT), (uint16_t)((i + 1) % 8)};
    kick_one(d, q, qi, tpa, 8 * 16, D_INDIRECT);
    /* next out of the table */
    t[7].next = 200;
    kick_one(d, q, qi, tpa, 8 * 16, D_INDIRECT);
    return 0;
}

static int sc_indirect_with_next(struct dev *d)
{
    unsigned int qi;
    struct vq *q = up_work(d, &qi);
    if (!q)
        return -1;
    uint64_t tpa;
    struct desc *t = page_alloc(&tpa);
    t[0] = (struct desc){scratch(), 64, data_flags(d), 0};
    set_desc(q, 0, tpa, 16, D_INDIRECT | D_NEXT, 1);
    set_desc(q, 1, tpa, 16, D_INDIRECT, 0);
    avail_push(q, 0);
    /* indirect and write together, and an indirect table outside RAM */
    set_desc(q, 2, tpa, 16, D_INDIRECT | D_WRITE, 0);
    avail_push(q, 2);
    set_desc(q, 3, 0x4000000000ull, 16, D_INDIRECT, 0);
    avail_push(q, 3);
    set_desc(q, 4, UART_BASE, 64, D_INDIRECT, 0);
    avail_push(q, 4);
    notify(d, (uint16_t)qi);
    sleep_ms(30);
    return 0;
}

static int sc_avail_idx_jump(struct dev *d)
{
    unsigned int qi;
    struct vq *q = up_work(d, &qi);
    if (!q)
        return -1;
    uint64_t pa = scratch();
    for (uint16_t i = 0; i < q->size; i++) {
        set_desc(q, i, pa, 64, data_flags(d), 0);
        avail_ring(q)[i] = i;
    }
    q->avail_idx = (uint16_t)(q->size + 1000);
    q->avail[1] = q->avail_idx;
    notify(d, (uint16_t)qi);
    sleep_ms(30);
    q->avail[1] = 0xffff;
    notify(d, (uint16_t)qi);
    sleep_ms(30);
    return 0;
}

static int sc_avail_idx_backwards(struct dev *d)
{
    unsigned int qi;
    struct vq *q = up_work(d, &qi);
    if (!q)
        return -1;
    uint64_t pa = scratch();
    for (uint16_t i = 0; i < q->size; i++) {
        set_desc(q, i, pa, 64, data_flags(d), 0);
        avail_ring(q)[i] = i;
    }
    q->avail[1] = 4;
    notify(d, (uint16_t)qi);
    sleep_ms(30);
    q->avail[1] = 1;
    notify(d, (uint16_t)qi);
    sleep_ms(30);
    q->avail[1] = 3;
    notify(d, (uint16_t)qi);
    sleep_ms(30);
    return 0;
}

/* Rings given at addresses the device may not (or cannot) use. */
static int rings_at(struct dev *d, uint64_t desc, uint64_t avail, uint64_t used)
{
    unsigned int qi = work_queue(d);
    if (dev_init_feat(d, good_features(d), 0, false) < 0)
        return -1;
    for (unsigned int i = 0; i < d->nq; i++) {
        if (i == qi)
            continue;
        vq_setup(d, i, QSIZE);
    }
    q_select(d, (uint16_t)qi);
    q_num(d, 16);
    q_addrs(d, desc, avail, used);
    q_ready(d, 1);
    set_status(d, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
    notify(d, (uint16_t)qi);
    sleep_ms(20);
    return 0;
}

/* A good descriptor table and avail ring (one chain), for the used-ring scenarios. */
static void good_rings(struct dev *d, uint64_t *dpa, uint64_t *apa)
{
    struct desc *t = page_alloc(dpa);
    uint16_t *a = page_alloc(apa);
    t[0] = (struct desc){scratch(), 64, data_flags(d), 0};
    a[2] = 0;
    a[1] = 1;
}

static int sc_used_ring_in_device_memory(struct dev *d)
{
    uint64_t dpa, apa;
    good_rings(d, &dpa, &apa);
    rings_at(d, dpa, apa, UART_BASE + 0x800);
    good_rings(d, &dpa, &apa);
    rings_at(d, dpa, apa, VMMIO_BASE + VMMIO_STRIDE * (VMMIO_MAX - 1));
    good_rings(d, &dpa, &apa);
    return rings_at(d, dpa, apa, ECAM_BASE);
}

static int sc_used_ring_read_only(struct dev *d)
{
    /* a used ring on the GIC (read-only to a device) and on the free window (nothing there) */
    uint64_t dpa, apa;
    good_rings(d, &dpa, &apa);
    rings_at(d, dpa, apa, GIC_BASE);
    good_rings(d, &dpa, &apa);
    return rings_at(d, dpa, apa, FREE_BASE);
}

static int sc_rings_out_of_ram(struct dev *d)
{
    uint64_t pa = scratch();
    rings_at(d, 0x4000000000ull, pa, pa + 1024);
    rings_at(d, pa, 0xfffffffffffffff0ull, pa + 1024);
    rings_at(d, pa, pa + 512, RAM_END - 8);
    return rings_at(d, 0, 0, 0);
}

static int sc_rings_misaligned(struct dev *d)
{
    uint64_t pa = scratch();
    rings_at(d, pa + 1, pa + 0x801, pa + 0xa03);
    return rings_at(d, pa + 8, pa + 0x803, pa + 0xa02);
}

static int sc_rings_overlap(struct dev *d)
{
    uint64_t pa;
    struct desc *t = page_alloc(&pa);
    t[0] = (struct desc){pa, 4096, data_flags(d), 0}; /* the buffer is the rings themselves */
    return rings_at(d, pa, pa, pa);
}

static int sc_queue_before_features_ok(struct dev *d)
{
    unsigned int qi = work_queue(d);
    dev_reset(d);
    set_status(d, ST_ACK | ST_DRIVER);
    struct vq *q = vq_alloc(d, qi, 16);
    q_select(d, (uint16_t)qi);
    q_num(d, 16);
    q_addrs(d, q->desc_pa, q->avail_pa, q->used_pa);
    q_ready(d, 1);
    set_desc(q, 0, scratch(), 64, data_flags(d), 0);
    avail_push(q, 0);
    notify(d, (uint16_t)qi);
    sleep_ms(20);
    set_status(d, ST_ACK | ST_DRIVER | ST_DRIVER_OK);
    notify(d, (uint16_t)qi);
    sleep_ms(20);
    return 0;
}

static int sc_driver_ok_without_features_ok(struct dev *d)
{
    dev_reset(d);
    set_status(d, ST_ACK | ST_DRIVER | ST_DRIVER_OK);
    for (unsigned int i = 0; i < d->nq; i++)
        vq_setup(d, i, 16);
    unsigned int qi = work_queue(d);
    kick_one(d, &d->q[qi], qi, scratch(), 64, data_flags(d));
    set_status(d, ST_DRIVER_OK);
    notify(d, (uint16_t)qi);
    return 0;
}

static int sc_notify_after_reset(struct dev *d)
{
    unsigned int qi;
    struct vq *q = up_work(d, &qi);
    if (!q)
        return -1;
    set_status(d, 0);
    kick_one(d, q, qi, scratch(), 64, data_flags(d));
    /* queue registers after reset, without a new negotiation */
    q_select(d, (uint16_t)qi);
    q_ready(d, 1);
    notify(d, (uint16_t)qi);
    sleep_ms(10);
    return 0;
}

static int sc_notify_disabled_queue(struct dev *d)
{
    if (dev_init_feat(d, good_features(d), 0, true) < 0)
        return -1;
    for (uint16_t i = 0; i < 8; i++)
        notify(d, i);
    sleep_ms(10);
    return 0;
}

static int sc_notify_nonexistent_queue(struct dev *d)
{
    if (dev_init(d) < 0)
        return -1;
    static const uint16_t qs[] = {0xffff, 0x8000, 63, 64, 100, 7};
    for (unsigned int i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        if (d->t == T_MMIO) {
            wr(d->regs + M_NOTIFY, 4, qs[i]);
        } else {
            wr(d->notify, 2, qs[i]);
            /* doorbells past the last queue's, and the whole notify area */
            for (uint32_t o = 0; o < 0x1000; o += 0x100)
                wr(d->notify + o, 2, qs[i]);
        }
    }
    if (d->t == T_MMIO)
        wr(d->regs + M_NOTIFY, 4, 0xffffffffu);
    sleep_ms(10);
    return 0;
}

static int queue_size_try(struct dev *d, uint32_t size)
{
    unsigned int qi = work_queue(d);
    if (dev_init_feat(d, good_features(d), 0, false) < 0)
        return -1;
    for (unsigned int i = 0; i < d->nq; i++)
        if (i != qi)
            vq_setup(d, i, QSIZE);
    struct vq *q = vq_alloc(d, qi, QSIZE);
    q_select(d, (uint16_t)qi);
    q_num(d, size);
    q_addrs(d, q->desc_pa, q->avail_pa, q->used_pa);
    q_ready(d, 1);
    set_status(d, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
    uint64_t pa = scratch();
    for (uint16_t i = 0; i < QSIZE; i++) {
        set_desc(q, i, pa, 64, data_flags(d), 0);
        avail_ring(q)[i] = i;
    }
    q->avail[1] = 3;
    notify(d, (uint16_t)qi);
    sleep_ms(20);
    return 0;
}

static int sc_queue_size_zero(struct dev *d)
{
    return queue_size_try(d, 0);
}

static int sc_queue_size_not_pow2(struct dev *d)
{
    queue_size_try(d, 3);
    return queue_size_try(d, 100);
}

static int sc_queue_size_too_big(struct dev *d)
{
    q_select(d, 0);
    uint16_t max = q_max(d);
    queue_size_try(d, (uint32_t)max * 2);
    queue_size_try(d, 0x8000);
    return queue_size_try(d, 0xffffffffu);
}

static int sc_queue_select_out_of_range(struct dev *d)
{
    if (dev_init_feat(d, good_features(d), 0, false) < 0)
        return -1;
    static const uint16_t sels[] = {0xffff, 0x8000, 64, 8};
    uint64_t pa = scratch();
    for (unsigned int i = 0; i < sizeof(sels) / sizeof(sels[0]); i++) {
        q_select(d, sels[i]);
        q_max(d);
        q_num(d, 16);
        q_addrs(d, pa, pa + 1024, pa + 2048);
        q_ready(d, 1);
        if (d->t == T_PCI) {
            wr(d->common + C_QMSIX, 2, 0);
            rd(d->common + C_QNOFF, 2);
            rd(d->common + C_QENABLE, 2);
        }
    }
    set_status(d, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
    notify(d, 0xffff);
    return 0;
}

static int sc_queue_config_while_live(struct dev *d)
{
    unsigned int qi;
    struct vq *q = up_work(d, &qi);
    if (!q)
        return -1;
    q_select(d, (uint16_t)qi);
    q_num(d, 8);
    q_addrs(d, 0x4000000000ull, UART_BASE, VMMIO_BASE);
    q_ready(d, 0);
    q_ready(d, 2);
    q_ready(d, 0xffffffffu);
    kick_one(d, q, qi, scratch(), 64, data_flags(d));
    return 0;
}

static int sc_features_renegotiate(struct dev *d)
{
    unsigned int qi;
    struct vq *q = up_work(d, &qi);
    if (!q)
        return -1;
    set_features(d, 0);
    set_features(d, ~0ull);
    set_status(d, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
    set_status(d, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
    set_features(d, F_VERSION_1);
    set_status(d, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
    kick_one(d, q, qi, scratch(), 64, data_flags(d));
    return 0;
}

static int sc_features_unoffered(struct dev *d)
{
    dev_reset(d);
    set_status(d, ST_ACK | ST_DRIVER);
    set_features(d, ~0ull);
    set_status(d, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
    get_status(d);
    dev_reset(d);
    set_status(d, ST_ACK | ST_DRIVER);
    set_features(d, 0); /* no VERSION_1: a legacy driver */
    set_status(d, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
    for (unsigned int i = 0; i < d->nq; i++)
        vq_setup(d, i, 16);
    set_status(d, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
    unsigned int qi = work_queue(d);
    kick_one(d, &d->q[qi], qi, scratch(), 64, data_flags(d));
    /* feature words past the two defined ones */
    for (uint32_t w = 2; w < 6; w++) {
        sel_feat(d, w);
        rd(d->t == T_MMIO ? d->regs + M_DF : d->common + C_DF, 4);
    }
    sel_feat(d, 0xffffffffu);
    rd(d->t == T_MMIO ? d->regs + M_DF : d->common + C_DF, 4);
    return 0;
}

/* Post @n good requests on the work queue without waiting; used by the mid-flight scenarios. */
static void post_good(struct dev *d, struct vq *q, unsigned int qi, unsigned int n)
{
    for (unsigned int i = 0; i < n; i++) {
        uint64_t pa = scratch();
        if (d->id == ID_BLK) {
            uint64_t hpa = scratch();
            struct buf b[3] = {{hpa, 16, false}, {pa, 512, true}, {pa + 1024, 1, true}};
            vq_post(q, b, 3);
        } else {
            vq_post(q, &(struct buf){pa, 64, data_flags(d) == D_WRITE}, 1);
        }
    }
    notify(d, (uint16_t)qi);
}

static int sc_status_zero_midflight(struct dev *d)
{
    unsigned int qi;
    struct vq *q = up_work(d, &qi);
    if (!q)
        return -1;
    post_good(d, q, qi, 16);
    set_status(d, 0); /* no wait for the reset to finish */
    /* reuse the old rings with the old indices, without negotiating again */
    q_select(d, (uint16_t)qi);
    q_num(d, q->size);
    q_addrs(d, q->desc_pa, q->avail_pa, q->used_pa);
    q_ready(d, 1);
    set_status(d, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
    notify(d, (uint16_t)qi);
    sleep_ms(30);
    return 0;
}

static int sc_status_games(struct dev *d)
{
    unsigned int qi;
    struct vq *q = up_work(d, &qi);
    if (!q)
        return -1;
    static const uint8_t st[] = {
        ST_FAILED, ST_NEEDS_RESET, 0xff, ST_DRIVER_OK,
        ST_ACK,    ST_FEATURES_OK, 0x30, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK};
    for (unsigned int i = 0; i < sizeof(st); i++) {
        set_status(d, st[i]);
        get_status(d);
        post_good(d, q, qi, 1);
    }
    if (d->t == T_MMIO)
        wr(d->regs + M_STATUS, 4, 0x100);
    sleep_ms(20);
    return 0;
}

/* Every offset of a register window, every width, reads; writes of @wval where @wr_ok. */
static void window_sweep(volatile uint8_t *base, uint32_t len, bool writes, bool (*skip)(uint32_t))
{
    static const unsigned int widths[] = {1, 2, 4, 8};
    for (unsigned int wi = 0; wi < 4; wi++) {
        unsigned int w = widths[wi];
        for (uint32_t o = 0; o + w <= len; o += w) {
            if (skip && skip(o))
                continue;
            uint64_t v = rd(base + o, w);
            if (writes)
                wr(base + o, w, v ^ (rnd() & 0xff));
        }
    }
}

static int sc_config_space_sweep(struct dev *d)
{
    if (dev_init(d) < 0)
        return -1;
    uint32_t len = dcfg_len(d);
    if (d->t == T_PCI)
        len = 0x1000; /* the whole page the device configuration sits in */
    window_sweep(dcfg(d), len, true, NULL);
    return 0;
}

static int sc_config_generation(struct dev *d)
{
    if (dev_init(d) < 0)
        return -1;
    for (int i = 0; i < 50; i++) {
        rd(d->t == T_MMIO ? d->regs + M_CFGGEN : d->common + C_CFGGEN, d->t == T_MMIO ? 4 : 1);
        wr(d->t == T_MMIO ? d->regs + M_CFGGEN : d->common + C_CFGGEN, d->t == T_MMIO ? 4 : 1,
           rnd());
        wr(dcfg(d) + (rnd() % 16), 1, rnd());
    }
    return 0;
}

static bool skip_notify_mmio(uint32_t o)
{
    /* writes to QueueNotify are the notify scenarios' (o is the window offset) */
    return o >= M_NOTIFY && o < M_NOTIFY + 4;
}

static int sc_register_widths(struct dev *d)
{
    if (dev_init(d) < 0)
        return -1;
    if (d->t == T_MMIO) {
        /* reads at every width, then writes of what was read back (the offsets' own values) */
        window_sweep(d->regs, 0x100, false, NULL);
        static const unsigned int widths[] = {1, 2, 8};
        for (unsigned int wi = 0; wi < 3; wi++)
            for (uint32_t o = 0; o + widths[wi] <= 0x100; o += widths[wi])
                if (!skip_notify_mmio(o))
                    wr(d->regs + o, widths[wi], rd(d->regs + o, widths[wi]));
    } else {
        window_sweep(d->common, 0x40, false, NULL);
        static const unsigned int widths[] = {1, 2, 4, 8};
        for (unsigned int wi = 0; wi < 4; wi++)
            for (uint32_t o = 0; o + widths[wi] <= 0x40; o += widths[wi])
                if (o != C_STATUS || widths[wi] != 1)
                    wr(d->common + o, widths[wi], rd(d->common + o, widths[wi]));
        /* the ISR at every width (reading clears it), the unused parts of BAR 0 */
        window_sweep(d->isr, 16, true, NULL);
        for (uint32_t o = 0x40; o < 0x1000; o += 0x40)
            wr(d->common + o, 4, rnd());
        for (uint32_t o = 0x6000; o + 8 <= d->barlen; o += 0x100) {
            rd(d->bar + o, 8);
            wr(d->bar + o, 8, rnd());
        }
    }
    return 0;
}

static int sc_readonly_register_writes(struct dev *d)
{
    if (dev_init(d) < 0)
        return -1;
    if (d->t == T_MMIO) {
        static const uint32_t ro[] = {M_MAGIC, M_VERSION, M_DEVID,  M_VENDOR, M_DF,
                                      M_QMAX,  M_ISR,     M_CFGGEN, 0xb0,     0xb4,
                                      0xb8,    M_QRESET,  0x0fc};
        for (unsigned int i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
            wr(d->regs + ro[i], 4, 0xdeadbeef);
        /* write-only ones read */
        rd(d->regs + M_DFSEL, 4);
        rd(d->regs + M_GF, 4);
        rd(d->regs + M_NOTIFY, 4);
        rd(d->regs + M_ACK, 4);
        wr(d->regs + M_SHMSEL, 4, 0xffffffff);
        rd(d->regs + 0xb4, 4);
        rd(d->regs + 0xb8, 4);
    } else {
        wr(d->common + C_DF, 4, 0xdeadbeef);
        wr(d->common + C_NUMQ, 2, 0xffff);
        wr(d->common + C_CFGGEN, 1, 0xff);
        wr(d->common + C_QNOFF, 2, 0xffff);
        wr(d->common + 0x38, 2, 0xffff);
        wr(d->common + 0x3a, 2, 1); /* queue_reset, not offered */
        wr(d->common + C_QENABLE, 2, 0);
        wr(d->common + C_QENABLE, 2, 7);
    }
    return 0;
}

/* Random register writes, bounded; addresses written are never the guest's own RAM. */
static int sc_register_storm(struct dev *d)
{
    if (dev_init(d) < 0)
        return -1;
    uint64_t pa = scratch();
    for (int i = 0; i < 1500; i++) {
        uint64_t v = rnd();
        unsigned int w = 1u << (rnd() % 4);
        uint32_t o;
        volatile uint8_t *base;
        if (d->t == T_MMIO) {
            base = d->regs;
            o = (uint32_t)(rnd() % 0x200) & ~(w - 1);
            if (o >= M_DESC && o < M_DEVICE + 8) /* ring addresses: ours or out of RAM */
                v = (v & 1) ? pa : 0x4000000000ull + (v & 0xfff0);
            if (o >= 0x80 && o < 0xb0 && (o & 4))
                v = (v & 1) ? 0 : 0x40;
        } else {
            base = d->bar;
            static const uint32_t areas[] = {0x0000, 0x1000, 0x2000, 0x3000, 0x4000, 0x5000};
            o = (areas[rnd() % 6] + (uint32_t)(rnd() % 0x80)) & ~(w - 1);
            if (o >= C_QDESC && o < C_QDEVICE + 8) {
                w = 4;
                o &= ~3u;
                v = (o & 4) ? ((v & 1) ? 0 : 0x40) : ((v & 1) ? pa : (v & 0xfff0));
            }
            if (o >= 0x4000 && o < 0x5000)
                v &= 0xffff; /* MSI addresses stay low: below RAM */
        }
        wr(base + o, w, v);
        if (!(i % 8))
            rd(base + ((uint32_t)rnd() % (d->t == T_MMIO ? 0x200 : 0x6000) & ~7u),
               1u << (rnd() % 4));
    }
    return 0;
}

static int sc_interrupt_ack_garbage(struct dev *d)
{
    unsigned int qi;
    struct vq *q = up_work(d, &qi);
    if (!q)
        return -1;
    post_good(d, q, qi, 4);
    sleep_ms(20);
    for (int i = 0; i < 32; i++) {
        if (d->t == T_MMIO) {
            rd(d->regs + M_ISR, 4);
            wr(d->regs + M_ACK, 4, rnd());
            wr(d->regs + M_ISR, 4, rnd());
        } else {
            rd(d->isr, 1);
            wr(d->isr, 1, rnd());
        }
    }
    return 0;
}

/* ---- PCI-only scenarios ---- */

static int sc_msix_out_of_range(struct dev *d)
{
    if (d->t != T_PCI || !d->msix_cap)
        return NOT_APPLICABLE;
    unsigned int qi;
    struct vq *q = up_work(d, &qi);
    if (!q)
        return -1;
    volatile uint8_t *tab = d->bar + 0x4000;
    for (uint32_t o = 0; o < 0x1000; o += 4)
        wr(tab + o, 4, (o & 0xc) == 8 ? rnd() : (rnd() & 0xfff0)); /* low addresses: not RAM */
    for (uint32_t o = 0; o < 0x1000; o += 8)
        wr(d->bar + 0x5000 + o, 8, ~0ull);
    /* vector 0 at the ITS's doorbell (GITS_TRANSLATER) with a random event, vector 1 at RAM */
    wr(tab + 0, 4, 0x08090040);
    wr(tab + 4, 4, 0);
    wr(tab + 8, 4, rnd());
    wr(tab + 12, 4, 0);
    wr(tab + 16, 8, scratch());
    wr(tab + 24, 4, 0);
    wr(tab + 28, 4, 0);
    /* enable MSI-X with garbage in the table, vectors in and out of range */
    uint16_t mc = 0;
    cfg_read(d, (unsigned int)d->msix_cap + 2, &mc, 2);
    uint16_t on = (uint16_t)(mc | 0x8000);
    cfg_write(d, (unsigned int)d->msix_cap + 2, &on, 2);
    wr(d->common + C_MSIX, 2, 0x1234);
    rd(d->common + C_MSIX, 2);
    q_select(d, (uint16_t)qi);
    wr(d->common + C_QMSIX, 2, 0);
    post_good(d, q, qi, 2);
    sleep_ms(20);
    wr(d->common + C_QMSIX, 2, 1);
    post_good(d, q, qi, 2);
    sleep_ms(20);
    wr(d->common + C_QMSIX, 2, 0x7fff);
    wr(d->common + C_QMSIX, 2, 0xfffe);
    post_good(d, q, qi, 2);
    sleep_ms(20);
    /* function mask, then off again */
    uint16_t masked = (uint16_t)(on | 0x4000);
    cfg_write(d, (unsigned int)d->msix_cap + 2, &masked, 2);
    post_good(d, q, qi, 1);
    sleep_ms(10);
    cfg_write(d, (unsigned int)d->msix_cap + 2, &mc, 2);
    for (uint32_t o = 0; o < 0x1000; o += 4)
        wr(tab + o, 4, (o & 0xc) == 0xc ? 1 : 0); /* masked, zero */
    return 0;
}

static int sc_bar_move_while_running(struct dev *d)
{
    if (d->t != T_PCI)
        return NOT_APPLICABLE;
    unsigned int qi;
    struct vq *q = up_work(d, &qi);
    if (!q)
        return -1;
    uint32_t lo = cfg32(d, 0x10), hi = cfg32(d, 0x14);
    post_good(d, q, qi, 8);
    static const uint64_t to[] = {0x30000000ull,           0x3f000000ull /* the ECAM */,
                                  0x40000000ull /* RAM */, 0x09000000ull /* the UART */,
                                  0xfffffffffff00000ull,   0};
    for (unsigned int i = 0; i < sizeof(to) / sizeof(to[0]); i++) {
        uint32_t nlo = (uint32_t)to[i] | (lo & 0xf), nhi = (uint32_t)(to[i] >> 32);
        uint32_t all = 0xffffffff;
        /* sizing while decoding is on, then the move */
        cfg_write(d, 0x10, &all, 4);
        cfg32(d, 0x10);
        cfg_write(d, 0x10, &nlo, 4);
        cfg_write(d, 0x14, &nhi, 4);
        if (i == 0) {
            /* the moved BAR still works: kick through it */
            volatile uint8_t *m = map_phys(to[0], d->barlen);
            if (m) {
                rd(m, 4);
                pwr(d->common + C_QSEL, 2, qi); /* the old place: nothing there now */
                wr(m + 0x16, 2, (uint16_t)qi);
                uint16_t off = (uint16_t)rd(m + 0x1e, 2);
                post_good(d, q, qi, 0);
                wr(m + 0x3000 + (uint64_t)off * d->notify_mult, 2, (uint16_t)qi);
                sleep_ms(20);
                munmap((void *)((uintptr_t)m & ~(uintptr_t)(PAGE - 1)), d->barlen);
            }
        }
        /* the old place: nothing should answer there now */
        prd(d->common + C_STATUS, 1);
    }
    cfg_write(d, 0x10, &lo, 4);
    cfg_write(d, 0x14, &hi, 4);
    return 0;
}

static int sc_command_register_games(struct dev *d)
{
    if (d->t != T_PCI)
        return NOT_APPLICABLE;
    unsigned int qi;
    struct vq *q = up_work(d, &qi);
    if (!q)
        return -1;
    uint16_t cmd = 0;
    cfg_read(d, 4, &cmd, 2);
    uint16_t off = (uint16_t)(cmd & ~6u);
    cfg_write(d, 4, &off, 2);
    prd(d->common + C_STATUS, 1); /* decoding off: nothing answers */
    pwr(d->common + C_STATUS, 1, 0);
    uint16_t mem_only = (uint16_t)((cmd | 2) & ~4u);
    cfg_write(d, 4, &mem_only, 2);
    post_good(d, q, qi, 2); /* bus mastering off */
    sleep_ms(20);
    uint16_t all = 0xffff;
    cfg_write(d, 4, &all, 2);
    cfg_write(d, 4, &cmd, 2);
    return 0;
}

/* Config space through sysfs: every offset, every width, values flipped; BARs and command kept. */
static int sc_pci_config_sweep(struct dev *d)
{
    if (d->t != T_PCI)
        return NOT_APPLICABLE;
    if (dev_init(d) < 0)
        return -1;
    uint8_t saved[64];
    cfg_read(d, 0, saved, 64);
    static const unsigned int widths[] = {1, 2, 4};
    for (unsigned int wi = 0; wi < 3; wi++) {
        unsigned int w = widths[wi];
        for (unsigned int o = 0; o + w <= 4096; o += w) {
            uint32_t v = 0;
            if (cfg_read(d, o, &v, w) < 0)
                break;
            if (o < 0x28 || (o >= 0x30 && o < 0x34)) /* command, BARs, ROM: the other scenarios' */
                continue;
            if (d->msix_cap && o >= (unsigned int)d->msix_cap && o < (unsigned int)d->msix_cap + 4)
                continue;
            v ^= (uint32_t)rnd();
            cfg_write(d, o, &v, w);
        }
    }
    /* unaligned accesses: the kernel splits them, the VMM sees the pieces */
    uint32_t v = 0x12345678;
    cfg_write(d, 0x41, &v, 4);
    cfg_write(d, 0xfff, &v, 1);
    cfg_read(d, 0x3d, &v, 4);
    cfg_write(d, 4, saved + 4, 2);
    return 0;
}

static int sc_pci_cfg_window(struct dev *d)
{
    if (d->t != T_PCI || !d->pcicfg_cap)
        return NOT_APPLICABLE;
    if (dev_init(d) < 0)
        return -1;
    unsigned int c = (unsigned int)d->pcicfg_cap;
    struct {
        uint8_t bar;
        uint32_t off, len;
    } t[] = {{0, 0, 4},          {0, 0x14, 1},   {0, 0x3000, 2}, {5, 0, 4},
             {0, 0xfffffffc, 4}, {0, 0x7fff, 4}, {0, 0x2, 4},    {0, 0, 3},
             {0, 0, 0},          {0, 0, 8},      {0xff, 0, 4},   {0, 0x8000, 4}};
    for (unsigned int i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        cfg_write(d, c + 4, &t[i].bar, 1);
        cfg_write(d, c + 8, &t[i].off, 4);
        cfg_write(d, c + 12, &t[i].len, 4);
        uint32_t v = 0;
        cfg_read(d, c + 16, &v, 4);
        v = (uint32_t)rnd();
        if (t[i].off == 0x14)
            v = 0; /* a status write through the window: a reset */
        cfg_write(d, c + 16, &v, 4);
        cfg_write(d, c + 17, &v, 2);
    }
    return 0;
}

/* ---- device-specific scenarios ---- */

static int blk_raw(struct dev *d, uint32_t type, uint64_t sector, const struct buf *extra,
                   unsigned int n, uint32_t hlen)
{
    struct vq *q = &d->q[0];
    uint64_t hpa;
    uint8_t *h = page_alloc(&hpa);
    *(uint32_t *)h = type;
    *(uint64_t *)(h + 8) = sector;
    struct buf b[8];
    b[0] = (struct buf){hpa, hlen, false};
    for (unsigned int i = 0; i < n && i < 7; i++)
        b[1 + i] = extra[i];
    vq_post(q, b, n + 1);
    notify(d, 0);
    return (int)vq_wait(q, 2000);
}

static int sc_blk_bad_sector(struct dev *d)
{
    if (d->id != ID_BLK)
        return NOT_APPLICABLE;
    if (dev_init(d) < 0)
        return -1;
    uint64_t cap = rd(dcfg(d), 4) | (rd(dcfg(d) + 4, 4) << 32);
    uint64_t pa = scratch();
    static const uint64_t off[] = {0, 1, 8};
    for (unsigned int i = 0; i < 3; i++)
        blk_raw(d, 0, cap - off[i] + 1, (struct buf[]){{pa, 4096, true}, {pa + 4096 - 1, 1, true}},
                2, 16);
    blk_raw(d, 0, 0xffffffffffffffffull, (struct buf[]){{pa, 512, true}, {pa + 2048, 1, true}}, 2,
            16);
    blk_raw(d, 0, 0x0080000000000000ull, (struct buf[]){{pa, 512, true}, {pa + 2048, 1, true}}, 2,
            16);
    return 0;
}

static int sc_blk_bad_type(struct dev *d)
{
    if (d->id != ID_BLK)
        return NOT_APPLICABLE;
    if (dev_init(d) < 0)
        return -1;
    uint64_t pa = scratch();
    static const uint32_t types[] = {0x7777, 0xffffffff, 2, 3, 5, 6, 9, 12, 13, 0x80000000};
    for (unsigned int i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        blk_raw(d, types[i], 0, (struct buf[]){{pa, 512, true}, {pa + 2048, 1, true}}, 2, 16);
    return 0;
}

static int sc_blk_write_ro(struct dev *d)
{
    if (d->id != ID_BLK)
        return NOT_APPLICABLE;
    if (dev_init(d) < 0)
        return -1;
    uint64_t pa = scratch();
    blk_raw(d, 1, 2, (struct buf[]){{pa, 512, false}, {pa + 2048, 1, true}}, 2, 16);
    blk_raw(d, 4, 0, (struct buf[]){{pa + 2048, 1, true}}, 1, 16);                   /* flush */
    blk_raw(d, 11, 0, (struct buf[]){{pa, 16, false}, {pa + 2048, 1, true}}, 2, 16); /* discard */
    blk_raw(d, 13, 0, (struct buf[]){{pa, 16, false}, {pa + 2048, 1, true}}, 2,
            16); /* write zeroes */
    return 0;
}

static int sc_blk_status_games(struct dev *d)
{
    if (d->id != ID_BLK)
        return NOT_APPLICABLE;
    if (dev_init(d) < 0)
        return -1;
    uint64_t pa = scratch();
    /* status descriptor of length 0; no status at all (the data is last); status read-only */
    blk_raw(d, 0, 2, (struct buf[]){{pa, 512, true}, {pa + 2048, 0, true}}, 2, 16);
    blk_raw(d, 0, 2, (struct buf[]){{pa, 512, true}}, 1, 16);
    blk_raw(d, 0, 2, (struct buf[]){{pa, 512, true}, {pa + 2048, 1, false}}, 2, 16);
    blk_raw(d, 0, 2, NULL, 0, 16);                                       /* the header alone */
    blk_raw(d, 0, 2, (struct buf[]){{0x4000000000ull, 1, true}}, 1, 16); /* status outside RAM */
    blk_raw(d, 0, 2, (struct buf[]){{pa, 512, true}, {UART_BASE, 1, true}}, 2, 16);
    return 0;
}

static int sc_blk_header_games(struct dev *d)
{
    if (d->id != ID_BLK)
        return NOT_APPLICABLE;
    if (dev_init(d) < 0)
        return -1;
    uint64_t pa = scratch();
    blk_raw(d, 0, 2, (struct buf[]){{pa, 512, true}, {pa + 2048, 1, true}}, 2,
            8); /* short header */
    blk_raw(d, 0, 2, (struct buf[]){{pa, 512, true}, {pa + 2048, 1, true}}, 2, 0);
    /* header in a writable descriptor, header split in two */
    struct vq *q = &d->q[0];
    uint64_t hpa;
    page_alloc(&hpa);
    vq_post(q, (struct buf[]){{hpa, 16, true}, {pa, 512, true}, {pa + 2048, 1, true}}, 3);
    vq_post(q,
            (struct buf[]){
                {hpa, 4, false}, {hpa + 4, 12, false}, {pa, 512, true}, {pa + 2048, 1, true}},
            4);
    notify(d, 0);
    sleep_ms(20);
    return 0;
}

static int sc_blk_data_games(struct dev *d)
{
    if (d->id != ID_BLK)
        return NOT_APPLICABLE;
    if (dev_init(d) < 0)
        return -1;
    uint64_t pa = scratch();
    /* not a multiple of 512; read into a device-readable buffer; huge; many pieces */
    blk_raw(d, 0, 2, (struct buf[]){{pa, 100, true}, {pa + 2048, 1, true}}, 2, 16);
    blk_raw(d, 0, 2, (struct buf[]){{pa, 512, false}, {pa + 2048, 1, true}}, 2, 16);
    blk_raw(d, 0, 0, (struct buf[]){{pa, 0xfffffe00u, true}, {pa + 2048, 1, true}}, 2, 16);
    blk_raw(d, 0, 0, (struct buf[]){{RAM_END - 512, 1024, true}, {pa + 2048, 1, true}}, 2, 16);
    blk_raw(d, 0, 0,
            (struct buf[]){
                {pa, 1, true}, {pa + 1, 511, true}, {pa + 512, 0, true}, {pa + 2048, 1, true}},
            4, 16);
    /* GET_ID into a 3-byte buffer and into nothing */
    blk_raw(d, 8, 0, (struct buf[]){{pa, 3, true}, {pa + 2048, 1, true}}, 2, 16);
    blk_raw(d, 8, 0, (struct buf[]){{pa + 2048, 1, true}}, 1, 16);
    return 0;
}

/* DISCARD and WRITE_ZEROES with every kind of bad segment (executed on a writable disk). */
static int sc_blk_discard_garbage(struct dev *d)
{
    if (d->id != ID_BLK)
        return NOT_APPLICABLE;
    if (dev_init(d) < 0)
        return -1;
    uint64_t cap = rd(dcfg(d), 4) | (rd(dcfg(d) + 4, 4) << 32);
    uint64_t pa;
    uint8_t *p = page_alloc(&pa);
    struct {
        uint64_t sector;
        uint32_t nr, flags;
    } seg[] = {{cap - 1, 2, 0},    {0xffffffffffffff00ull, 0x200, 0},
               {0, 0xffffffff, 0}, {16, 8, 0xfffffffe},
               {16, 8, 1},         {cap, 0, 0},
               {cap - 8, 8, 1},    {0x0080000000000000ull, 8, 0},
               {16, 0x400000, 0}};
    uint32_t types[] = {11, 13};
    for (unsigned int t = 0; t < 2; t++) {
        for (unsigned int i = 0; i < sizeof(seg) / sizeof(seg[0]); i++) {
            memcpy(p + 16 * i, &seg[i], 16);
            blk_raw(d, types[t], 0, (struct buf[]){{pa + 16 * i, 16, false}, {pa + 2048, 1, true}},
                    2, 16);
        }
        /* not a multiple of 16, no segment, 200 segments, segments split across descriptors */
        blk_raw(d, types[t], 0, (struct buf[]){{pa, 15, false}, {pa + 2048, 1, true}}, 2, 16);
        blk_raw(d, types[t], 0, (struct buf[]){{pa + 2048, 1, true}}, 1, 16);
        blk_raw(d, types[t], 0, (struct buf[]){{pa, 16 * 200, false}, {pa + 4095, 1, true}}, 2, 16);
        blk_raw(d, types[t], 0,
                (struct buf[]){
                    {pa + 16 * 6, 5, false}, {pa + 16 * 6 + 5, 11, false}, {pa + 2048, 1, true}},
                3, 16);
    }
    /* writes that straddle the end, of 0 bytes, and a flush with data */
    blk_raw(d, 1, cap - 1, (struct buf[]){{pa, 1024, false}, {pa + 2048, 1, true}}, 2, 16);
    blk_raw(d, 1, cap, (struct buf[]){{pa + 2048, 1, true}}, 1, 16);
    blk_raw(d, 4, 0xffffffffffffffffull, (struct buf[]){{pa, 512, false}, {pa + 2048, 1, true}}, 2,
            16);
    blk_raw(d, 4, 0, (struct buf[]){{pa, 512, true}, {pa + 2048, 1, true}}, 2, 16);
    return 0;
}

static int sc_blk_reset_in_flight(struct dev *d)
{
    if (d->id != ID_BLK)
        return NOT_APPLICABLE;
    unsigned int qi;
    struct vq *q = up_work(d, &qi);
    if (!q)
        return -1;
    /* fill the ring with reads, kick, reset at once: completions must not land after the reset */
    for (int i = 0; i < 20; i++) {
        uint64_t hpa, dpa;
        uint8_t *h = page_alloc(&hpa);
        page_alloc(&dpa);
        *(uint32_t *)h = 0;
        *(uint64_t *)(h + 8) = (uint64_t)i * 8;
        vq_post(q, (struct buf[]){{hpa, 16, false}, {dpa, 4096, true}, {hpa + 64, 1, true}}, 3);
    }
    notify(d, 0);
    set_status(d, 0);
    dev_reset(d);
    /* the reset is done: nothing of the old requests may land in guest memory any more */
    *(volatile uint16_t *)(q->used + 2) = 0xdead;
    mb();
    sleep_ms(100);
    if (used_idx(q) != 0xdead) {
        say("hostile: blk-reset-in-flight: the used ring changed after the reset\n");
        return -1;
    }
    return 0;
}

static int net_tx(struct dev *d, const struct buf *b, unsigned int n);
static void net_rx_small_body(struct dev *d);

/* Turn to another CPU, so that two threads really race on two vCPUs. */
static void pin_cpu(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof(set), &set);
}

struct racer {
    struct dev *d;
    struct vq *q;
    unsigned int qi;
    uint64_t scratch_pa;
    volatile int stop;
    unsigned long iterations;
    int what;
};

enum { RACE_KICK, RACE_DESC, RACE_REGS };

/* The second thread: kicks, rewrites descriptors or reads registers until told to stop. */
static void *racer_main(void *arg)
{
    struct racer *r = arg;
    uint64_t st = 0x12345678abcdefull ^ (uintptr_t)arg;
    pin_cpu(1);
    while (!r->stop) {
        st ^= st << 13, st ^= st >> 7, st ^= st << 17;
        switch (r->what) {
        case RACE_KICK: {
            struct vq *q = r->q;
            uint16_t h = (uint16_t)(st % q->size);
            set_desc(q, h, r->scratch_pa, 64, data_flags(r->d), 0);
            avail_push(q, h);
            notify(r->d, (uint16_t)r->qi);
            break;
        }
        case RACE_DESC: {
            /* rewrite descriptors under the device: addresses ours or outside RAM */
            struct vq *q = r->q;
            uint16_t i = (uint16_t)(st % q->size);
            uint64_t addr = (st & 0x100) ? 0x4000000000ull : r->scratch_pa;
            set_desc(q, i, addr, (uint32_t)((st >> 16) % 4096),
                     (uint16_t)((st >> 32) & (D_NEXT | D_WRITE | D_INDIRECT)),
                     (uint16_t)((st >> 40) % (q->size + 2u)));
            break;
        }
        default: {
            volatile uint8_t *base = r->d->t == T_MMIO ? r->d->regs : r->d->common;
            rd(base + ((st >> 8) % 0x40 & ~3u), 4);
            if (r->d->t == T_PCI)
                rd(r->d->isr, 1);
            break;
        }
        }
        r->iterations++;
    }
    return NULL;
}

static int race(struct dev *d, int what, void (*main_side)(struct dev *d, struct racer *r))
{
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
        return NOT_APPLICABLE;
    unsigned int qi;
    struct vq *q = up_work(d, &qi);
    if (!q)
        return -1;
    struct racer r = {.d = d, .q = q, .qi = qi, .scratch_pa = scratch(), .what = what};
    pthread_t t;
    if (pthread_create(&t, NULL, racer_main, &r) != 0)
        return -1;
    pin_cpu(0);
    main_side(d, &r);
    r.stop = 1;
    pthread_join(t, NULL);
    return 0;
}

/* Main side: reset and bring the queue back on the same rings, again and again. */
static void reinit_loop(struct dev *d, struct racer *r)
{
    for (int i = 0; i < 150; i++) {
        set_status(d, 0);
        set_status(d, ST_ACK | ST_DRIVER);
        set_features(d, good_features(d));
        set_status(d, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
        q_select(d, (uint16_t)r->qi);
        q_num(d, r->q->size);
        q_addrs(d, r->q->desc_pa, r->q->avail_pa, r->q->used_pa);
        q_ready(d, 1);
        set_status(d, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
        if (i & 1)
            notify(d, (uint16_t)r->qi);
    }
}

static int sc_race_reset_vs_kick(struct dev *d)
{
    if (d->id == ID_CROSSVM)
        return NOT_APPLICABLE;
    return race(d, RACE_KICK, reinit_loop);
}

/* Main side: good chains kicked while the other thread rewrites the table. */
static void kick_loop(struct dev *d, struct racer *r)
{
    for (int i = 0; i < 300; i++) {
        uint16_t h = (uint16_t)(i % r->q->size);
        avail_push(r->q, h);
        notify(d, (uint16_t)r->qi);
    }
    sleep_ms(20);
}

static int sc_race_desc_rewrite(struct dev *d)
{
    if (d->id == ID_CROSSVM)
        return NOT_APPLICABLE;
    return race(d, RACE_DESC, kick_loop);
}

/* Main side: the BAR moves and decoding toggles while the other thread reads registers. */
static void bar_loop(struct dev *d, struct racer *r)
{
    (void)r;
    uint32_t lo = cfg32(d, 0x10), hi = cfg32(d, 0x14);
    uint16_t cmd = 0;
    cfg_read(d, 4, &cmd, 2);
    for (int i = 0; i < 60; i++) {
        uint32_t nlo = (i & 1) ? lo : (0x30000000u | (lo & 0xf));
        cfg_write(d, 0x10, &nlo, 4);
        uint16_t c = (uint16_t)((i % 3) ? cmd : (cmd & ~2u));
        cfg_write(d, 4, &c, 2);
        cfg_write(d, 4, &cmd, 2);
    }
    cfg_write(d, 0x10, &lo, 4);
    cfg_write(d, 0x14, &hi, 4);
    cfg_write(d, 4, &cmd, 2);
}

static int sc_race_bar_move_vs_access(struct dev *d)
{
    if (d->t != T_PCI || d->id == ID_CROSSVM)
        return NOT_APPLICABLE;
    return race(d, RACE_REGS, bar_loop);
}

/* Two devices' BARs trade places, the first moved onto the second. */
static int sc_bar_overlap(struct dev *d)
{
    if (d->t != T_PCI || d->id == ID_CROSSVM)
        return NOT_APPLICABLE;
    struct dev *o = NULL;
    for (unsigned int i = 0; i < ndevs; i++)
        if (&devs[i] != d && devs[i].t == T_PCI && devs[i].id != ID_CROSSVM)
            o = &devs[i];
    if (!o)
        return NOT_APPLICABLE;
    unsigned int qi;
    struct vq *q = up_work(d, &qi);
    if (!q)
        return -1;
    uint32_t dlo = cfg32(d, 0x10), dhi = cfg32(d, 0x14), olo = cfg32(o, 0x10), ohi = cfg32(o, 0x14);
    /* d onto o: refused or not, o must keep working while d is there */
    cfg_write(d, 0x10, &olo, 4);
    cfg_write(d, 0x14, &ohi, 4);
    prd(o->common + C_STATUS, 1);
    /* o moves away, d stays where o was; then o comes back onto d */
    uint32_t away = 0x30000000u | (olo & 0xf);
    cfg_write(o, 0x10, &away, 4);
    prd(o->common + C_STATUS, 1);
    cfg_write(o, 0x10, &olo, 4);
    /* d moves half onto o (the 64-bit BAR's halves written one at a time) */
    uint32_t half = olo + 0x4000;
    cfg_write(d, 0x10, &half, 4);
    cfg_write(d, 0x10, &dlo, 4);
    cfg_write(d, 0x14, &dhi, 4);
    cfg_write(o, 0x10, &olo, 4);
    cfg_write(o, 0x14, &ohi, 4);
    /* both must decode again where they started: rewrite the command registers */
    uint16_t cmd = 0;
    cfg_read(d, 4, &cmd, 2);
    cfg_write(d, 4, &cmd, 2);
    cfg_read(o, 4, &cmd, 2);
    cfg_write(o, 4, &cmd, 2);
    post_good(d, q, qi, 1);
    return 0;
}

/* Offloads the driver asked for, used badly: checksum and segmentation headers. */
static int sc_net_tx_bad_offloads(struct dev *d)
{
    if (d->id != ID_NET)
        return NOT_APPLICABLE;
    /* everything offered */
    if (dev_init_feat(d, d->features, d->nq, true) < 0)
        return -1;
    struct {
        uint8_t flags, gso_type;
        uint16_t hdr_len, gso_size, csum_start, csum_offset;
    } h[] = {
        {1, 0, 0, 0, 0xffff, 0xffff}, {1, 0, 0, 0, 50, 0xfff0},
        {1, 1, 54, 1, 34, 16},        {1, 1, 0xffff, 0xffff, 34, 16},
        {0, 1, 54, 1448, 0, 0},       {1, 4, 74, 1, 54, 16},
        {1, 0x81, 54, 100, 34, 16},   {1, 3, 54, 8, 34, 6},
        {1, 5, 54, 8, 34, 6},         {0xff, 0xff, 0xffff, 0xffff, 0xffff, 0xffff},
        {2, 0, 0, 0, 0, 0},           {1, 1, 14, 1, 14, 16},
        {1, 4, 0, 1, 0, 0},
    };
    for (unsigned int i = 0; i < sizeof(h) / sizeof(h[0]); i++) {
        uint64_t pa;
        uint8_t *f = page_alloc(&pa);
        f[0] = h[i].flags;
        f[1] = h[i].gso_type;
        memcpy(f + 2, &h[i].hdr_len, 2);
        memcpy(f + 4, &h[i].gso_size, 2);
        memcpy(f + 6, &h[i].csum_start, 2);
        memcpy(f + 8, &h[i].csum_offset, 2);
        /* an IPv4/TCP-looking frame of 1000 bytes, broadcast */
        uint8_t *e = f + 12;
        memset(e, 0xff, 6);
        memcpy(e + 6, "\x52\x54\x00\x12\x34\x99", 6);
        e[12] = (i & 1) ? 0x86 : 0x08;
        e[13] = (i & 1) ? 0xdd : 0x00;
        e[14] = 0x45;
        e[23] = 6;
        for (int k = 34; k < 1000; k++)
            e[k] = (uint8_t)rnd();
        net_tx(d, &(struct buf){pa, 12 + 1000, false}, 1);
    }
    return 0;
}

/* Mergeable receive buffers, too small and too few, with every offload on. */
static int sc_net_rx_mergeable_small(struct dev *d)
{
    if (d->id != ID_NET)
        return NOT_APPLICABLE;
    if (dev_init_feat(d, d->features, d->nq, true) < 0)
        return -1;
    uint64_t pa = scratch();
    for (int i = 0; i < 6; i++)
        vq_post(&d->q[0], &(struct buf){pa + 64u * (unsigned int)i, (uint32_t)(i * 7), true}, 1);
    notify(d, 0);
    net_rx_small_body(d);
    return 0;
}

static int net_tx(struct dev *d, const struct buf *b, unsigned int n)
{
    vq_post(&d->q[1], b, n);
    notify(d, 1);
    return (int)vq_wait(&d->q[1], 1000);
}

static int sc_net_tx_header_only(struct dev *d)
{
    if (d->id != ID_NET)
        return NOT_APPLICABLE;
    if (dev_init(d) < 0)
        return -1;
    uint64_t pa = scratch();
    net_tx(d, (struct buf[]){{pa, 12, false}}, 1);
    net_tx(d, (struct buf[]){{pa, 5, false}}, 1);
    net_tx(d, (struct buf[]){{pa, 12, false}, {pa + 12, 0, false}}, 2);
    net_tx(d, (struct buf[]){{pa, 12 + 13, false}}, 1); /* a runt frame */
    return 0;
}

static int sc_net_tx_too_big(struct dev *d)
{
    if (d->id != ID_NET)
        return NOT_APPLICABLE;
    if (dev_init(d) < 0)
        return -1;
    struct vq *q = &d->q[1];
    /* 18 pages: 72 KiB of frame in one chain */
    uint16_t h = q->next_desc;
    for (uint16_t i = 0; i < 18; i++) {
        uint64_t pa;
        uint8_t *p = page_alloc(&pa);
        if (i == 0)
            memset(p + 12, 0xff, 6);
        set_desc(q, (uint16_t)(h + i), pa, PAGE, i < 17 ? D_NEXT : 0,
                 (uint16_t)((h + i + 1) % q->size));
    }
    q->next_desc = (uint16_t)((h + 18) % q->size);
    avail_push(q, h);
    notify(d, 1);
    vq_wait(q, 1000);
    net_tx(d, (struct buf[]){{scratch(), 0xffffffffu, false}}, 1);
    net_tx(d, (struct buf[]){{scratch(), 65536 + 12, false}}, 1);
    return 0;
}

static int sc_net_tx_writable(struct dev *d)
{
    if (d->id != ID_NET)
        return NOT_APPLICABLE;
    if (dev_init(d) < 0)
        return -1;
    uint64_t pa = scratch();
    net_tx(d, (struct buf[]){{pa, 72, true}}, 1);
    net_tx(d, (struct buf[]){{pa, 12, false}, {pa + 12, 60, true}}, 2);
    return 0;
}

static int sc_net_rx_too_small(struct dev *d)
{
    if (d->id != ID_NET)
        return NOT_APPLICABLE;
    if (dev_init(d) < 0)
        return -1;
    net_rx_small_body(d);
    return 0;
}

static void net_rx_small_body(struct dev *d)
{
    struct vq *rx = &d->q[0];
    static const uint32_t lens[] = {0, 1, 11, 12, 13, 60};
    for (unsigned int i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
        vq_post(rx, &(struct buf){scratch(), lens[i], true}, 1);
    vq_post(rx, &(struct buf){scratch(), 1514, false}, 1); /* read-only RX buffer */
    vq_post(rx, &(struct buf){0x4000000000ull, 1514, true}, 1);
    notify(d, 0);
    /* an ARP request to the host side (192.0.2.1): its answer lands in those buffers */
    uint64_t pa;
    uint8_t *f = page_alloc(&pa);
    uint8_t *e = f + 12;
    static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x99};
    memset(e, 0xff, 6);
    memcpy(e + 6, mac, 6);
    e[12] = 0x08, e[13] = 0x06;
    static const uint8_t arp[8] = {0, 1, 8, 0, 6, 4, 0, 1};
    memcpy(e + 14, arp, 8);
    memcpy(e + 22, mac, 6);
    memcpy(e + 28, "\xc0\x00\x02\x02", 4);
    memcpy(e + 38, "\xc0\x00\x02\x01", 4);
    for (int i = 0; i < 3; i++) {
        net_tx(d, &(struct buf){pa, 12 + 60, false}, 1);
        sleep_ms(30);
    }
}

static int sc_net_ctrl_garbage(struct dev *d)
{
    if (d->id != ID_NET || !(d->features & (1ull << 17)))
        return NOT_APPLICABLE;
    if (dev_init(d) < 0)
        return -1;
    struct vq *c = &d->q[2];
    uint64_t pa;
    uint8_t *p = page_alloc(&pa);
    p[0] = 0xff, p[1] = 0xff;
    vq_post(c, (struct buf[]){{pa, 2, false}, {pa + 64, 1, true}}, 2); /* unknown class */
    vq_post(c, (struct buf[]){{pa, 2, false}}, 1);                     /* no ack */
    vq_post(c, (struct buf[]){{pa, 1, false}, {pa + 64, 1, true}}, 2); /* short header */
    vq_post(c, (struct buf[]){{pa + 64, 0, true}}, 1);                 /* nothing readable */
    p[256] = 0, p[257] = 0;                                            /* RX_PROMISC, no data */
    vq_post(c, (struct buf[]){{pa + 256, 2, false}, {pa + 64, 1, true}}, 2);
    p[512] = 2, p[513] = 1; /* MAC_TABLE_SET, huge counts */
    *(uint32_t *)(p + 514) = 0xffffffff;
    vq_post(c, (struct buf[]){{pa + 512, 6, false}, {pa + 64, 1, true}}, 2);
    p[768] = 4, p[769] = 0; /* MQ, garbage */
    vq_post(c, (struct buf[]){{pa + 768, 2, false}, {pa + 770, 2, false}, {pa + 64, 0, true}}, 3);
    notify(d, 2);
    sleep_ms(30);
    return 0;
}

static int sc_console_tx_writable(struct dev *d)
{
    if (d->id != ID_CONSOLE)
        return NOT_APPLICABLE;
    if (dev_init(d) < 0)
        return -1;
    uint64_t pa;
    uint8_t *p = page_alloc(&pa);
    p[0] = '#';
    vq_post(&d->q[1], &(struct buf){pa, 1, true}, 1);
    vq_post(&d->q[0], &(struct buf){pa, 64, false}, 1); /* RX read-only */
    vq_post(&d->q[0], &(struct buf){pa, 0, true}, 1);   /* RX zero length */
    notify(d, 1);
    notify(d, 0);
    sleep_ms(20);
    return 0;
}

static int sc_console_ctrl_garbage(struct dev *d)
{
    if (d->id != ID_CONSOLE || !(d->features & (1ull << 1)))
        return NOT_APPLICABLE;
    if (dev_init(d) < 0)
        return -1;
    struct vq *c = &d->q[3]; /* control transmit */
    uint64_t pa;
    uint8_t *p = page_alloc(&pa);
    /* virtio_console_control {le32 id; le16 event; le16 value} */
    struct {
        uint32_t id;
        uint16_t ev, val;
    } m[] = {{0, 0, 1}, {0xffffffff, 3, 1}, {0, 99, 0},   {5, 6, 1},
             {0, 3, 1}, {0, 6, 0xffff},     {1000, 0, 1}, {0, 1, 1}};
    for (unsigned int i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        memcpy(p + 16 * i, &m[i], 8);
        vq_post(c, &(struct buf){pa + 16 * i, 8, false}, 1);
    }
    vq_post(c, &(struct buf){pa, 3, false}, 1);   /* short */
    vq_post(c, &(struct buf){pa, 4096, true}, 1); /* writable */
    notify(d, 3);
    /* control receive buffers too small for a message */
    vq_post(&d->q[2], &(struct buf){pa + 2048, 2, true}, 1);
    vq_post(&d->q[2], &(struct buf){pa + 2048, 0, true}, 1);
    notify(d, 2);
    sleep_ms(30);
    /* queues of ports that do not exist */
    for (uint16_t qi = 4; qi < 70; qi += 5)
        notify(d, qi);
    return 0;
}

static int sc_console_emerg_write(struct dev *d)
{
    if (d->id != ID_CONSOLE)
        return NOT_APPLICABLE;
    if (dev_init(d) < 0)
        return -1;
    /* config: cols, rows (le16), max_nr_ports (le32), emerg_wr (le32) */
    wr(dcfg(d) + 8, 4, '!');
    wr(dcfg(d) + 8, 1, '!');
    wr(dcfg(d) + 8, 4, 0xffffffff);
    wr(dcfg(d) + 0, 4, 0xffffffff);
    wr(dcfg(d) + 4, 4, 0xffffffff);
    wr(dcfg(d) + 12, 4, 0xffffffff);
    return 0;
}

static int sc_rng_zero_len(struct dev *d)
{
    if (d->id != ID_RNG)
        return NOT_APPLICABLE;
    if (dev_init(d) < 0)
        return -1;
    for (int i = 0; i < 4; i++) {
        vq_post(&d->q[0], &(struct buf){scratch(), 0, true}, 1);
        vq_post(&d->q[0], (struct buf[]){{scratch(), 0, true}, {scratch(), 0, true}}, 2);
    }
    notify(d, 0);
    sleep_ms(20);
    return 0;
}

static int sc_rng_write_only_violation(struct dev *d)
{
    if (d->id != ID_RNG)
        return NOT_APPLICABLE;
    if (dev_init(d) < 0)
        return -1;
    uint64_t pa = scratch();
    vq_post(&d->q[0], &(struct buf){pa, 64, false}, 1);
    vq_post(&d->q[0], (struct buf[]){{pa, 64, true}, {pa + 64, 64, false}}, 2);
    vq_post(&d->q[0], &(struct buf){pa, 1u << 30, true}, 1);
    vq_post(&d->q[0], &(struct buf){RAM_END - 8, 64, true}, 1); /* straddles the end of RAM */
    notify(d, 0);
    sleep_ms(30);
    return 0;
}

static int sc_crossvm_registers(struct dev *d)
{
    if (d->id != ID_CROSSVM)
        return NOT_APPLICABLE;
    /* every offset at every width: reads, then writes of random values (rings and clears too) */
    window_sweep(d->bar, PAGE, true, NULL);
    for (int i = 0; i < 1000; i++) {
        unsigned int w = 1u << (rnd() % 4);
        uint32_t o = (uint32_t)(rnd() % PAGE) & ~(w - 1);
        if (rnd() & 1)
            o &= 0x3f;
        wr(d->bar + o, w, rnd());
        rd(d->bar + (o ^ 4), w);
    }
    /* a doorbell storm, and the counter written with everything but 0 */
    for (int i = 0; i < 2000; i++)
        wr(d->bar, 4, (uint32_t)i);
    for (int i = 0; i < 100; i++)
        wr(d->bar + 4, 1u << (i % 4), rnd() | 1);
    wr(d->bar + 4, 4, 0);
    return 0;
}

/* The PCI flavour's other BARs: shared memory moved about, MSI-X garbage, INTx games. */
static int sc_crossvm_bars(struct dev *d)
{
    if (d->id != ID_CROSSVM || d->t != T_PCI)
        return NOT_APPLICABLE;
    char p[512];
    snprintf(p, sizeof(p), "%s/resource1", d->sysfs);
    int fd = open(p, O_RDWR | O_SYNC);
    struct stat sb;
    volatile uint8_t *mem = NULL;
    size_t len = 0;
    if (fd >= 0 && fstat(fd, &sb) == 0 && sb.st_size) {
        len = (size_t)sb.st_size < 0x10000 ? (size_t)sb.st_size : 0x10000;
        void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (m != MAP_FAILED)
            mem = m;
    }
    if (fd >= 0)
        close(fd);
    if (mem)
        for (size_t o = 0; o < len; o += 512)
            wr(mem + o, 8, rd(mem + o, 8) ^ 0x5a);
    /* BAR1 (64-bit, registers 1 and 2) onto RAM, onto BAR0, outside the windows, back */
    uint32_t lo = cfg32(d, 0x14), hi = cfg32(d, 0x18), b0 = cfg32(d, 0x10);
    static const uint64_t to[] = {0x40000000ull, 0x3f000000ull, 0x20000000ull,
                                  0xffffffffffff0000ull};
    for (unsigned int i = 0; i < sizeof(to) / sizeof(to[0]); i++) {
        uint32_t nlo = (uint32_t)to[i] | (lo & 0xf), nhi = (uint32_t)(to[i] >> 32);
        cfg_write(d, 0x14, &nlo, 4);
        cfg_write(d, 0x18, &nhi, 4);
        if (mem)
            prd(mem, 4); /* the old place */
    }
    uint32_t onto0 = (b0 & ~0xfu) | (lo & 0xf), zero = 0;
    cfg_write(d, 0x14, &onto0, 4);
    cfg_write(d, 0x18, &zero, 4);
    rd(d->bar + 0x38, 4);
    cfg_write(d, 0x14, &lo, 4);
    cfg_write(d, 0x18, &hi, 4);
    if (mem) {
        rd(mem, 4);
        munmap((void *)mem, len);
    }
    /* MSI-X in BAR3: garbage table, enabled, rings to ourselves */
    if (d->msix_cap) {
        snprintf(p, sizeof(p), "%s/resource3", d->sysfs);
        fd = open(p, O_RDWR | O_SYNC);
        if (fd >= 0) {
            void *m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            close(fd);
            if (m != MAP_FAILED) {
                volatile uint8_t *t = m;
                for (uint32_t o = 0; o < PAGE; o += 4)
                    pwr(t + o, 4, (o & 0xc) == 8 ? rnd() : (rnd() & 0xfff0));
                uint16_t mc = 0;
                cfg_read(d, (unsigned int)d->msix_cap + 2, &mc, 2);
                uint16_t on = (uint16_t)(mc | 0x8000);
                cfg_write(d, (unsigned int)d->msix_cap + 2, &on, 2);
                for (int i = 0; i < 50; i++)
                    wr(d->bar, 4, 1);
                cfg_write(d, (unsigned int)d->msix_cap + 2, &mc, 2);
                for (uint32_t o = 0; o < 16; o += 4)
                    pwr(t + o, 4, o == 12 ? 1 : 0);
                munmap(m, PAGE);
            }
        }
    }
    /* INTx: interrupt disable toggled with events pending */
    uint16_t cmd = 0;
    cfg_read(d, 4, &cmd, 2);
    for (int i = 0; i < 20; i++) {
        uint16_t c = (uint16_t)(cmd ^ 0x400);
        cfg_write(d, 4, &c, 2);
        wr(d->bar, 4, 1);
        cfg_write(d, 4, &cmd, 2);
    }
    wr(d->bar + 4, 4, 0);
    return 0;
}

/* ---- the board's other devices: PL011 and the ECAM through /dev/mem ---- */

static int sc_pl011_registers(struct dev *d)
{
    (void)d;
    volatile uint8_t *u = map_phys(UART_BASE, PAGE);
    if (!u)
        return NOT_APPLICABLE;
    /* reads of every register at every width, except the data register (console input) */
    static const unsigned int widths[] = {1, 2, 4, 8};
    for (unsigned int wi = 0; wi < 4; wi++)
        for (uint32_t o = 8; o + widths[wi] <= PAGE; o += widths[wi] * 4)
            prd(u + o, widths[wi]);
    /* writes that leave the console alone: read-only FR and IDs, reserved space, unaligned widths
     */
    pwr(u + 0x18, 4, 0xffffffff);
    for (uint32_t o = 0xfe0; o < 0x1000; o += 4)
        pwr(u + o, 4, 0xffffffff);
    for (uint32_t o = 0x50; o < 0xfe0; o += 0x44) {
        unsigned int w = 1u << ((o / 0x44) % 4);
        pwr(u + (o & ~(w - 1)), w, rnd());
    }
    pwr(u + 0x48, 8, prd(u + 0x48, 4) & 0xffffffffu); /* DMACR, 64 bits wide */
    pwr(u + 0x4a, 2, 0);                              /* reserved half */
    munmap((void *)u, PAGE);
    return 0;
}

static int sc_ecam_widths(struct dev *d)
{
    (void)d;
    volatile uint8_t *e = map_phys(ECAM_BASE, 0x100000);
    if (!e)
        return NOT_APPLICABLE;
    static const unsigned int widths[] = {1, 2, 4, 8};
    for (uint32_t dev = 0; dev < 32; dev++) {
        volatile uint8_t *f = e + (dev << 15);
        bool present = rd(f, 2) != 0xffff;
        for (unsigned int wi = 0; wi < 4; wi++)
            for (uint32_t o = 0; o < 0x100; o += widths[wi] * 8)
                rd(f + o, widths[wi]);
        rd(f + 0xff8, 8);
        if (!present) {
            /* nothing there: writes go nowhere */
            for (uint32_t o = 0; o < 0x40; o += 8)
                wr(f + o, 8, rnd());
            for (uint32_t fn = 1; fn < 8; fn++)
                wr(f + (fn << 12) + 4, 2, 0xffff);
        } else {
            /* 64-bit writes of the registers' own values; extended space */
            wr(f + 0, 8, rd(f + 0, 8));
            wr(f + 8, 8, rd(f + 8, 8));
            wr(f + 0x100, 8, rnd());
            wr(f + 0xffc, 4, rnd());
            /* functions that do not exist */
            wr(f + (7 << 12) + 0x10, 4, 0xffffffff);
        }
    }
    munmap((void *)e, 0x100000);
    return 0;
}

static int sc_unmapped_addresses(struct dev *d)
{
    (void)d;
    static const uint64_t at[] = {FREE_BASE, VMMIO_BASE + VMMIO_STRIDE * (VMMIO_MAX - 1),
                                  0x0b000000ull, 0x3e000000ull};
    for (unsigned int i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        volatile uint8_t *p = map_phys(at[i], PAGE);
        if (!p)
            continue;
        if (!sigsetjmp(bus_jmp, 1)) {
            rd(p, 4);
            wr(p + 8, 4, 0xffffffff);
            rd(p + 16, 8);
        } else {
            bus_errors++;
        }
        munmap((void *)((uintptr_t)p & ~(uintptr_t)(PAGE - 1)), PAGE);
    }
    return 0;
}

/* A queue on every device index at once, each kicked while others reset. */
static int sc_all_queues_max(struct dev *d)
{
    if (d->id == ID_CROSSVM)
        return NOT_APPLICABLE;
    if (dev_init_feat(d, good_features(d), 0, false) < 0)
        return -1;
    unsigned int n = nq_total(d);
    if (n > MAX_QUEUES)
        n = MAX_QUEUES;
    for (unsigned int i = 0; i < n; i++) {
        q_select(d, (uint16_t)i);
        uint16_t max = q_max(d);
        struct vq *q = vq_alloc(d, i, max > 256 ? 256 : max);
        q_num(d, q->size);
        q_addrs(d, q->desc_pa, q->avail_pa, q->used_pa);
        q_ready(d, 1);
    }
    set_status(d, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
    for (unsigned int i = 0; i < n; i++) {
        struct vq *q = &d->q[i];
        for (uint16_t k = 0; k < q->size; k++)
            set_desc(q, k, 0x4000000000ull, 64, (uint16_t)(k & 1 ? D_WRITE : 0), 0);
        for (uint16_t k = 0; k < q->size; k++)
            avail_push(q, k);
        notify(d, (uint16_t)i);
    }
    set_status(d, 0);
    return 0;
}

/* Kick storms: the same queue notified many times, with and without work. */
static int sc_notify_storm(struct dev *d)
{
    unsigned int qi;
    struct vq *q = up_work(d, &qi);
    if (!q)
        return -1;
    for (int i = 0; i < 300; i++)
        notify(d, (uint16_t)(rnd() & 1 ? qi : rnd() % 8));
    post_good(d, q, qi, 4);
    for (int i = 0; i < 100; i++)
        notify(d, (uint16_t)qi);
    return 0;
}

/* Used-event and avail flags: a driver asking for no interrupts, or garbage. */
static int sc_ring_flags_garbage(struct dev *d)
{
    unsigned int qi;
    struct vq *q = up_work(d, &qi);
    if (!q)
        return -1;
    q->avail[0] = 0xffff;
    q->avail[2 + q->size] = 0xffff; /* used_event */
    *(volatile uint16_t *)q->used = 0xffff;
    *(volatile uint16_t *)(q->used + 2) = 0x1234; /* the driver scribbles on the used index */
    q->used_seen = 0x1234;
    post_good(d, q, qi, 4);
    sleep_ms(20);
    return 0;
}

/* ---- the table ---- */

struct scenario {
    const char *name;
    int (*fn)(struct dev *d);
    bool once; /* runs once, not per device */
};

static const struct scenario scenarios[] = {
    {"desc-self-loop", sc_desc_self_loop, false},
    {"desc-loop-back", sc_desc_loop_back, false},
    {"chain-longer-than-queue", sc_chain_longer_than_queue, false},
    {"desc-next-out-of-range", sc_desc_next_out_of_range, false},
    {"avail-head-out-of-range", sc_avail_head_out_of_range, false},
    {"addr-beyond-ram", sc_addr_beyond_ram, false},
    {"addr-in-mmio", sc_addr_in_mmio, false},
    {"addr-wraps-2^64", sc_addr_wraps, false},
    {"len-huge", sc_len_huge, false},
    {"len-zero", sc_len_zero, false},
    {"indirect-in-indirect", sc_indirect_in_indirect, false},
    {"indirect-bad-len", sc_indirect_bad_len, false},
    {"indirect-loop", sc_indirect_loop, false},
    {"indirect-with-next", sc_indirect_with_next, false},
    {"avail-idx-jump", sc_avail_idx_jump, false},
    {"avail-idx-backwards", sc_avail_idx_backwards, false},
    {"used-ring-in-device-memory", sc_used_ring_in_device_memory, false},
    {"used-ring-read-only", sc_used_ring_read_only, false},
    {"rings-out-of-ram", sc_rings_out_of_ram, false},
    {"rings-misaligned", sc_rings_misaligned, false},
    {"rings-overlap", sc_rings_overlap, false},
    {"queue-before-features-ok", sc_queue_before_features_ok, false},
    {"driver-ok-without-features-ok", sc_driver_ok_without_features_ok, false},
    {"notify-after-reset", sc_notify_after_reset, false},
    {"notify-disabled-queue", sc_notify_disabled_queue, false},
    {"notify-nonexistent-queue", sc_notify_nonexistent_queue, false},
    {"queue-size-zero", sc_queue_size_zero, false},
    {"queue-size-not-pow2", sc_queue_size_not_pow2, false},
    {"queue-size-too-big", sc_queue_size_too_big, false},
    {"queue-select-out-of-range", sc_queue_select_out_of_range, false},
    {"queue-config-while-live", sc_queue_config_while_live, false},
    {"features-renegotiate", sc_features_renegotiate, false},
    {"features-unoffered", sc_features_unoffered, false},
    {"status-zero-midflight", sc_status_zero_midflight, false},
    {"status-games", sc_status_games, false},
    {"config-space-sweep", sc_config_space_sweep, false},
    {"config-generation", sc_config_generation, false},
    {"register-widths", sc_register_widths, false},
    {"readonly-register-writes", sc_readonly_register_writes, false},
    {"register-storm", sc_register_storm, false},
    {"interrupt-ack-garbage", sc_interrupt_ack_garbage, false},
    {"all-queues-max", sc_all_queues_max, false},
    {"notify-storm", sc_notify_storm, false},
    {"ring-flags-garbage", sc_ring_flags_garbage, false},
    {"msix-out-of-range", sc_msix_out_of_range, false},
    {"bar-move-while-running", sc_bar_move_while_running, false},
    {"command-register-games", sc_command_register_games, false},
    {"pci-config-sweep", sc_pci_config_sweep, false},
    {"pci-cfg-window", sc_pci_cfg_window, false},
    {"blk-bad-sector", sc_blk_bad_sector, false},
    {"blk-bad-type", sc_blk_bad_type, false},
    {"blk-write-ro", sc_blk_write_ro, false},
    {"blk-status-games", sc_blk_status_games, false},
    {"blk-header-games", sc_blk_header_games, false},
    {"blk-data-games", sc_blk_data_games, false},
    {"blk-discard-garbage", sc_blk_discard_garbage, false},
    {"blk-reset-in-flight", sc_blk_reset_in_flight, false},
    {"race-reset-vs-kick", sc_race_reset_vs_kick, false},
    {"race-desc-rewrite", sc_race_desc_rewrite, false},
    {"race-bar-move-vs-access", sc_race_bar_move_vs_access, false},
    {"bar-overlap", sc_bar_overlap, false},
    {"net-tx-bad-offloads", sc_net_tx_bad_offloads, false},
    {"net-rx-mergeable-small", sc_net_rx_mergeable_small, false},
    {"net-tx-header-only", sc_net_tx_header_only, false},
    {"net-tx-too-big", sc_net_tx_too_big, false},
    {"net-tx-writable", sc_net_tx_writable, false},
    {"net-rx-too-small", sc_net_rx_too_small, false},
    {"net-ctrl-garbage", sc_net_ctrl_garbage, false},
    {"console-tx-writable", sc_console_tx_writable, false},
    {"console-ctrl-garbage", sc_console_ctrl_garbage, false},
    {"console-emerg-write", sc_console_emerg_write, false},
    {"rng-zero-len", sc_rng_zero_len, false},
    {"rng-write-only-violation", sc_rng_write_only_violation, false},
    {"crossvm-registers", sc_crossvm_registers, false},
    {"crossvm-bars", sc_crossvm_bars, false},
    {"pl011-registers", sc_pl011_registers, true},
    {"ecam-widths", sc_ecam_widths, true},
    {"unmapped-addresses", sc_unmapped_addresses, true},
};

static unsigned int failures;

/* @fn(@d) with bus errors caught: its result, or 0 with *@bus set after a bus error. */
static int guarded(int (*fn)(struct dev *d), struct dev *d, bool *bus)
{
    int r, sig;
    *bus = false;
    bus_armed = 1;
    sig = sigsetjmp(bus_jmp, 1);
    if (!sig) {
        r = fn(d);
    } else if (sig == SIGSEGV) {
        say("hostile: segmentation fault in the program on %s\n", d->name);
        r = -1; /* the program's own bug, not the VMM's answer */
    } else {
        r = 0;
        *bus = true;
        bus_errors++;
    }
    bus_armed = 0;
    return r;
}

static char check_why[160];

static int check_one(struct dev *d)
{
    return check_dev(d, check_why, sizeof(check_why));
}

/* After a run: every device still works. */
static void check_all(const char *sc)
{
    for (unsigned int i = 0; i < ndevs; i++) {
        bool bus;
        check_why[0] = 0;
        if (guarded(check_one, &devs[i], &bus) < 0 || bus) {
            failures++;
            say("hostile: FAIL after %s: %s: %s\n", sc, devs[i].name,
                bus ? "bus error during the check" : check_why);
        }
    }
}

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "pci") && strcmp(argv[1], "mmio"))) {
        fprintf(stderr, "usage: hostile pci|mmio [SEED]\n");
        return 2;
    }
    mode = strcmp(argv[1], "pci") ? T_MMIO : T_PCI;
    if (argc > 2)
        rng_state = strtoull(argv[2], NULL, 0) | 1;
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct sigaction sa = {.sa_handler = on_bus};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGSEGV, &sa, NULL);
    memfd = open("/dev/mem", O_RDWR | O_SYNC);
    if (memfd < 0) {
        perror("hostile: /dev/mem");
        return 1;
    }
    if (pool_init() < 0)
        return 1;
    if (mode == T_PCI)
        probe_pci();
    else
        probe_mmio();
    if (!ndevs) {
        say("hostile: no virtio devices found\n");
        return 1;
    }
    for (unsigned int i = 0; i < ndevs; i++)
        say("hostile: device %s, features %#" PRIx64 ", %u queues used\n", devs[i].name,
            devs[i].features, devs[i].nq);
    check_all("start");
    if (failures) {
        say("hostile: the devices do not work to begin with\n");
        return 1;
    }
    unsigned int nsc = sizeof(scenarios) / sizeof(scenarios[0]), runs = 0, ran = 0;
    for (unsigned int s = 0; s < nsc; s++) {
        const struct scenario *sc = &scenarios[s];
        unsigned int ran_here = 0, busy = 0;
        for (unsigned int i = 0; i < ndevs; i++) {
            struct dev *d = &devs[i];
            bool crossvm = d->id == ID_CROSSVM;
            if (crossvm && !sc->once && strncmp(sc->name, "crossvm", 7) != 0)
                continue; /* the virtio scenarios are for virtio devices */
            pool_next = 0;
            if (!crossvm)
                dev_reset(d);
            bool bus;
            int r = guarded(sc->fn, d, &bus);
            busy += bus;
            if (bus && bus_errors <= 5)
                say("hostile: bus error in %s on %s\n", sc->name, d->name);
            if (!crossvm)
                dev_reset(d);
            if (r == NOT_APPLICABLE)
                continue;
            runs++;
            ran_here++;
            if (r < 0) {
                failures++;
                say("hostile: FAIL %s on %s: could not set the scenario up\n", sc->name, d->name);
            }
            if (sc->once)
                break;
        }
        if (!ran_here) {
            say("hostile: %-30s skipped (no such device)\n", sc->name);
            continue;
        }
        ran++;
        unsigned int before = failures;
        check_all(sc->name);
        say("hostile: %-30s %u run(s)%s: %s\n", sc->name, ran_here, busy ? ", bus errors" : "",
            failures == before ? "devices ok" : "FAILED");
    }
    say("hostile: %u scenarios (%u in the table), %u runs, %lu bus errors taken, %u failed\n", ran,
        nsc, runs, bus_errors, failures);
    if (failures)
        return 1;
    say("hostile: ok\n");
    return 0;
}
