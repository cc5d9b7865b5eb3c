// SPDX-License-Identifier: MIT
/*
 * ESP seal/open: published packets opened and re-sealed byte for byte, round
 * trips, and every way a received packet can be refused.
 */
#include "proto/esp.h"

#include "core/bytes.h"
#include "proto/proto.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hex.h"
#include "test_pkt_util.h"

#define ICV_LEN 16

/* Room for any seal: the ops table's promise. */
static void pkt_make_roomy(struct test_pkt *t, const uint8_t *data, uint32_t len)
{
	pkt_make(t, sl_proto_esp.headroom, data, len, sl_proto_esp.tailroom);
}

static const uint8_t test_key[32] = {0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
				     0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
				     0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
				     0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f};
static const uint8_t test_salt[SL_ESP_SALT_LEN] = {0xde, 0xad, 0xbe, 0xef};
#define TEST_SPI 0x0a0b0c0du

static void sa_pair(enum sl_cipher c, bool esn, struct sl_esp_sa *tx, struct sl_esp_sa *rx)
{
	size_t klen = sl_cipher_key_len(c);

	assert_int_equal(sl_esp_sa_init(tx, c, test_key, klen, test_salt, TEST_SPI, esn, true, 0),
			 0);
	assert_int_equal(sl_esp_sa_init(rx, c, test_key, klen, test_salt, TEST_SPI, esn, false, 0),
			 0);
}

static void sa_pair_clear(struct sl_esp_sa *tx, struct sl_esp_sa *rx)
{
	sl_esp_sa_clear(tx);
	sl_esp_sa_clear(rx);
}

static void fill(uint8_t *b, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed ^ (i * 31));
}

/* A published vector: the SA parameters, the ESP plaintext and the packet on the wire. */
struct vector {
	enum sl_cipher cipher;
	const char *key, *salt;
	uint32_t spi;
	bool esn;
	uint64_t seq;
	const char *iv;
	const char *plain; /* payload || padding || pad length || next header */
	const char *wire;  /* SPI || seq low || IV || ciphertext || ICV */
};

/*
 * draft-mcgrew-gcm-test-01 §4, the AES-128 case with a 64-bit sequence number
 * (high word 0) and the 12-byte ESN-form AAD, as transcribed in
 * docs/protocols.md §1.7 "GCM vector A".
 */
static const struct vector gcm_vector_a = {
	.cipher = SL_CIPHER_AES128GCM,
	.key = "abbccddef00112233445566778899aab",
	.salt = "decaf888",
	.spi = 0x00000100,
	.esn = true,
	.seq = 1,
	.iv = "cafedebaceface74",
	.plain = "4500004933ba00007f119106c3fb1d10c2b1d326c02831ce0035dd7b"
		 "800302d500004e20001e8c18d75b81dc91baa0476b91b924b280389d"
		 "92c963bac046ec959b6266c04722b14923010101",
	.wire = "0000010000000001cafedebaceface74"
		"18a6fd42f72cbf4ab2a2ea901f73d814e3e7f243d95412e1c349c1d2"
		"fbec168f9190feebaf2cb01984e65863965d7472b79da345e0e78019"
		"1f0d2f0e0f496c226f2127b27db35724e7845d68"
		"651f57e65f354f75ff17015769623436",
};

/* draft-mcgrew-gcm-test-01 §4, the ESN case with seq high 0x87654321 ("GCM vector B"). */
static const struct vector gcm_vector_b = {
	.cipher = SL_CIPHER_AES128GCM,
	.key = "4c80cdefbb5d10da906ac73c3613a634",
	.salt = "2e443b68",
	.spi = 0x00004321,
	.esn = true,
	.seq = 0x8765432100000000ull,
	.iv = "4956ed7e3b244cfe",
	.plain = "45000048699a000080114db7c0a80102c0a801010a9bf15638d30100000100000000"
		 "0000045f736970045f756470037369700963796265726369747902646b000021000101020201",
	.wire = "00004321000000004956ed7e3b244cfe"
		"fecf537e729d5b07dc30df528dd22b768d1b98736696a6fd348509fa13ceac34"
		"cfa2436f14a3f3cf65925bf1f4a13c5d15b21e1884f5ff6247aeabb786b93bce"
		"61bc17d768fd9732"
		"459018148f6cbe722fd04796562dfdb4",
};

/* RFC 7634 Appendix A: ChaCha20-Poly1305 ESP, 32-bit sequence number 5. */
static const struct vector rfc7634_vector = {
	.cipher = SL_CIPHER_CHACHA20POLY1305,
	.key = "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
	.salt = "a0a1a2a3",
	.spi = 0x01020304,
	.esn = false,
	.seq = 5,
	.iv = "1011121314151617",
	.plain = "45000054a6f200004001e778c6336405c000020508005b7a3a080000"
		 "553bec100007362708090a0b0c0d0e0f101112131415161718191a1b"
		 "1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637"
		 "01020204",
	.wire = "01020304000000051011121314151617"
		"24039428b97f417e3c13753a4f05087b67c352e6a7fab1b982d466ef"
		"407ae5c614ee8099d52844eb61aa95dfab4c02f72aa71e7c4c4f64c9"
		"befe2facc638e8f3cbec163fac469b502773f6fb94e664da9165b828"
		"29f641e0"
		"76aaa8266b7fb0f7b11b369907e1ad43",
};

