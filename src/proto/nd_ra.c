// SPDX-License-Identifier: MIT
/* Router Solicitation in, Router Advertisement out (RFC 4861), for a point-to-point link. */
#include "proto/nd_ra.h"

#include "core/bytes.h"
#include "core/pkt.h"

#include <errno.h>
#include <string.h>

#define IP6_HLEN    40
#define NH_ICMP6    58
#define ND_HOPLIMIT 255
#define ND_RS	    133
#define ND_RA	    134
#define OPT_SLLA    1
#define OPT_PREFIX  3
#define OPT_MTU	    5

static uint16_t icmp6_sum(const uint8_t *ip, uint32_t icmp_len)
{
	uint32_t sum = sl_csum_pseudo(ip, NH_ICMP6, icmp_len);

	return sl_csum_fold(sl_csum_add(sum, ip + IP6_HLEN, icmp_len));
}

static bool options_valid(const uint8_t *o, size_t n, bool unspecified_src)
{
	while (n) {
		size_t olen;

		if (n < 2 || o[1] == 0)
			return false; /* RFC 4861 4.6: a zero length is invalid */
		olen = (size_t)o[1] * 8;
		if (olen > n)
			return false;
		if (o[0] == OPT_SLLA && unspecified_src)
			return false; /* RFC 4861 6.1.1 */
		o += olen;
		n -= olen;
	}
	return true;
}

bool sl_nd_router_solicit(const uint8_t *ip, size_t len, uint8_t src[16])
{
	static const uint8_t unspecified[16];
	size_t plen;

	if (len < IP6_HLEN + 8 || ip[0] >> 4 != 6 || ip[6] != NH_ICMP6 || ip[7] != ND_HOPLIMIT)
		return false;
	plen = sl_get_be16(ip + 4);
	if (plen < 8 || plen > len - IP6_HLEN)
		return false;
	if (ip[IP6_HLEN] != ND_RS || ip[IP6_HLEN + 1] != 0)
		return false;
	if (icmp6_sum(ip, (uint32_t)plen) != 0xffff)
		return false;
	if (!options_valid(ip + IP6_HLEN + 8, plen - 8, !memcmp(ip + 8, unspecified, 16)))
		return false;
	memcpy(src, ip + 8, 16);
	return true;
}

int sl_nd_build_ra(const struct sl_nd_ra *ra, uint8_t *buf, size_t cap)
{
	uint8_t *icmp = buf + IP6_HLEN, *o;
	uint32_t icmp_len = SL_ND_RA_LEN - IP6_HLEN;

	if (cap < SL_ND_RA_LEN)
		return -ENOSPC;
	memset(buf, 0, SL_ND_RA_LEN);
	buf[0] = 0x60;
	sl_put_be16(buf + 4, (uint16_t)icmp_len);
	buf[6] = NH_ICMP6;
	buf[7] = ND_HOPLIMIT;
	memcpy(buf + 8, ra->src, 16);
	memcpy(buf + 24, ra->dst, 16);

	icmp[0] = ND_RA;
	icmp[4] = 64; /* Cur Hop Limit for the host's packets */
	/* M and O clear: addresses by SLAAC only, there is no DHCPv6 here */
	sl_put_be16(icmp + 6, ra->router_lifetime_s);

	o = icmp + 16;
	o[0] = OPT_PREFIX;
	o[1] = 4;
	o[2] = ra->prefix_len;
	o[3] = 0xc0; /* L: on-link, A: autonomous address configuration */
	sl_put_be32(o + 4, ra->valid_s);
	sl_put_be32(o + 8, ra->preferred_s);
	memcpy(o + 16, ra->prefix, 16);

	o += 32;
	if (ra->mtu) {
		o[0] = OPT_MTU;
		o[1] = 1;
		sl_put_be32(o + 4, ra->mtu);
	} else {
		icmp_len -= 8;
		sl_put_be16(buf + 4, (uint16_t)icmp_len);
	}
	sl_put_be16(icmp + 2, (uint16_t)~icmp6_sum(buf, icmp_len));
	return (int)(IP6_HLEN + icmp_len);
}

void sl_nd_link_local(const uint8_t ifid[8], uint8_t out[16])
{
	memset(out, 0, 8);
	out[0] = 0xfe;
	out[1] = 0x80;
	memcpy(out + 8, ifid, 8);
}
