/*
 * crossvm.c - one end of a cross-VM channel (see include/vmmkit/crossvm.h
 * for the guest ABI, the threads and the lifetime).
 *
 * The event page is modelled as a 64-byte image of its registers (doorbell
 * 0, counter, name, version), so a read of any width and alignment is a
 * copy of the bytes it covers and needs no case of its own.  Writes are
 * decoded by the register their first byte falls in.
 *
 * The counter and the interrupt meet in irq_update(): the line (INTx or
 * the SPI) follows "counter != 0" (gated for PCI by Memory Space), and MSI-X
 * vector 0 goes out when the counter has grown.  "PCI 3.0" is the PCI
 * Local Bus Specification 3.0 (6.2.2 command register, 6.2.3 status,
 * 6.8.2 MSI-X).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmmkit/crossvm.h>
#include <vmmkit/eventfd.h>
#include <vmmkit/guest_memory.h>
#include <vmmkit/irq.h>
#include <vmmkit/log.h>

/* Bytes of the event page that hold registers; the rest reads 0. */
#define REGS_SIZE 0x40u

typedef enum crossvm_kind {
    KIND_NONE,
    KIND_PCI,
    KIND_MMIO,
} crossvm_kind_t;

struct crossvm {
    vm_t *vm;
    char name[CROSSVM_NAME_SIZE]; /* NUL-padded, as the guest reads it */
    void *mem;
    uint64_t mem_size;
    int notify_fd, wait_fd;
    iothread_t *io;
    bool watched; /* @wait_fd is on @io */

    pthread_mutex_t lock; /* everything below; also the PCI function's lock */
    uint32_t events;
    crossvm_kind_t kind;
    pci_device_t *pci;           /* KIND_PCI, until the host releases it */
    vm_memory_reservation_t *ev; /* KIND_MMIO: the event page */
    vm_memory_reservation_t *shm;
    crossvm_mmio_config_t mmio;
    bool line; /* KIND_MMIO: what the SPI is driven to */

    /* The doorbell's ioeventfd. */
    bool ioeventfd_ok; /* false once the backend said it has none */
    bool bound;
    uint64_t bell_addr;

    uint64_t stats[CROSSVM_STAT_COUNT]; /* relaxed atomics */
    vmm_ratelimit_t rl;
};

static const char *const stat_names[CROSSVM_STAT_COUNT] = {
    [CROSSVM_STAT_RINGS] = "rings",
    [CROSSVM_STAT_RING_ERRORS] = "ring-errors",
    [CROSSVM_STAT_EVENTS] = "events",
    [CROSSVM_STAT_SATURATED] = "saturated",
    [CROSSVM_STAT_CLEARS] = "clears",
    [CROSSVM_STAT_IGNORED] = "ignored",
    [CROSSVM_STAT_WAIT_ERRORS] = "wait-errors",
    [CROSSVM_STAT_MSIX] = "msix",
};

static void count(crossvm_t *cv, crossvm_stat_t s)
{
    __atomic_fetch_add(&cv->stats[s], 1, __ATOMIC_RELAXED);
}

const char *crossvm_stat_name(crossvm_stat_t s)
{
    return (unsigned int)s < CROSSVM_STAT_COUNT ? stat_names[s] : "unknown";
}

uint64_t crossvm_stat(const crossvm_t *cv, crossvm_stat_t s)
{
    if (!cv || (unsigned int)s >= CROSSVM_STAT_COUNT) {
        return 0;
    }
    return __atomic_load_n(&cv->stats[s], __ATOMIC_RELAXED);
}

/* --- interrupts (lock held) ----------------------------------------------------------- */

/*
 * Drive the interrupt from the counter; @grew: new events just arrived, so
 * an MSI-X message is due.
 */