/* The decoded form of a vector, with the payload split off the trailer. */
struct decoded {
	uint8_t key[32], salt[4], iv[8], plain[256], wire[512];
	size_t key_len, plain_len, wire_len, payload_len;
	uint8_t next_header;
};

static void decode(const struct vector *v, struct decoded *d)
{
	d->key_len = unhex(v->key, d->key, sizeof(d->key));
	assert_int_equal(unhex(v->salt, d->salt, sizeof(d->salt)), 4);
	assert_int_equal(unhex(v->iv, d->iv, sizeof(d->iv)), 8);
	d->plain_len = unhex(v->plain, d->plain, sizeof(d->plain));
	d->wire_len = unhex(v->wire, d->wire, sizeof(d->wire));
	assert_int_equal(d->wire_len, SL_ESP_HDR_LEN + d->plain_len + ICV_LEN);
	d->next_header = d->plain[d->plain_len - 1];
	d->payload_len = d->plain_len - 2 - d->plain[d->plain_len - 2];
}

static void vector_sa(const struct vector *v, const struct decoded *d, bool tx,
		      struct sl_esp_sa *sa)
{
	assert_int_equal(
		sl_esp_sa_init(sa, v->cipher, d->key, d->key_len, d->salt, v->spi, v->esn, tx, 0),
		0);
}

/* Open the published packet; prime_top (if not 0) is accepted first so the window infers seq high.
 */
static void check_vector_open(const struct vector *v, uint64_t prime_top)
{
	struct decoded d;
	struct sl_esp_sa rx;
	struct test_pkt t;
	uint8_t nh = 0;

	decode(v, &d);
	vector_sa(v, &d, false, &rx);
	if (prime_top)
		assert_true(sl_replay_update(&rx.dir.replay, prime_top));
	pkt_make(&t, 0, d.wire, (uint32_t)d.wire_len, 0);
	assert_int_equal(sl_esp_open(&rx, &t.p, &nh), SL_DROP_NONE);
	assert_int_equal(t.p.len, d.payload_len);
	assert_memory_equal(t.p.data, d.plain, d.payload_len);
	assert_int_equal(nh, d.next_header);
	assert_int_equal(rx.dir.replay.top, v->seq);
	pkt_free(&t);
	sl_esp_sa_clear(&rx);
}

/* Seal the published payload with the published IV at the published seq: same bytes out. */
static void check_vector_seal(const struct vector *v)
{
	struct decoded d;
	struct sl_esp_sa tx;
	struct test_pkt t;

	decode(v, &d);
	vector_sa(v, &d, true, &tx);
	tx.seq = v->seq - 1;
	pkt_make_roomy(&t, d.plain, (uint32_t)d.payload_len);
	assert_int_equal(sl_esp_seal_iv(&tx, &t.p, d.next_header, d.iv), SL_DROP_NONE);
	assert_int_equal(t.p.len, d.wire_len);
	assert_memory_equal(t.p.data, d.wire, d.wire_len);
	assert_int_equal(tx.seq, v->seq);
	pkt_free(&t);
	sl_esp_sa_clear(&tx);
}

static void test_gcm_vector_a_open(void **state)
{
	check_vector_open(&gcm_vector_a, 0);
}

static void test_gcm_vector_a_seal(void **state)
{
	check_vector_seal(&gcm_vector_a);
}

/* seq low is 0 on the wire; a window whose top sits just below 2^32 * 0x87654321 supplies the high
 * half. */
static void test_gcm_vector_b_open(void **state)
{
	check_vector_open(&gcm_vector_b, 0x87654320fffffff0ull);
}

static void test_gcm_vector_b_seal(void **state)
{
	check_vector_seal(&gcm_vector_b);
}

