#!/bin/bash
# Roaming: mid-transfer the client's packets start arriving from a new source address and port
# (the relay moves its upstream socket to 198.18.0.5, as a NAT rebinding or a roaming client
# would). The server must follow after the first authenticated packet from there, and never for an
# unauthenticated one: forged ESP packets carrying the peer's SPI from another address are dropped
# as auth and leave the endpoint where it was. The inner TCP transfer survives, intact.
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/../../scripts/netns.sh"

RELAY_PORT=4600
PORT=5305
NEW_ADDR=198.18.0.5   # the relay's source after the move (server namespace)
SPOOF_ADDR=198.18.0.9 # the attacker's source (client namespace)
CHUNK_KIB=256
CHUNKS=120      # 30 MiB ...
CHUNK_GAP=0.05  # ... paced over at least 6 s, so the move happens mid-transfer

sl_need_root
sl_need_sluice roam
sl_need_cmd nc sha256sum jq dd
if [ ! -x "$RELAY" ]; then
	echo "FAIL: roam (no relay tool at $RELAY: run make)"
	exit 1
fi
sl_init roam
sl_netns_pair
ip -n "$SL_NS_S" addr add "$NEW_ADDR/24" dev veth0
ip -n "$SL_NS_C" addr add "$SPOOF_ADDR/24" dev veth0

sl_start_server m
sl_bg "$SL_NS_S" "$SL_WORK/relay.log" "$RELAY" --listen "$SL_ADDR_S:$RELAY_PORT" \
	--to "$SL_ADDR_S:4500" --tcp --rebind-from "$NEW_ADDR" --stats-file "$SL_WORK/relay.stats"
relay_pid=$SL_LAST_PID
sl_wait_for 5 sl_listening "$SL_NS_S" tcp "$RELAY_PORT" || true
sl_start_client m "$SL_ADDR_S:$RELAY_PORT"
if ! sl_wait_tunnel 10 || ! sl_wait_for 10 sl_transport_is "$SL_IF_S" udp; then
	sl_fail "tunnel up on udp through the relay" "no ping, or not on udp" "$SL_LOG_S" \
		"$SL_LOG_C" "$SL_WORK/relay.log"
	exit 1
fi
sl_pass "tunnel up on udp through the relay"

endpoint() {
	sl_peer "$SL_IF_S" .endpoint
}
endpoint_is_new() {
	[[ $(endpoint) == "$NEW_ADDR:"* ]]
}
auth_drops() {
	sl_peers_sum "$SL_IF_S" .drops.auth
}
ep_before=$(endpoint)
echo "    server sees the client at $ep_before"

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
sleep 1

# Forged packets from another address: the peer's SPI, fresh sequence numbers, no valid tag.
spi=$(sl_show "$SL_IF_S" | jq -r '.peers[0].keys[] | select(.slot == 0) | .rx_spi')
auth_before=$(auth_drops)
byte() {
	printf '%b' "\\x$(printf %02x "$1")"
}
# forge SEQ: SPI, sequence number 0x7fffff00 + SEQ (ahead of the window), 120 random bytes.
forge() {
	local b
	for b in $((spi >> 24 & 255)) $((spi >> 16 & 255)) $((spi >> 8 & 255)) $((spi & 255)) \
		127 255 255 "$1"; do
		byte "$b"
	done
	head -c 120 /dev/urandom
}
for seq in 1 2 3 4 5 6 7 8; do
	# built in a file first: nc sends each read of its input as one datagram
	forge "$seq" >"$SL_WORK/forged.bin"
	ip netns exec "$SL_NS_C" nc -u -w 0 -s "$SPOOF_ADDR" -p 4999 \
		"$SL_ADDR_S" 4500 <"$SL_WORK/forged.bin" || true
done
auth_at_least() {
	[ "$(auth_drops)" -ge "$1" ]
}
sl_wait_for 3 auth_at_least $((auth_before + 8)) || true
auth_after=$(auth_drops)
echo "    8 forged packets from $SPOOF_ADDR:4999 with spi $spi: auth drops $auth_before -> $auth_after"
sl_check "forged packets are dropped as auth" "auth drops $auth_before -> $auth_after" \
	"$SL_LOG_S" [ "$auth_after" -ge $((auth_before + 8)) ]
sl_check "an unauthenticated packet does not move the endpoint" "endpoint now $(endpoint)" \
	"$SL_LOG_S" [ "$(endpoint)" = "$ep_before" ]

kill -USR2 "$relay_pid"
t_move=$(sl_now_ms)
if sl_wait_for 5 endpoint_is_new; then
	echo "    MEASURED: server follows to $(endpoint) $(($(sl_now_ms) - t_move)) ms after the move"
	sl_pass "server follows the authenticated packets to the new address"
else
	sl_fail "server follows the authenticated packets to the new address" \
		"endpoint still $(endpoint); relay rebinds=$(sed -n 's/^rebinds=//p' \
			"$SL_WORK/relay.stats")" "$SL_LOG_S" "$SL_WORK/relay.log"
fi

if sl_wait_for 60 sl_gone "$send_pid" && sl_wait_for 10 sl_gone "$recv_pid"; then
	sl_pass "inner TCP connection survives the move"
else
	sl_fail "inner TCP connection survives the move" "transfer still running after 60 s" \
		"$SL_WORK/nc-send.log" "$SL_LOG_C" "$SL_LOG_S"
fi
sent=$(sha256sum <"$SL_WORK/send.bin" | cut -d' ' -f1)
got=$(sha256sum <"$SL_WORK/recv.bin" | cut -d' ' -f1)
sl_check "sha256 matches" "sent $sent, received $got ($(stat -c %s "$SL_WORK/recv.bin") bytes)" \
	"$SL_LOG_S $SL_LOG_C" [ "$sent" = "$got" ]
sl_check "still on udp after the move" "server transport $(sl_peer "$SL_IF_S" .transport)" \
	"$SL_LOG_S" sl_transport_is "$SL_IF_S" udp
sl_check "endpoint stays at the new address" "endpoint $(endpoint)" "$SL_LOG_S" endpoint_is_new
sl_finish
