/* SPDX-License-Identifier: MIT */
/*
 * Longest-prefix match from inner IPv4/IPv6 addresses to a peer id: a
 * path-compressed binary trie per family (like WireGuard's allowedips),
 * checked in tests against a naive linear reference on random input.
 */
#ifndef SL_DCO_ROUTE_H
#define SL_DCO_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#define SL_ROUTE_NONE UINT32_MAX

struct sl_route_table;

struct sl_route_table *sl_route_new(void);
void sl_route_free(struct sl_route_table *t);

/*
 * family AF_INET (addr 4 bytes) or AF_INET6 (16 bytes); bits beyond len are
 * ignored. Inserting an existing prefix replaces its peer. 0, -EINVAL, -ENOMEM.
 */
int sl_route_insert(struct sl_route_table *t, int family, const uint8_t *addr, uint8_t len,
		    uint32_t peer_id);
/* Remove the exact prefix if it maps to peer_id. 0 or -ENOENT. */
int sl_route_remove(struct sl_route_table *t, int family, const uint8_t *addr, uint8_t len,
		    uint32_t peer_id);
/* Remove every prefix of peer_id. */
void sl_route_remove_peer(struct sl_route_table *t, uint32_t peer_id);
/* Longest match, or SL_ROUTE_NONE. */
uint32_t sl_route_lookup(const struct sl_route_table *t, int family, const uint8_t *addr);
/* The peer that owns the default route (/0) of family, or SL_ROUTE_NONE. */
uint32_t sl_route_default_owner(const struct sl_route_table *t, int family);
/* Number of prefixes stored. */
uint32_t sl_route_count(const struct sl_route_table *t);
/*
 * For tests: walk the whole trie and verify its shape (no useless nodes,
 * prefixes nest, host bits zero, count right). 0 or -EFAULT.
 */
int sl_route_check(const struct sl_route_table *t);

#endif
