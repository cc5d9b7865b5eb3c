// SPDX-License-Identifier: MIT
/*
 * The AnyConnect DTLS data path (include/sluice/engine_dtls.h): the engine's
 * loops in datapath.c hand packets here when the engine speaks SL_WIRE_DTLS.
 * In place, no allocation and no payload copy; a drop counter per loss.
 */
#include "dco/engine_int.h"

#include "core/sockaddr.h"
#include "crypto/aead.h"
#include "sluice/engine_dtls.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

/* Cisco packet types (as CSTP's, proto/cstp.h) */
#define AC_PKT_DATA	0
#define AC_PKT_DPD_OUT	3 /* request */
#define AC_PKT_DPD_RESP 4

/* The pool's headroom is sized by ESP's and OpenVPN's (engine.c); ours fits in OpenVPN's. */
_Static_assert(SL_DTLS_HEADROOM <= SL_OVPN_HEADROOM && SL_DTLS_TAILROOM <= SL_OVPN_TAILROOM,
	       "DTLS records need more room than the engine's packet pool has");

void keys_dtls_clear(struct key_slot *k)
{
	sl_dtls_dir_clear(&k->drx);
	sl_dtls_dir_clear(&k->dtx);
}

static bool cipher_ok(int c)
{
	return c == SL_CIPHER_AES128GCM || c == SL_CIPHER_AES256GCM ||
	       c == SL_CIPHER_CHACHA20POLY1305;
}

int sl_key_set_dtls(struct sl_engine *e, uint32_t peer_id, enum sl_key_slot slot,
		    const struct sl_dtls_key_pair *kp)
{
	struct peer *p = engine_peer(e, peer_id);
	struct key_slot fresh = {0};
	size_t klen, ivlen;
	int r;

	if (!p)
		return -ENOENT;
	if (e->cfg.wire != SL_WIRE_DTLS || (slot != SL_KEY_PRIMARY && slot != SL_KEY_SECONDARY) ||
	    !cipher_ok(kp->cipher) || kp->tx_seq >= SL_DTLS_SEQ_MAX)
		return -EINVAL;
	klen = sl_cipher_key_len(kp->cipher);
	ivlen = kp->cipher == SL_CIPHER_CHACHA20POLY1305 ? 12 : 4;
	r = sl_dtls_dir_init(&fresh.drx, kp->cipher, kp->rx.key, klen, kp->rx.iv, ivlen, kp->epoch,
			     false, p->cfg.replay_window);
	if (r < 0)
		return r;
	r = sl_dtls_dir_init(&fresh.dtx, kp->cipher, kp->tx.key, klen, kp->tx.iv, ivlen, kp->epoch,
			     true, 0);
	if (r < 0) {
		sl_dtls_dir_clear(&fresh.drx);
		return r;
	}
	fresh.dtx.seq = kp->tx_seq;
	keys_clear_slot(e, p, slot);
	fresh.present = true;
	p->slots[slot] = fresh;
	memset(&fresh, 0, sizeof(fresh));
	if (slot == SL_KEY_PRIMARY)
		timers_on_key_installed(e, p);
	return 0;
}

/* pk holds | Cisco type | payload |: seal it in place and queue it. Takes pk. */
static enum sl_drop seal_and_queue(struct sl_worker *w, struct peer *p, struct sl_pkt *pk)
{
	struct key_slot *k = &p->slots[SL_KEY_PRIMARY];
	enum sl_drop d;

	if (!k->present || !p->cfg.endpoint.ss_family)
		d = SL_DROP_NOKEY;
	else
		d = sl_dtls_seal(&k->dtx, pk, SL_DTLS_APP_DATA, NULL);
	if (d != SL_DROP_NONE) {
		sl_pool_put(w->pool, pk);
		return d;
	}
	datapath_queue(w, pk, &p->cfg.endpoint);
	return SL_DROP_NONE;
}

void datapath_dtls_tx(struct sl_worker *w, struct peer *p, struct sl_pkt *pk)
{
	uint32_t inner_len = pk->len;
	uint8_t *type = sl_pkt_push(pk, 1);
	enum sl_drop d;

	if (!type) {
		count_drop(peer_stats(w, p), SL_DROP_TOOBIG);
		sl_pool_put(w->pool, pk);
		return;
	}
	*type = AC_PKT_DATA;
	d = seal_and_queue(w, p, pk);
	if (d != SL_DROP_NONE) {
		count_drop(peer_stats(w, p), d);
		return;
	}
	peer_stats(w, p)->tx_packets++;
	peer_stats(w, p)->tx_bytes += inner_len;
}

static int send_message(struct sl_worker *w, struct peer *p, uint8_t type, const uint8_t *payload,
			size_t len)
{
	struct sl_pkt *pk;

	if (len > w->e->cfg.mtu)
		return -EMSGSIZE;
	pk = sl_pool_get(w->pool);
	if (!pk) {
		count_drop(&w->stats, SL_DROP_NOMEM);
		return -ENOBUFS;
	}
	*sl_pkt_put(pk, 1) = type;
	if (len)
		memcpy(sl_pkt_put(pk, (uint32_t)len), payload, len); /* a control message */
	if (seal_and_queue(w, p, pk) != SL_DROP_NONE)
		return -ENOKEY;
	datapath_flush(w);
	return 0;
}

int sl_engine_dtls_send(struct sl_engine *e, uint32_t peer_id, uint8_t type, const uint8_t *payload,
			size_t len)
{
	struct peer *p = engine_peer(e, peer_id);

	if (!p || e->cfg.wire != SL_WIRE_DTLS)
		return -ENOENT;
	return send_message(engine_ctl_worker(e), p, type, payload, len);
}

