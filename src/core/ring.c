// SPDX-License-Identifier: MIT
/*
 * The public packet ring: a pool of packets plus one packet fd, a TUN queue
 * or any socket that keeps packet boundaries. Received and allocated
 * packets are handed out as their data pointer; the pool maps a pointer
 * back to its packet, so the caller never sees struct sl_pkt.
 */
#include "sluice/ring.h"
#include "core/pool.h"
#include "io/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define DEFAULT_MTU	1500
#define DEFAULT_PACKETS 256

struct sl_ring {
	struct sl_pool *pool;
	struct sl_pkt *last; /* latest sl_ring_alloc_send, until sent or released */
	int fd;
	uint32_t headroom;
	uint32_t tailroom;
	char ifname[IFNAMSIZ];
};

static int set_nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static struct sl_ring *ring_new(int fd, const struct sl_ring_cfg *cfg)
{
	struct sl_pool_cfg pc = {
		.count = cfg->packets ? cfg->packets : DEFAULT_PACKETS,
		.headroom = cfg->headroom,
		.mtu = cfg->mtu ? cfg->mtu : DEFAULT_MTU,
		.tailroom = cfg->tailroom,
	};
	struct sl_ring *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->pool = sl_pool_new(&pc);
	if (!r->pool) {
		int err = errno;

		free(r);
		errno = err;
		return NULL;
	}
	r->fd = fd;
	r->headroom = cfg->headroom;
	r->tailroom = cfg->tailroom;
	return r;
}

struct sl_ring *sl_ring_open_fd(int fd, const struct sl_ring_cfg *cfg)
{
	int err;

	if (fd < 0 || !cfg) {
		errno = fd < 0 ? EBADF : EINVAL;
		return NULL;
	}
	err = set_nonblocking(fd);
	if (err < 0) {
		errno = -err;
		return NULL;
	}
	return ring_new(fd, cfg);
}

/* The TUN is opened without a virtio header, so the pool needs no room for one. */
struct sl_ring *sl_ring_open(const char *ifname, const struct sl_ring_cfg *cfg)
{
	struct sl_tun tun;
	struct sl_ring *r;
	int err;

	if (!cfg) {
		errno = EINVAL;
		return NULL;
	}
	err = sl_tun_open(&tun, ifname, false, false);
	if (err < 0) {
		errno = -err;
		return NULL;
	}
	r = ring_new(tun.fd, cfg);
	if (!r) {
		err = errno;
		sl_tun_close(&tun);
		errno = err;
		return NULL;
	}
	memcpy(r->ifname, tun.name, sizeof(r->ifname));
	return r;
}

void sl_ring_close(struct sl_ring *r)
{
	if (!r)
		return;
	close(r->fd);
	sl_pool_free(r->pool);
	free(r);
}

int sl_ring_fd(const struct sl_ring *r)
{
	return r->fd;
}

const char *sl_ring_ifname(const struct sl_ring *r)
{
	return r->ifname;
}

uint32_t sl_ring_headroom(const struct sl_ring *r)
{
	return r->headroom;
}

uint32_t sl_ring_tailroom(const struct sl_ring *r)
{
	return r->tailroom;
}

/*
 * Read one packet of at most mtu bytes. A longer one spills into a scratch
 * byte instead of the tailroom, so it is seen as too big, not cut short.
 */
static ssize_t read_packet(struct sl_ring *r, struct sl_pkt *p)
{
	uint8_t spill;
	struct iovec iov[2] = {
		{.iov_base = p->data, .iov_len = sl_pool_mtu(r->pool)},
		{.iov_base = &spill, .iov_len = 1},
	};

	return readv(r->fd, iov, 2);
}

uint8_t *sl_ring_receive(struct sl_ring *r, uint32_t *len)
{
	struct sl_pkt *p = sl_pool_get(r->pool);
	ssize_t n;
	int err;

	if (!p) {
		errno = ENOBUFS;
		return NULL;
	}
	n = read_packet(r, p);
	if (n > 0 && (size_t)n <= sl_pool_mtu(r->pool)) {
		p->len = (uint32_t)n;
		*len = p->len;
		return p->data;
	}
	/* Too big (consumed, dropped), the peer gone (0), or a read error. */
	err = n > 0 ? EMSGSIZE : n == 0 ? EPIPE : errno;
	sl_pool_put(r->pool, p);
	errno = err;
	return NULL;
}

/* The packet whose data starts at ptr and is handed out, or NULL. */
static struct sl_pkt *handed_out(struct sl_ring *r, const uint8_t *ptr)
{
	struct sl_pkt *p = ptr ? sl_pool_pkt_of(r->pool, ptr) : NULL;

	if (!p || p->data != ptr || !sl_pool_in_use(r->pool, p))
		return NULL;
	return p;
}

static void give_back(struct sl_ring *r, struct sl_pkt *p)
{
	if (r->last == p)
		r->last = NULL;
	sl_pool_put(r->pool, p);
}

void sl_ring_release(struct sl_ring *r, uint8_t *packet)
{
	struct sl_pkt *p = handed_out(r, packet);

	if (!p) {
		errno = EINVAL;
		return;
	}
	give_back(r, p);
}

uint8_t *sl_ring_alloc_send(struct sl_ring *r, uint32_t *max_len)
{
	struct sl_pkt *p = sl_pool_get(r->pool);

	if (!p) {
		errno = ENOBUFS;
		return NULL;
	}
	p->len = sl_pool_mtu(r->pool);
	r->last = p;
	*max_len = p->len;
	return p->data;
}

int sl_ring_shrink_last(struct sl_ring *r, uint32_t len)
{
	if (!r->last || len > r->last->len)
		return -EINVAL;
	r->last->len = len;
	return 0;
}

int sl_ring_send(struct sl_ring *r, uint8_t *packet)
{
	struct sl_pkt *p = handed_out(r, packet);
	ssize_t n;
	int err;

	if (!p)
		return -EINVAL;
	n = write(r->fd, p->data, p->len);
	err = n < 0 ? -errno : (size_t)n == p->len ? 0 : -EIO;
	give_back(r, p);
	return err;
}
