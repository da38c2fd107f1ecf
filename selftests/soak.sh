#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# soak.sh - a bounded afx_soak run (see selftests/afx_soak.c): 1000 stream
# connections exchanging checksummed data across two client processes and
# four threads, connect/close churn, a signal storm against a blocked
# recv(), rmmod attempts (refused while sockets exist) and network
# namespaces that die with live and pending sockets; then rmmod afx must
# succeed (and the module is loaded again for the tests after this one).
#
# AFX_SOAK_SECONDS (default 60) and AFX_SOAK_CONNECTIONS (default 1000)
# set the size; `make soak` runs only this, as long as asked. Runs in the
# test VM as root. Prints TAP.

secs=${AFX_SOAK_SECONDS:-60}
conns=${AFX_SOAK_CONNECTIONS:-1000}
soak=$(command -v afx_soak || echo /afx/build/afx_soak)

echo "1..2"
if "$soak" -t "$secs" -c "$conns" -p 2; then
	echo "ok 1 soak: ${conns} connections for ${secs}s, 0 bytes lost, 0 errors"
else
	echo "not ok 1 soak: ${conns} connections for ${secs}s (figures above)"
fi

# Everything closed: the module must unload now (afx_diag holds it).
for m in afx_diag afx_kunit; do
	[ -d "/sys/module/$m" ] && rmmod "$m"
done
i=0
while [ $i -lt 10 ] && ! rmmod afx 2>/dev/null; do
	sleep 1	# sockets of exited processes are released by RCU
	i=$((i + 1))
done
if [ ! -d /sys/module/afx ]; then
	echo "ok 2 soak: rmmod afx succeeds once the soak's sockets are closed"
else
	echo "not ok 2 soak: rmmod afx still refused after the soak (refcnt $(cat /sys/module/afx/refcnt))"
fi
