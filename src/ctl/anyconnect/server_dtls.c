// SPDX-License-Identifier: MIT
/* AnyConnect server DTLS: one UDP socket, sessions by App-ID then by address, OpenSSL through
 * memory BIOs, DPD and silence. */
#include "ctl/anyconnect/server_dtls.h"

#include "core/log.h"
#include "core/sockaddr.h"
#include "ctl/anyconnect/dtls_keys.h"
#include "dco/uapi.h"
#include "proto/ac_dtls.h"
#include "proto/cstp.h"

#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PSK_LABEL	"EXPORTER-openconnect-psk"
#define PSK_LEN		32
#define RECORD_MAX	(16384 + 1)
#define DGRAM_MAX	(RECORD_MAX + 512)
#define READS_PER_WAKE	64
#define HANDSHAKE_MAX_S 10
#define DROP_AFTER_S	120
#define CIPHERS		"PSK-AES128-GCM-SHA256:PSK-AES256-GCM-SHA384:PSK-CHACHA20-POLY1305"

struct link {
	SSL *ssl; /* owns rb, wb */
	BIO *rb, *wb;
	struct sockaddr_storage peer;
	sl_time_ns since;
	struct sl_ac_dtls_seq seq; /* OpenSSL's last record numbers, for the key export */
};

struct sl_acs_dtls_sess {
	struct sl_acs_dtls *d;
	char name[96];
	uint8_t app_id[SL_ACS_APP_ID_LEN];
	uint8_t psk[PSK_LEN];
	struct link cur, pend; /* the session in use; a handshake under way */
	bool silent;
	bool handed; /* cur's keys are the engine's: OpenSSL writes nothing more on it */
	sl_time_ns last_rx, last_dpd;
	sl_acs_dtls_keys_fn on_keys;
	sl_acs_dtls_packet_fn on_packet;
	sl_acs_dtls_state_fn on_state;
	void *arg;
	uint64_t tx, rx, handshakes;
	struct sl_acs_dtls_sess *next;
};

struct sl_acs_dtls {
	struct sl_loop *loop;
	SSL_CTX *ctx;
	int fd; /* -1 with io */
	struct sl_acs_dtls_io io;
	uint32_t dpd_s;
	struct sl_acs_dtls_sess *sessions;
	struct sl_acs_dtls_stats st;
	uint8_t buf[DGRAM_MAX];
	uint8_t rec[RECORD_MAX];
};

static unsigned int psk_cb(SSL *ssl, const char *identity, unsigned char *psk, unsigned int max_psk)
{
	struct sl_acs_dtls_sess *s = SSL_get_app_data(ssl);

	(void)identity; /* openconnect sends "psk"; the session id already chose the tunnel */
	if (!s || max_psk < PSK_LEN)
		return 0;
	memcpy(psk, s->psk, PSK_LEN);
	return PSK_LEN;
}

static void link_free(struct link *l)
{
	SSL_free(l->ssl); /* and its BIOs */
	memset(l, 0, sizeof(*l));
}

/* Send what OpenSSL wrote: one datagram (several records may share it, as DTLS allows). */
static int flush(struct sl_acs_dtls *d, struct link *l)
{
	int n = BIO_read(l->wb, d->buf, sizeof(d->buf));

	if (n <= 0)
		return 0;
	(void)BIO_reset(l->wb); /* more than a datagram's worth: the rest is dropped */
	if (d->io.send) {
		int r = d->io.send(d->io.arg, &l->peer, d->buf, (size_t)n);

		if (r < 0)
			d->st.send_failed++;
		return r < 0 ? r : 0;
	}
	if (sendto(d->fd, d->buf, (size_t)n, 0, (const struct sockaddr *)&l->peer,
		   sl_sockaddr_len(&l->peer)) < 0) {
		d->st.send_failed++;
		return -errno;
	}
	return 0;
}

static void set_silent(struct sl_acs_dtls_sess *s, bool silent)
{
	if (s->silent == silent)
		return;
	s->silent = silent;
	s->on_state(s->arg, !silent);
}

static void drop_cur(struct sl_acs_dtls_sess *s, const char *why)
{
	bool was_up = s->cur.ssl && !s->silent;

	if (!s->cur.ssl)
		return;
	sl_info("anyconnect server %s: DTLS session ends (%s)", s->name, why);
	link_free(&s->cur);
	s->silent = false;
	s->handed = false;
	if (was_up)
		s->on_state(s->arg, false);
}

