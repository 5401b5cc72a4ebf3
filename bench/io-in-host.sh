#!/bin/sh
# The part of bench/io that runs inside the simulated host (busybox sh), in
# a network namespace of its own.
#   io-in-host.sh KERNEL INITRD mmio|pci RUNS
K=$1
I=$2
transport=$3
runs=$4
work=$(mktemp -d)
out=$work/out
MEM=512M
CMDLINE="console=ttyAMA0 quiet"
DISK_MB=256

mount -t debugfs none /sys/kernel/debug 2>/dev/null
kvm_stat() { cat "/sys/kernel/debug/kvm/$1" 2>/dev/null || echo 0; }
uptime_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }
host_tool() {
    tool=$1
    shift
    "$TOOLS_ROOT/lib/ld-linux-aarch64.so.1" --library-path \
        "$TOOLS_ROOT/lib/aarch64-linux-gnu:$TOOLS_ROOT/usr/lib/aarch64-linux-gnu" \
        "$TOOLS_ROOT/usr/bin/$tool" "$@"
}

# The disk under test lives in the host's RAM (its root file system), so
# the figures measure the VMMs, not the emulated host's storage.
dd if=/dev/zero of="$work/bench.img" bs=1048576 count=$DISK_MB 2>/dev/null
ip link set lo up

if [ "$transport" = pci ]; then
    qdev=pci
    vtrans="--transport pci"
else
    qdev=device
    vtrans=""
fi

qemu_vm() {
    exec "$QEMU_ROOT/lib/ld-linux-aarch64.so.1" --library-path "$QEMU_LIBS" \
        "$QEMU_ROOT/usr/bin/qemu-system-aarch64" -M virt,gic-version=3 -accel kvm -cpu host \
        -m "$MEM" -smp 1 -nodefaults -display none -serial stdio \
        -kernel "$K" -initrd "$I" -append "$CMDLINE" \
        -drive "file=$work/bench.img,format=raw,if=none,id=d0,aio=io_uring" \
        -device "virtio-blk-$qdev,drive=d0,serial=bench" \
        -drive "file=$TOOLS_IMAGE,format=raw,if=none,id=d1,readonly=on" \
        -device "virtio-blk-$qdev,drive=d1,serial=tools" \
        -netdev tap,id=n0,ifname=vmk0,script=no,downscript=no,vhost=off \
        -device "virtio-net-$qdev,netdev=n0,mac=52:54:00:00:00:02"
}
vmmkit_vm() {
    # shellcheck disable=SC2086
    exec vmmkit run --kernel "$K" --initrd "$I" --mem "$MEM" --cpus 1 --cmdline "$CMDLINE" \
        $vtrans --disk "$work/bench.img,serial=bench" --disk "$TOOLS_IMAGE,ro,serial=tools" \
        --net tap=vmk0,mac=52:54:00:00:00:02
}

wait_out() { # PATTERN [SECONDS]
    limit=$(($(uptime_ms) + ${2:-300} * 1000))
    while ! grep -q -e "$1" "$out"; do
        [ "$(uptime_ms)" -gt "$limit" ] && return 1
        sleep 0.05
    done
}

# cmd N COMMAND: type COMMAND at the guest's shell and wait for it to end.
# The end marker is computed by the guest so the echoed line never matches.
cmd() {
    printf '%s; echo "END-$((%s+0))"\n' "$2" "$1" >&3
    wait_out "^END-$1" 600
}

GUEST_SETUP='mkdir -p /tools && for b in /sys/block/vd*; do s=$(cat $b/serial); [ "$s" = tools ] && mount -o ro /dev/${b##*/} /tools; [ "$s" = bench ] && D=/dev/${b##*/}; done; T=/tools; L=$T/usr/lib/aarch64-linux-gnu:$T/lib/aarch64-linux-gnu:$T/usr/lib/aarch64-linux-gnu/ceph; t() { $T/lib/ld-linux-aarch64.so.1 --library-path $L $T/usr/bin/"$@"; }; ip addr add 192.0.2.2/24 dev eth0; ip link set eth0 up'

# fio_job NAME RW BS DEPTH: terse output, one RESULT line: MiB/s IOPS MiB moved.
fio_job() {
    echo "t fio --name=$1 --filename=\$D --rw=$2 --bs=$3 --iodepth=$4 --ioengine=libaio --direct=1 --size=$((DISK_MB - 16))M --runtime=6 --time_based --output-format=terse --terse-version=3 | awk -F';' '{ if (\$7 > 0) { bw=\$7; io=\$8; kb=\$6 } else { bw=\$48; io=\$49; kb=\$47 } printf \"RESULT-$1 %.1f %d %.1f\\n\", bw/1024, io, kb/1024 }'"
}

