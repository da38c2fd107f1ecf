#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# rmmod.sh - afx.ko cannot be unloaded while an AF_X socket exists.
#
# With an AF_X socket held open by a Perl process (a datagram socket) and
# then by socat (a listening stream socket), `rmmod afx` must fail (the
# delete_module syscall returns EWOULDBLOCK/EAGAIN) and
# /sys/module/afx/refcnt must be above its idle value. Once they are
# closed, rmmod succeeds, /sys/module/afx disappears and socket(AF_X)
# fails with EAFNOSUPPORT (module autoloading switched off for that). Then
# the module comes back, through the net-pf-18 alias (socket() autoloads it)
# when it is installed under /lib/modules, else by insmod, so that later
# tests still have it. On the way, insmod refuses a bind_buckets that is
# not a power of 2 from 4096 to 65536 and takes 4096.
#
# Runs in the test VM as root (busybox sh is enough). The module file is
# $AFX_KO (set by the guest init), else /afx/afx.ko or ../afx.ko next to
# this script. Prints TAP, the plan at the end.

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=selftests/lib/afx_lib.sh
# (installed the kselftest way, it sits next to the script)
if [ -r "$here/lib/afx_lib.sh" ]; then . "$here/lib/afx_lib.sh"; else . "$here/afx_lib.sh"; fi
PL="$here/interop.pl"
tmp=$(mktemp -d /tmp/afx-rmmod.XXXXXX) || exit 1

# load the module again if this script leaves it unloaded, whatever happens
reload() {
	[ -d /sys/module/afx ] && return 0
	if [ -n "$ko" ] && [ "$fam" != 18 ]; then
		insmod "$ko" family="$fam"
	elif [ -r "${AFX_ROOT:-/afx}/scripts/guest/lib.sh" ]; then
		(. "${AFX_ROOT:-/afx}/scripts/guest/lib.sh" && load_afx)
	else
		insmod "$ko"
	fi
	[ -d /sys/module/afx ]
}

modprobe_path=""

