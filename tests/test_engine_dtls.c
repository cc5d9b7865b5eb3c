// SPDX-License-Identifier: MIT
/*
 * The engine speaking AnyConnect DTLS records (SL_WIRE_DTLS), against
 * OpenSSL: an OpenSSL client and server do a PSK handshake, the client's keys
 * and sequence numbers go into an engine (sl_ac_dtls_key_pair,
 * sl_key_set_dtls), and the OpenSSL server's socket is pointed at the
 * engine's. Then OpenSSL reads what the engine seals from its TUN (Cisco type
 * DATA in front) and the engine opens what OpenSSL writes, for AES-128-GCM,
 * AES-256-GCM and ChaCha20-Poly1305; Cisco DPD is answered in the engine,
 * other types and non-data records go to on_control; replay and tampering
 * are counted drops. And the hand-over `sluice connect` does: the socket the
 * handshake ran on becomes the engine's (sl_engine_udp_attach), with data on
 * the stream until the keys are in.
 */
#include "core/bytes.h"
#include "core/loop.h"
#include "crypto/aead.h"
#include "dco/uapi.h"
#include "proto/dtls_record.h"
#include "sluice/engine.h"
#include "sluice/engine_dtls.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "dtls_pair.h"
#include "engine_harness.h"
#include "engine_test_util.h"
#include "test_pkt_util.h"

#define PEER_SERVER 1

/* A Cisco DATA message: type 0, then a minimal IPv4/UDP header 198.19.0.2 -> 198.19.0.1. */
static const uint8_t data_record[] = {0, 0x45, 0,   0,	20, 0, 0,   0,	0, 64, 17,
				      0, 0,    198, 19, 0,  2, 198, 19, 0, 1};

struct world {
	struct sl_loop *loop;
	struct sl_engine *e;
	int tun_far;
	struct pair p;
	unsigned n_control;
	uint8_t control[2048];
	size_t control_len;
};

static void on_control(void *arg, const uint8_t *pkt, size_t len,
		       const struct sockaddr_storage *from)
{
	struct world *w = arg;

	(void)from;
	w->n_control++;
	memcpy(w->control, pkt, len);
	w->control_len = len;
}

static void settle(struct world *w)
{
	harness_settle(w->loop);
}

/* Engine in place of the OpenSSL client; the OpenSSL server now talks to it. */
static void world_up(struct world *w, const char *suite)
{
	struct sl_engine_cfg cfg;
	struct sl_peer_cfg pc;
	struct sl_dtls_key_pair kp;
	struct sl_prefix pre;
	struct sockaddr_storage eng, srv;
	socklen_t l = sizeof(srv);

	memset(w, 0, sizeof(*w));
	handshake(&w->p, suite);
	assert_int_equal(sl_ac_dtls_key_pair(w->p.c, &w->p.cseq, &kp), 0);
	w->loop = sl_loop_new(NULL);
	assert_non_null(w->loop);
	sl_engine_cfg_init(&cfg);
	cfg.loop = w->loop;
	cfg.ifname = "d";
	cfg.pool_packets = 256;
	cfg.wire = SL_WIRE_DTLS;
	cfg.on_control = on_control;
	cfg.control_arg = w;
	assert_int_equal(harness_engine_new(&w->e, &w->tun_far, &cfg, 0), 0);
	harness_loopback(&eng, sl_engine_udp_port(w->e, 0));
	assert_int_equal(getsockname(w->p.sfd, (struct sockaddr *)&srv, &l), 0);
	sl_peer_cfg_init(&pc);
	pc.keepalive_ms = 0;
	memcpy(&pc.endpoint, &srv, sizeof(struct sockaddr_in));
	assert_int_equal(sl_peer_new(w->e, PEER_SERVER, &pc), 0);
	assert_int_equal(sl_parse_prefix("0.0.0.0/0", &pre), 0);
	assert_int_equal(sl_peer_route_add(w->e, PEER_SERVER, &pre), 0);
	assert_int_equal(sl_key_set_dtls(w->e, PEER_SERVER, SL_KEY_PRIMARY, &kp), 0);
	memset(&kp, 0, sizeof(kp));
	assert_int_equal(connect(w->p.sfd, (struct sockaddr *)&eng, sizeof(struct sockaddr_in)), 0);
	BIO_ctrl(SSL_get_rbio(w->p.s), BIO_CTRL_DGRAM_SET_CONNECTED, 0, &eng);
}

