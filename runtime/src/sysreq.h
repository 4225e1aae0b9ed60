/* System requests: suspend, resume, change_code, commit, revert,
 * get_state, run by a process's scheduler between two callbacks. */
#ifndef MOLT_RUNTIME_SYSREQ_H
#define MOLT_RUNTIME_SYSREQ_H

#include "mailbox.h"
#include "proc.h"

/*
 * A request is shared by the waiting caller and the scheduler (refs 2);
 * its mutex guards started/done/cancelled and the results. A caller that
 * times out before the request started cancels it, so a late suspend
 * never happens; once started it runs to the end.
 */
typedef struct molt__sysreq {
	atomic_int refs;    /* caller + queue */
	int op;		    /* enum molt__sysop */
	pthread_mutex_t mu; /* guards everything below */
	pthread_cond_t cv;  /* signalled at done */
	int started, done;  /* progress */
	int cancelled;	    /* the caller gave up before start */
	int rc;		    /* result */
	molt_err err;	    /* result message */
	int chg_down;	    /* change_code: down? */
	char *chg_vsn;	    /* change_code: other vsn (owned) */
	char *extra;	    /* change_code: Extra JSON (owned) */
	char *text;	    /* get_state result (owned until taken) */
} molt__sysreq;

/* Run the request carried by m (a MOLT__SIG_SYS message) on p. */
void molt__sysreq_run(molt_runtime *rt, molt_proc *p, molt__msg *m);
/* The process died before running it: complete it with MOLT_ENOTFOUND. */
void molt__sysreq_abandon(molt__msg *m);

#endif
