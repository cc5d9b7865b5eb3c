// SPDX-License-Identifier: MIT
/*
 * The engine end to end without root: two engines on one loop, each with a
 * SOCK_SEQPACKET socketpair standing in for its TUN device and a UDP socket
 * on 127.0.0.1. A third socket plays the network's eavesdropper to capture,
 * tamper with and replay sealed packets. Time is an injected clock.
 */
#include "core/bytes.h"
#include "core/loop.h"
#include "dco/engine_int.h" /* test_freed_key_slot_is_zeroed looks at the slot itself */
#include "dco/uapi.h"
#include "proto/esp.h"
#include "sluice/engine.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine_harness.h"
#include "engine_test_util.h"

#define PEER_A 1 /* B's name for A */
#define PEER_B 2 /* A's name for B */

struct node {
	struct sl_engine *e;
	int tun_far; /* the "kernel" side of the TUN stand-in */
	struct sockaddr_in udp;
};

struct world {
	sl_time_ns now;
	struct sl_loop *loop;
	struct node a, b;
	int spy; /* a UDP socket that can pose as a peer's endpoint */
	struct sockaddr_in spy_addr;
	int stream_sent;
	uint8_t stream_last[2048];
	size_t stream_last_len;
	int events[8];
};

static sl_time_ns fake_now(void *arg)
{
	return ((struct world *)arg)->now;
}

static void on_event(void *arg, const struct sl_event *ev)
{
	struct world *w = arg;

	if (ev->type < 8)
		w->events[ev->type]++;
}

static int stream_send(void *arg, const uint8_t *ip, size_t len)
{
	struct world *w = arg;

	w->stream_sent++;
	memcpy(w->stream_last, ip, len);
	w->stream_last_len = len;
	return 0;
}

static void node_up(struct world *w, struct node *n, const char *name, const char *ctl)
{
	struct sl_engine_cfg cfg;

	sl_engine_cfg_init(&cfg);
	cfg.loop = w->loop;
	cfg.ifname = name;
	cfg.pool_packets = 256;
	cfg.on_event = on_event;
	cfg.event_arg = w;
	cfg.ctl_path = ctl;
	assert_int_equal(harness_engine_new(&n->e, &n->tun_far, &cfg, 0), 0);
	harness_engine_addr(n->e, &n->udp);
}

static void make_keys(struct sl_key_pair *a_side, struct sl_key_pair *b_side, uint8_t seed,
		      uint32_t spi_a, uint32_t spi_b)
{
	memset(a_side, 0, sizeof(*a_side));
	a_side->cipher = SL_CIPHER_AES256GCM;
	a_side->key_id = seed;
	a_side->rx.spi = spi_a;
	a_side->tx.spi = spi_b;
	memset(a_side->rx.key, seed, 32);
	memset(a_side->tx.key, seed + 1, 32);
	memset(a_side->rx.salt, seed + 2, 4);
	memset(a_side->tx.salt, seed + 3, 4);
	*b_side = *a_side;
	b_side->rx = a_side->tx;
	b_side->tx = a_side->rx;
}

/* Peers set up both ways; B treats A like a client would its server (default routes). */
static void peers_up(struct world *w, bool with_stream)
{
	struct sl_peer_cfg pc;
	struct sl_key_pair ka, kb;
	struct sl_prefix p;

	sl_peer_cfg_init(&pc);
	pc.follow_endpoint = true;
	if (with_stream) {
		pc.stream_send = stream_send;
		pc.stream_arg = w;
	}
	memcpy(&pc.endpoint, &w->b.udp, sizeof(w->b.udp));
	assert_int_equal(sl_peer_new(w->a.e, PEER_B, &pc), 0);
	memcpy(&pc.endpoint, &w->a.udp, sizeof(w->a.udp));
	pc.stream_send = NULL;
	assert_int_equal(sl_peer_new(w->b.e, PEER_A, &pc), 0);
	harness_prefix(&p, "198.19.0.2/32");
	assert_int_equal(sl_peer_route_add(w->a.e, PEER_B, &p), 0);
	harness_prefix(&p, "2001:db8:1::2/128");
	assert_int_equal(sl_peer_route_add(w->a.e, PEER_B, &p), 0);
	harness_prefix(&p, "0.0.0.0/0");
	assert_int_equal(sl_peer_route_add(w->b.e, PEER_A, &p), 0);
	harness_prefix(&p, "::/0");
	assert_int_equal(sl_peer_route_add(w->b.e, PEER_A, &p), 0);
	make_keys(&ka, &kb, 0x10, 0x1001, 0x2001);
	assert_int_equal(sl_key_set(w->a.e, PEER_B, SL_KEY_PRIMARY, &ka), 0);
	assert_int_equal(sl_key_set(w->b.e, PEER_A, SL_KEY_PRIMARY, &kb), 0);
}

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	struct sl_clock clock = {fake_now, w};

	w->now = 1000 * SL_SEC;
	w->loop = sl_loop_new(&clock);
	assert_non_null(w->loop);
	node_up(w, &w->a, "a", NULL);
	node_up(w, &w->b, "b", NULL);
	w->spy = harness_udp_loopback(&w->spy_addr);
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;

	sl_engine_free(w->a.e);
	sl_engine_free(w->b.e);
	close(w->a.tun_far);
	close(w->b.tun_far);
	close(w->spy);
	sl_loop_free(w->loop);
	free(w);
	return 0;
}

