/* The script evaluator: run with a journal, commit or roll back. */
#include "eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "molt/common.h"
#include "molt/log.h"

#include "code/modtab.h"
#include "core/probes.h"
#include "core/proc.h"
#include "core/rt.h"
#include "upgrade.h"

#include "molt/banned.h"

static pthread_mutex_t eval_mu = PTHREAD_MUTEX_INITIALIZER;

/* --- running the instructions --- */

/* application:F(Args): the release handler's (eval_check.c made sure
 * there is one). */
static int run_app_apply(eval *ev, size_t i, const molt_ins *in)
{
	const molt_eval_options *o = ev->o;
	molt_err e = MOLT_ERR_INIT;

	if (o->app_apply(o->payload, in->fn, in->args ? in->args : "[]", &e) ==
	    MOLT_OK)
		return MOLT_OK;
	return molt__eval_err(ev, i, in->module, 0,
			      e.code ? e.code : MOLT_ERROR,
			      "apply application:%s failed: %s", in->fn, e.msg);
}

static int run_apply(eval *ev, size_t i, const molt_ins *in)
{
	const char *mod = in->module, *fn = in->fn;
	molt__version *v;
	const molt_export *x;
	molt_ctx ctx = {ev->rt, NULL, NULL, 0};
	int rc;

	if (strcmp(mod, MOLT__APP_MODULE) == 0 && ev->o->app_apply)
		return run_app_apply(ev, i, in);
	v = molt__modtab_current(ev->rt->modtab, mod);
	x = v ? molt__eval_export(v, fn) : NULL;
	ctx.ver = v;
	if (!x) {
		molt__version_unref(v);
		return molt__eval_err(ev, i, mod, 0, MOLT_ENOTFOUND,
				      "module '%s' exports no '%s'", mod, fn);
	}
	rc = x->fn(&ctx, in->args ? in->args : "[]");
	molt__version_unref(v);
	if (rc < 0)
		return molt__eval_err(ev, i, mod, 0, MOLT_ERROR,
				      "apply %s:%s failed (returned %d)", mod,
				      fn, rc);
	return MOLT_OK;
}

/* Record m's slots, then set them to (cur, old). */
static int swap_slots(eval *ev, size_t i, const char *name, molt__version *cur,
		      molt__version *old)
{
	jent *j = &ev->jr[ev->n_jr];
	int rc;

	rc = molt__modtab_set_slots(ev->rt->modtab, name, cur, old, &j->pc,
				    &j->po);
	if (rc < 0)
		return molt__eval_err(ev, i, name, 0, rc,
				      "cannot install module '%s'", name);
	snprintf(j->name, sizeof(j->name), "%s", name);
	ev->n_jr++;
	return MOLT_OK;
}

static void add_postp(eval *ev, const char *name, int brutal, int purge)
{
	postp *p = &ev->pp[ev->n_pp++];

	snprintf(p->name, sizeof(p->name), "%s", name);
	p->brutal = brutal;
	p->purge = purge;
}

/* load and remove: the code server first purges the module's old code
 * (killing lingerers, as code:load_binary), then swaps the slots. Unlike
 * OTP, a process idle on the old code (between callbacks: no old code on
 * any stack) is first moved to the current code by the lazy rule, as its
 * next message would move it; only one in a callback of the old code,
 * or whose state no code converts, is killed. */
static int run_load(eval *ev, size_t i, const molt_ins *in)
{
	int remove = in->kind == MOLT_INS_REMOVE;
	const char *name = in->module;
	molt__version *cur, *old, *nv = NULL;
	unsigned killed = 0;
	int rc;

	if (!remove)
		nv = molt__eval_staged(ev, name)->v;
	if ((old = molt__modtab_old(ev->rt->modtab, name))) {
		molt__upg_reclaim(ev->rt, &old, 1);
		molt__version_unref(old);
	}
	if (molt__modtab_purge(ev->rt, name, MOLT__PURGE_EVAL, &killed, NULL) ==
	    MOLT_OK)
		ev->rep->killed += killed;
	ev->rep->steps[i].procs = killed;
	cur = molt__modtab_current(ev->rt->modtab, name);
	if (remove && !cur)
		return molt__eval_err(ev, i, name, 0, MOLT_ENOTFOUND,
				      "no current version of module '%s'",
				      name);
	rc = swap_slots(ev, i, name, nv, cur);
	molt__version_unref(cur);
	if (rc == MOLT_OK)
		add_postp(ev, name, in->post_purge == MOLT_BRUTAL_PURGE, 0);
	return rc;
}

