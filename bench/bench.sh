#!/bin/bash
# `make bench`: one run measures, side by side, between two fresh network namespaces over
#   - the plain veth (the ceiling: no tunnel at all),
#   - sluice (ESP-in-UDP, AES-256-GCM by default),
#   - sluice with UDP port 4500 blocked by nftables in the client namespace, so the data rides
#     its TLS 1.3 connection (the fallback path; `sluice show` must say tls on both ends),
#   - wireguard-go (userspace WireGuard, ChaCha20-Poly1305),
#   - openvpn 2.6 in userspace (--disable-dco), p2p TLS mode, AES-256-GCM, UDP,
#   - OpenVPN client/server mode, AES-256-GCM, UDP, TCP throughput only: the sluice client
#     (sluice openvpn) against an openvpn server, an openvpn client against the sluice server,
#     and openvpn against openvpn, so the three rows differ only in who runs each end,
#   - ocserv with stock openconnect, and ocserv with `sluice connect` (AnyConnect, DTLS, TCP
#     throughput only; bench/anyconnect.sh; sluice's DTLS records are sealed and opened in
#     its engine, after OpenSSL's handshake),
# three things through each:
#   - single-stream TCP throughput: iperf3, BENCH_SECONDS=10, receiver side;
#   - 64-byte UDP packet rate: bench/pps (sendmmsg, as fast as it can) for PPS_SECONDS=5,
#     packets per second at the receiver and the share lost;
#   - ping RTT: RTT_COUNT=50 pings 50 ms apart, average and median, and what the tunnel adds to
#     the veth's.
# Prints a table, the lines
#   PPS veth=.. sluice=.. sluice_tls=.. wireguard_go=.. openvpn=.. sluice_vs_wireguard_go=R ..
#   RTT veth_us=.. sluice_added_us=.. sluice_tls_added_us=.. .. veth_median_us=.. ..
#   SCALE peers=10000 bytes_per_idle_peer=N ...          (bench/scale.sh; BENCH_SCALE=0 skips)
#   RESULT sluice_vs_veth=R1 sluice_vs_wireguard_go=R2 sluice_vs_openvpn=R3
# (sluice's throughput divided by the other's; "na" when one of them could not be measured),
# then runs bench/instr.sh, whose line
#   INSTR per_packet_outside_aead=N memcpy_bytes_per_packet=M
# comes last (skipped with a note without valgrind). bench/chart.sh turns this output into the
# chart of docs/performance.md. About three minutes in all. BENCH_PEERS="veth sluice" runs only
# those rows.
# A benchmark, not a test: it never fails on speed. See docs/performance.md. Needs root.
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/../scripts/netns.sh"
# shellcheck source=scripts/ocserv.sh
. "$(dirname "$0")/../scripts/ocserv.sh"
# shellcheck source=bench/anyconnect.sh
. "$(dirname "$0")/anyconnect.sh"

T=${BENCH_SECONDS:-10}
PPS_T=${PPS_SECONDS:-5}
RTT_N=${RTT_COUNT:-50}
PPS_BIN=${PPS_BIN:-$SL_BUILD/bench/pps}
sl_need_root
sl_need_cmd ip iperf3 jq openssl ping nft
RESULTS=$(mktemp -d /tmp/sluice-bench.XXXXXX)
trap 'rm -rf "$RESULTS"' EXIT

note() {
	echo "  $1: $2"
	echo "$2" >"$RESULTS/$1.note"
}

# iperf_through NAME ADDR: T seconds of TCP from the client namespace to ADDR in the server
# namespace; Mbit/s (receiver side) into $RESULTS/NAME.
iperf_through() {
	local name=$1 addr=$2 json=$SL_WORK/iperf3-$1.json
	sl_bg "$SL_NS_S" "$SL_WORK/iperf3-server.log" iperf3 -s -1 -B "$addr"
	local pid=$SL_LAST_PID
	sl_wait_for 5 sl_listening "$SL_NS_S" tcp 5201 || {
		note "$name" "iperf3 server did not start"
		return 1
	}
	if ! ip netns exec "$SL_NS_C" iperf3 -c "$addr" -t "$T" -J >"$json" 2>&1; then
		note "$name" "iperf3 failed: $(jq -r '.error // empty' "$json" 2>/dev/null)"
		sl_stop "$pid"
		return 1
	fi
	sl_stop "$pid"
	jq -r '.end.sum_received.bits_per_second / 1e6' "$json" >"$RESULTS/$name"
	echo "  $name: $(printf '%.1f' "$(cat "$RESULTS/$name")") Mbit/s"
}

