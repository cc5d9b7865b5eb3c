// SPDX-License-Identifier: MIT
/*
 * GSO segmentation (core/gso.c) checked against a plain reference: every
 * segment's IP and L4 checksums verified with a byte-at-a-time RFC 1071 sum,
 * lengths, TCP sequence numbers and flags, and the payloads put back together
 * equal the super-packet's. Plus the word-at-a-time sl_csum_add against the
 * same reference on random input.
 */
#include "core/bytes.h"
#include "core/gso.h"
#include "core/pkt.h"

#include <errno.h>
#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "ip_fixture.h"

/* Short and long runs (up to 64 KiB), at every alignment. */
static void test_csum_add_matches_reference(void **state)
{
	static uint8_t buf[65536 + 8];

	srandom(7);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)random();
	for (int round = 0; round < 3000; round++) {
		size_t max = round < 2000 ? 2048 : 65536;
		size_t n = (size_t)random() % max, off = (size_t)random() % 8;
		uint32_t seed = (uint32_t)random() & 0xffff;

		assert_int_equal(sl_csum_fold(sl_csum_add(seed, buf + off, n)),
				 ref_fold(ref_sum(seed, buf + off, n)));
	}
	/* All ones and all zeros: the sums at the edges of the one's-complement ring. */
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(sl_csum_fold(sl_csum_add(0, buf, 65536)),
			 ref_fold(ref_sum(0, buf, 65536)));
	memset(buf, 0, sizeof(buf));
	assert_int_equal(sl_csum_fold(sl_csum_add(0, buf, 65536)), 0);
}

/*
 * Every length up to 520 (each combination of 64- and 32-byte blocks, 8-byte words and a 4-, 2-
 * and 1-byte tail) at every alignment, over random bytes and over bytes that are mostly 0xff (a
 * carry out of nearly every add), with random seeds; and a sum taken in two calls, split at an even
 * offset, equals the sum taken in one.
 */
static void test_csum_add_every_length_and_alignment(void **state)
{
	static uint8_t buf[520 + 8];

	srandom(11);
	for (int fill = 0; fill < 2; fill++) {
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = fill == 0 ? (uint8_t)random()
					   : (random() % 16 ? 0xff : (uint8_t)random());
		for (size_t n = 0; n <= 520; n++) {
			for (size_t off = 0; off < 8; off++) {
				uint32_t seed = (uint32_t)random() & 0xffff;
				size_t split = n ? ((size_t)random() % n) & ~(size_t)1 : 0;
				uint16_t want = ref_fold(ref_sum(seed, buf + off, n));
				uint32_t two = sl_csum_add(sl_csum_add(seed, buf + off, split),
							   buf + off + split, n - split);

				assert_int_equal(sl_csum_fold(sl_csum_add(seed, buf + off, n)),
						 want);
				assert_int_equal(sl_csum_fold(two), want);
			}
		}
	}
}

/* L4 checksum of a finished segment, verified the long way: must come to 0xffff. */
static uint16_t ref_l4_check(const uint8_t *seg, uint32_t len, bool v4)
{
	uint32_t ip_hlen = v4 ? 20 : 40, l4_len = len - ip_hlen;
	uint32_t sum = v4 ? ref_sum(0, seg + 12, 8) : ref_sum(0, seg + 8, 32);

	sum += v4 ? seg[9] : seg[6];
	sum += l4_len;
	return ref_fold(ref_sum(sum, seg + ip_hlen, l4_len));
}

struct seg_out {
	uint8_t data[SL_GSO_HDR_MAX + MSS];
	uint32_t len;
};

static uint32_t split_all(const struct sl_gso *g, struct seg_out *out)
{
	for (uint32_t i = 0; i < g->nseg; i++) {
		uint32_t plen = sl_gso_seg_payload_len(g, i);

		sl_gso_seg_headers(g, i, out[i].data);
		memcpy(out[i].data + g->hdr_len, sl_gso_seg_payload(g, i), plen);
		out[i].len = g->hdr_len + plen;
	}
	return g->nseg;
}

