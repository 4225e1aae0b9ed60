/* molt_release_remove: a release out of a root. RELEASES.json first (the
 * commit point), then the directories nothing listed uses, through a
 * trash directory.
 *
 * The rule a kill -9 must not break: every release RELEASES.json lists
 * has all its files. Why each kill point keeps it:
 *  - before RELEASES.json is renamed over (molt_write_file_atomic): only
 *    debris has changed (old .staging-* directories); the release is
 *    still listed and nothing of it was touched. A RELEASES.json.tmp.PID
 *    file may stay behind; nothing reads it.
 *  - after the rename: the release is no longer listed. Its directories
 *    are still in releases/ and lib/, and no listed release uses them:
 *    orphans. An unpack of that version deletes the ones in its way
 *    (unpack.c refuse_existing and place_libs); the next remove sweeps
 *    them all.
 *  - while renaming into the trash: each rename is atomic, so each
 *    directory is an orphan in place or in the trash, never half gone
 *    under its own name.
 *  - while deleting the trash: a half-deleted ROOT/.staging-XXXXXX, a name
 *    no release or application can have (molt__name_ok); the next unpack,
 *    init or remove deletes it under the lock.
 * The other order (rename into the trash, then commit) would leave a
 * listed release without its files if killed between the two.
 */
#include "remove.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "json.h"

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

/* One remove in progress. */
struct remove {
	const char *root;	    /* the root */
	const char *vsn;	    /* the release to remove */
	molt_remove_result *res;    /* what was deleted and kept */
	char trash[MOLT__PATH_MAX]; /* ROOT/.staging-XXXXXX once made */
	molt_err *err;		    /* where errors go */
};

const molt_release_info *molt__lib_user(const molt_releases *rels,
					const char *lib, const char *except)
{
	for (size_t i = 0; i < rels->n; i++) {
		const molt_release_info *r = &rels->rels[i];

		if (except && strcmp(r->vsn, except) == 0)
			continue;
		for (size_t j = 0; j < r->napps; j++)
			if (strcmp(r->apps[j].lib, lib) == 0)
				return r;
	}
	return NULL;
}

void molt_remove_result_release(molt_remove_result *r)
{
	if (!r)
		return;
	molt__strv_free(r->deleted, r->ndeleted);
	molt__strv_free(r->kept, r->nkept);
	molt__strv_free(r->kept_by, r->nkept);
	memset(r, 0, sizeof(*r));
}

/* ---- before the commit: refuse, or plan ---- */

static int unknown(const struct remove *x, const molt_releases *rels)
{
	char known[200] = "none";
	size_t len = 0;

	for (size_t i = 0; i < rels->n && len < sizeof(known); i++)
		len += (size_t)snprintf(
			known + len, sizeof(known) - len, "%s%s (%s)",
			i ? ", " : "", rels->rels[i].vsn,
			molt_release_status_name(rels->rels[i].status));
	return molt_err_set(x->err, MOLT_ENOTFOUND,
			    "release %s is not in '%s' (known: %s)", x->vsn,
			    x->root, known);
}

/* OTP refuses only the permanent release; we refuse the running one too,
 * whose lib dirs the node has its modules loaded from. */
static int refuse(const struct remove *x, const molt_releases *rels)
{
	const molt_release_info *r = molt_releases_find(rels, x->vsn);

	if (!r)
		return unknown(x, rels);
	if (r->status == MOLT_REL_PERMANENT)
		return molt_err_set(x->err, MOLT_EBUSY,
				    "release %s is permanent (the node boots "
				    "it): make another release permanent first",
				    x->vsn);
	if (r->status == MOLT_REL_CURRENT)
		return molt_err_set(x->err, MOLT_EBUSY,
				    "release %s is current (the node runs it): "
				    "install another release first",
				    x->vsn);
	return MOLT_OK;
}

/* Note the lib dirs of vsn that another release keeps, and which one. */
static int note_kept(struct remove *x, const molt_releases *rels)
{
	const molt_release_info *r = molt_releases_find(rels, x->vsn);
	molt_remove_result *res = x->res;

	for (size_t i = 0; i < r->napps; i++) {
		const char *lib = r->apps[i].lib;
		const molt_release_info *by = molt__lib_user(rels, lib, x->vsn);
		size_t n = res->nkept;

		if (!by)
			continue;
		if (molt__strv_push(&res->kept, &res->nkept, lib) < 0 ||
		    molt__strv_push(&res->kept_by, &n, by->vsn) < 0)
			return molt_err_set(x->err, MOLT_ENOMEM,
					    "out of memory");
	}
	return MOLT_OK;
}

/* Move vsn's entry last and count it out: molt_releases_write leaves it
 * out, and molt_releases_release frees it once the count is restored. */
static void leave_out(molt_releases *rels, const char *vsn)
{
	molt_release_info *r = molt_releases_find(rels, vsn);
	molt_release_info gone = *r;
	size_t i = (size_t)(r - rels->rels);

	memmove(r, r + 1, (rels->n - i - 1) * sizeof(*r));
	rels->rels[rels->n - 1] = gone;
	rels->n--;
}

/* ---- after the commit: sweep what nothing listed uses ---- */

