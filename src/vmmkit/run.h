/*
 * run.h - the "vmmkit run" command: one VM on the console, or a whole
 * system of VMs from a description (system.c).
 */
#ifndef VMMKIT_RUN_H
#define VMMKIT_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include <vmmkit/board.h>

#include "vmmkit/cli.h"

/* Run "vmmkit run" with argv[0] == "run".  Returns the process exit code. */
int vmmkit_run_main(int argc, char **argv);

/* The arrays the board's config points into, filled from the command line. */
struct board_arrays {
    board_disk_t disks[CLI_MAX_DISKS];
    board_net_t nets[CLI_MAX_NETS];
    board_guard_t guards[CLI_MAX_GUARDS];
    board_forward_t forwards[CLI_MAX_FORWARDS];
};

/*
 * What a VM of a system has beyond its run_options_t: devices on
 * descriptors the supervisor made.  Arrays and descriptors stay the
 * caller's.
 */
typedef struct run_extras {
    const board_net_t *nets; /* non-NULL: these NICs replace the options' */
    unsigned int nr_nets;
    const board_channel_t *channels;
    unsigned int nr_channels;
    const board_shared_t *shared;
    unsigned int nr_shared;
    bool no_console_input; /* the console has no input (stdin is not read) */
} run_extras_t;

/* The board configuration for @o (and @x, may be NULL); @a holds its arrays. */
board_config_t run_board_config(const run_options_t *o, const run_extras_t *x,
                                struct board_arrays *a);

/*
 * Boot and run one VM on stdin/stdout until it powers off or stops
 * (SIGINT, SIGTERM, SIGHUP stop it; SIGUSR1 reboots the guest).  Returns
 * the exit code.
 */
int run_vm(const run_options_t *o, const run_extras_t *x, uint64_t start_ns);

/* "vmmkit run SYSTEM.xml [OPTIONS]" (argv[0] == "run"): the supervisor. */
int vmmkit_system_main(int argc, char **argv);

/* "vmmkit vm-process ..." (internal): one VM of a system, started by the supervisor. */
int vmmkit_vm_process_main(int argc, char **argv);

/* "vmmkit screenshot FB_FILE OUT.png": a framebuffer file as a PNG. */
int vmmkit_screenshot_main(int argc, char **argv);

/* "vmmkit ctl SOCKET COMMAND [VM]": talk to a running system's control socket. */
int vmmkit_ctl_main(int argc, char **argv);

#endif
