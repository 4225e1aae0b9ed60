/* Schedulers: threads, run queues, stealing, sleeping, deterministic mode. */
#ifndef MOLT_RUNTIME_SCHED_H
#define MOLT_RUNTIME_SCHED_H

/*
 * Each scheduler thread owns a FIFO run queue of runnable processes
 * (intrusive through molt_proc.next_run) under a mutex. A scheduler pops
 * its own queue, else steals the oldest process of another queue, else
 * sleeps: one idle scheduler in epoll_wait on the sockets (sock.h), the
 * others on the shared condition variable. `runnable` counts queued
 * processes, `sleepers` the threads on the condition variable and
 * `polling` the one in epoll_wait; all are seq_cst so that a
 * pusher either sees an idle scheduler (and signals or pokes it) or the
 * idle one sees the new work before waiting: no lost wake-ups.
 *
 * Deterministic mode: one scheduler thread, one queue, and the next
 * process is picked at a position drawn from a seeded xorshift PRNG.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "obs.h"

struct molt_proc;
struct molt_runtime;

typedef struct molt__runq {
	pthread_mutex_t mu;	/* guards head, tail, len, pops */
	struct molt_proc *head; /* next to run */
	struct molt_proc *tail; /* last queued */
	size_t len;		/* queued processes */
	size_t pops;		/* processes taken off, ever */
} molt__runq;

typedef struct molt__sched {
	struct molt_runtime *rt; /* owner */
	unsigned id;		 /* index */
	pthread_t thread;	 /* its thread */
	molt__runq q;		 /* its run queue */
	uint64_t rng;		 /* xorshift state (deterministic mode) */
	size_t kick_seen;	 /* q.pops at the last kick (timer thread) */
	atomic_uint_fast64_t dispatched; /* messages handled (own writes) */
	/* counters for molt_runtime_sched_stats: own writes, relaxed */
	unsigned sample_left;		   /* turns until the next timed one */
	unsigned poll_left;		   /* turns until a look at sockets */
	uint64_t srng;			   /* xorshift state for sampling */
	atomic_uint_fast64_t steals;	   /* processes taken from others */
	atomic_uint_fast64_t idle_ns;	   /* time asleep */
	atomic_uint_fast64_t asleep_since; /* molt__now_ns, 0 when awake */
	atomic_uint_fast64_t sampled;	   /* turns timed */
	molt__hist cb_hist;		   /* sampled callback durations */
} molt__sched;

typedef struct molt__scheds {
	molt__sched *s;		 /* n schedulers */
	unsigned n;		 /* count */
	atomic_uint rr;		 /* round robin for pushes from outside */
	atomic_long runnable;	 /* processes in all queues */
	atomic_int sleepers;	 /* threads waiting on idle_cv */
	atomic_int polling;	 /* a scheduler waits in epoll_wait (sock.h;
				    here, for the pushes' one load) */
	atomic_int stopping;	 /* set by molt__sched_stop */
	atomic_int kick_armed;	 /* a deferred wake-up is on the timer */
	pthread_mutex_t idle_mu; /* with idle_cv */
	pthread_cond_t idle_cv;	 /* idle schedulers wait here */
} molt__scheds;

int molt__sched_init(struct molt_runtime *rt);
int molt__sched_start(struct molt_runtime *rt);
/* Stop and join the threads (processes must be gone). */
void molt__sched_stop(struct molt_runtime *rt);
void molt__sched_release(struct molt_runtime *rt);
/* Queue p (status already QUEUED) on the caller's or a chosen queue. */
void molt__sched_push(struct molt_runtime *rt, struct molt_proc *p);
/* Wake every sleeping scheduler (the first socket was made: one of them
 * should wait in epoll_wait). */
void molt__sched_wake_all(struct molt_runtime *rt);
/* The scheduler this thread runs, or NULL. */
molt__sched *molt__sched_current(void);

#endif
