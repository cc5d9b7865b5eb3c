// SPDX-License-Identifier: MIT
/*
 * A native-protocol connection: frames and liveness on a byte-stream TLS
 * stream (io/tls_stream.c does the socket and the SSL calls). Callbacks may
 * free the connection; every entry point from the stream or the timer holds
 * it "busy" and the free is finished when the entry point returns.
 */
#include "ctl/native/tlsconn.h"

#include "core/log.h"
#include "dco/uapi.h"
#include "io/tls_stream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONTROL_SLACK (1u << 20)

struct sl_tlsconn {
	struct sl_loop *loop;
	struct sl_tls_stream *stream;
	bool open;	  /* TLS is up and ALPN checked */
	bool closed;	  /* the owner has been told */
	bool established; /* the owner has seen its first frame */
	bool abort;	  /* stuck or misbehaving peer: no flush, no close_notify */
	int busy;
	bool freed;
	sl_time_ns created, last_rx, last_tx;
	sl_time_ns handshake_ns; /* deadline from created until established */
	struct sl_timer timer;
	const struct sl_tlsconn_ops *ops;
	void *arg;
	struct sockaddr_storage peer;
	char peer_name[64];
	struct sl_nframe_reader in; /* last: large */
};

static void on_timer(struct sl_loop *loop, struct sl_timer *t, void *arg);
static const struct sl_tls_stream_ops stream_ops;

int sl_tlsconn_new(struct sl_tlsconn **out, struct sl_loop *loop, SSL_CTX *ctx, int fd, bool server,
		   bool connecting, const struct sockaddr_storage *peer,
		   const struct sl_tlsconn_ops *ops, void *arg)
{
	/* malloc, not calloc: the frame buffer is only touched as frames arrive. */
	struct sl_tlsconn *c = malloc(sizeof(*c));
	SSL *ssl = SSL_new(ctx);
	int r;

	if (!c || !ssl || !SSL_set_fd(ssl, fd)) {
		SSL_free(ssl);
		free(c);
		close(fd);
		return -ENOMEM;
	}
	memset(c, 0, offsetof(struct sl_tlsconn, in));
	sl_nframe_reader_init(&c->in);
	c->loop = loop;
	c->ops = ops;
	c->arg = arg;
	c->peer = *peer;
	if (sl_format_endpoint(peer, c->peer_name, sizeof(c->peer_name)) < 0)
		snprintf(c->peer_name, sizeof(c->peer_name), "(unknown)");
	c->created = c->last_rx = c->last_tx = sl_loop_now(loop);
	c->handshake_ns = (sl_time_ns)SL_TLSCONN_HANDSHAKE_S * SL_SEC;
	sl_timer_init(&c->timer, on_timer, c);
	if (server)
		SSL_set_accept_state(ssl);
	else
		SSL_set_connect_state(ssl);
	r = sl_tls_stream_new(&c->stream, loop, ssl, fd, connecting, &stream_ops, c);
	if (r < 0) { /* the stream freed ssl and closed fd */
		free(c);
		return r;
	}
	sl_tls_stream_set_byte_stream(c->stream, SL_TLSCONN_QUEUE_MAX + CONTROL_SLACK);
	sl_timer_arm(loop, &c->timer, c->handshake_ns);
	*out = c;
	return 0;
}

static void release(struct sl_tlsconn *c)
{
	sl_timer_cancel(c->loop, &c->timer);
	free(c);
}

void sl_tlsconn_free(struct sl_tlsconn *c)
{
	if (!c || c->freed)
		return;
	c->freed = true;
	if (c->abort)
		sl_tls_stream_abort(c->stream);
	else
		sl_tls_stream_free(c->stream); /* flushes, then close_notify */
	c->stream = NULL;
	if (!c->busy)
		release(c);
}

/* Entry points from the stream and the timer bracket their work with these. */
static void hold(struct sl_tlsconn *c)
{
	c->busy++;
}

static void unhold(struct sl_tlsconn *c)
{
	if (--c->busy == 0 && c->freed)
		release(c);
}

static bool usable(const struct sl_tlsconn *c)
{
	return c->open && !c->closed && !c->freed;
}

/* The connection is over: tell the owner, once. */
static void conn_close(struct sl_tlsconn *c, const char *reason)
{
	enum sl_tlsconn_phase phase = c->established ? SL_TLSCONN_ESTABLISHED
				      : c->stream && !sl_tls_stream_connected(c->stream)
					      ? SL_TLSCONN_CONNECTING
					      : SL_TLSCONN_HANDSHAKE;

	if (c->closed || c->freed)
		return;
	c->closed = true;
	sl_timer_cancel(c->loop, &c->timer);
	c->ops->on_close(c, c->arg, phase, reason);
}

