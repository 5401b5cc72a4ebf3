/*
 * Unit tests for src/vmmkit/sysdesc.c: the examples in docs/examples parse
 * into the expected model, defaults, path resolution, and a table of
 * broken descriptions, each refused with its line and message.
 */
#define _GNU_SOURCE /* asprintf */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmmkit/arm64_virt.h>

#include "vmmkit/sysdesc.h"

#define MiB (1ull << 20)

/* docs/examples/@name, found from this file's path (CMake compiles it by absolute path). */
static char *read_example(const char *name, size_t *len)
{
    char path[4096];
    const char *here = __FILE__;
    const char *tail = strstr(here, "tests/unit/test_sysdesc.c");

    assert_non_null(tail);
    snprintf(path, sizeof(path), "%.*sdocs/examples/%s", (int)(tail - here), here, name);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    char *buf = malloc(SYS_MAX_FILE_SIZE);
    assert_non_null(buf);
    *len = fread(buf, 1, SYS_MAX_FILE_SIZE, f);
    fclose(f);
    return buf;
}

static int parse(const char *xml, sysdesc_t **d, char *err, size_t errlen)
{
    return sysdesc_parse(xml, strlen(xml), "t.xml", "/base", false, d, err, errlen);
}

static void test_full_example(void **state)
{
    char err[4096];
    sysdesc_t *d;
    size_t len;
    char *buf = read_example("full.xml", &len);
    (void)state;

    int r =
        sysdesc_parse(buf, len, "docs/examples/full.xml", "/srv/lab", false, &d, err, sizeof(err));
    free(buf);
    if (r)
        fail_msg("full.xml refused: %s", err);
    assert_string_equal(d->path, "docs/examples/full.xml");
    assert_string_equal(d->name, "lab");
    assert_string_equal(d->control, "/srv/lab/lab.sock");

    assert_int_equal(d->nr_regions, 1);
    assert_string_equal(d->regions[0].name, "ring");
    assert_int_equal(d->regions[0].size, 1 * MiB);
    assert_int_equal(d->regions[0].line, 4);

    assert_int_equal(d->nr_switches, 1);
    assert_string_equal(d->switches[0].name, "lan");
    assert_string_equal(d->switches[0].uplink_tap, "tap0");
    assert_int_equal(d->switches[0].line, 5);

    assert_int_equal(d->nr_vms, 2);
    const sys_vm_t *a = &d->vms[0];
    assert_string_equal(a->name, "a");
    assert_int_equal(a->line, 7);
    assert_int_equal(a->opts.mem_size, 512 * MiB);
    assert_int_equal(a->opts.cpus, 2);
    assert_true(a->opts.transport_pci);
    assert_int_equal(a->opts.gic_version, 3);
    assert_false(a->opts.no_rng);
    assert_false(a->opts.no_reboot);
    assert_int_equal(a->on_crash, SYS_ON_CRASH_RESTART);
    assert_int_equal(a->restart_limit, 5);
    assert_int_equal(a->opts.verbose, 1);
    assert_string_equal(a->opts.kernel, "/srv/lab/vmlinuz");
    assert_string_equal(a->opts.initrd, "/srv/lab/initrd.img");
    assert_null(a->opts.dtb);
    assert_null(a->opts.dump_dtb);
    assert_string_equal(a->opts.cmdline, "console=ttyAMA0 quiet");
    assert_false(a->opts.console_virtio);
    assert_int_equal(a->console_output, SYS_CONSOLE_FILE);
    assert_string_equal(a->console_path, "/srv/lab/logs/a.log");
    assert_int_equal(a->opts.nr_disks, 2);
    assert_string_equal(a->opts.disks[0].path, "/srv/lab/a-root.img");
    assert_false(a->opts.disks[0].read_only);
    assert_string_equal(a->opts.disks[0].serial, "");
    assert_string_equal(a->opts.disks[1].path, "/srv/images/shared.img");
    assert_true(a->opts.disks[1].read_only);
    assert_string_equal(a->opts.disks[1].serial, "shared0");
    assert_int_equal(a->opts.nr_nets, 0);
    assert_int_equal(a->opts.nr_guards, 0);
    assert_int_equal(a->opts.nr_forwards, 0);
    assert_false(a->opts.stats);
    assert_int_equal(a->nr_nets, 2);
    static const uint8_t mac_a0[6] = {0x52, 0x54, 0, 0, 0, 0x01};
    static const uint8_t mac_a1[6] = {0x52, 0x54, 0, 0, 0, 0x11};
    assert_int_equal(a->nets[0].switch_index, 0);
    assert_true(a->nets[0].has_mac);
    assert_memory_equal(a->nets[0].mac, mac_a0, 6);
    assert_int_equal(a->nets[0].line, 17);
    assert_int_equal(a->nets[1].switch_index, -1);
    assert_string_equal(a->nets[1].tap, "tap1");
    assert_true(a->nets[1].has_mac);
    assert_memory_equal(a->nets[1].mac, mac_a1, 6);
    assert_int_equal(a->nr_maps, 1);
    assert_int_equal(a->maps[0].region, 0);
    assert_int_equal(a->maps[0].base, 0x0c000000);
    assert_false(a->maps[0].read_only);
    assert_int_equal(a->maps[0].line, 19);

    const sys_vm_t *b = &d->vms[1];
    assert_string_equal(b->name, "b");
    assert_int_equal(b->line, 22);
    assert_int_equal(b->opts.mem_size, CLI_DEFAULT_MEM);
    assert_int_equal(b->opts.cpus, 1);
    assert_false(b->opts.transport_pci);
    assert_int_equal(b->opts.gic_version, 0);
    assert_true(b->opts.no_rng);
    assert_true(b->opts.no_reboot);
    assert_int_equal(b->on_crash, SYS_ON_CRASH_STOP);
    assert_int_equal(b->restart_limit, 3);
    assert_int_equal(b->opts.verbose, 0);
    assert_string_equal(b->opts.kernel, "/srv/lab/vmlinuz");
    assert_null(b->opts.initrd);
    assert_string_equal(b->opts.dtb, "/srv/lab/b.dtb");
    assert_null(b->opts.cmdline);
    assert_true(b->opts.console_virtio);
    assert_int_equal(b->console_output, SYS_CONSOLE_SOCKET);
    assert_string_equal(b->console_path, "/srv/lab/b.console");
    assert_int_equal(b->opts.nr_disks, 0);
    assert_int_equal(b->nr_nets, 1);
    assert_int_equal(b->nets[0].switch_index, 0);
    assert_false(b->nets[0].has_mac);
    assert_int_equal(b->nr_maps, 1);
    assert_int_equal(b->maps[0].base, 0x0c100000);
    assert_true(b->maps[0].read_only);

    assert_int_equal(d->nr_channels, 2);
    assert_string_equal(d->channels[0].name, "ping");
    assert_int_equal(d->channels[0].line, 30);
    assert_int_equal(d->channels[0].region, -1);
    assert_int_equal(d->channels[0].size, 64 << 10);
    assert_int_equal(d->channels[0].vm[0], 0);
    assert_int_equal(d->channels[0].vm[1], 1);
    assert_string_equal(d->channels[1].name, "bulk");
    assert_int_equal(d->channels[1].region, 0);
    assert_int_equal(d->channels[1].size, 1 * MiB);
    assert_int_equal(d->channels[1].vm[0], 1);
    assert_int_equal(d->channels[1].vm[1], 0);

    assert_int_equal(sysdesc_find_vm(d, "a"), 0);
    assert_int_equal(sysdesc_find_vm(d, "b"), 1);
    assert_int_equal(sysdesc_find_vm(d, "c"), -1);
    sysdesc_free(d);
}

