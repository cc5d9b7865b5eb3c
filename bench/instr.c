// SPDX-License-Identifier: MIT
/*
 * A fixed, repeatable load for counting instructions (bench/instr.sh runs it
 * under callgrind): two engines A and B on one loop, each with a
 * SOCK_SEQPACKET socketpair standing in for its TUN device and a UDP socket
 * on 127.0.0.1, AES-256-GCM keys, a frozen injected clock (no timer fires).
 * N IPv4 packets of 1400 bytes go in at A's TUN in batches, come out at B's
 * TUN, and are checked: count, order, length and an FNV-1a hash of every
 * byte. Any loss or damage exits 1. Needs no root.
 *
 * The harness talks to the TUN stand-ins with send/recv, the engine uses
 * read/write: so a profile can tell the two sides' libc calls apart.
 *
 *   instr [packets (default 20000)] [batch (default 32, 1..64)] [gso]
 *
 * gso: the offload path instead, as a tunnel runs by default. A's TUN
 * stand-in speaks virtio-net headers (tun_fd_offload) and carries TCP
 * super-packets of 48 segments of 1360 bytes (1400-byte packets once cut),
 * batch super-packets per round; A cuts and seals them straight from the
 * super-packet, sends UDP GSO; B takes them in with UDP GRO, opens them in
 * place and writes coalesced TCP super-packets; the harness checks B's
 * writes: virtio header, TCP sequence without gap and an FNV-1a hash of the
 * whole byte stream. packets counts segments (a multiple of 48).
 *
 * Prints one line, "instr packets=.. batches=.. copy_calls=.. copy_bytes=.. checksum=..".
 * copy_* count the memcpy/memmove calls made while the engines ran (inside
 * sl_loop_run_once only, so the harness's own work is not in them); see
 * the interposer below for what that does and does not see.
 */
#include "core/bytes.h"
#include "core/loop.h"
#include "crypto/aead.h"
#include "dco/uapi.h"
#include "io/tun.h"
#include "sluice/engine.h"

#include "../tests/engine_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PKT_LEN	   1400 /* IPv4 total length of every packet */
#define BATCH_MAX  64
#define IDLE_LIMIT 20 /* rounds of 20 ms without progress before a batch counts as lost */
#define PEER_A	   1  /* B's name for A */
#define PEER_B	   2  /* A's name for B */
#define GSO_MSS	   (PKT_LEN - 40) /* TCP payload per segment */
#define GSO_SEGS   48		  /* segments per super-packet: 65320 bytes of IP */
#define SUPER_LEN  (40 + GSO_SEGS * GSO_MSS)

/*
 * Copy counting by interposition: this executable defines memcpy and memmove
 * (and the _FORTIFY_SOURCE variants), so every call to them by name, from
 * libsluice (linked in statically) and from shared libraries such as
 * libcrypto (their PLT entries bind to the executable's definition first),
 * lands here. Not seen: copies the compiler inlined (constant small sizes)
 * and glibc's calls to itself, which do not go through the PLT.
 *
 * The copy itself is glibc's bcopy, reached through a volatile pointer: a
 * direct call could be folded by the compiler into memmove, which is us
 * (endless recursion), and bcopy is not a name we interpose. Global state
 * because an interposer has no other place to keep it.
 */
static struct {
	bool on;
	unsigned long long calls, bytes;
} copies;

static void (*volatile libc_bcopy)(const void *src, void *dst, size_t len) = bcopy;

extern void __chk_fail(void) __attribute__((noreturn));

static void *counted_copy(void *dst, const void *src, size_t len)
{
	if (copies.on) {
		copies.calls++;
		copies.bytes += len;
	}
	libc_bcopy(src, dst, len);
	return dst;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t len)
{
	return counted_copy(dst, src, len);
}

void *memmove(void *dst, const void *src, size_t len)
{
	return counted_copy(dst, src, len);
}

