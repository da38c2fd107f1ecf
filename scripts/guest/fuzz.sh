#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Fuzzing inside the debug-kernel VM (run by scripts/guest/debug-check.sh
# after the selftests and before its kmemleak scan and kernel-log check,
# which therefore cover the fuzzing too). `make check` runs it bounded,
# `make fuzz` (scripts/fuzz.sh) as long as asked.
#
#   1. trinity, as user nobody, restricted to the socket syscalls and to
#      AF_X's family (afx loaded as family 30 and -P TIPC; see below
#      why), half of the time
#   2. afx-fuzz (tools/afx-fuzz.c) as user nobody in the initial network
#      namespace, a quarter of the time
#   3. afx-fuzz as root in a fresh network namespace, a quarter
#   then: no AF_X socket left after the fuzzers exit, rmmod afx, and no
#   KASAN/lockdep/UBSAN/WARNING/BUG/hung-task report in the kernel log
#   since fuzzing started.
#
# A fuzzer run passes when it exits cleanly (afx-fuzz: no broken
# invariant, no hung call) and was not vacuous: trinity must have made
# AF_X sockets (distinct inodes seen in /proc/net/afx, sampled; the
# change of /proc/net/afx_stat is shown too); afx-fuzz must report
# sockets created.
#
# Kernel command line (environment): afx_fuzz_seconds (total, default
# 120; 0: no fuzzing), afx_fuzz_seed (default: random; printed), afx_fuzz_trinity and
# afx_fuzz_trinity_probe (see trinity below), afx_only (as for
# check.sh: fuzzing runs when it is unset or a word of it is in "fuzz").
# Results: "AFX-RESULT: STATUS fuzz: ..." lines, also appended to
# /tmp/afx-results for debug-check.sh's summary; figures in
# "AFX-FUZZ: ..." lines.

. /afx/scripts/guest/lib.sh

secs=${afx_fuzz_seconds:-120}
seed=${afx_fuzz_seed:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
results=/tmp/afx-results
work=/tmp/fuzz
nobody=65534

# afx_fuzz_seconds=0: no fuzzing in this run (the 6.12 debug lane's
# default, scripts/lane.sh).
if [ "$secs" = 0 ]; then
	echo "=== fuzz: not in this lane (afx_fuzz_seconds=0)"
	exit 0
fi

if [ -n "${afx_only:-}" ]; then
	hit=0
	for w in $(echo "$afx_only" | tr ',' ' '); do
		# shellcheck disable=SC2194 # the step's name is "fuzz"
		case fuzz in *"$w"*) hit=1 ;; esac
	done
	[ "$hit" = 1 ] || exit 0
fi

# record STATUS NAME
record() {
	printf '%s\tfuzz: %s\n' "$1" "$2" >>"$results"
	echo "AFX-RESULT: $1 fuzz: $2"
}

# $as_nobody CMD...: run CMD as uid/gid 65534, no supplementary group.
mkdir -p "$work"
as_nobody=$work/as-nobody
cat >"$as_nobody" <<'EOF'
#!/usr/bin/perl
use POSIX;
$) = "65534 65534";
POSIX::setgid(65534);
POSIX::setuid(65534);
$> == 65534 && $< == 65534 or die "as-nobody: setuid failed\n";
exec @ARGV or die "as-nobody: exec $ARGV[0]: $!\n";
EOF
chmod 755 "$as_nobody"

# stat_sum: the sum of /proc/net/afx_stat's counters.
stat_sum() {
	awk '{ s += $2 } END { print s + 0 }' /proc/net/afx_stat 2>/dev/null
}

# kill_uid UID: kill every process of UID (what a fuzzer left running).
kill_uid() {
	for p in /proc/[0-9]*; do
		[ "$(awk '/^Uid:/ { print $2 }' "$p/status" 2>/dev/null)" = "$1" ] &&
			kill -KILL "${p#/proc/}" 2>/dev/null
	done
}

# sockets_gone: wait up to 10 s until /proc/net/afx lists no socket.
sockets_gone() {
	i=0
	while [ "$(awk 'NR > 1' /proc/net/afx | wc -l)" -gt 0 ]; do
		i=$((i + 1))
		if [ $i -ge 20 ]; then
			echo "sockets left:"
			cat /proc/net/afx
			return 1
		fi
		sleep 0.5
	done
}

