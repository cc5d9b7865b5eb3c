/* SPDX-License-Identifier: MIT */
/*
 * The AnyConnect DTLS channel of a client, as openconnect does it with
 * ocserv (openssl-dtls.c, dtls.c): DTLS 1.2 with a PSK that is the TLS
 * exporter of the CSTP session ("EXPORTER-openconnect-psk", 32 bytes,
 * identity "psk"); the X-DTLS-App-ID goes in the ClientHello's session id so
 * the server finds the session. A record is | CSTP type (1) | payload |.
 *
 * When the handshake is done, the socket and the session's keys go to the
 * engine (sl_engine_udp_attach, sl_key_set_dtls, dtls_keys.h), whose
 * SL_WIRE_DTLS path seals and opens every data record in place, with the
 * Cisco type byte in the packet's headroom; OpenSSL never writes on the
 * session again. The engine sends DPD requests every second and answers the
 * server's; no answer for 3 s and data moves to CSTP (the peer's stream),
 * and back at the first answer. A fresh handshake after 60 s down, or every
 * 10 s when the handshake itself failed; a new CSTP session (rekey, reconnect)
 * restarts it with its new PSK.
 *
 * Only the AEAD suites (AES-128/256-GCM, ChaCha20-Poly1305) are offered,
 * since the engine's record layer has no others. Legacy mode, for servers
 * without PSK-NEGOTIATE (or a client told not to offer it, --dtls-ciphers):
 * the server makes a session of our X-DTLS-Master-Secret, names it in
 * X-DTLS-Session-ID and picks a suite; we "resume" it with an abbreviated
 * DTLS 1.2 handshake. Of its suites only AES-128/256-GCM are carried; with
 * the CBC ones (DTLS 0.9) data stays on CSTP, and the log says so.
 */
#ifndef SL_CTL_ANYCONNECT_DTLS_H
#define SL_CTL_ANYCONNECT_DTLS_H

#include "core/loop.h"
#include "ctl/anyconnect/tunnel_info.h"
#include "sluice/engine.h"

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct sl_ac_dtls;

/* X-DTLS-Master-Secret: the legacy mode's session key, sent in CONNECT. */
#define SL_AC_DTLS_SECRET_LEN 48
/* What --dtls-ciphers offers by default (X-DTLS-CipherSuite). */
#define SL_AC_DTLS_CIPHERS "PSK-NEGOTIATE:OC-DTLS1_2-AES256-GCM:OC-DTLS1_2-AES128-GCM"

/*
 * Start DTLS for a new CSTP session (frees *d first) on the engine's peer
 * peer_id, whose stream carries data meanwhile. Nothing starts when the server
 * offered no DTLS. cstp_ssl gives the PSK, master the legacy mode's key (what
 * this CONNECT sent as X-DTLS-Master-Secret); both are read only here.
 */
void sl_ac_dtls_restart(struct sl_ac_dtls **d, struct sl_loop *loop, struct sl_engine *engine,
			uint32_t peer_id, const struct sockaddr_storage *server,
			const struct sl_ac_tunnel_info *info, SSL *cstp_ssl,
			const uint8_t master[SL_AC_DTLS_SECRET_LEN]);
/* OpenSSL's name of a legacy suite the server chose, if we can carry it; else NULL. */
const char *sl_ac_dtls_legacy_suite(const char *chosen);
/* A session is installed in the engine and its DPD is answered. */
bool sl_ac_dtls_up(const struct sl_ac_dtls *d);
/* The engine's events (sl_engine_cfg.on_event): its DPD moved data to CSTP or back. */
void sl_ac_dtls_on_event(struct sl_ac_dtls *d, const struct sl_event *ev);
/* What the engine hands up from the socket (sl_engine_cfg.on_control). */
void sl_ac_dtls_on_udp(struct sl_ac_dtls *d, const uint8_t *pkt, size_t len);
/* Once a second: handshake retransmits, giving up and trying again. */
void sl_ac_dtls_tick(struct sl_ac_dtls *d);
void sl_ac_dtls_free(struct sl_ac_dtls *d);
/* Datagrams read off the DTLS socket outside the engine: the handshake's and discarded ones. */
uint64_t sl_ac_dtls_own_rx(const struct sl_ac_dtls *d);

#endif
