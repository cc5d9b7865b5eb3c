#!/bin/bash
# AnyConnect/OpenConnect interop against the real peers, in two network namespaces:
#   nullppp-hdlc, nullppp-sync: openconnect --protocol=nullppp (cookie "hdlc" or none) against
#     `sluice serve ppp`: PPP negotiation, ping, a transfer with equal SHA-256, the environment
#     openconnect gives its vpnc-script (our stand-in records it), and Terminate on exit. IPv6:
#     IPV6CP's link-local address in the script's environment, a global address the client's
#     kernel configures from our Router Advertisement (SLAAC), pings both ways and a transfer.
#   ocserv-openconnect: stock openconnect against ocserv (the reference: its script environment).
#   ocserv-dtls: `sluice connect` against ocserv: XML auth, CONNECT, DTLS (PSK-NEGOTIATE), transfers
#     both ways through the engine's DTLS records, the vpnc-script environment compared with
#     openconnect's (the script run as root by the runner, sluice itself as nobody under seccomp).
#   ocserv-legacy: `sluice connect --dtls-ciphers OC-DTLS1_2-AES128-GCM` (no PSK-NEGOTIATE):
#     ocserv's session resumed, transfers both ways through the engine's DTLS records.
#   ocserv-udp-blocked: UDP dropped from the start: CSTP only, transfer.
#   ocserv-fallback: UDP dropped mid-transfer (falls back to CSTP, transfer completes), then
#     allowed again (returns to DTLS).
#   ocserv-rekey: ocserv asks for a rekey (new-tunnel) after 10 s: a new TLS connection with the
#     cookie and a new DTLS session, while pings go on.
#   serve-anyconnect: stock openconnect against `sluice serve anyconnect` (ocpasswd file, pool,
#     CSTP): ping, transfers both ways, a wrong password refused, two clients at once, and
#     `sluice connect` against it too.
#   Least privilege: each `sluice serve` runs as nobody (CapEff 0, Seccomp 2) once set up; serve
#     anyconnect re-reads its ocpasswd file through the fd it opened as root (a password edited
#     in place counts; one renamed over it by ocpasswd counts once it is readable by nobody).
#   serve-dtls: openconnect against `sluice serve anyconnect` with udp-port: DTLS (PSK-NEGOTIATE)
#     established, transfers carried by UDP (the server's per-path counters); serve-dtls-blocked:
#     UDP dropped from the start, all over CSTP; serve-dtls-fallback: UDP dropped mid-transfer
#     (CSTP takes over, the transfer completes), allowed again (DTLS returns); sluice connect
#     gets DTLS from it too. ANYCONNECT_DTLS_MIB sets the fallback case's transfers (default 10;
#     the link is shaped then), the others are ANYCONNECT_MIB.
# Ends with "N passed, N failed". ANYCONNECT_MIB sets the transfer size (default 100);
# ANYCONNECT_CASES=serve runs only the `sluice serve anyconnect` cases (default all).
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/../../scripts/netns.sh"
# shellcheck source=scripts/ocserv.sh
. "$(dirname "$0")/../../scripts/ocserv.sh"

MIB=${ANYCONNECT_MIB:-100}
CASES=${ANYCONNECT_CASES:-all}
HERE=$(cd "$(dirname "$0")" && pwd)
VPNC=$HERE/../tools/vpnc-record.sh
PORT=4443
OC_IF=ocC$SL_TAG

sl_need_root
sl_need_sluice anyconnect
sl_need_cmd openconnect ocserv ocpasswd nft nc sha256sum openssl
sl_init anyconnect
sl_netns_pair
sl_pki "$SL_WORK/pki"
PIN=pin-sha256:$(openssl x509 -in "$SL_WORK/pki/server.pem" -pubkey -noout |
	openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)

# env_of DIR REASON VAR: one variable from a recorded vpnc-script environment.
env_of() {
	sed -n "s/^$3=//p" "$1/env.$2" 2>/dev/null | head -n 1
}

# env_has DIR REASON VAR=VALUE...: each variable has that value in the recorded environment.
env_has() {
	local dir=$1 reason=$2 kv
	shift 2
	for kv in "$@"; do
		[ "$(env_of "$dir" "$reason" "${kv%%=*}")" = "${kv#*=}" ] || return 1
	done
}

# transfer NAME DIR LOGS...: MIB MiB over TCP through the tunnel, DIR "up" (client to the
# server's inner address) or "down" (server to the client's).
transfer() {
	local name=$1 dir=$2 port=5401 start ms send_pid recv_pid sent got rc=0
	local rx_ns=$SL_NS_S tx_ns=$SL_NS_C to=${XFER_TO_S:-$SL_IN_S}
	shift 2
	if [ "$dir" = down ]; then
		rx_ns=$SL_NS_C tx_ns=$SL_NS_S to=${XFER_TO_C:-$SL_IN_C}
	fi
	head -c "${MIB}M" /dev/urandom >"$SL_WORK/send.bin"
	# shellcheck disable=SC2016 # expanded by the inner sh
	sl_bg "$rx_ns" "$SL_WORK/$name-nc-recv.log" sh -c 'exec nc -l "$0" "$1" >"$2"' \
		"$to" "$port" "$SL_WORK/recv.bin"
	recv_pid=$SL_LAST_PID
	if ! sl_wait_for 5 sl_listening "$rx_ns" tcp "$port"; then
		sl_fail "$name: ${MIB} MiB $dir, sha256 matches" "nc -l did not start"
		return
	fi
	start=$(sl_now_ms)
	sl_bg_from "$tx_ns" "$SL_WORK/send.bin" "$SL_WORK/$name-nc-send.log" \
		timeout 300 nc -N "$to" "$port"
	send_pid=$SL_LAST_PID
	wait "$send_pid" || rc=$?
	sl_wait_for 20 sl_gone "$recv_pid" || sl_stop "$recv_pid"
	ms=$(($(sl_now_ms) - start))
	sent=$(sha256sum <"$SL_WORK/send.bin" | cut -d' ' -f1)
	got=$(sha256sum <"$SL_WORK/recv.bin" | cut -d' ' -f1)
	if [ "$rc" -eq 0 ] && [ "$sent" = "$got" ]; then
		echo "    $name $dir: ${MIB} MiB in $ms ms ($((MIB * 8 * 1000 / (ms > 0 ? ms : 1))) Mbit/s)"
		sl_pass "$name: ${MIB} MiB $dir, sha256 matches"
	else
		sl_fail "$name: ${MIB} MiB $dir, sha256 matches" \
			"sender status $rc, $(stat -c %s "$SL_WORK/recv.bin") bytes arrived" \
			"$SL_WORK/$name-nc-send.log" "$@"
	fi
	rm -f "$SL_WORK/send.bin" "$SL_WORK/recv.bin"
}

