// SPDX-License-Identifier: MIT
/*
 * Workers = N >= 2 (docs/workers.md): N data-path threads, each running its own loop over its
 * own TUN queue and reuseport UDP sockets, and the control thread (the engine's loop).
 *
 * Locking. A worker holds its lock for each fd callback (one batch). The control thread holds
 * every worker's lock whenever it is awake and lets go only while it sleeps in epoll_wait
 * (sl_loop_set_wait_hooks). So all control code (control socket, timers, control planes'
 * event handlers, key installs) runs while no worker is inside a batch, and needs no lock of
 * its own; the workers run in parallel with each other, touching only their own state and
 * reading the shared state. What a worker would have written into shared state or told the
 * control plane goes through its event ring instead: worker_post, drained by on_events on the
 * control thread. The ring is guarded by the worker's lock like the rest of the worker.
 */
#include "dco/engine_int.h"

#include "core/log.h"

#include <errno.h>
#include <netinet/in.h>
#include <semaphore.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

static void locks_take(void *arg)
{
	struct sl_engine *e = arg;

	for (uint32_t i = 0; i < e->nworkers; i++)
		pthread_mutex_lock(&e->workers[i].lock);
}

static void unlock_all(struct sl_engine *e)
{
	for (uint32_t i = e->nworkers; i-- > 0;)
		pthread_mutex_unlock(&e->workers[i].lock);
}

/* Before the control loop sleeps. The first time, if the caller has not, start the threads. */
static void locks_drop(void *arg)
{
	struct sl_engine *e = arg;

	if (!e->start_tried)
		sl_engine_start_workers(e);
	unlock_all(e);
}

void worker_on_tun(struct sl_loop *loop, int fd, uint32_t events, void *arg)
{
	struct sl_worker *w = arg;

	ENGINE_ASSERT_WORKER(w);
	pthread_mutex_lock(&w->lock);
	datapath_on_tun(loop, fd, events, w);
	pthread_mutex_unlock(&w->lock);
}

void worker_on_udp(struct sl_loop *loop, int fd, uint32_t events, void *arg)
{
	struct sl_worker *w = arg;

	ENGINE_ASSERT_WORKER(w);
	pthread_mutex_lock(&w->lock);
	datapath_on_udp(loop, fd, events, w);
	pthread_mutex_unlock(&w->lock);
}

static bool same_event(const struct worker_event *a, const struct worker_event *b)
{
	return a->type == b->type && a->event == b->event && a->peer_id == b->peer_id &&
	       (a->type != WEV_ROAM || !memcmp(&a->addr, &b->addr, sizeof(a->addr)));
}

/* The first thing queued for the control thread since it last looked wakes it (one write). */
static void wake_control(struct sl_worker *w)
{
	if (write(w->ev_fd, &(uint64_t){1}, sizeof(uint64_t)) < 0)
		sl_debug("worker %u: eventfd: %s", w->index, strerror(errno));
}

/*
 * Called with w->lock held (inside a batch). The same event twice in one control round is one
 * (a key past its limit asks on every packet until the control thread answers). Only the
 * first event of a round costs a write on the eventfd.
 */
void worker_post(struct sl_worker *w, const struct worker_event *ev)
{
	for (uint32_t i = 0; i < w->nevents; i++)
		if (same_event(&w->events[i], ev))
			return;
	if (w->nevents == SL_WORKER_EVENTS) {
		w->events_lost++; /* asked again by the next packet that needs it */
		return;
	}
	w->events[w->nevents++] = *ev;
	if (w->nevents == 1)
		wake_control(w);
}

/*
 * OpenVPN wire: a control-channel datagram (P_CONTROL_*, P_ACK: the steering sends them all to
 * worker 0) must reach the control plane on the control thread, and before the worker opens the
 * next datagram of its batch: the server's key-method reply is followed at once by data under
 * the key it carries, which the control plane installs when it reads the reply (Workers = 1 runs
 * on_control inside the batch for the same reason; queueing it instead cost hundreds of "nokey"
 * drops per rekey under load). So the worker waits: the condition wait lets go of w->lock, the
 * control thread wakes for ev_fd, takes every lock, runs on_control in on_events and signals; the
 * worker carries on once the control thread sleeps again. The datagram stays in the worker's
 * receive buffer meanwhile: no copy. Control datagrams are rare (handshakes, rekeys, ACKs); each
 * costs the worker one control-thread round trip.
 */
