// SPDX-License-Identifier: MIT
/* Event loop: timers on an injected clock (checked against a sorted reference), fd events. */
#include "core/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

struct fake_clock {
	sl_time_ns now;
};

static sl_time_ns fake_now(void *arg)
{
	return ((struct fake_clock *)arg)->now;
}

/* Each test gets a loop on a clock that only moves when the test says so. */
struct fixture {
	struct fake_clock clock;
	struct sl_loop *loop;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct sl_clock c = {.now = fake_now, .arg = &f->clock};

	f->clock.now = 1000 * SL_SEC;
	f->loop = sl_loop_new(&c);
	if (!f->loop)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sl_loop_free(f->loop);
	free(f);
	return 0;
}

/* ---- timers ---- */

#define MAX_FIRED 2048

struct record {
	int fired[MAX_FIRED];
	int n;
};

struct probe {
	struct sl_timer timer;
	struct record *rec;
	int id;
	sl_time_ns rearm_delay; /* re-arm itself with this delay, if rearms > 0 */
	int rearms;
};

static void on_probe_due(struct sl_loop *loop, struct sl_timer *t, void *arg)
{
	struct probe *p = arg;

	assert_ptr_equal(t, &p->timer);
	assert_false(sl_timer_armed(t));
	assert_true(p->rec->n < MAX_FIRED);
	p->rec->fired[p->rec->n++] = p->id;
	if (p->rearms > 0) {
		p->rearms--;
		sl_timer_arm(loop, t, p->rearm_delay);
	}
}

static void probe_init(struct probe *p, struct record *rec, int id)
{
	memset(p, 0, sizeof(*p));
	p->rec = rec;
	p->id = id;
	sl_timer_init(&p->timer, on_probe_due, p);
}

static void test_timers_fire_in_order(void **state)
{
	struct fixture *f = *state;
	struct record rec = {0};
	struct probe p[3];
	const sl_time_ns delay[3] = {30 * SL_MSEC, 10 * SL_MSEC, 20 * SL_MSEC};

	for (int i = 0; i < 3; i++) {
		probe_init(&p[i], &rec, i);
		assert_false(sl_timer_armed(&p[i].timer));
		sl_timer_arm(f->loop, &p[i].timer, delay[i]);
		assert_true(sl_timer_armed(&p[i].timer));
	}
	assert_int_equal(sl_loop_run_timers(f->loop), 0);
	f->clock.now += 10 * SL_MSEC - 1;
	assert_int_equal(sl_loop_run_timers(f->loop), 0);
	f->clock.now += 1;
	assert_int_equal(sl_loop_run_timers(f->loop), 1);
	assert_int_equal(rec.fired[0], 1);
	f->clock.now += 25 * SL_MSEC;
	assert_int_equal(sl_loop_run_timers(f->loop), 2);
	assert_int_equal(rec.n, 3);
	assert_int_equal(rec.fired[1], 2);
	assert_int_equal(rec.fired[2], 0);
	assert_int_equal(sl_loop_run_timers(f->loop), 0);
}

