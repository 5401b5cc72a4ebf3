/*
 * guest_memory.c - reservations, their host backing, and guest RAM access
 * (see vmmkit/guest_memory.h; locking in core/vm_priv.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vmmkit/guest_memory.h>
#include <vmmkit/log.h>

#include "core/vm_priv.h"

#define HUGE_2M (2ull << 20)
/* Default top of the anonymous device window: 40-bit guest-physical space, the
 * smallest a KVM host gives (arm64's default IPA size). */
#define ANON_DEFAULT_LAST ((1ull << 40) - 1)

static uint64_t host_page_size(void)
{
    long sz = sysconf(_SC_PAGESIZE);
    return sz > 0 ? (uint64_t)sz : 4096;
}

static bool is_pow2(uint64_t x)
{
    return x && !(x & (x - 1));
}

/* Round @x up to @align (a power of two); false when that overflows. */
static bool align_up(uint64_t x, uint64_t align, uint64_t *out)
{
    uint64_t r = (x + align - 1) & ~(align - 1);
    if (r < x) {
        return false;
    }
    *out = r;
    return true;
}

static vm_memory_reservation_t *res_of(struct itree_node *n)
{
    return n ? itree_entry(n, vm_memory_reservation_t, node) : NULL;
}

int vm_memory_setup(vm_t *vm)
{
    int rc = pthread_rwlock_init(&vm->mem.lock, NULL);
    if (rc) {
        return -rc;
    }
    itree_init(&vm->mem.tree);
    vm->mem.ram_size = 0;
    vm->mem.anon_base = 1; /* empty window: "above RAM" */
    vm->mem.anon_last = 0;
    return 0;
}

int vm_memory_init(vm_t *vm)
{
    /* vm_create() already set the state up; kept for libsel4vm's call order. */
    return vm ? 0 : -EINVAL;
}

/* Undo a reservation's host mapping (write lock held, or VM being destroyed). */
static void res_unmap(vm_t *vm, vm_memory_reservation_t *r)
{
    if (r->mapped) {
        int rc = vm->hv->mem_unmap(vm->hv_vm, r->hv_handle);
        if (rc < 0) {
            LOG_WARN("%s: unmapping guest range %#lx-%#lx from %s: %s", vm->name,
                     (unsigned long)r->node.start, (unsigned long)r->node.last, vm->hv->name,
                     strerror(-rc));
        }
        r->mapped = false;
    }
    if (r->alloc) {
        munmap(r->alloc, r->alloc_len);
        r->alloc = NULL;
    }
    r->hva = NULL;
}

void vm_memory_teardown(vm_t *vm)
{
    struct itree_node *n;

    while ((n = itree_first(&vm->mem.tree)) != NULL) {
        vm_memory_reservation_t *r = res_of(n);
        itree_remove(&vm->mem.tree, n);
        res_unmap(vm, r);
        free(r);
    }
    pthread_rwlock_destroy(&vm->mem.lock);
}

vm_memory_reservation_t *vm_reserve_memory_at(vm_t *vm, uintptr_t addr, size_t size,
                                              memory_fault_callback_fn fault_callback, void *cookie)
{
    uint64_t last = (uint64_t)addr + size - 1;

    if (!vm || size == 0 || last < addr) {
        errno = EINVAL;
        return NULL;
    }
    vm_memory_reservation_t *r = calloc(1, sizeof(*r));
    if (!r) {
        errno = ENOMEM;
        return NULL;
    }
    r->node.start = addr;
    r->node.last = last;
    r->fault_callback = fault_callback;
    r->cookie = cookie;
    r->hv_handle = -1;

    pthread_rwlock_wrlock(&vm->mem.lock);
    struct itree_node *clash = itree_first_overlap(&vm->mem.tree, addr, last);
    if (clash) {
        pthread_rwlock_unlock(&vm->mem.lock);
        LOG_DEBUG("%s: reservation %#lx-%#lx overlaps existing %#lx-%#lx", vm->name,
                  (unsigned long)addr, (unsigned long)last, (unsigned long)clash->start,
                  (unsigned long)clash->last);
        free(r);
        errno = EEXIST;
        return NULL;
    }
    itree_insert(&vm->mem.tree, &r->node);
    pthread_rwlock_unlock(&vm->mem.lock);
    return r;
}

int vm_memory_set_anon_window(vm_t *vm, uintptr_t base, size_t size)
{
    uint64_t last = (uint64_t)base + size - 1;
    if (!vm || size == 0 || last < base) {
        return -EINVAL;
    }
    pthread_rwlock_wrlock(&vm->mem.lock);
    vm->mem.anon_base = base;
    vm->mem.anon_last = last;
    pthread_rwlock_unlock(&vm->mem.lock);
    return 0;
}

/* Highest RAM byte + 1, or 0 without RAM (lock held). */
static int ram_end_fn(struct itree_node *n, void *ctx)
{
    uint64_t *end = ctx;
    if (res_of(n)->is_ram && n->last + 1 > *end) {
        *end = n->last + 1;
    }
    return 0;
}

