/*
 * cli.c - parsing the vmmkit command line (see cli.h).
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <vmmkit/mmio_forward.h>

#include "vmmkit/cli.h"

int cli_parse_size(const char *s, uint64_t bare_unit, uint64_t *out)
{
    uint64_t value = 0, unit = bare_unit;
    const char *p = s;

    if (!s || *s < '0' || *s > '9')
        return -EINVAL;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (value > (UINT64_MAX - d) / 10)
            return -ERANGE;
        value = value * 10 + d;
    }
    if (*p) {
        switch (*p) {
        case 'k':
        case 'K':
            unit = 1ull << 10;
            break;
        case 'm':
        case 'M':
            unit = 1ull << 20;
            break;
        case 'g':
        case 'G':
            unit = 1ull << 30;
            break;
        case 't':
        case 'T':
            unit = 1ull << 40;
            break;
        case 'b':
        case 'B':
            unit = 1;
            break;
        default:
            return -EINVAL;
        }
        p++;
        if (unit != 1 && (strcasecmp(p, "ib") == 0 || strcasecmp(p, "b") == 0))
            p += strlen(p);
        if (*p)
            return -EINVAL;
    }
    if (unit && value > UINT64_MAX / unit)
        return -ERANGE;
    *out = value * unit;
    return 0;
}

int cli_parse_addr(const char *s, uint64_t *out)
{
    uint64_t value = 0;

    if (!s || !*s)
        return -EINVAL;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        const char *p = s + 2;
        if (!*p)
            return -EINVAL;
        for (; *p; p++) {
            if (!isxdigit((unsigned char)*p))
                return -EINVAL;
            if (value >> 60)
                return -ERANGE;
            unsigned d = isdigit((unsigned char)*p)
                             ? (unsigned)(*p - '0')
                             : (unsigned)(tolower((unsigned char)*p) - 'a' + 10);
            value = value << 4 | d;
        }
    } else {
        for (const char *p = s; *p; p++) {
            if (*p < '0' || *p > '9')
                return -EINVAL;
            unsigned d = (unsigned)(*p - '0');
            if (value > (UINT64_MAX - d) / 10)
                return -ERANGE;
            value = value * 10 + d;
        }
    }
    *out = value;
    return 0;
}

int cli_parse_length(const char *s, uint64_t *out)
{
    if (s && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        return cli_parse_addr(s, out);
    return cli_parse_size(s, 1, out);
}

static int usage_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return EXIT_USAGE;
}

int cli_parse_mac(const char *s, uint8_t mac[6])
{
    for (int i = 0; i < 6; i++) {
        if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]))
            return -EINVAL;
        char hex[3] = {s[0], s[1], 0};
        mac[i] = (uint8_t)strtoul(hex, NULL, 16);
        s += 2;
        if (*s != (i == 5 ? '\0' : ':'))
            return -EINVAL;
        if (i < 5)
            s++;
    }
    return (mac[0] & 1) ? -EINVAL : 0;
}

/*
 * Split the next ",key[=value]" item off *@rest (modified in place).
 * Returns the item (NUL-terminated, value after '=' in *@value or NULL).
 */
static char *next_item(char **rest, char **value)
{
    char *item = *rest;
    char *comma = strchr(item, ',');

    if (comma) {
        *comma = '\0';
        *rest = comma + 1;
    } else {
        *rest = item + strlen(item);
    }
    char *eq = strchr(item, '=');
    *value = NULL;
    if (eq) {
        *eq = '\0';
        *value = eq + 1;
    }
    return item;
}

