/* Unit tests for src/vmmkit/cli.c: sizes, addresses and "run" options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "vmmkit/cli.h"

#define MiB (1ull << 20)

static void test_sizes(void **state)
{
    static const struct {
        const char *in;
        int ret;
        uint64_t out;
    } cases[] = {
        {"256M", 0, 256 * MiB},
        {"1G", 0, 1ull << 30},
        {"1g", 0, 1ull << 30},
        {"512", 0, 512 * MiB},
        {"64K", 0, 64 << 10},
        {"2T", 0, 2ull << 40},
        {"1GiB", 0, 1ull << 30},
        {"1GB", 0, 1ull << 30},
        {"4096B", 0, 4096},
        {"0", 0, 0},
        {"", -EINVAL, 0},
        {"M", -EINVAL, 0},
        {"12Q", -EINVAL, 0},
        {"1.5G", -EINVAL, 0},
        {"-1G", -EINVAL, 0},
        {" 1G", -EINVAL, 0},
        {"1G ", -EINVAL, 0},
        {"1GG", -EINVAL, 0},
        {"99999999999999999999", -ERANGE, 0},
        {"17179869184G", -ERANGE, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t v = 0;
        int r = cli_parse_size(cases[i].in, MiB, &v);
        if (r != cases[i].ret)
            fail_msg("'%s': got %d want %d", cases[i].in, r, cases[i].ret);
        if (r == 0 && v != cases[i].out)
            fail_msg("'%s': got %llu want %llu", cases[i].in, (unsigned long long)v,
                     (unsigned long long)cases[i].out);
    }
}

static void test_addrs_and_lengths(void **state)
{
    static const struct {
        const char *in;
        int ret;
        uint64_t out;
    } addrs[] = {
        {"0x0c000000", 0, 0x0c000000},
        {"0XC000000", 0, 0x0c000000},
        {"0xabcDEF", 0, 0xabcdef},
        {"201326592", 0, 0x0c000000},
        {"0", 0, 0},
        {"0x0", 0, 0},
        {"0xffffffffffffffff", 0, UINT64_MAX},
        {"18446744073709551615", 0, UINT64_MAX},
        {"0x10000000000000000", -ERANGE, 0},
        {"18446744073709551616", -ERANGE, 0},
        {"", -EINVAL, 0},
        {"0x", -EINVAL, 0},
        {"0xg", -EINVAL, 0},
        {"12K", -EINVAL, 0},
        {"-1", -EINVAL, 0},
        {" 1", -EINVAL, 0},
        {"0x1 ", -EINVAL, 0},
    };
    static const struct {
        const char *in;
        int ret;
        uint64_t out;
    } lengths[] = {
        {"0x1000", 0, 0x1000}, {"4096", 0, 4096},     {"64K", 0, 64 << 10},
        {"1M", 0, MiB},        {"1MiB", 0, MiB},      {"0", 0, 0},
        {"0x", -EINVAL, 0},    {"4k4", -EINVAL, 0},   {"0x1K", -EINVAL, 0},
        {"", -EINVAL, 0},      {"-4096", -EINVAL, 0}, {"99999999999999999999", -ERANGE, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
        uint64_t v = 0;
        int r = cli_parse_addr(addrs[i].in, &v);
        if (r != addrs[i].ret || (r == 0 && v != addrs[i].out))
            fail_msg("address '%s': got %d/%#llx want %d/%#llx", addrs[i].in, r,
                     (unsigned long long)v, addrs[i].ret, (unsigned long long)addrs[i].out);
    }
    for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
        uint64_t v = 0;
        int r = cli_parse_length(lengths[i].in, &v);
        if (r != lengths[i].ret || (r == 0 && v != lengths[i].out))
            fail_msg("length '%s': got %d/%#llx want %d/%#llx", lengths[i].in, r,
                     (unsigned long long)v, lengths[i].ret, (unsigned long long)lengths[i].out);
    }
}

static int parse(run_options_t *o, char *err, size_t n, const char *first, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;

    argv[argc++] = (char *)"run";
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    return cli_parse_run(argc, argv, o, err, n);
}

static void test_run_defaults(void **state)
{
    run_options_t o;
    char err[256] = "";
    (void)state;
    assert_int_equal(parse(&o, err, sizeof(err), "--kernel", "K", NULL), 0);
    assert_string_equal(o.kernel, "K");
    assert_null(o.initrd);
    assert_null(o.dtb);
    assert_int_equal(o.mem_size, CLI_DEFAULT_MEM);
    assert_int_equal(o.cpus, 1);
    assert_null(o.cmdline);
    assert_false(o.no_reboot);
    assert_false(o.stats);
}

static void test_run_all_options(void **state)
{
    run_options_t o;
    char err[256] = "";
    (void)state;
    assert_int_equal(parse(&o, err, sizeof(err), "-k", "K", "--initrd", "I", "--dtb", "D",
                           "--cmdline", "console=ttyAMA0 quiet", "--mem", "1G", "--cpus", "4",
                           "--no-reboot", "--stats", "--gic", "2", "-v", "--dump-dtb", "F",
                           "--transport", "pci", "--console", "virtio", "--no-rng", NULL),
                     0);
    assert_string_equal(o.initrd, "I");
    assert_string_equal(o.dtb, "D");
    assert_string_equal(o.cmdline, "console=ttyAMA0 quiet");
    assert_int_equal(o.mem_size, 1ull << 30);
    assert_int_equal(o.cpus, 4);
    assert_int_equal(o.gic_version, 2);
    assert_true(o.no_reboot);
    assert_true(o.stats);
    assert_int_equal(o.verbose, 1);
    assert_string_equal(o.dump_dtb, "F");
    assert_true(o.transport_pci);
    assert_true(o.console_virtio);
    assert_true(o.no_rng);
}

static void test_run_usage_errors(void **state)
{
    static const struct {
        const char *args[4];
        const char *msg;
    } cases[] = {
        {{NULL}, "no kernel given"},
        {{"--kernel", "K", "--mem", "12Q"}, "--mem '12Q' is not a size"},
        {{"--kernel", "K", "--mem", "0"}, "--mem must be more than 0"},
        {{"--kernel", "K", "--mem", "2T"}, "too large"},
        {{"--kernel", "K", "--cpus", "0"}, "--cpus '0'"},
        {{"--kernel", "K", "--cpus", "x"}, "--cpus 'x'"},
        {{"--kernel", "K", "--cpus", "-2"}, "--cpus '-2'"},
        {{"--kernel", "K", "--cpus", "100000"}, "--cpus '100000'"},
        {{"--kernel", "K", "--gic", "4"}, "--gic '4'"},
        {{"--kernel", "K", "--transport", "usb"}, "--transport 'usb'"},
        {{"--kernel", "K", "--console", "tty"}, "--console 'tty'"},
        {{"--kernel", "K", "--bogus"}, "unknown option '--bogus'"},
        {{"--kernel", "K", "extra"}, "unexpected argument 'extra'"},
        {{"--kernel"}, "option --kernel needs a value"},
        {{"--kernel", "K", "--disk", ""}, "--disk needs a path"},
        {{"--kernel", "K", "--disk", ",ro"}, "--disk needs a path"},
        {{"--kernel", "K", "--disk", "d.img,rw"}, "unknown option 'rw'"},
        {{"--kernel", "K", "--disk", "d.img,ro=1"}, "unknown option 'ro'"},
        {{"--kernel", "K", "--disk", "d.img,serial=123456789012345678901"}, "longer than 20"},
        {{"--kernel", "K", "--net", "tap0"}, "unknown option 'tap0'"},
        {{"--kernel", "K", "--net", "mac=52:54:00:00:00:01"}, "--net needs a tap device"},
        {{"--kernel", "K", "--net", "tap="}, "tap name ''"},
        {{"--kernel", "K", "--net", "tap=abcdefghijklmnopq"}, "must be 1 to 15"},
        {{"--kernel", "K", "--net", "tap=a/b"}, "no '/'"},
        {{"--kernel", "K", "--net", "tap=t0,mac=01:00:00:00:00:01"}, "not a unicast"},
        {{"--kernel", "K", "--net", "tap=t0,mac=52:54:00:00:00"}, "not a unicast"},
        {{"--kernel", "K", "--net", "tap=t0,mac=52:54:00:00:00:0g"}, "not a unicast"},
        {{"--kernel", "K", "--guard", ""}, "--guard needs an address and a size first"},
        {{"--kernel", "K", "--guard", "policy=mask"}, "--guard needs an address and a size"},
        {{"--kernel", "K", "--guard", "0xc000000"}, "--guard 0xc000000 needs a size"},
        {{"--kernel", "K", "--guard", "0xc000000,policy=mask"}, "needs a size"},
        {{"--kernel", "K", "--guard", "0xz,0x1000"}, "address '0xz' is not a number"},
        {{"--kernel", "K", "--guard", "0x1ffffffffffffffff,1"}, "over 64 bits"},
        {{"--kernel", "K", "--guard", "0xc000000,4Q"}, "size '4Q' is not a size"},
        {{"--kernel", "K", "--guard", "0xc000000,0"}, "the size must be more than 0"},
        {{"--kernel", "K", "--guard", "0xfffffffffffff000,0x2000"}, "wraps past the top"},
        {{"--kernel", "K", "--guard", "0xc000000,128M"}, "over the limit of 64M"},
        {{"--kernel", "K", "--guard", "0xc000000,4K,policy=deny"},
         "policy 'deny' must be report, mask or report-and-mask"},
        {{"--kernel", "K", "--guard", "0xc000000,4K,policy"}, "unknown option 'policy'"},
        {{"--kernel", "K", "--guard", "0xc000000,4K,contents="}, "contents= needs a file"},
        {{"--kernel", "K", "--guard", "0xc000000,4K,writable="}, "writable= needs a file"},
        {{"--kernel", "K", "--guard", "0xc000000,4K,socket=s"}, "unknown option 'socket'"},
        {{"--kernel", "K", "--forward", "0xc000000,4K"}, "needs the handler's socket"},
        {{"--kernel", "K", "--forward", "0xc000000,4K,socket="}, "socket path must be 1 to 107"},
        {{"--kernel", "K", "--forward", "0xc000000,4K,socket=s,timeout=0"},
         "timeout '0' must be 1 to 60000"},
        {{"--kernel", "K", "--forward", "0xc000000,4K,socket=s,timeout=60001"}, "timeout '60001'"},
        {{"--kernel", "K", "--forward", "0xc000000,4K,socket=s,timeout=5s"}, "timeout '5s'"},
        {{"--kernel", "K", "--forward", "0xc000000,4K,socket=s,policy=mask"},
         "unknown option 'policy'"},
        {{"--kernel", "K", "--forward", "x,4K,socket=s"}, "address 'x' is not a number"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_options_t o;
        char err[256] = "";
        char *argv[8] = {(char *)"run"};
        int argc = 1;
        for (int j = 0; j < 4 && cases[i].args[j]; j++)
            argv[argc++] = (char *)cases[i].args[j];
        argv[argc] = NULL;
        assert_int_equal(cli_parse_run(argc, argv, &o, err, sizeof(err)), EXIT_USAGE);
        if (!strstr(err, cases[i].msg))
            fail_msg("case %zu: message '%s' lacks '%s'", i, err, cases[i].msg);
        assert_null(strchr(err, '\n'));
    }
}

static void test_run_disks_and_nets(void **state)
{
    run_options_t o;
    char err[256] = "";
    (void)state;
    assert_int_equal(parse(&o, err, sizeof(err), "-k", "K", "--disk", "a.img", "--disk",
                           "/x/b.img,ro,serial=SER-1", "--disk", "c.img,serial=,ro", "--net",
                           "tap=vm0", "--net", "mac=02:AB:cd:00:00:09,tap=vm1", NULL),
                     0);
    assert_int_equal(o.nr_disks, 3);
    assert_string_equal(o.disks[0].path, "a.img");
    assert_false(o.disks[0].read_only);
    assert_string_equal(o.disks[0].serial, "");
    assert_string_equal(o.disks[1].path, "/x/b.img");
    assert_true(o.disks[1].read_only);
    assert_string_equal(o.disks[1].serial, "SER-1");
    assert_true(o.disks[2].read_only);
    assert_int_equal(o.nr_nets, 2);
    assert_string_equal(o.nets[0].tap, "vm0");
    assert_false(o.nets[0].has_mac);
    assert_string_equal(o.nets[1].tap, "vm1");
    assert_true(o.nets[1].has_mac);
    const uint8_t mac[6] = {0x02, 0xab, 0xcd, 0, 0, 9};
    assert_memory_equal(o.nets[1].mac, mac, 6);

    /* Limits: 8 of each, and one tap per NIC. */
    char *argv[32] = {(char *)"run", (char *)"-k", (char *)"K"};
    int argc = 3;
    for (int i = 0; i < 9; i++) {
        argv[argc++] = (char *)"--disk";
        argv[argc++] = (char *)"d.img";
    }
    argv[argc] = NULL;
    assert_int_equal(cli_parse_run(argc, argv, &o, err, sizeof(err)), EXIT_USAGE);
    assert_non_null(strstr(err, "too many --disk options"));
    assert_int_equal(
        parse(&o, err, sizeof(err), "-k", "K", "--net", "tap=t0", "--net", "tap=t0", NULL),
        EXIT_USAGE);
    assert_non_null(strstr(err, "tap t0 given twice"));
}

