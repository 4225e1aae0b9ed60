/* System requests: suspend, resume, change_code, commit, revert,
 * get_state, run by a process's scheduler between two callbacks. */
#ifndef MOLT_RUNTIME_SYSREQ_H
#define MOLT_RUNTIME_SYSREQ_H

#include <pthread.h>
#include <stdatomic.h>

#include "core/mailbox.h"
#include "core/proc.h"

/*
 * Requests travel in batches (one request is a batch of one). The waiter
 * allocates the batch with its n requests in one block; each request's
 * message holds a pointer to it. refs: the waiter + every queued message;
 * the block is freed by the last. A request's state moves QUEUED ->
 * STARTED -> DONE on the scheduler, or QUEUED -> CANCELLED by a waiter
 * whose deadline passed (compare-and-swap decides, so a late suspend never
 * happens; a started request runs to the end). `remaining` counts requests
 * neither done nor cancelled; the waiter sleeps on cv until it is 0, and
 * only the request that makes it 0 takes the mutex.
 */
enum { MOLT__RQ_QUEUED, MOLT__RQ_STARTED, MOLT__RQ_DONE, MOLT__RQ_CANCELLED };

struct molt__batch;

/* The operations of molt_runtime_suspend ... molt_runtime_get_state. */
enum molt__sysop {
	MOLT__SYS_SUSPEND = 1,
	MOLT__SYS_RESUME = 2,
	MOLT__SYS_CHANGE = 3,
	MOLT__SYS_COMMIT = 4,
	MOLT__SYS_REVERT = 5,
	MOLT__SYS_STATE = 6,
};

typedef struct molt__sysreq {
	molt__sysfn fn;	       /* how core runs it (proc.h) */
	struct molt__batch *b; /* its batch */
	atomic_int state;      /* MOLT__RQ_* */
	int rc;		       /* result, valid at DONE */
	char *msg;	       /* failure message (owned), or NULL */
	char *text;	       /* get_state result (owned until taken) */
} molt__sysreq;

typedef struct molt__batch {
	atomic_size_t refs;	 /* waiter + queued messages */
	atomic_size_t remaining; /* requests not done nor cancelled */
	pthread_mutex_t mu;	 /* with cv */
	pthread_cond_t cv;	 /* signalled when remaining reaches 0 */
	int op;			 /* enum molt__sysop */
	int chg_down;		 /* change_code: down? */
	char *chg_vsn;		 /* change_code: the other vsn (owned) */
	char *extra;		 /* change_code: Extra as JSON (owned) */
	size_t n;		 /* requests */
	molt__sysreq reqs[];	 /* one per process */
} molt__batch;

/* Run op on pid and wait up to timeout_ms for it (see runtime.h). */
int molt__sysreq_call(molt_runtime *rt, molt_pid pid, int op,
		      const molt_vsn_change *chg, const char *extra,
		      char **text_out, uint32_t timeout_ms, molt_err *err);

#endif
