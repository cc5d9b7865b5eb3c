/* SPDX-License-Identifier: MIT */
/*
 * An AnyConnect server for stock openconnect clients (ocserv's dialect):
 * HTTPS with the config-auth XML exchange, passwords from an ocpasswd file,
 * a webvpn cookie per session, CONNECT /CSCOSSLC/tunnel answered with the
 * address from the pool, DNS, routes, DPD and keepalive; then CSTP over TLS.
 * Every client is a peer of the same engine (its address routed to it); IP
 * packets go through the engine's stream API.
 *
 * DTLS 1.2 (PSK-NEGOTIATE) when udp-port is set (server_dtls.h): data goes
 * over it while it answers, else over CSTP. Not here yet: legacy DTLS,
 * IPv6 pools, rekey. Runs on the engine's loop.
 */
#ifndef SL_CTL_ANYCONNECT_SERVER_H
#define SL_CTL_ANYCONNECT_SERVER_H

#include "core/loop.h"
#include "ctl/anyconnect/server_config.h"
#include "sluice/engine.h"

#include <stddef.h>
#include <stdint.h>

struct sl_acs;

struct sl_acs_stats {
	uint64_t connections, auth_ok, auth_failed, tunnels, tunnels_now;
	uint64_t passwd_stale; /* logins checked against a replaced password file (passwd_file.h) */
};

/* Listen and serve (cfg is copied; the pool's first host goes on the engine's device). */
int sl_acs_new(struct sl_acs **out, struct sl_loop *loop, struct sl_engine *engine,
	       const struct sl_acs_config *cfg, char *err, size_t err_len);
/* Say DISCONNECT to every tunnel, close everything, delete the peers. */
void sl_acs_free(struct sl_acs *s);
void sl_acs_stats(const struct sl_acs *s, struct sl_acs_stats *out);
/*
 * With dtls-datapath = engine the engine (SL_WIRE_DTLS) owns the UDP socket:
 * give its on_control datagrams and its events here (s may be NULL while
 * it starts).
 */
void sl_acs_control_input(struct sl_acs *s, const uint8_t *pkt, size_t len,
			  const struct sockaddr_storage *from);
void sl_acs_event(struct sl_acs *s, const struct sl_event *ev);

#endif
