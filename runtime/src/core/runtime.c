/* The embedding API (runtime.h): lifecycle, calls from outside, names. */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "molt/common.h"
#include "molt/log.h"

#include "proc.h"
#include "rt.h"
#include "sock.h"
#include "watch.h"

#include "molt/banned.h"

void molt__spin_lock(molt__spin *l)
{
	for (unsigned n = 0;; n++) {
		if (!atomic_exchange_explicit(l, 1, memory_order_acquire))
			return;
		while (atomic_load_explicit(l, memory_order_relaxed)) {
			if (++n > 64)
				sched_yield();
		}
	}
}

void molt__cond_init_mono(pthread_cond_t *cv)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &ca);
	pthread_condattr_destroy(&ca);
}

void molt__deadline(struct timespec *ts, clockid_t clk, uint32_t ms)
{
	clock_gettime(clk, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

molt_ref molt__rt_ref(molt_runtime *rt, int with_timer)
{
	return (atomic_fetch_add_explicit(&rt->next_ref, 1,
					  memory_order_relaxed)
		<< 1) |
	       (with_timer ? 1u : 0u);
}

char *molt_pid_format(molt_pid pid, char *buf, size_t size)
{
	snprintf(buf, size, "<%" PRIu32 ".%" PRIu32 ">", (uint32_t)pid,
		 (uint32_t)(pid >> 32));
	return buf;
}

/* --- lifecycle --- */

static uint64_t random_seed(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^
	       ((uint64_t)getpid() << 40) ^ 0x9e3779b97f4a7c15ull;
}

static void fill_defaults(molt_runtime_options *o)
{
	long n;

	if (o->deterministic) {
		o->schedulers = 1;
		if (!o->seed) {
			const char *env = getenv("MOLT_SEED");

			o->seed = env ? strtoull(env, NULL, 0) : random_seed();
		}
	}
	if (!o->schedulers) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		o->schedulers = n > 0 ? (unsigned)n : 1;
	}
	if (o->schedulers > 256)
		o->schedulers = 256;
	if (!o->budget)
		o->budget = 64;
	if (!o->long_callback_ms)
		o->long_callback_ms = 100;
	if (!o->hung_callback_s)
		o->hung_callback_s = 60;
	if (!o->long_queue)
		o->long_queue = 10000;
	if (o->long_queue > UINT32_MAX - 1)
		o->long_queue = UINT32_MAX - 1;
	if (!o->large_heap)
		o->large_heap = 64ll * 1024 * 1024;
}

int molt__rt_new(molt_runtime **out, const molt_runtime_options *opts,
		 molt_err *err)
{
	molt_runtime *rt = molt_calloc(1, sizeof(*rt));
	molt_runtime_options o = MOLT_RUNTIME_OPTIONS_INIT;

	if (!rt)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	if (opts)
		o = *opts;
	fill_defaults(&o);
	rt->opts = o;
	atomic_init(&rt->next_ref, 1);
	pthread_mutex_init(&rt->tbl_mu, NULL);
	pthread_cond_init(&rt->live_cv, NULL);
	pthread_mutex_init(&rt->reg_mu, NULL);
	pthread_mutex_init(&rt->ext_mu, NULL);
	pthread_cond_init(&rt->exit_cv, NULL);
	if (molt__sched_init(rt) < 0 || molt__timer_init(rt) < 0 ||
	    molt__watch_init(rt) < 0 || molt__socks_init(rt) < 0 ||
	    molt__obs_init(rt) < 0 || molt__trace_init(rt) < 0) {
		molt__rt_free(rt);
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	}
	*out = rt;
	return MOLT_OK;
}

int molt_runtime_start(molt_runtime *rt, molt_err *err)
{
	if (atomic_load(&rt->started))
		return MOLT_OK;
	rt->start_ms = molt_now_ms();
	if (molt__timer_start(rt) < 0)
		return molt_err_set(err, MOLT_EIO, "cannot start timer thread");
	if (molt__sched_start(rt) < 0) {
		molt__timer_stop(rt);
		return molt_err_set(err, MOLT_EIO,
				    "cannot start scheduler threads");
	}
	if (molt__watch_start(rt) < 0)
		molt_log(MOLT_LOG_WARN, "runtime",
			 "cannot start the watchdog: callbacks are not timed");
	atomic_store(&rt->started, 1);
	if (rt->opts.deterministic)
		molt_log(MOLT_LOG_INFO, "runtime",
			 "deterministic mode, seed %" PRIu64, rt->opts.seed);
	return MOLT_OK;
}

uint64_t molt_runtime_seed(const molt_runtime *rt)
{
	return rt->opts.seed;
}

unsigned molt_runtime_schedulers(const molt_runtime *rt)
{
	return rt->opts.schedulers;
}

/* Send reason to every live process; returns how many there were. */
static size_t signal_all(molt_runtime *rt, const char *reason, unsigned flags)
{
	unsigned hw = atomic_load(&rt->hw);
	size_t n = 0;

	for (uint32_t i = 0; i < hw; i++) {
		molt_proc *p = molt__proc_at(rt, i);
		molt_pid pid;

		if (!p)
			continue;
		molt__spin_lock(&p->lock);
		pid = p->pid;
		molt__spin_unlock(&p->lock);
		if (pid && molt__proc_signal_exit(rt, pid, 0, reason, flags) ==
				   MOLT_OK)
			n++;
	}
	return n;
}

static int wait_none_live(molt_runtime *rt, uint32_t ms)
{
	struct timespec ts;
	int rc = 0;

	molt__deadline(&ts, CLOCK_REALTIME, ms);
	pthread_mutex_lock(&rt->tbl_mu);
	while (atomic_load(&rt->live) > 0 && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&rt->live_cv, &rt->tbl_mu, &ts);
	pthread_mutex_unlock(&rt->tbl_mu);
	return atomic_load(&rt->live) == 0 ? MOLT_OK : MOLT_ETIMEOUT;
}

int molt_runtime_shutdown(molt_runtime *rt, uint32_t timeout_ms)
{
	int rc = MOLT_OK;

	if (atomic_exchange(&rt->stopped, 1))
		return MOLT_OK;
	if (atomic_load(&rt->started)) {
		if (signal_all(rt, "shutdown", 0) &&
		    wait_none_live(rt, timeout_ms) < 0) {
			rc = MOLT_ETIMEOUT;
			signal_all(rt, "kill", MOLT__MSGF_KILL);
			wait_none_live(rt, 5000);
		}
		/* every owner has exited: no socket is left to poll */
		molt__sched_stop(rt);
		molt__timer_stop(rt);
		/* last: it watches callbacks to the end */
		molt__watch_stop(rt);
	}
	return rc;
}

void molt__rt_free(molt_runtime *rt)
{
	unsigned hw;

	if (!rt)
		return;
	molt_runtime_shutdown(rt, 5000);
	hw = atomic_load(&rt->hw);
	for (uint32_t i = 0; i < hw; i += MOLT__CHUNK) {
		molt_proc *chunk = atomic_load(&rt->chunks[i / MOLT__CHUNK]);

		for (uint32_t j = 0; chunk && j < MOLT__CHUNK; j++)
			molt_free(chunk[j].stop_reason);
		molt_free(chunk);
	}
	while (rt->reg) {
		molt__regent *e = rt->reg;

		rt->reg = e->next;
		molt_free(e);
	}
	molt__timer_release(rt);
	molt__sched_release(rt);
	molt__watch_release(rt);
	molt__obs_release(rt);
	molt__trace_release(rt);
	molt__socks_free(rt);
	pthread_mutex_destroy(&rt->tbl_mu);
	pthread_cond_destroy(&rt->live_cv);
	pthread_mutex_destroy(&rt->reg_mu);
	for (size_t i = 0; i < rt->ext_cap; i++) {
		while (rt->ext[i]) {
			molt__ext *e = rt->ext[i];

			rt->ext[i] = e->next;
			molt_free(e);
		}
	}
	molt_free(rt->ext);
	molt_free(rt->ext_to);
	pthread_mutex_destroy(&rt->ext_mu);
	pthread_cond_destroy(&rt->exit_cv);
	molt_free(rt);
}

/* --- modules --- */

/* --- processes --- */

int molt_runtime_alive(molt_runtime *rt, molt_pid pid)
{
	molt_proc *p = molt__proc_slot(rt, pid);
	int alive;

	if (!p)
		return 0;
	molt__spin_lock(&p->lock);
	alive = p->pid == pid;
	molt__spin_unlock(&p->lock);
	return alive;
}

molt_pid molt_runtime_whereis(molt_runtime *rt, const char *name)
{
	return molt__reg_find(rt, name);
}

molt_pid molt_runtime_resolve(molt_runtime *rt, const char *t)
{
	unsigned long idx, gen;
	char *end;

	if (t[0] == '<') {
		idx = strtoul(t + 1, &end, 10);
		if (*end != '.')
			return 0;
		gen = strtoul(end + 1, &end, 10);
		if (strcmp(end, ">") != 0 || idx > UINT32_MAX ||
		    gen > UINT32_MAX)
			return 0;
		return ((molt_pid)gen << 32) | idx;
	}
	if (t[0] >= '0' && t[0] <= '9') {
		unsigned long long v = strtoull(t, &end, 10);

		return *end ? 0 : (molt_pid)v;
	}
	return molt__reg_find(rt, t);
}

int molt_runtime_cast(molt_runtime *rt, molt_pid pid, const void *data,
		      size_t len)
{
	return molt__proc_send(rt, pid, MOLT_MSG_CAST, 0, 0, data, len, NULL);
}

int molt_runtime_send(molt_runtime *rt, molt_pid pid, const void *data,
		      size_t len)
{
	return molt__proc_send(rt, pid, MOLT_MSG_INFO, 0, 0, data, len, NULL);
}

int molt_runtime_exit(molt_runtime *rt, molt_pid pid, const char *reason)
{
	int kill = strcmp(reason, "kill") == 0;

	return molt__proc_signal_exit(rt, pid, 0, reason,
				      kill ? MOLT__MSGF_KILL : 0);
}

/* --- calls from outside --- */

/*
 * Pending outside calls are hashed by ref, so that taking one out at its
 * reply or timeout is O(1) however many are in flight (with a plain list,
 * 100,000 concurrent calls took 18 s to answer), and by callee pid, so
 * that a process exit finds its own callers without looking at the
 * others'. The tables double when they are as full as they have slots
 * and halve when under a quarter full.
 */
#define EXT_MIN 256u

static size_t ext_slot(size_t cap, molt_ref ref)
{
	return (size_t)(((ref >> 1) * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

static size_t ext_to_slot(size_t cap, molt_pid pid)
{
	return (size_t)((pid * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

/* Chain e by its callee (ext_mu held). */
static void ext_to_link(molt__ext **t, size_t cap, molt__ext *e)
{
	molt__ext **b = &t[ext_to_slot(cap, e->to)];

	e->tnext = *b;
	if (*b)
		(*b)->tprev = &e->tnext;
	e->tprev = b;
	*b = e;
}

static void ext_to_unlink(molt__ext *e)
{
	*e->tprev = e->tnext;
	if (e->tnext)
		e->tnext->tprev = e->tprev;
}

/* Rehash into cap slots (ext_mu held): 0, or -1 out of memory (then the
 * tables stay as they were). */
static int ext_resize(molt_runtime *rt, size_t cap)
{
	molt__ext **t = molt_calloc(cap, sizeof(*t));
	molt__ext **to = molt_calloc(cap, sizeof(*to));

	if (!t || !to) {
		molt_free(t);
		molt_free(to);
		return -1;
	}
	for (size_t i = 0; i < rt->ext_cap; i++) {
		while (rt->ext[i]) {
			molt__ext *e = rt->ext[i];
			size_t j = ext_slot(cap, e->ref);

			rt->ext[i] = e->next;
			e->next = t[j];
			t[j] = e;
			ext_to_link(to, cap, e);
		}
	}
	molt_free(rt->ext);
	molt_free(rt->ext_to);
	rt->ext = t;
	rt->ext_to = to;
	rt->ext_cap = cap;
	return 0;
}

/* Halve the tables once they are under a quarter full (ext_mu held), so
 * that a burst of calls does not leave them large; out of memory they
 * just stay. */
static void ext_shrink(molt_runtime *rt)
{
	size_t n = (size_t)atomic_load(&rt->n_ext);

	if (rt->ext_cap > EXT_MIN && n < rt->ext_cap / 4)
		ext_resize(rt, rt->ext_cap / 2);
}

/* Take e out of the hash by ref (ext_mu held). */
static void ext_unlink(molt_runtime *rt, molt__ext *e)
{
	molt__ext **pp = &rt->ext[ext_slot(rt->ext_cap, e->ref)];

	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	ext_to_unlink(e);
	atomic_fetch_sub(&rt->n_ext, 1);
}

/* Put e into the table: 0, or -1 out of memory (e not added). */
static int ext_put(molt_runtime *rt, molt__ext *e)
{
	size_t i;

	pthread_mutex_lock(&rt->ext_mu);
	if ((size_t)atomic_load(&rt->n_ext) >= rt->ext_cap &&
	    ext_resize(rt, rt->ext_cap ? 2 * rt->ext_cap : EXT_MIN) < 0 &&
	    !rt->ext_cap) {
		pthread_mutex_unlock(&rt->ext_mu);
		return -1;
	}
	i = ext_slot(rt->ext_cap, e->ref);
	e->next = rt->ext[i];
	rt->ext[i] = e;
	ext_to_link(rt->ext_to, rt->ext_cap, e);
	atomic_fetch_add(&rt->n_ext, 1);
	pthread_mutex_unlock(&rt->ext_mu);
	return 0;
}

static molt__ext *ext_take(molt_runtime *rt, molt_ref ref)
{
	molt__ext *e = NULL;

	pthread_mutex_lock(&rt->ext_mu);
	if (rt->ext_cap)
		e = rt->ext[ext_slot(rt->ext_cap, ref)];
	while (e && e->ref != ref)
		e = e->next;
	if (e) {
		ext_unlink(rt, e);
		ext_shrink(rt);
	}
	pthread_mutex_unlock(&rt->ext_mu);
	return e;
}

void molt__ext_reply(molt_runtime *rt, molt_ref ref, const void *data,
		     size_t len)
{
	molt__ext *e = ext_take(rt, ref);

	if (!e)
		return; /* timed out already */
	molt__timer_cancel(rt, ref);
	e->cb(MOLT_OK, data, len, e->payload);
	molt_free(e);
}

static void ext_timeout(molt_runtime *rt, molt_ref ref, void *payload)
{
	molt__ext *e = ext_take(rt, ref);

	(void)payload;
	if (!e)
		return;
	e->cb(MOLT_ETIMEOUT, NULL, 0, e->payload);
	molt_free(e);
}

void molt__ext_exited(molt_runtime *rt, molt_pid pid, const char *reason)
{
	molt__ext *e, *next, *dead = NULL;

	if (!atomic_load(&rt->n_ext) && !atomic_load(&rt->n_exitw))
		return;
	pthread_mutex_lock(&rt->ext_mu);
	/* only pid's own callers: one chain of the hash by callee */
	e = rt->ext_cap ? rt->ext_to[ext_to_slot(rt->ext_cap, pid)] : NULL;
	for (; e; e = next) {
		next = e->tnext;
		if (e->to != pid)
			continue;
		ext_unlink(rt, e);
		e->next = dead;
		dead = e;
	}
	if (dead)
		ext_shrink(rt);
	for (molt__exitw *w = rt->exit_waiters; w; w = w->next) {
		if (w->pid == pid) {
			w->done = 1;
			snprintf(w->reason, sizeof(w->reason), "%s", reason);
		}
	}
	pthread_cond_broadcast(&rt->exit_cv);
	pthread_mutex_unlock(&rt->ext_mu);
	for (e = dead; e; e = next) {
		next = e->next;
		molt__timer_cancel(rt, e->ref);
		e->cb(MOLT_ECLOSED, NULL, 0, e->payload);
		molt_free(e);
	}
}

int molt_runtime_call_async(molt_runtime *rt, molt_pid pid, const void *req,
			    size_t len, uint32_t timeout_ms, molt_call_cb cb,
			    void *payload, molt_err *err)
{
	molt__ext *e = molt_calloc(1, sizeof(*e));
	molt_ref ref = molt__rt_ref(rt, 0);
	char pidbuf[32];
	int rc;

	if (!e)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	e->ref = ref;
	e->to = pid;
	e->cb = cb;
	e->payload = payload;
	if (ext_put(rt, e) < 0) {
		molt_free(e);
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	}
	/* from here on e belongs to whoever takes it out of the list (the
	 * reply, the timer, the callee's exit): use only the local ref */
	if (timeout_ms &&
	    molt__timer_add_fn(rt, ref, timeout_ms, ext_timeout, NULL) < 0) {
		molt_free(ext_take(rt, ref));
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	}
	rc = molt__proc_send(rt, pid, MOLT_MSG_CALL, 0, ref, req, len, NULL);
	if (rc < 0 && (e = ext_take(rt, ref)) != NULL) {
		molt__timer_cancel(rt, ref);
		molt_free(e);
		return molt_err_set(err, rc, "no process %s",
				    molt_pid_format(pid, pidbuf, 32));
	}
	return MOLT_OK;
}

/* A blocking call is an async call whose callback fills this. */
typedef struct call_wait {
	pthread_mutex_t mu; /* guards all below */
	pthread_cond_t cv;  /* signalled at done */
	int done, status;   /* result */
	char *data;	    /* owned reply */
	size_t len;	    /* its length */
} call_wait;

static void call_done(int status, const void *data, size_t len, void *payload)
{
	call_wait *w = payload;
	char *copy = NULL;

	if (status == MOLT_OK) {
		copy = molt_malloc(len + 1);
		if (copy) {
			if (len)
				memcpy(copy, data, len);
			copy[len] = '\0';
		} else {
			status = MOLT_ENOMEM;
		}
	}
	pthread_mutex_lock(&w->mu);
	w->status = status;
	w->data = copy;
	w->len = len;
	w->done = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

int molt_runtime_call(molt_runtime *rt, molt_reply_buf *out, molt_pid pid,
		      const void *req, size_t len, uint32_t timeout_ms,
		      molt_err *err)
{
	call_wait w = {.done = 0};
	char pidbuf[32];
	int rc;

	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	rc = molt_runtime_call_async(rt, pid, req, len, timeout_ms, call_done,
				     &w, err);
	if (rc == MOLT_OK) {
		pthread_mutex_lock(&w.mu);
		while (!w.done)
			pthread_cond_wait(&w.cv, &w.mu);
		pthread_mutex_unlock(&w.mu);
		rc = w.status;
		molt_pid_format(pid, pidbuf, sizeof(pidbuf));
		if (rc == MOLT_ETIMEOUT)
			molt_err_set(err, rc,
				     "call to %s timed out after %u ms", pidbuf,
				     timeout_ms);
		else if (rc == MOLT_ECLOSED)
			molt_err_set(err, rc,
				     "process %s exited before replying",
				     pidbuf);
		else if (rc < 0)
			molt_err_set(err, rc, "call to %s failed", pidbuf);
	}
	if (rc == MOLT_OK) {
		out->data = w.data;
		out->len = w.len;
	}
	pthread_mutex_destroy(&w.mu);
	pthread_cond_destroy(&w.cv);
	return rc;
}

int molt_runtime_wait(molt_runtime *rt, molt_pid pid, uint32_t timeout_ms,
		      char *reason_out, size_t reason_size)
{
	molt__exitw w = {.pid = pid};
	struct timespec ts;
	int rc = 0;

	molt__deadline(&ts, CLOCK_REALTIME, timeout_ms);
	pthread_mutex_lock(&rt->ext_mu);
	w.next = rt->exit_waiters;
	rt->exit_waiters = &w;
	atomic_fetch_add(&rt->n_exitw, 1);
	pthread_mutex_unlock(&rt->ext_mu);
	/* registered first, so an exit from now on is seen; a process in
	 * the middle of its exit is waited for: its notification comes
	 * after its slot is released */
	if (molt__proc_exit_done(rt, pid)) {
		w.done = 1;
		snprintf(w.reason, sizeof(w.reason), "noproc");
	}
	pthread_mutex_lock(&rt->ext_mu);
	while (!w.done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&rt->exit_cv, &rt->ext_mu, &ts);
	for (molt__exitw **pp = &rt->exit_waiters; *pp; pp = &(*pp)->next) {
		if (*pp == &w) {
			*pp = w.next;
			break;
		}
	}
	atomic_fetch_sub(&rt->n_exitw, 1);
	pthread_mutex_unlock(&rt->ext_mu);
	if (w.done && reason_out)
		snprintf(reason_out, reason_size, "%s", w.reason);
	return w.done ? MOLT_OK : MOLT_ETIMEOUT;
}

/* --- registry --- */

int molt__reg_add(molt_runtime *rt, molt_proc *p, const char *name)
{
	size_t n = strlen(name);
	molt__regent *e;

	if (!n || n >= 64)
		return MOLT_EINVAL;
	e = molt_malloc(sizeof(*e) + n + 1);
	if (!e)
		return MOLT_ENOMEM;
	memcpy(e->name, name, n + 1);
	e->pid = p->pid;
	pthread_mutex_lock(&rt->reg_mu);
	if (molt__pf_has(p, MOLT__PF_NONAME)) { /* registering in terminate */
		pthread_mutex_unlock(&rt->reg_mu);
		molt_free(e);
		return MOLT_ENOTFOUND;
	}
	if (p->name) {
		pthread_mutex_unlock(&rt->reg_mu);
		molt_free(e);
		return MOLT_EEXISTS;
	}
	for (molt__regent *it = rt->reg; it; it = it->next) {
		if (strcmp(it->name, name) == 0) {
			pthread_mutex_unlock(&rt->reg_mu);
			molt_free(e);
			return MOLT_EEXISTS;
		}
	}
	e->next = rt->reg;
	rt->reg = e;
	p->name = e->name;
	pthread_mutex_unlock(&rt->reg_mu);
	return MOLT_OK;
}

void molt__reg_remove(molt_runtime *rt, molt_proc *p)
{
	molt__regent **pp, *e = NULL;

	pthread_mutex_lock(&rt->reg_mu);
	/* under reg_mu, so that no registration can follow (reg_add_pid
	 * checks it under the same lock) */
	molt__pf_set(p, MOLT__PF_NONAME);
	for (pp = p->name ? &rt->reg : NULL; pp && *pp; pp = &(*pp)->next) {
		if ((*pp)->name == p->name) {
			e = *pp;
			*pp = e->next;
			break;
		}
	}
	p->name = NULL;
	pthread_mutex_unlock(&rt->reg_mu);
	molt_free(e);
}

int molt__reg_add_pid(molt_runtime *rt, molt_pid pid, const char *name)
{
	molt_proc *p = molt__proc_slot(rt, pid);
	size_t n = strlen(name);
	molt__regent *e;
	int rc = MOLT_OK;

	if (!p || !n || n >= 64)
		return MOLT_EINVAL;
	e = molt_malloc(sizeof(*e) + n + 1);
	if (!e)
		return MOLT_ENOMEM;
	memcpy(e->name, name, n + 1);
	e->pid = pid;
	pthread_mutex_lock(&rt->reg_mu);
	molt__spin_lock(&p->lock);
	if (p->pid != pid || molt__pf_has(p, MOLT__PF_NONAME))
		rc = MOLT_ENOTFOUND; /* gone, or its exit has begun */
	molt__spin_unlock(&p->lock);
	for (molt__regent *it = rt->reg; rc == MOLT_OK && it; it = it->next)
		if (strcmp(it->name, name) == 0)
			rc = MOLT_EEXISTS;
	if (rc == MOLT_OK && p->name)
		rc = MOLT_EEXISTS;
	if (rc == MOLT_OK) {
		e->next = rt->reg;
		rt->reg = e;
		p->name = e->name;
		e = NULL;
	}
	pthread_mutex_unlock(&rt->reg_mu);
	molt_free(e);
	return rc;
}

molt_pid molt__reg_find(molt_runtime *rt, const char *name)
{
	molt_pid pid = 0;

	pthread_mutex_lock(&rt->reg_mu);
	for (molt__regent *it = rt->reg; it; it = it->next) {
		if (strcmp(it->name, name) == 0) {
			pid = it->pid;
			break;
		}
	}
	pthread_mutex_unlock(&rt->reg_mu);
	return pid;
}

/* --- inspection --- */

static void add_name(molt_runtime *rt, molt_proc *p, molt_proc_info *o)
{
	pthread_mutex_lock(&rt->reg_mu);
	if (p->name && p->pid == o->pid)
		snprintf(o->name, sizeof(o->name), "%s", p->name);
	pthread_mutex_unlock(&rt->reg_mu);
}

size_t molt_runtime_processes(molt_runtime *rt, molt_proc_info *out, size_t max)
{
	unsigned hw = atomic_load(&rt->hw);
	size_t n = 0;
	molt_proc_info tmp;

	for (uint32_t i = 0; i < hw; i++) {
		molt_proc *p = molt__proc_at(rt, i);
		molt_proc_info *o = n < max ? &out[n] : &tmp;

		if (!p || molt__proc_info(rt, p, 0, o) < 0)
			continue;
		add_name(rt, p, o);
		n++;
	}
	return n;
}

int molt_runtime_process_info(molt_runtime *rt, molt_pid pid,
			      molt_proc_info *out)
{
	molt_proc *p = molt__proc_slot(rt, pid);

	if (!p || molt__proc_info(rt, p, pid, out) < 0)
		return MOLT_ENOTFOUND;
	add_name(rt, p, out);
	return MOLT_OK;
}

void molt__rt_get_stats(molt_runtime *rt, molt_runtime_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->uptime_ms =
		atomic_load(&rt->started) ? molt_now_ms() - rt->start_ms : 0;
	out->processes = atomic_load(&rt->live);
	out->schedulers = rt->opts.schedulers;
	out->deterministic = rt->opts.deterministic;
	out->spawned = atomic_load(&rt->spawned);
	for (unsigned i = 0; i < rt->sched.n; i++)
		out->messages += atomic_load_explicit(
			&rt->sched.s[i].dispatched, memory_order_relaxed);
	out->proc_struct_bytes = sizeof(molt_proc);
	out->long_callbacks = molt__watch_long_count(rt);
	out->timers_pending = molt__timer_count(rt);
}