/* --disk PATH[,ro][,serial=S] (a path with a comma cannot be given). */
static int parse_disk(const char *optarg_, cli_disk_t *d, char *err, size_t errlen)
{
    char arg[sizeof(d->path) + 64];

    if (strlen(optarg_) >= sizeof(arg))
        return usage_error(err, errlen, "--disk: argument too long");
    snprintf(arg, sizeof(arg), "%s", optarg_);
    char *rest = strchr(arg, ',');
    if (rest)
        *rest++ = '\0';
    else
        rest = arg + strlen(arg);
    if (!arg[0])
        return usage_error(err, errlen, "--disk needs a path: --disk PATH[,ro][,serial=S]");
    if (strlen(arg) >= sizeof(d->path))
        return usage_error(err, errlen, "--disk: path too long");
    snprintf(d->path, sizeof(d->path), "%s", arg);
    while (*rest) {
        char *value;
        char *key = next_item(&rest, &value);
        if (strcmp(key, "ro") == 0 && !value) {
            d->read_only = true;
        } else if (strcmp(key, "serial") == 0 && value) {
            if (strlen(value) > CLI_SERIAL_MAX)
                return usage_error(err, errlen, "--disk %s: serial '%s' is longer than %u bytes",
                                   d->path, value, CLI_SERIAL_MAX);
            snprintf(d->serial, sizeof(d->serial), "%s", value);
        } else {
            return usage_error(err, errlen, "--disk %s: unknown option '%s' (known: ro, serial=S)",
                               d->path, key);
        }
    }
    return 0;
}

/* --net tap=NAME[,mac=MAC]. */
static int parse_net(const char *optarg_, cli_net_t *n, char *err, size_t errlen)
{
    char arg[256];

    if (strlen(optarg_) >= sizeof(arg))
        return usage_error(err, errlen, "--net: argument too long");
    snprintf(arg, sizeof(arg), "%s", optarg_);
    char *rest = arg;

    while (*rest) {
        char *value;
        char *key = next_item(&rest, &value);
        if (strcmp(key, "tap") == 0 && value) {
            if (!value[0] || strlen(value) >= sizeof(n->tap) || strchr(value, '/'))
                return usage_error(err, errlen,
                                   "--net: tap name '%s' must be 1 to %zu characters, no '/'",
                                   value, sizeof(n->tap) - 1);
            snprintf(n->tap, sizeof(n->tap), "%s", value);
        } else if (strcmp(key, "mac") == 0 && value) {
            if (cli_parse_mac(value, n->mac) < 0)
                return usage_error(err, errlen,
                                   "--net: mac '%s' is not a unicast xx:xx:xx:xx:xx:xx address",
                                   value);
            n->has_mac = true;
        } else {
            return usage_error(err, errlen, "--net: unknown option '%s' (known: tap=NAME, mac=MAC)",
                               key);
        }
    }
    if (!n->tap[0])
        return usage_error(err, errlen, "--net needs a tap device: --net tap=NAME[,mac=MAC]");
    return 0;
}

/*
 * The ADDR,SIZE that begin --guard and --forward, split off *@rest: the
 * size is not 0 and the region does not wrap.  @usage is the option's
 * synopsis, for messages.
 */
static int parse_region(const char *opt, const char *usage, char **rest, uint64_t *base,
                        uint64_t *size, char *err, size_t errlen)
{
    char *value;
    char *addr = next_item(rest, &value);

    if (!addr[0] || value)
        return usage_error(err, errlen, "%s needs an address and a size first: %s", opt, usage);
    int r = cli_parse_addr(addr, base);
    if (r)
        return usage_error(err, errlen, "%s: address '%s' is %s", opt, addr,
                           r == -ERANGE ? "over 64 bits"
                                        : "not a number (use hex 0x... or decimal)");
    char *len = next_item(rest, &value);
    if (!len[0] || value)
        return usage_error(err, errlen, "%s %#" PRIx64 " needs a size: %s", opt, *base, usage);
    r = cli_parse_length(len, size);
    if (r)
        return usage_error(err, errlen, "%s %#" PRIx64 ": size '%s' is %s", opt, *base, len,
                           r == -ERANGE ? "over 64 bits"
                                        : "not a size (use e.g. 0x1000, 4096, 64K)");
    if (*size == 0)
        return usage_error(err, errlen, "%s %#" PRIx64 ": the size must be more than 0", opt,
                           *base);
    if (*base + *size - 1 < *base)
        return usage_error(err, errlen,
                           "%s %#" PRIx64 ",%#" PRIx64 ": wraps past the top of the address space",
                           opt, *base, *size);
    return 0;
}

/* Copy a FILE value of a region option into @dst (@dstlen bytes). */
static int region_file(const char *opt, uint64_t base, const char *key, const char *value,
                       char *dst, size_t dstlen, char *err, size_t errlen)
{
    if (!value[0])
        return usage_error(err, errlen, "%s %#" PRIx64 ": %s= needs a file", opt, base, key);
    if (strlen(value) >= dstlen)
        return usage_error(err, errlen, "%s %#" PRIx64 ": %s= path too long", opt, base, key);
    snprintf(dst, dstlen, "%s", value);
    return 0;
}

