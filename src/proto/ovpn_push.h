/* SPDX-License-Identifier: MIT */
/*
 * PUSH_REPLY of an OpenVPN 2.6 server (openvpn:push.c, options.c): the
 * options a client takes from it. Text, one message:
 *
 *   PUSH_REPLY,route-gateway 10.8.0.1,topology subnet,ping 10,ping-restart 120,
 *   ifconfig 10.8.0.2 255.255.255.0,peer-id 0,cipher AES-256-GCM,
 *   protocol-flags cc-exit tls-ekm dyn-tls-crypt,tun-mtu 1500[,push-continuation 2]
 *
 * A long reply comes in parts; parse each into the same struct (the last
 * has push-continuation 1, or none). Pure; fuzzed by fuzz/fuzz_ovpn_push.c.
 */
#ifndef SL_PROTO_OVPN_PUSH_H
#define SL_PROTO_OVPN_PUSH_H

#include "proto/ovpn_data.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_OVPN_PUSH_ROUTES_MAX 64

enum sl_ovpn_topology {
	SL_OVPN_TOPO_NET30, /* OpenVPN's default: ifconfig LOCAL REMOTE */
	SL_OVPN_TOPO_P2P,
	SL_OVPN_TOPO_SUBNET, /* ifconfig LOCAL NETMASK */
};

struct sl_ovpn_route4 {
	uint8_t net[4], mask[4];
};

struct sl_ovpn_route6 {
	uint8_t net[16];
	uint8_t plen;
};

struct sl_ovpn_push {
	bool has_ifconfig;
	uint8_t ifconfig_local[4];
	uint8_t ifconfig_arg2[4]; /* netmask (subnet) or remote end (net30, p2p) */
	bool has_ifconfig6;
	uint8_t ifconfig6[16];
	uint8_t ifconfig6_plen;
	enum sl_ovpn_topology topology;
	bool has_route_gateway;
	uint8_t route_gateway[4];
	unsigned n_routes, n_routes6;
	struct sl_ovpn_route4 routes[SL_OVPN_PUSH_ROUTES_MAX];
	struct sl_ovpn_route6 routes6[SL_OVPN_PUSH_ROUTES_MAX];
	bool redirect_gateway;	/* redirect-gateway: a default route over the tunnel */
	int ping, ping_restart; /* seconds, -1 when not pushed */
	uint32_t peer_id;	/* SL_OVPN_PEER_ID_NONE when not pushed */
	char cipher[32];	/* empty when not pushed */
	bool tls_ekm;		/* key-derivation tls-ekm, or protocol-flags tls-ekm */
	bool cc_exit;		/* protocol-flags cc-exit */
	bool dyn_tls_crypt;	/* protocol-flags dyn-tls-crypt */
	int tun_mtu;		/* 0 when not pushed */
	enum sl_ovpn_comp comp;
	bool comp_pushed;     /* comp-lzo / compress was in the reply (else the client's own) */
	char unsupported[64]; /* first pushed option sluice cannot honour (e.g. "compress lz4") */
	int continuation;     /* of the last part: 2 = more to come, 1 or 0 = complete */
	unsigned n_ignored;   /* options understood as harmless and skipped (dhcp-option ...) */
};

/* Empty result: nothing pushed yet. */
void sl_ovpn_push_init(struct sl_ovpn_push *p);

/*
 * Parse one PUSH_REPLY message (len bytes, no NUL needed) into p.
 * Returns 0, or -EBADMSG (not a PUSH_REPLY, or a known option with bad
 * arguments; p keeps what came before it).
 */
int sl_ovpn_push_parse(const char *msg, size_t len, struct sl_ovpn_push *p);

/* True when all parts arrived. */
static inline bool sl_ovpn_push_complete(const struct sl_ovpn_push *p)
{
	return p->continuation != 2;
}

#endif
