/* molt_release_build: from a git tag to a reproducible NAME-VSN.tar.gz. */
#include "build.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "molt/buf.h"
#include "molt/release.h"

#include "archive_io.h"
#include "build_int.h"
#include "fsutil.h"
#include "manifest.h"
#include "modinfo.h"
#include "relup_step.h"
#include "sha256.h"
#include "vcs.h"

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

static void stage_clear(struct stage *s)
{
	molt__project_release(&s->proj);
	molt_free(s->has_appup);
	s->has_appup = NULL;
}

void molt__build_progress(const struct build *b, double t0, const char *fmt,
			  ...)
{
	char step[512];
	va_list ap;

	if (!b->opts->progress)
		return;
	va_start(ap, fmt);
	vsnprintf(step, sizeof(step), fmt, ap);
	va_end(ap);
	b->opts->progress(step, molt__now_ms() - t0, b->opts->payload);
}

/* ---- compiling one application ---- */

static int compile_module(struct build *b, const struct stage *s,
			  const struct molt__appsrc *app,
			  const struct molt__modsrc *m, const char *out)
{
	char appdir[MOLT__PATH_MAX], maps[2][MOLT__PATH_MAX + 32], what[160];
	size_t n = 0, cap = b->ncflags + app->ncflags + m->nsources + 7;
	const char **argv = molt_calloc(cap, sizeof(*argv));
	char **envp = NULL;
	int rc;

	if (!argv)
		return molt_err_set(b->err, MOLT_ENOMEM, "out of memory");
	molt__pathf(appdir, "%s/%s", s->src_dir, app->dir);
	molt__pathf(what, "module '%s' of '%s'", m->name, app->name);
	if ((rc = molt__build_prefix_maps(maps, appdir)) < 0 ||
	    (rc = molt__build_envp(&envp, b, s, appdir, NULL)) < 0)
		goto out;
	argv[n++] = b->cc;
	for (size_t i = 0; i < b->ncflags; i++)
		argv[n++] = b->cflags[i];
	for (size_t i = 0; i < app->ncflags; i++)
		argv[n++] = app->cflags[i];
	argv[n++] = maps[0];
	argv[n++] = maps[1];
	argv[n++] = "-o";
	argv[n++] = out;
	for (size_t i = 0; i < m->nsources; i++)
		argv[n++] = m->sources[i];
	rc = molt__run_clean(argv, appdir, (const char *const *)envp, NULL,
			     what, b->err);
out:
	molt__build_envp_free(envp);
	molt_free(argv);
	return rc;
}

static int run_build_command(struct build *b, const struct stage *s,
			     const struct molt__appsrc *app, const char *mods)
{
	char appdir[MOLT__PATH_MAX], what[160], **envp = NULL;
	molt_buf cflags = MOLT_BUF_INIT, e_cc = MOLT_BUF_INIT,
		 e_out = MOLT_BUF_INIT, e_app = MOLT_BUF_INIT,
		 e_vsn = MOLT_BUF_INIT;
	const char *argv[] = {"/bin/sh", "-c", app->build, NULL};
	int rc;

	molt__pathf(appdir, "%s/%s", s->src_dir, app->dir);
	molt__pathf(what, "build command of '%s'", app->name);
	molt_buf_puts(&cflags, "MOLT_CFLAGS=");
	for (size_t i = 0; i < b->ncflags; i++)
		molt_buf_printf(&cflags, "%s%s", i ? " " : "", b->cflags[i]);
	/* the wrapper: the prefix maps come with every compile */
	molt_buf_printf(&e_cc, "MOLT_CC=%s/cc", b->toolbin);
	molt_buf_printf(&e_out, "MOLT_OUT_DIR=%s", mods);
	molt_buf_printf(&e_app, "MOLT_APP=%s", app->name);
	molt_buf_printf(&e_vsn, "MOLT_APP_VSN=%s", app->vsn);
	{
		const char *env[] = {cflags.ptr, e_cc.ptr,  e_out.ptr,
				     e_app.ptr,	 e_vsn.ptr, NULL};

		rc = molt__build_envp(&envp, b, s, appdir, env);
		if (rc == MOLT_OK)
			rc = molt__run_clean(argv, appdir,
					     (const char *const *)envp, NULL,
					     what, b->err);
	}
	molt__build_envp_free(envp);
	molt_buf_release(&cflags);
	molt_buf_release(&e_cc);
	molt_buf_release(&e_out);
	molt_buf_release(&e_app);
	molt_buf_release(&e_vsn);
	return rc;
}

