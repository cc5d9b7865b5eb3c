// SPDX-License-Identifier: MIT
/*
 * PPP negotiation: a server session and a client session wired back to back
 * reach the network phase with the addresses the server assigns; echo,
 * terminate, Protocol-Reject of IPV6CP, rejected options and retransmission
 * after lost packets, and giving up when the peer never answers. The exact
 * packets openconnect sends (ppp.c) are fed to the server where it matters.
 */
#include "ctl/ppp/session.h"

#include "proto/ppp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hex.h"

#define QMAX 64

struct msg {
	uint16_t proto;
	uint8_t b[256];
	size_t n;
};

struct end {
	struct sl_ppp_session s;
	struct msg q[QMAX]; /* what this end sent, not yet delivered */
	int nq;
	int network, downs;
	char reason[128];
	int drop_next; /* lose this many of the packets it sends */
};

static int on_send(void *arg, uint16_t proto, const uint8_t *pkt, size_t len)
{
	struct end *e = arg;

	if (e->drop_next > 0) {
		e->drop_next--;
		return 0;
	}
	assert_true(e->nq < QMAX && len <= sizeof(e->q[0].b));
	e->q[e->nq].proto = proto;
	memcpy(e->q[e->nq].b, pkt, len);
	e->q[e->nq].n = len;
	e->nq++;
	return 0;
}

static void on_network(void *arg)
{
	((struct end *)arg)->network++;
}

static void on_down(void *arg, const char *reason)
{
	struct end *e = arg;

	e->downs++;
	snprintf(e->reason, sizeof(e->reason), "%s", reason);
}

static const struct sl_ppp_session_ops ops = {on_send, on_network, on_down};

static void server_cfg(struct sl_ppp_session_cfg *c)
{
	*c = (struct sl_ppp_session_cfg){.server = true,
					 .hdlc = true,
					 .ipv4 = true,
					 .ipv6 = true,
					 .magic = 0x11223344,
					 .local_ip4 = {198, 19, 0, 1},
					 .peer_ip4 = {198, 19, 0, 2},
					 .dns = {{198, 19, 0, 53}},
					 .local_ifid = {0, 0, 0, 0, 0, 0, 0, 1},
					 .peer_ifid = {0, 0, 0, 0, 0, 0, 0, 2},
					 .echo_interval_s = 1,
					 .echo_fails = 2};
}

static void client_cfg(struct sl_ppp_session_cfg *c)
{
	*c = (struct sl_ppp_session_cfg){
		.hdlc = true, .ipv4 = true, .ipv6 = true, .magic = 0x55667788};
}

/* Deliver what a sent to b; returns how many packets moved. */
static int deliver(struct end *a, struct end *b)
{
	int n = a->nq;
	struct msg q[QMAX];

	memcpy(q, a->q, sizeof(q));
	a->nq = 0;
	for (int i = 0; i < n; i++)
		sl_ppp_session_input(&b->s, q[i].proto, q[i].b, q[i].n);
	return n;
}

static void run(struct end *a, struct end *b, int rounds)
{
	for (int i = 0; i < rounds; i++)
		if (!deliver(a, b) + !deliver(b, a) == 2)
			break;
}

static void pair(struct end *srv, struct end *cli)
{
	struct sl_ppp_session_cfg sc, cc;

	memset(srv, 0, sizeof(*srv));
	memset(cli, 0, sizeof(*cli));
	server_cfg(&sc);
	client_cfg(&cc);
	sl_ppp_session_init(&srv->s, &sc, &ops, srv);
	sl_ppp_session_init(&cli->s, &cc, &ops, cli);
}