# dropped PID [CAPEFF]: no uid 0, those effective capabilities (default none), seccomp filter
# mode (netns.sh's status helpers; sl_check_reduced is the full set of checks).
dropped() {
	sl_no_root_ids "$1" Uid &&
		[ "$(sl_status_field "$1" CapEff)" = "${2:-0000000000000000}" ] &&
		[ "$(sl_status_field "$1" Seccomp)" = 2 ]
}

PPP6=2001:db8:ac01:: # serve ppp's --ipv6-prefix; this end is ${PPP6}1

# global6 NS DEV: the global IPv6 address (in $PPP6/64) on DEV, if there is one.
global6() {
	ip -n "$1" -6 -o addr show dev "$2" scope global 2>/dev/null |
		awk -v p="${PPP6%::}:" '$3 == "inet6" && index($4, p) == 1 { sub("/.*", "", $4); print $4; exit }'
}

has_global6() {
	[ -n "$(global6 "$1" "$2")" ]
}

# ppp_ipv6 NAME SLOG OCLOG REC: IPv6 over the PPP session: IPV6CP, SLAAC, pings, a transfer.
ppp_ipv6() {
	local name=$1 slog=$2 oclog=$3 rec=$4 peer_ll srv_ll cli6
	peer_ll=$(sed -n 's/.*IPv6 up, this end \(fe80::[0-9a-f:]*\), peer \(fe80::[0-9a-f:]*\);.*/\2/p' "$slog" | head -n 1)
	srv_ll=$(sed -n 's/.*IPv6 up, this end \(fe80::[0-9a-f:]*\), peer.*/\1/p' "$slog" | head -n 1)
	sl_check "$name: IPV6CP gave a non-zero identifier, in the vpnc-script's INTERNAL_IP6_ADDRESS" \
		"server: peer ${peer_ll:-none}; INTERNAL_IP6_ADDRESS=$(env_of "$rec" connect INTERNAL_IP6_ADDRESS)" \
		"$slog" env_has "$rec" connect INTERNAL_IP6_ADDRESS="${peer_ll:-unset}"
	sl_check "$name: client kernel configured a global address from the Router Advertisement" \
		"$(ip -n "$SL_NS_C" -6 -o addr show dev "$OC_IF" 2>&1 | awk '{print $4}' | tr '\n' ' ')" \
		"$slog" sl_wait_for 15 has_global6 "$SL_NS_C" "$OC_IF"
	cli6=$(global6 "$SL_NS_C" "$OC_IF")
	sl_check "$name: IPv6 ping client -> ${PPP6}1" "no answer" "$slog" \
		sl_wait_for 5 sl_ping "$SL_NS_C" "${PPP6}1"
	sl_check "$name: IPv6 ping server -> client ${cli6:-none}" "no answer" "$slog" \
		sl_wait_for 5 sl_ping "$SL_NS_S" "${cli6:-none}"
	sl_check "$name: link-local ping client -> ${srv_ll:-none}%$OC_IF" "no answer" "$slog" \
		sl_wait_for 5 sl_ping "$SL_NS_C" "${srv_ll:-none}%$OC_IF"
	MIB=4 XFER_TO_S=${PPP6}1 transfer "$name-ipv6" up "$slog" "$oclog"
	MIB=4 XFER_TO_C=${cli6:-none} transfer "$name-ipv6" down "$slog" "$oclog"
}

# nullppp NAME COOKIE: one openconnect --protocol=nullppp session against `sluice serve ppp`.
nullppp() {
	local name=$1 cookie=$2 slog oclog rec srv oc framing
	slog=$SL_WORK/$name-serve.log
	oclog=$SL_WORK/$name-openconnect.log
	rec=$SL_WORK/$name-env
	mkdir -p "$rec"
	SL_IFNAMES+=("$SL_IF_S")
	sl_bg "$SL_NS_S" "$slog" "$SLUICE" serve ppp --listen "$SL_ADDR_S:$PORT" \
		--cert "$SL_WORK/pki/server.pem" --key "$SL_WORK/pki/server.key" \
		--local "$SL_IN_S" --remote "$SL_IN_C" --dns 198.19.0.53 --ifname "$SL_IF_S" --echo 2 \
		--ipv6-prefix "${PPP6}/64"
	srv=$SL_LAST_PID
	sl_wait_for 5 sl_listening "$SL_NS_S" tcp "$PORT" || true
	VPNC_RECORD_DIR=$rec sl_bg "$SL_NS_C" "$oclog" env VPNC_RECORD_DIR="$rec" \
		openconnect --protocol=nullppp --cookie "$cookie" --servercert "$PIN" \
		--script "$VPNC" --interface "$OC_IF" --non-inter "https://$SL_ADDR_S:$PORT/"
	oc=$SL_LAST_PID
	if sl_wait_for 20 sl_ping "$SL_NS_C" "$SL_IN_S"; then
		sl_pass "$name: PPP up, ping through the tunnel"
	else
		sl_fail "$name: PPP up, ping through the tunnel" "no ping within 20 s" "$slog" "$oclog"
		sl_stop "$oc"
		sl_stop "$srv"
		return
	fi
	sl_check "$name: serve ppp dropped privileges (Uid not 0, CapEff 0, Seccomp 2)" \
		"$(grep -E '^(Uid|CapEff|Seccomp):' "/proc/$srv/status" 2>&1 | tr '\n\t' '  ')" "$slog" \
		dropped "$srv"
	framing=RFC\ 1661
	[ "$cookie" = hdlc ] && framing="RFC 1662 HDLC"
	sl_check "$name: server saw $framing framing" "not in its log" "$slog" \
		grep -q "$framing framing" "$slog"
	sl_check "$name: vpnc-script got the PPP address and gateway" \
		"INTERNAL_IP4_ADDRESS=$(env_of "$rec" connect INTERNAL_IP4_ADDRESS) VPNGATEWAY=$(env_of "$rec" connect VPNGATEWAY) TUNDEV=$(env_of "$rec" connect TUNDEV)" \
		"$oclog" env_has "$rec" connect INTERNAL_IP4_ADDRESS="$SL_IN_C" \
		VPNGATEWAY="$SL_ADDR_S" TUNDEV="$OC_IF"
	sl_check "$name: vpnc-script got the DNS server from IPCP" \
		"INTERNAL_IP4_DNS=$(env_of "$rec" connect INTERNAL_IP4_DNS)" "$oclog" \
		env_has "$rec" connect INTERNAL_IP4_DNS=198.19.0.53
	transfer "$name" up "$slog" "$oclog"
	transfer "$name" down "$slog" "$oclog"
	ppp_ipv6 "$name" "$slog" "$oclog" "$rec"
	sl_stop "$oc"
	sl_check "$name: openconnect's exit terminates the PPP session" "no 'session over' line" \
		"$slog" sl_wait_for 5 grep -q "session over: terminated by peer" "$slog"
	sl_stop "$srv"
}

