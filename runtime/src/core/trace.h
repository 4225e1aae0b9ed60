/* molt trace: messages and callbacks of one process or module, with a
 * limit after which tracing stops by itself. */
#ifndef MOLT_RUNTIME_TRACE_H
#define MOLT_RUNTIME_TRACE_H

/*
 * Off, tracing costs the dispatch path nothing: a traced process's
 * version carries MOLT__V_TRACED in the word the upgrade check already
 * tests (version.h), so only processes on a traced version take the slow
 * path, where a target's callback runs between a receive, an enter and a
 * leave line, with ctx->traced set so that what it sends is traced too
 * (one test of a word of the callback's own context in the send calls).
 *
 * Lines go to a ring of MOLT__TRACE_LINES under mu; a reader polls with
 * the seq it has. A trace stops when it has written `limit` lines, when
 * more than `rate` come within one second, at its deadline, or when
 * asked: the flags are cleared and a last line says why.
 */

#include <pthread.h>
#include <stdint.h>

#include "molt/runtime.h"

#define MOLT__TRACE_LINES 4096
#define MOLT__TRACE_LINE  256

struct molt_proc;
struct molt_runtime;
struct molt__msg;
struct molt__version;

typedef struct molt__trace {
	pthread_mutex_t mu;		 /* guards everything below */
	int on;				 /* a trace runs */
	molt_pid pid;			 /* its target process, or 0 */
	char module[64];		 /* or its target module, or "" */
	uint64_t limit, rate;		 /* stop after / above per second */
	uint64_t deadline_ms;		 /* stop then (molt_now_ms) */
	uint64_t n;			 /* lines written by this trace */
	uint64_t win_ms, win_n;		 /* the rate window and its lines */
	struct molt__version **vers;	 /* versions flagged (referenced) */
	size_t n_vers, cap_vers;	 /* entries, slots */
	char (*lines)[MOLT__TRACE_LINE]; /* the ring */
	uint64_t seq;			 /* lines ever written */
	char why[96];			 /* why the last trace stopped */
} molt__trace;

int molt__trace_init(struct molt_runtime *rt);
void molt__trace_release(struct molt_runtime *rt);
/* p (on a traced version) is about to handle m: if p is a target, write
 * its receive and enter lines and return 1 (the caller then dispatches m
 * as traced and calls molt__trace_end on the same thread); else 0. */
int molt__trace_begin(struct molt_runtime *rt, struct molt_proc *p,
		      const struct molt__msg *m);
/* The callback returned: its leave line. */
void molt__trace_end(struct molt_runtime *rt, struct molt_proc *p);
/* Traced p sends kind to `to` (data, len): its send line. */
void molt__trace_send(struct molt_runtime *rt, struct molt_proc *p, molt_pid to,
		      int kind, const void *data, size_t len);

#endif
