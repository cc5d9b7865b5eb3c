#!/bin/bash
# Tampered ESP packets are dropped as "auth" and duplicated ones as "replay", while the traffic
# around them still flows. The client reaches the server through the impairment relay (in the
# server namespace, port 4600): UDP gets impaired, the TLS connection is proxied untouched.
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/../../scripts/netns.sh"

PINGS=100
RELAY_PORT=4600

sl_need_root
sl_need_sluice tamper_replay
if [ ! -x "$RELAY" ]; then
	echo "FAIL: tamper_replay (no relay tool at $RELAY: run make)"
	exit 1
fi
sl_init tamper_replay
sl_netns_pair

# run_case NAME DROPFIELD MIN_RECEIVED RELAY_ARGS...
run_case() {
	local name=$1 field=$2 min=$3 relay_log received drops stats
	shift 3
	relay_log=$SL_WORK/$name-relay.log
	stats=$SL_WORK/$name-relay.stats
	sl_start_server "$name"
	sl_bg "$SL_NS_S" "$relay_log" "$RELAY" --listen "$SL_ADDR_S:$RELAY_PORT" \
		--to "$SL_ADDR_S:4500" --tcp --seed 42 --stats-file "$stats" "$@"
	local relay_pid=$SL_LAST_PID
	sl_wait_for 5 sl_listening "$SL_NS_S" tcp "$RELAY_PORT" || true
	sl_start_client "$name" "$SL_ADDR_S:$RELAY_PORT"
	if ! sl_wait_tunnel 10; then
		sl_fail "$name: tunnel up through the relay" "no ping within 10 s" \
			"$SL_LOG_S" "$SL_LOG_C" "$relay_log"
		sl_tunnel_down
		sl_stop "$relay_pid"
		return
	fi
	sl_pass "$name: tunnel up through the relay"

	received=$(ip netns exec "$SL_NS_C" ping -q -c "$PINGS" -i 0.05 -W 1 "$SL_IN_S" 2>&1 |
		sed -n 's/.* \([0-9]*\) received.*/\1/p')
	received=${received:-0}
	sleep 1 # let the last keepalives and counters settle
	drops=$(sl_peers_sum "$SL_IF_S" ".drops.$field")
	sl_stop "$relay_pid"
	echo "    relay: $(grep -E '^c2s_(received|forwarded|corrupted|duplicated)=' "$stats" 2>/dev/null |
		tr '\n' ' ')"
	echo "    server: peer drops.$field=${drops:-none}; $received/$PINGS pings answered"
	sl_check "$name: most pings get through" "only $received of $PINGS answered (want >= $min)" \
		"$SL_LOG_S $SL_LOG_C" [ "$received" -ge "$min" ]
	sl_check "$name: server counts $field drops" "server peer drops.$field=${drops:-none}" \
		"$SL_LOG_S" [ "${drops:-0}" -gt 0 ]
	sl_tunnel_down
}

# 5% of client->server datagrams get one bit flipped: each must fail AEAD authentication.
run_case corrupt auth 80 --corrupt 5
# 5% are sent twice: the copy must hit the replay window, and no ping is lost.
run_case dup replay 90 --dup 5
sl_finish
