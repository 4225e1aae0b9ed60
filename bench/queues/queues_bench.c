/*
 * queues_bench: molt's mailbox queue against liburcu's wfcqueue and
 * Concurrency Kit's ck_fifo_mpmc, and a refcount per dispatch against an
 * urcu-memb read-side section per dispatch (docs/architecture.md,
 * "Libraries"; docs/benchmarks.md, "Queues").
 *
 *   queues_bench [--messages N] [--runs R]
 *
 * Prints `name value unit` lines, each the median of R runs (default 5).
 *
 * molt's side is runtime/src/mailbox.c itself (compiled into this binary)
 * under a copy of the runtime's spinlock (runtime.c molt__spin_lock: the
 * same exchange, spin, then yield loop), which is how molt__proc_deliver
 * and the scheduler's take_locked use it. Every message is allocated once
 * before the clock starts and carries the links of all three queues, so
 * no queue allocates: each producer recycles a pool of messages that the
 * consumer hands back with a flag (for ck_fifo_mpmc, when the message's
 * entry comes back as the dequeue's garbage stub). The consumer checks
 * that each producer's messages arrive in order.
 */
#define _LGPL_SOURCE 1
#include <ck_fifo.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <urcu/urcu-memb.h>
#include <urcu/wfcqueue.h>

#include "../../runtime/src/core/mailbox.h" /* molt__mqueue */

#include "molt/banned.h"

#define POOL 4096u /* messages per producer */

/*
 * A pool slot is MSG_STRIDE bytes: molt's message header (whose flexible
 * payload cannot sit inside another struct) at offset 0, then this struct
 * at MSG_OFF.
 */
typedef struct bmsg {
	struct cds_wfcq_node wn;      /* urcu wfcqueue link */
	struct ck_fifo_mpmc_entry ce; /* ck_fifo_mpmc link */
	atomic_int busy; /* 1 from send until the consumer is done */
	uint32_t prod;
	uint64_t seq;
} bmsg;

#define MSG_OFF	   64
#define MSG_STRIDE 192
_Static_assert(sizeof(molt__msg) <= MSG_OFF, "molt__msg fits");
_Static_assert(MSG_OFF + sizeof(bmsg) <= MSG_STRIDE, "bmsg fits");

static molt__msg *msg_mm(bmsg *m)
{
	return (molt__msg *)(void *)((char *)m - MSG_OFF);
}

static bmsg *msg_of(molt__msg *mm)
{
	return mm ? (bmsg *)(void *)((char *)mm + MSG_OFF) : NULL;
}

enum { Q_MOLT, Q_WFCQ, Q_CK };
static const char *const qname[] = {"molt_mailbox", "urcu_wfcq",
				    "ck_fifo_mpmc"};

typedef struct bench {
	int kind;
	unsigned nprod;
	uint64_t per_prod;
	char **pools; /* nprod pools of POOL slots */
	atomic_int start;
	int bad;
	/* molt */
	atomic_int lock;
	molt__mqueue mq;
	/* urcu */
	struct cds_wfcq_head wh;
	struct cds_wfcq_tail wt;
	/* ck */
	struct ck_fifo_mpmc fifo;
	struct ck_fifo_mpmc_entry stub;
} bench;

typedef struct prod_arg {
	bench *b;
	unsigned id;
} prod_arg;

static void spin_lock(atomic_int *l)
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

static void spin_unlock(atomic_int *l)
{
	atomic_store_explicit(l, 0, memory_order_release);
}

static void backoff(unsigned *n)
{
	if (++*n > 64)
		sched_yield();
}

static void send(bench *b, bmsg *m)
{
	switch (b->kind) {
	case Q_MOLT:
		spin_lock(&b->lock);
		molt__mqueue_push(&b->mq, msg_mm(m));
		spin_unlock(&b->lock);
		break;
	case Q_WFCQ:
		cds_wfcq_node_init(&m->wn);
		cds_wfcq_enqueue(&b->wh, &b->wt, &m->wn);
		break;
	default:
		ck_fifo_mpmc_enqueue(&b->fifo, &m->ce, m);
		break;
	}
}

