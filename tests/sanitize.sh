#!/bin/bash
# The unit tests and a few network tests again, on an ASan + UBSan build (clang, in $SAN_BUILD):
# memory errors, leaks (LeakSanitizer, also in the tunnel processes) and undefined behaviour
# fail the run.
# Every report is written to a log directory (ASAN_OPTIONS/UBSAN_OPTIONS log_path), which must
# stay empty: a report from a daemon that the test itself never notices still fails here.
#
# Network tests under the sanitizers run their tunnels with "Seccomp = no" and "User = root"
# (SL_CONF_EXTRA): a report needs system calls (reading /proc/self/maps, opening the log) that the
# allowlist rightly refuses, and a tunnel that has become nobody can neither open the report file
# nor be stopped by LeakSanitizer's ptrace (it is no longer dumpable); with both, a deliberate
# 77-byte leak in cmd_up was reported for every tunnel process, without them nothing was. The
# privilege drop and the filter themselves are tested on the normal build (net/privilege).
# `sluice openvpn` reads OpenVPN configs, not ours: the OpenVPN-wire tests and the interop test
# pass it "--user root --no-seccomp" (SL_OVPN_ARGS) for the same reason; without them a
# deliberate 77-byte leak in cmd_openvpn_run was not reported, with them it was, by every
# sluice openvpn process.
#
# The OpenVPN tests run short here (short_env): 500 resets per source in handshake_openvpn,
# three impairment cases of 1-2 MiB in impair_openvpn, and interop/openvpn's "short" cases
# (a sluice client over UDP and a sluice server over TCP against the stock openvpn, 2 MiB each).
#
#   SAN_BUILD      build directory (default build-asan)
#   SAN_NET_TESTS  network tests to run, tests/net/NAME or tests/DIR/NAME (default
#                  "tunnel_basic tamper_replay flood handshake handshake_openvpn impair_openvpn
#                  interop/openvpn")
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SAN_BUILD=${SAN_BUILD:-build-asan}
case $SAN_BUILD in
/*) ;;
*) SAN_BUILD=$ROOT/$SAN_BUILD ;;
esac
SAN_NET_TESTS=${SAN_NET_TESTS:-tunnel_basic tamper_replay flood handshake handshake_openvpn \
impair_openvpn interop/openvpn}
WORK=$(mktemp -d /tmp/sluice-sanitize.XXXXXX)
REPORTS=$WORK/reports # only sanitizer reports land here
mkdir "$REPORTS"
trap 'rm -rf "$WORK"' EXIT

if ! command -v clang >/dev/null 2>&1; then
	echo "FAIL: sanitizer build (clang is not installed: scripts/deps.sh)"
	exit 1
fi
SETUP_LOG=/tmp/sluice-setup-$(basename "$SAN_BUILD").log
if [ ! -f "$SAN_BUILD/build.ninja" ] &&
	! CC=clang meson setup "$SAN_BUILD" "$ROOT" -Dbuildtype=debug \
		-Db_sanitize=address,undefined -Db_lundef=false >"$SETUP_LOG" 2>&1; then
	tail -n 20 "$SETUP_LOG" | sed 's/^/    | /'
	echo "FAIL: sanitizer build (meson setup; log $SETUP_LOG)"
	exit 1
fi
if ! ninja -C "$SAN_BUILD" >"$SAN_BUILD/ninja.log" 2>&1; then
	tail -n 30 "$SAN_BUILD/ninja.log" | sed 's/^/    | /'
	echo "FAIL: sanitizer build (ninja; log $SAN_BUILD/ninja.log)"
	exit 1
fi

# reports_since NAME: FAIL with the reports written meanwhile, and clear them; 0 if none.
reports_since() {
	local f found=0
	for f in "$REPORTS"/*; do
		[ -f "$f" ] || continue
		found=1
		echo "    --- sanitizer report $(basename "$f") during $1"
		head -n 40 "$f" | sed 's/^/    | /'
		rm -f "$f"
	done
	return "$found"
}

export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$REPORTS/ubsan"
for bin in "$SAN_BUILD"/tests/test_*; do
	if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then
		continue
	fi
	name=$(basename "$bin")
	log=$WORK/$name.out
	t0=$SECONDS
	ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:log_path=$REPORTS/asan" \
		timeout -k 10 600 "$bin" >"$log" 2>&1
	rc=$?
	ok=$(grep -c '^\[       OK \] ' "$log")
	if [ "$rc" -eq 0 ] && reports_since "$name"; then
		echo "PASS: asan+ubsan $name ($ok cases, no report, $((SECONDS - t0)) s)"
	else
		grep -E '^\[  (FAILED|ERROR)   ?\]' "$log" | head -n 10 | sed 's/^/    /'
		echo "FAIL: asan+ubsan $name (status $rc)"
	fi
	rm -f "$log"
done

if [ "$(id -u)" -ne 0 ]; then
	echo "FAIL: asan+ubsan network tests (need root)"
	exit 1
fi

# short_env NAME: sets SHORT to the knobs that keep test NAME short here.
short_env() {
	case $1 in
	handshake_openvpn) SHORT=(OVPN_RESETS=500) ;;
	impair_openvpn) SHORT=(IMPAIR_MIB=2 "IMPAIR_CASES=loss1,reorder10,combined") ;;
	interop/openvpn) SHORT=(OVPN_CASES=short OVPN_MIB=2) ;;
	*) SHORT=() ;;
	esac
}

for t in $SAN_NET_TESTS; do
	case $t in
	*/*) script=$ROOT/tests/$t.sh name=$t ;;
	*) script=$ROOT/tests/net/$t.sh name=net/$t ;;
	esac
	if [ ! -f "$script" ]; then
		echo "FAIL: asan+ubsan $name (no such test)"
		continue
	fi
	out=$WORK/net-${t//\//-}.out
	short_env "$t"
	t0=$SECONDS
	# (RSS bounds get 64 MiB: ASan keeps freed memory in quarantine)
	env BUILD="$SAN_BUILD" SL_CONF_EXTRA=$'Seccomp = no\nUser = root' \
		SL_OVPN_ARGS="--user root --no-seccomp" SL_RSS_SLACK_KIB=65536 \
		ASAN_OPTIONS="detect_leaks=1:log_path=$REPORTS/asan" "${SHORT[@]}" \
		timeout -k 30 900 bash "$script" >"$out" 2>&1
	rc=$?
	pass=$(grep -c '^PASS: ' "$out")
	fail=$(grep -c '^FAIL: ' "$out")
	grep -E '^(FAIL: |    MEASURED)' "$out" | sed 's/^/    /'
	if [ "$rc" -eq 0 ] && [ "$fail" -eq 0 ] && reports_since "$name"; then
		echo "PASS: asan+ubsan $name ($pass checks${SHORT:+, ${SHORT[*]}}, no report," \
			"$((SECONDS - t0)) s)"
	else
		echo "FAIL: asan+ubsan $name (status $rc, $fail failed checks)"
	fi
	rm -f "$out"
done
