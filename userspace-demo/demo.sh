#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# demo.sh - run each AF_X demo program and narrate what happens.
#
# Meant for the QEMU guest (`make run` starts it after loading afx.ko), but
# it works in any busybox or POSIX-ish shell on a machine with the module
# loaded and the demo binaries on PATH (or in ../build next to this script).
# Exits 0 when every step worked, 1 otherwise.
#
#   demo.sh                 all demos
#   demo.sh echo discover   only those (echo, dgram, poll, discover, memfd)
#
# How the script knows a server is ready, without sleeping: each server
# prints a line such as "echo server: listening on port 7000" right after
# bind()/listen(). The server's stdout is a fifo that this script keeps open
# on fd 3, so reading that line waits exactly until the server is ready.
# The rest of the server's output is read the same way, ending with its
# "... exiting" line. If a server dies early the fifo reports end-of-file,
# and every read has a generous timeout (AFX_DEMO_TIMEOUT seconds) so a
# broken module makes the demo fail instead of hanging.

set -u

here=$(cd "$(dirname "$0")" && pwd)
PATH="$PATH:$here:$here/../build"
# afx_family (the family number afx registered), as every script reads it.
# shellcheck source=scripts/guest/lib.sh
. "$here/../scripts/guest/lib.sh"

TIMEOUT=${AFX_DEMO_TIMEOUT:-10}
WORK=${TMPDIR:-/tmp}/afx-demo.$$
FAILED=0
BGPIDS=""	# background programs not yet waited for

# Writing to a fifo whose reader died must not kill this script.
trap '' PIPE

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	for p in $BGPIDS; do
		kill "$p" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

title() { printf '\n======== %s ========\n' "$*"; }
say()   { printf '%s\n' "$*"; }
cmd()   { printf '$ %s\n' "$*"; }
ok()    { printf 'ok: %s\n' "$*"; }
fail()  { printf 'FAILED: %s\n' "$*"; FAILED=$((FAILED + 1)); }

# bg OUT CMD...: start CMD in the background with its stdout and stderr
# going to OUT; sets $pid.
bg() {
	out=$1
	shift
	"$@" >"$out" 2>&1 &
	pid=$!
	BGPIDS="$BGPIDS $pid"
}

# reap PID WHAT: wait for a background program, check it exited with 0.
reap() {
	wait "$1"
	rc=$?
	new=""
	for p in $BGPIDS; do
		[ "$p" = "$1" ] || new="$new $p"
	done
	BGPIDS=$new
	if [ "$rc" -eq 0 ]; then
		ok "$2 exited with status 0"
	else
		fail "$2 exited with status $rc"
	fi
}

# stop PID WHAT: something went wrong; kill a background program and reap it.
stop() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	new=""
	for p in $BGPIDS; do
		[ "$p" = "$1" ] || new="$new $p"
	done
	BGPIDS=$new
	say "(stopped $2)"
}

# expect PATTERN: show server output from fd 3 (prefixed with $PREFIX)
# until a line containing PATTERN. Fails on end-of-file or timeout.
expect() {
	# read -t: not POSIX, but busybox ash and bash have it.
	# shellcheck disable=SC3045
	while IFS= read -r -t "$TIMEOUT" line <&3; do
		printf '%s%s\n' "$PREFIX" "$line"
		case $line in
		*"$1"*) return 0 ;;
		esac
	done
	fail "no \"$1\" line from the server (it exited, or ${TIMEOUT}s passed)"
	return 1
}

# run PREFIX CMD...: run CMD, show its output prefixed, return its status.
run() {
	prefix=$1
	shift
	"$@" >"$WORK/run.out" 2>&1
	rc=$?
	while IFS= read -r line; do
		printf '%s%s\n' "$prefix" "$line"
	done <"$WORK/run.out"
	return "$rc"
}

# show_file PREFIX FILE
show_file() {
	while IFS= read -r line; do
		printf '%s%s\n' "$1" "$line"
	done <"$2"
}

# ---------------------------------------------------------------------------

