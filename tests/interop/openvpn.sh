#!/bin/bash
# Interop with stock OpenVPN 2.6 (Debian's openvpn), both ways:
#   1. a sluice client (sluice openvpn --config FILE.ovpn) against `openvpn --server`;
#   2. stock openvpn clients against a sluice server (sluice openvpn --config server.ovpn).
# Every case starts a fresh server and client, waits for the client's "connected" line (or
# openvpn's "Initialization Sequence Completed"), pings through the tunnel and, where named,
# moves a file with nc and compares SHA-256. Ends with "N passed, N failed".
#
#   [ sls-PID ] server 198.19.8.0/24 on 198.18.0.1:1194 <-veth-> [ slc-PID ] client
#               (198.18.1.1) <-veth-> [ slx-PID ] a second client (two-client case)
#
# SL_OVPN_ARGS: more arguments for every `sluice openvpn` (tests/sanitize.sh: "--user root
# --no-seccomp", so that sanitizer reports can be written; the priv cases then do not apply).
#
# OVPN_MIB (default 8) sizes the transfers, OVPN_REKEY_MIB (default 100) the one during rekeys,
# sent at OVPN_REKEY_PACE s per MiB (default 0.2) while both ends renegotiate every 10 s.
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/../../scripts/netns.sh"

MIB=${OVPN_MIB:-8}
REKEY_MIB=${OVPN_REKEY_MIB:-100}
REKEY_PACE=${OVPN_REKEY_PACE:-0.2}
# all, client (sluice client only), server (sluice server only), priv (least privilege only) or
# short (one sluice client over UDP, one sluice server over TCP, a transfer each: tests/sanitize.sh)
CASES=${OVPN_CASES:-all}
SRV_IN=198.19.8.1
PORT=5401

sl_need_root
sl_need_sluice openvpn-interop
sl_need_cmd openvpn nc sha256sum jq
sl_init openvpn-interop
P=$SL_WORK/pki
sl_pki "$P"
"$SLUICE" pki init "$SL_WORK/other" >/dev/null
openvpn --genkey tls-crypt "$SL_WORK/tc.key"
openvpn --genkey tls-crypt "$SL_WORK/tc-other.key"
openvpn --genkey secret "$SL_WORK/ta.key"
sl_netns_pair

SPID=
CPID=
SLOG=
CLOG=

# server NAME ARGS...: a stock openvpn server with our PKI, keepalive 1 5 (pushed to the client).
server() {
	local name=$1
	shift
	SLOG=$SL_WORK/server-$name.log
	sl_bg "$SL_NS_S" "$SLOG" openvpn --dev tun --local "$SL_ADDR_S" --port 1194 \
		--server 198.19.8.0 255.255.255.0 --topology subnet --dh none \
		--ca "$P/ca.pem" --cert "$P/server.pem" --key "$P/server.key" --disable-dco \
		--keepalive 1 5 --verb 4 "$@"
	SPID=$SL_LAST_PID
	sl_wait_for 10 grep -qs 'Initialization Sequence Completed' "$SLOG" ||
		sl_die "openvpn server did not start: $(tail -n 5 "$SLOG")"
}

# client_conf FILE LINES...: a client config (ca inline, cert and key as files) plus LINES.
client_conf() {
	local f=$1
	shift
	{
		echo "client"
		echo "dev tun"
		# remote lines given by the case come first (tried first), then the real server
		printf '%s\n' "$@" | grep '^remote ' || true
		echo "remote $SL_ADDR_S 1194"
		echo "cert $P/client.pem"
		echo "key $P/client.key"
		echo "verb 4"
		for l in "$@"; do case $l in remote\ *) ;; *) echo "$l" ;; esac; done
		if ! printf '%s\n' "$@" | grep -q '^ca '; then
			echo "<ca>"
			cat "$P/ca.pem"
			echo "</ca>"
		fi
	} >"$f"
}

# client NAME LINES...: start sluice with a config made of LINES (environment: CLIENT_ENV; more
# sluice flags: CLIENT_FLAGS).
SL_IFNAMES+=("$SL_IF_C" "$SL_IF_S")
CLIENT_ENV=
CLIENT_FLAGS=
client() {
	local name=$1
	shift
	client_conf "$SL_WORK/$name.ovpn" "$@"
	CLOG=$SL_WORK/client-$name.log
	# shellcheck disable=SC2086 # CLIENT_FLAGS, SL_OVPN_ARGS: words on purpose
	sl_bg "$SL_NS_C" "$CLOG" env $CLIENT_ENV "$SLUICE" openvpn --config "$SL_WORK/$name.ovpn" \
		--ifname "$SL_IF_C" $CLIENT_FLAGS ${SL_OVPN_ARGS:-}
	CPID=$SL_LAST_PID
}

