/* SPDX-License-Identifier: MIT */
/*
 * The engine's internal state, in two parts (docs/workers.md):
 *   struct sl_engine  shared: configuration, peers, key slots, routes, the SPI index, the
 *                     control socket. Written only by the control thread (the engine's loop).
 *   struct sl_worker  one data path: its TUN queue fd, super-packet buffer, tunq, pool, UDP
 *                     sockets with their batches, and its engine-wide counters. Touched only by
 *                     the thread that runs the worker's loop.
 * With Workers = 1 the one worker is workers[0] on the engine's own loop and thread: no locks,
 * exactly the single-loop engine (Workers > 1: workers.c). Files:
 *   engine.c    lifecycle, peers, routes and the control API (validate, then commit)
 *   keyslots.c  key slots: install, swap, delete, SPI index
 *   datapath.c  TUN -> seal -> UDP and UDP -> open -> TUN, in batches
 *   timers.c    keepalive / dead-peer detection and the UDP <-> stream switch
 */
#ifndef SL_DCO_ENGINE_INT_H
#define SL_DCO_ENGINE_INT_H

#include "core/gso.h"
#include "core/loop.h"
#include "core/pool.h"
#include "dco/hostmap.h"
#include "dco/idmap.h"
#include "dco/route.h"
#include "io/tun.h"
#include "io/udp.h"
#include "proto/dtls_record.h"
#include "proto/esp.h"
#include "proto/ovpn_cbc.h"
#include "proto/ovpn_data.h"
#include "sluice/engine.h"

#include <assert.h>
#include <pthread.h>
#include <semaphore.h>

struct sl_ctl_server;
struct sl_uring;

/* A key pair in a slot: the rx SA is found by its SPI, the tx SA seals for the peer. */
struct ovpn_cbc_pair {
	struct sl_ovpn_cbc_sa rx, tx;
};

/*
 * With Workers > 1 any worker seals for any peer: each with its own copy of the tx SA (its own
 * AEAD context), all drawing sequence numbers from seq (keyslots.c). Worker w > 0 uses sa[w - 1].
 */
struct esp_tx_copies {
	_Atomic uint64_t seq;
	struct sl_esp_sa sa[];
};

/* The same for an OpenVPN AEAD key: the packet-id is the shared counter (datapath_ovpn.c). */
struct ovpn_tx_copies {
	_Atomic uint32_t packet_id;
	uint32_t n; /* sa[n]: nworkers - 1 */
	struct sl_ovpn_sa sa[];
};

/*
 * A slot holds the SAs of the engine's one wire format (sl_engine_cfg.wire),
 * never two: they share the memory, which keeps an idle peer small.
 */
struct key_slot {
	bool present;
	uint8_t key_id;
	bool near_limit_reported;
	bool cbc; /* SL_WIRE_OPENVPN: legacy CBC + HMAC (cbcs), else AEAD (orx, otx) */
	enum sl_ovpn_comp comp;
	/*
	 * SL_WIRE_OPENVPN, Workers > 1: the one worker that may open with the rx SA, the one the
	 * peer-id steering (io/steer.c) sends the peer's data to; others drop (datapath_ovpn.c).
	 */
	uint32_t rx_worker;
	union {
		struct {
			struct sl_esp_sa rx, tx;   /* SL_WIRE_ESP; tx is worker 0's */
			struct esp_tx_copies *wtx; /* Workers > 1: the other workers' tx SAs */
		};
		struct {
			struct sl_ovpn_sa orx, otx;  /* SL_WIRE_OPENVPN (datapath_ovpn.c), AEAD */
			struct ovpn_tx_copies *owtx; /* Workers > 1: the other workers' tx SAs */
		};
		struct {
			struct sl_dtls_dir drx, dtx; /* SL_WIRE_DTLS (datapath_dtls.c) */
		};
		struct ovpn_cbc_pair *cbcs; /* SL_WIRE_OPENVPN, CBC + HMAC: legacy, rare, so
					       allocated rather than making every slot large */
	};
};

/*
 * A peer's state written by one worker. Counters: sl_peer_stats sums them (last_rx_ns is the
 * latest). Auth budget: failures from sources other than cfg.endpoint (datapath.c
 * auth_budget_*): a token bucket so that a flood of well-formed, wrong-key datagrams costs one
 * SPI lookup each instead of an AEAD open; the peer's own endpoint is never charged. With
 * Workers = N each worker has its own bucket (its own CPU is what it protects), so the peer's
 * total allowance is N buckets.
 */
struct peer_share {
	struct sl_peer_stats stats;
	struct {
		sl_time_ns last;
		uint32_t tokens;
	} auth_budget;
};

