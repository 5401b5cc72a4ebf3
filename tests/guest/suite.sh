#!/bin/sh
# Guest integration tests, run inside the simulated arm64 KVM host (busybox
# sh) by tests/guest/run: each test boots Debian's arm64 kernel under KVM
# with vmmkit and checks what the guest reports.
#
#   suite.sh KERNEL INITRD KERNEL_RELEASE [FILTER] [SET]
#
# FILTER is a substring of the test names to run.  SET is "main" (the
# default: Debian 12's 6.1 host kernel) or "firmware" (the tests that need
# a host that forwards SMCCC calls to the VMM: the bookworm-backports
# kernel).  Ends with "N passed, N failed".
K=$1
I=$2
kver=$3
filter=${4:-}
set_name=${5:-main}
work=$(mktemp -d)
BOOT_TIMEOUT=${BOOT_TIMEOUT:-180}
passed=0
failed=0
out=$work/out

# The helpers both suites share (tests/guest/lib.sh).
. "$(dirname "$0")/lib.sh"

t_kernel_version() {
    guest_run "echo kver=\$(uname -r)"
    expect_rc 0 && expect_out "kver=$kver" && expect_out "vmmkit-guest: exit status 0"
}

t_memory() {
    guest_run "grep MemTotal /proc/meminfo" --mem 300M
    expect_rc 0 || return 1
    kb=$(sed -n 's/^MemTotal: *\([0-9]*\) kB.*/\1/p' "$out" | head -n 1)
    note "--mem 300M: guest MemTotal ${kb:-?} kB"
    # The kernel keeps some for itself; it may never see more than given.
    [ -n "$kb" ] && [ "$kb" -le $((300 * 1024)) ] && [ "$kb" -ge $((240 * 1024)) ]
}

t_two_cpus() {
    guest_run "echo cpus=\$(nproc) online=\$(cat /sys/devices/system/cpu/online)" --cpus 2
    expect_rc 0 && expect_out "cpus=2 online=0-1"
}

t_poweroff_exit0() {
    guest_run "poweroff -f"
    expect_rc 0
}

t_reboot_no_reboot() {
    guest_run "reboot -f" --no-reboot
    expect_rc 0 && expect_out "vmmkit-guest: init reached"
}

t_reboot_boots_again() {
    start_interactive --cmdline "console=ttyAMA0 quiet"
    ok=0
    # the second boot's shell takes the poweroff
    wait_count "guest# " 1 && printf 'reboot\n' >&3 &&
        wait_count "vmmkit-guest: init reached" 2 && wait_count "guest# " 2 &&
        printf 'poweroff\n' >&3 && ok=1
    finish_interactive
    [ $ok = 1 ] && expect_rc 0
}

t_bad_inputs() {
    head -c 32 "$K" >"$work/short"
    head -c 1048576 /dev/urandom >"$work/random"
    r=0
    bad 1 "--kernel /nonexistent: No such file" --kernel /nonexistent || r=1
    bad 1 "--kernel $work: not a regular file" --kernel "$work" || r=1
    bad 1 "--kernel $work/random: " --kernel "$work/random" || r=1
    bad 1 "--kernel $work/short: truncated" --kernel "$work/short" || r=1
    bad 1 "--initrd /nonexistent: No such file" --kernel "$K" --initrd /nonexistent || r=1
    bad 1 "--dtb $work/random: not a device tree" --kernel "$K" --dtb "$work/random" || r=1
    bad 1 "--mem 16M is too small" --kernel "$K" --initrd "$I" --mem 16M || r=1
    bad 2 "--mem '12Q' is not a size" --kernel "$K" --mem 12Q || r=1
    bad 2 "--cpus '0'" --kernel "$K" --cpus 0 || r=1
    bad 2 "unknown option" --kernel "$K" --frobnicate || r=1
    bad 2 "no kernel given" || r=1
    head -c 100 /dev/zero >"$work/tiny.img"
    bad 1 "--disk /nonexistent: No such file" --kernel "$K" --disk /nonexistent || r=1
    bad 1 "--disk $work: not a regular file or block device" --kernel "$K" --disk "$work" || r=1
    bad 1 "--disk $work/tiny.img: 100 bytes, smaller than one 512-byte sector" \
        --kernel "$K" --disk "$work/tiny.img" || r=1
    bad 2 "--disk needs a path" --kernel "$K" --disk ",ro" || r=1
    bad 2 "--net needs a tap device" --kernel "$K" --net mac=52:54:00:00:00:01 || r=1
    bad 2 "not a unicast" --kernel "$K" --net tap=t0,mac=ff:ff:ff:ff:ff:ff || r=1
    # Generic regions: out of RAM, the board's windows and each other; files
    # of the region's size; a handler listening.
    bad 1 "--guard 0x40000000,0x1000: overlaps guest RAM at 0x40000000-0x4fffffff" \
        --kernel "$K" --guard 0x40000000,0x1000 || r=1
    bad 1 "--guard 0x9000000,0x1000: overlaps the PL011 UART" --kernel "$K" --guard 0x09000000,4K || r=1
    bad 1 "--forward 0x8000000,0x10000: overlaps the GIC" \
        --kernel "$K" --forward "0x08000000,64K,socket=$work/none" || r=1
    bad 1 "--guard 0xa000000,0x100: overlaps the virtio-mmio windows" \
        --kernel "$K" --guard 0x0a000000,256 || r=1
    bad 1 "--guard 0xc000800,0x1000: overlaps --guard 0xc000000,0x1000" \
        --kernel "$K" --guard 0x0c000000,4K --guard 0x0c000800,4K || r=1
    bad 1 "--guard 0xc000000,0x1000: contents $work/tiny.img: 100 bytes, but the region is 4096" \
        --kernel "$K" --guard "0x0c000000,4K,contents=$work/tiny.img" || r=1
    bad 1 "--guard 0xc000000,0x1000: writable /nonexistent: No such file" \
        --kernel "$K" --guard 0x0c000000,4K,writable=/nonexistent || r=1
    bad 1 "--forward 0xc100000,0x1000: socket $work/none: No such file or directory" \
        --kernel "$K" --forward "0x0c100000,4K,socket=$work/none" || r=1
    bad 1 "--forward 0xc100000,0x1000: $work/tiny.img is not a socket" \
        --kernel "$K" --forward "0x0c100000,4K,socket=$work/tiny.img" || r=1
    bad 2 "--guard 0xc000000: policy 'deny' must be report, mask or report-and-mask" \
        --kernel "$K" --guard 0x0c000000,4K,policy=deny || r=1
    bad 2 "--guard 0xc000000: the size must be more than 0" --kernel "$K" --guard 0x0c000000,0 || r=1
    bad 2 "--forward 0xc100000 needs the handler's socket" --kernel "$K" --forward 0x0c100000,4K || r=1
    bad 2 "--forward 0xc100000: timeout '0' must be 1 to 60000" \
        --kernel "$K" --forward "0x0c100000,4K,socket=$work/none,timeout=0" || r=1
    # A socket whose handler died: connecting is refused, at start.
    vmmkit mmio-echo --socket "$work/stale.sock" 2>/dev/null &
    p=$!
    wait_file "$work/stale.sock" 10 && kill -9 $p
    wait $p 2>/dev/null
    bad 1 "--forward 0xc100000,0x1000: cannot connect to the handler at $work/stale.sock: Connection refused" \
        --kernel "$K" --initrd "$I" --forward "0x0c100000,4K,socket=$work/stale.sock" || r=1
    return $r
}

