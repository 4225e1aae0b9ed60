/* Processes: slots, spawn, delivery, the dispatch turn, exit, links. */
#include "proc.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "molt/common.h"
#include "molt/log.h"

#include "probes.h"
#include "sched.h"
#include "sock.h"
#include "timer.h"
#include "watch.h"

#include "molt/banned.h"

/* --- slots --- */

molt_proc *molt__proc_slot(molt_runtime *rt, molt_pid pid)
{
	return pid ? molt__proc_at(rt, (uint32_t)pid) : NULL;
}

molt_proc *molt__proc_at(molt_runtime *rt, uint32_t idx)
{
	molt_proc *chunk;

	if (idx >= atomic_load_explicit(&rt->hw, memory_order_acquire))
		return NULL;
	chunk = atomic_load_explicit(&rt->chunks[idx >> MOLT__CHUNK_BITS],
				     memory_order_acquire);
	return chunk ? &chunk[idx & (MOLT__CHUNK - 1)] : NULL;
}

static int chunk_add(molt_runtime *rt, uint32_t idx)
{
	molt_proc *chunk;

	if ((idx >> MOLT__CHUNK_BITS) >= MOLT__MAX_CHUNKS)
		return MOLT_ENOMEM;
	if (atomic_load(&rt->chunks[idx >> MOLT__CHUNK_BITS]))
		return MOLT_OK;
	chunk = molt_calloc(MOLT__CHUNK, sizeof(*chunk));
	if (!chunk)
		return MOLT_ENOMEM;
	atomic_store_explicit(&rt->chunks[idx >> MOLT__CHUNK_BITS], chunk,
			      memory_order_release);
	return MOLT_OK;
}

/* A free slot running ver (whose reference and count the caller took),
 * its pid set and status RUNNING; NULL if out of memory. The pid and the
 * version are published together: a scan that sees one sees both. */
static molt_proc *slot_alloc(molt_runtime *rt, molt__version *ver)
{
	molt_proc *p = NULL;
	uint32_t idx;

	pthread_mutex_lock(&rt->tbl_mu);
	if (rt->free_head) {
		idx = rt->free_head - 1;
		p = molt__proc_at(rt, idx);
		rt->free_head = p->free_next;
	} else {
		idx = atomic_load(&rt->hw);
		if (chunk_add(rt, idx) == MOLT_OK) {
			atomic_store_explicit(&rt->hw, idx + 1,
					      memory_order_release);
			p = molt__proc_at(rt, idx);
		}
	}
	pthread_mutex_unlock(&rt->tbl_mu);
	if (!p)
		return NULL;
	molt__spin_lock(&p->lock);
	p->gen++;
	p->pid = ((molt_pid)p->gen << 32) | idx;
	p->ver = ver;
	p->state = NULL;
	p->status = MOLT__P_RUNNING;
	atomic_store_explicit(&p->flags, 0, memory_order_relaxed);
	atomic_store_explicit(&p->mon, 0, memory_order_relaxed);
	p->mbox_hw = 0;
	p->mbox_next = 1;
	atomic_store_explicit(&p->cb_ns, 0, memory_order_relaxed);
	atomic_store_explicit(&p->cb_max_ns, 0, memory_order_relaxed);
	atomic_store_explicit(&p->cb_samples, 0, memory_order_relaxed);
	molt__spin_unlock(&p->lock);
	atomic_fetch_add(&rt->live, 1);
	atomic_fetch_add_explicit(&rt->spawned, 1, memory_order_relaxed);
	return p;
}

static void slot_free(molt_runtime *rt, molt_proc *p, uint32_t idx)
{
	p->parent = 0;
	atomic_store_explicit(&p->reductions, 0, memory_order_relaxed);
	p->state = NULL;
	molt__spin_lock(&p->lock);
	p->status = MOLT__P_FREE;
	molt__spin_unlock(&p->lock);
	pthread_mutex_lock(&rt->tbl_mu);
	if (p->gen != UINT32_MAX) { /* else retired: pids are never reused */
		p->free_next = rt->free_head;
		rt->free_head = idx + 1;
	}
	pthread_mutex_unlock(&rt->tbl_mu);
	if (atomic_fetch_sub(&rt->live, 1) == 1) {
		pthread_mutex_lock(&rt->tbl_mu);
		pthread_cond_broadcast(&rt->live_cv);
		pthread_mutex_unlock(&rt->tbl_mu);
	}
}

int molt__reason_normal(const char *r)
{
	return !r || strcmp(r, "normal") == 0 || strcmp(r, "shutdown") == 0 ||
	       strncmp(r, "shutdown:", 9) == 0;
}

void molt__proc_set_exiting(molt_proc *p, const char *reason)
{
	char *r;

	if (molt__pf_has(p, MOLT__PF_EXITING))
		return;
	r = molt_strdup(reason);
	molt_free(p->stop_reason);
	p->stop_reason = r;
	molt__spin_lock(&p->lock);
	/* out of memory: never let a crash read as "normal" */
	if (r)
		molt__pf_clear(p, MOLT__PF_NOMEM);
	else
		molt__pf_set(p, MOLT__PF_NOMEM);
	molt__pf_set(p, MOLT__PF_EXITING);
	molt__spin_unlock(&p->lock);
}

