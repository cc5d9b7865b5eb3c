// SPDX-License-Identifier: MIT
/* AnyConnect DTLS (PSK-NEGOTIATE) with OpenSSL: handshake, records, DPD, fallback and return. */
#include "ctl/anyconnect/dtls.h"

#include "core/log.h"
#include "proto/cstp.h"

#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PSK_LABEL	"EXPORTER-openconnect-psk"
#define PSK_LEN		32
#define DPD_EVERY_S	1
#define DEAD_AFTER_S	3
#define HANDSHAKE_S	3
#define RETRY_EVERY_S	10
#define FIRST_RETRIES_S 1
/* ocserv keeps a silent DTLS session and switches back on the first record it gets
 * (worker-vpn.c udp_state), so probing the old session is the way back; a new
 * handshake only after long. */
#define REHANDSHAKE_DOWN_S 60
#define RECORD_MAX	   (16384 + 1)
#define READS_PER_WAKE	   64

enum dstate { D_HANDSHAKE, D_UP, D_DOWN, D_IDLE };

struct sl_ac_dtls {
	struct sl_loop *loop;
	struct sockaddr_storage peer;
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;
	enum dstate state;
	uint8_t psk[PSK_LEN];
	uint8_t app_id[32];
	size_t app_id_len;
	sl_time_ns since, last_rx, last_dpd;
	sl_ac_dtls_packet_fn on_packet;
	sl_ac_dtls_state_fn on_state;
	void *arg;
	uint64_t rx, tx, handshakes;
	uint8_t buf[RECORD_MAX + 64];
};

static unsigned int psk_cb(SSL *ssl, const char *hint, char *identity, unsigned int max_id,
			   unsigned char *psk, unsigned int max_psk)
{
	struct sl_ac_dtls *d = SSL_get_app_data(ssl);

	if (!d || max_id < 4 || max_psk < PSK_LEN)
		return 0;
	memcpy(identity, "psk", 4);
	memcpy(psk, d->psk, PSK_LEN);
	return PSK_LEN;
}

static void set_state(struct sl_ac_dtls *d, enum dstate s)
{
	bool was_up = d->state == D_UP;

	d->state = s;
	d->since = sl_loop_now(d->loop);
	if (was_up != (s == D_UP))
		d->on_state(d->arg, s == D_UP);
}

static void drop_ssl(struct sl_ac_dtls *d)
{
	if (d->ssl)
		SSL_free(d->ssl); /* also the BIO, not the fd */
	d->ssl = NULL;
}

static void on_readable(struct sl_loop *loop, int fd, uint32_t events, void *arg);

/* A session whose id is the App-ID, so the ClientHello carries it (never really resumed). */
static int set_app_id_session(struct sl_ac_dtls *d)
{
	static const unsigned char aes128_sha[2] = {0x00, 0x2f};
	const SSL_CIPHER *ciph = SSL_CIPHER_find(d->ssl, aes128_sha);
	SSL_SESSION *s = SSL_SESSION_new();
	uint8_t key[48];
	int ok;

	if (!s || !ciph || RAND_bytes(key, sizeof(key)) != 1) {
		SSL_SESSION_free(s);
		return -ENOMEM;
	}
	ok = SSL_SESSION_set1_id(s, d->app_id, (unsigned int)d->app_id_len) &&
	     SSL_SESSION_set1_master_key(s, key, sizeof(key)) &&
	     SSL_SESSION_set_protocol_version(s, DTLS1_2_VERSION) &&
	     SSL_SESSION_set_cipher(s, ciph) && SSL_set_session(d->ssl, s);
	OPENSSL_cleanse(key, sizeof(key));
	SSL_SESSION_free(s);
	return ok ? 0 : -EINVAL;
}

/*
 * A new UDP socket (a new source port) for every handshake: ocserv routes
 * datagrams by address and port, and one that already belongs to a session
 * it finished does not take a new ClientHello.
 */
static int open_socket(struct sl_ac_dtls *d)
{
	socklen_t len = d->peer.ss_family == AF_INET ? sizeof(struct sockaddr_in)
						     : sizeof(struct sockaddr_in6);

	if (d->fd >= 0) {
		sl_loop_del_fd(d->loop, d->fd);
		close(d->fd);
	}
	d->fd = socket(d->peer.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->fd < 0)
		return -errno;
	if (connect(d->fd, (struct sockaddr *)&d->peer, len) < 0 ||
	    sl_loop_add_fd(d->loop, d->fd, SL_EV_READ, on_readable, d) < 0) {
		close(d->fd);
		d->fd = -1;
		return -EIO;
	}
	return 0;
}

