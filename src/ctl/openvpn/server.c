// SPDX-License-Identifier: MIT
/* OpenVPN server control plane (see server.h). */
#include "ctl/openvpn/server.h"

#include "core/bytes.h"
#include "core/log.h"
#include "crypto/aead.h"
#include "ctl/openvpn/keys.h"
#include "ctl/openvpn/session.h"
#include "ctl/openvpn/stream.h"
#include "ctl/openvpn/tls.h"
#include "io/tun.h"
#include "proto/ovpn_km2.h"
#include "proto/ovpn_push.h"
#include "sluice/engine_ovpn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CLIENTS 254
/* Handshakes in progress (no data keys yet), as the native server bounds them: per source
 * address (any port), and in all, where the oldest gives way to a new one. */
#define MAX_PENDING_PER_SOURCE 8
#define MAX_PENDING	       64
#define CHECK_MS	       1000
#define IV_PROTO_REQUEST_PUSH  4
#define IV_PROTO_TLS_EKM       8
#define IV_PROTO_CC_EXIT       128

struct client {
	bool used;
	uint32_t peer_id; /* index + 0: also the engine's peer id */
	struct sockaddr_storage addr;
	struct sl_ovpn_session s;
	bool pushed, keys_in, in_engine;
	uint8_t send_key_id;	    /* renegotiated key (1..7) receiving, not yet sending; 0 none */
	bool doomed;		    /* dropped: freed by t_reap */
	struct sl_ovpn_stream *tcp; /* proto tcp-server: its connection (else NULL: UDP) */
	bool ekm, cc_exit;
	int cipher; /* sl_ovpn_cipher_from_name */
	uint8_t inner[4];
	bool have_inner;
	sl_time_ns last_rx, key_since, created;
	sl_time_ns ready_at; /* its first key's TLS handshake done (0: not yet) */
	uint64_t key_bytes, key_pkts;
	char name[64]; /* certificate CN, for logs */
	struct sl_ovpn_server *srv;
};

struct sl_ovpn_server {
	struct sl_loop *loop;
	struct sl_engine *e;
	const struct sl_ovpn_config *conf;
	SSL_CTX *ssl;
	enum sl_ovpn_wrap_mode wrap_mode;
	uint8_t wrap_key2[SL_OVPN_KEY2_LEN];
	struct sl_ovpn_wrap listener; /* unwraps first packets, wraps cookie replies */
	uint8_t cookie_key[SL_OVPN_COOKIE_KEY_LEN];
	uint8_t gateway[4];
	int plen;
	uint32_t pool_first, pool_last; /* host addresses, host order */
	char options[256];
	struct client clients[MAX_CLIENTS];
	/* One past the highest slot in use: the per-packet scans stop there. A slot is 64 KiB, so
	 * a scan of all 254 touched 254 pages for every control packet from an unknown address
	 * (flood.sh: a fifth of the random kind). */
	int clients_hi;
	struct sl_timer t_check, t_session, t_reap;
	/* The lines of clients gone before their keys were in (an attacker's doing, often). */
	struct sl_log_limit pending_log;
	int listen_fd; /* proto tcp-server, else -1 */
	/* Control packets from unknown addresses: answered resets (no state kept), those that
	 * failed to unwrap or parse, and those whose cookie did not check out. */
	uint64_t resets_answered, spoofed_resets, bad_cookies;
	uint64_t refused_per_source, evicted_pending; /* admit_pending */
	uint64_t handshake_timeouts; /* hand-window ran out, counted from the accept or cookie */
};

static uint64_t now_ms(const struct sl_ovpn_server *s)
{
	return sl_loop_now(s->loop) / SL_MSEC;
}

static socklen_t ss_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static void addr_str(const struct sockaddr_storage *ss, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	uint16_t port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;

		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		port = ntohs(a->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;

		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		port = ntohs(a->sin6_port);
	}
	snprintf(out, cap, "%s:%u", ip, port);
}

/* The port and IP bytes of an address, the cookie's input. */
static size_t addr_bytes(const struct sockaddr_storage *ss, uint8_t out[18])
{
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;

		memcpy(out, &a->sin6_port, 2);
		memcpy(out + 2, &a->sin6_addr, 16);
		return 18;
	}
	const struct sockaddr_in *a = (const void *)ss;

	memcpy(out, &a->sin_port, 2);
	memcpy(out + 2, &a->sin_addr, 4);
	return 6;
}

static uint32_t cookie_slot(const struct sl_ovpn_server *s, int offset)
{
	uint64_t half = (uint64_t)(s->conf->hand_window + 1) / 2;

	return (uint32_t)(sl_loop_now(s->loop) / SL_SEC / (half ? half : 1)) + (uint32_t)offset;
}

static void cookie(const struct sl_ovpn_server *s, int offset, const struct sockaddr_storage *from,
		   const uint8_t client_sid[8], uint8_t out[8])
{
	uint8_t a[18];
	size_t n = addr_bytes(from, a);

	sl_ovpn_cookie(s->cookie_key, cookie_slot(s, offset), a, n, client_sid, out);
}

/* Clients */

static struct client *client_by_addr(struct sl_ovpn_server *s, const struct sockaddr_storage *a)
{
	for (int i = 0; i < s->clients_hi; i++)
		if (s->clients[i].used && s->clients[i].addr.ss_family == a->ss_family &&
		    !memcmp(&s->clients[i].addr, a, ss_len(a)))
			return &s->clients[i];
	return NULL;
}

