// SPDX-License-Identifier: MIT
/* AnyConnect server: auth over HTTPS, sessions by cookie, CONNECT, CSTP, engine peers. */
#include "ctl/anyconnect/server.h"

#include "core/drop.h"
#include "core/log.h"
#include "ctl/anyconnect/passwd.h"
#include "ctl/anyconnect/passwd_file.h"
#include "ctl/anyconnect/server_dtls.h"
#include "ctl/native/addrpool.h"
#include "dco/uapi.h"
#include "io/tls_stream.h"
#include "proto/ac_auth.h"
#include "proto/ac_dtls.h"
#include "proto/cstp.h"
#include "proto/http.h"
#include "sluice/engine_dtls.h"
#include "sluice/engine_ovpn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define IN_MAX		(128u * 1024)
#define COOKIE_HEX	32 /* bytes of randomness, hex encoded */
#define AUTH_FAILS_MAX	3
#define SESSION_IDLE_S	300 /* a cookie without a tunnel lives this long */
#define HTTP_TIMEOUT_S	30  /* auth must be done in this time */
#define DPD_DEAD_FACTOR 3

struct session {
	char cookie[2 * COOKIE_HEX + 1];
	char user[64];
	sl_time_ns idle_since; /* no tunnel since */
	struct conn *conn;     /* the tunnel, or NULL */
	struct session *next;
};

enum cstate { C_HTTP, C_CSTP, C_CLOSED };

struct conn {
	struct sl_acs *srv;
	struct sl_tls_stream *tls;
	enum cstate st;
	char name[64];
	char ctx[2 * COOKIE_HEX + 1]; /* webvpncontext of the auth exchange */
	char user[64];		      /* the username given in this exchange */
	char cert_user[64];	      /* the client certificate's user, when it has a valid one */
	unsigned fails;
	struct session *sess;
	uint32_t peer_id;
	uint8_t addr[4];
	bool addr_taken;
	sl_time_ns since, last_rx, last_tx;
	struct sl_acs_dtls_sess *dtls; /* NULL: CSTP only */
	uint64_t cstp_tx, cstp_rx;     /* data packets over CSTP */
	struct conn *next;
	size_t in_len;
	uint8_t in[IN_MAX];
};

struct sl_acs {
	struct sl_loop *loop;
	struct sl_engine *engine;
	struct sl_acs_config cfg;
	SSL_CTX *tls;
	int lfd;
	struct sl_addrpool pool;
	uint8_t gateway[4];
	struct conn *conns;
	struct session *sessions;
	uint32_t next_peer;
	struct sl_timer tick;
	struct sl_acs_stats st;
	struct sl_ac_passwd_file passwd; /* fd -1 without password logins */
	struct sl_acs_dtls *dtls;	 /* NULL: no udp-port, no DTLS offered */
};

static const struct sl_tls_stream_ops stream_ops;

static int random_hex(char *out, size_t bytes)
{
	uint8_t b[64];

	if (bytes > sizeof(b) || RAND_bytes(b, (int)bytes) != 1)
		return -EIO;
	for (size_t i = 0; i < bytes; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return 0;
}

/* ---- connections ----------------------------------------------------------------------- */

static void end_tunnel(struct conn *c)
{
	struct sl_acs *s = c->srv;

	if (c->peer_id) {
		struct sl_peer_stats ps;

		if (c->dtls && s->cfg.dtls_engine &&
		    sl_peer_stats(s->engine, c->peer_id, &ps) == 0) {
			char drops[256] = "";
			size_t n = 0;

			for (int i = 0; i < SL_STAT_DROP__COUNT && n < sizeof(drops) - 32; i++)
				if (ps.drops[i])
					n += (size_t)snprintf(drops + n, sizeof(drops) - n,
							      " %s %llu",
							      sl_drop_name((enum sl_drop)(i + 1)),
							      (unsigned long long)ps.drops[i]);
			sl_info("anyconnect server %s: engine: DPD sent %llu, received %llu; drops "
				"by "
				"reason:%s",
				c->name, (unsigned long long)ps.keepalive_tx,
				(unsigned long long)ps.keepalive_rx, n ? drops : " none");
			sl_acs_dtls_counts_add(c->dtls, ps.tx_packets - ps.stream_tx_packets,
					       ps.rx_packets - ps.stream_rx_packets);
		}
		sl_info("anyconnect server %s: CSTP data packets sent %llu, received %llu", c->name,
			(unsigned long long)c->cstp_tx, (unsigned long long)c->cstp_rx);
		sl_acs_dtls_detach(c->dtls);
		c->dtls = NULL;
		sl_peer_del(s->engine, c->peer_id);
		c->peer_id = 0;
		s->st.tunnels_now--;
	}
	if (c->addr_taken) {
		sl_addrpool_release(&s->pool, c->addr);
		c->addr_taken = false;
	}
	if (c->sess) {
		c->sess->conn = NULL;
		c->sess->idle_since = sl_loop_now(s->loop);
		c->sess = NULL;
	}
}

/* Mark closed; the tick frees it (callers up the stack may still hold it). */
static void conn_close(struct conn *c, const char *why)
{
	if (c->st == C_CLOSED)
		return;
	if (c->st == C_CSTP)
		sl_info("anyconnect server %s: tunnel of %s over: %s", c->name, c->user, why);
	else
		sl_debug("anyconnect server %s: closed: %s", c->name, why);
	c->st = C_CLOSED;
	end_tunnel(c);
	sl_tls_stream_free(c->tls);
	c->tls = NULL;
}

static void conn_free(struct conn *c)
{
	struct conn **pp = &c->srv->conns;

	conn_close(c, "server stopping");
	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp)
		*pp = c->next;
	free(c);
}

