# SPDX-License-Identifier: GPL-2.0
#
# Helpers shared by the guest scripts (sourced by /bin/sh).

AFX_ROOT=${AFX_ROOT:-/afx}
AFX_KO=${AFX_KO:-$AFX_ROOT/afx.ko}

# load_afx: insmod the modules afx depends on (if any), then afx.ko.
load_afx() {
	if [ -d /sys/module/afx ]; then
		return 0
	fi
	if [ -s "$AFX_ROOT/module-deps" ]; then
		while read -r dep; do
			insmod "$dep" || true
		done <"$AFX_ROOT/module-deps"
	fi
	insmod "$AFX_KO" && [ -d /sys/module/afx ]
}

# afx_family: print the address family number afx registered (its family
# parameter), or AF_X's default 18 with exit status 1 when afx is not
# loaded. The shell twin of include/afx_family.h.
afx_family() {
	cat /sys/module/afx/parameters/family 2>/dev/null || { echo 18; return 1; }
}

# parse_tap LABEL OUTFILE RC: turn a program's TAP output into results,
# through the caller's record STATUS NAME; $test_timeout names the limit
# in a timeout's result. How results are counted: scripts/guest/check.sh.
# scripts/rig-test.sh feeds it made-up output on the host.
parse_tap() {
	awk -v label="$1" -v rc="$3" -v tmo="${test_timeout:-?}" '
	function emit(st, name) {
		printf "%s\t%s: %s\n", st, label, name
		n++
		if (st == "FAIL") nfail++
	}
	# kselftest harness: "#  RUN           fixture.test ..." names the
	# next result, whose own line has no name when it is skipped.
	/^# +RUN +/ {
		cur = $0
		sub(/^# +RUN +/, "", cur); sub(/ \.\.\.$/, "", cur)
		failed = 0
	}
	# An assertion that failed: the result must not be a SKIP (a SKIP in
	# a fixture setup does not stop the 6.1 harness from running the body).
	/^# .*:[0-9]+:[^ ]+:Expected / || /Test terminated by assertion/ {
		failed = 1
	}
	/^1\.\.[0-9]+/ {
		plan = substr($1, 4) + 0
		if ($0 ~ /# *[Ss][Kk][Ii][Pp]/) planskip = 1
	}
	/^(not )?ok [0-9]+/ {
		line = $0
		notok = (line ~ /^not /)
		sub(/^(not )?ok [0-9]+ *(- *)?/, "", line)
		desc = line; directive = ""; reason = ""
		if (match(line, /# *[A-Za-z]+/)) {
			desc = substr(line, 1, RSTART - 1)
			directive = toupper(substr(line, RSTART, RLENGTH))
			gsub(/[# ]/, "", directive)
			reason = substr(line, RSTART + RLENGTH)
			sub(/^ +/, "", reason)
		}
		sub(/ +$/, "", desc)
		if (desc == "") desc = (cur != "" ? cur : "test " ++unnamed)
		if (directive == "SKIP" && failed)
			emit("FAIL", desc " (an assertion failed, then it was skipped)")
		else if (directive == "SKIP")
			emit("SKIP", desc (reason != "" ? " (" reason ")" : ""))
		else
			emit(notok ? "FAIL" : "PASS", desc)
		cur = ""
		failed = 0
	}
	END {
		if (rc == 124 || rc == 137) {
			emit("FAIL", "timed out after " tmo "s (killed)")
		} else if (n == 0) {
			if (planskip || rc == 4) emit("SKIP", "skipped (exit " rc ")")
			else emit(rc == 0 ? "PASS" : "FAIL", "exit status " rc)
		} else {
			if (plan > n)
				emit("FAIL", (plan - n) " planned test(s) did not report")
			if (plan < n)
				emit("FAIL", (plan ? n - plan " result(s) beyond the plan of " plan : "results but no TAP plan"))
			if (rc != 0 && rc != 4 && nfail == 0)
				emit("FAIL", "exit status " rc " with no failed case")
		}
	}' "$2" | while IFS="$(printf '\t')" read -r st name; do
		if [ "$st" = SKIP ] && ! expected_skip "$name"; then
			record FAIL "$name: skipped, but not in selftests/expected-skips"
		else
			record "$st" "$name"
		fi
	done
}

# The skips that may happen, one file of LANE<TAB>NAME-GLOB<TAB>REASON
# lines; LANE is stock, debug (uname -r ends in -afx-debug: the 6.1 and
# 6.12 debug kernels), rt (a PREEMPT_RT kernel, uname -r *-rt-*) or any.
expected_skips=${AFX_EXPECTED_SKIPS:-$AFX_ROOT/selftests/expected-skips}
case "$(uname -r)" in
*-afx-debug) lane=${AFX_LANE:-debug} ;;
*-rt-*) lane=${AFX_LANE:-rt} ;;
*) lane=${AFX_LANE:-stock} ;;
esac

# expected_skip NAME: true if a result NAME may be a SKIP in this lane.
expected_skip() {
	[ -f "$expected_skips" ] || return 1
	while IFS="$(printf '\t')" read -r l glob _; do
		case "$l" in '' | '#'*) continue ;; esac
		[ "$l" = any ] || [ "$l" = "$lane" ] || continue
		# shellcheck disable=SC2254 # the glob is the pattern
		case "$1" in $glob) return 0 ;; esac
	done <"$expected_skips"
	return 1
}
