// SPDX-License-Identifier: MIT
/* The id/SPI hash map, checked case by case and against a dumb reference on random operations. */
#include "dco/idmap.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

/* Distinct, recognisable pointer values without allocating. */
static char tokens[1024];
#define TOKEN(i) ((void *)&tokens[(i) % sizeof(tokens)])

/* Live entries and tombstones as the slots say, to check the counters the map keeps. */
static void assert_counters_consistent(const struct sl_idmap *m)
{
	uint32_t used = 0, dead = 0;

	for (uint32_t i = 0; i < m->cap; i++) {
		used += m->slots[i].state == 1;
		dead += m->slots[i].state == 2;
	}
	assert_int_equal(used, m->count);
	assert_int_equal(dead, m->tombs);
	if (m->cap)
		assert_true((uint64_t)(m->count + m->tombs) * 4 <= (uint64_t)m->cap * 3);
}

static void test_put_get_del(void **state)
{
	struct sl_idmap m;

	sl_idmap_init(&m);
	assert_null(sl_idmap_get(&m, 7));
	assert_null(sl_idmap_del(&m, 7));
	assert_int_equal(sl_idmap_put(&m, 7, TOKEN(1)), 0);
	assert_int_equal(sl_idmap_put(&m, 8, TOKEN(2)), 0);
	assert_ptr_equal(sl_idmap_get(&m, 7), TOKEN(1));
	assert_ptr_equal(sl_idmap_get(&m, 8), TOKEN(2));
	assert_null(sl_idmap_get(&m, 9));
	assert_int_equal(m.count, 2);
	assert_ptr_equal(sl_idmap_del(&m, 7), TOKEN(1));
	assert_null(sl_idmap_get(&m, 7));
	assert_null(sl_idmap_del(&m, 7));
	assert_ptr_equal(sl_idmap_get(&m, 8), TOKEN(2));
	assert_int_equal(m.count, 1);
	assert_counters_consistent(&m);
	sl_idmap_free(&m);
	assert_int_equal(m.cap, 0);
	assert_null(sl_idmap_get(&m, 8));
}

static void test_replace(void **state)
{
	struct sl_idmap m;

	sl_idmap_init(&m);
	assert_int_equal(sl_idmap_put(&m, 42, TOKEN(1)), 0);
	assert_int_equal(sl_idmap_put(&m, 42, TOKEN(2)), 0);
	assert_ptr_equal(sl_idmap_get(&m, 42), TOKEN(2));
	assert_int_equal(m.count, 1);
	assert_ptr_equal(sl_idmap_del(&m, 42), TOKEN(2));
	assert_null(sl_idmap_get(&m, 42));
	sl_idmap_free(&m);
}

static void test_extreme_keys(void **state)
{
	struct sl_idmap m;

	sl_idmap_init(&m);
	/* An empty slot is zeroed, so key 0 must be told apart by its state. */
	assert_null(sl_idmap_get(&m, 0));
	assert_int_equal(sl_idmap_put(&m, 1, TOKEN(1)), 0);
	assert_null(sl_idmap_get(&m, 0));
	assert_int_equal(sl_idmap_put(&m, 0, TOKEN(2)), 0);
	assert_int_equal(sl_idmap_put(&m, 0xFFFFFFFFu, TOKEN(3)), 0);
	assert_ptr_equal(sl_idmap_get(&m, 0), TOKEN(2));
	assert_ptr_equal(sl_idmap_get(&m, 0xFFFFFFFFu), TOKEN(3));
	assert_ptr_equal(sl_idmap_get(&m, 1), TOKEN(1));
	assert_ptr_equal(sl_idmap_del(&m, 0), TOKEN(2));
	assert_null(sl_idmap_get(&m, 0));
	assert_ptr_equal(sl_idmap_get(&m, 0xFFFFFFFFu), TOKEN(3));
	assert_int_equal(m.count, 2);
	sl_idmap_free(&m);
}

static void test_key_zero_among_tombstones(void **state)
{
	struct sl_idmap m;
	uint32_t victim;

	/*
	 * A deleted slot is zeroed too: it must not pass for key 0. Key 0 hashes
	 * to slot 0 (the mixer maps 0 to 0), so make slot 0 a tombstone.
	 */
	sl_idmap_init(&m);
	for (uint32_t i = 1; m.slots == NULL || m.slots[0].state != 1 || m.slots[1].state != 1;
	     i++) {
		assert_true(i < 1000);
		assert_int_equal(sl_idmap_put(&m, i, TOKEN(i)), 0);
	}
	victim = m.slots[0].key;
	assert_non_null(sl_idmap_del(&m, victim));
	assert_int_equal(m.slots[0].state, 2);
	assert_null(sl_idmap_get(&m, 0));
	assert_null(sl_idmap_del(&m, 0));
	assert_int_equal(sl_idmap_put(&m, 0, TOKEN(100)), 0);
	assert_int_equal(m.slots[0].state, 1); /* the tombstone was reused */
	assert_counters_consistent(&m);
	assert_ptr_equal(sl_idmap_get(&m, 0), TOKEN(100));
	assert_ptr_equal(sl_idmap_del(&m, 0), TOKEN(100));
	assert_null(sl_idmap_get(&m, 0));
	assert_null(sl_idmap_get(&m, victim));
	assert_counters_consistent(&m);
	sl_idmap_free(&m);
}