t_no_kvm() {
    r=0
    # /dev/kvm missing: a private /dev without it.
    unshare -m sh -c "mount -t tmpfs none /dev && exec vmmkit run --kernel '$K'" \
        </dev/null >"$out" 2>&1
    rc=$?
    expect_rc 1 && expect_out "/dev/kvm: not found" || r=1
    # /dev/kvm refusing: something that is not KVM in its place.
    unshare -m sh -c "mount --bind /dev/null /dev/kvm && exec vmmkit run --kernel '$K'" \
        </dev/null >"$out" 2>&1
    rc=$?
    expect_rc 1 && expect_out "/dev/kvm" || r=1
    return $r
}

# The KVM backend's own tests and the unit tests, built for arm64, run on
# this host's real KVM (tests/native/test_kvm_arm64.c: GICv3, PSCI CPU_ON,
# SYSTEM_OFF, MMIO of every width, reset).
t_arm64_programs() {
    r=0
    if [ -z "${ARM64_TESTS:-}" ] || [ ! -d "$ARM64_TESTS" ]; then
        note "SKIPPED: no arm64 test programs (ARM64_TESTS=${ARM64_TESTS:-})"
        return 1
    fi
    for t in "$ARM64_TESTS"/native/native_test_kvm_arm64 "$ARM64_TESTS"/unit/test_*; do
        # These need dtc and iasl: they run on the build machine (ctest), not here.
        case $t in *test_arm64_fdt | *test_x86_acpi) continue ;; esac
        [ -x "$t" ] || continue
        "$ARM64_LD" --library-path "$ARM64_LIBS" "$t" >"$out" 2>&1
        rc=$?
        if [ $rc -ne 0 ] || grep -q SKIPPED "$out"; then
            note "${t##*/}: exit $rc"
            tail -n 20 "$out" | sed 's/^/    /'
            r=1
        else
            note "${t##*/}: $(grep -E 'PASSED' "$out" | tail -n 1)"
        fi
    done
    return $r
}

# --dump-dtb writes the generated tree; the guest boots with it as --dtb.
# tests/guest/run checks the dumps with dtc on the build machine.
t_dtb_roundtrip() {
    vmm --kernel "$K" --initrd "$I" --cpus 4 --dump-dtb "$RESULTS/virt-gicv3-4cpus.dtb"
    expect_rc 0 || return 1
    vmm --kernel "$K" --initrd "$I" --dump-dtb "$RESULTS/virt-gicv3-1cpu.dtb"
    expect_rc 0 || return 1
    vmm --kernel "$K" --initrd "$I" --cpus 2 --dump-dtb "$work/two.dtb" --cmdline "console=ttyAMA0 quiet"
    expect_rc 0 || return 1
    vmm --kernel "$K" --initrd "$I" --cpus 2 --dtb "$work/two.dtb" \
        --cmdline "console=ttyAMA0 quiet vmmkit.run=\"echo cpus=\$(nproc) args=\$(cat /proc/cmdline)\""
    expect_rc 0 && expect_out "cpus=2 args=console=ttyAMA0 quiet vmmkit.run"
}

t_four_cpus() {
    guest_run "echo online=\$(cat /sys/devices/system/cpu/online)" --cpus 4
    expect_rc 0 && expect_out "online=0-3"
}

# The GIC is chosen at run time from what the host has: this host's GICv3
# has no GICv2 compatibility, so --gic 2 must fail cleanly and auto take v3.
t_gic_choice() {
    guest_run "true" -v
    expect_rc 0 && expect_out "in-kernel GICv3" || return 1
    vmm --kernel "$K" --initrd "$I" --gic 2
    expect_rc 1 && expect_out "cannot create the GICv2 interrupt controller"
}

# virtio (issue 3): what the guest sees of virtio-rng and virtio-console on
# each transport.
RNG_CHECK='echo rng=$(cat /sys/class/misc/hw_random/rng_current) bytes=$(head -c 4096 /dev/hwrng | wc -c)'

t_virtio_mmio_rng() {
    guest_script "cat /sys/bus/virtio/devices/*/device; $RNG_CHECK"
    expect_rc 0 && expect_out "^0x0004" && expect_out "rng=virtio_rng.0 bytes=4096"
}

