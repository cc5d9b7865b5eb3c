// SPDX-License-Identifier: MIT
/* Inner address pools: allocation, wishes, exhaustion, reuse, reserved addresses. */
#include "ctl/native/addrpool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static struct sl_prefix pfx(const char *addr, uint8_t len)
{
	struct sl_prefix p = {.len = len};

	p.family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(p.family, addr, p.addr), 1);
	return p;
}

static void addr(int family, const char *s, uint8_t out[16])
{
	memset(out, 0, 16);
	assert_int_equal(inet_pton(family, s, out), 1);
}

static void assert_addr(int family, const uint8_t *a, const char *want)
{
	char s[INET6_ADDRSTRLEN];

	inet_ntop(family, a, s, sizeof(s));
	assert_string_equal(s, want);
}

static void test_v4_lowest_first_and_gateway(void **state)
{
	struct sl_prefix p = pfx("198.19.0.0", 24);
	struct sl_addrpool pool;
	uint8_t a[16];

	assert_int_equal(sl_addrpool_init(&pool, &p), 0);
	sl_addrpool_gateway(&pool, a);
	assert_addr(AF_INET, a, "198.19.0.1");
	assert_int_equal(sl_addrpool_available(&pool), 253); /* .2 .. .254 */
	assert_int_equal(sl_addrpool_alloc(&pool, NULL, a), 0);
	assert_addr(AF_INET, a, "198.19.0.2");
	assert_int_equal(sl_addrpool_alloc(&pool, NULL, a), 0);
	assert_addr(AF_INET, a, "198.19.0.3");
	assert_int_equal(sl_addrpool_available(&pool), 251);
	sl_addrpool_free(&pool);
}

static void test_host_bits_of_prefix_ignored(void **state)
{
	struct sl_prefix p = pfx("198.19.0.77", 24);
	struct sl_addrpool pool;
	uint8_t a[16];

	assert_int_equal(sl_addrpool_init(&pool, &p), 0);
	sl_addrpool_gateway(&pool, a);
	assert_addr(AF_INET, a, "198.19.0.1");
	sl_addrpool_free(&pool);
}

static void test_v6_allocation(void **state)
{
	struct sl_prefix p = pfx("2001:db8:1::", 64);
	struct sl_addrpool pool;
	uint8_t a[16];

	assert_int_equal(sl_addrpool_init(&pool, &p), 0);
	sl_addrpool_gateway(&pool, a);
	assert_addr(AF_INET6, a, "2001:db8:1::1");
	assert_int_equal(sl_addrpool_alloc(&pool, NULL, a), 0);
	assert_addr(AF_INET6, a, "2001:db8:1::2");
	/* Only the first 2^16 host indices are used; the last of them is fine for IPv6. */
	assert_int_equal(sl_addrpool_available(&pool), 65536 - 3);
	sl_addrpool_free(&pool);
}

static void test_honour_free_wish(void **state)
{
	struct sl_prefix p = pfx("198.19.0.0", 24);
	struct sl_addrpool pool;
	uint8_t want[16], a[16];

	assert_int_equal(sl_addrpool_init(&pool, &p), 0);
	addr(AF_INET, "198.19.0.77", want);
	assert_int_equal(sl_addrpool_alloc(&pool, want, a), 0);
	assert_addr(AF_INET, a, "198.19.0.77");
	/* The next without a wish still starts from the bottom. */
	assert_int_equal(sl_addrpool_alloc(&pool, NULL, a), 0);
	assert_addr(AF_INET, a, "198.19.0.2");
	sl_addrpool_free(&pool);
}

static void test_taken_wish_refused(void **state)
{
	struct sl_prefix p = pfx("2001:db8:1::", 64);
	struct sl_addrpool pool;
	uint8_t want[16], a[16];

	assert_int_equal(sl_addrpool_init(&pool, &p), 0);
	addr(AF_INET6, "2001:db8:1::9", want);
	assert_int_equal(sl_addrpool_take(&pool, want), 0);
	assert_int_equal(sl_addrpool_take(&pool, want), -EBUSY);
	/* alloc with a taken wish hands out another address. */
	assert_int_equal(sl_addrpool_alloc(&pool, want, a), 0);
	assert_addr(AF_INET6, a, "2001:db8:1::2");
	sl_addrpool_free(&pool);
}

static void test_wish_outside_or_reserved(void **state)
{
	static const char *const v4[] = {"198.19.1.5", "198.19.0.0", "198.19.0.1", "198.19.0.255",
					 "10.0.0.2"};
	static const char *const v6[] = {"2001:db8:2::5", "2001:db8:1::", "2001:db8:1::1",
					 "2001:db8:1::1:0" /* index 65536 */, "2001:db8:1:0:1::2"};
	struct sl_prefix p4 = pfx("198.19.0.0", 24), p6 = pfx("2001:db8:1::", 64);
	struct sl_addrpool pool4, pool6;
	uint8_t a[16], got[16];

	assert_int_equal(sl_addrpool_init(&pool4, &p4), 0);
	assert_int_equal(sl_addrpool_init(&pool6, &p6), 0);
	for (size_t i = 0; i < 5; i++) {
		addr(AF_INET, v4[i], a);
		if (sl_addrpool_take(&pool4, a) != -EINVAL)
			fail_msg("took %s", v4[i]);
		addr(AF_INET6, v6[i], a);
		if (sl_addrpool_take(&pool6, a) != -EINVAL)
			fail_msg("took %s", v6[i]);
	}
	addr(AF_INET, "198.19.0.255", a);
	assert_int_equal(sl_addrpool_alloc(&pool4, a, got), 0);
	assert_addr(AF_INET, got, "198.19.0.2");
	sl_addrpool_free(&pool4);
	sl_addrpool_free(&pool6);
}