static void irq_update(crossvm_t *cv, bool grew)
{
    bool level = cv->events != 0;

    switch (cv->kind) {
    case KIND_PCI:
        if (!cv->pci) {
            return;
        }
        /* Only while a driver has the function on (see crossvm.h). */
        pci_device_set_intx(cv->pci, level && (pci_device_command(cv->pci) & PCI_COMMAND_MEMORY));
        if (grew && pci_device_msix_enabled(cv->pci)) {
            pci_device_msix_notify(cv->pci, 0);
            count(cv, CROSSVM_STAT_MSIX);
        }
        break;
    case KIND_MMIO:
        if (level != cv->line) {
            cv->line = level;
            vm_irq_set_level(cv->vm, cv->mmio.intid, level);
        }
        break;
    default:
        break;
    }
}

/* Add @n rings from the peer to the counter, saturating. */
static void add_events(crossvm_t *cv, uint64_t n)
{
    uint32_t room = UINT32_MAX - cv->events;

    if (!n) {
        return;
    }
    __atomic_fetch_add(&cv->stats[CROSSVM_STAT_EVENTS], n, __ATOMIC_RELAXED);
    if (n > room) {
        __atomic_fetch_add(&cv->stats[CROSSVM_STAT_SATURATED], n - room, __ATOMIC_RELAXED);
        n = room;
    }
    cv->events += (uint32_t)n;
    irq_update(cv, n != 0);
}

/* --- the peer's rings ------------------------------------------------------------------ */

/* Read @wait_fd once (lock held).  Returns false when it is broken and must be dropped. */
static bool serve_wait(crossvm_t *cv)
{
    uint64_t n;
    ssize_t got = read(cv->wait_fd, &n, sizeof(n));

    if (got == (ssize_t)sizeof(n)) {
        add_events(cv, n);
        return true;
    }
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) {
        return true; /* nothing there (another reader was first) */
    }
    count(cv, CROSSVM_STAT_WAIT_ERRORS);
    LOG_WARN_RL(&cv->rl, "%s: crossvm %s: cannot read the peer's eventfd (%s); no more events",
                vm_name(cv->vm), cv->name, got < 0 ? strerror(errno) : "short read");
    return false;
}

/* I/O thread: the peer rang. */
static void wait_ready(int fd, uint32_t events, void *opaque)
{
    crossvm_t *cv = opaque;
    bool ok;

    pthread_mutex_lock(&cv->lock);
    ok = serve_wait(cv);
    pthread_mutex_unlock(&cv->lock);
    if (!ok) {
        iothread_mod_fd(cv->io, fd, 0); /* parked: a broken descriptor must not spin */
    }
}

void crossvm_poll(crossvm_t *cv)
{
    if (!cv) {
        return;
    }
    pthread_mutex_lock(&cv->lock);
    serve_wait(cv);
    pthread_mutex_unlock(&cv->lock);
}

/* --- the event page (lock held) --------------------------------------------------------- */

/* Ring the peer: add 1 to its eventfd. */
static void ring(crossvm_t *cv)
{
    uint64_t one = 1;

    count(cv, CROSSVM_STAT_RINGS);
    if (write(cv->notify_fd, &one, sizeof(one)) != (ssize_t)sizeof(one)) {
        /* EAGAIN: the eventfd is at its maximum; the peer has rings enough pending. */
        count(cv, CROSSVM_STAT_RING_ERRORS);
        LOG_WARN_RL(&cv->rl, "%s: crossvm %s: the doorbell's eventfd refused a ring: %s",
                    vm_name(cv->vm), cv->name, strerror(errno));
    }
}

static void page_read(crossvm_t *cv, uint64_t off, unsigned int len, uint64_t *val)
{
    uint8_t regs[REGS_SIZE] = {0};
    uint8_t out[8] = {0};

    for (unsigned int i = 0; i < 4; i++) {
        regs[CROSSVM_REG_EVENTS + i] = (uint8_t)(cv->events >> (8 * i));
        regs[CROSSVM_REG_VERSION + i] = (uint8_t)(CROSSVM_VERSION >> (8 * i));
    }
    memcpy(&regs[CROSSVM_REG_NAME], cv->name, CROSSVM_NAME_SIZE);
    for (unsigned int i = 0; i < len && i < sizeof(out); i++) {
        if (off + i < REGS_SIZE) {
            out[i] = regs[off + i];
        }
    }
    *val = 0;
    for (unsigned int i = 0; i < sizeof(out); i++) {
        *val |= (uint64_t)out[i] << (8 * i);
    }
}

