// SPDX-License-Identifier: MIT
/*
 * The fast path, in batches and in place:
 *
 *   TUN read (into head room) -> route lookup -> ESP seal in place -> sendmmsg
 *   recvmmsg (into head room) -> SPI lookup -> replay/AEAD open in place -> source check -> TUN
 * write
 *
 * No allocation, no lock, no copy of the payload. Every packet that does
 * not reach the other side increments exactly one drop counter. Each
 * function runs for one worker (struct sl_worker, engine_int.h): its pool,
 * sockets, TUN queue and counters; peers, keys and routes are the engine's.
 */
#include "dco/engine_int.h"

#include "core/bytes.h"
#include "core/gso.h"
#include "core/log.h"
#include "core/sockaddr.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

/* Fairness: at most this many batches per wake-up before other fds get a turn. */
#define ROUNDS_PER_WAKEUP 4

void count_drop(struct sl_peer_stats *s, enum sl_drop reason)
{
	if (reason > SL_DROP_NONE && reason < SL_DROP__COUNT)
		s->drops[reason - 1]++;
}

void count_udp_rx_drop(struct sl_peer_stats *s, enum sl_drop reason)
{
	count_drop(s, reason);
	if (reason > SL_DROP_NONE && reason < SL_DROP__COUNT)
		s->udp_rx_drops[reason - 1]++;
}

struct ip_view {
	int family;
	uint32_t len; /* length the IP header claims */
	const uint8_t *src, *dst;
};

/* Parse just enough of an inner IP packet: version, length, addresses. */
static bool ip_view(const uint8_t *ip, uint32_t len, struct ip_view *v)
{
	if (len < 1)
		return false;
	if ((ip[0] >> 4) == 4) {
		if (len < 20 || (ip[0] & 0x0f) < 5)
			return false;
		v->family = AF_INET;
		v->len = sl_get_be16(ip + 2);
		v->src = ip + 12;
		v->dst = ip + 16;
		return v->len >= 20 && v->len <= len;
	}
	if ((ip[0] >> 4) == 6) {
		if (len < 40)
			return false;
		v->family = AF_INET6;
		v->len = 40u + sl_get_be16(ip + 4);
		v->src = ip + 8;
		v->dst = ip + 24;
		return v->len <= len;
	}
	return false;
}

static struct peer *route_lookup(struct sl_engine *e, int family, const uint8_t *addr)
{
	uint32_t id;

	/* Sole-peer shortcut: one peer that takes everything needs no lookup. */
	if (e->sole_takes_all[family == AF_INET6])
		return e->sole_takes_all[family == AF_INET6];
	id = sl_route_lookup(e->routes, family, addr);
	return id == SL_ROUTE_NONE ? NULL : engine_peer(e, id);
}

struct udp_out *udp_for(struct sl_worker *w, int family)
{
	for (int i = 0; i < 2; i++)
		if (w->udp[i].fd >= 0 && w->udp[i].family == family)
			return &w->udp[i];
	return NULL;
}

static void flush_udp(struct sl_worker *w, struct udp_out *out)
{
	uint32_t failed;

	if (!out->batch.n)
		return;
	failed = (uint32_t)sl_udp_send_batch(out->fd, &out->batch);
	w->stats.drops[SL_DROP_IO - 1] += failed;
	for (uint32_t i = 0; i < out->batch.n; i++)
		sl_pool_put(w->pool, out->batch.pkts[i]);
	out->batch.n = 0;
}

static void flush_all(struct sl_worker *w)
{
	for (int i = 0; i < 2; i++)
		if (w->udp[i].fd >= 0)
			flush_udp(w, &w->udp[i]);
}

static void queue_udp(struct sl_worker *w, struct udp_out *out, struct sl_pkt *pk,
		      const struct sockaddr_storage *to)
{
	out->batch.pkts[out->batch.n] = pk;
	/* The longer of the two kinds: a fixed-size copy, no call (to is a whole storage). */
	memcpy(&out->batch.addrs[out->batch.n], to, sizeof(struct sockaddr_in6));
	if (++out->batch.n >= w->e->cfg.batch)
		flush_udp(w, out);
}