/* ---- HTTP answers ------------------------------------------------------------------------ */

static void send_http(struct conn *c, const char *status, const char *headers, const char *body)
{
	char head[4096];
	size_t blen = body ? strlen(body) : 0;
	int n = snprintf(
		head, sizeof(head),
		"HTTP/1.1 %s\r\nConnection: Keep-Alive\r\n%s"
		"X-Transcend-Version: 1\r\n%s%zu\r\n\r\n",
		status, headers,
		body ? "Content-Type: text/xml\r\nContent-Length: " : "Content-Length: ", blen);

	if (n < 0 || (size_t)n >= sizeof(head) ||
	    sl_tls_stream_send2(c->tls, head, (size_t)n, body, blen) < 0)
		conn_close(c, "cannot answer");
}

/* The login form: both fields at once (openconnect fills both from --user/--passwd-on-stdin). */
static void send_form(struct conn *c, const char *error)
{
	char body[2048], cookie[160];

	snprintf(body, sizeof(body),
		 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		 "<config-auth client=\"vpn\" type=\"auth-request\">\n"
		 "<version who=\"sg\">0.1(1)</version>\n"
		 "<auth id=\"main\">\n"
		 "<message>Please enter your username and password.</message>\n"
		 "%s%s%s"
		 "<form method=\"post\" action=\"/auth\">\n"
		 "<input type=\"text\" name=\"username\" label=\"Username:\" />\n"
		 "<input type=\"password\" name=\"password\" label=\"Password:\" />\n"
		 "</form></auth>\n"
		 "</config-auth>\n",
		 error ? "<error id=\"auth\">" : "", error ? error : "", error ? "</error>\n" : "");
	snprintf(cookie, sizeof(cookie), "Set-Cookie: webvpncontext=%s; Secure; HttpOnly\r\n",
		 c->ctx);
	send_http(c, "200 OK", cookie, body);
}

static struct session *session_new(struct sl_acs *s, const char *user)
{
	struct session *ss = calloc(1, sizeof(*ss));

	if (!ss || random_hex(ss->cookie, COOKIE_HEX) < 0) {
		free(ss);
		return NULL;
	}
	snprintf(ss->user, sizeof(ss->user), "%s", user);
	ss->idle_since = sl_loop_now(s->loop);
	ss->next = s->sessions;
	s->sessions = ss;
	return ss;
}

static struct session *session_find(struct sl_acs *s, const char *cookie)
{
	for (struct session *ss = s->sessions; ss; ss = ss->next)
		if (strlen(cookie) == strlen(ss->cookie) &&
		    CRYPTO_memcmp(cookie, ss->cookie, strlen(cookie)) == 0)
			return ss;
	return NULL;
}

static int accept_any_cert(int ok, X509_STORE_CTX *x)
{
	(void)ok;
	(void)x;
	return 1;
}

/*
 * The user named by the client's certificate (the cert-user-oid field of its subject), or
 * NULL with why it does not count in *why.
 */
static const char *cert_user(struct conn *c, char *user, size_t len, const char **why)
{
	SSL *ssl = sl_tls_stream_ssl(c->tls);
	X509 *x = SSL_get1_peer_certificate(ssl);
	ASN1_OBJECT *oid = OBJ_txt2obj(c->srv->cfg.user_oid, 1);
	X509_NAME *sub;
	int i, n;
	long v;

	user[0] = '\0';
	if (!x) {
		*why = "no client certificate";
		goto out;
	}
	v = SSL_get_verify_result(ssl);
	if (v != X509_V_OK) {
		*why = X509_verify_cert_error_string(v);
		goto out;
	}
	sub = X509_get_subject_name(x);
	i = oid ? X509_NAME_get_index_by_OBJ(sub, oid, -1) : -1;
	if (i < 0) {
		*why = "the certificate's subject has no cert-user-oid field";
		goto out;
	}
	unsigned char *u8 = NULL;

	n = ASN1_STRING_to_UTF8(&u8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(sub, i)));
	if (n <= 0 || (size_t)n >= len || memchr(u8, '\0', (size_t)n))
		*why = "the certificate's user name is empty, too long or has a NUL";
	else
		memcpy(user, u8, (size_t)n + 1);
	OPENSSL_free(u8);
out:
	ASN1_OBJECT_free(oid);
	X509_free(x);
	return user[0] ? user : NULL;
}

static void admit(struct conn *c);

