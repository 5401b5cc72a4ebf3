/*
 * fuzz_sysdesc.c - libFuzzer harness for the system description parser
 * (src/vmmkit/sysdesc.c) and libxml2 under it.
 *
 * The input is the description file itself, parsed with sysdesc_parse()
 * as "fuzz.xml" in a directory that does not exist, files unchecked.  A
 * refused input must come with errors in the promised format (at most
 * SYS_MAX_ERRORS lines, each "fuzz.xml:" and more, in a buffer it did not
 * overrun, and no model); an accepted one must hold every promise the
 * model makes to the supervisor: counts within their limits, names valid
 * and unique, every index in range, channels between two different VMs
 * with power-of-two memory, maps page aligned, clear of RAM and of each
 * other, paths resolved.  libxml2 itself is not instrumented; the parser
 * is, and LeakSanitizer checks that both trees and the model are freed.
 * Seeds: corpus/fuzz_sysdesc/ (the documented examples and variants).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vmmkit/board.h>

#include "vmmkit/sysdesc.h"

#define FUZZ_NAME "fuzz_sysdesc"
#define DIR "/nonexistent-dir"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, FUZZ_NAME ": %s:%d: %s\n", __FILE__, __LINE__, #cond);                 \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void check_name(const char *s, size_t size, size_t max)
{
    size_t n = strnlen(s, size);

    CHECK(n >= 1 && n <= max && n < size);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        CHECK((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-');
    }
}

/* A resolved path: non-empty, and under DIR unless it was absolute. */
static void check_path(const char *p, size_t size)
{
    CHECK(p != NULL);
    size_t n = strnlen(p, size);
    CHECK(n >= 1 && n < size);
    CHECK(p[0] == '/');
}

static bool overlap(uint64_t a, uint64_t asize, uint64_t b, uint64_t bsize)
{
    return a <= b + bsize - 1 && b <= a + asize - 1;
}

