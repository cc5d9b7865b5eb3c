// SPDX-License-Identifier: MIT
/*
 * epoll for file descriptors, a binary min-heap for timers. Each timer
 * knows its heap slot, so cancel and re-arm are O(log n) with no search.
 *
 * An fd's registration lives in an array indexed by the fd. Every add gets
 * a new generation number, carried in the epoll event next to the fd, so an
 * event that was already fetched for an fd deleted (or deleted and re-added)
 * by an earlier callback of the same batch is recognised and skipped.
 */
#include "core/loop.h"
#include "core/log.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS  64
#define NOT_ARMED   UINT32_MAX
#define EPOLL_ERROR (EPOLLERR | EPOLLHUP | EPOLLRDHUP)

struct fd_reg {
	sl_io_fn fn; /* NULL: fd not watched */
	void *arg;
	uint32_t events; /* SL_EV_* */
	uint32_t generation;
};

struct sl_loop {
	int epfd;
	struct sl_clock clock;
	struct fd_reg *fds; /* indexed by fd */
	uint32_t nfds;
	uint32_t generation;
	struct sl_timer **heap; /* heap[0] is due first */
	uint32_t heap_len;
	uint32_t heap_cap;
	uint64_t arm_seq; /* last sequence number given to an arming */
	bool stopping;
	/* Called around epoll_wait (sl_loop_set_wait_hooks): the engine's worker locks. */
	void (*before_wait)(void *arg);
	void (*after_wait)(void *arg);
	void *wait_arg;
};

static sl_time_ns monotonic_now(void *arg)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (sl_time_ns)ts.tv_sec * SL_SEC + (sl_time_ns)ts.tv_nsec;
}

struct sl_loop *sl_loop_new(const struct sl_clock *clock)
{
	struct sl_loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
	loop->clock = clock ? *clock : (struct sl_clock){.now = monotonic_now};
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		int err = errno;

		free(loop);
		errno = err;
		return NULL;
	}
	return loop;
}

void sl_loop_free(struct sl_loop *loop)
{
	if (!loop)
		return;
	for (uint32_t i = 0; i < loop->heap_len; i++)
		loop->heap[i]->heap_index = NOT_ARMED;
	close(loop->epfd);
	free(loop->fds);
	free(loop->heap);
	free(loop);
}

sl_time_ns sl_loop_now(const struct sl_loop *loop)
{
	return loop->clock.now(loop->clock.arg);
}

/* ---- file descriptors ---- */

static uint32_t epoll_events_of(uint32_t events)
{
	return (events & SL_EV_READ ? EPOLLIN | EPOLLRDHUP : 0) |
	       (events & SL_EV_WRITE ? EPOLLOUT : 0);
}

static struct fd_reg *reg_of(const struct sl_loop *loop, int fd)
{
	if (fd < 0 || (uint32_t)fd >= loop->nfds || !loop->fds[fd].fn)
		return NULL;
	return &loop->fds[fd];
}

static int grow_fds(struct sl_loop *loop, int fd)
{
	uint32_t n = loop->nfds ? loop->nfds : 16;
	struct fd_reg *fds;

	while (n <= (uint32_t)fd)
		n *= 2;
	fds = realloc(loop->fds, n * sizeof(*fds));
	if (!fds)
		return -ENOMEM;
	memset(fds + loop->nfds, 0, (n - loop->nfds) * sizeof(*fds));
	loop->fds = fds;
	loop->nfds = n;
	return 0;
}

