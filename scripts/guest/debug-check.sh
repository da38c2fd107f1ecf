#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The debug lane inside the VM (busybox sh, run by /init on the debug
# kernel of scripts/debug-kernel.sh: KASAN, lockdep, kmemleak, UBSAN,
# KUnit).
#
#   sh debug-check.sh kunit   the KUnit suites only (make kunit)
#   sh debug-check.sh debug   the KUnit suites, then every selftest
#                             (scripts/guest/check.sh), then a kmemleak scan
#                             and the kernel log (make check)
#
# KUnit: afx.ko is loaded, then afx_kunit.ko, whose suites run inside
# insmod (on 6.1 a module's suites run before its own module_init, hence a
# module of their own). The netns cases use the namespace of a helper
# process started here. Each suite's
# /sys/kernel/debug/kunit/<suite>/results is printed with every line
# prefixed "AFX-KTAP: ", the kernel log of the run with "AFX-KLOG: "; the
# host parses them (scripts/kunit-results.py, kunit.py parse), so no KUnit
# case is counted here.
#
# The lane's own checks are "AFX-RESULT: STATUS name" lines as in
# check.sh (in kunit mode only failed ones are printed: make kunit counts
# KUnit cases). The last line is "AFX-DEBUG-SUMMARY: pass=N fail=N skip=N"
# over this script's results and check.sh's.

. /afx/scripts/guest/lib.sh

mode=${1:-debug}
results=/tmp/afx-debug-results
: >"$results"
kmemleak=/sys/kernel/debug/kmemleak
# What the debug kernel reports and no afx run may cause. Leaks are the
# kmemleak report's business (below), not the log's.
bad='BUG:|WARNING:|KASAN|UBSAN|Oops|general protection|Kernel panic|refcount_t|possible circular locking|possible recursive locking|inconsistent lock state|lock held when returning|held lock freed|DEBUG_LOCKS_WARN_ON|sleeping function called from invalid context|list_(add|del) corruption|ODEBUG|Call Trace'

# record STATUS NAME (kunit mode: failures only)
record() {
	[ "$mode" = kunit ] && [ "$1" = PASS ] && return 0
	printf '%s\t%s\n' "$1" "$2" >>"$results"
	echo "AFX-RESULT: $1 $2"
}

# dmesg_check NAME FILE: FILE (a saved kernel log) has no report in it.
dmesg_check() {
	if grep -E "$bad" "$2" >/tmp/afx-debug-bad; then
		echo "--- kernel log ($1):"
		cat "$2"
		echo "--- matching lines:"
		cat /tmp/afx-debug-bad
		record FAIL "$1"
	else
		record PASS "$1"
	fi
}

# rmmod_wait MODULE: unload it, retrying while RCU frees the last socks.
rmmod_wait() {
	i=0
	while [ $i -lt 20 ]; do
		if rmmod "$1" 2>/tmp/afx-rmmod.err && [ ! -d "/sys/module/$1" ]; then
			return 0
		fi
		sleep 0.5
		i=$((i + 1))
	done
	cat /tmp/afx-rmmod.err
	echo "refcnt of $1: $(cat "/sys/module/$1/refcnt" 2>/dev/null)"
	return 1
}

echo
echo "=== debug lane: $(uname -r), mode $mode"
# Boot is not afx's business: forget what it logged and leaked, after
# showing anything alarming.
dmesg -c >/tmp/afx-boot-dmesg
if grep -E "$bad" /tmp/afx-boot-dmesg >/dev/null; then
	echo "(note: the debug kernel reported this while booting, before afx:)"
	grep -E -B2 -A20 "$bad" /tmp/afx-boot-dmesg | head -n 60
fi
# kmemleak must be on, or an empty report means nothing.
grep -i 'kmemleak' /tmp/afx-boot-dmesg
if [ -w "$kmemleak" ] && ! grep -qi 'kmemleak.*disabled' /tmp/afx-boot-dmesg &&
	echo scan >"$kmemleak" && echo clear >"$kmemleak"; then
	kmemleak_ok=1
else
	kmemleak_ok=0
	record FAIL "kmemleak unusable ($kmemleak missing or disabled)"
fi

