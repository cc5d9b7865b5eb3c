// SPDX-License-Identifier: MIT
/*
 * The engine speaking OpenVPN data packets (SL_WIRE_OPENVPN), without root:
 * two engines on one loop (harness TUN socketpairs, UDP on 127.0.0.1), A
 * the server, B its client, keys from one key2 mapped by role. Checks the
 * wire bytes (P_DATA_V2 with the pushed peer-id, key id), that they open
 * with the proto codec as stock openvpn would (the codec's own vectors are
 * in test_ovpn_data.c), control packets handed to the control plane and
 * sent from it, ping keepalives, a rekey into key id 1 with the old key as
 * lame duck, and the drop counters for tampering and unknown key ids.
 */
#include "core/bytes.h"
#include "core/loop.h"
#include "crypto/aead.h"
#include "ctl/openvpn/keys.h"
#include "dco/uapi.h"
#include "proto/ovpn_data.h"
#include "sluice/engine.h"
#include "sluice/engine_ovpn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine_harness.h"
#include "engine_test_util.h"

#define PEER_CLIENT 7	/* A's (the server's) peer id for B: pushed as "peer-id 7" */
#define PEER_SERVER 100 /* B's own name for its server */

struct node {
	struct sl_engine *e;
	int tun_far;
	struct sockaddr_in udp;
	unsigned n_control;
	uint8_t control[2048];
	size_t control_len;
	struct sockaddr_storage control_from;
};

struct world {
	sl_time_ns now;
	struct sl_loop *loop;
	struct node a, b;
	int spy;
	struct sockaddr_in spy_addr;
	uint8_t key2[SL_OVPN_KEY2_LEN];
	int events[16];
};

static sl_time_ns fake_now(void *arg)
{
	return ((struct world *)arg)->now;
}

static void on_event(void *arg, const struct sl_event *ev)
{
	struct world *w = arg;

	if (ev->type < 16)
		w->events[ev->type]++;
}

static void on_control(void *arg, const uint8_t *pkt, size_t len,
		       const struct sockaddr_storage *from)
{
	struct node *n = arg;

	n->n_control++;
	memcpy(n->control, pkt, len);
	n->control_len = len;
	if (from)
		n->control_from = *from;
}

static void node_up(struct world *w, struct node *n, const char *name)
{
	struct sl_engine_cfg cfg;

	sl_engine_cfg_init(&cfg);
	cfg.loop = w->loop;
	cfg.ifname = name;
	cfg.pool_packets = 256;
	cfg.on_event = on_event;
	cfg.event_arg = w;
	cfg.wire = SL_WIRE_OPENVPN;
	cfg.on_control = on_control;
	cfg.control_arg = n;
	assert_int_equal(harness_engine_new(&n->e, &n->tun_far, &cfg, 0), 0);
	harness_engine_addr(n->e, &n->udp);
}

static void install(struct world *w, enum sl_key_slot slot, uint8_t key_id, uint8_t salt)
{
	struct sl_ovpn_key_pair ka, kb;
	uint8_t key2[SL_OVPN_KEY2_LEN];

	for (size_t i = 0; i < sizeof(key2); i++)
		key2[i] = (uint8_t)(w->key2[i] ^ salt);
	/* The server sends P_DATA_V2 with peer-id too; the client puts the pushed id in its own. */
	assert_int_equal(sl_ovpn_key_pair_from_key2(key2, SL_OVPN_ROLE_SERVER, SL_CIPHER_AES256GCM,
						    key_id, PEER_CLIENT, SL_OVPN_COMP_NONE, &ka),
			 0);
	assert_int_equal(sl_ovpn_key_pair_from_key2(key2, SL_OVPN_ROLE_CLIENT, SL_CIPHER_AES256GCM,
						    key_id, PEER_CLIENT, SL_OVPN_COMP_NONE, &kb),
			 0);
	assert_int_equal(sl_key_set_ovpn(w->a.e, PEER_CLIENT, slot, &ka), 0);
	assert_int_equal(sl_key_set_ovpn(w->b.e, PEER_SERVER, slot, &kb), 0);
}

