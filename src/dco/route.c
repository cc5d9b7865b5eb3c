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
 *
 * Host routes (/32, /128) are also indexed by address in a hash map
 * (hostmap.c), which a lookup asks first once it holds a few: a host route
 * is the longest match there can be, so a hit is the answer, in O(1)
 * however many peers there are (a trie of 10,000 client /32s is about 14
 * nodes deep). The trie stays the whole truth; the index holds exactly its
 * host-route nodes.
 *
 * Each peer's prefix nodes are also chained in a list (peer_next, headed in
 * by_peer), so removing a peer costs its own prefixes times the depth, not
 * a walk of the whole trie: nodes that carry a peer are never freed or
 * moved by compaction, only re-parented, so the list pointers stay valid.
 */
#include "dco/route.h"

#include "dco/hostmap.h"
#include "dco/idmap.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>

#define MAX_DEPTH 129 /* cidr 0..128 */
/* Lookups ask the host index once it holds this many (measured: bench/scale.sh). */
#define HOST_INDEX_MIN 16

struct key {
	uint64_t hi, lo;
};

struct node {
	struct node *child[2];
	struct key key;		/* bits beyond cidr are zero */
	struct node *peer_next; /* the next prefix of the same peer */
	uint32_t peer;		/* SL_ROUTE_NONE: a branch point only */
	uint8_t cidr;
	uint8_t fi; /* family: 0 IPv4, 1 IPv6 */
};

struct sl_route_table {
	struct node *root[2]; /* [0] IPv4, [1] IPv6 */
	uint32_t count;
	struct sl_hostmap hosts[2]; /* the host-route nodes of each trie, by address */
	struct sl_idmap by_peer;    /* peer id -> its first prefix node */
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

static struct node *node_new(struct key k, unsigned cidr, uint32_t peer, int fi)
{
	struct node *n = calloc(1, sizeof(*n));

	if (n) {
		n->key = key_mask(k, cidr);
		n->cidr = (uint8_t)cidr;
		n->peer = peer;
		n->fi = (uint8_t)fi;
	}
	return n;
}

/* Room for the peer's list head before the trie changes, so that linking cannot fail later. */
static int reserve_head(struct sl_route_table *t, uint32_t peer)
{
	return sl_idmap_get(&t->by_peer, peer) ? 0 : sl_idmap_put(&t->by_peer, peer, NULL);
}

/* Undo reserve_head when no node came of it. */
static void release_head(struct sl_route_table *t, uint32_t peer)
{
	if (!sl_idmap_get(&t->by_peer, peer))
		sl_idmap_del(&t->by_peer, peer);
}

/* n->peer's head is reserved or present, so the put replaces and never allocates. */
static void link_node(struct sl_route_table *t, struct node *n)
{
	n->peer_next = sl_idmap_get(&t->by_peer, n->peer);
	sl_idmap_put(&t->by_peer, n->peer, n);
}

static void unlink_node(struct sl_route_table *t, struct node *n)
{
	struct node *head = sl_idmap_get(&t->by_peer, n->peer), **pp = &head;

	while (*pp && *pp != n)
		pp = &(*pp)->peer_next;
	if (*pp)
		*pp = n->peer_next;
	n->peer_next = NULL;
	if (head)
		sl_idmap_put(&t->by_peer, n->peer, head);
	else
		sl_idmap_del(&t->by_peer, n->peer);
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
	sl_hostmap_free(&t->hosts[0]);
	sl_hostmap_free(&t->hosts[1]);
	sl_idmap_free(&t->by_peer);
	free(t);
}

/*
 * Hang the new prefix at *link, whose node n does not cover it: either the
 * new prefix is shorter and covers n (it becomes n's parent), or the two
 * diverge at some bit (a branch node takes their place). Both nodes are
 * allocated up front so a failed insert leaves the trie untouched.
 */
static int insert_at(struct node **link, struct key k, unsigned cidr, uint32_t peer, int fi,
		     struct node **out)
{
	struct node *n = *link;
	unsigned common = common_bits(n->key, k);
	struct node *leaf, *branch;

