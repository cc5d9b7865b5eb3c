// SPDX-License-Identifier: MIT
/*
 * OpenVPN CBC + HMAC data packets from the network: open the input with
 * the rx SA of the known-answer packet of tests/test_ovpn_cbc.c (so seeds
 * and their mutations reach the decryption and padding checks), then seal
 * and open the input as a payload: it must come back unchanged.
 */
#include "proto/ovpn_cbc.h"

#include "proto/ovpn_data.h"

#include <stdlib.h>
#include <string.h>

static void check(bool ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[SL_OVPN_CBC_HEADROOM + 2048 + SL_OVPN_CBC_TAILROOM];
	uint8_t key2[SL_OVPN_KEY2_LEN];
	struct sl_ovpn_cbc_sa rx, tx, rx2;
	struct sl_pkt p;

	if (size > 2048)
		return 0;
	for (int i = 0; i < SL_OVPN_KEY2_LEN; i++)
		key2[i] = (uint8_t)((i * 7 + 5) & 0xff);
	check(!sl_ovpn_cbc_init(&rx, "AES-256-CBC", key2, "SHA256", key2 + 64, 0,
				SL_OVPN_PEER_ID_NONE, false, 0));
	check(!sl_ovpn_cbc_init(&tx, "AES-256-CBC", key2, "SHA1", key2 + 64, 1, 9, true, 0));
	check(!sl_ovpn_cbc_init(&rx2, "AES-256-CBC", key2, "SHA1", key2 + 64, 1,
				SL_OVPN_PEER_ID_NONE, false, 0));
	p = (struct sl_pkt){.buf = buf, .cap = sizeof(buf)};
	sl_pkt_reset(&p, 0);
	memcpy(sl_pkt_put(&p, (uint32_t)size), data, size);
	if (sl_ovpn_cbc_open(&rx, &p) == SL_DROP_NONE)
		check(p.len <= size);
	if (size) {
		sl_pkt_reset(&p, SL_OVPN_CBC_HEADROOM);
		memcpy(sl_pkt_put(&p, (uint32_t)size), data, size);
		check(sl_ovpn_cbc_seal(&tx, &p) == SL_DROP_NONE);
		check(sl_ovpn_cbc_open(&rx2, &p) == SL_DROP_NONE);
		check(p.len == size && !memcmp(p.data, data, size));
	}
	sl_ovpn_cbc_clear(&rx);
	sl_ovpn_cbc_clear(&tx);
	sl_ovpn_cbc_clear(&rx2);
	return 0;
}
