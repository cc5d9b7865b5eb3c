// SPDX-License-Identifier: MIT
/*
 * A native-protocol connection: non-blocking connect, TLS 1.3 handshake,
 * frames in and out, liveness. Callbacks may free the connection; every
 * entry point from the loop holds it "busy" and the free is finished when
 * the entry point returns.
 */
#include "ctl/native/tlsconn.h"

#include "core/log.h"
#include "dco/uapi.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONTROL_SLACK  (1u << 20)
#define WRITE_CHUNK    (64u * 1024)
#define READS_PER_WAKE 64

enum state { ST_CONNECTING, ST_HANDSHAKE, ST_OPEN, ST_CLOSED };

/* Pending output: bytes out[head..head+len) of buf. */
struct outq {
	uint8_t *buf;
	size_t head, len, cap;
};

struct sl_tlsconn {
	struct sl_loop *loop;
	SSL *ssl;
	int fd;
	enum state state;
	bool established;      /* the owner has seen its first frame */
	bool ssl_failed;       /* fatal TLS error: no close_notify */
	bool write_wants_read; /* SSL_write asked for readability */
	bool read_wants_write; /* SSL_read asked for writability */
	uint32_t events;       /* what the loop watches for us */
	int busy;
	bool freed;
	sl_time_ns created, last_rx, last_tx;
	sl_time_ns handshake_ns; /* deadline from created until established */
	struct sl_timer timer;
	const struct sl_tlsconn_ops *ops;
	void *arg;
	struct sockaddr_storage peer;
	char peer_name[64];
	struct outq out;
	struct sl_nframe_reader in; /* last: large */
};

/* ---- SSL_CTX ----------------------------------------------------------------- */

static const unsigned char alpn_wire[] = "\x08" SL_NATIVE_ALPN;

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned char *sel;

	if (SSL_select_next_proto(&sel, outlen, alpn_wire, sizeof(alpn_wire) - 1, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

static const char *openssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	return r ? r : "unknown error";
}

/* The file must be readable; OpenSSL's own message for a missing file is less clear. */
static bool readable(const char *what, const char *path, char *err, size_t err_len)
{
	FILE *f = fopen(path, "r");

	if (!f) {
		snprintf(err, err_len, "%s %s: %s", what, path, strerror(errno));
		return false;
	}
	fclose(f);
	return true;
}

static bool load_files(SSL_CTX *ctx, const char *ca, const char *cert, const char *key, char *err,
		       size_t err_len)
{
	if (!readable("CA", ca, err, err_len) || !readable("Certificate", cert, err, err_len) ||
	    !readable("PrivateKey", key, err, err_len))
		return false;
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		snprintf(err, err_len, "CA %s: %s", ca, openssl_reason());
		return false;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		snprintf(err, err_len, "Certificate %s: %s", cert, openssl_reason());
		return false;
	}
	/* OpenSSL checks here already that the key matches the certificate. */
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 &&
	    ERR_GET_REASON(ERR_peek_last_error()) != X509_R_KEY_VALUES_MISMATCH) {
		snprintf(err, err_len, "PrivateKey %s: %s", key, openssl_reason());
		return false;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, err_len, "PrivateKey %s does not belong to Certificate %s", key,
			 cert);
		return false;
	}
	return true;
}

SSL_CTX *sl_tls_ctx_new(bool server, const char *ca, const char *cert, const char *key, char *err,
			size_t err_len)
{
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());

	ERR_clear_error();
	if (!ctx) {
		snprintf(err, err_len, "TLS: %s", openssl_reason());
		return NULL;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    !load_files(ctx, ca, cert, key, err, err_len))
		goto fail;
	SSL_CTX_set_verify(
		ctx, server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER,
		NULL);
	/* A client certificate (clientAuth) must not pass for a server, nor the reverse. */
	SSL_CTX_set_purpose(ctx, server ? X509_PURPOSE_SSL_CLIENT : X509_PURPOSE_SSL_SERVER);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				      SSL_MODE_RELEASE_BUFFERS);
	if (server) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);

		if (names)
			SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	} else if (SSL_CTX_set_alpn_protos(ctx, alpn_wire, sizeof(alpn_wire) - 1) != 0) {
		snprintf(err, err_len, "TLS: cannot set ALPN");
		goto fail;
	}
	return ctx;
