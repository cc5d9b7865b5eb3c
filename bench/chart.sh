#!/bin/bash
# The chart of docs/performance.md from the output of `make bench` (bench/bench.sh):
#
#   bench/bench.sh | tee bench.out
#   bench/chart.sh bench.out [docs/performance.png]
#
# Three panels from the bench's table, one bar per tunnel: single-stream TCP throughput
# (Mbit/s), 64-byte UDP packet rate (thousands per second at the receiver) and the RTT a
# tunnel adds to the veth's (microseconds). The plain veth, far off every scale, is given in
# the panel titles instead of as a bar. Rows measured as "na" are left out. Needs gnuplot
# (gnuplot-nox).
set -eu

IN=${1:?usage: bench/chart.sh BENCH_OUTPUT [PNG]}
OUT=${2:-$(dirname "$0")/../docs/performance.png}
command -v gnuplot >/dev/null || {
	echo "chart.sh: gnuplot not installed (scripts/deps.sh --bench)" >&2
	exit 1
}
W=$(mktemp -d /tmp/sluice-chart.XXXXXX)
trap 'rm -rf "$W"' EXIT

# The table: a header line starting "peer", then one row per peer until a blank line; the
# label is the first 34 columns (bench.sh prints it with %-34s), then
#   Mbit/s  vs-veth  pps  loss%  RTT  +RTT
awk -v dat="$W/rows.dat" -v dat2="$W/rows2.dat" -v veth="$W/veth" '
	/^peer +Mbit\/s/ { table = 1; next }
	table && /^$/ { exit }
	table {
		label = substr($0, 1, 34); sub(/ +$/, "", label)
		split(substr($0, 35), f, " ")
		if (label ~ /^plain veth/) {
			printf "%s %s %s\n", f[1], f[3], f[5] > veth
			next
		}
		# Shorter labels for the x axis.
		sub(/ \(userspace, no DCO\)/, "", label); sub(/ \(userspace\)/, "", label)
		sub(/TLS\/TCP fallback/, "TLS fallback", label)
		printf "\"%s\" %s %s %s\n", label, f[1], (f[3] == "na" ? "na" : f[3] / 1000), f[6] > dat
		# Rows measured for throughput only (the OpenVPN and AnyConnect client/server rows)
		# stay out of the packet-rate and RTT panels.
		if (f[3] != "na")
			printf "\"%s\" %s %s %s\n", label, f[1], f[3] / 1000, f[6] > dat2
	}' "$IN"
[ -s "$W/rows.dat" ] || {
	echo "chart.sh: no bench table in $IN (the lines after 'peer  Mbit/s ...')" >&2
	exit 1
}
read -r veth_mbps veth_pps veth_rtt <"$W/veth" 2>/dev/null || veth_mbps=na
[ "${veth_pps:-na}" = na ] || veth_pps=$(awk -v p="$veth_pps" 'BEGIN { printf "%.0f", p / 1000 }')
rows=$(wc -l <"$W/rows.dat")
# The run's date and load from its header ("  started 2026-12-01 19:22 UTC, load average
# before: 2.44 ..."); older outputs without it get today's date.
when=$(sed -n 's/^  started \([0-9-]*\) .*/\1/p' "$IN" | head -n 1)
load=$(sed -n 's/.*load average before: \([0-9.]*\).*/, load \1 at start/p' "$IN" | head -n 1)
when=${when:-$(date -u +%Y-%m-%d)}
machine="$(nproc) vCPUs, $(uname -r)$load"

gnuplot <<EOF
set terminal pngcairo size 1200,460 font "DejaVu Sans,10"
set output "$OUT"
set datafile missing "na"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.8
set grid ytics lc rgb "#dddddd"
set yrange [0:*]
set xtics rotate by 20 right scale 0 font ",9"
set xrange [-0.6:$rows - 0.4]
set key off
set offsets 0, 0, graph 0.12, 0
set multiplot layout 1,3 title "sluice make bench, $when ($machine, shared: read the ratios)" font ",12"
set title "TCP single stream, Mbit/s\n(plain veth: ${veth_mbps} Mbit/s)"
plot "$W/rows.dat" using 2:xtic(1) lc rgb "#3b6ea8", \
	'' using (\$0):2:(sprintf("%.0f", \$2)) with labels offset 0,0.7 font ",9"
set title "64-byte UDP packets, thousands/s received\n(plain veth: ${veth_pps:-na} thousand/s)"
plot "$W/rows2.dat" using 3:xtic(1) lc rgb "#5a9e4b", \
	'' using (\$0):3:(sprintf("%.0f", \$3)) with labels offset 0,0.7 font ",9"
set title "ping RTT added to the veth's, µs\n(plain veth: ${veth_rtt:-na} µs)"
plot "$W/rows2.dat" using 4:xtic(1) lc rgb "#c0504d", \
	'' using (\$0):4:(sprintf("%.0f", \$4)) with labels offset 0,0.7 font ",9"
unset multiplot
EOF
echo "chart.sh: wrote $OUT"
