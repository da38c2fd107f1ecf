#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# demos.sh - the userspace demos (userspace-demo/demo.sh) as a test: each
# part of the narrated demo runs and must succeed (echo, dgram, poll,
# discover, memfd). demo.sh itself checks every step's output and fails
# on a missing line, a non-zero exit or a timeout.
#
# Runs in the test VM as root with afx.ko loaded; the demo binaries are
# looked up in $AFX_BUILD (default: ../build next to this script, then
# /afx/build). Prints TAP: "ok N desc" / "not ok N desc", the plan at the
# end.

here=$(cd "$(dirname "$0")" && pwd)
demo=$here/../userspace-demo/demo.sh
for d in "${AFX_BUILD:-}" "$here/../build" /afx/build; do
	if [ -n "$d" ] && [ -x "$d/afx-memfd" ]; then
		PATH=$d:$PATH
		break
	fi
done
export PATH

n=0
fails=0
for part in echo dgram poll discover memfd; do
	n=$((n + 1))
	if out=$("$demo" "$part" </dev/null 2>&1); then
		echo "ok $n demo.sh $part"
	else
		echo "not ok $n demo.sh $part"
		printf '%s\n' "$out" | sed 's/^/# /'
		fails=$((fails + 1))
	fi
done
echo "1..$n"
[ "$fails" -eq 0 ]
