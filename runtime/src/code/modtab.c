/* The module table: loading, two slots per module, purge, delete. */
#include "modtab.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "molt/common.h"
#include "molt/log.h"

#include "core/proc.h"
#include "core/rt.h"

#include "molt/banned.h"

int molt__modtab_init(molt__modtab *tab)
{
	memset(tab, 0, sizeof(*tab));
	return pthread_mutex_init(&tab->mu, NULL) ? MOLT_ERROR : MOLT_OK;
}

void molt__modtab_release(molt__modtab *tab)
{
	for (size_t i = 0; i < tab->n; i++) {
		molt__version_unref(tab->mods[i]->cur);
		molt__version_unref(tab->mods[i]->old);
		molt_free(tab->mods[i]);
	}
	molt_free(tab->mods);
	pthread_mutex_destroy(&tab->mu);
	memset(tab, 0, sizeof(*tab));
}

static molt__module *find(molt__modtab *tab, const char *name)
{
	for (size_t i = 0; i < tab->n; i++)
		if (strcmp(tab->mods[i]->name, name) == 0)
			return tab->mods[i];
	return NULL;
}

static molt__module *find_or_add(molt__modtab *tab, const char *name)
{
	molt__module *m = find(tab, name);

	if (m)
		return m;
	if (tab->n == tab->cap) {
		size_t cap = tab->cap ? tab->cap * 2 : 16;
		molt__module **mods =
			molt_realloc(tab->mods, cap * sizeof(*mods));

		if (!mods)
			return NULL;
		tab->mods = mods;
		tab->cap = cap;
	}
	m = molt_calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	snprintf(m->name, sizeof(m->name), "%s", name);
	tab->mods[tab->n++] = m;
	return m;
}

static molt__version *slot(molt__modtab *tab, const char *name, int old)
{
	molt__module *m;
	molt__version *v = NULL;

	pthread_mutex_lock(&tab->mu);
	m = find(tab, name);
	if (m && (v = old ? m->old : m->cur))
		molt__version_ref(v);
	pthread_mutex_unlock(&tab->mu);
	return v;
}

molt__version *molt__modtab_current(molt__modtab *tab, const char *name)
{
	return slot(tab, name, 0);
}

molt__version *molt__modtab_old(molt__modtab *tab, const char *name)
{
	return slot(tab, name, 1);
}

molt__version *molt__modtab_upgrade_target(molt__modtab *tab,
					   molt__version *old)
{
	molt__version *v;

	pthread_mutex_lock(&tab->mu);
	v = old->mod->cur;
	if (v)
		molt__version_ref(v);
	pthread_mutex_unlock(&tab->mu);
	return v;
}

size_t molt__modtab_count(molt__modtab *tab)
{
	size_t n;

	pthread_mutex_lock(&tab->mu);
	n = tab->n;
	pthread_mutex_unlock(&tab->mu);
	return n;
}

int molt__modtab_has_current(molt__modtab *tab, const molt__version *v)
{
	int has;

	pthread_mutex_lock(&tab->mu);
	has = v->mod && v->mod->cur;
	pthread_mutex_unlock(&tab->mu);
	return has;
}

int molt__modtab_holds(molt__modtab *tab, const molt__version *v)
{
	int holds;

	pthread_mutex_lock(&tab->mu);
	holds = v->mod && (v->mod->cur == v || v->mod->old == v);
	pthread_mutex_unlock(&tab->mu);
	return holds;
}

