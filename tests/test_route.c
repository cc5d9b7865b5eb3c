// SPDX-License-Identifier: MIT
/*
 * Longest-prefix match: named cases, then the trie against a naive linear
 * scan on random clustered prefixes (as WireGuard's allowedips selftest).
 */
#include "dco/route.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const uint8_t *v4(const char *s)
{
	static uint8_t a[4];

	assert_int_equal(inet_pton(AF_INET, s, a), 1);
	return a;
}

static const uint8_t *v6(const char *s)
{
	static uint8_t a[16];

	assert_int_equal(inet_pton(AF_INET6, s, a), 1);
	return a;
}

static void test_basic_v4(void **state)
{
	struct sl_route_table *t = sl_route_new();

	assert_non_null(t);
	assert_int_equal(sl_route_lookup(t, AF_INET, v4("198.18.0.1")), SL_ROUTE_NONE);
	assert_int_equal(sl_route_insert(t, AF_INET, v4("198.18.0.0"), 16, 1), 0);
	assert_int_equal(sl_route_insert(t, AF_INET, v4("198.19.7.0"), 24, 2), 0);
	assert_int_equal(sl_route_insert(t, AF_INET, v4("198.19.7.9"), 32, 3), 0);
	assert_int_equal(sl_route_count(t), 3);
	assert_int_equal(sl_route_lookup(t, AF_INET, v4("198.18.255.255")), 1);
	assert_int_equal(sl_route_lookup(t, AF_INET, v4("198.19.7.1")), 2);
	assert_int_equal(sl_route_lookup(t, AF_INET, v4("198.19.7.9")), 3);
	assert_int_equal(sl_route_lookup(t, AF_INET, v4("198.19.8.1")), SL_ROUTE_NONE);
	assert_int_equal(sl_route_lookup(t, AF_INET, v4("10.0.0.1")), SL_ROUTE_NONE);
	/* The families are separate tables. */
	assert_int_equal(sl_route_lookup(t, AF_INET6, v6("c612::")), SL_ROUTE_NONE);
	assert_int_equal(sl_route_check(t), 0);
	sl_route_free(t);
}

static void test_basic_v6(void **state)
{
	struct sl_route_table *t = sl_route_new();

	assert_int_equal(sl_route_insert(t, AF_INET6, v6("2001:db8::"), 32, 1), 0);
	assert_int_equal(sl_route_insert(t, AF_INET6, v6("2001:db8:1::"), 48, 2), 0);
	assert_int_equal(sl_route_insert(t, AF_INET6, v6("2001:db8:1::1"), 128, 3), 0);
	assert_int_equal(sl_route_insert(t, AF_INET6, v6("2001:db8:1:0:8000::"), 65, 4), 0);
	assert_int_equal(sl_route_lookup(t, AF_INET6, v6("2001:db8:ffff::1")), 1);
	assert_int_equal(sl_route_lookup(t, AF_INET6, v6("2001:db8:1::2")), 2);
	assert_int_equal(sl_route_lookup(t, AF_INET6, v6("2001:db8:1::1")), 3);
	assert_int_equal(sl_route_lookup(t, AF_INET6, v6("2001:db8:1:0:ffff::1")), 4);
	assert_int_equal(sl_route_lookup(t, AF_INET6, v6("2001:db9::1")), SL_ROUTE_NONE);
	assert_int_equal(sl_route_lookup(t, AF_INET, v4("32.1.13.184")), SL_ROUTE_NONE);
	assert_int_equal(sl_route_count(t), 4);
	assert_int_equal(sl_route_check(t), 0);
	sl_route_free(t);
}

