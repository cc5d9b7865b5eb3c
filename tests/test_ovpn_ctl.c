// SPDX-License-Identifier: MIT
/*
 * OpenVPN control channel codecs, checked against packets of stock
 * OpenVPN 2.6.14 (Debian) captured by tests/ovpn_capture.sh into
 * tests/data/ovpn/{plain,tls-auth,tls-crypt}.pkts, with the static keys
 * they were made with (ta.key: --tls-auth, server direction 0, client 1;
 * tc.key: --tls-crypt). For every captured control packet: it parses, it
 * rebuilds to the same bytes, and wrapped packets unwrap with the right
 * direction's key, fail with the wrong one, and rewrap (same replay id and
 * time) to exactly the captured bytes.
 */
#include "proto/ovpn_ctl.h"

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
#include "test_data.h"

#define MAX_PKTS 64
#define MAX_PKT	 2048

struct capture {
	size_t n;
	bool c2s[MAX_PKTS];
	size_t len[MAX_PKTS];
	uint8_t pkt[MAX_PKTS][MAX_PKT];
};

static void load_capture(const char *name, struct capture *c)
{
	size_t len;
	char *text = test_data_read(name, &len), *save = NULL;

	memset(c, 0, sizeof(*c));
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		assert_true(c->n < MAX_PKTS);
		assert_true(!strncmp(line, "c2s ", 4) || !strncmp(line, "s2c ", 4));
		c->c2s[c->n] = line[0] == 'c';
		c->len[c->n] = unhex(line + 4, c->pkt[c->n], MAX_PKT);
		c->n++;
	}
	assert_true(c->n >= 10);
}

static void load_key(const char *name, uint8_t key2[SL_OVPN_KEY2_LEN])
{
	size_t len;
	const char *text = test_data_read(name, &len);

	assert_int_equal(sl_ovpn_static_key_parse(text, len, key2), 0);
}

static bool is_control(const uint8_t *p)
{
	uint8_t op = sl_ovpn_opcode(p[0]);

	return op != SL_OVPN_P_DATA_V1 && op != SL_OVPN_P_DATA_V2;
}

/* A plain control packet parses and rebuilds to the same bytes. */
static void check_roundtrip(const uint8_t *p, size_t len, struct sl_ovpn_ctl *c)
{
	uint8_t out[MAX_PKT];

	assert_int_equal(sl_ovpn_ctl_parse(p, len, c), 0);
	assert_int_equal(sl_ovpn_ctl_len(c), len);
	assert_int_equal(sl_ovpn_ctl_build(c, out, sizeof(out)), (int)len);
	assert_memory_equal(out, p, len);
}

/* The handshake as a 2.6 client and server run it (docs/protocols.md §3.5). */
static void check_handshake(const struct sl_ovpn_ctl *first, const struct sl_ovpn_ctl *second)
{
	assert_int_equal(first->opcode, SL_OVPN_P_CONTROL_HARD_RESET_CLIENT_V2);
	assert_int_equal(first->key_id, 0);
	assert_int_equal(first->n_acks, 0);
	assert_true(first->has_msg_id);
	assert_int_equal(first->msg_id, 0);
	assert_int_equal(first->payload_len, 0);
	assert_int_equal(second->opcode, SL_OVPN_P_CONTROL_HARD_RESET_SERVER_V2);
	assert_int_equal(second->n_acks, 1);
	assert_int_equal(second->acks[0], 0);
	assert_memory_equal(second->peer_sid, first->sid, SL_OVPN_SESSION_ID_LEN);
	assert_int_equal(second->msg_id, 0);
}

/* The third packet: the client's TLS ClientHello, msg id 1, acking the server reset. */
static void check_client_hello(const struct sl_ovpn_ctl *third, const struct sl_ovpn_ctl *second)
{
	assert_int_equal(third->opcode, SL_OVPN_P_CONTROL_V1);
	assert_int_equal(third->msg_id, 1);
	assert_int_equal(third->n_acks, 1);
	assert_memory_equal(third->peer_sid, second->sid, SL_OVPN_SESSION_ID_LEN);
	assert_true(third->payload_len > 5);
	assert_int_equal(third->payload[0], 0x16); /* TLS handshake record */
	assert_int_equal(third->payload[5], 0x01); /* ClientHello */
}

