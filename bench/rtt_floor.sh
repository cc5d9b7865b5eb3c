#!/bin/bash
# The RTT floor of a userspace TUN tunnel on this machine (docs/performance.md, "Where the RTT
# goes"). Between one fresh pair of namespaces, ROUNDS times (default 3), interleaved so that
# load from elsewhere hits each row alike, RTT_COUNT pings (default 200) RTT_INTERVAL apart
# (default 0.01 s) through:
#   - the plain veth,
#   - bench/rtt_floor fwd: a TUN<->UDP forwarder with no crypto, one packet per system call,
#     sleeping in poll() (the least any userspace TUN tunnel can do),
#   - the same with busy-polling: non-blocking reads retried for SPIN_US µs (default 200)
#     after the last packet before it sleeps; its CPU use is printed (the price),
#   - sluice (ESP-in-UDP, AES-256-GCM), the tunnel `make bench` measures;
# and counts the wake-ups (context switches of the tunnel's own threads) per ping. Then
# bench/rtt_floor pingpong: the round trip of one byte between two processes over pipes,
# on one CPU and on any CPU, the scheduler's wake-up cost with no network in it.
# Prints per round the per-packet median and average, then
# RTT_SCHED=1 adds, for round 1, the scheduler's delays from wake-up to running of the
# tunnel's threads and of ping (perf sched record -a; perf sched timehist).
# FWD_CPUS="0 1" pins the server's forwarder to CPU 0 and the client's to CPU 1.
#   RTTFLOOR veth_us=.. forwarder_added_us=.. forwarder_spin_added_us=.. sluice_added_us=..
# (medians over rounds of each round's median RTT; added = minus the veth's), an RTTFLOOR_AVG
# line the same with averages, a WAKEUPS line and a PINGPONG line. About 60 to 75 s. Needs root.
# A benchmark, not a test: it never fails on speed.
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/../scripts/netns.sh"

ROUNDS=${ROUNDS:-3}
N=${RTT_COUNT:-200}
IV=${RTT_INTERVAL:-0.01}
SPIN_US=${SPIN_US:-200}
# FWD_CPUS="S C": pin the server's and the client's forwarder to those CPUs (taskset).
PIN_S=(env)
PIN_C=(env)
if [ -n "${FWD_CPUS:-}" ]; then
	read -r cs cc <<<"$FWD_CPUS"
	PIN_S=(taskset -c "$cs")
	PIN_C=(taskset -c "${cc:-$cs}")
fi
FLOOR=${FLOOR_BIN:-$SL_BUILD/bench/rtt_floor}
sl_need_root
sl_need_cmd ip ping awk
[ -x "$FLOOR" ] || sl_die "no $FLOOR (ninja -C $SL_BUILD)"
sl_init rtt-floor
R=$SL_WORK/results
mkdir -p "$R"

# The forwarder's lifetime bound (it is stopped by SIGTERM after its pings).
FWD_S=$(awk -v n="$N" -v i="$IV" 'BEGIN { printf "%d", n * i * 4 + 10 }')

