// SPDX-License-Identifier: MIT
/*
 * OpenVPN 2.6 data channel: opcode byte and classification, AEAD seal/open
 * (exact header bytes, AAD coverage, replay, packet-id wrap), key2 mapping,
 * the legacy PRF, compression framing stubs and ping/OCC detection.
 *
 * Known answers: the TLS 1.0 PRF vector is OpenVPN's own
 * (openvpn:tests/unit_tests/openvpn/test_crypto.c crypto_test_tls_prf).
 * The key expansion and the two data packets were computed independently
 * with Python (hmac/hashlib for RFC 2246 §5 P_MD5 xor P_SHA1, the
 * `cryptography` package's AESGCM and ChaCha20Poly1305), following the
 * layout of docs/protocols.md §2.4, 2.8, 2.9(b):
 *   nonce = pid.to_bytes(4) + key2[slot+64:slot+72]
 *   V2: hdr = ((9<<3|kid)<<24 | peer).to_bytes(4) + pid.to_bytes(4); aad = hdr
 *   V1: hdr = bytes([6<<3|kid]) + pid.to_bytes(4);                  aad = hdr[1:]
 *   ct = AEAD(key2[slot:slot+32]).encrypt(nonce, payload, aad)
 *   wire = hdr + ct[-16:] + ct[:-16]
 */
#include "proto/ovpn_data.h"

#include "core/bytes.h"

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

/* Room for any seal: the ops table's promise. */
static void pkt_make_roomy(struct test_pkt *t, const uint8_t *data, uint32_t len)
{
	pkt_make(t, sl_proto_ovpn_data.headroom, data, len, sl_proto_ovpn_data.tailroom);
}

static void fill(uint8_t *b, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed ^ (i * 31));
}

static const uint8_t test_key[32] = {0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
				     0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
				     0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
				     0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f};
static const uint8_t test_iv[SL_OVPN_IMPLICIT_IV_LEN] = {0xa0, 0xa1, 0xa2, 0xa3,
							 0xa4, 0xa5, 0xa6, 0xa7};
#define TEST_PEER_ID 0x123456u
#define TEST_KEY_ID  3

/* tx sends V2 with peer_id unless it is SL_OVPN_PEER_ID_NONE; rx takes both. */
static void sa_pair(enum sl_cipher c, uint8_t key_id, uint32_t peer_id, struct sl_ovpn_sa *tx,
		    struct sl_ovpn_sa *rx)
{
	size_t klen = sl_cipher_key_len(c);

	assert_int_equal(sl_ovpn_sa_init(tx, c, test_key, klen, test_iv, key_id, peer_id, true, 0),
			 0);
	assert_int_equal(sl_ovpn_sa_init(rx, c, test_key, klen, test_iv, key_id, peer_id, false, 0),
			 0);
}

static void sa_pair_clear(struct sl_ovpn_sa *tx, struct sl_ovpn_sa *rx)
{
	sl_ovpn_sa_clear(tx);
	sl_ovpn_sa_clear(rx);
}

/* One sealed packet kept as bytes, so each check can start from a fresh copy. */
struct sealed {
	uint8_t bytes[256];
	uint32_t len;
	uint8_t payload[100];
	uint32_t payload_len;
};

static void seal_one(struct sl_ovpn_sa *tx, struct sealed *s, uint32_t len)
{
	struct test_pkt t;

	assert_true(len <= sizeof(s->payload));
	fill(s->payload, len, 0x5a);
	s->payload_len = len;
	pkt_make_roomy(&t, s->payload, len);
	assert_int_equal(sl_ovpn_seal(tx, &t.p), SL_DROP_NONE);
	assert_true(t.p.len <= sizeof(s->bytes));
	memcpy(s->bytes, t.p.data, t.p.len);
	s->len = t.p.len;
	pkt_free(&t);
}

/* Open a copy of bytes; expect `want`; on success the payload, on failure the same length. */
static void expect_open(struct sl_ovpn_sa *rx, const uint8_t *bytes, uint32_t len,
			const struct sealed *s, enum sl_drop want)
{
	struct test_pkt t;

	pkt_make(&t, 8, bytes, len, 8);
	assert_int_equal(sl_ovpn_open(rx, &t.p), want);
	if (want == SL_DROP_NONE) {
		assert_int_equal(t.p.len, s->payload_len);
		assert_memory_equal(t.p.data, s->payload, s->payload_len);
	} else {
		assert_int_equal(t.p.len, len);
		assert_ptr_equal(t.p.data, t.mem + 8);
	}
	pkt_free(&t);
}

static void test_opcode_byte_helpers(void **state)
{
	assert_int_equal(sl_ovpn_op_byte(SL_OVPN_P_DATA_V1, 0), 0x30);
	assert_int_equal(sl_ovpn_op_byte(SL_OVPN_P_DATA_V2, 0), 0x48);
	assert_int_equal(sl_ovpn_op_byte(SL_OVPN_P_DATA_V2, 7), 0x4f);
	assert_int_equal(sl_ovpn_op_byte(SL_OVPN_P_CONTROL_HARD_RESET_CLIENT_V2, 0), 0x38);
	assert_int_equal(sl_ovpn_opcode(0x4f), SL_OVPN_P_DATA_V2);
	assert_int_equal(sl_ovpn_key_id(0x4f), 7);
	assert_int_equal(sl_ovpn_opcode(0x59), SL_OVPN_P_CONTROL_WKC_V1);
	assert_int_equal(sl_ovpn_key_id(0x59), 1);
}

