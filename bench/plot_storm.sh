#!/usr/bin/env bash
# Plots bench/storm_bench.sh's JSON lines (its --out file) with gnuplot:
# left, CPU per datagram against cameras for each backend and the raw-drain
# floor; right, recall (found / cameras) against cameras. One line per
# backend and NIC count.
#   bench/plot_storm.sh STORM.jsonl OUT.png
set -euo pipefail
in=${1:?usage: plot_storm.sh STORM.jsonl OUT.png}
out=${2:?usage: plot_storm.sh STORM.jsonl OUT.png}
command -v gnuplot >/dev/null || { echo "plot_storm.sh: needs gnuplot (Debian: gnuplot-nox)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

field() { grep -o "\"$1\":[^,}]*" | cut -d: -f2 | tr -d '"'; }
# One data file per series "<backend>, <nics> NIC(s)": cameras engine_ns raw_ns recall.
series=()
while IFS= read -r line; do
  [[ -z "$line" ]] && continue
  backend=$(field backend <<<"$line")
  nics=$(field nics <<<"$line")
  cameras=$(field cameras <<<"$line")
  engine=$(field engine_ns_per_datagram <<<"$line")
  raw=$(field raw_ns_per_datagram <<<"$line")
  found=$(field found <<<"$line")
  key="${backend}_${nics}"
  [[ -f "$tmp/$key.dat" ]] || series+=("$key")
  echo "$cameras $engine $raw $(awk -v f="$found" -v c="$cameras" 'BEGIN {printf "%.4f", c ? f / c : 0}')" >>"$tmp/$key.dat"
done <"$in"
((${#series[@]})) || { echo "plot_storm.sh: no data in $in" >&2; exit 1; }

cpu_plot="" recall_plot="" raw_done=""
for key in "${series[@]}"; do
  sort -n -o "$tmp/$key.dat" "$tmp/$key.dat"
  title="${key%_*}, ${key#*_} NIC$([[ ${key#*_} == 1 ]] || echo s)"
  cpu_plot+="'$tmp/$key.dat' using 1:2 with linespoints title '$title', "
  recall_plot+="'$tmp/$key.dat' using 1:(100*\$4) with linespoints title '$title', "
  if [[ -z "$raw_done" || "$raw_done" != *"_${key#*_} "* ]]; then
    cpu_plot+="'$tmp/$key.dat' using 1:3 with linespoints dashtype 2 title 'raw drain, ${key#*_} NIC$([[ ${key#*_} == 1 ]] || echo s)', "
    raw_done+="_${key#*_} "
  fi
done

gnuplot <<GP
set terminal pngcairo size 1200,480 font ",10" noenhanced
set offsets graph 0.05, graph 0.05, 0, 0
set output '$out'
set multiplot layout 1,2 title "onvif-sweep in a ProbeMatch storm (bench/storm_bench.sh)"
set logscale x
set xlabel "cameras (storm mode)"
set grid
set key top right
set ylabel "CPU ns per datagram"
set yrange [0:*]
plot ${cpu_plot%, }
set ylabel "recall (% found)"
set yrange [0:105]
set key bottom left
plot ${recall_plot%, }
unset multiplot
GP
echo "plot_storm.sh: wrote $out"