static bool tx_over_stream(struct sl_worker *w, struct peer *p, struct sl_pkt *pk)
{
	int r = -ENOTCONN;

	/* With workers, two may send at once; the control plane's stream is one object. */
	if (w->threaded)
		pthread_mutex_lock(&w->e->stream_lock);
	if (p->cfg.stream_send)
		r = p->cfg.stream_send(p->cfg.stream_arg, pk->data, pk->len);
	if (w->threaded)
		pthread_mutex_unlock(&w->e->stream_lock);
	if (r < 0) {
		count_drop(peer_stats(w, p), SL_DROP_IO);
		return false;
	}
	peer_stats(w, p)->tx_packets++;
	peer_stats(w, p)->tx_bytes += pk->len;
	peer_stats(w, p)->stream_tx_packets++;
	return true;
}

/*
 * Whether a packet to p goes over the control plane's stream: UDP has gone
 * silent, or no endpoint is known yet; on the DTLS wire also while no DTLS
 * session is installed (AnyConnect: CSTP until the handshake is done).
 */
static bool over_stream(const struct sl_engine *e, const struct peer *p)
{
	if (p->transport == SL_TRANSPORT_STREAM || !p->cfg.endpoint.ss_family)
		return true;
	return e->cfg.wire == SL_WIRE_DTLS && p->cfg.stream_send &&
	       !p->slots[SL_KEY_PRIMARY].present;
}

/* The key slot and socket a packet to p leaves by on UDP right now, or NULL (not on UDP). */
static struct key_slot *udp_slot(struct sl_worker *w, struct peer *p, struct udp_out **out)
{
	struct key_slot *k = &p->slots[SL_KEY_PRIMARY];

	if (p->transport == SL_TRANSPORT_STREAM || !p->cfg.endpoint.ss_family)
		return NULL;
	*out = udp_for(w, p->cfg.endpoint.ss_family);
	return k->present && *out ? k : NULL;
}

/* True when the peer's tx key has been used enough that the control plane should rekey. */
static bool key_near_limit(struct sl_worker *w, struct peer *p, struct key_slot *k)
{
	uint64_t limit = p->cfg.rekey_after_packets;

	if (!k->tx.esn && limit > SL_ESP_SEQ_SOFT_LIMIT)
		limit = SL_ESP_SEQ_SOFT_LIMIT;
	if (k->near_limit_reported || tx_seq(k) < limit)
		return false;
	/* With workers the flag is the control thread's (workers.c run_event): only ask. */
	if (!w->threaded)
		k->near_limit_reported = true;
	return true;
}

/* Takes ownership of pk. */
static void tx_packet(struct sl_worker *w, struct sl_pkt *pk)
{
	struct sl_engine *e = w->e;
	struct ip_view v;
	struct peer *p;
	struct key_slot *k;
	struct udp_out *out;
	uint32_t inner_len = pk->len;
	enum sl_drop d;

	if (!ip_view(pk->data, pk->len, &v)) {
		count_drop(&w->stats, SL_DROP_MALFORMED);
		goto put;
	}
	p = route_lookup(e, v.family, v.dst);
	if (!p) {
		count_drop(&w->stats, SL_DROP_NOROUTE);
		goto put;
	}
	if (e->cfg.wire == SL_WIRE_OPENVPN) {
		datapath_ovpn_tx(w, p, pk);
		return;
	}
	if (over_stream(e, p)) {
		tx_over_stream(w, p, pk);
		goto put;
	}
	if (e->cfg.wire == SL_WIRE_DTLS) {
		datapath_dtls_tx(w, p, pk);
		return;
	}
	k = udp_slot(w, p, &out);
	if (!k) {
		d = p->slots[SL_KEY_PRIMARY].present ? SL_DROP_IO : SL_DROP_NOKEY;
		count_drop(peer_stats(w, p), d);
		goto put;
	}
	d = sl_esp_seal(tx_sa(w, k), pk, v.family == AF_INET ? SL_ESP_NH_IPV4 : SL_ESP_NH_IPV6);
	if (d != SL_DROP_NONE) {
		count_drop(peer_stats(w, p), d);
		goto put;
	}
	peer_stats(w, p)->tx_packets++;
	peer_stats(w, p)->tx_bytes += inner_len;
	queue_udp(w, out, pk, &p->cfg.endpoint);
	/* Last: the handler may rekey (or even delete the peer) from inside the event. */
	if (key_near_limit(w, p, k))
		worker_emit(w, SL_EVENT_KEY_NEAR_LIMIT, p->id);
	return;
put:
	sl_pool_put(w->pool, pk);
}

