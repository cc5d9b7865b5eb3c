// SPDX-License-Identifier: MIT
/* The native protocol's frames and control payloads (docs/native-protocol.md). */
#include "ctl/native/frame.h"

#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define S(x) ((const uint8_t *)(x)), strlen(x)

/* ---- frames -------------------------------------------------------------------------- */

static void test_header_layout(void **state)
{
	uint8_t hdr[3];

	assert_int_equal(sl_nframe_put_header(hdr, SL_NF_DATA, 0x1234), 0);
	assert_int_equal(hdr[0], 6);
	assert_int_equal(hdr[1], 0x12);
	assert_int_equal(hdr[2], 0x34);
	assert_int_equal(sl_nframe_put_header(hdr, SL_NF_BYE, 65535), 0);
	assert_int_equal(hdr[1], 0xff);
	assert_int_equal(hdr[2], 0xff);
	assert_int_equal(sl_nframe_put_header(hdr, SL_NF_DATA, 65536), -EMSGSIZE);
}

static void test_parse_one(void **state)
{
	const uint8_t buf[] = {SL_NF_PING, 0, 3, 'a', 'b', 'c', 0xee};
	struct sl_nframe f;

	assert_int_equal(sl_nframe_parse(buf, sizeof(buf), &f), 6);
	assert_int_equal(f.type, SL_NF_PING);
	assert_int_equal(f.len, 3);
	assert_memory_equal(f.payload, "abc", 3);
}

static void test_parse_truncated(void **state)
{
	const uint8_t buf[] = {SL_NF_DATA, 0, 4, 1, 2, 3};
	struct sl_nframe f;

	for (size_t n = 0; n <= sizeof(buf); n++)
		assert_int_equal(sl_nframe_parse(buf, n, &f), 0);
}

static void test_parse_empty_payload_and_unknown_type(void **state)
{
	const uint8_t buf[] = {0xab, 0, 0};
	struct sl_nframe f;

	assert_int_equal(sl_nframe_parse(buf, sizeof(buf), &f), 3);
	assert_int_equal(f.type, 0xab);
	assert_int_equal(f.len, 0);
	assert_string_equal(sl_nframe_type_name(0xab), "unknown");
	assert_string_equal(sl_nframe_type_name(SL_NF_REKEY_ACK), "REKEY_ACK");
	assert_string_equal(sl_nframe_type_name(0), "unknown");
}

/* Frames of the given sizes back to back, payload byte i of frame k = k + i. */
static size_t make_stream(uint8_t *out, const size_t *sizes, size_t n)
{
	size_t off = 0;

	for (size_t k = 0; k < n; k++) {
		sl_nframe_put_header(out + off, (uint8_t)(k % 9 + 1), sizes[k]);
		off += 3;
		for (size_t i = 0; i < sizes[k]; i++)
			out[off++] = (uint8_t)(k + i);
	}
	return off;
}

static void check_frame(const struct sl_nframe *f, size_t k, size_t size)
{
	assert_int_equal(f->type, k % 9 + 1);
	assert_int_equal(f->len, size);
	for (size_t i = 0; i < size; i++)
		if (f->payload[i] != (uint8_t)(k + i))
			fail_msg("frame %zu byte %zu: %u", k, i, f->payload[i]);
}

static void test_reader_byte_at_a_time(void **state)
{
	static const size_t sizes[] = {0, 1, 300, 2, 0, 1500};
	static uint8_t stream[4096];
	struct sl_nframe_reader *r = malloc(sizeof(*r));
	size_t len = make_stream(stream, sizes, 6), k = 0;
	struct sl_nframe f;

	sl_nframe_reader_init(r);
	for (size_t i = 0; i < len; i++) {
		assert_int_equal(sl_nframe_reader_feed(r, stream + i, 1), 1);
		while (sl_nframe_reader_next(r, &f))
			check_frame(&f, k, sizes[k]), k++;
	}
	assert_int_equal(k, 6);
	assert_int_equal(sl_nframe_reader_next(r, &f), 0);
	free(r);
}