static void test_default_route(void **state)
{
	struct sl_route_table *t = sl_route_new();

	assert_int_equal(sl_route_insert(t, AF_INET, v4("0.0.0.0"), 0, 9), 0);
	assert_int_equal(sl_route_insert(t, AF_INET6, v6("::"), 0, 10), 0);
	assert_int_equal(sl_route_insert(t, AF_INET, v4("198.18.0.0"), 15, 1), 0);
	assert_int_equal(sl_route_lookup(t, AF_INET, v4("1.2.3.4")), 9);
	assert_int_equal(sl_route_lookup(t, AF_INET, v4("255.255.255.255")), 9);
	assert_int_equal(sl_route_lookup(t, AF_INET, v4("198.19.1.1")), 1);
	assert_int_equal(sl_route_lookup(t, AF_INET6, v6("ffff::1")), 10);
	assert_int_equal(sl_route_default_owner(t, AF_INET), 9);
	assert_int_equal(sl_route_default_owner(t, AF_INET6), 10);
	assert_int_equal(sl_route_remove(t, AF_INET, v4("0.0.0.0"), 0, 9), 0);
	assert_int_equal(sl_route_default_owner(t, AF_INET), SL_ROUTE_NONE);
	assert_int_equal(sl_route_lookup(t, AF_INET, v4("1.2.3.4")), SL_ROUTE_NONE);
	assert_int_equal(sl_route_lookup(t, AF_INET, v4("198.19.1.1")), 1);
	assert_int_equal(sl_route_count(t), 2);
	assert_int_equal(sl_route_check(t), 0);
	sl_route_free(t);
}

static void test_overlapping_prefixes(void **state)
{
	struct sl_route_table *t = sl_route_new();

	/* Inserted longest first, so shorter prefixes must be spliced in above. */
	assert_int_equal(sl_route_insert(t, AF_INET, v4("198.18.128.0"), 17, 3), 0);
	assert_int_equal(sl_route_insert(t, AF_INET, v4("198.18.0.0"), 16, 2), 0);
	assert_int_equal(sl_route_insert(t, AF_INET, v4("198.18.0.0"), 15, 1), 0);
	assert_int_equal(sl_route_insert(t, AF_INET, v4("198.18.64.0"), 18, 4), 0);
	assert_int_equal(sl_route_lookup(t, AF_INET, v4("198.19.0.1")), 1);
	assert_int_equal(sl_route_lookup(t, AF_INET, v4("198.18.0.1")), 2);
	assert_int_equal(sl_route_lookup(t, AF_INET, v4("198.18.64.1")), 4);
	assert_int_equal(sl_route_lookup(t, AF_INET, v4("198.18.200.1")), 3);
	assert_int_equal(sl_route_remove(t, AF_INET, v4("198.18.0.0"), 16, 2), 0);
	assert_int_equal(sl_route_lookup(t, AF_INET, v4("198.18.0.1")), 1);
	assert_int_equal(sl_route_lookup(t, AF_INET, v4("198.18.64.1")), 4);
	assert_int_equal(sl_route_lookup(t, AF_INET, v4("198.18.200.1")), 3);
	assert_int_equal(sl_route_check(t), 0);
	sl_route_free(t);
}

static void test_replace(void **state)
{
	struct sl_route_table *t = sl_route_new();

	assert_int_equal(sl_route_insert(t, AF_INET, v4("198.18.1.0"), 24, 1), 0);
	assert_int_equal(sl_route_insert(t, AF_INET, v4("198.18.1.0"), 24, 2), 0);
	assert_int_equal(sl_route_count(t), 1);
	assert_int_equal(sl_route_lookup(t, AF_INET, v4("198.18.1.5")), 2);
	/* The old owner no longer owns it. */
	assert_int_equal(sl_route_remove(t, AF_INET, v4("198.18.1.0"), 24, 1), -ENOENT);
	/* A branch point that gains a peer becomes a stored prefix. */
	assert_int_equal(sl_route_insert(t, AF_INET, v4("198.18.2.0"), 24, 3), 0);
	assert_int_equal(sl_route_insert(t, AF_INET, v4("198.18.0.0"), 22, 4), 0);
	assert_int_equal(sl_route_count(t), 3);
	assert_int_equal(sl_route_lookup(t, AF_INET, v4("198.18.3.1")), 4);
	assert_int_equal(sl_route_check(t), 0);
	sl_route_free(t);
}

