/* SPDX-License-Identifier: MIT */
/*
 * An AnyConnect client (openconnect's protocol, for ocserv and Cisco ASA):
 * HTTPS auth (config-auth XML, username/password), CONNECT
 * /CSCOSSLC/tunnel, CSTP over TLS with DPD and keepalive, reconnect with the
 * cookie on a dead peer and at rekey time, the network set-up through a
 * vpnc-script (same environment as openconnect) or netlink. IP packets go
 * through the engine's stream API: stream_send frames them as CSTP DATA.
 * Runs on the engine's loop.
 *
 * DTLS (PSK-NEGOTIATE, handshake by OpenSSL) carries data when it is up:
 * the engine, made with wire SL_WIRE_DTLS, seals and opens its records in
 * place (see dtls.h); the engine's events and what it hands up from the UDP
 * socket come to sl_ac_client_on_event and sl_ac_client_on_udp.
 */
#ifndef SL_CTL_ANYCONNECT_CLIENT_H
#define SL_CTL_ANYCONNECT_CLIENT_H

#include "core/loop.h"
#include "sluice/engine.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct sl_vpnc_runner;

struct sl_ac_client_cfg {
	char host[256];			/* as in the URL: Host header, group-access */
	char hostname[256];		/* without the port: SNI and certificate name */
	struct sockaddr_storage server; /* resolved address and port */
	char path[128];			/* "/" or "/usergroup" */
	char user[128];
	char password[256];
	char cafile[512];	       /* verify the chain and the host against this CA; or */
	char servercert[128];	       /* "pin-sha256:BASE64" of the server's public key */
	char script[512];	       /* vpnc-script; "" = built-in netlink set-up */
	struct sl_vpnc_runner *runner; /* runs the script as root after the drop; NULL: here */
	bool no_dtls;
	char dtls_ciphers[128]; /* X-DTLS-CipherSuite; "" = SL_AC_DTLS_CIPHERS (dtls.h) */
	bool cookie_only;	/* authenticate, print the cookie, stop */
};

struct sl_ac_client;

struct sl_ac_client_ops {
	/* The client is finished: code 0 (asked to stop, cookie printed) or 1 (failed). */
	void (*on_done)(void *arg, int code, const char *reason);
	void *arg;
};

int sl_ac_client_new(struct sl_ac_client **out, struct sl_loop *loop, struct sl_engine *engine,
		     const struct sl_ac_client_cfg *cfg, const struct sl_ac_client_ops *ops,
		     char *err, size_t err_len);
/* Say DISCONNECT to the server, run the script's "disconnect", then free. */
void sl_ac_client_free(struct sl_ac_client *c);

/* The engine's sl_engine_cfg.on_event and .on_control (c may be NULL: not made yet). */
void sl_ac_client_on_event(struct sl_ac_client *c, const struct sl_event *ev);
void sl_ac_client_on_udp(struct sl_ac_client *c, const uint8_t *pkt, size_t len);

/* For tests and logs: "cstp", "dtls" or "none". */
const char *sl_ac_client_transport(const struct sl_ac_client *c);

#endif
