/* SPDX-License-Identifier: MIT */
/*
 * PPP (RFC 1661) frames and the control packets of LCP, IPCP (RFC 1332,
 * RFC 1877) and IPV6CP (RFC 5072). Pure functions on buffers.
 *
 * A frame, once un-framed (hdlc.h) or as sent over a packet transport:
 *
 *   | FF 03 (address, control; absent after ACFC) | protocol (2, or 1 after PFC) | information |
 *
 * A control packet (the information of LCP/IPCP/IPV6CP):
 *
 *   | code (1) | id (1) | length (2, whole packet) | data: options (type, len incl. 2, value)... |
 */
#ifndef SL_PROTO_PPP_H
#define SL_PROTO_PPP_H

#include "core/pkt.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_PPP_IPV4   0x0021
#define SL_PPP_IPV6   0x0057
#define SL_PPP_LCP    0xc021
#define SL_PPP_IPCP   0x8021
#define SL_PPP_IPV6CP 0x8057
#define SL_PPP_CCP    0x80fd

#define SL_PPP_HDR_MAX 4 /* FF 03 + two protocol bytes: the headroom a frame needs */

enum sl_ppp_code {
	SL_PPP_CONF_REQ = 1,
	SL_PPP_CONF_ACK = 2,
	SL_PPP_CONF_NAK = 3,
	SL_PPP_CONF_REJ = 4,
	SL_PPP_TERM_REQ = 5,
	SL_PPP_TERM_ACK = 6,
	SL_PPP_CODE_REJ = 7,
	SL_PPP_PROTO_REJ = 8, /* LCP only, as are the three below */
	SL_PPP_ECHO_REQ = 9,
	SL_PPP_ECHO_REP = 10,
	SL_PPP_DISCARD_REQ = 11,
};

/* LCP options (RFC 1661 6, RFC 1662 7.1) */
#define SL_LCP_MRU   1
#define SL_LCP_ACCM  2
#define SL_LCP_AUTH  3
#define SL_LCP_MAGIC 5
#define SL_LCP_PFC   7
#define SL_LCP_ACFC  8
/* IPCP options */
#define SL_IPCP_ADDRS 1 /* deprecated IP-Addresses */
#define SL_IPCP_COMP  2
#define SL_IPCP_ADDR  3
#define SL_IPCP_DNS1  129
#define SL_IPCP_NBNS1 130
#define SL_IPCP_DNS2  131
#define SL_IPCP_NBNS2 132
/* IPV6CP options */
#define SL_IPV6CP_IFID 1

/*
 * The protocol of frame b[0..n): the FF 03 prefix is skipped if there, the
 * protocol read in one byte when its low bit says it is the last (PFC).
 * Returns the header length (1..4) or -EBADMSG (truncated, or a protocol
 * whose last byte is even: RFC 1661 2).
 */
int sl_ppp_header_parse(const uint8_t *b, size_t n, uint16_t *proto);
/* Header length for proto when the peer accepted ACFC / PFC (never for LCP). */
size_t sl_ppp_header_len(uint16_t proto, bool acfc, bool pfc);
/* Push the header in front of p (needs sl_ppp_header_len of headroom). 0 or -ENOSPC. */
int sl_ppp_push_header(struct sl_pkt *p, uint16_t proto, bool acfc, bool pfc);

struct sl_ppp_cp {
	uint8_t code, id;
	const uint8_t *data; /* after the 4-byte header */
	size_t len;	     /* data bytes, per the length field */
};

/* Parse a control packet; bytes after its length are padding. 0 or -EBADMSG. */
int sl_ppp_cp_parse(const uint8_t *b, size_t n, struct sl_ppp_cp *out);

struct sl_ppp_opt {
	uint8_t type;
	uint8_t len;	      /* value bytes (the option's length field minus 2) */
	const uint8_t *value; /* the option starts at value - 2 */
};

/*
 * Next option of data[0..len) from *off (start at 0). Returns 1 (one option
 * in *o, *off moved on), 0 (no more) or -EBADMSG (an option length < 2 or
 * beyond the end).
 */
int sl_ppp_opt_next(const uint8_t *data, size_t len, size_t *off, struct sl_ppp_opt *o);

/* Builds one control packet into a caller's buffer; overflow is sticky and checked at the end. */
struct sl_ppp_builder {
	uint8_t *buf;
	size_t cap, len;
	bool overflow;
};

void sl_ppp_build_begin(struct sl_ppp_builder *b, uint8_t *buf, size_t cap, uint8_t code,
			uint8_t id);
/* Append raw data bytes (an option copied whole, an echo's magic...). */
void sl_ppp_build_bytes(struct sl_ppp_builder *b, const void *data, size_t len);
void sl_ppp_build_opt(struct sl_ppp_builder *b, uint8_t type, const void *value, uint8_t len);
/* Write the length field; returns the packet length or -ENOSPC. */
int sl_ppp_build_end(struct sl_ppp_builder *b);

#endif