static void test_growth(void **state)
{
	struct sl_idmap m;
	uint32_t prev_cap = 0, grows = 0;
	const uint32_t n = 20000;

	sl_idmap_init(&m);
	for (uint32_t i = 0; i < n; i++) {
		/* Sequential ids, as peer ids usually are. */
		assert_int_equal(sl_idmap_put(&m, i, TOKEN(i)), 0);
		assert_true((m.cap & (m.cap - 1)) == 0);
		grows += m.cap != prev_cap;
		prev_cap = m.cap;
	}
	assert_int_equal(m.count, n);
	assert_true(m.cap >= n * 4 / 3 && m.cap <= n * 4);
	assert_true(grows > 5);
	for (uint32_t i = 0; i < n; i++)
		assert_ptr_equal(sl_idmap_get(&m, i), TOKEN(i));
	assert_null(sl_idmap_get(&m, n));
	assert_counters_consistent(&m);
	sl_idmap_free(&m);
}

static void test_tombstone_reuse(void **state)
{
	struct sl_idmap m;
	uint32_t cap, tombs;

	sl_idmap_init(&m);
	for (uint32_t i = 0; i < 40; i++)
		assert_int_equal(sl_idmap_put(&m, i * 7919, TOKEN(i)), 0);
	cap = m.cap;
	for (uint32_t i = 0; i < 40; i += 2)
		assert_ptr_equal(sl_idmap_del(&m, i * 7919), TOKEN(i));
	assert_counters_consistent(&m);
	tombs = m.tombs;
	/* In a 40/64 dense table some deleted slots sit inside probe runs. */
	assert_true(tombs > 0);
	for (uint32_t i = 0; i < 40; i += 2)
		assert_int_equal(sl_idmap_put(&m, i * 7919, TOKEN(i + 1)), 0);
	assert_true(m.tombs < tombs);
	assert_int_equal(m.cap, cap);
	assert_counters_consistent(&m);
	for (uint32_t i = 0; i < 40; i++)
		assert_ptr_equal(sl_idmap_get(&m, i * 7919), TOKEN(i + (i % 2 == 0)));
	sl_idmap_free(&m);
}

static void test_churn_stays_small(void **state)
{
	struct sl_idmap m;

	/* SPIs come and go with every rekey: a steady few must not grow the table. */
	sl_idmap_init(&m);
	for (uint32_t i = 0; i < 100000; i++) {
		assert_int_equal(sl_idmap_put(&m, 0x10000000u + i, TOKEN(i)), 0);
		if (i >= 4)
			assert_ptr_equal(sl_idmap_del(&m, 0x10000000u + i - 4), TOKEN(i - 4));
	}
	assert_int_equal(m.count, 4);
	assert_true(m.cap <= 16);
	assert_counters_consistent(&m);
	sl_idmap_free(&m);
}

static uint32_t xorshift32(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

/* Keys from a small universe so puts, replaces and deletes collide often. */
#define REF_KEYS 4096

static void test_random_against_reference(void **state)
{
	/* Four key ranges with the same low bits; they include 0 and 0xFFFFFFFF. */
	static const uint32_t high[4] = {0, 0xFFFFFC00u, 0x80000000u, 0x00ABC000u};
	static void *ref[REF_KEYS];
	struct sl_idmap m;
	uint32_t seed = 0x2545F491u, live = 0;

	sl_idmap_init(&m);
	for (uint32_t op = 0; op < 100000; op++) {
		uint32_t r = xorshift32(&seed);
		uint32_t range = (r >> 12) & 3, low = r % (REF_KEYS / 4);
		uint32_t key = high[range] | low, idx = range * (REF_KEYS / 4) + low;

		switch ((r >> 20) % 4) {
		case 0:
		case 1:
			live += ref[idx] == NULL;
			ref[idx] = (void *)(uintptr_t)(op + 1); /* never dereferenced */
			assert_int_equal(sl_idmap_put(&m, key, ref[idx]), 0);
			break;
		case 2:
			live -= ref[idx] != NULL;
			assert_ptr_equal(sl_idmap_del(&m, key), ref[idx]);
			ref[idx] = NULL;
			break;
		default:
			assert_ptr_equal(sl_idmap_get(&m, key), ref[idx]);
		}
		assert_int_equal(m.count, live);
	}
	assert_counters_consistent(&m);
	for (uint32_t idx = 0; idx < REF_KEYS; idx++) {
		uint32_t key = high[idx / (REF_KEYS / 4)] | (idx % (REF_KEYS / 4));

		assert_ptr_equal(sl_idmap_get(&m, key), ref[idx]);
	}
	sl_idmap_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_del),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_extreme_keys),
		cmocka_unit_test(test_key_zero_among_tombstones),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_tombstone_reuse),
		cmocka_unit_test(test_churn_stays_small),
		cmocka_unit_test(test_random_against_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
