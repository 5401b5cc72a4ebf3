/*
 * crossvm.c - a guest program for vmmkit's cross-VM channels
 * (docs/cross-vm-channels.md): finds the channel devices, sends a message
 * and rings the peer, waits for the peer's interrupt and reads its message.
 *
 *   crossvm list
 *   crossvm send NAME[:N] MESSAGE   write MESSAGE (and a NUL) at the start of
 *                                   the shared memory, then ring the peer
 *   crossvm ring NAME[:N] [COUNT]   ring the peer COUNT times (default 1)
 *   crossvm wait NAME[:N] [SECONDS] wait for the peer's interrupt (default
 *                                   60 s), print the counter and the
 *                                   message, clear the counter, print it
 *   crossvm count NAME[:N]          print the counter
 *
 * NAME is the channel's name as its event page gives it; N picks among
 * ends with the same name (0 first: `vmmkit run --channel-pair` gives the
 * guest both ends of one channel, 0 and 1).
 *
 * PCI ends (vendor 0x1af4, device 0xa111) are bound to uio_pci_generic
 * (through its new_id, loading the module when it is missing) and reached
 * through sysfs's resource0 (the event page) and resource1 (the memory);
 * the interrupt is /dev/uioN (enable it: clear Interrupt Disable in the
 * command register, which uio_pci_generic's handler sets; poll; read).  MMIO ends
 * are the device tree's "vmmkit,crossvm" nodes: through uio_pdrv_genirq's
 * maps when it is bound (map 0 the event page, map 1 the memory), else
 * through /dev/mem, polling the counter for lack of an interrupt.
 *
 * The shared memory is mapped uncached, so it is copied a byte at a time
 * (no unaligned access reaches Device memory).  Exits 0 on success, 1 on a
 * failure (timeout included), 2 on a usage error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define VENDOR 0x1af4
#define DEVICE 0xa111
#define REG_DOORBELL 0x00
#define REG_EVENTS 0x04
#define REG_NAME 0x08
#define NAME_SIZE 48
#define REG_VERSION 0x38
#define PAGE 4096
#define MAX_ENDS 32
#define DT "/proc/device-tree"

struct end {
    char name[NAME_SIZE + 1];
    char where[300]; /* PCI: /sys/bus/pci/devices/X; MMIO: the DT node's path */
    int pci;
    uint64_t ev_base, mem_base, mem_size; /* MMIO */
    uint32_t intid;
    volatile uint32_t *regs;
    volatile uint8_t *mem;
    size_t mem_len;
    int uio; /* -1: none */
};

static struct end ends[MAX_ENDS];
static int nr_ends;

static int read_text(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY);
    ssize_t n;

    if (fd < 0) {
        return -1;
    }
    n = read(fd, buf, len - 1);
    close(fd);
    if (n < 0) {
        return -1;
    }
    buf[n] = '\0';
    return (int)n;
}

static int write_text(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY);
    ssize_t n;

    if (fd < 0) {
        return -1;
    }
    n = write(fd, s, strlen(s));
    close(fd);
    return n < 0 ? -1 : 0;
}

static unsigned long read_hex(const char *path)
{
    char buf[64];

    return read_text(path, buf, sizeof(buf)) > 0 ? strtoul(buf, NULL, 0) : 0;
}

/* A hex number in file @name of directory @dir. */
static unsigned long sysfs_hex(const char *dir, const char *name)
{
    char p[400];

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return read_hex(p);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The uio device under @dir/uio, or -1. */
static int find_uio(const char *dir)
{
    char path[400];
    DIR *d;
    struct dirent *e;
    int n = -1;

    snprintf(path, sizeof(path), "%s/uio", dir);
    d = opendir(path);
    if (!d) {
        return -1;
    }
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "uio", 3) == 0) {
            n = atoi(e->d_name + 3);
        }
    }
    closedir(d);
    return n;
}

/* Bind every channel function to uio_pci_generic (loading it when needed). */
static void bind_uio_pci(void)
{
    const char *drv = "/sys/bus/pci/drivers/uio_pci_generic";
    struct stat st;

    if (stat(drv, &st) < 0) {
        if (system("modprobe uio_pci_generic 2>/dev/null") != 0 || stat(drv, &st) < 0) {
            return;
        }
    }
    /* new_id binds every unbound function of that ID; EEXIST when it was added before. */
    char id[32];
    snprintf(id, sizeof(id), "%04x %04x", VENDOR, DEVICE);
    if (write_text("/sys/bus/pci/drivers/uio_pci_generic/new_id", id) < 0 && errno == EEXIST) {
        /* Already known: bind the ones still unbound by hand. */
        DIR *d = opendir("/sys/bus/pci/devices");
        struct dirent *e;
        while (d && (e = readdir(d))) {
            char p[300];
            if (e->d_name[0] == '.') {
                continue;
            }
            snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/driver", e->d_name);
            if (stat(p, &st) < 0) {
                write_text("/sys/bus/pci/drivers/uio_pci_generic/bind", e->d_name);
            }
        }
        if (d) {
            closedir(d);
        }
    }
}