int sl_acs_dtls_send(struct sl_acs_dtls_sess *s, uint8_t type, const void *payload, size_t len)
{
	struct sl_acs_dtls *d = s->d;
	int r;

	if (!s->cur.ssl || s->handed)
		return -ENOTCONN;
	if (len + 1 > sizeof(d->rec))
		return -EMSGSIZE;
	d->rec[0] = type;
	if (len)
		memcpy(d->rec + 1, payload, len);
	ERR_clear_error();
	if (SSL_write(s->cur.ssl, d->rec, (int)(len + 1)) <= 0) {
		ERR_clear_error();
		return -EIO;
	}
	r = flush(d, &s->cur);
	if (r == 0 && type == SL_CSTP_DATA)
		s->tx++;
	return r;
}

static void on_record(struct sl_acs_dtls_sess *s, const uint8_t *b, size_t n)
{
	if (n < 1) {
		s->d->st.drop_record++;
		return;
	}
	s->last_rx = sl_loop_now(s->d->loop);
	if (s->silent) {
		sl_info("anyconnect server %s: DTLS answers again: data over DTLS", s->name);
		set_silent(s, false);
	}
	switch (b[0]) {
	case SL_CSTP_DATA:
		s->rx++;
		s->on_packet(s->arg, b + 1, n - 1);
		break;
	case SL_CSTP_DPD_REQ: /* openconnect's MTU probes too: the answer echoes the padding */
		sl_acs_dtls_send(s, SL_CSTP_DPD_RESP, b + 1, n - 1);
		break;
	case SL_CSTP_DPD_RESP:
	case SL_CSTP_KEEPALIVE:
		break;
	case SL_CSTP_DISCONNECT:
		drop_cur(s, "the client said DISCONNECT over DTLS");
		break;
	default: /* COMPRESSED was never offered */
		s->d->st.drop_record++;
		break;
	}
}

static void read_cur(struct sl_acs_dtls_sess *s)
{
	struct sl_acs_dtls *d = s->d;

	for (int i = 0; i < READS_PER_WAKE && s->cur.ssl; i++) {
		int r, e;

		ERR_clear_error();
		r = SSL_read(s->cur.ssl, d->rec, sizeof(d->rec));
		if (r > 0) {
			on_record(s, d->rec, (size_t)r);
			continue;
		}
		e = SSL_get_error(s->cur.ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			break;
		drop_cur(s,
			 e == SSL_ERROR_ZERO_RETURN ? "the client closed it" : "a broken record");
		return;
	}
	if (s->cur.ssl) {
		flush(d, &s->cur);
		(void)BIO_reset(s->cur.rb);
	}
}

static void feed_pend(struct sl_acs_dtls_sess *s, const uint8_t *b, size_t n)
{
	struct sl_acs_dtls *d = s->d;
	char peer[64];
	int r;

	BIO_write(s->pend.rb, b, (int)n);
	ERR_clear_error();
	r = SSL_do_handshake(s->pend.ssl);
	flush(d, &s->pend);
	if (r != 1) {
		int e = SSL_get_error(s->pend.ssl, r);

		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			unsigned long err = ERR_peek_last_error();

			sl_warn("anyconnect server %s: DTLS handshake failed: %s", s->name,
				err ? ERR_reason_error_string(err) : "error");
			link_free(&s->pend);
		} else
			(void)BIO_reset(s->pend.rb);
		return;
	}
	d->st.handshakes_ok++;
	sl_format_endpoint(&s->pend.peer, peer, sizeof(peer));
	link_free(&s->cur);
	s->cur = s->pend;
	memset(&s->pend, 0, sizeof(s->pend));
	SSL_set_msg_callback_arg(s->cur.ssl, &s->cur.seq);
	s->last_rx = sl_loop_now(d->loop);
	s->handed = false;
	if (s->on_keys) {
		struct sl_dtls_key_pair kp;
		int kr = sl_ac_dtls_key_pair(s->cur.ssl, &s->cur.seq, &kp);

		if (kr == 0)
			kr = s->on_keys(s->arg, &kp, &s->cur.peer);
		OPENSSL_cleanse(&kp, sizeof(kp));
		if (kr == 0) {
			s->handed = true;
			s->silent = false;
			sl_info("anyconnect server %s: DTLS up from %s (%s, %s); its records in "
				"the "
				"engine's datapath (SL_WIRE_DTLS, keys exported from OpenSSL)",
				s->name, peer, SSL_get_version(s->cur.ssl),
				SSL_get_cipher_name(s->cur.ssl));
			return;
		}
		sl_warn("anyconnect server %s: the engine cannot take the DTLS keys (%s): its "
			"records stay in OpenSSL",
			s->name, strerror(-kr));
	}
	sl_info("anyconnect server %s: DTLS up from %s (%s, %s); data over DTLS, its records "
		"through OpenSSL in the control plane (not the engine's DTLS path)",
		s->name, peer, SSL_get_version(s->cur.ssl), SSL_get_cipher_name(s->cur.ssl));
	s->silent = true; /* so that set_silent says "up" */
	set_silent(s, false);
	read_cur(s);
}

