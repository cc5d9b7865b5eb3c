// SPDX-License-Identifier: MIT
/*
 * The offload parsers: core/gso (a TUN super-packet and its virtio header
 * fields) and core/gro (decrypted inner packets from a peer, coalesced for
 * the TUN). Input byte 0 picks which.
 *   GSO: bytes 1..7 = gso_type, gso_size (2), csum_start (2), csum_offset,
 *        then the packet. Every segment is built, copied and (as the engine
 *        does) in place in front of its payload: the two must agree, their
 *        payloads add up and each segment's L4 checksum verifies.
 *   GRO: (bit 1 of byte 0: UDP too) the rest is packets, each behind a 2-byte length. Runs are
 * formed as tunq.c does; a run's merged length must equal the first packet plus the later payloads,
 * and finishing it must stay in its buffer. Any broken invariant aborts.
 */
#include "core/bytes.h"
#include "core/gro.h"
#include "core/gso.h"
#include "core/pkt.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static uint8_t seg[SL_GSO_HDR_MAX + 65536];

static void fuzz_gso(const uint8_t *d, size_t n)
{
	struct sl_gso g;
	uint32_t sum = 0;

	static uint8_t pkt[65536 + 64];

	if (n < 7 || n - 7 > 65536)
		return;
	memcpy(pkt, d + 7, n - 7); /* the segmenter may write into its input, as in the engine */
	if (sl_gso_init(&g, pkt, (uint32_t)(n - 7), d[0], sl_get_be16(d + 1), sl_get_be16(d + 3),
			d[5] | (uint16_t)d[6] << 8) < 0)
		return;
	for (uint32_t i = 0; i < g.nseg; i++) {
		uint32_t plen = sl_gso_seg_payload_len(&g, i),
			 l4_len = g.hdr_len - g.ip_hlen + plen;
		uint32_t c;

		if (plen == 0 || plen > g.gso_size)
			abort();
		sl_gso_seg_headers(&g, i, seg);
		memcpy(seg + g.hdr_len, sl_gso_seg_payload(&g, i), plen);
		c = sl_csum_pseudo(seg, g.l4, l4_len);
		if (sl_csum_fold(sl_csum_add(c, seg + g.ip_hlen, l4_len)) != 0xffff)
			abort();
		/* As the engine seals: the headers written in front of the payload, in place. */
		sl_gso_seg_headers(&g, i, sl_gso_seg_payload(&g, i) - g.hdr_len);
		if (memcmp(sl_gso_seg_payload(&g, i) - g.hdr_len, seg, g.hdr_len + plen))
			abort();
		sum += plen;
	}
	if (sum != g.len - g.hdr_len)
		abort();
}

#define GRO_MAX 64

static void fuzz_gro(const uint8_t *d, size_t n, bool udp_ok)
{
	static uint8_t bufs[GRO_MAX][SL_GRO_VNET_HDR_LEN + 65536];
	uint32_t lens[GRO_MAX], count = 0;

	while (n >= 2 && count < GRO_MAX) {
		uint32_t len = sl_get_be16(d);

		d += 2, n -= 2;
		if (len > n)
			len = (uint32_t)n;
		memcpy(bufs[count] + SL_GRO_VNET_HDR_LEN, d, len);
		lens[count++] = len;
		d += len, n -= len;
	}
	for (uint32_t i = 0; i < count;) {
		uint8_t *first = bufs[i] + SL_GRO_VNET_HDR_LEN;
		struct sl_gro_run r;
		uint32_t k = 1, want;

		if (!sl_gro_start(&r, first, lens[i], udp_ok)) {
			i++;
			continue;
		}
		want = lens[i];
		while (i + k < count &&
		       sl_gro_append(&r, bufs[i + k] + SL_GRO_VNET_HDR_LEN, lens[i + k])) {
			want += lens[i + k] - r.hdr_len;
			k++;
		}
		if (r.n != k || r.total != want || r.total > 65535)
			abort();
		if (k > 1)
			sl_gro_finish(&r, first, bufs[i]);
		i += k;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		fuzz_gro(data + 1, size - 1, data[0] & 2);
	else
		fuzz_gso(data + 1, size - 1);
	return 0;
}
