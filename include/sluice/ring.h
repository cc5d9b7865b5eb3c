/* SPDX-License-Identifier: MIT */
/*
 * The sluice packet ring: zero-copy packet I/O on a TUN device for other
 * programs (the API asked of Wintun for OpenConnect). Every packet comes
 * with head room in front and tail room behind, fixed when the ring is
 * opened, so a VPN can put its header and trailer around the packet in
 * place and never copy it.
 *
 *   receive:  p = sl_ring_receive(r, &len);  ... use p[-headroom .. len+tailroom) ...
 *             sl_ring_release(r, p);
 *   send:     p = sl_ring_alloc_send(r, &max);   (the largest packet the ring holds)
 *             ... write n <= max bytes at p ...
 *             sl_ring_shrink_last(r, n);          (now the real length is known)
 *             sl_ring_send(r, p);                 (writes to the device, frees the slot)
 *
 * Packets are pointers into the ring's buffers; they stay valid until
 * released or sent. A ring is used by one thread at a time.
 */
#ifndef SLUICE_RING_H
#define SLUICE_RING_H

#include <stddef.h>
#include <stdint.h>

struct sl_ring;

struct sl_ring_cfg {
	uint32_t headroom; /* bytes guaranteed before every packet */
	uint32_t tailroom; /* bytes guaranteed after the largest packet */
	uint32_t mtu;	   /* largest packet; 0 = 1500 */
	uint32_t packets;  /* buffers in the ring; 0 = 256 */
};

/*
 * Create (or attach to) TUN device ifname (IFF_TUN|IFF_NO_PI). Needs
 * CAP_NET_ADMIN unless the device exists and belongs to the caller.
 * Returns NULL with errno set.
 */
struct sl_ring *sl_ring_open(const char *ifname, const struct sl_ring_cfg *cfg);
/*
 * Use an already open packet fd (a TUN fd, or a SOCK_DGRAM/SEQPACKET socket);
 * it is made non-blocking and, on success, the ring owns it (closes it). On
 * failure (NULL, errno set) the fd stays the caller's.
 */
struct sl_ring *sl_ring_open_fd(int fd, const struct sl_ring_cfg *cfg);
void sl_ring_close(struct sl_ring *r);

/* For poll/epoll: readable when sl_ring_receive may return a packet. */
int sl_ring_fd(const struct sl_ring *r);
const char *sl_ring_ifname(const struct sl_ring *r);

/*
 * Next packet, or NULL with errno EAGAIN (nothing waiting), ENOBUFS (all
 * buffers in use), EMSGSIZE (a packet over mtu was read and dropped: call
 * again), EPIPE (read 0 bytes: the far end of a socket closed) or another.
 */
uint8_t *sl_ring_receive(struct sl_ring *r, uint32_t *len);
/* Give back a received (or unsent allocated) packet; errno EINVAL if it is not one. */
void sl_ring_release(struct sl_ring *r, uint8_t *packet);

/* A send buffer of the largest size (*max_len = mtu), or NULL with errno ENOBUFS. */
uint8_t *sl_ring_alloc_send(struct sl_ring *r, uint32_t *max_len);
/* Set the length of the most recent allocation (<= what was allocated). 0 or -EINVAL. */
int sl_ring_shrink_last(struct sl_ring *r, uint32_t len);
/*
 * Write the packet to the device and free its buffer (also on error). 0 or
 * -errno; -EINVAL (nothing freed) if packet is not one handed out by this ring.
 */
int sl_ring_send(struct sl_ring *r, uint8_t *packet);

uint32_t sl_ring_headroom(const struct sl_ring *r);
uint32_t sl_ring_tailroom(const struct sl_ring *r);

#endif
