// SPDX-License-Identifier: MIT
/*
 * OpenVPN key-method 2 message and PUSH_REPLY parsing. Vectors: the peer
 * info a stock openvpn 2.6.14 client sent and the PUSH_REPLY a stock
 * server pushed (tests/data/ovpn/peer_info.txt, push_reply.txt, from the
 * logs of tests/ovpn_capture.sh); the key-method 2 layout is
 * openvpn:ssl.c key_method_2_write (docs/protocols.md §3.6), checked here
 * on hand-assembled bytes.
 */
#include "proto/ovpn_km2.h"
#include "proto/ovpn_push.h"

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

#include "test_data.h"

static void fill(uint8_t *p, size_t n, uint8_t start)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(start + i);
}

/* A client's message, written byte by byte from the layout, parses and rebuilds identically. */
static void test_km2_client_layout(void **state)
{
	static const char opts[] = "V4,dev-type tun,tls-client";
	static const char pi[] = "IV_VER=2.6.14\nIV_PROTO=990\n";
	uint8_t wire[512], out[512];
	struct sl_ovpn_km2 m;
	size_t off = 0;

	(void)state;
	sl_put_be32(wire, 0);
	wire[4] = 2;
	off = 5;
	fill(wire + off, 48, 0x10), off += 48;
	fill(wire + off, 32, 0x40), off += 32;
	fill(wire + off, 32, 0x60), off += 32;
	sl_put_be16(wire + off, sizeof(opts)), off += 2;
	memcpy(wire + off, opts, sizeof(opts)), off += sizeof(opts);
	sl_put_be16(wire + off, 0), off += 2; /* no username */
	sl_put_be16(wire + off, 0), off += 2; /* no password */
	sl_put_be16(wire + off, sizeof(pi)), off += 2;
	memcpy(wire + off, pi, sizeof(pi)), off += sizeof(pi);

	assert_int_equal(sl_ovpn_km2_parse(wire, off, true, &m), (int)off);
	assert_int_equal(m.pre_master[0], 0x10);
	assert_int_equal(m.pre_master[47], 0x10 + 47);
	assert_int_equal(m.random1[0], 0x40);
	assert_int_equal(m.random2[31], 0x60 + 31);
	assert_string_equal(m.options, opts);
	assert_string_equal(m.username, "");
	assert_string_equal(m.peer_info, pi);
	assert_int_equal(sl_ovpn_km2_build(&m, true, out, sizeof(out)), (int)off);
	assert_memory_equal(out, wire, off);

	/* As a server's message the same bytes mean something else: no pre_master. */
	assert_int_equal(sl_ovpn_km2_parse(wire, off, false, &m), -EBADMSG);
	/* Wrong key method, truncation, a string without its NUL. */
	wire[4] = 1;
	assert_int_equal(sl_ovpn_km2_parse(wire, off, true, &m), -EBADMSG);
	wire[4] = 2;
	assert_int_equal(sl_ovpn_km2_parse(wire, 5 + 48 + 64 + 3, true, &m), -EBADMSG);
	wire[5 + 48 + 64 + 2 + sizeof(opts) - 1] = 'x';
	assert_int_equal(sl_ovpn_km2_parse(wire, off, true, &m), -EBADMSG);
}

/* A server's message with user/pass strings and no peer info at all. */
static void test_km2_server_roundtrip(void **state)
{
	struct sl_ovpn_km2 m, back;
	uint8_t out[1024];
	int n;

	(void)state;
	memset(&m, 0, sizeof(m));
	fill(m.random1, 32, 1);
	fill(m.random2, 32, 2);
	strcpy(m.options, "V4,dev-type tun,tls-server");
	strcpy(m.username, "alice");
	strcpy(m.password, "secret");
	n = sl_ovpn_km2_build(&m, false, out, sizeof(out));
	assert_int_equal(n, 5 + 64 + 2 + 27 + 2 + 6 + 2 + 7 + 2);
	/* Without the trailing empty peer-info string it still parses. */
	assert_int_equal(sl_ovpn_km2_parse(out, (size_t)n - 2, false, &back), n - 2);
	assert_string_equal(back.username, "alice");
	assert_string_equal(back.password, "secret");
	assert_memory_equal(back.random2, m.random2, 32);
	assert_int_equal(sl_ovpn_km2_build(&m, false, out, 40), -ENOSPC);
}

/* The stock client's peer info: the keys sluice reads from it. */
static void test_peer_info_stock_client(void **state)
{
	size_t len;
	const char *pi = test_data_read("peer_info.txt", &len);
	char v[128];

	(void)state;
	assert_int_equal(sl_ovpn_peer_info_get(pi, "IV_VER", v, sizeof(v)), 6);
	assert_string_equal(v, "2.6.14");
	assert_true(sl_ovpn_peer_info_get(pi, "IV_CIPHERS", v, sizeof(v)) > 0);
	assert_string_equal(v, "AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305");
	assert_int_equal(sl_ovpn_peer_info_get(pi, "IV_PROTO", v, sizeof(v)), 3);
	assert_string_equal(v, "990"); /* docs/protocols.md §3.6 */
	assert_int_equal(sl_ovpn_peer_info_get(pi, "IV_PLAT", v, 3), -ENOSPC);
	assert_int_equal(sl_ovpn_peer_info_get(pi, "IV_NOPE", v, sizeof(v)), -ENOENT);
	assert_int_equal(sl_ovpn_peer_info_get(pi, "IV_VE", v, sizeof(v)), -ENOENT);
}

