// SPDX-License-Identifier: MIT
/*
 * HTTP response heads as ocserv 1.1.6 sends them (captured from its answer
 * to openconnect 9.01: the auth "complete" reply with its four Set-Cookie
 * lines, and "200 CONNECTED" with X-CSTP-* headers), partial input, cookies
 * and refused heads.
 */
#include "proto/http.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static const char complete[] =
	"HTTP/1.1 200 OK\r\n"
	"Connection: Keep-Alive\r\n"
	"Content-Type: text/xml\r\n"
	"Content-Length: 189\r\n"
	"X-Transcend-Version: 1\r\n"
	"Set-Cookie: webvpncontext=AMnSb4jwf7sMutyU5EKTdgMLj/zv38lhWFn81EQ0zn8=; Secure; "
	"HttpOnly\r\n"
	"Set-Cookie: webvpn=AMnSb4jwf7sMutyU5EKTdgMLj/zv38lhWFn81EQ0zn8=; Secure; HttpOnly\r\n"
	"Set-Cookie: webvpnc=; expires=Thu, 01 Jan 1970 22:00:00 GMT; path=/; Secure; HttpOnly\r\n"
	"Set-Cookie: webvpnc=bu:/&p:t&iu:1/&sh:B981AA3F75CD6BFABFA9A414F77B0151276F7ADD; path=/; "
	"Secure; HttpOnly\r\n"
	"\r\n"
	"<?xml";

static const char connected[] = "HTTP/1.1 200 CONNECTED\r\n"
				"X-CSTP-Version: 1\r\n"
				"X-CSTP-DPD: 10\r\n"
				"X-CSTP-Address: 198.19.0.190\r\n"
				"X-CSTP-Split-Include: 198.19.0.0/255.255.255.0\r\n"
				"X-CSTP-Split-Include: 198.20.0.0/255.255.0.0\r\n"
				"x-dtls-app-id:   810cd249ca  \r\n"
				"\r\n";

static void parse_complete_and_cookies(void **state)
{
	struct sl_http_response r;
	char v[128];

	assert_int_equal(sl_http_parse_response(complete, strlen(complete), &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.n, 8);
	assert_true(r.has_content_length);
	assert_int_equal(r.content_length, 189);
	assert_int_equal(r.head_len, strlen(complete) - 5);
	assert_int_equal(sl_http_cookie(&r, "webvpn", v, sizeof(v)), 0);
	assert_string_equal(v, "AMnSb4jwf7sMutyU5EKTdgMLj/zv38lhWFn81EQ0zn8=");
	/* the last Set-Cookie wins; an empty value is a deletion */
	assert_int_equal(sl_http_cookie(&r, "webvpnc", v, sizeof(v)), 0);
	assert_string_equal(v, "bu:/&p:t&iu:1/&sh:B981AA3F75CD6BFABFA9A414F77B0151276F7ADD");
	assert_int_equal(sl_http_cookie(&r, "webvpnx", v, sizeof(v)), -ENOENT);
	assert_int_equal(sl_http_cookie(&r, "webvpn", v, 8), -ENOSPC);
}

static void parse_connected_headers(void **state)
{
	struct sl_http_response r;
	const struct sl_http_header *h;
	unsigned at = 0, n = 0;
	char v[64];

	assert_int_equal(sl_http_parse_response(connected, strlen(connected), &r), 0);
	assert_false(r.has_content_length);
	while ((h = sl_http_find(&r, "X-CSTP-Split-Include", &at)))
		n++;
	assert_int_equal(n, 2);
	assert_int_equal(sl_http_header_copy(&r, "X-DTLS-App-ID", v, sizeof(v)), 0);
	assert_string_equal(v, "810cd249ca"); /* case-insensitive, blanks trimmed */
	assert_int_equal(sl_http_header_copy(&r, "X-CSTP-MTU", v, sizeof(v)), -ENOENT);
}

static void partial_heads_wait(void **state)
{
	struct sl_http_response r;

	for (size_t n = 0; n < strlen(connected); n++)
		assert_int_equal(sl_http_parse_response(connected, n, &r), -EAGAIN);
}

static void refuse_bad_heads(void **state)
{
	const char *bad[] = {
		"HTTP/2 200 OK\r\n\r\n",
		"HTTP/1.1 20x OK\r\n\r\n",
		"HTTP/1.1 200OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
		"HTTP/1.1 200 OK\r\n: empty name\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\001b\r\n\r\n",
	};
	struct sl_http_response r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sl_http_parse_response(bad[i], strlen(bad[i]), &r), -EBADMSG);
}

/* openconnect 9.01's requests (captured), read on the server's side. */
static void parse_openconnect_requests(void **state)
{
	const char *post =
		"POST /auth HTTP/1.1\r\nHost: 198.18.0.1:4443\r\n"
		"User-Agent: Open AnyConnect VPN Agent v9.01-3\r\n"
		"Cookie: webvpncontext=AMnSb4jw=; other=1\r\n"
		"Content-Type: application/xml; charset=utf-8\r\nContent-Length: 5\r\n\r\n<x/>";
	const char *conn = "CONNECT /CSCOSSLC/tunnel HTTP/1.1\r\nHost: h\r\n"
			   "Cookie: a=b;webvpn=0123abcd\r\nX-CSTP-Version: 1\r\n\r\n";
	struct sl_http_request r;
	char v[64];

	assert_int_equal(sl_http_parse_request(post, strlen(post), &r), 0);
	assert_int_equal(r.method_len, 4);
	assert_memory_equal(r.target, "/auth", 5);
	assert_int_equal(r.content_length, 5);
	assert_int_equal(sl_http_request_cookie(&r, "webvpncontext", v, sizeof(v)), 0);
	assert_string_equal(v, "AMnSb4jw=");
	assert_int_equal(sl_http_request_cookie(&r, "webvpn", v, sizeof(v)), -ENOENT);
	assert_int_equal(sl_http_parse_request(conn, strlen(conn), &r), 0);
	assert_int_equal(sl_http_request_cookie(&r, "webvpn", v, sizeof(v)), 0);
	assert_string_equal(v, "0123abcd");
	for (size_t n = 0; n < strlen(conn); n++)
		assert_int_equal(sl_http_parse_request(conn, n, &r), -EAGAIN);
}

static void refuse_bad_requests(void **state)
{
	const char *bad[] = {
		"GET / HTTP/2\r\n\r\n",
		"GET  / HTTP/1.1\r\n\r\n",
		"GET /\r\n\r\n",
		"G(T / HTTP/1.1\r\n\r\n",
		"GET /a\x01b HTTP/1.1\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
	};
	struct sl_http_request r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sl_http_parse_request(bad[i], strlen(bad[i]), &r) != -EBADMSG)
			fail_msg("request %zu accepted", i);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_complete_and_cookies),
		cmocka_unit_test(parse_connected_headers),
		cmocka_unit_test(partial_heads_wait),
		cmocka_unit_test(refuse_bad_heads),
		cmocka_unit_test(parse_openconnect_requests),
		cmocka_unit_test(refuse_bad_requests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
