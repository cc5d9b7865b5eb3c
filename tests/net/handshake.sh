#!/bin/bash
# Handshake abuse on the server's TLS port, while a client is connected:
#   - 32 half-open connections from one address (at most 8 may be pending per source: the rest
#     are closed at once), 8 slowloris connections trickling a ClientHello one byte per 500 ms
#     (cut at the 10 s handshake limit all the same), 8 connections sending garbage instead of TLS
#     (failed at once); then 96 half-open connections from 12 more addresses (more than the 64
#     pending allowed in total: the oldest pending ones make room);
#   - meanwhile a new, real TLS handshake still succeeds, the existing peer keeps answering pings
#     and keeps its session, and afterwards nothing is left pending and memory is back;
#   - 2000 blind TCP resets spoofing the client's own TLS connection do not break it;
#   - a server with MaxPendingPerSource = 2 and HandshakeTimeout = 3 in its config applies them.
# Every refusal and timeout is counted (tls_* in `sluice show --json`).
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/../../scripts/netns.sh"

ABUSE=${ABUSE:-$SL_BUILD/tests/tools/tcpabuse}
# ASan's quarantine holds freed memory back, so tests/sanitize.sh allows more
RSS_SLACK=${SL_RSS_SLACK_KIB:-8192}

sl_need_root
sl_need_sluice handshake
sl_need_cmd openssl jq ss ping
if [ ! -x "$ABUSE" ]; then
	echo "FAIL: handshake (no tcpabuse tool at $ABUSE: run make)"
	exit 1
fi
sl_init handshake
sl_netns_pair
for i in $(seq 9 24); do # attacker addresses
	ip -n "$SL_NS_C" addr add "198.18.0.$i/24" dev veth0
done
if ! sl_tunnel_pair h || ! sl_wait_for 10 sl_transport_is "$SL_IF_S" udp; then
	sl_fail "tunnel up" "no ping through the tunnel within 10 s" "$SL_LOG_S" "$SL_LOG_C"
	exit 1
fi
sl_pass "tunnel up"
peer_before=$(sl_peer "$SL_IF_S" .peer_id)
rss() {
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$SL_PID_S/status"
}
tls() {
	sl_show "$SL_IF_S" | jq -r ".tls_$1 // empty"
}
rss0=$(rss)

# The existing peer pings all along (0.2 s apart, 28 s).
sl_bg "$SL_NS_C" "$SL_WORK/ping.log" ping -q -c 140 -i 0.2 -W 1 "$SL_IN_S"
ping_pid=$SL_LAST_PID

abuse() {
	local name=$1
	shift
	sl_bg "$SL_NS_C" "$SL_WORK/abuse-$name.log" "$ABUSE" --to "$SL_ADDR_S:4500" --hold-ms 14000 "$@"
}
# Phase 1, one kind per source (24 pending at most, below the total): the per-source limit, the
# handshake deadline however slowly bytes come, and garbage.
abuse idle --mode idle --from 198.18.0.9 --count 32
idle_pid=$SL_LAST_PID
abuse slowloris --mode slowloris --from 198.18.0.10 --count 8
slow_pid=$SL_LAST_PID
abuse garbage --mode garbage --from 198.18.0.11 --count 8
garbage_pid=$SL_LAST_PID
for pid in "$idle_pid" "$slow_pid" "$garbage_pid"; do
	sl_wait_for 20 sl_gone "$pid" || true
done
# field LOG KEY: a number from a tcpabuse result line.
field() {
	sed -n "s/.* $2=\([0-9]*\).*/\1/p" "$SL_WORK/abuse-$1.log"
}
for name in idle slowloris garbage; do
	echo "    $name: $(cat "$SL_WORK/abuse-$name.log")"
done

# Phase 2: 96 half-open connections from 12 sources, more than the 64 pending allowed in total,
# and a real client's handshake in the middle of them.
many_pids=()
for i in $(seq 13 24); do
	abuse "many$i" --mode idle --from "198.18.0.$i" --count 8
	many_pids+=("$SL_LAST_PID")