static void page_write(crossvm_t *cv, uint64_t off, unsigned int len, uint64_t val)
{
    if (off < CROSSVM_REG_EVENTS) {
        ring(cv);
        return;
    }
    if (off == CROSSVM_REG_EVENTS && val == 0) {
        cv->events = 0;
        count(cv, CROSSVM_STAT_CLEARS);
        irq_update(cv, false);
        return;
    }
    count(cv, CROSSVM_STAT_IGNORED);
}

/* --- the doorbell's ioeventfd (lock held) ----------------------------------------------- */

static void bell_unbind(crossvm_t *cv)
{
    if (cv->bound) {
        vm_ioeventfd_t ev = {.fd = cv->notify_fd, .addr = cv->bell_addr, .len = 0};
        vm_ioeventfd_unbind(cv->vm, &ev);
        cv->bound = false;
    }
}

/* Writes of any width at @addr go straight to @notify_fd. */
static void bell_bind(crossvm_t *cv, uint64_t addr)
{
    vm_ioeventfd_t ev = {.fd = cv->notify_fd, .addr = addr + CROSSVM_REG_DOORBELL, .len = 0};
    int rc;

    if (!cv->ioeventfd_ok) {
        return;
    }
    rc = vm_ioeventfd_bind(cv->vm, &ev);
    if (rc == 0) {
        cv->bound = true;
        cv->bell_addr = ev.addr;
    } else if (rc == -EOPNOTSUPP) {
        cv->ioeventfd_ok = false; /* rings stay trapped writes */
    } else {
        LOG_WARN_RL(&cv->rl, "%s: crossvm %s: doorbell ioeventfd at %#lx refused (%s); rings trap",
                    vm_name(cv->vm), cv->name, (unsigned long)ev.addr, strerror(-rc));
    }
}

/* --- PCI -------------------------------------------------------------------------------- */

static void pci_bar_read(pci_device_t *dev, unsigned int bar, uint64_t off, unsigned int len,
                         uint64_t *val)
{
    if (bar == CROSSVM_BAR_EVENTS) {
        page_read(pci_device_priv(dev), off, len, val);
    }
}

static void pci_bar_write(pci_device_t *dev, unsigned int bar, uint64_t off, unsigned int len,
                          uint64_t val)
{
    crossvm_t *cv = pci_device_priv(dev);

    if (bar == CROSSVM_BAR_EVENTS) {
        page_write(cv, off, len, val);
    } else {
        count(cv, CROSSVM_STAT_IGNORED); /* outside the MSI-X structures of BAR3 */
    }
}

static void pci_bar_map(pci_device_t *dev, unsigned int bar, bool mapped, uint64_t addr)
{
    crossvm_t *cv = pci_device_priv(dev);

    if (bar != CROSSVM_BAR_EVENTS) {
        return;
    }
    bell_unbind(cv);
    if (mapped) {
        bell_bind(cv, addr);
    }
}

/* Memory Space and Interrupt Disable gate the line (see crossvm.h). */
static void pci_config_write(pci_device_t *dev, uint32_t reg, unsigned int len, uint32_t val)
{
    if (reg < PCI_CFG_COMMAND + 2 && reg + len > PCI_CFG_COMMAND) {
        irq_update(pci_device_priv(dev), false);
    }
}

static void pci_reset(pci_device_t *dev)
{
    irq_update(pci_device_priv(dev), false); /* the counter stays; the line follows */
}

