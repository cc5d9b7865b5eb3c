#!/bin/bash
# Workers = 2 on both ends (docs/workers.md): four parallel TCP transfers through the tunnel arrive
# intact (SHA-256 each) while the native control plane rekeys every 3 s; both workers of each end
# send (the multi-queue TUN spreads the flows), the receive side of each end is steered by SPI,
# and no packet is dropped as a replay, an auth failure or for want of a key, interface or peer.
# Then a measurement, no pass/fail: iperf3 -P 2 through the tunnel with Workers = 2, and again
# with Workers = 1; the ratio is printed.
#
#   WORKERS_TEST_SECONDS   how long each transfer runs (default 12)
#   WORKERS_CONF_EXTRA     more [Interface] lines for both ends (the ThreadSanitizer run:
#                          "Seccomp = no", since the filter does not know TSan's system calls)
# ThreadSanitizer: CC=clang meson setup build-tsan -Dbuildtype=debug -Db_sanitize=thread
#   -Db_lundef=false; ninja -C build-tsan sluice; then
#   TSAN_OPTIONS=log_path=/tmp/tsan/report BUILD=build-tsan WORKERS_CONF_EXTRA="Seccomp = no" \
#   bash tests/net/workers.sh   (reports, if any, land in /tmp/tsan/report.PID)
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/../../scripts/netns.sh"

SECONDS_RUN=${WORKERS_TEST_SECONDS:-12}
PORT=5321 # .. PORT + 3; iperf3 on PORT + 10
NFLOWS=4
export SL_REKEY_SECONDS=3

sl_need_root
sl_need_sluice workers
sl_need_cmd nc sha256sum tee jq
sl_init workers
sl_netns_pair
export SL_CONF_EXTRA="Workers = 2
${WORKERS_CONF_EXTRA:-}"
if ! sl_tunnel_pair w; then
	sl_fail "tunnel up with Workers = 2" "no ping through the tunnel within 10 s" \
		"$SL_LOG_S" "$SL_LOG_C"
	exit 1
fi
sl_pass "tunnel up with Workers = 2"
for ifn in "$SL_IF_S" "$SL_IF_C"; do
	n=$(sl_show "$ifn" | jq -r .workers)
	sl_check "$ifn runs 2 workers" "workers=${n:-none}" "$SL_LOG_S $SL_LOG_C" [ "${n:-0}" = 2 ]
done
sl_wait_for 5 sl_transport_is "$SL_IF_C" udp || true

# Each flow repeats its own random 4 MiB block for SECONDS_RUN seconds; both ends hash.
epoch_before=$(sl_show "$SL_IF_C" | jq -r '[.peers[0].keys[].key_id] | max // 0')
recv_pids=() send_pids=()
for ((f = 0; f < NFLOWS; f++)); do
	head -c 4M /dev/urandom >"$SL_WORK/block$f.bin"
	# shellcheck disable=SC2016 # expanded by the inner shell
	sl_bg "$SL_NS_S" "$SL_WORK/nc-recv$f.log" bash -c \
		'nc -l "$0" "$1" | tee >(wc -c >"$2.bytes") | sha256sum >"$2"' \
		"$SL_IN_S" $((PORT + f)) "$SL_WORK/recv$f.sum"
	recv_pids+=("$SL_LAST_PID")
done
for ((f = 0; f < NFLOWS; f++)); do
	sl_wait_for 5 sl_listening "$SL_NS_S" tcp $((PORT + f)) || sl_die "nc -l $f did not start"
done
t0=$(sl_now_ms)
for ((f = 0; f < NFLOWS; f++)); do
	# shellcheck disable=SC2016
	sl_bg "$SL_NS_C" "$SL_WORK/nc-send$f.log" bash -c '
		end=$((SECONDS + $1))
		while [ "$SECONDS" -lt "$end" ]; do cat "$0" || exit 1; done |
			tee >(sha256sum >"$2") | nc -N "$3" "$4"' \
		"$SL_WORK/block$f.bin" "$SECONDS_RUN" "$SL_WORK/sent$f.sum" "$SL_IN_S" $((PORT + f))
	send_pids+=("$SL_LAST_PID")
done
send_rc=0
for pid in "${send_pids[@]}"; do
	sl_wait_for $((SECONDS_RUN + 60)) sl_gone "$pid" || true
	if sl_alive "$pid"; then
		send_rc=timeout
	else
		wait "$pid" || send_rc=$?
	fi
done
t1=$(sl_now_ms)
for pid in "${recv_pids[@]}"; do sl_wait_for 10 sl_gone "$pid" || true; done
bytes=0
for ((f = 0; f < NFLOWS; f++)); do
	sl_wait_for 10 test -s "$SL_WORK/sent$f.sum" || true
	sl_wait_for 10 test -s "$SL_WORK/recv$f.sum" || true
