#!/bin/bash
# When UDP is blocked mid-transfer, the data moves to the TLS connection within seconds; when
# UDP works again it moves back; the transfer never breaks and arrives intact.
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/../../scripts/netns.sh"

CHUNK_KIB=256
CHUNKS=240       # 60 MiB ...
CHUNK_GAP=0.125  # ... paced at 2 MiB/s, so the transfer spans the whole blackout and recovery
PORT=5302

sl_need_root
sl_need_sluice fallback
sl_need_cmd nc nft sha256sum dd
sl_init fallback
sl_netns_pair
if ! sl_tunnel_pair f; then
	sl_fail "tunnel up" "no ping through the tunnel within 10 s" "$SL_LOG_S" "$SL_LOG_C"
	exit 1
fi
sl_pass "tunnel up"
if sl_wait_for 5 sl_transport_is "$SL_IF_C" udp; then
	sl_pass "starts on udp"
else
	sl_fail "starts on udp" "client transport '$(sl_peer "$SL_IF_C" .transport)'" "$SL_LOG_C"
fi

head -c $((CHUNKS * CHUNK_KIB))K /dev/urandom >"$SL_WORK/send.bin"
# shellcheck disable=SC2016 # expanded by the inner shells
sl_bg "$SL_NS_S" "$SL_WORK/nc-recv.log" sh -c 'exec nc -l "$0" "$1" >"$2"' \
	"$SL_IN_S" "$PORT" "$SL_WORK/recv.bin"
recv_pid=$SL_LAST_PID
sl_wait_for 5 sl_listening "$SL_NS_S" tcp "$PORT" || sl_die "nc -l did not start"
# shellcheck disable=SC2016
sl_bg "$SL_NS_C" "$SL_WORK/nc-send.log" bash -c '
	for ((i = 0; i < $1; i++)); do
		dd if="$0" bs="$2K" skip="$i" count=1 status=none || exit 1
		sleep "$3"
	done | nc -N "$4" "$5"' \
	"$SL_WORK/send.bin" "$CHUNKS" "$CHUNK_KIB" "$CHUNK_GAP" "$SL_IN_S" "$PORT"
send_pid=$SL_LAST_PID

block() {
	ip netns exec "$SL_NS_C" nft -f - <<'EOF'
table inet sluice_test_block {
	chain out {
		type filter hook output priority 0; policy accept;
		udp dport 4500 drop
	}
	chain in {
		type filter hook input priority 0; policy accept;
		udp sport 4500 drop
	}
}
EOF
}

unblock() {
	ip netns exec "$SL_NS_C" nft delete table inet sluice_test_block
}

sleep 3
block
t_block=$(sl_now_ms)
echo "    UDP to/from port 4500 blocked in the client namespace"
if sl_wait_for 5 sl_transport_is "$SL_IF_C" tls; then
	echo "    client on tls after $(($(sl_now_ms) - t_block)) ms"
	sl_pass "falls back to tls within 5 s"
else
	sl_fail "falls back to tls within 5 s" \
		"client transport still '$(sl_peer "$SL_IF_C" .transport)'" "$SL_LOG_C" "$SL_LOG_S"
fi

sleep 4 # data flows over TLS for a while
stream_tx=$(sl_peer "$SL_IF_C" .stream_tx_packets)
unblock
t_unblock=$(sl_now_ms)
echo "    UDP unblocked"
sl_check "data went over tls (stream_tx_packets > 0)" "client stream_tx_packets=${stream_tx:-none}" \
	"$SL_LOG_C" [ "${stream_tx:-0}" -gt 0 ]
if sl_wait_for 15 sl_transport_is "$SL_IF_C" udp; then
	echo "    client back on udp after $(($(sl_now_ms) - t_unblock)) ms"
	sl_pass "returns to udp within 15 s"
else
	sl_fail "returns to udp within 15 s" \
		"client transport still '$(sl_peer "$SL_IF_C" .transport)'" "$SL_LOG_C" "$SL_LOG_S"
fi

if sl_wait_for 120 sl_gone "$send_pid" && sl_wait_for 10 sl_gone "$recv_pid"; then
	sl_pass "transfer completes"
else
	sl_fail "transfer completes" "still running 120 s after the end of the blackout" \
		"$SL_WORK/nc-send.log" "$SL_LOG_C" "$SL_LOG_S"
fi
sent=$(sha256sum <"$SL_WORK/send.bin" | cut -d' ' -f1)
got=$(sha256sum <"$SL_WORK/recv.bin" | cut -d' ' -f1)
sl_check "sha256 matches" "sent $sent, received $got ($(stat -c %s "$SL_WORK/recv.bin") bytes)" \
	"$SL_LOG_S $SL_LOG_C" [ "$sent" = "$got" ]
sl_finish
