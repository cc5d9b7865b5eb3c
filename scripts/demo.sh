#!/bin/bash
# `make demo`: a server and a client in two network namespaces joined by a veth, a sluice
# tunnel between them, `sluice show` on both sides, and a 10 s iperf3 TCP stream through the
# tunnel. Everything is removed on exit. Needs root (namespaces, TUN devices).
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/netns.sh"

step() {
	printf '\n== %s\n' "$*"
}

sl_need_root
sl_need_cmd ip iperf3 jq ping
[ -x "$SLUICE" ] || sl_die "no sluice binary at $SLUICE (run make)"
sl_init demo

step "namespaces $SL_NS_S (server) and $SL_NS_C (client), veth $SL_ADDR_S <-> $SL_ADDR_C"
sl_netns_pair

step "certificates (sluice pki) in $SL_WORK/pki"
sl_pki "$SL_WORK/pki"
ls "$SL_WORK/pki"

step "server config ($SL_WORK/server.conf)"
sl_conf_server "$SL_WORK/server.conf" "$SL_IF_S" "$SL_ADDR_S:4500"
cat "$SL_WORK/server.conf"
step "client config ($SL_WORK/client.conf)"
sl_conf_client "$SL_WORK/client.conf" "$SL_IF_C" "$SL_ADDR_S:4500"
cat "$SL_WORK/client.conf"

step "sluice up (server, then client)"
sl_up "$SL_NS_S" "$SL_IF_S" "$SL_WORK/server.conf" "$SL_WORK/server.log"
server_pid=$SL_LAST_PID
sl_wait_for 5 sl_listening "$SL_NS_S" tcp 4500 || true
sl_up "$SL_NS_C" "$SL_IF_C" "$SL_WORK/client.conf" "$SL_WORK/client.log"
client_pid=$SL_LAST_PID
start=$(sl_now_ms)
if ! sl_wait_for 10 sl_ping "$SL_NS_C" "$SL_IN_S"; then
	sl_tail "$SL_WORK/server.log" "$SL_WORK/client.log"
	sl_die "the tunnel did not come up within 10 s"
fi
echo "tunnel up after $(($(sl_now_ms) - start)) ms: client $SL_IN_C pings server $SL_IN_S"
ip netns exec "$SL_NS_C" ping -c 3 -i 0.2 "$SL_IN_S" | tail -n 2

step "sluice show (server)"
"$SLUICE" show "$SL_IF_S"
step "sluice show (client)"
"$SLUICE" show "$SL_IF_C"

step "iperf3: 10 s TCP from the client to the server, through the tunnel"
sl_bg "$SL_NS_S" "$SL_WORK/iperf3-server.log" iperf3 -s -1 -B "$SL_IN_S"
iperf_pid=$SL_LAST_PID
sl_wait_for 5 sl_listening "$SL_NS_S" tcp 5201 || sl_die "iperf3 server did not start"
ip netns exec "$SL_NS_C" iperf3 -c "$SL_IN_S" -t 10 -J >"$SL_WORK/iperf3.json"
mbps=$(jq -r '.end.sum_received.bits_per_second / 1e6 | . * 10 | round / 10' "$SL_WORK/iperf3.json")
retr=$(jq -r '.end.sum_sent.retransmits // 0' "$SL_WORK/iperf3.json")
sl_stop "$iperf_pid"
echo "throughput: $mbps Mbit/s (TCP retransmits: $retr)"

step "sluice show after the transfer (server)"
"$SLUICE" show "$SL_IF_S"
step "sluice show after the transfer (client)"
"$SLUICE" show "$SL_IF_C"

step "sluice down"
"$SLUICE" down "$SL_IF_C" || sl_stop "$client_pid"
"$SLUICE" down "$SL_IF_S" || sl_stop "$server_pid"
sl_stop "$client_pid"
sl_stop "$server_pid"
echo "done; namespaces and files are removed on exit"