/* Seq high comes only from the window: the same packet under three windows. */
static void test_gcm_vector_b_seq_high_from_window(void **state)
{
	struct decoded d;
	struct sl_esp_sa rx;
	struct test_pkt t;
	uint8_t nh;

	decode(&gcm_vector_b, &d);
	vector_sa(&gcm_vector_b, &d, false, &rx);
	assert_true(sl_replay_update(&rx.dir.replay, 0x8765432100000010ull));
	pkt_make(&t, 0, d.wire, (uint32_t)d.wire_len, 0);
	/* top low 0x10 < window: seq low 0 is inside, read as 0x8765432100000000 (correct). */
	assert_int_equal(sl_esp_open(&rx, &t.p, &nh), SL_DROP_NONE);
	pkt_free(&t);
	sl_esp_sa_clear(&rx);

	vector_sa(&gcm_vector_b, &d, false, &rx);
	assert_true(sl_replay_update(&rx.dir.replay, 0x8765432200000010ull));
	pkt_make(&t, 0, d.wire, (uint32_t)d.wire_len, 0);
	/* A window one subspace later reads it as 0x8765432200000000: wrong AAD. */
	assert_int_equal(sl_esp_open(&rx, &t.p, &nh), SL_DROP_AUTH);
	pkt_free(&t);
	sl_esp_sa_clear(&rx);

	vector_sa(&gcm_vector_b, &d, false, &rx);
	pkt_make(&t, 0, d.wire, (uint32_t)d.wire_len, 0);
	/* A fresh window cannot place seq low 0 anywhere but at 0, which is never valid. */
	assert_int_equal(sl_esp_open(&rx, &t.p, &nh), SL_DROP_REPLAY);
	assert_int_equal(t.p.len, d.wire_len);
	pkt_free(&t);
	sl_esp_sa_clear(&rx);
}

static void test_rfc7634_appendix_a_open(void **state)
{
	check_vector_open(&rfc7634_vector, 0);
}

static void test_rfc7634_appendix_a_seal(void **state)
{
	check_vector_seal(&rfc7634_vector);
}

/* Seal then open one payload; checks the wire layout on the way. */
static void round_trip(struct sl_esp_sa *tx, struct sl_esp_sa *rx, uint32_t len, uint8_t nh)
{
	uint8_t payload[1500], out_nh = 0;
	struct test_pkt t;
	uint64_t seq;

	fill(payload, len, (uint8_t)len);
	pkt_make_roomy(&t, payload, len);
	assert_int_equal(sl_esp_seal(tx, &t.p, nh), SL_DROP_NONE);
	seq = tx->seq;
	assert_true(t.p.len - len <= SL_ESP_HEADROOM + SL_ESP_TAILROOM);
	assert_int_equal((t.p.len - SL_ESP_HDR_LEN - ICV_LEN) % 4, 0);
	assert_true(t.p.len - SL_ESP_HDR_LEN - ICV_LEN - len - 2 <= 3);
	assert_int_equal(sl_esp_spi(t.p.data), TEST_SPI);
	assert_int_equal(sl_get_be32(t.p.data + 4), (uint32_t)seq);
	assert_int_equal(sl_get_be64(t.p.data + 8), seq);
	assert_int_equal(sl_esp_classify(t.p.data, t.p.len), SL_ESP_KIND_ESP);
	assert_int_equal(sl_esp_open(rx, &t.p, &out_nh), SL_DROP_NONE);
	assert_int_equal(t.p.len, len);
	assert_memory_equal(t.p.data, payload, len);
	assert_int_equal(out_nh, nh);
	assert_int_equal(sl_pkt_headroom(&t.p), SL_ESP_HEADROOM);
	pkt_free(&t);
}

static void test_round_trip_all_ciphers_esn_lengths(void **state)
{
	for (int c = 0; c < SL_CIPHER__COUNT; c++) {
		for (int esn = 0; esn <= 1; esn++) {
			struct sl_esp_sa tx, rx;

			sa_pair((enum sl_cipher)c, esn, &tx, &rx);
			for (uint32_t len = 0; len <= 1500; len++)
				round_trip(&tx, &rx, len,
					   len % 2 ? SL_ESP_NH_IPV4 : SL_ESP_NH_IPV6);
			round_trip(&tx, &rx, 0, SL_ESP_NH_NONE);
			assert_int_equal(tx.seq, 1502);
			sa_pair_clear(&tx, &rx);
		}
	}
}

/* Exactly the room a seal needs is enough; one byte less on either side is TOOBIG and changes
 * nothing. */
/*
 * Sealing a packet whose tail is elsewhere (sl_esp_seal_ext, the GSO path)
 * gives byte for byte what sealing the whole packet in one buffer gives, for
 * every cipher and split point (odd ones too: the AEAD sees the pieces as one
 * stream), with and without room after the tail to borrow for the trailer;
 * the borrowed bytes are put back.
 */