static void settle(struct world *w)
{
	harness_settle(w->loop);
}

static void advance(struct world *w, sl_time_ns d)
{
	w->now += d;
	settle(w);
}

static void test_packet_crosses_both_ways(void **state)
{
	struct world *w = *state;
	uint8_t pkt[1500], got[2000];
	size_t len;

	peers_up(w, false);
	settle(w);
	for (int i = 0; i < 100; i++) {
		len = harness_ipv4_packet(pkt, "198.19.0.1", "198.19.0.2", (size_t)i * 13,
					  (uint8_t)i);
		assert_int_equal(write(w->a.tun_far, pkt, len), (ssize_t)len);
		settle(w);
		assert_int_equal(harness_read(w->b.tun_far, got, sizeof(got)), (ssize_t)len);
		assert_memory_equal(got, pkt, len);
	}
	len = harness_ipv4_packet(pkt, "198.19.0.2", "198.19.0.1", 1000, 0xab);
	assert_int_equal(write(w->b.tun_far, pkt, len), (ssize_t)len);
	settle(w);
	assert_int_equal(harness_read(w->a.tun_far, got, sizeof(got)), (ssize_t)len);
	assert_memory_equal(got, pkt, len);
	assert_int_equal(harness_stats(w->a.e, PEER_B).tx_packets, 100);
	assert_int_equal(harness_stats(w->b.e, PEER_A).rx_packets, 100);
	assert_int_equal(harness_stats(w->b.e, PEER_A).tx_packets, 1);
}

static void test_batch_of_many_packets(void **state)
{
	struct world *w = *state;
	uint8_t pkt[1500], got[2000];
	size_t len;
	int n = 0;

	peers_up(w, false);
	settle(w);
	/* More than one batch per wake-up, in rounds the socketpair buffers can hold. */
	for (int round = 0; round < 6; round++) {
		for (int i = 0; i < 50; i++) {
			len = harness_ipv4_packet(pkt, "198.19.0.1", "198.19.0.2", 1000,
						  (uint8_t)i);
			assert_int_equal(write(w->a.tun_far, pkt, len), (ssize_t)len);
		}
		settle(w);
		while (harness_read(w->b.tun_far, got, sizeof(got)) == (ssize_t)len)
			n++;
	}
	assert_int_equal(n, 300);
	assert_int_equal(harness_stats(w->b.e, PEER_A).rx_packets, 300);
}

static void test_noroute_and_spoofed_source(void **state)
{
	struct world *w = *state;
	uint8_t pkt[200], got[2000];
	struct sl_peer_stats s;
	size_t len;

	peers_up(w, false);
	settle(w);
	len = harness_ipv4_packet(pkt, "198.19.0.1", "198.19.0.77", 10, 1);
	assert_int_equal(write(w->a.tun_far, pkt, len), (ssize_t)len);
	settle(w);
	sl_engine_stats(w->a.e, &s);
	assert_int_equal(s.drops[SL_STAT_DROP_NOROUTE], 1);
	/* B sends from an address A has not routed to B: A refuses it. */
	len = harness_ipv4_packet(pkt, "198.19.0.99", "198.19.0.1", 10, 1);
	assert_int_equal(write(w->b.tun_far, pkt, len), (ssize_t)len);
	settle(w);
	assert_int_equal(harness_read(w->a.tun_far, got, sizeof(got)), -1);
	assert_int_equal(harness_stats(w->a.e, PEER_B).drops[SL_STAT_DROP_NOROUTE], 1);
	/* The first was a send-side drop, the second came in over UDP: only it is an rx drop. */
	assert_int_equal(s.udp_rx_drops[SL_STAT_DROP_NOROUTE], 0);
	assert_int_equal(harness_stats(w->a.e, PEER_B).udp_rx_drops[SL_STAT_DROP_NOROUTE], 1);
}

