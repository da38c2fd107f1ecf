#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of pp.c (scripts/profile.sh pp; bench/prof/README):
# scripts/guest/init runs it for afx_run=prof with afx_prof= set.
#
# Kernel args:
#   afx_prof=pp       (any value) this script rather than ow.sh
#   afx_prof_tr       transports (default afx,pipe,unix)
#   afx_prof_n        round trips per run (default 20000, after pp's own
#                     2000 warm-up ones)
#   afx_ow_syms=1     first print the guest's text symbols (as ow.sh)
#
# Every run of pp is one plugin window; "OWWIN I pp TR 64 N" before it
# names window I, "OWWIN-COUNT I" follows the last one.
# shellcheck source=scripts/guest/lib.sh
. /afx/scripts/guest/lib.sh
load_afx || { echo "PROF: insmod failed"; exit 1; }
if [ -n "$afx_ow_syms" ]; then
	echo OWSYMS-BEGIN
	grep ' [tTwW] ' /proc/kallsyms | gzip -c | base64
	echo OWSYMS-END
fi

i=0
rc=0
n=${afx_prof_n:-20000}
for t in $(echo "${afx_prof_tr:-afx,pipe,unix}" | tr , " "); do
	echo "OWWIN $i pp $t 64 $n"
	/afx/build/pp "$t" "$n" || { echo "PROF: pp $t $n failed"; rc=1; }
	i=$((i + 1))
	sleep 1	# let RCU free this run's sockets outside the next window
done
echo "OWWIN-COUNT $i"
exit $rc
