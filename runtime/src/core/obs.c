/* Histograms, upgrade counters and the system monitor's events (obs.h). */
#include "obs.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "molt/common.h"
#include "molt/log.h"

#include "proc.h"
#include "rt.h"

#include "molt/banned.h"

static const uint64_t bounds[MOLT_HIST_BUCKETS] = {
	1000ull,     10000ull,	   100000ull,	  1000000ull,
	10000000ull, 100000000ull, 1000000000ull, UINT64_MAX,
};

uint64_t molt_histogram_bound_ns(unsigned i)
{
	return i < MOLT_HIST_BUCKETS ? bounds[i] : UINT64_MAX;
}

uint64_t molt__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void molt__hist_add(molt__hist *h, uint64_t ns, uint64_t n)
{
	unsigned i = 0;

	while (ns > bounds[i])
		i++;
	atomic_fetch_add_explicit(&h->b[i], n, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_ns, ns * n, memory_order_relaxed);
}

void molt__hist_read(const molt__hist *h, molt_histogram *out)
{
	for (unsigned i = 0; i < MOLT_HIST_BUCKETS; i++) {
		uint64_t v =
			atomic_load_explicit(&h->b[i], memory_order_relaxed);

		out->bucket[i] += v;
		out->count += v;
	}
	out->sum_ns += atomic_load_explicit(&h->sum_ns, memory_order_relaxed);
}

int molt__obs_init(molt_runtime *rt)
{
	molt__obs *o = &rt->obs;

	o->ev = molt_calloc(MOLT__OBS_EVENTS, sizeof(*o->ev));
	if (!o->ev)
		return MOLT_ENOMEM;
	pthread_mutex_init(&o->mu, NULL);
	return MOLT_OK;
}

void molt__obs_release(molt_runtime *rt)
{
	if (!rt->obs.ev)
		return;
	pthread_mutex_destroy(&rt->obs.mu);
	molt_free(rt->obs.ev);
	rt->obs.ev = NULL;
}

const char *molt_event_kind_name(int kind)
{
	static const char *const names[MOLT_EVENT_KINDS] = {
		"long_callback", "long_queue", "large_heap", "slow_upgrade"};

	return kind >= 0 && kind < MOLT_EVENT_KINDS ? names[kind] : "?";
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Record an event without logging it (the caller logged it). */
static void event_put(molt_runtime *rt, int kind, molt_pid pid, uint64_t value,
		      uint64_t threshold, const char *text)
{
	molt__obs *o = &rt->obs;
	molt_event *e;

	if (kind < 0 || kind >= MOLT_EVENT_KINDS || !o->ev)
		return;
	atomic_fetch_add_explicit(&o->n_ev[kind], 1, memory_order_relaxed);
	pthread_mutex_lock(&o->mu);
	e = &o->ev[o->seq % MOLT__OBS_EVENTS];
	e->seq = ++o->seq;
	e->time_ms = wall_ms();
	e->kind = kind;
	e->pid = pid;
	e->value = value;
	e->threshold = threshold;
	snprintf(e->text, sizeof(e->text), "%s", text ? text : "");
	pthread_mutex_unlock(&o->mu);
}

void molt_runtime_event_post(molt_runtime *rt, int kind, molt_pid pid,
			     uint64_t value, uint64_t threshold,
			     const char *text)
{
	molt_log(MOLT_LOG_WARN, "monitor", "%s: %s", molt_event_kind_name(kind),
		 text ? text : "");
	event_put(rt, kind, pid, value, threshold, text);
}

void molt__obs_event_quiet(molt_runtime *rt, int kind, molt_pid pid,
			   uint64_t value, uint64_t threshold, const char *text)
{
	event_put(rt, kind, pid, value, threshold, text);
}

size_t molt_runtime_events(molt_runtime *rt, uint64_t since, molt_event *out,
			   size_t max, uint64_t *next_out)
{
	molt__obs *o = &rt->obs;
	uint64_t first, s;
	size_t n = 0;

	pthread_mutex_lock(&o->mu);
	first = o->seq > MOLT__OBS_EVENTS ? o->seq - MOLT__OBS_EVENTS : 0;
	s = since > first ? since : first;
	if (s > o->seq)
		s = o->seq;
	for (; s < o->seq && n < max; s++)
		out[n++] = o->ev[s % MOLT__OBS_EVENTS];
	if (next_out)
		*next_out = s;
	pthread_mutex_unlock(&o->mu);
	return n;
}

void molt__obs_queue_open(molt_runtime *rt, molt_pid pid)
{
	molt__obs *o = &rt->obs;

	pthread_mutex_lock(&o->mu);
	if (o->n_open_q < MOLT__OBS_EPISODES)
		o->open_q[o->n_open_q++] = pid;
	pthread_mutex_unlock(&o->mu);
}

void molt__obs_tick(molt_runtime *rt)
{
	molt__obs *o = &rt->obs;
	molt_pid pids[MOLT__OBS_EPISODES], keep[MOLT__OBS_EPISODES];
	unsigned n, k = 0;

	pthread_mutex_lock(&o->mu);
	n = o->n_open_q;
	memcpy(pids, o->open_q, n * sizeof(pids[0]));
	pthread_mutex_unlock(&o->mu);
	if (!n)
		return;
	for (unsigned i = 0; i < n; i++)
		if (!molt__proc_queue_calm(rt, pids[i]))
			keep[k++] = pids[i];
	/* put back the open ones, and any opened meanwhile */
	pthread_mutex_lock(&o->mu);
	for (unsigned i = n; i < o->n_open_q && k < MOLT__OBS_EPISODES; i++)
		keep[k++] = o->open_q[i];
	memcpy(o->open_q, keep, k * sizeof(keep[0]));
	o->n_open_q = k;
	pthread_mutex_unlock(&o->mu);
}

void molt_runtime_note_upgrade(molt_runtime *rt, int kind, int ok,
			       int rolled_back, uint64_t pause_max_ns)
{
	molt__obs *o = &rt->obs;

	switch (kind) {
	case MOLT_UPGRADE_EVAL:
		atomic_fetch_add(&o->evals, 1);
		if (ok)
			atomic_fetch_add(&o->commits, 1);
		if (rolled_back)
			atomic_fetch_add(&o->eval_rollbacks, 1);
		break;
	case MOLT_UPGRADE_INSTALL:
	case MOLT_UPGRADE_ROLLBACK:
		atomic_fetch_add(ok ? (kind == MOLT_UPGRADE_INSTALL
					       ? &o->installs
					       : &o->rollbacks)
				    : &o->install_fails,
				 1);
		break;
	}
	if (ok)
		atomic_store(&o->last_pause_ns, pause_max_ns);
}

void molt_runtime_obs_stats(molt_runtime *rt, molt_obs_stats *out)
{
	molt__obs *o = &rt->obs;

	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < rt->sched.n; i++)
		molt__hist_read(&rt->sched.s[i].cb_hist, &out->callback);
	molt__hist_read(&o->pause, &out->pause);
	out->evals = atomic_load(&o->evals);
	out->eval_commits = atomic_load(&o->commits);
	out->eval_rollbacks = atomic_load(&o->eval_rollbacks);
	out->installs = atomic_load(&o->installs);
	out->install_failures = atomic_load(&o->install_fails);
	out->rollbacks = atomic_load(&o->rollbacks);
	out->last_pause_max_ns = atomic_load(&o->last_pause_ns);
	for (int k = 0; k < MOLT_EVENT_KINDS; k++)
		out->events[k] =
			atomic_load_explicit(&o->n_ev[k], memory_order_relaxed);
}