# pps_through NAME ADDR: PPS_T seconds of 64-byte UDP datagrams (bench/pps, batches of 64 per
# sendmmsg) from the client namespace to ADDR:5202 in the server namespace; the receiver's
# packets per second into $RESULTS/NAME.pps, the share of sent packets not received (%) into
# NAME.loss. The receiver counts from its first to its last packet.
pps_through() {
	local name=$1 addr=$2 recv=$SL_WORK/pps-$1.recv send=$SL_WORK/pps-$1.send pid sent got
	if [ ! -x "$PPS_BIN" ]; then
		echo "  $name: no $PPS_BIN, packet rate not measured"
		return 0
	fi
	sl_bg "$SL_NS_S" "$recv" "$PPS_BIN" recv "$addr" 5202 $((PPS_T + 5))
	pid=$SL_LAST_PID
	if ! sl_wait_for 5 grep -q '^ready' "$recv"; then
		echo "  $name: pps receiver did not start"
		sl_stop "$pid"
		return 0
	fi
	if ! ip netns exec "$SL_NS_C" "$PPS_BIN" send "$addr" 5202 "$PPS_T" 64 >"$send" 2>&1; then
		echo "  $name: pps sender failed: $(tail -n 1 "$send")"
		sl_stop "$pid"
		return 0
	fi
	sl_wait_for $((PPS_T + 8)) sl_gone "$pid" || sl_stop "$pid"
	sent=$(sed -n 's/^send packets=\([0-9]*\).*/\1/p' "$send")
	got=$(sed -n 's/^recv packets=\([0-9]*\).*/\1/p' "$recv")
	sed -n 's/^recv .* pps=\([0-9]*\).*/\1/p' "$recv" >"$RESULTS/$name.pps"
	awk -v s="${sent:-0}" -v g="${got:-0}" \
		'BEGIN { printf "%.1f\n", (s > 0 ? 100 * (s - g) / s : 100) }' >"$RESULTS/$name.loss"
	echo "  $name: $(cat "$RESULTS/$name.pps") packets/s of 64 bytes received," \
		"$(cat "$RESULTS/$name.loss")% of ${sent:-0} lost"
}

# rtt_through NAME ADDR: RTT_N pings 50 ms apart from the client namespace; the average RTT in
# microseconds into $RESULTS/NAME.rtt, the median into NAME.rttmed (on a shared machine a few
# scheduling delays of milliseconds move the average; the median shows the usual packet).
rtt_through() {
	local name=$1 addr=$2 out
	out=$(ip netns exec "$SL_NS_C" ping -c "$RTT_N" -i 0.05 "$addr" 2>&1) || true
	# "rtt min/avg/max/mdev = 0.037/0.054/0.067/0.005 ms": the 8th field is the average.
	echo "$out" | awk -F'[/ ]+' '/^rtt/ { printf "%.0f\n", $8 * 1000 }' >"$RESULTS/$name.rtt"
	echo "$out" | sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' | sort -n |
		awk '{ v[NR] = $1 } END { if (NR) printf "%.0f\n", 1000 * (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }' \
			>"$RESULTS/$name.rttmed"
	if [ -s "$RESULTS/$name.rtt" ]; then
		echo "  $name: ping RTT $(cat "$RESULTS/$name.rtt") us on average," \
			"median $(cat "$RESULTS/$name.rttmed") us"
	else
		echo "  $name: ping failed: $(echo "$out" | tail -n 1)"
	fi
}

# measure NAME ADDR: all three through one set-up; RTT first, while the path is idle.
measure() {
	rtt_through "$1" "$2"
	iperf_through "$1" "$2" || return 1
	pps_through "$1" "$2"
}

bench_veth() {
	sl_init bench-veth
	sl_netns_pair
	measure veth "$SL_ADDR_S"
}

bench_sluice() {
	if [ ! -x "$SLUICE" ]; then
		note sluice "no binary at $SLUICE"
		return 0
	fi
	sl_init bench-sluice
	sl_netns_pair
	if ! SL_LOGLEVEL=warn sl_tunnel_pair bench; then
		note sluice "tunnel did not come up"
		sl_tail "$SL_LOG_S" "$SL_LOG_C"
		return 1
	fi
	measure sluice "$SL_IN_S"
}