static int referenced(const molt_releases *rels, const char *sub,
		      const char *name)
{
	char lib[MOLT__PATH_MAX];

	if (strcmp(sub, MOLT_ROOT_RELEASES_DIR) == 0)
		return molt_releases_find(rels, name) != NULL;
	molt__pathf(lib, "%s/%s", sub, name);
	return molt__lib_user(rels, lib, NULL) != NULL;
}

/* Append to *out the directories under ROOT/sub ("releases" or "lib")
 * with a release or application name that rels does not reference. The
 * name check skips the root's own files: RELEASES.json, .lock, the
 * staging and trash directories. */
static int find_orphans(char ***out, size_t *n, const struct remove *x,
			const molt_releases *rels, const char *sub)
{
	char path[MOLT__PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int rc = MOLT_OK;

	molt__pathf(path, "%s/%s", x->root, sub);
	if (!(d = opendir(path)))
		return molt_err_set(x->err, MOLT_EIO, "'%s': %s", path,
				    strerror(errno));
	while (rc == MOLT_OK && (de = readdir(d))) {
		if (!molt__name_ok(de->d_name) ||
		    referenced(rels, sub, de->d_name) ||
		    molt__pathf(path, "%s/%s/%s", x->root, sub, de->d_name) <
			    0 ||
		    lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		molt__pathf(path, "%s/%s", sub, de->d_name);
		if (molt__strv_push(out, n, path) < 0)
			rc = molt_err_set(x->err, MOLT_ENOMEM, "out of memory");
	}
	closedir(d);
	return rc;
}

/* Rename ROOT/rel into the trash (made on first use) as entry number i. */
static int to_trash(struct remove *x, const char *rel, size_t i)
{
	char from[MOLT__PATH_MAX], to[MOLT__PATH_MAX];
	int rc;

	if (!x->trash[0] &&
	    (rc = molt__mkdtemp(x->trash, sizeof(x->trash), x->root,
				MOLT_STAGING_PREFIX, x->err)) < 0) {
		x->trash[0] = '\0';
		return rc;
	}
	if ((rc = molt__path(from, sizeof(from), x->err, "%s/%s", x->root,
			     rel)) < 0 ||
	    (rc = molt__path(to, sizeof(to), x->err, "%s/%zu", x->trash, i)) <
		    0)
		return rc;
	return molt__rename(from, to, x->err);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Delete every orphan under releases/ and lib/ (vsn's own directories
 * among them). The release is already removed: a failure here leaves
 * orphans the next remove sweeps, so it is reported in err but not
 * returned.
 */
static void sweep(struct remove *x, const molt_releases *rels)
{
	molt_remove_result *res = x->res;
	char **dirs = NULL;
	size_t n = 0, libs;
	molt_err ignored = MOLT_ERR_INIT;
	molt_err *err = x->err;

	x->err = &ignored;
	if (find_orphans(&dirs, &n, x, rels, MOLT_ROOT_RELEASES_DIR) < 0)
		goto out;
	libs = n;
	if (find_orphans(&dirs, &n, x, rels, MOLT_ROOT_LIB_DIR) < 0)
		goto out;
	qsort(dirs, libs, sizeof(*dirs), cmp_str);
	qsort(dirs + libs, n - libs, sizeof(*dirs), cmp_str);
	for (size_t i = 0; i < n; i++)
		if (to_trash(x, dirs[i], i) == MOLT_OK &&
		    molt__strv_push(&res->deleted, &res->ndeleted, dirs[i]) < 0)
			break;
out:
	if (x->trash[0])
		molt__rmrf(x->trash);
	molt__strv_free(dirs, n);
	x->err = err;
}

/* ---- the entry point ---- */

static int remove_locked(struct remove *x)
{
	molt_releases rels;
	size_t n;
	int rc;

	/* under the lock no unpack or remove is running: every staging or
	 * trash directory left is debris of a crash */
	molt__rmrf_prefixed(x->root, MOLT_STAGING_PREFIX);
	if ((rc = molt_releases_read(&rels, x->root, x->err)) < 0)
		return rc;
	n = rels.n;
	if ((rc = refuse(x, &rels)) == MOLT_OK &&
	    (rc = note_kept(x, &rels)) == MOLT_OK) {
		leave_out(&rels, x->vsn);
		rc = molt_releases_write(&rels, x->root, x->err);
	}
	if (rc == MOLT_OK)
		sweep(x, &rels);
	rels.n = n;
	molt_releases_release(&rels);
	return rc;
}

int molt_release_remove(molt_remove_result *out, const char *root,
			const char *vsn, molt_err *err)
{
	struct remove x = {.root = root, .vsn = vsn, .err = err};
	molt_remove_result local;
	int lock = -1, rc;

	x.res = out ? out : &local;
	memset(x.res, 0, sizeof(*x.res));
	if (!root || !vsn)
		return molt_err_set(err, MOLT_EINVAL,
				    "remove needs a root and a version");
	if (!molt__name_ok(vsn))
		return molt_err_set(err, MOLT_EINVAL,
				    "'%s' is not a release version", vsn);
	if ((molt__exists(root) && (rc = molt__root_private(root, err)) < 0) ||
	    (rc = molt__root_check(root, err)) < 0 ||
	    (rc = molt_root_lock(&lock, root, err)) < 0)
		return rc;
	rc = remove_locked(&x);
	molt_root_unlock(lock);
	if (rc < 0 || !out)
		molt_remove_result_release(x.res);
	return rc;
}
