// SPDX-License-Identifier: MIT
/*
 * DTLS 1.2 records checked against OpenSSL's own for the same keys: an
 * OpenSSL client and server do a PSK handshake over loopback UDP (as
 * AnyConnect's PSK-NEGOTIATE does), the keys are derived from the session's
 * master secret (RFC 5246 6.3 key block, TLS 1.2 PRF), and then
 *   - a record OpenSSL sealed is opened by sl_dtls_open, and sealing the same
 *     plaintext with the same sequence and explicit nonce gives the same bytes;
 *   - a record sl_dtls_seal made is accepted and read by OpenSSL;
 * for PSK-AES128-GCM-SHA256, PSK-AES256-GCM-SHA384 and PSK-CHACHA20-POLY1305.
 * Plus replay, tampering, epoch and room checks.
 */
#include "ctl/anyconnect/dtls_keys.h"
#include "proto/dtls_record.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "dtls_pair.h"
#include "test_pkt_util.h"

/* RFC 5246 6.3: key_block = PRF(master, "key expansion", server_random || client_random). */
static void key_block(SSL *ssl, const char *digest, uint8_t *out, size_t len)
{
	uint8_t master[48], seed[13 + 64];
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
	EVP_KDF_CTX *k = EVP_KDF_CTX_new(kdf);
	OSSL_PARAM params[4];

	assert_int_equal(SSL_SESSION_get_master_key(SSL_get_session(ssl), master, 48), 48);
	memcpy(seed, "key expansion", 13);
	assert_int_equal(SSL_get_server_random(ssl, seed + 13, 32), 32);
	assert_int_equal(SSL_get_client_random(ssl, seed + 45, 32), 32);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)digest, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, master, 48);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed, sizeof(seed));
	params[3] = OSSL_PARAM_construct_end();
	assert_int_equal(EVP_KDF_derive(k, out, len, params), 1);
	EVP_KDF_CTX_free(k);
	EVP_KDF_free(kdf);
}

static ssize_t recv_raw(int fd, uint8_t *b, size_t cap)
{
	struct pollfd pf = {fd, POLLIN, 0};

	assert_int_equal(poll(&pf, 1, 1000), 1);
	return recv(fd, b, cap, 0);
}

struct suite {
	const char *name, *digest;
	enum sl_cipher cipher;
	size_t key_len, iv_len;
};

static const struct suite suites[] = {
	{"PSK-AES128-GCM-SHA256", "SHA256", SL_CIPHER_AES128GCM, 16, 4},
	{"PSK-AES256-GCM-SHA384", "SHA384", SL_CIPHER_AES256GCM, 32, 4},
	{"PSK-CHACHA20-POLY1305", "SHA256", SL_CIPHER_CHACHA20POLY1305, 32, 12},
};

