#!/bin/bash
# The impairment matrix: an inner TCP transfer through the relay (tests/tools/relay.c) under
# loss 1 % and 5 %, reordering 10 % (held back by up to 64 datagrams), duplication 5 % and delay
# 20 ms +- 10 ms (each way, on both directions) must arrive intact (SHA-256), and the server must account for every datagram the
# relay delivered to it:
#
#   relay c2s_forwarded = udp_rx_datagrams + drops.overflow            (the kernel's share)
#   udp_rx_datagrams    = accepted + sum over reasons of udp_rx_drop_*  (sluice's share)
#   accepted            = data over UDP (rx_packets - stream_rx_packets) + keepalives
#                         (+ control_rx, the control packets of the OpenVPN wire)
#
# The relay is seeded, so the fate of the Nth datagram is the same on every run. To read settled
# counters the client is stopped (SIGSTOP) after the transfer: nothing more enters the relay, which
# empties its delay and reorder queues within 250 ms; then the server's counters are read, and the
# relay's (SIGUSR1 makes it print them).
#
# With WIRE=openvpn (tests/net/impair_openvpn.sh) both ends are `sluice openvpn --config FILE`
# (scripts/netns_wire.sh): the same matrix over OpenVPN 2.6's UDP wire, where "accepted" also
# counts the control packets the engine handed to the control plane (control_rx).
#
#   IMPAIR_MIB     size of each transfer (default 50, as the issue asks)
#   IMPAIR_CASES   "all" (default), "matrix": only the five cases the issue lists, or case names
#                  (e.g. "loss1 combined": tests/sanitize.sh's short run)
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/../../scripts/netns.sh"
# shellcheck source=scripts/netns_wire.sh
. "$(dirname "$0")/../../scripts/netns_wire.sh"

MIB=${IMPAIR_MIB:-50}
CASES=${IMPAIR_CASES:-all}
RELAY_PORT=4600
PORT=5304

sl_need_root
sl_need_sluice "$(sl_wire_name impair)"
sl_need_cmd nc sha256sum jq
if [ ! -x "$RELAY" ]; then
	echo "FAIL: $(sl_wire_name impair) (no relay tool at $RELAY: run make)"
	exit 1
fi
sl_init "$(sl_wire_name impair)"
sl_netns_pair
head -c "${MIB}M" /dev/urandom >"$SL_WORK/all.bin"

# relay_stat NAME FILE: the values of a key=value counter in the relay's output.
relay_stat() {
	sed -n "s/^$1=//p" "$2"
}

