#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`: the whole test run, host side.
#
#   1. install missing packages (scripts/deps.sh); start building the
#      debug kernels the lanes of step 5 need, niced, in the background
#   2. build afx.ko and the userspace binaries        2 tests (and 1
#      failure per selftests/*.c without its program in build/)
#      the selftests the kselftest way                1 test
#      scripts/rig-test.sh: the guest's TAP parser    1 test per case
#      the contract-to-tests map names no missing test 1 test
#   3. checkpatch --strict, sparse C=2 W=1            2 tests
#      packaging: man pages, modinfo, make install,   1 test per TAP result
#      DKMS (scripts/package-check.sh)
#   4. initramfs, boot QEMU, scripts/guest/check.sh   1 test per TAP result
#      (see that script for how guest results are counted)
#   5. the other lanes (scripts/lane.sh check LANE), in this order:
#      rt          the same modules and selftests on Debian's 6.1
#                  PREEMPT_RT kernel; results named "rt: ..."
#      debug       ... on the 6.1 KASAN/lockdep/kmemleak/UBSAN kernel, plus
#                  the KUnit suites, the fuzzers, a kmemleak scan and the
#                  kernel log; results named "debug: ..."
#      debug-6.12  the same on a 6.12 debug kernel; "6.12: ..."
#   6. the time of each lane, the failures, and last `N passed, N failed`
#      (all lanes)
#
# Exit status 0 only when nothing failed and the guests finished.
#
# Environment: ONLY=word[,word]  run only guest tests whose name contains
# a word; AFX_TEST_TIMEOUT (per test program, default 300 s),
# AFX_VM_TIMEOUT (whole guest run, default 1800 s), AFX_SKIP_STATIC=1,
# AFX_KERNEL_ARGS (appended to the guest kernel command line),
# AFX_RACE_SECONDS (how long each race test loops, default 3),
# AFX_LANES (the lanes of step 5, default "rt debug debug-6.12", "none"
# for none; see
# scripts/lane.sh for their knobs), AFX_SKIP_DEBUG=1 (only the rt lane of
# them).
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
mkdir -p build/logs
results=build/results.txt
: >"$results"
results_init "$results"
times=build/lane-times.txt
: >"$times"
check_start=$SECONDS

echo "===== dependencies"
if ! scripts/deps.sh; then
	record FAIL "install dependencies"
	summary
	exit 1
fi
echo "kernel: $(scripts/kver.sh) ($(scripts/kver.sh --kdir))"

lanes=${AFX_LANES:-rt debug debug-6.12}
[[ "${AFX_SKIP_DEBUG:-0}" != 1 ]] || lanes=${AFX_LANES:-rt}
# A cold run builds the debug lanes' kernels (about 10 CPU minutes each)
# here, in the background at nice 19, while the stock and rt guests leave
# part of the CPUs idle; each lane's own scripts/debug-kernel.sh call
# waits for its build (that script's lock) and a failed one is retried
# and reported there. Warm, this returns at once.
series=()
for lane in $lanes; do
	case "$lane" in
	debug)		series+=(6.1) ;;
	debug-6.12)	series+=(6.12) ;;
	esac
