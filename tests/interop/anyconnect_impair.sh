#!/bin/bash
# The impairment matrix on the AnyConnect wire: `sluice connect` against stock ocserv, the DTLS
# UDP path through the relay (tests/tools/relay.c), TLS (CSTP) direct:
#
#   client ns: sluice connect --UDP 198.18.0.1:4443--> nft DNAT (output) --> 198.18.0.1:4444
#   server ns: relay --listen 198.18.0.1:4444 --to 198.18.0.1:4443 (ocserv's udp-port)
#              ocserv tcp-port 4443 (reached directly, unimpaired)
#
# ocserv announces X-DTLS-Port 4443 and the client sends there, as it would to any server; the
# client namespace's nat output chain rewrites that destination to the relay, and conntrack
# turns the relay's replies back into replies from 4443, so neither end is told about the relay.
# ocserv finds the DTLS session by the ClientHello's session id (the App-ID), not by the source
# address, so the relay's own source address is fine for it.
#
# Cases (impairments on both directions, relay seeded): loss 1 % and 5 %, reorder 10 % (held back
# by up to 64 datagrams), duplication 5 %, delay 20 ms +- 10 ms. Each: a download (server to
# client, so the data records cross the relay into sluice's engine) of ACIMPAIR_MIB MiB (default
# 64) with equal SHA-256, the data over DTLS (the engine's exit counters and the relay's), and
# the accounting of every datagram the relay delivered to the client:
#
#   relay s2c_forwarded = nft-dropped (after the transfer, see below) + kernel drops
#                         (the namespace's Udp InErrors + NoPorts) + datagrams the client read
#   kernel drops at the client's full receive queue (Udp RcvbufErrors) = the engine's overflow
#                         count (SO_RXQ_OVFL on the DTLS socket)
#   client read         = outside the engine (OpenSSL's handshake) + by the engine
#   by the engine       = data + DPD + to the control plane + dropped (each reason)
#
# (the client's exit line "DTLS datagrams received ..."). To settle the counters, after the
# transfer an nft rule in the client namespace drops (and counts) the relay's datagrams; 1 s later
# the client exits, then the relay (which prints its counters at exit).
# Blackhole: the relay swallows UDP both ways for 15 s during an upload of 2 x ACIMPAIR_MIB, from
# 3/5 of the way through it (counted in client datagrams, so a fast tunnel cannot finish before
# it begins): the client falls back to CSTP (measured from the relay's logged start of the
# blackhole to the log line, polled every 0.1 s), the transfer completes, part of it over CSTP,
# and when the relay lets UDP through again the client says "DTLS answers again" (measured), and
# the same accounting holds.
# Whether a case fell back to CSTP is printed, not checked: the engine's DPD decides, and under
# load the kernel drops DPD datagrams at full receive queues (ocserv's, the relay's).
#
#   ACIMPAIR_MIB    transfer size (default 64; about 60 s for the whole script here)
#   ACIMPAIR_CASES  which cases (default "loss1 loss5 reorder10 dup5 delay20 blackhole")
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/../../scripts/netns.sh"
# shellcheck source=scripts/ocserv.sh
. "$(dirname "$0")/../../scripts/ocserv.sh"

SL_NS_S=acimpS-$SL_TAG
SL_NS_C=acimpC-$SL_TAG
MIB=${ACIMPAIR_MIB:-64}
PORT=4443
RELAY_PORT=4444
XPORT=5407
SLC_IF=acimp$SL_TAG

sl_need_root
sl_need_sluice anyconnect_impair
sl_need_cmd ocserv ocpasswd nft nc sha256sum openssl
if [ ! -x "$RELAY" ]; then
	echo "FAIL: anyconnect_impair (no relay tool at $RELAY: run make)"
	exit 1
fi
sl_init anyconnect_impair
sl_netns_pair
sl_pki "$SL_WORK/pki"
PIN=pin-sha256:$(openssl x509 -in "$SL_WORK/pki/server.pem" -pubkey -noout |
	openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)