fail:
	if (!err[0])
		snprintf(err, err_len, "TLS: %s", openssl_reason());
	SSL_CTX_free(ctx);
	return NULL;
}

/* ---- lifecycle ----------------------------------------------------------------- */

static void on_io(struct sl_loop *loop, int fd, uint32_t events, void *arg);
static void on_timer(struct sl_loop *loop, struct sl_timer *t, void *arg);

static void set_nodelay(int fd)
{
	int one = 1;

	/* Frames are small and latency-bound (fallback data, rekeys); Nagle only delays them. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int sl_tlsconn_new(struct sl_tlsconn **out, struct sl_loop *loop, SSL_CTX *ctx, int fd, bool server,
		   bool connecting, const struct sockaddr_storage *peer,
		   const struct sl_tlsconn_ops *ops, void *arg)
{
	/* malloc, not calloc: the frame buffer is only touched as frames arrive. */
	struct sl_tlsconn *c = malloc(sizeof(*c));
	int r;

	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	memset(c, 0, offsetof(struct sl_tlsconn, in));
	sl_nframe_reader_init(&c->in);
	c->loop = loop;
	c->fd = fd;
	c->ops = ops;
	c->arg = arg;
	c->peer = *peer;
	if (sl_format_endpoint(peer, c->peer_name, sizeof(c->peer_name)) < 0)
		snprintf(c->peer_name, sizeof(c->peer_name), "(unknown)");
	c->state = connecting ? ST_CONNECTING : ST_HANDSHAKE;
	c->created = c->last_rx = c->last_tx = sl_loop_now(loop);
	c->handshake_ns = (sl_time_ns)SL_TLSCONN_HANDSHAKE_S * SL_SEC;
	sl_timer_init(&c->timer, on_timer, c);
	set_nodelay(fd);
	c->ssl = SSL_new(ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, fd)) {
		r = -ENOMEM;
		goto fail;
	}
	if (server)
		SSL_set_accept_state(c->ssl);
	else
		SSL_set_connect_state(c->ssl);
	c->events = SL_EV_READ | SL_EV_WRITE;
	r = sl_loop_add_fd(loop, fd, c->events, on_io, c);
	if (r < 0)
		goto fail;
	sl_timer_arm(loop, &c->timer, c->handshake_ns);
	*out = c;
	return 0;
fail:
	SSL_free(c->ssl);
	close(fd);
	free(c);
	return r;
}

static void release(struct sl_tlsconn *c)
{
	sl_timer_cancel(c->loop, &c->timer);
	if (c->fd >= 0) {
		sl_loop_del_fd(c->loop, c->fd);
		close(c->fd);
	}
	SSL_free(c->ssl);
	free(c->out.buf);
	free(c);
}

static int flush_out(struct sl_tlsconn *c, char *why, size_t why_len);

void sl_tlsconn_free(struct sl_tlsconn *c)
{
	char why[160];

	if (!c || c->freed)
		return;
	c->freed = true;
	if (c->state == ST_OPEN && !c->ssl_failed) {
		flush_out(c, why, sizeof(why));
		if (!c->ssl_failed) {
			ERR_clear_error();
			SSL_shutdown(c->ssl); /* close_notify, without waiting for the answer */
		}
	}
	c->state = ST_CLOSED;
	if (!c->busy)
		release(c);
}

/* Entry points from the loop bracket their work with these. */
static void hold(struct sl_tlsconn *c)
{
	c->busy++;
}

static void unhold(struct sl_tlsconn *c)
{
	if (--c->busy == 0 && c->freed)
		release(c);
}