/* Every datagram the engine read is accepted (data over UDP, keepalive) or one rx drop. */
static void assert_udp_rx_accounted(struct sl_engine *e, uint32_t peer)
{
	struct sl_peer_stats itf, p = harness_stats(e, peer);
	uint64_t drops = 0;

	sl_engine_stats(e, &itf);
	for (int d = 0; d < SL_STAT_DROP__COUNT; d++)
		drops += itf.udp_rx_drops[d] + p.udp_rx_drops[d];
	assert_true(itf.udp_rx_datagrams > 0);
	assert_int_equal(itf.udp_rx_datagrams, p.rx_packets - p.stream_rx_packets + p.keepalive_rx +
						       itf.keepalive_rx + drops);
}

/* Point A's peer at the spy, send one packet, and capture what A sealed. */
static ssize_t capture_sealed(struct world *w, uint8_t *buf, size_t cap)
{
	uint8_t pkt[200];
	size_t len = harness_ipv4_packet(pkt, "198.19.0.1", "198.19.0.2", 50, 7);
	struct pollfd pfd = {.fd = w->spy, .events = POLLIN};

	assert_int_equal(sl_peer_set_endpoint(w->a.e, PEER_B, (struct sockaddr *)&w->spy_addr,
					      sizeof(w->spy_addr)),
			 0);
	assert_int_equal(write(w->a.tun_far, pkt, len), (ssize_t)len);
	settle(w);
	assert_int_equal(poll(&pfd, 1, 100), 1);
	return recv(w->spy, buf, cap, 0);
}

static void spy_send(struct world *w, const uint8_t *buf, size_t len)
{
	assert_int_equal(
		sendto(w->spy, buf, len, 0, (struct sockaddr *)&w->b.udp, sizeof(w->b.udp)),
		(ssize_t)len);
	settle(w);
}

static void test_tampered_replayed_unknown(void **state)
{
	struct world *w = *state;
	uint8_t wire[2000], got[2000];
	ssize_t n;
	struct sl_peer_stats s;

	peers_up(w, false);
	settle(w);
	n = capture_sealed(w, wire, sizeof(wire));
	assert_true(n > SL_ESP_HDR_LEN);
	assert_int_equal(sl_get_be32(wire), 0x2001);
	spy_send(w, wire, (size_t)n); /* genuine: delivered */
	assert_true(harness_read(w->b.tun_far, got, sizeof(got)) > 0);
	spy_send(w, wire, (size_t)n); /* again: replay */
	assert_int_equal(harness_stats(w->b.e, PEER_A).drops[SL_STAT_DROP_REPLAY], 1);
	wire[n - 20] ^= 0x01; /* tampered: auth */
	sl_put_be32(wire + 4, 999);
	spy_send(w, wire, (size_t)n);
	assert_int_equal(harness_stats(w->b.e, PEER_A).drops[SL_STAT_DROP_AUTH], 1);
	sl_put_be32(wire, 0xdead); /* unknown SPI: engine-wide nokey */
	spy_send(w, wire, (size_t)n);
	spy_send(w, (const uint8_t *)"\xff", 1);     /* NAT keepalive: not a drop */
	spy_send(w, (const uint8_t *)"\x00\x00", 2); /* garbage: malformed */
	sl_engine_stats(w->b.e, &s);
	assert_int_equal(s.drops[SL_STAT_DROP_NOKEY], 1);
	assert_int_equal(s.drops[SL_STAT_DROP_MALFORMED], 1);
	assert_int_equal(s.keepalive_rx, 1);
	assert_int_equal(harness_read(w->b.tun_far, got, sizeof(got)), -1);
	/* The endpoint moved to the spy only for the authenticated packet. */
	s = harness_stats(w->b.e, PEER_A);
	assert_int_equal(((struct sockaddr_in *)&s.endpoint)->sin_port, w->spy_addr.sin_port);
	assert_udp_rx_accounted(w->b.e, PEER_A);
}

