/*
 * cli.h - the vmmkit program's command line.
 *
 * Parsing is separate from running so the unit tests can feed it argument
 * vectors.  Exit codes: 0 success, 1 an error while running, 2 a usage
 * error (what the user typed cannot mean anything).
 */
#ifndef VMMKIT_CLI_H
#define VMMKIT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vmmkit/mmio_guard.h>
#include <vmmkit/sandbox.h>

enum { EXIT_RUN_ERROR = 1, EXIT_USAGE = 2 };

/* Most --disk and --net options one VM takes. */
#define CLI_MAX_DISKS 8u
#define CLI_MAX_NETS 8u
#define CLI_SERIAL_MAX 20u /* virtio-blk GET_ID: 20 bytes */
/* Most --guard and --forward regions one VM takes. */
#define CLI_MAX_GUARDS 8u
#define CLI_MAX_FORWARDS 8u
#define CLI_SOCKET_MAX 108u /* sizeof(struct sockaddr_un.sun_path), with its NUL */

/* One --disk PATH[,ro][,serial=S]. */
typedef struct cli_disk {
    char path[4096]; /* PATH_MAX */
    bool read_only;
    char serial[CLI_SERIAL_MAX + 1]; /* "" = the device's default */
} cli_disk_t;

/* One --net tap=NAME[,mac=MAC]. */
typedef struct cli_net {
    char tap[16]; /* IFNAMSIZ */
    uint8_t mac[6];
    bool has_mac; /* else the device picks one */
} cli_net_t;

/* One --guard ADDR,SIZE[,policy=P][,contents=FILE][,writable=FILE]. */
typedef struct cli_guard {
    uint64_t base;
    uint64_t size; /* 1..MMIO_GUARD_MAX_SIZE */
    mmio_guard_policy_t policy;
    char contents[4096]; /* "" = zeros */
    char writable[4096]; /* "" = nothing writable */
} cli_guard_t;

/* One --forward ADDR,SIZE,socket=PATH[,timeout=MS]. */
typedef struct cli_forward {
    uint64_t base;
    uint64_t size;
    char socket[CLI_SOCKET_MAX];
    unsigned int timeout_ms; /* 0 = the device's default */
} cli_forward_t;

/* --jail DIR[,uid=N][,gid=N] (jail.c, docs/security.md). */
typedef struct cli_jail {
    char dir[4096]; /* "" = no jail */
    bool has_uid, has_gid;
    uint32_t uid, gid; /* to switch to; else the caller's */
} cli_jail_t;

/* Most --channel-pair options one VM takes (two channel ends each). */
#define CLI_MAX_CHANNEL_PAIRS 4u
#define CLI_CHANNEL_NAME_MAX 47u               /* crossvm.h: CROSSVM_NAME_MAX */
#define CLI_CHANNEL_DEFAULT_SIZE (64ull << 10) /* a channel's memory without size= */
#define CLI_CHANNEL_MAX_SIZE (256ull << 20)    /* two ends must fit the PCI window */

/*
 * One --channel-pair NAME[,size=S]: a loopback cross-VM channel, both ends
 * in this VM, each ringing the other (channel_pair.c makes its memfd and
 * eventfds).
 */
typedef struct cli_channel_pair {
    char name[CLI_CHANNEL_NAME_MAX + 1]; /* [A-Za-z0-9_.-], 1..47 */
    uint64_t size;                       /* a power of two, 4K..256M */
} cli_channel_pair_t;

typedef struct run_options {
    const char *kernel;
    const char *initrd;
    const char *dtb;
    const char *dump_dtb; /* write the boot description (DTB, or ACPI tables) here and exit */
    bool dump_acpi;       /* it was --dump-acpi DIR (x86), not --dump-dtb FILE (arm64) */
    const char *cmdline;  /* NULL: the board's default */
    uint64_t mem_size;
    unsigned int cpus;
    int gic_version;      /* 0 = the best the host has, 2 or 3 = only that */
    bool transport_pci;   /* --transport pci */
    bool transport_given; /* else the board's default (arm64: mmio, x86: pci) */
    bool console_virtio;  /* --console virtio (default serial) */
    bool no_rng;
    cli_disk_t disks[CLI_MAX_DISKS];
    unsigned int nr_disks;
    cli_net_t nets[CLI_MAX_NETS];
    unsigned int nr_nets;
    cli_guard_t guards[CLI_MAX_GUARDS];
    unsigned int nr_guards;
    cli_forward_t forwards[CLI_MAX_FORWARDS];
    unsigned int nr_forwards;
    cli_channel_pair_t channel_pairs[CLI_MAX_CHANNEL_PAIRS];
    unsigned int nr_channel_pairs;
    unsigned int fb_width, fb_height; /* --framebuffer WxH (x86); 0: none */
    char fb_file[4096];               /* its file=PATH; "": a memfd */
    bool no_reboot;
    bool stats;
    int verbose;
    vmm_sandbox_mode_t seccomp; /* --seccomp (default kill) */
    cli_jail_t jail;
} run_options_t;

/* Largest guest RAM and vCPU count the command line accepts. */
#define CLI_MAX_MEM (1ull << 40)
#define CLI_MAX_CPUS 512u
#define CLI_DEFAULT_MEM (256ull << 20)

/*
 * Parse a size: a decimal number with an optional binary suffix K, M, G or
 * T (case-insensitive, optionally followed by "iB" or "B").  A bare number
 * is taken in @bare_unit bytes (MiB for --mem, as QEMU does).  Returns 0
 * and stores the size, or -EINVAL (does not parse) / -ERANGE (overflows).
 */
int cli_parse_size(const char *s, uint64_t bare_unit, uint64_t *out);

/*
 * Parse a guest-physical address: "0x" and hex digits (either case), or
 * decimal digits.  Returns 0, -EINVAL (does not parse) or -ERANGE (over 64
 * bits).
 */
int cli_parse_addr(const char *s, uint64_t *out);

/*
 * Parse a region's length: "0x" and hex digits, or a size as
 * cli_parse_size() reads it with a bare number in bytes (4096, 64K, 1M).
 * Returns 0, -EINVAL or -ERANGE; 0 is a valid result (callers refuse it).
 */
int cli_parse_length(const char *s, uint64_t *out);

/*
 * Parse a MAC address "xx:xx:xx:xx:xx:xx" (hex, either case) into @mac.
 * Returns 0, or -EINVAL when it does not parse or is a multicast address
 * (bit 0 of the first byte: no NIC may use one).
 */
int cli_parse_mac(const char *s, uint8_t mac[6]);

/*
 * Parse "run"'s arguments (argv[0] is "run").  On success returns 0.  On a
 * usage error writes a one-line message into @err and returns EXIT_USAGE.
 * Returns -1 when help was asked for (the caller prints it and exits 0).
 */
int cli_parse_run(int argc, char **argv, run_options_t *opts, char *err, size_t errlen);

/* Print "run"'s usage text. */
void cli_print_run_help(void *stream);

/*
 * "vmmkit mmio-echo" (mmio_echo.c, in the program): an example handler for
 * --forward regions.  argv[0] is "mmio-echo"; returns the exit code.
 */
int vmmkit_mmio_echo_main(int argc, char **argv);

#endif
