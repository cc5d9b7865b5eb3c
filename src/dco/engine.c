// SPDX-License-Identifier: MIT
/*
 * Engine lifecycle, the peer table and routes. Every control call checks
 * all of its arguments before it changes anything (as if_ovpn does), so a
 * refused call leaves the engine exactly as it was.
 */
#include "dco/engine_int.h"

#include "core/log.h"
#include "crypto/aead.h"
#include "io/steer.h"
#include "io/tun_uring.h"
#include "proto/proto.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SL_MAX(a, b) ((a) > (b) ? (a) : (b))

void sl_engine_cfg_init(struct sl_engine_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ifname = "sl0";
	cfg->tun_fd = -1;
	cfg->mtu = 1400;
	cfg->vnet_hdr = true;
	cfg->offload = true;
	cfg->pool_packets = 1024;
	cfg->batch = SL_UDP_BATCH_MAX;
}

void sl_peer_cfg_init(struct sl_peer_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->keepalive_ms = 1000;
	cfg->silent_ms = 3000;
	cfg->replay_window = SL_REPLAY_DEFAULT_WINDOW;
	cfg->rekey_after_packets = 1ull << 30;
}

void engine_emit(struct sl_engine *e, enum sl_event_type type, uint32_t peer_id)
{
	struct sl_event ev = {.type = type, .peer_id = peer_id};

	if (e->cfg.on_event)
		e->cfg.on_event(e->cfg.event_arg, &ev);
}

struct peer *engine_peer(struct sl_engine *e, uint32_t id)
{
	return sl_idmap_get(&e->peers, id);
}

static int sole_peer_cb(void *arg, uint32_t id)
{
	*(uint32_t *)arg = id;
	return 1;
}

/* The sole-peer shortcut: one peer that owns a family's default route takes all of it. */
void engine_update_sole(struct sl_engine *e)
{
	uint32_t id;

	e->sole_takes_all[0] = e->sole_takes_all[1] = NULL;
	if (e->npeers != 1 || sl_engine_foreach_peer(e, sole_peer_cb, &id) < 0)
		return;
	if (sl_route_default_owner(e->routes, AF_INET) == id)
		e->sole_takes_all[0] = engine_peer(e, id);
	if (sl_route_default_owner(e->routes, AF_INET6) == id)
		e->sole_takes_all[1] = engine_peer(e, id);
}

/* The socket's own receive pool goes, and with it the buffers its rounds kept (datapath.c). */
static void udp_free_gro_pool(struct udp_out *u)
{
	memset(u->rx_spare, 0, sizeof(u->rx_spare));
	sl_pool_free(u->gro_pool);
	u->gro_pool = NULL;
}

/* Make fd worker w's socket of slot i: offloads where the kernel has them, then watched. */
static int adopt_udp(struct sl_worker *w, int i, int fd, int family)
{
	const struct sl_engine_cfg *cfg = &w->e->cfg;
	struct udp_out *u = &w->udp[i];

	u->fd = fd;
	u->family = family;
	u->batch.gso = cfg->offload;
	u->batch.n = 0;
	u->rxq_dropped = 0;
	if (cfg->offload && sl_udp_enable_gro(fd) == 0) {
		struct sl_pool_cfg pc = {cfg->batch, 64, SL_UDP_GRO_CAP, 0};

		/* Without memory for it, datagrams come one by one as before. */
		u->gro_pool = sl_pool_new(&pc);
		if (!u->gro_pool)
			(void)setsockopt(fd, SOL_UDP, UDP_GRO, &(int){0}, sizeof(int));
	}
	if (sl_loop_add_fd(w->loop, fd, SL_EV_READ, w->threaded ? worker_on_udp : datapath_on_udp,
			   w) < 0)
		return -EIO;
	return 0;
}

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

static int open_udp(struct sl_worker *w)
{
	const struct sl_engine_cfg *cfg = &w->e->cfg;

	for (int i = 0; i < 2; i++) {
		const struct sockaddr_storage *ss = &cfg->listen[i];
		struct udp_out *u = &w->udp[i];
		socklen_t len;
		int fd, r;

		if (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)
			continue;
		len = ss->ss_family == AF_INET ? sizeof(struct sockaddr_in)
					       : sizeof(struct sockaddr_in6);
		if (!w->threaded) {
			fd = sl_udp_open((const struct sockaddr *)ss, len);
		} else {
			/* One reuseport group, in worker order: the steering indexes it. */
			struct sockaddr_storage at = *ss;

			if (w->index)
				set_port(&at, sl_udp_local_port(w->e->workers[0].udp[i].fd));
			fd = sl_udp_open_reuseport((const struct sockaddr *)&at, len);
		}
		if (fd < 0)
			return fd;
		r = adopt_udp(w, i, fd, ss->ss_family);
		if (r < 0) {
			u->fd = -1;
			close(fd);
			return r;
		}
	}
	return 0;
}

