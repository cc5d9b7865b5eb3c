// SPDX-License-Identifier: MIT
/*
 * AnyConnect client: auth over HTTPS, CONNECT, CSTP, DPD/keepalive,
 * reconnect with the cookie, network set-up, DTLS handover (dtls.c).
 */
#include "ctl/anyconnect/client.h"

#include "core/drop.h"
#include "core/log.h"
#include "ctl/anyconnect/dtls.h"
#include "ctl/anyconnect/tunnel_info.h"
#include "ctl/anyconnect/vpnc_runner.h"
#include "dco/uapi.h"
#include "io/tls_stream.h"
#include "io/tun.h"
#include "proto/ac_auth.h"
#include "proto/cstp.h"
#include "proto/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PEER_ID		1
#define IN_MAX		(256u * 1024)
#define AUTH_ROUNDS_MAX 8
#define RECONNECT_S	2  /* between attempts */
#define RECONNECT_FOR_S 60 /* give up after this long without a tunnel */
#define AGENT		"Open AnyConnect VPN Agent v9.01 (sluice 0.1.0)"
#define XML_VERSION	"v9.01"
#define DPD_DEAD_FACTOR 3

enum state { ST_AUTH, ST_CONNECT, ST_CSTP, ST_WAIT, ST_DONE };

struct sl_ac_client {
	struct sl_loop *loop;
	struct sl_engine *engine;
	struct sl_ac_client_cfg cfg;
	struct sl_ac_client_ops ops;
	SSL_CTX *tls;
	struct sl_tls_stream *stream;
	enum state state;
	char gateway[64];
	char ifname[32];
	char hostname[64]; /* X-CSTP-Hostname, read once: uname() is not allowed after the drop */
	char cookie[512];  /* webvpn: the session */
	char ctx_cookie[512]; /* webvpncontext: the auth exchange */
	unsigned auth_rounds;
	bool sent_password;
	bool peer_added, script_connected;
	struct sl_ac_tunnel_info info;
	sl_time_ns last_rx, last_tx, tunnel_since, lost_since;
	struct sl_timer tick;
	struct sl_ac_dtls *dtls;
	uint8_t dtls_secret[SL_AC_DTLS_SECRET_LEN]; /* the last CONNECT's X-DTLS-Master-Secret */
	uint64_t cstp_tx, cstp_rx, dropped;
	uint64_t dtls_own_rx; /* of DTLS sessions replaced: datagrams read outside the engine */
	uint64_t dtls_ctl_rx; /* records the engine passed up (handshake, alert, Cisco control) */
	size_t in_len;
	uint8_t in[IN_MAX];
};

static const struct sl_tls_stream_ops stream_ops;
static void start_connection(struct sl_ac_client *c);