/*
 * A TUN super-packet leaves as the packets the kernel would have sent, each
 * in a buffer of its own so the UDP batch can leave as one GSO send. On UDP
 * each segment is encrypted straight from the super-packet into its buffer:
 * the segmentation copy and the encryption are one pass (and one AEAD update:
 * OpenSSL's per-update cost is more than a memcpy of the payload). Otherwise
 * (stream fallback, no key yet, no route) the payload is copied and the
 * segment takes the way of any packet, which counts whatever goes wrong.
 */
static void tx_super(struct sl_worker *w, const struct sl_gso *g)
{
	struct sl_engine *e = w->e;
	uint8_t nh = g->family == AF_INET ? SL_ESP_NH_IPV4 : SL_ESP_NH_IPV6;
	struct udp_out *out = NULL;
	struct key_slot *k = NULL;
	struct peer *p = NULL;
	struct ip_view v;

	if (ip_view(g->pkt, g->len, &v))
		p = route_lookup(e, v.family, v.dst);
	/* The fused seal is ESP's; OpenVPN segments go the general way. */
	if (p && e->cfg.wire == SL_WIRE_ESP)
		k = udp_slot(w, p, &out);
	for (uint32_t i = 0; i < g->nseg; i++) {
		struct sl_pkt *seg = sl_pool_get(w->pool);
		uint32_t plen = sl_gso_seg_payload_len(g, i);
		enum sl_drop d;
		uint8_t *hdr;

		if (!seg) {
			w->stats.drops[SL_DROP_NOMEM - 1] += g->nseg - i;
			break;
		}
		if (!k) {
			sl_gso_seg_headers(g, i, seg->data);
			memcpy(seg->data + g->hdr_len, sl_gso_seg_payload(g, i), plen);
			seg->len = g->hdr_len + plen;
			tx_packet(w, seg);
			continue;
		}
		/*
		 * The segment's headers go in front of its payload inside the super-packet
		 * (those bytes were the previous segment's, already sealed, or the original
		 * headers, which g keeps): headers, payload and trailer then leave for seg in
		 * one encryption pass.
		 */
		hdr = sl_gso_seg_payload(g, i) - g->hdr_len;
		sl_gso_seg_headers(g, i, hdr);
		d = sl_esp_seal_ext(
			tx_sa(w, k), seg, hdr, g->hdr_len + plen,
			g->len - (uint32_t)(hdr + g->hdr_len + plen - g->pkt) + g->tail_room, nh);
		if (d != SL_DROP_NONE) {
			count_drop(peer_stats(w, p), d);
			sl_pool_put(w->pool, seg);
			continue;
		}
		peer_stats(w, p)->tx_packets++;
		peer_stats(w, p)->tx_bytes += g->hdr_len + plen;
		queue_udp(w, out, seg, &p->cfg.endpoint);
	}
	/* Last, as in tx_packet: the handler may rekey or delete the peer. */
	if (k && key_near_limit(w, p, k))
		worker_emit(w, SL_EVENT_KEY_NEAR_LIMIT, p->id);
}

/* Read one packet (or super-packet) from the TUN and send it on. Returns -EAGAIN when drained. */
static int tun_read_one(struct sl_worker *w, struct sl_pkt *pk)
{
	struct sl_gso g;
	int r;

	if (!w->tun.offload) {
		r = sl_tun_read(&w->tun, pk);
		r = r < 0 ? r : 0;
	} else {
		r = sl_tun_read_super(&w->tun, pk, w->tun_big, SL_TUN_SUPER_CAP, &g);
	}
	if (r == 0) {
		tx_packet(w, pk);
		return 0;
	}
	/* A super-packet's bytes are in pk or in tun_big: pk goes back only after it is cut. */
	if (r == 1) {
		w->stats.tun_super_rx++;
		tx_super(w, &g);
	} else if (r == -EMSGSIZE)
		count_drop(&w->stats, SL_DROP_TOOBIG);
	else if (r == -EINVAL || r == -EBADMSG)
		count_drop(&w->stats, SL_DROP_MALFORMED);
	else if (r != -EAGAIN)
		count_drop(&w->stats, SL_DROP_IO);
	sl_pool_put(w->pool, pk);
	return r == -EAGAIN ? r : 0;
}