static void test_classify(void **state)
{
	uint8_t d[64] = {0};
	struct sl_ovpn_class c;

	d[0] = 0x4a; /* P_DATA_V2, key id 2 */
	d[1] = 0xab;
	d[2] = 0xcd;
	d[3] = 0xef;
	assert_int_equal(sl_ovpn_classify(d, SL_OVPN_V2_HDR_LEN + 1, &c), SL_OVPN_KIND_DATA_V2);
	assert_int_equal(c.kind, SL_OVPN_KIND_DATA_V2);
	assert_int_equal(c.opcode, 9);
	assert_int_equal(c.key_id, 2);
	assert_int_equal(c.peer_id, 0xabcdef);
	/* header and tag but no ciphertext: OpenVPN's "missing payload" */
	assert_int_equal(sl_ovpn_classify(d, SL_OVPN_V2_HDR_LEN, &c), SL_OVPN_KIND_MALFORMED);
	assert_int_equal(c.key_id, 2);

	d[0] = 0x35; /* P_DATA_V1, key id 5 */
	assert_int_equal(sl_ovpn_classify(d, SL_OVPN_V1_HDR_LEN + 1, &c), SL_OVPN_KIND_DATA_V1);
	assert_int_equal(c.key_id, 5);
	assert_int_equal(c.peer_id, SL_OVPN_PEER_ID_NONE);
	assert_int_equal(sl_ovpn_classify(d, SL_OVPN_V1_HDR_LEN, &c), SL_OVPN_KIND_MALFORMED);

	for (uint8_t op = 0; op < 32; op++) {
		enum sl_ovpn_kind want = SL_OVPN_KIND_MALFORMED;

		if (op == 6)
			want = SL_OVPN_KIND_DATA_V1;
		else if (op == 9)
			want = SL_OVPN_KIND_DATA_V2;
		else if (op >= 3 && op <= 11)
			want = SL_OVPN_KIND_CONTROL;
		d[0] = sl_ovpn_op_byte(op, 1);
		assert_int_equal(sl_ovpn_classify(d, sizeof(d), &c), want);
		assert_int_equal(c.opcode, op);
	}
	/* control: op byte and 8-byte session id at least */
	d[0] = sl_ovpn_op_byte(SL_OVPN_P_ACK_V1, 0);
	assert_int_equal(sl_ovpn_classify(d, 9, &c), SL_OVPN_KIND_CONTROL);
	assert_int_equal(sl_ovpn_classify(d, 8, &c), SL_OVPN_KIND_MALFORMED);
	assert_int_equal(sl_ovpn_classify(d, 0, &c), SL_OVPN_KIND_MALFORMED);
}

/* Seal then open one payload; checks the header on the way. */
static void round_trip(struct sl_ovpn_sa *tx, struct sl_ovpn_sa *rx, uint32_t len)
{
	bool v2 = tx->peer_id != SL_OVPN_PEER_ID_NONE;
	uint32_t hdr_len = v2 ? SL_OVPN_V2_HDR_LEN : SL_OVPN_V1_HDR_LEN;
	struct sl_ovpn_class c;
	uint8_t payload[1500];
	struct test_pkt t;

	fill(payload, len, (uint8_t)len);
	pkt_make_roomy(&t, payload, len);
	assert_int_equal(sl_ovpn_seal(tx, &t.p), SL_DROP_NONE);
	assert_int_equal(t.p.len, len + hdr_len);
	assert_int_equal(sl_ovpn_classify(t.p.data, t.p.len, &c),
			 v2 ? SL_OVPN_KIND_DATA_V2 : SL_OVPN_KIND_DATA_V1);
	assert_int_equal(c.key_id, tx->key_id);
	assert_int_equal(sl_get_be32(t.p.data + hdr_len - SL_OVPN_TAG_LEN - 4), tx->packet_id);
	assert_int_equal(sl_ovpn_open(rx, &t.p), SL_DROP_NONE);
	assert_int_equal(t.p.len, len);
	assert_memory_equal(t.p.data, payload, len);
	assert_int_equal(sl_pkt_headroom(&t.p), sl_proto_ovpn_data.headroom);
	pkt_free(&t);
}

static void test_round_trip_v1_v2_all_ciphers(void **state)
{
	static const uint32_t peers[] = {SL_OVPN_PEER_ID_NONE, TEST_PEER_ID, 0};

	for (int ci = 0; ci < SL_CIPHER__COUNT; ci++) {
		for (size_t pi = 0; pi < sizeof(peers) / sizeof(peers[0]); pi++) {
			struct sl_ovpn_sa tx, rx;

			sa_pair((enum sl_cipher)ci, (uint8_t)(ci + pi), peers[pi], &tx, &rx);
			for (uint32_t len = 1; len <= 1500; len += len < 40 ? 1 : 37)
				round_trip(&tx, &rx, len);
			round_trip(&tx, &rx, 1500);
			assert_int_equal(rx.dir.replay.top, tx.packet_id);
			sa_pair_clear(&tx, &rx);
		}
	}
}

static void test_header_bytes_v2(void **state)
{
	struct sl_ovpn_sa tx, rx;
	struct sealed s;

	sa_pair(SL_CIPHER_AES256GCM, TEST_KEY_ID, TEST_PEER_ID, &tx, &rx);
	tx.packet_id = 0x01020303;
	seal_one(&tx, &s, 40);
	assert_int_equal(s.len, 24 + 40);
	assert_int_equal(s.bytes[0], 9 << 3 | TEST_KEY_ID); /* 0x4b */
	assert_int_equal(s.bytes[1], 0x12);
	assert_int_equal(s.bytes[2], 0x34);
	assert_int_equal(s.bytes[3], 0x56);
	assert_int_equal(s.bytes[4], 0x01);
	assert_int_equal(s.bytes[5], 0x02);
	assert_int_equal(s.bytes[6], 0x03);
	assert_int_equal(s.bytes[7], 0x04);
	assert_int_equal(tx.packet_id, 0x01020304);
	sa_pair_clear(&tx, &rx);
}

static void test_header_bytes_v1(void **state)
{
	struct sl_ovpn_sa tx, rx;
	struct sealed s;

	sa_pair(SL_CIPHER_CHACHA20POLY1305, TEST_KEY_ID, SL_OVPN_PEER_ID_NONE, &tx, &rx);
	seal_one(&tx, &s, 40);
	assert_int_equal(s.len, 21 + 40);
	assert_int_equal(s.bytes[0], 6 << 3 | TEST_KEY_ID); /* 0x33 */
	assert_int_equal(sl_get_be32(s.bytes + 1), 1);	    /* first packet-id is 1 */
	seal_one(&tx, &s, 40);
	assert_int_equal(sl_get_be32(s.bytes + 1), 2);
	sa_pair_clear(&tx, &rx);
}