#define GUARD_USAGE "--guard ADDR,SIZE[,policy=P][,contents=FILE][,writable=FILE]"
#define FORWARD_USAGE "--forward ADDR,SIZE,socket=PATH[,timeout=MS]"

/* --guard ADDR,SIZE[,policy=report|mask|report-and-mask][,contents=FILE][,writable=FILE]. */
static int parse_guard(const char *optarg_, cli_guard_t *g, char *err, size_t errlen)
{
    char arg[sizeof(g->contents) + sizeof(g->writable) + 128];

    if (strlen(optarg_) >= sizeof(arg))
        return usage_error(err, errlen, "--guard: argument too long");
    snprintf(arg, sizeof(arg), "%s", optarg_);
    char *rest = arg;
    int r = parse_region("--guard", GUARD_USAGE, &rest, &g->base, &g->size, err, errlen);
    if (r)
        return r;
    if (g->size > MMIO_GUARD_MAX_SIZE)
        return usage_error(err, errlen,
                           "--guard %#" PRIx64 ": size %#" PRIx64 " is over the limit of %lluM",
                           g->base, g->size, MMIO_GUARD_MAX_SIZE >> 20);
    g->policy = MMIO_GUARD_REPORT_AND_MASK;
    while (*rest) {
        char *value;
        char *key = next_item(&rest, &value);
        if (strcmp(key, "policy") == 0 && value) {
            if (mmio_guard_policy_parse(value, &g->policy) < 0)
                return usage_error(err, errlen,
                                   "--guard %#" PRIx64
                                   ": policy '%s' must be report, mask or report-and-mask",
                                   g->base, value);
        } else if (strcmp(key, "contents") == 0 && value) {
            r = region_file("--guard", g->base, key, value, g->contents, sizeof(g->contents), err,
                            errlen);
        } else if (strcmp(key, "writable") == 0 && value) {
            r = region_file("--guard", g->base, key, value, g->writable, sizeof(g->writable), err,
                            errlen);
        } else {
            return usage_error(
                err, errlen,
                "--guard %#" PRIx64
                ": unknown option '%s' (known: policy=P, contents=FILE, writable=FILE)",
                g->base, key);
        }
        if (r)
            return r;
    }
    return 0;
}

/* --forward ADDR,SIZE,socket=PATH[,timeout=MS]. */
static int parse_forward(const char *optarg_, cli_forward_t *f, char *err, size_t errlen)
{
    char arg[sizeof(f->socket) + 128];

    if (strlen(optarg_) >= sizeof(arg))
        return usage_error(err, errlen, "--forward: argument too long");
    snprintf(arg, sizeof(arg), "%s", optarg_);
    char *rest = arg;
    int r = parse_region("--forward", FORWARD_USAGE, &rest, &f->base, &f->size, err, errlen);
    if (r)
        return r;
    while (*rest) {
        char *value;
        char *key = next_item(&rest, &value);
        if (strcmp(key, "socket") == 0 && value) {
            if (!value[0] || strlen(value) >= sizeof(f->socket))
                return usage_error(
                    err, errlen, "--forward %#" PRIx64 ": socket path must be 1 to %zu characters",
                    f->base, sizeof(f->socket) - 1);
            snprintf(f->socket, sizeof(f->socket), "%s", value);
        } else if (strcmp(key, "timeout") == 0 && value) {
            char *end;
            unsigned long ms;
            errno = 0;
            ms = strtoul(value, &end, 10);
            if (errno || *end || end == value || value[0] == '-' || ms < 1 ||
                ms > MMIO_FORWARD_MAX_TIMEOUT_MS)
                return usage_error(err, errlen,
                                   "--forward %#" PRIx64
                                   ": timeout '%s' must be 1 to %u milliseconds",
                                   f->base, value, MMIO_FORWARD_MAX_TIMEOUT_MS);
            f->timeout_ms = (unsigned int)ms;
        } else {
            return usage_error(err, errlen,
                               "--forward %#" PRIx64
                               ": unknown option '%s' (known: socket=PATH, timeout=MS)",
                               f->base, key);
        }
    }
    if (!f->socket[0])
        return usage_error(err, errlen,
                           "--forward %#" PRIx64 " needs the handler's socket: " FORWARD_USAGE,
                           f->base);
    return 0;
}