static void test_seal_ext_equals_seal_whole(void **state)
{
	static const uint32_t splits[] = {0, 1, 13, 40, 52, 1399, 1400};
	uint8_t payload[1400 + 8];

	fill(payload, sizeof(payload), 0x5a);
	for (int c = 0; c < SL_CIPHER__COUNT; c++) {
		for (size_t i = 0; i < sizeof(splits) / sizeof(splits[0]); i++) {
			for (uint32_t room = 0; room <= 8; room += 8) {
				uint32_t own = splits[i], ext = 1400 - own;
				struct sl_esp_sa tx1, rx1, tx2, rx2;
				uint8_t after[8], nh = 0;
				struct test_pkt whole, part;

				memcpy(after, payload + 1400, sizeof(after));
				sa_pair((enum sl_cipher)c, false, &tx1, &rx1);
				sa_pair((enum sl_cipher)c, false, &tx2, &rx2);
				pkt_make_roomy(&whole, payload, 1400);
				pkt_make(&part, sl_proto_esp.headroom, payload, own,
					 ext + sl_proto_esp.tailroom);
				assert_int_equal(sl_esp_seal(&tx1, &whole.p, SL_ESP_NH_IPV4),
						 SL_DROP_NONE);
				assert_int_equal(sl_esp_seal_ext(&tx2, &part.p, payload + own, ext,
								 room, SL_ESP_NH_IPV4),
						 SL_DROP_NONE);
				assert_int_equal(part.p.len, whole.p.len);
				assert_memory_equal(part.p.data, whole.p.data, whole.p.len);
				assert_memory_equal(payload + 1400, after, sizeof(after));
				assert_int_equal(sl_esp_open(&rx2, &part.p, &nh), SL_DROP_NONE);
				assert_memory_equal(part.p.data, payload, 1400);
				pkt_free(&whole);
				pkt_free(&part);
				sa_pair_clear(&tx1, &rx1);
				sa_pair_clear(&tx2, &rx2);
			}
		}
	}
}

static void test_seal_ext_needs_room_for_the_tail(void **state)
{
	uint8_t payload[100];
	struct sl_esp_sa tx, rx;
	struct test_pkt t;

	fill(payload, sizeof(payload), 1);
	sa_pair(SL_CIPHER_AES256GCM, false, &tx, &rx);
	/* 100 bytes in all: 2 of padding, pad length, next header, 16 of ICV; one byte short. */
	pkt_make(&t, sl_proto_esp.headroom, payload, 40, 60 + 2 + 2 + ICV_LEN - 1);
	assert_int_equal(sl_esp_seal_ext(&tx, &t.p, payload + 40, 60, 0, SL_ESP_NH_IPV4),
			 SL_DROP_TOOBIG);
	assert_int_equal(t.p.len, 40);
	assert_int_equal(tx.seq, 0); /* nothing spent */
	pkt_free(&t);
	sa_pair_clear(&tx, &rx);
}

static void test_room_exact_and_short(void **state)
{
	struct sl_esp_sa tx, rx;
	uint8_t payload[64];

	fill(payload, sizeof(payload), 1);
	sa_pair(SL_CIPHER_AES128GCM, false, &tx, &rx);
	for (uint32_t len = 60; len <= 63; len++) {
		uint32_t tail = (4 - (len + 2) % 4) % 4 + 2 + ICV_LEN;
		struct test_pkt t;

		pkt_make(&t, SL_ESP_HDR_LEN - 1, payload, len, tail);
		assert_int_equal(sl_esp_seal(&tx, &t.p, 4), SL_DROP_TOOBIG);
		assert_int_equal(t.p.len, len);
		pkt_free(&t);

		pkt_make(&t, SL_ESP_HDR_LEN, payload, len, tail - 1);
		assert_int_equal(sl_esp_seal(&tx, &t.p, 4), SL_DROP_TOOBIG);
		assert_int_equal(t.p.len, len);
		assert_memory_equal(t.p.data, payload, len);
		pkt_free(&t);
		assert_int_equal(tx.seq, 0);

		pkt_make(&t, SL_ESP_HDR_LEN, payload, len, tail);
		assert_int_equal(sl_esp_seal(&tx, &t.p, 4), SL_DROP_NONE);
		assert_int_equal(t.p.len, t.p.cap);
		pkt_free(&t);
		tx.seq = 0;
	}
	sa_pair_clear(&tx, &rx);
}

/* One sealed packet kept as bytes, so each check can start from a fresh copy. */
struct sealed {
	uint8_t bytes[256];
	uint32_t len;
	uint8_t payload[100];
};

static void seal_one(struct sl_esp_sa *tx, struct sealed *s, uint32_t len)
{
	struct test_pkt t;

	assert_true(len <= sizeof(s->payload));
	fill(s->payload, len, 0x5a);
	pkt_make_roomy(&t, s->payload, len);
	assert_int_equal(sl_esp_seal(tx, &t.p, SL_ESP_NH_IPV4), SL_DROP_NONE);
	assert_true(t.p.len <= sizeof(s->bytes));
	memcpy(s->bytes, t.p.data, t.p.len);
	s->len = t.p.len;
	pkt_free(&t);
}

/* Open a copy of bytes; expect `want` and, on failure, the same length and start. */
static void expect_open(struct sl_esp_sa *rx, const uint8_t *bytes, uint32_t len, enum sl_drop want)
{
	struct test_pkt t;
	uint8_t nh = 0xaa;

	pkt_make(&t, 8, bytes, len, 8);
	assert_int_equal(sl_esp_open(rx, &t.p, &nh), want);
	if (want != SL_DROP_NONE) {
		assert_int_equal(t.p.len, len);
		assert_ptr_equal(t.p.data, t.mem + 8);
		assert_int_equal(nh, 0xaa);
	}
	pkt_free(&t);
}

