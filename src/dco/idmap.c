// SPDX-License-Identifier: MIT
/*
 * Open addressing with linear probing over a power-of-two slot array.
 *
 * Lookups run on every packet (SPI -> peer), so a slot is 16 bytes and a
 * probe touches consecutive cache lines. The table is rehashed when used
 * plus deleted slots would pass 3/4 of the capacity, which keeps at least a
 * quarter of the slots empty so every probe sequence ends; the rehash drops
 * tombstones, and grows only if the live entries need it.
 */
#include "dco/idmap.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

enum { SLOT_EMPTY = 0, SLOT_USED = 1, SLOT_DELETED = 2 };

#define MIN_CAP 8u
#define MAX_CAP (1u << 30)

/* murmur3's finalizer: peer ids and SPIs are often sequential, so spread every bit. */
static uint32_t mix32(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* Index of key's slot, or cap if absent. */
static uint32_t find(const struct sl_idmap *m, uint32_t key)
{
	uint32_t mask = m->cap - 1;

	if (m->cap == 0)
		return 0;
	for (uint32_t i = mix32(key) & mask;; i = (i + 1) & mask) {
		const struct sl_idmap_slot *s = &m->slots[i];

		if (s->state == SLOT_EMPTY)
			return m->cap;
		if (s->state == SLOT_USED && s->key == key)
			return i;
	}
}

/* First reusable slot on key's probe path: the earliest tombstone, else the empty slot. */
static struct sl_idmap_slot *free_slot(struct sl_idmap *m, uint32_t key)
{
	uint32_t mask = m->cap - 1;

	for (uint32_t i = mix32(key) & mask;; i = (i + 1) & mask)
		if (m->slots[i].state != SLOT_USED)
			return &m->slots[i];
}

static bool needs_rehash(const struct sl_idmap *m)
{
	return ((uint64_t)m->count + m->tombs + 1) * 4 > (uint64_t)m->cap * 3;
}

/* Room for count + 1 live entries at no more than half load. */
static uint32_t rehash_cap(const struct sl_idmap *m)
{
	uint32_t cap = m->cap < MIN_CAP ? MIN_CAP : m->cap;

	while (((uint64_t)m->count + 1) * 2 > cap && cap <= MAX_CAP / 2)
		cap *= 2;
	return cap;
}

static int rehash(struct sl_idmap *m)
{
	uint32_t cap = rehash_cap(m);
	struct sl_idmap old = *m;

	if (((uint64_t)m->count + 1) * 4 > (uint64_t)cap * 3)
		return -ENOMEM;
	m->slots = calloc(cap, sizeof(*m->slots));
	if (!m->slots) {
		*m = old;
		return -ENOMEM;
	}
	m->cap = cap;
	m->tombs = 0;
	for (uint32_t i = 0; i < old.cap; i++) {
		if (old.slots[i].state == SLOT_USED)
			*free_slot(m, old.slots[i].key) = old.slots[i];
	}
	free(old.slots);
	return 0;
}

void sl_idmap_init(struct sl_idmap *m)
{
	*m = (struct sl_idmap){0};
}

void sl_idmap_free(struct sl_idmap *m)
{
	free(m->slots);
	sl_idmap_init(m);
}

int sl_idmap_put(struct sl_idmap *m, uint32_t key, void *value)
{
	uint32_t i = find(m, key);
	struct sl_idmap_slot *s;

	if (i < m->cap) {
		m->slots[i].value = value;
		return 0;
	}
	if (needs_rehash(m)) {
		int r = rehash(m);

		if (r < 0)
			return r;
	}
	s = free_slot(m, key);
	if (s->state == SLOT_DELETED)
		m->tombs--;
	*s = (struct sl_idmap_slot){.key = key, .state = SLOT_USED, .value = value};
	m->count++;
	return 0;
}

void *sl_idmap_get(const struct sl_idmap *m, uint32_t key)
{
	uint32_t i = find(m, key);

	return i < m->cap ? m->slots[i].value : NULL;
}

/*
 * A slot followed by an empty one ends every probe sequence that reaches it,
 * so it (and the tombstones right before it) can become empty rather than
 * a tombstone: under churn most deletes then leave nothing behind.
 */
static void clear_slot(struct sl_idmap *m, uint32_t i)
{
	uint32_t mask = m->cap - 1;

	m->slots[i] = (struct sl_idmap_slot){.state = SLOT_DELETED};
	m->tombs++;
	if (m->slots[(i + 1) & mask].state != SLOT_EMPTY)
		return;
	while (m->slots[i].state == SLOT_DELETED) {
		m->slots[i].state = SLOT_EMPTY;
		m->tombs--;
		i = (i - 1) & mask;
	}
}

void *sl_idmap_del(struct sl_idmap *m, uint32_t key)
{
	uint32_t i = find(m, key);
	void *value;

	if (i >= m->cap)
		return NULL;
	value = m->slots[i].value;
	clear_slot(m, i);
	m->count--;
	return value;
}
