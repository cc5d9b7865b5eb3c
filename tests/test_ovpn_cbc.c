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
 * And the data packets of a stock openvpn 2.6.14 client and server (AES-256-CBC,
 * HMAC-SHA256), captured by tests/ovpn_capture.sh into tests/data/ovpn/cbc.pkts with the
 * data keys the client logged at verb 7 (cbc.keys): every one opens to a ping or an
 * IP packet (the ICMP echoes sent through the tunnel, the kernel's IPv6 chatter).
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
#include "test_data.h"
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

static void key_line(const char *keys, const char *what, uint8_t *out, size_t len)
{
	const char *p = strstr(keys, what);
	char hex[160];

	assert_non_null(p);
	p += strlen(what);
	assert_int_equal(sscanf(p, "%159s", hex), 1);
	assert_int_equal(unhex(hex, out, len + 1), len);
}

static void test_stock_capture(void **state)
{
	uint8_t ok_key[32], ok_hmac[32], ik_key[32], ik_hmac[32], wire[2048];
	struct sl_ovpn_cbc_sa c2s, s2c;
	size_t len;
	char *keys = strdup(test_data_read("cbc.keys", &len)), *text, *save = NULL;
	int opened = 0, pings = 0;

	(void)state;
	key_line(keys, "Outgoing CIPHER ", ok_key, 32);
	key_line(keys, "Outgoing HMAC ", ok_hmac, 32);
	key_line(keys, "Incoming CIPHER ", ik_key, 32);
	key_line(keys, "Incoming HMAC ", ik_hmac, 32);
	free(keys);
	/* The client logged its own keys: its outgoing ones open what it sent (c2s). */
	assert_int_equal(sl_ovpn_cbc_init(&c2s, "AES-256-CBC", ok_key, "SHA256", ok_hmac, 0,
					  SL_OVPN_PEER_ID_NONE, false, 0),
			 0);
	assert_int_equal(sl_ovpn_cbc_init(&s2c, "AES-256-CBC", ik_key, "SHA256", ik_hmac, 0,
					  SL_OVPN_PEER_ID_NONE, false, 0),
			 0);
	text = test_data_read("cbc.pkts", &len);
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct test_pkt t;
		size_t n = unhex(line + 4, wire, sizeof(wire));
		uint8_t op = wire[0] >> 3;

		if (op != SL_OVPN_P_DATA_V2 && op != SL_OVPN_P_DATA_V1)
			continue;
		pkt_make(&t, 0, wire, (uint32_t)n, 0);
		assert_int_equal(sl_ovpn_cbc_open(line[0] == 'c' ? &c2s : &s2c, &t.p),
				 SL_DROP_NONE);
		if (sl_ovpn_is_ping(t.p.data, t.p.len))
			pings++;
		else
			assert_true(t.p.data[0] == 0x45 ||
				    t.p.data[0] >> 4 == 6); /* ICMP, IPv6 RS */
		opened++;
		pkt_free(&t);
	}
	printf("    %d stock data packets opened, %d of them keepalive pings\n", opened, pings);
	assert_true(opened >= 6);
	sl_ovpn_cbc_clear(&c2s);
	sl_ovpn_cbc_clear(&s2c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answers),
		cmocka_unit_test(test_seal_open_roundtrip),
		cmocka_unit_test(test_stock_capture),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
