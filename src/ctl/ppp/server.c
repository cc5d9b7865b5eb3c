// SPDX-License-Identifier: MIT
/* The PPP-over-TLS far end: listener, framing detection, HDLC/RFC 1661 frames, engine glue. */
#include "ctl/ppp/server.h"

#include "core/bytes.h"
#include "core/log.h"
#include "ctl/ppp/session.h"
#include "dco/uapi.h"
#include "io/tls_stream.h"
#include "proto/hdlc.h"
#include "proto/nd_ra.h"
#include "proto/ppp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PEER_ID	  1
#define RX_MAX	  (128u * 1024) /* HDLC bytes waiting for a closing flag */
#define FRAME_MAX (SL_PPP_HDR_MAX + 65535u)
/* Router Advertisement timing (RFC 4861 6.2.1 defaults scaled to a VPN session) */
#define RA_INTERVAL_S	 200
#define RA_ROUTER_LIFE_S 1800
#define RA_VALID_S	 3600
#define RA_PREFERRED_S	 1800

enum framing { FRAMING_UNKNOWN, FRAMING_HDLC, FRAMING_SYNC };

struct link {
	struct sl_ppp_server *srv;
	struct sl_tls_stream *tls;
	struct sl_ppp_session ppp;
	enum framing framing;
	bool peer_added;
	bool closing;
	bool ra_sent_this_s; /* at most one answer to solicitations a second (RFC 4861 6.2.6) */
	uint32_t since_ra_s;
	char name[64];
	size_t rx_len;
	uint8_t rx[RX_MAX];
};

struct sl_ppp_server {
	struct sl_loop *loop;
	struct sl_engine *engine;
	struct sl_ppp_server_cfg cfg;
	SSL_CTX *tls;
	int lfd;
	struct link *link; /* the one session, or NULL */
	struct sl_timer tick;
	struct sl_ppp_server_stats st;
};

static const struct sl_ppp_session_ops session_ops;
static const struct sl_tls_stream_ops stream_ops;

/* ---- sending ------------------------------------------------------------------------ */

/* One PPP frame (header for proto, then info) into the TLS stream, framed as the peer wants. */
static int send_frame(struct link *l, uint16_t proto, const uint8_t *info, size_t len)
{
	bool lcp = proto == SL_PPP_LCP;
	struct sl_pkt h = {0};
	uint8_t hdr[SL_PPP_HDR_MAX + 8];
	uint8_t *out;
	size_t hn;

	if (!l->tls || !sl_tls_stream_is_open(l->tls))
		return -ENOTCONN;
	h.buf = hdr;
	h.cap = sizeof(hdr);
	sl_pkt_reset(&h, SL_PPP_HDR_MAX);
	sl_ppp_push_header(&h, proto, l->ppp.tx_acfc, l->ppp.tx_pfc);
	hn = h.len;
	l->srv->st.frames_out++;
	if (l->framing == FRAMING_SYNC)
		return sl_tls_stream_send2(l->tls, h.data, hn, info, len);
	/* allocate the largest framing, frame, shrink to what it took */
	out = sl_tls_stream_reserve(l->tls, sl_hdlc_framed_max(hn + len));
	if (!out)
		return -ENOBUFS;
	sl_tls_stream_commit(l->tls, sl_hdlc_frame2(h.data, hn, info, len, out,
						    lcp ? SL_HDLC_ACCM_ALL : l->ppp.tx_accm));
	return 0;
}

static int on_session_send(void *arg, uint16_t proto, const uint8_t *pkt, size_t len)
{
	return send_frame(arg, proto, pkt, len);
}

/* The engine routes a packet to the peer: it rides the TLS stream (no DTLS for PPP). */
static int on_stream_send(void *arg, const uint8_t *ip, size_t len)
{
	struct sl_ppp_server *s = arg;
	struct link *l = s->link;

	bool v6 = len && ip[0] >> 4 == 6;

	if (!l || !sl_ppp_session_up(&l->ppp) || len == 0 ||
	    (v6 && !sl_ppp_session_ipv6_up(&l->ppp))) {
		s->st.no_session_drops++;
		return -ENOTCONN;
	}
	return send_frame(l, v6 ? SL_PPP_IPV6 : SL_PPP_IPV4, ip, len);
}