static void set_exiting(molt_proc *p, const char *reason)
{
	molt__proc_set_exiting(p, reason);
}

/* p's exit reason: borrowed, valid until p's slot is released. */
static const char *exit_reason(const molt_proc *p)
{
	if (p->stop_reason)
		return p->stop_reason;
	return molt__pf_has(p, MOLT__PF_NOMEM) ? MOLT__REASON_NOMEM : "normal";
}

/* --- delivery --- */

/* p's mailbox reached p->mbox_next (L held): a new high-water mark, or
 * the system monitor's threshold. Returns 1 if a long_queue episode
 * starts (the caller posts the event once the lock is dropped). */
static int mbox_grew(molt_runtime *rt, molt_proc *p)
{
	size_t len = p->mbox.len;
	long long lq = rt->opts.long_queue;
	uint32_t next;
	int start = 0;

	if (len > p->mbox_hw)
		p->mbox_hw = len >= UINT32_MAX ? UINT32_MAX - 1 : (uint32_t)len;
	next = p->mbox_hw + 1;
	if (lq > 0 && len >= (unsigned long long)lq &&
	    !(atomic_fetch_or_explicit(&p->mon, MOLT__MON_QUEUE,
				       memory_order_relaxed) &
	      MOLT__MON_QUEUE))
		start = 1;
	if (lq > 0 && (unsigned long long)lq < next &&
	    !(atomic_load_explicit(&p->mon, memory_order_relaxed) &
	      MOLT__MON_QUEUE))
		next = (uint32_t)lq;
	p->mbox_next = next;
	return start;
}

static void post_long_queue(molt_runtime *rt, molt_proc *p, molt_pid pid)
{
	molt_proc_info pi;
	char text[512], pb[32];

	if (molt__proc_info(rt, p, pid, &pi) < 0)
		return;
	snprintf(text, sizeof(text),
		 "%s (%s %s) has %zu messages queued (threshold %lld)",
		 molt_pid_format(pid, pb, sizeof(pb)), pi.module, pi.vsn,
		 pi.queue_len, rt->opts.long_queue);
	molt_runtime_event_post(rt, MOLT_EVENT_LONG_QUEUE, pid, pi.queue_len,
				(uint64_t)rt->opts.long_queue, text);
	molt__obs_queue_open(rt, pid);
}

/* With p locked and m queued: mark p QUEUED if it must run now (then the
 * caller pushes it once the lock is dropped). */
static int wake_locked(molt_proc *p, int sig)
{
	if (p->status != MOLT__P_IDLE ||
	    (!sig && molt__pf_has(p, MOLT__PF_SUSPENDED)))
		return 0;
	p->status = MOLT__P_QUEUED;
	return 1;
}

/* The rest of a delivery whose message made p's mailbox reach
 * p->mbox_next (p locked): kept out of the common path. */
static __attribute__((noinline)) int deliver_grew(molt_runtime *rt,
						  molt_proc *p, molt_pid pid)
{
	int longq = mbox_grew(rt, p), wake = wake_locked(p, 0);

	molt__spin_unlock(&p->lock);
	if (wake)
		molt__sched_push(rt, p);
	if (longq)
		post_long_queue(rt, p, pid);
	return MOLT_OK;
}

int molt__proc_deliver(molt_runtime *rt, molt_pid pid, molt__msg *m, int sig)
{
	molt_proc *p = molt__proc_slot(rt, pid);
	int wake;

	if (!p) {
		molt_free(m);
		return MOLT_ECLOSED;
	}
	molt__spin_lock(&p->lock);
	if (p->pid != pid) {
		molt__spin_unlock(&p->lock);
		molt_free(m);
		return MOLT_ECLOSED;
	}
	molt__mqueue_push(sig ? &p->sig : &p->mbox, m);
	/* a new high-water mark, or the monitor's threshold (a signal
	 * leaves mbox.len below mbox_next) */
	if (__builtin_expect(p->mbox.len >= p->mbox_next, 0))
		return deliver_grew(rt, p, pid);
	wake = wake_locked(p, sig);
	molt__spin_unlock(&p->lock);
	if (wake)
		molt__sched_push(rt, p);
	return MOLT_OK;
}

int molt__proc_send(molt_runtime *rt, molt_pid to, int kind, molt_pid from,
		    molt_ref ref, const void *data, size_t len,
		    const char *reason)
{
	molt__msg *m;

	/* first: its arguments are still in their registers */
	MOLT_PROBE4(send, from, to, kind, len);
	m = molt__msg_new(kind, from, ref, data, len, reason);
	if (!m)
		return MOLT_ENOMEM;
	return molt__proc_deliver(rt, to, m, 0);
}

