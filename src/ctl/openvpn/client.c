// SPDX-License-Identifier: MIT
/* OpenVPN client control plane (see client.h). */
#include "ctl/openvpn/client.h"

#include "core/bytes.h"
#include "core/log.h"
#include "crypto/aead.h"
#include "ctl/openvpn/keys.h"
#include "ctl/openvpn/session.h"
#include "ctl/openvpn/stream.h"
#include "ctl/openvpn/tls.h"
#include "io/tun.h"
#include "proto/ovpn_push.h"
#include "sluice/engine_ovpn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PEER		SL_OVPN_CLIENT_PEER
#define RETRY_MS	2000 /* pause before the next remote (connect-retry's start) */
#define PUSH_RESEND_MS	3000
#define CHECK_MS	1000
#define IV_PROTO_CLIENT (2 | 4 | 8 | 128) /* DATA_V2, REQUEST_PUSH, TLS_KEY_EXPORT, CC_EXIT */

enum phase {
	PHASE_IDLE,	 /* waiting to (re)connect */
	PHASE_TCP,	 /* TCP connect in progress */
	PHASE_HANDSHAKE, /* control channel: reset, TLS, key-method 2 */
	PHASE_PUSH,	 /* PUSH_REQUEST sent */
	PHASE_UP,	 /* data flows */
};

enum pending { PENDING_NONE, PENDING_RESTART, PENDING_HALT };

struct sl_ovpn_client {
	struct sl_loop *loop;
	struct sl_engine *e;
	const struct sl_ovpn_config *conf;
	SSL_CTX *ssl;
	uint8_t wrap_key2[SL_OVPN_KEY2_LEN];
	enum sl_ovpn_wrap_mode wrap_mode;
	char peer_info[512];
	char options[256];
	char username[256], password[256];

	enum phase phase;
	unsigned remote; /* index into conf->remotes */
	int proto;	 /* of the current remote */
	struct sockaddr_storage server;
	struct sl_ovpn_stream tcp; /* fd -1 unless over TCP */
	struct sl_ovpn_session s;
	bool have_session;
	struct sl_ovpn_push push;
	bool ekm;
	int cipher; /* sl_ovpn_cipher_from_name */
	bool peer_added, link_done, keys_in;
	uint8_t send_key_id; /* renegotiated key (1..7) receiving, not yet sending; 0 none */
	uint8_t addr_done[4];
	int ping, ping_restart;
	sl_time_ns last_rx_ctl, up_since, key_since;
	uint64_t key_bytes, key_pkts; /* peer counters when the current key came in */
	bool failed;
	enum pending pending; /* restart/halt decided, done by t_act */
	bool pending_next_remote;

	struct sl_timer t_session, t_push, t_check, t_retry, t_act;
	/* After sl_ovpn_client_pin_remotes: each remote's address from then on (no resolver). */
	bool names_pinned;
	bool pinned_ok[SL_OVPN_CFG_REMOTES_MAX];
	struct sockaddr_storage pinned[SL_OVPN_CFG_REMOTES_MAX];
};

static uint64_t now_ms(const struct sl_ovpn_client *c)
{
	return sl_loop_now(c->loop) / SL_MSEC;
}

/* Timers and sending */

static void arm_session(struct sl_ovpn_client *c)
{
	uint64_t d;

	if (!c->have_session)
		return;
	d = sl_ovpn_session_deadline(&c->s);
	if (d == UINT64_MAX)
		sl_timer_cancel(c->loop, &c->t_session);
	else
		sl_timer_arm_at(c->loop, &c->t_session, d * SL_MSEC);
}

static int tcp_send(struct sl_ovpn_client *c, const uint8_t *pkt, size_t len)
{
	return sl_ovpn_stream_send(&c->tcp, pkt, len);
}

static void send_ctl(void *arg, const uint8_t *pkt, size_t len)
{
	struct sl_ovpn_client *c = arg;

	if (c->proto == SL_OVPN_TCP)
		tcp_send(c, pkt, len);
	else
		sl_engine_udp_send(c->e, &c->server, pkt, len);
}

/* The engine's data packets for a TCP server go here, already sealed. */
static int stream_send(void *arg, const uint8_t *pkt, size_t len)
{
	return tcp_send(arg, pkt, len);
}

/* Teardown and reconnect */

static void close_tcp(struct sl_ovpn_client *c)
{
	sl_ovpn_stream_close(&c->tcp);
}

