#!/bin/sh
# Guest integration tests on x86_64, run inside the simulated x86_64 KVM host
# (busybox sh) by tests/guest/run-x86: each test boots Debian's amd64 cloud
# kernel under KVM (AMD SVM, emulated by QEMU) with vmmkit's pc board and
# checks what the guest reports.
#
#   suite-x86.sh KERNEL INITRD KERNEL_RELEASE [FILTER] [FROM]
#
# FROM: start at the test of that name (tests/guest/run-x86 resumes a suite
# whose simulated host hung there).
#
# QEMU's emulated SVM loses interrupts now and then (docs/sim.md): the
# nested guest, or the simulated host itself, then idles in hlt for good.
# Two watchdogs handle it, and every hang is classified before it counts by
# running the same thing once more: a hang that does not repeat is the
# emulator's (counted, reported, the test goes on), one that repeats is
# vmmkit's (the test fails).
#  - Here, every boot runs under a watchdog that kills vmmkit after
#    $BOOT_TIMEOUT s, and a test that failed on a killed boot (or on a wait
#    that gave up) is run again.
#  - When the host hangs, nothing here runs: tests/guest/run-x86 sees no
#    progress in $RESULTS/progress-x86 (a line at every test and boot),
#    stops the host, and boots a new one that resumes at the same test.
# Ends with "N passed, N failed" and the hang count.
K=$1
I=$2
kver=$3
filter=${4:-}
from=${5:-}
set_name=x86
work=$(mktemp -d)
BOOT_TIMEOUT=${BOOT_TIMEOUT:-150}
passed=0
failed=0
hangs=0
out=$work/out
# quiet consoles (fewer exits, and fewer lost interrupts under the emulator)
GUEST_CONSOLE="ttyS0 tsc_early_khz=${VMMKIT_TSC_KHZ:-2000000} nmi_watchdog=0 nowatchdog"

. "$(dirname "$0")/lib.sh"

# A resumed suite keeps the verdicts of the hosts before it.
if [ -n "$from" ] && [ -n "$RESULTS" ]; then
    cat "$RESULTS/verdicts-before" >"$verdict_file" 2>/dev/null
fi

# progress LINE: for run-x86's watchdog, on the build machine's disk.
progress() {
    [ -z "$RESULTS" ] || echo "$*" >>"$RESULTS/progress-x86"
}

# run_test NAME FN: lib.sh's, from $from on, with progress lines.
run_x86_test() {
    if [ -n "$from" ]; then
        [ "$1" = "$from" ] || return 0
        from=
    fi
    current=$1
    progress "START $1"
    # A test that failed because something never ended (a boot the watchdog
    # killed, a wait that gave up) is run once more to classify the hang.
    # shellcheck disable=SC2329
    first_try() {
        waited_out=0 rc=0
        "$test_fn" && return 0
        [ "$rc" -eq 137 ] || [ "$waited_out" = 1 ] || return 1
        hangs=$((hangs + 1))
        note "HANG: something never ended (last line: $(tail -n 1 "$out" | cut -c1-100));" \
            "running the test again to classify it"
        cp "$out" "$RESULTS/hang-$current-$hangs.log" 2>/dev/null
        progress "AGAIN $current"
        waited_out=0 rc=0
        if "$test_fn"; then
            note "the hang did not repeat: the emulator's lost interrupt (counted, not a failure)"
            verdict "EMULATOR-HANG $current"
            return 0
        fi
        note "the test failed again: vmmkit's fault, not the emulator's"
        return 1
    }
    test_fn=$2
    run_test "$1" first_try
    progress "END $1"
}

# vmm ARGS...: lib.sh's, under a watchdog that kills (rc 137: a hang).
vmm() {
    progress "BOOT $current"
    timeout -s KILL "$BOOT_TIMEOUT" vmmkit run "$@" </dev/null >"$out" 2>&1
    rc=$?
}

# One boot, many facts: the kernel, the CPUs, the memory, ACPI's view.
BOOT_FACTS='echo kver=$(uname -r)
echo cpus=$(nproc) online=$(cat /sys/devices/system/cpu/online)
grep MemTotal /proc/meminfo
echo acpi-errors=$(dmesg | grep -ciE "ACPI (BIOS )?(error|warning)|ACPI Exception|MP-BIOS bug|IO-APIC \+ timer")
dmesg | grep -iE "ACPI (BIOS )?(error|warning)|ACPI Exception" | head -n 5
echo acpi-tables=$(ls /sys/firmware/acpi/tables | tr "\n" " ")
echo clocksource=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)
sed -n "s/^0: uart:\([^ ]*\).*/uart0=\1/p" /proc/tty/driver/serial
echo pci-fatal=$(dmesg | grep -c "PCI: Fatal")
echo rtc=$(cat /sys/class/rtc/rtc0/name 2>/dev/null | cut -d" " -f1) date=$(date -u +%Y)
echo i8042=$(ls /sys/bus/platform/drivers/i8042 2>/dev/null | grep -c i8042)'

