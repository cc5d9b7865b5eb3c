#!/bin/bash
# AnyConnect/OpenConnect interop against the real peers, in two network namespaces:
#   nullppp-hdlc, nullppp-sync: openconnect --protocol=nullppp (cookie "hdlc" or none) against
#     `sluice serve ppp`: PPP negotiation, ping, a transfer with equal SHA-256, the environment
#     openconnect gives its vpnc-script (our stand-in records it), and Terminate on exit.
# Ends with "N passed, N failed". ANYCONNECT_MIB sets the transfer size (default 100).
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/../../scripts/netns.sh"

MIB=${ANYCONNECT_MIB:-100}
HERE=$(cd "$(dirname "$0")" && pwd)
VPNC=$HERE/../tools/vpnc-record.sh
PORT=4443
OC_IF=ocC$SL_TAG

sl_need_root
sl_need_sluice anyconnect
sl_need_cmd openconnect nc sha256sum openssl
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
	local rx_ns=$SL_NS_S tx_ns=$SL_NS_C to=$SL_IN_S
	shift 2
	if [ "$dir" = down ]; then
		rx_ns=$SL_NS_C tx_ns=$SL_NS_S to=$SL_IN_C
	fi
	head -c "${MIB}M" /dev/urandom >"$SL_WORK/send.bin"
	# shellcheck disable=SC2016 # expanded by the inner sh
	sl_bg "$rx_ns" "$SL_WORK/$name-nc-recv.log" sh -c 'exec nc -l "$0" "$1" >"$2"' \
		"$to" "$port" "$SL_WORK/recv.bin"
	recv_pid=$SL_LAST_PID
	sl_wait_for 5 sl_listening "$rx_ns" tcp "$port" || sl_die "nc -l did not start"
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
		--local "$SL_IN_S" --remote "$SL_IN_C" --dns 198.19.0.53 --ifname "$SL_IF_S" --echo 2
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
	sl_stop "$oc"
	sl_check "$name: openconnect's exit terminates the PPP session" "no 'session over' line" \
		"$slog" sl_wait_for 5 grep -q "session over: terminated by peer" "$slog"
	sl_stop "$srv"
}

nullppp nullppp-hdlc hdlc
nullppp nullppp-sync sync

echo "$SL_PASSES passed, $SL_FAILS failed"
sl_finish