static void on_auth_post(struct conn *c, const char *body, size_t blen)
{
	struct sl_acs *s = c->srv;
	struct sl_ac_auth a;
	const char *pass = NULL;
	char *text = NULL;
	size_t tlen = 0;
	int r;

	if (!c->ctx[0] && random_hex(c->ctx, COOKIE_HEX) < 0) {
		conn_close(c, "no random numbers");
		return;
	}
	if ((s->cfg.auth | s->cfg.enable_auth) & SL_ACS_AUTH_CERT) {
		char cu[sizeof(c->user)];
		const char *why = "", *u = cert_user(c, cu, sizeof(cu), &why);
		unsigned need = s->cfg.auth;

		if (u && (need == SL_ACS_AUTH_CERT || (s->cfg.enable_auth & SL_ACS_AUTH_CERT))) {
			snprintf(c->user, sizeof(c->user), "%s", u);
			sl_info("anyconnect server %s: certificate of '%s' accepted", c->name, u);
			admit(c);
			return;
		}
		if (!u && (need & SL_ACS_AUTH_CERT)) {
			s->st.auth_failed++;
			sl_info("anyconnect server %s: login refused: %s", c->name, why);
			send_http(c, "401 Unauthorized", "X-Reason: certificate required\r\n",
				  NULL);
			conn_close(c, "certificate login refused");
			return;
		}
		if (!u)
			sl_info("anyconnect server %s: %s; asking for a password", c->name, why);
		else
			snprintf(c->cert_user, sizeof(c->cert_user), "%s", u);
	}
	if (sl_ac_auth_parse(body, blen, &a) < 0 || a.type != SL_AC_AUTH_REPLY) {
		send_form(c, NULL); /* init, or anything else: ask */
		return;
	}
	for (unsigned i = 0; i < a.n_inputs; i++) {
		if (!strcmp(a.inputs[i].name, "username"))
			snprintf(c->user, sizeof(c->user), "%s", a.inputs[i].value);
		else if (!strcmp(a.inputs[i].name, "password"))
			pass = a.inputs[i].value;
	}
	if (!c->user[0] || !pass) {
		send_form(c, NULL);
		return;
	}
	if (c->cert_user[0] && strcmp(c->cert_user, c->user)) {
		sl_info("anyconnect server %s: '%s' is not the certificate's user '%s'", c->name,
			c->user, c->cert_user);
		r = -EPERM;
	} else {
		bool stale;

		r = sl_ac_passwd_file_read(&s->passwd, &text, &tlen, &stale);
		if (stale)
			s->st.passwd_stale++;
	}
	if (r == -EPERM)
		;
	else if (r == 0)
		r = sl_ac_passwd_check(text, tlen, c->user, pass);
	else
		sl_err("anyconnect server: cannot read %s: %s", s->cfg.passwd, strerror(-r));
	free(text);
	if (r < 0) {
		s->st.auth_failed++;
		sl_info("anyconnect server %s: login of '%s' refused", c->name, c->user);
		if (++c->fails >= AUTH_FAILS_MAX) {
			conn_close(c, "too many failed logins");
			return;
		}
		send_form(c, "Login failed.");
		return;
	}
	admit(c);
}

/* Logged in: a session and its cookie. */
static void admit(struct conn *c)
{
	struct sl_acs *s = c->srv;
	struct session *ss;
	char hdr[256];

	if (!c->ctx[0] && random_hex(c->ctx, COOKIE_HEX) < 0) {
		conn_close(c, "no random numbers");
		return;
	}
	ss = session_new(s, c->user);
	if (!ss) {
		conn_close(c, "out of memory");
		return;
	}
	s->st.auth_ok++;
	sl_info("anyconnect server %s: %s logged in", c->name, c->user);
	snprintf(hdr, sizeof(hdr),
		 "Set-Cookie: webvpncontext=%s; Secure; HttpOnly\r\n"
		 "Set-Cookie: webvpn=%s; Secure; HttpOnly\r\n",
		 c->ctx, ss->cookie);
	send_http(c, "200 OK", hdr,
		  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		  "<config-auth client=\"vpn\" type=\"complete\">\n"
		  "<version who=\"sg\">0.1(1)</version>\n"
		  "<auth id=\"success\">\n"
		  "<title>SSL VPN Service</title></auth></config-auth>\n");
}

/* ---- CONNECT and CSTP ---------------------------------------------------------------------- */

static int on_stream_send(void *arg, const uint8_t *ip, size_t len);

static void refuse_connect(struct conn *c, const char *status, const char *reason)
{
	char hdr[160];

	snprintf(hdr, sizeof(hdr), "X-Reason: %s\r\n", reason);
	send_http(c, status, hdr, NULL);
}

static int start_tunnel(struct conn *c, struct session *ss)
{
	struct sl_acs *s = c->srv;
	struct sl_peer_cfg pc;
	struct sl_prefix host = {.family = AF_INET, .len = 32};
	uint8_t a16[16];
	int r;

	if (sl_addrpool_alloc(&s->pool, NULL, a16) < 0)
		return -ENOSPC;
	memcpy(c->addr, a16, 4);
	c->addr_taken = true;
	if (!++s->next_peer || s->next_peer > SL_PEER_ID_MAX)
		s->next_peer = 1;
	sl_peer_cfg_init(&pc);
	pc.keepalive_ms = 0; /* CSTP DPD is the liveness check */
	pc.stream_send = on_stream_send;
	pc.stream_arg = c;
	r = sl_peer_new(s->engine, s->next_peer, &pc);
	if (r < 0)
		return r;
	c->peer_id = s->next_peer;
	s->st.tunnels_now++;
	memcpy(host.addr, c->addr, 4);
	r = sl_peer_route_add(s->engine, c->peer_id, &host);
	if (r < 0)
		return r;
	ss->conn = c;
	c->sess = ss;
	snprintf(c->user, sizeof(c->user), "%s", ss->user);
	return 0;
}

