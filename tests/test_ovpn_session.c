// SPDX-License-Identifier: MIT
/*
 * OpenVPN TLS session (ctl/openvpn/session.c), a client and a server in one
 * process over a simulated link (in-memory queues, optional loss): reset
 * exchange, TLS 1.3 with certificates from sluice pki, key-method 2,
 * control messages both ways, equal data keys on both ends from TLS-EKM
 * and from the legacy PRF, renegotiation into key id 1 with the old key
 * kept as lame duck, and the failures a user must see: a CA that did not
 * sign the peer, a tls-crypt key that differs; hand-window counted from a
 * TCP accept, for a peer that sends nothing or stalls after its reset.
 * (Interop with stock openvpn is tests/interop/openvpn.sh.)
 */
#include "ctl/openvpn/session.h"
#include "ctl/openvpn/tls.h"

#include "cli/pki.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define QMAX 512
#define PMAX 2048

struct end;

struct queue {
	unsigned n;
	size_t len[QMAX];
	uint8_t pkt[QMAX][PMAX];
};

struct end {
	struct sl_ovpn_session s;
	struct queue *out;
	unsigned ready[8];
	unsigned send[8]; /* KEY_SEND per key id */
	struct end *peer;
	char last_ctl[256];
	unsigned n_ctl;
	char failed[256];
	bool failed_hand_window;
	uint64_t *seed;
	unsigned loss_pct;
};

static uint32_t rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(*s >> 33);
}

static void on_send(void *arg, const uint8_t *pkt, size_t len)
{
	struct end *e = arg;

	assert_true(len <= PMAX);
	if (e->loss_pct && rnd(e->seed) % 100 < e->loss_pct)
		return;
	if (e->out->n == QMAX)
		return;
	memcpy(e->out->pkt[e->out->n], pkt, len);
	e->out->len[e->out->n++] = len;
}

static void on_event(void *arg, const struct sl_ovpn_ev *ev)
{
	struct end *e = arg;

	switch (ev->type) {
	case SL_OVPN_EV_KEY_READY:
		e->ready[ev->key_id]++;
		break;
	case SL_OVPN_EV_KEY_SEND:
		/* Never before our KEY_READY, and only once the peer can open the key too. */
		assert_true(e->ready[ev->key_id] > 0);
		assert_true(e->peer->ready[ev->key_id] > 0);
		assert_null(ev->text); /* acked in time, in these tests */
		e->send[ev->key_id]++;
		break;
	case SL_OVPN_EV_CONTROL:
		snprintf(e->last_ctl, sizeof(e->last_ctl), "%.*s", (int)ev->len, ev->text);
		e->n_ctl++;
		break;
	case SL_OVPN_EV_FAILED:
		snprintf(e->failed, sizeof(e->failed), "%s", ev->text);
		e->failed_hand_window = ev->hand_window;
		break;
	}
}

struct world {
	char dir[64], other[64];
	char *ca, *srv_cert, *srv_key, *cli_cert, *cli_key, *other_ca;
	SSL_CTX *sctx, *cctx;
	struct queue c2s, s2c;
	struct end cli, srv;
	uint64_t seed, now;
};

static char *slurp(const char *dir, const char *name)
{
	char path[128];
	FILE *f;
	char *buf = calloc(1, 16384);

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_true(fread(buf, 1, 16383, f) > 0);
	fclose(f);
	return buf;
}

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	char err[256];

	snprintf(w->dir, sizeof(w->dir), "/tmp/test_ovpn_session.XXXXXX");
	snprintf(w->other, sizeof(w->other), "/tmp/test_ovpn_session.XXXXXX");
	if (!mkdtemp(w->dir) || !mkdtemp(w->other) ||
	    sl_pki_init(w->dir, NULL, 1, err, sizeof(err)) < 0 ||
	    sl_pki_issue(w->dir, "server", true, 1, err, sizeof(err)) < 0 ||
	    sl_pki_issue(w->dir, "client", false, 1, err, sizeof(err)) < 0 ||
	    sl_pki_init(w->other, NULL, 1, err, sizeof(err)) < 0)
		return -1;
	w->ca = slurp(w->dir, "ca.pem");
	w->srv_cert = slurp(w->dir, "server.pem");
	w->srv_key = slurp(w->dir, "server.key");
	w->cli_cert = slurp(w->dir, "client.pem");
	w->cli_key = slurp(w->dir, "client.key");
	w->other_ca = slurp(w->other, "ca.pem");
	*state = w;
	return 0;
}