# no_drops CASE IFNAME: no packet dropped for want of a key, for a bad tag or as a replay.
no_drops() {
	local d
	d=$(sl_show "$2" | jq -r '[.peers[].drops | .nokey, .auth, .replay] | map(. // 0) | add' 2>/dev/null)
	echo "    drops (nokey+auth+replay) on $2: ${d:-?}"
	sl_check "$1" "drops ${d:-unknown}" "" [ "${d:-1}" = 0 ]
}

stop_both() {
	[ -n "$CPID" ] && sl_stop "$CPID"
	[ -n "$SPID" ] && sl_stop "$SPID"
	CPID=
	SPID=
}

connected() {
	grep -qs 'openvpn: connected to' "$CLOG"
}

# transfer CASE MIB [PACE]: nc from the client to the server's tunnel address, compare SHA-256.
# PACE: seconds to wait after each MiB (so that renegotiations fall inside the transfer).
transfer() {
	local name=$1 mib=$2 pace=${3:-} rpid spid start ms sent got
	head -c "${mib}M" /dev/urandom >"$SL_WORK/send.bin"
	rm -f "$SL_WORK/recv.bin"
	# shellcheck disable=SC2016 # expanded by the inner sh
	sl_bg "$SL_NS_S" "$SL_WORK/nc-recv.log" sh -c 'exec nc -l "$0" "$1" >"$2"' \
		"$SRV_IN" "$PORT" "$SL_WORK/recv.bin"
	rpid=$SL_LAST_PID
	sl_wait_for 5 sl_listening "$SL_NS_S" tcp "$PORT" || sl_die "nc -l did not start"
	start=$(sl_now_ms)
	if [ -n "$pace" ]; then
		# shellcheck disable=SC2016 # expanded by the inner bash
		sl_bg "$SL_NS_C" "$SL_WORK/nc-send.log" bash -c 'for ((i = 0; i < $1; i++)); do
			dd if="$2" bs=1M skip=$i count=1 status=none; sleep "$3"; done |
			nc -N "$4" "$5"' _ "$mib" "$SL_WORK/send.bin" "$pace" "$SRV_IN" "$PORT"
	else
		sl_bg_from "$SL_NS_C" "$SL_WORK/send.bin" "$SL_WORK/nc-send.log" nc -N "$SRV_IN" "$PORT"
	fi
	spid=$SL_LAST_PID
	sl_wait_for 300 sl_gone "$spid" || true
	sl_wait_for 10 sl_gone "$rpid" || true
	sl_stop "$spid"
	sl_stop "$rpid"
	ms=$(($(sl_now_ms) - start))
	sent=$(sha256sum <"$SL_WORK/send.bin" | cut -d' ' -f1)
	got=$(sha256sum <"$SL_WORK/recv.bin" 2>/dev/null | cut -d' ' -f1)
	if [ "$sent" = "$got" ]; then
		echo "    $mib MiB in $ms ms ($((mib * 8 * 1000 / (ms > 0 ? ms : 1))) Mbit/s), SHA-256 equal"
		sl_pass "$name"
	else
		sl_fail "$name" "SHA-256 differs after $ms ms ($(stat -c %s "$SL_WORK/recv.bin" 2>/dev/null || echo 0) of $((mib << 20)) bytes)" "$CLOG" "$SLOG"
	fi
}

# up_case NAME [SERVER ARGS...] -- [CLIENT LINES...]: connect, ping; PASS/FAIL NAME.
up_case() {
	local name=$1 sargs=() cargs=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		sargs+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	cargs=("$@")
	server "$name" "${sargs[@]}"
	client "$name" "${cargs[@]}"
	if ! sl_wait_for 20 connected; then
		sl_fail "$name: connect" "no 'connected' line within 20 s" "$CLOG" "$SLOG"
		return 1
	fi
	if sl_wait_for 5 sl_ping "$SL_NS_C" "$SRV_IN"; then
		sl_pass "$name: connect and ping"
	else
		sl_fail "$name: connect and ping" "no ping reply from $SRV_IN" "$CLOG" "$SLOG"
		return 1
	fi
}

if [ "$CASES" = all ] || [ "$CASES" = client ]; then
# --- UDP, each data cipher, negotiated from the server's data-ciphers --------------------------
for c in AES-256-GCM AES-128-GCM CHACHA20-POLY1305; do
	if up_case "udp-$c" --proto udp --data-ciphers "$c" --; then
		sl_check "udp-$c: negotiated $c" "client log has no 'cipher ${c,,}'" "$CLOG" \
			grep -qi "cipher $c, keys from tls-ekm" "$CLOG"
		if [ "$c" = AES-256-GCM ]; then
			transfer "udp-$c: transfer $MIB MiB" "$MIB"
			# explicit-exit-notify: SIGTERM makes the client say EXIT (cc-exit was pushed).
			sl_stop "$CPID"
			CPID=
			sl_check "udp-$c: the server hears our exit" "no delayed exit in its log" "$SLOG" \
				sl_wait_for 5 grep -Eq 'Delayed exit|remote-exit' "$SLOG"
		fi
	fi
	stop_both
