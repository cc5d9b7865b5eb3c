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

struct sl_pkt {
	uint8_t *buf;	    /* start of storage (fixed) */
	uint8_t *data;	    /* first byte of the packet */
	uint32_t len;	    /* bytes from data */
	uint32_t cap;	    /* bytes of storage from buf */
	struct sl_pkt *next; /* free list / batch chaining, owner's use */
	uint32_t peer_id;   /* metadata set by the engine */
	uint16_t index;	    /* slot number in its pool */
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

#endif
