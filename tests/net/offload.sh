#!/bin/bash
# Offloads both ways: an IPv6 TCP transfer through the tunnel (TUN TSO6 super-packets cut and
# sealed per segment, UDP GSO/GRO, IPv6 segments coalesced on the server's TUN) arrives intact,
# and a tunnel with `Offload = no` (one packet per system call) carries the same bytes intact
# and says it offloads nothing.
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/../../scripts/netns.sh"

MIB=${OFFLOAD_MIB:-20}
PORT=5302

sl_need_root
sl_need_sluice offload
sl_need_cmd nc sha256sum jq iperf3
sl_init offload
head -c "${MIB}M" /dev/urandom >"$SL_WORK/send.bin"
sent=$(sha256sum <"$SL_WORK/send.bin" | cut -d' ' -f1)

# transfer CASE ADDR: send.bin over TCP to ADDR:PORT in the server namespace; checks it whole.
transfer() {
	local name=$1 addr=$2 start ms rc=0 got
	rm -f "$SL_WORK/recv.bin"
	# shellcheck disable=SC2016 # expanded by the inner sh
	sl_bg "$SL_NS_S" "$SL_WORK/nc-recv.log" sh -c 'exec nc -l "$0" "$1" >"$2"' \
		"$addr" "$PORT" "$SL_WORK/recv.bin"
	local recv_pid=$SL_LAST_PID
	sl_wait_for 5 sl_listening "$SL_NS_S" tcp "$PORT" || sl_die "nc -l did not start"
	start=$(sl_now_ms)
	sl_bg_from "$SL_NS_C" "$SL_WORK/send.bin" "$SL_WORK/nc-send.log" \
		timeout 120 nc -N "$addr" "$PORT"
	wait "$SL_LAST_PID" || rc=$?
	sl_wait_for 10 sl_gone "$recv_pid" || true
	ms=$(($(sl_now_ms) - start))
	got=$(sha256sum <"$SL_WORK/recv.bin" | cut -d' ' -f1)
	echo "    $name: ${MIB} MiB in $ms ms"
	sl_check "$name: bytes intact" "sender status $rc, sent $sent, received $got" \
		"$SL_WORK/nc-send.log $SL_LOG_S $SL_LOG_C" [ "$rc" -eq 0 -a "$sent" = "$got" ]
}

# field NAME JQ: a field of `sluice show NAME --json`.
field() {
	sl_show "$1" | jq -r "$2 // empty"
}

sl_netns_pair
if ! sl_tunnel_pair on; then
	sl_fail "tunnel up (offload on)" "no ping within 10 s" "$SL_LOG_S" "$SL_LOG_C"
	exit 1
fi
sl_wait_for 5 sl_transport_is "$SL_IF_C" udp || true
transfer "IPv6 inside, offload on" "$SL_IN6_S"
off=$(field "$SL_IF_C" .offloads)
sl_check "client offloads tso and udp-gso" "offloads: '$off'" "$SL_LOG_C" \
	sh -c "case ' $off ' in *' tso '*' udp-gso '*) exit 0;; *) exit 1;; esac"
sl_check "IPv6 super-packets split" "tun_super_rx=$(field "$SL_IF_C" .tun_super_rx)" "$SL_LOG_C" \
	[ "$(field "$SL_IF_C" .tun_super_rx)" -gt 0 ]
sl_check "IPv6 segments coalesced on the server's TUN" \
	"tun_gro_tx=$(field "$SL_IF_S" .tun_gro_tx)" "$SL_LOG_S" [ "$(field "$SL_IF_S" .tun_gro_tx)" -gt 0 ]
