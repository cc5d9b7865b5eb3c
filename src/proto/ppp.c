// SPDX-License-Identifier: MIT
/* PPP frame headers and control packets (RFC 1661): parse, iterate options, build. */
#include "proto/ppp.h"

#include "core/bytes.h"

#include <errno.h>
#include <string.h>

int sl_ppp_header_parse(const uint8_t *b, size_t n, uint16_t *proto)
{
	size_t h = 0;

	if (n >= 2 && b[0] == 0xff && b[1] == 0x03)
		h = 2; /* neither byte can start a protocol field, so this is unambiguous */
	if (h >= n)
		return -EBADMSG;
	if (b[h] & 1) {
		*proto = b[h];
		return (int)h + 1;
	}
	if (h + 2 > n || !(b[h + 1] & 1))
		return -EBADMSG;
	*proto = sl_get_be16(b + h);
	return (int)h + 2;
}

size_t sl_ppp_header_len(uint16_t proto, bool acfc, bool pfc)
{
	bool lcp = proto == SL_PPP_LCP;

	return (acfc && !lcp ? 0 : 2) + (pfc && !lcp && proto < 0x100 ? 1 : 2);
}

int sl_ppp_push_header(struct sl_pkt *p, uint16_t proto, bool acfc, bool pfc)
{
	size_t n = sl_ppp_header_len(proto, acfc, pfc);
	uint8_t *h = sl_pkt_push(p, (uint32_t)n);

	if (!h)
		return -ENOSPC;
	if (n == 4 || n == 3) {
		*h++ = 0xff;
		*h++ = 0x03;
		n -= 2;
	}
	if (n == 2)
		*h++ = (uint8_t)(proto >> 8);
	*h = (uint8_t)proto;
	return 0;
}

int sl_ppp_cp_parse(const uint8_t *b, size_t n, struct sl_ppp_cp *out)
{
	uint16_t len;

	if (n < 4)
		return -EBADMSG;
	len = sl_get_be16(b + 2);
	if (len < 4 || len > n)
		return -EBADMSG;
	out->code = b[0];
	out->id = b[1];
	out->data = b + 4;
	out->len = len - 4u;
	return 0;
}

int sl_ppp_opt_next(const uint8_t *data, size_t len, size_t *off, struct sl_ppp_opt *o)
{
	size_t at = *off;

	if (at >= len)
		return 0;
	if (len - at < 2 || data[at + 1] < 2 || data[at + 1] > len - at)
		return -EBADMSG;
	o->type = data[at];
	o->len = (uint8_t)(data[at + 1] - 2);
	o->value = data + at + 2;
	*off = at + data[at + 1];
	return 1;
}

void sl_ppp_build_begin(struct sl_ppp_builder *b, uint8_t *buf, size_t cap, uint8_t code,
			uint8_t id)
{
	*b = (struct sl_ppp_builder){.buf = buf, .cap = cap};
	if (cap < 4) {
		b->overflow = true;
		return;
	}
	buf[0] = code;
	buf[1] = id;
	b->len = 4;
}

void sl_ppp_build_bytes(struct sl_ppp_builder *b, const void *data, size_t len)
{
	if (b->overflow || len > b->cap - b->len || b->len + len > 0xffff) {
		b->overflow = true;
		return;
	}
	if (len)
		memcpy(b->buf + b->len, data, len);
	b->len += len;
}

void sl_ppp_build_opt(struct sl_ppp_builder *b, uint8_t type, const void *value, uint8_t len)
{
	uint8_t h[2] = {type, (uint8_t)(len + 2)};

	if (len > 253) {
		b->overflow = true;
		return;
	}
	sl_ppp_build_bytes(b, h, 2);
	sl_ppp_build_bytes(b, value, len);
}

int sl_ppp_build_end(struct sl_ppp_builder *b)
{
	if (b->overflow)
		return -ENOSPC;
	sl_put_be16(b->buf + 2, (uint16_t)b->len);
	return (int)b->len;
}
