// SPDX-License-Identifier: MIT
/* Batched UDP I/O on loopback: many datagrams per call, straight into packet buffers. */
#include "io/udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define HEADROOM 32
#define BUFSZ	 2048

struct pkts {
	uint8_t mem[SL_UDP_BATCH_MAX][BUFSZ];
	struct sl_pkt p[SL_UDP_BATCH_MAX];
};

static void pkts_reset(struct pkts *k, struct sl_udp_batch *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		k->p[i] = (struct sl_pkt){.buf = k->mem[i], .cap = BUFSZ};
		sl_pkt_reset(&k->p[i], HEADROOM);
		b->pkts[i] = &k->p[i];
	}
}

static int open_loopback(struct sockaddr_in *addr)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = sl_udp_open((struct sockaddr *)&a, sizeof(a));

	assert_true(fd >= 0);
	a.sin_port = htons(sl_udp_local_port(fd));
	assert_int_not_equal(a.sin_port, 0);
	*addr = a;
	return fd;
}

static void wait_readable(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	assert_int_equal(poll(&pfd, 1, 1000), 1);
}

static void test_batch_round_trip(void **state)
{
	static struct pkts tx, rx;
	struct sl_udp_batch out = {0}, in = {0};
	struct sockaddr_in a, b;
	int fa = open_loopback(&a), fb = open_loopback(&b);
	uint32_t got = 0;

	pkts_reset(&tx, &out, SL_UDP_BATCH_MAX);
	for (uint32_t i = 0; i < SL_UDP_BATCH_MAX; i++) {
		memset(sl_pkt_put(out.pkts[i], 100 + i), (int)i, 100 + i);
		memcpy(&out.addrs[i], &b, sizeof(b));
	}
	out.n = SL_UDP_BATCH_MAX;
	assert_int_equal(sl_udp_send_batch(fa, &out), 0);
	for (int tries = 0; tries < 10 && got < SL_UDP_BATCH_MAX; tries++) {
		int r;

		wait_readable(fb);
		pkts_reset(&rx, &in, SL_UDP_BATCH_MAX);
		r = sl_udp_recv_batch(fb, &in, SL_UDP_BATCH_MAX - got);
		assert_true(r > 0);
		for (int i = 0; i < r; i++, got++) {
			struct sockaddr_in *from = (struct sockaddr_in *)&in.addrs[i];

			assert_int_equal(in.pkts[i]->len, 100 + got);
			assert_int_equal(in.pkts[i]->data[0], (uint8_t)got);
			assert_int_equal(sl_pkt_headroom(in.pkts[i]), HEADROOM);
			assert_int_equal(from->sin_port, a.sin_port);
		}
	}
	assert_int_equal(got, SL_UDP_BATCH_MAX);
	pkts_reset(&rx, &in, 4);
	assert_int_equal(sl_udp_recv_batch(fb, &in, 4), 0); /* nothing more: 0, not an error */
	close(fa);
	close(fb);
}

static void test_truncated_datagram_is_flagged(void **state)
{
	static uint8_t big[BUFSZ + 100];
	static struct pkts rx;
	struct sl_udp_batch in = {0};
	struct sockaddr_in a, b;
	int fa = open_loopback(&a), fb = open_loopback(&b);

	assert_int_equal(sendto(fa, big, sizeof(big), 0, (struct sockaddr *)&b, sizeof(b)),
			 (ssize_t)sizeof(big));
	wait_readable(fb);
	pkts_reset(&rx, &in, 1);
	assert_int_equal(sl_udp_recv_batch(fb, &in, 1), 1);
	assert_true(in.pkts[0]->flags & SL_UDP_F_TRUNCATED);
	close(fa);
	close(fb);
}

static void test_refused_send_is_counted(void **state)
{
	static struct pkts tx;
	struct sl_udp_batch out = {0};
	struct sockaddr_in a, b;
	struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_port = htons(9)};
	int fa = open_loopback(&a);

	(void)b;
	pkts_reset(&tx, &out, 3);
	for (int i = 0; i < 3; i++)
		memset(sl_pkt_put(out.pkts[i], 10), 0, 10);
	memcpy(&out.addrs[0], &a, sizeof(a));
	memcpy(&out.addrs[1], &v6, sizeof(v6)); /* wrong family for this socket: refused */
	memcpy(&out.addrs[2], &a, sizeof(a));
	out.n = 3;
	assert_int_equal(sl_udp_send_batch(fa, &out), 1);
	close(fa);
}