static void arm_session_timer(struct sl_ovpn_server *s)
{
	uint64_t d = UINT64_MAX;

	for (int i = 0; i < s->clients_hi; i++) {
		uint64_t x;

		if (!s->clients[i].used)
			continue;
		x = sl_ovpn_session_deadline(&s->clients[i].s);
		if (x < d)
			d = x;
	}
	if (d == UINT64_MAX)
		sl_timer_cancel(s->loop, &s->t_session);
	else
		sl_timer_arm_at(s->loop, &s->t_session, d * SL_MSEC);
}

/* c now holds a client: the scans must reach its slot. */
static void slot_taken(struct sl_ovpn_server *s, struct client *c)
{
	if (c - s->clients >= s->clients_hi)
		s->clients_hi = (int)(c - s->clients) + 1;
}

static void drop_now(struct client *c)
{
	struct sl_ovpn_server *s = c->srv;

	if (c->in_engine)
		sl_peer_del(c->srv->e, c->peer_id);
	if (c->tcp) {
		sl_ovpn_stream_close(c->tcp);
		free(c->tcp);
	}
	sl_ovpn_session_free(&c->s);
	memset(c, 0, sizeof(*c));
	while (s->clients_hi > 0 && !s->clients[s->clients_hi - 1].used)
		s->clients_hi--;
}

/* Said at once, done from t_reap: drops are often decided inside the session's callbacks. */
static void drop_client(struct client *c, const char *why)
{
	char a[64];

	if (c->doomed)
		return;
	c->doomed = true;
	if (c->keys_in || sl_log_limit_allow(&c->srv->pending_log, sl_loop_now(c->srv->loop))) {
		addr_str(&c->addr, a, sizeof(a));
		sl_info("openvpn: client %s (%s, peer-id %u) gone: %s", a,
			c->name[0] ? c->name : "?", c->peer_id, why);
	}
	sl_timer_arm(c->srv->loop, &c->srv->t_reap, 0);
}

static void on_reap_due(struct sl_loop *loop, struct sl_timer *t, void *arg)
{
	struct sl_ovpn_server *s = arg;

	for (int i = 0; i < MAX_CLIENTS; i++)
		if (s->clients[i].used && s->clients[i].doomed)
			drop_now(&s->clients[i]);
}

static void send_to(void *arg, const uint8_t *pkt, size_t len)
{
	struct client *c = arg;

	if (c->tcp)
		sl_ovpn_stream_send(c->tcp, pkt, len);
	else
		sl_engine_udp_send(c->srv->e, &c->addr, pkt, len);
}

/* The engine's sealed data packets for a TCP client. */
static int stream_send(void *arg, const uint8_t *pkt, size_t len)
{
	struct client *c = arg;

	return c->tcp ? sl_ovpn_stream_send(c->tcp, pkt, len) : -ENOTCONN;
}

/* Address pool: subnet hands out pool hosts in order; net30 one /30 per client. */
static int pick_inner(struct sl_ovpn_server *s, struct client *c)
{
	bool net30 = s->conf->topology == SL_OVPN_TOPO_NET30;

	for (uint32_t a = s->pool_first; a <= s->pool_last; a += net30 ? 4 : 1) {
		uint8_t cand[4];
		bool taken = false;

		sl_put_be32(cand, a);
		for (int i = 0; i < MAX_CLIENTS && !taken; i++)
			taken = s->clients[i].used && s->clients[i].have_inner &&
				!memcmp(s->clients[i].inner, cand, 4);
		if (!taken) {
			memcpy(c->inner, cand, 4);
			c->have_inner = true;
			return 0;
		}
	}
	return -ENOSPC;
}

/* The first of our data-ciphers the client lists in IV_CIPHERS (or, without it, --cipher). */
static int negotiate_cipher(struct sl_ovpn_server *s, const char *peer_info, char *out, size_t cap)
{
	char theirs[512], ours[256], *save = NULL;

	if (sl_ovpn_peer_info_get(peer_info, "IV_CIPHERS", theirs, sizeof(theirs)) < 0)
		snprintf(theirs, sizeof(theirs), "%s",
			 s->conf->cipher[0] ? s->conf->cipher : "AES-256-GCM:AES-128-GCM");
	snprintf(ours, sizeof(ours), "%s", s->conf->data_ciphers);
	for (char *t = strtok_r(ours, ":", &save); t; t = strtok_r(NULL, ":", &save)) {
		char list[520], *save2 = NULL;

		if (sl_ovpn_cipher_from_name(t) < 0)
			continue;
		snprintf(list, sizeof(list), "%s", theirs);
		for (char *u = strtok_r(list, ":", &save2); u; u = strtok_r(NULL, ":", &save2)) {
			if (!strcasecmp(t, u)) {
				snprintf(out, cap, "%s", t);
				return 0;
			}
		}
	}
	return -ENOENT;
}

static void mask_of(int plen, uint8_t out[4])
{
	sl_put_be32(out, plen ? ~0u << (32 - plen) : 0);
}

