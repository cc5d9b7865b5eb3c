// SPDX-License-Identifier: MIT
/*
 * A UDP packet-rate probe for bench/bench.sh: iperf3 sends one datagram per
 * system call, which on this machine saturates its own core before a tunnel
 * does, so the sender here uses sendmmsg batches of 64.
 *
 *   pps recv ADDR PORT SECONDS       count datagrams for at most SECONDS, then print
 *                                    "recv packets=N seconds=S pps=R" (S: first to last packet)
 *   pps send ADDR PORT SECONDS LEN   send LEN-byte datagrams as fast as possible for SECONDS,
 *                                    then print "send packets=N seconds=S pps=R"
 *
 * The receiver stops at its deadline or one second after the last packet, whichever comes
 * first; each payload carries a sequence number so the receiver also reports how many it saw
 * out of the highest sent ("lost=N"). Only for addresses inside the bench's namespaces.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH	64
#define LEN_MAX 1472

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
	fprintf(stderr, "usage: pps recv ADDR PORT SECONDS | pps send ADDR PORT SECONDS LEN\n");
	return 2;
}

static int open_socket(const char *addr, const char *port, struct sockaddr_in *sin)
{
	int fd, buf = 4 << 20;

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)atoi(port));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1) {
		fprintf(stderr, "pps: '%s' is not an IPv4 address\n", addr);
		return -1;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("pps: socket");
		return -1;
	}
	/* Bigger queues so the measurement is the tunnel's rate, not a socket buffer's size. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	return fd;
}

static int do_recv(int fd, const struct sockaddr_in *sin, double seconds)
{
	static uint8_t bufs[BATCH][LEN_MAX + 1];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	unsigned long long packets = 0, highest = 0;
	double first = 0, last = 0, deadline = now_s() + seconds;

	if (bind(fd, (const struct sockaddr *)sin, sizeof(*sin)) < 0) {
		perror("pps: bind");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		double t = now_s();
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		double until = packets ? (last + 1.0 < deadline ? last + 1.0 : deadline) : deadline;
		int n;

		if (t >= until)
			break;
		if (poll(&pfd, 1, (int)((until - t) * 1000) + 1) <= 0)
			continue;
		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){bufs[i], sizeof(bufs[i])};
			msgs[i] =
				(struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
		}
		n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			continue;
		last = now_s();
		if (!packets)
			first = last;
		packets += (unsigned)n;
		for (int i = 0; i < n; i++) {
			unsigned long long seq;

			if (msgs[i].msg_len < sizeof(seq))
				continue;
			memcpy(&seq, bufs[i], sizeof(seq));
			if (seq > highest)
				highest = seq;
		}
	}
	printf("recv packets=%llu lost=%llu seconds=%.3f pps=%.0f\n", packets,
	       highest > packets ? highest - packets : 0, last - first,
	       last > first ? (double)packets / (last - first) : 0.0);
	return 0;
}

static int do_send(int fd, const struct sockaddr_in *sin, double seconds, size_t len)
{
	static uint8_t bufs[BATCH][LEN_MAX];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	unsigned long long seq = 0;
	double start = now_s(), end = start + seconds, t = start;

	if (len < sizeof(seq) || len > LEN_MAX) {
		fprintf(stderr, "pps: LEN must be %zu..%d\n", sizeof(seq), LEN_MAX);
		return 2;
	}
	if (connect(fd, (const struct sockaddr *)sin, sizeof(*sin)) < 0) {
		perror("pps: connect");
		return 1;
	}
	while ((t = now_s()) < end) {
		int n;

		for (int i = 0; i < BATCH; i++) {
			unsigned long long s = seq + (unsigned)i + 1;

			memcpy(bufs[i], &s, sizeof(s));
			iov[i] = (struct iovec){bufs[i], len};
			msgs[i] =
				(struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
		}
		n = sendmmsg(fd, msgs, BATCH, 0);
		if (n < 0 && errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED &&
		    errno != EINTR) {
			perror("pps: sendmmsg");
			return 1;
		}
		if (n > 0)
			seq += (unsigned)n;
	}
	printf("send packets=%llu seconds=%.3f pps=%.0f\n", seq, t - start,
	       (double)seq / (t - start));
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin;
	double seconds;
	int fd, r;

	if (argc < 5 || (strcmp(argv[1], "recv") && strcmp(argv[1], "send")))
		return usage();
	seconds = atof(argv[4]);
	if (seconds <= 0 || seconds > 60) {
		fprintf(stderr, "pps: SECONDS must be in (0, 60]\n");
		return 2;
	}
	fd = open_socket(argv[2], argv[3], &sin);
	if (fd < 0)
		return 1;
	if (!strcmp(argv[1], "recv"))
		r = do_recv(fd, &sin, seconds);
	else if (argc == 6)
		r = do_send(fd, &sin, seconds, (size_t)atoi(argv[5]));
	else
		r = usage();
	close(fd);
	return r;
}