static void *producer(void *arg)
{
	prod_arg *a = arg;
	bench *b = a->b;
	char *pool = b->pools[a->id];

	while (!atomic_load_explicit(&b->start, memory_order_acquire))
		sched_yield();
	for (uint64_t i = 0; i < b->per_prod; i++) {
		bmsg *m = (bmsg *)(void *)(pool + (i % POOL) * MSG_STRIDE +
					   MSG_OFF);
		unsigned n = 0;

		while (atomic_load_explicit(&m->busy, memory_order_acquire))
			backoff(&n);
		atomic_store_explicit(&m->busy, 1, memory_order_relaxed);
		m->seq = i;
		send(b, m);
	}
	return NULL;
}

/* The next message, or NULL when the queue is empty. *done is the message
 * the consumer may hand back after reading this one (or NULL). */
static bmsg *receive(bench *b, bmsg **done)
{
	molt__msg *mm;
	struct cds_wfcq_node *wn;
	struct ck_fifo_mpmc_entry *garbage;
	void *v;

	switch (b->kind) {
	case Q_MOLT:
		spin_lock(&b->lock);
		mm = molt__mqueue_pop(&b->mq);
		spin_unlock(&b->lock);
		*done = msg_of(mm);
		return *done;
	case Q_WFCQ:
		wn = __cds_wfcq_dequeue_blocking(&b->wh, &b->wt);
		*done = wn ? caa_container_of(wn, bmsg, wn) : NULL;
		return *done;
	default:
		if (!ck_fifo_mpmc_dequeue(&b->fifo, &v, &garbage))
			return NULL;
		*done = garbage == &b->stub
				? NULL
				: caa_container_of(garbage, bmsg, ce);
		return v;
	}
}

