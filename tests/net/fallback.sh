#!/bin/bash
# When UDP is blackholed mid-transfer, the client moves its data to the TLS connection within 3 s
# and the server receives data over TLS soon after (see below why that bound is 5 s); when UDP
# works again it moves back within 10 s (to the first data packet over UDP again); the inner TCP
# connection never breaks and its bytes arrive intact. DeadAfter is 2 s here (Keepalive 1 s): the
# switch comes 2 s after the last answered probe, 1-2 s after the blackhole.
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/../../scripts/netns.sh"

CHUNK_KIB=256
CHUNKS=240       # 60 MiB ...
CHUNK_GAP=0.125  # ... paced at 2 MiB/s, so the transfer spans the whole blackout and recovery
PORT=5302
export SL_DEAD_AFTER=2

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

# counter SIDE FIELD: a counter of the first peer on the server (S) or client (C).
counter() {
	local v
	v=$(sl_peer "$([ "$1" = S ] && echo "$SL_IF_S" || echo "$SL_IF_C")" ".$2")
	echo "${v:-0}"
}

# grows SIDE FIELD BEFORE: the counter is above BEFORE.
grows() {
	[ "$(counter "$1" "$2")" -gt "$3" ]
}

# udp_data_grows BEFORE: the server got data over UDP (rx_packets - stream_rx_packets) since.
udp_rx() {
	sl_show "$SL_IF_S" | jq -r '.peers[0] | .rx_packets - .stream_rx_packets'
}
udp_data_grows() {
	[ "$(udp_rx)" -gt "$1" ]
}

sleep 3
stream_before=$(counter S stream_rx_packets)
block
t_block=$(sl_now_ms)
echo "    UDP to/from port 4500 blackholed in the client namespace"
# Two times: when the client moves its data to TLS (sluice's part, DeadAfter after the last
# answered probe), and when the first data arrives over TLS at the server. The second also waits
# for the inner TCP: segments lost in the blackout before the switch come again only at its next
# retransmission timeout, which backs off (about 0.2, 0.6, 1.4, 3.0 s after the first loss), so
# it may land a little after 3 s even when the path was ready long before.
if sl_wait_for 10 sl_transport_is "$SL_IF_C" tls; then
	ms=$(($(sl_now_ms) - t_block))
	echo "    MEASURED: client on tls $ms ms after the blackhole"
	sl_check "fallback path up within 3 s" "took $ms ms" "$SL_LOG_C $SL_LOG_S" [ "$ms" -le 3000 ]
else
	sl_fail "fallback path up within 3 s" \
		"client transport '$(sl_peer "$SL_IF_C" .transport)' after 10 s" "$SL_LOG_C" "$SL_LOG_S"
fi
if sl_wait_for 10 grows S stream_rx_packets "$stream_before"; then
	ms=$(($(sl_now_ms) - t_block))
	echo "    MEASURED: data over tls $ms ms after the blackhole"
	sl_check "fallback carries the data within 5 s" "took $ms ms" "$SL_LOG_C $SL_LOG_S" \
		[ "$ms" -le 5000 ]
else
	sl_fail "fallback carries the data within 5 s" \
		"no data over tls within 10 s; client transport '$(sl_peer "$SL_IF_C" .transport)'" \
		"$SL_LOG_C" "$SL_LOG_S"
fi

sleep 4 # data flows over TLS for a while
stream_tx=$(counter C stream_tx_packets)
udp_before=$(udp_rx)
unblock
t_unblock=$(sl_now_ms)
echo "    UDP unblocked"
sl_check "data went over tls (stream_tx_packets > 0)" "client stream_tx_packets=${stream_tx:-none}" \
	"$SL_LOG_C" [ "${stream_tx:-0}" -gt 0 ]
# Keepalives ride ESP too, so "back" means both ends say udp and data arrives over UDP again.
if sl_wait_for 15 sl_transport_is "$SL_IF_C" udp && sl_wait_for 15 sl_transport_is "$SL_IF_S" udp &&
	sl_wait_for 15 udp_data_grows "$udp_before"; then
	ms=$(($(sl_now_ms) - t_unblock))
	echo "    MEASURED: back on udp (both ends, data flowing) $ms ms after UDP returned"
	sl_check "returns to udp within 10 s" "took $ms ms" "$SL_LOG_C $SL_LOG_S" [ "$ms" -le 10000 ]
else
	sl_fail "returns to udp within 10 s" \
		"client transport '$(sl_peer "$SL_IF_C" .transport)'," \
		"server '$(sl_peer "$SL_IF_S" .transport)' after 15 s" "$SL_LOG_C" "$SL_LOG_S"
fi

if sl_wait_for 120 sl_gone "$send_pid" && sl_wait_for 10 sl_gone "$recv_pid"; then
	sl_pass "inner TCP connection survives: transfer completes"
else
	sl_fail "inner TCP connection survives: transfer completes" "still running 120 s after the end of the blackout" \
		"$SL_WORK/nc-send.log" "$SL_LOG_C" "$SL_LOG_S"
fi
sent=$(sha256sum <"$SL_WORK/send.bin" | cut -d' ' -f1)
got=$(sha256sum <"$SL_WORK/recv.bin" | cut -d' ' -f1)
sl_check "sha256 matches" "sent $sent, received $got ($(stat -c %s "$SL_WORK/recv.bin") bytes)" \
	"$SL_LOG_S $SL_LOG_C" [ "$sent" = "$got" ]
sl_finish
