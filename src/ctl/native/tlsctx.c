// SPDX-License-Identifier: MIT
/* The native protocol's TLS contexts: TLS 1.3, certificates checked both ways, ALPN. */
#include "ctl/native/tlsctx.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

static const unsigned char alpn_wire[] = "\x08" SL_NATIVE_ALPN;

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned char *sel;

	if (SSL_select_next_proto(&sel, outlen, alpn_wire, sizeof(alpn_wire) - 1, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

static const char *openssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	return r ? r : "unknown error";
}

/* The file must be readable; OpenSSL's own message for a missing file is less clear. */
static bool readable(const char *what, const char *path, char *err, size_t err_len)
{
	FILE *f = fopen(path, "r");

	if (!f) {
		snprintf(err, err_len, "%s %s: %s", what, path, strerror(errno));
		return false;
	}
	fclose(f);
	return true;
}

static bool load_files(SSL_CTX *ctx, const char *ca, const char *cert, const char *key, char *err,
		       size_t err_len)
{
	if (!readable("CA", ca, err, err_len) || !readable("Certificate", cert, err, err_len) ||
	    !readable("PrivateKey", key, err, err_len))
		return false;
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		snprintf(err, err_len, "CA %s: %s", ca, openssl_reason());
		return false;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		snprintf(err, err_len, "Certificate %s: %s", cert, openssl_reason());
		return false;
	}
	/* OpenSSL checks here already that the key matches the certificate. */
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 &&
	    ERR_GET_REASON(ERR_peek_last_error()) != X509_R_KEY_VALUES_MISMATCH) {
		snprintf(err, err_len, "PrivateKey %s: %s", key, openssl_reason());
		return false;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, err_len, "PrivateKey %s does not belong to Certificate %s", key,
			 cert);
		return false;
	}
	return true;
}

SSL_CTX *sl_tls_ctx_new(bool server, const char *ca, const char *cert, const char *key, char *err,
			size_t err_len)
{
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());

	ERR_clear_error();
	if (!ctx) {
		snprintf(err, err_len, "TLS: %s", openssl_reason());
		return NULL;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    !load_files(ctx, ca, cert, key, err, err_len))
		goto fail;
	SSL_CTX_set_verify(
		ctx, server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER,
		NULL);
	/* A client certificate (clientAuth) must not pass for a server, nor the reverse. */
	SSL_CTX_set_purpose(ctx, server ? X509_PURPOSE_SSL_CLIENT : X509_PURPOSE_SSL_SERVER);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				      SSL_MODE_RELEASE_BUFFERS);
	if (server) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);

		if (names)
			SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	} else if (SSL_CTX_set_alpn_protos(ctx, alpn_wire, sizeof(alpn_wire) - 1) != 0) {
		snprintf(err, err_len, "TLS: cannot set ALPN");
		goto fail;
	}
	return ctx;
fail:
	if (!err[0])
		snprintf(err, err_len, "TLS: %s", openssl_reason());
	SSL_CTX_free(ctx);
	return NULL;
}