/* The example the integration test runs: the file names it promises. */
static void test_pair_example(void **state)
{
    char err[4096];
    sysdesc_t *d;
    size_t len;
    char *buf = read_example("pair.xml", &len);
    (void)state;

    int r = sysdesc_parse(buf, len, "pair.xml", "/x", false, &d, err, sizeof(err));
    free(buf);
    if (r)
        fail_msg("pair.xml refused: %s", err);
    assert_string_equal(d->name, "pair");
    assert_int_equal(d->nr_vms, 2);
    for (unsigned int i = 0; i < 2; i++) {
        assert_string_equal(d->vms[i].name, i ? "b" : "a");
        assert_string_equal(d->vms[i].opts.kernel, "/x/vmlinuz");
        assert_string_equal(d->vms[i].opts.initrd, "/x/initrd.img");
        assert_true(d->vms[i].opts.transport_pci);
        assert_int_equal(d->vms[i].console_output, SYS_CONSOLE_PREFIX);
        assert_int_equal(d->vms[i].nr_nets, 1);
        assert_int_equal(d->vms[i].nets[0].switch_index, 0);
    }
    assert_int_equal(d->nr_switches, 1);
    assert_int_equal(d->nr_channels, 1);
    assert_int_equal(d->nr_regions, 0);
    assert_string_equal(d->control, "");
    sysdesc_free(d);
}

