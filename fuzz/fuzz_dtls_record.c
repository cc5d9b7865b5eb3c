// SPDX-License-Identifier: MIT
/*
 * A DTLS record from the network: opened with fixed rx keys of each cipher
 * (refused or opened, the packet stays inside its buffer); then the input
 * sealed as plaintext and opened again must come back unchanged.
 */
#include "proto/dtls_record.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check(int ok)
{
	if (!ok)
		abort();
}

static const uint8_t key[32] = {0x42, 1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
				16,   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
static const uint8_t iv[12] = {0xa0, 0xa1, 0xa2, 0xa3, 4, 5, 6, 7, 8, 9, 10, 11};

static uint8_t *pkt_copy(struct sl_pkt *p, const uint8_t *data, size_t size)
{
	uint32_t cap = (uint32_t)size + SL_DTLS_HEADROOM + SL_DTLS_TAILROOM;
	uint8_t *mem = malloc(cap);

	check(mem != NULL);
	*p = (struct sl_pkt){.buf = mem, .cap = cap};
	sl_pkt_reset(p, SL_DTLS_HEADROOM);
	if (size)
		memcpy(sl_pkt_put(p, (uint32_t)size), data, size);
	return mem;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int c = 0; c < SL_CIPHER__COUNT; c++) {
		size_t ivl = c == SL_CIPHER_CHACHA20POLY1305 ? 12 : 4;
		struct sl_dtls_dir rx, tx;
		struct sl_pkt p;
		uint8_t *mem;
		enum sl_drop d;

		check(sl_dtls_dir_init(&rx, (enum sl_cipher)c, key, sl_cipher_key_len(c), iv, ivl,
				       1, false, 0) == 0);
		check(sl_dtls_dir_init(&tx, (enum sl_cipher)c, key, sl_cipher_key_len(c), iv, ivl,
				       1, true, 0) == 0);
		mem = pkt_copy(&p, data, size);
		d = sl_dtls_open(&rx, &p);
		check(p.data >= mem && p.data + p.len <= mem + p.cap);
		if (d != SL_DROP_NONE)
			check(p.len == size);
		free(mem);
		mem = pkt_copy(&p, data, size);
		d = sl_dtls_seal(&tx, &p, SL_DTLS_APP_DATA, NULL);
		check(d == SL_DROP_NONE || (d == SL_DROP_TOOBIG && size > 16384));
		if (d == SL_DROP_NONE) {
			check(sl_dtls_open(&rx, &p) == SL_DROP_NONE && p.len == size);
			check(size == 0 || memcmp(p.data, data, size) == 0);
		}
		free(mem);
		sl_dtls_dir_clear(&rx);
		sl_dtls_dir_clear(&tx);
	}
	return 0;
}