static void world_down(struct world *w)
{
	sl_engine_free(w->e);
	close(w->tun_far);
	sl_loop_free(w->loop);
	pair_free(&w->p);
}

static size_t ipv4_packet(uint8_t *b, size_t payload, uint8_t fill)
{
	return harness_ipv4_packet(b, "198.19.0.2", "198.19.0.1", payload, fill);
}

static int ssl_read_wait(struct world *w, uint8_t *b, size_t cap)
{
	int r = -1;

	for (int i = 0; i < 50 && r <= 0; i++) {
		struct pollfd pf = {w->p.sfd, POLLIN, 0};

		poll(&pf, 1, 10);
		r = SSL_read(w->p.s, b, (int)cap);
	}
	return r;
}

static struct sl_peer_stats stats_of(struct world *w)
{
	return harness_stats(w->e, PEER_SERVER);
}

static void both_ways(const char *suite)
{
	struct world w;
	uint8_t pkt[1500], msg[1600], got[2000];
	size_t len;

	world_up(&w, suite);
	for (int i = 0; i < 30; i++) {
		len = ipv4_packet(pkt, (size_t)i * 41, (uint8_t)i);
		assert_int_equal(write(w.tun_far, pkt, len), (ssize_t)len);
		settle(&w);
		assert_int_equal(ssl_read_wait(&w, got, sizeof(got)), (int)len + 1);
		assert_int_equal(got[0], 0); /* Cisco DATA */
		assert_memory_equal(got + 1, pkt, len);

		len = ipv4_packet(pkt, (size_t)i * 37, (uint8_t)~i);
		msg[0] = 0;
		memcpy(msg + 1, pkt, len);
		assert_int_equal(SSL_write(w.p.s, msg, (int)len + 1), (int)len + 1);
		settle(&w);
		assert_int_equal(harness_read(w.tun_far, got, sizeof(got)), (ssize_t)len);
		assert_memory_equal(got, pkt, len);
	}
	assert_int_equal(stats_of(&w).rx_packets, 30);
	assert_int_equal(stats_of(&w).tx_packets, 30);
	assert_int_equal(w.n_control, 0);
	world_down(&w);
}

static void aes128_gcm_both_ways(void **state)
{
	(void)state;
	both_ways("PSK-AES128-GCM-SHA256");
}

static void aes256_gcm_both_ways(void **state)
{
	(void)state;
	both_ways("PSK-AES256-GCM-SHA384");
}

static void chacha20_poly1305_both_ways(void **state)
{
	(void)state;
	both_ways("PSK-CHACHA20-POLY1305");
}

/* DPD requests are answered by the engine, replies counted; other types go up opened. */
static void dpd_and_control(void **state)
{
	const uint8_t dpd_out = 3, keepalive = 7, handshake_like[16] = {22, 0xfe, 0xfd};
	struct world w;
	uint8_t got[64];

	(void)state;
	world_up(&w, "PSK-AES128-GCM-SHA256");
	assert_int_equal(SSL_write(w.p.s, &dpd_out, 1), 1);
	settle(&w);
	assert_int_equal(ssl_read_wait(&w, got, sizeof(got)), 1);
	assert_int_equal(got[0], 4); /* DPD-RESP */
	assert_int_equal(stats_of(&w).keepalive_rx, 1);
	assert_int_equal(sl_engine_dtls_send(w.e, PEER_SERVER, 3, NULL, 0), 0);
	assert_int_equal(ssl_read_wait(&w, got, sizeof(got)), 1);
	assert_int_equal(got[0], 3);
	assert_int_equal(w.n_control, 0);

	assert_int_equal(SSL_write(w.p.s, &keepalive, 1), 1);
	settle(&w);
	assert_int_equal(w.n_control, 1);
	assert_int_equal(w.control_len, 1);
	assert_int_equal(w.control[0], 7);
	/* not application data: up as it arrived */
	assert_int_equal(send(w.p.sfd, handshake_like, sizeof(handshake_like), 0),
			 (ssize_t)sizeof(handshake_like));
	settle(&w);
	assert_int_equal(w.n_control, 2);
	assert_int_equal(w.control_len, sizeof(handshake_like));
	assert_memory_equal(w.control, handshake_like, sizeof(handshake_like));
	{
		struct sl_peer_stats es;

		assert_int_equal(sl_engine_stats(w.e, &es), 0);
		assert_int_equal(es.control_rx, 2); /* the keepalive and the handshake record */
	}
	world_down(&w);
}