done

# --- IPv6 inside: the server pushes ifconfig-ipv6 ------------------------------------------------
if up_case ipv6-inside --proto udp --server-ipv6 2001:db8:8::/64 --; then
	sl_check "ipv6-inside: ping6 the server's inner address" "no reply from 2001:db8:8::1" \
		"$CLOG" sl_wait_for 5 sh -c "ip netns exec '$SL_NS_C' ping -6 -c 1 -W 1 2001:db8:8::1 >/dev/null"
fi
stop_both

# --- the legacy CBC + HMAC data channel, as old servers run it ---------------------------------
if up_case udp-AES-256-CBC --proto udp --data-ciphers AES-256-CBC --auth SHA256 -- \
	"data-ciphers AES-256-CBC" "auth SHA256"; then
	sl_check "udp-AES-256-CBC: negotiated AES-256-CBC with HMAC-SHA256" "client log says otherwise" \
		"$CLOG" grep -qi "cipher AES-256-CBC, keys" "$CLOG"
	transfer "udp-AES-256-CBC: transfer $MIB MiB" "$MIB"
fi
stop_both
up_case udp-AES-128-CBC-SHA1 --proto udp --data-ciphers AES-128-CBC -- "data-ciphers AES-128-CBC" ||
	true
stop_both

# --- compression: the framing stubs work, real compression is refused by name -----------------
# (OpenVPN does not negotiate compression: the server pushes it, or both configs name it.)
if up_case compress-stub-v2 --proto udp --compress stub-v2 --push "compress stub-v2" --; then
	transfer "compress-stub-v2: transfer $MIB MiB" "$MIB"
fi
stop_both
if up_case comp-lzo-no --proto udp --comp-lzo no -- "comp-lzo no"; then
	transfer "comp-lzo-no: transfer $MIB MiB" "$MIB"
fi
stop_both
server compress-lz4 --proto udp --compress lz4-v2 --allow-compression yes --push "compress lz4-v2"
client compress-lz4
sl_check "compress lz4-v2: refused with a clear line" "no line naming it" "$CLOG" \
	sl_wait_for 20 grep -qs "unsupported pushed option: 'compress" "$CLOG"
stop_both

# --- reneg-bytes: a renegotiation after 2 MiB -------------------------------------------------
if up_case reneg-bytes --proto udp -- "reneg-bytes 2000000"; then
	transfer "reneg-bytes: transfer $MIB MiB" "$MIB"
	sl_check "reneg-bytes: renegotiated" "no renegotiation" "$CLOG" \
		sl_wait_for 5 grep -q 'renegotiated, data key id' "$CLOG"
fi
stop_both

# --- --workers 2 against a stock server: its data to us is P_DATA_V2 with the peer-id it pushed --
# (docs/workers.md, "OpenVPN wire"). A client killed without a word leaves its instance on the
# server (peer-id 0), so the next connection gets peer-id 1: its data must reach worker 1, which
# owns the key's rx side, and nothing may be dropped (a V1 or a wrong id would be nokey).
CLIENT_FLAGS="--workers 2"
if up_case client-workers --proto udp --; then
	sl_stop "$CPID" KILL
	client client-workers-again
	if sl_wait_for 20 connected && sl_wait_for 5 sl_ping "$SL_NS_C" "$SRV_IN"; then
		sl_check "client-workers: the server gave peer-id 1" "client log says otherwise" \
			"$CLOG" grep -q 'peer-id 1,' "$CLOG"
		transfer "client-workers: transfer $MIB MiB" "$MIB"
		s=$(sl_show "$SL_IF_C")
		w1=$(jq -r '.worker1_rx_packets // 0' <<<"$s")
		echo "    $(jq -r '[to_entries[] | select(.key | test("^worker[0-9]")) |
			"\(.key)=\(.value)"] | join(" ")' <<<"$s")"
		sl_check "client-workers: worker 1 received (peer-id 1)" "worker1_rx_packets=$w1" \
			"$CLOG" [ "$w1" -gt 1000 ]
		no_drops "client-workers: nothing lost on the sluice side" "$SL_IF_C"
	else
		sl_fail "client-workers: reconnect" "no second connection within 20 s" "$CLOG" "$SLOG"
	fi
fi
CLIENT_FLAGS=
stop_both

# --- keys from the legacy TLS PRF (what a server does for a client without TLS-EKM) ------------
CLIENT_ENV=SLUICE_OVPN_LEGACY_PRF=1
if up_case legacy-prf --proto udp --; then
	sl_check "legacy-prf: keys from the PRF" "client log says otherwise" "$CLOG" \
		grep -q 'keys from the TLS PRF' "$CLOG"
	transfer "legacy-prf: transfer $MIB MiB" "$MIB"
