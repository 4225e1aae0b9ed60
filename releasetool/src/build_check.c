/* molt build --check: rebuild a bundle from what its release.json
 * records and say what differs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "molt/buf.h"
#include "molt/release.h"

#include "archive_io.h"
#include "fsutil.h"
#include "manifest.h"
#include "sha256.h"

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

/* One check: the temporary directory and what was found. */
struct check {
	char tmp[MOLT__PATH_MAX];   /* removed at the end */
	struct molt__extracted old; /* the bundle's files */
	struct molt__extracted new; /* the rebuild's files */
	struct molt__relbuild was;  /* the bundle's build record */
	struct molt__relbuild now;  /* the rebuild's */
	molt_check_result *res;	    /* where differences go */
	molt_err *err;		    /* where errors go */
};

/* Add line (owned; NULL: out of memory) to the differences. */
static int diff(struct check *c, char *line)
{
	int rc = line ? molt__strv_push(&c->res->diffs, &c->res->ndiffs, line)
		      : MOLT_ENOMEM;

	molt_free(line);
	return rc < 0 ? molt_err_set(c->err, MOLT_ENOMEM, "out of memory")
		      : MOLT_OK;
}

/* Extract bundle into tmp/label. */
static int extract(struct check *c, struct molt__extracted *out,
		   const char *bundle, const char *label)
{
	molt_unpack_limits lim = {MOLT__MAX_TOTAL, MOLT__MAX_FILE,
				  MOLT__MAX_ENTRIES, MOLT__MAX_PATH};
	char dest[MOLT__PATH_MAX];
	int fd, rc;

	molt__pathf(dest, "%s/%s", c->tmp, label);
	if ((rc = molt__mkdir_p(dest, 0700, c->err)) < 0)
		return rc;
	if ((fd = open(bundle, O_RDONLY | O_CLOEXEC)) < 0)
		return molt_err_set(c->err, MOLT_EIO, "open '%s': %s", bundle,
				    strerror(errno));
	rc = molt__archive_extract(out, fd, dest, &lim, 0, c->err);
	close(fd);
	if (rc < 0)
		molt_err_prefix(c->err, "%s", bundle);
	return rc;
}

/* The build record of the release.json in tmp/label (x: its files). */
static int read_record(struct check *c, struct molt__relbuild *out,
		       const struct molt__extracted *x, const char *label,
		       const char *bundle)
{
	char path[MOLT__PATH_MAX], file[MOLT__PATH_MAX + 300];
	molt_buf text = MOLT_BUF_INIT;
	const char *rel = NULL;
	size_t n;
	int rc;

	for (size_t i = 0; !rel && i < x->n; i++) {
		n = strlen(x->paths[i]);
		if (strncmp(x->paths[i], "releases/", 9) == 0 && n > 13 &&
		    strcmp(x->paths[i] + n - 13, "/release.json") == 0)
			rel = x->paths[i];
	}
	if (!rel)
		return molt_err_set(c->err, MOLT_ENOTFOUND,
				    "%s: no releases/VSN/release.json", bundle);
	molt__pathf(path, "%s/%s/%s", c->tmp, label, rel);
	molt__pathf(file, "%s: %s", bundle, rel);
	if ((rc = molt_buf_read_file(&text, path, c->err)) == MOLT_OK)
		rc = molt__relbuild_parse(out, text.ptr, text.len, file,
					  c->err);
	molt_buf_release(&text);
	return rc;
}

static int rebuild(struct check *c, const char *bundle, const char *repo,
		   const char *out, molt_progress_fn progress, void *payload)
{
	molt_build_options o = MOLT_BUILD_OPTIONS_INIT;
	molt_build_result r;
	struct stat st;

	if (!repo && *c->was.repo && stat(c->was.repo, &st) == 0 &&
	    S_ISDIR(st.st_mode))
		repo = c->was.repo;
	if (!repo)
		return molt_err_set(c->err, MOLT_EINVAL,
				    "%s: release.json names no local "
				    "repository to rebuild from: give --repo "
				    "DIR",
				    bundle);
	o.repo = repo;
	o.tag = c->was.tag;
	o.out = out;
	o.relup_from = (const char *const *)c->was.relup_from;
	o.nrelup_from = c->was.nrelup_from;
	o.cc = *c->was.cc_option ? c->was.cc_option : NULL;
	o.require_signed_tag = c->was.require_signed_tag;
	o.progress = progress;
	o.payload = payload;
	if (molt_release_build(&r, &o, c->err) < 0)
		return c->err ? c->err->code : MOLT_ERROR;
	memcpy(c->res->sha256, r.sha256, sizeof(c->res->sha256));
	return MOLT_OK;
}

/* Sum of path in x, or NULL. */
static const char *sum_of(const struct molt__extracted *x, const char *path)
{
	for (size_t i = 0; i < x->n; i++)
		if (strcmp(x->paths[i], path) == 0)
			return x->sums[i];
	return NULL;
}

