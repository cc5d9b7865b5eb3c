// SPDX-License-Identifier: MIT
/*
 * The OpenVPN data path (include/sluice/engine_ovpn.h): the engine's loops
 * in datapath.c hand packets here when the engine speaks SL_WIRE_OPENVPN.
 * Same rules as ESP: in place, no allocation, a drop counter per loss.
 */
#include "dco/engine_int.h"

#include "core/log.h"
#include "core/sockaddr.h"
#include "crypto/aead.h"
#include "sluice/engine_ovpn.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static void tx_copies_free(struct ovpn_tx_copies *c)
{
	if (!c)
		return;
	for (uint32_t i = 0; i < c->n; i++)
		sl_ovpn_sa_clear(&c->sa[i]);
	free(c);
}

/*
 * Workers > 1 (docs/workers.md): any worker seals for any peer, each with its own AEAD context,
 * all drawing packet-ids from one counter. Worker 0 seals with otx, worker w with sa[w - 1].
 */
static int tx_copies_new(struct sl_engine *e, struct key_slot *k, const struct sl_ovpn_key_pair *kp,
			 size_t klen)
{
	struct ovpn_tx_copies *c;

	if (e->nworkers < 2)
		return 0;
	c = calloc(1, sizeof(*c) + (e->nworkers - 1) * sizeof(c->sa[0]));
	if (!c)
		return -ENOMEM;
	atomic_init(&c->packet_id, 0);
	for (uint32_t i = 0; i + 1 < e->nworkers; i++) {
		int r = sl_ovpn_sa_init(&c->sa[i], kp->cipher, kp->tx.key, klen, kp->tx.implicit_iv,
					kp->key_id, kp->tx_peer_id, true, 0);

		if (r < 0) {
			tx_copies_free(c);
			return r;
		}
		c->n++;
		c->sa[i].shared_pid = &c->packet_id;
	}
	k->otx.shared_pid = &c->packet_id;
	k->owtx = c;
	return 0;
}

/*
 * The worker that owns a key's rx side: the one io/steer.c's peer-id program delivers the
 * peer's data to. Both ends put the same peer-id on their P_DATA_V2 packets (the server's
 * choice, pushed to the client), so the id we send is the id we receive; without one (V1)
 * everything goes to worker 0.
 */
static uint32_t rx_worker_of(const struct sl_engine *e, uint32_t tx_peer_id)
{
	return tx_peer_id == SL_OVPN_PEER_ID_NONE ? 0 : tx_peer_id % e->nworkers;
}

void keys_ovpn_clear(struct key_slot *k)
{
	if (k->cbc) {
		if (k->cbcs) {
			sl_ovpn_cbc_clear(&k->cbcs->rx);
			sl_ovpn_cbc_clear(&k->cbcs->tx);
		}
		free(k->cbcs);
	} else {
		sl_ovpn_sa_clear(&k->orx);
		sl_ovpn_sa_clear(&k->otx);
		tx_copies_free(k->owtx);
	}
}

static int cbc_pair(struct key_slot *fresh, const struct sl_ovpn_key_pair *kp, uint32_t window)
{
	const char *name = kp->cipher == SL_OVPN_CIPHER_AES_128_CBC ? "AES-128-CBC" : "AES-256-CBC";
	struct ovpn_cbc_pair *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	r = sl_ovpn_cbc_init(&c->rx, name, kp->rx.key, kp->auth, kp->rx.hmac_key, kp->key_id,
			     SL_OVPN_PEER_ID_NONE, false, window);
	if (r < 0) {
		free(c);
		return r;
	}
	r = sl_ovpn_cbc_init(&c->tx, name, kp->tx.key, kp->auth, kp->tx.hmac_key, kp->key_id,
			     kp->tx_peer_id, true, 0);
	if (r < 0) {
		sl_ovpn_cbc_clear(&c->rx);
		free(c);
		return r;
	}
	fresh->cbc = true;
	fresh->cbcs = c;
	return 0;
}

