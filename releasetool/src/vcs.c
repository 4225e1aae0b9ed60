/* Reading tags and trees with libgit2 (never the work tree, index or
 * HEAD). */
#include "vcs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "fsutil.h"

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

struct molt__vcs {
	git_repository *repo; /* the open repository */
};

static int git_fail(molt_err *err, int code, const char *what)
{
	const git_error *e = git_error_last();

	return molt_err_set(err, code, "%s: %s", what,
			    e && e->message ? e->message : "libgit2 error");
}

int molt__vcs_open(molt__vcs **out, const char *dir, molt_err *err)
{
	molt__vcs *v = molt_calloc(1, sizeof(*v));
	char what[MOLT__PATH_MAX + 40];

	if (!v)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	git_libgit2_init();
	if (git_repository_open_ext(&v->repo, dir,
				    GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0) {
		snprintf(what, sizeof(what), "'%s' is not a git repository",
			 dir);
		molt_free(v);
		git_libgit2_shutdown();
		return git_fail(err, MOLT_ENOTFOUND, what);
	}
	*out = v;
	return MOLT_OK;
}

void molt__vcs_free(molt__vcs *v)
{
	if (!v)
		return;
	git_repository_free(v->repo);
	molt_free(v);
	git_libgit2_shutdown();
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];

	if (la > 63)
		la = 63;
	if (lb > 63)
		lb = 63;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins)
					   : (del < ins ? del : ins);
		}
		memcpy(prev, cur, sizeof(cur));
	}
	return prev[lb];
}

struct near {
	size_t dist;	  /* edit distance to the wanted tag */
	const char *name; /* tag name, borrowed from the strarray */
};

static int cmp_near(const void *a, const void *b)
{
	const struct near *x = a, *y = b;

	if (x->dist != y->dist)
		return x->dist < y->dist ? -1 : 1;
	return strcmp(y->name, x->name); /* newer-looking names first */
}

int molt__vcs_nearest_tags(molt_buf *out, molt__vcs *v, const char *tag)
{
	git_strarray names = {0};
	struct near *n;
	size_t k = 0;

	if (git_tag_list(&names, v->repo) < 0 || names.count == 0) {
		git_strarray_dispose(&names);
		return molt_buf_puts(out, "none");
	}
	if (!(n = molt_calloc(names.count, sizeof(*n)))) {
		git_strarray_dispose(&names);
		return MOLT_ENOMEM;
	}
	for (size_t i = 0; i < names.count; i++)
		if (strcmp(names.strings[i], tag) != 0)
			n[k++] = (struct near){
				edit_distance(names.strings[i], tag),
				names.strings[i]};
	qsort(n, k, sizeof(*n), cmp_near);
	for (size_t i = 0; i < k && i < 5; i++)
		molt_buf_printf(out, "%s%s", i ? ", " : "", n[i].name);
	if (k == 0)
		molt_buf_puts(out, "none");
	molt_free(n);
	git_strarray_dispose(&names);
	return MOLT_OK;
}

static int tag_missing(molt__vcs *v, const char *tag, molt_err *err)
{
	molt_buf near = MOLT_BUF_INIT;

	molt__vcs_nearest_tags(&near, v, tag);
	molt_err_set(err, MOLT_ENOTFOUND,
		     "tag '%s' not found; nearest tags: %s", tag, near.ptr);
	molt_buf_release(&near);
	return MOLT_ENOTFOUND;
}

static int peel_tag(struct molt__source *src, molt__vcs *v, const char *tag,
		    const git_oid *target, molt_err *err)
{
	git_object *obj = NULL, *peeled = NULL;
	int rc = MOLT_OK;

	if (git_object_lookup(&obj, v->repo, target, GIT_OBJECT_ANY) < 0)
		return git_fail(err, MOLT_ERROR, tag);
	src->annotated = git_object_type(obj) == GIT_OBJECT_TAG;
	if (git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) < 0) {
		rc = molt_err_set(err, MOLT_ERROR,
				  "tag '%s' does not point to a commit", tag);
	} else {
		git_oid_tostr(src->commit, sizeof(src->commit),
			      git_object_id(peeled));
		src->time = (int64_t)git_commit_time((git_commit *)peeled);
	}
	git_object_free(peeled);
	git_object_free(obj);
	return rc;
}

int molt__vcs_resolve(struct molt__source *src, molt__vcs *v, const char *tag,
		      molt_err *err)
{
	char name[512];
	git_reference *ref = NULL, *res = NULL;
	int rc;

	if (snprintf(name, sizeof(name), "refs/tags/%s", tag) >=
		    (int)sizeof(name) ||
	    !git_reference_is_valid_name(name))
		return molt_err_set(err, MOLT_EINVAL, "'%s' is not a tag name",
				    tag);
	rc = git_reference_lookup(&ref, v->repo, name);
	if (rc == GIT_ENOTFOUND)
		return tag_missing(v, tag, err);
	if (rc < 0)
		return git_fail(err, MOLT_ERROR, tag);
	if (git_reference_resolve(&res, ref) < 0) {
		git_reference_free(ref);
		return git_fail(err, MOLT_ERROR, tag);
	}
	rc = peel_tag(src, v, tag, git_reference_target(res), err);
	git_reference_free(res);
	git_reference_free(ref);
	return rc;
}

