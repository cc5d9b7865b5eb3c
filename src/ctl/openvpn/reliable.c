// SPDX-License-Identifier: MIT
/* OpenVPN control-channel reliability (see reliable.h for the rules). */
#include "ctl/openvpn/reliable.h"

#include <errno.h>
#include <string.h>

void sl_ovpn_rel_init(struct sl_ovpn_reliable *r, uint32_t timeout_ms)
{
	memset(r, 0, sizeof(*r));
	r->timeout_ms = timeout_ms ? timeout_ms : SL_OVPN_REL_TIMEOUT_MS;
}

/* The lowest id still in flight, or tx_next_id. */
static uint32_t oldest_unacked(const struct sl_ovpn_reliable *r)
{
	uint32_t lo = r->tx_next_id;

	for (unsigned i = 0; i < SL_OVPN_REL_TX_WINDOW; i++)
		if (r->tx[i].used && r->tx[i].id < lo)
			lo = r->tx[i].id;
	return lo;
}

bool sl_ovpn_rel_can_send(const struct sl_ovpn_reliable *r)
{
	/* The peer keeps only a window of ids past its next expected one, so never run ahead of
	 * the oldest unacked message by more than our window either. */
	if (r->tx_next_id - oldest_unacked(r) >= SL_OVPN_REL_TX_WINDOW)
		return false;
	for (unsigned i = 0; i < SL_OVPN_REL_TX_WINDOW; i++)
		if (!r->tx[i].used)
			return true;
	return false;
}

int64_t sl_ovpn_rel_send(struct sl_ovpn_reliable *r, uint8_t opcode, const uint8_t *payload,
			 size_t len, uint64_t now_ms)
{
	struct sl_ovpn_rel_tx *m = NULL;

	if (len > SL_OVPN_REL_MSG_MAX)
		return -EMSGSIZE;
	if (!sl_ovpn_rel_can_send(r))
		return -EAGAIN;
	for (unsigned i = 0; i < SL_OVPN_REL_TX_WINDOW && !m; i++)
		if (!r->tx[i].used)
			m = &r->tx[i];
	m->used = true;
	m->opcode = opcode;
	m->id = r->tx_next_id++;
	m->due_ms = now_ms;
	m->timeout_ms = r->timeout_ms;
	m->later_acked = 0;
	m->sends = 0;
	m->len = len;
	if (len)
		memcpy(m->payload, payload, len);
	return m->id;
}

unsigned sl_ovpn_rel_on_acks(struct sl_ovpn_reliable *r, const uint32_t *ids, unsigned n)
{
	unsigned released = 0;

	for (unsigned k = 0; k < n; k++) {
		for (unsigned i = 0; i < SL_OVPN_REL_TX_WINDOW; i++) {
			struct sl_ovpn_rel_tx *m = &r->tx[i];

			if (!m->used)
				continue;
			if (m->id == ids[k]) {
				m->used = false;
				released++;
			} else if (m->id < ids[k] && m->sends &&
				   ++m->later_acked == SL_OVPN_REL_ACK_EARLY) {
				m->due_ms = 0; /* probably lost: resend at the next chance */
			}
		}
	}
	return released;
}

const struct sl_ovpn_rel_tx *sl_ovpn_rel_next_due(struct sl_ovpn_reliable *r, uint64_t now_ms)
{
	struct sl_ovpn_rel_tx *best = NULL;

	/* Lowest id first: the peer can deliver nothing past a gap. */
	for (unsigned i = 0; i < SL_OVPN_REL_TX_WINDOW; i++) {
		struct sl_ovpn_rel_tx *m = &r->tx[i];

		if (m->used && m->due_ms <= now_ms && (!best || m->id < best->id))
			best = m;
	}
	if (!best)
		return NULL;
	if (best->sends) {
		r->resends++;
		best->timeout_ms = best->timeout_ms * 2 > SL_OVPN_REL_TIMEOUT_MAX
					   ? SL_OVPN_REL_TIMEOUT_MAX
					   : best->timeout_ms * 2;
	}
	best->sends++;
	best->later_acked = 0;
	best->due_ms = now_ms + best->timeout_ms;
	return best;
}

uint64_t sl_ovpn_rel_deadline(const struct sl_ovpn_reliable *r)
{
	uint64_t d = UINT64_MAX;

	for (unsigned i = 0; i < SL_OVPN_REL_TX_WINDOW; i++)
		if (r->tx[i].used && r->tx[i].due_ms < d)
			d = r->tx[i].due_ms;
	return d;
}

bool sl_ovpn_rel_all_acked(const struct sl_ovpn_reliable *r)
{
	for (unsigned i = 0; i < SL_OVPN_REL_TX_WINDOW; i++)
		if (r->tx[i].used)
			return false;
	return true;
}

static void queue_ack(struct sl_ovpn_reliable *r, uint32_t id)
{
	for (unsigned i = 0; i < r->n_acks; i++)
		if (r->acks[i] == id)
			return;
	if (r->n_acks == SL_OVPN_REL_PENDING_ACKS) {
		/* Full: forget the oldest; the peer resends and we ack that copy. */
		memmove(r->acks, r->acks + 1, (r->n_acks - 1) * sizeof(r->acks[0]));
		r->n_acks--;
	}
	r->acks[r->n_acks++] = id;
}

int sl_ovpn_rel_receive(struct sl_ovpn_reliable *r, uint8_t opcode, uint32_t id,
			const uint8_t *payload, size_t len)
{
	struct sl_ovpn_rel_rx *slot;

	if (len > SL_OVPN_REL_MSG_MAX)
		return -EMSGSIZE;
	if (id < r->rx_next_id) {
		r->rx_dups++;
		queue_ack(r, id); /* our first ack was lost */
		return 0;
	}
	if (id - r->rx_next_id >= SL_OVPN_REL_RX_WINDOW) {
		r->rx_out_of_window++; /* not acked: the peer resends it later */
		return 0;
	}
	queue_ack(r, id);
	slot = &r->rx[id % SL_OVPN_REL_RX_WINDOW];
	if (slot->used) {
		r->rx_dups++;
		return 0;
	}
	slot->used = true;
	slot->opcode = opcode;
	slot->id = id;
	slot->len = len;
	if (len)
		memcpy(slot->payload, payload, len);
	return 1;
}

const struct sl_ovpn_rel_rx *sl_ovpn_rel_next_in_order(struct sl_ovpn_reliable *r)
{
	struct sl_ovpn_rel_rx *slot = &r->rx[r->rx_next_id % SL_OVPN_REL_RX_WINDOW];

	if (!slot->used || slot->id != r->rx_next_id)
		return NULL;
	slot->used = false; /* stays readable until the next receive into this slot */
	r->rx_next_id++;
	return slot;
}

unsigned sl_ovpn_rel_take_acks(struct sl_ovpn_reliable *r, uint32_t *ids, unsigned max)
{
	unsigned n = r->n_acks < max ? r->n_acks : max;

	memcpy(ids, r->acks, n * sizeof(ids[0]));
	memmove(r->acks, r->acks + n, (r->n_acks - n) * sizeof(r->acks[0]));
	r->n_acks -= n;
	return n;
}
