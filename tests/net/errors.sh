#!/bin/bash
# Mistakes a user makes get one clear line and a non-zero exit (or, for a certificate from the
# wrong CA, no tunnel and a log line that says why).
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/../../scripts/netns.sh"

sl_need_root
sl_need_sluice errors
sl_need_cmd nc
sl_init errors
sl_netns_pair
sl_pki "$SL_WORK/pki"

# up_fails CONFIG OUT: run `sluice up CONFIG` in the server namespace, expecting it to give up
# by itself within 10 s; its output goes to OUT. Returns 0 when it exited non-zero in time.
up_fails() {
	local rc=0
	SL_IFNAMES+=("$SL_IF_S")
	timeout -k 2 10 ip netns exec "$SL_NS_S" "$SLUICE" up "$1" >"$2" 2>&1 || rc=$?
	echo "    sluice up exited with status $rc: $(head -n 1 "$2")"
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ]
}

up_fails_as_nobody() {
	local rc=0
	# A copy of the binary, since the build directory may not be reachable for nobody.
	install -m 755 "$SLUICE" "$SL_WORK/sluice-copy"
	timeout -k 2 10 ip netns exec "$SL_NS_S" setpriv --reuid=nobody --regid=nogroup \
		--clear-groups --inh-caps=-all --bounding-set=-all "$SL_WORK/sluice-copy" up "$1" >"$2" 2>&1 || rc=$?
	echo "    sluice up (as nobody) exited with status $rc: $(head -n 1 "$2")"
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ]
}

up_fails_without_tun() {
	local rc=0
	# shellcheck disable=SC2016 # expanded by the inner sh
	timeout -k 2 10 ip netns exec "$SL_NS_S" unshare --mount --propagation private \
		sh -c 'mount -t tmpfs none /dev/net && exec "$0" up "$1"' "$SLUICE" "$1" \
		>"$2" 2>&1 || rc=$?
	echo "    sluice up (no /dev/net/tun) exited with status $rc: $(head -n 1 "$2")"
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ]
}

one_line() {
	[ "$(grep -c . "$1")" -eq 1 ]
}

# 1. A bad value names the file, the line and the key. Cipher goes on line 3.
conf=$SL_WORK/bad-cipher.conf
sl_conf_server "$conf" "$SL_IF_S" "$SL_ADDR_S:4500"
sed -i '2a Cipher = des' "$conf"
out=$SL_WORK/bad-cipher.out
if up_fails "$conf" "$out" && grep -q 'bad-cipher\.conf:3' "$out" && grep -q Cipher "$out" &&
	one_line "$out"; then
	sl_pass "bad Cipher: one line naming bad-cipher.conf:3"
else
	sl_fail "bad Cipher: one line naming bad-cipher.conf:3" "wrong exit status or message" "$out"
fi

# 2. A config file that is not there.
out=$SL_WORK/missing.out
if up_fails "$SL_WORK/nope.conf" "$out" && grep -q 'nope\.conf' "$out" &&
	grep -qi 'no such file' "$out" && one_line "$out"; then
	sl_pass "missing config: one line naming the file"
else
	sl_fail "missing config: one line naming the file" "wrong exit status or message" "$out"
fi

# 3. The UDP port is taken by another program.
sl_conf_server "$SL_WORK/busy.conf" "$SL_IF_S" "$SL_ADDR_S:4500"
sl_bg "$SL_NS_S" "$SL_WORK/nc-udp.log" nc -u -l "$SL_ADDR_S" 4500
nc_pid=$SL_LAST_PID
sl_wait_for 5 sl_listening "$SL_NS_S" udp 4500 || sl_die "nc -u -l did not bind port 4500"
out=$SL_WORK/busy.out
if up_fails "$SL_WORK/busy.conf" "$out" && grep -i 'in use' "$out" | grep -q 4500; then
	sl_pass "UDP port in use: error names the port"
else
	sl_fail "UDP port in use: error names the port" "wrong exit status or message" "$out"
fi
sl_stop "$nc_pid"

# 4. Not root: creating the TUN device needs CAP_NET_ADMIN, and the error says so.
sl_conf_server "$SL_WORK/noroot.conf" "$SL_IF_S" "$SL_ADDR_S:4500"
sed -i "s|^\[Interface\]|[Interface]\nControlSocket = $SL_WORK/noroot.sock|" "$SL_WORK/noroot.conf"
chmod 755 "$SL_WORK"
chmod 644 "$SL_WORK/noroot.conf" "$SL_WORK"/pki/*.pem "$SL_WORK"/pki/server.key
out=$SL_WORK/noroot.out
if up_fails_as_nobody "$SL_WORK/noroot.conf" "$out" && grep -q 'CAP_NET_ADMIN' "$out" &&
	one_line "$out"; then
	sl_pass "not root: one line about CAP_NET_ADMIN"
else
	sl_fail "not root: one line about CAP_NET_ADMIN" "wrong exit status or message" "$out"
fi
chmod 600 "$SL_WORK/pki/server.key"

# 5. No /dev/net/tun (hidden by an empty tmpfs in a private mount namespace).
out=$SL_WORK/notun.out
if up_fails_without_tun "$SL_WORK/busy.conf" "$out" && grep -q '/dev/net/tun' "$out" &&
	one_line "$out"; then
	sl_pass "no /dev/net/tun: one line naming it"
else
	sl_fail "no /dev/net/tun: one line naming it" "wrong exit status or message" "$out"
fi

# 6. A client certificate from another CA: the server refuses it, no tunnel comes up.
"$SLUICE" pki init "$SL_WORK/other" >/dev/null
"$SLUICE" pki issue "$SL_WORK/other" client >/dev/null
sl_start_server wrongca
SL_CONF_C=$SL_WORK/wrongca-client.conf
SL_LOG_C=$SL_WORK/wrongca-client.log
sl_conf_client "$SL_CONF_C" "$SL_IF_C" "$SL_ADDR_S:4500" "$SL_WORK/pki/ca.pem" "$SL_WORK/other/client"
sl_up "$SL_NS_C" "$SL_IF_C" "$SL_CONF_C" "$SL_LOG_C"
SL_PID_C=$SL_LAST_PID
if sl_wait_for 8 sl_ping "$SL_NS_C" "$SL_IN_S"; then
	sl_fail "wrong CA: no tunnel" "the client got through with a certificate from another CA" \
		"$SL_LOG_S" "$SL_LOG_C"
else
	sl_pass "wrong CA: no tunnel"
fi
sl_check "wrong CA: server log says certificate verify" "no such line in the server log" \
	"$SL_LOG_S $SL_LOG_C" grep -qi 'certificate verify' "$SL_LOG_S"
sl_tunnel_down
sl_finish