/* Datagrams the kernel drops at a full receive queue are reported, not lost silently. */
static void test_queue_overflow_is_reported(void **state)
{
	static uint8_t payload[1200];
	static struct pkts rx;
	struct sl_udp_batch in = {0};
	struct sockaddr_in a, b;
	int fa = open_loopback(&a), fb = open_loopback(&b);
	int tiny = 4096;

	assert_int_equal(setsockopt(fb, SOL_SOCKET, SO_RCVBUF, &tiny, sizeof(tiny)), 0);
	for (int i = 0; i < 200; i++)
		sendto(fa, payload, sizeof(payload), 0, (struct sockaddr *)&b, sizeof(b));
	/* The count rides on datagrams queued after the drops: drain, then one more. */
	for (int i = 0; i < 200; i++) {
		pkts_reset(&rx, &in, SL_UDP_BATCH_MAX);
		if (sl_udp_recv_batch(fb, &in, SL_UDP_BATCH_MAX) == 0)
			break;
	}
	assert_int_equal(in.rxq_dropped, 0);
	sendto(fa, payload, sizeof(payload), 0, (struct sockaddr *)&b, sizeof(b));
	wait_readable(fb);
	pkts_reset(&rx, &in, 1);
	assert_int_equal(sl_udp_recv_batch(fb, &in, 1), 1);
	assert_true(in.rxq_dropped > 0);
	assert_true(in.rxq_dropped < 200);
	close(fa);
	close(fb);
}

/*
 * UDP GSO out, GRO in, over loopback (which offloads both): 20 equal datagrams
 * and a shorter last leave in one GSO send and arrive as a single coalesced
 * datagram carrying the segment size, bytes in order. Without GRO on the
 * receiving socket the kernel cuts them back into 21 datagrams.
 */
static void send_gso_run(int fd, const struct sockaddr_in *to, struct pkts *tx, uint32_t n,
			 uint32_t seg)
{
	struct sl_udp_batch out = {.gso = true};

	pkts_reset(tx, &out, n);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len = i + 1 < n ? seg : seg / 2;
		uint8_t *d = sl_pkt_put(&tx->p[i], len);

		for (uint32_t k = 0; k < len; k++)
			d[k] = (uint8_t)(i * 31 + k);
		memcpy(&out.addrs[i], to, sizeof(*to));
	}
	out.n = n;
	assert_int_equal(sl_udp_send_batch(fd, &out), 0);
	assert_true(out.gso); /* loopback took it: not switched off */
}

static void test_gso_send_gro_receive(void **state)
{
	static struct pkts tx;
	static uint8_t big[65536 + HEADROOM];
	struct sl_pkt bp = {.buf = big, .cap = sizeof(big)};
	struct sl_udp_batch in = {0};
	struct sockaddr_in a, b;
	int fa = open_loopback(&a), fb = open_loopback(&b);
	uint32_t seg = 1200, n = 21;

	assert_int_equal(sl_udp_enable_gro(fb), 0);
	send_gso_run(fa, &b, &tx, n, seg);
	wait_readable(fb);
	sl_pkt_reset(&bp, HEADROOM);
	in.pkts[0] = &bp;
	assert_int_equal(sl_udp_recv_batch(fb, &in, 1), 1);
	assert_int_equal(bp.len, (n - 1) * seg + seg / 2);
	assert_int_equal(in.seg[0], seg);
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t k = 0; k < (i + 1 < n ? seg : seg / 2); k++)
			assert_int_equal(bp.data[i * seg + k], (uint8_t)(i * 31 + k));
	close(fa);
	close(fb);
}

static void test_gso_send_without_gro_arrives_cut(void **state)
{
	static struct pkts tx, rx;
	struct sl_udp_batch in = {0};
	struct sockaddr_in a, b;
	int fa = open_loopback(&a), fb = open_loopback(&b);
	uint32_t got = 0;

	send_gso_run(fa, &b, &tx, 21, 1200);
	for (int tries = 0; tries < 10 && got < 21; tries++) {
		int r;

		wait_readable(fb);
		pkts_reset(&rx, &in, SL_UDP_BATCH_MAX);
		r = sl_udp_recv_batch(fb, &in, SL_UDP_BATCH_MAX);
		assert_true(r > 0);
		for (int i = 0; i < r; i++) {
			assert_int_equal(in.seg[i], 0);
			assert_int_equal(rx.p[i].len, got + i + 1 < 21 ? 1200 : 600);
			assert_int_equal(rx.p[i].data[0], (uint8_t)((got + i) * 31));
		}
		got += (uint32_t)r;
	}
	assert_int_equal(got, 21);
	close(fa);
	close(fb);
}

static void test_bind_in_use(void **state)
{
	struct sockaddr_in a;
	int fa = open_loopback(&a);

	assert_int_equal(sl_udp_open((struct sockaddr *)&a, sizeof(a)), -EADDRINUSE);
	close(fa);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_round_trip),
		cmocka_unit_test(test_truncated_datagram_is_flagged),
		cmocka_unit_test(test_refused_send_is_counted),
		cmocka_unit_test(test_queue_overflow_is_reported),
		cmocka_unit_test(test_bind_in_use),
		cmocka_unit_test(test_gso_send_gro_receive),
		cmocka_unit_test(test_gso_send_without_gro_arrives_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
