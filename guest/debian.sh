# shellcheck shell=bash
# Helpers that turn Debian packages into boot assets: a kernel (arm64 Image
# or x86_64 bzImage) and a busybox initramfs with a chosen set of kernel
# modules.  Sourced (after scripts/lib.sh) by guest/fetch-assets,
# sim/host-assets and the sim/ARCH scripts.
#
# The packages are Debian's for $DEB_ARCH: arm64 unless the caller sets it
# (deb_set_arch).

# deb_set_arch ARCH: the Debian architecture of the packages that the
# helpers below fetch, from a kernel-style name (arm64, x86_64; aarch64 and
# amd64 are accepted too).
deb_set_arch() {
    case $1 in
        arm64|aarch64) DEB_ARCH=arm64 ;;
        x86_64|amd64)  DEB_ARCH=amd64 ;;
        *) die "unknown architecture $1 (arm64 or x86_64)" ;;
    esac
}

# apt_memo NAME CMD...: the output of CMD, an apt-cache query, run once per
# state of apt's package lists and then read from the cache (apt-cache takes
# over a second a call here; a cached guest/fetch-assets should not).
apt_memo() {
    local name=$1 sig dir; shift
    sig=$(stat -c '%n %s %Y' /var/lib/apt/lists/*Packages* 2>/dev/null | sha256sum | cut -c1-16)
    dir=$(vmmkit_cache)/apt-memo/$sig
    if [[ ! -f $dir/$name ]]; then
        mkdir -p "$dir"
        "$@" > "$dir/$name.$$" 2>/dev/null || true
        mv "$dir/$name.$$" "$dir/$name"
        find "${dir%/*}" -mindepth 1 -maxdepth 1 ! -path "$dir" -exec rm -rf {} +
    fi
    cat "$dir/$name"
}

# deb_memo_name WHAT PKG: the apt_memo name of an answer about PKG in
# $DEB_ARCH (arm64's keep the names they had before amd64 came).
deb_memo_name() {
    local a=${DEB_ARCH:-arm64}
    if [[ $a == arm64 ]]; then echo "$1-$2"; else echo "$1-$2:$a"; fi
}

# deb_candidate PKG: the version of PKG:$DEB_ARCH that apt would fetch.
# Refreshes the package lists once if apt does not know the package yet.
deb_candidate() {
    local pkg=$1 a=${DEB_ARCH:-arm64} v memo
    memo=$(deb_memo_name policy "$pkg")
    v=$(apt_memo "$memo" apt-cache policy "$pkg:$a" | awk '/Candidate:/ {print $2}')
    if [[ -z $v || $v == "(none)" ]]; then
        [[ $a == "$(dpkg --print-architecture)" ]] ||
            dpkg --print-foreign-architectures | grep -qx "$a" \
            || die "dpkg does not know the $a architecture: run scripts/setup first"
        log "apt does not know $pkg:$a yet: running apt-get update"
        as_root apt-get update -q >/dev/null || warn "apt-get update reported errors (continuing)"
        v=$(apt_memo "$memo" apt-cache policy "$pkg:$a" | awk '/Candidate:/ {print $2}')
    fi
    [[ -n $v && $v != "(none)" ]] || die "no $a package $pkg in the apt sources"
    echo "$v"
}

# deb_kernel_pkg META: the versioned linux-image package that a kernel
# meta-package (linux-image-cloud-arm64, linux-image-amd64, ...) currently
# means.
deb_kernel_pkg() {
    local meta=$1 a=${DEB_ARCH:-arm64} pkg
    deb_candidate "$meta" >/dev/null
    pkg=$(apt_memo "$(deb_memo_name depends "$meta")" apt-cache depends "$meta:$a" |
          awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ {sub(/:[a-z0-9]+$/, "", $2); print $2; exit}')
    [[ -n $pkg ]] || die "cannot tell which kernel package $meta:$a depends on"
    echo "$pkg"
}

# deb_backports_kernel_pkg META: the versioned linux-image package that META
# means in bookworm-backports (the suite scripts/setup adds to apt).
deb_backports_kernel_pkg() {
    local meta=$1 a=${DEB_ARCH:-arm64} ver pkg
    ver=$(apt_memo "$(deb_memo_name madison "$meta")" apt-cache madison "$meta:$a" |
          awk -F'|' '$3 ~ /bookworm-backports/ {gsub(/ /, "", $2); print $2; exit}')
    [[ -n $ver ]] || die "no $meta:$a in bookworm-backports (run scripts/setup)"
    pkg=$(apt_memo "$(deb_memo_name show "$meta-$ver")" apt-cache show "$meta:$a=$ver" |
          awk '$1 == "Depends:" { for (i = 2; i <= NF; i++) if ($i ~ /^linux-image-[0-9]/) { sub(/,$/, "", $i); print $i; exit } }')
    [[ -n $pkg ]] || die "cannot tell which kernel package $meta:$a=$ver depends on"
    echo "$pkg"
}

# deb_extract DIR PKG=VERSION...: downloads the given $DEB_ARCH packages
# into a fresh DIR and unpacks them all into DIR/root.
deb_extract() {
    local dir=$1 deb; shift
    mkdir -p "$dir/root"
    chmod 777 "$dir"     # apt-get download runs as the unprivileged _apt user
    (cd "$dir" && apt-get download -q "${@/=/:${DEB_ARCH:-arm64}=}" >/dev/null 2>"$dir/apt.log") \
        || { cat "$dir/apt.log" >&2; die "apt-get download failed: $*"; }
    for deb in "$dir"/*.deb; do
        dpkg-deb -x "$deb" "$dir/root"
    done
}

# kernel_install SRC KREL DEST: copies the kernel of release KREL from the
# unpacked package tree SRC to DEST, checking that it is what QEMU and
# vmmkit load as is: on arm64 an uncompressed Image (arm64 booting.rst: the
# magic "ARM\x64" at offset 56), on amd64 a bzImage (x86 boot.rst: "HdrS"
# at offset 0x202).
kernel_install() {
    local img=$1/boot/vmlinuz-$2
    [[ -f $img ]] || die "no $img in the kernel package"
    case ${DEB_ARCH:-arm64} in
        arm64) [[ $(dd if="$img" bs=1 skip=56 count=4 status=none) == ARMd ]] \
                   || die "$img is not an uncompressed arm64 Image" ;;
        amd64) [[ $(dd if="$img" bs=1 skip=514 count=4 status=none) == HdrS ]] \
                   || die "$img is not an x86 bzImage" ;;
    esac
    cp "$img" "$3"
}

# kernel_vmlinux BZIMAGE DEST: writes the uncompressed ELF vmlinux that an
# x86 bzImage carries to DEST (x86 boot.rst: the payload at payload_offset
# past the setup sectors, payload_length bytes, compressed as its magic
# says).  QEMU boots it through its PVH entry point (the kernel's
# XEN_ELFNOTE_PHYS32_ENTRY note), with no decompressor to run: under TCG
# inflating Debian's xz payload takes seconds.
kernel_vmlinux() {
    local img=$1 setup off len magic
    u32() { od -An -t u4 -j "$2" -N 4 "$1" | tr -d ' '; }
    setup=$(od -An -t u1 -j $((0x1f1)) -N 1 "$img" | tr -d ' ')
    ((setup)) || setup=4
    off=$(( (setup + 1) * 512 + $(u32 "$img" $((0x248))) ))
    len=$(u32 "$img" $((0x24c)))
    unset -f u32
    magic=$(od -An -t x1 -j "$off" -N 6 "$img" | tr -d ' ')
    local unpack
    case $magic in
        fd377a585a00) unpack="xz -dc" ;;
        1f8b*)        unpack="gzip -dc" ;;
        28b52ffd*)    unpack="zstd -dcq" ;;
        02214c18*)    unpack="lz4 -dc" ;;     # the legacy frame (cloud kernels)
        *) die "$img: unknown compression of the kernel payload (magic $magic)" ;;
    esac
    command -v "${unpack%% *}" >/dev/null || die "$img: needs ${unpack%% *} to unpack the kernel"
    # xz and zstd complain of the padding after the stream: the ELF check
    # below is the test.
    tail -c +$((off + 1)) "$img" | head -c "$len" | $unpack > "$2" 2>/dev/null || true
    [[ $(head -c 4 "$2" | od -An -t x1 | tr -d ' ') == 7f454c46 ]] \
        || die "$img: the kernel payload did not unpack to an ELF vmlinux"
}

# mod_stage SRC KVER DEST MODULE...: copies the named modules of kernel KVER
# and every module they depend on from the unpacked package tree SRC into
# the initramfs tree DEST, then indexes them there so that busybox modprobe
# can load them by name.  Names are module names ('-' and '_' alike); a
# module the kernel has built in is skipped, an unknown one is reported.
# Prints the names of the requested modules that were staged.
mod_stage() {
    local root=$1 kver=$2 dest=$3; shift 3
    local src=$root/lib/modules/$kver
    local -A path_of=() deps_of=() staged=()
    local line file name

    # The package ships no modules.dep: build one in the unpacked tree.
    [[ -f $src/modules.dep ]] || depmod -b "$root" "$kver" || die "depmod failed for $kver"
    while IFS= read -r line; do
        file=${line%%:*}
        name=${file##*/}; name=${name%%.ko*}; name=${name//-/_}
        path_of[$name]=$file
        deps_of[$file]=${line#*:}
    done < "$src/modules.dep"

    stage_file() {  # a module file, after the files it depends on
        local f=$1 d
        [[ -n ${staged[$f]:-} ]] && return
        staged[$f]=1
        for d in ${deps_of[$f]}; do stage_file "$d"; done
        mkdir -p "$dest/lib/modules/$kver/${f%/*}"
        cp "$src/$f" "$dest/lib/modules/$kver/$f"
    }
    for name in "$@"; do
        name=${name//-/_}
        if [[ -n ${path_of[$name]:-} ]]; then
            stage_file "${path_of[$name]}"
            echo "$name"
        elif ! sed 's/-/_/g' "$src/modules.builtin" | grep -q "/$name\.ko$"; then
            warn "kernel $kver has no module $name (neither modular nor built in)"
        fi
    done
    unset -f stage_file

    cp "$src"/modules.{builtin,builtin.modinfo,order} "$dest/lib/modules/$kver/"
    depmod -b "$dest" "$kver" || die "depmod failed in $dest"
    # busybox modprobe reads the text indexes only.
    rm -f "$dest/lib/modules/$kver"/*.bin
}

# busybox_stage SRC DEST: puts the static busybox from the unpacked
# busybox-static tree SRC into DEST/bin.  The applet links are not made
# here (an arm64 binary does not run on the build machine): each /init makes
# them at boot with `busybox --install -s`, which keeps the files already
# there.
# Our /init is a shell, which cannot serve the signal that busybox's
# poweroff, reboot and halt send to PID 1: these three act at once instead.
busybox_stage() {
    mkdir -p "$2/bin" "$2/sbin" "$2/usr/bin" "$2/usr/sbin"
    install -m 0755 "$1/bin/busybox" "$2/bin/busybox"
    ln -sf busybox "$2/bin/sh"
    printf '#!/bin/sh\nsync\nexec /bin/busybox "${0##*/}" -f\n' > "$2/sbin/poweroff"
    chmod 0755 "$2/sbin/poweroff"
    ln -sf poweroff "$2/sbin/reboot"
    ln -sf poweroff "$2/sbin/halt"
}

# cpio_pack DIR: writes DIR's contents to stdout as a newc cpio archive, all
# files owned by root, in a stable order.
cpio_pack() {
    (cd "$1" && find . -mindepth 1 | LC_ALL=C sort |
        cpio -o -H newc -R 0:0 --reproducible --quiet)
}

# initramfs_tree SRC TREE INIT PROMPT: lays out in TREE what the guest
# and host initramfs share: busybox from the unpacked packages in SRC, INIT
# as /init, a root user and the shell prompt PROMPT.  Modules come after.
initramfs_tree() {
    local src=$1 tree=$2
    mkdir -p "$tree"/{dev,proc,sys,tmp,run,root,mnt,etc}
    busybox_stage "$src" "$tree"
    install -m 0755 "$3" "$tree/init"
    printf 'root:x:0:0:root:/root:/bin/sh\n' > "$tree/etc/passwd"
    printf 'root:x:0:\n' > "$tree/etc/group"
    # busybox ash runs its own poweroff/reboot/halt applets before any file
    # on PATH; shell functions come first, so login shells act at once too.
    {
        printf "PS1='%s'\n" "$4"
        printf '%s() { sync; /bin/busybox %s -f; }\n' poweroff poweroff reboot reboot halt halt
    } > "$tree/etc/profile"
}

# cached_build DIR STAMP BUILDER: makes sure DIR holds assets built for
# STAMP (package versions and recipe).  If not, runs `BUILDER WORK OUT` with
# a scratch directory WORK and an empty OUT whose contents become DIR.  Other
# directories beside DIR (older versions) are removed.
cached_build() {
    local dir=$1 stamp=$2 builder=$3 top=${1%/*} work
    mkdir -p "$top"
    (
        flock 9     # one builder at a time; the others then find its result
        [[ $(cat "$dir/stamp" 2>/dev/null) == "$stamp" ]] && exit 0
        log "building ${dir#"$(vmmkit_cache)"/}: $stamp"
        work=$(mktemp -d "$top/.build.XXXXXX")
        trap 'rm -rf "$work"' EXIT
        mkdir "$work/out"
        "$builder" "$work" "$work/out"
        echo "$stamp" > "$work/out/stamp"
        rm -rf "$dir" && mv "$work/out" "$dir"
        find "$top" -mindepth 1 -maxdepth 1 ! -name .lock ! -path "$dir" ! -path "$work" \
            -exec rm -rf {} +
    ) 9>"$top/.lock"
}

# recipe_hash FILE...: a short digest of the files that define an asset, so
# that editing them invalidates the cached result.
recipe_hash() {
    cat "$@" | sha256sum | cut -c1-16
}
