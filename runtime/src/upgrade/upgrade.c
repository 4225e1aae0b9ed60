/* Per-process upgrade steps, run in parallel: suspend, code_change,
 * commit, revert, resume. */
#include "upgrade.h"

#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "molt/common.h"
#include "molt/log.h"

#include "core/probes.h"
#include "core/rt.h"
#include "core/sched.h"
#include "core/watch.h"
#include "sysreq.h"

#include "molt/banned.h"

#define CHUNK 64 /* entries a worker takes at a time */

uint64_t molt__upg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

molt__module *molt__upg_module(molt_runtime *rt, const char *name)
{
	molt__modtab *tab = rt->modtab;
	molt__module *m = NULL;

	pthread_mutex_lock(&tab->mu);
	for (size_t i = 0; i < tab->n && !m; i++)
		if (strcmp(tab->mods[i]->name, name) == 0)
			m = tab->mods[i];
	pthread_mutex_unlock(&tab->mu);
	return m;
}

/* --- the set --- */

static int set_push(molt__uset *s, molt_proc *p, molt_pid pid, uint32_t sid)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		molt__uent *e = molt_realloc(s->e, cap * sizeof(*e));

		if (!e)
			return MOLT_ENOMEM;
		s->e = e;
		s->cap = cap;
	}
	s->e[s->n++] = (molt__uent){p, pid, 0, 0, sid, 0};
	return MOLT_OK;
}

/* The set id of m among ms[0..nm), or -1. */
static long sid_of(const molt__module *m, molt__module *const *ms,
		   const uint32_t *sids, size_t nm)
{
	for (size_t k = 0; k < nm; k++)
		if (ms[k] == m)
			return sids[k];
	return -1;
}

int molt__upg_collect_many(molt_runtime *rt, molt__uset *set,
			   molt__module *const *ms, const uint32_t *sids,
			   size_t nm, int only_new, size_t *added)
{
	uint32_t hw = atomic_load(&rt->hw);
	size_t n0 = set->n;
	int rc = MOLT_OK;

	for (uint32_t i = 0; i < hw && rc == MOLT_OK && nm; i++) {
		molt_proc *p = molt__proc_at(rt, i);
		molt_pid pid = 0;
		long sid = -1;

		if (!p)
			continue;
		molt__spin_lock(&p->lock);
		if (p->pid && p->ver &&
		    !(only_new && molt__pf_has(p, MOLT__PF_SUSPENDED)) &&
		    (sid = sid_of(p->ver->mod, ms, sids, nm)) >= 0)
			pid = p->pid;
		molt__spin_unlock(&p->lock);
		if (pid)
			rc = set_push(set, p, pid, (uint32_t)sid);
	}
	if (added)
		*added = set->n - n0;
	return rc;
}

int molt__upg_collect(molt_runtime *rt, molt__uset *set, molt__module *m,
		      uint32_t sid, int only_new, size_t *added)
{
	return molt__upg_collect_many(rt, set, &m, &sid, 1, only_new, added);
}

void molt__upg_set_release(molt__uset *set)
{
	molt_free(set->e);
	memset(set, 0, sizeof(*set));
}

/* --- failures --- */

MOLT_PRINTF(4, 5)
static void fail(molt__uctx *u, int code, molt_pid pid, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&u->fail.mu);
	if (!atomic_load(&u->fail.failed)) {
		u->fail.code = code;
		u->fail.pid = pid;
		va_start(ap, fmt);
		vsnprintf(u->fail.msg, sizeof(u->fail.msg), fmt, ap);
		va_end(ap);
		atomic_store(&u->fail.failed, 1);
	}
	pthread_mutex_unlock(&u->fail.mu);
}

/*
 * Each worker moves processes between the same two or three versions:
 * its counts go through a tally of its own (core/version.h: increments
 * reserved ahead, decrements applied at the end of its pass), so the
 * workers do not fight over a few cache lines, and no count is ever
 * lower than the truth while they run.
 */
