// SPDX-License-Identifier: MIT
/*
 * TCP coalescing (core/gro.c): segments cut by core/gso.c coalesce back into
 * the super-packet they came from (headers equal but for the checksum field,
 * which holds the pseudo-header sum for NEEDS_CSUM), and every rule that
 * stops a run stops it.
 */
#include "core/bytes.h"
#include "core/gro.h"
#include "core/gso.h"
#include "core/pkt.h"

#include <linux/virtio_net.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ip_fixture.h"

#define NSEG 4

struct segs {
	uint8_t super[65536];
	uint32_t super_len;
	uint8_t seg[NSEG][SL_GSO_HDR_MAX + MSS];
	uint32_t len[NSEG];
};

/* Cut the fixture's super-packet (flags as given) into its four segments. */
static void cut(struct segs *s, uint8_t flags)
{
	struct sl_gso g;

	s->super_len = make_tcp4(s->super, flags);
	assert_int_equal(
		sl_gso_init(&g, s->super, s->super_len, VIRTIO_NET_HDR_GSO_TCPV4, MSS, 20, 16), 0);
	assert_int_equal(g.nseg, NSEG);
	for (uint32_t i = 0; i < NSEG; i++) {
		uint32_t plen = sl_gso_seg_payload_len(&g, i);

		sl_gso_seg_headers(&g, i, s->seg[i]);
		memcpy(s->seg[i] + g.hdr_len, sl_gso_seg_payload(&g, i), plen);
		s->len[i] = g.hdr_len + plen;
	}
}

static void test_segments_coalesce_back(void **state)
{
	static struct segs s;
	struct virtio_net_hdr h;
	uint8_t vnet[SL_GRO_VNET_HDR_LEN];
	struct sl_gro_run r;

	cut(&s, 0x18); /* ACK PSH: the PSH lands on the last segment, and comes back */
	assert_true(sl_gro_start(&r, s.seg[0], s.len[0], false));
	for (int i = 1; i < NSEG; i++)
		assert_true(sl_gro_append(&r, s.seg[i], s.len[i]));
	assert_int_equal(r.n, NSEG);
	assert_int_equal(r.total, s.super_len);
	sl_gro_finish(&r, s.seg[0], vnet);

	memcpy(&h, vnet, sizeof(h));
	assert_int_equal(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(h.hdr_len, 52);
	assert_int_equal(h.gso_size, MSS);
	assert_int_equal(h.csum_start, 20);
	assert_int_equal(h.csum_offset, 16);
	/* IP header as the original (its checksum now valid), TCP header but the checksum. */
	assert_int_equal(ref_fold(ref_sum(0, s.seg[0], 20)), 0xffff);
	assert_memory_equal(s.seg[0], s.super, 10);
	assert_memory_equal(s.seg[0] + 12, s.super + 12, 8);
	assert_memory_equal(s.seg[0] + 20, s.super + 20, 16);
	assert_memory_equal(s.seg[0] + 38, s.super + 38, 14);
	/* The pseudo-header sum, independently: addresses, protocol and TCP length. */
	assert_int_equal(sl_get_be16(s.seg[0] + 36),
			 ref_fold(ref_sum(0, s.super + 12, 8) + IPPROTO_TCP + s.super_len - 20));
}

static void test_what_stops_a_run(void **state)
{
	static struct segs s;
	struct sl_gro_run r;

	cut(&s, 0x10);
	/* Out of order: a gap in the sequence. */
	assert_true(sl_gro_start(&r, s.seg[0], s.len[0], false));
	assert_false(sl_gro_append(&r, s.seg[2], s.len[2]));
	assert_int_equal(r.n, 1);
	/* Another flow (port). */
	s.seg[1][21] ^= 1;
	assert_false(sl_gro_append(&r, s.seg[1], s.len[1]));
	s.seg[1][21] ^= 1;
	/* A different ack number, data offset, window or option byte (not the checksum at 36). */
	static const int offs[] = {28, 31, 32, 34, 35, 40, 44, 51};

	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		s.seg[1][offs[i]] ^= 0x40;
		assert_false(sl_gro_append(&r, s.seg[1], s.len[1]));
		s.seg[1][offs[i]] ^= 0x40;
	}
	/* Nothing follows a short segment: the last one (500 bytes) ends the run. */
	assert_true(sl_gro_append(&r, s.seg[1], s.len[1]));
	assert_true(sl_gro_append(&r, s.seg[2], s.len[2]));
	assert_true(sl_gro_append(&r, s.seg[3], s.len[3]));
	assert_true(r.last_short);

	cut(&s, 0x10);
	/* PSH in the middle ends the run after it. */
	s.seg[1][33] |= 0x08;
	assert_true(sl_gro_start(&r, s.seg[0], s.len[0], false));
	assert_true(sl_gro_append(&r, s.seg[1], s.len[1]));
	assert_false(sl_gro_append(&r, s.seg[2], s.len[2]));
	/* A longer segment than the first never joins; nor does a short one start a run that grows.
	 */
	assert_true(sl_gro_start(&r, s.seg[3], s.len[3], false));
	assert_false(sl_gro_append(&r, s.seg[0], s.len[0]));
}

