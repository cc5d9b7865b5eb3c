// SPDX-License-Identifier: MIT
/* The RFC 6479 replay window, case by case and against a dumb reference on random sequences. */
#include "crypto/replay.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* check() must agree with update() before every update: it is the same question asked early. */
static bool accept(struct sl_replay *r, uint64_t seq)
{
	bool maybe = sl_replay_check(r, seq);
	bool ok = sl_replay_update(r, seq);

	assert_int_equal(maybe, ok);
	return ok;
}

static void replay_setup(struct sl_replay *r, uint32_t window)
{
	assert_int_equal(sl_replay_init(r, window), 0);
	assert_true(r->window >= window);
}

static void test_in_order(void **state)
{
	struct sl_replay r;

	replay_setup(&r, 64);
	for (uint64_t s = 1; s <= 10000; s++)
		assert_true(accept(&r, s));
	assert_int_equal(r.top, 10000);
	sl_replay_free(&r);
}

static void test_reordered_within_window(void **state)
{
	struct sl_replay r;

	replay_setup(&r, 64);
	assert_true(accept(&r, 100));
	for (uint64_t s = 99; s >= 100 - r.window; s--)
		assert_true(accept(&r, s));
	assert_true(accept(&r, 102));
	assert_true(accept(&r, 101));
	assert_int_equal(r.top, 102);
	sl_replay_free(&r);
}

static void test_duplicate_rejected(void **state)
{
	struct sl_replay r;

	replay_setup(&r, 64);
	assert_true(accept(&r, 1));
	assert_false(accept(&r, 1));
	assert_true(accept(&r, 5));
	assert_false(accept(&r, 5));
	assert_true(accept(&r, 3));
	assert_false(accept(&r, 3));
	assert_false(accept(&r, 1));
	/* Duplicates across a word boundary and after the window moved on a little. */
	assert_true(accept(&r, 64));
	assert_true(accept(&r, 65));
	assert_false(accept(&r, 64));
	assert_false(accept(&r, 65));
	assert_true(accept(&r, 100));
	assert_false(accept(&r, 65));
	assert_false(accept(&r, 5));
	sl_replay_free(&r);
}

/* top - window is the oldest number accepted; one less is too old. */
static void test_too_old_at_window_edge(void **state)
{
	static const uint32_t windows[] = {32, 64, 2048, 65536};

	for (size_t i = 0; i < sizeof(windows) / sizeof(windows[0]); i++) {
		struct sl_replay r;
		uint64_t top = 3 * (uint64_t)SL_REPLAY_MAX_WINDOW + 17;

		replay_setup(&r, windows[i]);
		assert_true(accept(&r, top));
		assert_false(accept(&r, top - r.window - 1));
		assert_true(accept(&r, top - r.window));
		assert_false(accept(&r, top - r.window));
		assert_false(accept(&r, 1));
		sl_replay_free(&r);
	}
}

static void test_far_future_jump(void **state)
{
	struct sl_replay r;

	replay_setup(&r, 2048);
	for (uint64_t s = 1; s <= 5000; s++)
		assert_true(accept(&r, s));
	/* Jump further than the whole ring: every old mark must be gone, not aliased. */
	uint64_t far = 5000 + 1000 * (uint64_t)r.window + 3;
	assert_true(accept(&r, far));
	for (uint64_t s = far - r.window; s < far; s++)
		assert_true(sl_replay_check(&r, s));
	assert_false(accept(&r, 5000));
	assert_false(accept(&r, 4999));
	assert_false(accept(&r, far - r.window - 1));
	assert_false(accept(&r, far));
	/* A jump of exactly one window plus one keeps the old top just outside. */
	uint64_t next = far + r.window + 1;
	assert_true(accept(&r, next));
	assert_false(accept(&r, far));
	assert_true(accept(&r, far + 1));
	sl_replay_free(&r);
}

static void test_seq_zero_rejected(void **state)
{
	struct sl_replay r;

	replay_setup(&r, 0);
	assert_false(sl_replay_check(&r, 0));
	assert_false(sl_replay_update(&r, 0));
	assert_int_equal(r.top, 0);
	assert_true(accept(&r, 1));
	assert_false(accept(&r, 0));
	sl_replay_free(&r);
}

static void test_window_sizes(void **state)
{
	/* requested -> usable: (next power of two >= ceil(w / 64) + 1, minus one) * 64 */
	static const uint32_t cases[][2] = {
		{32, 64},     {64, 64},	    {65, 192},	     {2048, 4032},
		{4032, 4032}, {4033, 8128}, {65536, 131008}, {0, 4032},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sl_replay r;

		assert_int_equal(sl_replay_init(&r, cases[i][0]), 0);
		assert_int_equal(r.window, cases[i][1]);
		assert_int_equal((uint64_t)r.mask * 64, r.window);
		assert_int_equal(r.top, 0);
		sl_replay_free(&r);
		assert_null(r.bits);
	}
}

