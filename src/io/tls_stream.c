// SPDX-License-Identifier: MIT
/*
 * TLS stream: handshake, message-preserving output queue, input. Callbacks
 * may free the stream; entry points from the loop hold it busy and the free
 * finishes when they return.
 */
#include "io/tls_stream.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define READS_PER_WAKE 64
#define MSG_HDR	       4      /* each queued message: length (host order) then bytes */
#define WRITE_CHUNK    65536u /* byte stream: bytes per SSL_write */

enum state { ST_CONNECTING, ST_HANDSHAKE, ST_OPEN, ST_CLOSED };

struct sl_tls_stream {
	struct sl_loop *loop;
	SSL *ssl;
	int fd;
	enum state state;
	bool ssl_failed;
	bool connected;	  /* TCP is up (handshake or later) */
	bool byte_stream; /* no message boundaries: q holds raw bytes */
	bool write_wants_read, read_wants_write;
	uint32_t events;
	int busy;
	bool freed;
	const struct sl_tls_stream_ops *ops;
	void *arg;
	/* queued messages live in q[head..tail) */
	uint8_t *q;
	size_t head, tail, cap;
	size_t reserved;  /* bytes reserved at tail, 0 = none */
	size_t queue_max; /* reserve refuses beyond this much queued */
	uint8_t rbuf[16384 + 256];
};

static void on_io(struct sl_loop *loop, int fd, uint32_t events, void *arg);

int sl_tls_stream_new(struct sl_tls_stream **out, struct sl_loop *loop, SSL *ssl, int fd,
		      bool connecting, const struct sl_tls_stream_ops *ops, void *arg)
{
	struct sl_tls_stream *s = calloc(1, sizeof(*s));
	int one = 1, r;

	if (!s) {
		SSL_free(ssl);
		close(fd);
		return -ENOMEM;
	}
	s->loop = loop;
	s->ssl = ssl;
	s->fd = fd;
	s->ops = ops;
	s->arg = arg;
	s->state = connecting ? ST_CONNECTING : ST_HANDSHAKE;
	s->connected = !connecting;
	s->queue_max = SL_TLS_STREAM_QUEUE_MAX;
	/* Packets are latency-bound; Nagle only delays them. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	SSL_set_mode(ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	s->events = SL_EV_READ | SL_EV_WRITE;
	r = sl_loop_add_fd(loop, fd, s->events, on_io, s);
	if (r < 0) {
		SSL_free(ssl);
		close(fd);
		free(s);
		return r;
	}
	*out = s;
	return 0;
}

static void release(struct sl_tls_stream *s)
{
	if (s->fd >= 0) {
		sl_loop_del_fd(s->loop, s->fd);
		close(s->fd);
	}
	SSL_free(s->ssl);
	free(s->q);
	free(s);
}

static void flush_out(struct sl_tls_stream *s);

void sl_tls_stream_free(struct sl_tls_stream *s)
{
	if (!s || s->freed)
		return;
	s->freed = true;
	if (s->state == ST_OPEN && !s->ssl_failed) {
		flush_out(s);
		if (!s->ssl_failed) {
			ERR_clear_error();
			SSL_shutdown(s->ssl);
		}
	}
	s->state = ST_CLOSED;
	if (!s->busy)
		release(s);
}

void sl_tls_stream_abort(struct sl_tls_stream *s)
{
	if (s)
		s->ssl_failed = true;
	sl_tls_stream_free(s);
}

void sl_tls_stream_set_byte_stream(struct sl_tls_stream *s, size_t queue_max)
{
	if (s->tail != s->head)
		return; /* messages already queued keep their boundaries */
	s->byte_stream = true;
	s->queue_max = queue_max;
}

static void hold(struct sl_tls_stream *s)
{
	s->busy++;
}

static void unhold(struct sl_tls_stream *s)
{
	if (--s->busy == 0 && s->freed)
		release(s);
}

static void stream_close(struct sl_tls_stream *s, const char *reason)
{
	if (s->state == ST_CLOSED)
		return;
	s->state = ST_CLOSED;
	sl_loop_del_fd(s->loop, s->fd);
	s->ops->on_close(s, s->arg, reason);
}

static const char *openssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	return r ? r : "unknown TLS error";
}

