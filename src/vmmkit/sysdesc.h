/*
 * sysdesc.h - a system description: several VMs, the memory they share,
 * the channels between them and the switches their NICs plug into, read
 * from an XML file (docs/system-description.md has the format).
 *
 * The parser (sysdesc.c, libxml2) only reads and checks the description:
 * every element and attribute is known, names are unique and referenced
 * names exist, numbers parse, sizes are sane and regions fit.  Starting
 * the system is the supervisor's job (system.c).  Every mistake is
 * reported as "FILE:LINE: message", one per line, and the description is
 * then refused as a whole.
 */
#ifndef VMMKIT_SYSDESC_H
#define VMMKIT_SYSDESC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmmkit/cli.h"

/* Names of VMs, memory regions, channels and switches: 1..31 of [A-Za-z0-9_-]. */
#define SYS_NAME_MAX 32u
#define SYS_MAX_VMS 16u
#define SYS_MAX_REGIONS 32u
#define SYS_MAX_CHANNELS 32u
#define SYS_MAX_SWITCHES 8u
#define SYS_MAX_MAPS 8u                  /* <map> elements per VM (BOARD_MAX_SHARED) */
#define SYS_MAX_VM_CHANNELS 8u           /* channel ends per VM (BOARD_MAX_CHANNELS) */
#define SYS_CHANNEL_NAME_MAX 47u         /* the event page holds 48 bytes of name, NUL included */
#define SYS_MAX_ERRORS 20u               /* the parser stops reporting after this many */
#define SYS_MAX_FILE_SIZE (1u << 20)     /* a larger description is refused unread */
#define SYS_CMDLINE_MAX 2048u            /* bytes of <cmdline> (arm64 COMMAND_LINE_SIZE) */
#define SYS_MAX_REGION_SIZE (1ull << 30) /* memory regions and channel memory */
#define SYS_MIN_CHANNEL_SIZE 4096ull
#define SYS_PAGE_SIZE 4096ull /* region sizes and map addresses are multiples */
#define SYS_MAX_RESTART_LIMIT 100u

/* Where a VM's console goes. */
typedef enum sys_console_output {
    SYS_CONSOLE_PREFIX = 0, /* the supervisor's terminal, each line prefixed "name| " (default) */
    SYS_CONSOLE_FILE,       /* appended to a file (path) */
    SYS_CONSOLE_PTY,        /* a pseudo-terminal; the supervisor prints its name */
    SYS_CONSOLE_SOCKET,     /* a UNIX stream socket (path) the supervisor listens on */
    SYS_CONSOLE_NONE,       /* discarded */
} sys_console_output_t;

/* What the supervisor does when a VM's process dies or its VMM fails. */
typedef enum sys_on_crash {
    SYS_ON_CRASH_REPORT = 0, /* report it; the other VMs go on (default) */
    SYS_ON_CRASH_RESTART,    /* report it and start the VM again (at most restart_limit times) */
    SYS_ON_CRASH_STOP,       /* report it and stop the whole system */
} sys_on_crash_t;

/* A named shared memory region (<memory_region>): one memfd. */
typedef struct sys_region {
    char name[SYS_NAME_MAX];
    unsigned int line;
    uint64_t size; /* a page multiple; a power of two when a channel uses it */
} sys_region_t;

/* A <map> of a region into one VM at a fixed guest-physical address. */
typedef struct sys_map {
    unsigned int line;
    unsigned int region; /* index into sysdesc_t.regions */
    uint64_t base;       /* page aligned */
    bool read_only;      /* perms="r" */
} sys_map_t;

/* One NIC of a VM (<net>), in eth0, eth1 order. */
typedef struct sys_net {
    unsigned int line;
    int switch_index; /* index into sysdesc_t.switches, or -1: a tap */
    char tap[16];     /* when switch_index < 0 */
    uint8_t mac[6];
    bool has_mac;
} sys_net_t;

typedef struct sys_vm {
    char name[SYS_NAME_MAX];
    unsigned int line;
    /*
     * kernel/initrd/dtb/cmdline point into strings the description owns
     * (paths resolved against the description's directory); disks, memory,
     * cpus, transport, console type, no_rng, no_reboot, verbose as for
     * "vmmkit run".  nr_nets, nr_guards, nr_forwards are 0: NICs are below.
     */
    run_options_t opts;
    sys_net_t nets[CLI_MAX_NETS];
    unsigned int nr_nets;
    sys_map_t maps[SYS_MAX_MAPS];
    unsigned int nr_maps;
    sys_console_output_t console_output;
    char console_path[4096]; /* FILE and SOCKET, resolved; "" otherwise */
    sys_on_crash_t on_crash;
    unsigned int restart_limit; /* SYS_ON_CRASH_RESTART: restarts allowed (default 3) */
} sys_vm_t;

/* A <channel> between two VMs: end[0] and end[1]. */
typedef struct sys_channel {
    char name[SYS_CHANNEL_NAME_MAX + 1];
    unsigned int line;
    int region;         /* index into sysdesc_t.regions, or -1: a region of its own of @size */
    uint64_t size;      /* the shared memory's size (a power of two, >= 4 KiB) */
    unsigned int vm[2]; /* indices into sysdesc_t.vms; different VMs */
} sys_channel_t;

/* A <switch>: a learning L2 switch for the NICs attached to it. */
typedef struct sys_switch {
    char name[SYS_NAME_MAX];
    unsigned int line;
    char uplink_tap[16]; /* "" = no uplink */
} sys_switch_t;

typedef struct sysdesc {
    char path[4096];         /* the file as given */
    char name[SYS_NAME_MAX]; /* <system name=...>, or the file's base name */
    char control[108];       /* control socket path (resolved), "" = none */
    sys_region_t regions[SYS_MAX_REGIONS];
    unsigned int nr_regions;
    sys_vm_t vms[SYS_MAX_VMS];
    unsigned int nr_vms;
    sys_channel_t channels[SYS_MAX_CHANNELS];
    unsigned int nr_channels;
    sys_switch_t switches[SYS_MAX_SWITCHES];
    unsigned int nr_switches;
    /* strings opts.* point into (owned) */
    char **strings;
    size_t nr_strings;
} sysdesc_t;

/*
 * Read and check the description in file @path (at most SYS_MAX_FILE_SIZE
 * bytes; relative paths in it are resolved against the file's directory,
 * made absolute, and the files it names are checked).  Returns 0 and a new
 * description in *@out (sysdesc_free), or a negative errno with every
 * error found written to @err, one "FILE:LINE: message" per line (no
 * trailing newline; at most SYS_MAX_ERRORS; a missing or unreadable file
 * is "FILE: message").
 */
int sysdesc_load(const char *path, sysdesc_t **out, char *err, size_t errlen);

/*
 * The same from @len bytes at @buf: @name is used in messages and @dir to
 * resolve relative paths.  Files named in it are not checked for
 * existence when @check_files is false (the fuzzer's mode).
 */
int sysdesc_parse(const char *buf, size_t len, const char *name, const char *dir, bool check_files,
                  sysdesc_t **out, char *err, size_t errlen);

void sysdesc_free(sysdesc_t *d);

/* Index of the VM called @name, or -1. */
int sysdesc_find_vm(const sysdesc_t *d, const char *name);

#endif
