/* SPDX-License-Identifier: MIT */
/*
 * The AnyConnect DTLS channel of a client, as openconnect does it with
 * ocserv (openssl-dtls.c, dtls.c): DTLS 1.2 with a PSK that is the TLS
 * exporter of the CSTP session ("EXPORTER-openconnect-psk", 32 bytes,
 * identity "psk"); the X-DTLS-App-ID goes in the ClientHello's session id so
 * the server finds the session. A record is | CSTP type (1) | payload |.
 *
 * DPD requests go out every second while it is up; no answer for 3 s and it
 * is down (data goes back to CSTP); probing the session goes on, so data
 * returns to DTLS when UDP works again (a fresh handshake after 60 s down, or
 * every 10 s when the handshake itself failed).
 *
 * This session runs OpenSSL's DTLS in the control plane and hands packets
 * to the engine through its stream API: DTLS data is not yet in the
 * engine's zero-copy path (proto/dtls_record.c is the codec for that).
 * The legacy mode (X-DTLS-Session-ID, resumed session) is not implemented:
 * with it data stays on CSTP, and the log says so.
 */
#ifndef SL_CTL_ANYCONNECT_DTLS_H
#define SL_CTL_ANYCONNECT_DTLS_H

#include "core/loop.h"
#include "ctl/anyconnect/tunnel_info.h"

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct sl_ac_dtls;

typedef void (*sl_ac_dtls_packet_fn)(void *arg, const uint8_t *ip, size_t len);
typedef void (*sl_ac_dtls_state_fn)(void *arg, bool up);

/*
 * Start DTLS for a new CSTP session (frees *d first). Nothing starts when
 * the server offered no DTLS. cstp_ssl gives the PSK, and is read only here.
 */
void sl_ac_dtls_restart(struct sl_ac_dtls **d, struct sl_loop *loop,
			const struct sockaddr_storage *server, const struct sl_ac_tunnel_info *info,
			SSL *cstp_ssl, sl_ac_dtls_packet_fn on_packet, sl_ac_dtls_state_fn on_state,
			void *arg);
bool sl_ac_dtls_up(const struct sl_ac_dtls *d);
/* One record: type, payload. 0 or -errno (not up, would block, too big). */
int sl_ac_dtls_send(struct sl_ac_dtls *d, uint8_t type, const void *payload, size_t len);
/* Once a second: DPD, retransmits, giving up and trying again. */
void sl_ac_dtls_tick(struct sl_ac_dtls *d);
void sl_ac_dtls_free(struct sl_ac_dtls *d);

#endif
