/* SPDX-License-Identifier: MIT */
/*
 * One native-protocol connection: TLS 1.3 over a non-blocking TCP socket on
 * the loop, carrying frames (frame.h), on a byte-stream io/tls_stream
 * (which knows about SSL_ERROR_WANT_READ / WANT_WRITE and partial writes).
 * Here are the framing and the liveness rules:
 *   - connect + TLS handshake + the first protocol frame within 10 s
 *     (the owner says when with sl_tlsconn_established);
 *   - a PING when nothing was sent for 10 s (PINGs are answered here);
 *   - closed when nothing was received for 30 s.
 * Outgoing frames are queued (bounded) and written when the socket is
 * writable, so a burst of frames leaves in few TLS records.
 *
 * OpenSSL writes to the socket with write(2): the process must ignore
 * SIGPIPE (cmd_up does), or a peer that vanishes kills it.
 */
#ifndef SL_CTL_NATIVE_TLSCONN_H
#define SL_CTL_NATIVE_TLSCONN_H

#include "core/loop.h"
#include "ctl/native/frame.h"
#include "ctl/native/tlsctx.h"

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SL_TLSCONN_HANDSHAKE_S 10
#define SL_TLSCONN_PING_S      10
#define SL_TLSCONN_DEAD_S      30
/* DATA frames beyond this much queued output are refused (-ENOBUFS); control frames get 1 MiB more.
 */
#define SL_TLSCONN_QUEUE_MAX (4u << 20)

struct sl_tlsconn;

/* How far a connection got before it ended (for the owner's log line). */
enum sl_tlsconn_phase {
	SL_TLSCONN_CONNECTING, /* TCP connect failed */
	SL_TLSCONN_HANDSHAKE,  /* TLS, or the protocol's first frame, did not complete */
	SL_TLSCONN_ESTABLISHED,
};

struct sl_tlsconn_ops {
	/* The TLS handshake is done (ALPN checked). */
	void (*on_open)(struct sl_tlsconn *c, void *arg);
	/* One frame other than PING/PONG; payload valid during the call. */
	void (*on_frame)(struct sl_tlsconn *c, void *arg, const struct sl_nframe *f);
	/*
	 * The connection is over (called at most once; reason is one short phrase,
	 * e.g. "certificate verify failed", "closed by peer"). The owner must
	 * sl_tlsconn_free it (here is fine).
	 */
	void (*on_close)(struct sl_tlsconn *c, void *arg, enum sl_tlsconn_phase phase,
			 const char *reason);
};

/*
 * Take over fd (non-blocking TCP; connecting: a connect() in progress) and
 * start the handshake. peer: the other end's address, for logs. 0 or -errno
 * (fd is closed on failure too).
 */
int sl_tlsconn_new(struct sl_tlsconn **out, struct sl_loop *loop, SSL_CTX *ctx, int fd, bool server,
		   bool connecting, const struct sockaddr_storage *peer,
		   const struct sl_tlsconn_ops *ops, void *arg);
/*
 * Flush what is queued (best effort, never blocks), say close_notify, close.
 * Safe from inside any of the ops callbacks (then done when it returns).
 */
void sl_tlsconn_free(struct sl_tlsconn *c);

/* Replace the SL_TLSCONN_HANDSHAKE_S deadline (counted from sl_tlsconn_new) by seconds. */
void sl_tlsconn_set_handshake_deadline(struct sl_tlsconn *c, unsigned seconds);

/* Queue one frame. 0, -EMSGSIZE (len > 65535), -ENOBUFS (queue full), -ENOTCONN. */
int sl_tlsconn_send(struct sl_tlsconn *c, uint8_t type, const void *payload, size_t len);
/* Write queued frames now, as far as the socket takes them without blocking. */
void sl_tlsconn_flush(struct sl_tlsconn *c);
/* The protocol's own handshake is done: the 10 s deadline no longer applies. */
void sl_tlsconn_established(struct sl_tlsconn *c);

SSL *sl_tlsconn_ssl(struct sl_tlsconn *c);
/* "198.18.0.2:41234" */
const char *sl_tlsconn_peer_name(const struct sl_tlsconn *c);
const struct sockaddr_storage *sl_tlsconn_peer_addr(const struct sl_tlsconn *c);
size_t sl_tlsconn_queued(const struct sl_tlsconn *c);

#endif
