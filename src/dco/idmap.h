/* SPDX-License-Identifier: MIT */
/*
 * An open-addressing hash map from a 32-bit key (peer id, SPI) to a pointer.
 * Grows by doubling; lookups are O(1) on average and never allocate.
 */
#ifndef SL_DCO_IDMAP_H
#define SL_DCO_IDMAP_H

#include <stdint.h>

struct sl_idmap {
	uint32_t cap; /* power of two, 0 when empty */
	uint32_t count;
	uint32_t tombs;
	struct sl_idmap_slot {
		uint32_t key;
		uint32_t state; /* 0 empty, 1 used, 2 deleted */
		void *value;
	} * slots;
};

void sl_idmap_init(struct sl_idmap *m);
void sl_idmap_free(struct sl_idmap *m);
/* Insert or replace. 0 or -ENOMEM. */
int sl_idmap_put(struct sl_idmap *m, uint32_t key, void *value);
void *sl_idmap_get(const struct sl_idmap *m, uint32_t key);
/* Returns the removed value or NULL. */
void *sl_idmap_del(struct sl_idmap *m, uint32_t key);

#endif