static void test_tampered_byte_anywhere(void **state)
{
	for (int c = 0; c < SL_CIPHER__COUNT; c++) {
		for (int esn = 0; esn <= 1; esn++) {
			struct sl_esp_sa tx, rx;
			struct sealed s;

			sa_pair((enum sl_cipher)c, esn, &tx, &rx);
			seal_one(&tx, &s, 41);
			for (uint32_t i = 0; i < s.len; i++) {
				uint8_t bad[256];

				memcpy(bad, s.bytes, s.len);
				bad[i] ^= 0x80;
				/* A changed SPI names another SA; anything else fails the tag. */
				expect_open(&rx, bad, s.len,
					    i < 4 ? SL_DROP_MALFORMED : SL_DROP_AUTH);
			}
			/* No failure marked the window: the genuine packet still opens. */
			expect_open(&rx, s.bytes, s.len, SL_DROP_NONE);
			sa_pair_clear(&tx, &rx);
		}
	}
}

static void test_replayed_packet(void **state)
{
	struct sl_esp_sa tx, rx;
	struct sealed first, second;

	sa_pair(SL_CIPHER_CHACHA20POLY1305, false, &tx, &rx);
	seal_one(&tx, &first, 20);
	seal_one(&tx, &second, 20);
	expect_open(&rx, second.bytes, second.len, SL_DROP_NONE);
	expect_open(&rx, first.bytes, first.len, SL_DROP_NONE);
	expect_open(&rx, first.bytes, first.len, SL_DROP_REPLAY);
	expect_open(&rx, second.bytes, second.len, SL_DROP_REPLAY);
	sa_pair_clear(&tx, &rx);
}

/*
 * Left of the window is a replay, with ESN too: there RFC 4303 A2.2 reads the low half as the
 * next 2^32 subspace, so the tag fails, but the drop is still counted as a replay.
 */
static void test_too_old_packet(void **state)
{
	for (int esn = 0; esn <= 1; esn++) {
		struct sl_esp_sa tx, rx;
		struct sealed old, now, forged;

		sa_pair(SL_CIPHER_AES256GCM, esn, &tx, &rx);
		seal_one(&tx, &old, 10);
		tx.seq += rx.dir.replay.window;
		seal_one(&tx, &now, 10);
		expect_open(&rx, now.bytes, now.len, SL_DROP_NONE);
		expect_open(&rx, old.bytes, old.len, SL_DROP_REPLAY);
		/* ahead of the window with a bad tag: authentication, not replay */
		tx.seq += 100;
		seal_one(&tx, &forged, 10);
		forged.bytes[forged.len - 1] ^= 1;
		expect_open(&rx, forged.bytes, forged.len, SL_DROP_AUTH);
		sa_pair_clear(&tx, &rx);
	}
}

static void test_wrong_spi(void **state)
{
	struct sl_esp_sa tx, rx;
	struct sealed s;

	sa_pair(SL_CIPHER_AES128GCM, false, &tx, &rx);
	seal_one(&tx, &s, 30);
	rx.spi = TEST_SPI + 1;
	expect_open(&rx, s.bytes, s.len, SL_DROP_MALFORMED);
	rx.spi = TEST_SPI;
	expect_open(&rx, s.bytes, s.len, SL_DROP_NONE);
	sa_pair_clear(&tx, &rx);
}

static void test_too_short(void **state)
{
	struct sl_esp_sa tx, rx;
	uint8_t bytes[SL_ESP_HDR_LEN + 2 + ICV_LEN] = {0};

	sa_pair(SL_CIPHER_AES128GCM, false, &tx, &rx);
	sl_put_be32(bytes, TEST_SPI);
	sl_put_be32(bytes + 4, 1);
	for (uint32_t len = 0; len < sizeof(bytes); len++)
		expect_open(&rx, bytes, len, SL_DROP_MALFORMED);
	/* The shortest well-formed length gets as far as the tag check. */
	expect_open(&rx, bytes, sizeof(bytes), SL_DROP_AUTH);
	sa_pair_clear(&tx, &rx);
}

