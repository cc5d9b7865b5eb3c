// SPDX-License-Identifier: MIT
/*
 * UDP sockets moved in batches: one recvmmsg fills up to 64 packet buffers
 * straight at their data pointers (head room stays free for in-place
 * decryption), one sendmmsg sends up to 64 sealed packets from where they
 * were sealed. No payload is copied here.
 */
#include "io/udp.h"

#include <errno.h>
#include <netinet/in.h>
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

int sl_udp_open(const struct sockaddr *addr, socklen_t len)
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
	if (bind(fd, addr, len) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
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

static socklen_t addr_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static void read_overflow(struct msghdr *mh, uint32_t *out)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL)
			memcpy(out, CMSG_DATA(c), sizeof(*out));
}

int sl_udp_recv_batch(int fd, struct sl_udp_batch *b, uint32_t n)
{
	struct mmsghdr msgs[SL_UDP_BATCH_MAX];
	struct iovec iov[SL_UDP_BATCH_MAX];
	/* Only the last datagram's counter is read: it is cumulative, so the newest one suffices.
	 */
	union {
		char buf[CMSG_SPACE(sizeof(uint32_t))];
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
	}
	b->n = (uint32_t)got;
	if (got > 0)
		read_overflow(&msgs[got - 1].msg_hdr, &b->rxq_dropped);
	return got;
}

int sl_udp_send_batch(int fd, struct sl_udp_batch *b)
{
	struct mmsghdr msgs[SL_UDP_BATCH_MAX];
	struct iovec iov[SL_UDP_BATCH_MAX];
	uint32_t sent = 0;

	for (uint32_t i = 0; i < b->n; i++) {
		iov[i].iov_base = b->pkts[i]->data;
		iov[i].iov_len = b->pkts[i]->len;
		msgs[i].msg_hdr = (struct msghdr){
			.msg_name = &b->addrs[i],
			.msg_namelen = addr_len(&b->addrs[i]),
			.msg_iov = &iov[i],
			.msg_iovlen = 1,
		};
	}
	uint32_t failed = 0;

	while (sent < b->n) {
		int r = sendmmsg(fd, msgs + sent, b->n - sent, MSG_DONTWAIT);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* This one datagram was refused (full buffer, unreachable...): skip it. */
			failed++;
			sent++;
			continue;
		}
		sent += (uint32_t)r;
	}
	return (int)failed;
}
