/* SPDX-License-Identifier: MIT */
#ifndef SL_CORE_LOG_H
#define SL_CORE_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum sl_log_level { SL_LOG_ERR = 0, SL_LOG_WARN, SL_LOG_INFO, SL_LOG_DEBUG };

/* The process-wide threshold; set once by main(). */
void sl_log_set_level(enum sl_log_level level);
enum sl_log_level sl_log_get_level(void);

/* One line to stderr: "sluice: <level>: <message>\n". */
void sl_log(enum sl_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Lines an attacker can cause (refused, evicted and timed-out handshakes): at most burst lines
 * per window_s seconds; the rest are counted, and one warning says how many were left out
 * ("N more WHAT in the last W s (see sluice show)") once the window is over: at the next line
 * asked for, or at sl_log_limit_flush from a periodic timer. The counters keep the whole story.
 */
struct sl_log_limit {
	const char *what; /* "refused or failed TLS connections" */
	uint32_t burst, window_s;
	uint64_t window_start_ns;
	uint32_t n;
	uint64_t suppressed;
};

/* Whether one more line may be logged now (monotonic ns); false: it was counted instead. */
bool sl_log_limit_allow(struct sl_log_limit *l, uint64_t now_ns);
/* The summary of a window that is over, if lines were left out in it. */
void sl_log_limit_flush(struct sl_log_limit *l, uint64_t now_ns);

#define sl_err(...)   sl_log(SL_LOG_ERR, __VA_ARGS__)
#define sl_warn(...)  sl_log(SL_LOG_WARN, __VA_ARGS__)
#define sl_info(...)  sl_log(SL_LOG_INFO, __VA_ARGS__)
#define sl_debug(...) sl_log(SL_LOG_DEBUG, __VA_ARGS__)

#endif