static void test_run_guards_and_forwards(void **state)
{
    run_options_t o;
    char err[256] = "";
    (void)state;
    assert_int_equal(parse(&o, err, sizeof(err), "-k", "K", "--guard", "0x0c000000,256", "--guard",
                           "0x0c001000,0x1000,policy=mask,contents=/c.bin,writable=w.bin",
                           "--guard", "201334784,4K,writable=m,policy=report", "--forward",
                           "0x0c100000,0x1000,socket=/s", "--forward",
                           "0xC200000,64K,timeout=250,socket=rel/sock", NULL),
                     0);
    assert_int_equal(o.nr_guards, 3);
    assert_int_equal(o.guards[0].base, 0x0c000000);
    assert_int_equal(o.guards[0].size, 256);
    assert_int_equal(o.guards[0].policy, MMIO_GUARD_REPORT_AND_MASK);
    assert_string_equal(o.guards[0].contents, "");
    assert_string_equal(o.guards[0].writable, "");
    assert_int_equal(o.guards[1].base, 0x0c001000);
    assert_int_equal(o.guards[1].size, 0x1000);
    assert_int_equal(o.guards[1].policy, MMIO_GUARD_MASK);
    assert_string_equal(o.guards[1].contents, "/c.bin");
    assert_string_equal(o.guards[1].writable, "w.bin");
    assert_int_equal(o.guards[2].base, 0x0c002000);
    assert_int_equal(o.guards[2].size, 4096);
    assert_int_equal(o.guards[2].policy, MMIO_GUARD_REPORT);
    assert_string_equal(o.guards[2].writable, "m");
    assert_int_equal(o.nr_forwards, 2);
    assert_int_equal(o.forwards[0].base, 0x0c100000);
    assert_int_equal(o.forwards[0].size, 0x1000);
    assert_string_equal(o.forwards[0].socket, "/s");
    assert_int_equal(o.forwards[0].timeout_ms, 0);
    assert_int_equal(o.forwards[1].base, 0x0c200000);
    assert_int_equal(o.forwards[1].size, 64 << 10);
    assert_string_equal(o.forwards[1].socket, "rel/sock");
    assert_int_equal(o.forwards[1].timeout_ms, 250);

    /* The largest guard, a 107-byte socket path; 8 of each and no more. */
    char sock[CLI_SOCKET_MAX + 32];
    snprintf(sock, sizeof(sock), "0xc000000,1,socket=%0107d", 7);
    assert_int_equal(
        parse(&o, err, sizeof(err), "-k", "K", "--guard", "0xc000000,64M", "--forward", sock, NULL),
        0);
    assert_int_equal(o.guards[0].size, MMIO_GUARD_MAX_SIZE);
    assert_int_equal(strlen(o.forwards[0].socket), CLI_SOCKET_MAX - 1);
    snprintf(sock, sizeof(sock), "0xc000000,1,socket=%0108d", 7);
    assert_int_equal(parse(&o, err, sizeof(err), "-k", "K", "--forward", sock, NULL), EXIT_USAGE);
    assert_non_null(strstr(err, "socket path must be 1 to 107 characters"));

    static const char *const opts[] = {"--guard", "--forward"};
    static const char *const vals[] = {"0xc000000,1", "0xc000000,1,socket=s"};
    for (int k = 0; k < 2; k++) {
        char *argv[32] = {(char *)"run", (char *)"-k", (char *)"K"};
        int argc = 3;
        for (int i = 0; i < 9; i++) {
            argv[argc++] = (char *)opts[k];
            argv[argc++] = (char *)vals[k];
        }
        argv[argc] = NULL;
        assert_int_equal(cli_parse_run(argc - 2, argv, &o, err, sizeof(err)), 0);
        assert_int_equal(k ? o.nr_forwards : o.nr_guards, 8);
        assert_int_equal(cli_parse_run(argc, argv, &o, err, sizeof(err)), EXIT_USAGE);
        assert_non_null(strstr(err, k ? "too many --forward options (at most 8)"
                                      : "too many --guard options (at most 8)"));
    }
}