static int build_push_reply(struct sl_ovpn_server *s, struct client *c, const char *cipher,
			    char *out, size_t cap)
{
	char gw[INET_ADDRSTRLEN], me[INET_ADDRSTRLEN], arg2[INET_ADDRSTRLEN];
	uint8_t a2[4];
	int n, ping = s->conf->ping > 0 ? s->conf->ping : 10;
	int restart = s->conf->ping_restart > 0 ? s->conf->ping_restart : 120;

	inet_ntop(AF_INET, s->gateway, gw, sizeof(gw));
	inet_ntop(AF_INET, c->inner, me, sizeof(me));
	if (s->conf->topology == SL_OVPN_TOPO_NET30) {
		sl_put_be32(a2, sl_get_be32(c->inner) - 1);
	} else {
		mask_of(s->plen, a2);
	}
	inet_ntop(AF_INET, a2, arg2, sizeof(arg2));
	if (s->conf->topology == SL_OVPN_TOPO_NET30)
		n = snprintf(out, cap,
			     "PUSH_REPLY,route %s,topology net30,ping %d,ping-restart %d,"
			     "ifconfig %s %s",
			     gw, ping, restart, me, arg2);
	else
		n = snprintf(out, cap,
			     "PUSH_REPLY,route-gateway %s,topology subnet,ping %d,"
			     "ping-restart %d,ifconfig %s %s",
			     gw, ping, restart, me, arg2);
	for (unsigned i = 0; i < s->conf->n_push && n > 0 && (size_t)n < cap; i++)
		n += snprintf(out + n, cap - (size_t)n, ",%s", s->conf->push[i]);
	if (n > 0 && (size_t)n < cap)
		n += snprintf(out + n, cap - (size_t)n, ",peer-id %u,cipher %s", c->peer_id,
			      cipher);
	if (n > 0 && (size_t)n < cap && c->ekm)
		n += snprintf(out + n, cap - (size_t)n, "%s",
			      c->cc_exit ? ",protocol-flags cc-exit tls-ekm"
					 : ",key-derivation tls-ekm");
	else if (n > 0 && (size_t)n < cap && c->cc_exit)
		n += snprintf(out + n, cap - (size_t)n, ",protocol-flags cc-exit");
	if (n > 0 && (size_t)n < cap)
		n += snprintf(out + n, cap - (size_t)n, ",tun-mtu %d", s->conf->tun_mtu);
	/* One message (PUSH_BUNDLE_SIZE is 1024; longer pushes would need push-continuation). */
	return n > 0 && (size_t)n < cap && n < 1024 ? 0 : -E2BIG;
}

static int install_keys(struct client *c, uint8_t key_id)
{
	struct sl_ovpn_server *s = c->srv;
	uint8_t key2[SL_OVPN_KEY2_LEN];
	struct sl_ovpn_key_pair kp;
	int r = sl_ovpn_session_key2(&c->s, key_id, c->ekm, key2);

	if (!r)
		r = sl_ovpn_key_pair_from_key2(key2, SL_OVPN_ROLE_SERVER, c->cipher, key_id,
					       c->peer_id, s->conf->comp, &kp);
	snprintf(kp.auth, sizeof(kp.auth), "%s", s->conf->auth);
	OPENSSL_cleanse(key2, sizeof(key2));
	/* A renegotiated key receives at once and sends from KEY_SEND on (send_with_new_key). */
	if (!r)
		r = sl_key_set_ovpn(s->e, c->peer_id,
				    c->keys_in ? SL_KEY_SECONDARY : SL_KEY_PRIMARY, &kp);
	OPENSSL_cleanse(&kp, sizeof(kp));
	if (!r && c->keys_in)
		c->send_key_id = key_id;
	if (!r)
		c->keys_in = true;
	c->key_since = sl_loop_now(s->loop);
	sl_ovpn_traffic(s->e, c->peer_id, &c->key_bytes, &c->key_pkts);
	return r;
}

/*
 * The client has our key-method 2 message (all we sent on the key is acked): it can open the new
 * key, so we seal with it. Sealing with it before, while our message was still on its way, made
 * the client drop the first packets for want of the key.
 */
static int send_with_new_key(struct client *c, const struct sl_ovpn_ev *ev)
{
	if (!ev->key_id || c->send_key_id != ev->key_id)
		return 0; /* key id 0, or not (no longer) the key waiting in the secondary slot */
	if (ev->text)
		sl_warn("openvpn: client %s: %.*s", c->name, (int)ev->len, ev->text);
	c->send_key_id = 0;
	return sl_key_swap(c->srv->e, c->peer_id); /* the old key stays as lame duck */
}

static int add_to_engine(struct client *c)
{
	struct sl_ovpn_server *s = c->srv;
	struct sl_peer_cfg pc;
	struct sl_prefix p = {.family = AF_INET,
			      .len = s->conf->topology == SL_OVPN_TOPO_NET30 ? 30 : 32};
	int r;

	sl_peer_cfg_init(&pc);
	if (c->tcp) {
		pc.stream_send = stream_send;
		pc.stream_arg = c;
	} else {
		pc.endpoint = c->addr;
		pc.follow_endpoint = true; /* OpenVPN floats a client that proves its keys */
	}
	pc.keepalive_ms = (uint32_t)(s->conf->ping > 0 ? s->conf->ping : 10) * 1000;
	pc.silent_ms = 0xFFFFFFF0u;
	r = sl_peer_new(s->e, c->peer_id, &pc);
	if (r)
		return r;
	c->in_engine = true;
	memcpy(p.addr, c->inner, 4);
	if (p.len == 30)
		sl_put_be32(p.addr, sl_get_be32(c->inner) & ~3u);
	return sl_peer_route_add(s->e, c->peer_id, &p);
}