static void test_invalid_windows(void **state)
{
	static const uint32_t bad[] = {1, 31, SL_REPLAY_MAX_WINDOW + 1, UINT32_MAX};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sl_replay r;

		assert_int_equal(sl_replay_init(&r, bad[i]), -EINVAL);
		assert_null(r.bits);
		sl_replay_free(&r);
	}
}

static void test_reset(void **state)
{
	struct sl_replay r;

	replay_setup(&r, 32);
	assert_true(accept(&r, 7));
	assert_true(accept(&r, 9));
	sl_replay_reset(&r);
	assert_int_equal(r.top, 0);
	assert_true(accept(&r, 7));
	assert_true(accept(&r, 9));
	sl_replay_free(&r);
}

/* The reference: every number ever accepted, and the highest. Obviously right, and slow. */
#define SEEN_SLOTS (1u << 18) /* more than the draws of one run, so probing always ends */

struct reference {
	uint64_t *seen; /* open addressing, 0 = empty slot (0 is never accepted) */
	uint64_t top;
	uint64_t window;
};

/* Inserts seq; false if it was already there. */
static bool seen_insert(struct reference *ref, uint64_t seq)
{
	uint32_t i = (uint32_t)((seq * 0x9e3779b97f4a7c15ull) >> 46);

	for (;; i = (i + 1) % SEEN_SLOTS) {
		if (ref->seen[i] == seq)
			return false;
		if (ref->seen[i] == 0) {
			ref->seen[i] = seq;
			return true;
		}
	}
}

static bool reference_accept(struct reference *ref, uint64_t seq)
{
	if (seq == 0 || (seq <= ref->top && ref->top - seq > ref->window))
		return false;
	if (!seen_insert(ref, seq))
		return false;
	if (seq > ref->top)
		ref->top = seq;
	return true;
}

static uint64_t xorshift64(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Mostly in order, with reordering, duplicates, stragglers at the edge and jumps, like a real link.
 */
static uint64_t next_seq(uint64_t *rng, uint64_t top, uint64_t window)
{
	uint64_t r = xorshift64(rng), pick = r % 100, x = r >> 8;
	uint64_t back;

	if (pick < 40)
		return top + 1;
	if (pick < 60)
		return top + 1 + x % 16;
	if (pick < 80)
		back = x % 64;
	else if (pick < 94)
		back = window - 8 + x % 16; /* around the edge */
	else if (pick < 98)
		return top + x % (2 * window);
	else
		return top + x % (8 * window + 1);
	return top > back ? top - back : x % 4;
}

static void compare_with_reference(uint32_t window, uint64_t base, uint64_t seed, unsigned draws)
{
	struct sl_replay r;
	struct reference ref = {.top = 0};
	uint64_t rng = seed;
	unsigned accepted = 0;

	replay_setup(&r, window);
	ref.window = r.window;
	ref.seen = calloc(SEEN_SLOTS, sizeof(*ref.seen));
	assert_non_null(ref.seen);
	assert_true(draws < SEEN_SLOTS);
	assert_true(reference_accept(&ref, base));
	assert_true(accept(&r, base));
	for (unsigned i = 0; i < draws; i++) {
		uint64_t seq = next_seq(&rng, ref.top, ref.window);
		bool want = reference_accept(&ref, seq);

		if (accept(&r, seq) != want)
			fail_msg("window %u seed %llu draw %u seq %llu: reference says %d", window,
				 (unsigned long long)seed, i, (unsigned long long)seq, want);
		assert_int_equal(r.top, ref.top);
		accepted += want;
	}
	print_message("window %u: %u of %u accepted\n", r.window, accepted, draws);
	/* The mix must exercise both answers, or the comparison proves little. */
	assert_true(accepted > draws / 2 && draws - accepted > draws / 20);
	free(ref.seen);
	sl_replay_free(&r);
}

static void test_random_against_reference(void **state)
{
	compare_with_reference(32, 1, 0x9e3779b97f4a7c15ull, 100000);
	compare_with_reference(2048, 1, 0xdeadbeefcafef00dull, 100000);
	compare_with_reference(65536, 1, 0x0123456789abcdefull, 100000);
	compare_with_reference(2048, 0xfffffff0ull, 0x5555aaaa5555aaaaull, 100000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_reordered_within_window),
		cmocka_unit_test(test_duplicate_rejected),
		cmocka_unit_test(test_too_old_at_window_edge),
		cmocka_unit_test(test_far_future_jump),
		cmocka_unit_test(test_seq_zero_rejected),
		cmocka_unit_test(test_window_sizes),
		cmocka_unit_test(test_invalid_windows),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_random_against_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