if [ "$CASES" = all ]; then
	nullppp nullppp-hdlc hdlc
	nullppp nullppp-sync sync
fi

# --- ocserv ------------------------------------------------------------------------------------

OCS_LOG=$SL_WORK/ocserv.log
# ocserv_start: ocserv 1.1 with a plain password file (user test, password test), the pattern of
# ocserv's tests/data/test1.config; DPD 2 s so it notices a silent DTLS channel quickly.
ocserv_start() {
	sl_ocserv_conf "$SL_WORK" "$PORT" 2 "${OCS_EXTRA:-}"
	sl_bg "$SL_NS_S" "$OCS_LOG" ocserv -f -d "${OCSERV_DEBUG:-1}" -c "$SL_WORK/ocserv.conf"
	OCS_PID=$SL_LAST_PID
	sl_wait_for 5 sl_listening "$SL_NS_S" tcp "$PORT" && sl_wait_for 5 sl_listening "$SL_NS_S" udp "$PORT"
}

# udp_block / udp_unblock: drop the client's UDP to and from the server (DTLS), nothing else.
udp_block() {
	ip netns exec "$SL_NS_C" nft -f - <<EOF2
table inet sluice_ac_block {
	chain out { type filter hook output priority 0; udp dport $PORT drop; }
	chain in { type filter hook input priority 0; udp sport $PORT drop; }
}
EOF2
}

udp_unblock() {
	ip netns exec "$SL_NS_C" nft delete table inet sluice_ac_block
}

# sluice_connect NAME [netlink|OPTION...]: `sluice connect` in the client namespace (script
# records into $SL_WORK/NAME-env; with "netlink", no script: the built-in set-up; other
# arguments are more options).
SLC_IF=slac$SL_TAG
sluice_connect() {
	local name=$1 setup=(--script "$VPNC")
	shift
	if [ "${1:-}" = netlink ]; then
		setup=()
		shift
	fi
	setup+=("$@")
	mkdir -p "$SL_WORK/$name-env"
	SLC_LOG=$SL_WORK/$name-sluice.log
	printf 'test\n' >"$SL_WORK/password"
	sl_bg_from "$SL_NS_C" "$SL_WORK/password" "$SLC_LOG" env VPNC_RECORD_DIR="$SL_WORK/$name-env" \
		"$SLUICE" connect --user test --passwd-on-stdin --servercert "$PIN" \
		"${setup[@]}" --interface "$SLC_IF" "https://$SL_ADDR_S:$PORT/"
	SLC_PID=$SL_LAST_PID
}

# no_dtls_said LOG: DTLS never came up, and the log says the handshake got no answer.
no_dtls_said() {
	[ "$(count_lines "$1" "data now over DTLS")" -eq 0 ] && sl_wait_for 10 grep -q "no DTLS handshake" "$1"
}

# env_like_openconnect MINE THEIRS: every variable of THEIRS is in MINE, most with the same value.
env_like_openconnect() {
	[ -s "$2" ] && [ -s "$1" ] && [ -z "$ENV_MISSING$ENV_DIFFER" ]
}

# ends_on_dtls N LOG: DTLS came up N >= 2 times (first, and back), and the last switch was to it.
ends_on_dtls() {
	[ "$1" -ge 2 ] && grep "data now over" "$2" | tail -n 1 | grep -q "over DTLS"
}

# both_ping IF1 IF2: the server's inner address answers through each tunnel.
both_ping() {
	sl_wait_for 10 ping_via "$SL_NS_C" "$1" "$SL_IN_S" && sl_wait_for 10 ping_via "$SL_NS_C" "$2" "$SL_IN_S"
}