static _Thread_local molt__vtally tally;

/* --- parallel for --- */

typedef struct job {
	molt__uctx *u;				/* the evaluation */
	void (*fn)(struct job *, molt__uent *); /* the step */
	atomic_size_t next;			/* next chunk start */
	size_t from;				/* first entry */
	int stop_on_fail;			/* skip the rest once failed */
	/* step arguments */
	uint32_t sid;	      /* code_change: the set */
	molt__version *nv;    /* code_change: the new version */
	int down;	      /* code_change: mode */
	const char *down_vsn; /* code_change: target vsn when down */
	const char *extra;    /* code_change: Extra JSON */
	uint64_t deadline;    /* code_change: monotonic ns */
} job;

static void move_cache_clear(void);

static void *work(void *arg)
{
	job *j = arg;
	molt__uset *s = j->u->set;
	molt__cbslot *prev = molt__watch_worker_begin(j->u->rt);
	size_t i;

	while ((i = atomic_fetch_add(&j->next, CHUNK)) < s->n) {
		for (size_t k = i; k < i + CHUNK && k < s->n; k++) {
			if (j->stop_on_fail && atomic_load(&j->u->fail.failed))
				goto out;
			j->fn(j, &s->e[k]);
		}
	}
out:
	move_cache_clear();
	molt__vtally_flush(&tally);
	molt__watch_worker_end(prev);
	return NULL;
}

/* Run j over entries [j->from, n) on u->workers threads (the caller is
 * one); threads that cannot start leave their share to the others. */
static void run(job *j)
{
	pthread_t th[16];
	unsigned w = j->u->workers, started = 0;
	size_t todo = j->u->set->n - j->from;

	atomic_init(&j->next, j->from);
	if (w > 16)
		w = 16;
	if (todo < 512)
		w = 1;
	for (unsigned i = 1; i < w; i++)
		if (pthread_create(&th[started], NULL, work, j) == 0)
			started++;
	work(j);
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);
}

/* --- holding a process without a scheduler --- */

/* 1: claimed (status RUNNING, ours); 0: busy; -1: exited. */
static int claim(molt_proc *p, molt_pid pid)
{
	int r;

	molt__spin_lock(&p->lock);
	if (p->pid != pid) {
		r = -1;
	} else if (p->status == MOLT__P_IDLE) {
		p->status = MOLT__P_RUNNING;
		r = 1;
	} else {
		r = 0;
	}
	molt__spin_unlock(&p->lock);
	return r;
}

/* Claim, waiting while a scheduler has it; until deadline (0: no limit).
 * Returns as claim; 0 only when the deadline passed. */
static int claim_wait(molt_proc *p, molt_pid pid, uint64_t deadline)
{
	int r;

	while ((r = claim(p, pid)) == 0) {
		if (deadline && molt__upg_now_ns() > deadline)
			return 0;
		sched_yield();
	}
	return r;
}

/* Let go as a scheduler does after a turn; resume clears SUSPENDED. */
static void unclaim(molt_runtime *rt, molt_proc *p, int resume)
{
	molt__proc_let_go(rt, p, resume);
}

/* Resume: clear the flag, wake the process if mail waits. The flags of a
 * process in the middle of a turn belong to its scheduler: wait for the
 * turn to end (held processes only handle signals, so it is short). */
static void resume(molt_runtime *rt, molt__uent *e)
{
	molt_proc *p = e->p;
	int wake = 0, running = 0;

	molt__spin_lock(&p->lock);
	if (p->pid == e->pid && p->status == MOLT__P_RUNNING) {
		running = 1;
	} else if (p->pid == e->pid) {
		molt__pf_clear(p, MOLT__PF_SUSPENDED);
		wake = p->status == MOLT__P_IDLE && (p->mbox.len || p->sig.len);
		if (wake)
			p->status = MOLT__P_QUEUED;
	}
	molt__spin_unlock(&p->lock);
	if (wake)
		molt__sched_push(rt, p);
	if (running && claim_wait(p, e->pid, 0) > 0)
		unclaim(rt, p, 1);
}

