#!/bin/sh
# A vpnc-script stand-in for the interop tests: records the environment of every call in
# $VPNC_RECORD_DIR/env.<reason> (the variables vpnc-script reads, sorted, one VAR=value a line),
# and on "connect" does what
# vpnc-script does at its simplest: address, MTU, up, split-include routes (or a default route
# when there are none); for IPv6 the address (INTERNAL_IP6_NETMASK, else INTERNAL_IP6_ADDRESS/128)
# and, without CISCO_IPV6_SPLIT_INC, a default route, as vpnc-script does. Used with openconnect and with `sluice connect --script`.
set -eu
dir=${VPNC_RECORD_DIR:-/tmp}
env | grep -E '^(reason|TUNDEV|VPNGATEWAY|VPNPID|LOG_LEVEL|IDLE_TIMEOUT|INTERNAL_IP[46]_[A-Z0-9_]*|CISCO_[A-Z0-9_]*)=' |
	LC_ALL=C sort >"$dir/env.${reason:-none}" || true
case ${reason:-} in
connect)
	ip link set dev "$TUNDEV" up mtu "${INTERNAL_IP4_MTU:-1400}"
	if [ -n "${INTERNAL_IP4_ADDRESS:-}" ]; then
		ip addr add "$INTERNAL_IP4_ADDRESS/32" dev "$TUNDEV"
	fi
	n=${CISCO_SPLIT_INC:-0}
	i=0
	while [ "$i" -lt "$n" ]; do
		eval "addr=\$CISCO_SPLIT_INC_${i}_ADDR len=\$CISCO_SPLIT_INC_${i}_MASKLEN"
		# shellcheck disable=SC2154 # set by the eval
		ip route replace "$addr/$len" dev "$TUNDEV"
		i=$((i + 1))
	done
	if [ "$n" -eq 0 ]; then
		ip route replace default dev "$TUNDEV"
	fi
	a6=${INTERNAL_IP6_NETMASK:-${INTERNAL_IP6_ADDRESS:+$INTERNAL_IP6_ADDRESS/128}}
	if [ -n "$a6" ]; then
		ip -6 addr add "$a6" dev "$TUNDEV"
		[ -n "${CISCO_IPV6_SPLIT_INC:-}" ] || ip -6 route replace default dev "$TUNDEV" metric 1
	fi
	;;
esac
exit 0
