// SPDX-License-Identifier: MIT
/*
 * Longest-prefix match in a path-compressed binary trie, one per family, in
 * the manner of WireGuard's allowedips.c.
 *
 * Every node holds a prefix (key, cidr). A child's prefix extends its
 * parent's, and the child hangs off the bit that follows the parent's
 * prefix, so cidr strictly grows down a path: a lookup visits at most
 * (address bits + 1) nodes. Nodes that carry no peer exist only to branch,
 * so they always have two children; removal restores that by freeing or
 * splicing out nodes that become useless.
 *
 * Keys are 128-bit big-endian numbers held in two host-order words (an IPv4
 * address fills the top 32 bits), so comparing a node's prefix with an
 * address is a few word operations whatever the prefix length.
 */
#include "dco/route.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>

#define MAX_DEPTH 129 /* cidr 0..128 */

struct key {
	uint64_t hi, lo;
};

struct node {
	struct node *child[2];
	struct key key; /* bits beyond cidr are zero */
	uint32_t peer;	/* SL_ROUTE_NONE: a branch point only */
	uint8_t cidr;
};

struct sl_route_table {
	struct node *root[2]; /* [0] IPv4, [1] IPv6 */
	uint32_t count;
};

static uint64_t load_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint64_t load_be32(const uint8_t *p)
{
	return (uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 | (uint64_t)p[2] << 8 | p[3];
}

static struct key key_from_addr(int family, const uint8_t *addr)
{
	if (family == AF_INET)
		return (struct key){.hi = load_be32(addr) << 32};
	return (struct key){.hi = load_be64(addr), .lo = load_be64(addr + 8)};
}

/* The top n bits of a word set (n in 0..64). */
static uint64_t top_bits(unsigned n)
{
	return n == 0 ? 0 : ~0ull << (64 - n);
}

static struct key key_mask(struct key k, unsigned cidr)
{
	k.hi &= top_bits(cidr < 64 ? cidr : 64);
	k.lo &= top_bits(cidr > 64 ? cidr - 64 : 0);
	return k;
}

/* Bit i (0 = most significant) of k; i < 128. */
static unsigned key_bit(struct key k, unsigned i)
{
	if (i < 64)
		return (unsigned)(k.hi >> (63 - i)) & 1;
	return (unsigned)(k.lo >> (127 - i)) & 1;
}

/* Number of leading bits a and b share, 0..128. */
static unsigned common_bits(struct key a, struct key b)
{
	uint64_t x = a.hi ^ b.hi;

	if (x)
		return (unsigned)__builtin_clzll(x);
	x = a.lo ^ b.lo;
	return x ? 64 + (unsigned)__builtin_clzll(x) : 128;
}

static bool node_covers(const struct node *n, struct key k)
{
	return common_bits(n->key, k) >= n->cidr;
}

/* Child slot of n that k continues into; n->cidr < 128. */
static struct node **child_toward(struct node *n, struct key k)
{
	return &n->child[key_bit(k, n->cidr)];
}

static int family_index(int family, unsigned *max_bits)
{
	if (family == AF_INET) {
		*max_bits = 32;
		return 0;
	}
	if (family == AF_INET6) {
		*max_bits = 128;
		return 1;
	}
	return -1;
}

static struct node *node_new(struct key k, unsigned cidr, uint32_t peer)
{
	struct node *n = calloc(1, sizeof(*n));

	if (n) {
		n->key = key_mask(k, cidr);
		n->cidr = (uint8_t)cidr;
		n->peer = peer;
	}
	return n;
}

static void free_subtree(struct node *n)
{
	if (!n)
		return;
	free_subtree(n->child[0]);
	free_subtree(n->child[1]);
	free(n);
}

struct sl_route_table *sl_route_new(void)
{
	return calloc(1, sizeof(struct sl_route_table));
}

void sl_route_free(struct sl_route_table *t)
{
	if (!t)
		return;
	free_subtree(t->root[0]);
	free_subtree(t->root[1]);
	free(t);
}

/*
 * Hang the new prefix at *link, whose node n does not cover it: either the
 * new prefix is shorter and covers n (it becomes n's parent), or the two
 * diverge at some bit (a branch node takes their place). Both nodes are
 * allocated up front so a failed insert leaves the trie untouched.
 */
static int insert_at(struct node **link, struct key k, unsigned cidr, uint32_t peer)
{
	struct node *n = *link;
	unsigned common = common_bits(n->key, k);
	struct node *leaf, *branch;

	if (common >= cidr) {
		leaf = node_new(k, cidr, peer);
		if (!leaf)
			return -ENOMEM;
		leaf->child[key_bit(n->key, cidr)] = n;
		*link = leaf;
		return 0;
	}
	leaf = node_new(k, cidr, peer);
	branch = node_new(k, common, SL_ROUTE_NONE);
	if (!leaf || !branch) {
		free(leaf);
		free(branch);
		return -ENOMEM;
	}
	branch->child[key_bit(k, common)] = leaf;
	branch->child[key_bit(n->key, common)] = n;
	*link = branch;
	return 0;
}

int sl_route_insert(struct sl_route_table *t, int family, const uint8_t *addr, uint8_t len,
		    uint32_t peer_id)
{
	unsigned max_bits;
	int fi = family_index(family, &max_bits);
	struct node **link, *n;
	struct key k;
	int r;

	if (fi < 0 || !addr || len > max_bits || peer_id == SL_ROUTE_NONE)
		return -EINVAL;
	k = key_mask(key_from_addr(family, addr), len);
	for (link = &t->root[fi]; (n = *link); link = child_toward(n, k)) {
		if (n->cidr == len && node_covers(n, k)) {
			t->count += n->peer == SL_ROUTE_NONE;
			n->peer = peer_id;
			return 0;
		}
		if (n->cidr > len || !node_covers(n, k))
			break;
	}
	if (n)
		r = insert_at(link, k, len, peer_id);
	else
		r = (*link = node_new(k, len, peer_id)) ? 0 : -ENOMEM;
	if (r == 0)
		t->count++;
	return r;
}

uint32_t sl_route_lookup(const struct sl_route_table *t, int family, const uint8_t *addr)
{
	unsigned max_bits;
	int fi = family_index(family, &max_bits);
	uint32_t best = SL_ROUTE_NONE;
	const struct node *n;
	struct key k;

	if (fi < 0 || !addr)
		return SL_ROUTE_NONE;
	k = key_from_addr(family, addr);
	for (n = t->root[fi]; n && node_covers(n, k); n = n->child[key_bit(k, n->cidr)]) {
		if (n->peer != SL_ROUTE_NONE)
			best = n->peer;
		if (n->cidr == max_bits)
			break;
	}
	return best;
}

uint32_t sl_route_default_owner(const struct sl_route_table *t, int family)
{
	unsigned max_bits;
	int fi = family_index(family, &max_bits);
	const struct node *root = fi < 0 ? NULL : t->root[fi];

	/* A /0 prefix covers every other, so it can only sit at the root. */
	return root && root->cidr == 0 ? root->peer : SL_ROUTE_NONE;
}

/*
 * Restore "a node without a peer has two children" at *link, after n lost
 * its peer or a child. Returns true if n was freed outright (its parent
 * lost a child and may need the same treatment).
 */
static bool compact(struct node **link)
{
	struct node *n = *link;

	if (n->peer != SL_ROUTE_NONE || (n->child[0] && n->child[1]))
		return false;
	*link = n->child[0] ? n->child[0] : n->child[1];
	free(n);
	return *link == NULL;
}

int sl_route_remove(struct sl_route_table *t, int family, const uint8_t *addr, uint8_t len,
		    uint32_t peer_id)
{
	struct node **path[MAX_DEPTH];
	unsigned max_bits, depth = 0;
	int fi = family_index(family, &max_bits);
	struct node **link, *n;
	struct key k;

	if (fi < 0 || !addr || len > max_bits)
		return -EINVAL;
	k = key_mask(key_from_addr(family, addr), len);
	for (link = &t->root[fi]; (n = *link); link = child_toward(n, k)) {
		if (n->cidr > len || !node_covers(n, k))
			return -ENOENT;
		path[depth++] = link;
		if (n->cidr == len)
			break;
	}
	if (!n || n->peer != peer_id || peer_id == SL_ROUTE_NONE)
		return -ENOENT;
	n->peer = SL_ROUTE_NONE;
	t->count--;
	while (depth > 0 && compact(path[--depth]))
		;
	return 0;
}

/* Post-order, so every child is already compacted when its parent is looked at. */
static uint32_t remove_peer_below(struct node **link, uint32_t peer_id)
{
	struct node *n = *link;
	uint32_t removed;

	if (!n)
		return 0;
	removed = remove_peer_below(&n->child[0], peer_id);
	removed += remove_peer_below(&n->child[1], peer_id);
	if (n->peer == peer_id) {
		n->peer = SL_ROUTE_NONE;
		removed++;
	}
	compact(link);
	return removed;
}

void sl_route_remove_peer(struct sl_route_table *t, uint32_t peer_id)
{
	if (peer_id == SL_ROUTE_NONE)
		return;
	t->count -= remove_peer_below(&t->root[0], peer_id);
	t->count -= remove_peer_below(&t->root[1], peer_id);
}

uint32_t sl_route_count(const struct sl_route_table *t)
{
	return t->count;
}

/* Checks n and below; adds the prefixes found to *count. */
static bool subtree_ok(const struct node *n, unsigned max_bits, uint32_t *count)
{
	if (n->cidr > max_bits || common_bits(n->key, key_mask(n->key, n->cidr)) < 128)
		return false;
	if (n->peer == SL_ROUTE_NONE && !(n->child[0] && n->child[1]))
		return false;
	*count += n->peer != SL_ROUTE_NONE;
	for (unsigned i = 0; i < 2; i++) {
		const struct node *c = n->child[i];

		/* A child extends its parent's prefix by at least the bit it hangs from. */
		if (c && (c->cidr <= n->cidr || c->cidr > max_bits ||
			  common_bits(c->key, n->key) < n->cidr || key_bit(c->key, n->cidr) != i ||
			  !subtree_ok(c, max_bits, count)))
			return false;
	}
	return true;
}

int sl_route_check(const struct sl_route_table *t)
{
	static const unsigned max_bits[2] = {32, 128};
	uint32_t count = 0;

	for (int f = 0; f < 2; f++)
		if (t->root[f] && !subtree_ok(t->root[f], max_bits[f], &count))
			return -EFAULT;
	return count == t->count ? 0 : -EFAULT;
}