struct peer {
	uint32_t id;
	struct sl_engine *engine;
	struct sl_peer_cfg cfg;	  /* endpoint here is the current one */
	struct key_slot slots[2]; /* SL_KEY_PRIMARY seals */
	enum sl_transport transport;
	sl_time_ns last_dpd_reply; /* last proof that UDP works both ways */
	sl_time_ns udp_since;	   /* when UDP was last (re)tried: start of the silence clock */
	struct sl_timer keepalive;
	/* What each worker writes for the peer, one per worker (engine->nworkers): no two
	 * workers write the same one. */
	struct peer_share share[];
};

/* Pending UDP sends of one socket, flushed at the end of a TUN batch. */
struct udp_out {
	int fd;
	int family;
	/* With UDP_GRO: receive buffers of 64 KiB; else NULL (the engine's pool). */
	struct sl_pool *gro_pool;
	/*
	 * gro_pool's buffers that a receive round offered the kernel but it did not fill: kept
	 * for the next round rather than put back and taken again (a flood of small datagrams
	 * makes many short rounds, each of which took and returned all 64). The pool is this
	 * socket's alone, so holding them deprives nobody. Freed with the pool.
	 */
	struct sl_pkt *rx_spare[SL_UDP_BATCH_MAX];
	uint32_t rxq_dropped; /* the kernel's overflow count last seen on this socket */
	struct sl_udp_batch batch;
};

/* Opened packets waiting for their TUN write (tunq.c); they point into receive buffers. */
#define SL_TUNQ_MAX 64

struct tunq_item {
	struct sl_pkt pk; /* a copy of the packet's view: data and length */
	uint32_t peer_id;
};

struct tunq {
	bool active; /* inside a UDP receive round with offloads: deliver() queues here */
	bool no_gro; /* the TUN refused a GSO write once: write one by one */
	uint32_t n;
	struct tunq_item items[SL_TUNQ_MAX];
};

/* A coalesced UDP datagram (UDP_GRO): up to 64 KiB in one receive buffer. */
#define SL_UDP_GRO_CAP 65536u

/* A TUN super-packet (64 KiB of IP packet plus the virtio header) and some slack. */
#define SL_TUN_SUPER_CAP (65536u + 1024u)

/*
 * What a worker hands to the control thread (Workers > 1, workers.c): it may not call the
 * control plane or write shared state itself.
 */
enum worker_event_type {
	WEV_EMIT,      /* engine_emit(type, peer_id) */
	WEV_ROAM,      /* an authenticated datagram came from addr: move the endpoint */
	WEV_DPD_REPLY, /* timers_on_dpd_reply */
};

struct worker_event {
	uint8_t type;  /* enum worker_event_type */
	uint8_t event; /* WEV_EMIT: enum sl_event_type */
	uint32_t peer_id;
	struct sockaddr_storage addr; /* WEV_ROAM */
};

#define SL_WORKER_EVENTS 64

/*
 * SL_WIRE_OPENVPN, Workers > 1: a control-channel datagram (steered to worker 0) that its
 * worker waits, inside its batch, for the control thread to run through the control plane
 * (workers.c worker_run_control).
 */
struct worker_ctl_pkt {
	const uint8_t *data; /* NULL: none waiting */
	size_t len;
	const struct sockaddr_storage *from;
};

/*
 * One data path. With Workers = 1 it runs on the engine's loop in the caller's thread: no
 * lock. With Workers = N >= 2 each runs its own loop in its own thread (workers.c) and holds
 * lock for each fd callback (a batch); the control thread holds every worker's lock whenever it
 * is awake and drops them only while it sleeps in epoll_wait. So: the worker's own fields are
 * touched by its thread, or by the control thread holding lock; the engine's shared state is
 * written only by the control thread, which then holds every lock.
 */
struct sl_worker {
	struct sl_engine *e; /* the shared state: read here, written by the control thread */
	uint32_t index;	     /* 0 .. nworkers - 1 */
	struct sl_loop *loop;
	struct sl_tun tun; /* this worker's queue fd of the TUN device */
	uint8_t *tun_big;  /* SL_TUN_SUPER_CAP bytes for super-packet reads, when offloading */
	struct tunq tunq;
	struct sl_uring *tun_uring; /* cfg.tun_uring and io_uring works: tunq.c writes through it */
	struct sl_pool *pool;
	struct udp_out udp[2];
	/* The clock, read once per UDP receive round (or stream input) rather than per datagram:
	 * what the auth budget and last_rx_ns need (datapath.c rx_clock). */
	sl_time_ns rx_now;
	struct sl_peer_stats stats; /* drops and counts not attributable to a peer */
	/* Workers > 1 only (workers.c). */
	bool threaded; /* has its own loop, lock and eventfds */
	bool started;  /* its thread runs */
	pthread_t thread;
	pthread_t self; /* written by the thread itself, for ENGINE_ASSERT_WORKER */
	pthread_mutex_t lock;
	int wake_fd; /* eventfd on loop: stop the thread */
	int ev_fd;   /* eventfd on the control loop: events[] has something */
	uint32_t nevents;
	uint64_t events_lost; /* the ring was full */
	struct worker_event events[SL_WORKER_EVENTS];
	struct worker_ctl_pkt ctl; /* guarded by lock */
	pthread_cond_t ctl_done;   /* ctl.data went back to NULL */
	bool stopping;		   /* workers_stop: run no more control datagrams (under lock) */
};

