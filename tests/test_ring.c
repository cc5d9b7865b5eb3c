// SPDX-License-Identifier: MIT
/*
 * The public ring API over a SOCK_SEQPACKET socketpair (no privileges
 * needed), and once over a real TUN device in a private network namespace
 * when run as root.
 */
#include "core/bytes.h"
#include "core/pkt.h"
#include "io/tun.h"
#include "sluice/ring.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#define HEADROOM 48
#define TAILROOM 24
#define MTU	 1400
#define PACKETS	 4

struct fixture {
	struct sl_ring *ring;
	int far; /* the other end of the socketpair: plays the device */
};

static int setup(void **state)
{
	struct sl_ring_cfg cfg = {
		.headroom = HEADROOM, .tailroom = TAILROOM, .mtu = MTU, .packets = PACKETS};
	struct fixture *f = calloc(1, sizeof(*f));
	int sv[2];

	if (!f || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
		return -1;
	f->ring = sl_ring_open_fd(sv[0], &cfg);
	f->far = sv[1];
	*state = f;
	return f->ring ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sl_ring_close(f->ring);
	close(f->far);
	free(f);
	return 0;
}

static void fill(uint8_t *b, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed + i * 7);
}

static uint8_t *receive_one(struct sl_ring *r, uint32_t *len)
{
	struct pollfd pfd = {.fd = sl_ring_fd(r), .events = POLLIN};
	uint8_t *p;

	assert_int_equal(poll(&pfd, 1, 1000), 1);
	p = sl_ring_receive(r, len);
	assert_non_null(p);
	return p;
}

static void test_accessors(void **state)
{
	struct fixture *f = *state;
	int fl = fcntl(sl_ring_fd(f->ring), F_GETFL);

	assert_int_equal(sl_ring_headroom(f->ring), HEADROOM);
	assert_int_equal(sl_ring_tailroom(f->ring), TAILROOM);
	assert_string_equal(sl_ring_ifname(f->ring), "");
	assert_true(fl >= 0 && (fl & O_NONBLOCK));
}

static void test_open_fd_rejects(void **state)
{
	struct sl_ring_cfg huge = {.mtu = 2u << 20};
	struct sl_ring_cfg ok = {0};
	int sv[2];

	errno = 0;
	assert_null(sl_ring_open_fd(-1, &ok));
	assert_int_equal(errno, EBADF);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	errno = 0;
	assert_null(sl_ring_open_fd(sv[0], &huge));
	assert_int_equal(errno, EINVAL);
	/* On failure the fd is still the caller's: it is open. */
	assert_true(fcntl(sv[0], F_GETFD) >= 0);
	close(sv[0]);
	close(sv[1]);
}

/* Defaults: mtu 1500 and 256 packets. */
static void test_defaults(void **state)
{
	struct sl_ring_cfg cfg = {0};
	struct sl_ring *r;
	uint8_t *p[256];
	uint32_t max;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	r = sl_ring_open_fd(sv[0], &cfg);
	assert_non_null(r);
	for (int i = 0; i < 256; i++) {
		p[i] = sl_ring_alloc_send(r, &max);
		assert_non_null(p[i]);
		assert_int_equal(max, 1500);
	}
	assert_null(sl_ring_alloc_send(r, &max));
	for (int i = 0; i < 256; i++)
		sl_ring_release(r, p[i]);
	sl_ring_close(r);
	close(sv[1]);
}

static void test_receive_eagain(void **state)
{
	struct fixture *f = *state;
	uint32_t len = 0;

	for (int i = 0; i < 2 * PACKETS; i++) {
		errno = 0;
		assert_null(sl_ring_receive(f->ring, &len));
		assert_int_equal(errno, EAGAIN);
	}
	/* No buffer leaked on the way. */
	assert_int_equal(write(f->far, "abc", 3), 3);
	assert_non_null(receive_one(f->ring, &len));
}

