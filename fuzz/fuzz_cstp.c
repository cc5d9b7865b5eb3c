// SPDX-License-Identifier: MIT
/*
 * A CSTP byte stream from the network: frames are taken off it as the
 * AnyConnect control plane does (header, then payload when all of it is
 * there). A header written back for a parsed frame must equal the input's.
 */
#include "proto/cstp.h"

#include <errno.h>
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
	size_t off = 0;

	while (off < size) {
		struct sl_cstp_frame f;
		uint8_t h[SL_CSTP_HDR_LEN];
		int r = sl_cstp_parse(data + off, size - off, &f);

		if (r == -EAGAIN || r == -EBADMSG)
			break;
		check(r == SL_CSTP_HDR_LEN);
		sl_cstp_write_header(h, f.type, f.len);
		check(memcmp(h, data + off, SL_CSTP_HDR_LEN) == 0);
		(void)sl_cstp_type_name(f.type);
		if (f.len > size - off - SL_CSTP_HDR_LEN)
			break; /* would wait for the rest */
		off += SL_CSTP_HDR_LEN + f.len;
	}
	return 0;
}