int sl_key_set_ovpn(struct sl_engine *e, uint32_t peer_id, enum sl_key_slot slot,
		    const struct sl_ovpn_key_pair *kp)
{
	struct peer *p = engine_peer(e, peer_id);
	struct key_slot fresh = {0};
	size_t klen;
	int r;

	ENGINE_ASSERT_CONTROL(e);
	if (!p)
		return -ENOENT;
	if (e->cfg.wire != SL_WIRE_OPENVPN || (slot != SL_KEY_PRIMARY && slot != SL_KEY_SECONDARY))
		return -EINVAL;
	if (kp->cipher == SL_OVPN_CIPHER_AES_128_CBC || kp->cipher == SL_OVPN_CIPHER_AES_256_CBC) {
		/* Legacy and rare: no per-worker copies of the CBC + HMAC contexts. */
		if (e->nworkers > 1) {
			sl_warn("OpenVPN %s data keys: not with Workers > 1 (use an AEAD cipher)",
				kp->cipher == SL_OVPN_CIPHER_AES_128_CBC ? "AES-128-CBC"
									 : "AES-256-CBC");
			return -ENOTSUP;
		}
		if (kp->key_id > SL_OVPN_KEY_ID_MAX || kp->tx_peer_id > SL_OVPN_PEER_ID_NONE ||
		    kp->comp < SL_OVPN_COMP_NONE || kp->comp > SL_OVPN_COMP_STUB_V2)
			return -EINVAL;
		r = cbc_pair(&fresh, kp, p->cfg.replay_window);
		if (r < 0)
			return r;
		goto commit;
	}
	if (kp->cipher < 0 || kp->cipher >= SL_CIPHER__COUNT || kp->key_id > SL_OVPN_KEY_ID_MAX ||
	    kp->tx_peer_id > SL_OVPN_PEER_ID_NONE || kp->comp < SL_OVPN_COMP_NONE ||
	    kp->comp > SL_OVPN_COMP_STUB_V2)
		return -EINVAL;
	klen = sl_cipher_key_len(kp->cipher);
	r = sl_ovpn_sa_init(&fresh.orx, kp->cipher, kp->rx.key, klen, kp->rx.implicit_iv,
			    kp->key_id, SL_OVPN_PEER_ID_NONE, false, p->cfg.replay_window);
	if (r < 0)
		return r;
	r = sl_ovpn_sa_init(&fresh.otx, kp->cipher, kp->tx.key, klen, kp->tx.implicit_iv,
			    kp->key_id, kp->tx_peer_id, true, 0);
	if (r == 0)
		r = tx_copies_new(e, &fresh, kp, klen);
	if (r < 0) {
		sl_ovpn_sa_clear(&fresh.orx);
		sl_ovpn_sa_clear(&fresh.otx);
		return r;
	}
commit:
	keys_clear_slot(e, p, slot);
	fresh.present = true;
	fresh.key_id = kp->key_id;
	fresh.comp = (enum sl_ovpn_comp)kp->comp;
	fresh.rx_worker = rx_worker_of(e, kp->tx_peer_id);
	p->slots[slot] = fresh;
	memset(&fresh, 0, sizeof(fresh));
	if (slot == SL_KEY_PRIMARY)
		timers_on_key_installed(e, p);
	return 0;
}

int sl_engine_udp_send(struct sl_engine *e, const struct sockaddr_storage *to, const uint8_t *pkt,
		       size_t len)
{
	struct sl_worker *w = engine_ctl_worker(e);
	struct udp_out *out = udp_for(w, to->ss_family);

	if (!out)
		return -EAFNOSUPPORT;
	if (sendto(out->fd, pkt, len, 0, (const struct sockaddr *)to, sl_sockaddr_len(to)) < 0) {
		count_drop(&w->stats, SL_DROP_IO);
		return -errno;
	}
	return 0;
}

/* Frame and seal in place with the primary slot (worker w's copy of its tx SA). */
static enum sl_drop seal(struct sl_worker *w, struct key_slot *k, struct sl_pkt *pk)
{
	enum sl_drop d;

	if (!k->present)
		return SL_DROP_NOKEY;
	d = sl_ovpn_comp_encode(k->comp, pk);
	if (d != SL_DROP_NONE)
		return d;
	return k->cbc ? sl_ovpn_cbc_seal(&k->cbcs->tx, pk) : sl_ovpn_seal(ovpn_tx_sa(w, k), pk);
}

