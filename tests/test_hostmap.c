// SPDX-License-Identifier: MIT
/*
 * The host-route index (src/dco/hostmap.c) against a plain array, under
 * inserts, replacements and deletes that force long probe runs and
 * wrap-around, so backward-shift deletion is exercised where it can go wrong.
 */
#include "dco/hostmap.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#define NKEYS 3000
#define NONE  UINT32_MAX

static uint32_t xorshift32(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

struct ref {
	uint64_t hi, lo;
	uint32_t peer; /* NONE: not in the map */
};

static void check_all(const struct sl_hostmap *m, const struct ref *r, size_t n)
{
	uint32_t live = 0;

	for (size_t i = 0; i < n; i++) {
		assert_int_equal(sl_hostmap_get(m, r[i].hi, r[i].lo), r[i].peer);
		live += r[i].peer != NONE;
	}
	assert_int_equal(m->count, live);
	assert_true(m->count * 4 <= m->cap * 3);
}

static void test_empty(void **state)
{
	struct sl_hostmap m;

	sl_hostmap_init(&m);
	assert_int_equal(sl_hostmap_get(&m, 1, 2), NONE);
	sl_hostmap_del(&m, 1, 2);
	assert_int_equal(sl_hostmap_put(&m, 1, 2, 7), 0);
	assert_int_equal(sl_hostmap_get(&m, 1, 2), 7);
	assert_int_equal(sl_hostmap_get(&m, 2, 1), NONE);
	assert_int_equal(sl_hostmap_put(&m, 1, 2, 8), 0); /* replace */
	assert_int_equal(m.count, 1);
	assert_int_equal(sl_hostmap_get(&m, 1, 2), 8);
	sl_hostmap_del(&m, 1, 2);
	assert_int_equal(sl_hostmap_get(&m, 1, 2), NONE);
	assert_int_equal(m.count, 0);
	sl_hostmap_free(&m);
}

/* Sequential addresses (as a server's clients get them) and random churn. */
static void test_churn_against_reference(void **state)
{
	struct ref *r = calloc(NKEYS, sizeof(*r));
	struct sl_hostmap m;
	uint32_t seed = 0x1234567u;

	assert_non_null(r);
	sl_hostmap_init(&m);
	for (size_t i = 0; i < NKEYS; i++) {
		/* Half IPv4-shaped (lo = 0, consecutive), half IPv6-shaped (random low half). */
		r[i].hi = i % 2 ? (0xc6134000ull + i) << 32 : 0x20010db800000000ull;
		r[i].lo = i % 2 ? 0 : ((uint64_t)xorshift32(&seed) << 32 | xorshift32(&seed));
		r[i].peer = NONE;
	}
	for (int round = 0; round < 6; round++) {
		for (size_t i = 0; i < NKEYS; i++) {
			uint32_t x = xorshift32(&seed) % 4;

			if (x == 0 && r[i].peer != NONE) {
				sl_hostmap_del(&m, r[i].hi, r[i].lo);
				r[i].peer = NONE;
			} else if (x != 0) {
				r[i].peer = xorshift32(&seed) % 100000;
				assert_int_equal(sl_hostmap_put(&m, r[i].hi, r[i].lo, r[i].peer),
						 0);
			}
		}
		check_all(&m, r, NKEYS);
	}
	/* Delete everything in a shuffled order, checking as we go. */
	for (size_t k = 0; k < NKEYS; k++) {
		size_t i = (k * 1237) % NKEYS;

		sl_hostmap_del(&m, r[i].hi, r[i].lo);
		r[i].peer = NONE;
		if (k % 500 == 0)
			check_all(&m, r, NKEYS);
	}
	check_all(&m, r, NKEYS);
	assert_int_equal(m.count, 0);
	sl_hostmap_free(&m);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_churn_against_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