/* An adopted socket is worker 0's: the wires that use it (DTLS) run no more workers. */
int sl_engine_udp_attach(struct sl_engine *e, int fd)
{
	struct sl_worker *w = &e->workers[0];
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int type = 0, r;
	socklen_t tlen = sizeof(type);

	if (e->nworkers > 1)
		return -ENOTSUP;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0)
		return -errno;
	if (type != SOCK_DGRAM || (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
		return -EINVAL;
	if (udp_for(w, ss.ss_family))
		return -EEXIST;
	for (int i = 0; i < 2; i++) {
		if (w->udp[i].fd >= 0)
			continue;
		r = adopt_udp(w, i, fd, ss.ss_family);
		if (r < 0) {
			udp_free_gro_pool(&w->udp[i]);
			w->udp[i].fd = -1;
		}
		return r;
	}
	return -ENOSPC;
}

int sl_engine_udp_detach(struct sl_engine *e, int fd)
{
	struct sl_worker *w = &e->workers[0];

	for (int i = 0; i < 2; i++) {
		if (fd < 0 || w->udp[i].fd != fd)
			continue;
		datapath_flush(w); /* what was sealed for it leaves first */
		sl_loop_del_fd(w->loop, fd);
		udp_free_gro_pool(&w->udp[i]);
		w->udp[i].fd = -1;
		return 0;
	}
	return -ENOENT;
}

static int open_tun(struct sl_worker *w)
{
	struct sl_engine *e = w->e;

	if (e->cfg.tun_fd >= 0) {
		w->tun.fd = e->cfg.tun_fd;
		w->tun.vnet_hdr = e->cfg.tun_fd_offload;
		w->tun.offload = e->cfg.tun_fd_offload
					 ? SL_TUN_OFF_CSUM | SL_TUN_OFF_TSO4 | SL_TUN_OFF_TSO6
					 : 0;
		if (w->tun.offload && !(w->tun_big = malloc(SL_TUN_SUPER_CAP)))
			return -ENOMEM;
		snprintf(w->tun.name, sizeof(w->tun.name), "%s",
			 e->cfg.ifname ? e->cfg.ifname : "");
		e->own_tun = false;
	} else {
		/* Workers > 1: queue w of one multi-queue device, named by the first. */
		const char *name = w->index ? e->workers[0].tun.name : e->cfg.ifname;
		int r = sl_tun_open(&w->tun, name, e->cfg.vnet_hdr, w->threaded);

		if (r < 0)
			return r;
		e->own_tun = true;
		/* Super-packets need a buffer of their own; without it, stay packet by packet. */
		if (e->cfg.offload && w->tun.vnet_hdr) {
			w->tun_big = malloc(SL_TUN_SUPER_CAP);
			r = w->tun_big ? sl_tun_enable_offload(&w->tun) : -ENOMEM;
			if (r < 0)
				sl_warn("%s: no TUN offloads (%s): one packet per read",
					w->tun.name, strerror(-r));
		}
	}
	return sl_loop_add_fd(w->loop, w->tun.fd, SL_EV_READ,
			      w->threaded ? worker_on_tun : datapath_on_tun, w);
}

/* A worker's own resources: pool, TUN queue, UDP sockets, io_uring. */
static int worker_open(struct sl_worker *w)
{
	const struct sl_engine_cfg *cfg = &w->e->cfg;
	/* Room for the largest protocol header and trailer, plus the TUN's virtio header. */
	struct sl_pool_cfg pc = {
		.count = cfg->pool_packets,
		.headroom = SL_MAX(sl_proto_esp.headroom, sl_proto_ovpn_data.headroom) +
			    SL_VNET_HDR_LEN + 16,
		.mtu = cfg->mtu,
		.tailroom = SL_MAX(sl_proto_esp.tailroom, sl_proto_ovpn_data.tailroom) + 16,
	};
	int r;

	w->pool = sl_pool_new(&pc);
	if (!w->pool)
		return -ENOMEM;
	r = open_tun(w);
	if (r < 0)
		return r;
	r = open_udp(w);
	if (r < 0)
		return r;
	if (cfg->tun_uring && (r = sl_uring_new(&w->tun_uring, w->tun.fd, SL_TUNQ_MAX)) < 0) {
		sl_warn("%s: IoBackend = io_uring unavailable (%s): one write() per packet",
			w->tun.name, r == -ENOTSUP ? "built without liburing" : strerror(-r));
		w->tun_uring = NULL;
	}
	return 0;
}

static void worker_close(struct sl_worker *w)
{
	for (int i = 0; i < 2; i++) {
		if (w->udp[i].fd >= 0) {
			sl_loop_del_fd(w->loop, w->udp[i].fd);
			close(w->udp[i].fd);
		}
		udp_free_gro_pool(&w->udp[i]);
	}
	if (w->tun.fd >= 0) {
		sl_loop_del_fd(w->loop, w->tun.fd);
		if (w->e->own_tun)
			sl_tun_close(&w->tun);
	}
	sl_pool_free(w->pool);
	free(w->tun_big);
	sl_uring_free(w->tun_uring);
	if (w->threaded) {
		sl_loop_free(w->loop);
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->ctl_done);
	}
}