	if (common >= cidr) {
		leaf = node_new(k, cidr, peer, fi);
		if (!leaf)
			return -ENOMEM;
		leaf->child[key_bit(n->key, cidr)] = n;
		*link = *out = leaf;
		return 0;
	}
	leaf = node_new(k, cidr, peer, fi);
	branch = node_new(k, common, SL_ROUTE_NONE, fi);
	if (!leaf || !branch) {
		free(leaf);
		free(branch);
		return -ENOMEM;
	}
	branch->child[key_bit(k, common)] = leaf;
	branch->child[key_bit(n->key, common)] = n;
	*link = branch;
	*out = leaf;
	return 0;
}

int sl_route_insert(struct sl_route_table *t, int family, const uint8_t *addr, uint8_t len,
		    uint32_t peer_id)
{
	unsigned max_bits;
	int fi = family_index(family, &max_bits);
	struct node **link, *n, *leaf = NULL;
	struct key k;
	int r;

	if (fi < 0 || !addr || len > max_bits || peer_id == SL_ROUTE_NONE)
		return -EINVAL;
	k = key_mask(key_from_addr(family, addr), len);
	/* First what can fail besides the nodes: the peer's list head and the host index. */
	r = reserve_head(t, peer_id);
	if (r < 0)
		return r;
	if (len == max_bits && (r = sl_hostmap_put(&t->hosts[fi], k.hi, k.lo, peer_id)) < 0) {
		release_head(t, peer_id);
		return r;
	}
	for (link = &t->root[fi]; (n = *link); link = child_toward(n, k)) {
		if (n->cidr == len && node_covers(n, k)) {
			if (n->peer == peer_id)
				return 0;
			if (n->peer == SL_ROUTE_NONE)
				t->count++;
			else
				unlink_node(t, n);
			n->peer = peer_id;
			link_node(t, n);
			return 0;
		}
		if (n->cidr > len || !node_covers(n, k))
			break;
	}
	if (n)
		r = insert_at(link, k, len, peer_id, fi, &leaf);
	else
		r = (*link = leaf = node_new(k, len, peer_id, fi)) ? 0 : -ENOMEM;
	if (r == 0) {
		t->count++;
		link_node(t, leaf);
		return 0;
	}
	if (len == max_bits)
		sl_hostmap_del(&t->hosts[fi], k.hi, k.lo); /* it was new: the trie had no node */
	release_head(t, peer_id);
	return r;
}

static inline __attribute__((always_inline)) uint32_t trie_lookup(const struct node *n,
								  struct key k, unsigned max_bits)
{
	uint32_t best = SL_ROUTE_NONE;

	for (; n && node_covers(n, k); n = n->child[key_bit(k, n->cidr)]) {
		if (n->peer != SL_ROUTE_NONE)
			best = n->peer;
		if (n->cidr == max_bits)
			break;
	}
	return best;
}

/* Out of line, so the few-routes path below keeps its short frame (a tail call here). */
static __attribute__((noinline)) uint32_t indexed_lookup(const struct sl_route_table *t, int fi,
							 struct key k, unsigned max_bits)
{
	uint32_t peer = sl_hostmap_get(&t->hosts[fi], k.hi, k.lo);

