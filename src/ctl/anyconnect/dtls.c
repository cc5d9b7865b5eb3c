// SPDX-License-Identifier: MIT
/*
 * AnyConnect DTLS (PSK-NEGOTIATE, or legacy resumption): OpenSSL does the
 * handshake on a socket of our own, then the socket and the session's keys go
 * to the engine, whose SL_WIRE_DTLS path seals and opens every data record in
 * place.
 */
#include "ctl/anyconnect/dtls.h"

#include "core/log.h"
#include "ctl/anyconnect/dtls_keys.h"
#include "sluice/engine_dtls.h"

#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PSK_LABEL	"EXPORTER-openconnect-psk"
#define PSK_LEN		32
#define DPD_EVERY_MS	1000
#define DEAD_AFTER_MS	3000
#define HANDSHAKE_S	3
#define RETRY_EVERY_S	10
#define FIRST_RETRIES_S 1
/* ocserv keeps a silent DTLS session and switches back on the first record it gets
 * (worker-vpn.c udp_state), so probing the old session is the way back; a new
 * handshake only after long. */
#define REHANDSHAKE_DOWN_S 60
#define HANDSHAKE_BUF	   2048
/* The AEAD suites the engine's record layer has (dtls_keys.c); with another, data stays on CSTP. */
#define PSK_CIPHERS "PSK-AES256-GCM-SHA384:PSK-AES128-GCM-SHA256:PSK-CHACHA20-POLY1305"

/*
 * D_IDLE: no session, a handshake is due at the next retry. D_HANDSHAKE:
 * OpenSSL on our socket. D_UP and D_DOWN: the engine has the socket and the
 * keys, and its DPD says whether UDP answers (D_UP) or data went back to
 * CSTP (D_DOWN). D_OFF: the server's choice cannot be carried; CSTP only.
 */
enum dstate { D_IDLE, D_HANDSHAKE, D_UP, D_DOWN, D_OFF };

struct sl_ac_dtls {
	struct sl_loop *loop;
	struct sl_engine *engine;
	uint32_t peer_id;
	struct sockaddr_storage peer;
	SSL_CTX *ctx;
	SSL *ssl;
	struct sl_ac_dtls_seq seq; /* OpenSSL's last record numbers, for the handover */
	int fd;
	bool engine_has_fd;
	bool answered; /* this session's DPD has been answered once */
	enum dstate state;
	uint8_t psk[PSK_LEN];
	/* Legacy mode (no PSK-NEGOTIATE): the suite the server chose, and the session it
	 * "resumes": our X-DTLS-Master-Secret under its X-DTLS-Session-ID (in app_id). */
	const char *legacy_suite; /* NULL: PSK-NEGOTIATE */
	uint8_t master[SL_AC_DTLS_SECRET_LEN];
	uint8_t app_id[32];
	size_t app_id_len;
	sl_time_ns since;
	uint64_t handshakes, ignored;
	uint64_t own_rx; /* datagrams read off the socket while it is ours (handshake, discards) */
	uint8_t buf[HANDSHAKE_BUF];
};

static const char *state_name(enum dstate s)
{
	static const char *const names[] = {"idle", "handshake", "up", "down", "off"};

	return names[s];
}

static void set_state(struct sl_ac_dtls *d, enum dstate s)
{
	sl_debug("anyconnect: DTLS %s -> %s", state_name(d->state), state_name(s));
	d->state = s;
	d->since = sl_loop_now(d->loop);
}

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

static void drop_ssl(struct sl_ac_dtls *d)
{
	if (d->ssl)
		SSL_free(d->ssl); /* also the BIO, not the fd; never a close_notify after export */
	d->ssl = NULL;
}

