#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of ow.c (see README): one-way cost and context switches per
# transport. Kernel args: afx_ow_tr (transports), afx_ow_sizes, afx_ow_n.
. /afx/scripts/guest/lib.sh
load_afx || { echo "OW: insmod failed"; exit 1; }
if [ -n "$afx_ow_syms" ]; then
	echo OWSYMS-BEGIN
	grep ' [tTwW] ' /proc/kallsyms | gzip -c | base64
	echo OWSYMS-END
fi
if [ -n "$afx_ow_churn" ]; then
	for t in $(echo "${afx_ow_tr:-afxs,unixs}" | tr , " "); do
		OW_CHURN=1 /afx/build/ow "$t" 0 "${afx_ow_n:-2000}"
		sleep 1	# let RCU free this run's sockets outside the next window
	done
	exit 0
fi
for sz in $(echo "${afx_ow_sizes:-64}" | tr , " "); do
	for t in $(echo "${afx_ow_tr:-afxdg,unixdg,afxs,unixs,pipe}" | tr , " "); do
		[ -n "$afx_ow_self" ] || /afx/build/ow "$t" "$sz" "${afx_ow_n:-20000}"
		OW_SELF=1 /afx/build/ow "$t" "$sz" "${afx_ow_n:-20000}"
		sleep 1
	done
done
