// SPDX-License-Identifier: MIT
/*
 * OpenVPN control-channel reliability (ctl/openvpn/reliable.c): windows,
 * acks, resend with doubling timeout, early resend after 3 later acks, and
 * a transfer of 200 messages over a simulated link that drops, duplicates
 * and reorders packets, checked against the dumb reference (every message
 * arrives once, in order).
 */
#include "ctl/openvpn/reliable.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_window_and_acks(void **state)
{
	struct sl_ovpn_reliable r;
	const struct sl_ovpn_rel_tx *m;
	uint32_t ack;

	(void)state;
	sl_ovpn_rel_init(&r, 0);
	for (int i = 0; i < SL_OVPN_REL_TX_WINDOW; i++)
		assert_int_equal(sl_ovpn_rel_send(&r, 4, (const uint8_t *)"x", 1, 0), i);
	assert_false(sl_ovpn_rel_can_send(&r));
	assert_int_equal(sl_ovpn_rel_send(&r, 4, NULL, 0, 0), -EAGAIN);
	assert_int_equal(sl_ovpn_rel_send(&r, 4, NULL, SL_OVPN_REL_MSG_MAX + 1, 0), -EMSGSIZE);
	/* All due now, lowest id first. */
	for (int i = 0; i < SL_OVPN_REL_TX_WINDOW; i++) {
		m = sl_ovpn_rel_next_due(&r, 0);
		assert_non_null(m);
		assert_int_equal(m->id, i);
	}
	assert_null(sl_ovpn_rel_next_due(&r, 0));
	assert_int_equal(sl_ovpn_rel_deadline(&r), SL_OVPN_REL_TIMEOUT_MS);
	/* Acking a later id does not open the window: id 0 is still out. */
	ack = 5;
	assert_int_equal(sl_ovpn_rel_on_acks(&r, &ack, 1), 1);
	assert_false(sl_ovpn_rel_can_send(&r));
	ack = 0;
	assert_int_equal(sl_ovpn_rel_on_acks(&r, &ack, 1), 1);
	assert_true(sl_ovpn_rel_can_send(&r));
	assert_int_equal(sl_ovpn_rel_on_acks(&r, &ack, 1), 0); /* twice: nothing more */
	/* Resend at 2 s, then 4 s later, then 8 s later. */
	m = sl_ovpn_rel_next_due(&r, 1999);
	assert_null(m);
	m = sl_ovpn_rel_next_due(&r, 2000);
	assert_int_equal(m->id, 1);
	assert_int_equal(m->due_ms, 2000 + 4000);
	while (sl_ovpn_rel_next_due(&r, 2000))
		;
	m = sl_ovpn_rel_next_due(&r, 6000);
	assert_int_equal(m->id, 1);
	assert_int_equal(m->due_ms, 6000 + 8000);
	assert_true(r.resends >= 2);
}

static void test_early_resend(void **state)
{
	struct sl_ovpn_reliable r;
	uint32_t acks[3] = {1, 2, 3};

	(void)state;
	sl_ovpn_rel_init(&r, 0);
	for (int i = 0; i < 4; i++)
		sl_ovpn_rel_send(&r, 4, NULL, 0, 0);
	while (sl_ovpn_rel_next_due(&r, 0))
		;
	assert_null(sl_ovpn_rel_next_due(&r, 10));
	sl_ovpn_rel_on_acks(&r, acks, 3);
	/* Three later ids acked: id 0 is resent long before its timeout. */
	assert_int_equal(sl_ovpn_rel_next_due(&r, 10)->id, 0);
}

static void test_receive_order_and_dups(void **state)
{
	struct sl_ovpn_reliable r;
	const struct sl_ovpn_rel_rx *m;
	uint32_t ids[16];

	(void)state;
	sl_ovpn_rel_init(&r, 0);
	assert_int_equal(sl_ovpn_rel_receive(&r, 4, 1, (const uint8_t *)"b", 1), 1);
	assert_null(sl_ovpn_rel_next_in_order(&r)); /* 0 missing */
	assert_int_equal(sl_ovpn_rel_receive(&r, 8, 0, (const uint8_t *)"a", 1), 1);
	assert_int_equal(sl_ovpn_rel_receive(&r, 8, 0, (const uint8_t *)"a", 1), 0);
	m = sl_ovpn_rel_next_in_order(&r);
	assert_int_equal(m->id, 0);
	assert_int_equal(m->opcode, 8);
	m = sl_ovpn_rel_next_in_order(&r);
	assert_int_equal(m->id, 1);
	assert_memory_equal(m->payload, "b", 1);
	assert_null(sl_ovpn_rel_next_in_order(&r));
	/* An old duplicate is acked again; one past the window is neither kept nor acked. */
	assert_int_equal(sl_ovpn_rel_receive(&r, 4, 0, NULL, 0), 0);
	assert_int_equal(sl_ovpn_rel_receive(&r, 4, 2 + SL_OVPN_REL_RX_WINDOW, NULL, 0), 0);
	assert_int_equal(r.rx_out_of_window, 1);
	assert_int_equal(sl_ovpn_rel_take_acks(&r, ids, 8), 2); /* 1 and 0: 0 was queued once */
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 0);
	assert_false(sl_ovpn_rel_acks_pending(&r));
}