/* Two rx SAs with the same key but different key ids: only the op byte tells them apart. */
static void twin_rx(enum sl_cipher c, uint8_t key_id, struct sl_ovpn_sa *rx)
{
	assert_int_equal(sl_ovpn_sa_init(rx, c, test_key, sl_cipher_key_len(c), test_iv, key_id,
					 SL_OVPN_PEER_ID_NONE, false, 0),
			 0);
}

static void test_v2_aad_covers_op_and_peer_id(void **state)
{
	struct sl_ovpn_sa tx, rx, twin;
	uint8_t bad[256];
	struct sealed s;

	sa_pair(SL_CIPHER_AES128GCM, TEST_KEY_ID, TEST_PEER_ID, &tx, &rx);
	twin_rx(SL_CIPHER_AES128GCM, TEST_KEY_ID ^ 1, &twin);
	seal_one(&tx, &s, 60);
	for (int i = 1; i <= 3; i++) {
		memcpy(bad, s.bytes, s.len);
		bad[i] ^= 0x01;
		expect_open(&rx, bad, s.len, &s, SL_DROP_AUTH);
	}
	/* The op byte is in the AAD: the twin with the flipped key id cannot open it. */
	memcpy(bad, s.bytes, s.len);
	bad[0] ^= 0x01;
	expect_open(&twin, bad, s.len, &s, SL_DROP_AUTH);
	expect_open(&rx, bad, s.len, &s, SL_DROP_NOKEY);
	expect_open(&rx, s.bytes, s.len, &s, SL_DROP_NONE);
	sl_ovpn_sa_clear(&twin);
	sa_pair_clear(&tx, &rx);
}

static void test_v1_op_byte_not_authenticated(void **state)
{
	struct sl_ovpn_sa tx, rx, twin;
	struct sl_ovpn_class c;
	uint8_t bad[256];
	struct sealed s;

	sa_pair(SL_CIPHER_AES128GCM, TEST_KEY_ID, SL_OVPN_PEER_ID_NONE, &tx, &rx);
	twin_rx(SL_CIPHER_AES128GCM, TEST_KEY_ID ^ 1, &twin);
	seal_one(&tx, &s, 60);
	memcpy(bad, s.bytes, s.len);
	bad[0] ^= 0x01;
	/* Not covered by the tag: the twin opens it; only classify sees the changed key id. */
	assert_int_equal(sl_ovpn_classify(bad, s.len, &c), SL_OVPN_KIND_DATA_V1);
	assert_int_equal(c.key_id, TEST_KEY_ID ^ 1);
	expect_open(&rx, bad, s.len, &s, SL_DROP_NOKEY);
	expect_open(&twin, bad, s.len, &s, SL_DROP_NONE);
	/* Turning it into a control opcode is caught by classify before any crypto. */
	bad[0] = sl_ovpn_op_byte(SL_OVPN_P_CONTROL_V1, TEST_KEY_ID);
	assert_int_equal(sl_ovpn_classify(bad, s.len, &c), SL_OVPN_KIND_CONTROL);
	expect_open(&rx, bad, s.len, &s, SL_DROP_MALFORMED);
	/* The packet-id is authenticated. */
	memcpy(bad, s.bytes, s.len);
	bad[4] ^= 0x02;
	expect_open(&rx, bad, s.len, &s, SL_DROP_AUTH);
	sl_ovpn_sa_clear(&twin);
	sa_pair_clear(&tx, &rx);
}

static void test_tag_and_ciphertext_tamper(void **state)
{
	struct sl_ovpn_sa tx, rx;
	uint8_t bad[256];
	struct sealed s;

	sa_pair(SL_CIPHER_CHACHA20POLY1305, 0, TEST_PEER_ID, &tx, &rx);
	seal_one(&tx, &s, 50);
	for (uint32_t i = 8; i < s.len; i += 7) {
		memcpy(bad, s.bytes, s.len);
		bad[i] ^= 0x80;
		expect_open(&rx, bad, s.len, &s, SL_DROP_AUTH);
	}
	/* Truncated by one byte: tag still checked, fails. */
	expect_open(&rx, s.bytes, s.len - 1, &s, SL_DROP_AUTH);
	expect_open(&rx, s.bytes, SL_OVPN_V2_HDR_LEN, &s, SL_DROP_MALFORMED);
	expect_open(&rx, s.bytes, s.len, &s, SL_DROP_NONE);
	sa_pair_clear(&tx, &rx);
}

static void test_replay(void **state)
{
	struct sl_ovpn_sa tx, rx;
	struct sealed s1, s2, s3;

	sa_pair(SL_CIPHER_AES256GCM, 1, TEST_PEER_ID, &tx, &rx);
	seal_one(&tx, &s1, 30);
	seal_one(&tx, &s2, 30);
	seal_one(&tx, &s3, 30);
	expect_open(&rx, s3.bytes, s3.len, &s3, SL_DROP_NONE);
	expect_open(&rx, s1.bytes, s1.len, &s1, SL_DROP_NONE); /* late but inside the window */
	expect_open(&rx, s1.bytes, s1.len, &s1, SL_DROP_REPLAY);
	expect_open(&rx, s3.bytes, s3.len, &s3, SL_DROP_REPLAY);
	expect_open(&rx, s2.bytes, s2.len, &s2, SL_DROP_NONE);
	/* Far behind the window: too old. */
	tx.packet_id = 100000;
	seal_one(&tx, &s1, 30);
	expect_open(&rx, s1.bytes, s1.len, &s1, SL_DROP_NONE);
	expect_open(&rx, s2.bytes, s2.len, &s2, SL_DROP_REPLAY);
	sa_pair_clear(&tx, &rx);
}