static int copy_file(const char *from, const char *to, molt_err *err)
{
	molt_buf b = MOLT_BUF_INIT;
	struct stat st;
	int fd, rc;

	if ((rc = molt_buf_read_file(&b, from, err)) < 0)
		return rc;
	rc = stat(from, &st);
	fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		  rc == 0 && (st.st_mode & 0111) ? 0755 : 0644);
	if (fd < 0 || write(fd, b.ptr, b.len) != (ssize_t)b.len) {
		rc = molt_err_set(err, MOLT_EIO, "write '%s': %s", to,
				  strerror(errno));
	} else {
		rc = MOLT_OK;
	}
	if (fd >= 0)
		close(fd);
	molt_buf_release(&b);
	return rc;
}

static int copy_tree(const char *from, const char *to, molt_err *err)
{
	char **files, a[MOLT__PATH_MAX], b[MOLT__PATH_MAX], *slash;
	size_t n;
	int rc;

	if ((rc = molt__list_files(&files, &n, from, err)) < 0)
		return rc;
	for (size_t i = 0; rc == MOLT_OK && i < n; i++) {
		molt__pathf(a, "%s/%s", from, files[i]);
		if ((rc = molt__path(b, sizeof(b), err, "%s/%s", to,
				     files[i])) < 0)
			break;
		slash = strrchr(b, '/');
		*slash = '\0';
		rc = molt__mkdir_p(b, 0755, err);
		*slash = '/';
		if (rc == MOLT_OK)
			rc = copy_file(a, b, err);
	}
	molt__strv_free(files, n);
	return rc;
}

/* The appup named in molt.json, or NAME.appup / appup.json in the app's
 * directory. Copies it into lib and its file name into name (size 160),
 * "" if there is none. */
static int take_appup(struct build *b, const struct stage *s,
		      const struct molt__appsrc *app, const char *lib,
		      char *name)
{
	char from[MOLT__PATH_MAX], to[MOLT__PATH_MAX], dflt[160];
	const char *cand[2] = {dflt, "appup.json"};
	const char *pick = NULL;

	name[0] = '\0';
	molt__pathf(dflt, "%s.appup", app->name);
	if (app->appup) {
		molt__pathf(from, "%s/%s/%s", s->src_dir, app->dir, app->appup);
		if (!molt__exists(from))
			return molt_err_set(b->err, MOLT_ENOTFOUND,
					    "application '%s': appup '%s/%s' "
					    "named in molt.json is not in the "
					    "tree at %s",
					    app->name, app->dir, app->appup,
					    s->tag);
		pick = app->appup;
	}
	for (size_t i = 0; !pick && i < 2; i++) {
		molt__pathf(from, "%s/%s/%s", s->src_dir, app->dir, cand[i]);
		if (molt__exists(from))
			pick = cand[i];
	}
	if (!pick)
		return MOLT_OK;
	/* a copy: pick may be dflt, which dies with this call */
	snprintf(name, 160, "%s",
		 strrchr(pick, '/') ? strrchr(pick, '/') + 1 : pick);
	molt__pathf(to, "%s/%s", lib, name);
	return copy_file(from, to, b->err);
}

static int build_modules(struct build *b, const struct stage *s,
			 const struct molt__appsrc *app, const char *mods,
			 struct molt__modinfo *info)
{
	char so[MOLT__PATH_MAX];
	int rc = MOLT_OK;

	if (app->build && (rc = run_build_command(b, s, app, mods)) < 0)
		return rc;
	for (size_t i = 0; i < app->nmods; i++) {
		const struct molt__modsrc *m = &app->mods[i];

		if ((rc = molt__path(so, sizeof(so), b->err, "%s/%s.so", mods,
				     m->name)) < 0)
			return rc;
		if (!app->build && (rc = compile_module(b, s, app, m, so)) < 0)
			return rc;
		if (app->build && !molt__exists(so))
			return molt_err_set(b->err, MOLT_ENOTFOUND,
					    "application '%s': the build "
					    "command made no %s.so in "
					    "$MOLT_OUT_DIR",
					    app->name, m->name);
		if ((rc = molt__modinfo_read(&info[i], so, m->name, b->err)) <
		    0)
			return rc;
	}
	return MOLT_OK;
}

