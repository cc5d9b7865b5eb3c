// SPDX-License-Identifier: MIT
/*
 * The native client: connect to the server, HELLO, turn the CONFIG into
 * interface addresses and routes and the engine's one peer, follow rekeys,
 * carry fallback data; on any disconnect delete the peer (the TUN device and
 * its addresses stay) and reconnect after 1, 2, 4, 8, 8... seconds, asking
 * for the same inner addresses again.
 */
#include "ctl/native/native_int.h"

#include "core/log.h"
#include "core/sockaddr.h"
#include "ctl/native/frame.h"
#include "ctl/native/keys.h"
#include "ctl/native/tlsconn.h"
#include "dco/uapi.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BACKOFF_MAX_S 8

struct native_client {
	struct sl_native *n;
	struct sl_tlsconn *conn;
	struct sl_timer retry;
	uint32_t attempt;
	uint32_t backoff_s; /* wait before the next attempt */
	char server_name[64];
	/* the current session */
	uint32_t peer_id; /* 0: no CONFIG yet */
	enum sl_cipher cipher;
	uint32_t epoch;
	bool rekey_requested;
	/* the last assignment, kept across reconnects */
	bool has4, has6;
	struct sl_prefix addr4, addr6;
	bool stopping; /* shutting down: no more attempts */
};

static const struct sl_tlsconn_ops conn_ops;

/* ---- connecting -------------------------------------------------------------------- */

static void schedule_retry(struct native_client *cl)
{
	if (cl->stopping)
		return;
	sl_debug("reconnecting to %s in %u s", cl->server_name, cl->backoff_s);
	sl_timer_arm(cl->n->loop, &cl->retry, (sl_time_ns)cl->backoff_s * SL_SEC);
	cl->backoff_s = cl->backoff_s * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : cl->backoff_s * 2;
}

static void connect_now(struct native_client *cl)
{
	/* The address is numeric in the config: "resolving" it is taking it as it is. */
	const struct sockaddr_storage *to = &cl->n->cfg.server;
	int fd, r;

	cl->attempt++;
	sl_info("connecting to %s (attempt %u)", cl->server_name, cl->attempt);
	fd = socket(to->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		sl_err("connect to %s: %s", cl->server_name, strerror(errno));
		schedule_retry(cl);
		return;
	}
	if (connect(fd, (const struct sockaddr *)to, sl_sockaddr_len(to)) < 0 &&
	    errno != EINPROGRESS) {
		sl_err("connect to %s: %s", cl->server_name, strerror(errno));
		close(fd);
		schedule_retry(cl);
		return;
	}
	r = sl_tlsconn_new(&cl->conn, cl->n->loop, cl->n->tls, fd, false, true, to, &conn_ops, cl);
	if (r < 0) {
		cl->conn = NULL;
		sl_err("connect to %s: %s", cl->server_name, strerror(-r));
		schedule_retry(cl);
	}
}

static void on_retry(struct sl_loop *loop, struct sl_timer *t, void *arg)
{
	connect_now(arg);
}

/* The session is over: the peer goes, the interface stays, and we try again. */
static void end_session(struct native_client *cl)
{
	if (cl->peer_id) {
		sl_peer_del(cl->n->engine, cl->peer_id);
		cl->peer_id = 0;
	}
	sl_tlsconn_free(cl->conn);
	cl->conn = NULL;
	schedule_retry(cl);
}

static void bye(struct native_client *cl, const char *why)
{
	sl_err("%s: closing: %s", cl->server_name, why);
	sl_tlsconn_send(cl->conn, SL_NF_BYE, why, strlen(why));
	end_session(cl);
}

/* ---- the interface ---------------------------------------------------------------------- */

static bool same_prefix(const struct sl_prefix *a, const struct sl_prefix *b)
{
	return a->family == b->family && a->len == b->len && !memcmp(a->addr, b->addr, 16);
}

/* Does prefix p contain the address addr (of p's family)? */
static bool prefix_contains(const struct sl_prefix *p, const uint8_t *addr)
{
	unsigned int full = p->len / 8, rest = p->len % 8;

	if (memcmp(addr, p->addr, full))
		return false;
	return !rest || !((addr[full] ^ p->addr[full]) & (0xff00u >> rest));
}

static void network_of(const struct sl_prefix *addr, struct sl_prefix *net)
{
	*net = *addr;
	for (unsigned int i = 0; i < 16; i++) {
		unsigned int keep = net->len > i * 8 ? net->len - i * 8 : 0;

		if (keep < 8)
			net->addr[i] &= (uint8_t)(0xff00u >> keep);
	}
}