static int valid_name(const char *s)
{
	if (!s || !islower((unsigned char)*s) || strlen(s) >= 64)
		return 0;
	for (; *s; s++)
		if (!islower((unsigned char)*s) &&
		    !isdigit((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

int molt__desc_check(const molt_module *d, const char *path, const char *expect,
		     molt_err *err)
{
	if (d->abi != MOLT_MODULE_ABI)
		return molt_err_set(err, MOLT_EVERSION,
				    "%s: module ABI %u, this runtime needs %u",
				    path, d->abi, MOLT_MODULE_ABI);
	if (d->behaviour != MOLT_BEHAVIOUR_SERVER)
		return molt_err_set(err, MOLT_EINVAL,
				    "%s: unknown behaviour %u", path,
				    d->behaviour);
	if (!valid_name(d->name))
		return molt_err_set(err, MOLT_EINVAL,
				    "%s: descriptor has no valid name", path);
	if (!d->vsn || !*d->vsn || strlen(d->vsn) >= 64)
		return molt_err_set(err, MOLT_EINVAL,
				    "%s: module '%s' has no valid vsn", path,
				    d->name);
	if (expect && strcmp(expect, d->name) != 0)
		return molt_err_set(
			err, MOLT_EINVAL,
			"%s: descriptor names module '%s', not '%s'", path,
			d->name, expect);
	if (d->code_change && !d->free_state)
		return molt_err_set(err, MOLT_EINVAL,
				    "%s: module '%s' has code_change but no "
				    "free_state",
				    path, d->name);
	return MOLT_OK;
}

/* The module name a file stands for: its base name up to the first '.'
 * (counter-1.0.0/counter.so -> counter). */
static void file_stem(const char *path, char *out, size_t size)
{
	const char *b = strrchr(path, '/');

	b = b ? b + 1 : path;
	snprintf(out, size, "%.*s", (int)strcspn(b, "."), b);
}

int molt__sha256_fd(char out[MOLT__SHA256_HEX], int fd, const char *path,
		    molt_err *err)
{
	unsigned char buf[65536], sum[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;
	ssize_t n;

	crypto_hash_sha256_init(&st);
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return molt_err_set(err, MOLT_EIO, "%s: %s", path,
					    strerror(errno));
		crypto_hash_sha256_update(&st, buf, (size_t)n);
	}
	crypto_hash_sha256_final(&st, sum);
	sodium_bin2hex(out, MOLT__SHA256_HEX, sum, sizeof(sum));
	return MOLT_OK;
}

int molt__file_verified(int *fd_out, const char *path, const char *want_sum,
			molt_err *err)
{
	char sum[MOLT__SHA256_HEX];
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	*fd_out = -1;
	if (fd < 0)
		return molt_err_set(err,
				    errno == ENOENT ? MOLT_ENOTFOUND : MOLT_EIO,
				    "%s: %s", path, strerror(errno));
	if ((rc = molt__sha256_fd(sum, fd, path, err)) < 0) {
		close(fd);
		return rc;
	}
	if (strcmp(sum, want_sum) != 0) {
		close(fd);
		return molt_err_set(err, MOLT_EUNSAFE,
				    "%s: sha256 %s does not match its app.json "
				    "(%.64s): not loaded",
				    path, sum, want_sum);
	}
	*fd_out = fd;
	return MOLT_OK;
}

/* dlopen() path, or with want_sum the verified file itself, whose fd is
 * then left in *fd_out (else -1). */
static void *open_so(int *fd_out, const char *path, const char *want_sum,
		     molt_err *err)
{
	char proc[64];
	void *h;
	int fd;

	*fd_out = -1;
	if (!want_sum) {
		if (!(h = dlopen(path, RTLD_NOW | RTLD_LOCAL)))
			molt_err_set(err, MOLT_EINVAL, "%s", dlerror());
		return h;
	}
	if (molt__file_verified(&fd, path, want_sum, err) < 0)
		return NULL;
	/* the inode just summed, even if path is replaced meanwhile; the fd
	 * stays open while the object is loaded (molt__version_hold_so) */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (!(h = dlopen(proc, RTLD_NOW | RTLD_LOCAL))) {
		molt_err_set(err, MOLT_EINVAL, "%s: %s", path, dlerror());
		close(fd);
		return NULL;
	}
	*fd_out = fd;
	return h;
}

molt__version *molt__version_open(const char *path, const char *expect,
				  const char *want_sum, molt_err *err)
{
	struct stat st;
	molt__version *v;
	const molt_module *d;
	char stem[256];
	void *h;
	int fd;

	if (stat(path, &st) != 0) {
		molt_err_set(err, MOLT_ENOTFOUND, "%s: %s", path,
			     strerror(errno));
		return NULL;
	}
	if (!(h = open_so(&fd, path, want_sum, err)))
		return NULL;
	d = dlsym(h, MOLT_MODULE_SYMBOL);
	if (!d) {
		molt_err_set(err, MOLT_EINVAL,
			     "%s: no %s symbol (not a molt module)", path,
			     MOLT_MODULE_SYMBOL);
		goto out_close;
	}
	if (!expect) {
		file_stem(path, stem, sizeof(stem));
		expect = stem;
	}
	if (molt__desc_check(d, path, expect, err) < 0)
		goto out_close;
	v = molt_calloc(1, sizeof(*v));
	if (!v || !(v->path = molt_strdup(path))) {
		molt_free(v);
		molt_err_set(err, MOLT_ENOMEM, "%s: out of memory", path);
		goto out_close;
	}
	atomic_init(&v->refs, 1);
	v->handle = h;
	v->desc = d;
	molt__version_hold_so(h, fd);
	return v;
out_close:
	dlclose(h);
	if (fd >= 0)
		close(fd);
	return NULL;
}

int molt__modtab_add_builtin(molt__modtab *tab, const molt_module *desc,
			     molt_err *err)
{
	molt__version *v = molt_calloc(1, sizeof(*v));
	molt__module *m;

	if (!v)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	atomic_init(&v->refs, 1);
	v->desc = desc;
	pthread_mutex_lock(&tab->mu);
	m = find_or_add(tab, desc->name);
	if (!m) {
		pthread_mutex_unlock(&tab->mu);
		molt_free(v);
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	}
	m->builtin = 1;
	m->cur = v;
	v->mod = m;
	pthread_mutex_unlock(&tab->mu);
	return MOLT_OK;
}

/* Pids of processes running v, as text, into buf. Returns the count. */
static unsigned pids_on(molt_runtime *rt, molt__version *v, char *buf,
			size_t size, int kill)
{
	unsigned n = 0, hw = atomic_load(&rt->hw);
	size_t off = 0;

	if (size)
		buf[0] = '\0';
	for (uint32_t i = 0; i < hw; i++) {
		molt_proc *p = molt__proc_at(rt, i);
		molt_pid pid = 0;

		if (!p)
			continue;
		molt__spin_lock(&p->lock);
		if (p->pid && (p->ver == v || p->prev_ver == v))
			pid = p->pid;
		molt__spin_unlock(&p->lock);
		if (!pid)
			continue;
		n++;
		if (kill)
			molt__proc_signal_exit(rt, pid, 0, "kill",
					       MOLT__MSGF_KILL);
		if (off + 40 < size) {
			char pb[32];

			off += (size_t)snprintf(buf + off, size - off, "%s%s",
						off ? " " : "",
						molt_pid_format(pid, pb, 32));
		} else if (off + 4 < size && buf[off - 1] != '.') {
			off += (size_t)snprintf(buf + off, size - off, " ...");
		}
	}
	return n;
}

/* Drop m's old slot (called with tab.mu held); its processes, if any,
 * keep their references until they exit. */
static void drop_old(molt__module *m)
{
	molt__version *old = m->old;

	m->old = NULL;
	molt__version_unref(old);
}

void molt__modtab_set_evaluating(molt__modtab *tab, int on)
{
	pthread_mutex_lock(&tab->mu);
	tab->evaluating = on;
	pthread_mutex_unlock(&tab->mu);
}

/* Refuse an operation while an evaluation runs (tab.mu held; released
 * on refusal). */
static int evaluating(molt__modtab *tab, const char *op, const char *name,
		      molt_err *err)
{
	if (!tab->evaluating)
		return MOLT_OK;
	pthread_mutex_unlock(&tab->mu);
	return molt_err_set(err, MOLT_EBUSY,
			    "%s of module '%s' refused: an evaluation is "
			    "running; retry when it ends",
			    op, name);
}

/*
 * The processes on m's old version are looked for without the table's
 * lock: a scan of every process under it would stall every spawn, load
 * and `modules` for its whole length. Under the lock, take a reference
 * on the old version (*old, NULL if none); then scan; then finish_old
 * checks under the lock again that the slot still holds it.
 */
static void old_take(molt__module *m, molt__version **old)
{
	*old = m->old;
	if (*old)
		molt__version_ref(*old);
}

/* Processes still on old (none: 0); killed if kill. No table lock. */
static unsigned old_users(molt_runtime *rt, molt__version *old, char *pids,
			  size_t size, int kill)
{
	if (size)
		pids[0] = '\0';
	if (!old || !atomic_load(&old->procs))
		return 0;
	return pids_on(rt, old, pids, size, kill);
}

static int install(molt_runtime *rt, molt__version *v, unsigned flags,
		   molt_err *err)
{
	molt__modtab *tab = rt->modtab;
	int force = (flags & MOLT_LOAD_FORCE) != 0;
	molt__version *old;
	molt__module *m;
	char pids[160];
	int rc;

	pthread_mutex_lock(&tab->mu);
	if ((rc = evaluating(tab, "load", v->desc->name, err)) < 0)
		return rc;
	m = find_or_add(tab, v->desc->name);
	if (!m) {
		pthread_mutex_unlock(&tab->mu);
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	}
	if (m->builtin) {
		pthread_mutex_unlock(&tab->mu);
		return molt_err_set(err, MOLT_EEXISTS,
				    "%s: module '%s' is built in", v->path,
				    m->name);
	}
	old_take(m, &old);
	pthread_mutex_unlock(&tab->mu);
	if (old_users(rt, old, pids, sizeof(pids), force) && !force) {
		molt__version_unref(old);
		return molt_err_set(err, MOLT_EBUSY,
				    "not_purged: module '%s' old code still "
				    "runs in %s",
				    m->name, pids);
	}
	pthread_mutex_lock(&tab->mu);
	if (m->old != old || tab->evaluating) {
		pthread_mutex_unlock(&tab->mu);
		molt__version_unref(old);
		return molt_err_set(err, MOLT_EBUSY,
				    "load of module '%s': its slots changed "
				    "meanwhile; retry",
				    m->name);
	}
	if (m->old)
		drop_old(m);
	if (m->cur) {
		atomic_fetch_or(&m->cur->is_old, MOLT__V_OLD);
		m->old = m->cur;
	}
	v->mod = m;
	m->cur = v;
	pthread_mutex_unlock(&tab->mu);
	molt__version_unref(old); /* may unload it: not under the lock */
	return MOLT_OK;
}

size_t molt_runtime_module_pids(molt_runtime *rt, const char *module, int which,
				molt_pid *out, size_t max)
{
	unsigned hw = atomic_load(&rt->hw);
	size_t n = 0;

	for (uint32_t i = 0; i < hw; i++) {
		molt_proc *p = molt__proc_at(rt, i);
		molt_pid pid = 0;
		int old;

		if (!p)
			continue;
		molt__spin_lock(&p->lock);
		if (p->pid && p->ver &&
		    strcmp(p->ver->mod->name, module) == 0) {
			old = atomic_load(&p->ver->is_old) & MOLT__V_OLD;
			if (which == MOLT_PIDS_ANY ||
			    (which == MOLT_PIDS_OLD) == !!old)
				pid = p->pid;
		}
		molt__spin_unlock(&p->lock);
		if (pid && n < max)
			out[n] = pid;
		n += pid != 0;
	}
	return n;
}

int molt__modtab_load(molt_runtime *rt, const char *path, const char *expect,
		      const char *want_sum, unsigned flags, char *name_out,
		      size_t name_size, molt_err *err)
{
	molt__version *v = molt__version_open(path, expect, want_sum, err);
	int rc;

	if (!v)
		return err ? err->code : MOLT_ERROR;
	if ((rc = install(rt, v, flags, err)) < 0) {
		molt__version_unref(v);
		return rc;
	}
	if (name_out && name_size)
		snprintf(name_out, name_size, "%s", v->desc->name);
	molt_log(MOLT_LOG_DEBUG, "modtab", "loaded %s %s from %s",
		 v->desc->name, v->desc->vsn, path);
	return MOLT_OK;
}

int molt__modtab_purge(molt_runtime *rt, const char *name, unsigned flags,
		       unsigned *killed_out, molt_err *err)
{
	molt__modtab *tab = rt->modtab;
	int soft = (flags & MOLT__PURGE_SOFT) != 0;
	molt__version *old;
	molt__module *m;
	unsigned n;
	char pids[160];
	int rc;

	pthread_mutex_lock(&tab->mu);
	if (!(flags & MOLT__PURGE_EVAL) &&
	    (rc = evaluating(tab, soft ? "soft_purge" : "purge", name, err)) <
		    0)
		return rc;
	m = find(tab, name);
	if (!m || m->builtin) {
		pthread_mutex_unlock(&tab->mu);
		return molt_err_set(err, MOLT_ENOTFOUND, "no module '%s'",
				    name);
	}
	old_take(m, &old);
	pthread_mutex_unlock(&tab->mu);
	n = old_users(rt, old, pids, sizeof(pids), !soft);
	if (soft && n) {
		molt__version_unref(old);
		return molt_err_set(err, MOLT_EBUSY,
				    "module '%s' old code still runs in %s",
				    name, pids);
	}
	pthread_mutex_lock(&tab->mu);
	if (m->old == old) /* else loaded meanwhile: that old stays */
		drop_old(m);
	pthread_mutex_unlock(&tab->mu);
	molt__version_unref(old); /* may unload it: not under the lock */
	if (killed_out)
		*killed_out = n;
	return MOLT_OK;
}

int molt__modtab_delete(molt_runtime *rt, const char *name, molt_err *err)
{
	molt__modtab *tab = rt->modtab;
	molt__module *m;

	pthread_mutex_lock(&tab->mu);
	m = find(tab, name);
	if (!m || m->builtin || !m->cur) {
		pthread_mutex_unlock(&tab->mu);
		return molt_err_set(err, MOLT_ENOTFOUND,
				    "no current version of module '%s'", name);
	}
	if (m->old) {
		pthread_mutex_unlock(&tab->mu);
		return molt_err_set(err, MOLT_EBUSY,
				    "module '%s' has old code: purge it first",
				    name);
	}
	atomic_fetch_or(&m->cur->is_old, MOLT__V_OLD);
	m->old = m->cur;
	m->cur = NULL;
	pthread_mutex_unlock(&tab->mu);
	return MOLT_OK;
}

static void vsn_copy(char *dst, size_t n, const molt__version *v)
{
	snprintf(dst, n, "%s", v ? v->desc->vsn : "");
}

size_t molt__modtab_list(molt_runtime *rt, molt_module_info *out, size_t max)
{
	molt__modtab *tab = rt->modtab;
	size_t n;

	pthread_mutex_lock(&tab->mu);
	n = tab->n;
	for (size_t i = 0; i < n && i < max; i++) {
		molt__module *m = tab->mods[i];
		molt_module_info *o = &out[i];

		memset(o, 0, sizeof(*o));
		snprintf(o->name, sizeof(o->name), "%s", m->name);
		vsn_copy(o->current_vsn, sizeof(o->current_vsn), m->cur);
		vsn_copy(o->old_vsn, sizeof(o->old_vsn), m->old);
		if (m->cur && m->cur->path)
			snprintf(o->current_path, sizeof(o->current_path), "%s",
				 m->cur->path);
		o->current_procs = m->cur ? atomic_load(&m->cur->procs) : 0;
		o->old_procs = m->old ? atomic_load(&m->old->procs) : 0;
		o->builtin = m->builtin;
	}
	pthread_mutex_unlock(&tab->mu);
	return n;
}

int molt__modtab_set_slots(molt__modtab *tab, const char *name,
			   molt__version *cur, molt__version *old,
			   molt__version **prev_cur, molt__version **prev_old)
{
	molt__module *m;

	pthread_mutex_lock(&tab->mu);
	m = find_or_add(tab, name);
	if (!m || m->builtin) {
		pthread_mutex_unlock(&tab->mu);
		return m ? MOLT_EEXISTS : MOLT_ENOMEM;
	}
	*prev_cur = m->cur;
	*prev_old = m->old;
	if (cur) {
		molt__version_ref(cur);
		cur->mod = m;
		atomic_fetch_and(&cur->is_old, ~MOLT__V_OLD);
	}
	if (old) {
		molt__version_ref(old);
		old->mod = m;
		atomic_fetch_or(&old->is_old, MOLT__V_OLD);
	}
	m->cur = cur;
	m->old = old;
	pthread_mutex_unlock(&tab->mu);
	return MOLT_OK;
}
