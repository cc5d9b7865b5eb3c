// SPDX-License-Identifier: MIT
/*
 * An HTTP response head from the server (before auth, so from anyone):
 * every header must lie inside the input and the head; cookies and
 * header copies must stay in their buffers.
 */
#include "proto/http.h"

#include <stdint.h>
#include <stdlib.h>

static void check(int ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *b = (const char *)data;
	struct sl_http_response r;
	char v[64];

	struct sl_http_request q;

	if (sl_http_parse_request(b, size, &q) == 0) {
		check(q.head_len <= size && q.target + q.target_len <= b + q.head_len);
		(void)sl_http_request_cookie(&q, "webvpn", v, sizeof(v));
	}
	if (sl_http_parse_response(b, size, &r) != 0)
		return 0;
	check(r.head_len <= size && r.n <= SL_HTTP_HEADERS_MAX);
	for (unsigned i = 0; i < r.n; i++)
		check(r.h[i].name >= b && r.h[i].value + r.h[i].value_len <= b + r.head_len);
	(void)sl_http_cookie(&r, "webvpn", v, sizeof(v));
	(void)sl_http_header_copy(&r, "X-CSTP-Address", v, sizeof(v));
	return 0;
}