static void note_pause(molt__uent *e)
{
	if (e->t_susp)
		e->pause = molt__upg_now_ns() - e->t_susp;
	MOLT_PROBE2(resume, e->pid, e->pause);
}

/* --- suspend --- */

static void suspend_one(job *j, molt__uent *e)
{
	molt_proc *p = e->p;
	int busy = 0;

	(void)j;
	molt__spin_lock(&p->lock);
	if (p->pid != e->pid) {
		e->st |= MOLT__UE_DEAD;
	} else if (molt__pf_has(p, MOLT__PF_SUSPENDED)) {
		e->st |= MOLT__UE_FOREIGN | MOLT__UE_HELD;
		busy = -1;
	} else if (p->status == MOLT__P_RUNNING) {
		busy = 1; /* its scheduler suspends it: see hold_running */
	} else {
		molt__pf_set(p, MOLT__PF_SUSPENDED);
	}
	molt__spin_unlock(&p->lock);
	if (busy == 0 && !(e->st & MOLT__UE_DEAD)) {
		e->st |= MOLT__UE_HELD;
		e->t_susp = molt__upg_now_ns();
		MOLT_PROBE1(suspend, e->pid);
	} else if (busy == 1) {
		e->st |= MOLT__UE_PENDING;
	}
}

/*
 * A process that was in a callback is suspended by its own scheduler, as
 * a system request between two callbacks (the flags of a running process
 * belong to its scheduler). At most one process per scheduler can be
 * running at once, so these are few; they share the set's deadline.
 */
static int hold_running(molt__uctx *u, molt__uent *e, uint64_t deadline,
			const char *module)
{
	uint64_t now = molt__upg_now_ns();
	uint64_t ms = deadline > now ? (deadline - now) / 1000000u : 0;
	molt_err err = MOLT_ERR_INIT;
	char pb[32];
	int rc;

	rc = molt__sysreq_call(u->rt, e->pid, MOLT__SYS_SUSPEND, NULL, NULL,
			       NULL, ms > 86400000u ? 86400000u : (uint32_t)ms,
			       &err);
	e->st &= ~MOLT__UE_PENDING;
	if (rc == MOLT_ENOTFOUND) {
		e->st |= MOLT__UE_DEAD;
		return MOLT_OK;
	}
	if (rc == MOLT_OK) {
		e->st |= MOLT__UE_HELD;
		e->t_susp = molt__upg_now_ns();
		return MOLT_OK;
	}
	fail(u, rc, e->pid,
	     "suspend of process %s (module '%s') %s: a callback is still "
	     "running",
	     molt_pid_format(e->pid, pb, sizeof(pb)), module,
	     rc == MOLT_ETIMEOUT ? "timed out" : "failed");
	return rc;
}

int molt__upg_suspend(molt__uctx *u, size_t from, const uint64_t *deadline,
		      const char *const *set_names)
{
	job j = {.u = u, .fn = suspend_one, .from = from};
	molt__uset *s = u->set;
	int rc;

	run(&j);
	for (size_t i = from; i < s->n; i++) {
		molt__uent *e = &s->e[i];

		if (!(e->st & MOLT__UE_PENDING))
			continue;
		rc = hold_running(u, e, deadline[e->set], set_names[e->set]);
		if (rc < 0)
			return rc;
	}
	return MOLT_OK;
}

/* --- code_change --- */

/* Run nv's code_change on claimed p. Returns MOLT_OK, MOLT_EEXISTS when
 * p already runs nv (up), or fails u. */
