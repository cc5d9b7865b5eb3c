#!/bin/bash
# Instruction counts of the engine's data path, repeatable to the instruction: compare the last
# line before and after an optimisation. Runs $BUILD/bench/instr (bench/instr.c: two engines on
# one loop, socketpairs as TUN, UDP on 127.0.0.1, AES-256-GCM, 1400-byte IPv4 packets A -> B in
# batches of 32, every packet checked) under callgrind with N1 and N2 packets, and divides the
# differences by N2 - N1, so set-up, key installation and teardown cancel out (N1 and N2 are whole
# batches, so the difference is too). Prints where the instructions go (inclusive and self, per
# function, outside the AEAD; who calls memcpy) and, last,
#   INSTR per_packet_outside_aead=N memcpy_bytes_per_packet=M
# Compare numbers from the same machine, compiler, build type and OpenSSL only. Under valgrind
# OpenSSL sees valgrind's CPU (no AVX-512/VAES), so the AEAD's own count is not the native one.
#
# per_packet_outside_aead: instructions per packet inside sl_loop_run_once (everything both
#   engines do: A's TUN read, route, ESP seal, sendmmsg; B's recvmmsg, SPI lookup, replay, ESP
#   open, source check, TUN write; the loop and epoll), minus those inside sl_aead_seal and
#   sl_aead_open (all inclusive). The harness's own work (making, sending, reading and checking
#   packets) happens outside sl_loop_run_once and is not in it. Valgrind counts user-space
#   instructions only: for a syscall it sees the libc wrapper, never the kernel's work (copying
#   into socket buffers, loopback UDP, wake-ups), which is most of a real packet's cost. So this
#   number tracks our code's CPU work, not throughput.
# memcpy_bytes_per_packet: bytes passed to memcpy/memmove per packet while the engines ran.
#   callgrind counts instructions and calls, not bytes, so instr counts them itself: it defines
#   memcpy, memmove, __memcpy_chk and __memmove_chk, which takes precedence over glibc's for
#   libsluice (linked in statically) and for shared libraries (libcrypto) alike; each call adds
#   its length to a counter (only inside sl_loop_run_once), then glibc copies. Not seen: copies
#   the compiler inlined (small constant sizes: sockaddrs, nonces) and glibc's calls to itself.
#   A payload copy is a call with a variable length: adding memcpy(tmp, pk->data, pk->len) to
#   tx_packet raises the number by exactly 1400 (tried).
# Each N runs twice: once whole, once collecting only inside sl_aead_seal/sl_aead_open (see
# profile below), which splits every function's cost into its AEAD and non-AEAD parts.
#
# INSTR_MODE=gso (the default) measures the path a tunnel takes with its default Offload = yes:
#   A's TUN stand-in hands over TCP super-packets of 48 segments (1400-byte packets once cut),
#   A cuts and seals them straight from the super-packet and sends UDP GSO, B receives UDP GRO,
#   opens in place and writes coalesced TCP super-packets; a packet is a segment. Batches are
#   super-packets (INSTR_BATCH=2). INSTR_MODE=packet measures one packet per system call
#   (Offload = no, or a kernel without offloads), batches of INSTR_BATCH=32 packets.
#
# Usage: bench/instr.sh   (env: BUILD=build, INSTR_MODE=gso|packet, INSTR_N1, INSTR_N2 (packets;
#                         gso: 3072 and 15360, packet: 2048 and 12288), INSTR_BATCH,
#                         INSTR_TOP=10 table rows; four callgrind runs, about 15 s)
# Needs valgrind (callgrind, callgrind_annotate); no root.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in
/*) ;;
*) BUILD=$ROOT/$BUILD ;;
esac
BIN=$BUILD/bench/instr
MODE=${INSTR_MODE:-gso}
case $MODE in
gso) N1=${INSTR_N1:-3072} N2=${INSTR_N2:-15360} BATCH=${INSTR_BATCH:-2} ARG=gso ;;
packet) N1=${INSTR_N1:-2048} N2=${INSTR_N2:-12288} BATCH=${INSTR_BATCH:-32} ARG= ;;
*)
	echo "instr.sh: INSTR_MODE is gso or packet, not '$MODE'" >&2
	exit 1
	;;
esac
TOP=${INSTR_TOP:-10}

for cmd in valgrind callgrind_annotate awk; do
	if ! command -v "$cmd" >/dev/null; then
		echo "instr.sh: $cmd not found (apt-get install valgrind)" >&2
		exit 1
	fi
done
if [ ! -x "$BIN" ]; then
	echo "instr.sh: no $BIN (build first: make, or meson setup + ninja with BUILD=dir)" >&2
	exit 1
fi
if [ "$N2" -le "$N1" ]; then
	echo "instr.sh: INSTR_N2 ($N2) must be larger than INSTR_N1 ($N1)" >&2
	exit 1
fi
W=$(mktemp -d /tmp/sluice-instr.XXXXXX)
trap 'rm -rf "$W"' EXIT

# Both run from /: callgrind_annotate shortens file names under its working directory, and does
# so for some records of a function and not others, which would split it in two.
# profile N: the whole process. profile N aead: only what runs inside sl_aead_seal/sl_aead_open
# (collection is switched on at their entry and off at their exit), so that a function's self
# cost outside the AEAD (a libc strcmp called by OpenSSL is inside it) is the difference.
profile() {
	local n=$1 tag=${2:-all} opts=(--collect-atstart=yes)
	if [ "$tag" = aead ]; then
		opts=(--collect-atstart=no --toggle-collect=sl_aead_seal_parts --toggle-collect=sl_aead_open)
	fi
	if ! (cd / && valgrind --tool=callgrind --callgrind-out-file="$W/cg.$tag.$n" --dump-instr=no \
		"${opts[@]}" "$BIN" "$n" "$BATCH" $ARG) >"$W/out.$tag.$n" 2>"$W/vg.$tag.$n"; then
		echo "instr.sh: instr $n failed under valgrind:" >&2
		tail -n 20 "$W/vg.$tag.$n" >&2
		exit 1
	fi
	(cd / && callgrind_annotate --auto=no --inclusive=yes --threshold=100 "$W/cg.$tag.$n") \
		>"$W/incl.$tag.$n"
	(cd / && callgrind_annotate --auto=no --inclusive=no --threshold=100 "$W/cg.$tag.$n") \
		>"$W/self.$tag.$n"
	(cd / && callgrind_annotate --auto=no --tree=caller --threshold=100 "$W/cg.$tag.$n") \
		>"$W/tree.$tag.$n"
}

# annotate_rows FILE: "cost<TAB>label" for every function row of a callgrind_annotate listing.
annotate_rows() {
	awk '/^ *[0-9,]+ +\([ 0-9.]+%\)  / {
		cost = $1; gsub(",", "", cost)
		label = $0; sub(/^ *[0-9,]+ +\([ 0-9.]+%\) +/, "", label)
		print cost "\t" label
	}' "$1"
}

# copy_callers FILE: "calls<TAB>caller" for the callers of instr's memcpy/memmove wrappers.
copy_callers() {
	awk '/^$/ { n = 0; next }
	/^ *[0-9,]+ +\([ 0-9.]+%\) +< / { row[++n] = $0; next }
	/^ *[0-9,]+ +\([ 0-9.]+%\) +\* / {
		if ($0 ~ /bench\/instr\.c:(memcpy|memmove|__memcpy_chk|__memmove_chk) /)
			for (i = 1; i <= n; i++) {
				r = row[i]; sub(/^ *[0-9,]+ +\([ 0-9.]+%\) +< +/, "", r)
				calls = r; sub(/.* \(/, "", calls); sub(/x\).*/, "", calls); gsub(",", "", calls)
				sub(/ \([0-9,]+x\)/, "", r)
				print calls "\t" r
			}
		n = 0
	}' "$1"
}

