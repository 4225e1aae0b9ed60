/* Version handles: references, process counts, the mover's tally. */
#include "version.h"

#include <dlfcn.h>
#include <string.h>
#include <unistd.h>

#include "molt/common.h"
#include "molt/log.h"

#include "molt/banned.h"

void molt__version_ref(molt__version *v)
{
	atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
}

void molt__version_unref_n(molt__version *v, unsigned n)
{
	if (!v || !n ||
	    atomic_fetch_sub_explicit(&v->refs, n, memory_order_acq_rel) != n)
		return;
	if (v->handle) {
		molt_log(MOLT_LOG_DEBUG, "version", "unloading %s", v->path);
		dlclose(v->handle);
		if (v->so_fd >= 0)
			close(v->so_fd);
	}
	if (v->free_desc)
		v->free_desc(v->desc);
	molt_free(v->path);
	molt_free(v);
}

void molt__version_unref(molt__version *v)
{
	molt__version_unref_n(v, 1);
}

/* t's entry for v, added (after a flush if t is full). */
static int tally_slot(molt__vtally *t, molt__version *v)
{
	int k;

	for (k = 0; k < MOLT__VTALLY_N && t->e[k].v && t->e[k].v != v; k++)
		;
	if (k == MOLT__VTALLY_N) {
		molt__vtally_flush(t);
		k = 0;
	}
	if (!t->e[k].v) {
		memset(&t->e[k], 0, sizeof(t->e[k]));
		t->e[k].v = v;
	}
	return k;
}

void molt__vtally_take(molt__vtally *t, molt__version *v)
{
	int k;

	if (!t) {
		atomic_fetch_add(&v->procs, 1);
		molt__version_ref(v);
		return;
	}
	k = tally_slot(t, v);
	if (!t->e[k].res) { /* reserve before any pointer is stored */
		atomic_fetch_add(&v->procs, MOLT__VTALLY_BLOCK);
		atomic_fetch_add(&v->refs, MOLT__VTALLY_BLOCK);
		t->e[k].res = MOLT__VTALLY_BLOCK;
	}
	t->e[k].res--;
}

void molt__vtally_drop(molt__vtally *t, molt__version *v, int procs)
{
	int k;

	if (!t) {
		if (procs)
			atomic_fetch_sub(&v->procs, 1);
		molt__version_unref(v);
		return;
	}
	k = tally_slot(t, v);
	t->e[k].refs++;
	t->e[k].procs += procs != 0;
}

void molt__vtally_drop_procs(molt__vtally *t, molt__version *v)
{
	if (!t) {
		atomic_fetch_sub(&v->procs, 1);
		return;
	}
	t->e[tally_slot(t, v)].procs++;
}

void molt__vtally_flush(molt__vtally *t)
{
	for (int k = 0; k < MOLT__VTALLY_N; k++) {
		molt__version *v = t->e[k].v;

		if (!v)
			continue;
		t->e[k].v = NULL;
		atomic_fetch_sub(&v->procs, t->e[k].res + t->e[k].procs);
		/* last: this may free v */
		molt__version_unref_n(v, t->e[k].res + t->e[k].refs);
	}
}
