/* Version handles: references, process counts, the mover's tally. */
#include "version.h"

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "molt/common.h"
#include "molt/log.h"

#include "molt/banned.h"

/* One dlopen() of a loaded object: its handle and the fd it came
 * through. glibc adds each name a file was opened by to the object, so
 * every such fd stays open until the object is unloaded. mu guards sos
 * and nsos. */
struct held_so {
	void *h;  /* dlopen handle */
	int fd;	  /* /proc/self/fd/N it came through, or -1 */
	int live; /* 0 once its version dlclose()d it */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct held_so *sos;
static size_t nsos, capsos;

void molt__version_hold_so(void *h, int fd)
{
	struct held_so *grown;

	pthread_mutex_lock(&mu);
	if (nsos == capsos &&
	    (grown = molt_realloc(sos, (capsos * 2 + 8) * sizeof(*sos)))) {
		sos = grown;
		capsos = capsos * 2 + 8;
	}
	/* without memory the fd stays open for good: a leak, never a name
	 * glibc could match to another file */
	if (nsos < capsos)
		sos[nsos++] = (struct held_so){h, fd, 1};
	pthread_mutex_unlock(&mu);
}

/* After a dlclose of h: once no version holds h, its fds close. */
static void release_so(void *h)
{
	size_t live = 0, j = 0;
	int marked = 0;

	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < nsos; i++) {
		if (sos[i].h != h || !sos[i].live)
			continue;
		if (!marked)
			sos[i].live = 0, marked = 1;
		else
			live++;
	}
	for (size_t i = 0; i < nsos; i++) {
		if (!live && sos[i].h == h) {
			if (sos[i].fd >= 0)
				close(sos[i].fd);
			continue;
		}
		sos[j++] = sos[i];
	}
	nsos = j;
	pthread_mutex_unlock(&mu);
}

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
		release_so(v->handle);
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