static int start_handshake(struct sl_ac_dtls *d)
{
	BIO *bio;

	drop_ssl(d);
	if (open_socket(d) < 0) {
		set_state(d, D_IDLE);
		return -EIO;
	}
	d->ssl = SSL_new(d->ctx);
	if (!d->ssl)
		return -ENOMEM;
	SSL_set_app_data(d->ssl, d);
	SSL_set_connect_state(d->ssl);
	if (d->app_id_len && set_app_id_session(d) < 0)
		sl_debug("anyconnect: DTLS: cannot put the App-ID in the ClientHello");
	bio = BIO_new_dgram(d->fd, BIO_NOCLOSE);
	if (!bio) {
		drop_ssl(d);
		return -ENOMEM;
	}
	BIO_ctrl(bio, BIO_CTRL_DGRAM_SET_CONNECTED, 0, &d->peer);
	SSL_set_bio(d->ssl, bio, bio);
	SSL_set_options(d->ssl, SSL_OP_NO_QUERY_MTU);
	DTLS_set_link_mtu(d->ssl, 1500);
	d->handshakes++;
	set_state(d, D_HANDSHAKE);
	ERR_clear_error();
	SSL_do_handshake(d->ssl);
	return 0;
}

static void on_record(struct sl_ac_dtls *d, const uint8_t *b, size_t n)
{
	if (n < 1)
		return;
	d->last_rx = sl_loop_now(d->loop);
	if (d->state == D_DOWN) {
		sl_info("anyconnect: DTLS answers again");
		set_state(d, D_UP);
	}
	switch (b[0]) {
	case SL_CSTP_DATA:
		d->rx++;
		d->on_packet(d->arg, b + 1, n - 1);
		break;
	case SL_CSTP_DPD_REQ:
		sl_ac_dtls_send(d, SL_CSTP_DPD_RESP, b + 1, n - 1);
		break;
	default: /* DPD_RESP, KEEPALIVE: liveness only */
		break;
	}
}

static void on_readable(struct sl_loop *loop, int fd, uint32_t events, void *arg)
{
	struct sl_ac_dtls *d = arg;

	if (!d->ssl) {
		recv(fd, d->buf, sizeof(d->buf), MSG_DONTWAIT); /* no session: discard */
		return;
	}
	if (d->state == D_HANDSHAKE) {
		int r;

		ERR_clear_error();
		r = SSL_do_handshake(d->ssl);
		if (r != 1) {
			int e = SSL_get_error(d->ssl, r);

			sl_debug("anyconnect: DTLS handshake step: %d/%d (%s)", r, e,
				 SSL_state_string_long(d->ssl));
			if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
				unsigned long err = ERR_peek_last_error();

				sl_warn("anyconnect: DTLS handshake failed: %s; data stays on CSTP",
					err ? ERR_reason_error_string(err) : "error");
				drop_ssl(d);
				set_state(d, D_IDLE);
			}
			return;
		}
		d->last_rx = sl_loop_now(loop);
		sl_info("anyconnect: DTLS up (%s, %s)", SSL_get_version(d->ssl),
			SSL_get_cipher_name(d->ssl));
		set_state(d, D_UP);
	}
	for (int i = 0; i < READS_PER_WAKE && d->ssl; i++) {
		int r;

		ERR_clear_error();
		r = SSL_read(d->ssl, d->buf, sizeof(d->buf));
		if (r > 0) {
			on_record(d, d->buf, (size_t)r);
			continue;
		}
		if (SSL_get_error(d->ssl, r) != SSL_ERROR_WANT_READ) {
			/* an alert or a broken session: try a fresh one at the next retry */
			sl_warn("anyconnect: DTLS session ended; data over CSTP");
			drop_ssl(d);
			set_state(d, D_IDLE);
		}
		return;
	}
}

