#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# afx_run.sh - afx-run(1): unmodified loopback TCP/UDP programs on AF_X.
#
# socat and Perl (IO::Socket::INET), which know nothing of AF_X, run under
# afx-run and talk over AF_X: each check shows where the sockets are
# (/proc/net/afx for AF_X, /proc/net/tcp{,6} and udp for inet) and that
# the bytes arrived, and that names read back as the inet addresses the
# program expects. Also: --ports, --udp, --fallback, a dual-stack server,
# IPv6 loopback, and afx-run's answers to bad input (exit 125, 127) and
# to a static program (a warning).
#
# Runs in the test VM as root with afx.ko loaded. Prints TAP. Servers are
# waited for by polling /proc (bounded), never by fixed sleeps.

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=selftests/lib/afx_lib.sh
# (installed the kselftest way, it sits next to the script)
if [ -r "$here/lib/afx_lib.sh" ]; then . "$here/lib/afx_lib.sh"; else . "$here/afx_lib.sh"; fi
for d in "${AFX_BUILD:-}" "$here/../build" /afx/build; do
	if [ -n "$d" ] && [ -x "$d/afx-run" ]; then
		PATH=$d:$PATH
		B=$d
		break
	fi
done
export PATH
PL="$here/afx_run.pl"
tmp=$(mktemp -d /tmp/afx-run.XXXXXX) || exit 1

