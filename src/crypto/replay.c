// SPDX-License-Identifier: MIT
/*
 * RFC 6479 anti-replay window, with the semantics of wireguard-go
 * replay/replay.go (Filter.ValidateCounter):
 *
 *   bits[]:  | w0 | w1 | ... | w(N-1) |   N = mask + 1 words of 64 bits, N a power of two
 *   seq lives in word (seq / 64) mod N, bit seq mod 64.
 *
 * The word holding top and the N-1 words before it cover at least
 * (N-1)*64 numbers behind top, so that is the usable window; the spare word
 * lets the window advance by clearing whole words instead of shifting bits.
 * A sequence number is inside the window when top - seq <= window.
 */
#include "crypto/replay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define WORD_BITS  64u
#define WORD_SHIFT 6u

static uint32_t words_for_window(uint32_t window)
{
	uint32_t need = (window + WORD_BITS - 1) / WORD_BITS + 1;
	uint32_t n = 1;

	while (n < need)
		n <<= 1;
	return n;
}

int sl_replay_init(struct sl_replay *r, uint32_t window)
{
	uint32_t nwords;

	memset(r, 0, sizeof(*r));
	if (window == 0)
		window = SL_REPLAY_DEFAULT_WINDOW;
	if (window < 32 || window > SL_REPLAY_MAX_WINDOW)
		return -EINVAL;
	nwords = words_for_window(window);
	r->bits = calloc(nwords, sizeof(*r->bits));
	if (!r->bits)
		return -ENOMEM;
	r->mask = nwords - 1;
	r->window = (nwords - 1) * WORD_BITS;
	return 0;
}

void sl_replay_free(struct sl_replay *r)
{
	free(r->bits);
	memset(r, 0, sizeof(*r));
}

void sl_replay_reset(struct sl_replay *r)
{
	r->top = 0;
	memset(r->bits, 0, ((size_t)r->mask + 1) * sizeof(*r->bits));
}

static uint64_t *word_of(const struct sl_replay *r, uint64_t seq)
{
	return &r->bits[(seq >> WORD_SHIFT) & r->mask];
}

static uint64_t bit_of(uint64_t seq)
{
	return 1ull << (seq & (WORD_BITS - 1));
}

static bool too_old(const struct sl_replay *r, uint64_t seq)
{
	return seq <= r->top && r->top - seq > r->window;
}

bool sl_replay_check(const struct sl_replay *r, uint64_t seq)
{
	if (seq == 0 || too_old(r, seq))
		return false;
	return seq > r->top || !(*word_of(r, seq) & bit_of(seq));
}

/* Clear the words that now come into the window; a jump of N words or more clears them all. */
static void advance(struct sl_replay *r, uint64_t seq)
{
	uint64_t top_word = r->top >> WORD_SHIFT;
	uint64_t words = (seq >> WORD_SHIFT) - top_word;

	if (words > (uint64_t)r->mask + 1)
		words = (uint64_t)r->mask + 1;
	for (uint64_t i = 1; i <= words; i++)
		r->bits[(top_word + i) & r->mask] = 0;
	r->top = seq;
}

bool sl_replay_update(struct sl_replay *r, uint64_t seq)
{
	uint64_t *word, bit;

	if (seq == 0 || too_old(r, seq))
		return false;
	if (seq > r->top)
		advance(r, seq);
	word = word_of(r, seq);
	bit = bit_of(seq);
	if (*word & bit)
		return false;
	*word |= bit;
	return true;
}