static int start_pend(struct sl_acs_dtls_sess *s, const struct sockaddr_storage *from)
{
	struct sl_acs_dtls *d = s->d;
	struct link *l = &s->pend;

	link_free(l);
	l->ssl = SSL_new(d->ctx);
	l->rb = BIO_new(BIO_s_mem());
	l->wb = BIO_new(BIO_s_mem());
	if (!l->ssl || !l->rb || !l->wb) {
		BIO_free(l->rb);
		BIO_free(l->wb);
		SSL_free(l->ssl);
		memset(l, 0, sizeof(*l));
		return -ENOMEM;
	}
	BIO_set_mem_eof_return(l->rb, -1);
	BIO_set_mem_eof_return(l->wb, -1);
	SSL_set_bio(l->ssl, l->rb, l->wb);
	SSL_set_app_data(l->ssl, s);
	SSL_set_accept_state(l->ssl);
	sl_ac_dtls_seq_track(l->ssl, &l->seq);
	SSL_set_options(l->ssl, SSL_OP_NO_QUERY_MTU);
	DTLS_set_link_mtu(l->ssl, 1500);
	l->peer = *from;
	l->since = sl_loop_now(d->loop);
	s->handshakes++;
	d->st.handshakes++;
	return 0;
}

static struct sl_acs_dtls_sess *by_app_id(struct sl_acs_dtls *d, const uint8_t *sid, size_t n)
{
	if (n != SL_ACS_APP_ID_LEN)
		return NULL;
	for (struct sl_acs_dtls_sess *s = d->sessions; s; s = s->next)
		if (CRYPTO_memcmp(s->app_id, sid, n) == 0)
			return s;
	return NULL;
}

static void on_datagram(struct sl_acs_dtls *d, const uint8_t *b, size_t n,
			const struct sockaddr_storage *from)
{
	uint8_t sid[SL_AC_DTLS_SID_MAX];
	size_t sid_len = 0;
	int r = sl_ac_dtls_hello_sid(b, n, sid, &sid_len);
	struct sl_acs_dtls_sess *s;

	if (r == -EBADMSG) {
		d->st.drop_bad_hello++;
		return;
	}
	if (r == 0) {
		s = by_app_id(d, sid, sid_len);
		if (!s) {
			d->st.drop_no_session++;
			return;
		}
		if (!(s->pend.ssl && sl_sockaddr_same(&s->pend.peer, from))) {
			if (s->cur.ssl && sl_sockaddr_same(&s->cur.peer, from))
				drop_cur(s, "a new handshake from the same address");
			if (start_pend(s, from) < 0)
				return;
			sl_debug("anyconnect server %s: DTLS ClientHello with its App-ID", s->name);
		}
		feed_pend(s, b, n);
		return;
	}
	for (s = d->sessions; s; s = s->next) {
		if (s->pend.ssl && sl_sockaddr_same(&s->pend.peer, from)) {
			feed_pend(s, b, n);
			return;
		}
		if (s->cur.ssl && sl_sockaddr_same(&s->cur.peer, from)) {
			if (s->handed) { /* not a record the engine could open: not OpenSSL's now */
				d->st.drop_record++;
				return;
			}
			BIO_write(s->cur.rb, b, (int)n);
			read_cur(s);
			return;
		}
	}
	d->st.drop_unknown_peer++;
}

