/* The root outside unpack: its lock, and checking an unpacked release
 * against the manifest (and signatures) unpack kept. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "molt/buf.h"
#include "molt/release.h"

#include "fsutil.h"
#include "keys.h"
#include "manifest.h"
#include "sha256.h"

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

int molt_root_lock(int *out, const char *root, molt_err *err)
{
	char path[MOLT__PATH_MAX];
	int fd, rc;

	if ((rc = molt__path(path, sizeof(path), err, "%s/" MOLT_ROOT_LOCK_FILE,
			     root)) < 0)
		return rc;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
		return molt_err_set(err, MOLT_EIO, "open '%s': %s", path,
				    strerror(errno));
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			close(fd);
			return molt_err_set(err, MOLT_EIO, "flock '%s': %s",
					    path, strerror(errno));
		}
	*out = fd;
	return MOLT_OK;
}

void molt_root_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

static int verify_line(const char *root, const char *vsn, const char *line,
		       size_t len, int lineno, molt_err *err)
{
	char path[MOLT__PATH_MAX], sum[MOLT__SHA256_HEX];
	int rc;

	if (len < 67 || line[64] != ' ' || line[65] != ' ' ||
	    strspn(line, "0123456789abcdef") != 64)
		return molt_err_set(err, MOLT_EPARSE,
				    "release %s: " MOLT_MANIFEST_FILE
				    ":%d: expected '<sha256>  <path>'",
				    vsn, lineno);
	if ((rc = molt__path(path, sizeof(path), err, "%s/%.*s", root,
			     (int)(len - 66), line + 66)) < 0)
		return rc;
	if (!molt__exists(path))
		return molt_err_set(err, MOLT_ENOTFOUND,
				    "release %s: '%.*s' is missing", vsn,
				    (int)(len - 66), line + 66);
	if ((rc = molt__sha256_file(sum, path, err)) < 0)
		return rc;
	if (memcmp(sum, line, 64) != 0)
		return molt_err_set(err, MOLT_EUNSAFE,
				    "release %s: '%.*s': sha256 does not match "
				    "the manifest",
				    vsn, (int)(len - 66), line + 66);
	return MOLT_OK;
}

int molt_release_verify(const char *root, const char *vsn, molt_err *err)
{
	molt_buf m = MOLT_BUF_INIT;
	char path[MOLT__PATH_MAX];
	const char *p, *nl;
	int lineno = 0, rc;

	if (!root || !vsn || !molt__name_ok(vsn))
		return molt_err_set(err, MOLT_EINVAL,
				    "verify needs a root and "
				    "a version");
	if ((rc = molt__path(path, sizeof(path), err,
			     "%s/" MOLT_ROOT_RELEASES_DIR
			     "/%s/" MOLT_MANIFEST_FILE,
			     root, vsn)) < 0 ||
	    (rc = molt_buf_read_file(&m, path, err)) < 0)
		return rc;
	for (p = m.ptr; rc == MOLT_OK && (nl = strchr(p, '\n')); p = nl + 1)
		rc = verify_line(root, vsn, p, (size_t)(nl - p), ++lineno, err);
	molt_buf_release(&m);
	return rc;
}

/* ---- molt verify: every difference, not just the first ---- */

/* One release being verified. */
struct verifying {
	const char *root;  /* the root */
	const char *vsn;   /* the release */
	char **listed;	   /* manifest paths, sorted (owned) */
	size_t nlisted;	   /* their number */
	size_t bad;	   /* differences found */
	molt_verify_fn fn; /* told each one */
	void *payload;	   /* given to fn */
};

