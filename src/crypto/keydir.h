/* SPDX-License-Identifier: MIT */
/*
 * One direction of a data-channel key, whatever the wire format: the AEAD
 * context and, on the receiving side only, the replay window. ESP and
 * OpenVPN SAs both embed one.
 */
#ifndef SL_CRYPTO_KEYDIR_H
#define SL_CRYPTO_KEYDIR_H

#include "crypto/aead.h"
#include "crypto/replay.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sl_keydir {
	struct sl_aead *aead;	 /* owned */
	struct sl_replay replay; /* rx only */
};

/*
 * tx: an encrypting context and no window; else decrypting, with a replay
 * window of `window` (0 = default). The caller has validated c and key_len.
 * Returns 0, the window's -EINVAL, or -ENOMEM; on failure d holds nothing.
 */
int sl_keydir_init(struct sl_keydir *d, enum sl_cipher c, const uint8_t *key, size_t key_len,
		   size_t tag_len, bool tx, uint32_t window);
/* Frees both parts; the owner zeroes its whole SA afterwards. Fine on a zeroed one. */
void sl_keydir_clear(struct sl_keydir *d);

/* An rx direction is the one with a replay window; a cleared one is neither. */
static inline bool sl_keydir_is_rx(const struct sl_keydir *d)
{
	return d->aead && d->replay.bits;
}

static inline bool sl_keydir_is_tx(const struct sl_keydir *d)
{
	return d->aead && !d->replay.bits;
}

#endif