static void on_readable(struct sl_loop *loop, int fd, uint32_t events, void *arg)
{
	struct sl_acs_dtls *d = arg;

	(void)loop;
	(void)events;
	for (int i = 0; i < READS_PER_WAKE; i++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, d->buf, sizeof(d->buf), MSG_DONTWAIT,
				     (struct sockaddr *)&from, &fl);

		if (n < 0)
			return;
		d->st.datagrams++;
		on_datagram(d, d->buf, (size_t)n, &from);
	}
}

uint16_t sl_acs_dtls_local_port(const struct sl_acs_dtls *d);

void sl_acs_dtls_input(struct sl_acs_dtls *d, const uint8_t *b, size_t n,
		       const struct sockaddr_storage *from)
{
	d->st.datagrams++;
	on_datagram(d, b, n, from);
}

int sl_acs_dtls_new(struct sl_acs_dtls **out, struct sl_loop *loop,
		    const struct sockaddr_storage *addr, uint16_t port, uint32_t dpd_s,
		    const struct sl_acs_dtls_io *io, char *err, size_t err_len)
{
	struct sl_acs_dtls *d = calloc(1, sizeof(*d));
	struct sockaddr_storage a = *addr;
	char name[64];
	int r;

	if (!d) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	d->loop = loop;
	d->fd = -1;
	d->dpd_s = dpd_s ? dpd_s : 1;
	if (a.ss_family == AF_INET)
		((struct sockaddr_in *)&a)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&a)->sin6_port = htons(port);
	sl_format_endpoint(&a, name, sizeof(name));
	d->ctx = SSL_CTX_new(DTLS_server_method());
	if (!d->ctx || !SSL_CTX_set_min_proto_version(d->ctx, DTLS1_2_VERSION) ||
	    !SSL_CTX_set_max_proto_version(d->ctx, DTLS1_2_VERSION) ||
	    !SSL_CTX_set_cipher_list(d->ctx, CIPHERS)) {
		snprintf(err, err_len, "DTLS: cannot set up OpenSSL's DTLS 1.2 PSK server");
		r = -EINVAL;
		goto fail;
	}
	SSL_CTX_set_psk_server_callback(d->ctx, psk_cb);
	SSL_CTX_set_options(d->ctx, SSL_OP_NO_TICKET | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_session_cache_mode(d->ctx, SSL_SESS_CACHE_OFF);
	if (io) {
		d->io = *io;
		sl_info("anyconnect server: DTLS 1.2 (PSK-NEGOTIATE) on UDP %s, the engine's "
			"socket",
			name);
		*out = d;
		return 0;
	}
	d->fd = socket(a.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->fd < 0 || bind(d->fd, (struct sockaddr *)&a, sl_sockaddr_len(&a)) < 0) {
		r = -errno;
		snprintf(err, err_len, "udp-port: cannot bind %s: %s", name, strerror(errno));
		goto fail;
	}
	r = sl_loop_add_fd(loop, d->fd, SL_EV_READ, on_readable, d);
	if (r < 0) {
		snprintf(err, err_len, "event loop: %s", strerror(-r));
		goto fail;
	}
	if (a.ss_family == AF_INET)
		((struct sockaddr_in *)&a)->sin_port = htons(sl_acs_dtls_local_port(d));
	else
		((struct sockaddr_in6 *)&a)->sin6_port = htons(sl_acs_dtls_local_port(d));
	sl_format_endpoint(&a, name, sizeof(name));
	sl_info("anyconnect server: DTLS 1.2 (PSK-NEGOTIATE) on UDP %s", name);
	*out = d;
	return 0;
fail:
	if (d->fd >= 0)
		close(d->fd);
	SSL_CTX_free(d->ctx);
	free(d);
	return r;
}

void sl_acs_dtls_free(struct sl_acs_dtls *d)
{
	if (!d)
		return;
	while (d->sessions)
		sl_acs_dtls_detach(d->sessions);
	if (d->fd >= 0) {
		sl_loop_del_fd(d->loop, d->fd);
		close(d->fd);
	}
	SSL_CTX_free(d->ctx);
	free(d);
}

void sl_acs_dtls_stats(const struct sl_acs_dtls *d, struct sl_acs_dtls_stats *out)
{
	*out = d->st;
}

