/* SPDX-License-Identifier: MIT */
/*
 * Inner addresses for clients from a configured prefix (Pool4 / Pool6).
 * Host index 0 (network, or IPv6 subnet-router anycast) and 1 (the server's
 * own address, the gateway) are never handed out, nor the IPv4 broadcast
 * address. Only the first 65536 host indices are used, so an IPv6 /64 costs
 * an 8 KiB bitmap.
 */
#ifndef SL_CTL_NATIVE_ADDRPOOL_H
#define SL_CTL_NATIVE_ADDRPOOL_H

#include "sluice/engine.h"

#include <stdint.h>

#define SL_ADDRPOOL_MAX_HOSTS 65536u

struct sl_addrpool {
	struct sl_prefix prefix; /* host bits cleared */
	uint32_t first, last;	 /* host indices that may be handed out, inclusive */
	uint32_t used;
	uint32_t hint;	 /* every usable index below it is taken */
	uint8_t *bitmap; /* bit i: host index i taken */
};

/* 0, -EINVAL (family, or no room for one client after the reserved ones) or -ENOMEM. */
int sl_addrpool_init(struct sl_addrpool *p, const struct sl_prefix *prefix);
void sl_addrpool_free(struct sl_addrpool *p);

/* The server's address in the pool (host index 1). */
void sl_addrpool_gateway(const struct sl_addrpool *p, uint8_t out[16]);
/* Take exactly addr: 0, -EBUSY (taken), -EINVAL (outside the pool or reserved). */
int sl_addrpool_take(struct sl_addrpool *p, const uint8_t *addr);
/* Take want if it is free and allowed (want may be NULL), else the lowest free one. 0 or -ENOSPC.
 */
int sl_addrpool_alloc(struct sl_addrpool *p, const uint8_t *want, uint8_t out[16]);
/* Give addr back. 0 or -ENOENT (not taken from this pool). */
int sl_addrpool_release(struct sl_addrpool *p, const uint8_t *addr);
uint32_t sl_addrpool_available(const struct sl_addrpool *p);

#endif
