// SPDX-License-Identifier: MIT
/*
 * Steering: the reuseport cBPF programs deliver each datagram to socket SPI % n (ESP) or
 * peer-id % n (OpenVPN P_DATA_V2) on loopback, everything else to socket 0.
 */
#include "io/steer.h"

#include <arpa/inet.h>
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

#define NSOCK 4

static void test_rule_in_c(void **state)
{
	const uint8_t marker[4] = {0, 0, 0, 0}, ka[1] = {0xff};
	const uint8_t spi7[8] = {0, 0, 0, 7, 1, 2, 3, 4};
	const uint8_t big[4] = {0xde, 0xad, 0xbe, 0xef};

	(void)state;
	assert_int_equal(sl_steer_spi_index(marker, 4, 4), 0);
	assert_int_equal(sl_steer_spi_index(ka, 1, 4), 0);
	assert_int_equal(sl_steer_spi_index(spi7, 8, 4), 3);
	assert_int_equal(sl_steer_spi_index(spi7, 8, 1), 0);
	assert_int_equal(sl_steer_spi_index(big, 4, 3), 0xdeadbeefu % 3);
}

static int recv_on(const int *fds, int n)
{
	struct pollfd pf[NSOCK];
	uint8_t buf[64];

	for (int i = 0; i < n; i++)
		pf[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
	if (poll(pf, (nfds_t)n, 1000) <= 0)
		return -1;
	for (int i = 0; i < n; i++)
		if (pf[i].revents & POLLIN) {
			assert_true(recv(fds[i], buf, sizeof(buf), 0) >= 0);
			return i;
		}
	return -1;
}

static void send_payload(int c, const struct sockaddr_storage *to, socklen_t tolen,
			 const uint8_t *d, size_t len)
{
	assert_int_equal(sendto(c, d, len, 0, (const struct sockaddr *)to, tolen), (ssize_t)len);
}

/* The same program serves both families: the kernel starts it at the UDP payload either way. */
static void check_steering(struct sockaddr_storage *a, socklen_t alen)
{
	int fds[NSOCK];
	int c = socket(a->ss_family, SOCK_DGRAM, 0);
	const uint32_t spis[] = {256, 257, 258, 259, 0xdeadbeef, 0x12345678, 1000003, 4242};
	const uint8_t marker[12] = {0}, ka[1] = {0xff}, runt[3] = {1, 2, 3};

	fds[0] = sl_udp_open_reuseport((struct sockaddr *)a, alen);
	assert_true(fds[0] >= 0);
	assert_int_equal(getsockname(fds[0], (struct sockaddr *)a, &alen), 0);
	for (int i = 1; i < NSOCK; i++) {
		fds[i] = sl_udp_open_reuseport((struct sockaddr *)a, alen);
		assert_true(fds[i] >= 0);
	}
	assert_int_equal(sl_steer_attach_spi(fds[0], NSOCK), 0);
	assert_true(c >= 0);

	/* Many datagrams of each SPI: a hash fallback would spread them, the program must not. */
	for (size_t s = 0; s < sizeof(spis) / sizeof(spis[0]); s++)
		for (int rep = 0; rep < 8; rep++) {
			uint8_t d[16] = {0};
			uint32_t be = htonl(spis[s]);

			memcpy(d, &be, 4);
			d[4] = (uint8_t)rep; /* vary the payload, not the flow */
			send_payload(c, a, alen, d, sizeof(d));
			assert_int_equal(recv_on(fds, NSOCK), (int)(spis[s] % NSOCK));
		}
	/* Non-ESP: the marker, the NAT keepalive and a runt all go to socket 0. */
	send_payload(c, a, alen, marker, sizeof(marker));
	assert_int_equal(recv_on(fds, NSOCK), 0);
	send_payload(c, a, alen, ka, sizeof(ka));
	assert_int_equal(recv_on(fds, NSOCK), 0);
	send_payload(c, a, alen, runt, sizeof(runt));
	assert_int_equal(recv_on(fds, NSOCK), 0);
	for (int i = 0; i < NSOCK; i++)
		close(fds[i]);
	close(c);
}

/* The loopback address of family (port 0) in ss; its length. */
static socklen_t loopback(struct sockaddr_storage *ss, int family)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		return sizeof(*a);
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;

	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sizeof(*a);
}

static void test_datagrams_reach_spi_socket(void **state)
{
	struct sockaddr_storage ss;

	(void)state;
	check_steering(&ss, loopback(&ss, AF_INET));
}

static void test_datagrams_reach_spi_socket_v6(void **state)
{
	struct sockaddr_storage ss;

	(void)state;
	check_steering(&ss, loopback(&ss, AF_INET6));
}

/* OpenVPN datagrams: the opcode byte (opcode << 3 | key id), then for P_DATA_V2 a 24-bit peer-id.
 */
#define OP(opcode, kid) ((uint8_t)((opcode) << 3 | (kid)))

static void v2(uint8_t d[16], uint8_t kid, uint32_t peer_id)
{
	memset(d, 0xab, 16);
	d[0] = OP(9, kid);
	d[1] = (uint8_t)(peer_id >> 16);
	d[2] = (uint8_t)(peer_id >> 8);
	d[3] = (uint8_t)peer_id;
}