static void test_defaults_and_paths(void **state)
{
    char err[1024];
    sysdesc_t *d;
    (void)state;

    const char *xml = "<system><virtual_machine name='only-1'><kernel path='img/k'/>"
                      "<initrd path='/abs/i'/><cmdline/></virtual_machine></system>";
    int r = sysdesc_parse(xml, strlen(xml), "/etc/vmmkit/my system.v2.xml", "/etc/vmmkit/", false,
                          &d, err, sizeof(err));
    if (r)
        fail_msg("refused: %s", err);
    assert_string_equal(d->name, "my_system_v2");
    assert_string_equal(d->path, "/etc/vmmkit/my system.v2.xml");
    assert_string_equal(d->control, "");
    const sys_vm_t *vm = &d->vms[0];
    assert_string_equal(vm->name, "only-1");
    assert_string_equal(vm->opts.kernel, "/etc/vmmkit/img/k");
    assert_string_equal(vm->opts.initrd, "/abs/i");
    assert_string_equal(vm->opts.cmdline, "");
    assert_int_equal(vm->opts.mem_size, 256 * MiB);
    assert_int_equal(vm->opts.cpus, 1);
    assert_false(vm->opts.transport_pci);
    assert_int_equal(vm->opts.gic_version, 0);
    assert_false(vm->opts.no_rng);
    assert_false(vm->opts.no_reboot);
    assert_false(vm->opts.console_virtio);
    assert_int_equal(vm->console_output, SYS_CONSOLE_PREFIX);
    assert_string_equal(vm->console_path, "");
    assert_int_equal(vm->on_crash, SYS_ON_CRASH_REPORT);
    assert_int_equal(vm->restart_limit, 3);
    assert_int_equal(vm->opts.verbose, 0);
    assert_int_equal(vm->nr_nets + vm->nr_maps + vm->opts.nr_disks, 0);
    sysdesc_free(d);

    /* No directory: relative paths stay relative; numbers and booleans in their other forms. */
    xml = "<system control='c.sock'>\n"
          "<virtual_machine name='v' memory='1024' cpus='512' gic='auto' rng='no' reboot='0' "
          "verbose='2' restart_limit='0'>\n"
          "<kernel path='k'/>\n"
          "<cmdline><![CDATA[ a=<1> ]]>\n\t b &amp; c\n</cmdline>\n"
          "<console type='virtio' output='none'/>\n"
          "</virtual_machine></system>";
    r = sysdesc_parse(xml, strlen(xml), "x", NULL, false, &d, err, sizeof(err));
    if (r)
        fail_msg("refused: %s", err);
    assert_string_equal(d->name, "x");
    assert_string_equal(d->control, "c.sock");
    vm = &d->vms[0];
    assert_string_equal(vm->opts.kernel, "k");
    assert_int_equal(vm->opts.mem_size, 1024 * MiB);
    assert_int_equal(vm->opts.cpus, 512);
    assert_true(vm->opts.no_rng);
    assert_true(vm->opts.no_reboot);
    assert_int_equal(vm->opts.verbose, 2);
    assert_int_equal(vm->restart_limit, 0);
    assert_string_equal(vm->opts.cmdline, "a=<1>    b & c");
    assert_true(vm->opts.console_virtio);
    assert_int_equal(vm->console_output, SYS_CONSOLE_NONE);
    sysdesc_free(d);

    /* Two NICs of one VM on one switch, a region mapped into two VMs at the same address. */
    xml = "<system><switch name='s'/><memory_region name='m' size='0x2000'/>"
          "<virtual_machine name='a'><kernel path='k'/><net switch='s'/><net switch='s'/>"
          "<map mr='m' vaddr='0x0c000000'/><map mr='m' vaddr='0x0c002000'/></virtual_machine>"
          "<virtual_machine name='b'><kernel path='k'/><map mr='m' vaddr='0x0c000000'/>"
          "<map mr='m' vaddr='0x3fffe000' perms='r'/></virtual_machine></system>";
    r = parse(xml, &d, err, sizeof(err));
    if (r)
        fail_msg("refused: %s", err);
    assert_int_equal(d->vms[0].nr_nets, 2);
    assert_int_equal(d->vms[0].nr_maps, 2);
    assert_int_equal(d->vms[1].nr_maps, 2);
    assert_int_equal(d->regions[0].size, 0x2000);
    sysdesc_free(d);
}

#define VM_A "<virtual_machine name=\"a\"><kernel path=\"k\"/></virtual_machine>"
#define VM_B "<virtual_machine name=\"b\"><kernel path=\"k\"/></virtual_machine>"
#define NAME32 "abcdefghijabcdefghijabcdefghij12"
#define NAME48 NAME32 "abcdefghijabcdef"

