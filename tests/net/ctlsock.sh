#!/bin/bash
# The control socket and key material. Three locks keep an unprivileged user off a tunnel's
# control socket: /run/sluice is 0700, the socket is 0600, and the tunnel checks the caller's uid
# (SO_PEERCRED). The server here puts its socket in a world-readable directory (ControlSocket =)
# so that the last two can be tested one by one: with the socket opened up to 0666 on purpose,
# SO_PEERCRED alone must refuse. Root keeps working. Private keys are never logged, even at
# LogLevel = debug.
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/../../scripts/netns.sh"

OTHER_UID=4242 # no such user needed: a uid that is neither root nor the tunnel's

sl_need_root
sl_need_sluice ctlsock
sl_need_cmd setpriv stat
sl_init ctlsock
sl_netns_pair
export SL_LOGLEVEL=debug
ctldir=$(mktemp -d /tmp/sluice-ctlsock.XXXXXX)
chmod 0755 "$ctldir"
sock=$ctldir/server.sock
SL_CONF_EXTRA="ControlSocket = $sock" sl_start_server k
sl_start_client k
if ! sl_wait_tunnel 10; then
	sl_fail "tunnel up" "no ping through the tunnel within 10 s" "$SL_LOG_S" "$SL_LOG_C"
	rm -rf "$ctldir"
	exit 1
fi
sl_pass "tunnel up"
root_show() {
	"$SLUICE" show --socket "$sock" >/dev/null 2>&1
}

as_other() {
	setpriv --reuid="$OTHER_UID" --regid="$OTHER_UID" --clear-groups "$@"
}

sl_check "the default socket directory /run/sluice is 0700" "mode $(stat -c %a /run/sluice)" "" \
	[ "$(stat -c %a /run/sluice)" = 700 ]
sl_check "control socket is mode 0600" "mode $(stat -c %a "$sock")" "$SL_LOG_S" \
	[ "$(stat -c %a "$sock")" = 600 ]
sl_check "root can use it" "sluice show failed" "$SL_LOG_S" root_show
if as_other "$SLUICE" show --socket "$sock" >"$SL_WORK/other1.log" 2>&1; then
	sl_fail "uid $OTHER_UID is refused by the mode" "show answered" "$SL_WORK/other1.log"
else
	sl_pass "uid $OTHER_UID is refused by the mode ($(head -c 80 "$SL_WORK/other1.log"))"
fi
# Open the mode on purpose: SO_PEERCRED must still refuse the other uid.
chmod 0666 "$sock"
rc=0
as_other "$SLUICE" show --socket "$sock" >"$SL_WORK/other2.log" 2>&1 || rc=$?
if [ "$rc" -eq 0 ] || grep -q interface "$SL_WORK/other2.log"; then
	sl_fail "uid $OTHER_UID is refused by SO_PEERCRED" "show answered" "$SL_WORK/other2.log"
else
	sl_pass "uid $OTHER_UID is refused by SO_PEERCRED (show exits $rc: $(head -n 1 \
		"$SL_WORK/other2.log"))"
fi
as_other "$SLUICE" down "$SL_IF_S" --socket "$sock" >"$SL_WORK/other3.log" 2>&1 || true
sleep 0.5
if ! sl_alive "$SL_PID_S"; then
	sl_fail "uid $OTHER_UID cannot take the tunnel down" "sluice down worked" \
		"$SL_WORK/other3.log"
else
	sl_pass "uid $OTHER_UID cannot take the tunnel down (nor kill it: the check runs under seccomp)"
fi
chmod 0600 "$sock"
sl_check "root still can" "sluice show failed" "$SL_LOG_S" root_show
sl_check "tunnel still up" "no ping" "$SL_LOG_S" sl_ping "$SL_NS_C" "$SL_IN_S"

# No line of either private key (base64 body) shows up in the debug logs.
leaks=0
for key in "$SL_WORK/pki/server.key" "$SL_WORK/pki/client.key"; do
	while read -r line; do
		case $line in -----*) continue ;; esac
		if grep -qF -- "$line" "$SL_LOG_S" "$SL_LOG_C"; then
			leaks=$((leaks + 1))
		fi
	done <"$key"
done
sl_check "private keys never logged (debug logs: $(cat "$SL_LOG_S" "$SL_LOG_C" | wc -l) lines)" \
	"$leaks key lines found in the logs" "$SL_LOG_S $SL_LOG_C" [ "$leaks" -eq 0 ]
rm -rf "$ctldir"
sl_finish
