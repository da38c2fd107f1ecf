# SPDX-License-Identifier: GPL-2.0
#
# Heat map: speed of every transport relative to AF_UNIX of the same type,
# for every workload and size (> 1 faster, < 1 slower; log2 colour scale).
# Variables (gnuplot -e): data (matrix with row and column headers: the
# transports and the cells), ncols, nrows, mode, out.
ncols = ncols + 0
nrows = nrows + 0
set terminal pngcairo size (220 + 62 * ncols),(140 + 44 * nrows) font ",9"
set output out
set datafile missing "NaN"
set datafile separator "\t"
set termoption noenhanced
set title sprintf("Speed relative to AF_UNIX of the same type, mode %s (>1: faster)", mode)
set palette defined (-2 "#b2182b", -1 "#ef8a62", 0 "#f7f7f7", 1 "#67a9cf", 2 "#2166ac")
set cbrange [-2:2]
set cbtics ("0.25" -2, "0.5" -1, "1" 0, "2" 1, "4" 2)
set cblabel "speed ratio (log scale)"
set xtics rotate by 45 right
set xrange [-0.5:ncols-0.5]
set yrange [-0.5:nrows-0.5]
set tics nomirror scale 0
unset key
plot data matrix rowheaders columnheaders using 1:2:(log($3)/log(2)) with image, \
     data matrix rowheaders columnheaders using 1:2:($3 == $3 ? sprintf("%.2f", $3) : "") with labels font ",8"
