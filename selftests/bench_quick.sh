#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make check's run of the benchmark (bench/afx-bench.c): one small matrix
# of every workload over every transport, with --validate (every byte
# compared with what was sent, checksums compared at both ends, no message
# lost). One TAP result. It fails when a transport fails, hangs or loses
# or corrupts data; the numbers themselves never fail it. vsock is skipped
# when the guest has no vsock_loopback (make check does not load it).
#
# afx-bench prints its table as TAP comments; `make bench` is the real run.
# AFX_BENCH_QUICK_TRANSPORTS (afx-bench --transports) narrows the matrix:
# the debug lanes' guest sets it to AF_X's own transports, which are all
# that their KASAN and lockdep kernels can check there.

out=/tmp/afx-bench-quick.out
echo "1..1"
if ! command -v afx-bench >/dev/null 2>&1; then
	echo "not ok 1 afx-bench --quick --validate (afx-bench not built)"
	exit 1
fi
afx-bench --quick --validate --mode quick \
	${AFX_BENCH_QUICK_TRANSPORTS:+--transports "$AFX_BENCH_QUICK_TRANSPORTS"} \
	>"$out" 2>&1
rc=$?
sed 's/^/# /' "$out"
if [ "$rc" -eq 0 ]; then
	echo "ok 1 afx-bench --quick --validate"
else
	echo "not ok 1 afx-bench --quick --validate (exit $rc)"
fi
exit 0
