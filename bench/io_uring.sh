#!/bin/bash
# IoBackend = epoll against io_uring, interleaved in one run (BENCH_ROUNDS=3 pairs), with
# `Offload = no`, where every packet is one TUN write (BENCH_OFFLOAD=yes to compare with
# offloads): through a sluice tunnel between two fresh namespaces,
#   - single-stream TCP with iperf3 for BENCH_SECONDS=5,
#   - 64-byte UDP datagrams with iperf3 -u (packets per second received),
#   - with perf, the server's system calls per packet received during the UDP run.
# Ends with the line
#   IO_URING tcp_ratio=R1 pps_ratio=R2 syscalls_per_pkt_epoll=S1 syscalls_per_pkt_io_uring=S2
# (ratios io_uring / epoll, medians over the rounds). A benchmark: it never fails on speed.
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/../scripts/netns.sh"

T=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
sl_need_root
sl_need_sluice io_uring
sl_need_cmd iperf3 jq

# run_one BACKEND: "TCP_MBIT PPS SYSCALLS_PER_PKT" through one tunnel, "na" where it failed.
run_one() {
	(
		export SL_IOBACKEND=$1 SL_OFFLOAD=${BENCH_OFFLOAD:-no}
		sl_init "bench-iour-$1"
		sl_netns_pair
		sl_tunnel_pair b >/dev/null 2>&1 || { echo na na na; exit 0; }
		sl_wait_for 5 sl_transport_is "$SL_IF_C" udp || true
		sl_bg "$SL_NS_S" "$SL_WORK/iperf3-s.log" iperf3 -s -B "$SL_IN_S"
		sl_wait_for 5 sl_listening "$SL_NS_S" tcp 5201 || { echo na na na; exit 0; }
		tcp=$(ip netns exec "$SL_NS_C" iperf3 -c "$SL_IN_S" -t "$T" -J 2>/dev/null |
			jq -r '.end.sum_received.bits_per_second / 1e6 | floor' 2>/dev/null || echo na)
		perf_out=$SL_WORK/perf.txt
		if command -v perf >/dev/null; then
			timeout $((T + 5)) perf stat -x, -e raw_syscalls:sys_enter -p "$SL_PID_S" \
				-o "$perf_out" sleep "$T" >/dev/null 2>&1 &
			perf_pid=$!
		fi
		rx0=$(sl_peer "$SL_IF_S" .rx_packets)
		pps=$(ip netns exec "$SL_NS_C" iperf3 -c "$SL_IN_S" -u -l 64 -b 0 -t "$T" -J \
			2>/dev/null | jq -r '(.end.sum.packets - .end.sum.lost_packets) /
				.end.sum.seconds | floor' 2>/dev/null || echo na)
		rx1=$(sl_peer "$SL_IF_S" .rx_packets)
		spp=na
		if [ -n "${perf_pid:-}" ] && wait "$perf_pid" 2>/dev/null; then
			calls=$(awk -F, '/raw_syscalls/ { print $1 }' "$perf_out")
			[ -n "$calls" ] && [ "$rx1" -gt "$rx0" ] &&
				spp=$(awk -v c="$calls" -v n="$((rx1 - rx0))" 'BEGIN { printf "%.3f", c / n }')
		fi
		echo "  IoBackend = $1: offloads '$(sl_show "$SL_IF_S" | jq -r .offloads)'" >&2
		echo "$tcp $pps $spp"
	)
}

median() { sort -n | awk '{ a[NR] = $1 } END { print NR ? a[int((NR + 1) / 2)] : "na" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", b / a; else print "na" }'; }

: >/tmp/sluice-iour-bench.$$
for ((r = 1; r <= ROUNDS; r++)); do
	for b in epoll io_uring; do
		out=$(run_one "$b") # waits for the subshell: its namespaces are gone before the next
		read -r tcp pps spp <<<"$out"
		echo "  round $r $b: tcp ${tcp} Mbit/s, udp-64 ${pps} pkt/s, ${spp} syscalls/pkt"
		echo "$b $tcp $pps $spp" >>/tmp/sluice-iour-bench.$$
	done
done
col() { awk -v b="$1" -v k="$2" '$1 == b && $k != "na" { print $k }' /tmp/sluice-iour-bench.$$ | median; }
te=$(col epoll 2) tu=$(col io_uring 2) pe=$(col epoll 3) pu=$(col io_uring 3)
se=$(col epoll 4) su=$(col io_uring 4)
rm -f /tmp/sluice-iour-bench.$$
echo "  medians: tcp epoll $te io_uring $tu Mbit/s; udp-64 epoll $pe io_uring $pu pkt/s"
echo "IO_URING tcp_ratio=$(ratio "$te" "$tu") pps_ratio=$(ratio "$pe" "$pu")" \
	"syscalls_per_pkt_epoll=$se syscalls_per_pkt_io_uring=$su"
