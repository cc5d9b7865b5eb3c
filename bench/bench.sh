#!/bin/bash
# `make bench`: single-stream TCP throughput (iperf3, BENCH_SECONDS=10 each) between two fresh
# network namespaces over
#   - the plain veth (the ceiling: no tunnel at all),
#   - sluice (ESP-in-UDP, AES-256-GCM by default),
#   - wireguard-go (userspace WireGuard, ChaCha20-Poly1305),
#   - openvpn 2.6 in userspace (--disable-dco), p2p TLS mode, AES-256-GCM, UDP,
#   - ocserv with stock openconnect, and ocserv with `sluice connect` (AnyConnect, DTLS;
#     bench/anyconnect.sh; sluice's DTLS data still goes through OpenSSL in its control plane).
# Prints a table and the line
#   RESULT sluice_vs_veth=R1 sluice_vs_wireguard_go=R2 sluice_vs_openvpn=R3
# (sluice's throughput divided by the other's; "na" when one of them could not be measured),
# then runs bench/instr.sh, whose line
#   INSTR per_packet_outside_aead=N memcpy_bytes_per_packet=M
# comes last (skipped with a note without valgrind).
# A benchmark, not a test: it never fails on speed. See docs/performance.md. Needs root.
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/../scripts/netns.sh"

T=${BENCH_SECONDS:-10}
sl_need_root
sl_need_cmd ip iperf3 jq openssl
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

bench_veth() {
	sl_init bench-veth
	sl_netns_pair
	iperf_through veth "$SL_ADDR_S"
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
	iperf_through sluice "$SL_IN_S"
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
	iperf_through wireguard_go 198.19.1.1
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
	iperf_through openvpn 198.19.2.1
}

# shellcheck source=bench/anyconnect.sh
. "$(dirname "$0")/anyconnect.sh"

mbps() {
	[ -s "$RESULTS/$1" ] && printf '%.1f' "$(cat "$RESULTS/$1")" || echo na
}

# ratio A B: A/B with two decimals, or na.
ratio() {
	local a b
	a=$(mbps "$1")
	b=$(mbps "$2")
	if [ "$a" = na ] || [ "$b" = na ]; then
		echo na
	else
		awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "na" }'
	fi
}

echo "sluice bench: $T s single-stream iperf3 TCP per peer, client ns -> server ns over veth"
echo "  machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1),"
echo "  kernel $(uname -r); $("$SLUICE" --version 2>/dev/null || echo 'sluice not built');" \
	"$(openvpn --version 2>/dev/null | head -n 1 | cut -d' ' -f1-2)"
for peer in veth sluice wireguard_go openvpn ocserv_openconnect ocserv_sluice; do
	echo "- $peer"
	(bench_"$peer") || [ -f "$RESULTS/$peer.note" ] || note "$peer" "failed (see above)"
done

echo
printf '%-34s %12s %10s\n' peer Mbit/s "vs veth"
for row in "veth:plain veth (ceiling)" "sluice:sluice" "wireguard_go:wireguard-go (userspace)" \
	"openvpn:openvpn 2.6 (userspace, no DCO)" "ocserv_openconnect:openconnect <-> ocserv (DTLS)" \
	"ocserv_sluice:sluice connect <-> ocserv (DTLS)"; do
	peer=${row%%:*}
	extra=
	[ -f "$RESULTS/$peer.note" ] && extra="  ($(cat "$RESULTS/$peer.note"))"
	printf '%-34s %12s %10s%s\n' "${row#*:}" "$(mbps "$peer")" "$(ratio "$peer" veth)" "$extra"
done
echo
echo "RESULT sluice_vs_veth=$(ratio sluice veth) sluice_vs_wireguard_go=$(ratio sluice wireguard_go)" \
	"sluice_vs_openvpn=$(ratio sluice openvpn)" \
	"sluice_ocserv_vs_openconnect_ocserv=$(ratio ocserv_sluice ocserv_openconnect)"

# Instruction counts per packet (bench/instr.sh: callgrind, no network namespaces); its INSTR line
# is the last line, comparable before/after a change where Mbit/s are noisy.
echo
if ! command -v valgrind >/dev/null || ! command -v callgrind_annotate >/dev/null; then
	echo "instr: skipped, valgrind not installed (scripts/deps.sh --bench)"
elif ! BUILD=$SL_BUILD "$(dirname "$0")/instr.sh"; then
	echo "instr: failed (see above)"
fi
