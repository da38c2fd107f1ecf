# SPDX-License-Identifier: GPL-2.0
#
# afx_lib.sh - what the shell selftests (and bench/real.sh) share; sourced,
# POSIX sh. The C programs' counterpart is afx_lib.c.
#
#   ok DESC, not_ok DESC, skip DESC REASON
#                     one TAP result, numbered in $n (failures in $fails)
#   check DESC CMD... ok when CMD succeeds, else not_ok
#   diag TEXT...      each TEXT (of any number of lines) as TAP diagnostics,
#                     for what a not_ok found
#   tap_end           the plan; status 0 when nothing failed
#   show FILE...      non-empty files as TAP diagnostics
#   bg NAME CMD...    CMD in the background, output in $tmp/NAME.out and
#                     .err, its pid in $last; bg_reap kills and reaps them
#   wait_exit PID [S] wait (at most S seconds, default 10) for a background
#                     process: its exit status, 124 if it was still running
#                     (it is killed then)
#   poll_until S CMD... run CMD every 50 ms until it succeeds (status 0) or
#                     S seconds have passed (status 1): a bounded wait for
#                     a condition, never a fixed sleep
#   nginx_conf DIR LISTEN
#                     a minimal nginx configuration on stdout: no master
#                     process, as root, everything of its own under DIR
#                     (root DIR/www), listening on LISTEN
#
# The caller sets $tmp (a directory of its own) before bg.

n=0
fails=0
pids=""

ok() {
	n=$((n + 1))
	echo "ok $n $*"
}

not_ok() {
	n=$((n + 1))
	fails=$((fails + 1))
	echo "not ok $n $*"
}

skip() {
	n=$((n + 1))
	echo "ok $n $1 # SKIP $2"
}

check() {
	desc=$1
	shift
	if "$@"; then
		ok "$desc"
	else
		not_ok "$desc"
	fi
}

diag() {
	for text in "$@"; do
		printf '%s\n' "$text" | sed 's/^/#   /'
	done
}

tap_end() {
	echo "1..$n"
	[ "$fails" -eq 0 ]
}

show() {
	for f in "$@"; do
		[ -s "$f" ] || continue
		sed "s|^|# ${f##*/}: |" "$f"
	done
}

bg() {
	name=$1
	shift
	"$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null &
	last=$!
	pids="$pids $last"
}

bg_reap() {
	for p in $pids; do
		kill "$p" 2>/dev/null
	done
	for p in $pids; do
		wait "$p" 2>/dev/null
	done
}

wait_exit() {
	i=0
	while kill -0 "$1" 2>/dev/null; do
		# a zombie of ours still answers kill -0: check its state
		st=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null)
		[ "$st" = Z ] && break
		if [ $i -ge $((${2:-10} * 20)) ]; then
			kill "$1" 2>/dev/null
			wait "$1" 2>/dev/null
			return 124
		fi
		sleep 0.05
		i=$((i + 1))
	done
	wait "$1"
}

poll_until() {
	limit=$(($1 * 20))
	shift
	i=0
	while [ $i -lt $limit ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

nginx_conf() {
	cat <<EOF
daemon off;
master_process off;
user root;
pid $1/nginx.pid;
error_log $1/error.log;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path $1/body;
	proxy_temp_path $1/proxy;
	fastcgi_temp_path $1/fastcgi;
	uwsgi_temp_path $1/uwsgi;
	scgi_temp_path $1/scgi;
	types { text/plain txt; application/octet-stream bin; }
	sendfile on;
	keepalive_timeout 30;
	keepalive_requests 1000000;
	server { listen $2; root $1/www; }
}
EOF
}