/* A sealed packet leaves over UDP, or over the peer's stream (OpenVPN over TCP). Takes pk. */
static bool send_sealed(struct sl_worker *w, struct peer *p, struct sl_pkt *pk)
{
	if (p->cfg.stream_send) {
		bool ok;

		/* With workers, two may send at once; the control plane's stream is one object. */
		if (w->threaded)
			pthread_mutex_lock(&w->e->stream_lock);
		ok = p->cfg.stream_send(p->cfg.stream_arg, pk->data, pk->len) == 0;
		if (w->threaded)
			pthread_mutex_unlock(&w->e->stream_lock);
		sl_pool_put(w->pool, pk);
		if (!ok)
			count_drop(peer_stats(w, p), SL_DROP_IO);
		return ok;
	}
	if (!p->cfg.endpoint.ss_family) {
		count_drop(peer_stats(w, p), SL_DROP_NOKEY); /* no address to send to yet */
		sl_pool_put(w->pool, pk);
		return false;
	}
	datapath_queue(w, pk, &p->cfg.endpoint);
	return true;
}

void datapath_ovpn_tx(struct sl_worker *w, struct peer *p, struct sl_pkt *pk)
{
	struct key_slot *k = &p->slots[SL_KEY_PRIMARY];
	uint32_t inner_len = pk->len;
	enum sl_drop d = seal(w, k, pk);

	if (d != SL_DROP_NONE) {
		count_drop(peer_stats(w, p), d);
		sl_pool_put(w->pool, pk);
		return;
	}
	if (!send_sealed(w, p, pk))
		return;
	peer_stats(w, p)->tx_packets++;
	peer_stats(w, p)->tx_bytes += inner_len;
	if (p->cfg.stream_send)
		peer_stats(w, p)->stream_tx_packets++;
	/* Last: the handler may renegotiate from inside the event. With workers the flag is the
	 * control thread's (workers.c run_event): a worker only asks. */
	if (!k->near_limit_reported &&
	    (k->cbc ? k->cbcs->tx.packet_id >= SL_OVPN_PACKET_ID_WRAP_TRIGGER
		    : sl_ovpn_near_wrap(&k->otx))) {
		if (!w->threaded)
			k->near_limit_reported = true;
		worker_emit(w, SL_EVENT_KEY_NEAR_LIMIT, p->id);
	}
}

static int send_message(struct sl_worker *w, struct peer *p, const uint8_t *msg, size_t len)
{
	struct sl_pkt *pk = sl_pool_get(w->pool);
	enum sl_drop d;

	if (!pk) {
		count_drop(&w->stats, SL_DROP_NOMEM);
		return -ENOBUFS;
	}
	memcpy(sl_pkt_put(pk, (uint32_t)len), msg, len);
	d = seal(w, &p->slots[SL_KEY_PRIMARY], pk);
	if (d != SL_DROP_NONE) {
		sl_pool_put(w->pool, pk);
		return -ENOKEY;
	}
	if (!send_sealed(w, p, pk))
		return -EIO;
	datapath_flush(w);
	return 0;
}

int datapath_ovpn_send_ping(struct sl_worker *w, struct peer *p)
{
	int r = send_message(w, p, sl_ovpn_ping_magic, SL_OVPN_PING_LEN);

	if (!r)
		peer_stats(w, p)->keepalive_tx++;
	return r;
}

int sl_engine_ovpn_send_exit(struct sl_engine *e, uint32_t peer_id)
{
	struct peer *p = engine_peer(e, peer_id);
	uint8_t msg[SL_OVPN_OCC_EXIT_LEN];

	if (!p)
		return -ENOENT;
	sl_ovpn_put_occ_exit(msg);
	return send_message(engine_ctl_worker(e), p, msg, sizeof(msg));
}

static struct peer *sole_peer(struct sl_engine *e)
{
	struct peer *p = e->sole_takes_all[0] ? e->sole_takes_all[0] : e->sole_takes_all[1];

	if (p || e->npeers != 1)
		return p;
	for (uint32_t i = 0; i < e->peers.cap; i++)
		if (e->peers.slots[i].state == 1)
			return e->peers.slots[i].value;
	return NULL;
}

/* P_DATA_V2 names its peer; a client's server sends the id it gave us, or none (V1). */
static struct peer *peer_of(struct sl_engine *e, const struct sl_ovpn_class *c)
{
	struct peer *p = NULL;

	if (c->kind == SL_OVPN_KIND_DATA_V2)
		p = engine_peer(e, c->peer_id);
	return p ? p : sole_peer(e);
}

