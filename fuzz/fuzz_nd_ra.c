// SPDX-License-Identifier: MIT
/*
 * A Router Solicitation from a PPP peer: whatever is taken has its source
 * where the IPv6 header keeps it, and the advertisement built to answer it
 * is well formed and never itself taken for a solicitation.
 */
#include "proto/nd_ra.h"

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
	struct sl_nd_ra ra = {.prefix_len = 64, .valid_s = 600, .preferred_s = 300, .mtu = 1400};
	uint8_t src[16], out[SL_ND_RA_LEN];
	int n;

	if (!sl_nd_router_solicit(data, size, src))
		return 0;
	check(size >= 48 && data[6] == 58 && data[7] == 255 && data[40] == 133);
	check(memcmp(src, data + 8, 16) == 0);
	memcpy(ra.dst, src, 16);
	n = sl_nd_build_ra(&ra, out, sizeof(out));
	check(n == SL_ND_RA_LEN && out[40] == 134);
	check(!sl_nd_router_solicit(out, (size_t)n, src));
	return 0;
}
