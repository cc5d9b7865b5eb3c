# shellcheck shell=bash disable=SC2034 # variables are for the scripts that source this file
# Shared helpers for tests/net/*.sh, scripts/demo.sh and bench/bench.sh. Source it after `set -eu`.
#
# Two network namespaces, "server" and "client", joined by one veth pair:
#
#   [ sls-TAG ] veth0 198.18.0.1/24 2001:db8::1/64 <---> veth0 198.18.0.2/24 2001:db8::2/64 [ slc-TAG ]
#
# TAG is the caller's PID, so tests can run side by side. Everything a script starts goes through
# sl_bg (which keeps the PID); sl_cleanup, installed as the EXIT trap by sl_init, kills those PIDs,
# then any process still inside our namespaces (by PID, from `ip netns pids`), deletes the
# namespaces and the work directory. Every wait is bounded.
#
# Functions that record a PID set SL_LAST_PID: call them directly, never inside $(...).

SL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in
/*) SL_BUILD=$BUILD ;;
*) SL_BUILD=$SL_ROOT/$BUILD ;;
esac
SLUICE=${SLUICE:-$SL_BUILD/sluice}
RELAY=${RELAY:-$SL_BUILD/tests/tools/relay}

SL_TAG=$$
SL_NS_S=sls-$SL_TAG
SL_NS_C=slc-$SL_TAG
SL_ADDR_S=198.18.0.1
SL_ADDR_C=198.18.0.2
SL_ADDR6_S=2001:db8::1
SL_ADDR6_C=2001:db8::2
# Inner (tunnel) addresses as the server's pools hand them out.
SL_IN_S=198.19.0.1
SL_IN_C=198.19.0.2
SL_IN6_S=2001:db8:1::1
SL_IN6_C=2001:db8:1::2
# Interface names (at most 15 characters); unique because /run/sluice is shared by namespaces.
SL_IF_S=slS$SL_TAG
SL_IF_C=slC$SL_TAG

SL_NAME=${SL_NAME:-sluice}
SL_WORK=
SL_PIDS=()
SL_NETNS=()
SL_IFNAMES=()
SL_LAST_PID=
SL_PASSES=0
SL_FAILS=0

# sl_init NAME: make the work directory and install the cleanup traps.
sl_init() {
	SL_NAME=$1
	SL_WORK=$(mktemp -d "/tmp/sluice-$SL_NAME.XXXXXX")
	trap sl_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

sl_log() {
	printf '%s: %s\n' "$SL_NAME" "$*" >&2
}

sl_die() {
	sl_log "error: $*"
	exit 1
}

sl_need_root() {
	[ "$(id -u)" -eq 0 ] || sl_die "needs root (network namespaces, TUN devices)"
}

# sl_need_sluice CASE: fail CASE clearly when the binary is not built.
sl_need_sluice() {
	if [ ! -x "$SLUICE" ]; then
		echo "FAIL: $1 (no sluice binary at $SLUICE: run make, or set BUILD or SLUICE)"
		exit 1
	fi
}

sl_need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || sl_die "'$c' is not installed (run scripts/deps.sh)"
	done
}

# Milliseconds since the epoch, from bash itself (no fork).
sl_now_ms() {
	local t=${EPOCHREALTIME//[!0-9]/}
	echo $((10#$t / 1000))
}

# sl_wait_for SECONDS CMD...: run CMD every 0.2 s until it succeeds; 1 if it never did.
sl_wait_for() {
	local secs=$1 deadline
	shift
	deadline=$(($(sl_now_ms) + secs * 1000))
	while :; do
		if "$@"; then
			return 0
		fi
		[ "$(sl_now_ms)" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# sl_netns_pair: create both namespaces and the veth between them.
sl_netns_pair() {
	local ns
	for ns in "$SL_NS_S" "$SL_NS_C"; do
		ip netns add "$ns"
		SL_NETNS+=("$ns")
		ip -n "$ns" link set lo up
	done
	ip -n "$SL_NS_S" link add veth0 type veth peer name veth0 netns "$SL_NS_C"
	ip -n "$SL_NS_S" addr add "$SL_ADDR_S/24" dev veth0
	ip -n "$SL_NS_S" addr add "$SL_ADDR6_S/64" dev veth0 nodad
	ip -n "$SL_NS_C" addr add "$SL_ADDR_C/24" dev veth0
	ip -n "$SL_NS_C" addr add "$SL_ADDR6_C/64" dev veth0 nodad
	ip -n "$SL_NS_S" link set veth0 up
	ip -n "$SL_NS_C" link set veth0 up
	sl_wait_for 5 sl_ping "$SL_NS_C" "$SL_ADDR_S" || sl_die "veth underlay does not answer ping"
}

# sl_bg NS LOG CMD...: start CMD in namespace NS in the background (output to LOG).
# `ip netns exec` execs CMD, so the PID is CMD's own.
sl_bg() {
	local ns=$1 log=$2
	shift 2
	sl_bg_from "$ns" /dev/null "$log" "$@"
}

# sl_bg_from NS INPUT LOG CMD...: sl_bg with INPUT as standard input.
sl_bg_from() {
	local ns=$1 input=$2 log=$3
	shift 3
	ip netns exec "$ns" "$@" <"$input" >"$log" 2>&1 &
	SL_LAST_PID=$!
	SL_PIDS+=("$SL_LAST_PID")
}

# sl_alive PID: PID is running and is still a child of this (sub)shell, so that a PID is never
# signalled after the kernel may have handed it to someone else.
sl_alive() {
	[ "$(sed -n 's/^PPid:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null)" = "$BASHPID" ] &&
		! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

sl_gone() {
	! sl_alive "$1"
}

# sl_stop PID [SIGNAL]: signal one process we started, wait up to 5 s, then SIGKILL it.
# (stderr is muted inside: bash would report "Killed" for a job that died of SIGKILL.)
sl_stop() {
	local pid=$1 sig=${2:-TERM} i
	{
		sl_alive "$pid" && kill "-$sig" "$pid"
		for ((i = 0; i < 50; i++)); do
			sl_alive "$pid" || break
			sleep 0.1
		done
		sl_alive "$pid" && kill -KILL "$pid"
		wait "$pid" || true
	} 2>/dev/null
}

sl_cleanup() {
	local rc=$? pid ns name i alive
	trap - EXIT INT TERM
	set +e
	{
		for pid in "${SL_PIDS[@]}"; do
			sl_alive "$pid" && kill -TERM "$pid"
		done
		for ((i = 0; i < 50; i++)); do
			alive=0
			for pid in "${SL_PIDS[@]}"; do
				sl_alive "$pid" && alive=1
			done
			[ "$alive" -eq 1 ] || break
			sleep 0.1
		done
		for pid in "${SL_PIDS[@]}"; do
			sl_alive "$pid" && kill -KILL "$pid"
			wait "$pid"
		done
	} 2>/dev/null
	for ns in "${SL_NETNS[@]}"; do
		# Anything still running inside our own namespaces was started by this script.
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	for name in "${SL_IFNAMES[@]}"; do
		rm -f "/run/sluice/$name.sock"
	done
	if [ -n "$SL_WORK" ]; then
		if [ "${SL_KEEP:-0}" = 1 ] || { [ "$rc" -ne 0 ] && [ "${SL_KEEP_ON_FAIL:-0}" = 1 ]; }; then
			sl_log "kept work directory $SL_WORK"
		else
			rm -rf "$SL_WORK"
		fi
	fi
	exit "$rc"
}

sl_ping() {
	ip netns exec "$1" ping -c 1 -W 1 "$2" >/dev/null 2>&1
}

# sl_listening NS PROTO PORT: is something listening on PORT (PROTO tcp or udp) in NS?
sl_listening() {
	local flag=-ltn
	[ "$2" = udp ] && flag=-lun
	ip netns exec "$1" ss -H "$flag" "sport = :$3" 2>/dev/null | grep -q .
}

# --- sluice -----------------------------------------------------------------------------------

# sl_pki DIR: a CA plus "server" and "client" certificates in DIR.
sl_pki() {
	"$SLUICE" pki init "$1" >/dev/null
	"$SLUICE" pki issue "$1" server --server >/dev/null
	"$SLUICE" pki issue "$1" client >/dev/null
}

# sl_conf_interface MODE NAME CA CERT: the [Interface] section the tests share; CERT is a path
# without extension (CERT.pem, CERT.key). SL_CONF_EXTRA: more lines for it (tests/sanitize.sh
# sets "Seccomp = no" and "User = root" there, so that sanitizer reports can be written).
sl_conf_interface() {
	cat <<EOF
[Interface]
Mode = $1
Name = $2
CA = $3
Certificate = $4.pem
PrivateKey = $4.key
Keepalive = 1
DeadAfter = ${SL_DEAD_AFTER:-3}
RekeySeconds = ${SL_REKEY_SECONDS:-120}
LogLevel = ${SL_LOGLEVEL:-info}
Offload = ${SL_OFFLOAD:-yes}
IoBackend = ${SL_IOBACKEND:-epoll}
${SL_CONF_EXTRA:-}
EOF
}

# sl_conf_server FILE NAME LISTEN [PKIDIR]; SL_CONF_SERVER_EXTRA: more [Server] lines.
sl_conf_server() {
	local pki=${4:-$SL_WORK/pki}
	{
		sl_conf_interface server "$2" "$pki/ca.pem" "$pki/server"
		cat <<EOF

[Server]
Listen = $3
Pool4 = 198.19.0.0/24
Pool6 = 2001:db8:1::/64
${SL_CONF_SERVER_EXTRA:-}
EOF
	} >"$1"
}

# sl_conf_client FILE NAME SERVER [CA [CERT]]: CA defaults to the work PKI's, CERT to its client.
sl_conf_client() {
	{
		sl_conf_interface client "$2" "${4:-$SL_WORK/pki/ca.pem}" "${5:-$SL_WORK/pki/client}"
		cat <<EOF

[Client]
Server = $3
EOF
	} >"$1"
}

# sl_up NS NAME CONFIG LOG: run `sluice up CONFIG` in NS; PID in SL_LAST_PID.
sl_up() {
	SL_IFNAMES+=("$2")
	sl_bg "$1" "$4" "$SLUICE" up "$3"
}

# sl_show NAME: `sluice show NAME --json` (the control socket lives in the shared /run).
sl_show() {
	"$SLUICE" show "$1" --json 2>/dev/null
}

# sl_peer NAME JQ: a field of the first peer, e.g. sl_peer slC1 .transport; empty if none.
sl_peer() {
	sl_show "$1" | jq -r ".peers[0]$2 // empty" 2>/dev/null
}

# sl_peers_sum NAME JQ: the sum of a numeric field over all peers, e.g. .drops.auth.
sl_peers_sum() {
	sl_show "$1" | jq -r "[.peers[]$2] | add // 0" 2>/dev/null
}

sl_transport_is() {
	[ "$(sl_peer "$1" .transport)" = "$2" ]
}

# sl_start_server PREFIX [LISTEN]: PKI if none yet, config, `sluice up` in the server namespace,
# then a bounded wait for its TCP port. Sets SL_CONF_S, SL_LOG_S, SL_PID_S.
sl_start_server() {
	local listen=${2:-$SL_ADDR_S:4500}
	[ -f "$SL_WORK/pki/ca.pem" ] || sl_pki "$SL_WORK/pki"
	SL_CONF_S=$SL_WORK/$1-server.conf
	SL_LOG_S=$SL_WORK/$1-server.log
	sl_conf_server "$SL_CONF_S" "$SL_IF_S" "$listen"
	sl_up "$SL_NS_S" "$SL_IF_S" "$SL_CONF_S" "$SL_LOG_S"
	SL_PID_S=$SL_LAST_PID
	sl_wait_for 5 sl_listening "$SL_NS_S" tcp "${listen##*:}" || true
}

# sl_start_client PREFIX [SERVER]: config and `sluice up` in the client namespace.
# Sets SL_CONF_C, SL_LOG_C, SL_PID_C.
sl_start_client() {
	SL_CONF_C=$SL_WORK/$1-client.conf
	SL_LOG_C=$SL_WORK/$1-client.log
	sl_conf_client "$SL_CONF_C" "$SL_IF_C" "${2:-$SL_ADDR_S:4500}"
	sl_up "$SL_NS_C" "$SL_IF_C" "$SL_CONF_C" "$SL_LOG_C"
	SL_PID_C=$SL_LAST_PID
}

# sl_wait_tunnel [SECONDS]: the client pings the server's inner address (default 10 s).
sl_wait_tunnel() {
	sl_wait_for "${1:-10}" sl_ping "$SL_NS_C" "$SL_IN_S"
}

# sl_tunnel_pair PREFIX [LISTEN [SERVER]]: server and client up; 1 if no ping within 10 s.
sl_tunnel_pair() {
	sl_start_server "$1" "${2:-}"
	sl_start_client "$1" "${3:-}"
	sl_wait_tunnel 10
}

sl_tunnel_down() {
	sl_stop "$SL_PID_C"
	sl_stop "$SL_PID_S"
}

# --- results ----------------------------------------------------------------------------------

sl_tail() {
	local f
	for f in "$@"; do
		[ -f "$f" ] || continue
		echo "    --- last lines of $f"
		tail -n "${SL_TAIL_LINES:-25}" "$f" | sed 's/^/    | /'
	done
}

sl_pass() {
	SL_PASSES=$((SL_PASSES + 1))
	echo "PASS: $1"
}

# sl_fail CASE REASON [LOG...]: report a failed case with the tail of each LOG.
sl_fail() {
	local name=$1 why=$2
	shift 2
	SL_FAILS=$((SL_FAILS + 1))
	echo "FAIL: $name ($why)"
	sl_tail "$@"
}

# sl_check CASE REASON LOGS CMD...: PASS if CMD succeeds, else FAIL with REASON and the tails of
# LOGS (a space-separated list).
sl_check() {
	local name=$1 why=$2 logs=$3
	shift 3
	if "$@"; then
		sl_pass "$name"
	else
		# shellcheck disable=SC2086 # LOGS is a list on purpose
		sl_fail "$name" "$why" $logs
	fi
}

sl_finish() {
	[ "$SL_FAILS" -eq 0 ]
}

# sl_status_field PID FIELD: the value of FIELD in /proc/PID/status (tabs turned into spaces).
sl_status_field() {
	sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" 2>/dev/null | tr '\t' ' '
}

# sl_no_root_ids PID FIELD: FIELD (Uid or Gid) is there and none of its four ids is 0.
sl_no_root_ids() {
	local id v
	v=$(sl_status_field "$1" "$2")
	[ -n "$v" ] || return 1
	for id in $v; do
		[ "$id" -ne 0 ] || return 1
	done
}

# sl_check_reduced WHO PID CAPS LOG: a running tunnel is not root (uids, gids, no supplementary
# groups), holds exactly CAPS (16 hex digits, as /proc shows CapEff) effective, permitted and
# bounding, nothing inheritable or ambient, and runs under a seccomp filter with no new privileges.
sl_check_reduced() {
	local who=$1 pid=$2 caps=$3 log=$4 none=0000000000000000
	sl_check "$who: uids not 0" "Uid: $(sl_status_field "$pid" Uid)" "$log" sl_no_root_ids "$pid" Uid
	sl_check "$who: gids not 0" "Gid: $(sl_status_field "$pid" Gid)" "$log" sl_no_root_ids "$pid" Gid
	sl_check "$who: no supplementary groups" "Groups: $(sl_status_field "$pid" Groups)" "$log" \
		[ -z "$(sl_status_field "$pid" Groups | tr -d ' ')" ]
	sl_check "$who: CapEff/CapPrm/CapBnd $caps" \
		"$(grep -E '^Cap(Eff|Prm|Bnd)' "/proc/$pid/status" 2>/dev/null | tr '\n\t' '  ')" "$log" \
		[ "$(sl_status_field "$pid" CapEff)/$(sl_status_field "$pid" CapPrm)/$(sl_status_field "$pid" CapBnd)" = "$caps/$caps/$caps" ]
	sl_check "$who: CapAmb and CapInh empty" \
		"CapAmb: $(sl_status_field "$pid" CapAmb), CapInh: $(sl_status_field "$pid" CapInh)" "$log" \
		[ "$(sl_status_field "$pid" CapAmb)$(sl_status_field "$pid" CapInh)" = "$none$none" ]
	sl_check "$who: Seccomp 2 (filter), NoNewPrivs 1" \
		"Seccomp: $(sl_status_field "$pid" Seccomp), NoNewPrivs: $(sl_status_field "$pid" NoNewPrivs)" \
		"$log" [ "$(sl_status_field "$pid" Seccomp)/$(sl_status_field "$pid" NoNewPrivs)" = 2/1 ]
}
