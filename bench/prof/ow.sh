#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of ow.c (scripts/profile.sh churn and ow; bench/prof/README):
# scripts/guest/init runs it for afx_run=prof without afx_prof=.
#
# Kernel args:
#   afx_ow_syms=1     first print the guest's text symbols (gzip, base64,
#                     between OWSYMS-BEGIN and OWSYMS-END); =only: just that
#   afx_ow_churn=1    the W4 cycle (OW_CHURN=1) per transport, instead of
#                     one-way messages
#   afx_ow_tr         transports (default afxs,pipe,unixs; churn afxs,unixs)
#   afx_ow_sizes      message sizes (default 1,64)
#   afx_ow_n          messages, round trips or cycles per run (default 20000)
#   afx_ow_self=1     only the one-process runs (OW_SELF=1)
#
# Every run of ow is one plugin window; "OWWIN I KIND TR SIZE N" before it
# names window I (KIND churn; two: a writer and a reader process; self:
# one process), "OWWIN-COUNT I" follows the last one.
# shellcheck source=scripts/guest/lib.sh
. /afx/scripts/guest/lib.sh
load_afx || { echo "OW: insmod failed"; exit 1; }
if [ -n "$afx_ow_syms" ]; then
	echo OWSYMS-BEGIN
	grep ' [tTwW] ' /proc/kallsyms | gzip -c | base64
	echo OWSYMS-END
fi
[ "$afx_ow_syms" != only ] || exit 0

i=0
rc=0
n=${afx_ow_n:-20000}
# win KIND TR SIZE [VAR=VALUE]: one run of ow, one window
win() {
	echo "OWWIN $i $1 $2 $3 $n"
	env ${4:+"$4"} /afx/build/ow "$2" "$3" "$n" || { echo "OW: ${4:+$4 }ow $2 $3 $n failed"; rc=1; }
	i=$((i + 1))
	sleep 1	# let RCU free this run's sockets outside the next window
}
if [ -n "$afx_ow_churn" ]; then
	for t in $(echo "${afx_ow_tr:-afxs,unixs}" | tr , " "); do
		win churn "$t" 1 OW_CHURN=1
	done
else
	for sz in $(echo "${afx_ow_sizes:-1,64}" | tr , " "); do
		for t in $(echo "${afx_ow_tr:-afxs,pipe,unixs}" | tr , " "); do
			[ -n "$afx_ow_self" ] || win two "$t" "$sz"
			win self "$t" "$sz" OW_SELF=1
		done
	done
fi
echo "OWWIN-COUNT $i"
exit $rc
