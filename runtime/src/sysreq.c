/* System requests on a process: a separate path from ordinary messages. */
#include "sysreq.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "molt/common.h"

#include "modtab.h"

#include "molt/banned.h"

static void req_unref(molt__sysreq *r)
{
	if (atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	molt_free(r->chg_vsn);
	molt_free(r->extra);
	molt_free(r->text);
	molt_free(r);
}

static molt__sysreq *req_of(molt__msg *m)
{
	molt__sysreq *r;

	memcpy(&r, m->data, sizeof(r));
	return r;
}

static void finish(molt__sysreq *r, int rc)
{
	pthread_mutex_lock(&r->mu);
	r->rc = rc;
	r->done = 1;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	req_unref(r);
}

void molt__sysreq_abandon(molt__msg *m)
{
	molt__sysreq *r = req_of(m);

	molt_err_set(&r->err, MOLT_ENOTFOUND, "process exited");
	finish(r, MOLT_ENOTFOUND);
}

static void set_suspended(molt_proc *p, int on)
{
	molt__spin_lock(&p->lock);
	if (on)
		p->flags |= MOLT__PF_SUSPENDED;
	else
		p->flags &= (uint8_t)~MOLT__PF_SUSPENDED;
	molt__spin_unlock(&p->lock);
}

static void switch_to(molt_proc *p, molt__version *nv, void *ns)
{
	molt__spin_lock(&p->lock);
	p->flags &= (uint8_t)~MOLT__PF_NOMOVE;
	p->prev_ver = p->ver;
	p->prev_state = p->state;
	p->ver = nv;
	p->state = ns;
	molt__spin_unlock(&p->lock);
	atomic_fetch_add(&nv->procs, 1);
	atomic_fetch_sub(&p->prev_ver->procs, 1);
}

static int do_change(molt_runtime *rt, molt_proc *p, molt__sysreq *r)
{
	molt__version *nv;
	molt_vsn_change chg = {r->chg_down, r->chg_vsn ? r->chg_vsn : ""};
	molt_ctx ctx = {rt, p, NULL};
	char pidbuf[32];
	void *ns = NULL;
	int rc;

	molt_pid_format(p->pid, pidbuf, sizeof(pidbuf));
	if (!(p->flags & MOLT__PF_SUSPENDED))
		return molt_err_set(&r->err, MOLT_EINVAL,
				    "process %s is not suspended", pidbuf);
	if (p->prev_ver)
		return molt_err_set(&r->err, MOLT_EBUSY,
				    "process %s has an uncommitted code change",
				    pidbuf);
	nv = molt__modtab_current(&rt->modtab, p->ver->mod->name);
	if (!nv)
		return molt_err_set(&r->err, MOLT_ENOTFOUND,
				    "module '%s' has no current version",
				    p->ver->mod->name);
	if (!nv->desc->code_change) {
		switch_to(p, nv, p->state); /* same state, new code */
		return MOLT_OK;
	}
	ctx.ver = nv;
	rc = nv->desc->code_change(&ctx, &chg, p->state,
				   r->extra ? r->extra : "[]", &ns);
	if (rc < 0 || (p->flags & MOLT__PF_EXITING)) {
		molt_err_set(&r->err, MOLT_ERROR,
			     "module '%s' %s code_change failed for process "
			     "%s: %s",
			     nv->mod->name, nv->desc->vsn, pidbuf,
			     p->stop_reason ? p->stop_reason
					    : "returned error");
		molt__spin_lock(&p->lock);
		p->flags &= (uint8_t)~MOLT__PF_EXITING;
		molt__spin_unlock(&p->lock);
		molt_free(p->stop_reason);
		p->stop_reason = NULL;
		molt__version_unref(nv);
		return MOLT_ERROR;
	}
	switch_to(p, nv, ns);
	return MOLT_OK;
}

static int do_commit(molt_runtime *rt, molt_proc *p)
{
	molt__version *pv = p->prev_ver;
	molt_ctx ctx = {rt, p, pv};

	if (!pv)
		return MOLT_OK;
	if (p->prev_state && p->prev_state != p->state && pv->desc->free_state)
		pv->desc->free_state(&ctx, p->prev_state);
	molt__spin_lock(&p->lock);
	p->prev_ver = NULL;
	p->prev_state = NULL;
	molt__spin_unlock(&p->lock);
	molt__version_unref(pv);
	return MOLT_OK;
}

static int do_revert(molt_runtime *rt, molt_proc *p)
{
	molt__version *nv = p->ver;
	molt_ctx ctx = {rt, p, nv};

	if (!p->prev_ver)
		return MOLT_OK;
	if (p->state != p->prev_state && nv->desc->free_state)
		nv->desc->free_state(&ctx, p->state);
	molt__spin_lock(&p->lock);
	p->ver = p->prev_ver;
	p->state = p->prev_state;
	p->prev_ver = NULL;
	p->prev_state = NULL;
	molt__spin_unlock(&p->lock);
	atomic_fetch_add(&p->ver->procs, 1);
	atomic_fetch_sub(&nv->procs, 1);
	molt__version_unref(nv);
	return MOLT_OK;
}

static int do_state(molt_proc *p, molt__sysreq *r)
{
	size_t (*fmt)(const void *, char *, size_t) =
		p->ver->desc->format_state;
	size_t need;

	if (!fmt) {
		r->text = molt_strdup("<no format_state>");
		return r->text ? MOLT_OK : MOLT_ENOMEM;
	}
	need = fmt(p->state, NULL, 0);
	r->text = molt_malloc(need + 1);
	if (!r->text)
		return MOLT_ENOMEM;
	fmt(p->state, r->text, need + 1);
	r->text[need] = '\0';
	return MOLT_OK;
}

static int execute(molt_runtime *rt, molt_proc *p, molt__sysreq *r)
{
	switch (r->op) {
	case MOLT__SYS_SUSPEND:
		set_suspended(p, 1);
		return MOLT_OK;
	case MOLT__SYS_RESUME:
		set_suspended(p, 0);
		return MOLT_OK;
	case MOLT__SYS_CHANGE:
		return do_change(rt, p, r);
	case MOLT__SYS_COMMIT:
		return do_commit(rt, p);
	case MOLT__SYS_REVERT:
		return do_revert(rt, p);
	case MOLT__SYS_STATE:
		return do_state(p, r);
	}
	return MOLT_EINVAL;
}

void molt__sysreq_run(molt_runtime *rt, molt_proc *p, molt__msg *m)
{
	molt__sysreq *r = req_of(m);

	pthread_mutex_lock(&r->mu);
	if (r->cancelled) {
		pthread_mutex_unlock(&r->mu);
		finish(r, MOLT_ETIMEOUT);
		return;
	}
	r->started = 1;
	pthread_mutex_unlock(&r->mu);
	finish(r, execute(rt, p, r));
}

static molt__sysreq *req_new(int op, const molt_vsn_change *chg,
			     const char *extra)
{
	molt__sysreq *r = molt_calloc(1, sizeof(*r));
	pthread_condattr_t ca;

	if (!r)
		return NULL;
	atomic_init(&r->refs, 2);
	r->op = op;
	pthread_mutex_init(&r->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (chg) {
		r->chg_down = chg->down;
		r->chg_vsn = molt_strdup(chg->vsn ? chg->vsn : "");
	}
	if (extra)
		r->extra = molt_strdup(extra);
	if ((chg && !r->chg_vsn) || (extra && !r->extra)) {
		atomic_store(&r->refs, 1);
		req_unref(r);
		return NULL;
	}
	return r;
}

static void deadline(struct timespec *ts, uint32_t timeout_ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += timeout_ms / 1000;
	ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Wait for r until ts; on timeout before it started, cancel it. */
static int req_wait(molt__sysreq *r, const struct timespec *ts)
{
	int rc = 0;

	pthread_mutex_lock(&r->mu);
	while (!r->done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&r->cv, &r->mu, ts);
	if (!r->done && !r->started) {
		r->cancelled = 1;
		pthread_mutex_unlock(&r->mu);
		return MOLT_ETIMEOUT;
	}
	while (!r->done) /* started: it finishes without blocking */
		pthread_cond_wait(&r->cv, &r->mu);
	pthread_mutex_unlock(&r->mu);
	return MOLT_OK;
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

/* Queue op for pid; *out holds the caller's reference. MOLT_ENOMEM or
 * MOLT_ENOTFOUND (pid is dead) otherwise. */
static int req_send(molt_runtime *rt, molt_pid pid, int op,
		    const molt_vsn_change *chg, const char *extra,
		    molt__sysreq **out)
{
	molt__sysreq *r = req_new(op, chg, extra);
	molt__msg *m;

	if (!r)
		return MOLT_ENOMEM;
	m = molt__msg_new(MOLT__SIG_SYS, 0, 0, &r, sizeof(r), NULL);
	if (!m || molt__proc_deliver(rt, pid, m, 1) < 0) {
		atomic_store(&r->refs, 1);
		req_unref(r);
		return m ? MOLT_ENOTFOUND : MOLT_ENOMEM;
	}
	*out = r;
	return MOLT_OK;
}

/* Wait for r (sent to pid) and turn its outcome into rc and err. */
static int req_result(molt__sysreq *r, molt_pid pid, const struct timespec *ts,
		      uint32_t timeout_ms, char **text_out, molt_err *err)
{
	char pidbuf[32];
	int rc;

	molt_pid_format(pid, pidbuf, sizeof(pidbuf));
	if (req_wait(r, ts) < 0) {
		molt_err_set(err, MOLT_ETIMEOUT,
			     "%s of process %s timed out after %u ms",
			     op_names[r->op], pidbuf, timeout_ms);
		req_unref(r);
		return MOLT_ETIMEOUT;
	}
	rc = r->rc;
	if (rc < 0 && r->err.code)
		molt_err_set(err, rc, "%s", r->err.msg);
	else if (rc < 0)
		molt_err_set(err, rc, "%s of process %s failed",
			     op_names[r->op], pidbuf);
	else if (text_out) {
		*text_out = r->text;
		r->text = NULL;
	}
	req_unref(r);
	return rc;
}

static int send_error(int rc, int op, molt_pid pid, molt_err *err)
{
	char pidbuf[32];

	if (rc == MOLT_ENOMEM)
		return molt_err_set(err, rc, "out of memory");
	return molt_err_set(err, rc, "%s: no process %s", op_names[op],
			    molt_pid_format(pid, pidbuf, sizeof(pidbuf)));
}

int molt__proc_sys(molt_runtime *rt, molt_pid pid, int op,
		   const molt_vsn_change *chg, const char *extra,
		   char **text_out, uint32_t timeout_ms, molt_err *err)
{
	molt__sysreq *r;
	struct timespec ts;
	int rc = req_send(rt, pid, op, chg, extra, &r);

	if (rc < 0)
		return send_error(rc, op, pid, err);
	deadline(&ts, timeout_ms);
	return req_result(r, pid, &ts, timeout_ms, text_out, err);
}

int molt_runtime_sys_many(molt_runtime *rt, int op, const molt_pid *pids,
			  size_t n, const molt_vsn_change *chg,
			  const char *extra_json, uint32_t timeout_ms,
			  int *rcs_out, molt_err *err)
{
	molt__sysreq **rs;
	struct timespec ts;
	int first = MOLT_OK;

	if (op < MOLT_SYS_SUSPEND || op > MOLT_SYS_REVERT_CODE)
		return molt_err_set(err, MOLT_EINVAL, "unknown system op %d",
				    op);
	rs = molt_calloc(n ? n : 1, sizeof(*rs));
	if (!rs)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	/* all requests first: the schedulers work on them in parallel */
	for (size_t i = 0; i < n; i++) {
		int rc = req_send(rt, pids[i], op, chg, extra_json, &rs[i]);

		if (rcs_out)
			rcs_out[i] = rc;
		if (rc == MOLT_ENOMEM && first == MOLT_OK)
			first = send_error(rc, op, pids[i], err);
	}
	deadline(&ts, timeout_ms); /* then one deadline for all of them */
	for (size_t i = 0; i < n; i++) {
		molt_err e = MOLT_ERR_INIT;
		int rc;

		if (!rs[i])
			continue;
		rc = req_result(rs[i], pids[i], &ts, timeout_ms, NULL, &e);
		if (rcs_out)
			rcs_out[i] = rc;
		if (rc < 0 && rc != MOLT_ENOTFOUND && first == MOLT_OK)
			first = molt_err_set(err, rc, "%s", e.msg);
	}
	molt_free(rs);
	return first;
}