/* The connection is over: stop watching it and tell the owner, once. */
static void conn_close(struct sl_tlsconn *c, const char *reason)
{
	enum sl_tlsconn_phase phase = c->established		  ? SL_TLSCONN_ESTABLISHED
				      : c->state == ST_CONNECTING ? SL_TLSCONN_CONNECTING
								  : SL_TLSCONN_HANDSHAKE;

	if (c->state == ST_CLOSED)
		return;
	c->state = ST_CLOSED;
	sl_timer_cancel(c->loop, &c->timer);
	sl_loop_del_fd(c->loop, c->fd);
	c->ops->on_close(c, c->arg, phase, reason);
}

/* ---- errors ---------------------------------------------------------------------- */

/* One phrase for why an SSL call failed; marks fatal TLS errors. */
static const char *ssl_failure(struct sl_tlsconn *c, int ret, int err, char *buf, size_t len)
{
	unsigned long e;

	switch (err) {
	case SSL_ERROR_ZERO_RETURN:
		return "closed by peer";
	case SSL_ERROR_SYSCALL:
		c->ssl_failed = true;
		if (ERR_peek_last_error())
			return openssl_reason();
		if (ret == 0 || errno == 0)
			return "connection closed by peer";
		snprintf(buf, len, "%s", strerror(errno));
		return buf;
	default:
		c->ssl_failed = true;
		e = ERR_peek_last_error();
		if (ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
			snprintf(buf, len, "certificate verify failed (%s)",
				 X509_verify_cert_error_string(SSL_get_verify_result(c->ssl)));
			return buf;
		}
		return openssl_reason();
	}
}

/* ---- output ----------------------------------------------------------------------- */

static void update_events(struct sl_tlsconn *c)
{
	uint32_t want = SL_EV_READ;

	if (c->state == ST_CLOSED || c->freed)
		return;
	if (c->state == ST_CONNECTING)
		want = SL_EV_WRITE;
	else if (c->state == ST_HANDSHAKE)
		want = c->events; /* set by the handshake step */
	else if ((c->out.len && !c->write_wants_read) || c->read_wants_write)
		want |= SL_EV_WRITE;
	if (want != c->events && sl_loop_mod_fd(c->loop, c->fd, want) == 0)
		c->events = want;
}

static int outq_reserve(struct outq *q, size_t n)
{
	size_t need = q->len + n, cap;
	uint8_t *nb;

	if (q->head + need <= q->cap)
		return 0;
	if (need <= q->cap) {
		memmove(q->buf, q->buf + q->head, q->len);
		q->head = 0;
		return 0;
	}
	cap = q->cap ? q->cap : 16384;
	while (cap < need)
		cap *= 2;
	nb = malloc(cap);
	if (!nb)
		return -ENOBUFS;
	if (q->len)
		memcpy(nb, q->buf + q->head, q->len);
	free(q->buf);
	q->buf = nb;
	q->head = 0;
	q->cap = cap;
	return 0;
}

void sl_tlsconn_set_handshake_deadline(struct sl_tlsconn *c, unsigned seconds)
{
	c->handshake_ns = (sl_time_ns)seconds * SL_SEC;
	if (!c->established)
		sl_timer_arm_at(c->loop, &c->timer, c->created + c->handshake_ns);
}