/* Build an ESP packet around any plaintext with a valid tag, bypassing the sealer's padding. */
static uint32_t craft(enum sl_cipher c, uint64_t seq, const uint8_t *plain, uint32_t plain_len,
		      uint8_t *out)
{
	struct sl_aead *a = sl_aead_new(c, test_key, sl_cipher_key_len(c), ICV_LEN, true);
	uint8_t nonce[SL_AEAD_NONCE_LEN];

	assert_non_null(a);
	sl_put_be32(out, TEST_SPI);
	sl_put_be32(out + 4, (uint32_t)seq);
	sl_put_be64(out + 8, seq);
	memcpy(nonce, test_salt, 4);
	memcpy(nonce + 4, out + 8, 8);
	memcpy(out + SL_ESP_HDR_LEN, plain, plain_len);
	assert_int_equal(sl_aead_seal(a, nonce, out, 8, out + SL_ESP_HDR_LEN, plain_len,
				      out + SL_ESP_HDR_LEN + plain_len),
			 0);
	sl_aead_free(a);
	return SL_ESP_HDR_LEN + plain_len + ICV_LEN;
}

static void test_bad_padding(void **state)
{
	/*
	 * seq is the IV, the 8 bytes just before the plaintext. For the cases
	 * whose pad length reaches past the plaintext, those bytes continue the
	 * 1, 2, ... series, so only the bounds check can refuse them.
	 */
	static const struct {
		const char *plain;
		uint64_t seq;
		enum sl_drop want;
	} cases[] = {
		{"aabbcc0102"
		 "0204",
		 1, SL_DROP_NONE}, /* payload aabbcc, pad 01 02 */
		{"aabbcc0103"
		 "0204",
		 2, SL_DROP_MALFORMED}, /* pad not 1, 2 */
		{"aabbcc0201"
		 "0204",
		 3, SL_DROP_MALFORMED}, /* pad reversed */
		{"aabbcc0000"
		 "0204",
		 4, SL_DROP_MALFORMED},		     /* zero padding */
		{"0204", 0x0102, SL_DROP_MALFORMED}, /* pad length 2 beyond the plaintext */
		{"02"
		 "0204",
		 0x0201, SL_DROP_MALFORMED}, /* pad length 1 beyond */
		{"0102"
		 "0204",
		 5, SL_DROP_NONE},	   /* empty payload, all padding */
		{"0004", 6, SL_DROP_NONE}, /* empty payload, no padding */
		{"aa01020304050607"
		 "0729",
		 7, SL_DROP_NONE}, /* 7 bytes of padding is legal */
	};
	struct sl_esp_sa tx, rx;

	sa_pair(SL_CIPHER_AES128GCM, false, &tx, &rx);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t plain[64], bytes[128];
		uint32_t n = (uint32_t)unhex(cases[i].plain, plain, sizeof(plain));
		uint32_t len = craft(SL_CIPHER_AES128GCM, cases[i].seq, plain, n, bytes);

		expect_open(&rx, bytes, len, cases[i].want);
		/* Authenticated, so the number is spent even when the padding is wrong. */
		expect_open(&rx, bytes, len, SL_DROP_REPLAY);
	}
	sa_pair_clear(&tx, &rx);
}

/* Packets from both sides of 2^32 arriving out of order; each gets its high half from the window.
 */
static void test_esn_inference_across_boundary(void **state)
{
	struct sl_esp_sa tx, rx;
	struct sealed s[48];
	static const int order[] = {3, 0, 1, 2, 20, 5, 4, 40, 10, 47, 6, 30, 7, 8, 9, 11};

	sa_pair(SL_CIPHER_AES128GCM, true, &tx, &rx);
	tx.seq = 0x1ffffffe0ull;
	assert_true(sl_replay_update(&rx.dir.replay, tx.seq));
	for (int i = 0; i < 48; i++)
		seal_one(&tx, &s[i], 12);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		expect_open(&rx, s[order[i]].bytes, s[order[i]].len, SL_DROP_NONE);
	assert_int_equal(rx.dir.replay.top, 0x1ffffffe0ull + 48);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		expect_open(&rx, s[order[i]].bytes, s[order[i]].len, SL_DROP_REPLAY);
	for (int i = 12; i < 48; i++)
		if (i != 20 && i != 30 && i != 40 && i != 47)
			expect_open(&rx, s[i].bytes, s[i].len, SL_DROP_NONE);
	sa_pair_clear(&tx, &rx);
}

/* With top in the first subspace, a low half from "before" it is old, not a guess at 2^64 - x. */
static void test_esn_nothing_before_first_subspace(void **state)
{
	struct sl_esp_sa tx, rx;
	uint8_t plain[4] = {0xaa, 0xbb, 0x00, 0x04}, bytes[64];
	uint32_t len;

	sa_pair(SL_CIPHER_AES128GCM, true, &tx, &rx);
	assert_true(sl_replay_update(&rx.dir.replay, 5));
	len = craft(SL_CIPHER_AES128GCM, 0xfffffff0ull, plain, sizeof(plain), bytes);
	expect_open(&rx, bytes, len, SL_DROP_REPLAY);
	sa_pair_clear(&tx, &rx);
}

