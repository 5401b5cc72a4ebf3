# Systems of VMs (issue 5), sourced by suite.sh: `vmmkit run SYSTEM.xml`
# boots several guests, each in a VMM process of its own, joined by a
# cross-VM channel and a virtual switch.  Uses suite.sh's helpers ($K, $I,
# $work, $out, note, expect_*).

# sys_dir: a fresh directory with the kernel, initrd and guest programs
# next to where the descriptions go (they name files relative to themselves).
sys_dir() {
    d=$work/system
    rm -rf "$d"
    mkdir -p "$d"
    ln -s "$K" "$d/vmlinuz"
    ln -s "$I" "$d/initrd.img"
    ln -s "$PROGRAMS_IMAGE" "$d/programs.img"
    echo "$d"
}

# sys_script SCRIPT: the script as a vmmkit.script= argument for a <cmdline>.
sys_script() {
    printf '%s\n' "$1" | base64 | tr -d '\n'
}

# sys_run DESC [ARGS...]: run the system in the background, output in $out.
# Sets $sys_pid.
sys_start() {
    timeout "$BOOT_TIMEOUT" vmmkit run "$@" </dev/null >"$out" 2>&1 &
    sys_pid=$!
}

# sys_wait_for PATTERN SECONDS: wait until the system's output shows PATTERN.
sys_wait_for() {
    n=0
    while ! grep -q -e "$1" "$out"; do
        n=$((n + 1))
        [ $n -gt $(($2 * 10)) ] && { note "no '$1' after $2 s"; return 1; }
        sleep 0.1
    done
}

# The guests of the pair: A serves a file over TCP and talks over the
# channel; B waits for A, pings it, fetches the file and answers.
SYS_GUEST_A='mount -o ro /dev/vda /mnt
ip addr add 192.0.2.10/24 dev eth0 && ip link set eth0 up
head -c 2097152 /dev/urandom > /tmp/a.bin
echo a-file=$(sha256sum < /tmp/a.bin | cut -c1-64)
nc -l -p 5001 < /tmp/a.bin &
/mnt/crossvm wait ping 120
/mnt/crossvm send ping "hello from a"
n=0
until ping -c 1 -W 1 192.0.2.11 >/dev/null 2>&1; do n=$((n + 1)); [ $n -gt 60 ] && break; done
ping -c 3 -W 2 192.0.2.11 | grep -E "packets transmitted"
n=0
until ping -c 1 -W 1 192.0.2.1 >/dev/null 2>&1; do n=$((n + 1)); [ $n -gt 30 ] && break; done
echo uplink: $(ping -c 2 -W 2 192.0.2.1 | grep -E "packets transmitted")
/mnt/crossvm wait ping 120'
SYS_GUEST_B='mount -o ro /dev/vda /mnt
ip addr add 192.0.2.11/24 dev eth0 && ip link set eth0 up
/mnt/crossvm send ping "ready from b"
/mnt/crossvm wait ping 120
n=0
until ping -c 1 -W 1 192.0.2.10 >/dev/null 2>&1; do n=$((n + 1)); [ $n -gt 60 ] && break; done
ping -c 3 -W 2 192.0.2.10 | grep -E "packets transmitted"
n=0
until nc 192.0.2.10 5001 > /tmp/got.bin && [ -s /tmp/got.bin ]; do n=$((n + 1)); [ $n -gt 30 ] && break; sleep 1; done
echo b-got=$(sha256sum < /tmp/got.bin | cut -c1-64)
/mnt/crossvm send ping "done from b"'

# sys_pair_xml DIR SCRIPT_A SCRIPT_B [A_ATTRS] [SWITCH_ATTRS]: the pair's description.
sys_pair_xml() {
    cat >"$1/pair.xml" <<EOF
<?xml version="1.0"?>
<system name="pair" control="ctl.sock">
  <switch name="lan" $5/>
  <virtual_machine name="a" memory="256M" transport="pci" $4>
    <kernel path="vmlinuz"/>
    <initrd path="initrd.img"/>
    <cmdline>console=$GUEST_CONSOLE quiet vmmkit.script=$(sys_script "$2")</cmdline>
    <disk path="programs.img" readonly="true"/>
    <net switch="lan" mac="52:54:00:00:0a:0a"/>
  </virtual_machine>
  <virtual_machine name="b" memory="256M" transport="pci">
    <kernel path="vmlinuz"/>
    <initrd path="initrd.img"/>
    <cmdline>console=$GUEST_CONSOLE quiet vmmkit.script=$(sys_script "$3")</cmdline>
    <disk path="programs.img" readonly="true"/>
    <net switch="lan" mac="52:54:00:00:0b:0b"/>
  </virtual_machine>
  <channel name="ping" size="64K">
    <end vm="a"/>
    <end vm="b"/>
  </channel>
</system>
EOF
}