static const struct bad_case {
    const char *xml;
    const char *prefix; /* the first error's "FILE:LINE:" */
    const char *msg;    /* in the first error */
} bad_cases[] = {
    {"this is not XML", "t.xml:1:", "malformed XML"},
    {"<system>\n" VM_A "\n</sistem>", "t.xml:3:", "malformed XML"},
    {"<system>\n<virtual_machine name='a'>\n<kernel path='k'/>\n", "t.xml:4:", "malformed XML"},
    {"", "t.xml:1:", "malformed XML"},
    {"<system>\n" VM_A "\n<x>&bogus;</x></system>", "t.xml:3:", "malformed XML"},
    {"<?xml version='1.0'?>\n<!DOCTYPE system [\n<!ENTITY x 'y'>\n]>\n<system>&x;</system>",
     "t.xml:", "DTDs and entities are not accepted"},
    {"<?xml version='1.0'?>\n<!DOCTYPE system SYSTEM 'file:///etc/passwd'>\n<system/>",
     "t.xml:2:", "DTDs and entities are not accepted"},
    {"<?xml version='1.0'?>\n<systems/>",
     "t.xml:2:", "the root element is <systems>, not <system>"},
    {"<s:system xmlns:s='urn:x'/>", "t.xml:1:",
     "the root element <s:system> is in the namespace 'urn:x': the description uses none"},
    {"<system xmlns='urn:vmmkit'/>", "t.xml:1:", "the root element <system> is in the namespace"},
    {"<system>\n<system/>\n" VM_A "</system>", "t.xml:2:", "unknown element <system> in <system>"},
    {"<system>\n" VM_A "\n<vm/>\n</system>", "t.xml:3:",
     "unknown element <vm> in <system> (allowed: memory_region, switch, virtual_machine, channel)"},
    {"<system>\n<virtual_machine name='a'>\n<kernel path='k'/>\n<kernal path='k'/>\n"
     "</virtual_machine></system>",
     "t.xml:4:", "unknown element <kernal> in <virtual_machine> (allowed: kernel"},
    {"<system>\n<virtual_machine name='a'>\n<kernel path='k'><x/></kernel>\n"
     "</virtual_machine></system>",
     "t.xml:3:", "unknown element <x> in <kernel> (it takes no elements)"},
    {"<system xmlns:v='urn:x'>\n<virtual_machine name='a'>\n<v:kernel path='k'/>\n"
     "<kernel path='k'/></virtual_machine></system>",
     "t.xml:3:", "unknown element <v:kernel> in <virtual_machine>: it is in the namespace 'urn:x'"},
    {"<system>\n<virtual_machine name='a'>\n<kernel path='k' mode='x'/>\n"
     "</virtual_machine></system>",
     "t.xml:3:", "unknown attribute 'mode' on <kernel> (allowed: path)"},
    {"<system colour='blue'>\n" VM_A "</system>",
     "t.xml:1:", "unknown attribute 'colour' on <system> (allowed: name, control)"},
    {"<system>\n<virtual_machine>\n<kernel path='k'/>\n</virtual_machine></system>",
     "t.xml:2:", "<virtual_machine> needs a name= attribute"},
    {"<system>\n<virtual_machine name='a'>\n<kernel/>\n</virtual_machine></system>",
     "t.xml:3:", "<kernel> needs a path= attribute"},
    {"<system>\n<virtual_machine name='a'>\n<initrd path='i'/>\n</virtual_machine></system>",
     "t.xml:2:", "virtual_machine 'a' has no <kernel"},
    {"<system>\n<virtual_machine name='a'>\n<kernel path='k'/>\n<kernel path='k2'/>\n"
     "</virtual_machine></system>",
     "t.xml:4:", "<kernel> given twice in virtual_machine 'a' (first at line 3"},
    {"<system>\n<virtual_machine name='a'>\n<kernel path='k'/><cmdline>x</cmdline>\n"
     "<cmdline>y</cmdline></virtual_machine></system>",
     "t.xml:4:", "<cmdline> given twice"},
    {"<system>\n<virtual_machine name='a'>oops\n<kernel path='k'/>\n</virtual_machine></system>",
     "t.xml:", "unexpected text 'oops' in <virtual_machine>"},
    {"<system>\n<virtual_machine name='a'>\n<kernel path='k'>vmlinuz</kernel>\n"
     "</virtual_machine></system>",
     "t.xml:", "unexpected text 'vmlinuz' in <kernel>"},
    {"<system>\n<virtual_machine name='a b'>\n<kernel path='k'/>\n</virtual_machine></system>",
     "t.xml:2:", "virtual_machine name 'a b' must be 1 to 31 of A-Z a-z 0-9 _ -"},
    {"<system>\n<virtual_machine name='" NAME32 "'>\n<kernel path='k'/>\n"
     "</virtual_machine></system>",
     "t.xml:2:", "must be 1 to 31"},
    {"<system>\n" VM_A "\n" VM_B "\n" VM_A "\n</system>",
     "t.xml:4:", "virtual_machine 'a' is defined twice (first defined at line 2)"},
    {"<system>\n<virtual_machine name='a' memory='4T'>\n<kernel path='k'/>\n"
     "</virtual_machine></system>",
     "t.xml:2:", "memory '4T' is too large (at most 1T)"},
    {"<system>\n<virtual_machine name='a' memory='lots'><kernel path='k'/>\n"
     "</virtual_machine></system>",
     "t.xml:2:", "memory 'lots' is not a size"},
    {"<system>\n<virtual_machine name='a' memory='0'><kernel path='k'/>\n"
     "</virtual_machine></system>",
     "t.xml:2:", "memory must be more than 0"},
    {"<system>\n<virtual_machine name='a' cpus='0'><kernel path='k'/></virtual_machine></system>",
     "t.xml:2:", "cpus '0' must be a number from 1 to 512"},
    {"<system>\n<virtual_machine name='a' cpus='+2'><kernel path='k'/></virtual_machine></system>",
     "t.xml:2:", "cpus '+2'"},
    {"<system>\n<virtual_machine name='a' gic='4'><kernel path='k'/></virtual_machine></system>",
     "t.xml:2:", "gic '4' must be auto, 2 or 3"},
    {"<system>\n<virtual_machine name='a' transport='virtio'><kernel path='k'/>"
     "</virtual_machine></system>",
     "t.xml:2:", "transport 'virtio' must be mmio or pci"},
    {"<system>\n<virtual_machine name='a' rng='maybe'><kernel path='k'/></virtual_machine>"
     "</system>",
     "t.xml:2:", "rng 'maybe' must be true or false"},
    {"<system>\n<virtual_machine name='a' reboot=''><kernel path='k'/></virtual_machine>"
     "</system>",
     "t.xml:2:", "reboot '' must be true or false"},
    {"<system>\n<virtual_machine name='a' on_crash='explode'><kernel path='k'/>"
     "</virtual_machine></system>",
     "t.xml:2:", "on_crash 'explode' must be report, restart or stop"},
    {"<system>\n<virtual_machine name='a' restart_limit='101'><kernel path='k'/>"
     "</virtual_machine></system>",
     "t.xml:2:", "restart_limit '101' must be a number from 0 to 100"},
    {"<system>\n<virtual_machine name='a' verbose='3'><kernel path='k'/></virtual_machine>"
     "</system>",
     "t.xml:2:", "verbose '3' must be 0, 1 or 2"},
    {"<system>\n<virtual_machine name='a'><kernel path=''/></virtual_machine></system>",
     "t.xml:2:", "<kernel>: the path is empty"},
    {"<system>\n<virtual_machine name='a'><kernel path='k'/>\n<console type='hvc'/>\n"
     "</virtual_machine></system>",
     "t.xml:3:", "<console> type 'hvc' must be serial or virtio"},
    {"<system>\n<virtual_machine name='a'><kernel path='k'/>\n<console output='tty'/>\n"
     "</virtual_machine></system>",
     "t.xml:3:", "<console> output 'tty' must be prefix, file, pty, socket or none"},
    {"<system>\n<virtual_machine name='a'><kernel path='k'/>\n<console output='file'/>\n"
     "</virtual_machine></system>",
     "t.xml:3:", "<console output=\"file\"> needs a path= attribute"},
    {"<system>\n<virtual_machine name='a'><kernel path='k'/>\n<console output='pty' path='p'/>\n"
     "</virtual_machine></system>",
     "t.xml:3:", "<console output=\"pty\"> takes no path="},
    {"<system>\n<virtual_machine name='a'><kernel path='k'/>\n<console output='socket' "
     "path='" NAME48 NAME48 NAME48 "'/>\n</virtual_machine></system>",
     "t.xml:3:", "<console> socket: path '/base/abcdefghij"},
    {"<system control='" NAME48 NAME48 NAME48 "'>\n" VM_A "</system>",
     "t.xml:1:", "control socket: path '/base/abcde"},
    {"<system>\n<virtual_machine name='a'><kernel path='k'/>\n"
     "<disk path='d' serial='123456789012345678901'/>\n</virtual_machine></system>",
     "t.xml:3:", "<disk> serial '123456789012345678901' is longer than 20 bytes"},
    {"<system>\n<virtual_machine name='a'><kernel path='k'/>\n<disk path='d' readonly='ro'/>\n"
     "</virtual_machine></system>",
     "t.xml:3:", "<disk> readonly 'ro' must be true or false"},
    {"<system>\n<virtual_machine name='a'><kernel path='k'/>\n"
     "<disk path='d'/><disk path='d'/><disk path='d'/><disk path='d'/>\n"
     "<disk path='d'/><disk path='d'/><disk path='d'/><disk path='d'/>\n"
     "<disk path='d'/>\n</virtual_machine></system>",
     "t.xml:5:", "more than 8 <disk> in virtual_machine 'a'"},
    {"<system><switch name='s'/>\n<virtual_machine name='a'><kernel path='k'/>\n"
     "<net switch='s' tap='t'/>\n</virtual_machine></system>",
     "t.xml:3:", "<net> needs exactly one of switch= and tap="},
    {"<system>\n<virtual_machine name='a'><kernel path='k'/>\n<net mac='52:54:00:00:00:01'/>\n"
     "</virtual_machine></system>",
     "t.xml:3:", "<net> needs exactly one of switch= and tap="},
    {"<system>\n<virtual_machine name='a'><kernel path='k'/>\n<net switch='lan'/>\n"
     "</virtual_machine></system>",
     "t.xml:3:", "<net> switch 'lan' is not defined (no <switch name=\"lan\">)"},
    {"<system>\n<virtual_machine name='a'><kernel path='k'/>\n<net tap='t' "
     "mac='01:00:00:00:00:01'/>\n"
     "</virtual_machine></system>",
     "t.xml:3:", "<net> mac '01:00:00:00:00:01' is not a unicast xx:xx:xx:xx:xx:xx address"},
    {"<system>\n<virtual_machine name='a'><kernel path='k'/>\n<net tap='a/b'/>\n"
     "</virtual_machine></system>",
     "t.xml:3:", "<net> tap 'a/b' is not an interface name"},
    {"<system><switch name='s'/>\n<virtual_machine name='a'><kernel path='k'/>\n"
     "<net switch='s' mac='52:54:00:00:00:01'/></virtual_machine>\n"
     "<virtual_machine name='b'><kernel path='k'/>\n<net switch='s' mac='52:54:00:00:00:01'/>\n"
     "</virtual_machine></system>",
     "t.xml:5:", "mac 52:54:00:00:00:01 is already used at line 3"},
    {"<system><switch name='s' uplink='tap0'/>\n<virtual_machine name='a'><kernel path='k'/>\n"
     "<net tap='tap0'/>\n</virtual_machine></system>",
     "t.xml:3:", "tap tap0 is already used at line 1"},
    {"<system>\n<virtual_machine name='a'><kernel path='k'/>\n<map mr='m' vaddr='0x0c000000'/>\n"
     "</virtual_machine></system>",
     "t.xml:3:", "<map> mr 'm' is not defined (no <memory_region name=\"m\">)"},
    {"<system><memory_region name='m' size='4K'/>\n<virtual_machine name='a'>"
     "<kernel path='k'/>\n<map mr='m' vaddr='0x0c000800'/>\n</virtual_machine></system>",
     "t.xml:3:", "<map> vaddr 0xc000800 is not page (4K) aligned"},
    {"<system><memory_region name='m' size='4K'/>\n<virtual_machine name='a'>"
     "<kernel path='k'/>\n<map mr='m' vaddr='here'/>\n</virtual_machine></system>",
     "t.xml:3:", "<map> vaddr 'here' is not an address"},
    {"<system><memory_region name='m' size='1M'/>\n<virtual_machine name='a'>"
     "<kernel path='k'/>\n<map mr='m' vaddr='0x0c000000'/>\n<map mr='m' vaddr='0x0c0ff000'/>\n"
     "</virtual_machine></system>",
     "t.xml:4:", "overlaps the <map> at line 3 (0xc000000-0xc0fffff)"},
    {"<system><memory_region name='m' size='1M'/>\n<virtual_machine name='a'>"
     "<kernel path='k'/>\n<map mr='m' vaddr='0xfffffffffff00000'/>\n<map mr='m' "
     "vaddr='0xfffffffffff80000'/>\n</virtual_machine></system>",
     "t.xml:4:", "wraps past the top of the address space"},
    {"<system><memory_region name='m' size='4K'/>\n<virtual_machine name='a'>"
     "<kernel path='k'/>\n<map mr='m' vaddr='0x0c000000' perms='w'/>\n"
     "</virtual_machine></system>",
     "t.xml:3:", "<map> perms 'w' must be rw or r"},
    {"<system>\n<memory_region name='m' size='1000'/>\n" VM_A "</system>",
     "t.xml:2:", "memory_region 'm': size '1000' must be a multiple of 4K from 4K to 1G"},
    {"<system>\n<memory_region name='m' size='2G'/>\n" VM_A "</system>",
     "t.xml:2:", "must be a multiple of 4K from 4K to 1G"},
    {"<system>\n<memory_region name='m' size='big'/>\n" VM_A "</system>",
     "t.xml:2:", "memory_region 'm': size 'big' is not a size"},
    {"<system>\n<memory_region name='m' size='4K'/>\n<memory_region name='m' size='8K'/>\n" VM_A
     "</system>",
     "t.xml:3:", "memory_region 'm' is defined twice (first defined at line 2)"},
    {"<system>\n<switch name='s'/>\n<switch name='s'/>\n" VM_A "</system>",
     "t.xml:3:", "switch 's' is defined twice (first defined at line 2)"},
    {"<system>\n<switch name='s' uplink='0123456789abcdef'/>\n" VM_A "</system>",
     "t.xml:2:", "switch uplink '0123456789abcdef' is not an interface name"},
    {"<system>\n" VM_A "\n<channel name='c' size='4K'><end vm='a'/>\n<end vm='zz'/></channel>\n"
     "</system>",
     "t.xml:4:", "channel 'c': <end> vm 'zz' is not defined"},
    {"<system>\n" VM_A VM_B "\n<channel name='c' size='4K'>\n<end vm='a'/></channel>\n</system>",
     "t.xml:3:", "channel 'c' has 1 <end> elements: it needs exactly two"},
    {"<system>\n" VM_A VM_B "\n<channel name='c' size='4K'>\n<end vm='a'/><end vm='b'/>"
     "<end vm='a'/></channel>\n</system>",
     "t.xml:3:", "channel 'c' has 3 <end> elements"},
    {"<system>\n" VM_A VM_B "\n<channel name='c' size='4K'>\n<end vm='a'/><end vm='a'/>"
     "</channel>\n</system>",
     "t.xml:3:", "channel 'c' has virtual_machine 'a' at both ends"},
    {"<system>\n" VM_A VM_B "\n<channel name='c' size='12K'>\n<end vm='a'/><end vm='b'/>"
     "</channel>\n</system>",
     "t.xml:3:", "channel 'c': size '12K' must be a power of two from 4K to 1G"},
    {"<system><memory_region name='m' size='4K'/>\n" VM_A VM_B
     "\n<channel name='c' size='4K' memory_region='m'>\n<end vm='a'/><end vm='b'/>"
     "</channel>\n</system>",
     "t.xml:3:", "channel 'c' needs exactly one of size= and memory_region="},
    {"<system><memory_region name='m' size='12K'/>\n" VM_A VM_B
     "\n<channel name='c' memory_region='m'>\n<end vm='a'/><end vm='b'/></channel>\n</system>",
     "t.xml:3:",
     "channel 'c': memory_region 'm' is 0x3000 bytes: a channel's memory must be a "
     "power of two"},
    {"<system>\n" VM_A VM_B "\n<channel name='c' memory_region='r'>\n<end vm='a'/><end vm='b'/>"
     "</channel>\n</system>",
     "t.xml:3:", "channel 'c': memory_region 'r' is not defined"},
    {"<system>\n" VM_A VM_B "\n<channel name='" NAME48 "' size='4K'>\n<end vm='a'/><end vm='b'/>"
     "</channel>\n</system>",
     "t.xml:3:", "channel name '" NAME48 "' must be 1 to 47"},
    {"<system>\n" VM_A VM_B "\n<channel name='c' size='4K'><end vm='a'/><end vm='b'/></channel>\n"
     "<channel name='c' size='4K'><end vm='a'/><end vm='b'/></channel>\n</system>",
     "t.xml:4:", "channel 'c' is defined twice (first defined at line 3)"},
    {"<system>\n" VM_A VM_B "\n<channel name='c' size='4K'><end vm='a'/><link vm='b'/>"
     "</channel>\n</system>",
     "t.xml:3:", "unknown element <link> in <channel> (allowed: end)"},
    {"<system>\n<!-- nothing -->\n</system>",
     "t.xml:1:", "no <virtual_machine> in <system>: a system needs at least one"},
    {"<system><a><b><c><d><e><f><g>\n<h><i/></h></g></f></e></d></c></b></a></system>",
     "t.xml:2:", "<h> is nested more than 8 elements deep"},
    {"<system>\n<virtual_machine name='a'><kernel path='k'/>\n<cmdline>a <b/> c</cmdline>\n"
     "</virtual_machine></system>",
     "t.xml:3:", "unknown element <b> in <cmdline> (it takes only text)"},
};