static void tick_sess(struct sl_acs_dtls *d, struct sl_acs_dtls_sess *s, sl_time_ns now)
{
	sl_time_ns dpd = (sl_time_ns)d->dpd_s * SL_SEC, idle;

	if (s->pend.ssl) {
		if (now - s->pend.since > HANDSHAKE_MAX_S * SL_SEC) {
			sl_info("anyconnect server %s: DTLS handshake not done in %d s; dropped",
				s->name, HANDSHAKE_MAX_S);
			link_free(&s->pend);
		} else if (DTLSv1_handle_timeout(s->pend.ssl) > 0) {
			flush(d, &s->pend);
		}
	}
	if (!s->cur.ssl || s->handed) /* the engine's DPD watches a handed session */
		return;
	idle = now - s->last_rx;
	if (idle >= (sl_time_ns)DROP_AFTER_S * SL_SEC && idle >= 4 * dpd) {
		drop_cur(s, "silent too long");
		return;
	}
	if (!s->silent && idle >= 2 * dpd + SL_SEC) {
		sl_warn("anyconnect server %s: no DTLS record for %lld s: data over CSTP", s->name,
			(long long)(idle / SL_SEC));
		set_silent(s, true);
	}
	if (idle >= dpd && now - s->last_dpd >= SL_SEC) {
		s->last_dpd = now;
		sl_acs_dtls_send(s, SL_CSTP_DPD_REQ, NULL, 0);
	}
}

void sl_acs_dtls_tick(struct sl_acs_dtls *d)
{
	sl_time_ns now = sl_loop_now(d->loop);

	for (struct sl_acs_dtls_sess *s = d->sessions; s; s = s->next)
		tick_sess(d, s, now);
}

int sl_acs_dtls_psk(SSL *cstp_ssl, uint8_t psk[SL_ACS_PSK_LEN])
{
	return SSL_export_keying_material(cstp_ssl, psk, PSK_LEN, PSK_LABEL, strlen(PSK_LABEL),
					  NULL, 0, 0) == 1
		       ? 0
		       : -EIO;
}

uint16_t sl_acs_dtls_local_port(const struct sl_acs_dtls *d)
{
	struct sockaddr_storage a;
	socklen_t l = sizeof(a);

	if (getsockname(d->fd, (struct sockaddr *)&a, &l) < 0)
		return 0;
	return ntohs(a.ss_family == AF_INET ? ((struct sockaddr_in *)&a)->sin_port
					    : ((struct sockaddr_in6 *)&a)->sin6_port);
}

struct sl_acs_dtls_sess *sl_acs_dtls_attach(struct sl_acs_dtls *d, const uint8_t *psk,
					    const char *name, sl_acs_dtls_packet_fn on_packet,
					    sl_acs_dtls_state_fn on_state,
					    sl_acs_dtls_keys_fn on_keys, void *arg,
					    uint8_t app_id[SL_ACS_APP_ID_LEN])
{
	struct sl_acs_dtls_sess *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (RAND_bytes(s->app_id, sizeof(s->app_id)) != 1) {
		free(s);
		return NULL;
	}
	memcpy(s->psk, psk, PSK_LEN);
	s->d = d;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->on_packet = on_packet;
	s->on_state = on_state;
	s->on_keys = on_keys;
	s->arg = arg;
	memcpy(app_id, s->app_id, SL_ACS_APP_ID_LEN);
	s->next = d->sessions;
	d->sessions = s;
	return s;
}

void sl_acs_dtls_detach(struct sl_acs_dtls_sess *s)
{
	struct sl_acs_dtls_sess **pp;

	if (!s)
		return;
	for (pp = &s->d->sessions; *pp && *pp != s; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = s->next;
	if (s->cur.ssl && !s->handed)
		SSL_shutdown(s->cur.ssl), flush(s->d, &s->cur);
	link_free(&s->cur);
	link_free(&s->pend);
	sl_info("anyconnect server %s: DTLS data packets sent %llu, received %llu, handshakes "
		"%llu",
		s->name, (unsigned long long)s->tx, (unsigned long long)s->rx,
		(unsigned long long)s->handshakes);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

bool sl_acs_dtls_up(const struct sl_acs_dtls_sess *s)
{
	return s && s->cur.ssl && !s->silent && !s->handed;
}

void sl_acs_dtls_counts_add(struct sl_acs_dtls_sess *s, uint64_t tx, uint64_t rx)
{
	if (s) {
		s->tx += tx;
		s->rx += rx;
	}
}

void sl_acs_dtls_counts(const struct sl_acs_dtls_sess *s, uint64_t *tx, uint64_t *rx)
{
	*tx = s ? s->tx : 0;
	*rx = s ? s->rx : 0;
}