static const uint8_t *server_addr(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
	return (const uint8_t *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
}

static int link_addr(struct native_client *cl, const struct sl_prefix *want, bool *had,
		     struct sl_prefix *have)
{
	const struct sl_native_link_ops *ops = &cl->n->link;
	const char *ifname = sl_engine_ifname(cl->n->engine);
	char a[64], b[64];
	int r;

	if (*had && same_prefix(want, have))
		return 0;
	if (*had) {
		sl_nprefix_format(have, a, sizeof(a));
		sl_nprefix_format(want, b, sizeof(b));
		sl_warn("%s: inner address changed from %s to %s; the old one stays on the "
			"interface",
			ifname, a, b);
	}
	r = ops->addr_add(ops->arg, ifname, want->family, want->addr, want->len);
	if (r < 0 && r != -EEXIST) {
		sl_nprefix_format(want, a, sizeof(a));
		sl_err("%s: cannot add address %s: %s", ifname, a, strerror(-r));
		return r;
	}
	*had = true;
	*have = *want;
	return 0;
}

static void link_route(struct native_client *cl, const struct sl_prefix *route)
{
	const struct sl_native_link_ops *ops = &cl->n->link;
	const char *ifname = sl_engine_ifname(cl->n->engine);
	const struct sockaddr_storage *srv = &cl->n->cfg.server;
	struct sl_prefix net;
	char s[64];
	int r;

	sl_nprefix_format(route, s, sizeof(s));
	/* The kernel added the connected route with the address. */
	if ((cl->has4 && (network_of(&cl->addr4, &net), same_prefix(&net, route))) ||
	    (cl->has6 && (network_of(&cl->addr6, &net), same_prefix(&net, route))))
		return;
	if (route->family == srv->ss_family && prefix_contains(route, server_addr(srv))) {
		sl_warn("%s: not routing %s into the tunnel: the server %s is inside it", ifname, s,
			cl->server_name);
		return;
	}
	r = ops->route_add(ops->arg, ifname, route->family, route->addr, route->len);
	if (r < 0 && r != -EEXIST)
		sl_err("%s: cannot add route %s: %s", ifname, s, strerror(-r));
}

static int configure_link(struct native_client *cl, const struct sl_nconfig *c)
{
	const struct sl_native_link_ops *ops = &cl->n->link;
	const char *ifname = sl_engine_ifname(cl->n->engine);
	uint32_t mtu = c->mtu < cl->n->cfg.mtu ? c->mtu : cl->n->cfg.mtu;
	int r;

	if ((c->has4 && (r = link_addr(cl, &c->addr4, &cl->has4, &cl->addr4)) < 0) ||
	    (c->has6 && (r = link_addr(cl, &c->addr6, &cl->has6, &cl->addr6)) < 0))
		return r;
	r = ops->set_up(ops->arg, ifname, mtu);
	if (r < 0) {
		sl_err("%s: cannot set it up with MTU %u: %s", ifname, mtu, strerror(-r));
		return r;
	}
	for (uint32_t i = 0; i < c->n_routes; i++)
		link_route(cl, &c->routes[i]);
	return 0;
}

/* ---- the engine's peer -------------------------------------------------------------------- */

static int stream_send(void *arg, const uint8_t *ip, size_t len)
{
	struct native_client *cl = arg;

	return cl->conn ? sl_tlsconn_send(cl->conn, SL_NF_DATA, ip, len) : -ENOTCONN;
}

static int add_peer(struct native_client *cl, const struct sl_nconfig *c)
{
	struct sl_native *n = cl->n;
	struct sl_peer_cfg pc;
	struct sl_prefix all = {0};
	int r;

	sl_peer_cfg_init(&pc);
	/*
	 * When the server says UDP shares its TCP port, send to the port we dialled: a
	 * port-forwarding NAT or relay in between maps both alike, and only the port we
	 * reached the server at is known to work from here.
	 */
	pc.endpoint = n->cfg.server;
	if (c->tcp_port != c->udp_port) {
		if (pc.endpoint.ss_family == AF_INET)
			((struct sockaddr_in *)&pc.endpoint)->sin_port = htons(c->udp_port);
		else
			((struct sockaddr_in6 *)&pc.endpoint)->sin6_port = htons(c->udp_port);
	}
	/* The server's liveness policy, so both ends fall back and return together. */
	pc.keepalive_ms = c->keepalive_ms;
	pc.silent_ms = c->silent_ms;
	if (n->cfg.replay_window)
		pc.replay_window = n->cfg.replay_window;
	pc.follow_endpoint = true;
	pc.rekey_after_packets = n->cfg.rekey_packets;
	pc.stream_send = stream_send;
	pc.stream_arg = cl;
	r = sl_peer_new(n->engine, c->peer_id, &pc);
	if (r < 0)
		return r;
	cl->peer_id = c->peer_id;
	/* The only peer: every inner source is accepted from it, every packet goes to it. */
	all.family = AF_INET;
	r = sl_peer_route_add(n->engine, c->peer_id, &all);
	all.family = AF_INET6;
	if (r == 0)
		r = sl_peer_route_add(n->engine, c->peer_id, &all);
	return r;
}

static int install_keys(struct native_client *cl, uint32_t epoch, uint32_t spi_c, uint32_t spi_s,
			enum sl_key_slot slot)
{
	struct sl_native_sa sa = {
		.cipher = cl->cipher, .epoch = epoch, .spi_c = spi_c, .spi_s = spi_s};
	struct sl_key_pair kp;
	int r = sl_native_keys_derive(sl_tlsconn_ssl(cl->conn), &sa, &kp);

	if (r == 0)
		r = sl_key_set(cl->n->engine, cl->peer_id, slot, &kp);
	OPENSSL_cleanse(&kp, sizeof(kp));
	return r;
}

static void log_up(const struct native_client *cl)
{
	char a4[64] = "", a6[64] = "";

	if (cl->has4)
		sl_nprefix_format(&cl->addr4, a4, sizeof(a4));
	if (cl->has6)
		sl_nprefix_format(&cl->addr6, a6, sizeof(a6));
	sl_info("%s up, peer %u (%s), inner %s%s%s", sl_engine_ifname(cl->n->engine), cl->peer_id,
		cl->server_name, a4, cl->has4 && cl->has6 ? " " : "", a6);
}

/* ---- frames ----------------------------------------------------------------------------- */

static void on_config(struct native_client *cl, const struct sl_nframe *f)
{
	struct sl_nconfig c;
	char err[160];
	int r;

	if (cl->peer_id) {
		bye(cl, "second CONFIG");
		return;
	}
	if (sl_nconfig_parse(f->payload, f->len, &c, err, sizeof(err)) < 0) {
		snprintf(err + strlen(err), sizeof(err) - strlen(err), " in CONFIG");
		bye(cl, err);
		return;
	}
	cl->cipher = c.cipher;
	cl->epoch = c.epoch;
	cl->rekey_requested = false;
	if (configure_link(cl, &c) < 0) {
		bye(cl, "client could not configure its interface");
		return;
	}
	if ((r = add_peer(cl, &c)) < 0 ||
	    (r = install_keys(cl, c.epoch, c.spi_c, c.spi_s, SL_KEY_PRIMARY)) < 0) {
		sl_err("engine refused the server's peer: %s", strerror(-r));
		bye(cl, "client set-up failed");
		return;
	}
	sl_tlsconn_established(cl->conn);
	cl->backoff_s = 1;
	log_up(cl);
}

static void on_rekey(struct native_client *cl, const struct sl_nframe *f)
{
	struct sl_nrekey k;
	char err[160], ack[64];
	int r, len;

	if (sl_nrekey_parse(f->payload, f->len, &k, err, sizeof(err)) < 0) {
		snprintf(err + strlen(err), sizeof(err) - strlen(err), " in REKEY");
		bye(cl, err);
		return;
	}
	if (k.epoch != cl->epoch + 1) {
		snprintf(err, sizeof(err), "REKEY to epoch %u, expected %u", k.epoch,
			 cl->epoch + 1);
		bye(cl, err);
		return;
	}
	/* New pair as secondary, then swap: we send with it now, the old one stays as lame duck. */
	r = install_keys(cl, k.epoch, k.spi_c, k.spi_s, SL_KEY_SECONDARY);
	if (r == 0)
		r = sl_key_swap(cl->n->engine, cl->peer_id);
	len = sl_nrekey_ack_build(k.epoch, ack, sizeof(ack));
	if (r < 0 || len < 0 || sl_tlsconn_send(cl->conn, SL_NF_REKEY_ACK, ack, (size_t)len) < 0) {
		sl_err("rekey to epoch %u failed: %s", k.epoch, strerror(r < 0 ? -r : ENOBUFS));
		bye(cl, "client rekey failed");
		return;
	}
	cl->epoch = k.epoch;
	cl->rekey_requested = false;
	sl_info("peer %u: rekeyed, now on epoch %u", cl->peer_id, k.epoch);
}

static void on_frame(struct sl_tlsconn *c, void *arg, const struct sl_nframe *f)
{
	struct native_client *cl = arg;
	char reason[128];

	switch (f->type) {
	case SL_NF_CONFIG:
		on_config(cl, f);
		return;
	case SL_NF_BYE:
		sl_nbye_reason(f->payload, f->len, reason, sizeof(reason));
		sl_warn("%s said goodbye: %s", cl->server_name, reason);
		end_session(cl);
		return;
	case SL_NF_REKEY:
	case SL_NF_DATA:
		break;
	default:
		sl_debug("%s: ignoring frame type %u (%u bytes)", cl->server_name, f->type, f->len);
		return;
	}
	if (!cl->peer_id) {
		bye(cl, "expected CONFIG first");
		return;
	}
	if (f->type == SL_NF_REKEY)
		on_rekey(cl, f);
	else
		sl_engine_stream_input(cl->n->engine, cl->peer_id, f->payload, f->len);
}

static void on_open(struct sl_tlsconn *c, void *arg)
{
	struct native_client *cl = arg;
	struct sl_nhello h = {.version = SL_NATIVE_VERSION};
	char buf[256];
	int len;

	h.n_ciphers = native_cipher_prefs(&cl->n->cfg, h.ciphers);
	/* Ask for the addresses we had, so a reconnect does not renumber us. */
	if (cl->has4) {
		h.has_want4 = true;
		memcpy(h.want4, cl->addr4.addr, 4);
	}
	if (cl->has6) {
		h.has_want6 = true;
		memcpy(h.want6, cl->addr6.addr, 16);
	}
	len = sl_nhello_build(&h, buf, sizeof(buf));
	if (len < 0 || sl_tlsconn_send(c, SL_NF_HELLO, buf, (size_t)len) < 0)
		bye(cl, "cannot send HELLO");
}

static void on_close(struct sl_tlsconn *c, void *arg, enum sl_tlsconn_phase phase,
		     const char *reason)
{
	struct native_client *cl = arg;

	if (phase == SL_TLSCONN_CONNECTING)
		sl_warn("cannot connect to %s: %s", cl->server_name, reason);
	else if (phase == SL_TLSCONN_HANDSHAKE)
		sl_err("TLS handshake with %s failed: %s", cl->server_name, reason);
	else
		sl_warn("connection to %s lost: %s", cl->server_name, reason);
	end_session(cl);
}

static const struct sl_tlsconn_ops conn_ops = {
	.on_open = on_open,
	.on_frame = on_frame,
	.on_close = on_close,
};

/* ---- the control plane's interface --------------------------------------------------------- */

int native_client_start(struct sl_native *n, char *err, size_t err_len)
{
	struct native_client *cl = calloc(1, sizeof(*cl));

	if (!cl) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	if (n->cfg.server.ss_family != AF_INET && n->cfg.server.ss_family != AF_INET6) {
		free(cl);
		snprintf(err, err_len, "a client needs Server = ADDR:PORT");
		return -EINVAL;
	}
	cl->n = n;
	cl->backoff_s = 1;
	sl_format_endpoint(&n->cfg.server, cl->server_name, sizeof(cl->server_name));
	sl_timer_init(&cl->retry, on_retry, cl);
	n->client = cl;
	connect_now(cl);
	return 0;
}

void native_client_free(struct sl_native *n)
{
	struct native_client *cl = n->client;

	sl_timer_cancel(n->loop, &cl->retry);
	if (cl->peer_id)
		sl_peer_del(n->engine, cl->peer_id);
	sl_tlsconn_free(cl->conn);
	free(cl);
	n->client = NULL;
}

void native_client_on_event(struct sl_native *n, const struct sl_event *ev)
{
	struct native_client *cl = n->client;

	if (!cl->peer_id || ev->peer_id != cl->peer_id)
		return;
	if (ev->type == SL_EVENT_KEY_NEAR_LIMIT && !cl->rekey_requested) {
		/* The server drives rekeys; we only ask. */
		if (sl_tlsconn_send(cl->conn, SL_NF_REKEY_REQUEST, NULL, 0) == 0) {
			cl->rekey_requested = true;
			sl_info("peer %u: key near its packet limit, asked the server to rekey",
				cl->peer_id);
		}
	}
}

void native_client_shutdown(struct sl_native *n, const char *reason)
{
	struct native_client *cl = n->client;

	cl->stopping = true;
	sl_timer_cancel(n->loop, &cl->retry);
	if (cl->conn && sl_tlsconn_send(cl->conn, SL_NF_BYE, reason, strlen(reason)) == 0)
		sl_tlsconn_flush(cl->conn);
}

uint32_t native_client_peer(const struct sl_native *n)
{
	return n->client->peer_id;
}