static void peers_up(struct world *w)
{
	struct sl_peer_cfg pc;
	struct sl_prefix p;

	sl_peer_cfg_init(&pc);
	pc.keepalive_ms = 1000;
	pc.silent_ms = 10000;
	pc.follow_endpoint = true;
	memcpy(&pc.endpoint, &w->b.udp, sizeof(w->b.udp));
	assert_int_equal(sl_peer_new(w->a.e, PEER_CLIENT, &pc), 0);
	memcpy(&pc.endpoint, &w->a.udp, sizeof(w->a.udp));
	assert_int_equal(sl_peer_new(w->b.e, PEER_SERVER, &pc), 0);
	harness_prefix(&p, "198.19.0.2/32");
	assert_int_equal(sl_peer_route_add(w->a.e, PEER_CLIENT, &p), 0);
	harness_prefix(&p, "0.0.0.0/0");
	assert_int_equal(sl_peer_route_add(w->b.e, PEER_SERVER, &p), 0);
	install(w, SL_KEY_PRIMARY, 0, 0);
}

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	struct sl_clock clock = {fake_now, w};

	w->now = 1000 * SL_SEC;
	w->loop = sl_loop_new(&clock);
	assert_non_null(w->loop);
	node_up(w, &w->a, "a");
	node_up(w, &w->b, "b");
	for (size_t i = 0; i < sizeof(w->key2); i++)
		w->key2[i] = (uint8_t)(i * 29 + 3);
	w->spy = harness_udp_loopback(&w->spy_addr);
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;

	sl_engine_free(w->a.e);
	sl_engine_free(w->b.e);
	close(w->a.tun_far);
	close(w->b.tun_far);
	close(w->spy);
	sl_loop_free(w->loop);
	free(w);
	return 0;
}

static void settle(struct world *w)
{
	harness_settle(w->loop);
}

static void test_data_both_ways(void **state)
{
	struct world *w = *state;
	uint8_t pkt[1500], got[2000];
	size_t len;

	peers_up(w);
	settle(w);
	for (int i = 0; i < 50; i++) {
		len = harness_ipv4_packet(pkt, "198.19.0.1", "198.19.0.2", (size_t)i * 25,
					  (uint8_t)i);
		assert_int_equal(write(w->a.tun_far, pkt, len), (ssize_t)len);
		settle(w);
		assert_int_equal(harness_read(w->b.tun_far, got, sizeof(got)), (ssize_t)len);
		assert_memory_equal(got, pkt, len);
		len = harness_ipv4_packet(pkt, "198.19.0.2", "198.19.0.1", (size_t)i * 27,
					  (uint8_t)~i);
		assert_int_equal(write(w->b.tun_far, pkt, len), (ssize_t)len);
		settle(w);
		assert_int_equal(harness_read(w->a.tun_far, got, sizeof(got)), (ssize_t)len);
		assert_memory_equal(got, pkt, len);
	}
	assert_int_equal(harness_stats(w->a.e, PEER_CLIENT).rx_packets, 50);
	assert_int_equal(harness_stats(w->b.e, PEER_SERVER).rx_packets, 50);
	/* The key install sent a ping each way, and pings are not data. */
	assert_true(harness_stats(w->b.e, PEER_SERVER).keepalive_rx >= 1);
	assert_true(harness_stats(w->a.e, PEER_CLIENT).keepalive_rx >= 1);
}

/* What B sends, seen on the wire: P_DATA_V2, key id 0, the pushed peer-id, packet-ids from 1. */
static void test_wire_format(void **state)
{
	struct world *w = *state;
	uint8_t pkt[200], wire[400], key2[SL_OVPN_KEY2_LEN];
	struct sl_ovpn_sa tx, rx;
	struct sl_pkt p;
	ssize_t n;
	size_t len;

	peers_up(w);
	settle(w);
	/* B now sends to the spy, which opens with the server's keys as openvpn would. */
	assert_int_equal(sl_peer_set_endpoint(w->b.e, PEER_SERVER, (struct sockaddr *)&w->spy_addr,
					      sizeof(w->spy_addr)),
			 0);
	len = harness_ipv4_packet(pkt, "198.19.0.2", "198.19.0.1", 100, 0x5a);
	assert_int_equal(write(w->b.tun_far, pkt, len), (ssize_t)len);
	settle(w);
	n = harness_read(w->spy, wire + 64, sizeof(wire) - 64);
	assert_int_equal(n, (ssize_t)(len + SL_OVPN_V2_HDR_LEN));
	assert_int_equal(wire[64], SL_OVPN_P_DATA_V2 << 3 | 0);
	assert_int_equal(sl_get_be32(wire + 64) & 0xFFFFFF, PEER_CLIENT);
	assert_true(sl_get_be32(wire + 68) >= 1); /* packet-id (a ping may have gone first) */
	memcpy(key2, w->key2, sizeof(key2));
	assert_int_equal(sl_ovpn_sas_from_key2(&tx, &rx, key2, SL_OVPN_ROLE_SERVER,
					       SL_CIPHER_AES256GCM, 0, PEER_CLIENT, 0),
			 0);
	p = (struct sl_pkt){
		.buf = wire, .data = wire + 64, .len = (uint32_t)n, .cap = sizeof(wire)};
	assert_int_equal(sl_ovpn_open(&rx, &p), SL_DROP_NONE);
	assert_int_equal(p.len, len);
	assert_memory_equal(p.data, pkt, len);
	sl_ovpn_sa_clear(&tx);
	sl_ovpn_sa_clear(&rx);
}