static void test_push_reply_stock_server(void **state)
{
	size_t len;
	const char *msg = test_data_read("push_reply.txt", &len);
	const uint8_t gw[4] = {198, 19, 8, 1}, me[4] = {198, 19, 8, 2},
		      mask[4] = {255, 255, 255, 0};
	struct sl_ovpn_push p;

	(void)state;
	while (len && msg[len - 1] == '\n')
		len--;
	sl_ovpn_push_init(&p);
	assert_int_equal(sl_ovpn_push_parse(msg, len, &p), 0);
	assert_true(p.has_route_gateway);
	assert_memory_equal(p.route_gateway, gw, 4);
	assert_int_equal(p.topology, SL_OVPN_TOPO_SUBNET);
	assert_int_equal(p.ping, 1);
	assert_int_equal(p.ping_restart, 10);
	assert_true(p.has_ifconfig);
	assert_memory_equal(p.ifconfig_local, me, 4);
	assert_memory_equal(p.ifconfig_arg2, mask, 4);
	assert_int_equal(p.peer_id, 0);
	assert_string_equal(p.cipher, "AES-256-GCM");
	assert_true(p.tls_ekm);
	assert_true(p.cc_exit);
	assert_true(p.dyn_tls_crypt);
	assert_int_equal(p.tun_mtu, 1500);
	assert_true(sl_ovpn_push_complete(&p));
	assert_string_equal(p.unsupported, "");
}

static void test_push_reply_parts_and_errors(void **state)
{
	static const char part1[] = "PUSH_REPLY,route 198.19.9.0 255.255.255.0,push-continuation 2";
	static const char part2[] = "PUSH_REPLY,route-ipv6 2001:db8:5::/48,ifconfig-ipv6 "
				    "2001:db8:1::2/64 2001:db8:1::1,compress lz4-v2,"
				    "dhcp-option DNS 198.19.0.53,push-continuation 1";
	struct sl_ovpn_push p;
	const char *bad[] = {
		"PUSH_REPL",
		"PUSH_REPLYX",
		"PUSH_REPLY,ifconfig 1.2.3",
		"PUSH_REPLY,ping abc",
		"PUSH_REPLY,peer-id 16777216",
		"PUSH_REPLY,topology star",
		"PUSH_REPLY,route-ipv6 2001:db8::/129",
	};

	(void)state;
	sl_ovpn_push_init(&p);
	assert_int_equal(p.peer_id, SL_OVPN_PEER_ID_NONE);
	assert_int_equal(p.ping, -1);
	assert_int_equal(sl_ovpn_push_parse(part1, sizeof(part1), &p), 0); /* NUL included */
	assert_false(sl_ovpn_push_complete(&p));
	assert_int_equal(p.n_routes, 1);
	assert_int_equal(p.routes[0].net[2], 9);
	assert_int_equal(sl_ovpn_push_parse(part2, strlen(part2), &p), 0);
	assert_true(sl_ovpn_push_complete(&p));
	assert_int_equal(p.n_routes6, 1);
	assert_int_equal(p.routes6[0].plen, 48);
	assert_true(p.has_ifconfig6);
	assert_int_equal(p.ifconfig6_plen, 64);
	assert_string_equal(p.unsupported, "compress lz4-v2");
	assert_int_equal(p.n_ignored, 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sl_ovpn_push_init(&p);
		assert_int_equal(sl_ovpn_push_parse(bad[i], strlen(bad[i]), &p), -EBADMSG);
	}
	/* The stub framings and comp-lzo no are honoured. */
	sl_ovpn_push_init(&p);
	assert_int_equal(sl_ovpn_push_parse("PUSH_REPLY,compress stub-v2", 27, &p), 0);
	assert_int_equal(p.comp, SL_OVPN_COMP_STUB_V2);
	assert_int_equal(sl_ovpn_push_parse("PUSH_REPLY,comp-lzo no", 22, &p), 0);
	assert_int_equal(p.comp, SL_OVPN_COMP_LZO_NO);
	assert_string_equal(p.unsupported, "");
	assert_int_equal(sl_ovpn_push_parse("PUSH_REPLY,comp-lzo", 19, &p), 0);
	assert_string_equal(p.unsupported, "comp-lzo");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_km2_client_layout),
		cmocka_unit_test(test_km2_server_roundtrip),
		cmocka_unit_test(test_peer_info_stock_client),
		cmocka_unit_test(test_push_reply_stock_server),
		cmocka_unit_test(test_push_reply_parts_and_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
