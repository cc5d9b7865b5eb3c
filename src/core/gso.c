// SPDX-License-Identifier: MIT
/*
 * GSO super-packet segmentation. Nothing here trusts the kernel's hdr_len
 * (it can cover a whole forwarded packet, as wireguard-go notes): the header
 * length is recomputed from csum_start and the L4 header itself.
 */
#include "core/gso.h"

#include "core/bytes.h"
#include "core/pkt.h"

#include <errno.h>
#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

static int check_ip(struct sl_gso *g, const uint8_t *pkt, uint32_t len, uint16_t csum_start)
{
	if (len < 1)
		return -EINVAL;
	if (pkt[0] >> 4 == 4 && g->family == AF_INET) {
		/* Options are copied to every segment, as the kernel does. */
		if (len < 20 || (uint32_t)(pkt[0] & 0x0f) * 4 != csum_start || pkt[9] != g->l4)
			return -EINVAL;
		return 0;
	}
	if (pkt[0] >> 4 == 6 && g->family == AF_INET6) {
		/* Extension headers would need walking; the kernel's TSO of them is rare. */
		if (len < 40 || csum_start != 40 || pkt[6] != g->l4)
			return -EINVAL;
		return 0;
	}
	return -EINVAL;
}

static int type_to_proto(struct sl_gso *g, const uint8_t *pkt, uint32_t len, uint8_t gso_type)
{
	switch (gso_type) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
		g->family = AF_INET;
		g->l4 = IPPROTO_TCP;
		return 0;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		g->family = AF_INET6;
		g->l4 = IPPROTO_TCP;
		return 0;
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		g->family = len && pkt[0] >> 4 == 6 ? AF_INET6 : AF_INET;
		g->l4 = IPPROTO_UDP;
		return 0;
	default:
		return -EINVAL;
	}
}

int sl_gso_init(struct sl_gso *g, uint8_t *pkt, uint32_t len, uint8_t gso_type, uint16_t gso_size,
		uint16_t csum_start, uint16_t csum_offset)
{
	uint32_t l4_hlen;

	memset(g, 0, sizeof(*g));
	if (len > 65535 + 40 || gso_size == 0)
		return -EINVAL;
	if (type_to_proto(g, pkt, len, gso_type & ~VIRTIO_NET_HDR_GSO_ECN) < 0 ||
	    check_ip(g, pkt, len, csum_start) < 0)
		return -EINVAL;
	if (g->l4 == IPPROTO_TCP) {
		if (csum_offset != 16 || len < (uint32_t)csum_start + 20)
			return -EINVAL;
		l4_hlen = (uint32_t)(pkt[csum_start + 12] >> 4) * 4;
		if (l4_hlen < 20)
			return -EINVAL;
	} else {
		if (csum_offset != 6)
			return -EINVAL;
		l4_hlen = 8;
	}
	if ((uint32_t)csum_start + l4_hlen >= len || csum_start + l4_hlen > SL_GSO_HDR_MAX)
		return -EINVAL;
	g->pkt = pkt;
	g->len = len;
	g->ip_hlen = csum_start;
	g->hdr_len = (uint16_t)(csum_start + l4_hlen);
	g->gso_size = gso_size;
	g->nseg = (len - g->hdr_len + gso_size - 1) / gso_size;
	memcpy(g->hdr, pkt, g->hdr_len);
	g->pseudo_sum = sl_csum_pseudo(pkt, g->l4, 0);
	if (g->family == AF_INET) {
		uint8_t *h = g->hdr;

		/* Summed with the three fields at zero, then put back. */
		g->ip_sum = sl_csum_add(sl_csum_add(0, h, 2), h + 6, 4);
		g->ip_sum = sl_csum_add(g->ip_sum, h + 12, g->ip_hlen - 12u);
	}
	return 0;
}

void sl_gso_seg_headers(const struct sl_gso *g, uint32_t i, uint8_t *out)
{
	uint32_t plen = sl_gso_seg_payload_len(g, i);
	uint32_t l4_hlen = g->hdr_len - g->ip_hlen;
	uint32_t l4_len = l4_hlen + plen;
	const uint8_t *payload = sl_gso_seg_payload(g, i);
	uint8_t *l4 = out + g->ip_hlen;
	uint8_t *csum_field;
	uint16_t csum, tot_len, id;
	uint32_t sum;

	memcpy(out, g->hdr, g->hdr_len);
	if (g->family == AF_INET) {
		tot_len = (uint16_t)(g->ip_hlen + l4_len);
		id = (uint16_t)(sl_get_be16(g->hdr + 4) + i);
		sl_put_be16(out + 2, tot_len);
		sl_put_be16(out + 4, id);
		sl_put_be16(out + 10, (uint16_t)~sl_csum_fold(g->ip_sum + tot_len + id));
	} else {
		sl_put_be16(out + 4, (uint16_t)l4_len);
	}
	if (g->l4 == IPPROTO_TCP) {
		sl_put_be32(l4 + 4, sl_get_be32(l4 + 4) + i * g->gso_size);
		if (i + 1 < g->nseg)
			l4[13] &= (uint8_t) ~(TCP_FIN | TCP_PSH);
		if (i > 0)
			l4[13] &= (uint8_t)~TCP_CWR;
		csum_field = l4 + 16;
	} else {
		sl_put_be16(l4 + 4, (uint16_t)l4_len);
		csum_field = l4 + 6;
	}
	csum_field[0] = csum_field[1] = 0;
	sum = g->pseudo_sum + l4_len;
	/* Headers right before the payload (the sealed path writes them there): one pass. */
	if (out + g->hdr_len == payload)
		sum = sl_csum_add(sum, l4, l4_len);
	else
		sum = sl_csum_add(sl_csum_add(sum, l4, l4_hlen), payload, plen);
	csum = (uint16_t)~sl_csum_fold(sum);
	if (csum == 0 && g->l4 == IPPROTO_UDP)
		csum = 0xffff; /* 0 would mean "no checksum" */
	sl_put_be16(csum_field, csum);
}