int sl_tlsconn_send(struct sl_tlsconn *c, uint8_t type, const void *payload, size_t len)
{
	size_t limit = SL_TLSCONN_QUEUE_MAX + (type == SL_NF_DATA ? 0 : CONTROL_SLACK);
	uint8_t *dst;

	if (c->state != ST_OPEN || c->freed)
		return -ENOTCONN;
	if (len > SL_NFRAME_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (c->out.len + SL_NFRAME_HDR_LEN + len > limit)
		return -ENOBUFS;
	if (outq_reserve(&c->out, SL_NFRAME_HDR_LEN + len) < 0)
		return -ENOBUFS;
	dst = c->out.buf + c->out.head + c->out.len;
	sl_nframe_put_header(dst, type, len);
	if (len)
		memcpy(dst + SL_NFRAME_HDR_LEN, payload, len);
	c->out.len += SL_NFRAME_HDR_LEN + len;
	c->last_tx = sl_loop_now(c->loop);
	/* Written when the loop next finds the socket writable: a burst shares TLS records. */
	update_events(c);
	return 0;
}

/* Write as much as the socket takes. 0, or -1 with why set (the connection failed). */
static int flush_out(struct sl_tlsconn *c, char *why, size_t why_len)
{
	char buf[160];

	c->write_wants_read = false;
	while (c->out.len) {
		size_t n = c->out.len < WRITE_CHUNK ? c->out.len : WRITE_CHUNK;
		int w, e;

		ERR_clear_error();
		w = SSL_write(c->ssl, c->out.buf + c->out.head, (int)n);
		if (w > 0) {
			c->out.head += (size_t)w;
			c->out.len -= (size_t)w;
			continue;
		}
		e = SSL_get_error(c->ssl, w);
		if (e == SSL_ERROR_WANT_WRITE)
			return 0;
		if (e == SSL_ERROR_WANT_READ) {
			c->write_wants_read = true;
			return 0;
		}
		snprintf(why, why_len, "%s", ssl_failure(c, w, e, buf, sizeof(buf)));
		return -1;
	}
	c->out.head = 0;
	return 0;
}

void sl_tlsconn_flush(struct sl_tlsconn *c)
{
	char why[160];

	if (c->state == ST_OPEN && !c->freed && flush_out(c, why, sizeof(why)) == 0)
		update_events(c);
}

/* ---- input ------------------------------------------------------------------------ */

static void on_frame(struct sl_tlsconn *c, const struct sl_nframe *f)
{
	if (f->type == SL_NF_PING) {
		sl_tlsconn_send(c, SL_NF_PONG, f->payload, f->len);
		return;
	}
	if (f->type == SL_NF_PONG)
		return;
	c->ops->on_frame(c, c->arg, f);
}

/* Hand every whole frame to the owner. false if the connection went away meanwhile. */
static bool deliver_frames(struct sl_tlsconn *c)
{
	struct sl_nframe f;

	while (sl_nframe_reader_next(&c->in, &f)) {
		on_frame(c, &f);
		if (c->state != ST_OPEN || c->freed)
			return false;
	}
	return true;
}

static void read_frames(struct sl_tlsconn *c)
{
	char buf[160];

	c->read_wants_write = false;
	/* Bounded per wakeup for fairness; the socket stays readable (level-triggered). */
	for (int i = 0; i < READS_PER_WAKE || SSL_has_pending(c->ssl); i++) {
		size_t room;
		uint8_t *dst = sl_nframe_reader_space(&c->in, &room);
		int n, e;

		ERR_clear_error();
		n = SSL_read(c->ssl, dst, room > INT_MAX ? INT_MAX : (int)room);
		if (n <= 0) {
			e = SSL_get_error(c->ssl, n);
			if (e == SSL_ERROR_WANT_WRITE)
				c->read_wants_write = true;
			if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
				conn_close(c, ssl_failure(c, n, e, buf, sizeof(buf)));
			return;
		}
		sl_nframe_reader_commit(&c->in, (size_t)n);
		c->last_rx = sl_loop_now(c->loop);
		if (!deliver_frames(c))
			return;
	}
}

/* ---- state steps -------------------------------------------------------------------- */

static void check_alpn(struct sl_tlsconn *c)
{
	const unsigned char *p;
	unsigned int len;

	SSL_get0_alpn_selected(c->ssl, &p, &len);
	if (len != strlen(SL_NATIVE_ALPN) || memcmp(p, SL_NATIVE_ALPN, len)) {
		c->ssl_failed = true; /* no close_notify to a peer that speaks something else */
		conn_close(c, "peer does not speak " SL_NATIVE_ALPN " (ALPN)");
	}
}

static void step_handshake(struct sl_tlsconn *c)
{
	char buf[160];
	int r, e;

	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		c->state = ST_OPEN;
		check_alpn(c);
		if (c->state != ST_OPEN)
			return;
		c->last_rx = sl_loop_now(c->loop);
		c->ops->on_open(c, c->arg);
		if (c->state == ST_OPEN && !c->freed)
			read_frames(c); /* records that came with the handshake's last flight */
		return;
	}
	e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		uint32_t want = e == SSL_ERROR_WANT_READ ? SL_EV_READ : SL_EV_READ | SL_EV_WRITE;

		if (want != c->events && sl_loop_mod_fd(c->loop, c->fd, want) == 0)
			c->events = want;
		return;
	}
	conn_close(c, ssl_failure(c, r, e, buf, sizeof(buf)));
}

