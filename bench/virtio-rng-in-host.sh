#!/bin/sh
# The part of bench/virtio-rng that runs inside the simulated host.
#   virtio-rng-in-host.sh KERNEL INITRD READS
K=$1
I=$2
reads=$3
out=$(mktemp)
mount -t debugfs none /sys/kernel/debug 2>/dev/null
kvm_stat() { cat "/sys/kernel/debug/kvm/$1" 2>/dev/null || echo 0; }

# The guest: mark, loop, mark; the host samples KVM's counters at the marks.
script="read a b </proc/uptime; echo rng-start \$a
dd if=/dev/hwrng of=/dev/null bs=16 count=$reads 2>/dev/null
read c d </proc/uptime; echo rng-end \$c"
b64=$(printf '%s\n' "$script" | base64 | tr -d '\n')
CMDLINE="console=ttyAMA0 quiet vmmkit.script=$b64"

run_qemu() { # TRANSPORT
    dev=virtio-rng-device
    [ "$1" = pci ] && dev=virtio-rng-pci
    exec "$QEMU_ROOT/lib/ld-linux-aarch64.so.1" --library-path "$QEMU_LIBS" \
        "$QEMU_ROOT/usr/bin/qemu-system-aarch64" -M virt,gic-version=3 -accel kvm -cpu host \
        -m 256M -smp 1 -nodefaults -display none -serial stdio -device "$dev" \
        -kernel "$K" -initrd "$I" -append "$CMDLINE"
}
run_vmmkit() { # TRANSPORT
    exec vmmkit run --kernel "$K" --initrd "$I" --mem 256M --transport "$1" --cmdline "$CMDLINE"
}

wait_out() {
    limit=$(($(awk '{printf "%d", $1}' /proc/uptime) + 300))
    while ! grep -q "$1" "$out"; do
        [ "$(awk '{printf "%d", $1}' /proc/uptime)" -gt "$limit" ] && return 1
        sleep 0.05
    done
}

printf '%-8s %-5s %8s %10s %12s %14s\n' vmm bus reads seconds reads_per_s kvm_exits_per_read
for vmm in vmmkit qemu; do
    for bus in mmio pci; do
        "run_$vmm" "$bus" </dev/null >"$out" 2>&1 &
        pid=$!
        wait_out rng-start || { echo "$vmm $bus: no start"; kill $pid; wait $pid; continue; }
        e0=$(kvm_stat exits)
        wait_out rng-end || { echo "$vmm $bus: no end"; kill $pid; wait $pid; continue; }
        e1=$(kvm_stat exits)
        wait $pid
        t0=$(sed -n 's/^rng-start \([0-9.]*\).*/\1/p' "$out")
        t1=$(sed -n 's/^rng-end \([0-9.]*\).*/\1/p' "$out")
        awk -v v="$vmm" -v b="$bus" -v n="$reads" -v t0="$t0" -v t1="$t1" -v e=$((e1 - e0)) \
            'BEGIN { s = t1 - t0; printf "%-8s %-5s %8d %10.2f %12.0f %14.2f\n", v, b, n, s, n / s, e / n }'
    done
done
echo "(guest: dd if=/dev/hwrng bs=16; the guest's hw_random core may serve several reads from"
echo " one virtio-rng request, the same for both VMMs; seconds by the guest's clock; exits:"
echo " KVM's debugfs counter over the loop, all kinds, sampled by the host)"