static struct key_slot *slot_for_key_id(struct peer *p, uint8_t key_id)
{
	for (int i = 0; i < 2; i++)
		if (p->slots[i].present && p->slots[i].key_id == key_id)
			return &p->slots[i];
	return NULL;
}

int sl_engine_ovpn_set_client_to_client(struct sl_engine *e, bool on)
{
	if (e->cfg.wire != SL_WIRE_OPENVPN)
		return -EINVAL;
	e->ovpn_client_to_client = on;
	return 0;
}

/*
 * A received packet's drop: a datagram read from the UDP socket also counts in udp_rx_drops (so
 * that each one read is accounted for), one from a TCP stream (no source address) does not.
 */
static void drop_rx(struct sl_peer_stats *s, enum sl_drop d, bool stream)
{
	(stream ? count_drop : count_udp_rx_drop)(s, d);
}

/*
 * client-to-client: the inner destination belongs to another peer. Its source must be the
 * sender's own (as deliver() checks for the TUN path); then a copy goes out sealed for the
 * other peer (the rx buffer belongs to the receive batch). True if the packet was taken.
 */
static bool forward_to_peer(struct sl_worker *w, struct peer *from, struct sl_pkt *pk, bool stream)
{
	struct sl_engine *e = w->e;
	int family = pk->len && (pk->data[0] >> 4) == 6 ? AF_INET6 : AF_INET;
	uint32_t src_off = family == AF_INET ? 12 : 8, dst_off = family == AF_INET ? 16 : 24;
	uint32_t alen = family == AF_INET ? 4 : 16, to_id, src_id;
	struct peer *to;
	struct sl_pkt *copy;

	if (pk->len < dst_off + alen || ((pk->data[0] >> 4) != 4 && (pk->data[0] >> 4) != 6))
		return false;
	to_id = sl_route_lookup(e->routes, family, pk->data + dst_off);
	src_id = sl_route_lookup(e->routes, family, pk->data + src_off);
	if (to_id == SL_ROUTE_NONE || to_id == from->id || src_id != from->id)
		return false;
	to = engine_peer(e, to_id);
	copy = to ? sl_pool_get(w->pool) : NULL;
	if (!copy) {
		drop_rx(peer_stats(w, from), to ? SL_DROP_NOMEM : SL_DROP_NOROUTE, stream);
		return true;
	}
	memcpy(sl_pkt_put(copy, pk->len), pk->data, pk->len);
	peer_stats(w, from)->rx_packets++;
	peer_stats(w, from)->rx_bytes += pk->len;
	if (stream)
		peer_stats(w, from)->stream_rx_packets++;
	datapath_ovpn_tx(w, to, copy);
	return true;
}

/* After decryption: framing, then ping / OCC / an IP packet. */
static void rx_payload(struct sl_worker *w, struct peer *p, struct key_slot *k, struct sl_pkt *pk,
		       bool stream)
{
	uint8_t occ;

	if (sl_ovpn_comp_decode(k->comp, pk) != SL_OVPN_COMP_OK) {
		drop_rx(peer_stats(w, p), SL_DROP_MALFORMED, stream);
		return;
	}
	if (sl_ovpn_is_ping(pk->data, pk->len)) {
		peer_stats(w, p)->keepalive_rx++;
		return;
	}
	if (sl_ovpn_is_occ(pk->data, pk->len, &occ)) {
		peer_stats(w, p)
			->keepalive_rx++; /* OCC requests are not answered; EXIT is reported */
		if (occ == SL_OVPN_OCC_EXIT)
			worker_emit(w, SL_EVENT_PEER_EXIT, p->id);
		return;
	}
	if (w->e->ovpn_client_to_client && forward_to_peer(w, p, pk, stream))
		return;
	datapath_deliver(w, p, pk, stream);
}

