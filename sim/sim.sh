# shellcheck shell=bash disable=SC2154 # sim_* are set by the sourcing script
# The architecture-independent part of a simulated KVM host (sourced by
# sim/x86_64, after scripts/lib.sh and guest/debian.sh; see docs/sim.md):
# options, the run's initramfs, the shares, the command script, QEMU in the
# background and the exit status.  sim/arm64 is the same program written out
# for arm64; they keep one contract.
#
# The sourcing script sets, then calls sim_main "$@":
#   sim_name          its name for messages and usage (sim/x86_64)
#   sim_arch          the host's architecture for sim/host-assets (x86_64)
#   sim_cpus sim_mem  the defaults of --cpus and --mem
#   sim_bin           the vmmkit binary's default path
#   sim_9p_device     QEMU's 9p transport device (virtio-9p-pci, ...)
# and defines
#   sim_qemu CPUS MEM sets the array qemu to QEMU's program and machine
#                     options (kernel, devices, console and shares are
#                     added here)
#   sim_append        prints the architecture's kernel parameters (console=)
# and may set
#   sim_backports     what --host-kernel backports brings, for the usage

# Our own failures exit 125, like env(1) and timeout(1): any other status is
# the command's.
die() { printf '[vmmkit] error: %s\n' "$*" >&2; exit 125; }

