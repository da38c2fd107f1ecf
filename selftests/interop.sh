#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# interop.sh - AF_X against clients nobody here wrote: socat's generic
# socket addresses (SOCKET-LISTEN, SOCKET-CONNECT, SOCKET-DATAGRAM,
# SOCKET-RECV, SOCKET-RECVFROM, SOCKET-SENDTO with x<hex> sockaddrs) and
# Perl's core socket built-ins (interop.pl), talking to the afx demo
# programs (userspace-demo/) and to each other.
#
# Runs in the test VM as root with afx.ko loaded (busybox sh is enough);
# the demo binaries are looked up in $AFX_BUILD (default: ../build next to
# this script, then /afx/build) and $PATH. Prints TAP: "ok N desc" /
# "not ok N desc", the plan at the end.
#
# socat's generic addresses take the sockaddr without its family field:
# struct sockaddr_x minus sx_family is 14 bytes, here as hex
#   0000       sx_reserved1
#   PPPPPPPP   sx_port, little endian (host order on x86)
#   AAAAAAAA   sx_addr, little endian
#   00000000   sx_zero
# socat adds the family from its <domain> parameter and passes addrlen 16.
#
# Background servers are waited for by polling their output for a "ready"
# line in a bounded loop (no fixed sleeps); each one is killed by its pid at
# the end.

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=selftests/lib/afx_lib.sh
# (installed the kselftest way, it sits next to the script)
if [ -r "$here/lib/afx_lib.sh" ]; then . "$here/lib/afx_lib.sh"; else . "$here/afx_lib.sh"; fi
for d in "${AFX_BUILD:-}" "$here/../build" /afx/build; do
	if [ -n "$d" ] && [ -x "$d/afx-echo-server" ]; then
		PATH=$d:$PATH
		break
	fi
done
export PATH
PL="$here/interop.pl"
FAM=$(cat /sys/module/afx/parameters/family 2>/dev/null || echo 18)
SOCK_STREAM=1
SOCK_DGRAM=2
ADDR_ANY=0
ADDR_LOCAL=1
ADDR_BROADCAST=4294967295
TMO=15		# limit for every foreground client

tmp=$(mktemp -d /tmp/afx-interop.XXXXXX) || exit 1

