#!/bin/sh
# The vmmkit program's answers to bad input, on the build machine: each case
# must exit with its code (2 usage, 1 other), print one line naming the
# problem, and never die of a signal.  Under `make sanitize` the program is
# the ASan+UBSan build, so the error paths run under the sanitizers too.
# These cases fail before a VM is made, so they need no /dev/kvm.
#
# usage: errors.sh VMMKIT_PROGRAM
set -u
vmmkit=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0

# expect CODE PATTERN ARGS...: run vmmkit ARGS, check the exit code, that the
# output is one line, and that it matches PATTERN (grep -E).
expect() {
    code=$1 pattern=$2
    shift 2
    "$vmmkit" "$@" </dev/null >"$work/out" 2>&1
    rc=$?
    lines=$(wc -l <"$work/out")
    if [ $rc -ne "$code" ] || [ "$lines" -ne 1 ] || ! grep -Eq -e "$pattern" "$work/out"; then
        echo "FAIL vmmkit $*: exit $rc (want $code), $lines lines (want 1):"
        sed 's/^/    /' "$work/out"
        failed=$((failed + 1))
    else
        echo "ok   vmmkit $*: $(cat "$work/out")"
    fi
}

head -c 4096 /dev/urandom >"$work/garbage.img"
: >"$work/empty.img"
system() { printf '%s\n' "$2" >"$work/$1.xml"; }

expect 2 "no kernel given" run
expect 2 "unknown option" run --kernel "$work/garbage.img" --frobnicate
expect 2 "--mem '12Q' is not a size" run --kernel "$work/garbage.img" --mem 12Q
expect 2 "--cpus '0'" run --kernel "$work/garbage.img" --cpus 0
expect 1 "--kernel /nonexistent: No such file" run --kernel /nonexistent
expect 1 "--kernel $work: not a regular file" run --kernel "$work"
expect 1 "--kernel $work/garbage.img: " run --kernel "$work/garbage.img"
expect 1 "--kernel $work/empty.img: " run --kernel "$work/empty.img"

expect 2 "nonexistent.xml: No such file" run "$work/nonexistent.xml"
system malformed '<system><virtual'
expect 2 "malformed.xml:[0-9]+: malformed XML" run "$work/malformed.xml"
system badkernel "<system><virtual_machine name=\"a\"><kernel path=\"$work/garbage.img\"/></virtual_machine></system>"
expect 2 "badkernel.xml:1: virtual_machine 'a': --kernel $work/garbage.img: " run "$work/badkernel.xml"
system nokernel '<system>
<virtual_machine name="a"><kernel path="missing-kernel"/></virtual_machine>
</system>'
expect 2 "nokernel.xml:2:.*missing-kernel" run "$work/nokernel.xml"
system toobig "<system>
<virtual_machine name=\"a\" memory=\"4T\"><kernel path=\"$work/garbage.img\"/></virtual_machine>
</system>"
expect 2 "toobig.xml:2:" run "$work/toobig.xml"
system unknownvm "<system>
<virtual_machine name=\"a\"><kernel path=\"$work/garbage.img\"/></virtual_machine>
<channel name=\"c\" size=\"4K\"><end vm=\"a\"/><end vm=\"zz\"/></channel>
</system>"
expect 2 "unknownvm.xml:3:" run "$work/unknownvm.xml"

if [ $failed -ne 0 ]; then
    echo "$failed case(s) failed"
    exit 1
fi
echo "all cases passed"