static void end_connection(struct sl_ovpn_client *c)
{
	if (c->have_session)
		sl_ovpn_session_free(&c->s);
	c->have_session = false;
	if (c->peer_added)
		sl_peer_del(c->e, PEER);
	c->peer_added = c->keys_in = false;
	c->send_key_id = 0;
	close_tcp(c);
	sl_timer_cancel(c->loop, &c->t_session);
	sl_timer_cancel(c->loop, &c->t_push);
	c->phase = PHASE_IDLE;
}

/*
 * Restart and halt are said at once but done from a timer of their own: they free the
 * session, and they are often decided inside one of its callbacks.
 */
static void restart(struct sl_ovpn_client *c, const char *why, bool next_remote)
{
	if (c->pending != PENDING_NONE)
		return;
	sl_warn("openvpn: %s; reconnecting in %d s", why, RETRY_MS / 1000);
	c->pending = PENDING_RESTART;
	c->pending_next_remote = next_remote;
	sl_timer_arm(c->loop, &c->t_act, 0);
}

static void halt(struct sl_ovpn_client *c, const char *why)
{
	if (c->pending == PENDING_HALT)
		return;
	sl_err("openvpn: %s; stopping", why);
	c->pending = PENDING_HALT;
	sl_timer_arm(c->loop, &c->t_act, 0);
}

static void on_act_due(struct sl_loop *loop, struct sl_timer *t, void *arg)
{
	struct sl_ovpn_client *c = arg;
	enum pending what = c->pending;

	c->pending = PENDING_NONE;
	end_connection(c);
	if (what == PENDING_HALT) {
		c->failed = true;
		sl_timer_cancel(loop, &c->t_check);
		sl_timer_cancel(loop, &c->t_retry);
		sl_loop_stop(loop);
	} else if (what == PENDING_RESTART) {
		if (c->pending_next_remote && c->conf->n_remotes > 1)
			c->remote = (c->remote + 1) % c->conf->n_remotes;
		sl_timer_arm(loop, &c->t_retry, RETRY_MS * SL_MSEC);
	}
}

/* Configuration from PUSH_REPLY */

static int netmask_len(const uint8_t m[4])
{
	uint32_t v = sl_get_be32(m);
	int n = 0;

	while (v & 0x80000000u) {
		n++;
		v <<= 1;
	}
	return v ? -1 : n;
}

static int configure_link(struct sl_ovpn_client *c)
{
	const struct sl_ovpn_push *p = &c->push;
	const char *ifname = sl_engine_ifname(c->e);
	int plen = 32, r;

	if (!p->has_ifconfig) {
		sl_err("openvpn: the server pushed no 'ifconfig': no inner address to use");
		return -EINVAL;
	}
	if (p->topology == SL_OVPN_TOPO_SUBNET)
		plen = netmask_len(p->ifconfig_arg2);
	else if (p->topology == SL_OVPN_TOPO_NET30)
		plen = 30;
	if (plen < 0) {
		sl_err("openvpn: pushed netmask is not contiguous");
		return -EINVAL;
	}
	if (c->link_done && !memcmp(c->addr_done, p->ifconfig_local, 4))
		return 0;
	r = sl_link_addr_add(ifname, AF_INET, p->ifconfig_local, (uint8_t)plen);
	if (!r)
		r = sl_link_set_up(ifname, (uint32_t)(p->tun_mtu ? p->tun_mtu : c->conf->tun_mtu));
	if (!r && p->topology == SL_OVPN_TOPO_P2P)
		r = sl_link_route_add(ifname, AF_INET, p->ifconfig_arg2, 32);
	if (!r && p->has_ifconfig6)
		r = sl_link_addr_add(ifname, AF_INET6, p->ifconfig6, p->ifconfig6_plen);
	for (unsigned i = 0; !r && i < p->n_routes; i++) {
		int l = netmask_len(p->routes[i].mask);

		r = l < 0 ? -EINVAL
			  : sl_link_route_add(ifname, AF_INET, p->routes[i].net, (uint8_t)l);
	}
	for (unsigned i = 0; !r && i < p->n_routes6; i++)
		r = sl_link_route_add(ifname, AF_INET6, p->routes6[i].net, p->routes6[i].plen);
	if (r == -EEXIST)
		r = 0;
	if (r) {
		sl_err("openvpn: cannot configure %s: %s", ifname, strerror(-r));
		return r;
	}
	if (p->redirect_gateway)
		sl_warn("openvpn: the server pushed redirect-gateway; sluice does not change the "
			"default route (add it yourself if wanted)");
	c->link_done = true;
	memcpy(c->addr_done, p->ifconfig_local, 4);
	return 0;
}