# --- KUnit ----------------------------------------------------------------------
echo
echo "=== kunit: afx_kunit.ko"
# A process in a network namespace of its own, for the netns cases.
unshare -n sleep 100000 &
nspid=$!
i=0
while [ "$(readlink /proc/$nspid/ns/net)" = "$(readlink /proc/self/ns/net)" ] &&
	[ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done

kunit_ok=0
if ! load_afx; then
	record FAIL "kunit: insmod afx.ko"
	dmesg | tail -n 20
elif ! insmod /afx/afx_kunit.ko; then
	record FAIL "kunit: insmod afx_kunit.ko"
	dmesg | tail -n 40
else
	kunit_ok=1
fi
kill "$nspid" 2>/dev/null

if [ "$kunit_ok" = 1 ]; then
	nsuites=0
	for d in /sys/kernel/debug/kunit/afx_*; do
		[ -r "$d/results" ] || continue
		nsuites=$((nsuites + 1))
		sed 's/^/AFX-KTAP: /' "$d/results"
	done
	echo "kunit: $nsuites suite(s)"
	# The same run as the kernel logged it (see scripts/kunit-results.py).
	dmesg | sed 's/^/AFX-KLOG: /'
	[ "$nsuites" -gt 0 ] || record FAIL "kunit: no afx_* suite in /sys/kernel/debug/kunit"
	if rmmod_wait afx_kunit; then
		record PASS "kunit: rmmod afx_kunit"
	else
		record FAIL "kunit: rmmod afx_kunit"
	fi
fi
# Every socket the suites opened is gone: afx.ko unloads.
if [ -d /sys/module/afx ]; then
	if rmmod_wait afx; then
		record PASS "kunit: rmmod afx after the suites"
	else
		record FAIL "kunit: rmmod afx after the suites"
	fi
fi
dmesg -c >/tmp/afx-dmesg-kunit
dmesg_check "kunit: kernel log clean (KASAN, lockdep, UBSAN, ...)" /tmp/afx-dmesg-kunit

# --- every selftest, then leaks and the whole log ----------------------------------
if [ "$mode" = debug ]; then
	# The other transports' code is not afx's: bench_quick.sh runs
	# AF_X's alone here.
	AFX_BENCH_QUICK_TRANSPORTS=afx-stream,afx-dgram,afx-seqpacket \
		sh /afx/scripts/guest/check.sh
	# Fuzzing (trinity, afx-fuzz): before the kmemleak scan and the
	# kernel-log check below, which cover it.
	sh /afx/scripts/guest/fuzz.sh
	echo
	echo "=== debug: kmemleak"
	if [ -d /sys/module/afx ]; then
		rmmod_wait afx || echo "(afx still loaded: its memory is not checked)"
	fi
	if [ "$kmemleak_ok" = 1 ]; then
		# Objects younger than 5 s are not reported; scan twice.
		sleep 6
		echo scan >"$kmemleak"
		sleep 2
		echo scan >"$kmemleak"
		# One known report that is not afx's: the slab caches ACPICA
		# makes in start_kernel() (acpi_os_create_cache()), which
		# kmemleak loses track of some time after boot. Dropped by
		# that exact origin, and counted, so that nothing else hides.
		awk '
			/^unreferenced object/ { flush(); blk = $0 "\n"; next }
			{ blk = blk $0 "\n" }
			function flush() {
				if (blk == "") return
				if (blk ~ /comm "swapper\/0", pid 0/ &&
				    blk ~ /acpi_os_create_cache/ &&
				    blk ~ /start_kernel/) acpi++
				else printf "%s", blk
				blk = ""
			}
			END { flush(); if (acpi) print acpi > "/tmp/afx-kmemleak-acpi" }
		' "$kmemleak" >/tmp/afx-kmemleak
		[ -s /tmp/afx-kmemleak-acpi ] &&
			echo "(ignored: $(cat /tmp/afx-kmemleak-acpi) object(s) of ACPICA's boot-time caches)"
		if [ -s /tmp/afx-kmemleak ]; then
			echo "kmemleak reports $(grep -c '^unreferenced object' /tmp/afx-kmemleak) object(s):"
			head -n 200 /tmp/afx-kmemleak
			record FAIL "kmemleak report empty"
		else
			echo "no leaks"
			record PASS "kmemleak report empty"
		fi
	fi
	echo
	echo "=== debug: kernel log"
	dmesg >/tmp/afx-dmesg-rest
	dmesg_check "kernel log clean after the selftests (KASAN, lockdep, UBSAN, ...)" \
		/tmp/afx-dmesg-rest
fi

# --- summary ------------------------------------------------------------------------
cat /tmp/afx-results >>"$results" 2>/dev/null
pass=$(grep -c '^PASS' "$results")
fail=$(grep -c '^FAIL' "$results")
skip=$(grep -c '^SKIP' "$results")
echo "AFX-DEBUG-SUMMARY: pass=$pass fail=$fail skip=$skip"
[ "$fail" -eq 0 ]
