#!/bin/bash
# 10,000 peers on one server, made through its control socket by bench/loadgen (a control plane
# speaking the key=value protocol) beside a real `sluice up` client: traffic from 1000 of them,
# each from its own source port, arrives and is answered, the server learns every endpoint, an
# idle peer costs at most 2 KiB (the throughput issue's bound; RssAnon growth / 10,000), the
# native client's tunnel keeps working among them, `sluice show` lists them all (a reply of
# MiBs), and deleting all 10,000 leaves the client alone.
# The figures themselves are measured by bench/scale.sh (make bench).
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/../../scripts/netns.sh"

N=10000
ACTIVE=1000
LOADGEN=$SL_BUILD/bench/loadgen

sl_need_root
sl_need_sluice scale
if [ ! -x "$LOADGEN" ]; then
	echo "FAIL: scale (no $LOADGEN: run make)"
	exit 1
fi
sl_init scale
sl_netns_pair
SL_LOGLEVEL=warn sl_start_server sc
sock=/run/sluice/$SL_IF_S.sock
sl_wait_for 5 test -S "$sock" || sl_die "no control socket $sock"
# The server's kernel answers the load generator's echo requests into the tunnel.
ip -n "$SL_NS_S" route add 198.19.64.0/18 dev "$SL_IF_S"
# The kernel's replies queue on the TUN device until the server reads them: with the default 500
# a busy machine (the CI runs other things) can overflow it, which is burst tolerance, not what
# this measures; the queue's drops are printed with the result.
ip -n "$SL_NS_S" link set dev "$SL_IF_S" txqueuelen 4096
sleep 0.5
rss0=$(sed -n 's/^RssAnon:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$SL_PID_S/status")

out=$("$LOADGEN" peers "$sock" "$N" 2>&1) || true
echo "    $out"
sl_check "$N peers made over the control socket" "loadgen: $out" "$SL_LOG_S" \
	[ "${out#peers created="$N" }" != "$out" ]
rss1=$(sed -n 's/^RssAnon:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$SL_PID_S/status")
idle=$(((rss1 - rss0) * 1024 / N))
echo "    server RssAnon $rss0 -> $rss1 KiB: $idle bytes per idle peer"
sl_check "at most 2048 bytes per idle peer" "$idle bytes" "" [ "$idle" -le 2048 ]

out=$(ip netns exec "$SL_NS_C" "$LOADGEN" traffic "$sock" "$SL_ADDR_S" 4500 "$N" "$ACTIVE" 3 2>&1) ||
	true
echo "    $out"
field() {
	echo "$out" | sed -n "s/.* $1=\([0-9]*\).*/\1/p"
}
sl_check "traffic from $ACTIVE source ports delivered" "loadgen: $out" "$SL_LOG_S" \
	[ "$(field server_rx)" = $((ACTIVE * 3)) ]
tun_drops=$(ip -n "$SL_NS_S" -s -j link show dev "$SL_IF_S" | jq '.[0].stats64.tx.dropped')
echo "    server TUN queue drops (kernel replies never read): $tun_drops"
sl_check "every echo request answered through the tunnel" "loadgen: $out; TUN drops $tun_drops" "$SL_LOG_S" \
	[ "$(field replies)" = $((ACTIVE * 3)) ]
sl_check "the server learned all $ACTIVE endpoints" "loadgen: $out" "$SL_LOG_S" \
	[ "$(field endpoints_right)" = "$ACTIVE" ]

sl_start_client sc
if sl_wait_tunnel 10; then
	sl_pass "a native client's tunnel works beside $N peers"
else
	sl_fail "a native client's tunnel works beside $N peers" "no ping within 10 s" \
		"$SL_LOG_S" "$SL_LOG_C"
fi

# Stats of 10,001 peers are MiBs: more than the socket takes at once, so the server's reply
# write has to wait for the reader (under the sandbox, where poll() would kill it).
t0=$(sl_now_ms)
sl_show "$SL_IF_S" >"$SL_WORK/show.json" || true
echo "    sluice show: $(($(sl_now_ms) - t0)) ms, $(stat -c %s "$SL_WORK/show.json") bytes of JSON"
peers=$(jq '.peers | length' "$SL_WORK/show.json" 2>/dev/null || echo none)
sl_check "sluice show lists all $((N + 1)) peers" "$peers peers" "$SL_LOG_S" [ "$peers" = $((N + 1)) ]
sl_check "the server is still running" "it exited" "$SL_LOG_S" sl_alive "$SL_PID_S"

out=$("$LOADGEN" del "$sock" "$N" 2>&1) || true
echo "    $out"
sl_check "$N peers deleted" "loadgen: $out" "$SL_LOG_S" [ "${out#peers deleted="$N" }" != "$out" ]
peers=$(sl_show "$SL_IF_S" | jq '.peers | length' 2>/dev/null || echo none)
sl_check "only the native client is left" "$peers peers" "$SL_LOG_S" [ "$peers" = 1 ]
sl_check "and its tunnel still works" "no ping" "$SL_LOG_S $SL_LOG_C" \
	ip netns exec "$SL_NS_C" ping -c 3 -i 0.2 -W 2 "$SL_IN_S"
sl_finish