void *__memcpy_chk(void *dst, const void *src, size_t len, size_t dst_len);
void *__memmove_chk(void *dst, const void *src, size_t len, size_t dst_len);

void *__memcpy_chk(void *dst, const void *src, size_t len, size_t dst_len)
{
	if (dst_len < len)
		__chk_fail();
	return counted_copy(dst, src, len);
}

void *__memmove_chk(void *dst, const void *src, size_t len, size_t dst_len)
{
	if (dst_len < len)
		__chk_fail();
	return counted_copy(dst, src, len);
}

struct node {
	struct sl_engine *e;
	int tun_far; /* the "kernel" side of the TUN stand-in */
	struct sockaddr_in udp;
};

struct world {
	bool gso;
	uint32_t tcp_seq_tx, tcp_seq_rx; /* gso: the byte stream's next sequence numbers */
	uint64_t stream_tx, stream_rx;	 /* gso: FNV-1a of the stream's bytes, in order */
	sl_time_ns now;
	struct sl_loop *loop;
	struct node a, b;
	unsigned long long next_tx, next_rx; /* sequence numbers */
	unsigned long long sum_tx, sum_rx;   /* sums of packet hashes */
	unsigned long long batches;
	uint64_t hash[BATCH_MAX]; /* of packet seq, at seq % BATCH_MAX */
};

static sl_time_ns frozen_now(void *arg)
{
	return ((struct world *)arg)->now;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "instr: %s: %s\n", what, strerror(err < 0 ? -err : err));
	return -1;
}

static uint64_t fnv1a(const uint8_t *b, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* Packet seq: an IPv4/UDP-looking header, seq in the first 8 payload bytes, then xorshift noise. */
static void make_packet(uint8_t *b, uint64_t seq)
{
	uint64_t x = seq * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i < 20; i++)
		b[i] = 0;
	b[0] = 0x45;
	sl_put_be16(b + 2, PKT_LEN);
	b[8] = 64;
	b[9] = 17;
	sl_put_be32(b + 12, 0xc6130001); /* 198.19.0.1 */
	sl_put_be32(b + 16, 0xc6130002); /* 198.19.0.2 */
	sl_put_be32(b + 20, (uint32_t)(seq >> 32));
	sl_put_be32(b + 24, (uint32_t)seq);
	for (size_t i = 28; i < PKT_LEN; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b[i] = (uint8_t)x;
	}
}

static int node_up(struct world *w, struct node *n, const char *name)
{
	struct sl_engine_cfg cfg;
	int r;

	sl_engine_cfg_init(&cfg);
	cfg.loop = w->loop;
	cfg.ifname = name;
	cfg.tun_fd_offload = w->gso;
	r = harness_engine_new(&n->e, &n->tun_far, &cfg, 0);
	if (r < 0)
		return fail("an engine on a socketpair", r);
	memset(&n->udp, 0, sizeof(n->udp));
	n->udp.sin_family = AF_INET;
	n->udp.sin_port = htons(sl_engine_udp_port(n->e, 0));
	n->udp.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return 0;
}

static void make_keys(struct sl_key_pair *a_side, struct sl_key_pair *b_side)
{
	memset(a_side, 0, sizeof(*a_side));
	a_side->cipher = SL_CIPHER_AES256GCM;
	a_side->key_id = 1;
	a_side->rx.spi = 0x1001;
	a_side->tx.spi = 0x2001;
	memset(a_side->rx.key, 0x11, sizeof(a_side->rx.key));
	memset(a_side->tx.key, 0x22, sizeof(a_side->tx.key));
	memset(a_side->rx.salt, 0x33, sizeof(a_side->rx.salt));
	memset(a_side->tx.salt, 0x44, sizeof(a_side->tx.salt));
	*b_side = *a_side;
	b_side->rx = a_side->tx;
	b_side->tx = a_side->rx;
}

static int add_route(struct sl_engine *e, uint32_t peer, const char *s)
{
	struct sl_prefix p;
	int r = sl_parse_prefix(s, &p);

	if (r == 0)
		r = sl_peer_route_add(e, peer, &p);
	return r < 0 ? fail(s, r) : 0;
}

