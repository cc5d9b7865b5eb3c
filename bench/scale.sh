#!/bin/bash
# The 10,000-peer scale test (run by bench/bench.sh, or alone). Two parts:
#
# 1. A real server: `sluice up` (native control plane, as in the tests) in a server namespace.
#    bench/loadgen, acting as a control plane, creates SCALE_PEERS=10000 peers on it through its
#    Unix control socket (peer_new, route_add /32, key_set AES-256-GCM: 30,000 key=value
#    requests), then, from the client namespace, SCALE_ACTIVE=1000 of them send
#    SCALE_PACKETS=5 ESP-sealed ICMP echo requests each, every peer from its own UDP source port;
#    the server learns each endpoint from the data, its kernel answers through the tunnel, and
#    loadgen opens and counts the replies and checks the server's counters and endpoints.
#    Memory per idle peer = growth of the server's RssAnon (/proc/PID/status) over the 10,000
#    peers, divided by 10,000; memory per active peer = further growth after the traffic,
#    divided by the active count.
# 2. In process (bench/scale, no root, repeatable): malloc accounting of the same peers, step
#    by step (peer_new, route_add, key_set), and the instructions per packet of the peer
#    lookups (SPI -> peer hash, route trie, key slot) with 1, 100 and 10,000 peers, under
#    callgrind at two round counts so set-up cancels (collected inside sl_loop_run_once only).
#
# Prints, last,
#   SCALE peers=10000 bytes_per_idle_peer=N bytes_per_active_peer=M malloc_per_idle_peer=K
#         lookup_instr_1=A lookup_instr_100=B lookup_instr_10000=C engine_instr_1=.. ..
# A benchmark: it fails only when it cannot run (lost traffic is reported). Needs root;
# part 2 needs valgrind. About 15 s.
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/../scripts/netns.sh"

N=${SCALE_PEERS:-10000}
ACTIVE=${SCALE_ACTIVE:-1000}
PACKETS=${SCALE_PACKETS:-5}
R1=${SCALE_R1:-8}
R2=${SCALE_R2:-40}
LOADGEN=$SL_BUILD/bench/loadgen
SCALE=$SL_BUILD/bench/scale

sl_need_root
sl_need_cmd ip awk
for bin in "$SLUICE" "$LOADGEN" "$SCALE"; do
	[ -x "$bin" ] || sl_die "no $bin (build first: make)"
done
sl_init scale

rss_anon_kib() {
	sed -n 's/^RssAnon:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"
}

# --- 1. the real server, over the control socket and the network ---------------------------
sl_netns_pair
SL_LOGLEVEL=warn sl_start_server scale
sock=/run/sluice/$SL_IF_S.sock
sl_wait_for 5 test -S "$sock" || sl_die "no control socket $sock (server log: $SL_LOG_S)"
# The server's kernel answers the peers' echo requests into the tunnel.
ip -n "$SL_NS_S" route add 198.19.64.0/18 dev "$SL_IF_S"
sleep 0.5 # let start-up allocations settle
rss0=$(rss_anon_kib "$SL_PID_S")
"$LOADGEN" peers "$sock" "$N" | sed 's/^/  /'
rss1=$(rss_anon_kib "$SL_PID_S")
if ! ip netns exec "$SL_NS_C" "$LOADGEN" traffic "$sock" "$SL_ADDR_S" 4500 "$N" "$ACTIVE" \
	"$PACKETS" >"$SL_WORK/traffic.out" 2>&1; then
	sed 's/^/  /' "$SL_WORK/traffic.out"
	sl_tail "$SL_LOG_S"
	grep -q '^traffic ' "$SL_WORK/traffic.out" || sl_die "loadgen traffic failed"
	echo "  (not everything arrived or not every endpoint was learned: see the line above)"
else
	sed 's/^/  /' "$SL_WORK/traffic.out"
