/* SPDX-License-Identifier: MIT */
/*
 * The TLS context of an OpenVPN endpoint: TLS 1.2 or 1.3, our certificate
 * (and chain) and key, the peer's certificate checked against ca (a server
 * requires one from every client). Everything is given as PEM text, so
 * inline <ca>/<cert>/<key> blocks and files take the same path. As stock
 * OpenVPN without --remote-cert-tls / --verify-x509-name, the peer's name
 * and key usage are not checked.
 */
#ifndef SL_CTL_OPENVPN_TLS_H
#define SL_CTL_OPENVPN_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

/* NULL with one line in err on failure (which input, and what OpenSSL said). */
SSL_CTX *sl_ovpn_tls_ctx_new(bool server, const char *ca_pem, const char *cert_pem,
			     const char *key_pem, char *err, size_t err_len);

#endif