sim_usage() {
    local bpo=${sim_backports:-"bookworm-backports' newest"} bin=${sim_bin#"$here"/}
    cat <<EOF
usage: $sim_name [OPTIONS] [--] [CMD [ARGS...]]
Boots a simulated $sim_arch KVM host and runs CMD there (default: a shell), in
the current directory, with stdin/stdout/stderr on the console.  Exits with
CMD's exit status, 124 on timeout, 125 if the host failed.

  --share DIR        share DIR, read-write, at the same path (repeatable;
                     default: the current directory)
  --env NAME[=VALUE] pass NAME to CMD (repeatable; VMMKIT_* and CI always are)
  --timeout SECONDS  stop the host after SECONDS (exit 124)
  --mem SIZE         host memory, QEMU syntax (default $sim_mem)
  --cpus N           host vCPUs (default $sim_cpus)
  --host-kernel K    the host's Debian kernel: bookworm (default, 6.1) or
                     backports ($bpo)
  --verbose          show the host kernel's messages
  --print-assets     print the host kernel and base initramfs paths
  -h, --help         this help

The vmmkit binary (\$VMMKIT_BIN, else $bin) is /usr/bin/vmmkit
in the host; the guest assets of guest/fetch-assets are shared read-only at
their own paths.  In an interactive run, ^A x leaves QEMU.
EOF
}

# q WORD: WORD single-quoted for sh.
q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

sim_main() {
    local shares=() envs=() timeout=0 mem=$sim_mem cpus=$sim_cpus verbose=0
    while (($#)); do
        case $1 in
            --share) [[ $# -ge 2 ]] || die "--share needs a directory"
                     [[ -d $2 ]] || die "not a directory: $2"
                     shares+=("$(cd "$2" && pwd -P)"); shift 2 ;;
            --env) [[ $# -ge 2 ]] || die "--env needs NAME[=VALUE]"
                   envs+=("$2"); shift 2 ;;
            --timeout) [[ ${2:-} =~ ^[0-9]+$ ]] || die "--timeout needs a number of seconds"
                       timeout=$2; shift 2 ;;
            --mem) [[ -n ${2:-} ]] || die "--mem needs a size"
                   mem=$2; shift 2 ;;
            --cpus) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "--cpus needs a number"
                    cpus=$2; shift 2 ;;
            --verbose) verbose=1; shift ;;
            --host-kernel) [[ ${2:-} == bookworm || ${2:-} == backports ]] \
                               || die "--host-kernel must be bookworm or backports"
                           export SIM_HOST_KERNEL=$2; shift 2 ;;
            --print-assets) exec "$here/sim/host-assets" --arch "$sim_arch" --print ;;
            -h|--help) sim_usage; exit 0 ;;
            --) shift; break ;;
            -*) sim_usage >&2; die "unknown option: $1" ;;
            *) break ;;
        esac
    done
    (($#)) || set -- sh -l
    local cwd
    cwd=$(pwd -P)
    ((${#shares[@]})) || shares=("$cwd")

    local assets
    assets=$("$here/sim/host-assets" --arch "$sim_arch" --print) \
        || die "cannot get the simulated host's kernel and initramfs"
    eval "$assets"

    tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmmkit-sim.XXXXXX")
    qpid="" tty_state=""
    trap sim_cleanup EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM

    # The run's initrd: the cached base, then a cpio with the vmmkit binary.
    local bin=${VMMKIT_BIN:-$sim_bin}
    [[ -z ${VMMKIT_BIN:-} || -f $bin ]] || die "VMMKIT_BIN: no such file: $bin"
    cp "$SIM_INITRD" "$tmp/initrd"
    if [[ -f $bin ]]; then
        mkdir -p "$tmp/extra/usr/bin"
        install -m 0755 "$bin" "$tmp/extra/usr/bin/vmmkit"
        cpio_pack "$tmp/extra" >> "$tmp/initrd"
    else
        warn "no vmmkit binary at $bin (build it, or set VMMKIT_BIN): the host has none"
    fi

    # The control share: which directories to mount where, and the command.
    local ctl=$tmp/ctl d
    mkdir "$ctl"
    qemu_9p=()
    sim_share vmmkit.ctl "$ctl" rw
    local mounts=()
    for d in "${shares[@]}"; do
        [[ $d != *$'\n'* ]] || die "cannot share a path with a newline: $d"
        sim_share "vmmkit${#mounts[@]}" "$d" rw
        mounts+=("vmmkit${#mounts[@]} rw $d")
    done
    local guest_cache
    guest_cache=$(vmmkit_cache)/guest
    if [[ -d $guest_cache ]]; then
        guest_cache=$(cd "$guest_cache" && pwd -P)
        sim_share vmmkit.guest "$guest_cache" ro
        mounts+=("vmmkit.guest ro $guest_cache")
    fi
    # Parents before children, so that nested shares mount over their parents.
    printf '%s\n' "${mounts[@]}" | LC_ALL=C sort -k3 > "$ctl/shares"

    # The command, as a script that the host's init runs.
    local interactive=0
    [[ -t 0 ]] && interactive=1
    sim_cmd "$@" > "$ctl/cmd"

    local append
    append="$(sim_append) panic=-1"
    if ((verbose)); then append+=" loglevel=7"; else append+=" quiet loglevel=0"; fi
    sim_qemu "$cpus" "$mem"
    qemu+=(-nodefaults -no-reboot -display none
           -kernel "$SIM_KERNEL" -initrd "$tmp/initrd" -append "$append"
           "${qemu_9p[@]}")
    if ((interactive)); then
        # QEMU puts the terminal in raw mode: keys, ^C included, reach CMD.
        tty_state=$(stty -g)
        qemu+=(-serial mon:stdio)
        exec 3<&0
    else
        qemu+=(-serial stdio -monitor none)
        exec 3</dev/null
    fi

    # QEMU runs in the background so that a signal to this script stops it
    # at once (see sim_cleanup); --foreground keeps it in the terminal's
    # process group.
    local start=$SECONDS qrc=0
    timeout --foreground -k 5 "$timeout" "${qemu[@]}" <&3 3<&- &
    qpid=$!
    wait "$qpid" || qrc=$?
    qpid=""

    if [[ -f $ctl/rc ]]; then
        exit "$(cat "$ctl/rc")"
    fi
    if ((timeout && SECONDS - start >= timeout)) && [[ $qrc == 124 || $qrc == 137 ]]; then
        warn "timed out after $timeout s: the simulated host was stopped"
        exit 124
    fi
    warn "the simulated host stopped without running the command to its end (QEMU exit status $qrc)"
    exit 125
}

sim_cleanup() {
    if [[ -n $qpid ]]; then
        kill "$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
    fi
    [[ -z $tty_state ]] || stty "$tty_state" 2>/dev/null
    rm -rf "$tmp"
}

# sim_share TAG DIR ro|rw: exports DIR to the host under the 9p mount tag TAG.
sim_share() {
    local id=fs${#qemu_9p[@]} ro=
    [[ $3 == ro ]] && ro=,readonly=on
    qemu_9p+=(-fsdev "local,id=$id,path=${2//,/,,},security_model=none$ro"
              -device "$sim_9p_device,fsdev=$id,mount_tag=$1")
}

# sim_cmd CMD ARGS...: prints the script that the host's init runs (uses
# sim_main's cwd, shares, envs and interactive).
sim_cmd() {
    local inside=0 d name e value rows cols a
    for d in "${shares[@]}"; do
        [[ $cwd == "$d" || $cwd == "$d"/* ]] && inside=1
    done
    if ((inside)); then
        echo "cd $(q "$cwd") || exit 125"
    else
        warn "the current directory $cwd is not shared: the command runs in /"
        echo "cd /"
    fi
    echo "export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root"
    while IFS= read -r name; do
        echo "export $name=$(q "${!name}")"
    done < <(compgen -e | grep -E '^(VMMKIT_.*|CI)$' || true)
    for e in "${envs[@]}"; do
        name=${e%%=*}
        [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "bad --env name: $name"
        if [[ $e == *=* ]]; then value=${e#*=}; else value=${!name:-}; fi
        echo "export $name=$(q "$value")"
    done
    if ((interactive)); then
        echo "export TERM=$(q "${TERM:-vt100}")"
        read -r rows cols < <(stty size 2>/dev/null || echo "24 80")
        # A pseudo-terminal nobody sized (script(1), some CI) says 0 0.
        ((rows > 0 && cols > 0)) || { rows=24 cols=80; }
        echo "stty rows $rows cols $cols"
        printf 'exec'
    else
        # Nothing to read; lines end in \n alone, as in a log.
        echo "export TERM=dumb"
        echo "stty -onlcr"
        printf 'exec </dev/null'
    fi
    for a in "$@"; do printf ' %s' "$(q "$a")"; done
    echo
}
