// SPDX-License-Identifier: MIT
/*
 * The native server: a TCP listener per Listen address; per connection a
 * session that turns a HELLO into an engine peer (id, inner addresses, keys
 * from the TLS exporter) and a CONFIG, drives rekeys, and carries fallback
 * data. A session ends with its connection, and its peer with it.
 */
#include "ctl/native/native_int.h"

#include "core/log.h"
#include "core/sockaddr.h"
#include "ctl/native/addrpool.h"
#include "ctl/native/frame.h"
#include "ctl/native/keys.h"
#include "ctl/native/tlsconn.h"
#include "dco/idmap.h"
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

#define ACCEPTS_PER_WAKE 32
/*
 * Pending connections (TLS or the HELLO not done yet) cost a session and an SSL object each. They
 * are bounded in total (beyond MaxClients) and per source address, and each lives at most
 * HandshakeTimeout seconds from its accept, however slowly it trickles bytes. When the total
 * (MaxPending) is reached the oldest pending one makes room, so that half-open connections cannot
 * lock real clients out: a client that completes its handshake within MaxPending accepts gets in.
 * The limits are config keys ([Server] MaxPending, MaxPendingPerSource, HandshakeTimeout).
 */
#define SPI_TRIES   16
#define REKEY_ACK_S 30

struct listener {
	int fd;
	int index;	   /* in cfg.listen and the engine's listen[] */
	uint16_t tcp_port; /* as bound */
	struct native_server *srv;
};

struct session {
	struct native_server *srv;
	struct sl_tlsconn *conn;
	struct sockaddr_storage from;
	sl_time_ns created;
	int listen_index;
	uint32_t peer_id; /* 0 until a HELLO was accepted */
	enum sl_cipher cipher;
	uint32_t epoch;
	uint32_t spi_c[2]; /* the client's inbound SPIs in its two slots */
	bool rekeying;
	struct sl_nrekey pending;
	struct sl_timer rekey_timer;
	bool has4, has6;
	uint8_t addr4[16], addr6[16];
	struct session *prev, *next;
};

struct native_server {
	struct sl_native *n;
	struct listener ls[SL_CONFIG_MAX_LISTEN];
	uint32_t n_ls;
	bool has_pool4, has_pool6;
	struct sl_addrpool pool4, pool6;
	struct sl_idmap by_peer; /* peer id -> session */
	struct session *sessions;
	uint32_t n_conns, n_peers;
	uint32_t next_id;
	struct {
		uint64_t handshake_timeouts, handshake_failures, refused_per_source, refused_full,
			evicted_pending;
	} tls; /* shown by `sluice show` (stats_hook) */
	struct sl_log_limit abuse_log;
};

static const struct sl_tlsconn_ops session_ops;

/* Messages an attacker can cause (refused and failed handshakes) are rate-limited. */
static bool abuse_log_allowed(struct native_server *srv)
{
	return sl_log_limit_allow(&srv->abuse_log, sl_loop_now(srv->n->loop));
}

/* One source: the IPv4 address, or the IPv6 /64 (one host usually holds a whole /64). */
static bool same_source(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		       &((const struct sockaddr_in6 *)b)->sin6_addr, 8);
}