/* Head and tail room are really there: writing all of them must not touch the neighbour. */
static void test_receive_with_room(void **state)
{
	struct fixture *f = *state;
	uint8_t in1[100], in2[MTU];
	uint8_t *p1, *p2;
	uint32_t len1, len2;

	fill(in1, sizeof(in1), 1);
	fill(in2, sizeof(in2), 2);
	assert_int_equal(write(f->far, in1, sizeof(in1)), sizeof(in1));
	assert_int_equal(write(f->far, in2, sizeof(in2)), sizeof(in2));
	p1 = receive_one(f->ring, &len1);
	p2 = receive_one(f->ring, &len2);
	assert_int_equal(len1, sizeof(in1));
	assert_int_equal(len2, MTU); /* exactly mtu fits */
	memset(p1 - HEADROOM, 0xaa, HEADROOM);
	memset(p1 + len1, 0xbb, MTU - len1 + TAILROOM);
	memset(p2 - HEADROOM, 0xcc, HEADROOM);
	memset(p2 + MTU, 0xdd, TAILROOM);
	assert_memory_equal(p1, in1, sizeof(in1));
	assert_memory_equal(p2, in2, sizeof(in2));
	sl_ring_release(f->ring, p1);
	sl_ring_release(f->ring, p2);
}

static void test_receive_too_big_dropped(void **state)
{
	struct fixture *f = *state;
	uint8_t big[MTU + 1], small[20];
	uint32_t len;
	uint8_t *p;

	fill(big, sizeof(big), 3);
	fill(small, sizeof(small), 4);
	assert_int_equal(write(f->far, big, sizeof(big)), sizeof(big));
	assert_int_equal(write(f->far, small, sizeof(small)), sizeof(small));
	errno = 0;
	assert_null(sl_ring_receive(f->ring, &len));
	assert_int_equal(errno, EMSGSIZE);
	p = receive_one(f->ring, &len);
	assert_int_equal(len, sizeof(small));
	assert_memory_equal(p, small, sizeof(small));
	sl_ring_release(f->ring, p);
}

static void test_receive_peer_closed(void **state)
{
	struct fixture *f = *state;
	uint32_t len;

	close(f->far);
	f->far = -1;
	errno = 0;
	assert_null(sl_ring_receive(f->ring, &len));
	assert_int_equal(errno, EPIPE);
}

static void test_alloc_shrink_send(void **state)
{
	struct fixture *f = *state;
	uint8_t out[MTU + 100];
	uint32_t max = 0;
	uint8_t *p = sl_ring_alloc_send(f->ring, &max);
	ssize_t n;

	assert_non_null(p);
	assert_int_equal(max, MTU);
	memset(p - HEADROOM, 0x11, HEADROOM); /* room around a send buffer too */
	memset(p, 0x22, MTU + TAILROOM);
	fill(p, 61, 5);
	assert_int_equal(sl_ring_shrink_last(f->ring, MTU + 1), -EINVAL);
	assert_int_equal(sl_ring_shrink_last(f->ring, 200), 0);
	assert_int_equal(sl_ring_shrink_last(f->ring, 201), -EINVAL); /* only ever smaller */
	assert_int_equal(sl_ring_shrink_last(f->ring, 61), 0);
	assert_int_equal(sl_ring_send(f->ring, p), 0);
	n = recv(f->far, out, sizeof(out), MSG_TRUNC);
	assert_int_equal(n, 61);
	fill(out + 100, 61, 5);
	assert_memory_equal(out, out + 100, 61);
	/* The allocation is gone: nothing left to shrink or send. */
	assert_int_equal(sl_ring_shrink_last(f->ring, 10), -EINVAL);
	assert_int_equal(sl_ring_send(f->ring, p), -EINVAL);
}

