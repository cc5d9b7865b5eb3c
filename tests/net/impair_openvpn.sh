#!/bin/bash
# tests/net/impair.sh over the OpenVPN 2.6 wire: `sluice openvpn --config FILE` as server and as
# client (scripts/netns_wire.sh). Same cases, same checks; see impair.sh.
WIRE=openvpn exec bash "$(dirname "$0")/impair.sh" "$@"
