// SPDX-License-Identifier: MIT
/*
 * TUN queue fds, one packet per read()/write().
 *
 * With IFF_VNET_HDR every packet is preceded by a struct virtio_net_hdr
 * (10 bytes, host byte order; protocols.md 6.1):
 *
 *   0        1          2          4          6            8             10
 *   +--------+----------+----------+----------+------------+-------------+------ - -
 *   | flags  | gso_type | hdr_len  | gso_size | csum_start | csum_offset | IP packet
 *   +--------+----------+----------+----------+------------+-------------+------ - -
 *
 * The header is read into the packet's headroom, so the IP packet lands
 * where it would without it. Without TUNSETOFFLOAD the kernel should send
 * neither GSO super-packets nor partial checksums; both are still handled,
 * as the header says they may come. With offloads (sl_tun_enable_offload)
 * reads may return 64 KiB super-packets: sl_tun_read_super.
 */
#include "io/tun.h"

#include "core/gso.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef TUN_F_USO4 /* Linux 6.2; Debian 12's headers are 6.1 */
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

_Static_assert(sizeof(struct virtio_net_hdr) == SL_VNET_HDR_LEN, "virtio_net_hdr is 10 bytes");

static int set_iff(int fd, const char *name, short flags, char out_name[IFNAMSIZ])
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = flags;
	if (name)
		memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return -errno;
	memcpy(out_name, ifr.ifr_name, IFNAMSIZ);
	out_name[IFNAMSIZ - 1] = '\0';
	return 0;
}

int sl_tun_open(struct sl_tun *t, const char *name, bool vnet_hdr, bool multi_queue)
{
	short flags = IFF_TUN | IFF_NO_PI | (multi_queue ? IFF_MULTI_QUEUE : 0);
	int fd, r = -EINVAL;

	t->fd = -1;
	t->vnet_hdr = false;
	t->offload = 0;
	t->name[0] = '\0';
	if (name && strlen(name) >= IFNAMSIZ)
		return -EINVAL;
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (vnet_hdr) {
		r = set_iff(fd, name, flags | IFF_VNET_HDR, t->name);
		t->vnet_hdr = r == 0;
	}
	if (r == -EINVAL)
		r = set_iff(fd, name, flags, t->name);
	if (r < 0) {
		close(fd);
		return r;
	}
	t->fd = fd;
	return 0;
}

void sl_tun_close(struct sl_tun *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

int sl_tun_enable_offload(struct sl_tun *t)
{
	static const unsigned tries[] = {
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6,
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6,
		TUN_F_CSUM,
	};
	int err = -EINVAL;

	t->offload = 0;
	if (!t->vnet_hdr)
		return -EINVAL;
	/* Older kernels refuse unknown bits with EINVAL: step down to what they have. */
	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		if (ioctl(t->fd, TUNSETOFFLOAD, tries[i]) == 0) {
			t->offload = tries[i];
			return 0;
		}
		err = -errno;
	}
	return err;
}

static int finish_vnet_read(struct sl_pkt *p, const struct virtio_net_hdr *h)
{
	if (h->gso_type != VIRTIO_NET_HDR_GSO_NONE)
		return -EMSGSIZE;
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM &&
	    sl_pkt_csum_complete(p->data, p->len, h->csum_start, h->csum_offset) < 0)
		return -EBADMSG;
	return (int)p->len;
}

static int read_vnet(struct sl_tun *t, struct sl_pkt *p, uint32_t room)
{
	struct virtio_net_hdr h;
	ssize_t n;

	if (sl_pkt_headroom(p) < SL_VNET_HDR_LEN)
		return -EINVAL;
	n = read(t->fd, p->data - SL_VNET_HDR_LEN, SL_VNET_HDR_LEN + room);
	if (n < 0)
		return -errno;
	if (n < SL_VNET_HDR_LEN)
		return -EBADMSG;
	memcpy(&h, p->data - SL_VNET_HDR_LEN, sizeof(h));
	p->len = (uint32_t)n - SL_VNET_HDR_LEN;
	return finish_vnet_read(p, &h);
}

int sl_tun_read_super(struct sl_tun *t, struct sl_pkt *p, uint8_t *big, uint32_t big_cap,
		      struct sl_gso *g)
{
	uint32_t room = p->cap - sl_pkt_headroom(p);
	struct virtio_net_hdr h;
	struct iovec iov[2];
	uint8_t *pkt;
	ssize_t n;

	if (!t->vnet_hdr || sl_pkt_headroom(p) < SL_VNET_HDR_LEN || big_cap <= room)
		return -EINVAL;
	iov[0] = (struct iovec){p->data - SL_VNET_HDR_LEN, SL_VNET_HDR_LEN + room};
	iov[1] = (struct iovec){big + room, big_cap - room};
	n = readv(t->fd, iov, 2);
	if (n < 0)
		return -errno;
	if (n < SL_VNET_HDR_LEN)
		return -EBADMSG;
	memcpy(&h, p->data - SL_VNET_HDR_LEN, sizeof(h));
	p->len = (uint32_t)n - SL_VNET_HDR_LEN;
	if (p->len == big_cap)
		return -EMSGSIZE; /* may have been cut */
	if (h.gso_type == VIRTIO_NET_HDR_GSO_NONE) {
		if (p->len > room)
			return -EMSGSIZE;
		return finish_vnet_read(p, &h) < 0 ? -EBADMSG : 0;
	}
	pkt = p->data;
	if (p->len > room) {
		memcpy(big, p->data, room);
		pkt = big;
	}
	if (sl_gso_init(g, pkt, p->len, h.gso_type, h.gso_size, h.csum_start, h.csum_offset) < 0)
		return -EINVAL;
	g->tail_room = (pkt == big ? big_cap : room) - p->len;
	return 1;
}

/*
 * All the room after data is offered to the kernel, tailroom included: a TUN
 * read cuts a longer packet silently, so it is better to read it whole and
 * let the caller compare the length with its MTU.
 */
int sl_tun_read(struct sl_tun *t, struct sl_pkt *p)
{
	uint32_t room = p->cap - sl_pkt_headroom(p);
	ssize_t n;

	if (t->vnet_hdr)
		return read_vnet(t, p, room);
	n = read(t->fd, p->data, room);
	if (n < 0)
		return -errno;
	p->len = (uint32_t)n;
	return (int)n;
}

int sl_tun_frame(const struct sl_tun *t, struct sl_pkt *p)
{
	uint8_t *h;

	if (!t->vnet_hdr)
		return 0;
	h = sl_pkt_push(p, SL_VNET_HDR_LEN);
	if (!h)
		return -EINVAL;
	memset(h, 0, SL_VNET_HDR_LEN); /* no offload: flags 0, GSO_NONE */
	return 0;
}

void sl_tun_unframe(const struct sl_tun *t, struct sl_pkt *p)
{
	if (t->vnet_hdr)
		sl_pkt_pull(p, SL_VNET_HDR_LEN);
}

int sl_tun_write(struct sl_tun *t, struct sl_pkt *p)
{
	uint32_t len;
	ssize_t n;

	if (sl_tun_frame(t, p) < 0)
		return -EINVAL;
	len = p->len;
	n = write(t->fd, p->data, len);
	sl_tun_unframe(t, p);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}