static void test_capture_plain(void **state)
{
	static struct capture cap;
	struct sl_ovpn_ctl c[3];
	size_t nctl = 0;

	(void)state;
	load_capture("plain.pkts", &cap);
	for (size_t i = 0; i < cap.n; i++) {
		struct sl_ovpn_ctl tmp;

		if (!is_control(cap.pkt[i]))
			continue;
		check_roundtrip(cap.pkt[i], cap.len[i], &tmp);
		if (nctl < 3)
			c[nctl] = tmp;
		nctl++;
	}
	assert_true(nctl >= 10);
	check_handshake(&c[0], &c[1]);
	check_client_hello(&c[2], &c[1]);
}

/* Unwrap with the receiver's context, refuse with the sender's, rewrap to the captured bytes. */
static void check_wrapped(struct sl_ovpn_wrap *rx_c2s, struct sl_ovpn_wrap *rx_s2c,
			  struct sl_ovpn_wrap *tx_c2s, struct sl_ovpn_wrap *tx_s2c,
			  const struct capture *cap)
{
	static uint8_t plain[3][MAX_PKT];
	size_t plain_len[3], nctl = 0;
	struct sl_ovpn_ctl c[3];
	size_t id_off = 1 + SL_OVPN_SESSION_ID_LEN;

	if (rx_c2s->mode == SL_OVPN_WRAP_AUTH)
		id_off += rx_c2s->u.auth.md_len;
	for (size_t i = 0; i < cap->n; i++) {
		uint8_t out[MAX_PKT], again[MAX_PKT];
		const uint8_t *p = cap->pkt[i];
		struct sl_ovpn_wrap *rx = cap->c2s[i] ? rx_c2s : rx_s2c;
		struct sl_ovpn_wrap *wrong = cap->c2s[i] ? rx_s2c : rx_c2s;
		struct sl_ovpn_wrap *tx = cap->c2s[i] ? tx_c2s : tx_s2c;
		struct sl_ovpn_ctl tmp;
		int n;

		if (!is_control(p))
			continue;
		/* The other direction's key must not authenticate it (checked before the replay).
		 */
		assert_int_equal(sl_ovpn_unwrap(wrong, p, cap->len[i], out, sizeof(out)), -EACCES);
		n = sl_ovpn_unwrap(rx, p, cap->len[i], out, sizeof(out));
		assert_int_equal(n, (int)(cap->len[i] - sl_ovpn_wrap_overhead(rx)));
		check_roundtrip(out, (size_t)n, &tmp);
		/* The same packet again is a replay. */
		assert_int_equal(sl_ovpn_unwrap(rx, p, cap->len[i], again, sizeof(again)),
				 -EALREADY);
		/* Rewrap with the captured replay id and time: identical bytes. */
		if (tx->mode == SL_OVPN_WRAP_AUTH)
			tx->u.auth.tx_id = sl_get_be32(p + id_off) - 1;
		else
			tx->u.crypt.tx_id = sl_get_be32(p + id_off) - 1;
		assert_int_equal(sl_ovpn_wrap(tx, out, (size_t)n, sl_get_be32(p + id_off + 4),
					      again, sizeof(again)),
				 (int)cap->len[i]);
		assert_memory_equal(again, p, cap->len[i]);
		if (nctl < 3) {
			memcpy(plain[nctl], out, (size_t)n);
			plain_len[nctl] = (size_t)n;
		}
		nctl++;
	}
	assert_true(nctl >= 10);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(sl_ovpn_ctl_parse(plain[i], plain_len[i], &c[i]), 0);
	check_handshake(&c[0], &c[1]);
	check_client_hello(&c[2], &c[1]);
}

