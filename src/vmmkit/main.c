/*
 * main.c - the vmmkit program: subcommand dispatch.
 */
#include <stdio.h>
#include <string.h>

#include "vmmkit/cli.h"
#include "vmmkit/run.h"

#ifndef VMMKIT_VERSION
#define VMMKIT_VERSION "0.1.0"
#endif

static void print_help(FILE *f)
{
    fprintf(f, "Usage: vmmkit COMMAND [OPTIONS]\n"
               "\n"
               "vmmkit runs virtual machines on Linux KVM.\n"
               "\n"
               "Commands:\n"
               "  run        boot a Linux guest (vmmkit run --help for its options), or\n"
               "             a system of VMs: vmmkit run SYSTEM.xml\n"
               "  ctl        control a running system: vmmkit ctl SOCKET list|stop VM|...\n"
               "  screenshot a VM's framebuffer as a PNG: vmmkit screenshot FB_FILE OUT.png\n"
               "  mmio-echo  an example handler for run --forward regions: a register\n"
               "             file on a UNIX socket (vmmkit mmio-echo --help)\n"
               "  help       this text\n"
               "  version    print the version\n");
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : NULL;

    if (!cmd) {
        print_help(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(cmd, "run") == 0)
        return vmmkit_run_main(argc - 1, argv + 1);
    if (strcmp(cmd, "ctl") == 0)
        return vmmkit_ctl_main(argc - 1, argv + 1);
    if (strcmp(cmd, "vm-process") == 0) /* internal: one VM of a system */
        return vmmkit_vm_process_main(argc - 1, argv + 1);
    if (strcmp(cmd, "screenshot") == 0)
        return vmmkit_screenshot_main(argc - 1, argv + 1);
    if (strcmp(cmd, "mmio-echo") == 0)
        return vmmkit_mmio_echo_main(argc - 1, argv + 1);
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        print_help(stdout);
        return 0;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("vmmkit %s\n", VMMKIT_VERSION);
        return 0;
    }
    fprintf(stderr, "vmmkit: error: unknown command '%s' (try vmmkit help)\n", cmd);
    return EXIT_USAGE;
}
