# SPDX-License-Identifier: GPL-2.0
#
# W1 round trip against message size, log axes: p50 and p99 side by side.
# Variables (gnuplot -e): p50, p99 (data files: size, then one column per
# transport with its name in the header, microseconds), mode, out.
set terminal pngcairo size 1400,560 font ",10"
set output out
set termoption noenhanced
set datafile missing "NaN"
set key autotitle columnhead
set logscale xy
set xlabel "message size (bytes)"
set ylabel "round trip (us)"
set grid xtics ytics mytics
set key top left
set format x "%.0s%cB"
set multiplot layout 1,2 title sprintf("W1 ping-pong round trip, mode %s (lower is faster)", mode)
set title "median (p50)"
plot for [i=2:*] p50 using 1:i with linespoints lw 2 pt (i-1) ps 1.2
set title "p99"
plot for [i=2:*] p99 using 1:i with linespoints lw 2 pt (i-1) ps 1.2
unset multiplot