head -c "${MIB}M" /dev/urandom >"$SL_WORK/send.bin"
SENT_SUM=$(sha256sum <"$SL_WORK/send.bin" | cut -d' ' -f1)

# ocserv 1.1 as tests/interop/anyconnect.sh runs it (plain password file, user test).
OCS_LOG=$SL_WORK/ocserv.log
sl_ocserv_conf "$SL_WORK" "$PORT" 2
sl_bg "$SL_NS_S" "$OCS_LOG" ocserv -f -d 1 -c "$SL_WORK/ocserv.conf"
if ! sl_wait_for 5 sl_listening "$SL_NS_S" tcp "$PORT" ||
	! sl_wait_for 5 sl_listening "$SL_NS_S" udp "$PORT"; then
	sl_fail "anyconnect_impair: ocserv starts" "no TCP/UDP port $PORT" "$OCS_LOG"
	exit 1
fi

# The client's UDP to ocserv's DTLS port goes to the relay instead.
ip netns exec "$SL_NS_C" nft -f - <<EOF
table ip acimpair_dnat {
	chain out { type nat hook output priority -100; ip daddr $SL_ADDR_S udp dport $PORT dnat to $SL_ADDR_S:$RELAY_PORT; }
}
EOF

# settle_block / settle_unblock: drop (and count) the relay's datagrams to the client. At the
# filter hook the reply's source may still be the relay's port or already 4443: both.
settle_block() {
	ip netns exec "$SL_NS_C" nft -f - <<EOF
table ip acimpair_settle {
	counter late { }
	chain in { type filter hook input priority 0; ip saddr $SL_ADDR_S udp sport { $PORT, $RELAY_PORT } counter name late drop; }
}
EOF
}
settle_count() {
	ip netns exec "$SL_NS_C" nft list counter ip acimpair_settle late 2>/dev/null |
		sed -n 's/.*packets \([0-9]*\).*/\1/p' | head -n 1
}
settle_unblock() {
	ip netns exec "$SL_NS_C" nft delete table ip acimpair_settle 2>/dev/null || true
}

# udp_mib FIELD [NS]: the client namespace's (or NS's) UDP counter FIELD (/proc/net/snmp).
udp_mib() {
	# shellcheck disable=SC2016 # awk's own fields
	ip netns exec "${2:-$SL_NS_C}" awk -v f="$1" '$1 == "Udp:" { if (!n) { for (i = 2; i <= NF; i++) col[$i] = i; n = 1 } else print $col[f] }' /proc/net/snmp
}
kernel_drops() {
	echo $(($(udp_mib InErrors) + $(udp_mib NoPorts)))
}

# relay_stat NAME LOG: the last value of a counter the relay printed.
relay_stat() {
	sed -n "s/^$1=//p" "$2" | tail -n 1
}

# field LOG REGEX: the first number the sed REGEX (one group) finds in LOG's accounting line.
acct() {
	sed -n "s/.*DTLS datagrams received .*$2.*/\1/p" "$1" | head -n 1
}

# start_client NAME: `sluice connect` (built-in set-up) in the client namespace.
start_client() {
	SLC_LOG=$SL_WORK/$1-sluice.log
	printf 'test\n' >"$SL_WORK/password"
	sl_bg_from "$SL_NS_C" "$SL_WORK/password" "$SLC_LOG" "$SLUICE" connect --user test \
		--passwd-on-stdin --servercert "$PIN" --interface "$SLC_IF" "https://$SL_ADDR_S:$PORT/"
	SLC_PID=$SL_LAST_PID
}

client_addr() {
	ip -n "$SL_NS_C" -4 -o addr show dev "$SLC_IF" 2>/dev/null | awk '{ sub("/.*", "", $4); print $4; exit }'
}