#define CHANNEL_PAIR_USAGE "--channel-pair NAME[,size=S]"

/* --channel-pair NAME[,size=S]. */
static int parse_channel_pair(const char *optarg_, cli_channel_pair_t *p, char *err, size_t errlen)
{
    char arg[CLI_CHANNEL_NAME_MAX + 64];

    if (strlen(optarg_) >= sizeof(arg))
        return usage_error(err, errlen, "--channel-pair: argument too long");
    snprintf(arg, sizeof(arg), "%s", optarg_);
    char *rest = arg, *value;
    char *name = next_item(&rest, &value);
    size_t len = strlen(name);

    if (value || len == 0 || len > CLI_CHANNEL_NAME_MAX)
        return usage_error(
            err, errlen,
            "--channel-pair needs a name of 1 to %u characters first: " CHANNEL_PAIR_USAGE,
            CLI_CHANNEL_NAME_MAX);
    for (size_t i = 0; i < len; i++) {
        if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
            return usage_error(err, errlen,
                               "--channel-pair '%s': a name is letters, digits, '_', '.' and "
                               "'-' only",
                               name);
    }
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->size = CLI_CHANNEL_DEFAULT_SIZE;
    while (*rest) {
        char *key = next_item(&rest, &value);
        if (strcmp(key, "size") == 0 && value) {
            int r = cli_parse_length(value, &p->size);
            if (r || p->size < 4096 || p->size > CLI_CHANNEL_MAX_SIZE || (p->size & (p->size - 1)))
                return usage_error(err, errlen,
                                   "--channel-pair %s: size '%s' must be a power of two from 4K "
                                   "to 256M",
                                   p->name, value);
        } else {
            return usage_error(err, errlen,
                               "--channel-pair %s: unknown option '%s' (known: size=S)", p->name,
                               key);
        }
    }
    return 0;
}

/* An id for --jail: a decimal number below 2^32 - 1 ((uid_t)-1 means "unchanged"). */
static int parse_id(const char *s, uint32_t *out)
{
    char *end;
    unsigned long long v;

    if (!s || *s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || v >= 0xffffffffull)
        return -EINVAL;
    *out = (uint32_t)v;
    return 0;
}

#define FRAMEBUFFER_USAGE "--framebuffer WxH[,file=PATH]"

/* --framebuffer WxH[,file=PATH]: the sizes here, their limits the board's. */
static int parse_framebuffer(const char *arg, run_options_t *o, char *err, size_t errlen)
{
    char buf[4200], *rest, *tok;
    unsigned long w, h;
    char *end;

    if (strlen(arg) >= sizeof(buf))
        return usage_error(err, errlen, "--framebuffer: argument too long");
    snprintf(buf, sizeof(buf), "%s", arg);
    rest = buf;
    tok = strsep(&rest, ",");
    errno = 0;
    w = strtoul(tok, &end, 10);
    if (errno || end == tok || *end != 'x' || tok[0] == '-')
        return usage_error(err, errlen, "--framebuffer '%s': give the size as WxH, e.g. 1024x768",
                           arg);
    tok = end + 1;
    h = strtoul(tok, &end, 10);
    if (errno || end == tok || *end || tok[0] == '-' || w == 0 || h == 0 || w > 65535 || h > 65535)
        return usage_error(err, errlen, "--framebuffer '%s': give the size as WxH, e.g. 1024x768",
                           arg);
    o->fb_width = (unsigned int)w;
    o->fb_height = (unsigned int)h;
    while ((tok = strsep(&rest, ","))) {
        if (strncmp(tok, "file=", 5) == 0 && tok[5]) {
            if (strlen(tok + 5) >= sizeof(o->fb_file))
                return usage_error(err, errlen, "--framebuffer: path too long");
            snprintf(o->fb_file, sizeof(o->fb_file), "%s", tok + 5);
        } else {
            return usage_error(err, errlen,
                               "--framebuffer: unknown option '%s' (" FRAMEBUFFER_USAGE ")", tok);
        }
    }
    return 0;
}