static void finish(struct sl_ac_client *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void finish(struct sl_ac_client *c, int code, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	if (c->state == ST_DONE)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	c->state = ST_DONE;
	if (code)
		sl_err("anyconnect: %s", why);
	else
		sl_info("anyconnect: %s", why);
	c->ops.on_done(c->ops.arg, code, why);
}

/* ---- vpnc-script and the built-in set-up ---------------------------------------------- */

static int run_script(struct sl_ac_client *c, const char *reason)
{
	char buf[8192], *env[128];
	int n = sl_ac_vpnc_env(strcmp(reason, "pre-init") ? &c->info : NULL, reason, c->ifname,
			       c->gateway, (int)getpid(), buf, sizeof(buf), env, 128);
	int status;

	if (n < 0) {
		sl_err("anyconnect: vpnc-script environment too large");
		return n;
	}
	status = sl_vpnc_run(c->cfg.runner, c->cfg.script, env, n);
	if (status) {
		if (status < 0)
			sl_err("anyconnect: vpnc-script %s (%s) not run: %s", c->cfg.script, reason,
			       strerror(-status));
		else
			sl_err("anyconnect: vpnc-script %s (%s) failed with status %d",
			       c->cfg.script, reason, status);
		return -EIO;
	}
	return 0;
}

static unsigned prefix_len4(const uint8_t m[4])
{
	uint32_t v = (uint32_t)m[0] << 24 | m[1] << 16 | m[2] << 8 | m[3];
	unsigned n = 0;

	while (n < 32 && (v & (0x80000000u >> n)))
		n++;
	return n;
}

/* No script: addresses, MTU and routes by netlink, as vpnc-script would set them. */
static int setup_netlink(struct sl_ac_client *c)
{
	const struct sl_ac_tunnel_info *t = &c->info;
	const uint8_t zero[16] = {0};
	int r = 0;

	if (t->has_ip4)
		r = sl_link_addr_add(c->ifname, AF_INET, t->ip4, (uint8_t)prefix_len4(t->netmask4));
	if ((r == 0 || r == -EEXIST) && t->has_ip6)
		r = sl_link_addr_add(c->ifname, AF_INET6, t->ip6, t->ip6_prefix);
	if (r == 0 || r == -EEXIST)
		r = sl_link_set_up(c->ifname, t->mtu ? t->mtu : 1400);
	for (unsigned i = 0; (r == 0 || r == -EEXIST) && i < t->n_split_inc; i++)
		r = sl_link_route_add(c->ifname, t->split_inc[i].family, t->split_inc[i].addr,
				      t->split_inc[i].len);
	if ((r == 0 || r == -EEXIST) && !t->n_split_inc && t->has_ip4) {
		sl_warn("anyconnect: no split-include routes: adding a default route via %s",
			c->ifname);
		r = sl_link_route_add(c->ifname, AF_INET, zero, 0);
	}
	if (t->n_split_exc)
		sl_warn("anyconnect: %u split-exclude routes ignored by the built-in set-up "
			"(use --script)",
			t->n_split_exc);
	if (r < 0 && r != -EEXIST) {
		sl_err("anyconnect: cannot configure %s: %s", c->ifname, strerror(-r));
		return r;
	}
	return 0;
}

/* ---- sending --------------------------------------------------------------------------- */

static int cstp_send(struct sl_ac_client *c, uint8_t type, const void *payload, size_t len)
{
	uint8_t h[SL_CSTP_HDR_LEN];
	int r;

	if (c->state != ST_CSTP || !c->stream)
		return -ENOTCONN;
	if (len > SL_CSTP_PAYLOAD_MAX)
		return -EMSGSIZE;
	sl_cstp_write_header(h, type, (uint16_t)len);
	r = sl_tls_stream_send2(c->stream, h, sizeof(h), payload, len);
	if (r == 0)
		c->last_tx = sl_loop_now(c->loop);
	return r;
}

/*
 * The engine's stream: a packet for the server while no DTLS session is
 * installed or DTLS is silent (the engine decides; dtls.c).
 */
static int on_stream_send(void *arg, const uint8_t *ip, size_t len)
{
	struct sl_ac_client *c = arg;
	int r = cstp_send(c, SL_CSTP_DATA, ip, len);

	if (r == 0)
		c->cstp_tx++;
	else
		c->dropped++;
	return r;
}

/* ---- HTTP ------------------------------------------------------------------------------- */

static int send_request(struct sl_ac_client *c, const char *method, const char *path,
			const char *extra, const char *body)
{
	char head[4096];
	size_t blen = body ? strlen(body) : 0;
	int n = snprintf(head, sizeof(head),
			 "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: " AGENT "\r\n"
			 "%s%s%s"
			 "%s",
			 method, path, c->cfg.host,
			 c->ctx_cookie[0] ? "Cookie: webvpncontext=" : "", c->ctx_cookie,
			 c->ctx_cookie[0] ? "\r\n" : "", extra);

	if (n < 0 || (size_t)n >= sizeof(head))
		return -ENOSPC;
	if (body) {
		int m = snprintf(head + n, sizeof(head) - (size_t)n,
				 "Content-Type: application/xml; charset=utf-8\r\n"
				 "Content-Length: %zu\r\n",
				 blen);

		if (m < 0 || (size_t)m >= sizeof(head) - (size_t)n)
			return -ENOSPC;
		n += m;
	}
	if ((size_t)n + 2 >= sizeof(head))
		return -ENOSPC;
	memcpy(head + n, "\r\n", 2);
	n += 2;
	return sl_tls_stream_send2(c->stream, head, (size_t)n, body, blen);
}

static const char *auth_headers = "Accept: */*\r\nAccept-Encoding: identity\r\n"
				  "X-Transcend-Version: 1\r\nX-Aggregate-Auth: 1\r\n"
				  "X-Support-HTTP-Auth: true\r\n";

static void send_init(struct sl_ac_client *c)
{
	char url[512], xml[2048];

	snprintf(url, sizeof(url), "https://%s%s", c->cfg.host, c->cfg.path);
	if (sl_ac_auth_build_init(xml, sizeof(xml), XML_VERSION, url) < 0 ||
	    send_request(c, "POST", c->cfg.path, auth_headers, xml) < 0)
		finish(c, 1, "cannot send the first auth request");
}

static void send_connect(struct sl_ac_client *c)
{
	char extra[2048], secret_hex[2 * SL_AC_DTLS_SECRET_LEN + 1];

	/* kept for legacy DTLS (the server's session is made of it); fresh for every CONNECT */
	if (RAND_bytes(c->dtls_secret, sizeof(c->dtls_secret)) != 1) {
		finish(c, 1, "no random numbers for the DTLS master secret");
		return;
	}
	for (int i = 0; i < SL_AC_DTLS_SECRET_LEN; i++)
		snprintf(secret_hex + 2 * i, 3, "%02X", c->dtls_secret[i]);
	snprintf(extra, sizeof(extra),
		 "Cookie: webvpn=%s\r\n"
		 "X-CSTP-Version: 1\r\nX-CSTP-Hostname: %s\r\n"
		 "X-CSTP-Base-MTU: 1500\r\nX-CSTP-MTU: 1406\r\n"
		 "X-CSTP-Address-Type: IPv6,IPv4\r\nX-CSTP-Full-IPv6-Capability: true\r\n"
		 "%s%s%s%s%s",
		 c->cookie, c->hostname,
		 c->cfg.no_dtls ? "" : "X-DTLS-Master-Secret: ", c->cfg.no_dtls ? "" : secret_hex,
		 c->cfg.no_dtls ? "" : "\r\nX-DTLS-CipherSuite: ",
		 c->cfg.no_dtls
			 ? ""
			 : (c->cfg.dtls_ciphers[0] ? c->cfg.dtls_ciphers : SL_AC_DTLS_CIPHERS),
		 c->cfg.no_dtls ? "" : "\r\n");
	OPENSSL_cleanse(secret_hex, sizeof(secret_hex));
	/* the auth context cookie is not part of CONNECT */
	c->ctx_cookie[0] = '\0';
	c->state = ST_CONNECT;
	if (send_request(c, "CONNECT", "/CSCOSSLC/tunnel", extra, NULL) < 0)
		finish(c, 1, "cannot send CONNECT");
	OPENSSL_cleanse(extra, sizeof(extra));
}

/* The fields a form asks for, from what we were given. */
static int fill_form(struct sl_ac_client *c, const struct sl_ac_auth *a, struct sl_ac_field *f)
{
	unsigned n = 0;

	for (unsigned i = 0; i < a->n_inputs; i++) {
		const struct sl_ac_input *in = &a->inputs[i];

		if (!strcmp(in->type, "password")) {
			if (c->sent_password) {
				finish(c, 1, "authentication failed: %s",
				       a->error[0] ? a->error : a->message);
				return -EACCES;
			}
			if (!c->cfg.password[0]) {
				finish(c, 1,
				       "the server asks for a password: use --passwd-on-stdin");
				return -EACCES;
			}
			c->sent_password = true;
			f[n++] = (struct sl_ac_field){in->name, c->cfg.password};
		} else if (!strcmp(in->type, "text")) {
			if (!c->cfg.user[0]) {
				finish(c, 1, "the server asks for '%s': use --user", in->name);
				return -EACCES;
			}
			f[n++] = (struct sl_ac_field){in->name, c->cfg.user};
		} else if (!strcmp(in->type, "hidden")) {
			f[n++] = (struct sl_ac_field){in->name, in->value};
		} /* select (group list): the server's default */
	}
	return (int)n;
}

static void on_auth_reply(struct sl_ac_client *c, const struct sl_http_response *r,
			  const char *body, size_t blen)
{
	struct sl_ac_auth a;
	struct sl_ac_field f[SL_AC_INPUTS_MAX];
	char xml[4096];
	int n;

	/* the auth exchange's context cookie: kept for the next round */
	sl_http_cookie(r, "webvpncontext", c->ctx_cookie, sizeof(c->ctx_cookie));
	if (r->status != 200) {
		finish(c, 1, "auth: the server answered HTTP %d", r->status);
		return;
	}
	if (sl_ac_auth_parse(body, blen, &a) < 0) {
		finish(c, 1, "auth: the server's answer is not AnyConnect auth XML");
		return;
	}
	if (a.type == SL_AC_AUTH_COMPLETE) {
		if (sl_http_cookie(r, "webvpn", c->cookie, sizeof(c->cookie)) < 0) {
			finish(c, 1, "auth: complete, but no webvpn cookie");
			return;
		}
		sl_info("anyconnect: authenticated as %s", c->cfg.user);
		if (c->cfg.cookie_only) {
			printf("%s\n", c->cookie);
			fflush(stdout);
			finish(c, 0, "cookie printed (--cookieonly)");
			return;
		}
		send_connect(c);
		return;
	}
	if (a.message[0])
		sl_info("anyconnect: server: %s", a.message);
	if (++c->auth_rounds > AUTH_ROUNDS_MAX) {
		finish(c, 1, "auth: more than %d rounds", AUTH_ROUNDS_MAX);
		return;
	}
	n = fill_form(c, &a, f);
	if (n < 0)
		return;
	if (sl_ac_auth_build_reply(xml, sizeof(xml), XML_VERSION, a.opaque, f, (unsigned)n) < 0 ||
	    send_request(c, "POST", a.action[0] ? a.action : c->cfg.path, auth_headers, xml) < 0)
		finish(c, 1, "auth: cannot send the reply");
}

static int add_peer(struct sl_ac_client *c)
{
	struct sl_peer_cfg pc;
	struct sl_prefix all4 = {.family = AF_INET}, all6 = {.family = AF_INET6};
	int r;

	if (c->peer_added)
		return 0;
	sl_peer_cfg_init(&pc);
	pc.keepalive_ms = 0; /* CSTP/DTLS DPD is the liveness check */
	pc.stream_send = on_stream_send;
	pc.stream_arg = c;
	r = sl_peer_new(c->engine, PEER_ID, &pc);
	/* The one peer: what the kernel routes into the device goes to the server. */
	if (r == 0)
		r = sl_peer_route_add(c->engine, PEER_ID, &all4);
	if (r == 0)
		r = sl_peer_route_add(c->engine, PEER_ID, &all6);
	if (r < 0)
		return r;
	c->peer_added = true;
	return 0;
}

static void on_connect_reply(struct sl_ac_client *c, const struct sl_http_response *r)
{
	char err[160], reason[128] = "";
	bool first = !c->script_connected;
	int rc;

	if (r->status != 200) {
		sl_http_header_copy(r, "X-Reason", reason, sizeof(reason));
		finish(c, 1, "CONNECT refused: HTTP %d%s%s", r->status, reason[0] ? ": " : "",
		       reason);
		return;
	}
	if (sl_ac_tunnel_info_parse(r, &c->info, err, sizeof(err)) < 0) {
		finish(c, 1, "CONNECT reply: %s", err);
		return;
	}
	rc = add_peer(c);
	if (rc < 0) {
		finish(c, 1, "cannot add the server to the engine: %s", strerror(-rc));
		return;
	}
	if (first) {
		rc = c->cfg.script[0] ? run_script(c, "connect") : setup_netlink(c);
		if (rc < 0) {
			finish(c, 1, "network set-up failed");
			return;
		}
		c->script_connected = true;
	}
	c->state = ST_CSTP;
	c->tunnel_since = c->last_rx = c->last_tx = sl_loop_now(c->loop);
	c->lost_since = 0;
	{
		char a[INET6_ADDRSTRLEN] = "";

		if (c->info.has_ip4)
			inet_ntop(AF_INET, c->info.ip4, a, sizeof(a));
		sl_info("anyconnect: CSTP %s: %s on %s, MTU %u, DPD %u s, keepalive %u s, rekey %u "
			"s "
			"(%s)",
			first ? "connected" : "reconnected", a, c->ifname, c->info.mtu,
			c->info.dpd_s, c->info.keepalive_s, c->info.rekey_s,
			c->info.rekey_method == SL_AC_REKEY_SSL		 ? "ssl"
			: c->info.rekey_method == SL_AC_REKEY_NEW_TUNNEL ? "new-tunnel"
									 : "none");
	}
	if (!c->cfg.no_dtls) {
		c->dtls_own_rx += sl_ac_dtls_own_rx(c->dtls);
		sl_ac_dtls_restart(&c->dtls, c->loop, c->engine, PEER_ID, &c->cfg.server, &c->info,
				   sl_tls_stream_ssl(c->stream), c->dtls_secret);
	}
}

/* ---- CSTP ------------------------------------------------------------------------------ */

static void on_cstp_frame(struct sl_ac_client *c, uint8_t type, const uint8_t *p, size_t n)
{
	switch (type) {
	case SL_CSTP_DATA:
		c->cstp_rx++;
		if (c->peer_added)
			sl_engine_stream_input(c->engine, PEER_ID, p, n);
		break;
	case SL_CSTP_DPD_REQ:
		cstp_send(c, SL_CSTP_DPD_RESP, NULL, 0);
		break;
	case SL_CSTP_DPD_RESP:
	case SL_CSTP_KEEPALIVE:
		break;
	case SL_CSTP_DISCONNECT:
	case SL_CSTP_TERMINATE:
		finish(c, 1, "the server ended the session (%s%s%.*s)", sl_cstp_type_name(type),
		       n > 1 ? ": " : "", n > 1 ? (int)(n - 1) : 0,
		       n > 1 ? (const char *)p + 1 : "");
		break;
	default:
		c->dropped++; /* COMPRESSED (never offered) and unknown types */
		sl_debug("anyconnect: CSTP %s frame dropped", sl_cstp_type_name(type));
		break;
	}
}

/* Take every complete frame off the input; 0, or -1 when the stream is not CSTP. */
static int cstp_input(struct sl_ac_client *c)
{
	size_t off = 0;

	while (c->state == ST_CSTP) {
		struct sl_cstp_frame f;
		int r = sl_cstp_parse(c->in + off, c->in_len - off, &f);

		if (r == -EAGAIN || (r > 0 && f.len > c->in_len - off - SL_CSTP_HDR_LEN))
			break;
		if (r < 0) {
			finish(c, 1, "the server sent something that is not CSTP");
			return -1;
		}
		c->last_rx = sl_loop_now(c->loop);
		on_cstp_frame(c, f.type, c->in + off + SL_CSTP_HDR_LEN, f.len);
		off += SL_CSTP_HDR_LEN + f.len;
	}
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
	return 0;
}

/* HTTP answers while authenticating or connecting; then CSTP. */
static void process_input(struct sl_ac_client *c)
{
	while (c->state == ST_AUTH || c->state == ST_CONNECT) {
		struct sl_http_response r;
		int rc = sl_http_parse_response((const char *)c->in, c->in_len, &r);
		size_t total;

		if (rc == -EAGAIN)
			return;
		if (rc < 0) {
			finish(c, 1, "the server's answer is not HTTP");
			return;
		}
		total = r.head_len + (c->state == ST_AUTH ? r.content_length : 0);
		if (total > c->in_len)
			return; /* the body is still coming */
		if (c->state == ST_AUTH)
			on_auth_reply(c, &r, (const char *)c->in + r.head_len, r.content_length);
		else
			on_connect_reply(c, &r);
		memmove(c->in, c->in + total, c->in_len - total);
		c->in_len -= total;
	}
	if (c->state == ST_CSTP)
		cstp_input(c);
}

/* ---- the TLS connection ------------------------------------------------------------- */

static bool pin_matches(SSL *ssl, const char *pin)
{
	X509 *cert = SSL_get1_peer_certificate(ssl);
	unsigned char *der = NULL, md[32], b64[64];
	int len = cert ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der) : -1;
	bool ok = false;

	if (len > 0 && EVP_Digest(der, (size_t)len, md, NULL, EVP_sha256(), NULL) == 1) {
		EVP_EncodeBlock(b64, md, 32);
		ok = !strcmp(pin + strlen("pin-sha256:"), (const char *)b64);
	}
	OPENSSL_free(der);
	X509_free(cert);
	return ok;
}