void datapath_on_tun(struct sl_loop *loop, int fd, uint32_t events, void *arg)
{
	struct sl_worker *w = arg;
	uint32_t batch = w->e->cfg.batch;

	for (int round = 0; round < ROUNDS_PER_WAKEUP; round++) {
		uint32_t n;

		for (n = 0; n < batch; n++) {
			struct sl_pkt *pk = sl_pool_get(w->pool);

			if (!pk)
				break; /* the kernel keeps the packet queued until buffers return */
			if (tun_read_one(w, pk) == -EAGAIN)
				goto out;
		}
		flush_all(w);
		if (n < batch)
			break;
	}
out:
	flush_all(w);
}

/* Inner packet checks shared by the UDP and stream paths: sane IP, right size, allowed source. */
static enum sl_drop check_inner(struct sl_engine *e, struct peer *p, struct sl_pkt *pk, uint8_t nh)
{
	struct ip_view v;

	if (!ip_view(pk->data, pk->len, &v))
		return SL_DROP_MALFORMED;
	if (nh && nh != (v.family == AF_INET ? SL_ESP_NH_IPV4 : SL_ESP_NH_IPV6))
		return SL_DROP_MALFORMED;
	pk->len = v.len; /* anything after the IP packet is padding */
	if (pk->len > e->cfg.mtu)
		return SL_DROP_TOOBIG;
	/* A peer may only send from addresses routed to it (cryptokey routing). */
	if (route_lookup(e, v.family, v.src) != p)
		return SL_DROP_NOROUTE;
	return SL_DROP_NONE;
}

static void deliver(struct sl_worker *w, struct peer *p, struct sl_pkt *pk, uint8_t nh, bool stream)
{
	enum sl_drop d = check_inner(w->e, p, pk, nh);

	if (d == SL_DROP_NONE && w->tunq.active && !stream) {
		tunq_add(w, p->id, pk); /* counted when written */
		return;
	}
	if (d == SL_DROP_NONE && sl_tun_write(&w->tun, pk) < 0)
		d = SL_DROP_IO;
	if (d != SL_DROP_NONE) {
		(stream ? count_drop : count_udp_rx_drop)(peer_stats(w, p), d);
		return;
	}
	peer_stats(w, p)->rx_packets++;
	peer_stats(w, p)->rx_bytes += pk->len;
	if (stream)
		peer_stats(w, p)->stream_rx_packets++;
}

int datapath_send_dpd(struct sl_worker *w, struct peer *p, uint8_t type)
{
	struct sl_engine *e = w->e;
	struct key_slot *k = &p->slots[SL_KEY_PRIMARY];
	struct udp_out *out = udp_for(w, p->cfg.endpoint.ss_family);
	struct sl_pkt *pk;
	uint8_t *b;

	if (e->cfg.wire == SL_WIRE_OPENVPN)
		return datapath_ovpn_send_ping(w, p);
	if (e->cfg.wire == SL_WIRE_DTLS)
		return datapath_dtls_send_dpd(w, p, type);
	if (!k->present || !out)
		return -ENOKEY;
	pk = sl_pool_get(w->pool);
	if (!pk) {
		count_drop(&w->stats, SL_DROP_NOMEM);
		return -ENOBUFS;
	}
	b = sl_pkt_put(pk, 1);
	b[0] = type;
	if (sl_esp_seal(tx_sa(w, k), pk, SL_ESP_NH_NONE) != SL_DROP_NONE) {
		sl_pool_put(w->pool, pk);
		return -ENOKEY;
	}
	peer_stats(w, p)->keepalive_tx++;
	queue_udp(w, out, pk, &p->cfg.endpoint);
	flush_udp(w, out);
	return 0;
}