# The server's accounting of received datagrams, from `sluice show --json`: prints
# "datagrams accepted rxdrops overflow breakdown".
server_accounting() {
	sl_show "$SL_IF_S" | jq -r '
		def rxdrops: [to_entries[] | select(.key | startswith("udp_rx_drop_")) | .value] | add // 0;
		def named: [to_entries[] | select(.key | startswith("udp_rx_drop_")) | select(.value > 0)
			| "\(.key | ltrimstr("udp_rx_drop_"))=\(.value)"];
		(.peers | map(.rx_packets - .stream_rx_packets + .keepalive_rx) | add // 0) as $data
		| ((.keepalive_rx // 0) + (.control_rx // 0)) as $nat
		| (rxdrops + (.peers | map(rxdrops) | add // 0)) as $drops
		| ((named + (.peers | map(named) | add // [])) | join(",")) as $why
		| "\(.udp_rx_datagrams) \($data + $nat) \($drops) \(.drops.overflow) \(if $why == "" then "-" else $why end)"'
}

# printed_more LOG N: the relay has printed its counters more than N times into LOG.
printed_more() {
	[ "$(grep -c '^c2s_forwarded=' "$1")" -gt "$2" ]
}

# wanted NAME: the case is in IMPAIR_CASES (all, matrix, or a list of names).
wanted() {
	case $CASES in
	all) return 0 ;;
	matrix) [[ " loss1 loss5 reorder10 dup5 delay20 " == *" $1 "* ]] ;;
	*) [[ " ${CASES//,/ } " == *" $1 "* ]] ;;
	esac
}

# run_case NAME MIB RELAY_ARGS...: one transfer of MIB MiB under one impairment (5 min at most).
run_case() {
	local name=$1 mib=$2 limit=300 relay_log stats t0 t1 send_pid recv_pid send_rc=0 got
	local fwd rx acc drops ovf why sent_sum
	shift 2
	wanted "$name" || return 0
	head -c "${mib}M" "$SL_WORK/all.bin" >"$SL_WORK/send.bin"
	sent_sum=$(sha256sum <"$SL_WORK/send.bin" | cut -d' ' -f1)
	relay_log=$SL_WORK/$name-relay.log
	stats=$SL_WORK/$name-relay.stats
	rm -f "$SL_WORK/recv.bin"
	sl_wire_start_server "$name"
	sl_bg "$SL_NS_S" "$relay_log" "$RELAY" --listen "$SL_ADDR_S:$RELAY_PORT" \
		--to "$SL_ADDR_S:4500" --tcp --both --seed 7 --stats-file "$stats" "$@"
	local relay_pid=$SL_LAST_PID
	sl_wait_for 5 sl_listening "$SL_NS_S" tcp "$RELAY_PORT" || true
	sl_wire_start_client "$name" "$SL_ADDR_S:$RELAY_PORT"
	if ! sl_wait_tunnel 15 || ! sl_wait_for 10 sl_transport_is "$SL_IF_C" udp; then
		sl_fail "$name: tunnel up on udp through the relay" "no ping or not on udp" \
			"$SL_LOG_S" "$SL_LOG_C" "$relay_log"
		sl_stop "$SL_PID_C"
		sl_stop "$relay_pid"
		sl_stop "$SL_PID_S"
		return
	fi
	# shellcheck disable=SC2016 # expanded by the inner shell
	sl_bg "$SL_NS_S" "$SL_WORK/nc-recv.log" sh -c 'exec nc -l "$0" "$1" >"$2"' \
		"$SL_IN_S" "$PORT" "$SL_WORK/recv.bin"
	recv_pid=$SL_LAST_PID
	sl_wait_for 5 sl_listening "$SL_NS_S" tcp "$PORT" || sl_die "nc -l did not start"
	t0=$(sl_now_ms)
	sl_bg_from "$SL_NS_C" "$SL_WORK/send.bin" "$SL_WORK/nc-send.log" nc -N "$SL_IN_S" "$PORT"
	send_pid=$SL_LAST_PID
	sl_wait_for "$limit" sl_gone "$send_pid" || true
	sl_wait_for 10 sl_gone "$recv_pid" || true
	t1=$(sl_now_ms)
	sl_alive "$send_pid" && send_rc=timeout
	sl_stop "$send_pid"
	sl_stop "$recv_pid"
	got=$(sha256sum <"$SL_WORK/recv.bin" | cut -d' ' -f1)
	echo "    $name: ${mib} MiB in $((t1 - t0)) ms" \
		"($((mib * 8 * 1000 / ((t1 - t0) > 0 ? t1 - t0 : 1))) Mbit/s)"
	sl_check "$name: ${mib} MiB arrive intact" \
		"sender ${send_rc}, received $(stat -c %s "$SL_WORK/recv.bin") bytes, sha256 $got" \
		"$SL_LOG_S $SL_LOG_C $relay_log" [ "$got" = "$sent_sum" ]

	kill -STOP "$SL_PID_C"
	sleep 1 # the relay drains (delay <= 30 ms, held <= 200 ms), the server reads what came
	read -r rx acc drops ovf why < <(server_accounting)
	# The relay's counters now, not its once-a-second stats file: SIGUSR1 prints them.
	local printed
	printed=$(grep -c '^c2s_forwarded=' "$relay_log" || true)
	kill -USR1 "$relay_pid"
	sl_wait_for 5 printed_more "$relay_log" "$printed" || true
	fwd=$(relay_stat c2s_forwarded "$relay_log" | tail -n 1)
	kill -CONT "$SL_PID_C"
	echo "    relay c2s: $(grep '^c2s_' "$relay_log" | tail -n 10 | sed 's/^c2s_//' | tr '\n' ' ')"
	echo "    server: udp_rx_datagrams=$rx accepted=$acc udp_rx_drops=$drops ($why)" \
		"overflow=$ovf"
	sl_check "$name: relay delivered = server received + kernel overflow" \
		"relay forwarded ${fwd:-?}, server read ${rx:-?} + overflow ${ovf:-?}" \
		"$SL_LOG_S $relay_log" [ "${fwd:-x}" = "$((${rx:-0} + ${ovf:-0}))" ]
	sl_check "$name: server received = accepted + each drop reason" \
		"received ${rx:-?}, accepted ${acc:-?} + drops ${drops:-?}" "$SL_LOG_S" \
		[ "${rx:-x}" = "$((${acc:-0} + ${drops:-0}))" ]
	sl_stop "$SL_PID_C"
	sl_stop "$relay_pid"
	sl_stop "$SL_PID_S"
}

run_case loss1 "$MIB" --drop 1
run_case loss5 "$MIB" --drop 5
run_case reorder10 "$MIB" --reorder 10 --reorder-depth 64
run_case dup5 "$MIB" --dup 5
run_case delay20 "$MIB" --delay-ms 20 --jitter-ms 10
# Beyond the matrix: bit flips (each must be an auth drop), a 200 Mbit/s policer, and all at once.
run_case corrupt1 "$MIB" --corrupt 1
run_case rate200 "$MIB" --rate-kbit 200000
# (all at once can be slow, 1 to 4 MiB/s here: held-back and duplicated datagrams and 40 ms of
# RTT keep TCP in recovery, so it gets a fifth of the size)
run_case combined "$((MIB / 5 > 0 ? MIB / 5 : 1))" --drop 1 --reorder 10 --reorder-depth 64 \
	--dup 5 --delay-ms 20 --jitter-ms 10 --corrupt 1
sl_finish