int molt__proc_signal_exit(molt_runtime *rt, molt_pid to, molt_pid from,
			   const char *reason, unsigned flags)
{
	molt__msg *m = molt__msg_new(MOLT__SIG_EXIT, from, 0, NULL, 0, reason);

	if (!m)
		return MOLT_ENOMEM;
	m->flags = (uint8_t)flags;
	return molt__proc_deliver(rt, to, m, 1);
}

/* --- links --- */

/*
 * A process's links and monitors are a doubly linked list (exit walks it)
 * plus, once there are LIDX_MIN or more, a hash index with chaining, so
 * adding and removing one is O(1) however many there are (a supervisor
 * with 100,000 children). The key: a monitor's ref, or a link's pid, with
 * the kind. The index (with the entry count) grows with the list and
 * costs a process without it one pointer; if it cannot be allocated,
 * lookups walk the list (slower, still correct).
 */
#define LIDX_MIN 8u

static int link_is(const molt__link *l, int kind, molt_pid pid, molt_ref ref)
{
	return l->kind == kind && (ref ? l->ref == ref : l->pid == pid);
}

static size_t link_slot(uint32_t cap, int kind, molt_pid pid, molt_ref ref)
{
	uint64_t k = ((ref ? ref : pid) ^ ((uint64_t)kind << 59)) *
		     0x9E3779B97F4A7C15ull;

	return (size_t)(k >> 32) & (cap - 1);
}

/* Rebuild p's index with cap slots from its n-entry list (L held): 0, or
 * -1 if it cannot be allocated (then the old index, if any, stays). */
static int lidx_rebuild(molt_proc *p, uint32_t n, uint32_t cap)
{
	molt__lidx *x = molt_calloc(1, sizeof(*x) + cap * sizeof(x->slot[0]));

	if (!x)
		return -1;
	x->n = n;
	x->cap = cap;
	for (molt__link *l = p->links; l; l = l->next) {
		size_t i = link_slot(cap, l->kind, l->pid, l->ref);

		l->hnext = x->slot[i];
		x->slot[i] = l;
	}
	molt_free(p->lidx);
	p->lidx = x;
	return 0;
}

/* p's entry (kind, pid or ref), or NULL (L held). */
static molt__link *link_find(molt_proc *p, int kind, molt_pid pid, molt_ref ref)
{
	molt__link *l;

	if (!p->lidx) {
		for (l = p->links; l && !link_is(l, kind, pid, ref);
		     l = l->next)
			;
		return l;
	}
	l = p->lidx->slot[link_slot(p->lidx->cap, kind, pid, ref)];
	while (l && !link_is(l, kind, pid, ref))
		l = l->hnext;
	return l;
}

/* Put l into p's list and index (L held). */
static void link_insert(molt_proc *p, molt__link *l)
{
	molt__lidx *x = p->lidx;
	uint32_t n = 1;

	l->prev = NULL;
	l->next = p->links;
	if (l->next)
		l->next->prev = l;
	p->links = l;
	if (x) {
		n = ++x->n;
	} else { /* small (or no memory for an index): count */
		for (molt__link *it = l->next; it; it = it->next)
			n++;
	}
	/* no index yet and now big enough, or the index full: (re)build it
	 * at twice the size, l included */
	if ((x ? n > x->cap : n >= LIDX_MIN) &&
	    lidx_rebuild(p, n, x ? 2 * x->cap : 2 * LIDX_MIN) == 0)
		return;
	if (x) {
		size_t i = link_slot(x->cap, l->kind, l->pid, l->ref);

		l->hnext = x->slot[i];
		x->slot[i] = l;
	}
}

/* Take l out of p's list and index (L held). */
static void link_unlink(molt_proc *p, molt__link *l)
{
	if (l->prev)
		l->prev->next = l->next;
	else
		p->links = l->next;
	if (l->next)
		l->next->prev = l->prev;
	if (p->lidx) {
		molt__link **pp = &p->lidx->slot[link_slot(
			p->lidx->cap, l->kind, l->pid, l->ref)];

		p->lidx->n--;
		while (*pp && *pp != l)
			pp = &(*pp)->hnext;
		if (*pp)
			*pp = l->hnext;
	}
}

/* Remove the entry (kind, pid or ref) from p's list; 1 if it was there,
 * with the other process's pid in *other if other is not NULL. */
static int link_remove(molt_proc *p, int kind, molt_pid pid, molt_ref ref,
		       molt_pid *other)
{
	molt__link *l;

	molt__spin_lock(&p->lock);
	if ((l = link_find(p, kind, pid, ref)) != NULL)
		link_unlink(p, l);
	molt__spin_unlock(&p->lock);
	if (l && other)
		*other = l->pid;
	molt_free(l);
	return l != NULL;
}

int molt__link_remove(molt_proc *p, int kind, molt_pid pid, molt_ref ref,
		      molt_pid *other);
int molt__link_remove(molt_proc *p, int kind, molt_pid pid, molt_ref ref,
		      molt_pid *other)
{
	return link_remove(p, kind, pid, ref, other);
}

