/* Unit tests for src/vmmkit/cli.c: sizes and "run" options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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
        cmocka_unit_test(test_sizes),           cmocka_unit_test(test_run_defaults),
        cmocka_unit_test(test_run_all_options), cmocka_unit_test(test_run_usage_errors),
        cmocka_unit_test(test_run_help),        cmocka_unit_test(test_run_disks_and_nets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