static void test_remove(void **state)
{
	struct sl_route_table *t = sl_route_new();

	assert_int_equal(sl_route_insert(t, AF_INET6, v6("2001:db8::"), 32, 1), 0);
	assert_int_equal(sl_route_insert(t, AF_INET6, v6("2001:db8:8000::"), 33, 2), 0);
	assert_int_equal(sl_route_remove(t, AF_INET6, v6("2001:db8::"), 33, 1), -ENOENT);
	assert_int_equal(sl_route_remove(t, AF_INET6, v6("2001:db8::"), 31, 1), -ENOENT);
	assert_int_equal(sl_route_remove(t, AF_INET6, v6("2001:db8::"), 32, 2), -ENOENT);
	assert_int_equal(sl_route_remove(t, AF_INET, v4("32.1.13.184"), 32, 1), -ENOENT);
	assert_int_equal(sl_route_remove(t, AF_INET6, v6("2001:db8::"), 32, 1), 0);
	assert_int_equal(sl_route_remove(t, AF_INET6, v6("2001:db8::"), 32, 1), -ENOENT);
	assert_int_equal(sl_route_lookup(t, AF_INET6, v6("2001:db8::1")), SL_ROUTE_NONE);
	assert_int_equal(sl_route_lookup(t, AF_INET6, v6("2001:db8:8000::1")), 2);
	assert_int_equal(sl_route_remove(t, AF_INET6, v6("2001:db8:8000::"), 33, 2), 0);
	assert_int_equal(sl_route_count(t), 0);
	assert_int_equal(sl_route_lookup(t, AF_INET6, v6("2001:db8:8000::1")), SL_ROUTE_NONE);
	assert_int_equal(sl_route_check(t), 0);
	sl_route_free(t);
}

static void test_remove_peer(void **state)
{
	struct sl_route_table *t = sl_route_new();

	assert_int_equal(sl_route_insert(t, AF_INET, v4("198.18.0.0"), 16, 1), 0);
	assert_int_equal(sl_route_insert(t, AF_INET, v4("198.18.5.0"), 24, 2), 0);
	assert_int_equal(sl_route_insert(t, AF_INET, v4("198.18.5.7"), 32, 1), 0);
	assert_int_equal(sl_route_insert(t, AF_INET, v4("198.19.0.0"), 16, 1), 0);
	assert_int_equal(sl_route_insert(t, AF_INET6, v6("2001:db8::"), 32, 1), 0);
	assert_int_equal(sl_route_insert(t, AF_INET6, v6("2001:db8:1::"), 48, 2), 0);
	sl_route_remove_peer(t, 1);
	assert_int_equal(sl_route_count(t), 2);
	assert_int_equal(sl_route_lookup(t, AF_INET, v4("198.18.5.7")), 2);
	assert_int_equal(sl_route_lookup(t, AF_INET, v4("198.18.6.7")), SL_ROUTE_NONE);
	assert_int_equal(sl_route_lookup(t, AF_INET, v4("198.19.6.7")), SL_ROUTE_NONE);
	assert_int_equal(sl_route_lookup(t, AF_INET6, v6("2001:db8::1")), SL_ROUTE_NONE);
	assert_int_equal(sl_route_lookup(t, AF_INET6, v6("2001:db8:1::1")), 2);
	sl_route_remove_peer(t, 1);
	assert_int_equal(sl_route_count(t), 2);
	sl_route_remove_peer(t, 2);
	assert_int_equal(sl_route_count(t), 0);
	assert_int_equal(sl_route_lookup(t, AF_INET6, v6("2001:db8:1::1")), SL_ROUTE_NONE);
	assert_int_equal(sl_route_check(t), 0);
	sl_route_free(t);
}

static void test_host_bits_masked(void **state)
{
	struct sl_route_table *t = sl_route_new();

	assert_int_equal(sl_route_insert(t, AF_INET, v4("198.18.77.99"), 24, 1), 0);
	assert_int_equal(sl_route_lookup(t, AF_INET, v4("198.18.77.1")), 1);
	/* The same prefix spelled with other host bits is the same prefix. */
	assert_int_equal(sl_route_insert(t, AF_INET, v4("198.18.77.0"), 24, 2), 0);
	assert_int_equal(sl_route_count(t), 1);
	assert_int_equal(sl_route_remove(t, AF_INET, v4("198.18.77.255"), 24, 2), 0);
	assert_int_equal(sl_route_insert(t, AF_INET6, v6("2001:db8:ffff:ffff::1"), 33, 3), 0);
	assert_int_equal(sl_route_lookup(t, AF_INET6, v6("2001:db8:8000::")), 3);
	assert_int_equal(sl_route_lookup(t, AF_INET6, v6("2001:db8:7fff::")), SL_ROUTE_NONE);
	assert_int_equal(sl_route_check(t), 0);
	sl_route_free(t);
}

