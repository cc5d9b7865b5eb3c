#!/bin/bash
# IoBackend = io_uring: a receive round's TUN writes leave in one io_uring_enter. With and
# without offloads, data arrives intact, both ends say they use the ring, every packet the
# client sealed is counted by the server, and the ring still works after the privilege drop
# and seccomp filter.
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/../../scripts/netns.sh"

MIB=${IO_URING_MIB:-30}
PORT=5321

sl_need_root
sl_need_sluice io_uring
sl_need_cmd nc sha256sum jq
if [ "$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo 0)" != 0 ]; then
	echo "SKIP: kernel.io_uring_disabled is set on this machine"
	exit 0
fi
sl_init iour
sl_netns_pair
export SL_IOBACKEND=io_uring

status_field() {
	awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"
}

# transfer NAME: MIB MiB over TCP through the tunnel, sha256 compared.
transfer() {
	local name=$1 recv_pid send_pid sent got
	head -c "${MIB}M" /dev/urandom >"$SL_WORK/send.bin"
	rm -f "$SL_WORK/recv.bin"
	# shellcheck disable=SC2016 # expanded by the inner sh
	sl_bg "$SL_NS_S" "$SL_WORK/nc-recv.log" sh -c 'exec nc -l "$0" "$1" >"$2"' \
		"$SL_IN_S" "$PORT" "$SL_WORK/recv.bin"
	recv_pid=$SL_LAST_PID
	sl_wait_for 5 sl_listening "$SL_NS_S" tcp "$PORT" || sl_die "nc -l did not start"
	sl_bg_from "$SL_NS_C" "$SL_WORK/send.bin" "$SL_WORK/nc-send.log" \
		timeout 120 nc -N "$SL_IN_S" "$PORT"
	send_pid=$SL_LAST_PID
	wait "$send_pid" || true
	sl_wait_for 10 sl_gone "$recv_pid" || true
	sent=$(sha256sum <"$SL_WORK/send.bin" | cut -d' ' -f1)
	got=$(sha256sum <"$SL_WORK/recv.bin" 2>/dev/null | cut -d' ' -f1)
	sl_check "$name: ${MIB} MiB intact" "sent $sent, received ${got:-nothing}" \
		"$SL_LOG_S $SL_LOG_C" [ "$sent" = "$got" ]
}

# round OFFLOAD: one tunnel with Offload = OFFLOAD and io_uring, checked, then taken down.
round() {
	local off=$1 name="offload $1" o_s o_c sealed opened drops io
	export SL_OFFLOAD=$off
	if ! sl_tunnel_pair "iour-$off"; then
		sl_fail "$name: tunnel up" "no ping within 10 s" "$SL_LOG_S" "$SL_LOG_C"
		sl_tunnel_down
		return
	fi
	sl_pass "$name: tunnel up"
	o_s=$(sl_show "$SL_IF_S" | jq -r .offloads)
	o_c=$(sl_show "$SL_IF_C" | jq -r .offloads)
	sl_check "$name: both ends write through io_uring" "server '$o_s', client '$o_c'" \
		"$SL_LOG_S $SL_LOG_C" \
		sh -c "case ' $o_s ' in *' tun-io_uring '*) ;; *) exit 1;; esac &&
		       case ' $o_c ' in *' tun-io_uring '*) ;; *) exit 1;; esac"
	sl_check "$name: server sandboxed with the ring" \
		"Seccomp: $(status_field "$SL_PID_S" Seccomp), Uid: $(status_field "$SL_PID_S" Uid)" \
		"$SL_LOG_S" [ "$(status_field "$SL_PID_S" Seccomp)" = 2 ]
	transfer "$name"
	# Everything the client sealed over UDP reached the server's TUN or a named drop
	# (the veth loses nothing here); the TCP transfer is done, so the counters are still.
	sleep 1
	sealed=$(sl_peer "$SL_IF_C" .tx_packets)
	opened=$(sl_peer "$SL_IF_S" .rx_packets)
	drops=$(sl_show "$SL_IF_S" | jq '[.peers[].drops // {} | to_entries[].value] | add // 0')
	echo "    client sealed $sealed, server wrote $opened to its TUN, dropped $drops:" \
		"$(sl_show "$SL_IF_S" | jq -c "[.peers[].drops // {} | to_entries[] | select(.value > 0)]")"
	sl_check "$name: server accounts for every packet" \
		"sealed $sealed, written $opened, dropped $drops" "$SL_LOG_S" \
		[ "$((opened + drops))" -eq "$sealed" ]
	# (noroute: the client's own IPv6 link-local chatter, from an address not routed to it.)
	io=$(sl_show "$SL_IF_S" | jq '[.peers[].drops.io // 0] | add // 0')
	sl_check "$name: no TUN write lost" "io drops $io" "$SL_LOG_S" [ "$io" -eq 0 ]
	sl_tunnel_down
}

round no
round yes
sl_finish
