# SPDX-License-Identifier: GPL-2.0
#
# Helpers shared by the host-side scripts (bash; sourced, never run):
#
#   results_init FILE [PREFIX]    where record() appends, and a prefix for
#                                 every name ("debug: " in the debug lane)
#   record PASS|FAIL|SKIP NAME    one result: "STATUS<TAB>PREFIXNAME" in the
#                                 file, "RESULT: STATUS PREFIXNAME" on stdout
#   step NAME LOG COMMAND...      run COMMAND (output on screen and in LOG)
#                                 as one result; STEP_QUIET_PASS=1 records
#                                 only a failure
#   record_tap PREFIX LOG         TAP on stdin (ok/not ok N - name, # SKIP)
#                                 to results named PREFIXname, echoed
#   guest_results LOG             the guest's "AFX-RESULT: STATUS name"
#                                 lines of a serial log as STATUS<TAB>name
#   guest_counts LOG TAG          "" if the guest's AFX-RESULT lines add up
#                                 to its "TAG: pass=N fail=N skip=N" line,
#                                 else says how they differ
#   guest_failure RC LOG [SHOWN]  name why a guest run ended without its
#                                 summary (vm.sh exit status RC, or a word)
#                                 and during which test; prints the name
#   summary                       the failed results, then the last line
#                                 `N passed, N failed[, N skipped]`; its
#                                 status is 0 only when nothing failed
#   tap_result OK|FAIL|SKIP DESC [DETAIL...]
#                                 one TAP line (scripts/package-check.sh),
#                                 counted in TAP_N, failures in TAP_FAILS
#   stage_sources DIR             copy what kbuild needs for the modules
#                                 (Kbuild, module/ with module/tests/,
#                                 uapi/, scripts/version.sh) into DIR
#   stage_tree DIR                copy what scripts/mkinitramfs.sh takes
#                                 from the tree (scripts/, selftests/,
#                                 userspace-demo/, uapi/, bench/) into DIR
#
# The results file holds one "STATUS<TAB>NAME" line per result; check.sh
# and debug-lane.sh share one when the debug lane runs inside make check.
# The scripts cd to the top of the repository before sourcing this.

# shellcheck shell=bash
# shellcheck disable=SC2034 # RESULTS_FAILED, TAP_*: read by the callers

RESULTS_FILE=${RESULTS_FILE:-build/results.txt}
RESULTS_PREFIX=${RESULTS_PREFIX:-}
RESULTS_FAILED=0

# results_init FILE [PREFIX]: FILE must exist already or is created
# empty; it is not truncated (check.sh and the debug lane share one).
results_init() {
	RESULTS_FILE=$1
	RESULTS_PREFIX=${2:-}
	RESULTS_FAILED=0
	mkdir -p "$(dirname "$RESULTS_FILE")"
	[[ -e "$RESULTS_FILE" ]] || : >"$RESULTS_FILE"
}

# record PASS|FAIL|SKIP NAME
record() {
	printf '%s\t%s%s\n' "$1" "$RESULTS_PREFIX" "$2" >>"$RESULTS_FILE"
	echo "RESULT: $1 $RESULTS_PREFIX$2"
	[[ "$1" != FAIL ]] || RESULTS_FAILED=1
}

# step NAME LOG COMMAND...: run COMMAND, output on screen and in LOG, as
# one result named NAME (with "(log: LOG)" when it fails).
step() {
	local name=$1 log=$2 start=$SECONDS
	shift 2
	echo
	echo "===== $RESULTS_PREFIX$name"
	if "$@" 2>&1 | tee "$log"; [[ ${PIPESTATUS[0]} -eq 0 ]]; then
		echo "($name: $((SECONDS - start))s)"
		[[ "${STEP_QUIET_PASS:-0}" == 1 ]] || record PASS "$name"
	else
		record FAIL "$name (log: $log)"
		return 1
	fi
}

# record_tap PREFIX LOG: the TAP results on stdin as results, each named
# PREFIX plus the description; a failure points to LOG. Every line is
# echoed.
record_tap() {
	local prefix=$1 log=$2 line
	while IFS= read -r line; do
		echo "$line"
		case $line in
		"ok "*"# SKIP"*) record SKIP "$prefix${line#ok * - }" ;;
		"ok "*) record PASS "$prefix${line#ok * - }" ;;
		"not ok "*) record FAIL "$prefix${line#not ok * - } (log: $log)" ;;
		esac
	done
}

