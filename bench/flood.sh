#!/bin/bash
# The flood target of issue 7 measured as a series: tests/net/flood.sh (ESP) and
# tests/net/flood_openvpn.sh (OpenVPN), FLOOD_RUNS times each (default 5), alternating, each run
# with FLOOD_MIN_KEPT=90 (so a run whose 95 % interval lies wholly below 90 % says FAIL). Prints
# every run's median controlled ratio and interval, then per wire
#   FLOOD wire=W runs=N median_of_medians=M.m runs_at_or_above_90=K
# The flood's pace and sizes are the tests' own (FLOOD_PPS, FLOOD_PER_KIND, ... pass through).
# A benchmark, not a test: it exits 0 whatever the figures. About 25 s a run. Needs root.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${FLOOD_RUNS:-5}

if [ "$(id -u)" != 0 ]; then
	echo "bench/flood.sh: needs root (network namespaces)" >&2
	exit 1
fi

# ratio LOG: "median lo hi" in per mille from a run's MEASURED line, or nothing.
ratio() {
	sed -n 's/.*controlled ratio \([0-9]*\)\.\([0-9]\) % (median of [0-9]* cycles, 95 % interval \([0-9]*\)-\([0-9]*\) %).*/\1\2 \3 \4/p' "$1" |
		head -n 1
}

declare -A all=()
log=$(mktemp /tmp/sluice-bench-flood.XXXXXX)
trap 'rm -f "$log"' EXIT
for ((run = 1; run <= RUNS; run++)); do
	for wire in esp openvpn; do
		script=$ROOT/tests/net/flood.sh
		[ "$wire" = openvpn ] && script=$ROOT/tests/net/flood_openvpn.sh
		FLOOD_MIN_KEPT=90 bash "$script" >"$log" 2>&1 || true
		read -r med lo hi < <(ratio "$log" || true) || true
		if [ -z "${med:-}" ]; then
			echo "run $run $wire: no ratio measured; its last lines:"
			tail -n 5 "$log" | sed 's/^/    /'
			continue
		fi
		echo "run $run $wire: median controlled ratio $((med / 10)).$((med % 10)) %," \
			"95 % interval $lo-$hi %$(grep -q 'FAIL: the legitimate flow keeps' "$log" &&
				echo ': FAIL (wholly below 90 %)')"
		all[$wire]="${all[$wire]:-} $med"
		med=""
	done
done
for wire in esp openvpn; do
	read -ra m <<<"${all[$wire]:-}"
	n=${#m[@]}
	if [ "$n" = 0 ]; then
		echo "FLOOD wire=$wire runs=0"
		continue
	fi
	mapfile -t sorted < <(printf '%s\n' "${m[@]}" | sort -n)
	if ((n % 2)); then
		mm=${sorted[n / 2]}
	else
		mm=$(((sorted[n / 2 - 1] + sorted[n / 2]) / 2))
	fi
	ok=0
	for v in "${m[@]}"; do
		[ "$v" -ge 900 ] && ok=$((ok + 1))
	done
	echo "FLOOD wire=$wire runs=$n median_of_medians=$((mm / 10)).$((mm % 10))" \
		"runs_at_or_above_90=$ok"
done