/* ---- the session's life ----------------------------------------------------------------- */

static void link_free(struct link *l)
{
	struct sl_ppp_server *s = l->srv;

	if (l->peer_added)
		sl_peer_del(s->engine, PEER_ID);
	sl_tls_stream_free(l->tls);
	if (s->link == l)
		s->link = NULL;
	free(l);
}

/* Advertise prefix6 on the link, from our link-local address to all nodes (RFC 4861 6.2.4). */
static void send_router_advert(struct link *l)
{
	struct sl_ppp_server *s = l->srv;
	struct sl_nd_ra ra = {.prefix_len = 64,
			      .valid_s = RA_VALID_S,
			      .preferred_s = RA_PREFERRED_S,
			      .router_lifetime_s = RA_ROUTER_LIFE_S,
			      .mtu = s->cfg.mtu};
	uint8_t b[SL_ND_RA_LEN];
	int n;

	sl_nd_link_local(l->ppp.cfg.local_ifid, ra.src);
	ra.dst[0] = 0xff;
	ra.dst[1] = 0x02;
	ra.dst[15] = 0x01;
	memcpy(ra.prefix, s->cfg.prefix6, 8);
	n = sl_nd_build_ra(&ra, b, sizeof(b));
	if (n > 0 && send_frame(l, SL_PPP_IPV6, b, (size_t)n) == 0)
		s->st.router_adverts++;
	l->since_ra_s = 0;
}

/* fe80::/64 (the whole link is the peer's but for our own address) and prefix6/64. */
static int add_ipv6_routes(struct link *l)
{
	struct sl_ppp_server *s = l->srv;
	struct sl_prefix ll = {.family = AF_INET6, .len = 64, .addr = {0xfe, 0x80}};
	struct sl_prefix gp = {.family = AF_INET6, .len = 64};
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], p[INET6_ADDRSTRLEN];
	uint8_t ours[16], theirs[16];
	int r = sl_peer_route_add(s->engine, PEER_ID, &ll);

	memcpy(gp.addr, s->cfg.prefix6, 8);
	if (r == 0 && s->cfg.have_prefix6)
		r = sl_peer_route_add(s->engine, PEER_ID, &gp);
	if (r < 0)
		return r;
	sl_nd_link_local(l->ppp.cfg.local_ifid, ours);
	sl_nd_link_local(l->ppp.peer_ifid_seen, theirs);
	inet_ntop(AF_INET6, ours, a, sizeof(a));
	inet_ntop(AF_INET6, theirs, b, sizeof(b));
	inet_ntop(AF_INET6, gp.addr, p, sizeof(p));
	sl_info("ppp %s: IPv6 up, this end %s, peer %s; %s%s%s", l->name, a, b,
		s->cfg.have_prefix6 ? "prefix " : "link-local only (no --ipv6-prefix)",
		s->cfg.have_prefix6 ? p : "", s->cfg.have_prefix6 ? "/64 advertised" : "");
	return 0;
}

static void on_network(void *arg)
{
	struct link *l = arg;
	struct sl_ppp_server *s = l->srv;
	struct sl_peer_cfg pc;
	struct sl_prefix p4 = {.family = AF_INET, .len = 32};
	char a[INET_ADDRSTRLEN];
	int r;

	sl_peer_cfg_init(&pc);
	pc.keepalive_ms = 0; /* LCP echo is the DPD here */
	pc.stream_send = on_stream_send;
	pc.stream_arg = s;
	memcpy(p4.addr, s->cfg.peer_ip4, 4);
	r = sl_peer_new(s->engine, PEER_ID, &pc);
	if (r == 0) {
		l->peer_added = true;
		r = sl_peer_route_add(s->engine, PEER_ID, &p4);
	}
	if (r == 0 && sl_ppp_session_ipv6_up(&l->ppp))
		r = add_ipv6_routes(l);
	if (r < 0) {
		sl_err("ppp %s: cannot add the peer to the engine: %s", l->name, strerror(-r));
		sl_ppp_session_close(&l->ppp, "internal error");
		return;
	}
	inet_ntop(AF_INET, s->cfg.peer_ip4, a, sizeof(a));
	sl_info("ppp %s: network up (%s framing), peer %s; data over TLS through the engine's "
		"stream path (no UDP/DTLS for PPP)",
		l->name, l->framing == FRAMING_HDLC ? "HDLC" : "RFC 1661", a);
	if (sl_ppp_session_ipv6_up(&l->ppp) && s->cfg.have_prefix6)
		send_router_advert(l);
}