# Two VMs from one description: a message each way over the channel (uio
# interrupts, the counter), ping and a file over TCP through the switch, and
# A reaches the host through the switch's uplink tap (in a network
# namespace of the test's own).
t_system_pair() {
    d=$(sys_dir)
    sys_pair_xml "$d" "$SYS_GUEST_A" "$SYS_GUEST_B" "" 'uplink="sysup0"'
    unshare -n sh -c '
        ip link set lo up
        "$@" &
        vmm=$!
        n=0
        until ip link show dev sysup0 >/dev/null 2>&1; do n=$((n + 1)); [ $n -gt 600 ] && break; sleep 0.1; done
        ip addr add 192.0.2.1/24 dev sysup0 && ip link set sysup0 up
        wait $vmm' sh timeout "$BOOT_TIMEOUT" vmmkit run "$d/pair.xml" </dev/null >"$out" 2>&1
    rc=$?
    expect_rc 0 || return 1
    expect_out "vm a: started" && expect_out "vm b: started" || return 1
    # each direction: the waiter got the interrupt, read exactly the message,
    # saw one event and cleared the counter
    expect_out "^a| .*message=ready from b" && expect_out "^b| .*message=hello from a" &&
        expect_out "^a| .*message=done from b" || return 1
    expect_out "^a| .*events=1" && expect_out "^b| .*events=1" && expect_out "^a| .*cleared=0" ||
        return 1
    expect_out "^a| .* 0% packet loss" && expect_out "^b| .* 0% packet loss" &&
        expect_out "^a| uplink: 2 packets transmitted, 2 packets received" || return 1
    sum=$(sed -n 's/^a| .*a-file=\([0-9a-f]*\).*/\1/p' "$out" | head -n 1)
    [ -n "$sum" ] || { note "A printed no checksum"; return 1; }
    expect_out "^b| .*b-got=$sum" || return 1
    expect_out "^a| vmmkit-guest: exit status 0" && expect_out "^b| vmmkit-guest: exit status 0" &&
        expect_out "vm a: powered off" && expect_out "vm b: powered off" &&
        expect_out "every VM is down"
}

# One VM's process killed: reported, the other runs on and answers the
# control socket; with on_crash="restart" the VM comes back; reboot and
# stop by name.
t_system_lifecycle() {
    d=$(sys_dir)
    idle='echo idle-ready; while :; do sleep 1; done'
    sys_pair_xml "$d" "$idle" "$idle" 'on_crash="restart" restart_limit="1"'
    sys_start "$d/pair.xml"
    r=0
    sys_wait_for "^a| idle-ready" 120 && sys_wait_for "^b| idle-ready" 120 || r=1
    list=$(vmmkit ctl "$d/ctl.sock" list)
    echo "$list" | grep -q "^a running [0-9]* 0$" && echo "$list" | grep -q "^b running" ||
        { note "list: $list"; r=1; }
    pid_a=$(echo "$list" | sed -n 's/^a running \([0-9]*\).*/\1/p')
    # kill A's VMM: reported, restarted once, B untouched
    [ -n "$pid_a" ] && kill -9 "$pid_a"
    sys_wait_for "vm a: its process was killed by signal 9" 30 &&
        sys_wait_for "vm a: restarting (1 of 1)" 10 || r=1
    n=$(grep -c "^a| idle-ready" "$out")
    sys_wait_for "^a| .*idle-ready" 120
    until [ "$(grep -c "^a| idle-ready" "$out")" -gt "$n" ] || ! kill -0 $sys_pid 2>/dev/null; do
        sleep 0.2
    done
    vmmkit ctl "$d/ctl.sock" list | grep -q "^a running [0-9]* 1$" || { note "A did not come back"; r=1; }
    # killed again: the restart limit is reached, A stays down, B goes on
    pid_a=$(vmmkit ctl "$d/ctl.sock" list | sed -n 's/^a running \([0-9]*\).*/\1/p')
    [ -n "$pid_a" ] && kill -9 "$pid_a"
    sys_wait_for "vm a: not restarted" 30 || r=1
    vmmkit ctl "$d/ctl.sock" list | grep -q "^b running" || { note "B is not running"; r=1; }
    # reboot B by name: it boots again
    vmmkit ctl "$d/ctl.sock" reboot b | grep -q "^ok" || { note "reboot b refused"; r=1; }
    until [ "$(grep -c "^b| idle-ready" "$out")" -ge 2 ] || ! kill -0 $sys_pid 2>/dev/null; do
        sleep 0.2
    done
    [ "$(grep -c "^b| idle-ready" "$out")" -ge 2 ] || { note "B did not boot again"; r=1; }
    vmmkit ctl "$d/ctl.sock" stop nosuchvm >/dev/null 2>&1 && { note "stop of an unknown VM"; r=1; }
    vmmkit ctl "$d/ctl.sock" stop b | grep -q "^ok" || r=1
    wait $sys_pid
    rc=$?
    # A crashed, so the system reports a failure
    expect_rc 1 && expect_out "vm b: stopped" && expect_out "every VM is down" || r=1
    [ ! -e "$d/ctl.sock" ] || { note "the control socket was left behind"; r=1; }
    return $r
}

