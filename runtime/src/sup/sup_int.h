/* The supervisor's state and its spec, shared by sup.c (running) and
 * spec.c (parsing the JSON spec). Internal to sup/. */
#ifndef MOLT_RUNTIME_SUP_INT_H
#define MOLT_RUNTIME_SUP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "molt/common.h"
#include "molt/module.h"

enum { ONE_FOR_ONE, ONE_FOR_ALL, REST_FOR_ONE, SIMPLE_ONE_FOR_ONE };
enum { PERMANENT, TRANSIENT, TEMPORARY };
enum { THEN_RECONCILE, THEN_STOP };

#define BRUTAL	 (-1)
#define INFINITE 0

typedef struct child {
	char *id;	 /* child id */
	char *module;	 /* callback module ("supervisor" for a subtree) */
	char *args;	 /* spawn args (owned) */
	size_t args_len; /* their length */
	char *name;	 /* name to register, or NULL */
	int restart;	 /* PERMANENT, TRANSIENT, TEMPORARY */
	int shutdown;	 /* ms, BRUTAL or INFINITE */
	molt_pid pid;	 /* running process or 0 */
	int want;	 /* should be running */
	int stopped;	 /* terminated by a stop request, for start */
	int gone;	 /* not in the spec any more: removed once it has
			    exited (an update request) */
} child;

/* A slot of the children's index by pid (pid 0: empty). */
typedef struct pslot {
	molt_pid pid; /* a running child */
	size_t i;     /* its position in kids */
} pslot;

typedef struct supreq supreq;

typedef struct sup {
	int strategy;	       /* ONE_FOR_ONE ... */
	int intensity;	       /* max restarts ... */
	uint64_t period_ms;    /* ... within this period */
	char *name;	       /* registered name of the supervisor */
	child *kids;	       /* children in start order (simple_one_for_one:
				* any order) */
	size_t n, cap;	       /* used, allocated */
	pslot *pidx;	       /* running children by pid: open addressing,
				* linear probing, at most half full */
	size_t pidx_cap;       /* slots (2^k), 0 before the first child */
	size_t pidx_n;	       /* used slots */
	int pidx_off;	       /* out of memory once: find by a scan */
	child tmpl;	       /* simple_one_for_one template */
	uint64_t *times;       /* recent restart times (intensity slots) */
	size_t ntimes;	       /* used */
	size_t *seq;	       /* children to terminate, in order */
	size_t seq_n, seq_i;   /* length, next */
	int seq_active;	       /* a termination sequence runs */
	int seq_then;	       /* THEN_RECONCILE or THEN_STOP */
	molt_pid seq_pid;      /* the child being terminated */
	molt_ref seq_timer;    /* its kill timer, or 0 */
	supreq *seq_req;       /* stop request to complete when the sequence
				* ends, or NULL (one of its references) */
	size_t seq_count;      /* children that sequence stops */
	int seq_update;	       /* seq_req is an update: at the end, drop the
				* gone children and start the new ones */
	char stop_reason[128]; /* exit reason after THEN_STOP */
} sup;

extern const char *const molt__sup_strategies[4]; /* by ONE_FOR_ONE ... */
extern const char *const molt__sup_restarts[3];	  /* by PERMANENT ... */

/* Free what c owns and zero it. */
void molt__sup_child_clear(child *c);
/* Free s (NULL is a no-op); a pending stop request fails. */
void molt__sup_free(sup *s);
/* Parse a supervisor spec (runtime.h) into a new state (owned:
 * molt__sup_free). MOLT_EPARSE, MOLT_EINVAL or MOLT_ENOMEM with err
 * naming the field. */
int molt__sup_spec_parse(sup **out, const char *text, size_t len,
			 molt_err *err);

#endif
