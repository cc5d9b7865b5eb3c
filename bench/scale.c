// SPDX-License-Identifier: MIT
/*
 * The in-process half of the scale test (bench/scale.sh): one server engine
 * with N peers made through the C API (as bench/scale_peers.h describes
 * them), a socketpair for its TUN device and a UDP socket on 127.0.0.1, a
 * frozen clock and keepalives off, so runs repeat to the instruction. Needs
 * no root.
 *
 *   scale mem N
 *       malloc accounting (mallinfo2: in-use heap plus mmapped blocks) while
 *       N idle peers are made, step by step; prints
 *       "mem peers=N peer_new=B route_add=B key_set=B total=B" in bytes per peer.
 *
 *   scale lookup N ROUNDS [ACTIVE]
 *       each round: 32 ESP packets from 32 peers to the engine's UDP port
 *       (SPI lookup, replay, open, source route check, TUN write) and 32
 *       inner packets into the TUN toward 32 peers (route lookup, seal,
 *       sendmmsg), the peers taken in turn from ACTIVE (default 256) spread
 *       evenly over all N, so lookups walk the whole table. Every packet
 *       is checked (the right peer's SPI, the right inner source) and the
 *       engine's drop counters must stay zero. bench/scale.sh runs this
 *       under callgrind at two ROUNDS and divides the difference; prints
 *       "lookup peers=N active=S packets=P active_bytes_per_peer=B".
 *
 * The harness seals with its own copies of the peers' keys (outside
 * sl_loop_run_once, so not in the engine's count).
 */
#include "core/bytes.h"
#include "core/loop.h"
#include "core/pkt.h"
#include "proto/esp.h"
#include "sluice/engine.h"

#include "../tests/engine_harness.h"
#include "scale_peers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH	   32
#define INNER_LEN  92 /* IPv4 + UDP + 64 bytes: the bench's 64-byte packets */
#define IDLE_LIMIT 20 /* rounds of 20 ms without progress before a packet counts as lost */
#define ACTIVE_MAX 4096

struct harness_peer {
	uint32_t index;
	struct sl_esp_sa tx; /* seals what the engine's rx SA of this peer opens */
};

struct world {
	sl_time_ns now;
	struct sl_loop *loop;
	struct sl_engine *e;
	int tun_far, udp;
	struct sockaddr_in engine_addr;
	uint32_t npeers, nactive;
	struct harness_peer *active;
	uint32_t rx_cursor, tx_cursor; /* next active peer to send from / to */
	unsigned long long rx_done, tx_done;
};

static sl_time_ns frozen_now(void *arg)
{
	return ((struct world *)arg)->now;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "scale: %s: %s\n", what, strerror(err < 0 ? -err : err));
	return -1;
}

static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static int engine_up(struct world *w)
{
	struct sl_clock clock = {frozen_now, w};
	struct sl_engine_cfg cfg;
	struct sockaddr_in local = {.sin_family = AF_INET};
	socklen_t len = sizeof(local);
	int r;

	w->now = 1000 * SL_SEC;
	w->tun_far = w->udp = -1;
	w->loop = sl_loop_new(&clock);
	if (!w->loop)
		return fail("sl_loop_new", errno);
	sl_engine_cfg_init(&cfg);
	cfg.loop = w->loop;
	cfg.ifname = "scale";
	r = harness_engine_new(&w->e, &w->tun_far, &cfg, 0);
	if (r < 0)
		return fail("an engine on a socketpair", r);
	w->engine_addr = (struct sockaddr_in){.sin_family = AF_INET,
					      .sin_port = htons(sl_engine_udp_port(w->e, 0)),
					      .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	/* The harness's UDP socket: every peer's endpoint (the engine sends there). */
	local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	w->udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (w->udp < 0 || bind(w->udp, (struct sockaddr *)&local, sizeof(local)) < 0 ||
	    getsockname(w->udp, (struct sockaddr *)&local, &len) < 0)
		return fail("harness UDP socket", errno);
	return local.sin_port; /* network byte order, for the peers' endpoints */
}

/* Peers 0..n-1, each step over all peers, so the heap growth of each step can be measured. */
static int peers_new(struct world *w, uint32_t n, uint16_t harness_port_be)
{
	for (uint32_t i = 0; i < n; i++) {
		struct sl_peer_cfg pc;
		struct sockaddr_in *sin = (struct sockaddr_in *)&pc.endpoint;
		int r;

		sl_peer_cfg_init(&pc);
		pc.keepalive_ms = 0;
		sin->sin_family = AF_INET;
		sin->sin_port = harness_port_be;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		r = sl_peer_new(w->e, SCALE_PEER_ID0 + i, &pc);
		if (r < 0)
			return fail("sl_peer_new", r);
	}
	return 0;
}

static int routes_add(struct world *w, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct sl_prefix p;
		int r;

		scale_prefix(i, &p);
		r = sl_peer_route_add(w->e, SCALE_PEER_ID0 + i, &p);
		if (r < 0)
			return fail("sl_peer_route_add", r);
	}
	return 0;
}

