#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make run`, inside the VM: load afx.ko, then run every executable
# userspace-demo/*.sh in name order (cwd /afx, build/ on PATH). The demo
# driver is userspace-demo/demo.sh; helper scripts that must not be run on
# their own should not be executable.

. /afx/scripts/guest/lib.sh

echo "=== loading afx.ko"
if ! load_afx; then
	echo "run-demos: insmod $AFX_KO failed"
	dmesg | tail -n 20
	exit 1
fi
echo "afx loaded (family $(afx_family))"

failed=0
ran=0
for demo in /afx/userspace-demo/*.sh; do
	[ -f "$demo" ] && [ -x "$demo" ] || continue
	ran=$((ran + 1))
	echo
	echo "=== ${demo#/afx/}"
	if (cd /afx && "$demo" </dev/null); then
		echo "=== ${demo#/afx/}: OK"
	else
		rc=$?
		echo "=== ${demo#/afx/}: FAILED (exit $rc)"
		failed=$((failed + 1))
	fi
done

if [ "$ran" -eq 0 ]; then
	echo "run-demos: no executable userspace-demo/*.sh yet"
	echo "(demo binaries available in /afx/build: $(ls /afx/build | tr '\n' ' '))"
fi

# Any kernel complaints during the demos are worth showing.
if dmesg | grep -E 'WARNING:|BUG:|Oops|general protection|refcount_t' >/dev/null; then
	echo
	echo "=== kernel log has warnings:"
	dmesg | tail -n 60
	failed=$((failed + 1))
fi

echo
echo "=== demos: $ran run, $failed failed"
[ "$failed" -eq 0 ]