# UDP 4500 dropped both ways in the client namespace before the tunnel starts (as
# tests/net/fallback.sh does mid-transfer), so the TLS connection on TCP 4500 carries the data.
bench_sluice_tls() {
	if [ ! -x "$SLUICE" ]; then
		note sluice_tls "no binary at $SLUICE"
		return 0
	fi
	sl_init bench-sluice-tls
	sl_netns_pair
	ip netns exec "$SL_NS_C" nft -f - <<'EOF'
table inet sluice_bench_block {
	chain out {
		type filter hook output priority 0; policy accept;
		udp dport 4500 drop
	}
	chain in {
		type filter hook input priority 0; policy accept;
		udp sport 4500 drop
	}
}
EOF
	if ! SL_LOGLEVEL=warn sl_tunnel_pair bench-tls; then
		note sluice_tls "tunnel did not come up"
		sl_tail "$SL_LOG_S" "$SL_LOG_C"
		return 1
	fi
	if ! sl_wait_for 10 sl_transport_is "$SL_IF_C" tls ||
		! sl_wait_for 10 sl_transport_is "$SL_IF_S" tls; then
		note sluice_tls "not on tls (client '$(sl_peer "$SL_IF_C" .transport)', server '$(sl_peer "$SL_IF_S" .transport)')"
		return 1
	fi
	echo "  sluice show: client and server on tls"
	measure sluice_tls "$SL_IN_S"
}

bench_wireguard_go() {
	local k s=wgS$SL_TAG c=wgC$SL_TAG
	if ! command -v wireguard-go >/dev/null || ! command -v wg >/dev/null; then
		note wireguard_go "wireguard-go or wg not installed (scripts/deps.sh --bench)"
		return 0
	fi
	sl_init bench-wg
	k=$SL_WORK
	sl_netns_pair
	(umask 077 && wg genkey >"$k/s.key" && wg genkey >"$k/c.key")
	# Foreground mode keeps the PID ours; the UAPI socket lives in the shared /var/run/wireguard.
	sl_bg "$SL_NS_S" "$k/wg-server.log" env WG_PROCESS_FOREGROUND=1 wireguard-go "$s"
	sl_bg "$SL_NS_C" "$k/wg-client.log" env WG_PROCESS_FOREGROUND=1 wireguard-go "$c"
	sl_wait_for 5 test -S "/var/run/wireguard/$s.sock"
	sl_wait_for 5 test -S "/var/run/wireguard/$c.sock"
	wg set "$s" private-key "$k/s.key" listen-port 51820 \
		peer "$(wg pubkey <"$k/c.key")" allowed-ips 198.19.1.2/32
	wg set "$c" private-key "$k/c.key" \
		peer "$(wg pubkey <"$k/s.key")" endpoint "$SL_ADDR_S:51820" allowed-ips 198.19.1.0/24
	ip -n "$SL_NS_S" addr add 198.19.1.1/24 dev "$s"
	ip -n "$SL_NS_S" link set "$s" up
	ip -n "$SL_NS_C" addr add 198.19.1.2/24 dev "$c"
	ip -n "$SL_NS_C" link set "$c" up
	if ! sl_wait_for 10 sl_ping "$SL_NS_C" 198.19.1.1; then
		note wireguard_go "tunnel did not come up"
		sl_tail "$k/wg-server.log" "$k/wg-client.log"
		return 1
	fi
	measure wireguard_go 198.19.1.1
}

# A throw-away EC P-256 CA and two certificates, for openvpn.
make_certs() {
	local d=$1 n
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=bench-ca -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
	for n in server client; do
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$n" \
			-keyout "$d/$n.key" -out "$d/$n.csr" 2>/dev/null
		openssl x509 -req -in "$d/$n.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
			-CAcreateserial -days 2 -out "$d/$n.pem" 2>/dev/null
	done
}

bench_openvpn() {
	local d common
	if ! command -v openvpn >/dev/null; then
		note openvpn "openvpn not installed (scripts/deps.sh --bench)"
		return 0
	fi
	sl_init bench-openvpn
	d=$SL_WORK
	sl_netns_pair
	make_certs "$d"
	common=(--dev-type tun --proto udp --data-ciphers AES-256-GCM --disable-dco --dh none
		--ca "$d/ca.pem" --verb 3)
	sl_bg "$SL_NS_S" "$d/openvpn-server.log" openvpn "${common[@]}" --dev "ovS$SL_TAG" \
		--tls-server --local "$SL_ADDR_S" --lport 1194 --cert "$d/server.pem" \
		--key "$d/server.key" --ifconfig 198.19.2.1 198.19.2.2
	sl_bg "$SL_NS_C" "$d/openvpn-client.log" openvpn "${common[@]}" --dev "ovC$SL_TAG" \
		--tls-client --remote "$SL_ADDR_S" 1194 --nobind --cert "$d/client.pem" \
		--key "$d/client.key" --verify-x509-name server name --ifconfig 198.19.2.2 198.19.2.1
	if ! sl_wait_for 20 sl_ping "$SL_NS_C" 198.19.2.1; then
		note openvpn "tunnel did not come up"
		sl_tail "$d/openvpn-server.log" "$d/openvpn-client.log"
		return 1
	fi
	measure openvpn 198.19.2.1
}

