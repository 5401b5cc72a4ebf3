#!/bin/sh
# The part of sim/x86_64-nested that runs inside the simulated x86_64 host
# (busybox sh): boots the guest RUNS times with Debian's x86 QEMU on KVM,
# each under a watchdog, and prints one line per boot and a summary.
#   x86_64-nested-in-host.sh KERNEL INITRD RUNS MACHINE WATCHDOG [APPEND [POLL]]
# POLL=1 keeps the host busy beside each boot the way a harness that polls
# a log does (a grep every 20 ms): it makes the lost interrupts likelier.
# Needs QEMU_ROOT, QEMU_LIBS and QEMU_FW (sim/x86_64-qemu) and
# VMMKIT_TSC_KHZ (sim/x86_64).  Exits 0 when every boot was ok, else 1.
#
# Nothing polls while a guest boots (the host has one vCPU, which the nested
# guest needs): each console line is stamped with the host's clock as it
# arrives, and busybox timeout is the watchdog.
K=$1
I=$2
runs=$3
machine=$4
watchdog=$5
extra=$6
poll=${7:-0}
work=$(mktemp -d)
out=$work/out

# now_ms: the host's monotonic clock in ms (10 ms resolution), no fork.
now_ms() {
    read -r up _ </proc/uptime
    up=${up%.*}${up#*.}
    up=${up#"${up%%[!0]*}"}
    echo $((${up:-0} * 10))
}

echo "host: $(uname -r), $(grep -c ^processor /proc/cpuinfo) vCPU, command started at" \
     "$(now_ms) ms of uptime; /dev/kvm: $([ -c /dev/kvm ] && echo yes || echo NO)"
[ -c /dev/kvm ] || exit 1

# The guest prints its own uptime and powers off; init prints the exit status.
cmdline="console=ttyS0 quiet tsc_early_khz=$VMMKIT_TSC_KHZ${extra:+ $extra}"
cmdline="$cmdline vmmkit.run=\"echo guest-uptime \$(cat /proc/uptime); exit 7\""
echo "guest: $(basename "$K"), $machine, 256M, 1 vCPU, '$cmdline', watchdog $watchdog s" \
     "$([ "$poll" = 1 ] && echo ', the host polling beside it')"

nested() {
    exec timeout -s KILL "$watchdog" \
        "$QEMU_ROOT/lib64/ld-linux-x86-64.so.2" --library-path "$QEMU_LIBS" \
        "$QEMU_ROOT/usr/bin/qemu-system-x86_64" -L "$QEMU_FW" \
        -M "$machine" -accel kvm -cpu host -m 256M -smp 1 \
        -nodefaults -no-reboot -display none -serial stdio -monitor none \
        -kernel "$K" -initrd "$I" -append "$cmdline"
}

# stamp T0: copies lines, each prefixed by the ms since T0.
stamp() {
    while IFS= read -r line; do
        echo "$(($(now_ms) - $1)) $line"
    done
}

# at PATTERN: the stamp of the first line matching PATTERN, or -.
at() {
    awk -v p="$1" 'index($0, p) { print $1; found = 1; exit } END { if (!found) print "-" }' "$out"
}

printf '%-4s %8s %8s %8s %9s  %s\n' run init_ms done_ms exit_ms guest_up result
ok=0 hang_init=0 hang_run=0 hang_off=0 init_sum=0 i=1
while [ "$i" -le "$runs" ]; do
    t0=$(now_ms)
    : >"$out"
    if [ "$poll" = 1 ]; then
        (while :; do grep -q 'exit status' "$out"; sleep 0.02; done) &
        poller=$!
    fi
    nested </dev/null 2>&1 | stamp "$t0" >"$out"
    gone=$(($(now_ms) - t0))
    [ "$poll" = 1 ] && kill "$poller" && wait "$poller" 2>/dev/null
    init=$(at 'vmmkit-guest: init reached')
    done=$(at 'vmmkit-guest: exit status 7')
    up=$(awk '/guest-uptime/ { print $3; exit }' "$out")
    if [ "$init" = - ]; then
        result="HANG before init"
        hang_init=$((hang_init + 1))
    elif [ "$done" = - ]; then
        result="HANG after init (no exit status)"
        hang_run=$((hang_run + 1))
    elif [ "$gone" -ge $((watchdog * 1000)) ]; then
        result="HANG at power-off"
        hang_off=$((hang_off + 1))
    else
        result=ok
        ok=$((ok + 1))
        init_sum=$((init_sum + init))
    fi
    [ "$result" = ok ] || gone=-
    printf '%-4s %8s %8s %8s %9s  %s\n' "$i" "$init" "$done" "$gone" "${up:--}" "$result"
    if [ "$result" != ok ]; then
        echo "  its console's last lines:"
        tail -n 5 "$out" | sed 's/^/  | /'
    fi
    i=$((i + 1))
done
avg=-
[ "$ok" -gt 0 ] && avg=$((init_sum / ok))
echo "nested: $ok of $runs boots ok, mean time to init ${avg} ms; hangs: $hang_init before init," \
     "$hang_run after init, $hang_off at power-off"
rm -rf "$work"
[ "$ok" -eq "$runs" ]