static int build_app(struct build *b, struct stage *s,
		     const struct molt__appsrc *app)
{
	char lib[MOLT__PATH_MAX], mods[MOLT__PATH_MAX], path[MOLT__PATH_MAX];
	struct molt__modinfo *info = molt_calloc(app->nmods, sizeof(*info));
	char appup_name[160] = "";
	const char *appup = NULL;
	double t0 = molt__now_ms();
	int rc;

	if (!info)
		return molt_err_set(b->err, MOLT_ENOMEM, "out of memory");
	molt__pathf(lib, "%s/lib/%s-%s", s->root, app->name, app->vsn);
	molt__pathf(mods, "%s/" MOLT_MODULES_DIR, lib);
	if ((rc = molt__mkdir_p(mods, 0755, b->err)) < 0 ||
	    (rc = build_modules(b, s, app, mods, info)) < 0 ||
	    (rc = take_appup(b, s, app, lib, appup_name)) < 0)
		goto out;
	appup = *appup_name ? appup_name : NULL;
	if (app->priv) {
		molt__pathf(path, "%s/%s/%s", s->src_dir, app->dir, app->priv);
		molt__pathf(mods, "%s/priv", lib);
		if ((rc = copy_tree(path, mods, b->err)) < 0)
			goto out;
	}
	molt__pathf(path, "%s/" MOLT_APP_FILE, lib);
	rc = molt__app_json_write(path, app, info, appup, b->err);
	s->has_appup[app - s->proj.apps] = appup != NULL;
	molt__build_progress(b, t0, "%s: built %s-%s (%zu modules%s)", s->tag,
			     app->name, app->vsn, app->nmods,
			     appup ? ", appup" : ", no appup");
out:
	molt_free(info);
	return rc;
}

/* ---- staging a release ---- */

static int vsn_from_tag(char *out, size_t size, const char *tag, molt_err *err)
{
	const char *v = (tag[0] == 'v' && tag[1] >= '0' && tag[1] <= '9')
				? tag + 1
				: tag;

	if (!molt__name_ok(v) || strlen(v) >= size)
		return molt_err_set(err, MOLT_EINVAL,
				    "tag '%s' does not name a version "
				    "(letters, digits and ._+-)",
				    tag);
	memcpy(out, v, strlen(v) + 1);
	return MOLT_OK;
}

static int read_project(struct build *b, struct stage *s)
{
	molt_buf text = MOLT_BUF_INIT, near = MOLT_BUF_INIT;
	char file[300];
	int rc = molt__vcs_read_file(&text, b->vcs, s->src.commit, "molt.json",
				     b->err);

	if (rc == MOLT_ENOTFOUND) {
		molt__vcs_nearest_tags(&near, b->vcs, s->tag);
		molt_err_set(b->err, MOLT_ENOTFOUND,
			     "tag '%s' (commit %.12s) has no molt.json at its "
			     "root; nearest tags: %s",
			     s->tag, s->src.commit, near.ptr);
		molt_buf_release(&near);
	}
	molt__pathf(file, "molt.json at %s", s->tag);
	if (rc == MOLT_OK)
		rc = molt__project_parse(&s->proj, text.ptr, text.len, file,
					 s->vsn, b->err);
	molt_buf_release(&text);
	s->src.repo = rc == MOLT_OK ? s->proj.repo : NULL;
	return rc;
}