/*
 * Workers > 1: each datagram to the socket of worker SPI % N, or on the OpenVPN wire of worker
 * peer-id % N (io/steer.c).
 */
static int steer(struct sl_engine *e)
{
	bool ovpn = e->cfg.wire == SL_WIRE_OPENVPN;

	for (int i = 0; i < 2; i++) {
		int fd = e->workers[0].udp[i].fd;
		int r = fd < 0 ? 0
			: ovpn ? sl_steer_attach_ovpn(fd, e->nworkers)
			       : sl_steer_attach_spi(fd, e->nworkers);

		if (r < 0) {
			sl_warn("Workers = %u: cannot attach the %s steering program: %s",
				e->nworkers, ovpn ? "peer-id" : "SPI", strerror(-r));
			return r;
		}
	}
	return 0;
}

static int check_cfg(const struct sl_engine_cfg *cfg)
{
	if (!cfg->loop || cfg->mtu < 576 || cfg->mtu > 9000 || cfg->batch == 0 ||
	    cfg->batch > SL_UDP_BATCH_MAX || cfg->pool_packets < 2 * cfg->batch)
		return -EINVAL;
	if (cfg->tun_fd < 0 && (!cfg->ifname || strlen(cfg->ifname) >= IFNAMSIZ))
		return -EINVAL;
	if (cfg->wire != SL_WIRE_ESP && cfg->wire != SL_WIRE_OPENVPN && cfg->wire != SL_WIRE_DTLS)
		return -EINVAL;
	if (cfg->workers > SL_STEER_WORKERS_MAX)
		return -EINVAL;
	/*
	 * Workers > 1 steers by SPI (ESP) or peer-id (OpenVPN) and needs a TUN of its own with a
	 * queue per worker. DTLS records name no peer (peers are found by address), and its
	 * socket is adopted from the control plane (sl_engine_udp_attach): refused.
	 */
	if (cfg->workers > 1 && (cfg->wire == SL_WIRE_DTLS || cfg->tun_fd >= 0))
		return -ENOTSUP;
	return 0;
}

int sl_engine_new(struct sl_engine **out, const struct sl_engine_cfg *cfg)
{
	struct sl_engine *e;
	int r = check_cfg(cfg);

	if (r < 0)
		return r;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->cfg = *cfg;
	e->loop = cfg->loop;
	e->control_thread = pthread_self();
	sl_idmap_init(&e->peers);
	sl_idmap_init(&e->spis);
	sl_hostmap_init(&e->dtls_endpoints);
	/* Workers = 1: the one worker runs on the engine's loop (docs/workers.md). */
	e->nworkers = cfg->workers > 1 ? cfg->workers : 1;
	e->workers = calloc(e->nworkers, sizeof(*e->workers));
	e->routes = sl_route_new();
	if (!e->workers || !e->routes) {
		r = -ENOMEM;
		goto fail;
	}
	for (uint32_t i = 0; i < e->nworkers; i++) {
		struct sl_worker *w = &e->workers[i];

		w->e = e;
		w->index = i;
		w->loop = e->loop;
		w->tun.fd = -1;
		w->udp[0].fd = w->udp[1].fd = -1;
		w->wake_fd = w->ev_fd = -1;
	}
	for (uint32_t i = 0; i < e->nworkers; i++) {
		if (e->nworkers > 1 && (r = workers_init_one(&e->workers[i])) < 0)
			goto fail;
		if ((r = worker_open(&e->workers[i])) < 0)
			goto fail;
	}
	if (e->nworkers > 1 && (r = steer(e)) < 0)
		goto fail;
	if (cfg->ctl_path) {
		r = sl_ctl_server_new(&e->ctl, e, cfg->ctl_path);
		if (r < 0)
			goto fail;
	}
	e->cfg.ifname = e->workers[0].tun.name;
	if (e->nworkers > 1 && (r = workers_start(e)) < 0)
		goto fail;
	*out = e;
	return 0;
fail:
	sl_engine_free(e);
	return r;
}