fi
CLIENT_ENV=
stop_both

# --- tls-crypt, tls-auth ------------------------------------------------------------------------
if up_case tls-crypt --proto udp --tls-crypt "$SL_WORK/tc.key" -- "tls-crypt $SL_WORK/tc.key"; then
	transfer "tls-crypt: transfer $MIB MiB" "$MIB"
fi
stop_both
if up_case tls-auth --proto udp --tls-auth "$SL_WORK/ta.key" 0 --auth SHA256 -- \
	"tls-auth $SL_WORK/ta.key" "key-direction 1" "auth SHA256"; then
	transfer "tls-auth: transfer $MIB MiB" "$MIB"
fi
stop_both

# --- TCP ----------------------------------------------------------------------------------------
if up_case tcp --proto tcp-server -- "proto tcp-client"; then
	transfer "tcp: transfer $MIB MiB" "$MIB"
fi
stop_both

# --- refused: a CA that did not sign the server, a tls-crypt key that differs ------------------
server wrong-ca --proto udp
client wrong-ca "ca $SL_WORK/other/ca.pem"
sl_check "wrong CA: refused with a clear line" "no 'peer certificate not accepted' line" \
	"$CLOG" sl_wait_for 15 grep -qs 'TLS handshake failed: peer certificate not accepted' "$CLOG"
sl_check "wrong CA: never connected" "client says connected" "$CLOG" sh -c "! grep -q 'openvpn: connected' '$CLOG'"
stop_both
server wrong-tc --proto udp --tls-crypt "$SL_WORK/tc.key"
client wrong-tc "tls-crypt $SL_WORK/tc-other.key" "hand-window 4"
sl_check "wrong tls-crypt key: refused with a clear line" "no 'did not finish' line" \
	"$CLOG" sl_wait_for 15 grep -qs 'TLS key negotiation did not finish within 4 s' "$CLOG"
sl_check "wrong tls-crypt key: the server logged the bad packets" "no unwrap error in the server log" \
	"$SLOG" grep -q 'tls-crypt unwrapping failed' "$SLOG"
stop_both

# --- auth-user-pass: a server script checks the password; a wrong one is AUTH_FAILED ------------
cat >"$SL_WORK/check-pass.sh" <<'EOS'
#!/bin/sh
# openvpn --auth-user-pass-verify FILE via-file: line 1 user, line 2 password
[ "$(sed -n 2p "$1")" = right-pass ]
EOS
chmod +x "$SL_WORK/check-pass.sh"
printf 'alice\nright-pass\n' >"$SL_WORK/good.pass"
printf 'alice\nwrong-pass\n' >"$SL_WORK/bad.pass"
if up_case auth-user-pass --proto udp --script-security 2 \
	--auth-user-pass-verify "$SL_WORK/check-pass.sh" via-file -- \
	"auth-user-pass $SL_WORK/good.pass"; then
	sl_check "auth-user-pass: the server saw user alice" "not in its log" "$SLOG" \
		grep -q "alice" "$SLOG"
fi
stop_both
server auth-failed --proto udp --script-security 2 --auth-user-pass-verify "$SL_WORK/check-pass.sh" via-file
client auth-failed "auth-user-pass $SL_WORK/bad.pass"
sl_check "auth-user-pass: a wrong password is AUTH_FAILED, clearly" "no AUTH_FAILED line" "$CLOG" \
	sl_wait_for 20 grep -qs 'the server refused us: AUTH_FAILED' "$CLOG"
sl_check "auth-user-pass: then the client stops with failure" "still running" "$CLOG" \
	sl_wait_for 5 sl_gone "$CPID"
stop_both

# --- several remotes: the first does not answer, the second does --------------------------------
if up_case remote-fallback --proto udp -- "remote $SL_ADDR_S 1195" "hand-window 3"; then
	sl_check "remote-fallback: the first remote was tried, then the second" "log order" "$CLOG" \
		sh -c 'grep "connecting to" "$1" | head -n 2 | tr "\n" " " |
			grep -q "port 1195 .*port 1194"' _ "$CLOG"
fi
stop_both

# --- RESTART: a server with explicit-exit-notify tells its clients when it stops ----------------
if up_case restart --proto udp --explicit-exit-notify 1 --; then
	sl_stop "$SPID"
	SPID=
	sl_check "restart: the client hears RESTART and reconnects" "no RESTART line" "$CLOG" \
		sl_wait_for 10 grep -q 'asked us to reconnect (RESTART)' "$CLOG"
fi
stop_both

