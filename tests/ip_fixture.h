/* SPDX-License-Identifier: MIT */
/* Shared by test_gso and test_gro: a byte-wise checksum reference and a TCP super-packet. */
#ifndef SL_TESTS_IP_FIXTURE_H
#define SL_TESTS_IP_FIXTURE_H

#include "core/bytes.h"

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The dumb reference: 16-bit big-endian words, one at a time. */
static inline uint32_t ref_sum(uint32_t sum, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sum += (i & 1) ? b[i] : (uint32_t)b[i] << 8;
	return sum;
}

static inline uint16_t ref_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

#define PAYLOAD 3500
#define MSS	1000

/* An IPv4 TCP super-packet as the kernel hands it over: totals for the whole, csum partial. */
static inline uint32_t make_tcp4(uint8_t *p, uint8_t flags)
{
	uint32_t len = 20 + 32 + PAYLOAD;

	memset(p, 0, 52);
	p[0] = 0x45;
	sl_put_be16(p + 2, (uint16_t)len);
	sl_put_be16(p + 4, 0x1234);
	p[6] = 0x40; /* DF */
	p[8] = 64;
	p[9] = IPPROTO_TCP;
	memcpy(p + 12, (uint8_t[]){198, 19, 0, 1, 198, 19, 0, 2}, 8);
	sl_put_be16(p + 20, 40000);
	sl_put_be16(p + 22, 5201);
	sl_put_be32(p + 24, 0xfffffc00u); /* wraps inside the packet */
	sl_put_be32(p + 28, 77);
	p[32] = 8 << 4; /* data offset 32: timestamps */
	p[33] = flags;
	sl_put_be16(p + 34, 512);
	memcpy(p + 40, (uint8_t[]){1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}, 12);
	for (uint32_t i = 0; i < PAYLOAD; i++)
		p[52 + i] = (uint8_t)(i * 7 + 3);
	return len;
}

/* An IPv6 UDP super-packet (USO): 3500 bytes of payload. */
static inline uint32_t make_udp6(uint8_t *p)
{
	uint32_t len = 40 + 8 + PAYLOAD;

	memset(p, 0, 48);
	p[0] = 0x60;
	sl_put_be16(p + 4, (uint16_t)(len - 40));
	p[6] = IPPROTO_UDP;
	p[7] = 64;
	p[8] = 0x20, p[9] = 0x01, p[10] = 0x0d, p[11] = 0xb8, p[23] = 1;
	p[24] = 0x20, p[25] = 0x01, p[26] = 0x0d, p[27] = 0xb8, p[39] = 2;
	sl_put_be16(p + 40, 5000);
	sl_put_be16(p + 42, 5001);
	sl_put_be16(p + 44, (uint16_t)(len - 40));
	for (uint32_t i = 0; i < PAYLOAD; i++)
		p[48 + i] = (uint8_t)(i * 13 + 1);
	return len;
}

#endif