static void back_to_back_reaches_network(void **state)
{
	struct end srv, cli;
	const uint8_t want_ip[4] = {198, 19, 0, 2}, srv_ip[4] = {198, 19, 0, 1};
	const uint8_t want_ifid[8] = {0, 0, 0, 0, 0, 0, 0, 2};

	pair(&srv, &cli);
	sl_ppp_session_start(&srv.s);
	sl_ppp_session_start(&cli.s);
	run(&srv, &cli, 20);
	assert_int_equal(srv.network, 1);
	assert_int_equal(cli.network, 1);
	assert_true(sl_ppp_session_up(&srv.s) && sl_ppp_session_up(&cli.s));
	assert_memory_equal(cli.s.cfg.local_ip4, want_ip, 4);
	assert_memory_equal(cli.s.peer_ip4_seen, srv_ip, 4);
	assert_memory_equal(srv.s.peer_ip4_seen, want_ip, 4);
	assert_memory_equal(cli.s.cfg.local_ifid, want_ifid, 8);
	/* both asked for ACCM 0, PFC, ACFC: both may send compact frames */
	assert_int_equal(srv.s.tx_accm, 0);
	assert_true(srv.s.tx_acfc && srv.s.tx_pfc && cli.s.tx_acfc);
	assert_int_equal(srv.s.peer_magic, 0x55667788);
	assert_int_equal(srv.downs + cli.downs, 0);
}

/* openconnect's IPCP request: address, DNS and NBNS (both) 0: NBNS and the DNS2 we lack rejected.
 */
static void openconnect_ipcp_request(void **state)
{
	struct end srv, cli;
	uint8_t b[64], want[64];
	size_t n;

	pair(&srv, &cli);
	sl_ppp_session_start(&srv.s);
	sl_ppp_session_start(&cli.s);
	run(&srv, &cli, 20);
	assert_true(sl_ppp_session_up(&srv.s));
	n = unhex("01050022"
		  "030600000000"
		  "810600000000"
		  "820600000000"
		  "830600000000"
		  "840600000000",
		  b, sizeof(b));
	sl_ppp_session_input(&srv.s, SL_PPP_IPCP, b, n);
	assert_int_equal(srv.nq, 1);
	n = unhex("04050016"
		  "820600000000"
		  "830600000000"
		  "840600000000",
		  want, sizeof(want));
	assert_int_equal(srv.q[0].proto, SL_PPP_IPCP);
	assert_int_equal(srv.q[0].n, n);
	assert_memory_equal(srv.q[0].b, want, n);
	srv.nq = 0;
	/* without them: the address and DNS come back as a Nak */
	n = unhex("01060010"
		  "030600000000"
		  "810600000000",
		  b, sizeof(b));
	sl_ppp_session_input(&srv.s, SL_PPP_IPCP, b, n);
	n = unhex("03060010"
		  "0306c6130002"
		  "8106c6130035",
		  want, sizeof(want));
	assert_int_equal(srv.nq, 1);
	assert_memory_equal(srv.q[0].b, want, n);
}

static void echo_and_dead_peer(void **state)
{
	struct end srv, cli;
	uint8_t b[16];
	size_t n = unhex("09070008"
			 "55667788",
			 b, sizeof(b));

	pair(&srv, &cli);
	sl_ppp_session_start(&srv.s);
	sl_ppp_session_start(&cli.s);
	run(&srv, &cli, 20);
	sl_ppp_session_input(&srv.s, SL_PPP_LCP, b, n);
	assert_int_equal(srv.nq, 1);
	assert_int_equal(srv.q[0].b[0], SL_PPP_ECHO_REP);
	assert_int_equal(srv.q[0].b[1], 7);
	srv.nq = 0;
	/* answered echoes keep it up */
	for (int i = 0; i < 5; i++) {
		sl_ppp_session_tick(&srv.s);
		run(&srv, &cli, 4);
	}
	assert_int_equal(srv.downs, 0);
	/* unanswered: down after echo_fails intervals */
	for (int i = 0; i < 5; i++) {
		sl_ppp_session_tick(&srv.s);
		srv.nq = 0;
	}
	assert_int_equal(srv.downs, 1);
	assert_string_equal(srv.reason, "peer dead (no Echo-Reply)");
}