/* --seccomp and --jail (docs/security.md). */
static void test_run_channel_pairs(void **state)
{
    run_options_t o;
    char err[256] = "";
    (void)state;
    assert_int_equal(parse(&o, err, sizeof(err), "-k", "K", NULL), 0);
    assert_int_equal(o.nr_channel_pairs, 0);
    assert_int_equal(parse(&o, err, sizeof(err), "-k", "K", "--channel-pair", "ping",
                           "--channel-pair", "big_one.2-x,size=1M", "--channel-pair",
                           "small,size=0x1000", NULL),
                     0);
    assert_int_equal(o.nr_channel_pairs, 3);
    assert_string_equal(o.channel_pairs[0].name, "ping");
    assert_int_equal(o.channel_pairs[0].size, CLI_CHANNEL_DEFAULT_SIZE);
    assert_string_equal(o.channel_pairs[1].name, "big_one.2-x");
    assert_int_equal(o.channel_pairs[1].size, 1 << 20);
    assert_int_equal(o.channel_pairs[2].size, 4096);

    /* The longest name; one more is refused. */
    char name[64];
    snprintf(name, sizeof(name), "%047d", 5);
    assert_int_equal(parse(&o, err, sizeof(err), "-k", "K", "--channel-pair", name, NULL), 0);
    assert_int_equal(strlen(o.channel_pairs[0].name), CLI_CHANNEL_NAME_MAX);
    snprintf(name, sizeof(name), "%048d", 5);
    assert_int_equal(parse(&o, err, sizeof(err), "-k", "K", "--channel-pair", name, NULL),
                     EXIT_USAGE);
    assert_non_null(strstr(err, "needs a name of 1 to 47 characters"));

    static const struct {
        const char *arg;
        const char *msg;
    } bad[] = {
        {"", "needs a name"},
        {",size=4K", "needs a name"},
        {"size=4K", "needs a name"},
        {"a:b", "letters, digits"},
        {"a b", "letters, digits"},
        {"p,size=3K", "size '3K' must be a power of two"},
        {"p,size=2K", "size '2K'"},
        {"p,size=512M", "size '512M'"},
        {"p,size=", "size ''"},
        {"p,size=lots", "size 'lots'"},
        {"p,mem=4K", "unknown option 'mem'"},
        {"p,ro", "unknown option 'ro'"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(&o, err, sizeof(err), "-k", "K", "--channel-pair", bad[i].arg, NULL),
                         EXIT_USAGE);
        if (!strstr(err, bad[i].msg))
            fail_msg("'%s': message '%s' lacks '%s'", bad[i].arg, err, bad[i].msg);
    }
    assert_int_equal(parse(&o, err, sizeof(err), "-k", "K", "--channel-pair", "x", "--channel-pair",
                           "x,size=8K", NULL),
                     EXIT_USAGE);
    assert_non_null(strstr(err, "x given twice"));
    assert_int_equal(parse(&o, err, sizeof(err), "-k", "K", "--channel-pair", "a", "--channel-pair",
                           "b", "--channel-pair", "c", "--channel-pair", "d", "--channel-pair", "e",
                           NULL),
                     EXIT_USAGE);
    assert_non_null(strstr(err, "too many --channel-pair options (at most 4)"));
}

