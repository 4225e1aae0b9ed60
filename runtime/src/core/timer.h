/* Timers: a binary min-heap on its own thread, cancellable by reference. */
#ifndef MOLT_RUNTIME_TIMER_H
#define MOLT_RUNTIME_TIMER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "molt/module.h"

struct molt_runtime;
struct molt__msg;

typedef void (*molt__timer_fn)(struct molt_runtime *rt, molt_ref ref,
			       void *payload);

typedef struct molt__timer {
	molt_ref ref;	       /* its reference (hash key) */
	uint64_t due;	       /* molt_now_ms deadline */
	molt_pid to;	       /* deliver msg to this pid ... */
	struct molt__msg *msg; /* ... (owned), or ... */
	molt__timer_fn fn;     /* ... call fn(payload) on the timer thread */
	void *payload;	       /* for fn */
	size_t idx;	       /* position in the heap */
	struct molt__timer *hnext;  /* hash chain by ref */
	struct molt__timer *onext;  /* chain by owner (to), msg timers only */
	struct molt__timer **oprev; /* what points at this one in that chain */
} molt__timer;

typedef struct molt__timers {
	pthread_mutex_t mu;    /* guards everything below */
	pthread_cond_t cv;     /* the thread waits here (CLOCK_MONOTONIC) */
	pthread_t thread;      /* the timer thread */
	int running, stop;     /* thread state */
	uint64_t wake_due;     /* when the thread will look next: its
				* timedwait deadline, UINT64_MAX while it
				* waits for any timer, 0 while awake */
	molt__timer **heap;    /* min-heap by due */
	size_t n, cap;	       /* heap size */
	molt__timer **buckets; /* hash by ref */
	molt__timer **owners;  /* hash by owner pid (doubly linked chains) */
	size_t nbuckets;       /* power of two, for both hashes */
} molt__timers;

int molt__timer_init(struct molt_runtime *rt);
int molt__timer_start(struct molt_runtime *rt);
void molt__timer_stop(struct molt_runtime *rt);
void molt__timer_release(struct molt_runtime *rt);
/* After ms, deliver msg (takes it) to pid as an ordinary message. */
int molt__timer_add_msg(struct molt_runtime *rt, molt_ref ref, uint32_t ms,
			molt_pid to, struct molt__msg *msg);
/* After ms, call fn on the timer thread. */
int molt__timer_add_fn(struct molt_runtime *rt, molt_ref ref, uint32_t ms,
		       molt__timer_fn fn, void *payload);
/* Cancel every pending timer that would deliver to pid (its process
 * exits); O(its timers). */
void molt__timer_cancel_owner(struct molt_runtime *rt, molt_pid pid);
/* Timers armed and not yet fired or cancelled. */
size_t molt__timer_count(struct molt_runtime *rt);
/* Remove a pending timer: MOLT_OK, or MOLT_ENOTFOUND if fired/unknown. */
int molt__timer_cancel(struct molt_runtime *rt, molt_ref ref);

#endif
