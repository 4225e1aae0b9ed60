/* The upgrade engine's per-process steps: find, suspend, code_change,
 * commit, revert, resume, run in parallel by worker threads. */
#ifndef MOLT_RUNTIME_UPGRADE_H
#define MOLT_RUNTIME_UPGRADE_H

/*
 * The set of processes an evaluation holds. Each entry names a slot and
 * the pid it held when found; a mismatch later means the process exited
 * (it then counts as done, never as a failure).
 *
 * Ownership of a process without a scheduler: a worker "claims" an IDLE
 * process by setting its status to RUNNING under its lock, exactly as a
 * scheduler does before a turn; deliveries then only append, and the
 * worker lets go the way a scheduler does (queue it again if work
 * arrived). Suspension needs no claim: for a process that is not in a
 * turn the SUSPENDED flag is set under its lock and the process is held
 * at once; the few that are in a turn (at most one per scheduler) get a
 * suspend system request, run by their scheduler after the callback. So
 * suspend and resume cost one lock each, and code_change runs on the
 * worker threads, not through a request per process.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "molt/common.h"
#include "molt/module.h"

#include "code/modtab.h"
#include "core/proc.h"

#define MOLT__UE_PENDING 0x01u /* was in a callback: see hold_running */
#define MOLT__UE_HELD	 0x02u /* suspended, no callback running */
#define MOLT__UE_CHANGED 0x04u /* code_change done, not committed */
#define MOLT__UE_DEAD	 0x08u /* exited meanwhile: done */
#define MOLT__UE_FOREIGN 0x10u /* was already suspended: not ours */

typedef struct molt__uent {
	molt_proc *p;	 /* its slot */
	molt_pid pid;	 /* the process, when found */
	uint64_t t_susp; /* monotonic ns when it was held */
	uint64_t pause;	 /* ns from held to resumed (0 if never) */
	uint32_t set;	 /* the suspend set (module) it belongs to */
	uint32_t st;	 /* MOLT__UE_* */
} molt__uent;

typedef struct molt__uset {
	molt__uent *e; /* entries */
	size_t n, cap; /* used, allocated */
} molt__uset;

/* The first failure of a parallel step. */
typedef struct molt__ufail {
	pthread_mutex_t mu; /* guards the fields below */
	atomic_int failed;  /* set once; workers stop early */
	int code;	    /* its status */
	molt_pid pid;	    /* the process it failed on, or 0 */
	char msg[256];	    /* one line */
} molt__ufail;

typedef struct molt__uctx {
	molt_runtime *rt; /* the runtime */
	molt__uset *set;  /* the processes */
	unsigned workers; /* threads per step (1: the caller only) */
	molt__ufail fail; /* first failure */
} molt__uctx;

uint64_t molt__upg_now_ns(void);

/* The module named name in the table (pointer stable), or NULL. */
molt__module *molt__upg_module(molt_runtime *rt, const char *name);

/*
 * Add to set every live process whose callback module is m (either
 * version), with set id sid. only_new: skip processes already suspended
 * (used to catch processes spawned since the first scan). *added gets the
 * number added. MOLT_ENOMEM (set unchanged beyond what fit).
 */
int molt__upg_collect(molt_runtime *rt, molt__uset *set, molt__module *m,
		      uint32_t sid, int only_new, size_t *added);
/* The same for nm modules ms[k] with set ids sids[k], in one scan of the
 * process table (a suspend or code_change of many modules scans once). */
int molt__upg_collect_many(molt_runtime *rt, molt__uset *set,
			   molt__module *const *ms, const uint32_t *sids,
			   size_t nm, int only_new, size_t *added);
void molt__upg_set_release(molt__uset *set);

/*
 * Suspend entries [from, n). Each is held at once unless a callback runs;
 * those are waited for until deadline[e->set] (monotonic ns). MOLT_ETIMEOUT
 * with u->fail naming the first process still running.
 */
int molt__upg_suspend(molt__uctx *u, size_t from, const uint64_t *deadline,
		      const char *const *set_names);

/*
 * code_change every held entry of set sid to nv (borrowed): up from the
 * vsn each runs, or down to down_vsn. extra is the Extra JSON. Stops at
 * the first failure (MOLT_ERROR, u->fail names module, vsn and pid), or
 * MOLT_ETIMEOUT for a process not reachable before deadline.
 */
int molt__upg_change(molt__uctx *u, uint32_t sid, molt__version *nv, int down,
		     const char *down_vsn, const char *extra,
		     uint64_t deadline);

/* Put every changed entry back on its old version and state (the new
 * state freed by the new version), then resume ours. Cannot fail. */
void molt__upg_rollback(molt__uctx *u);
/*
 * After a rollback restored the module slots: every process still on one
 * of gone[0..n) (versions the rollback took out of the table: a process
 * the script did not hold that moved onto the new code by itself at its
 * next message, or was spawned on it) is put back on its module's
 * current version by the lazy rule (molt__upg_move_current). Never
 * waits: a process in a callback is moved by its own scheduler when the
 * callback returns, before any other message. Only a process whose state
 * cannot be converted is killed, so that none is left on code the table
 * no longer has with a state the current code cannot read; its
 * supervisor restarts it. Cannot fail.
 */
void molt__upg_reclaim(molt_runtime *rt, molt__version *const *gone, size_t n);
/*
 * The lazy rule: p (in its turn, or claimed) moves from its version to its
 * module's current one. Same state layout (state_vsn): the state moves as
 * it is. Otherwise the newer of the two versions converts it, as a
 * suspend / code_change / resume would: the current version's
 * code_change {up, Vsn} when its layout is higher, the version p leaves
 * {down, <current vsn>} when lower. 0, or -1 if it cannot (no current
 * version, no code_change, or it failed): p stays where it is.
 */
int molt__upg_move_current(molt_runtime *rt, molt_proc *p);
/* The dispatch path's hook (rt->hooks.on_old): molt__upg_move_current,
 * and when the state cannot be converted, a warning and the process
 * stays on its version until the next purge or change. */
void molt__upg_on_old(molt_runtime *rt, molt_proc *p);
/* Free every changed entry's old state with its old version, move it to
 * current if its version became old, and resume ours. Cannot fail. */
void molt__upg_commit(molt__uctx *u);

#endif
