// SPDX-License-Identifier: MIT
/* The control socket's key=value parser, number/hex getters and address codecs. */
#include "dco/uapi.h"

#include "sluice/engine.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Parse a string literal through a writable copy; the copy stays valid for the pairs. */
static int parse_str(char *scratch, size_t cap, const char *s, struct sl_uapi_request *req)
{
	size_t len = strlen(s);

	assert_true(len < cap);
	memcpy(scratch, s, len + 1);
	return sl_uapi_parse(scratch, len, req);
}

static void test_parse_complete(void **state)
{
	static const char text[] = "op=route_add\npeer_id=7\nprefix=198.19.0.0/24\nempty=\n\n";
	struct sl_uapi_request req;
	char buf[256];

	assert_int_equal(parse_str(buf, sizeof(buf), text, &req), (int)strlen(text));
	assert_int_equal(req.n, 4);
	assert_string_equal(req.pairs[0].key, "op");
	assert_string_equal(req.pairs[0].value, "route_add");
	assert_string_equal(sl_uapi_get(&req, "peer_id"), "7");
	assert_string_equal(sl_uapi_get(&req, "prefix"), "198.19.0.0/24");
	assert_string_equal(sl_uapi_get(&req, "empty"), "");
	assert_null(sl_uapi_get(&req, "missing"));
	assert_null(sl_uapi_get(&req, "peer"));
}

static void test_parse_value_keeps_equals(void **state)
{
	static const char text[] = "op=x\nk=a=b\nk=second\n\n";
	struct sl_uapi_request req;
	char buf[64];

	assert_int_equal(parse_str(buf, sizeof(buf), text, &req), (int)strlen(text));
	/* The first '=' splits; the first pair of a name wins. */
	assert_string_equal(sl_uapi_get(&req, "k"), "a=b");
}

static void test_parse_incomplete(void **state)
{
	static const char text[] = "op=peer_del\npeer_id=3\n\n";
	struct sl_uapi_request req;
	char buf[64];

	memcpy(buf, text, sizeof(text));
	/* Every proper prefix waits for more, and leaves the bytes as they were. */
	for (size_t len = 0; len < strlen(text); len++) {
		assert_int_equal(sl_uapi_parse(buf, len, &req), 0);
		assert_memory_equal(buf, text, sizeof(text));
	}
	assert_int_equal(sl_uapi_parse(buf, strlen(text), &req), (int)strlen(text));
	assert_string_equal(sl_uapi_get(&req, "peer_id"), "3");
}

static void test_parse_multiple_in_one_buffer(void **state)
{
	static const char text[] = "op=stats\n\nop=peer_del\npeer_id=1\n\nop=down\n\nop=par";
	struct sl_uapi_request req;
	char buf[128];
	size_t off = 0, len = strlen(text);
	const char *ops[3] = {"stats", "peer_del", "down"};
	int r;

	memcpy(buf, text, sizeof(text));
	for (int i = 0; i < 3; i++) {
		r = sl_uapi_parse(buf + off, len - off, &req);
		assert_true(r > 0);
		assert_string_equal(sl_uapi_get(&req, "op"), ops[i]);
		off += (size_t)r;
	}
	assert_int_equal(off, strlen("op=stats\n\nop=peer_del\npeer_id=1\n\nop=down\n\n"));
	assert_int_equal(sl_uapi_parse(buf + off, len - off, &req), 0);
}

static void test_parse_empty_request(void **state)
{
	struct sl_uapi_request req = {.n = 5};
	char buf[16];

	assert_int_equal(parse_str(buf, sizeof(buf), "\nop=down\n\n", &req), 1);
	assert_int_equal(req.n, 0);
	assert_null(sl_uapi_get(&req, "op"));
}

static void test_parse_bad_lines(void **state)
{
	static const char *const bad[] = {
		"op=x\nnoequals\n\n",	 "op=x\n=value\n\n", "Op=x\n\n",
		"op=x\nkey-dash=1\n\n",	 "op=x\nkey =1\n\n", "op=x\n key=1\n\n",
		"op=x\nk\r=1\n\n",	 "op\n\n",	     "op=x\n=\n\n",
		"op=x\nk\xc3\xa9=1\n\n",
	};
	struct sl_uapi_request req;
	char buf[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char orig[64];

		strcpy(orig, bad[i]);
		assert_int_equal(parse_str(buf, sizeof(buf), bad[i], &req), -EINVAL);
		/* Rejected requests are not half split. */
		assert_string_equal(buf, orig);
	}
}

