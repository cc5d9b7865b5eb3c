/* SPDX-License-Identifier: MIT */
/*
 * Engines that run without root, for tests and bench/instr.c: the TUN device
 * is one end of a SOCK_SEQPACKET socketpair (the test holds the other, the
 * "kernel" side) and the UDP socket is on 127.0.0.1.
 */
#ifndef SL_TESTS_ENGINE_HARNESS_H
#define SL_TESTS_ENGINE_HARNESS_H

#include "sluice/engine.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static inline void harness_loopback(struct sockaddr_storage *ss, uint16_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

/*
 * cfg: initialised by the caller (loop, ifname, events, ...); this fills in
 * the TUN stand-in and a UDP listen on 127.0.0.1:port (0 = any) and makes the
 * engine. *tun_far is the socketpair's other end. 0 or -errno.
 */
static inline int harness_engine_new(struct sl_engine **e, int *tun_far, struct sl_engine_cfg *cfg,
				     uint16_t port)
{
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv) < 0)
		return -errno;
	cfg->tun_fd = sv[0];
	harness_loopback(&cfg->listen[0], port);
	r = sl_engine_new(e, cfg);
	if (r < 0) {
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	*tun_far = sv[1];
	return 0;
}

#endif
