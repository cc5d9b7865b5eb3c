/* SPDX-License-Identifier: MIT */
/*
 * IPv4/IPv6 socket addresses in a sockaddr_storage: the length to pass to
 * the kernel, and equality of family, address and port (field by field, so
 * padding such as sin_zero never makes two equal addresses differ).
 */
#ifndef SL_CORE_SOCKADDR_H
#define SL_CORE_SOCKADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

static inline socklen_t sl_sockaddr_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static inline bool sl_sockaddr_same(const struct sockaddr_storage *a,
				    const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		       !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
	}
	return false;
}

#endif
