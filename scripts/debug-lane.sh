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
#   6. the expected-case check: the cases module/tests/*.c declare (and the
#      rows of every parameter table) against those that reported
#      (scripts/kunit-results.py --expect); a suite or case that did not
#      report fails it
#
# Results are "STATUS<TAB>NAME" lines appended to $AFX_RESULTS (default
# build/debug/results.txt), each also printed as `RESULT: STATUS NAME`. In
# check mode every name starts with "debug: ". In kunit mode the build,
# guest and expected-case steps are only listed when they fail, so the
# counts are the KUnit cases'. Recording and the summary are
# scripts/lib.sh's.
#
# Environment: AFX_RESULTS; ONLY (check mode: guest selftests to run, as
# for check.sh); AFX_DEBUG_TEST_TIMEOUT (per selftest program, default
# 600 s); AFX_DEBUG_VM_TIMEOUT (whole guest run, default 2400 s);
# AFX_DEBUG_VM_MEM (default 2G); AFX_KERNEL_ARGS (appended to the guest
# kernel command line, as for check.sh); AFX_DEBUG_DIR (default build/debug, where
# everything of the lane goes); AFX_CACHE.
set -euo pipefail

cd "$(dirname "$0")/.."
mode=${1:-}
case "$mode" in
kunit)	prefix="" ;;
check)	prefix="debug: " ;;
*)	echo "usage: $0 kunit|check" >&2; exit 2 ;;
esac

# shellcheck source=scripts/lib.sh
. scripts/lib.sh
dir=${AFX_DEBUG_DIR:-build/debug}
mkdir -p "$dir/logs"
results=${AFX_RESULTS:-$dir/results.txt}
[[ -n "${AFX_RESULTS:-}" ]] || : >"$results"
results_init "$results" "$prefix"
# In kunit mode a passing step is not listed: the counts are the cases'.
[[ "$mode" != kunit ]] || STEP_QUIET_PASS=1

build_kernel() {
	scripts/debug-kernel.sh >/dev/null
	echo "debug kernel: $(scripts/debug-kernel.sh) ($(cat "$(scripts/debug-kernel.sh)/include/config/kernel.release"))"
}

# The modules against the debug tree, from a copy of the sources.
build_modules() {
	local kdir mod=$dir/mod log=$dir/logs/debug-module-make.log rc n
	kdir=$(scripts/debug-kernel.sh)
	rm -rf "$mod"
	stage_sources "$mod"
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
	[[ -n "${AFX_RACE_SECONDS:-}" ]] && args+=("afx_race_seconds=$AFX_RACE_SECONDS")
	# scripts/guest/fuzz.sh: fuzzing time and seed (make fuzz, scripts/fuzz.sh)
	[[ -n "${AFX_FUZZ_SECONDS:-}" ]] && args+=("afx_fuzz_seconds=$AFX_FUZZ_SECONDS")
	[[ -n "${AFX_FUZZ_SEED:-}" ]] && args+=("afx_fuzz_seed=$AFX_FUZZ_SEED")
	[[ -n "${AFX_FUZZ_TRINITY:-}" ]] && args+=("afx_fuzz_trinity=$AFX_FUZZ_TRINITY")
	# shellcheck disable=SC2206 # word splitting wanted, as in check.sh
	args+=(${AFX_KERNEL_ARGS:-})
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

	# Every case the sources declare reported, each parameter of a
	# parameterised one: a suite that did not run fails here.
	step "kunit: every declared case reported" "$dir/logs/kunit-expect.log" \
		python3 scripts/kunit-results.py --expect "$dir/mod/module/tests" \
		"$dir/kunit.results" || true

	# The guest's own checks (and, in check mode, check.sh's selftests).
	while IFS=$'\t' read -r st name; do
		record "$st" "$name"
	done < <(guest_results "$clean")

	if ! grep -q '^AFX-DEBUG-SUMMARY:' "$clean"; then
		record FAIL "$(guest_failure "$vm_rc" "$clean" "$log")"
	elif [[ "$mode" == check ]]; then
		mismatch=$(guest_counts "$clean" AFX-DEBUG-SUMMARY)
		[[ -z "$mismatch" ]] || record FAIL "$mismatch"
	fi
fi
echo "(debug lane: $((SECONDS - lane_start))s)"

if [[ "$mode" == kunit ]]; then
	summary
else
	((RESULTS_FAILED == 0))
fi