static int write_release(struct build *b, struct stage *s)
{
	char dir[MOLT__PATH_MAX], path[MOLT__PATH_MAX], **envp = NULL;
	struct molt__buildinfo bi;
	int rc;

	molt__pathf(dir, "%s/releases/%s", s->root, s->vsn);
	if ((rc = molt__mkdir_p(dir, 0755, b->err)) < 0 ||
	    (rc = molt__path(path, sizeof(path), b->err,
			     "%s/" MOLT_RELEASE_FILE, dir)) < 0 ||
	    (rc = molt__build_envp(&envp, b, s, NULL, NULL)) < 0)
		return rc;
	molt__build_info(&bi, b);
	bi.env = envp;
	while (envp[bi.nenv])
		bi.nenv++;
	rc = molt__release_json_write(path, &s->proj, s->vsn, &s->src, s->relup,
				      &bi, b->err);
	molt__build_envp_free(envp);
	return rc;
}

/* --require-signed-tag: git verify-tag accepts the tag; its signer goes
 * into release.json. */
static int verify_tag(struct build *b, struct stage *s)
{
	double t0 = molt__now_ms();
	int rc;

	if ((rc = molt__vcs_verify_tag(s->signer, sizeof(s->signer),
				       b->opts->repo, s->tag, s->src.annotated,
				       b->err)) < 0)
		return rc;
	s->src.signer = s->signer;
	molt__build_progress(b, t0, "%s: signed by %s", s->tag, s->signer);
	return MOLT_OK;
}

/* Resolve, export and build the release at tag under tmp/label. */
static int stage_release(struct build *b, struct stage *s, const char *tag,
			 const char *label)
{
	double t0 = molt__now_ms();
	int rc;

	memset(s, 0, sizeof(*s));
	s->tag = tag;
	s->src.tag = tag;
	if ((rc = vsn_from_tag(s->vsn, sizeof(s->vsn), tag, b->err)) < 0 ||
	    (rc = molt__vcs_resolve(&s->src, b->vcs, tag, b->err)) < 0)
		return rc;
	molt__build_progress(b, t0, "%s: %s tag -> commit %.12s", tag,
			     s->src.annotated ? "annotated" : "lightweight",
			     s->src.commit);
	if (b->opts->require_signed_tag && (rc = verify_tag(b, s)) < 0)
		return rc;
	t0 = molt__now_ms();
	if ((rc = read_project(b, s)) < 0)
		return rc;
	/* the toolchain is the built tag's (its molt.json), for every stage */
	if (!b->cc && (rc = molt__build_toolchain(b, &s->proj)) < 0)
		return rc;
	if (!(s->has_appup = molt_calloc(s->proj.napps + 1, 1)))
		return molt_err_set(b->err, MOLT_ENOMEM, "out of memory");
	molt__pathf(s->src_dir, "%s/%s-src", b->tmp, label);
	molt__pathf(s->root, "%s/%s", b->tmp, label);
	if ((rc = molt__mkdir_p(s->src_dir, 0755, b->err)) < 0 ||
	    (rc = molt__mkdir_p(s->root, 0755, b->err)) < 0 ||
	    (rc = molt__vcs_export(b->vcs, s->src.commit, s->tag, s->src_dir,
				   b->err)) < 0)
		return rc;
	molt__build_progress(b, t0, "%s: exported the tree", tag);
	for (size_t i = 0; i < s->proj.napps; i++)
		if ((rc = build_app(b, s, &s->proj.apps[i])) < 0)
			return rc;
	return write_release(b, s);
}

/* ---- relup, manifest, packing ---- */

static int make_relup(struct build *b, struct stage *to)
{
	size_t n = b->opts->nrelup_from;
	struct stage *from = molt_calloc(n, sizeof(*from));
	const char **roots = molt_calloc(n, sizeof(*roots));
	const char **vsns = molt_calloc(n, sizeof(*vsns));
	char label[32], path[MOLT__PATH_MAX], *json = NULL;
	double t0;
	int rc = MOLT_OK;

	if (!from || !roots || !vsns)
		rc = molt_err_set(b->err, MOLT_ENOMEM, "out of memory");
	for (size_t i = 0; rc == MOLT_OK && i < n; i++) {
		molt__pathf(label, "from%zu", i);
		rc = stage_release(b, &from[i], b->opts->relup_from[i], label);
		roots[i] = from[i].root;
		vsns[i] = from[i].vsn;
	}
	if (rc == MOLT_OK)
		rc = molt__build_gen_appups(b, to, from, n);
	t0 = molt__now_ms();
	if (rc == MOLT_OK)
		rc = molt__build_relup(&json, to->root, to->vsn, roots, vsns, n,
				       b->err);
	if (rc == MOLT_OK)
		rc = molt__path(path, sizeof(path), b->err,
				"%s/releases/%s/" MOLT_RELUP_FILE, to->root,
				to->vsn);
	if (rc == MOLT_OK)
		rc = molt_write_file_atomic(path, json, strlen(json), b->err);
	if (rc == MOLT_OK) {
		to->relup = 1;
		molt__build_progress(b, t0, "%s: relup from %zu release(s)",
				     to->tag, n);
		rc = write_release(b, to);
	}
	for (size_t i = 0; from && i < n; i++)
		stage_clear(&from[i]);
	molt_free(json);
	molt_free(from);
	molt_free(roots);
	molt_free(vsns);
	return rc;
}

