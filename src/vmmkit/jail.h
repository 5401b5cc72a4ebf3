/*
 * jail.h - "vmmkit run --jail DIR[,uid=N][,gid=N]": confine the VMM process
 * before it opens anything of the guest's (docs/security.md, "The jail").
 *
 * jail_run() forks the VMM into new PID, mount, IPC and UTS namespaces, and
 * a new network namespace unless a --net tap is configured (a tap belongs
 * to the namespace it is made in, and the host's routing and bridges for it
 * live in the host's).  In the child, a small tmpfs mounted on DIR becomes
 * the root (pivot_root) and holds only: every file named on the command
 * line, bind-mounted at its own absolute path (read-only, except disks not
 * marked ro and --forward sockets), and /dev/kvm, /dev/urandom and, with a
 * tap, /dev/net/tun, made for the jail's uid.  Then resource limits, no core
 * dumps, no_new_privs, supplementary groups dropped, gid and uid switched,
 * every capability dropped (bounding, ambient, permitted, effective,
 * inheritable), and the process made non-dumpable.  Only then is anything
 * of the guest's opened: the paths of the command line are rewritten to
 * their canonical absolute forms, which name the same files in the jail.
 *
 * The parent stays outside, forwards SIGINT, SIGTERM, SIGHUP and SIGUSR1
 * to the VMM and returns its exit code (128 + the signal when a signal
 * ended it: a seccomp kill is 128 + SIGSYS = 159).
 */
#ifndef VMMKIT_JAIL_H
#define VMMKIT_JAIL_H

#include "vmmkit/cli.h"

/* What runs inside the jail: returns the process exit code. */
typedef int (*jail_fn)(run_options_t *o, void *arg);

/*
 * Confine as described above and run @fn(@o, @arg) in the jail; @o is
 * updated to the paths as seen inside.  Returns the exit code for the
 * program (the jailed child's, or EXIT_RUN_ERROR when the jail could not
 * be made, with the reason logged).  Needs root (CAP_SYS_ADMIN and
 * friends) in the caller.
 */
int jail_run(run_options_t *o, jail_fn fn, void *arg);

#endif
