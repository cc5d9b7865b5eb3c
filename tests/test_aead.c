// SPDX-License-Identifier: MIT
/* AEAD contexts: published vectors, round trips, and every kind of tampering refused. */
#include "crypto/aead.h"

#include <errno.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hex.h"

/* Decode a hex string into out; returns the byte count. */
static const uint8_t key32[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
				  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t nonce12[SL_AEAD_NONCE_LEN] = {0xa0, 0xa1, 0xa2, 0xa3, 0, 0, 0, 0, 0, 0, 0, 9};
static const uint8_t aad12[12] = {0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 7};

struct variant {
	enum sl_cipher cipher;
	size_t tag_len;
};

static const struct variant variants[] = {
	{SL_CIPHER_AES128GCM, 16},	  {SL_CIPHER_AES128GCM, 12}, {SL_CIPHER_AES128GCM, 8},
	{SL_CIPHER_AES256GCM, 16},	  {SL_CIPHER_AES256GCM, 12}, {SL_CIPHER_AES256GCM, 8},
	{SL_CIPHER_CHACHA20POLY1305, 16},
};

#define N_VARIANTS (sizeof(variants) / sizeof(variants[0]))

/* A sealer and an opener sharing one key. */
struct pair {
	struct sl_aead *tx, *rx;
};

static struct pair pair_new(const struct variant *v)
{
	size_t klen = sl_cipher_key_len(v->cipher);
	struct pair p = {
		.tx = sl_aead_new(v->cipher, key32, klen, v->tag_len, true),
		.rx = sl_aead_new(v->cipher, key32, klen, v->tag_len, false),
	};

	assert_non_null(p.tx);
	assert_non_null(p.rx);
	assert_int_equal(sl_aead_tag_len(p.tx), v->tag_len);
	return p;
}

static void pair_free(struct pair *p)
{
	sl_aead_free(p->tx);
	sl_aead_free(p->rx);
}

static void fill(uint8_t *b, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed + i * 7);
}

static void test_round_trip_each_cipher_and_tag(void **state)
{
	static const size_t lens[] = {0, 1, 15, 16, 17, 64, 1500};
	uint8_t plain[1500], buf[1500], tag[SL_AEAD_TAG_MAX];

	for (size_t v = 0; v < N_VARIANTS; v++) {
		struct pair p = pair_new(&variants[v]);

		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			size_t n = lens[i];

			fill(plain, n, (uint8_t)(v + i));
			memcpy(buf, plain, n);
			assert_int_equal(sl_aead_seal(p.tx, nonce12, aad12, 12, buf, n, tag), 0);
			if (n >= 16)
				assert_memory_not_equal(buf, plain, n);
			assert_int_equal(sl_aead_open(p.rx, nonce12, aad12, 12, buf, n, tag), 0);
			assert_memory_equal(buf, plain, n);
			/* Without AAD too (NULL, 0). */
			assert_int_equal(sl_aead_seal(p.tx, nonce12, NULL, 0, buf, n, tag), 0);
			assert_int_equal(sl_aead_open(p.rx, nonce12, NULL, 0, buf, n, tag), 0);
			assert_memory_equal(buf, plain, n);
		}
		pair_free(&p);
	}
}

/* Seal 100 bytes, apply one change, and expect the open to fail. */
enum tamper { TAMPER_CT, TAMPER_TAG, TAMPER_AAD, TAMPER_NONCE };

static void expect_tamper_refused(enum tamper what)
{
	for (size_t v = 0; v < N_VARIANTS; v++) {
		struct pair p = pair_new(&variants[v]);
		uint8_t buf[100], tag[SL_AEAD_TAG_MAX], aad[12], nonce[SL_AEAD_NONCE_LEN];

		memcpy(aad, aad12, sizeof(aad));
		memcpy(nonce, nonce12, sizeof(nonce));
		fill(buf, sizeof(buf), 3);
		assert_int_equal(sl_aead_seal(p.tx, nonce, aad, 12, buf, sizeof(buf), tag), 0);
		switch (what) {
		case TAMPER_CT:
			buf[v * 13 % sizeof(buf)] ^= 0x01;
			break;
		case TAMPER_TAG:
			tag[variants[v].tag_len - 1] ^= 0x80;
			break;
		case TAMPER_AAD:
			aad[11] ^= 0x01;
			break;
		case TAMPER_NONCE:
			nonce[0] ^= 0x01;
			break;
		}
		assert_int_equal(sl_aead_open(p.rx, nonce, aad, 12, buf, sizeof(buf), tag),
				 -EBADMSG);
		pair_free(&p);
	}
}

static void test_tampered_ciphertext_refused(void **state)
{
	expect_tamper_refused(TAMPER_CT);
}

static void test_tampered_tag_refused(void **state)
{
	expect_tamper_refused(TAMPER_TAG);
}

