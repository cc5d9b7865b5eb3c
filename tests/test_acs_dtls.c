// SPDX-License-Identifier: MIT
/*
 * The AnyConnect server's DTLS channel (ctl/anyconnect/server_dtls.c) on
 * loopback against OpenSSL's DTLS 1.2 client set up as sluice connect and
 * openconnect set theirs (PSK identity "psk", the App-ID as the ClientHello's
 * session id): the handshake finds the tunnel by App-ID, data both ways, a
 * DPD request's padding echoed (openconnect's MTU probe), silence falls back
 * and the next record returns, an unknown App-ID and a wrong PSK get nothing
 * and leave the session alone, a reconnect from a new port replaces it.
 */
#include "ctl/anyconnect/server_dtls.h"

#include "core/loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define DPD_S 2

struct fx {
	sl_time_ns now;
	struct sl_loop *loop;
	struct sl_acs_dtls *d;
	struct sl_acs_dtls_sess *s;
	uint8_t app_id[SL_ACS_APP_ID_LEN], psk[SL_ACS_PSK_LEN];
	uint16_t port;
	int packets, ups, downs;
	uint8_t last[256];
	size_t last_len;
};

struct cl {
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;
	uint8_t psk[32];
};

static sl_time_ns fake_now(void *arg)
{
	return ((struct fx *)arg)->now;
}

static void on_packet(void *arg, const uint8_t *ip, size_t len)
{
	struct fx *f = arg;

	f->packets++;
	f->last_len = len < sizeof(f->last) ? len : sizeof(f->last);
	memcpy(f->last, ip, f->last_len);
}

static void on_state(void *arg, bool up)
{
	struct fx *f = arg;

	if (up)
		f->ups++;
	else
		f->downs++;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct sl_clock c = {.now = fake_now, .arg = f};
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	char err[256];

	f->now = 1000 * SL_SEC;
	f->loop = sl_loop_new(&c);
	in->sin_family = AF_INET;
	in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!f->loop || sl_acs_dtls_new(&f->d, f->loop, &ss, 0, DPD_S, NULL, err, sizeof(err)) < 0)
		return -1;
	f->port = sl_acs_dtls_local_port(f->d);
	RAND_bytes(f->psk, sizeof(f->psk));
	f->s = sl_acs_dtls_attach(f->d, f->psk, "test", on_packet, on_state, NULL, f, f->app_id);
	*state = f;
	return f->s && f->port ? 0 : -1;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	sl_acs_dtls_free(f->d);
	sl_loop_free(f->loop);
	free(f);
	return 0;
}

static unsigned int cl_psk(SSL *ssl, const char *hint, char *identity, unsigned int max_id,
			   unsigned char *psk, unsigned int max_psk)
{
	struct cl *c = SSL_get_app_data(ssl);

	(void)hint;
	if (max_id < 4 || max_psk < 32)
		return 0;
	memcpy(identity, "psk", 4);
	memcpy(psk, c->psk, 32);
	return 32;
}

static void cl_open(struct cl *c, uint16_t port, const uint8_t *app_id, const uint8_t *psk)
{
	static const unsigned char aes128_sha[2] = {0x00, 0x2f};
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	SSL_SESSION *sess = SSL_SESSION_new();
	uint8_t key[48];
	BIO *bio;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memcpy(c->psk, psk, 32);
	c->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(c->fd >= 0);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	c->ctx = SSL_CTX_new(DTLS_client_method());
	assert_true(SSL_CTX_set_min_proto_version(c->ctx, DTLS1_2_VERSION));
	assert_true(SSL_CTX_set_cipher_list(c->ctx, "PSK"));
	SSL_CTX_set_psk_client_callback(c->ctx, cl_psk);
	c->ssl = SSL_new(c->ctx);
	SSL_set_app_data(c->ssl, c);
	RAND_bytes(key, sizeof(key));
	assert_true(SSL_SESSION_set1_id(sess, app_id, SL_ACS_APP_ID_LEN));
	assert_true(SSL_SESSION_set1_master_key(sess, key, sizeof(key)));
	assert_true(SSL_SESSION_set_protocol_version(sess, DTLS1_2_VERSION));
	assert_true(SSL_SESSION_set_cipher(sess, SSL_CIPHER_find(c->ssl, aes128_sha)));
	assert_true(SSL_set_session(c->ssl, sess));
	SSL_SESSION_free(sess);
	bio = BIO_new_dgram(c->fd, BIO_NOCLOSE);
	BIO_ctrl(bio, BIO_CTRL_DGRAM_SET_CONNECTED, 0, &a);
	SSL_set_bio(c->ssl, bio, bio);
	SSL_set_connect_state(c->ssl);
	SSL_set_options(c->ssl, SSL_OP_NO_QUERY_MTU);
	DTLS_set_link_mtu(c->ssl, 1500);
}

static void cl_close(struct cl *c)
{
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	close(c->fd);
}

/* Client and server take turns; 1 when the client's handshake is done, -1 when it failed. */
static int handshake(struct fx *f, struct cl *c)
{
	for (int i = 0; i < 40; i++) {
		int r = SSL_do_handshake(c->ssl);

		if (r == 1)
			return 1;
		if (SSL_get_error(c->ssl, r) != SSL_ERROR_WANT_READ)
			return -1;
		sl_loop_run_once(f->loop, 20);
	}
	return 0;
}

/* One record from the server to the client, or 0 bytes within 1 s. */
static int cl_read(struct cl *c, uint8_t *b, size_t cap)
{
	for (int i = 0; i < 50; i++) {
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		int r = SSL_read(c->ssl, b, (int)cap);

		if (r > 0)
			return r;
		poll(&p, 1, 20);
	}
	return 0;
}

