// SPDX-License-Identifier: MIT
/* TCP coalescing for TUN writes; the rules are in gro.h. */
#include "core/gro.h"

#include "core/bytes.h"
#include "core/pkt.h"

#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <string.h>

#define TCP_PSH	   0x08
#define TCP_ACK	   0x10
#define MERGED_MAX 65535u

struct tcp_view {
	bool v4;
	uint32_t ip_hlen, hdr_len, payload, seq;
	uint8_t flags;
	const uint8_t *tcp;
};

static bool tcp_view(const uint8_t *p, uint32_t len, struct tcp_view *v)
{
	if (len >= 40 && p[0] == 0x45) {
		/* No options, not a fragment, nothing but TCP, the length it claims. */
		if (p[9] != IPPROTO_TCP || (sl_get_be16(p + 6) & 0x3fff) ||
		    sl_get_be16(p + 2) != len)
			return false;
		v->v4 = true;
		v->ip_hlen = 20;
	} else if (len >= 60 && p[0] >> 4 == 6) {
		if (p[6] != IPPROTO_TCP || sl_get_be16(p + 4) + 40u != len)
			return false;
		v->v4 = false;
		v->ip_hlen = 40;
	} else {
		return false;
	}
	v->tcp = p + v->ip_hlen;
	v->hdr_len = v->ip_hlen + (uint32_t)(v->tcp[12] >> 4) * 4;
	v->flags = v->tcp[13];
	if (v->hdr_len < v->ip_hlen + 20 || v->hdr_len >= len || (v->flags & ~TCP_PSH) != TCP_ACK)
		return false;
	v->payload = len - v->hdr_len;
	v->seq = sl_get_be32(v->tcp + 4);
	return true;
}

bool sl_gro_start(struct sl_gro_run *r, const uint8_t *pkt, uint32_t len)
{
	struct tcp_view v;

	if (!tcp_view(pkt, len, &v))
		return false;
	*r = (struct sl_gro_run){
		.first = pkt,
		.hdr_len = v.hdr_len,
		.gso_size = v.payload,
		.total = len,
		.next_seq = v.seq + v.payload,
		.n = 1,
		.psh = v.flags & TCP_PSH,
	};
	return true;
}

/* Same flow and same everything the merged header stands for. */
static bool same_headers(const uint8_t *a, const uint8_t *b, const struct tcp_view *v)
{
	const uint8_t *ta = a + v->ip_hlen, *tb = v->tcp;

	if (v->v4) {
		if (a[1] != b[1] || (a[6] & 0x40) != (b[6] & 0x40) || a[8] != b[8] ||
		    memcmp(a + 12, b + 12, 8))
			return false;
	} else if (memcmp(a, b, 4) || a[7] != b[7] || memcmp(a + 8, b + 8, 32)) {
		return false;
	}
	/* Ports; ack; data offset; flags but PSH; window; options. */
	return !memcmp(ta, tb, 4) && !memcmp(ta + 8, tb + 8, 5) &&
	       !((ta[13] ^ tb[13]) & ~TCP_PSH) && !memcmp(ta + 14, tb + 14, 2) &&
	       !memcmp(ta + 20, tb + 20, v->hdr_len - v->ip_hlen - 20);
}

bool sl_gro_append(struct sl_gro_run *r, const uint8_t *pkt, uint32_t len)
{
	struct tcp_view v;

	if (r->psh || r->last_short || !tcp_view(pkt, len, &v))
		return false;
	if (v.hdr_len != r->hdr_len || v.payload > r->gso_size || v.seq != r->next_seq ||
	    r->total + v.payload > MERGED_MAX || !same_headers(r->first, pkt, &v))
		return false;
	r->total += v.payload;
	r->next_seq += v.payload;
	r->n++;
	r->last_short = v.payload < r->gso_size;
	r->psh = v.flags & TCP_PSH;
	return true;
}

void sl_gro_finish(const struct sl_gro_run *r, uint8_t *first, uint8_t vnet[SL_GRO_VNET_HDR_LEN])
{
	bool v4 = first[0] >> 4 == 4;
	uint32_t ip_hlen = v4 ? 20 : 40, l4_len = r->total - ip_hlen;
	uint8_t *tcp = first + ip_hlen;
	struct virtio_net_hdr h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = v4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6,
		.hdr_len = (uint16_t)r->hdr_len,
		.gso_size = (uint16_t)r->gso_size,
		.csum_start = (uint16_t)ip_hlen,
		.csum_offset = 16,
	};

	if (v4) {
		sl_put_be16(first + 2, (uint16_t)r->total);
		first[10] = first[11] = 0;
		sl_put_be16(first + 10, (uint16_t)~sl_csum_fold(sl_csum_add(0, first, 20)));
	} else {
		sl_put_be16(first + 4, (uint16_t)l4_len);
	}
	if (r->psh)
		tcp[13] |= TCP_PSH;
	/* NEEDS_CSUM: the field holds the pseudo-header sum, the kernel adds the rest. */
	sl_put_be16(tcp + 16, sl_csum_fold(sl_csum_pseudo(first, IPPROTO_TCP, l4_len)));
	memcpy(vnet, &h, sizeof(h));
}
