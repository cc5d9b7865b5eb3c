// SPDX-License-Identifier: MIT
/*
 * io_uring batch I/O on a datagram socketpair (packet boundaries as on a TUN
 * queue): reads in flight land at p->data with the headroom kept, a batch of
 * writes goes out with one submit. Skipped where the build or the kernel has
 * no io_uring.
 */
#include "io/tun_uring.h"

#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#define HEADROOM 64
#define BUFSZ	 2048
#define N	 8

static uint8_t mem[N][BUFSZ] __attribute__((aligned(64)));
static struct sl_pkt pk[N];

static void pkts_reset(void)
{
	for (int i = 0; i < N; i++) {
		pk[i] = (struct sl_pkt){.buf = mem[i], .cap = BUFSZ};
		sl_pkt_reset(&pk[i], HEADROOM);
	}
}

static struct sl_uring *ring_or_skip(int fd)
{
	struct sl_uring *u = NULL;
	int r = sl_uring_new(&u, fd, 16);

	if (r == -ENOTSUP || r == -ENOSYS || r == -EPERM) {
		fprintf(stderr, "io_uring unavailable here (%d): skipped\n", r);
		skip();
	}
	assert_int_equal(r, 0);
	return u;
}

static int reap_all(struct sl_uring *u, struct sl_uring_done *d, int want)
{
	int got = 0;

	for (int tries = 0; got < want && tries < 100; tries++) {
		struct pollfd pfd = {.fd = sl_uring_event_fd(u), .events = POLLIN};
		int n;

		poll(&pfd, 1, 20);
		n = sl_uring_reap(u, d + got, want - got);
		assert_true(n >= 0);
		got += n;
	}
	return got;
}

static void test_reads_in_flight(void **state)
{
	struct sl_uring_done d[N];
	int sp[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sp), 0);
	struct sl_uring *u = ring_or_skip(sp[0]);
	pkts_reset();
	for (int i = 0; i < N; i++)
		assert_int_equal(sl_uring_queue_read(u, &pk[i]), 0);
	assert_int_equal(sl_uring_submit(u), N);
	assert_int_equal(sl_uring_inflight(u), N);
	/* nothing arrived: nothing to reap */
	assert_int_equal(sl_uring_reap(u, d, N), 0);

	for (int i = 0; i < 3; i++) {
		uint8_t msg[100 + 10 * i];

		memset(msg, 'a' + i, sizeof(msg));
		assert_int_equal(send(sp[1], msg, sizeof(msg), 0), (ssize_t)sizeof(msg));
	}
	assert_int_equal(reap_all(u, d, 3), 3);
	for (int i = 0; i < 3; i++) {
		struct sl_pkt *p = d[i].p;

		assert_false(d[i].is_write);
		assert_true(p >= pk && p < pk + N);
		assert_int_equal(d[i].res, (int)p->len);
		assert_int_equal(sl_pkt_headroom(p), HEADROOM); /* landed in place */
		assert_true(p->len == 100 || p->len == 110 || p->len == 120);
		for (uint32_t k = 0; k < p->len; k++)
			assert_int_equal(p->data[k], 'a' + (p->len - 100) / 10);
	}
	assert_int_equal(sl_uring_inflight(u), N - 3);
	sl_uring_free(u);
	close(sp[0]);
	close(sp[1]);
}

static void test_write_batch(void **state)
{
	struct sl_uring_done d[N];
	uint8_t buf[BUFSZ];
	int sp[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sp), 0);
	struct sl_uring *u = ring_or_skip(sp[0]);
	pkts_reset();
	for (int i = 0; i < N; i++) {
		memset(sl_pkt_put(&pk[i], 60 + i), '0' + i, 60 + i);
		assert_int_equal(sl_uring_queue_write(u, &pk[i]), 0);
	}
	assert_int_equal(sl_uring_submit(u), N); /* one io_uring_enter for the batch */
	assert_int_equal(reap_all(u, d, N), N);
	for (int i = 0; i < N; i++) {
		assert_true(d[i].is_write);
		assert_int_equal(d[i].res, (int)d[i].p->len);
	}
	for (int i = 0; i < N; i++) {
		ssize_t n = recv(sp[1], buf, sizeof(buf), MSG_DONTWAIT);

		assert_true(n >= 60 && n < 60 + N);
		assert_int_equal(buf[0], '0' + (n - 60));
	}
	assert_int_equal(recv(sp[1], buf, sizeof(buf), MSG_DONTWAIT), -1);
	assert_int_equal(sl_uring_inflight(u), 0);
	sl_uring_free(u);
	close(sp[0]);
	close(sp[1]);
}

static void test_ring_full(void **state)
{
	int sp[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sp), 0);
	struct sl_uring *u = ring_or_skip(sp[0]);
	int queued = 0, r = 0;

	pkts_reset();
	/* depth 16 SQ entries; re-queue the same packets until the SQ is full */
	for (int i = 0; i < 64 && (r = sl_uring_queue_read(u, &pk[i % N])) == 0; i++)
		queued++;
	assert_int_equal(r, -ENOBUFS);
	assert_int_equal(queued, 16);
	sl_uring_free(u);
	close(sp[0]);
	close(sp[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_in_flight),
		cmocka_unit_test(test_write_batch),
		cmocka_unit_test(test_ring_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