static int change_claimed(job *j, molt__uent *e)
{
	molt_proc *p = e->p;
	molt__version *nv = j->nv;
	molt_vsn_change chg = {j->down,
			       j->down ? j->down_vsn : p->ver->desc->vsn};
	molt_ctx ctx = {j->u->rt, p, nv, 0};
	char pb[32], why[128];
	molt__cbslot *ws;
	void *ns = NULL;
	int rc;

	if (p->prev_ver) {
		fail(j->u, MOLT_EBUSY, e->pid,
		     "process %s has an uncommitted code change",
		     molt_pid_format(e->pid, pb, sizeof(pb)));
		return MOLT_EBUSY;
	}
	if (!j->down && p->ver == nv)
		return MOLT_EEXISTS; /* spawned on the new code: nothing to do
				      */
	if (!nv->desc->code_change &&
	    nv->desc->state_vsn != p->ver->desc->state_vsn) {
		/* the check refuses such scripts; never move a state onto
		 * code that cannot read it */
		fail(j->u, MOLT_EINVAL, e->pid,
		     "module '%s' %s has no code_change for process %s "
		     "(state_vsn %u, new %u)",
		     nv->desc->name, nv->desc->vsn,
		     molt_pid_format(e->pid, pb, sizeof(pb)),
		     p->ver->desc->state_vsn, nv->desc->state_vsn);
		return MOLT_EINVAL;
	}
	molt__vtally_take(&tally, nv); /* before p can reach nv */
	if (!nv->desc->code_change) {
		molt__proc_move(j->u->rt, p, nv, p->state, MOLT__MOVE_KEEP,
				&tally);
		return MOLT_OK;
	}
	ws = molt__watch_enter(p, MOLT__CB_CHANGE, 0);
	rc = nv->desc->code_change(&ctx, &chg, p->state, j->extra, &ns);
	molt__watch_leave(ws);
	MOLT_PROBE4(code_change, e->pid, nv->desc->name, nv->desc->vsn, rc);
	if (rc < 0 || molt__pf_has(p, MOLT__PF_EXITING)) {
		molt__vtally_drop(&tally, nv, 1);
		fail(j->u, MOLT_ERROR, e->pid,
		     "module '%s' %s code_change failed for process %s: %s",
		     nv->desc->name, nv->desc->vsn,
		     molt_pid_format(e->pid, pb, sizeof(pb)),
		     molt__proc_unstop(p, why, sizeof(why)));
		return MOLT_ERROR;
	}
	molt__proc_move(j->u->rt, p, nv, ns, MOLT__MOVE_KEEP, &tally);
	return MOLT_OK;
}

static void change_one(job *j, molt__uent *e)
{
	char pb[32];
	int r;

	if (e->set != j->sid || !(e->st & MOLT__UE_HELD) ||
	    (e->st & (MOLT__UE_CHANGED | MOLT__UE_DEAD)))
		return;
	r = claim_wait(e->p, e->pid, j->deadline);
	if (r < 0) {
		e->st |= MOLT__UE_DEAD;
		return;
	}
	if (r == 0) {
		fail(j->u, MOLT_ETIMEOUT, e->pid,
		     "code_change of process %s (module '%s') timed out",
		     molt_pid_format(e->pid, pb, sizeof(pb)),
		     j->nv->desc->name);
		return;
	}
	if (change_claimed(j, e) == MOLT_OK)
		e->st |= MOLT__UE_CHANGED;
	unclaim(j->u->rt, e->p, 0);
}

int molt__upg_change(molt__uctx *u, uint32_t sid, molt__version *nv, int down,
		     const char *down_vsn, const char *extra, uint64_t deadline)
{
	job j = {.u = u,
		 .fn = change_one,
		 .stop_on_fail = 1,
		 .sid = sid,
		 .nv = nv,
		 .down = down,
		 .down_vsn = down_vsn ? down_vsn : "",
		 .extra = extra,
		 .deadline = deadline};

	run(&j);
	return atomic_load(&u->fail.failed) ? u->fail.code : MOLT_OK;
}

/* --- rollback and commit --- */