static void on_push_request(struct client *c)
{
	struct sl_ovpn_server *s = c->srv;
	struct sl_ovpn_key_state *ks = sl_ovpn_session_ks(&c->s, 0);
	char cipher[32], reply[1100], proto[16], me[INET_ADDRSTRLEN];
	long iv_proto = 0;

	if (c->pushed) {
		return; /* answered already; the client resends until it sees the reply */
	}
	if (!ks)
		return;
	if (sl_ovpn_peer_info_get(ks->remote.peer_info, "IV_PROTO", proto, sizeof(proto)) > 0)
		iv_proto = strtol(proto, NULL, 10);
	c->ekm = iv_proto & IV_PROTO_TLS_EKM;
	c->cc_exit = iv_proto & IV_PROTO_CC_EXIT;
	if (negotiate_cipher(s, ks->remote.peer_info, cipher, sizeof(cipher)) < 0) {
		sl_ovpn_session_send_control(&c->s, "AUTH_FAILED,no common data cipher", now_ms(s));
		drop_client(c, "no data cipher in common (client IV_CIPHERS vs data-ciphers)");
		return;
	}
	c->cipher = sl_ovpn_cipher_from_name(cipher);
	if (pick_inner(s, c) < 0) {
		sl_ovpn_session_send_control(&c->s, "AUTH_FAILED,address pool exhausted",
					     now_ms(s));
		drop_client(c, "address pool exhausted");
		return;
	}
	if (build_push_reply(s, c, cipher, reply, sizeof(reply)) < 0) {
		drop_client(c, "its PUSH_REPLY would be longer than 1024 bytes");
		return;
	}
	/* Reply first: the keys' first ping must not overtake it. Nothing from the client can
	 * arrive before both are done (same loop turn). */
	sl_ovpn_session_send_control(&c->s, reply, now_ms(s));
	if (add_to_engine(c) < 0 || install_keys(c, 0) < 0) {
		drop_client(c, "could not set up its data channel");
		return;
	}
	c->pushed = true;
	inet_ntop(AF_INET, c->inner, me, sizeof(me));
	sl_info("openvpn: client %s peer-id %u: address %s, cipher %s, keys from %s", c->name,
		c->peer_id, me, cipher, c->ekm ? "tls-ekm" : "the TLS PRF");
}

static void peer_name(struct client *c)
{
	struct sl_ovpn_key_state *ks = sl_ovpn_session_ks(&c->s, 0);
	X509 *x = ks && ks->ssl ? SSL_get1_peer_certificate(ks->ssl) : NULL;

	if (x) {
		X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, c->name,
					  sizeof(c->name));
		X509_free(x);
	}
}

static void on_session_event(void *arg, const struct sl_ovpn_ev *ev)
{
	struct client *c = arg;
	char text[64];

	if (c->doomed)
		return;
	switch (ev->type) {
	case SL_OVPN_EV_KEY_READY:
		if (ev->key_id == 0) {
			struct sl_ovpn_key_state *ks = sl_ovpn_session_ks(&c->s, 0);
			char proto[16];

			c->ready_at = sl_loop_now(c->srv->loop);
			peer_name(c);
			/* A client that announced IV_PROTO_REQUEST_PUSH gets the reply unasked. */
			if (ks &&
			    sl_ovpn_peer_info_get(ks->remote.peer_info, "IV_PROTO", proto,
						  sizeof(proto)) > 0 &&
			    (strtol(proto, NULL, 10) & IV_PROTO_REQUEST_PUSH))
				on_push_request(c);
		} else if (c->pushed) {
			if (install_keys(c, ev->key_id) < 0)
				drop_client(c, "could not install the renegotiated key");
			else
				sl_info("openvpn: client %s: renegotiated, key id %u", c->name,
					ev->key_id);
		}
		break;
	case SL_OVPN_EV_KEY_SEND:
		if (send_with_new_key(c, ev) < 0)
			drop_client(c, "could not switch to the renegotiated key");
		break;
	case SL_OVPN_EV_CONTROL:
		snprintf(text, sizeof(text), "%.*s", (int)(ev->len < 60 ? ev->len : 60), ev->text);
		if (!strcmp(text, "PUSH_REQUEST"))
			on_push_request(c);
		else if (!strcmp(text, "EXIT"))
			drop_client(c, "it said EXIT");
		break;
	case SL_OVPN_EV_FAILED:
		if (ev->key_id && c->pushed) {
			sl_warn("openvpn: client %s: renegotiation failed: %s", c->name, ev->text);
			break;
		}
		if (ev->hand_window)
			c->srv->handshake_timeouts++;
		drop_client(c, ev->text);
		break;
	}
}

/* The stateless part: answer a hard reset without keeping anything. */
static void answer_reset(struct sl_ovpn_server *s, const struct sl_ovpn_ctl *in,
			 const struct sockaddr_storage *from)
{
	struct sl_ovpn_ctl out = {.opcode = SL_OVPN_P_CONTROL_HARD_RESET_SERVER_V2,
				  .n_acks = 1,
				  .acks = {in->msg_id},
				  .has_msg_id = true};
	uint8_t plain[128], wire[256];
	int n;

	cookie(s, 0, from, in->sid, out.sid);
	memcpy(out.peer_sid, in->sid, 8);
	n = sl_ovpn_ctl_build(&out, plain, sizeof(plain));
	if (n > 0)
		n = sl_ovpn_wrap(&s->listener, plain, (size_t)n, (uint32_t)(now_ms(s) / 1000), wire,
				 sizeof(wire));
	if (n > 0)
		sl_engine_udp_send(s->e, from, wire, (size_t)n);
}