dtls_up_twice() {
	[ "$(count_lines "$1" "DTLS up (")" -ge 2 ]
}

# more_lines LOG PATTERN N: LOG has more than N lines with PATTERN.
more_lines() {
	[ "$(count_lines "$1" "$2")" -gt "$3" ]
}

# engine_carried NAME LOG MIB: the engine sealed and opened the transfers' DTLS records (its
# per-peer counters at exit): each way, at least half of MIB MiB in packets of <= 1406 bytes.
engine_carried() {
	local tx rx
	tx=$(sed -n 's/.*DTLS data packets sent \([0-9]*\), received [0-9]* (sealed.*/\1/p' "$2")
	rx=$(sed -n 's/.*DTLS data packets sent [0-9]*, received \([0-9]*\) (sealed.*/\1/p' "$2")
	sl_check "$1: the engine sealed and opened the DTLS data records" \
		"engine DTLS packets sent ${tx:-none}, received ${rx:-none}; want > $(($3 * 375)) each" \
		"$2" both_above "${tx:-0}" "${rx:-0}" $(($3 * 375))
}

# all_of "A -op B"...: every test holds (one sl_check over several numbers; each is split into
# the words of a `[ ]`).
all_of() {
	local t
	for t in "$@"; do
		# shellcheck disable=SC2086 # the split is the point
		[ $t ] || return 1
	done
}

# both_above A B N: A > N and B > N.
both_above() {
	[ "$1" -gt "$3" ] && [ "$2" -gt "$3" ]
}

count_lines() {
	grep -c "$2" "$1" 2>/dev/null || true
}

if [ "$CASES" != all ]; then
	echo "    (ANYCONNECT_CASES=$CASES: nullppp and ocserv cases skipped)"
elif ! ocserv_start; then
	sl_fail "ocserv starts" "no TCP/UDP port $PORT" "$OCS_LOG"
else
	# The reference: openconnect's own run, for the script environment.
	mkdir -p "$SL_WORK/oc-env"
	printf 'test\n' >"$SL_WORK/password"
	sl_bg_from "$SL_NS_C" "$SL_WORK/password" "$SL_WORK/oc-ocserv.log" \
		env VPNC_RECORD_DIR="$SL_WORK/oc-env" openconnect --user test --passwd-on-stdin \
		--servercert "$PIN" --script "$VPNC" --interface "$OC_IF" --non-inter \
		"https://$SL_ADDR_S:$PORT/"
	oc=$SL_LAST_PID
	sl_check "ocserv-openconnect: openconnect pings through ocserv" "no ping in 20 s" \
		"$SL_WORK/oc-ocserv.log $OCS_LOG" sl_wait_for 20 sl_ping "$SL_NS_C" "$SL_IN_S"
	sl_stop "$oc"

	# sluice connect, DTLS
	sluice_connect ocserv-dtls
	if sl_wait_for 20 sl_ping "$SL_NS_C" "$SL_IN_S"; then
		sl_pass "ocserv-dtls: sluice connect authenticates, pings through ocserv"
	else
		sl_fail "ocserv-dtls: sluice connect authenticates, pings through ocserv" \
			"no ping in 20 s" "$SLC_LOG" "$OCS_LOG"
	fi
	sl_check "ocserv-dtls: data over DTLS (PSK-NEGOTIATE)" "no 'DTLS up' in the log" "$SLC_LOG" \
		sl_wait_for 40 grep -q "data now over DTLS" "$SLC_LOG"
	XFER_TO_C=$(env_of "$SL_WORK/ocserv-dtls-env" connect INTERNAL_IP4_ADDRESS)
	transfer ocserv-dtls up "$SLC_LOG" "$OCS_LOG"
	transfer ocserv-dtls down "$SLC_LOG" "$OCS_LOG"
	sl_check "ocserv-dtls: stayed on DTLS" "fell back during the transfers" "$SLC_LOG" \
		[ "$(count_lines "$SLC_LOG" "data now over CSTP")" -eq 0 ]
	sl_check "ocserv-dtls: sluice connect dropped privileges (Uid not 0, CapEff 0, Seccomp 2)" \
		"$(grep -E '^(Uid|CapEff|Seccomp):' "/proc/$SLC_PID/status" 2>&1 | tr '\n\t' '  ')" "$SLC_LOG" \
		dropped "$SLC_PID"
	# The script environment: every variable openconnect set is there, with the same value
	# (the address may differ: it is a pool; VPNPID, TUNDEV, LOG_LEVEL and the raw options list
	# are not compared by value).
	mine=$SL_WORK/ocserv-dtls-env/env.connect
	theirs=$SL_WORK/oc-env/env.connect
	missing=
	differ=
	while IFS= read -r line; do
		var=${line%%=*}
		case $var in VPNPID | TUNDEV | LOG_LEVEL | CISCO_CSTP_OPTIONS | INTERNAL_IP4_ADDRESS) ;; *)
			grep -qxF "$line" "$mine" || differ="$differ $var" ;;
		esac
		grep -q "^$var=" "$mine" || missing="$missing $var"
	done < <(grep -E '^[A-Za-z_][A-Za-z0-9_]*=' "$theirs")
	ENV_MISSING=$missing ENV_DIFFER=$differ
	sl_check "ocserv-dtls: vpnc-script environment as openconnect's" \
		"missing:${missing:- none}; different:${differ:- none}" "$mine $theirs" \
		env_like_openconnect "$mine" "$theirs"
	sl_stop "$SLC_PID"
	sl_check "ocserv-dtls: disconnect runs the script's disconnect" "no env.disconnect" "$SLC_LOG" \
		[ -s "$SL_WORK/ocserv-dtls-env/env.disconnect" ]
	engine_carried ocserv-dtls "$SLC_LOG" "$MIB"

	# Legacy DTLS: no PSK-NEGOTIATE offered, so ocserv makes a session of our
	# X-DTLS-Master-Secret and we resume it (an abbreviated DTLS 1.2 handshake).
	sluice_connect ocserv-legacy --dtls-ciphers OC-DTLS1_2-AES128-GCM
	sl_check "ocserv-legacy: DTLS up by resuming ocserv's session (AES128-GCM-SHA256)" \
		"no legacy DTLS in 30 s" "$SLC_LOG $OCS_LOG" \
		sl_wait_for 30 grep -q "DTLS up (DTLSv1.2, AES128-GCM-SHA256, legacy" "$SLC_LOG"
	sl_wait_for 10 grep -q "data now over DTLS" "$SLC_LOG" || true
	XFER_TO_C=$(env_of "$SL_WORK/ocserv-legacy-env" connect INTERNAL_IP4_ADDRESS)
	MIB_SAVED=$MIB MIB=20
	transfer ocserv-legacy up "$SLC_LOG" "$OCS_LOG"
	transfer ocserv-legacy down "$SLC_LOG" "$OCS_LOG"
	sl_stop "$SLC_PID"
	engine_carried ocserv-legacy "$SLC_LOG" "$MIB"
	MIB=$MIB_SAVED

	# UDP blocked from the start: CSTP only.
	udp_block
	sluice_connect ocserv-udp-blocked
	sl_check "ocserv-udp-blocked: tunnel up over CSTP" "no ping in 20 s" "$SLC_LOG $OCS_LOG" \
		sl_wait_for 20 sl_ping "$SL_NS_C" "$SL_IN_S"
	transfer ocserv-udp-blocked up "$SLC_LOG" "$OCS_LOG"
	sl_check "ocserv-udp-blocked: no DTLS, said so" "DTLS came up, or no log line" "$SLC_LOG" \
		no_dtls_said "$SLC_LOG"
	sl_stop "$SLC_PID"
	udp_unblock

	# UDP blocked mid-transfer, then allowed again.
	sluice_connect ocserv-fallback
	sl_wait_for 20 sl_ping "$SL_NS_C" "$SL_IN_S" || true
	sl_check "ocserv-fallback: on DTLS before UDP is blocked" "no DTLS in 20 s" "$SLC_LOG" \
		sl_wait_for 40 grep -q "data now over DTLS" "$SLC_LOG"
	XFER_TO_C=$(env_of "$SL_WORK/ocserv-fallback-env" connect INTERNAL_IP4_ADDRESS)
	( sleep 1; udp_block ) &
	blocker=$!
	transfer ocserv-fallback down "$SLC_LOG" "$OCS_LOG"
	wait "$blocker" || true
	sl_check "ocserv-fallback: fell back to CSTP when UDP went silent" "no log line" "$SLC_LOG" \
		sl_wait_for 10 grep -q "data now over CSTP" "$SLC_LOG"
	sl_wait_for 5 grep -q "data now over CSTP" "$SLC_LOG" || true
	returns_before=$(count_lines "$SLC_LOG" "DTLS answers again")
	udp_unblock
	sl_check "ocserv-fallback: back on DTLS once UDP works again" "not within 15 s" "$SLC_LOG" \
		sl_wait_for 15 more_lines "$SLC_LOG" "DTLS answers again" "$returns_before"
	sl_check "ocserv-fallback: ping after the return" "no ping" "$SLC_LOG" \
		sl_wait_for 5 sl_ping "$SL_NS_C" "$SL_IN_S"
	dtls_before=$(count_lines "$SLC_LOG" "data now over DTLS")
	MIB_SAVED=$MIB MIB=10
	transfer ocserv-fallback-return down "$SLC_LOG" "$OCS_LOG"
	MIB=$MIB_SAVED
	sl_stop "$SLC_PID"
	cstp_rx=$(sed -n 's/.*CSTP data packets sent [0-9]*, received \([0-9]*\).*/\1/p' "$SLC_LOG")
	sl_check "ocserv-fallback: part of the transfer came over CSTP" \
		"CSTP data packets received: ${cstp_rx:-none} (a transfer faster than 1 s never falls back)" \
		"$SLC_LOG" [ "${cstp_rx:-0}" -gt 1000 ]
	sl_check "ocserv-fallback: on DTLS at the end, after the return" \
		"DTLS went up $dtls_before times; last switch: $(grep "data now over" "$SLC_LOG" | tail -n 1)" \
		"$SLC_LOG" ends_on_dtls "$dtls_before" "$SLC_LOG"
	sl_stop "$OCS_PID"

	# Rekey as the server asks: ocserv with rekey-time 10 s, new-tunnel.
	OCS_EXTRA=$'rekey-time = 10\nrekey-method = new-tunnel'
	if ocserv_start; then
		sluice_connect ocserv-rekey
		sl_wait_for 20 sl_ping "$SL_NS_C" "$SL_IN_S" || true
		ip netns exec "$SL_NS_C" ping -c 16 -i 1 -W 1 "$SL_IN_S" >"$SL_WORK/rekey-ping.log" 2>&1 &
		pinger=$!
		sl_check "ocserv-rekey: reconnects with the cookie at rekey time" "no reconnect in 20 s" \
			"$SLC_LOG $OCS_LOG" sl_wait_for 20 grep -q "CSTP reconnected" "$SLC_LOG"
		wait "$pinger" || true
		got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$SL_WORK/rekey-ping.log")
		sl_check "ocserv-rekey: pings go on across the rekey" "${got:-0} of 16 answered" \
			"$SLC_LOG" [ "${got:-0}" -ge 14 ]
		sl_check "ocserv-rekey: DTLS again after the rekey" "DTLS came up fewer than 2 times" \
			"$SLC_LOG" sl_wait_for 40 dtls_up_twice "$SLC_LOG"
		sl_stop "$SLC_PID"
		sl_stop "$OCS_PID"
	else
		sl_fail "ocserv-rekey: ocserv restarts" "no TCP/UDP port $PORT" "$OCS_LOG"
	fi
	OCS_EXTRA=