/* One phrase for why an SSL call failed; marks fatal errors (no close_notify then). */
static const char *ssl_failure(struct sl_tls_stream *s, int ret, int err, char *buf, size_t len)
{
	switch (err) {
	case SSL_ERROR_ZERO_RETURN:
		return "closed by peer";
	case SSL_ERROR_SYSCALL:
		s->ssl_failed = true;
		if (ERR_peek_last_error())
			return openssl_reason();
		if (ret == 0 || errno == 0)
			return "connection closed by peer";
		snprintf(buf, len, "%s", strerror(errno));
		return buf;
	default:
		s->ssl_failed = true;
		if (ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
			snprintf(buf, len, "certificate verify failed (%s)",
				 X509_verify_cert_error_string(SSL_get_verify_result(s->ssl)));
			return buf;
		}
		return openssl_reason();
	}
}

static void update_events(struct sl_tls_stream *s)
{
	uint32_t want = SL_EV_READ;

	if (s->state == ST_CLOSED || s->freed)
		return;
	if (s->state == ST_CONNECTING)
		want = SL_EV_WRITE;
	else if (s->state == ST_HANDSHAKE)
		want = s->events;
	else if ((s->head < s->tail && !s->write_wants_read) || s->read_wants_write)
		want |= SL_EV_WRITE;
	if (want != s->events && sl_loop_mod_fd(s->loop, s->fd, want) == 0)
		s->events = want;
}

/* ---- output queue ---------------------------------------------------------------- */

/* Make room for n more bytes at the tail (compacting, then growing). */
static bool queue_room(struct sl_tls_stream *s, size_t n)
{
	size_t used = s->tail - s->head, want;
	uint8_t *q;

	if (used + n > s->queue_max + 65536)
		return false;
	if (s->cap - s->tail >= n)
		return true;
	if (s->head) {
		memmove(s->q, s->q + s->head, used);
		s->head = 0;
		s->tail = used;
		if (s->cap - s->tail >= n)
			return true;
	}
	want = s->cap ? s->cap : 65536;
	while (want - s->tail < n)
		want *= 2;
	q = realloc(s->q, want);
	if (!q)
		return false;
	s->q = q;
	s->cap = want;
	return true;
}

uint8_t *sl_tls_stream_reserve(struct sl_tls_stream *s, size_t max)
{
	size_t hdr = s->byte_stream ? 0 : MSG_HDR;

	if (s->state != ST_OPEN || s->freed || max > 0x7fffffff)
		return NULL;
	if (s->tail - s->head > s->queue_max || !queue_room(s, hdr + max))
		return NULL;
	s->reserved = max;
	return s->q + s->tail + hdr;
}

void sl_tls_stream_commit(struct sl_tls_stream *s, size_t len)
{
	uint32_t n = (uint32_t)len;

	if (!s->reserved || len > s->reserved)
		return;
	s->reserved = 0;
	if (s->byte_stream) {
		/* Written when the loop next finds the socket writable: a burst shares records. */
		s->tail += len;
	} else {
		memcpy(s->q + s->tail, &n, MSG_HDR);
		s->tail += MSG_HDR + len;
		flush_out(s);
	}
	update_events(s);
}

void sl_tls_stream_flush(struct sl_tls_stream *s)
{
	if (s->state != ST_OPEN || s->freed)
		return;
	flush_out(s);
	update_events(s);
}

int sl_tls_stream_send2(struct sl_tls_stream *s, const void *a, size_t an, const void *b, size_t bn)
{
	uint8_t *p;

	if (s->state != ST_OPEN || s->freed)
		return -ENOTCONN;
	if (an + bn > 0xffffff)
		return -EMSGSIZE;
	p = sl_tls_stream_reserve(s, an + bn);
	if (!p)
		return -ENOBUFS;
	if (an)
		memcpy(p, a, an);
	if (bn)
		memcpy(p + an, b, bn);
	sl_tls_stream_commit(s, an + bn);
	return 0;
}

/*
 * Write what is queued until the socket would block: one SSL_write per
 * message, or (byte stream) chunks that may be written in part.
 */