static int keys_set(struct world *w, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct sl_key_pair kp;
		int r;

		scale_server_keys(i, &kp);
		r = sl_key_set(w->e, SCALE_PEER_ID0 + i, SL_KEY_PRIMARY, &kp);
		if (r < 0)
			return fail("sl_key_set", r);
	}
	return 0;
}

static int world_up(struct world *w, uint32_t n, size_t steps[4])
{
	int port = engine_up(w);

	if (port < 0)
		return -1;
	steps[0] = heap_in_use();
	if (peers_new(w, n, (uint16_t)port))
		return -1;
	steps[1] = heap_in_use();
	if (routes_add(w, n))
		return -1;
	steps[2] = heap_in_use();
	if (keys_set(w, n))
		return -1;
	steps[3] = heap_in_use();
	w->npeers = n;
	return 0;
}

static void world_down(struct world *w)
{
	for (uint32_t i = 0; i < w->nactive; i++)
		sl_esp_sa_clear(&w->active[i].tx);
	free(w->active);
	if (w->e)
		sl_engine_free(w->e);
	if (w->tun_far >= 0)
		close(w->tun_far);
	if (w->udp >= 0)
		close(w->udp);
	if (w->loop)
		sl_loop_free(w->loop);
}

static int warm_up(struct sl_esp_sa *sa)
{
	uint8_t store[SL_ESP_HEADROOM + 64 + SL_ESP_TAILROOM];
	struct sl_pkt p = {.buf = store, .cap = sizeof(store)};

	sl_pkt_reset(&p, SL_ESP_HEADROOM);
	memset(sl_pkt_put(&p, 64), 0, 64);
	return sl_esp_seal(sa, &p, SL_ESP_NH_NONE) == SL_DROP_NONE ? 0 : fail("sl_esp_seal", EIO);
}

static int active_up(struct world *w, uint32_t nactive)
{
	w->nactive = 0;
	w->active = calloc(nactive, sizeof(*w->active));
	if (!w->active)
		return fail("calloc", ENOMEM);
	for (uint32_t k = 0; k < nactive; k++) {
		struct harness_peer *h = &w->active[k];
		struct sl_key_pair kp;
		int r;

		h->index = (uint32_t)((uint64_t)k * w->npeers / nactive);
		scale_server_keys(h->index, &kp);
		r = sl_esp_sa_init(&h->tx, kp.cipher, kp.rx.key, sl_cipher_key_len(kp.cipher),
				   kp.rx.salt, kp.rx.spi, false, true, 0);
		if (r < 0)
			return fail("sl_esp_sa_init", r);
		w->nactive++;
		/* Its AEAD context is made on first use: now, so its bytes are not counted as the
		 * engine's. The sequence number it spends is just a gap for the engine's window. */
		if (warm_up(&h->tx))
			return -1;
	}
	return 0;
}

static void make_inner(uint8_t *b, uint32_t src, uint32_t dst)
{
	memset(b, 0, INNER_LEN);
	b[0] = 0x45;
	sl_put_be16(b + 2, INNER_LEN);
	b[8] = 64;
	b[9] = 17;
	sl_put_be32(b + 12, src);
	sl_put_be32(b + 16, dst);
	sl_put_be16(b + 20, 9);
	sl_put_be16(b + 22, 9);
	sl_put_be16(b + 24, INNER_LEN - 20);
}

/* BATCH sealed ESP datagrams from the next BATCH active peers to the engine. */
static int send_esp(struct world *w)
{
	uint8_t store[SL_ESP_HEADROOM + INNER_LEN + SL_ESP_TAILROOM + 64];

	for (int i = 0; i < BATCH; i++) {
		struct harness_peer *h = &w->active[w->rx_cursor];
		struct sl_pkt p = {.buf = store, .cap = sizeof(store)};

		w->rx_cursor = (w->rx_cursor + 1) % w->nactive;
		sl_pkt_reset(&p, SL_ESP_HEADROOM);
		make_inner(sl_pkt_put(&p, INNER_LEN), SCALE_INNER0 + h->index, SCALE_SERVER_IN);
		if (sl_esp_seal(&h->tx, &p, SL_ESP_NH_IPV4) != SL_DROP_NONE)
			return fail("sl_esp_seal", EIO);
		if (sendto(w->udp, p.data, p.len, 0, (struct sockaddr *)&w->engine_addr,
			   sizeof(w->engine_addr)) != (ssize_t)p.len)
			return fail("sendto engine", errno);
	}
	return 0;
}

/* BATCH inner packets into the TUN, toward the next BATCH active peers. */
static int send_tun(struct world *w)
{
	uint8_t b[INNER_LEN];

	for (int i = 0; i < BATCH; i++) {
		uint32_t k = (w->tx_cursor + (uint32_t)i) % w->nactive;

		make_inner(b, SCALE_SERVER_IN, SCALE_INNER0 + w->active[k].index);
		if (send(w->tun_far, b, sizeof(b), 0) != (ssize_t)sizeof(b))
			return fail("write tun", errno);
	}
	return 0;
}

