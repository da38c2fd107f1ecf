#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# rig-test.sh - the guest's TAP parser (parse_tap in scripts/guest/lib.sh)
# against made-up test output, on the host: it must turn every way a test
# program can misreport into a failure; and the host's check that it got
# every result the guest counted (guest_counts in scripts/lib.sh). Prints TAP, one line per case;
# scripts/check.sh records them as "rig: ...".
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The guest library, with this file's fixture of expected skips, as the
# Debian kernel's lane.
export AFX_ROOT=$PWD AFX_LANE=stock AFX_EXPECTED_SKIPS=$tmp/expected-skips
printf 'stock\tbuild/fixture_test: *\ta skip the fixture expects\n' >"$tmp/expected-skips"
# shellcheck source=scripts/guest/lib.sh
. scripts/guest/lib.sh
# shellcheck disable=SC2034 # parse_tap reads it
test_timeout=300

got=$tmp/got
record() {
	printf '%s\t%s\n' "$1" "$2" >>"$got"
}

n=0
fails=0
# expect DESC LABEL RC WANT: parse the TAP on stdin as program LABEL that
# exited RC; WANT (an ERE) must match the results, one "STATUS name" a line.
expect() {
	local desc=$1 label=$2 rc=$3 want=$4
	: >"$got"
	cat >"$tmp/out"
	parse_tap "$label" "$tmp/out" "$rc"
	n=$((n + 1))
	if tr '\t' ' ' <"$got" | grep -qE "$want"; then
		echo "ok $n - $desc"
	else
		fails=$((fails + 1))
		echo "not ok $n - $desc"
		sed 's/^/#   got: /' "$got"
	fi
}

expect "a clean run passes" build/x_test 0 '^PASS build/x_test: a$' <<'EOF'
1..1
ok 1 a
EOF

expect "a planned test that never reports fails" build/x_test 1 \
	'^FAIL build/x_test: 1 planned test\(s\) did not report$' <<'EOF'
1..2
ok 1 a
EOF

expect "a result beyond the plan fails" build/x_test 0 \
	'^FAIL build/x_test: 1 result\(s\) beyond the plan of 1$' <<'EOF'
1..1
ok 1 a
ok 2 b
EOF

expect "results without a plan fail" x.sh 0 '^FAIL x.sh: results but no TAP plan$' <<'EOF'
ok 1 a
EOF

expect "a SKIP after a failed assertion fails" build/x_test 0 \
	'^FAIL build/x_test: f.t \(an assertion failed, then it was skipped\)$' <<'EOF'
1..1
#  RUN           f.t ...
#      SKIP      no such thing
# x_test.c:10:t:Expected 0 (0) == r (1)
ok 1 f.t # SKIP no such thing
EOF

expect "a SKIP the expected-skips file does not list fails" build/x_test 0 \
	'^FAIL build/x_test: f.t \(why\): skipped, but not in selftests/expected-skips$' <<'EOF'
1..1
ok 1 f.t # SKIP why
EOF

expect "a SKIP it lists for this lane is a skip" build/fixture_test 0 \
	'^SKIP build/fixture_test: f.t \(why\)$' <<'EOF'
1..1
ok 1 f.t # SKIP why
EOF

AFX_LANE=debug
# shellcheck disable=SC2034 # expected_skip reads it
lane=debug
expect "a SKIP it lists for another lane fails" build/fixture_test 0 \
	'^FAIL build/fixture_test: f.t \(why\): skipped' <<'EOF'
1..1
ok 1 f.t # SKIP why
EOF

expect "a non-zero exit without a failed case fails" build/x_test 1 \
	'^FAIL build/x_test: exit status 1 with no failed case$' <<'EOF'
1..1
ok 1 a
EOF

expect "a timeout fails" build/x_test 124 '^FAIL build/x_test: timed out after 300s' <<'EOF'
1..2
ok 1 a
EOF

# The host's check of a guest log against the guest's own summary
# (guest_counts in scripts/lib.sh, which also defines a record() we do
# not use here).
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
printf 'AFX-RESULT: PASS a\r\nAFX-RESULT: SKIP b\r\nAFX-SUMMARY: pass=1 fail=0 skip=1\r\n' >"$tmp/log"
n=$((n + 1))
if [[ -z "$(guest_counts "$tmp/log" AFX-SUMMARY)" ]]; then
	echo "ok $n - a guest log that matches its summary passes"
else
	fails=$((fails + 1))
	echo "not ok $n - a guest log that matches its summary passes"
fi
printf 'AFX-RESULT: PASS a\r\nAFX-SUMMARY: pass=2 fail=0 skip=0\r\n' >"$tmp/log"
n=$((n + 1))
if guest_counts "$tmp/log" AFX-SUMMARY | grep -q 'the host parsed pass=1 fail=0 skip=0, the guest.s summary says pass=2'; then
	echo "ok $n - a result lost between guest and host fails"
else
	fails=$((fails + 1))
	echo "not ok $n - a result lost between guest and host fails"
fi

echo "1..$n"
((fails == 0))