/* Add l (taken) to pid's list if pid is alive; 0 if it is not (l freed).
 * With unique set, an existing entry of the same kind and pid is kept. */
int molt__link_add(molt_runtime *rt, molt_pid pid, molt__link *l, int unique);
int molt__link_add(molt_runtime *rt, molt_pid pid, molt__link *l, int unique)
{
	molt_proc *p = molt__proc_slot(rt, pid);

	if (!p) {
		molt_free(l);
		return 0;
	}
	molt__spin_lock(&p->lock);
	if (p->pid != pid) {
		molt__spin_unlock(&p->lock);
		molt_free(l);
		return 0;
	}
	if (unique && link_find(p, l->kind, l->pid, 0)) {
		molt__spin_unlock(&p->lock);
		molt_free(l);
		return 1;
	}
	link_insert(p, l);
	molt__spin_unlock(&p->lock);
	return 1;
}

molt__link *molt__link_new(int kind, molt_pid pid, molt_ref ref);
molt__link *molt__link_new(int kind, molt_pid pid, molt_ref ref)
{
	molt__link *l = molt_malloc(sizeof(*l));

	if (l) {
		l->next = NULL;
		l->kind = kind;
		l->pid = pid;
		l->ref = ref;
	}
	return l;
}

static void notify_links(molt_runtime *rt, molt_pid self, molt__link *l,
			 const char *reason)
{
	while (l) {
		molt__link *next = l->next;
		molt_proc *q;

		switch (l->kind) {
		case MOLT__LK_LINK:
			molt__proc_signal_exit(rt, l->pid, self, reason,
					       MOLT__MSGF_LINKED);
			break;
		case MOLT__LK_MON_IN:
			molt__proc_send(rt, l->pid, MOLT_MSG_DOWN, self, l->ref,
					NULL, 0, reason);
			break;
		case MOLT__LK_MON_OUT:
			/* drop the watched process's entry so it does not grow
			 */
			q = molt__proc_slot(rt, l->pid);
			if (q)
				link_remove(q, MOLT__LK_MON_IN, 0, l->ref,
					    NULL);
			break;
		}
		molt_free(l);
		l = next;
	}
}

/* --- exit --- */

static void heap_reclaim(molt_proc *p)
{
	molt__hblock *b = p->heap;

	while (b) {
		molt__hblock *next = b->next;

		molt_free(b);
		b = next;
	}
	p->heap = NULL;
	atomic_store_explicit(&p->heap_bytes, 0, memory_order_relaxed);
}

static molt__sysfn *sysfn_of(const molt__msg *m)
{
	molt__sysfn *fn;

	memcpy(&fn, m->data, sizeof(fn));
	return fn;
}

int molt__proc_post(molt_runtime *rt, molt_pid pid, molt__sysfn *fn)
{
	molt__msg *m =
		molt__msg_new(MOLT__SIG_SYS, 0, 0, &fn, sizeof(fn), NULL);

	if (!m)
		return MOLT_ENOMEM;
	return molt__proc_deliver(rt, pid, m, 1);
}

static void drain(molt_runtime *rt, molt__msg *m)
{
	(void)rt;
	while (m) {
		molt__msg *next = m->next;

		if (m->kind == MOLT__SIG_SYS)
			sysfn_of(m)->abandon(sysfn_of(m));
		molt_free(m);
		m = next;
	}
}

/* Store version and state together (readers take the lock). */
static void set_ver(molt_proc *p, molt__version *v, void *state,
		    molt__version *prev_v, void *prev_state)
{
	molt__spin_lock(&p->lock);
	molt__pf_clear(p, MOLT__PF_NOMOVE);
	p->ver = v;
	p->state = state;
	p->prev_ver = prev_v;
	p->prev_state = prev_state;
	molt__spin_unlock(&p->lock);
}

/* State st of version v, which p no longer holds, unless p still holds
 * that same pointer (a code_change may convert in place). */
static void state_drop(molt_runtime *rt, molt_proc *p, molt__version *v,
		       void *st)
{
	molt_ctx ctx = {rt, p, v, 0};

	if (st && st != p->state && v->desc->free_state)
		v->desc->free_state(&ctx, st);
}

void molt__proc_move(molt_runtime *rt, molt_proc *p, molt__version *nv,
		     void *ns, int mode, molt__vtally *t)
{
	molt__version *ov = p->ver;
	void *os = p->state;

	if (mode == MOLT__MOVE_KEEP) {
		assert(!p->prev_ver);
		set_ver(p, nv, ns, ov, os);
		/* ov's reference moves to prev_ver; its process count goes */
		if (t)
			molt__vtally_drop_procs(t, ov);
		else
			atomic_fetch_sub(&ov->procs, 1);
		return;
	}
	set_ver(p, nv, ns, p->prev_ver, p->prev_state);
	state_drop(rt, p, ov, os);
	molt__vtally_drop(t, ov, 1);
}