static void test_reader_many_in_one_buffer(void **state)
{
	static const size_t sizes[] = {5, 0, 7, 65535, 9};
	size_t cap = 5 * 3 + 65535 + 21, len, k = 0;
	uint8_t *stream = malloc(cap);
	struct sl_nframe_reader *r = malloc(sizeof(*r));
	struct sl_nframe f;
	size_t off = 0;

	len = make_stream(stream, sizes, 5);
	assert_int_equal(len, cap);
	sl_nframe_reader_init(r);
	/* Feed in big chunks the way SSL_read hands over records. */
	while (off < len) {
		size_t room, n;
		uint8_t *dst = sl_nframe_reader_space(r, &room);

		assert_true(room >= 16384);
		n = len - off < 16384 ? len - off : 16384;
		memcpy(dst, stream + off, n);
		sl_nframe_reader_commit(r, n);
		off += n;
		while (sl_nframe_reader_next(r, &f))
			check_frame(&f, k, sizes[k]), k++;
	}
	assert_int_equal(k, 5);
	free(stream);
	free(r);
}

static void test_reader_max_frames_repeatedly(void **state)
{
	/* Several maximum frames misaligned against the chunk size: the buffer must compact. */
	static const size_t sizes[] = {65535, 65535, 65535, 1, 65535};
	size_t len, k = 0, off = 0;
	uint8_t *stream = malloc(5 * (65535 + 3));
	struct sl_nframe_reader *r = malloc(sizeof(*r));
	struct sl_nframe f;

	len = make_stream(stream, sizes, 5);
	sl_nframe_reader_init(r);
	while (off < len) {
		size_t n = len - off < 16383 ? len - off : 16383;

		assert_int_equal(sl_nframe_reader_feed(r, stream + off, n), n);
		off += n;
		while (sl_nframe_reader_next(r, &f))
			check_frame(&f, k, sizes[k]), k++;
	}
	assert_int_equal(k, 5);
	free(stream);
	free(r);
}

/* ---- HELLO --------------------------------------------------------------------------------- */

static void test_hello_roundtrip(void **state)
{
	struct sl_nhello h = {.version = 1, .n_ciphers = 2, .has_want4 = true, .has_want6 = true};
	struct sl_nhello back;
	char buf[256];
	int len;

	h.ciphers[0] = SL_CIPHER_CHACHA20POLY1305;
	h.ciphers[1] = SL_CIPHER_AES128GCM;
	inet_pton(AF_INET, "198.19.0.7", h.want4);
	inet_pton(AF_INET6, "2001:db8:1::7", h.want6);
	len = sl_nhello_build(&h, buf, sizeof(buf));
	assert_true(len > 0);
	buf[len] = '\0';
	assert_string_equal(buf, "version=1\nciphers=chacha20-poly1305,aes-128-gcm\n"
				 "want4=198.19.0.7\nwant6=2001:db8:1::7\n");
	assert_int_equal(sl_nhello_parse((uint8_t *)buf, (size_t)len, &back, NULL, 0), 0);
	assert_int_equal(back.version, 1);
	assert_int_equal(back.n_ciphers, 2);
	assert_int_equal(back.ciphers[0], SL_CIPHER_CHACHA20POLY1305);
	assert_int_equal(back.ciphers[1], SL_CIPHER_AES128GCM);
	assert_true(back.has_want4 && back.has_want6);
	assert_memory_equal(back.want4, h.want4, 4);
	assert_memory_equal(back.want6, h.want6, 16);
}

static void test_hello_forward_compatible(void **state)
{
	struct sl_nhello h;
	const char *p = "version=2\nciphers=aegis-256,AES-256-GCM,aes-256-gcm,x\nnewkey=1";

	/* Unknown ciphers and keys are skipped, duplicates folded, the last newline optional. */
	assert_int_equal(sl_nhello_parse(S(p), &h, NULL, 0), 0);
	assert_int_equal(h.version, 2);
	assert_int_equal(h.n_ciphers, 1);
	assert_int_equal(h.ciphers[0], SL_CIPHER_AES256GCM);
	assert_false(h.has_want4);
	assert_false(h.has_want6);
}