static bool cookie_ok(struct sl_ovpn_server *s, const struct sl_ovpn_ctl *in,
		      const struct sockaddr_storage *from)
{
	if (!in->n_acks || in->key_id)
		return false;
	for (unsigned i = 0; i < in->n_acks; i++)
		if (in->acks[i] > 1)
			return false;
	if (in->has_msg_id && in->msg_id > 1)
		return false;
	for (int off = -2; off <= 0; off++) {
		uint8_t want[8];

		cookie(s, off, from, in->sid, want);
		if (!CRYPTO_memcmp(want, in->peer_sid, 8))
			return true;
	}
	return false;
}

static bool is_pending(const struct client *c)
{
	return c->used && !c->doomed && !c->keys_in;
}

static bool same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET6)
		return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			       &((const struct sockaddr_in6 *)b)->sin6_addr,
			       sizeof(struct in6_addr));
	return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
	       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
}

/*
 * Room for one more handshake from `from` (a UDP client whose cookie came back, or a TCP
 * connection): none if its address has MAX_PENDING_PER_SOURCE in progress already; with
 * MAX_PENDING in progress in all, the oldest is dropped to make room. Connected clients are not
 * counted, so a flood of handshakes can neither fill the table nor touch them.
 */
static bool admit_pending(struct sl_ovpn_server *s, const struct sockaddr_storage *from)
{
	struct client *oldest = NULL;
	unsigned total = 0, same = 0;

	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &s->clients[i];

		if (!is_pending(c))
			continue;
		total++;
		same += same_host(&c->addr, from);
		if (!oldest || c->created < oldest->created)
			oldest = c;
	}
	if (same >= MAX_PENDING_PER_SOURCE) {
		s->refused_per_source++;
		return false;
	}
	if (total >= MAX_PENDING) {
		s->evicted_pending++;
		drop_client(oldest, "evicted (too many handshakes in progress)");
	}
	return true;
}

/*
 * A free slot; its index is the client's peer-id. With Workers = N the engine hands a peer's
 * received data to worker peer-id % N (io/steer.c), so the slot comes from the worker with
 * the fewest clients (the lowest such index): clients spread over the workers even when
 * others have come and gone. NULL when full.
 */
static struct client *free_client(struct sl_ovpn_server *s)
{
	uint32_t n = sl_engine_workers(s->e), load[64] = {0}, best = UINT32_MAX;
	struct client *c = NULL;

	if (n > 64)
		n = 64;
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (s->clients[i].used)
			load[(uint32_t)i % n]++;
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (!s->clients[i].used && load[(uint32_t)i % n] < best) {
			best = load[(uint32_t)i % n];
			c = &s->clients[i];
		}
	return c;
}

static struct client *new_client(struct sl_ovpn_server *s, const struct sl_ovpn_ctl *in,
				 const struct sockaddr_storage *from)
{
	struct sl_ovpn_session_cfg sc = {
		.role = SL_OVPN_ROLE_SERVER,
		.ssl_ctx = s->ssl,
		.options = s->options,
		.tls_timeout_ms = (uint32_t)s->conf->tls_timeout * 1000,
		.hand_window_ms = (uint32_t)s->conf->hand_window * 1000,
		.send = send_to,
		.on_event = on_session_event,
	};
	struct client *c = free_client(s);

	if (!c)
		return NULL;
	sc.arg = c;
	sc.wrap.mode = s->wrap_mode;
	if (s->wrap_mode == SL_OVPN_WRAP_CRYPT &&
	    sl_ovpn_tls_crypt_init(&sc.wrap.u.crypt, s->wrap_key2, SL_OVPN_ROLE_SERVER))
		return NULL;
	if (s->wrap_mode == SL_OVPN_WRAP_AUTH &&
	    sl_ovpn_tls_auth_init(&sc.wrap.u.auth, s->wrap_key2, s->conf->key_direction,
				  s->conf->auth))
		return NULL;
	/* Our replay ids go on from the listener's, which sent the cookie reply. */
	if (s->wrap_mode == SL_OVPN_WRAP_CRYPT)
		sc.wrap.u.crypt.tx_id = s->listener.u.crypt.tx_id;
	else if (s->wrap_mode == SL_OVPN_WRAP_AUTH)
		sc.wrap.u.auth.tx_id = s->listener.u.auth.tx_id;
	memset(c, 0, sizeof(*c));
	if (sl_ovpn_session_init(&c->s, &sc) < 0) {
		sl_ovpn_wrap_clear(&sc.wrap);
		return NULL;
	}
	if (sl_ovpn_session_accept(&c->s, in->peer_sid, in->sid, now_ms(s)) < 0) {
		sl_ovpn_session_free(&c->s);
		return NULL;
	}
	c->used = true;
	c->srv = s;
	c->peer_id = (uint32_t)(c - s->clients);
	slot_taken(s, c);
	c->addr = *from;
	c->created = c->last_rx = sl_loop_now(s->loop);
	return c;
}

