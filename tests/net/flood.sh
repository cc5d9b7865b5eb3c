#!/bin/bash
# Hostile input: while a legitimate full-speed transfer runs, tests/tools/flood sends 10^6
# datagrams at the server's UDP port from another address in the client namespace, 250 000 of
# each kind: random bytes, captured packets truncated, captured packets replayed, and well-formed
# ESP for the peer's SPI sealed under a wrong key. The server must not crash, its memory must not
# grow, each kind must land in its own drop counter (the kernel's receive-queue overflow, also
# counted, takes the rest), every datagram must be accounted for, the peer's endpoint must not
# move, and the transfer must arrive intact.
#
# Throughput kept, and why it is measured against a control. On this machine the flooder, both
# tunnel ends, the transfer's nc/tee/sha256sum and the kernel's work for all of them share two
# CPUs, so the flooder's own CPU (about as much per datagram as the server's) comes out of the
# legitimate flow, which a real attacker on another machine would not take. So each kind is one
# flooder run (tests/tools/flood --control) of 250 000 datagrams that reach sluice and 100 000
# more from another source port that an nft netdev rule at the server's veth ingress (the
# earliest hook there is) drops and counts, so that IP, UDP, the socket and sluice never see
# them: the control, same flooder, same pace (FLOOD_PPS), same kind. The two alternate in 10
# cycles (real, control; control, real; ...), so a change in the machine's other load falls on
# both, and the flooder meters the legitimate flow itself over each slice (the bytes sluice has
# written to the server's TUN: a sysfs counter of the server's namespace, opened there and handed
# to it as fd 7), and over 300 ms with no flood before the first slice (the baseline). Printed:
# Mbit/s of each, the raw ratio (real slices / no flood: what this shared machine shows, the
# flooder's CPU included) and the controlled ratio (real / control slices: what handling the
# datagrams costs from the veth's ingress on: IP and UDP input, the socket queue, wake-ups and
# sluice itself, with the flooder's CPU the same on both sides), as the median of the 40 cycles'
# ratios and time-weighted. The target (the median controlled ratio >= 90 %) is the share of the
# flow that taking in and refusing hostile datagrams leaves it; the cost of datagrams arriving at
# the host at all is the link-saturation case, out of scope (docs/security.md). It is a speed
# figure, so `make test` prints it against the target and does not fail on it (the project's
# rule: a shared machine moves single cycles by +-30 %); FLOOD_MIN_KEPT=90 makes it a check that
# fails when the 95 % interval of the median lies wholly below, as bench/flood.sh runs it.
# Under a sanitizer build (ASan makes every datagram dearer; tests/sanitize.sh) it is printed
# only. The raw ratio is printed, never checked.
#
# With WIRE=openvpn (tests/net/flood_openvpn.sh) both ends are `sluice openvpn --config FILE`
# (scripts/netns_wire.sh) and the flooder speaks OpenVPN's shape (flood --wire openvpn): random
# bytes (any opcode: some reach the control plane, which must count each one), truncated and
# replayed P_DATA_V2, and P_DATA_V2 for the client's peer id and key id under a wrong key.
#
#   FLOOD_PER_KIND   datagrams per kind that reach sluice (default 250000)
#   FLOOD_CONTROL    datagrams per kind of the control (default FLOOD_PER_KIND * 2 / 5)
#   FLOOD_CYCLES     real/control cycles per kind (default 10)
#   FLOOD_PPS        pace of the flooder, datagrams per second (default 150000; 0: as fast as it
#                    can, which lets the control's pace differ from the real flood's)
#   FLOOD_MIN_KEPT   make the controlled ratio a check with this lower bound in % (default 0:
#                    printed against the 90 % target, not checked)
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/../../scripts/netns.sh"
# shellcheck source=scripts/netns_wire.sh
. "$(dirname "$0")/../../scripts/netns_wire.sh"

PER_KIND=${FLOOD_PER_KIND:-250000}
CONTROL=${FLOOD_CONTROL:-$((PER_KIND * 2 / 5))}
CYCLES=${FLOOD_CYCLES:-10}
QUIET_MS=300 # per kind, before its flood: the baseline
PPS=${FLOOD_PPS:-150000}
MIN_KEPT=${FLOOD_MIN_KEPT:-0}
TARGET_KEPT=90
PORT=5306
FLOOD_ADDR=198.18.0.9
FLOOD=${FLOOD:-$SL_BUILD/tests/tools/flood}
# ASan's quarantine holds freed memory back, so tests/sanitize.sh allows more
RSS_SLACK=${SL_RSS_SLACK_KIB:-8192}

sl_need_root
sl_need_sluice "$(sl_wire_name flood)"
sl_need_cmd nc sha256sum tee jq nft
if [ ! -x "$FLOOD" ]; then
	echo "FAIL: $(sl_wire_name flood) (no flood tool at $FLOOD: run make)"
	exit 1