fi

# --- sluice serve anyconnect ----------------------------------------------------------------

# oc_client NAME IFACE PASSWORD: stock openconnect against the sluice server; PID in OC_PID.
oc_client() {
	mkdir -p "$SL_WORK/$1-env"
	printf '%s\n' "$3" >"$SL_WORK/$1-password"
	sl_bg_from "$SL_NS_C" "$SL_WORK/$1-password" "$SL_WORK/$1.log" \
		env VPNC_RECORD_DIR="$SL_WORK/$1-env" openconnect --user test --passwd-on-stdin \
		--servercert "$PIN" --script "$VPNC" --interface "$2" --non-inter \
		"https://$SL_ADDR_S:$PORT/"
	OC_PID=$SL_LAST_PID
}

# ping_via NS IFACE ADDR: one ping bound to IFACE (each client's own tunnel).
ping_via() {
	ip netns exec "$1" ping -c 1 -W 1 -I "$2" "$3" >/dev/null 2>&1
}

cat >"$SL_WORK/sluice-ac.conf" <<EOF2
# sluice serve anyconnect
listen = $SL_ADDR_S:$PORT
server-cert = pki/server.pem
server-key = pki/server.key
auth = plain[passwd=ocpasswd]
ipv4-network = 198.19.0.0/24
dns = 198.19.0.53
route = 198.19.0.0/24
dpd = 5
keepalive = 20
device = $SL_IF_S
EOF2
[ -s "$SL_WORK/ocpasswd" ] || printf 'test\ntest\n' | ocpasswd -c "$SL_WORK/ocpasswd" test
# As /etc/ocserv is: searchable by everyone (not listable), so that the server, as nobody, can
# tell whether the password file was replaced (the files keep their own modes).
chmod 711 "$SL_WORK"
SRV_LOG=$SL_WORK/serve-anyconnect.log
SL_IFNAMES+=("$SL_IF_S")
sl_bg "$SL_NS_S" "$SRV_LOG" "$SLUICE" serve anyconnect "$SL_WORK/sluice-ac.conf"
srv=$SL_LAST_PID
sl_wait_for 5 sl_listening "$SL_NS_S" tcp "$PORT" || true
# Every login below comes after the drop, and nobody cannot open the file by its name.
sl_check "serve-anyconnect: the password file is 0600 root (nobody cannot open it)" \
	"$(stat -c '%a %U' "$SL_WORK/ocpasswd")" "" [ "$(stat -c '%a %U' "$SL_WORK/ocpasswd")" = "600 root" ]
sl_check "serve-anyconnect: dropped to nobody before the first login" "no 'running as' line" \
	"$SRV_LOG" sl_wait_for 5 grep -q 'running as nobody with no capabilities' "$SRV_LOG"

oc_client serve-ac-bad "$OC_IF" wrong
sl_check "serve-anyconnect: a wrong password is refused" "openconnect still running or no log line" \
	"$SL_WORK/serve-ac-bad.log $SRV_LOG" sl_wait_for 10 sl_gone "$OC_PID"
sl_stop "$OC_PID"
sl_check "serve-anyconnect: the refusal is logged" "no 'refused' line" "$SRV_LOG" \
	grep -q "login of 'test' refused" "$SRV_LOG"

oc_client serve-ac "$OC_IF" test
oc1=$OC_PID
if sl_wait_for 20 sl_ping "$SL_NS_C" "$SL_IN_S"; then
	sl_pass "serve-anyconnect: openconnect logs in, pings through sluice"
else
	sl_fail "serve-anyconnect: openconnect logs in, pings through sluice" "no ping in 20 s" \
		"$SL_WORK/serve-ac.log" "$SRV_LOG"
fi
sl_check "serve-anyconnect: openconnect's script got address, DNS and route" \
	"$(grep -E 'INTERNAL_IP4_(ADDRESS|DNS)|CISCO_SPLIT_INC_0_ADDR' "$SL_WORK/serve-ac-env/env.connect" 2>/dev/null | tr '\n' ' ')" \
	"$SL_WORK/serve-ac.log" env_has "$SL_WORK/serve-ac-env" connect INTERNAL_IP4_ADDRESS=198.19.0.2 \
	INTERNAL_IP4_DNS=198.19.0.53 CISCO_SPLIT_INC_0_ADDR=198.19.0.0 CISCO_SPLIT_INC_0_MASKLEN=24
sl_check_reduced serve-anyconnect "$srv" 0000000000000000 "$SRV_LOG"
XFER_TO_C=198.19.0.2
transfer serve-anyconnect up "$SL_WORK/serve-ac.log" "$SRV_LOG"
transfer serve-anyconnect down "$SL_WORK/serve-ac.log" "$SRV_LOG"

