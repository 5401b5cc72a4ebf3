#!/bin/sh
# The part of bench/boot that runs inside the simulated host (busybox sh).
#   boot-in-host.sh KERNEL INITRD RUNS [ARCH]
# ARCH: arm64 (default) or x86_64.  With QEMU_ROOT set (bench/qemu-arm64,
# sim/x86_64-qemu), QEMU boots the same images beside vmmkit, with the same
# RAM, vCPUs and command line (x86: a q35 machine with qboot, no default
# devices; vmmkit: its pc board with ACPI, PCI and virtio-rng).
K=$1
I=$2
runs=$3
arch=${4:-arm64}
work=$(mktemp -d)
out=$work/out
MEM=256M
if [ "$arch" = x86_64 ]; then
    CMDLINE="console=ttyS0 quiet tsc_early_khz=${VMMKIT_TSC_KHZ:-2000000}"
else
    CMDLINE="console=ttyAMA0 quiet"
fi

mount -t debugfs none /sys/kernel/debug 2>/dev/null
kvm_stat() { cat "/sys/kernel/debug/kvm/$1" 2>/dev/null || echo 0; }

# uptime_ms: the host's monotonic clock, in milliseconds (10 ms resolution).
uptime_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

# rss_kb PID: total RSS and the largest mapping's RSS (the guest RAM), in kB.
rss_kb() {
    awk '/^Rss:/ { total += $2; if ($2 > big) big = $2 } END { print total, big }' \
        "/proc/$1/smaps" 2>/dev/null
}

# Each runs in a background subshell and execs, so $! is the VMM itself.
qemu() {
    if [ "$arch" = x86_64 ]; then
        exec "$QEMU_ROOT/lib64/ld-linux-x86-64.so.2" --library-path "$QEMU_LIBS" \
            "$QEMU_ROOT/usr/bin/qemu-system-x86_64" -L "$QEMU_FW" -M q35 -bios qboot.rom \
            -accel kvm -cpu host -m "$MEM" -smp 1 -nodefaults -display none -serial stdio \
            -kernel "$K" -initrd "$I" -append "$CMDLINE"
    fi
    exec "$QEMU_ROOT/lib/ld-linux-aarch64.so.1" --library-path "$QEMU_LIBS" \
        "$QEMU_ROOT/usr/bin/qemu-system-aarch64" -M virt,gic-version=3 -accel kvm -cpu host \
        -m "$MEM" -smp 1 -nodefaults -display none -serial stdio \
        -kernel "$K" -initrd "$I" -append "$CMDLINE"
}
vmmkit_run() {
    exec vmmkit run --kernel "$K" --initrd "$I" --mem "$MEM" --cpus 1 --cmdline "$CMDLINE"
}

# wait_out PATTERN: wait (up to 120 s by the clock) until the VMM printed PATTERN.
wait_out() {
    limit=$(($(uptime_ms) + 120000))
    while ! grep -q -e "$1" "$out"; do
        [ "$(uptime_ms)" -gt "$limit" ] && return 1
        sleep 0.02
    done
}

# one VMM RUN: boot, time to the init line, counters while the guest idles
# at its prompt, then power off.  Prints one table row.
one() {
    rm -f "$work/in"
    mkfifo "$work/in"
    t0=$(uptime_ms)
    "$1" <"$work/in" >"$out" 2>&1 &
    pid=$!
    exec 3>"$work/in"
    wait_out 'vmmkit-guest: init reached'
    t1=$(uptime_ms)
    [ $((t1 - t0)) -ge 120000 ] && t1=$t0 # shown as 0: no init line
    if ! wait_out 'guest# '; then
        echo "$1 run $2: the guest did not reach its shell; its output:"
        tail -n 20 "$out"
        kill "$pid"
        exec 3>&-
        wait "$pid"
        return 1
    fi
    sleep 0.5
    set -- "$1" "$2" $(rss_kb "$pid")
    exits=$(kvm_stat exits)
    if [ "$arch" = x86_64 ]; then
        user=$(($(kvm_stat io_exits) + $(kvm_stat mmio_exits)))
    else
        user=$(kvm_stat mmio_exit_user)
    fi
    printf 'poweroff\n' >&3
    exec 3>&-
    wait "$pid"
    printf '%-8s %3s %9s %12s %12s %10s %12s\n' "${1%_run}" "$2" $((t1 - t0)) "$exits" "$user" \
        $(($3 - $4)) "$4"
}

echo "$arch: boot to init, Debian $(uname -r) host kernel, guest: $(basename "$K"), $MEM, 1 vCPU, '$CMDLINE'"
printf '%-8s %3s %9s %12s %12s %10s %12s\n' vmm run init_ms kvm_exits user_exits vmm_rss_kB guest_ram_kB
i=1
while [ "$i" -le "$runs" ]; do
    one vmmkit_run "$i"
    [ -n "${QEMU_ROOT:-}" ] && one qemu "$i"
    i=$((i + 1))
done
echo "(kvm_exits: every exit KVM counted; user_exits: exits to the VMM (arm64: MMIO; x86: port"
echo " I/O and MMIO); both read from KVM's debugfs while the guest idles at its shell prompt)"
echo
echo "vmmkit's own exit counters for one boot (--stats):"
vmmkit run --kernel "$K" --initrd "$I" --mem "$MEM" --cmdline "$CMDLINE vmmkit.run=true" \
    --stats </dev/null 2>&1 | grep 'stats:'