static void test_rejects(void **state)
{
	struct sl_route_table *t = sl_route_new();

	assert_int_equal(sl_route_insert(t, AF_INET, v4("198.18.0.0"), 33, 1), -EINVAL);
	assert_int_equal(sl_route_insert(t, AF_INET6, v6("::"), 129, 1), -EINVAL);
	assert_int_equal(sl_route_insert(t, AF_UNIX, v4("198.18.0.0"), 8, 1), -EINVAL);
	assert_int_equal(sl_route_insert(t, AF_INET, v4("198.18.0.0"), 8, SL_ROUTE_NONE), -EINVAL);
	assert_int_equal(sl_route_insert(t, AF_INET, NULL, 8, 1), -EINVAL);
	assert_int_equal(sl_route_remove(t, AF_INET, v4("198.18.0.0"), 33, 1), -EINVAL);
	assert_int_equal(sl_route_lookup(t, AF_UNIX, v4("198.18.0.0")), SL_ROUTE_NONE);
	assert_int_equal(sl_route_count(t), 0);
	assert_int_equal(sl_route_check(t), 0);
	sl_route_free(t);
}

/* The reference: every prefix in a list, lookup scans them all for the longest match. */
struct ref_route {
	uint8_t addr[16];
	uint8_t len;
	uint32_t peer;
	int live;
};

static int prefix_matches(const uint8_t *pfx, unsigned len, const uint8_t *addr)
{
	unsigned full = len / 8, rest = len % 8;
	uint8_t mask = (uint8_t)(0xFF00u >> rest);

	return memcmp(pfx, addr, full) == 0 &&
	       (rest == 0 || ((pfx[full] ^ addr[full]) & mask) == 0);
}

static uint32_t ref_lookup(const struct ref_route *r, size_t n, const uint8_t *addr)
{
	int best_len = -1;
	uint32_t best = SL_ROUTE_NONE;

	for (size_t i = 0; i < n; i++) {
		if (r[i].live && (int)r[i].len > best_len &&
		    prefix_matches(r[i].addr, r[i].len, addr)) {
			best_len = r[i].len;
			best = r[i].peer;
		}
	}
	return best;
}