static void test_key_id_and_direction_checks(void **state)
{
	struct sl_ovpn_sa tx, rx, other;
	struct test_pkt t;
	struct sealed s;
	uint8_t one = 0x45;

	sa_pair(SL_CIPHER_AES128GCM, 2, TEST_PEER_ID, &tx, &rx);
	twin_rx(SL_CIPHER_AES128GCM, 4, &other);
	seal_one(&tx, &s, 20);
	expect_open(&other, s.bytes, s.len, &s, SL_DROP_NOKEY);
	expect_open(&tx, s.bytes, s.len, &s, SL_DROP_NOKEY); /* a tx SA cannot open */
	pkt_make_roomy(&t, &one, 1);
	assert_int_equal(sl_ovpn_seal(&rx, &t.p), SL_DROP_NOKEY); /* an rx SA cannot seal */
	assert_int_equal(t.p.len, 1);
	pkt_free(&t);
	sl_ovpn_sa_clear(&other);
	sa_pair_clear(&tx, &rx);
}

static void test_sa_init_rejects_bad_arguments(void **state)
{
	struct sl_ovpn_sa sa;

	assert_int_equal(
		sl_ovpn_sa_init(&sa, SL_CIPHER_AES128GCM, test_key, 32, test_iv, 0, 0, true, 0),
		-EINVAL);
	assert_int_equal(
		sl_ovpn_sa_init(&sa, SL_CIPHER_AES128GCM, test_key, 16, test_iv, 8, 0, true, 0),
		-EINVAL);
	assert_int_equal(sl_ovpn_sa_init(&sa, SL_CIPHER_AES128GCM, test_key, 16, test_iv, 0,
					 0x1000000, true, 0),
			 -EINVAL);
	assert_int_equal(
		sl_ovpn_sa_init(&sa, SL_CIPHER_AES128GCM, test_key, 16, NULL, 0, 0, true, 0),
		-EINVAL);
	assert_int_equal(
		sl_ovpn_sa_init(&sa, SL_CIPHER_AES128GCM, test_key, 16, test_iv, 0, 0, false, 1),
		-EINVAL); /* replay window below the minimum */
	sl_ovpn_sa_clear(&sa);
}

/* Empty payloads are refused; exactly the header's headroom is enough, one byte less is not. */
static void test_seal_room_and_empty(void **state)
{
	uint8_t payload[16];
	struct sl_ovpn_sa tx, rx;
	struct test_pkt t;

	fill(payload, sizeof(payload), 3);
	sa_pair(SL_CIPHER_AES128GCM, 0, TEST_PEER_ID, &tx, &rx);
	pkt_make(&t, 64, payload, 0, 0);
	assert_int_equal(sl_ovpn_seal(&tx, &t.p), SL_DROP_MALFORMED);
	pkt_free(&t);
	pkt_make(&t, SL_OVPN_V2_HDR_LEN - 1, payload, 16, 0);
	assert_int_equal(sl_ovpn_seal(&tx, &t.p), SL_DROP_TOOBIG);
	assert_int_equal(t.p.len, 16);
	assert_memory_equal(t.p.data, payload, 16);
	pkt_free(&t);
	assert_int_equal(tx.packet_id, 0);
	pkt_make(&t, SL_OVPN_V2_HDR_LEN, payload, 16, 0);
	assert_int_equal(sl_ovpn_seal(&tx, &t.p), SL_DROP_NONE);
	assert_int_equal(t.p.len, t.p.cap);
	pkt_free(&t);
	sa_pair_clear(&tx, &rx);
}

/*
 * Workers > 1: two tx SAs (one AEAD context each) draw packet-ids from one counter; the peer's
 * one rx SA opens them all, in any order; the counter stops at its end for both.
 */
static void test_shared_packet_id_two_copies(void **state)
{
	struct sl_ovpn_sa tx[2], rx;
	_Atomic uint32_t pid = 0;
	struct sealed s[6];
	struct test_pkt t;
	uint8_t payload[8] = {1, 2, 3, 4, 5, 6, 7, 8};

	(void)state;
	sa_pair(SL_CIPHER_AES256GCM, 3, 42, &tx[0], &rx);
	assert_int_equal(
		sl_ovpn_sa_init(&tx[1], SL_CIPHER_AES256GCM, test_key, 32, test_iv, 3, 42, true, 0),
		0);
	tx[0].shared_pid = tx[1].shared_pid = &pid;
	for (int i = 0; i < 6; i++) {
		seal_one(&tx[i % 3 == 0], &s[i], 30);
		assert_int_equal(sl_get_be32(s[i].bytes + 4),
				 (uint32_t)(i + 1)); /* V2: after peer-id */
	}
	assert_int_equal(atomic_load(&pid), 6);
	assert_int_equal(sl_ovpn_tx_packet_id(&tx[0]), 6);
	assert_int_equal(tx[0].packet_id, 0); /* the SA's own counter is not used */
	for (int i = 5; i >= 0; i--)	      /* out of order, as two workers may send */
		expect_open(&rx, s[i].bytes, s[i].len, &s[i], SL_DROP_NONE);
	expect_open(&rx, s[2].bytes, s[2].len, &s[2], SL_DROP_REPLAY);

	atomic_store(&pid, SL_OVPN_PACKET_ID_WRAP_TRIGGER);
	assert_true(sl_ovpn_near_wrap(&tx[1]));
	atomic_store(&pid, 0xFFFFFFFEu);
	seal_one(&tx[1], &s[0], 10);
	assert_int_equal(sl_get_be32(s[0].bytes + 4), 0xFFFFFFFFu);
	for (int c = 0; c < 2; c++) {
		pkt_make_roomy(&t, payload, sizeof(payload));
		assert_int_equal(sl_ovpn_seal(&tx[c], &t.p), SL_DROP_NOKEY);
		assert_int_equal(t.p.len, sizeof(payload));
		pkt_free(&t);
	}
	assert_int_equal(atomic_load(&pid), 0xFFFFFFFFu); /* stopped, not wrapped to 0 */
	sl_ovpn_sa_clear(&tx[1]);
	sa_pair_clear(&tx[0], &rx);
}