# ctxsw PID...: voluntary + involuntary context switches of all threads of the PIDs so far.
ctxsw() {
	local pid
	for pid in "$@"; do
		cat /proc/"$pid"/task/*/status 2>/dev/null
	done | awk '/^(non)?voluntary_ctxt_switches/ { s += $2 } END { print s + 0 }'
}

# sched_start NAME / sched_end NAME: with RTT_SCHED=1, in round 1, `perf sched record -a`
# around NAME's pings, then per task the scheduler's delay from wake-up to running (perf sched
# latency: average and maximum) for the tunnel's processes and ping.
SCHED_PID=
sched_start() {
	SCHED_PID=
	[ "${RTT_SCHED:-0}" = 1 ] && [ "$round" = 1 ] || return 0
	perf sched record -a -o "$SL_WORK/$1.sched" -- sleep "$(awk -v n="$N" -v i="$IV" 'BEGIN { print n * i * 1.3 + 1.5 }')" \
		>/dev/null 2>&1 &
	SCHED_PID=$!
	sleep 0.5
}
# sched_end NAME PID...: the delays from wake-up to running (perf sched timehist's "sch
# delay") of the PIDs' threads and of ping: count, median and 90th percentile in µs.
sched_end() {
	local name=$1 pid tids=
	shift
	[ -n "$SCHED_PID" ] || return 0
	wait "$SCHED_PID" 2>/dev/null || true
	for pid in "$@"; do
		tids="$tids $(cd /proc/"$pid"/task 2>/dev/null && echo *)"
	done
	perf sched timehist -i "$SL_WORK/$name.sched" 2>/dev/null | awk -v tids="$tids" -v name="$name" '
		BEGIN { n = split(tids, t, " "); for (i = 1; i <= n; i++) T[t[i]] = 1 }
		function show(what, v, n,    i, j, x, k) {
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { x = v[i]; v[i] = v[j]; v[j] = x }
			k = int(n * 0.9)
			if (k < 1)
				k = 1
			if (n) printf "  %-12s wake-up to running, %s: %d times, median %.0f us, 90%% %.0f us\n", name, what, n, 1000 * v[int((n + 1) / 2)], 1000 * v[k]
		}
		$1 ~ /^[0-9]+\.[0-9]+$/ && match($3, /\[[0-9]+/) {
			tid = substr($3, RSTART + 1, RLENGTH - 1)
			if (tid in T) tun[++nt] = $5
			else if ($3 ~ /^ping\[/) png[++np] = $5
		}
		END { show("tunnel threads", tun, nt); show("ping", png, np) }'
}

# ping_to NAME ADDR: N pings from the client namespace; appends this round's median and
# average (µs) to $R/NAME.med and $R/NAME.avg.
ping_to() {
	local name=$1 addr=$2 out med avg
	out=$(ip netns exec "$SL_NS_C" ping -q -c 1 -W 1 "$addr" >/dev/null 2>&1
		ip netns exec "$SL_NS_C" ping -c "$N" -i "$IV" "$addr" 2>&1) || true
	med=$(echo "$out" | sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' | sort -n |
		awk '{ v[NR] = $1 } END { if (NR) printf "%.0f", 1000 * (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }')
	avg=$(echo "$out" | awk -F'[/ ]+' '/^rtt/ { printf "%.0f", $8 * 1000 }')
	if [ -z "$med" ] || [ -z "$avg" ]; then
		echo "  $name: ping failed: $(echo "$out" | tail -n 1)"
		return 1
	fi
	echo "$med" >>"$R/$name.med"
	echo "$avg" >>"$R/$name.avg"
	printf '  %-12s median %5s us, average %5s us\n' "$name" "$med" "$avg"
}

# fwd_pair NAME NET PORT SPIN: a forwarder in each namespace, TUNs with NET.1 (server) and
# NET.2 (client), UDP PORT between the veth addresses; pings through it; its wake-ups and CPU.
fwd_pair() {
	local name=$1 net=$2 port=$3 spin=$4 ifs=f${1:0:1}S$SL_TAG ifc=f${1:0:1}C$SL_TAG ps pc
	sl_bg "$SL_NS_S" "$SL_WORK/$name-s.log" "${PIN_S[@]}" "$FLOOR" fwd "$ifs" "$SL_ADDR_S" "$port" \
		"$SL_ADDR_C" "$port" "$spin" "$FWD_S"
	ps=$SL_LAST_PID
	sl_bg "$SL_NS_C" "$SL_WORK/$name-c.log" "${PIN_C[@]}" "$FLOOR" fwd "$ifc" "$SL_ADDR_C" "$port" \
		"$SL_ADDR_S" "$port" "$spin" "$FWD_S"
	pc=$SL_LAST_PID
	if ! sl_wait_for 5 grep -q '^ready' "$SL_WORK/$name-s.log" ||
		! sl_wait_for 5 grep -q '^ready' "$SL_WORK/$name-c.log"; then
		echo "  $name: forwarder did not start: $(cat "$SL_WORK/$name-s.log" "$SL_WORK/$name-c.log")"
		sl_stop "$ps"
		sl_stop "$pc"
		return 1
	fi
	ip -n "$SL_NS_S" addr add "$net.1/24" dev "$ifs"
	ip -n "$SL_NS_S" link set "$ifs" up
	ip -n "$SL_NS_C" addr add "$net.2/24" dev "$ifc"
	ip -n "$SL_NS_C" link set "$ifc" up
	sched_start "$name"
	ping_to "$name" "$net.1" || true
	sched_end "$name" "$ps" "$pc"
	sl_stop "$ps"
	sl_stop "$pc"
	# "fwd packets=N wakeups=W spins_hit=H user_s=U sys_s=S work_us_per_packet=P", per end.
	cat "$SL_WORK/$name-s.log" "$SL_WORK/$name-c.log" | awk -v n="$N" -v d="$(awk -v n="$N" -v i="$IV" 'BEGIN { print n * i }')" \
		-v name="$name" -F'[ =]' '/^fwd/ { w += $5; h += $7; cpu += $9 + $11; wk += $13 / 2 }
		END { printf "  %-12s %.1f wake-ups per ping (both ends), %.1f packets caught spinning per ping, %.1f us from wake-up to passed on per packet, CPU %.0f us per ping = %.0f%% of one core while pinging\n",
			name, w / n, h / n, wk, 1e6 * cpu / n, 100 * cpu / d
		      printf "%.1f %.0f\n", w / n, 100 * cpu / d > "/dev/stderr" }' 2>>"$R/$name.wake"
}

sluice_round() {
	local before after
	before=$(ctxsw "$SL_PID_S" "$SL_PID_C")
	sched_start sluice
	ping_to sluice "$SL_IN_S" || return 0
	sched_end sluice "$SL_PID_S" "$SL_PID_C"
	after=$(ctxsw "$SL_PID_S" "$SL_PID_C")
	awk -v a="$after" -v b="$before" -v n="$N" 'BEGIN { printf "  sluice       %.1f context switches of its threads per ping (both ends)\n", (a - b) / (n + 1)
		printf "%.1f 0\n", (a - b) / (n + 1) > "/dev/stderr" }' 2>>"$R/sluice.wake"
}

echo "rtt floor: $ROUNDS rounds of $N pings ${IV}s apart; spin $SPIN_US us; forwarders on CPUs ${FWD_CPUS:-any}"
echo "  machine: $(nproc) CPUs, kernel $(uname -r); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
sl_netns_pair
have_sluice=0
if [ -x "$SLUICE" ] && SL_LOGLEVEL=warn sl_tunnel_pair rttfloor; then
	have_sluice=1
else
	echo "  sluice: no tunnel (binary $SLUICE), row skipped"
fi
for ((round = 1; round <= ROUNDS; round++)); do
	echo "- round $round"
	ping_to veth "$SL_ADDR_S" || true
	fwd_pair forwarder 198.19.5 5300 0 || true
	fwd_pair spin 198.19.6 5301 "$SPIN_US" || true
	[ "$have_sluice" = 0 ] || sluice_round
done

echo "- pingpong (one byte over two pipes between two processes, 1 ms between round trips)"
for ((round = 1; round <= ROUNDS; round++)); do
	taskset -c 0 "$FLOOR" pingpong 2000 | sed 's/^/  one CPU: /' | tee -a "$R/pp1"
	"$FLOOR" pingpong 2000 | sed 's/^/  any CPU: /' | tee -a "$R/ppany"
done

# median FILE [COLUMN]: the median of the numbers in FILE, or na.
median() {
	[ -s "$1" ] || {
		echo na
		return
	}
	awk -v c="${2:-1}" '{ print $c }' "$1" | sort -n |
		awk '{ v[NR] = $1 } END { printf "%s", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

added() {
	local a b
	a=$(median "$R/$1.$2")
	b=$(median "$R/veth.$2")
	if [ "$a" = na ] || [ "$b" = na ]; then echo na; else awk -v a="$a" -v b="$b" 'BEGIN { print a - b }'; fi
}

pp_med() {
	sed -n 's/.* median_us=\([0-9.]*\).*/\1/p' "$1" >"$1.m"
	median "$1.m"
}

echo
echo "  load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "RTTFLOOR veth_us=$(median "$R/veth.med") forwarder_added_us=$(added forwarder med)" \
	"forwarder_spin_added_us=$(added spin med) sluice_added_us=$(added sluice med)"
echo "RTTFLOOR_AVG veth_us=$(median "$R/veth.avg") forwarder_added_us=$(added forwarder avg)" \
	"forwarder_spin_added_us=$(added spin avg) sluice_added_us=$(added sluice avg)"
echo "WAKEUPS per_ping forwarder=$(median "$R/forwarder.wake") spin=$(median "$R/spin.wake")" \
	"sluice=$(median "$R/sluice.wake") spin_cpu_pct=$(median "$R/spin.wake" 2)" \
	"forwarder_cpu_pct=$(median "$R/forwarder.wake" 2)"
echo "PINGPONG one_cpu_median_us=$(pp_med "$R/pp1") any_cpu_median_us=$(pp_med "$R/ppany")"