	return peer != SL_ROUTE_NONE ? peer : trie_lookup(t->root[fi], k, max_bits);
}

uint32_t sl_route_lookup(const struct sl_route_table *t, int family, const uint8_t *addr)
{
	unsigned max_bits;
	int fi = family_index(family, &max_bits);
	struct key k;

	if (fi < 0 || !addr)
		return SL_ROUTE_NONE;
	k = key_from_addr(family, addr);
	/* With few host routes the trie is shallow and a walk costs less than hashing. */
	if (t->hosts[fi].count >= HOST_INDEX_MIN)
		return indexed_lookup(t, fi, k, max_bits);
	return trie_lookup(t->root[fi], k, max_bits);
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

/* Remove the prefix (k, len) of family fi if peer_id owns it. 0 or -ENOENT. */
static int remove_prefix(struct sl_route_table *t, int fi, unsigned max_bits, struct key k,
			 unsigned len, uint32_t peer_id)
{
	struct node **path[MAX_DEPTH];
	unsigned depth = 0;
	struct node **link, *n;

	for (link = &t->root[fi]; (n = *link); link = child_toward(n, k)) {
		if (n->cidr > len || !node_covers(n, k))
			return -ENOENT;
		path[depth++] = link;
		if (n->cidr == len)
			break;
	}
	if (!n || n->peer != peer_id || peer_id == SL_ROUTE_NONE)
		return -ENOENT;
	if (len == max_bits)
		sl_hostmap_del(&t->hosts[fi], k.hi, k.lo);
	unlink_node(t, n);
	n->peer = SL_ROUTE_NONE;
	t->count--;
	while (depth > 0 && compact(path[--depth]))
		;
	return 0;
}

int sl_route_remove(struct sl_route_table *t, int family, const uint8_t *addr, uint8_t len,
		    uint32_t peer_id)
{
	unsigned max_bits;
	int fi = family_index(family, &max_bits);

	if (fi < 0 || !addr || len > max_bits)
		return -EINVAL;
	return remove_prefix(t, fi, max_bits, key_mask(key_from_addr(family, addr), len), len,
			     peer_id);
}

/* One prefix at a time from the head of the peer's list: O(its prefixes x depth). */
void sl_route_remove_peer(struct sl_route_table *t, uint32_t peer_id)
{
	struct node *n;

	if (peer_id == SL_ROUTE_NONE)
		return;
	while ((n = sl_idmap_get(&t->by_peer, peer_id)))
		if (remove_prefix(t, n->fi, n->fi ? 128 : 32, n->key, n->cidr, peer_id) < 0)
			break; /* a list out of step with the trie; sl_route_check would say so */
}

uint32_t sl_route_count(const struct sl_route_table *t)
{
	return t->count;
}

/* Checks n and below; adds the prefixes found to *count, the host routes to *hosts_found. */
static bool in_peer_list(const struct sl_idmap *by_peer, const struct node *n)
{
	for (const struct node *m = sl_idmap_get(by_peer, n->peer); m; m = m->peer_next)
		if (m == n)
			return true;
	return false;
}

static bool subtree_ok(const struct node *n, unsigned max_bits, const struct sl_hostmap *hosts,
		       const struct sl_idmap *by_peer, uint32_t *count, uint32_t *hosts_found)
{
	if (n->cidr > max_bits || common_bits(n->key, key_mask(n->key, n->cidr)) < 128)
		return false;
	if (n->peer == SL_ROUTE_NONE && !(n->child[0] && n->child[1]))
		return false;
	/* The index holds every host route, with the same peer (and, counted below, no other). */
	if (n->cidr == max_bits && n->peer != SL_ROUTE_NONE) {
		if (sl_hostmap_get(hosts, n->key.hi, n->key.lo) != n->peer)
			return false;
		(*hosts_found)++;
	}
	if (n->peer != SL_ROUTE_NONE && !in_peer_list(by_peer, n))
		return false;
	*count += n->peer != SL_ROUTE_NONE;
	for (unsigned i = 0; i < 2; i++) {
		const struct node *c = n->child[i];

		/* A child extends its parent's prefix by at least the bit it hangs from. */
		if (c && (c->cidr <= n->cidr || c->cidr > max_bits ||
			  common_bits(c->key, n->key) < n->cidr || key_bit(c->key, n->cidr) != i ||
			  !subtree_ok(c, max_bits, hosts, by_peer, count, hosts_found)))
			return false;
	}
	return true;
}

int sl_route_check(const struct sl_route_table *t)
{
	static const unsigned max_bits[2] = {32, 128};
	uint32_t count = 0, listed = 0;

	for (int f = 0; f < 2; f++) {
		uint32_t hosts_found = 0;

		if (t->root[f] && !subtree_ok(t->root[f], max_bits[f], &t->hosts[f], &t->by_peer,
					      &count, &hosts_found))
			return -EFAULT;
		if (hosts_found != t->hosts[f].count)
			return -EFAULT;
	}
	/* Every node is in its peer's list (above); the lists hold nothing else. */
	for (uint32_t i = 0; i < t->by_peer.cap; i++) {
		const struct sl_idmap_slot *e = &t->by_peer.slots[i];

		if (e->state != 1)
			continue;
		if (!e->value)
			return -EFAULT; /* a head reserved and never released */
		for (const struct node *m = e->value; m; m = m->peer_next, listed++)
			if (m->peer != e->key)
				return -EFAULT;
	}
	return count == t->count && listed == t->count ? 0 : -EFAULT;
}