/* UDP segments (USO) coalesce back too, but only where the TUN takes UDP super-packets. */
static void test_udp_segments_coalesce_back(void **state)
{
	static uint8_t super[65536], seg[NSEG][SL_GSO_HDR_MAX + MSS];
	uint32_t len = make_udp6(super), slen[NSEG];
	uint8_t vnet[SL_GRO_VNET_HDR_LEN];
	struct virtio_net_hdr h;
	struct sl_gro_run r;
	struct sl_gso g;

	assert_int_equal(sl_gso_init(&g, super, len, VIRTIO_NET_HDR_GSO_UDP_L4, MSS, 40, 6), 0);
	for (uint32_t i = 0; i < NSEG; i++) {
		sl_gso_seg_headers(&g, i, seg[i]);
		memcpy(seg[i] + 48, sl_gso_seg_payload(&g, i), sl_gso_seg_payload_len(&g, i));
		slen[i] = 48 + sl_gso_seg_payload_len(&g, i);
	}
	assert_false(sl_gro_start(&r, seg[0], slen[0], false));
	assert_true(sl_gro_start(&r, seg[0], slen[0], true));
	seg[1][41] ^= 1; /* another destination port */
	assert_false(sl_gro_append(&r, seg[1], slen[1]));
	seg[1][41] ^= 1;
	for (int i = 1; i < NSEG; i++)
		assert_true(sl_gro_append(&r, seg[i], slen[i]));
	assert_int_equal(r.total, len);
	sl_gro_finish(&r, seg[0], vnet);
	memcpy(&h, vnet, sizeof(h));
	assert_int_equal(h.gso_type, VIRTIO_NET_HDR_GSO_UDP_L4);
	assert_int_equal(h.gso_size, MSS);
	assert_int_equal(h.hdr_len, 48);
	assert_int_equal(h.csum_offset, 6);
	assert_int_equal(sl_get_be16(seg[0] + 4), len - 40);
	assert_int_equal(sl_get_be16(seg[0] + 44), len - 40);
	assert_int_equal(sl_get_be16(seg[0] + 46),
			 ref_fold(ref_sum(0, super + 8, 32) + IPPROTO_UDP + len - 40));
}

static void test_what_cannot_start_a_run(void **state)
{
	static struct segs s;
	struct sl_gro_run r;

	cut(&s, 0x10);
	s.seg[0][33] = 0x12; /* SYN ACK */
	assert_false(sl_gro_start(&r, s.seg[0], s.len[0], false));
	s.seg[0][33] = 0x11; /* FIN ACK */
	assert_false(sl_gro_start(&r, s.seg[0], s.len[0], false));
	s.seg[0][33] = 0x10;
	assert_false(sl_gro_start(&r, s.seg[0], 52, false)); /* no payload: length disagrees */
	s.seg[0][6] |= 0x20;				     /* more fragments */
	assert_false(sl_gro_start(&r, s.seg[0], s.len[0], false));
	s.seg[0][6] &= (uint8_t)~0x20;
	s.seg[0][9] = IPPROTO_UDP;
	assert_false(sl_gro_start(&r, s.seg[0], s.len[0], false));
	s.seg[0][9] = IPPROTO_TCP;
	s.seg[0][0] = 0x46; /* IPv4 options */
	assert_false(sl_gro_start(&r, s.seg[0], s.len[0], false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_segments_coalesce_back),
		cmocka_unit_test(test_what_stops_a_run),
		cmocka_unit_test(test_udp_segments_coalesce_back),
		cmocka_unit_test(test_what_cannot_start_a_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