/* Write root/MANIFEST.sha256 ("SUM  PATH" lines, sorted, as sha256sum
 * prints them) and return every file of root, sorted, in *files. */
static int write_manifest(struct build *b, const char *root, char ***files,
			  size_t *n)
{
	molt_buf m = MOLT_BUF_INIT;
	char path[MOLT__PATH_MAX], sum[MOLT__SHA256_HEX];
	int rc;

	if ((rc = molt__list_files(files, n, root, b->err)) < 0)
		return rc;
	for (size_t i = 0; rc == MOLT_OK && i < *n; i++) {
		molt__pathf(path, "%s/%s", root, (*files)[i]);
		if ((rc = molt__sha256_file(sum, path, b->err)) == MOLT_OK &&
		    molt_buf_printf(&m, "%s  %s\n", sum, (*files)[i]) < 0)
			rc = molt_err_set(b->err, MOLT_ENOMEM, "out of memory");
	}
	molt__strv_free(*files, *n);
	*files = NULL;
	*n = 0;
	if (rc == MOLT_OK)
		rc = molt__path(path, sizeof(path), b->err,
				"%s/" MOLT_MANIFEST_FILE, root);
	if (rc == MOLT_OK)
		rc = molt_write_file_atomic(path, m.ptr, m.len, b->err);
	molt_buf_release(&m);
	if (rc == MOLT_OK)
		rc = molt__list_files(files, n, root, b->err);
	return rc;
}

/* -o: an existing directory or one ending in '/' (made if needed) gets
 * NAME-VSN.tar.gz; anything else is the bundle's path. */
static int out_path(char *out, size_t size, const molt_build_options *o,
		    const struct stage *s, molt_err *err)
{
	struct stat sb;
	const char *dir = o->out ? o->out : ".";
	size_t n = strlen(dir);
	int rc;

	if (n && dir[n - 1] == '/' && (rc = molt__mkdir_p(dir, 0755, err)) < 0)
		return rc;
	if (o->out && !(n && dir[n - 1] == '/') &&
	    (stat(o->out, &sb) < 0 || !S_ISDIR(sb.st_mode)))
		return molt__path(out, size, err, "%s", o->out);
	return molt__path(out, size, err, "%s%s%s-%s.tar.gz", dir,
			  n && dir[n - 1] == '/' ? "" : "/", s->proj.release,
			  s->vsn);
}

static int pack(struct build *b, struct stage *s, molt_build_result *res)
{
	char **files = NULL, tmp[MOLT__PATH_MAX];
	size_t n = 0;
	double t0 = molt__now_ms();
	struct stat st;
	int rc;

	if ((rc = write_manifest(b, s->root, &files, &n)) < 0 ||
	    (rc = out_path(res->path, sizeof(res->path), b->opts, s, b->err)) <
		    0 ||
	    (rc = molt__path(tmp, sizeof(tmp), b->err, "%s.tmp%ld", res->path,
			     (long)getpid())) < 0)
		goto out;
	rc = molt__archive_pack(tmp, s->root, files, n, s->src.time, b->err);
	if (rc == MOLT_OK && rename(tmp, res->path) < 0)
		rc = molt_err_set(b->err, MOLT_EIO, "rename to '%s': %s",
				  res->path, strerror(errno));
	if (rc < 0) {
		unlink(tmp);
		goto out;
	}
	res->files = n - 1; /* the manifest does not list itself */
	if ((rc = molt__sha256_file(res->sha256, res->path, b->err)) ==
		    MOLT_OK &&
	    stat(res->path, &st) == 0)
		res->size = (uint64_t)st.st_size;
	molt__build_progress(b, t0, "packed %s (%zu files, %llu bytes)",
			     res->path, n, (unsigned long long)res->size);
out:
	molt__strv_free(files, n);
	return rc;
}

