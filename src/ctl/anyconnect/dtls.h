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
 * since the engine's record layer has no others. The legacy mode
 * (X-DTLS-Session-ID, resumed session) is not implemented: with it data stays
 * on CSTP, and the log says so.
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

/*
 * Start DTLS for a new CSTP session (frees *d first) on the engine's peer
 * peer_id, whose stream carries data meanwhile. Nothing starts when the server
 * offered no DTLS. cstp_ssl gives the PSK, and is read only here.
 */
void sl_ac_dtls_restart(struct sl_ac_dtls **d, struct sl_loop *loop, struct sl_engine *engine,
			uint32_t peer_id, const struct sockaddr_storage *server,
			const struct sl_ac_tunnel_info *info, SSL *cstp_ssl);
/* A session is installed in the engine and its DPD is answered. */
bool sl_ac_dtls_up(const struct sl_ac_dtls *d);
/* The engine's events (sl_engine_cfg.on_event): its DPD moved data to CSTP or back. */
void sl_ac_dtls_on_event(struct sl_ac_dtls *d, const struct sl_event *ev);
/* What the engine hands up from the socket (sl_engine_cfg.on_control). */
void sl_ac_dtls_on_udp(struct sl_ac_dtls *d, const uint8_t *pkt, size_t len);
/* Once a second: handshake retransmits, giving up and trying again. */
void sl_ac_dtls_tick(struct sl_ac_dtls *d);
void sl_ac_dtls_free(struct sl_ac_dtls *d);

#endif