static void on_open(struct sl_tls_stream *s, void *arg)
{
	struct sl_ac_client *c = arg;
	SSL *ssl = sl_tls_stream_ssl(s);

	if (c->cfg.servercert[0] && !pin_matches(ssl, c->cfg.servercert)) {
		finish(c, 1, "the server's certificate does not match --servercert %s",
		       c->cfg.servercert);
		return;
	}
	if (!c->cfg.servercert[0] && SSL_get_verify_result(ssl) != X509_V_OK) {
		finish(c, 1, "server certificate: %s",
		       X509_verify_cert_error_string(SSL_get_verify_result(ssl)));
		return;
	}
	sl_debug("anyconnect: TLS up (%s)", SSL_get_version(ssl));
	if (c->cookie[0])
		send_connect(c); /* a reconnect or rekey: the cookie is the session */
	else
		send_init(c);
}

static void on_data(struct sl_tls_stream *s, void *arg, uint8_t *b, size_t n)
{
	struct sl_ac_client *c = arg;

	if (c->state == ST_DONE || c->state == ST_WAIT)
		return;
	if (n > IN_MAX - c->in_len) {
		finish(c, 1, "more than %u bytes from the server without a complete message",
		       IN_MAX);
		return;
	}
	memcpy(c->in + c->in_len, b, n);
	c->in_len += n;
	process_input(c);
}