static void flush_out(struct sl_tls_stream *s)
{
	char buf[128];

	s->write_wants_read = false;
	while (s->state == ST_OPEN && s->head < s->tail) {
		size_t hdr = s->byte_stream ? 0 : MSG_HDR;
		uint32_t n;
		int r, err;

		if (s->byte_stream)
			n = s->tail - s->head < WRITE_CHUNK ? (uint32_t)(s->tail - s->head)
							    : WRITE_CHUNK;
		else
			memcpy(&n, s->q + s->head, MSG_HDR);
		if (n == 0) {
			s->head += hdr;
			continue;
		}
		ERR_clear_error();
		r = SSL_write(s->ssl, s->q + s->head + hdr, (int)n);
		if (r > 0) {
			s->head +=
				hdr + (size_t)r; /* r < n only for a byte stream's partial write */
			continue;
		}
		err = SSL_get_error(s->ssl, r);
		if (err == SSL_ERROR_WANT_WRITE)
			break;
		if (err == SSL_ERROR_WANT_READ) {
			s->write_wants_read = true;
			break;
		}
		if (!s->freed)
			stream_close(s, ssl_failure(s, r, err, buf, sizeof(buf)));
		return;
	}
	if (s->head == s->tail)
		s->head = s->tail = 0;
}

/* ---- input and handshake -------------------------------------------------------------- */

static void read_in(struct sl_tls_stream *s)
{
	char buf[128];

	s->read_wants_write = false;
	/* Bounded per wake-up for fairness (the socket stays readable, level-triggered), but
	 * never leaving bytes OpenSSL already holds: the socket would not wake us for them. */
	for (int i = 0;
	     (i < READS_PER_WAKE || SSL_has_pending(s->ssl)) && s->state == ST_OPEN && !s->freed;
	     i++) {
		size_t room = sizeof(s->rbuf);
		uint8_t *dst = s->ops->read_space ? s->ops->read_space(s, s->arg, &room) : NULL;
		int r, err;

		if (!dst) {
			dst = s->rbuf;
			room = sizeof(s->rbuf);
		}
		ERR_clear_error();
		r = SSL_read(s->ssl, dst, room > 0x7fffffff ? 0x7fffffff : (int)room);
		if (r > 0) {
			s->ops->on_data(s, s->arg, dst, (size_t)r);
			continue;
		}
		err = SSL_get_error(s->ssl, r);
		if (err == SSL_ERROR_WANT_READ)
			return;
		if (err == SSL_ERROR_WANT_WRITE) {
			s->read_wants_write = true;
			return;
		}
		stream_close(s, ssl_failure(s, r, err, buf, sizeof(buf)));
		return;
	}
}

static void handshake(struct sl_tls_stream *s)
{
	char buf[160];
	int r, err;

	ERR_clear_error();
	r = SSL_do_handshake(s->ssl);
	if (r == 1) {
		s->state = ST_OPEN;
		s->events = 0; /* recomputed below */
		s->ops->on_open(s, s->arg);
		return;
	}
	err = SSL_get_error(s->ssl, r);
	if (err == SSL_ERROR_WANT_READ) {
		s->events = SL_EV_READ;
	} else if (err == SSL_ERROR_WANT_WRITE) {
		s->events = SL_EV_READ | SL_EV_WRITE;
	} else {
		stream_close(s, ssl_failure(s, r, err, buf, sizeof(buf)));
		return;
	}
	sl_loop_mod_fd(s->loop, s->fd, s->events);
}

static void on_connected(struct sl_tls_stream *s)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	if (soerr == EINPROGRESS || soerr == EALREADY)
		return;
	if (soerr) {
		s->ssl_failed = true; /* nothing to say close_notify to */
		stream_close(s, strerror(soerr));
		return;
	}
	s->state = ST_HANDSHAKE;
	s->connected = true;
}

static void on_io(struct sl_loop *loop, int fd, uint32_t events, void *arg)
{
	struct sl_tls_stream *s = arg;

	hold(s);
	if (s->state == ST_CONNECTING && !s->freed)
		on_connected(s);
	if (s->state == ST_HANDSHAKE && !s->freed)
		handshake(s);
	if (s->state == ST_OPEN && !s->freed) {
		read_in(s);
		if (s->state == ST_OPEN && !s->freed)
			flush_out(s);
		if (s->state == ST_OPEN && !s->freed && s->write_wants_read &&
		    (events & SL_EV_READ))
			flush_out(s);
	}
	update_events(s);
	unhold(s);
}

SSL *sl_tls_stream_ssl(struct sl_tls_stream *s)
{
	return s->ssl;
}

bool sl_tls_stream_is_open(const struct sl_tls_stream *s)
{
	return s->state == ST_OPEN && !s->freed;
}

size_t sl_tls_stream_queued(const struct sl_tls_stream *s)
{
	return s->tail - s->head;
}

bool sl_tls_stream_connected(const struct sl_tls_stream *s)
{
	return s->connected;
}
