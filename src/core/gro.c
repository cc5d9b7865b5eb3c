// SPDX-License-Identifier: MIT
/* TCP and UDP coalescing for TUN writes; the rules are in gro.h. */
#include "core/gro.h"

#include "core/bytes.h"
#include "core/gso.h" /* VIRTIO_NET_HDR_GSO_UDP_L4 where the system headers lack it */
#include "core/pkt.h"

#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <string.h>

#define TCP_PSH	   0x08
#define TCP_ACK	   0x10
#define MERGED_MAX 65535u
#define UDP_SEGS   64 /* UDP_MAX_SEGMENTS of older kernels: the most one UDP GSO packet holds */

struct l4_view {
	bool v4;
	uint8_t proto;
	uint32_t ip_hlen, hdr_len, payload, seq;
	uint8_t flags;
	const uint8_t *l4;
};

static bool ip_part(const uint8_t *p, uint32_t len, struct l4_view *v)
{
	if (len >= 28 && p[0] == 0x45) {
		/* No options, not a fragment, the length it claims. */
		if ((sl_get_be16(p + 6) & 0x3fff) || sl_get_be16(p + 2) != len)
			return false;
		v->v4 = true;
		v->proto = p[9];
		v->ip_hlen = 20;
		return true;
	}
	if (len >= 48 && p[0] >> 4 == 6) {
		if (sl_get_be16(p + 4) + 40u != len)
			return false;
		v->v4 = false;
		v->proto = p[6];
		v->ip_hlen = 40;
		return true;
	}
	return false;
}

static bool l4_view(const uint8_t *p, uint32_t len, bool udp_ok, struct l4_view *v)
{
	if (!ip_part(p, len, v))
		return false;
	v->l4 = p + v->ip_hlen;
	v->flags = 0;
	v->seq = 0;
	if (v->proto == IPPROTO_UDP) {
		v->hdr_len = v->ip_hlen + 8;
		if (!udp_ok || v->hdr_len >= len || sl_get_be16(v->l4 + 4) != len - v->ip_hlen)
			return false;
		v->payload = len - v->hdr_len;
		return true;
	}
	if (v->proto != IPPROTO_TCP || len < v->ip_hlen + 20)
		return false;
	v->hdr_len = v->ip_hlen + (uint32_t)(v->l4[12] >> 4) * 4;
	v->flags = v->l4[13];
	if (v->hdr_len < v->ip_hlen + 20 || v->hdr_len >= len || (v->flags & ~TCP_PSH) != TCP_ACK)
		return false;
	v->payload = len - v->hdr_len;
	v->seq = sl_get_be32(v->l4 + 4);
	return true;
}

bool sl_gro_start(struct sl_gro_run *r, const uint8_t *pkt, uint32_t len, bool udp_ok)
{
	struct l4_view v;

	if (!l4_view(pkt, len, udp_ok, &v))
		return false;
	*r = (struct sl_gro_run){
		.first = pkt,
		.proto = v.proto,
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
static bool same_headers(const uint8_t *a, const uint8_t *b, const struct l4_view *v)
{
	const uint8_t *la = a + v->ip_hlen, *lb = v->l4;
	uint32_t opt_len;

	if (v->v4) {
		if (a[1] != b[1] || (a[6] & 0x40) != (b[6] & 0x40) || a[8] != b[8] ||
		    memcmp(a + 12, b + 12, 8))
			return false;
	} else if (memcmp(a, b, 4) || a[7] != b[7] || memcmp(a + 8, b + 8, 32)) {
		return false;
	}
	if (memcmp(la, lb, 4)) /* ports */
		return false;
	if (v->proto == IPPROTO_UDP)
		return true;
	/* Ack; data offset; flags but PSH; window; options (most segments have none: no call). */
	opt_len = v->hdr_len - v->ip_hlen - 20;
	return !memcmp(la + 8, lb + 8, 5) && !((la[13] ^ lb[13]) & ~TCP_PSH) &&
	       !memcmp(la + 14, lb + 14, 2) && (opt_len == 0 || !memcmp(la + 20, lb + 20, opt_len));
}

bool sl_gro_append(struct sl_gro_run *r, const uint8_t *pkt, uint32_t len)
{
	struct l4_view v;

	if (r->psh || r->last_short || !l4_view(pkt, len, r->proto == IPPROTO_UDP, &v))
		return false;
	if (v.proto != r->proto || v.hdr_len != r->hdr_len || v.payload > r->gso_size ||
	    r->total + v.payload > MERGED_MAX || !same_headers(r->first, pkt, &v))
		return false;
	if (v.proto == IPPROTO_TCP ? v.seq != r->next_seq : r->n >= UDP_SEGS)
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
	bool v4 = first[0] >> 4 == 4, udp = r->proto == IPPROTO_UDP;
	uint32_t ip_hlen = v4 ? 20 : 40, l4_len = r->total - ip_hlen;
	uint8_t *l4 = first + ip_hlen;
	struct virtio_net_hdr h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = udp	 ? VIRTIO_NET_HDR_GSO_UDP_L4
			    : v4 ? VIRTIO_NET_HDR_GSO_TCPV4
				 : VIRTIO_NET_HDR_GSO_TCPV6,
		.hdr_len = (uint16_t)r->hdr_len,
		.gso_size = (uint16_t)r->gso_size,
		.csum_start = (uint16_t)ip_hlen,
		.csum_offset = udp ? 6 : 16,
	};

	if (v4) {
		sl_put_be16(first + 2, (uint16_t)r->total);
		first[10] = first[11] = 0;
		sl_put_be16(first + 10, (uint16_t)~sl_csum_fold(sl_csum_add(0, first, 20)));
	} else {
		sl_put_be16(first + 4, (uint16_t)l4_len);
	}
	if (udp)
		sl_put_be16(l4 + 4, (uint16_t)l4_len);
	else if (r->psh)
		l4[13] |= TCP_PSH;
	/* NEEDS_CSUM: the field holds the pseudo-header sum, the kernel adds the rest. */
	sl_put_be16(l4 + (udp ? 6 : 16), sl_csum_fold(sl_csum_pseudo(first, r->proto, l4_len)));
	memcpy(vnet, &h, sizeof(h));
}
