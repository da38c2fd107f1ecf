#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: AF_X against AF_UNIX, pipes, TCP/UDP loopback and vsock.
#
#   1. install missing packages (scripts/deps.sh, gnuplot-nox among them)
#   2. build afx.ko and build/afx-bench (make module userspace)
#   3. an initramfs of its own (build/bench/initramfs.cpio.gz) from a
#      snapshot of the tree, plus the vsock modules of the guest kernel
#   4. boot the guest in two modes, each running bench/afx-bench over
#      the whole matrix (scripts/guest/bench.sh), after a --validate pass:
#        icount  -icount shift=0,sleep=off -smp 1: guest time counts
#                instructions, so the numbers repeat run to run
#        wall    -smp 2, wall clock: endpoints on one vCPU (wall-same), on
#                different vCPUs (wall-split), and for W5-pairs each pair on
#                a vCPU of its own (wall-spread)
#   5. bench/report.pl: bench-results/summary.csv, raw.csv, a human table
#      on stdout, PNG plots (gnuplot) and Documentation/performance.rst
#
# Environment:
#   AFX_BENCH_MODES   modes to run (default "icount wall")
#   AFX_BENCH_REPS    repetitions per cell (default 3 icount, 5 wall)
#   AFX_BENCH_SCALE   afx-bench --time-scale (default 0.25 icount, 0.5
#                     wall: 50 and 100 ms per W1 cell)
#   AFX_BENCH_EXTRA   more afx-bench options, e.g. "--transports=tcp,pipe"
#   AFX_BENCH_PAGE=0  do not rewrite Documentation/performance.rst
#   AFX_BENCH_REAL    real programs after afx-bench (bench/real.sh): 1
#                     (default), 0, or "only" (without afx-bench)
#   AFX_BENCH_REAL_REQS  their size (default 20000 Redis requests)
#   AFX_VM_TIMEOUT    limit per guest boot (default 2400 s)
#
# Exit status: non-zero when a guest failed, afx-bench reported a failed
# or unvalidated cell, or the kernel logged a warning. Ratios never fail.
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
root=$(pwd)
out=bench-results
work=build/bench
modes=${AFX_BENCH_MODES:-icount wall}
scale=${AFX_BENCH_SCALE:-}
extra=$(echo "${AFX_BENCH_EXTRA:-}" | tr ' ' '+')
t_start=$(date +%s)

echo "===== dependencies"
scripts/deps.sh
kver=$(scripts/kver.sh)

echo "===== build"
make module
make userspace

# What was measured: the commit, and whether the module had changes on top.
{
	echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
	echo "module_changes=$(git status --porcelain --untracked-files=no -- module uapi Kbuild 2>/dev/null | wc -l)"
	echo "srcversion=$(modinfo -F srcversion afx.ko 2>/dev/null)"
} >"$work-build.txt"

echo "===== initramfs"
# A snapshot, so that builds by others during the run change nothing and
# the staging directory of scripts/mkinitramfs.sh is our own.
rm -rf "$work"
mkdir -p "$work/tree/build" "$out"
stage_tree "$work/tree"
# afx.ko only: the benchmark loads nothing else of ours.
cp afx.ko "$work/tree/"
find build -maxdepth 1 -type f -perm -u+x -exec cp {} "$work/tree/build/" \;
"$work/tree/scripts/mkinitramfs.sh" "$root/$work/initramfs.cpio.gz"

# The vsock modules of the guest kernel, in insmod order, as a second
# cpio archive appended to the first (the kernel unpacks both).
mods=$work/mods
mkdir -p "$mods/afx"
: >"$mods/afx/bench-modules"
if modprobe -S "$kver" --show-depends vsock_loopback >"$work/vsock-deps" 2>&1; then
	while read -r word path _; do
		[[ "$word" == insmod ]] || continue
		dst=${path%.xz}
		dst=${dst%.zst}
		mkdir -p "$mods$(dirname "$dst")"
		case $path in
		*.xz) xz -dc "$path" >"$mods$dst" ;;
		*.zst) zstd -qdc "$path" >"$mods$dst" ;;
		*) cp "$path" "$mods$dst" ;;
		esac
		echo "$dst" >>"$mods/afx/bench-modules"
	done <"$work/vsock-deps"
	echo "bench.sh: vsock modules: $(xargs -n1 basename <"$mods/afx/bench-modules" | tr '\n' ' ')"
else
	echo "bench.sh: no vsock_loopback module for $kver; vsock will be skipped" >&2
