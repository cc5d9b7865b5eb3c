#!/bin/bash
# A running tunnel is not root: both `sluice up` processes run as an unprivileged user under a
# seccomp filter with no new privileges; the server keeps no capability, the client only
# CAP_NET_ADMIN, which it needs to configure its interface whenever a CONFIG arrives (the first one
# too comes after the drop), here again after reconnecting to a restarted server.
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/../../scripts/netns.sh"

NET_ADMIN=0000000000001000
NONE=0000000000000000

sl_need_root
sl_need_sluice privilege
sl_need_cmd jq
sl_init privilege
sl_netns_pair
if ! sl_tunnel_pair p; then
	sl_fail "tunnel up" "no ping through the tunnel within 10 s" "$SL_LOG_S" "$SL_LOG_C"
	exit 1
fi
sl_pass "tunnel up"

# status_field PID FIELD: the value of FIELD in /proc/PID/status (tabs turned into spaces).
status_field() {
	sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" 2>/dev/null | tr '\t' ' '
}

# no_root_ids PID FIELD: none of the real, effective, saved and filesystem ids is 0.
no_root_ids() {
	local id
	for id in $(status_field "$1" "$2"); do
		[ "$id" -ne 0 ] || return 1
	done
	[ -n "$(status_field "$1" "$2")" ]
}

# check_reduced WHO PID CAPS LOG: the privilege checks for one process.
check_reduced() {
	local who=$1 pid=$2 caps=$3 log=$4
	sl_check "$who: uids not 0" "Uid: $(status_field "$pid" Uid)" "$log" no_root_ids "$pid" Uid
	sl_check "$who: gids not 0" "Gid: $(status_field "$pid" Gid)" "$log" no_root_ids "$pid" Gid
	sl_check "$who: no supplementary groups" "Groups: $(status_field "$pid" Groups)" "$log" \
		[ -z "$(status_field "$pid" Groups | tr -d ' ')" ]
	sl_check "$who: CapEff $caps" "CapEff: $(status_field "$pid" CapEff)" "$log" \
		[ "$(status_field "$pid" CapEff)" = "$caps" ]
	sl_check "$who: CapPrm $caps" "CapPrm: $(status_field "$pid" CapPrm)" "$log" \
		[ "$(status_field "$pid" CapPrm)" = "$caps" ]
	sl_check "$who: CapBnd $caps" "CapBnd: $(status_field "$pid" CapBnd)" "$log" \
		[ "$(status_field "$pid" CapBnd)" = "$caps" ]
	sl_check "$who: CapAmb and CapInh empty" \
		"CapAmb: $(status_field "$pid" CapAmb), CapInh: $(status_field "$pid" CapInh)" "$log" \
		[ "$(status_field "$pid" CapAmb)$(status_field "$pid" CapInh)" = "$NONE$NONE" ]
	sl_check "$who: Seccomp 2 (filter)" "Seccomp: $(status_field "$pid" Seccomp)" "$log" \
		[ "$(status_field "$pid" Seccomp)" = 2 ]
	sl_check "$who: NoNewPrivs 1" "NoNewPrivs: $(status_field "$pid" NoNewPrivs)" "$log" \
		[ "$(status_field "$pid" NoNewPrivs)" = 1 ]
}

check_reduced server "$SL_PID_S" "$NONE" "$SL_LOG_S"
check_reduced client "$SL_PID_C" "$NET_ADMIN" "$SL_LOG_C"
sl_check "root can still use the control socket" "sluice show $SL_IF_S failed" "$SL_LOG_S" \
	sl_wait_for 3 sl_transport_is "$SL_IF_C" udp

# The server goes away and comes back with other pools, and meanwhile the client's interface is
# set down from outside: the reconnect must add the new addresses and set the link up again over
# rtnetlink, with the client's reduced privileges.
sl_stop "$SL_PID_S" TERM
ip -n "$SL_NS_C" link set dev "$SL_IF_C" down
sleep 2
SL_CONF_S2=$SL_WORK/p-server-other-pool.conf
sed -e 's|^Pool4 = .*|Pool4 = 198.19.7.0/24|' -e 's|^Pool6 = .*|Pool6 = 2001:db8:7::/64|' \
	"$SL_CONF_S" >"$SL_CONF_S2"
SL_LOG_S=$SL_WORK/p-server-restarted.log
sl_up "$SL_NS_S" "$SL_IF_S" "$SL_CONF_S2" "$SL_LOG_S"
SL_PID_S=$SL_LAST_PID
if sl_wait_for 20 sl_ping "$SL_NS_C" 198.19.7.1; then
	sl_pass "client reconnects and configures its interface again"
else
	sl_fail "client reconnects and configures its interface again" \
		"no ping to 198.19.7.1 within 20 s; client: $(ip -n "$SL_NS_C" -br addr show dev "$SL_IF_C" 2>&1)" \
		"$SL_LOG_S" "$SL_LOG_C"
fi
sl_check "new inner addresses on the client" \
	"$(ip -n "$SL_NS_C" -br addr show dev "$SL_IF_C" 2>&1)" "$SL_LOG_C" \
	sl_wait_for 3 sh -c "ip -n '$SL_NS_C' addr show dev '$SL_IF_C' | grep -q 'inet 198.19.7.2/24' &&
		ip -n '$SL_NS_C' addr show dev '$SL_IF_C' | grep -q 'inet6 2001:db8:7::2/64'"
sl_check "no netlink errors in the client log" "$(grep -m1 'cannot' "$SL_LOG_C" || true)" \
	"$SL_LOG_C" sh -c "! grep -q 'cannot add\|cannot set' '$SL_LOG_C'"
sl_check "client survived the reconnect" "the client exited (SIGSYS = a system call missing)" \
	"$SL_LOG_C" sl_alive "$SL_PID_C"
sl_check "client still reduced" "CapEff: $(status_field "$SL_PID_C" CapEff)" "$SL_LOG_C" \
	[ "$(status_field "$SL_PID_C" CapEff)/$(status_field "$SL_PID_C" Seccomp)" = "$NET_ADMIN/2" ]
sl_check "restarted server reduced" "Uid: $(status_field "$SL_PID_S" Uid)" "$SL_LOG_S" \
	no_root_ids "$SL_PID_S" Uid

# Clean stops still say goodbye and exit 0 under the filter.
sl_alive "$SL_PID_C" && kill -TERM "$SL_PID_C"
rc="still running after 5 s"
if sl_wait_for 5 sl_gone "$SL_PID_C"; then
	rc=0
	wait "$SL_PID_C" 2>/dev/null || rc=$?
fi
sl_check "client exits 0 on SIGTERM" "exit status: $rc" "$SL_LOG_C" [ "$rc" = 0 ]
# And `sluice down` (as root, over the root-owned control socket) stops the server.
rc=0
"$SLUICE" down "$SL_IF_S" >"$SL_WORK/down.log" 2>&1 || rc=$?
sl_check "sluice down works" "sluice down exited $rc" "$SL_WORK/down.log" [ "$rc" -eq 0 ]
rc="still running after 5 s"
if sl_wait_for 5 sl_gone "$SL_PID_S"; then
	rc=0
	wait "$SL_PID_S" 2>/dev/null || rc=$?
fi
sl_check "server exits 0 after sluice down" "exit status: $rc" "$SL_LOG_S" [ "$rc" = 0 ]
sl_finish