/*
 * As tests/test_engine.c: A routes one address to B (a route lookup per
 * packet), B sends everything to A (sole-peer shortcut). No keepalives, so
 * only data moves.
 */
static int peers_up(struct world *w)
{
	struct sl_peer_cfg pc;
	struct sl_key_pair ka, kb;
	int r;

	sl_peer_cfg_init(&pc);
	pc.keepalive_ms = 0;
	memcpy(&pc.endpoint, &w->b.udp, sizeof(w->b.udp));
	r = sl_peer_new(w->a.e, PEER_B, &pc);
	if (r < 0)
		return fail("sl_peer_new A", r);
	memcpy(&pc.endpoint, &w->a.udp, sizeof(w->a.udp));
	r = sl_peer_new(w->b.e, PEER_A, &pc);
	if (r < 0)
		return fail("sl_peer_new B", r);
	if (add_route(w->a.e, PEER_B, "198.19.0.2/32") || add_route(w->b.e, PEER_A, "0.0.0.0/0"))
		return -1;
	make_keys(&ka, &kb);
	r = sl_key_set(w->a.e, PEER_B, SL_KEY_PRIMARY, &ka);
	if (r == 0)
		r = sl_key_set(w->b.e, PEER_A, SL_KEY_PRIMARY, &kb);
	return r < 0 ? fail("sl_key_set", r) : 0;
}

/* The only place the engines run: what instr.sh measures is inside this call. */
static int run_engines(struct world *w, int timeout_ms)
{
	int r;

	copies.on = true;
	r = sl_loop_run_once(w->loop, timeout_ms);
	copies.on = false;
	return r;
}

/* Read what B delivered; every packet must be the next one, whole. Returns count or -1. */
static int drain_b(struct world *w)
{
	uint8_t buf[2048];
	int n = 0;

	for (;;) {
		ssize_t len = recv(w->b.tun_far, buf, sizeof(buf), MSG_DONTWAIT);
		uint64_t seq, h;

		if (len < 0 && errno == EAGAIN)
			return n;
		if (len < 0)
			return fail("read B tun", errno);
		seq = (uint64_t)sl_get_be32(buf + 20) << 32 | sl_get_be32(buf + 24);
		h = fnv1a(buf, (size_t)len);
		if (len != PKT_LEN || seq != w->next_rx || w->next_rx >= w->next_tx ||
		    h != w->hash[seq % BATCH_MAX]) {
			fprintf(stderr,
				"instr: expected packet %llu (1400 bytes), got %zd bytes, seq "
				"%llu, "
				"hash %s: lost, reordered or damaged\n",
				w->next_rx, len, (unsigned long long)seq,
				h == w->hash[seq % BATCH_MAX] ? "right" : "wrong");
			return -1;
		}
		w->sum_rx += h;
		w->next_rx++;
		n++;
	}
}

static int send_batch(struct world *w, uint32_t count)
{
	uint8_t buf[PKT_LEN];

	for (uint32_t i = 0; i < count; i++) {
		uint64_t seq = w->next_tx;

		make_packet(buf, seq);
		w->hash[seq % BATCH_MAX] = fnv1a(buf, PKT_LEN);
		if (send(w->a.tun_far, buf, PKT_LEN, 0) != PKT_LEN)
			return fail("write A tun", errno);
		w->sum_tx += w->hash[seq % BATCH_MAX];
		w->next_tx++;
	}
	return 0;
}

