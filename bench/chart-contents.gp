# SPDX-License-Identifier: MIT
# The chart of scripts/bench_contents.sh: the contents view relative to each
# peer, per workload.
#
# gnuplot -e "datafile='chart.dat'; outfile='chart.png'; subtitle='...'; nrows=12" chart-contents.gp
#
# chart.dat columns: index, "label", then hexzfs vs squashfuse_ll, vs the
# kernel's squashfs, vs the kernel's EROFS, vs hexzfs's raw view, each
# oriented so that > 1 means hexzfs is better ("-" when there is no figure,
# e.g. EROFS with zstd). Each bar grows from 1 (parity) upwards when hexzfs
# is better and downwards when it is worse, on a log scale.

if (!exists("datafile")) datafile = 'chart.dat'
if (!exists("outfile")) outfile = 'chart.png'
if (!exists("subtitle")) subtitle = ''
if (!exists("nrows")) nrows = 12

set terminal pngcairo size 1400,660 font 'DejaVu Sans,11' noenhanced
set output outfile
set datafile missing '-'
set datafile separator whitespace

set title "hexzfs contents view relative to its peers  (> 1: hexzfs better; log scale)\n".subtitle
set logscale y 2
set yrange [0.0625:16]
set ytics ('1/16' 0.0625, '1/8' 0.125, '1/4' 0.25, '1/2' 0.5, '1' 1, '2' 2, '4' 4, '8' 8, '16' 16)
set grid ytics lc rgb '#dddddd'
set xrange [-0.6:nrows - 0.4]
set xtics nomirror scale 0 font ',9'
set key outside top center horizontal
set border 3
set bmargin 4
set ytics nomirror

w = 0.2
# Bars beyond the range stop at its edge; their labels stay inside it.
clip(v) = v > 16 ? 16 : (v < 0.0625 ? 0.0625 : v)
lpos(v) = v >= 1 ? (v > 12 ? 12 : v * 1.13) : (v < 0.085 ? 0.085 : v / 1.13)
# Left edge of bar k (0 to 3) of group x.
left(x, k) = x - 2*w + k*w + 0.01
mid(x, k) = x - 1.5*w + k*w

set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 lc rgb '#444444' front

plot \
  datafile using (mid($1, 0)):(1):(left($1, 0)):(left($1, 1) - 0.02):(1):(clip($3)):xtic(2) \
      with boxxyerror fs solid 0.85 lc rgb '#66c2a5' title 'vs squashfuse_ll', \
  datafile using (mid($1, 1)):(1):(left($1, 1)):(left($1, 2) - 0.02):(1):(clip($4)) \
      with boxxyerror fs solid 0.85 lc rgb '#fc8d62' title 'vs kernel squashfs', \
  datafile using (mid($1, 2)):(1):(left($1, 2)):(left($1, 3) - 0.02):(1):(clip($5)) \
      with boxxyerror fs solid 0.85 lc rgb '#e78ac3' title 'vs kernel EROFS', \
  datafile using (mid($1, 3)):(1):(left($1, 3)):(left($1, 4) - 0.02):(1):(clip($6)) \
      with boxxyerror fs solid 0.85 lc rgb '#8da0cb' title 'vs raw view (uncompressed)', \
  datafile using (mid($1, 0)):(lpos($3)):(sprintf('%.2f', $3)) with labels font ',7' notitle, \
  datafile using (mid($1, 1)):(lpos($4)):(sprintf('%.2f', $4)) with labels font ',7' notitle, \
  datafile using (mid($1, 2)):(lpos($5)):(sprintf('%.2f', $5)) with labels font ',7' notitle, \
  datafile using (mid($1, 3)):(lpos($6)):(sprintf('%.2f', $6)) with labels font ',7' notitle
