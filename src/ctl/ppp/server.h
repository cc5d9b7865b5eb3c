/* SPDX-License-Identifier: MIT */
/*
 * PPP over TLS, the far end: what openconnect --protocol=nullppp connects
 * to (a TLS listener that speaks PPP right after the handshake, no HTTP).
 * The framing is told from the client's first byte: 0x7E is RFC 1662 HDLC
 * (openconnect's cookie "hdlc"), anything else RFC 1661 frames, one per
 * TLS record. One client at a time; it gets peer_ip4.
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
	bool ipv6;		  /* run IPV6CP (interface identifiers only: no IPv6 data yet) */
	uint32_t echo_interval_s; /* LCP echo as DPD; 0 = off */
};

struct sl_ppp_server_stats {
	uint64_t sessions, frames_in, frames_out, bad_fcs, bad_frames, rejected_protocols;
	uint64_t no_session_drops;
};

struct sl_ppp_server;

/* Listen and serve. 0, or -errno with one line in err. */
int sl_ppp_server_new(struct sl_ppp_server **out, struct sl_loop *loop, struct sl_engine *engine,
		      const struct sl_ppp_server_cfg *cfg, char *err, size_t err_len);
/* Terminate the session (Terminate-Request), close everything, delete the peer. */
void sl_ppp_server_free(struct sl_ppp_server *s);
void sl_ppp_server_stats(const struct sl_ppp_server *s, struct sl_ppp_server_stats *out);

#endif
