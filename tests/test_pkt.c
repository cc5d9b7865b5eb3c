// SPDX-License-Identifier: MIT
/* Packet buffer bounds and Internet checksum completion. */
#include "core/pkt.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define CAP	 256
#define HEADROOM 32

static uint8_t storage[CAP];

static struct sl_pkt fresh(void)
{
	struct sl_pkt p = {.buf = storage, .cap = CAP};

	sl_pkt_reset(&p, HEADROOM);
	return p;
}

static void test_reset(void **state)
{
	struct sl_pkt p = fresh();

	p.len = 10;
	p.flags = 7;
	p.next = &p;
	sl_pkt_reset(&p, 40);
	assert_ptr_equal(p.data, storage + 40);
	assert_int_equal(p.len, 0);
	assert_int_equal(p.flags, 0);
	assert_null(p.next);
	assert_int_equal(sl_pkt_headroom(&p), 40);
	assert_int_equal(sl_pkt_tailroom(&p), CAP - 40);
}

static void test_push_bounds(void **state)
{
	struct sl_pkt p = fresh();

	assert_ptr_equal(sl_pkt_push(&p, 8), storage + HEADROOM - 8);
	assert_int_equal(p.len, 8);
	assert_null(sl_pkt_push(&p, HEADROOM - 8 + 1));
	assert_int_equal(p.len, 8); /* a failed push changes nothing */
	assert_ptr_equal(sl_pkt_push(&p, HEADROOM - 8), storage);
	assert_int_equal(sl_pkt_headroom(&p), 0);
	assert_null(sl_pkt_push(&p, 1));
}

static void test_pull_bounds(void **state)
{
	struct sl_pkt p = fresh();

	assert_non_null(sl_pkt_put(&p, 20));
	assert_ptr_equal(sl_pkt_pull(&p, 5), storage + HEADROOM + 5);
	assert_int_equal(p.len, 15);
	assert_null(sl_pkt_pull(&p, 16));
	assert_int_equal(p.len, 15);
	assert_non_null(sl_pkt_pull(&p, 15));
	assert_int_equal(p.len, 0);
	assert_int_equal(sl_pkt_headroom(&p), HEADROOM + 20);
}

static void test_put_bounds(void **state)
{
	struct sl_pkt p = fresh();
	uint32_t room = CAP - HEADROOM;

	assert_ptr_equal(sl_pkt_put(&p, 10), storage + HEADROOM);
	assert_ptr_equal(sl_pkt_put(&p, 5), storage + HEADROOM + 10);
	assert_null(sl_pkt_put(&p, room - 15 + 1));
	assert_int_equal(p.len, 15);
	assert_non_null(sl_pkt_put(&p, room - 15));
	assert_int_equal(sl_pkt_tailroom(&p), 0);
	assert_null(sl_pkt_put(&p, 1));
}

static void test_trim_bounds(void **state)
{
	struct sl_pkt p = fresh();

	assert_non_null(sl_pkt_put(&p, 10));
	assert_int_equal(sl_pkt_trim(&p, 11), -1);
	assert_int_equal(p.len, 10);
	assert_int_equal(sl_pkt_trim(&p, 4), 0);
	assert_int_equal(p.len, 6);
	assert_int_equal(sl_pkt_trim(&p, 6), 0);
	assert_int_equal(p.len, 0);
	assert_int_equal(sl_pkt_tailroom(&p), CAP - HEADROOM);
}

/* RFC 1071 section 3, numerical example: the bytes below sum to 0xddf2. */
static void test_csum_rfc1071_example(void **state)
{
	static const uint8_t bytes[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};

	assert_int_equal(sl_csum_fold(sl_csum_add(0, bytes, sizeof(bytes))), 0xddf2);
	/* Odd length: the last byte is padded with zero on the right. */
	assert_int_equal(sl_csum_fold(sl_csum_add(0, bytes, 7)),
			 sl_csum_fold(0x0001 + 0xf203 + 0xf4f5 + 0xf600));
}

/*
 * IPv4 packets written by Linux 6.18 to a TUN device without checksum
 * offload, so the kernel computed the full L4 checksum (UDP 0x60ed at
 * byte 26, TCP SYN 0x4157 at byte 36). 198.18.5.1 -> 198.18.5.2.
 */