static void test_control_packets_go_to_the_control_plane(void **state)
{
	struct world *w = *state;
	const uint8_t reset[14] = {0x38, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0};
	const uint8_t data_op[4] = {0x48, 0, 0, 0}; /* too short to be a data packet */
	struct sockaddr_storage to;
	uint8_t got[64];

	assert_int_equal(sendto(w->spy, reset, sizeof(reset), 0, (struct sockaddr *)&w->a.udp,
				sizeof(w->a.udp)),
			 (ssize_t)sizeof(reset));
	settle(w);
	assert_int_equal(w->a.n_control, 1);
	assert_int_equal(w->a.control_len, sizeof(reset));
	assert_memory_equal(w->a.control, reset, sizeof(reset));
	assert_int_equal(((struct sockaddr_in *)&w->a.control_from)->sin_port,
			 w->spy_addr.sin_port);
	/* And the control plane answers on the engine's socket. */
	memset(&to, 0, sizeof(to));
	memcpy(&to, &w->spy_addr, sizeof(w->spy_addr));
	assert_int_equal(sl_engine_udp_send(w->a.e, &to, reset, sizeof(reset)), 0);
	assert_int_equal(harness_read(w->spy, got, sizeof(got)), (ssize_t)sizeof(reset));
	/* Not control, not a whole data packet: a named drop, no callback. */
	sendto(w->spy, data_op, sizeof(data_op), 0, (struct sockaddr *)&w->a.udp, sizeof(w->a.udp));
	settle(w);
	{
		struct sl_peer_stats s;

		sl_engine_stats(w->a.e, &s);
		assert_int_equal(s.drops[SL_DROP_MALFORMED - 1], 1);
		/* Every datagram read is accounted for: one handed on, one a receive drop. */
		assert_int_equal(s.udp_rx_datagrams, 2);
		assert_int_equal(s.control_rx, 1);
		assert_int_equal(s.udp_rx_drops[SL_DROP_MALFORMED - 1], 1);
	}
	assert_int_equal(w->a.n_control, 1);
}

static void test_ping_keepalive(void **state)
{
	struct world *w = *state;
	uint64_t before;

	peers_up(w);
	settle(w);
	before = harness_stats(w->b.e, PEER_SERVER).keepalive_rx;
	for (int i = 0; i < 5; i++) {
		w->now += SL_SEC;
		settle(w);
	}
	/* One ping a second from A (keepalive_ms 1000); none reached TUN. */
	assert_true(harness_stats(w->b.e, PEER_SERVER).keepalive_rx >= before + 4);
	assert_int_equal(harness_stats(w->b.e, PEER_SERVER).rx_packets, 0);
	assert_true(harness_stats(w->b.e, PEER_SERVER).last_rx_ns >= w->now - SL_SEC);
}