static int add_peer(struct sl_ovpn_client *c)
{
	struct sl_peer_cfg pc;
	struct sl_prefix all4 = {.family = AF_INET, .len = 0},
			 all6 = {.family = AF_INET6, .len = 0};
	int r;

	sl_peer_cfg_init(&pc);
	if (c->proto == SL_OVPN_TCP) {
		pc.stream_send = stream_send;
		pc.stream_arg = c;
	} else {
		pc.endpoint = c->server;
	}
	pc.keepalive_ms = c->ping > 0 ? (uint32_t)c->ping * 1000 : 0;
	pc.silent_ms = 0xFFFFFFF0u; /* no stream fallback in OpenVPN: ping-restart is ours */
	pc.replay_window = 0;
	r = sl_peer_new(c->e, PEER, &pc);
	if (!r)
		r = sl_peer_route_add(c->e, PEER, &all4);
	if (!r)
		r = sl_peer_route_add(c->e, PEER, &all6);
	if (r)
		return r;
	c->peer_added = true;
	return 0;
}

static int install_keys(struct sl_ovpn_client *c, uint8_t key_id)
{
	uint8_t key2[SL_OVPN_KEY2_LEN];
	struct sl_ovpn_key_pair kp;
	bool first = !c->keys_in;
	int r = sl_ovpn_session_key2(&c->s, key_id, c->ekm, key2);

	if (!r)
		r = sl_ovpn_key_pair_from_key2(
			key2, SL_OVPN_ROLE_CLIENT, c->cipher, key_id, c->push.peer_id,
			c->push.comp_pushed ? (int)c->push.comp : c->conf->comp, &kp);
	snprintf(kp.auth, sizeof(kp.auth), "%s", c->conf->auth);
	OPENSSL_cleanse(key2, sizeof(key2));
	/* A renegotiated key receives at once and sends from KEY_SEND on (send_with_new_key). */
	if (!r)
		r = sl_key_set_ovpn(c->e, PEER, first ? SL_KEY_PRIMARY : SL_KEY_SECONDARY, &kp);
	if (!r && !first)
		c->send_key_id = key_id;
	if (!r)
		c->keys_in = true;
	OPENSSL_cleanse(&kp, sizeof(kp));
	c->key_since = sl_loop_now(c->loop);
	sl_ovpn_traffic(c->e, PEER, &c->key_bytes, &c->key_pkts);
	return r;
}

/* The server acked all we sent on the new key (our key-method 2 among it): seal with it. */
static int send_with_new_key(struct sl_ovpn_client *c, const struct sl_ovpn_ev *ev)
{
	if (!ev->key_id || c->send_key_id != ev->key_id)
		return 0; /* key id 0, or not (no longer) the key waiting in the secondary slot */
	if (ev->text)
		sl_warn("openvpn: %.*s", (int)ev->len, ev->text);
	c->send_key_id = 0;
	return sl_key_swap(c->e, PEER); /* the old key stays as lame duck */
}

static bool cipher_allowed(const struct sl_ovpn_client *c, const char *name)
{
	char list[sizeof(c->conf->data_ciphers)], *save = NULL;

	snprintf(list, sizeof(list), "%s", c->conf->data_ciphers);
	for (char *t = strtok_r(list, ":", &save); t; t = strtok_r(NULL, ":", &save))
		if (!strcasecmp(t, name))
			return true;
	return !strcasecmp(name, c->conf->cipher);
}