/* A lossy link between two reliability layers; the reference is "each message once, in order". */
struct link_pkt {
	bool is_ack;
	uint32_t id;
	uint32_t acks[8];
	unsigned n_acks;
	uint64_t at;
};

static uint32_t rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(*s >> 33);
}

static void test_lossy_transfer(void **state)
{
	enum { N = 200, QMAX = 4096 };
	static struct link_pkt q[2][QMAX];
	static struct sl_ovpn_reliable side[2];
	unsigned nq[2] = {0, 0}, sent = 0, got = 0;
	uint64_t seed = 42, now;

	(void)state;
	sl_ovpn_rel_init(&side[0], 200);
	sl_ovpn_rel_init(&side[1], 200);
	for (now = 0; now < 600000 && got < N; now += 10) {
		const struct sl_ovpn_rel_tx *m;
		const struct sl_ovpn_rel_rx *rx;

		while (sent < N && sl_ovpn_rel_can_send(&side[0])) {
			uint8_t p[4] = {(uint8_t)sent, (uint8_t)(sent >> 8), 0xaa, 0x55};

			assert_int_equal(sl_ovpn_rel_send(&side[0], 4, p, 4, now), sent);
			sent++;
		}
		/* Side 0 sends messages, side 1 only acks: 30% loss, 5% duplicates, random delay.
		 */
		for (int s = 0; s < 2; s++) {
			struct link_pkt pk = {0};

			if (s == 0)
				m = sl_ovpn_rel_next_due(&side[0], now);
			else
				m = NULL;
			if (s == 0 && !m)
				continue;
			if (s == 1 && !sl_ovpn_rel_acks_pending(&side[1]))
				continue;
			pk.is_ack = s == 1;
			pk.id = m ? m->id : 0;
			pk.n_acks = s == 1 ? sl_ovpn_rel_take_acks(&side[1], pk.acks, 8) : 0;
			for (int copy = 0; copy < (rnd(&seed) % 20 == 0 ? 2 : 1); copy++) {
				if (rnd(&seed) % 10 < 3 || nq[s] == QMAX)
					continue;
				pk.at = now + 10 + rnd(&seed) % 300;
				q[s][nq[s]++] = pk;
			}
		}
		for (int s = 0; s < 2; s++) {
			for (unsigned i = 0; i < nq[s];) {
				struct link_pkt pk = q[s][i];

				if (pk.at > now) {
					i++;
					continue;
				}
				q[s][i] = q[s][--nq[s]];
				if (pk.is_ack) {
					sl_ovpn_rel_on_acks(&side[0], pk.acks, pk.n_acks);
				} else {
					uint8_t p[4] = {(uint8_t)pk.id, (uint8_t)(pk.id >> 8), 0xaa,
							0x55};

					sl_ovpn_rel_receive(&side[1], 4, pk.id, p, 4);
				}
			}
		}
		while ((rx = sl_ovpn_rel_next_in_order(&side[1]))) {
			assert_int_equal(rx->id, got);
			assert_int_equal(rx->payload[0] | rx->payload[1] << 8, got);
			got++;
		}
	}
	printf("    %u messages in %.1f s of simulated time, %llu resends, %llu duplicates\n", got,
	       now / 1000.0, (unsigned long long)side[0].resends,
	       (unsigned long long)side[1].rx_dups);
	assert_int_equal(got, N);
	assert_true(side[0].resends > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_and_acks),
		cmocka_unit_test(test_early_resend),
		cmocka_unit_test(test_receive_order_and_dups),
		cmocka_unit_test(test_lossy_transfer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