static void test_equal_dues_fire_in_arm_order(void **state)
{
	struct fixture *f = *state;
	struct record rec = {0};
	struct probe p[5];
	sl_time_ns due = f->clock.now + SL_SEC;

	for (int i = 0; i < 5; i++) {
		probe_init(&p[i], &rec, i);
		sl_timer_arm_at(f->loop, &p[i].timer, due);
	}
	f->clock.now = due;
	assert_int_equal(sl_loop_run_timers(f->loop), 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(rec.fired[i], i);
}

static void test_cancel(void **state)
{
	struct fixture *f = *state;
	struct record rec = {0};
	struct probe a, b, c;

	probe_init(&a, &rec, 1);
	probe_init(&b, &rec, 2);
	probe_init(&c, &rec, 3);
	sl_timer_arm(f->loop, &a.timer, 5 * SL_MSEC);
	sl_timer_arm(f->loop, &b.timer, 1 * SL_MSEC); /* the heap's root */
	sl_timer_arm(f->loop, &c.timer, 9 * SL_MSEC);
	sl_timer_cancel(f->loop, &b.timer);
	assert_false(sl_timer_armed(&b.timer));
	sl_timer_cancel(f->loop, &b.timer); /* cancelling twice is harmless */
	sl_timer_cancel(f->loop, &c.timer);
	f->clock.now += SL_SEC;
	assert_int_equal(sl_loop_run_timers(f->loop), 1);
	assert_int_equal(rec.n, 1);
	assert_int_equal(rec.fired[0], 1);
}

static void test_rearm_moves_due(void **state)
{
	struct fixture *f = *state;
	struct record rec = {0};
	struct probe a;

	probe_init(&a, &rec, 1);
	sl_timer_arm(f->loop, &a.timer, 5 * SL_MSEC);
	sl_timer_arm(f->loop, &a.timer, 50 * SL_MSEC); /* re-arm while armed: later */
	f->clock.now += 10 * SL_MSEC;
	assert_int_equal(sl_loop_run_timers(f->loop), 0);
	sl_timer_arm(f->loop, &a.timer, 1 * SL_MSEC); /* and earlier again */
	f->clock.now += 1 * SL_MSEC;
	assert_int_equal(sl_loop_run_timers(f->loop), 1);
	f->clock.now += SL_SEC;
	assert_int_equal(sl_loop_run_timers(f->loop), 0);
	assert_int_equal(rec.n, 1);
}

/* A timer re-armed with no delay fires once per round, never in a loop. */
static void test_rearm_zero_from_callback(void **state)
{
	struct fixture *f = *state;
	struct record rec = {0};
	struct probe a;

	probe_init(&a, &rec, 7);
	a.rearms = 1000000;
	sl_timer_arm(f->loop, &a.timer, 0);
	assert_int_equal(sl_loop_run_timers(f->loop), 1);
	assert_true(sl_timer_armed(&a.timer));
	assert_int_equal(sl_loop_run_timers(f->loop), 1);
	assert_int_equal(sl_loop_run_once(f->loop, 0), 1);
	assert_int_equal(rec.n, 3);
	sl_timer_cancel(f->loop, &a.timer);
}

static void test_periodic_rearm_from_callback(void **state)
{
	struct fixture *f = *state;
	struct record rec = {0};
	struct probe a;

	probe_init(&a, &rec, 1);
	a.rearms = 3;
	a.rearm_delay = 10 * SL_MSEC;
	sl_timer_arm(f->loop, &a.timer, 10 * SL_MSEC);
	for (int i = 0; i < 10; i++) {
		f->clock.now += 10 * SL_MSEC;
		sl_loop_run_timers(f->loop);
	}
	assert_int_equal(rec.n, 4);
	assert_false(sl_timer_armed(&a.timer));
}

/* A callback may cancel or arm other timers, also ones due in the same round. */
struct chain {
	struct sl_timer timer;
	struct sl_timer *victim;
	int fired;
};

static void on_chain_due(struct sl_loop *loop, struct sl_timer *t, void *arg)
{
	struct chain *c = arg;

	c->fired++;
	if (c->victim)
		sl_timer_cancel(loop, c->victim);
}

static void test_callback_cancels_other_due_timer(void **state)
{
	struct fixture *f = *state;
	struct chain a = {0}, b = {0};

	sl_timer_init(&a.timer, on_chain_due, &a);
	sl_timer_init(&b.timer, on_chain_due, &b);
	a.victim = &b.timer;
	sl_timer_arm(f->loop, &a.timer, 1 * SL_MSEC);
	sl_timer_arm(f->loop, &b.timer, 2 * SL_MSEC);
	f->clock.now += SL_SEC;
	assert_int_equal(sl_loop_run_timers(f->loop), 1);
	assert_int_equal(a.fired, 1);
	assert_int_equal(b.fired, 0);
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

struct ref_entry {
	sl_time_ns due;
	uint64_t seq;
	int id;
};

static int ref_cmp(const void *a, const void *b)
{
	const struct ref_entry *x = a, *y = b;

	if (x->due != y->due)
		return x->due < y->due ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

#define N_RANDOM 1000

/* The heap against the dumb reference: sort what is armed, then compare the firing order. */
static void test_heap_random_vs_sorted(void **state)
{
	struct fixture *f = *state;
	static struct probe p[N_RANDOM];
	static struct ref_entry ref[N_RANDOM];
	struct record *rec = calloc(1, sizeof(*rec));
	sl_time_ns start = f->clock.now, last_due = 0;
	uint64_t seed = 0x5eed1234abcdULL;
	int n_ref = 0;

	for (int i = 0; i < N_RANDOM; i++) {
		probe_init(&p[i], rec, i);
		/* A small range, so many timers share a due time. */
		sl_timer_arm(f->loop, &p[i].timer, (xorshift(&seed) % 500) * SL_MSEC);
	}
	for (int i = 0; i < 3 * N_RANDOM; i++) {
		struct probe *q = &p[xorshift(&seed) % N_RANDOM];

		if (xorshift(&seed) % 3 == 0)
			sl_timer_cancel(f->loop, &q->timer);
		else
			sl_timer_arm_at(f->loop, &q->timer,
					start + (xorshift(&seed) % 700) * SL_MSEC);
	}
	for (int i = 0; i < N_RANDOM; i++) {
		if (sl_timer_armed(&p[i].timer))
			ref[n_ref++] = (struct ref_entry){p[i].timer.due, p[i].timer.seq, i};
	}
	qsort(ref, (size_t)n_ref, sizeof(ref[0]), ref_cmp);
	for (int step = 0; step < 200; step++) {
		f->clock.now += 37 * SL_MSEC / 10;
		sl_loop_run_timers(f->loop);
	}
	assert_true(n_ref > N_RANDOM / 4);
	assert_int_equal(rec->n, n_ref);
	for (int i = 0; i < n_ref; i++) {
		assert_int_equal(rec->fired[i], ref[i].id);
		assert_true(ref[i].due >= last_due);
		last_due = ref[i].due;
	}
	free(rec);
}

static void test_loop_free_disarms(void **state)
{
	struct fixture *f = *state;
	struct record rec = {0};
	struct probe a;
	struct sl_loop *loop = sl_loop_new(NULL);

	probe_init(&a, &rec, 1);
	sl_timer_arm(loop, &a.timer, SL_SEC);
	sl_loop_free(loop);
	assert_false(sl_timer_armed(&a.timer));
	(void)f;
}

/* ---- run_once against the real clock ---- */

static sl_time_ns mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (sl_time_ns)ts.tv_sec * SL_SEC + (sl_time_ns)ts.tv_nsec;
}

static void test_run_once_sleeps_until_timer(void **state)
{
	struct record rec = {0};
	struct probe a;
	struct sl_loop *loop = sl_loop_new(NULL);
	sl_time_ns t0 = mono_ns();
	int fired = 0;

	assert_non_null(loop);
	probe_init(&a, &rec, 1);
	sl_timer_arm(loop, &a.timer, 20 * SL_MSEC);
	for (int i = 0; i < 10 && !fired; i++)
		fired = sl_loop_run_once(loop, -1);
	assert_int_equal(fired, 1);
	assert_true(mono_ns() - t0 >= 20 * SL_MSEC);
	assert_true(mono_ns() - t0 < 2 * SL_SEC);
	/* No timers and a 0 timeout: returns at once with nothing done. */
	assert_int_equal(sl_loop_run_once(loop, 0), 0);
	sl_loop_free(loop);
}

struct stopper {
	struct sl_timer timer;
	int fired;
};

static void on_stop_due(struct sl_loop *loop, struct sl_timer *t, void *arg)
{
	((struct stopper *)arg)->fired++;
	sl_loop_stop(loop);
}

static void test_run_until_stop(void **state)
{
	struct sl_loop *loop = sl_loop_new(NULL);
	struct stopper s = {0};

	assert_non_null(loop);
	sl_timer_init(&s.timer, on_stop_due, &s);
	sl_timer_arm(loop, &s.timer, 2 * SL_MSEC);
	assert_int_equal(sl_loop_run(loop), 0);
	assert_int_equal(s.fired, 1);
	/* The stop was consumed: the loop can run again. */
	sl_timer_arm(loop, &s.timer, 1 * SL_MSEC);
	assert_int_equal(sl_loop_run(loop), 0);
	assert_int_equal(s.fired, 2);
	sl_loop_free(loop);
}

/* ---- file descriptors ---- */

struct watcher {
	int calls;
	uint32_t events;
	int fd;
	/* What a callback does to another watcher: delete it, and maybe reuse its fd number. */
	struct watcher *victim;
	struct watcher *replacement;
	int pipe_into_victim[2];
};

static void on_fd(struct sl_loop *loop, int fd, uint32_t events, void *arg);

static void delete_victim(struct sl_loop *loop, struct watcher *w)
{
	struct watcher *v = w->victim;
	int p[2];

	assert_int_equal(sl_loop_del_fd(loop, v->fd), 0);
	if (!w->replacement)
		return;
	/* A new empty pipe takes the deleted fd's number and is watched by someone else. */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(dup2(p[0], v->fd), v->fd);
	close(p[0]);
	w->pipe_into_victim[1] = p[1];
	w->replacement->fd = v->fd;
	assert_int_equal(sl_loop_add_fd(loop, v->fd, SL_EV_READ, on_fd, w->replacement), 0);
}

static void on_fd(struct sl_loop *loop, int fd, uint32_t events, void *arg)
{
	struct watcher *w = arg;

	assert_int_equal(fd, w->fd);
	w->calls++;
	w->events = events;
	if (w->victim) {
		delete_victim(loop, w);
		w->victim = NULL;
	}
}

static void test_fd_readable_via_pipe(void **state)
{
	struct fixture *f = *state;
	struct watcher w = {0};
	int p[2];

	assert_int_equal(pipe(p), 0);
	w.fd = p[0];
	assert_int_equal(sl_loop_add_fd(f->loop, p[0], SL_EV_READ, on_fd, &w), 0);
	assert_int_equal(sl_loop_run_once(f->loop, 0), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(sl_loop_run_once(f->loop, 1000), 1);
	assert_int_equal(w.calls, 1);
	assert_int_equal(w.events, SL_EV_READ);
	/* Switch to write interest on the same fd: a pipe's read end never becomes writable. */
	assert_int_equal(sl_loop_mod_fd(f->loop, p[0], SL_EV_WRITE), 0);
	assert_int_equal(sl_loop_run_once(f->loop, 0), 0);
	assert_int_equal(sl_loop_del_fd(f->loop, p[0]), 0);
	close(p[0]);
	close(p[1]);
}

static void test_fd_writable_and_hangup(void **state)
{
	struct fixture *f = *state;
	struct watcher r = {0}, w = {0};
	int p[2];

	assert_int_equal(pipe(p), 0);
	r.fd = p[0];
	w.fd = p[1];
	assert_int_equal(sl_loop_add_fd(f->loop, p[1], SL_EV_WRITE, on_fd, &w), 0);
	assert_int_equal(sl_loop_add_fd(f->loop, p[0], SL_EV_READ, on_fd, &r), 0);
	assert_int_equal(sl_loop_run_once(f->loop, 1000), 1);
	assert_int_equal(w.events, SL_EV_WRITE);
	assert_int_equal(sl_loop_del_fd(f->loop, p[1]), 0);
	close(p[1]); /* hang-up reports as readable */
	assert_int_equal(sl_loop_run_once(f->loop, 1000), 1);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.events, SL_EV_READ);
	assert_int_equal(sl_loop_del_fd(f->loop, p[0]), 0);
	close(p[0]);
}

static void test_fd_errors(void **state)
{
	struct fixture *f = *state;
	struct watcher w = {0};
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(sl_loop_add_fd(f->loop, -1, SL_EV_READ, on_fd, &w), -EBADF);
	assert_int_equal(sl_loop_add_fd(f->loop, p[0], SL_EV_READ, NULL, &w), -EINVAL);
	assert_int_equal(sl_loop_add_fd(f->loop, p[0], 0x80, on_fd, &w), -EINVAL);
	assert_int_equal(sl_loop_add_fd(f->loop, p[0], SL_EV_READ, on_fd, &w), 0);
	assert_int_equal(sl_loop_add_fd(f->loop, p[0], SL_EV_READ, on_fd, &w), -EEXIST);
	assert_int_equal(sl_loop_mod_fd(f->loop, p[1], SL_EV_READ), -ENOENT);
	assert_int_equal(sl_loop_del_fd(f->loop, p[1]), -ENOENT);
	assert_int_equal(sl_loop_del_fd(f->loop, 100000), -ENOENT);
	assert_int_equal(sl_loop_del_fd(f->loop, p[0]), 0);
	assert_int_equal(sl_loop_del_fd(f->loop, p[0]), -ENOENT);
	/* A closed fd that was not deleted first can still be deleted. */
	assert_int_equal(sl_loop_add_fd(f->loop, p[1], SL_EV_WRITE, on_fd, &w), 0);
	close(p[1]);
	assert_int_equal(sl_loop_del_fd(f->loop, p[1]), 0);
	close(p[0]);
}

static void test_fd_registry_grows(void **state)
{
	struct fixture *f = *state;
	struct watcher w = {.fd = 700};
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(dup2(p[0], 700), 700);
	assert_int_equal(sl_loop_add_fd(f->loop, 700, SL_EV_READ, on_fd, &w), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(sl_loop_run_once(f->loop, 1000), 1);
	assert_int_equal(w.calls, 1);
	assert_int_equal(sl_loop_del_fd(f->loop, 700), 0);
	close(700);
	close(p[0]);
	close(p[1]);
}

/*
 * Two readable pipes, one epoll batch: whichever callback runs first deletes
 * the other fd, whose event is already fetched. It must not be delivered,
 * neither to the deleted watcher nor to a new one that took the fd number.
 */
static void check_del_inside_callback(struct fixture *f, bool reuse_fd)
{
	struct watcher a = {0}, b = {0}, fresh = {0};
	int pa[2], pb[2];

	assert_int_equal(pipe(pa), 0);
	assert_int_equal(pipe(pb), 0);
	a.fd = pa[0];
	b.fd = pb[0];
	a.victim = &b;
	b.victim = &a;
	a.replacement = b.replacement = reuse_fd ? &fresh : NULL;
	assert_int_equal(sl_loop_add_fd(f->loop, pa[0], SL_EV_READ, on_fd, &a), 0);
	assert_int_equal(sl_loop_add_fd(f->loop, pb[0], SL_EV_READ, on_fd, &b), 0);
	assert_int_equal(write(pa[1], "x", 1), 1);
	assert_int_equal(write(pb[1], "x", 1), 1);
	assert_int_equal(sl_loop_run_once(f->loop, 1000), 1);
	assert_int_equal(a.calls + b.calls, 1);
	assert_int_equal(fresh.calls, 0);
	/* The survivor stays watched; the replacement's (empty) pipe stays quiet. */
	assert_int_equal(sl_loop_run_once(f->loop, 0), 1);
	assert_int_equal(a.calls + b.calls, 2);
	assert_int_equal(fresh.calls, 0);
	if (reuse_fd) {
		struct watcher *w = a.calls ? &a : &b;

		assert_int_equal(write(w->pipe_into_victim[1], "y", 1), 1);
		assert_int_equal(sl_loop_run_once(f->loop, 0), 2);
		assert_int_equal(fresh.calls, 1);
		close(w->pipe_into_victim[1]);
	}
	sl_loop_del_fd(f->loop, pa[0]);
	sl_loop_del_fd(f->loop, pb[0]);
	close(pa[0]);
	close(pa[1]);
	close(pb[0]);
	close(pb[1]);
}

static void test_fd_del_inside_callback(void **state)
{
	check_del_inside_callback(*state, false);
}

static void test_fd_del_and_reuse_inside_callback(void **state)
{
	check_del_inside_callback(*state, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_timers_fire_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_equal_dues_fire_in_arm_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rearm_moves_due, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rearm_zero_from_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_periodic_rearm_from_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_callback_cancels_other_due_timer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_heap_random_vs_sorted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loop_free_disarms, setup, teardown),
		cmocka_unit_test(test_run_once_sleeps_until_timer),
		cmocka_unit_test(test_run_until_stop),
		cmocka_unit_test_setup_teardown(test_fd_readable_via_pipe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_writable_and_hangup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_registry_grows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_del_inside_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_del_and_reuse_inside_callback, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
