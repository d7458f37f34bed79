# SPDX-License-Identifier: MIT
# The chart of scripts/bench.sh: hexzfs relative to each peer, per workload.
#
# gnuplot -e "datafile='chart.dat'; outfile='chart.png'; subtitle='...'" chart.gp
#
# chart.dat columns: index, "label", then hexzfs vs direct, vs bindfs, vs
# squashfuse_ll, each oriented so that > 1 means hexzfs is better ("-" when
# there is no figure). Each bar grows from 1 (parity) upwards when hexzfs
# is better and downwards when it is worse, on a log scale.

if (!exists("datafile")) datafile = 'chart.dat'
if (!exists("outfile")) outfile = 'chart.png'
if (!exists("subtitle")) subtitle = ''

set terminal pngcairo size 1200,640 font 'DejaVu Sans,11' noenhanced
set output outfile
set datafile missing '-'
set datafile separator whitespace

set title "hexzfs relative to its peers  (> 1: hexzfs better; log scale)\n".subtitle
set logscale y 2
set yrange [0.0625:16]
set ytics ('1/16' 0.0625, '1/8' 0.125, '1/4' 0.25, '1/2' 0.5, '1' 1, '2' 2, '4' 4, '8' 8, '16' 16)
set grid ytics lc rgb '#dddddd'
set xrange [-0.6:7.6]
set xtics nomirror scale 0
set key outside top center horizontal
set border 3
set bmargin 4
set ytics nomirror

w = 0.26
# Bars beyond the range stop at its edge; their labels stay inside it.
clip(v) = v > 16 ? 16 : (v < 0.0625 ? 0.0625 : v)
lpos(v) = v >= 1 ? (v > 12 ? 12 : v * 1.13) : (v < 0.085 ? 0.085 : v / 1.13)

set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 lc rgb '#444444' front

plot \
  datafile using ($1 - w):(1):($1 - 1.5*w + 0.01):($1 - 0.5*w - 0.01):(1):(clip($3)):xtic(2) \
      with boxxyerror fs solid 0.85 lc rgb '#8da0cb' title 'vs direct (page cache)', \
  datafile using ($1):(1):($1 - 0.5*w + 0.01):($1 + 0.5*w - 0.01):(1):(clip($4)) \
      with boxxyerror fs solid 0.85 lc rgb '#fc8d62' title 'vs bindfs -r', \
  datafile using ($1 + w):(1):($1 + 0.5*w + 0.01):($1 + 1.5*w - 0.01):(1):(clip($5)) \
      with boxxyerror fs solid 0.85 lc rgb '#66c2a5' title 'vs squashfuse_ll', \
  datafile using ($1 - w):(lpos($3)):(sprintf('%.2f', $3)) with labels font ',8' notitle, \
  datafile using ($1):(lpos($4)):(sprintf('%.2f', $4)) with labels font ',8' notitle, \
  datafile using ($1 + w):(lpos($5)):(sprintf('%.2f', $5)) with labels font ',8' notitle