done
sleep 0.5
sl_check "$NFLOWS transfers finished" "sender status $send_rc" "$SL_LOG_C" [ "$send_rc" = 0 ]
for ((f = 0; f < NFLOWS; f++)); do
	sent=$(cut -d' ' -f1 "$SL_WORK/sent$f.sum" 2>/dev/null || true)
	got=$(cut -d' ' -f1 "$SL_WORK/recv$f.sum" 2>/dev/null || true)
	b=$(cat "$SL_WORK/recv$f.sum.bytes" 2>/dev/null || echo 0)
	bytes=$((bytes + b))
	sl_check "flow $f: sha256 matches ($((b >> 20)) MiB)" "sent ${sent:-none}, received ${got:-none}" \
		"$SL_LOG_S $SL_LOG_C" [ "${sent:-none}" = "${got:-}" ]
done
echo "    MEASURED: $((bytes >> 20)) MiB in $((t1 - t0)) ms over $NFLOWS flows" \
	"($((bytes * 8 / 1000 / ((t1 - t0) > 0 ? t1 - t0 : 1))) Mbit/s) with Workers = 2, rekeying"
epoch_after=$(sl_show "$SL_IF_C" | jq -r '[.peers[0].keys[].key_id] | max // 0')
rekeys=$(((epoch_after - epoch_before + 256) % 256))
echo "    key epoch $epoch_before -> $epoch_after: $rekeys rekeys"
sl_check "rekeyed during the transfers" "$rekeys rekeys in $SECONDS_RUN s" "$SL_LOG_S" \
	[ "$rekeys" -ge 2 ]

for ifn in "$SL_IF_S" "$SL_IF_C"; do
	s=$(sl_show "$ifn")
	echo "    $ifn:" "$(jq -r '[to_entries[] | select(.key | test("^worker[0-9]")) |
		"\(.key)=\(.value)"] | join(" ")' <<<"$s")"
	for w in 0 1; do
		n=$(jq -r ".worker${w}_tx_packets // 0" <<<"$s")
		sl_check "$ifn: worker $w sent" "worker${w}_tx_packets=$n" "$SL_LOG_S $SL_LOG_C" \
			[ "$n" -gt 0 ]
	done
	rx=$(jq -r '[to_entries[] | select(.key | test("^worker[0-9]+_rx_packets$")) | .value] |
		add // 0' <<<"$s")
	peer_rx=$(jq -r '[.peers[].rx_packets] | add // 0' <<<"$s")
	sl_check "$ifn: the workers' rx_packets add up to the peers'" "workers $rx, peers $peer_rx" \
		"$SL_LOG_S $SL_LOG_C" [ "$rx" -eq "$peer_rx" -a "$rx" -gt 0 ]
	for d in replay auth nokey; do
		n=$(jq -r ".drops.$d + ([.peers[].drops.$d] | add // 0)" <<<"$s")
		sl_check "$ifn: no $d drops" "$d drops: ${n:-none}" "$SL_LOG_S $SL_LOG_C" \
			[ "${n:-1}" -eq 0 ]
	done
done

# Measurement only: iperf3 -P 2, Workers = 2 (this tunnel) and then Workers = 1.
iperf() {
	local port=$((PORT + 10)) out=$SL_WORK/iperf-$1.json
	sl_bg "$SL_NS_S" "$SL_WORK/iperf-s-$1.log" timeout 30 iperf3 -s -1 -B "$SL_IN_S" -p "$port"
	local spid=$SL_LAST_PID
	sl_wait_for 5 sl_listening "$SL_NS_S" tcp "$port" || return 0
	timeout 30 ip netns exec "$SL_NS_C" iperf3 -c "$SL_IN_S" -p "$port" -P 2 -t 5 -J \
		>"$out" 2>/dev/null || true
	sl_wait_for 5 sl_gone "$spid" || sl_stop "$spid"
	jq -r '.end.sum_received.bits_per_second // 0 | floor' "$out" 2>/dev/null || echo 0
}
if command -v iperf3 >/dev/null; then
	bps2=$(iperf w2)
	sl_tunnel_down
	export SL_CONF_EXTRA="Workers = 1
${WORKERS_CONF_EXTRA:-}"
	if sl_tunnel_pair w1; then
		bps1=$(iperf w1)
		echo "    MEASURED: iperf3 -P 2: Workers = 1 $((bps1 / 1000000)) Mbit/s," \
			"Workers = 2 $((bps2 / 1000000)) Mbit/s, ratio" \
			"$(awk -v a="$bps2" -v b="$bps1" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')" \
			"on $(nproc) CPUs"
	else
		echo "    (no Workers = 1 tunnel for the comparison)"
	fi
fi
sl_finish
