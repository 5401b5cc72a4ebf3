/*
 * run.c - "vmmkit run": boot one Linux guest on the console.
 *
 * Threads: main (sets up, then waits in vm_run), one per vCPU (the core's),
 * the console input thread (the chardev's), and a signal thread that turns
 * SIGINT/SIGTERM/SIGHUP into vm_request_stop().
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vmmkit/board.h>
#include <vmmkit/chardev.h>
#include <vmmkit/log.h>
#include <vmmkit/sandbox.h>
#include <vmmkit/vm.h>

#include "vmmkit/channel_pair.h"
#include "vmmkit/cli.h"
#include "vmmkit/jail.h"
#include "vmmkit/run.h"

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The board's view of the command line; @a is filled for it. */
static board_config_t board_config(const run_options_t *o, struct board_arrays *a)
{
    for (unsigned int i = 0; i < o->nr_disks; i++)
        a->disks[i] = (board_disk_t){.path = o->disks[i].path,
                                     .read_only = o->disks[i].read_only,
                                     .serial = o->disks[i].serial};
    for (unsigned int i = 0; i < o->nr_nets; i++)
        a->nets[i] =
            (board_net_t){.tap = o->nets[i].tap, .mac = o->nets[i].has_mac ? o->nets[i].mac : NULL};
    for (unsigned int i = 0; i < o->nr_guards; i++) {
        const cli_guard_t *g = &o->guards[i];
        a->guards[i] = (board_guard_t){
            .base = g->base,
            .size = g->size,
            .policy = g->policy,
            .contents = g->contents[0] ? g->contents : NULL,
            .writable = g->writable[0] ? g->writable : NULL,
        };
    }
    for (unsigned int i = 0; i < o->nr_forwards; i++)
        a->forwards[i] = (board_forward_t){.base = o->forwards[i].base,
                                           .size = o->forwards[i].size,
                                           .socket = o->forwards[i].socket,
                                           .timeout_ms = o->forwards[i].timeout_ms};
    board_config_t cfg = {
        .kernel = o->kernel,
        .initrd = o->initrd,
        .dtb = o->dtb,
        .cmdline = o->cmdline,
        .ram_size = o->mem_size,
        .cpus = o->cpus,
        .gic_version = o->gic_version,
        .virtio_console = o->console_virtio,
        .no_rng = o->no_rng,
        .disks = a->disks,
        .nr_disks = o->nr_disks,
        .nets = a->nets,
        .nr_nets = o->nr_nets,
        .transport = !o->transport_given ? board_default_transport()
                     : o->transport_pci  ? BOARD_TRANSPORT_PCI
                                         : BOARD_TRANSPORT_MMIO,
        .fb_width = o->fb_width,
        .fb_height = o->fb_height,
        .fb_file = o->fb_file[0] ? o->fb_file : NULL,
        .guards = a->guards,
        .nr_guards = o->nr_guards,
        .forwards = a->forwards,
        .nr_forwards = o->nr_forwards,
    };
    /* --channel-pair: the loopback channels' descriptors (channel_pair.h). */
    cfg.channels = channel_pairs_open(o->channel_pairs, o->nr_channel_pairs, &cfg.nr_channels);
    return cfg;
}

board_config_t run_board_config(const run_options_t *o, const run_extras_t *x,
                                struct board_arrays *a)
{
    board_config_t cfg = board_config(o, a);

    if (x && x->nets) {
        cfg.nets = x->nets;
        cfg.nr_nets = x->nr_nets;
    }
    if (x && x->nr_channels) {
        cfg.channels = x->channels;
        cfg.nr_channels = x->nr_channels;
    }
    if (x && x->nr_shared) {
        cfg.shared = x->shared;
        cfg.nr_shared = x->nr_shared;
    }
    return cfg;
}