# unload_afx: rmmod afx, retrying while RCU frees the last socks.
unload_afx() {
	[ -d /sys/module/afx ] || return 0
	[ -d /sys/module/afx_diag ] && rmmod afx_diag
	i=0
	while ! rmmod afx 2>"$work/rmmod.err" || [ -d /sys/module/afx ]; do
		i=$((i + 1))
		if [ $i -ge 20 ]; then
			cat "$work/rmmod.err"
			echo "refcnt of afx: $(cat /sys/module/afx/refcnt 2>/dev/null)"
			return 1
		fi
		sleep 0.5
	done
}

# The sampler: inodes of every AF_X socket in /proc/net/afx, twice a
# second, so that a run can show it made sockets (trinity says nothing
# about the families it used).
sampler_start() {
	: >"$work/inodes"
	(
		while :; do
			awk 'NR > 1 && $NF != 0 { print $NF }' /proc/net/afx
			sleep 0.5
		done >>"$work/inodes" 2>/dev/null
	) &
	sampler=$!
}
sampler_stop() {
	kill "$sampler" 2>/dev/null
	wait "$sampler" 2>/dev/null
	sort -u "$work/inodes" | wc -l
}

echo
echo "=== fuzz: ${secs}s in all, seed $seed"
chmod 1777 "$work"
if ! load_afx; then
	record FAIL "insmod afx.ko"
	exit 0
fi
dmesg >"$work/dmesg-before"
start_lines=$(wc -l <"$work/dmesg-before")
t_trinity=$((secs / 2))
t_user=$((secs / 4))
t_root=$((secs - t_trinity - t_user))
# A stuck fuzzer: show the blocked tasks, then the host's timeout ends it.
(
	sleep $((secs + 300))
	echo "AFX-WATCHDOG: fuzzing still running after $((secs + 300))s; blocked tasks:"
	echo w >/proc/sysrq-trigger
	sleep 2
	dmesg | tail -n 150
) &
watchdog=$!

# --- 1. trinity -----------------------------------------------------------------
# trinity 2023.01 (Debian 12) and AF_X:
# - it names family 18 "ASH" (-P ASH) but will not make sockets of it by
#   itself: valid_proto() refuses ASH as "not actually implemented"; for
#   a family without a table of its own, its socket() calls get a
#   garbage type and its first sockets are never made.
# - its first sockets (the "sockets" fd provider, which then supplies
#   every fd argument) can come from trinity.socketcache in its working
#   directory: (family, type, protocol) triplets, which it opens as they
#   are. Written here: 50 of them, stream and datagram, a quarter with
#   SOCK_NONBLOCK.
# - even so it crashed itself (SIGSEGV, seed 1, while setting up those
#   sockets) with -P ASH (18), and also VSOCK (40), KCM (41), QIPCRTR (42), SMC
#   (43), IB (27); with -P TIPC (30) it runs. So afx is loaded with
#   family=30 for trinity (AF_TIPC's number; the debug kernel has no
#   TIPC, so it is free) and trinity runs -P TIPC: its socket() calls
#   then make stream and datagram sockets of it too, and its names are
#   16-byte struct sockaddr_tipc with family 30, which pass afx's family
#   check and carry random bytes where sockaddr_x has its port and
#   address. afx-fuzz below runs at family 18.
# - afx_fuzz_trinity=N:NAME: afx as family N, trinity -P NAME instead.
# - afx_fuzz_trinity_probe=N:NAME,...: only try each pair for 10 s and
#   print its figures (to choose a pair for another trinity).
tpair=${afx_fuzz_trinity:-30:TIPC}
calls="-c socket -c socketpair -c bind -c listen -c accept -c accept4
	-c connect -c getsockname -c getpeername -c sendto -c recvfrom
	-c sendmsg -c recvmsg -c sendmmsg -c recvmmsg -c setsockopt
	-c getsockopt -c shutdown -c ioctl -c poll -c read -c write
	-c splice -c close"