static void test_capture_tls_auth(void **state)
{
	static struct capture cap;
	uint8_t key2[SL_OVPN_KEY2_LEN];
	struct sl_ovpn_wrap srv = {.mode = SL_OVPN_WRAP_AUTH}, cli = {.mode = SL_OVPN_WRAP_AUTH};
	struct sl_ovpn_wrap srv_tx = {.mode = SL_OVPN_WRAP_AUTH},
			    cli_tx = {.mode = SL_OVPN_WRAP_AUTH};

	(void)state;
	load_capture("tls-auth.pkts", &cap);
	load_key("ta.key", key2);
	/* Default --auth is SHA1: 20-byte HMAC. */
	assert_int_equal(sl_ovpn_tls_auth_init(&srv.u.auth, key2, 0, "SHA1"), 0);
	assert_int_equal(sl_ovpn_tls_auth_init(&cli.u.auth, key2, 1, "SHA1"), 0);
	assert_int_equal(sl_ovpn_tls_auth_init(&srv_tx.u.auth, key2, 0, "SHA1"), 0);
	assert_int_equal(sl_ovpn_tls_auth_init(&cli_tx.u.auth, key2, 1, "SHA1"), 0);
	assert_int_equal(sl_ovpn_wrap_overhead(&srv), 28);
	check_wrapped(&srv, &cli, &cli_tx, &srv_tx, &cap);
	sl_ovpn_wrap_clear(&srv);
	sl_ovpn_wrap_clear(&cli);
	sl_ovpn_wrap_clear(&srv_tx);
	sl_ovpn_wrap_clear(&cli_tx);
}

static void test_capture_tls_crypt(void **state)
{
	static struct capture cap;
	uint8_t key2[SL_OVPN_KEY2_LEN];
	struct sl_ovpn_wrap srv = {.mode = SL_OVPN_WRAP_CRYPT}, cli = {.mode = SL_OVPN_WRAP_CRYPT};
	struct sl_ovpn_wrap srv_tx = {.mode = SL_OVPN_WRAP_CRYPT},
			    cli_tx = {.mode = SL_OVPN_WRAP_CRYPT};

	(void)state;
	load_capture("tls-crypt.pkts", &cap);
	load_key("tc.key", key2);
	assert_int_equal(sl_ovpn_tls_crypt_init(&srv.u.crypt, key2, SL_OVPN_ROLE_SERVER), 0);
	assert_int_equal(sl_ovpn_tls_crypt_init(&cli.u.crypt, key2, SL_OVPN_ROLE_CLIENT), 0);
	assert_int_equal(sl_ovpn_tls_crypt_init(&srv_tx.u.crypt, key2, SL_OVPN_ROLE_SERVER), 0);
	assert_int_equal(sl_ovpn_tls_crypt_init(&cli_tx.u.crypt, key2, SL_OVPN_ROLE_CLIENT), 0);
	assert_int_equal(sl_ovpn_wrap_overhead(&srv), 40);
	check_wrapped(&srv, &cli, &cli_tx, &srv_tx, &cap);
	sl_ovpn_wrap_clear(&srv);
	sl_ovpn_wrap_clear(&cli);
	sl_ovpn_wrap_clear(&srv_tx);
	sl_ovpn_wrap_clear(&cli_tx);
}

/* A flipped bit anywhere in a tls-crypt packet (header, tag or ciphertext) is refused. */
static void test_tls_crypt_tamper(void **state)
{
	static struct capture cap;
	uint8_t key2[SL_OVPN_KEY2_LEN], out[MAX_PKT], p[MAX_PKT];
	struct sl_ovpn_wrap srv = {.mode = SL_OVPN_WRAP_CRYPT};
	size_t len;

	(void)state;
	load_capture("tls-crypt.pkts", &cap);
	load_key("tc.key", key2);
	assert_int_equal(sl_ovpn_tls_crypt_init(&srv.u.crypt, key2, SL_OVPN_ROLE_SERVER), 0);
	len = cap.len[2];
	for (size_t i = 0; i < len; i++) {
		memcpy(p, cap.pkt[2], len);
		p[i] ^= 0x01;
		assert_int_equal(sl_ovpn_unwrap(&srv, p, len, out, sizeof(out)), -EACCES);
	}
	assert_int_equal(
		sl_ovpn_unwrap(&srv, cap.pkt[2], SL_OVPN_TLS_CRYPT_HDR_LEN + 32, out, sizeof(out)),
		-EBADMSG);
	assert_int_equal(sl_ovpn_unwrap(&srv, cap.pkt[2], len, out, 10), -ENOSPC);
	sl_ovpn_wrap_clear(&srv);
}

