// SPDX-License-Identifier: MIT
/*
 * Linear probing over a power-of-two slot array, at most 3/4 full, with
 * backward-shift deletion (no tombstones): after a delete, later entries of
 * the same probe run move back, so every lookup stops at the first empty
 * slot and deletes leave nothing behind.
 */
#include "dco/hostmap.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#define MIN_CAP 16u
#define MAX_CAP (1u << 30)
#define NONE	UINT32_MAX

/* One multiply folds the halves (an IPv4 key has lo = 0), murmur3's finalizer spreads them. */
static uint32_t home(const struct sl_hostmap *m, uint64_t hi, uint64_t lo)
{
	uint64_t h = hi ^ (lo * 0x9e3779b97f4a7c15ull);

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return (uint32_t)h & (m->cap - 1);
}

/* Index of the key's slot, or of the empty slot where it would go. */
static uint32_t probe(const struct sl_hostmap *m, uint64_t hi, uint64_t lo)
{
	uint32_t mask = m->cap - 1, i = home(m, hi, lo);

	while (m->slots[i].used && (m->slots[i].hi != hi || m->slots[i].lo != lo))
		i = (i + 1) & mask;
	return i;
}

void sl_hostmap_init(struct sl_hostmap *m)
{
	*m = (struct sl_hostmap){0};
}

void sl_hostmap_free(struct sl_hostmap *m)
{
	free(m->slots);
	sl_hostmap_init(m);
}

static int grow(struct sl_hostmap *m)
{
	struct sl_hostmap old = *m;
	uint32_t cap = m->cap ? m->cap * 2 : MIN_CAP;

	if (cap > MAX_CAP)
		return -ENOMEM;
	m->slots = calloc(cap, sizeof(*m->slots));
	if (!m->slots) {
		*m = old;
		return -ENOMEM;
	}
	m->cap = cap;
	for (uint32_t i = 0; i < old.cap; i++)
		if (old.slots[i].used)
			m->slots[probe(m, old.slots[i].hi, old.slots[i].lo)] = old.slots[i];
	free(old.slots);
	return 0;
}

int sl_hostmap_put(struct sl_hostmap *m, uint64_t hi, uint64_t lo, uint32_t peer)
{
	struct sl_hostmap_slot *s;

	if (m->cap) {
		s = &m->slots[probe(m, hi, lo)];
		if (s->used) {
			s->peer = peer;
			return 0;
		}
	}
	if (((uint64_t)m->count + 1) * 4 > (uint64_t)m->cap * 3) {
		int r = grow(m);

		if (r < 0)
			return r;
	}
	s = &m->slots[probe(m, hi, lo)];
	*s = (struct sl_hostmap_slot){.hi = hi, .lo = lo, .peer = peer, .used = 1};
	m->count++;
	return 0;
}

uint32_t sl_hostmap_get(const struct sl_hostmap *m, uint64_t hi, uint64_t lo)
{
	const struct sl_hostmap_slot *s;

	if (!m->count)
		return NONE;
	s = &m->slots[probe(m, hi, lo)];
	return s->used ? s->peer : NONE;
}

/* Whether home slot k lies cyclically in (i, j]: then the entry at j may not move to i. */
static bool in_run(uint32_t k, uint32_t i, uint32_t j)
{
	return i <= j ? (k > i && k <= j) : (k > i || k <= j);
}

void sl_hostmap_del(struct sl_hostmap *m, uint64_t hi, uint64_t lo)
{
	uint32_t mask = m->cap - 1, i, j;

	if (!m->count)
		return;
	i = probe(m, hi, lo);
	if (!m->slots[i].used)
		return;
	for (j = (i + 1) & mask; m->slots[j].used; j = (j + 1) & mask) {
		if (in_run(home(m, m->slots[j].hi, m->slots[j].lo), i, j))
			continue;
		m->slots[i] = m->slots[j];
		i = j;
	}
	m->slots[i] = (struct sl_hostmap_slot){0};
	m->count--;
}
