/* molt_release_unpack and molt_release_init: a bundle into a root,
 * verified, staged and renamed into place; RELEASES.json last. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "molt/buf.h"
#include "molt/release.h"

#include "archive_io.h"
#include "fsutil.h"
#include "keys.h"
#include "manifest.h"
#include "remove.h"
#include "sha256.h"

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

/* One unpack in progress. */
struct unpack {
	const char *root;		 /* the root */
	const char *bundle;		 /* the bundle file */
	const molt_unpack_options *opts; /* limits, progress */
	char staging[MOLT__PATH_MAX];	 /* ROOT/.staging-XXXXXX */
	struct molt__extracted files;	 /* what extraction wrote */
	struct molt__relmeta meta;	 /* the release.json inside */
	size_t *idx;			 /* files.paths in sorted order */
	const char *lib;		 /* lib dir being checked */
	int status;			 /* status to record */
	molt_err *err;			 /* where errors go */
};

MOLT_PRINTF(3, 4)
static void progress(const struct unpack *u, double t0, const char *fmt, ...)
{
	char step[512];
	va_list ap;

	if (!u->opts || !u->opts->progress)
		return;
	va_start(ap, fmt);
	vsnprintf(step, sizeof(step), fmt, ap);
	va_end(ap);
	u->opts->progress(step, molt__now_ms() - t0, u->opts->payload);
}

/* ---- checking what was extracted ---- */

static int cmp_index(const void *a, const void *b, void *paths)
{
	char **p = paths;

	return strcmp(p[*(const size_t *)a], p[*(const size_t *)b]);
}