cleanup() {
	bg_reap
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# le32 N: N as 4 little-endian bytes in hex
le32() {
	printf '%02x%02x%02x%02x' $(($1 & 255)) $((($1 >> 8) & 255)) \
		$((($1 >> 16) & 255)) $((($1 >> 24) & 255))
}

# sx PORT [ADDR]: socat's x<hex> form of {ADDR (default LOCAL), PORT}
sx() {
	echo "x0000$(le32 "$1")$(le32 "${2:-$ADDR_LOCAL}")00000000"
}

# wait_for FILE PATTERN: poll (bounded, 10 s) until FILE contains PATTERN
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

# port of "... port NNN" in the first line of FILE matching PATTERN
port_in() {
	sed -n "s/.*$2[^0-9]*port \([0-9][0-9]*\).*/\1/p" "$1" | head -n 1
}

if [ ! -d /sys/module/afx ]; then
	echo "1..0 # SKIP afx.ko is not loaded"
	exit 4
fi
for tool in socat perl afx-echo-server afx-echo-client afx-dgram-send \
	afx-dgram-recv; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "1..0 # SKIP $tool not found"
		exit 4
	fi
done

# --- 1. socat SOCKET-LISTEN echo server <- afx-echo-client -----------------
P=33001
bg l1 socat -d -d SOCKET-LISTEN:$FAM:0:$(sx $P $ADDR_ANY) PIPE
lp=$last
if wait_for "$tmp/l1.err" "listening on" &&
	timeout $TMO afx-echo-client $P hello world >"$tmp/c1.out" 2>&1 &&
	grep -q 'sent "hello", got back "hello"' "$tmp/c1.out" &&
	grep -q 'sent "world", got back "world"' "$tmp/c1.out"; then
	ok "socat SOCKET-LISTEN echo server <- afx-echo-client"
else
	not_ok "socat SOCKET-LISTEN echo server <- afx-echo-client"
	show "$tmp/l1.err" "$tmp/c1.out"
fi
wait_exit $lp >/dev/null

# --- 2. afx-echo-server <- socat SOCKET-CONNECT ----------------------------
P=33002
bg s2 afx-echo-server -n 1 $P
sp=$last
if wait_for "$tmp/s2.out" "listening on port $P" &&
	echo "line from socat" |
	timeout $TMO socat -t 5 - SOCKET-CONNECT:$FAM:0:$(sx $P) \
		>"$tmp/c2.out" 2>"$tmp/c2.err" &&
	[ "$(cat "$tmp/c2.out")" = "line from socat" ] &&
	wait_exit $sp && grep -q "served 1 clients" "$tmp/s2.out"; then
	ok "afx-echo-server <- socat SOCKET-CONNECT"
else
	not_ok "afx-echo-server <- socat SOCKET-CONNECT"
	show "$tmp/s2.out" "$tmp/s2.err" "$tmp/c2.out" "$tmp/c2.err"
fi

# --- 3. socat SOCKET-LISTEN <- socat SOCKET-CONNECT ------------------------
P=33003
# -t 5: after the client's EOF socat waits that long for tr's answer (the
# default, 0.5 s, is shorter than tr's start on a loaded debug guest).
bg l3 socat -d -d -t 5 SOCKET-LISTEN:$FAM:0:$(sx $P $ADDR_LOCAL) \
	SYSTEM:'tr a-z A-Z'
lp=$last
if wait_for "$tmp/l3.err" "listening on" &&
	echo "shout this" |
	timeout $TMO socat -t 5 - SOCKET-CONNECT:$FAM:0:$(sx $P $ADDR_ANY) \
		>"$tmp/c3.out" 2>"$tmp/c3.err" &&
	[ "$(cat "$tmp/c3.out")" = "SHOUT THIS" ]; then
	ok "socat SOCKET-LISTEN (tr) <- socat SOCKET-CONNECT"
else
	not_ok "socat SOCKET-LISTEN (tr) <- socat SOCKET-CONNECT"
	show "$tmp/l3.err" "$tmp/c3.out" "$tmp/c3.err"
fi
wait_exit $lp >/dev/null

# --- 4. socat SOCKET-DATAGRAM -> afx-dgram-recv ----------------------------
P=33004
bg r4 afx-dgram-recv -n 1 $P
rp=$last
if wait_for "$tmp/r4.out" "listening on port $P" &&
	printf 'dgram-from-socat' |
	timeout $TMO socat -u - SOCKET-DATAGRAM:$FAM:$SOCK_DGRAM:0:$(sx $P) \
		2>"$tmp/c4.err" &&
	wait_exit $rp &&
	grep -q '16 bytes from port [0-9]*: "dgram-from-socat"' "$tmp/r4.out"; then
	ok "socat SOCKET-DATAGRAM -> afx-dgram-recv"
else
	not_ok "socat SOCKET-DATAGRAM -> afx-dgram-recv"
	show "$tmp/r4.out" "$tmp/r4.err" "$tmp/c4.err"
fi

# --- 5. socat SOCKET-DATAGRAM,bind=<hex> -> afx-dgram-recv sees that port --
P=33005
B=33105
bg r5 afx-dgram-recv -n 1 $P
rp=$last
if wait_for "$tmp/r5.out" "listening on port $P" &&
	printf 'bound' |
	timeout $TMO socat -u - \
		SOCKET-DATAGRAM:$FAM:$SOCK_DGRAM:0:$(sx $P),bind=$(sx $B $ADDR_ANY) \
		2>"$tmp/c5.err" &&
	wait_exit $rp &&
	grep -q "5 bytes from port $B: \"bound\"" "$tmp/r5.out"; then
	ok "socat SOCKET-DATAGRAM bind=<hex> -> afx-dgram-recv reports the bound port"
else
	not_ok "socat SOCKET-DATAGRAM bind=<hex> -> afx-dgram-recv reports the bound port"
	show "$tmp/r5.out" "$tmp/c5.err"
fi

# --- 6. afx-dgram-send -> socat SOCKET-RECV ----------------------------------
P=33006
bg r6 socat -d -d -u SOCKET-RECV:$FAM:$SOCK_DGRAM:0:$(sx $P $ADDR_ANY) STDOUT
rp=$last
if wait_for "$tmp/r6.err" "starting data transfer loop" &&
	timeout $TMO afx-dgram-send $P first-datagram second-datagram \
		>"$tmp/c6.out" 2>&1 &&
	wait_for "$tmp/r6.out" "second-datagram" &&
	[ "$(cat "$tmp/r6.out")" = "first-datagramsecond-datagram" ]; then
	ok "afx-dgram-send -> socat SOCKET-RECV"
else
	not_ok "afx-dgram-send -> socat SOCKET-RECV"
	show "$tmp/r6.out" "$tmp/r6.err" "$tmp/c6.out"
fi
kill $rp 2>/dev/null

# --- 7. perl dgram-request -> socat SOCKET-RECVFROM echo -------------------
P=33007
bg r7 socat -d -d SOCKET-RECVFROM:$FAM:$SOCK_DGRAM:0:$(sx $P $ADDR_ANY) PIPE
rp=$last
if wait_for "$tmp/r7.err" "receiving on" &&
	timeout $TMO perl "$PL" dgram-request $P ping >"$tmp/c7.out" 2>&1 &&
	grep -q "reply from port $P addr $ADDR_LOCAL: \"ping\"" "$tmp/c7.out"; then
	ok "perl sendto/recv -> socat SOCKET-RECVFROM echo, reply from its port"
else
	not_ok "perl sendto/recv -> socat SOCKET-RECVFROM echo, reply from its port"
	show "$tmp/r7.err" "$tmp/c7.out"
fi
kill $rp 2>/dev/null

# --- 8. socat SOCKET-SENDTO <- perl dgram-echo -------------------------------
P=33008
bg r8 perl "$PL" dgram-echo $P 1
rp=$last
if wait_for "$tmp/r8.out" "ready on port $P" &&
	echo "echo me" |
	timeout $TMO socat -t 2 - SOCKET-SENDTO:$FAM:$SOCK_DGRAM:0:$(sx $P) \
		>"$tmp/c8.out" 2>"$tmp/c8.err" &&
	[ "$(cat "$tmp/c8.out")" = "echo me" ] && wait_exit $rp; then
	ok "socat SOCKET-SENDTO <-> perl recv/send echo"
else
	not_ok "socat SOCKET-SENDTO <-> perl recv/send echo"
	show "$tmp/r8.out" "$tmp/r8.err" "$tmp/c8.out" "$tmp/c8.err"
fi

# --- 9. perl dgram-send -> afx-dgram-recv ------------------------------------
P=33009
bg r9 afx-dgram-recv -n 2 $P
rp=$last
if wait_for "$tmp/r9.out" "listening on port $P" &&
	timeout $TMO perl "$PL" dgram-send $P "from perl" again \
		>"$tmp/c9.out" 2>&1 &&
	wait_exit $rp; then
	sport=$(port_in "$tmp/c9.out" "from perl")
	if [ -n "$sport" ] &&
		grep -q "9 bytes from port $sport: \"from perl\"" "$tmp/r9.out" &&
		grep -q "5 bytes from port $sport: \"again\"" "$tmp/r9.out"; then
		ok "perl send -> afx-dgram-recv (boundaries, sender port)"
	else
		not_ok "perl send -> afx-dgram-recv (boundaries, sender port)"
		show "$tmp/r9.out" "$tmp/c9.out"
	fi
else
	not_ok "perl send -> afx-dgram-recv (boundaries, sender port)"
	show "$tmp/r9.out" "$tmp/r9.err" "$tmp/c9.out"
fi

# --- 10. afx-dgram-send -> perl dgram-recv -----------------------------------
P=33010
bg r10 perl "$PL" dgram-recv $P 2
rp=$last
if wait_for "$tmp/r10.out" "ready on port $P" &&
	timeout $TMO afx-dgram-send $P hello-perl "" >"$tmp/c10.out" 2>&1 &&
	wait_exit $rp; then
	sport=$(port_in "$tmp/c10.out" "sending from")
	if [ -n "$sport" ] &&
		grep -q "10 bytes from family $FAM port $sport addr $ADDR_LOCAL: \"hello-perl\"" "$tmp/r10.out" &&
		grep -q "0 bytes from family $FAM port $sport addr $ADDR_LOCAL: \"\"" "$tmp/r10.out"; then
		ok "afx-dgram-send -> perl recv (sender {AF_X, port, LOCAL}, empty datagram)"
	else
		not_ok "afx-dgram-send -> perl recv (sender {AF_X, port, LOCAL}, empty datagram)"
		show "$tmp/r10.out" "$tmp/c10.out"
	fi
else
	not_ok "afx-dgram-send -> perl recv (sender {AF_X, port, LOCAL}, empty datagram)"
	show "$tmp/r10.out" "$tmp/r10.err" "$tmp/c10.out"
fi

# --- 11. perl stream-client -> afx-echo-server -------------------------------
P=33011
bg s11 afx-echo-server -n 1 $P
sp=$last
if wait_for "$tmp/s11.out" "listening on port $P" &&
	timeout $TMO perl "$PL" stream-client $P "perl over a stream" \
		>"$tmp/c11.out" 2>&1 &&
	grep -q 'got back "perl over a stream"' "$tmp/c11.out" &&
	wait_exit $sp; then
	cport=$(port_in "$tmp/c11.out" "connected from")
	if grep -q "client from port $cport connected" "$tmp/s11.out"; then
		ok "perl connect/send/recv -> afx-echo-server"
	else
		not_ok "perl connect/send/recv -> afx-echo-server (client port)"
		show "$tmp/s11.out" "$tmp/c11.out"
	fi
else
	not_ok "perl connect/send/recv -> afx-echo-server"
	show "$tmp/s11.out" "$tmp/s11.err" "$tmp/c11.out"
fi

# --- 12. afx-echo-client -> perl stream-server ---------------------------------
P=33012
bg s12 perl "$PL" stream-server $P 1
sp=$last
if wait_for "$tmp/s12.out" "ready on port $P" &&
	timeout $TMO afx-echo-client $P one two three >"$tmp/c12.out" 2>&1 &&
	wait_exit $sp; then
	cport=$(port_in "$tmp/c12.out" "connected to port $P from")
	if grep -q "echoed 11 bytes to port $cport addr $ADDR_LOCAL" "$tmp/s12.out"; then
		ok "afx-echo-client -> perl listen/accept echo (accept address)"
	else
		not_ok "afx-echo-client -> perl listen/accept echo (accept address)"
		show "$tmp/s12.out" "$tmp/c12.out"
	fi
else
	not_ok "afx-echo-client -> perl listen/accept echo"
	show "$tmp/s12.out" "$tmp/s12.err" "$tmp/c12.out"
fi

# --- 13. socat SOCKET-CONNECT -> perl stream-server ----------------------------
P=33013
bg s13 perl "$PL" stream-server $P 1
sp=$last
if wait_for "$tmp/s13.out" "ready on port $P" &&
	printf 'socat to perl' |
	timeout $TMO socat -t 5 - SOCKET-CONNECT:$FAM:0:$(sx $P) \
		>"$tmp/c13.out" 2>"$tmp/c13.err" &&
	[ "$(cat "$tmp/c13.out")" = "socat to perl" ] && wait_exit $sp &&
	grep -q "echoed 13 bytes" "$tmp/s13.out"; then
	ok "socat SOCKET-CONNECT -> perl listen/accept echo"
else
	not_ok "socat SOCKET-CONNECT -> perl listen/accept echo"
	show "$tmp/s13.out" "$tmp/s13.err" "$tmp/c13.out" "$tmp/c13.err"
fi

# --- 14. broadcast: socat sender, perl and socat receivers share the port -----
P=33014
bg r14a perl "$PL" dgram-recv -r $P 1
rpa=$last
bg r14b socat -d -d -u \
	SOCKET-RECV:$FAM:$SOCK_DGRAM:0:$(sx $P $ADDR_ANY),reuseaddr=1 STDOUT
rpb=$last
if wait_for "$tmp/r14a.out" "ready on port $P" &&
	wait_for "$tmp/r14b.err" "starting data transfer loop" &&
	printf 'to everyone' |
	timeout $TMO socat -u - \
		SOCKET-DATAGRAM:$FAM:$SOCK_DGRAM:0:$(sx $P $ADDR_BROADCAST),broadcast=1 \
		2>"$tmp/c14.err" &&
	wait_exit $rpa && wait_for "$tmp/r14b.out" "to everyone" &&
	grep -q '11 bytes from .*"to everyone"' "$tmp/r14a.out"; then
	ok "socat broadcast -> perl and socat SO_REUSEADDR receivers both get it"
else
	not_ok "socat broadcast -> perl and socat SO_REUSEADDR receivers both get it"
	show "$tmp/r14a.out" "$tmp/r14a.err" "$tmp/r14b.out" "$tmp/r14b.err" \
		"$tmp/c14.err"
fi
kill $rpb 2>/dev/null

# --- 15. broadcast without SO_BROADCAST: socat gets EACCES -------------------
P=33015
if printf 'x' | timeout $TMO socat -u - \
	SOCKET-DATAGRAM:$FAM:$SOCK_DGRAM:0:$(sx $P $ADDR_BROADCAST) \
	2>"$tmp/c15.err"; then
	not_ok "socat broadcast without SO_BROADCAST fails (EACCES)"
elif grep -q "Permission denied" "$tmp/c15.err"; then
	ok "socat broadcast without SO_BROADCAST fails (EACCES)"
else
	not_ok "socat broadcast without SO_BROADCAST fails (EACCES)"
	show "$tmp/c15.err"
fi

# --- 16. nobody there: ECONNREFUSED for socat and perl ------------------------
P=33016
if printf 'x' | timeout $TMO socat -t 1 - SOCKET-CONNECT:$FAM:0:$(sx $P) \
	>/dev/null 2>"$tmp/c16.err"; then
	not_ok "socat SOCKET-CONNECT to a free port: connection refused"
elif grep -q "Connection refused" "$tmp/c16.err"; then
	ok "socat SOCKET-CONNECT to a free port: connection refused"
else
	not_ok "socat SOCKET-CONNECT to a free port: connection refused"
	show "$tmp/c16.err"
fi
if timeout $TMO perl "$PL" refused $P >"$tmp/c16.out" 2>&1; then
	ok "perl connect and send to a free port: ECONNREFUSED"
else
	not_ok "perl connect and send to a free port: ECONNREFUSED"
	show "$tmp/c16.out"
fi

# --- 17. socat SOCKET-DATAGRAM to a free port: refused, not lost ---------------
if printf 'x' | timeout $TMO socat -u - \
	SOCKET-DATAGRAM:$FAM:$SOCK_DGRAM:0:$(sx $P) 2>"$tmp/c17.err"; then
	not_ok "socat SOCKET-DATAGRAM to a free port: connection refused"
elif grep -q "Connection refused" "$tmp/c17.err"; then
	ok "socat SOCKET-DATAGRAM to a free port: connection refused"
else
	not_ok "socat SOCKET-DATAGRAM to a free port: connection refused"
	show "$tmp/c17.err"
fi

tap_end
