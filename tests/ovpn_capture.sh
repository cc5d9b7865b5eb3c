#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Capture the control and data packets of a stock OpenVPN 2.6 client and server (Debian's openvpn)
# as test data for tests/test_ovpn_ctl.c: tests/data/ovpn/MODE.pkts, one "c2s HEX" / "s2c HEX"
# line per UDP datagram, for MODE = plain, tls-auth, tls-crypt, cbc (AES-256-CBC + HMAC-SHA256
# data channel, with its data keys from openvpn's verb 7 log in cbc.keys); from the logs of the plain run,
# the PUSH_REPLY the client got (push_reply.txt) and its peer info (peer_info.txt). The static keys the packets were
# made with are kept in tests/data/ovpn/ (ta.key, tc.key) and reused, so a re-capture checks
# against the same keys. Run as root: ./tests/ovpn_capture.sh  (about 30 s).
#
#   [ server ns ] openvpn --server on 198.18.0.1:1194
#   [ client ns ] openvpn --client -> 127.0.0.1:11940 -> udp_record.py -> 198.18.0.1:1194
set -eu
. "$(dirname "$0")/../scripts/netns.sh"
sl_init ovpn-capture
sl_need_root
sl_need_cmd openvpn python3
DATA=$SL_ROOT/tests/data/ovpn
mkdir -p "$DATA"
[ -f "$DATA/ta.key" ] || openvpn --genkey secret "$DATA/ta.key"
[ -f "$DATA/tc.key" ] || openvpn --genkey tls-crypt "$DATA/tc.key"
"$SLUICE" pki init "$SL_WORK/pki" >/dev/null
"$SLUICE" pki issue "$SL_WORK/pki" server --server >/dev/null
"$SLUICE" pki issue "$SL_WORK/pki" client >/dev/null
P=$SL_WORK/pki
sl_netns_pair

capture() {
	local mode=$1 swrap=() cwrap=() cverb=4 spid cpid rpid
	case $mode in
	plain) ;;
	cbc)
		# The legacy data channel; verb 7 logs the data keys (D_SHOW_KEYS) so that the
		# captured data packets can be opened in tests/test_ovpn_cbc.c.
		swrap=(--data-ciphers AES-256-CBC --auth SHA256)
		cwrap=(--data-ciphers AES-256-CBC --auth SHA256)
		cverb=7
		;;
	tls-auth) swrap=(--tls-auth "$DATA/ta.key" 0) cwrap=(--tls-auth "$DATA/ta.key" 1) ;;
	tls-crypt) swrap=(--tls-crypt "$DATA/tc.key") cwrap=(--tls-crypt "$DATA/tc.key") ;;
	esac
	sl_bg "$SL_NS_S" "$SL_WORK/server-$mode.log" openvpn --dev tun --proto udp --local "$SL_ADDR_S" \
		--port 1194 --server 198.19.8.0 255.255.255.0 --topology subnet --dh none \
		--ca "$P/ca.pem" --cert "$P/server.pem" --key "$P/server.key" --disable-dco \
		--keepalive 1 10 "${swrap[@]}" --verb 4
	spid=$SL_LAST_PID
	sl_bg "$SL_NS_C" "$SL_WORK/relay-$mode.log" python3 "$SL_ROOT/tests/tools/udp_record.py" \
		--listen 127.0.0.1:11940 --to "$SL_ADDR_S:1194" --out "$DATA/$mode.pkts" --max 60 --seconds 20
	rpid=$SL_LAST_PID
	sleep 0.5
	sl_bg "$SL_NS_C" "$SL_WORK/client-$mode.log" openvpn --client --dev tun --proto udp \
		--remote 127.0.0.1 11940 --nobind --ca "$P/ca.pem" --cert "$P/client.pem" \
		--key "$P/client.key" --disable-dco "${cwrap[@]}" --verb "$cverb"
	cpid=$SL_LAST_PID
	sl_wait_for 20 grep -q 'Initialization Sequence Completed' "$SL_WORK/client-$mode.log" ||
		{ cat "$SL_WORK/client-$mode.log"; sl_die "$mode: client did not connect"; }
	ip netns exec "$SL_NS_C" ping -c 3 -i 0.2 -W 2 198.19.8.1 >/dev/null || sl_die "$mode: no ping"
	sl_stop "$cpid"
	sl_stop "$rpid"
	sl_stop "$spid"
	if [ "$mode" = cbc ]; then
		# "Outgoing/Incoming Data Channel: CIPHER KEY: hex" and "...: HMAC KEY: hex", key id 0
		grep -E '(Outgoing|Incoming) Data Channel: (CIPHER|HMAC) KEY:' "$SL_WORK/client-$mode.log" |
			sed 's/.*\(Outgoing\|Incoming\) Data Channel: \(CIPHER\|HMAC\) KEY: /\1 \2 /' |
			tr -d ' ' | sed 's/^\(Outgoing\|Incoming\)\(CIPHER\|HMAC\)/\1 \2 /' |
			head -n 4 >"$DATA/cbc.keys"
		[ "$(wc -l <"$DATA/cbc.keys")" -eq 4 ] || sl_die "no data keys in the verb 7 log"
	fi
	if [ "$mode" = plain ]; then
		# What the client received, and the peer info the server logged, as text vectors.
		sed -n "s/.*PUSH: Received control message: '\(PUSH_REPLY[^']*\)'.*/\1/p" \
			"$SL_WORK/client-$mode.log" | head -n 1 >"$DATA/push_reply.txt"
		sed -n 's/.* peer info: \(IV_[A-Za-z0-9_]*=.*\)$/\1/p' "$SL_WORK/server-$mode.log" \
			>"$DATA/peer_info.txt"
		[ -s "$DATA/push_reply.txt" ] && [ -s "$DATA/peer_info.txt" ] ||
			sl_die "no PUSH_REPLY or peer info in the logs"
	fi
	sl_log "$mode: $(wc -l <"$DATA/$mode.pkts") datagrams in $DATA/$mode.pkts"
}

for m in plain tls-auth tls-crypt cbc; do
	capture "$m"
done
