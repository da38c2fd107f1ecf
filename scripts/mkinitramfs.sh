#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the test VM's initramfs: build/initramfs.cpio.gz.
#
# Layout inside the guest (merged /usr like Debian):
#   /init                     scripts/guest/init
#   /usr/bin/busybox          + a symlink for every applet
#   /usr/bin/{bash,perl,socat,strace,kmod} + their shared libraries (ldd),
#                             /bin/sh is bash, insmod/rmmod/... are kmod,
#                             perl-base's module tree (Socket, IO::Handle...)
#   /afx/*.ko                 every module built at the repo root
#   /afx/build/               every executable in build/ (demos, selftests)
#   /afx/selftests/           copy of selftests/ (scripts, helpers)
#   /afx/userspace-demo/      copy of userspace-demo/
#   /afx/scripts/guest/       the guest-side scripts
#   /afx/stage/               `make install DESTDIR=` of the project, for
#                             selftests/install.sh (log: /afx/stage.log)
#   /lib/modules/<kver>/      extra/*.ko (the same modules) and depmod's index
#   /afx/module-deps          insmod order of modules afx needs (usually empty)
#
# Run after `make module userspace`. Usage: scripts/mkinitramfs.sh [OUT]
#
# Environment (the debug lane, scripts/debug-lane.sh, sets them):
#   AFX_KO_DIR      where the *.ko come from (default: the repo root)
#   AFX_GUEST_KVER  the guest kernel's release, for /lib/modules/<kver>
#                   (default: scripts/kver.sh)
#   AFX_GUEST_KMODDIR  where that kernel's modules.order, modules.builtin
#                   and modules.builtin.modinfo are (default:
#                   /lib/modules/<kver>; the debug lane: its build tree)
set -euo pipefail

cd "$(dirname "$0")/.."
out=${1:-build/initramfs.cpio.gz}
root=${out%.cpio.gz}.d
kver=${AFX_GUEST_KVER:-$(scripts/kver.sh)}
kodir=${AFX_KO_DIR:-.}

rm -rf "$root"
mkdir -p "$root"/usr/{bin,sbin,lib,lib64} "$root"/{proc,sys,dev,tmp,run,root,etc}
for d in bin sbin lib lib64; do
	ln -s "usr/$d" "$root/$d"
done

# --- busybox and its applets ------------------------------------------------
busybox=$(command -v busybox)
cp -L "$busybox" "$root/usr/bin/busybox"
busybox --list-full | while read -r applet; do
	# The list names bin/busybox itself, which is usr/bin/busybox here.
	[[ "${applet##*/}" == busybox ]] && continue
	ln -sf /usr/bin/busybox "$root/$applet"
done

# --- dynamically linked tools with their libraries --------------------------
# copy_with_libs FILE: copy FILE and every library ldd lists to the same
# path inside the initramfs (the symlinked /lib, /lib64 resolve into usr/).
copy_with_libs() {
	local f=$1 lib
	mkdir -p "$root$(dirname "$f")"
	cp -L "$f" "$root$f"
	# ldd lines: "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)"
	# or "/lib64/ld-linux-x86-64.so.2 (0x...)"; vdso has no path.
	for lib in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*' || true); do
		[[ -e "$root$lib" ]] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}
for tool in bash perl socat strace kmod; do
	copy_with_libs "$(readlink -f "$(command -v "$tool")")"
done
# trinity, for the fuzzing of the debug lane (scripts/guest/fuzz.sh).
if command -v trinity >/dev/null; then
	copy_with_libs "$(readlink -f "$(command -v trinity)")"
fi
# Debian's Python (/usr/bin/python3, not whatever python3 is first on
# PATH) with only the modules it loads for http.server and urllib (and
# their compiled forms), for selftests/afx_run_real.sh.
if [[ -x /usr/bin/python3 ]]; then
	copy_with_libs "$(readlink -f /usr/bin/python3)"
	ln -sf "$(basename "$(readlink -f /usr/bin/python3)")" "$root/usr/bin/python3"
	/usr/bin/python3 -c '