static size_t tls_stats(void *arg, char *out, size_t cap)
{
	const struct native_server *srv = arg;
	int n = snprintf(
		out, cap,
		"tls_pending=%u\ntls_handshake_timeouts=%llu\ntls_handshake_failures=%llu\n"
		"tls_refused_per_source=%llu\ntls_refused_full=%llu\n"
		"tls_evicted_pending=%llu\n",
		srv->n_conns - srv->n_peers, (unsigned long long)srv->tls.handshake_timeouts,
		(unsigned long long)srv->tls.handshake_failures,
		(unsigned long long)srv->tls.refused_per_source,
		(unsigned long long)srv->tls.refused_full,
		(unsigned long long)srv->tls.evicted_pending);

	return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

/* ---- sessions ---------------------------------------------------------------------- */

static void release_addresses(struct session *s)
{
	if (s->has4)
		sl_addrpool_release(&s->srv->pool4, s->addr4);
	if (s->has6)
		sl_addrpool_release(&s->srv->pool6, s->addr6);
	s->has4 = s->has6 = false;
}

/* Take the session's peer out of the engine and its addresses back. */
static void drop_peer(struct session *s)
{
	struct native_server *srv = s->srv;

	sl_timer_cancel(srv->n->loop, &s->rekey_timer);
	if (s->peer_id) {
		sl_peer_del(srv->n->engine, s->peer_id);
		sl_idmap_del(&srv->by_peer, s->peer_id);
		srv->n_peers--;
		s->peer_id = 0;
	}
	release_addresses(s);
}

static void session_free(struct session *s)
{
	struct native_server *srv = s->srv;

	drop_peer(s);
	sl_tlsconn_free(s->conn);
	if (s->prev)
		s->prev->next = s->next;
	else
		srv->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	srv->n_conns--;
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

static void session_log_name(const struct session *s, char *out, size_t len)
{
	if (s->peer_id)
		snprintf(out, len, "peer %u (%s)", s->peer_id, sl_tlsconn_peer_name(s->conn));
	else
		snprintf(out, len, "%s", sl_tlsconn_peer_name(s->conn));
}

/* Say why (BYE), log it, and end the session. */
static void session_bye(struct session *s, enum sl_log_level level, const char *why)
{
	char name[96];

	session_log_name(s, name, sizeof(name));
	sl_log(level, "%s: closing: %s", name, why);
	sl_tlsconn_send(s->conn, SL_NF_BYE, why, strlen(why));
	session_free(s);
}

/* ---- CONFIG and keys ------------------------------------------------------------------ */

static int stream_send(void *arg, const uint8_t *ip, size_t len)
{
	struct session *s = arg;

	return sl_tlsconn_send(s->conn, SL_NF_DATA, ip, len);
}

static uint32_t new_peer_id(struct native_server *srv)
{
	for (uint32_t tries = 0; tries < SL_PEER_ID_MAX; tries++) {
		uint32_t id = srv->next_id;

		srv->next_id = srv->next_id % SL_PEER_ID_MAX + 1; /* 1..2^24-1, never 0 */
		if (!sl_idmap_get(&srv->by_peer, id))
			return id;
	}
	return 0;
}

static enum sl_cipher pick_cipher(const struct native_server *srv, const struct sl_nhello *h,
				  bool *ok)
{
	*ok = h->n_ciphers > 0;
	for (uint32_t i = 0; i < h->n_ciphers; i++)
		if ((int)h->ciphers[i] == srv->n->cfg.cipher)
			return h->ciphers[i];
	/* Every cipher the parser knows, this server supports: take the client's favourite. */
	return *ok ? h->ciphers[0] : SL_CIPHER_AES256GCM;
}

static int take_addresses(struct session *s, const struct sl_nhello *h)
{
	struct native_server *srv = s->srv;

	if (srv->has_pool4) {
		if (sl_addrpool_alloc(&srv->pool4, h->has_want4 ? h->want4 : NULL, s->addr4) < 0)
			return -ENOSPC;
		s->has4 = true;
	}
	if (srv->has_pool6) {
		if (sl_addrpool_alloc(&srv->pool6, h->has_want6 ? h->want6 : NULL, s->addr6) < 0) {
			release_addresses(s);
			return -ENOSPC;
		}
		s->has6 = true;
	}
	return 0;
}

static int add_host_routes(struct session *s)
{
	struct sl_prefix p = {0};
	int r = 0;

	if (s->has4) {
		p.family = AF_INET;
		p.len = 32;
		memcpy(p.addr, s->addr4, 4);
		r = sl_peer_route_add(s->srv->n->engine, s->peer_id, &p);
	}
	if (r == 0 && s->has6) {
		p.family = AF_INET6;
		p.len = 128;
		memcpy(p.addr, s->addr6, 16);
		r = sl_peer_route_add(s->srv->n->engine, s->peer_id, &p);
	}
	return r;
}

static int new_engine_peer(struct session *s)
{
	const struct sl_config *cfg = &s->srv->n->cfg;
	struct sl_peer_cfg pc;

	sl_peer_cfg_init(&pc);
	/* Endpoint unknown: the client's first authenticated UDP packet tells it. */
	pc.keepalive_ms = cfg->keepalive_s * 1000;
	pc.silent_ms = cfg->dead_after_s * 1000;
	if (cfg->replay_window)
		pc.replay_window = cfg->replay_window;
	pc.follow_endpoint = true;
	pc.rekey_after_packets = cfg->rekey_packets;
	pc.stream_send = stream_send;
	pc.stream_arg = s;
	return sl_peer_new(s->srv->n->engine, s->peer_id, &pc);
}

/* A random client SPI not in use by the client's other slots. */
static uint32_t fresh_spi_c(const struct session *s)
{
	uint32_t spi;

	do
		spi = native_random_spi();
	while (spi && (spi == s->spi_c[0] || spi == s->spi_c[1]));
	return spi;
}

/*
 * Derive epoch's keys and install them in slot with a server SPI that is
 * free in the engine (picked here, retried on a clash). Fills k's SPIs.
 */
static int install_keys(struct session *s, enum sl_key_slot slot, struct sl_nrekey *k)
{
	struct sl_native *n = s->srv->n;
	struct sl_native_sa sa = {.cipher = s->cipher, .epoch = k->epoch, .server = true};
	struct sl_key_pair kp;
	int r = -EEXIST;

	sa.spi_c = k->spi_c = fresh_spi_c(s);
	for (int i = 0; i < SPI_TRIES && r == -EEXIST; i++) {
		sa.spi_s = k->spi_s = native_random_spi();
		if (!sa.spi_c || !sa.spi_s)
			return -EIO;
		r = sl_native_keys_derive(sl_tlsconn_ssl(s->conn), &sa, &kp);
		if (r == 0)
			r = sl_key_set(n->engine, s->peer_id, slot, &kp);
		OPENSSL_cleanse(&kp, sizeof(kp));
	}
	return r;
}

static void fill_config(const struct session *s, const struct sl_nrekey *k, struct sl_nconfig *c)
{
	struct native_server *srv = s->srv;
	const struct sl_config *cfg = &srv->n->cfg;
	uint8_t gw[16];

	memset(c, 0, sizeof(*c));
	c->version = SL_NATIVE_VERSION;
	c->peer_id = s->peer_id;
	c->cipher = s->cipher;
	c->epoch = k->epoch;
	c->spi_c = k->spi_c;
	c->spi_s = k->spi_s;
	if (s->has4) {
		c->has4 = true;
		c->addr4.family = AF_INET;
		c->addr4.len = srv->pool4.prefix.len;
		memcpy(c->addr4.addr, s->addr4, 4);
		sl_addrpool_gateway(&srv->pool4, gw);
		memcpy(c->gw4, gw, 4);
	}
	if (s->has6) {
		c->has6 = true;
		c->addr6.family = AF_INET6;
		c->addr6.len = srv->pool6.prefix.len;
		memcpy(c->addr6.addr, s->addr6, 16);
		sl_addrpool_gateway(&srv->pool6, c->gw6);
	}
	c->mtu = cfg->mtu;
	c->n_routes = cfg->n_routes < SL_NATIVE_MAX_ROUTES ? cfg->n_routes : SL_NATIVE_MAX_ROUTES;
	memcpy(c->routes, cfg->routes, c->n_routes * sizeof(c->routes[0]));
	c->keepalive_ms = cfg->keepalive_s * 1000;
	c->silent_ms = cfg->dead_after_s * 1000;
	c->udp_port = sl_engine_udp_port(srv->n->engine, s->listen_index);
	c->tcp_port = srv->ls[s->listen_index].tcp_port;
}

static int send_config(struct session *s, const struct sl_nrekey *k)
{
	struct sl_nconfig c;
	char buf[4096];
	int len;

	fill_config(s, k, &c);
	len = sl_nconfig_build(&c, buf, sizeof(buf));
	if (len < 0)
		return len;
	return sl_tlsconn_send(s->conn, SL_NF_CONFIG, buf, (size_t)len);
}

static void arm_rekey(struct session *s)
{
	uint32_t secs = s->srv->n->cfg.rekey_seconds;
	sl_time_ns base = (sl_time_ns)secs * SL_SEC, jitter;
	uint32_t r;

	if (!secs)
		return;
	/* Up to 10% earlier, so peers that connected together do not rekey together. */
	r = native_random_below(1000);
	jitter = r == UINT32_MAX ? 0 : base / 10 * r / 1000;
	sl_timer_arm(s->srv->n->loop, &s->rekey_timer, base - jitter);
}

static void log_assignment(const struct session *s)
{
	char a4[INET_ADDRSTRLEN] = "", a6[INET6_ADDRSTRLEN] = "";
	X509 *cert = SSL_get0_peer_certificate(sl_tlsconn_ssl(s->conn));
	char cn[128] = "?";

	if (cert)
		X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn,
					  sizeof(cn));
	if (s->has4)
		inet_ntop(AF_INET, s->addr4, a4, sizeof(a4));
	if (s->has6)
		inet_ntop(AF_INET6, s->addr6, a6, sizeof(a6));
	sl_info("peer %u (%s, CN=%s) connected: inner %s%s%s, %s", s->peer_id,
		sl_tlsconn_peer_name(s->conn), cn, a4, s->has4 && s->has6 ? " " : "", a6,
		sl_cipher_name(s->cipher));
}

/* Everything a HELLO sets up, undone by drop_peer if any step fails. */
static const char *accept_client(struct session *s, const struct sl_nhello *h)
{
	struct native_server *srv = s->srv;
	struct sl_nrekey k = {.epoch = 0};
	bool common;
	int r;

	if (srv->n_peers >= srv->n->cfg.max_clients)
		return "server full";
	s->cipher = pick_cipher(srv, h, &common);
	if (!common)
		return "no common cipher";
	if (take_addresses(s, h) < 0)
		return "address pool exhausted";
	s->peer_id = new_peer_id(srv);
	if (!s->peer_id || sl_idmap_put(&srv->by_peer, s->peer_id, s) < 0) {
		s->peer_id = 0;
		release_addresses(s);
		return "server error (peer id)";
	}
	srv->n_peers++;
	if ((r = new_engine_peer(s)) < 0 || (r = add_host_routes(s)) < 0 ||
	    (r = install_keys(s, SL_KEY_PRIMARY, &k)) < 0 || (r = send_config(s, &k)) < 0) {
		sl_err("peer %u: set-up failed: %s", s->peer_id, strerror(-r));
		drop_peer(s); /* also when the engine never had the peer: deleting it is harmless */
		return "server error (set-up)";
	}
	s->epoch = 0;
	s->spi_c[0] = k.spi_c;
	sl_tlsconn_established(s->conn);
	arm_rekey(s);
	log_assignment(s);
	return NULL;
}

/* ---- rekey --------------------------------------------------------------------------- */

static void start_rekey(struct session *s, const char *why)
{
	struct sl_nrekey k = {.epoch = s->epoch + 1};
	char buf[128];
	int len, r;

	if (!s->peer_id || s->rekeying)
		return;
	/* The new pair goes into the secondary slot: we keep sending with the old one until ACK. */
	r = install_keys(s, SL_KEY_SECONDARY, &k);
	len = r < 0 ? r : sl_nrekey_build(&k, buf, sizeof(buf));
	if (len < 0 || sl_tlsconn_send(s->conn, SL_NF_REKEY, buf, (size_t)len) < 0) {
		sl_err("peer %u: cannot start a rekey: %s", s->peer_id,
		       strerror(len < 0 ? -len : ENOBUFS));
		session_bye(s, SL_LOG_ERR, "rekey failed");
		return;
	}
	s->rekeying = true;
	s->pending = k;
	sl_info("peer %u: rekeying to epoch %u (%s)", s->peer_id, k.epoch, why);
	sl_timer_arm(s->srv->n->loop, &s->rekey_timer, REKEY_ACK_S * SL_SEC);
}

static void on_rekey_timer(struct sl_loop *loop, struct sl_timer *t, void *arg)
{
	struct session *s = arg;

	if (s->rekeying)
		session_bye(s, SL_LOG_WARN, "rekey not acknowledged within 30 s");
	else
		start_rekey(s, "RekeySeconds");
}

static void on_rekey_ack(struct session *s, const struct sl_nframe *f)
{
	char err[128];
	uint32_t epoch;
	int r;

	if (sl_nrekey_ack_parse(f->payload, f->len, &epoch, err, sizeof(err)) < 0) {
		snprintf(err + strlen(err), sizeof(err) - strlen(err), " in REKEY_ACK");
		session_bye(s, SL_LOG_WARN, err);
		return;
	}
	if (!s->rekeying || epoch != s->pending.epoch) {
		session_bye(s, SL_LOG_WARN, "REKEY_ACK for an epoch not offered");
		return;
	}
	r = sl_key_swap(s->srv->n->engine, s->peer_id);
	if (r < 0) {
		sl_err("peer %u: key swap failed: %s", s->peer_id, strerror(-r));
		session_bye(s, SL_LOG_ERR, "server error (rekey)");
		return;
	}
	s->rekeying = false;
	s->epoch = epoch;
	s->spi_c[1] = s->spi_c[0];
	s->spi_c[0] = s->pending.spi_c;
	sl_info("peer %u: rekeyed, now on epoch %u", s->peer_id, epoch);
	sl_timer_cancel(s->srv->n->loop, &s->rekey_timer);
	arm_rekey(s);
}

/* ---- frames ---------------------------------------------------------------------------- */

static void on_hello(struct session *s, const struct sl_nframe *f)
{
	struct sl_nhello h;
	char err[160];
	const char *refused;

	if (s->peer_id) {
		session_bye(s, SL_LOG_WARN, "second HELLO");
		return;
	}
	if (sl_nhello_parse(f->payload, f->len, &h, err, sizeof(err)) < 0) {
		snprintf(err + strlen(err), sizeof(err) - strlen(err), " in HELLO");
		session_bye(s, SL_LOG_WARN, err);
		return;
	}
	refused = accept_client(s, &h);
	if (refused)
		session_bye(s, SL_LOG_WARN, refused);
}

static void on_bye(struct session *s, const struct sl_nframe *f)
{
	char reason[128], name[96];

	sl_nbye_reason(f->payload, f->len, reason, sizeof(reason));
	session_log_name(s, name, sizeof(name));
	sl_info("%s: said goodbye: %s", name, reason);
	session_free(s);
}

/* Frames that need the peer a HELLO made. */
static void on_peer_frame(struct session *s, const struct sl_nframe *f)
{
	if (!s->peer_id) {
		session_bye(s, SL_LOG_WARN, "expected HELLO first");
		return;
	}
	switch (f->type) {
	case SL_NF_DATA:
		/* Bad packets are the engine's to count (malformed, not from this peer...). */
		sl_engine_stream_input(s->srv->n->engine, s->peer_id, f->payload, f->len);
		break;
	case SL_NF_REKEY_ACK:
		on_rekey_ack(s, f);
		break;
	case SL_NF_REKEY_REQUEST:
		start_rekey(s, "client asked");
		break;
	}
}

static void on_frame(struct sl_tlsconn *c, void *arg, const struct sl_nframe *f)
{
	struct session *s = arg;

	switch (f->type) {
	case SL_NF_HELLO:
		on_hello(s, f);
		break;
	case SL_NF_BYE:
		on_bye(s, f);
		break;
	case SL_NF_DATA:
	case SL_NF_REKEY_ACK:
	case SL_NF_REKEY_REQUEST:
		on_peer_frame(s, f);
		break;
	case SL_NF_CONFIG:
	case SL_NF_REKEY:
		session_bye(s, SL_LOG_WARN, "unexpected server frame from a client");
		break;
	default:
		/* A newer client may send what we do not know yet. */
		sl_debug("%s: ignoring frame type %u (%u bytes)", sl_tlsconn_peer_name(c), f->type,
			 f->len);
		break;
	}
}

static void on_open(struct sl_tlsconn *c, void *arg)
{
	sl_debug("TLS with %s established, waiting for HELLO", sl_tlsconn_peer_name(c));
}

static void on_close(struct sl_tlsconn *c, void *arg, enum sl_tlsconn_phase phase,
		     const char *reason)
{
	struct session *s = arg;
	char name[96];

	session_log_name(s, name, sizeof(name));
	if (phase == SL_TLSCONN_ESTABLISHED) {
		sl_info("%s disconnected: %s", name, reason);
	} else {
		struct native_server *srv = s->srv;
		sl_time_ns age = sl_loop_now(srv->n->loop) - s->created;

		if (age >= (sl_time_ns)srv->n->cfg.handshake_timeout_s * SL_SEC)
			srv->tls.handshake_timeouts++;
		else
			srv->tls.handshake_failures++;
		if (abuse_log_allowed(srv))
			sl_err("TLS handshake with %s failed: %s", name, reason);
	}
	session_free(s);
}

static const struct sl_tlsconn_ops session_ops = {
	.on_open = on_open,
	.on_frame = on_frame,
	.on_close = on_close,
};

/* ---- listeners ------------------------------------------------------------------------- */

/* Admission of a new connection: NULL to go ahead (after evicting the oldest pending one if the
 * total is reached), or why it is refused. */
static const char *admit(struct native_server *srv, const struct sockaddr_storage *from)
{
	struct session *oldest = NULL;
	uint32_t pending = 0, from_source = 0;

	for (struct session *s = srv->sessions; s; s = s->next) {
		if (s->peer_id)
			continue;
		pending++;
		oldest = s; /* the list is newest first */
		if (same_source(&s->from, from))
			from_source++;
	}
	if (from_source >= srv->n->cfg.max_pending_per_source) {
		srv->tls.refused_per_source++;
		return "too many pending connections from this address";
	}
	if (pending >= srv->n->cfg.max_pending && oldest) {
		srv->tls.evicted_pending++;
		session_free(oldest);
	}
	if (srv->n_conns >= srv->n->cfg.max_clients + srv->n->cfg.max_pending) {
		srv->tls.refused_full++;
		return "too many connections";
	}
	return NULL;
}

static void new_session(struct native_server *srv, int fd, const struct sockaddr_storage *from,
			int listen_index)
{
	const char *refused = admit(srv, from);
	struct session *s = refused ? NULL : calloc(1, sizeof(*s));
	char name[64];
	int r;

	sl_format_endpoint(from, name, sizeof(name));
	if (!s) {
		if (abuse_log_allowed(srv))
			sl_warn("refusing connection from %s: %s", name,
				refused ? refused : "out of memory");
		close(fd);
		return;
	}
	s->srv = srv;
	s->from = *from;
	s->created = sl_loop_now(srv->n->loop);
	s->listen_index = listen_index;
	sl_timer_init(&s->rekey_timer, on_rekey_timer, s);
	r = sl_tlsconn_new(&s->conn, srv->n->loop, srv->n->tls, fd, true, false, from, &session_ops,
			   s);
	if (r < 0) {
		sl_warn("connection from %s: %s", name, strerror(-r));
		free(s);
		return;
	}
	sl_tlsconn_set_handshake_deadline(s->conn, srv->n->cfg.handshake_timeout_s);
	s->next = srv->sessions;
	if (s->next)
		s->next->prev = s;
	srv->sessions = s;
	srv->n_conns++;
}

static void on_accept(struct sl_loop *loop, int fd, uint32_t events, void *arg)
{
	struct listener *l = arg;

	for (int i = 0; i < ACCEPTS_PER_WAKE; i++) {
		struct sockaddr_storage from;
		socklen_t len = sizeof(from);
		int c;

		memset(&from, 0, sizeof(from));
		c = accept4(fd, (struct sockaddr *)&from, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				sl_warn("accept: %s", strerror(errno));
			return;
		}
		new_session(l->srv, c, &from, l->index);
	}
}

static uint16_t local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					     : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

static int open_listener(const struct sockaddr_storage *addr, char *err, size_t err_len)
{
	char name[64];
	int one = 1, fd, r;

	sl_format_endpoint(addr, name, sizeof(name));
	fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		snprintf(err, err_len, "TCP socket for %s: %s", name, strerror(errno));
		return r;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (addr->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)addr, sl_sockaddr_len(addr)) < 0 ||
	    listen(fd, 128) < 0) {
		r = -errno;
		if (r == -EADDRINUSE)
			snprintf(err, err_len, "TCP port %s is in use", strrchr(name, ':') + 1);
		else
			snprintf(err, err_len, "TCP listen on %s: %s", name, strerror(errno));
		close(fd);
		return r;
	}
	return fd;
}

