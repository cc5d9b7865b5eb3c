// SPDX-License-Identifier: MIT
/*
 * AnyConnect DTLS negotiation, the server's side: PSK-NEGOTIATE found in the
 * cipher lists openconnect sends (gnutls-dtls.c gather_dtls_ciphers puts it
 * first, openssl-dtls.c last), and the App-ID read from a DTLS 1.2
 * ClientHello's session id: a hand-built record (RFC 6347 4.1, 4.2.2), one
 * that OpenSSL's DTLS client writes with the App-ID as its session id (as
 * sluice connect and openconnect's OpenSSL build do), and malformed ones.
 */
#include "proto/ac_dtls.h"

#include <errno.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hex.h"

static void cipher_lists(void **state)
{
	const char *gnutls = "PSK-NEGOTIATE:OC-DTLS1_2-AES256-GCM:OC-DTLS1_2-AES128-GCM";
	const char *ossl = "OC-DTLS1_2-AES256-GCM:AES256-SHA:AES128-SHA:PSK-NEGOTIATE";
	const char *legacy = "OC-DTLS1_2-AES256-GCM:AES256-SHA";

	(void)state;
	assert_true(sl_ac_cipher_list_has(gnutls, strlen(gnutls), "PSK-NEGOTIATE"));
	assert_true(sl_ac_cipher_list_has(ossl, strlen(ossl), "PSK-NEGOTIATE"));
	assert_true(sl_ac_cipher_list_has("PSK-NEGOTIATE", 13, "PSK-NEGOTIATE"));
	assert_false(sl_ac_cipher_list_has(legacy, strlen(legacy), "PSK-NEGOTIATE"));
	assert_false(sl_ac_cipher_list_has("PSK-NEGOTIATEX", 14, "PSK-NEGOTIATE"));
	assert_false(sl_ac_cipher_list_has("XPSK-NEGOTIATE", 14, "PSK-NEGOTIATE"));
	/* the length bounds the search, not a NUL */
	assert_false(sl_ac_cipher_list_has("PSK-NEGOTIATE", 12, "PSK-NEGOTIATE"));
	assert_false(sl_ac_cipher_list_has("", 0, "PSK-NEGOTIATE"));
	assert_true(sl_ac_cipher_list_has("a::PSK-NEGOTIATE:", 17, "PSK-NEGOTIATE"));
}

/* record | handshake header | version, random, sid_len 32, sid 00..1f, then the rest. */
#define HELLO_SID    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define HELLO_RANDOM "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
static const char hello_hex[] =
	"16fefd0000000000000000"
	"0036"			   /* record length 54 */
	"0100002a000000000000002a" /* ClientHello, 42, seq 0, off 0, frag 42 */
	"fefd" HELLO_RANDOM "20" HELLO_SID "00" /* cookie length: not reached by the parser */;

static void hand_built_hello(void **state)
{
	uint8_t b[128], sid[SL_AC_DTLS_SID_MAX], want[32];
	size_t n = unhex(hello_hex, b, sizeof(b)), sl = 99;

	(void)state;
	assert_int_equal(n, 13 + 12 + 2 + 32 + 1 + 32 + 1);
	/* the fragment covers up to the session id: 2 + 32 + 1 + 32 = 67 > 42, so first fix it */
	b[11] = 0;
	b[12] = 12 + 67;
	b[13 + 3] = 67;
	b[13 + 11] = 67;
	assert_int_equal(sl_ac_dtls_hello_sid(b, 13 + 12 + 67, sid, &sl), 0);
	assert_int_equal(sl, 32);
	unhex(HELLO_SID, want, sizeof(want));
	assert_memory_equal(sid, want, 32);
	/* the message is longer than this fragment: still the first one, still fine */
	b[13 + 3] = 200;
	assert_int_equal(sl_ac_dtls_hello_sid(b, 13 + 12 + 67, sid, &sl), 0);
	/* the fragment ends inside the session id */
	b[13 + 3] = 66;
	b[13 + 11] = 66;
	assert_int_equal(sl_ac_dtls_hello_sid(b, 13 + 12 + 67, sid, &sl), -EBADMSG);
	b[13 + 3] = 67;
	b[13 + 11] = 67;
	/* not the first fragment */
	b[13 + 8] = 1;
	assert_int_equal(sl_ac_dtls_hello_sid(b, 13 + 12 + 67, sid, &sl), -EBADMSG);
	b[13 + 8] = 0;
	/* session id of 33 bytes */
	b[13 + 12 + 34] = 33;
	assert_int_equal(sl_ac_dtls_hello_sid(b, 13 + 12 + 67, sid, &sl), -EBADMSG);
	b[13 + 12 + 34] = 0; /* an empty one is a hello without an id */
	assert_int_equal(sl_ac_dtls_hello_sid(b, 13 + 12 + 67, sid, &sl), 0);
	assert_int_equal(sl, 0);
	b[13 + 12 + 34] = 32;
	/* the record is longer than the datagram */
	assert_int_equal(sl_ac_dtls_hello_sid(b, 13 + 12 + 66, sid, &sl), -EBADMSG);
	/* not a ClientHello: other record types, epoch 1, another handshake message */
	b[0] = 23;
	assert_int_equal(sl_ac_dtls_hello_sid(b, 13 + 12 + 67, sid, &sl), -EAGAIN);
	b[0] = 22;
	b[4] = 1;
	assert_int_equal(sl_ac_dtls_hello_sid(b, 13 + 12 + 67, sid, &sl), -EAGAIN);
	b[4] = 0;
	b[13] = 16; /* ClientKeyExchange */
	assert_int_equal(sl_ac_dtls_hello_sid(b, 13 + 12 + 67, sid, &sl), -EAGAIN);
	b[13] = 1;
	assert_int_equal(sl_ac_dtls_hello_sid(b, 13, sid, &sl), -EAGAIN);
	assert_int_equal(sl_ac_dtls_hello_sid(b, 0, sid, &sl), -EAGAIN);
}