static void terminate_request(void **state)
{
	struct end srv, cli;

	pair(&srv, &cli);
	sl_ppp_session_start(&srv.s);
	sl_ppp_session_start(&cli.s);
	run(&srv, &cli, 20);
	sl_ppp_session_close(&cli.s, "bye");
	run(&cli, &srv, 4);
	assert_int_equal(srv.downs, 1);
	assert_string_equal(srv.reason, "terminated by peer: bye");
	assert_int_equal(cli.downs, 1);
	assert_string_equal(cli.reason, "terminated");
}

/* A peer without IPv6: Protocol-Reject of IPV6CP, network with IPv4 alone. */
static void ipv6cp_protocol_rejected(void **state)
{
	struct end srv, cli;

	pair(&srv, &cli);
	cli.s.ipv6cp.disabled = true; /* it rejects IPV6CP as unknown */
	sl_ppp_session_start(&srv.s);
	sl_ppp_session_start(&cli.s);
	run(&srv, &cli, 20);
	assert_true(srv.s.ipv6cp.disabled);
	assert_int_equal(srv.network, 1);
	assert_int_equal(cli.network, 1);
}

/* Authentication is not ours to offer: the option is rejected, the rest acked after. */
static void reject_auth_option(void **state)
{
	struct end srv, cli;
	uint8_t b[32], want[32];
	size_t n = unhex("0101000e"
			 "0304c023"
			 "050699999999",
			 b, sizeof(b));

	pair(&srv, &cli);
	sl_ppp_session_input(&srv.s, SL_PPP_LCP, b, n);
	n = unhex("04010008"
		  "0304c023",
		  want, sizeof(want));
	assert_int_equal(srv.nq, 1);
	assert_memory_equal(srv.q[0].b, want, n);
}

/* Lost packets are sent again every 3 s; a silent peer makes it give up. */
static void retransmit_and_give_up(void **state)
{
	struct end srv, cli;

	pair(&srv, &cli);
	srv.drop_next = 1; /* the first LCP request is lost */
	sl_ppp_session_start(&srv.s);
	assert_int_equal(srv.nq, 0);
	for (int i = 0; i < 3; i++)
		sl_ppp_session_tick(&srv.s);
	assert_int_equal(srv.nq, 1);
	sl_ppp_session_start(&cli.s);
	run(&srv, &cli, 20);
	assert_true(sl_ppp_session_up(&srv.s));

	pair(&srv, &cli);
	sl_ppp_session_start(&srv.s);
	for (int i = 0; i < 40; i++) {
		sl_ppp_session_tick(&srv.s);
		srv.nq = 0;
	}
	assert_int_equal(srv.downs, 1);
	assert_string_equal(srv.reason, "LCP negotiation got no answer");
}

static void malformed_ignored(void **state)
{
	struct end srv, cli;
	uint8_t b[16];

	pair(&srv, &cli);
	sl_ppp_session_input(&srv.s, SL_PPP_LCP, b, unhex("010100ff", b, sizeof(b)));
	sl_ppp_session_input(&srv.s, SL_PPP_LCP, b, unhex("010100060101", b, sizeof(b)));
	sl_ppp_session_input(&srv.s, SL_PPP_IPCP, b, unhex("01010004", b, sizeof(b)));
	assert_int_equal(srv.nq, 0);
	assert_int_equal(srv.s.bad_packets, 2); /* IPCP before LCP is silently discarded */
}