void sl_ovpn_server_on_control(void *arg, const uint8_t *pkt, size_t len,
			       const struct sockaddr_storage *from)
{
	struct sl_ovpn_server *s = arg;
	struct client *c;
	uint8_t plain[2048];
	struct sl_ovpn_ctl in;
	int n;

	if (!s || !from)
		return;
	c = client_by_addr(s, from);
	if (c && c->doomed)
		return; /* its slot is freed in a moment; the client resends */
	if (c) {
		if (sl_ovpn_session_input(&c->s, pkt, len, now_ms(s)) == 0)
			c->last_rx = sl_loop_now(s->loop);
		else if (sl_ovpn_opcode(pkt[0]) == SL_OVPN_P_CONTROL_HARD_RESET_CLIENT_V2 &&
			 c->s.rx_bad_sid && !c->pushed)
			drop_client(c, "it started over"); /* then the next reset is answered */
		arm_session_timer(s);
		return;
	}
	/* Unknown address: nothing is kept until the cookie comes back. */
	sl_ovpn_wrap_forget_replays(&s->listener);
	n = sl_ovpn_unwrap(&s->listener, pkt, len, plain, sizeof(plain));
	if (n < 0 || sl_ovpn_ctl_parse(plain, (size_t)n, &in) < 0) {
		s->spoofed_resets++;
		return;
	}
	if (in.opcode == SL_OVPN_P_CONTROL_HARD_RESET_CLIENT_V2 && !in.key_id && !in.n_acks) {
		answer_reset(s, &in, from);
		s->resets_answered++;
		return;
	}
	if ((in.opcode != SL_OVPN_P_CONTROL_V1 && in.opcode != SL_OVPN_P_ACK_V1) ||
	    !cookie_ok(s, &in, from)) {
		s->bad_cookies++;
		return;
	}
	if (!admit_pending(s, from))
		return;
	c = new_client(s, &in, from);
	if (!c) {
		sl_warn("openvpn: no room for another client (%d)", MAX_CLIENTS);
		return;
	}
	sl_ovpn_session_input(&c->s, pkt, len, now_ms(s));
	arm_session_timer(s);
}

/* TCP: one connection per client; no cookie (the TCP handshake already proved the address) */

static int on_client_packet(void *arg, const uint8_t *pkt, size_t len)
{
	struct client *c = arg;
	uint8_t op = sl_ovpn_opcode(pkt[0]);

	if (c->doomed)
		return 1;
	if (op == SL_OVPN_P_DATA_V2 || op == SL_OVPN_P_DATA_V1)
		sl_engine_ovpn_input(c->srv->e, pkt, len);
	else if (sl_ovpn_session_input(&c->s, pkt, len, now_ms(c->srv)) == 0)
		c->last_rx = sl_loop_now(c->srv->loop);
	return c->doomed;
}

static void on_client_io(struct sl_loop *loop, int fd, uint32_t events, void *arg)
{
	struct client *c = arg;
	int r;

	if (c->doomed)
		return;
	r = sl_ovpn_stream_on_io(c->tcp, events, on_client_packet, c);
	if (r < 0)
		drop_client(c,
			    r == -EBADMSG ? "bad packet length on TCP" : "TCP connection closed");
	arm_session_timer(c->srv);
}

static void on_accept(struct sl_loop *loop, int fd, uint32_t events, void *arg)
{
	struct sl_ovpn_server *s = arg;
	struct sockaddr_storage from;
	socklen_t len = sizeof(from);
	struct sl_ovpn_session_cfg sc = {
		.role = SL_OVPN_ROLE_SERVER,
		.ssl_ctx = s->ssl,
		.options = s->options,
		.tls_timeout_ms = (uint32_t)s->conf->tls_timeout * 1000,
		.hand_window_ms = (uint32_t)s->conf->hand_window * 1000,
		.send = send_to,
		.on_event = on_session_event,
	};
	struct client *c = NULL;
	int cfd = accept4(fd, (struct sockaddr *)&from, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (cfd < 0)
		return;
	if (!admit_pending(s, &from)) {
		close(cfd);
		return;
	}
	c = free_client(s);
	if (!c) {
		close(cfd);
		return;
	}
	memset(c, 0, sizeof(*c));
	sc.arg = c;
	sc.wrap.mode = s->wrap_mode;
	if ((s->wrap_mode == SL_OVPN_WRAP_CRYPT &&
	     sl_ovpn_tls_crypt_init(&sc.wrap.u.crypt, s->wrap_key2, SL_OVPN_ROLE_SERVER)) ||
	    (s->wrap_mode == SL_OVPN_WRAP_AUTH &&
	     sl_ovpn_tls_auth_init(&sc.wrap.u.auth, s->wrap_key2, s->conf->key_direction,
				   s->conf->auth)) ||
	    !(c->tcp = malloc(sizeof(*c->tcp)))) {
		close(cfd);
		return;
	}
	if (sl_ovpn_session_init(&c->s, &sc) < 0) {
		sl_ovpn_wrap_clear(&sc.wrap);
		free(c->tcp);
		c->tcp = NULL;
		close(cfd);
		return;
	}
	sl_ovpn_stream_init(c->tcp, loop, cfd);
	c->used = true;
	c->srv = s;
	c->peer_id = (uint32_t)(c - s->clients);
	slot_taken(s, c);
	c->addr = from;
	c->created = c->last_rx = sl_loop_now(loop);
	/* hand-window from the accept: a connection that never sends its reset, or only part of
	 * a packet, is closed then, not at the idle expiry. */
	sl_ovpn_session_listen(&c->s, now_ms(s));
	if (sl_loop_add_fd(loop, cfd, SL_EV_READ, on_client_io, c) < 0)
		drop_client(c, "cannot watch its TCP connection");
	arm_session_timer(s);
}

static int setup_tcp(struct sl_ovpn_server *s, const struct sockaddr_storage *ss, char *err,
		     size_t err_len)
{
	socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						  : sizeof(struct sockaddr_in);
	int one = 1, fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, 64) < 0) {
		int e = errno;

		snprintf(err, err_len, "cannot listen on TCP: %s", strerror(e));
		close(fd);
		return -e;
	}
	s->listen_fd = fd;
	return sl_loop_add_fd(s->loop, fd, SL_EV_READ, on_accept, s);
}