# run_trinity FAMILY NAME SECONDS: afx loaded as FAMILY, trinity -P NAME
# as nobody for SECONDS; sets rc, ncalls, created, socks, moved, and
# prints an AFX-FUZZ line.
run_trinity() {
	rc=-1 ncalls='' created='' socks=0 moved=0
	if ! unload_afx || ! insmod "$AFX_KO" family="$1"; then
		echo "insmod afx.ko family=$1 failed"
		return 1
	fi
	echo
	echo "=== fuzz: trinity -P $2 (afx as family $1), ${3}s as nobody, seed $seed"
	before=$(stat_sum)
	cp /proc/net/afx_stat "$work/stat-before"
	sampler_start
	rm -rf "$work/trinity"
	mkdir -p "$work/trinity"
	perl -e 'print pack("L*", map { ($ARGV[0], ($_ % 2 ? 1 : 2) |
		($_ % 4 == 3 ? 04000 : 0), 0) } 0 .. 49)' "$1" \
		>"$work/trinity/trinity.socketcache"
	chown -R "$nobody:$nobody" "$work/trinity"
	# SIGINT when the time is up: trinity stops its children and
	# prints its statistics; SIGKILL 60 s later if it did not.
	# shellcheck disable=SC2086 # $calls is a list of options
	(cd "$work/trinity" && timeout -s KILL $(($3 + 60)) \
		timeout -s INT "$3" \
		"$as_nobody" trinity -P "$2" --enable-fds=sockets -C 4 \
			-s "$seed" -l off --stats $calls) >"$work/trinity.log" 2>&1
	rc=$?
	kill_uid $nobody
	socks=$(sampler_stop)
	after=$(stat_sum)
	moved=$((after - before))
	grep -v '^\[main\]  start:\|futex:\|Marking syscall\|is marked as AVOID' \
		"$work/trinity.log" | tail -n 90
	echo "afx_stat before / after:"
	paste "$work/stat-before" /proc/net/afx_stat |
		awk '{ printf "  %-24s %12s %12s\n", $1, $2, $4 }'
	ncalls=$(sed -n 's/.*Ran \([0-9]*\) syscalls.*/\1/p' "$work/trinity.log" | tail -n 1)
	created=$(sed -n 's/.* \([0-9]*\) sockets created based on.*/\1/p; s/.*created \([0-9]*\) sockets.*/\1/p' \
		"$work/trinity.log" | tail -n 1)
	echo "AFX-FUZZ: trinity domain=$2 family=$1 seed=$seed seconds=$3 exit=$rc calls=${ncalls:-?} initial_sockets=${created:-?} afx_sockets_seen=$socks afx_stat_moved=$moved"
}

if [ -n "${afx_fuzz_trinity_probe:-}" ]; then
	for pair in $(echo "$afx_fuzz_trinity_probe" | tr , " "); do
		run_trinity "${pair%%:*}" "${pair#*:}" 10
	done
	unload_afx
	exit 0
fi
if ! command -v trinity >/dev/null; then
	record FAIL "trinity: not in the initramfs (apt-get install trinity)"
elif ! run_trinity "${tpair%%:*}" "${tpair#*:}" "$t_trinity"; then
	record FAIL "trinity: insmod afx.ko family=${tpair%%:*}"
else
	if grep -q 'Domain unknown' "$work/trinity.log"; then
		record FAIL "trinity: does not know the domain ${tpair#*:} (see log)"
	elif [ "$socks" -eq 0 ]; then
		record FAIL "trinity: vacuous: no AF_X socket seen in /proc/net/afx (exit $rc)"
	elif [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]; then
		record FAIL "trinity: exit status $rc (see log)"
	else
		record PASS "trinity -P ${tpair#*:}, ${t_trinity}s, seed $seed: ${ncalls:-?} calls, $socks AF_X sockets seen"
	fi
	if sockets_gone; then
		record PASS "trinity: no AF_X socket left after it exited"
	else
		record FAIL "trinity: AF_X sockets left after every process exited"
	fi
	if unload_afx; then
		record PASS "trinity: rmmod afx after it"
	else
		record FAIL "trinity: rmmod afx after it"
	fi
fi
unload_afx
if ! load_afx; then
	record FAIL "insmod afx.ko after trinity"
	exit 0