static void test_static_key_file(void **state)
{
	uint8_t key2[SL_OVPN_KEY2_LEN];
	size_t len;
	char *text = test_data_read("ta.key", &len), bad[1024];

	(void)state;
	assert_int_equal(sl_ovpn_static_key_parse(text, len, key2), 0);
	/* The first and last hex bytes of the file, as openvpn wrote them. */
	{
		const char *b = strstr(text, "-----\n") + 6;
		unsigned int first;

		while (*b == '\n')
			b++;
		assert_int_equal(sscanf(b, "%2x", &first), 1);
		assert_int_equal(key2[0], first);
	}
	/* One hex digit missing, or no end marker: refused. */
	assert_true(len < sizeof(bad));
	memcpy(bad, text, len + 1);
	*strstr(bad, "-----END") = '\0';
	assert_int_equal(sl_ovpn_static_key_parse(bad, strlen(bad), key2), -EINVAL);
	assert_int_equal(sl_ovpn_static_key_parse("nothing", 7, key2), -EINVAL);
	assert_true(len < sizeof(bad));
	memcpy(bad, text, len + 1);
	{
		char *x = strstr(bad, "-----\n") + 6;

		while (*x == '\n')
			x++;
		x[0] = 'g';
	}
	assert_int_equal(sl_ovpn_static_key_parse(bad, strlen(bad), key2), -EINVAL);
}

static void test_ctl_build_parse_edges(void **state)
{
	struct sl_ovpn_ctl c = {.opcode = SL_OVPN_P_ACK_V1, .n_acks = 0}, d;
	uint8_t out[128];

	(void)state;
	/* P_ACK_V1 needs at least one ack; more than 8 acks never. */
	assert_int_equal(sl_ovpn_ctl_build(&c, out, sizeof(out)), -EINVAL);
	c.n_acks = 9;
	assert_int_equal(sl_ovpn_ctl_build(&c, out, sizeof(out)), -EINVAL);
	c.n_acks = 8;
	for (unsigned i = 0; i < 8; i++)
		c.acks[i] = 0x01020300u + i;
	memset(c.sid, 0xab, sizeof(c.sid));
	memset(c.peer_sid, 0xcd, sizeof(c.peer_sid));
	assert_int_equal(sl_ovpn_ctl_build(&c, out, sizeof(out)), 1 + 8 + 1 + 32 + 8);
	assert_int_equal(out[0], 5 << 3);
	assert_int_equal(out[9], 8);
	assert_int_equal(sl_get_be32(out + 10 + 28), 0x01020307u);
	assert_int_equal(sl_ovpn_ctl_parse(out, 50, &d), 0);
	assert_int_equal(d.n_acks, 8);
	assert_false(d.has_msg_id);
	/* Truncated, trailing bytes after an ack, too many acks on the wire, a data opcode. */
	assert_int_equal(sl_ovpn_ctl_parse(out, 49, &d), -EBADMSG);
	out[50] = 0;
	assert_int_equal(sl_ovpn_ctl_parse(out, 51, &d), -EBADMSG);
	out[9] = 9;
	assert_int_equal(sl_ovpn_ctl_parse(out, 50, &d), -EBADMSG);
	out[9] = 8;
	out[0] = SL_OVPN_P_DATA_V2 << 3;
	assert_int_equal(sl_ovpn_ctl_parse(out, 50, &d), -EBADMSG);
	assert_int_equal(sl_ovpn_ctl_build(&c, out, 49), -ENOSPC);
	/* A control packet with key id 7, no acks and a payload. */
	c = (struct sl_ovpn_ctl){.opcode = SL_OVPN_P_CONTROL_V1,
				 .key_id = 7,
				 .msg_id = 42,
				 .payload = (const uint8_t *)"hello",
				 .payload_len = 5};
	assert_int_equal(sl_ovpn_ctl_build(&c, out, sizeof(out)), 1 + 8 + 1 + 4 + 5);
	assert_int_equal(out[0], 4 << 3 | 7);
	assert_int_equal(sl_ovpn_ctl_parse(out, 19, &d), 0);
	assert_int_equal(d.msg_id, 42);
	assert_memory_equal(d.payload, "hello", 5);
	assert_int_equal(sl_ovpn_ctl_parse(out, 13, &d), -EBADMSG); /* msg id cut */
}

