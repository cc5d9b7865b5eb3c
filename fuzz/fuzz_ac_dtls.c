// SPDX-License-Identifier: MIT
/*
 * A datagram at the AnyConnect server's UDP port: is it a ClientHello, and
 * which App-ID does it carry? A session id found lies inside the datagram;
 * the first byte also splits the input into a cipher list to search.
 */
#include "proto/ac_dtls.h"

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
	uint8_t sid[SL_AC_DTLS_SID_MAX];
	size_t sl = 999;
	int r = sl_ac_dtls_hello_sid(data, size, sid, &sl);

	check(r == 0 || r == -EAGAIN || r == -EBADMSG);
	if (r == 0) {
		check(sl <= SL_AC_DTLS_SID_MAX);
		check(size >= 13 + 12 + 35 + sl);
		check(memcmp(sid, data + 13 + 12 + 35, sl) == 0);
		check(data[13 + 12 + 34] == sl);
	}
	if (size > 1) {
		size_t cut = data[0] % size;
		bool has = sl_ac_cipher_list_has((const char *)data + 1, cut, "PSK-NEGOTIATE");

		check(!has || cut >= 13);
	}
	return 0;
}
