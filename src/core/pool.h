/* SPDX-License-Identifier: MIT */
/*
 * A fixed set of packet buffers, all of one size, carved from one
 * allocation. Opened with the largest head/tail room any enabled protocol
 * declares, so a packet read from the TUN device can be sealed in place.
 * Not thread-safe: one pool per worker.
 */
#ifndef SL_CORE_POOL_H
#define SL_CORE_POOL_H

#include "core/pkt.h"
#include <stdbool.h>
#include <stdint.h>

struct sl_pool;

struct sl_pool_cfg {
	uint32_t count;	   /* number of packets */
	uint32_t headroom; /* bytes before data in a fresh packet */
	uint32_t mtu;	   /* largest data length a fresh packet can hold */
	uint32_t tailroom; /* bytes after mtu */
};

/*
 * Returns NULL with errno set (EINVAL for a zero count, more than 65536
 * packets, a zero mtu or headroom + mtu + tailroom over 1 MiB; ENOMEM).
 * Slots are 64-byte aligned; a packet's cap is its whole slot, so its
 * tailroom may exceed cfg->tailroom by up to 63 bytes.
 */
struct sl_pool *sl_pool_new(const struct sl_pool_cfg *cfg);
void sl_pool_free(struct sl_pool *pool);

/* A fresh packet: data at buf + headroom, len 0. NULL when the pool is empty. */
struct sl_pkt *sl_pool_get(struct sl_pool *pool);
/* Putting back a packet of another pool, or one twice, asserts in debug builds (else: ignored). */
void sl_pool_put(struct sl_pool *pool, struct sl_pkt *p);
/* Whether p is one of this pool's packets and currently taken (got, not put back). */
bool sl_pool_in_use(const struct sl_pool *pool, const struct sl_pkt *p);

/* The packet whose storage contains ptr, or NULL if ptr is not inside this pool. */
struct sl_pkt *sl_pool_pkt_of(struct sl_pool *pool, const void *ptr);

uint32_t sl_pool_headroom(const struct sl_pool *pool);
uint32_t sl_pool_tailroom(const struct sl_pool *pool);
uint32_t sl_pool_mtu(const struct sl_pool *pool);
uint32_t sl_pool_available(const struct sl_pool *pool);
uint32_t sl_pool_count(const struct sl_pool *pool);

#endif
