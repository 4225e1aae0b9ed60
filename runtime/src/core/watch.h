/* The callback watchdog: what each scheduler runs, long and hung callbacks,
 * the crash report. */
#ifndef MOLT_RUNTIME_WATCH_H
#define MOLT_RUNTIME_WATCH_H

/*
 * Each scheduler thread publishes in its own slot which callback it runs:
 * the process, a callback id and the message kind, then bumps `seq` (odd
 * while a callback runs, even between callbacks). These are relaxed
 * stores plus one release store, with no clock read and no locked
 * instruction: they cost the dispatch path a few plain moves.
 *
 * One watchdog thread samples every slot every WATCH_TICK_MS. A slot
 * whose odd seq has not changed since the watchdog first saw it runs the
 * same callback since then: past long_callback_ms it is logged once and
 * counted, past hung_callback_s the node writes a crash report and exits
 * with MOLT_EXIT_HUNG. Durations are therefore accurate to one tick.
 *
 * The watchdog never follows a slot's process pointer without the
 * process's lock (molt__proc_info): the slot is only a hint, the process
 * table says whether that process still runs that version. The crash
 * handler runs on the crashing thread itself, whose process and version
 * cannot go away under it.
 *
 * The upgrade engine's worker threads (and the thread that runs an
 * evaluation, which works too) take one of MOLT__WATCH_WORKERS more slots
 * while they run code_change, so a long or hung code_change is seen like
 * a long callback. Their ids have MOLT__WATCH_WORKER set. Other threads
 * (the main thread booting) share one slot nobody reads, so the dispatch
 * path needs no test for "is there a slot".
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "molt/runtime.h"

struct molt_proc;
struct molt_runtime;

/* Which callback a slot runs (with the message kind for MOLT__CB_MSG). */
enum molt__cb {
	MOLT__CB_MSG = 1,	/* handle_call/_cast/_info, by message kind */
	MOLT__CB_INIT = 2,	/* init */
	MOLT__CB_TERMINATE = 3, /* terminate */
	MOLT__CB_FREE = 4,	/* free_state */
	MOLT__CB_SYSREQ = 5,	/* a system request: code_change,
				   format_state */
	MOLT__CB_CHANGE = 6,	/* code_change on an upgrade worker */
};

#define MOLT__WATCH_WORKERS 17		/* 16 workers + the evaluator */
#define MOLT__WATCH_WORKER  0x80000000u /* in a slot id: a worker's slot */

/* One scheduler's published callback. 128 bytes apart, so two
 * schedulers' slots never share a cache line. */
typedef struct molt__cbslot {
	_Atomic(struct molt_proc *) p; /* the process; valid while seq odd */
	atomic_uint what;	       /* enum molt__cb << 8 | message kind */
	atomic_uint seq; /* odd in a callback; release store orders p, what */
	atomic_uint seen_seq;	  /* watchdog: seq it first saw at seen_ms */
	_Atomic uint64_t seen_ms; /* watchdog: when (molt_now_ms) */
	unsigned id;		  /* scheduler index; UINT32_MAX: shared */
	unsigned logged_seq;	  /* watchdog only: the episode it logged */
	atomic_int taken;	  /* a worker slot in use */
	char pad[128 - 44];	  /* keep slots on their own lines */
} molt__cbslot;

typedef struct molt__watch {
	molt__cbslot *slots;	     /* one per scheduler */
	unsigned n;		     /* entries in slots */
	pthread_t thread;	     /* the watchdog, if running */
	int running;		     /* thread was started (owner's thread) */
	pthread_mutex_t mu;	     /* with cv: guards stop */
	pthread_cond_t cv;	     /* wakes the watchdog to stop */
	int stop;		     /* set under mu */
	atomic_uint_fast64_t n_long; /* callbacks that ran past the
					threshold */
} molt__watch;

/* This thread's slot (initial-exec TLS: one load, no call; the runtime
 * library is linked by its users, not dlopen()ed). */
extern _Thread_local molt__cbslot *molt__watch_slot
	__attribute__((tls_model("initial-exec")));

/* Allocate the slots (rt->opts filled in). MOLT_ENOMEM. */
int molt__watch_init(struct molt_runtime *rt);
/* Start the watchdog thread if long or hung callbacks are watched. */
int molt__watch_start(struct molt_runtime *rt);
/* Stop and join it (no-op if not running). */
void molt__watch_stop(struct molt_runtime *rt);
void molt__watch_release(struct molt_runtime *rt);
/* Scheduler thread id starts: take its slot and an alternate signal
 * stack (for a stack overflow's crash report). */
void molt__watch_thread_begin(struct molt_runtime *rt, unsigned id);
/* The thread ends: give both back. */
void molt__watch_thread_end(void);
/* An upgrade worker starts: take a free worker slot (if all are taken,
 * the thread stays unwatched). Returns the slot it had, for
 * molt__watch_worker_end. */
molt__cbslot *molt__watch_worker_begin(struct molt_runtime *rt);
void molt__watch_worker_end(molt__cbslot *prev);

/* The calling thread runs callback cb (with message kind) of p. Returns
 * its slot, for molt__watch_leave (saves reading the TLS again). */
static inline molt__cbslot *molt__watch_enter(struct molt_proc *p, unsigned cb,
					      unsigned kind)
{
	molt__cbslot *s = molt__watch_slot;
	unsigned seq = atomic_load_explicit(&s->seq, memory_order_relaxed);

	atomic_store_explicit(&s->p, p, memory_order_relaxed);
	atomic_store_explicit(&s->what, cb << 8 | kind, memory_order_relaxed);
	atomic_store_explicit(&s->seq, seq | 1u, memory_order_release);
	return s;
}

/* The callback returned (s: what molt__watch_enter returned). */
static inline void molt__watch_leave(molt__cbslot *s)
{
	unsigned seq = atomic_load_explicit(&s->seq, memory_order_relaxed);

	atomic_store_explicit(&s->seq, seq + 1, memory_order_release);
}

/* A callback that may run inside another one (init of a child spawned by
 * a supervisor's callback): enter, and later give the outer one back. */
typedef struct molt__cbsave {
	struct molt_proc *p; /* the outer callback's process */
	unsigned what;	     /* and what it ran */
	unsigned busy;	     /* 1 if there was an outer callback */
} molt__cbsave;

static inline void molt__watch_push(molt__cbsave *sv, struct molt_proc *p,
				    unsigned cb)
{
	molt__cbslot *s = molt__watch_slot;

	sv->busy = atomic_load_explicit(&s->seq, memory_order_relaxed) & 1u;
	sv->p = atomic_load_explicit(&s->p, memory_order_relaxed);
	sv->what = atomic_load_explicit(&s->what, memory_order_relaxed);
	if (sv->busy)
		molt__watch_leave(s);
	molt__watch_enter(p, cb, 0);
}

/* The outer callback resumes as a new episode (its time starts again). */
static inline void molt__watch_pop(const molt__cbsave *sv)
{
	molt__watch_leave(molt__watch_slot);
	if (sv->busy)
		molt__watch_enter(sv->p, sv->what >> 8, sv->what & 0xffu);
}

/* Callbacks that ran past long_callback_ms since the start. */
uint64_t molt__watch_long_count(struct molt_runtime *rt);
/* The name of callback what ("handle_call", ...). */
const char *molt__watch_cb_name(unsigned what);

#endif
