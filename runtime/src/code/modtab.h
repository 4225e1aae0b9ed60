/* The module table (code server): two versions per module, refcounted. */
#ifndef MOLT_RUNTIME_MODTAB_H
#define MOLT_RUNTIME_MODTAB_H

/*
 * Each module has two slots, current and old. A version (dlopen handle +
 * descriptor) is reference-counted: its slot holds one reference, every
 * process running it holds one, and so does any thread about to call into
 * it (spawn, apply). dlclose() happens when the last reference goes, so
 * no process, timer or pending callback can still reach the code (timers
 * and messages hold no code pointers at all). `is_old` is the one flag the
 * dispatch path tests: a process whose version is old moves to current at
 * its next ordinary message unless it is suspended.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "molt/common.h"
#include "molt/module.h"
#include "molt/runtime.h"

#include "core/version.h"

struct molt__module;

typedef struct molt__module {
	char name[64];	    /* module name */
	molt__version *cur; /* current version, or NULL */
	molt__version *old; /* old version, or NULL */
	int builtin;	    /* the built-in supervisor */
} molt__module;

typedef struct molt__modtab {
	pthread_mutex_t mu;  /* guards mods, n, cap and every slot */
	molt__module **mods; /* modules, in load order */
	size_t n, cap;	     /* used, allocated */
	int evaluating;	     /* an upgrade script runs: see set_evaluating */
} molt__modtab;

struct molt_runtime;

int molt__modtab_init(molt__modtab *tab);
/* Drop every slot's reference; modules are unloaded as refs reach 0. */
void molt__modtab_release(molt__modtab *tab);

/* The current version of name, referenced (unref it), or NULL. */
molt__version *molt__modtab_current(molt__modtab *tab, const char *name);
/* The old version of name, referenced (unref it), or NULL. */
molt__version *molt__modtab_old(molt__modtab *tab, const char *name);
/* The module's current version for a process moving off old code,
 * referenced, or NULL if the module has none. */
molt__version *molt__modtab_upgrade_target(molt__modtab *tab,
					   molt__version *old);

/* Modules in the table. */
size_t molt__modtab_count(molt__modtab *tab);
/* Does v's module have a current version? */
int molt__modtab_has_current(molt__modtab *tab, const molt__version *v);
/* Is v in one of its module's slots (current or old)? */
int molt__modtab_holds(molt__modtab *tab, const molt__version *v);

/* Install a built-in module (no .so). */
int molt__modtab_add_builtin(molt__modtab *tab, const molt_module *desc,
			     molt_err *err);

/* Load path as molt_runtime_load does; with want_sum (the sha256 its
 * app.json gives, lower-case hex), only a file with that sum is loaded
 * (molt__version_open). */
int molt__modtab_load(struct molt_runtime *rt, const char *path,
		      const char *expect, const char *want_sum, unsigned flags,
		      char *name_out, size_t name_size, molt_err *err);
/* Purge flags: soft purge (refuse if processes run old code); called by
 * the evaluator itself (allowed while it runs). */
#define MOLT__PURGE_SOFT 0x1u
#define MOLT__PURGE_EVAL 0x2u
int molt__modtab_purge(struct molt_runtime *rt, const char *name,
		       unsigned flags, unsigned *killed_out, molt_err *err);
/*
 * While an evaluation runs (on), load, purge and delete from anyone but
 * the evaluator fail with MOLT_EBUSY: they could kill processes it holds
 * and cannot restore, or change slots under its journal.
 */
void molt__modtab_set_evaluating(molt__modtab *tab, int on);
int molt__modtab_delete(struct molt_runtime *rt, const char *name,
			molt_err *err);
size_t molt__modtab_list(struct molt_runtime *rt, molt_module_info *out,
			 size_t max);

/*
 * Open path and check its descriptor (ABI, behaviour, name, callbacks)
 * without installing it. Returns a version with one reference, or NULL
 * and err naming the file. With want_sum (NULL: no check), the file is
 * opened once, its SHA-256 compared with want_sum, and what was summed
 * is what dlopen() maps (through /proc/self/fd): a file replaced after
 * the check is not loaded. A mismatch is MOLT_EUNSAFE naming the file,
 * the expected and the found sum, and nothing of the file runs.
 */
molt__version *molt__version_open(const char *path, const char *expect,
				  const char *want_sum, molt_err *err);

#define MOLT__SHA256_HEX 65 /* 64 hex digits and a NUL */

/* The SHA-256 of what fd reads from its offset to the end, as lower-case
 * hex; MOLT_EIO naming path if a read fails. */
int molt__sha256_fd(char out[MOLT__SHA256_HEX], int fd, const char *path,
		    molt_err *err);
/* Open path and check that its sum is want_sum: the open fd in *fd_out
 * (the caller closes it). MOLT_ENOTFOUND, MOLT_EIO, or MOLT_EUNSAFE
 * ("PATH: sha256 FOUND does not match its app.json (EXPECTED): not
 * loaded"). */
int molt__file_verified(int *fd_out, const char *path, const char *want_sum,
			molt_err *err);
/*
 * The same, but the descriptor is read by molt-probe in a child process
 * (code/probe.c): nothing of the module runs here, not even its
 * constructors. The version has no code: its callbacks are traps that
 * log and fail. For a dry run, which only reads descriptors. want_sum
 * as for molt__version_open (checked here, before the child starts).
 */
molt__version *molt__version_probe(const char *path, const char *expect,
				   const char *want_sum, molt_err *err);
/* A descriptor's checks (ABI, behaviour, name, vsn, callbacks); path and
 * expect (the module name it must have, or NULL) for messages. */
int molt__desc_check(const molt_module *d, const char *path, const char *expect,
		     molt_err *err);

/*
 * For the upgrade engine (upgrade.c): set name's two slots to cur and old
 * (either may be NULL; each gets a slot reference), adding the module if
 * it is new. The previous slot values are returned in *prev_cur and
 * *prev_old with their slot references (the caller unrefs them). cur is
 * marked current and old old; is_old on versions leaving the slots is the
 * caller's business. MOLT_ENOMEM, or MOLT_EEXISTS for a built-in module.
 */
int molt__modtab_set_slots(molt__modtab *tab, const char *name,
			   molt__version *cur, molt__version *old,
			   molt__version **prev_cur, molt__version **prev_old);

#endif