done
sleep 2
pending_peak=$(tls pending)
t0=$(sl_now_ms)
# (its exit status reflects how the server ended the session that followed, not the handshake)
ip netns exec "$SL_NS_C" timeout 8 openssl s_client -connect "$SL_ADDR_S:4500" \
	-cert "$SL_WORK/pki/client.pem" -key "$SL_WORK/pki/client.key" \
	-CAfile "$SL_WORK/pki/ca.pem" -verify_return_error -brief </dev/null \
	>"$SL_WORK/s_client.log" 2>&1 || true
if grep -q 'CONNECTION ESTABLISHED' "$SL_WORK/s_client.log" &&
	grep -q 'Verification: OK' "$SL_WORK/s_client.log"; then
	echo "    MEASURED: new TLS handshake during the abuse took $(($(sl_now_ms) - t0)) ms" \
		"(pending connections on the server: $pending_peak)"
	sl_pass "a new TLS handshake succeeds during the abuse"
else
	sl_fail "a new TLS handshake succeeds during the abuse" "openssl s_client failed" \
		"$SL_WORK/s_client.log" "$SL_LOG_S"
fi
sl_check "pending connections stay bounded (<= 64)" "tls_pending=$pending_peak" "$SL_LOG_S" \
	[ "${pending_peak:-999}" -le 64 ]
rss_peak=$(rss)
for pid in "${many_pids[@]}"; do
	sl_wait_for 20 sl_gone "$pid" || true
done
many_fast=0 many_open=0
for i in $(seq 13 24); do
	many_fast=$((many_fast + $(field "many$i" closed_within_1s)))
	many_open=$((many_open + $(field "many$i" still_open)))
done
echo "    12 more sources x 8 idle: $many_fast closed within 1 s (evicted), $many_open left open"
echo "    server: $(sl_show "$SL_IF_S" | jq -c 'with_entries(select(.key | startswith("tls_")))')"

sl_check "half-open: beyond 8 per source closed at once" "$(cat "$SL_WORK/abuse-idle.log")" \
	"$SL_LOG_S" [ "$(field idle closed_within_1s)" -ge 24 ]
sl_check "half-open: the 8 admitted time out within 10-13 s" "$(cat "$SL_WORK/abuse-idle.log")" \
	"$SL_LOG_S" [ "$(field idle still_open)" -eq 0 -a "$(field idle max_close_ms)" -ge 9000 \
	-a "$(field idle max_close_ms)" -le 13000 ]
sl_check "slowloris: trickling does not extend the 10 s limit" \
	"$(cat "$SL_WORK/abuse-slowloris.log")" "$SL_LOG_S" \
	[ "$(field slowloris still_open)" -eq 0 -a "$(field slowloris max_close_ms)" -le 13000 ]
sl_check "garbage instead of TLS: closed at once" "$(cat "$SL_WORK/abuse-garbage.log")" \
	"$SL_LOG_S" [ "$(field garbage closed_within_1s)" -eq 8 ]
sl_check "many sources: oldest pending evicted, nothing left open" \
	"evicted $(tls evicted_pending), $many_open still open" "$SL_LOG_S" \
	[ "$(tls evicted_pending)" -ge 32 -a "$many_open" -eq 0 ]
sl_check "every refusal and timeout counted" \
	"per_source $(tls refused_per_source), timeouts $(tls handshake_timeouts), failures $(tls handshake_failures)" \
	"$SL_LOG_S" [ "$(tls refused_per_source)" -ge 24 -a "$(tls handshake_timeouts)" -ge 16 \
	-a "$(tls handshake_failures)" -ge 8 ]
nothing_pending() {
	[ "$(tls pending)" = 0 ]
}
sl_wait_for 5 nothing_pending || true
sl_check "nothing left pending afterwards" "tls_pending=$(tls pending)" "$SL_LOG_S" \
	[ "$(tls pending)" = 0 ]