/* The host is going: the function with it (no lock held). */
static void pci_release(pci_device_t *dev)
{
    crossvm_t *cv = pci_device_priv(dev);

    pthread_mutex_lock(&cv->lock);
    bell_unbind(cv);
    cv->pci = NULL;
    pthread_mutex_unlock(&cv->lock);
}

static const pci_device_ops_t crossvm_pci_ops = {
    .bar_read = pci_bar_read,
    .bar_write = pci_bar_write,
    .bar_map = pci_bar_map,
    .config_write = pci_config_write,
    .reset = pci_reset,
    .release = pci_release,
};

/* --- MMIO ------------------------------------------------------------------------------- */

static memory_fault_result_t mmio_fault(vm_t *vm, vm_vcpu_t *vcpu, uintptr_t addr, size_t len,
                                        void *cookie)
{
    crossvm_t *cv = cookie;
    uint64_t off = addr - cv->mmio.event_base, val = 0;

    pthread_mutex_lock(&cv->lock);
    if (is_vcpu_read_fault(vcpu)) {
        page_read(cv, off, (unsigned int)len, &val);
        set_vcpu_fault_data(vcpu, val);
    } else {
        page_write(cv, off, (unsigned int)len, get_vcpu_fault_data(vcpu));
    }
    pthread_mutex_unlock(&cv->lock);
    return FAULT_HANDLED;
}

/* Map iterator of the MMIO flavour's shared memory (@cookie is the end). */
static int mmio_backing(uintptr_t addr, size_t size, vm_memory_backing_t *backing, void *cookie)
{
    const crossvm_t *cv = cookie;

    backing->hva = cv->mem;
    backing->readonly = false;
    return 0;
}

/* --- life cycle ------------------------------------------------------------------------- */

static bool is_pow2(uint64_t x)
{
    return x && !(x & (x - 1));
}

