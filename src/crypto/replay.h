/* SPDX-License-Identifier: MIT */
/*
 * Anti-replay sliding window, RFC 6479 layout: a ring of 64-bit words,
 * cleared a word at a time as the window advances, never shifted.
 * Sequence number 0 is never valid (ESP and OpenVPN both start at 1).
 */
#ifndef SL_CRYPTO_REPLAY_H
#define SL_CRYPTO_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define SL_REPLAY_DEFAULT_WINDOW 2048
#define SL_REPLAY_MAX_WINDOW	 65536

struct sl_replay {
	uint64_t top;	 /* highest sequence accepted so far (0: none) */
	uint32_t window; /* usable window in sequence numbers, >= requested */
	uint32_t mask;	 /* nwords - 1 */
	uint64_t *bits;	 /* nwords words */
};

/*
 * window: at least this many sequence numbers behind top are accepted
 * (32..SL_REPLAY_MAX_WINDOW; 0 means default). Returns 0, -EINVAL or -ENOMEM.
 */
int sl_replay_init(struct sl_replay *r, uint32_t window);
void sl_replay_free(struct sl_replay *r);
void sl_replay_reset(struct sl_replay *r);

/* Cheap pre-check before authentication: true if seq could be new. Changes nothing. */
bool sl_replay_check(const struct sl_replay *r, uint64_t seq);
/* After authentication: mark seq; false if it is a replay or too old (then drop). */
bool sl_replay_update(struct sl_replay *r, uint64_t seq);

#endif
