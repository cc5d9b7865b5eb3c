/* SPDX-License-Identifier: MIT */
/*
 * IPv6 router discovery on a point-to-point link (RFC 4861 4.1, 4.2, 4.6.2,
 * 4.6.4; RFC 4862 5.5.3): recognise a peer's Router Solicitation and build
 * the Router Advertisement that answers it, so that a PPP peer whose IPV6CP
 * gave it only a link-local address (RFC 5072 5) configures a global one by
 * SLAAC from our prefix. Pure functions on buffers.
 *
 * A Router Advertisement as built (IPv6 header, ICMPv6, two options):
 *
 *   | IPv6: ver 6 | payload len | nh 58 | hop limit 255 | src fe80::ours | dst |
 *   | 134 | 0 | checksum | cur hop limit | M O 000000 | router lifetime (2) |
 *   | reachable time (4) | retrans timer (4) |
 *   | 3 | 4 | prefix len | L A 000000 | valid (4) | preferred (4) | 0 (4) | prefix (16) |
 *   | 5 | 1 | 0 (2) | MTU (4) |
 */
#ifndef SL_PROTO_ND_RA_H
#define SL_PROTO_ND_RA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_ND_RA_LEN (40 + 16 + 32 + 8) /* the most sl_nd_build_ra writes */

struct sl_nd_ra {
	uint8_t src[16];    /* our link-local address (RFC 4861 6.1.2: must be) */
	uint8_t dst[16];    /* ff02::1, or the soliciting address */
	uint8_t prefix[16]; /* on-link, autonomous (L and A set) */
	uint8_t prefix_len; /* 64 for SLAAC (RFC 4862 5.5.3 d) */
	uint32_t valid_s, preferred_s;
	uint16_t router_lifetime_s; /* 0: not a default router */
	uint32_t mtu;		    /* 0: no MTU option */
};

/*
 * Is ip[0..len) a Router Solicitation a router must take (RFC 4861 6.1.1):
 * IPv6, next header ICMPv6 (no extension headers), hop limit 255, type 133
 * code 0, at least 8 ICMP bytes, a correct checksum, options whose lengths
 * are non-zero and inside the packet, and no source link-layer address
 * option from the unspecified address. On true, *src is its source.
 */
bool sl_nd_router_solicit(const uint8_t *ip, size_t len, uint8_t src[16]);

/* Write the advertisement into buf; returns its length (SL_ND_RA_LEN) or -ENOSPC. */
int sl_nd_build_ra(const struct sl_nd_ra *ra, uint8_t *buf, size_t cap);

/* fe80::ifid */
void sl_nd_link_local(const uint8_t ifid[8], uint8_t out[16]);

#endif
