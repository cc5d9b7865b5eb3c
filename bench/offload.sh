#!/bin/bash
# Offloads on against off, in one run: single-stream TCP (iperf3, BENCH_SECONDS=10) through a
# sluice tunnel between two fresh namespaces, first with `Offload = no` (one packet per system
# call: TUN read/write, sendmmsg/recvmmsg of 1436-byte datagrams), then with the default
# `Offload = yes` (TUN TSO super-packets split and sealed per segment, UDP GSO sends, UDP GRO
# receives, TCP segments coalesced on the TUN write). Ends with the line
#   OFFLOAD off_mbit=A on_mbit=B ratio=B/A
# A benchmark, not a test: it never fails on speed. Needs root.
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/../scripts/netns.sh"

T=${BENCH_SECONDS:-10}
sl_need_root
sl_need_sluice offload
sl_need_cmd iperf3 jq

# run_one yes|no: Mbit/s through a tunnel with that Offload setting, or "na".
run_one() {
	(
		SL_OFFLOAD=$1
		sl_init "bench-offload-$1"
		sl_netns_pair
		sl_tunnel_pair b >/dev/null 2>&1 || { echo na; exit 0; }
		sl_wait_for 5 sl_transport_is "$SL_IF_C" udp || true
		sl_bg "$SL_NS_S" "$SL_WORK/iperf3-s.log" iperf3 -s -1 -B "$SL_IN_S"
		sl_wait_for 5 sl_listening "$SL_NS_S" tcp 5201 || { echo na; exit 0; }
		ip netns exec "$SL_NS_C" iperf3 -c "$SL_IN_S" -t "$T" -J >"$SL_WORK/c.json" 2>&1 ||
			{ echo na; exit 0; }
		echo "  Offload = $1: offloads '$(sl_show "$SL_IF_C" | jq -r .offloads)'" >&2
		jq -r '.end.sum_received.bits_per_second / 1e6 | floor' "$SL_WORK/c.json"
	)
}

off=$(run_one no)
echo "  Offload = no:  $off Mbit/s"
on=$(run_one yes)
echo "  Offload = yes: $on Mbit/s"
ratio=na
if [ "$off" != na ] && [ "$on" != na ] && [ "$off" -gt 0 ]; then
	ratio=$(awk -v a="$off" -v b="$on" 'BEGIN { printf "%.2f", b / a }')
fi
echo "OFFLOAD off_mbit=$off on_mbit=$on ratio=$ratio"