#define JAIL_USAGE "--jail DIR[,uid=N][,gid=N]"

/* --jail DIR[,uid=N][,gid=N] (a DIR with a comma cannot be given). */
static int parse_jail(const char *optarg_, cli_jail_t *j, char *err, size_t errlen)
{
    char arg[sizeof(j->dir) + 64];

    if (strlen(optarg_) >= sizeof(arg))
        return usage_error(err, errlen, "--jail: argument too long");
    snprintf(arg, sizeof(arg), "%s", optarg_);
    char *rest = strchr(arg, ',');
    if (rest)
        *rest++ = '\0';
    else
        rest = arg + strlen(arg);
    if (!arg[0])
        return usage_error(err, errlen, "--jail needs a directory: " JAIL_USAGE);
    if (strlen(arg) >= sizeof(j->dir))
        return usage_error(err, errlen, "--jail: path too long");
    memset(j, 0, sizeof(*j));
    snprintf(j->dir, sizeof(j->dir), "%s", arg);
    while (*rest) {
        char *value;
        char *key = next_item(&rest, &value);
        if (strcmp(key, "uid") == 0 || strcmp(key, "gid") == 0) {
            bool uid = key[0] == 'u';
            if (parse_id(value, uid ? &j->uid : &j->gid) < 0)
                return usage_error(err, errlen, "--jail %s: %s '%s' must be a number from 0 to %u",
                                   j->dir, key, value ? value : "", 0xfffffffeu);
            if (uid)
                j->has_uid = true;
            else
                j->has_gid = true;
        } else {
            return usage_error(err, errlen, "--jail %s: unknown option '%s' (known: uid=N, gid=N)",
                               j->dir, key);
        }
    }
    return 0;
}