cleanup() {
	[ -n "$modprobe_path" ] && echo "$modprobe_path" >/proc/sys/kernel/modprobe
	exec 3>&- 2>/dev/null
	bg_reap
	reload >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

wait_for() {
	i=0
	while [ $i -lt 200 ]; do
		grep -q -e "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
		i=$((i + 1))
	done
	echo "# timed out waiting for '$2' in ${1##*/}"
	return 1
}

refcnt() {
	cat /sys/module/afx/refcnt 2>/dev/null || echo -1
}

# wait_refcnt N: bounded wait until refcnt is N (socket release may lag)
wait_refcnt() {
	i=0
	while [ $i -lt 200 ]; do
		[ "$(refcnt)" = "$1" ] && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# delete_module("afx", O_NONBLOCK) from Perl: prints the errno name
# (EAGAIN/EWOULDBLOCK are one value on Linux), or "ok" if it succeeded.
delete_module_errno() {
	perl -e '
		use Errno;
		my $name = "afx";
		my $r = syscall(176, $name, 04000);	# __NR_delete_module
		if ($r == 0) { print "ok\n"; exit 0 }
		print $!{EAGAIN} ? "EAGAIN\n" : ($! + 0) . " ($!)\n";'
}

# does socket(AF_X, type, 0) work? prints "ok" or the errno name/number
try_socket() {
	perl -e '
		use Errno;
		socket(my $s, $ARGV[0], $ARGV[1], 0) and do { print "ok\n"; exit 0 };
		print $!{EAFNOSUPPORT} ? "EAFNOSUPPORT\n" : ($! + 0) . " ($!)\n";' \
		"$fam" "$1"
}

if [ ! -d /sys/module/afx ]; then
	echo "1..0 # SKIP afx.ko is not loaded"
	exit 4
fi
fam=$(cat /sys/module/afx/parameters/family 2>/dev/null || echo 18)
ko=""
for f in "${AFX_KO:-}" "${AFX_ROOT:-/afx}/afx.ko" "$here/../afx.ko" \
	"/lib/modules/$(uname -r)/extra/afx.ko"; do
	if [ -n "$f" ] && [ -r "$f" ]; then
		ko=$f
		break
	fi
done
if [ -z "$ko" ]; then
	echo "1..0 # SKIP afx.ko file not found (set AFX_KO)"
	exit 4
fi
holders=$(ls /sys/module/afx/holders 2>/dev/null | tr '\n' ' ')
base=$(refcnt)
echo "# module $ko, family $fam, idle refcnt $base, holders: ${holders:-none}"

# --- 1. a Perl process holds a datagram socket ---------------------------------
mkfifo "$tmp/hold.fifo"
perl "$PL" hold <"$tmp/hold.fifo" >"$tmp/hold.out" 2>&1 &
hp=$!
pids="$pids $hp"
exec 3>"$tmp/hold.fifo"
if wait_for "$tmp/hold.out" "ready"; then
	held=$(refcnt)
	check "refcnt rises while perl holds an AF_X socket ($base -> $held)" \
		[ "$held" -gt "$base" ]
	rmmod afx >"$tmp/rmmod1.out" 2>&1
	rc=$?
	if [ $rc -ne 0 ] && [ -d /sys/module/afx ] &&
		grep -qE "in use|Resource temporarily unavailable" "$tmp/rmmod1.out"; then
		ok "rmmod afx fails while the socket is open (in use)"
	else
		not_ok "rmmod afx fails while the socket is open (rc $rc)"
		show "$tmp/rmmod1.out"
		reload
	fi
	show "$tmp/rmmod1.out"
	e=$(delete_module_errno)
	check "delete_module(afx) fails with EAGAIN/EWOULDBLOCK (got $e)" \
		[ "$e" = EAGAIN ]
	reload
	if [ -d /sys/module/afx ] && [ "$(refcnt)" = "$held" ]; then
		ok "the module is still loaded, refcnt unchanged"
	else
		not_ok "the module is still loaded, refcnt unchanged ($(refcnt))"
	fi
else
	not_ok "refcnt rises while perl holds an AF_X socket"
	show "$tmp/hold.out"
fi
exec 3>&-
wait "$hp"
check "perl released its socket: refcnt back to $base" wait_refcnt "$base"

# --- 2. socat holds a listening stream socket ------------------------------------
P=34001
hex=$(printf 'x0000%02x%02x%02x%02x0000000000000000' $((P & 255)) \
	$(((P >> 8) & 255)) 0 0)
socat -d -d SOCKET-LISTEN:$fam:0:$hex PIPE >"$tmp/socat.out" 2>&1 </dev/null &
sp=$!
pids="$pids $sp"
if wait_for "$tmp/socat.out" "listening on"; then
	check "refcnt rises while socat listens on an AF_X socket" \
		[ "$(refcnt)" -gt "$base" ]
	rmmod afx >"$tmp/rmmod2.out" 2>&1
	rc=$?
	if [ $rc -ne 0 ] && [ -d /sys/module/afx ] &&
		grep -qE "in use|Resource temporarily unavailable" "$tmp/rmmod2.out"; then
		ok "rmmod afx fails while socat listens (in use)"
	else
		not_ok "rmmod afx fails while socat listens (rc $rc)"
		show "$tmp/rmmod2.out"
		reload
	fi
else
	not_ok "refcnt rises while socat listens on an AF_X socket"
	show "$tmp/socat.out"
fi
kill "$sp" 2>/dev/null
wait "$sp" 2>/dev/null
check "socat gone: refcnt back to $base" wait_refcnt "$base"

# --- 3. nothing open: rmmod works --------------------------------------------------
if [ -n "$holders" ]; then
	echo "ok $((n + 1)) # SKIP rmmod afx: modules depend on it ($holders)"
	n=$((n + 1))
else
	rmmod afx >"$tmp/rmmod3.out" 2>&1
	rc=$?
	check "rmmod afx succeeds once every socket is closed" [ $rc -eq 0 ]
	show "$tmp/rmmod3.out"
	check "/sys/module/afx is gone" [ ! -d /sys/module/afx ]

	# Without the module the family does not exist. Switch off module
	# autoloading meanwhile (restored at once), or net-pf-$fam would
	# bring afx back.
	modprobe_path=$(cat /proc/sys/kernel/modprobe)
	echo "" >/proc/sys/kernel/modprobe
	e=$(try_socket 2)
	echo "$modprobe_path" >/proc/sys/kernel/modprobe
	modprobe_path=""
	check "socket(AF_X) without the module: EAFNOSUPPORT (got $e)" \
		[ "$e" = EAFNOSUPPORT ]

	# bind_buckets: refused unless a power of 2 from 4096 to 65536
	if [ -n "$ko" ]; then
		for b in 1000 2048 131072; do
			insmod "$ko" family="$fam" bind_buckets=$b >"$tmp/b$b.out" 2>&1
			rc=$?
			check "insmod bind_buckets=$b fails (rc $rc)" \
				[ $rc -ne 0 ] && [ ! -d /sys/module/afx ]
			show "$tmp/b$b.out"
			rmmod afx 2>/dev/null
		done
		insmod "$ko" family="$fam" bind_buckets=4096 >"$tmp/b4096.out" 2>&1
		show "$tmp/b4096.out"
		check "insmod bind_buckets=4096: the parameter shows 4096" \
			[ "$(cat /sys/module/afx/parameters/bind_buckets 2>/dev/null)" = 4096 ]
		e=$(try_socket 1)
		check "sockets work with 4096 buckets ($e)" [ "$e" = ok ]
		rmmod afx 2>"$tmp/rmmod4.out"
		show "$tmp/rmmod4.out"
		check "unloaded again" [ ! -d /sys/module/afx ]
	else
		echo "ok $((n + 1)) # SKIP bind_buckets: no afx.ko file to insmod"
		n=$((n + 1))
	fi

	# --- 4. and back, for the tests that follow ---------------------------------
	if [ "$fam" = 18 ] &&
		grep -qs "net-pf-18 afx" "/lib/modules/$(uname -r)/modules.alias"; then
		# MODULE_ALIAS_NETPROTO(18): socket() loads it by itself
		e=$(try_socket 2)
		if [ "$e" = ok ] && [ -d /sys/module/afx ]; then
			ok "socket(AF_X) autoloads afx through the net-pf-18 alias"
		else
			not_ok "socket(AF_X) autoloads afx through the net-pf-18 alias ($e)"
			reload
		fi
	else
		echo "ok $((n + 1)) # SKIP autoload: afx is not installed in /lib/modules/$(uname -r) (or family $fam != 18)"
		n=$((n + 1))
		reload >"$tmp/insmod.out" 2>&1
		show "$tmp/insmod.out"
	fi
	check "afx is loaded again" [ -d /sys/module/afx ]
	check "family parameter is $fam again" \
		[ "$(cat /sys/module/afx/parameters/family 2>/dev/null)" = "$fam" ]
	b=$(cat /sys/module/afx/parameters/bind_buckets 2>/dev/null)
	case "$b" in
	4096|8192|16384|32768|65536) ok "bind_buckets chosen by memory: $b" ;;
	*) not_ok "bind_buckets chosen by memory: '$b' is not a power of 2 from 4096 to 65536" ;;
	esac
	e1=$(try_socket 1)
	e2=$(try_socket 2)
	if [ "$e1" = ok ] && [ "$e2" = ok ]; then
		ok "stream and dgram sockets work after reloading"
	else
		not_ok "stream and dgram sockets work after reloading ($e1, $e2)"
	fi
	check "idle refcnt after reloading is $base" wait_refcnt "$base"
fi

tap_end
