/* SPDX-License-Identifier: MIT */
/*
 * Host routes (/32, /128) by exact address: an open-addressing hash map
 * from a 128-bit key to a peer id, beside the route trie (route.c). A host
 * route is the longest prefix there can be, so a hit here is the answer of
 * the longest-prefix match, found in O(1) whatever the number of peers: a
 * server whose clients each own one address looks them up in flat time.
 */
#ifndef SL_DCO_HOSTMAP_H
#define SL_DCO_HOSTMAP_H

#include <stdint.h>

struct sl_hostmap {
	uint32_t cap; /* power of two, 0 when empty */
	uint32_t count;
	struct sl_hostmap_slot {
		uint64_t hi, lo; /* the address as route.c keys it */
		uint32_t peer;
		uint32_t used;
	} * slots;
};

void sl_hostmap_init(struct sl_hostmap *m);
void sl_hostmap_free(struct sl_hostmap *m);
/* Insert or replace. Replacing never allocates. 0 or -ENOMEM. */
int sl_hostmap_put(struct sl_hostmap *m, uint64_t hi, uint64_t lo, uint32_t peer);
/* The peer, or UINT32_MAX (SL_ROUTE_NONE) if absent. */
uint32_t sl_hostmap_get(const struct sl_hostmap *m, uint64_t hi, uint64_t lo);
/* Remove the key if present. Never allocates. */
void sl_hostmap_del(struct sl_hostmap *m, uint64_t hi, uint64_t lo);

#endif