static const char *set_name_of(eval *ev, molt_pid pid)
{
	for (size_t k = 0; k < ev->set.n; k++)
		if (ev->set.e[k].pid == pid)
			return ev->sm_names[ev->set.e[k].set];
	return NULL;
}

/* Add to the set the processes of the n suspend sets sids[] (modules
 * known to the table) in one scan of the process table. only_new: those
 * not held yet. MOLT_ENOMEM. */
static int collect_sets(eval *ev, const uint32_t *sids, size_t n, int only_new)
{
	molt__module **ms;
	uint32_t *ids;
	size_t nm = 0;
	int rc;

	if (!n)
		return MOLT_OK;
	ms = molt_malloc(n * sizeof(*ms));
	ids = molt_malloc(n * sizeof(*ids));
	rc = ms && ids ? MOLT_OK : MOLT_ENOMEM;
	for (size_t k = 0; rc == MOLT_OK && k < n; k++) {
		if (!ev->sm[sids[k]].m)
			continue; /* never loaded: no processes */
		ms[nm] = ev->sm[sids[k]].m;
		ids[nm++] = sids[k];
	}
	if (rc == MOLT_OK)
		rc = molt__upg_collect_many(ev->rt, &ev->set, ms, ids, nm,
					    only_new, NULL);
	molt_free(ms);
	molt_free(ids);
	return rc;
}

/* The suspend sets of in's modules, into sids (n_mods entries). */
static uint32_t *sets_of(eval *ev, const molt_ins *in)
{
	uint32_t *sids = molt_malloc((in->n_mods + 1) * sizeof(*sids));

	for (size_t k = 0; sids && k < in->n_mods; k++)
		sids[k] = (uint32_t)(molt__eval_smod(ev, in->mods[k].name) -
				     ev->sm);
	return sids;
}

static int run_suspend(eval *ev, size_t i, const molt_ins *in)
{
	size_t from = ev->set.n;
	uint64_t now = molt__upg_now_ns(), tmo;
	uint32_t *sids = sets_of(ev, in);
	int rc;

	if (!sids)
		return molt__eval_err(ev, i, NULL, 0, MOLT_ENOMEM,
				      "out of memory");
	for (size_t k = 0; k < in->n_mods; k++) {
		smod *s = &ev->sm[sids[k]];

		tmo = molt__eval_suspend_ns(ev, &in->mods[k]);
		ev->sm_deadline[sids[k]] =
			tmo == NO_DEADLINE ? NO_DEADLINE : now + tmo;
		if (!s->m)
			s->m = molt__upg_module(ev->rt, s->name);
	}
	rc = collect_sets(ev, sids, in->n_mods, 1);
	molt_free(sids);
	if (rc < 0)
		return molt__eval_err(ev, i, NULL, 0, rc, "out of memory");
	ev->rep->steps[i].procs = ev->set.n - from;
	rc = molt__upg_suspend(&ev->u, from, ev->sm_deadline, ev->sm_names);
	if (rc < 0)
		return molt__eval_err(ev, i, set_name_of(ev, ev->u.fail.pid),
				      ev->u.fail.pid, rc, "%s", ev->u.fail.msg);
	return MOLT_OK;
}

static uint64_t cc_deadline(eval *ev)
{
	uint32_t ms = ev->o->code_change_timeout ? ev->o->code_change_timeout
						 : DEFAULT_TIMEOUT_MS;

	return molt__upg_now_ns() + (uint64_t)ms * 1000000u;
}

static size_t count_set(eval *ev, uint32_t sid)
{
	size_t n = 0;

	for (size_t k = 0; k < ev->set.n; k++)
		n += ev->set.e[k].set == sid &&
		     (ev->set.e[k].st & MOLT__UE_CHANGED);
	return n;
}

static int cc_one(eval *ev, size_t i, const molt_ins_mod *it, int down)
{
	const char *name = it->name;
	smod *s = molt__eval_smod(ev, name);
	uint32_t sid = (uint32_t)(s - ev->sm);
	staged *st = molt__eval_staged(ev, name);
	molt__version *nv;
	int rc;

	if (!s->m)
		return MOLT_OK; /* nothing was suspended under it */
	nv = molt__modtab_current(ev->rt->modtab, name);
	if (!nv)
		return molt__eval_err(ev, i, name, 0, MOLT_ENOTFOUND,
				      "module '%s' has no current version",
				      name);
	rc = molt__upg_change(&ev->u, sid, nv, down, st ? st->v->desc->vsn : "",
			      it->extra ? it->extra : "[]", cc_deadline(ev));
	molt__version_unref(nv);
	ev->rep->steps[i].procs += count_set(ev, sid);
	if (rc < 0)
		return molt__eval_err(ev, i, name, ev->u.fail.pid, rc, "%s",
				      ev->u.fail.msg);
	return MOLT_OK;
}