static void test_send_full_length(void **state)
{
	struct fixture *f = *state;
	uint8_t out[MTU + 100];
	uint32_t max;
	uint8_t *p = sl_ring_alloc_send(f->ring, &max);

	fill(p, max, 6);
	assert_int_equal(sl_ring_send(f->ring, p), 0);
	assert_int_equal(recv(f->far, out, sizeof(out), MSG_TRUNC), MTU);
}

/* shrink_last applies to the newest allocation only. */
static void test_shrink_applies_to_last(void **state)
{
	struct fixture *f = *state;
	uint8_t out[MTU];
	uint32_t max;
	uint8_t *a = sl_ring_alloc_send(f->ring, &max);
	uint8_t *b = sl_ring_alloc_send(f->ring, &max);

	fill(a, max, 7);
	fill(b, max, 8);
	assert_int_equal(sl_ring_shrink_last(f->ring, 10), 0);
	assert_int_equal(sl_ring_send(f->ring, a), 0);
	assert_int_equal(recv(f->far, out, sizeof(out), MSG_TRUNC), MTU);
	assert_int_equal(sl_ring_send(f->ring, b), 0);
	assert_int_equal(recv(f->far, out, sizeof(out), MSG_TRUNC), 10);
}

static void test_enobufs_when_exhausted(void **state)
{
	struct fixture *f = *state;
	uint8_t *p[PACKETS];
	uint32_t max, len;

	for (int i = 0; i < PACKETS; i++) {
		p[i] = sl_ring_alloc_send(f->ring, &max);
		assert_non_null(p[i]);
	}
	errno = 0;
	assert_null(sl_ring_alloc_send(f->ring, &max));
	assert_int_equal(errno, ENOBUFS);
	assert_int_equal(write(f->far, "abc", 3), 3);
	errno = 0;
	assert_null(sl_ring_receive(f->ring, &len));
	assert_int_equal(errno, ENOBUFS);
	sl_ring_release(f->ring, p[0]);
	assert_non_null(receive_one(f->ring, &len)); /* the packet waited in the socket */
	assert_int_equal(len, 3);
	for (int i = 1; i < PACKETS; i++)
		sl_ring_release(f->ring, p[i]);
}

static void test_foreign_pointer_einval(void **state)
{
	struct fixture *f = *state;
	uint8_t outside[64];
	uint32_t max;
	uint8_t *p = sl_ring_alloc_send(f->ring, &max);

	errno = 0;
	sl_ring_release(f->ring, outside);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	sl_ring_release(f->ring, NULL);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	sl_ring_release(f->ring, p + 1); /* inside a buffer, but not a packet start */
	assert_int_equal(errno, EINVAL);
	assert_int_equal(sl_ring_send(f->ring, outside), -EINVAL);
	assert_int_equal(sl_ring_send(f->ring, p - 1), -EINVAL);
	/* None of that freed p: it can still be sent, once. */
	fill(p, 4, 9);
	assert_int_equal(sl_ring_shrink_last(f->ring, 4), 0);
	assert_int_equal(sl_ring_send(f->ring, p), 0);
	errno = 0;
	sl_ring_release(f->ring, p); /* already freed by send */
	assert_int_equal(errno, EINVAL);
	assert_int_equal(sl_ring_send(f->ring, p), -EINVAL);
}

static void test_release_of_other_rings_packet(void **state)
{
	struct fixture *f = *state, *g = NULL; /* set by setup (GCC -O3 cannot see it) */
	uint32_t max;
	uint8_t *p;

	assert_int_equal(setup((void **)&g), 0);
	p = sl_ring_alloc_send(g->ring, &max);
	errno = 0;
	sl_ring_release(f->ring, p);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(sl_ring_send(f->ring, p), -EINVAL);
	sl_ring_release(g->ring, p);
	teardown((void **)&g);
}

/* ---- a real TUN device, in a network namespace of our own ---- */

static uint16_t ip_csum(const uint8_t *b, size_t n, uint32_t seed)
{
	return (uint16_t)~sl_csum_fold(sl_csum_add(seed, b, n));
}