cleanup() {
	bg_reap
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# afx_has TYPE STATE PORT: /proc/net/afx lists a socket of TYPE (0001
# stream, 0002 datagram) in STATE (0A listen, 07 datagram) on PORT
afx_has() {
	awk -v t="$1" -v s="$2" -v p="$3" '
		NR > 1 && $1 == t && $2 == s && $3 ~ (":" p "$") { f = 1 }
		END { exit !f }' /proc/net/afx
}

# wait_afx TYPE STATE PORT: poll (bounded, 10 s) until afx_has
wait_afx() {
	poll_until 10 afx_has "$@" && return 0
	echo "# timed out waiting for an AF_X socket $1 $2 on port $3"
	cat /proc/net/afx | sed 's/^/# afx: /'
	return 1
}

# inet_has FILE PORT: /proc/net/FILE (tcp, tcp6, udp) has a socket
# bound to PORT (hex in the local address column)
inet_has() {
	[ -r "/proc/net/$1" ] || return 1
	hex=$(printf '%04X' "$2")
	awk -v h="$hex" 'NR > 1 && $2 ~ (":" h "$") { f = 1 } END { exit !f }' \
		"/proc/net/$1"
}

# wait_inet FILE PORT: poll (bounded, 10 s) until inet_has
wait_inet() {
	poll_until 10 inet_has "$@" && return 0
	echo "# timed out waiting for a $1 socket on port $2"
	return 1
}

if [ ! -d /sys/module/afx ]; then
	echo "1..0 # SKIP afx.ko is not loaded"
	exit 4
fi
for tool in afx-run socat perl; do
	if ! command -v "$tool" >/dev/null; then
		echo "1..0 # SKIP $tool missing"
		exit 4
	fi
done
if [ ! -r "$B/libafx-run.so" ]; then
	echo "not ok 1 libafx-run.so next to afx-run"
	echo "1..1"
	exit 1
fi
have_ipv6=0
[ -r /proc/net/if_inet6 ] && have_ipv6=1

# --- 1. bad input ------------------------------------------------------------------
afx-run >/dev/null 2>"$tmp/e1"
check "no program: exit 125 with a message" \
	sh -c "[ $? -eq 125 ] && grep -q 'no program' '$tmp/e1'"
afx-run --ports 0 -- true 2>"$tmp/e2"
check "--ports 0: exit 125 with a message" \
	sh -c "[ $? -eq 125 ] && grep -q 'bad --ports' '$tmp/e2'"
afx-run --ports 80-70 -- true 2>/dev/null
check "--ports 80-70 (empty range): exit 125" sh -c "[ $? -eq 125 ]"
afx-run --bogus -- true 2>/dev/null
check "an unknown option: exit 125" sh -c "[ $? -eq 125 ]"
afx-run -- /nonexistent/prog 2>"$tmp/e3"
check "a program that does not exist: exit 127" \
	sh -c "[ $? -eq 127 ] && grep -q 'not found' '$tmp/e3'"
afx-run --lib /nonexistent.so -- true 2>"$tmp/e4"
check "a library that cannot load: exit 125 with a message" \
	sh -c "[ $? -eq 125 ] && grep -q 'cannot find' '$tmp/e4'"
afx-run -- false
check "the program's exit status is afx-run's" sh -c "[ $? -eq 1 ]"
# The selftest programs are static: the preload cannot reach them.
afx-run -- "$B/afx_socket_test" -l >/dev/null 2>"$tmp/e5"
check "a static program: warned about, and run" \
	sh -c "[ $? -eq 0 ] && grep -q 'statically linked' '$tmp/e5'"

# AFX_RUN_DEBUG (--debug) says what it did with each socket.
afx-run --debug -- socat -u - TCP4:127.0.0.1:7009 </dev/null 2>"$tmp/e6"
check "--debug logs each decision (a refused connect on AF_X)" \
	grep -q 'connect to port 7009 on AF_X: Connection refused' "$tmp/e6"

# --- 2. a stream through socat, on AF_X ----------------------------------------------
bg srv afx-run -- socat -u TCP4-LISTEN:7001,reuseaddr OPEN:"$tmp/got1",creat,trunc
srv=$last
if wait_afx 0001 0A 7001; then
	ok "socat TCP4-LISTEN:7001 listens on AF_X port 7001 (wildcard)"
	check "... and not on TCP" sh -c "! grep -qi ':1B59 ' /proc/net/tcp"
	head -c 100000 /dev/urandom >"$tmp/data1"
	afx-run -- socat -u OPEN:"$tmp/data1" TCP4:127.0.0.1:7001 2>"$tmp/c1.err"
	check "socat TCP4:127.0.0.1:7001 sends 100000 bytes: exit 0" sh -c "[ $? -eq 0 ]"
	wait_exit "$srv"
	check "the server got them all, in order" cmp -s "$tmp/data1" "$tmp/got1"
else
	not_ok "socat TCP4-LISTEN:7001 listens on AF_X port 7001 (wildcard)"
	show "$tmp/srv.err"
fi

# --- 3. names as the program expects them (Perl's IO::Socket::INET) -------------------
bg psrv afx-run -- perl "$PL" server 127.0.0.1 7002
psrv=$last
if wait_afx 0001 0A 7002; then
	afx-run -- perl "$PL" client 127.0.0.1 7002 >"$tmp/pcli.out" 2>"$tmp/pcli.err"
	rc=$?
	wait_exit "$psrv"
	# server: "listening 127.0.0.1:7002", "accepted peer 127.0.0.1:P
	# local 127.0.0.1:7002", client: "connected local 127.0.0.1:P
	# peer 127.0.0.1:7002", "echo hello"
	cport=$(sed -n 's/^connected local 127\.0\.0\.1:\([0-9]*\) peer 127\.0\.0\.1:7002$/\1/p' "$tmp/pcli.out")
	check "client: connected, local name 127.0.0.1:ephemeral, peer 127.0.0.1:7002" \
		sh -c "[ $rc -eq 0 ] && [ -n '$cport' ]"
	check "server: its own name 127.0.0.1:7002" grep -qx 'listening 127.0.0.1:7002' "$tmp/psrv.out"
	check "server: the peer is the client's name, the local name the listener's" \
		grep -qx "accepted peer 127.0.0.1:$cport local 127.0.0.1:7002" "$tmp/psrv.out"
	check "client: the echo came back" grep -qx 'echo hello' "$tmp/pcli.out"
	check "SO_DOMAIN, SO_PROTOCOL, TCP_NODELAY read as on TCP" \
		grep -qx 'options domain=2 protocol=6 nodelay=1' "$tmp/pcli.out"
	show "$tmp/psrv.out" "$tmp/psrv.err" "$tmp/pcli.out" "$tmp/pcli.err"
else
	not_ok "perl server on AF_X port 7002"
	show "$tmp/psrv.err"
fi

# --- 4. --ports: other ports stay on TCP ----------------------------------------------
bg tsrv afx-run --ports 7100-7200 -- socat -u TCP4-LISTEN:7003,reuseaddr OPEN:"$tmp/got3",creat,trunc
tsrv=$last
if wait_inet tcp 7003; then
	check "--ports 7100-7200: a listener on 7003 stays on TCP" \
		sh -c "! grep -q ':7003 ' /proc/net/afx"
	# --- 5. --fallback: a client reaches a TCP-only server ---------------------------
	echo fallback >"$tmp/data3"
	afx-run -- socat -u OPEN:"$tmp/data3" TCP4:127.0.0.1:7003 2>"$tmp/c3.err"
	check "without --fallback, no AF_X listener: connection refused" \
		sh -c "[ $? -ne 0 ] && grep -qi 'refused' '$tmp/c3.err'"
	afx-run --fallback -- socat -u OPEN:"$tmp/data3" TCP4:127.0.0.1:7003 2>"$tmp/c3b.err"
	check "with --fallback the client reaches it over TCP" sh -c "[ $? -eq 0 ]"
	wait_exit "$tsrv"
	check "... and the bytes arrived" cmp -s "$tmp/data3" "$tmp/got3"
else
	not_ok "--ports 7100-7200: a listener on 7003 stays on TCP"
	show "$tmp/tsrv.err"
fi

# --- 6. --udp -----------------------------------------------------------------------------
bg usrv afx-run --udp -- socat -u UDP4-RECV:7004 OPEN:"$tmp/got4",creat,trunc
usrv=$last
if wait_afx 0002 07 7004; then
	ok "--udp: socat UDP4-RECV:7004 binds AF_X datagram port 7004"
	echo datagram >"$tmp/data4"
	afx-run --udp -- socat -u OPEN:"$tmp/data4" UDP4-SENDTO:127.0.0.1:7004
	check "a datagram from UDP4-SENDTO arrives" \
		poll_until 10 cmp -s "$tmp/data4" "$tmp/got4"
	kill "$usrv" 2>/dev/null
else
	not_ok "--udp: socat UDP4-RECV:7004 binds AF_X datagram port 7004"
	show "$tmp/usrv.err"
fi
bg u2 afx-run -- socat -u UDP4-RECV:7005 OPEN:/dev/null
u2=$last
check "without --udp, datagram sockets stay on UDP" wait_inet udp 7005
kill "$u2" 2>/dev/null

# --- 7. IPv6 loopback and a dual-stack server ---------------------------------------------
if [ "$have_ipv6" = 1 ]; then
	bg s6 afx-run -- socat -u TCP6-LISTEN:7006,bind=[::1] OPEN:"$tmp/got6",creat,trunc
	s6=$last
	if wait_afx 0001 0A 7006; then
		echo six >"$tmp/data6"
		afx-run -- socat -u OPEN:"$tmp/data6" TCP6:[::1]:7006
		wait_exit "$s6"
		check "IPv6: loopback [::1]:7006 over AF_X" cmp -s "$tmp/data6" "$tmp/got6"
	else
		not_ok "IPv6: loopback [::1]:7006 over AF_X"
		show "$tmp/s6.err"
	fi
	bg ds afx-run -- perl "$PL" dualstack 7007
	ds=$last
	if wait_afx 0001 0A 7007 && wait_inet tcp6 7007; then
		ok "IPv6: a dual-stack server, 127.0.0.1:7007 on AF_X, [::1]:7007 stays on TCP"
		afx-run -- perl "$PL" client ::1 7007 >"$tmp/ds.out" 2>&1
		check "IPv6: an afx-run client of [::1]:7007 reaches it over AF_X" \
			grep -qx 'echo hello' "$tmp/ds.out"
	else
		not_ok "IPv6: a dual-stack server, 127.0.0.1:7007 on AF_X, [::1]:7007 stays on TCP"
		show "$tmp/ds.out" "$tmp/ds.err"
	fi
	kill "$ds" 2>/dev/null
else
	skip "IPv6: loopback [::1]:7006 over AF_X" "this kernel has no IPv6"
	skip "IPv6: a dual-stack server, 127.0.0.1:7007 on AF_X, [::1]:7007 stays on TCP" "this kernel has no IPv6"
	skip "IPv6: an afx-run client of [::1]:7007 reaches it over AF_X" "this kernel has no IPv6"
fi

tap_end
