#!/bin/bash
# The tunnel carries IPv4 and IPv6 both ways, over an IPv4 underlay and then an IPv6 one.
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/../../scripts/netns.sh"

sl_need_root
sl_need_sluice tunnel_basic
sl_init tunnel_basic
sl_netns_pair
sl_pki "$SL_WORK/pki"

# ping_case CASE NS ADDR: a few echo replies from ADDR through the tunnel (5 s grace for DAD).
ping_case() {
	if sl_wait_for 5 sl_ping "$2" "$3" &&
		ip netns exec "$2" ping -c 3 -i 0.2 -W 2 "$3" >>"$SL_WORK/ping.log" 2>&1; then
		sl_pass "$1"
	else
		sl_fail "$1" "no echo reply from $3 through the tunnel" "$SL_LOG_S" "$SL_LOG_C"
	fi
}

underlay() {
	local u=$1 listen=$2
	if ! sl_tunnel_pair "$u" "$listen" "$listen"; then
		sl_fail "$u underlay: tunnel up" "no ping through the tunnel within 10 s" \
			"$SL_LOG_S" "$SL_LOG_C"
		sl_tunnel_down
		return
	fi
	sl_pass "$u underlay: tunnel up"
	ping_case "$u underlay: inner v4 client->server" "$SL_NS_C" "$SL_IN_S"
	ping_case "$u underlay: inner v4 server->client" "$SL_NS_S" "$SL_IN_C"
	ping_case "$u underlay: inner v6 client->server" "$SL_NS_C" "$SL_IN6_S"
	ping_case "$u underlay: inner v6 server->client" "$SL_NS_S" "$SL_IN6_C"
	# The data may start on TLS until the first UDP keepalive is answered.
	if sl_wait_for 5 sl_transport_is "$SL_IF_C" udp; then
		sl_pass "$u underlay: transport is udp"
	else
		sl_fail "$u underlay: transport is udp" \
			"client shows transport '$(sl_peer "$SL_IF_C" .transport)'" "$SL_LOG_C"
	fi
	sl_tunnel_down
}

underlay ipv4 "$SL_ADDR_S:4500"
underlay ipv6 "[$SL_ADDR6_S]:4500"
sl_finish