static int free_peer_cb(void *arg, uint32_t id)
{
	sl_peer_del(arg, id);
	return 0;
}

void sl_engine_free(struct sl_engine *e)
{
	if (!e)
		return;
	workers_stop(e);
	sl_engine_foreach_peer(e, free_peer_cb, e);
	sl_ctl_server_free(e->ctl);
	for (uint32_t i = 0; e->workers && i < e->nworkers; i++)
		worker_close(&e->workers[i]);
	free(e->workers);
	sl_route_free(e->routes);
	sl_idmap_free(&e->peers);
	sl_idmap_free(&e->spis);
	sl_hostmap_free(&e->dtls_endpoints);
	free(e);
}

uint32_t sl_engine_offloads(const struct sl_engine *e)
{
	const struct sl_worker *w = &e->workers[0]; /* all workers are set up alike */
	uint32_t bits = 0;

	if (w->tun.offload & SL_TUN_OFF_CSUM)
		bits |= SL_OFFLOAD_TUN_CSUM;
	if (w->tun.offload & (SL_TUN_OFF_TSO4 | SL_TUN_OFF_TSO6))
		bits |= SL_OFFLOAD_TUN_TSO;
	if (w->tun.offload & (SL_TUN_OFF_USO4 | SL_TUN_OFF_USO6))
		bits |= SL_OFFLOAD_TUN_USO;
	for (int i = 0; i < 2; i++) {
		if (w->udp[i].fd >= 0 && w->udp[i].batch.gso)
			bits |= SL_OFFLOAD_UDP_GSO;
		if (w->udp[i].gro_pool)
			bits |= SL_OFFLOAD_UDP_GRO;
		if (w->tun_uring)
			bits |= SL_OFFLOAD_TUN_URING;
	}
	return bits;
}