# measure N COMMAND NAME: run COMMAND in the guest, print "NAME exits user_exits".
measure() {
    e0=$(kvm_stat exits)
    u0=$(kvm_stat mmio_exit_user)
    cmd "$1" "$2" || { echo "  (no end marker for $3)"; return 1; }
    echo "$3 $(($(kvm_stat exits) - e0)) $(($(kvm_stat mmio_exit_user) - u0))" >>"$work/exits"
}

one() { # VMM RUN
    vmm=$1
    run=$2
    rm -f "$work/in" "$work/exits"
    mkfifo "$work/in"
    t0=$(uptime_ms)
    "${vmm}_vm" <"$work/in" >"$out" 2>&1 &
    pid=$!
    exec 3>"$work/in"
    wait_out 'vmmkit-guest: init reached' 120 && t1=$(uptime_ms) || t1=$t0
    n=0
    until [ -e /sys/class/net/vmk0 ]; do n=$((n + 1)); [ $n -gt 600 ] && break; sleep 0.1; done
    ip addr add 192.0.2.1/24 dev vmk0 2>/dev/null
    ip link set vmk0 up
    if ! wait_out 'guest# ' 120; then
        echo "$vmm: the guest did not reach its shell:"
        tail -n 20 "$out"
        kill "$pid"
        exec 3>&-
        wait "$pid"
        return 1
    fi
    cmd 1 "$GUEST_SETUP; until ping -c 1 -W 1 192.0.2.1 >/dev/null 2>&1; do :; done"
    measure 2 "$(fio_job seqread read 1M 8)" seqread
    measure 3 "$(fio_job seqwrite write 1M 8)" seqwrite
    measure 4 "$(fio_job randread randread 4k 32)" randread
    host_tool iperf3 -s -D -1 >/dev/null 2>&1
    sleep 0.5
    measure 5 "t iperf3 -c 192.0.2.1 -t 6 -f m | awk '/receiver/ { print \"RESULT-tx\", \$7, \$5 }'" tx
    host_tool iperf3 -s -D -1 >/dev/null 2>&1
    sleep 0.5
    measure 6 "t iperf3 -c 192.0.2.1 -t 6 -f m -R | awk '/receiver/ { print \"RESULT-rx\", \$7, \$5 }'" rx
    cmd 7 "ping -c 20 -i 0.2 192.0.2.1 | awk -F/ '/round-trip/ { print \"RESULT-ping\", \$4 }'"
    printf 'poweroff\n' >&3
    exec 3>&-
    wait "$pid"
    # One row per VMM and run.
    r() { sed -n "s/^RESULT-$1 //p" "$out" | tr -d '\r' | tail -n 1; }
    x() { awk -v n="$1" '$1 == n { print $2 }' "$work/exits"; }
    per_mib() { # EXITS MIB
        awk -v e="$1" -v m="$2" 'BEGIN { if (m > 0) printf "%.0f", e / m; else print "-" }'
    }
    set -- $(r seqread) ; sr=$1 srm=$3
    set -- $(r seqwrite); sw=$1 swm=$3
    set -- $(r randread); ri=$2
    set -- $(r tx); tx=$1 txmb=$2
    set -- $(r rx); rx=$1 rxmb=$2
    ping=$(r ping)
    printf '%-7s %3s %8s %9s %9s %9s %9s %9s %9s %9s %7s %9s %9s\n' "$vmm" "$run" $((t1 - t0)) \
        "${sr:--}" "${sw:--}" "${ri:--}" "$(per_mib "$(x seqread)" "${srm:-0}")" \
        "$(per_mib "$(x seqwrite)" "${swm:-0}")" "${tx:--}" "${rx:--}" "${ping:--}" \
        "$(per_mib "$(x tx)" "${txmb:-0}")" "$(per_mib "$(x rx)" "${rxmb:-0}")"
    grep -q "RESULT-ping" "$out" || { echo "  $vmm output tail:"; tail -n 15 "$out" | sed 's/^/  | /'; }
}

echo "I/O benchmark: Debian $(uname -r) simulated host, guest $(basename "$K"), $MEM, 1 vCPU, virtio-$transport"
echo "disk: raw ${DISK_MB} MiB in host RAM; fio O_DIRECT libaio; net: tap, iperf3 6 s each way"
printf '%-7s %3s %8s %9s %9s %9s %9s %9s %9s %9s %7s %9s %9s\n' vmm run init_ms rd_MiB/s wr_MiB/s \
    4k_IOPS exit/MiBr exit/MiBw tx_Mbit/s rx_Mbit/s ping_ms exit/MBtx exit/MBrx
i=1
while [ "$i" -le "$runs" ]; do
    for v in ${BENCH_VMMS:-vmmkit qemu}; do one "$v" "$i"; done
    i=$((i + 1))
done
echo "(tx: guest to host, rx: host to guest, both as iperf3's receiver saw them; exits: every"
echo " exit KVM counted during the job, per MiB the job moved)"
