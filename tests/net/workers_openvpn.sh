#!/bin/bash
# tests/net/workers.sh over the OpenVPN 2.6 wire: `sluice openvpn --config FILE --workers 2` as
# server and as client (scripts/netns_wire.sh), rx steered by peer-id. Same checks; see workers.sh.
WIRE=openvpn exec bash "$(dirname "$0")/workers.sh" "$@"
