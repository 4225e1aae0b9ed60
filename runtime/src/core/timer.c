/* Timers: a min-heap ordered by deadline, a hash by reference, a thread. */
#include "timer.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "molt/common.h"

#include "mailbox.h"
#include "proc.h"
#include "rt.h"

#include "molt/banned.h"

int molt__timer_init(molt_runtime *rt)
{
	molt__timers *t = &rt->timers;

	memset(t, 0, sizeof(*t));
	t->nbuckets = 1024;
	t->buckets = molt_calloc(t->nbuckets, sizeof(*t->buckets));
	t->owners = molt_calloc(t->nbuckets, sizeof(*t->owners));
	if (!t->buckets || !t->owners) {
		molt_free(t->buckets);
		molt_free(t->owners);
		return MOLT_ENOMEM;
	}
	pthread_mutex_init(&t->mu, NULL);
	molt__cond_init_mono(&t->cv);
	return MOLT_OK;
}

static void timer_free(molt__timer *tm)
{
	molt_free(tm->msg);
	molt_free(tm);
}

void molt__timer_release(molt_runtime *rt)
{
	molt__timers *t = &rt->timers;

	for (size_t i = 0; i < t->n; i++)
		timer_free(t->heap[i]);
	molt_free(t->heap);
	molt_free(t->buckets);
	molt_free(t->owners);
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cv);
	memset(t, 0, sizeof(*t));
}

static molt__timer **bucket(molt__timers *t, molt_ref ref)
{
	return &t->buckets[(ref >> 1) & (t->nbuckets - 1)];
}

static molt__timer **owner_bucket(molt__timers *t, molt_pid pid)
{
	uint64_t h = (uint64_t)pid * 0x9E3779B97F4A7C15ull;

	return &t->owners[(size_t)(h >> 32) & (t->nbuckets - 1)];
}

/* Chain tm by its owner, the pid it delivers to (t->mu held). */
static void owner_link(molt__timers *t, molt__timer *tm)
{
	molt__timer **b;

	if (!tm->msg)
		return;
	b = owner_bucket(t, tm->to);
	tm->onext = *b;
	if (*b)
		(*b)->oprev = &tm->onext;
	tm->oprev = b;
	*b = tm;
}

static void owner_unlink(molt__timer *tm)
{
	if (!tm->oprev)
		return;
	*tm->oprev = tm->onext;
	if (tm->onext)
		tm->onext->oprev = tm->oprev;
	tm->oprev = NULL;
	tm->onext = NULL;
}

static void swap(molt__timers *t, size_t a, size_t b)
{
	molt__timer *x = t->heap[a];

	t->heap[a] = t->heap[b];
	t->heap[b] = x;
	t->heap[a]->idx = a;
	t->heap[b]->idx = b;
}

static void sift_up(molt__timers *t, size_t i)
{
	while (i > 0 && t->heap[(i - 1) / 2]->due > t->heap[i]->due) {
		swap(t, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void sift_down(molt__timers *t, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < t->n && t->heap[l]->due < t->heap[m]->due)
			m = l;
		if (r < t->n && t->heap[r]->due < t->heap[m]->due)
			m = r;
		if (m == i)
			return;
		swap(t, i, m);
		i = m;
	}
}

/* Remove tm from heap and hash (t->mu held). */
static void unlink_timer(molt__timers *t, molt__timer *tm)
{
	size_t i = tm->idx;
	molt__timer **pp;

	for (pp = bucket(t, tm->ref); *pp != tm; pp = &(*pp)->hnext)
		;
	*pp = tm->hnext;
	owner_unlink(tm);
	t->n--;
	if (i != t->n) {
		t->heap[i] = t->heap[t->n];
		t->heap[i]->idx = i;
		sift_down(t, i);
		sift_up(t, i);
	}
}

/* Rehash into twice the buckets (t->mu held), so that chains stay short
 * however many timers are pending (100,000 outside calls each have one);
 * out of memory, the old buckets stay (longer chains, still correct). */
static void rehash(molt__timers *t)
{
	size_t nb = 2 * t->nbuckets;
	molt__timer **b = molt_calloc(nb, sizeof(*b));
	molt__timer **o = molt_calloc(nb, sizeof(*o));

	if (!b || !o) {
		molt_free(b);
		molt_free(o);
		return;
	}
	molt_free(t->buckets);
	molt_free(t->owners);
	t->buckets = b;
	t->owners = o;
	t->nbuckets = nb;
	for (size_t i = 0; i < t->n; i++) {
		molt__timer **h = bucket(t, t->heap[i]->ref);

		t->heap[i]->hnext = *h;
		*h = t->heap[i];
		owner_link(t, t->heap[i]);
	}
}

static int add(molt_runtime *rt, molt__timer *tm, uint32_t ms)
{
	molt__timers *t = &rt->timers;
	molt__timer **b;

	tm->due = molt_now_ms() + ms;
	pthread_mutex_lock(&t->mu);
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		molt__timer **h = molt_realloc(t->heap, cap * sizeof(*h));

		if (!h) {
			pthread_mutex_unlock(&t->mu);
			return MOLT_ENOMEM;
		}
		t->heap = h;
		t->cap = cap;
	}
	if (t->n >= t->nbuckets)
		rehash(t);
	b = bucket(t, tm->ref);
	tm->hnext = *b;
	*b = tm;
	owner_link(t, tm);
	tm->idx = t->n;
	t->heap[t->n++] = tm;
	sift_up(t, tm->idx);
	/* wake the thread only if it would sleep past this timer: a call's
	 * timeout (due later than the one the thread sleeps until) costs
	 * no wake-up, no context switch */
	if (tm->due < t->wake_due)
		pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
	return MOLT_OK;
}