static void test_packet_id_wrap(void **state)
{
	struct sl_ovpn_sa tx, rx;
	struct test_pkt t;
	struct sealed s;
	uint8_t payload[8] = {1, 2, 3, 4, 5, 6, 7, 8};

	sa_pair(SL_CIPHER_AES256GCM, 0, SL_OVPN_PEER_ID_NONE, &tx, &rx);
	tx.packet_id = SL_OVPN_PACKET_ID_WRAP_TRIGGER - 2;
	assert_false(sl_ovpn_near_wrap(&tx));
	seal_one(&tx, &s, 10);
	assert_false(sl_ovpn_near_wrap(&tx)); /* sent 0xFEFFFFFF */
	seal_one(&tx, &s, 10);
	assert_true(sl_ovpn_near_wrap(&tx)); /* sent 0xFF000000: renegotiate */
	assert_int_equal(sl_get_be32(s.bytes + 1), 0xFF000000u);

	tx.packet_id = 0xFFFFFFFEu;
	seal_one(&tx, &s, 10);
	assert_int_equal(sl_get_be32(s.bytes + 1), 0xFFFFFFFFu); /* the last usable id */
	assert_true(sl_replay_update(&rx.dir.replay, 0xFFFFFFF0u));
	expect_open(&rx, s.bytes, s.len, &s, SL_DROP_NONE);
	pkt_make_roomy(&t, payload, sizeof(payload));
	assert_int_equal(sl_ovpn_seal(&tx, &t.p), SL_DROP_NOKEY);
	assert_int_equal(t.p.len, sizeof(payload));
	assert_memory_equal(t.p.data, payload, sizeof(payload));
	assert_int_equal(tx.packet_id, 0xFFFFFFFFu);
	pkt_free(&t);
	sa_pair_clear(&tx, &rx);
}

/* Legacy key expansion output for the patterned key source below (Python, see top). */
static const char kat_key2[] =
	"079cd169033e6b666bc8939b340644fd889f83ba6ba431520ee44ab8b55635009de4dbf71f5a2d99dbfd8aaa"
	"380bf86ab6d14d361ea47df57e177b107e536680aa80a72652cde4cfb1ac7debf1bc606dac05182721721"
	"4b41dc7be4cabce99c745cad805c6f8feefa0f54201722fb1df0d75108e0a5041a5a8b1f3929aa33e5549f"
	"5567d1dfee8187032779a886cd0f8918776fd1cbf4d7d05b781fd2029a87c3f922b4055e0046c79af09b7e"
	"6bf6bfdc0c38feb6d0a8fd2acb266e1b7bd63b85a761ef55b4d7cc6cd7eb0ab6a3acc9f8e6c09e7f483cf0"
	"263bc174d52317e5c0841aa1d0e3d52139be53bc4a21b20f70a1296dc32c889b78e113a56237a8c9d";

static void kat_key_source(struct sl_ovpn_key_source *src)
{
	for (int i = 0; i < 48; i++)
		src->pre_master[i] = (uint8_t)i;
	for (int i = 0; i < 32; i++) {
		src->client_random1[i] = (uint8_t)(0x40 + i);
		src->client_random2[i] = (uint8_t)(0x60 + i);
		src->server_random1[i] = (uint8_t)(0x80 + i);
		src->server_random2[i] = (uint8_t)(0xa0 + i);
	}
	for (int i = 0; i < 8; i++) {
		src->client_sid[i] = (uint8_t)(0xc0 + i);
		src->server_sid[i] = (uint8_t)(0xd0 + i);
	}
}

static void kat_key2_bytes(uint8_t key2[SL_OVPN_KEY2_LEN])
{
	assert_int_equal(unhex(kat_key2, key2, SL_OVPN_KEY2_LEN), SL_OVPN_KEY2_LEN);
}

/* The ping payload, client -> server (keys[0]), AES-256-GCM, P_DATA_V2 kid 2 peer 0x0a0b0c, pid 1.
 */
static const char kat_v2_aes256[] = "4a0a0b0c00000001333b0af4a3df4df1921961bddffea660"
				    "48bd98d8a508dcf675cdefed95b04c35";
/* FA || ping, server -> client (keys[1]), ChaCha20-Poly1305, P_DATA_V1 kid 1, pid 7. */
static const char kat_v1_chacha[] = "31000000072190c486a2faedc5d3eef144d0514ca7b9040b"
				    "e7eaf36893601cd56949f934fdd5";

/* Seal `plain` with the tx SA after tx_pid; compare with `wire`; open it with the rx SA. */
static void check_kat(enum sl_cipher c, enum sl_ovpn_role sender, uint8_t kid, uint32_t peer,
		      uint32_t pid, const uint8_t *plain, uint32_t plain_len, const char *wire_hex)
{
	struct sl_ovpn_sa s_tx, s_rx, r_tx, r_rx;
	enum sl_ovpn_role receiver =
		sender == SL_OVPN_ROLE_CLIENT ? SL_OVPN_ROLE_SERVER : SL_OVPN_ROLE_CLIENT;
	uint8_t key2[SL_OVPN_KEY2_LEN], wire[128];
	size_t wire_len = unhex(wire_hex, wire, sizeof(wire));
	struct test_pkt t;

	kat_key2_bytes(key2);
	assert_int_equal(sl_ovpn_sas_from_key2(&s_tx, &s_rx, key2, sender, c, kid, peer, 0), 0);
	assert_int_equal(sl_ovpn_sas_from_key2(&r_tx, &r_rx, key2, receiver, c, kid, peer, 0), 0);
	s_tx.packet_id = pid - 1;
	pkt_make_roomy(&t, plain, plain_len);
	assert_int_equal(sl_ovpn_seal(&s_tx, &t.p), SL_DROP_NONE);
	assert_int_equal(t.p.len, wire_len);
	assert_memory_equal(t.p.data, wire, wire_len);
	pkt_free(&t);

	pkt_make(&t, 0, wire, (uint32_t)wire_len, 0);
	assert_int_equal(sl_ovpn_open(&r_rx, &t.p), SL_DROP_NONE);
	assert_int_equal(t.p.len, plain_len);
	assert_memory_equal(t.p.data, plain, plain_len);
	pkt_free(&t);
	/* The sender's own rx key is the other direction's: it must not open it. */
	pkt_make(&t, 0, wire, (uint32_t)wire_len, 0);
	assert_int_equal(sl_ovpn_open(&s_rx, &t.p), SL_DROP_AUTH);
	pkt_free(&t);
	sa_pair_clear(&s_tx, &s_rx);
	sa_pair_clear(&r_tx, &r_rx);
}