static void test_exhaustion_release_reuse(void **state)
{
	struct sl_prefix p = pfx("198.19.0.0", 29); /* .2 .. .6 */
	struct sl_addrpool pool;
	uint8_t a[5][16], b[16];

	assert_int_equal(sl_addrpool_init(&pool, &p), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(sl_addrpool_alloc(&pool, NULL, a[i]), 0);
	assert_addr(AF_INET, a[4], "198.19.0.6");
	assert_int_equal(sl_addrpool_alloc(&pool, NULL, b), -ENOSPC);
	assert_int_equal(sl_addrpool_available(&pool), 0);
	assert_int_equal(sl_addrpool_release(&pool, a[2]), 0);
	assert_int_equal(sl_addrpool_release(&pool, a[2]), -ENOENT);
	assert_int_equal(sl_addrpool_alloc(&pool, NULL, b), 0);
	assert_addr(AF_INET, b, "198.19.0.4");
	assert_int_equal(sl_addrpool_alloc(&pool, NULL, b), -ENOSPC);
	sl_addrpool_free(&pool);
}

/* Walk a whole pool and check no reserved address is ever handed out. */
static void walk_pool(const char *net, uint8_t len, uint32_t expect, const char *const *never,
		      size_t n_never)
{
	struct sl_prefix p = pfx(net, len);
	struct sl_addrpool pool;
	uint8_t a[16], r[16];
	uint32_t count = 0;

	assert_int_equal(sl_addrpool_init(&pool, &p), 0);
	while (sl_addrpool_alloc(&pool, NULL, a) == 0) {
		count++;
		for (size_t i = 0; i < n_never; i++) {
			addr(p.family, never[i], r);
			if (!memcmp(a, r, p.family == AF_INET ? 4 : 16))
				fail_msg("handed out %s", never[i]);
		}
	}
	assert_int_equal(count, expect);
	sl_addrpool_free(&pool);
}

static void test_reserved_never_handed_out(void **state)
{
	static const char *const v4_30[] = {"10.9.8.4", "10.9.8.5", "10.9.8.7"};
	static const char *const v4_16[] = {"172.16.0.0", "172.16.0.1", "172.16.255.255"};
	static const char *const v4_8[] = {"10.0.0.0", "10.0.0.1"};
	static const char *const v6_126[] = {"2001:db8::", "2001:db8::1"};

	walk_pool("10.9.8.4", 30, 1, v4_30, 3);
	walk_pool("172.16.0.0", 16, 65536 - 3, v4_16, 3);
	walk_pool("10.0.0.0", 8, 65536 - 2, v4_8, 2);
	walk_pool("2001:db8::", 126, 2, v6_126, 2);
}

static void test_too_small_or_bad(void **state)
{
	struct sl_prefix p;
	struct sl_addrpool pool;

	p = pfx("10.0.0.0", 31);
	assert_int_equal(sl_addrpool_init(&pool, &p), -EINVAL);
	p = pfx("10.0.0.0", 32);
	assert_int_equal(sl_addrpool_init(&pool, &p), -EINVAL);
	p = pfx("2001:db8::", 127);
	assert_int_equal(sl_addrpool_init(&pool, &p), -EINVAL);
	p = pfx("10.0.0.0", 24);
	p.len = 33;
	assert_int_equal(sl_addrpool_init(&pool, &p), -EINVAL);
	p.family = 0;
	p.len = 24;
	assert_int_equal(sl_addrpool_init(&pool, &p), -EINVAL);
}

/* A naive reference: a set of taken addresses as strings, checked against random operations. */
static void test_against_reference(void **state)
{
	struct sl_prefix p = pfx("198.19.4.0", 26); /* .2 .. .62 */
	struct sl_addrpool pool;
	bool taken[64] = {0};
	unsigned int seed = 12345;

	assert_int_equal(sl_addrpool_init(&pool, &p), 0);
	for (int step = 0; step < 20000; step++) {
		uint8_t a[16] = {198, 19, 4, 0}, got[16];
		unsigned int host = (unsigned int)rand_r(&seed) % 64;
		int op = rand_r(&seed) % 3, r;
		bool usable = host >= 2 && host <= 62;

		a[3] = (uint8_t)host;
		if (op == 0) {
			r = sl_addrpool_take(&pool, a);
			assert_int_equal(r, !usable ? -EINVAL : taken[host] ? -EBUSY : 0);
			if (r == 0)
				taken[host] = true;
		} else if (op == 1) {
			r = sl_addrpool_release(&pool, a);
			assert_int_equal(r, usable && taken[host] ? 0 : -ENOENT);
			if (r == 0)
				taken[host] = false;
		} else {
			unsigned int lowest = 2;

			while (lowest <= 62 && taken[lowest])
				lowest++;
			r = sl_addrpool_alloc(&pool, NULL, got);
			if (lowest > 62) {
				assert_int_equal(r, -ENOSPC);
				continue;
			}
			assert_int_equal(r, 0);
			assert_int_equal(got[3], lowest);
			taken[lowest] = true;
		}
	}
	sl_addrpool_free(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_lowest_first_and_gateway),
		cmocka_unit_test(test_host_bits_of_prefix_ignored),
		cmocka_unit_test(test_v6_allocation),
		cmocka_unit_test(test_honour_free_wish),
		cmocka_unit_test(test_taken_wish_refused),
		cmocka_unit_test(test_wish_outside_or_reserved),
		cmocka_unit_test(test_exhaustion_release_reuse),
		cmocka_unit_test(test_reserved_never_handed_out),
		cmocka_unit_test(test_too_small_or_bad),
		cmocka_unit_test(test_against_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