static void on_dpd_reply(struct sl_worker *w, struct peer *p)
{
	struct worker_event ev = {.type = WEV_DPD_REPLY, .peer_id = p->id};

	if (w->threaded)
		worker_post(w, &ev); /* timers are the control thread's */
	else
		timers_on_dpd_reply(w->e, p);
}

/* Our keepalive/DPD rides in ESP dummy packets (next header 59), authenticated like data. */
static void on_dpd(struct sl_worker *w, struct peer *p, struct sl_pkt *pk)
{
	peer_stats(w, p)->keepalive_rx++;
	if (pk->len >= 1 && pk->data[0] == DPD_REQUEST)
		datapath_send_dpd(w, p, DPD_REPLY);
	else if (pk->len >= 1 && pk->data[0] == DPD_REPLY)
		on_dpd_reply(w, p);
}

/*
 * Auth-failure budget. A datagram with a known SPI costs a full AEAD open before it can be
 * refused, so a flood of well-formed datagrams under the wrong key is the most expensive kind.
 * Sources other than the peer's current endpoint share one bucket per peer (and worker,
 * engine_int.h struct peer_share): each auth failure from them takes a token, and with none left
 * they are dropped before decryption (rate). The peer's current endpoint is never charged, so an
 * attacker who cannot spoof that address cannot shut the peer out; one who can spoof it costs us
 * what it costs today (an AEAD open each), never more. A peer that roams to a new address while a
 * flood runs competes for the tokens: its first datagram to win one authenticates, moves the
 * endpoint, and is exempt from then on (a delay of the order of burst/refill, not a lock-out).
 */
#define AUTH_BUDGET_BURST  64u
#define AUTH_BUDGET_REFILL (SL_MSEC / 2) /* one token per 0.5 ms: 2000 failures/s */

bool datapath_auth_budget_left(struct sl_worker *w, struct peer *p, sl_time_ns now)
{
	struct peer_share *sh = &p->share[w->index];
	uint64_t add = (now - sh->auth_budget.last) / AUTH_BUDGET_REFILL;

	if (add) {
		sh->auth_budget.tokens = add >= AUTH_BUDGET_BURST || sh->auth_budget.tokens + add >=
									     AUTH_BUDGET_BURST
						 ? AUTH_BUDGET_BURST
						 : sh->auth_budget.tokens + (uint32_t)add;
		sh->auth_budget.last = now;
	}
	return sh->auth_budget.tokens > 0;
}

void datapath_auth_budget_charge(struct sl_worker *w, struct peer *p)
{
	p->share[w->index].auth_budget.tokens--;
}

/*
 * Roaming: an authenticated datagram from another address moves the peer's endpoint. Rare,
 * and kept out of rx_esp so that the per-packet path stays small enough to inline. Returns
 * true if an endpoint that was set moved (the caller reports it after it is done with p).
 */
static __attribute__((noinline, cold)) bool
follow(struct sl_worker *w, struct peer *p, const struct sockaddr_storage *from, uint32_t *peer_id)
{
	bool moved = p->cfg.endpoint.ss_family != 0;

	if (w->threaded) {
		/* Other workers read the endpoint: the control thread moves it (workers.c). */
		struct worker_event ev = {.type = WEV_ROAM, .peer_id = p->id};

		memcpy(&ev.addr, from, sl_sockaddr_len(from));
		worker_post(w, &ev);
		return false;
	}
	memcpy(&p->cfg.endpoint, from, sl_sockaddr_len(from));
	*peer_id = p->id;
	/* A new path: ask at once whether it works both ways, rather than at the next tick. */
	if (p->transport == SL_TRANSPORT_STREAM && p->cfg.keepalive_ms)
		datapath_send_dpd(w, p, DPD_REQUEST);
	return moved;
}

/*
 * The peer and key slot the last datagram of a receive batch was opened with: a batch's datagrams
 * (and a GRO datagram's segments) nearly always share one SPI, so the lookup is made when the SPI
 * changes. Kept only after a data packet from the peer's current endpoint: roaming and DPD may
 * run the control plane's handlers (engine_emit), which can rekey or delete the peer; nothing
 * else in a batch can (with workers, control code runs only between batches: workers.c).
 */
