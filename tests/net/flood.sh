#!/bin/bash
# Hostile input: while a legitimate full-speed transfer runs, tests/tools/flood sends 10^6
# datagrams at the server's UDP port from another address in the client namespace, 250 000 of
# each kind: random bytes, captured packets truncated, captured packets replayed, and well-formed
# ESP for the peer's SPI sealed under a wrong key. The server must not crash, its memory must not
# grow, each kind must land in its own drop counter (the kernel's receive-queue overflow, also
# counted, takes the rest), every datagram must be accounted for, the peer's endpoint must not
# move, and the transfer must arrive intact. The legitimate throughput during the flood and
# without it are printed (on a 2-CPU machine the flooder, both tunnels and TCP share the CPUs, so
# the ratio says as much about the machine as about sluice; it is reported, not asserted).
#
#
# With WIRE=openvpn (tests/net/flood_openvpn.sh) both ends are `sluice openvpn --config FILE`
# (scripts/netns_wire.sh) and the flooder speaks OpenVPN's shape (flood --wire openvpn): random
# bytes (any opcode: some reach the control plane, which must count each one), truncated and
# replayed P_DATA_V2, and P_DATA_V2 for the client's peer id and key id under a wrong key.
#
#   FLOOD_PER_KIND   datagrams per kind (default 250000)
#   FLOOD_PPS        pace of the flooder, datagrams per second (default 0: as fast as it can)
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/../../scripts/netns.sh"
# shellcheck source=scripts/netns_wire.sh
. "$(dirname "$0")/../../scripts/netns_wire.sh"

PER_KIND=${FLOOD_PER_KIND:-250000}
PPS=${FLOOD_PPS:-0}
PORT=5306
FLOOD_ADDR=198.18.0.9
FLOOD=${FLOOD:-$SL_BUILD/tests/tools/flood}
# ASan's quarantine holds freed memory back, so tests/sanitize.sh allows more
RSS_SLACK=${SL_RSS_SLACK_KIB:-8192}

sl_need_root
sl_need_sluice "$(sl_wire_name flood)"
sl_need_cmd nc sha256sum tee jq
if [ ! -x "$FLOOD" ]; then
	echo "FAIL: $(sl_wire_name flood) (no flood tool at $FLOOD: run make)"
	exit 1
fi
sl_init "$(sl_wire_name flood)"
sl_netns_pair
ip -n "$SL_NS_C" addr add "$FLOOD_ADDR/24" dev veth0
if ! sl_wire_pair f || ! sl_wait_for 10 sl_transport_is "$SL_IF_S" udp; then
	sl_fail "tunnel up" "no ping through the tunnel within 10 s, or not on udp" \
		"$SL_LOG_S" "$SL_LOG_C"
	exit 1
fi
sl_pass "tunnel up"
endpoint_before=$(sl_peer "$SL_IF_S" .endpoint)

# The legitimate flow: a random 16 MiB block, repeated until $SL_WORK/stop appears (or 300 s).
head -c 16M /dev/urandom >"$SL_WORK/block.bin"
# shellcheck disable=SC2016 # expanded by the inner shells
sl_bg "$SL_NS_S" "$SL_WORK/nc-recv.log" bash -c \
	'nc -l "$0" "$1" | tee >(wc -c >"$2.bytes") | sha256sum >"$2"' \
	"$SL_IN_S" "$PORT" "$SL_WORK/recv.sum"
recv_pid=$SL_LAST_PID
sl_wait_for 5 sl_listening "$SL_NS_S" tcp "$PORT" || sl_die "nc -l did not start"
# shellcheck disable=SC2016
sl_bg "$SL_NS_C" "$SL_WORK/nc-send.log" bash -c '
	end=$((SECONDS + 300))
	while [ ! -e "$1" ] && [ "$SECONDS" -lt "$end" ]; do cat "$0" || exit 1; done |
		tee >(sha256sum >"$2") | nc -N "$3" "$4"' \
	"$SL_WORK/block.bin" "$SL_WORK/stop" "$SL_WORK/sent.sum" "$SL_IN_S" "$PORT"
send_pid=$SL_LAST_PID