static void lose_connection(struct sl_ac_client *c, const char *why)
{
	if (c->stream) {
		sl_tls_stream_free(c->stream);
		c->stream = NULL;
	}
	c->in_len = 0;
	if (c->state == ST_DONE)
		return;
	if (!c->cookie[0]) {
		finish(c, 1, "connection lost while authenticating: %s", why);
		return;
	}
	sl_warn("anyconnect: connection lost (%s); reconnecting with the cookie", why);
	c->state = ST_WAIT;
	if (!c->lost_since)
		c->lost_since = sl_loop_now(c->loop);
}

static void on_close(struct sl_tls_stream *s, void *arg, const char *reason)
{
	lose_connection(arg, reason);
}

static const struct sl_tls_stream_ops stream_ops = {
	.on_open = on_open, .on_data = on_data, .on_close = on_close};

static void start_connection(struct sl_ac_client *c)
{
	const struct sockaddr_storage *ss = &c->cfg.server;
	socklen_t len =
		ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct in6_addr dummy;
	SSL *ssl;

	if (fd < 0 || (connect(fd, (const struct sockaddr *)ss, len) < 0 && errno != EINPROGRESS)) {
		if (fd >= 0)
			close(fd);
		lose_connection(c, strerror(errno));
		return;
	}
	ssl = SSL_new(c->tls);
	if (!ssl || !SSL_set_fd(ssl, fd)) {
		SSL_free(ssl);
		close(fd);
		finish(c, 1, "out of memory");
		return;
	}
	SSL_set_connect_state(ssl);
	if (inet_pton(AF_INET, c->cfg.hostname, &dummy) != 1 &&
	    inet_pton(AF_INET6, c->cfg.hostname, &dummy) != 1)
		SSL_set_tlsext_host_name(ssl, c->cfg.hostname); /* SNI is for names only */
	if (!c->cfg.servercert[0]) {
		X509_VERIFY_PARAM *p = SSL_get0_param(ssl);

		if (X509_VERIFY_PARAM_set1_ip_asc(p, c->cfg.hostname) != 1)
			SSL_set1_host(ssl, c->cfg.hostname);
	}
	c->state = c->cookie[0] ? ST_CONNECT : ST_AUTH;
	if (sl_tls_stream_new(&c->stream, c->loop, ssl, fd, true, &stream_ops, c) < 0) {
		c->stream = NULL;
		lose_connection(c, "cannot watch the socket");
	}
}