# The documented example, docs/examples/pair.xml, as it is: both VMs boot
# to their shells (consoles prefixed with their names), the channel and
# the switch are made, and SIGTERM to the supervisor stops them all.
t_system_example() {
    d=$(sys_dir)
    cp "$(dirname "$0")/../../docs/examples/pair.xml" "$d/pair.xml"
    vmmkit run "$d/pair.xml" </dev/null >"$out" 2>&1 &
    sys_pid=$!
    r=0
    sys_wait_for "^a| vmmkit-guest: init reached" "$BOOT_TIMEOUT" &&
        sys_wait_for "^b| vmmkit-guest: init reached" "$BOOT_TIMEOUT" || r=1
    kill -TERM "$sys_pid"
    n=0
    while kill -0 "$sys_pid" 2>/dev/null; do
        n=$((n + 1))
        [ $n -gt 300 ] && { note "the supervisor did not stop"; kill -9 "$sys_pid"; r=1; break; }
        sleep 0.1
    done
    wait "$sys_pid"
    rc=$?
    [ $r = 0 ] && expect_out "vm a: started" && expect_out "vm b: started" &&
        expect_out "stopping every VM" && expect_out "every VM is down"
}

# sys_bad NAME XML PATTERN: the description is refused with PATTERN and
# exit status 2, and no VM starts.
sys_bad() {
    d=$work/system-bad
    mkdir -p "$d"
    [ -e "$d/vmlinuz" ] || { ln -s "$K" "$d/vmlinuz"; ln -s "$I" "$d/initrd.img"; }
    printf '%s\n' "$2" >"$d/$1.xml"
    vmmkit run "$d/$1.xml" </dev/null >"$out" 2>&1
    rc=$?
    [ $rc -eq 2 ] && grep -q -e "$3" "$out" && ! grep -q "started" "$out" && return 0
    note "$1: exit $rc, output: $(head -c 300 "$out")"
    return 1
}

t_system_bad() {
    r=0
    head -c 4096 /dev/urandom >"$work/garbage.img"
    vm='<kernel path="vmlinuz"/><initrd path="initrd.img"/>'
    sys_bad badkernel "<system><virtual_machine name=\"a\"><kernel path=\"$work/garbage.img\"/></virtual_machine></system>" \
        "badkernel.xml:1: virtual_machine 'a': " || r=1
    sys_bad unknownvm "<system>
<virtual_machine name=\"a\">$vm</virtual_machine>
<channel name=\"c\" size=\"4K\"><end vm=\"a\"/><end vm=\"zz\"/></channel>
</system>" "unknownvm.xml:3:" || r=1
    sys_bad toobig "<system>
<virtual_machine name=\"a\" memory=\"4T\">$vm</virtual_machine>
</system>" "toobig.xml:2:" || r=1
    sys_bad nofile "<system>
<virtual_machine name=\"a\"><kernel path=\"missing-kernel\"/></virtual_machine>
</system>" "nofile.xml:2:.*missing-kernel" || r=1
    sys_bad notxml "this is not XML" "notxml.xml:1:" || r=1
    vmmkit run "$work/system-bad/does-not-exist.xml" </dev/null >"$out" 2>&1
    rc=$?
    [ $rc -eq 2 ] && grep -q "does-not-exist.xml: No such file" "$out" || { note "missing file: $rc"; r=1; }
    return $r
}
