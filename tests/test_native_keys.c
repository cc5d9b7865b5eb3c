// SPDX-License-Identifier: MIT
/*
 * ESP keys from the TLS 1.3 exporter (RFC 8446 section 7.5). The layout is
 * checked with fixed exporter bytes; real handshakes (two TLS ends joined by
 * an in-memory BIO pair, certificates from cli/pki) check that both ends
 * agree, and that sessions and epochs never share keys. The same handshakes
 * check the TLS context rules: wrong CA, certificate purpose, ALPN.
 */
#include "cli/pki.h"
#include "ctl/native/keys.h"
#include "ctl/native/tlsconn.h"

#include <errno.h>
#include <ftw.h>
#include <openssl/err.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* ---- fixed exporter bytes --------------------------------------------------------------- */

static void counting_ekm(uint8_t ekm[SL_NATIVE_EKM_LEN])
{
	for (int i = 0; i < SL_NATIVE_EKM_LEN; i++)
		ekm[i] = (uint8_t)(i + 1);
}

static void assert_dir(const struct sl_key_dir *d, uint32_t spi, int key_off, size_t key_len,
		       int salt_off)
{
	uint8_t ekm[SL_NATIVE_EKM_LEN], zero[32] = {0};

	counting_ekm(ekm);
	assert_int_equal(d->spi, spi);
	assert_memory_equal(d->key, ekm + key_off, key_len);
	if (key_len < 32)
		assert_memory_equal(d->key + key_len, zero, 32 - key_len);
	assert_memory_equal(d->salt, ekm + salt_off, 4);
}

static void test_server_layout(void **state)
{
	struct sl_native_sa sa = {.cipher = SL_CIPHER_AES256GCM,
				  .epoch = 0x1234,
				  .spi_c = 1000,
				  .spi_s = 2000,
				  .server = true};
	uint8_t ekm[SL_NATIVE_EKM_LEN];
	struct sl_key_pair kp;

	counting_ekm(ekm);
	assert_int_equal(sl_native_keys_from_ekm(ekm, &sa, &kp), 0);
	assert_int_equal(kp.cipher, SL_CIPHER_AES256GCM);
	assert_true(kp.esn);
	assert_int_equal(kp.key_id, 0x34);
	/* Server receives c2s (bytes 0..35) on its SPI, sends s2c (36..71) to the client's. */
	assert_dir(&kp.rx, 2000, 0, 32, 32);
	assert_dir(&kp.tx, 1000, 36, 32, 68);
}

static void test_client_layout(void **state)
{
	struct sl_native_sa sa = {
		.cipher = SL_CIPHER_CHACHA20POLY1305, .epoch = 1, .spi_c = 1000, .spi_s = 2000};
	uint8_t ekm[SL_NATIVE_EKM_LEN];
	struct sl_key_pair kp;

	counting_ekm(ekm);
	assert_int_equal(sl_native_keys_from_ekm(ekm, &sa, &kp), 0);
	assert_int_equal(kp.key_id, 1);
	assert_dir(&kp.rx, 1000, 36, 32, 68);
	assert_dir(&kp.tx, 2000, 0, 32, 32);
}

static void test_short_key_uses_first_bytes(void **state)
{
	struct sl_native_sa sa = {
		.cipher = SL_CIPHER_AES128GCM, .spi_c = 7, .spi_s = 8, .server = true};
	uint8_t ekm[SL_NATIVE_EKM_LEN];
	struct sl_key_pair kp;

	counting_ekm(ekm);
	assert_int_equal(sl_native_keys_from_ekm(ekm, &sa, &kp), 0);
	/* The first 16 bytes of each 32-byte key; the salt stays where it is. */
	assert_dir(&kp.rx, 8, 0, 16, 32);
	assert_dir(&kp.tx, 7, 36, 16, 68);
}

