/* SPDX-License-Identifier: MIT */
/*
 * A small event loop: epoll for file descriptors and a binary heap of
 * timers, with an injectable clock so tests can move time by hand.
 * No hidden threads; a loop belongs to the thread that runs it.
 */
#ifndef SL_CORE_LOOP_H
#define SL_CORE_LOOP_H

#include <stdbool.h>
#include <stdint.h>

typedef uint64_t sl_time_ns;

#define SL_MSEC ((sl_time_ns)1000000)
#define SL_SEC	((sl_time_ns)1000000000)

struct sl_clock {
	sl_time_ns (*now)(void *arg);
	void *arg;
};

struct sl_loop;
struct sl_timer;

enum { SL_EV_READ = 1, SL_EV_WRITE = 2 };

/* events: SL_EV_READ / SL_EV_WRITE that are ready (errors and hang-ups report as READ). */
typedef void (*sl_io_fn)(struct sl_loop *loop, int fd, uint32_t events, void *arg);
typedef void (*sl_timer_fn)(struct sl_loop *loop, struct sl_timer *timer, void *arg);

/* Embedded in its owner; initialise with sl_timer_init before use. */
struct sl_timer {
	sl_time_ns due;
	uint32_t heap_index; /* UINT32_MAX when not armed */
	sl_timer_fn fn;
	void *arg;
	uint64_t seq; /* when it was armed: orders equal dues, bounds one round */
};

/* clock NULL: CLOCK_MONOTONIC. Returns NULL with errno set. */
struct sl_loop *sl_loop_new(const struct sl_clock *clock);
void sl_loop_free(struct sl_loop *loop);

sl_time_ns sl_loop_now(const struct sl_loop *loop);

/* Watch fd; fn is called from sl_loop_run_once. Returns 0 or -errno (-EEXIST if watched). */
int sl_loop_add_fd(struct sl_loop *loop, int fd, uint32_t events, sl_io_fn fn, void *arg);
int sl_loop_mod_fd(struct sl_loop *loop, int fd, uint32_t events);
/* Safe to call from inside a callback, also for an fd whose event is pending in this round. */
int sl_loop_del_fd(struct sl_loop *loop, int fd);

void sl_timer_init(struct sl_timer *t, sl_timer_fn fn, void *arg);
/* (Re)arm to fire once after delay (relative to sl_loop_now). */
void sl_timer_arm(struct sl_loop *loop, struct sl_timer *t, sl_time_ns delay);
void sl_timer_arm_at(struct sl_loop *loop, struct sl_timer *t, sl_time_ns due);
void sl_timer_cancel(struct sl_loop *loop, struct sl_timer *t);
bool sl_timer_armed(const struct sl_timer *t);

/*
 * Fire every due timer, then wait for fd events at most timeout_ms (-1: until the
 * next timer or forever; no wait at all if a timer fired) and dispatch them.
 * Returns the number of callbacks run or -errno (EINTR is not an error).
 */
int sl_loop_run_once(struct sl_loop *loop, int timeout_ms);
/*
 * Fire the timers that are due now; for tests with an injected clock. Returns how many.
 * A timer (re)armed by a callback during this call waits for the next call, even if due.
 */
int sl_loop_run_timers(struct sl_loop *loop);
/* Run until sl_loop_stop; returns 0 or -errno. */
int sl_loop_run(struct sl_loop *loop);
/*
 * before() runs just before the loop sleeps in epoll_wait, after() as soon as it wakes (with a
 * zero timeout too): the engine drops and retakes its workers' locks there (docs/workers.md).
 * One pair per loop: -EBUSY if another is set; NULL functions remove them.
 */
int sl_loop_set_wait_hooks(struct sl_loop *loop, void (*before)(void *), void (*after)(void *),
			   void *arg);
void sl_loop_stop(struct sl_loop *loop);

#endif