static void test_kat_v2_aes256_client_to_server(void **state)
{
	check_kat(SL_CIPHER_AES256GCM, SL_OVPN_ROLE_CLIENT, 2, 0x0a0b0c, 1, sl_ovpn_ping_magic,
		  SL_OVPN_PING_LEN, kat_v2_aes256);
}

static void test_kat_v1_chacha_server_to_client(void **state)
{
	uint8_t plain[1 + SL_OVPN_PING_LEN] = {SL_OVPN_COMP_NO_BYTE};

	memcpy(plain + 1, sl_ovpn_ping_magic, SL_OVPN_PING_LEN);
	check_kat(SL_CIPHER_CHACHA20POLY1305, SL_OVPN_ROLE_SERVER, 1, SL_OVPN_PEER_ID_NONE, 7,
		  plain, sizeof(plain), kat_v1_chacha);
}

/* client tx == server rx and server tx == client rx, byte for byte, for every cipher. */
static void test_key2_client_server_pairs(void **state)
{
	uint8_t key2[SL_OVPN_KEY2_LEN];

	for (size_t i = 0; i < sizeof(key2); i++)
		key2[i] = (uint8_t)(i * 7 + 1);
	for (int ci = 0; ci < SL_CIPHER__COUNT; ci++) {
		struct sl_ovpn_sa c_tx, c_rx, s_tx, s_rx;
		enum sl_cipher c = (enum sl_cipher)ci;

		assert_int_equal(
			sl_ovpn_sas_from_key2(&c_tx, &c_rx, key2, SL_OVPN_ROLE_CLIENT, c, 0, 5, 0),
			0);
		assert_int_equal(
			sl_ovpn_sas_from_key2(&s_tx, &s_rx, key2, SL_OVPN_ROLE_SERVER, c, 0, 5, 0),
			0);
		assert_memory_equal(c_tx.implicit_iv, key2 + 64, 8);
		assert_memory_equal(c_rx.implicit_iv, key2 + 192, 8);
		assert_memory_equal(s_tx.implicit_iv, key2 + 192, 8);
		assert_memory_equal(s_rx.implicit_iv, key2 + 64, 8);
		round_trip(&c_tx, &s_rx, 100);
		round_trip(&s_tx, &c_rx, 100);
		round_trip(&c_tx, &s_rx, 1);
		round_trip(&s_tx, &c_rx, 1);
		sa_pair_clear(&c_tx, &c_rx);
		sa_pair_clear(&s_tx, &s_rx);
	}
}

static void test_key2_rejects_bad_arguments(void **state)
{
	uint8_t key2[SL_OVPN_KEY2_LEN] = {0};
	struct sl_ovpn_sa tx, rx;

	assert_int_equal(sl_ovpn_sas_from_key2(&tx, &rx, key2, (enum sl_ovpn_role)2,
					       SL_CIPHER_AES128GCM, 0, 0, 0),
			 -EINVAL);
	assert_int_equal(sl_ovpn_sas_from_key2(&tx, &rx, key2, SL_OVPN_ROLE_CLIENT,
					       SL_CIPHER__COUNT, 0, 0, 0),
			 -EINVAL);
	assert_int_equal(sl_ovpn_sas_from_key2(&tx, &rx, key2, SL_OVPN_ROLE_CLIENT,
					       SL_CIPHER_AES128GCM, 9, 0, 0),
			 -EINVAL);
	assert_int_equal(sl_ovpn_sas_from_key2(&tx, &rx, key2, SL_OVPN_ROLE_CLIENT,
					       SL_CIPHER_AES128GCM, 0, 0, 3),
			 -EINVAL); /* rx window too small: tx must be cleared again */
	assert_null(tx.dir.aead);
	assert_null(rx.dir.aead);
	sa_pair_clear(&tx, &rx);
}

/* OpenVPN's test vector: openvpn:tests/unit_tests/openvpn/test_crypto.c crypto_test_tls_prf. */
static void test_tls1_prf_openvpn_vector(void **state)
{
	static const char secret[] = "Lorem ipsum dolor sit amet, consectetur "
				     "adipisici elit, sed eiusmod tempor incidunt "
				     "ut labore et dolore magna aliqua.";
	static const char seed[] = "Quis aute iure reprehenderit in voluptate "
				   "velit esse cillum dolore";
	uint8_t want[32], out[32];

	unhex("d98c8518c85e946927916acfc2d592fbb1567e4b4b1459e6a904ac2ddab72d67", want,
	      sizeof(want));
	assert_int_equal(sl_ovpn_tls1_prf((const uint8_t *)secret, strlen(secret),
					  (const uint8_t *)seed, strlen(seed), out, sizeof(out)),
			 0);
	assert_memory_equal(out, want, sizeof(out));
}

/*
 * RFC 2246 §5 with an odd secret (the halves share a byte) and an output
 * that is a multiple of neither MD5's nor SHA1's size; reference: Python
 * hmac/hashlib, see the top of this file.
 */