# note_switches LOG: the first time (sl_now_ms) LOG says "data now over CSTP" (T_CSTP), then
# "DTLS answers again" (T_BACK), each noted once, when first seen (0.1 s polls).
note_switches() {
	if [ -z "$T_CSTP" ] && grep -q "data now over CSTP" "$1"; then
		T_CSTP=$(sl_now_ms)
	fi
	if [ -n "$T_CSTP" ] && [ -z "$T_BACK" ] && grep -q "DTLS answers again" "$1"; then
		T_BACK=$(sl_now_ms)
	fi

}

# download NAME [POLL_LOG]: MIB MiB from the server namespace to the client's inner address;
# XFER_MS and XFER_OK set. With POLL_LOG, note_switches POLL_LOG while it runs.
download() {
	local name=$1 poll=${2:-} to recv_pid send_pid got i
	XFER_OK=0
	local rx_ns=$SL_NS_C tx_ns=$SL_NS_S
	to=$(client_addr)
	if [ "${XFER_DIR:-down}" = up ]; then
		rx_ns=$SL_NS_S tx_ns=$SL_NS_C to=$SL_IN_S
	fi
	rm -f "$SL_WORK/recv.bin"
	# shellcheck disable=SC2016 # expanded by the inner sh
	sl_bg "$rx_ns" "$SL_WORK/$name-nc-recv.log" sh -c 'exec nc -l "$0" "$1" >"$2"' \
		"${to:-none}" "$XPORT" "$SL_WORK/recv.bin"
	recv_pid=$SL_LAST_PID
	sl_wait_for 5 sl_listening "$rx_ns" tcp "$XPORT" || true
	XFER_T0=$(sl_now_ms)
	sl_bg_from "$tx_ns" "$SL_WORK/send.bin" "$SL_WORK/$name-nc-send.log" \
		timeout 150 nc -N "${to:-none}" "$XPORT"
	send_pid=$SL_LAST_PID
	for ((i = 0; i < 1600; i++)); do
		sl_alive "$send_pid" || break
		[ -z "$poll" ] || note_switches "$poll"
		sleep 0.1
	done
	sl_stop "$send_pid"
	sl_wait_for 20 sl_gone "$recv_pid" || sl_stop "$recv_pid"
	XFER_MS=$(($(sl_now_ms) - XFER_T0))
	got=$(sha256sum <"$SL_WORK/recv.bin" | cut -d' ' -f1)
	[ "$got" = "$SENT_SUM" ] && XFER_OK=1
	XFER_GOT=$(stat -c %s "$SL_WORK/recv.bin" 2>/dev/null || echo 0)
	return 0
}

# up NAME RELAY_LOG: tunnel pings and data is over DTLS.
up_on_dtls() {
	sl_wait_for 20 sl_ping "$SL_NS_C" "$SL_IN_S" && sl_wait_for 20 grep -q "data now over DTLS" "$1"
}

# balanced READ OWN ENGINE DATA DPD CONTROL DROPS: READ = OWN + ENGINE, ENGINE = the rest's sum.
balanced() {
	[ "$1" = "$(($2 + $3))" ] && [ "$3" = "$(($4 + $5 + $6 + $7))" ]
}