rss1=$(rss)
echo "    server RSS $rss0 KiB before, $rss_peak with 64 pending, $rss1 after"
sl_check "server memory bounded (RSS + <= $((RSS_SLACK >> 10)) MiB)" \
	"RSS $rss0 -> $rss_peak -> $rss1 KiB" "$SL_LOG_S" \
	[ $((rss_peak - rss0)) -le "$RSS_SLACK" -a $((rss1 - rss0)) -le "$RSS_SLACK" ]

sl_wait_for 20 sl_gone "$ping_pid" || true
received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$SL_WORK/ping.log")
echo "    existing peer: ${received:-0}/140 pings answered during the abuse"
sl_check "the existing peer keeps working" "${received:-0}/140 pings" "$SL_LOG_S $SL_LOG_C" \
	[ "${received:-0}" -ge 138 ]
sl_check "the existing peer keeps its session" "peer id $peer_before -> $(sl_peer "$SL_IF_S" .peer_id)" \
	"$SL_LOG_S" [ "$(sl_peer "$SL_IF_S" .peer_id)" = "$peer_before" ]

# Blind resets against the client's own TLS connection (its four-tuple, random sequence numbers).
sport=$(ip netns exec "$SL_NS_C" ss -Htn state established "dst $SL_ADDR_S:4500" |
	awk '{print $3}' | sed 's/.*://' | head -n 1)
if [ -n "$sport" ]; then
	ip netns exec "$SL_NS_C" "$ABUSE" --mode rst --from "$SL_ADDR_C" --spoof-port "$sport" \
		--to "$SL_ADDR_S:4500" --count 2000 --seed 5 >"$SL_WORK/rst.log" 2>&1 || true
	echo "    $(cat "$SL_WORK/rst.log") (spoofing $SL_ADDR_C:$sport -> $SL_ADDR_S:4500)"
	sleep 1
	still=$(ip netns exec "$SL_NS_C" ss -Htn state established "dst $SL_ADDR_S:4500" |
		grep -c ":$sport " || true)
	sl_check "spoofed resets do not break the TLS connection" \
		"connection from port $sport gone; $(cat "$SL_WORK/rst.log")" "$SL_LOG_S $SL_LOG_C" \
		[ "$still" -ge 1 -a "$(sl_peer "$SL_IF_S" .peer_id)" = "$peer_before" ]
	sl_check "the tunnel still answers after the resets" "no ping" "$SL_LOG_S" \
		sl_ping "$SL_NS_C" "$SL_IN_S"
else
	sl_fail "spoofed resets do not break the TLS connection" "no established TLS connection found"
fi
sl_check "server alive" "server process gone" "$SL_LOG_S" sl_alive "$SL_PID_S"

# Non-default limits from the config: 2 pending per source, a 3 s handshake deadline.
sl_tunnel_down
SL_CONF_SERVER_EXTRA=$'MaxPendingPerSource = 2\nHandshakeTimeout = 3' sl_start_server h2
ip netns exec "$SL_NS_C" "$ABUSE" --to "$SL_ADDR_S:4500" --hold-ms 8000 --mode idle \
	--from 198.18.0.12 --count 6 >"$SL_WORK/abuse-custom.log" 2>&1 || true
echo "    custom limits: $(cat "$SL_WORK/abuse-custom.log")"
sl_check "config keys: beyond MaxPendingPerSource = 2 closed at once, HandshakeTimeout = 3 s" \
	"$(cat "$SL_WORK/abuse-custom.log")" "$SL_LOG_S" \
	[ "$(field custom closed_within_1s)" -ge 4 -a "$(field custom still_open)" -eq 0 \
	-a "$(field custom max_close_ms)" -ge 2500 -a "$(field custom max_close_ms)" -le 6000 ]
sl_finish