/* Known payloads and the index each must get, for both the C rule and the program. */
struct ovpn_case {
	uint8_t d[16];
	uint32_t len;
	uint32_t want; /* with NSOCK sockets */
};

static int ovpn_cases(struct ovpn_case *c)
{
	static const uint32_t ids[] = {0, 1, 2, 3, 5, 254, 0x123456, 0xfffffe};
	int n = 0;

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		v2(c[n].d, (uint8_t)(i & 7), ids[i]);
		c[n].len = 16;
		c[n++].want = ids[i] % NSOCK;
	}
	/* V2 with "no peer-id" (0xFFFFFF): 0, not 0xFFFFFF % n (= 3). */
	v2(c[n].d, 1, 0xffffff);
	c[n].len = 16;
	c[n++].want = 0;
	/* A V2 header of exactly 4 bytes still names its peer. */
	v2(c[n].d, 0, 7);
	c[n].len = 4;
	c[n++].want = 3;
	/* Runts: 3, 2, 1 bytes of a V2 header for peer 3, and an empty datagram. */
	for (uint32_t len = 3; len <= 3; len--) {
		v2(c[n].d, 0, 3);
		c[n].len = len;
		c[n++].want = 0;
	}
	/* P_DATA_V1 (no peer-id; the next bytes look like peer 3), control opcodes, P_ACK,
	 * key-method 1 opcodes, unknown opcodes: all 0. */
	for (uint8_t op = 0; op < 32; op++) {
		if (op == 9)
			continue;
		v2(c[n].d, 2, 3);
		c[n].d[0] = OP(op, 2);
		c[n].len = 16;
		c[n++].want = 0;
	}
	return n;
}

static void test_ovpn_rule_in_c(void **state)
{
	struct ovpn_case c[64];
	int n = ovpn_cases(c);
	uint8_t d[16];

	(void)state;
	for (int i = 0; i < n; i++)
		assert_int_equal(sl_steer_ovpn_index(c[i].d, c[i].len, NSOCK), c[i].want);
	v2(d, 0, 7);
	assert_int_equal(sl_steer_ovpn_index(d, 16, 1), 0);
	assert_int_equal(sl_steer_ovpn_index(d, 16, 3), 1);
	assert_int_equal(sl_steer_ovpn_index(d, 16, 0), 0);
}

static void check_ovpn_steering(struct sockaddr_storage *a, socklen_t alen)
{
	int fds[NSOCK], c = socket(a->ss_family, SOCK_DGRAM, 0);
	struct ovpn_case cases[64];
	int n = ovpn_cases(cases);

	fds[0] = sl_udp_open_reuseport((struct sockaddr *)a, alen);
	assert_true(fds[0] >= 0);
	assert_int_equal(getsockname(fds[0], (struct sockaddr *)a, &alen), 0);
	for (int i = 1; i < NSOCK; i++) {
		fds[i] = sl_udp_open_reuseport((struct sockaddr *)a, alen);
		assert_true(fds[i] >= 0);
	}
	assert_int_equal(sl_steer_attach_ovpn(fds[0], NSOCK), 0);
	assert_true(c >= 0);
	/* Each case several times with a varied payload: a hash fallback would spread them. */
	for (int i = 0; i < n; i++)
		for (int rep = 0; rep < 4; rep++) {
			if (cases[i].len > 4)
				cases[i].d[cases[i].len - 1] = (uint8_t)rep;
			send_payload(c, a, alen, cases[i].d, cases[i].len);
			assert_int_equal(recv_on(fds, NSOCK), (int)cases[i].want);
		}
	for (int i = 0; i < NSOCK; i++)
		close(fds[i]);
	close(c);
}

static void test_ovpn_datagrams_reach_peer_socket(void **state)
{
	struct sockaddr_storage ss;

	(void)state;
	check_ovpn_steering(&ss, loopback(&ss, AF_INET));
}

static void test_ovpn_datagrams_reach_peer_socket_v6(void **state)
{
	struct sockaddr_storage ss;

	(void)state;
	check_ovpn_steering(&ss, loopback(&ss, AF_INET6));
}

static void test_bad_worker_count(void **state)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = sl_udp_open_reuseport((struct sockaddr *)&a, sizeof(a));

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(sl_steer_attach_spi(fd, 0), -EINVAL);
	assert_int_equal(sl_steer_attach_spi(fd, SL_STEER_WORKERS_MAX + 1), -EINVAL);
	assert_int_equal(sl_steer_attach_ovpn(fd, 0), -EINVAL);
	assert_int_equal(sl_steer_attach_ovpn(fd, SL_STEER_WORKERS_MAX + 1), -EINVAL);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_in_c),
		cmocka_unit_test(test_datagrams_reach_spi_socket),
		cmocka_unit_test(test_datagrams_reach_spi_socket_v6),
		cmocka_unit_test(test_ovpn_rule_in_c),
		cmocka_unit_test(test_ovpn_datagrams_reach_peer_socket),
		cmocka_unit_test(test_ovpn_datagrams_reach_peer_socket_v6),
		cmocka_unit_test(test_bad_worker_count),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