struct sl_engine {
	struct sl_engine_cfg cfg;
	struct sl_loop *loop; /* the control thread's loop (and worker 0's while Workers = 1) */
	bool own_tun;
	uint32_t nworkers;
	sem_t workers_ready; /* each started thread posts once */
	/* Workers > 1: between workers sending on a peer's stream (the control plane's TLS
	 * stream, touched by the control thread only while no worker runs). */
	pthread_mutex_t stream_lock;
	pthread_t control_thread; /* the one that made the engine: control calls come from it */
	bool start_tried;	  /* sl_engine_start_workers ran (Workers > 1) */
	bool hooked; /* Workers > 1: the lock hooks are on loop, which holds the locks */
	struct sl_worker *workers; /* [nworkers]; workers[0] also answers control-path sends */
	struct sl_idmap peers;	   /* id -> struct peer */
	struct sl_idmap spis;	   /* rx SPI -> struct peer */
	uint32_t npeers;
	struct peer *sole_takes_all[2]; /* v4, v6: the only peer, when it owns the default route */
	struct sl_route_table *routes;
	struct sl_ctl_server *ctl;
	sl_stats_hook stats_hook; /* the control plane's counters, for op=stats */
	void *stats_hook_arg;
	bool ovpn_client_to_client; /* datapath_ovpn.c: forward peer to peer without the TUN */
	/* SL_WIRE_DTLS: peers by endpoint (datapath_dtls.c), since a record names no peer */
	struct sl_hostmap dtls_endpoints;
};

/* The tx SA of slot k that worker w seals with. */
static inline struct sl_esp_sa *tx_sa(const struct sl_worker *w, struct key_slot *k)
{
	return w->index ? &k->wtx->sa[w->index - 1] : &k->tx;
}

/* The OpenVPN AEAD tx SA of slot k that worker w seals with. */
static inline struct sl_ovpn_sa *ovpn_tx_sa(const struct sl_worker *w, struct key_slot *k)
{
	return w->index ? &k->owtx->sa[w->index - 1] : &k->otx;
}

/* The last sequence number sent under slot k's tx SA. */
static inline uint64_t tx_seq(const struct key_slot *k)
{
	return k->wtx ? atomic_load_explicit(&k->wtx->seq, memory_order_relaxed) : k->tx.seq;
}

/* The peer's counters that worker w writes. */
static inline struct sl_peer_stats *peer_stats(const struct sl_worker *w, struct peer *p)
{
	return &p->share[w->index].stats;
}

/*
 * Thread ownership, checked in debug builds: the engine's shared state is changed by the
 * control thread only; a worker thread's callbacks run on that thread.
 */
#define ENGINE_ASSERT_CONTROL(e) assert(pthread_equal(pthread_self(), (e)->control_thread))
#define ENGINE_ASSERT_WORKER(w)	 assert(pthread_equal(pthread_self(), (w)->self))

struct peer *engine_peer(struct sl_engine *e, uint32_t id);
void engine_emit(struct sl_engine *e, enum sl_event_type type, uint32_t peer_id);
void engine_update_sole(struct sl_engine *e);

/* workers.c: Workers > 1 */
/* Make worker w's loop, lock and eventfds (before its fds are added to w->loop). */
int workers_init_one(struct sl_worker *w);
/* From now on the control thread holds the locks while awake; the threads start with
 * sl_engine_start_workers, or when the loop first sleeps. */
int workers_start(struct sl_engine *e);
/* Stop and join the threads (safe if not started); frees the loops and eventfds. */
void workers_stop(struct sl_engine *e);
/* Hand an event to the control thread (Workers > 1), or run it now (Workers = 1). */
void worker_emit(struct sl_worker *w, enum sl_event_type type, uint32_t peer_id);
void worker_post(struct sl_worker *w, const struct worker_event *ev);
/* OpenVPN wire, Workers > 1: have the control thread run on_control on a datagram; returns
 * when it has (or the engine stops). Called with w->lock held, inside a batch. */
