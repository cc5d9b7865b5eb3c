#!/bin/bash
# Where the CPU time of one iperf3 TCP stream goes (docs/performance.md, "Where the cycles
# go"). For each of PROFILE_PEERS (default: veth sluice wireguard_go), one fresh namespace pair
# as bench/bench.sh builds it, then ROUNDS (default 3) transfers of T seconds (default 10),
# each under `perf record -a -g -e cpu-clock` (this VM has no hardware PMU: cpu-clock samples
# every CPU 999 times a second whether it runs or idles, so the samples add up to 2 CPUs x
# the run) wrapped in `perf stat -a` for context switches. Every sample is put in one bucket by
# process, user/kernel and symbol (awk below), then
#   seconds of CPU per bucket / bytes iperf3 carried  x  CPU clock  =  cycles per byte
# (the clock: /proc/cpuinfo's MHz; cpu-clock counts time, not cycles, so these are "cycles at
# the nominal clock"). Prints per round and per peer the table of medians over the rounds, and
#   PROFILE peer=NAME mbps=.. busy_cpb=.. ceiling_mbps=.. <bucket>_cpb=.. ...
# where busy_cpb is every non-idle sample of the peer's own processes and kernel threads per
# byte and ceiling_mbps = 2 CPUs x clock / busy_cpb, the rate if both CPUs did nothing else.
# PROFILE_KEEP=DIR keeps the perf.data files; IPERF_CPUS/SLUICE_CPUS="S C" pin (below);
# VETH_GRO=1 turns GRO on on the veth (ethtool). About 45 s per peer. Needs root and perf.
# A benchmark, not a test: it never fails on speed.
set -eu
# shellcheck source=scripts/netns.sh
. "$(dirname "$0")/../scripts/netns.sh"

T=${BENCH_SECONDS:-10}
ROUNDS=${ROUNDS:-3}
FREQ=${PERF_FREQ:-999}
sl_need_root
sl_need_cmd ip iperf3 jq perf awk
# IPERF_CPUS="S C" / SLUICE_CPUS="S C": pin iperf3's server and client, sluice's server and
# client (all their threads) to those CPUs, to try placements.
PIN_IS=(env)
PIN_IC=(env)
if [ -n "${IPERF_CPUS:-}" ]; then
	read -r is ic <<<"$IPERF_CPUS"
	PIN_IS=(taskset -c "$is")
	PIN_IC=(taskset -c "${ic:-$is}")