/* Lowest @align-aligned free range of @size in [@lo, @hi] (lock held). */
static int find_free_range(vm_t *vm, uint64_t size, uint64_t align, uint64_t lo, uint64_t hi,
                           uint64_t *out)
{
    uint64_t a;

    if (!align_up(lo, align, &a)) {
        return -ENOMEM;
    }
    for (;;) {
        if (a > hi || hi - a < size - 1) {
            return -ENOMEM;
        }
        struct itree_node *n = itree_first_overlap(&vm->mem.tree, a, a + size - 1);
        if (!n) {
            *out = a;
            return 0;
        }
        if (n->last == UINT64_MAX || !align_up(n->last + 1, align, &a)) {
            return -ENOMEM;
        }
    }
}

vm_memory_reservation_t *vm_reserve_anon_memory(vm_t *vm, size_t size, size_t align,
                                                memory_fault_callback_fn fault_callback,
                                                void *cookie, uintptr_t *addr)
{
    if (!vm || !addr || size == 0 || (align && !is_pow2(align))) {
        errno = EINVAL;
        return NULL;
    }
    if (!align) {
        align = host_page_size();
    }
    for (;;) {
        uint64_t lo, hi, where;

        pthread_rwlock_rdlock(&vm->mem.lock);
        if (vm->mem.anon_base <= vm->mem.anon_last) {
            lo = vm->mem.anon_base;
            hi = vm->mem.anon_last;
        } else {
            lo = 0;
            itree_foreach_overlap(&vm->mem.tree, 0, UINT64_MAX, ram_end_fn, &lo);
            hi = ANON_DEFAULT_LAST;
        }
        int rc = find_free_range(vm, size, align, lo, hi, &where);
        pthread_rwlock_unlock(&vm->mem.lock);
        if (rc < 0) {
            LOG_WARN("%s: no free %#zx-byte range aligned to %#zx in %#lx-%#lx for a device",
                     vm->name, size, align, (unsigned long)lo, (unsigned long)hi);
            errno = -rc;
            return NULL;
        }
        /* Another thread may take the range between the locks: retry then. */
        vm_memory_reservation_t *r = vm_reserve_memory_at(vm, where, size, fault_callback, cookie);
        if (r || errno != EEXIST) {
            if (r) {
                *addr = where;
            }
            return r;
        }
    }
}

/*
 * Anonymous zeroed host memory for a mapping of @size bytes: 2 MiB aligned so
 * the hypervisor can back it with huge pages, which cuts the stage-2 faults of
 * a Linux boot by about 5x (docs/core.md).
 */
static void *alloc_anon(size_t size)
{
    size_t len = size + HUGE_2M;
    uint8_t *p =
        mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        return NULL;
    }
    uint8_t *base = (uint8_t *)(((uintptr_t)p + HUGE_2M - 1) & ~(uintptr_t)(HUGE_2M - 1));
    size_t head = (size_t)(base - p);
    if (head) {
        munmap(p, head);
    }
    size_t tail = len - head - size;
    if (tail) {
        munmap(base + size, tail);
    }
    if (madvise(base, size, MADV_HUGEPAGE) < 0) {
        LOG_DEBUG("madvise(MADV_HUGEPAGE) on %zu bytes: %s (continuing with small pages)", size,
                  strerror(errno));
    }
    return base;
}

int vm_map_reservation(vm_t *vm, vm_memory_reservation_t *r, memory_map_iterator_fn map_iterator,
                       void *cookie)
{
    uint64_t page = host_page_size();

    if (!vm || !r) {
        return -EINVAL;
    }
    uint64_t start = r->node.start, size = r->node.last - r->node.start + 1;
    if ((start | size) & (page - 1)) {
        LOG_ERR("%s: cannot map %#lx-%#lx: start and size must be multiples of the %lu-byte page",
                vm->name, (unsigned long)start, (unsigned long)r->node.last, (unsigned long)page);
        return -EINVAL;
    }
    if (!HV_HAS(vm, mem_map)) {
        return -EOPNOTSUPP;
    }

    vm_memory_backing_t backing = {.hva = NULL, .readonly = false};
    void *alloc = NULL;
    if (map_iterator) {
        int rc = map_iterator(start, size, &backing, cookie);
        if (rc < 0) {
            return rc;
        }
        if (!backing.hva || ((uintptr_t)backing.hva & (page - 1))) {
            LOG_ERR("%s: backing for %#lx-%#lx is %p, not a page-aligned mapping", vm->name,
                    (unsigned long)start, (unsigned long)r->node.last, backing.hva);
            return -EINVAL;
        }
    } else {
        alloc = alloc_anon(size);
        if (!alloc) {
            LOG_ERR("%s: cannot allocate %lu MiB of guest memory for %#lx: %s", vm->name,
                    (unsigned long)(size >> 20), (unsigned long)start, strerror(errno));
            return -ENOMEM;
        }
        backing.hva = alloc;
    }

    pthread_rwlock_wrlock(&vm->mem.lock);
    int rc = r->mapped ? -EBUSY : 0;
    int handle = -1;
    if (rc == 0) {
        rc = vm->hv->mem_map(vm->hv_vm, start, size, backing.hva,
                             backing.readonly ? HV_MEM_READONLY : 0, &handle);
    }
    if (rc == 0) {
        r->mapped = true;
        r->readonly = backing.readonly;
        r->hva = backing.hva;
        r->alloc = alloc;
        r->alloc_len = alloc ? size : 0;
        r->hv_handle = handle;
    }
    pthread_rwlock_unlock(&vm->mem.lock);

    if (rc < 0) {
        LOG_ERR("%s: mapping guest range %#lx-%#lx with %s: %s", vm->name, (unsigned long)start,
                (unsigned long)r->node.last, vm->hv->name, strerror(-rc));
        if (alloc) {
            munmap(alloc, size);
        }
    }
    return rc;
}

