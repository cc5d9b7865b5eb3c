/* SPDX-License-Identifier: MIT */
/*
 * The AnyConnect server's side of DTLS negotiation (ocserv's dialect, as
 * openconnect speaks it):
 *  - the client's X-DTLS-CipherSuite / X-DTLS12-CipherSuite value is a
 *    ':'-separated list; "PSK-NEGOTIATE" in it asks for DTLS 1.2 with the PSK
 *    from the TLS exporter (openconnect gnutls-dtls.c gather_dtls_ciphers);
 *  - the DTLS ClientHello (RFC 6347 4.1, 4.2.2) carries the X-DTLS-App-ID the
 *    server gave in its session id field, which is how a datagram from an
 *    unknown address finds its CSTP session (openconnect openssl-dtls.c,
 *    gnutls-dtls.c start_dtls_psk_handshake; ocserv main.c's UDP routing).
 */
#ifndef SL_PROTO_AC_DTLS_H
#define SL_PROTO_AC_DTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_AC_DTLS_SID_MAX 32

/* Whether the list (not NUL-terminated) has the token tok (exact, case-sensitive). */
bool sl_ac_cipher_list_has(const char *list, size_t len, const char *tok);

/*
 * If the datagram starts with a DTLS record (epoch 0) holding the first
 * fragment of a ClientHello that reaches past its session id: 0 with the
 * session id in sid (*sid_len from 0 to 32). -EAGAIN when it is another
 * record (not a ClientHello); -EBADMSG when it claims to be one and is
 * malformed.
 */
int sl_ac_dtls_hello_sid(const uint8_t *p, size_t n, uint8_t sid[SL_AC_DTLS_SID_MAX],
			 size_t *sid_len);

#endif