static void test_seq_exhaustion(void **state)
{
	static const uint64_t last[] = {0xffffffffull, UINT64_MAX};

	for (int esn = 0; esn <= 1; esn++) {
		struct sl_esp_sa tx, rx;
		uint8_t payload[20] = {0x45};
		struct test_pkt t;

		sa_pair(SL_CIPHER_CHACHA20POLY1305, esn, &tx, &rx);
		tx.seq = last[esn] - 1;
		pkt_make_roomy(&t, payload, sizeof(payload));
		assert_int_equal(sl_esp_seal(&tx, &t.p, 4), SL_DROP_NONE);
		assert_int_equal(tx.seq, last[esn]);
		pkt_free(&t);

		pkt_make_roomy(&t, payload, sizeof(payload));
		assert_int_equal(sl_esp_seal(&tx, &t.p, 4), SL_DROP_NOKEY);
		assert_int_equal(t.p.len, sizeof(payload));
		assert_int_equal(tx.seq, last[esn]);
		pkt_free(&t);
		sa_pair_clear(&tx, &rx);
	}
}

/*
 * Two copies of one tx SA (two workers, docs/workers.md) drawing from one shared counter: every
 * packet gets its own sequence number whichever copy sealed it, the receiver opens them all, and
 * an exhausted counter refuses both copies.
 */
static void test_shared_seq_two_copies(void **state)
{
	static const uint64_t last[] = {0xffffffffull, UINT64_MAX};

	for (int esn = 0; esn <= 1; esn++) {
		struct sl_esp_sa tx[2], rx;
		_Atomic uint64_t seq = 0;
		struct sealed s[6];
		struct test_pkt t;
		uint8_t payload[20] = {0x45};

		sa_pair(SL_CIPHER_AES256GCM, esn, &tx[0], &rx);
		assert_int_equal(sl_esp_sa_init(&tx[1], SL_CIPHER_AES256GCM, test_key, 32,
						test_salt, TEST_SPI, esn, true, 0),
				 0);
		tx[0].shared_seq = tx[1].shared_seq = &seq;
		for (int i = 0; i < 6; i++) {
			seal_one(&tx[i % 3 == 0], &s[i], 40);
			assert_int_equal(sl_get_be32(s[i].bytes + 4), (uint32_t)(i + 1));
		}
		assert_int_equal(atomic_load(&seq), 6);
		assert_int_equal(tx[0].seq, 0); /* the SA's own counter is not used */
		for (int i = 5; i >= 0; i--)	/* out of order, as two workers may send */
			expect_open(&rx, s[i].bytes, s[i].len, SL_DROP_NONE);
		expect_open(&rx, s[2].bytes, s[2].len, SL_DROP_REPLAY);

		atomic_store(&seq, last[esn] - 1);
		pkt_make_roomy(&t, payload, sizeof(payload));
		assert_int_equal(sl_esp_seal(&tx[1], &t.p, 4), SL_DROP_NONE);
		pkt_free(&t);
		for (int c = 0; c < 2; c++) {
			pkt_make_roomy(&t, payload, sizeof(payload));
			assert_int_equal(sl_esp_seal(&tx[c], &t.p, 4), SL_DROP_NOKEY);
			assert_int_equal(t.p.len, sizeof(payload));
			pkt_free(&t);
		}
		sl_esp_sa_clear(&tx[1]);
		sa_pair_clear(&tx[0], &rx);
	}
}

static void test_wrong_direction(void **state)
{
	struct sl_esp_sa tx, rx;
	struct sealed s;
	struct test_pkt t;
	uint8_t nh;

	sa_pair(SL_CIPHER_AES128GCM, false, &tx, &rx);
	seal_one(&tx, &s, 10);
	expect_open(&tx, s.bytes, s.len, SL_DROP_NOKEY);
	pkt_make_roomy(&t, s.payload, 10);
	assert_int_equal(sl_esp_seal(&rx, &t.p, 4), SL_DROP_NOKEY);
	assert_int_equal(t.p.len, 10);
	pkt_free(&t);
	sa_pair_clear(&tx, &rx);
	/* A cleared SA is neither. */
	pkt_make_roomy(&t, s.bytes, s.len);
	assert_int_equal(sl_esp_open(&rx, &t.p, &nh), SL_DROP_NOKEY);
	assert_int_equal(sl_esp_seal(&tx, &t.p, 4), SL_DROP_NOKEY);
	pkt_free(&t);
}

