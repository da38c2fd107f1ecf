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
for d in "${AFX_BUILD:-}" "$here/../build" /afx/build; do
	if [ -n "$d" ] && [ -x "$d/afx-run" ]; then
		PATH=$d:$PATH
		break
	fi
done
export PATH
tmp=$(mktemp -d /tmp/afx-real.XXXXXX) || exit 1
pids=""
n=0
fails=0

cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null
	done
	for p in $pids; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() {
	n=$((n + 1))
	echo "ok $n $*"
}

not_ok() {
	n=$((n + 1))
	fails=$((fails + 1))
	echo "not ok $n $*"
}

check() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

show() {
	for f in "$@"; do
		[ -s "$f" ] || continue
		tail -n 30 "$f" | sed "s|^|# ${f##*/}: |"
	done
}

bg() {
	name=$1
	shift
	"$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null &
	last=$!
	pids="$pids $last"
}

wait_exit() {
	i=0
	while kill -0 "$1" 2>/dev/null; do
		st=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null)
		[ "$st" = Z ] && break
		if [ $i -ge 400 ]; then
			kill "$1" 2>/dev/null
			wait "$1" 2>/dev/null
			return 124
		fi
		sleep 0.05
		i=$((i + 1))
	done
	wait "$1"
}

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
	i=0
	while [ $i -lt 400 ]; do
		listening "$1" && return 0
		sleep 0.05
		i=$((i + 1))
	done
	echo "# no AF_X listener on port $1:"
	sed 's/^/# afx: /' /proc/net/afx
	return 1
}

# afx_conns PORT: AF_X stream sockets connected to or from PORT
afx_conns() {
	awk -v p="$1" 'NR > 1 && $1 == "0001" && $2 == "01" && ($3 ~ (":" p "$") || $4 ~ (":" p "$")) { c++ }
		END { print c + 0 }' /proc/net/afx
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
	i=0
	while [ $i -lt 200 ] && [ "$(afx_conns 6379)" -lt 2 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	check "a redis-cli connection is a pair of AF_X sockets" \
		sh -c "[ $(afx_conns 6379) -ge 2 ]"
	kill "$hold" 2>/dev/null
	afx-run -- redis-cli -p 6379 shutdown nosave >/dev/null 2>&1
	wait_exit "$redis"
	check "redis-server shuts down cleanly (exit 0)" sh -c "[ $? -eq 0 ]"
else
	not_ok "redis-server listens on AF_X port 6379, not on TCP"
	show "$tmp/redis.out" "$tmp/redis.err"
fi

# --- nginx and curl -----------------------------------------------------------------------
mkdir -p "$tmp/www" "$tmp/ngx"
echo "small file" >"$tmp/www/small.txt"
echo "second file" >"$tmp/www/second.txt"
head -c 3000000 /dev/urandom >"$tmp/www/big.bin"
cat >"$tmp/nginx.conf" <<EOF
daemon off;
master_process off;
user root;
pid $tmp/ngx/nginx.pid;
error_log $tmp/ngx/error.log;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $tmp/ngx/body;
	proxy_temp_path $tmp/ngx/proxy;
	fastcgi_temp_path $tmp/ngx/fastcgi;
	uwsgi_temp_path $tmp/ngx/uwsgi;
	scgi_temp_path $tmp/ngx/scgi;
	types { text/plain txt; application/octet-stream bin; }
	sendfile on;
	keepalive_timeout 30;
	server {
		listen 127.0.0.1:8080;
		root $tmp/www;
	}
}
EOF
bg nginx afx-run -- nginx -e "$tmp/ngx/error.log" -p "$tmp/ngx" -c "$tmp/nginx.conf"
nginx=$last
if wait_listening 8080; then
	ok "nginx listens on AF_X port 8080, not on TCP"
	afx-run -- curl -sS -o "$tmp/small.got" http://127.0.0.1:8080/small.txt
	check "curl gets a file from nginx over AF_X" cmp -s "$tmp/www/small.txt" "$tmp/small.got"
	afx-run -- curl -sS -o "$tmp/big.got" http://127.0.0.1:8080/big.bin
	check "curl gets 3 MB (nginx sends it with sendfile) whole" \
		cmp -s "$tmp/www/big.bin" "$tmp/big.got"
	afx-run -- curl -sS -v -o "$tmp/k1" http://127.0.0.1:8080/small.txt \
		-o "$tmp/k2" http://127.0.0.1:8080/second.txt 2>"$tmp/keep.err"
	check "HTTP/1.1 keep-alive: two files over one AF_X connection" \
		sh -c "cmp -s '$tmp/www/small.txt' '$tmp/k1' && cmp -s '$tmp/www/second.txt' '$tmp/k2' &&
		       grep -qi 're-using existing connection' '$tmp/keep.err'"
	afx-run -- curl -sS -0 -H 'Connection: close' -o "$tmp/c1" \
		http://127.0.0.1:8080/second.txt
	check "HTTP/1.0 with Connection: close" cmp -s "$tmp/www/second.txt" "$tmp/c1"
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
bg py afx-run -- python3 -m http.server 8000 --bind 127.0.0.1 --directory "$tmp/www"
py=$last
if wait_listening 8000; then
	ok "python3 -m http.server listens on AF_X port 8000, not on TCP"
	afx-run -- python3 -c '
import sys, urllib.request
with urllib.request.urlopen("http://127.0.0.1:8000/small.txt", timeout=20) as r:
    sys.stdout.write(r.read().decode())
' >"$tmp/py.got" 2>"$tmp/pyc.err"
	check "urllib.request fetches a file from it over AF_X" \
		cmp -s "$tmp/www/small.txt" "$tmp/py.got"
	check "http.server logged the request from 127.0.0.1" \
		grep -q '^127\.0\.0\.1 .*"GET /small.txt HTTP/1.1" 200' "$tmp/py.err"
	kill "$py" 2>/dev/null
	show "$tmp/pyc.err"
else
	not_ok "python3 -m http.server listens on AF_X port 8000, not on TCP"
	show "$tmp/py.out" "$tmp/py.err"
fi

echo "1..$n"
[ "$fails" -eq 0 ]