# ovpn_cs NAME CLIENT SERVER: OpenVPN client/server mode; CLIENT and SERVER are sluice or openvpn.
ovpn_cs() {
	local name=$1 cli=$2 srv=$3 d
	if ! command -v openvpn >/dev/null; then
		note "$name" "openvpn not installed (scripts/deps.sh --bench)"
		return 0
	fi
	sl_init "bench-$name"
	d=$SL_WORK
	sl_netns_pair
	make_certs "$d"
	if [ "$srv" = openvpn ]; then
		sl_bg "$SL_NS_S" "$d/server.log" openvpn --dev tun --proto udp --local "$SL_ADDR_S" \
			--port 1194 --server 198.19.3.0 255.255.255.0 --topology subnet --dh none \
			--data-ciphers AES-256-GCM --disable-dco --ca "$d/ca.pem" --cert "$d/server.pem" \
			--key "$d/server.key" --keepalive 10 60 --verb 3
	else
		printf '%s\n' "server 198.19.3.0 255.255.255.0" "topology subnet" "dev tun" "proto udp" \
			"port 1194" "ca $d/ca.pem" "cert $d/server.pem" "key $d/server.key" \
			"data-ciphers AES-256-GCM" "keepalive 10 60" "verb 1" >"$d/server.ovpn"
		sl_bg "$SL_NS_S" "$d/server.log" "$SLUICE" openvpn --config "$d/server.ovpn"
	fi
	sleep 1
	if [ "$cli" = openvpn ]; then
		sl_bg "$SL_NS_C" "$d/client.log" openvpn --client --dev tun --proto udp --nobind \
			--remote "$SL_ADDR_S" 1194 --data-ciphers AES-256-GCM --disable-dco \
			--ca "$d/ca.pem" --cert "$d/client.pem" --key "$d/client.key" --verb 3
	else
		printf '%s\n' client "dev tun" "proto udp" "remote $SL_ADDR_S 1194" "ca $d/ca.pem" \
			"cert $d/client.pem" "key $d/client.key" "verb 1" >"$d/client.ovpn"
		sl_bg "$SL_NS_C" "$d/client.log" "$SLUICE" openvpn --config "$d/client.ovpn"
	fi
	if ! sl_wait_for 20 sl_ping "$SL_NS_C" 198.19.3.1; then
		note "$name" "tunnel did not come up"
		sl_tail "$d/server.log" "$d/client.log"
		return 1
	fi
	iperf_through "$name" 198.19.3.1
}

bench_sluice_ovpn() { ovpn_cs sluice_ovpn sluice openvpn; }
bench_ovpn_sluice() { ovpn_cs ovpn_sluice openvpn sluice; }
bench_ovpn_ovpn() { ovpn_cs ovpn_ovpn openvpn openvpn; }

# val FILE: the number measured into $RESULTS/FILE, or na.
val() {
	[ -s "$RESULTS/$1" ] && cat "$RESULTS/$1" || echo na
}

mbps() {
	[ -s "$RESULTS/$1" ] && printf '%.1f' "$(cat "$RESULTS/$1")" || echo na
}

# div A B: A/B with two decimals, or na.
div() {
	if [ "$1" = na ] || [ "$2" = na ]; then
		echo na
	else
		awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "na" }'
	fi
}

# ratio A B: A's throughput over B's.
ratio() {
	div "$(mbps "$1")" "$(mbps "$2")"
}

# added_rtt NAME [rtt|rttmed]: NAME's average (median) RTT minus the veth's, in µs, or na.
added_rtt() {
	local a b
	a=$(val "$1.${2:-rtt}")
	b=$(val "veth.${2:-rtt}")
	if [ "$a" = na ] || [ "$b" = na ]; then
		echo na
	else
		echo $((a - b))
	fi
}

echo "sluice bench: per peer, client ns -> server ns over veth: $T s single-stream iperf3 TCP,"
echo "  $PPS_T s of 64-byte UDP datagrams as fast as bench/pps sends them, $RTT_N pings"
echo "  machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1),"
echo "  kernel $(uname -r); $("$SLUICE" --version 2>/dev/null || echo 'sluice not built');" \
	"$(openvpn --version 2>/dev/null | head -n 1 | cut -d' ' -f1-2);" \
	"wireguard-go $(dpkg-query -W -f='${Version}' wireguard-go 2>/dev/null || echo '?')"
