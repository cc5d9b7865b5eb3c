# shellcheck shell=bash
# ocserv 1.1 as the tests and benchmarks run it, in the pattern of ocserv's own
# tests/data/test1.config. Sourced after scripts/netns.sh.

# sl_ocserv_conf DIR PORT DPD [EXTRA]: DIR/ocpasswd with user test (password test) and
# DIR/ocserv.conf on TCP and UDP PORT with the server certificate of sl_pki DIR/pki, the pool
# 198.19.0.0/24 (server .1), DNS 198.19.0.53, that route, DPD seconds, and EXTRA lines.
# ocserv's workers run as nobody and must reach the sec-mod socket: DIR becomes 0711.
sl_ocserv_conf() {
	local d=$1 port=$2 dpd=$3 extra=${4:-}
	printf 'test\ntest\n' | ocpasswd -c "$d/ocpasswd" test
	chmod 711 "$d"
	mkdir -p "$d/ocrun" && chmod 755 "$d/ocrun"
	cat >"$d/ocserv.conf" <<EOF
auth = "plain[passwd=$d/ocpasswd]"
tcp-port = $port
udp-port = $port
server-cert = $d/pki/server.pem
server-key = $d/pki/server.key
socket-file = $d/ocrun/ocserv-socket
pid-file = $d/ocserv.pid
device = vpns
run-as-user = nobody
run-as-group = nogroup
ipv4-network = 198.19.0.0
ipv4-netmask = 255.255.255.0
dns = 198.19.0.53
route = 198.19.0.0/255.255.255.0
dpd = $dpd
mobile-dpd = $dpd
keepalive = 32400
try-mtu-discovery = false
isolate-workers = false
max-clients = 16
max-same-clients = 8
use-occtl = false
cisco-client-compat = true
log-level = ${OCSERV_DEBUG:-1}
$extra
EOF
}
