/* SPDX-License-Identifier: MIT */
/*
 * A non-blocking TLS connection on the loop that keeps message boundaries
 * on the way out: every message queued is written with one SSL_write, so it
 * leaves in its own TLS record(s). Peers that read one packet per record
 * (openconnect's PPP over TLS in RFC 1661 framing, AnyConnect's CSTP) need
 * that. Incoming bytes go to the owner as SSL_read returns them (at most
 * one record per call).
 *
 * Messages can be queued by copy (sl_tls_stream_send) or built in place:
 * sl_tls_stream_reserve gives room for the largest message, the owner
 * writes into it and sl_tls_stream_commit shrinks it to the real length
 * (the allocate-max/shrink-last shape HDLC framing needs).
 *
 * A protocol that frames its own messages (sluice's native frames) turns
 * boundaries off with sl_tls_stream_set_byte_stream: queued bytes then
 * leave when the socket is next writable, in writes of up to 64 KiB, so a
 * burst shares TLS records.
 *
 * OpenSSL writes to the socket with write(2): the process must ignore SIGPIPE.
 */
#ifndef SL_IO_TLS_STREAM_H
#define SL_IO_TLS_STREAM_H

#include "core/loop.h"

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Queued bytes beyond this are refused (-ENOBUFS); the caller counts the drop. */
#define SL_TLS_STREAM_QUEUE_MAX (4u << 20)

struct sl_tls_stream;

struct sl_tls_stream_ops {
	/* The TLS handshake is done. */
	void (*on_open)(struct sl_tls_stream *s, void *arg);
	/* Bytes from one SSL_read; valid during the call. */
	void (*on_data)(struct sl_tls_stream *s, void *arg, uint8_t *b, size_t n);
	/* The connection is over (at most once). The owner frees it (here is fine). */
	void (*on_close)(struct sl_tls_stream *s, void *arg, const char *reason);
	/*
	 * Optional: where the next SSL_read goes (room bytes at the result), so a
	 * reader with its own buffer gets the bytes without a copy; on_data then
	 * points into it. NULL (the op or its result): the stream's own buffer.
	 */
	uint8_t *(*read_space)(struct sl_tls_stream *s, void *arg, size_t *room);
};

/*
 * Take over ssl (its fd set, connect or accept state chosen) and fd (non-
 * blocking; connecting: a connect() in progress) and start the handshake.
 * 0 or -errno; on failure ssl is freed and fd closed.
 */
int sl_tls_stream_new(struct sl_tls_stream **out, struct sl_loop *loop, SSL *ssl, int fd,
		      bool connecting, const struct sl_tls_stream_ops *ops, void *arg);
/* Flush what fits without blocking, send close_notify, close. Safe inside callbacks. */
void sl_tls_stream_free(struct sl_tls_stream *s);
/* Close without flushing or close_notify: for a peer that is stuck or misbehaving. */
void sl_tls_stream_abort(struct sl_tls_stream *s);
/* No message boundaries from here on (see above); queue_max replaces SL_TLS_STREAM_QUEUE_MAX. */
void sl_tls_stream_set_byte_stream(struct sl_tls_stream *s, size_t queue_max);
/* Write what is queued now, as far as the socket takes it without blocking. */
void sl_tls_stream_flush(struct sl_tls_stream *s);

/* Queue one message (copy of a || b). 0, -ENOBUFS (queue full), -ENOTCONN, -EMSGSIZE. */
int sl_tls_stream_send2(struct sl_tls_stream *s, const void *a, size_t an, const void *b,
			size_t bn);
static inline int sl_tls_stream_send(struct sl_tls_stream *s, const void *m, size_t n)
{
	return sl_tls_stream_send2(s, m, n, NULL, 0);
}
/* Room for one message of up to max bytes at the queue's end, or NULL (full, not open). */
uint8_t *sl_tls_stream_reserve(struct sl_tls_stream *s, size_t max);
/* Queue the reserved message with its real length (<= max). */
void sl_tls_stream_commit(struct sl_tls_stream *s, size_t len);

SSL *sl_tls_stream_ssl(struct sl_tls_stream *s);
bool sl_tls_stream_is_open(const struct sl_tls_stream *s);
size_t sl_tls_stream_queued(const struct sl_tls_stream *s);
/* The TCP connection was made (false: it was still connecting, or failed to). */
bool sl_tls_stream_connected(const struct sl_tls_stream *s);

#endif
