/*
 * fake_hv.h - a hypervisor backend for unit tests of the core: records
 * memory mappings and interrupt lines, and plays a scripted list of exits
 * from vcpu_run().  Include from one test file; create a VM with
 * fake_vm_create().
 */
#ifndef VMMKIT_TESTS_FAKE_HV_H
#define VMMKIT_TESTS_FAKE_HV_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/vm_priv.h"
#include "hv/hv.h"

#define FAKE_MAX_MAPS 64

struct fake_map {
    uint64_t gpa, size;
    void *hva;
    unsigned int flags;
    bool live;
};

struct hv_vm {
    struct fake_map maps[FAKE_MAX_MAPS];
    int nr_live;
    uint32_t last_irq;
    int last_level;
    int irq_calls;
};

/* One scripted exit; data holds the bytes of an MMIO write / port OUT. */
struct fake_exit {
    hv_exit_t exit;
    uint8_t data[16];
};

struct hv_vcpu {
    unsigned int id;
    const struct fake_exit *script;
    size_t script_len, pos;
    uint8_t buf[64]; /* what the exit's data pointer points to */
    int runs, kicks, resets;
};

/* Script for the next vCPUs created (tests set it before vm_create_vcpu). */
static const struct fake_exit *fake_next_script;
static size_t fake_next_script_len;

static int fake_vm_create_op(hv_vm_t **out)
{
    *out = calloc(1, sizeof(**out));
    return *out ? 0 : -ENOMEM;
}

static void fake_vm_destroy_op(hv_vm_t *vm)
{
    free(vm);
}

static int fake_mem_map(hv_vm_t *vm, uint64_t gpa, uint64_t size, void *hva, unsigned int flags,
                        int *handle)
{
    for (int i = 0; i < FAKE_MAX_MAPS; i++) {
        if (!vm->maps[i].live) {
            vm->maps[i] = (struct fake_map){gpa, size, hva, flags, true};
            vm->nr_live++;
            *handle = i;
            return 0;
        }
    }
    return -ENOSPC;
}

static int fake_mem_unmap(hv_vm_t *vm, int handle)
{
    if (handle < 0 || handle >= FAKE_MAX_MAPS || !vm->maps[handle].live) {
        return -EINVAL;
    }
    vm->maps[handle].live = false;
    vm->nr_live--;
    return 0;
}

static int fake_irq_line(hv_vm_t *vm, uint32_t irq, int level)
{
    vm->last_irq = irq;
    vm->last_level = level;
    vm->irq_calls++;
    return 0;
}

static int fake_vcpu_create(hv_vm_t *vm, unsigned int id, hv_vcpu_t **out)
{
    hv_vcpu_t *c = calloc(1, sizeof(*c));
    if (!c) {
        return -ENOMEM;
    }
    c->id = id;
    c->script = fake_next_script;
    c->script_len = fake_next_script_len;
    *out = c;
    return 0;
}

static void fake_vcpu_destroy(hv_vcpu_t *c)
{
    free(c);
}

/* Plays the script; when it runs out the guest "powers off". */
static int fake_vcpu_run(hv_vcpu_t *c, hv_exit_t *exit)
{
    c->runs++;
    if (c->pos >= c->script_len) {
        memset(exit, 0, sizeof(*exit));
        exit->reason = HV_EXIT_POWEROFF;
        return 0;
    }
    const struct fake_exit *f = &c->script[c->pos++];
    *exit = f->exit;
    memcpy(c->buf, f->data, sizeof(f->data));
    if (exit->reason == HV_EXIT_MMIO) {
        exit->mmio.data = c->buf;
    } else if (exit->reason == HV_EXIT_IO) {
        exit->io.data = c->buf;
    }
    return 0;
}

static void fake_vcpu_kick(hv_vcpu_t *c)
{
    __atomic_fetch_add(&c->kicks, 1, __ATOMIC_RELAXED);
}

static int fake_vcpu_reset(hv_vcpu_t *c)
{
    c->resets++;
    c->pos = 0;
    return 0;
}

static const struct hv_ops fake_hv_ops = {
    .name = "fake",
    .vm_create = fake_vm_create_op,
    .vm_destroy = fake_vm_destroy_op,
    .mem_map = fake_mem_map,
    .mem_unmap = fake_mem_unmap,
    .irq_line = fake_irq_line,
    .vcpu_create = fake_vcpu_create,
    .vcpu_destroy = fake_vcpu_destroy,
    .vcpu_run = fake_vcpu_run,
    .vcpu_kick = fake_vcpu_kick,
    .vcpu_reset = fake_vcpu_reset,
};

static inline vm_t *fake_vm_create(void)
{
    vm_t *vm = NULL;
    if (vm_create_with_backend(&vm, "test", &fake_hv_ops) < 0) {
        return NULL;
    }
    return vm;
}

/* Fill @f with an MMIO exit (for a write, @data is what the guest writes); returns its exit. */
static inline hv_exit_t *fake_mmio(struct fake_exit *f, uint64_t addr, uint32_t len, bool is_write,
                                   uint64_t data)
{
    memset(f, 0, sizeof(*f));
    f->exit.reason = HV_EXIT_MMIO;
    f->exit.mmio.addr = addr;
    f->exit.mmio.len = len;
    f->exit.mmio.is_write = is_write;
    f->exit.mmio.data = f->data;
    if (is_write) {
        memcpy(f->data, &data, 8);
    } else {
        memset(f->data, 0xaa, sizeof(f->data)); /* stale bytes a read must not see */
    }
    return &f->exit;
}

/* Fill @f with a port I/O exit of @count elements (for OUT, @data holds them packed). */
static inline hv_exit_t *fake_io(struct fake_exit *f, uint16_t port, uint8_t size, bool is_out,
                                 uint32_t count, const void *data)
{
    memset(f, 0, sizeof(*f));
    f->exit.reason = HV_EXIT_IO;
    f->exit.io.port = port;
    f->exit.io.size = size;
    f->exit.io.is_out = is_out;
    f->exit.io.count = count;
    f->exit.io.data = f->data;
    if (is_out && data) {
        memcpy(f->data, data, (size_t)size * count);
    } else {
        memset(f->data, 0x55, sizeof(f->data)); /* stale bytes */
    }
    return &f->exit;
}

#endif