static void fill_result(molt_build_result *res, const struct stage *s)
{
	snprintf(res->name, sizeof(res->name), "%s", s->proj.release);
	snprintf(res->vsn, sizeof(res->vsn), "%s", s->vsn);
	memcpy(res->commit, s->src.commit, sizeof(res->commit));
	res->commit_time = s->src.time;
	res->annotated = s->src.annotated;
	res->relup = s->relup;
}

/* The compiler flags, the repository and the temporary directory. */
static int build_open(struct build *b)
{
	int rc;

	if ((rc = molt__vcs_open(&b->vcs, b->opts->repo, b->err)) < 0)
		return rc;
	return molt__mkdtemp(b->tmp, sizeof(b->tmp), molt__tmpdir(),
			     "molt-build-", b->err);
}

static void build_close(struct build *b)
{
	if (b->tmp[0])
		molt__rmrf(b->tmp);
	molt__vcs_free(b->vcs);
	molt__strv_free(b->cflags, b->ncflags);
	molt__strv_free(b->env, b->nenv);
}

static int build_run(struct build *b, molt_build_result *res)
{
	struct stage s;
	int rc;

	if ((rc = build_open(b)) < 0)
		return rc;
	rc = stage_release(b, &s, b->opts->tag, "release");
	if (rc == MOLT_OK && b->opts->nrelup_from)
		rc = make_relup(b, &s);
	if (rc == MOLT_OK)
		rc = pack(b, &s, res);
	if (rc == MOLT_OK)
		fill_result(res, &s);
	stage_clear(&s);
	return rc;
}

int molt_release_build(molt_build_result *out, const molt_build_options *opts,
		       molt_err *err)
{
	struct build b = {.opts = opts, .err = err};
	molt_build_result local;
	mode_t old_mask;
	int rc;

	if (!opts || !opts->repo || !opts->tag)
		return molt_err_set(err, MOLT_EINVAL,
				    "build needs a repository and a tag");
	if (!out)
		out = &local;
	memset(out, 0, sizeof(*out));
	old_mask = umask(022); /* what molt writes, as every step's children */
	rc = build_run(&b, out);
	build_close(&b);
	umask(old_mask);
	return rc;
}

/* ---- staging tags for others (build.h) ---- */

static int stage_all(struct build *b, struct stage *st, const char **roots,
		     const char *const *tags, size_t n)
{
	char label[32];
	int rc = MOLT_OK;

	for (size_t i = 0; rc == MOLT_OK && i < n; i++) {
		molt__pathf(label, "tag%zu", i);
		rc = stage_release(b, &st[i], tags[i], label);
		roots[i] = st[i].root;
	}
	return rc;
}

int molt__build_stage_tags(const molt_build_options *opts,
			   const char *const *tags, size_t ntags,
			   molt__staged_fn fn, void *payload, molt_err *err)
{
	struct build b = {.opts = opts, .err = err};
	struct stage *st = molt_calloc(ntags ? ntags : 1, sizeof(*st));
	const char **roots = molt_calloc(ntags ? ntags : 1, sizeof(*roots));
	int rc;

	if (!opts || !opts->repo || !ntags)
		rc = molt_err_set(err, MOLT_EINVAL,
				  "staging needs a repository and tags");
	else if (!st || !roots)
		rc = molt_err_set(err, MOLT_ENOMEM, "out of memory");
	else if ((rc = build_open(&b)) == MOLT_OK &&
		 (rc = stage_all(&b, st, roots, tags, ntags)) == MOLT_OK)
		rc = fn(roots, ntags, payload, err);
	for (size_t i = 0; st && i < ntags; i++)
		stage_clear(&st[i]);
	build_close(&b);
	molt_free(st);
	molt_free(roots);
	return rc;
}