# --- ping-restart: the server vanishes ---------------------------------------------------------
if up_case ping-restart --proto udp --; then
	sl_stop "$SPID" KILL
	SPID=
	start=$(sl_now_ms)
	if sl_wait_for 15 grep -q 'nothing from the server for 5 s (ping-restart)' "$CLOG"; then
		echo "    ping-restart after $(($(sl_now_ms) - start)) ms (pushed ping-restart 5)"
		sl_pass "ping-restart: client notices the vanished server"
	else
		sl_fail "ping-restart: client notices the vanished server" "no ping-restart line" "$CLOG"
	fi
	sl_check "ping-restart: client tries again" "no reconnect attempt" "$CLOG" \
		sl_wait_for 10 sh -c "grep -c 'connecting to' '$CLOG' | grep -qv '^1$'"
fi
stop_both

# --- renegotiation every 10 s (both ends) during a paced transfer -------------------------------
if up_case rekey --proto udp --reneg-sec 10 -- "reneg-sec 10"; then
	transfer "rekey: $REKEY_MIB MiB across renegotiations" "$REKEY_MIB" "$REKEY_PACE"
	n=$(grep -c 'renegotiated, data key id' "$CLOG" || true)
	echo "    $n renegotiations during the run"
	sl_check "rekey: at least one renegotiation" "none in the client log" "$CLOG" [ "$n" -ge 1 ]
	no_drops "rekey: no packet lost across the key swaps (sluice side)" "$SL_IF_C"
	sl_check "rekey: no TLS error on the server" "server logged a TLS error" "$SLOG" \
		sh -c "! grep -q 'TLS Error' '$SLOG'"
fi
stop_both

fi

# === stock openvpn clients against a sluice server ==============================================

# sluice_server NAME LINES...: a sluice server from an OpenVPN server config plus LINES.
sluice_server() {
	local name=$1 f=$SL_WORK/srv-$1.ovpn
	shift
	{
		echo "server 198.19.8.0 255.255.255.0"
		printf '%s\n' "$@" | grep -q '^topology' || echo "topology subnet"
		echo "dev tun"
		echo "proto udp"
		echo "port 1194"
		echo "ca $P/ca.pem"
		echo "cert $P/server.pem"
		echo "key $P/server.key"
		echo "dh none"
		echo "keepalive 1 5"
		echo "verb 4"
		for l in "$@"; do echo "$l"; done
	} >"$f"
	SLOG=$SL_WORK/sluice-server-$name.log
	# shellcheck disable=SC2086 # SERVER_FLAGS: words on purpose
	sl_bg "$SL_NS_S" "$SLOG" "$SLUICE" openvpn --config "$f" --ifname "$SL_IF_S" ${SERVER_FLAGS:-} \
		${SL_OVPN_ARGS:-}
	SPID=$SL_LAST_PID
	sl_wait_for 10 grep -qs 'server listening on' "$SLOG" ||
		sl_die "sluice server did not start: $(tail -n 5 "$SLOG")"
}

# ovpn_client NAME NS SERVER-ADDR ARGS...: a stock openvpn client.
ovpn_client() {
	local name=$1 ns=$2 addr=$3
	shift 3
	CLOG=$SL_WORK/ovpn-client-$name.log
	sl_bg "$ns" "$CLOG" openvpn --client --dev tun --proto udp --remote "$addr" 1194 --nobind \
		--ca "$P/ca.pem" --cert "$P/client.pem" --key "$P/client.key" --disable-dco --verb 4 "$@"
	CPID=$SL_LAST_PID
}

ovpn_up() {
	grep -qs 'Initialization Sequence Completed' "$CLOG"
}

# srv_case NAME [SERVER LINES...] -- [CLIENT ARGS...]
srv_case() {
	local name=$1 sargs=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		sargs+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	sluice_server "$name" "${sargs[@]}"
	ovpn_client "$name" "$SL_NS_C" "$SL_ADDR_S" "$@"
	if ! sl_wait_for 20 ovpn_up; then
		sl_fail "$name: connect" "openvpn did not complete initialization within 20 s" "$CLOG" "$SLOG"
		return 1
	fi
	if sl_wait_for 5 sl_ping "$SL_NS_C" "$SRV_IN"; then
		sl_pass "$name: connect and ping"
	else
		sl_fail "$name: connect and ping" "no ping reply from $SRV_IN" "$CLOG" "$SLOG"
		return 1
	fi
}

# === short: a sluice client (UDP) and a sluice server (TCP), a transfer each ====================
if [ "$CASES" = short ]; then
	if up_case short-client-udp --proto udp --; then
		transfer "short-client-udp: transfer $MIB MiB" "$MIB"
	fi
	stop_both
	if srv_case short-server-tcp "proto tcp-server" -- --proto tcp-client; then
		transfer "short-server-tcp: transfer $MIB MiB" "$MIB"
	fi
	stop_both
	echo "$SL_PASSES passed, $SL_FAILS failed"
	sl_finish
	exit
