// SPDX-License-Identifier: MIT
/*
 * One allocation holds every slot, each a multiple of 64 bytes so every
 * buf starts on a cache line. Free packets sit on a LIFO stack: the packet
 * put back last is handed out next, while its lines are still in cache.
 */
#include "core/pool.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SLOT_ALIGN  64u
#define MAX_SIZE    (1u << 20)
#define MAX_PACKETS (UINT16_MAX + 1u) /* sl_pkt.index is 16 bits */

struct sl_pool {
	uint8_t *storage;     /* count * stride bytes, SLOT_ALIGN aligned */
	struct sl_pkt *pkts;  /* count packets, pkts[i].buf = storage + i * stride */
	uint32_t *free_stack; /* indices of free packets; top at free_top - 1 */
	uint8_t *in_use;      /* per packet: taken by sl_pool_get, not yet put back */
	uint32_t free_top;
	uint32_t count;
	uint32_t stride;
	uint32_t headroom;
	uint32_t mtu;
	uint32_t tailroom;
};

static bool cfg_valid(const struct sl_pool_cfg *cfg)
{
	if (cfg->count == 0 || cfg->count > MAX_PACKETS || cfg->mtu == 0)
		return false;
	if (cfg->headroom > MAX_SIZE || cfg->mtu > MAX_SIZE || cfg->tailroom > MAX_SIZE)
		return false;
	return cfg->headroom + cfg->mtu + cfg->tailroom <= MAX_SIZE;
}

static uint32_t slot_stride(const struct sl_pool_cfg *cfg)
{
	uint32_t size = cfg->headroom + cfg->mtu + cfg->tailroom;

	return (size + SLOT_ALIGN - 1) / SLOT_ALIGN * SLOT_ALIGN;
}

static void init_slots(struct sl_pool *pool)
{
	for (uint32_t i = 0; i < pool->count; i++) {
		struct sl_pkt *p = &pool->pkts[i];

		p->buf = pool->storage + (size_t)i * pool->stride;
		p->cap = pool->stride;
		p->index = (uint16_t)i;
		sl_pkt_reset(p, pool->headroom);
		/* Reverse order so the first get() returns slot 0. */
		pool->free_stack[i] = pool->count - 1 - i;
	}
	pool->free_top = pool->count;
}

struct sl_pool *sl_pool_new(const struct sl_pool_cfg *cfg)
{
	struct sl_pool *pool;

	if (!cfg || !cfg_valid(cfg)) {
		errno = EINVAL;
		return NULL;
	}
	pool = calloc(1, sizeof(*pool));
	if (!pool)
		return NULL;
	pool->count = cfg->count;
	pool->stride = slot_stride(cfg);
	pool->headroom = cfg->headroom;
	pool->mtu = cfg->mtu;
	pool->tailroom = cfg->tailroom;
	pool->storage = aligned_alloc(SLOT_ALIGN, (size_t)pool->count * pool->stride);
	pool->pkts = calloc(pool->count, sizeof(*pool->pkts));
	pool->free_stack = calloc(pool->count, sizeof(*pool->free_stack));
	pool->in_use = calloc(pool->count, sizeof(*pool->in_use));
	if (!pool->storage || !pool->pkts || !pool->free_stack || !pool->in_use) {
		sl_pool_free(pool);
		errno = ENOMEM;
		return NULL;
	}
	init_slots(pool);
	return pool;
}

void sl_pool_free(struct sl_pool *pool)
{
	if (!pool)
		return;
	free(pool->storage);
	free(pool->pkts);
	free(pool->free_stack);
	free(pool->in_use);
	free(pool);
}

struct sl_pkt *sl_pool_get(struct sl_pool *pool)
{
	struct sl_pkt *p;

	if (pool->free_top == 0)
		return NULL;
	p = &pool->pkts[pool->free_stack[--pool->free_top]];
	pool->in_use[p->index] = 1;
	sl_pkt_reset(p, pool->headroom);
	p->peer_id = 0;
	return p;
}

static bool owns(const struct sl_pool *pool, const struct sl_pkt *p)
{
	uintptr_t a = (uintptr_t)p, first = (uintptr_t)pool->pkts;

	return a >= first && a < first + (uintptr_t)pool->count * sizeof(*p) &&
	       (a - first) % sizeof(*p) == 0;
}

bool sl_pool_in_use(const struct sl_pool *pool, const struct sl_pkt *p)
{
	return owns(pool, p) && pool->in_use[p->index];
}

void sl_pool_put(struct sl_pool *pool, struct sl_pkt *p)
{
	bool ok = sl_pool_in_use(pool, p);

	assert(ok && "sl_pool_put: packet of another pool, or put twice");
	if (!ok)
		return; /* pushing it would hand one buffer to two owners */
	pool->in_use[p->index] = 0;
	pool->free_stack[pool->free_top++] = p->index;
}

struct sl_pkt *sl_pool_pkt_of(struct sl_pool *pool, const void *ptr)
{
	uintptr_t a = (uintptr_t)ptr, first = (uintptr_t)pool->storage;

	if (a < first || a - first >= (uintptr_t)pool->count * pool->stride)
		return NULL;
	return &pool->pkts[(a - first) / pool->stride];
}

uint32_t sl_pool_headroom(const struct sl_pool *pool)
{
	return pool->headroom;
}

uint32_t sl_pool_tailroom(const struct sl_pool *pool)
{
	return pool->tailroom;
}

uint32_t sl_pool_mtu(const struct sl_pool *pool)
{
	return pool->mtu;
}

uint32_t sl_pool_available(const struct sl_pool *pool)
{
	return pool->free_top;
}

uint32_t sl_pool_count(const struct sl_pool *pool)
{
	return pool->count;
}