snapshot() {
	sl_show "$SL_IF_S" >"$SL_WORK/$1.json"
}
# field SNAPSHOT JQ: a number out of a snapshot.
field() {
	jq -r "$2" "$SL_WORK/$1.json"
}
rx_bytes() {
	sl_peer "$SL_IF_S" .rx_bytes
}
cpu_ms() { # the server's user + system CPU time so far
	awk -v hz="$(getconf CLK_TCK)" '{printf "%d", ($14 + $15) * 1000 / hz}' "/proc/$SL_PID_S/stat"
}
rss_kib() {
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$SL_PID_S/status"
}

sleep 2 # TCP up to speed
b0=$(rx_bytes)
t0=$(sl_now_ms)
sleep 5
b1=$(rx_bytes)
t1=$(sl_now_ms)
base_rate=$(((b1 - b0) / (t1 - t0))) # bytes per ms = kB/s
echo "    MEASURED: legitimate throughput without flood $((base_rate * 8 / 1000)) Mbit/s"
rss0=$(rss_kib)

# Where each kind must land: a jq sum over the server's counters (interface and peer).
declare -A EXPECT=(
	[random]='.drops.nokey'
	[truncated]='.drops.malformed + .peers[0].drops.malformed + .peers[0].drops.auth
		+ .peers[0].drops.rate'
	[replay]='.peers[0].drops.replay + .peers[0].drops.rate'
	[wrongkey]='.peers[0].drops.auth + .peers[0].drops.rate'
)
FLOOD_WIRE=esp
if [ "$SL_WIRE" = openvpn ]; then
	FLOOD_WIRE=openvpn
	# Any first byte: a data opcode (for the sole peer, or no peer), a control opcode (handed to
	# the control plane: control_rx), or none (malformed).
	EXPECT[random]='.drops.nokey + .drops.malformed + .control_rx + .peers[0].drops.nokey
		+ .peers[0].drops.malformed + .peers[0].drops.auth + .peers[0].drops.replay
		+ .peers[0].drops.rate'