fi
# A sanitizer build makes each datagram dearer: the ratio is printed, not checked (see above).
SANITIZED=
grep -qa __asan_init "$SLUICE" && SANITIZED=yes
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
cpu_ms() { # the server's user + system CPU time so far
	awk -v hz="$(getconf CLK_TCK)" '{printf "%d", ($14 + $15) * 1000 / hz}' "/proc/$SL_PID_S/stat"
}
rss_kib() {
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$SL_PID_S/status"
}
mbit() { # BYTES MS
	echo $(($1 * 8 / 1000 / ($2 > 0 ? $2 : 1)))
}
median() { # comma-separated numbers
	echo "$1" | tr ',' '\n' | grep . | sort -n | awk '{v[NR] = $1} END {
		print NR ? (NR % 2 ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2)) : 0 }'
}
# median_ci NUMBERS: "LOW HIGH", a distribution-free 95 % confidence interval of the median (the
# order statistics n/2 -+ 0.98 sqrt(n), rounded outwards: binomial, normal approximation).
median_ci() {
	echo "$1" | tr ',' '\n' | grep . | sort -n | awk '{v[NR] = $1} END {
		if (!NR) { print 0, 0; exit }
		lo = int(NR / 2 - 0.98 * sqrt(NR)); hi = NR / 2 + 1 + 0.98 * sqrt(NR)
		hi = hi == int(hi) ? hi : int(hi) + 1
		if (lo < 1) lo = 1
		if (hi > NR) hi = NR
		print v[lo], v[hi] }'
}
# The control: the flooder's control slices (from CONTROL_PORT) dropped, and counted, at the
# server's veth ingress, the earliest hook: sluice, its socket, UDP and IP input never see them.
NFT_TABLE=sluice_flood_control
CONTROL_PORT=5307
ip netns exec "$SL_NS_S" nft -f - <<EOF
table netdev $NFT_TABLE {
	chain ingress {
		type filter hook ingress device veth0 priority -500;
		ip saddr $FLOOD_ADDR udp sport $CONTROL_PORT udp dport 4500 counter drop
	}
}
EOF
control_dropped() { # how many datagrams the rule has dropped so far
	ip netns exec "$SL_NS_S" nft -j list table netdev "$NFT_TABLE" |
		jq '[.nftables[].rule? // empty | .expr[].counter? // empty | .packets] | add // 0'
}
# The legitimate flow as the flooder meters it: the bytes sluice has written to the server's
# TUN, a sysfs counter of the server's namespace, opened there and handed over as fd 7.
METER=/sys/class/net/$SL_IF_S/statistics/rx_bytes
# flood_run KIND LOG: the flooder: after its capture (and for replay the aging), QUIET_MS of no
# flood (the baseline), then PER_KIND datagrams to sluice and CONTROL dropped before it, in
# alternating slices, each metered by the flooder. Sets run_rc.
flood_run() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	sl_bg "$SL_NS_S" "$2" bash -c 'exec 7<"$0" && exec ip netns exec "$@"' "$METER" \
		"$SL_NS_C" "$FLOOD" --wire "$FLOOD_WIRE" --kind "$1" --to "$SL_ADDR_S:4500" \
		--from "$FLOOD_ADDR" --count "$PER_KIND" --control "$CONTROL" \
		--control-port "$CONTROL_PORT" --cycles "$CYCLES" --meter-fd 7 --pps "$PPS" \
		--quiet-ms "$QUIET_MS" --seed 3
	run_rc=0
	wait "$SL_LAST_PID" || run_rc=$?
}
# flood_field LOG NAME: NAME=value out of the flooder's line (digits and commas).
flood_field() {
	sed -n "s/.* $2=\([0-9,]*\).*/\1/p" "$1"
}

sleep 1 # TCP up to speed
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

