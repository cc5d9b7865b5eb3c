// SPDX-License-Identifier: MIT
/*
 * Router discovery for PPP peers (RFC 4861): a Router Solicitation that
 * Linux 6.18 sent on a fresh TUN device is taken, altered ones are refused
 * (hop limit, checksum, type, length, options, RFC 4861 6.1.1), and a built
 * Router Advertisement has its fields where RFC 4861 4.2/4.6.2/4.6.4 put
 * them and a checksum that a naive RFC 1071 sum checks.
 */
#include "proto/nd_ra.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hex.h"

/* Captured: the kernel's first RS from fe80::12e4:1019:81b4:254 to ff02::2, no options. */
static const char *linux_rs = "6000000000083afffe8000000000000012e4101981b40254ff020000000000000000"
			      "000000000002"
			      "8500d63100000000";

/* The reference: the ICMPv6 sum (pseudo-header + message) word by word, as RFC 1071 writes it. */
static uint16_t naive_icmp6_sum(const uint8_t *ip, size_t len)
{
	uint32_t sum = 0;
	size_t plen = (size_t)ip[4] << 8 | ip[5];

	for (size_t i = 8; i < 40; i += 2)
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	sum += (uint32_t)(plen >> 16) + (uint32_t)(plen & 0xffff) + 58;
	for (size_t i = 0; i < plen; i += 2)
		sum += (uint32_t)ip[40 + i] << 8 | (i + 1 < plen ? ip[40 + i + 1] : 0);
	assert_true(40 + plen <= len);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void fix_checksum(uint8_t *ip, size_t len)
{
	uint16_t s;

	ip[42] = ip[43] = 0;
	s = (uint16_t)~naive_icmp6_sum(ip, len);
	ip[42] = (uint8_t)(s >> 8);
	ip[43] = (uint8_t)s;
}

static void linux_solicitation_taken(void **state)
{
	uint8_t b[128], src[16], want[16];
	size_t n = unhex(linux_rs, b, sizeof(b));

	assert_int_equal(naive_icmp6_sum(b, n), 0xffff); /* the vector is what the kernel sent */
	assert_true(sl_nd_router_solicit(b, n, src));
	unhex("fe8000000000000012e4101981b40254", want, sizeof(want));
	assert_memory_equal(src, want, 16);
}

static void altered_solicitations_refused(void **state)
{
	uint8_t b[128], src[16];
	size_t n = unhex(linux_rs, b, sizeof(b));

	b[7] = 254; /* forwarded by a router: RFC 4861 6.1.1 */
	assert_false(sl_nd_router_solicit(b, n, src));
	n = unhex(linux_rs, b, sizeof(b));
	b[43] ^= 1; /* checksum */
	assert_false(sl_nd_router_solicit(b, n, src));
	n = unhex(linux_rs, b, sizeof(b));
	b[40] = 134; /* an advertisement, not a solicitation */
	fix_checksum(b, n);
	assert_false(sl_nd_router_solicit(b, n, src));
	n = unhex(linux_rs, b, sizeof(b));
	b[41] = 1; /* code */
	fix_checksum(b, n);
	assert_false(sl_nd_router_solicit(b, n, src));
	n = unhex(linux_rs, b, sizeof(b));
	assert_false(sl_nd_router_solicit(b, n - 1, src)); /* payload length beyond the bytes */
	b[6] = 0;					   /* a hop-by-hop header first */
	assert_false(sl_nd_router_solicit(b, n, src));
	n = unhex(linux_rs, b, sizeof(b));
	b[0] = 0x45;
	assert_false(sl_nd_router_solicit(b, n, src));
}

static void solicitation_options(void **state)
{
	uint8_t b[128], src[16];
	size_t n = unhex(linux_rs, b, sizeof(b));

	/* an 8-byte option of unknown type 200: skipped (RFC 4861 4.1) */
	memcpy(b + n, "\xc8\x01\x00\x00\x00\x00\x00\x00", 8);
	b[5] = 16;
	fix_checksum(b, n + 8);
	assert_true(sl_nd_router_solicit(b, n + 8, src));
	b[n + 1] = 0; /* a zero option length: invalid (RFC 4861 4.6) */
	fix_checksum(b, n + 8);
	assert_false(sl_nd_router_solicit(b, n + 8, src));
	b[n + 1] = 2; /* 16 bytes, only 8 there */
	fix_checksum(b, n + 8);
	assert_false(sl_nd_router_solicit(b, n + 8, src));
	/* a source link-layer address option from the unspecified address (RFC 4861 6.1.1) */
	b[n] = 1;
	b[n + 1] = 1;
	memset(b + 8, 0, 16);
	fix_checksum(b, n + 8);
	assert_false(sl_nd_router_solicit(b, n + 8, src));
	b[n] = 200; /* another option from :: is fine */
	fix_checksum(b, n + 8);
	assert_true(sl_nd_router_solicit(b, n + 8, src));
}

static void advertisement_built(void **state)
{
	struct sl_nd_ra ra = {.prefix_len = 64,
			      .valid_s = 86400,
			      .preferred_s = 14400,
			      .router_lifetime_s = 1800,
			      .mtu = 1400};
	const uint8_t ifid[8] = {0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55};
	uint8_t b[SL_ND_RA_LEN + 8], want[64];
	int n;

	sl_nd_link_local(ifid, ra.src);
	unhex("fe80000000000000021122fffe334455", want, sizeof(want));
	assert_memory_equal(ra.src, want, 16);
	unhex("ff020000000000000000000000000001", ra.dst, 16);
	unhex("20010db8000100020000000000000000", ra.prefix, 16);
	assert_int_equal(sl_nd_build_ra(&ra, b, SL_ND_RA_LEN - 1), -ENOSPC);
	n = sl_nd_build_ra(&ra, b, sizeof(b));
	assert_int_equal(n, SL_ND_RA_LEN);
	/* IPv6 header: payload 56, ICMPv6, hop limit 255, fe80::... to ff02::1 */
	unhex("600000000038ffff", want, sizeof(want));
	want[6] = 58;
	assert_memory_equal(b, want, 8);
	assert_memory_equal(b + 8, ra.src, 16);
	assert_memory_equal(b + 24, ra.dst, 16);
	/* RA: type 134 code 0, hop limit 64, M=O=0, lifetime 1800, reachable and retrans 0 */
	assert_int_equal(b[40], 134);
	assert_int_equal(b[41], 0);
	unhex("400007080000000000000000", want, sizeof(want));
	assert_memory_equal(b + 44, want, 12);
	/* Prefix Information: 2001:db8:1:2::/64, L and A, 86400 s, 14400 s */
	unhex("030440c0000151800000384000000000", want, sizeof(want));
	assert_memory_equal(b + 56, want, 16);
	assert_memory_equal(b + 72, ra.prefix, 16);
	/* MTU 1400 */
	unhex("0501000000000578", want, sizeof(want));
	assert_memory_equal(b + 88, want, 8);
	assert_int_equal(naive_icmp6_sum(b, (size_t)n), 0xffff);

	ra.mtu = 0; /* no MTU option */
	n = sl_nd_build_ra(&ra, b, sizeof(b));
	assert_int_equal(n, SL_ND_RA_LEN - 8);
	assert_int_equal(b[5], 48);
	assert_int_equal(naive_icmp6_sum(b, (size_t)n), 0xffff);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(linux_solicitation_taken),
		cmocka_unit_test(altered_solicitations_refused),
		cmocka_unit_test(solicitation_options),
		cmocka_unit_test(advertisement_built),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
