// SPDX-License-Identifier: MIT
/*
 * The scale test's load generator (bench/scale.sh): a control plane and
 * many peers in one program, against a real `sluice up` server.
 *
 *   loadgen peers SOCK N
 *       Over the server's Unix control socket (the key=value protocol of
 *       src/dco/uapi.h, one request at a time, as a control plane would):
 *       peer_new, route_add and key_set for peers 0..N-1 of
 *       bench/scale_peers.h. Prints "peers created=N requests=R seconds=S".
 *
 *   loadgen del SOCK N
 *       op=peer_del for peers 0..N-1. Prints "peers deleted=N seconds=S".
 *
 *   loadgen traffic SOCK ADDR PORT N ACTIVE PACKETS
 *       ACTIVE of those peers, spread evenly over 0..N-1, each on its own UDP
 *       socket (its own source port), send PACKETS ESP packets each to
 *       ADDR:PORT: an ICMP echo request from the peer's inner address to
 *       the server's (198.19.0.1). The server opens it, learns the peer's
 *       endpoint from it and writes it to its TUN; its kernel answers, and
 *       the echo reply comes back sealed with the peer's key to the port it
 *       came from, where it is opened and counted. Then asks the server
 *       (op=stats peer_id=N) what it received from each and where it thinks
 *       each peer is. Prints "traffic active=A sent=S replies=R
 *       server_rx=X endpoints_right=E server_peer_drops=D
 *       server_interface_drops=I" and exits 1 unless everything arrived and
 *       every endpoint is the right source port.
 *
 * Only addresses of the bench's own namespaces (198.18.0.0/15) are used.
 */
#include "core/bytes.h"
#include "core/pkt.h"
#include "dco/uapi.h"
#include "proto/esp.h"
#include "sluice/engine.h"

#include "scale_peers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define ECHO_LEN    92 /* IPv4 + ICMP header + 64 bytes */
#define REPLY_WAIT  3.0
#define REPLY_MAX   2048
#define REQUEST_MAX 1024
#define BURST	    64

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int ctl_open(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "loadgen: socket path too long\n");
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "loadgen: connect %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/*
 * One request, one reply: the reply (up to and without its empty line) into out, NUL-ended.
 * Returns the reply's errno value (0 on success), or -1 if the exchange itself failed.
 */
static int ctl_call(int fd, const char *req, char *out, size_t out_len)
{
	size_t len = strlen(req), got = 0;
	char *e;

	if (write(fd, req, len) != (ssize_t)len) {
		perror("loadgen: control socket write");
		return -1;
	}
	for (;;) {
		ssize_t n;

		if (got + 1 >= out_len) {
			fprintf(stderr, "loadgen: control reply too long\n");
			return -1;
		}
		n = read(fd, out + got, out_len - got - 1);
		if (n <= 0) {
			fprintf(stderr, "loadgen: control socket closed\n");
			return -1;
		}
		got += (size_t)n;
		out[got] = '\0';
		/* Replies end with "errno=N\n\n"; one request at a time, so nothing follows. */
		if (got >= 2 && out[got - 1] == '\n' && out[got - 2] == '\n')
			break;
	}
	e = strstr(out, "errno=");
	return e ? atoi(e + 6) : -1;
}

