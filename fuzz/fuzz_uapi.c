// SPDX-License-Identifier: MIT
/*
 * The control socket parser on arbitrary bytes: split requests as the server
 * does (advancing by the consumed count), run every getter on every pair,
 * and check that whatever parses as an endpoint formats and parses back to
 * the same address.
 */
#include "dco/uapi.h"

#include "sluice/engine.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_endpoint(const char *s)
{
	struct sockaddr_storage ss, again;
	char text[64];

	if (sl_parse_endpoint(s, &ss) < 0)
		return;
	if (sl_format_endpoint(&ss, text, sizeof(text)) < 0 ||
	    sl_parse_endpoint(text, &again) < 0 || memcmp(&ss, &again, sizeof(ss)) != 0)
		abort();
}

static void check_prefix(const char *s)
{
	struct sl_prefix p;
	unsigned max_bits;

	if (sl_parse_prefix(s, &p) < 0)
		return;
	max_bits = p.family == AF_INET ? 32 : 128;
	if (p.len > max_bits)
		abort();
	/* Bits beyond len must be zero. */
	for (unsigned i = p.len; i < 128; i++)
		if (p.addr[i / 8] & (0x80u >> (i % 8)))
			abort();
}

static void use_request(const struct sl_uapi_request *req)
{
	uint8_t out[32];
	uint64_t v;

	for (uint32_t i = 0; i < req->n; i++) {
		const char *key = req->pairs[i].key;

		if (sl_uapi_get(req, key) == NULL)
			abort();
		if (sl_uapi_get_u64(req, key, UINT64_MAX, &v) == 0 &&
		    (v > 0xFFFFFF && sl_uapi_get_u64(req, key, 0xFFFFFF, &v) != -EINVAL))
			abort();
		sl_uapi_get_hex(req, key, out, 4);
		sl_uapi_get_hex(req, key, out, 32);
		check_endpoint(req->pairs[i].value);
		check_prefix(req->pairs[i].value);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_uapi_request req;
	char *buf = malloc(size + 1);
	size_t off = 0;
	int used;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	while (off < size && (used = sl_uapi_parse(buf + off, size - off, &req)) > 0) {
		if ((size_t)used > size - off || req.n > SL_UAPI_MAX_PAIRS)
			abort();
		use_request(&req);
		off += (size_t)used;
	}
	/* The raw input as one string (up to its first NUL), before the parser split it. */
	memcpy(buf, data, size);
	check_endpoint(buf);
	check_prefix(buf);
	free(buf);
	return 0;
}