static void *map_file(const char *path, size_t len)
{
    int fd = open(path, O_RDWR | O_SYNC);
    void *p;

    if (fd < 0) {
        return NULL;
    }
    p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    return p == MAP_FAILED ? NULL : p;
}

static void *map_phys(int fd, uint64_t addr, size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)addr);

    return p == MAP_FAILED ? NULL : p;
}

/* The name in the event page, a dword at a time (each read is a trapped access). */
static void read_name(struct end *e)
{
    for (unsigned int i = 0; i < NAME_SIZE; i += 4) {
        uint32_t v = e->regs[(REG_NAME + i) / 4];
        memcpy(e->name + i, &v, 4);
    }
    e->name[NAME_SIZE] = '\0';
}

static void scan_pci(void)
{
    DIR *d = opendir("/sys/bus/pci/devices");
    struct dirent *de;
    char *names[MAX_ENDS];
    int n = 0;

    if (!d) {
        return;
    }
    while ((de = readdir(d)) && n < MAX_ENDS) {
        char p[300];
        if (de->d_name[0] == '.') {
            continue;
        }
        snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/vendor", de->d_name);
        if (read_hex(p) != VENDOR) {
            continue;
        }
        snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/device", de->d_name);
        if (read_hex(p) != DEVICE) {
            continue;
        }
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof(names[0]), cmp_str);
    if (n) {
        bind_uio_pci();
    }
    for (int i = 0; i < n && nr_ends < MAX_ENDS; i++) {
        struct end *e = &ends[nr_ends];
        char p[400], res[4096];
        memset(e, 0, sizeof(*e));
        e->pci = 1;
        snprintf(e->where, sizeof(e->where), "/sys/bus/pci/devices/%s", names[i]);
        /* The memory BAR's size from the resource table (line 1: start end flags). */
        snprintf(p, sizeof(p), "%s/resource", e->where);
        if (read_text(p, res, sizeof(res)) > 0) {
            char *line = strchr(res, '\n');
            unsigned long long s = 0, t = 0;
            if (line && sscanf(line + 1, "%llx %llx", &s, &t) == 2 && t > s) {
                e->mem_size = t - s + 1;
                e->mem_base = s;
            }
        }
        snprintf(p, sizeof(p), "%s/resource0", e->where);
        e->regs = map_file(p, PAGE);
        snprintf(p, sizeof(p), "%s/resource1", e->where);
        e->mem_len = (size_t)e->mem_size;
        e->mem = e->mem_len ? map_file(p, e->mem_len) : NULL;
        e->uio = find_uio(e->where);
        if (e->uio < 0) {
            /* No uio_pci_generic: at least turn the function on to reach its BARs. */
            snprintf(p, sizeof(p), "%s/enable", e->where);
            write_text(p, "1");
        }
        if (!e->regs || !e->mem) {
            fprintf(stderr, "crossvm: %s: cannot map its BARs (%s)\n", names[i], strerror(errno));
            free(names[i]);
            continue;
        }
        read_name(e);
        nr_ends++;
        free(names[i]);
    }
}

/* A DT property of @node into @buf; its length or -1. */
static int dt_prop(const char *node, const char *prop, void *buf, size_t len)
{
    char p[400];
    int fd, n;

    snprintf(p, sizeof(p), "%s/%s", node, prop);
    fd = open(p, O_RDONLY);
    if (fd < 0) {
        return -1;
    }
    n = (int)read(fd, buf, len);
    close(fd);
    return n;
}

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

