/* SPDX-License-Identifier: MIT */
/* Helpers of the engine unit tests (engine_harness.h makes the engines). Include after <cmocka.h>.
 */
#ifndef SL_TESTS_ENGINE_TEST_UTIL_H
#define SL_TESTS_ENGINE_TEST_UTIL_H

#include "core/bytes.h"
#include "core/loop.h"
#include "dco/uapi.h" /* sl_parse_prefix */
#include "sluice/engine.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Run the loop until nothing happens for a few rounds (bounded). */
static inline void harness_settle(struct sl_loop *loop)
{
	int idle = 0;

	for (int i = 0; i < 200 && idle < 3; i++)
		idle = sl_loop_run_once(loop, 5) > 0 ? 0 : idle + 1;
}

/* An IPv4/UDP-numbered packet of payload bytes of fill (header checksum left 0). */
static inline size_t harness_ipv4_packet(uint8_t *b, const char *src, const char *dst,
					 size_t payload, uint8_t fill)
{
	size_t len = 20 + payload;

	memset(b, 0, 20);
	b[0] = 0x45;
	sl_put_be16(b + 2, (uint16_t)len);
	b[8] = 64;
	b[9] = 17;
	inet_pton(AF_INET, src, b + 12);
	inet_pton(AF_INET, dst, b + 16);
	memset(b + 20, fill, payload);
	return len;
}

/* One read from fd if it becomes readable within 100 ms, else -1. */
static inline ssize_t harness_read(int fd, uint8_t *buf, size_t cap)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	if (poll(&pfd, 1, 100) <= 0)
		return -1;
	return read(fd, buf, cap);
}

/* A UDP socket on 127.0.0.1 with a port of the kernel's choosing (a spy, or a fake peer). */
static inline int harness_udp_loopback(struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)addr, len), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)addr, &len), 0);
	return fd;
}

/* Where the engine listens (its first UDP socket, on 127.0.0.1). */
static inline void harness_engine_addr(struct sl_engine *e, struct sockaddr_in *addr)
{
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_port = htons(sl_engine_udp_port(e, 0));
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

static inline void harness_prefix(struct sl_prefix *p, const char *s)
{
	assert_int_equal(sl_parse_prefix(s, p), 0);
}

static inline struct sl_peer_stats harness_stats(struct sl_engine *e, uint32_t id)
{
	struct sl_peer_stats s;

	assert_int_equal(sl_peer_stats(e, id, &s), 0);
	return s;
}

#endif