# The client's own IPv6 link-local chatter (router solicitations, MLD from fe80::) is refused as
# noroute by design; any other drop would be a packet lost on the offload path.
which=$(sl_show "$SL_IF_S" | jq -c '[.peers[].drops | to_entries[] | select(.value > 0 and .key != "noroute")]')
sl_check "server dropped nothing but link-local chatter" "drops: $which" "$SL_LOG_S" [ "$which" = "[]" ]
# UDP: a burst of equal datagrams leaves the client as UDP GSO sends, and where the TUN takes
# UDP super-packets (USO, Linux 6.2+) the server writes them to its TUN coalesced. Datagrams
# lost before sluice (the client TUN's queue) or after it (iperf3's socket) are the kernel's to
# count and only printed; between the two sluice processes nothing may go missing: every
# datagram the client sealed is delivered by the server or counted as a receive-queue overflow.
if [[ " $off " == *" uso "* ]]; then
	before=$(field "$SL_IF_S" .tun_gro_tx)
	tx0=$(sl_peer "$SL_IF_C" .tx_packets) rx0=$(sl_peer "$SL_IF_S" .rx_packets)
	ov0=$(field "$SL_IF_S" .drops.overflow) nr0=$(sl_peer "$SL_IF_S" .drops.noroute)
	sl_bg "$SL_NS_S" "$SL_WORK/iperf3-s.log" iperf3 -s -1 -B "$SL_IN_S"
	sl_wait_for 5 sl_listening "$SL_NS_S" tcp 5201 || sl_die "iperf3 -s did not start"
	ip netns exec "$SL_NS_C" timeout 20 iperf3 -u -c "$SL_IN_S" -b 400M -l 1200 -t 2 -J \
		>"$SL_WORK/udp.json" 2>&1 || true
	sleep 0.5
	after=$(field "$SL_IF_S" .tun_gro_tx)
	tx=$(($(sl_peer "$SL_IF_C" .tx_packets) - tx0)) rx=$(($(sl_peer "$SL_IF_S" .rx_packets) - rx0))
	ov=$(($(field "$SL_IF_S" .drops.overflow) - ov0))
	# The client's kernel chatter (IPv6 link-local: MLD, router solicitations) is sealed too and
	# refused by the server as noroute (allowed above); one landing in these 2 s is not a loss.
	nr=$(($(sl_peer "$SL_IF_S" .drops.noroute) - nr0))
	echo "    UDP: iperf3 sent $(jq -r '.end.sum.packets // 0' "$SL_WORK/udp.json")," \
		"lost $(jq -r '.end.sum.lost_percent // 100' "$SL_WORK/udp.json") % end to end;" \
		"client sealed $tx, server delivered $rx, overflow $ov, noroute $nr;" \
		"$((after - before)) coalesced writes on the server's TUN"
	sl_check "UDP datagrams coalesced on the server's TUN" "tun_gro_tx $before -> $after" \
		"$SL_LOG_S" [ "$after" -gt "$before" ]
	sl_check "UDP: every datagram sealed is delivered or counted" \
		"sealed $tx, delivered $rx, overflow $ov, noroute $nr" "$SL_LOG_S" \
		[ "$tx" -gt 0 -a "$tx" -eq $((rx + ov + nr)) ]
fi
sl_tunnel_down

SL_OFFLOAD=no
if ! sl_tunnel_pair off; then
	sl_fail "tunnel up (Offload = no)" "no ping within 10 s" "$SL_LOG_S" "$SL_LOG_C"
	exit 1
fi
sl_wait_for 5 sl_transport_is "$SL_IF_C" udp || true
transfer "IPv4 inside, Offload = no" "$SL_IN_S"
sl_check "Offload = no offloads nothing" "offloads: '$(field "$SL_IF_C" .offloads)'" "$SL_LOG_C" \
	[ "$(field "$SL_IF_C" .offloads)" = none ]
sl_check "no super-packets without offloads" "tun_super_rx=$(field "$SL_IF_C" .tun_super_rx)" \
	"$SL_LOG_C" [ "$(field "$SL_IF_C" .tun_super_rx)" -eq 0 ]
sl_finish