static void send_forged(struct world *w, uint8_t *wire, size_t n, uint32_t seq)
{
	uint32_t genuine = sl_get_be32(wire + 4);

	wire[n - 20] ^= 0x01;
	sl_put_be32(wire + 4, seq);
	spy_send(w, wire, n);
	wire[n - 20] ^= 0x01;
	sl_put_be32(wire + 4, genuine);
}

/* Auth failures from an address that is not the peer's endpoint spend a budget (64, then
 * one per 0.5 ms); past it they are dropped before decryption as rate. The endpoint itself
 * is never charged, and a genuine packet from elsewhere gets through once tokens are back. */
static void test_auth_failure_budget(void **state)
{
	struct world *w = *state;
	uint8_t wire[2000], got[2000];
	ssize_t n;
	struct sl_peer_stats s;
	uint32_t seq = 1000;

	peers_up(w, false);
	settle(w);
	n = capture_sealed(w, wire, sizeof(wire));
	assert_true(n > SL_ESP_HDR_LEN);
	for (int i = 0; i < 80; i++) /* the spy is not B's endpoint for A */
		send_forged(w, wire, (size_t)n, seq++);
	s = harness_stats(w->b.e, PEER_A);
	assert_int_equal(s.drops[SL_STAT_DROP_AUTH], 64);
	assert_int_equal(s.drops[SL_STAT_DROP_RATE], 16);
	spy_send(w, wire, (size_t)n); /* genuine, but no token: refused unopened */
	assert_int_equal(harness_stats(w->b.e, PEER_A).drops[SL_STAT_DROP_RATE], 17);
	advance(w, 5 * SL_MSEC); /* 10 tokens back */
	for (int i = 0; i < 10; i++)
		send_forged(w, wire, (size_t)n, seq++);
	send_forged(w, wire, (size_t)n, seq++);
	s = harness_stats(w->b.e, PEER_A);
	assert_int_equal(s.drops[SL_STAT_DROP_AUTH], 74);
	assert_int_equal(s.drops[SL_STAT_DROP_RATE], 18);
	advance(w, SL_MSEC);
	spy_send(w, wire, (size_t)n); /* genuine, with a token: delivered, endpoint moves */
	assert_true(harness_read(w->b.tun_far, got, sizeof(got)) > 0);
	s = harness_stats(w->b.e, PEER_A);
	assert_int_equal(((struct sockaddr_in *)&s.endpoint)->sin_port, w->spy_addr.sin_port);
	for (int i = 0; i < 100; i++) /* from the endpoint now: never charged */
		send_forged(w, wire, (size_t)n, seq++);
	s = harness_stats(w->b.e, PEER_A);
	assert_int_equal(s.drops[SL_STAT_DROP_AUTH], 174);
	assert_int_equal(s.drops[SL_STAT_DROP_RATE], 18);
	assert_udp_rx_accounted(w->b.e, PEER_A);
}

/* Key material does not outlive its slot: a freed slot is all zero bytes (keys, salts, AEAD
 * contexts, replay window), swapped slots leave no copy behind. */
static void test_freed_key_slot_is_zeroed(void **state)
{
	struct world *w = *state;
	static const struct key_slot zero;
	struct peer *p;

	peers_up(w, false);
	p = engine_peer(w->a.e, PEER_B);
	assert_non_null(p);
	assert_true(p->slots[SL_KEY_PRIMARY].present);
	assert_memory_not_equal(&p->slots[SL_KEY_PRIMARY], &zero, sizeof(zero));
	assert_int_equal(sl_key_del(w->a.e, PEER_B, SL_KEY_PRIMARY), 0);
	assert_memory_equal(&p->slots[SL_KEY_PRIMARY], &zero, sizeof(zero));
	assert_memory_equal(&p->slots[SL_KEY_SECONDARY], &zero, sizeof(zero));
}