static int commit_tree(git_tree **out, molt__vcs *v, const char *commit,
		       molt_err *err)
{
	git_oid oid;
	git_commit *c;
	int rc;

	if (git_oid_fromstr(&oid, commit) < 0 ||
	    git_commit_lookup(&c, v->repo, &oid) < 0)
		return git_fail(err, MOLT_ENOTFOUND, commit);
	rc = git_commit_tree(out, c);
	git_commit_free(c);
	return rc < 0 ? git_fail(err, MOLT_ERROR, commit) : MOLT_OK;
}

int molt__vcs_read_file(molt_buf *out, molt__vcs *v, const char *commit,
			const char *path, molt_err *err)
{
	git_tree *tree;
	git_tree_entry *e = NULL;
	git_blob *blob = NULL;
	int rc;

	if ((rc = commit_tree(&tree, v, commit, err)) < 0)
		return rc;
	if (git_tree_entry_bypath(&e, tree, path) < 0 ||
	    git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
		rc = molt_err_set(err, MOLT_ENOTFOUND,
				  "commit %.12s has no file '%s'", commit,
				  path);
	} else if (git_blob_lookup(&blob, v->repo, git_tree_entry_id(e)) < 0) {
		rc = git_fail(err, MOLT_ERROR, path);
	} else if (molt_buf_put(out, git_blob_rawcontent(blob),
				(size_t)git_blob_rawsize(blob)) < 0) {
		rc = molt_err_set(err, MOLT_ENOMEM, "out of memory");
	}
	git_blob_free(blob);
	git_tree_entry_free(e);
	git_tree_free(tree);
	return rc;
}

/* State of one export: where to, and the first error. */
struct export
{
	molt__vcs *v;	  /* the repository */
	const char *dest; /* directory written into */
	const char *tag;  /* what is exported, for messages */
	molt_err *err;	  /* first failure */
	int rc;		  /* its code */
};

#define LFS_POINTER "version https://git-lfs.github.com/spec/"

/* A Git LFS pointer (a small blob naming the real file, which is not in
 * the repository) is refused: building it would build the pointer. */
static int refuse_lfs(struct export *x, const char *root,
		      const git_tree_entry *e)
{
	git_blob *blob;
	int lfs;

	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB ||
	    git_tree_entry_filemode(e) == GIT_FILEMODE_LINK)
		return MOLT_OK;
	if (git_blob_lookup(&blob, x->v->repo, git_tree_entry_id(e)) < 0)
		return git_fail(x->err, MOLT_ERROR, git_tree_entry_name(e));
	lfs = git_blob_rawsize(blob) < 1024 &&
	      git_blob_rawsize(blob) >=
		      (git_object_size_t)strlen(LFS_POINTER) &&
	      memcmp(git_blob_rawcontent(blob), LFS_POINTER,
		     strlen(LFS_POINTER)) == 0;
	git_blob_free(blob);
	if (lfs)
		return molt_err_set(x->err, MOLT_EUNSAFE,
				    "'%s%s' in the tree at %s is a Git LFS "
				    "pointer, not the file: molt build does "
				    "not fetch LFS objects (commit the file "
				    "itself)",
				    root, git_tree_entry_name(e), x->tag);
	return MOLT_OK;
}

static int write_blob(struct export *x, const char *path,
		      const git_tree_entry *e)
{
	git_filemode_t mode = git_tree_entry_filemode(e);
	git_blob *blob;
	const char *data;
	size_t len;
	int fd;

	if (git_blob_lookup(&blob, x->v->repo, git_tree_entry_id(e)) < 0)
		return git_fail(x->err, MOLT_ERROR, path);
	data = git_blob_rawcontent(blob);
	len = (size_t)git_blob_rawsize(blob);
	if (mode == GIT_FILEMODE_LINK) {
		/* only links that stay inside the tree: relative, no ".." */
		char target[MOLT__PATH_MAX];

		snprintf(target, sizeof(target), "%.*s", (int)len, data);
		git_blob_free(blob);
		if (!molt__relpath_ok(target) || symlink(target, path) < 0)
			return molt_err_set(x->err, MOLT_EUNSAFE,
					    "symlink '%s' -> '%s' is not "
					    "allowed in a release source",
					    path, target);
		return MOLT_OK;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		  mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
		int e2 = errno;

		if (fd >= 0)
			close(fd);
		git_blob_free(blob);
		return molt_err_set(x->err, MOLT_EIO, "write '%s': %s", path,
				    strerror(e2));
	}
	close(fd);
	git_blob_free(blob);
	return MOLT_OK;
}