static void against_openssl(const struct suite *su)
{
	/* an AnyConnect DTLS data record: type byte 0 (DATA) then an IPv4 header's worth */
	const uint8_t plain[] = {0x00, 0x45, 0,	   0,	 28,   0, 1, 0,	  0,  64,
				 17,   0,    0,	   198,	 19,   0, 2, 198, 19, 0,
				 1,    0x12, 0x34, 0x56, 0x78, 0, 8, 0,	  0};
	uint8_t kb[2 * 32 + 2 * 12], raw[2048], got[2048];
	const uint8_t *ckey, *civ;
	struct sl_dtls_dir rx, tx;
	struct test_pkt t;
	struct pair p;
	ssize_t n;
	uint64_t seq;
	int r;

	handshake(&p, su->name);
	key_block(p.c, su->digest, kb, 2 * su->key_len + 2 * su->iv_len);
	ckey = kb;		    /* client_write_key */
	civ = kb + 2 * su->key_len; /* client_write_IV */
	assert_int_equal(
		sl_dtls_dir_init(&rx, su->cipher, ckey, su->key_len, civ, su->iv_len, 1, false, 0),
		0);
	assert_int_equal(
		sl_dtls_dir_init(&tx, su->cipher, ckey, su->key_len, civ, su->iv_len, 1, true, 0),
		0);

	/* 1. OpenSSL seals; we open it, and sealing it again gives OpenSSL's bytes. */
	assert_int_equal(SSL_write(p.c, plain, sizeof(plain)), (int)sizeof(plain));
	n = recv_raw(p.sfd, raw, sizeof(raw));
	assert_true(n > SL_DTLS_HDR_LEN);
	pkt_make(&t, 0, raw, (uint32_t)n, 0);
	assert_int_equal(sl_dtls_open(&rx, &t.p), SL_DROP_NONE);
	assert_int_equal(t.p.len, sizeof(plain));
	assert_memory_equal(t.p.data, plain, sizeof(plain));
	pkt_free(&t);
	assert_int_equal(sl_dtls_open(&rx, (pkt_make(&t, 0, raw, (uint32_t)n, 0), &t.p)),
			 SL_DROP_REPLAY);
	pkt_free(&t);
	seq = (uint64_t)(raw[5] << 8 | raw[6]) << 32 |
	      (uint32_t)(raw[7] << 24 | raw[8] << 16 | raw[9] << 8 | raw[10]);
	tx.seq = seq;
	pkt_make(&t, SL_DTLS_HEADROOM, plain, sizeof(plain), SL_DTLS_TAILROOM);
	assert_int_equal(sl_dtls_seal(&tx, &t.p, SL_DTLS_APP_DATA,
				      su->iv_len == 4 ? raw + SL_DTLS_HDR_LEN : NULL),
			 SL_DROP_NONE);
	assert_int_equal(t.p.len, (uint32_t)n);
	assert_memory_equal(t.p.data, raw, (size_t)n);
	pkt_free(&t);

	/* 2. We seal (explicit nonce = epoch || sequence); OpenSSL accepts and reads it. */
	pkt_make(&t, SL_DTLS_HEADROOM, plain, sizeof(plain), SL_DTLS_TAILROOM);
	assert_int_equal(sl_dtls_seal(&tx, &t.p, SL_DTLS_APP_DATA, NULL), SL_DROP_NONE);
	assert_int_equal(send(p.cfd, t.p.data, t.p.len, 0), (ssize_t)t.p.len);
	pkt_free(&t);
	r = -1;
	for (int i = 0; i < 50 && r <= 0; i++) {
		struct pollfd pf = {p.sfd, POLLIN, 0};

		poll(&pf, 1, 20);
		r = SSL_read(p.s, got, sizeof(got));
	}
	assert_int_equal(r, (int)sizeof(plain));
	assert_memory_equal(got, plain, sizeof(plain));

	sl_dtls_dir_clear(&rx);
	sl_dtls_dir_clear(&tx);
	pair_free(&p);
}

static void aes128_gcm_matches_openssl(void **state)
{
	against_openssl(&suites[0]);
}

static void aes256_gcm_matches_openssl(void **state)
{
	against_openssl(&suites[1]);
}

static void chacha20_poly1305_matches_openssl(void **state)
{
	against_openssl(&suites[2]);
}

