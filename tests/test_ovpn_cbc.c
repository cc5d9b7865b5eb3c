// SPDX-License-Identifier: MIT
/*
 * OpenVPN legacy data channel, AES-CBC + HMAC (proto/ovpn_cbc.c).
 * Known answers: two packets computed independently with Python's
 * `cryptography` (AES-CBC) and hmac/hashlib, following openvpn:crypto.c
 * openvpn_encrypt_v1 (docs/protocols.md §2.5):
 *   key2 = bytes((i*7+5) & 0xff for i in range(256)), IV = 30 31 .. 3f
 *   wire = hdr || HMAC(hmac key, IV || ct) || IV || AES-CBC(key, IV, pid || payload || pkcs7)
 *   1. client->server (keys[0]), AES-256-CBC, SHA256, P_DATA_V2 peer-id 7, key id 0, pid 1
 *   2. server->client (keys[1]), AES-256-CBC, SHA1, P_DATA_V1, key id 2, pid 5
 */
#include "proto/ovpn_cbc.h"

#include "proto/ovpn_data.h"

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

static const char payload[] = "hello openvpn cbc + hmac!";
static const char kat_v2_sha256[] =
	"4800000701951e9523a782f43d47424f72ac2c4c982986a0223e121dcb03077f3cb88858303132333435363738"
	"393a3b3c3d3e3fe51c4903080c00493d49f2b4322f2b492ae7390d58eb602221389d43825d70ad";
static const char kat_v1_sha1[] = "3236512540f98c87fda6d5f904b50c9adfa70a36c3303132333435363738393a"
				  "3b3c3d3e3f385707da2001051957"
				  "1298e972adfb4bb19cd4f3e4a5753b71e0ac9f361d8e53";

static void key2_of_test(uint8_t key2[SL_OVPN_KEY2_LEN])
{
	for (int i = 0; i < SL_OVPN_KEY2_LEN; i++)
		key2[i] = (uint8_t)((i * 7 + 5) & 0xff);
}

/* The SA of one direction: keys[dir] = cipher[64] | hmac[64]. */
static void sa_for(struct sl_ovpn_cbc_sa *sa, int dir, const char *md, uint8_t key_id,
		   uint32_t peer_id, bool tx)
{
	uint8_t key2[SL_OVPN_KEY2_LEN];
	const uint8_t *k;

	key2_of_test(key2);
	k = key2 + dir * SL_OVPN_KEY_LEN;
	assert_int_equal(sl_ovpn_cbc_init(sa, "AES-256-CBC", k, md, k + SL_OVPN_KEY_SLOT_LEN,
					  key_id, peer_id, tx, 0),
			 0);
}

static void open_kat(const char *hex, int dir, const char *md, uint8_t key_id)
{
	struct sl_ovpn_cbc_sa rx;
	struct test_pkt t;
	uint8_t wire[256];
	size_t n = unhex(hex, wire, sizeof(wire));

	sa_for(&rx, dir, md, key_id, SL_OVPN_PEER_ID_NONE, false);
	pkt_make(&t, 0, wire, (uint32_t)n, 0);
	assert_int_equal(sl_ovpn_cbc_open(&rx, &t.p), SL_DROP_NONE);
	assert_int_equal(t.p.len, strlen(payload));
	assert_memory_equal(t.p.data, payload, strlen(payload));
	pkt_free(&t);
	/* The same packet again: a replay. */
	pkt_make(&t, 0, wire, (uint32_t)n, 0);
	assert_int_equal(sl_ovpn_cbc_open(&rx, &t.p), SL_DROP_REPLAY);
	pkt_free(&t);
	/* Any flipped bit after the header fails the HMAC (the header itself is not covered). */
	for (size_t i = (wire[0] >> 3 == 9 ? 4 : 1); i < n; i++) {
		wire[i] ^= 0x40;
		pkt_make(&t, 0, wire, (uint32_t)n, 0);
		assert_int_equal(sl_ovpn_cbc_open(&rx, &t.p), SL_DROP_AUTH);
		pkt_free(&t);
		wire[i] ^= 0x40;
	}
	sl_ovpn_cbc_clear(&rx);
}

static void test_known_answers(void **state)
{
	(void)state;
	open_kat(kat_v2_sha256, 0, "SHA256", 0);
	open_kat(kat_v1_sha1, 1, "SHA1", 2);
}

static void test_seal_open_roundtrip(void **state)
{
	struct sl_ovpn_cbc_sa tx, rx, wrong;
	struct test_pkt t;
	uint8_t data[1500];

	(void)state;
	sa_for(&tx, 0, "SHA256", 3, 42, true);
	sa_for(&rx, 0, "SHA256", 3, SL_OVPN_PEER_ID_NONE, false);
	sa_for(&wrong, 1, "SHA256", 3, SL_OVPN_PEER_ID_NONE, false);
	for (uint32_t len = 1; len <= 1400; len += 37) {
		for (uint32_t i = 0; i < len; i++)
			data[i] = (uint8_t)(i ^ len);
		pkt_make(&t, SL_OVPN_CBC_HEADROOM, data, len, SL_OVPN_CBC_TAILROOM);
		assert_int_equal(sl_ovpn_cbc_seal(&tx, &t.p), SL_DROP_NONE);
		/* header 4 + SHA256 32 + IV 16 + whole blocks of pid || payload */
		assert_int_equal(t.p.len, 4 + 32 + 16 + ((len + 4) / 16 + 1) * 16);
		assert_int_equal(t.p.data[0], SL_OVPN_P_DATA_V2 << 3 | 3);
		assert_int_equal(t.p.data[3], 42);
		if (len == 1) {
			struct test_pkt copy;

			pkt_make(&copy, 0, t.p.data, t.p.len, 0);
			assert_int_equal(sl_ovpn_cbc_open(&wrong, &copy.p), SL_DROP_AUTH);
			pkt_free(&copy);
		}
		assert_int_equal(sl_ovpn_cbc_open(&rx, &t.p), SL_DROP_NONE);
		assert_int_equal(t.p.len, len);
		assert_memory_equal(t.p.data, data, len);
		pkt_free(&t);
	}
	/* No room: refused, packet untouched. */
	pkt_make(&t, 10, data, 100, SL_OVPN_CBC_TAILROOM);
	assert_int_equal(sl_ovpn_cbc_seal(&tx, &t.p), SL_DROP_TOOBIG);
	assert_int_equal(t.p.len, 100);
	pkt_free(&t);
	/* Bad arguments. */
	sl_ovpn_cbc_clear(&wrong);
	assert_int_equal(sl_ovpn_cbc_init(&wrong, "BF-CBC", data, "SHA1", data, 0, 0, true, 0),
			 -EINVAL);
	assert_int_equal(sl_ovpn_cbc_init(&wrong, "AES-128-CBC", data, "NOPE", data, 0, 0, true, 0),
			 -EINVAL);
	assert_int_equal(sl_ovpn_cbc_key_len("aes-128-cbc"), 16);
	sl_ovpn_cbc_clear(&tx);
	sl_ovpn_cbc_clear(&rx);
	sl_ovpn_cbc_clear(&wrong);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answers),
		cmocka_unit_test(test_seal_open_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