static void step_connect(struct sl_tlsconn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == EINPROGRESS || err == EALREADY)
		return;
	if (err) {
		c->ssl_failed = true;
		conn_close(c, strerror(err));
		return;
	}
	c->state = ST_HANDSHAKE;
	step_handshake(c);
}

static void on_io(struct sl_loop *loop, int fd, uint32_t events, void *arg)
{
	struct sl_tlsconn *c = arg;
	char why[160];

	hold(c);
	switch (c->state) {
	case ST_CONNECTING:
		step_connect(c);
		break;
	case ST_HANDSHAKE:
		step_handshake(c);
		break;
	case ST_OPEN:
		if (c->out.len && flush_out(c, why, sizeof(why)) < 0) {
			conn_close(c, why);
			break;
		}
		read_frames(c);
		break;
	case ST_CLOSED:
		break;
	}
	update_events(c);
	unhold(c);
}

/* ---- liveness ----------------------------------------------------------------------- */

static void on_timer(struct sl_loop *loop, struct sl_timer *t, void *arg)
{
	struct sl_tlsconn *c = arg;
	sl_time_ns now = sl_loop_now(loop);
	sl_time_ns ping_due, dead_due;

	hold(c);
	if (!c->established) {
		if (now - c->created >= c->handshake_ns) {
			char why[48];

			snprintf(why, sizeof(why), "no handshake within %u s",
				 (unsigned)(c->handshake_ns / SL_SEC));
			c->ssl_failed =
				true; /* the peer may be stuck mid-handshake: just drop it */
			conn_close(c, c->state == ST_CONNECTING ? "timed out" : why);
			goto out;
		}
		sl_timer_arm_at(loop, &c->timer, c->created + c->handshake_ns);
		goto out;
	}
	dead_due = c->last_rx + SL_TLSCONN_DEAD_S * SL_SEC;
	if (now >= dead_due) {
		c->ssl_failed = true;
		conn_close(c, "nothing received for 30 s");
		goto out;
	}
	ping_due = c->last_tx + SL_TLSCONN_PING_S * SL_SEC;
	if (now >= ping_due) {
		sl_tlsconn_send(c, SL_NF_PING, NULL, 0);
		ping_due = now + SL_TLSCONN_PING_S * SL_SEC;
	}
	sl_timer_arm_at(loop, &c->timer, ping_due < dead_due ? ping_due : dead_due);
out:
	unhold(c);
}

void sl_tlsconn_established(struct sl_tlsconn *c)
{
	if (c->established)
		return;
	c->established = true;
	/* From here on the timer keeps the connection alive instead of bounding the handshake. */
	c->last_rx = sl_loop_now(c->loop);
	sl_timer_arm(c->loop, &c->timer, SL_TLSCONN_PING_S * SL_SEC);
}

/* ---- accessors ------------------------------------------------------------------------ */

SSL *sl_tlsconn_ssl(struct sl_tlsconn *c)
{
	return c->ssl;
}

const char *sl_tlsconn_peer_name(const struct sl_tlsconn *c)
{
	return c->peer_name;
}

const struct sockaddr_storage *sl_tlsconn_peer_addr(const struct sl_tlsconn *c)
{
	return &c->peer;
}

size_t sl_tlsconn_queued(const struct sl_tlsconn *c)
{
	return c->out.len;
}