demo_echo() {
	title "1. Stream sockets: echo server and client"
	say "afx-echo-server is the classic socket/bind/listen/accept server; it"
	say "echoes every byte back until the client closes. -n 2: exit after 2 clients."
	failed_before=$FAILED
	PREFIX="  [server] "
	mkfifo "$WORK/echo.out" || { fail "mkfifo"; return; }

	cmd "afx-echo-server -n 2 7000 &"
	bg "$WORK/echo.out" afx-echo-server -n 2 7000
	server=$pid
	exec 3<"$WORK/echo.out"
	if ! expect "listening"; then
		stop "$server" "echo server"
		exec 3<&-
		return
	fi

	say ""
	say "A client sending two messages from its command line:"
	cmd "afx-echo-client 7000 hello 'AF_X stream sockets'"
	if run "  [client] " afx-echo-client 7000 hello "AF_X stream sockets"; then
		expect "disconnected"
	else
		fail "echo client with arguments"
	fi

	say ""
	say "A client sending the lines of its standard input:"
	cmd "printf 'line one\\nline two\\n' | afx-echo-client 7000"
	if printf 'line one\nline two\n' |
	   run "  [client] " afx-echo-client 7000; then
		expect "disconnected"
	else
		fail "echo client reading stdin"
	fi

	if [ "$FAILED" -eq "$failed_before" ] && expect "exiting"; then
		reap "$server" "echo server"
	else
		stop "$server" "echo server"
	fi
	exec 3<&-

	say ""
	say "Nobody listens on port 7099, so connect() fails at once:"
	cmd "afx-echo-client 7099 hello"
	if run "  [client] " afx-echo-client 7099 hello; then
		fail "connect to an unused port succeeded"
	elif grep -q "Connection refused" "$WORK/run.out"; then
		ok "connection refused, as expected"
	else
		fail "connect to an unused port: expected ECONNREFUSED"
	fi
}

demo_dgram() {
	title "2. Datagram sockets: receiver and sender"
	say "afx-dgram-recv binds a port and prints each datagram with the sender's"
	say "port; afx-dgram-send sends each argument as one datagram."
	failed_before=$FAILED
	PREFIX="  [receiver] "
	mkfifo "$WORK/dgram.out" || { fail "mkfifo"; return; }

	cmd "afx-dgram-recv -n 3 7001 &"
	bg "$WORK/dgram.out" afx-dgram-recv -n 3 7001
	receiver=$pid
	exec 3<"$WORK/dgram.out"
	if ! expect "listening"; then
		stop "$receiver" "datagram receiver"
		exec 3<&-
		return
	fi

	cmd "afx-dgram-send 7001 first 'second datagram' third"
	if ! run "  [sender] " afx-dgram-send 7001 first "second datagram" third; then
		fail "datagram sender"
	fi

	if [ "$FAILED" -eq "$failed_before" ] && expect "exiting"; then
		reap "$receiver" "datagram receiver"
	else
		stop "$receiver" "datagram receiver"
	fi
	exec 3<&-

	say ""
	say "Unlike UDP, a datagram to a port nobody bound is refused, not lost:"
	cmd "afx-dgram-send 7099 anyone"
	if run "  [sender] " afx-dgram-send 7099 anyone; then
		fail "sendto an unused port succeeded"
	elif grep -q "Connection refused" "$WORK/run.out"; then
		ok "connection refused, as expected"
	else
		fail "sendto an unused port: expected ECONNREFUSED"
	fi
}

demo_poll() {
	title "3. One poll() server, three clients at the same time"
	say "afx-poll-server makes its sockets nonblocking with the AF_X option"
	say "X_NONBLOCK and serves every client from one poll() loop."
	say "Each client's stdin is a fifo this script holds open, so all three stay"
	say "connected until the script has seen the server report 3 active clients."
	failed_before=$FAILED
	PREFIX="  [server] "
	mkfifo "$WORK/poll.out" "$WORK/in1" "$WORK/in2" "$WORK/in3" ||
		{ fail "mkfifo"; return; }

	cmd "afx-poll-server -n 3 7002 &"
	bg "$WORK/poll.out" afx-poll-server -n 3 7002
	server=$pid
	exec 3<"$WORK/poll.out"
	if ! expect "listening"; then
		stop "$server" "poll server"
		exec 3<&-
		return
	fi

	cmd "afx-echo-client 7002 < fifo1 &  (and likewise clients 2 and 3)"
	clients=""
	for i in 1 2 3; do
		# Not via bg(): a redirection on a function call would make this
		# shell itself open the fifo, and wait there for a writer.
		afx-echo-client 7002 <"$WORK/in$i" >"$WORK/c$i.out" 2>&1 &
		clients="$clients $!"
		BGPIDS="$BGPIDS $!"
	done
	# Opening the write ends lets each client start (opening a fifo waits
	# for the other end).
	exec 4>"$WORK/in1" 5>"$WORK/in2" 6>"$WORK/in3"

	if expect "(3 active)"; then
		say "(all three connected; now each sends two lines, interleaved)"
		echo "hello from client 1" >&4
		echo "hello from client 2" >&5
		echo "hello from client 3" >&6
		echo "bye from client 1" >&4
		echo "bye from client 2" >&5
		echo "bye from client 3" >&6
	fi
	exec 4>&- 5>&- 6>&-	# end of input: the clients shut down and exit

	i=0
	for cpid in $clients; do
		i=$((i + 1))
		reap "$cpid" "client $i"
		show_file "  [client $i] " "$WORK/c$i.out"
	done

	if [ "$FAILED" -eq "$failed_before" ] && expect "exiting"; then
		reap "$server" "poll server"
	else
		stop "$server" "poll server"
	fi
	exec 3<&-
}

