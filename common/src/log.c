/* Levelled, timestamped log lines on stderr. */
#include "molt/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "molt/banned.h"

/* Relaxed: a level change need not be seen at once by other threads. */
static atomic_int level = MOLT_LOG_INFO;

static const char *const names[] = {"error", "warn", "info", "debug"};

void molt_log_set_level(int l)
{
	atomic_store_explicit(&level, l, memory_order_relaxed);
}

int molt_log_get_level(void)
{
	return atomic_load_explicit(&level, memory_order_relaxed);
}

int molt_log_parse_level(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

void molt_log(int l, const char *component, const char *fmt, ...)
{
	char line[1024];
	struct timespec ts;
	struct tm tm;
	size_t n;
	va_list ap;

	if (l > molt_log_get_level() || l < 0)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(line + n, sizeof(line) - n,
			      ".%03ldZ %-5s %s: ", ts.tv_nsec / 1000000L,
			      names[l], component);
	va_start(ap, fmt);
	if (n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	n = strlen(line);
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* one write(2) per line so threads do not interleave */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}