void worker_run_control(struct sl_worker *w, const uint8_t *pkt, size_t len,
			const struct sockaddr_storage *from);
/* The fd callbacks of a worker thread: its lock around the datapath's. */
void worker_on_tun(struct sl_loop *loop, int fd, uint32_t events, void *arg);
void worker_on_udp(struct sl_loop *loop, int fd, uint32_t events, void *arg);

/* keyslots.c */
void keys_clear_slot(struct sl_engine *e, struct peer *p, int slot);
struct key_slot *keys_find_rx(struct peer *p, uint32_t spi);

/* datapath.c */
void datapath_on_tun(struct sl_loop *loop, int fd, uint32_t events, void *arg);
void datapath_on_udp(struct sl_loop *loop, int fd, uint32_t events, void *arg);
/* Seal and send one keepalive/DPD message (type DPD_REQUEST or DPD_REPLY) to the peer now. */
int datapath_send_dpd(struct sl_worker *w, struct peer *p, uint8_t type);
void count_drop(struct sl_peer_stats *s, enum sl_drop reason);
/* count_drop for a datagram read from the UDP socket: also counted in udp_rx_drops. */
void count_udp_rx_drop(struct sl_peer_stats *s, enum sl_drop reason);

/* For datapath_ovpn.c: deliver an opened inner packet to TUN; queue a sealed one for UDP. */
/* stream: the packet came over a TCP stream, not a UDP datagram (which counters it counts in) */
void datapath_deliver(struct sl_worker *w, struct peer *p, struct sl_pkt *pk, bool stream);
/* Whether a datagram from an address other than p's endpoint may still be opened. */
bool datapath_auth_budget_left(struct sl_worker *w, struct peer *p, sl_time_ns now);
/* An auth failure from a foreign source: one token of w's bucket. */
void datapath_auth_budget_charge(struct sl_worker *w, struct peer *p);
/* The worker's UDP socket of that family, or NULL. */
struct udp_out *udp_for(struct sl_worker *w, int family);
void datapath_queue(struct sl_worker *w, struct sl_pkt *pk, const struct sockaddr_storage *to);
void datapath_flush(struct sl_worker *w);
/* The worker that sends for the control thread (keepalives, control messages): worker 0. */
static inline struct sl_worker *engine_ctl_worker(struct sl_engine *e)
{
	return &e->workers[0];
}

/* datapath_ovpn.c: the SL_WIRE_OPENVPN data path */
void datapath_ovpn_tx(struct sl_worker *w, struct peer *p, struct sl_pkt *pk); /* takes pk */
void datapath_ovpn_rx(struct sl_worker *w, struct sl_pkt *pk, const struct sockaddr_storage *from);
int datapath_ovpn_send_ping(struct sl_worker *w, struct peer *p);
void keys_ovpn_clear(struct key_slot *k);

/* datapath_dtls.c: the SL_WIRE_DTLS data path */
/* p's endpoint was old (family 0: none) and is now p->cfg.endpoint: the endpoint map follows
 * (the DTLS wire only; a no-op on the others). Called by the control thread. */
void dtls_endpoint_moved(struct sl_engine *e, struct peer *p, const struct sockaddr_storage *old);
void datapath_dtls_tx(struct sl_worker *w, struct peer *p, struct sl_pkt *pk); /* takes pk */
void datapath_dtls_rx(struct sl_worker *w, struct sl_pkt *pk, const struct sockaddr_storage *from);
void keys_dtls_clear(struct key_slot *k);
/* A Cisco DPD request or reply (DPD_REQUEST, DPD_REPLY) sealed for the peer, sent now. */
int datapath_dtls_send_dpd(struct sl_worker *w, struct peer *p, uint8_t type);

/* The payload of an ESP packet with next header 59 (RFC 4303 dummy packet): our keepalive/DPD. */
enum { DPD_REQUEST = 1, DPD_REPLY = 2 };

/* tunq.c: queue an opened packet for the TUN (within a receive round); write the queue out. */
void tunq_add(struct sl_worker *w, uint32_t peer_id, const struct sl_pkt *pk);
void tunq_flush(struct sl_worker *w);

/* timers.c */
void timers_peer_start(struct sl_engine *e, struct peer *p);
void timers_peer_stop(struct sl_engine *e, struct peer *p);
void timers_on_dpd_reply(struct sl_engine *e, struct peer *p);
void timers_on_key_installed(struct sl_engine *e, struct peer *p);

/* uapi_server.c */
int sl_ctl_server_new(struct sl_ctl_server **out, struct sl_engine *e, const char *path);
void sl_ctl_server_free(struct sl_ctl_server *s);

#endif