static void test_hello_malformed(void **state)
{
	static const char *const bad[] = {
		"ciphers=aes-256-gcm\n",		      /* no version */
		"version=1\n",				      /* no ciphers */
		"version=0\nciphers=aes-256-gcm\n",	      /* version 0 */
		"version=1x\nciphers=aes-256-gcm\n",	      /* not a number */
		"version=99999999999\nciphers=aes-256-gcm\n", /* too big */
		"version=1\nciphers=aes-256-gcm,,x\n",	      /* empty list item */
		"version=1\nciphers=aes-256-gcm\nwant4=198.19.0.300\n",
		"version=1\nciphers=aes-256-gcm\nwant6=198.19.0.3\n",
		"version=1\nciphers\n",			/* no '=' */
		"version=1\n=x\nciphers=aes-256-gcm\n", /* empty key */
		"version=1\r\nciphers=aes-256-gcm\n",	/* control character */
	};
	struct sl_nhello h;
	char err[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (sl_nhello_parse(S(bad[i]), &h, err, sizeof(err)) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
		assert_true(err[0] != '\0');
	}
	/* A NUL byte inside a line. */
	assert_int_equal(sl_nhello_parse((const uint8_t *)"version=1\0\nciphers=aes-256-gcm\n", 30,
					 &h, err, sizeof(err)),
			 -EINVAL);
}

static void test_hello_error_says_what(void **state)
{
	struct sl_nhello h;
	char err[128];

	assert_int_equal(sl_nhello_parse(S("version=1\n"), &h, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "'ciphers' missing");
	assert_int_equal(
		sl_nhello_parse(S("version=abc\nciphers=aes-256-gcm"), &h, err, sizeof(err)),
		-EINVAL);
	assert_string_equal(err, "version: expected a number in 1..4294967295, got 'abc'");
}

/* ---- CONFIG -------------------------------------------------------------------------------- */

static void sample_config(struct sl_nconfig *c)
{
	memset(c, 0, sizeof(*c));
	c->version = 1;
	c->peer_id = 0xabcdef;
	c->cipher = SL_CIPHER_AES256GCM;
	c->epoch = 0;
	c->spi_c = 0x1000;
	c->spi_s = 0xfffffff0u;
	c->has4 = c->has6 = true;
	c->addr4.family = AF_INET;
	c->addr4.len = 24;
	inet_pton(AF_INET, "198.19.0.2", c->addr4.addr);
	inet_pton(AF_INET, "198.19.0.1", c->gw4);
	c->addr6.family = AF_INET6;
	c->addr6.len = 64;
	inet_pton(AF_INET6, "2001:db8:1::2", c->addr6.addr);
	inet_pton(AF_INET6, "2001:db8:1::1", c->gw6);
	c->mtu = 1400;
	c->n_routes = 2;
	c->routes[0] = (struct sl_prefix){.family = AF_INET, .len = 24};
	inet_pton(AF_INET, "198.19.0.0", c->routes[0].addr);
	c->routes[1] = (struct sl_prefix){.family = AF_INET6, .len = 64};
	inet_pton(AF_INET6, "2001:db8:1::", c->routes[1].addr);
	c->keepalive_ms = 1000;
	c->silent_ms = 3000;
	c->udp_port = 4500;
	c->tcp_port = 4501;
}

static void test_config_roundtrip(void **state)
{
	struct sl_nconfig c, back;
	char buf[1024];
	int len;

	sample_config(&c);
	len = sl_nconfig_build(&c, buf, sizeof(buf));
	assert_true(len > 0);
	buf[len] = '\0';
	assert_string_equal(buf,
			    "version=1\npeer_id=11259375\ncipher=aes-256-gcm\nepoch=0\n"
			    "spi_c=4096\nspi_s=4294967280\naddr4=198.19.0.2/24\ngw4=198.19.0.1\n"
			    "addr6=2001:db8:1::2/64\ngw6=2001:db8:1::1\nmtu=1400\n"
			    "route=198.19.0.0/24\nroute=2001:db8:1::/64\nkeepalive_ms=1000\n"
			    "silent_ms=3000\nudp_port=4500\ntcp_port=4501\n");
	assert_int_equal(sl_nconfig_parse((uint8_t *)buf, (size_t)len, &back, NULL, 0), 0);
	assert_memory_equal(&back, &c, sizeof(c));
}

static void test_config_v4_only_and_route_canonical(void **state)
{
	const char *p = "version=1\npeer_id=1\ncipher=chacha20-poly1305\nepoch=7\nspi_c=300\n"
			"spi_s=301\naddr4=10.0.0.9/8\ngw4=10.0.0.1\nmtu=576\nroute=10.1.2.3/16\n"
			"keepalive_ms=0\nsilent_ms=0\nudp_port=1\n";
	struct sl_nconfig c;
	char s[64];

	assert_int_equal(sl_nconfig_parse(S(p), &c, NULL, 0), 0);
	assert_true(c.has4);
	assert_false(c.has6);
	assert_int_equal(c.cipher, SL_CIPHER_CHACHA20POLY1305);
	assert_int_equal(c.epoch, 7);
	/* The client's own address keeps its host bits; a pushed route loses them. */
	sl_nprefix_format(&c.addr4, s, sizeof(s));
	assert_string_equal(s, "10.0.0.9/8");
	sl_nprefix_format(&c.routes[0], s, sizeof(s));
	assert_string_equal(s, "10.1.0.0/16");
}

static void test_config_max_routes(void **state)
{
	struct sl_nconfig c, back;
	char buf[8192];
	int len;

	sample_config(&c);
	c.n_routes = SL_NATIVE_MAX_ROUTES;
	for (uint32_t i = 0; i < c.n_routes; i++) {
		c.routes[i] = (struct sl_prefix){.family = AF_INET6, .len = 48};
		inet_pton(AF_INET6, "2001:db8::", c.routes[i].addr);
		c.routes[i].addr[4] = (uint8_t)i;
	}
	len = sl_nconfig_build(&c, buf, sizeof(buf));
	assert_true(len > 0);
	assert_int_equal(sl_nconfig_parse((uint8_t *)buf, (size_t)len, &back, NULL, 0), 0);
	assert_int_equal(back.n_routes, SL_NATIVE_MAX_ROUTES);
	/* One more is refused. */
	memcpy(buf + len, "route=10.0.0.0/8\n", 17);
	assert_int_equal(sl_nconfig_parse((uint8_t *)buf, (size_t)len + 17, &back, NULL, 0),
			 -EINVAL);
	/* A buffer too small for the text is refused, not cut. */
	assert_int_equal(sl_nconfig_build(&c, buf, 100), -ENOSPC);
}

static void test_config_malformed(void **state)
{
	static const char *const base = "version=1\npeer_id=1\ncipher=aes-128-gcm\nepoch=0\n"
					"spi_c=300\nspi_s=301\naddr4=10.0.0.9/8\ngw4=10.0.0.1\n"
					"mtu=1400\nkeepalive_ms=1000\nsilent_ms=3000\nudp_port=9\n";
	static const struct {
		const char *key, *value; /* replace key's line with key=value ("" drops it) */
	} bad[] = {
		{"peer_id", "0"},
		{"peer_id", "16777216"},
		{"cipher", "des"},
		{"spi_c", "0"},
		{"spi_s", ""},
		{"mtu", "575"},
		{"mtu", "9001"},
		{"udp_port", "0"},
		{"udp_port", "65536"},
		{"addr4", "10.0.0.9"},
		{"addr4", "10.0.0.9/33"},
		{"addr4", "2001:db8::1/64"},
		{"gw4", NULL},
		{"gw4", "x"},
		{"keepalive_ms", "-1"},
		{"epoch", NULL},
		{"version", NULL},
		{"addr4", NULL},
		{"udp_port", "9\ntcp_port=0"},
	};
	struct sl_nconfig c;
	char text[1024], err[128];

	assert_int_equal(sl_nconfig_parse(S(base), &c, NULL, 0), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *line = strstr(base, bad[i].key), *end = strchr(line, '\n') + 1;
		int n = snprintf(text, sizeof(text), "%.*s", (int)(line - base), base);

		if (bad[i].value)
			n += snprintf(text + n, sizeof(text) - (size_t)n, "%s=%s\n", bad[i].key,
				      bad[i].value);
		snprintf(text + n, sizeof(text) - (size_t)n, "%s", end);
		err[0] = '\0';
		if (sl_nconfig_parse(S(text), &c, err, sizeof(err)) != -EINVAL)
			fail_msg("accepted %s=%s", bad[i].key,
				 bad[i].value ? bad[i].value : "(none)");
		assert_true(err[0] != '\0');
	}
}

/* ---- REKEY / REKEY_ACK / BYE ---------------------------------------------------------------- */

static void test_rekey_roundtrip(void **state)
{
	struct sl_nrekey k = {.epoch = 4294967295u, .spi_c = 256, .spi_s = 0x12345678}, back;
	char buf[128];
	int len = sl_nrekey_build(&k, buf, sizeof(buf));
	uint32_t epoch;

	assert_true(len > 0);
	assert_int_equal(sl_nrekey_parse((uint8_t *)buf, (size_t)len, &back, NULL, 0), 0);
	assert_memory_equal(&back, &k, sizeof(k));
	len = sl_nrekey_ack_build(42, buf, sizeof(buf));
	assert_int_equal(len, 9);
	assert_memory_equal(buf, "epoch=42\n", 9);
	assert_int_equal(sl_nrekey_ack_parse((uint8_t *)buf, (size_t)len, &epoch, NULL, 0), 0);
	assert_int_equal(epoch, 42);
}

static void test_rekey_malformed(void **state)
{
	struct sl_nrekey k;
	uint32_t epoch;

	assert_int_equal(sl_nrekey_parse(S("epoch=1\nspi_c=5\n"), &k, NULL, 0), -EINVAL);
	assert_int_equal(sl_nrekey_parse(S("epoch=1\nspi_c=0\nspi_s=5\n"), &k, NULL, 0), -EINVAL);
	assert_int_equal(sl_nrekey_parse(S("epoch=4294967296\nspi_c=1\nspi_s=5\n"), &k, NULL, 0),
			 -EINVAL);
	assert_int_equal(sl_nrekey_parse(S(""), &k, NULL, 0), -EINVAL);
	assert_int_equal(sl_nrekey_ack_parse(S("epoch=\n"), &epoch, NULL, 0), -EINVAL);
	assert_int_equal(sl_nrekey_ack_parse(S("epoch=+1\n"), &epoch, NULL, 0), -EINVAL);
}

static void test_bye_reason_sanitised(void **state)
{
	char out[8];

	sl_nbye_reason((const uint8_t *)"full\n\x1b[2J", 10, out, sizeof(out));
	assert_string_equal(out, "full??[");
	sl_nbye_reason((const uint8_t *)"", 0, out, sizeof(out));
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_layout),
		cmocka_unit_test(test_parse_one),
		cmocka_unit_test(test_parse_truncated),
		cmocka_unit_test(test_parse_empty_payload_and_unknown_type),
		cmocka_unit_test(test_reader_byte_at_a_time),
		cmocka_unit_test(test_reader_many_in_one_buffer),
		cmocka_unit_test(test_reader_max_frames_repeatedly),
		cmocka_unit_test(test_hello_roundtrip),
		cmocka_unit_test(test_hello_forward_compatible),
		cmocka_unit_test(test_hello_malformed),
		cmocka_unit_test(test_hello_error_says_what),
		cmocka_unit_test(test_config_roundtrip),
		cmocka_unit_test(test_config_v4_only_and_route_canonical),
		cmocka_unit_test(test_config_max_routes),
		cmocka_unit_test(test_config_malformed),
		cmocka_unit_test(test_rekey_roundtrip),
		cmocka_unit_test(test_rekey_malformed),
		cmocka_unit_test(test_bye_reason_sanitised),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