int datapath_dtls_send_dpd(struct sl_worker *w, struct peer *p, uint8_t type)
{
	int r = send_message(w, p, type == DPD_REPLY ? AC_PKT_DPD_RESP : AC_PKT_DPD_OUT, NULL, 0);

	if (!r)
		peer_stats(w, p)->keepalive_tx++;
	return r;
}

/*
 * The endpoint map's key: IPv4 address and port exactly; for IPv6 the port
 * is folded into the address's upper half, so two endpoints may share a key.
 * A hit is therefore checked against the peer's endpoint, and a miss or a
 * wrong hit falls back to a scan: the map makes the common case O(1), never
 * the answer wrong.
 */
static void endpoint_key(const struct sockaddr_storage *ss, uint64_t *hi, uint64_t *lo)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;

		*hi = 1ull << 62 | (uint64_t)a->sin_port;
		*lo = a->sin_addr.s_addr;
	} else {
		const struct sockaddr_in6 *a = (const void *)ss;

		memcpy(hi, a->sin6_addr.s6_addr, 8);
		memcpy(lo, a->sin6_addr.s6_addr + 8, 8);
		*hi ^= (uint64_t)a->sin6_port << 48 | 2ull << 62;
	}
}

void dtls_endpoint_moved(struct sl_engine *e, struct peer *p, const struct sockaddr_storage *old)
{
	uint64_t hi, lo;

	if (e->cfg.wire != SL_WIRE_DTLS)
		return;
	if (old && old->ss_family) {
		endpoint_key(old, &hi, &lo);
		if (sl_hostmap_get(&e->dtls_endpoints, hi, lo) == p->id)
			sl_hostmap_del(&e->dtls_endpoints, hi, lo);
	}
	if (p->cfg.endpoint.ss_family) {
		endpoint_key(&p->cfg.endpoint, &hi, &lo);
		/* without memory for it the scan below still finds the peer */
		(void)sl_hostmap_put(&e->dtls_endpoints, hi, lo, p->id);
	}
}

/* The peer whose endpoint sent it (a client has one peer: the server). */
static struct peer *peer_from(struct sl_engine *e, const struct sockaddr_storage *from)
{
	struct peer *p;
	uint64_t hi, lo;

	if (from && e->npeers > 1) {
		endpoint_key(from, &hi, &lo);
		p = engine_peer(e, sl_hostmap_get(&e->dtls_endpoints, hi, lo));
		if (p && sl_sockaddr_same(&p->cfg.endpoint, from))
			return p;
	}
	for (uint32_t i = 0; i < e->peers.cap; i++) {
		p = e->peers.slots[i].value;
		if (e->peers.slots[i].state != 1)
			continue;
		if (e->npeers == 1 || !from || sl_sockaddr_same(&p->cfg.endpoint, from))
			return p;
	}
	return NULL;
}

static struct key_slot *slot_for_epoch(struct peer *p, uint16_t epoch)
{
	for (int i = 0; i < 2; i++)
		if (p->slots[i].present && p->slots[i].drx.epoch == epoch)
			return &p->slots[i];
	return NULL;
}

static void to_control(struct sl_worker *w, const uint8_t *b, size_t n,
		       const struct sockaddr_storage *from)
{
	if (w->e->cfg.on_control) {
		w->stats.control_rx++;
		w->e->cfg.on_control(w->e->cfg.control_arg, b, n, from);
	} else {
		count_udp_rx_drop(&w->stats, SL_DROP_NOKEY);
	}
}

void datapath_dtls_rx(struct sl_worker *w, struct sl_pkt *pk, const struct sockaddr_storage *from)
{
	struct peer *p = peer_from(w->e, from);
	struct key_slot *k = NULL;
	enum sl_drop d;

	if (p && pk->len >= SL_DTLS_HDR_LEN && pk->data[0] == SL_DTLS_APP_DATA)
		k = slot_for_epoch(p, (uint16_t)(pk->data[3] << 8 | pk->data[4]));
	if (!k) { /* handshake, alert, another epoch, or no peer yet: the control plane's */
		to_control(w, pk->data, pk->len, from);
		return;
	}
	d = sl_dtls_open(&k->drx, pk);
	if (d == SL_DROP_NONE && !pk->len)
		d = SL_DROP_MALFORMED;
	if (d != SL_DROP_NONE) {
		count_udp_rx_drop(peer_stats(w, p),
				  d); /* a datagram read: accounted as the others' */
		return;
	}
	peer_stats(w, p)->last_rx_ns = w->rx_now;
	if (pk->data[0] == AC_PKT_DPD_OUT || pk->data[0] == AC_PKT_DPD_RESP) {
		peer_stats(w, p)->keepalive_rx++;
		/* the answer echoes the request's padding: openconnect's MTU probes need it */
		if (pk->data[0] == AC_PKT_DPD_RESP)
			timers_on_dpd_reply(w->e, p);
		else if (send_message(w, p, AC_PKT_DPD_RESP, pk->data + 1, pk->len - 1) == 0)
			peer_stats(w, p)->keepalive_tx++; /* a failed answer proves nothing */
		return;
	}
	if (pk->data[0] != AC_PKT_DATA) { /* keepalive, disconnect, ...: for the control plane */
		to_control(w, pk->data, pk->len, from);
		return;
	}
	sl_pkt_pull(pk, 1);
	datapath_deliver(w, p, pk, false);
}
