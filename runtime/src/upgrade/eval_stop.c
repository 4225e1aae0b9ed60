/* The evaluator's stop [Mod] and start [Mod]: the supervisors of Mod's
 * processes terminate and restart them; undone on rollback. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "molt/common.h"
#include "molt/log.h"

#include "core/proc.h"
#include "core/rt.h"
#include "eval.h"
#include "sup/sup.h"

#include "molt/banned.h"

/* A stop waits for the children's shutdown timeouts (5 s each by
 * default); this bounds one request. */
#define SUP_REQ_MS 30000u

/* The parent of pid if it is a supervisor, else 0. */
static molt_pid sup_of(molt_runtime *rt, molt_pid pid)
{
	molt_proc *p = molt__proc_slot(rt, pid);
	molt_proc_info pi;
	molt_pid parent = 0;

	if (!p)
		return 0;
	molt__spin_lock(&p->lock);
	if (p->pid == pid)
		parent = p->parent;
	molt__spin_unlock(&p->lock);
	if (!parent || molt_runtime_process_info(rt, parent, &pi) < 0 ||
	    strcmp(pi.module, "supervisor") != 0)
		return 0;
	return parent;
}

static int journal_add(eval *ev, molt_pid sup, const char *mod)
{
	for (size_t k = 0; k < ev->n_sj; k++)
		if (ev->sj[k].sup == sup && strcmp(ev->sj[k].name, mod) == 0)
			return MOLT_OK;
	if (ev->n_sj == ev->cap_sj) {
		size_t cap = ev->cap_sj ? 2 * ev->cap_sj : 8;
		stopj *j = molt_realloc(ev->sj, cap * sizeof(*j));

		if (!j)
			return MOLT_ENOMEM;
		ev->sj = j;
		ev->cap_sj = cap;
	}
	ev->sj[ev->n_sj] = (stopj){sup, "", 0};
	snprintf(ev->sj[ev->n_sj++].name, 64, "%s", mod);
	return MOLT_OK;
}

/* Supervisors with children running mod, found from the process table
 * (plain processes of mod have nobody to restart them: left alone, as
 * OTP's release_handler does). Owned, *n entries. */
static molt_pid *sups_of(eval *ev, const char *mod, size_t *n)
{
	size_t np = molt_runtime_module_pids(ev->rt, mod, MOLT_PIDS_ANY, NULL,
					     0),
	       k = 0;
	molt_pid *pids = molt_calloc(np + 1, sizeof(*pids));

	*n = 0;
	if (!pids)
		return NULL;
	np = molt_runtime_module_pids(ev->rt, mod, MOLT_PIDS_ANY, pids, np);
	for (size_t i = 0; i < np; i++) {
		molt_pid s = sup_of(ev->rt, pids[i]);
		size_t j;

		for (j = 0; j < k && pids[j] != s; j++)
			;
		if (s && j == k)
			pids[k++] = s; /* k <= i: overwrites only read pids */
	}
	*n = k;
	return pids;
}

static int stop_one(eval *ev, size_t i, const char *mod)
{
	molt_err e = MOLT_ERR_INIT;
	size_t n, stopped;
	molt_pid *sups = sups_of(ev, mod, &n);
	int rc = MOLT_OK;

	if (!sups)
		return molt__eval_err(ev, i, mod, 0, MOLT_ENOMEM,
				      "out of memory");
	for (size_t k = 0; k < n && rc == MOLT_OK; k++) {
		if (journal_add(ev, sups[k], mod) < 0) {
			rc = molt__eval_err(ev, i, mod, sups[k], MOLT_ENOMEM,
					    "out of memory");
			break;
		}
		stopped = 0;
		rc = molt__sup_stop_module(ev->rt, sups[k], mod, SUP_REQ_MS,
					   &stopped, &e);
		if (rc < 0)
			rc = molt__eval_err(ev, i, mod, sups[k], rc, "%s",
					    e.msg);
		ev->rep->steps[i].procs += stopped;
	}
	molt_free(sups);
	return rc;
}

size_t molt__eval_stop_plan(eval *ev, const char *mod)
{
	size_t np = molt_runtime_module_pids(ev->rt, mod, MOLT_PIDS_ANY, NULL,
					     0),
	       n = 0;
	molt_pid *pids = molt_calloc(np + 1, sizeof(*pids));

	if (!pids)
		return 0; /* a plan is advice */
	np = molt_runtime_module_pids(ev->rt, mod, MOLT_PIDS_ANY, pids, np);
	for (size_t i = 0; i < np; i++)
		n += sup_of(ev->rt, pids[i]) != 0;
	molt_free(pids);
	return n;
}

int molt__eval_stop(eval *ev, size_t i, const molt_ins *in)
{
	int rc;

	for (size_t m = 0; m < in->n_mods; m++)
		if ((rc = stop_one(ev, i, in->mods[m].name)) < 0)
			return rc;
	return MOLT_OK;
}

int molt__eval_start(eval *ev, size_t i, const molt_ins *in)
{
	molt_err e = MOLT_ERR_INIT;
	size_t n;
	int rc;

	for (size_t m = 0; m < in->n_mods; m++) {
		for (size_t k = 0; k < ev->n_sj; k++) {
			stopj *j = &ev->sj[k];

			if (j->started ||
			    strcmp(j->name, in->mods[m].name) != 0)
				continue;
			j->started = 1;
			n = 0;
			rc = molt__sup_start_module(ev->rt, j->sup, j->name,
						    SUP_REQ_MS, &n, &e);
			if (rc < 0)
				return molt__eval_err(ev, i, j->name, j->sup,
						      rc, "%s", e.msg);
			ev->rep->steps[i].procs += n;
		}
	}
	return MOLT_OK;
}

/* Rollback (after the slots are restored): children the script stopped
 * run again, on the restored code; those it started on the new code are
 * stopped and started again on the old. Best effort: a failure is
 * logged. */
void molt__eval_stops_rollback(eval *ev)
{
	molt_err e = MOLT_ERR_INIT;

	for (size_t k = 0; k < ev->n_sj; k++) {
		stopj *j = &ev->sj[k];

		if ((j->started &&
		     molt__sup_stop_module(ev->rt, j->sup, j->name, SUP_REQ_MS,
					   NULL, &e) < 0) ||
		    molt__sup_start_module(ev->rt, j->sup, j->name, SUP_REQ_MS,
					   NULL, &e) < 0)
			molt_log(MOLT_LOG_ERROR, "eval",
				 "rollback: restarting '%s' children: %s",
				 j->name, e.msg);
	}
	ev->n_sj = 0;
}

/* Commit: children stopped and never started stay terminated. */
void molt__eval_stops_commit(eval *ev)
{
	molt_err e = MOLT_ERR_INIT;

	for (size_t k = 0; k < ev->n_sj; k++)
		if (molt__sup_forget_stopped(ev->rt, ev->sj[k].sup,
					     ev->sj[k].name, SUP_REQ_MS,
					     &e) < 0)
			molt_log(MOLT_LOG_WARN, "eval", "%s", e.msg);
	ev->n_sj = 0;
}
