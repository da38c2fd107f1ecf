#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# afx_run_real.sh - real servers and clients from Debian, unmodified,
# talking over AF_X under afx-run(1): Redis (redis-server with redis-cli
# and redis-benchmark), nginx serving files to curl (keep-alive and not,
# a file large enough for sendfile), iperf3, and Python's http.server
# with urllib. Each check looks at what
# the program printed and at /proc/net/afx and /proc/net/tcp: the
# listener must be on AF_X and not on TCP.
#
# Runs in the test VM as root with afx.ko loaded; the programs come from
# the host (scripts/deps.sh installs them, scripts/mkinitramfs.sh copies
# them in). Prints TAP. Servers are waited for by polling /proc (bounded).

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=selftests/lib/afx_lib.sh
# (installed the kselftest way, it sits next to the script)
if [ -r "$here/lib/afx_lib.sh" ]; then . "$here/lib/afx_lib.sh"; else . "$here/afx_lib.sh"; fi
for d in "${AFX_BUILD:-}" "$here/../build" /afx/build; do
	if [ -n "$d" ] && [ -x "$d/afx-run" ]; then
		PATH=$d:$PATH
		break
	fi
done
export PATH
tmp=$(mktemp -d /tmp/afx-real.XXXXXX) || exit 1

cleanup() {
	bg_reap
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# listening PORT: an AF_X stream listener on PORT, and no TCP (IPv4) one
listening() {
	awk -v p="$1" 'NR > 1 && $1 == "0001" && $2 == "0A" && $3 ~ (":" p "$") { f = 1 }
		END { exit !f }' /proc/net/afx || return 1
	hex=$(printf '%04X' "$1")
	! awk -v h="$hex" 'NR > 1 && $2 ~ (":" h "$") && $4 == "0A" { f = 1 }
		END { exit !f }' /proc/net/tcp
}

# wait_listening PORT: poll (bounded, 20 s) until listening PORT
wait_listening() {
	poll_until 20 listening "$1" && return 0
	echo "# no AF_X listener on port $1:"
	sed 's/^/# afx: /' /proc/net/afx
	return 1
}

# afx_conns PORT MIN: at least MIN AF_X stream sockets are connected to
# or from PORT
afx_conns() {
	awk -v p="$1" -v min="$2" 'NR > 1 && $1 == "0001" && $2 == "01" && ($3 ~ (":" p "$") || $4 ~ (":" p "$")) { c++ }
		END { exit !(c >= min) }' /proc/net/afx
}

if [ ! -d /sys/module/afx ]; then
	echo "1..0 # SKIP afx.ko is not loaded"
	exit 4
fi
missing=""
for tool in afx-run redis-server redis-cli redis-benchmark nginx curl iperf3 python3; do
	command -v "$tool" >/dev/null || missing="$missing $tool"
done
if [ -n "$missing" ]; then
	# scripts/deps.sh installs them and mkinitramfs.sh copies them in.
	echo "not ok 1 programs in the guest (missing:$missing)"
	echo "1..1"
	exit 1
fi

# --- Redis --------------------------------------------------------------------------
# The default bind is "127.0.0.1 -::1": the IPv4 one takes AF_X port 6379,
# the IPv6 one stays on TCP (afx-run(1), dual-stack servers).
bg redis afx-run -- redis-server --port 6379 --save '' --appendonly no \
	--dir "$tmp" --daemonize no --logfile ''
redis=$last
if wait_listening 6379; then
	ok "redis-server listens on AF_X port 6379, not on TCP"
	check "redis-cli SET over AF_X" \
		sh -c "[ \"\$(afx-run -- redis-cli -p 6379 set afx works)\" = OK ]"
	check "redis-cli GET reads it back" \
		sh -c "[ \"\$(afx-run -- redis-cli -p 6379 get afx)\" = works ]"
	afx-run -- redis-benchmark -p 6379 -t ping,set,get -n 2000 -c 4 -q \
		>"$tmp/bench.out" 2>&1
	check "redis-benchmark PING, SET, GET over AF_X: exit 0, every test ran" \
		sh -c "[ $? -eq 0 ] && [ \$(grep -c 'requests per second' '$tmp/bench.out') -ge 4 ]"
	afx-run -- redis-benchmark -p 6379 -t set,get -n 4000 -c 4 -P 16 -q \
		>"$tmp/benchp.out" 2>&1
	check "redis-benchmark pipelined (-P 16) over AF_X" \
		sh -c "[ $? -eq 0 ] && [ \$(grep -c 'requests per second' '$tmp/benchp.out') -ge 2 ]"
	sed 's/^/# /' "$tmp/bench.out" "$tmp/benchp.out" | tr '\r' '\n' | grep 'per second'
	# While a client holds a connection, both ends are AF_X sockets.
	bg hold afx-run -- redis-cli -p 6379 blpop nothing 10
	hold=$last
	check "a redis-cli connection is a pair of AF_X sockets" \
		poll_until 10 afx_conns 6379 2
	kill "$hold" 2>/dev/null
	afx-run -- redis-cli -p 6379 shutdown nosave >/dev/null 2>&1
	wait_exit "$redis"
	check "redis-server shuts down cleanly (exit 0)" sh -c "[ $? -eq 0 ]"
else
	not_ok "redis-server listens on AF_X port 6379, not on TCP"
	show "$tmp/redis.out" "$tmp/redis.err"
fi

# --- nginx and curl -----------------------------------------------------------------------
www=$tmp/ngx/www
mkdir -p "$www"
echo "small file" >"$www/small.txt"
echo "second file" >"$www/second.txt"
head -c 3000000 /dev/urandom >"$www/big.bin"
nginx_conf "$tmp/ngx" 127.0.0.1:8080 >"$tmp/nginx.conf"
bg nginx afx-run -- nginx -e "$tmp/ngx/error.log" -p "$tmp/ngx" -c "$tmp/nginx.conf"
nginx=$last
if wait_listening 8080; then
	ok "nginx listens on AF_X port 8080, not on TCP"
	afx-run -- curl -sS -o "$tmp/small.got" http://127.0.0.1:8080/small.txt
	check "curl gets a file from nginx over AF_X" cmp -s "$www/small.txt" "$tmp/small.got"
	afx-run -- curl -sS -o "$tmp/big.got" http://127.0.0.1:8080/big.bin
	check "curl gets 3 MB (nginx sends it with sendfile) whole" \
		cmp -s "$www/big.bin" "$tmp/big.got"
	afx-run -- curl -sS -v -o "$tmp/k1" http://127.0.0.1:8080/small.txt \
		-o "$tmp/k2" http://127.0.0.1:8080/second.txt 2>"$tmp/keep.err"
	check "HTTP/1.1 keep-alive: two files over one AF_X connection" \
		sh -c "cmp -s '$www/small.txt' '$tmp/k1' && cmp -s '$www/second.txt' '$tmp/k2' &&
		       grep -qi 're-using existing connection' '$tmp/keep.err'"
	afx-run -- curl -sS -0 -H 'Connection: close' -o "$tmp/c1" \
		http://127.0.0.1:8080/second.txt
	check "HTTP/1.0 with Connection: close" cmp -s "$www/second.txt" "$tmp/c1"
	curl -sS -o /dev/null http://127.0.0.1:8080/small.txt 2>"$tmp/tcp.err"
	check "curl without afx-run gets no answer on TCP port 8080" \
		sh -c "[ $? -ne 0 ]"
	kill "$nginx" 2>/dev/null
	wait_exit "$nginx"
	check "nginx logged no error" sh -c "! grep -q '\\[\\(error\\|crit\\|alert\\|emerg\\)\\]' '$tmp/ngx/error.log'"
	show "$tmp/ngx/error.log"
else
	not_ok "nginx listens on AF_X port 8080, not on TCP"
	show "$tmp/nginx.err" "$tmp/ngx/error.log"
fi

# --- iperf3 -----------------------------------------------------------------------------
bg iperf afx-run -- iperf3 -s -p 5201 -1
iperf=$last
if wait_listening 5201; then
	ok "iperf3 -s listens on AF_X port 5201, not on TCP"
	afx-run -- iperf3 -c 127.0.0.1 -p 5201 -t 1 -J >"$tmp/iperf.json" 2>"$tmp/iperfc.err"
	rc=$?
	bytes=$(sed -n '/"sum_received"/,/}/s/.*"bytes":[[:space:]]*\([0-9]*\).*/\1/p' \
		"$tmp/iperf.json" | head -n 1)
	check "iperf3 -c: a 1 s run over AF_X, exit 0, bytes received" \
		sh -c "[ $rc -eq 0 ] && [ '${bytes:-0}' -gt 0 ]"
	echo "# iperf3 received ${bytes:-0} bytes in 1 s"
	wait_exit "$iperf"
	check "iperf3 -s -1 exits 0 after the test" sh -c "[ $? -eq 0 ]"
	show "$tmp/iperfc.err"
else
	not_ok "iperf3 -s listens on AF_X port 5201, not on TCP"
	show "$tmp/iperf.err"
fi

# --- Python: http.server and urllib -------------------------------------------------------
bg py afx-run -- python3 -m http.server 8000 --bind 127.0.0.1 --directory "$www"
py=$last
if wait_listening 8000; then
	ok "python3 -m http.server listens on AF_X port 8000, not on TCP"
	afx-run -- python3 -c '
import sys, urllib.request
with urllib.request.urlopen("http://127.0.0.1:8000/small.txt", timeout=20) as r:
    sys.stdout.write(r.read().decode())
' >"$tmp/py.got" 2>"$tmp/pyc.err"
	check "urllib.request fetches a file from it over AF_X" \
		cmp -s "$www/small.txt" "$tmp/py.got"
	check "http.server logged the request from 127.0.0.1" \
		grep -q '^127\.0\.0\.1 .*"GET /small.txt HTTP/1.1" 200' "$tmp/py.err"
	kill "$py" 2>/dev/null
	show "$tmp/pyc.err"
else
	not_ok "python3 -m http.server listens on AF_X port 8000, not on TCP"
	show "$tmp/py.out" "$tmp/py.err"
fi

tap_end