fi

# --- 2. afx-fuzz as nobody ---------------------------------------------------------
# run_afx_fuzz LABEL SECONDS WRAPPER...: run afx-fuzz under WRAPPER.
run_afx_fuzz() {
	label=$1
	t=$2
	shift 2
	echo
	echo "=== fuzz: afx-fuzz, $label, ${t}s, seed $seed"
	timeout -s KILL $((t + 120)) "$@" afx-fuzz -s "$seed" -t "$t" -j 4 -P 2 \
		>"$work/afx-fuzz.log" 2>&1
	rc=$?
	cat "$work/afx-fuzz.log"
	line=$(grep '^afx-fuzz: seed=.*calls=' "$work/afx-fuzz.log" | tail -n 1)
	nsock=$(echo "$line" | sed -n 's/.* sockets=\([0-9]*\).*/\1/p')
	ncalls=$(echo "$line" | sed -n 's/.* calls=\([0-9]*\).*/\1/p')
	echo "AFX-FUZZ: afx-fuzz $label seed=$seed seconds=$t exit=$rc calls=${ncalls:-?} sockets=${nsock:-?}"
	case $rc in
	0)
		if [ "${nsock:-0}" -gt 0 ]; then
			record PASS "afx-fuzz $label, ${t}s, seed $seed: $ncalls calls, $nsock sockets"
		else
			record FAIL "afx-fuzz $label: vacuous, no socket created"
		fi
		;;
	1) record FAIL "afx-fuzz $label, seed $seed: broken invariant (see VIOLATION lines)" ;;
	3) record FAIL "afx-fuzz $label, seed $seed: a call hung (see HUNG lines)" ;;
	*) record FAIL "afx-fuzz $label, seed $seed: exit status $rc" ;;
	esac
}

if [ ! -x /afx/build/afx-fuzz ]; then
	record FAIL "afx-fuzz: /afx/build/afx-fuzz missing (make userspace)"
else
	cp /proc/net/afx_stat "$work/stat-before"
	run_afx_fuzz "as nobody" "$t_user" "$as_nobody"
	kill_uid $nobody
	echo "afx_stat before / after:"
	paste "$work/stat-before" /proc/net/afx_stat | awk '{ printf "  %-24s %12s %12s\n", $1, $2, $4 }'
	if sockets_gone; then
		record PASS "afx-fuzz as nobody: no AF_X socket left after it exited"
	else
		record FAIL "afx-fuzz as nobody: AF_X sockets left after it exited"
	fi

	# --- 3. afx-fuzz as root in a network namespace of its own ------------------
	seed=$((seed + 1))
	run_afx_fuzz "as root in a new netns" "$t_root" unshare -n
fi

kill "$watchdog" 2>/dev/null

# --- afx unloads: every socket and sock of the fuzzers is gone ------------------------
if unload_afx; then
	record PASS "rmmod afx after fuzzing"
else
	record FAIL "rmmod afx after fuzzing"
fi

# --- the kernel log of the fuzzing -------------------------------------------------------
bad='BUG:|WARNING:|KASAN|UBSAN|kmemleak: .*suspected|Oops|general protection|Kernel panic|refcount_t|possible circular locking|possible recursive locking|inconsistent lock state|lock held when returning|held lock freed|DEBUG_LOCKS_WARN_ON|sleeping function called from invalid context|list_(add|del) corruption|ODEBUG|Call Trace|blocked for more than|soft lockup|hard LOCKUP|rcu_sched self-detected|rcu: INFO'
dmesg >"$work/dmesg-after"
tail -n +"$((start_lines + 1))" "$work/dmesg-after" >"$work/dmesg-fuzz"
if grep -E "$bad" "$work/dmesg-fuzz" >"$work/dmesg-bad"; then
	echo "--- kernel log during fuzzing:"
	cat "$work/dmesg-fuzz"
	echo "--- matching lines:"
	cat "$work/dmesg-bad"
	record FAIL "kernel log clean during fuzzing (KASAN, lockdep, UBSAN, WARNING, hung task)"
else
	record PASS "kernel log clean during fuzzing (KASAN, lockdep, UBSAN, WARNING, hung task)"
fi
exit 0