t_x86_boot() {
    guest_script "$BOOT_FACTS" --cpus 2 --mem 300M --stats -v
    expect_rc 0 && expect_out "kver=$kver" && expect_out "cpus=2 online=0-1" || return 1
    kb=$(sed -n 's/^MemTotal: *\([0-9]*\) kB.*/\1/p' "$out" | head -n 1)
    note "--mem 300M: guest MemTotal ${kb:-?} kB; $(grep -o 'acpi-tables=.*' "$out")"
    [ -n "$kb" ] && [ "$kb" -le $((300 * 1024)) ] && [ "$kb" -ge $((240 * 1024)) ] ||
        { note "MemTotal out of range"; return 1; }
    expect_out "acpi-errors=0" && expect_out "acpi-tables=.*APIC.*DSDT.*FACP.*FACS" &&
        expect_out "clocksource=kvm-clock" && expect_out "uart0=16550A" && expect_out "pci-fatal=0" &&
        expect_out "rtc=rtc_cmos date=20" && expect_out "vmmkit-guest: exit status 0" &&
        expect_out "guest powered off (ACPI S5)"
}

# The host's current year, as the guest's CMOS clock shows it.
t_x86_rtc_time() {
    guest_run "echo guest-time=\$(date -u +%s)"
    expect_rc 0 || return 1
    g=$(sed -n 's/.*guest-time=\([0-9]*\).*/\1/p' "$out" | head -n 1)
    h=$(date -u +%s)
    note "guest clock $g, host clock $h"
    [ -n "$g" ] && [ $((h - g)) -lt 120 ] && [ $((g - h)) -lt 120 ]
}

t_x86_poweroff() {
    guest_run "poweroff -f" -v
    expect_rc 0 && expect_out "guest powered off (ACPI S5)"
}

# Reboot through the FADT's reset register (Linux's first choice), and
# through the i8042's reset line (reboot=k).
t_x86_reboot_acpi() {
    guest_run "reboot -f" --no-reboot -v
    expect_rc 0 && expect_out "guest asked for a reset (the ACPI reset register)"
}

t_x86_reboot_i8042() {
    vmm --kernel "$K" --initrd "$I" --no-reboot -v \
        --cmdline "console=$GUEST_CONSOLE quiet reboot=k vmmkit.run=\"reboot -f\""
    expect_rc 0 && expect_out "guest asked for a reset (the i8042's reset line)"
}

# A real reboot: the second boot's shell answers and powers off.
t_x86_reboot_boots_again() {
    start_interactive --cmdline "console=$GUEST_CONSOLE quiet" --cpus 2
    ok=0
    wait_count "guest# " 1 && printf 'reboot\n' >&3 &&
        wait_count "vmmkit-guest: init reached" 2 && wait_count "guest# " 2 &&
        printf 'echo cpus=$(nproc)\n' >&3 && wait_for "cpus=2" 60 && printf 'poweroff\n' >&3 && ok=1
    finish_interactive
    [ $ok = 1 ] && expect_rc 0
}

# The ACPI tables, dumped for iasl on the build machine (tests/guest/run-x86).
t_x86_dump_acpi() {
    vmm --kernel "$K" --initrd "$I" --cpus 2 --dump-acpi "$RESULTS/acpi-pci"
    expect_rc 0 || return 1
    vmm --kernel "$K" --initrd "$I" --transport mmio --disk "$PROGRAMS_IMAGE,ro" \
        --dump-acpi "$RESULTS/acpi-mmio"
    expect_rc 0 && [ -s "$RESULTS/acpi-pci/DSDT.dat" ] && [ -s "$RESULTS/acpi-mmio/DSDT.dat" ]
}

