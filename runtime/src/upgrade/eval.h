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

#include <cjson/cJSON.h>

#include "molt/common.h"
#include "molt/runtime.h"

#include "code/modtab.h"
#include "upgrade.h"

/*
 * The control op "eval" (ctl_eval.c): req {"op":"eval","script":[...],
 * "dry_run":bool,"lib_dir":"...","path":["dir",...],"suspend_timeout":ms}
 * fills reply with the report (docs/upgrades.md). Returns MOLT_OK or the
 * evaluation's error, whose message names instruction, module and pid
 * (ctl.c answers an error with that message only).
 */
int molt__ctl_eval(molt_runtime *rt, const cJSON *req, cJSON *reply,
		   molt_err *err);

/* --- shared by eval.c and eval_check.c --- */

#define DEFAULT_TIMEOUT_MS 5000u
#define NO_DEADLINE	   UINT64_MAX

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
	cJSON *doc;		    /* the script */
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
/* Instruction i of the script (borrowed from ev->doc). */
const cJSON *molt__eval_ins_at(eval *ev, size_t i);
/* The instruction's name; *args the element after it (NULL if none). */
const char *molt__eval_ins_name(const cJSON *ins, const cJSON **args);
staged *molt__eval_staged(eval *ev, const char *name);
smod *molt__eval_smod(eval *ev, const char *name);
/* Mod or [Mod, Timeout]: 1 and the name and timeout (ns), or 0. */
int molt__eval_suspend_item(const cJSON *it, const char **name,
			    uint64_t *tmo_ns, uint32_t dflt_ms);
uint32_t molt__eval_suspend_ms(eval *ev);
/* The [[Mod, Extra], ...] list of a code_change; *down its mode. */
const cJSON *molt__eval_cc_list(const cJSON *a, int *down);
const molt_export *molt__eval_export(const molt__version *v, const char *fn);
/* Phase 1: check every instruction, stage load_object_code. */
int molt__eval_check(eval *ev);

/* stop [Mod] and start [Mod] (eval_stop.c): every supervisor with
 * children running Mod terminates them (stop_module) or starts again
 * the ones it terminated (start_module). Journaled in ev->sj: rollback
 * restarts them on the restored code, commit forgets them. */
int molt__eval_stop(eval *ev, size_t i, const cJSON *a);
int molt__eval_start(eval *ev, size_t i, const cJSON *a);
void molt__eval_stops_rollback(eval *ev);
void molt__eval_stops_commit(eval *ev);
/* Dry run: how many supervised processes a stop [mod] would terminate. */
size_t molt__eval_stop_plan(eval *ev, const char *mod);

#endif