/* New key id in the secondary slots, A swaps first: B opens key id 1 and still key id 0. */
static void test_rekey_key_ids(void **state)
{
	struct world *w = *state;
	uint8_t pkt[1500], got[2000];
	size_t len;

	peers_up(w);
	settle(w);
	install(w, SL_KEY_SECONDARY, 1, 0x77);
	assert_int_equal(sl_key_swap(w->a.e, PEER_CLIENT), 0);
	len = harness_ipv4_packet(pkt, "198.19.0.1", "198.19.0.2", 300, 1);
	assert_int_equal(write(w->a.tun_far, pkt, len), (ssize_t)len);
	settle(w);
	assert_int_equal(harness_read(w->b.tun_far, got, sizeof(got)), (ssize_t)len);
	/* B has not swapped yet: it still sends key id 0, which A keeps as lame duck. */
	len = harness_ipv4_packet(pkt, "198.19.0.2", "198.19.0.1", 300, 2);
	assert_int_equal(write(w->b.tun_far, pkt, len), (ssize_t)len);
	settle(w);
	assert_int_equal(harness_read(w->a.tun_far, got, sizeof(got)), (ssize_t)len);
	assert_int_equal(harness_stats(w->a.e, PEER_CLIENT).key_id[SL_KEY_PRIMARY], 1);
	/* Key id 0 gone from A: B's old-key packets are nokey drops, not auth failures. */
	assert_int_equal(sl_key_del(w->a.e, PEER_CLIENT, SL_KEY_SECONDARY), 0);
	assert_int_equal(write(w->b.tun_far, pkt, len), (ssize_t)len);
	settle(w);
	assert_int_equal(harness_read(w->a.tun_far, got, sizeof(got)), -1);
	assert_int_equal(harness_stats(w->a.e, PEER_CLIENT).drops[SL_DROP_NOKEY - 1], 1);
	assert_int_equal(harness_stats(w->a.e, PEER_CLIENT).drops[SL_DROP_AUTH - 1], 0);
}

/* Peers up, and one packet the client (B) sealed for A, caught on the spy socket instead. */
static ssize_t capture_sealed(struct world *w, uint8_t *wire, size_t cap)
{
	uint8_t pkt[200];
	size_t len;

	peers_up(w);
	settle(w);
	assert_int_equal(sl_peer_set_endpoint(w->b.e, PEER_SERVER, (struct sockaddr *)&w->spy_addr,
					      sizeof(w->spy_addr)),
			 0);
	len = harness_ipv4_packet(pkt, "198.19.0.2", "198.19.0.1", 64, 9);
	assert_int_equal(write(w->b.tun_far, pkt, len), (ssize_t)len);
	settle(w);
	return harness_read(w->spy, wire, cap);
}

/* The same packet twice: a replay drop; a changed header: an auth drop. */
static void test_tamper_and_replay(void **state)
{
	struct world *w = *state;
	uint8_t wire[400];
	ssize_t n;

	n = capture_sealed(w, wire, sizeof(wire));
	assert_true(n > 0);
	for (int i = 0; i < 2; i++)
		sendto(w->spy, wire, (size_t)n, 0, (struct sockaddr *)&w->a.udp, sizeof(w->a.udp));
	/* A new packet-id (so not a replay) that the tag does not cover: an auth drop. */
	wire[6] ^= 0x10;
	sendto(w->spy, wire, (size_t)n, 0, (struct sockaddr *)&w->a.udp, sizeof(w->a.udp));
	settle(w);
	assert_int_equal(harness_stats(w->a.e, PEER_CLIENT).rx_packets, 1);
	assert_int_equal(harness_stats(w->a.e, PEER_CLIENT).drops[SL_DROP_REPLAY - 1], 1);
	assert_int_equal(harness_stats(w->a.e, PEER_CLIENT).drops[SL_DROP_AUTH - 1], 1);
	/* Datagrams read from UDP: their drops also count as receive drops (impair.sh's sums). */
	assert_int_equal(harness_stats(w->a.e, PEER_CLIENT).udp_rx_drops[SL_DROP_REPLAY - 1], 1);
	assert_int_equal(harness_stats(w->a.e, PEER_CLIENT).udp_rx_drops[SL_DROP_AUTH - 1], 1);
	/* ESP keys are refused on an OpenVPN engine's key API and vice versa. */
	{
		struct sl_ovpn_key_pair kp = {.cipher = SL_CIPHER_AES256GCM, .key_id = 8};

		assert_int_equal(sl_key_set_ovpn(w->a.e, PEER_CLIENT, SL_KEY_PRIMARY, &kp),
				 -EINVAL);
	}
}