int crossvm_create(vm_t *vm, const crossvm_config_t *cfg, crossvm_t **out)
{
    struct stat st;
    size_t len;
    crossvm_t *cv;
    int fl;

    if (!vm || !cfg || !out || !cfg->name) {
        return -EINVAL;
    }
    len = strlen(cfg->name);
    if (len == 0 || len > CROSSVM_NAME_MAX) {
        LOG_ERR("crossvm: channel name '%s': must be 1..%u bytes", cfg->name, CROSSVM_NAME_MAX);
        return -EINVAL;
    }
    if (!is_pow2(cfg->mem_size) || cfg->mem_size < CROSSVM_MEM_MIN ||
        cfg->mem_size > (uint64_t)SIZE_MAX) {
        LOG_ERR("crossvm %s: memory size %#llx: must be a power of two of at least 4 KiB",
                cfg->name, (unsigned long long)cfg->mem_size);
        return -EINVAL;
    }
    if (fstat(cfg->mem_fd, &st) < 0 || (uint64_t)st.st_size < cfg->mem_size) {
        LOG_ERR("crossvm %s: memory descriptor %d: %s", cfg->name, cfg->mem_fd,
                errno == EBADF ? "not open" : "smaller than the channel");
        return -EINVAL;
    }
    if (fcntl(cfg->notify_fd, F_GETFL) < 0 || (fl = fcntl(cfg->wait_fd, F_GETFL)) < 0) {
        LOG_ERR("crossvm %s: the doorbell descriptors %d, %d: not both open", cfg->name,
                cfg->notify_fd, cfg->wait_fd);
        return -EINVAL;
    }
    if (!(fl & O_NONBLOCK) && fcntl(cfg->wait_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        return -errno;
    }
    cv = calloc(1, sizeof(*cv));
    if (!cv) {
        return -ENOMEM;
    }
    cv->mem = mmap(NULL, (size_t)cfg->mem_size, PROT_READ | PROT_WRITE, MAP_SHARED, cfg->mem_fd, 0);
    if (cv->mem == MAP_FAILED) {
        int e = errno;
        free(cv);
        LOG_ERR("crossvm %s: cannot map its memory: %s", cfg->name, strerror(e));
        return -e;
    }
    cv->vm = vm;
    memcpy(cv->name, cfg->name, len); /* the rest stays NUL */
    cv->mem_size = cfg->mem_size;
    cv->notify_fd = cfg->notify_fd;
    cv->wait_fd = cfg->wait_fd;
    cv->io = cfg->io;
    cv->ioeventfd_ok = true;
    pthread_mutex_init(&cv->lock, NULL);
    vmm_ratelimit_init(&cv->rl, 5000, 10);
    *out = cv;
    return 0;
}

/* Start serving the peer's rings (the transport is in place). */
static int start_watch(crossvm_t *cv)
{
    int rc;

    if (!cv->io) {
        return 0;
    }
    rc = iothread_add_fd(cv->io, cv->wait_fd, wait_ready, cv);
    if (rc < 0) {
        LOG_ERR("crossvm %s: cannot watch the peer's eventfd: %s", cv->name, strerror(-rc));
        return rc;
    }
    cv->watched = true;
    return 0;
}

int crossvm_attach_pci(crossvm_t *cv, pci_host_t *host, int slot)
{
    char pname[32]; /* pci.h keeps 31 bytes of a name */
    pci_device_t *dev;
    int rc;

    if (!cv || !host) {
        return -EINVAL;
    }
    if (cv->kind != KIND_NONE) {
        return -EBUSY;
    }
    snprintf(pname, sizeof(pname), "crossvm-%.23s", cv->name);
    const pci_device_info_t info = {
        .vendor_id = CROSSVM_PCI_VENDOR_ID,
        .device_id = CROSSVM_PCI_DEVICE_ID,
        .subsystem_vendor_id = CROSSVM_PCI_VENDOR_ID,
        .subsystem_id = CROSSVM_PCI_DEVICE_ID,
        .revision = CROSSVM_VERSION,
        .class_code = CROSSVM_PCI_CLASS,
        .intx_pin = 1,
        .name = pname,
    };
    dev = pci_device_create(&info, &crossvm_pci_ops, cv, &cv->lock);
    if (!dev) {
        return -errno;
    }
    rc = pci_device_add_bar(dev, CROSSVM_BAR_EVENTS, CROSSVM_EVENT_PAGE_SIZE, 0);
    if (rc == 0) {
        rc = pci_device_add_bar(dev, CROSSVM_BAR_MEM, cv->mem_size,
                                PCI_BAR_F_64BIT | PCI_BAR_F_PREFETCH);
    }
    if (rc == 0) {
        rc = pci_device_set_bar_memory(dev, CROSSVM_BAR_MEM, cv->mem, false);
    }
    if (rc == 0) {
        rc = pci_device_add_bar(dev, CROSSVM_BAR_MSIX, 0x1000, 0);
    }
    if (rc == 0) {
        rc = pci_device_add_msix(dev, 1, CROSSVM_BAR_MSIX, CROSSVM_MSIX_TABLE, CROSSVM_MSIX_PBA);
    }
    if (rc >= 0) {
        rc = pci_host_register(host, dev, slot);
    }
    if (rc < 0) {
        pci_device_destroy(dev); /* the release callback sees cv->pci NULL already */
        return rc;
    }
    pthread_mutex_lock(&cv->lock);
    cv->pci = dev;
    cv->kind = KIND_PCI;
    pthread_mutex_unlock(&cv->lock);
    slot = rc;
    rc = start_watch(cv);
    return rc < 0 ? rc : slot;
}

int crossvm_attach_mmio(crossvm_t *cv, const crossvm_mmio_config_t *m)
{
    int rc;

    if (!cv || !m) {
        return -EINVAL;
    }
    if (cv->kind != KIND_NONE) {
        return -EBUSY;
    }
    if (m->event_base % CROSSVM_EVENT_PAGE_SIZE || m->mem_base % CROSSVM_MEM_MIN) {
        return -EINVAL;
    }
    cv->mmio = *m;
    cv->ev = vm_reserve_memory_at(cv->vm, m->event_base, CROSSVM_EVENT_PAGE_SIZE, mmio_fault, cv);
    if (!cv->ev) {
        return -errno;
    }
    cv->shm = vm_reserve_memory_at(cv->vm, m->mem_base, cv->mem_size, NULL, NULL);
    if (!cv->shm) {
        rc = -errno;
        goto fail;
    }
    rc = vm_map_reservation(cv->vm, cv->shm, mmio_backing, cv);
    if (rc < 0) {
        goto fail;
    }
    pthread_mutex_lock(&cv->lock);
    cv->kind = KIND_MMIO;
    bell_bind(cv, m->event_base);
    irq_update(cv, false);
    pthread_mutex_unlock(&cv->lock);
    return start_watch(cv);
fail:
    if (cv->shm) {
        vm_free_reserved_memory(cv->vm, cv->shm);
    }
    vm_free_reserved_memory(cv->vm, cv->ev);
    cv->ev = cv->shm = NULL;
    return rc;
}

void crossvm_reset(crossvm_t *cv)
{
    if (!cv) {
        return;
    }
    pthread_mutex_lock(&cv->lock);
    if (cv->kind == KIND_MMIO) {
        /* Drive the line again whatever we last drove: the reset may have dropped it. */
        cv->line = cv->events != 0;
        vm_irq_set_level(cv->vm, cv->mmio.intid, cv->line);
    }
    pthread_mutex_unlock(&cv->lock);
}

uint32_t crossvm_events(crossvm_t *cv)
{
    uint32_t n;

    if (!cv) {
        return 0;
    }
    pthread_mutex_lock(&cv->lock);
    n = cv->events;
    pthread_mutex_unlock(&cv->lock);
    return n;
}

bool crossvm_doorbell_bound(crossvm_t *cv)
{
    bool b;

    if (!cv) {
        return false;
    }
    pthread_mutex_lock(&cv->lock);
    b = cv->bound;
    pthread_mutex_unlock(&cv->lock);
    return b;
}

const char *crossvm_name(const crossvm_t *cv)
{
    return cv ? cv->name : "";
}

void *crossvm_memory(const crossvm_t *cv)
{
    return cv ? cv->mem : NULL;
}

uint64_t crossvm_memory_size(const crossvm_t *cv)
{
    return cv ? cv->mem_size : 0;
}

pci_device_t *crossvm_pci_function(crossvm_t *cv)
{
    pci_device_t *dev;

    if (!cv) {
        return NULL;
    }
    pthread_mutex_lock(&cv->lock);
    dev = cv->pci;
    pthread_mutex_unlock(&cv->lock);
    return dev;
}

void crossvm_destroy(crossvm_t *cv)
{
    if (!cv) {
        return;
    }
    if (crossvm_pci_function(cv)) {
        /* The host still owns the function, which uses our lock: keep everything. */
        LOG_ERR("crossvm %s: destroyed before its PCI host; left in place", cv->name);
        return;
    }
    if (cv->watched) {
        iothread_remove_fd(cv->io, cv->wait_fd); /* no handler runs once it returns */
        cv->watched = false;
    }
    pthread_mutex_lock(&cv->lock);
    bell_unbind(cv);
    if (cv->kind == KIND_MMIO && cv->line) {
        vm_irq_set_level(cv->vm, cv->mmio.intid, 0);
    }
    pthread_mutex_unlock(&cv->lock);
    if (cv->shm) {
        vm_free_reserved_memory(cv->vm, cv->shm);
    }
    if (cv->ev) {
        vm_free_reserved_memory(cv->vm, cv->ev);
    }
    munmap(cv->mem, (size_t)cv->mem_size);
    pthread_mutex_destroy(&cv->lock);
    free(cv);
}
