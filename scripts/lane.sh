#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernel lanes besides the stock one: afx built against another kernel
# and tested in a guest booted from it.
#
#   scripts/lane.sh check LANE    one lane of `make check`: results go to
#                                 check.sh's list, each named "PREFIX..."
#   scripts/lane.sh kunit [LANE]  `make kunit`: the KUnit suites alone, on
#                                 a debug lane (default debug); ends with
#                                 `N passed, N failed` (KUnit cases)
#
#   LANE        kernel                                     guest     PREFIX
#   debug       6.1 debug kernel (scripts/debug-kernel.sh)  debug     "debug: "
#   debug-6.12  6.12 debug kernel, PREEMPT_RT                debug     "6.12: "
#               (AFX_DEBUG_SERIES=6.12)
#   rt          Debian's 6.1 PREEMPT_RT kernel               check     "rt: "
#               (linux-image-rt-amd64, scripts/kver.sh --rt)
#
# A debug kernel has KASAN, lockdep, kmemleak, UBSAN, KUnit and fault
# injection; its guest (scripts/guest/debug-check.sh) runs the KUnit
# suites, every selftest, the fuzzers (on 6.12 only with AFX_FUZZ_SECONDS
# set: they cost 2.5 minutes and reach the same afx code), a kmemleak scan
# and the kernel-log check. The rt guest runs what the stock lane runs (scripts/guest/check.sh:
# every selftest, the race stress included, and the kernel-log check) on
# the PREEMPT_RT kernel, where spinlocks sleep and softirqs run in threads.
#
# Steps:
#   1. the kernel: a debug tree, built once and cached outside the repo
#      (scripts/debug-kernel.sh), or the installed rt kernel and headers
#   2. afx.ko, afx_diag.ko (and on a debug kernel afx_kunit.ko) built
#      against it with W=1 and sparse (C=2), in build/<lane>/mod/ (a copy
#      of the sources: the stock-lane *.ko at the repo root stay as they
#      are); any compiler or sparse warning fails the step (the static
#      lane's sparse run sees only the stock headers, without KUnit)
#   3. build/<lane>/initramfs.cpio.gz with those modules
#   4. boot it (scripts/vm.sh; afx_run=kunit|debug|check)
#   5. debug lanes, KUnit results: the guest prints
#      /sys/kernel/debug/kunit/afx_*/results, scripts/kunit-results.py
#      parses them with linux-source's tools/testing/kunit/kunit.py parse;
#      every case (every parameter of a parameterised case) is one result
#   6. debug lanes, the expected-case check: the cases module/tests/*.c
#      declare (and the rows of every parameter table) against those that
#      reported (scripts/kunit-results.py --expect); a suite or case that
#      did not report fails it
#
# Results are "STATUS<TAB>NAME" lines appended to $AFX_RESULTS (default
# build/<lane>/results.txt), each also printed as `RESULT: STATUS NAME`.
# In kunit mode the build, guest and expected-case steps are only listed
# when they fail, so the counts are the KUnit cases'. Recording and the
# summary are scripts/lib.sh's. The lane's time is printed last, as
# "(LANE lane: Ns)", and added to $AFX_LANE_TIMES when that is set.
#
# Environment: AFX_RESULTS; AFX_LANE_TIMES; ONLY (check mode: guest
# selftests to run, as for check.sh); AFX_KERNEL_ARGS (appended to the
# guest kernel command line, as for check.sh); AFX_CACHE. Debug lanes:
# AFX_DEBUG_TEST_TIMEOUT (per selftest program, default 600 s),
# AFX_DEBUG_VM_TIMEOUT (whole guest run, default 2400 s), AFX_DEBUG_VM_MEM
# (default 2G). The rt lane: AFX_TEST_TIMEOUT (default 300 s),
# AFX_VM_TIMEOUT (default 1800 s), as the stock lane.
set -euo pipefail

cd "$(dirname "$0")/.."
mode=${1:-}
case "$mode" in
kunit)	lane=${2:-debug} ;;
check)	lane=${2:?usage: $0 check debug|debug-6.12|rt} ;;
*)	echo "usage: $0 check LANE | kunit [LANE]" >&2; exit 2 ;;
esac
case "$lane" in
debug)		kind=debug series=6.1 prefix="debug: " ;;
debug-6.12)	kind=debug series=6.12 prefix="6.12: " ;;
rt)		kind=rt series=6.1 prefix="rt: " ;;
*)	echo "$0: unknown lane $lane (debug, debug-6.12, rt)" >&2; exit 2 ;;
esac
if [[ "$mode" == kunit ]]; then
	[[ "$kind" == debug ]] || { echo "$0: lane $lane has no KUnit" >&2; exit 2; }
	prefix=""
fi
export AFX_DEBUG_SERIES=$series

# shellcheck source=scripts/lib.sh
. scripts/lib.sh
dir=build/$lane
mkdir -p "$dir/logs"
results=${AFX_RESULTS:-$dir/results.txt}
[[ -n "${AFX_RESULTS:-}" ]] || : >"$results"
results_init "$results" "$prefix"
# In kunit mode a passing step is not listed: the counts are the cases'.
[[ "$mode" != kunit ]] || STEP_QUIET_PASS=1

# kernel_tree, kernel_image, kernel_release, kernel_moddir: the lane's
# kbuild tree, bzImage, release (uname -r) and where its modules.order
# and modules.builtin are.
kernel_tree() {
	if [[ "$kind" == debug ]]; then
		scripts/debug-kernel.sh
	else
		scripts/kver.sh --rt --kdir
	fi
}
kernel_image() {
	if [[ "$kind" == debug ]]; then
		scripts/debug-kernel.sh --image
	else
		scripts/kver.sh --rt --image
	fi
}
kernel_release() {
	if [[ "$kind" == debug ]]; then
		cat "$(scripts/debug-kernel.sh)/include/config/kernel.release"
	else
		scripts/kver.sh --rt
	fi
}
kernel_moddir() {
	if [[ "$kind" == debug ]]; then
		scripts/debug-kernel.sh
	else
		echo "/lib/modules/$(kernel_release)"
	fi
}