# run_case NAME RELAY_ARGS...: one download under one impairment of the relay. BLACKHOLE_AFTER
# (client datagrams) and BLACKHOLE_MS: the relay's blackhole; the fallback and the return are
# timed and checked.
run_case() {
	local name=$1 t_relay relay_log stats relay_pid k0 k1 late fwd rcv own eng data dpd ctl drops why
	local tx rx s0 cstp_tx q0 q1 ovf
	shift
	relay_log=$SL_WORK/$name-relay.log
	stats=$SL_WORK/$name-relay.stats
	T_CSTP="" T_BACK=""
	t_relay=$(sl_now_ms)
	sl_bg "$SL_NS_S" "$relay_log" "$RELAY" --listen "$SL_ADDR_S:$RELAY_PORT" \
		--to "$SL_ADDR_S:$PORT" --both --seed 7 --stats-file "$stats" "$@"
	relay_pid=$SL_LAST_PID
	sl_wait_for 5 sl_listening "$SL_NS_S" udp "$RELAY_PORT" || true
	k0=$(kernel_drops) q0=$(udp_mib RcvbufErrors)
	s0=$(udp_mib InErrors "$SL_NS_S")
	start_client "$name"
	if ! up_on_dtls "$SLC_LOG"; then
		sl_fail "$name: tunnel up, data over DTLS through the relay" "no ping or no DTLS in 40 s" \
			"$SLC_LOG" "$OCS_LOG" "$relay_log"
		sl_stop "$SLC_PID"
		sl_stop "$relay_pid"
		return
	fi
	if [ -n "${BLACKHOLE_AFTER:-}" ]; then
		echo "    $name: on DTLS $(($(sl_now_ms) - t_relay)) ms after the relay's start;" \
			"the blackhole begins at client datagram $BLACKHOLE_AFTER, for $BLACKHOLE_MS ms"
		download "$name" "$SLC_LOG"
	else
		download "$name"
	fi
	echo "    $name: ${MIB} MiB ${XFER_DIR:-down} in $XFER_MS ms ($((MIB * 8 * 1000 / (XFER_MS > 0 ? XFER_MS : 1))) Mbit/s)"
	sl_check "$name: ${MIB} MiB ${XFER_DIR:-down} through the relay, sha256 matches" \
		"$XFER_GOT bytes arrived" "$SLC_LOG $SL_WORK/$name-nc-send.log $relay_log" \
		[ "$XFER_OK" = 1 ]
	if [ -n "${BLACKHOLE_AFTER:-}" ]; then
		blackhole_checks "$name" "$relay_log"
	else
		# Not a check: the engine's DPD decides, and under load the kernel drops DPD
		# datagrams at either end's socket buffer (see the report of issue 7).
		echo "    $name: switches to CSTP during the case: $(grep -c "data now over CSTP" "$SLC_LOG" || true)"
	fi
	settle_block
	sleep 1 # the relay drains (delay <= 30 ms, held <= 200 ms); the engine reads what came
	sl_stop "$SLC_PID"
	sl_stop "$relay_pid"
	late=$(settle_count)
	settle_unblock
	k1=$(kernel_drops) q1=$(udp_mib RcvbufErrors)
	fwd=$(relay_stat s2c_forwarded "$relay_log")
	echo "    relay s2c: $(grep '^s2c_' "$relay_log" | tail -n 10 | sed 's/^s2c_//' | tr '\n' ' ')"
	grep "DTLS datagrams received" "$SLC_LOG" | sed 's/^sluice: info: anyconnect: /    client: /'
	rcv=$(sed -n 's/.*DTLS datagrams received \([0-9]*\):.*/\1/p' "$SLC_LOG" | head -n 1)
	own=$(acct "$SLC_LOG" 'outside the engine \([0-9]*\) ')
	eng=$(acct "$SLC_LOG" 'by the engine \([0-9]*\):')
	data=$(acct "$SLC_LOG" ': data \([0-9]*\),')
	dpd=$(acct "$SLC_LOG" 'DPD \([0-9]*\),')
	ctl=$(acct "$SLC_LOG" 'control plane \([0-9]*\),')
	drops=$(acct "$SLC_LOG" 'dropped \([0-9]*\) ')
	why=$(acct "$SLC_LOG" 'by reason:\([^)]*\))')
	ovf=$(acct "$SLC_LOG" 'at a full queue \([0-9]*\)')
	tx=$(sed -n 's/.*DTLS data packets sent \([0-9]*\), received [0-9]* (sealed.*/\1/p' "$SLC_LOG")
	rx=$(sed -n 's/.*DTLS data packets sent [0-9]*, received \([0-9]*\) (sealed.*/\1/p' "$SLC_LOG")
	echo "    kernel drops (Udp InErrors + NoPorts) $((k1 - k0)), dropped by the settle rule ${late:-?};" \
		"server namespace Udp InErrors $(($(udp_mib InErrors "$SL_NS_S") - s0))"
	# at least half the transfer in records of <= 1406 bytes, through the relay and the engine
	local way=s2c eng_n=${rx:-0} what=opened
	if [ "${XFER_DIR:-down}" = up ]; then
		way=c2s eng_n=${tx:-0} what=sealed
	fi
	sl_check "$name: the data went over DTLS (the engine $what and the relay carried > $((MIB * 375)))" \
		"engine DTLS packets sent ${tx:-none}, received ${rx:-none}; relay ${way}_forwarded $(relay_stat ${way}_forwarded "$relay_log")" \
		"$SLC_LOG $relay_log" both_above "$eng_n" "$(relay_stat ${way}_forwarded "$relay_log")" $((MIB * 375))
	if [ -n "${BLACKHOLE_AFTER:-}" ]; then
		cstp_tx=$(sed -n 's/.*CSTP data packets sent \([0-9]*\), received.*/\1/p' "$SLC_LOG")
		sl_check "$name: part of the upload went over CSTP" \
			"CSTP data packets sent ${cstp_tx:-none}" "$SLC_LOG" [ "${cstp_tx:-0}" -gt 1000 ]
		sl_check "$name: the relay swallowed datagrams both ways" \
			"blackholed c2s $(relay_stat c2s_blackholed "$relay_log"), s2c $(relay_stat s2c_blackholed "$relay_log")" \
			"$relay_log" both_above "$(relay_stat c2s_blackholed "$relay_log")" \
			"$(relay_stat s2c_blackholed "$relay_log")" 0
	fi
	sl_check "$name: relay delivered = settle-dropped + kernel drops + client read" \
		"relay ${fwd:-?}, settle ${late:-?} + kernel $((k1 - k0)) + client ${rcv:-?}" \
		"$SLC_LOG $relay_log" [ "${fwd:-x}" = "$((${late:-0} + k1 - k0 + ${rcv:-0}))" ]
	sl_check "$name: the engine counted the kernel's drops at its full queue (SO_RXQ_OVFL)" \
		"engine overflow ${ovf:-?}, the namespace's Udp RcvbufErrors $((q1 - q0))" "$SLC_LOG" \
		[ "${ovf:-x}" = "$((q1 - q0))" ]
	sl_check "$name: client read = handshake + engine; engine = data + DPD + control + drops" \
		"read ${rcv:-?} = ${own:-?} + ${eng:-?}; engine ${eng:-?} = ${data:-?} + ${dpd:-?} + ${ctl:-?} + ${drops:-?} (${why:-?})" \
		"$SLC_LOG" balanced "${rcv:-x}" "${own:-0}" "${eng:-x}" "${data:-0}" "${dpd:-0}" \
		"${ctl:-0}" "${drops:-0}"
	LAST_WHY=$why LAST_DROPS=$drops
}