/* Timers */

static void on_session_due(struct sl_loop *loop, struct sl_timer *t, void *arg)
{
	struct sl_ovpn_server *s = arg;

	for (int i = 0; i < MAX_CLIENTS; i++)
		if (s->clients[i].used && !s->clients[i].doomed)
			sl_ovpn_session_tick(&s->clients[i].s, now_ms(s));
	arm_session_timer(s);
}

/* Idle expiry (twice ping-restart, as a server's keepalive) and reneg-sec, once a second. */
static void on_check_due(struct sl_loop *loop, struct sl_timer *t, void *arg)
{
	struct sl_ovpn_server *s = arg;
	sl_time_ns now = sl_loop_now(loop);
	int restart = s->conf->ping_restart > 0 ? s->conf->ping_restart : 120;

	sl_timer_arm(loop, &s->t_check, CHECK_MS * SL_MSEC);
	sl_log_limit_flush(&s->pending_log, now);
	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &s->clients[i];
		struct sl_peer_stats st;
		sl_time_ns heard = c->last_rx;

		if (!c->used || c->doomed)
			continue;
		if (c->in_engine && sl_peer_stats(s->e, c->peer_id, &st) == 0 &&
		    st.last_rx_ns > heard)
			heard = st.last_rx_ns;
		if (now - heard >= (sl_time_ns)restart * 2 * SL_SEC) {
			drop_client(c, "idle (no packet for twice ping-restart)");
			continue;
		}
		/* A client that finished its handshake asks for its settings at once, and again
		 * every second until answered; one that does not holds a slot for nothing. */
		if (!c->pushed && c->ready_at &&
		    now - c->ready_at >= (sl_time_ns)s->conf->hand_window * SL_SEC) {
			s->handshake_timeouts++;
			drop_client(c, "no PUSH_REQUEST within hand-window of its handshake");
			continue;
		}
		if (c->pushed && sl_ovpn_reneg_due(s->conf, now - c->key_since, s->e, c->peer_id,
						   c->key_bytes, c->key_pkts)) {
			c->key_since = now;
			sl_ovpn_traffic(s->e, c->peer_id, &c->key_bytes, &c->key_pkts);
			sl_ovpn_session_renegotiate(&c->s, now_ms(s));
		}
	}
	arm_session_timer(s);
}

