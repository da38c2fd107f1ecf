#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# install.sh - `make install` in the guest: its layout, and the kernel
# loading afx and afx_diag by itself from it. TAP output.
#
# The guest has no make: scripts/mkinitramfs.sh runs `make install
# DESTDIR=<initramfs>/afx/stage KVER=<guest kernel>` on the host, which
# also runs depmod -b on the staged tree. This test mounts the staged
# /lib/modules/<kver> over the guest's, unloads afx_diag and afx, and then
#   - socket(AF_X, ...) must make the kernel modprobe afx (net-pf-18),
#   - the installed afx-ss must make it modprobe afx_diag
#     (net-pf-16-proto-4-type-18) and list a socket with its owner.
# Afterwards it unloads afx_diag (it pins afx) and unmounts; afx stays
# loaded for the tests that follow.

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=selftests/lib/afx_lib.sh
if [ -r "$here/lib/afx_lib.sh" ]; then . "$here/lib/afx_lib.sh"; else . "$here/afx_lib.sh"; fi
AFX_ROOT=${AFX_ROOT:-/afx}
kver=$(uname -r)
stage=$AFX_ROOT/stage
smods=$stage/lib/modules/$kver
mods=/lib/modules/$kver
ss=$stage/usr/local/bin/afx-ss
port=33001

# rmmod_retry MODULE: unload it, waiting up to 10 s for closing sockets.
rmmod_retry() {
	[ -d "/sys/module/$1" ] || return 0
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		rmmod "$1" 2>/dev/null && return 0
		sleep 1
	done
	rmmod "$1"
}

mounted=0
holder=
cleanup() {
	[ -n "$holder" ] && kill "$holder" 2>/dev/null
	rmmod_retry afx_diag 2>/dev/null
	[ "$mounted" = 1 ] && umount "$mods"
}
trap cleanup EXIT

# 1. The staged layout.
missing=
for f in "$smods/extra/afx.ko" "$smods/extra/afx_diag.ko" \
	"$smods/modules.dep" "$smods/modules.alias" "$ss" \
	"$stage/usr/local/include/linux/afx.h" \
	"$stage/usr/local/include/linux/afx_diag.h" \
	"$stage/usr/local/share/man/man7/afx.7" \
	"$stage/usr/local/share/man/man8/afx-ss.8"; do
	[ -f "$f" ] || missing="$missing ${f#"$stage"}"
done
[ -x "$ss" ] || missing="$missing (afx-ss not executable)"
if [ -z "$missing" ]; then
	ok "make install layout: extra/afx.ko, extra/afx_diag.ko, depmod index, afx-ss, headers, man pages"
else
	not_ok "make install layout: extra/afx.ko, extra/afx_diag.ko, depmod index, afx-ss, headers, man pages"
	diag "missing:$missing" "$(cat "$AFX_ROOT/stage.log" 2>/dev/null)"
	echo "# Bail out! nothing staged"
	exit 1
fi

# 2. modinfo of the installed module.
info_ok=1
info=
for field in license description author version parm; do
	v=$(modinfo -F "$field" "$smods/extra/afx.ko" 2>/dev/null | head -n 1)
	info="$info $field='$v'"
	[ -n "$v" ] || info_ok=0
done
modinfo -F parm "$smods/extra/afx.ko" 2>/dev/null | grep -q '^family:.*family' ||
	info_ok=0
[ "$(modinfo -F license "$smods/extra/afx.ko" 2>/dev/null)" = GPL ] || info_ok=0
version=$(modinfo -F version "$smods/extra/afx.ko" 2>/dev/null)
if [ "$info_ok" = 1 ]; then
	ok "modinfo of the installed afx.ko: license, description, author, version $version, parm"
else
	not_ok "modinfo of the installed afx.ko: license, description, author, version, parm"
	diag "$info"
fi

# 3. The installed tree in place; no afx module loaded.
mkdir -p "$mods"
if mount --bind "$smods" "$mods"; then
	mounted=1
fi
if [ "$mounted" = 1 ] && rmmod_retry afx_diag && rmmod_retry afx &&
	[ ! -d /sys/module/afx ]; then
	ok "installed tree mounted on $mods; afx and afx_diag unloaded"
else
	not_ok "installed tree mounted on $mods; afx and afx_diag unloaded"
	diag "mounted=$mounted refcnt=$(cat /sys/module/afx/refcnt 2>/dev/null)" "holders: $(ls /sys/module/afx/holders 2>/dev/null)"
	echo "# Bail out! cannot test autoloading"
	exit 1
fi

# 4. socket(AF_X) loads afx by itself (modprobe net-pf-18).
if out=$(perl -e 'socket(my $s, 18, 1, 0) or die "socket: $!\n"' 2>&1) &&
	[ -d /sys/module/afx ]; then
	ok "socket(AF_X, SOCK_STREAM, 0) loads afx by itself"
else
	not_ok "socket(AF_X, SOCK_STREAM, 0) loads afx by itself"
	diag "$out" "$(cat "$mods/modules.alias" 2>&1)"
fi

# 5. It is the installed module.
loaded=$(cat /sys/module/afx/version 2>/dev/null)
if [ -n "$loaded" ] && [ "$loaded" = "$version" ]; then
	ok "the loaded afx is the installed one (version $loaded)"
else
	not_ok "the loaded afx is the installed one"
	diag "loaded '$loaded', installed '$version'"
fi

# A socket for afx-ss to find: a perl listener on $port.
perl -e '
	socket(my $s, 18, 1, 0) or die "socket: $!\n";
	bind($s, pack("SSLLx4", 18, 0, '"$port"', 0)) or die "bind: $!\n";
	listen($s, 7) or die "listen: $!\n";
	sleep 60;' &
holder=$!
poll_until 5 grep -q ":$port " /proc/net/afx

# 6. The installed afx-ss loads afx_diag by itself.
if out=$("$ss" -l -n -p 2>&1) && [ -d /sys/module/afx_diag ]; then
	ok "afx-ss loads afx_diag by itself"
else
	not_ok "afx-ss loads afx_diag by itself"
	diag "$out"
fi

# 7. ...and shows the listener with its owner.
line=$(echo "$out" | grep ":$port ")
case "$line" in
*LISTEN*0x00000000:$port*users:\(\(\"perl\",pid=$holder,fd=*)
	ok "afx-ss -lnp shows the listener on port $port and its process"
	;;
*)
	not_ok "afx-ss -lnp shows the listener on port $port and its process"
	diag "$out"
	;;
esac

tap_end