static void rmdir_all(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static int teardown(void **state)
{
	struct world *w = *state;

	rmdir_all(w->dir);
	rmdir_all(w->other);
	free(w->ca), free(w->srv_cert), free(w->srv_key), free(w->cli_cert), free(w->cli_key);
	free(w->other_ca);
	free(w);
	return 0;
}

enum wrapping { WRAP_NONE, WRAP_CRYPT, WRAP_CRYPT_MISMATCH };

static void wrap_for(struct sl_ovpn_wrap *wr, enum wrapping how, enum sl_ovpn_role role)
{
	uint8_t key2[SL_OVPN_KEY2_LEN];

	memset(wr, 0, sizeof(*wr));
	if (how == WRAP_NONE)
		return;
	for (size_t i = 0; i < sizeof(key2); i++)
		key2[i] = (uint8_t)(i * 13 +
				    (how == WRAP_CRYPT_MISMATCH && role == SL_OVPN_ROLE_SERVER));
	wr->mode = SL_OVPN_WRAP_CRYPT;
	assert_int_equal(sl_ovpn_tls_crypt_init(&wr->u.crypt, key2, role), 0);
}

static void start(struct world *w, const char *client_ca, enum wrapping how, unsigned loss)
{
	struct sl_ovpn_session_cfg sc = {0}, cc = {0};
	char err[256];

	memset(&w->c2s, 0, sizeof(w->c2s));
	memset(&w->s2c, 0, sizeof(w->s2c));
	memset(&w->cli, 0, sizeof(w->cli));
	memset(&w->srv, 0, sizeof(w->srv));
	w->seed = 7;
	w->now = 1000;
	w->sctx = sl_ovpn_tls_ctx_new(true, w->ca, w->srv_cert, w->srv_key, err, sizeof(err));
	w->cctx = sl_ovpn_tls_ctx_new(false, client_ca, w->cli_cert, w->cli_key, err, sizeof(err));
	assert_non_null(w->sctx);
	assert_non_null(w->cctx);
	sc.role = SL_OVPN_ROLE_SERVER;
	sc.ssl_ctx = w->sctx;
	wrap_for(&sc.wrap, how, SL_OVPN_ROLE_SERVER);
	sc.options = "V4,dev-type tun,tls-server";
	sc.send = on_send;
	sc.on_event = on_event;
	sc.arg = &w->srv;
	sc.tls_timeout_ms = 300;
	sc.hand_window_ms = 20000;
	cc = sc;
	cc.role = SL_OVPN_ROLE_CLIENT;
	cc.ssl_ctx = w->cctx;
	wrap_for(&cc.wrap, how, SL_OVPN_ROLE_CLIENT);
	cc.options = "V4,dev-type tun,tls-client";
	cc.peer_info = "IV_VER=2.6.14\nIV_PROTO=14\n";
	cc.username = "alice";
	cc.password = "pw";
	cc.arg = &w->cli;
	w->srv.out = &w->s2c;
	w->cli.out = &w->c2s;
	w->srv.peer = &w->cli;
	w->cli.peer = &w->srv;
	w->srv.seed = w->cli.seed = &w->seed;
	w->srv.loss_pct = w->cli.loss_pct = loss;
	assert_int_equal(sl_ovpn_session_init(&w->srv.s, &sc), 0);
	assert_int_equal(sl_ovpn_session_init(&w->cli.s, &cc), 0);
	assert_int_equal(sl_ovpn_session_start(&w->cli.s, w->now), 0);
}

static void stop(struct world *w)
{
	sl_ovpn_session_free(&w->srv.s);
	sl_ovpn_session_free(&w->cli.s);
	SSL_CTX_free(w->sctx);
	SSL_CTX_free(w->cctx);
}

/* Deliver queued packets both ways and run the timers, for up to ms of simulated time. */
static void run(struct world *w, uint64_t ms, bool (*done)(struct world *))
{
	static struct queue q;

	for (uint64_t end = w->now + ms; w->now < end && !(done && done(w)); w->now += 10) {
		for (int dir = 0; dir < 2; dir++) {
			struct queue *src = dir ? &w->s2c : &w->c2s;
			struct end *to = dir ? &w->cli : &w->srv;

			q = *src;
			src->n = 0;
			for (unsigned i = 0; i < q.n; i++)
				sl_ovpn_session_input(&to->s, q.pkt[i], q.len[i], w->now);
		}
		sl_ovpn_session_tick(&w->cli.s, w->now);
		sl_ovpn_session_tick(&w->srv.s, w->now);
	}
}

static bool both_ready0(struct world *w)
{
	return w->cli.ready[0] && w->srv.ready[0];
}

static void check_keys_match(struct world *w, uint8_t key_id)
{
	uint8_t a[SL_OVPN_KEY2_LEN], b[SL_OVPN_KEY2_LEN];

	assert_int_equal(sl_ovpn_session_key2(&w->cli.s, key_id, true, a), 0);
	assert_int_equal(sl_ovpn_session_key2(&w->srv.s, key_id, true, b), 0);
	assert_memory_equal(a, b, sizeof(a));
	assert_int_equal(sl_ovpn_session_key2(&w->cli.s, key_id, false, b), 0);
	assert_memory_not_equal(a, b, sizeof(a)); /* PRF and EKM are different keys */
	assert_int_equal(sl_ovpn_session_key2(&w->srv.s, key_id, false, a), 0);
	assert_memory_equal(a, b, sizeof(a));
}

static void test_handshake_control_and_keys(void **state)
{
	struct world *w = *state;
	struct sl_ovpn_key_state *ks;

	start(w, w->ca, WRAP_CRYPT, 0);
	run(w, 5000, both_ready0);
	assert_string_equal(w->cli.failed, "");
	assert_string_equal(w->srv.failed, "");
	assert_int_equal(w->cli.ready[0], 1);
	assert_int_equal(w->srv.ready[0], 1);
	/* The server saw the client's key-method 2 fields. */
	ks = sl_ovpn_session_ks(&w->srv.s, 0);
	assert_string_equal(ks->remote.options, "V4,dev-type tun,tls-client");
	assert_string_equal(ks->remote.username, "alice");
	assert_string_equal(ks->remote.password, "pw");
	assert_string_equal(ks->remote.peer_info, "IV_VER=2.6.14\nIV_PROTO=14\n");
	check_keys_match(w, 0);
	assert_int_equal(sl_ovpn_session_send_control(&w->cli.s, "PUSH_REQUEST", w->now), 0);
	run(w, 1000, NULL);
	assert_string_equal(w->srv.last_ctl, "PUSH_REQUEST");
	assert_int_equal(sl_ovpn_session_send_control(&w->srv.s, "PUSH_REPLY,ping 10", w->now), 0);
	run(w, 1000, NULL);
	assert_string_equal(w->cli.last_ctl, "PUSH_REPLY,ping 10");
	assert_int_equal(w->cli.n_ctl, 1);
	stop(w);
}

static bool both_ready1(struct world *w)
{
	return w->cli.ready[1] && w->srv.ready[1];
}

/* 20% loss each way: everything still gets through (resends), then a renegotiation. */
static void test_lossy_and_renegotiation(void **state)
{
	struct world *w = *state;

	start(w, w->ca, WRAP_NONE, 20);
	run(w, 20000, both_ready0);
	assert_true(both_ready0(w));
	check_keys_match(w, 0);
	assert_int_equal(sl_ovpn_session_renegotiate(&w->cli.s, w->now), 0);
	run(w, 20000, both_ready1);
	assert_true(both_ready1(w));
	check_keys_match(w, 1);
	/* Key id 0 stays as lame duck on both ends until retired. */
	assert_non_null(sl_ovpn_session_ks(&w->cli.s, 0));
	assert_non_null(sl_ovpn_session_ks(&w->srv.s, 0));
	sl_ovpn_session_retire_lame_duck(&w->cli.s);
	assert_null(sl_ovpn_session_ks(&w->cli.s, 0));
	/* The server renegotiates next: key id 2. */
	w->cli.loss_pct = w->srv.loss_pct = 0;
	assert_int_equal(sl_ovpn_session_renegotiate(&w->srv.s, w->now), 0);
	run(w, 5000, NULL);
	assert_int_equal(w->cli.ready[2], 1);
	assert_int_equal(w->srv.ready[2], 1);
	check_keys_match(w, 2);
	assert_string_equal(w->cli.failed, "");
	/*
	 * Both ends may send with key id 2 (on_event checked each KEY_SEND came after the
	 * peer's KEY_READY). Key ids 0 and 1 need not get theirs: 0 is sent with from the start,
	 * and a renegotiation may begin before the last ack of the one before.
	 */
	assert_int_equal(w->srv.send[2], 1);
	assert_int_equal(w->cli.send[2], 1);
	stop(w);
}

static void test_wrong_ca_refused(void **state)
{
	struct world *w = *state;

	start(w, w->other_ca, WRAP_NONE, 0);
	run(w, 5000, NULL);
	assert_int_equal(w->cli.ready[0], 0);
	assert_int_equal(w->srv.ready[0], 0);
	printf("    client: %s\n", w->cli.failed);
	assert_non_null(strstr(w->cli.failed, "peer certificate not accepted"));
	/* sluice pki sends the chain, so OpenSSL names the foreign self-signed CA. */
	assert_non_null(strstr(w->cli.failed, "self-signed certificate in certificate chain"));
	stop(w);
}

static void test_wrong_tls_crypt_key_refused(void **state)
{
	struct world *w = *state;

	start(w, w->ca, WRAP_CRYPT_MISMATCH, 0);
	run(w, 21000, NULL);
	assert_int_equal(w->cli.ready[0], 0);
	assert_true(w->srv.s.rx_bad_wrap > 0);
	printf("    client: %s\n", w->cli.failed);
	assert_non_null(strstr(w->cli.failed, "did not finish within 20 s"));
	assert_true(w->cli.failed_hand_window);
	stop(w);
}

/* Deliver what the client has queued to the server (and nothing back). */
static void deliver_to_server(struct world *w)
{
	for (unsigned i = 0; i < w->c2s.n; i++)
		sl_ovpn_session_input(&w->srv.s, w->c2s.pkt[i], w->c2s.len[i], w->now);
	w->c2s.n = 0;
}

/* TCP: accepted at 1000, nothing arrives: the session says so at 1000 + hand-window, once. */
static void test_hand_window_from_accept_silent(void **state)
{
	struct world *w = *state;

	start(w, w->ca, WRAP_NONE, 0);
	w->c2s.n = 0; /* the client's reset never arrives */
	assert_int_equal(sl_ovpn_session_listen(&w->srv.s, w->now), 0);
	assert_int_equal(sl_ovpn_session_listen(&w->srv.s, w->now), -EINVAL);
	assert_int_equal(sl_ovpn_session_deadline(&w->srv.s), 21000);
	sl_ovpn_session_tick(&w->srv.s, 20999);
	assert_string_equal(w->srv.failed, "");
	sl_ovpn_session_tick(&w->srv.s, 21000);
	printf("    server: %s\n", w->srv.failed);
	assert_non_null(strstr(w->srv.failed, "no hard reset within 20 s"));
	assert_true(w->srv.failed_hand_window);
	assert_int_equal(sl_ovpn_session_deadline(&w->srv.s), UINT64_MAX);
	w->srv.failed[0] = '\0';
	sl_ovpn_session_tick(&w->srv.s, 30000);
	assert_string_equal(w->srv.failed, ""); /* said once */
	stop(w);
}

/* TCP: the reset comes 10 s after the accept, then nothing: still 1000 + hand-window. */
static void test_hand_window_from_accept_stalled(void **state)
{
	struct world *w = *state;

	start(w, w->ca, WRAP_NONE, 0);
	assert_int_equal(sl_ovpn_session_listen(&w->srv.s, w->now), 0);
	w->now = 11000;
	deliver_to_server(w);
	assert_non_null(sl_ovpn_session_ks(&w->srv.s, 0));
	assert_true(sl_ovpn_session_deadline(&w->srv.s) <= 21000);
	sl_ovpn_session_tick(&w->srv.s, 20999);
	assert_string_equal(w->srv.failed, "");
	sl_ovpn_session_tick(&w->srv.s, 21000);
	printf("    server: %s\n", w->srv.failed);
	assert_non_null(strstr(w->srv.failed, "did not finish within 20 s"));
	assert_true(w->srv.failed_hand_window);
	stop(w);
}

/* A handshake done in time is not touched by the deadline; a refusal is not a timeout. */
static void test_hand_window_met(void **state)
{
	struct world *w = *state;

	start(w, w->ca, WRAP_NONE, 0);
	assert_int_equal(sl_ovpn_session_listen(&w->srv.s, w->now), 0);
	run(w, 5000, both_ready0);
	assert_true(both_ready0(w));
	w->now = 40000;
	run(w, 100, NULL);
	assert_string_equal(w->srv.failed, "");
	assert_true(sl_ovpn_session_deadline(&w->srv.s) != 21000);
	stop(w);
	start(w, w->other_ca, WRAP_NONE, 0);
	run(w, 5000, NULL);
	assert_non_null(strstr(w->cli.failed, "peer certificate not accepted"));
	assert_false(w->cli.failed_hand_window);
	stop(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_control_and_keys),
		cmocka_unit_test(test_lossy_and_renegotiation),
		cmocka_unit_test(test_wrong_ca_refused),
		cmocka_unit_test(test_wrong_tls_crypt_key_refused),
		cmocka_unit_test(test_hand_window_from_accept_silent),
		cmocka_unit_test(test_hand_window_from_accept_stalled),
		cmocka_unit_test(test_hand_window_met),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
