/* SPDX-License-Identifier: MIT */
/*
 * The config of `sluice serve anyconnect`: "key = value" lines in the
 * spirit of ocserv.conf, '#' comments. Keys:
 *   listen = ADDR:PORT            TLS (CSTP) listener
 *   server-cert = FILE, server-key = FILE
 *   auth = plain[passwd=FILE]     an ocpasswd file (ocserv's format)
 *   auth = certificate            a client certificate that chains to ca-cert; as in ocserv,
 *                                 every auth line is required (both: the password's user
 *                                 must be the certificate's)
 *   enable-auth = certificate     as in ocserv: an alternative to the auth lines (a valid
 *                                 certificate admits without a password; none: the form)
 *   ca-cert = FILE                the CA client certificates must chain to
 *   cert-user-oid = OID           the subject field that names the user (2.5.4.3, CN)
 *   ipv4-network = PREFIX         address pool; the server takes its first host
 *   dns = ADDR                    pushed (up to 3)
 *   route = PREFIX                pushed split-include (repeatable; none: all traffic)
 *   dpd = SECONDS, keepalive = SECONDS, mtu = N, device = NAME, max-clients = N
 *   run-as-user = NAME, run-as-group = NAME   as in ocserv: whom the server becomes after
 *                                 set-up ("" = not given: the command's default, nobody)
 *   udp-port = PORT               DTLS 1.2 (PSK-NEGOTIATE) on this UDP port of the listen
 *                                 address; absent or 0: no DTLS offered, CSTP only
 *   dtls-datapath = engine|openssl  who carries the DTLS records after the handshake: the
 *                                 engine (SL_WIRE_DTLS, keys exported from OpenSSL, its own
 *                                 DPD; the default) or OpenSSL in the control plane
 * Relative paths are relative to the config file.
 */
#ifndef SL_CTL_ANYCONNECT_SERVER_CONFIG_H
#define SL_CTL_ANYCONNECT_SERVER_CONFIG_H

#include "sluice/engine.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SL_ACS_PATH_MAX	  512
#define SL_ACS_ROUTES_MAX 16

struct sl_acs_config {
	struct sockaddr_storage listen;
	char cert[SL_ACS_PATH_MAX], key[SL_ACS_PATH_MAX], passwd[SL_ACS_PATH_MAX];
	struct sl_prefix pool4;
	uint8_t dns[3][4];
	unsigned n_dns;
	struct sl_prefix routes[SL_ACS_ROUTES_MAX];
	unsigned n_routes;
	uint32_t dpd_s, keepalive_s, mtu, max_clients, udp_port;
	char device[16];
	char ca[SL_ACS_PATH_MAX], user_oid[64];
	unsigned auth, enable_auth; /* SL_ACS_AUTH_* bits */
	char run_as_user[64], run_as_group[64];
	bool dtls_engine; /* dtls-datapath = engine */
};

#define SL_ACS_AUTH_PLAIN 1u
#define SL_ACS_AUTH_CERT  2u

/*
 * Parse text (dir: the config file's directory, for relative paths). 0, or
 * -EINVAL with "FILE:LINE: what was expected" in err.
 */
int sl_acs_config_parse(struct sl_acs_config *c, const char *text, size_t len, const char *name,
			const char *dir, char *err, size_t err_len);

#endif
