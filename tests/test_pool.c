// SPDX-License-Identifier: MIT
/* Packet pool: sizes, layout, exhaustion, pointer-to-packet mapping, misuse. */
#include "core/pool.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define COUNT	 8
#define HEADROOM 40
#define MTU	 1400
#define TAILROOM 30

static struct sl_pool *small_pool(void)
{
	struct sl_pool_cfg cfg = {
		.count = COUNT, .headroom = HEADROOM, .mtu = MTU, .tailroom = TAILROOM};
	struct sl_pool *pool = sl_pool_new(&cfg);

	assert_non_null(pool);
	return pool;
}

static void expect_rejected(uint32_t count, uint32_t headroom, uint32_t mtu, uint32_t tailroom)
{
	struct sl_pool_cfg cfg = {
		.count = count, .headroom = headroom, .mtu = mtu, .tailroom = tailroom};

	errno = 0;
	assert_null(sl_pool_new(&cfg));
	assert_int_equal(errno, EINVAL);
}

static void test_sizes_rejected(void **state)
{
	expect_rejected(0, 0, 1500, 0);
	expect_rejected(65537, 0, 1500, 0);
	expect_rejected(4, 0, 0, 0);
	expect_rejected(4, (1u << 20) + 1, 1500, 0);
	expect_rejected(4, 0, (1u << 20) + 1, 0);
	expect_rejected(4, 0, 1500, UINT32_MAX);
	expect_rejected(4, 1u << 19, 1u << 19, 1); /* the sum counts */
	errno = 0;
	assert_null(sl_pool_new(NULL));
	assert_int_equal(errno, EINVAL);
}

static void test_largest_sizes_accepted(void **state)
{
	struct sl_pool_cfg cfg = {.count = 2, .headroom = 1u << 19, .mtu = 1u << 19};
	struct sl_pool *pool = sl_pool_new(&cfg);

	assert_non_null(pool);
	assert_int_equal(sl_pool_count(pool), 2);
	sl_pool_free(pool);
}

static void test_accessors(void **state)
{
	struct sl_pool *pool = small_pool();

	assert_int_equal(sl_pool_headroom(pool), HEADROOM);
	assert_int_equal(sl_pool_mtu(pool), MTU);
	assert_int_equal(sl_pool_tailroom(pool), TAILROOM);
	assert_int_equal(sl_pool_count(pool), COUNT);
	assert_int_equal(sl_pool_available(pool), COUNT);
	sl_pool_free(pool);
}

static void test_fresh_packet_layout(void **state)
{
	struct sl_pool *pool = small_pool();
	struct sl_pkt *p[COUNT];

	for (int i = 0; i < COUNT; i++) {
		p[i] = sl_pool_get(pool);
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i]->buf % 64, 0);
		assert_int_equal(p[i]->cap % 64, 0);
		assert_ptr_equal(p[i]->data, p[i]->buf + HEADROOM);
		assert_int_equal(p[i]->len, 0);
		assert_int_equal(sl_pkt_headroom(p[i]), HEADROOM);
		assert_true(sl_pkt_tailroom(p[i]) >= MTU + TAILROOM);
		assert_true(sl_pkt_tailroom(p[i]) < MTU + TAILROOM + 64);
		/* The whole slot is writable (ASan checks) and slots do not overlap. */
		memset(p[i]->buf, i + 1, p[i]->cap);
	}
	for (int i = 0; i < COUNT; i++) {
		assert_int_equal(p[i]->buf[0], i + 1);
		assert_int_equal(p[i]->buf[p[i]->cap - 1], i + 1);
		sl_pool_put(pool, p[i]);
	}
	sl_pool_free(pool);
}

static void test_get_resets(void **state)
{
	struct sl_pool *pool = small_pool();
	struct sl_pkt *p = sl_pool_get(pool), *q;

	assert_non_null(sl_pkt_put(p, 100));
	assert_non_null(sl_pkt_push(p, 20));
	p->flags = 3;
	p->peer_id = 9;
	p->next = p;
	sl_pool_put(pool, p);
	q = sl_pool_get(pool);
	assert_ptr_equal(q, p); /* LIFO: the warmest buffer comes back first */
	assert_ptr_equal(q->data, q->buf + HEADROOM);
	assert_int_equal(q->len, 0);
	assert_int_equal(q->flags, 0);
	assert_int_equal(q->peer_id, 0);
	assert_null(q->next);
	sl_pool_put(pool, q);
	sl_pool_free(pool);
}

static void test_exhaust_and_refill(void **state)
{
	struct sl_pool *pool = small_pool();
	struct sl_pkt *p[COUNT];

	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < COUNT; i++) {
			p[i] = sl_pool_get(pool);
			assert_non_null(p[i]);
			for (int j = 0; j < i; j++)
				assert_ptr_not_equal(p[i], p[j]);
			assert_int_equal(sl_pool_available(pool), COUNT - i - 1);
		}
		assert_null(sl_pool_get(pool));
		assert_null(sl_pool_get(pool));
		for (int i = COUNT - 1; i >= 0; i--)
			sl_pool_put(pool, p[i]);
		assert_int_equal(sl_pool_available(pool), COUNT);
	}
	sl_pool_free(pool);
}

