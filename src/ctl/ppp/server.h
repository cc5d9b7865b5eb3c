/* SPDX-License-Identifier: MIT */
/*
 * PPP over TLS, the far end: what openconnect --protocol=nullppp connects
 * to (a TLS listener that speaks PPP right after the handshake, no HTTP).
 * The framing is told from the client's first byte: 0x7E is RFC 1662 HDLC
 * (openconnect's cookie "hdlc"), anything else RFC 1661 frames, one per
 * TLS record. One client at a time; it gets peer_ip4.
 *
 * IPv6 (RFC 5072): IPV6CP gives the client a link-local fe80::/64 address
 * from a random interface identifier (ours is local_ifid); with a prefix6
 * configured we also act as the link's router and answer its Router
 * Solicitations with that /64 (RFC 4861), from which it configures a
 * global address by SLAAC. fe80::/64 and prefix6/64 are routed to it.
 *
 * IP packets go through the engine's stream API: the engine hands us what
 * it routes to the peer (stream_send), we frame it into the TLS stream, and
 * we give it what arrives (sl_engine_stream_input). Runs on the engine's loop.
 */
#ifndef SL_CTL_PPP_SERVER_H
#define SL_CTL_PPP_SERVER_H

#include "core/loop.h"
#include "sluice/engine.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct sl_ppp_server_cfg {
	struct sockaddr_storage listen;
	const char *cert, *key; /* PEM files */
	uint8_t local_ip4[4], peer_ip4[4];
	uint8_t dns[2][4];
	bool ipv6;	       /* run IPV6CP and carry IPv6 */
	uint8_t local_ifid[8]; /* ours, fe80::local_ifid on the TUN; all zero: random */
	bool have_prefix6;     /* advertise prefix6/64 for SLAAC and route it to the peer */
	uint8_t prefix6[16];
	uint32_t mtu;		  /* told to the peer in Router Advertisements; 0: not told */
	uint32_t echo_interval_s; /* LCP echo as DPD; 0 = off */
};

struct sl_ppp_server_stats {
	uint64_t sessions, frames_in, frames_out, bad_fcs, bad_frames, rejected_protocols;
	uint64_t no_session_drops;
	uint64_t router_solicits, router_adverts; /* RS answered, RA sent (with prefix6) */
};

struct sl_ppp_server;

/* Listen and serve. 0, or -errno with one line in err. */
int sl_ppp_server_new(struct sl_ppp_server **out, struct sl_loop *loop, struct sl_engine *engine,
		      const struct sl_ppp_server_cfg *cfg, char *err, size_t err_len);
/* Terminate the session (Terminate-Request), close everything, delete the peer. */
void sl_ppp_server_free(struct sl_ppp_server *s);
void sl_ppp_server_stats(const struct sl_ppp_server *s, struct sl_ppp_server_stats *out);

#endif
