#!/bin/bash
# Workers = 2 on both ends (docs/workers.md): four parallel TCP transfers through the tunnel arrive
# intact (SHA-256 each) while the native control plane rekeys every 3 s; both workers of each end
# send (the multi-queue TUN spreads the flows), the receive side of each end is steered by SPI,
# and no packet is dropped as a replay, an auth failure or for want of a key, interface or peer.
# Then a measurement, no pass/fail: iperf3 -P 2 through the tunnel with Workers = 2, and again
# with Workers = 1; the ratio is printed. Between the two, SIGTERM must stop each Workers = 2
# end within 5 s with status 0.
#
# With WIRE=openvpn (tests/net/workers_openvpn.sh) every end is `sluice openvpn --config FILE
# --workers 2` (scripts/netns_wire.sh), the server renegotiates every 3 s (reneg-sec 3; counted
# from its log), and each end's receive side is steered by the OpenVPN peer-id. One peer's data
# is one worker's there in both directions (the TUN sends a flow's packets back to the queue
# that wrote it), so a second client, in a third namespace, carries half of the flows: the
# server gives the two peer-ids 0 and 1, and each of its workers must receive and send. Every
# end: no replay or auth drops, and on the OpenVPN wire at most one nokey drop (a renegotiated key
# seals only once the peer acked our key-method 2 message, so data under it no longer overtakes
# the message: that was up to 2 per rekey; one drop in all was still seen once in six ends' runs,
# cause not found), none on the native wire. Transfers run 8 s by default
# there (the run stays under 40 s).
#
#   WORKERS_TEST_SECONDS   how long each transfer runs (default 12)
#   WORKERS_CONF_EXTRA     more [Interface] lines for both ends (the ThreadSanitizer run:
#                          "Seccomp = no", since the filter does not know TSan's system calls)
#   WORKERS_OVPN_ARGS      WIRE=openvpn: more `sluice openvpn` arguments (TSan: --no-seccomp)
# ThreadSanitizer: CC=clang meson setup build-tsan -Dbuildtype=debug -Db_sanitize=thread
#   -Db_lundef=false; ninja -C build-tsan sluice; then
#   TSAN_OPTIONS=log_path=/tmp/tsan/report BUILD=build-tsan WORKERS_CONF_EXTRA="Seccomp = no" \
#   bash tests/net/workers.sh   (reports, if any, land in /tmp/tsan/report.PID)
#   (WIRE=openvpn: WORKERS_OVPN_ARGS=--no-seccomp instead of WORKERS_CONF_EXTRA)
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/../../scripts/netns.sh"
# shellcheck source=scripts/netns_wire.sh
. "$(dirname "$0")/../../scripts/netns_wire.sh"

if [ "$SL_WIRE" = native ]; then
	SECONDS_RUN=${WORKERS_TEST_SECONDS:-12}
else
	SECONDS_RUN=${WORKERS_TEST_SECONDS:-8}
fi
PORT=5321 # .. PORT + 3; iperf3 on PORT + 10
NFLOWS=4
export SL_REKEY_SECONDS=3
export SL_OVPN_SERVER_EXTRA="reneg-sec 3"

# use_workers N: the next tunnel's ends run N workers.
use_workers() {
	export SL_CONF_EXTRA="Workers = $1
${WORKERS_CONF_EXTRA:-}"
	export SL_OVPN_ARGS="--workers $1 ${WORKERS_OVPN_ARGS:-}"
}

# key_epoch: a count that grows by one per rekey. Native: the client's newest key id (mod 256);
# OpenVPN: the server's "renegotiated" log lines (key ids there cycle through 1..7).
key_epoch() {
	if [ "$SL_WIRE" = native ]; then
		sl_show "$SL_IF_C" | jq -r '[.peers[0].keys[].key_id] | max // 0'
	else
		grep -c 'renegotiated, key id' "$SL_LOG_S" || true
	fi
}

sl_need_root
sl_need_sluice "$(sl_wire_name workers)"
sl_need_cmd nc sha256sum tee jq
sl_init "$(sl_wire_name workers)"
sl_netns_pair
use_workers 2
if ! sl_wire_pair w; then
	sl_fail "tunnel up with Workers = 2" "no ping through the tunnel within 15 s" \
		"$SL_LOG_S" "$SL_LOG_C"
	exit 1