fi

# === least privilege: after set-up sluice runs as an ordinary user under its seccomp filter ====
NET_ADMIN=0000000000001000
NONE=0000000000000000
if [ "$CASES" = all ] || [ "$CASES" = priv ]; then
# A sluice client becomes the file's user and group, keeping only CAP_NET_ADMIN: the pushed
# address arrives after the drop. Its first remote is a name, resolved once before the drop.
gid=$(getent group nogroup | cut -d: -f3)
if up_case priv-client --proto udp --explicit-exit-notify 1 -- "remote localhost 1194" \
	"hand-window 3" "user nobody" "group nogroup"; then
	sl_check_reduced priv-client "$CPID" "$NET_ADMIN" "$CLOG"
	sl_check "priv-client: gids are the file's group nogroup" "Gid: $(sl_status_field "$CPID" Gid)" \
		"$CLOG" [ "$(sl_status_field "$CPID" Gid)" = "$gid $gid $gid $gid" ]
	sl_check "priv-client: says whom it runs as and what it keeps" "no 'running as' line" "$CLOG" \
		grep -q 'openvpn: running as nobody:nogroup, keeping only CAP_NET_ADMIN' "$CLOG"
	sl_check "priv-client: the name remote was resolved before the drop" "no pinning line" \
		"$CLOG" grep -Eq 'remote localhost is [0-9a-f.:]+ for this run' "$CLOG"
	transfer "priv-client: transfer $MIB MiB under the filter" "$MIB"
	# The server restarts: RESTART, then a new handshake, keys and push under the filter.
	sl_stop "$SPID"
	SPID=
	sl_wait_for 10 grep -q 'asked us to reconnect (RESTART)' "$CLOG" || true
	server priv-client-again --proto udp
	sl_check "priv-client: reconnects to the restarted server" "fewer than 2 'connected' lines" \
		"$CLOG" sl_wait_for 30 sh -c "[ \$(grep -c 'openvpn: connected to' '$CLOG') -ge 2 ]"
	sl_check "priv-client: ping after the reconnect" "no reply from $SRV_IN" "$CLOG $SLOG" \
		sl_wait_for 10 sl_ping "$SL_NS_C" "$SRV_IN"
	sl_check "priv-client: alive (no SIGSYS) and still reduced" \
		"CapEff $(sl_status_field "$CPID" CapEff), Seccomp $(sl_status_field "$CPID" Seccomp)" \
		"$CLOG" [ "$(sl_status_field "$CPID" CapEff)/$(sl_status_field "$CPID" Seccomp)" = "$NET_ADMIN/2" ]
	sl_alive "$CPID" && kill -TERM "$CPID"
	rc="still running after 5 s"
	if sl_wait_for 5 sl_gone "$CPID"; then
		rc=0
		wait "$CPID" 2>/dev/null || rc=$?
	fi
	CPID=
	sl_check "priv-client: exits 0 on SIGTERM under the filter" "exit status: $rc" "$CLOG" \
		[ "$rc" = 0 ]
fi
stop_both
# A sluice server without 'user' becomes nobody with no capability at all; a transfer, then a
# second client's whole handshake happen under the filter.
if srv_case priv-server --; then
	sl_check_reduced priv-server "$SPID" "$NONE" "$SLOG"
	transfer "priv-server: transfer $MIB MiB under the filter" "$MIB"
	sl_stop "$CPID"
	ovpn_client priv-server-second "$SL_NS_C" "$SL_ADDR_S"
	sl_check "priv-server: a new client connects after the drop" "no initialization" \
		"$CLOG $SLOG" sl_wait_for 20 ovpn_up
	sl_check "priv-server: ping through it" "no reply from $SRV_IN" "$CLOG $SLOG" \
		sl_wait_for 5 sl_ping "$SL_NS_C" "$SRV_IN"
	sl_check "priv-server: alive (no SIGSYS)" "the server exited" "$SLOG" sl_alive "$SPID"
fi
stop_both
# The flags win over the file: --user root --no-seccomp keeps root, unfiltered, and says so.
SERVER_FLAGS="--user root --no-seccomp"
if srv_case priv-server-root "user nobody" --; then
	sl_check "priv-server-root: --user root over the file's user: Uid 0, Seccomp 0" \
		"Uid $(sl_status_field "$SPID" Uid), Seccomp $(sl_status_field "$SPID" Seccomp)" "$SLOG" \
		[ "$(sl_status_field "$SPID" Uid | cut -d' ' -f1)/$(sl_status_field "$SPID" Seccomp)" = 0/0 ]
	sl_check "priv-server-root: both said as warnings" "no warning lines" "$SLOG" sh -c \
		"grep -q 'warning: --user root: keeps running as root' '$SLOG' &&
		grep -q 'warning: --no-seccomp: running without a system call filter' '$SLOG'"
