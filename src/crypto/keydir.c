// SPDX-License-Identifier: MIT
#include "crypto/keydir.h"

#include <errno.h>
#include <string.h>

int sl_keydir_init(struct sl_keydir *d, enum sl_cipher c, const uint8_t *key, size_t key_len,
		   size_t tag_len, bool tx, uint32_t window)
{
	int r;

	memset(d, 0, sizeof(*d));
	if (!tx) {
		r = sl_replay_init(&d->replay, window);
		if (r < 0)
			return r;
	}
	/* Arguments are valid here, so a failure is OpenSSL running out of something. */
	d->aead = sl_aead_new(c, key, key_len, tag_len, tx);
	if (!d->aead) {
		sl_replay_free(&d->replay);
		return -ENOMEM;
	}
	return 0;
}

void sl_keydir_clear(struct sl_keydir *d)
{
	sl_aead_free(d->aead);
	d->aead = NULL;
	sl_replay_free(&d->replay);
}