/* `sluice show`: clients, those still in their handshake, and the stateless listener's counts. */
static size_t ovpn_stats(void *arg, char *out, size_t cap)
{
	const struct sl_ovpn_server *s = arg;
	unsigned clients = 0, pending = 0;
	int n;

	for (int i = 0; i < MAX_CLIENTS; i++) {
		const struct client *c = &s->clients[i];

		clients += c->used && !c->doomed;
		pending += is_pending(c);
	}
	n = snprintf(out, cap,
		     "ovpn_clients=%u\novpn_pending=%u\novpn_resets_answered=%llu\n"
		     "ovpn_bad_packets=%llu\novpn_bad_cookies=%llu\novpn_refused_per_source=%llu\n"
		     "ovpn_evicted_pending=%llu\novpn_handshake_timeouts=%llu\n",
		     clients, pending, (unsigned long long)s->resets_answered,
		     (unsigned long long)s->spoofed_resets, (unsigned long long)s->bad_cookies,
		     (unsigned long long)s->refused_per_source,
		     (unsigned long long)s->evicted_pending,
		     (unsigned long long)s->handshake_timeouts);
	return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

/* Set-up */

static int setup_pool(struct sl_ovpn_server *s, char *err, size_t err_len)
{
	const struct sl_ovpn_config *c = s->conf;
	uint32_t net = sl_get_be32(c->server_net), mask = sl_get_be32(c->server_mask);
	uint8_t m[4];

	sl_put_be32(m, mask);
	s->plen = 0;
	while (s->plen < 32 && (mask & (0x80000000u >> s->plen)))
		s->plen++;
	if (!c->has_server || s->plen > 29 || (mask << s->plen)) {
		snprintf(err, err_len,
			 "server mode needs 'server NETWORK NETMASK' with a netmask of "
			 "at most /29");
		return -EINVAL;
	}
	net &= mask;
	sl_put_be32(s->gateway, net + 1);
	if (c->has_pool) {
		s->pool_first = sl_get_be32(c->pool_start);
		s->pool_last = sl_get_be32(c->pool_end);
	} else if (c->topology == SL_OVPN_TOPO_NET30) {
		s->pool_first = net + 6; /* .4/30 is the first client's: .6 with .5 as its peer */
		s->pool_last = (net | ~mask) - 1;
	} else {
		s->pool_first = net + 2;
		s->pool_last = (net | ~mask) - 1;
	}
	return 0;
}

static int setup_link(struct sl_ovpn_server *s, char *err, size_t err_len)
{
	const char *ifname = sl_engine_ifname(s->e);
	int r = sl_link_addr_add(ifname, AF_INET, s->gateway, (uint8_t)s->plen);

	if (!r || r == -EEXIST)
		r = sl_link_set_up(ifname, (uint32_t)s->conf->tun_mtu);
	for (unsigned i = 0; (!r || r == -EEXIST) && i < s->conf->n_routes; i++) {
		uint32_t m = sl_get_be32(s->conf->routes[i].mask);
		int l = 0;

		while (l < 32 && (m & (0x80000000u >> l)))
			l++;
		r = sl_link_route_add(ifname, AF_INET, s->conf->routes[i].net, (uint8_t)l);
	}
	if (r && r != -EEXIST) {
		snprintf(err, err_len, "cannot configure %s: %s", ifname, strerror(-r));
		return r;
	}
	return 0;
}

static int setup_wrap(struct sl_ovpn_server *s, char *err, size_t err_len)
{
	const struct sl_ovpn_blob *b = s->conf->tls_crypt.text	? &s->conf->tls_crypt
				       : s->conf->tls_auth.text ? &s->conf->tls_auth
								: NULL;
	int r = 0;

	s->wrap_mode = !b			  ? SL_OVPN_WRAP_NONE
		       : b == &s->conf->tls_crypt ? SL_OVPN_WRAP_CRYPT
						  : SL_OVPN_WRAP_AUTH;
	s->listener.mode = s->wrap_mode;
	if (!b)
		return 0;
	if (sl_ovpn_static_key_parse(b->text, strlen(b->text), s->wrap_key2) < 0) {
		snprintf(err, err_len, "tls-crypt/tls-auth: not an OpenVPN static key");
		return -EINVAL;
	}
	if (s->wrap_mode == SL_OVPN_WRAP_CRYPT)
		r = sl_ovpn_tls_crypt_init(&s->listener.u.crypt, s->wrap_key2, SL_OVPN_ROLE_SERVER);
	else
		r = sl_ovpn_tls_auth_init(&s->listener.u.auth, s->wrap_key2, s->conf->key_direction,
					  s->conf->auth);
	if (r)
		snprintf(err, err_len, "tls-auth: digest '%s' unknown", s->conf->auth);
	return r;
}

int sl_ovpn_server_new(struct sl_ovpn_server **out, struct sl_loop *loop, struct sl_engine *e,
		       const struct sl_ovpn_config *conf, const struct sockaddr_storage *tcp_listen,
		       char *err, size_t err_len)
{
	struct sl_ovpn_server *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->listen_fd = -1;
	s->loop = loop;
	s->e = e;
	s->conf = conf;
	s->pending_log =
		(struct sl_log_limit){.what = "clients gone before their handshake was done",
				      .burst = 10,
				      .window_s = 10};
	sl_timer_init(&s->t_check, on_check_due, s);
	sl_timer_init(&s->t_session, on_session_due, s);
	sl_timer_init(&s->t_reap, on_reap_due, s);
	r = setup_pool(s, err, err_len);
	if (!r) {
		s->ssl = sl_ovpn_tls_ctx_new(true, conf->ca.text, conf->cert.text, conf->key.text,
					     err, err_len);
		r = s->ssl ? 0 : -EINVAL;
	}
	if (!r)
		r = setup_wrap(s, err, err_len);
	if (!r && RAND_bytes(s->cookie_key, sizeof(s->cookie_key)) != 1)
		r = -EIO;
	if (!r)
		r = setup_link(s, err, err_len);
	if (!r && tcp_listen)
		r = setup_tcp(s, tcp_listen, err, err_len);
	if (!r && conf->client_to_client)
		r = sl_engine_ovpn_set_client_to_client(e, true);
	if (r) {
		sl_ovpn_server_free(s);
		return r;
	}
	snprintf(s->options, sizeof(s->options),
		 "V4,dev-type tun,link-mtu 1549,tun-mtu %d,proto UDPv4,cipher AES-256-GCM,"
		 "auth [null-digest],keysize 256,key-method 2,tls-server",
		 conf->tun_mtu);
	sl_timer_arm(loop, &s->t_check, CHECK_MS * SL_MSEC);
	sl_engine_set_stats_hook(e, ovpn_stats, s);
	*out = s;
	return 0;
}

void sl_ovpn_server_free(struct sl_ovpn_server *s)
{
	if (!s)
		return;
	sl_engine_set_stats_hook(s->e, NULL, NULL);
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (s->clients[i].used)
			drop_now(&s->clients[i]);
	sl_timer_cancel(s->loop, &s->t_check);
	sl_timer_cancel(s->loop, &s->t_session);
	sl_timer_cancel(s->loop, &s->t_reap);
	if (s->listen_fd >= 0) {
		sl_loop_del_fd(s->loop, s->listen_fd);
		close(s->listen_fd);
	}
	sl_ovpn_wrap_clear(&s->listener);
	SSL_CTX_free(s->ssl);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

void sl_ovpn_server_on_event(struct sl_ovpn_server *s, const struct sl_event *ev)
{
	struct client *c = ev->peer_id < MAX_CLIENTS ? &s->clients[ev->peer_id] : NULL;

	if (!c || !c->used || c->doomed)
		return;
	if (ev->type == SL_EVENT_PEER_EXIT)
		drop_client(c, "explicit-exit-notify");
	else if (ev->type == SL_EVENT_ENDPOINT_CHANGED) {
		struct sl_peer_stats st;

		if (sl_peer_stats(s->e, c->peer_id, &st) == 0)
			c->addr = st.endpoint; /* floated: control packets follow too */
	} else if (ev->type == SL_EVENT_KEY_NEAR_LIMIT)
		sl_ovpn_session_renegotiate(&c->s, now_ms(s));
}

void sl_ovpn_server_shutdown(struct sl_ovpn_server *s)
{
	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &s->clients[i];

		if (!c->used || !c->pushed || c->doomed)
			continue;
		if (c->cc_exit)
			sl_ovpn_session_send_control(&c->s, "RESTART", now_ms(s));
		else
			sl_engine_ovpn_send_exit(s->e, c->peer_id);
	}
}