struct rx_sa {
	uint32_t spi;
	struct peer *p;
	struct key_slot *k; /* NULL: look the SPI up */
};

/* Returns true if the peer's endpoint moved (the caller reports it after it is done with p). */
static bool rx_esp(struct sl_worker *w, struct sl_pkt *pk, const struct sockaddr_storage *from,
		   uint32_t *peer_id, struct rx_sa *last)
{
	struct sl_engine *e = w->e;
	uint32_t spi = sl_esp_spi(pk->data);
	struct peer *p;
	struct key_slot *k;
	bool moved = false, foreign;
	uint8_t nh;
	enum sl_drop d;

	if (last->k && last->spi == spi) {
		p = last->p;
		k = last->k;
	} else {
		p = sl_idmap_get(&e->spis, spi);
		k = p ? keys_find_rx(p, spi) : NULL;
	}
	last->k = NULL; /* until this packet is known to be plain data */
	if (!k) {
		count_udp_rx_drop(&w->stats, SL_DROP_NOKEY);
		return false;
	}
	foreign = !sl_sockaddr_same(&p->cfg.endpoint, from);
	if (foreign && !datapath_auth_budget_left(w, p, w->rx_now)) {
		count_udp_rx_drop(peer_stats(w, p), SL_DROP_RATE);
		return false;
	}
	d = sl_esp_open(&k->rx, pk, &nh);
	if (d != SL_DROP_NONE) {
		if (foreign && d == SL_DROP_AUTH)
			datapath_auth_budget_charge(w, p);
		count_udp_rx_drop(peer_stats(w, p), d);
		return false;
	}
	/* Authenticated: only now may the packet move the peer's endpoint (roaming). */
	peer_stats(w, p)->last_rx_ns = w->rx_now;
	if (p->cfg.follow_endpoint && foreign)
		moved = follow(w, p, from, peer_id);
	if (nh == SL_ESP_NH_NONE) {
		on_dpd(w, p, pk);
	} else if (nh == SL_ESP_NH_IPV4 || nh == SL_ESP_NH_IPV6) {
		deliver(w, p, pk, nh, false);
		if (!foreign)
			*last = (struct rx_sa){spi, p, k};
	} else {
		count_udp_rx_drop(peer_stats(w, p), SL_DROP_MALFORMED);
	}
	return moved;
}

static void rx_datagram(struct sl_worker *w, struct sl_pkt *pk, const struct sockaddr_storage *from,
			struct rx_sa *last)
{
	struct sl_engine *e = w->e;
	uint32_t moved_peer = 0;

	w->stats.udp_rx_datagrams++;
	if (pk->flags & SL_UDP_F_TRUNCATED) {
		count_udp_rx_drop(&w->stats, SL_DROP_TOOBIG);
		return;
	}
	if (e->cfg.wire == SL_WIRE_OPENVPN) {
		datapath_ovpn_rx(w, pk, from);
		return;
	}
	if (e->cfg.wire == SL_WIRE_DTLS) {
		datapath_dtls_rx(w, pk, from);
		return;
	}
	switch (sl_esp_classify(pk->data, pk->len)) {
	case SL_ESP_KIND_ESP:
		if (rx_esp(w, pk, from, &moved_peer, last))
			engine_emit(e, SL_EVENT_ENDPOINT_CHANGED, moved_peer); /* !threaded */
		return;
	case SL_ESP_KIND_NAT_KEEPALIVE:
		w->stats.keepalive_rx++;
		return;
	case SL_ESP_KIND_IKE: /* no IKE daemon behind this port: nothing will answer it */
	case SL_ESP_KIND_MALFORMED:
		count_udp_rx_drop(&w->stats, SL_DROP_MALFORMED);
		return;
	}
}

/* A GRO-coalesced datagram holds several, each seg bytes but the last: open each in place. */
static void rx_coalesced(struct sl_worker *w, struct sl_pkt *pk, uint16_t seg,
			 const struct sockaddr_storage *from, struct rx_sa *last)
{
	for (uint32_t off = 0; off < pk->len; off += seg) {
		struct sl_pkt v = *pk;

		v.data = pk->data + off;
		v.len = pk->len - off < seg ? pk->len - off : seg;
		v.cap = sl_pkt_headroom(&v) + v.len; /* no tailroom: the next datagram is there */
		rx_datagram(w, &v, from, last);
	}
}

