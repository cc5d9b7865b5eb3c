// SPDX-License-Identifier: MIT
/*
 * The log threshold is the one piece of process-wide mutable state sluice
 * allows: main() sets it once, every thread reads it. It is atomic so a
 * late change (e.g. a control command) is still well-defined.
 */
#include "core/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static atomic_int log_threshold = SL_LOG_INFO;

static const char *const level_names[] = {
	[SL_LOG_ERR] = "error",
	[SL_LOG_WARN] = "warning",
	[SL_LOG_INFO] = "info",
	[SL_LOG_DEBUG] = "debug",
};

void sl_log_set_level(enum sl_log_level level)
{
	if (level > SL_LOG_DEBUG)
		level = SL_LOG_DEBUG;
	atomic_store_explicit(&log_threshold, level, memory_order_relaxed);
}

enum sl_log_level sl_log_get_level(void)
{
	return (enum sl_log_level)atomic_load_explicit(&log_threshold, memory_order_relaxed);
}

/*
 * The whole line goes out in one write(2) so lines from several threads or
 * processes sharing stderr do not interleave; an over-long message is cut.
 */
void sl_log(enum sl_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int head, body;
	size_t len;

	if (level > sl_log_get_level())
		return;
	head = snprintf(line, sizeof(line), "sluice: %s: ", level_names[level]);
	va_start(ap, fmt);
	body = vsnprintf(line + head, sizeof(line) - (size_t)head, fmt, ap);
	va_end(ap);
	if (body < 0)
		body = 0;
	len = (size_t)head + (size_t)body;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	while (len > (size_t)head && line[len - 1] == '\n')
		len--;
	line[len++] = '\n';
	(void)!write(STDERR_FILENO, line, len);
}

void sl_log_limit_flush(struct sl_log_limit *l, uint64_t now_ns)
{
	if (now_ns - l->window_start_ns < (uint64_t)l->window_s * 1000000000u)
		return;
	if (l->suppressed)
		sl_warn("%llu more %s in the last %u s (see sluice show)",
			(unsigned long long)l->suppressed, l->what, l->window_s);
	l->window_start_ns = now_ns;
	l->n = 0;
	l->suppressed = 0;
}

bool sl_log_limit_allow(struct sl_log_limit *l, uint64_t now_ns)
{
	sl_log_limit_flush(l, now_ns);
	if (l->n < l->burst) {
		l->n++;
		return true;
	}
	l->suppressed++;
	return false;
}