void molt__proc_move_commit(molt_runtime *rt, molt_proc *p, molt__vtally *t)
{
	molt__version *pv = p->prev_ver;
	void *ps = p->prev_state;

	if (!pv)
		return;
	set_ver(p, p->ver, p->state, NULL, NULL);
	state_drop(rt, p, pv, ps);
	molt__vtally_drop(t, pv, 0);
}

void molt__proc_move_revert(molt_runtime *rt, molt_proc *p, molt__vtally *t)
{
	molt__version *nv = p->ver;
	void *ns = p->state;

	if (!p->prev_ver)
		return;
	atomic_fetch_add(&p->prev_ver->procs, 1); /* before it is stored */
	set_ver(p, p->prev_ver, p->prev_state, NULL, NULL);
	state_drop(rt, p, nv, ns);
	molt__vtally_drop(t, nv, 1);
}

const char *molt__proc_unstop(molt_proc *p, char *why, size_t size)
{
	snprintf(why, size, "%s",
		 p->stop_reason ? p->stop_reason : "returned error");
	if (molt__pf_has(p, MOLT__PF_EXITING)) {
		molt__spin_lock(&p->lock);
		molt__pf_clear(p, MOLT__PF_EXITING);
		molt__spin_unlock(&p->lock);
	}
	molt_free(p->stop_reason);
	p->stop_reason = NULL;
	return why;
}

static void proc_exit(molt_runtime *rt, molt_proc *p, int run_terminate)
{
	const char *reason = exit_reason(p);
	molt_pid pid = p->pid;
	int timers = molt__pf_has(p, MOLT__PF_TIMERS);
	molt__link *links;
	molt__lidx *lidx;
	molt__msg *mbox, *sig;
	molt__version *ver;
	char why[128]; /* the reason outlives the slot */
	molt_ctx ctx;
	molt__cbsave sv;

	/* first: from here on whereis does not find the dying process */
	molt__reg_remove(rt, p);
	molt__proc_move_revert(rt, p, NULL);
	ctx = (molt_ctx){rt, p, p->ver, 0};
	molt__watch_push(&sv, p, MOLT__CB_TERMINATE);
	if (run_terminate && strcmp(reason, "killed") != 0 &&
	    p->ver->desc->terminate)
		p->ver->desc->terminate(&ctx, reason, p->state);
	molt__watch_pop(&sv);
	molt__watch_push(&sv, p, MOLT__CB_FREE);
	if (p->state && p->ver->desc->free_state)
		p->ver->desc->free_state(&ctx, p->state);
	molt__watch_pop(&sv);
	/* before the heap: a socket's bytes are counted in it */
	molt__socks_owner_exit(rt, p);
	heap_reclaim(p);
	molt__spin_lock(&p->lock);
	links = p->links;
	p->links = NULL;
	lidx = p->lidx;
	p->lidx = NULL;
	mbox = molt__mqueue_take(&p->mbox);
	sig = molt__mqueue_take(&p->sig);
	p->pid = 0;
	p->status = MOLT__P_EXITING;
	atomic_store_explicit(&p->flags, 0, memory_order_relaxed);
	ver = p->ver;
	p->ver = NULL;
	molt__spin_unlock(&p->lock);
	if (!molt__reason_normal(reason) && strcmp(reason, "killed") != 0)
		molt_log(MOLT_LOG_DEBUG, "proc",
			 "process <%u.%u> (%s) exited: %s", (unsigned)pid,
			 (unsigned)(pid >> 32), ver->desc->name, reason);
	MOLT_PROBE3(exit, pid, ver->desc->name, reason);
	molt_free(lidx);
	if (timers) /* nobody could receive them */
		molt__timer_cancel_owner(rt, pid);
	notify_links(rt, pid, links, reason);
	drain(rt, mbox);
	drain(rt, sig);
	molt__vtally_drop(NULL, ver, 1);
	snprintf(why, sizeof(why), "%s", reason);
	molt_free(p->stop_reason);
	p->stop_reason = NULL;
	slot_free(rt, p, (uint32_t)pid);
	/* last: whoever waits for the exit sees everything released */
	molt__ext_exited(rt, pid, why);
}

/* --- spawn --- */

void molt__proc_let_go(molt_runtime *rt, molt_proc *p, int resume)
{
	int requeue;

	molt__spin_lock(&p->lock);
	if (resume)
		molt__pf_clear(p, MOLT__PF_SUSPENDED);
	requeue = p->sig.len ||
		  (p->mbox.len && !molt__pf_has(p, MOLT__PF_SUSPENDED));
	p->status = requeue ? MOLT__P_QUEUED : MOLT__P_IDLE;
	molt__spin_unlock(&p->lock);
	if (requeue)
		molt__sched_push(rt, p);
}