static uint64_t fnv1a_more(uint64_t h, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* One TCP super-packet as a TUN with TSO hands it over: virtio header, then 65320 bytes. */
static int send_super(struct world *w)
{
	static uint8_t buf[SL_VNET_HDR_LEN + SUPER_LEN];
	uint8_t *ip = buf + SL_VNET_HDR_LEN, *tcp = ip + 20;
	uint64_t x = w->tcp_seq_tx * 0x9e3779b97f4a7c15ull + 1;
	struct {
		uint8_t flags, gso_type;
		uint16_t hdr_len, gso_size, csum_start, csum_offset;
	} vh = {1 /* NEEDS_CSUM */, 1 /* TCPV4 */, 40, GSO_MSS, 20, 16};

	memcpy(buf, &vh, sizeof(vh));
	memset(ip, 0, 40);
	ip[0] = 0x45;
	sl_put_be16(ip + 2, SUPER_LEN);
	ip[6] = 0x40;
	ip[8] = 64;
	ip[9] = 6;
	sl_put_be32(ip + 12, 0xc6130001); /* 198.19.0.1 */
	sl_put_be32(ip + 16, 0xc6130002); /* 198.19.0.2 */
	sl_put_be16(tcp, 40000);
	sl_put_be16(tcp + 2, 5201);
	sl_put_be32(tcp + 4, w->tcp_seq_tx);
	sl_put_be32(tcp + 8, 1);
	tcp[12] = 5 << 4;
	tcp[13] = 0x10; /* ACK */
	sl_put_be16(tcp + 14, 512);
	for (size_t i = 40; i < SUPER_LEN; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		ip[i] = (uint8_t)x;
	}
	w->stream_tx = fnv1a_more(w->stream_tx, ip + 40, SUPER_LEN - 40);
	w->tcp_seq_tx += SUPER_LEN - 40;
	if (send(w->a.tun_far, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		return fail("write A tun", errno);
	w->next_tx += GSO_SEGS;
	return 0;
}

/* B's writes: each a virtio header and a TCP packet, coalesced or not, continuing the stream. */
static int drain_b_gso(struct world *w)
{
	static uint8_t buf[SL_VNET_HDR_LEN + 65536];
	int n = 0;

	for (;;) {
		ssize_t len = recv(w->b.tun_far, buf, sizeof(buf), MSG_DONTWAIT);
		const uint8_t *ip = buf + SL_VNET_HDR_LEN;
		uint32_t payload;

		if (len < 0 && errno == EAGAIN)
			return n;
		if (len < 0)
			return fail("read B tun", errno);
		payload = (uint32_t)len - SL_VNET_HDR_LEN - 40;
		if (len < SL_VNET_HDR_LEN + 40 + GSO_MSS || ip[9] != 6 ||
		    sl_get_be16(ip + 2) != len - SL_VNET_HDR_LEN || payload % GSO_MSS ||
		    (payload > GSO_MSS && (buf[1] != 1 || sl_get_be16(ip + 2) != 40 + payload)) ||
		    sl_get_be32(ip + 24) != w->tcp_seq_rx) {
			fprintf(stderr,
				"instr: B wrote %zd bytes, gso type %u, seq %u, expected %u\n", len,
				buf[1], sl_get_be32(ip + 24), w->tcp_seq_rx);
			return -1;
		}
		w->stream_rx = fnv1a_more(w->stream_rx, ip + 40, payload);
		w->tcp_seq_rx += payload;
		w->next_rx += payload / GSO_MSS;
		n++;
	}
}

static int push_batch(struct world *w, uint32_t count)
{
	int idle = 0;

	if (w->gso) {
		for (uint32_t i = 0; i < count; i++)
			if (send_super(w))
				return -1;
	} else if (send_batch(w, count)) {
		return -1;
	}
	while (w->next_rx < w->next_tx) {
		int ran = run_engines(w, 20), got = w->gso ? drain_b_gso(w) : drain_b(w);

		if (ran < 0 || got < 0)
			return ran < 0 ? fail("sl_loop_run_once", ran) : -1;
		idle = ran || got ? 0 : idle + 1;
		if (idle >= IDLE_LIMIT) {
			fprintf(stderr, "instr: %llu of %llu packets lost\n",
				w->next_tx - w->next_rx, w->next_tx);
			return -1;
		}
	}
	w->batches++;
	return 0;
}

/* Both peers' counters must agree with what the harness saw: nothing dropped on the way. */
static int check_stats(struct world *w)
{
	struct sl_peer_stats sa, sb;

	if (sl_peer_stats(w->a.e, PEER_B, &sa) || sl_peer_stats(w->b.e, PEER_A, &sb))
		return fail("sl_peer_stats", ENOENT);
	if (sa.tx_packets != w->next_tx || sb.rx_packets != w->next_rx) {
		fprintf(stderr, "instr: A sent %llu, B received %llu, harness %llu/%llu\n",
			(unsigned long long)sa.tx_packets, (unsigned long long)sb.rx_packets,
			w->next_tx, w->next_rx);
		return -1;
	}
	for (int i = 0; i < SL_STAT_DROP__COUNT; i++)
		if (sa.drops[i] || sb.drops[i]) {
			fprintf(stderr, "instr: drop counter %d is %llu/%llu\n", i,
				(unsigned long long)sa.drops[i], (unsigned long long)sb.drops[i]);
			return -1;
		}
	return 0;
}

static int run(struct world *w, unsigned long packets, uint32_t batch)
{
	struct sl_clock clock = {frozen_now, w};

	w->now = 1000 * SL_SEC;
	w->stream_tx = w->stream_rx = 0xcbf29ce484222325ull;
	w->loop = sl_loop_new(&clock);
	if (!w->loop)
		return fail("sl_loop_new", errno);
	if (node_up(w, &w->a, "a") || node_up(w, &w->b, "b") || peers_up(w))
		return -1;
	/* Whatever set-up left pending (nothing, with keepalives off) runs before the data. */
	for (int i = 0; i < 3; i++)
		run_engines(w, 0);
	while (w->next_tx < packets) {
		unsigned long left = packets - w->next_tx;

		if (w->gso)
			left = (left + GSO_SEGS - 1) / GSO_SEGS;
		if (push_batch(w, left < batch ? (uint32_t)left : batch))
			return -1;
	}
	if (check_stats(w))
		return -1;
	if (w->gso && w->stream_rx != w->stream_tx) {
		fprintf(stderr, "instr: the byte stream arrived damaged\n");
		return -1;
	}
	if (w->next_rx != w->next_tx || w->sum_rx != w->sum_tx) {
		fprintf(stderr, "instr: %llu of %lu packets, checksum %016llx vs %016llx\n",
			w->next_rx, packets, w->sum_rx, w->sum_tx);
		return -1;
	}
	return 0;
}

static void teardown(struct world *w)
{
	if (w->a.e)
		sl_engine_free(w->a.e);
	if (w->b.e)
		sl_engine_free(w->b.e);
	if (w->a.tun_far > 0)
		close(w->a.tun_far);
	if (w->b.tun_far > 0)
		close(w->b.tun_far);
	if (w->loop)
		sl_loop_free(w->loop);
}

static bool parse_count(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return !errno && end != s && !*end && *out >= 1 && *out <= max;
}

int main(int argc, char **argv)
{
	static struct world w;
	unsigned long packets = 20000, batch = 32;
	int r;

	w.gso = argc > 3 && !strcmp(argv[3], "gso");
	if (argc > 4 || (argc > 3 && !w.gso) ||
	    (argc > 1 && !parse_count(argv[1], 1ul << 40, &packets)) ||
	    (argc > 2 && !parse_count(argv[2], BATCH_MAX, &batch))) {
		fprintf(stderr,
			"usage: instr [packets (default 20000)] [batch 1..%d (default 32)] [gso]\n",
			BATCH_MAX);
		return 2;
	}
	r = run(&w, packets, (uint32_t)batch);
	teardown(&w);
	if (r)
		return 1;
	printf("instr packets=%llu batches=%llu copy_calls=%llu copy_bytes=%llu checksum=%016llx\n",
	       w.next_rx, w.batches, copies.calls, copies.bytes, w.sum_rx);
	return 0;
}