static void on_down(void *arg, const char *reason)
{
	struct link *l = arg;

	sl_info("ppp %s: session over: %s (control packets: %llu malformed, %llu options "
		"rejected, %llu IPv6 identifiers Nak'ed; %llu Router Solicitations answered since "
		"start)",
		l->name, reason, (unsigned long long)l->ppp.bad_packets,
		(unsigned long long)l->ppp.rejected_options, (unsigned long long)l->ppp.naked_ifids,
		(unsigned long long)l->srv->st.router_solicits);
	l->closing = true; /* freed from the tick, after the last packets are flushed */
	if (l->peer_added) {
		sl_peer_del(l->srv->engine, PEER_ID);
		l->peer_added = false;
	}
}

static const struct sl_ppp_session_ops session_ops = {on_session_send, on_network, on_down};

/* ---- receiving --------------------------------------------------------------------------- */

/* A Router Solicitation is ours to answer (the kernel behind the TUN is no router): true if taken.
 */
static bool router_solicit(struct link *l, const uint8_t *ip, size_t n)
{
	uint8_t src[16];

	if (!l->srv->cfg.have_prefix6 || !sl_nd_router_solicit(ip, n, src))
		return false;
	l->srv->st.router_solicits++;
	if (!l->ra_sent_this_s) {
		l->ra_sent_this_s = true;
		send_router_advert(l);
	}
	return true;
}

static void on_frame(struct link *l, const uint8_t *f, size_t n)
{
	struct sl_ppp_server *s = l->srv;
	uint16_t proto;
	int h = sl_ppp_header_parse(f, n, &proto);

	if (h < 0) {
		s->st.bad_frames++;
		return;
	}
	s->st.frames_in++;
	f += h;
	n -= (size_t)h;
	switch (proto) {
	case SL_PPP_LCP:
	case SL_PPP_IPCP:
	case SL_PPP_IPV6CP:
		sl_ppp_session_input(&l->ppp, proto, f, n);
		return;
	case SL_PPP_IPV6:
		if (!sl_ppp_session_ipv6_up(&l->ppp) || !l->peer_added) {
			s->st.no_session_drops++;
			return;
		}
		if (router_solicit(l, f, n))
			return;
		sl_engine_stream_input(s->engine, PEER_ID, f, n);
		return;
	case SL_PPP_IPV4:
		if (!sl_ppp_session_up(&l->ppp) || !l->peer_added) {
			s->st.no_session_drops++;
			return;
		}
		sl_engine_stream_input(s->engine, PEER_ID, f, n); /* counts its own drops */
		return;
	default:
		s->st.rejected_protocols++;
		sl_ppp_session_reject_protocol(&l->ppp, proto, f, n);
		return;
	}
}

static void hdlc_input(struct link *l, const uint8_t *b, size_t n)
{
	size_t off = 0;

	if (n > RX_MAX - l->rx_len) {
		/* no flag in 128 KiB: not a PPP peer, or lost sync; start again */
		l->srv->st.bad_frames++;
		l->rx_len = 0;
		if (n > RX_MAX)
			return;
	}
	memcpy(l->rx + l->rx_len, b, n);
	l->rx_len += n;
	while (off < l->rx_len) {
		size_t used, len;
		int r = sl_hdlc_unframe(l->rx + off, l->rx_len - off, &used, &len);

		if (r == -EAGAIN) {
			off += used;
			break;
		}
		if (r == 0)
			on_frame(l, l->rx + off, len); /* un-framed in place */
		else
			l->srv->st.bad_fcs++;
		off += used;
		if (l->closing || !l->tls)
			return;
	}
	memmove(l->rx, l->rx + off, l->rx_len - off);
	l->rx_len -= off;
}