static int spawn_link(molt_runtime *rt, molt_proc *p, molt_pid link_to)
{
	molt__link *mine = molt__link_new(MOLT__LK_LINK, link_to, 0);
	molt__link *theirs = molt__link_new(MOLT__LK_LINK, p->pid, 0);

	if (!mine || !theirs) {
		molt_free(mine);
		molt_free(theirs);
		return MOLT_ENOMEM;
	}
	link_insert(p, mine); /* nobody else can see p's list yet */
	/* p is new: link_to cannot have a link to it yet */
	if (!molt__link_add(rt, link_to, theirs, 0))
		molt__proc_signal_exit(rt, p->pid, link_to, "noproc",
				       MOLT__MSGF_LINKED);
	return MOLT_OK;
}

int molt__proc_spawn(molt_runtime *rt, molt_pid *out, molt__version *ver,
		     const void *args, size_t len, molt_pid parent,
		     molt_pid link_to, molt_err *err)
{
	molt_proc *p;
	molt_ctx ctx;
	molt__cbsave sv;
	int rc = 0;

	molt__vtally_take(NULL, ver); /* before p can be seen running it */
	if (!(p = slot_alloc(rt, ver))) {
		molt__vtally_drop(NULL, ver, 1);
		return molt_err_set(err, MOLT_ENOMEM,
				    "out of memory spawning a '%s' process",
				    ver->desc->name);
	}
	p->parent = parent;
	if (link_to && spawn_link(rt, p, link_to) < 0)
		rc = -1;
	ctx = (molt_ctx){rt, p, ver, 0};
	molt__watch_push(&sv, p, MOLT__CB_INIT); /* maybe in a callback */
	if (rc == 0 && ver->desc->init)
		rc = ver->desc->init(&ctx, args, len, &p->state);
	molt__watch_pop(&sv);
	if (rc < 0 || molt__pf_has(p, MOLT__PF_EXITING)) {
		char pidbuf[32];

		if (!molt__pf_has(p, MOLT__PF_EXITING))
			set_exiting(p, "init failed");
		molt_err_set(
			err, MOLT_ERROR, "module '%s' init failed for %s: %s",
			ver->desc->name, molt_pid_format(p->pid, pidbuf, 32),
			exit_reason(p));
		proc_exit(rt, p, 0);
		return MOLT_ERROR;
	}
	*out = p->pid;
	MOLT_PROBE3(spawn, p->pid, parent, ver->desc->name);
	molt__proc_let_go(rt, p, 0);
	return MOLT_OK;
}

/* --- the dispatch turn --- */

/* handle_info for DOWN only if the monitor is still on (demonitor drops
 * a DOWN that was already queued, as erlang:demonitor/2 with flush). */
static int wants(molt_proc *p, const molt__msg *m, molt_runtime *rt)
{
	if (m->kind == MOLT_MSG_DOWN)
		return link_remove(p, MOLT__LK_MON_OUT, 0, m->ref, NULL);
	if (m->kind == MOLT_MSG_REPLY && (m->ref & 1))
		return molt__timer_cancel(rt, m->ref) == MOLT_OK;
	return 1;
}

/* traced: 1 when trace.c wraps it (sends are traced too). */
static void dispatch(molt_runtime *rt, molt_proc *p, molt__msg *m, int traced)
{
	const molt_module *d = p->ver->desc;
	molt_ctx ctx = {rt, p, p->ver, traced};
	molt_msg msg = {
		m->kind, m->from, m->ref, m->reason, m->len ? m->data : NULL,
		m->len,	 0,	  0,	  0};
	int rc = 0;

	if (m->kind == MOLT_MSG_TCP) {
		/* sock.c's layout: event in flags, socket in ref, an
		 * ACCEPTED's listener in from */
		msg.tcp = m->flags;
		msg.sock = m->ref;
		msg.listener = m->from;
		msg.from = 0;
		msg.ref = 0;
	}
	MOLT_PROBE4(receive, p->pid, m->kind, m->from, m->len);

	/* single writer: a relaxed load and store, no locked add */
	atomic_store_explicit(
		&p->reductions,
		atomic_load_explicit(&p->reductions, memory_order_relaxed) + 1,
		memory_order_relaxed);
	MOLT_PROBE3(callback_entry, p->pid, d->name, m->kind);
	switch (m->kind) {
	case MOLT_MSG_CALL:
		if (!d->handle_call) {
			set_exiting(p, "no handle_call");
			return;
		}
		rc = d->handle_call(&ctx, &msg, (molt_from){m->from, m->ref},
				    &p->state);
		break;
	case MOLT_MSG_CAST:
		if (d->handle_cast)
			rc = d->handle_cast(&ctx, &msg, &p->state);
		break;
	default:
		if (!wants(p, m, rt))
			return;
		if (d->handle_info)
			rc = d->handle_info(&ctx, &msg, &p->state);
		break;
	}
	MOLT_PROBE2(callback_return, p->pid, rc);
	if (rc < 0 && !molt__pf_has(p, MOLT__PF_EXITING)) {
		char why[64];

		snprintf(why, sizeof(why), "error: callback returned %d", rc);
		set_exiting(p, why);
	}
}

