/* System requests on a process: a separate path from ordinary messages. */
#include "sysreq.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "molt/common.h"

#include "code/modtab.h"

#include "molt/banned.h"

static void batch_unref(molt__batch *b)
{
	if (atomic_fetch_sub(&b->refs, 1) != 1)
		return;
	for (size_t i = 0; i < b->n; i++) {
		molt_free(b->reqs[i].msg);
		molt_free(b->reqs[i].text);
	}
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->cv);
	molt_free(b->chg_vsn);
	molt_free(b->extra);
	molt_free(b);
}

/* One request fewer to wait for; the last one wakes the waiter. */
static void count_down(molt__batch *b)
{
	if (atomic_fetch_sub(&b->remaining, 1) != 1)
		return;
	pthread_mutex_lock(&b->mu);
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

static void finish(molt__sysreq *r, int rc)
{
	molt__batch *b = r->b;

	r->rc = rc;
	atomic_store(&r->state, MOLT__RQ_DONE);
	count_down(b);
	batch_unref(b);
}

/* Claim r for running; 0 if the waiter cancelled it (then let go). */
static int claim(molt__sysreq *r)
{
	int q = MOLT__RQ_QUEUED;

	if (atomic_compare_exchange_strong(&r->state, &q, MOLT__RQ_STARTED))
		return 1;
	batch_unref(r->b);
	return 0;
}

/* The process exited before it ran r. */
static void abandon(molt__sysfn *fn)
{
	molt__sysreq *r = (molt__sysreq *)fn;

	if (claim(r))
		finish(r, MOLT_ENOTFOUND);
}

/* Keep a failure message: err's text, owned by r. */
static int fail(molt__sysreq *r, const molt_err *err)
{
	r->msg = molt_strdup(err->msg);
	return err->code;
}

static void set_suspended(molt_proc *p, int on)
{
	molt__spin_lock(&p->lock);
	if (on)
		molt__pf_set(p, MOLT__PF_SUSPENDED);
	else
		molt__pf_clear(p, MOLT__PF_SUSPENDED);
	molt__spin_unlock(&p->lock);
}

static int do_change(molt_runtime *rt, molt_proc *p, molt__sysreq *r,
		     molt_err *err)
{
	molt__version *nv;
	molt__batch *b = r->b;
	molt_vsn_change chg = {b->chg_down, b->chg_vsn ? b->chg_vsn : ""};
	molt_ctx ctx = {rt, p, NULL, 0};
	char pidbuf[32];
	void *ns = NULL;
	int rc;

	molt_pid_format(p->pid, pidbuf, sizeof(pidbuf));
	if (!molt__pf_has(p, MOLT__PF_SUSPENDED))
		return molt_err_set(err, MOLT_EINVAL,
				    "process %s is not suspended", pidbuf);
	if (p->prev_ver)
		return molt_err_set(err, MOLT_EBUSY,
				    "process %s has an uncommitted code change",
				    pidbuf);
	nv = molt__modtab_current(rt->modtab, p->ver->mod->name);
	if (!nv)
		return molt_err_set(err, MOLT_ENOTFOUND,
				    "module '%s' has no current version",
				    p->ver->mod->name);
	if (!nv->desc->code_change &&
	    nv->desc->state_vsn != p->ver->desc->state_vsn) {
		molt__version_unref(nv);
		return molt_err_set(err, MOLT_EINVAL,
				    "module '%s' %s has no code_change for "
				    "process %s (state_vsn %u, current %u)",
				    p->ver->desc->name, nv->desc->vsn, pidbuf,
				    p->ver->desc->state_vsn,
				    nv->desc->state_vsn);
	}
	atomic_fetch_add(&nv->procs, 1); /* with nv's reference, for p */
	if (!nv->desc->code_change) {
		molt__proc_move(rt, p, nv, p->state, MOLT__MOVE_KEEP, NULL);
		return MOLT_OK;
	}
	ctx.ver = nv;
	rc = nv->desc->code_change(&ctx, &chg, p->state,
				   b->extra ? b->extra : "[]", &ns);
	if (rc < 0 || molt__pf_has(p, MOLT__PF_EXITING)) {
		char why[128];

		molt_err_set(err, MOLT_ERROR,
			     "module '%s' %s code_change failed for process "
			     "%s: %s",
			     nv->desc->name, nv->desc->vsn, pidbuf,
			     molt__proc_unstop(p, why, sizeof(why)));
		molt__vtally_drop(NULL, nv, 1);
		return MOLT_ERROR;
	}
	molt__proc_move(rt, p, nv, ns, MOLT__MOVE_KEEP, NULL);
	return MOLT_OK;
}

/* A state is formatted by the version whose layout it has. During an
 * uncommitted change that is not always p->ver (a code_change {down, Vsn}
 * runs in the newer code and leaves a state in the older layout, whose
 * code is not loaded yet): the committed state, with its version. */
static int do_state(molt_proc *p, molt__sysreq *r)
{
	const molt__version *v = p->prev_ver ? p->prev_ver : p->ver;
	const void *state = p->prev_ver ? p->prev_state : p->state;
	size_t (*fmt)(const void *, char *, size_t) = v->desc->format_state;
	size_t need;

	if (!fmt) {
		r->text = molt_strdup("<no format_state>");
		return r->text ? MOLT_OK : MOLT_ENOMEM;
	}
	need = fmt(state, NULL, 0);
	r->text = molt_malloc(need + 1);
	if (!r->text)
		return MOLT_ENOMEM;
	fmt(state, r->text, need + 1);
	r->text[need] = '\0';
	return MOLT_OK;
}

static int execute(molt_runtime *rt, molt_proc *p, molt__sysreq *r)
{
	molt_err err = MOLT_ERR_INIT;
	int rc;

	switch (r->b->op) {
	case MOLT__SYS_SUSPEND:
		set_suspended(p, 1);
		return MOLT_OK;
	case MOLT__SYS_RESUME:
		set_suspended(p, 0);
		return MOLT_OK;
	case MOLT__SYS_CHANGE:
		rc = do_change(rt, p, r, &err);
		return rc < 0 ? fail(r, &err) : rc;
	case MOLT__SYS_COMMIT:
		molt__proc_move_commit(rt, p, NULL);
		return MOLT_OK;
	case MOLT__SYS_REVERT:
		molt__proc_move_revert(rt, p, NULL);
		return MOLT_OK;
	case MOLT__SYS_STATE:
		return do_state(p, r);
	}
	return MOLT_EINVAL;
}

static void run(molt_runtime *rt, molt_proc *p, molt__sysfn *fn)
{
	molt__sysreq *r = (molt__sysreq *)fn;

	if (claim(r))
		finish(r, execute(rt, p, r));
}

static void batch_free_new(molt__batch *b)
{
	molt_free(b->chg_vsn);
	molt_free(b->extra);
	molt_free(b);
}

/* A batch of n requests for op, referenced once (by the waiter). */
static molt__batch *batch_new(int op, size_t n, const molt_vsn_change *chg,
			      const char *extra)
{
	molt__batch *b;

	if (n > (SIZE_MAX - sizeof(*b)) / sizeof(b->reqs[0]))
		return NULL;
	b = molt_calloc(1, sizeof(*b) + n * sizeof(b->reqs[0]));
	if (!b)
		return NULL;
	b->op = op;
	b->n = n;
	if (chg) {
		b->chg_down = chg->down;
		b->chg_vsn = molt_strdup(chg->vsn ? chg->vsn : "");
	}
	if (extra)
		b->extra = molt_strdup(extra);
	if ((chg && !b->chg_vsn) || (extra && !b->extra)) {
		batch_free_new(b);
		return NULL;
	}
	atomic_init(&b->refs, 1);
	atomic_init(&b->remaining, n);
	for (size_t i = 0; i < n; i++) {
		b->reqs[i].fn = (molt__sysfn){run, abandon};
		b->reqs[i].b = b;
		atomic_init(&b->reqs[i].state, MOLT__RQ_QUEUED);
	}
	pthread_mutex_init(&b->mu, NULL);
	molt__cond_init_mono(&b->cv);
	return b;
}

/* Queue request i for pid. A dead pid completes it with MOLT_ENOTFOUND;
 * out of memory with MOLT_ENOMEM. */
static void send_one(molt_runtime *rt, molt__batch *b, size_t i, molt_pid pid)
{
	molt__sysreq *r = &b->reqs[i];
	int rc;

	atomic_fetch_add(&b->refs, 1); /* the message's */
	rc = molt__proc_post(rt, pid, &r->fn);
	if (rc == MOLT_OK)
		return;
	r->rc = rc == MOLT_ENOMEM ? MOLT_ENOMEM : MOLT_ENOTFOUND;
	atomic_store(&r->state, MOLT__RQ_DONE);
	atomic_fetch_sub(&b->remaining, 1);
	atomic_fetch_sub(&b->refs, 1);
}

/* Wait until every request is done or, at the deadline, cancel those
 * not started (MOLT_ETIMEOUT) and wait for the started ones. */
static void wait_all(molt__batch *b, const struct timespec *ts)
{
	int rc = 0;

	pthread_mutex_lock(&b->mu);
	while (atomic_load(&b->remaining) && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&b->cv, &b->mu, ts);
	pthread_mutex_unlock(&b->mu);
	for (size_t i = 0; i < b->n && atomic_load(&b->remaining); i++) {
		molt__sysreq *r = &b->reqs[i];
		int q = MOLT__RQ_QUEUED;

		if (atomic_compare_exchange_strong(&r->state, &q,
						   MOLT__RQ_CANCELLED)) {
			r->rc = MOLT_ETIMEOUT;
			atomic_fetch_sub(&b->remaining, 1);
		}
	}
	pthread_mutex_lock(&b->mu);
	while (atomic_load(&b->remaining)) /* started: they end quickly */
		pthread_cond_wait(&b->cv, &b->mu);
	pthread_mutex_unlock(&b->mu);
}

static const char *const op_names[] = {
	"",
	"suspend",
	"resume",
	"change_code",
	"commit_code",
	"revert_code",
	"get_state",
};

/* The outcome of request i (for pid) as a code and, on failure, err. */
static int result(molt__batch *b, size_t i, molt_pid pid, uint32_t ms,
		  molt_err *err)
{
	molt__sysreq *r = &b->reqs[i];
	char pidbuf[32];

	molt_pid_format(pid, pidbuf, sizeof(pidbuf));
	switch (r->rc) {
	case MOLT_OK:
		return MOLT_OK;
	case MOLT_ETIMEOUT:
		return molt_err_set(err, r->rc,
				    "%s of process %s timed out after %u ms",
				    op_names[b->op], pidbuf, ms);
	case MOLT_ENOTFOUND:
		return molt_err_set(err, r->rc, "%s: no process %s",
				    op_names[b->op], pidbuf);
	default:
		if (r->msg)
			return molt_err_set(err, r->rc, "%s", r->msg);
		return molt_err_set(err, r->rc, "%s of process %s failed",
				    op_names[b->op], pidbuf);
	}
}

int molt__sysreq_call(molt_runtime *rt, molt_pid pid, int op,
		      const molt_vsn_change *chg, const char *extra,
		      char **text_out, uint32_t timeout_ms, molt_err *err)
{
	molt__batch *b = batch_new(op, 1, chg, extra);
	struct timespec ts;
	int rc;

	if (!b)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	send_one(rt, b, 0, pid);
	molt__deadline(&ts, CLOCK_MONOTONIC, timeout_ms);
	wait_all(b, &ts);
	rc = result(b, 0, pid, timeout_ms, err);
	if (rc == MOLT_OK && text_out) {
		*text_out = b->reqs[0].text;
		b->reqs[0].text = NULL;
	}
	batch_unref(b);
	return rc;
}