static int epoll_update(struct sl_loop *loop, int op, int fd, const struct fd_reg *r)
{
	struct epoll_event ev = {
		.events = epoll_events_of(r->events),
		.data.u64 = (uint64_t)r->generation << 32 | (uint32_t)fd,
	};

	return epoll_ctl(loop->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

int sl_loop_add_fd(struct sl_loop *loop, int fd, uint32_t events, sl_io_fn fn, void *arg)
{
	struct fd_reg r = {.fn = fn, .arg = arg, .events = events};
	int err;

	if (fd < 0)
		return -EBADF;
	if (!fn || (events & ~(uint32_t)(SL_EV_READ | SL_EV_WRITE)))
		return -EINVAL;
	if (reg_of(loop, fd))
		return -EEXIST;
	if ((uint32_t)fd >= loop->nfds && (err = grow_fds(loop, fd)) < 0)
		return err;
	r.generation = ++loop->generation;
	err = epoll_update(loop, EPOLL_CTL_ADD, fd, &r);
	if (err < 0)
		return err;
	loop->fds[fd] = r;
	return 0;
}

int sl_loop_mod_fd(struct sl_loop *loop, int fd, uint32_t events)
{
	struct fd_reg *r = reg_of(loop, fd);
	struct fd_reg changed;
	int err;

	if (!r)
		return -ENOENT;
	if (events & ~(uint32_t)(SL_EV_READ | SL_EV_WRITE))
		return -EINVAL;
	changed = *r;
	changed.events = events;
	err = epoll_update(loop, EPOLL_CTL_MOD, fd, &changed);
	if (err < 0)
		return err;
	*r = changed;
	return 0;
}

int sl_loop_del_fd(struct sl_loop *loop, int fd)
{
	struct fd_reg *r = reg_of(loop, fd);

	if (!r)
		return -ENOENT;
	/* The fd may be closed already, which removed it from the epoll set. */
	if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 && errno != EBADF && errno != ENOENT)
		return -errno;
	memset(r, 0, sizeof(*r));
	return 0;
}

static uint32_t ready_events(const struct fd_reg *r, uint32_t epoll_events)
{
	uint32_t events = 0;

	if ((epoll_events & EPOLLIN && r->events & SL_EV_READ) || epoll_events & EPOLL_ERROR)
		events |= SL_EV_READ;
	if (epoll_events & EPOLLOUT && r->events & SL_EV_WRITE)
		events |= SL_EV_WRITE;
	return events;
}

/* Returns 1 if a callback ran; 0 for an event whose registration is gone. */
static int dispatch(struct sl_loop *loop, const struct epoll_event *ev)
{
	int fd = (int)(uint32_t)ev->data.u64;
	struct fd_reg *r = reg_of(loop, fd);
	uint32_t events;

	if (!r || r->generation != (uint32_t)(ev->data.u64 >> 32))
		return 0;
	events = ready_events(r, ev->events);
	if (!events)
		return 0;
	r->fn(loop, fd, events, r->arg);
	return 1;
}

/* ---- timers: binary min-heap ordered by (due, seq) ---- */

static bool fires_before(const struct sl_timer *a, const struct sl_timer *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void heap_place(struct sl_loop *loop, uint32_t i, struct sl_timer *t)
{
	loop->heap[i] = t;
	t->heap_index = i;
}

static void sift_up(struct sl_loop *loop, uint32_t i)
{
	struct sl_timer *t = loop->heap[i];

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;

		if (!fires_before(t, loop->heap[parent]))
			break;
		heap_place(loop, i, loop->heap[parent]);
		i = parent;
	}
	heap_place(loop, i, t);
}

static void sift_down(struct sl_loop *loop, uint32_t i)
{
	struct sl_timer *t = loop->heap[i];

	for (;;) {
		uint32_t child = 2 * i + 1;

		if (child >= loop->heap_len)
			break;
		if (child + 1 < loop->heap_len &&
		    fires_before(loop->heap[child + 1], loop->heap[child]))
			child++;
		if (!fires_before(loop->heap[child], t))
			break;
		heap_place(loop, i, loop->heap[child]);
		i = child;
	}
	heap_place(loop, i, t);
}

/*
 * Arming cannot report an error (the API is void), and a loop that silently
 * lost a timer would stall a peer forever, so running out of memory for
 * the heap array is fatal.
 */
static void heap_reserve_one(struct sl_loop *loop)
{
	uint32_t cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
	struct sl_timer **heap;

	if (loop->heap_len < loop->heap_cap)
		return;
	heap = realloc(loop->heap, cap * sizeof(*heap));
	if (!heap) {
		sl_err("event loop: out of memory for %u timers", cap);
		abort();
	}
	loop->heap = heap;
	loop->heap_cap = cap;
}

static void heap_remove(struct sl_loop *loop, struct sl_timer *t)
{
	uint32_t i = t->heap_index;
	struct sl_timer *last = loop->heap[--loop->heap_len];

	t->heap_index = NOT_ARMED;
	if (last == t)
		return;
	heap_place(loop, i, last);
	sift_up(loop, i);
	sift_down(loop, last->heap_index);
}

void sl_timer_init(struct sl_timer *t, sl_timer_fn fn, void *arg)
{
	*t = (struct sl_timer){.heap_index = NOT_ARMED, .fn = fn, .arg = arg};
}

bool sl_timer_armed(const struct sl_timer *t)
{
	return t->heap_index != NOT_ARMED;
}

void sl_timer_arm_at(struct sl_loop *loop, struct sl_timer *t, sl_time_ns due)
{
	t->due = due;
	t->seq = ++loop->arm_seq;
	if (!sl_timer_armed(t)) {
		heap_reserve_one(loop);
		heap_place(loop, loop->heap_len++, t);
	}
	sift_up(loop, t->heap_index);
	sift_down(loop, t->heap_index);
}

void sl_timer_arm(struct sl_loop *loop, struct sl_timer *t, sl_time_ns delay)
{
	sl_time_ns now = sl_loop_now(loop);

	sl_timer_arm_at(loop, t, delay > UINT64_MAX - now ? UINT64_MAX : now + delay);
}

void sl_timer_cancel(struct sl_loop *loop, struct sl_timer *t)
{
	if (sl_timer_armed(t))
		heap_remove(loop, t);
}

/*
 * Only timers armed before this round started can fire in it: one that a
 * callback re-arms with no delay waits for the next round instead of
 * spinning here forever.
 */
int sl_loop_run_timers(struct sl_loop *loop)
{
	sl_time_ns now = sl_loop_now(loop);
	uint64_t last_seq = loop->arm_seq;
	int fired = 0;

	while (loop->heap_len) {
		struct sl_timer *t = loop->heap[0];

		if (t->due > now || t->seq > last_seq)
			break;
		heap_remove(loop, t);
		t->fn(loop, t, t->arg);
		fired++;
	}
	return fired;
}

/* ---- running ---- */

static int next_timer_ms(const struct sl_loop *loop)
{
	sl_time_ns now, wait;

	if (!loop->heap_len)
		return -1;
	now = sl_loop_now(loop);
	if (loop->heap[0]->due <= now)
		return 0;
	wait = (loop->heap[0]->due - now + SL_MSEC - 1) / SL_MSEC;
	return wait > INT_MAX ? INT_MAX : (int)wait;
}

static int wait_ms(const struct sl_loop *loop, int timeout_ms)
{
	int timer_ms = next_timer_ms(loop);

	if (timeout_ms < 0)
		return timer_ms;
	return timer_ms < 0 || timeout_ms < timer_ms ? timeout_ms : timer_ms;
}

/*
 * When timers fired, fd events are only collected, not waited for: the
 * round did work, and the caller gets control back at once.
 */
int sl_loop_run_once(struct sl_loop *loop, int timeout_ms)
{
	struct epoll_event ev[MAX_EVENTS];
	int ran = sl_loop_run_timers(loop);
	int n, err, timeout = ran ? 0 : wait_ms(loop, timeout_ms);

	if (loop->before_wait)
		loop->before_wait(loop->wait_arg);
	n = epoll_wait(loop->epfd, ev, MAX_EVENTS, timeout);
	err = errno;
	if (loop->after_wait)
		loop->after_wait(loop->wait_arg);
	if (n < 0)
		return err == EINTR ? ran : -err;
	for (int i = 0; i < n; i++)
		ran += dispatch(loop, &ev[i]);
	return ran;
}

int sl_loop_run(struct sl_loop *loop)
{
	int r = 0;

	while (!loop->stopping && r >= 0)
		r = sl_loop_run_once(loop, -1);
	loop->stopping = false;
	return r < 0 ? r : 0;
}

int sl_loop_set_wait_hooks(struct sl_loop *loop, void (*before)(void *), void (*after)(void *),
			   void *arg)
{
	if (before && loop->before_wait)
		return -EBUSY;
	loop->before_wait = before;
	loop->after_wait = after;
	loop->wait_arg = arg;
	return 0;
}

void sl_loop_stop(struct sl_loop *loop)
{
	loop->stopping = true;
}