static void print_stats(board_t *board, vm_t *vm, uint64_t start_ns, unsigned int boots)
{
    board_errors_t errs[48];
    unsigned int nerr = board_guest_errors(board, errs, 48);

    uint64_t first = vm_first_entry_ns(vm), total = 0;

    fprintf(stderr, "vmmkit: stats: boots %u, run time %.3f s\n", boots,
            (double)(now_ns() - start_ns) / 1e9);
    if (first)
        fprintf(stderr, "vmmkit: stats: start to first guest instruction %.3f ms\n",
                (double)(first - start_ns) / 1e6);
    for (int k = 0; k < VM_EXIT_KIND_COUNT; k++)
        total += vm_exit_count(vm, (vm_exit_kind_t)k);
    fprintf(stderr, "vmmkit: stats: exits %llu", (unsigned long long)total);
    for (int k = 0; k < VM_EXIT_KIND_COUNT; k++) {
        uint64_t n = vm_exit_count(vm, (vm_exit_kind_t)k);
        if (n)
            fprintf(stderr, ", %s %llu", vm_exit_kind_name((vm_exit_kind_t)k),
                    (unsigned long long)n);
    }
    fputc('\n', stderr);
    /* What the guest did wrong, counted by the devices (each also logged, rate-limited). */
    fprintf(stderr, "vmmkit: stats: guest errors%s", nerr ? "" : " none");
    for (unsigned int i = 0; i < nerr; i++)
        fprintf(stderr, "%s %s %llu", i ? "," : "", errs[i].name,
                (unsigned long long)errs[i].count);
    fputc('\n', stderr);
}

/* Signals become a stop request, delivered by a thread of their own. */
struct signal_watch {
    pthread_t thread;
    sigset_t set;
    vm_t *vm;
};

static void *signal_thread(void *arg)
{
    struct signal_watch *sw = arg;
    int sig;

    if (vmm_sandbox_enter(VMM_THREAD_SIGNAL) < 0) {
        LOG_ERR("the signal thread cannot install its seccomp filter; signals are not served");
        return NULL;
    }
    for (;;) {
        if (sigwait(&sw->set, &sig) != 0)
            continue;
        if (sig == SIGUSR2) /* our own wake-up at exit */
            return NULL;
        if (sig == SIGUSR1) {
            LOG_INFO("%s: rebooting the guest", strsignal(sig));
            vm_request_stop(sw->vm, VM_STOP_RESET);
            continue;
        }
        LOG_INFO("%s: stopping the VM", strsignal(sig));
        vm_request_stop(sw->vm, VM_STOP_REQUESTED);
    }
}

static void console_quit(void *opaque)
{
    struct signal_watch *sw = opaque;

    /* The console's input thread may run before the VM exists. */
    vm_t *vm = __atomic_load_n(&sw->vm, __ATOMIC_ACQUIRE);

    if (vm)
        vm_request_stop(vm, VM_STOP_REQUESTED);
}