/* Our own wrap/unwrap pairs, for digests other than the captured SHA1. */
static void test_tls_auth_sha256_roundtrip(void **state)
{
	uint8_t key2[SL_OVPN_KEY2_LEN], plain[64], wire[128], back[128];
	struct sl_ovpn_tls_auth tx, rx;
	struct sl_ovpn_ctl c = {.opcode = SL_OVPN_P_CONTROL_V1,
				.msg_id = 3,
				.payload = (const uint8_t *)"x",
				.payload_len = 1};
	int n, w;

	(void)state;
	for (size_t i = 0; i < sizeof(key2); i++)
		key2[i] = (uint8_t)i;
	assert_int_equal(sl_ovpn_tls_auth_init(&tx, key2, 1, "SHA256"), 0);
	assert_int_equal(sl_ovpn_tls_auth_init(&rx, key2, 0, "SHA256"), 0);
	sl_ovpn_tls_auth_clear(&rx);
	assert_int_equal(sl_ovpn_tls_auth_init(&rx, key2, 2, "SHA256"), -EINVAL);
	assert_int_equal(sl_ovpn_tls_auth_init(&rx, key2, 0, "NOPE"), -EINVAL);
	assert_int_equal(sl_ovpn_tls_auth_init(&rx, key2, 0, "SHA256"), 0);
	n = sl_ovpn_ctl_build(&c, plain, sizeof(plain));
	w = sl_ovpn_tls_auth_wrap(&tx, plain, (size_t)n, 1700000000u, wire, sizeof(wire));
	assert_int_equal(w, n + 32 + 8);
	assert_int_equal(sl_get_be32(wire + 9 + 32), 1); /* first replay id */
	assert_int_equal(sl_ovpn_tls_auth_unwrap(&rx, wire, (size_t)w, back, sizeof(back)), n);
	assert_memory_equal(back, plain, (size_t)n);
	/* The op byte is covered too. */
	wire[0] ^= 1;
	assert_int_equal(sl_ovpn_tls_auth_unwrap(&rx, wire, (size_t)w, back, sizeof(back)),
			 -EACCES);
	sl_ovpn_tls_auth_clear(&tx);
	sl_ovpn_tls_auth_clear(&rx);
}

static void test_tcp_framing(void **state)
{
	const uint8_t s[] = {0x00, 0x03, 'a', 'b', 'c', 0x00, 0x02, 'd'};
	const uint8_t *p;
	size_t n;

	(void)state;
	assert_int_equal(sl_ovpn_tcp_next(s, 1, &p, &n), 0);
	assert_int_equal(sl_ovpn_tcp_next(s, 4, &p, &n), 0);
	assert_int_equal(sl_ovpn_tcp_next(s, sizeof(s), &p, &n), 5);
	assert_int_equal(n, 3);
	assert_memory_equal(p, "abc", 3);
	assert_int_equal(sl_ovpn_tcp_next(s + 5, 3, &p, &n), 0); /* 'd' and one more to come */
	assert_int_equal(sl_ovpn_tcp_next((const uint8_t *)"\0\0", 2, &p, &n), -EBADMSG);
}

/* The stateless server's cookie: a function of key, slot, address and client session id only. */
static void test_cookie(void **state)
{
	uint8_t key[SL_OVPN_COOKIE_KEY_LEN], other[SL_OVPN_COOKIE_KEY_LEN];
	const uint8_t addr[6] = {0x04, 0xaa, 198, 18, 0, 2}, sid[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	uint8_t a[8], b[8], c[8];

	(void)state;
	memset(key, 0x11, sizeof(key));
	memset(other, 0x22, sizeof(other));
	assert_int_equal(sl_ovpn_cookie(key, 100, addr, sizeof(addr), sid, a), 0);
	assert_int_equal(sl_ovpn_cookie(key, 100, addr, sizeof(addr), sid, b), 0);
	assert_memory_equal(a, b, 8);
	assert_int_equal(sl_ovpn_cookie(key, 101, addr, sizeof(addr), sid, c), 0);
	assert_memory_not_equal(a, c, 8);
	assert_int_equal(sl_ovpn_cookie(other, 100, addr, sizeof(addr), sid, c), 0);
	assert_memory_not_equal(a, c, 8);
	assert_int_equal(sl_ovpn_cookie(key, 100, addr, sizeof(addr) - 1, sid, c), 0);
	assert_memory_not_equal(a, c, 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capture_plain),
		cmocka_unit_test(test_capture_tls_auth),
		cmocka_unit_test(test_capture_tls_crypt),
		cmocka_unit_test(test_tls_crypt_tamper),
		cmocka_unit_test(test_static_key_file),
		cmocka_unit_test(test_ctl_build_parse_edges),
		cmocka_unit_test(test_tls_auth_sha256_roundtrip),
		cmocka_unit_test(test_tcp_framing),
		cmocka_unit_test(test_cookie),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