echo "  started $(date -u '+%Y-%m-%d %H:%M') UTC, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for peer in ${BENCH_PEERS:-veth sluice sluice_tls wireguard_go openvpn sluice_ovpn ovpn_sluice ovpn_ovpn ocserv_openconnect ocserv_sluice}; do
	echo "- $peer"
	(bench_"$peer") || [ -f "$RESULTS/$peer.note" ] || note "$peer" "failed (see above)"
done

# The 10,000-peer scale test (bench/scale.sh): memory per idle peer, lookup cost vs peer count.
if [ "${BENCH_SCALE:-1}" != 0 ]; then
	echo "- scale"
	BUILD=$SL_BUILD "$(dirname "$0")/scale.sh" || echo "scale: failed (see above)"
fi

echo
printf '%-34s %10s %8s %10s %7s %8s %8s\n' peer Mbit/s "vs veth" "pps 64B" "loss%" "RTT us" "+RTT us"
for row in "veth:plain veth (ceiling)" "sluice:sluice (UDP)" "sluice_tls:sluice (TLS/TCP fallback)" \
	"wireguard_go:wireguard-go (userspace)" "openvpn:openvpn 2.6 (userspace, no DCO)" \
	"sluice_ovpn:sluice client -> openvpn server" "ovpn_sluice:openvpn client -> sluice server" \
	"ovpn_ovpn:openvpn client -> openvpn server" \
	"ocserv_openconnect:openconnect <-> ocserv (DTLS)" "ocserv_sluice:sluice connect <-> ocserv (DTLS)"; do
	peer=${row%%:*}
	extra=
	[ -f "$RESULTS/$peer.note" ] && extra="  ($(cat "$RESULTS/$peer.note"))"
	printf '%-34s %10s %8s %10s %7s %8s %8s%s\n' "${row#*:}" "$(mbps "$peer")" \
		"$(ratio "$peer" veth)" "$(val "$peer.pps")" "$(val "$peer.loss")" \
		"$(val "$peer.rtt")" "$(added_rtt "$peer")" "$extra"
done
echo
echo "PPS veth=$(val veth.pps) sluice=$(val sluice.pps) sluice_tls=$(val sluice_tls.pps)" \
	"wireguard_go=$(val wireguard_go.pps) openvpn=$(val openvpn.pps)" \
	"sluice_vs_wireguard_go=$(div "$(val sluice.pps)" "$(val wireguard_go.pps)")" \
	"sluice_vs_openvpn=$(div "$(val sluice.pps)" "$(val openvpn.pps)")"
echo "RTT veth_us=$(val veth.rtt) sluice_added_us=$(added_rtt sluice)" \
	"sluice_tls_added_us=$(added_rtt sluice_tls) wireguard_go_added_us=$(added_rtt wireguard_go)" \
	"openvpn_added_us=$(added_rtt openvpn) veth_median_us=$(val veth.rttmed)" \
	"sluice_added_median_us=$(added_rtt sluice rttmed)" \
	"sluice_tls_added_median_us=$(added_rtt sluice_tls rttmed)" \
	"wireguard_go_added_median_us=$(added_rtt wireguard_go rttmed)" \
	"openvpn_added_median_us=$(added_rtt openvpn rttmed)"
echo "OPENVPN sluice_client_vs_openvpn=$(ratio sluice_ovpn ovpn_ovpn)" \
	"sluice_server_vs_openvpn=$(ratio ovpn_sluice ovpn_ovpn)"
echo "ANYCONNECT sluice_ocserv_vs_openconnect_ocserv=$(ratio ocserv_sluice ocserv_openconnect)"
echo "RESULT sluice_vs_veth=$(ratio sluice veth) sluice_vs_wireguard_go=$(ratio sluice wireguard_go)" \
	"sluice_vs_openvpn=$(ratio sluice openvpn)"

# Instruction counts per packet (bench/instr.sh: callgrind, no network namespaces); its INSTR line
# is the last line, comparable before/after a change where Mbit/s are noisy.
echo
if ! command -v valgrind >/dev/null || ! command -v callgrind_annotate >/dev/null; then
	echo "instr: skipped, valgrind not installed (scripts/deps.sh --bench)"
elif ! BUILD=$SL_BUILD "$(dirname "$0")/instr.sh"; then
	echo "instr: failed (see above)"
fi
