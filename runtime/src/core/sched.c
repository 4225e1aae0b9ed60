/* Schedulers: one thread per queue, FIFO run queues, stealing, sleeping. */
#include "sched.h"

#include <string.h>

#include "molt/common.h"

#include "proc.h"
#include "rt.h"
#include "sock.h"
#include "timer.h"
#include "watch.h"

#include "molt/banned.h"

/* Turns between two non-blocking looks at the sockets while busy. */
#define SCHED_POLL_EVERY 64

static _Thread_local molt__sched *cur;

molt__sched *molt__sched_current(void)
{
	return cur;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

int molt__sched_init(molt_runtime *rt)
{
	molt__scheds *ss = &rt->sched;

	ss->n = rt->opts.schedulers;
	ss->s = molt_calloc(ss->n, sizeof(*ss->s));
	if (!ss->s)
		return MOLT_ENOMEM;
	for (unsigned i = 0; i < ss->n; i++) {
		ss->s[i].rt = rt;
		ss->s[i].id = i;
		ss->s[i].rng = rt->opts.seed ? rt->opts.seed : 1;
		ss->s[i].srng = 0x9E3779B97F4A7C15ull * (i + 1);
		ss->s[i].sample_left = 1 + i;
		ss->s[i].poll_left = SCHED_POLL_EVERY;
		pthread_mutex_init(&ss->s[i].q.mu, NULL);
	}
	pthread_mutex_init(&ss->idle_mu, NULL);
	pthread_cond_init(&ss->idle_cv, NULL);
	return MOLT_OK;
}

void molt__sched_release(molt_runtime *rt)
{
	molt__scheds *ss = &rt->sched;

	for (unsigned i = 0; i < ss->n; i++)
		pthread_mutex_destroy(&ss->s[i].q.mu);
	pthread_mutex_destroy(&ss->idle_mu);
	pthread_cond_destroy(&ss->idle_cv);
	molt_free(ss->s);
	ss->s = NULL;
}

static void wake_one(molt__scheds *ss)
{
	pthread_mutex_lock(&ss->idle_mu);
	pthread_cond_signal(&ss->idle_cv);
	pthread_mutex_unlock(&ss->idle_mu);
}

/* Is a scheduler idle: asleep, or waiting in epoll_wait? */
static int any_idle(molt_runtime *rt)
{
	return atomic_load(&rt->sched.sleepers) > 0 ||
	       atomic_load(&rt->sched.polling);
}

/* Wake an idle scheduler: a sleeper if there is one (the one in epoll
 * keeps serving the sockets), else the one in epoll_wait. */
static void wake_idle(molt_runtime *rt)
{
	if (atomic_load(&rt->sched.sleepers) > 0)
		wake_one(&rt->sched);
	else
		molt__socks_poke(rt, 0);
}

static void wake_later(molt_runtime *rt);

/* Has s a queue that did not move since the last kick (s is stuck in a
 * callback)? Timer thread only. */
static int stuck(molt__sched *s)
{
	size_t len, pops;

	pthread_mutex_lock(&s->q.mu);
	len = s->q.len;
	pops = s->q.pops;
	pthread_mutex_unlock(&s->q.mu);
	if (len && pops == s->kick_seen)
		return 1;
	s->kick_seen = pops;
	return 0;
}

/* The deferred wake-up (timer thread), while work is queued and a
 * scheduler sleeps: wake it if a queue is stuck behind a callback, else
 * look again later (its scheduler is working through it). */
static void kick(molt_runtime *rt, molt_ref ref, void *payload)
{
	molt__scheds *ss = &rt->sched;
	int any = 0;

	(void)ref;
	(void)payload;
	atomic_store(&ss->kick_armed, 0);
	if (atomic_load(&ss->stopping))
		return;
	if (molt__socks_unattended(rt) && atomic_load(&ss->sleepers) > 0)
		wake_one(ss); /* it takes up the poll (poll_idle) */
	if (atomic_load(&ss->runnable) == 0 || !any_idle(rt))
		return;
	for (unsigned i = 0; i < ss->n; i++)
		any |= stuck(&ss->s[i]);
	if (any)
		wake_idle(rt);
	else
		wake_later(rt);
}

/* A push onto the pusher's own queue, which holds only p, while another
 * scheduler sleeps: the pusher will most likely run p itself as soon as
 * its callback returns, and waking a thread per message (a futex, then
 * the woken one steals or sleeps again) costs more than the message.
 * But the callback may also run long, and p must not wait for it while
 * a scheduler sleeps. So the wake-up is deferred: the timer thread looks
 * again in 1 ms and wakes a sleeper if work is still queued. At most one
 * such timer is pending; kick() wakes a sleeper only if a queue did not
 * move for a tick, so a busy scheduler keeps its work. */
static void wake_later(molt_runtime *rt)
{
	molt__scheds *ss = &rt->sched;

	if (atomic_load_explicit(&ss->kick_armed, memory_order_relaxed) ||
	    atomic_exchange(&ss->kick_armed, 1))
		return;
	if (molt__timer_add_fn(rt, molt__rt_ref(rt, 0), 1, kick, NULL) < 0) {
		atomic_store(&ss->kick_armed, 0);
		wake_idle(rt); /* out of memory: wake now */
	}
}

void molt__sched_push(molt_runtime *rt, molt_proc *p)
{
	molt__scheds *ss = &rt->sched;
	molt__sched *s = cur && cur->rt == rt ? cur : NULL;
	molt__runq *q;
	size_t len;

	if (!s)
		s = &ss->s[atomic_fetch_add_explicit(&ss->rr, 1,
						     memory_order_relaxed) %
			   ss->n];
	q = &s->q;
	pthread_mutex_lock(&q->mu);
	p->next_run = NULL;
	if (q->tail)
		q->tail->next_run = p;
	else
		q->head = p;
	q->tail = p;
	len = ++q->len;
	pthread_mutex_unlock(&q->mu);
	atomic_fetch_add(&ss->runnable, 1); /* seq_cst: see next() */
	if (!any_idle(rt))
		return;
	if (s == cur && len == 1)
		wake_later(rt);
	else
		wake_idle(rt);
}

/* Pop the head, or (deterministic mode) a PRNG-chosen position. */
static molt_proc *pop(molt__sched *s, int pick)
{
	molt__runq *q = &s->q;
	molt_proc *p, **pp;
	size_t k = 0;

	pthread_mutex_lock(&q->mu);
	if (!q->len) {
		pthread_mutex_unlock(&q->mu);
		return NULL;
	}
	if (pick)
		k = (size_t)(xorshift(&s->rng) % q->len);
	pp = &q->head;
	while (k--)
		pp = &(*pp)->next_run;
	p = *pp;
	*pp = p->next_run;
	q->pops++;
	if (q->tail == p) {
		q->tail = NULL;
		for (molt_proc *t = q->head; t; t = t->next_run)
			q->tail = t;
	}
	q->len--;
	pthread_mutex_unlock(&q->mu);
	p->next_run = NULL;
	atomic_fetch_sub(&s->rt->sched.runnable, 1);
	return p;
}

/* Add v to a counter only this thread writes: a plain add, no bus lock. */
static void own_add(atomic_uint_fast64_t *c, uint64_t v)
{
	atomic_store_explicit(c,
			      atomic_load_explicit(c, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

/* Sleep until work comes (idle_mu held); the time asleep is counted.
 * Clock reads here cost nothing that matters: the thread is idle. */
static void sleep_idle(molt__sched *s)
{
	uint64_t t0 = molt__now_ns();

	atomic_store_explicit(&s->asleep_since, t0, memory_order_relaxed);
	pthread_cond_wait(&s->rt->sched.idle_cv, &s->rt->sched.idle_mu);
	atomic_store_explicit(&s->asleep_since, 0, memory_order_relaxed);
	own_add(&s->idle_ns, molt__now_ns() - t0);
}

/* Wait in epoll_wait (the poll token held) and handle what came; the
 * time blocked counts as idle. */
static void poll_idle(molt__sched *s)
{
	uint64_t t0 = molt__now_ns();

	atomic_store_explicit(&s->asleep_since, t0, memory_order_relaxed);
	molt__socks_poll(s->rt, -1);
	atomic_store_explicit(&s->asleep_since, 0, memory_order_relaxed);
	own_add(&s->idle_ns, molt__now_ns() - t0);
	/* Off to run what came, the token given back: if a scheduler
	 * sleeps, it should take up the poll should this one stay busy
	 * (a long callback must not leave the sockets unwatched). Waking
	 * it now would cost a thread switch per event; kick() looks in
	 * 1 ms, by when this one is most often back in epoll_wait. */
	if (atomic_load(&s->rt->sched.sleepers) > 0)
		wake_later(s->rt);
}

static molt_proc *next(molt__sched *s)
{
	molt__scheds *ss = &s->rt->sched;
	int det = s->rt->opts.deterministic;

	for (;;) {
		molt_proc *p = pop(s, det);

		for (unsigned i = 1; !p && i < ss->n; i++)
			if ((p = pop(&ss->s[(s->id + i) % ss->n], 0)) != NULL)
				own_add(&s->steals, 1); /* stolen */
		if (p)
			return p;
		if (molt__socks_poll_try(s->rt, 1)) {
			/* the poll token: wait in epoll_wait, unless work
			 * came since the queues were looked at (polling is
			 * raised first: a pusher sees it, or we see its
			 * work) */
			if (atomic_load(&ss->runnable) == 0 &&
			    !atomic_load(&ss->stopping))
				poll_idle(s);
			else
				molt__socks_poll_cancel(s->rt);
			if (atomic_load(&ss->stopping) &&
			    atomic_load(&ss->runnable) == 0)
				return NULL;
			continue;
		}
		pthread_mutex_lock(&ss->idle_mu);
		atomic_fetch_add(&ss->sleepers, 1);
		/* (the first socket made since the token was looked at
		 * wakes this mutex's sleepers: see molt__sched_wake_all) */
		if (!atomic_load(&ss->stopping) &&
		    atomic_load(&ss->runnable) == 0 &&
		    !molt__socks_unattended(s->rt))
			sleep_idle(s);
		atomic_fetch_sub(&ss->sleepers, 1);
		pthread_mutex_unlock(&ss->idle_mu);
		if (atomic_load(&ss->stopping) &&
		    atomic_load(&ss->runnable) == 0)
			return NULL;
	}
}

/*
 * A timed turn. Reading the clock around every turn would cost the ring
 * benchmark more than all the other counters together, so one turn in
 * MOLT__OBS_SAMPLE_MEAN on average (at random intervals, so a periodic
 * load cannot hide from it) is timed: its duration goes to the callback
 * histogram, and to the process as MOLT__OBS_SAMPLE_MEAN times that
 * (an unbiased estimate of its callback time).
 */
static unsigned timed_run(molt__sched *s, molt_proc *p)
{
	molt_pid pid = p->pid; /* p is ours until the turn ends */
	uint64_t t0 = molt__now_ns(), dt;
	unsigned n = molt__proc_run(s->rt, p);

	dt = molt__now_ns() - t0;
	s->sample_left = 1 + (unsigned)(xorshift(&s->srng) %
					(2 * MOLT__OBS_SAMPLE_MEAN - 1));
	own_add(&s->sampled, 1);
	if (n) {
		molt__hist_add(&s->cb_hist, dt / n, n);
		molt__proc_account(s->rt, p, pid, dt, n);
	}
	return n;
}

static void *sched_main(void *arg)
{
	molt__sched *s = arg;
	molt_proc *p;

	cur = s;
	molt__watch_thread_begin(s->rt, s->id);
	while ((p = next(s)) != NULL) {
		unsigned n;

		if (__builtin_expect(--s->sample_left == 0, 0))
			n = timed_run(s, p);
		else
			n = molt__proc_run(s->rt, p);
		own_add(&s->dispatched, n);
		/* busy: look at the sockets now and then, if no idle
		 * scheduler waits on them */
		if (__builtin_expect(--s->poll_left == 0, 0)) {
			s->poll_left = SCHED_POLL_EVERY;
			if (molt__socks_poll_try(s->rt, 0))
				molt__socks_poll(s->rt, 0);
		}
	}
	molt__watch_thread_end();
	cur = NULL;
	return NULL;
}

int molt__sched_start(molt_runtime *rt)
{
	molt__scheds *ss = &rt->sched;

	for (unsigned i = 0; i < ss->n; i++) {
		if (pthread_create(&ss->s[i].thread, NULL, sched_main,
				   &ss->s[i]) != 0) {
			atomic_store(&ss->stopping, 1);
			pthread_mutex_lock(&ss->idle_mu);
			pthread_cond_broadcast(&ss->idle_cv);
			pthread_mutex_unlock(&ss->idle_mu);
			while (i--)
				pthread_join(ss->s[i].thread, NULL);
			return MOLT_EIO;
		}
	}
	return MOLT_OK;
}

void molt__sched_wake_all(molt_runtime *rt)
{
	molt__scheds *ss = &rt->sched;

	pthread_mutex_lock(&ss->idle_mu);
	pthread_cond_broadcast(&ss->idle_cv);
	pthread_mutex_unlock(&ss->idle_mu);
}

void molt__sched_stop(molt_runtime *rt)
{
	molt__scheds *ss = &rt->sched;

	atomic_store(&ss->stopping, 1);
	pthread_mutex_lock(&ss->idle_mu);
	pthread_cond_broadcast(&ss->idle_cv);
	pthread_mutex_unlock(&ss->idle_mu);
	molt__socks_poke(rt, 1); /* and the one in epoll_wait */
	for (unsigned i = 0; i < ss->n; i++)
		pthread_join(ss->s[i].thread, NULL);
}

size_t molt_runtime_sched_stats(molt_runtime *rt, molt_sched_stats *out,
				size_t max)
{
	molt__scheds *ss = &rt->sched;
	uint64_t up = atomic_load(&rt->started)
			      ? (molt_now_ms() - rt->start_ms) * 1000000u
			      : 0;
	uint64_t now = molt__now_ns(), since;

	for (unsigned i = 0; i < ss->n && i < max; i++) {
		molt__sched *s = &ss->s[i];
		molt_sched_stats *o = &out[i];

		memset(o, 0, sizeof(*o));
		o->id = i;
		o->messages = atomic_load_explicit(&s->dispatched,
						   memory_order_relaxed);
		o->idle_ns =
			atomic_load_explicit(&s->idle_ns, memory_order_relaxed);
		since = atomic_load_explicit(&s->asleep_since,
					     memory_order_relaxed);
		if (since && now > since) /* asleep now: count it too */
			o->idle_ns += now - since;
		o->busy_ns = up > o->idle_ns ? up - o->idle_ns : 0;
		o->steals =
			atomic_load_explicit(&s->steals, memory_order_relaxed);
		o->sampled =
			atomic_load_explicit(&s->sampled, memory_order_relaxed);
		pthread_mutex_lock(&s->q.mu);
		o->queue_len = s->q.len;
		pthread_mutex_unlock(&s->q.mu);
	}
	return ss->n;
}
