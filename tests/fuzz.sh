#!/bin/bash
# Build every libFuzzer target (fuzz/fuzz_*.c, listed in fuzz/meson.build) with clang, ASan and
# UBSan in $FUZZ_BUILD, then run each for FUZZ_SECONDS on a throw-away copy of its seed corpus
# (fuzz/corpus/NAME/; the repository's stays small). One PASS:/FAIL: line per target, with its
# executions; a crashing input is kept in $FUZZ_BUILD/artifacts/. Run by `make test` (through
# tests/run.sh) and by `make fuzz`.
#
#   FUZZ_SECONDS   per target (default 30, as in `make test`; `make fuzz` passes 60; for hours:
#                  FUZZ_SECONDS=14400 make fuzz)
#   FUZZ_BUILD     build directory (default build-fuzz)
#   FUZZ_JOBS      targets run at once (default: one per online CPU)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
case $FUZZ_BUILD in
/*) ;;
*) FUZZ_BUILD=$ROOT/$FUZZ_BUILD ;;
esac
FUZZ_SECONDS=${FUZZ_SECONDS:-30}

if ! command -v clang >/dev/null 2>&1; then
	echo "FAIL: fuzz build (clang is not installed: scripts/deps.sh)"
	exit 1
fi
SETUP_LOG=/tmp/sluice-setup-$(basename "$FUZZ_BUILD").log
if [ ! -f "$FUZZ_BUILD/build.ninja" ] &&
	! CC=clang meson setup "$FUZZ_BUILD" "$ROOT" -Dfuzz=true -Dtests=false \
		-Db_sanitize=address,undefined -Db_lundef=false >"$SETUP_LOG" 2>&1; then
	tail -n 20 "$SETUP_LOG" | sed 's/^/    | /'
	echo "FAIL: fuzz build (meson setup; log $SETUP_LOG)"
	exit 1
fi
if ! ninja -C "$FUZZ_BUILD" >"$FUZZ_BUILD/ninja.log" 2>&1; then
	tail -n 30 "$FUZZ_BUILD/ninja.log" | sed 's/^/    | /'
	echo "FAIL: fuzz build (ninja; log $FUZZ_BUILD/ninja.log)"
	exit 1
fi
mkdir -p "$FUZZ_BUILD/artifacts"

# One target: its PASS:/FAIL: line (and a failure's log tail) go to $2, printed in order later.
run_target() {
	local bin=$1 out=$2 name work seeds execs cov
	name=${bin##*/fuzz_}
	work=$(mktemp -d "/tmp/sluice-fuzz-$name.XXXXXX")
	seeds=0
	if [ -d "$ROOT/fuzz/corpus/$name" ]; then
		cp -R "$ROOT/fuzz/corpus/$name/." "$work/"
		seeds=$(find "$work" -type f | wc -l)
	fi
	# UBSan findings abort, so that each one is a crash libFuzzer reports and keeps.
	if UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$bin" -max_total_time="$FUZZ_SECONDS" \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$FUZZ_BUILD/artifacts/$name-" "$work" >"$work.log" 2>&1; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work.log")
		cov=$(grep -o 'cov: [0-9]*' "$work.log" | tail -n 1)
		echo "PASS: fuzz_$name: ${execs:-?} executions in $FUZZ_SECONDS s, no crash" \
			"(${cov:-cov: ?}, corpus $seeds -> $(find "$work" -type f | wc -l) inputs)" >"$out"
		rm -f "$work.log"
	else
		{
			tail -n 40 "$work.log" | sed 's/^/    | /'
			echo "FAIL: fuzz_$name (log $work.log; the input is in $FUZZ_BUILD/artifacts/)"
		} >"$out"
	fi
	rm -rf "$work"
}

# libFuzzer runs one thread: FUZZ_JOBS targets at once (default one per online CPU) give each
# target the same FUZZ_SECONDS of one CPU in a fraction of the wall time.
FUZZ_JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
RESULTS=$(mktemp -d /tmp/sluice-fuzz-results.XXXXXX)
trap 'rm -rf "$RESULTS"' EXIT
targets=()
for bin in "$FUZZ_BUILD"/fuzz/fuzz_*; do
	[ -f "$bin" ] && [ -x "$bin" ] && targets+=("$bin")
done
running=0
for i in "${!targets[@]}"; do
	if [ "$running" -ge "$FUZZ_JOBS" ]; then
		wait -n
		running=$((running - 1))
	fi
	run_target "${targets[$i]}" "$RESULTS/$i" &
	running=$((running + 1))
done
wait
n=${#targets[@]}
failed=0
for i in "${!targets[@]}"; do
	if [ ! -s "$RESULTS/$i" ]; then
		echo "FAIL: fuzz_${targets[$i]##*/fuzz_} (no result: the runner died)"
		failed=$((failed + 1))
		continue
	fi
	cat "$RESULTS/$i"
	if grep -q '^FAIL: ' "$RESULTS/$i"; then
		failed=$((failed + 1))
	fi
done
if [ "$n" -eq 0 ]; then
	echo "FAIL: fuzz (no fuzz targets in $FUZZ_BUILD/fuzz)"
	exit 1
fi
[ "$failed" -eq 0 ]
