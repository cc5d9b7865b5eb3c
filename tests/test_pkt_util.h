/* SPDX-License-Identifier: MIT */
/* Test helper: packets over exactly sized heap buffers. Include after <cmocka.h>. */
#ifndef SL_TESTS_TEST_PKT_UTIL_H
#define SL_TESTS_TEST_PKT_UTIL_H

#include "core/pkt.h"

#include <stdlib.h>
#include <string.h>

/* A packet over its own heap buffer, sized exactly, so ASan sees any write past it. */
struct test_pkt {
	struct sl_pkt p;
	uint8_t *mem;
};

static inline void pkt_make(struct test_pkt *t, uint32_t headroom, const uint8_t *data,
			    uint32_t len, uint32_t tailroom)
{
	uint32_t cap = headroom + len + tailroom;

	t->mem = malloc(cap ? cap : 1);
	assert_non_null(t->mem);
	t->p = (struct sl_pkt){.buf = t->mem, .cap = cap};
	sl_pkt_reset(&t->p, headroom);
	if (len)
		memcpy(sl_pkt_put(&t->p, len), data, len);
}

static inline void pkt_free(struct test_pkt *t)
{
	free(t->mem);
}

#endif