int molt__timer_add_msg(molt_runtime *rt, molt_ref ref, uint32_t ms,
			molt_pid to, molt__msg *msg)
{
	molt__timer *tm = molt_calloc(1, sizeof(*tm));

	if (!tm) {
		molt_free(msg);
		return MOLT_ENOMEM;
	}
	tm->ref = ref;
	tm->to = to;
	tm->msg = msg;
	if (add(rt, tm, ms) < 0) {
		timer_free(tm);
		return MOLT_ENOMEM;
	}
	return MOLT_OK;
}

int molt__timer_add_fn(molt_runtime *rt, molt_ref ref, uint32_t ms,
		       molt__timer_fn fn, void *payload)
{
	molt__timer *tm = molt_calloc(1, sizeof(*tm));

	if (!tm)
		return MOLT_ENOMEM;
	tm->ref = ref;
	tm->fn = fn;
	tm->payload = payload;
	if (add(rt, tm, ms) < 0) {
		timer_free(tm);
		return MOLT_ENOMEM;
	}
	return MOLT_OK;
}

void molt__timer_cancel_owner(molt_runtime *rt, molt_pid pid)
{
	molt__timers *t = &rt->timers;
	molt__timer *tm, *next, *dead = NULL;

	pthread_mutex_lock(&t->mu);
	for (tm = *owner_bucket(t, pid); tm; tm = next) {
		next = tm->onext;
		if (tm->to != pid)
			continue;
		unlink_timer(t, tm);
		tm->hnext = dead; /* free them outside the lock */
		dead = tm;
	}
	pthread_mutex_unlock(&t->mu);
	for (; dead; dead = next) {
		next = dead->hnext;
		timer_free(dead);
	}
}

size_t molt__timer_count(molt_runtime *rt)
{
	molt__timers *t = &rt->timers;
	size_t n;

	pthread_mutex_lock(&t->mu);
	n = t->n;
	pthread_mutex_unlock(&t->mu);
	return n;
}

int molt__timer_cancel(molt_runtime *rt, molt_ref ref)
{
	molt__timers *t = &rt->timers;
	molt__timer *tm;

	pthread_mutex_lock(&t->mu);
	for (tm = *bucket(t, ref); tm && tm->ref != ref; tm = tm->hnext)
		;
	if (tm)
		unlink_timer(t, tm);
	pthread_mutex_unlock(&t->mu);
	if (!tm)
		return MOLT_ENOTFOUND;
	timer_free(tm);
	return MOLT_OK;
}

static void fire(molt_runtime *rt, molt__timer *tm)
{
	if (tm->msg) {
		molt__proc_deliver(rt, tm->to, tm->msg, 0);
		tm->msg = NULL;
	} else if (tm->fn) {
		tm->fn(rt, tm->ref, tm->payload);
	}
	timer_free(tm);
}

static void *timer_main(void *arg)
{
	molt_runtime *rt = arg;
	molt__timers *t = &rt->timers;

	pthread_mutex_lock(&t->mu);
	while (!t->stop) {
		uint64_t now = molt_now_ms();
		struct timespec ts;
		molt__timer *tm;

		if (!t->n) {
			t->wake_due = UINT64_MAX;
			pthread_cond_wait(&t->cv, &t->mu);
			t->wake_due = 0;
			continue;
		}
		tm = t->heap[0];
		if (tm->due <= now) {
			unlink_timer(t, tm);
			pthread_mutex_unlock(&t->mu);
			fire(rt, tm);
			pthread_mutex_lock(&t->mu);
			continue;
		}
		ts.tv_sec = (time_t)(tm->due / 1000);
		ts.tv_nsec = (long)(tm->due % 1000) * 1000000L;
		t->wake_due = tm->due;
		pthread_cond_timedwait(&t->cv, &t->mu, &ts);
		t->wake_due = 0;
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

int molt__timer_start(molt_runtime *rt)
{
	molt__timers *t = &rt->timers;

	if (pthread_create(&t->thread, NULL, timer_main, rt) != 0)
		return MOLT_EIO;
	t->running = 1;
	return MOLT_OK;
}

void molt__timer_stop(molt_runtime *rt)
{
	molt__timers *t = &rt->timers;

	if (!t->running)
		return;
	pthread_mutex_lock(&t->mu);
	t->stop = 1;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->thread, NULL);
	t->running = 0;
}