# blackhole_checks NAME RELAY_LOG: the fallback while the upload ran, the return after. The relay
# begins the blackhole at the BLACKHOLE_AFTER'th client datagram and logs when.
blackhole_checks() {
	local name=$1 start end i
	start=$(relay_stat blackhole_began_unix_ms "$2")
	if [ -z "$start" ]; then
		sl_fail "$name: the blackhole began during the upload" \
			"the relay saw at most $(relay_stat c2s_received "$2") client datagrams" "$2"
		return
	fi
	end=$((start + BLACKHOLE_MS))
	sl_check "$name: the transfer was still running when the blackhole began" \
		"it ended $((XFER_T0 + XFER_MS - start)) ms after the blackhole's start" "$SLC_LOG" \
		[ "$((XFER_T0 + XFER_MS))" -gt "$start" ]
	for ((i = 0; i < 200; i++)); do
		note_switches "$SLC_LOG"
		[ -n "$T_BACK" ] && break
		[ "$(sl_now_ms)" -lt $((end + 10000)) ] || break
		sleep 0.1
	done
	echo "    $name: data over CSTP $((${T_CSTP:-0} - start)) ms after the blackhole began;" \
		"DTLS answers again $((${T_BACK:-0} - end)) ms after it ended"
	sl_check "$name: fell back to CSTP within 5 s of the blackhole" \
		"${T_CSTP:+after $((T_CSTP - start)) ms}${T_CSTP:-no fallback}" "$SLC_LOG" \
		in_window "${T_CSTP:-0}" "$start" 5000
	sl_check "$name: back on DTLS within 5 s of the blackhole's end" \
		"${T_BACK:+after $((T_BACK - end)) ms}${T_BACK:-no 'DTLS answers again'}" "$SLC_LOG" \
		in_window "${T_BACK:-0}" "$end" 5000
	sl_check "$name: ping over DTLS after the return" "no ping" "$SLC_LOG" \
		sl_wait_for 5 sl_ping "$SL_NS_C" "$SL_IN_S"
}

