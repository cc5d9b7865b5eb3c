# shellcheck shell=bash disable=SC2034 # variables are for the scripts that source this file
# One tunnel set-up for every wire, so that a network test written for the native protocol runs
# unchanged over another: source it after scripts/netns.sh, then call sl_wire_start_server,
# sl_wire_start_client, sl_wire_pair instead of sl_start_server, sl_start_client, sl_tunnel_pair.
#
#   WIRE=native    `sluice up` with sluice's own configs (scripts/netns.sh)
#   WIRE=openvpn   `sluice openvpn --config FILE` at both ends: an OpenVPN 2.6 server config
#                  (server 198.19.0.0/24, topology subnet, so the server is $SL_IN_S and the
#                  first client $SL_IN_C), proto udp on $SL_ADDR_S:4500 or proto tcp-server
#                  (SL_OVPN_PROTO=tcp), AES-256-GCM, keepalive 1 5, the work PKI's certificates
#
#   SL_OVPN_ARGS   more arguments for both `sluice openvpn` commands (e.g. "--workers 2";
#                  tests/sanitize.sh sets "--user root --no-seccomp", as SL_CONF_EXTRA does
#                  for the native wire, so that sanitizer reports can be written)
#
# Either way the server's UDP port is 4500, and SL_PID_S, SL_LOG_S, SL_PID_C, SL_LOG_C are set
# as sl_start_server and sl_start_client set them; both ends answer `sluice show $SL_IF_S`.
SL_WIRE=${WIRE:-native}
case $SL_WIRE in
native | openvpn) ;;
*)
	echo "FAIL: WIRE=$SL_WIRE (native or openvpn)"
	exit 1
	;;
esac

# sl_wire_name BASE: BASE for the native wire, BASE-openvpn otherwise (test and case names).
sl_wire_name() {
	if [ "$SL_WIRE" = native ]; then echo "$1"; else echo "$1-$SL_WIRE"; fi
}

# sl_ovpn_common: the lines both OpenVPN configs share.
sl_ovpn_common() {
	local pki=$SL_WORK/pki
	cat <<EOF
dev tun
ca $pki/ca.pem
data-ciphers AES-256-GCM
verb ${SL_OVPN_VERB:-3}
EOF
}

# sl_ovpn_server_conf FILE [PORT]: an OpenVPN server config for `sluice openvpn`.
sl_ovpn_server_conf() {
	local pki=$SL_WORK/pki proto=udp
	[ "${SL_OVPN_PROTO:-udp}" = tcp ] && proto=tcp-server
	{
		sl_ovpn_common
		cat <<EOF
server 198.19.0.0 255.255.255.0
topology subnet
proto $proto
local $SL_ADDR_S
port ${2:-4500}
cert $pki/server.pem
key $pki/server.key
dh none
keepalive 1 5
${SL_OVPN_SERVER_EXTRA:-}
EOF
	} >"$1"
}

# sl_ovpn_client_conf FILE ADDR:PORT: an OpenVPN client config for `sluice openvpn`.
sl_ovpn_client_conf() {
	local pki=$SL_WORK/pki proto=udp
	[ "${SL_OVPN_PROTO:-udp}" = tcp ] && proto=tcp-client
	{
		sl_ovpn_common
		cat <<EOF
client
proto $proto
remote ${2%:*} ${2##*:}
cert $pki/client.pem
key $pki/client.key
EOF
	} >"$1"
}

# sl_ovpn_listening LOG: the sluice OpenVPN server has said it listens.
sl_ovpn_listening() {
	grep -qs 'server listening on' "$1"
}

# sl_wire_start_server PREFIX [LISTEN]: as sl_start_server, on $SL_WIRE.
sl_wire_start_server() {
	if [ "$SL_WIRE" = native ]; then
		sl_start_server "$@"
		return
	fi
	local listen=${2:-$SL_ADDR_S:4500} extra=()
	read -ra extra <<<"${SL_OVPN_ARGS:-}"
	[ -f "$SL_WORK/pki/ca.pem" ] || sl_pki "$SL_WORK/pki"
	SL_CONF_S=$SL_WORK/$1-server.ovpn
	SL_LOG_S=$SL_WORK/$1-server.log
	sl_ovpn_server_conf "$SL_CONF_S" "${listen##*:}"
	SL_IFNAMES+=("$SL_IF_S")
	sl_bg "$SL_NS_S" "$SL_LOG_S" "$SLUICE" openvpn --config "$SL_CONF_S" --ifname "$SL_IF_S" \
		"${extra[@]}"
	SL_PID_S=$SL_LAST_PID
	sl_wait_for 5 sl_ovpn_listening "$SL_LOG_S" || true
}

# sl_wire_start_client PREFIX [SERVER]: as sl_start_client, on $SL_WIRE.
sl_wire_start_client() {
	if [ "$SL_WIRE" = native ]; then
		sl_start_client "$@"
		return
	fi
	local extra=()
	read -ra extra <<<"${SL_OVPN_ARGS:-}"
	SL_CONF_C=$SL_WORK/$1-client.ovpn
	SL_LOG_C=$SL_WORK/$1-client.log
	sl_ovpn_client_conf "$SL_CONF_C" "${2:-$SL_ADDR_S:4500}"
	SL_IFNAMES+=("$SL_IF_C")
	sl_bg "$SL_NS_C" "$SL_LOG_C" "$SLUICE" openvpn --config "$SL_CONF_C" --ifname "$SL_IF_C" \
		"${extra[@]}"
	SL_PID_C=$SL_LAST_PID
}

# sl_wire_pair PREFIX [LISTEN [SERVER]]: as sl_tunnel_pair, on $SL_WIRE (15 s for the ping:
# an OpenVPN handshake takes a few round trips more).
sl_wire_pair() {
	sl_wire_start_server "$1" "${2:-}"
	sl_wire_start_client "$1" "${3:-}"
	sl_wait_tunnel 15
}