static void consume(bench *b)
{
	uint64_t total = b->per_prod * b->nprod;
	uint64_t *next = calloc(b->nprod, sizeof(*next));
	unsigned n = 0;

	if (!next) {
		b->bad = 1;
		return;
	}
	while (total) {
		bmsg *done, *m = receive(b, &done);

		if (!m) {
			backoff(&n);
			continue;
		}
		n = 0;
		if (m->seq != next[m->prod]++)
			b->bad = 1;
		if (done)
			atomic_store_explicit(&done->busy, 0,
					      memory_order_release);
		total--;
	}
	free(next);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int bench_init(bench *b, int kind, unsigned nprod, uint64_t messages)
{
	memset(b, 0, sizeof(*b));
	b->kind = kind;
	b->nprod = nprod;
	b->per_prod = messages / nprod;
	b->pools = calloc(nprod, sizeof(*b->pools));
	if (!b->pools)
		return -1;
	for (unsigned p = 0; p < nprod; p++) {
		b->pools[p] = aligned_alloc(64, POOL * MSG_STRIDE);
		if (!b->pools[p])
			return -1;
		memset(b->pools[p], 0, POOL * MSG_STRIDE);
		for (unsigned i = 0; i < POOL; i++)
			((bmsg *)(void *)(b->pools[p] + i * MSG_STRIDE +
					  MSG_OFF))
				->prod = p;
	}
	cds_wfcq_init(&b->wh, &b->wt);
	ck_fifo_mpmc_init(&b->fifo, &b->stub);
	return 0;
}

static void bench_fini(bench *b)
{
	for (unsigned p = 0; b->pools && p < b->nprod; p++)
		free(b->pools[p]);
	free(b->pools);
	cds_wfcq_destroy(&b->wh, &b->wt);
}

/* One run: ns per message, or a negative value on failure. */
static double run_queue(int kind, unsigned nprod, uint64_t messages)
{
	bench b;
	pthread_t *th = NULL;
	prod_arg *args = NULL;
	double t0, ns = -1;
	unsigned started = 0;

	if (bench_init(&b, kind, nprod, messages) != 0)
		goto out;
	th = calloc(nprod, sizeof(*th));
	args = calloc(nprod, sizeof(*args));
	if (!th || !args)
		goto out;
	for (; started < nprod; started++) {
		args[started] = (prod_arg){&b, started};
		if (pthread_create(&th[started], NULL, producer,
				   &args[started]) != 0)
			goto out;
	}
	t0 = now_ns();
	atomic_store_explicit(&b.start, 1, memory_order_release);
	consume(&b);
	ns = (now_ns() - t0) / (double)(b.per_prod * nprod);
	if (b.bad) {
		fprintf(stderr, "queues_bench: %s: messages out of order\n",
			qname[kind]);
		ns = -1;
	}
out:
	if (started < nprod) {
		/* a producer failed to start: the others must not wait */
		b.per_prod = 0;
		atomic_store(&b.start, 1);
		fprintf(stderr, "queues_bench: cannot start producers\n");
	}
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	free(th);
	free(args);
	bench_fini(&b);
	return ns;
}

/* --- the purge rule: refcount per dispatch vs an RCU read-side section --- */

static atomic_long shared_refs; /* one version's count, as molt has */
static atomic_int dispatch_start;

typedef struct disp_arg {
	int rcu;
	uint64_t iters;
	uint64_t sink;
} disp_arg;

static void *dispatcher(void *arg)
{
	disp_arg *a = arg;
	uint64_t sink = 0;

	if (a->rcu)
		urcu_memb_register_thread();
	while (!atomic_load_explicit(&dispatch_start, memory_order_acquire))
		sched_yield();
	for (uint64_t i = 0; i < a->iters; i++) {
		if (a->rcu) {
			urcu_memb_read_lock();
			sink += i;
			urcu_memb_read_unlock();
		} else {
			atomic_fetch_add(&shared_refs, 1);
			sink += i;
			atomic_fetch_sub(&shared_refs, 1);
		}
		__asm__ __volatile__("" ::: "memory");
	}
	a->sink = sink;
	if (a->rcu)
		urcu_memb_unregister_thread();
	return NULL;
}

/* One run: ns per dispatch per thread (threads run at once). */
static double run_dispatch(int rcu, unsigned nthreads, uint64_t iters)
{
	pthread_t th[8];
	disp_arg args[8];
	double t0, ns;
	unsigned started = 0;

	atomic_store(&dispatch_start, 0);
	for (; started < nthreads; started++) {
		args[started] = (disp_arg){rcu, iters, 0};
		if (pthread_create(&th[started], NULL, dispatcher,
				   &args[started]) != 0)
			break;
	}
	t0 = now_ns();
	atomic_store_explicit(&dispatch_start, 1, memory_order_release);
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	ns = (now_ns() - t0) / (double)iters;
	return started == nthreads ? ns : -1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static int usage(void)
{
	fprintf(stderr, "usage: queues_bench [--messages N] [--runs R]\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const unsigned prods[] = {1, 2, 100};
	uint64_t messages = 10000000;
	int runs = 5, rc = 0;
	double v[32];

	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "--messages") == 0)
			messages = strtoull(argv[++i], NULL, 10);
		else if (i + 1 < argc && strcmp(argv[i], "--runs") == 0)
			runs = atoi(argv[++i]);
		else
			return usage();
	}
	if (runs < 1 || runs > 31 || messages < 100)
		return usage();
	for (size_t p = 0; p < sizeof(prods) / sizeof(prods[0]); p++) {
		for (int k = Q_MOLT; k <= Q_CK; k++) {
			int r;

			fprintf(stderr, "queues_bench: %s, %u producer(s)\n",
				qname[k], prods[p]);
			for (r = 0; r < runs; r++) {
				v[r] = run_queue(k, prods[p], messages);
				if (v[r] < 0)
					break;
			}
			if (r < runs) {
				rc = 1;
				continue;
			}
			printf("queue_%s_p%u %.1f ns/msg\n", qname[k], prods[p],
			       median(v, runs));
			fflush(stdout);
		}
	}
	for (unsigned t = 1; t <= 2; t++) {
		for (int rcu = 0; rcu <= 1; rcu++) {
			for (int r = 0; r < runs; r++)
				v[r] = run_dispatch(rcu, t, messages);
			printf("dispatch_%s_t%u %.2f ns/dispatch\n",
			       rcu ? "urcu_memb_read" : "refcount", t,
			       median(v, runs));
			fflush(stdout);
		}
	}
	return rc;
}
