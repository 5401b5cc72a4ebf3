# Helpers of the guest test suites (suite.sh on arm64, suite-x86.sh on
# x86_64), sourced by them in the simulated host's busybox sh.  They use the
# suite's $K, $I, $work, $out, $BOOT_TIMEOUT, $passed, $failed, $filter,
# $set_name and $RESULTS; $GUEST_CONSOLE is the guest's serial console
# (ttyAMA0 unless the suite says otherwise).  wait_for and wait_count set
# $waited_out when they give up.
GUEST_CONSOLE=${GUEST_CONSOLE:-ttyAMA0}

note() { echo "  $*"; }

# verdict LINE: print LINE and keep it in $RESULTS/verdict-SET, on the
# build machine's disk: tests/guest/run counts from that file, so a console
# that loses its last lines when the simulated host powers off loses no
# result.
verdict_file=${RESULTS:+$RESULTS/verdict-$set_name}
[ -z "$verdict_file" ] || : >"$verdict_file"
verdict() {
    echo "$*"
    [ -z "$verdict_file" ] || echo "$*" >>"$verdict_file"
}

# run_test NAME FN: run FN, count and report.
run_test() {
    case $1 in *"$filter"*) ;; *) return 0 ;; esac
    echo "--- $1"
    if "$2"; then
        passed=$((passed + 1))
        verdict "PASS $1"
    else
        failed=$((failed + 1))
        verdict "FAIL $1"
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
    vmm --kernel "$K" --initrd "$I" --cmdline "console=$GUEST_CONSOLE quiet vmmkit.run=\"$cmd\"" "$@"
}

# guest_script SCRIPT [VMM ARGS...]: the same with a whole shell script,
# passed base64-encoded (vmmkit.script=, see guest/init): no quoting limits.
guest_script() {
    b64=$(printf '%s\n' "$1" | base64 | tr -d '\n')
    shift
    vmm --kernel "$K" --initrd "$I" --cmdline "console=$GUEST_CONSOLE quiet vmmkit.script=$b64" "$@"
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

# An interactive session through a fifo: wait_for PATTERN [SECONDS].
wait_for() {
    n=0
    while ! grep -q -e "$1" "$out" 2>/dev/null; do
        n=$((n + 1))
        if [ $n -gt $((${2:-$BOOT_TIMEOUT} * 5)) ]; then
            note "timed out waiting for '$1'"
            waited_out=1
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

# wait_count PATTERN N: wait until PATTERN has been printed N times.
wait_count() {
    n=0
    while [ "$(grep -c -e "$1" "$out" 2>/dev/null)" -lt "$2" ]; do
        n=$((n + 1))
        if [ $n -gt $((BOOT_TIMEOUT * 5)) ]; then
            note "timed out waiting for '$1' to appear $2 times"
            waited_out=1
            return 1
        fi
        sleep 0.2
    done
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

# A command typed on the guest's console and its answer, then poweroff (both suites).
t_stdin_command() {
    start_interactive --cmdline "console=$GUEST_CONSOLE quiet"
    ok=0
    wait_for "guest# " && printf 'echo answer=$((6*7))\n' >&3 && wait_for "answer=42" 30 &&
        printf 'poweroff\n' >&3 && ok=1
    finish_interactive
    [ $ok = 1 ] && expect_rc 0
}