static void test_parse_nul_byte(void **state)
{
	static const char text[] = "op=x\nk=a\0b\n\n";
	struct sl_uapi_request req;
	char buf[sizeof(text)];

	memcpy(buf, text, sizeof(text));
	assert_int_equal(sl_uapi_parse(buf, sizeof(text) - 1, &req), -EINVAL);
	/* Even before the request is complete. */
	memcpy(buf, text, sizeof(text));
	assert_int_equal(sl_uapi_parse(buf, 10, &req), -EINVAL);
}

static size_t append(char *buf, size_t off, const char *s)
{
	size_t n = strlen(s);

	memcpy(buf + off, s, n + 1);
	return off + n;
}

static void test_parse_pair_limit(void **state)
{
	struct sl_uapi_request req;
	char buf[1024];
	size_t len = 0;

	for (int i = 0; i < SL_UAPI_MAX_PAIRS; i++)
		len = append(buf, len, "k=v\n");
	len = append(buf, len, "\n");
	assert_int_equal(sl_uapi_parse(buf, len, &req), (int)len);
	assert_int_equal(req.n, SL_UAPI_MAX_PAIRS);

	len = 0;
	for (int i = 0; i < SL_UAPI_MAX_PAIRS + 1; i++)
		len = append(buf, len, "k=v\n");
	len = append(buf, len, "\n");
	assert_int_equal(sl_uapi_parse(buf, len, &req), -EINVAL);
}

static void test_parse_size_limit(void **state)
{
	static char buf[SL_UAPI_MAX_REQUEST + 64];
	struct sl_uapi_request req;
	size_t len;

	/* Exactly the limit, empty line included, is fine. */
	len = append(buf, 0, "op=x\nv=");
	memset(buf + len, 'a', SL_UAPI_MAX_REQUEST - len - 2);
	len = SL_UAPI_MAX_REQUEST - 2;
	len = append(buf, len, "\n\n");
	assert_int_equal(len, SL_UAPI_MAX_REQUEST);
	assert_int_equal(sl_uapi_parse(buf, len, &req), SL_UAPI_MAX_REQUEST);
	assert_int_equal(strlen(sl_uapi_get(&req, "v")), SL_UAPI_MAX_REQUEST - 9);

	/* One more byte is too much, complete or not. */
	len = append(buf, 0, "op=x\nv=");
	memset(buf + len, 'a', SL_UAPI_MAX_REQUEST - len - 1);
	len = SL_UAPI_MAX_REQUEST - 1;
	len = append(buf, len, "\n\n");
	assert_int_equal(sl_uapi_parse(buf, len, &req), -EINVAL);
	assert_int_equal(sl_uapi_parse(buf, SL_UAPI_MAX_REQUEST, &req), -EINVAL);
	assert_int_equal(sl_uapi_parse(buf, SL_UAPI_MAX_REQUEST - 1, &req), 0);
}