static void test_bad_descriptions(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        char err[4096];
        sysdesc_t *d = (sysdesc_t *)1;
        int r = parse(c->xml, &d, err, sizeof(err));
        if (r != -EINVAL || d)
            fail_msg("case %zu: got %d (want -EINVAL), err '%s'", i, r, err);
        if (getenv("TEST_SYSDESC_SHOW"))
            printf("case %zu:\n%s\n", i, err);
        const char *first_end = strchr(err, '\n');
        size_t first_len = first_end ? (size_t)(first_end - err) : strlen(err);
        if (strncmp(err, c->prefix, strlen(c->prefix)) != 0 ||
            !memmem(err, first_len, c->msg, strlen(c->msg)))
            fail_msg("case %zu: want '%s...%s', got:\n%s", i, c->prefix, c->msg, err);
    }
}

/* Descriptions too long to write inline: a long cmdline, many channels, a huge input. */
static void test_bad_generated(void **state)
{
    char err[4096];
    sysdesc_t *d;
    char *xml;
    (void)state;

    char *cmd = malloc(SYS_CMDLINE_MAX + 2);
    memset(cmd, 'x', SYS_CMDLINE_MAX + 1);
    cmd[SYS_CMDLINE_MAX + 1] = '\0';
    assert_true(asprintf(&xml,
                         "<system>\n<virtual_machine name='a'><kernel path='k'/>\n"
                         "<cmdline>  %s  </cmdline></virtual_machine></system>",
                         cmd) > 0);
    assert_int_equal(parse(xml, &d, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "t.xml:3: <cmdline> is 2049 bytes, more than 2048"));
    free(xml);
    cmd[SYS_CMDLINE_MAX] = '\0';
    assert_true(asprintf(&xml,
                         "<system>\n<virtual_machine name='a'><kernel path='k'/>\n"
                         "<cmdline>  %s  </cmdline></virtual_machine></system>",
                         cmd) > 0);
    assert_int_equal(parse(xml, &d, err, sizeof(err)), 0);
    assert_int_equal(strlen(d->vms[0].opts.cmdline), SYS_CMDLINE_MAX);
    sysdesc_free(d);
    free(xml);
    free(cmd);

    /* Nine channels at VM a: the ninth (line 11) is one too many. */
    size_t cap = 8192, used = 0;
    xml = malloc(cap);
    used += (size_t)snprintf(xml + used, cap - used, "<system>\n" VM_A VM_B "\n");
    for (int i = 0; i < 9; i++)
        used += (size_t)snprintf(xml + used, cap - used,
                                 "<channel name='c%d' size='4K'><end vm='a'/><end vm='b'/>"
                                 "</channel>\n",
                                 i);
    snprintf(xml + used, cap - used, "</system>");
    assert_int_equal(parse(xml, &d, err, sizeof(err)), -EINVAL);
    if (!strstr(err, "t.xml:11: virtual_machine 'a' is an end of more than 8 channels"))
        fail_msg("got: %s", err);
    free(xml);

    /* Seventeen VMs. */
    xml = malloc(cap);
    used = (size_t)snprintf(xml, cap, "<system>\n");
    for (int i = 0; i < 17; i++)
        used += (size_t)snprintf(xml + used, cap - used,
                                 "<virtual_machine name='v%d'><kernel path='k'/>"
                                 "</virtual_machine>\n",
                                 i);
    snprintf(xml + used, cap - used, "</system>");
    assert_int_equal(parse(xml, &d, err, sizeof(err)), -EINVAL);
    if (strcmp(err, "t.xml:18: more than 16 virtual machines") != 0)
        fail_msg("got: %s", err);
    free(xml);

    /* More than 1 MiB: refused unread. */
    size_t big = SYS_MAX_FILE_SIZE + 1;
    xml = malloc(big);
    memset(xml, ' ', big);
    assert_int_equal(sysdesc_parse(xml, big, "t.xml", NULL, false, &d, err, sizeof(err)), -EINVAL);
    assert_null(d);
    assert_string_equal(err, "t.xml: the description is 1048577 bytes, more than the limit of "
                             "1048576");
    free(xml);
}