static void cl_send(struct fx *f, struct cl *c, const void *rec, size_t n)
{
	assert_int_equal(SSL_write(c->ssl, rec, (int)n), (int)n);
	for (int i = 0; i < 5; i++)
		sl_loop_run_once(f->loop, 20);
}

static void session_by_app_id(void **state)
{
	struct fx *f = *state;
	struct cl c;
	uint8_t rec[256], probe[201];
	struct sl_acs_dtls_stats st;
	uint64_t tx, rx;

	assert_false(sl_acs_dtls_up(f->s));
	cl_open(&c, f->port, f->app_id, f->psk);
	assert_int_equal(handshake(f, &c), 1);
	sl_loop_run_once(f->loop, 20);
	assert_true(sl_acs_dtls_up(f->s));
	assert_int_equal(f->ups, 1);
	/* client to server: type DATA, then the packet */
	cl_send(f, &c, "\x00hello", 6);
	assert_int_equal(f->packets, 1);
	assert_int_equal(f->last_len, 5);
	assert_memory_equal(f->last, "hello", 5);
	/* an MTU probe: DPD request with padding, answered with the same padding */
	probe[0] = 3;
	memset(probe + 1, 0x5a, sizeof(probe) - 1);
	cl_send(f, &c, probe, sizeof(probe));
	assert_int_equal(cl_read(&c, rec, sizeof(rec)), (int)sizeof(probe));
	assert_int_equal(rec[0], 4);
	assert_memory_equal(rec + 1, probe + 1, sizeof(probe) - 1);
	/* server to client */
	assert_int_equal(sl_acs_dtls_send(f->s, 0, "xyz", 3), 0);
	assert_int_equal(cl_read(&c, rec, sizeof(rec)), 4);
	assert_memory_equal(rec, "\x00xyz", 4);
	sl_acs_dtls_counts(f->s, &tx, &rx);
	assert_int_equal(tx, 1);
	assert_int_equal(rx, 1);
	/* silence: DPD at dpd s, CSTP after 2 * dpd + 1 s; a record brings it back */
	f->now += DPD_S * SL_SEC;
	sl_acs_dtls_tick(f->d);
	assert_true(sl_acs_dtls_up(f->s));
	assert_int_equal(cl_read(&c, rec, sizeof(rec)), 1);
	assert_int_equal(rec[0], 3);
	f->now += (DPD_S + 1) * SL_SEC;
	sl_acs_dtls_tick(f->d);
	assert_false(sl_acs_dtls_up(f->s));
	assert_int_equal(f->downs, 1);
	assert_int_equal(sl_acs_dtls_send(f->s, 0, "x", 1),
			 0);	   /* still writable: its caller picks */
	cl_send(f, &c, "\x07", 1); /* keepalive */
	assert_true(sl_acs_dtls_up(f->s));
	assert_int_equal(f->ups, 2);
	sl_acs_dtls_stats(f->d, &st);
	assert_int_equal(st.handshakes_ok, 1);
	assert_int_equal(st.drop_unknown_peer + st.drop_bad_hello + st.drop_no_session, 0);
	cl_close(&c);
}

static void strangers_get_nothing(void **state)
{
	struct fx *f = *state;
	struct cl good, other, wrong, again;
	uint8_t id[SL_ACS_APP_ID_LEN], psk[32], rec[64];
	struct sl_acs_dtls_stats st;

	cl_open(&good, f->port, f->app_id, f->psk);
	assert_int_equal(handshake(f, &good), 1);
	sl_loop_run_once(f->loop, 20);
	assert_true(sl_acs_dtls_up(f->s));
	/* an App-ID no tunnel has: no answer, counted */
	RAND_bytes(id, sizeof(id));
	cl_open(&other, f->port, id, f->psk);
	assert_int_equal(handshake(f, &other), 0);
	sl_acs_dtls_stats(f->d, &st);
	assert_true(st.drop_no_session >= 1);
	assert_int_equal(st.handshakes, 1);
	/* the right App-ID with another PSK: the handshake fails, the session stays */
	RAND_bytes(psk, sizeof(psk));
	cl_open(&wrong, f->port, f->app_id, psk);
	assert_int_not_equal(handshake(f, &wrong), 1);
	sl_acs_dtls_stats(f->d, &st);
	assert_int_equal(st.handshakes_ok, 1);
	assert_true(sl_acs_dtls_up(f->s));
	cl_send(f, &good, "\x00still", 6);
	assert_int_equal(f->packets, 1);
	/* a reconnect from a new port replaces the session; the old one is a stranger now */
	cl_open(&again, f->port, f->app_id, f->psk);
	assert_int_equal(handshake(f, &again), 1);
	sl_loop_run_once(f->loop, 20);
	sl_acs_dtls_stats(f->d, &st);
	assert_int_equal(st.handshakes_ok, 2);
	assert_int_equal(sl_acs_dtls_send(f->s, 0, "new", 3), 0);
	assert_int_equal(cl_read(&again, rec, sizeof(rec)), 4);
	cl_send(f, &good, "\x00old", 4);
	assert_int_equal(f->packets, 1);
	sl_acs_dtls_stats(f->d, &st);
	assert_true(st.drop_unknown_peer >= 1);
	cl_close(&good);
	cl_close(&other);
	cl_close(&wrong);
	cl_close(&again);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(session_by_app_id, setup, teardown),
		cmocka_unit_test_setup_teardown(strangers_get_nothing, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
