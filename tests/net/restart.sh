#!/bin/bash
# The client reconnects by itself when the server goes away and comes back: once after a clean
# stop (SIGTERM) and once after a crash (SIGKILL, no goodbye).
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/../../scripts/netns.sh"

sl_need_root
sl_need_sluice restart
sl_init restart
sl_netns_pair
if ! sl_tunnel_pair r; then
	sl_fail "tunnel up" "no ping through the tunnel within 10 s" "$SL_LOG_S" "$SL_LOG_C"
	exit 1
fi
sl_pass "tunnel up"

# restart_case NAME SIGNAL: stop the server with SIGNAL, check the tunnel is down, start the
# server again with the same config, and wait up to 20 s for the client's pings to get through.
restart_case() {
	local name=$1 sig=$2 t0 log_before
	log_before=$SL_LOG_S
	sl_stop "$SL_PID_S" "$sig"
	if sl_ping "$SL_NS_C" "$SL_IN_S"; then
		sl_fail "$name: server is gone" "ping still answered after the server stopped" "$SL_LOG_S"
	fi
	sleep 2 # the client notices: keepalives go unanswered, the TLS connection breaks
	# Same config file, a fresh log.
	SL_LOG_S=$SL_WORK/r-server-after-$sig.log
	sl_up "$SL_NS_S" "$SL_IF_S" "$SL_CONF_S" "$SL_LOG_S"
	SL_PID_S=$SL_LAST_PID
	t0=$(sl_now_ms)
	if sl_wait_for 20 sl_ping "$SL_NS_C" "$SL_IN_S"; then
		echo "    pings through again $(($(sl_now_ms) - t0)) ms after the server restarted"
		sl_pass "$name: client reconnects within 20 s"
	else
		sl_fail "$name: client reconnects within 20 s" "no ping through the tunnel" \
			"$log_before" "$SL_LOG_S" "$SL_LOG_C"
	fi
}

restart_case "server stopped (SIGTERM)" TERM
restart_case "server crashed (SIGKILL)" KILL
sl_check "client process survived both" "the client exited" "$SL_LOG_C" sl_alive "$SL_PID_C"
sl_finish
