// SPDX-License-Identifier: MIT
/*
 * Per-peer liveness, named after what happens (as WireGuard's timers.c):
 * every keepalive interval a DPD request goes out over UDP, answered by the
 * peer. A reply proves UDP works both ways; when none has come for
 * silent_ms, data moves to the control plane's stream (TLS), and the probes
 * go on so data returns to UDP as soon as one is answered again.
 */
#include "dco/engine_int.h"

#include "core/log.h"

static void switch_transport(struct sl_engine *e, struct peer *p, enum sl_transport t)
{
	if (p->transport == t)
		return;
	p->transport = t;
	sl_info("peer %u: data now over %s", p->id,
		t == SL_TRANSPORT_UDP ? "UDP" : "the TLS stream");
	engine_emit(e, t == SL_TRANSPORT_UDP ? SL_EVENT_PEER_UDP_OK : SL_EVENT_PEER_SILENT, p->id);
}

/*
 * The next wake-up: the next probe, or sooner the moment UDP will have been
 * silent for silent_ms (while data is on UDP), so the switch to the stream
 * comes DeadAfter after the last answer, not up to one interval later.
 *
 * Once an answer is late (none for more than an interval: the last probe's
 * was lost), probes go out four times as often until one is answered or DeadAfter ends: on a
 * congested path a full queue drops a probe or its answer now and then, and two or three such
 * losses in a row must not pass for a dead path. (Seen with sluice connect under a 20 ms delay: a
 * fallback while data kept flowing.)
 */
static sl_time_ns next_due(const struct peer *p, bool on_udp, sl_time_ns now, sl_time_ns heard)
{
	sl_time_ns next = p->cfg.keepalive_ms * SL_MSEC;
	sl_time_ns deadline = heard + p->cfg.silent_ms * SL_MSEC;

	if (!on_udp || !p->cfg.stream_send)
		return next;
	if (now - heard > next)
		next /= 4;
	if (deadline > now && deadline - now < next)
		next = deadline - now;
	return next;
}

static void on_keepalive_due(struct sl_loop *loop, struct sl_timer *t, void *arg)
{
	struct peer *p = arg;
	struct sl_engine *e = p->engine;
	sl_time_ns now = sl_loop_now(loop);
	sl_time_ns heard = p->last_dpd_reply > p->udp_since ? p->last_dpd_reply : p->udp_since;
	bool on_udp = p->transport == SL_TRANSPORT_UDP;
	bool silent = on_udp && p->cfg.stream_send && now - heard >= p->cfg.silent_ms * SL_MSEC;

	sl_timer_arm(loop, &p->keepalive, next_due(p, on_udp && !silent, now, heard));
	if (p->cfg.endpoint.ss_family)
		datapath_send_dpd(engine_ctl_worker(e), p, DPD_REQUEST);
	/* Last: the event handler may act on the peer. */
	if (silent)
		switch_transport(e, p, SL_TRANSPORT_STREAM);
}

void timers_peer_start(struct sl_engine *e, struct peer *p)
{
	sl_timer_init(&p->keepalive, on_keepalive_due, p);
	if (p->cfg.keepalive_ms)
		sl_timer_arm(e->loop, &p->keepalive, p->cfg.keepalive_ms * SL_MSEC);
}

void timers_peer_stop(struct sl_engine *e, struct peer *p)
{
	sl_timer_cancel(e->loop, &p->keepalive);
}

void timers_on_dpd_reply(struct sl_engine *e, struct peer *p)
{
	p->last_dpd_reply = sl_loop_now(e->loop);
	switch_transport(e, p, SL_TRANSPORT_UDP);
}

/* A fresh primary key: probe at once, so a new session learns within one round trip whether UDP
 * works. */
void timers_on_key_installed(struct sl_engine *e, struct peer *p)
{
	p->udp_since = sl_loop_now(e->loop);
	if (p->cfg.keepalive_ms && p->cfg.endpoint.ss_family)
		datapath_send_dpd(engine_ctl_worker(e), p, DPD_REQUEST);
}