static void on_push_complete(struct sl_ovpn_client *c)
{
	const struct sl_ovpn_push *p = &c->push;
	const char *name = p->cipher[0] ? p->cipher : c->conf->cipher;
	char addr[INET_ADDRSTRLEN];
	int r;

	if (p->unsupported[0]) {
		halt(c, "the server pushed an option sluice cannot honour");
		sl_err("openvpn: unsupported pushed option: '%s'", p->unsupported);
		return;
	}
	c->cipher = name[0] ? sl_ovpn_cipher_from_name(name) : -EINVAL;
	if (c->cipher < 0 || !cipher_allowed(c, name)) {
		char why[256];

		snprintf(why, sizeof(why),
			 "data cipher '%s' is not one sluice can use (AES-256-GCM, AES-128-GCM, "
			 "CHACHA20-POLY1305, AES-256-CBC, AES-128-CBC in data-ciphers)",
			 name[0] ? name : "(none pushed, no --cipher)");
		halt(c, why);
		return;
	}
	c->ekm = p->tls_ekm;
	c->ping = p->ping >= 0 ? p->ping : c->conf->ping;
	c->ping_restart = p->ping_restart >= 0 ? p->ping_restart : c->conf->ping_restart;
	r = configure_link(c);
	if (!r)
		r = add_peer(c);
	if (!r)
		r = install_keys(c, 0);
	if (r) {
		restart(c, "could not set up the data channel", false);
		return;
	}
	sl_timer_cancel(c->loop, &c->t_push);
	c->phase = PHASE_UP;
	c->up_since = sl_loop_now(c->loop);
	inet_ntop(AF_INET, p->ifconfig_local, addr, sizeof(addr));
	sl_info("openvpn: connected to %s (%s), address %s, cipher %s, keys from %s, peer-id %s%u, "
		"ping %d, ping-restart %d",
		c->conf->remotes[c->remote].host, c->proto == SL_OVPN_TCP ? "tcp" : "udp", addr,
		sl_ovpn_cipher_name(c->cipher), c->ekm ? "tls-ekm" : "the TLS PRF",
		p->peer_id == SL_OVPN_PEER_ID_NONE ? "none " : "", p->peer_id & 0xFFFFFF, c->ping,
		c->ping_restart);
}

/* Session events */

static void send_push_request(struct sl_ovpn_client *c)
{
	sl_ovpn_session_send_control(&c->s, "PUSH_REQUEST", now_ms(c));
	sl_timer_arm(c->loop, &c->t_push, PUSH_RESEND_MS * SL_MSEC);
}

static void on_control_msg(struct sl_ovpn_client *c, const char *msg, size_t len)
{
	char text[1024];

	snprintf(text, sizeof(text), "%.*s", (int)len, msg);
	if (!strncmp(text, "PUSH_REPLY", 10)) {
		if (c->phase != PHASE_PUSH)
			return; /* a second reply to a resent PUSH_REQUEST */
		if (sl_ovpn_push_parse(text, strlen(text), &c->push) < 0) {
			restart(c, "malformed PUSH_REPLY", false);
			return;
		}
		if (sl_ovpn_push_complete(&c->push))
			on_push_complete(c);
	} else if (!strncmp(text, "AUTH_FAILED", 11)) {
		char why[1100];

		snprintf(why, sizeof(why), "the server refused us: %s", text);
		if (!strncmp(text, "AUTH_FAILED,TEMP", 16))
			restart(c, why, false);
		else
			halt(c, why);
	} else if (!strncmp(text, "RESTART", 7)) {
		restart(c, "the server asked us to reconnect (RESTART)", text[7] == ',');
	} else if (!strcmp(text, "HALT")) {
		halt(c, "the server told us to stop (HALT)");
	} else if (!strcmp(text, "EXIT")) {
		restart(c, "the server is going away (EXIT)", true);
	} else if (!strncmp(text, "INFO", 4) || !strncmp(text, "AUTH_PENDING", 12)) {
		sl_info("openvpn: server says: %s", text);
	} else {
		sl_debug("openvpn: ignoring control message '%s'", text);
	}
}

static void on_session_event(void *arg, const struct sl_ovpn_ev *ev)
{
	struct sl_ovpn_client *c = arg;

	if (c->pending != PENDING_NONE)
		return; /* the connection is ending */
	switch (ev->type) {
	case SL_OVPN_EV_KEY_READY:
		if (ev->key_id == 0 && c->phase == PHASE_HANDSHAKE) {
			c->phase = PHASE_PUSH;
			sl_ovpn_push_init(&c->push);
			send_push_request(c);
		} else if (ev->key_id && c->phase == PHASE_UP) {
			if (install_keys(c, ev->key_id) < 0)
				restart(c, "could not install the renegotiated key", false);
			else
				sl_info("openvpn: renegotiated, data key id %u", ev->key_id);
		}
		break;
	case SL_OVPN_EV_KEY_SEND:
		if (c->phase == PHASE_UP && send_with_new_key(c, ev) < 0)
			restart(c, "could not switch to the renegotiated key", false);
		break;
	case SL_OVPN_EV_CONTROL:
		on_control_msg(c, ev->text, ev->len);
		break;
	case SL_OVPN_EV_FAILED:
		if (ev->key_id && c->phase == PHASE_UP) {
			sl_warn("openvpn: renegotiation of key id %u failed: %s", ev->key_id,
				ev->text);
			break; /* the current key keeps working */
		}
		restart(c, ev->text, true);
		break;
	}
}