/* A record sealed with the server's keys ahead of OpenSSL's sequence: replayed, tampered. */
static void replay_and_tamper(void **state)
{
	struct sl_dtls_dir tx, rx;
	struct test_pkt t;
	struct world w;
	struct sl_peer_stats s;

	(void)state;
	world_up(&w, "PSK-AES256-GCM-SHA384");
	assert_int_equal(sl_ac_dtls_export(w.p.s, &w.p.sseq, &tx, &rx, 0), 0);
	tx.seq += 1000;
	pkt_make(&t, SL_DTLS_HEADROOM, data_record, sizeof(data_record), SL_DTLS_TAILROOM);
	assert_int_equal(sl_dtls_seal(&tx, &t.p, SL_DTLS_APP_DATA, NULL), SL_DROP_NONE);
	for (int i = 0; i < 2; i++)
		assert_int_equal(send(w.p.sfd, t.p.data, t.p.len, 0), (ssize_t)t.p.len);
	t.p.data[t.p.len - 1] ^= 1;
	t.p.data[10] ^= 0x80; /* another sequence number, so the tag is what fails */
	assert_int_equal(send(w.p.sfd, t.p.data, t.p.len, 0), (ssize_t)t.p.len);
	settle(&w);
	s = stats_of(&w);
	assert_int_equal(s.rx_packets, 1);
	assert_int_equal(s.drops[SL_DROP_REPLAY - 1], 1);
	assert_int_equal(s.drops[SL_DROP_AUTH - 1], 1);
	/* as datagrams read from the socket too: each one the engine read is accounted for */
	assert_int_equal(s.udp_rx_drops[SL_DROP_REPLAY - 1], 1);
	assert_int_equal(s.udp_rx_drops[SL_DROP_AUTH - 1], 1);
	{
		struct sl_peer_stats es;
		uint64_t accepted = s.rx_packets - s.stream_rx_packets + s.keepalive_rx;
		uint64_t dropped = 0;

		assert_int_equal(sl_engine_stats(w.e, &es), 0);
		for (int i = 0; i < SL_DROP__COUNT - 1; i++)
			dropped += s.udp_rx_drops[i] + es.udp_rx_drops[i];
		assert_int_equal(es.udp_rx_datagrams, accepted + dropped + w.n_control);
	}
	pkt_free(&t);
	sl_dtls_dir_clear(&tx);
	sl_dtls_dir_clear(&rx);
	world_down(&w);
}

static int stream_calls;

static int count_stream(void *arg, const uint8_t *ip, size_t len)
{
	(void)arg;
	(void)ip;
	(void)len;
	stream_calls++;
	return 0;
}

/*
 * As `sluice connect` does it: the engine has no socket of its own; the one
 * the OpenSSL client did its handshake on is handed over with the keys. Until
 * then data goes to the stream (CSTP); after, the records leave and arrive on
 * that socket; detached, the engine no longer reads it.
 */