static void test_tcp4_segments(void **state)
{
	static uint8_t super[65536];
	struct seg_out segs[4];
	uint8_t joined[PAYLOAD];
	uint32_t len = make_tcp4(super, 0x18 | 0x01 | 0x80); /* ACK PSH FIN CWR */
	uint32_t got = 0;
	struct sl_gso g;

	assert_int_equal(sl_gso_init(&g, super, len, VIRTIO_NET_HDR_GSO_TCPV4, MSS, 20, 16), 0);
	assert_int_equal(g.hdr_len, 52);
	assert_int_equal(g.nseg, 4);
	assert_int_equal(split_all(&g, segs), 4);
	for (uint32_t i = 0; i < 4; i++) {
		const uint8_t *s = segs[i].data;
		uint32_t plen = i < 3 ? MSS : PAYLOAD - 3 * MSS;

		assert_int_equal(segs[i].len, 52 + plen);
		assert_int_equal(sl_get_be16(s + 2), 52 + plen);
		assert_int_equal(sl_get_be16(s + 4), 0x1234 + i);
		assert_int_equal(ref_fold(ref_sum(0, s, 20)), 0xffff);
		assert_int_equal(ref_l4_check(s, segs[i].len, true), 0xffff);
		assert_int_equal(sl_get_be32(s + 24), (uint32_t)(0xfffffc00u + i * MSS));
		/* PSH and FIN on the last only, CWR on the first only, ACK on all. */
		assert_int_equal(s[33], i == 0 ? 0x90 : i == 3 ? 0x19 : 0x10);
		assert_memory_equal(s + 40, super + 40, 12); /* options copied */
		memcpy(joined + got, s + 52, plen);
		got += plen;
	}
	assert_int_equal(got, PAYLOAD);
	assert_memory_equal(joined, super + 52, PAYLOAD);
}

static void test_udp6_segments(void **state)
{
	static uint8_t super[65536];
	struct seg_out segs[4];
	uint32_t len = make_udp6(super);
	struct sl_gso g;

	assert_int_equal(sl_gso_init(&g, super, len, VIRTIO_NET_HDR_GSO_UDP_L4, MSS, 40, 6), 0);
	assert_int_equal(g.family, AF_INET6);
	assert_int_equal(g.hdr_len, 48);
	assert_int_equal(split_all(&g, segs), 4);
	for (uint32_t i = 0; i < 4; i++) {
		const uint8_t *s = segs[i].data;
		uint32_t plen = i < 3 ? MSS : PAYLOAD - 3 * MSS;

		assert_int_equal(sl_get_be16(s + 4), 8 + plen);
		assert_int_equal(sl_get_be16(s + 44), 8 + plen);
		assert_int_equal(ref_l4_check(s, segs[i].len, false), 0xffff);
		assert_memory_equal(s + 48, super + 48 + i * MSS, plen);
	}
}

static void test_exact_multiple_has_no_empty_segment(void **state)
{
	static uint8_t super[65536];
	uint32_t len = make_tcp4(super, 0x10);
	struct sl_gso g;

	/* 3500 bytes of payload in segments of 700: exactly 5. */
	assert_int_equal(sl_gso_init(&g, super, len, VIRTIO_NET_HDR_GSO_TCPV4, 700, 20, 16), 0);
	assert_int_equal(g.nseg, 5);
	assert_int_equal(sl_gso_seg_payload_len(&g, 4), 700);
}

static void test_refuses_what_the_kernel_should_not_send(void **state)
{
	static uint8_t super[65536];
	uint32_t len = make_tcp4(super, 0x10);
	struct sl_gso g;

	assert_int_equal(sl_gso_init(&g, super, len, VIRTIO_NET_HDR_GSO_TCPV4, 0, 20, 16), -EINVAL);
	assert_int_equal(sl_gso_init(&g, super, len, VIRTIO_NET_HDR_GSO_TCPV6, MSS, 20, 16),
			 -EINVAL);
	assert_int_equal(sl_gso_init(&g, super, len, VIRTIO_NET_HDR_GSO_TCPV4, MSS, 24, 16),
			 -EINVAL);
	assert_int_equal(sl_gso_init(&g, super, len, VIRTIO_NET_HDR_GSO_TCPV4, MSS, 20, 6),
			 -EINVAL);
	assert_int_equal(sl_gso_init(&g, super, len, VIRTIO_NET_HDR_GSO_UDP_L4, MSS, 20, 6),
			 -EINVAL); /* says UDP, is TCP */
	assert_int_equal(sl_gso_init(&g, super, len, 42, MSS, 20, 16), -EINVAL);
	/* Headers only, no payload; and a data offset running past the packet. */
	assert_int_equal(sl_gso_init(&g, super, 52, VIRTIO_NET_HDR_GSO_TCPV4, MSS, 20, 16),
			 -EINVAL);
	super[32] = 0xf0;
	assert_int_equal(sl_gso_init(&g, super, 60, VIRTIO_NET_HDR_GSO_TCPV4, MSS, 20, 16),
			 -EINVAL);
	super[32] = 0x40; /* data offset 16 < 20 */
	assert_int_equal(sl_gso_init(&g, super, len, VIRTIO_NET_HDR_GSO_TCPV4, MSS, 20, 16),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum_add_matches_reference),
		cmocka_unit_test(test_csum_add_every_length_and_alignment),
		cmocka_unit_test(test_tcp4_segments),
		cmocka_unit_test(test_udp6_segments),
		cmocka_unit_test(test_exact_multiple_has_no_empty_segment),
		cmocka_unit_test(test_refuses_what_the_kernel_should_not_send),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