/* Bring the server's LCP to Opened against openconnect's own LCP request (no client session). */
static void lcp_opened_by_hand(struct end *srv)
{
	struct sl_ppp_session_cfg sc;
	uint8_t b[64];
	size_t n;

	memset(srv, 0, sizeof(*srv));
	server_cfg(&sc);
	sc.ipv4 = false; /* IPV6CP alone decides the network phase here */
	sl_ppp_session_init(&srv->s, &sc, &ops, srv);
	sl_ppp_session_start(&srv->s); /* our LCP request: id 1 */
	n = unhex("02010014"
		  "020600000000"
		  "050611223344"
		  "0702"
		  "0802",
		  b, sizeof(b));
	sl_ppp_session_input(&srv->s, SL_PPP_LCP, b, n);
	n = unhex("01010018"
		  "0104056e"
		  "020600000000"
		  "050612345678"
		  "0702"
		  "0802",
		  b, sizeof(b));
	sl_ppp_session_input(&srv->s, SL_PPP_LCP, b, n);
	assert_true(srv->s.lcp.ours_acked && srv->s.lcp.theirs_acked);
	/* LCP Opened sent our IPV6CP request: Configure-Request id 1, identifier ::1 */
	n = unhex("0101000e"
		  "010a0000000000000001",
		  b, sizeof(b));
	assert_true(srv->nq >= 1);
	assert_int_equal(srv->q[srv->nq - 1].proto, SL_PPP_IPV6CP);
	assert_int_equal(srv->q[srv->nq - 1].n, n);
	assert_memory_equal(srv->q[srv->nq - 1].b, b, n);
	srv->nq = 0;
}

/*
 * openconnect (ppp.c queue_config_request) asks IPV6CP with a zero Interface-Identifier when it
 * has no IPv6 address yet: RFC 5072 4.1, the server Naks with the one it assigns, acks the
 * request that carries it, and its own request (id 1, its identifier) acked makes the network.
 */
static void openconnect_ipv6cp_zero_id(void **state)
{
	struct end srv;
	uint8_t b[64], want[64];
	const uint8_t assigned[8] = {0, 0, 0, 0, 0, 0, 0, 2};
	size_t n;

	lcp_opened_by_hand(&srv);
	sl_ppp_session_input(&srv.s, SL_PPP_IPV6CP, b,
			     unhex("0101000e"
				   "010a0000000000000000",
				   b, sizeof(b)));
	n = unhex("0301000e"
		  "010a0000000000000002",
		  want, sizeof(want));
	assert_int_equal(srv.nq, 1);
	assert_int_equal(srv.q[0].proto, SL_PPP_IPV6CP);
	assert_int_equal(srv.q[0].n, n);
	assert_memory_equal(srv.q[0].b, want, n);
	assert_int_equal(srv.s.naked_ifids, 1);
	assert_false(srv.s.ipv6cp.theirs_acked);
	srv.nq = 0;
	/* openconnect takes the Nak'ed value (handle_config_rejnak) and asks again with id 2 */
	n = unhex("0102000e"
		  "010a0000000000000002",
		  b, sizeof(b));
	sl_ppp_session_input(&srv.s, SL_PPP_IPV6CP, b, n);
	assert_int_equal(srv.nq, 1);
	b[0] = SL_PPP_CONF_ACK;
	assert_memory_equal(srv.q[0].b, b, n);
	assert_memory_equal(srv.s.peer_ifid_seen, assigned, 8);
	assert_int_equal(srv.network, 0); /* our own request is not acked yet */
	sl_ppp_session_input(&srv.s, SL_PPP_IPV6CP, want,
			     unhex("0201000e"
				   "010a0000000000000001",
				   want, sizeof(want)));
	assert_int_equal(srv.network, 1);
	assert_true(sl_ppp_session_ipv6_up(&srv.s));
}

/* A peer that claims our own identifier is Nak'ed (RFC 5072 4.1: it would not be unique). */
static void ipv6cp_clashing_id(void **state)
{
	struct end srv;
	uint8_t b[32], want[32];
	size_t n;

	lcp_opened_by_hand(&srv);
	n = unhex("0107000e"
		  "010a0000000000000001",
		  b, sizeof(b));
	sl_ppp_session_input(&srv.s, SL_PPP_IPV6CP, b, n);
	n = unhex("0307000e"
		  "010a0000000000000002",
		  want, sizeof(want));
	assert_int_equal(srv.nq, 1);
	assert_memory_equal(srv.q[0].b, want, n);
	srv.nq = 0;
	/* a unique identifier of its own choosing is acked as it is */
	n = unhex("0108000e"
		  "010a02005efffe001234",
		  b, sizeof(b));
	sl_ppp_session_input(&srv.s, SL_PPP_IPV6CP, b, n);
	assert_int_equal(srv.nq, 1);
	assert_int_equal(srv.q[0].b[0], SL_PPP_CONF_ACK);
	assert_memory_equal(srv.s.peer_ifid_seen, b + 6, 8);
	assert_int_equal(srv.s.naked_ifids, 1);
}