static void handover_of_the_handshake_socket(void **state)
{
	const uint8_t dpd_resp = 4;
	struct sl_engine_cfg cfg;
	struct sl_peer_cfg pc;
	struct sl_dtls_key_pair kp;
	struct sl_prefix pre;
	struct sockaddr_storage srv;
	socklen_t l = sizeof(srv);
	struct sl_loop *loop = sl_loop_new(NULL);
	struct sl_engine *e;
	struct world w; /* for ssl_read_wait */
	uint8_t pkt[1500], msg[1600], got[2000];
	int sv[2], tcp = socket(AF_INET, SOCK_STREAM, 0);
	size_t len;

	(void)state;
	memset(&w, 0, sizeof(w));
	handshake(&w.p, "PSK-AES128-GCM-SHA256");
	assert_non_null(loop);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	sl_engine_cfg_init(&cfg);
	cfg.loop = loop;
	cfg.ifname = "d";
	cfg.pool_packets = 256;
	cfg.wire = SL_WIRE_DTLS;
	cfg.tun_fd = sv[0];
	cfg.on_control = on_control;
	cfg.control_arg = &w;
	assert_int_equal(sl_engine_new(&e, &cfg), 0);
	assert_int_equal(sl_engine_udp_port(e, 0), 0); /* no socket of its own */
	sl_peer_cfg_init(&pc);
	pc.keepalive_ms = 0;
	pc.stream_send = count_stream;
	assert_int_equal(sl_peer_new(e, PEER_SERVER, &pc), 0);
	assert_int_equal(sl_parse_prefix("0.0.0.0/0", &pre), 0);
	assert_int_equal(sl_peer_route_add(e, PEER_SERVER, &pre), 0);

	/* no DTLS session yet: the stream carries it */
	stream_calls = 0;
	len = ipv4_packet(pkt, 100, 1);
	assert_int_equal(write(sv[1], pkt, len), (ssize_t)len);
	harness_settle(loop);
	assert_int_equal(stream_calls, 1);

	assert_int_equal(getpeername(w.p.cfd, (struct sockaddr *)&srv, &l), 0);
	assert_int_equal(sl_peer_set_endpoint(e, PEER_SERVER, (struct sockaddr *)&srv, l), 0);
	assert_int_equal(sl_ac_dtls_key_pair(w.p.c, &w.p.cseq, &kp), 0);
	assert_int_equal(sl_key_set_dtls(e, PEER_SERVER, SL_KEY_PRIMARY, &kp), 0);
	memset(&kp, 0, sizeof(kp));
	assert_int_equal(sl_engine_udp_attach(e, tcp), -EINVAL);
	assert_int_equal(sl_engine_udp_attach(e, w.p.cfd), 0);
	assert_int_equal(sl_engine_udp_attach(e, w.p.cfd), -EEXIST);
	/* a peer with a stream starts on it; the first DPD answer over DTLS moves it to UDP */
	assert_int_equal(harness_stats(e, PEER_SERVER).transport, SL_TRANSPORT_STREAM);
	assert_int_equal(SSL_write(w.p.s, &dpd_resp, 1), 1);
	harness_settle(loop);
	assert_int_equal(harness_stats(e, PEER_SERVER).transport, SL_TRANSPORT_UDP);
	for (int i = 0; i < 10; i++) {
		len = ipv4_packet(pkt, (size_t)i * 101, (uint8_t)i);
		assert_int_equal(write(sv[1], pkt, len), (ssize_t)len);
		harness_settle(loop);
		assert_int_equal(ssl_read_wait(&w, got, sizeof(got)), (int)len + 1);
		assert_memory_equal(got + 1, pkt, len);

		msg[0] = 0;
		memcpy(msg + 1, pkt, len);
		assert_int_equal(SSL_write(w.p.s, msg, (int)len + 1), (int)len + 1);
		harness_settle(loop);
		assert_int_equal(harness_read(sv[1], got, sizeof(got)), (ssize_t)len);
		assert_memory_equal(got, pkt, len);
	}
	assert_int_equal(stream_calls, 1);
	assert_int_equal(harness_stats(e, PEER_SERVER).rx_packets, 10);
	assert_int_equal(harness_stats(e, PEER_SERVER).keepalive_rx, 1);

	/* the key gone (a new handshake): back to the stream at once */
	assert_int_equal(sl_key_del(e, PEER_SERVER, SL_KEY_PRIMARY), 0);
	assert_int_equal(write(sv[1], pkt, len), (ssize_t)len);
	harness_settle(loop);
	assert_int_equal(stream_calls, 2);

	/* given back: what arrives now is the caller's to read */
	assert_int_equal(sl_engine_udp_detach(e, w.p.cfd), 0);
	assert_int_equal(sl_engine_udp_detach(e, w.p.cfd), -ENOENT);
	assert_int_equal(SSL_write(w.p.s, msg, (int)len + 1), (int)len + 1);
	harness_settle(loop);
	assert_int_equal(harness_stats(e, PEER_SERVER).rx_packets, 10);
	assert_true(recv(w.p.cfd, got, sizeof(got), MSG_DONTWAIT) > 0);

	sl_engine_free(e);
	close(sv[1]);
	close(tcp);
	sl_loop_free(loop);
	pair_free(&w.p); /* closes cfd: the engine did not */
}