/* ---- timers ---------------------------------------------------------------------------- */

static void reconnect_now(struct sl_ac_client *c, const char *why)
{
	sl_info("anyconnect: %s: new TLS connection with the cookie", why);
	if (c->stream) {
		sl_tls_stream_free(c->stream);
		c->stream = NULL;
	}
	c->in_len = 0;
	start_connection(c);
}

static void on_tick(struct sl_loop *loop, struct sl_timer *t, void *arg)
{
	struct sl_ac_client *c = arg;
	sl_time_ns now = sl_loop_now(loop);
	const struct sl_ac_tunnel_info *in = &c->info;

	sl_timer_arm(loop, &c->tick, SL_SEC);
	if (c->dtls)
		sl_ac_dtls_tick(c->dtls);
	switch (c->state) {
	case ST_WAIT:
		if (now - c->lost_since > RECONNECT_FOR_S * SL_SEC) {
			finish(c, 1, "no tunnel for %d s: giving up", RECONNECT_FOR_S);
			return;
		}
		if (now - c->lost_since >= RECONNECT_S * SL_SEC)
			start_connection(c);
		return;
	case ST_CSTP:
		break;
	default:
		return;
	}
	if (in->dpd_s && now - c->last_rx >= (sl_time_ns)DPD_DEAD_FACTOR * in->dpd_s * SL_SEC) {
		sl_warn("anyconnect: no answer on CSTP for %u s (DPD)",
			DPD_DEAD_FACTOR * in->dpd_s);
		lose_connection(c, "dead peer");
		return;
	}
	if (in->rekey_s && in->rekey_method != SL_AC_REKEY_NONE &&
	    now - c->tunnel_since >= (sl_time_ns)in->rekey_s * SL_SEC) {
		/* openconnect does both methods this way: a fresh TLS session, same cookie */
		reconnect_now(c, "rekey time");
		return;
	}
	if (in->dpd_s && now - c->last_rx >= (sl_time_ns)in->dpd_s * SL_SEC &&
	    now - c->last_tx >= SL_SEC)
		cstp_send(c, SL_CSTP_DPD_REQ, NULL, 0);
	else if (in->keepalive_s && now - c->last_tx >= (sl_time_ns)in->keepalive_s * SL_SEC)
		cstp_send(c, SL_CSTP_KEEPALIVE, NULL, 0);
}

