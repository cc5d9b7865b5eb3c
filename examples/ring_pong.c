// SPDX-License-Identifier: MIT
/*
 * ring_pong IFNAME ADDR4 [N]: answer pings through the sluice packet ring.
 *
 * Creates TUN device IFNAME with address ADDR4/24 and answers ICMP echo
 * requests (RFC 792) sent to any other host of that /24, as if it were
 * there. Exits on SIGINT/SIGTERM, or after N replies.
 *
 * How it uses the ring API (include/sluice/ring.h):
 *  - sl_ring_open with 64 bytes of head room and 32 of tail room: where a
 *    VPN would put its header and trailer around each packet, in place.
 *  - ppoll() on sl_ring_fd, then sl_ring_receive until errno is EAGAIN.
 *  - per request, sl_ring_alloc_send hands out a buffer of the largest
 *    size, the reply is built in it, sl_ring_shrink_last tells its real
 *    length, and sl_ring_send writes it to the device and frees the buffer.
 *  - sl_ring_release gives the request's buffer back.
 * The device is set up with the library's netlink helpers (io/tun.h).
 */
#include "io/tun.h"
#include "sluice/ring.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

/* RFC 1071 Internet checksum, stored big-endian at out. */
static void put_csum(uint8_t *out, const uint8_t *p, size_t n)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	out[0] = (uint8_t)(~sum >> 8);
	out[1] = (uint8_t)~sum;
}

/* Length of an unfragmented IPv4 echo request to another host of self's /24, else 0. */
static uint32_t echo_request_len(const uint8_t *ip, uint32_t len, const uint8_t self[4])
{
	uint32_t ihl, total;

	if (len < 20 || ip[0] >> 4 != 4)
		return 0;
	ihl = (ip[0] & 15) * 4u;
	total = (uint32_t)(ip[2] << 8 | ip[3]);
	if (ihl < 20 || total > len || total < ihl + 8 || ip[9] != IPPROTO_ICMP)
		return 0;
	if ((ip[6] & 0x3f) || ip[7] || memcmp(ip + 16, self, 3) || ip[19] == self[3])
		return 0;
	return ip[ihl] == 8 && ip[ihl + 1] == 0 ? total : 0;
}

/* The reply: addresses swapped (it comes from the pinged address), type 0 (echo reply). */
static void build_reply(uint8_t *out, const uint8_t *req, uint32_t len)
{
	uint32_t ihl = (req[0] & 15) * 4u;

	memcpy(out, req, len);
	memcpy(out + 12, req + 16, 4);
	memcpy(out + 16, req + 12, 4);
	out[8] = 64; /* TTL */
	memset(out + 10, 0, 2);
	put_csum(out + 10, out, ihl);
	out[ihl] = 0;
	memset(out + ihl + 2, 0, 2);
	put_csum(out + ihl + 2, out + ihl, len - ihl);
}

static int answer(struct sl_ring *r, const uint8_t *req, uint32_t len)
{
	uint32_t max;
	uint8_t *out = sl_ring_alloc_send(r, &max);

	if (!out)
		return -errno;
	build_reply(out, req, len); /* len <= max: the request came through the same ring */
	sl_ring_shrink_last(r, len);
	return sl_ring_send(r, out);
}

/* Handle every waiting packet; returns the replies sent, or -1 on a ring error. */
static int drain(struct sl_ring *r, const uint8_t self[4])
{
	int replies = 0;

	for (;;) {
		uint32_t len, req_len;
		uint8_t *pkt = sl_ring_receive(r, &len);

		if (!pkt && errno == EAGAIN)
			return replies;
		if (!pkt && errno == EMSGSIZE)
			continue; /* too big for the ring: dropped, read on */
		if (!pkt)
			return -1;
		req_len = echo_request_len(pkt, len, self);
		if (req_len && answer(r, pkt, req_len) == 0)
			replies++;
		sl_ring_release(r, pkt);
	}
}

int main(int argc, char **argv)
{
	struct sl_ring_cfg cfg = {.headroom = 64, .tailroom = 32};
	struct sigaction sa = {.sa_handler = on_signal};
	sigset_t stop_signals, wait_mask;
	long limit = argc > 3 ? atol(argv[3]) : 0, done = 0;
	struct sl_ring *r;
	uint8_t self[4];
	int err;

	if (argc < 3 || inet_pton(AF_INET, argv[2], self) != 1) {
		fprintf(stderr, "usage: ring_pong IFNAME ADDR4 [REPLIES]\n");
		return 2;
	}
	r = sl_ring_open(argv[1], &cfg);
	if (!r) {
		fprintf(stderr, "ring_pong: open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	err = sl_link_set_up(sl_ring_ifname(r), 1500);
	if (!err)
		err = sl_link_addr_add(sl_ring_ifname(r), AF_INET, self, 24);
	if (err) {
		fprintf(stderr, "ring_pong: set up %s: %s\n", sl_ring_ifname(r), strerror(-err));
		sl_ring_close(r);
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* Signals stay blocked except inside ppoll, so a stop never slips in before the wait. */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop_signals, &wait_mask);
	while (!stop && (limit <= 0 || done < limit)) {
		struct pollfd pfd = {.fd = sl_ring_fd(r), .events = POLLIN};
		int replies;

		if (ppoll(&pfd, 1, NULL, &wait_mask) < 0 && errno != EINTR)
			break;
		replies = drain(r, self);
		if (replies < 0)
			break;
		done += replies;
	}
	sl_ring_close(r);
	return stop || (limit > 0 && done >= limit) ? 0 : 1;
}
