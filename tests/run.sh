#!/bin/bash
# Run every test: the cmocka unit test binaries ($BUILD/tests/test_*), then the network tests
# (tests/net/*.sh, as root). Ends with the line "N passed, N failed"; exits 1 if any failed.
#
#   tests/run.sh [FILTER]     FILTER: a substring of the test names to run (e.g. "replay")
#
# A unit binary counts its "[       OK ]" and "[  FAILED  ]" cases; one that crashes or exits
# non-zero without a FAILED line counts as one failure. A network script counts its "PASS:" and
# "FAIL:" lines; one that exits non-zero (or times out) without a FAIL line counts as one failure.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in
/*) ;;
*) BUILD=$ROOT/$BUILD ;;
esac
export BUILD
FILTER=${1:-}
UNIT_TIMEOUT=${UNIT_TIMEOUT:-300}
NET_TIMEOUT=${NET_TIMEOUT:-600}

passed=0
failed=0
LOGDIR=$(mktemp -d /tmp/sluice-tests.XXXXXX)
trap 'rm -rf "$LOGDIR"' EXIT

matches() {
	[ -z "$FILTER" ] || [[ $1 == *"$FILTER"* ]]
}

# Indented, so a log line never reads as one of our own PASS:/FAIL: lines.
show_tail() {
	tail -n "${2:-40}" "$1" | sed 's/^/    | /'
}

run_unit() {
	local bin=$1 name log rc ok fail
	name=$(basename "$bin")
	log=$LOGDIR/$name.log
	# (bash's own "Aborted"/"Segmentation fault" notice is muted; the count below reports it)
	{ timeout -k 10 "$UNIT_TIMEOUT" "$bin" >"$log" 2>&1; } 2>/dev/null
	rc=$?
	ok=$(grep -c '^\[       OK \] ' "$log")
	# cmocka repeats each failed case in its summary: count distinct names, not lines.
	fail=$(grep '^\[  FAILED  \] ' "$log" | grep -v 'test(s)' | sort -u | wc -l)
	printf '  %-28s %3d ok, %d failed\n' "$name" "$ok" "$((fail > 0 || rc == 0 ? fail : 1))"
	if [ "$fail" -gt 0 ]; then
		grep -E '^\[  (FAILED|ERROR)   ?\]|^\[   LINE   \]' "$log" | grep -v 'test(s)' |
			awk '!seen[$0]++' | head -n 40 | sed 's/^/    /'
	elif [ "$rc" -ne 0 ]; then
		fail=1
		echo "    exited with status $rc and no FAILED case (crash or timeout); last lines:"
		show_tail "$log" 20
	fi
	passed=$((passed + ok))
	failed=$((failed + fail))
}

run_net() {
	local script=$1 name log rc ok fail
	name=$(basename "$script" .sh)
	log=$LOGDIR/net-$name.log
	echo "  net/$name:"
	timeout -k 30 "$NET_TIMEOUT" bash "$script" 2>&1 | tee "$log" | sed 's/^/    /'
	rc=${PIPESTATUS[0]}
	ok=$(grep -c '^PASS: ' "$log")
	fail=$(grep -c '^FAIL: ' "$log")
	if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
		fail=1
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			echo "    FAILED: net/$name timed out after $NET_TIMEOUT s"
		else
			echo "    FAILED: net/$name exited with status $rc without a FAIL line"
		fi
	fi
	passed=$((passed + ok))
	failed=$((failed + fail))
}

units=()
for bin in "$BUILD"/tests/test_*; do
	[ -f "$bin" ] && [ -x "$bin" ] && matches "$(basename "$bin")" && units+=("$bin")
done
nets=()
for script in "$ROOT"/tests/net/*.sh "$ROOT"/tests/interop/*.sh; do
	[ -f "$script" ] && matches "$(basename "$script" .sh)" && nets+=("$script")
done

# Last, the fuzz targets (clang build, FUZZ_SECONDS each) and the ASan+UBSan build running the unit
# tests and some network tests; their PASS:/FAIL: lines count like a network script's.
extras=()
for script in "$ROOT"/tests/fuzz.sh "$ROOT"/tests/sanitize.sh; do
	[ -f "$script" ] && matches "$(basename "$script" .sh)" && extras+=("$script")
done

if [ -z "$FILTER" ] && [ "${#units[@]}" -eq 0 ]; then
	echo "no unit test binaries in $BUILD/tests (run make first)"
	failed=$((failed + 1))
fi

echo "== unit tests (${#units[@]} binaries)"
for bin in "${units[@]}"; do
	run_unit "$bin"
done

echo "== network tests (${#nets[@]} scripts)"
if [ "${#nets[@]}" -gt 0 ] && [ "$(id -u)" -ne 0 ]; then
	echo "  network tests need root (namespaces, TUN); skipped, and counted as failed"
	failed=$((failed + ${#nets[@]}))
else
	for script in "${nets[@]}"; do
		run_net "$script"
	done
fi

if [ "${#extras[@]}" -gt 0 ]; then
	echo "== fuzz targets and sanitizer builds (${#extras[@]} scripts)"
	for script in "${extras[@]}"; do
		NET_TIMEOUT=${EXTRA_TIMEOUT:-1800} run_net "$script"
	done
fi

if [ $((passed + failed)) -eq 0 ]; then
	echo "no test matched '${FILTER}'"
	failed=1
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
