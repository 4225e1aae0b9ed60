/* molt_runtime_top: the busiest processes, by one scan of the table. */
#include <stdlib.h>
#include <string.h>

#include "molt/common.h"
#include "molt/runtime.h"

#include "obs.h"
#include "proc.h"
#include "rt.h"

#include "molt/banned.h"

/* Every HOLD_SAMPLE-th lock hold is timed (a clock read around each of a
 * million would double the scan). */
#define HOLD_SAMPLE 64u

typedef struct cand {
	uint64_t key; /* the sort key */
	molt_pid pid; /* the process */
} cand;

/* A min-heap of the k best so far: h[0] is the weakest. */
static void sift_down(cand *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		cand t;

		if (l < n && h[l].key < h[m].key)
			m = l;
		if (l + 1 < n && h[l + 1].key < h[m].key)
			m = l + 1;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void sift_up(cand *h, size_t i)
{
	while (i > 0 && h[(i - 1) / 2].key > h[i].key) {
		cand t = h[i];

		h[i] = h[(i - 1) / 2];
		h[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

static void offer(cand *h, size_t *n, size_t k, uint64_t key, molt_pid pid)
{
	if (*n < k) {
		h[*n] = (cand){key, pid};
		sift_up(h, (*n)++);
	} else if (k && key > h[0].key) {
		h[0] = (cand){key, pid};
		sift_down(h, *n, 0);
	}
}

static uint64_t key_of(const molt_proc *p, int key)
{
	switch (key) {
	case MOLT_TOP_MESSAGES:
		return atomic_load_explicit(&p->reductions,
					    memory_order_relaxed);
	case MOLT_TOP_MEMORY:
		return atomic_load_explicit(&p->heap_bytes,
					    memory_order_relaxed);
	case MOLT_TOP_QUEUE:
		return p->mbox.len;
	default:
		return atomic_load_explicit(&p->cb_ns, memory_order_relaxed);
	}
}

static uint64_t info_key(const molt_proc_info *pi, int key)
{
	switch (key) {
	case MOLT_TOP_MESSAGES:
		return pi->reductions;
	case MOLT_TOP_MEMORY:
		return pi->heap_bytes;
	case MOLT_TOP_QUEUE:
		return pi->queue_len;
	default:
		return pi->callback_ns;
	}
}

/* Look at slot p: under its lock, only a few words are read. */
static void scan_one(molt_proc *p, int key, cand *h, size_t *n, size_t k,
		     molt_top_totals *t, int timed)
{
	uint64_t t0 = timed ? molt__now_ns() : 0, kv;
	molt_pid pid;

	molt__spin_lock(&p->lock);
	pid = p->pid;
	if (!pid || !p->ver) {
		molt__spin_unlock(&p->lock);
		return;
	}
	kv = key_of(p, key);
	t->queued += p->mbox.len;
	t->suspended += molt__pf_has(p, MOLT__PF_SUSPENDED);
	t->old_code +=
		(atomic_load_explicit(&p->ver->is_old, memory_order_relaxed) &
		 MOLT__V_OLD) != 0;
	t->messages +=
		atomic_load_explicit(&p->reductions, memory_order_relaxed);
	t->callback_ns += atomic_load_explicit(&p->cb_ns, memory_order_relaxed);
	t->heap_bytes +=
		atomic_load_explicit(&p->heap_bytes, memory_order_relaxed);
	molt__spin_unlock(&p->lock);
	if (timed) {
		uint64_t d = molt__now_ns() - t0;

		if (d > t->hold_max_ns)
			t->hold_max_ns = d;
	}
	t->processes++;
	offer(h, n, k, kv, pid);
}

static int by_key_desc(const void *a, const void *b, int key)
{
	uint64_t x = info_key(a, key), y = info_key(b, key);

	return x < y ? 1 : x > y ? -1 : 0;
}

#define DEFINE_CMP(name, k)                                                    \
	static int name(const void *a, const void *b)                          \
	{                                                                      \
		return by_key_desc(a, b, k);                                   \
	}
DEFINE_CMP(cmp_cb, MOLT_TOP_CALLBACK)
DEFINE_CMP(cmp_msgs, MOLT_TOP_MESSAGES)
DEFINE_CMP(cmp_mem, MOLT_TOP_MEMORY)
DEFINE_CMP(cmp_queue, MOLT_TOP_QUEUE)

size_t molt_runtime_top(molt_runtime *rt, int key, molt_proc_info *out,
			size_t k, molt_top_totals *totals)
{
	static int (*const cmps[])(const void *, const void *) = {
		cmp_cb, cmp_msgs, cmp_mem, cmp_queue};
	unsigned hw = atomic_load(&rt->hw);
	uint64_t t0 = molt__now_ns();
	molt_top_totals t;
	cand *h = k ? molt_calloc(k, sizeof(*h)) : NULL;
	size_t n = 0, w = 0;

	memset(&t, 0, sizeof(t));
	if (key < MOLT_TOP_CALLBACK || key > MOLT_TOP_QUEUE)
		key = MOLT_TOP_CALLBACK;
	if (k && !h)
		k = 0; /* out of memory: totals only */
	for (uint32_t i = 0; i < hw; i++) {
		molt_proc *p = molt__proc_at(rt, i);

		if (p)
			scan_one(p, key, h, &n, k, &t, i % HOLD_SAMPLE == 0);
	}
	t.slots = hw;
	for (size_t i = 0; i < n; i++)
		if (molt_runtime_process_info(rt, h[i].pid, &out[w]) == MOLT_OK)
			w++;
	if (w > 1)
		qsort(out, w, sizeof(*out), cmps[key]);
	molt_free(h);
	t.scan_ns = molt__now_ns() - t0;
	if (totals)
		*totals = t;
	return w;
}
