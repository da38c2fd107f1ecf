#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# bench/real.sh - real programs over TCP loopback, AF_UNIX and AF_X, in
# one guest boot (run by scripts/guest/bench.sh after afx-bench).
#
#   Redis: redis-server with redis-benchmark -t ping,set,get, -c 4, plain
#     and pipelined (-P 16); over TCP (127.0.0.1:6379), over AF_UNIX
#     (redis's own unixsocket) and over AF_X (both under afx-run).
#     Requests/s as redis-benchmark reports them.
#   nginx + curl: one curl fetching a 1 KiB file REQS times from nginx,
#     with HTTP/1.1 keep-alive (one connection) and with Connection: close
#     (a connection each); over TCP, AF_UNIX (nginx's unix: listener,
#     curl --unix-socket) and AF_X (afx-run). Requests/s from the guest's
#     clock around the curl run.
#
# Writes CSV lines "mode,program,workload,transport,metric,value" to the
# file given as $1; what the programs print goes to stdout. Exit status 1
# if a run failed (its row is then missing).
#
# Environment: AFX_REAL_REQS (redis-benchmark -n, default 20000; curl
# fetches a quarter of it), AFX_REAL_MODE (the mode column).

here=$(cd "$(dirname "$0")" && pwd)
# poll_until, nginx_conf
# shellcheck source=selftests/lib/afx_lib.sh
. "$here/../selftests/lib/afx_lib.sh"
out=${1:?usage: real.sh OUT.csv}
mode=${AFX_REAL_MODE:-local}
reqs=${AFX_REAL_REQS:-20000}
creqs=$((reqs / 4))
tmp=$(mktemp -d /tmp/afx-real-bench.XXXXXX) || exit 1
rc=0
: >"$out"

now() { cut -d' ' -f1 /proc/uptime; }

row() { echo "$mode,$1,$2,$3,$4,$5" >>"$out"; }

# stop PID: end a server and wait for it
stop() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

for tool in redis-server redis-benchmark redis-cli nginx curl afx-run; do
	if ! command -v "$tool" >/dev/null; then
		echo "real.sh: $tool missing"
		exit 1
	fi
done

# --- Redis ------------------------------------------------------------------------
# redis_run TRANSPORT: the server and the two benchmarks over TRANSPORT.
redis_run() {
	t=$1
	case $t in
	tcp)	pre="" ; cli="-p 6379"
		redis-server --port 6379 --save "" --appendonly no --dir "$tmp" \
			--logfile "" >/dev/null 2>&1 &
		;;
	unix)	pre="" ; cli="-s $tmp/redis.sock"
		redis-server --port 0 --unixsocket "$tmp/redis.sock" --save "" \
			--appendonly no --dir "$tmp" --logfile "" >/dev/null 2>&1 &
		;;
	afx)	pre="afx-run --" ; cli="-p 6379"
		afx-run -- redis-server --port 6379 --save "" --appendonly no \
			--dir "$tmp" --logfile "" >/dev/null 2>&1 &
		;;
	esac
	srv=$!
	# shellcheck disable=SC2086 # word lists
	if ! poll_until 20 $pre redis-cli $cli ping; then
		echo "real.sh: redis-server over $t did not answer"
		stop "$srv"
		rc=1
		return
	fi
	for p in 1 16; do
		# shellcheck disable=SC2086
		$pre redis-benchmark $cli -t ping,set,get -n "$reqs" -c 4 -P "$p" -q \
			>"$tmp/rb.out" 2>&1 || rc=1
		tr '\r' '\n' <"$tmp/rb.out" | grep 'requests per second' |
		while IFS= read -r l; do
			test=$(echo "$l" | sed -n 's/^\([A-Z_]*\): .*/\1/p' | tr 'A-Z' 'a-z')
			rps=$(echo "$l" | sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p')
			[ -n "$test" ] && [ -n "$rps" ] || continue
			echo "redis $t -P $p: $test $rps req/s"
			row redis "$test-P$p" "$t" req_s "$rps"
		done
	done
	# shellcheck disable=SC2086
	$pre redis-cli $cli shutdown nosave >/dev/null 2>&1
	wait "$srv" 2>/dev/null
}

for t in tcp unix afx; do
	redis_run "$t"
done

# --- nginx and curl ---------------------------------------------------------------
mkdir -p "$tmp/ngx/www"
head -c 1024 /dev/zero | tr '\0' x >"$tmp/ngx/www/k.txt"

# nginx_run TRANSPORT
nginx_run() {
	t=$1
	case $t in
	unix)	listen="unix:$tmp/ngx.sock"; pre=""
		url_pre="--unix-socket $tmp/ngx.sock" ;;
	afx)	listen="127.0.0.1:8080"; pre="afx-run --"; url_pre="" ;;
	*)	listen="127.0.0.1:8080"; pre=""; url_pre="" ;;
	esac
	nginx_conf "$tmp/ngx" "$listen" >"$tmp/nginx.conf"
	rm -f "$tmp/ngx.sock"
	# shellcheck disable=SC2086
	$pre nginx -e "$tmp/ngx/error.log" -p "$tmp/ngx" -c "$tmp/nginx.conf" \
		>/dev/null 2>&1 &
	srv=$!
	# shellcheck disable=SC2086
	if ! poll_until 20 $pre curl -sf $url_pre -o /dev/null "http://127.0.0.1:8080/k.txt"; then
		echo "real.sh: nginx over $t did not answer"
		stop "$srv"
		rc=1
		return
	fi
	for how in keepalive close; do
		hdr=""
		[ "$how" = close ] && hdr="Connection: close"
		start=$(now)
		# shellcheck disable=SC2086
		$pre curl -sf $url_pre ${hdr:+-H "$hdr"} -o /dev/null \
			"http://127.0.0.1:8080/k.txt?[1-$creqs]" >/dev/null || rc=1
		end=$(now)
		rps=$(awk -v n="$creqs" -v a="$start" -v b="$end" \
			'BEGIN { if (b > a) printf "%.1f", n / (b - a) }')
		echo "nginx $t $how: $creqs requests, $rps req/s"
		[ -n "$rps" ] && row nginx "$how" "$t" req_s "$rps"
	done
	stop "$srv"
}

for t in tcp unix afx; do
	nginx_run "$t"
done

rm -rf "$tmp"
exit "$rc"
