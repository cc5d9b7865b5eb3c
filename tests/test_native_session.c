// SPDX-License-Identifier: MIT
/*
 * The native control plane end to end without root: a server and clients on
 * one loop, each with its own engine (a SOCK_SEQPACKET socketpair stands in
 * for the TUN device), TLS over loopback TCP, ESP over loopback UDP, and the
 * client's interface calls recorded instead of sent to the kernel. Time is an
 * injected clock, moved in small steps so PING/PONG keeps connections alive.
 * Log lines are captured (stderr goes to a file) where a test checks them.
 */
#include "cli/config.h"
#include "cli/pki.h"
#include "core/bytes.h"
#include "core/log.h"
#include "core/loop.h"
#include "ctl/native/frame.h"
#include "ctl/native/native.h"
#include "ctl/native/tlsconn.h"
#include "sluice/engine.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine_harness.h"
#include "engine_test_util.h"

#define MAX_CALLS 32

struct node {
	struct sl_engine *e;
	struct sl_native *n;
	int tun_far; /* the "kernel" side of the TUN stand-in */
	struct sl_config cfg;
	char log[MAX_CALLS][96]; /* recorded interface calls (clients) */
	int n_log;
};

struct world {
	sl_time_ns now;
	struct sl_loop *loop;
	char dir[64], other[64]; /* our PKI and an unrelated CA */
	uint16_t port;		 /* the server's TCP and UDP port */
	struct node srv, cl[2];
};

static sl_time_ns fake_now(void *arg)
{
	return ((struct world *)arg)->now;
}

static void on_event(void *arg, const struct sl_event *ev)
{
	struct node *n = arg;

	if (n->n)
		sl_native_on_event(n->n, ev);
}

/* ---- recorded interface calls --------------------------------------------------------- */