done
if ((${#series[@]})); then
	(
		for s in "${series[@]}"; do
			AFX_DEBUG_SERIES=$s nice -n 19 scripts/debug-kernel.sh \
				>/dev/null 2>"build/logs/debug-kernel-$s.log" || true
		done
	) </dev/null >/dev/null 2>&1 &
fi

module_ok=1
stock_start=$SECONDS
step "build: module (make module)" build/logs/module.log make module || module_ok=0
# -k: one broken program must not keep the others out of the run.
step "build: userspace (make userspace)" build/logs/userspace.log make -k userspace || true
# A test program that did not build would not run at all: that fails.
for src in selftests/*.c; do
	bin=build/$(basename "$src" .c)
	[[ -x "$bin" ]] || record FAIL "build: $src has no program $bin"
done
# A program whose source is gone (renamed, split) must not run either.
for bin in build/*_test; do
	[[ -e "$bin" && ! -e "selftests/$(basename "$bin").c" ]] || continue
	echo "(removing $bin: selftests/$(basename "$bin").c is gone)"
	rm -f "$bin"
done

# The same programs the kselftest way (selftests/Makefile on lib.mk), as
# someone building them in a kernel tree would.
step "build: selftests the kselftest way (make -C selftests)" build/logs/kselftest.log \
	make -j2 -C selftests OUTPUT="$PWD/build/kselftest" || true

# The guest's TAP parser turns every way of misreporting into a failure.
echo
echo "===== rig"
record_tap "rig: " build/logs/rig.log < <(scripts/rig-test.sh 2>&1 | tee build/logs/rig.log)

# Every test Documentation/afx-tests.rst names must exist in selftests/.
step "docs: contract-to-tests map names existing tests" build/logs/test-map.log \
	scripts/test-map.py || true

if [[ "${AFX_SKIP_STATIC:-0}" != 1 ]]; then
	step "static: checkpatch --strict" build/logs/checkpatch.log \
		scripts/static-check.sh checkpatch || true
	step "static: sparse C=2 W=1" build/logs/sparse.log \
		scripts/static-check.sh sparse || true
fi

# Packaging on the host (man pages, modinfo, make install/uninstall, DKMS):
# scripts/package-check.sh prints TAP, one test per result.
if ((module_ok)); then
	echo
	echo "===== packaging"
	record_tap "package: " build/logs/package.log \
		< <(scripts/package-check.sh 2>&1 | tee build/logs/package.log)
fi

if ((module_ok)); then
	echo
	echo "===== guest"
	rm -f build/guest.log
	guest_ok=1
	vm_rc=0
	scripts/mkinitramfs.sh || { guest_ok=0; vm_rc=initramfs; }
	args=("afx_test_timeout=${AFX_TEST_TIMEOUT:-300}")
	[[ -n "${ONLY:-}" ]] && args+=("afx_only=$ONLY")
	[[ -n "${AFX_RACE_SECONDS:-}" ]] && args+=("afx_race_seconds=$AFX_RACE_SECONDS")
	# shellcheck disable=SC2206 # word splitting wanted
	args+=(${AFX_KERNEL_ARGS:-})
	if ((guest_ok)); then
		AFX_VM_LOG=build/guest.log scripts/vm.sh check "${args[@]}" || vm_rc=$?
		((vm_rc == 0)) || guest_ok=0
	fi
	# Guest results are "AFX-RESULT: STATUS name" lines on the serial
	# console (CRLF line ends there); keep them even if the guest died.
	if [[ -f build/guest.log ]]; then
		guest_results build/guest.log >>"$results"
		# A result lost between guest and host must not go unnoticed.
		mismatch=$(guest_counts build/guest.log AFX-SUMMARY)
		[[ -z "$mismatch" ]] || record FAIL "$mismatch"
		tr -d '\r' <build/guest.log | grep -q '^AFX-SUMMARY:' || guest_ok=0
	fi
	((guest_ok)) || record FAIL "$(guest_failure "$vm_rc" build/guest.log)"
else
	record FAIL "guest: not run (module did not build)"
fi

printf 'stock\t%s\n' "$((SECONDS - stock_start))" >>"$times"

for lane in $lanes; do
	[[ "$lane" != none ]] || continue
	# It records into $results itself; its exit status adds nothing.
	AFX_RESULTS=$results AFX_LANE_TIMES=$times scripts/lane.sh check "$lane" || true
done

# The background kernel builds, if a lane did not wait for them.
wait

echo
echo "===== time per lane"
# The stock lane's time includes the static checks and packaging.
while IFS=$'\t' read -r lane s; do
	printf '%-12s %4d s\n' "$lane" "$s"
done <"$times"
printf '%-12s %4d s\n' "make check" "$((SECONDS - check_start))"
summary
