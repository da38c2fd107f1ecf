#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`, inside the VM (busybox sh, run by /init with afx_run=bench).
#
# Loads the vsock modules listed in /afx/bench-modules (appended to the
# initramfs by scripts/bench.sh) and afx.ko, runs afx-bench once with
# --validate (every byte compared and checksummed, short runs, numbers
# not kept), then the timed matrix, and prints the result files between
# "AFX-BENCH-BEGIN name" and "AFX-BENCH-END name" lines for the host.
#
# Kernel command line (reaches us as environment):
#   afx_bench_mode=NAME       mode column of the CSV (icount, wall, ...)
#   afx_bench_placement=LIST  none | same,split,spread (see afx-bench --help)
#   afx_bench_reps=N          repetitions (default 3)
#   afx_bench_scale=F         --time-scale (default 1)
#   afx_bench_validate=0|1    run the validation pass first (default 1)
#   afx_bench_extra=OPTS      more afx-bench options, '+' between words
#   afx_bench_real=0|1|only   real programs (bench/real.sh) after afx-bench
#                             (default 1); only: them alone
#   afx_bench_real_reqs=N     their size (bench/real.sh, AFX_REAL_REQS)

# shellcheck source=scripts/guest/lib.sh
. /afx/scripts/guest/lib.sh

mode=${afx_bench_mode:-local}
placement=${afx_bench_placement:-none}
reps=${afx_bench_reps:-3}
scale=${afx_bench_scale:-1}
validate=${afx_bench_validate:-1}
real=${afx_bench_real:-1}
extra=$(echo "${afx_bench_extra:-}" | tr '+' ' ')

# emit NAME FILE: hand a file to the host through the console.
emit() {
	echo "AFX-BENCH-BEGIN $1"
	cat "$2"
	echo "AFX-BENCH-END $1"
}

dmesg -c >/tmp/afx-boot-dmesg
if [ -s /afx/bench-modules ]; then
	while read -r ko; do
		insmod "$ko" || echo "bench: insmod $ko failed (vsock will be skipped)"
	done </afx/bench-modules
fi
if ! load_afx; then
	echo "bench: insmod afx.ko failed"
	dmesg | tail -n 20
	exit 1
fi

cs=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)
{
	echo "mode=$mode"
	echo "kernel=$(uname -r)"
	echo "cpus=$(grep -c '^processor' /proc/cpuinfo)"
	echo "cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
	echo "mem_kb=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)"
	echo "clocksource=$cs"
	echo "afx_family=$(afx_family)"
	echo "afx_srcversion=$(cat /sys/module/afx/srcversion 2>/dev/null)"
	echo "vsock_loopback=$([ -d /sys/module/vsock_loopback ] && echo yes || echo no)"
	echo "cmdline=$(cat /proc/cmdline)"
} >/tmp/info.txt
emit info.txt /tmp/info.txt

rc=0
if [ "$real" = only ]; then
	validate=0
fi
if [ "$validate" = 1 ]; then
	echo
	echo "=== afx-bench --validate ($mode)"
	# shellcheck disable=SC2086 # $extra is a word list
	afx-bench --validate --mode "$mode" --placement "$placement" --reps 1 \
		--time-scale 0.05 --idle 512 $extra >/tmp/validate.txt
	vrc=$?
	emit validate.txt /tmp/validate.txt
	echo "AFX-BENCH-VALIDATE: mode=$mode rc=$vrc"
	[ "$vrc" -eq 0 ] || rc=1
fi

if [ "$real" != only ]; then
	echo
	echo "=== afx-bench ($mode, placement $placement, $reps reps, scale $scale)"
	start=$(cut -d' ' -f1 /proc/uptime)
	# shellcheck disable=SC2086
	afx-bench --mode "$mode" --placement "$placement" --reps "$reps" \
		--time-scale "$scale" --csv /tmp/summary.csv --raw /tmp/raw.csv \
		$extra >/tmp/bench.txt
	brc=$?
	end=$(cut -d' ' -f1 /proc/uptime)
	cat /tmp/bench.txt
	echo "AFX-BENCH-GUEST-SECONDS: $start $end"
	[ -f /tmp/summary.csv ] && emit summary.csv /tmp/summary.csv
	[ -f /tmp/raw.csv ] && emit raw.csv /tmp/raw.csv
	emit bench.txt /tmp/bench.txt
	[ "$brc" -eq 0 ] || rc=1
fi

# Real programs over TCP, AF_UNIX and AF_X (afx-run), in this same boot.
if [ "$real" != 0 ]; then
	echo
	echo "=== real programs ($mode)"
	AFX_REAL_MODE=$mode AFX_REAL_REQS=${afx_bench_real_reqs:-20000} \
		sh /afx/bench/real.sh /tmp/real.csv
	rrc=$?
	emit real.csv /tmp/real.csv
	echo "AFX-BENCH-REAL: mode=$mode rc=$rrc"
	[ "$rrc" -eq 0 ] || rc=1
fi

# The kernel must have stayed quiet while we pushed it.
pattern='WARNING:|BUG:|BUG |Oops|refcount_t|possible circular locking|general protection|KASAN|UBSAN|Call Trace|list_(add|del) corruption'
if dmesg | grep -E "$pattern" >/dev/null; then
	echo "AFX-BENCH-DMESG: warnings"
	dmesg | tail -n 80
	rc=1
else
	echo "AFX-BENCH-DMESG: clean"
fi
echo "AFX-BENCH-EXIT: mode=$mode rc=$rc"
exit "$rc"
