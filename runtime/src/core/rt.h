/* The runtime object every component shares, and its small primitives. */
#ifndef MOLT_RUNTIME_RT_H
#define MOLT_RUNTIME_RT_H

/*
 * Invariants:
 * - A pid is (generation << 32) | slot index. A slot's molt_proc is never
 *   freed while the runtime lives (type-stable memory), so a sender may
 *   lock any slot and compare p->pid with the pid it holds: a mismatch
 *   means the process is gone. Generations only grow; a slot whose
 *   generation would wrap is retired, so pids are never reused.
 * - Lock order: the module table's lock (code/), then a process lock,
 *   then a run queue lock; the external-call and timer locks are leaves.
 *   The registry lock is taken before a process lock (a registration
 *   checks that the process lives), never under one.
 * - Core calls no layer above it by name. What it needs from them (the
 *   current version of a module; moving a process off old code) it
 *   calls through rt->hooks, which node.c fills when it builds the
 *   runtime from its layers.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "molt/runtime.h"

#include "obs.h"
#include "sched.h"
#include "timer.h"
#include "trace.h"
#include "version.h"
#include "watch.h"

/* A tiny lock for per-process data: a few instructions are held under it.
 * It yields after spinning, for machines with fewer cores than threads. */
typedef atomic_int molt__spin;

void molt__spin_lock(molt__spin *l);
static inline void molt__spin_unlock(molt__spin *l)
{
	atomic_store_explicit(l, 0, memory_order_release);
}

#define MOLT__CHUNK_BITS 10
#define MOLT__CHUNK	 (1u << MOLT__CHUNK_BITS)
#define MOLT__MAX_CHUNKS 16384u /* 16M process slots */

struct molt_proc;
struct molt__ext;
struct molt__modtab;
struct molt__apps;
struct molt__socks;

/* What core asks of the layers above it (set by node.c). */
typedef struct molt__hooks {
	/* The current version of module name, referenced, or NULL. */
	molt__version *(*current)(struct molt_runtime *rt, const char *name);
	/* p (in its turn) runs a version that is no longer current: move
	 * it, or leave it where it is. Called before an ordinary message. */
	void (*on_old)(struct molt_runtime *rt, struct molt_proc *p);
} molt__hooks;

struct molt_runtime {
	molt_runtime_options opts; /* as given, defaults filled in */
	atomic_int started;	   /* threads running */
	atomic_int stopped;	   /* shutdown done */
	uint64_t start_ms;	   /* molt_now_ms at start */

	/* process table: chunks of slots, a free list of slot indices */
	pthread_mutex_t tbl_mu; /* guards hw, free_head */
	_Atomic(struct molt_proc *) chunks[MOLT__MAX_CHUNKS]; /* slots */
	atomic_uint hw;		       /* slots ever used (high water) */
	uint32_t free_head;	       /* first free slot + 1, or 0 */
	atomic_size_t live;	       /* live processes */
	pthread_cond_t live_cv;	       /* signalled when live drops to 0 */
	atomic_uint_fast64_t spawned;  /* total spawned */
	atomic_uint_fast64_t next_ref; /* reference counter */

	molt__hooks hooks;	     /* the layers above (node.c) */
	struct molt__modtab *modtab; /* the module table (code/) */
	/* the application controller (rel/): NULL until a release boots;
	 * set once (release store, acquire loads), freed with rt */
	_Atomic(struct molt__apps *) apps;
	struct molt__socks *socks; /* TCP sockets and their poller (sock.c) */
	molt__scheds sched;	   /* schedulers and run queues */
	molt__timers timers;	   /* the timer thread */
	molt__watch watch;	   /* the callback watchdog */
	molt__obs obs;		   /* histograms, upgrade counters, events */
	molt__trace trace;	   /* molt trace */

	/* registry of names: a list, under reg_mu */
	pthread_mutex_t reg_mu;	  /* guards reg */
	struct molt__regent *reg; /* name -> pid */

	/* outside callers waiting for replies or exits, under ext_mu */
	pthread_mutex_t ext_mu;	   /* guards ext, exit_waiters */
	struct molt__ext **ext;	   /* pending calls from outside, hashed by
				    * ref (chains), ext_cap slots (2^k) */
	struct molt__ext **ext_to; /* the same calls hashed by callee pid
				    * (doubly linked chains), ext_cap slots */
	size_t ext_cap;		   /* slots in ext and ext_to (0: none yet) */
	atomic_int n_ext;	   /* entries in ext (fast check at exit) */
	pthread_cond_t exit_cv;	   /* broadcast when a watched pid exits */
	struct molt__exitw *exit_waiters; /* molt_runtime_wait callers */
	atomic_int n_exitw;		  /* entries in exit_waiters */
};

typedef struct molt__regent {
	struct molt__regent *next; /* list link */
	molt_pid pid;		   /* the registered process */
	char name[];		   /* its name */
} molt__regent;

/*
 * The runtime's core alone (node.c adds the layers above): as
 * molt_runtime_new, without a module table or hooks. molt__rt_free
 * shuts the runtime down if needed and frees the core.
 */
int molt__rt_new(molt_runtime **out, const molt_runtime_options *opts,
		 molt_err *err);
void molt__rt_free(molt_runtime *rt);
/* molt_runtime_get_stats without the module count. */
void molt__rt_get_stats(molt_runtime *rt, molt_runtime_stats *out);

/* Initialise cv to time its waits on CLOCK_MONOTONIC. */
void molt__cond_init_mono(pthread_cond_t *cv);
/* *ts = now on clock clk + ms (for pthread_cond_timedwait). */
void molt__deadline(struct timespec *ts, clockid_t clk, uint32_t ms);

/* A fresh reference; with_timer sets bit 0 (a call with a deadline). */
molt_ref molt__rt_ref(molt_runtime *rt, int with_timer);

#endif