static void test_tampered_aad_refused(void **state)
{
	expect_tamper_refused(TAMPER_AAD);
}

static void test_tampered_nonce_refused(void **state)
{
	expect_tamper_refused(TAMPER_NONCE);
}

/* A context opened after a failure must still work: the failure leaves no state behind. */
static void test_open_after_failure(void **state)
{
	struct pair p = pair_new(&variants[0]);
	uint8_t buf[40], copy[40], tag[16], bad[16];

	fill(buf, sizeof(buf), 9);
	assert_int_equal(sl_aead_seal(p.tx, nonce12, aad12, 12, buf, sizeof(buf), tag), 0);
	memcpy(copy, buf, sizeof(buf));
	memcpy(bad, tag, sizeof(bad));
	bad[0] ^= 1;
	assert_int_equal(sl_aead_open(p.rx, nonce12, aad12, 12, copy, sizeof(copy), bad), -EBADMSG);
	assert_int_equal(sl_aead_open(p.rx, nonce12, aad12, 12, buf, sizeof(buf), tag), 0);
	pair_free(&p);
}

/* Encrypt with the sealer, decrypt with the opener: one vector checks both directions. */
static void check_vector(enum sl_cipher c, const char *key_hex, const char *nonce_hex,
			 const char *aad_hex, const char *pt_hex, const char *ct_hex,
			 const char *tag_hex)
{
	uint8_t key[32], nonce[SL_AEAD_NONCE_LEN], aad[64], pt[256], ct[256], tag[16], buf[256];
	uint8_t out_tag[16];
	size_t klen = unhex(key_hex, key, sizeof(key));
	size_t alen = unhex(aad_hex, aad, sizeof(aad));
	size_t n = unhex(pt_hex, pt, sizeof(pt));
	struct sl_aead *tx = sl_aead_new(c, key, klen, 16, true);
	struct sl_aead *rx = sl_aead_new(c, key, klen, 16, false);

	assert_int_equal(unhex(nonce_hex, nonce, sizeof(nonce)), SL_AEAD_NONCE_LEN);
	assert_int_equal(unhex(ct_hex, ct, sizeof(ct)), n);
	assert_int_equal(unhex(tag_hex, tag, sizeof(tag)), 16);
	assert_non_null(tx);
	assert_non_null(rx);
	memcpy(buf, pt, n);
	assert_int_equal(sl_aead_seal(tx, nonce, aad, alen, buf, n, out_tag), 0);
	assert_memory_equal(buf, ct, n);
	assert_memory_equal(out_tag, tag, 16);
	assert_int_equal(sl_aead_open(rx, nonce, aad, alen, buf, n, tag), 0);
	assert_memory_equal(buf, pt, n);
	sl_aead_free(tx);
	sl_aead_free(rx);
}

/* RFC 8439 §2.8.2 (same as RFC 7539 §2.8.2): AEAD_CHACHA20_POLY1305 example. */
static void test_rfc8439_2_8_2_chacha20_poly1305(void **state)
{
	static const char sunscreen[] =
		"Ladies and Gentlemen of the class of '99: If I could offer "
		"you only one tip for the future, sunscreen would be it.";
	char pt_hex[2 * sizeof(sunscreen) + 1];

	for (size_t i = 0; i < sizeof(sunscreen) - 1; i++)
		sprintf(pt_hex + 2 * i, "%02x", (unsigned char)sunscreen[i]);
	check_vector(SL_CIPHER_CHACHA20POLY1305,
		     "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
		     "070000004041424344454647", "50515253c0c1c2c3c4c5c6c7", pt_hex,
		     "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
		     "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
		     "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
		     "3ff4def08e4b7a9de576d26586cec64b6116",
		     "1ae10b594f09e26a7e902ecbd0600691");
}

#define GCM_SPEC_PT                                                        \
	"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" \
	"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
#define GCM_SPEC_AAD   "feedfacedeadbeeffeedfacedeadbeefabaddad2"
#define GCM_SPEC_NONCE "cafebabefacedbaddecaf888"

/* McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", Appendix B, Test Case 4. */
static void test_gcm_spec_test_case_4_aes128(void **state)
{
	check_vector(SL_CIPHER_AES128GCM, "feffe9928665731c6d6a8f9467308308", GCM_SPEC_NONCE,
		     GCM_SPEC_AAD, GCM_SPEC_PT,
		     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
		     "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
		     "5bc94fbc3221a5db94fae95ae7121a47");
}

/* Same document, Test Case 16 (AES-256, same plaintext, AAD and IV as case 4). */
static void test_gcm_spec_test_case_16_aes256(void **state)
{
	check_vector(SL_CIPHER_AES256GCM,
		     "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
		     GCM_SPEC_NONCE, GCM_SPEC_AAD, GCM_SPEC_PT,
		     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
		     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
		     "76fc6ece0f4e1768cddf8853bb2d551b");
}