/*
 * A server's peers are found by the datagram's source (a record names no
 * peer): with many peers, the one whose endpoint sent it, after endpoint
 * changes and deletions too; a source that is no peer's goes up undecrypted.
 */
static void peers_by_endpoint(void **state)
{
	enum { N = 64 };
	struct sockaddr_storage srv, fake;
	struct sl_dtls_key_pair kp;
	struct sl_peer_cfg pc;
	struct sl_peer_stats es;
	struct sl_prefix pre;
	socklen_t l = sizeof(srv);
	struct world w;

	(void)state;
	world_up(&w, "PSK-AES128-GCM-SHA256");
	assert_int_equal(getsockname(w.p.sfd, (struct sockaddr *)&srv, &l), 0);
	/* N more peers with the same keys, each at a port nothing sends from */
	for (uint32_t i = 0; i < N; i++) {
		sl_peer_cfg_init(&pc);
		pc.keepalive_ms = 0;
		memcpy(&pc.endpoint, &srv, sizeof(struct sockaddr_in));
		((struct sockaddr_in *)&pc.endpoint)->sin_port = htons((uint16_t)(20000 + i));
		assert_int_equal(sl_peer_new(w.e, 100 + i, &pc), 0);
		assert_int_equal(sl_ac_dtls_key_pair(w.p.c, &w.p.cseq, &kp), 0);
		assert_int_equal(sl_key_set_dtls(w.e, 100 + i, SL_KEY_PRIMARY, &kp), 0);
	}
	assert_int_equal(SSL_write(w.p.s, data_record, sizeof(data_record)),
			 (int)sizeof(data_record));
	settle(&w);
	assert_int_equal(stats_of(&w).rx_packets, 1);
	for (uint32_t i = 0; i < N; i++)
		assert_int_equal(harness_stats(w.e, 100 + i).rx_packets, 0);

	/* the source moves to peer 137: its records are 137's now (and their inner source is one
	 * 137 may use) */
	assert_int_equal(sl_parse_prefix("198.19.0.2/32", &pre), 0);
	assert_int_equal(sl_peer_route_add(w.e, 137, &pre), 0);
	fake = srv;
	((struct sockaddr_in *)&fake)->sin_port = htons(19999);
	assert_int_equal(sl_peer_set_endpoint(w.e, PEER_SERVER, (struct sockaddr *)&fake,
					      sizeof(struct sockaddr_in)),
			 0);
	assert_int_equal(
		sl_peer_set_endpoint(w.e, 137, (struct sockaddr *)&srv, sizeof(struct sockaddr_in)),
		0);
	assert_int_equal(SSL_write(w.p.s, data_record, sizeof(data_record)),
			 (int)sizeof(data_record));
	settle(&w);
	assert_int_equal(stats_of(&w).rx_packets, 1);
	assert_int_equal(harness_stats(w.e, 137).rx_packets, 1);

	/* 137 gone: the source is no peer's; up to the control plane as it came */
	assert_int_equal(sl_peer_del(w.e, 137), 0);
	assert_int_equal(SSL_write(w.p.s, data_record, sizeof(data_record)),
			 (int)sizeof(data_record));
	settle(&w);
	assert_int_equal(w.n_control, 1);
	assert_int_equal(sl_engine_stats(w.e, &es), 0);
	assert_int_equal(es.control_rx, 1);
	OPENSSL_cleanse(&kp, sizeof(kp));
	world_down(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(aes128_gcm_both_ways),
		cmocka_unit_test(aes256_gcm_both_ways),
		cmocka_unit_test(chacha20_poly1305_both_ways),
		cmocka_unit_test(dpd_and_control),
		cmocka_unit_test(replay_and_tamper),
		cmocka_unit_test(handover_of_the_handshake_socket),
		cmocka_unit_test(peers_by_endpoint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