fi
SERVER_FLAGS=
stop_both
fi

case $CASES in client | priv)
	echo "$SL_PASSES passed, $SL_FAILS failed"
	sl_finish
	exit
	;;
esac
for c in AES-256-GCM AES-128-GCM CHACHA20-POLY1305; do
	if srv_case "server-$c" "data-ciphers $c" -- --explicit-exit-notify 1; then
		sl_check "server-$c: openvpn uses $c" "not in openvpn's log" "$CLOG" \
			grep -q "Data Channel: cipher '$c'" "$CLOG"
		if [ "$c" = AES-256-GCM ]; then
			transfer "server-$c: transfer $MIB MiB" "$MIB"
			sl_stop "$CPID"
			CPID=
			sl_check "server-$c: we hear the client's exit" "no EXIT in our log" "$SLOG" \
				sl_wait_for 5 grep -Eq 'gone: (it said EXIT|explicit-exit-notify)' "$SLOG"
		fi
	fi
	stop_both
done
if srv_case server-AES-256-CBC "data-ciphers AES-256-CBC" "auth SHA256" -- \
	--data-ciphers AES-256-CBC --auth SHA256; then
	sl_check "server-AES-256-CBC: openvpn uses AES-256-CBC" "not in openvpn's log" "$CLOG" \
		grep -q "Data Channel: cipher 'AES-256-CBC', auth 'SHA256'" "$CLOG"
	transfer "server-AES-256-CBC: transfer $MIB MiB" "$MIB"
fi
stop_both
if srv_case server-tls-crypt "tls-crypt $SL_WORK/tc.key" -- --tls-crypt "$SL_WORK/tc.key"; then
	transfer "server-tls-crypt: transfer $MIB MiB" "$MIB"
fi
stop_both
if srv_case server-tls-auth "tls-auth $SL_WORK/ta.key 0" "auth SHA256" -- \
	--tls-auth "$SL_WORK/ta.key" 1 --auth SHA256; then
	transfer "server-tls-auth: transfer $MIB MiB" "$MIB"
fi
stop_both
srv_case server-net30 "topology net30" -- || true
stop_both
if srv_case server-tcp "proto tcp-server" -- --proto tcp-client; then
	transfer "server-tcp: transfer $MIB MiB" "$MIB"
fi
stop_both

# Two clients at once: the second in a third namespace behind the server's second veth.
NS3=slx-$SL_TAG
ip netns add "$NS3"
SL_NETNS+=("$NS3")
ip -n "$NS3" link set lo up
ip -n "$SL_NS_S" link add veth1 type veth peer name veth0 netns "$NS3"
ip -n "$SL_NS_S" addr add 198.18.1.1/24 dev veth1
ip -n "$NS3" addr add 198.18.1.2/24 dev veth0
ip -n "$SL_NS_S" link set veth1 up
ip -n "$NS3" link set veth0 up
# (client-to-client on: the clients reach each other through the sluice server's engine; the
# server namespace does not forward IP, so without it they could not.)
if srv_case server-two-clients client-to-client --; then
	first_log=$CLOG
	first_pid=$CPID
	ovpn_client second "$NS3" 198.18.1.1
	if sl_wait_for 20 ovpn_up && sl_wait_for 5 sl_ping "$NS3" "$SRV_IN" &&
		sl_ping "$SL_NS_C" "$SRV_IN"; then
		a1=$(sed -n 's/.*peer-id 0: address \([0-9.]*\).*/\1/p' "$SLOG" | head -n 1)
		a2=$(sed -n 's/.*peer-id 1: address \([0-9.]*\).*/\1/p' "$SLOG" | head -n 1)
		echo "    addresses $a1 and $a2"
		sl_check "server-two-clients: both ping, distinct addresses" "same address $a1" \
			"$SLOG" sh -c '[ -n "$1" ] && [ "$1" != "$2" ]' _ "$a1" "$a2"
		sl_check "server-two-clients: client-to-client ping" "no reply from $a2" "$SLOG" \
			sl_wait_for 5 sl_ping "$SL_NS_C" "$a2"
	else
		sl_fail "server-two-clients: both ping, distinct addresses" "second client not up" "$CLOG" "$SLOG"
	fi
	sl_stop "$CPID"
	CPID=$first_pid
	first_log=
	# Idle expiry: the first client vanishes without a word.
	sl_stop "$CPID" KILL
	CPID=
	sl_check "server: an idle client expires" "no 'idle' line within 15 s" "$SLOG" \
		sl_wait_for 15 grep -q 'gone: idle' "$SLOG"
fi
stop_both