fi
MHZ=$(awk -F': *' '/^cpu MHz/ { print $2; exit }' /proc/cpuinfo)
OUT=$(mktemp -d /tmp/sluice-profile.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
if [ "$(cat /proc/sys/kernel/kptr_restrict)" != 0 ]; then
	echo "profile: kernel.kptr_restrict is not 0, kernel symbols will be missing" \
		"(sysctl -w kernel.kptr_restrict=0)" >&2
fi

# classify: perf script lines "PID COMM DSO SYM PERIOD" (tab separated) on stdin; the
# pids of the tunnel's ends in SRV/CLI (space separated, may be empty). Prints "bucket
# seconds" lines. Buckets:
#   idle            the idle task on either CPU
#   iperf3_user, iperf3_kcopy, iperf3_kernel
#                   both iperf3 processes: user space, the kernel's copies to/from user
#                   (copy_user/copy_to_iter/rep_movs...), the rest of their kernel time (TCP,
#                   and whatever softirq work the kernel runs on their time: veth, IP, ...)
#   {srv,cli}_aead  the tunnel end's AEAD (libcrypto; Go's chacha20poly1305 for wireguard-go)
#   {srv,cli}_user  the rest of its user space (sluice or wireguard-go, libc)
#   {srv,cli}_kcopy the kernel's user copies on its behalf (TUN read/write, UDP send/recv)
#   {srv,cli}_kcsum checksums the kernel computes on its behalf (csum_partial...)
#   {srv,cli}_kernel the rest of its kernel time (TUN, UDP GSO, GRO, veth, syscalls)
#   softirq         ksoftirqd and kworkers (network work the kernel did off any process)
#   perf            perf itself (the cost of measuring)
#   other           everything else (the other helpers' work on this shared machine)
classify() {
	awk -F'\t' -v srv="$1" -v cli="$2" '
	BEGIN { n = split(srv, a, " "); for (i = 1; i <= n; i++) S[a[i]] = 1
		n = split(cli, a, " "); for (i = 1; i <= n; i++) C[a[i]] = 1 }
	{
		pid = $1; comm = $2; dso = $3; sym = $4; sec = $5 / 1e9; sub(/^~/, "", sym)
		kern = (dso ~ /kernel\.kallsyms|\[kernel/ || dso ~ /^\[/ )
		copy = kern && sym ~ /copy_user|rep_movs|copy_to_iter|copy_from_iter|_copy_to_user|_copy_from_user|copy_page_to_iter|copy_page_from_iter|memcpy_orig|__memcpy|memcpy_to_iter|memcpy_from_iter|skb_copy_datagram|csum_and_copy|copy_mc/
		csum = kern && !copy && sym ~ /csum_partial|do_csum|csum_ipv6|csum_fold/
		if (pid == 0 || comm == "swapper" || sym ~ /^(default_idle|pv_native_safe_halt|native_safe_halt|acpi_idle|cpu_idle_poll|intel_idle|mwait_idle)/) b = "idle"
		else if (pid in S || pid in C) {
			e = (pid in S) ? "srv" : "cli"
			if (kern) b = e (copy ? "_kcopy" : csum ? "_kcsum" : "_kernel")
			else if (dso ~ /libcrypto/ || sym ~ /chacha|poly1305|aes|gcm|GCM|Chacha|Poly1305/) b = e "_aead"
			else b = e "_user"
		} else if (comm == "iperf3") b = "iperf3_" (kern ? (copy ? "kcopy" : "kernel") : "user")
		else if (comm ~ /^ksoftirqd|^kworker/) b = "softirq"
		else if (comm ~ /^perf/) b = "perf"
		else b = "other"
		t[b] += sec
		# Kernel time by subsystem, on behalf of the measured path (not other, perf, idle).
		if (kern && b != "other" && b != "perf" && b != "idle") {
			g = copy ? "copy" : csum ? "csum" : \
			    sym ~ /^tun_|_tun_/ ? "tun" : \
			    sym ~ /gro/ ? "gro" : \
			    sym ~ /gso|segment/ ? "gso" : \
			    sym ~ /veth/ ? "veth" : \
			    sym ~ /^tcp|_tcp/ ? "tcp" : \
			    sym ~ /^udp|_udp|^__udp/ ? "udp" : \
			    sym ~ /^ip_|^__ip|^ipv4|^inet|^ip6|^fib|^nf_|^nft/ ? "ip" : \
			    sym ~ /alloc|free|kmem|slab|page_frag|skb_release|kfree|__build_skb|napi_.*skb|consume_skb/ ? "mem" : \
			    sym ~ /entry_SYSCALL|syscall|do_syscall|__x64_sys|fdget|fput|epoll|ep_|poll|select/ ? "syscall" : \
			    sym ~ /schedule|sched|switch|wake|ttwu|enqueue|dequeue|pick_next|update_curr|finish_task/ ? "sched" : \
			    sym ~ /spin_lock|_raw_|lock/ ? "lock" : "kother"
			k[g] += sec
		}
	}
	END { for (b in t) printf "%s %.6f\n", b, t[b]; for (g in k) printf "k_%s %.6f\n", g, k[g] }'
}

# counters FILE: a few absolute counters of both namespaces (nstat -az keeps no history
# file then), "ns.Name value" per line.
counters() {
	local ns
	for ns in "$SL_NS_S" "$SL_NS_C"; do
		ip netns exec "$ns" nstat -az 2>/dev/null |
			awk -v ns="${ns%%-*}" '$1 ~ /^(IpReasmReqds|IpFragCreates|UdpRcvbufErrors|UdpSndbufErrors|UdpInErrors|TcpRetransSegs|TcpExtTCPBacklogDrop)$/ { print ns "." $1, $2 }'
	done >"$1"
}

# profile_round PEER ROUND ADDR: one T-second transfer to ADDR under perf; bucket seconds and
# bytes into $OUT/PEER.ROUND.
profile_round() {
	local peer=$1 round=$2 addr=$3 d=$OUT/$1.$2 json srvpid
	mkdir -p "$d"
	json=$d/iperf3.json
	sl_bg "$SL_NS_S" "$d/iperf3-server.log" "${PIN_IS[@]}" iperf3 -s -1 -B "$addr"
	srvpid=$SL_LAST_PID
	sl_wait_for 5 sl_listening "$SL_NS_S" tcp 5201 || {
		echo "  $peer: iperf3 server did not start"
		return 1
	}
	counters "$d/nstat0"
	perf stat -a -x, -e task-clock,context-switches,cpu-migrations -o "$d/stat" -- \
		perf record -q -a -g -e cpu-clock -F "$FREQ" -o "$d/perf.data" -- \
		ip netns exec "$SL_NS_C" "${PIN_IC[@]}" iperf3 -c "$addr" -t "$T" -J >"$json" 2>"$d/perf.log" || {
		echo "  $peer: iperf3/perf failed: $(jq -r '.error // empty' "$json" 2>/dev/null) $(tail -n 2 "$d/perf.log")"
		sl_stop "$srvpid"
		return 1
	}
	sl_stop "$srvpid"
	counters "$d/nstat1"
	# Reassembled fragments, drops at a full socket buffer, TCP retransmissions: per MB.
	awk -v mb="$(jq -r '.end.sum_received.bytes / 1e6' "$json")" 'NR == FNR { a[$1] = $2; next }
		{ d = $2 - a[$1]; if (d > 0) printf "%s=%.0f(%.2f/MB) ", $1, d, d / mb }
		END { print "" }' "$d/nstat0" "$d/nstat1" >"$d/nstat"
	jq -r '.end.sum_received.bytes' "$json" >"$d/bytes"
	jq -r '.end.sum_received.bits_per_second / 1e6' "$json" >"$d/mbps"
	# Each sample is a block: "COMM PID PERIOD", then its call chain, one "IP SYM (DSO)" per
	# line. Out: "PID COMM DSO SYM PERIOD", tab separated. cpu-clock fires from a timer
	# interrupt, so time spent with interrupts off is charged to the instruction that turns
	# them back on (_raw_spin_unlock_irqrestore, handle_softirqs...): such a sample is
	# charged to the first caller that is not one of those, its name marked with a "~".
	perf script -i "$d/perf.data" -F comm,pid,period,ip,sym,dso 2>/dev/null | awk '
		BEGIN { RS = ""; FS = "\n" }
		{
			if (!match($1, / +[0-9]+ +[0-9]+ *$/)) next
			comm = substr($1, 1, RSTART - 1); sub(/^ +/, "", comm)
			split(substr($1, RSTART), h, " ")
			sym = "?"; dso = "?"; skid = 0
			for (i = 2; i <= NF; i++) {
				line = $i; sub(/^[ \t]*[0-9a-f]+ /, "", line)
				d = line; sub(/.* \(/, "", d); sub(/\)[ \t]*$/, "", d)
				y = line; sub(/ \([^()]*\)[ \t]*$/, "", y)
				if (y ~ /^(_raw_spin_unlock_irqrestore|_raw_spin_unlock_irq|_raw_spin_unlock_bh|handle_softirqs|__local_bh_enable_ip|__irq_exit_rcu|irq_exit_rcu|do_softirq|do_softirq\.part\.0|local_bh_enable|sysvec_apic_timer_interrupt|asm_sysvec_apic_timer_interrupt|finish_task_switch.*)$/) {
					if (i == 2) { sym = y; dso = d }
					skid = 1
					continue
				}
				if (i > 2 || !skid) { sym = (skid ? "~" : "") y; dso = d }
				break
			}
			printf "%s\t%s\t%s\t%s\t%s\n", h[1], comm, dso, sym, h[2]
		}' >"$d/samples"
	classify "${SRV_PIDS:-}" "${CLI_PIDS:-}" <"$d/samples" >"$d/buckets"
	awk -F, '$3 == "context-switches" { print $1 }' "$d/stat" >"$d/ctxsw"
	# The top symbols, for the write-up.
	awk -F'\t' '{ t[$2 " " $3 " " $4] += $5 } END { for (s in t) printf "%.3f %s\n", t[s] / 1e9, s }' \
		"$d/samples" | sort -rn | head -n 40 >"$d/top"
	if [ -n "${PROFILE_KEEP:-}" ]; then
		mkdir -p "$PROFILE_KEEP"
		cp -r "$d" "$PROFILE_KEEP/"
	fi
	printf '  round %d: %.0f Mbit/s, %s context switches; %s\n' "$round" "$(cat "$d/mbps")" \
		"$(cat "$d/ctxsw")" "$(cat "$d/nstat")"
}

# report PEER: medians over rounds of each bucket in cycles per byte, and the PROFILE line.
report() {
	local peer=$1
	ls -d "$OUT/$peer".* >/dev/null 2>&1 || return 0
	for d in "$OUT/$peer".*; do
		[ -s "$d/buckets" ] || continue
		awk -v bytes="$(cat "$d/bytes")" -v mhz="$MHZ" -v mbps="$(cat "$d/mbps")" -v cs="$(cat "$d/ctxsw")" '
			{ s[$1] = $2; tot += ($1 ~ /^k_/ ? 0 : $2) }
			END { printf "mbps %s\nctxsw_per_MB %.1f\n", mbps, cs / (bytes / 1e6)
			      printf "total_s %.4f\n", tot
			      for (b in s) printf "%s %.4f %.3f\n", b, s[b], s[b] * mhz * 1e6 / bytes }' \
			"$d/buckets"
	done | awk -v peer="$peer" -v mhz="$MHZ" '
		function med(key,    n, i, j, x, v) {
			n = split(vals[key], v, " ")
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { x = v[i]; v[i] = v[j]; v[j] = x }
			return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		}
		$1 == "mbps" || $1 == "ctxsw_per_MB" || $1 == "total_s" { vals[$1] = vals[$1] " " $2; next }
		{ vals[$1 "_cpb"] = vals[$1 "_cpb"] " " $3; vals[$1 "_s"] = vals[$1 "_s"] " " $2; keys[$1] = 1 }
		END {
			printf "  %-16s %9s %8s %8s\n", "bucket", "CPU s", "share", "cyc/B"
			tot = med("total_s")
			busy = 0
			n = split("iperf3_user iperf3_kcopy iperf3_kernel cli_aead cli_user cli_kcopy cli_kcsum cli_kernel srv_aead srv_user srv_kcopy srv_kcsum srv_kernel softirq perf other idle k_copy k_csum k_tun k_udp k_gso k_gro k_veth k_tcp k_ip k_mem k_syscall k_sched k_lock k_kother", all, " ")
			n = 0
			for (i = 1; i in all; i++) if (all[i] in keys) order[++n] = all[i]
			for (i = 1; i <= n; i++) {
				b = order[i]
				if (b ~ /^k_/) continue
				printf "  %-16s %9.3f %7.1f%% %8.3f\n", b, med(b "_s"), 100 * med(b "_s") / tot, med(b "_cpb")
				if (b != "idle" && b != "other" && b != "perf") busy += med(b "_cpb")
			}
			printf "  kernel time on the path by subsystem (all processes but other/perf):\n"
			for (i = 1; i <= n; i++) {
				b = order[i]
				if (b !~ /^k_/) continue
				printf "  %-16s %9.3f %7.1f%% %8.3f\n", b, med(b "_s"), 100 * med(b "_s") / tot, med(b "_cpb")
			}
			line = sprintf("PROFILE peer=%s mbps=%.0f ctxsw_per_MB=%.1f busy_cpb=%.3f ceiling_mbps=%.0f", peer,
				med("mbps"), med("ctxsw_per_MB"), busy, busy > 0 ? 2 * mhz * 1e6 / busy * 8 / 1e6 : 0)
			for (i = 1; i <= n; i++) line = line sprintf(" %s_cpb=%.3f", order[i], med(order[i] "_cpb"))
			print line
		}'
}

# pair: sl_netns_pair, and with VETH_GRO=1 GRO switched on on both veth ends (ethtool; off by
# default on a veth, and without it UDP GRO has nothing to coalesce on this path).
pair() {
	sl_netns_pair
	if [ "${VETH_GRO:-0}" = 1 ]; then
		ip netns exec "$SL_NS_S" ethtool -K veth0 gro on >/dev/null
		ip netns exec "$SL_NS_C" ethtool -K veth0 gro on >/dev/null
		echo "  veth GRO on: $(ip netns exec "$SL_NS_S" ethtool -k veth0 | grep -E '^generic-receive-offload')"
	fi
}

profile_veth() {
	sl_init profile-veth
	pair
	SRV_PIDS="" CLI_PIDS=""
	for ((r = 1; r <= ROUNDS; r++)); do profile_round veth "$r" "$SL_ADDR_S" || true; done
}

profile_sluice() {
	[ -x "$SLUICE" ] || {
		echo "  sluice: no binary at $SLUICE"
		return 0
	}
	sl_init profile-sluice
	pair
	if ! SL_LOGLEVEL=warn sl_tunnel_pair profile; then
		echo "  sluice: tunnel did not come up"
		sl_tail "$SL_LOG_S" "$SL_LOG_C"
		return 1
	fi
	SRV_PIDS=$SL_PID_S CLI_PIDS=$SL_PID_C
	if [ -n "${SLUICE_CPUS:-}" ]; then
		read -r cs cc <<<"$SLUICE_CPUS"
		taskset -a -p -c "$cs" "$SL_PID_S" >/dev/null
		taskset -a -p -c "${cc:-$cs}" "$SL_PID_C" >/dev/null
		echo "  sluice server pinned to CPU $cs, client to CPU ${cc:-$cs}"
	fi
	for ((r = 1; r <= ROUNDS; r++)); do profile_round sluice "$r" "$SL_IN_S" || true; done
	# The offload counters: how many datagrams came as UDP GRO batches, and so on.
	echo "  sluice show, server: $(sl_show "$SL_IF_S" | jq -c '[paths(scalars) as $p
		| select(($p | last | tostring) | test("gro|super|offload"))
		| {($p | map(tostring) | join(".")): getpath($p)}] | add' 2>/dev/null)"
}

profile_wireguard_go() {
	local k s=wgS$SL_TAG c=wgC$SL_TAG
	if ! command -v wireguard-go >/dev/null || ! command -v wg >/dev/null; then
		echo "  wireguard_go: not installed (scripts/deps.sh --bench)"
		return 0
	fi
	sl_init profile-wg
	k=$SL_WORK
	pair
	(umask 077 && wg genkey >"$k/s.key" && wg genkey >"$k/c.key")
	sl_bg "$SL_NS_S" "$k/wg-server.log" env WG_PROCESS_FOREGROUND=1 wireguard-go "$s"
	SRV_PIDS=$SL_LAST_PID
	sl_bg "$SL_NS_C" "$k/wg-client.log" env WG_PROCESS_FOREGROUND=1 wireguard-go "$c"
	CLI_PIDS=$SL_LAST_PID
	sl_wait_for 5 test -S "/var/run/wireguard/$s.sock"
	sl_wait_for 5 test -S "/var/run/wireguard/$c.sock"
	wg set "$s" private-key "$k/s.key" listen-port 51820 \
		peer "$(wg pubkey <"$k/c.key")" allowed-ips 198.19.1.2/32
	wg set "$c" private-key "$k/c.key" \
		peer "$(wg pubkey <"$k/s.key")" endpoint "$SL_ADDR_S:51820" allowed-ips 198.19.1.0/24
	ip -n "$SL_NS_S" addr add 198.19.1.1/24 dev "$s"
	ip -n "$SL_NS_S" link set "$s" up
	ip -n "$SL_NS_C" addr add 198.19.1.2/24 dev "$c"
	ip -n "$SL_NS_C" link set "$c" up
	if ! sl_wait_for 10 sl_ping "$SL_NS_C" 198.19.1.1; then
		echo "  wireguard_go: tunnel did not come up"
		return 1
	fi
	for ((r = 1; r <= ROUNDS; r++)); do profile_round wireguard_go "$r" 198.19.1.1 || true; done
}

echo "profile: $ROUNDS x ${T}s single-stream iperf3 TCP under perf record -a -g -e cpu-clock -F $FREQ"
echo "  iperf3 on CPUs ${IPERF_CPUS:-any}, sluice on CPUs ${SLUICE_CPUS:-any}, veth GRO ${VETH_GRO:-0}"
echo "  machine: $(nproc) CPUs at $MHZ MHz, kernel $(uname -r), $(perf --version)"
echo "  started $(date -u '+%Y-%m-%d %H:%M') UTC, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for peer in ${PROFILE_PEERS:-veth sluice wireguard_go}; do
	echo "- $peer"
	(profile_"$peer") || echo "  $peer: failed (see above)"
	report "$peer"
done
echo "  load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