import sys, importlib.util
import runpy, argparse, http.server, urllib.request, socketserver
import encodings.idna, mimetypes, email.utils, html, shutil
"x".encode("idna")
for m in list(sys.modules.values()):
    f = getattr(m, "__file__", None)
    if not f:
        continue
    print(f)
    if f.endswith(".py"):
        print(importlib.util.cache_from_source(f))
' | while read -r f; do
		[[ -f "$f" ]] || continue
		mkdir -p "$root$(dirname "$f")"
		case $f in
		*.so) copy_with_libs "$f" ;;
		*) cp "$f" "$root$f" ;;
		esac
	done
fi
# Real servers and clients for afx-run (selftests/afx_run_real.sh), each
# under the name it is called by (redis-server is a link to
# redis-check-rdb and goes by its name).
for tool in redis-server redis-cli redis-benchmark nginx curl iperf3; do
	p=$(command -v "$tool") || continue
	real=$(readlink -f "$p")
	copy_with_libs "$real"
	if [[ "$real" != "$p" ]]; then
		mkdir -p "$root$(dirname "$p")"
		ln -sf "$real" "$root$p"
	fi
done
# /bin/sh is bash, not busybox: busybox's sh runs its own applets before
# searching PATH, which would hide kmod's tools below from every script.
ln -sf bash "$root/usr/bin/sh"
# kmod's module tools replace busybox's: its rmmod prints what kmod users
# expect ("Module afx is in use") and its modprobe serves the kernel's
# autoloading (request_module) from the modules.dep built below.
for t in insmod rmmod lsmod modprobe modinfo depmod; do
	ln -sf /usr/bin/kmod "$root/usr/sbin/$t"
	rm -f "$root/usr/bin/$t"
done
# The XS modules (Socket.so, ...) of perl-base only need libc.
perl_base=/usr/lib/x86_64-linux-gnu/perl-base
mkdir -p "$root$(dirname "$perl_base")"
cp -a "$perl_base" "$root$perl_base"

# --- /etc, /dev ---------------------------------------------------------------
cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost\n' >"$root/etc/hosts"
printf 'passwd: files\ngroup: files\nhosts: files\n' >"$root/etc/nsswitch.conf"
# The kernel opens /dev/console for init before devtmpfs is mounted (the
# init script re-opens it after mounting devtmpfs, so without root this is
# only cosmetic); /dev/null serves the chroot check below.
if ((EUID == 0)); then
	mknod -m 600 "$root/dev/console" c 5 1
	mknod -m 666 "$root/dev/null" c 1 3
fi