/* The end of an entry's upgrade: a changed process gets step (revert or
 * commit) on claim; then ours are resumed. An entry that exited has
 * already dropped its change. */
static void finish_one(job *j, molt__uent *e,
		       void (*step)(molt_runtime *rt, molt_proc *p))
{
	molt_runtime *rt = j->u->rt;
	int ours = (e->st & MOLT__UE_HELD) && !(e->st & MOLT__UE_FOREIGN);

	if (e->st & MOLT__UE_CHANGED) {
		e->st &= ~MOLT__UE_CHANGED;
		if (claim_wait(e->p, e->pid, 0) < 0)
			return;
		step(rt, e->p);
		note_pause(e);
		unclaim(rt, e->p, ours);
		return;
	}
	if (ours) {
		note_pause(e);
		resume(rt, e);
	}
}

static void revert_claimed(molt_runtime *rt, molt_proc *p)
{
	molt__proc_move_revert(rt, p, &tally);
}

static void rollback_one(job *j, molt__uent *e)
{
	finish_one(j, e, revert_claimed);
}

void molt__upg_rollback(molt__uctx *u)
{
	job j = {.u = u, .fn = rollback_one};

	run(&j);
}

/* --- moving a process to its module's current version --- */

int molt__upg_move_current(molt_runtime *rt, molt_proc *p)
{
	molt__version *v = p->ver, *conv;
	molt__version *cur = molt__modtab_upgrade_target(rt->modtab, v);
	molt_vsn_change chg;
	molt_ctx ctx = {rt, p, NULL, 0};
	char why[128];
	void *ns = p->state;

	if (!cur || cur == v || p->prev_ver) {
		molt__version_unref(cur);
		return -1;
	}
	if (cur->desc->state_vsn != v->desc->state_vsn) {
		/* the newer code converts its own state */
		chg.down = cur->desc->state_vsn < v->desc->state_vsn;
		chg.vsn = chg.down ? cur->desc->vsn : v->desc->vsn;
		conv = chg.down ? v : cur;
		ctx.ver = conv;
		if (!conv->desc->code_change ||
		    conv->desc->code_change(&ctx, &chg, p->state, "[]", &ns) <
			    0 ||
		    molt__pf_has(p, MOLT__PF_EXITING)) {
			molt__proc_unstop(p, why, sizeof(why));
			molt__version_unref(cur);
			return -1;
		}
	}
	atomic_fetch_add(&cur->procs, 1); /* with cur's reference, for p */
	molt__proc_move(rt, p, cur, ns, MOLT__MOVE_NOW, NULL);
	return 0;
}

void molt__upg_on_old(molt_runtime *rt, molt_proc *p)
{
	molt__version *v = p->ver;
	char pb[32];

	if (molt__pf_has(p, MOLT__PF_NOMOVE) ||
	    molt__upg_move_current(rt, p) == 0)
		return;
	if (!molt__modtab_has_current(rt->modtab, v))
		return; /* deleted: nothing to move to */
	molt_log(MOLT_LOG_WARN, "upgrade",
		 "process %s stays on %s %s: its state cannot be converted "
		 "to the current version",
		 molt_pid_format(p->pid, pb, sizeof(pb)), v->desc->name,
		 v->desc->vsn);
	molt__spin_lock(&p->lock);
	molt__pf_set(p, MOLT__PF_NOMOVE); /* until purged or changed */
	molt__spin_unlock(&p->lock);
}

/* --- processes that moved by themselves onto code a rollback removed */

/* Back to current, or killed if its state cannot be converted and its
 * version is in no slot of the table (claimed p, or in its turn). */
