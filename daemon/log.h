/* log - leveled log lines on stderr, as text or JSON (--log-format).
 *
 * The one process-wide setting of rcptd (format and threshold), set once
 * at start by log_setup() before any other thread or loop exists.
 * A text line: "2026-11-25T10:00:00Z rcptd[PID] level: message".
 * A JSON line: {"ts": ..., "level": ..., "msg": ...}. Messages are cut at
 * LOG_LINE_MAX octets; control characters in them are escaped, so a
 * remote server's reply can never forge a log line. */
#ifndef RCPTD_DAEMON_LOG_H
#define RCPTD_DAEMON_LOG_H

#include "daemon/config.h"

#define LOG_LINE_MAX 2048

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

/* log_setup - returns -1 when @level is not a level name. */
int log_setup(enum log_format format, const char *level);

void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