t_virtio_pci_rng() {
    guest_script 'for d in /sys/bus/pci/devices/*; do echo pci=$(cat $d/vendor):$(cat $d/device); done
echo msi=$(grep -c ITS-MSI /proc/interrupts)
'"$RNG_CHECK" --transport pci
    expect_rc 0 && expect_out "pci=0x1af4:0x1044" && expect_out "rng=virtio_rng.0 bytes=4096" || return 1
    # MSI-X through the ITS: the virtio-pci vectors are ITS-MSI interrupts.
    expect_out "msi=[1-9]"
}

# --console virtio: the guest's console is hvc0, interactive.
hvc_session() {
    start_interactive --console virtio --cmdline "console=hvc0 quiet" "$@"
    ok=0
    wait_for "guest# " && printf 'tty; echo answer=$((6*7))\n' >&3 && wait_for "answer=42" 30 &&
        printf 'poweroff\n' >&3 && ok=1
    finish_interactive
    [ $ok = 1 ] && expect_rc 0 && expect_out "^/dev/hvc0"
}

t_hvc_mmio() { hvc_session; }
t_hvc_pci() { hvc_session --transport pci; }

# virtio-blk (issue 4).  $DISK_IMAGE is an ext4 image tests/guest/run made
# on the build machine (mke2fs -d): hello.txt, big.bin and big.sha256.
BLK_READ='mount -t ext4 /dev/vda /mnt && cat /mnt/hello.txt && (cd /mnt && sha256sum -c big.sha256)
echo serial=$(cat /sys/block/vda/serial) size=$(cat /sys/block/vda/size) ro=$(cat /sys/block/vda/ro)
umount /mnt'

blk_read() {
    cp "$DISK_IMAGE" "$work/read.img"
    guest_script "$BLK_READ" --disk "$work/read.img,serial=vmmkit-disk0" "$@"
    expect_rc 0 && expect_out "hello from the build machine" && expect_out "big.bin: OK" &&
        expect_out "serial=vmmkit-disk0 size=131072 ro=0"
}
t_blk_read_mmio() { blk_read; }
t_blk_read_pci() { blk_read --transport pci; }

# The guest writes and syncs; a second boot finds the data, and so does
# debugfs on the build machine afterwards (tests/guest/run).
t_blk_write_persists() {
    cp "$DISK_IMAGE" "$RESULTS/written.img"
    guest_script 'mount -t ext4 /dev/vda /mnt || exit 1
echo "written by the guest" > /mnt/guest-wrote.txt
head -c 3145728 /dev/urandom > /mnt/g.bin && (cd /mnt && sha256sum g.bin > g.sha256)
sync && umount /mnt && echo written=yes' --disk "$RESULTS/written.img"
    expect_rc 0 && expect_out "written=yes" || return 1
    guest_script 'mount -t ext4 /dev/vda /mnt && cat /mnt/guest-wrote.txt && (cd /mnt && sha256sum -c g.sha256)' \
        --disk "$RESULTS/written.img" --transport pci
    expect_rc 0 && expect_out "^written by the guest" && expect_out "g.bin: OK"
}

# A read-only disk: the guest sees it read-only, its writes are refused and
# the image is unchanged.
t_blk_read_only() {
    cp "$DISK_IMAGE" "$work/ro.img"
    before=$(sha256sum <"$work/ro.img")
    guest_script 'echo ro=$(cat /sys/block/vda/ro)
mount -t ext4 -o ro /dev/vda /mnt && cat /mnt/hello.txt && umount /mnt
if dd if=/dev/zero of=/dev/vda bs=4096 count=1 oflag=direct 2>/dev/null; then echo write=ok; else echo write=refused; fi' \
        --disk "$work/ro.img,ro"
    expect_rc 0 && expect_out "ro=1" && expect_out "hello from the build machine" &&
        expect_out "write=refused" || return 1
    [ "$(sha256sum <"$work/ro.img")" = "$before" ] || { note "read-only image changed"; return 1; }
}