static uint32_t xorshift32(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

static void mask_bits(uint8_t *a, unsigned len, unsigned max_bits)
{
	for (unsigned i = len; i < max_bits; i++)
		a[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
}

/*
 * An address near one of a few cluster bases: random low bits under a
 * random-length shared head, so prefixes nest and overlap a lot.
 */
static void clustered_addr(uint32_t *seed, const uint8_t bases[][16], unsigned nbases,
			   unsigned bytes, uint8_t *out)
{
	unsigned keep = xorshift32(seed) % (bytes * 8);

	memcpy(out, bases[xorshift32(seed) % nbases], bytes);
	for (unsigned i = keep; i < bytes * 8; i++) {
		if (xorshift32(seed) & 1)
			out[i / 8] ^= (uint8_t)(0x80u >> (i % 8));
	}
}

#define NPREFIX 2000
#define NLOOKUP 10000

/* hosts: half of the prefixes are host routes (/32, /128), as on a server of many clients. */
static void insert_random(struct sl_route_table *t, struct ref_route *ref, size_t *n, int family,
			  uint32_t *seed, const uint8_t bases[][16], unsigned nbases, bool hosts)
{
	unsigned bytes = family == AF_INET ? 4 : 16;
	struct ref_route r = {.live = 1};
	size_t i;

	clustered_addr(seed, bases, nbases, bytes, r.addr);
	r.len = (uint8_t)(xorshift32(seed) % (bytes * 8 + 1));
	if (hosts && xorshift32(seed) % 2)
		r.len = (uint8_t)(bytes * 8);
	r.peer = xorshift32(seed) % 64;
	/* Unmasked host bits on purpose: the table must mask them itself. */
	assert_int_equal(sl_route_insert(t, family, r.addr, r.len, r.peer), 0);
	mask_bits(r.addr, r.len, bytes * 8);
	for (i = 0; i < *n; i++) {
		if (ref[i].len == r.len && memcmp(ref[i].addr, r.addr, bytes) == 0)
			break;
	}
	if (i == *n)
		(*n)++;
	ref[i] = r;
}

/* An address at or just around a stored prefix, so long prefixes and their edges get hit. */
static void near_stored_prefix(uint32_t *seed, const struct ref_route *ref, size_t n,
			       unsigned bytes, uint8_t *out)
{
	const struct ref_route *r = &ref[xorshift32(seed) % n];
	unsigned from = r->len >= 2 ? r->len - xorshift32(seed) % 3 : 0;

	memcpy(out, r->addr, bytes);
	for (unsigned i = from; i < bytes * 8; i++) {
		if (xorshift32(seed) & 1)
			out[i / 8] ^= (uint8_t)(0x80u >> (i % 8));
	}
}

static void compare_lookups(const struct sl_route_table *t, const struct ref_route *ref, size_t n,
			    int family, uint32_t *seed, const uint8_t bases[][16], unsigned nbases)
{
	unsigned bytes = family == AF_INET ? 4 : 16;
	uint8_t addr[16];
	uint32_t hits = 0;

	for (unsigned i = 0; i < NLOOKUP; i++) {
		uint32_t want;

		if (i % 2)
			near_stored_prefix(seed, ref, n, bytes, addr);
		else
			clustered_addr(seed, bases, nbases, bytes, addr);
		want = ref_lookup(ref, n, addr);
		hits += want != SL_ROUTE_NONE;
		assert_int_equal(sl_route_lookup(t, family, addr), want);
	}
	/* A comparison where everything misses would prove nothing. */
	assert_true(hits > NLOOKUP / 10);
}

static uint32_t ref_count(const struct ref_route *ref, size_t n)
{
	uint32_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += ref[i].live != 0;
	return c;
}

static void random_against_reference(int family, uint32_t seed, bool hosts)
{
	static const uint8_t bases[4][16] = {
		{198, 18, 0, 0},
		{198, 19, 128, 0},
		{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
		{0x20, 0x01, 0x0d, 0xb8, 0x80, 0x10, 0, 0, 0, 0, 0, 0, 0xff, 0, 0, 0},
	};
	const uint8_t(*fb)[16] = family == AF_INET ? bases : bases + 2;
	struct ref_route *ref = calloc(NPREFIX, sizeof(*ref));
	struct sl_route_table *t = sl_route_new();
	size_t n = 0;

	assert_non_null(ref);
	for (unsigned i = 0; i < NPREFIX; i++)
		insert_random(t, ref, &n, family, &seed, fb, 2, hosts);
	assert_int_equal(sl_route_count(t), ref_count(ref, n));
	assert_int_equal(sl_route_check(t), 0);
	compare_lookups(t, ref, n, family, &seed, fb, 2);

	/* Give a third of the prefixes a new owner: replacing must update the host index too. */
	for (size_t i = 0; i < n; i++) {
		if (xorshift32(&seed) % 3)
			continue;
		ref[i].peer = (ref[i].peer + 7) % 64;
		assert_int_equal(sl_route_insert(t, family, ref[i].addr, ref[i].len, ref[i].peer),
				 0);
	}
	assert_int_equal(sl_route_count(t), ref_count(ref, n));
	assert_int_equal(sl_route_check(t), 0);
	compare_lookups(t, ref, n, family, &seed, fb, 2);

	for (size_t i = 0; i < n; i++) {
		if (xorshift32(&seed) & 1)
			continue;
		/* Sometimes name the wrong owner first: that must not remove it. */
		if (xorshift32(&seed) % 4 == 0)
			assert_int_equal(sl_route_remove(t, family, ref[i].addr, ref[i].len,
							 ref[i].peer + 1),
					 -ENOENT);
		assert_int_equal(sl_route_remove(t, family, ref[i].addr, ref[i].len, ref[i].peer),
				 0);
		ref[i].live = 0;
	}
	assert_int_equal(sl_route_count(t), ref_count(ref, n));
	assert_int_equal(sl_route_check(t), 0);
	compare_lookups(t, ref, n, family, &seed, fb, 2);

	/* Drop a few peers wholesale, then check once more. */
	for (uint32_t peer = 0; peer < 64; peer += 3) {
		sl_route_remove_peer(t, peer);
		for (size_t i = 0; i < n; i++)
			if (ref[i].peer == peer)
				ref[i].live = 0;
	}
	assert_int_equal(sl_route_count(t), ref_count(ref, n));
	assert_int_equal(sl_route_check(t), 0);
	compare_lookups(t, ref, n, family, &seed, fb, 2);
	assert_int_equal(sl_route_check(t), 0);
	sl_route_free(t);
	free(ref);
}

static void test_random_v4_against_reference(void **state)
{
	random_against_reference(AF_INET, 0x9E3779B9u, false);
}

static void test_random_v4_hosts_against_reference(void **state)
{
	random_against_reference(AF_INET, 0x51ED270Bu, true);
}

static void test_random_v6_hosts_against_reference(void **state)
{
	random_against_reference(AF_INET6, 0x2545F491u, true);
}

/*
 * A host route answers from the index; a miss there falls back to the trie,
 * so a covering prefix still matches, and removal leaves no stale answer.
 */
static void host_index_case(bool many)
{
	struct sl_route_table *t = sl_route_new();

	/* Lookups use the index only past a few host routes: run with and without. */
	for (int i = 0; many && i < 40; i++) {
		uint8_t a4[4] = {198, 19, 65, (uint8_t)i}, a6[16] = {0x20, 0x01, 0x0d, 0xb8, 1};

		a6[15] = (uint8_t)i;
		assert_int_equal(sl_route_insert(t, AF_INET, a4, 32, 100 + (uint32_t)i), 0);
		assert_int_equal(sl_route_insert(t, AF_INET6, a6, 128, 200 + (uint32_t)i), 0);
	}
	assert_int_equal(sl_route_insert(t, AF_INET, v4("198.19.0.0"), 16, 1), 0);
	assert_int_equal(sl_route_insert(t, AF_INET, v4("198.19.64.7"), 32, 2), 0);
	assert_int_equal(sl_route_insert(t, AF_INET6, v6("2001:db8::7"), 128, 3), 0);
	assert_int_equal(sl_route_lookup(t, AF_INET, v4("198.19.64.7")), 2);
	assert_int_equal(sl_route_lookup(t, AF_INET, v4("198.19.64.8")), 1);
	assert_int_equal(sl_route_lookup(t, AF_INET6, v6("2001:db8::7")), 3);
	/* The same bits in the other family are another address. */
	assert_int_equal(sl_route_lookup(t, AF_INET6, v6("c613:4007::")), SL_ROUTE_NONE);
	assert_int_equal(sl_route_insert(t, AF_INET, v4("198.19.64.7"), 32, 4), 0);
	assert_int_equal(sl_route_lookup(t, AF_INET, v4("198.19.64.7")), 4);
	assert_int_equal(sl_route_check(t), 0);
	assert_int_equal(sl_route_remove(t, AF_INET, v4("198.19.64.7"), 32, 4), 0);
	assert_int_equal(sl_route_lookup(t, AF_INET, v4("198.19.64.7")), 1);
	sl_route_remove_peer(t, 3);
	assert_int_equal(sl_route_lookup(t, AF_INET6, v6("2001:db8::7")), SL_ROUTE_NONE);
	assert_int_equal(sl_route_check(t), 0);
	assert_int_equal(sl_route_count(t), many ? 81 : 1);
	if (many)
		assert_int_equal(sl_route_lookup(t, AF_INET, v4("198.19.65.39")), 139);
	sl_route_free(t);
}

static void test_host_index(void **state)
{
	host_index_case(false);
	host_index_case(true);
}

static void test_random_v6_against_reference(void **state)
{
	random_against_reference(AF_INET6, 0x7F4A7C15u, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_v4),
		cmocka_unit_test(test_basic_v6),
		cmocka_unit_test(test_default_route),
		cmocka_unit_test(test_overlapping_prefixes),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_remove_peer),
		cmocka_unit_test(test_host_bits_masked),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_random_v4_against_reference),
		cmocka_unit_test(test_random_v6_against_reference),
		cmocka_unit_test(test_random_v4_hosts_against_reference),
		cmocka_unit_test(test_random_v6_hosts_against_reference),
		cmocka_unit_test(test_host_index),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
