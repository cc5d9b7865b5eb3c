// SPDX-License-Identifier: MIT
/*
 * Packets opened in one UDP receive round wait here, and leave for the TUN
 * when the round ends: consecutive TCP segments of one flow as one write of a
 * GRO super-packet (core/gro.h) with a virtio-net header, gathered with
 * writev straight from where they were decrypted, everything else one write
 * each. Counters move when the write succeeds, per packet, so loss is still
 * counted packet by packet (drops.io). With IoBackend = io_uring the single
 * writes of a round leave together in one io_uring_enter, which also waits
 * for them: the receive buffers they point into go back right after.
 */
#include "dco/engine_int.h"

#include "core/gro.h"
#include "core/log.h"
#include "io/tun_uring.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/uio.h>

/*
 * The counters of the peer a queued packet came from, looked up when the peer differs from the
 * last packet's (a round's packets mostly come from one peer). The peer may have gone since the
 * packet was queued; nothing in a flush adds or removes peers.
 */
struct stats_of {
	uint32_t peer_id;
	struct sl_peer_stats *s; /* NULL: not looked up yet */
};

static struct sl_peer_stats *stats_of(struct sl_worker *w, struct stats_of *c, uint32_t peer_id)
{
	if (!c->s || c->peer_id != peer_id) {
		struct peer *p = engine_peer(w->e, peer_id);

		c->s = p ? peer_stats(w, p) : &w->stats;
		c->peer_id = peer_id;
	}
	return c->s;
}

static void count_written(struct sl_worker *w, struct stats_of *c, const struct tunq_item *it,
			  bool ok)
{
	struct sl_peer_stats *s = stats_of(w, c, it->peer_id);

	if (!ok) {
		/* The queue only holds packets that came by UDP. */
		count_udp_rx_drop(s, SL_DROP_IO);
		return;
	}
	s->rx_packets++;
	s->rx_bytes += it->pk.len;
}

/* Write items[from, from + n) as one super-packet. False: the kernel refused it (EINVAL). */
static bool write_merged(struct sl_worker *w, const struct sl_gro_run *r, uint32_t from, uint32_t n,
			 int *err)
{
	struct tunq_item *it = &w->tunq.items[from];
	struct iovec iov[SL_TUNQ_MAX];
	uint8_t saved[SL_GSO_HDR_MAX];
	uint8_t *first = it[0].pk.data;
	ssize_t n_w;

	memcpy(saved, first, r->hdr_len);
	sl_gro_finish(r, first, first - SL_VNET_HDR_LEN);
	iov[0] = (struct iovec){first - SL_VNET_HDR_LEN, SL_VNET_HDR_LEN + it[0].pk.len};
	for (uint32_t k = 1; k < n; k++)
		iov[k] = (struct iovec){it[k].pk.data + r->hdr_len, it[k].pk.len - r->hdr_len};
	n_w = writev(w->tun.fd, iov, (int)n);
	*err = n_w < 0 ? -errno : 0;
	if (n_w < 0 && errno == EINVAL) {
		memcpy(first, saved, r->hdr_len); /* written one by one after all */
		return false;
	}
	return true;
}

/* Queue one packet's write on the ring (the virtio header, if any, in its headroom). */
static bool ring_queue(struct sl_worker *w, struct tunq_item *it)
{
	if (sl_tun_frame(&w->tun, &it->pk) < 0)
		return false;
	if (sl_uring_queue_write(w->tun_uring, &it->pk) == 0)
		return true;
	sl_tun_unframe(&w->tun, &it->pk);
	return false;
}

static void ring_count(struct sl_worker *w, struct stats_of *c, const struct sl_uring_done *d,
		       int n)
{
	for (int k = 0; k < n; k++) {
		struct tunq_item *it =
			(struct tunq_item *)((uint8_t *)d[k].p - offsetof(struct tunq_item, pk));
		bool ok = d[k].res >= 0 && (uint32_t)d[k].res == it->pk.len;

		sl_tun_unframe(&w->tun, &it->pk);
		count_written(w, c, it, ok);
	}
}

/* Submit the ring's writes, wait for them all, count each packet by its result. */
static void ring_flush(struct sl_worker *w, struct stats_of *c)
{
	struct sl_uring_done d[SL_TUNQ_MAX];
	int n;

	/* Bounded: io_uring_enter only returns early on a signal. */
	for (int tries = 0; sl_uring_inflight(w->tun_uring) && tries < 4; tries++) {
		if ((n = sl_uring_submit_wait(w->tun_uring)) < 0)
			sl_debug("tun: io_uring_enter: %s", strerror(-n));
		while ((n = sl_uring_reap(w->tun_uring, d, SL_TUNQ_MAX)) > 0)
			ring_count(w, c, d, n);
	}
	if (sl_uring_inflight(w->tun_uring))
		sl_warn("tun: io_uring writes still in flight after 4 waits");
}

void tunq_flush(struct sl_worker *w)
{
	struct tunq *q = &w->tunq;
	bool udp_ok = w->tun.offload & (SL_TUN_OFF_USO4 | SL_TUN_OFF_USO6);
	bool gro = w->tun.offload && !q->no_gro;
	struct stats_of c = {0};

	for (uint32_t i = 0; i < q->n;) {
		struct sl_gro_run r;
		uint32_t n = 1;
		int err = 0;

		if (gro && sl_gro_start(&r, q->items[i].pk.data, q->items[i].pk.len, udp_ok))
			while (i + n < q->n &&
			       sl_gro_append(&r, q->items[i + n].pk.data, q->items[i + n].pk.len))
				n++;
		if (n > 1 && w->tun_uring)
			ring_flush(w, &c); /* what came before this run leaves before it */
		if (n > 1 && !write_merged(w, &r, i, n, &err)) {
			q->no_gro = true; /* this kernel takes no GSO writes: stop trying */
			gro = false;
			n = 1;
		} else if (n > 1) {
			w->stats.tun_gro_tx += err == 0;
			for (uint32_t k = 0; k < n; k++)
				count_written(w, &c, &q->items[i + k], err == 0);
			i += n;
			continue;
		}
		if (!w->tun_uring || !ring_queue(w, &q->items[i]))
			count_written(w, &c, &q->items[i],
				      sl_tun_write(&w->tun, &q->items[i].pk) == 0);
		i++;
	}
	if (w->tun_uring)
		ring_flush(w, &c);
	q->n = 0;
}

void tunq_add(struct sl_worker *w, uint32_t peer_id, const struct sl_pkt *pk)
{
	struct tunq *q = &w->tunq;

	q->items[q->n].pk = *pk;
	q->items[q->n].peer_id = peer_id;
	if (++q->n == SL_TUNQ_MAX)
		tunq_flush(w);
}