static void scan_mmio(void)
{
    DIR *d = opendir(DT);
    struct dirent *de;
    char *nodes[MAX_ENDS];
    int n = 0, memfd = -1;

    if (!d) {
        return;
    }
    while ((de = readdir(d)) && n < MAX_ENDS) {
        char node[300], compat[64] = "";
        if (strncmp(de->d_name, "crossvm@", 8) != 0) {
            continue;
        }
        snprintf(node, sizeof(node), DT "/%s", de->d_name);
        if (dt_prop(node, "compatible", compat, sizeof(compat) - 1) > 0 &&
            strcmp(compat, "vmmkit,crossvm") == 0) {
            nodes[n++] = strdup(node);
        }
    }
    closedir(d);
    qsort(nodes, (size_t)n, sizeof(nodes[0]), cmp_str);
    for (int i = 0; i < n && nr_ends < MAX_ENDS; i++) {
        struct end *e = &ends[nr_ends];
        uint8_t reg[32], irq[12];
        char plat[400];
        memset(e, 0, sizeof(*e));
        e->uio = -1;
        snprintf(e->where, sizeof(e->where), "%s", nodes[i]);
        free(nodes[i]);
        if (dt_prop(e->where, "reg", reg, sizeof(reg)) != 32) {
            continue;
        }
        e->ev_base = be64(reg);
        e->mem_base = be64(reg + 16);
        e->mem_size = be64(reg + 24);
        if (dt_prop(e->where, "interrupts", irq, sizeof(irq)) == 12) {
            e->intid = (uint32_t)(irq[4] << 24 | irq[5] << 16 | irq[6] << 8 | irq[7]) + 32;
        }
        e->mem_len = (size_t)e->mem_size;
        /* uio_pdrv_genirq's maps when it is bound, /dev/mem otherwise. */
        snprintf(plat, sizeof(plat), "/sys/bus/platform/devices/%llx.crossvm",
                 (unsigned long long)e->ev_base);
        e->uio = find_uio(plat);
        if (e->uio >= 0) {
            char dev[32];
            snprintf(dev, sizeof(dev), "/dev/uio%d", e->uio);
            int fd = open(dev, O_RDWR | O_SYNC);
            if (fd >= 0) {
                void *r = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
                void *m = mmap(NULL, e->mem_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, PAGE);
                e->regs = r == MAP_FAILED ? NULL : r;
                e->mem = m == MAP_FAILED ? NULL : m;
                close(fd);
            }
        } else {
            if (memfd < 0) {
                memfd = open("/dev/mem", O_RDWR | O_SYNC);
            }
            if (memfd >= 0) {
                e->regs = map_phys(memfd, e->ev_base, PAGE);
                e->mem = map_phys(memfd, e->mem_base, e->mem_len);
            }
        }
        if (!e->regs || !e->mem) {
            fprintf(stderr, "crossvm: %s: cannot map it (%s)\n", e->where, strerror(errno));
            continue;
        }
        read_name(e);
        nr_ends++;
    }
    if (memfd >= 0) {
        close(memfd);
    }
}

/* NAME[:N] -> the end, or NULL with a message. */
static struct end *find_end(const char *spec)
{
    char name[NAME_SIZE + 1];
    const char *colon = strrchr(spec, ':');
    int want = 0, seen = 0;
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);

    if (len > NAME_SIZE) {
        len = NAME_SIZE;
    }
    memcpy(name, spec, len);
    name[len] = '\0';
    if (colon) {
        want = atoi(colon + 1);
    }
    for (int i = 0; i < nr_ends; i++) {
        if (strcmp(ends[i].name, name) == 0 && seen++ == want) {
            return &ends[i];
        }
    }
    fprintf(stderr, "crossvm: no channel end %s (%d found)\n", spec, nr_ends);
    return NULL;
}

static void ring(struct end *e)
{
    e->regs[REG_DOORBELL / 4] = 1;
}

static void put_message(struct end *e, const char *msg)
{
    size_t len = strlen(msg);

    if (len >= e->mem_len) {
        len = e->mem_len - 1;
    }
    for (size_t i = 0; i < len; i++) {
        e->mem[i] = (uint8_t)msg[i];
    }
    e->mem[len] = 0;
}

static void get_message(struct end *e, char *buf, size_t len)
{
    size_t i;

    for (i = 0; i + 1 < len && i < e->mem_len; i++) {
        buf[i] = (char)e->mem[i];
        if (!buf[i]) {
            break;
        }
    }
    buf[i] = '\0';
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Enable (unmask) the end's interrupt through its uio descriptor @fd: with
 * uio_pdrv_genirq a write of 1; uio_pci_generic has no such control
 * (ENOSYS), so clear the command register's Interrupt Disable bit (PCI 3.0
 * 6.2.2) that its handler set, through sysfs's config file.
 */
static void irq_enable(struct end *e, int fd, const char *spec)
{
    uint32_t on = 1;
    uint16_t cmd;
    char p[400];

    if (write(fd, &on, sizeof(on)) == sizeof(on)) {
        return;
    }
    if (errno != ENOSYS || !e->pci) {
        fprintf(stderr, "crossvm %s: cannot enable the interrupt: %s\n", spec, strerror(errno));
        return;
    }
    snprintf(p, sizeof(p), "%s/config", e->where);
    int cfd = open(p, O_RDWR);
    if (cfd < 0 || pread(cfd, &cmd, 2, 4) != 2) {
        fprintf(stderr, "crossvm %s: %s: %s\n", spec, p, strerror(errno));
    } else if (cmd & 0x400) {
        cmd &= (uint16_t)~0x400;
        if (pwrite(cfd, &cmd, 2, 4) != 2) {
            fprintf(stderr, "crossvm %s: cannot unmask INTx: %s\n", spec, strerror(errno));
        }
    }
    if (cfd >= 0) {
        close(cfd);
    }
}

