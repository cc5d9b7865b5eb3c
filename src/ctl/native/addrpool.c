// SPDX-License-Identifier: MIT
/* A bitmap over the pool's host indices (see addrpool.h for what is reserved). */
#include "ctl/native/addrpool.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static unsigned int addr_bytes(const struct sl_addrpool *p)
{
	return p->prefix.family == AF_INET ? 4 : 16;
}

static unsigned int host_bits(const struct sl_addrpool *p)
{
	return addr_bytes(p) * 8 - p->prefix.len;
}

/* Does addr lie in the prefix? */
static bool in_prefix(const struct sl_addrpool *p, const uint8_t *addr)
{
	unsigned int full = p->prefix.len / 8, rest = p->prefix.len % 8;

	if (memcmp(addr, p->prefix.addr, full))
		return false;
	return !rest || !((addr[full] ^ p->prefix.addr[full]) & (0xff00u >> rest));
}

/* Host index of addr (in the prefix), or UINT64_MAX when it is past the first 2^16. */
static uint64_t host_index(const struct sl_addrpool *p, const uint8_t *addr)
{
	unsigned int n = addr_bytes(p), hb = host_bits(p);
	uint32_t v = (uint32_t)addr[n - 2] << 8 | addr[n - 1];

	for (unsigned int bit = p->prefix.len; bit < (n - 2) * 8; bit++)
		if (addr[bit / 8] & (0x80u >> (bit % 8)))
			return UINT64_MAX;
	if (hb < 16)
		v &= (1u << hb) - 1;
	return v;
}

static void index_addr(const struct sl_addrpool *p, uint32_t idx, uint8_t out[16])
{
	unsigned int n = addr_bytes(p);

	memset(out, 0, 16);
	memcpy(out, p->prefix.addr, n);
	for (unsigned int i = 0; i < 4; i++)
		out[n - 1 - i] |= (uint8_t)(idx >> (8 * i));
}

static bool bit_get(const struct sl_addrpool *p, uint32_t i)
{
	return p->bitmap[i / 8] & (1u << (i % 8));
}

static void bit_set(struct sl_addrpool *p, uint32_t i, bool on)
{
	if (on)
		p->bitmap[i / 8] |= (uint8_t)(1u << (i % 8));
	else
		p->bitmap[i / 8] &= (uint8_t) ~(1u << (i % 8));
}

static void clear_host_bits(struct sl_prefix *pfx, unsigned int bytes)
{
	for (unsigned int i = 0; i < bytes; i++) {
		unsigned int keep = pfx->len > i * 8 ? pfx->len - i * 8 : 0;

		if (keep < 8)
			pfx->addr[i] &= (uint8_t)(0xff00u >> keep);
	}
}

int sl_addrpool_init(struct sl_addrpool *p, const struct sl_prefix *prefix)
{
	uint64_t hosts;

	memset(p, 0, sizeof(*p));
	if ((prefix->family != AF_INET || prefix->len > 32) &&
	    (prefix->family != AF_INET6 || prefix->len > 128))
		return -EINVAL;
	p->prefix = *prefix;
	clear_host_bits(&p->prefix, addr_bytes(p));
	hosts = host_bits(p) >= 16 ? SL_ADDRPOOL_MAX_HOSTS : 1ull << host_bits(p);
	if (hosts < 4)
		return -EINVAL; /* no address left besides network, gateway (and broadcast) */
	p->first = p->hint = 2;
	p->last = (uint32_t)(hosts - 1);
	if (prefix->family == AF_INET && host_bits(p) <= 16)
		p->last--; /* the broadcast address is among the indices we use */
	p->bitmap = calloc(1, (size_t)(hosts + 7) / 8);
	return p->bitmap ? 0 : -ENOMEM;
}

void sl_addrpool_free(struct sl_addrpool *p)
{
	free(p->bitmap);
	p->bitmap = NULL;
}

void sl_addrpool_gateway(const struct sl_addrpool *p, uint8_t out[16])
{
	index_addr(p, 1, out);
}

/* The index of an address that may be handed out, or -EINVAL. */
static int64_t usable_index(const struct sl_addrpool *p, const uint8_t *addr)
{
	uint64_t i;

	if (!in_prefix(p, addr))
		return -EINVAL;
	i = host_index(p, addr);
	if (i < p->first || i > p->last)
		return -EINVAL;
	return (int64_t)i;
}

int sl_addrpool_take(struct sl_addrpool *p, const uint8_t *addr)
{
	int64_t i = usable_index(p, addr);

	if (i < 0)
		return (int)i;
	if (bit_get(p, (uint32_t)i))
		return -EBUSY;
	bit_set(p, (uint32_t)i, true);
	p->used++;
	return 0;
}

int sl_addrpool_alloc(struct sl_addrpool *p, const uint8_t *want, uint8_t out[16])
{
	if (want && sl_addrpool_take(p, want) == 0) {
		index_addr(p, (uint32_t)usable_index(p, want), out);
		return 0;
	}
	for (uint32_t i = p->hint; i <= p->last; i++) {
		if (!bit_get(p, i)) {
			bit_set(p, i, true);
			p->used++;
			p->hint = i + 1;
			index_addr(p, i, out);
			return 0;
		}
	}
	p->hint = p->last + 1;
	return -ENOSPC;
}

int sl_addrpool_release(struct sl_addrpool *p, const uint8_t *addr)
{
	int64_t i = usable_index(p, addr);

	if (i < 0 || !bit_get(p, (uint32_t)i))
		return -ENOENT;
	bit_set(p, (uint32_t)i, false);
	p->used--;
	if ((uint32_t)i < p->hint)
		p->hint = (uint32_t)i;
	return 0;
}

uint32_t sl_addrpool_available(const struct sl_addrpool *p)
{
	return p->last - p->first + 1 - p->used;
}