void cli_print_run_help(void *stream)
{
    fprintf((FILE *)stream,
            "Usage: vmmkit run --kernel PATH [OPTIONS]\n"
            "\n"
            "Boot a Linux guest on a KVM host of its own architecture: an arm64\n"
            "Image on arm64, a bzImage (or an ELF vmlinux with a PVH entry) on x86_64.\n"
            "\n"
            "Options:\n"
            "  -k, --kernel PATH   the guest kernel (arm64: Image, uncompressed;\n"
            "                      x86_64: bzImage, or ELF vmlinux with a PVH note)\n"
            "  -i, --initrd PATH   an initial ramdisk\n"
            "  -d, --dtb PATH      arm64: a device tree blob to boot with instead of\n"
            "                      the one vmmkit generates from the VM's layout\n"
            "  -c, --cmdline STR   the kernel command line (default \"console=ttyAMA0\"\n"
            "                      on arm64, \"console=ttyS0\" on x86_64, or\n"
            "                      \"console=hvc0\" with --console virtio;\n"
            "                      with --dtb, the DTB's own unless given)\n"
            "  -m, --mem SIZE      guest RAM, e.g. 256M, 1G; a bare number is MiB\n"
            "                      (default 256M)\n"
            "  -n, --cpus N        number of vCPUs (default 1); secondaries start\n"
            "                      through PSCI CPU_ON (arm64) or INIT/SIPI (x86_64)\n"
            "      --gic VERSION   arm64: interrupt controller: auto (default), 2 or 3\n"
            "      --transport T   how virtio devices attach: mmio or pci (default:\n"
            "                      mmio on arm64, pci on x86_64)\n"
            "      --console C     what carries stdio: serial (the PL011's ttyAMA0 on\n"
            "                      arm64, COM1's ttyS0 on x86_64; default) or virtio\n"
            "                      (virtio-console, hvc0)\n"
            "      --framebuffer WxH[,file=PATH]\n"
            "                      x86_64: a linear framebuffer of W x H pixels, 32\n"
            "                      bits each, for the kernel's framebuffer console; in\n"
            "                      the file PATH, \"vmmkit screenshot PATH OUT.png\"\n"
            "                      takes its picture at any time\n"
            "      --no-rng        leave out the virtio-rng device\n"
            "      --disk PATH[,ro][,serial=S]\n"
            "                      a virtio-blk disk backed by the raw image PATH\n"
            "                      (repeatable, up to 8; vda, vdb, ... in order);\n"
            "                      ro: read-only; serial: its ID (20 bytes at most)\n"
            "      --net tap=NAME[,mac=MAC]\n"
            "                      a virtio-net NIC on the tap device NAME (made if\n"
            "                      absent; repeatable, up to 8); MAC as\n"
            "                      xx:xx:xx:xx:xx:xx, default a local address\n"
            "      --guard ADDR,SIZE[,policy=P][,contents=FILE][,writable=FILE]\n"
            "                      an access-controlled MMIO region (repeatable, up to\n"
            "                      8): reads return its contents (FILE of SIZE bytes,\n"
            "                      default zeros), writes may change only the bits set\n"
            "                      in the writable mask (FILE of SIZE bytes, default\n"
            "                      none); P says what a write to a protected bit does:\n"
            "                      report (logged, stored), mask (dropped silently) or\n"
            "                      report-and-mask (logged, dropped; the default)\n"
            "      --forward ADDR,SIZE,socket=PATH[,timeout=MS]\n"
            "                      a forwarding MMIO region (repeatable, up to 8): each\n"
            "                      access goes to the handler listening on the UNIX\n"
            "                      socket PATH (e.g. vmmkit mmio-echo); no reply in MS\n"
            "                      (default 1000) or a dead handler is a bus error in\n"
            "                      the guest; a restarted handler is reconnected to\n"
            "                      (at most once a second)\n"
            "                      ADDR and SIZE: hex (0x...) or decimal, SIZE also 64K,\n"
            "                      1M; outside RAM and the board's devices, e.g. in\n"
            "                      0x0c000000-0x0fffffff (docs/generic-devices.md)\n"
            "      --channel-pair NAME[,size=S]\n"
            "                      a loopback cross-VM channel: two channel devices\n"
            "                      named NAME in this VM sharing S bytes of memory (a\n"
            "                      power of two, 4K to 256M; default 64K), each one's\n"
            "                      doorbell ringing the other (repeatable, up to 4;\n"
            "                      docs/cross-vm-channels.md)\n"
            "      --no-reboot     exit 0 when the guest reboots, instead of\n"
            "                      booting it again\n"
            "      --dump-dtb FILE arm64: write the device tree the guest would boot\n"
            "                      with to FILE and exit without running it\n"
            "      --dump-acpi DIR x86_64: write the ACPI tables the guest would boot\n"
            "                      with to DIR (one SIG.dat each) and exit\n"
            "      --stats         at exit, print exits by kind and the time from\n"
            "                      start to the guest's first instruction\n"
            "      --seccomp MODE  each VMM thread's system-call allowlist: kill (the\n"
            "                      default: a call outside it kills vmmkit), log (the\n"
            "                      kernel logs it and it proceeds: for audits) or off\n"
            "      --jail DIR[,uid=N][,gid=N]\n"
            "                      confine vmmkit: new mount, PID, IPC, UTS and (with no\n"
            "                      --net tap) network namespaces; DIR (an empty\n"
            "                      directory) becomes its root, holding only the files\n"
            "                      named on the command line (at the same paths) and\n"
            "                      /dev/kvm; no capabilities, uid and gid N, resource\n"
            "                      limits (docs/security.md)\n"
            "  -v, --verbose       more messages (repeat for debug)\n"
            "  -h, --help          this text\n"
            "\n"
            "The console is on stdin/stdout; when stdin is a terminal\n"
            "it is put into raw mode: Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A.\n"
            "\n"
            "Exit status: 0 when the guest powers off (or reboots, with --no-reboot),\n"
            "1 on an error while running, 2 on a usage error.\n");
}