# a second user at once, on the same engine: its own address and peer
oc_client serve-ac2 "${OC_IF}b" test
oc2=$OC_PID
sl_check "serve-anyconnect: a second client at once gets its own address" "no 198.19.0.3" \
	"$SL_WORK/serve-ac2.log $SRV_LOG" sl_wait_for 20 env_has "$SL_WORK/serve-ac2-env" connect \
	INTERNAL_IP4_ADDRESS=198.19.0.3
sl_check "serve-anyconnect: both tunnels answer at once" "a ping failed" "$SRV_LOG" \
	both_ping "$OC_IF" "${OC_IF}b"
sl_stop "$oc2"
sl_stop "$oc1"
sl_check "serve-anyconnect: the clients' goodbye ends their tunnels" "not logged" "$SRV_LOG" \
	sl_wait_for 5 grep -q "tunnel of test over: client disconnected" "$SRV_LOG"

# sluice's own client against sluice's server (CSTP: no DTLS offered), with the built-in set-up
sluice_connect serve-ac-sluice netlink
sl_check "serve-anyconnect: sluice connect works against it too" "no ping in 20 s" \
	"$SLC_LOG $SRV_LOG" sl_wait_for 20 sl_ping "$SL_NS_C" "$SL_IN_S"
# without a script it keeps CAP_NET_ADMIN (bit 12) for the set-up, and nothing else
sl_check "serve-anyconnect: sluice connect without a script: nobody, CapEff CAP_NET_ADMIN, Seccomp 2" \
	"$(grep -E '^(Uid|CapEff|Seccomp):' "/proc/$SLC_PID/status" 2>&1 | tr '\n\t' '  ')" "$SLC_LOG" \
	dropped "$SLC_PID" 0000000000001000
sl_stop "$SLC_PID"

# login_ok NAME PASSWORD / login_refused NAME PASSWORD: openconnect as test with PASSWORD.
login_ok() {
	oc_client "$1" "$OC_IF" "$2"
	sl_wait_for 20 sl_ping "$SL_NS_C" "$SL_IN_S"
	local rc=$?
	sl_stop "$OC_PID"
	sl_wait_for 5 sh -c "! ip -n '$SL_NS_C' link show '$OC_IF' >/dev/null 2>&1" || true
	return $rc
}
login_refused() {
	oc_client "$1" "$OC_IF" "$2"
	sl_wait_for 10 sl_gone "$OC_PID"
	local rc=$?
	sl_stop "$OC_PID"
	return $rc
}
# The password changed in place (same file): the next login reads it through the kept fd.
printf 'changed\nchanged\n' | ocpasswd -c "$SL_WORK/ocpasswd.new" test
cat "$SL_WORK/ocpasswd.new" >"$SL_WORK/ocpasswd"
rm -f "$SL_WORK/ocpasswd.new"
sl_check "serve-anyconnect: after an edit in place the old password is refused" \
	"openconnect got in with 'test'" "$SL_WORK/serve-ac-old.log $SRV_LOG" \
	login_refused serve-ac-old test
sl_check "serve-anyconnect: and the new one logs in (re-read after the drop)" "no ping in 20 s" \
	"$SL_WORK/serve-ac-new.log $SRV_LOG" login_ok serve-ac-new changed
# ocpasswd itself renames a new 0600 file over it: nobody cannot open that one. The old
# contents still count, the log says why; once the file is readable by nobody it counts.
printf 'third\nthird\n' | ocpasswd -c "$SL_WORK/ocpasswd" test
sl_check "serve-anyconnect: a password file renamed over it, unreadable, is not used" \
	"openconnect got in with 'third'" "$SL_WORK/serve-ac-third.log $SRV_LOG" \
	login_refused serve-ac-third third
sl_check "serve-anyconnect: and the log says so" "no 'was replaced since start' line" "$SRV_LOG" \
	grep -q 'was replaced since start' "$SRV_LOG"
sl_check "serve-anyconnect: the previous password still logs in meanwhile" "no ping in 20 s" \
	"$SL_WORK/serve-ac-prev.log $SRV_LOG" login_ok serve-ac-prev changed
chgrp nogroup "$SL_WORK/ocpasswd"
chmod 640 "$SL_WORK/ocpasswd"
sl_check "serve-anyconnect: made readable by nobody, the new file counts" "no ping in 20 s" \
	"$SL_WORK/serve-ac-readable.log $SRV_LOG" login_ok serve-ac-readable third
sl_check "serve-anyconnect: alive (no SIGSYS) after all these logins" "it exited" "$SRV_LOG" \
	sl_alive "$srv"
sl_stop "$srv"
printf 'test\ntest\n' | ocpasswd -c "$SL_WORK/ocpasswd" test

# Certificate login (auth = certificate, as ocserv): the user is the certificate's CN; a
# certificate from another CA, or none, is refused with the reason in the server's log.
"$SLUICE" pki init "$SL_WORK/pki-other" >/dev/null
"$SLUICE" pki issue "$SL_WORK/pki-other" client >/dev/null
# (ocserv's run-as-user / run-as-group here: the server becomes nobody:daemon.)
awk '/^auth = / { print "auth = certificate"; print "ca-cert = pki/ca.pem"; next } 1
	END { print "run-as-user = nobody"; print "run-as-group = daemon" }' \
	"$SL_WORK/sluice-ac.conf" >"$SL_WORK/sluice-ac-cert.conf"
SRV_LOG=$SL_WORK/serve-anyconnect-cert.log
sl_bg "$SL_NS_S" "$SRV_LOG" "$SLUICE" serve anyconnect "$SL_WORK/sluice-ac-cert.conf"
srv=$SL_LAST_PID
sl_wait_for 5 sl_listening "$SL_NS_S" tcp "$PORT" || true
# oc_cert NAME PKIDIR: openconnect logging in with PKIDIR's client certificate, no password.
oc_cert() {
	mkdir -p "$SL_WORK/$1-env"
	sl_bg_from "$SL_NS_C" /dev/null "$SL_WORK/$1.log" \
		env VPNC_RECORD_DIR="$SL_WORK/$1-env" openconnect --certificate "$2/client.pem" \
		--sslkey "$2/client.key" --servercert "$PIN" --script "$VPNC" --interface "$OC_IF" \
		--non-inter "https://$SL_ADDR_S:$PORT/"
	OC_PID=$SL_LAST_PID
}
oc_cert serve-ac-cert-bad "$SL_WORK/pki-other"
sl_check "serve-anyconnect cert: a certificate from another CA is refused" \
	"openconnect still running" "$SL_WORK/serve-ac-cert-bad.log $SRV_LOG" \
	sl_wait_for 10 sl_gone "$OC_PID"
sl_stop "$OC_PID"
sl_check "serve-anyconnect cert: the refusal is logged with its reason" "no 'login refused' line" \
	"$SRV_LOG" grep -q "login refused: " "$SRV_LOG"