/* What came out: inner packets from the right sources (TUN), ESP with the right SPIs (UDP). */
static int drain(struct world *w)
{
	uint8_t buf[2048];
	int n = 0;
	ssize_t len;

	while ((len = recv(w->tun_far, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		uint32_t src = sl_get_be32(buf + 12);

		if (len != INNER_LEN || src < SCALE_INNER0 || src >= SCALE_INNER0 + w->npeers) {
			fprintf(stderr, "scale: TUN got %zd bytes from %08x\n", len, src);
			return -1;
		}
		w->rx_done++;
		n++;
	}
	while ((len = recv(w->udp, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		uint32_t want = SCALE_TX_SPI0 + w->active[w->tx_cursor].index;

		if (len < SL_ESP_HDR_LEN || sl_esp_spi(buf) != want) {
			fprintf(stderr, "scale: UDP got %zd bytes, SPI %08x, want %08x\n", len,
				len >= 4 ? sl_esp_spi(buf) : 0, want);
			return -1;
		}
		w->tx_cursor = (w->tx_cursor + 1) % w->nactive;
		w->tx_done++;
		n++;
	}
	return n;
}

static int round_trip(struct world *w)
{
	unsigned long long rx_want = w->rx_done + BATCH, tx_want = w->tx_done + BATCH;
	int idle = 0;

	if (send_esp(w) || send_tun(w))
		return -1;
	while (w->rx_done < rx_want || w->tx_done < tx_want) {
		int ran = sl_loop_run_once(w->loop, 20), got = drain(w);

		if (ran < 0 || got < 0)
			return ran < 0 ? fail("sl_loop_run_once", ran) : -1;
		idle = ran || got ? 0 : idle + 1;
		if (idle >= IDLE_LIMIT) {
			fprintf(stderr, "scale: lost packets: rx %llu/%llu, tx %llu/%llu\n",
				w->rx_done, rx_want, w->tx_done, tx_want);
			return -1;
		}
	}
	return 0;
}

static int check_no_drops(struct world *w)
{
	struct sl_peer_stats s;

	sl_engine_stats(w->e, &s);
	for (int d = 0; d < SL_STAT_DROP__COUNT; d++)
		if (s.drops[d])
			return fprintf(stderr, "scale: engine drop counter %d is %llu\n", d,
				       (unsigned long long)s.drops[d]),
			       -1;
	for (uint32_t k = 0; k < w->nactive; k++) {
		if (sl_peer_stats(w->e, SCALE_PEER_ID0 + w->active[k].index, &s) < 0)
			return fail("sl_peer_stats", ENOENT);
		for (int d = 0; d < SL_STAT_DROP__COUNT; d++)
			if (s.drops[d])
				return fprintf(stderr, "scale: peer %u drop counter %d is %llu\n",
					       w->active[k].index, d,
					       (unsigned long long)s.drops[d]),
				       -1;
	}
	return 0;
}

static bool parse_count(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return !errno && end != s && !*end && *out >= 1 && *out <= max;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: scale mem PEERS | scale lookup PEERS ROUNDS [ACTIVE]\n"
		"  PEERS 1..%u, ACTIVE 1..%u (default 256)\n",
		SCALE_PEERS_MAX, ACTIVE_MAX);
	return 2;
}

static int cmd_mem(unsigned long n)
{
	static struct world w;
	size_t s[4];
	int r = world_up(&w, (uint32_t)n, s);

	if (r == 0)
		printf("mem peers=%lu peer_new=%zu route_add=%zu key_set=%zu total=%zu\n", n,
		       (s[1] - s[0]) / n, (s[2] - s[1]) / n, (s[3] - s[2]) / n, (s[3] - s[0]) / n);
	world_down(&w);
	return r ? 1 : 0;
}

static int cmd_lookup(unsigned long n, unsigned long rounds, unsigned long active)
{
	static struct world w;
	size_t s[4], before;
	int r = world_up(&w, (uint32_t)n, s);

	if (active > n)
		active = n;
	if (r == 0)
		r = active_up(&w, (uint32_t)active);
	before = heap_in_use();
	for (unsigned long i = 0; r == 0 && i < rounds; i++)
		r = round_trip(&w);
	if (r == 0)
		r = check_no_drops(&w);
	if (r == 0)
		printf("lookup peers=%lu active=%lu packets=%llu active_bytes_per_peer=%zu\n", n,
		       active, w.rx_done + w.tx_done, (heap_in_use() - before) / active);
	world_down(&w);
	return r ? 1 : 0;
}

int main(int argc, char **argv)
{
	unsigned long n, rounds, active = 256;

	if (argc >= 3 && !strcmp(argv[1], "mem") && argc == 3 &&
	    parse_count(argv[2], SCALE_PEERS_MAX, &n))
		return cmd_mem(n);
	if (argc >= 4 && !strcmp(argv[1], "lookup") && argc <= 5 &&
	    parse_count(argv[2], SCALE_PEERS_MAX, &n) && parse_count(argv[3], 1ul << 30, &rounds) &&
	    (argc < 5 || parse_count(argv[4], ACTIVE_MAX, &active)))
		return cmd_lookup(n, rounds, active);
	return usage();
}