static int export_entry(const char *root, const git_tree_entry *e,
			void *payload)
{
	struct export *x = payload;
	const char *name = git_tree_entry_name(e);
	char path[MOLT__PATH_MAX];

	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    strchr(name, '/')) {
		x->rc = molt_err_set(x->err, MOLT_EUNSAFE,
				     "tree entry '%s%s' is not allowed", root,
				     name);
		return -1;
	}
	if ((x->rc = molt__path(path, sizeof(path), x->err, "%s/%s%s", x->dest,
				root, name)) < 0)
		return -1;
	if ((x->rc = refuse_lfs(x, root, e)) < 0)
		return -1;
	switch (git_tree_entry_type(e)) {
	case GIT_OBJECT_TREE:
		if (mkdir(path, 0755) < 0) {
			x->rc = molt_err_set(x->err, MOLT_EIO, "mkdir '%s': %s",
					     path, strerror(errno));
			return -1;
		}
		return 0;
	case GIT_OBJECT_BLOB:
		x->rc = write_blob(x, path, e);
		return x->rc < 0 ? -1 : 0;
	case GIT_OBJECT_COMMIT:
		x->rc = molt_err_set(x->err, MOLT_EUNSAFE,
				     "'%s%s' in the tree at %s is a submodule: "
				     "molt build does not fetch submodules "
				     "(vendor the code into the repository)",
				     root, name, x->tag);
		return -1;
	default:
		x->rc = molt_err_set(x->err, MOLT_EUNSAFE,
				     "tree entry '%s%s' at %s: unknown type",
				     root, name, x->tag);
		return -1;
	}
}

int molt__vcs_export(molt__vcs *v, const char *commit, const char *tag,
		     const char *dest, molt_err *err)
{
	struct export x = {v, dest, tag, err, MOLT_OK};
	git_tree *tree;
	int rc;

	if ((rc = commit_tree(&tree, v, commit, err)) < 0)
		return rc;
	rc = git_tree_walk(tree, GIT_TREEWALK_PRE, export_entry, &x);
	git_tree_free(tree);
	if (x.rc < 0)
		return x.rc;
	return rc < 0 ? git_fail(err, MOLT_ERROR, "tree walk") : MOLT_OK;
}

/* ---- signed tags: git verify-tag ---- */

/* The signer in git verify-tag --raw's output: SSH's "Good "git"
 * signature for WHO with KEY", or GnuPG's GOODSIG and VALIDSIG lines. */
static void find_signer(char *out, size_t size, const char *text)
{
	static const char ssh[] = "Good \"git\" signature for ";
	const char *p, *good, *valid;

	out[0] = '\0';
	if ((p = strstr(text, ssh))) {
		p += strlen(ssh);
		snprintf(out, size, "ssh: %.*s", (int)strcspn(p, "\n"), p);
		return;
	}
	good = strstr(text, "[GNUPG:] GOODSIG ");
	valid = strstr(text, "[GNUPG:] VALIDSIG ");
	if (good && valid) {
		good += strlen("[GNUPG:] GOODSIG ");
		good += strcspn(good, " \n");
		good += *good == ' ';
		valid += strlen("[GNUPG:] VALIDSIG ");
		snprintf(out, size, "gpg: %.*s, key %.*s",
			 (int)strcspn(good, "\n"), good,
			 (int)strcspn(valid, " \n"), valid);
	}
}

/* The last non-empty line of text, for messages. */
static void last_line(char *out, size_t size, const char *text)
{
	size_t n = strlen(text), start;

	while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
		n--;
	start = n;
	while (start && text[start - 1] != '\n')
		start--;
	snprintf(out, size, "%.*s", (int)(n - start), text + start);
}

int molt__vcs_verify_tag(char *signer, size_t size, const char *repo,
			 const char *tag, int annotated, molt_err *err)
{
	char ref[600], why[200];
	const char *argv[] = {"git",   "-C", repo, "verify-tag",
			      "--raw", ref,  NULL};
	molt_buf out = MOLT_BUF_INIT;
	molt_err e2 = MOLT_ERR_INIT;
	int rc;

	if (!annotated)
		return molt_err_set(err, MOLT_EUNSAFE,
				    "tag '%s' is not signed: a lightweight tag "
				    "cannot carry a signature "
				    "(--require-signed-tag)",
				    tag);
	snprintf(ref, sizeof(ref), "refs/tags/%s", tag);
	rc = molt__run_capture(argv, NULL, &out, "git verify-tag", &e2);
	last_line(why, sizeof(why), out.ptr ? out.ptr : "");
	if (rc < 0)
		rc = molt_err_set(err, MOLT_EUNSAFE,
				  "tag '%s' is not signed by a trusted key "
				  "(--require-signed-tag): git verify-tag: %s",
				  tag, *why ? why : e2.msg);
	else if (find_signer(signer, size, out.ptr), !*signer)
		rc = molt_err_set(err, MOLT_EUNSAFE,
				  "tag '%s': git verify-tag accepted it but "
				  "named no signer: %s",
				  tag, why);
	molt_buf_release(&out);
	return rc;
}