static void send_connected(struct conn *c, const char *dtls)
{
	const struct sl_acs_config *cfg = &c->srv->cfg;
	char h[4096], a[INET_ADDRSTRLEN], m[INET_ADDRSTRLEN];
	uint8_t mask[4];
	uint32_t mv = cfg->pool4.len ? 0xffffffffu << (32 - cfg->pool4.len) : 0;
	int n;

	mask[0] = (uint8_t)(mv >> 24);
	mask[1] = (uint8_t)(mv >> 16);
	mask[2] = (uint8_t)(mv >> 8);
	mask[3] = (uint8_t)mv;
	n = snprintf(h, sizeof(h),
		     "HTTP/1.1 200 CONNECTED\r\n"
		     "X-CSTP-Version: 1\r\n"
		     "X-CSTP-Server-Name: sluice 0.1.0\r\n"
		     "X-CSTP-DPD: %u\r\n"
		     "X-CSTP-Address: %s\r\n"
		     "X-CSTP-Netmask: %s\r\n",
		     cfg->dpd_s, inet_ntop(AF_INET, c->addr, a, sizeof(a)),
		     inet_ntop(AF_INET, mask, m, sizeof(m)));
	for (unsigned i = 0; i < cfg->n_dns; i++)
		n += snprintf(h + n, sizeof(h) - (size_t)n, "X-CSTP-DNS: %s\r\n",
			      inet_ntop(AF_INET, cfg->dns[i], a, sizeof(a)));
	for (unsigned i = 0; i < cfg->n_routes; i++) {
		uint32_t rv = cfg->routes[i].len ? 0xffffffffu << (32 - cfg->routes[i].len) : 0;
		uint8_t rm[4] = {(uint8_t)(rv >> 24), (uint8_t)(rv >> 16), (uint8_t)(rv >> 8),
				 (uint8_t)rv};

		n += snprintf(h + n, sizeof(h) - (size_t)n, "X-CSTP-Split-Include: %s/%s\r\n",
			      inet_ntop(AF_INET, cfg->routes[i].addr, a, sizeof(a)),
			      inet_ntop(AF_INET, rm, m, sizeof(m)));
	}
	n += snprintf(h + n, sizeof(h) - (size_t)n,
		      "X-CSTP-Keepalive: %u\r\n"
		      "X-CSTP-Idle-Timeout: none\r\n"
		      "X-CSTP-Rekey-Method: none\r\n"
		      "X-CSTP-Session-Timeout: none\r\n"
		      "X-CSTP-Base-MTU: 1500\r\n"
		      "X-CSTP-MTU: %u\r\n"
		      "%s"
		      "\r\n",
		      cfg->keepalive_s, cfg->mtu, dtls);
	if (n < 0 || (size_t)n >= sizeof(h) || sl_tls_stream_send(c->tls, h, (size_t)n) < 0)
		conn_close(c, "cannot answer CONNECT");
}

/* What the CONNECT request says of DTLS: 1 PSK-NEGOTIATE asked, 0 only legacy suites, -1 none. */
static int dtls_request(const struct sl_http_request *r, char *offer, size_t cap)
{
	int asked = -1;

	offer[0] = '\0';
	for (unsigned i = 0; i < r->n; i++) {
		const struct sl_http_header *h = &r->h[i];

		if (!((h->name_len == 18 && !strncasecmp(h->name, "X-DTLS-CipherSuite", 18)) ||
		      (h->name_len == 20 && !strncasecmp(h->name, "X-DTLS12-CipherSuite", 20))))
			continue;
		if (sl_ac_cipher_list_has(h->value, h->value_len, "PSK-NEGOTIATE"))
			return 1;
		asked = 0;
		snprintf(offer, cap, "%.*s", (int)h->value_len, h->value);
	}
	return asked;
}

static void dtls_on_packet(void *arg, const uint8_t *ip, size_t len)
{
	struct conn *c = arg;

	if (c->st == C_CSTP)
		sl_engine_stream_input(c->srv->engine, c->peer_id, ip, len);
}

static void dtls_on_state(void *arg, bool up)
{
	struct conn *c = arg;
	uint64_t tx, rx;

	sl_acs_dtls_counts(c->dtls, &tx, &rx);
	sl_info("anyconnect server %s: data now over %s (so far DTLS data packets sent %llu, "
		"received %llu)",
		c->name, up ? "DTLS (OpenSSL in the control plane)" : "CSTP (TLS)",
		(unsigned long long)tx, (unsigned long long)rx);
}

