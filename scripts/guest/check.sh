#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make check`, inside the VM (/bin/sh, run by /init from /afx).
#
# 1. rig sanity (perl Socket/IO::Handle, socat, bash run)   1 test
# 2. insmod afx.ko                                          1 test
# 3. every /afx/build/*_test binary (from selftests/*_test.c), then every
#    /afx/selftests/*.sh, in name order (afx_only=word[,word]: only those
#    whose name contains a word, and from the other test programs the
#    kselftest harness tests a word names, as fixture[.variant].test or by
#    its last parts, e.g. test; they run alone, with -r NAME). Each prints
#    TAP; every `ok N` / `not ok N` line counts as one test (`# SKIP` -> skipped). A program
#    that prints no TAP line counts as one test by its exit status
#    (0 pass, 4 = KSFT_SKIP skip, else fail). Missing planned results,
#    results beyond the plan (or without one), a non-zero exit with no
#    failed case, or a timeout add one failure; a SKIP after a failed
#    assertion is a failure; a SKIP that selftests/expected-skips does not
#    list for this lane (stock or debug) is a failure.
# 4. kill leftovers, `rmmod afx`, /sys/module/afx gone      1 test
# 5. dmesg clean (no WARNING/BUG/Oops/... since boot)       1 test
#
# Every result is printed as it happens as `AFX-RESULT: PASS|FAIL|SKIP name`
# and at the end `AFX-SUMMARY: pass=N fail=N skip=N`; scripts/check.sh on
# the host parses those lines from the serial log.

. /afx/scripts/guest/lib.sh

test_timeout=${afx_test_timeout:-300}
# How long each race test loops (selftests/afx_race_test.c).
[ -n "${afx_race_seconds:-}" ] && export AFX_RACE_SECONDS="$afx_race_seconds"
only=$(echo "${afx_only:-}" | tr ',' ' ')
results=/tmp/afx-results
: >"$results"

# record STATUS NAME
record() {
	printf '%s\t%s\n' "$1" "$2" >>"$results"
	echo "AFX-RESULT: $1 $2"
}

# selected NAME: true unless afx_only= is set and NAME matches none of it.
selected() {
	[ -z "$only" ] && return 0
	for w in $only; do
		case "$1" in *"$w"*) return 0 ;; esac
	done
	return 1
}

# tests_named PROGRAM: the harness tests of PROGRAM (from PROGRAM -l) that
# a word of afx_only names: the whole name fixture[.variant].test, or its
# last parts (test, variant.test). One a line; nothing if none.
# Only programs built with AFX_TEST_MAIN (selftests/lib/afx_harness.h)
# take -l; their binary carries its marker string.
tests_named() {
	[ -n "$only" ] || return 0
	grep -q 'AFX_TEST_MAIN: -l -r -f' "$1" 2>/dev/null || return 0
	"$1" -l 2>/dev/null | while read -r tn; do
		for w in $only; do
			case "$tn" in
			"$w" | *."$w")
				echo "$tn"
				break
				;;
			esac
		done
	done
}

# run_test LABEL PROGRAM...: run one test program under a timeout in its
# own session (so stray background children can be killed afterwards),
# showing its output live, then record its results.
run_test() {
	label=$1
	shift
	out=/tmp/afx-test.out
	echo
	echo "=== $label"
	# If the program outlives its limit by 30 s it is stuck in the kernel
	# where SIGKILL cannot reach it: show where (the host timeout ends it).
	(
		sleep $((test_timeout + 30))
		echo "AFX-WATCHDOG: $label unkillable ${test_timeout}s + 30s; blocked tasks:"
		echo w >/proc/sysrq-trigger
		sleep 2
		dmesg | tail -n 150
	) &
	watchdog=$!
	t0=$(date +%s)
	(
		setsid sh -c 'echo $$ >/tmp/afx-test.pgid; exec "$@"' sh \
			timeout -s KILL "$test_timeout" "$@" </dev/null
		echo $? >/tmp/afx-test.rc
		kill -KILL -- "-$(cat /tmp/afx-test.pgid)" 2>/dev/null
	) 2>&1 | tee "$out"
	kill "$watchdog" 2>/dev/null
	rc=$(cat /tmp/afx-test.rc)
	echo "($label: $(($(date +%s) - t0))s)"
	parse_tap "$label" "$out" "$rc"
	# A test may unload afx to test rmmod; the next one needs it back.
	if [ ! -d /sys/module/afx ]; then
		echo "(afx was left unloaded by $label; loading it again)"
		load_afx || echo "(reloading afx failed)"
	fi
}

# --- 1. rig sanity ------------------------------------------------------------
if perl -e 'use Socket; use IO::Handle; 1' && socat -V >/dev/null &&
	bash -c 'true'; then
	record PASS "rig: perl Socket/IO::Handle, socat, bash usable"