fi
rss2=$(rss_anon_kib "$SL_PID_S")
idle=$(((rss1 - rss0) * 1024 / N))
active=$(((rss2 - rss1) * 1024 / ACTIVE))
echo "  server RssAnon: $rss0 KiB at start, $rss1 KiB with $N idle peers, $rss2 KiB after" \
	"$ACTIVE of them sent"
echo "  => $idle bytes per idle peer, $active more per peer that has sent and received"

# --- 2. in process: malloc accounting, lookup instructions -----------------------------------
mem=$("$SCALE" mem "$N")
echo "  malloc accounting (bench/scale mem $N), bytes per peer: ${mem#mem peers="$N" }"
malloc_total=$(echo "$mem" | sed -n 's/.* total=\([0-9]*\).*/\1/p')

lookup_line=
engine_line=
if ! command -v valgrind >/dev/null || ! command -v callgrind_annotate >/dev/null; then
	echo "  lookup instructions: skipped, valgrind not installed (scripts/deps.sh --bench)"
else
	# inclusive FILE: "cost<TAB>function" for every function row, the largest row per function
	# (callgrind_annotate lists a function once per source file its code came from).
	inclusive() {
		(cd / && callgrind_annotate --auto=no --inclusive=yes --threshold=100 "$1") |
			awk '/^ *[0-9,]+ +\([ 0-9.]+%\)  / {
				cost = $1; gsub(",", "", cost)
				f = $0; sub(/^ *[0-9,]+ +\([ 0-9.]+%\) +/, "", f)
				sub(/ \[[^]]*\]$/, "", f); sub(/^.*:/, "", f)
				if (cost + 0 > best[f]) best[f] = cost + 0
			}
			END { for (f in best) print best[f] "\t" f }'
	}
	echo "  lookup instructions per packet (callgrind inside sl_loop_run_once; rounds of 32" \
		"packets in and 32 out over 256 peers spread across the table):"
	printf '  %8s %12s %12s %10s %10s %10s\n' peers lookups "engine-AEAD" "SPI hash" "route" \
		"key slot"
	for n in 1 100 "$N"; do
		for r in "$R1" "$R2"; do
			if ! (cd / && valgrind --tool=callgrind --callgrind-out-file="$SL_WORK/cg.$n.$r" \
				--dump-instr=no --collect-atstart=no --toggle-collect=sl_loop_run_once \
				"$SCALE" lookup "$n" "$r") >"$SL_WORK/out.$n.$r" 2>"$SL_WORK/vg.$n.$r"; then
				tail -n 20 "$SL_WORK/vg.$n.$r"
				sl_die "bench/scale lookup $n $r failed under valgrind"
			fi
			inclusive "$SL_WORK/cg.$n.$r" >"$SL_WORK/incl.$n.$r"
		done
		row=$(awk -v pk=$((64 * (R2 - R1))) -F'\t' '
			FNR == 1 { file++ }
			{ v[file, $2] = $1 }
			function d(f) { return (v[2, f] - v[1, f]) / pk }
			END {
				total = d("PROGRAM TOTALS"); aead = d("sl_aead_seal") + d("sl_aead_open")
				spi = d("sl_idmap_get"); route = d("sl_route_lookup"); slot = d("keys_find_rx")
				printf "%.0f %.0f %.0f %.0f %.0f\n", spi + route + slot, total - aead, spi, route, slot
			}' "$SL_WORK/incl.$n.$R1" "$SL_WORK/incl.$n.$R2")
		read -r lk eng spi route slot <<<"$row"
		printf '  %8s %12s %12s %10s %10s %10s\n' "$n" "$lk" "$eng" "$spi" "$route" "$slot"
		lookup_line+=" lookup_instr_$n=$lk"
		engine_line+=" engine_instr_$n=$eng"
	done
fi
echo "SCALE peers=$N bytes_per_idle_peer=$idle bytes_per_active_peer=$active" \
	"malloc_per_idle_peer=$malloc_total${lookup_line}${engine_line:-}"