/* Auth failures from an address that is not the client's endpoint: 64, then rate (not opened). */
static void test_auth_failure_budget(void **state)
{
	struct world *w = *state;
	uint8_t wire[400];
	ssize_t n;

	n = capture_sealed(w, wire, sizeof(wire));
	assert_true(n > 8);
	for (uint32_t i = 0; i < 70; i++) {
		sl_put_be32(wire + 4, 1000 + i); /* a fresh packet-id the tag does not cover */
		sendto(w->spy, wire, (size_t)n, 0, (struct sockaddr *)&w->a.udp, sizeof(w->a.udp));
		settle(w);
	}
	assert_int_equal(harness_stats(w->a.e, PEER_CLIENT).drops[SL_DROP_AUTH - 1], 64);
	assert_int_equal(harness_stats(w->a.e, PEER_CLIENT).drops[SL_DROP_RATE - 1], 6);
	assert_int_equal(harness_stats(w->a.e, PEER_CLIENT).rx_packets, 0);
}

/* A server with two clients: client-to-client forwards B -> C inside the engine; off, via TUN. */
static void test_client_to_client(void **state)
{
	struct world *w = *state;
	struct node c = {0};
	struct sl_peer_cfg pc;
	struct sl_prefix p;
	struct sl_ovpn_key_pair ka, kc;
	uint8_t key2[SL_OVPN_KEY2_LEN], pkt[200], got[400];
	size_t len;

	peers_up(w);
	node_up(w, &c, "c");
	sl_peer_cfg_init(&pc);
	pc.keepalive_ms = 0;
	memcpy(&pc.endpoint, &c.udp, sizeof(c.udp));
	assert_int_equal(sl_peer_new(w->a.e, 8, &pc), 0);
	memcpy(&pc.endpoint, &w->a.udp, sizeof(w->a.udp));
	assert_int_equal(sl_peer_new(c.e, PEER_SERVER, &pc), 0);
	harness_prefix(&p, "198.19.0.3/32");
	assert_int_equal(sl_peer_route_add(w->a.e, 8, &p), 0);
	harness_prefix(&p, "0.0.0.0/0");
	assert_int_equal(sl_peer_route_add(c.e, PEER_SERVER, &p), 0);
	for (size_t i = 0; i < sizeof(key2); i++)
		key2[i] = (uint8_t)(i * 31 + 9);
	assert_int_equal(sl_ovpn_key_pair_from_key2(key2, SL_OVPN_ROLE_SERVER, SL_CIPHER_AES128GCM,
						    0, 8, SL_OVPN_COMP_NONE, &ka),
			 0);
	assert_int_equal(sl_ovpn_key_pair_from_key2(key2, SL_OVPN_ROLE_CLIENT, SL_CIPHER_AES128GCM,
						    0, 8, SL_OVPN_COMP_NONE, &kc),
			 0);
	assert_int_equal(sl_key_set_ovpn(w->a.e, 8, SL_KEY_PRIMARY, &ka), 0);
	assert_int_equal(sl_key_set_ovpn(c.e, PEER_SERVER, SL_KEY_PRIMARY, &kc), 0);
	settle(w);
	len = harness_ipv4_packet(pkt, "198.19.0.2", "198.19.0.3", 64, 0x33);
	/* Off: the packet goes to A's TUN (the kernel would route it). */
	assert_int_equal(write(w->b.tun_far, pkt, len), (ssize_t)len);
	settle(w);
	assert_int_equal(harness_read(w->a.tun_far, got, sizeof(got)), (ssize_t)len);
	assert_int_equal(harness_read(c.tun_far, got, sizeof(got)), -1);
	/* On: straight to C, nothing on A's TUN. */
	assert_int_equal(sl_engine_ovpn_set_client_to_client(w->a.e, true), 0);
	assert_int_equal(write(w->b.tun_far, pkt, len), (ssize_t)len);
	settle(w);
	assert_int_equal(harness_read(c.tun_far, got, sizeof(got)), (ssize_t)len);
	assert_memory_equal(got, pkt, len);
	assert_int_equal(harness_read(w->a.tun_far, got, sizeof(got)), -1);
	/* A spoofed source (not B's) is not forwarded: deliver() drops it as noroute. */
	len = harness_ipv4_packet(pkt, "198.19.0.9", "198.19.0.3", 64, 0x34);
	assert_int_equal(write(w->b.tun_far, pkt, len), (ssize_t)len);
	settle(w);
	assert_int_equal(harness_read(c.tun_far, got, sizeof(got)), -1);
	assert_int_equal(harness_stats(w->a.e, PEER_CLIENT).drops[SL_DROP_NOROUTE - 1], 1);
	sl_engine_free(c.e);
	close(c.tun_far);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_data_both_ways, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wire_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_packets_go_to_the_control_plane, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ping_keepalive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rekey_key_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper_and_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_failure_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_to_client, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