void datapath_on_udp(struct sl_loop *loop, int fd, uint32_t events, void *arg)
{
	struct sl_worker *w = arg;
	uint32_t batch = w->e->cfg.batch;
	struct udp_out *sock = w->udp[0].fd == fd ? &w->udp[0] : &w->udp[1];
	struct sl_pool *pool = sock->gro_pool ? sock->gro_pool : w->pool;
	struct sl_udp_batch in;
	struct rx_sa last = {0};

	/* Queued for one write per GRO run, or one io_uring_enter for the round. */
	w->tunq.active = w->tun.offload != 0 || w->tun_uring;
	for (int round = 0; round < ROUNDS_PER_WAKEUP; round++) {
		uint32_t n;
		int got;

		for (n = 0; n < batch; n++) {
			in.pkts[n] = sock->rx_spare[n] ? sock->rx_spare[n] : sl_pool_get(pool);
			sock->rx_spare[n] = NULL;
			if (!in.pkts[n])
				break;
		}
		in.rxq_dropped = sock->rxq_dropped;
		got = n ? sl_udp_recv_batch(fd, &in, n) : 0;
		w->rx_now = sl_loop_now(w->loop);
		/* The kernel's counter only grows (mod 2^32): the difference is new overflow drops.
		 */
		w->stats.drops[SL_DROP_OVERFLOW - 1] += in.rxq_dropped - sock->rxq_dropped;
		sock->rxq_dropped = in.rxq_dropped;
		for (int i = 0; i < got; i++) {
			if (in.seg[i] && in.pkts[i]->len > in.seg[i] &&
			    !(in.pkts[i]->flags & SL_UDP_F_TRUNCATED)) {
				w->stats.udp_gro_rx++;
				rx_coalesced(w, in.pkts[i], in.seg[i], &in.addrs[i], &last);
			} else {
				rx_datagram(w, in.pkts[i], &in.addrs[i], &last);
			}
		}
		tunq_flush(w); /* before the buffers the queue points into go back */
		for (uint32_t i = 0; i < n; i++) {
			/* Unfilled (the kernel writes only the first got): as taken, kept for
			 * the next round if the pool is the socket's own. */
			if (sock->gro_pool && (int)i >= got)
				sock->rx_spare[i] = in.pkts[i];
			else
				sl_pool_put(pool, in.pkts[i]);
		}
		if (got < 0)
			count_drop(&w->stats, SL_DROP_IO);
		if (got < (int)batch)
			break;
	}
	w->tunq.active = false;
	flush_all(w);
}

int sl_engine_stream_input(struct sl_engine *e, uint32_t peer_id, const uint8_t *ip, size_t len)
{
	struct sl_worker *w = engine_ctl_worker(e);
	struct peer *p = engine_peer(e, peer_id);
	struct sl_pkt *pk;

	if (!p)
		return -ENOENT;
	if (len > e->cfg.mtu) {
		count_drop(peer_stats(w, p), SL_DROP_TOOBIG);
		return -EMSGSIZE;
	}
	pk = sl_pool_get(w->pool);
	if (!pk) {
		count_drop(peer_stats(w, p), SL_DROP_NOMEM);
		return -ENOBUFS;
	}
	/* The one copy on this path: TLS records do not land in our buffers. */
	memcpy(sl_pkt_put(pk, (uint32_t)len), ip, len);
	deliver(w, p, pk, 0, true);
	sl_pool_put(w->pool, pk);
	return 0;
}

void datapath_flush(struct sl_worker *w)
{
	flush_all(w);
}

void datapath_deliver(struct sl_worker *w, struct peer *p, struct sl_pkt *pk, bool stream)
{
	deliver(w, p, pk, 0, stream);
}

void datapath_queue(struct sl_worker *w, struct sl_pkt *pk, const struct sockaddr_storage *to)
{
	struct udp_out *out = udp_for(w, to->ss_family);

	if (!out) {
		count_drop(&w->stats, SL_DROP_IO);
		sl_pool_put(w->pool, pk);
		return;
	}
	queue_udp(w, out, pk, to);
}
