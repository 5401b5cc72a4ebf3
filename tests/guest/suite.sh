#!/bin/sh
# Guest integration tests, run inside the simulated arm64 KVM host (busybox
# sh) by tests/guest/run: each test boots Debian's arm64 kernel under KVM
# with vmmkit and checks what the guest reports.
#
#   suite.sh KERNEL INITRD KERNEL_RELEASE [FILTER]
#
# FILTER is a substring of the test names to run.  Ends with
# "N passed, N failed".
K=$1
I=$2
kver=$3
filter=${4:-}
work=$(mktemp -d)
BOOT_TIMEOUT=${BOOT_TIMEOUT:-180}
passed=0
failed=0
out=$work/out

note() { echo "  $*"; }

# run_test NAME FN: run FN, count and report.
run_test() {
    case $1 in *"$filter"*) ;; *) return 0 ;; esac
    echo "--- $1"
    if "$2"; then
        passed=$((passed + 1))
        echo "PASS $1"
    else
        failed=$((failed + 1))
        echo "FAIL $1"
        if [ -f "$out" ]; then
            echo "  last output:"
            tail -n 15 "$out" | sed 's/^/  | /'
        fi
    fi
}

# vmm [ARGS...]: run vmmkit with a time limit, stdin from /dev/null, output in $out.
# Sets $rc.
vmm() {
    timeout "$BOOT_TIMEOUT" vmmkit run "$@" </dev/null >"$out" 2>&1
    rc=$?
}

# guest_run CMD [VMM ARGS...]: boot the guest, run CMD in it, power off.
guest_run() {
    cmd=$1
    shift
    vmm --kernel "$K" --initrd "$I" --cmdline "console=ttyAMA0 quiet vmmkit.run=\"$cmd\"" "$@"
}

# guest_script SCRIPT [VMM ARGS...]: the same with a whole shell script,
# passed base64-encoded (vmmkit.script=, see guest/init): no quoting limits.
guest_script() {
    b64=$(printf '%s\n' "$1" | base64 | tr -d '\n')
    shift
    vmm --kernel "$K" --initrd "$I" --cmdline "console=ttyAMA0 quiet vmmkit.script=$b64" "$@"
}

expect_rc() {
    [ "$rc" -eq "$1" ] && return 0
    note "exit status $rc, expected $1"
    return 1
}

expect_out() {
    grep -q -e "$1" "$out" && return 0
    note "no '$1' in the output"
    return 1
}

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

# An interactive session through a fifo: wait_for PATTERN [SECONDS].
wait_for() {
    n=0
    while ! grep -q -e "$1" "$out" 2>/dev/null; do
        n=$((n + 1))
        if [ $n -gt $((${2:-$BOOT_TIMEOUT} * 5)) ]; then
            note "timed out waiting for '$1'"
            return 1
        fi
        sleep 0.2
    done
}

start_interactive() {
    rm -f "$work/in"
    mkfifo "$work/in"
    timeout "$BOOT_TIMEOUT" vmmkit run --kernel "$K" --initrd "$I" "$@" <"$work/in" >"$out" 2>&1 &
    vmm_pid=$!
    exec 3>"$work/in"
}

finish_interactive() {
    exec 3>&-
    wait "$vmm_pid"
    rc=$?
}

t_stdin_command() {
    start_interactive --cmdline "console=ttyAMA0 quiet"
    ok=0
    wait_for "guest# " && printf 'echo answer=$((6*7))\n' >&3 && wait_for "answer=42" 30 &&
        printf 'poweroff\n' >&3 && ok=1
    finish_interactive
    [ $ok = 1 ] && expect_rc 0
}

# wait_count PATTERN N: wait until PATTERN has been printed N times.
wait_count() {
    n=0
    while [ "$(grep -c -e "$1" "$out" 2>/dev/null)" -lt "$2" ]; do
        n=$((n + 1))
        if [ $n -gt $((BOOT_TIMEOUT * 5)) ]; then
            note "timed out waiting for '$1' to appear $2 times"
            return 1
        fi
        sleep 0.2
    done
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

# Bad input: each gets a one-line error naming the problem and its exit code.
bad() {
    want_rc=$1
    want_msg=$2
    shift 2
    vmm "$@"
    if [ "$rc" -ne "$want_rc" ]; then
        note "vmmkit run $*: exit $rc, expected $want_rc"
        return 1
    fi
    if ! grep -q -e "$want_msg" "$out"; then
        note "vmmkit run $*: message lacks '$want_msg'"
        return 1
    fi
    if [ "$(wc -l <"$out")" -ne 1 ]; then
        note "vmmkit run $*: not one line"
        return 1
    fi
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
        case $t in *test_arm64_fdt) continue ;; esac # needs dtc: runs on the build machine
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

echo "vmmkit guest tests: $(uname -r) host, guest kernel $kver"
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
run_test bad-inputs t_bad_inputs
run_test no-kvm t_no_kvm
echo "suite: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
