/* SPDX-License-Identifier: MIT */
/*
 * A packet buffer with room in front and behind, so every layer can add
 * its header and trailer in place:
 *
 *   | headroom ...... | data (IP packet) ............... | tailroom ..... |
 *   ^ buf             ^ data                             ^ data + len     ^ buf + cap
 *
 * Owned by one thread at a time (the worker that took it from its pool).
 */
#ifndef SL_CORE_PKT_H
#define SL_CORE_PKT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct sl_pkt {
	uint8_t *buf;	     /* start of storage (fixed) */
	uint8_t *data;	     /* first byte of the packet */
	uint32_t len;	     /* bytes from data */
	uint32_t cap;	     /* bytes of storage from buf */
	struct sl_pkt *next; /* free list / batch chaining, owner's use */
	uint32_t peer_id;    /* metadata set by the engine */
	uint16_t index;	     /* slot number in its pool */
	uint16_t flags;
};

static inline uint32_t sl_pkt_headroom(const struct sl_pkt *p)
{
	return (uint32_t)(p->data - p->buf);
}

static inline uint32_t sl_pkt_tailroom(const struct sl_pkt *p)
{
	return p->cap - sl_pkt_headroom(p) - p->len;
}

/* Grow the packet at the front by n bytes; returns the new start or NULL (no room). */
static inline uint8_t *sl_pkt_push(struct sl_pkt *p, uint32_t n)
{
	if (sl_pkt_headroom(p) < n)
		return NULL;
	p->data -= n;
	p->len += n;
	return p->data;
}

/* Remove n bytes from the front; returns the new start or NULL (packet shorter than n). */
static inline uint8_t *sl_pkt_pull(struct sl_pkt *p, uint32_t n)
{
	if (p->len < n)
		return NULL;
	p->data += n;
	p->len -= n;
	return p->data;
}

/* Grow the packet at the end by n bytes; returns a pointer to the added bytes or NULL. */
static inline uint8_t *sl_pkt_put(struct sl_pkt *p, uint32_t n)
{
	uint8_t *tail = p->data + p->len;

	if (sl_pkt_tailroom(p) < n)
		return NULL;
	p->len += n;
	return tail;
}

/* Remove n bytes from the end; returns 0 or -1 (packet shorter than n). */
static inline int sl_pkt_trim(struct sl_pkt *p, uint32_t n)
{
	if (p->len < n)
		return -1;
	p->len -= n;
	return 0;
}

/* Reset to an empty packet whose data starts headroom bytes into the buffer. */
static inline void sl_pkt_reset(struct sl_pkt *p, uint32_t headroom)
{
	p->data = p->buf + headroom;
	p->len = 0;
	p->flags = 0;
	p->next = NULL;
}

/* One's-complement addition of 64-bit words: the carry out of the top wraps to the bottom. */
static inline uint64_t sl_csum_add64(uint64_t a, uint64_t b)
{
	a += b;
	return a + (a < b);
}

#if defined(__x86_64__)
/*
 * acc plus the 64-bit words of the 64 (or 32) bytes at b, in one carry chain: each adc takes
 * its word from memory and the carry of the one before, so a 64-byte block is 9 instructions
 * (the C of sl_csum_add64 needs 3 per word). The "m" operand tells the compiler the asm reads
 * those bytes.
 */
static inline uint64_t sl_csum_block64(uint64_t acc, const uint8_t *b)
{
	__asm__("addq 0(%[b]), %[acc]\n\tadcq 8(%[b]), %[acc]\n\t"
		"adcq 16(%[b]), %[acc]\n\tadcq 24(%[b]), %[acc]\n\t"
		"adcq 32(%[b]), %[acc]\n\tadcq 40(%[b]), %[acc]\n\t"
		"adcq 48(%[b]), %[acc]\n\tadcq 56(%[b]), %[acc]\n\tadcq $0, %[acc]"
		: [acc] "+r"(acc)
		: [b] "r"(b), "m"(*(const uint8_t(*)[64])b)
		: "cc");
	return acc;
}

static inline uint64_t sl_csum_block32(uint64_t acc, const uint8_t *b)
{
	__asm__("addq 0(%[b]), %[acc]\n\tadcq 8(%[b]), %[acc]\n\t"
		"adcq 16(%[b]), %[acc]\n\tadcq 24(%[b]), %[acc]\n\tadcq $0, %[acc]"
		: [acc] "+r"(acc)
		: [b] "r"(b), "m"(*(const uint8_t(*)[32])b)
		: "cc");
	return acc;
}
#else
static inline uint64_t sl_csum_block32(uint64_t acc, const uint8_t *b)
{
	uint64_t w[4];

	memcpy(w, b, 32);
	for (int i = 0; i < 4; i++)
		acc = sl_csum_add64(acc, w[i]);
	return acc;
}