# SIGKILL the VMM right after the guest's sync returned: nothing is lost.
t_blk_sigkill_after_sync() {
    cp "$DISK_IMAGE" "$work/kill.img"
    b64=$(printf '%s\n' 'mount -t ext4 /dev/vda /mnt || exit 1
head -c 2097152 /dev/urandom > /mnt/k.bin && (cd /mnt && sha256sum k.bin > k.sha256)
sync && echo SYNC-RETURNED
sleep 600' | base64 | tr -d '\n')
    timeout "$BOOT_TIMEOUT" vmmkit run --kernel "$K" --initrd "$I" --disk "$work/kill.img" \
        --cmdline "console=ttyAMA0 quiet vmmkit.script=$b64" </dev/null >"$out" 2>&1 &
    pid=$!
    ok=0
    while kill -0 "$pid" 2>/dev/null; do
        if grep -q "SYNC-RETURNED" "$out"; then
            ok=1
            break
        fi
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null
    wait "$pid"
    [ $ok = 1 ] || { note "the guest never reported its sync"; return 1; }
    guest_script 'mount -t ext4 /dev/vda /mnt && (cd /mnt && sha256sum -c k.sha256)' --disk "$work/kill.img"
    expect_rc 0 && expect_out "k.bin: OK"
}

# A host-side error (the image's file system is full) reaches the guest as
# an I/O error; the VMM logs it, keeps serving, and exits 0 at poweroff.
t_blk_host_error() {
    mkdir -p "$work/full"
    mount -t tmpfs -o size=4M vmmkit-full "$work/full" || return 1
    truncate -s 64M "$work/full/sparse.img"
    guest_script 'if dd if=/dev/urandom of=/dev/vda bs=1048576 count=16 oflag=direct 2>/dev/null; then echo dd=ok; else echo dd=failed; fi
dd if=/dev/vda of=/dev/null bs=1048576 count=1 iflag=direct 2>/dev/null && echo read=ok' \
        --disk "$work/full/sparse.img"
    umount "$work/full"
    expect_rc 0 && expect_out "dd=failed" && expect_out "read=ok" &&
        expect_out "No space left on device" && expect_out "vmmkit-guest: exit status 0"
}

# virtio-net (issue 4): in a network namespace of its own, the guest pings
# the tap's host side and moves a file over TCP each way.
NET_GUEST='ip addr add 192.0.2.2/24 dev eth0 && ip link set eth0 up
n=0
until ping -c 1 -W 1 192.0.2.1 >/dev/null 2>&1; do n=$((n + 1)); [ $n -gt 60 ] && break; done
ping -c 3 -W 2 192.0.2.1 | grep -E "packets transmitted"
echo mac=$(cat /sys/class/net/eth0/address)
nc 192.0.2.1 5001 > /tmp/h.bin
echo from-host=$(sha256sum < /tmp/h.bin | cut -c1-64)
head -c 4194304 /dev/urandom > /tmp/g.bin
echo to-host=$(sha256sum < /tmp/g.bin | cut -c1-64)
nc 192.0.2.1 5002 < /tmp/g.bin; echo nc-status=$?
# nc exits with data still queued: wait until the host has taken it all
# (no connection to port 5002 left established or in FIN_WAIT1).
n=0
while grep -q ":138A 0[14] " /proc/net/tcp && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done'

# net_session TAP_SETUP [VMM ARGS...]: runs in a new network namespace.
net_session() {
    setup=$1
    shift
    head -c 4194304 /dev/urandom >"$work/host.bin"
    rm -f "$work/from-guest.bin"
    b64=$(printf '%s\n' "$NET_GUEST" | base64 | tr -d '\n')
    unshare -n sh -c '
        ip link set lo up
        nc -l -p 5001 <"$1/host.bin" >/dev/null &
        # Its input never ends (a fifo held open): busybox nc half-closes
        # the connection at the end of its input, and the guest would stop.
        rm -f "$1/hold" && mkfifo "$1/hold" && exec 4<>"$1/hold"
        nc -l -p 5002 >"$1/from-guest.bin" <&4 &
        if [ "$2" = precreate ]; then tunctl -t vmk0 >/dev/null || exit 1; fi
        shift 2
        "$@" &
        vmm=$!
        n=0
        until ip link show dev vmk0 >/dev/null 2>&1; do n=$((n + 1)); [ $n -gt 500 ] && break; sleep 0.1; done
        ip addr add 192.0.2.1/24 dev vmk0 && ip link set vmk0 up
        wait $vmm' sh "$work" "$setup" timeout "$BOOT_TIMEOUT" vmmkit run --kernel "$K" --initrd "$I" \
        --cmdline "console=ttyAMA0 quiet vmmkit.script=$b64" "$@" </dev/null >"$out" 2>&1
    rc=$?
    expect_rc 0 && expect_out " 0% packet loss" || return 1
    want=$(sha256sum <"$work/host.bin" | cut -c1-64)
    expect_out "from-host=$want" || return 1
    got=$(sha256sum <"$work/from-guest.bin" | cut -c1-64)
    expect_out "to-host=$got" || { note "the host received $(wc -c <"$work/from-guest.bin") bytes"; return 1; }
}
t_net_tap_mmio() {
    net_session create --net tap=vmk0,mac=52:54:00:12:34:56 && expect_out "mac=52:54:00:12:34:56"
}
t_net_tap_pci() { net_session precreate --net tap=vmk0 --transport pci; }

# Firmware in the VMM (issue 8), on a host that forwards SMCCC calls.
t_psci_in_vmm() {
    guest_run "echo psci=\$(dmesg | grep -c 'PSCIv1.1 detected')" -v --cpus 2
    expect_rc 0 && expect_out "PSCI: 1.1 in the VMM" && expect_out "psci=[1-9]" &&
        expect_out "guest powered off (PSCI in the VMM)"
}

t_cpu_hotplug() {
    guest_script 'c=/sys/devices/system/cpu
echo 0 > $c/cpu1/online && echo off=$(cat $c/online)
echo 1 > $c/cpu1/online && echo on=$(cat $c/online)
echo 0 > $c/cpu3/online && echo 0 > $c/cpu2/online && echo off2=$(cat $c/online)
echo 1 > $c/cpu2/online && echo 1 > $c/cpu3/online && echo on2=$(cat $c/online)' --cpus 4
    expect_rc 0 && expect_out "^off=0,2-3" && expect_out "^on=0-3" && expect_out "^off2=0-1" &&
        expect_out "^on2=0-3"
}

t_reboot_through_vmm() {
    start_interactive --cmdline "console=ttyAMA0 quiet" -v --cpus 2
    ok=0
    wait_count "guest# " 1 && printf 'reboot\n' >&3 &&
        wait_count "vmmkit-guest: init reached" 2 && wait_count "guest# " 2 &&
        printf 'echo cpus=$(cat /sys/devices/system/cpu/online)\n' >&3 && wait_for "cpus=0-1" 30 &&
        printf 'poweroff\n' >&3 && ok=1
    finish_interactive
    [ $ok = 1 ] && expect_rc 0 && expect_out "guest asked for a reset (PSCI in the VMM)"
}

# The KVM backend's own test on this host: SMCCC calls in the VMM (SiP,
# NOT_SUPPORTED after an SMC, PSCI CPU_ON/AFFINITY_INFO/CPU_OFF/SYSTEM_OFF)
# and a bus error reaching the guest.
t_arm64_native_firmware() {
    t="$ARM64_TESTS/native/native_test_kvm_arm64"
    "$ARM64_LD" --library-path "$ARM64_LIBS" "$t" >"$out" 2>&1
    rc=$?
    expect_rc 0 && expect_out "OK \] test_smccc_in_vmm" && ! grep -q "no SMCCC forwarding" "$out"
}

# A guest program's load/store pair and writeback forms on a device region
# (all bits writable): KVM gives no syndrome, the VMM walks the guest's page
# tables, decodes and emulates (tests/guest/programs/mmio_pairs.c).
t_mmio_pairs() {
    head -c 4096 /dev/zero | tr '\000' '\377' >"$work/ones"
    guest_script 'mount -o ro /dev/vda /mnt && /mnt/mmio_pairs 0x0c000000' \
        --disk "$PROGRAMS_IMAGE,ro" --guard "0x0c000000,0x1000,writable=$work/ones" --stats
    expect_rc 0 && expect_out "pairs: ok" && expect_out "mmio-emulated"
}

# The hostile guest (issue 6, docs/hostile-guest.md): with no virtio driver
# bound, tests/guest/programs/hostile.c breaks the virtio protocol and the
# register rules of every device in each way it knows, and checks after each
# scenario that every device still works.  The VMM must live through all of
# it and exit 0 when the guest powers off.  The NIC's tap lives in a network
# namespace of its own, with an address that answers the guest's ARP.
# hostile_run TRANSPORT: sets $rc, output in $out.
hostile_run() {
    b64=$(printf '%s\n' "mount -o ro /dev/vda /mnt && cp /mnt/hostile /tmp/hostile && umount /mnt &&
/tmp/hostile $1" | base64 | tr -d '\n')
    # Two vCPUs for the race scenarios; a loopback cross-VM channel where
    # this vmmkit has them; seccomp as shipped (where there is one: kill).
    extra=
    vmmkit run --help 2>&1 | grep -q -e "--channel-pair" && extra="--channel-pair hx"
    # a writable scratch disk beside the read-only one: writes, discards
    head -c 4194304 /dev/zero >"$work/scratch.img"
    unshare -n sh -c 'ip link set lo up
        tunctl -t vmk0 >/dev/null || exit 1
        ip addr add 192.0.2.1/24 dev vmk0 && ip link set vmk0 up
        exec "$@"' sh timeout "${HOSTILE_TIMEOUT:-1200}" vmmkit run --kernel "$K" --initrd "$I" \
        --mem 256M --cmdline "console=ttyAMA0 quiet iomem=relaxed vmmkit.script=$b64" \
        --transport "$1" --disk "$PROGRAMS_IMAGE,ro" --disk "$work/scratch.img" --net tap=vmk0 \
        --console virtio --cpus 2 --stats $extra \
        </dev/null >"$out" 2>&1
    rc=$?
    # (virtio-console's output, a '~' per check, runs into the UART's lines;
    # the guest's lines and the VMM's share the output and may run together)
    tr -d '~' <"$out" | grep -o -e "hostile: .*" -e "^vmmkit: stats.*" | sed 's/^/  /'
    note "the VMM's complaints (rate-limited), most frequent first:"
    tr -d '~' <"$out" | grep "^vmmkit: warn" | sed 's/0x[0-9a-f]*/N/g; s/[0-9][0-9]*/N/g' | sort | uniq -c |
        sort -rn | head -n 15 | sed 's/^/    /'
    expect_rc 0 && expect_out "hostile: ok" && expect_out "vmmkit-guest: exit status 0"
}
t_hostile_mmio() { hostile_run mmio; }
t_hostile_pci() { hostile_run pci; }

# On the 6.1 host the hypervisor keeps PSCI, and says so.
t_psci_fallback() {
    guest_run "true" -v
    expect_rc 0 && expect_out "PSCI: the hypervisor's"
}

# Generic regions (docs/generic-devices.md), which the guest reaches
# through /dev/mem with busybox devmem (the cloud kernel's STRICT_DEVMEM
# lets /dev/mem map addresses outside RAM that no driver claims).

# wait_file PATH [SECONDS]: wait until PATH exists.
wait_file() {
    n=0
    while [ ! -e "$1" ]; do
        n=$((n + 1))
        if [ $n -gt $((${2:-30} * 10)) ]; then
            note "timed out waiting for $1"
            return 1
        fi
        sleep 0.1
    done
}

# wait_log FILE PATTERN [SECONDS]: wait until FILE holds a line matching PATTERN.
wait_log() {
    n=0
    while ! grep -q -e "$2" "$1" 2>/dev/null; do
        n=$((n + 1))
        if [ $n -gt $((${3:-30} * 10)) ]; then
            note "timed out waiting for '$2' in $1"
            return 1
        fi
        sleep 0.1
    done
}

# wait_boot_prompt N: wait for the shell's prompt in the guest's Nth boot.
wait_boot_prompt() {
    n=0
    until awk -v b="$1" '/vmmkit-guest: init reached/ { k++ } k >= b && /guest# / { f = 1 }
        END { exit !f }' "$out" 2>/dev/null; do
        n=$((n + 1))
        if [ $n -gt $((BOOT_TIMEOUT * 5)) ]; then
            note "timed out waiting for boot $1's prompt"
            return 1
        fi
        sleep 0.2
    done
}

# expect_no_out PATTERN: PATTERN is nowhere in the output.
expect_no_out() {
    grep -q -e "$1" "$out" || return 0
    note "'$1' in the output: $(grep -e "$1" "$out" | head -n 1)"
    return 1
}

# In the guest: r NAME ADDR WIDTH prints NAME=<what devmem reads>.
DEVMEM_R='r() { echo "$1=$(devmem $2 $3)"; }'

# Three guards of 256 bytes: the same contents (bytes 0, 1, ..., 255) and
# mask (bytes 0-11 writable, the low nibble of byte 12, nothing else), one
# per policy.  Reads of every width, writes to the writable part, to single
# bits, and to the protected part under each policy; a reboot puts the
# contents back.
GUARD_CHECKS=$DEVMEM_R'
r a32 0x0c000000 32; r a8 0x0c000005 8; r a16 0x0c0000fe 16; r a64 0x0c000018 64
devmem 0x0c000004 32 0xdeadbeef; r w32 0x0c000004 32
devmem 0x0c000008 64 0xffffffffffffffff; r w64 0x0c000008 64
for g in 0 1 2; do devmem 0x0c00${g}020 32 0x11223344; r p$g 0x0c00${g}020 32; done
echo guard-checks=$((40 + 2))'

t_guard_regions() {
    i=0
    while [ $i -lt 256 ]; do
        printf "\\$(printf %03o $i)"
        i=$((i + 1))
    done >"$work/g.bin"
    { head -c 12 /dev/zero | tr '\000' '\377'; printf '\017'; head -c 243 /dev/zero; } >"$work/g.mask"
    [ "$(wc -c <"$work/g.bin") $(wc -c <"$work/g.mask")" = "256 256" ] ||
        { note "contents or mask file has the wrong size"; return 1; }
    for g in 0 1 2; do
        set -- "$@" --guard "0x0c00${g}000,256,contents=$work/g.bin,writable=$work/g.mask"
    done
    set -- "$1" "$2,policy=mask" "$3" "$4,policy=report-and-mask" "$5" "$6,policy=report"
    start_interactive --cmdline "console=ttyAMA0 quiet" "$@"
    ok=0
    wait_count "guest# " 1 && printf '%s\n' "$GUARD_CHECKS" >&3 && wait_for "guard-checks=42" 60 &&
        printf 'reboot\n' >&3 && wait_boot_prompt 2 &&
        printf 'echo after=$(devmem 0x0c000004 32),$(devmem 0x0c002020 32)\n' >&3 &&
        wait_for "after=0x" 30 && printf 'poweroff\n' >&3 && ok=1
    finish_interactive
    r=0
    [ $ok = 1 ] && expect_rc 0 || r=1
    # reads, little-endian at every width
    expect_out "a32=0x03020100" && expect_out "a8=0x05" && expect_out "a16=0xFFFE" &&
        expect_out "a64=0x1F1E1D1C1B1A1918" || r=1
    # writable bytes change; of byte 12 only the low nibble does
    expect_out "w32=0xDEADBEEF" && expect_out "w64=0x0F0E0D0FFFFFFFFF" || r=1
    # mask: unchanged, silent; report-and-mask: unchanged, logged; report: changed, logged
    expect_out "p0=0x23222120" && expect_no_out "at 0xc000020 " || r=1
    expect_out "p1=0x23222120" && expect_out "vmmkit: warn: vm0: guard@0xc001000: vcpu0 wrote 0x11223344 (4 bytes) at 0xc001020 (offset 0x20): protected bits 0x32001264 would change; they keep their value" || r=1
    expect_out "p2=0x11223344" && expect_out "guard@0xc002000: .* at 0xc002020 .*; stored anyway" || r=1
    expect_no_out "guard@0xc000000: .*wrote" || r=1
    # after the reboot, the initial contents
    expect_out "after=0x07060504,0x23222120" || r=1
    return $r
}

# An external handler (vmmkit mmio-echo) behind a forwarding region: every
# width is echoed back and the handler counts requests.  Killed with SIGKILL
# while the guest runs, it becomes a bus error for the guest's next access
# (the guest and the VMM carry on); started again, it is reconnected to.
FWD_CHECKS=$DEVMEM_R'
devmem 0x0c100010 32 0x12345678; r f32 0x0c100010 32
devmem 0x0c100020 8 0xab; r f8 0x0c100020 8
devmem 0x0c100030 16 0xbeef; r f16 0x0c100030 16
devmem 0x0c100040 64 0x0123456789abcdef; r f64 0x0c100040 64; r f8b 0x0c100043 8
r count 0x0c100ff8 64
echo fwd-checks=$((40 + 2))'

t_forward_regions() {
    sock=$work/echo.sock
    rm -f "$work/echo1.log" "$work/echo2.log"
    vmmkit mmio-echo --socket "$sock" 2>"$work/echo1.log" &
    echo1=$!
    wait_log "$work/echo1.log" "mmio-echo: listening on $sock" || { kill $echo1; return 1; }
    start_interactive --cmdline "console=ttyAMA0 quiet" -v \
        --forward "0x0c100000,0x1000,socket=$sock,timeout=500"
    ok=0 echo2=
    if wait_count "guest# " 1 && printf '%s\n' "$FWD_CHECKS" >&3 && wait_for "fwd-checks=42" 60; then
        kill -9 $echo1
        wait $echo1 2>/dev/null
        printf 'devmem 0x0c100010 32; echo rc1=$?; devmem 0x0c100010 32; echo rc2=$?\n' >&3
        if wait_for "rc2=[0-9]" 30; then
            vmmkit mmio-echo --socket "$sock" 2>"$work/echo2.log" &
            echo2=$!
            # the region retries a dead handler at most once a second
            wait_log "$work/echo2.log" "listening on" &&
                printf 'sleep 1.5; v=$(devmem 0x0c100010 32); echo v3=$v rc3=$?\n' >&3 &&
                wait_for "rc3=[0-9]" 30 && printf 'poweroff\n' >&3 && ok=1
        fi
    fi
    finish_interactive
    kill $echo1 2>/dev/null
    r=0
    [ $ok = 1 ] && expect_rc 0 || r=1
    expect_out "f32=0x12345678" && expect_out "f8=0xAB" && expect_out "f16=0xBEEF" &&
        expect_out "f64=0x0123456789ABCDEF" && expect_out "f8b=0x89" || r=1
    # 4 writes, 5 reads, and the counter's own read
    expect_out "count=0x000000000000000A" || r=1
    # the handler's death: a bus error (SIGBUS, 128 + 7) and a log line; then refused
    expect_out "Bus error" && expect_out "rc1=135" && expect_out "rc2=135" || r=1
    expect_out "vmmkit: warn: vm0: forward@0xc100000: vcpu0 read of 4 bytes at 0xc100010: the handler is gone; bus error" || r=1
    # the new handler was reached: its registers are zero again
    expect_out "reconnected to the handler at $sock" && expect_out "v3=0x00000000 rc3=0" || r=1
    expect_out "forward@0xc100000: .* 1 handler-deaths" || r=1
    grep -q "a VMM connected" "$work/echo2.log" || { note "the new handler saw no VMM"; r=1; }
    if [ -n "$echo2" ]; then
        kill -TERM $echo2
        wait $echo2
        st=$?
        [ $st -eq 0 ] && grep -q "exiting after [1-9]" "$work/echo2.log" && [ ! -e "$sock" ] ||
            { note "mmio-echo on SIGTERM: exit $st, socket $(ls "$sock" 2>&1)"; r=1; }
    fi
    return $r
}

# seccomp (docs/security.md): the default, kill, with every kind of device at
# once (two vCPUs booted by PSCI CPU_ON, PCI transport, a disk on io_uring, a
# tap NIC carrying traffic both ways, rng, console): the guest works and powers
# off, exit 0, and no thread made a call outside its list.
t_seccomp_kill_all_devices() {
    cp "$DISK_IMAGE" "$work/sc.img"
    net_session precreate --net tap=vmk0 --transport pci --cpus 2 --disk "$work/sc.img,ro" \
        --seccomp=kill -v || return 1
    expect_out "vmmkit: info: guest powered off" || return 1
    ! grep -q "Bad system call\|seccomp" "$out" || { note "seccomp complained"; return 1; }
}

# The jail: a jailed VMM boots Linux with a disk, powers off with exit 0, and
# while it runs sees only the jail: its root holds the files it was given and
# /dev, its uid is the jail's, it has no capability, no_new_privs and its
# seccomp filters, and it is PID 1 of its own PID namespace.
t_jail() {
    mkdir -p "$work/jail"
    cp "$DISK_IMAGE" "$work/jail-disk.img"
    chown 4242:4242 "$work/jail-disk.img"
    b64=$(printf '%s\n' "$BLK_READ
echo jail-guest-ready; sleep 6" | base64 | tr -d '\n')
    timeout "$BOOT_TIMEOUT" vmmkit run --kernel "$K" --initrd "$I" \
        --cmdline "console=ttyAMA0 quiet vmmkit.script=$b64" --disk "$work/jail-disk.img" \
        --jail "$work/jail,uid=4242,gid=4242" </dev/null >"$out" 2>&1 &
    pid=$!
    r=0
    wait_for "jail-guest-ready" || r=1
    vmm_pid=
    for s in /proc/[0-9]*/status; do
        grep -q '^Name:.*vmmkit' "$s" 2>/dev/null && grep -q '^Uid:.*4242' "$s" 2>/dev/null &&
            { vmm_pid=${s#/proc/}; vmm_pid=${vmm_pid%/status}; break; }
    done
    if [ -z "$vmm_pid" ]; then
        note "no vmmkit process running as uid 4242"
        r=1
    else
        root=$(ls -A "/proc/$vmm_pid/root" | tr '\n' ' ')
        note "the jailed VMM's root: $root"
        # the kernel and initrd's top directory, the disk's, and dev: nothing else
        top_k=$(echo "$K" | cut -d/ -f2)
        top_d=$(echo "$work" | cut -d/ -f2)
        for e in $root; do
            [ "$e" = dev ] || [ "$e" = "$top_k" ] || [ "$e" = "$top_d" ] ||
                { note "unexpected entry /$e in the jail"; r=1; }
        done
        [ -e "/proc/$vmm_pid/root/etc" ] && { note "the jail shows /etc"; r=1; }
        [ -e "/proc/$vmm_pid/root/usr/bin/vmmkit" ] && { note "the jail shows /usr"; r=1; }
        ls "/proc/$vmm_pid/root/dev" | tr '\n' ' ' | grep -qx "kvm urandom " ||
            { note "jail /dev: $(ls "/proc/$vmm_pid/root/dev" | tr '\n' ' ')"; r=1; }
        st=/proc/$vmm_pid/status
        sed -n 's/^\(Uid\|Gid\|Groups\|Cap[A-Za-z]*\|NoNewPrivs\|Seccomp\|NSpid\):/  \1:/p' "$st"
        grep -q "^Uid:[[:space:]]*4242[[:space:]]*4242[[:space:]]*4242[[:space:]]*4242" "$st" &&
            grep -q "^Gid:[[:space:]]*4242[[:space:]]*4242" "$st" &&
            grep -q "^CapEff:[[:space:]]*0000000000000000" "$st" &&
            grep -q "^CapPrm:[[:space:]]*0000000000000000" "$st" &&
            grep -q "^CapBnd:[[:space:]]*0000000000000000" "$st" &&
            grep -q "^NoNewPrivs:[[:space:]]*1" "$st" && grep -q "^Seccomp:[[:space:]]*2" "$st" &&
            grep -q "^NSpid:[[:space:]]*$vmm_pid[[:space:]]*1$" "$st" ||
            { note "the jailed VMM's status is not the dropped one"; r=1; }
    fi
    wait $pid
    rc=$?
    [ $r = 0 ] && expect_rc 0 && expect_out "hello from the build machine" &&
        expect_out "big.bin: OK"
}

# Cross-VM channels (docs/cross-vm-channels.md) on one VM: --channel-pair
# puts both ends of a channel in the guest (ping:0 and ping:1), each one's
# doorbell ringing the other (tests/guest/programs/crossvm.c).
CROSSVM_LOOP='mount -o ro /dev/vda /mnt
C=/mnt/crossvm
$C list
$C send ping "hello from a" && $C wait ping:1 20
$C count ping:1
$C send ping:1 "hello from b" && $C wait ping 20
$C ring ping 3 && sleep 1 && $C count ping:1 && $C wait ping:1 20
$C ring ping:1 2 && sleep 1 && $C wait ping 20
echo crossvm-done=$((40 + 2))'

# crossvm_expect: what CROSSVM_LOOP must print in each direction.
crossvm_expect() {
    expect_rc 0 && expect_out "crossvm-done=42" || return 1
    expect_out "crossvm: 2 ends" || return 1
    # A to B: B's waiter saw one event and exactly the message, then 0
    expect_out "crossvm ping:1: $1 events=1 message=hello from a" &&
        expect_out "crossvm ping:1: cleared=0" || return 1
    # B to A
    expect_out "crossvm ping: $1 events=1 message=hello from b" &&
        expect_out "crossvm ping: cleared=0" || return 1
    # several rings are counted, not merged away
    expect_out "crossvm ping:1: events=3" && expect_out "crossvm ping:1: $1 events=3 " &&
        expect_out "crossvm ping: $1 events=2 " || return 1
    [ "$(grep -c "cleared=0" "$out")" -eq 4 ] || { note "not every counter cleared"; return 1; }
}

t_crossvm_loop_pci() {
    guest_script "$CROSSVM_LOOP" --transport pci --disk "$PROGRAMS_IMAGE,ro" \
        --channel-pair ping,size=64K --stats -v
    crossvm_expect interrupt || return 1
    # every ring went through the doorbell's ioeventfd: none trapped
    expect_out "channel 'ping': 0 rings sent by trap, 3 events received" &&
        expect_out "channel 'ping': 0 rings sent by trap, 4 events received" || return 1
    # the guest saw the ABI: identity, class, revision, BAR1 size, bound to uio_pci_generic
    expect_out "crossvm: ping pci 0000:00:0[0-9a-f].0 class 0x58000 revision 1 memory 65536 uio[0-9] version 1" ||
        return 1
    [ "$(grep -c "crossvm: ping pci .* uio[0-9]" "$out")" -eq 2 ] || { note "not two uio ends"; return 1; }
}

t_crossvm_loop_mmio() {
    guest_script "$CROSSVM_LOOP
ls /proc/device-tree | grep crossvm@
echo label=\$(cat /proc/device-tree/crossvm@fff0000/label)" --disk "$PROGRAMS_IMAGE,ro" \
        --channel-pair ping --dump-dtb "$RESULTS/crossvm-mmio.dtb"
    # the DTB (checked by dtc in tests/guest/run) and then the run itself
    expect_rc 0 || return 1
    guest_script "$CROSSVM_LOOP
ls /proc/device-tree | grep crossvm@
echo label=\$(cat /proc/device-tree/crossvm@fff0000/label)" --disk "$PROGRAMS_IMAGE,ro" \
        --channel-pair ping
    # Debian's kernel has no uio_pdrv_genirq: /dev/mem and a polled counter
    crossvm_expect polled || return 1
    expect_out "crossvm: ping mmio 0xfff0000 memory 0x8000000000 65536 intid 80 devmem version 1" &&
        expect_out "crossvm: ping mmio 0xfff1000 memory 0x8000010000 65536 intid 81 devmem version 1" &&
        expect_out "^crossvm@fff1000" && expect_out "label=ping"
}

# Systems of VMs (issue 5): their tests live in a file of their own.
. "$(dirname "$0")/suite-system.sh"

echo "vmmkit guest tests ($set_name): $(uname -r) host, guest kernel $kver"
if [ "$set_name" = firmware ]; then
    run_test arm64-native-firmware t_arm64_native_firmware
    run_test psci-in-vmm t_psci_in_vmm
    run_test cpu-hotplug t_cpu_hotplug
    run_test reboot-through-vmm t_reboot_through_vmm
    verdict "suite: $passed passed, $failed failed"
    [ "$failed" -eq 0 ] && { [ "$passed" -gt 0 ] || [ -n "$filter" ]; }
    exit
fi
run_test psci-fallback t_psci_fallback
run_test arm64-programs t_arm64_programs
run_test kernel-version t_kernel_version
run_test memory-300M t_memory
run_test cpus-2 t_two_cpus
run_test cpus-4 t_four_cpus
run_test dtb-roundtrip t_dtb_roundtrip
run_test gic-choice t_gic_choice
run_test virtio-mmio-rng t_virtio_mmio_rng
run_test virtio-pci-rng t_virtio_pci_rng
run_test hvc0-mmio t_hvc_mmio
run_test hvc0-pci t_hvc_pci
run_test poweroff-exit-0 t_poweroff_exit0
run_test reboot-no-reboot t_reboot_no_reboot
run_test stdin-command t_stdin_command
run_test reboot-boots-again t_reboot_boots_again
run_test blk-read-mmio t_blk_read_mmio
run_test blk-read-pci t_blk_read_pci
run_test blk-write-persists t_blk_write_persists
run_test blk-read-only t_blk_read_only
run_test blk-sigkill-after-sync t_blk_sigkill_after_sync
run_test blk-host-error t_blk_host_error
run_test net-tap-mmio t_net_tap_mmio
run_test net-tap-pci t_net_tap_pci
run_test guard-regions t_guard_regions
run_test forward-regions t_forward_regions
run_test mmio-pairs t_mmio_pairs
run_test crossvm-loop-pci t_crossvm_loop_pci
run_test crossvm-loop-mmio t_crossvm_loop_mmio
run_test seccomp-kill-all-devices t_seccomp_kill_all_devices
run_test jail t_jail
run_test hostile-mmio t_hostile_mmio
run_test hostile-pci t_hostile_pci
run_test system-pair t_system_pair
run_test system-lifecycle t_system_lifecycle
run_test system-example t_system_example
run_test system-bad t_system_bad
run_test bad-inputs t_bad_inputs
run_test no-kvm t_no_kvm
verdict "suite: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && { [ "$passed" -gt 0 ] || [ -n "$filter" ]; }