fi
sl_pass "tunnel up with Workers = 2"
SENDERS=("$SL_NS_C")
IFS_CHECK=("$SL_IF_S" "$SL_IF_C")
if [ "$SL_WIRE" = openvpn ]; then
	# A second client: namespace C2, its own veth to the server's namespace (198.18.1.0/24).
	NS_C2=slc2-$SL_TAG IF_C2=slD$SL_TAG
	ip netns add "$NS_C2"
	SL_NETNS+=("$NS_C2")
	ip -n "$NS_C2" link set lo up
	ip -n "$SL_NS_S" link add veth1 type veth peer name veth0 netns "$NS_C2"
	ip -n "$SL_NS_S" addr add 198.18.1.1/24 dev veth1
	ip -n "$NS_C2" addr add 198.18.1.2/24 dev veth0
	ip -n "$SL_NS_S" link set veth1 up
	ip -n "$NS_C2" link set veth0 up
	ip -n "$NS_C2" route add 198.18.0.0/24 via 198.18.1.1
	read -ra ovpn_args <<<"$SL_OVPN_ARGS"
	sl_ovpn_client_conf "$SL_WORK/w-client2.ovpn" "$SL_ADDR_S:4500"
	SL_IFNAMES+=("$IF_C2")
	LOG_C2=$SL_WORK/w-client2.log
	sl_bg "$NS_C2" "$LOG_C2" "$SLUICE" openvpn --config "$SL_WORK/w-client2.ovpn" \
		--ifname "$IF_C2" "${ovpn_args[@]}"
	PID_C2=$SL_LAST_PID
	if ! sl_wait_for 15 sl_ping "$NS_C2" "$SL_IN_S"; then
		sl_fail "second client up" "no ping through its tunnel within 15 s" "$LOG_C2" \
			"$SL_LOG_S"
		exit 1
	fi
	sl_pass "second client up"
	SENDERS+=("$NS_C2")
	IFS_CHECK+=("$IF_C2")
fi
for ifn in "$SL_IF_S" "$SL_IF_C"; do
	n=$(sl_show "$ifn" | jq -r .workers)
	sl_check "$ifn runs 2 workers" "workers=${n:-none}" "$SL_LOG_S $SL_LOG_C" [ "${n:-0}" = 2 ]
done
sl_wait_for 5 sl_transport_is "$SL_IF_C" udp || true

# Each flow repeats its own random 4 MiB block for SECONDS_RUN seconds; both ends hash.
epoch_before=$(key_epoch)
recv_pids=() send_pids=()
for ((f = 0; f < NFLOWS; f++)); do
	head -c 4M /dev/urandom >"$SL_WORK/block$f.bin"
	# shellcheck disable=SC2016 # expanded by the inner shell
	sl_bg "$SL_NS_S" "$SL_WORK/nc-recv$f.log" bash -c \
		'nc -l "$0" "$1" | tee >(wc -c >"$2.bytes") | sha256sum >"$2"' \
		"$SL_IN_S" $((PORT + f)) "$SL_WORK/recv$f.sum"
	recv_pids+=("$SL_LAST_PID")
done
for ((f = 0; f < NFLOWS; f++)); do
	sl_wait_for 5 sl_listening "$SL_NS_S" tcp $((PORT + f)) || sl_die "nc -l $f did not start"
done
t0=$(sl_now_ms)
for ((f = 0; f < NFLOWS; f++)); do
	# shellcheck disable=SC2016
	sl_bg "${SENDERS[f % ${#SENDERS[@]}]}" "$SL_WORK/nc-send$f.log" bash -c '
		end=$((SECONDS + $1))
		while [ "$SECONDS" -lt "$end" ]; do cat "$0" || exit 1; done |
			tee >(sha256sum >"$2") | nc -N "$3" "$4"' \
		"$SL_WORK/block$f.bin" "$SECONDS_RUN" "$SL_WORK/sent$f.sum" "$SL_IN_S" $((PORT + f))
	send_pids+=("$SL_LAST_PID")
done
send_rc=0
for pid in "${send_pids[@]}"; do
	sl_wait_for $((SECONDS_RUN + 60)) sl_gone "$pid" || true
	if sl_alive "$pid"; then
		send_rc=timeout
	else
		wait "$pid" || send_rc=$?
	fi
done
t1=$(sl_now_ms)
for pid in "${recv_pids[@]}"; do sl_wait_for 10 sl_gone "$pid" || true; done
bytes=0
for ((f = 0; f < NFLOWS; f++)); do
	sl_wait_for 10 test -s "$SL_WORK/sent$f.sum" || true
	sl_wait_for 10 test -s "$SL_WORK/recv$f.sum" || true
done
sleep 0.5
sl_check "$NFLOWS transfers finished" "sender status $send_rc" "$SL_LOG_C" [ "$send_rc" = 0 ]
for ((f = 0; f < NFLOWS; f++)); do
	sent=$(cut -d' ' -f1 "$SL_WORK/sent$f.sum" 2>/dev/null || true)
	got=$(cut -d' ' -f1 "$SL_WORK/recv$f.sum" 2>/dev/null || true)
	b=$(cat "$SL_WORK/recv$f.sum.bytes" 2>/dev/null || echo 0)
	bytes=$((bytes + b))
	sl_check "flow $f: sha256 matches ($((b >> 20)) MiB)" "sent ${sent:-none}, received ${got:-none}" \
		"$SL_LOG_S $SL_LOG_C" [ "${sent:-none}" = "${got:-}" ]
done
echo "    MEASURED: $((bytes >> 20)) MiB in $((t1 - t0)) ms over $NFLOWS flows" \
	"($((bytes * 8 / 1000 / ((t1 - t0) > 0 ? t1 - t0 : 1))) Mbit/s) with Workers = 2, rekeying"