void sl_ac_dtls_restart(struct sl_ac_dtls **dp, struct sl_loop *loop,
			const struct sockaddr_storage *server, const struct sl_ac_tunnel_info *info,
			SSL *cstp_ssl, sl_ac_dtls_packet_fn on_packet, sl_ac_dtls_state_fn on_state,
			void *arg)
{
	struct sl_ac_dtls *d;

	sl_ac_dtls_free(*dp);
	*dp = NULL;
	if (!info->dtls_port)
		return;
	if (!info->dtls_psk) {
		sl_warn("anyconnect: the server offers only legacy DTLS (%s): not implemented, "
			"data stays on CSTP",
			info->dtls_cipher[0] ? info->dtls_cipher : "resumed session");
		return;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return;
	d->loop = loop;
	d->on_packet = on_packet;
	d->on_state = on_state;
	d->arg = arg;
	d->fd = -1;
	d->state = D_IDLE;
	d->peer = *server;
	if (server->ss_family == AF_INET)
		((struct sockaddr_in *)&d->peer)->sin_port = htons(info->dtls_port);
	else
		((struct sockaddr_in6 *)&d->peer)->sin6_port = htons(info->dtls_port);
	d->app_id_len = info->dtls_app_id_len > 32 ? 32 : info->dtls_app_id_len;
	memcpy(d->app_id, info->dtls_app_id, d->app_id_len);
	if (SSL_export_keying_material(cstp_ssl, d->psk, PSK_LEN, PSK_LABEL, strlen(PSK_LABEL),
				       NULL, 0, 0) != 1) {
		sl_warn("anyconnect: no TLS exporter for the DTLS PSK: data stays on CSTP");
		free(d);
		return;
	}
	d->ctx = SSL_CTX_new(DTLS_client_method());
	if (!d->ctx || !SSL_CTX_set_min_proto_version(d->ctx, DTLS1_2_VERSION) ||
	    !SSL_CTX_set_cipher_list(d->ctx, "PSK")) {
		sl_warn("anyconnect: cannot set up DTLS: data stays on CSTP");
		sl_ac_dtls_free(d);
		return;
	}
	SSL_CTX_set_psk_client_callback(d->ctx, psk_cb);
	SSL_CTX_set_read_ahead(d->ctx, 1);
	SSL_CTX_set_options(d->ctx, SSL_OP_NO_TICKET);
	*dp = d;
	/* The first ClientHello waits a tick: ocserv's main process routes it by App-ID only once
	 * the worker has registered the session, and drops it before (seen as a lost handshake). */
	d->handshakes = 0;
	d->state = D_IDLE;
	d->since = sl_loop_now(loop) - FIRST_RETRIES_S * SL_SEC + SL_SEC;
}

bool sl_ac_dtls_up(const struct sl_ac_dtls *d)
{
	return d && d->state == D_UP;
}

int sl_ac_dtls_send(struct sl_ac_dtls *d, uint8_t type, const void *payload, size_t len)
{
	uint8_t rec[RECORD_MAX];
	int r;

	if (!d->ssl || (d->state != D_UP && d->state != D_DOWN))
		return -ENOTCONN;
	if (len + 1 > sizeof(rec))
		return -EMSGSIZE;
	rec[0] = type;
	if (len)
		memcpy(rec + 1, payload, len);
	ERR_clear_error();
	r = SSL_write(d->ssl, rec, (int)(len + 1));
	if (r <= 0) {
		int e = SSL_get_error(d->ssl, r);

		ERR_clear_error();
		if (e == SSL_ERROR_WANT_WRITE)
			return -EAGAIN; /* a full socket buffer: this packet goes over CSTP */
		/* refused by the host (a firewall, no route): UDP is down as far as we can tell */
		if (d->state == D_UP) {
			sl_warn("anyconnect: DTLS send failed (%s): data over CSTP",
				strerror(errno));
			set_state(d, D_DOWN);
		}
		return -EIO;
	}
	if (type == SL_CSTP_DATA)
		d->tx++;
	return 0;
}

void sl_ac_dtls_tick(struct sl_ac_dtls *d)
{
	sl_time_ns now = sl_loop_now(d->loop);

	switch (d->state) {
	case D_HANDSHAKE:
		if (DTLSv1_handle_timeout(d->ssl) > 0)
			sl_debug("anyconnect: DTLS handshake flight sent again");
		if (now - d->since >= HANDSHAKE_S * SL_SEC) {
			sl_info("anyconnect: no DTLS handshake in %d s; data over CSTP, trying "
				"again",
				HANDSHAKE_S);
			drop_ssl(d);
			set_state(d, D_IDLE);
		}
		return;
	case D_IDLE:
		if (now - d->since >=
		    (d->handshakes < 8 ? FIRST_RETRIES_S : RETRY_EVERY_S) * SL_SEC)
			start_handshake(d);
		return;
	case D_UP:
		if (now - d->last_rx >= DEAD_AFTER_S * SL_SEC) {
			sl_warn("anyconnect: no DTLS answer for %d s: data over CSTP",
				DEAD_AFTER_S);
			set_state(d, D_DOWN);
		}
		break;
	case D_DOWN:
		if (now - d->since >= REHANDSHAKE_DOWN_S * SL_SEC) {
			start_handshake(d); /* the old session may be gone at the server */
			return;
		}
		break;
	}
	if (now - d->last_rx >= DPD_EVERY_S * SL_SEC)
		sl_ac_dtls_send(d, SL_CSTP_DPD_REQ, NULL, 0);
}

void sl_ac_dtls_free(struct sl_ac_dtls *d)
{
	if (!d)
		return;
	if (d->ssl && d->state == D_UP)
		SSL_shutdown(d->ssl);
	drop_ssl(d);
	if (d->fd >= 0) {
		sl_loop_del_fd(d->loop, d->fd);
		close(d->fd);
	}
	SSL_CTX_free(d->ctx);
	OPENSSL_cleanse(d->psk, sizeof(d->psk));
	sl_info("anyconnect: DTLS data packets sent %llu, received %llu, handshakes %llu",
		(unsigned long long)d->tx, (unsigned long long)d->rx,
		(unsigned long long)d->handshakes);
	free(d);
}
