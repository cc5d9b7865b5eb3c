#!/bin/bash
# Rekeys every second during a transfer: each one moves to a new key pair through the key slots,
# no packet is dropped for want of a key, and the bytes arrive intact.
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/../../scripts/netns.sh"

CHUNK_KIB=512
CHUNKS=80       # 40 MiB ...
CHUNK_GAP=0.1   # ... paced over at least 8 s, so it spans several rekeys
PORT=5303
export SL_REKEY_SECONDS=1

sl_need_root
sl_need_sluice rekey
sl_need_cmd nc sha256sum dd
sl_init rekey
sl_netns_pair
if ! sl_tunnel_pair r; then
	sl_fail "tunnel up" "no ping through the tunnel within 10 s" "$SL_LOG_S" "$SL_LOG_C"
	exit 1
fi
sl_pass "tunnel up"
sl_wait_for 5 sl_transport_is "$SL_IF_C" udp || true

head -c $((CHUNKS * CHUNK_KIB))K /dev/urandom >"$SL_WORK/send.bin"
# shellcheck disable=SC2016 # expanded by the inner shells
sl_bg "$SL_NS_S" "$SL_WORK/nc-recv.log" sh -c 'exec nc -l "$0" "$1" >"$2"' \
	"$SL_IN_S" "$PORT" "$SL_WORK/recv.bin"
recv_pid=$SL_LAST_PID
sl_wait_for 5 sl_listening "$SL_NS_S" tcp "$PORT" || sl_die "nc -l did not start"
epoch_before=$(sl_show "$SL_IF_C" | jq -r '[.peers[0].keys[].key_id] | max // 0')
# shellcheck disable=SC2016
sl_bg "$SL_NS_C" "$SL_WORK/nc-send.log" bash -c '
	for ((i = 0; i < $1; i++)); do
		dd if="$0" bs="$2K" skip="$i" count=1 status=none || exit 1
		sleep "$3"
	done | nc -N "$4" "$5"' \
	"$SL_WORK/send.bin" "$CHUNKS" "$CHUNK_KIB" "$CHUNK_GAP" "$SL_IN_S" "$PORT"
send_pid=$SL_LAST_PID
send_rc=0
sl_wait_for 60 sl_gone "$send_pid" || true
wait "$send_pid" || send_rc=$?
sl_wait_for 10 sl_gone "$recv_pid" || true

sl_check "transfer finished" "sender status $send_rc" "$SL_WORK/nc-send.log $SL_LOG_C" \
	[ "$send_rc" -eq 0 ]
sent=$(sha256sum <"$SL_WORK/send.bin" | cut -d' ' -f1)
got=$(sha256sum <"$SL_WORK/recv.bin" | cut -d' ' -f1)
sl_check "sha256 matches" "sent $sent, received $got" "$SL_LOG_S $SL_LOG_C" [ "$sent" = "$got" ]
epoch_after=$(sl_show "$SL_IF_C" | jq -r '[.peers[0].keys[].key_id] | max // 0')
sl_check "rekeyed at least 4 times" "epoch $epoch_before -> $epoch_after" "$SL_LOG_S" \
	[ "$((epoch_after - epoch_before))" -ge 4 ]
nokey=0
for ifn in "$SL_IF_S" "$SL_IF_C"; do
	n=$(sl_show "$ifn" | jq -r '.drops.nokey + ([.peers[].drops.nokey] | add // 0)')
	nokey=$((nokey + ${n:-1}))
done
sl_check "no packet dropped for want of a key" "nokey drops: $nokey" "$SL_LOG_S $SL_LOG_C" \
	[ "$nokey" -eq 0 ]
sl_finish
