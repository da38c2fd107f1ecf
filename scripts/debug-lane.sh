#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The debug lane, host side: afx on a kernel with KASAN, lockdep, kmemleak,
# UBSAN and KUnit (scripts/debug-kernel.sh).
#
#   scripts/debug-lane.sh kunit   `make kunit`: the KUnit suites alone; ends
#                                 with `N passed, N failed` (KUnit cases)
#   scripts/debug-lane.sh check   the debug lane of `make check`: KUnit, then
#                                 every selftest, then kmemleak and the
#                                 kernel log; results go to check.sh's list
#
# Steps:
#   1. the debug kernel tree, built once and cached (scripts/debug-kernel.sh)
#   2. afx.ko, afx_diag.ko and afx_kunit.ko built against it with W=1, in
#      build/debug/mod/ (a copy of the sources: the stock-lane *.ko at the
#      repo root stay as they are); any compiler warning fails the step
#   3. build/debug/initramfs.cpio.gz with those modules
#   4. boot it (scripts/vm.sh, afx_run=kunit|debug, scripts/guest/debug-check.sh)
#   5. KUnit results: the guest prints /sys/kernel/debug/kunit/afx_*/results,
#      scripts/kunit-results.py parses them with linux-source's
#      tools/testing/kunit/kunit.py parse; every case (every parameter of a
#      parameterised case) is one result
#
# Results are "STATUS<TAB>NAME" lines appended to $AFX_RESULTS (default
# build/debug/results.txt), each also printed as `RESULT: STATUS NAME`. In
# check mode every name starts with "debug: ". In kunit mode the build and
# guest steps are only listed when they fail, so the counts are the KUnit
# cases'.
#
# Environment: AFX_RESULTS; ONLY (check mode: guest selftests to run, as
# for check.sh); AFX_DEBUG_TEST_TIMEOUT (per selftest program, default
# 600 s); AFX_DEBUG_VM_TIMEOUT (whole guest run, default 2400 s);
# AFX_DEBUG_VM_MEM (default 2G); AFX_DEBUG_DIR (default build/debug, where
# everything of the lane goes); AFX_CACHE.
set -euo pipefail

cd "$(dirname "$0")/.."
mode=${1:-}
case "$mode" in
kunit)	prefix="" ;;
check)	prefix="debug: " ;;
*)	echo "usage: $0 kunit|check" >&2; exit 2 ;;
esac

dir=${AFX_DEBUG_DIR:-build/debug}
mkdir -p "$dir/logs"
results=${AFX_RESULTS:-$dir/results.txt}
[[ -n "${AFX_RESULTS:-}" ]] || : >"$results"
failed=0

# record STATUS NAME
record() {
	printf '%s\t%s%s\n' "$1" "$prefix" "$2" >>"$results"
	echo "RESULT: $1 $prefix$2"
	[[ "$1" != FAIL ]] || failed=1
}

# step NAME LOG COMMAND...: run COMMAND (output on screen and in LOG) as
# one result; in kunit mode a passing step is not listed.
step() {
	local name=$1 log=$2 start=$SECONDS
	shift 2
	echo
	echo "===== $prefix$name"
	if "$@" 2>&1 | tee "$log"; [[ ${PIPESTATUS[0]} -eq 0 ]]; then
		echo "($name: $((SECONDS - start))s)"
		[[ "$mode" == kunit ]] || record PASS "$name"
	else
		record FAIL "$name (log: $log)"
		return 1
	fi
}

build_kernel() {
	scripts/debug-kernel.sh >/dev/null
	echo "debug kernel: $(scripts/debug-kernel.sh) ($(cat "$(scripts/debug-kernel.sh)/include/config/kernel.release"))"
}