static void test_rekey_swap_keeps_lame_duck(void **state)
{
	struct world *w = *state;
	struct sl_key_pair ka, kb;
	uint8_t pkt[300], got[2000], old_wire[2000];
	size_t len = harness_ipv4_packet(pkt, "198.19.0.1", "198.19.0.2", 100, 3);
	ssize_t n;

	peers_up(w, false);
	settle(w);
	n = capture_sealed(w, old_wire,
			   sizeof(old_wire)); /* sealed with the old key, not delivered */
	sl_peer_set_endpoint(w->a.e, PEER_B, (struct sockaddr *)&w->b.udp, sizeof(w->b.udp));
	make_keys(&ka, &kb, 0x40, 0x1002, 0x2002);
	assert_int_equal(sl_key_set(w->b.e, PEER_A, SL_KEY_SECONDARY, &kb), 0);
	assert_int_equal(sl_key_set(w->a.e, PEER_B, SL_KEY_SECONDARY, &ka), 0);
	assert_int_equal(sl_key_swap(w->a.e, PEER_B), 0); /* A sends with the new key now */
	assert_int_equal(write(w->a.tun_far, pkt, len), (ssize_t)len);
	settle(w);
	assert_int_equal(harness_read(w->b.tun_far, got, sizeof(got)), (ssize_t)len);
	assert_int_equal(sl_key_swap(w->b.e, PEER_A), 0);
	spy_send(w, old_wire, (size_t)n); /* in flight across the swap: lame duck opens it */
	assert_true(harness_read(w->b.tun_far, got, sizeof(got)) > 0);
	assert_int_equal(harness_stats(w->b.e, PEER_A).drops[SL_STAT_DROP_NOKEY], 0);
	assert_int_equal(harness_stats(w->b.e, PEER_A).key_id[SL_KEY_PRIMARY], 0x40);
	/* An SPI already used elsewhere is refused, and changes nothing. */
	make_keys(&ka, &kb, 0x50, 0x1002, 0x3000);
	assert_int_equal(sl_key_set(w->a.e, PEER_B, SL_KEY_SECONDARY, &ka), -EEXIST);
	assert_int_equal(sl_key_del(w->a.e, PEER_B, SL_KEY_SECONDARY), 0);
	assert_int_equal(sl_key_swap(w->a.e, PEER_B), -ENOKEY);
}