# The right CA, but a server's certificate (extended key usage serverAuth only).
mkdir -p "$SL_WORK/pki-servercert"
cp "$SL_WORK/pki/server.pem" "$SL_WORK/pki-servercert/client.pem"
cp "$SL_WORK/pki/server.key" "$SL_WORK/pki-servercert/client.key"
oc_cert serve-ac-cert-purpose "$SL_WORK/pki-servercert"
sl_check "serve-anyconnect cert: a server's certificate (serverAuth only) is refused" \
	"openconnect still running" "$SL_WORK/serve-ac-cert-purpose.log $SRV_LOG" \
	sl_wait_for 10 sl_gone "$OC_PID"
sl_stop "$OC_PID"
sl_check "serve-anyconnect cert: ... for its purpose, says the log" "no 'purpose' refusal" \
	"$SRV_LOG" grep -q "login refused: .*purpose" "$SRV_LOG"
oc_cert serve-ac-cert "$SL_WORK/pki"
sl_check "serve-anyconnect cert: openconnect logs in with its certificate, pings through" \
	"no ping in 20 s" "$SL_WORK/serve-ac-cert.log $SRV_LOG" \
	sl_wait_for 20 sl_ping "$SL_NS_C" "$SL_IN_S"
sl_check "serve-anyconnect cert: the user is the certificate's CN" "no 'client' accepted line" \
	"$SRV_LOG" grep -q "certificate of 'client' accepted" "$SRV_LOG"
gid=$(getent group daemon | cut -d: -f3)
# cert_server_dropped PID GID: dropped, its gids all GID, and the log said so.
cert_server_dropped() {
	grep -q "running as nobody:daemon with no capabilities" "$SRV_LOG" && dropped "$1" &&
		[ "$(sl_status_field "$1" Gid)" = "$2 $2 $2 $2" ]
}
sl_check "serve-anyconnect cert: logins after the drop to run-as-user:run-as-group" \
	"$(grep -E '^(Uid|Gid|CapEff|Seccomp):' "/proc/$srv/status" 2>&1 | tr '\n\t' '  ')" "$SRV_LOG" \
	cert_server_dropped "$srv" "$gid"
sl_stop "$OC_PID"
sl_stop "$srv"

# --- sluice serve anyconnect with DTLS ------------------------------------------------------
# udp-port set: openconnect's DTLS (PSK-NEGOTIATE, GnuTLS) against the server's; DPD 2 s so a
# silent channel is noticed in about 5 s. The server logs every tunnel's data packets per path
# when it ends; those counters say which path carried a transfer.

# dtls_counts LOG: the last tunnel's server counters into D_TX D_RX C_TX C_RX.
dtls_counts() {
	D_TX=$(sed -n 's/.*: DTLS data packets sent \([0-9]*\), received.*/\1/p' "$1" | tail -n 1)
	D_RX=$(sed -n 's/.*: DTLS data packets sent [0-9]*, received \([0-9]*\).*/\1/p' "$1" | tail -n 1)
	C_TX=$(sed -n 's/.*: CSTP data packets sent \([0-9]*\), received.*/\1/p' "$1" | tail -n 1)
	C_RX=$(sed -n 's/.*: CSTP data packets sent [0-9]*, received \([0-9]*\).*/\1/p' "$1" | tail -n 1)
	echo "    server counters: DTLS sent ${D_TX:-?} received ${D_RX:-?}, CSTP sent ${C_TX:-?} received ${C_RX:-?}"
}

# back_on_dtls LOG: after the server's last fallback to CSTP, its data went back to DTLS.
back_on_dtls() {
	local at
	at=$(grep -n "no DTLS record for" "$1" | tail -n 1 | cut -d: -f1)
	[ -n "$at" ] && tail -n +"$at" "$1" | grep "data now over" | tail -n 1 | grep -q "over DTLS"
}

# stop_oc PID LOG: openconnect goes; wait for the server to log the tunnel's counters.
stop_oc() {
	local before
	before=$(count_lines "$2" "CSTP data packets sent")
	sl_stop "$1"
	sl_wait_for 10 more_lines "$2" "CSTP data packets sent" "$before" || true
	dtls_counts "$2"
}