static void test_get_u64(void **state)
{
	static const char text[] =
		"dec=4500\nhex=0xFFff\nzero=0\nlead=007\nmax=18446744073709551615\n"
		"over=18446744073709551616\nhexmax=0xffffffffffffffff\n"
		"hexover=0x10000000000000000\nneg=-1\nplus=+1\nspace= 1\n"
		"junk=12a\nbare=0x\nempty=\noct=0o7\nhexjunk=0x1g\n\n";
	static const char *const bad[] = {"over", "hexover", "neg",   "plus", "space",
					  "junk", "bare",    "empty", "oct",  "hexjunk"};
	struct sl_uapi_request req;
	char buf[512];
	uint64_t v = 0;

	assert_true(parse_str(buf, sizeof(buf), text, &req) > 0);
	assert_int_equal(sl_uapi_get_u64(&req, "dec", UINT64_MAX, &v), 0);
	assert_int_equal(v, 4500);
	assert_int_equal(sl_uapi_get_u64(&req, "hex", UINT64_MAX, &v), 0);
	assert_int_equal(v, 0xffff);
	assert_int_equal(sl_uapi_get_u64(&req, "zero", 0, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(sl_uapi_get_u64(&req, "lead", 7, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(sl_uapi_get_u64(&req, "max", UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(sl_uapi_get_u64(&req, "hexmax", UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 99;
		assert_int_equal(sl_uapi_get_u64(&req, bad[i], UINT64_MAX, &v), -EINVAL);
		assert_int_equal(v, 99); /* untouched on error */
	}
	assert_int_equal(sl_uapi_get_u64(&req, "dec", 4499, &v), -EINVAL);
	assert_int_equal(sl_uapi_get_u64(&req, "dec", 4500, &v), 0);
	assert_int_equal(sl_uapi_get_u64(&req, "missing", 1, &v), -ENOENT);
}

static void test_get_hex(void **state)
{
	static const char text[] = "key=00112233445566778899aAbBcCdDeEfF\nsalt=DEADbeef\nodd=abc\n"
				   "bad=zz\nempty=\n\n";
	static const uint8_t want[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
					 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
	struct sl_uapi_request req;
	uint8_t out[16], salt[4];
	char buf[256];

	assert_true(parse_str(buf, sizeof(buf), text, &req) > 0);
	assert_int_equal(sl_uapi_get_hex(&req, "key", out, sizeof(out)), 0);
	assert_memory_equal(out, want, sizeof(want));
	assert_int_equal(sl_uapi_get_hex(&req, "salt", salt, sizeof(salt)), 0);
	assert_memory_equal(salt, "\xde\xad\xbe\xef", 4);
	/* Exact length only. */
	assert_int_equal(sl_uapi_get_hex(&req, "key", out, 15), -EINVAL);
	assert_int_equal(sl_uapi_get_hex(&req, "salt", out, 5), -EINVAL);
	assert_int_equal(sl_uapi_get_hex(&req, "odd", out, 1), -EINVAL);
	assert_int_equal(sl_uapi_get_hex(&req, "odd", out, 2), -EINVAL);
	memset(out, 0x5a, sizeof(out));
	assert_int_equal(sl_uapi_get_hex(&req, "bad", out, 1), -EINVAL);
	assert_int_equal(out[0], 0x5a);
	assert_int_equal(sl_uapi_get_hex(&req, "empty", out, 0), 0);
	assert_int_equal(sl_uapi_get_hex(&req, "empty", out, 1), -EINVAL);
	assert_int_equal(sl_uapi_get_hex(&req, "missing", out, 1), -ENOENT);
}

static void assert_endpoint_round_trip(const char *s, int family, uint16_t port)
{
	struct sockaddr_storage ss;
	char out[64];

	assert_int_equal(sl_parse_endpoint(s, &ss), 0);
	assert_int_equal(ss.ss_family, family);
	if (family == AF_INET)
		assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), port);
	else
		assert_int_equal(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), port);
	assert_int_equal(sl_format_endpoint(&ss, out, sizeof(out)), 0);
	assert_string_equal(out, s);
}

static void test_endpoint_round_trip(void **state)
{
	struct sockaddr_storage ss = {0};
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
	char out[64];

	assert_endpoint_round_trip("198.18.0.1:4500", AF_INET, 4500);
	assert_endpoint_round_trip("127.0.0.1:1", AF_INET, 1);
	assert_endpoint_round_trip("[2001:db8::1]:65535", AF_INET6, 65535);
	assert_endpoint_round_trip("[::1]:51820", AF_INET6, 51820);
	assert_endpoint_round_trip("[::ffff:198.18.0.1]:443", AF_INET6, 443);
	assert_int_equal(sl_parse_endpoint("198.18.0.1:4500", &ss), 0);
	assert_int_equal(sin->sin_addr.s_addr, htonl(0xC6120001));
	assert_int_equal(sl_parse_endpoint("198.18.0.1:04500", &ss), 0);
	assert_int_equal(ntohs(sin->sin_port), 4500);

	memset(&ss, 0, sizeof(ss));
	assert_int_equal(sl_format_endpoint(&ss, out, sizeof(out)), 0);
	assert_string_equal(out, "(none)");
}

static void test_endpoint_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"198.18.0.1",
		"198.18.0.1:",
		"198.18.0.1:0",
		"198.18.0.1:65536",
		"198.18.0.1:-1",
		"198.18.0.1:+80",
		"198.18.0.1:80x",
		"198.18.0.1: 80",
		"198.18.0.256:80",
		"198.18.0:80",
		"host.example:80",
		"2001:db8::1:80",
		"[2001:db8::1]",
		"[2001:db8::1]:",
		"[2001:db8::1]80",
		"[2001:db8::1:80",
		"[198.18.0.1]:80",
		"[fe80::1%lo]:80",
		"198.18.0.1:4500:1",
		"[]:80",
		"198.18.0.1:100000",
	};
	struct sockaddr_storage ss, before;

	memset(&ss, 0x77, sizeof(ss));
	before = ss;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (sl_parse_endpoint(bad[i], &ss) != -EINVAL)
			fail_msg("accepted endpoint \"%s\"", bad[i]);
		assert_memory_equal(&ss, &before, sizeof(ss));
	}
}

static void test_format_endpoint_limits(void **state)
{
	struct sockaddr_storage ss;
	char out[64];

	assert_int_equal(sl_parse_endpoint("[2001:db8::1]:4500", &ss), 0);
	/* Needs 19 bytes with the NUL. */
	assert_int_equal(sl_format_endpoint(&ss, out, 18), -EINVAL);
	assert_string_equal(out, "");
	assert_int_equal(sl_format_endpoint(&ss, out, 19), 0);
	assert_string_equal(out, "[2001:db8::1]:4500");
	ss.ss_family = AF_UNIX;
	assert_int_equal(sl_format_endpoint(&ss, out, sizeof(out)), -EINVAL);
}

static void assert_prefix(const char *s, int family, unsigned len, const char *addr)
{
	struct sl_prefix p;
	uint8_t want[16] = {0};

	assert_int_equal(inet_pton(family, addr, want), 1);
	if (sl_parse_prefix(s, &p) != 0)
		fail_msg("rejected prefix \"%s\"", s);
	assert_int_equal(p.family, family);
	assert_int_equal(p.len, len);
	assert_memory_equal(p.addr, want, sizeof(want));
}

static void test_prefix_parse(void **state)
{
	assert_prefix("198.19.0.0/24", AF_INET, 24, "198.19.0.0");
	assert_prefix("198.19.0.77/24", AF_INET, 24, "198.19.0.0");
	assert_prefix("198.19.255.255/15", AF_INET, 15, "198.18.0.0");
	assert_prefix("198.18.0.1", AF_INET, 32, "198.18.0.1");
	assert_prefix("198.18.0.1/0", AF_INET, 0, "0.0.0.0");
	assert_prefix("198.18.0.1/32", AF_INET, 32, "198.18.0.1");
	assert_prefix("2001:db8::/32", AF_INET6, 32, "2001:db8::");
	assert_prefix("2001:db8:ffff::1/33", AF_INET6, 33, "2001:db8:8000::");
	assert_prefix("2001:db8::1", AF_INET6, 128, "2001:db8::1");
	assert_prefix("::/0", AF_INET6, 0, "::");
	assert_prefix("2001:db8::ff/127", AF_INET6, 127, "2001:db8::fe");
}

static void test_prefix_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"/24",
		"198.19.0.0/",
		"198.19.0.0/33",
		"198.19.0.0/-1",
		"198.19.0.0/+24",
		"198.19.0.0/24x",
		"198.19.0.0/ 24",
		"198.19.0/24",
		"2001:db8::/129",
		"2001:db8::/0024",
		"2001:db8::/1/2",
		"[2001:db8::]/32",
		"198.19.0.0/1000",
		"example.com/24",
		"198.19.0.0 /24",
	};
	struct sl_prefix p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (sl_parse_prefix(bad[i], &p) != -EINVAL)
			fail_msg("accepted prefix \"%s\"", bad[i]);
	}
}

