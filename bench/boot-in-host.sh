#!/bin/sh
# The part of bench/boot that runs inside the simulated host (busybox sh).
#   boot-in-host.sh KERNEL INITRD RUNS
K=$1
I=$2
runs=$3
work=$(mktemp -d)
out=$work/out

# uptime_ms: the host's monotonic clock, in milliseconds (10 ms resolution).
uptime_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

# rss_kb PID: total RSS and the largest mapping's RSS (the guest RAM), in kB.
rss_kb() {
    awk '/^[0-9a-f]+-[0-9a-f]+ / { cur = 0 } /^Rss:/ { total += $2; if ($2 > big) big = $2 }
         END { print total, big }' "/proc/$1/smaps" 2>/dev/null
}

printf '%-4s %10s %10s %10s %10s  %s\n' run init_ms vmm_rss_kB guest_kB exits "exits by kind"
i=1
while [ "$i" -le "$runs" ]; do
    rm -f "$work/in"
    mkfifo "$work/in"
    t0=$(uptime_ms)
    vmmkit run --kernel "$K" --initrd "$I" --stats \
        --cmdline "console=ttyAMA0 quiet" <"$work/in" >"$out" 2>&1 &
    pid=$!
    exec 3>"$work/in"
    n=0
    while ! grep -q 'vmmkit-guest: init reached' "$out"; do
        n=$((n + 1))
        [ $n -gt 6000 ] && { echo "run $i: no init line"; break; }
        sleep 0.02
    done
    t1=$(uptime_ms)
    sleep 1
    set -- $(rss_kb "$pid")
    total=${1:-0}
    guest=${2:-0}
    printf 'poweroff\n' >&3
    exec 3>&-
    wait "$pid"
    stats=$(sed -n 's/^vmmkit: stats: exits //p' "$out" | tr -d '\r')
    printf '%-4s %10s %10s %10s %10s  %s\n' "$i" $((t1 - t0)) $((total - guest)) "$guest" \
        "${stats%%,*}" "${stats#*, }"
    i=$((i + 1))
done