static inline uint64_t sl_csum_block64(uint64_t acc, const uint8_t *b)
{
	return sl_csum_block32(sl_csum_block32(acc, b), b + 32);
}
#endif

/*
 * Add bytes to a 32-bit running one's-complement sum of 16-bit big-endian words (RFC 1071).
 * b must start at an even offset of the checksummed data (an odd tail is padded with zero).
 * The one's-complement sum does not depend on byte order or word size (RFC 1071 2.B, 2.C),
 * so the bytes are summed as host-order 64-bit words with end-around carry, folded to 16
 * bits and swapped once at the end. 64 bytes per step: a 1400-byte segment is 21 steps.
 */
static inline uint32_t sl_csum_add(uint32_t sum, const uint8_t *b, size_t n)
{
	uint64_t acc = 0, w;
	uint32_t lo;
	uint16_t folded;

	for (; n >= 64; b += 64, n -= 64)
		acc = sl_csum_block64(acc, b);
	if (n >= 32) {
		acc = sl_csum_block32(acc, b);
		b += 32;
		n -= 32;
	}
	for (; n >= 8; b += 8, n -= 8) {
		memcpy(&w, b, 8);
		acc = sl_csum_add64(acc, w);
	}
	/* 2^16 - 1 divides 2^64 - 1: a word counts the same wherever it sits in acc's 64 bits. */
	if (n & 4) {
		uint32_t w32;

		memcpy(&w32, b, 4);
		acc = sl_csum_add64(acc, w32);
		b += 4;
	}
	if (n & 2) {
		uint16_t w16;

		memcpy(&w16, b, 2);
		acc = sl_csum_add64(acc, w16);
		b += 2;
	}
	if (n & 1) {
		/* The odd last byte is the high half of a word padded with 0, in memory order. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		acc = sl_csum_add64(acc, b[0]);
#else
		acc = sl_csum_add64(acc, (uint64_t)b[0] << 8);
#endif
	}
	/* 64 -> 32 bits with end-around carry, then two folds reach 16 bits. */
	lo = (uint32_t)acc + (uint32_t)(acc >> 32);
	lo += lo < (uint32_t)(acc >> 32);
	lo = (lo & 0xffff) + (lo >> 16);
	lo = (lo & 0xffff) + (lo >> 16);
	folded = (uint16_t)lo;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	folded = (uint16_t)(folded >> 8 | folded << 8);
#endif
	return sum + folded;
}

/*
 * The pseudo-header's sum (RFC 768, RFC 793; RFC 8200 8.1) of the IP packet
 * at ip (IPv4 when its version nibble says 4, else IPv6) for an L4 part of
 * l4_len bytes of protocol proto.
 */
static inline uint32_t sl_csum_pseudo(const uint8_t *ip, uint8_t proto, uint32_t l4_len)
{
	uint8_t tail[8] = {0};

	tail[0] = (uint8_t)(l4_len >> 24); /* bytes.h's helpers are not included here */
	tail[1] = (uint8_t)(l4_len >> 16);
	tail[2] = (uint8_t)(l4_len >> 8);
	tail[3] = (uint8_t)l4_len;
	tail[7] = proto;

	if (ip[0] >> 4 == 4)
		return sl_csum_add(sl_csum_add(0, ip + 12, 8), tail + 2, 6);
	return sl_csum_add(sl_csum_add(0, ip + 8, 32), tail, 8);
}

/* Fold a running sum to 16 bits (not complemented). */
static inline uint16_t sl_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/*
 * Finish a checksum left partial by the sender (virtio NEEDS_CSUM, the
 * kernel's CHECKSUM_PARTIAL): the 16-bit field at csum_start + csum_offset
 * holds the pseudo-header sum. Sum bytes [csum_start, len) seeded with it
 * (the field itself counted as zero) and store the complement; 0 becomes
 * 0xffff as in the kernel, which UDP needs (0 means "no checksum").
 * Returns 0, or -1 when the field lies outside the packet.
 */
static inline int sl_pkt_csum_complete(uint8_t *data, uint32_t len, uint32_t csum_start,
				       uint32_t csum_offset)
{
	uint8_t *field = data + csum_start + csum_offset;
	uint32_t seed;
	uint16_t csum;

	if (csum_start > len || csum_offset > len - csum_start ||
	    len - csum_start - csum_offset < 2)
		return -1;
	seed = (uint32_t)(field[0] << 8 | field[1]);
	field[0] = field[1] = 0;
	csum = (uint16_t)~sl_csum_fold(sl_csum_add(seed, data + csum_start, len - csum_start));
	if (csum == 0)
		csum = 0xffff;
	field[0] = (uint8_t)(csum >> 8);
	field[1] = (uint8_t)csum;
	return 0;
}

#endif