/* from: the datagram's source, or NULL for a packet from a TCP stream (sl_engine_ovpn_input). */
void datapath_ovpn_rx(struct sl_worker *w, struct sl_pkt *pk, const struct sockaddr_storage *from)
{
	struct sl_engine *e = w->e;
	struct sl_ovpn_class c;
	struct key_slot *k;
	struct peer *p;
	enum sl_drop d;
	bool foreign, stream = !from;

	switch (sl_ovpn_classify(pk->data, pk->len, &c)) {
	case SL_OVPN_KIND_CONTROL:
		if (!e->cfg.on_control) {
			drop_rx(&w->stats, SL_DROP_NOKEY, stream);
		} else if (!w->threaded || stream) {
			w->stats.control_rx++;
			e->cfg.on_control(e->cfg.control_arg, pk->data, pk->len, from);
		} else {
			/* A worker thread may not run the control plane: the control thread does,
			 * while this worker waits (workers.c). TCP input (no from) runs on the
			 * control thread already. */
			w->stats.control_rx++;
			worker_run_control(w, pk->data, pk->len, from);
		}
		return;
	case SL_OVPN_KIND_MALFORMED:
		drop_rx(&w->stats, SL_DROP_MALFORMED, stream);
		return;
	default:
		break;
	}
	p = peer_of(e, &c);
	k = p ? slot_for_key_id(p, c.key_id) : NULL;
	/*
	 * Workers > 1: the rx SA (replay window, AEAD context) is its owner's alone. The steering
	 * sends the peer's data there; a datagram that reached another worker (V1 for a peer with
	 * a peer-id, a V2 with some other id that fell back to the sole peer) is dropped here
	 * rather than opened by two threads at once. TCP input runs on the control thread while
	 * no worker does.
	 */
	if (k && w->threaded && !stream && k->rx_worker != w->index)
		k = NULL;
	if (!k) {
		drop_rx(p ? peer_stats(w, p) : &w->stats, SL_DROP_NOKEY, stream);
		return;
	}
	/* The auth-failure budget of datapath.c; TCP input (no from) is never charged. */
	foreign = from && !sl_sockaddr_same(&p->cfg.endpoint, from);
	if (foreign && !datapath_auth_budget_left(w, p, w->rx_now)) {
		drop_rx(peer_stats(w, p), SL_DROP_RATE, stream);
		return;
	}
	d = k->cbc ? sl_ovpn_cbc_open(&k->cbcs->rx, pk) : sl_ovpn_open(&k->orx, pk);
	if (d != SL_DROP_NONE) {
		if (foreign && d == SL_DROP_AUTH)
			datapath_auth_budget_charge(w, p);
		drop_rx(peer_stats(w, p), d, stream);
		return;
	}
	peer_stats(w, p)->last_rx_ns = w->rx_now;
	/* Authenticated: the peer may float to a new address (OpenVPN's --float for V2). */
	if (foreign && p->cfg.follow_endpoint && w->threaded) {
		/* Other workers read the endpoint: the control thread moves it (workers.c). */
		struct worker_event ev = {.type = WEV_ROAM, .peer_id = p->id};

		memcpy(&ev.addr, from, sl_sockaddr_len(from));
		worker_post(w, &ev);
	} else if (foreign && p->cfg.follow_endpoint) {
		bool moved = p->cfg.endpoint.ss_family != 0;

		memcpy(&p->cfg.endpoint, from, sl_sockaddr_len(from));
		if (moved)
			engine_emit(e, SL_EVENT_ENDPOINT_CHANGED, p->id);
	}
	rx_payload(w, p, k, pk, stream);
}

int sl_engine_ovpn_input(struct sl_engine *e, const uint8_t *pkt, size_t len)
{
	struct sl_worker *w = engine_ctl_worker(e);
	struct sl_pkt *pk;

	if (len > e->cfg.mtu + SL_OVPN_HEADROOM + SL_OVPN_TAILROOM)
		return -EMSGSIZE;
	pk = sl_pool_get(w->pool);
	if (!pk) {
		count_drop(&w->stats, SL_DROP_NOMEM);
		return -ENOBUFS;
	}
	/* The one copy on this path: TCP bytes do not land in our buffers. */
	memcpy(sl_pkt_put(pk, (uint32_t)len), pkt, len);
	/* pk goes back below: it must not wait in a receive round's TUN queue (if a control-plane
	 * callback inside one brought us here). */
	bool queued = w->tunq.active;

	w->tunq.active = false;
	w->rx_now = sl_loop_now(w->loop); /* not inside a receive round */
	datapath_ovpn_rx(w, pk, NULL);
	w->tunq.active = queued;
	sl_pool_put(w->pool, pk);
	return 0;
}
