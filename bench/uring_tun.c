// SPDX-License-Identifier: MIT
/*
 * TUN write cost, write() per packet against io_uring batches (src/io/tun_uring.c):
 * N 64-byte IPv4/UDP packets into a TUN device, in a private network namespace
 * (run under `unshare -n`; the packets go to 198.18.0.2 inside it, port 9, and
 * are dropped there). Prints ns/packet (wall and CPU) and syscalls/packet for each.
 *
 *   uring_tun [packets] [batch]
 */
#include "io/tun.h"
#include "io/tun_uring.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HEADROOM 64
#define CAP	 2048
#define MAXB	 256

static uint8_t mem[MAXB][CAP];
static struct sl_pkt pk[MAXB];

static const uint8_t udp4[] = {
	0x45, 0x00, 0x00, 0x40, 0x00, 0x01, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc6, 0x12,
	0x00, 0x01, 0xc6, 0x12, 0x00, 0x02, 0x9c, 0x40, 0x00, 0x09, 0x00, 0x2c, 0x00, 0x00,
};

static double now(clockid_t c)
{
	struct timespec t;

	clock_gettime(c, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static void fill(struct sl_pkt *p)
{
	sl_pkt_reset(p, HEADROOM);
	uint8_t *d = sl_pkt_put(p, 64);
	uint32_t s = 0;

	memset(d, 'x', 64);
	memcpy(d, udp4, sizeof(udp4));
	for (int i = 0; i < 20; i += 2)
		s += (uint32_t)(d[i] << 8 | d[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	d[10] = (uint8_t)(~s >> 8);
	d[11] = (uint8_t)~s;
}

static void report(const char *what, long n, double wall, double cpu, double sys)
{
	printf("%-10s %8.0f ns/pkt wall %8.0f ns/pkt cpu  %.3f syscalls/pkt\n", what, wall / n,
	       cpu / n, sys / n);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	int batch = argc > 2 ? atoi(argv[2]) : 64;
	struct sl_tun t;
	struct sl_uring *u;
	int r;

	if (batch < 1 || batch > MAXB)
		batch = 64;
	if ((r = sl_tun_open(&t, "urbench0", false, false)) < 0 ||
	    (r = sl_link_set_up("urbench0", 1400)) < 0 ||
	    (r = sl_link_addr_add("urbench0", AF_INET, (const uint8_t[]){198, 18, 0, 2}, 24)) < 0) {
		fprintf(stderr, "uring_tun: TUN set-up: %s (run as root under unshare -n)\n",
			strerror(-r));
		return 1;
	}
	for (int i = 0; i < MAXB; i++) {
		pk[i] = (struct sl_pkt){.buf = mem[i], .cap = CAP};
		fill(&pk[i]);
	}

	double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
	for (long i = 0; i < n; i++)
		if (write(t.fd, pk[i % batch].data, 64) != 64) {
			perror("write");
			return 1;
		}
	report("write()", n, now(CLOCK_MONOTONIC) - w0, now(CLOCK_PROCESS_CPUTIME_ID) - c0, n);

	if ((r = sl_uring_new(&u, t.fd, MAXB)) < 0) {
		fprintf(stderr, "uring_tun: io_uring unavailable: %s\n", strerror(-r));
		return 2;
	}
	struct sl_uring_done d[MAXB];
	long enters = 0, done = 0;

	w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
	for (long i = 0; i < n; i += batch) {
		int m = n - i < batch ? (int)(n - i) : batch;

		for (int k = 0; k < m; k++)
			sl_uring_queue_write(u, &pk[k]);
		sl_uring_submit(u);
		enters++;
		for (int got = 0; got < m;) {
			int x = sl_uring_reap(u, d, MAXB);

			enters++; /* the eventfd read */
			for (int k = 0; k < x; k++)
				if (d[k].res != 64) {
					fprintf(stderr, "uring write: %d\n", d[k].res);
					return 1;
				}
			got += x;
			if (got < m) {
				struct pollfd pfd = {.fd = sl_uring_event_fd(u), .events = POLLIN};
				poll(&pfd, 1, 100);
				enters++;
			}
		}
		done += m;
	}
	char what[32];
	snprintf(what, sizeof(what), "uring/%d", batch);
	report(what, done, now(CLOCK_MONOTONIC) - w0, now(CLOCK_PROCESS_CPUTIME_ID) - c0, enters);
	sl_uring_free(u);
	sl_tun_close(&t);
	return 0;
}