int vm_free_reserved_memory(vm_t *vm, vm_memory_reservation_t *r)
{
    if (!vm || !r) {
        return -EINVAL;
    }
    pthread_rwlock_wrlock(&vm->mem.lock);
    itree_remove(&vm->mem.tree, &r->node);
    if (r->is_ram) {
        vm->mem.ram_size -= r->node.last - r->node.start + 1;
    }
    res_unmap(vm, r);
    pthread_rwlock_unlock(&vm->mem.lock);
    free(r);
    return 0;
}

void vm_get_reservation_memory_region(vm_memory_reservation_t *r, uintptr_t *addr, size_t *size)
{
    if (addr) {
        *addr = r->node.start;
    }
    if (size) {
        *size = r->node.last - r->node.start + 1;
    }
}

int vm_ram_add(vm_t *vm, uintptr_t addr, size_t size)
{
    vm_memory_reservation_t *r = vm_reserve_memory_at(vm, addr, size, NULL, NULL);
    if (!r) {
        int err = errno;
        if (err == EEXIST) {
            LOG_ERR("%s: RAM %#lx-%#lx overlaps an existing reservation", vm->name,
                    (unsigned long)addr, (unsigned long)(addr + size - 1));
        }
        return -err;
    }
    int rc = vm_map_reservation(vm, r, NULL, NULL);
    if (rc < 0) {
        vm_free_reserved_memory(vm, r);
        return rc;
    }
    pthread_rwlock_wrlock(&vm->mem.lock);
    r->is_ram = true;
    vm->mem.ram_size += size;
    pthread_rwlock_unlock(&vm->mem.lock);
    return 0;
}

size_t vm_ram_size(const vm_t *vm)
{
    vm_t *v = (vm_t *)vm;
    pthread_rwlock_rdlock(&v->mem.lock);
    size_t size = v->mem.ram_size;
    pthread_rwlock_unlock(&v->mem.lock);
    return size;
}

void *gpa_to_hva(vm_t *vm, uint64_t gpa, size_t len)
{
    uint64_t last = len ? gpa + len - 1 : gpa;
    void *hva = NULL;

    if (last < gpa) {
        return NULL; /* wraps around the address space */
    }
    pthread_rwlock_rdlock(&vm->mem.lock);
    vm_memory_reservation_t *r = res_of(itree_lookup(&vm->mem.tree, gpa));
    if (r && r->mapped && !r->readonly && last <= r->node.last) {
        hva = (uint8_t *)r->hva + (gpa - r->node.start);
    }
    pthread_rwlock_unlock(&vm->mem.lock);
    return hva;
}

int vm_guest_write(vm_t *vm, uint64_t gpa, const void *src, size_t len)
{
    void *dst = gpa_to_hva(vm, gpa, len);
    if (!dst) {
        return -EFAULT;
    }
    memcpy(dst, src, len);
    return 0;
}

int vm_guest_read(vm_t *vm, uint64_t gpa, void *dst, size_t len)
{
    const void *src = gpa_to_hva(vm, gpa, len);
    if (!src) {
        return -EFAULT;
    }
    memcpy(dst, src, len);
    return 0;
}

static int zero_ram_fn(struct itree_node *n, void *ctx)
{
    vm_memory_reservation_t *r = res_of(n);
    size_t size = n->last - n->start + 1;

    if (!r->is_ram || !r->mapped) {
        return 0;
    }
    /* Private anonymous memory reads back as zero after MADV_DONTNEED. */
    if (!r->alloc || madvise(r->hva, size, MADV_DONTNEED) < 0) {
        memset(r->hva, 0, size);
    }
    return 0;
}

int vm_memory_zero_ram(vm_t *vm)
{
    pthread_rwlock_rdlock(&vm->mem.lock);
    itree_foreach_overlap(&vm->mem.tree, 0, UINT64_MAX, zero_ram_fn, NULL);
    pthread_rwlock_unlock(&vm->mem.lock);
    return 0;
}