static void refuse_bad_records(void **state)
{
	const uint8_t key[16] = {7}, iv[4] = {9, 9, 9, 9}, msg[] = "\0hello";
	struct sl_dtls_dir tx, rx, rx2;
	struct test_pkt t, u;

	assert_int_equal(sl_dtls_dir_init(&tx, SL_CIPHER_AES128GCM, key, 16, iv, 4, 3, true, 0), 0);
	assert_int_equal(sl_dtls_dir_init(&rx, SL_CIPHER_AES128GCM, key, 16, iv, 4, 3, false, 0),
			 0);
	assert_int_equal(sl_dtls_dir_init(&rx2, SL_CIPHER_AES128GCM, key, 16, iv, 4, 4, false, 0),
			 0);
	sl_dtls_dir_clear(&rx2); /* init starts from nothing: what was there would leak */
	assert_int_equal(sl_dtls_dir_init(&rx2, SL_CIPHER_AES128GCM, key, 16, iv, 12, 4, false, 0),
			 -EINVAL);
	assert_int_equal(sl_dtls_dir_init(&rx2, SL_CIPHER_AES128GCM, key, 16, iv, 4, 4, false, 0),
			 0);
	pkt_make(&t, SL_DTLS_HEADROOM, msg, sizeof(msg), SL_DTLS_TAILROOM);
	assert_int_equal(sl_dtls_seal(&tx, &t.p, SL_DTLS_APP_DATA, NULL), SL_DROP_NONE);
	assert_int_equal(t.p.len, SL_DTLS_HDR_LEN + 8 + sizeof(msg) + 16);
	assert_int_equal(sl_dtls_seal(&rx, &t.p, SL_DTLS_APP_DATA, NULL), SL_DROP_NOKEY);
	/* another epoch, a flipped bit, a wrong length: refused, packet untouched */
	pkt_make(&u, 0, t.p.data, t.p.len, 0);
	assert_int_equal(sl_dtls_open(&rx2, &u.p), SL_DROP_NOKEY);
	u.p.data[u.p.len - 1] ^= 1;
	assert_int_equal(sl_dtls_open(&rx, &u.p), SL_DROP_AUTH);
	assert_int_equal(u.p.len, t.p.len);
	u.p.data[u.p.len - 1] ^= 1;
	u.p.len--;
	assert_int_equal(sl_dtls_open(&rx, &u.p), SL_DROP_MALFORMED);
	u.p.len++;
	u.p.data[0] = 22; /* handshake, not data */
	assert_int_equal(sl_dtls_open(&rx, &u.p), SL_DROP_MALFORMED);
	pkt_free(&u);
	assert_int_equal(sl_dtls_open(&rx, &t.p), SL_DROP_NONE);
	assert_memory_equal(t.p.data, msg, sizeof(msg));
	pkt_free(&t);
	/* no room; sequence numbers used up */
	pkt_make(&t, 4, msg, sizeof(msg), SL_DTLS_TAILROOM);
	assert_int_equal(sl_dtls_seal(&tx, &t.p, SL_DTLS_APP_DATA, NULL), SL_DROP_TOOBIG);
	pkt_free(&t);
	tx.seq = SL_DTLS_SEQ_MAX + 1;
	pkt_make(&t, SL_DTLS_HEADROOM, msg, sizeof(msg), SL_DTLS_TAILROOM);
	assert_int_equal(sl_dtls_seal(&tx, &t.p, SL_DTLS_APP_DATA, NULL), SL_DROP_NOKEY);
	pkt_free(&t);
	sl_dtls_dir_clear(&tx);
	sl_dtls_dir_clear(&rx);
	sl_dtls_dir_clear(&rx2);
}

/* Read one record with OpenSSL at ssl (fd readable within a second). */
static int openssl_read(SSL *ssl, int fd, uint8_t *b, size_t cap)
{
	int r = -1;

	for (int i = 0; i < 50 && r <= 0; i++) {
		struct pollfd pf = {fd, POLLIN, 0};

		poll(&pf, 1, 20);
		r = SSL_read(ssl, b, (int)cap);
	}
	return r;
}

/*
 * sl_ac_dtls_export's keys and sequence numbers, on each end, continue an
 * OpenSSL session: our first record after the handshake is taken by OpenSSL's
 * replay window (a reused sequence number would be dropped), and OpenSSL's
 * next record opens with ours.
 */
