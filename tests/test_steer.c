// SPDX-License-Identifier: MIT
/* SPI steering: the reuseport cBPF program delivers each datagram to socket SPI % n on loopback. */
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

static void test_datagrams_reach_spi_socket(void **state)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *a = (struct sockaddr_in *)&ss;

	(void)state;
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	check_steering(&ss, sizeof(*a));
}

static void test_datagrams_reach_spi_socket_v6(void **state)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

	(void)state;
	a->sin6_family = AF_INET6;
	a->sin6_addr = in6addr_loopback;
	check_steering(&ss, sizeof(*a));
}

static void test_bad_worker_count(void **state)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = sl_udp_open_reuseport((struct sockaddr *)&a, sizeof(a));

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(sl_steer_attach_spi(fd, 0), -EINVAL);
	assert_int_equal(sl_steer_attach_spi(fd, SL_STEER_WORKERS_MAX + 1), -EINVAL);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_in_c),
		cmocka_unit_test(test_datagrams_reach_spi_socket),
		cmocka_unit_test(test_datagrams_reach_spi_socket_v6),
		cmocka_unit_test(test_bad_worker_count),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
