// SPDX-License-Identifier: MIT
/*
 * A PPP frame from the network (after un-framing): header, then the control
 * packet and its options as the negotiation reads them. Every option must
 * lie inside the packet; a rebuilt packet from the same options must parse
 * back to the same bytes.
 */
#include "proto/ppp.h"

#include <stdlib.h>
#include <string.h>

static void check(int ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_ppp_builder b;
	struct sl_ppp_cp cp, again;
	struct sl_ppp_opt o;
	uint8_t rebuilt[1 << 16];
	uint16_t proto;
	size_t off = 0;
	int h = sl_ppp_header_parse(data, size, &proto), r;

	if (h < 0)
		return 0;
	check(h >= 1 && h <= 4 && (size_t)h <= size && (proto & 1));
	data += h;
	size -= (size_t)h;
	if (sl_ppp_cp_parse(data, size, &cp) < 0)
		return 0;
	check(cp.data + cp.len <= data + size);
	sl_ppp_build_begin(&b, rebuilt, sizeof(rebuilt), cp.code, cp.id);
	while ((r = sl_ppp_opt_next(cp.data, cp.len, &off, &o)) == 1) {
		check(o.value >= cp.data + 2 && o.value + o.len <= cp.data + cp.len);
		sl_ppp_build_opt(&b, o.type, o.value, o.len);
	}
	if (r < 0)
		return 0;
	r = sl_ppp_build_end(&b);
	check(r == (int)cp.len + 4);
	check(sl_ppp_cp_parse(rebuilt, (size_t)r, &again) == 0 && again.len == cp.len);
	check(memcmp(again.data, cp.data, cp.len) == 0);
	return 0;
}