MOLT_PRINTF(3, 4)
static void differs(struct verifying *v, const char *path, const char *fmt, ...)
{
	char problem[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(problem, sizeof(problem), fmt, ap);
	va_end(ap);
	v->bad++;
	if (v->fn)
		v->fn(path, problem, v->payload);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One manifest line: the file there, with the sum. */
static int check_entry(struct verifying *v, const char *line, size_t len,
		       int lineno, molt_err *err)
{
	char rel[MOLT__PATH_MAX], path[MOLT__PATH_MAX], sum[MOLT__SHA256_HEX];
	molt_err e = MOLT_ERR_INIT;

	if (len < 67 || line[64] != ' ' || line[65] != ' ' ||
	    strspn(line, "0123456789abcdef") != 64 || len - 66 >= sizeof(rel))
		return molt_err_set(err, MOLT_EPARSE,
				    "release %s: " MOLT_MANIFEST_FILE
				    ":%d: expected '<sha256>  <path>'",
				    v->vsn, lineno);
	memcpy(rel, line + 66, len - 66);
	rel[len - 66] = '\0';
	if (molt__strv_push(&v->listed, &v->nlisted, rel) < 0)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	molt__pathf(path, "%s/%s", v->root, rel);
	if (!molt__relpath_ok(rel) || !molt__exists(path))
		differs(v, rel, "missing");
	else if (molt__sha256_file(sum, path, &e) < 0)
		differs(v, rel, "%s", e.msg);
	else if (memcmp(sum, line, 64) != 0)
		differs(v, rel, "sha256 %s does not match the manifest (%.64s)",
			sum, line);
	return MOLT_OK;
}

static int is_listed(const struct verifying *v, const char *rel)
{
	return bsearch(&rel, v->listed, v->nlisted, sizeof(*v->listed),
		       cmp_str) != NULL;
}

/* Files under dir (relative to the root) that the manifest does not
 * list; the manifest and its signatures are not in it. */
static void check_unlisted(struct verifying *v, const char *dir)
{
	char full[MOLT__PATH_MAX], rel[MOLT__PATH_MAX];
	molt_err e = MOLT_ERR_INIT;
	char **files;
	size_t n;

	molt__pathf(full, "%s/%s", v->root, dir);
	if (molt__list_files(&files, &n, full, &e) < 0) {
		differs(v, dir, "%s", e.msg);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		molt__pathf(rel, "%s/%s", dir, files[i]);
		if (strncmp(dir, MOLT_ROOT_RELEASES_DIR "/", 9) == 0 &&
		    (!strcmp(files[i], MOLT_MANIFEST_FILE) ||
		     !strcmp(files[i], MOLT_SIG_FILE)))
			continue;
		if (!is_listed(v, rel))
			differs(v, rel, "not in the manifest");
	}
	molt__strv_free(files, n);
}

/* The lib directories the manifest lists files of, each once. */
static void check_dirs(struct verifying *v)
{
	char dir[MOLT__PATH_MAX], last[MOLT__PATH_MAX] = "";

	molt__pathf(dir, MOLT_ROOT_RELEASES_DIR "/%s", v->vsn);
	check_unlisted(v, dir);
	for (size_t i = 0; i < v->nlisted; i++) {
		const char *p = v->listed[i], *s;

		if (strncmp(p, MOLT_ROOT_LIB_DIR "/", 4) != 0 ||
		    !(s = strchr(p + 4, '/')))
			continue;
		molt__pathf(dir, "%.*s", (int)(s - p), p);
		if (strcmp(dir, last) == 0)
			continue;
		memcpy(last, dir, sizeof(last));
		check_unlisted(v, dir);
	}
}

/* With trusted keys: the kept signatures of the kept manifest. */
static int check_signed(struct verifying *v, const char *mpath, molt_err *err)
{
	struct molt__trust t;
	char sig[MOLT__PATH_MAX], sum[MOLT__SHA256_HEX],
		signer[MOLT__KEYID_HEX];
	char what[300], rel[300];
	molt_err e = MOLT_ERR_INIT;
	int rc;

	if ((rc = molt__trust_load(&t, v->root, err)) < 0)
		return rc;
	molt__pathf(sig, "%s/" MOLT_ROOT_RELEASES_DIR "/%s/" MOLT_SIG_FILE,
		    v->root, v->vsn);
	molt__pathf(rel, MOLT_ROOT_RELEASES_DIR "/%s/" MOLT_SIG_FILE, v->vsn);
	snprintf(what, sizeof(what), "release %s", v->vsn);
	if (t.n && (rc = molt__sha256_file(sum, mpath, err)) == MOLT_OK &&
	    molt__trust_check(signer, NULL, &t, sig, sum, what, &e) < 0)
		differs(v, rel, "%s", e.msg);
	molt__trust_release(&t);
	return rc;
}

static int verify_each(struct verifying *v, molt_err *err)
{
	molt_buf m = MOLT_BUF_INIT;
	char path[MOLT__PATH_MAX];
	const char *p, *nl;
	int lineno = 0, rc;

	if ((rc = molt__path(path, sizeof(path), err,
			     "%s/" MOLT_ROOT_RELEASES_DIR
			     "/%s/" MOLT_MANIFEST_FILE,
			     v->root, v->vsn)) < 0 ||
	    (rc = molt_buf_read_file(&m, path, err)) < 0)
		return rc;
	for (p = m.ptr; rc == MOLT_OK && (nl = strchr(p, '\n')); p = nl + 1)
		rc = check_entry(v, p, (size_t)(nl - p), ++lineno, err);
	molt_buf_release(&m);
	if (rc < 0)
		return rc;
	if (v->nlisted)
		qsort(v->listed, v->nlisted, sizeof(*v->listed), cmp_str);
	check_dirs(v);
	return check_signed(v, path, err);
}

int molt_release_verify_each(size_t *bad, const char *root, const char *vsn,
			     molt_verify_fn fn, void *payload, molt_err *err)
{
	struct verifying v = {root, vsn, NULL, 0, 0, fn, payload};
	int rc;

	if (bad)
		*bad = 0;
	if (!root || !vsn || !molt__name_ok(vsn))
		return molt_err_set(err, MOLT_EINVAL,
				    "verify needs a root and a version");
	rc = verify_each(&v, err);
	molt__strv_free(v.listed, v.nlisted);
	if (bad)
		*bad = v.bad;
	return rc;
}