# both_above A B N: A > N and B > N.
both_above() {
	[ "${1:-0}" -gt "$3" ] && [ "${2:-0}" -gt "$3" ]
}

# in_window T FROM MS: FROM <= T <= FROM + MS.
in_window() {
	[ "$1" -ge "$2" ] && [ "$1" -le $(($2 + $3)) ]
}

has_replays() {
	[[ $1 == *replay=* ]]
}

CASES=${ACIMPAIR_CASES:-loss1 loss5 reorder10 dup5 delay20 blackhole}
has_case() {
	[[ " $CASES " == *" $1 "* ]]
}
has_case loss1 && run_case ac-loss1 --drop 1
has_case loss5 && run_case ac-loss5 --drop 5
has_case reorder10 && run_case ac-reorder10 --reorder 10 --reorder-depth 64
if has_case dup5; then
	run_case ac-dup5 --dup 5
	sl_check "ac-dup5: the duplicates are counted by the engine as replays" \
		"drops ${LAST_DROPS:-?} (by reason: ${LAST_WHY:-?})" "" has_replays "${LAST_WHY:-}"
fi
has_case delay20 && run_case ac-delay20 --delay-ms 20 --jitter-ms 10
# Blackhole: both ways, 15 s, from 3/5 of an upload of 2 x MIB on (about 730 records of
# 1400 bytes a MiB; sluice is the sender: its switch is what is timed). A fixed time after the
# relay's start was not enough: at 700 Mbit/s the upload once ended 38 ms after it.
# ocserv notices the silence only after 3 DPD intervals (6 s), so TCP's backed-off
# retransmissions find the way through CSTP within the blackhole, and the rest of the upload goes
# over CSTP until DTLS answers again.
if has_case blackhole; then
	cat "$SL_WORK/send.bin" "$SL_WORK/send.bin" >"$SL_WORK/send2.bin"
	mv "$SL_WORK/send2.bin" "$SL_WORK/send.bin"
	SENT_SUM=$(sha256sum <"$SL_WORK/send.bin" | cut -d' ' -f1)
	MIB=$((MIB * 2)) BLACKHOLE_MS=15000 XFER_DIR=up
	BLACKHOLE_AFTER=$((MIB * 750 * 3 / 5))
	run_case ac-blackhole --blackhole-after-c2s "$BLACKHOLE_AFTER" --blackhole-for-ms "$BLACKHOLE_MS"
	BLACKHOLE_AFTER="" XFER_DIR=""
fi

echo "$SL_PASSES passed, $SL_FAILS failed"
sl_finish