if [ "$MODE" = gso ]; then
	echo "instr: callgrind, offload path: $N1 and $N2 packets of 1400 bytes cut from TCP" \
		"super-packets of 48, $BATCH super-packets per round, A -> B, AES-256-GCM ($BIN)"
else
	echo "instr: callgrind, packet by packet: $N1 and $N2 packets of 1400 bytes in batches" \
		"of $BATCH, A -> B, AES-256-GCM ($BIN)"
fi
for n in "$N1" "$N2"; do
	for tag in all aead; do
		profile "$n" "$tag"
		annotate_rows "$W/incl.$tag.$n" >"$W/incl.$tag.$n.tsv"
		annotate_rows "$W/self.$tag.$n" >"$W/self.$tag.$n.tsv"
	done
	copy_callers "$W/tree.all.$n" >"$W/callers.$n.tsv"
done

# One row per function: callgrind_annotate lists a function once per source file its code came
# from (inlined header code, e.g. bytes.h, gets its own row), so self costs are summed over the
# rows and the inclusive cost is the largest row (the function's own file, reached by the call).
awk -v n1="$N1" -v n2="$N2" -v w="$W" -v top="$TOP" '
function basename(p) { sub(/.*\//, "", p); return p }
# "file:function [object]" -> "function" (unnamed code: "0x... [object]"); the parts in fn_file,
# fn, fn_obj. Rows of inlined header code come without the object.
function fkey(l,   i) {
	fn_obj = ""
	if (match(l, / \[[^]]*\]$/)) { fn_obj = substr(l, RSTART + 2, RLENGTH - 3); l = substr(l, 1, RSTART - 1) }
	i = index(l, ":")
	if (!i) { fn_file = ""; fn = l; return l }
	fn_file = substr(l, 1, i - 1)
	fn = substr(l, i + 1)
	return fn_file == "???" ? fn " [" basename(fn_obj) "]" : fn
}
# The harness: instr.c (but for its copy wrappers, which the engine calls) and its send/recv.
function harness_row() {
	if (fn_file ~ /bench\/instr\.c$/)
		return fn !~ /^(memcpy|memmove|__memcpy_chk|__memmove_chk|counted_copy)$/
	return fn ~ /^(__libc_)?(send|recv)$/
}
function is_copy(k) {
	return k ~ /^(__)?(memcpy|memmove|mempcpy|bcopy)([_@].*)?$/ || k == "counted_copy"
}
# load(file, arr, sign, mode): arr[function] += sign * (sum or largest of its rows).
function load(file, arr, sign, mode,   line, t, k, v, run) {
	while ((getline line < file) > 0) {
		split(line, t, "\t")
		k = fkey(t[2]); v = t[1] + 0
		if (harness_row()) harness[k] = 1
		if (v > big[k]) {
			big[k] = v
			show[k] = fn " (" basename(fn_file == "???" ? fn_obj : fn_file) ")"
		}
		if (mode == "sum") run[k] += v
		else if (v > run[k]) run[k] = v
	}
	close(file)
	for (k in run) arr[k] += sign * run[k]
}
function counter(file, key,   line) {
	getline line < file; close(file)
	if (!match(line, key "=[0-9]+")) return -1
	return substr(line, RSTART + length(key) + 1, RLENGTH - length(key) - 1) + 0
}
BEGIN {
	pk = n2 - n1
	if (counter(w "/out.all." n1, "packets") != n1 || counter(w "/out.all." n2, "packets") != n2) {
		print "instr.sh: instr did not report all packets" > "/dev/stderr"; exit 1
	}
	load(w "/incl.all." n1 ".tsv", incl, -1, "max"); load(w "/incl.all." n2 ".tsv", incl, 1, "max")
	load(w "/self.all." n1 ".tsv", self, -1, "sum"); load(w "/self.all." n2 ".tsv", self, 1, "sum")
	load(w "/incl.aead." n1 ".tsv", aincl, -1, "max"); load(w "/incl.aead." n2 ".tsv", aincl, 1, "max")
	load(w "/self.aead." n1 ".tsv", aself, -1, "sum"); load(w "/self.aead." n2 ".tsv", aself, 1, "sum")
	load(w "/callers." n1 ".tsv", callers, -1, "sum"); load(w "/callers." n2 ".tsv", callers, 1, "sum")
	engine = -1; aead = 0; copy = 0; total = incl["PROGRAM TOTALS"]
	for (k in incl) {
		if (k == "sl_loop_run_once") engine = incl[k]
		if (k == "sl_aead_seal_parts" || k == "sl_aead_open") aead += incl[k]
	}
	for (k in self) if (is_copy(k)) copy += self[k]
	if (engine <= 0 || aead <= 0) {
		print "instr.sh: no sl_loop_run_once or sl_aead_* in the profile (built without symbols?)" > "/dev/stderr"
		exit 1
	}
	# The AEAD-only profile must account for exactly the inclusive cost of sl_aead_*.
	d = aincl["PROGRAM TOTALS"] - aead
	if (d < -0.001 * aead || d > 0.001 * aead) {
		printf "instr.sh: AEAD-only profile has %d instructions, sl_aead_* inclusive %d\n", \
			aincl["PROGRAM TOTALS"], aead > "/dev/stderr"
		exit 1
	}
	bytes = counter(w "/out.all." n2, "copy_bytes") - counter(w "/out.all." n1, "copy_bytes")
	calls = counter(w "/out.all." n2, "copy_calls") - counter(w "/out.all." n1, "copy_calls")

	printf "  per packet (A and B together): engine %.0f instructions = AEAD %.0f + other %.0f;\n", \
		engine / pk, aead / pk, (engine - aead) / pk
	printf "  memcpy/memmove %.1f calls, %.1f bytes, %.0f instructions (AEAD included);" \
		" whole process %.0f\n", calls / pk, bytes / pk, copy / pk, total / pk

	# Table 1: inclusive cost outside the AEAD (the AEAD-only profile gives every caller of
	# sl_aead_* the part of its inclusive cost that is AEAD), with the AEAD part beside it.
	n = 0
	for (k in incl) {
		c = incl[k] - aincl[k]
		if (c <= 0 || incl[k] > engine || k in harness) continue
		row[++n] = sprintf("%012d\t%s\t%s\t%s", c, show[k], self[k] - aself[k], aincl[k])
	}
	printf "\n  top %d by inclusive instructions per packet outside the AEAD (%% of other)\n", top
	printf "  %10s %10s %10s  %s\n", "incl", "self", "+AEAD", "function (file)"
	emit(row, n, top, engine - aead)
	delete row

	# Table 2: self cost outside the AEAD (whole minus AEAD-only profile), harness left out.
	n = 0
	for (k in self) {
		c = self[k] - aself[k]
		if (c <= 0 || k == "PROGRAM TOTALS" || k in harness) continue
		row[++n] = sprintf("%012d\t%s", c, show[k])
	}
	printf "\n  top %d by self instructions per packet outside the AEAD (%% of other)\n", top
	printf "  %10s  %s\n", "self", "function (file)"
	emit(row, n, top, engine - aead)
	delete row

	n = 0
	for (k in callers) if (callers[k] > 0) row[++n] = sprintf("%012d\t%s", callers[k], show[k])
	if (n) {
		printf "\n  memcpy/memmove calls per packet by caller (bytes total above)\n"
		emit(row, n, top, -1)
	}
	printf "\nINSTR per_packet_outside_aead=%.0f memcpy_bytes_per_packet=%.0f\n", \
		(engine - aead) / pk, bytes / pk
}
# Print the k largest of rows "cost<TAB>name[<TAB>self<TAB>aead]" per packet, as a share of base
# (none if base < 0). Selection sort: the lists are a few hundred rows.
function emit(r, n, k, base,   i, j, best, t, c) {
	for (i = 1; i <= k && i <= n; i++) {
		best = i
		for (j = i + 1; j <= n; j++) if (r[j] > r[best]) best = j
		t = r[i]; r[i] = r[best]; r[best] = t
		split(r[i], c, "\t")
		if (base < 0)
			printf "  %10.2f  %s\n", c[1] / pk, c[2]
		else if (c[3] == "")
			printf "  %10.0f  %s (%.1f%%)\n", c[1] / pk, c[2], 100 * c[1] / base
		else
			printf "  %10.0f %10.0f %10.0f  %s (%.1f%%)\n", c[1] / pk, c[3] / pk, c[4] / pk, \
				c[2], 100 * c[1] / base
	}
}
'
