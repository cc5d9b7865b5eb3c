// SPDX-License-Identifier: MIT
/*
 * HDLC from the network: the input is a byte stream from a TLS connection.
 * 1. Un-frame it frame by frame as the PPP control plane does; every frame
 *    must stay inside what was consumed, and the stream must be used up.
 * 2. Frame the input with a map from its first bytes and un-frame it again:
 *    the bytes must come back, or the target aborts.
 */
#include "proto/hdlc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void check(int ok)
{
	if (!ok)
		abort();
}

static void unframe_stream(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	size_t off = 0;

	check(buf != NULL);
	memcpy(buf, data, size);
	while (off < size) {
		size_t used, len;
		int r = sl_hdlc_unframe(buf + off, size - off, &used, &len);

		check(used <= size - off && len <= used);
		if (r == -EAGAIN && used == 0)
			break; /* an incomplete frame: would wait for more */
		check(r == 0 || r == -EBADMSG || r == -EAGAIN);
		if (used == 0)
			used = 1; /* a lone flag left for the next frame: skip it as the caller does
				   */
		off += used;
	}
	free(buf);
}

static void round_trip(const uint8_t *data, size_t size)
{
	uint32_t accm = size >= 4 ? (uint32_t)data[0] << 24 | data[1] << 16 | data[2] << 8 | data[3]
				  : SL_HDLC_ACCM_ALL;
	uint8_t *out = malloc(sl_hdlc_framed_max(size));
	size_t n, used, len;

	check(out != NULL);
	n = sl_hdlc_frame(data, size, out, accm);
	check(n <= sl_hdlc_framed_max(size));
	check(sl_hdlc_unframe(out, n, &used, &len) == 0);
	check(len == size && used == n - 1 && (size == 0 || memcmp(out, data, size) == 0));
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unframe_stream(data, size);
	round_trip(data, size);
	return 0;
}