/* A truncated GCM tag is the leading bytes of the full one (RFC 4106 §6, NIST SP 800-38D). */
static void test_gcm_short_tag_is_prefix(void **state)
{
	uint8_t buf[32], full[16], short_tag[16];

	for (size_t t = 8; t <= 12; t += 4) {
		struct sl_aead *a16 = sl_aead_new(SL_CIPHER_AES128GCM, key32, 16, 16, true);
		struct sl_aead *at = sl_aead_new(SL_CIPHER_AES128GCM, key32, 16, t, true);

		assert_non_null(a16);
		assert_non_null(at);
		fill(buf, sizeof(buf), 1);
		assert_int_equal(sl_aead_seal(a16, nonce12, aad12, 12, buf, sizeof(buf), full), 0);
		fill(buf, sizeof(buf), 1);
		assert_int_equal(sl_aead_seal(at, nonce12, aad12, 12, buf, sizeof(buf), short_tag),
				 0);
		assert_memory_equal(full, short_tag, t);
		sl_aead_free(a16);
		sl_aead_free(at);
	}
}

static void test_bad_key_length_rejected(void **state)
{
	assert_null(sl_aead_new(SL_CIPHER_AES128GCM, key32, 32, 16, true));
	assert_null(sl_aead_new(SL_CIPHER_AES128GCM, key32, 15, 16, true));
	assert_null(sl_aead_new(SL_CIPHER_AES256GCM, key32, 16, 16, false));
	assert_null(sl_aead_new(SL_CIPHER_CHACHA20POLY1305, key32, 16, 16, true));
	assert_null(sl_aead_new(SL_CIPHER_CHACHA20POLY1305, key32, 0, 16, true));
	assert_null(sl_aead_new(SL_CIPHER_AES128GCM, NULL, 16, 16, true));
	assert_null(sl_aead_new(SL_CIPHER__COUNT, key32, 16, 16, true));
	assert_null(sl_aead_new((enum sl_cipher) - 1, key32, 16, 16, true));
}

static void test_bad_tag_length_rejected(void **state)
{
	static const size_t bad_gcm[] = {0, 4, 7, 9, 13, 15, 17, 32};

	for (size_t i = 0; i < sizeof(bad_gcm) / sizeof(bad_gcm[0]); i++) {
		assert_null(sl_aead_new(SL_CIPHER_AES128GCM, key32, 16, bad_gcm[i], true));
		assert_null(sl_aead_new(SL_CIPHER_AES256GCM, key32, 32, bad_gcm[i], false));
	}
	/* Poly1305 has no truncated form in ESP (RFC 7634 §2). */
	assert_null(sl_aead_new(SL_CIPHER_CHACHA20POLY1305, key32, 32, 8, true));
	assert_null(sl_aead_new(SL_CIPHER_CHACHA20POLY1305, key32, 32, 12, true));
	assert_null(sl_aead_new(SL_CIPHER_CHACHA20POLY1305, key32, 32, 0, true));
}

static void test_wrong_direction_refused(void **state)
{
	struct pair p = pair_new(&variants[0]);
	uint8_t buf[16] = {0}, tag[16] = {0};

	assert_int_equal(sl_aead_seal(p.rx, nonce12, NULL, 0, buf, sizeof(buf), tag), -EIO);
	assert_int_equal(sl_aead_open(p.tx, nonce12, NULL, 0, buf, sizeof(buf), tag), -EBADMSG);
	pair_free(&p);
}

/* The OpenSSL context is made by the first seal or open, not by sl_aead_new (idle keys stay small).
 */
static void test_context_made_on_first_use(void **state)
{
	for (size_t v = 0; v < N_VARIANTS; v++) {
		struct pair p = pair_new(&variants[v]);
		uint8_t buf[64], want[64], tag[16];

		fill(buf, sizeof(buf), 3);
		memcpy(want, buf, sizeof(buf));
		assert_false(sl_aead_has_context(p.tx));
		assert_false(sl_aead_has_context(p.rx));
		/* The wrong direction is refused without making anything. */
		assert_int_equal(sl_aead_seal(p.rx, nonce12, NULL, 0, buf, sizeof(buf), tag), -EIO);
		assert_false(sl_aead_has_context(p.rx));
		assert_int_equal(
			sl_aead_seal(p.tx, nonce12, aad12, sizeof(aad12), buf, sizeof(buf), tag),
			0);
		assert_true(sl_aead_has_context(p.tx));
		assert_false(sl_aead_has_context(p.rx));
		assert_int_equal(
			sl_aead_open(p.rx, nonce12, aad12, sizeof(aad12), buf, sizeof(buf), tag),
			0);
		assert_true(sl_aead_has_context(p.rx));
		assert_memory_equal(buf, want, sizeof(buf));
		pair_free(&p);
	}
}