else
	record FAIL "rig: perl Socket/IO::Handle, socat, bash usable"
fi

# --- 2. load the module -------------------------------------------------------
# Boot messages are not ours; start the kernel log afresh.
dmesg -c >/tmp/afx-boot-dmesg
if load_afx; then
	record PASS "insmod afx.ko"
	loaded=1
else
	record FAIL "insmod afx.ko"
	loaded=0
	dmesg | tail -n 20
fi

# --- 3. selftests -------------------------------------------------------------
if [ "$loaded" = 1 ]; then
	for t in /afx/build/*_test; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		name=${t#/afx/}
		if selected "$name"; then
			run_test "$name" "$t"
			continue
		fi
		# Or only the tests of it that afx_only names, alone.
		picked=$(tests_named "$t")
		[ -n "$picked" ] || continue
		set --
		for tn in $picked; do
			set -- "$@" -r "$tn"
		done
		run_test "$name" "$t" "$@"
	done
	for t in /afx/selftests/*.sh; do
		[ -f "$t" ] || continue
		name=${t#/afx/}
		selected "$name" || continue
		if [ -x "$t" ]; then
			run_test "$name" "$t"
		else
			run_test "$name" sh "$t"
		fi
	done
fi

# --- 4. unload ----------------------------------------------------------------
# Kill whatever the tests left behind (they may hold AF_X sockets), keeping
# init, this script and its ancestors; kernel threads have no cmdline.
echo
echo "=== rmmod afx"
keep=" 1 $$ $PPID "
for p in /proc/[0-9]*; do
	pid=${p#/proc/}
	case "$keep" in *" $pid "*) continue ;; esac
	# /proc files report size 0, so read the command line to tell.
	[ -n "$(tr -d '\0' <"$p/cmdline" 2>/dev/null)" ] &&
		kill -KILL "$pid" 2>/dev/null
done
if [ "$loaded" = 1 ]; then
	# Our other modules (afx_diag, ...) hold a reference on afx: unload
	# them first.
	for ko in /afx/*.ko; do
		m=$(basename "$ko" .ko | tr - _)
		[ "$m" != afx ] && [ -d "/sys/module/$m" ] && rmmod "$m"
	done
	# Sockets of killed processes are released asynchronously; retry.
	ok=0
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		if rmmod afx 2>/tmp/afx-rmmod.err && [ ! -d /sys/module/afx ]; then
			ok=1
			break
		fi
		sleep 1
	done
	if [ "$ok" = 1 ]; then
		record PASS "rmmod afx (/sys/module/afx gone)"
	else
		cat /tmp/afx-rmmod.err
		echo "refcnt: $(cat /sys/module/afx/refcnt 2>/dev/null)"
		echo "holders: $(ls /sys/module/afx/holders 2>/dev/null)"
		record FAIL "rmmod afx (/sys/module/afx gone)"
	fi
else
	record SKIP "rmmod afx (/sys/module/afx gone) (module never loaded)"
fi

# --- 5. kernel log --------------------------------------------------------------
echo
echo "=== dmesg"
pattern='WARNING:|BUG:|BUG |Oops|refcount_t|possible circular locking|INFO:|kmemleak|general protection|KASAN|UBSAN|Call Trace|list_(add|del) corruption|Kernel panic'
# Taint bits that mean trouble: D (die, 128), W (warning, 512),
# B (bad page, 32), L (soft lockup, 16384). O/E (out-of-tree, unsigned)
# are expected for afx.ko.
taint=$(cat /proc/sys/kernel/tainted)
bad_taint=$((taint & (32 | 128 | 512 | 16384)))
dmesg >/tmp/afx-dmesg
if grep -E "$pattern" /tmp/afx-dmesg >/tmp/afx-dmesg-bad || [ "$bad_taint" -ne 0 ]; then
	echo "kernel log since insmod (taint=$taint):"
	cat /tmp/afx-dmesg
	echo "--- matching lines:"
	cat /tmp/afx-dmesg-bad
	record FAIL "dmesg clean"
else
	echo "no warnings (taint=$taint); kernel log since insmod:"
	tail -n 20 /tmp/afx-dmesg
	record PASS "dmesg clean"
fi

# --- summary --------------------------------------------------------------------
pass=$(grep -c '^PASS' "$results")
fail=$(grep -c '^FAIL' "$results")
skip=$(grep -c '^SKIP' "$results")
echo
if [ "$fail" -gt 0 ]; then
	echo "Failed in the guest:"
	grep '^FAIL' "$results" | cut -f2- | sed 's/^/  - /'
fi
echo "AFX-SUMMARY: pass=$pass fail=$fail skip=$skip"
[ "$fail" -eq 0 ]