/* Take the socket and keys back from the engine (data goes over CSTP meanwhile). */
static void take_back(struct sl_ac_dtls *d)
{
	if (d->engine_has_fd) {
		sl_engine_udp_detach(d->engine, d->fd);
		d->engine_has_fd = false;
		sl_peer_set_keepalive(d->engine, d->peer_id, 0, DEAD_AFTER_MS);
		sl_key_del(d->engine, d->peer_id, SL_KEY_PRIMARY);
	} else if (d->fd >= 0) {
		sl_loop_del_fd(d->loop, d->fd);
	}
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

static void on_readable(struct sl_loop *loop, int fd, uint32_t events, void *arg);

/*
 * The session the ClientHello offers to resume. PSK-NEGOTIATE: a session
 * whose id is the App-ID, so the server finds the CSTP session, with a random
 * key (never really resumed: the PSK handshake is a full one). Legacy: the
 * session the server made from our X-DTLS-Master-Secret under its
 * X-DTLS-Session-ID, with its suite; the handshake is an abbreviated one.
 */
static int set_offered_session(struct sl_ac_dtls *d)
{
	static const unsigned char aes128_gcm[2] = {0x00, 0xa8}; /* PSK-AES128-GCM-SHA256 */
	const SSL_CIPHER *ciph = NULL;
	SSL_SESSION *s = SSL_SESSION_new();
	uint8_t key[SL_AC_DTLS_SECRET_LEN];
	int ok;

	if (d->legacy_suite) {
		STACK_OF(SSL_CIPHER) *all = SSL_get_ciphers(d->ssl);

		for (int i = 0; all && i < sk_SSL_CIPHER_num(all) && !ciph; i++)
			if (!strcmp(SSL_CIPHER_get_name(sk_SSL_CIPHER_value(all, i)),
				    d->legacy_suite))
				ciph = sk_SSL_CIPHER_value(all, i);
		memcpy(key, d->master, sizeof(key));
	} else {
		ciph = SSL_CIPHER_find(d->ssl, aes128_gcm);
		if (RAND_bytes(key, sizeof(key)) != 1)
			ciph = NULL;
	}
	if (!s || !ciph) {
		SSL_SESSION_free(s);
		OPENSSL_cleanse(key, sizeof(key));
		return -ENOENT;
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

	take_back(d);
	d->fd = socket(d->peer.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->fd < 0)
		return -errno;
	/* As the engine's own sockets: a large receive queue (capped at rmem_max), and the
	 * kernel's count of datagrams dropped at a full one, which the engine adds to its
	 * overflow drops once it has the socket. */
	(void)setsockopt(d->fd, SOL_SOCKET, SO_RCVBUF, &(int){4 << 20}, sizeof(int));
	(void)setsockopt(d->fd, SOL_SOCKET, SO_RXQ_OVFL, &(int){1}, sizeof(int));
	if (connect(d->fd, (struct sockaddr *)&d->peer, len) < 0 ||
	    sl_loop_add_fd(d->loop, d->fd, SL_EV_READ, on_readable, d) < 0) {
		close(d->fd);
		d->fd = -1;
		return -EIO;
	}
	return 0;
}

/* Counts every datagram OpenSSL reads off our socket, so that the datagrams the socket got
 * can be accounted for: OpenSSL's (the handshake), then the engine's. */
static long count_reads(BIO *b, int oper, const char *argp, size_t len, int argi, long argl,
			int ret, size_t *processed)
{
	struct sl_ac_dtls *d = (struct sl_ac_dtls *)BIO_get_callback_arg(b);

	(void)argp, (void)len, (void)argi, (void)argl;
	if (d && oper == (BIO_CB_READ | BIO_CB_RETURN) && ret > 0 && processed && *processed)
		d->own_rx++;
	return ret;
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
	if (!d->ssl) {
		take_back(d);
		set_state(d, D_IDLE);
		return -ENOMEM;
	}
	SSL_set_app_data(d->ssl, d);
	SSL_set_connect_state(d->ssl);
	memset(&d->seq, 0, sizeof(d->seq));
	sl_ac_dtls_seq_track(d->ssl, &d->seq);
	if ((d->app_id_len || d->legacy_suite) && set_offered_session(d) < 0) {
		if (d->legacy_suite) {
			sl_warn("anyconnect: DTLS: cannot make the legacy session (%s): data stays "
				"on CSTP",
				d->legacy_suite);
			drop_ssl(d);
			take_back(d);
			set_state(d, D_OFF);
			return -EINVAL;
		}
		sl_debug("anyconnect: DTLS: cannot put the App-ID in the ClientHello");
	}
	bio = BIO_new_dgram(d->fd, BIO_NOCLOSE);
	if (!bio) {
		drop_ssl(d);
		take_back(d);
		set_state(d, D_IDLE);
		return -ENOMEM;
	}
	BIO_ctrl(bio, BIO_CTRL_DGRAM_SET_CONNECTED, 0, &d->peer);
	BIO_set_callback_arg(bio, (char *)d);
	BIO_set_callback_ex(bio, count_reads);
	SSL_set_bio(d->ssl, bio, bio);
	SSL_set_options(d->ssl, SSL_OP_NO_QUERY_MTU);
	DTLS_set_link_mtu(d->ssl, 1500);
	d->handshakes++;
	set_state(d, D_HANDSHAKE);
	ERR_clear_error();
	SSL_do_handshake(d->ssl);
	return 0;
}

/*
 * The handshake is done: the keys and the socket go to the engine, and
 * OpenSSL never writes on this session again (its next record would reuse
 * the engine's sequence numbers). 0, or -errno with data left on CSTP.
 */
static int hand_over(struct sl_ac_dtls *d)
{
	struct sl_dtls_key_pair kp;
	struct sl_peer_stats st;
	socklen_t len = d->peer.ss_family == AF_INET ? sizeof(struct sockaddr_in)
						     : sizeof(struct sockaddr_in6);
	int r = sl_ac_dtls_key_pair(d->ssl, &d->seq, &kp);

	if (r == 0)
		r = sl_peer_set_endpoint(d->engine, d->peer_id, (const struct sockaddr *)&d->peer,
					 len);
	if (r == 0)
		r = sl_key_set_dtls(d->engine, d->peer_id, SL_KEY_PRIMARY, &kp);
	OPENSSL_cleanse(&kp, sizeof(kp));
	if (r < 0)
		return r;
	sl_loop_del_fd(d->loop, d->fd);
	r = sl_engine_udp_attach(d->engine, d->fd);
	if (r < 0) {
		sl_key_del(d->engine, d->peer_id, SL_KEY_PRIMARY);
		sl_loop_add_fd(d->loop, d->fd, SL_EV_READ, on_readable, d);
		return r;
	}
	d->engine_has_fd = true;
	sl_info("anyconnect: DTLS up (%s, %s%s): records sealed and opened in place by the engine",
		SSL_get_version(d->ssl), SSL_get_cipher_name(d->ssl),
		d->legacy_suite ? ", legacy: the server's session resumed" : "");
	drop_ssl(d);
	/* the engine probes at once (a fresh key) and every second; 3 s unanswered: CSTP */
	sl_peer_set_keepalive(d->engine, d->peer_id, DPD_EVERY_MS, DEAD_AFTER_MS);
	/* A peer with a stream is on it until the first DPD answer, which proves that UDP
	 * works both ways (timers.c): then data moves, and sl_ac_dtls_on_event says so. */
	d->answered = false;
	if (sl_peer_stats(d->engine, d->peer_id, &st) == 0 && st.transport == SL_TRANSPORT_UDP) {
		sl_info("anyconnect: data now over DTLS");
		d->answered = true;
		set_state(d, D_UP);
	} else {
		set_state(d, D_DOWN);
	}
	return 0;
}

static void on_readable(struct sl_loop *loop, int fd, uint32_t events, void *arg)
{
	struct sl_ac_dtls *d = arg;
	int r, e;

	if (d->state != D_HANDSHAKE || !d->ssl) {
		if (recv(fd, d->buf, sizeof(d->buf), MSG_DONTWAIT) >= 0) /* no handshake: discard */
			d->own_rx++;
		return;
	}
	ERR_clear_error();
	r = SSL_do_handshake(d->ssl);
	if (r == 1) {
		r = hand_over(d);
		if (r < 0) {
			sl_warn("anyconnect: DTLS session (%s) cannot be carried by the engine "
				"(%s): data stays on CSTP",
				SSL_get_cipher_name(d->ssl), strerror(-r));
			take_back(d);
			drop_ssl(d);
			set_state(d, D_OFF);
		}
		return;
	}
	e = SSL_get_error(d->ssl, r);
	sl_debug("anyconnect: DTLS handshake step: %d/%d (%s)", r, e,
		 SSL_state_string_long(d->ssl));
	if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
		unsigned long err = ERR_peek_last_error();

		sl_warn("anyconnect: DTLS handshake failed: %s; data stays on CSTP",
			err ? ERR_reason_error_string(err) : "error");
		drop_ssl(d);
		take_back(d);
		set_state(d, D_IDLE);
	}
}

const char *sl_ac_dtls_legacy_suite(const char *chosen)
{
	static const char *const map[][2] = {
		{"OC-DTLS1_2-AES128-GCM", "AES128-GCM-SHA256"},
		{"OC-DTLS1_2-AES256-GCM", "AES256-GCM-SHA384"},
		{"AES128-GCM-SHA256", "AES128-GCM-SHA256"}, /* as X-DTLS12-CipherSuite names them */
		{"AES256-GCM-SHA384", "AES256-GCM-SHA384"},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(chosen, map[i][0]))
			return map[i][1];
	return NULL;
}

/* The context for one mode: PSK-NEGOTIATE's AEAD suites, or the one legacy suite. */
static int make_ctx(struct sl_ac_dtls *d)
{
	d->ctx = SSL_CTX_new(DTLS_client_method());
	if (!d->ctx || !SSL_CTX_set_min_proto_version(d->ctx, DTLS1_2_VERSION) ||
	    !SSL_CTX_set_max_proto_version(d->ctx, DTLS1_2_VERSION) ||
	    !SSL_CTX_set_cipher_list(d->ctx, d->legacy_suite ? d->legacy_suite : PSK_CIPHERS))
		return -EINVAL;
	if (d->legacy_suite)
		/* The resumed session never had these extensions: offering them would make the
		 * server insist on a full handshake, which legacy mode cannot do (RFC 7627 5.3);
		 * openconnect and ocserv turn them off too. ocserv also leaves out the
		 * renegotiation_info extension (%DISABLE_SAFE_RENEGOTIATION), which OpenSSL 3
		 * refuses unless told: this session is never renegotiated, so nothing is lost. */
		SSL_CTX_set_options(d->ctx, SSL_OP_NO_EXTENDED_MASTER_SECRET |
						    SSL_OP_NO_ENCRYPT_THEN_MAC |
						    SSL_OP_LEGACY_SERVER_CONNECT);
	else
		SSL_CTX_set_psk_client_callback(d->ctx, psk_cb);
	SSL_CTX_set_read_ahead(d->ctx, 1);
	SSL_CTX_set_options(d->ctx, SSL_OP_NO_TICKET);
	return 0;
}

void sl_ac_dtls_restart(struct sl_ac_dtls **dp, struct sl_loop *loop, struct sl_engine *engine,
			uint32_t peer_id, const struct sockaddr_storage *server,
			const struct sl_ac_tunnel_info *info, SSL *cstp_ssl,
			const uint8_t master[SL_AC_DTLS_SECRET_LEN])
{
	const char *legacy = NULL;
	struct sl_ac_dtls *d;

	sl_ac_dtls_free(*dp);
	*dp = NULL;
	if (!info->dtls_port)
		return;
	if (!info->dtls_psk) {
		legacy = sl_ac_dtls_legacy_suite(info->dtls_cipher);
		if (!legacy || !info->dtls_app_id_len) {
			sl_warn("anyconnect: the server chose legacy DTLS with %s%s: not "
				"implemented (only the AES-GCM suites of DTLS 1.2), data stays on "
				"CSTP",
				info->dtls_cipher[0] ? info->dtls_cipher : "no suite",
				info->dtls_app_id_len ? "" : " and no session id");
			return;
		}
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return;
	d->loop = loop;
	d->engine = engine;
	d->peer_id = peer_id;
	d->fd = -1;
	d->state = D_IDLE;
	d->peer = *server;
	d->legacy_suite = legacy;
	if (server->ss_family == AF_INET)
		((struct sockaddr_in *)&d->peer)->sin_port = htons(info->dtls_port);
	else
		((struct sockaddr_in6 *)&d->peer)->sin6_port = htons(info->dtls_port);
	d->app_id_len = info->dtls_app_id_len > 32 ? 32 : info->dtls_app_id_len;
	memcpy(d->app_id, info->dtls_app_id, d->app_id_len);
	if (legacy) {
		memcpy(d->master, master, sizeof(d->master));
	} else if (SSL_export_keying_material(cstp_ssl, d->psk, PSK_LEN, PSK_LABEL,
					      strlen(PSK_LABEL), NULL, 0, 0) != 1) {
		sl_warn("anyconnect: no TLS exporter for the DTLS PSK: data stays on CSTP");
		free(d);
		return;
	}
	if (make_ctx(d) < 0) {
		sl_warn("anyconnect: cannot set up DTLS: data stays on CSTP");
		sl_ac_dtls_free(d);
		return;
	}
	*dp = d;
	/* The first ClientHello waits a tick: ocserv's main process routes it by App-ID only once
	 * the worker has registered the session, and drops it before (seen as a lost handshake). */
	d->since = sl_loop_now(loop) - FIRST_RETRIES_S * SL_SEC + SL_SEC;
}

bool sl_ac_dtls_up(const struct sl_ac_dtls *d)
{
	return d && d->state == D_UP;
}

void sl_ac_dtls_on_event(struct sl_ac_dtls *d, const struct sl_event *ev)
{
	if (!d || ev->peer_id != d->peer_id)
		return;
	if (ev->type == SL_EVENT_PEER_SILENT && d->state == D_UP) {
		sl_warn("anyconnect: no DTLS answer for %d s: data now over CSTP (TLS)",
			DEAD_AFTER_MS / 1000);
		set_state(d, D_DOWN);
	} else if (ev->type == SL_EVENT_PEER_UDP_OK && d->state == D_DOWN) {
		sl_info("anyconnect: %sdata now over DTLS",
			d->answered ? "DTLS answers again: " : "");
		d->answered = true;
		set_state(d, D_UP);
	}
}

void sl_ac_dtls_on_udp(struct sl_ac_dtls *d, const uint8_t *b, size_t n)
{
	if (!d || !n)
		return;
	if (b[0] == 21) { /* an alert (of the session's epoch: close_notify, a fatal one) */
		sl_warn("anyconnect: the server ended the DTLS session: data over CSTP, "
			"a new handshake in %d s",
			FIRST_RETRIES_S);
		take_back(d);
		set_state(d, D_IDLE);
		return;
	}
	/* opened Cisco messages other than data and DPD (keepalive, ...) and stray handshake
	 * records: liveness only */
	d->ignored++;
	sl_debug("anyconnect: DTLS: %s %u ignored", b[0] < 16 ? "message type" : "record type",
		 b[0]);
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
			take_back(d);
			set_state(d, D_IDLE);
		}
		return;
	case D_IDLE:
		if (now - d->since >=
		    (d->handshakes < 8 ? FIRST_RETRIES_S : RETRY_EVERY_S) * SL_SEC)
			start_handshake(d);
		return;
	case D_DOWN:
		if (now - d->since >= REHANDSHAKE_DOWN_S * SL_SEC)
			start_handshake(d); /* the old session may be gone at the server */
		return;
	case D_UP:
	case D_OFF:
		return;
	}
}

void sl_ac_dtls_free(struct sl_ac_dtls *d)
{
	if (!d)
		return;
	drop_ssl(d);
	take_back(d);
	SSL_CTX_free(d->ctx);
	OPENSSL_cleanse(d->psk, sizeof(d->psk));
	OPENSSL_cleanse(d->master, sizeof(d->master));
	sl_info("anyconnect: DTLS handshakes %llu; messages ignored %llu",
		(unsigned long long)d->handshakes, (unsigned long long)d->ignored);
	free(d);
}

uint64_t sl_ac_dtls_own_rx(const struct sl_ac_dtls *d)
{
	return d ? d->own_rx : 0;
}