void worker_run_control(struct sl_worker *w, const uint8_t *pkt, size_t len,
			const struct sockaddr_storage *from)
{
	/* The control thread is joining us: nobody would answer (and the engine goes away). */
	if (w->stopping)
		return;
	w->ctl = (struct worker_ctl_pkt){.data = pkt, .len = len, .from = from};
	if (w->nevents == 0) /* else ev_fd is written already */
		wake_control(w);
	while (w->ctl.data)
		pthread_cond_wait(&w->ctl_done, &w->lock);
}

void worker_emit(struct sl_worker *w, enum sl_event_type type, uint32_t peer_id)
{
	struct worker_event ev = {.type = WEV_EMIT, .event = (uint8_t)type, .peer_id = peer_id};

	if (!w->threaded) {
		engine_emit(w->e, type, peer_id);
		return;
	}
	worker_post(w, &ev);
}

static socklen_t ss_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/* rx_esp's roaming, done here because other workers read the endpoint to send. */
static void on_roam(struct sl_engine *e, struct peer *p, const struct sockaddr_storage *from)
{
	bool moved = p->cfg.endpoint.ss_family != 0;

	memset(&p->cfg.endpoint, 0, sizeof(p->cfg.endpoint));
	memcpy(&p->cfg.endpoint, from, ss_len(from));
	if (p->transport == SL_TRANSPORT_STREAM && p->cfg.keepalive_ms)
		datapath_send_dpd(engine_ctl_worker(e), p, DPD_REQUEST);
	if (moved)
		engine_emit(e, SL_EVENT_ENDPOINT_CHANGED, p->id);
}

static void run_event(struct sl_engine *e, const struct worker_event *ev)
{
	struct peer *p = engine_peer(e, ev->peer_id); /* it may have gone since */
	struct key_slot *k;

	if (!p)
		return;
	switch (ev->type) {
	case WEV_EMIT:
		if (ev->event == SL_EVENT_KEY_NEAR_LIMIT) {
			/* The flag is the control thread's: workers only read it. */
			k = &p->slots[SL_KEY_PRIMARY];
			if (!k->present || k->near_limit_reported)
				return;
			k->near_limit_reported = true;
		}
		engine_emit(e, ev->event, p->id);
		return;
	case WEV_ROAM:
		if (p->cfg.follow_endpoint)
			on_roam(e, p, &ev->addr);
		return;
	case WEV_DPD_REPLY:
		timers_on_dpd_reply(e, p);
		return;
	}
}

/* On the control thread, which holds every worker's lock (it is awake). */
static void on_events(struct sl_loop *loop, int fd, uint32_t events, void *arg)
{
	struct sl_worker *w = arg;
	struct worker_event evs[SL_WORKER_EVENTS];
	uint64_t v;
	uint32_t n;

	(void)loop;
	(void)events;
	ENGINE_ASSERT_CONTROL(w->e);
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		sl_debug("worker %u: eventfd: %s", w->index, strerror(errno));
	/* Copied out first: a handler may send (worker 0's pool) or even free the engine's peers.
	 */
	n = w->nevents;
	memcpy(evs, w->events, n * sizeof(evs[0]));
	w->nevents = 0;
	for (uint32_t i = 0; i < n; i++)
		run_event(w->e, &evs[i]);
	/* The worker waits in worker_run_control; it goes on once we sleep and drop its lock. */
	if (w->ctl.data) {
		struct worker_ctl_pkt c = w->ctl;

		w->e->cfg.on_control(w->e->cfg.control_arg, c.data, c.len, c.from);
		w->ctl.data = NULL;
		pthread_cond_signal(&w->ctl_done);
	}
}

static void on_wake(struct sl_loop *loop, int fd, uint32_t events, void *arg)
{
	uint64_t v;

	(void)events;
	(void)arg;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	sl_loop_stop(loop);
}