for DP in openssl engine; do
	DN=serve-dtls-$DP
	if [ "$DP" = engine ]; then
		PATH_SAID="its records in the engine's datapath (SL_WIRE_DTLS"
	else
		PATH_SAID="data over DTLS, its records through OpenSSL in the control plane"
	fi
	sed -e 's/^dpd = .*/dpd = 2/' "$SL_WORK/sluice-ac.conf" >"$SL_WORK/sluice-ac-$DN.conf"
	printf 'udp-port = %s\ndtls-datapath = %s\n' "$PORT" "$DP" >>"$SL_WORK/sluice-ac-$DN.conf"
	SRV_LOG=$SL_WORK/serve-anyconnect-$DN.log
	sl_bg "$SL_NS_S" "$SRV_LOG" "$SLUICE" serve anyconnect "$SL_WORK/sluice-ac-$DN.conf"
	srv=$SL_LAST_PID
	sl_wait_for 5 sl_listening "$SL_NS_S" tcp "$PORT" || true
	sl_check "$DN: the server listens on UDP $PORT for DTLS" "no UDP socket" "$SRV_LOG" \
		sl_wait_for 5 sl_listening "$SL_NS_S" udp "$PORT"
	MIB_SAVED=$MIB

	# 1. DTLS from the start: the transfers ride UDP.
	oc_client "$DN" "$OC_IF" test
	OC_LOG=$SL_WORK/$DN.log
	sl_check "$DN: openconnect says 'Established DTLS connection'" "not within 20 s" \
		"$OC_LOG $SRV_LOG" sl_wait_for 20 grep -q "Established DTLS connection" "$OC_LOG"
	sl_check "$DN: the server says DTLS is up and which path carries it" "no line" "$SRV_LOG" \
		grep -q "DTLS up from .*(DTLSv1.2, PSK-.*); $PATH_SAID" "$SRV_LOG"
	# OpenSSL carries records at once; the engine moves data over on its first DPD answer
	sl_check "$DN: the server's data goes over DTLS" "no switch in 10 s" "$SRV_LOG" \
		sl_wait_for 10 grep -q "data now over DTLS" "$SRV_LOG"
	sl_wait_for 10 sl_ping "$SL_NS_C" "$SL_IN_S" || true
	XFER_TO_C=198.19.0.2
	transfer "$DN" up "$OC_LOG" "$SRV_LOG"
	transfer "$DN" down "$OC_LOG" "$SRV_LOG"
	stop_oc "$OC_PID" "$SRV_LOG"
	# MIB MiB each way (at least 10): 7000+ full packets one way, thousands of ACKs the other
	sl_check "$DN: the transfers went over DTLS (server counters)" \
		"DTLS sent ${D_TX:-?} received ${D_RX:-?}, CSTP sent ${C_TX:-?} received ${C_RX:-?}" "$SRV_LOG" \
		all_of "${D_TX:-0} -gt 5000" "${D_RX:-0} -gt 5000" "${C_TX:-0} -lt 100" "${C_RX:-0} -lt 100"

	# 2. UDP blocked from the start: CSTP carries everything.
	udp_block
	ups_before=$(count_lines "$SRV_LOG" "DTLS up from")
	oc_client "$DN-blocked" "$OC_IF" test
	OC_LOG=$SL_WORK/$DN-blocked.log
	sl_check "$DN-blocked: tunnel up over CSTP with UDP dropped" "no ping in 40 s" \
		"$OC_LOG $SRV_LOG" sl_wait_for 40 sl_ping "$SL_NS_C" "$SL_IN_S"
	transfer "$DN-blocked" down "$OC_LOG" "$SRV_LOG"
	stop_oc "$OC_PID" "$SRV_LOG"
	udp_unblock
	sl_check "$DN-blocked: no DTLS session came up" "a 'DTLS up' line" "$SRV_LOG" \
		[ "$(count_lines "$SRV_LOG" "DTLS up from")" -eq "$ups_before" ]
	sl_check "$DN-blocked: the transfer went over CSTP (server counters)" \
		"DTLS sent ${D_TX:-?}, CSTP sent ${C_TX:-?}" "$SRV_LOG" \
		all_of "${D_TX:-1} -eq 0" "${C_TX:-0} -gt 5000"

	# 3. UDP blocked mid-transfer: CSTP takes over, the transfer completes; unblocked, DTLS again.
	# (smaller: its link is shaped to 24 Mbit/s so that the transfer outlasts the block)
	MIB=${ANYCONNECT_DTLS_MIB:-10}
	dtls_before=$(count_lines "$SRV_LOG" "data now over DTLS")
	oc_client "$DN-fallback" "$OC_IF" test
	OC_LOG=$SL_WORK/$DN-fallback.log
	sl_check "$DN-fallback: on DTLS before UDP is blocked" "not within 20 s" "$OC_LOG $SRV_LOG" \
		sl_wait_for 20 grep -q "Established DTLS connection" "$OC_LOG"
	sl_wait_for 10 more_lines "$SRV_LOG" "data now over DTLS" "$dtls_before" || true
	sl_wait_for 10 sl_ping "$SL_NS_C" "$SL_IN_S" || true
	silent_before=$(count_lines "$SRV_LOG" "no DTLS record for")
	ups_before=$(count_lines "$SRV_LOG" "DTLS up from")
	# a slower link, so the transfer is still going when UDP goes and comes back
	shaped=0
	ip netns exec "$SL_NS_S" tc qdisc add dev veth0 root tbf rate 24mbit burst 32kb latency 100ms \
		2>/dev/null && shaped=1
	(
		sleep 1
		udp_block
		sl_wait_for 20 more_lines "$SRV_LOG" "no DTLS record for" "$silent_before" || true
		sleep 1
		udp_unblock
	) &
	blocker=$!
	MIB=$((MIB * 3))
	transfer "$DN-fallback" down "$OC_LOG" "$SRV_LOG"
	MIB=${ANYCONNECT_DTLS_MIB:-10}
	wait "$blocker" || true
	[ "$shaped" = 1 ] && ip netns exec "$SL_NS_S" tc qdisc del dev veth0 root
	sl_check "$DN-fallback: the server fell back to CSTP when DTLS went silent" "no line" \
		"$SRV_LOG" more_lines "$SRV_LOG" "no DTLS record for" "$silent_before"
	sl_check "$DN-fallback: openconnect left DTLS (dead peer, or the firewall refused its send)" "no line" "$OC_LOG" \
		grep -qE "DTLS Dead Peer Detection detected dead peer|Write error on DTLS session" "$OC_LOG"
	# openconnect retries its handshake for 12 s, then every 60 s
	sl_check "$DN-fallback: a new DTLS session once UDP works again" "none in 80 s" \
		"$OC_LOG $SRV_LOG" sl_wait_for 80 more_lines "$SRV_LOG" "DTLS up from" "$ups_before"
	# the engine switches back on the first DPD answer (within a second), OpenSSL at once
	sl_check "$DN-fallback: the server's data back on DTLS" "no switch in 10 s" "$SRV_LOG" \
		sl_wait_for 10 back_on_dtls "$SRV_LOG"
	sl_check "$DN-fallback: openconnect established DTLS again" "one 'Established' line" \
		"$OC_LOG" [ "$(count_lines "$OC_LOG" "Established DTLS connection")" -ge 2 ]
	back_at=$(grep "data now over DTLS" "$SRV_LOG" | tail -n 1 |
		sed -n 's/.*so far DTLS data packets sent \([0-9]*\),.*/\1/p')
	transfer "$DN-return" down "$OC_LOG" "$SRV_LOG"
	stop_oc "$OC_PID" "$SRV_LOG"
	sl_check "$DN-fallback: part of the data went over CSTP" "CSTP sent ${C_TX:-?}" "$SRV_LOG" \
		[ "${C_TX:-0}" -gt 1000 ]
	sl_check "$DN-fallback: the last switch was back to DTLS" \
		"$(grep "data now over" "$SRV_LOG" | tail -n 1)" "$SRV_LOG" \
		sh -c "grep 'data now over' '$SRV_LOG' | tail -n 1 | grep -q 'over DTLS'"
	# 10 MiB: about 7200 full packets after the switch back
	sl_check "$DN-fallback: the transfer after the return went over DTLS" \
		"DTLS sent ${D_TX:-?} in all, ${back_at:-?} before the return" "$SRV_LOG" \
		[ "$((${D_TX:-0} - ${back_at:-999999}))" -gt 6000 ]

	# 4. sluice's own client against the DTLS server
	sluice_connect "$DN-sluice"
	sl_check "$DN: sluice connect gets DTLS from sluice's server" "no 'data now over DTLS'" \
		"$SLC_LOG $SRV_LOG" sl_wait_for 20 grep -q "data now over DTLS" "$SLC_LOG"
	sl_check "$DN: sluice connect pings through it" "no ping" "$SLC_LOG" \
		sl_wait_for 10 sl_ping "$SL_NS_C" "$SL_IN_S"
	sl_stop "$SLC_PID"
	MIB=$MIB_SAVED
	sl_stop "$srv"
	sl_check "$DN: no DTLS datagram dropped as malformed" \
		"$(grep 'DTLS datagrams' "$SRV_LOG")" "$SRV_LOG" \
		grep -q "bad hello 0, no such App-ID [0-9]*, bad record 0" "$SRV_LOG"
done

echo "$SL_PASSES passed, $SL_FAILS failed"
sl_finish