static unsigned int psk_cb(SSL *ssl, const char *hint, char *identity, unsigned int max_id,
			   unsigned char *psk, unsigned int max_psk)
{
	(void)ssl;
	(void)hint;
	if (max_id < 4 || max_psk < 32)
		return 0;
	memcpy(identity, "psk", 4);
	memset(psk, 0x42, 32);
	return 32;
}

/* OpenSSL's DTLS 1.2 client with a session whose id is the App-ID (ctl/anyconnect/dtls.c). */
static void openssl_client_hello(void **state)
{
	static const unsigned char aes128_sha[2] = {0x00, 0x2f};
	SSL_CTX *ctx = SSL_CTX_new(DTLS_client_method());
	SSL *ssl;
	SSL_SESSION *sess = SSL_SESSION_new();
	BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
	uint8_t app_id[32], key[48], out[2048], sid[SL_AC_DTLS_SID_MAX];
	size_t sl = 0;
	int n;

	(void)state;
	assert_non_null(ctx);
	assert_true(SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION));
	assert_true(SSL_CTX_set_cipher_list(ctx, "PSK"));
	SSL_CTX_set_psk_client_callback(ctx, psk_cb);
	ssl = SSL_new(ctx);
	assert_non_null(ssl);
	assert_int_equal(RAND_bytes(app_id, sizeof(app_id)), 1);
	assert_int_equal(RAND_bytes(key, sizeof(key)), 1);
	assert_true(SSL_SESSION_set1_id(sess, app_id, sizeof(app_id)));
	assert_true(SSL_SESSION_set1_master_key(sess, key, sizeof(key)));
	assert_true(SSL_SESSION_set_protocol_version(sess, DTLS1_2_VERSION));
	assert_true(SSL_SESSION_set_cipher(sess, SSL_CIPHER_find(ssl, aes128_sha)));
	assert_true(SSL_set_session(ssl, sess));
	BIO_set_mem_eof_return(rb, -1);
	SSL_set_bio(ssl, rb, wb);
	SSL_set_connect_state(ssl);
	SSL_set_options(ssl, SSL_OP_NO_QUERY_MTU);
	DTLS_set_link_mtu(ssl, 1500);
	assert_true(SSL_do_handshake(ssl) <= 0);
	n = BIO_read(wb, out, sizeof(out));
	assert_true(n > 13 + 12 + 35 + 32);
	assert_int_equal(sl_ac_dtls_hello_sid(out, (size_t)n, sid, &sl), 0);
	assert_int_equal(sl, 32);
	assert_memory_equal(sid, app_id, 32);
	/* every shorter cut of it is refused or not taken for a hello, never read past */
	for (int cut = 0; cut < 13 + 12 + 35 + 32; cut++)
		assert_int_not_equal(sl_ac_dtls_hello_sid(out, (size_t)cut, sid, &sl), 0);
	SSL_SESSION_free(sess);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cipher_lists),
		cmocka_unit_test(hand_built_hello),
		cmocka_unit_test(openssl_client_hello),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