fi
(cd "$mods" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet) |
	gzip -1 >>"$work/initramfs.cpio.gz"

# run_mode MODE: boot one guest, its serial log in $out/guest-MODE.log.
run_mode() {
	local mode=$1 smp placement reps mscale qemu_args=""
	case $mode in
	icount)
		# Guest time is instructions here: 0.05 s per W1 cell is
		# 50 million of them, a few thousand round trips.
		smp=1 placement=none reps=${AFX_BENCH_REPS:-3} mscale=0.25
		qemu_args="-icount shift=0,sleep=off"
		;;
	wall)
		# Each vCPU is a host thread: a cross-vCPU wakeup waits until
		# the host runs the other vCPU's thread, which on a busy host
		# takes a host time slice (round trips quantised at 4 ms were
		# seen at load 5 on 2 CPUs). idle=poll and nohz=off did not
		# help there, so the guest runs as it is; the report shows
		# the host load and the spread.
		smp=2 placement=same,split,spread reps=${AFX_BENCH_REPS:-5} mscale=0.5
		;;
	*)
		echo "bench.sh: unknown mode $mode" >&2
		return 2
		;;
	esac
	echo
	echo "===== guest: $mode (-smp $smp${qemu_args:+ $qemu_args})"
	if [[ $mode == wall ]] && awk -v n="$(nproc)" '{ exit !($1 > n / 2) }' /proc/loadavg; then
		echo "bench.sh: host load average $(cut -d' ' -f1 /proc/loadavg) on $(nproc) CPUs:" \
			"the wall-clock numbers will be noise (the report says so)" >&2
	fi
	local log=$out/guest-$mode.log rc=0 t0 sampler
	# The host's load while the guest runs goes into the report: wall
	# clock numbers from a busy host are noise.
	t0=$(date +%s)
	(while :; do cut -d' ' -f1 /proc/loadavg; sleep 15; done) >"$work/load-$mode" &
	sampler=$!
	# tsc=reliable: keep the TSC (and the vDSO clock) as clocksource; the
	# watchdog would otherwise drop it under TCG and every clock read
	# would become an emulated HPET access.
	AFX_VM_SMP=$smp AFX_VM_QEMU_ARGS=$qemu_args AFX_VM_LOG=$log \
		AFX_INITRD=$work/initramfs.cpio.gz \
		AFX_VM_TIMEOUT=${AFX_VM_TIMEOUT:-2400} \
		scripts/vm.sh bench afx_bench_mode="$mode" \
		afx_bench_placement="$placement" afx_bench_reps="$reps" \
		afx_bench_scale="${scale:-$mscale}" ${extra:+afx_bench_extra="$extra"} \
		afx_bench_real="${AFX_BENCH_REAL:-1}" \
		${AFX_BENCH_REAL_REQS:+afx_bench_real_reqs="$AFX_BENCH_REAL_REQS"} \
		tsc=reliable |
		perl bench/progress.pl "$mode" || rc=$?
	kill "$sampler" 2>/dev/null || true
	wait "$sampler" 2>/dev/null || true
	echo "mode=$mode seconds=$(($(date +%s) - t0)) host_cpus=$(nproc)" \
		"load=$(awk '{ s += $1; n++ } END { if (n) printf "%.2f", s / n }' "$work/load-$mode")" \
		>>"$out/host.txt"
	return "$rc"
}

mv "$work-build.txt" "$out/build.txt"

# The previous summary stays for the report's run-to-run comparison.
if [[ -f "$out/summary.csv" ]]; then
	mv "$out/summary.csv" "$out/previous-summary.csv"
fi

: >"$out/host.txt"
failed=0
logs=()
for mode in $modes; do
	if ! run_mode "$mode"; then
		echo "bench.sh: guest $mode failed (log: $out/guest-$mode.log)" >&2
		failed=1
	fi
	logs+=("$out/guest-$mode.log")
done

echo
echo "===== report"
qemu_version=$(qemu-system-x86_64 --version | head -n 1)
AFX_QEMU_VERSION=$qemu_version AFX_BENCH_SECONDS=$(($(date +%s) - t_start)) \
	AFX_BENCH_PAGE=${AFX_BENCH_PAGE:-1} \
	perl bench/report.pl --out "$out" "${logs[@]}" || failed=1

echo
echo "bench.sh: done in $(($(date +%s) - t_start)) s; results in $out/"
exit "$failed"