int run_vm(const run_options_t *o, const run_extras_t *x, uint64_t start_ns)
{
    char err[512] = "";
    struct board_arrays arrays;
    board_config_t cfg = run_board_config(o, x, &arrays);
    struct signal_watch sw = {.vm = NULL};
    board_t *board = NULL;
    unsigned int boots = 0;
    int status = EXIT_RUN_ERROR;
    vm_t *vm;

    /* Block the stop signals before any thread exists, so only the signal
     * thread receives them. */
    sigemptyset(&sw.set);
    sigaddset(&sw.set, SIGINT);
    sigaddset(&sw.set, SIGTERM);
    sigaddset(&sw.set, SIGHUP);
    sigaddset(&sw.set, SIGUSR1);
    sigaddset(&sw.set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &sw.set, NULL);

    /* Before any thread exists: each installs its class's filter (vmmkit/sandbox.h). */
    if (vmm_sandbox_set_mode(o->seccomp) < 0)
        return EXIT_RUN_ERROR;
    /* Every input error first, with no hypervisor needed (board_check() is pure). */
    if (o->dump_dtb && o->dump_acpi != board_describes_with_acpi()) {
        LOG_ERR("%s: the %s board describes itself with %s: use %s",
                o->dump_acpi ? "--dump-acpi" : "--dump-dtb", board_name(),
                o->dump_acpi ? "a device tree" : "ACPI tables",
                o->dump_acpi ? "--dump-dtb FILE" : "--dump-acpi DIR");
        return EXIT_USAGE;
    }
    cfg.console = chardev_stdio_open(x && x->no_console_input ? -1 : STDIN_FILENO, STDOUT_FILENO);
    if (!cfg.console) {
        LOG_ERR("cannot open the console: %s", strerror(errno));
        return EXIT_RUN_ERROR;
    }
    chardev_set_quit_handler(cfg.console, console_quit, &sw);
    if (board_check(&cfg, err, sizeof(err)) < 0) {
        chardev_close(cfg.console);
        LOG_ERR("%s", err);
        return EXIT_RUN_ERROR;
    }
    if (board_create(&cfg, &board, err, sizeof(err)) < 0) {
        chardev_close(cfg.console);
        LOG_ERR("%s", err);
        return EXIT_RUN_ERROR;
    }
    vm = board_vm(board);
    __atomic_store_n(&sw.vm, vm, __ATOMIC_RELEASE);
    if (pthread_create(&sw.thread, NULL, signal_thread, &sw) != 0) {
        LOG_ERR("cannot start the signal thread");
        goto out;
    }

    for (;;) {
        vm_stop_reason_t why;

        if (board_boot(board, err, sizeof(err)) < 0) {
            LOG_ERR("%s", err);
            break;
        }
        if (o->dump_dtb) {
            status = board_dump_description(board, o->dump_dtb, err, sizeof(err)) < 0
                         ? EXIT_RUN_ERROR
                         : 0;
            if (status)
                LOG_ERR("%s", err);
            break;
        }
        boots++;
        /* Every thread but the vCPUs runs now: the main thread's allowlist. */
        if (boots == 1 && vmm_sandbox_enter(VMM_THREAD_MAIN) < 0) {
            LOG_ERR("cannot install the main thread's seccomp filter");
            break;
        }
        why = vm_run(vm);
        if (why == VM_STOP_POWEROFF || why == VM_STOP_REQUESTED) {
            LOG_INFO("guest %s", why == VM_STOP_POWEROFF ? "powered off" : "stopped");
            status = 0;
            break;
        }
        if (why == VM_STOP_RESET && o->no_reboot) {
            LOG_INFO("guest rebooted; exiting (--no-reboot)");
            status = 0;
            break;
        }
        if (why != VM_STOP_RESET) {
            LOG_ERR("the VM stopped on an error");
            break;
        }
        LOG_INFO("guest rebooted; booting it again");
        if (vm_reset(vm) < 0) {
            LOG_ERR("cannot reset the VM");
            break;
        }
    }
    pthread_kill(sw.thread, SIGUSR2);
    pthread_join(sw.thread, NULL);
out:
    if (o->stats)
        print_stats(board, vm, start_ns, boots);
    chardev_close(cfg.console); /* stops input before the UART goes away */
    board_destroy(board);
    return status;
}

/* The VMM inside --jail (jail.c): @o names the files by their paths in the jail. */
static int run_jailed(run_options_t *o, void *arg)
{
    return run_vm(o, NULL, *(uint64_t *)arg);
}

int vmmkit_run_main(int argc, char **argv)
{
    uint64_t start_ns = now_ns();
    run_options_t opts;
    char err[512] = "";
    int r;

    /* "vmmkit run SYSTEM.xml": a whole system of VMs (system.c). */
    if (argc > 1 && argv[1][0] != '-')
        return vmmkit_system_main(argc, argv);
    r = cli_parse_run(argc, argv, &opts, err, sizeof(err));

    if (r < 0) {
        cli_print_run_help(stdout);
        return 0;
    }
    if (r) {
        fprintf(stderr, "vmmkit: error: %s\n", err);
        return r;
    }
    vmm_log_set_level(opts.verbose >= 2 ? VMM_LOG_DEBUG
                      : opts.verbose    ? VMM_LOG_INFO
                                        : VMM_LOG_WARN);
    if (opts.jail.dir[0])
        return jail_run(&opts, run_jailed, &start_ns);
    return run_vm(&opts, NULL, start_ns);
}
