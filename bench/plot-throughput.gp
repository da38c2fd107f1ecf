# SPDX-License-Identifier: GPL-2.0
#
# W2 stream throughput (MiB/s) and W3 datagram rate (messages/s) against
# size, log axes. Variables (gnuplot -e): w2, w3 (data files: size, then
# one column per transport, named in the header), mode, out.
set terminal pngcairo size 1400,560 font ",10"
set output out
set termoption noenhanced
set datafile missing "NaN"
set key autotitle columnhead
set logscale xy
set grid xtics ytics mytics
set key top left
set format x "%.0s%cB"
set multiplot layout 1,2 title sprintf("Throughput, mode %s (higher is faster)", mode)
set title "W2 one-way stream"
set xlabel "bytes per write"
set ylabel "MiB/s"
plot for [i=2:*] w2 using 1:i with linespoints lw 2 pt (i-1) ps 1.2
set title "W3 one-way datagrams"
set xlabel "datagram size (bytes)"
set ylabel "messages/s"
set key top right
plot for [i=2:*] w3 using 1:i with linespoints lw 2 pt (i-1) ps 1.2
unset multiplot