/* ---- life ------------------------------------------------------------------------------- */

static SSL_CTX *client_ctx(const struct sl_ac_client_cfg *cfg, char *err, size_t err_len)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
		snprintf(err, err_len, "TLS: cannot make a context");
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (cfg->cafile[0] && SSL_CTX_load_verify_locations(ctx, cfg->cafile, NULL) != 1) {
		snprintf(err, err_len, "--cafile %s: cannot load", cfg->cafile);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (!cfg->cafile[0] && !cfg->servercert[0])
		SSL_CTX_set_default_verify_paths(ctx);
	/* Checked in on_open, so the reason can be told. libssl checks the purpose by default
	 * too; said here, as in the native and OpenVPN clients, so no one has to know that. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	return ctx;
}

int sl_ac_client_new(struct sl_ac_client **out, struct sl_loop *loop, struct sl_engine *engine,
		     const struct sl_ac_client_cfg *cfg, const struct sl_ac_client_ops *ops,
		     char *err, size_t err_len)
{
	struct sl_ac_client *c = calloc(1, sizeof(*c));

	if (!c) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	if (cfg->servercert[0] && strncmp(cfg->servercert, "pin-sha256:", 11)) {
		snprintf(err, err_len, "--servercert: only pin-sha256:BASE64 is understood");
		free(c);
		return -EINVAL;
	}
	c->loop = loop;
	c->engine = engine;
	c->cfg = *cfg;
	c->ops = *ops;
	c->tls = client_ctx(cfg, err, err_len);
	if (!c->tls) {
		free(c);
		return -EINVAL;
	}
	snprintf(c->ifname, sizeof(c->ifname), "%s", sl_engine_ifname(engine));
	if (gethostname(c->hostname, sizeof(c->hostname) - 1) < 0 || !c->hostname[0])
		snprintf(c->hostname, sizeof(c->hostname), "sluice");
	if (cfg->server.ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)&cfg->server)->sin_addr,
			  c->gateway, sizeof(c->gateway));
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&cfg->server)->sin6_addr,
			  c->gateway, sizeof(c->gateway));
	if (cfg->script[0] && !cfg->cookie_only && run_script(c, "pre-init") < 0) {
		snprintf(err, err_len, "vpnc-script %s failed at pre-init", cfg->script);
		SSL_CTX_free(c->tls);
		free(c);
		return -EIO;
	}
	sl_timer_init(&c->tick, on_tick, c);
	sl_timer_arm(loop, &c->tick, SL_SEC);
	start_connection(c);
	*out = c;
	return 0;
}

/*
 * Where every datagram the DTLS socket got went: read by OpenSSL (the handshake) or
 * discarded before the engine had the socket, or read by the engine and then accepted (data,
 * DPD, a record for the control plane) or dropped, counted by reason.
 */
static void log_udp_accounting(const struct sl_ac_client *c, const struct sl_peer_stats *st)
{
	struct sl_peer_stats es;
	char why[256] = "";
	size_t off = 0;
	uint64_t drops = 0;

	if (sl_engine_stats(c->engine, &es) < 0)
		return;
	for (int i = 0; i < SL_DROP__COUNT - 1; i++) {
		uint64_t n = st->udp_rx_drops[i] + es.udp_rx_drops[i];
		int w;

		if (!n)
			continue;
		drops += n;
		w = snprintf(why + off, sizeof(why) - off, " %s=%llu", sl_drop_name(i + 1),
			     (unsigned long long)n);
		if (w > 0 && (size_t)w < sizeof(why) - off)
			off += (size_t)w;
	}
	sl_info("anyconnect: DTLS datagrams received %llu: outside the engine %llu (handshake), "
		"by the engine %llu: data %llu, DPD %llu, to the control plane %llu, dropped "
		"%llu (by reason:%s); dropped by the kernel at a full queue %llu",
		(unsigned long long)(c->dtls_own_rx + es.udp_rx_datagrams),
		(unsigned long long)c->dtls_own_rx, (unsigned long long)es.udp_rx_datagrams,
		(unsigned long long)(st->rx_packets - st->stream_rx_packets),
		(unsigned long long)st->keepalive_rx, (unsigned long long)c->dtls_ctl_rx,
		(unsigned long long)drops, off ? why : " none",
		(unsigned long long)(es.drops[SL_DROP_OVERFLOW - 1] +
				     st->drops[SL_DROP_OVERFLOW - 1]));
}

void sl_ac_client_free(struct sl_ac_client *c)
{
	static const char bye[] = "\xb0"
				  "Client quit";

	if (!c)
		return;
	if (c->state == ST_CSTP)
		cstp_send(c, SL_CSTP_DISCONNECT, bye, sizeof(bye) - 1);
	c->dtls_own_rx += sl_ac_dtls_own_rx(c->dtls);
	sl_ac_dtls_free(c->dtls);
	if (c->stream)
		sl_tls_stream_free(c->stream);
	if (c->peer_added) {
		struct sl_peer_stats st;

		if (sl_peer_stats(c->engine, PEER_ID, &st) == 0)
			sl_info("anyconnect: DTLS data packets sent %llu, received %llu (sealed "
				"and opened by the engine); DTLS DPD sent %llu, received %llu",
				(unsigned long long)(st.tx_packets - st.stream_tx_packets),
				(unsigned long long)(st.rx_packets - st.stream_rx_packets),
				(unsigned long long)st.keepalive_tx,
				(unsigned long long)st.keepalive_rx);
		if (sl_peer_stats(c->engine, PEER_ID, &st) == 0)
			log_udp_accounting(c, &st);
		sl_peer_del(c->engine, PEER_ID);
	}
	if (c->script_connected && c->cfg.script[0])
		run_script(c, "disconnect");
	sl_timer_cancel(c->loop, &c->tick);
	SSL_CTX_free(c->tls);
	OPENSSL_cleanse(c->dtls_secret, sizeof(c->dtls_secret));
	sl_info("anyconnect: CSTP data packets sent %llu, received %llu; dropped %llu",
		(unsigned long long)c->cstp_tx, (unsigned long long)c->cstp_rx,
		(unsigned long long)c->dropped);
	free(c);
}

void sl_ac_client_on_event(struct sl_ac_client *c, const struct sl_event *ev)
{
	if (c)
		sl_ac_dtls_on_event(c->dtls, ev);
}

void sl_ac_client_on_udp(struct sl_ac_client *c, const uint8_t *pkt, size_t len)
{
	if (!c)
		return;
	c->dtls_ctl_rx++;
	sl_ac_dtls_on_udp(c->dtls, pkt, len);
}

const char *sl_ac_client_transport(const struct sl_ac_client *c)
{
	if (c->dtls && sl_ac_dtls_up(c->dtls))
		return "dtls";
	return c->state == ST_CSTP ? "cstp" : "none";
}