/* Connecting */

/* getaddrinfo's first answer for remote r over proto into out; 0 or a gai error. */
static int lookup(const struct sl_ovpn_client *c, const struct sl_ovpn_remote *r, int proto,
		  struct sockaddr_storage *out)
{
	struct addrinfo hints = {.ai_socktype = 0, .ai_family = c->conf->family}, *res = NULL;
	char port[8];
	int rc;

	snprintf(port, sizeof(port), "%u", r->port ? r->port : c->conf->port);
	hints.ai_socktype = proto == SL_OVPN_TCP ? SOCK_STREAM : SOCK_DGRAM;
	rc = getaddrinfo(r->host, port, &hints, &res);
	if (rc)
		return rc;
	memset(out, 0, sizeof(*out));
	memcpy(out, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

static int resolve(struct sl_ovpn_client *c, const struct sl_ovpn_remote *r)
{
	int rc;

	if (c->names_pinned) {
		if (c->pinned_ok[c->remote]) {
			c->server = c->pinned[c->remote];
			return 0;
		}
		sl_err("openvpn: cannot resolve %s: it did not resolve at start, and names are not "
		       "looked up after the privilege drop (--user root --no-seccomp would)",
		       r->host);
		return -EHOSTUNREACH;
	}
	rc = lookup(c, r, c->proto, &c->server);
	if (rc) {
		sl_err("openvpn: cannot resolve %s: %s", r->host, gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	return 0;
}

/* A numeric address needs no resolver: nothing to say about pinning it. */
static bool is_numeric(const char *host)
{
	uint8_t a[16];

	return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

void sl_ovpn_client_pin_remotes(struct sl_ovpn_client *c)
{
	for (unsigned i = 0; i < c->conf->n_remotes; i++) {
		const struct sl_ovpn_remote *r = &c->conf->remotes[i];
		int proto = r->proto >= 0 ? r->proto : c->conf->proto;
		int rc = lookup(c, r, proto, &c->pinned[i]);
		char addr[INET6_ADDRSTRLEN] = "?";

		c->pinned_ok[i] = rc == 0;
		if (rc) {
			sl_warn("openvpn: remote %s does not resolve now (%s) and will not be "
				"looked "
				"up again after the privilege drop: it is skipped",
				r->host, gai_strerror(rc));
			continue;
		}
		if (is_numeric(r->host))
			continue;
		if (c->pinned[i].ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&c->pinned[i])->sin6_addr,
				  addr, sizeof(addr));
		else
			inet_ntop(AF_INET, &((struct sockaddr_in *)&c->pinned[i])->sin_addr, addr,
				  sizeof(addr));
		sl_info("openvpn: remote %s is %s for this run: names are not looked up again "
			"after the privilege drop",
			r->host, addr);
	}
	c->names_pinned = true;
}

static int start_session(struct sl_ovpn_client *c)
{
	struct sl_ovpn_session_cfg sc = {
		.role = SL_OVPN_ROLE_CLIENT,
		.ssl_ctx = c->ssl,
		.options = c->options,
		.peer_info = c->peer_info,
		.username = c->conf->has_auth_user_pass ? c->username : NULL,
		.password = c->conf->has_auth_user_pass ? c->password : NULL,
		.tls_timeout_ms = (uint32_t)c->conf->tls_timeout * 1000,
		.hand_window_ms = (uint32_t)c->conf->hand_window * 1000,
		.send = send_ctl,
		.on_event = on_session_event,
		.arg = c,
	};
	int r;

	sc.wrap.mode = c->wrap_mode;
	if (c->wrap_mode == SL_OVPN_WRAP_CRYPT)
		r = sl_ovpn_tls_crypt_init(&sc.wrap.u.crypt, c->wrap_key2, SL_OVPN_ROLE_CLIENT);
	else if (c->wrap_mode == SL_OVPN_WRAP_AUTH)
		r = sl_ovpn_tls_auth_init(&sc.wrap.u.auth, c->wrap_key2, c->conf->key_direction,
					  c->conf->auth);
	else
		r = 0;
	if (r)
		return r;
	r = sl_ovpn_session_init(&c->s, &sc);
	if (r) {
		sl_ovpn_wrap_clear(&sc.wrap);
		return r;
	}
	c->have_session = true;
	c->phase = PHASE_HANDSHAKE;
	c->last_rx_ctl = sl_loop_now(c->loop);
	r = sl_ovpn_session_start(&c->s, now_ms(c));
	arm_session(c);
	return r;
}

static void on_tcp(struct sl_loop *loop, int fd, uint32_t events, void *arg);

static int start_tcp(struct sl_ovpn_client *c)
{
	int fd = socket(c->server.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0),
	    one = 1;
	socklen_t len = c->server.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							: sizeof(struct sockaddr_in);

	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&c->server, len) < 0 && errno != EINPROGRESS) {
		int e = errno;

		close(fd);
		return -e;
	}
	sl_ovpn_stream_init(&c->tcp, c->loop, fd);
	c->phase = PHASE_TCP;
	return sl_loop_add_fd(c->loop, fd, SL_EV_READ | SL_EV_WRITE, on_tcp, c);
}

static void connect_next(struct sl_ovpn_client *c)
{
	const struct sl_ovpn_remote *r = &c->conf->remotes[c->remote];
	int rc;

	c->proto = r->proto >= 0 ? r->proto : c->conf->proto;
	if (c->proto == SL_OVPN_UDP && sl_engine_udp_port(c->e, 0) == 0 &&
	    sl_engine_udp_port(c->e, 1) == 0) {
		restart(c, "no UDP socket in the engine", true);
		return;
	}
	rc = resolve(c, r);
	if (!rc) {
		sl_info("openvpn: connecting to %s port %u (%s)", r->host,
			r->port ? r->port : c->conf->port, c->proto == SL_OVPN_TCP ? "tcp" : "udp");
		rc = c->proto == SL_OVPN_TCP ? start_tcp(c) : start_session(c);
	}
	if (rc) {
		char why[400];

		snprintf(why, sizeof(why), "cannot start the connection to %s: %s", r->host,
			 strerror(-rc));
		restart(c, why, true);
	}
}

/* TCP input: length-prefixed OpenVPN packets */

static int on_tcp_packet(void *arg, const uint8_t *pkt, size_t len)
{
	struct sl_ovpn_client *c = arg;

	if (sl_ovpn_opcode(pkt[0]) == SL_OVPN_P_DATA_V2 ||
	    sl_ovpn_opcode(pkt[0]) == SL_OVPN_P_DATA_V1)
		sl_engine_ovpn_input(c->e, pkt, len);
	else
		sl_ovpn_client_on_control(c, pkt, len, NULL);
	return c->pending != PENDING_NONE; /* ending: the rest does not matter */
}

static void on_tcp(struct sl_loop *loop, int fd, uint32_t events, void *arg)
{
	struct sl_ovpn_client *c = arg;

	if (c->phase == PHASE_TCP) {
		int err = 0;
		socklen_t l = sizeof(err);

		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err) {
			char why[400];

			snprintf(why, sizeof(why), "TCP connect to %s failed: %s",
				 c->conf->remotes[c->remote].host, strerror(err));
			restart(c, why, true);
			return;
		}
		if (!(events & SL_EV_WRITE))
			return;
		sl_loop_mod_fd(loop, fd, SL_EV_READ);
		if (start_session(c) < 0)
			restart(c, "cannot start the control session", true);
		return;
	}
	int r = sl_ovpn_stream_on_io(&c->tcp, events, on_tcp_packet, c);

	if (r < 0)
		restart(c,
			r == -EBADMSG ? "bad packet length on the TCP connection"
				      : "the server closed the TCP connection",
			true);
}

/* Timers */

static void on_session_due(struct sl_loop *loop, struct sl_timer *t, void *arg)
{
	struct sl_ovpn_client *c = arg;

	if (!c->have_session || c->pending != PENDING_NONE)
		return;
	sl_ovpn_session_tick(&c->s, now_ms(c));
	arm_session(c);
}

static void on_push_due(struct sl_loop *loop, struct sl_timer *t, void *arg)
{
	struct sl_ovpn_client *c = arg;

	if (c->phase == PHASE_PUSH)
		send_push_request(c);
}

static void on_retry_due(struct sl_loop *loop, struct sl_timer *t, void *arg)
{
	connect_next(arg);
}

/* Every second: ping-restart, and our own renegotiation (reneg-sec, -bytes, -pkts). */
static void on_check_due(struct sl_loop *loop, struct sl_timer *t, void *arg)
{
	struct sl_ovpn_client *c = arg;
	sl_time_ns now = sl_loop_now(loop), heard = c->last_rx_ctl;
	struct sl_peer_stats st;

	sl_timer_arm(loop, &c->t_check, CHECK_MS * SL_MSEC);
	if (c->phase != PHASE_UP || c->pending != PENDING_NONE)
		return;
	if (sl_peer_stats(c->e, PEER, &st) == 0 && st.last_rx_ns > heard)
		heard = st.last_rx_ns;
	if (c->up_since > heard)
		heard = c->up_since;
	if (c->ping_restart > 0 && now - heard >= (sl_time_ns)c->ping_restart * SL_SEC) {
		char why[400];

		snprintf(why, sizeof(why), "nothing from the server for %d s (ping-restart)",
			 c->ping_restart);
		restart(c, why, true);
		return;
	}
	if (sl_ovpn_reneg_due(c->conf, now - c->key_since, c->e, PEER, c->key_bytes, c->key_pkts)) {
		c->key_since = now; /* one attempt per period */
		sl_ovpn_traffic(c->e, PEER, &c->key_bytes, &c->key_pkts);
		if (sl_ovpn_session_renegotiate(&c->s, now_ms(c)) == 0) {
			sl_info("openvpn: renegotiating (reneg-sec %d, reneg-bytes %lld, "
				"reneg-pkts "
				"%lld)",
				c->conf->reneg_sec, (long long)c->conf->reneg_bytes,
				(long long)c->conf->reneg_pkts);
			arm_session(c);
		}
	}
}

/* Set-up */

static void build_peer_info(struct sl_ovpn_client *c)
{
	/* SLUICE_OVPN_LEGACY_PRF=1 (for interop tests): do not offer TLS-EKM, so the server uses
	 * the legacy PRF as it does with clients older than 2.5. */
	const char *prf = getenv("SLUICE_OVPN_LEGACY_PRF");
	int proto = prf && !strcmp(prf, "1") ? IV_PROTO_CLIENT & ~8 : IV_PROTO_CLIENT;

	snprintf(c->peer_info, sizeof(c->peer_info),
		 "IV_VER=2.6.0\nIV_PLAT=linux\nIV_TCPNL=1\nIV_MTU=%d\nIV_NCP=2\nIV_CIPHERS=%s\n"
		 "IV_PROTO=%d\nIV_LZO_STUB=1\nIV_COMP_STUB=1\nIV_COMP_STUBv2=1\n"
		 "IV_GUI_VER=sluice_0.1.0\n",
		 c->conf->tun_mtu, c->conf->data_ciphers, proto);
	/* OCC options string: only compared, with warnings, by the server. */
	snprintf(c->options, sizeof(c->options),
		 "V4,dev-type tun,link-mtu 1549,tun-mtu %d,proto %s,cipher %s,auth [null-digest],"
		 "keysize 256,key-method 2,tls-client",
		 c->conf->tun_mtu, c->conf->proto == SL_OVPN_TCP ? "TCPv4_CLIENT" : "UDPv4",
		 c->conf->cipher[0] ? c->conf->cipher : "AES-256-GCM");
}

static int read_user_pass(struct sl_ovpn_client *c, char *err, size_t err_len)
{
	const char *t = c->conf->auth_user_pass.text, *nl;
	size_t n;

	if (!c->conf->has_auth_user_pass)
		return 0;
	nl = t ? strchr(t, '\n') : NULL;
	if (!nl) {
		snprintf(err, err_len,
			 "auth-user-pass: the file needs the user name and the "
			 "password on two lines");
		return -EINVAL;
	}
	n = (size_t)(nl - t);
	snprintf(c->username, sizeof(c->username), "%.*s", (int)n, t);
	snprintf(c->password, sizeof(c->password), "%s", nl + 1);
	c->password[strcspn(c->password, "\r\n")] = '\0';
	c->username[strcspn(c->username, "\r")] = '\0';
	return 0;
}

static int load_wrap(struct sl_ovpn_client *c, char *err, size_t err_len)
{
	const struct sl_ovpn_blob *b = c->conf->tls_crypt.text	? &c->conf->tls_crypt
				       : c->conf->tls_auth.text ? &c->conf->tls_auth
								: NULL;

	c->wrap_mode = !b			  ? SL_OVPN_WRAP_NONE
		       : b == &c->conf->tls_crypt ? SL_OVPN_WRAP_CRYPT
						  : SL_OVPN_WRAP_AUTH;
	if (!b)
		return 0;
	if (sl_ovpn_static_key_parse(b->text, strlen(b->text), c->wrap_key2) < 0) {
		snprintf(err, err_len, "%s: not an OpenVPN static key (openvpn --genkey makes one)",
			 c->wrap_mode == SL_OVPN_WRAP_CRYPT ? "tls-crypt" : "tls-auth");
		return -EINVAL;
	}
	if (c->wrap_mode == SL_OVPN_WRAP_AUTH) {
		struct sl_ovpn_tls_auth probe;

		if (sl_ovpn_tls_auth_init(&probe, c->wrap_key2, c->conf->key_direction,
					  c->conf->auth) < 0) {
			snprintf(err, err_len, "auth '%s': not a digest OpenSSL knows",
				 c->conf->auth);
			return -EINVAL;
		}
		sl_ovpn_tls_auth_clear(&probe);
	}
	return 0;
}

int sl_ovpn_client_new(struct sl_ovpn_client **out, struct sl_loop *loop, struct sl_engine *e,
		       const struct sl_ovpn_config *conf, char *err, size_t err_len)
{
	struct sl_ovpn_client *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	c->loop = loop;
	c->e = e;
	c->conf = conf;
	sl_ovpn_stream_init(&c->tcp, loop, -1);
	c->ssl = sl_ovpn_tls_ctx_new(false, conf->ca.text, conf->cert.text, conf->key.text, err,
				     err_len);
	if (!c->ssl) {
		free(c);
		return -EINVAL;
	}
	if (conf->remote_cert_tls_server)
		SSL_CTX_set_purpose(c->ssl, X509_PURPOSE_SSL_SERVER);
	r = load_wrap(c, err, err_len);
	if (!r)
		r = read_user_pass(c, err, err_len);
	if (r) {
		sl_ovpn_client_free(c);
		return r;
	}
	build_peer_info(c);
	sl_timer_init(&c->t_session, on_session_due, c);
	sl_timer_init(&c->t_push, on_push_due, c);
	sl_timer_init(&c->t_check, on_check_due, c);
	sl_timer_init(&c->t_retry, on_retry_due, c);
	sl_timer_init(&c->t_act, on_act_due, c);
	sl_timer_arm(loop, &c->t_check, CHECK_MS * SL_MSEC);
	connect_next(c);
	*out = c;
	return 0;
}

void sl_ovpn_client_free(struct sl_ovpn_client *c)
{
	if (!c)
		return;
	end_connection(c);
	sl_timer_cancel(c->loop, &c->t_check);
	sl_timer_cancel(c->loop, &c->t_retry);
	sl_timer_cancel(c->loop, &c->t_act);
	SSL_CTX_free(c->ssl);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

void sl_ovpn_client_on_control(void *arg, const uint8_t *pkt, size_t len,
			       const struct sockaddr_storage *from)
{
	struct sl_ovpn_client *c = arg;

	if (!c || !c->have_session || c->pending != PENDING_NONE)
		return;
	/* Over UDP only the server's address speaks for the session. */
	if (from && (from->ss_family != c->server.ss_family ||
		     memcmp(from, &c->server,
			    from->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							: sizeof(struct sockaddr_in))))
		return;
	if (sl_ovpn_session_input(&c->s, pkt, len, now_ms(c)) == 0)
		c->last_rx_ctl = sl_loop_now(c->loop);
	if (c->have_session)
		arm_session(c);
}

void sl_ovpn_client_on_event(struct sl_ovpn_client *c, const struct sl_event *ev)
{
	if (ev->peer_id != PEER || c->pending != PENDING_NONE)
		return;
	if (ev->type == SL_EVENT_PEER_EXIT && c->phase == PHASE_UP)
		restart(c, "the server is going away (explicit-exit-notify)", true);
	else if (ev->type == SL_EVENT_KEY_NEAR_LIMIT && c->have_session)
		sl_ovpn_session_renegotiate(&c->s, now_ms(c));
}

void sl_ovpn_client_shutdown(struct sl_ovpn_client *c)
{
	if (c->phase != PHASE_UP || c->pending != PENDING_NONE)
		return;
	/* Control-channel EXIT (cc-exit) when the server offered it, else the OCC message. */
	if (c->push.cc_exit)
		sl_ovpn_session_send_control(&c->s, "EXIT", now_ms(c));
	else
		sl_engine_ovpn_send_exit(c->e, PEER);
}

bool sl_ovpn_client_failed(const struct sl_ovpn_client *c)
{
	return c->failed;
}