static void export_continues(const struct suite *su)
{
	const uint8_t plain[] = {0x00, 0x45, 0,	  0,  20, 0, 1,	  0,  0, 64, 17,
				 0,    0,    198, 19, 0,  2, 198, 19, 0, 1};
	struct sl_dtls_dir ctx_, crx, stx, srx;
	uint8_t raw[2048], got[2048];
	struct test_pkt t;
	struct pair p;
	ssize_t n;

	handshake(&p, su->name);
	assert_true(p.cseq.tx_seen && p.sseq.tx_seen);
	assert_int_equal(sl_ac_dtls_export(p.c, &p.cseq, &ctx_, &crx, 64), 0);
	assert_int_equal(sl_ac_dtls_export(p.s, &p.sseq, &stx, &srx, 64), 0);
	assert_int_equal(ctx_.cipher, su->cipher);
	assert_int_equal(ctx_.epoch, 1);
	assert_true(ctx_.seq >= 1); /* the Finished record came first in epoch 1 */

	for (int i = 0; i < 3; i++) { /* client: ours sealed, OpenSSL's server reads */
		pkt_make(&t, SL_DTLS_HEADROOM, plain, sizeof(plain), SL_DTLS_TAILROOM);
		assert_int_equal(sl_dtls_seal(&ctx_, &t.p, SL_DTLS_APP_DATA, NULL), SL_DROP_NONE);
		assert_int_equal(send(p.cfd, t.p.data, t.p.len, 0), (ssize_t)t.p.len);
		pkt_free(&t);
		assert_int_equal(openssl_read(p.s, p.sfd, got, sizeof(got)), (int)sizeof(plain));
		assert_memory_equal(got, plain, sizeof(plain));
	}
	/* server: OpenSSL's record opened by our client rx */
	assert_int_equal(SSL_write(p.s, plain, sizeof(plain)), (int)sizeof(plain));
	n = recv_raw(p.cfd, raw, sizeof(raw));
	pkt_make(&t, 0, raw, (uint32_t)n, 0);
	assert_int_equal(sl_dtls_open(&crx, &t.p), SL_DROP_NONE);
	assert_memory_equal(t.p.data, plain, sizeof(plain));
	pkt_free(&t);
	/* server end exported after its own write: ours continues after it, the client reads */
	sl_dtls_dir_clear(&stx);
	sl_dtls_dir_clear(&srx);
	assert_int_equal(sl_ac_dtls_export(p.s, &p.sseq, &stx, &srx, 64), 0);
	pkt_make(&t, SL_DTLS_HEADROOM, plain, sizeof(plain), SL_DTLS_TAILROOM);
	assert_int_equal(sl_dtls_seal(&stx, &t.p, SL_DTLS_APP_DATA, NULL), SL_DROP_NONE);
	assert_int_equal(send(p.sfd, t.p.data, t.p.len, 0), (ssize_t)t.p.len);
	pkt_free(&t);
	assert_int_equal(openssl_read(p.c, p.cfd, got, sizeof(got)), (int)sizeof(plain));
	assert_memory_equal(got, plain, sizeof(plain));

	sl_dtls_dir_clear(&ctx_);
	sl_dtls_dir_clear(&crx);
	sl_dtls_dir_clear(&stx);
	sl_dtls_dir_clear(&srx);
	pair_free(&p);
}

static void export_aes128_gcm(void **state)
{
	(void)state;
	export_continues(&suites[0]);
}

static void export_aes256_gcm(void **state)
{
	(void)state;
	export_continues(&suites[1]);
}

static void export_chacha20_poly1305(void **state)
{
	(void)state;
	export_continues(&suites[2]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(aes128_gcm_matches_openssl),
		cmocka_unit_test(aes256_gcm_matches_openssl),
		cmocka_unit_test(chacha20_poly1305_matches_openssl),
		cmocka_unit_test(refuse_bad_records),
		cmocka_unit_test(export_aes128_gcm),
		cmocka_unit_test(export_aes256_gcm),
		cmocka_unit_test(export_chacha20_poly1305),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
