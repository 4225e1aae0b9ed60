/* Levelled, timestamped logging to stderr. */
#ifndef MOLT_LOG_H
#define MOLT_LOG_H

#include "molt/common.h"

enum molt_log_level {
	MOLT_LOG_ERROR = 0,
	MOLT_LOG_WARN = 1,
	MOLT_LOG_INFO = 2,
	MOLT_LOG_DEBUG = 3,
};

/* Messages above level are dropped. Default MOLT_LOG_INFO. */
MOLT_API void molt_log_set_level(int level);
MOLT_API int molt_log_get_level(void);
/* Parse "error|warn|info|debug"; returns the level or -1. */
MOLT_API int molt_log_parse_level(const char *name);

/*
 * Write one line: "2026-11-25T10:00:00.123Z info  <component>: message".
 * Thread-safe: each line is written with one write(2).
 */
MOLT_PRINTF(3, 4)
MOLT_API void molt_log(int level, const char *component, const char *fmt, ...);

#endif
