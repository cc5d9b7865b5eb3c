// SPDX-License-Identifier: MIT
/* The log: one line per call, and the rate limit for lines an attacker can cause. */
#include "core/log.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define SEC 1000000000ull

/* stderr goes into a pipe for the test; capture_end reads what came. */
static int saved_stderr = -1, pipe_rd = -1;

static void capture_begin(void)
{
	int p[2];

	assert_int_equal(pipe(p), 0);
	saved_stderr = dup(STDERR_FILENO);
	dup2(p[1], STDERR_FILENO);
	close(p[1]);
	pipe_rd = p[0];
	fcntl(pipe_rd, F_SETFL, O_NONBLOCK);
}

static size_t capture_end(char *out, size_t cap)
{
	ssize_t n;

	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	n = read(pipe_rd, out, cap - 1);
	close(pipe_rd);
	out[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

static unsigned count_lines(const char *s, const char *needle)
{
	unsigned n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void test_one_line_per_call(void **state)
{
	char out[512];

	(void)state;
	sl_log_set_level(SL_LOG_INFO);
	capture_begin();
	sl_info("a %d\n\n", 1); /* trailing newlines folded into one */
	sl_debug("below the threshold");
	sl_warn("b");
	capture_end(out, sizeof(out));
	assert_string_equal(out, "sluice: info: a 1\nsluice: warning: b\n");
}

static void test_limit_burst_then_summary(void **state)
{
	struct sl_log_limit l = {.what = "things", .burst = 3, .window_s = 10};
	uint64_t t0 = 100 * SEC;
	unsigned allowed = 0;
	char out[1024];

	(void)state;
	capture_begin();
	for (int i = 0; i < 10; i++)
		allowed += sl_log_limit_allow(&l, t0 + (uint64_t)i * SEC / 10);
	assert_int_equal(allowed, 3);
	assert_int_equal(l.suppressed, 7);
	/* Still inside the window: nothing said yet. */
	sl_log_limit_flush(&l, t0 + 9 * SEC);
	assert_int_equal(capture_end(out, sizeof(out)), 0);

	capture_begin();
	/* The window is over: the summary, then a fresh burst. */
	assert_true(sl_log_limit_allow(&l, t0 + 10 * SEC));
	capture_end(out, sizeof(out));
	assert_int_equal(count_lines(out, "7 more things in the last 10 s"), 1);
	assert_int_equal(l.suppressed, 0);
	assert_int_equal(l.n, 1);
}

static void test_limit_flush_from_timer(void **state)
{
	struct sl_log_limit l = {.what = "x", .burst = 1, .window_s = 2};
	char out[512];

	(void)state;
	capture_begin();
	assert_true(sl_log_limit_allow(&l, 5 * SEC));
	assert_false(sl_log_limit_allow(&l, 5 * SEC + 1));
	sl_log_limit_flush(&l, 7 * SEC); /* no further line asked for: the timer says it */
	sl_log_limit_flush(&l, 9 * SEC); /* nothing left out since: silent */
	capture_end(out, sizeof(out));
	assert_int_equal(count_lines(out, "1 more x in the last 2 s"), 1);
	assert_int_equal(count_lines(out, "sluice:"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_line_per_call),
		cmocka_unit_test(test_limit_burst_then_summary),
		cmocka_unit_test(test_limit_flush_from_timer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