build_kernel() {
	kernel_tree >/dev/null
	echo "$lane kernel: $(kernel_tree) ($(kernel_release))"
}

# The modules against the lane's tree, from a copy of the sources.
build_modules() {
	local kdir mod=$dir/mod log=$dir/logs/module-make.log rc n
	kdir=$(kernel_tree)
	rm -rf "$mod"
	stage_sources "$mod"
	set +e
	make -C "$kdir" M="$(cd "$mod" && pwd)" W=1 C=2 modules 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	set -e
	n=$(grep -cE '(warning|error):' "$log" || true)
	echo "$lane modules: make exit $rc, $n warning/error line(s): $(cd "$mod" && echo *.ko)"
	((rc == 0 && n == 0)) && [[ -f "$mod/afx.ko" && -f "$mod/afx_diag.ko" ]] &&
		{ [[ "$kind" != debug ]] || [[ -f "$mod/afx_kunit.ko" ]]; }
}

initramfs() {
	AFX_KO_DIR=$dir/mod AFX_GUEST_KVER=$(kernel_release) \
	AFX_GUEST_KMODDIR=$(kernel_moddir) scripts/mkinitramfs.sh "$dir/initramfs.cpio.gz"
}

lane_start=$SECONDS
ok=1
step "build: $lane kernel" "$dir/logs/kernel.log" build_kernel || ok=0
((ok)) && { step "build: modules against the $lane kernel (W=1, sparse)" \
	"$dir/logs/module.log" build_modules || ok=0; }
((ok)) && { step "build: $lane initramfs" "$dir/logs/initramfs.log" \
	initramfs || ok=0; }
if ((ok)); then
	echo
	echo "===== ${prefix}guest ($mode)"
	log=$dir/guest-$mode.log
	rm -f "$log"
	if [[ "$kind" == debug ]]; then
		vm_mode=$([[ $mode == kunit ]] && echo kunit || echo debug)
		tag=AFX-DEBUG-SUMMARY
		args=("afx_test_timeout=${AFX_DEBUG_TEST_TIMEOUT:-600}")
		vm_env=(AFX_VM_MEM="${AFX_DEBUG_VM_MEM:-2G}"
			AFX_VM_TIMEOUT="${AFX_DEBUG_VM_TIMEOUT:-2400}")
	else
		vm_mode=check
		tag=AFX-SUMMARY
		args=("afx_test_timeout=${AFX_TEST_TIMEOUT:-300}")
		vm_env=(AFX_VM_TIMEOUT="${AFX_VM_TIMEOUT:-1800}")
	fi
	[[ "$mode" == check && -n "${ONLY:-}" ]] && args+=("afx_only=$ONLY")
	[[ -n "${AFX_RACE_SECONDS:-}" ]] && args+=("afx_race_seconds=$AFX_RACE_SECONDS")
	# scripts/guest/fuzz.sh: fuzzing time and seed (make fuzz, scripts/fuzz.sh)
	# The fuzzers run in the 6.1 debug lane of make check; in the 6.12
	# one only when asked (make fuzz FUZZ_LANE=debug-6.12), for time.
	if [[ -n "${AFX_FUZZ_SECONDS:-}" ]]; then
		args+=("afx_fuzz_seconds=$AFX_FUZZ_SECONDS")
	elif [[ "$lane" == debug-6.12 ]]; then
		args+=("afx_fuzz_seconds=0")
	fi
	[[ -n "${AFX_FUZZ_SEED:-}" ]] && args+=("afx_fuzz_seed=$AFX_FUZZ_SEED")
	[[ -n "${AFX_FUZZ_TRINITY:-}" ]] && args+=("afx_fuzz_trinity=$AFX_FUZZ_TRINITY")
	# shellcheck disable=SC2206 # word splitting wanted, as in check.sh
	args+=(${AFX_KERNEL_ARGS:-})
	vm_rc=0
	guest_start=$SECONDS
	env "${vm_env[@]}" AFX_KERNEL="$(kernel_image)" \
		AFX_INITRD="$dir/initramfs.cpio.gz" AFX_VM_LOG="$log" \
		scripts/vm.sh "$vm_mode" "${args[@]}" || vm_rc=$?
	echo "(guest: $((SECONDS - guest_start))s)"

	clean=$dir/guest-$mode.clean.log
	tr -d '\r' <"$log" >"$clean" 2>/dev/null || : >"$clean"

	if [[ "$kind" == debug ]]; then
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
	fi

	# The guest's own checks (and, in check mode, check.sh's selftests).
	while IFS=$'\t' read -r st name; do
		record "$st" "$name"
	done < <(guest_results "$clean")

	if ! grep -q "^$tag:" "$clean"; then
		record FAIL "$(guest_failure "$vm_rc" "$clean" "$log")"
	elif [[ "$mode" == check ]]; then
		mismatch=$(guest_counts "$clean" "$tag")
		[[ -z "$mismatch" ]] || record FAIL "$mismatch"
	fi
fi
echo "($lane lane: $((SECONDS - lane_start))s)"
[[ -z "${AFX_LANE_TIMES:-}" ]] ||
	printf '%s\t%s\n' "$lane" "$((SECONDS - lane_start))" >>"$AFX_LANE_TIMES"

if [[ "$mode" == kunit ]]; then
	summary
else
	((RESULTS_FAILED == 0))
fi