static void handle_exit_signal(molt_proc *p, molt__msg *m)
{
	if (m->flags & MOLT__MSGF_KILL) {
		set_exiting(p, "killed");
		return;
	}
	if ((m->flags & MOLT__MSGF_LINKED) &&
	    !link_remove(p, MOLT__LK_LINK, m->from, 0, NULL) && m->from)
		return; /* unlinked meanwhile: no signal */
	if (molt__pf_has(p, MOLT__PF_TRAP)) {
		molt__msg *e = molt__msg_new(MOLT_MSG_EXIT, m->from, 0, NULL, 0,
					     m->reason);

		if (e) {
			molt__spin_lock(&p->lock);
			molt__mqueue_push(&p->mbox, e);
			molt__spin_unlock(&p->lock);
		}
		return;
	}
	if (m->reason && strcmp(m->reason, "normal") == 0)
		return;
	set_exiting(p, m->reason ? m->reason : "error");
}

/* p's version is flagged (version.h): move p off old code; if p is
 * traced, write the lines before its callback and return 1 (the caller
 * then calls molt__trace_end after it). */
#ifndef MOLT_NO_UPGRADE_CHECK
static __attribute__((noinline)) int flagged(molt_runtime *rt, molt_proc *p,
					     molt__msg *m)
{
	if (atomic_load_explicit(&p->ver->is_old, memory_order_relaxed) &
	    MOLT__V_OLD)
		rt->hooks.on_old(rt, p);
	return (atomic_load_explicit(&p->ver->is_old, memory_order_relaxed) &
		MOLT__V_TRACED) &&
	       molt__trace_begin(rt, p, m);
}
#endif

/* The next message (p->lock held): signals first, then ordinary ones
 * unless suspended. */
static molt__msg *take_locked(molt_proc *p, int *sig)
{
	molt__msg *m = molt__mqueue_pop(&p->sig);

	*sig = m != NULL;
	if (!m && !molt__pf_has(p, MOLT__PF_SUSPENDED))
		m = molt__mqueue_pop(&p->mbox);
	return m;
}

static void handle(molt_runtime *rt, molt_proc *p, molt__msg *m, int sig)
{
	molt__cbslot *ws; /* this scheduler's watch slot */

	if (sig) {
		if (m->kind == MOLT__SIG_EXIT) {
			handle_exit_signal(p, m);
		} else {
			ws = molt__watch_enter(p, MOLT__CB_SYSREQ, 0);
			sysfn_of(m)->run(rt, p, sysfn_of(m));
			molt__watch_leave(ws);
		}
	} else {
		int traced = 0;

		ws = molt__watch_enter(p, MOLT__CB_MSG, m->kind);
#ifndef MOLT_NO_UPGRADE_CHECK /* only to measure what the check costs */
		/* the one upgrade check on the hot path (and the trace's) */
		if (__builtin_expect(atomic_load_explicit(&p->ver->is_old,
							  memory_order_relaxed),
				     0))
			traced = flagged(rt, p, m);
#endif
		dispatch(rt, p, m, traced);
		if (__builtin_expect(traced, 0))
			molt__trace_end(rt, p);
		molt__watch_leave(ws);
	}
	molt_free(m);
}

/*
 * One turn: at most budget messages. Taking the next message and letting
 * go of the process (IDLE when nothing is left, QUEUED again when the
 * budget ran out) happen in the same critical section, so a message
 * costs its sender one lock and the receiver two.
 */
unsigned molt__proc_run(molt_runtime *rt, molt_proc *p)
{
	unsigned budget = rt->opts.budget, n = 0;
	int sig, requeue = 0;
	molt__msg *m;

	molt__spin_lock(&p->lock);
	p->status = MOLT__P_RUNNING;
	for (;;) {
		m = n < budget ? take_locked(p, &sig) : NULL;
		if (!m) {
			requeue = p->sig.len ||
				  (p->mbox.len &&
				   !molt__pf_has(p, MOLT__PF_SUSPENDED));
			p->status = requeue ? MOLT__P_QUEUED : MOLT__P_IDLE;
			molt__spin_unlock(&p->lock);
			break;
		}
		molt__spin_unlock(&p->lock);
		handle(rt, p, m, sig);
		n++;
		if (molt__pf_has(p, MOLT__PF_EXITING)) {
			proc_exit(rt, p, 1);
			return n; /* the slot may already be someone else's */
		}
		molt__spin_lock(&p->lock);
	}
	if (requeue)
		molt__sched_push(rt, p);
	return n;
}

/* --- counters --- */

/* Raise *c to v if lower (writers hold p's lock). */
static void raise_to(_Atomic uint64_t *c, uint64_t v)
{
	if (v > atomic_load_explicit(c, memory_order_relaxed))
		atomic_store_explicit(c, v, memory_order_relaxed);
}

/* End p's long_queue episode if its queue is half drained (L held). */
static int queue_calm_locked(molt_runtime *rt, molt_proc *p)
{
	long long lq = rt->opts.long_queue;

	if (!(atomic_load_explicit(&p->mon, memory_order_relaxed) &
	      MOLT__MON_QUEUE))
		return 1;
	if (p->mbox.len >= (unsigned long long)lq / 2)
		return 0;
	atomic_fetch_and_explicit(&p->mon, (uint8_t)~MOLT__MON_QUEUE,
				  memory_order_relaxed);
	if (p->mbox_next > (unsigned long long)lq)
		p->mbox_next = (uint32_t)lq; /* the next episode */
	return 1;
}