# Spoofed hard resets: each gets the stateless answer (our session id is a cookie), and none
# takes one of the server's 254 client slots, so a real client still gets in after 300 of them.
sluice_server spoof
reset='\x38\x01\x02\x03\x04\x05\x06\x07\x08\x00\x00\x00\x00\x00'
# shellcheck disable=SC2059 # the format is the packet
reply=$(printf "$reset" | ip netns exec "$SL_NS_C" timeout 5 nc -u -w1 -p 31000 "$SL_ADDR_S" 1194 |
	od -An -tx1 | tr -d ' \n')
echo "    answer to a reset: ${reply:-none}"
sl_check "server: a hard reset gets the stateless HARD_RESET_SERVER_V2" "answer '${reply:-none}'" \
	"$SLOG" sh -c 'case $1 in 40????????????????010000000001020304050607080000000*) ;; *) exit 1 ;; esac' _ "$reply"
for ((i = 1; i <= 300; i++)); do
	# shellcheck disable=SC2059
	printf "$reset" | ip netns exec "$SL_NS_C" nc -u -w0 -p $((32000 + i)) "$SL_ADDR_S" 1194 \
		>/dev/null 2>&1 || true
done
ovpn_client spoof "$SL_NS_C" "$SL_ADDR_S"
if sl_wait_for 20 ovpn_up && sl_wait_for 5 sl_ping "$SL_NS_C" "$SRV_IN"; then
	sl_pass "server: a real client gets in after 300 spoofed resets"
else
	sl_fail "server: a real client gets in after 300 spoofed resets" "it did not" "$CLOG" "$SLOG"
fi
stop_both

# Renegotiation every 10 s (both ends) during a paced transfer.
if srv_case server-rekey "reneg-sec 10" -- --reneg-sec 10; then
	transfer "server-rekey: $REKEY_MIB MiB across renegotiations" "$REKEY_MIB" "$REKEY_PACE"
	n=$(grep -c 'renegotiated, key id' "$SLOG" || true)
	echo "    $n renegotiations during the run"
	sl_check "server-rekey: at least one renegotiation" "none in the server log" "$SLOG" [ "$n" -ge 1 ]
	no_drops "server-rekey: no packet lost across the key swaps (sluice side)" "$SL_IF_S"
	sl_check "server-rekey: no TLS error on the openvpn client" "openvpn logged a TLS error" \
		"$CLOG" sh -c "! grep -q 'TLS Error' '$CLOG'"
fi
stop_both

# --workers 2 (docs/workers.md, "OpenVPN wire"): two stock clients get peer-ids 0 and 1, one per
# worker; the first sends a paced transfer while the server renegotiates every 3 s, the second
# pings meanwhile. Each worker must have received, and nothing is lost on the sluice side (a
# datagram steered to the wrong worker would count as nokey).
SERVER_FLAGS="--workers 2"
if srv_case server-workers "reneg-sec 3" --; then
	first_pid=$CPID
	first_log=$CLOG
	ovpn_client workers-second "$NS3" 198.18.1.1
	second_pid=$CPID
	if sl_wait_for 20 ovpn_up && sl_wait_for 5 sl_ping "$NS3" "$SRV_IN"; then
		second_log=$CLOG
		CPID=$first_pid
		CLOG=$first_log
		sl_bg "$NS3" "$SL_WORK/ping-second.log" ping -c 300 -i 0.02 -W 1 "$SRV_IN"
		ping_pid=$SL_LAST_PID
		transfer "server-workers: $MIB MiB with --workers 2, renegotiating" "$MIB" 0.75
		sl_wait_for 15 sl_gone "$ping_pid" || sl_stop "$ping_pid"
		s=$(sl_show "$SL_IF_S")
		w0=$(jq -r '.worker0_rx_packets // 0' <<<"$s")
		w1=$(jq -r '.worker1_rx_packets // 0' <<<"$s")
		n=$(grep -c 'renegotiated, key id' "$SLOG" || true)
		echo "    worker0_rx_packets=$w0 worker1_rx_packets=$w1, $n renegotiations"
		sl_check "server-workers: each worker received (peer-ids 0 and 1)" \
			"worker0 $w0, worker1 $w1" "$SLOG" [ "$w0" -gt 100 -a "$w1" -gt 100 ]
		sl_check "server-workers: renegotiated" "$n renegotiations" "$SLOG" [ "$n" -ge 1 ]
		no_drops "server-workers: no packet lost (sluice side)" "$SL_IF_S"
		sl_check "server-workers: no TLS error on either openvpn client" "a TLS error" \
			"$CLOG $second_log" sh -c "! grep -q 'TLS Error' '$CLOG' '$second_log'"
	else
		sl_fail "server-workers: second client up" "it did not connect" "$CLOG" "$SLOG"
		CPID=$first_pid
	fi
	sl_stop "$second_pid"
fi
SERVER_FLAGS=
stop_both

echo "$SL_PASSES passed, $SL_FAILS failed"
sl_finish
