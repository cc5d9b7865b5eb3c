// SPDX-License-Identifier: MIT
/* CSTP (AnyConnect over TLS) frame headers and the DTLS type byte. */
#include "proto/cstp.h"

#include "core/bytes.h"

#include <errno.h>

int sl_cstp_parse(const uint8_t *b, size_t n, struct sl_cstp_frame *f)
{
	if (n < SL_CSTP_HDR_LEN)
		return -EAGAIN;
	if (b[0] != 'S' || b[1] != 'T' || b[2] != 'F' || b[3] != 1 || b[7] != 0)
		return -EBADMSG;
	f->len = sl_get_be16(b + 4);
	f->type = b[6];
	return SL_CSTP_HDR_LEN;
}

void sl_cstp_write_header(uint8_t *h, uint8_t type, uint16_t len)
{
	h[0] = 'S';
	h[1] = 'T';
	h[2] = 'F';
	h[3] = 1;
	sl_put_be16(h + 4, len);
	h[6] = type;
	h[7] = 0;
}

int sl_cstp_push(struct sl_pkt *p, uint8_t type)
{
	uint32_t len = p->len;
	uint8_t *h;

	if (len > SL_CSTP_PAYLOAD_MAX)
		return -EMSGSIZE;
	h = sl_pkt_push(p, SL_CSTP_HDR_LEN);
	if (!h)
		return -ENOSPC;
	sl_cstp_write_header(h, type, (uint16_t)len);
	return 0;
}

int sl_cstp_dtls_push(struct sl_pkt *p, uint8_t type)
{
	uint8_t *h = sl_pkt_push(p, SL_CSTP_DTLS_HDR_LEN);

	if (!h)
		return -ENOSPC;
	*h = type;
	return 0;
}

const char *sl_cstp_type_name(uint8_t type)
{
	switch (type) {
	case SL_CSTP_DATA:
		return "data";
	case SL_CSTP_DPD_REQ:
		return "DPD request";
	case SL_CSTP_DPD_RESP:
		return "DPD response";
	case SL_CSTP_DISCONNECT:
		return "disconnect";
	case SL_CSTP_KEEPALIVE:
		return "keepalive";
	case SL_CSTP_COMPRESSED:
		return "compressed data";
	case SL_CSTP_TERMINATE:
		return "terminate";
	default:
		return "unknown";
	}
}