static void test_bad_arguments(void **state)
{
	uint8_t ekm[SL_NATIVE_EKM_LEN] = {0};
	struct sl_native_sa sa = {.cipher = SL_CIPHER_AES128GCM, .spi_c = 7, .spi_s = 8};
	struct sl_key_pair kp;

	sa.spi_c = 0;
	assert_int_equal(sl_native_keys_from_ekm(ekm, &sa, &kp), -EINVAL);
	sa.spi_c = 7;
	sa.spi_s = 0;
	assert_int_equal(sl_native_keys_from_ekm(ekm, &sa, &kp), -EINVAL);
	sa.spi_s = 8;
	sa.cipher = SL_CIPHER__COUNT;
	assert_int_equal(sl_native_keys_from_ekm(ekm, &sa, &kp), -EINVAL);
}

/* ---- real handshakes ----------------------------------------------------------------------- */

struct pki {
	char dir[64], other[64]; /* our CA, and an unrelated one */
	char ca[128], server_pem[128], server_key[128], client_pem[128], client_key[128];
	char other_ca[128], other_pem[128], other_key[128];
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int make_pki(void **state)
{
	struct pki *p = calloc(1, sizeof(*p));
	char err[256];

	snprintf(p->dir, sizeof(p->dir), "/tmp/test_native_keys.XXXXXX");
	snprintf(p->other, sizeof(p->other), "/tmp/test_native_keys.XXXXXX");
	if (!mkdtemp(p->dir) || !mkdtemp(p->other))
		return -1;
	if (sl_pki_init(p->dir, "test CA", 1, err, sizeof(err)) < 0 ||
	    sl_pki_issue(p->dir, "server", true, 1, err, sizeof(err)) < 0 ||
	    sl_pki_issue(p->dir, "client", false, 1, err, sizeof(err)) < 0 ||
	    sl_pki_init(p->other, "other CA", 1, err, sizeof(err)) < 0 ||
	    sl_pki_issue(p->other, "client", false, 1, err, sizeof(err)) < 0) {
		fprintf(stderr, "pki: %s\n", err);
		return -1;
	}
	snprintf(p->ca, sizeof(p->ca), "%s/ca.pem", p->dir);
	snprintf(p->server_pem, sizeof(p->server_pem), "%s/server.pem", p->dir);
	snprintf(p->server_key, sizeof(p->server_key), "%s/server.key", p->dir);
	snprintf(p->client_pem, sizeof(p->client_pem), "%s/client.pem", p->dir);
	snprintf(p->client_key, sizeof(p->client_key), "%s/client.key", p->dir);
	snprintf(p->other_ca, sizeof(p->other_ca), "%s/ca.pem", p->other);
	snprintf(p->other_pem, sizeof(p->other_pem), "%s/client.pem", p->other);
	snprintf(p->other_key, sizeof(p->other_key), "%s/client.key", p->other);
	*state = p;
	return 0;
}

static int remove_pki(void **state)
{
	struct pki *p = *state;

	nftw(p->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	nftw(p->other, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(p);
	return 0;
}

struct tls_pair {
	SSL_CTX *sctx, *cctx;
	SSL *s, *c;
	int s_ret, c_ret;	     /* 1: handshake done */
	char s_err[128], c_err[128]; /* each end's reason when it failed */
};

static SSL_CTX *ctx(bool server, const char *ca, const char *cert, const char *key)
{
	char err[256] = "";
	SSL_CTX *x = sl_tls_ctx_new(server, ca, cert, key, err, sizeof(err));

	if (!x)
		fail_msg("ctx: %s", err);
	return x;
}

/* One handshake step of one end; false (and err set) when that end failed. */
static bool step(SSL *ssl, int *ret, char err[128])
{
	unsigned long e;

	ERR_clear_error();
	*ret = SSL_do_handshake(ssl);
	if (*ret == 1 || SSL_get_error(ssl, *ret) != SSL_ERROR_SSL)
		return true;
	e = ERR_peek_last_error();
	snprintf(err, 128, "%s", e ? ERR_reason_error_string(e) : "?");
	return false;
}

/* Drive both ends over a BIO pair until both are done or one fails. */
static void handshake(struct tls_pair *t, SSL_CTX *sctx, SSL_CTX *cctx)
{
	BIO *bs, *bc;

	memset(t, 0, sizeof(*t));
	t->sctx = sctx;
	t->cctx = cctx;
	t->s = SSL_new(sctx);
	t->c = SSL_new(cctx);
	assert_non_null(t->s);
	assert_non_null(t->c);
	assert_int_equal(BIO_new_bio_pair(&bs, 0, &bc, 0), 1);
	SSL_set_bio(t->s, bs, bs);
	SSL_set_bio(t->c, bc, bc);
	SSL_set_accept_state(t->s);
	SSL_set_connect_state(t->c);
	for (int i = 0; i < 20 && (t->s_ret != 1 || t->c_ret != 1); i++) {
		if (t->c_ret != 1 && !t->c_err[0] && !step(t->c, &t->c_ret, t->c_err))
			break;
		if (t->s_ret != 1 && !t->s_err[0] && !step(t->s, &t->s_ret, t->s_err))
			break;
	}
}

static void pair_free(struct tls_pair *t)
{
	SSL_free(t->s);
	SSL_free(t->c);
	SSL_CTX_free(t->sctx);
	SSL_CTX_free(t->cctx);
}

static void good_handshake(struct pki *p, struct tls_pair *t)
{
	handshake(t, ctx(true, p->ca, p->server_pem, p->server_key),
		  ctx(false, p->ca, p->client_pem, p->client_key));
	assert_int_equal(t->s_ret, 1);
	assert_int_equal(t->c_ret, 1);
	assert_int_equal(SSL_version(t->s), TLS1_3_VERSION);
}

static void derive(SSL *ssl, bool server, uint32_t epoch, struct sl_key_pair *kp)
{
	struct sl_native_sa sa = {.cipher = SL_CIPHER_AES256GCM,
				  .epoch = epoch,
				  .spi_c = 0x1111,
				  .spi_s = 0x2222,
				  .server = server};

	assert_int_equal(sl_native_keys_derive(ssl, &sa, kp), 0);
}

static void assert_dir_equal(const struct sl_key_dir *a, const struct sl_key_dir *b)
{
	assert_int_equal(a->spi, b->spi);
	assert_memory_equal(a->key, b->key, 32);
	assert_memory_equal(a->salt, b->salt, 4);
}

static void test_both_ends_agree(void **state)
{
	struct tls_pair t;
	struct sl_key_pair s, c;
	const unsigned char *alpn;
	unsigned int alpn_len;

	good_handshake(*state, &t);
	SSL_get0_alpn_selected(t.c, &alpn, &alpn_len);
	assert_int_equal(alpn_len, 8);
	assert_memory_equal(alpn, "sluice/1", 8);
	derive(t.s, true, 0, &s);
	derive(t.c, false, 0, &c);
	assert_dir_equal(&s.rx, &c.tx);
	assert_dir_equal(&s.tx, &c.rx);
	/* The two directions have different keys. */
	assert_memory_not_equal(s.rx.key, s.tx.key, 32);
	pair_free(&t);
}

static void test_sessions_differ(void **state)
{
	struct tls_pair t1, t2;
	struct sl_key_pair a, b;

	good_handshake(*state, &t1);
	good_handshake(*state, &t2);
	derive(t1.s, true, 0, &a);
	derive(t2.s, true, 0, &b);
	assert_memory_not_equal(a.rx.key, b.rx.key, 32);
	assert_memory_not_equal(a.tx.key, b.tx.key, 32);
	assert_memory_not_equal(a.tx.salt, b.tx.salt, 4);
	pair_free(&t1);
	pair_free(&t2);
}

static void test_epochs_differ(void **state)
{
	struct tls_pair t;
	struct sl_key_pair e0, e1, e1c, e256;

	good_handshake(*state, &t);
	derive(t.s, true, 0, &e0);
	derive(t.s, true, 1, &e1);
	derive(t.c, false, 1, &e1c);
	derive(t.s, true, 256, &e256);
	assert_memory_not_equal(e0.rx.key, e1.rx.key, 32);
	assert_memory_not_equal(e0.tx.key, e1.tx.key, 32);
	/* The key id wraps, the keys do not: the whole epoch is the exporter context. */
	assert_int_equal(e256.key_id, e0.key_id);
	assert_memory_not_equal(e0.rx.key, e256.rx.key, 32);
	assert_dir_equal(&e1.rx, &e1c.tx);
	pair_free(&t);
}

static void test_client_rejects_unknown_server_ca(void **state)
{
	struct pki *p = *state;
	struct tls_pair t;

	/* The client trusts only the other CA: the server's certificate fails. */
	handshake(&t, ctx(true, p->ca, p->server_pem, p->server_key),
		  ctx(false, p->other_ca, p->other_pem, p->other_key));
	assert_int_not_equal(t.c_ret, 1);
	assert_string_equal(t.c_err, "certificate verify failed");
	assert_int_not_equal(SSL_get_verify_result(t.c), X509_V_OK);
	/* The client's alert ends the server's handshake too. */
	assert_int_not_equal(t.s_ret, 1);
	pair_free(&t);
}

static void test_server_rejects_unknown_client_ca(void **state)
{
	struct pki *p = *state;
	struct tls_pair t;

	/* The client trusts our CA but carries a certificate from another one. */
	handshake(&t, ctx(true, p->ca, p->server_pem, p->server_key),
		  ctx(false, p->ca, p->other_pem, p->other_key));
	assert_int_not_equal(t.s_ret, 1);
	assert_string_equal(t.s_err, "certificate verify failed");
	assert_int_equal(SSL_get_verify_result(t.s), X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
	pair_free(&t);
}

static void test_client_cert_cannot_serve(void **state)
{
	struct pki *p = *state;
	struct tls_pair t;

	/* A client's certificate (clientAuth only) must not pass as the server. */
	handshake(&t, ctx(true, p->ca, p->client_pem, p->client_key),
		  ctx(false, p->ca, p->client_pem, p->client_key));
	assert_int_not_equal(t.c_ret, 1);
	assert_int_equal(SSL_get_verify_result(t.c), X509_V_ERR_INVALID_PURPOSE);
	pair_free(&t);
}

static void test_no_alpn_refused(void **state)
{
	struct pki *p = *state;
	SSL_CTX *c = ctx(false, p->ca, p->client_pem, p->client_key);
	struct tls_pair t;
	static const unsigned char other[] = "\x02h2";

	assert_int_equal(SSL_CTX_set_alpn_protos(c, other, 3), 0);
	handshake(&t, ctx(true, p->ca, p->server_pem, p->server_key), c);
	assert_int_not_equal(t.s_ret, 1);
	assert_string_equal(t.s_err, "no application protocol");
	pair_free(&t);
}

static void test_ctx_file_errors(void **state)
{
	struct pki *p = *state;
	char err[256];

	assert_null(sl_tls_ctx_new(true, "/nonexistent/ca.pem", p->server_pem, p->server_key, err,
				   sizeof(err)));
	assert_string_equal(err, "CA /nonexistent/ca.pem: No such file or directory");
	assert_null(sl_tls_ctx_new(true, p->ca, p->server_pem, p->client_key, err, sizeof(err)));
	assert_non_null(strstr(err, "does not belong to Certificate"));
	assert_null(sl_tls_ctx_new(true, p->ca, p->server_key, p->server_key, err, sizeof(err)));
	assert_non_null(strstr(err, "Certificate "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_layout),
		cmocka_unit_test(test_client_layout),
		cmocka_unit_test(test_short_key_uses_first_bytes),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_both_ends_agree),
		cmocka_unit_test(test_sessions_differ),
		cmocka_unit_test(test_epochs_differ),
		cmocka_unit_test(test_client_rejects_unknown_server_ca),
		cmocka_unit_test(test_server_rejects_unknown_client_ca),
		cmocka_unit_test(test_client_cert_cannot_serve),
		cmocka_unit_test(test_no_alpn_refused),
		cmocka_unit_test(test_ctx_file_errors),
	};

	return cmocka_run_group_tests(tests, make_pki, remove_pki);
}