/* Malformed IPV6CP options: a wrong length is rejected and counted, a broken list ignored. */
static void ipv6cp_malformed_options(void **state)
{
	struct end srv;
	uint8_t b[32], want[32];
	size_t n;

	lcp_opened_by_hand(&srv);
	/* an identifier of 6 bytes, and IPv6-Compression-Protocol (2) we do not speak */
	n = unhex("01030010"
		  "0108000000000001"
		  "02040000",
		  b, sizeof(b));
	sl_ppp_session_input(&srv.s, SL_PPP_IPV6CP, b, n);
	n = unhex("04030010"
		  "0108000000000001"
		  "02040000",
		  want, sizeof(want));
	assert_int_equal(srv.nq, 1);
	assert_memory_equal(srv.q[0].b, want, n);
	assert_int_equal(srv.s.rejected_options, 2);
	srv.nq = 0;
	/* an option length of 1, and one running past the packet: counted, not answered */
	sl_ppp_session_input(&srv.s, SL_PPP_IPV6CP, b,
			     unhex("01040006"
				   "0101",
				   b, sizeof(b)));
	sl_ppp_session_input(&srv.s, SL_PPP_IPV6CP, b,
			     unhex("01050008"
				   "010a0000",
				   b, sizeof(b)));
	/* a length field beyond the bytes */
	sl_ppp_session_input(&srv.s, SL_PPP_IPV6CP, b,
			     unhex("01060020"
				   "010a",
				   b, sizeof(b)));
	assert_int_equal(srv.nq, 0);
	assert_int_equal(srv.s.bad_packets, 3);
	assert_false(srv.s.ipv6cp.theirs_acked);
}

/* A peer that Naks our identifier for ever (here with zero): IPV6CP goes, IPv4 carries on. */
static void ipv6cp_naked_for_ever(void **state)
{
	struct end srv, cli;
	uint8_t b[32];
	size_t n = unhex("0300000e"
			 "010a0000000000000000",
			 b, sizeof(b));

	pair(&srv, &cli);
	sl_ppp_session_start(&srv.s);
	sl_ppp_session_start(&cli.s);
	cli.drop_next = 0;
	run(&srv, &cli, 2); /* LCP both ways; the NCP requests are queued */
	for (int i = 0; i < 8 && !srv.s.ipv6cp.disabled; i++) {
		b[1] = srv.s.ipv6cp.id;
		sl_ppp_session_input(&srv.s, SL_PPP_IPV6CP, b, n);
	}
	assert_true(srv.s.ipv6cp.disabled);
	assert_int_equal(srv.s.ipv6cp.naks, 6);
	run(&srv, &cli, 20);
	assert_true(sl_ppp_session_up(&srv.s));
	assert_false(sl_ppp_session_ipv6_up(&srv.s));
	assert_int_equal(srv.downs, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(back_to_back_reaches_network),
		cmocka_unit_test(openconnect_ipcp_request),
		cmocka_unit_test(echo_and_dead_peer),
		cmocka_unit_test(terminate_request),
		cmocka_unit_test(ipv6cp_protocol_rejected),
		cmocka_unit_test(reject_auth_option),
		cmocka_unit_test(retransmit_and_give_up),
		cmocka_unit_test(malformed_ignored),
		cmocka_unit_test(openconnect_ipv6cp_zero_id),
		cmocka_unit_test(ipv6cp_clashing_id),
		cmocka_unit_test(ipv6cp_malformed_options),
		cmocka_unit_test(ipv6cp_naked_for_ever),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
