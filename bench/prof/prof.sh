#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of bench/prof (see README there). afx_prof=plugin|ftrace
. /afx/scripts/guest/lib.sh
load_afx || { echo "PROF: insmod failed"; exit 1; }
T=/sys/kernel/tracing
mount -t tracefs nodev $T
phase=${afx_prof:-ftrace}
n=${afx_prof_n:-2000}
emit() { echo "PROF-BEGIN $1"; gzip -c "$2" | base64; echo "PROF-END $1"; }
if [ "$phase" = plugin ]; then
	for t in afx unix pipe; do /afx/build/pp $t $n; done
	exit 0
fi
cat /proc/uptime
cat /proc/kallsyms > /tmp/kall
cat /proc/uptime
perl /afx/scripts/guest/prof/sym.pl /afx/scripts/guest/prof/addrs.txt < /tmp/kall > /tmp/syms
cat /proc/uptime
emit syms.gz /tmp/syms
cat /proc/uptime
for t in afx unix pipe; do /afx/build/pp $t $n; done
echo 0 > $T/tracing_on
echo 65536 > $T/buffer_size_kb
echo function_graph > $T/current_tracer
echo 1 > $T/options/funcgraph-abstime
echo 1 > $T/options/funcgraph-proc
echo 0 > $T/options/sleep-time
echo 1 > $T/options/funcgraph-irqs
cat $T/trace_clock
for t in afx unix pipe; do
	echo > $T/trace
	/afx/build/pp $t ${afx_prof_tn:-100} trace
	echo > $T/set_ftrace_pid
	cp $T/trace /tmp/trace.$t
	wc -l /tmp/trace.$t
	emit trace.$t.gz /tmp/trace.$t
done