/* A handshake done, dtls-datapath = engine: the engine carries this tunnel's records now. */
static int dtls_on_keys(void *arg, const struct sl_dtls_key_pair *kp,
			const struct sockaddr_storage *peer)
{
	struct conn *c = arg;
	struct sl_engine *e = c->srv->engine;
	uint32_t dpd = c->srv->cfg.dpd_s;
	socklen_t len = peer->ss_family == AF_INET ? sizeof(struct sockaddr_in)
						   : sizeof(struct sockaddr_in6);
	int r = sl_peer_set_endpoint(e, c->peer_id, (const struct sockaddr *)peer, len);

	if (r == 0)
		r = sl_key_set_dtls(e, c->peer_id, SL_KEY_PRIMARY, kp);
	if (r == 0) /* DPD every second; silent for 2 * dpd + 1 s: CSTP (as the OpenSSL path) */
		r = sl_peer_set_keepalive(e, c->peer_id, 1000, (2 * dpd + 1) * 1000);
	return r;
}

/* The X-DTLS-* lines of the CONNECT reply for a client that asked for PSK-NEGOTIATE. */
static void offer_dtls(struct conn *c, char *h, size_t cap)
{
	const struct sl_acs_config *cfg = &c->srv->cfg;
	uint8_t id[SL_ACS_APP_ID_LEN], psk[SL_ACS_PSK_LEN];
	char hex[2 * SL_ACS_APP_ID_LEN + 1], name[160];

	h[0] = '\0';
	if (sl_acs_dtls_psk(sl_tls_stream_ssl(c->tls), psk) < 0) {
		sl_warn("anyconnect server %s: no TLS exporter for the DTLS PSK", c->name);
		return;
	}
	snprintf(name, sizeof(name), "%s (%s)", c->name, c->user);
	c->dtls = sl_acs_dtls_attach(c->srv->dtls, psk, name, dtls_on_packet, dtls_on_state,
				     c->srv->cfg.dtls_engine ? dtls_on_keys : NULL, c, id);
	OPENSSL_cleanse(psk, sizeof(psk));
	if (!c->dtls)
		return;
	for (size_t i = 0; i < sizeof(id); i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	OPENSSL_cleanse(id, sizeof(id));
	snprintf(h, cap,
		 "X-DTLS-App-ID: %s\r\n"
		 "X-DTLS-Port: %u\r\n"
		 "X-DTLS-DPD: %u\r\n"
		 "X-DTLS-Keepalive: %u\r\n"
		 "X-DTLS-Rekey-Method: none\r\n"
		 "X-DTLS-CipherSuite: PSK-NEGOTIATE\r\n"
		 "X-DTLS-MTU: %u\r\n",
		 hex, cfg->udp_port, cfg->dpd_s, cfg->keepalive_s, cfg->mtu);
	OPENSSL_cleanse(hex, sizeof(hex));
}

static void on_connect(struct conn *c, const struct sl_http_request *r)
{
	char cookie[128], offer[256], dtls[512] = "", a[INET_ADDRSTRLEN];
	const char *how = "no DTLS offered: no udp-port";
	struct session *ss;
	int want;

	if (sl_http_request_cookie(r, "webvpn", cookie, sizeof(cookie)) < 0 ||
	    !(ss = session_find(c->srv, cookie))) {
		refuse_connect(c, "401 Unauthorized", "no session for this cookie");
		return;
	}
	if (ss->conn) /* a reconnect: the old tunnel gives way */
		conn_close(ss->conn, "replaced by a new connection with the same cookie");
	if (start_tunnel(c, ss) < 0) {
		end_tunnel(c);
		refuse_connect(c, "503 Service Unavailable", "no address left in the pool");
		return;
	}
	want = dtls_request(r, offer, sizeof(offer));
	if (c->srv->dtls && want == 1) {
		offer_dtls(c, dtls, sizeof(dtls));
		how = c->dtls ? "DTLS offered (PSK-NEGOTIATE), CSTP until it is up"
			      : "DTLS not offered: no PSK from the TLS exporter";
	} else if (c->srv->dtls && want == 0) {
		sl_warn("anyconnect server %s: the client offers only legacy DTLS (%s): not "
			"implemented, CSTP only",
			c->name, offer);
		how = "no DTLS: the client has no PSK-NEGOTIATE";
	} else if (c->srv->dtls) {
		how = "no DTLS: the client asked for none";
	}
	send_connected(c, dtls);
	if (c->st == C_CLOSED)
		return;
	c->st = C_CSTP;
	c->last_rx = c->last_tx = sl_loop_now(c->srv->loop);
	c->srv->st.tunnels++;
	sl_info("anyconnect server %s: tunnel for %s, %s, peer %u (CSTP over TLS through the "
		"engine's stream path; %s)",
		c->name, c->user, inet_ntop(AF_INET, c->addr, a, sizeof(a)), c->peer_id, how);
}

static int cstp_send(struct conn *c, uint8_t type, const void *p, size_t n)
{
	uint8_t h[SL_CSTP_HDR_LEN];
	int r;

	if (c->st != C_CSTP || !c->tls)
		return -ENOTCONN;
	if (n > SL_CSTP_PAYLOAD_MAX)
		return -EMSGSIZE;
	sl_cstp_write_header(h, type, (uint16_t)n);
	r = sl_tls_stream_send2(c->tls, h, sizeof(h), p, n);
	if (r == 0)
		c->last_tx = sl_loop_now(c->srv->loop);
	return r;
}

/* The engine routes a packet to the client: DTLS when it is up, else CSTP over TLS. */
static int on_stream_send(void *arg, const uint8_t *ip, size_t len)
{
	struct conn *c = arg;
	int r;

	if (sl_acs_dtls_up(c->dtls) && sl_acs_dtls_send(c->dtls, SL_CSTP_DATA, ip, len) == 0)
		return 0;
	r = cstp_send(c, SL_CSTP_DATA, ip, len);
	if (r == 0)
		c->cstp_tx++;
	return r;
}

static void cstp_input(struct conn *c)
{
	size_t off = 0;

	while (c->st == C_CSTP) {
		struct sl_cstp_frame f;
		int r = sl_cstp_parse(c->in + off, c->in_len - off, &f);
		const uint8_t *p = c->in + off + SL_CSTP_HDR_LEN;

		if (r == -EAGAIN || (r > 0 && f.len > c->in_len - off - SL_CSTP_HDR_LEN))
			break;
		if (r < 0) {
			conn_close(c, "not CSTP");
			return;
		}
		c->last_rx = sl_loop_now(c->srv->loop);
		off += SL_CSTP_HDR_LEN + f.len;
		switch (f.type) {
		case SL_CSTP_DATA:
			c->cstp_rx++;
			sl_engine_stream_input(c->srv->engine, c->peer_id, p, f.len);
			break;
		case SL_CSTP_DPD_REQ:
			cstp_send(c, SL_CSTP_DPD_RESP, NULL, 0);
			break;
		case SL_CSTP_DISCONNECT:
			conn_close(c, "client disconnected");
			break;
		default: /* DPD_RESP, KEEPALIVE; COMPRESSED was never offered */
			break;
		}
	}
	if (c->st == C_CLOSED)
		return;
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
}

static void http_input(struct conn *c)
{
	while (c->st == C_HTTP) {
		struct sl_http_request r;
		int rc = sl_http_parse_request((const char *)c->in, c->in_len, &r);
		size_t total;

		if (rc == -EAGAIN)
			return;
		if (rc < 0) {
			conn_close(c, "not HTTP");
			return;
		}
		total = r.head_len + r.content_length;
		if (total > c->in_len) {
			if (total > IN_MAX)
				conn_close(c, "request too large");
			return;
		}
		sl_http_request_cookie(&r, "webvpncontext", c->ctx, sizeof(c->ctx));
		if (r.method_len == 7 && !memcmp(r.method, "CONNECT", 7))
			on_connect(c, &r);
		else if (r.method_len == 4 && !memcmp(r.method, "POST", 4))
			on_auth_post(c, (const char *)c->in + r.head_len, r.content_length);
		else /* GET and others: what a browser or a plain client sees first */
			send_form(c, NULL);
		if (c->st == C_CLOSED)
			return;
		memmove(c->in, c->in + total, c->in_len - total);
		c->in_len -= total;
	}
	if (c->st == C_CSTP)
		cstp_input(c);
}

static void on_open(struct sl_tls_stream *t, void *arg)
{
	struct conn *c = arg;

	sl_debug("anyconnect server %s: TLS up (%s)", c->name,
		 SSL_get_version(sl_tls_stream_ssl(t)));
}

static void on_data(struct sl_tls_stream *t, void *arg, uint8_t *b, size_t n)
{
	struct conn *c = arg;

	if (c->st == C_CLOSED)
		return;
	if (n > IN_MAX - c->in_len) {
		conn_close(c, "too much input without a complete message");
		return;
	}
	memcpy(c->in + c->in_len, b, n);
	c->in_len += n;
	if (c->st == C_HTTP)
		http_input(c);
	else
		cstp_input(c);
}

static void on_close(struct sl_tls_stream *t, void *arg, const char *reason)
{
	conn_close(arg, reason);
}

static const struct sl_tls_stream_ops stream_ops = {
	.on_open = on_open, .on_data = on_data, .on_close = on_close};

/* ---- listener and tick ------------------------------------------------------------------- */

static unsigned count_conns(const struct sl_acs *s)
{
	unsigned n = 0;

	for (const struct conn *c = s->conns; c; c = c->next)
		n++;
	return n;
}

static void on_accept(struct sl_loop *loop, int fd, uint32_t events, void *arg)
{
	struct sl_acs *s = arg;
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	struct conn *c;
	SSL *ssl;
	int cfd = accept4(fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (cfd < 0)
		return;
	if (count_conns(s) >= 2 * s->cfg.max_clients) {
		sl_warn("anyconnect server: too many connections, one refused");
		close(cfd);
		return;
	}
	c = calloc(1, sizeof(*c));
	ssl = c ? SSL_new(s->tls) : NULL;
	if (!ssl || !SSL_set_fd(ssl, cfd)) {
		SSL_free(ssl);
		free(c);
		close(cfd);
		return;
	}
	SSL_set_accept_state(ssl);
	c->srv = s;
	c->since = sl_loop_now(loop);
	sl_format_endpoint(&peer, c->name, sizeof(c->name));
	if (sl_tls_stream_new(&c->tls, loop, ssl, cfd, false, &stream_ops, c) < 0) {
		free(c);
		return;
	}
	c->next = s->conns;
	s->conns = c;
	s->st.connections++;
}

static void tick_conn(struct sl_acs *s, struct conn *c, sl_time_ns now)
{
	uint32_t dpd = s->cfg.dpd_s;

	if (c->st == C_HTTP && now - c->since > HTTP_TIMEOUT_S * SL_SEC) {
		conn_close(c, "no tunnel within 30 s");
	} else if (c->st == C_CSTP) {
		if (now - c->last_rx > (sl_time_ns)DPD_DEAD_FACTOR * dpd * SL_SEC)
			conn_close(c, "dead peer (DPD)");
		else if (now - c->last_rx >= (sl_time_ns)dpd * SL_SEC && now - c->last_tx >= SL_SEC)
			cstp_send(c, SL_CSTP_DPD_REQ, NULL, 0);
		else if (now - c->last_tx >= (sl_time_ns)s->cfg.keepalive_s * SL_SEC)
			cstp_send(c, SL_CSTP_KEEPALIVE, NULL, 0);
	}
}

static void on_tick(struct sl_loop *loop, struct sl_timer *t, void *arg)
{
	struct sl_acs *s = arg;
	sl_time_ns now = sl_loop_now(loop);
	struct conn **pp = &s->conns;
	struct session **sp = &s->sessions;

	sl_timer_arm(loop, &s->tick, SL_SEC);
	if (s->dtls)
		sl_acs_dtls_tick(s->dtls);
	while (*pp) {
		struct conn *c = *pp;

		tick_conn(s, c, now);
		if (c->st == C_CLOSED) {
			*pp = c->next;
			free(c);
			continue;
		}
		pp = &c->next;
	}
	while (*sp) {
		struct session *ss = *sp;

		if (!ss->conn && now - ss->idle_since > SESSION_IDLE_S * SL_SEC) {
			*sp = ss->next;
			OPENSSL_cleanse(ss->cookie, sizeof(ss->cookie));
			free(ss);
			continue;
		}
		sp = &ss->next;
	}
}

static int listen_on(const struct sockaddr_storage *ss, char *err, size_t err_len)
{
	socklen_t len =
		ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	int one = 1, fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	char name[64];

	sl_format_endpoint(ss, name, sizeof(name));
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, 64) < 0) {
		int r = -errno;

		snprintf(err, err_len, "cannot listen on %s: %s", name, strerror(errno));
		if (fd >= 0)
			close(fd);
		return r;
	}
	return fd;
}

