/* The built-in supervisor: strategies, restart types, intensity, shutdown. */
#include "sup.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "molt/common.h"
#include "molt/log.h"
#include "molt/runtime.h"

#include "code/modtab.h"
#include "core/proc.h"
#include "sup_int.h"

#include "molt/banned.h"

static void req_complete(supreq *r, int rc, size_t n, const char *msg);

void molt__sup_free(sup *s)
{
	if (!s)
		return;
	if (s->seq_req) /* the supervisor exits mid-stop */
		req_complete(s->seq_req, MOLT_ECLOSED, 0,
			     "the supervisor exited before its children");
	for (size_t i = 0; i < s->n; i++)
		molt__sup_child_clear(&s->kids[i]);
	molt__sup_child_clear(&s->tmpl);
	molt_free(s->kids);
	molt_free(s->pidx);
	molt_free(s->times);
	molt_free(s->seq);
	molt_free(s->name);
	molt_free(s);
}

/* --- the children's index by pid --- */

/*
 * A child exit finds its child by pid in O(1), so that a
 * simple_one_for_one supervisor with many children does constant work
 * per exit. If the index cannot grow, it is dropped and lookups scan
 * kids (slower, still correct).
 */
static size_t pidx_home(molt_pid pid, size_t cap)
{
	return (size_t)((pid * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

static void pidx_drop(sup *s)
{
	molt_free(s->pidx);
	s->pidx = NULL;
	s->pidx_cap = s->pidx_n = 0;
	s->pidx_off = 1;
}

/* The slot holding pid, or the empty slot where it would go. */
static pslot *pidx_slot(sup *s, molt_pid pid)
{
	size_t m = s->pidx_cap - 1, k = pidx_home(pid, s->pidx_cap);

	while (s->pidx[k].pid && s->pidx[k].pid != pid)
		k = (k + 1) & m;
	return &s->pidx[k];
}

static void pidx_grow(sup *s)
{
	size_t cap = s->pidx_cap ? 2 * s->pidx_cap : 64;
	pslot *old = s->pidx, *t = molt_calloc(cap, sizeof(*t));
	size_t ocap = s->pidx_cap;

	if (!t) {
		pidx_drop(s);
		return;
	}
	s->pidx = t;
	s->pidx_cap = cap;
	for (size_t k = 0; k < ocap; k++)
		if (old[k].pid)
			*pidx_slot(s, old[k].pid) = old[k];
	molt_free(old);
}

/* Record that kids[i] runs as pid. */
static void pidx_set(sup *s, molt_pid pid, size_t i)
{
	pslot *e;

	if (s->pidx_off || !pid)
		return;
	if (2 * (s->pidx_n + 1) > s->pidx_cap) {
		pidx_grow(s);
		if (s->pidx_off)
			return;
	}
	e = pidx_slot(s, pid);
	if (!e->pid)
		s->pidx_n++;
	e->pid = pid;
	e->i = i;
}

/* Forget pid; later entries of its probe run move back (no tombstones). */
static void pidx_del(sup *s, molt_pid pid)
{
	size_t m, k, j;

	if (!s->pidx_cap || !pid)
		return;
	m = s->pidx_cap - 1;
	k = (size_t)(pidx_slot(s, pid) - s->pidx);
	if (!s->pidx[k].pid)
		return;
	s->pidx[k].pid = 0;
	s->pidx_n--;
	for (j = (k + 1) & m; s->pidx[j].pid; j = (j + 1) & m) {
		size_t h = pidx_home(s->pidx[j].pid, s->pidx_cap);

		/* stays if its home lies cyclically in (k, j] */
		if (k <= j ? (k < h && h <= j) : (k < h || h <= j))
			continue;
		s->pidx[k] = s->pidx[j];
		s->pidx[j].pid = 0;
		k = j;
	}
}

/* kids[i] no longer runs. */
static void child_gone(sup *s, size_t i)
{
	pidx_del(s, s->kids[i].pid);
	s->kids[i].pid = 0;
}

/* --- running children --- */

static int start_child(molt_ctx *ctx, child *c, molt_err *err)
{
	molt__version *v = molt__modtab_current(ctx->rt->modtab, c->module);
	molt_pid self = molt_self(ctx);
	int rc;

	if (!v)
		return molt_err_set(err, MOLT_ENOTFOUND,
				    "child '%s': module '%s' is not loaded",
				    c->id, c->module);
	rc = molt__proc_spawn(ctx->rt, &c->pid, v, c->args, c->args_len, self,
			      self, err);
	molt__version_unref(v);
	if (rc < 0) {
		c->pid = 0;
		return molt_err_prefix(err, "child '%s'", c->id);
	}
	/* MOLT_ENOTFOUND: the child exits already; its EXIT follows */
	if (c->name && (rc = molt__reg_add_pid(ctx->rt, c->pid, c->name)) < 0 &&
	    rc != MOLT_ENOTFOUND)
		molt_logf(ctx, MOLT_LOG_WARN, "child '%s': name '%s' is taken",
			  c->id, c->name);
	c->want = 1;
	return MOLT_OK;
}

/* Start kids[i] and index it by its pid. */
static int start_kid(molt_ctx *ctx, sup *s, size_t i, molt_err *err)
{
	int rc = start_child(ctx, &s->kids[i], err);

	if (rc == MOLT_OK)
		pidx_set(s, s->kids[i].pid, i);
	return rc;
}

/* Count a restart; 0 when that exceeds intensity within period. */
static int add_restart(sup *s)
{
	uint64_t now = molt_now_ms();
	size_t k = 0;

	for (size_t i = 0; i < s->ntimes; i++)
		if (now - s->times[i] <= s->period_ms)
			s->times[k++] = s->times[i];
	s->ntimes = k;
	if (k >= (size_t)s->intensity)
		return 0;
	s->times[s->ntimes++] = now;
	return 1;
}

static void seq_next(molt_ctx *ctx, sup *s);
static void reconcile(molt_ctx *ctx, sup *s);

/* Terminate the running children among idx[0..n) in that order, then
 * reconcile or stop. Takes idx. */
static void seq_start(molt_ctx *ctx, sup *s, size_t *idx, size_t n, int then)
{
	molt_free(s->seq);
	s->seq = idx;
	s->seq_n = idx ? n : 0;
	s->seq_i = 0;
	s->seq_active = 1;
	s->seq_then = then;
	seq_next(ctx, s);
}

/* Children from..to (inclusive) that run, in reverse order. */
static size_t *reverse_running(sup *s, size_t from, size_t *n_out)
{
	size_t *idx = molt_malloc((s->n ? s->n : 1) * sizeof(*idx));
	size_t n = 0;

	for (size_t i = s->n; idx && i-- > from;)
		if (s->kids[i].pid)
			idx[n++] = i;
	*n_out = n;
	return idx;
}

static void escalate(molt_ctx *ctx, sup *s, const char *why)
{
	size_t n, *idx;

	molt_logf(ctx, MOLT_LOG_ERROR, "supervisor %s: %s, shutting down",
		  s->name ? s->name : "", why);
	snprintf(s->stop_reason, sizeof(s->stop_reason), "shutdown");
	for (size_t i = 0; i < s->n; i++)
		s->kids[i].want = 0;
	idx = reverse_running(s, 0, &n);
	seq_start(ctx, s, idx, n, THEN_STOP);
}

static void update_done(molt_ctx *ctx, sup *s);

static void seq_done(molt_ctx *ctx, sup *s)
{
	s->seq_active = 0;
	s->seq_pid = 0;
	if (s->seq_req && s->seq_update) {
		update_done(ctx, s);
	} else if (s->seq_req) {
		req_complete(s->seq_req, MOLT_OK, s->seq_count, "");
		s->seq_req = NULL;
	}
	if (s->seq_then == THEN_STOP)
		molt_stop(ctx, s->stop_reason[0] ? s->stop_reason : "shutdown");
	else
		reconcile(ctx, s);
}

static void seq_next(molt_ctx *ctx, sup *s)
{
	while (s->seq_i < s->seq_n) {
		child *c = &s->kids[s->seq[s->seq_i++]];

		if (!c->pid)
			continue;
		s->seq_pid = c->pid;
		s->seq_timer = 0;
		if (c->shutdown == BRUTAL) {
			molt_exit(ctx, c->pid, "kill");
		} else {
			molt_exit(ctx, c->pid, "shutdown");
			if (c->shutdown != INFINITE)
				molt_send_after(ctx, &s->seq_timer,
						(uint32_t)c->shutdown, "kill",
						4);
		}
		return; /* wait for its EXIT */
	}
	seq_done(ctx, s);
}

/* Start every child that should run and does not, in order. */
static void reconcile(molt_ctx *ctx, sup *s)
{
	for (size_t i = 0; i < s->n; i++) {
		child *c = &s->kids[i];

		while (c->want && !c->pid) {
			molt_err err = MOLT_ERR_INIT;

			if (start_kid(ctx, s, i, &err) == MOLT_OK)
				break;
			molt_logf(ctx, MOLT_LOG_ERROR, "restart failed: %s",
				  err.msg);
			if (!add_restart(s)) {
				escalate(ctx, s,
					 "reached max restart intensity");
				return;
			}
		}
	}
}

/* Remove the (not running) simple_one_for_one child i in O(1): the last
 * child takes its place. Dynamic children have no order to keep (OTP
 * terminates them in no particular order either). */
static void remove_child(sup *s, size_t i)
{
	molt__sup_child_clear(&s->kids[i]);
	if (i != --s->n) {
		s->kids[i] = s->kids[s->n];
		pidx_set(s, s->kids[i].pid, i);
	}
}

static void child_exited(molt_ctx *ctx, sup *s, size_t i, const char *reason)
{
	child *c = &s->kids[i];
	int restart = c->restart == PERMANENT ||
		      (c->restart == TRANSIENT && !molt__reason_normal(reason));
	size_t n, *idx;

	child_gone(s, i);
	if (!restart) {
		c->want = 0;
		if (s->strategy == SIMPLE_ONE_FOR_ONE)
			remove_child(s, i);
		return;
	}
	molt_logf(ctx, MOLT_LOG_INFO, "child '%s' exited (%s), restarting",
		  c->id, reason ? reason : "?");
	if (!add_restart(s)) {
		escalate(ctx, s, "reached max restart intensity");
		return;
	}
	switch (s->strategy) {
	case ONE_FOR_ALL:
		idx = reverse_running(s, 0, &n);
		seq_start(ctx, s, idx, n, THEN_RECONCILE);
		break;
	case REST_FOR_ONE:
		idx = reverse_running(s, i + 1, &n);
		seq_start(ctx, s, idx, n, THEN_RECONCILE);
		break;
	default:
		reconcile(ctx, s);
		break;
	}
}

static int find_child(sup *s, molt_pid pid)
{
	if (!pid) /* not a child: 0 marks children that do not run */
		return -1;
	/* the child a termination sequence waits for: O(1), so that
	 * shutting down N children is not O(N^2) */
	if (s->seq_active && pid == s->seq_pid && s->seq_i > 0) {
		size_t i = s->seq[s->seq_i - 1];

		if (i < s->n && s->kids[i].pid == pid)
			return (int)i;
	}
	if (!s->pidx_off) {
		pslot *e = s->pidx_cap ? pidx_slot(s, pid) : NULL;

		return e && e->pid ? (int)e->i : -1;
	}
	for (size_t i = 0; i < s->n; i++)
		if (s->kids[i].pid == pid)
			return (int)i;
	return -1;
}

static void on_exit_msg(molt_ctx *ctx, sup *s, const molt_msg *m)
{
	int i = find_child(s, m->from);
	size_t n, *idx;

	if (i >= 0 && s->seq_active) {
		if (s->kids[i].restart == TEMPORARY)
			s->kids[i].want = 0;
		child_gone(s, (size_t)i);
		if (m->from == s->seq_pid) {
			if (s->seq_timer)
				molt_cancel_timer(ctx, s->seq_timer);
			seq_next(ctx, s);
		}
		return;
	}
	if (i >= 0) {
		child_exited(ctx, s, (size_t)i, m->reason);
		return;
	}
	if (m->from == ctx->p->parent || m->from == 0) {
		/* our parent is going: orderly shutdown, then follow */
		snprintf(s->stop_reason, sizeof(s->stop_reason), "%s",
			 m->reason ? m->reason : "shutdown");
		for (size_t k = 0; k < s->n; k++)
			s->kids[k].want = 0;
		idx = reverse_running(s, 0, &n);
		seq_start(ctx, s, idx, n, THEN_STOP);
	}
}

/* --- callbacks --- */

static int sup_init(molt_ctx *ctx, const void *args, size_t len,
		    void **state_out)
{
	molt_err err = MOLT_ERR_INIT;
	sup *s;

	if (molt__sup_spec_parse(&s, args, len, &err) < 0) {
		molt_crash(ctx, "bad supervisor spec: %s", err.msg);
		return -1;
	}
	molt_trap_exit(ctx, 1);
	if (s->name && molt_register(ctx, s->name) < 0) {
		molt_crash(ctx, "supervisor name '%s' is taken", s->name);
		molt__sup_free(s);
		return -1;
	}
	*state_out = s;
	for (size_t i = 0; i < s->n; i++) {
		if (start_kid(ctx, s, i, &err) < 0) {
			molt_crash(ctx, "%s", err.msg);
			return -1; /* started children die with us (linked) */
		}
	}
	return MOLT_CB_OK;
}

static void add_child_json(cJSON *arr, const child *c)
{
	cJSON *o = cJSON_CreateObject();
	char pb[32];

	cJSON_AddStringToObject(o, "id", c->id);
	cJSON_AddStringToObject(o, "module", c->module);
	cJSON_AddStringToObject(o, "pid",
				c->pid ? molt_pid_format(c->pid, pb, 32) : "");
	cJSON_AddStringToObject(o, "restart", molt__sup_restarts[c->restart]);
	cJSON_AddItemToArray(arr, o);
}

static int reply_str(molt_ctx *ctx, molt_from from, const char *s)
{
	return molt_reply(ctx, from, s, strlen(s));
}

static int start_dynamic(molt_ctx *ctx, sup *s, const char *args, size_t len,
			 molt_from from)
{
	molt_err err = MOLT_ERR_INIT;
	child c = s->tmpl;
	char pb[32];

	if (s->strategy != SIMPLE_ONE_FOR_ONE)
		return reply_str(ctx, from, "error: not simple_one_for_one");
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		child *k = molt_realloc(s->kids, cap * sizeof(*k));

		if (!k)
			return reply_str(ctx, from, "error: out of memory");
		s->kids = k;
		s->cap = cap;
	}
	c.id = molt_strdup(s->tmpl.id);
	c.module = molt_strdup(s->tmpl.module);
	c.args = molt_strndup(args, len);
	c.args_len = len;
	c.name = NULL;
	if (!c.id || !c.module || !c.args || start_child(ctx, &c, &err) < 0) {
		molt__sup_child_clear(&c);
		return reply_str(ctx, from, "error: start failed");
	}
	s->kids[s->n++] = c;
	pidx_set(s, c.pid, s->n - 1);
	return reply_str(ctx, from, molt_pid_format(c.pid, pb, 32));
}

/* --- stop and start by module (the upgrade instructions) ---
 *
 * Not calls: a process could send those. The evaluator posts a supreq as
 * a system request (core/proc.h molt__sysfn); it runs in the
 * supervisor's own turn, between callbacks, checks that the process runs
 * this module and acts on its state. A request has two references, the
 * waiter's and the supervisor side's (dropped when it completes, or when
 * the process exits before running it).
 */

enum { REQ_STOP, REQ_START, REQ_FORGET, REQ_UPDATE };

struct supreq {
	molt__sysfn fn;	    /* run, abandon (first member: the cast) */
	int op;		    /* REQ_STOP, REQ_START, REQ_FORGET, REQ_UPDATE */
	char mod[64];	    /* the module */
	char *spec;	    /* REQ_UPDATE: the new spec (owned) */
	atomic_int refs;    /* waiter + supervisor side */
	pthread_mutex_t mu; /* guards done, rc, n, msg */
	pthread_cond_t cv;  /* done became 1 */
	int done;	    /* completed */
	int rc;		    /* MOLT_OK or an error code */
	size_t n;	    /* children stopped or started */
	char msg[200];	    /* the error, or "" */
};

static void req_unref(supreq *r)
{
	if (atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	molt_free(r->spec);
	molt_free(r);
}

/* Record the outcome, wake the waiter, drop the supervisor side's
 * reference. */
static void req_complete(supreq *r, int rc, size_t n, const char *msg)
{
	pthread_mutex_lock(&r->mu);
	r->done = 1;
	r->rc = rc;
	r->n = n;
	snprintf(r->msg, sizeof(r->msg), "%s", msg);
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	req_unref(r);
}

/* Stop: terminate every running child whose module is mod, in reverse
 * start order, as terminate_child does; complete once they have all
 * exited (seq_done). They are marked stopped for a start. */
static void stop_module(molt_ctx *ctx, sup *s, supreq *r)
{
	size_t *idx = molt_malloc((s->n ? s->n : 1) * sizeof(*idx)), n = 0;

	if (!idx) {
		req_complete(r, MOLT_ENOMEM, 0, "out of memory");
		return;
	}
	if (s->seq_active) {
		molt_free(idx);
		req_complete(r, MOLT_EBUSY, 0, "busy restarting children");
		return;
	}
	for (size_t i = s->n; i-- > 0;) {
		child *c = &s->kids[i];

		if (!c->pid || strcmp(c->module, r->mod) != 0)
			continue;
		c->want = 0;
		c->stopped = 1;
		idx[n++] = i;
	}
	s->seq_req = r;
	s->seq_count = n;
	seq_start(ctx, s, idx, n, THEN_RECONCILE);
}

/* Start again, in start order, the children of mod a stop terminated.
 * The error names the first child that failed (the others are still
 * started). */
static void start_module(molt_ctx *ctx, sup *s, supreq *r)
{
	molt_err err = MOLT_ERR_INIT, first = MOLT_ERR_INIT;
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++) {
		child *c = &s->kids[i];

		if (!c->stopped || strcmp(c->module, r->mod) != 0)
			continue;
		c->stopped = 0;
		if (start_kid(ctx, s, i, &err) == MOLT_OK)
			n++;
		else if (!first.code)
			first = err;
	}
	req_complete(r, first.code ? first.code : MOLT_OK, n, first.msg);
}

/* The upgrade is committed: stopped children of mod stay terminated (a
 * simple_one_for_one child is removed, as terminate_child does there). */
static void forget_stopped(sup *s, supreq *r)
{
	for (size_t i = s->n; i-- > 0;) {
		child *c = &s->kids[i];

		if (!c->stopped || strcmp(c->module, r->mod) != 0)
			continue;
		c->stopped = 0;
		if (s->strategy == SIMPLE_ONE_FOR_ONE && !c->pid)
			remove_child(s, i);
	}
	req_complete(r, MOLT_OK, 0, "");
}

/* --- a new spec for a running supervisor ({update, Sup, supervisor}) --- */

static long child_index(const sup *s, const char *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->kids[i].id && strcmp(s->kids[i].id, id) == 0)
			return (long)i;
	return -1;
}

/* c takes n's spec (n is emptied); its pid and state stay: a changed
 * spec takes effect when the child next starts, as in OTP. */
static void take_spec(child *c, child *n)
{
	molt_free(c->module);
	molt_free(c->args);
	molt_free(c->name);
	c->module = n->module;
	c->args = n->args;
	c->args_len = n->args_len;
	c->name = n->name;
	c->restart = n->restart;
	c->shutdown = n->shutdown;
	n->module = n->args = n->name = NULL;
	molt__sup_child_clear(n);
}

static void pidx_rebuild(sup *s)
{
	molt_free(s->pidx);
	s->pidx = NULL;
	s->pidx_cap = s->pidx_n = 0;
	s->pidx_off = 0;
	for (size_t i = 0; i < s->n; i++)
		pidx_set(s, s->kids[i].pid, i);
}

/* The children in ns's order: kept ones (same id) with their process,
 * new ones to start; then the ones ns drops, marked gone. */
static int merge_children(sup *s, sup *ns)
{
	child *nk = molt_calloc(ns->n + s->n + 1, sizeof(*nk));
	size_t k = 0;

	if (!nk)
		return MOLT_ENOMEM;
	for (size_t j = 0; j < ns->n; j++, k++) {
		long i = child_index(s, ns->kids[j].id);

		if (i < 0) {
			nk[k] = ns->kids[j];
			memset(&ns->kids[j], 0, sizeof(ns->kids[j]));
			nk[k].want = 1;
			continue;
		}
		nk[k] = s->kids[i];
		memset(&s->kids[i], 0, sizeof(s->kids[i]));
		take_spec(&nk[k], &ns->kids[j]);
	}
	for (size_t i = 0; i < s->n; i++)
		if (s->kids[i].id) {
			nk[k] = s->kids[i];
			nk[k].want = 0;
			nk[k++].gone = 1;
		}
	molt_free(s->kids);
	s->kids = nk;
	s->n = k;
	s->cap = ns->n + s->n + 1;
	pidx_rebuild(s);
	return MOLT_OK;
}

static int set_limits(sup *s, const sup *ns)
{
	uint64_t *t;

	if (ns->intensity != s->intensity) {
		t = molt_calloc((size_t)ns->intensity + 1, sizeof(*t));
		if (!t)
			return MOLT_ENOMEM;
		molt_free(s->times);
		s->times = t;
		s->ntimes = 0;
	}
	s->strategy = ns->strategy;
	s->intensity = ns->intensity;
	s->period_ms = ns->period_ms;
	return MOLT_OK;
}

/* Terminate the gone children (reverse order); update_done follows. */
static void update(molt_ctx *ctx, sup *s, supreq *r)
{
	molt_err err = MOLT_ERR_INIT;
	sup *ns = NULL;
	size_t *idx, n = 0;

	if (s->seq_active) {
		req_complete(r, MOLT_EBUSY, 0, "busy restarting children");
		return;
	}
	if (molt__sup_spec_parse(&ns, r->spec, strlen(r->spec), &err) < 0) {
		req_complete(r, err.code, 0, err.msg);
		return;
	}
	if ((s->strategy == SIMPLE_ONE_FOR_ONE) !=
	    (ns->strategy == SIMPLE_ONE_FOR_ONE)) {
		molt__sup_free(ns);
		req_complete(r, MOLT_EINVAL, 0,
			     "a supervisor cannot change to or from "
			     "simple_one_for_one");
		return;
	}
	if (set_limits(s, ns) < 0 ||
	    (s->strategy != SIMPLE_ONE_FOR_ONE && merge_children(s, ns) < 0)) {
		molt__sup_free(ns);
		req_complete(r, MOLT_ENOMEM, 0, "out of memory");
		return;
	}
	if (s->strategy == SIMPLE_ONE_FOR_ONE) {
		/* running children keep their spec; new ones take this */
		molt__sup_child_clear(&s->tmpl);
		s->tmpl = ns->tmpl;
		memset(&ns->tmpl, 0, sizeof(ns->tmpl));
	}
	molt__sup_free(ns);
	idx = molt_malloc((s->n ? s->n : 1) * sizeof(*idx));
	for (size_t i = s->n; idx && i-- > 0;)
		if (s->kids[i].gone && s->kids[i].pid)
			idx[n++] = i;
	s->seq_req = r;
	s->seq_update = 1;
	s->seq_count = 0;
	seq_start(ctx, s, idx, n, THEN_RECONCILE);
}

/* The gone children have exited: forget them, start the new ones; the
 * request's error names the first child that failed to start (it is
 * not retried: the release that brought it is at fault). */
static void update_done(molt_ctx *ctx, sup *s)
{
	molt_err err = MOLT_ERR_INIT, first = MOLT_ERR_INIT;
	size_t k = 0, started = 0;

	for (size_t i = 0; i < s->n; i++) {
		if (s->kids[i].gone)
			molt__sup_child_clear(&s->kids[i]);
		else
			s->kids[k++] = s->kids[i];
	}
	s->n = k;
	pidx_rebuild(s);
	for (size_t i = 0; i < s->n; i++) {
		child *c = &s->kids[i];

		if (!c->want || c->pid)
			continue;
		if (start_kid(ctx, s, i, &err) == MOLT_OK) {
			started++;
			continue;
		}
		c->want = 0;
		molt_logf(ctx, MOLT_LOG_ERROR, "update: %s", err.msg);
		if (!first.code)
			first = err;
	}
	s->seq_update = 0;
	req_complete(s->seq_req, first.code ? first.code : MOLT_OK, started,
		     first.msg);
	s->seq_req = NULL;
}

/* In p's turn: only a process running this module acts. */
static void req_run(molt_runtime *rt, molt_proc *p, molt__sysfn *fn)
{
	supreq *r = (supreq *)fn;
	molt_ctx ctx = {rt, p, p->ver, 0};

	if (p->ver->desc != &molt__sup_module || !p->state ||
	    molt__pf_has(p, MOLT__PF_EXITING)) {
		req_complete(r, MOLT_EINVAL, 0, "not a supervisor");
		return;
	}
	if (r->op == REQ_UPDATE)
		update(&ctx, p->state, r);
	else if (r->op == REQ_STOP)
		stop_module(&ctx, p->state, r);
	else if (r->op == REQ_START)
		start_module(&ctx, p->state, r);
	else
		forget_stopped(p->state, r);
}

static void req_abandon(molt__sysfn *fn)
{
	req_complete((supreq *)fn, MOLT_ENOTFOUND, 0, "no such process");
}

static supreq *req_new(int op, const char *mod)
{
	supreq *r = molt_calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->fn.run = req_run;
	r->fn.abandon = req_abandon;
	r->op = op;
	snprintf(r->mod, sizeof(r->mod), "%s", mod);
	atomic_init(&r->refs, 2);
	pthread_mutex_init(&r->mu, NULL);
	molt__cond_init_mono(&r->cv);
	return r;
}

/* Post op on mod to supervisor pid and wait for its outcome. */
/* Post r (its two references: ours and the supervisor side's) to
 * supervisor pid and wait for its outcome. */
static int sup_request(molt_runtime *rt, molt_pid pid, supreq *r,
		       uint32_t timeout_ms, size_t *n_out, molt_err *err)
{
	struct timespec ts;
	char pb[32];
	int rc = 0;

	molt_pid_format(pid, pb, sizeof(pb));
	if ((rc = molt__proc_post(rt, pid, &r->fn)) < 0) {
		req_unref(r);
		req_unref(r);
		return molt_err_set(err, rc, "supervisor %s: no such process",
				    pb);
	}
	molt__deadline(&ts, CLOCK_MONOTONIC, timeout_ms);
	pthread_mutex_lock(&r->mu);
	while (!r->done && rc == 0)
		rc = pthread_cond_timedwait(&r->cv, &r->mu, &ts);
	if (r->done && r->rc < 0)
		rc = molt_err_set(err, r->rc, "supervisor %s: %s", pb, r->msg);
	else if (!r->done)
		rc = molt_err_set(err, MOLT_ETIMEOUT,
				  "supervisor %s: no answer in %u ms", pb,
				  timeout_ms);
	else
		rc = MOLT_OK;
	if (rc == MOLT_OK && n_out)
		*n_out = r->n;
	pthread_mutex_unlock(&r->mu);
	req_unref(r);
	return rc;
}

/* A stop, start or forget request on module mod. */
static int module_request(molt_runtime *rt, molt_pid pid, int op,
			  const char *mod, uint32_t timeout_ms, size_t *n_out,
			  molt_err *err)
{
	supreq *r;

	if (strlen(mod) >= sizeof(r->mod))
		return molt_err_set(err, MOLT_EINVAL, "module name too long");
	if (!(r = req_new(op, mod)))
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	return sup_request(rt, pid, r, timeout_ms, n_out, err);
}

int molt__sup_stop_module(molt_runtime *rt, molt_pid pid, const char *mod,
			  uint32_t timeout_ms, size_t *n_out, molt_err *err)
{
	return module_request(rt, pid, REQ_STOP, mod, timeout_ms, n_out, err);
}

int molt__sup_start_module(molt_runtime *rt, molt_pid pid, const char *mod,
			   uint32_t timeout_ms, size_t *n_out, molt_err *err)
{
	return module_request(rt, pid, REQ_START, mod, timeout_ms, n_out, err);
}

int molt__sup_forget_stopped(molt_runtime *rt, molt_pid pid, const char *mod,
			     uint32_t timeout_ms, molt_err *err)
{
	return module_request(rt, pid, REQ_FORGET, mod, timeout_ms, NULL, err);
}

int molt__sup_update(molt_runtime *rt, molt_pid pid, const char *spec_json,
		     uint32_t timeout_ms, size_t *n_out, molt_err *err)
{
	supreq *r = req_new(REQ_UPDATE, "");

	if (!r || !(r->spec = molt_strdup(spec_json))) {
		if (r) { /* both references: nobody else has it */
			req_unref(r);
			req_unref(r);
		}
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	}
	return sup_request(rt, pid, r, timeout_ms, n_out, err);
}

int molt_runtime_update_supervisor(molt_runtime *rt, molt_pid pid,
				   const char *spec_json, molt_err *err)
{
	if (!rt || !spec_json)
		return molt_err_set(err, MOLT_EINVAL,
				    "update_supervisor: no runtime or spec");
	return molt__sup_update(rt, pid, spec_json, 60000, NULL, err);
}

static int sup_call(molt_ctx *ctx, const molt_msg *req, molt_from from,
		    void **state)
{
	sup *s = *state;
	const char *d = req->data ? req->data : "";
	char buf[32], *text;
	cJSON *arr;
	int rc;

	if (req->len >= 12 && memcmp(d, "start_child ", 12) == 0)
		return start_dynamic(ctx, s, d + 12, req->len - 12, from);
	if (req->len == 5 && memcmp(d, "count", 5) == 0) {
		snprintf(buf, sizeof(buf), "%zu", s->n);
		return reply_str(ctx, from, buf);
	}
	if (req->len != 14 || memcmp(d, "which_children", 14) != 0)
		return reply_str(ctx, from, "error: unknown request");
	arr = cJSON_CreateArray();
	for (size_t i = 0; arr && i < s->n; i++)
		add_child_json(arr, &s->kids[i]);
	text = arr ? cJSON_PrintUnformatted(arr) : NULL;
	rc = reply_str(ctx, from, text ? text : "[]");
	cJSON_free(text);
	cJSON_Delete(arr);
	return rc;
}

static int sup_info(molt_ctx *ctx, const molt_msg *m, void **state)
{
	sup *s = *state;

	if (m->kind == MOLT_MSG_EXIT)
		on_exit_msg(ctx, s, m);
	else if (m->kind == MOLT_MSG_TIMER && s->seq_active &&
		 m->ref == s->seq_timer && s->seq_pid)
		molt_exit(ctx, s->seq_pid, "kill");
	return MOLT_CB_OK;
}

static void sup_free_state(molt_ctx *ctx, void *state)
{
	(void)ctx;
	molt__sup_free(state);
}

static size_t sup_format(const void *state, char *buf, size_t size)
{
	const sup *s = state;
	int n = snprintf(buf, size, "{\"strategy\":\"%s\",\"children\":%zu}",
			 molt__sup_strategies[s->strategy], s->n);

	return n < 0 ? 0 : (size_t)n;
}

const molt_module molt__sup_module = {
	.abi = MOLT_MODULE_ABI,
	.behaviour = MOLT_BEHAVIOUR_SERVER,
	.name = "supervisor",
	.vsn = "1.0.0",
	.init = sup_init,
	.handle_call = sup_call,
	.handle_info = sup_info,
	.free_state = sup_free_state,
	.format_state = sup_format,
};

int molt_runtime_start_supervisor(molt_runtime *rt, molt_pid *out,
				  const char *spec_json, molt_err *err)
{
	sup *s;
	int rc = molt__sup_spec_parse(&s, spec_json, strlen(spec_json), err);

	if (rc < 0)
		return rc;
	molt__sup_free(s);
	return molt_runtime_spawn(rt, out, "supervisor", spec_json,
				  strlen(spec_json), err);
}