/* Index of path among the extracted files (sorted index idx), or -1. */
static long find_file(const struct molt__extracted *x, const size_t *idx,
		      const char *path)
{
	size_t lo = 0, hi = x->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(x->paths[idx[mid]], path);

		if (c == 0)
			return (long)idx[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int check_line(const struct molt__extracted *x, const size_t *idx,
		      char *seen, const char *line, size_t len, int lineno,
		      molt_err *err)
{
	char path[MOLT__PATH_MAX];
	long i;

	if (len < 67 || line[64] != ' ' || line[65] != ' ' ||
	    strspn(line, "0123456789abcdef") != 64 || len - 66 >= sizeof(path))
		return molt_err_set(err, MOLT_EPARSE,
				    MOLT_MANIFEST_FILE
				    ":%d: expected '<sha256>  <path>'",
				    lineno);
	memcpy(path, line + 66, len - 66);
	path[len - 66] = '\0';
	if ((i = find_file(x, idx, path)) < 0)
		return molt_err_set(err, MOLT_EUNSAFE,
				    MOLT_MANIFEST_FILE
				    ":%d: '%s' is listed but not in the bundle",
				    lineno, path);
	if (seen[i]++)
		return molt_err_set(err, MOLT_EUNSAFE,
				    MOLT_MANIFEST_FILE ":%d: '%s' is listed "
						       "twice",
				    lineno, path);
	if (!strcmp(path, MOLT_MANIFEST_FILE) || !strcmp(path, MOLT_SIG_FILE))
		return molt_err_set(err, MOLT_EUNSAFE,
				    MOLT_MANIFEST_FILE ":%d: lists '%s'",
				    lineno, path);
	if (memcmp(x->sums[i], line, 64) != 0)
		return molt_err_set(err, MOLT_EUNSAFE,
				    MOLT_MANIFEST_FILE
				    ":%d: '%s': sha256 does not match",
				    lineno, path);
	return MOLT_OK;
}

static int check_lines(const struct molt__extracted *x, const size_t *idx,
		       char *seen, const molt_buf *m, molt_err *err)
{
	const char *p = m->ptr, *end = m->ptr + m->len;
	int lineno = 0, rc;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		lineno++;
		if (!nl)
			return molt_err_set(err, MOLT_EPARSE,
					    MOLT_MANIFEST_FILE
					    ":%d: line does not end",
					    lineno);
		if ((rc = check_line(x, idx, seen, p, (size_t)(nl - p), lineno,
				     err)) < 0)
			return rc;
		p = nl + 1;
	}
	return MOLT_OK;
}

/* Only the manifest and its signatures may be left out of the manifest:
 * anything else, a second manifest in a subdirectory too, is refused. */
static int check_unlisted(const struct molt__extracted *x, const char *seen,
			  molt_err *err)
{
	for (size_t i = 0; i < x->n; i++)
		if (!seen[i] && strcmp(x->paths[i], MOLT_MANIFEST_FILE) &&
		    strcmp(x->paths[i], MOLT_SIG_FILE))
			return molt_err_set(err, MOLT_EUNSAFE,
					    "'%s' is in the bundle but not "
					    "in " MOLT_MANIFEST_FILE,
					    x->paths[i]);
	return MOLT_OK;
}

int molt__manifest_match(size_t **idx_out, const struct molt__extracted *x,
			 const char *dir, molt_err *err)
{
	molt_buf m = MOLT_BUF_INIT;
	char path[MOLT__PATH_MAX];
	size_t *idx = molt_calloc(x->n + 1, sizeof(*idx));
	char *seen = molt_calloc(x->n + 1, 1);
	int rc;

	if (!idx || !seen) {
		rc = molt_err_set(err, MOLT_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < x->n; i++)
		idx[i] = i;
	qsort_r(idx, x->n, sizeof(*idx), cmp_index, x->paths);
	if (find_file(x, idx, MOLT_MANIFEST_FILE) < 0) {
		rc = molt_err_set(err, MOLT_EUNSAFE,
				  "the bundle has no " MOLT_MANIFEST_FILE);
		goto out;
	}
	molt__pathf(path, "%s/" MOLT_MANIFEST_FILE, dir);
	if ((rc = molt_buf_read_file(&m, path, err)) == MOLT_OK &&
	    (rc = check_lines(x, idx, seen, &m, err)) == MOLT_OK)
		rc = check_unlisted(x, seen, err);
out:
	molt_buf_release(&m);
	if (idx_out)
		*idx_out = idx;
	else
		molt_free(idx);
	molt_free(seen);
	return rc;
}

/* A refusal of the bundle's contents names the bundle (its file name:
 * the message must keep room for the entry at fault). */
static int named(struct unpack *u, int rc)
{
	const char *base = strrchr(u->bundle, '/');

	if (u->err)
		molt_err_prefix(u->err, "bundle '%s'",
				base ? base + 1 : u->bundle);
	return rc;
}

/* Every file listed with the right sum, and nothing else. */
static int verify_manifest(struct unpack *u)
{
	/* u->idx is kept for check_module; freed by unpack_with */
	int rc = molt__manifest_match(&u->idx, &u->files, u->staging, u->err);

	return rc < 0 ? named(u, rc) : rc;
}

/* The one directory under staging/releases: the release's version. */
static int find_version(struct unpack *u, char *vsn, size_t size)
{
	char dir[MOLT__PATH_MAX];
	struct dirent *de;
	int count = 0;
	DIR *d;

	molt__pathf(dir, "%s/" MOLT_ROOT_RELEASES_DIR, u->staging);
	if (!(d = opendir(dir)))
		return molt_err_set(u->err, MOLT_EPARSE,
				    "the bundle has no releases/ directory");
	/* only directories: a stray file there is caught by check_layout */
	while ((de = readdir(d)))
		if (de->d_type == DT_DIR && strcmp(de->d_name, ".") &&
		    strcmp(de->d_name, "..") && count++ == 0 &&
		    strlen(de->d_name) < size)
			memcpy(vsn, de->d_name, strlen(de->d_name) + 1);
	closedir(d);
	if (count == 1 && !molt__name_ok(vsn))
		return molt_err_set(u->err, MOLT_EPARSE,
				    "releases/ holds no valid version name");
	if (count != 1)
		return molt_err_set(u->err, MOLT_EPARSE,
				    "the bundle must hold exactly one "
				    "release under releases/ (found %d)",
				    count);
	return MOLT_OK;
}

static int in_layout(const struct unpack *u, const char *path)
{
	char pre[300];

	if (strcmp(path, MOLT_MANIFEST_FILE) == 0 ||
	    strcmp(path, MOLT_SIG_FILE) == 0)
		return 1;
	molt__pathf(pre, MOLT_ROOT_RELEASES_DIR "/%s/", u->meta.vsn);
	if (strncmp(path, pre, strlen(pre)) == 0)
		return 1;
	for (size_t i = 0; i < u->meta.napps; i++) {
		molt__pathf(pre, "%s/", u->meta.apps[i].lib);
		if (strncmp(path, pre, strlen(pre)) == 0)
			return 1;
	}
	return 0;
}

/* A module app.json lists is in the bundle, with the sum app.json says:
 * the appup library trusts these sums to tell changed modules. */
static int check_module(const char *name, const char *file, const char *sum,
			void *payload)
{
	struct unpack *u = payload;
	const char *base = strrchr(u->bundle, '/') ? strrchr(u->bundle, '/') + 1
						   : u->bundle;
	char path[MOLT__PATH_MAX];
	long i;

	molt__pathf(path, "%s/%s", u->lib, file);
	if ((i = find_file(&u->files, u->idx, path)) < 0)
		return molt_err_set(u->err, MOLT_EUNSAFE,
				    "%s: %s/" MOLT_APP_FILE
				    ": module '%s': no file '%s' in the bundle",
				    base, u->lib, name, file);
	if (strcmp(u->files.sums[i], sum) != 0)
		return molt_err_set(u->err, MOLT_EUNSAFE,
				    "%s: %s/" MOLT_APP_FILE
				    ": module '%s': sha256 does not match '%s'",
				    base, u->lib, name, file);
	return MOLT_OK;
}

/* Errors about files in staging name them as the bundle's members. */
static int in_bundle(struct unpack *u, int rc)
{
	size_t n = strlen(u->staging);
	const char *base = strrchr(u->bundle, '/');
	char msg[sizeof(u->err->msg)];

	if (!u->err || strncmp(u->err->msg, u->staging, n) != 0 ||
	    u->err->msg[n] != '/')
		return rc;
	snprintf(msg, sizeof(msg), "%s", u->err->msg + n + 1);
	return molt_err_set(u->err, rc, "%s: %s", base ? base + 1 : u->bundle,
			    msg);
}

static int check_layout(struct unpack *u)
{
	char vsn[128] = "", path[MOLT__PATH_MAX];
	int rc;

	if ((rc = find_version(u, vsn, sizeof(vsn))) < 0 ||
	    (rc = molt__path(path, sizeof(path), u->err,
			     "%s/" MOLT_ROOT_RELEASES_DIR
			     "/%s/" MOLT_RELEASE_FILE,
			     u->staging, vsn)) < 0)
		return rc;
	if (!molt__exists(path))
		return molt_err_set(
			u->err, MOLT_EPARSE,
			"the bundle has no releases/%s/" MOLT_RELEASE_FILE,
			vsn);
	if ((rc = molt__release_json_read(&u->meta, path, u->err)) < 0)
		return in_bundle(u, rc);
	if (strcmp(u->meta.vsn, vsn) != 0)
		return molt_err_set(u->err, MOLT_EPARSE,
				    "releases/%s/" MOLT_RELEASE_FILE
				    " says version %s",
				    vsn, u->meta.vsn);
	for (size_t i = 0; i < u->files.n; i++)
		if (!in_layout(u, u->files.paths[i]))
			return molt_err_set(u->err, MOLT_EUNSAFE,
					    "entry '%s' is outside the bundle "
					    "layout",
					    u->files.paths[i]);
	for (size_t i = 0; i < u->meta.napps; i++) {
		const molt_release_app *a = &u->meta.apps[i];

		molt__pathf(path, "%s/%s/" MOLT_APP_FILE, u->staging, a->lib);
		u->lib = a->lib;
		if ((rc = molt__app_json_check(path, a->name, a->vsn,
					       check_module, u, u->err)) < 0)
			return in_bundle(u, rc);
	}
	return MOLT_OK;
}

/* ---- moving into place ---- */

/* lib dir already in the root: same files as the bundle's, or refuse. */
static int same_lib(struct unpack *u, const char *lib)
{
	char path[MOLT__PATH_MAX], sum[MOLT__SHA256_HEX];
	size_t len = strlen(lib);
	int rc;

	for (size_t i = 0; i < u->files.n; i++) {
		const char *p = u->files.paths[i];

		if (strncmp(p, lib, len) != 0 || p[len] != '/')
			continue;
		molt__pathf(path, "%s/%s", u->root, p);
		rc = molt__sha256_file(sum, path, NULL);
		if (rc < 0 || strcmp(sum, u->files.sums[i]) != 0)
			return molt_err_set(u->err, MOLT_EEXISTS,
					    "'%s' is already in the root with "
					    "different contents (%s)",
					    lib, p);
	}
	return MOLT_OK;
}

static void fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

static int move(struct unpack *u, const char *rel, const char *to_rel)
{
	char from[MOLT__PATH_MAX], to[MOLT__PATH_MAX];
	int rc;

	if ((rc = molt__path(from, sizeof(from), u->err, "%s/%s", u->staging,
			     rel)) < 0 ||
	    (rc = molt__path(to, sizeof(to), u->err, "%s/%s", u->root,
			     to_rel)) < 0)
		return rc;
	return molt__rename(from, to, u->err);
}

/* Put back into staging what place_libs moved (moved[i] set). */
static void unmove(struct unpack *u, const char *moved)
{
	char from[MOLT__PATH_MAX], to[MOLT__PATH_MAX];

	for (size_t i = 0; i < u->meta.napps; i++) {
		if (!moved[i])
			continue;
		molt__pathf(from, "%s/%s", u->root, u->meta.apps[i].lib);
		molt__pathf(to, "%s/%s", u->staging, u->meta.apps[i].lib);
		rename(from, to);
	}
}

static int place_libs(struct unpack *u, const molt_releases *rels, char *moved,
		      size_t *added)
{
	char path[MOLT__PATH_MAX];
	int rc;

	for (size_t i = 0; i < u->meta.napps; i++) {
		const char *lib = u->meta.apps[i].lib;

		molt__pathf(path, "%s/%s", u->root, lib);
		if (molt__exists(path) && !molt__lib_user(rels, lib, NULL))
			molt__rmrf(path); /* debris of an uncommitted unpack */
		if (molt__exists(path)) {
			if ((rc = same_lib(u, lib)) < 0)
				return rc;
			continue;
		}
		if ((rc = move(u, lib, lib)) < 0)
			return rc;
		moved[i] = 1;
		(*added)++;
	}
	molt__pathf(path, "%s/" MOLT_ROOT_LIB_DIR, u->root);
	fsync_dir(path);
	return MOLT_OK;
}

static int new_entry(molt_releases *rels, const struct unpack *u, int status)
{
	molt_release_info *r =
		molt_realloc(rels->rels, (rels->n + 1) * sizeof(*r));

	if (!r)
		return MOLT_ENOMEM;
	rels->rels = r;
	memmove(r + 1, r, rels->n * sizeof(*r)); /* newest first, as OTP */
	memset(r, 0, sizeof(*r));
	rels->n++;
	r->status = MOLT_REL_UNPACKED;
	if (!(r->name = molt_strdup(u->meta.name)) ||
	    !(r->vsn = molt_strdup(u->meta.vsn)) ||
	    !(r->apps = molt_calloc(u->meta.napps, sizeof(*r->apps))))
		return MOLT_ENOMEM;
	r->napps = u->meta.napps; /* zeroed entries free as no-ops */
	for (size_t i = 0; i < u->meta.napps; i++) {
		const molt_release_app *a = &u->meta.apps[i];

		if (!(r->apps[i].name = molt_strdup(a->name)) ||
		    !(r->apps[i].vsn = molt_strdup(a->vsn)) ||
		    !(r->apps[i].lib = molt_strdup(a->lib)))
			return MOLT_ENOMEM;
	}
	return molt_releases_set_status(rels, r->vsn, status, NULL);
}

static int refuse_existing(struct unpack *u, const molt_releases *rels)
{
	char path[MOLT__PATH_MAX];
	const molt_release_info *r = molt_releases_find(rels, u->meta.vsn);

	if (r)
		return molt_err_set(u->err, MOLT_EEXISTS,
				    "release %s is already in '%s' (%s)",
				    u->meta.vsn, u->root,
				    molt_release_status_name(r->status));
	/* not in RELEASES.json: left by an unpack that did not commit */
	molt__pathf(path, "%s/" MOLT_ROOT_RELEASES_DIR "/%s", u->root,
		    u->meta.vsn);
	if (path[0] && molt__exists(path))
		molt__rmrf(path);
	return MOLT_OK;
}

static int keep_file(struct unpack *u, const char *name)
{
	char from[MOLT__PATH_MAX], to[MOLT__PATH_MAX];
	int rc;

	if ((rc = molt__path(from, sizeof(from), u->err, "%s/%s", u->staging,
			     name)) < 0 ||
	    (rc = molt__path(to, sizeof(to), u->err,
			     "%s/" MOLT_ROOT_RELEASES_DIR "/%s/%s", u->staging,
			     u->meta.vsn, name)) < 0)
		return rc;
	if (strcmp(name, MOLT_SIG_FILE) == 0 && !molt__exists(from))
		return MOLT_OK;
	if (rename(from, to) < 0)
		return molt_err_set(u->err, MOLT_EIO, "rename '%s': %s", from,
				    strerror(errno));
	return MOLT_OK;
}

/* Keep the manifest and its signatures with the release:
 * releases/VSN/MANIFEST.sha256 and releases/VSN/MANIFEST.sig. */
static int keep_manifest(struct unpack *u)
{
	int rc = keep_file(u, MOLT_MANIFEST_FILE);

	return rc < 0 ? rc : keep_file(u, MOLT_SIG_FILE);
}

/* Under the root lock: rename into place, then write RELEASES.json (the
 * commit point). On failure everything moved goes back to staging. */
static int place(struct unpack *u, molt_unpack_result *res)
{
	molt_releases rels = {0};
	char rel[300], from[MOLT__PATH_MAX], to[MOLT__PATH_MAX];
	char *moved = molt_calloc(u->meta.napps + 1, 1);
	int rc, rel_moved = 0;

	if (!moved)
		return molt_err_set(u->err, MOLT_ENOMEM, "out of memory");
	molt__pathf(rel, MOLT_ROOT_RELEASES_DIR "/%s", u->meta.vsn);
	if ((rc = molt_releases_read(&rels, u->root, u->err)) < 0 ||
	    (rc = refuse_existing(u, &rels)) < 0 || (rc = keep_manifest(u)) < 0)
		goto out;
	if ((rc = place_libs(u, &rels, moved, &res->new_libs)) < 0 ||
	    (rc = move(u, rel, rel)) < 0)
		goto out_unmove;
	rel_moved = 1;
	if (new_entry(&rels, u, u->status) < 0) {
		rc = molt_err_set(u->err, MOLT_ENOMEM, "out of memory");
		goto out_unmove;
	}
	if ((rc = molt_releases_write(&rels, u->root, u->err)) == MOLT_OK)
		goto out;
out_unmove:
	molt__pathf(from, "%s/%s", u->root, rel);
	molt__pathf(to, "%s/%s", u->staging, rel);
	if (rel_moved)
		rename(from, to);
	unmove(u, moved);
out:
	molt_releases_release(&rels);
	molt_free(moved);
	return rc;
}

/* ---- the public entry points ---- */

static int extract(struct unpack *u, molt_unpack_result *res)
{
	double t0 = molt__now_ms();
	int fd = open(u->bundle, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return molt_err_set(
			u->err, errno == ENOENT ? MOLT_ENOTFOUND : MOLT_EIO,
			"bundle '%s': %s", u->bundle, strerror(errno));
	/* writeback starts as each file is written, so that the sync before
	 * the commit finds little left to write */
	rc = molt__archive_extract(&u->files, fd, u->staging,
				   u->opts ? &u->opts->limits : NULL, 1,
				   u->err);
	close(fd);
	if (rc < 0)
		return named(u, rc);
	res->files = u->files.n;
	res->bytes = u->files.bytes;
	progress(u, t0, "extracted %zu files, %llu bytes", u->files.n,
		 (unsigned long long)u->files.bytes);
	return MOLT_OK;
}

/* ---- signatures ---- */

/* With trusted keys in the root, a valid signature by one of them over
 * the extracted manifest, before anything else of the bundle is read. */
static int check_trust(struct unpack *u, molt_unpack_result *res)
{
	struct molt__trust t;
	const char *sum = molt__extracted_sum(&u->files, MOLT_MANIFEST_FILE);
	char sig[MOLT__PATH_MAX], what[MOLT__PATH_MAX + 16];
	int rc;

	if ((rc = molt__trust_load(&t, u->root, u->err)) < 0)
		return rc;
	res->trusted_keys = t.n;
	res->signatures = molt__extracted_sum(&u->files, MOLT_SIG_FILE) ? 1 : 0;
	if (t.n == 0)
		return MOLT_OK;
	snprintf(what, sizeof(what), "bundle '%s'", u->bundle);
	molt__pathf(sig, "%s/" MOLT_SIG_FILE, u->staging);
	if (!sum)
		rc = molt_err_set(u->err, MOLT_EUNSAFE,
				  "%s has no " MOLT_MANIFEST_FILE, what);
	else
		rc = molt__trust_check(res->signer, &res->signatures, &t, sig,
				       sum, what, u->err);
	molt__trust_release(&t);
	return rc;
}

/* Under the root lock: extract, check, place. */
static int unpack_locked(struct unpack *u, molt_unpack_result *res)
{
	double t0;
	int rc;

	/* under the root lock no unpack or remove is running: every staging
	 * or trash directory left is debris of a crash */
	molt__rmrf_prefixed(u->root, MOLT_STAGING_PREFIX);
	if ((rc = molt__mkdtemp(u->staging, sizeof(u->staging), u->root,
				MOLT_STAGING_PREFIX, u->err)) < 0 ||
	    (rc = extract(u, res)) < 0)
		return rc;
	t0 = molt__now_ms();
	if ((rc = check_trust(u, res)) < 0)
		return rc;
	if (res->signer[0])
		progress(u, t0, "signature by trusted key %s is valid",
			 res->signer);
	t0 = molt__now_ms();
	if ((rc = verify_manifest(u)) < 0 || (rc = check_layout(u)) < 0)
		return rc;
	progress(u, t0, "verified manifest and layout of %s-%s", u->meta.name,
		 u->meta.vsn);
	snprintf(res->name, sizeof(res->name), "%s", u->meta.name);
	snprintf(res->vsn, sizeof(res->vsn), "%s", u->meta.vsn);
	t0 = molt__now_ms();
	/* the files are on disk before RELEASES.json says they are there:
	 * a power loss never leaves a torn .so in a recorded release */
	if ((rc = molt__sync_tree(u->staging, u->err)) < 0)
		return rc;
	progress(u, t0, "synced %zu files to disk", u->files.n);
	t0 = molt__now_ms();
	if ((rc = place(u, res)) == MOLT_OK)
		progress(u, t0, "release %s recorded as %s", u->meta.vsn,
			 molt_release_status_name(u->status));
	return rc;
}

static int unpack_run(struct unpack *u, molt_unpack_result *res)
{
	int lock = -1, rc;

	if ((rc = molt__root_check(u->root, u->err)) < 0 ||
	    (rc = molt_root_lock(&lock, u->root, u->err)) < 0)
		return rc;
	rc = unpack_locked(u, res);
	if (u->staging[0])
		molt__rmrf(u->staging);
	u->staging[0] = '\0';
	molt_root_unlock(lock);
	return rc;
}

static int unpack_with(molt_unpack_result *out, const char *root,
		       const char *bundle, const molt_unpack_options *opts,
		       int status, molt_err *err)
{
	struct unpack u = {.root = root,
			   .bundle = bundle,
			   .opts = opts,
			   .status = status,
			   .err = err};
	molt_unpack_result local;
	int rc;

	if (!root || !bundle)
		return molt_err_set(err, MOLT_EINVAL,
				    "unpack needs a root and a bundle");
	if (!out)
		out = &local;
	memset(out, 0, sizeof(*out));
	if (molt__exists(root) && (rc = molt__root_private(root, err)) < 0)
		return rc;
	rc = unpack_run(&u, out);
	if (u.staging[0])
		molt__rmrf(u.staging);
	molt__extracted_release(&u.files);
	molt__relmeta_release(&u.meta);
	molt_free(u.idx);
	return rc;
}

int molt_release_unpack(molt_unpack_result *out, const char *root,
			const char *bundle, const molt_unpack_options *opts,
			molt_err *err)
{
	return unpack_with(out, root, bundle, opts, MOLT_REL_UNPACKED, err);
}

static int empty_or_missing(const char *root, int *created, molt_err *err)
{
	struct dirent *de;
	DIR *d = opendir(root);
	int entries = 0, rc;

	*created = 0;
	if (!d && errno == ENOENT) {
		if (mkdir(root, 0755) < 0)
			return molt_err_set(err, MOLT_EIO, "mkdir '%s': %s",
					    root, strerror(errno));
		*created = 1;
		return MOLT_OK;
	}
	if (!d)
		return molt_err_set(err, MOLT_EIO, "'%s': %s", root,
				    strerror(errno));
	if ((rc = molt__root_private(root, err)) < 0) {
		closedir(d);
		return rc;
	}
	/* keys/ may be there: trusted before the first bundle comes */
	while ((de = readdir(d)))
		entries += strcmp(de->d_name, ".") &&
			   strcmp(de->d_name, "..") &&
			   strcmp(de->d_name, MOLT_ROOT_KEYS_DIR);
	closedir(d);
	if (entries)
		return molt_err_set(err, MOLT_EEXISTS,
				    "'%s' is not empty: init makes a fresh "
				    "root (only keys/ may be there)",
				    root);
	return MOLT_OK;
}

static int make_dirs(const char *root, molt_err *err)
{
	static const char *const dirs[] = {MOLT_ROOT_RELEASES_DIR,
					   MOLT_ROOT_LIB_DIR, MOLT_ROOT_RUN_DIR,
					   MOLT_ROOT_LOG_DIR};
	char path[MOLT__PATH_MAX];
	int rc;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
		if ((rc = molt__path(path, sizeof(path), err, "%s/%s", root,
				     dirs[i])) < 0)
			return rc;
		/* run/ holds the control socket: owner only */
		if (mkdir(path, i == 2 ? 0700 : 0755) < 0)
			return molt_err_set(err, MOLT_EIO, "mkdir '%s': %s",
					    path, strerror(errno));
	}
	return MOLT_OK;
}

static void unmake_dirs(const char *root, int created)
{
	static const char *const dirs[] = {MOLT_ROOT_RELEASES_DIR,
					   MOLT_ROOT_LIB_DIR, MOLT_ROOT_RUN_DIR,
					   MOLT_ROOT_LOG_DIR};
	char path[MOLT__PATH_MAX];

	if (created) {
		molt__rmrf(root);
		return;
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
		molt__pathf(path, "%s/%s", root, dirs[i]);
		molt__rmrf(path);
	}
}

int molt_release_init(molt_unpack_result *out, const char *root,
		      const char *bundle, const molt_unpack_options *opts,
		      molt_err *err)
{
	int created, rc;

	if (!root || !bundle)
		return molt_err_set(err, MOLT_EINVAL,
				    "init needs a root and a bundle");
	if ((rc = empty_or_missing(root, &created, err)) < 0)
		return rc;
	if ((rc = make_dirs(root, err)) == MOLT_OK)
		rc = unpack_with(out, root, bundle, opts, MOLT_REL_PERMANENT,
				 err);
	if (rc < 0)
		unmake_dirs(root, created);
	return rc;
}
