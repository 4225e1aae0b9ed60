/* The node's observability state: histograms, upgrade counters and the
 * system monitor's event ring. */
#ifndef MOLT_RUNTIME_OBS_H
#define MOLT_RUNTIME_OBS_H

/*
 * Counters on the dispatch path are plain per-process or per-scheduler
 * words written by their one owner (relaxed atomics, so readers on other
 * threads are race-free). What is here is written off that path: a
 * histogram bucket is bumped once per sampled turn or per paused process
 * (relaxed fetch_add), and the event ring takes its mutex only when an
 * event is posted, which happens once per episode (docs/observability.md).
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "molt/runtime.h"

#define MOLT__OBS_EVENTS 512 /* events kept */
/* A sampled turn stands for this many (the mean sampling interval). */
#define MOLT__OBS_SAMPLE_MEAN 64u
#define MOLT__OBS_EPISODES                                                     \
	64u /* long_queue episodes the watchdog                                \
	       watches end */

/* A histogram with MOLT_HIST_BUCKETS buckets (runtime.h). */
typedef struct molt__hist {
	_Atomic uint64_t b[MOLT_HIST_BUCKETS]; /* per bucket; relaxed */
	_Atomic uint64_t sum_ns;	       /* relaxed */
} molt__hist;

typedef struct molt__obs {
	pthread_mutex_t mu; /* guards ev and seq */
	molt_event *ev;	    /* MOLT__OBS_EVENTS, a ring by seq */
	uint64_t seq;	    /* events posted so far */
	molt_pid open_q[MOLT__OBS_EPISODES];	 /* long_queue episodes (mu) */
	unsigned n_open_q;			 /* entries in open_q */
	_Atomic uint64_t n_ev[MOLT_EVENT_KINDS]; /* posted, by kind */
	molt__hist pause;			 /* upgrade pauses */
	_Atomic uint64_t evals, commits, eval_rollbacks; /* note_upgrade */
	_Atomic uint64_t installs, install_fails, rollbacks;
	_Atomic uint64_t last_pause_ns; /* the latest upgrade's max */
} molt__obs;

struct molt_runtime;

int molt__obs_init(struct molt_runtime *rt);
void molt__obs_release(struct molt_runtime *rt);
/* Add n observations of ns each. Any thread. */
void molt__hist_add(molt__hist *h, uint64_t ns, uint64_t n);
/* Add h into out. */
void molt__hist_read(const molt__hist *h, molt_histogram *out);
/* molt_runtime_event_post without the log line (the caller logged). */
void molt__obs_event_quiet(struct molt_runtime *rt, int kind, molt_pid pid,
			   uint64_t value, uint64_t threshold,
			   const char *text);
/* A long_queue episode of pid began: the watchdog ends it (obs_tick)
 * once its queue is half drained. If too many are open, a sampled turn
 * of the process ends it instead. */
void molt__obs_queue_open(struct molt_runtime *rt, molt_pid pid);
/* The watchdog's tick: end the episodes that are over. */
void molt__obs_tick(struct molt_runtime *rt);
/* CLOCK_MONOTONIC in ns. */
uint64_t molt__now_ns(void);

#endif