static void test_tls1_prf_odd_secret_python_vector(void **state)
{
	static const char seed[] = "odd secret split";
	uint8_t secret[13], want[70], out[70];

	for (size_t i = 0; i < sizeof(secret); i++)
		secret[i] = (uint8_t)(i + 1);
	unhex("26df1c6ce5390fc1606839be0789bcfaacebfcbd77b6f7a5cdb7948871678003c897e44103ffb765"
	      "ab482033cb0b7d267e8d23d5d9c80fd554725f4f1e051b42088a86cdc38c",
	      want, sizeof(want));
	assert_int_equal(sl_ovpn_tls1_prf(secret, sizeof(secret), (const uint8_t *)seed,
					  strlen(seed), out, sizeof(out)),
			 0);
	assert_memory_equal(out, want, sizeof(out));
}

static void test_tls1_prf_rejects_bad_arguments(void **state)
{
	uint8_t b[8] = {1}, out[8];

	assert_int_equal(sl_ovpn_tls1_prf(b, 0, b, 8, out, 8), -EINVAL);
	assert_int_equal(sl_ovpn_tls1_prf(b, 8, b, 0, out, 8), -EINVAL);
	assert_int_equal(sl_ovpn_tls1_prf(b, 8, b, 8, out, 0), -EINVAL);
	assert_int_equal(sl_ovpn_tls1_prf(NULL, 8, b, 8, out, 8), -EINVAL);
}

static void test_prf_key2_vector(void **state)
{
	struct sl_ovpn_key_source src;
	uint8_t want[SL_OVPN_KEY2_LEN], out[SL_OVPN_KEY2_LEN];

	kat_key_source(&src);
	kat_key2_bytes(want);
	assert_int_equal(sl_ovpn_prf_key2(&src, out), 0);
	assert_memory_equal(out, want, sizeof(out));
	/* Each session id is part of the expansion seed. */
	src.server_sid[7] ^= 1;
	assert_int_equal(sl_ovpn_prf_key2(&src, out), 0);
	assert_memory_not_equal(out, want, sizeof(out));
}

/* Encode then decode in place; check the framed bytes on the way. */
static void comp_both_ways(enum sl_ovpn_comp mode, const uint8_t *in, uint32_t len,
			   const uint8_t *framed, uint32_t framed_len)
{
	struct test_pkt t;

	pkt_make(&t, SL_OVPN_COMP_HEADROOM, in, len, SL_OVPN_COMP_TAILROOM);
	assert_int_equal(sl_ovpn_comp_encode(mode, &t.p), SL_DROP_NONE);
	assert_int_equal(t.p.len, framed_len);
	assert_memory_equal(t.p.data, framed, framed_len);
	assert_int_equal(sl_ovpn_comp_decode(mode, &t.p), SL_OVPN_COMP_OK);
	assert_int_equal(t.p.len, len);
	if (len)
		assert_memory_equal(t.p.data, in, len);
	pkt_free(&t);
}

static const uint8_t ip4[] = {0x45, 0x00, 0x00, 0x14, 0xaa};

static void test_comp_none_and_lzo_no(void **state)
{
	static const uint8_t fa[] = {0xfa, 0x45, 0x00, 0x00, 0x14, 0xaa};

	comp_both_ways(SL_OVPN_COMP_NONE, ip4, sizeof(ip4), ip4, sizeof(ip4));
	comp_both_ways(SL_OVPN_COMP_LZO_NO, ip4, sizeof(ip4), fa, sizeof(fa));
	comp_both_ways(SL_OVPN_COMP_LZO_NO, ip4, 0, ip4, 0);
}

static void test_comp_stub_swap(void **state)
{
	static const uint8_t fb[] = {0xfb, 0x00, 0x00, 0x14, 0xaa, 0x45};
	static const uint8_t one[] = {0x60}, fb_one[] = {0xfb, 0x60};

	comp_both_ways(SL_OVPN_COMP_STUB, ip4, sizeof(ip4), fb, sizeof(fb));
	comp_both_ways(SL_OVPN_COMP_STUB, one, 1, fb_one, 2);
}

static void test_comp_stub_v2(void **state)
{
	static const uint8_t p50[] = {0x50, 0x01, 0x02};
	static const uint8_t esc[] = {0x50, 0x00, 0x50, 0x01, 0x02};

	comp_both_ways(SL_OVPN_COMP_STUB_V2, ip4, sizeof(ip4), ip4, sizeof(ip4));
	comp_both_ways(SL_OVPN_COMP_STUB_V2, p50, sizeof(p50), esc, sizeof(esc));
}

static void expect_decode(enum sl_ovpn_comp mode, const uint8_t *in, uint32_t len,
			  enum sl_ovpn_comp_rc want)
{
	struct test_pkt t;

	pkt_make(&t, 0, in, len, 0);
	assert_int_equal(sl_ovpn_comp_decode(mode, &t.p), want);
	if (want != SL_OVPN_COMP_OK) {
		assert_int_equal(t.p.len, len);
		assert_memory_equal(t.p.data, in, len);
		assert_int_equal(sl_ovpn_comp_drop(want), SL_DROP_MALFORMED);
	}
	pkt_free(&t);
}