demo_discover() {
	title "4. Broadcast discovery: who is there?"
	say "Three servers share port 7003 (SO_REUSEADDR). The asker broadcasts"
	say "\"WHO\" to {AFX_ADDR_BROADCAST, 7003} (needs SO_BROADCAST); every server"
	say "gets a copy and answers the asker directly."
	failed_before=$FAILED
	PREFIX="  [servers] "
	mkfifo "$WORK/disc.out" || { fail "mkfifo"; return; }

	servers=""
	for name in alpha beta gamma; do
		cmd "afx-discover serve -n 1 7003 $name &"
		bg "$WORK/disc.out" afx-discover serve -n 1 7003 "$name"
		servers="$servers $pid"
	done
	exec 3<"$WORK/disc.out"	# all three servers write to this one fifo
	for name in alpha beta gamma; do
		expect "waiting" || break
	done

	if [ "$FAILED" -eq "$failed_before" ]; then
		cmd "afx-discover ask 7003 500"
		if run "  [asker] " afx-discover ask 7003 500; then
			for name in alpha beta gamma; do
				grep -q "I AM $name\"" "$WORK/run.out" ||
					fail "no answer from $name"
			done
			n=$(grep -c "answer from port" "$WORK/run.out")
			[ "$n" -eq 3 ] || fail "expected 3 answers, got $n"
		else
			fail "afx-discover ask"
		fi
	fi

	# Each server exits after its one answer.
	if [ "$FAILED" -eq "$failed_before" ]; then
		for name in alpha beta gamma; do
			expect "exiting" || break
		done
	fi
	set -- alpha beta gamma
	for pid in $servers; do
		if [ "$FAILED" -eq "$failed_before" ]; then
			reap "$pid" "discovery server $1"
		else
			stop "$pid" "discovery server $1"
		fi
		shift
	done
	exec 3<&-
	[ "$FAILED" -eq "$failed_before" ] && ok "all three servers discovered"
}

demo_memfd() {
	title "5. Seqpacket and SCM_RIGHTS: a privilege-separated memfd service"
	say "afx-memfd serve answers each \"GET\" message on a seqpacket connection"
	say "with a sealed memory file, passed as a file descriptor (SCM_RIGHTS)."
	say "The client drops to uid 65534 before it asks: it gets the open file,"
	say "maps it, and cannot change it."
	failed_before=$FAILED
	PREFIX="  [server] "
	mkfifo "$WORK/memfd.out" || { fail "mkfifo"; return; }

	cmd "afx-memfd serve -n 1 7004 'configuration from the privileged side' &"
	bg "$WORK/memfd.out" afx-memfd serve -n 1 7004 \
		"configuration from the privileged side"
	server=$pid
	exec 3<"$WORK/memfd.out"
	if ! expect "listening"; then
		stop "$server" "memfd server"
		exec 3<&-
		return
	fi
	cmd "afx-memfd get -u 65534 7004"
	if run "  [client] " afx-memfd get -u 65534 7004 &&
	   grep -q "configuration from the privileged side" "$WORK/run.out" &&
	   grep -q "uid 65534" "$WORK/run.out"; then
		expect "sent a sealed file"
	else
		fail "memfd client"
	fi
	if [ "$FAILED" -eq "$failed_before" ] && expect "exiting"; then
		reap "$server" "memfd server"
	else
		stop "$server" "memfd server"
	fi
	exec 3<&-
}

# ---------------------------------------------------------------------------

for prog in afx-echo-server afx-echo-client afx-dgram-recv afx-dgram-send \
	    afx-poll-server afx-discover afx-memfd; do
	if ! command -v "$prog" >/dev/null 2>&1; then
		say "demo.sh: $prog not found (PATH=$PATH); build with 'make userspace'"
		exit 1
	fi
done

mkdir -p "$WORK" || exit 1

title "AF_X demos"
if fam=$(afx_family); then
	say "afx module loaded, address family $fam"
else
	say "demo.sh: /sys/module/afx not found: load the module first (insmod afx.ko)"
	exit 1
fi

# Run the demos named on the command line, or all of them.
[ $# -gt 0 ] || set -- echo dgram poll discover memfd
for demo in "$@"; do
	case $demo in
	echo) demo_echo ;;
	dgram) demo_dgram ;;
	poll) demo_poll ;;
	discover) demo_discover ;;
	memfd) demo_memfd ;;
	*) fail "unknown demo '$demo' (want echo, dgram, poll, discover or memfd)" ;;
	esac
done

echo
if [ "$FAILED" -eq 0 ]; then
	say "All AF_X demos worked."
	exit 0
fi
say "$FAILED AF_X demo step(s) FAILED."
exit 1