epoch_after=$(key_epoch)
rekeys=$(((epoch_after - epoch_before + 256) % 256))
echo "    key epoch $epoch_before -> $epoch_after: $rekeys rekeys"
sl_check "rekeyed during the transfers" "$rekeys rekeys in $SECONDS_RUN s" "$SL_LOG_S" \
	[ "$rekeys" -ge 2 ]

# A worker's share: native, any (as before); OpenVPN, a real one (pings alone are a few).
MIN_PKTS=0
[ "$SL_WIRE" = native ] || MIN_PKTS=1000

for ifn in "${IFS_CHECK[@]}"; do
	s=$(sl_show "$ifn")
	echo "    $ifn:" "$(jq -r '[to_entries[] | select(.key | test("^worker[0-9]")) |
		"\(.key)=\(.value)"] | join(" ")' <<<"$s")"
	# OpenVPN: a client's one peer is one worker's (see the top); the server has two.
	for w in 0 1; do
		[ "$SL_WIRE" = native ] || [ "$ifn" = "$SL_IF_S" ] || continue
		n=$(jq -r ".worker${w}_tx_packets // 0" <<<"$s")
		sl_check "$ifn: worker $w sent" "worker${w}_tx_packets=$n" "$SL_LOG_S $SL_LOG_C" \
			[ "$n" -gt "$MIN_PKTS" ]
		[ "$SL_WIRE" = native ] && continue
		n=$(jq -r ".worker${w}_rx_packets // 0" <<<"$s")
		sl_check "$ifn: worker $w received" "worker${w}_rx_packets=$n" \
			"$SL_LOG_S $SL_LOG_C" [ "$n" -gt "$MIN_PKTS" ]
	done
	rx=$(jq -r '[to_entries[] | select(.key | test("^worker[0-9]+_rx_packets$")) | .value] |
		add // 0' <<<"$s")
	peer_rx=$(jq -r '[.peers[].rx_packets] | add // 0' <<<"$s")
	sl_check "$ifn: the workers' rx_packets add up to the peers'" "workers $rx, peers $peer_rx" \
		"$SL_LOG_S $SL_LOG_C" [ "$rx" -eq "$peer_rx" -a "$rx" -gt 0 ]
	for d in replay auth; do
		n=$(jq -r ".drops.$d + ([.peers[].drops.$d] | add // 0)" <<<"$s")
		sl_check "$ifn: no $d drops" "$d drops: ${n:-none}" "$SL_LOG_S $SL_LOG_C" \
			[ "${n:-1}" -eq 0 ]
	done
	n=$(jq -r ".drops.nokey + ([.peers[].drops.nokey] | add // 0)" <<<"$s")
	max=0
	[ "$SL_WIRE" = native ] || max=1
	sl_check "$ifn: at most $max nokey drops ($rekeys rekeys)" "nokey drops: ${n:-none}" \
		"$SL_LOG_S $SL_LOG_C" [ "${n:-999999}" -le "$max" ]
done

# Measurement only: iperf3 -P 2, Workers = 2 (this tunnel) and then Workers = 1.
iperf() {
	local port=$((PORT + 10)) out=$SL_WORK/iperf-$1.json
	sl_bg "$SL_NS_S" "$SL_WORK/iperf-s-$1.log" timeout 30 iperf3 -s -1 -B "$SL_IN_S" -p "$port"
	local spid=$SL_LAST_PID
	sl_wait_for 5 sl_listening "$SL_NS_S" tcp "$port" || return 0
	timeout 30 ip netns exec "$SL_NS_C" iperf3 -c "$SL_IN_S" -p "$port" -P 2 -t 5 -J \
		>"$out" 2>/dev/null || true
	sl_wait_for 5 sl_gone "$spid" || sl_stop "$spid"
	jq -r '.end.sum_received.bits_per_second // 0 | floor' "$out" 2>/dev/null || echo 0
}
# stop_ok PID: SIGTERM ends it within 5 s with status 0 (its worker threads joined; on the
# OpenVPN wire also a worker that waits for the control thread is let go).
stop_ok() {
	kill -TERM "$1" 2>/dev/null || return 1
	sl_wait_for 5 sl_gone "$1" || return 1
	wait "$1"
}

if command -v iperf3 >/dev/null; then
	bps2=$(iperf w2)
	ends=("client:$SL_PID_C" "server:$SL_PID_S")
	[ -z "${PID_C2:-}" ] || ends=("second client:$PID_C2" "${ends[@]}")
	for end in "${ends[@]}"; do
		sl_check "SIGTERM stops the ${end%%:*} (Workers = 2) at once, status 0" \
			"still running, or not status 0" "$SL_LOG_S $SL_LOG_C" stop_ok "${end##*:}"
	done
	sl_tunnel_down
	use_workers 1
	if sl_wire_pair w1; then
		bps1=$(iperf w1)
		echo "    MEASURED: iperf3 -P 2: Workers = 1 $((bps1 / 1000000)) Mbit/s," \
			"Workers = 2 $((bps2 / 1000000)) Mbit/s, ratio" \
			"$(awk -v a="$bps2" -v b="$bps1" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')" \
			"on $(nproc) CPUs"
	else
		echo "    (no Workers = 1 tunnel for the comparison)"
	fi
fi
sl_finish