static int open_listeners(struct native_server *srv, char *err, size_t err_len)
{
	const struct sl_config *cfg = &srv->n->cfg;

	for (uint32_t i = 0; i < cfg->n_listen && i < SL_CONFIG_MAX_LISTEN; i++) {
		struct listener *l = &srv->ls[srv->n_ls];
		int fd = open_listener(&cfg->listen[i], err, err_len), r;

		if (fd < 0)
			return fd;
		l->fd = fd;
		l->index = (int)i;
		l->tcp_port = local_port(fd);
		l->srv = srv;
		srv->n_ls++;
		r = sl_loop_add_fd(srv->n->loop, fd, SL_EV_READ, on_accept, l);
		if (r < 0) {
			snprintf(err, err_len, "event loop: %s", strerror(-r));
			return r;
		}
	}
	if (!srv->n_ls) {
		snprintf(err, err_len, "no Listen address");
		return -EINVAL;
	}
	return 0;
}

static int init_pools(struct native_server *srv, char *err, size_t err_len)
{
	const struct sl_config *cfg = &srv->n->cfg;

	if (!cfg->has_pool4 && !cfg->has_pool6) {
		snprintf(err, err_len, "a server needs Pool4 or Pool6");
		return -EINVAL;
	}
	if (cfg->has_pool4) {
		if (sl_addrpool_init(&srv->pool4, &cfg->pool4) < 0) {
			snprintf(err, err_len, "Pool4 has no room for clients");
			return -EINVAL;
		}
		srv->has_pool4 = true;
	}
	if (cfg->has_pool6) {
		if (sl_addrpool_init(&srv->pool6, &cfg->pool6) < 0) {
			snprintf(err, err_len, "Pool6 has no room for clients");
			return -EINVAL;
		}
		srv->has_pool6 = true;
	}
	return 0;
}