static void test_run_seccomp_and_jail(void **state)
{
    static const struct {
        const char *args[4];
        const char *msg;
    } bad[] = {
        {{"--kernel", "K", "--seccomp", "strict"}, "--seccomp 'strict': must be kill, log or off"},
        {{"--kernel", "K", "--seccomp", ""}, "--seccomp '': must be kill, log or off"},
        {{"--kernel", "K", "--jail", ""}, "--jail needs a directory"},
        {{"--kernel", "K", "--jail", ",uid=1"}, "--jail needs a directory"},
        {{"--kernel", "K", "--jail", "j,uid=x"}, "--jail j: uid 'x' must be a number"},
        {{"--kernel", "K", "--jail", "j,uid=-1"}, "uid '-1' must be a number"},
        {{"--kernel", "K", "--jail", "j,gid=4294967295"}, "gid '4294967295' must be a number"},
        {{"--kernel", "K", "--jail", "j,gid"}, "gid '' must be a number"},
        {{"--kernel", "K", "--jail", "j,user=1"}, "--jail j: unknown option 'user'"},
        {{"-k", "K", "--jail", "j"}, "cannot be combined with --jail"}, /* + --dump-dtb F */
    };
    run_options_t o;
    char err[256] = "";
    (void)state;

    assert_int_equal(parse(&o, err, sizeof(err), "--kernel", "K", NULL), 0);
    assert_int_equal(o.seccomp, VMM_SANDBOX_KILL); /* the program's default */
    assert_string_equal(o.jail.dir, "");
    for (int m = VMM_SANDBOX_OFF; m <= VMM_SANDBOX_KILL; m++) {
        const char *name = vmm_sandbox_mode_name((vmm_sandbox_mode_t)m);
        assert_int_equal(parse(&o, err, sizeof(err), "-k", "K", "--seccomp", name, NULL), 0);
        assert_int_equal(o.seccomp, m);
    }
    assert_int_equal(parse(&o, err, sizeof(err), "-k", "K", "--jail", "/srv/jail", NULL), 0);
    assert_string_equal(o.jail.dir, "/srv/jail");
    assert_false(o.jail.has_uid);
    assert_false(o.jail.has_gid);
    assert_int_equal(
        parse(&o, err, sizeof(err), "-k", "K", "--jail", "/srv/j,uid=1000,gid=4294967294", NULL),
        0);
    assert_string_equal(o.jail.dir, "/srv/j");
    assert_true(o.jail.has_uid && o.jail.has_gid);
    assert_int_equal(o.jail.uid, 1000);
    assert_int_equal(o.jail.gid, 4294967294u);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *argv[8] = {(char *)"run"};
        int argc = 1;
        for (int j = 0; j < 4 && bad[i].args[j]; j++)
            argv[argc++] = (char *)bad[i].args[j];
        if (i == sizeof(bad) / sizeof(bad[0]) - 1) {
            argv[argc++] = (char *)"--dump-dtb";
            argv[argc++] = (char *)"F";
        }
        argv[argc] = NULL;
        assert_int_equal(cli_parse_run(argc, argv, &o, err, sizeof(err)), EXIT_USAGE);
        if (!strstr(err, bad[i].msg))
            fail_msg("case %zu: message '%s' lacks '%s'", i, err, bad[i].msg);
    }
}

static void test_run_help(void **state)
{
    run_options_t o;
    char err[256] = "";
    (void)state;
    assert_int_equal(parse(&o, err, sizeof(err), "--help", NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_run_defaults),
        cmocka_unit_test(test_run_all_options),
        cmocka_unit_test(test_run_usage_errors),
        cmocka_unit_test(test_run_help),
        cmocka_unit_test(test_run_disks_and_nets),
        cmocka_unit_test(test_addrs_and_lengths),
        cmocka_unit_test(test_run_guards_and_forwards),
        cmocka_unit_test(test_run_channel_pairs),
        cmocka_unit_test(test_run_seccomp_and_jail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