# --- the project ---------------------------------------------------------------
mkdir -p "$root/afx/build" "$root/afx/scripts"
shopt -s nullglob
kos=("$kodir"/*.ko)
if ((${#kos[@]} == 0)); then
	echo "mkinitramfs.sh: no *.ko in $kodir (run make module)" >&2
	exit 1
fi
cp "${kos[@]}" "$root/afx/"
find build -maxdepth 1 -type f -perm -u+x -exec cp {} "$root/afx/build/" \;
for d in selftests userspace-demo uapi; do
	[[ -d "$d" ]] && cp -a "$d" "$root/afx/"
done
cp -a scripts/guest "$root/afx/scripts/"
# bench/real.sh, run by the bench guest (scripts/guest/bench.sh).
if [[ -f bench/real.sh ]]; then
	mkdir -p "$root/afx/bench"
	cp bench/real.sh "$root/afx/bench/"
fi
# bench/prof's guest scripts (scripts/vm.sh prof), where the tree has them.
prof=(bench/prof/*.sh)
if ((${#prof[@]})); then
	mkdir -p "$root/afx/bench/prof"
	cp "${prof[@]}" "$root/afx/bench/prof/"
fi
cp scripts/guest/init "$root/init"
chmod 755 "$root/init"

# The modules are also installed as /lib/modules/<kver>/extra/*.ko with a
# depmod index, so `modprobe afx` and the kernel's autoloading of e.g.
# afx_diag work. Kernel modules they depend on (modinfo depends=), and any
# named in AFX_GUEST_MODULES (e.g. "veth vsock_loopback"), are copied from
# the host's /lib/modules/<kver> with their dependencies;
# /afx/module-deps lists afx.ko's in insmod order (usually empty).
moddir=$root/lib/modules/$kver
mkdir -p "$moddir/extra"
cp "${kos[@]}" "$moddir/extra/"
kmoddir=${AFX_GUEST_KMODDIR:-/lib/modules/$kver}
for f in modules.order modules.builtin modules.builtin.modinfo; do
	[[ -f "$kmoddir/$f" ]] && cp "$kmoddir/$f" "$moddir/"
done
own=" $(for ko in "${kos[@]}"; do basename "$ko" .ko; done | tr '\n-' ' _') "

# kernel_deps NAME...: insmod paths of NAME and what it needs, in order.
kernel_deps() {
	local m
	for m in "$@"; do
		# "insmod /lib/modules/<kver>/kernel/.../x.ko" lines; "builtin x" skipped.
		modprobe -S "$kver" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
	done
}
copy_kernel_modules() {
	local ko
	while read -r ko; do
		mkdir -p "$root$(dirname "$ko")"
		cp "$ko" "$root$ko"
		echo "$ko"
	done
}

: >"$root/afx/module-deps"
for ko in "${kos[@]}"; do
	for dep in $(modinfo -F depends "$ko" | tr ',' ' '); do
		case "$own" in *" ${dep//-/_} "*) continue ;; esac
		if [[ "$(basename "$ko")" == afx.ko ]]; then
			kernel_deps "$dep" | copy_kernel_modules >>"$root/afx/module-deps"
		else
			kernel_deps "$dep" | copy_kernel_modules >/dev/null
		fi
	done
done
# shellcheck disable=SC2086 # a list of names
[[ -n "${AFX_GUEST_MODULES:-}" ]] && kernel_deps $AFX_GUEST_MODULES | copy_kernel_modules >/dev/null
awk '!seen[$0]++' "$root/afx/module-deps" >"$root/afx/module-deps.tmp"
mv "$root/afx/module-deps.tmp" "$root/afx/module-deps"
depmod -b "$(cd "$root" && pwd)" "$kver"

# --- a staged `make install` --------------------------------------------------
# selftests/install.sh checks the layout of `make install` and, with the
# staged /lib/modules/<kver> mounted over the guest's, that the kernel loads
# afx and afx_diag by itself. A failure is left for that test to report.
stage_abs=$(cd "$root" && pwd)/afx/stage
if ! make -s --no-print-directory install DESTDIR="$stage_abs" KVER="$kver" \
	KODIR="$(cd "${kodir:-.}" && pwd)" >"$root/afx/stage.log" 2>&1; then
	echo "mkinitramfs.sh: warning: make install DESTDIR=$stage_abs failed:" >&2
	cat "$root/afx/stage.log" >&2
fi

# --- sanity: the tools the tests rely on run from the initramfs --------------
if ((EUID == 0)); then
	export LC_ALL=C	# no locales in the initramfs
	chroot "$root" /usr/bin/perl -e 'use Socket; use IO::Handle; 1' ||
		{ echo "mkinitramfs.sh: perl Socket/IO::Handle broken in initramfs" >&2; exit 1; }
	chroot "$root" /usr/bin/socat -V >/dev/null ||
		{ echo "mkinitramfs.sh: socat broken in initramfs" >&2; exit 1; }
	chroot "$root" /bin/bash -c true ||
		{ echo "mkinitramfs.sh: bash broken in initramfs" >&2; exit 1; }
fi

# --- pack --------------------------------------------------------------------
mkdir -p "$(dirname "$out")"
(cd "$root" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet) |
	gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
echo "mkinitramfs.sh: $out ($(du -h "$out" | cut -f1)), modules: ${kos[*]}"
