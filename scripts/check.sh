#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`: the whole test run, host side.
#
#   1. install missing packages (scripts/deps.sh)
#   2. build afx.ko and the userspace binaries        2 tests
#      the contract-to-tests map names no missing test 1 test
#   3. checkpatch --strict, sparse C=2 W=1            2 tests
#      packaging: man pages, modinfo, make install,   1 test per TAP result
#      DKMS (scripts/package-check.sh)
#   4. initramfs, boot QEMU, scripts/guest/check.sh   1 test per TAP result
#      (see that script for how guest results are counted)
#   5. the debug lane (scripts/debug-lane.sh check): the same modules and
#      selftests on a KASAN/lockdep/kmemleak/UBSAN kernel, plus the KUnit
#      suites, a kmemleak scan and the kernel log; every result is named
#      "debug: ..."
#   6. list the failures, end with `N passed, N failed` (both lanes)
#
# Exit status 0 only when nothing failed and the guests finished.
#
# Environment: ONLY=word[,word]  run only guest tests whose name contains
# a word; AFX_TEST_TIMEOUT (per test program, default 300 s),
# AFX_VM_TIMEOUT (whole guest run, default 1800 s), AFX_SKIP_STATIC=1,
# AFX_KERNEL_ARGS (appended to the guest kernel command line),
# AFX_SKIP_DEBUG=1 (no debug lane; see scripts/debug-lane.sh for its knobs).
set -euo pipefail

cd "$(dirname "$0")/.."
mkdir -p build/logs
results=build/results.txt
: >"$results"

# record PASS|FAIL|SKIP NAME
record() {
	printf '%s\t%s\n' "$1" "$2" >>"$results"
	echo "RESULT: $1 $2"
}

# step NAME LOG COMMAND...: run COMMAND, output on screen and in LOG,
# record it as one test.
step() {
	local name=$1 log=$2
	shift 2
	echo
	echo "===== $name"
	if "$@" 2>&1 | tee "$log"; [[ ${PIPESTATUS[0]} -eq 0 ]]; then
		record PASS "$name"
	else
		record FAIL "$name (log: $log)"
		return 1
	fi
}

summary() {
	local pass fail skip
	pass=$(grep -c '^PASS' "$results" || true)
	fail=$(grep -c '^FAIL' "$results" || true)
	skip=$(grep -c '^SKIP' "$results" || true)
	echo
	if ((fail > 0)); then
		echo "Failed tests:"
		grep '^FAIL' "$results" | cut -f2- | sed 's/^/  - /'
	fi
	if ((skip > 0)); then
		echo "$pass passed, $fail failed, $skip skipped"
	else
		echo "$pass passed, $fail failed"
	fi
	((fail == 0))
}

echo "===== dependencies"
if ! scripts/deps.sh; then
	record FAIL "install dependencies"
	summary
	exit 1
fi
echo "kernel: $(scripts/kver.sh) ($(scripts/kver.sh --kdir))"

module_ok=1
step "build: module (make module)" build/logs/module.log make module || module_ok=0
# -k: one broken program must not keep the others out of the run.
step "build: userspace (make userspace)" build/logs/userspace.log make -k userspace || true
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
	while IFS= read -r line; do
		echo "$line"
		case $line in
		"ok "*"# SKIP"*) record SKIP "package: ${line#ok * - }" ;;
		"ok "*) record PASS "package: ${line#ok * - }" ;;
		"not ok "*) record FAIL "package: ${line#not ok * - } (log: build/logs/package.log)" ;;
		esac
	done < <(scripts/package-check.sh 2>&1 | tee build/logs/package.log)
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
	# shellcheck disable=SC2206 # word splitting wanted
	args+=(${AFX_KERNEL_ARGS:-})
	if ((guest_ok)); then
		AFX_VM_LOG=build/guest.log scripts/vm.sh check "${args[@]}" || vm_rc=$?
		((vm_rc == 0)) || guest_ok=0
	fi
	# Guest results are "AFX-RESULT: STATUS name" lines on the serial
	# console (CRLF line ends there); keep them even if the guest died.
	if [[ -f build/guest.log ]]; then
		tr -d '\r' <build/guest.log |
			sed -n 's/^AFX-RESULT: \(PASS\|FAIL\|SKIP\) \(.*\)$/\1\t\2/p' \
				>>"$results"
		tr -d '\r' <build/guest.log | grep -q '^AFX-SUMMARY:' || guest_ok=0
	fi
	if ((!guest_ok)); then
		# Name the test that was running: the guest's last "=== name" line.
		last=$(tr -d '\r' <build/guest.log 2>/dev/null | sed -n 's/^=== //p' | tail -n 1)
		case $vm_rc in
		initramfs) why="not run: mkinitramfs.sh failed" ;;
		124) why="timed out" ;;
		0) why="stopped without a summary" ;;
		*) why="crashed or panicked" ;;
		esac
		record FAIL "guest: $why${last:+ during $last} (see build/guest.log)"
	fi
else
	record FAIL "guest: not run (module did not build)"
fi

if [[ "${AFX_SKIP_DEBUG:-0}" != 1 ]]; then
	# It records into $results itself; its exit status adds nothing.
	AFX_RESULTS=$results scripts/debug-lane.sh check || true
fi

summary