void sl_tlsconn_set_handshake_deadline(struct sl_tlsconn *c, unsigned seconds)
{
	c->handshake_ns = (sl_time_ns)seconds * SL_SEC;
	if (!c->established)
		sl_timer_arm_at(c->loop, &c->timer, c->created + c->handshake_ns);
}

/* ---- output ----------------------------------------------------------------------- */

int sl_tlsconn_send(struct sl_tlsconn *c, uint8_t type, const void *payload, size_t len)
{
	size_t limit = SL_TLSCONN_QUEUE_MAX + (type == SL_NF_DATA ? 0 : CONTROL_SLACK);
	uint8_t *dst;

	if (!usable(c))
		return -ENOTCONN;
	if (len > SL_NFRAME_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (sl_tls_stream_queued(c->stream) + SL_NFRAME_HDR_LEN + len > limit)
		return -ENOBUFS;
	dst = sl_tls_stream_reserve(c->stream, SL_NFRAME_HDR_LEN + len);
	if (!dst)
		return -ENOBUFS;
	sl_nframe_put_header(dst, type, len);
	if (len)
		memcpy(dst + SL_NFRAME_HDR_LEN, payload, len);
	sl_tls_stream_commit(c->stream, SL_NFRAME_HDR_LEN + len);
	c->last_tx = sl_loop_now(c->loop);
	return 0;
}

void sl_tlsconn_flush(struct sl_tlsconn *c)
{
	if (usable(c))
		sl_tls_stream_flush(c->stream);
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

/* SSL_read lands in the frame reader: frames are parsed where they were decrypted. */
static uint8_t *stream_read_space(struct sl_tls_stream *s, void *arg, size_t *room)
{
	struct sl_tlsconn *c = arg;

	(void)s;
	return sl_nframe_reader_space(&c->in, room);
}

static void stream_on_data(struct sl_tls_stream *s, void *arg, uint8_t *b, size_t n)
{
	struct sl_tlsconn *c = arg;
	struct sl_nframe f;

	(void)s;
	(void)b; /* == the reader's space */
	if (!usable(c))
		return;
	hold(c);
	sl_nframe_reader_commit(&c->in, n);
	c->last_rx = sl_loop_now(c->loop);
	while (usable(c) && sl_nframe_reader_next(&c->in, &f))
		on_frame(c, &f);
	unhold(c);
}

static void stream_on_open(struct sl_tls_stream *s, void *arg)
{
	struct sl_tlsconn *c = arg;
	const unsigned char *p;
	unsigned int len;

	hold(c);
	SSL_get0_alpn_selected(sl_tls_stream_ssl(s), &p, &len);
	if (len != strlen(SL_NATIVE_ALPN) || memcmp(p, SL_NATIVE_ALPN, len)) {
		c->abort = true; /* no close_notify to a peer that speaks something else */
		conn_close(c, "peer does not speak " SL_NATIVE_ALPN " (ALPN)");
	} else {
		c->open = true;
		c->last_rx = sl_loop_now(c->loop);
		c->ops->on_open(c, c->arg);
	}
	unhold(c);
}

static void stream_on_close(struct sl_tls_stream *s, void *arg, const char *reason)
{
	struct sl_tlsconn *c = arg;

	(void)s;
	hold(c);
	conn_close(c, reason);
	unhold(c);
}

static const struct sl_tls_stream_ops stream_ops = {
	.on_open = stream_on_open,
	.on_data = stream_on_data,
	.on_close = stream_on_close,
	.read_space = stream_read_space,
};

/* ---- liveness ----------------------------------------------------------------------- */

static void on_timer(struct sl_loop *loop, struct sl_timer *t, void *arg)
{
	struct sl_tlsconn *c = arg;
	sl_time_ns now = sl_loop_now(loop);
	sl_time_ns ping_due, dead_due;

	(void)t;
	hold(c);
	if (!c->established) {
		if (now - c->created >= c->handshake_ns) {
			char why[48];

			snprintf(why, sizeof(why), "no handshake within %u s",
				 (unsigned)(c->handshake_ns / SL_SEC));
			c->abort = true; /* the peer may be stuck mid-handshake: just drop it */
			conn_close(c, !sl_tls_stream_connected(c->stream) ? "timed out" : why);
			goto out;
		}
		sl_timer_arm_at(loop, &c->timer, c->created + c->handshake_ns);
		goto out;
	}
	dead_due = c->last_rx + SL_TLSCONN_DEAD_S * SL_SEC;
	if (now >= dead_due) {
		c->abort = true;
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
	return c->stream ? sl_tls_stream_ssl(c->stream) : NULL;
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
	return c->stream ? sl_tls_stream_queued(c->stream) : 0;
}
