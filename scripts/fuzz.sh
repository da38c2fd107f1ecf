#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make fuzz`: the fuzzers of the debug lane (scripts/guest/fuzz.sh:
# trinity and tools/afx-fuzz.c on the KASAN/lockdep/kmemleak/UBSAN kernel)
# for as long as asked, without the selftests. It is the debug lane of
# `make check` with ONLY=fuzz (the KUnit suites still run first) and a
# longer fuzzing time; the kmemleak scan and the kernel-log check follow
# the fuzzing as there. Ends with `N passed, N failed`; the figures of
# each fuzzer are the "AFX-FUZZ:" lines, repeated at the end.
#
# Environment: FUZZ_SECONDS (default 600: half trinity, a quarter each
# afx-fuzz as nobody and as root in a new network namespace), FUZZ_SEED
# (default: random, printed), FUZZ_LANE (debug or debug-6.12, default
# debug: the 6.1 debug kernel), and the debug lanes' knobs
# (scripts/lane.sh).
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
secs=${FUZZ_SECONDS:-600}
if ! [[ "$secs" =~ ^[0-9]+$ ]] || ((secs < 8)); then
	echo "fuzz.sh: FUZZ_SECONDS must be a number of seconds >= 8" >&2
	exit 2
fi

scripts/deps.sh
make -s module userspace

export ONLY=fuzz
export AFX_FUZZ_SECONDS=$secs
[[ -z "${FUZZ_SEED:-}" ]] || export AFX_FUZZ_SEED=$FUZZ_SEED
# The guest also boots, runs KUnit and scans for leaks: allow 20 minutes.
export AFX_DEBUG_VM_TIMEOUT=${AFX_DEBUG_VM_TIMEOUT:-$((secs + 1200))}
lane=${FUZZ_LANE:-debug}
dir=build/$lane
mkdir -p "$dir"
export AFX_RESULTS=$dir/fuzz-results.txt
: >"$AFX_RESULTS"
results_init "$AFX_RESULTS"

start=$SECONDS
scripts/lane.sh check "$lane" || true

echo
echo "===== fuzz figures ($((SECONDS - start))s in all)"
tr -d '\r' <"$dir/guest-check.log" 2>/dev/null | grep '^AFX-FUZZ:' || echo "(none)"
summary