# Totals over the four kinds of the legitimate flow's bytes and time as the flooder metered them:
# with no flood (quiet), in the real and in the control slices; every cycle's real/control ratio.
base_b=0 base_us=0 real_b=0 real_us=0 ctl_b=0 ctl_us=0 kept_all=
for kind in random truncated replay wrongkey; do
	log=$SL_WORK/flood-$kind.log
	snapshot "$kind-before"
	drop0=$(control_dropped)
	c0=$(cpu_ms)
	flood_run "$kind" "$log"
	c1=$(cpu_ms)
	if [ "$run_rc" != 0 ]; then
		sl_fail "$kind: flooder ran" "flood exited $run_rc" "$log"
		sleep 0.3
		continue
	fi
	sent=$(flood_field "$log" sent)
	# The server drains its socket: until every datagram is counted (in its counter or the
	# kernel's overflow), at most 3 s (a fixed 0.3 s once fell short on a machine at load 8).
	for ((try = 0; try < 30; try++)); do
		snapshot "$kind-after"
		want=$(($(field "$kind-after" "${EXPECT[$kind]}") - $(field "$kind-before" "${EXPECT[$kind]}")))
		ovf=$(($(field "$kind-after" "$OVERFLOW") - $(field "$kind-before" "$OVERFLOW")))
		[ $((want + ovf)) -lt "$sent" ] || break
		sleep 0.1
	done
	dropped=$(($(control_dropped) - drop0))
	csent=$(flood_field "$log" control_sent)
	rb=$(flood_field "$log" real_bytes) rus=$(flood_field "$log" real_us)
	cb=$(flood_field "$log" control_bytes) cus=$(flood_field "$log" control_us)
	kp=$(flood_field "$log" kept_pm)
	qb=$(flood_field "$log" quiet_bytes) qus=$(flood_field "$log" quiet_us)
	base_b=$((base_b + qb)) base_us=$((base_us + qus))
	real_b=$((real_b + rb)) real_us=$((real_us + rus)) ctl_b=$((ctl_b + cb)) ctl_us=$((ctl_us + cus))
	kept_all="$kept_all${kept_all:+,}$kp"
	echo "    $kind: $(cat "$log")"
	echo "    $kind: legitimate $(mbit "$rb" $((rus / 1000))) Mbit/s in the real slices," \
		"$(mbit "$cb" $((cus / 1000))) Mbit/s in the control slices (median of the cycles'" \
		"ratios $(median "$kp") per mille), $(mbit "$qb" $((qus / 1000))) Mbit/s with no flood" \
		"before them; server CPU $((c1 - c0)) ms; server: expected counter +$want, kernel" \
		"overflow +$ovf; control dropped at ingress +$dropped"
	sl_check "$kind: every control datagram dropped by the kernel before sluice" \
		"control sent $csent, dropped at ingress $dropped" "$log" [ "$dropped" = "$csent" ]
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
rss1=$(rss_kib)
base_rate=$(mbit "$base_b" $((base_us / 1000)))
real_rate=$(mbit "$real_b" $((real_us / 1000))) ctl_rate=$(mbit "$ctl_b" $((ctl_us / 1000)))
raw=$((real_rate * 100 / (base_rate > 0 ? base_rate : 1)))
weighted=$((real_rate * 100 / (ctl_rate > 0 ? ctl_rate : 1)))
kept_pm=$(median "$kept_all")
kept=$((kept_pm / 10))
read -r ci_lo ci_hi < <(median_ci "$kept_all")
echo "    MEASURED: legitimate throughput without flood $base_rate Mbit/s ($((base_us / 1000)) ms)," \
	"in the real slices $real_rate Mbit/s: raw ratio $raw %;" \
	"in the control slices $ctl_rate Mbit/s (pace $PPS/s," \
	"$PER_KIND real and $CONTROL control datagrams per kind in $CYCLES cycles): controlled" \
	"ratio $kept.$((kept_pm % 10)) % (median of $(echo "$kept_all" | tr ',' '\n' | grep -c .)" \
	"cycles, 95 % interval $((ci_lo / 10))-$((ci_hi / 10)) %), $weighted % time-weighted;" \
	"server RSS $rss0 -> $rss1 KiB"
if [ "$MIN_KEPT" -gt 0 ] && [ -z "$SANITIZED" ]; then
	# Failed when the cycles show that the median is below the bound (its interval's top is),
	# not when one noisy run's estimate is: a shared machine moves single cycles by +-30 %.
	why="median $kept.$((kept_pm % 10)) %, 95 % interval $((ci_lo / 10))-$((ci_hi / 10)) %,"
	why="$why time-weighted $weighted % ($real_rate of $ctl_rate Mbit/s); raw $raw %"
	sl_check "the legitimate flow keeps >= $MIN_KEPT % of its throughput (controlled ratio)" \
		"$why" "$SL_LOG_S" [ "$ci_hi" -ge $((MIN_KEPT * 10)) ]
	[ "$kept" -ge "$MIN_KEPT" ] ||
		echo "    NOTE: the median controlled ratio $kept.$((kept_pm % 10)) % is below" \
			"$MIN_KEPT % in this run, though not beyond its noise"
else
	verdict="met in this run"
	[ "$kept" -ge "$TARGET_KEPT" ] || verdict="not met in this run"
	[ "$ci_hi" -ge $((TARGET_KEPT * 10)) ] || verdict="$verdict, beyond its noise"
	echo "    TARGET: the median controlled ratio >= $TARGET_KEPT %: $verdict (a speed figure:" \
		"reported, not checked; $([ -n "$SANITIZED" ] && echo "sanitizer build" ||
			echo "FLOOD_MIN_KEPT=$TARGET_KEPT checks it"))"
fi

sl_check "server survives the flood" "server process gone" "$SL_LOG_S" sl_alive "$SL_PID_S"
sl_check "server memory does not grow (RSS + <= $((RSS_SLACK >> 10)) MiB)" \
	"RSS $rss0 -> $rss1 KiB" "$SL_LOG_S" [ "$((${rss1:-999999} - ${rss0:-0}))" -le "$RSS_SLACK" ]
sl_check "the peer's endpoint did not move" "now $(sl_peer "$SL_IF_S" .endpoint)" "$SL_LOG_S" \
	[ "$(sl_peer "$SL_IF_S" .endpoint)" = "$endpoint_before" ]
sl_check "the legitimate flow kept moving during the flood" "$real_b bytes in $real_us us" \
	"$SL_LOG_S" [ "$real_b" -gt 0 ]

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