fi
# The control plane's answer to each control packet from an unknown address (OpenVPN wire).
CONTROL_SHARE='(.ovpn_resets_answered // 0) + (.ovpn_bad_packets // 0) + (.ovpn_bad_cookies // 0)'
OVERFLOW='.drops.overflow'
# Datagrams read = accepted + receive drops, at any instant (one reply is one loop iteration).
ACCOUNT='def rx: [to_entries[] | select(.key | startswith("udp_rx_drop_")) | .value] | add;
	.udp_rx_datagrams == rx + (.peers | map(rx + .rx_packets - .stream_rx_packets
		+ .keepalive_rx) | add) + .keepalive_rx + (.control_rx // 0)'

fb0=$(rx_bytes)
ft0=$(sl_now_ms)
for kind in random truncated replay wrongkey; do
	snapshot "$kind-before"
	c0=$(cpu_ms)
	TIMEFORMAT='%3U %3S'
	if ! { time ip netns exec "$SL_NS_C" "$FLOOD" --wire "$FLOOD_WIRE" --kind "$kind" \
		--to "$SL_ADDR_S:4500" --from "$FLOOD_ADDR" --count "$PER_KIND" --pps "$PPS" --seed 3 \
		>"$SL_WORK/flood-$kind.log" 2>&1; } 2>"$SL_WORK/flood-$kind.time"; then
		sl_fail "$kind: flooder ran" "flood exited non-zero" "$SL_WORK/flood-$kind.log"
		continue
	fi
	sleep 0.3 # the server drains its socket
	snapshot "$kind-after"
	c1=$(cpu_ms)
	fcpu=$(awk '{printf "%d", ($1 + $2) * 1000}' "$SL_WORK/flood-$kind.time")
	sent=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' "$SL_WORK/flood-$kind.log")
	want=$(($(field "$kind-after" "${EXPECT[$kind]}") - $(field "$kind-before" "${EXPECT[$kind]}")))
	ovf=$(($(field "$kind-after" "$OVERFLOW") - $(field "$kind-before" "$OVERFLOW")))
	echo "    $kind: $(cat "$SL_WORK/flood-$kind.log");" \
		"server: expected counter +$want, kernel overflow +$ovf;" \
		"CPU ms: server $((c1 - c0)) (with the legitimate flow), flooder $fcpu"
	sl_check "$kind: every datagram in its own drop counter or the kernel's overflow" \
		"sent $sent, counter +$want, overflow +$ovf" "$SL_LOG_S" \
		[ "$want" -le "$sent" -a $((want + ovf)) -ge "$sent" ]
	sl_check "$kind: server still accounts for every datagram read" \
		"$(field "$kind-after" '{udp_rx_datagrams}')" "$SL_LOG_S" \
		[ "$(field "$kind-after" "$ACCOUNT")" = true ]
	why=
	for r in auth replay nokey malformed rate; do
		q="(.drops.$r + ([.peers[].drops.$r] | add // 0))"
		d=$(($(field "$kind-after" "$q") - $(field "$kind-before" "$q")))
		[ "$d" -gt 0 ] && why="$why $r=+$d"
	done
	echo "    $kind: drops by reason:${why:- none}"
	if [ "$SL_WIRE" = openvpn ] && [ "$kind" = random ]; then
		ctl=$(($(field "$kind-after" .control_rx) - $(field "$kind-before" .control_rx)))
		share=$(($(field "$kind-after" "$CONTROL_SHARE") - $(field "$kind-before" "$CONTROL_SHARE")))
		echo "    $kind: control packets to the control plane +$ctl, counted there +$share" \
			"($(field "$kind-after" '"answered \(.ovpn_resets_answered), bad \(.ovpn_bad_packets), bad cookie \(.ovpn_bad_cookies)"'))"
		sl_check "$kind: the control plane counts every control packet it was handed" \
			"handed $ctl, counted $share" "$SL_LOG_S" [ "$ctl" = "$share" ]
	fi
done
fb1=$(rx_bytes)
ft1=$(sl_now_ms)
flood_rate=$(((fb1 - fb0) / (ft1 - ft0 > 0 ? ft1 - ft0 : 1)))
rss1=$(rss_kib)
echo "    MEASURED: legitimate throughput during the flood $((flood_rate * 8 / 1000)) Mbit/s" \
	"over $((ft1 - ft0)) ms = $((flood_rate * 100 / (base_rate > 0 ? base_rate : 1))) % of" \
	"$((base_rate * 8 / 1000)) Mbit/s without; server RSS $rss0 -> $rss1 KiB"

sl_check "server survives the flood" "server process gone" "$SL_LOG_S" sl_alive "$SL_PID_S"
sl_check "server memory does not grow (RSS + <= $((RSS_SLACK >> 10)) MiB)" \
	"RSS $rss0 -> $rss1 KiB" "$SL_LOG_S" [ "$((${rss1:-999999} - ${rss0:-0}))" -le "$RSS_SLACK" ]
sl_check "the peer's endpoint did not move" "now $(sl_peer "$SL_IF_S" .endpoint)" "$SL_LOG_S" \
	[ "$(sl_peer "$SL_IF_S" .endpoint)" = "$endpoint_before" ]
sl_check "the legitimate flow kept moving during the flood" "rx bytes $fb0 -> $fb1" "$SL_LOG_S" \
	[ "$fb1" -gt "$fb0" ]

touch "$SL_WORK/stop"
send_rc=0
sl_wait_for 60 sl_gone "$send_pid" || true
sl_alive "$send_pid" && send_rc=timeout
wait "$send_pid" || send_rc=$?
sl_wait_for 10 sl_gone "$recv_pid" || true
sl_wait_for 10 test -s "$SL_WORK/sent.sum" || true
sl_wait_for 10 test -s "$SL_WORK/recv.sum" || true
sleep 0.5
sent=$(cut -d' ' -f1 "$SL_WORK/sent.sum" 2>/dev/null || true)
got=$(cut -d' ' -f1 "$SL_WORK/recv.sum" 2>/dev/null || true)
echo "    legitimate transfer: $(($(cat "$SL_WORK/recv.sum.bytes" 2>/dev/null || echo 0) >> 20)) MiB"
sl_check "legitimate transfer completes intact" \
	"sender ${send_rc}; sha256 sent ${sent:-none}, received ${got:-none}" \
	"$SL_LOG_S $SL_LOG_C $SL_WORK/nc-send.log" [ "$send_rc" = 0 -a "${sent:-none}" = "${got:-}" ]
sl_finish
