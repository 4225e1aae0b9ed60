/* A version of a module as processes see it: a counted handle. */
#ifndef MOLT_RUNTIME_CORE_VERSION_H
#define MOLT_RUNTIME_CORE_VERSION_H

/*
 * The reference rule. A version (its dlopen handle and descriptor) is
 * freed, and its object dlclose()d, when its count reaches zero. Counted
 * holders: the module table's slot; each process whose p->ver or
 * p->prev_ver (an uncommitted change) it is; each thread about to call
 * into it (spawn, apply, a staged load).
 *
 * A count goes up before the pointer it stands for is stored, and goes
 * down only after that pointer is gone and no callback of the version
 * can run on its behalf. A count may therefore be high for a while (a
 * mover's reserved increments and batched decrements: molt__vtally),
 * never low, so no thread ever calls code that was unloaded.
 *
 * procs counts the processes whose p->ver is the version (purge and
 * `modules` read it); it follows the same rule.
 *
 * A process's version changes only through molt__proc_move and its
 * commit and revert (proc.h). Core knows no more of versions than this:
 * which version is current or old is the module table's business
 * (code/modtab.h), which sets is_old.
 */

#include <stdatomic.h>

#include "molt/module.h"

struct molt__module;

#define MOLT__V_OLD    1 /* in molt__version.is_old: not current */
#define MOLT__V_TRACED 2 /* in molt__version.is_old: traced (trace.c) */

typedef struct molt__version {
	atomic_uint refs;	  /* slot + processes + in-flight callers */
	atomic_uint procs;	  /* processes running this version */
	atomic_int is_old;	  /* MOLT__V_* bits: OLD once no longer
				     current; TRACED while molt trace
				     watches it (the dispatch path tests
				     the whole word once) */
	void *handle;		  /* dlopen handle; NULL if built in */
	const molt_module *desc;  /* the descriptor in that object */
	struct molt__module *mod; /* its module in the table (code/) */
	char *path;		  /* the .so it came from, or NULL */
	void (*free_desc)(const molt_module *desc); /* frees desc with the
						       version, or NULL (a
						       probed descriptor:
						       code/probe.c) */
} molt__version;

void molt__version_ref(molt__version *v);
/*
 * Count one more user of the dlopen() handle h, opened through fd (a
 * verified file loaded as /proc/self/fd/N; -1 when loaded by path). glibc
 * knows a loaded object by that name, and a second dlopen of the same
 * file returns the same object with that name added, so every such fd
 * stays open, its number unused by any other file, until the object's
 * last user dlclose()s it. Takes fd.
 */
void molt__version_hold_so(void *h, int fd);

/* Drop a reference (v may be NULL); at zero, dlclose and free. */
void molt__version_unref(molt__version *v);
/* Drop n references at once. */
void molt__version_unref_n(molt__version *v, unsigned n);

/*
 * A mover's tally: a thread that moves many processes between a few
 * versions (the parallel engine) would make every worker fight over the
 * same counters. Increments are reserved ahead, VTALLY_BLOCK at a time,
 * before any pointer they stand for is stored; decrements are added up
 * and applied at flush. Both keep counts high, never low. Not shared:
 * one per thread.
 */
#define MOLT__VTALLY_N	   4
#define MOLT__VTALLY_BLOCK 64u

typedef struct molt__vtally {
	struct {
		molt__version *v; /* the version, or NULL */
		unsigned res;	  /* refs and procs reserved, not yet used */
		unsigned refs;	  /* references to drop */
		unsigned procs;	  /* process counts to drop */
	} e[MOLT__VTALLY_N];
} molt__vtally;

/* One reference and one process count on v, for a process about to run
 * it (t may be NULL: taken at once). */
void molt__vtally_take(molt__vtally *t, molt__version *v);
/* Drop a reference on v and, with procs, a process count (t may be NULL:
 * dropped at once). */
void molt__vtally_drop(molt__vtally *t, molt__version *v, int procs);
/* Drop only a process count on v (its reference is kept elsewhere). */
void molt__vtally_drop_procs(molt__vtally *t, molt__version *v);
/* Apply and forget everything t holds. */
void molt__vtally_flush(molt__vtally *t);

#endif