# The modules against the debug tree, from a copy of the sources.
build_modules() {
	local kdir mod=$dir/mod log=$dir/logs/debug-module-make.log rc n
	kdir=$(scripts/debug-kernel.sh)
	rm -rf "$mod"
	mkdir -p "$mod/module" "$mod/scripts"
	cp Kbuild "$mod/"
	cp module/*.c module/*.h "$mod/module/"
	cp -a uapi "$mod/"
	# Kbuild's MODULE_VERSION helper, if there is one (git describe).
	[[ ! -f scripts/version.sh ]] || cp scripts/version.sh "$mod/scripts/"
	set +e
	make -C "$kdir" M="$(cd "$mod" && pwd)" W=1 modules 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	set -e
	n=$(grep -cE '(warning|error):' "$log" || true)
	echo "debug modules: make exit $rc, $n warning/error line(s): $(cd "$mod" && echo *.ko)"
	((rc == 0 && n == 0)) && [[ -f "$mod/afx.ko" && -f "$mod/afx_kunit.ko" ]]
}

initramfs() {
	local kdir
	kdir=$(scripts/debug-kernel.sh)
	AFX_KO_DIR=$dir/mod AFX_GUEST_KVER=$(cat "$kdir/include/config/kernel.release") \
	AFX_GUEST_KMODDIR=$kdir scripts/mkinitramfs.sh "$dir/initramfs.cpio.gz"
}

lane_start=$SECONDS
ok=1
step "build: debug kernel (scripts/debug-kernel.sh)" "$dir/logs/debug-kernel.log" \
	build_kernel || ok=0
((ok)) && { step "build: modules against the debug kernel (W=1)" \
	"$dir/logs/debug-module.log" build_modules || ok=0; }
((ok)) && { step "build: debug initramfs" "$dir/logs/debug-initramfs.log" \
	initramfs || ok=0; }

if ((ok)); then
	echo
	echo "===== ${prefix}guest ($mode)"
	log=$dir/guest-$mode.log
	rm -f "$log"
	args=("afx_test_timeout=${AFX_DEBUG_TEST_TIMEOUT:-600}")
	[[ "$mode" == check && -n "${ONLY:-}" ]] && args+=("afx_only=$ONLY")
	# scripts/guest/fuzz.sh: fuzzing time and seed (make fuzz, scripts/fuzz.sh)
	[[ -n "${AFX_FUZZ_SECONDS:-}" ]] && args+=("afx_fuzz_seconds=$AFX_FUZZ_SECONDS")
	[[ -n "${AFX_FUZZ_SEED:-}" ]] && args+=("afx_fuzz_seed=$AFX_FUZZ_SEED")
	[[ -n "${AFX_FUZZ_TRINITY:-}" ]] && args+=("afx_fuzz_trinity=$AFX_FUZZ_TRINITY")
	vm_rc=0
	guest_start=$SECONDS
	AFX_KERNEL=$(scripts/debug-kernel.sh --image) \
	AFX_INITRD=$dir/initramfs.cpio.gz \
	AFX_VM_LOG=$log \
	AFX_VM_MEM=${AFX_DEBUG_VM_MEM:-2G} \
	AFX_VM_TIMEOUT=${AFX_DEBUG_VM_TIMEOUT:-2400} \
		scripts/vm.sh "$([[ $mode == kunit ]] && echo kunit || echo debug)" \
		"${args[@]}" || vm_rc=$?
	echo "(guest: $((SECONDS - guest_start))s)"

	clean=$dir/guest-$mode.clean.log
	tr -d '\r' <"$log" >"$clean" 2>/dev/null || : >"$clean"

	# KUnit cases.
	if python3 scripts/kunit-results.py "$clean" "$dir/kunit" >"$dir/kunit.results"; then
		:
	else
		record FAIL "kunit: results could not be parsed (see $dir/kunit.ktap)"
	fi
	while IFS=$'\t' read -r st name; do
		record "$st" "kunit: $name"
	done <"$dir/kunit.results"

	# The guest's own checks (and, in check mode, check.sh's selftests).
	while IFS=$'\t' read -r st name; do
		record "$st" "$name"
	done < <(sed -n 's/^AFX-RESULT: \(PASS\|FAIL\|SKIP\) \(.*\)$/\1\t\2/p' "$clean")

	if ! grep -q '^AFX-DEBUG-SUMMARY:' "$clean"; then
		last=$(sed -n 's/^=== //p' "$clean" | tail -n 1)
		case $vm_rc in
		124) why="timed out" ;;
		0) why="stopped without a summary" ;;
		*) why="crashed or panicked" ;;
		esac
		record FAIL "guest: $why${last:+ during $last} (see $log)"
	fi
fi
echo "(debug lane: $((SECONDS - lane_start))s)"

if [[ "$mode" == kunit ]]; then
	pass=$(grep -c '^PASS' "$results" || true)
	fail=$(grep -c '^FAIL' "$results" || true)
	skip=$(grep -c '^SKIP' "$results" || true)
	echo
	if ((fail > 0)); then
		echo "Failed:"
		grep '^FAIL' "$results" | cut -f2- | sed 's/^/  - /'
	fi
	if ((skip > 0)); then
		echo "$pass passed, $fail failed, $skip skipped"
	else
		echo "$pass passed, $fail failed"
	fi
	((fail == 0))
else
	((failed == 0))
fi
