// SPDX-License-Identifier: MIT
/*
 * UDP sockets moved in batches: one recvmmsg fills up to 64 packet buffers
 * straight at their data pointers (head room stays free for in-place
 * decryption), one sendmmsg sends up to 64 sealed packets from where they
 * were sealed. No payload is copied here.
 */
#include "io/udp.h"

#include "core/sockaddr.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Ask for large socket buffers; the kernel caps them at rmem_max/wmem_max. */
static void set_buffers(int fd)
{
	int size = 4 << 20;

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

static int udp_open(const struct sockaddr *addr, socklen_t len, bool reuseport)
{
	int one = 1;
	int fd = socket(addr->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (addr->sa_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	set_buffers(fd);
	/* Have the kernel tell us how many datagrams it dropped for a full queue: no silent loss.
	 */
	(void)setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	if ((reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) ||
	    bind(fd, addr, len) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int sl_udp_open(const struct sockaddr *addr, socklen_t len)
{
	return udp_open(addr, len, false);
}

int sl_udp_open_reuseport(const struct sockaddr *addr, socklen_t len)
{
	return udp_open(addr, len, true);
}

uint16_t sl_udp_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

int sl_udp_enable_gro(int fd)
{
	int one = 1;

	return setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) < 0 ? -errno : 0;
}

static void read_cmsgs(struct msghdr *mh, uint32_t *overflow, uint16_t *seg)
{
	*seg = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL)
			memcpy(overflow, CMSG_DATA(c), sizeof(*overflow));
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
			int v; /* the kernel writes an int */

			memcpy(&v, CMSG_DATA(c), sizeof(v));
			*seg = v > 0 && v <= UINT16_MAX ? (uint16_t)v : 0;
		}
	}
}

int sl_udp_recv_batch(int fd, struct sl_udp_batch *b, uint32_t n)
{
	struct mmsghdr msgs[SL_UDP_BATCH_MAX];
	struct iovec iov[SL_UDP_BATCH_MAX];
	/* The overflow counter is cumulative, so the newest datagram's suffices. */
	union {
		char buf[CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl[SL_UDP_BATCH_MAX];
	int got;

	if (n > SL_UDP_BATCH_MAX)
		n = SL_UDP_BATCH_MAX;
	for (uint32_t i = 0; i < n; i++) {
		struct sl_pkt *p = b->pkts[i];

		iov[i].iov_base = p->data;
		iov[i].iov_len = p->len + sl_pkt_tailroom(p);
		msgs[i].msg_hdr = (struct msghdr){
			.msg_name = &b->addrs[i],
			.msg_namelen = sizeof(b->addrs[i]),
			.msg_iov = &iov[i],
			.msg_iovlen = 1,
			.msg_control = ctl[i].buf,
			.msg_controllen = sizeof(ctl[i].buf),
		};
		msgs[i].msg_len = 0;
	}
	do {
		got = recvmmsg(fd, msgs, n, MSG_DONTWAIT, NULL);
	} while (got < 0 && errno == EINTR);
	if (got < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	for (int i = 0; i < got; i++) {
		/* A datagram larger than the buffer is cut; flag it so the caller drops it as
		 * toobig. */
		b->pkts[i]->len = msgs[i].msg_len;
		b->pkts[i]->flags =
			(msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? SL_UDP_F_TRUNCATED : 0;
		read_cmsgs(&msgs[i].msg_hdr, &b->rxq_dropped, &b->seg[i]);
	}
	b->n = (uint32_t)got;
	return got;
}

/* How many datagrams from i on can leave in one GSO send (1: send it alone). */
static uint32_t gso_run(const struct sl_udp_batch *b, uint32_t i)
{
	uint32_t seg = b->pkts[i]->len, total = seg, j = i + 1;

	if (b->gso_seg_max && seg >= b->gso_seg_max)
		return 1;
	while (j < b->n && j - i < SL_UDP_GSO_SEGS_MAX &&
	       sl_sockaddr_same(&b->addrs[i], &b->addrs[j])) {
		uint32_t len = b->pkts[j]->len;

		if (len > seg || len == 0 || total + len > SL_UDP_GSO_BYTES_MAX)
			break;
		total += len;
		j++;
		if (len < seg)
			break; /* only the last segment may be shorter */
	}
	return j - i;
}

union gso_cmsg {
	char buf[CMSG_SPACE(sizeof(uint16_t))];
	struct cmsghdr align;
};

/* One mmsghdr per run; runs[k] = datagrams in message k. Returns the number of messages. */
static uint32_t build_msgs(struct sl_udp_batch *b, uint32_t from, bool gso, struct mmsghdr *msgs,
			   struct iovec *iov, union gso_cmsg *ctl, uint32_t *runs)
{
	uint32_t m = 0;

	for (uint32_t i = from; i < b->n; m++) {
		uint32_t run = gso ? gso_run(b, i) : 1;

		for (uint32_t k = 0; k < run; k++)
			iov[i + k] = (struct iovec){b->pkts[i + k]->data, b->pkts[i + k]->len};
		msgs[m].msg_hdr = (struct msghdr){
			.msg_name = &b->addrs[i],
			.msg_namelen = sl_sockaddr_len(&b->addrs[i]),
			.msg_iov = &iov[i],
			.msg_iovlen = run,
		};
		if (run > 1) {
			struct cmsghdr *c = &ctl[m].align;
			uint16_t seg = (uint16_t)b->pkts[i]->len;

			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(seg));
			memcpy(CMSG_DATA(c), &seg, sizeof(seg));
			msgs[m].msg_hdr.msg_control = ctl[m].buf;
			msgs[m].msg_hdr.msg_controllen = sizeof(ctl[m].buf);
		}
		runs[m] = run;
		i += run;
	}
	return m;
}

int sl_udp_send_batch(int fd, struct sl_udp_batch *b)
{
	struct mmsghdr msgs[SL_UDP_BATCH_MAX];
	struct iovec iov[SL_UDP_BATCH_MAX];
	union gso_cmsg ctl[SL_UDP_BATCH_MAX];
	uint32_t runs[SL_UDP_BATCH_MAX];
	uint32_t failed = 0, done = 0; /* datagrams */
	uint32_t m = build_msgs(b, 0, b->gso, msgs, iov, ctl, runs), k = 0;

	while (k < m) {
		int r = sendmmsg(fd, msgs + k, m - k, MSG_DONTWAIT);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EIO && runs[k] > 1) {
			/* The egress device cannot checksum GSO segments: send them one by one. */
			b->gso = false;
			m = build_msgs(b, done, false, msgs, iov, ctl, runs);
			k = 0;
			continue;
		}
		if (r < 0 && errno == EMSGSIZE && runs[k] > 1) {
			/* Segments beyond the path MTU (OpenVPN's 1500-byte tun-mtu plus its header
			 * on a 1500-byte link): from now on, datagrams this long leave one by one.
			 */
			b->gso_seg_max = b->pkts[done]->len;
			m = build_msgs(b, done, true, msgs, iov, ctl, runs);
			k = 0;
			continue;
		}
		if (r < 0) {
			/* This message was refused (full buffer, unreachable...): skip it. */
			failed += runs[k];
			done += runs[k++];
			continue;
		}
		for (int i = 0; i < r; i++)
			done += runs[k++];
	}
	return (int)failed;
}