static void record(struct node *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void record(struct node *n, const char *fmt, ...)
{
	va_list ap;

	if (n->n_log == MAX_CALLS)
		return;
	va_start(ap, fmt);
	vsnprintf(n->log[n->n_log++], sizeof(n->log[0]), fmt, ap);
	va_end(ap);
}

static int rec_addr_add(void *arg, const char *ifname, int family, const uint8_t *addr, uint8_t len)
{
	char a[64];

	inet_ntop(family, addr, a, sizeof(a));
	record(arg, "addr %s %s/%u", ifname, a, len);
	return 0;
}

static int rec_set_up(void *arg, const char *ifname, uint32_t mtu)
{
	record(arg, "up %s %u", ifname, mtu);
	return 0;
}

static int rec_route_add(void *arg, const char *ifname, int family, const uint8_t *dst, uint8_t len)
{
	char a[64];

	inet_ntop(family, dst, a, sizeof(a));
	record(arg, "route %s %s/%u", ifname, a, len);
	return 0;
}

static bool logged(const struct node *n, const char *line)
{
	for (int i = 0; i < n->n_log; i++)
		if (!strcmp(n->log[i], line))
			return true;
	return false;
}

/* ---- set-up ------------------------------------------------------------------------------- */

static void path(char *out, const char *dir, const char *file)
{
	snprintf(out, SL_CONFIG_PATH_MAX, "%s/%s", dir, file);
}

static void prefix(struct sl_prefix *p, const char *addr, uint8_t len)
{
	memset(p, 0, sizeof(*p));
	p->family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	p->len = len;
	assert_int_equal(inet_pton(p->family, addr, p->addr), 1);
}

static void engine_up(struct world *w, struct node *n, const char *ifname)
{
	struct sl_engine_cfg ec;

	sl_engine_cfg_init(&ec);
	ec.loop = w->loop;
	ec.ifname = ifname;
	ec.pool_packets = 256;
	ec.on_event = on_event;
	ec.event_arg = n;
	assert_int_equal(harness_engine_new(&n->e, &n->tun_far, &ec, n == &w->srv ? w->port : 0),
			 0);
}

static void base_config(struct world *w, struct sl_config *c, enum sl_mode mode)
{
	sl_config_init(c);
	c->mode = mode;
	snprintf(c->name, sizeof(c->name), "%s", mode == SL_MODE_SERVER ? "srv0" : "cl0");
	c->mtu = 1400;
	path(c->ca, w->dir, "ca.pem");
	path(c->cert, w->dir, mode == SL_MODE_SERVER ? "server.pem" : "client.pem");
	path(c->key, w->dir, mode == SL_MODE_SERVER ? "server.key" : "client.key");
	c->control_socket[0] = '\0';
	c->rekey_seconds = 0;
}

static void server_config(struct world *w, struct sl_config *c)
{
	base_config(w, c, SL_MODE_SERVER);
	c->n_listen = 1;
	harness_loopback(&c->listen[0], w->port);
	c->has_pool4 = c->has_pool6 = true;
	prefix(&c->pool4, "198.19.0.0", 24);
	prefix(&c->pool6, "2001:db8:1::", 64);
	c->n_routes = 3;
	c->routes[0] = c->pool4;
	c->routes[1] = c->pool6;
	prefix(&c->routes[2], "10.99.0.0", 16);
}

static void client_config(struct world *w, struct sl_config *c)
{
	base_config(w, c, SL_MODE_CLIENT);
	harness_loopback(&c->server, w->port);
}

static void native_up(struct world *w, struct node *n)
{
	static const struct sl_native_link_ops dummy;
	struct sl_native_link_ops ops = dummy;
	char err[256] = "";

	if (sl_native_new(&n->n, w->loop, n->e, &n->cfg, err, sizeof(err)) < 0)
		fail_msg("sl_native_new: %s", err);
	ops.addr_add = rec_addr_add;
	ops.set_up = rec_set_up;
	ops.route_add = rec_route_add;
	ops.arg = n;
	sl_native_set_link_ops(n->n, &ops);
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

/* The server's engine first: its UDP port (any free one) becomes the TCP port too. */
static void world_server(struct world *w)
{
	engine_up(w, &w->srv, "srv0");
	w->port = sl_engine_udp_port(w->srv.e, 0);
	server_config(w, &w->srv.cfg);
}

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	struct sl_clock clock = {.now = fake_now, .arg = w};
	char err[256];

	signal(SIGPIPE, SIG_IGN);
	sl_log_set_level(SL_LOG_INFO);
	w->now = 1000 * SL_SEC;
	w->loop = sl_loop_new(&clock);
	snprintf(w->dir, sizeof(w->dir), "/tmp/test_native_session.XXXXXX");
	snprintf(w->other, sizeof(w->other), "/tmp/test_native_session.XXXXXX");
	if (!w->loop || !mkdtemp(w->dir) || !mkdtemp(w->other) ||
	    sl_pki_init(w->dir, NULL, 1, err, sizeof(err)) < 0 ||
	    sl_pki_issue(w->dir, "server", true, 1, err, sizeof(err)) < 0 ||
	    sl_pki_issue(w->dir, "client", false, 1, err, sizeof(err)) < 0 ||
	    sl_pki_init(w->other, NULL, 1, err, sizeof(err)) < 0 ||
	    sl_pki_issue(w->other, "client", false, 1, err, sizeof(err)) < 0)
		return -1;
	world_server(w);
	for (int i = 0; i < 2; i++) {
		engine_up(w, &w->cl[i], "cl0");
		client_config(w, &w->cl[i].cfg);
	}
	*state = w;
	return 0;
}

static void node_down(struct node *n)
{
	sl_native_free(n->n);
	n->n = NULL;
	sl_engine_free(n->e);
	n->e = NULL;
	if (n->tun_far >= 0)
		close(n->tun_far);
	n->tun_far = -1;
}

static int teardown(void **state)
{
	struct world *w = *state;

	node_down(&w->cl[0]);
	node_down(&w->cl[1]);
	node_down(&w->srv);
	sl_loop_free(w->loop);
	nftw(w->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	nftw(w->other, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(w);
	return 0;
}

/* ---- driving the loop ------------------------------------------------------------------- */

#define PUMP_UNTIL(w, cond)                                       \
	do {                                                      \
		for (int i_ = 0; i_ < 3000 && !(cond); i_++)      \
			sl_loop_run_once((w)->loop, 2);           \
		if (!(cond))                                      \
			fail_msg("timed out waiting for " #cond); \
	} while (0)

static void pump(struct world *w, int rounds)
{
	for (int i = 0; i < rounds; i++)
		sl_loop_run_once(w->loop, 1);
}

/* Move the clock in 1 s steps, letting I/O (PING/PONG, DPD) happen between. */
static void advance(struct world *w, unsigned int seconds)
{
	for (unsigned int s = 0; s < seconds; s++) {
		w->now += SL_SEC;
		pump(w, 20);
	}
}

static uint32_t client_peer(struct world *w, int i)
{
	return sl_native_client_peer(w->cl[i].n);
}

static struct sl_peer_stats stats(struct node *n, uint32_t peer)
{
	struct sl_peer_stats s;

	assert_int_equal(sl_peer_stats(n->e, peer, &s), 0);
	return s;
}

/*
 * Until the peer's own UDP probe is answered (the first goes out on its
 * keepalive timer, so the clock must move), its data uses the stream.
 */
static void wait_udp(struct world *w, struct node *n, uint32_t peer)
{
	for (int s = 0; s < 5 && stats(n, peer).transport != SL_TRANSPORT_UDP; s++)
		advance(w, 1);
	assert_int_equal(stats(n, peer).transport, SL_TRANSPORT_UDP);
}

static void connect_client(struct world *w, int i)
{
	native_up(w, &w->cl[i]);
	PUMP_UNTIL(w, client_peer(w, i) != 0);
}

/* Write a packet into from's TUN and expect it, unchanged, at to's TUN. */
static void carry(struct world *w, struct node *from, struct node *to, const char *src,
		  const char *dst, uint8_t mark)
{
	uint8_t p[200], got[300];
	size_t len = harness_ipv4_packet(p, src, dst, sizeof(p) - 20, mark);
	ssize_t n = -1;

	assert_int_equal(write(from->tun_far, p, len), (ssize_t)len);
	for (int i = 0; i < 3000 && n < 0; i++) {
		sl_loop_run_once(w->loop, 2);
		n = read(to->tun_far, got, sizeof(got));
	}
	assert_int_equal(n, (ssize_t)len);
	assert_memory_equal(got, p, len);
}

/* ---- stderr capture ----------------------------------------------------------------------- */

struct capture {
	int saved, fd;
	char path[64];
};

static void capture_start(struct capture *c)
{
	snprintf(c->path, sizeof(c->path), "/tmp/test_native_session.log.XXXXXX");
	c->fd = mkstemp(c->path);
	assert_true(c->fd >= 0);
	c->saved = dup(2);
	dup2(c->fd, 2);
}

/* Stop capturing; returns what was logged (valid until the next call). */
static const char *capture_end(struct capture *c)
{
	static char buf[65536];
	ssize_t n;

	dup2(c->saved, 2);
	close(c->saved);
	n = pread(c->fd, buf, sizeof(buf) - 1, 0);
	close(c->fd);
	unlink(c->path);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* Stop capturing; true if some captured line contains needle. */
static bool capture_has(struct capture *c, const char *needle)
{
	const char *log = capture_end(c);

	if (!strstr(log, needle)) {
		fprintf(stderr, "captured log:\n%s(no line with \"%s\")\n", log, needle);
		return false;
	}
	return true;
}

/* ---- tests ------------------------------------------------------------------------------------
 */

static void test_config_sets_up_client(void **state)
{
	struct world *w = *state;
	struct node *c = &w->cl[0];
	struct sl_peer_stats s;
	uint32_t id;

	native_up(w, &w->srv);
	connect_client(w, 0);
	id = client_peer(w, 0);
	assert_int_equal(id, 1);
	assert_int_equal(sl_native_server_peers(w->srv.n), 1);
	assert_true(logged(c, "addr cl0 198.19.0.2/24"));
	assert_true(logged(c, "addr cl0 2001:db8:1::2/64"));
	assert_true(logged(c, "up cl0 1400"));
	/* The pools are the interface's connected prefixes; only the extra route is added. */
	assert_true(logged(c, "route cl0 10.99.0.0/16"));
	assert_false(logged(c, "route cl0 198.19.0.0/24"));
	/* Both engines hold epoch 0 keys with mirrored SPIs. */
	s = stats(c, id);
	assert_true(s.key_present[0]);
	assert_int_equal(s.key_id[0], 0);
	assert_true(s.rx_spi[0] >= 256 && s.tx_spi[0] >= 256);
	assert_int_equal(stats(&w->srv, id).rx_spi[0], s.tx_spi[0]);
	assert_int_equal(stats(&w->srv, id).tx_spi[0], s.rx_spi[0]);
}

static void test_data_over_udp(void **state)
{
	struct world *w = *state;
	uint32_t id;

	native_up(w, &w->srv);
	connect_client(w, 0);
	id = client_peer(w, 0);
	/* Data waits on the stream until a UDP probe is answered; the key install probes at once.
	 */
	wait_udp(w, &w->cl[0], id);
	wait_udp(w, &w->srv, id);
	carry(w, &w->cl[0], &w->srv, "198.19.0.2", "198.19.0.1", 0xaa);
	carry(w, &w->srv, &w->cl[0], "198.19.0.1", "198.19.0.2", 0xbb);
	assert_int_equal(stats(&w->srv, id).stream_rx_packets, 0);
	assert_int_equal(stats(&w->srv, id).rx_packets, 1);
	assert_int_equal(stats(&w->cl[0], id).rx_packets, 1);
}

static void test_data_over_stream(void **state)
{
	struct world *w = *state;
	uint32_t id;

	/* No UDP probes at all: data never leaves the TLS stream. */
	w->srv.cfg.keepalive_s = 0;
	native_up(w, &w->srv);
	connect_client(w, 0);
	id = client_peer(w, 0);
	carry(w, &w->cl[0], &w->srv, "198.19.0.2", "198.19.0.1", 0x11);
	carry(w, &w->srv, &w->cl[0], "198.19.0.1", "198.19.0.2", 0x22);
	assert_int_equal(stats(&w->cl[0], id).stream_tx_packets, 1);
	assert_int_equal(stats(&w->srv, id).stream_rx_packets, 1);
	assert_int_equal(stats(&w->srv, id).stream_tx_packets, 1);
	assert_int_equal(stats(&w->cl[0], id).stream_rx_packets, 1);
}

static void test_stream_spoofed_source_dropped(void **state)
{
	struct world *w = *state;
	uint8_t p[100];
	uint32_t id;

	w->srv.cfg.keepalive_s = 0;
	native_up(w, &w->srv);
	connect_client(w, 0);
	id = client_peer(w, 0);
	/* A client may only send from its own inner address, over the stream as over UDP. */
	harness_ipv4_packet(p, "198.19.0.9", "198.19.0.1", sizeof(p) - 20, 0x33);
	assert_int_equal(write(w->cl[0].tun_far, p, sizeof(p)), (ssize_t)sizeof(p));
	PUMP_UNTIL(w, stats(&w->srv, id).drops[SL_STAT_DROP_NOROUTE] == 1);
	assert_int_equal(read(w->srv.tun_far, p, sizeof(p)), -1);
	assert_int_equal(stats(&w->srv, id).rx_packets, 0);
}

static void test_rekey_on_timer(void **state)
{
	struct world *w = *state;
	struct sl_peer_stats s, c;
	uint32_t id, old_rx;
	sl_time_ns t0;

	w->srv.cfg.rekey_seconds = 20;
	native_up(w, &w->srv);
	t0 = w->now;
	connect_client(w, 0);
	id = client_peer(w, 0);
	wait_udp(w, &w->srv, id);
	old_rx = stats(&w->srv, id).rx_spi[0];
	/* Jitter is at most 10%: nothing before 18 s. */
	advance(w, (unsigned int)(17 - (w->now - t0) / SL_SEC));
	assert_int_equal(stats(&w->srv, id).key_id[0], 0);
	advance(w, 4);
	PUMP_UNTIL(w, stats(&w->srv, id).key_id[0] == 1);
	s = stats(&w->srv, id);
	c = stats(&w->cl[0], id);
	assert_int_equal(c.key_id[0], 1);
	/* Old keys stay as lame ducks on both ends; the new ones mirror each other. */
	assert_true(s.key_present[1] && c.key_present[1]);
	assert_int_equal(s.key_id[1], 0);
	assert_int_equal(s.rx_spi[1], old_rx);
	assert_int_equal(s.rx_spi[0], c.tx_spi[0]);
	assert_int_equal(s.tx_spi[0], c.rx_spi[0]);
	assert_int_not_equal(s.rx_spi[0], old_rx);
	carry(w, &w->cl[0], &w->srv, "198.19.0.2", "198.19.0.1", 0x44);
	carry(w, &w->srv, &w->cl[0], "198.19.0.1", "198.19.0.2", 0x55);
	assert_int_equal(stats(&w->srv, id).stream_rx_packets, 0);
	/* And again on the next period. */
	advance(w, 21);
	PUMP_UNTIL(w, stats(&w->srv, id).key_id[0] == 2 && stats(&w->cl[0], id).key_id[0] == 2);
	carry(w, &w->cl[0], &w->srv, "198.19.0.2", "198.19.0.1", 0x66);
}

static void test_rekey_when_client_asks(void **state)
{
	struct world *w = *state;
	struct sl_event ev = {.type = SL_EVENT_KEY_NEAR_LIMIT};
	uint32_t id;

	native_up(w, &w->srv);
	connect_client(w, 0);
	id = client_peer(w, 0);
	ev.peer_id = id;
	/* The client's engine says its tx key is worn: it asks, the server rekeys. */
	sl_native_on_event(w->cl[0].n, &ev);
	PUMP_UNTIL(w, stats(&w->srv, id).key_id[0] == 1 && stats(&w->cl[0], id).key_id[0] == 1);
	/* The server's own engine saying so works the same way. */
	sl_native_on_event(w->srv.n, &ev);
	PUMP_UNTIL(w, stats(&w->srv, id).key_id[0] == 2 && stats(&w->cl[0], id).key_id[0] == 2);
	carry(w, &w->cl[0], &w->srv, "198.19.0.2", "198.19.0.1", 0x77);
}

static void test_two_clients_distinct(void **state)
{
	struct world *w = *state;
	uint32_t a, b;

	native_up(w, &w->srv);
	connect_client(w, 0);
	connect_client(w, 1);
	a = client_peer(w, 0);
	b = client_peer(w, 1);
	assert_int_not_equal(a, b);
	assert_true(logged(&w->cl[1], "addr cl0 198.19.0.3/24"));
	assert_int_equal(sl_native_server_peers(w->srv.n), 2);
	wait_udp(w, &w->srv, b);
	carry(w, &w->srv, &w->cl[1], "198.19.0.1", "198.19.0.3", 0x88);
	carry(w, &w->cl[1], &w->srv, "198.19.0.3", "198.19.0.1", 0x99);
	/* One client leaving frees its peer on the server; the other stays. */
	sl_native_free(w->cl[0].n);
	w->cl[0].n = NULL;
	PUMP_UNTIL(w, sl_native_server_peers(w->srv.n) == 1);
	assert_int_equal(sl_peer_stats(w->srv.e, a, &(struct sl_peer_stats){0}), -ENOENT);
	carry(w, &w->srv, &w->cl[1], "198.19.0.1", "198.19.0.3", 0xab);
}

static void test_reconnect_keeps_address(void **state)
{
	struct world *w = *state;
	struct capture cap;
	const char *log;

	native_up(w, &w->srv);
	connect_client(w, 0);
	connect_client(w, 1); /* 198.19.0.3 */
	sl_native_free(w->cl[0].n);
	w->cl[0].n = NULL;
	/* The server goes away: the client deletes its peer and keeps trying. */
	capture_start(&cap);
	sl_native_free(w->srv.n);
	w->srv.n = NULL;
	PUMP_UNTIL(w, client_peer(w, 1) == 0);
	/* Attempts after 1, 2, 4 s: the 4th (counting the first connect) at 7 s, the 5th not yet.
	 */
	advance(w, 1 + 2 + 4);
	log = capture_end(&cap);
	assert_non_null(strstr(log, "(attempt 4)"));
	assert_null(strstr(log, "(attempt 5)"));
	assert_non_null(strstr(log, "cannot connect to 127.0.0.1:"));
	/* Back with an empty pool: the client asks for .3 and gets it, not the lowest free .2. */
	w->cl[1].n_log = 0;
	native_up(w, &w->srv);
	advance(w, 8);
	PUMP_UNTIL(w, client_peer(w, 1) != 0);
	assert_false(logged(&w->cl[1], "addr cl0 198.19.0.2/24"));
	wait_udp(w, &w->srv, client_peer(w, 1));
	carry(w, &w->cl[1], &w->srv, "198.19.0.3", "198.19.0.1", 0xcd);
}

static void test_server_full(void **state)
{
	struct world *w = *state;
	struct capture cap;

	w->srv.cfg.max_clients = 1;
	native_up(w, &w->srv);
	connect_client(w, 0);
	capture_start(&cap);
	native_up(w, &w->cl[1]);
	pump(w, 300);
	assert_true(capture_has(&cap, "said goodbye: server full"));
	assert_int_equal(client_peer(w, 1), 0);
	assert_int_equal(sl_native_server_peers(w->srv.n), 1);
}

static void test_wrong_ca_refused(void **state)
{
	struct world *w = *state;
	struct capture cap;
	struct sl_config *c = &w->cl[0].cfg;

	/* The client's certificate comes from a CA the server does not trust. */
	path(c->cert, w->other, "client.pem");
	path(c->key, w->other, "client.key");
	native_up(w, &w->srv);
	capture_start(&cap);
	native_up(w, &w->cl[0]);
	pump(w, 300);
	assert_int_equal(client_peer(w, 0), 0);
	assert_int_equal(sl_native_server_peers(w->srv.n), 0);
	assert_true(capture_has(&cap, "failed: certificate verify failed"));
}

static void test_client_distrusts_server(void **state)
{
	struct world *w = *state;
	struct capture cap;
	struct sl_config *c = &w->cl[0].cfg;

	path(c->ca, w->other, "ca.pem");
	path(c->cert, w->other, "client.pem");
	path(c->key, w->other, "client.key");
	native_up(w, &w->srv);
	capture_start(&cap);
	native_up(w, &w->cl[0]);
	pump(w, 300);
	assert_int_equal(client_peer(w, 0), 0);
	assert_true(capture_has(&cap, "TLS handshake with 127.0.0.1:"));
}

static void test_handshake_deadline(void **state)
{
	struct world *w = *state;
	struct sockaddr_storage to;
	char b;
	int fd;

	native_up(w, &w->srv);
	/* A TCP peer that never says anything is dropped after 10 s. */
	harness_loopback(&to, w->port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	connect(fd, (struct sockaddr *)&to, sizeof(struct sockaddr_in));
	pump(w, 20);
	assert_int_equal(read(fd, &b, 1), -1);
	assert_int_equal(errno, EAGAIN);
	advance(w, 11);
	assert_int_equal(read(fd, &b, 1), 0);
	close(fd);
}

/* A hand-driven TLS client for protocol violations. */
static SSL *raw_client(struct world *w, int *fd_out)
{
	char err[256];
	SSL_CTX *ctx = sl_tls_ctx_new(false, w->cl[0].cfg.ca, w->cl[0].cfg.cert, w->cl[0].cfg.key,
				      err, sizeof(err));
	struct sockaddr_storage to;
	SSL *ssl;
	int fd, r = 0;

	assert_non_null(ctx);
	harness_loopback(&to, w->port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	connect(fd, (struct sockaddr *)&to, sizeof(struct sockaddr_in));
	ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set_connect_state(ssl);
	for (int i = 0; i < 3000 && r != 1; i++) {
		r = SSL_do_handshake(ssl);
		sl_loop_run_once(w->loop, 1);
	}
	assert_int_equal(r, 1);
	*fd_out = fd;
	return ssl;
}

/* Send one frame and return the type of the server's answer (BYE text in reason). */
static int raw_exchange(struct world *w, SSL *ssl, uint8_t type, const char *payload, char *reason,
			size_t reason_len)
{
	uint8_t out[512], in[512];
	size_t len = strlen(payload), have = 0;
	struct sl_nframe f;

	sl_nframe_put_header(out, type, len);
	memcpy(out + 3, payload, len);
	assert_int_equal(SSL_write(ssl, out, (int)(len + 3)), (int)(len + 3));
	for (int i = 0; i < 3000; i++) {
		int n;

		sl_loop_run_once(w->loop, 1);
		n = SSL_read(ssl, in + have, (int)(sizeof(in) - have));
		if (n > 0)
			have += (size_t)n;
		if (sl_nframe_parse(in, have, &f)) {
			sl_nbye_reason(f.payload, f.len, reason, reason_len);
			return f.type;
		}
		if (n <= 0 && SSL_get_error(ssl, n) != SSL_ERROR_WANT_READ)
			return -1;
	}
	return -1;
}

/* A TCP connection to the server from 127.0.0.LAST that never speaks. */
static int silent_conn(struct world *w, uint8_t last)
{
	struct sockaddr_in from = {.sin_family = AF_INET};
	struct sockaddr_storage to;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	from.sin_addr.s_addr = htonl(0x7f000000u | last);
	assert_int_equal(bind(fd, (struct sockaddr *)&from, sizeof(from)), 0);
	harness_loopback(&to, w->port);
	connect(fd, (struct sockaddr *)&to, sizeof(struct sockaddr_in));
	return fd;
}

/* 0: closed by the server; 1: still open. */
static int still_open(int fd)
{
	char b;

	return read(fd, &b, 1) < 0 && errno == EAGAIN;
}

/*
 * Pending handshakes: 8 per source at most (the 9th is closed at once), 64 in all; the 65th
 * makes the oldest give way, and a real client still gets in.
 */
static void test_pending_limits(void **state)
{
	struct world *w = *state;
	int fds[8 * 8 + 1], extra;

	native_up(w, &w->srv);
	for (int i = 0; i < 8; i++) {
		fds[i] = silent_conn(w, 2);
		pump(w, 5);
	}
	extra = silent_conn(w, 2);
	pump(w, 20);
	assert_int_equal(still_open(extra), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(still_open(fds[i]), 1);
	close(extra);
	/* 7 more sources fill the 64; one more from a new source pushes out the oldest. */
	for (int i = 8; i < 64; i++) {
		fds[i] = silent_conn(w, (uint8_t)(3 + (i - 8) / 8));
		pump(w, 5);
	}
	fds[64] = silent_conn(w, 20);
	pump(w, 20);
	assert_int_equal(still_open(fds[0]), 0);
	for (int i = 1; i <= 64; i++)
		assert_int_equal(still_open(fds[i]), 1);
	connect_client(w, 0);
	assert_int_equal(sl_native_server_peers(w->srv.n), 1);
	for (int i = 0; i <= 64; i++)
		close(fds[i]);
}

static void test_malformed_hello_closes(void **state)
{
	struct world *w = *state;
	char reason[128];
	int fd;
	SSL *ssl;

	native_up(w, &w->srv);
	ssl = raw_client(w, &fd);
	assert_int_equal(raw_exchange(w, ssl, SL_NF_HELLO, "version=1\n", reason, sizeof(reason)),
			 SL_NF_BYE);
	assert_string_equal(reason, "'ciphers' missing in HELLO");
	assert_int_equal(sl_native_server_peers(w->srv.n), 0);
	SSL_free(ssl);
	close(fd);
}

static void test_data_before_hello_closes(void **state)
{
	struct world *w = *state;
	char reason[128];
	int fd;
	SSL *ssl;

	native_up(w, &w->srv);
	ssl = raw_client(w, &fd);
	/* An unknown type is ignored (answered by nothing), DATA before HELLO is not. */
	assert_int_equal(raw_exchange(w, ssl, 0x42, "future", reason, sizeof(reason)), -1);
	assert_int_equal(raw_exchange(w, ssl, SL_NF_DATA, "xx", reason, sizeof(reason)), SL_NF_BYE);
	assert_string_equal(reason, "expected HELLO first");
	SSL_free(ssl);
	close(fd);
}

static void test_no_common_cipher_and_ping(void **state)
{
	struct world *w = *state;
	char reason[128];
	int fd;
	SSL *ssl;

	native_up(w, &w->srv);
	ssl = raw_client(w, &fd);
	assert_int_equal(raw_exchange(w, ssl, SL_NF_PING, "", reason, sizeof(reason)), SL_NF_PONG);
	assert_int_equal(raw_exchange(w, ssl, SL_NF_HELLO, "version=1\nciphers=rot13\n", reason,
				      sizeof(reason)),
			 SL_NF_BYE);
	assert_string_equal(reason, "no common cipher");
	SSL_free(ssl);
	close(fd);
}

static void test_shutdown_says_bye(void **state)
{
	struct world *w = *state;
	struct capture cap;

	native_up(w, &w->srv);
	connect_client(w, 0);
	capture_start(&cap);
	sl_native_shutdown(w->srv.n, "server shutting down");
	PUMP_UNTIL(w, client_peer(w, 0) == 0);
	assert_true(capture_has(&cap, "said goodbye: server shutting down"));
}

static void test_tls_silence_detected(void **state)
{
	struct world *w = *state;
	uint32_t id;

	native_up(w, &w->srv);
	connect_client(w, 0);
	id = client_peer(w, 0);
	/* Jump the clock: both ends find 30 s without a frame, close, and drop the peer. */
	w->now += 31 * SL_SEC;
	pump(w, 50);
	PUMP_UNTIL(w, client_peer(w, 0) == 0 && sl_native_server_peers(w->srv.n) == 0);
	assert_int_equal(sl_peer_stats(w->cl[0].e, id, &(struct sl_peer_stats){0}), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config_sets_up_client, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_over_udp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_over_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_spoofed_source_dropped, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rekey_on_timer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rekey_when_client_asks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_clients_distinct, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconnect_keeps_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_ca_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_distrusts_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handshake_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_hello_closes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_before_hello_closes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_common_cipher_and_ping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_says_bye, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_silence_detected, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