/* A random interface identifier: non-zero and not the other one (RFC 5072 4.1). */
static void random_ifid(uint8_t out[8], const uint8_t other[8])
{
	static const uint8_t zero[8];

	for (int i = 0; i < 8; i++) {
		if (RAND_bytes(out, 8) != 1)
			memset(out, 0x22 + i, 8);
		out[0] &=
			~0x02; /* the "u" bit clear: not from a global IEEE identifier (RFC 4291) */
		if (memcmp(out, zero, 8) && (!other || memcmp(out, other, 8)))
			return;
	}
	memset(out, 0x22, 8);
	out[7] = other && other[7] == 0x22 ? 0x23 : 0x22;
}

static void start_session(struct link *l, enum framing f)
{
	struct sl_ppp_server *s = l->srv;
	struct sl_ppp_session_cfg c = {.server = true,
				       .ipv4 = true,
				       .ipv6 = s->cfg.ipv6,
				       .echo_interval_s = s->cfg.echo_interval_s};

	l->framing = f;
	c.hdlc = f == FRAMING_HDLC;
	if (RAND_bytes((uint8_t *)&c.magic, sizeof(c.magic)) != 1 || !c.magic)
		c.magic = 0x5a17ce00u ^ (uint32_t)getpid();
	memcpy(c.local_ifid, s->cfg.local_ifid, 8);
	random_ifid(c.peer_ifid, c.local_ifid);
	memcpy(c.local_ip4, s->cfg.local_ip4, 4);
	memcpy(c.peer_ip4, s->cfg.peer_ip4, 4);
	memcpy(c.dns, s->cfg.dns, sizeof(c.dns));
	sl_ppp_session_init(&l->ppp, &c, &session_ops, l);
	sl_info("ppp %s: %s framing", l->name, c.hdlc ? "RFC 1662 HDLC" : "RFC 1661");
	sl_ppp_session_start(&l->ppp);
}

static void on_data(struct sl_tls_stream *t, void *arg, uint8_t *b, size_t n)
{
	struct link *l = arg;

	if (l->closing || n == 0)
		return;
	if (l->framing == FRAMING_UNKNOWN)
		start_session(l, b[0] == SL_HDLC_FLAG ? FRAMING_HDLC : FRAMING_SYNC);
	if (l->framing == FRAMING_HDLC)
		hdlc_input(l, b, n);
	else
		on_frame(l, b, n); /* one frame per TLS record, as openconnect sends them */
}

static void on_open(struct sl_tls_stream *t, void *arg)
{
	struct link *l = arg;

	sl_info("ppp %s: TLS up (%s)", l->name, SSL_get_version(sl_tls_stream_ssl(t)));
}

static void on_close(struct sl_tls_stream *t, void *arg, const char *reason)
{
	struct link *l = arg;

	sl_info("ppp %s: connection closed: %s", l->name, reason);
	/* Not freed here: a caller up the stack may still use the link; the tick frees it. */
	l->closing = true;
	sl_tls_stream_free(l->tls);
	l->tls = NULL;
	if (l->peer_added) {
		sl_peer_del(l->srv->engine, PEER_ID);
		l->peer_added = false;
	}
}

static const struct sl_tls_stream_ops stream_ops = {
	.on_open = on_open, .on_data = on_data, .on_close = on_close};

/* ---- listener and tick ----------------------------------------------------------------- */