static void test_in_use(void **state)
{
	struct sl_pool *pool = small_pool(), *other = small_pool();
	struct sl_pkt *p = sl_pool_get(pool), *o = sl_pool_get(other);
	struct sl_pkt stack = {0};

	assert_true(sl_pool_in_use(pool, p));
	assert_false(sl_pool_in_use(pool, o));
	assert_false(sl_pool_in_use(pool, &stack));
	assert_false(sl_pool_in_use(pool, (struct sl_pkt *)((uint8_t *)p + 1)));
	sl_pool_put(pool, p);
	assert_false(sl_pool_in_use(pool, p));
	sl_pool_put(other, o);
	sl_pool_free(pool);
	sl_pool_free(other);
}

static void test_pkt_of_bounds(void **state)
{
	struct sl_pool *pool = small_pool();
	struct sl_pkt *first = sl_pool_get(pool), *second = sl_pool_get(pool);
	struct sl_pkt *lo = first->buf < second->buf ? first : second;
	struct sl_pkt *hi = lo == first ? second : first;
	uint8_t outside[16];

	assert_ptr_equal(hi->buf, lo->buf + lo->cap); /* slots 0 and 1 are adjacent */
	assert_ptr_equal(sl_pool_pkt_of(pool, lo->buf), lo);
	assert_ptr_equal(sl_pool_pkt_of(pool, lo->data), lo);
	assert_ptr_equal(sl_pool_pkt_of(pool, lo->buf + lo->cap - 1), lo);
	assert_ptr_equal(sl_pool_pkt_of(pool, lo->buf + lo->cap), hi);
	assert_null(sl_pool_pkt_of(pool, lo->buf - 1));
	assert_null(sl_pool_pkt_of(pool, lo->buf + (size_t)COUNT * lo->cap));
	assert_ptr_equal(sl_pool_pkt_of(pool, lo->buf + (size_t)COUNT * lo->cap - 1)->index,
			 COUNT - 1);
	assert_null(sl_pool_pkt_of(pool, outside));
	assert_null(sl_pool_pkt_of(pool, NULL));
	sl_pool_put(pool, first);
	sl_pool_put(pool, second);
	sl_pool_free(pool);
}

#ifndef NDEBUG
/* Runs misuse in a child: a debug build must stop it with an assertion (SIGABRT). */
static void expect_abort(void (*misuse)(void))
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		/* Keep the expected assertion message out of the test output. */
		if (!freopen("/dev/null", "w", stderr))
			_exit(2);
		misuse();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}

/* Static, so a leak checker in the aborted child sees them still reachable. */
static struct sl_pool *volatile misuse_pool, *volatile misuse_other;

static void put_twice(void)
{
	struct sl_pkt *p;

	misuse_pool = small_pool();
	p = sl_pool_get(misuse_pool);
	sl_pool_put(misuse_pool, p);
	sl_pool_put(misuse_pool, p);
}

static void put_foreign(void)
{
	misuse_pool = small_pool();
	misuse_other = small_pool();
	sl_pool_put(misuse_pool, sl_pool_get(misuse_other));
}

static void test_double_put_asserts(void **state)
{
	expect_abort(put_twice);
}

static void test_foreign_put_asserts(void **state)
{
	expect_abort(put_foreign);
}
#else
/* Without asserts, misuse is ignored rather than handing one buffer to two owners. */
static void test_misuse_ignored(void **state)
{
	struct sl_pool *pool = small_pool(), *other = small_pool();
	struct sl_pkt *p = sl_pool_get(pool), *o = sl_pool_get(other);

	sl_pool_put(pool, p);
	sl_pool_put(pool, p);
	sl_pool_put(pool, o);
	assert_int_equal(sl_pool_available(pool), COUNT);
	assert_ptr_not_equal(sl_pool_get(pool), sl_pool_get(pool));
	sl_pool_free(pool);
	sl_pool_free(other);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes_rejected),
		cmocka_unit_test(test_largest_sizes_accepted),
		cmocka_unit_test(test_accessors),
		cmocka_unit_test(test_fresh_packet_layout),
		cmocka_unit_test(test_get_resets),
		cmocka_unit_test(test_exhaust_and_refill),
		cmocka_unit_test(test_in_use),
		cmocka_unit_test(test_pkt_of_bounds),
#ifndef NDEBUG
		cmocka_unit_test(test_double_put_asserts),
		cmocka_unit_test(test_foreign_put_asserts),
#else
		cmocka_unit_test(test_misuse_ignored),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