static void drain_spy(struct world *w)
{
	uint8_t buf[2000];

	settle(w);
	while (recv(w->spy, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/*
 * One receive batch from the peer's own endpoint with two SPIs (a rekey in flight), runs of each,
 * a forged datagram in a run and an unknown SPI: the receive path keeps the last datagram's SA
 * for the next (datapath.c struct rx_sa), which must switch with the SPI and never outlive a
 * failure.
 */
static void test_batch_of_two_spis_from_the_endpoint(void **state)
{
	struct world *w = *state;
	struct sl_key_pair ka, kb;
	uint8_t wire[7][2000], got[2000];
	ssize_t n[7];
	struct sl_peer_stats s;
	int delivered = 0;
	/* old, old, new, new, forged new, new, unknown, old */
	const int order[] = {0, 1, 3, 4, 6, 5, 6, 2};

	peers_up(w, false);
	settle(w);
	assert_int_equal(sl_peer_set_endpoint(w->b.e, PEER_A, (struct sockaddr *)&w->spy_addr,
					      sizeof(w->spy_addr)),
			 0);
	/* A probes a new endpoint, and a new key, at once (a DPD): those are not captured. */
	assert_int_equal(sl_peer_set_endpoint(w->a.e, PEER_B, (struct sockaddr *)&w->spy_addr,
					      sizeof(w->spy_addr)),
			 0);
	drain_spy(w);
	for (int i = 0; i < 3; i++)
		n[i] = capture_sealed(w, wire[i], sizeof(wire[i]));
	make_keys(&ka, &kb, 0x40, 0x1002, 0x2002);
	assert_int_equal(sl_key_set(w->b.e, PEER_A, SL_KEY_SECONDARY, &kb), 0);
	assert_int_equal(sl_key_set(w->a.e, PEER_B, SL_KEY_SECONDARY, &ka), 0);
	assert_int_equal(sl_key_swap(w->a.e, PEER_B), 0);
	drain_spy(w);
	for (int i = 3; i < 6; i++)
		n[i] = capture_sealed(w, wire[i], sizeof(wire[i]));
	assert_int_not_equal(sl_get_be32(wire[0]), sl_get_be32(wire[3]));
	/* wire[6]: a copy of a new-key datagram, tampered, with a sequence number not yet seen. */
	memcpy(wire[6], wire[4], (size_t)n[4]);
	n[6] = n[4];
	wire[6][n[6] - 20] ^= 0x01;
	sl_put_be32(wire[6] + 4, 999);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const uint8_t *d = wire[order[i]];
		uint8_t unknown[2000];

		if (i == 6) { /* the second 6: an SPI nobody has */
			memcpy(unknown, wire[3], (size_t)n[3]);
			sl_put_be32(unknown, 0xdead);
			d = unknown;
		}
		assert_int_equal(sendto(w->spy, d, (size_t)n[order[i]], 0,
					(struct sockaddr *)&w->b.udp, sizeof(w->b.udp)),
				 n[order[i]]);
	}
	settle(w); /* all eight in B's socket: one receive batch */
	while (harness_read(w->b.tun_far, got, sizeof(got)) > 0)
		delivered++;
	assert_int_equal(delivered, 6);
	s = harness_stats(w->b.e, PEER_A);
	assert_int_equal(s.drops[SL_STAT_DROP_AUTH], 1);
	assert_int_equal(s.drops[SL_STAT_DROP_REPLAY], 0);
	sl_engine_stats(w->b.e, &s);
	assert_int_equal(s.drops[SL_STAT_DROP_NOKEY], 1);
	assert_udp_rx_accounted(w->b.e, PEER_A);
}

static void test_fallback_to_stream_and_back(void **state)
{
	struct world *w = *state;
	uint8_t pkt[300], got[2000];
	size_t len = harness_ipv4_packet(pkt, "198.19.0.1", "198.19.0.2", 100, 9);
	struct sockaddr_in dead = w->spy_addr;

	peers_up(w, true);
	/* Until UDP answers, data waits on the stream. */
	assert_int_equal(harness_stats(w->a.e, PEER_B).transport, SL_TRANSPORT_STREAM);
	settle(w);
	assert_int_equal(harness_stats(w->a.e, PEER_B).transport, SL_TRANSPORT_UDP);
	assert_int_equal(w->events[SL_EVENT_PEER_UDP_OK], 1);
	/*
	 * UDP goes silent: A's peer endpoint becomes a socket that never answers
	 * (and B stops probing, or its authenticated probes would move A back).
	 */
	assert_int_equal(sl_peer_set_keepalive(w->b.e, PEER_A, 0, 3000), 0);
	sl_peer_set_endpoint(w->a.e, PEER_B, (struct sockaddr *)&dead, sizeof(dead));
	for (int i = 0; i < 4; i++)
		advance(w, SL_SEC);
	assert_int_equal(harness_stats(w->a.e, PEER_B).transport, SL_TRANSPORT_STREAM);
	assert_int_equal(w->events[SL_EVENT_PEER_SILENT], 1);
	assert_int_equal(write(w->a.tun_far, pkt, len), (ssize_t)len);
	settle(w);
	assert_int_equal(w->stream_sent, 1);
	assert_int_equal(w->stream_last_len, len);
	assert_memory_equal(w->stream_last, pkt, len);
	/* What arrives over the stream is checked and written to TUN like UDP data. */
	len = harness_ipv4_packet(pkt, "198.19.0.2", "198.19.0.1", 60, 4);
	assert_int_equal(sl_engine_stream_input(w->a.e, PEER_B, pkt, len), 0);
	assert_int_equal(harness_read(w->a.tun_far, got, sizeof(got)), (ssize_t)len);
	assert_int_equal(harness_stats(w->a.e, PEER_B).stream_rx_packets, 1);
	/* UDP works again: the next probe is answered and data returns to UDP. */
	sl_peer_set_endpoint(w->a.e, PEER_B, (struct sockaddr *)&w->b.udp, sizeof(w->b.udp));
	advance(w, SL_SEC);
	assert_int_equal(harness_stats(w->a.e, PEER_B).transport, SL_TRANSPORT_UDP);
	assert_int_equal(w->events[SL_EVENT_PEER_UDP_OK], 2);
}

/* Datagrams waiting on the spy, read and counted. */
static int spy_drain(struct world *w)
{
	uint8_t buf[2048];
	int n = 0;

	while (recv(w->spy, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		n++;
	return n;
}

/*
 * Answers lost for a while, as at a full queue. Here an answer comes at once (no delay on
 * loopback with the test clock), so the last one was at 0 s: the probe at 1 s is lost, and from
 * the one at 2 s, late, probes go out every 250 ms (keepalive 1 s / 4). The answer to the one at
 * 2.75 s keeps data on UDP with no SILENT event; at one probe a second the next would have come
 * at 3 s, DeadAfter, too late.
 */
static void test_late_answer_probes_faster(void **state)
{
	struct world *w = *state;
	int probes = 0;

	peers_up(w, true);
	settle(w);
	assert_int_equal(harness_stats(w->a.e, PEER_B).transport, SL_TRANSPORT_UDP);
	assert_int_equal(sl_peer_set_keepalive(w->b.e, PEER_A, 0, 3000), 0);
	/* Probes go to the spy, which never answers. */
	sl_peer_set_endpoint(w->a.e, PEER_B, (struct sockaddr *)&w->spy_addr, sizeof(w->spy_addr));
	spy_drain(w);
	for (int i = 0; i < 10; i++) { /* 0.25 .. 2.5 s */
		advance(w, SL_SEC / 4);
		probes += spy_drain(w);
	}
	assert_int_equal(probes, 4); /* 1, 2, 2.25 and 2.5 s */
	assert_int_equal(harness_stats(w->a.e, PEER_B).transport, SL_TRANSPORT_UDP);
	/* The path answers again: the probe at 2.75 s is answered in time. */
	sl_peer_set_endpoint(w->a.e, PEER_B, (struct sockaddr *)&w->b.udp, sizeof(w->b.udp));
	for (int i = 0; i < 9; i++) /* to 4.75 s */
		advance(w, SL_SEC / 4);
	assert_int_equal(w->events[SL_EVENT_PEER_SILENT], 0);
	assert_int_equal(harness_stats(w->a.e, PEER_B).transport, SL_TRANSPORT_UDP);
	/* Answered again: one probe a second (at 5 s) until one is late. */
	sl_peer_set_endpoint(w->a.e, PEER_B, (struct sockaddr *)&w->spy_addr, sizeof(w->spy_addr));
	probes = 0;
	for (int i = 0; i < 4; i++) { /* to 5.75 s */
		advance(w, SL_SEC / 4);
		probes += spy_drain(w);
	}
	assert_int_equal(probes, 1);
}

/* A server does not know a client's UDP address until its first authenticated packet. */
static void test_learned_endpoint_is_probed_at_once(void **state)
{
	struct world *w = *state;
	struct sl_peer_cfg pc;
	struct sl_key_pair ka, kb;
	struct sl_prefix p;

	sl_peer_cfg_init(&pc);
	pc.follow_endpoint = true;
	pc.stream_send = stream_send;
	pc.stream_arg = w;
	assert_int_equal(sl_peer_new(w->a.e, PEER_B, &pc), 0); /* endpoint unknown */
	memcpy(&pc.endpoint, &w->a.udp, sizeof(w->a.udp));
	pc.stream_send = NULL;
	assert_int_equal(sl_peer_new(w->b.e, PEER_A, &pc), 0);
	harness_prefix(&p, "0.0.0.0/0");
	assert_int_equal(sl_peer_route_add(w->b.e, PEER_A, &p), 0);
	make_keys(&ka, &kb, 0x60, 0x1006, 0x2006);
	assert_int_equal(sl_key_set(w->a.e, PEER_B, SL_KEY_PRIMARY, &ka), 0);
	assert_int_equal(sl_key_set(w->b.e, PEER_A, SL_KEY_PRIMARY, &kb), 0); /* B probes A */
	settle(w); /* no clock tick: A learns B's address and probes back within the round trip */
	assert_int_equal(harness_stats(w->a.e, PEER_B).endpoint.ss_family, AF_INET);
	assert_int_equal(harness_stats(w->a.e, PEER_B).transport, SL_TRANSPORT_UDP);
}

static void test_control_api_validates(void **state)
{
	struct world *w = *state;
	struct sl_peer_cfg pc;
	struct sl_key_pair kp = {0};
	struct sl_prefix p;

	sl_peer_cfg_init(&pc);
	assert_int_equal(sl_peer_new(w->a.e, SL_PEER_ID_MAX + 1, &pc), -EINVAL);
	pc.keepalive_ms = 5000; /* silent must be longer than keepalive */
	assert_int_equal(sl_peer_new(w->a.e, 5, &pc), -EINVAL);
	sl_peer_cfg_init(&pc);
	assert_int_equal(sl_peer_new(w->a.e, 5, &pc), 0);
	assert_int_equal(sl_peer_new(w->a.e, 5, &pc), -EEXIST);
	kp.cipher = 99;
	kp.rx.spi = kp.tx.spi = 1;
	assert_int_equal(sl_key_set(w->a.e, 5, SL_KEY_PRIMARY, &kp), -EINVAL);
	kp.cipher = SL_CIPHER_CHACHA20POLY1305;
	kp.rx.spi = 0;
	assert_int_equal(sl_key_set(w->a.e, 5, SL_KEY_PRIMARY, &kp), -EINVAL);
	assert_int_equal(sl_key_set(w->a.e, 6, SL_KEY_PRIMARY, &kp), -ENOENT);
	p.family = AF_INET;
	p.len = 33;
	assert_int_equal(sl_peer_route_add(w->a.e, 5, &p), -EINVAL);
	assert_int_equal(sl_peer_del(w->a.e, 5), 0);
	assert_int_equal(sl_peer_del(w->a.e, 5), -ENOENT);
}

static int uapi_call(const char *path, const char *req, char *reply, size_t cap, struct world *w)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	size_t len = 0;

	strcpy(sun.sun_path, path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	for (int i = 0; i < 100 && (len < 2 || strcmp(reply + len - 2, "\n\n")); i++) {
		ssize_t n;

		settle(w);
		n = recv(fd, reply + len, cap - len - 1, MSG_DONTWAIT);
		if (n > 0)
			len += (size_t)n;
		reply[len] = '\0';
	}
	close(fd);
	return (int)len;
}

static void test_control_socket(void **state)
{
	struct world *w = *state;
	char path[64], reply[8192];
	struct node c;

	snprintf(path, sizeof(path), "/tmp/sluice-test-%d.sock", getpid());
	node_up(w, &c, "c", path);
	uapi_call(path, "op=peer_new\npeer_id=7\nendpoint=127.0.0.1:9\n\n", reply, sizeof(reply),
		  w);
	assert_non_null(strstr(reply, "errno=0\n"));
	uapi_call(path, "op=route_add\npeer_id=7\nprefix=198.19.7.0/24\n\n", reply, sizeof(reply),
		  w);
	assert_non_null(strstr(reply, "errno=0\n"));
	uapi_call(path,
		  "op=key_set\npeer_id=7\nslot=0\ncipher=aes-128-gcm\nrx_spi=77\n"
		  "rx_key=000102030405060708090a0b0c0d0e0f\nrx_salt=01020304\ntx_spi=78\n"
		  "tx_key=000102030405060708090a0b0c0d0e0f\ntx_salt=01020304\n\n",
		  reply, sizeof(reply), w);
	assert_non_null(strstr(reply, "errno=0\n"));
	uapi_call(path, "op=key_set\npeer_id=7\nslot=0\ncipher=des\n\n", reply, sizeof(reply), w);
	assert_non_null(strstr(reply, "errno=22\n"));
	uapi_call(path, "op=stats\n\n", reply, sizeof(reply), w);
	assert_non_null(strstr(reply, "interface=c\n"));
	assert_non_null(strstr(reply, "peer_id=7\nendpoint=127.0.0.1:9\n"));
	assert_non_null(strstr(reply, "drop_auth=0\n"));
	assert_non_null(strstr(reply, "key=0:0:77:78:"));
	uapi_call(path, "op=peer_del\npeer_id=7\n\n", reply, sizeof(reply), w);
	assert_non_null(strstr(reply, "errno=0\n"));
	uapi_call(path, "op=frobnicate\n\n", reply, sizeof(reply), w);
	assert_non_null(strstr(reply, "errno=95\n"));
	uapi_call(path, "op=down\n\n", reply, sizeof(reply), w);
	assert_int_equal(w->events[SL_EVENT_SHUTDOWN], 1);
	sl_engine_free(c.e);
	close(c.tun_far);
	assert_int_equal(access(path, F_OK), -1); /* the socket file is removed */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_packet_crosses_both_ways, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_of_many_packets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_noroute_and_spoofed_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tampered_replayed_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rekey_swap_keeps_lame_duck, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_of_two_spis_from_the_endpoint, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fallback_to_stream_and_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_answer_probes_faster, setup, teardown),
		cmocka_unit_test_setup_teardown(test_learned_endpoint_is_probed_at_once, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_control_api_validates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_freed_key_slot_is_zeroed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_failure_budget, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
