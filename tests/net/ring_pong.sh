#!/bin/bash
# examples/ring_pong answers pings for a /24 through the packet ring, on a
# TUN device in a network namespace of its own.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
bin=$build/examples/ring_pong
ns=sl-ringpong-$$
pid=

cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 20); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT

fail() {
	echo "FAIL: ring_pong $*"
	exit 1
}

[ -x "$bin" ] || fail "no $bin (set BUILD)"
ip netns add "$ns" || fail "cannot create netns"
ip netns exec "$ns" "$bin" rp0 198.19.99.1 >/dev/null 2>&1 &
pid=$!

for _ in $(seq 50); do
	ip -n "$ns" -4 addr show dev rp0 2>/dev/null | grep -q 198.19.99.1/24 && break
	kill -0 "$pid" 2>/dev/null || fail "ring_pong exited early"
	sleep 0.1
done
ip -n "$ns" -4 addr show dev rp0 2>/dev/null | grep -q 198.19.99.1/24 ||
	fail "rp0 never got 198.19.99.1/24"

out=$(ip netns exec "$ns" ping -n -c 3 -W 2 198.19.99.2 2>&1) || true
received=$(printf '%s\n' "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
[ "${received:-0}" = 3 ] || fail "expected 3 echo replies, got ${received:-0}"
printf '%s\n' "$out" | grep -q 'from 198.19.99.2' || fail "replies not from 198.19.99.2"
echo "PASS: ring_pong"