static void test_buf_printf(void **state)
{
	struct sl_buf b = {0};
	char want[64];
	size_t len = 0;

	assert_int_equal(sl_buf_printf(&b, "%s", ""), 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	/* Far past the first allocation, so it has to grow several times. */
	for (int i = 0; i < 2000; i++) {
		assert_int_equal(sl_buf_printf(&b, "peer_id=%d\n", i), 0);
		len += (size_t)snprintf(want, sizeof(want), "peer_id=%d\n", i);
		assert_int_equal(b.len, len);
		assert_true(b.cap > b.len);
		assert_int_equal(b.data[b.len], '\0');
	}
	assert_int_equal(strncmp(b.data, "peer_id=0\npeer_id=1\n", 20), 0);
	assert_string_equal(b.data + b.len - 13, "peer_id=1999\n");
	sl_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_complete),
		cmocka_unit_test(test_parse_value_keeps_equals),
		cmocka_unit_test(test_parse_incomplete),
		cmocka_unit_test(test_parse_multiple_in_one_buffer),
		cmocka_unit_test(test_parse_empty_request),
		cmocka_unit_test(test_parse_bad_lines),
		cmocka_unit_test(test_parse_nul_byte),
		cmocka_unit_test(test_parse_pair_limit),
		cmocka_unit_test(test_parse_size_limit),
		cmocka_unit_test(test_get_u64),
		cmocka_unit_test(test_get_hex),
		cmocka_unit_test(test_endpoint_round_trip),
		cmocka_unit_test(test_endpoint_rejects),
		cmocka_unit_test(test_format_endpoint_limits),
		cmocka_unit_test(test_prefix_parse),
		cmocka_unit_test(test_prefix_rejects),
		cmocka_unit_test(test_buf_printf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