static void reclaim_claimed(molt_runtime *rt, molt_proc *p)
{
	char pb[32];

	if (!(atomic_load(&p->ver->is_old) & MOLT__V_OLD) ||
	    molt__upg_move_current(rt, p) == 0 ||
	    molt__modtab_holds(rt->modtab, p->ver))
		return;
	/* no way back to a matching state: its supervisor restarts it */
	molt_log(MOLT_LOG_WARN, "upgrade",
		 "rollback: process %s cannot return to current code; "
		 "killing it",
		 molt_pid_format(p->pid, pb, sizeof(pb)));
	molt__proc_signal_exit(rt, p->pid, 0, "kill", MOLT__MSGF_KILL);
}

/* For a process busy in a callback: run by its scheduler afterwards. */
typedef struct reclaim_req {
	molt__sysfn fn; /* first: core calls back through it */
} reclaim_req;

static void reclaim_run(molt_runtime *rt, molt_proc *p, molt__sysfn *fn)
{
	reclaim_claimed(rt, p);
	molt_free(fn);
}

static void reclaim_abandon(molt__sysfn *fn)
{
	molt_free(fn);
}

static int in_list(const molt__version *v, molt__version *const *vs, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (vs[k] == v)
			return 1;
	return 0;
}

/* Never waits: a process in a callback is asked to move when the
 * callback returns (before any other message), and one that cannot be
 * asked (out of memory) moves at its next message by the lazy rule. */
static void reclaim_one(molt_runtime *rt, molt_proc *p, molt_pid pid)
{
	reclaim_req *r;
	int c = claim(p, pid);

	if (c > 0) {
		reclaim_claimed(rt, p);
		unclaim(rt, p, 0);
		return;
	}
	if (c < 0 || !(r = molt_malloc(sizeof(*r))))
		return;
	r->fn = (molt__sysfn){reclaim_run, reclaim_abandon};
	if (molt__proc_post(rt, pid, &r->fn) < 0)
		molt_free(r);
}

void molt__upg_reclaim(molt_runtime *rt, molt__version *const *gone, size_t n)
{
	uint32_t hw = atomic_load(&rt->hw);

	if (!n)
		return;
	for (uint32_t i = 0; i < hw; i++) {
		molt_proc *p = molt__proc_at(rt, i);
		molt_pid pid = 0;

		if (!p)
			continue;
		molt__spin_lock(&p->lock);
		if (p->pid && p->ver && in_list(p->ver, gone, n))
			pid = p->pid;
		molt__spin_unlock(&p->lock);
		if (pid)
			reclaim_one(rt, p, pid);
	}
}

/*
 * The current version for processes leaving old (not referenced). Each worker
 * remembers the last answer, so that 100,000 processes moving off one
 * version take the table lock once per worker, not once each (the table
 * does not change during a commit: one evaluation at a time).
 */
static _Thread_local molt__version *mv_old, *mv_cur;

static void move_cache_clear(void)
{
	molt__version_unref(mv_cur);
	mv_old = mv_cur = NULL;
}

static molt__version *move_target(molt_runtime *rt, molt__version *old)
{
	if (mv_old != old) {
		move_cache_clear();
		mv_cur = molt__modtab_upgrade_target(rt->modtab, old);
		mv_old = old;
	}
	return mv_cur; /* the caller takes p's reference: vtally_take */
}

/* Drop the old state with the old version; move off a version that
 * became old (a downgrade's code_change ran in the newer code and left
 * a state in the current version's layout). */
static void commit_claimed(molt_runtime *rt, molt_proc *p)
{
	molt__version *cur;

	molt__proc_move_commit(rt, p, &tally);
	if (!(atomic_load(&p->ver->is_old) & MOLT__V_OLD) ||
	    !(cur = move_target(rt, p->ver)))
		return;
	molt__vtally_take(&tally, cur);
	molt__proc_move(rt, p, cur, p->state, MOLT__MOVE_NOW, &tally);
}

static void commit_one(job *j, molt__uent *e)
{
	finish_one(j, e, commit_claimed);
}

void molt__upg_commit(molt__uctx *u)
{
	job j = {.u = u, .fn = commit_one};

	run(&j);
}
