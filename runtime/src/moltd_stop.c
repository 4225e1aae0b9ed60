/* moltd's shutdown deadline and what it reports when a stop is stuck. */
#include "moltd_stop.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "molt/common.h"
#include "molt/log.h"
#include "molt/runtime.h"

#include "molt/banned.h"

#define MAX_CBS	  64  /* callbacks looked at */
#define MAX_PROCS 64  /* processes looked at */
#define LINE_MAX_ 900 /* one log line (molt_log cuts at 1024) */

typedef struct guard {
	molt_runtime *rt;   /* the node (borrowed) */
	pthread_t thread;   /* the guard thread */
	int running;	    /* thread started */
	uint64_t start_ms;  /* molt_now_ms at the first signal */
	uint64_t deadline;  /* molt_now_ms at which the stop gives up */
	unsigned timeout_s; /* as given */
} guard;

static guard g; /* main thread writes it before the thread starts */

/* A line that stops growing, with "...", when full. */
typedef struct line {
	char s[LINE_MAX_]; /* the text */
	size_t n;	   /* its length */
} line;

MOLT_PRINTF(2, 3)
static void add(line *l, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (l->n >= sizeof(l->s) - 1)
		return;
	va_start(ap, fmt);
	k = vsnprintf(l->s + l->n, sizeof(l->s) - l->n, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= sizeof(l->s) - l->n) {
		memcpy(l->s + sizeof(l->s) - 4, "...", 4);
		l->n = sizeof(l->s) - 1;
		return;
	}
	l->n += (size_t)k;
}

static const molt_callback_info *cb_of(const molt_callback_info *cbs, size_t n,
				       molt_pid pid)
{
	for (size_t i = 0; i < n; i++)
		if (cbs[i].pid == pid)
			return &cbs[i];
	return NULL;
}

static void add_proc(line *l, const molt_proc_info *pi,
		     const molt_callback_info *cb)
{
	char pb[32];

	add(l, "%s (%s %s)", molt_pid_format(pi->pid, pb, sizeof(pb)),
	    pi->module, pi->vsn);
	if (cb)
		add(l, " in %s for %.1f s", cb->callback,
		    (double)cb->running_ms / 1000.0);
	else if (pi->queue_len)
		add(l, " with %zu messages queued", pi->queue_len);
}

/* One line: the processes still alive, those in callbacks first, and
 * the busy schedulers. */
static void report(molt_runtime *rt, const char *why)
{
	static molt_proc_info ps[MAX_PROCS]; /* only this thread uses them */
	molt_callback_info cbs[MAX_CBS];
	size_t np = molt_runtime_processes(rt, ps, MAX_PROCS);
	size_t nc = molt_runtime_callbacks(rt, cbs, MAX_CBS), k = 0;
	line l = {.n = 0};
	char pb[32];

	nc = nc < MAX_CBS ? nc : MAX_CBS;
	add(&l, "shutdown: %zu process%s still alive after %.1f s (%s)", np,
	    np == 1 ? "" : "es", (double)(molt_now_ms() - g.start_ms) / 1000.0,
	    why);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < np && i < MAX_PROCS; i++) {
			const molt_callback_info *cb =
				cb_of(cbs, nc, ps[i].pid);

			if ((pass == 0) != (cb != NULL))
				continue;
			add(&l, "%s", k++ ? ", " : ": ");
			add_proc(&l, &ps[i], cb);
		}
	}
	for (size_t i = 0; i < nc; i++)
		add(&l, "%s%s %u in callback %s of %s", i ? ", " : "; ",
		    cbs[i].upgrade_worker ? "upgrade worker" : "scheduler",
		    cbs[i].scheduler, cbs[i].callback,
		    molt_pid_format(cbs[i].pid, pb, sizeof(pb)));
	molt_log(MOLT_LOG_ERROR, "moltd", "%s", l.s);
}

static void *guard_main(void *arg)
{
	sigset_t set;
	int sig;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR2);
	do {
		uint32_t ms = molt__stop_guard_left_ms();
		struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

		sig = sigtimedwait(&set, NULL, &ts);
	} while (sig < 0 && errno == EINTR);
	if (sig == SIGUSR2)
		return NULL; /* the stop ended in time */
	if (sig < 0) {
		char why[64];

		snprintf(why, sizeof(why), "deadline of %u s passed",
			 g.timeout_s);
		report(g.rt, why);
	} else {
		report(g.rt,
		       sig == SIGTERM ? "second SIGTERM" : "second SIGINT");
	}
	_exit(MOLTD_EXIT_STUCK); /* threads in user code cannot be joined */
}

void molt__stop_guard_start(molt_runtime *rt, unsigned timeout_s)
{
	g.rt = rt;
	g.timeout_s = timeout_s;
	g.start_ms = molt_now_ms();
	g.deadline = g.start_ms + (uint64_t)timeout_s * 1000;
	if (pthread_create(&g.thread, NULL, guard_main, NULL) != 0) {
		molt_log(MOLT_LOG_WARN, "moltd",
			 "cannot start the shutdown guard: no deadline");
		return;
	}
	g.running = 1;
}

uint32_t molt__stop_guard_left_ms(void)
{
	uint64_t now = molt_now_ms();

	if (!g.deadline)
		return UINT32_MAX; /* no guard: as before, wait */
	return now >= g.deadline ? 0 : (uint32_t)(g.deadline - now);
}

void molt__stop_guard_end(void)
{
	if (!g.running)
		return;
	pthread_kill(g.thread, SIGUSR2);
	pthread_join(g.thread, NULL);
	g.running = 0;
}