int native_server_start(struct sl_native *n, char *err, size_t err_len)
{
	struct native_server *srv = calloc(1, sizeof(*srv));
	int r;

	if (!srv) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	srv->n = n;
	srv->next_id = 1;
	srv->abuse_log = (struct sl_log_limit){
		.what = "refused or failed TLS connections", .burst = 5, .window_s = 10};
	sl_idmap_init(&srv->by_peer);
	n->server = srv;
	r = init_pools(srv, err, err_len);
	if (r == 0)
		r = open_listeners(srv, err, err_len);
	if (r == 0)
		sl_engine_set_stats_hook(n->engine, tls_stats, srv);
	return r;
}

void native_server_free(struct sl_native *n)
{
	struct native_server *srv = n->server;

	sl_engine_set_stats_hook(n->engine, NULL, NULL);
	while (srv->sessions)
		session_free(srv->sessions);
	for (uint32_t i = 0; i < srv->n_ls; i++) {
		sl_loop_del_fd(n->loop, srv->ls[i].fd);
		close(srv->ls[i].fd);
	}
	if (srv->has_pool4)
		sl_addrpool_free(&srv->pool4);
	if (srv->has_pool6)
		sl_addrpool_free(&srv->pool6);
	sl_idmap_free(&srv->by_peer);
	free(srv);
	n->server = NULL;
}

void native_server_on_event(struct sl_native *n, const struct sl_event *ev)
{
	struct session *s = sl_idmap_get(&n->server->by_peer, ev->peer_id);
	struct sl_peer_stats st;
	char ep[64];

	if (!s)
		return;
	switch (ev->type) {
	case SL_EVENT_KEY_NEAR_LIMIT:
		start_rekey(s, "key near its packet limit");
		break;
	case SL_EVENT_ENDPOINT_CHANGED:
		if (sl_peer_stats(n->engine, ev->peer_id, &st) == 0) {
			sl_format_endpoint(&st.endpoint, ep, sizeof(ep));
			sl_info("peer %u: UDP endpoint moved to %s", ev->peer_id, ep);
		}
		break;
	default:
		break;
	}
}

void native_server_shutdown(struct sl_native *n, const char *reason)
{
	for (struct session *s = n->server->sessions; s; s = s->next) {
		if (sl_tlsconn_send(s->conn, SL_NF_BYE, reason, strlen(reason)) == 0)
			sl_tlsconn_flush(s->conn);
	}
}

uint32_t native_server_peers(const struct sl_native *n)
{
	return n->server->n_peers;
}