/* Real compression gets its own answer so the caller can say "compression not supported". */
static void test_comp_compressed_and_bad_bytes(void **state)
{
	static const uint8_t lzo[] = {0x66, 1, 2}, lz4[] = {0x69, 1, 2}, ip[] = {0x45, 1, 2};
	static const uint8_t v2_lz4[] = {0x50, 0x01, 9}, v2_lzo[] = {0x50, 0x02, 9};
	static const uint8_t v2_bad[] = {0x50, 0x07, 9}, v2_lone[] = {0x50};

	expect_decode(SL_OVPN_COMP_LZO_NO, lzo, 3, SL_OVPN_COMP_UNSUPPORTED);
	expect_decode(SL_OVPN_COMP_LZO_NO, lz4, 3, SL_OVPN_COMP_UNSUPPORTED);
	expect_decode(SL_OVPN_COMP_LZO_NO, ip, 3, SL_OVPN_COMP_MALFORMED);
	expect_decode(SL_OVPN_COMP_STUB, lzo, 3, SL_OVPN_COMP_UNSUPPORTED);
	expect_decode(SL_OVPN_COMP_STUB, lz4, 3, SL_OVPN_COMP_UNSUPPORTED);
	expect_decode(SL_OVPN_COMP_STUB, ip, 3, SL_OVPN_COMP_MALFORMED);
	expect_decode(SL_OVPN_COMP_STUB_V2, v2_lz4, 3, SL_OVPN_COMP_UNSUPPORTED);
	expect_decode(SL_OVPN_COMP_STUB_V2, v2_lzo, 3, SL_OVPN_COMP_UNSUPPORTED);
	expect_decode(SL_OVPN_COMP_STUB_V2, v2_bad, 3, SL_OVPN_COMP_MALFORMED);
	expect_decode(SL_OVPN_COMP_STUB_V2, v2_lone, 1, SL_OVPN_COMP_MALFORMED);
	expect_decode(SL_OVPN_COMP_STUB_V2, lzo, 3, SL_OVPN_COMP_OK); /* no 0x50: plain data */
	expect_decode(SL_OVPN_COMP_NONE, lzo, 3, SL_OVPN_COMP_OK);
	assert_int_equal(sl_ovpn_comp_drop(SL_OVPN_COMP_OK), SL_DROP_NONE);
}

static void test_comp_encode_without_room(void **state)
{
	static const uint8_t p50[] = {0x50, 0x01};
	struct test_pkt t;

	pkt_make(&t, 0, ip4, sizeof(ip4), 0);
	assert_int_equal(sl_ovpn_comp_encode(SL_OVPN_COMP_LZO_NO, &t.p), SL_DROP_TOOBIG);
	assert_int_equal(sl_ovpn_comp_encode(SL_OVPN_COMP_STUB, &t.p), SL_DROP_TOOBIG);
	assert_int_equal(sl_ovpn_comp_encode(SL_OVPN_COMP_STUB_V2, &t.p), SL_DROP_NONE);
	assert_memory_equal(t.p.data, ip4, sizeof(ip4));
	pkt_free(&t);
	pkt_make(&t, 1, p50, sizeof(p50), 0);
	assert_int_equal(sl_ovpn_comp_encode(SL_OVPN_COMP_STUB_V2, &t.p), SL_DROP_TOOBIG);
	assert_int_equal(t.p.len, sizeof(p50));
	pkt_free(&t);
}

static void test_ping_and_occ(void **state)
{
	static const uint8_t ping[] = {0x2a, 0x18, 0x7b, 0xf3, 0x64, 0x1e, 0xb4, 0xcb, 0x07,
				       0xed, 0x2d, 0x0a, 0x98, 0x1f, 0xc7, 0x48, 0x00};
	static const uint8_t occ_exit[] = {0x28, 0x7f, 0x34, 0x6b, 0xd4, 0xef, 0x7a, 0x81, 0x2d,
					   0x56, 0xb8, 0xd3, 0xaf, 0xc5, 0x45, 0x9c, 0x06};
	uint8_t buf[SL_OVPN_OCC_EXIT_LEN], op = 0xff;

	assert_true(sl_ovpn_is_ping(ping, 16));
	assert_false(sl_ovpn_is_ping(ping, 17)); /* exactly 16 bytes */
	assert_false(sl_ovpn_is_ping(ping, 15));
	assert_false(sl_ovpn_is_ping(occ_exit, 16));

	sl_ovpn_put_occ_exit(buf);
	assert_memory_equal(buf, occ_exit, sizeof(occ_exit));
	assert_true(sl_ovpn_is_occ(occ_exit, sizeof(occ_exit), &op));
	assert_int_equal(op, SL_OVPN_OCC_EXIT);
	assert_true(sl_ovpn_is_occ_exit(occ_exit, sizeof(occ_exit)));
	assert_false(sl_ovpn_is_occ(occ_exit, 16, NULL)); /* no opcode byte */
	memcpy(buf, occ_exit, sizeof(buf));
	buf[16] = 0; /* OCC_REQUEST */
	assert_true(sl_ovpn_is_occ(buf, sizeof(buf), NULL));
	assert_false(sl_ovpn_is_occ_exit(buf, sizeof(buf)));
	buf[3] ^= 1;
	assert_false(sl_ovpn_is_occ(buf, sizeof(buf), NULL));
	assert_false(sl_ovpn_is_occ_exit(ping, 16));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opcode_byte_helpers),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_round_trip_v1_v2_all_ciphers),
		cmocka_unit_test(test_header_bytes_v2),
		cmocka_unit_test(test_header_bytes_v1),
		cmocka_unit_test(test_v2_aad_covers_op_and_peer_id),
		cmocka_unit_test(test_v1_op_byte_not_authenticated),
		cmocka_unit_test(test_tag_and_ciphertext_tamper),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_key_id_and_direction_checks),
		cmocka_unit_test(test_sa_init_rejects_bad_arguments),
		cmocka_unit_test(test_seal_room_and_empty),
		cmocka_unit_test(test_packet_id_wrap),
		cmocka_unit_test(test_shared_packet_id_two_copies),
		cmocka_unit_test(test_kat_v2_aes256_client_to_server),
		cmocka_unit_test(test_kat_v1_chacha_server_to_client),
		cmocka_unit_test(test_key2_client_server_pairs),
		cmocka_unit_test(test_key2_rejects_bad_arguments),
		cmocka_unit_test(test_tls1_prf_openvpn_vector),
		cmocka_unit_test(test_tls1_prf_odd_secret_python_vector),
		cmocka_unit_test(test_tls1_prf_rejects_bad_arguments),
		cmocka_unit_test(test_prf_key2_vector),
		cmocka_unit_test(test_comp_none_and_lzo_no),
		cmocka_unit_test(test_comp_stub_swap),
		cmocka_unit_test(test_comp_stub_v2),
		cmocka_unit_test(test_comp_compressed_and_bad_bytes),
		cmocka_unit_test(test_comp_encode_without_room),
		cmocka_unit_test(test_ping_and_occ),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