/* An IPv4/UDP packet (RFC 791, RFC 768) with correct checksums; returns its length. */
static uint32_t build_udp4(uint8_t *p, const uint8_t src[4], uint16_t sport, const uint8_t dst[4],
			   uint16_t dport, const void *payload, uint16_t plen)
{
	uint16_t ulen = (uint16_t)(8 + plen), tlen = (uint16_t)(20 + ulen), c;
	uint8_t ph[12];

	memset(p, 0, tlen);
	p[0] = 0x45;
	sl_put_be16(p + 2, tlen);
	p[8] = 64;
	p[9] = IPPROTO_UDP;
	memcpy(p + 12, src, 4);
	memcpy(p + 16, dst, 4);
	sl_put_be16(p + 10, ip_csum(p, 20, 0));
	sl_put_be16(p + 20, sport);
	sl_put_be16(p + 22, dport);
	sl_put_be16(p + 24, ulen);
	memcpy(p + 28, payload, plen);
	memcpy(ph, src, 4);
	memcpy(ph + 4, dst, 4);
	ph[8] = 0;
	ph[9] = IPPROTO_UDP;
	sl_put_be16(ph + 10, ulen);
	c = ip_csum(p + 20, ulen, sl_csum_add(0, ph, sizeof(ph)));
	sl_put_be16(p + 26, c ? c : 0xffff);
	return tlen;
}

static bool enter_private_netns(void)
{
	return geteuid() == 0 && unshare(CLONE_NEWNET) == 0;
}

static void test_tun_round_trip(void **state)
{
	static const uint8_t local[4] = {198, 18, 7, 1}, remote[4] = {198, 18, 7, 2};
	struct sl_ring_cfg cfg = {.headroom = 64, .tailroom = 32};
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(5000)};
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9)};
	struct pollfd pfd;
	struct sl_ring *r;
	uint8_t *p, buf[64];
	uint32_t len, max;
	int s;

	if (!enter_private_netns())
		skip();
	r = sl_ring_open("slring0", &cfg);
	assert_non_null(r);
	assert_string_equal(sl_ring_ifname(r), "slring0");
	assert_int_equal(sl_link_set_up("slring0", 1500), 0);
	assert_int_equal(sl_link_addr_add("slring0", AF_INET, local, 24), 0);
	s = socket(AF_INET, SOCK_DGRAM, 0);
	memcpy(&sa.sin_addr, local, 4);
	memcpy(&to.sin_addr, remote, 4);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(sendto(s, "ping", 4, 0, (struct sockaddr *)&to, sizeof(to)), 4);
	do { /* skip anything else the kernel sends on a fresh link */
		p = receive_one(r, &len);
		if (len == 32 && p[9] == IPPROTO_UDP && !memcmp(p + 16, remote, 4))
			break;
		sl_ring_release(r, p);
	} while (1);
	assert_memory_equal(p + 28, "ping", 4);
	sl_ring_release(r, p);

	p = sl_ring_alloc_send(r, &max);
	assert_non_null(p);
	len = build_udp4(p, remote, 9, local, 5000, "pong", 4);
	assert_int_equal(sl_ring_shrink_last(r, len), 0);
	assert_int_equal(sl_ring_send(r, p), 0);
	pfd = (struct pollfd){.fd = s, .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	assert_int_equal(recv(s, buf, sizeof(buf), 0), 4);
	assert_memory_equal(buf, "pong", 4);
	close(s);
	sl_ring_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_accessors, setup, teardown),
		cmocka_unit_test(test_open_fd_rejects),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test_setup_teardown(test_receive_eagain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_with_room, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_too_big_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_peer_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alloc_shrink_send, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_full_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shrink_applies_to_last, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enobufs_when_exhausted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_pointer_einval, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_of_other_rings_packet, setup,
						teardown),
		cmocka_unit_test(test_tun_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
