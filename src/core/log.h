/* SPDX-License-Identifier: MIT */
#ifndef SL_CORE_LOG_H
#define SL_CORE_LOG_H

enum sl_log_level { SL_LOG_ERR = 0, SL_LOG_WARN, SL_LOG_INFO, SL_LOG_DEBUG };

/* The process-wide threshold; set once by main(). */
void sl_log_set_level(enum sl_log_level level);
enum sl_log_level sl_log_get_level(void);

/* One line to stderr: "sluice: <level>: <message>\n". */
void sl_log(enum sl_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define sl_err(...)   sl_log(SL_LOG_ERR, __VA_ARGS__)
#define sl_warn(...)  sl_log(SL_LOG_WARN, __VA_ARGS__)
#define sl_info(...)  sl_log(SL_LOG_INFO, __VA_ARGS__)
#define sl_debug(...) sl_log(SL_LOG_DEBUG, __VA_ARGS__)

#endif