static const uint8_t udp4[] = {
	0x45, 0x00, 0x00, 0x33, 0xd0, 0xb9, 0x40, 0x00, 0x40, 0x11, 0xd3, 0xd8, 0xc6,
	0x12, 0x05, 0x01, 0xc6, 0x12, 0x05, 0x02, 0x9c, 0x40, 0x00, 0x09, 0x00, 0x1f,
	0x60, 0xed, 0x73, 0x6c, 0x75, 0x69, 0x63, 0x65, 0x20, 0x63, 0x68, 0x65, 0x63,
	0x6b, 0x73, 0x75, 0x6d, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x0a,
};

static const uint8_t tcp4[] = {
	0x45, 0x00, 0x00, 0x3c, 0x58, 0x18, 0x40, 0x00, 0x40, 0x06, 0x4c, 0x7c, 0xc6, 0x12, 0x05,
	0x01, 0xc6, 0x12, 0x05, 0x02, 0x9c, 0x41, 0x00, 0x50, 0x08, 0x42, 0xdd, 0x94, 0x00, 0x00,
	0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0, 0x41, 0x57, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04,
	0x02, 0x08, 0x0a, 0x2d, 0x5e, 0xc5, 0xc6, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a,
};

/* The pseudo-header sum (RFC 768, RFC 9293 section 3.1) a sender stores for CHECKSUM_PARTIAL. */
static uint16_t pseudo_sum4(const uint8_t *ip, uint32_t len)
{
	uint8_t ph[12];
	uint32_t l4_len = len - 20;

	memcpy(ph, ip + 12, 8);
	ph[8] = 0;
	ph[9] = ip[9];
	ph[10] = (uint8_t)(l4_len >> 8);
	ph[11] = (uint8_t)l4_len;
	return sl_csum_fold(sl_csum_add(0, ph, sizeof(ph)));
}

static void check_completion(const uint8_t *vector, uint32_t len, uint32_t csum_offset)
{
	uint8_t pkt[128];
	uint16_t pseudo = pseudo_sum4(vector, len);

	memcpy(pkt, vector, len);
	pkt[20 + csum_offset] = (uint8_t)(pseudo >> 8);
	pkt[20 + csum_offset + 1] = (uint8_t)pseudo;
	assert_int_equal(sl_pkt_csum_complete(pkt, len, 20, csum_offset), 0);
	assert_memory_equal(pkt, vector, len);
}

static void test_csum_complete_udp(void **state)
{
	check_completion(udp4, sizeof(udp4), 6);
}

static void test_csum_complete_tcp(void **state)
{
	check_completion(tcp4, sizeof(tcp4), 16);
}

/* A sum of all ones complements to 0, which is sent as 0xffff (0 would mean "none" in UDP). */
static void test_csum_complete_zero_becomes_ffff(void **state)
{
	uint8_t pkt[] = {0x00, 0x00, 0xff, 0xff};

	assert_int_equal(sl_pkt_csum_complete(pkt, sizeof(pkt), 0, 0), 0);
	assert_int_equal(pkt[0], 0xff);
	assert_int_equal(pkt[1], 0xff);
}

static void test_csum_complete_bounds(void **state)
{
	uint8_t pkt[40] = {0};

	assert_int_equal(sl_pkt_csum_complete(pkt, sizeof(pkt), 20, 18), 0);
	assert_int_equal(sl_pkt_csum_complete(pkt, sizeof(pkt), 20, 19), -1);
	assert_int_equal(sl_pkt_csum_complete(pkt, sizeof(pkt), 41, 0), -1);
	assert_int_equal(sl_pkt_csum_complete(pkt, sizeof(pkt), 39, 0), -1);
	assert_int_equal(sl_pkt_csum_complete(pkt, sizeof(pkt), 20, UINT32_MAX), -1);
	assert_int_equal(sl_pkt_csum_complete(pkt, 0, 0, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_push_bounds),
		cmocka_unit_test(test_pull_bounds),
		cmocka_unit_test(test_put_bounds),
		cmocka_unit_test(test_trim_bounds),
		cmocka_unit_test(test_csum_rfc1071_example),
		cmocka_unit_test(test_csum_complete_udp),
		cmocka_unit_test(test_csum_complete_tcp),
		cmocka_unit_test(test_csum_complete_zero_becomes_ffff),
		cmocka_unit_test(test_csum_complete_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
