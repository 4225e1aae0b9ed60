/* The script evaluator (release handler core) and its control op. */
#ifndef MOLT_RUNTIME_EVAL_H
#define MOLT_RUNTIME_EVAL_H

/*
 * molt_runtime_eval (runtime.h) runs a low-level script in three phases:
 *
 * 1. check: parse every instruction, dlopen and verify every module of
 *    load_object_code, check PrePurge soft_purge, that each load has its
 *    object code, each code_change a suspend, each apply an export. A
 *    failure here changes nothing.
 * 2. run: instructions before point_of_no_return (apply), then after it,
 *    each recorded in a journal: the module slots it changed, the
 *    processes it suspended or changed, the supervisors it told to stop
 *    children. `resume`, `purge` and PostPurge
 *    take effect at commit, so that a later failure can still undo
 *    everything (a killed process cannot be brought back).
 * 3. commit (free old states, resume, purge) or roll back (restore the
 *    slots, revert every changed process, resume).
 *
 * One evaluation at a time per program (a static mutex).
 */

#include <stddef.h>
#include <stdint.h>

#include "molt/common.h"
#include "molt/runtime.h"
#include "molt/script.h"

#include "code/modtab.h"
#include "upgrade.h"

/* --- shared by eval.c and eval_check.c --- */

#define DEFAULT_TIMEOUT_MS 5000u
#define NO_DEADLINE	   UINT64_MAX
/* Applies of this module go to the release handler (o->app_apply). */
#define MOLT__APP_MODULE "application"

typedef struct staged {
	char name[64];	  /* module */
	molt__version *v; /* opened, not installed (one reference) */
} staged;

typedef struct jent {
	char name[64];		/* module whose slots changed */
	molt__version *pc, *po; /* its slots before (references) */
} jent;

typedef struct smod {
	char name[64];	 /* module suspended */
	molt__module *m; /* in the table, or NULL (no processes) */
	uint64_t tmo_ns; /* suspend timeout; NO_DEADLINE for infinity */
} smod;

typedef struct postp {
	char name[64]; /* module */
	int brutal;    /* PostPurge brutal_purge */
	int purge;     /* an explicit purge [M]: kill at commit */
} postp;

typedef struct stopj {
	molt_pid sup;  /* a supervisor that stopped children of name */
	char name[64]; /* their module */
	int started;   /* a start [name] restarted them */
} stopj;

typedef struct eval {
	molt_runtime *rt;	    /* the runtime */
	const molt_eval_options *o; /* options */
	molt_eval_report *rep;	    /* the report being filled */
	molt_err *err;		    /* the error */
	const molt_script *s;	    /* the script (borrowed) */
	size_t n;		    /* instructions */
	int ponr;		    /* index of point_of_no_return */
	staged *st;		    /* load_object_code results */
	size_t n_st, cap_st;	    /* used, allocated */
	jent *jr;		    /* slot journal */
	size_t n_jr;		    /* used (allocated: loads + removes) */
	molt__version **gone;	    /* rollback: 2 per jr entry (allocated) */
	smod *sm;		    /* suspend sets */
	size_t n_sm, cap_sm;	    /* used, allocated */
	const char **sm_names;	    /* set names for messages */
	uint64_t *sm_deadline;	    /* per set, monotonic ns */
	postp *pp;		    /* purges at commit */
	size_t n_pp;		    /* used (allocated: loads+removes+purges) */
	stopj *sj;		    /* supervisors told to stop children */
	size_t n_sj, cap_sj;	    /* used, allocated */
	molt__uset set;		    /* the processes held */
	molt__uctx u;		    /* per-process steps */
} eval;

/* Fail instruction i: err gets "instruction I (NAME): msg", the report
 * the index, name, module and pid. Returns code. */
MOLT_PRINTF(6, 7)
int molt__eval_err(eval *ev, size_t i, const char *module, molt_pid pid,
		   int code, const char *fmt, ...);
staged *molt__eval_staged(eval *ev, const char *name);
smod *molt__eval_smod(eval *ev, const char *name);
/* A suspended module's timeout in ns (NO_DEADLINE for infinity), its
 * default the options' suspend_timeout. */
uint64_t molt__eval_suspend_ns(eval *ev, const molt_ins_mod *m);
const molt_export *molt__eval_export(const molt__version *v, const char *fn);
/* Phase 1: check every instruction, stage load_object_code. */
int molt__eval_check(eval *ev);

/* stop [Mod] and start [Mod] (eval_stop.c): every supervisor with
 * children running Mod terminates them (stop_module) or starts again
 * the ones it terminated (start_module). Journaled in ev->sj: rollback
 * restarts them on the restored code, commit forgets them. */
int molt__eval_stop(eval *ev, size_t i, const molt_ins *in);
int molt__eval_start(eval *ev, size_t i, const molt_ins *in);
void molt__eval_stops_rollback(eval *ev);
void molt__eval_stops_commit(eval *ev);
/* Dry run: how many supervised processes a stop [mod] would terminate. */
size_t molt__eval_stop_plan(eval *ev, const char *mod);

#endif