int workers_init_one(struct sl_worker *w)
{
	w->wake_fd = w->ev_fd = -1;
	if (pthread_mutex_init(&w->lock, NULL))
		return -ENOMEM;
	if (pthread_cond_init(&w->ctl_done, NULL)) {
		pthread_mutex_destroy(&w->lock);
		return -ENOMEM;
	}
	w->threaded = true;
	w->loop = sl_loop_new(NULL);
	if (!w->loop)
		return -ENOMEM;
	w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w->ev_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->wake_fd < 0 || w->ev_fd < 0)
		return -errno;
	if (sl_loop_add_fd(w->loop, w->wake_fd, SL_EV_READ, on_wake, w) < 0 ||
	    sl_loop_add_fd(w->e->loop, w->ev_fd, SL_EV_READ, on_events, w) < 0)
		return -EIO;
	return 0;
}

static void *worker_main(void *arg)
{
	struct sl_worker *w = arg;
	int r;

	w->self = pthread_self();
	/* The C library's own thread set-up (robust futex list, rseq) is done by now. */
	sem_post(&w->e->workers_ready);
	r = sl_loop_run(w->loop);

	if (r < 0)
		sl_warn("worker %u: event loop failed: %s", w->index, strerror(-r));
	return NULL;
}

int workers_start(struct sl_engine *e)
{
	int r = sl_loop_set_wait_hooks(e->loop, locks_drop, locks_take, e);

	if (r < 0) {
		sl_warn("Workers = %u: another engine already runs workers on this loop",
			e->nworkers);
		return r;
	}
	if (sem_init(&e->workers_ready, 0, 0) < 0)
		return -errno;
	if (pthread_mutex_init(&e->stream_lock, NULL)) {
		sem_destroy(&e->workers_ready);
		return -ENOMEM;
	}
	/* The caller is awake, so it holds the locks from now on. */
	locks_take(e);
	e->hooked = true;
	return 0;
}

int sl_engine_start_workers(struct sl_engine *e)
{
	e->start_tried = true;
	for (uint32_t i = 0; e->hooked && i < e->nworkers; i++) {
		struct sl_worker *w = &e->workers[i];
		int r;

		if (w->started)
			continue;
		if ((r = pthread_create(&w->thread, NULL, worker_main, w))) {
			sl_warn("Workers = %u: cannot start thread %u: %s", e->nworkers, i,
				strerror(r));
			return -r;
		}
		w->started = true;
		/*
		 * Wait until it runs: a system call filter installed next (TSYNC) applies to it at
		 * once, before the C library's set-up in the new thread, which the filter forbids.
		 */
		while (sem_wait(&e->workers_ready) < 0 && errno == EINTR)
			;
	}
	return 0;
}

void workers_stop(struct sl_engine *e)
{
	if (e->hooked) {
		for (uint32_t i = 0; i < e->nworkers; i++) {
			struct sl_worker *w = &e->workers[i];

			if (w->started && write(w->wake_fd, &(uint64_t){1}, sizeof(uint64_t)) < 0)
				sl_warn("worker %u: cannot wake it to stop", i);
		}
		/* A worker waiting for its control datagram: it will not be run now, nor any
		 * other that the rest of its batch holds. */
		for (uint32_t i = 0; i < e->nworkers; i++) {
			e->workers[i].stopping = true;
			if (e->workers[i].ctl.data) {
				e->workers[i].ctl.data = NULL;
				pthread_cond_signal(&e->workers[i].ctl_done);
			}
		}
		unlock_all(e); /* a worker may wait for its lock inside a callback */
		for (uint32_t i = 0; i < e->nworkers; i++)
			if (e->workers[i].started)
				pthread_join(e->workers[i].thread, NULL);
		sl_loop_set_wait_hooks(e->loop, NULL, NULL, NULL);
		sem_destroy(&e->workers_ready);
		pthread_mutex_destroy(&e->stream_lock);
		e->hooked = false;
	}
	for (uint32_t i = 0; e->workers && i < e->nworkers; i++) {
		struct sl_worker *w = &e->workers[i];

		w->started = false;
		if (!w->threaded)
			continue;
		if (w->ev_fd >= 0) {
			sl_loop_del_fd(e->loop, w->ev_fd);
			close(w->ev_fd);
		}
		if (w->wake_fd >= 0)
			close(w->wake_fd);
		w->ev_fd = w->wake_fd = -1;
	}
}