static void check_model(const sysdesc_t *d)
{
    CHECK(d->nr_vms >= 1 && d->nr_vms <= SYS_MAX_VMS);
    CHECK(d->nr_regions <= SYS_MAX_REGIONS);
    CHECK(d->nr_channels <= SYS_MAX_CHANNELS);
    CHECK(d->nr_switches <= SYS_MAX_SWITCHES);
    check_name(d->name, sizeof(d->name), SYS_NAME_MAX - 1);
    CHECK(strnlen(d->control, sizeof(d->control)) < sizeof(d->control));
    if (d->control[0])
        check_path(d->control, sizeof(d->control));

    for (unsigned int i = 0; i < d->nr_regions; i++) {
        const sys_region_t *r = &d->regions[i];
        check_name(r->name, sizeof(r->name), SYS_NAME_MAX - 1);
        CHECK(r->size && r->size % SYS_PAGE_SIZE == 0 && r->size <= SYS_MAX_REGION_SIZE);
        for (unsigned int j = 0; j < i; j++)
            CHECK(strcmp(d->regions[j].name, r->name) != 0);
    }
    for (unsigned int i = 0; i < d->nr_switches; i++) {
        const sys_switch_t *s = &d->switches[i];
        check_name(s->name, sizeof(s->name), SYS_NAME_MAX - 1);
        CHECK(strnlen(s->uplink_tap, sizeof(s->uplink_tap)) < sizeof(s->uplink_tap));
        for (unsigned int j = 0; j < i; j++)
            CHECK(strcmp(d->switches[j].name, s->name) != 0);
    }
    unsigned int ends[SYS_MAX_VMS] = {0};
    for (unsigned int i = 0; i < d->nr_channels; i++) {
        const sys_channel_t *c = &d->channels[i];
        check_name(c->name, sizeof(c->name), SYS_CHANNEL_NAME_MAX);
        CHECK(c->vm[0] < d->nr_vms && c->vm[1] < d->nr_vms && c->vm[0] != c->vm[1]);
        CHECK(c->size >= SYS_MIN_CHANNEL_SIZE && c->size <= SYS_MAX_REGION_SIZE);
        CHECK((c->size & (c->size - 1)) == 0);
        CHECK(c->region == -1 || (c->region >= 0 && (unsigned int)c->region < d->nr_regions));
        if (c->region >= 0)
            CHECK(d->regions[c->region].size == c->size);
        ends[c->vm[0]]++;
        ends[c->vm[1]]++;
        for (unsigned int j = 0; j < i; j++)
            CHECK(strcmp(d->channels[j].name, c->name) != 0);
    }
    for (unsigned int i = 0; i < d->nr_vms; i++) {
        const sys_vm_t *vm = &d->vms[i];
        check_name(vm->name, sizeof(vm->name), SYS_NAME_MAX - 1);
        for (unsigned int j = 0; j < i; j++)
            CHECK(strcmp(d->vms[j].name, vm->name) != 0);
        CHECK(sysdesc_find_vm(d, vm->name) == (int)i);
        CHECK(ends[i] <= SYS_MAX_VM_CHANNELS);
        CHECK(vm->opts.mem_size >= 1 && vm->opts.mem_size <= CLI_MAX_MEM);
        CHECK(vm->opts.cpus >= 1 && vm->opts.cpus <= CLI_MAX_CPUS);
        CHECK(vm->opts.gic_version == 0 || vm->opts.gic_version == 2 || vm->opts.gic_version == 3);
        CHECK(vm->opts.verbose >= 0 && vm->opts.verbose <= 2);
        CHECK(vm->restart_limit <= SYS_MAX_RESTART_LIMIT);
        CHECK(vm->on_crash <= SYS_ON_CRASH_STOP);
        CHECK(vm->console_output <= SYS_CONSOLE_NONE);
        CHECK(!vm->opts.dump_dtb && !vm->opts.stats);
        CHECK(vm->opts.nr_nets == 0 && vm->opts.nr_guards == 0 && vm->opts.nr_forwards == 0);
        check_path(vm->opts.kernel, 4096);
        if (vm->opts.initrd)
            check_path(vm->opts.initrd, 4096);
        if (vm->opts.dtb)
            check_path(vm->opts.dtb, 4096);
        if (vm->opts.cmdline)
            CHECK(strlen(vm->opts.cmdline) <= SYS_CMDLINE_MAX);
        bool has_path =
            vm->console_output == SYS_CONSOLE_FILE || vm->console_output == SYS_CONSOLE_SOCKET;
        CHECK(strnlen(vm->console_path, sizeof(vm->console_path)) < sizeof(vm->console_path));
        CHECK(has_path == (vm->console_path[0] != '\0'));
        if (vm->console_output == SYS_CONSOLE_SOCKET)
            CHECK(strlen(vm->console_path) < CLI_SOCKET_MAX);
        CHECK(vm->opts.nr_disks <= CLI_MAX_DISKS);
        for (unsigned int j = 0; j < vm->opts.nr_disks; j++) {
            check_path(vm->opts.disks[j].path, sizeof(vm->opts.disks[j].path));
            CHECK(strnlen(vm->opts.disks[j].serial, sizeof(vm->opts.disks[j].serial)) <=
                  CLI_SERIAL_MAX);
        }
        CHECK(vm->nr_nets <= CLI_MAX_NETS);
        for (unsigned int j = 0; j < vm->nr_nets; j++) {
            const sys_net_t *n = &vm->nets[j];
            if (n->switch_index >= 0) {
                CHECK((unsigned int)n->switch_index < d->nr_switches);
            } else {
                CHECK(n->switch_index == -1);
                size_t len = strnlen(n->tap, sizeof(n->tap));
                CHECK(len >= 1 && len < sizeof(n->tap) && !strchr(n->tap, '/'));
            }
            if (n->has_mac)
                CHECK((n->mac[0] & 1) == 0);
        }
        CHECK(vm->nr_maps <= SYS_MAX_MAPS);
        for (unsigned int j = 0; j < vm->nr_maps; j++) {
            const sys_map_t *m = &vm->maps[j];
            CHECK(m->region < d->nr_regions);
            uint64_t size = d->regions[m->region].size;
            CHECK(m->base % SYS_PAGE_SIZE == 0);
            CHECK(m->base + size - 1 >= m->base);
            for (unsigned int k = 0; k < j; k++) {
                const sys_map_t *o = &vm->maps[k];
                CHECK(!overlap(m->base, size, o->base, d->regions[o->region].size));
            }
        }
    }
    /* No MAC twice in the whole system. */
    for (unsigned int i = 0; i < d->nr_vms; i++) {
        for (unsigned int j = 0; j < d->vms[i].nr_nets; j++) {
            const sys_net_t *n = &d->vms[i].nets[j];
            if (!n->has_mac)
                continue;
            for (unsigned int k = 0; k <= i; k++) {
                for (unsigned int l = 0; l < (k == i ? j : d->vms[k].nr_nets); l++) {
                    const sys_net_t *o = &d->vms[k].nets[l];
                    CHECK(!o->has_mac || memcmp(o->mac, n->mac, 6) != 0);
                }
            }
        }
    }
}

static void check_errors(const char *err, size_t errlen)
{
    /* The byte past the buffer handed over is the canary. */
    CHECK(err[errlen] == 'Z');
    size_t len = strnlen(err, errlen);
    CHECK(len < errlen);
    CHECK(len > 0);
    unsigned int lines = 1;
    for (const char *p = err; *p; p++) {
        if (*p == '\n') {
            lines++;
            CHECK(strncmp(p + 1, "fuzz.xml:", 9) == 0 || strlen(p + 1) < 9);
        }
    }
    CHECK(strncmp(err, "fuzz.xml:", 9) == 0);
    CHECK(lines <= SYS_MAX_ERRORS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char err[16384 + 1];
    sysdesc_t *d = NULL;

    memset(err, 'Z', sizeof(err));
    int r =
        sysdesc_parse((const char *)data, size, "fuzz.xml", DIR, false, &d, err, sizeof(err) - 1);
    if (r == 0) {
        CHECK(d != NULL);
        CHECK(err[0] == '\0');
        check_model(d);
        sysdesc_free(d);
    } else {
        CHECK(r == -EINVAL);
        CHECK(d == NULL);
        check_errors(err, sizeof(err) - 1);
    }
    return 0;
}