/* Wait for the interrupt (uio) or for the counter (no uio).  1 when it came. */
static int wait_event(struct end *e, const char *spec, double seconds, const char **how)
{
    if (e->uio >= 0) {
        char dev[32];
        uint32_t count;
        snprintf(dev, sizeof(dev), "/dev/uio%d", e->uio);
        int fd = open(dev, O_RDWR);
        if (fd < 0) {
            fprintf(stderr, "crossvm %s: %s: %s\n", spec, dev, strerror(errno));
            return -1;
        }
        /* Enable (unmask) the interrupt: a counter already up raises it at once. */
        irq_enable(e, fd, spec);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, (int)(seconds * 1000));
        if (r == 1 && read(fd, &count, sizeof(count)) == sizeof(count)) {
            close(fd);
            *how = "interrupt";
            return 1;
        }
        close(fd);
        return 0;
    }
    *how = "polled";
    for (double end = now() + seconds; now() < end; usleep(10000)) {
        if (e->regs[REG_EVENTS / 4]) {
            return 1;
        }
    }
    return 0;
}

static int cmd_wait(struct end *e, const char *spec, double seconds)
{
    char msg[256];
    const char *how = "?";
    int r = wait_event(e, spec, seconds, &how);

    if (r <= 0) {
        printf("crossvm %s: timeout after %g s events=%u\n", spec, seconds,
               e->regs[REG_EVENTS / 4]);
        return 1;
    }
    uint32_t events = e->regs[REG_EVENTS / 4];
    get_message(e, msg, sizeof(msg));
    printf("crossvm %s: %s events=%u message=%s\n", spec, how, events, msg);
    e->regs[REG_EVENTS / 4] = 0;
    printf("crossvm %s: cleared=%u\n", spec, e->regs[REG_EVENTS / 4]);
    if (e->uio >= 0) {
        /* Ready for the next one: enable the interrupt again. */
        char dev[32];
        snprintf(dev, sizeof(dev), "/dev/uio%d", e->uio);
        int fd = open(dev, O_RDWR);
        if (fd >= 0) {
            irq_enable(e, fd, spec);
            close(fd);
        }
    }
    fflush(stdout);
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: crossvm list | send NAME[:N] MESSAGE | ring NAME[:N] [COUNT] |\n"
                    "               wait NAME[:N] [SECONDS] | count NAME[:N]\n");
}

int main(int argc, char **argv)
{
    struct end *e;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) {
        usage();
        return 2;
    }
    scan_pci();
    scan_mmio();
    if (strcmp(argv[1], "list") == 0) {
        for (int i = 0; i < nr_ends; i++) {
            e = &ends[i];
            if (e->pci) {
                printf("crossvm: %s pci %s class %#lx revision %lu memory %llu uio%d version %u\n",
                       e->name, strrchr(e->where, '/') + 1, sysfs_hex(e->where, "class"),
                       sysfs_hex(e->where, "revision"), (unsigned long long)e->mem_size, e->uio,
                       e->regs[REG_VERSION / 4]);
            } else {
                printf("crossvm: %s mmio %#llx memory %#llx %llu intid %u %s version %u\n", e->name,
                       (unsigned long long)e->ev_base, (unsigned long long)e->mem_base,
                       (unsigned long long)e->mem_size, e->intid, e->uio >= 0 ? "uio" : "devmem",
                       e->regs[REG_VERSION / 4]);
            }
        }
        printf("crossvm: %d ends\n", nr_ends);
        return 0;
    }
    if (argc < 3) {
        usage();
        return 2;
    }
    e = find_end(argv[2]);
    if (!e) {
        return 1;
    }
    if (strcmp(argv[1], "send") == 0 && argc == 4) {
        put_message(e, argv[3]);
        ring(e);
        printf("crossvm %s: sent %zu bytes\n", argv[2], strlen(argv[3]));
        return 0;
    }
    if (strcmp(argv[1], "ring") == 0) {
        int n = argc > 3 ? atoi(argv[3]) : 1;
        for (int i = 0; i < n; i++) {
            ring(e);
        }
        printf("crossvm %s: rang %d\n", argv[2], n);
        return 0;
    }
    if (strcmp(argv[1], "wait") == 0) {
        return cmd_wait(e, argv[2], argc > 3 ? atof(argv[3]) : 60.0);
    }
    if (strcmp(argv[1], "count") == 0) {
        printf("crossvm %s: events=%u\n", argv[2], e->regs[REG_EVENTS / 4]);
        return 0;
    }
    usage();
    return 2;
}
