/* SPDX-License-Identifier: MIT */
/*
 * The OpenVPN control channel's reliability layer for one key state
 * (openvpn:reliable.c, ssl_pkt.h): messages carry a 32-bit message id from
 * 0, are acknowledged by id (up to 8 per packet) and resent until acked.
 *
 *   send: at most SL_OVPN_REL_TX_WINDOW messages in flight; each is resent
 *         after its timeout, which starts at tls-timeout (2 s) and doubles
 *         per resend (capped at 60 s); a message is resent early once 3
 *         later ones were acked (OpenVPN's N_ACK_RETRANSMIT).
 *   receive: ids in [next, next + SL_OVPN_REL_RX_WINDOW) are kept and
 *         handed out in order; every received id (even an old duplicate,
 *         whose ack may have been lost) is acked again.
 *
 * No I/O and no clock: callers pass now (ms) and send what this returns.
 */
#ifndef SL_CTL_OPENVPN_RELIABLE_H
#define SL_CTL_OPENVPN_RELIABLE_H

#include "proto/ovpn_ctl.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_OVPN_REL_TX_WINDOW	 6  /* TLS_RELIABLE_N_SEND_BUFFERS */
#define SL_OVPN_REL_RX_WINDOW	 12 /* TLS_RELIABLE_N_REC_BUFFERS */
#define SL_OVPN_REL_MSG_MAX	 1300
#define SL_OVPN_REL_TIMEOUT_MS	 2000 /* --tls-timeout default */
#define SL_OVPN_REL_TIMEOUT_MAX	 60000
#define SL_OVPN_REL_ACK_EARLY	 3 /* N_ACK_RETRANSMIT */
#define SL_OVPN_REL_PENDING_ACKS 16

struct sl_ovpn_rel_tx {
	bool used;
	uint8_t opcode;
	uint32_t id;
	uint64_t due_ms;
	uint32_t timeout_ms;
	uint32_t later_acked; /* acks for later ids since the last send */
	uint32_t sends;
	size_t len;
	uint8_t payload[SL_OVPN_REL_MSG_MAX];
};

struct sl_ovpn_rel_rx {
	bool used;
	uint8_t opcode;
	uint32_t id;
	size_t len;
	uint8_t payload[SL_OVPN_REL_MSG_MAX];
};

struct sl_ovpn_reliable {
	uint32_t tx_next_id;
	struct sl_ovpn_rel_tx tx[SL_OVPN_REL_TX_WINDOW];
	uint32_t rx_next_id;
	struct sl_ovpn_rel_rx rx[SL_OVPN_REL_RX_WINDOW];
	uint32_t acks[SL_OVPN_REL_PENDING_ACKS]; /* ids to ack, oldest first */
	unsigned n_acks;
	uint32_t timeout_ms; /* initial resend timeout */
	uint64_t resends;    /* statistics */
	uint64_t rx_dups;
	uint64_t rx_out_of_window;
};

void sl_ovpn_rel_init(struct sl_ovpn_reliable *r, uint32_t timeout_ms);

/* True when another message may be queued now. */
bool sl_ovpn_rel_can_send(const struct sl_ovpn_reliable *r);
/* Queue a message (due at once). Returns its id, -EAGAIN (window full) or -EMSGSIZE. */
int64_t sl_ovpn_rel_send(struct sl_ovpn_reliable *r, uint8_t opcode, const uint8_t *payload,
			 size_t len, uint64_t now_ms);
/* The peer acknowledged these ids. Returns how many in-flight messages they released. */
unsigned sl_ovpn_rel_on_acks(struct sl_ovpn_reliable *r, const uint32_t *ids, unsigned n);
/*
 * The next message to put on the wire now (first send or resend), or NULL.
 * Marks it sent at now and schedules its resend.
 */
const struct sl_ovpn_rel_tx *sl_ovpn_rel_next_due(struct sl_ovpn_reliable *r, uint64_t now_ms);
/* Earliest resend deadline, or UINT64_MAX when nothing is in flight. */
uint64_t sl_ovpn_rel_deadline(const struct sl_ovpn_reliable *r);
/* True when every sent message was acknowledged. */
bool sl_ovpn_rel_all_acked(const struct sl_ovpn_reliable *r);

/*
 * A message arrived. Returns 1 if it was new and kept, 0 if a duplicate or
 * outside the window (dropped; a duplicate is still acked), -EMSGSIZE.
 */
int sl_ovpn_rel_receive(struct sl_ovpn_reliable *r, uint8_t opcode, uint32_t id,
			const uint8_t *payload, size_t len);
/* The next in-order message, or NULL; valid until the next call to this. */
const struct sl_ovpn_rel_rx *sl_ovpn_rel_next_in_order(struct sl_ovpn_reliable *r);

/* Take up to max pending acks (oldest first) into ids. Returns the count. */
unsigned sl_ovpn_rel_take_acks(struct sl_ovpn_reliable *r, uint32_t *ids, unsigned max);
static inline bool sl_ovpn_rel_acks_pending(const struct sl_ovpn_reliable *r)
{
	return r->n_acks > 0;
}

#endif