static int compare_files(struct check *c)
{
	const char *s;
	int rc = MOLT_OK;

	for (size_t i = 0; rc == MOLT_OK && i < c->old.n; i++) {
		if (strcmp(c->old.paths[i], MOLT_SIG_FILE) == 0)
			continue; /* signatures are added after the build */
		s = sum_of(&c->new, c->old.paths[i]);
		if (!s)
			rc = diff(c, molt__strf("%s: only in the bundle",
						c->old.paths[i]));
		else if (strcmp(s, c->old.sums[i]) != 0)
			rc = diff(c,
				  molt__strf("%s: differs", c->old.paths[i]));
	}
	for (size_t i = 0; rc == MOLT_OK && i < c->new.n; i++)
		if (!sum_of(&c->old, c->new.paths[i]))
			rc = diff(c, molt__strf("%s: only in the rebuild",
						c->new.paths[i]));
	return rc;
}

/* A recorded fact that changed: "what: 'was' -> 'now'". */
static int compare_fact(struct check *c, const char *what, const char *was,
			const char *now)
{
	if (strcmp(was, now) == 0)
		return MOLT_OK;
	return diff(c, molt__strf("%s: '%s' -> '%s'", what, was, now));
}

static int compare_records(struct check *c)
{
	int rc;

	if ((rc = compare_fact(c, "source: commit of the tag", c->was.commit,
			       c->now.commit)) < 0 ||
	    (rc = compare_fact(c, "toolchain: compiler", c->was.cc,
			       c->now.cc)) < 0 ||
	    (rc = compare_fact(c, "toolchain: compiler version",
			       c->was.cc_version, c->now.cc_version)) < 0 ||
	    (rc = compare_fact(c, "toolchain: libc", c->was.libc,
			       c->now.libc)) < 0)
		return rc;
	return compare_fact(c, "source: signer", c->was.signer, c->now.signer);
}

/* The sum of the bundle as molt build wrote it: a signed bundle's
 * without its MANIFEST.sig (molt sign changes nothing else). */
static int unsigned_sum(struct check *c, char *out, const char *bundle)
{
	const char *msum = sum_of(&c->old, MOLT_MANIFEST_FILE);
	struct molt__put p = {MOLT_MANIFEST_FILE, msum, MOLT_SIG_FILE, NULL, 0};
	char path[MOLT__PATH_MAX];
	int rc;

	if (!msum || !sum_of(&c->old, MOLT_SIG_FILE))
		return molt__sha256_file(out, bundle, c->err);
	molt__pathf(path, "%s/unsigned.tar.gz", c->tmp);
	if ((rc = molt__archive_put(bundle, path, &p, c->err)) < 0)
		return rc;
	return molt__sha256_file(out, path, c->err);
}

static int check_run(struct check *c, const char *bundle, const char *repo,
		     molt_progress_fn progress, void *payload)
{
	char out[MOLT__PATH_MAX], sum[MOLT__SHA256_HEX];
	int rc;

	if ((rc = molt__mkdtemp(c->tmp, sizeof(c->tmp), molt__tmpdir(),
				"molt-check-", c->err)) < 0 ||
	    (rc = extract(c, &c->old, bundle, "bundle")) < 0 ||
	    (rc = read_record(c, &c->was, &c->old, "bundle", bundle)) < 0)
		return rc;
	snprintf(c->res->tag, sizeof(c->res->tag), "%s", c->was.tag);
	molt__pathf(out, "%s/rebuilt.tar.gz", c->tmp);
	if ((rc = rebuild(c, bundle, repo, out, progress, payload)) < 0 ||
	    (rc = unsigned_sum(c, sum, bundle)) < 0)
		return rc;
	if (strcmp(sum, c->res->sha256) == 0) {
		c->res->same = 1;
		return MOLT_OK;
	}
	if ((rc = extract(c, &c->new, out, "rebuilt")) < 0 ||
	    (rc = read_record(c, &c->now, &c->new, "rebuilt", out)) < 0 ||
	    (rc = compare_files(c)) < 0 || (rc = compare_records(c)) < 0)
		return rc;
	if (c->res->ndiffs == 0)
		rc = diff(c, molt_strdup("every file is the same: the archives "
					 "differ in their order, modes, owners "
					 "or times"));
	return rc;
}

int molt_release_check(molt_check_result *out, const char *bundle,
		       const char *repo, molt_progress_fn progress,
		       void *payload, molt_err *err)
{
	struct check c;
	int rc;

	if (!out || !bundle)
		return molt_err_set(err, MOLT_EINVAL,
				    "check needs a result and a bundle");
	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	c.res = out;
	c.err = err;
	rc = check_run(&c, bundle, repo, progress, payload);
	if (c.tmp[0])
		molt__rmrf(c.tmp);
	molt__extracted_release(&c.old);
	molt__extracted_release(&c.new);
	molt__relbuild_release(&c.was);
	molt__relbuild_release(&c.now);
	if (rc < 0)
		molt_check_result_release(out);
	return rc;
}

void molt_check_result_release(molt_check_result *r)
{
	if (!r)
		return;
	molt__strv_free(r->diffs, r->ndiffs);
	r->diffs = NULL;
	r->ndiffs = 0;
}
