#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Static analysis of the module, one verdict per tool:
#
#   scripts/static-check.sh checkpatch
#       checkpatch.pl --strict --no-tree -f over module/*.[ch],
#       module/tests/*.[ch] (the KUnit suites) and uapi/linux/*.h (from
#       the Debian linux-source tree in the cache).
#       Passes only with 0 errors, 0 warnings and 0 checks.
#   scripts/static-check.sh sparse
#       A C=2 W=1 kbuild of a copy of the module sources in build/sparse/
#       (stage_sources of scripts/lib.sh: the in-tree objects are
#       untouched and everything is recompiled). Passes when the build succeeds and neither sparse nor
#       gcc prints a warning or error.
#
# Output goes to stdout; the exit status is the verdict.
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
shopt -s nullglob

case "${1:-}" in
checkpatch)
	ksrc=$(scripts/linux-source.sh)
	files=(module/*.[ch] module/tests/*.[ch] uapi/linux/*.h)
	if ((${#files[@]} == 0)); then
		echo "static-check: nothing to check" >&2
		exit 1
	fi
	# --show-types names each finding's type, for the rare --ignore.
	perl "$ksrc/scripts/checkpatch.pl" --strict --no-tree --show-types \
		-f "${files[@]}"
	;;
sparse)
	kdir=$(scripts/kver.sh --kdir)
	dir=build/sparse
	rm -rf "$dir"
	# Sources only: stale objects must not spare anything a rebuild.
	stage_sources "$dir"
	log=build/sparse.log
	set +e
	make -C "$kdir" M="$(pwd)/$dir" C=2 W=1 modules 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	set -e
	n=$(grep -cE '(warning|error):' "$log" || true)
	echo "static-check: sparse/W=1 build exit $rc, $n warning/error line(s)"
	((rc == 0 && n == 0))
	;;
*)
	echo "usage: $0 checkpatch|sparse" >&2
	exit 2
	;;
esac
