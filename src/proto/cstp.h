/* SPDX-License-Identifier: MIT */
/*
 * Cisco AnyConnect CSTP framing over TLS, as openconnect (cstp.c) and ocserv
 * (worker-vpn.c) speak it, and the one-byte header of the same packets over
 * DTLS. Pure functions on buffers.
 *
 *    0    1    2    3    4    5    6      7
 *  +----+----+----+----+----+----+------+------+----------------+
 *  | 'S'| 'T'| 'F'|0x01| length(BE)| type | 0x00 | payload        |
 *  +----+----+----+----+----+----+------+------+----------------+
 *  length = payload bytes. Over DTLS a record is | type (1) | payload |.
 */
#ifndef SL_PROTO_CSTP_H
#define SL_PROTO_CSTP_H

#include "core/pkt.h"

#include <stddef.h>
#include <stdint.h>

#define SL_CSTP_HDR_LEN	     8
#define SL_CSTP_DTLS_HDR_LEN 1
#define SL_CSTP_PAYLOAD_MAX  0xffff

enum sl_cstp_type {
	SL_CSTP_DATA = 0,
	SL_CSTP_DPD_REQ = 3,
	SL_CSTP_DPD_RESP = 4,
	SL_CSTP_DISCONNECT = 5,
	SL_CSTP_KEEPALIVE = 7,
	SL_CSTP_COMPRESSED = 8,
	SL_CSTP_TERMINATE = 9,
};

struct sl_cstp_frame {
	uint8_t type;
	uint16_t len; /* payload bytes, following the header */
};

/*
 * Parse the header at b[0..n). Returns SL_CSTP_HDR_LEN (header in *f; the
 * whole frame is that plus f->len bytes), -EAGAIN (fewer than 8 bytes) or
 * -EBADMSG (not "STF\1", or the reserved byte is not 0).
 */
int sl_cstp_parse(const uint8_t *b, size_t n, struct sl_cstp_frame *f);
/* Write a header for a payload of len bytes at h[0..8). */
void sl_cstp_write_header(uint8_t *h, uint8_t type, uint16_t len);
/* Push the header in front of p's payload (needs 8 bytes of headroom). 0, -ENOSPC, -EMSGSIZE. */
int sl_cstp_push(struct sl_pkt *p, uint8_t type);
/* Push the DTLS one-byte type header in front of p (in its headroom). 0 or -ENOSPC. */
int sl_cstp_dtls_push(struct sl_pkt *p, uint8_t type);
/* A name for logs ("DPD request"), "unknown" for others. */
const char *sl_cstp_type_name(uint8_t type);

#endif