static void hex(char *out, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static int call_ok(int fd, const char *req, const char *what, uint32_t i)
{
	char reply[REPLY_MAX];
	int r = ctl_call(fd, req, reply, sizeof(reply));

	if (r != 0)
		fprintf(stderr, "loadgen: %s for peer %u: errno %d\n", what, i, r);
	return r;
}

static int make_peer(int fd, uint32_t i)
{
	char req[REQUEST_MAX], k[4][65];
	struct sl_key_pair kp;
	int r;

	/* Keepalives as the engine's defaults: the server learns the endpoint from the data. */
	snprintf(req, sizeof(req), "op=peer_new\npeer_id=%u\n\n", SCALE_PEER_ID0 + i);
	if ((r = call_ok(fd, req, "peer_new", i)))
		return r;
	snprintf(req, sizeof(req), "op=route_add\npeer_id=%u\nprefix=198.19.%u.%u/32\n\n",
		 SCALE_PEER_ID0 + i, (SCALE_INNER0 + i) >> 8 & 0xff, (SCALE_INNER0 + i) & 0xff);
	if ((r = call_ok(fd, req, "route_add", i)))
		return r;
	scale_server_keys(i, &kp);
	hex(k[0], kp.rx.key, 32);
	hex(k[1], kp.rx.salt, 4);
	hex(k[2], kp.tx.key, 32);
	hex(k[3], kp.tx.salt, 4);
	snprintf(req, sizeof(req),
		 "op=key_set\npeer_id=%u\nslot=0\ncipher=aes-256-gcm\nkey_id=1\n"
		 "rx_spi=%u\nrx_key=%s\nrx_salt=%s\ntx_spi=%u\ntx_key=%s\ntx_salt=%s\n\n",
		 SCALE_PEER_ID0 + i, kp.rx.spi, k[0], k[1], kp.tx.spi, k[2], k[3]);
	return call_ok(fd, req, "key_set", i);
}

static int cmd_peers(const char *sock, uint32_t n)
{
	double t0 = now_s();
	int fd = ctl_open(sock);

	if (fd < 0)
		return 1;
	for (uint32_t i = 0; i < n; i++) {
		if (make_peer(fd, i)) {
			close(fd);
			return 1;
		}
	}
	close(fd);
	printf("peers created=%u requests=%u seconds=%.2f\n", n, 3 * n, now_s() - t0);
	return 0;
}

static int cmd_del(const char *sock, uint32_t n)
{
	char req[128];
	double t0 = now_s();
	int fd = ctl_open(sock);

	if (fd < 0)
		return 1;
	for (uint32_t i = 0; i < n; i++) {
		snprintf(req, sizeof(req), "op=peer_del\npeer_id=%u\n\n", SCALE_PEER_ID0 + i);
		if (call_ok(fd, req, "peer_del", i)) {
			close(fd);
			return 1;
		}
	}
	close(fd);
	printf("peers deleted=%u seconds=%.2f\n", n, now_s() - t0);
	return 0;
}

struct gen_peer {
	uint32_t index;
	int fd;
	char local[32]; /* ADDR:PORT this peer sends from, as the server shows endpoints */
	struct sl_esp_sa tx, rx;
	uint32_t replies;
};

static uint16_t csum(const uint8_t *b, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += sl_get_be16(b + i);
	if (len & 1)
		s += (uint32_t)b[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void make_echo(uint8_t *b, uint32_t src, uint16_t id, uint16_t seq)
{
	memset(b, 0, ECHO_LEN);
	b[0] = 0x45;
	sl_put_be16(b + 2, ECHO_LEN);
	b[8] = 64;
	b[9] = 1; /* ICMP */
	sl_put_be32(b + 12, src);
	sl_put_be32(b + 16, SCALE_SERVER_IN);
	sl_put_be16(b + 10, csum(b, 20));
	b[20] = 8; /* echo request */
	sl_put_be16(b + 24, id);
	sl_put_be16(b + 26, seq);
	for (int i = 28; i < ECHO_LEN; i++)
		b[i] = (uint8_t)i;
	sl_put_be16(b + 22, csum(b + 20, ECHO_LEN - 20));
}

static int gen_up(struct gen_peer *g, uint32_t index, const struct sockaddr_in *server)
{
	struct sockaddr_in local = {.sin_family = AF_INET};
	socklen_t len = sizeof(local);
	struct sl_key_pair kp;
	int r;

	g->index = index;
	g->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (g->fd < 0 || connect(g->fd, (const struct sockaddr *)server, sizeof(*server)) < 0 ||
	    getsockname(g->fd, (struct sockaddr *)&local, &len) < 0) {
		fprintf(stderr, "loadgen: UDP socket %u: %s\n", index, strerror(errno));
		return -1;
	}
	snprintf(g->local, sizeof(g->local), "%s:%u", inet_ntoa(local.sin_addr),
		 ntohs(local.sin_port));
	/* The peer's side of the server's keys: it seals with the server's rx, opens its tx. */
	scale_server_keys(index, &kp);
	r = sl_esp_sa_init(&g->tx, kp.cipher, kp.rx.key, 32, kp.rx.salt, kp.rx.spi, false, true, 0);
	if (r == 0)
		r = sl_esp_sa_init(&g->rx, kp.cipher, kp.tx.key, 32, kp.tx.salt, kp.tx.spi, false,
				   false, 0);
	if (r < 0) {
		fprintf(stderr, "loadgen: SA %u: %s\n", index, strerror(-r));
		return -1;
	}
	return 0;
}

static int send_echo(struct gen_peer *g, uint16_t seq)
{
	uint8_t store[SL_ESP_HEADROOM + ECHO_LEN + SL_ESP_TAILROOM + 16];
	struct sl_pkt p = {.buf = store, .cap = sizeof(store)};

	sl_pkt_reset(&p, SL_ESP_HEADROOM);
	make_echo(sl_pkt_put(&p, ECHO_LEN), SCALE_INNER0 + g->index, (uint16_t)g->index, seq);
	if (sl_esp_seal(&g->tx, &p, SL_ESP_NH_IPV4) != SL_DROP_NONE)
		return -1;
	return send(g->fd, p.data, p.len, 0) == (ssize_t)p.len ? 0 : -1;
}

/* Open what came back on g's port; count echo replies addressed to this peer. */
static void read_replies(struct gen_peer *g)
{
	uint8_t store[2048];

	for (;;) {
		struct sl_pkt p = {.buf = store, .cap = sizeof(store)};
		ssize_t n;
		uint8_t nh;

		sl_pkt_reset(&p, 0);
		n = recv(g->fd, store, sizeof(store), 0);
		if (n <= 0)
			return;
		p.len = (uint32_t)n;
		if (sl_esp_classify(p.data, p.len) != SL_ESP_KIND_ESP ||
		    sl_esp_open(&g->rx, &p, &nh) != SL_DROP_NONE || nh != SL_ESP_NH_IPV4)
			continue;
		if (p.len >= 28 && p.data[9] == 1 && p.data[20] == 0 &&
		    sl_get_be32(p.data + 16) == SCALE_INNER0 + g->index)
			g->replies++;
	}
}

static void poll_replies(struct gen_peer *g, uint32_t n, int timeout_ms)
{
	struct pollfd *pfd = calloc(n, sizeof(*pfd));

	if (!pfd)
		return;
	for (uint32_t i = 0; i < n; i++)
		pfd[i] = (struct pollfd){.fd = g[i].fd, .events = POLLIN};
	if (poll(pfd, n, timeout_ms) > 0)
		for (uint32_t i = 0; i < n; i++)
			if (pfd[i].revents & POLLIN)
				read_replies(&g[i]);
	free(pfd);
}

/* Sum of the drop_NAME=N counters in text[0..end). */
static unsigned long long drops_in(const char *text, const char *end)
{
	unsigned long long sum = 0;

	for (const char *d = text; (d = strstr(d, "\ndrop_")) && d < end; d++) {
		const char *eq = strchr(d, '=');

		if (eq && eq < end)
			sum += strtoull(eq + 1, NULL, 10);
	}
	return sum;
}

/*
 * The server's view of peer g: rx_packets, whether its endpoint is g's source port, its drop
 * counters' sum and the interface-level ones' (the reply has the engine's totals first).
 */
static int server_view(int ctl, const struct gen_peer *g, unsigned long long *rx,
		       bool *endpoint_right, unsigned long long *peer_drops,
		       unsigned long long *engine_drops)
{
	char req[128], reply[REPLY_MAX], want[64], *s, *peer;

	snprintf(req, sizeof(req), "op=stats\npeer_id=%u\n\n", SCALE_PEER_ID0 + g->index);
	if (ctl_call(ctl, req, reply, sizeof(reply)) != 0)
		return -1;
	/* The reply has the engine's totals first, then the peer's own after peer_id=. */
	peer = strstr(reply, "\npeer_id=");
	if (!peer || !(s = strstr(peer, "\nrx_packets=")))
		return -1;
	*engine_drops = drops_in(reply, peer);
	*peer_drops += drops_in(peer, peer + strlen(peer));
	*rx = strtoull(s + 12, NULL, 10);
	snprintf(want, sizeof(want), "\nendpoint=%s\n", g->local);
	*endpoint_right = strstr(reply, want) != NULL;
	return 0;
}

static int cmd_traffic(const char *sock, const char *addr, const char *port, uint32_t n,
		       uint32_t active, uint32_t packets)
{
	struct sockaddr_in server = {.sin_family = AF_INET,
				     .sin_port = htons((uint16_t)atoi(port))};
	struct rlimit rl = {active + 64, active + 64};
	unsigned long long sent = 0, replies = 0, server_rx = 0, peer_drops = 0, engine_drops = 0;
	uint32_t right = 0, up = 0;
	struct gen_peer *g;
	double deadline;
	int ctl, rc = 1;

	if (inet_pton(AF_INET, addr, &server.sin_addr) != 1) {
		fprintf(stderr, "loadgen: '%s' is not an IPv4 address\n", addr);
		return 2;
	}
	setrlimit(RLIMIT_NOFILE, &rl); /* one socket per peer; root may raise the limit */
	g = calloc(active, sizeof(*g));
	if (!g)
		return 1;
	for (up = 0; up < active; up++)
		if (gen_up(&g[up], (uint32_t)((uint64_t)up * n / active), &server))
			goto out;
	/*
	 * Round by round, one packet per peer, in bursts of BURST with a look for replies between
	 * them: a burst of 1000 echo requests at once would overflow the server's TUN queue (500
	 * packets) with the kernel's replies, and this measures peers, not burst tolerance.
	 */
	for (uint32_t seq = 1; seq <= packets; seq++) {
		for (uint32_t i = 0; i < active; i++) {
			sent += send_echo(&g[i], (uint16_t)seq) == 0;
			if (i % BURST == BURST - 1 || i == active - 1)
				poll_replies(g, active, 2);
		}
	}
	deadline = now_s() + REPLY_WAIT;
	for (;;) {
		replies = 0;
		for (uint32_t i = 0; i < active; i++)
			replies += g[i].replies;
		if (replies >= sent || now_s() >= deadline)
			break;
		poll_replies(g, active, 50);
	}
	ctl = ctl_open(sock);
	if (ctl < 0)
		goto out;
	for (uint32_t i = 0; i < active; i++) {
		unsigned long long rx;
		bool ok;

		if (server_view(ctl, &g[i], &rx, &ok, &peer_drops, &engine_drops) < 0) {
			fprintf(stderr, "loadgen: no stats for peer %u\n", g[i].index);
			break;
		}
		server_rx += rx;
		right += ok;
	}
	close(ctl);
	printf("traffic active=%u sent=%llu replies=%llu server_rx=%llu endpoints_right=%u "
	       "server_peer_drops=%llu server_interface_drops=%llu\n",
	       active, sent, replies, server_rx, right, peer_drops, engine_drops);
	rc = sent == (unsigned long long)active * packets && server_rx == sent && replies == sent &&
			     right == active
		     ? 0
		     : 1;
out:
	for (uint32_t i = 0; i < up; i++) {
		close(g[i].fd);
		sl_esp_sa_clear(&g[i].tx);
		sl_esp_sa_clear(&g[i].rx);
	}
	free(g);
	return rc;
}

static bool parse_count(const char *s, unsigned long max, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

int main(int argc, char **argv)
{
	uint32_t n, active, packets;

	if (argc == 4 && !strcmp(argv[1], "peers") && parse_count(argv[3], SCALE_PEERS_MAX, &n))
		return cmd_peers(argv[2], n);
	if (argc == 4 && !strcmp(argv[1], "del") && parse_count(argv[3], SCALE_PEERS_MAX, &n))
		return cmd_del(argv[2], n);
	if (argc == 8 && !strcmp(argv[1], "traffic") && parse_count(argv[5], SCALE_PEERS_MAX, &n) &&
	    parse_count(argv[6], n, &active) && parse_count(argv[7], 65535, &packets))
		return cmd_traffic(argv[2], argv[3], argv[4], n, active, packets);
	fprintf(stderr,
		"usage: loadgen peers SOCK N\n"
		"       loadgen del SOCK N\n"
		"       loadgen traffic SOCK ADDR PORT N ACTIVE PACKETS\n"
		"  N 1..%u, ACTIVE 1..N\n",
		SCALE_PEERS_MAX);
	return 2;
}