int molt__proc_queue_calm(molt_runtime *rt, molt_pid pid)
{
	molt_proc *p = molt__proc_slot(rt, pid);
	int calm = 1;

	if (!p)
		return 1;
	molt__spin_lock(&p->lock);
	if (p->pid == pid)
		calm = queue_calm_locked(rt, p);
	molt__spin_unlock(&p->lock);
	return calm;
}

void molt__proc_account(molt_runtime *rt, molt_proc *p, molt_pid pid,
			uint64_t ns, unsigned n)
{
	molt__spin_lock(&p->lock);
	if (p->pid == pid) {
		atomic_store_explicit(
			&p->cb_ns,
			atomic_load_explicit(&p->cb_ns, memory_order_relaxed) +
				ns * MOLT__OBS_SAMPLE_MEAN,
			memory_order_relaxed);
		raise_to(&p->cb_max_ns, ns / n);
		atomic_store_explicit(
			&p->cb_samples,
			atomic_load_explicit(&p->cb_samples,
					     memory_order_relaxed) +
				1,
			memory_order_relaxed);
		queue_calm_locked(rt, p);
	}
	molt__spin_unlock(&p->lock);
}

void molt__proc_note_running(molt_runtime *rt, molt_pid pid, uint64_t ns)
{
	molt_proc *p = molt__proc_slot(rt, pid);

	if (!p)
		return;
	molt__spin_lock(&p->lock);
	if (p->pid == pid)
		raise_to(&p->cb_max_ns, ns);
	molt__spin_unlock(&p->lock);
}

void molt__proc_heap_check(molt_runtime *rt, molt_proc *p, size_t bytes)
{
	long long lh = rt->opts.large_heap;
	char text[512], pb[32];

	if (lh <= 0)
		return;
	if (bytes < (unsigned long long)lh / 2) {
		atomic_fetch_and_explicit(&p->mon, (uint8_t)~MOLT__MON_HEAP,
					  memory_order_relaxed);
		return;
	}
	if (bytes < (unsigned long long)lh ||
	    (atomic_fetch_or_explicit(&p->mon, MOLT__MON_HEAP,
				      memory_order_relaxed) &
	     MOLT__MON_HEAP))
		return;
	snprintf(text, sizeof(text),
		 "%s (%s %s) holds %zu heap bytes (threshold %lld)",
		 molt_pid_format(p->pid, pb, sizeof(pb)), p->ver->desc->name,
		 p->ver->desc->vsn, bytes, lh);
	molt_runtime_event_post(rt, MOLT_EVENT_LARGE_HEAP, p->pid, bytes,
				(uint64_t)lh, text);
}

/* --- inspection --- */

int molt__proc_exit_done(molt_runtime *rt, molt_pid pid)
{
	molt_proc *p = molt__proc_slot(rt, pid);
	int done;

	if (!p)
		return 1;
	molt__spin_lock(&p->lock);
	done = p->pid != pid && !(p->status == MOLT__P_EXITING &&
				  p->gen == (uint32_t)(pid >> 32));
	molt__spin_unlock(&p->lock);
	return done;
}

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

int molt__proc_info(molt_runtime *rt, molt_proc *p, molt_pid pid,
		    molt_proc_info *out)
{
	(void)rt;
	memset(out, 0, sizeof(*out));
	molt__spin_lock(&p->lock);
	if (!p->pid || (pid && p->pid != pid) || !p->ver) {
		molt__spin_unlock(&p->lock);
		return MOLT_ENOTFOUND;
	}
	out->pid = p->pid;
	copy_str(out->module, sizeof(out->module), p->ver->desc->name);
	copy_str(out->vsn, sizeof(out->vsn), p->ver->desc->vsn);
	out->old_code = (atomic_load(&p->ver->is_old) & MOLT__V_OLD) != 0;
	out->suspended = molt__pf_has(p, MOLT__PF_SUSPENDED);
	out->trap_exit = molt__pf_has(p, MOLT__PF_TRAP);
	out->queue_len = p->mbox.len;
	out->sockets = molt__socks_count(p);
	out->heap_bytes =
		atomic_load_explicit(&p->heap_bytes, memory_order_relaxed);
	out->reductions =
		atomic_load_explicit(&p->reductions, memory_order_relaxed);
	out->queue_max = p->mbox_hw;
	out->callback_ns =
		atomic_load_explicit(&p->cb_ns, memory_order_relaxed);
	out->callback_max_ns =
		atomic_load_explicit(&p->cb_max_ns, memory_order_relaxed);
	out->callback_samples =
		atomic_load_explicit(&p->cb_samples, memory_order_relaxed);
	molt__spin_unlock(&p->lock);
	return MOLT_OK;
}
