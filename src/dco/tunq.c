// SPDX-License-Identifier: MIT
/*
 * Packets opened in one UDP receive round wait here, and leave for the TUN
 * when the round ends: consecutive TCP segments of one flow as one write of a
 * GRO super-packet (core/gro.h) with a virtio-net header, gathered with
 * writev straight from where they were decrypted, everything else one write
 * each. Counters move when the write succeeds, per packet, so loss is still
 * counted packet by packet (drops.io).
 */
#include "dco/engine_int.h"

#include "core/gro.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

static void count_written(struct sl_engine *e, const struct tunq_item *it, bool ok)
{
	struct peer *p = engine_peer(e, it->peer_id); /* the peer may have gone meanwhile */
	struct sl_peer_stats *s = p ? &p->stats : &e->stats;

	if (!ok) {
		/* The queue only holds packets that came by UDP. */
		count_udp_rx_drop(s, SL_DROP_IO);
		return;
	}
	s->rx_packets++;
	s->rx_bytes += it->pk.len;
}

/* Write items[from, from + n) as one super-packet. False: the kernel refused it (EINVAL). */
static bool write_merged(struct sl_engine *e, const struct sl_gro_run *r, uint32_t from, uint32_t n,
			 int *err)
{
	struct tunq_item *it = &e->tunq.items[from];
	struct iovec iov[SL_TUNQ_MAX];
	uint8_t saved[SL_GSO_HDR_MAX];
	uint8_t *first = it[0].pk.data;
	ssize_t w;

	memcpy(saved, first, r->hdr_len);
	sl_gro_finish(r, first, first - SL_VNET_HDR_LEN);
	iov[0] = (struct iovec){first - SL_VNET_HDR_LEN, SL_VNET_HDR_LEN + it[0].pk.len};
	for (uint32_t k = 1; k < n; k++)
		iov[k] = (struct iovec){it[k].pk.data + r->hdr_len, it[k].pk.len - r->hdr_len};
	w = writev(e->tun.fd, iov, (int)n);
	*err = w < 0 ? -errno : 0;
	if (w < 0 && errno == EINVAL) {
		memcpy(first, saved, r->hdr_len); /* written one by one after all */
		return false;
	}
	return true;
}

void tunq_flush(struct sl_engine *e)
{
	struct tunq *q = &e->tunq;
	bool udp_ok = e->tun.offload & (SL_TUN_OFF_USO4 | SL_TUN_OFF_USO6);

	for (uint32_t i = 0; i < q->n;) {
		struct sl_gro_run r;
		uint32_t n = 1;
		int err = 0;

		if (!q->no_gro && sl_gro_start(&r, q->items[i].pk.data, q->items[i].pk.len, udp_ok))
			while (i + n < q->n &&
			       sl_gro_append(&r, q->items[i + n].pk.data, q->items[i + n].pk.len))
				n++;
		if (n > 1 && !write_merged(e, &r, i, n, &err)) {
			q->no_gro = true; /* this kernel takes no GSO writes: stop trying */
			n = 1;
		} else if (n > 1) {
			e->stats.tun_gro_tx += err == 0;
			for (uint32_t k = 0; k < n; k++)
				count_written(e, &q->items[i + k], err == 0);
			i += n;
			continue;
		}
		count_written(e, &q->items[i], sl_tun_write(&e->tun, &q->items[i].pk) == 0);
		i++;
	}
	q->n = 0;
}

void tunq_add(struct sl_engine *e, uint32_t peer_id, const struct sl_pkt *pk)
{
	struct tunq *q = &e->tunq;

	q->items[q->n].pk = *pk;
	q->items[q->n].peer_id = peer_id;
	if (++q->n == SL_TUNQ_MAX)
		tunq_flush(e);
}
