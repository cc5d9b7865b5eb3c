// SPDX-License-Identifier: MIT
/*
 * Quick-start PKI: the files it writes, what OpenSSL makes of them, and a real
 * TLS 1.3 handshake with mutual verification between two in-memory SSL objects.
 */
#include "cli/pki.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

/* Made once for the group: a CA with server, client and IP-named leaves, and a second CA. */
struct pki_fixture {
	char root[64];	 /* mkdtemp */
	char ca[128];	 /* root/ca: the CA everything trusts */
	char other[128]; /* root/other: a CA nobody trusts */
};

static char err[512];

static void path_of(char *out, size_t len, const char *dir, const char *file)
{
	snprintf(out, len, "%s/%s", dir, file);
}

static X509 *load_cert(const char *dir, const char *file)
{
	char path[256];
	FILE *f;
	X509 *x;

	path_of(path, sizeof(path), dir, file);
	f = fopen(path, "r");
	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	return x;
}

static EVP_PKEY *load_key(const char *dir, const char *file)
{
	char path[256];
	FILE *f;
	EVP_PKEY *k;

	path_of(path, sizeof(path), dir, file);
	f = fopen(path, "r");
	assert_non_null(f);
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(k);
	return k;
}

static mode_t file_mode(const char *dir, const char *file)
{
	char path[256];
	struct stat st;

	path_of(path, sizeof(path), dir, file);
	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static bool is_critical(X509 *x, int nid)
{
	int i = X509_get_ext_by_NID(x, nid, -1);

	return i >= 0 && X509_EXTENSION_get_critical(X509_get_ext(x, i)) == 1;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	struct pki_fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	umask(022);
	snprintf(fx->root, sizeof(fx->root), "/tmp/sluice-test-pki-XXXXXX");
	if (!mkdtemp(fx->root))
		return -1;
	snprintf(fx->ca, sizeof(fx->ca), "%s/ca", fx->root);
	snprintf(fx->other, sizeof(fx->other), "%s/other", fx->root);
	if (sl_pki_init(fx->ca, NULL, 30, err, sizeof(err)) < 0 ||
	    sl_pki_issue(fx->ca, "server", true, 30, err, sizeof(err)) < 0 ||
	    sl_pki_issue(fx->ca, "client", false, 30, err, sizeof(err)) < 0 ||
	    sl_pki_issue(fx->ca, "198.18.0.1", true, 30, err, sizeof(err)) < 0 ||
	    sl_pki_issue(fx->ca, "2001:db8::1", true, 30, err, sizeof(err)) < 0 ||
	    sl_pki_init(fx->other, "other CA", 30, err, sizeof(err)) < 0 ||
	    sl_pki_issue(fx->other, "client", false, 30, err, sizeof(err)) < 0 ||
	    sl_pki_issue(fx->other, "server", true, 30, err, sizeof(err)) < 0) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct pki_fixture *fx = *state;

	nftw(fx->root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

/*
 * Verify leaf against the CA in ca_dir for an SSL purpose (which checks
 * extendedKeyUsage). Returns X509_V_OK or the X509_V_ERR_* reason.
 */
static int verify(const char *ca_dir, X509 *leaf, int purpose)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509 *ca = load_cert(ca_dir, "ca.pem");
	int result;

	assert_int_equal(X509_STORE_add_cert(store, ca), 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, NULL), 1);
	assert_int_equal(X509_STORE_CTX_set_purpose(ctx, purpose), 1);
	result = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(ca);
	return result;
}

static void test_init_writes_ca(void **state)
{
	struct pki_fixture *fx = *state;
	X509 *ca = load_cert(fx->ca, "ca.pem");
	EVP_PKEY *key = load_key(fx->ca, "ca.key");
	const ASN1_INTEGER *serial = X509_get0_serialNumber(ca);
	char curve[32];
	struct stat st;
	time_t hour_ago = time(NULL) - 3500;

	assert_int_equal(stat(fx->ca, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(file_mode(fx->ca, "ca.key"), 0600);
	assert_int_equal(file_mode(fx->ca, "ca.pem"), 0644);

	assert_int_equal(X509_check_ca(ca), 1);
	assert_true(is_critical(ca, NID_basic_constraints));
	assert_true(is_critical(ca, NID_key_usage));
	assert_true(X509_get_key_usage(ca) & KU_KEY_CERT_SIGN);
	assert_true(X509_get_key_usage(ca) & KU_CRL_SIGN);
	assert_false(X509_get_key_usage(ca) & KU_DIGITAL_SIGNATURE);
	assert_non_null(X509_get0_subject_key_id(ca));
	assert_int_equal(X509_check_private_key(ca, key), 1);
	assert_int_equal(X509_verify(ca, key), 1); /* self-signed */
	assert_int_equal(X509_get_signature_nid(ca), NID_ecdsa_with_SHA256);
	assert_int_equal(X509_get_version(ca), X509_VERSION_3);
	assert_int_equal(serial->length, 16);
	assert_false(serial->type & V_ASN1_NEG);
	assert_int_equal(X509_cmp_time(X509_get0_notBefore(ca), &hour_ago), -1);
	assert_int_equal(EVP_PKEY_get_base_id(key), EVP_PKEY_EC);
	assert_int_equal(EVP_PKEY_get_utf8_string_param(key, "group", curve, sizeof(curve), NULL),
			 1);
	assert_string_equal(curve, "prime256v1");
	X509_free(ca);
	EVP_PKEY_free(key);
}

static void test_key_files_are_pkcs8(void **state)
{
	struct pki_fixture *fx = *state;
	char path[256], line[64];
	FILE *f;

	path_of(path, sizeof(path), fx->ca, "client.key");
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_string_equal(line, "-----BEGIN PRIVATE KEY-----\n");
}

static void test_init_refuses_overwrite(void **state)
{
	struct pki_fixture *fx = *state;
	X509 *before = load_cert(fx->ca, "ca.pem"), *after;

	assert_int_equal(sl_pki_init(fx->ca, NULL, 30, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "ca.pem already exists; refusing to overwrite it"));
	after = load_cert(fx->ca, "ca.pem");
	assert_int_equal(X509_cmp(before, after), 0);
	X509_free(before);
	X509_free(after);
}

static void test_init_rejects_bad_arguments(void **state)
{
	struct pki_fixture *fx = *state;
	char dir[128], file[160];
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/bad", fx->root);
	assert_int_equal(sl_pki_init(dir, NULL, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "expected 1..36500 days, got 0"));
	assert_int_equal(sl_pki_init(dir, NULL, 36501, err, sizeof(err)), -EINVAL);
	assert_int_equal(access(dir, F_OK), -1); /* nothing made on a refusal */

	/* DIR is a file. */
	snprintf(file, sizeof(file), "%s/plain", fx->root);
	f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(sl_pki_init(file, NULL, 30, err, sizeof(err)), -ENOTDIR);
	assert_non_null(strstr(err, "Not a directory"));
}

static void test_issue_server(void **state)
{
	struct pki_fixture *fx = *state;
	X509 *x = load_cert(fx->ca, "server.pem");
	X509 *ca = load_cert(fx->ca, "ca.pem");
	EVP_PKEY *key = load_key(fx->ca, "server.key");
	GENERAL_NAMES *san = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	const GENERAL_NAME *gn;

	assert_int_equal(file_mode(fx->ca, "server.key"), 0600);
	assert_int_equal(file_mode(fx->ca, "server.pem"), 0644);
	assert_int_equal(verify(fx->ca, x, X509_PURPOSE_SSL_SERVER), X509_V_OK);
	assert_int_equal(X509_check_private_key(x, key), 1);
	assert_int_equal(X509_check_ca(x), 0);
	assert_true(is_critical(x, NID_basic_constraints));
	assert_true(is_critical(x, NID_key_usage));
	assert_true(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
	assert_false(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
	assert_true(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE);
	assert_false(X509_get_key_usage(x) & KU_KEY_CERT_SIGN);
	assert_non_null(san);
	assert_int_equal(sk_GENERAL_NAME_num(san), 1);
	gn = sk_GENERAL_NAME_value(san, 0);
	assert_int_equal(gn->type, GEN_DNS);
	assert_string_equal(ASN1_STRING_get0_data(gn->d.dNSName), "server");
	assert_int_equal(X509_check_host(x, "server", 0, 0, NULL), 1);
	assert_int_equal(
		ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x), X509_get0_subject_key_id(ca)),
		0);
	GENERAL_NAMES_free(san);
	EVP_PKEY_free(key);
	X509_free(ca);
	X509_free(x);
}

static void test_issue_client(void **state)
{
	struct pki_fixture *fx = *state;
	X509 *x = load_cert(fx->ca, "client.pem");

	assert_int_equal(file_mode(fx->ca, "client.key"), 0600);
	assert_int_equal(verify(fx->ca, x, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
	assert_true(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
	/* A client certificate must not pass as a server. */
	assert_int_equal(verify(fx->ca, x, X509_PURPOSE_SSL_SERVER), X509_V_ERR_INVALID_PURPOSE);
	/* Nor verify under another CA. */
	assert_int_equal(verify(fx->other, x, X509_PURPOSE_SSL_CLIENT),
			 X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
	assert_int_equal(X509_check_host(x, "client", 0, 0, NULL), 1);
	X509_free(x);
}

static void test_issue_ip_names_get_ip_san(void **state)
{
	struct pki_fixture *fx = *state;
	X509 *v4 = load_cert(fx->ca, "198.18.0.1.pem");
	X509 *v6 = load_cert(fx->ca, "2001:db8::1.pem");
	GENERAL_NAMES *san = X509_get_ext_d2i(v4, NID_subject_alt_name, NULL, NULL);

	assert_non_null(san);
	assert_int_equal(sk_GENERAL_NAME_value(san, 0)->type, GEN_IPADD);
	assert_int_equal(X509_check_ip_asc(v4, "198.18.0.1", 0), 1);
	assert_int_not_equal(X509_check_ip_asc(v4, "198.18.0.2", 0), 1);
	assert_int_equal(X509_check_ip_asc(v6, "2001:db8::1", 0), 1);
	assert_int_equal(verify(fx->ca, v6, X509_PURPOSE_SSL_SERVER), X509_V_OK);
	GENERAL_NAMES_free(san);
	X509_free(v4);
	X509_free(v6);
}

static void test_issue_refuses_overwrite(void **state)
{
	struct pki_fixture *fx = *state;
	X509 *before = load_cert(fx->ca, "client.pem"), *after;
	char path[256];

	assert_int_equal(sl_pki_issue(fx->ca, "client", false, 30, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "client.pem already exists; refusing to overwrite it"));
	after = load_cert(fx->ca, "client.pem");
	assert_int_equal(X509_cmp(before, after), 0);
	X509_free(before);
	X509_free(after);

	/* A stray key alone also blocks, and is left as it was. */
	path_of(path, sizeof(path), fx->ca, "stray.key");
	assert_int_equal(close(open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)), 0);
	assert_int_equal(sl_pki_issue(fx->ca, "stray", false, 30, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "stray.key already exists"));
	path_of(path, sizeof(path), fx->ca, "stray.pem");
	assert_int_equal(access(path, F_OK), -1);
}

static void test_issue_rejects_bad_arguments(void **state)
{
	struct pki_fixture *fx = *state;
	char dir[128];

	assert_int_equal(sl_pki_issue(fx->ca, "../evil", false, 30, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "name: expected a host name or IP address"));
	assert_int_equal(sl_pki_issue(fx->ca, "", false, 30, err, sizeof(err)), -EINVAL);
	assert_int_equal(sl_pki_issue(fx->ca, ".hidden", false, 30, err, sizeof(err)), -EINVAL);
	assert_int_equal(sl_pki_issue(fx->ca, "-rf", false, 30, err, sizeof(err)), -EINVAL);
	assert_int_equal(sl_pki_issue(fx->ca, "ca", false, 30, err, sizeof(err)), -EINVAL);
	assert_int_equal(sl_pki_issue(fx->ca, "a b", false, 30, err, sizeof(err)), -EINVAL);
	assert_int_equal(sl_pki_issue(fx->ca, "ok", false, -1, err, sizeof(err)), -EINVAL);

	snprintf(dir, sizeof(dir), "%s/no-ca-here", fx->root);
	assert_int_equal(sl_pki_issue(dir, "x", false, 30, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "ca.pem: No such file or directory"));
	assert_non_null(strstr(err, "sluice pki init"));
}

/* A CA directory whose ca.key is some other CA's key is refused, not half-used. */
static void test_issue_rejects_mismatched_ca_key(void **state)
{
	struct pki_fixture *fx = *state;
	char dir[128], from[256], to[256];

	snprintf(dir, sizeof(dir), "%s/mixed", fx->root);
	assert_int_equal(mkdir(dir, 0700), 0);
	path_of(from, sizeof(from), fx->ca, "ca.pem");
	path_of(to, sizeof(to), dir, "ca.pem");
	assert_int_equal(link(from, to), 0);
	path_of(from, sizeof(from), fx->other, "ca.key");
	path_of(to, sizeof(to), dir, "ca.key");
	assert_int_equal(link(from, to), 0);
	assert_int_equal(sl_pki_issue(dir, "x", false, 30, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "ca.key does not belong to"));
	path_of(to, sizeof(to), dir, "x.key");
	assert_int_equal(access(to, F_OK), -1);
}

static SSL_CTX *tls_ctx(bool server, const char *dir, const char *name, const char *trust_dir)
{
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	char path[256], file[64];

	assert_non_null(ctx);
	assert_int_equal(SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION), 1);
	snprintf(file, sizeof(file), "%s.pem", name);
	path_of(path, sizeof(path), dir, file);
	assert_int_equal(SSL_CTX_use_certificate_file(ctx, path, SSL_FILETYPE_PEM), 1);
	snprintf(file, sizeof(file), "%s.key", name);
	path_of(path, sizeof(path), dir, file);
	assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, path, SSL_FILETYPE_PEM), 1);
	path_of(path, sizeof(path), trust_dir, "ca.pem");
	assert_int_equal(SSL_CTX_load_verify_locations(ctx, path, NULL), 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	return ctx;
}

struct tls_pair {
	SSL_CTX *cctx, *sctx;
	SSL *c, *s;
};

/* One end of a connection: its certificate DIR/NAME.pem and the CA it trusts. */
struct tls_end {
	const char *dir, *name, *trust_dir;
};

/* host: the name the client checks in the server's certificate, NULL = none. */
static void tls_pair_open(struct tls_pair *t, struct tls_end client, struct tls_end server,
			  const char *host)
{
	BIO *cb, *sb;

	t->cctx = tls_ctx(false, client.dir, client.name, client.trust_dir);
	t->sctx = tls_ctx(true, server.dir, server.name, server.trust_dir);
	t->c = SSL_new(t->cctx);
	t->s = SSL_new(t->sctx);
	assert_non_null(t->c);
	assert_non_null(t->s);
	assert_int_equal(BIO_new_bio_pair(&cb, 0, &sb, 0), 1);
	SSL_set_bio(t->c, cb, cb);
	SSL_set_bio(t->s, sb, sb);
	SSL_set_connect_state(t->c);
	SSL_set_accept_state(t->s);
	if (host)
		assert_int_equal(SSL_set1_host(t->c, host), 1);
}

static void tls_pair_close(struct tls_pair *t)
{
	SSL_free(t->c);
	SSL_free(t->s);
	SSL_CTX_free(t->cctx);
	SSL_CTX_free(t->sctx);
	ERR_clear_error();
}

static bool still_going(SSL *ssl, int r)
{
	int e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl, r);

	return e == SSL_ERROR_NONE || e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

/* Step both ends until both finish (0) or either fails (-1). */
static int tls_handshake(struct tls_pair *t)
{
	for (int i = 0; i < 64; i++) {
		int rc = SSL_do_handshake(t->c);
		int rs = SSL_do_handshake(t->s);

		if (rc == 1 && rs == 1)
			return 0;
		if (!still_going(t->c, rc) || !still_going(t->s, rs))
			return -1;
	}
	return -1;
}

static void test_tls13_mutual_handshake(void **state)
{
	struct pki_fixture *fx = *state;
	struct tls_pair t;
	X509 *peer;
	char name[64], buf[8];

	tls_pair_open(&t, (struct tls_end){fx->ca, "client", fx->ca},
		      (struct tls_end){fx->ca, "server", fx->ca}, "server");
	assert_int_equal(tls_handshake(&t), 0);
	assert_string_equal(SSL_get_version(t.c), "TLSv1.3");
	assert_int_equal(SSL_get_verify_result(t.c), X509_V_OK);
	assert_int_equal(SSL_get_verify_result(t.s), X509_V_OK);

	peer = SSL_get1_peer_certificate(t.s);
	assert_non_null(peer);
	X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, name, sizeof(name));
	assert_string_equal(name, "client");
	X509_free(peer);

	/* Data flows both ways over the verified session. */
	assert_int_equal(SSL_write(t.c, "ping", 4), 4);
	assert_int_equal(SSL_read(t.s, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(SSL_write(t.s, "pong", 4), 4);
	assert_int_equal(SSL_read(t.c, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "pong", 4);
	tls_pair_close(&t);
}

static void test_tls13_ip_named_server(void **state)
{
	struct pki_fixture *fx = *state;
	struct tls_pair t;

	tls_pair_open(&t, (struct tls_end){fx->ca, "client", fx->ca},
		      (struct tls_end){fx->ca, "198.18.0.1", fx->ca}, NULL);
	assert_int_equal(X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t.c), "198.18.0.1"), 1);
	assert_int_equal(tls_handshake(&t), 0);
	assert_int_equal(SSL_get_verify_result(t.c), X509_V_OK);
	tls_pair_close(&t);

	tls_pair_open(&t, (struct tls_end){fx->ca, "client", fx->ca},
		      (struct tls_end){fx->ca, "198.18.0.1", fx->ca}, NULL);
	assert_int_equal(X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t.c), "198.18.0.2"), 1);
	assert_int_equal(tls_handshake(&t), -1);
	assert_int_equal(SSL_get_verify_result(t.c), X509_V_ERR_IP_ADDRESS_MISMATCH);
	tls_pair_close(&t);
}

static void test_tls13_rejects_client_from_other_ca(void **state)
{
	struct pki_fixture *fx = *state;
	struct tls_pair t;

	/* The client trusts the right CA but presents a certificate of the other one. */
	tls_pair_open(&t, (struct tls_end){fx->other, "client", fx->ca},
		      (struct tls_end){fx->ca, "server", fx->ca}, "server");
	assert_int_equal(tls_handshake(&t), -1);
	assert_int_equal(SSL_get_verify_result(t.c), X509_V_OK);
	assert_int_not_equal(SSL_get_verify_result(t.s), X509_V_OK);
	tls_pair_close(&t);
}

static void test_tls13_rejects_server_from_other_ca(void **state)
{
	struct pki_fixture *fx = *state;
	struct tls_pair t;

	tls_pair_open(&t, (struct tls_end){fx->ca, "client", fx->ca},
		      (struct tls_end){fx->other, "server", fx->ca}, "server");
	assert_int_equal(tls_handshake(&t), -1);
	assert_int_not_equal(SSL_get_verify_result(t.c), X509_V_OK);
	tls_pair_close(&t);
}

static void test_tls13_rejects_wrong_name(void **state)
{
	struct pki_fixture *fx = *state;
	struct tls_pair t;

	tls_pair_open(&t, (struct tls_end){fx->ca, "client", fx->ca},
		      (struct tls_end){fx->ca, "server", fx->ca}, "not-the-server");
	assert_int_equal(tls_handshake(&t), -1);
	assert_int_equal(SSL_get_verify_result(t.c), X509_V_ERR_HOSTNAME_MISMATCH);
	tls_pair_close(&t);
}

/* extendedKeyUsage clientAuth only: a client certificate cannot act as a server. */
static void test_tls13_rejects_client_cert_as_server(void **state)
{
	struct pki_fixture *fx = *state;
	struct tls_pair t;

	tls_pair_open(&t, (struct tls_end){fx->ca, "client", fx->ca},
		      (struct tls_end){fx->ca, "client", fx->ca}, "client");
	assert_int_equal(tls_handshake(&t), -1);
	assert_int_equal(SSL_get_verify_result(t.c), X509_V_ERR_INVALID_PURPOSE);
	tls_pair_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_writes_ca),
		cmocka_unit_test(test_key_files_are_pkcs8),
		cmocka_unit_test(test_init_refuses_overwrite),
		cmocka_unit_test(test_init_rejects_bad_arguments),
		cmocka_unit_test(test_issue_server),
		cmocka_unit_test(test_issue_client),
		cmocka_unit_test(test_issue_ip_names_get_ip_san),
		cmocka_unit_test(test_issue_refuses_overwrite),
		cmocka_unit_test(test_issue_rejects_bad_arguments),
		cmocka_unit_test(test_issue_rejects_mismatched_ca_key),
		cmocka_unit_test(test_tls13_mutual_handshake),
		cmocka_unit_test(test_tls13_ip_named_server),
		cmocka_unit_test(test_tls13_rejects_client_from_other_ca),
		cmocka_unit_test(test_tls13_rejects_server_from_other_ca),
		cmocka_unit_test(test_tls13_rejects_wrong_name),
		cmocka_unit_test(test_tls13_rejects_client_cert_as_server),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