static int run_code_change(eval *ev, size_t i, const molt_ins *in)
{
	uint32_t *sids = sets_of(ev, in);
	size_t from = ev->set.n;
	int rc;

	/* processes spawned since the suspend: hold them too (one scan for
	 * every module of the instruction) */
	rc = sids ? collect_sets(ev, sids, in->n_mods, 1) : MOLT_ENOMEM;
	molt_free(sids);
	if (rc < 0)
		return molt__eval_err(ev, i, NULL, 0, rc, "out of memory");
	rc = molt__upg_suspend(&ev->u, from, ev->sm_deadline, ev->sm_names);
	if (rc < 0)
		return molt__eval_err(ev, i, set_name_of(ev, ev->u.fail.pid),
				      ev->u.fail.pid, rc, "%s", ev->u.fail.msg);
	for (size_t k = 0; k < in->n_mods; k++)
		if ((rc = cc_one(ev, i, &in->mods[k], in->down)) < 0)
			return rc;
	return MOLT_OK;
}

static int run_one(eval *ev, size_t i)
{
	const molt_ins *in = &ev->s->ins[i];

	switch (in->kind) {
	case MOLT_INS_APPLY:
		return run_apply(ev, i, in);
	case MOLT_INS_LOAD:
	case MOLT_INS_REMOVE:
		return run_load(ev, i, in);
	case MOLT_INS_SUSPEND:
		return run_suspend(ev, i, in);
	case MOLT_INS_CODE_CHANGE:
		return run_code_change(ev, i, in);
	case MOLT_INS_STOP:
		return molt__eval_stop(ev, i, in);
	case MOLT_INS_START:
		return molt__eval_start(ev, i, in);
	case MOLT_INS_PURGE:
		for (size_t k = 0; k < in->n_mods; k++)
			add_postp(ev, in->mods[k].name, 1, 1);
		return MOLT_OK;
	default:
		/* resume: at commit, with everything held; sync_nodes: no-op */
		return MOLT_OK;
	}
}

/* --- commit and rollback --- */

static void release_staged(eval *ev)
{
	for (size_t k = 0; k < ev->n_st; k++)
		molt__version_unref(ev->st[k].v);
	ev->n_st = 0;
}

static void unpurged_add(eval *ev, const postp *p)
{
	molt_eval_report *r = ev->rep;
	molt_eval_unpurged *u;

	for (size_t k = 0; k < r->n_unpurged; k++)
		if (strcmp(r->unpurged[k].module, p->name) == 0) {
			r->unpurged[k].brutal = p->brutal;
			return;
		}
	u = molt_realloc(r->unpurged, (r->n_unpurged + 1) * sizeof(*u));
	if (!u)
		return; /* the list is advice; the old code stays loaded */
	r->unpurged = u;
	snprintf(u[r->n_unpurged].module, 64, "%s", p->name);
	u[r->n_unpurged++].brutal = p->brutal;
}

/* Explicit purges kill; PostPurge soft-purges now and leaves the rest
 * on the unpurged list (brutal ones for make-permanent, as OTP). */
static void purges(eval *ev)
{
	for (size_t k = 0; k < 2 * ev->n_pp; k++) {
		postp *p = &ev->pp[k % ev->n_pp];
		unsigned killed = 0;

		if ((k < ev->n_pp) != p->purge)
			continue; /* explicit purges first */
		if (molt__modtab_purge(
			    ev->rt, p->name,
			    MOLT__PURGE_EVAL |
				    (p->purge ? 0 : MOLT__PURGE_SOFT),
			    &killed, NULL) == MOLT_EBUSY)
			unpurged_add(ev, p);
		ev->rep->killed += killed;
	}
}

static void commit(eval *ev)
{
	molt__upg_commit(&ev->u);
	molt__eval_stops_commit(ev);
	for (size_t k = 0; k < ev->n_jr; k++) {
		molt__version_unref(ev->jr[k].pc);
		molt__version_unref(ev->jr[k].po);
	}
	ev->n_jr = 0;
	if (ev->o->at_commit)
		ev->o->at_commit(ev->o->payload);
	purges(ev);
	release_staged(ev);
}

static void commit_timed(eval *ev)
{
	uint64_t t0 = molt__upg_now_ns();

	commit(ev);
	ev->rep->commit_ns = molt__upg_now_ns() - t0;
}