static int engine_udp_send(void *arg, const struct sockaddr_storage *to, const uint8_t *b, size_t n)
{
	struct sl_acs *s = arg;

	return sl_engine_udp_send(s->engine, to, b, n);
}

void sl_acs_control_input(struct sl_acs *s, const uint8_t *pkt, size_t len,
			  const struct sockaddr_storage *from)
{
	if (!s || !s->dtls || !from)
		return;
	/* an opened record that is not data or DPD (keepalive, disconnect): liveness only; the
	 * CSTP channel says DISCONNECT too */
	if (len && pkt[0] < 16)
		return;
	sl_acs_dtls_input(s->dtls, pkt, len, from);
}

void sl_acs_event(struct sl_acs *s, const struct sl_event *ev)
{
	struct sl_peer_stats ps;
	bool up = ev->type == SL_EVENT_PEER_UDP_OK;

	if (!s || (ev->type != SL_EVENT_PEER_SILENT && !up))
		return;
	for (struct conn *c = s->conns; c; c = c->next) {
		if (c->st != C_CSTP || c->peer_id != ev->peer_id)
			continue;
		if (sl_peer_stats(s->engine, c->peer_id, &ps) < 0)
			return;
		if (!up)
			sl_warn("anyconnect server %s: no DTLS record for %u s (the engine's DPD): "
				"data over CSTP",
				c->name, 2 * s->cfg.dpd_s + 1);
		sl_info("anyconnect server %s: data now over %s (so far DTLS data packets sent "
			"%llu, received %llu)",
			c->name, up ? "DTLS (the engine's datapath)" : "CSTP (TLS)",
			(unsigned long long)(ps.tx_packets - ps.stream_tx_packets),
			(unsigned long long)(ps.rx_packets - ps.stream_rx_packets));
		return;
	}
}

