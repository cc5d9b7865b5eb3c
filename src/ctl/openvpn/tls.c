// SPDX-License-Identifier: MIT
/* OpenVPN endpoint TLS context from PEM text (see tls.h). */
#include "ctl/openvpn/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

static void set_err(char *err, size_t err_len, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	snprintf(err, err_len, "%s%s%s", what, r ? ": " : "", r ? r : "");
	ERR_clear_error();
}

/* Every certificate of a PEM block into the verify store. Returns how many, or -1. */
static int load_ca(SSL_CTX *ctx, const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509_STORE *st = SSL_CTX_get_cert_store(ctx);
	X509 *x;
	int n = 0;

	if (!b)
		return -1;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		if (X509_STORE_add_cert(st, x) != 1) {
			X509_free(x);
			BIO_free(b);
			return -1;
		}
		X509_free(x);
		n++;
	}
	ERR_clear_error(); /* the end of the PEM text reads as an error */
	BIO_free(b);
	return n;
}

/* Our certificate, then any chain certificates after it. */
static bool load_cert(SSL_CTX *ctx, const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	bool ok = x && SSL_CTX_use_certificate(ctx, x) == 1;

	X509_free(x);
	while (ok && (x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		if (SSL_CTX_add_extra_chain_cert(ctx, x) != 1) {
			X509_free(x);
			ok = false;
		}
	}
	if (ok)
		ERR_clear_error();
	BIO_free(b);
	return ok;
}

static bool load_key(SSL_CTX *ctx, const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	bool ok = k && SSL_CTX_use_PrivateKey(ctx, k) == 1;

	EVP_PKEY_free(k);
	BIO_free(b);
	return ok;
}

SSL_CTX *sl_ovpn_tls_ctx_new(bool server, const char *ca_pem, const char *cert_pem,
			     const char *key_pem, char *err, size_t err_len)
{
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());

	if (!ctx) {
		set_err(err, err_len, "cannot make a TLS context");
		return NULL;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
		set_err(err, err_len, "cannot set TLS 1.2 as minimum");
		goto fail;
	}
	if (!ca_pem || load_ca(ctx, ca_pem) <= 0) {
		set_err(err, err_len, "ca: no certificate could be read");
		goto fail;
	}
	if (!cert_pem || !load_cert(ctx, cert_pem)) {
		set_err(err, err_len, "cert: no certificate could be read");
		goto fail;
	}
	if (!key_pem || !load_key(ctx, key_pem)) {
		set_err(err, err_len, "key: no private key could be read");
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		set_err(err, err_len, "key does not match cert");
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
			   NULL);
	/* Every key state is a full handshake, as in OpenVPN. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 0);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}