/* Put m's slots back; versions that leave them become old and are
 * added to gone (referenced) for molt__upg_reclaim. */
static void restore_slots(eval *ev, jent *j, molt__version **gone,
			  size_t *n_gone)
{
	molt__version *a = NULL, *b = NULL;

	if (molt__modtab_set_slots(ev->rt->modtab, j->name, j->pc, j->po, &a,
				   &b) < 0) {
		molt_log(MOLT_LOG_ERROR, "eval", "cannot restore module '%s'",
			 j->name);
		return;
	}
	if (a && a != j->pc && a != j->po) {
		atomic_fetch_or(&a->is_old, MOLT__V_OLD);
		gone[(*n_gone)++] = a; /* keeps the slot's reference */
		a = NULL;
	}
	if (b && b != j->pc && b != j->po) {
		atomic_fetch_or(&b->is_old, MOLT__V_OLD);
		gone[(*n_gone)++] = b;
		b = NULL;
	}
	molt__version_unref(a);
	molt__version_unref(b);
	molt__version_unref(j->pc);
	molt__version_unref(j->po);
}

static void rollback(eval *ev)
{
	uint64_t t0 = molt__upg_now_ns();
	molt__version **gone = ev->gone;
	size_t n_gone = 0;

	while (ev->n_jr)
		restore_slots(ev, &ev->jr[--ev->n_jr], gone, &n_gone);
	molt__upg_rollback(&ev->u);
	molt__upg_reclaim(ev->rt, gone, n_gone);
	while (n_gone)
		molt__version_unref(gone[--n_gone]);
	molt__eval_stops_rollback(ev);
	release_staged(ev);
	ev->rep->rolled_back = 1;
	ev->rep->rollback_ns = molt__upg_now_ns() - t0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void pause_stats(eval *ev)
{
	molt_eval_report *r = ev->rep;
	uint64_t *v = molt_malloc((ev->set.n + 1) * sizeof(*v)), sum = 0;
	size_t n = 0;

	for (size_t k = 0; k < ev->set.n; k++) {
		uint64_t p = ev->set.e[k].pause;

		if (!p)
			continue;
		sum += p;
		molt__hist_add(&ev->rt->obs.pause, p, 1);
		if (p > r->pause_max_ns)
			r->pause_max_ns = p;
		if (v)
			v[n] = p;
		n++;
	}
	r->paused = n;
	r->pause_mean_ns = n ? sum / n : 0;
	r->pause_p99_ns = r->pause_max_ns;
	if (v && n) {
		qsort(v, n, sizeof(*v), cmp_u64);
		r->pause_p99_ns = v[(n * 99 + 99) / 100 - 1];
	}
	molt_free(v);
}

static int run_all(eval *ev)
{
	molt_eval_step *s = ev->rep->steps;
	int rc = MOLT_OK;

	MOLT_PROBE1(upgrade_begin, ev->n);
	for (size_t i = 0; i < ev->n; i++) {
		uint64_t t0 = molt__upg_now_ns();

		if (i != (size_t)ev->ponr)
			rc = run_one(ev, i);
		s[i].ns += molt__upg_now_ns() - t0;
		if (rc < 0)
			break;
	}
	if (rc < 0 && (int)ev->rep->failed_index > ev->ponr)
		rollback(ev);
	else if (rc == MOLT_OK)
		commit_timed(ev);
	else
		release_staged(ev);
	pause_stats(ev);
	if (rc == MOLT_OK)
		MOLT_PROBE2(upgrade_commit, ev->rep->paused,
			    ev->rep->pause_max_ns);
	else
		MOLT_PROBE2(upgrade_rollback, ev->rep->failed_index,
			    ev->rep->rolled_back);
	return rc;
}

/* --- dry run --- */

static size_t count_planned(eval *ev, ptrdiff_t sid)
{
	size_t n = 0;

	for (size_t k = 0; k < ev->set.n; k++)
		n += ev->set.e[k].set == (uint32_t)sid;
	return n;
}

static int plan(eval *ev)
{
	molt_eval_report *r = ev->rep;
	uint32_t *sids = molt_malloc((ev->n_sm + 1) * sizeof(*sids));
	int rc;

	for (size_t k = 0; sids && k < ev->n_sm; k++) {
		if (!ev->sm[k].m)
			ev->sm[k].m = molt__upg_module(ev->rt, ev->sm[k].name);
		sids[k] = (uint32_t)k;
	}
	rc = sids ? collect_sets(ev, sids, ev->n_sm, 0) : MOLT_ENOMEM;
	molt_free(sids);
	if (rc < 0)
		return molt_err_set(ev->err, MOLT_ENOMEM, "out of memory");
	r->planned = molt_calloc(ev->set.n + 1, sizeof(*r->planned));
	if (!r->planned)
		return molt_err_set(ev->err, MOLT_ENOMEM, "out of memory");
	for (size_t k = 0; k < ev->set.n; k++)
		r->planned[k] = ev->set.e[k].pid;
	r->n_planned = ev->set.n;
	for (size_t i = 0; i < ev->n; i++) {
		const molt_ins *in = &ev->s->ins[i];

		for (size_t k = 0; k < in->n_mods; k++) {
			const char *name = in->mods[k].name;

			if (in->kind == MOLT_INS_STOP)
				r->steps[i].procs +=
					molt__eval_stop_plan(ev, name);
			else if (in->kind == MOLT_INS_SUSPEND)
				r->steps[i].procs += count_planned(
					ev, molt__eval_smod(ev, name) - ev->sm);
		}
	}
	release_staged(ev);
	return MOLT_OK;
}

/* --- entry --- */

static int steps_init(eval *ev)
{
	ev->n = ev->s->n;
	ev->rep->steps = molt_calloc(ev->n + 1, sizeof(*ev->rep->steps));
	if (!ev->rep->steps)
		return molt_err_set(ev->err, MOLT_ENOMEM, "out of memory");
	ev->rep->n_steps = ev->n;
	return MOLT_OK;
}

static void eval_release(eval *ev)
{
	release_staged(ev);
	molt_free(ev->st);
	molt_free(ev->jr);
	molt_free(ev->sm);
	molt_free(ev->sm_names);
	molt_free(ev->sm_deadline);
	molt_free(ev->pp);
	molt_free(ev->sj);
	molt_free(ev->gone);
	molt__upg_set_release(&ev->set);
	pthread_mutex_destroy(&ev->u.fail.mu);
}

static unsigned workers(molt_runtime *rt, const molt_eval_options *o)
{
	if (rt->opts.deterministic)
		return 1;
	return o->workers ? o->workers : molt_runtime_schedulers(rt);
}

static int evaluate(eval *ev)
{
	int rc;

	if ((rc = steps_init(ev)) < 0 || (rc = molt__eval_check(ev)) < 0)
		return rc;
	if (ev->o->dry_run)
		return plan(ev);
	return run_all(ev);
}

int molt_runtime_eval_script(molt_runtime *rt, const molt_script *script,
			     const molt_eval_options *opts,
			     molt_eval_report *report, molt_err *err)
{
	static const molt_eval_options dflt = MOLT_EVAL_OPTIONS_INIT;
	uint64_t t0 = molt__upg_now_ns();
	eval ev;
	int rc;

	if (report) {
		memset(report, 0, sizeof(*report));
		report->failed_index = -1;
	}
	if (!rt || !script || (script->n && !script->ins) || !report)
		return molt_err_set(err, MOLT_EINVAL,
				    "eval: no runtime or script");
	memset(&ev, 0, sizeof(ev));
	ev.rt = rt;
	ev.s = script;
	ev.o = opts ? opts : &dflt;
	ev.rep = report;
	ev.err = err;
	ev.u.rt = rt;
	ev.u.set = &ev.set;
	ev.u.workers = workers(rt, ev.o);
	pthread_mutex_init(&ev.u.fail.mu, NULL);
	if (pthread_mutex_trylock(&eval_mu) != 0) {
		pthread_mutex_destroy(&ev.u.fail.mu);
		return molt_err_set(err, MOLT_EBUSY,
				    "another evaluation is running");
	}
	molt__modtab_set_evaluating(rt->modtab, 1);
	rc = evaluate(&ev);
	eval_release(&ev);
	molt__modtab_set_evaluating(rt->modtab, 0);
	pthread_mutex_unlock(&eval_mu);
	report->ok = rc == MOLT_OK;
	report->total_ns = molt__upg_now_ns() - t0;
	if (rc < 0)
		molt_log(MOLT_LOG_WARN, "eval", "%s%s", err ? err->msg : "",
			 report->rolled_back ? " (rolled back)" : "");
	return rc;
}

void molt_eval_report_release(molt_eval_report *report)
{
	if (!report)
		return;
	molt_free(report->steps);
	molt_free(report->unpurged);
	molt_free(report->planned);
	memset(report, 0, sizeof(*report));
	report->failed_index = -1;
}