/* Every error in one pass, sorted by line, at most SYS_MAX_ERRORS of them. */
static void test_many_errors(void **state)
{
    char err[8192];
    sysdesc_t *d;
    (void)state;

    const char *xml = "<system>\n"
                      "<channel name='c' size='3K'><end vm='zz'/></channel>\n" /* 2 */
                      "<virtual_machine name='a' cpus='x'>\n"                  /* 3 */
                      "<net switch='nope'/>\n"                                 /* 4 */
                      "</virtual_machine>\n"
                      "<bogus/>\n" /* 6 */
                      "</system>";
    assert_int_equal(parse(xml, &d, err, sizeof(err)), -EINVAL);
    assert_string_equal(
        err, "t.xml:2: channel 'c': size '3K' must be a multiple of 4K from 4K to 1G\n"
             "t.xml:2: channel 'c': <end> vm 'zz' is not defined (no <virtual_machine "
             "name=\"zz\">)\n"
             "t.xml:2: channel 'c' has 1 <end> elements: it needs exactly two\n"
             "t.xml:3: cpus 'x' must be a number from 1 to 512\n"
             "t.xml:3: virtual_machine 'a' has no <kernel path=\"...\"/>\n"
             "t.xml:4: <net> switch 'nope' is not defined (no <switch name=\"nope\">)\n"
             "t.xml:6: unknown element <bogus> in <system> (allowed: memory_region, switch, "
             "virtual_machine, channel)");

    /* 30 bad elements: the first 20 by line are reported. */
    size_t cap = 4096, used = 0;
    char *many = malloc(cap);
    used += (size_t)snprintf(many + used, cap - used, "<system>\n");
    for (int i = 0; i < 30; i++)
        used += (size_t)snprintf(many + used, cap - used, "<bad%d/>\n", i);
    snprintf(many + used, cap - used, "%s</system>", VM_A);
    assert_int_equal(parse(many, &d, err, sizeof(err)), -EINVAL);
    free(many);
    unsigned int lines = 1;
    for (const char *p = err; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, SYS_MAX_ERRORS);
    assert_true(strncmp(err, "t.xml:2: unknown element <bad0>", 31) == 0);
    assert_non_null(strstr(err, "t.xml:21: unknown element <bad19>"));
    assert_null(strstr(err, "<bad20>"));
    assert_int_equal(err[strlen(err) - 1], ')');
}

