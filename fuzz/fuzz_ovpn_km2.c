// SPDX-License-Identifier: MIT
/*
 * TLS plaintext of the OpenVPN control channel from a peer: the first byte
 * picks the parser, the rest is its input.
 *   even: a key-method 2 message (bit 1: as sent by a client); a parsed
 *         message must rebuild into bytes that parse to the same message;
 *   odd:  a PUSH_REPLY (parsed twice into one struct, as continued parts
 *         are), and a peer-info lookup over the same text.
 */
#include "proto/ovpn_km2.h"
#include "proto/ovpn_push.h"

#include <stdlib.h>
#include <string.h>

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void km2(const uint8_t *d, size_t len, bool from_client)
{
	static struct sl_ovpn_km2 m, again;
	static uint8_t out[8192];
	int n = sl_ovpn_km2_parse(d, len, from_client, &m), b;

	if (n < 0)
		return;
	check((size_t)n <= len);
	b = sl_ovpn_km2_build(&m, from_client, out, sizeof(out));
	check(b > 0);
	/* What was parsed survives a rebuild (byte equality would fail on the flags in the
	 * key-method byte and on non-canonical empty strings). */
	check(sl_ovpn_km2_parse(out, (size_t)b, from_client, &again) == b);
	check(!memcmp(&m, &again, sizeof(m)));
}

static void push(const uint8_t *d, size_t len)
{
	static struct sl_ovpn_push p;
	static char text[4096];
	char v[64];

	sl_ovpn_push_init(&p);
	if (!sl_ovpn_push_parse((const char *)d, len, &p))
		sl_ovpn_push_parse((const char *)d, len, &p);
	check(p.n_routes <= SL_OVPN_PUSH_ROUTES_MAX && p.n_routes6 <= SL_OVPN_PUSH_ROUTES_MAX);
	if (len < sizeof(text)) {
		memcpy(text, d, len);
		text[len] = '\0';
		sl_ovpn_peer_info_get(text, "IV_PROTO", v, sizeof(v));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		push(data + 1, size - 1);
	else
		km2(data + 1, size - 1, data[0] & 2);
	return 0;
}