static void on_accept(struct sl_loop *loop, int fd, uint32_t events, void *arg)
{
	struct sl_ppp_server *s = arg;
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	struct link *l;
	SSL *ssl;
	int c = accept4(fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (c < 0)
		return;
	if (s->link) {
		sl_warn("ppp: a second client while one is connected: refused");
		close(c);
		return;
	}
	l = calloc(1, sizeof(*l));
	ssl = l ? SSL_new(s->tls) : NULL;
	if (!ssl || !SSL_set_fd(ssl, c)) {
		SSL_free(ssl);
		free(l);
		close(c);
		return;
	}
	SSL_set_accept_state(ssl);
	l->srv = s;
	sl_format_endpoint(&peer, l->name, sizeof(l->name));
	if (sl_tls_stream_new(&l->tls, loop, ssl, c, false, &stream_ops, l) < 0) {
		free(l);
		return;
	}
	s->link = l;
	s->st.sessions++;
}

static void on_tick(struct sl_loop *loop, struct sl_timer *t, void *arg)
{
	struct sl_ppp_server *s = arg;
	struct link *l = s->link;

	sl_timer_arm(loop, &s->tick, SL_SEC);
	if (!l)
		return;
	if (l->closing) {
		link_free(l);
		return;
	}
	if (l->framing == FRAMING_UNKNOWN)
		return;
	sl_ppp_session_tick(&l->ppp);
	l->ra_sent_this_s = false;
	if (s->cfg.have_prefix6 && sl_ppp_session_ipv6_up(&l->ppp) && s->link == l &&
	    ++l->since_ra_s >= RA_INTERVAL_S)
		send_router_advert(l);
}

static int listen_on(const struct sockaddr_storage *ss, char *err, size_t err_len)
{
	socklen_t len =
		ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	int one = 1, fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	char name[64];

	sl_format_endpoint(ss, name, sizeof(name));
	if (fd < 0) {
		snprintf(err, err_len, "socket: %s", strerror(errno));
		return -errno;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, 16) < 0) {
		int r = -errno;

		snprintf(err, err_len, "cannot listen on %s: %s", name, strerror(errno));
		close(fd);
		return r;
	}
	return fd;
}

static SSL_CTX *server_ctx(const struct sl_ppp_server_cfg *cfg, char *err, size_t err_len)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	ERR_clear_error();
	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    SSL_CTX_use_certificate_chain_file(ctx, cfg->cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, cfg->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		unsigned long e = ERR_peek_last_error();

		snprintf(err, err_len, "TLS certificate %s / key %s: %s", cfg->cert, cfg->key,
			 e ? ERR_reason_error_string(e) : "cannot load");
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int sl_ppp_server_new(struct sl_ppp_server **out, struct sl_loop *loop, struct sl_engine *engine,
		      const struct sl_ppp_server_cfg *cfg, char *err, size_t err_len)
{
	struct sl_ppp_server *s = calloc(1, sizeof(*s));
	int r;

	if (!s) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	s->loop = loop;
	s->engine = engine;
	s->cfg = *cfg;
	s->lfd = -1;
	if (!memcmp(s->cfg.local_ifid, (uint8_t[8]){0}, 8))
		random_ifid(s->cfg.local_ifid, NULL);
	s->tls = server_ctx(cfg, err, err_len);
	if (!s->tls) {
		free(s);
		return -EINVAL;
	}
	r = listen_on(&cfg->listen, err, err_len);
	if (r < 0) {
		SSL_CTX_free(s->tls);
		free(s);
		return r;
	}
	s->lfd = r;
	r = sl_loop_add_fd(loop, s->lfd, SL_EV_READ, on_accept, s);
	if (r < 0) {
		snprintf(err, err_len, "event loop: %s", strerror(-r));
		close(s->lfd);
		SSL_CTX_free(s->tls);
		free(s);
		return r;
	}
	sl_timer_init(&s->tick, on_tick, s);
	sl_timer_arm(loop, &s->tick, SL_SEC);
	*out = s;
	return 0;
}

void sl_ppp_server_free(struct sl_ppp_server *s)
{
	if (!s)
		return;
	if (s->link) {
		if (s->link->framing != FRAMING_UNKNOWN)
			sl_ppp_session_close(&s->link->ppp, "server shutting down");
		link_free(s->link);
	}
	sl_timer_cancel(s->loop, &s->tick);
	sl_loop_del_fd(s->loop, s->lfd);
	close(s->lfd);
	SSL_CTX_free(s->tls);
	free(s);
}

void sl_ppp_server_stats(const struct sl_ppp_server *s, struct sl_ppp_server_stats *out)
{
	*out = s->st;
}