/* A small error buffer is filled, terminated and never overrun. */
static void test_small_errlen(void **state)
{
    const char *xml = "<system>\n<bogus/>\n<bogus/>\n" VM_A "</system>";
    sysdesc_t *d;
    (void)state;

    for (size_t len = 0; len < 200; len++) {
        char buf[256];
        memset(buf, 'Z', sizeof(buf));
        assert_int_equal(parse(xml, &d, len ? buf : NULL, len), -EINVAL);
        assert_null(d);
        for (size_t i = len; i < sizeof(buf); i++) {
            if (buf[i] != 'Z')
                fail_msg("errlen %zu: byte %zu written", len, i);
        }
        if (len) {
            assert_true(memchr(buf, '\0', len) != NULL);
            assert_true(strncmp(buf, "t.xml:2: unknown element", len - 1 < 24 ? len - 1 : 24) == 0);
        }
    }
    /* And sysdesc_load's own messages. */
    char small[8];
    memset(small, 'Z', sizeof(small));
    assert_int_equal(sysdesc_load("/nonexistent/dir/x.xml", &d, small, 4), -ENOENT);
    assert_string_equal(small, "/no");
    assert_int_equal(small[4], 'Z');
}

/* Files: sysdesc_load resolves against the file's directory and checks what it names. */
static void test_files(void **state)
{
    char dir[] = "/tmp/test_sysdesc.XXXXXX";
    char path[256], err[4096];
    sysdesc_t *d;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/vmlinuz", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("kernel", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/disk.img", dir);
    f = fopen(path, "w");
    fclose(f);
    snprintf(path, sizeof(path), "%s/sub", dir);
    assert_int_equal(mkdir(path, 0700), 0);

    snprintf(path, sizeof(path), "%s/good.xml", dir);
    f = fopen(path, "w");
    fputs("<system><virtual_machine name='a'><kernel path='vmlinuz'/>"
          "<disk path='disk.img' readonly='true'/></virtual_machine></system>\n",
          f);
    fclose(f);
    int r = sysdesc_load(path, &d, err, sizeof(err));
    if (r)
        fail_msg("refused: %s", err);
    char want[256];
    snprintf(want, sizeof(want), "%s/vmlinuz", dir);
    assert_string_equal(d->vms[0].opts.kernel, want);
    snprintf(want, sizeof(want), "%s/disk.img", dir);
    assert_string_equal(d->vms[0].opts.disks[0].path, want);
    assert_string_equal(d->name, "good");
    assert_string_equal(d->path, path);
    sysdesc_free(d);

    /* A relative file name: still resolved to an absolute directory. */
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(dir), 0);
    r = sysdesc_load("good.xml", &d, err, sizeof(err));
    assert_int_equal(chdir(cwd), 0);
    if (r)
        fail_msg("refused: %s", err);
    snprintf(want, sizeof(want), "%s/vmlinuz", dir);
    assert_string_equal(d->vms[0].opts.kernel, want);
    sysdesc_free(d);

    snprintf(path, sizeof(path), "%s/bad.xml", dir);
    f = fopen(path, "w");
    fputs("<system>\n<virtual_machine name='a'>\n<kernel path='missing-kernel'/>\n"
          "<initrd path='sub'/>\n<dtb path='/nonexistent/board.dtb'/>\n"
          "<disk path='sub'/>\n</virtual_machine></system>\n",
          f);
    fclose(f);
    assert_int_equal(sysdesc_load(path, &d, err, sizeof(err)), -EINVAL);
    assert_null(d);
    char expect[2048];
    snprintf(expect, sizeof(expect),
             "%s:3: <kernel> '%s/missing-kernel': No such file or directory\n"
             "%s:4: <initrd> '%s/sub' is not a regular file\n"
             "%s:5: <dtb> '/nonexistent/board.dtb': No such file or directory\n"
             "%s:6: <disk> '%s/sub' is not a regular file or a block device",
             path, dir, path, dir, path, path, dir);
    assert_string_equal(err, expect);

    /* The same bytes with check_files off are fine. */
    const char *same = "<system><virtual_machine name='a'><kernel path='missing-kernel'/>"
                       "</virtual_machine></system>";
    assert_int_equal(sysdesc_parse(same, strlen(same), "x.xml", dir, false, &d, err, sizeof(err)),
                     0);
    sysdesc_free(d);

    /* The file itself: missing, a directory, too large. */
    snprintf(path, sizeof(path), "%s/none.xml", dir);
    assert_int_equal(sysdesc_load(path, &d, err, sizeof(err)), -ENOENT);
    snprintf(expect, sizeof(expect), "%s: No such file or directory", path);
    assert_string_equal(err, expect);
    snprintf(path, sizeof(path), "%s/sub", dir);
    assert_int_equal(sysdesc_load(path, &d, err, sizeof(err)), -EINVAL);
    snprintf(expect, sizeof(expect), "%s: not a regular file", path);
    assert_string_equal(err, expect);
    snprintf(path, sizeof(path), "%s/big.xml", dir);
    int fd = open(path, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, SYS_MAX_FILE_SIZE + 1), 0);
    close(fd);
    assert_int_equal(sysdesc_load(path, &d, err, sizeof(err)), -EFBIG);
    assert_non_null(strstr(err, "more than the limit of 1048576"));

    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_example),       cmocka_unit_test(test_pair_example),
        cmocka_unit_test(test_defaults_and_paths), cmocka_unit_test(test_bad_descriptions),
        cmocka_unit_test(test_bad_generated),      cmocka_unit_test(test_many_errors),
        cmocka_unit_test(test_small_errlen),       cmocka_unit_test(test_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