/* sl_aead_new copies the key: what the caller does with its buffer afterwards changes nothing. */
static void test_key_copied_at_new(void **state)
{
	uint8_t key[32], buf[2][48], tag[2][16];
	struct sl_aead *late, *ref;

	memcpy(key, key32, sizeof(key));
	late = sl_aead_new(SL_CIPHER_AES256GCM, key, sizeof(key), 16, true);
	memset(key, 0xee, sizeof(key)); /* as a caller cleansing its copy would */
	ref = sl_aead_new(SL_CIPHER_AES256GCM, key32, sizeof(key32), 16, true);
	assert_non_null(late);
	assert_non_null(ref);
	for (int i = 0; i < 2; i++) {
		fill(buf[i], sizeof(buf[i]), 9);
		assert_int_equal(sl_aead_seal(i ? ref : late, nonce12, aad12, sizeof(aad12), buf[i],
					      sizeof(buf[i]), tag[i]),
				 0);
	}
	assert_memory_equal(buf[0], buf[1], sizeof(buf[0]));
	assert_memory_equal(tag[0], tag[1], sizeof(tag[0]));
	sl_aead_free(late);
	sl_aead_free(ref);
}

/* An unused key costs one small allocation, not OpenSSL's context (over 1 KiB for AES-GCM). */
static void test_unused_key_is_small(void **state)
{
	enum { N = 64 };
	struct sl_aead *a[N];
	struct mallinfo2 before = mallinfo2(), after;

	for (int i = 0; i < N; i++) {
		a[i] = sl_aead_new(SL_CIPHER_AES256GCM, key32, 32, 16, i & 1);
		assert_non_null(a[i]);
	}
	after = mallinfo2();
	assert_true(after.uordblks + after.hblkhd - before.uordblks - before.hblkhd <= N * 128);
	for (int i = 0; i < N; i++)
		sl_aead_free(a[i]);
}

static void test_cipher_names(void **state)
{
	enum sl_cipher c = SL_CIPHER__COUNT;

	assert_int_equal(sl_cipher_from_name("aes-128-gcm", &c), 0);
	assert_int_equal(c, SL_CIPHER_AES128GCM);
	assert_int_equal(sl_cipher_from_name("AES-256-GCM", &c), 0);
	assert_int_equal(c, SL_CIPHER_AES256GCM);
	assert_int_equal(sl_cipher_from_name("ChaCha20-Poly1305", &c), 0);
	assert_int_equal(c, SL_CIPHER_CHACHA20POLY1305);
	assert_int_equal(sl_cipher_from_name("aes-128-cbc", &c), -EINVAL);
	assert_int_equal(sl_cipher_from_name("", &c), -EINVAL);
	assert_int_equal(sl_cipher_from_name("aes-128-gcm ", &c), -EINVAL);
	assert_int_equal(c, SL_CIPHER_CHACHA20POLY1305);
	for (int i = 0; i < SL_CIPHER__COUNT; i++) {
		assert_int_equal(sl_cipher_from_name(sl_cipher_name((enum sl_cipher)i), &c), 0);
		assert_int_equal(c, i);
	}
	assert_string_equal(sl_cipher_name(SL_CIPHER__COUNT), "invalid");
	assert_int_equal(sl_cipher_key_len(SL_CIPHER_AES128GCM), 16);
	assert_int_equal(sl_cipher_key_len(SL_CIPHER_AES256GCM), 32);
	assert_int_equal(sl_cipher_key_len(SL_CIPHER_CHACHA20POLY1305), 32);
	assert_int_equal(sl_cipher_key_len(SL_CIPHER__COUNT), 0);
	sl_aead_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_each_cipher_and_tag),
		cmocka_unit_test(test_tampered_ciphertext_refused),
		cmocka_unit_test(test_tampered_tag_refused),
		cmocka_unit_test(test_tampered_aad_refused),
		cmocka_unit_test(test_tampered_nonce_refused),
		cmocka_unit_test(test_open_after_failure),
		cmocka_unit_test(test_rfc8439_2_8_2_chacha20_poly1305),
		cmocka_unit_test(test_gcm_spec_test_case_4_aes128),
		cmocka_unit_test(test_gcm_spec_test_case_16_aes256),
		cmocka_unit_test(test_gcm_short_tag_is_prefix),
		cmocka_unit_test(test_bad_key_length_rejected),
		cmocka_unit_test(test_bad_tag_length_rejected),
		cmocka_unit_test(test_wrong_direction_refused),
		cmocka_unit_test(test_cipher_names),
		cmocka_unit_test(test_context_made_on_first_use),
		cmocka_unit_test(test_key_copied_at_new),
		cmocka_unit_test(test_unused_key_is_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
