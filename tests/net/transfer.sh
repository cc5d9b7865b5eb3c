#!/bin/bash
# 100 MiB of random data over TCP through the tunnel arrives intact, and over UDP all the way.
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/../../scripts/netns.sh"

MIB=${TRANSFER_MIB:-100}
PORT=5301

sl_need_root
sl_need_sluice transfer
sl_need_cmd nc sha256sum
sl_init transfer
sl_netns_pair
if ! sl_tunnel_pair t; then
	sl_fail "tunnel up" "no ping through the tunnel within 10 s" "$SL_LOG_S" "$SL_LOG_C"
	exit 1
fi
sl_pass "tunnel up"
# The data may start on TLS until the first UDP keepalive is answered.
if sl_wait_for 5 sl_transport_is "$SL_IF_C" udp; then
	sl_pass "on udp before the transfer"
else
	sl_fail "on udp before the transfer" "client transport '$(sl_peer "$SL_IF_C" .transport)'" "$SL_LOG_C"
fi

head -c "${MIB}M" /dev/urandom >"$SL_WORK/send.bin"
# nc's own messages go to its log, the bytes to recv.bin.
# shellcheck disable=SC2016 # expanded by the inner sh
sl_bg "$SL_NS_S" "$SL_WORK/nc-recv.log" sh -c 'exec nc -l "$0" "$1" >"$2"' \
	"$SL_IN_S" "$PORT" "$SL_WORK/recv.bin"
recv_pid=$SL_LAST_PID
sl_wait_for 5 sl_listening "$SL_NS_S" tcp "$PORT" || sl_die "nc -l did not start"

start=$(sl_now_ms)
sl_bg_from "$SL_NS_C" "$SL_WORK/send.bin" "$SL_WORK/nc-send.log" nc -N "$SL_IN_S" "$PORT"
send_pid=$SL_LAST_PID

# Watch the transport while the bytes flow: it must stay on UDP (bounded: 180 s).
not_udp=
for ((i = 0; i < 360; i++)); do
	sl_alive "$send_pid" || sl_alive "$recv_pid" || break
	t=$(sl_peer "$SL_IF_C" .transport)
	[ -z "$t" ] || [ "$t" = udp ] || not_udp="$not_udp $t"
	sleep 0.5
done
send_rc=0
wait "$send_pid" || send_rc=$?
sl_wait_for 10 sl_gone "$recv_pid" || true
ms=$(($(sl_now_ms) - start))

if [ "$send_rc" -ne 0 ] || sl_alive "$recv_pid"; then
	sl_fail "transfer ${MIB} MiB" "did not finish (sender status $send_rc)" \
		"$SL_WORK/nc-send.log" "$SL_LOG_S" "$SL_LOG_C"
else
	echo "    ${MIB} MiB in $ms ms ($((MIB * 8 * 1000 / (ms > 0 ? ms : 1))) Mbit/s)"
	sl_pass "transfer ${MIB} MiB"
fi
sent=$(sha256sum <"$SL_WORK/send.bin" | cut -d' ' -f1)
got=$(sha256sum <"$SL_WORK/recv.bin" | cut -d' ' -f1)
sl_check "sha256 matches" "sent $sent, received $got ($(stat -c %s "$SL_WORK/recv.bin") bytes)" \
	"$SL_LOG_S $SL_LOG_C" [ "$sent" = "$got" ]
sl_check "transport stayed udp" "saw:$not_udp" "$SL_LOG_C" [ -z "$not_udp" ]
tx=$(sl_peer "$SL_IF_C" .tx_bytes)
sl_check "client counts the bytes it sent" "tx_bytes=${tx:-none}, expected >= ${MIB} MiB" \
	"$SL_LOG_C" [ "${tx:-0}" -ge $((MIB << 20)) ]
# Both ends offload: the client's TUN hands over TCP super-packets that leave as UDP GSO sends,
# and the server's socket takes them in whole (UDP GRO). Kernels without one of these fall back
# to one packet per call, which is slower but not wrong: then the check says which one is off.
off=$(sl_show "$SL_IF_C" | jq -r .offloads)
sl_check "client offloads on" "offloads: '$off'" "$SL_LOG_C" \
	sh -c "case ' $off ' in *' tso '*' udp-gso '*) exit 0;; *) exit 1;; esac"
supers=$(sl_show "$SL_IF_C" | jq -r .tun_super_rx)
gro=$(sl_show "$SL_IF_S" | jq -r .udp_gro_rx)
merged=$(sl_show "$SL_IF_S" | jq -r .tun_gro_tx)
echo "    client split ${supers:-?} TUN super-packets; server took ${gro:-?} coalesced datagrams" \
	"and wrote ${merged:-?} coalesced TCP super-packets to its TUN"
sl_check "super-packets split and sent" "tun_super_rx=${supers:-none}" "$SL_LOG_C" \
	[ "${supers:-0}" -gt 0 ]
sl_check "coalesced datagrams received" "udp_gro_rx=${gro:-none}" "$SL_LOG_S" [ "${gro:-0}" -gt 0 ]
sl_check "TCP segments coalesced on the TUN" "tun_gro_tx=${merged:-none}" "$SL_LOG_S" \
	[ "${merged:-0}" -gt 0 ]
sl_finish