int cli_parse_run(int argc, char **argv, run_options_t *opts, char *err, size_t errlen)
{
    enum {
        OPT_GIC = 256,
        OPT_NO_REBOOT,
        OPT_STATS,
        OPT_DUMP_DTB,
        OPT_TRANSPORT,
        OPT_CONSOLE,
        OPT_NO_RNG,
        OPT_DISK,
        OPT_NET,
        OPT_GUARD,
        OPT_FORWARD,
        OPT_CHANNEL_PAIR,
        OPT_SECCOMP,
        OPT_JAIL,
        OPT_FRAMEBUFFER,
        OPT_DUMP_ACPI
    };
    static const struct option longopts[] = {
        {"kernel", required_argument, NULL, 'k'},
        {"initrd", required_argument, NULL, 'i'},
        {"dtb", required_argument, NULL, 'd'},
        {"cmdline", required_argument, NULL, 'c'},
        {"mem", required_argument, NULL, 'm'},
        {"cpus", required_argument, NULL, 'n'},
        {"gic", required_argument, NULL, OPT_GIC},
        {"no-reboot", no_argument, NULL, OPT_NO_REBOOT},
        {"stats", no_argument, NULL, OPT_STATS},
        {"dump-dtb", required_argument, NULL, OPT_DUMP_DTB},
        {"transport", required_argument, NULL, OPT_TRANSPORT},
        {"console", required_argument, NULL, OPT_CONSOLE},
        {"no-rng", no_argument, NULL, OPT_NO_RNG},
        {"disk", required_argument, NULL, OPT_DISK},
        {"net", required_argument, NULL, OPT_NET},
        {"guard", required_argument, NULL, OPT_GUARD},
        {"forward", required_argument, NULL, OPT_FORWARD},
        {"channel-pair", required_argument, NULL, OPT_CHANNEL_PAIR},
        {"seccomp", required_argument, NULL, OPT_SECCOMP},
        {"jail", required_argument, NULL, OPT_JAIL},
        {"framebuffer", required_argument, NULL, OPT_FRAMEBUFFER},
        {"dump-acpi", required_argument, NULL, OPT_DUMP_ACPI},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    memset(opts, 0, sizeof(*opts));
    opts->mem_size = CLI_DEFAULT_MEM;
    opts->cpus = 1;
    opts->seccomp = VMM_SANDBOX_KILL;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":k:i:d:c:m:n:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'k':
            opts->kernel = optarg;
            break;
        case 'i':
            opts->initrd = optarg;
            break;
        case 'd':
            opts->dtb = optarg;
            break;
        case 'c':
            opts->cmdline = optarg;
            break;
        case 'm': {
            int r = cli_parse_size(optarg, 1ull << 20, &opts->mem_size);
            if (r == -ERANGE || (r == 0 && opts->mem_size > CLI_MAX_MEM))
                return usage_error(err, errlen, "--mem %s: too large (at most 1T)", optarg);
            if (r)
                return usage_error(err, errlen, "--mem '%s' is not a size (use e.g. 256M, 1G, 512)",
                                   optarg);
            if (opts->mem_size == 0)
                return usage_error(err, errlen, "--mem must be more than 0");
            break;
        }
        case 'n': {
            char *end;
            unsigned long n;
            errno = 0;
            n = strtoul(optarg, &end, 10);
            if (errno || *end || end == optarg || optarg[0] == '-' || n < 1 || n > CLI_MAX_CPUS)
                return usage_error(err, errlen, "--cpus '%s': must be a number from 1 to %u",
                                   optarg, CLI_MAX_CPUS);
            opts->cpus = (unsigned int)n;
            break;
        }
        case OPT_GIC:
            if (strcmp(optarg, "auto") == 0)
                opts->gic_version = 0;
            else if (strcmp(optarg, "2") == 0 || strcmp(optarg, "3") == 0)
                opts->gic_version = optarg[0] - '0';
            else
                return usage_error(err, errlen, "--gic '%s': must be auto, 2 or 3", optarg);
            break;
        case OPT_NO_REBOOT:
            opts->no_reboot = true;
            break;
        case OPT_STATS:
            opts->stats = true;
            break;
        case OPT_DUMP_DTB:
        case OPT_DUMP_ACPI:
            if (opts->dump_dtb)
                return usage_error(err, errlen, "--dump-dtb and --dump-acpi: give one, once");
            opts->dump_dtb = optarg;
            opts->dump_acpi = c == OPT_DUMP_ACPI;
            break;
        case OPT_FRAMEBUFFER: {
            int r = parse_framebuffer(optarg, opts, err, errlen);
            if (r)
                return r;
            break;
        }
        case OPT_TRANSPORT:
            if (strcmp(optarg, "mmio") == 0 || strcmp(optarg, "pci") == 0) {
                opts->transport_pci = optarg[0] == 'p';
                opts->transport_given = true;
            } else
                return usage_error(err, errlen, "--transport '%s': must be mmio or pci", optarg);
            break;
        case OPT_CONSOLE:
            if (strcmp(optarg, "serial") == 0 || strcmp(optarg, "virtio") == 0)
                opts->console_virtio = optarg[0] == 'v';
            else
                return usage_error(err, errlen, "--console '%s': must be serial or virtio", optarg);
            break;
        case OPT_NO_RNG:
            opts->no_rng = true;
            break;
        case OPT_DISK: {
            if (opts->nr_disks == CLI_MAX_DISKS)
                return usage_error(err, errlen, "too many --disk options (at most %u)",
                                   CLI_MAX_DISKS);
            int r = parse_disk(optarg, &opts->disks[opts->nr_disks], err, errlen);
            if (r)
                return r;
            opts->nr_disks++;
            break;
        }
        case OPT_NET: {
            if (opts->nr_nets == CLI_MAX_NETS)
                return usage_error(err, errlen, "too many --net options (at most %u)",
                                   CLI_MAX_NETS);
            int r = parse_net(optarg, &opts->nets[opts->nr_nets], err, errlen);
            if (r)
                return r;
            for (unsigned int i = 0; i < opts->nr_nets; i++) {
                if (strcmp(opts->nets[i].tap, opts->nets[opts->nr_nets].tap) == 0)
                    return usage_error(err, errlen, "--net: tap %s given twice", opts->nets[i].tap);
            }
            opts->nr_nets++;
            break;
        }
        case OPT_GUARD: {
            if (opts->nr_guards == CLI_MAX_GUARDS)
                return usage_error(err, errlen, "too many --guard options (at most %u)",
                                   CLI_MAX_GUARDS);
            int r = parse_guard(optarg, &opts->guards[opts->nr_guards], err, errlen);
            if (r)
                return r;
            opts->nr_guards++;
            break;
        }
        case OPT_FORWARD: {
            if (opts->nr_forwards == CLI_MAX_FORWARDS)
                return usage_error(err, errlen, "too many --forward options (at most %u)",
                                   CLI_MAX_FORWARDS);
            int r = parse_forward(optarg, &opts->forwards[opts->nr_forwards], err, errlen);
            if (r)
                return r;
            opts->nr_forwards++;
            break;
        }
        case OPT_CHANNEL_PAIR: {
            if (opts->nr_channel_pairs == CLI_MAX_CHANNEL_PAIRS)
                return usage_error(err, errlen, "too many --channel-pair options (at most %u)",
                                   CLI_MAX_CHANNEL_PAIRS);
            cli_channel_pair_t *p = &opts->channel_pairs[opts->nr_channel_pairs];
            int r = parse_channel_pair(optarg, p, err, errlen);
            if (r)
                return r;
            for (unsigned int i = 0; i < opts->nr_channel_pairs; i++) {
                if (strcmp(opts->channel_pairs[i].name, p->name) == 0)
                    return usage_error(err, errlen, "--channel-pair: %s given twice", p->name);
            }
            opts->nr_channel_pairs++;
            break;
        }
        case OPT_SECCOMP:
            if (vmm_sandbox_mode_parse(optarg, &opts->seccomp) < 0)
                return usage_error(err, errlen, "--seccomp '%s': must be kill, log or off", optarg);
            break;
        case OPT_JAIL: {
            int r = parse_jail(optarg, &opts->jail, err, errlen);
            if (r)
                return r;
            break;
        }
        case 'v':
            opts->verbose++;
            break;
        case 'h':
            return -1;
        case ':':
            return usage_error(err, errlen, "option %s needs a value", argv[optind - 1]);
        default:
            return usage_error(err, errlen, "unknown option '%s' (see vmmkit run --help)",
                               argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error(err, errlen, "unexpected argument '%s' (see vmmkit run --help)",
                           argv[optind]);
    if (!opts->kernel)
        return usage_error(err, errlen, "no kernel given: use --kernel PATH");
    if (opts->jail.dir[0] && opts->fb_file[0])
        return usage_error(err, errlen,
                           "--framebuffer file= is a host file: it cannot be combined with --jail");
    if (opts->jail.dir[0] && opts->dump_dtb)
        return usage_error(err, errlen, "%s writes a host file: it cannot be combined with --jail",
                           opts->dump_acpi ? "--dump-acpi" : "--dump-dtb");
    return 0;
}