static void test_sa_init_invalid(void **state)
{
	struct sl_esp_sa sa;
	static const struct sl_esp_sa zero;

	assert_int_equal(sl_esp_sa_init(&sa, SL_CIPHER_AES128GCM, test_key, 16, test_salt, 0, false,
					true, 0),
			 -EINVAL);
	assert_int_equal(sl_esp_sa_init(&sa, SL_CIPHER_AES128GCM, test_key, 32, test_salt, 1, false,
					true, 0),
			 -EINVAL);
	assert_int_equal(
		sl_esp_sa_init(&sa, SL_CIPHER__COUNT, test_key, 16, test_salt, 1, false, true, 0),
		-EINVAL);
	assert_int_equal(sl_esp_sa_init(&sa, SL_CIPHER_AES128GCM, test_key, 16, test_salt, 1, false,
					false, 31),
			 -EINVAL);
	assert_memory_equal(&sa, &zero, sizeof(sa));
	sl_esp_sa_clear(&sa);

	assert_int_equal(sl_esp_sa_init(&sa, SL_CIPHER_AES128GCM, test_key, 16, test_salt, 1, true,
					false, 32),
			 0);
	assert_int_equal(sa.dir.replay.window, 64);
	assert_true(sa.esn);
	sl_esp_sa_clear(&sa);
	assert_memory_equal(&sa, &zero, sizeof(sa));
}

static void test_classify(void **state)
{
	static const uint8_t keepalive[] = {0xff};
	static const uint8_t ike[] = {0, 0, 0, 0, 0x12, 0x34};
	static const uint8_t esp[] = {0, 0, 1, 0, 0, 0, 0, 1};

	assert_int_equal(sl_esp_classify(keepalive, 1), SL_ESP_KIND_NAT_KEEPALIVE);
	assert_int_equal(sl_esp_classify((const uint8_t[]){0xfe}, 1), SL_ESP_KIND_MALFORMED);
	assert_int_equal(sl_esp_classify(keepalive, 0), SL_ESP_KIND_MALFORMED);
	assert_int_equal(sl_esp_classify(ike, 4), SL_ESP_KIND_IKE);
	assert_int_equal(sl_esp_classify(ike, sizeof(ike)), SL_ESP_KIND_IKE);
	assert_int_equal(sl_esp_classify(ike, 3), SL_ESP_KIND_MALFORMED);
	assert_int_equal(sl_esp_classify(esp, sizeof(esp)), SL_ESP_KIND_ESP);
	assert_int_equal(sl_esp_classify(esp, 7), SL_ESP_KIND_MALFORMED);
	assert_int_equal(sl_esp_classify(esp, 4), SL_ESP_KIND_MALFORMED);
	assert_int_equal(sl_esp_spi(esp), 0x100);
	assert_int_equal(sl_esp_classify((const uint8_t[]){0xff, 0xff}, 2), SL_ESP_KIND_MALFORMED);
}

static void test_nh_for_ip(void **state)
{
	assert_int_equal(sl_esp_nh_for_ip((const uint8_t[]){0x45}, 1), SL_ESP_NH_IPV4);
	assert_int_equal(sl_esp_nh_for_ip((const uint8_t[]){0x4f}, 1), SL_ESP_NH_IPV4);
	assert_int_equal(sl_esp_nh_for_ip((const uint8_t[]){0x60}, 1), SL_ESP_NH_IPV6);
	assert_int_equal(sl_esp_nh_for_ip((const uint8_t[]){0x50}, 1), 0);
	assert_int_equal(sl_esp_nh_for_ip((const uint8_t[]){0x04}, 1), 0);
	assert_int_equal(sl_esp_nh_for_ip((const uint8_t[]){0x45}, 0), 0);
}

static void test_proto_ops(void **state)
{
	assert_string_equal(sl_proto_esp.name, "esp");
	assert_int_equal(sl_proto_esp.headroom, SL_ESP_HDR_LEN);
	assert_int_equal(sl_proto_esp.tailroom, 3 + 2 + ICV_LEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gcm_vector_a_open),
		cmocka_unit_test(test_gcm_vector_a_seal),
		cmocka_unit_test(test_gcm_vector_b_open),
		cmocka_unit_test(test_gcm_vector_b_seal),
		cmocka_unit_test(test_gcm_vector_b_seq_high_from_window),
		cmocka_unit_test(test_rfc7634_appendix_a_open),
		cmocka_unit_test(test_rfc7634_appendix_a_seal),
		cmocka_unit_test(test_round_trip_all_ciphers_esn_lengths),
		cmocka_unit_test(test_room_exact_and_short),
		cmocka_unit_test(test_seal_ext_equals_seal_whole),
		cmocka_unit_test(test_seal_ext_needs_room_for_the_tail),
		cmocka_unit_test(test_tampered_byte_anywhere),
		cmocka_unit_test(test_replayed_packet),
		cmocka_unit_test(test_too_old_packet),
		cmocka_unit_test(test_wrong_spi),
		cmocka_unit_test(test_too_short),
		cmocka_unit_test(test_bad_padding),
		cmocka_unit_test(test_esn_inference_across_boundary),
		cmocka_unit_test(test_esn_nothing_before_first_subspace),
		cmocka_unit_test(test_seq_exhaustion),
		cmocka_unit_test(test_shared_seq_two_copies),
		cmocka_unit_test(test_wrong_direction),
		cmocka_unit_test(test_sa_init_invalid),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_nh_for_ip),
		cmocka_unit_test(test_proto_ops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