int sl_acs_new(struct sl_acs **out, struct sl_loop *loop, struct sl_engine *engine,
	       const struct sl_acs_config *cfg, char *err, size_t err_len)
{
	struct sl_acs *s = calloc(1, sizeof(*s));
	uint8_t gw[16];
	unsigned long e;
	int r;

	if (!s) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	s->loop = loop;
	s->engine = engine;
	s->cfg = *cfg;
	s->lfd = -1;
	s->passwd.fd = -1;
	/* Opened now, read through this fd at each login (also after the privilege drop). */
	if ((cfg->auth & SL_ACS_AUTH_PLAIN) &&
	    sl_ac_passwd_file_open(&s->passwd, cfg->passwd, err, err_len) < 0) {
		free(s);
		return -ENOENT;
	}
	if (sl_addrpool_init(&s->pool, &cfg->pool4) < 0) {
		snprintf(err, err_len, "ipv4-network: no room for clients");
		sl_ac_passwd_file_close(&s->passwd);
		free(s);
		return -EINVAL;
	}
	sl_addrpool_gateway(&s->pool, gw);
	memcpy(s->gateway, gw, 4);
	ERR_clear_error();
	s->tls = SSL_CTX_new(TLS_server_method());
	if (!s->tls || !SSL_CTX_set_min_proto_version(s->tls, TLS1_2_VERSION) ||
	    SSL_CTX_use_certificate_chain_file(s->tls, cfg->cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(s->tls, cfg->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(s->tls) != 1) {
		e = ERR_peek_last_error();
		snprintf(err, err_len, "server-cert %s / server-key %s: %s", cfg->cert, cfg->key,
			 e ? ERR_reason_error_string(e) : "cannot load");
		r = -EINVAL;
		goto fail;
	}
	if (cfg->ca[0]) {
		if (SSL_CTX_load_verify_locations(s->tls, cfg->ca, NULL) != 1) {
			e = ERR_peek_last_error();
			snprintf(err, err_len, "ca-cert %s: %s", cfg->ca,
				 e ? ERR_reason_error_string(e) : "cannot load");
			r = -EINVAL;
			goto fail;
		}
		/* Ask for a certificate but let the handshake finish without one or with a bad
		 * one: the auth step then refuses with a reason the log and the client can show. */
		SSL_CTX_set_verify(s->tls, SSL_VERIFY_PEER, accept_any_cert);
		/* A certificate made for a server (EKU serverAuth only) logs nobody in: the verify
		 * result says "unsuitable certificate purpose". */
		SSL_CTX_set_purpose(s->tls, X509_PURPOSE_SSL_CLIENT);
		SSL_CTX_set_session_id_context(s->tls, (const unsigned char *)"sluice-acs", 10);
	}
	r = listen_on(&cfg->listen, err, err_len);
	if (r < 0)
		goto fail;
	s->lfd = r;
	r = sl_loop_add_fd(loop, s->lfd, SL_EV_READ, on_accept, s);
	if (r < 0) {
		snprintf(err, err_len, "event loop: %s", strerror(-r));
		goto fail;
	}
	if (cfg->udp_port) {
		struct sl_acs_dtls_io io = {.send = engine_udp_send, .arg = s};

		r = sl_acs_dtls_new(&s->dtls, loop, &cfg->listen, (uint16_t)cfg->udp_port,
				    cfg->dpd_s, cfg->dtls_engine ? &io : NULL, err, err_len);
		if (r < 0)
			goto fail;
	} else {
		sl_info("anyconnect server: no udp-port: DTLS not offered, CSTP only");
	}
	sl_timer_init(&s->tick, on_tick, s);
	sl_timer_arm(loop, &s->tick, SL_SEC);
	*out = s;
	return 0;
fail:
	if (s->lfd >= 0) {
		sl_loop_del_fd(loop, s->lfd);
		close(s->lfd);
	}
	sl_ac_passwd_file_close(&s->passwd);
	SSL_CTX_free(s->tls);
	sl_addrpool_free(&s->pool);
	free(s);
	return r;
}

void sl_acs_free(struct sl_acs *s)
{
	static const char bye[] = "\xb0"
				  "Server shutting down";

	if (!s)
		return;
	for (struct conn *c = s->conns; c; c = c->next)
		cstp_send(c, SL_CSTP_DISCONNECT, bye, sizeof(bye) - 1);
	while (s->conns)
		conn_free(s->conns);
	while (s->sessions) {
		struct session *ss = s->sessions;

		s->sessions = ss->next;
		free(ss);
	}
	if (s->dtls) {
		struct sl_acs_dtls_stats d;

		sl_acs_dtls_stats(s->dtls, &d);
		sl_info("anyconnect server: DTLS datagrams %llu, handshakes %llu (%llu done); "
			"dropped: unknown peer %llu, bad hello %llu, no such App-ID %llu, bad "
			"record %llu, send failed %llu",
			(unsigned long long)d.datagrams, (unsigned long long)d.handshakes,
			(unsigned long long)d.handshakes_ok,
			(unsigned long long)d.drop_unknown_peer,
			(unsigned long long)d.drop_bad_hello, (unsigned long long)d.drop_no_session,
			(unsigned long long)d.drop_record, (unsigned long long)d.send_failed);
		sl_acs_dtls_free(s->dtls);
	}
	sl_timer_cancel(s->loop, &s->tick);
	sl_loop_del_fd(s->loop, s->lfd);
	close(s->lfd);
	sl_ac_passwd_file_close(&s->passwd);
	SSL_CTX_free(s->tls);
	sl_addrpool_free(&s->pool);
	free(s);
}

void sl_acs_stats(const struct sl_acs *s, struct sl_acs_stats *out)
{
	*out = s->st;
}