# Every virtio device, on each transport: rng, console, disk.
VIRTIO_FACTS='head -c 64 /dev/hwrng | wc -c | sed "s/^/hwrng-bytes=/"
cat /sys/class/misc/hw_random/rng_current
mount -o ro /dev/vda /mnt && cat /mnt/hello.txt && (cd /mnt && sha256sum -c big.sha256) && umount /mnt
ls /sys/bus/virtio/devices | wc -l | sed "s/^/virtio-devices=/"
for d in /sys/bus/virtio/devices/*; do echo "virtio $(cat $d/device) on $(basename $(readlink -f $d/..))"; done'

# virtio_run [VMM ARGS...]: with the console on hvc0 (virtio-console).
virtio_run() {
    cp "$DISK_IMAGE" "$work/x.img"
    serial_console=$GUEST_CONSOLE
    GUEST_CONSOLE=$(printf '%s' "$GUEST_CONSOLE" | sed 's/ttyS0/hvc0/')
    guest_script "$VIRTIO_FACTS" --disk "$work/x.img,ro" --console virtio "$@"
    GUEST_CONSOLE=$serial_console
    expect_rc 0 && expect_out "hwrng-bytes=64" && expect_out "virtio_rng" &&
        expect_out "hello from the build machine" && expect_out "big.bin: OK" &&
        expect_out "virtio-devices=3" && expect_out "vmmkit-guest: exit status 0"
}

t_x86_virtio_pci() {
    virtio_run --transport pci
    expect_out "virtio 0x0003 on 0000:00:0"
}

t_x86_virtio_mmio() {
    virtio_run --transport mmio
    expect_out "virtio 0x0002 on LNRO0005:0"
}

# A NIC on a tap in a network namespace of the test's own: ping and TCP.
NET_X86='ip addr add 192.0.2.2/24 dev eth0 && ip link set eth0 up
n=0
until ping -c 1 -W 1 192.0.2.1 >/dev/null 2>&1; do n=$((n + 1)); [ $n -gt 60 ] && break; done
ping -c 3 -W 2 192.0.2.1 | grep -E "packets transmitted"
nc 192.0.2.1 5001 > /tmp/h.bin
echo from-host=$(sha256sum < /tmp/h.bin | cut -c1-64)'

t_x86_net_tap() {
    head -c 2097152 /dev/urandom >"$work/host.bin"
    b64=$(printf '%s\n' "$NET_X86" | base64 | tr -d '\n')
    unshare -n sh -c '
        ip link set lo up
        nc -l -p 5001 <"$1/host.bin" >/dev/null &
        shift
        tunctl -t vmk0 >/dev/null || exit 1
        ip addr add 192.0.2.1/24 dev vmk0 && ip link set vmk0 up
        exec "$@"' sh "$work" timeout -s KILL "$BOOT_TIMEOUT" vmmkit run --kernel "$K" \
        --initrd "$I" --cmdline "console=$GUEST_CONSOLE quiet vmmkit.script=$b64" \
        --net tap=vmk0 </dev/null >"$out" 2>&1
    rc=$?
    want=$(sha256sum <"$work/host.bin" | cut -c1-64)
    expect_rc 0 && expect_out " 0% packet loss" && expect_out "from-host=$want"
}

# A cross-VM channel with both ends in this VM, on PCI: uio_pci_generic's
# interrupts (INTx through the IOAPIC) and the counter.
t_x86_crossvm_pair() {
    guest_script 'mount -o ro /dev/vda /mnt
C=/mnt/crossvm
$C list
$C send ping "hello from a" && $C wait ping:1 20
$C send ping:1 "hello from b" && $C wait ping 20
echo crossvm-done' --disk "$PROGRAMS_IMAGE,ro" --channel-pair ping
    expect_rc 0 && expect_out "crossvm-done" && expect_out "crossvm: 2 ends" &&
        expect_out "crossvm ping:1: interrupt events=1 message=hello from a" &&
        expect_out "crossvm ping: interrupt events=1 message=hello from b"
}

# The framebuffer console: the guest prints on tty0, the picture is taken
# while it runs and checked on the build machine (tests/guest/check-png).
t_x86_framebuffer() {
    fb=$RESULTS/fb.raw
    rm -f "$fb" "$RESULTS/fb.png"
    b64=$(printf '%s\n' 'for i in 1 2 3 4 5 6 7 8; do echo "vmmkit framebuffer test line $i" > /dev/tty0; done
echo fb=$(cat /sys/class/graphics/fb0/name 2>/dev/null) size=$(cat /sys/class/graphics/fb0/virtual_size 2>/dev/null)
echo drawn; sleep 8' | base64 | tr -d '\n')
    timeout -s KILL "$BOOT_TIMEOUT" vmmkit run --kernel "$K" --initrd "$I" \
        --framebuffer "640x480,file=$fb" \
        --cmdline "console=tty0 console=$GUEST_CONSOLE quiet vmmkit.script=$b64" \
        </dev/null >"$out" 2>&1 &
    pid=$!
    r=0
    wait_for "^drawn" "$BOOT_TIMEOUT" || r=1
    vmmkit screenshot "$fb" "$RESULTS/fb.png" || { note "vmmkit screenshot failed"; r=1; }
    wait $pid
    rc=$?
    [ $r = 0 ] && expect_rc 0 && expect_out "fb=EFI VGA size=640,480" && [ -s "$RESULTS/fb.png" ]
}

# An ELF vmlinux through its PVH entry: Debian's generic amd64 kernel (the
# simulated host's own; its modules are not in the initramfs, and it needs
# none for this).
t_x86_pvh() {
    vmm --kernel "$PVH_VMLINUX" --initrd "$I" --cpus 2 -v \
        --cmdline "console=$GUEST_CONSOLE quiet vmmkit.run=\"echo pvh=\$(uname -r) cpus=\$(nproc)\""
    expect_rc 0 && expect_out "PVH kernel at" && expect_out "pvh=.*-amd64 cpus=2" &&
        expect_out "guest powered off (ACPI S5)"
}

# acpi=off: the guest finds its CPUs and interrupts in the MP table
# (0xf0000) instead; the generic kernel, as the cloud one cannot read it.
# Without ACPI it has no way to power off: it reboots (the i8042, or a
# triple fault), which --no-reboot turns into the end.
t_x86_mptable() {
    vmm --kernel "$PVH_VMLINUX" --initrd "$I" --cpus 2 --no-reboot -v \
        --cmdline "console=$GUEST_CONSOLE quiet acpi=off vmmkit.run=\"echo cpus=\$(nproc); dmesg | grep -c MPTABLE; reboot -f\""
    expect_rc 0 && expect_out "cpus=2" && expect_out "guest asked for a reset"
}

# Systems of VMs (suite-system.sh): two VMs from one description, their
# channel and their switch, on x86.
. "$(dirname "$0")/suite-system.sh"

# Bad input that only the x86 board can judge.
t_x86_bad_inputs() {
    r=0
    head -c 600 "$K" >"$work/short"
    printf '\0\0\0\0' >"$work/tail"
    bad 1 "--kernel $work/short: " --kernel "$work/short" || r=1
    bad 1 "not a Linux x86 kernel" --kernel "$PROGRAMS_IMAGE" || r=1
    bad 1 "an arm64 Image, not an x86 kernel" --kernel "$ARM64_IMAGE" || r=1
    bad 1 "the x86 board describes itself with ACPI tables, not a device tree" \
        --kernel "$K" --dtb "$K" || r=1
    bad 1 "the x86 board has an IOAPIC and local APICs, not a GIC" --kernel "$K" --gic 3 || r=1
    bad 1 "--mem 16M is too small" --kernel "$K" --initrd "$I" --mem 16M || r=1
    bad 1 "--framebuffer 10x10: each side must be" --kernel "$K" --framebuffer 10x10 || r=1
    bad 2 "--dump-dtb: the x86 pc board describes itself with ACPI tables: use --dump-acpi" \
        --kernel "$K" --dump-dtb "$work/x.dtb" || r=1
    bad 1 "cross-VM channel ends on the x86 board are PCI devices" --kernel "$K" \
        --transport mmio --channel-pair p || r=1
    return $r
}

echo "vmmkit guest tests ($set_name): $(uname -r) host, guest kernel $kver"
run_x86_test x86-boot t_x86_boot
run_x86_test x86-rtc-time t_x86_rtc_time
run_x86_test x86-poweroff t_x86_poweroff
run_x86_test x86-reboot-acpi t_x86_reboot_acpi
run_x86_test x86-reboot-i8042 t_x86_reboot_i8042
run_x86_test x86-reboot-boots-again t_x86_reboot_boots_again
run_x86_test x86-stdin-command t_stdin_command
run_x86_test x86-dump-acpi t_x86_dump_acpi
run_x86_test x86-virtio-pci t_x86_virtio_pci
run_x86_test x86-virtio-mmio t_x86_virtio_mmio
run_x86_test x86-net-tap t_x86_net_tap
run_x86_test x86-crossvm-pair t_x86_crossvm_pair
run_x86_test x86-framebuffer t_x86_framebuffer
run_x86_test x86-pvh t_x86_pvh
run_x86_test x86-mptable t_x86_mptable
run_x86_test x86-system-pair t_system_pair
run_x86_test x86-bad-inputs t_x86_bad_inputs
verdict "guest-hangs: $hangs"
verdict "suite: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && { [ "$passed" -gt 0 ] || [ -n "$filter" ]; }