const char *sl_offloads_format(uint32_t bits, char *out, size_t len)
{
	static const char *const names[] = {"tun-csum", "tso",	   "uso",
					    "udp-gso",	"udp-gro", "tun-io_uring"};
	size_t n = 0;

	if (len)
		out[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (bits & (1u << i) && n < len)
			n += (size_t)snprintf(out + n, len - n, "%s%s", n ? " " : "", names[i]);
	if (!bits)
		snprintf(out, len, "none");
	return out;
}

const char *sl_engine_ifname(const struct sl_engine *e)
{
	return e->workers[0].tun.name;
}

uint16_t sl_engine_udp_port(const struct sl_engine *e, int i)
{
	if (i < 0 || i > 1 || e->workers[0].udp[i].fd < 0)
		return 0;
	return sl_udp_local_port(e->workers[0].udp[i].fd);
}

static bool endpoint_ok(const struct sockaddr_storage *ss)
{
	return ss->ss_family == 0 || ss->ss_family == AF_INET || ss->ss_family == AF_INET6;
}

static int check_peer_cfg(const struct sl_peer_cfg *cfg)
{
	if (!endpoint_ok(&cfg->endpoint))
		return -EAFNOSUPPORT;
	if (cfg->keepalive_ms && cfg->silent_ms <= cfg->keepalive_ms)
		return -EINVAL;
	if (cfg->replay_window &&
	    (cfg->replay_window < 32 || cfg->replay_window > SL_REPLAY_MAX_WINDOW))
		return -EINVAL;
	return 0;
}

int sl_peer_new(struct sl_engine *e, uint32_t peer_id, const struct sl_peer_cfg *cfg)
{
	struct peer *p;
	int r = check_peer_cfg(cfg);

	ENGINE_ASSERT_CONTROL(e);
	if (r < 0)
		return r;
	if (peer_id > SL_PEER_ID_MAX)
		return -EINVAL;
	if (engine_peer(e, peer_id))
		return -EEXIST;
	p = calloc(1, sizeof(*p) + e->nworkers * sizeof(p->share[0]));
	if (!p)
		return -ENOMEM;
	p->id = peer_id;
	p->engine = e;
	p->cfg = *cfg;
	if (!p->cfg.rekey_after_packets)
		p->cfg.rekey_after_packets = 1ull << 30;
	/* With a stream to fall back on, data waits there until UDP has answered once. */
	p->transport = cfg->stream_send ? SL_TRANSPORT_STREAM : SL_TRANSPORT_UDP;
	p->udp_since = sl_loop_now(e->loop);
	if (sl_idmap_put(&e->peers, peer_id, p) < 0) {
		free(p);
		return -ENOMEM;
	}
	e->npeers++;
	engine_update_sole(e);
	dtls_endpoint_moved(e, p, NULL);
	timers_peer_start(e, p);
	return 0;
}

int sl_peer_del(struct sl_engine *e, uint32_t peer_id)
{
	struct peer *p = engine_peer(e, peer_id);

	ENGINE_ASSERT_CONTROL(e);
	if (!p)
		return -ENOENT;
	timers_peer_stop(e, p);
	keys_clear_slot(e, p, SL_KEY_PRIMARY);
	keys_clear_slot(e, p, SL_KEY_SECONDARY);
	sl_route_remove_peer(e->routes, peer_id);
	{
		struct sockaddr_storage old = p->cfg.endpoint;

		p->cfg.endpoint.ss_family = 0;
		dtls_endpoint_moved(e, p, &old);
	}
	sl_idmap_del(&e->peers, peer_id);
	e->npeers--;
	engine_update_sole(e);
	free(p);
	return 0;
}

int sl_peer_set_endpoint(struct sl_engine *e, uint32_t peer_id, const struct sockaddr *sa,
			 socklen_t len)
{
	struct peer *p = engine_peer(e, peer_id);

	ENGINE_ASSERT_CONTROL(e);
	if (!p)
		return -ENOENT;
	if ((sa->sa_family == AF_INET && len < sizeof(struct sockaddr_in)) ||
	    (sa->sa_family == AF_INET6 && len < sizeof(struct sockaddr_in6)) ||
	    (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return -EINVAL;
	{
		struct sockaddr_storage old = p->cfg.endpoint;

		memset(&p->cfg.endpoint, 0, sizeof(p->cfg.endpoint));
		memcpy(&p->cfg.endpoint, sa,
		       sa->sa_family == AF_INET ? sizeof(struct sockaddr_in)
						: sizeof(struct sockaddr_in6));
		dtls_endpoint_moved(e, p, &old);
	}
	return 0;
}

int sl_peer_set_keepalive(struct sl_engine *e, uint32_t peer_id, uint32_t keepalive_ms,
			  uint32_t silent_ms)
{
	struct peer *p = engine_peer(e, peer_id);

	ENGINE_ASSERT_CONTROL(e);
	if (!p)
		return -ENOENT;
	if (keepalive_ms && silent_ms <= keepalive_ms)
		return -EINVAL;
	p->cfg.keepalive_ms = keepalive_ms;
	p->cfg.silent_ms = silent_ms;
	timers_peer_stop(e, p);
	timers_peer_start(e, p);
	return 0;
}

static int check_prefix(const struct sl_prefix *pfx)
{
	if (pfx->family == AF_INET)
		return pfx->len <= 32 ? 0 : -EINVAL;
	if (pfx->family == AF_INET6)
		return pfx->len <= 128 ? 0 : -EINVAL;
	return -EAFNOSUPPORT;
}

static int route_change(struct sl_engine *e, uint32_t peer_id, const struct sl_prefix *pfx,
			bool add)
{
	int r = check_prefix(pfx);

	ENGINE_ASSERT_CONTROL(e);
	if (r < 0)
		return r;
	if (!engine_peer(e, peer_id))
		return -ENOENT;
	if (add)
		r = sl_route_insert(e->routes, pfx->family, pfx->addr, pfx->len, peer_id);
	else
		r = sl_route_remove(e->routes, pfx->family, pfx->addr, pfx->len, peer_id);
	engine_update_sole(e);
	return r;
}

int sl_peer_route_add(struct sl_engine *e, uint32_t peer_id, const struct sl_prefix *pfx)
{
	return route_change(e, peer_id, pfx, true);
}

int sl_peer_route_del(struct sl_engine *e, uint32_t peer_id, const struct sl_prefix *pfx)
{
	return route_change(e, peer_id, pfx, false);
}

/* Adds the counters of b to a (not the fields that describe state: transport, keys, endpoint). */
static void counters_add(struct sl_peer_stats *a, const struct sl_peer_stats *b)
{
	a->rx_packets += b->rx_packets;
	a->rx_bytes += b->rx_bytes;
	a->tx_packets += b->tx_packets;
	a->tx_bytes += b->tx_bytes;
	a->stream_rx_packets += b->stream_rx_packets;
	a->stream_tx_packets += b->stream_tx_packets;
	a->keepalive_rx += b->keepalive_rx;
	a->keepalive_tx += b->keepalive_tx;
	a->tun_super_rx += b->tun_super_rx;
	a->udp_gro_rx += b->udp_gro_rx;
	a->tun_gro_tx += b->tun_gro_tx;
	a->udp_rx_datagrams += b->udp_rx_datagrams;
	a->control_rx += b->control_rx;
	for (int i = 0; i < SL_STAT_DROP__COUNT; i++) {
		a->drops[i] += b->drops[i];
		a->udp_rx_drops[i] += b->udp_rx_drops[i];
	}
}

/* OpenVPN keys have no SPI; their sequence is the packet-id. */
static void fill_key_stats(const struct sl_engine *e, const struct peer *p,
			   struct sl_peer_stats *out)
{
	for (int i = 0; i < 2; i++) {
		const struct key_slot *k = &p->slots[i];
		bool esp = k->present && e->cfg.wire == SL_WIRE_ESP;

		out->key_present[i] = k->present;
		out->key_id[i] = k->key_id;
		out->rx_spi[i] = esp ? k->rx.spi : 0;
		out->tx_spi[i] = esp ? k->tx.spi : 0;
		out->tx_seq[i] = esp			       ? tx_seq(k)
				 : !k->present		       ? 0
				 : e->cfg.wire == SL_WIRE_DTLS ? k->dtx.seq
				 : k->cbc		       ? k->cbcs->tx.packet_id
							       : sl_ovpn_tx_packet_id(&k->otx);
	}
}

int sl_peer_stats(struct sl_engine *e, uint32_t peer_id, struct sl_peer_stats *out)
{
	struct peer *p = engine_peer(e, peer_id);

	ENGINE_ASSERT_CONTROL(e);
	if (!p)
		return -ENOENT;
	*out = p->share[0].stats;
	for (uint32_t i = 1; i < e->nworkers; i++) {
		counters_add(out, &p->share[i].stats);
		if (p->share[i].stats.last_rx_ns > out->last_rx_ns)
			out->last_rx_ns = p->share[i].stats.last_rx_ns;
	}
	out->transport = p->transport;
	out->endpoint = p->cfg.endpoint;
	fill_key_stats(e, p, out);
	return 0;
}

void sl_engine_set_stats_hook(struct sl_engine *e, sl_stats_hook fn, void *arg)
{
	e->stats_hook = fn;
	e->stats_hook_arg = arg;
}

int sl_engine_stats(struct sl_engine *e, struct sl_peer_stats *out)
{
	*out = e->workers[0].stats;
	for (uint32_t i = 1; i < e->nworkers; i++)
		counters_add(out, &e->workers[i].stats);
	return 0;
}

uint32_t sl_engine_workers(const struct sl_engine *e)
{
	return e->nworkers;
}

int sl_engine_worker_stats(struct sl_engine *e, uint32_t i, struct sl_peer_stats *out)
{
	if (i >= e->nworkers)
		return -EINVAL;
	*out = e->workers[i].stats;
	for (uint32_t k = 0; k < e->peers.cap; k++)
		if (e->peers.slots[k].state == 1)
			counters_add(out,
				     &((struct peer *)e->peers.slots[k].value)->share[i].stats);
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int sl_engine_foreach_peer(struct sl_engine *e, int (*fn)(void *arg, uint32_t peer_id), void *arg)
{
	uint32_t n = 0, *ids;
	int r = 0;

	if (!e->npeers)
		return 0;
	/* Snapshot the ids first: fn may delete peers. */
	ids = malloc(e->npeers * sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	for (uint32_t i = 0; i < e->peers.cap; i++)
		if (e->peers.slots[i].state == 1)
			ids[n++] = e->peers.slots[i].key;
	qsort(ids, n, sizeof(*ids), cmp_u32);
	for (uint32_t i = 0; i < n && !r; i++)
		r = fn(arg, ids[i]) ? 1 : 0;
	free(ids);
	return 0;
}
