/* SPDX-License-Identifier: MIT */
#ifndef SL_CTL_NATIVE_TLSCTX_H
#define SL_CTL_NATIVE_TLSCTX_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#define SL_NATIVE_ALPN "sluice/1"

/*
 * A TLS context for one end: TLS 1.3 only, our certificate and key, peers
 * verified against ca (a server requires a client certificate), ALPN
 * "sluice/1", no session tickets (every connection is a full handshake and
 * so has fresh exporter keys). NULL with one line in err on failure.
 */
SSL_CTX *sl_tls_ctx_new(bool server, const char *ca, const char *cert, const char *key, char *err,
			size_t err_len);

#endif