# guest_results LOG: "AFX-RESULT: STATUS name" lines of a serial log (CRLF
# line ends there) as "STATUS<TAB>name".
guest_results() {
	tr -d '\r' <"$1" 2>/dev/null |
		sed -n 's/^AFX-RESULT: \(PASS\|FAIL\|SKIP\) \(.*\)$/\1\t\2/p'
}

# guest_failure RC LOG [SHOWN]: the name of the result for a guest that
# ended without its summary: why (vm.sh's exit status RC, or "initramfs")
# and the test that was running (the guest's last "=== name" line in LOG);
# it points to SHOWN (default LOG).
guest_counts() {
	local log=$1 tag=$2 parsed said
	parsed=$(guest_results "$log" | awk -F'\t' '{ c[$1]++ }
		END { printf "pass=%d fail=%d skip=%d", c["PASS"], c["FAIL"], c["SKIP"] }')
	said=$(tr -d '\r' <"$log" 2>/dev/null | sed -n "s/^$tag: //p" | tail -n 1)
	[[ -z "$said" || "$said" == "$parsed" ]] ||
		echo "guest: the host parsed $parsed, the guest's summary says $said"
}

guest_failure() {
	local rc=$1 log=$2 shown=${3:-$2} last why
	last=$(tr -d '\r' <"$log" 2>/dev/null | sed -n 's/^=== //p' | tail -n 1)
	case $rc in
	initramfs) why="not run: mkinitramfs.sh failed" ;;
	124) why="timed out" ;;
	0) why="stopped without a summary" ;;
	*) why="crashed or panicked" ;;
	esac
	echo "guest: $why${last:+ during $last} (see $shown)"
}

# summary: the failed results and the last line, over the whole file.
summary() {
	local pass fail skip
	pass=$(grep -c '^PASS' "$RESULTS_FILE" || true)
	fail=$(grep -c '^FAIL' "$RESULTS_FILE" || true)
	skip=$(grep -c '^SKIP' "$RESULTS_FILE" || true)
	echo
	if ((fail > 0)); then
		echo "Failed tests:"
		grep '^FAIL' "$RESULTS_FILE" | cut -f2- | sed 's/^/  - /'
	fi
	if ((skip > 0)); then
		echo "$pass passed, $fail failed, $skip skipped"
	else
		echo "$pass passed, $fail failed"
	fi
	((fail == 0))
}

TAP_N=0
TAP_FAILS=0

# tap_result OK|FAIL|SKIP DESCRIPTION [DETAIL...]: DETAIL lines follow a
# failure as TAP comments; for SKIP they are the reason.
tap_result() {
	local st=$1 desc=$2 d
	shift 2
	TAP_N=$((TAP_N + 1))
	case $st in
	OK) echo "ok $TAP_N - $desc" ;;
	SKIP) echo "ok $TAP_N - $desc # SKIP $*" ;;
	*)
		echo "not ok $TAP_N - $desc"
		TAP_FAILS=$((TAP_FAILS + 1))
		for d in "$@"; do
			printf '%s\n' "$d" | sed 's/^/#   /'
		done
		;;
	esac
}

# stage_sources DIR: the module sources as kbuild reads them (M=DIR), so
# that a build there neither sees nor leaves objects in the tree. DIR is
# created; what it held is left alone.
stage_sources() {
	local dir abs
	mkdir -p "$1/module" "$1/scripts"
	abs=$(cd "$1" && pwd)
	dir=$1
	cp Kbuild "$dir/"
	# Every .c and .h under module/ (module/tests/ too), no objects.
	(cd module && find . -name '*.[ch]' -exec cp --parents {} "$abs/module/" \;)
	cp -a uapi "$dir/"
	# Kbuild's MODULE_VERSION helper (git describe, or a VERSION file).
	cp -p scripts/version.sh "$dir/scripts/"
}

# stage_tree DIR: a snapshot of what scripts/mkinitramfs.sh copies into
# the guest, so that a long run does not see edits made meanwhile.
stage_tree() {
	local dir=$1 d
	mkdir -p "$dir"
	for d in scripts selftests userspace-demo uapi bench; do
		[[ ! -d "$d" ]] || cp -a "$d" "$dir/"
	done
}
