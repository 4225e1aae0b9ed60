/* release.json, app.json and RELEASES.json: writing and reading them. */
#include "manifest.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "fsutil.h"
#include "json.h"

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

static const char *behaviour_name(uint32_t b)
{
	return b == 1 ? "server" : "unknown";
}

static cJSON *module_json(const struct molt__modsrc *src,
			  const struct molt__modinfo *m)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *ex = cJSON_CreateArray();
	char file[128];

	snprintf(file, sizeof(file), MOLT_MODULES_DIR "/%s.so", src->name);
	cJSON_AddStringToObject(o, "name", m->name);
	cJSON_AddStringToObject(o, "vsn", m->vsn);
	cJSON_AddStringToObject(o, "behaviour", behaviour_name(m->behaviour));
	cJSON_AddNumberToObject(o, "state_vsn", m->state_vsn);
	cJSON_AddBoolToObject(o, "code_change", m->code_change);
	for (size_t i = 0; i < m->nexports; i++)
		molt__json_push(ex, cJSON_CreateString(m->exports[i]));
	molt__json_add(o, "exports", ex);
	cJSON_AddStringToObject(o, "file", file);
	cJSON_AddStringToObject(o, "sha256", m->sha256);
	return o;
}

/* The supervisor with OTP's defaults filled in. */
static cJSON *supervisor_json(const cJSON *sup)
{
	const cJSON *v, *ch;
	cJSON *o = cJSON_CreateObject(), *children = cJSON_CreateArray();

	v = cJSON_GetObjectItemCaseSensitive(sup, "strategy");
	cJSON_AddStringToObject(o, "strategy",
				v ? v->valuestring : "one_for_one");
	v = cJSON_GetObjectItemCaseSensitive(sup, "intensity");
	cJSON_AddNumberToObject(o, "intensity", v ? v->valuedouble : 1);
	v = cJSON_GetObjectItemCaseSensitive(sup, "period");
	cJSON_AddNumberToObject(o, "period", v ? v->valuedouble : 5);
	if ((v = cJSON_GetObjectItemCaseSensitive(sup, "name")))
		cJSON_AddStringToObject(o, "name", v->valuestring);
	cJSON_ArrayForEach(ch,
			   cJSON_GetObjectItemCaseSensitive(sup, "children"))
	{
		cJSON *c = cJSON_CreateObject();
		const cJSON *args =
			cJSON_GetObjectItemCaseSensitive(ch, "args");

		v = cJSON_GetObjectItemCaseSensitive(ch, "id");
		cJSON_AddStringToObject(c, "id", v->valuestring);
		v = cJSON_GetObjectItemCaseSensitive(ch, "module");
		cJSON_AddStringToObject(c, "module", v->valuestring);
		molt__json_add(c, "args",
			       args ? cJSON_Duplicate(args, 1)
				    : cJSON_CreateString(""));
		v = cJSON_GetObjectItemCaseSensitive(ch, "restart");
		cJSON_AddStringToObject(c, "restart",
					v ? v->valuestring : "permanent");
		molt__json_push(children, c);
	}
	molt__json_add(o, "children", children);
	return o;
}

static cJSON *dup_or(const cJSON *obj, const char *key, cJSON *dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!v)
		return dflt;
	cJSON_Delete(dflt);
	return cJSON_Duplicate(v, 1);
}

static int app_json_write(const char *path, const struct molt__appsrc *app,
			  const struct molt__modinfo *mods, const char *appup,
			  molt_err *err)
{
	const cJSON *src = app->json;
	const cJSON *desc =
		cJSON_GetObjectItemCaseSensitive(src, "description");
	const cJSON *sup = cJSON_GetObjectItemCaseSensitive(src, "supervisor");
	cJSON *o = cJSON_CreateObject(), *ms = cJSON_CreateArray();

	cJSON_AddNumberToObject(o, "format", MOLT_APP_FORMAT);
	cJSON_AddStringToObject(o, "name", app->name);
	cJSON_AddStringToObject(o, "vsn", app->vsn);
	cJSON_AddStringToObject(o, "description",
				cJSON_IsString(desc) ? desc->valuestring : "");
	for (size_t i = 0; i < app->nmods; i++)
		molt__json_push(ms, module_json(&app->mods[i], &mods[i]));
	molt__json_add(o, "modules", ms);
	molt__json_add(o, "deps", dup_or(src, "deps", cJSON_CreateArray()));
	molt__json_add(o, "env", dup_or(src, "env", cJSON_CreateObject()));
	if (sup)
		molt__json_add(o, "supervisor", supervisor_json(sup));
	if (appup)
		cJSON_AddStringToObject(o, "appup", appup);
	return molt__json_write(path, o, err);
}

int molt__app_json_write(const char *path, const struct molt__appsrc *app,
			 const struct molt__modinfo *mods, const char *appup,
			 molt_err *err)
{
	molt__json_begin();
	return app_json_write(path, app, mods, appup, err);
}

int molt__app_json_set_appup(const char *path, const char *appup, int generated,
			     molt_err *err)
{
	struct molt__jctx c = {path, err};
	cJSON *j;

	molt__json_begin();
	if (!(j = molt__json_read(path, &c)))
		return err ? err->code : MOLT_EPARSE;
	cJSON_DeleteItemFromObjectCaseSensitive(j, "appup");
	cJSON_DeleteItemFromObjectCaseSensitive(j, "appup_generated");
	cJSON_AddStringToObject(j, "appup", appup);
	if (generated)
		cJSON_AddTrueToObject(j, "appup_generated");
	return molt__json_write(path, j, err);
}

static cJSON *source_json(const struct molt__source *src)
{
	cJSON *o = cJSON_CreateObject();
	char when[32];
	time_t t = (time_t)src->time;
	struct tm tm;

	if (src->repo)
		cJSON_AddStringToObject(o, "repo", src->repo);
	cJSON_AddStringToObject(o, "tag", src->tag);
	cJSON_AddStringToObject(o, "tag_type",
				src->annotated ? "annotated" : "lightweight");
	cJSON_AddStringToObject(o, "commit", src->commit);
	cJSON_AddNumberToObject(o, "commit_time", (double)src->time);
	if (gmtime_r(&t, &tm) &&
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
		cJSON_AddStringToObject(o, "commit_date", when);
	if (src->signer)
		cJSON_AddStringToObject(o, "signer", src->signer);
	return o;
}

static cJSON *strings_json(char *const *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < n; i++)
		molt__json_push(a, cJSON_CreateString(v[i]));
	return a;
}

/* "NAME=value" strings as an object */
static cJSON *env_json(char *const *env, size_t n)
{
	cJSON *o = cJSON_CreateObject();
	char name[256];

	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(env[i], '=');

		if (!eq || (size_t)(eq - env[i]) >= sizeof(name))
			continue;
		memcpy(name, env[i], (size_t)(eq - env[i]));
		name[eq - env[i]] = '\0';
		cJSON_AddStringToObject(o, name, eq + 1);
	}
	return o;
}

static cJSON *build_json(const struct molt__buildinfo *bi)
{
	cJSON *o = cJSON_CreateObject(), *tc = cJSON_CreateObject();
	cJSON *opt = cJSON_CreateObject();

	cJSON_AddStringToObject(tc, "cc", bi->cc);
	cJSON_AddStringToObject(tc, "cc_version", bi->cc_version);
	cJSON_AddStringToObject(tc, "libc", bi->libc);
	molt__json_add(o, "toolchain", tc);
	molt__json_add(o, "cflags", strings_json(bi->cflags, bi->ncflags));
	molt__json_add(o, "env", env_json(bi->env, bi->nenv));
	cJSON_AddStringToObject(o, "umask", bi->umask);
	molt__json_add(
		opt, "relup_from",
		strings_json((char *const *)bi->relup_from, bi->nrelup_from));
	if (bi->cc_option)
		cJSON_AddStringToObject(opt, "cc", bi->cc_option);
	cJSON_AddBoolToObject(opt, "require_signed_tag",
			      bi->require_signed_tag);
	molt__json_add(o, "options", opt);
	return o;
}

static int release_json_write(const char *path, const struct molt__project *p,
			      const char *vsn, const struct molt__source *src,
			      int relup, const struct molt__buildinfo *bi,
			      molt_err *err)
{
	cJSON *o = cJSON_CreateObject(), *apps = cJSON_CreateArray();
	char lib[300];

	cJSON_AddNumberToObject(o, "format", MOLT_RELEASE_FORMAT);
	cJSON_AddStringToObject(o, "name", p->release);
	cJSON_AddStringToObject(o, "vsn", vsn);
	molt__json_add(o, "source", source_json(src));
	for (size_t i = 0; i < p->napps; i++) {
		cJSON *a = cJSON_CreateObject();

		snprintf(lib, sizeof(lib), MOLT_ROOT_LIB_DIR "/%s-%s",
			 p->apps[i].name, p->apps[i].vsn);
		cJSON_AddStringToObject(a, "name", p->apps[i].name);
		cJSON_AddStringToObject(a, "vsn", p->apps[i].vsn);
		cJSON_AddStringToObject(a, "lib", lib);
		molt__json_push(apps, a);
	}
	molt__json_add(o, "applications", apps);
	if (relup)
		cJSON_AddStringToObject(o, "relup", MOLT_RELUP_FILE);
	if (bi)
		molt__json_add(o, "build", build_json(bi));
	return molt__json_write(path, o, err);
}

int molt__release_json_write(const char *path, const struct molt__project *p,
			     const char *vsn, const struct molt__source *src,
			     int relup, const struct molt__buildinfo *bi,
			     molt_err *err)
{
	molt__json_begin();
	return release_json_write(path, p, vsn, src, relup, bi, err);
}

/* ---- release.json's build record, for molt build --check ---- */

/* String field key of obj (at where) into out; "" if absent. */
static int copy_str(char *out, size_t size, const cJSON *obj, const char *key,
		    const struct molt__jctx *c, const char *where)
{
	const char *s = NULL;
	int rc = molt__json_str(&s, obj, key, 0, c, where);

	snprintf(out, size, "%s", rc == MOLT_OK && s ? s : "");
	return rc;
}

static int read_relup_from(struct molt__relbuild *b, const cJSON *opt,
			   const struct molt__jctx *c)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(opt, "relup_from");
	const cJSON *e;

	if (a && !cJSON_IsArray(a))
		return molt__json_field_err(c, "build.options", "relup_from",
					    "an array of tags");
	cJSON_ArrayForEach(e, a)
	{
		char **nv;

		if (!cJSON_IsString(e))
			return molt__json_field_err(c, "build.options",
						    "relup_from",
						    "an array of tags");
		nv = molt_realloc(b->relup_from,
				  (b->nrelup_from + 1) * sizeof(*nv));
		if (!nv)
			return molt_err_set(c->err, MOLT_ENOMEM,
					    "out of memory");
		b->relup_from = nv;
		if (!(nv[b->nrelup_from] = molt_strdup(e->valuestring)))
			return molt_err_set(c->err, MOLT_ENOMEM,
					    "out of memory");
		b->nrelup_from++;
	}
	return MOLT_OK;
}

static int read_relbuild(struct molt__relbuild *b, const cJSON *j,
			 const struct molt__jctx *c)
{
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(j, "source");
	const cJSON *bj = cJSON_GetObjectItemCaseSensitive(j, "build");
	const cJSON *tc = cJSON_GetObjectItemCaseSensitive(bj, "toolchain");
	const cJSON *opt = cJSON_GetObjectItemCaseSensitive(bj, "options");
	int rc;

	if (!cJSON_IsObject(src))
		return molt__json_field_err(c, "", "source", "an object");
	if (!cJSON_IsObject(bj))
		return molt_err_set(c->err, MOLT_ENOTFOUND,
				    "%s: no 'build' record (built by a molt "
				    "that did not record its toolchain)",
				    c->file);
	if ((rc = copy_str(b->tag, sizeof(b->tag), src, "tag", c, "source")) <
		    0 ||
	    (rc = copy_str(b->commit, sizeof(b->commit), src, "commit", c,
			   "source")) < 0 ||
	    (rc = copy_str(b->signer, sizeof(b->signer), src, "signer", c,
			   "source")) < 0 ||
	    (rc = copy_str(b->cc, sizeof(b->cc), tc, "cc", c,
			   "build.toolchain")) < 0 ||
	    (rc = copy_str(b->cc_version, sizeof(b->cc_version), tc,
			   "cc_version", c, "build.toolchain")) < 0 ||
	    (rc = copy_str(b->libc, sizeof(b->libc), tc, "libc", c,
			   "build.toolchain")) < 0 ||
	    (rc = copy_str(b->cc_option, sizeof(b->cc_option), opt, "cc", c,
			   "build.options")) < 0)
		return rc;
	if (!*b->tag)
		return molt__json_field_err(c, "source", "tag", "a string");
	b->require_signed_tag = cJSON_IsTrue(
		cJSON_GetObjectItemCaseSensitive(opt, "require_signed_tag"));
	return read_relup_from(b, opt, c);
}

int molt__relbuild_parse(struct molt__relbuild *out, const char *text,
			 size_t len, const char *file, molt_err *err)
{
	struct molt__jctx c = {file, err};
	cJSON *j;
	int rc;

	molt__json_begin();
	memset(out, 0, sizeof(*out));
	if (!(j = molt__json_parse(text, len, &c)))
		return err ? err->code : MOLT_EPARSE;
	if ((rc = molt__json_format(j, MOLT_RELEASE_FORMAT, &c)) == MOLT_OK)
		rc = read_relbuild(out, j, &c);
	cJSON_Delete(j);
	if (rc < 0)
		molt__relbuild_release(out);
	return rc;
}

void molt__relbuild_release(struct molt__relbuild *b)
{
	for (size_t i = 0; i < b->nrelup_from; i++)
		molt_free(b->relup_from[i]);
	molt_free(b->relup_from);
	b->relup_from = NULL;
	b->nrelup_from = 0;
}

/* ---- release.json and app.json, read back ---- */

static int copy_field(char *out, size_t size, const cJSON *obj, const char *key,
		      const struct molt__jctx *c, const char *where)
{
	const char *s;
	int rc = molt__json_name(&s, obj, key, c, where);

	if (rc == MOLT_OK)
		snprintf(out, size, "%s", s);
	return rc;
}

static int read_apps(struct molt__relmeta *m, const cJSON *arr,
		     const struct molt__jctx *c)
{
	const cJSON *e;
	char w[64];
	const char *s;
	int rc;

	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
		return molt__json_field_err(
			c, "", "applications",
			"a non-empty array of applications");
	/* one spare, zeroed entry: a failure may leave apps[napps] half set */
	m->apps = molt_calloc((size_t)cJSON_GetArraySize(arr) + 1,
			      sizeof(*m->apps));
	if (!m->apps)
		return molt_err_set(c->err, MOLT_ENOMEM, "out of memory");
	cJSON_ArrayForEach(e, arr)
	{
		molt_release_app *a = &m->apps[m->napps];
		char lib[300];

		snprintf(w, sizeof(w), "applications[%zu]", m->napps);
		if (!cJSON_IsObject(e))
			return molt__json_field_err(c, "", w, "an object");
		if ((rc = molt__json_name(&s, e, "name", c, w)) < 0 ||
		    !(a->name = molt_strdup(s)) ||
		    (rc = molt__json_name(&s, e, "vsn", c, w)) < 0 ||
		    !(a->vsn = molt_strdup(s)))
			return rc < 0 ? rc
				      : molt_err_set(c->err, MOLT_ENOMEM,
						     "out of memory");
		snprintf(lib, sizeof(lib), MOLT_ROOT_LIB_DIR "/%s-%s", a->name,
			 a->vsn);
		m->napps++;
		if (!(a->lib = molt_strdup(lib)))
			return molt_err_set(c->err, MOLT_ENOMEM,
					    "out of memory");
	}
	return MOLT_OK;
}

int molt__release_json_read(struct molt__relmeta *out, const char *path,
			    molt_err *err)
{
	struct molt__jctx c = {path, err};
	cJSON *j;
	int rc;

	molt__json_begin();
	memset(out, 0, sizeof(*out));
	if (!(j = molt__json_read(path, &c)))
		return err ? err->code : MOLT_EPARSE;
	if ((rc = molt__json_format(j, MOLT_RELEASE_FORMAT, &c)) == MOLT_OK &&
	    (rc = copy_field(out->name, sizeof(out->name), j, "name", &c,
			     "")) == MOLT_OK &&
	    (rc = copy_field(out->vsn, sizeof(out->vsn), j, "vsn", &c, "")) ==
		    MOLT_OK)
		rc = read_apps(
			out,
			cJSON_GetObjectItemCaseSensitive(j, "applications"),
			&c);
	cJSON_Delete(j);
	if (rc < 0)
		molt__relmeta_release(out);
	return rc;
}

static void apps_free(molt_release_app *apps, size_t n)
{
	for (size_t i = 0; apps && i < n; i++) {
		molt_free(apps[i].name);
		molt_free(apps[i].vsn);
		molt_free(apps[i].lib);
	}
	molt_free(apps);
}

void molt__relmeta_release(struct molt__relmeta *m)
{
	/* read_apps may fail halfway through entry napps: free it too */
	if (m->apps)
		apps_free(m->apps, m->napps + 1);
	memset(m, 0, sizeof(*m));
}

static int check_app_modules(const cJSON *j, const struct molt__jctx *c,
			     molt__module_fn each, void *payload)
{
	const cJSON *ms = cJSON_GetObjectItemCaseSensitive(j, "modules"), *e;
	const char *s, *name, *file;
	char w[64];
	size_t i = 0;
	int rc;

	if (!cJSON_IsArray(ms))
		return molt__json_field_err(c, "", "modules",
					    "an array of modules");
	cJSON_ArrayForEach(e, ms)
	{
		snprintf(w, sizeof(w), "modules[%zu]", i++);
		if (!cJSON_IsObject(e))
			return molt__json_field_err(c, "", w, "an object");
		if ((rc = molt__json_str(&name, e, "name", 1, c, w)) < 0 ||
		    (rc = molt__json_str(&file, e, "file", 1, c, w)) < 0 ||
		    (rc = molt__json_str(&s, e, "sha256", 1, c, w)) < 0)
			return rc;
		if (!molt__relpath_ok(file))
			return molt__json_field_err(
				c, w, "file", "a relative path without '..'");
		if (each && (rc = each(name, file, s, payload)) < 0)
			return rc;
	}
	return MOLT_OK;
}

static int app_json_check(const char *path, const char *name, const char *vsn,
			  molt__module_fn each, void *payload, molt_err *err)
{
	struct molt__jctx c = {path, err};
	const char *s;
	cJSON *j = molt__json_read(path, &c);
	int rc;

	if (!j)
		return err ? err->code : MOLT_EPARSE;
	if ((rc = molt__json_format(j, MOLT_APP_FORMAT, &c)) == MOLT_OK &&
	    (rc = molt__json_str(&s, j, "name", 1, &c, "")) == MOLT_OK &&
	    strcmp(s, name) != 0)
		rc = molt__json_field_err(&c, "", "name", name);
	if (rc == MOLT_OK &&
	    (rc = molt__json_str(&s, j, "vsn", 1, &c, "")) == MOLT_OK &&
	    strcmp(s, vsn) != 0)
		rc = molt__json_field_err(&c, "", "vsn", vsn);
	if (rc == MOLT_OK)
		rc = check_app_modules(j, &c, each, payload);
	cJSON_Delete(j);
	return rc;
}

int molt__app_json_check(const char *path, const char *name, const char *vsn,
			 molt__module_fn each, void *payload, molt_err *err)
{
	molt__json_begin();
	return app_json_check(path, name, vsn, each, payload, err);
}

/* ---- RELEASES.json ---- */

static const char *const status_names[] = {"unpacked", "current", "permanent",
					   "old"};

const char *molt_release_status_name(int status)
{
	if (status < 0 || status > MOLT_REL_OLD)
		return "?";
	return status_names[status];
}

int molt_release_status_parse(const char *s)
{
	for (int i = 0; s && i <= MOLT_REL_OLD; i++)
		if (strcmp(s, status_names[i]) == 0)
			return i;
	return -1;
}

static int read_release(molt_release_info *r, const cJSON *o,
			const struct molt__jctx *c, const char *where)
{
	struct molt__relmeta m;
	const char *s;
	int rc;

	if (!cJSON_IsObject(o))
		return molt__json_field_err(c, "", where, "an object");
	if ((rc = molt__json_name(&s, o, "name", c, where)) < 0 ||
	    !(r->name = molt_strdup(s)) ||
	    (rc = molt__json_name(&s, o, "vsn", c, where)) < 0 ||
	    !(r->vsn = molt_strdup(s)))
		return rc < 0 ? rc
			      : molt_err_set(c->err, MOLT_ENOMEM,
					     "out of memory");
	if ((rc = molt__json_str(&s, o, "status", 1, c, where)) < 0)
		return rc;
	if ((r->status = molt_release_status_parse(s)) < 0)
		return molt__json_field_err(
			c, where, "status",
			"unpacked, current, permanent or old");
	memset(&m, 0, sizeof(m));
	rc = read_apps(&m, cJSON_GetObjectItemCaseSensitive(o, "applications"),
		       c);
	r->apps = m.apps;
	r->napps = m.napps;
	if (rc < 0)
		molt__relmeta_release(&m);
	if (rc < 0)
		r->apps = NULL, r->napps = 0;
	return rc;
}

static int read_releases(molt_releases *out, const cJSON *j,
			 const struct molt__jctx *c)
{
	const cJSON *arr, *e;
	char w[64];
	int rc;

	if ((rc = molt__json_format(j, MOLT_RELEASES_FORMAT, c)) < 0)
		return rc;
	arr = cJSON_GetObjectItemCaseSensitive(j, "releases");
	if (!cJSON_IsArray(arr))
		return molt__json_field_err(c, "", "releases",
					    "an array of releases");
	out->rels = molt_calloc((size_t)cJSON_GetArraySize(arr) + 1,
				sizeof(*out->rels));
	if (!out->rels)
		return molt_err_set(c->err, MOLT_ENOMEM, "out of memory");
	cJSON_ArrayForEach(e, arr)
	{
		snprintf(w, sizeof(w), "releases[%zu]", out->n);
		rc = read_release(&out->rels[out->n], e, c, w);
		out->n++;
		if (rc < 0)
			return rc;
		if (molt_releases_find(out, out->rels[out->n - 1].vsn) !=
		    &out->rels[out->n - 1])
			return molt__json_field_err(
				c, w, "vsn", "a version not already listed");
	}
	return MOLT_OK;
}

int molt_releases_read(molt_releases *out, const char *root, molt_err *err)
{
	char path[MOLT__PATH_MAX];
	struct molt__jctx c = {path, err};
	cJSON *j;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = molt__path(path, sizeof(path), err, "%s/" MOLT_RELEASES_FILE,
			     root)) < 0)
		return rc;
	if (!molt__exists(path))
		return MOLT_OK;
	molt__json_begin();
	if (!(j = molt__json_read(path, &c)))
		return err ? err->code : MOLT_EPARSE;
	rc = read_releases(out, j, &c);
	cJSON_Delete(j);
	if (rc < 0)
		molt_releases_release(out);
	return rc;
}

static cJSON *release_item(const molt_release_info *r)
{
	cJSON *o = cJSON_CreateObject(), *apps = cJSON_CreateArray();

	cJSON_AddStringToObject(o, "name", r->name);
	cJSON_AddStringToObject(o, "vsn", r->vsn);
	cJSON_AddStringToObject(o, "status",
				molt_release_status_name(r->status));
	for (size_t i = 0; i < r->napps; i++) {
		cJSON *a = cJSON_CreateObject();

		cJSON_AddStringToObject(a, "name", r->apps[i].name);
		cJSON_AddStringToObject(a, "vsn", r->apps[i].vsn);
		cJSON_AddStringToObject(a, "lib", r->apps[i].lib);
		molt__json_push(apps, a);
	}
	molt__json_add(o, "applications", apps);
	return o;
}

static int releases_write(const molt_releases *rels, const char *root,
			  molt_err *err)
{
	char path[MOLT__PATH_MAX];
	cJSON *o = cJSON_CreateObject(), *arr = cJSON_CreateArray();
	int rc;

	if ((rc = molt__path(path, sizeof(path), err, "%s/" MOLT_RELEASES_FILE,
			     root)) < 0) {
		cJSON_Delete(o);
		cJSON_Delete(arr);
		return rc;
	}
	cJSON_AddNumberToObject(o, "format", MOLT_RELEASES_FORMAT);
	for (size_t i = 0; i < rels->n; i++)
		molt__json_push(arr, release_item(&rels->rels[i]));
	molt__json_add(o, "releases", arr);
	return molt__json_write(path, o, err);
}

int molt_releases_write(const molt_releases *rels, const char *root,
			molt_err *err)
{
	molt__json_begin();
	return releases_write(rels, root, err);
}

void molt_releases_release(molt_releases *rels)
{
	/* read_releases may leave rels[n] half set: it is zeroed or valid */
	for (size_t i = 0; rels->rels && i < rels->n; i++) {
		molt_free(rels->rels[i].name);
		molt_free(rels->rels[i].vsn);
		apps_free(rels->rels[i].apps, rels->rels[i].napps);
	}
	molt_free(rels->rels);
	rels->rels = NULL;
	rels->n = 0;
}

molt_release_info *molt_releases_find(const molt_releases *rels,
				      const char *vsn)
{
	for (size_t i = 0; i < rels->n; i++)
		if (rels->rels[i].vsn && strcmp(rels->rels[i].vsn, vsn) == 0)
			return &rels->rels[i];
	return NULL;
}

int molt_releases_set_status(molt_releases *rels, const char *vsn, int status,
			     molt_err *err)
{
	molt_release_info *r = molt_releases_find(rels, vsn);

	if (!r)
		return molt_err_set(err, MOLT_ENOTFOUND,
				    "release %s is not in RELEASES.json", vsn);
	if (r->status == MOLT_REL_PERMANENT && status != MOLT_REL_OLD)
		return MOLT_OK; /* OTP: a permanent release stays permanent */
	if (status == MOLT_REL_CURRENT || status == MOLT_REL_PERMANENT)
		for (size_t i = 0; i < rels->n; i++)
			if (rels->rels[i].status == status)
				rels->rels[i].status = MOLT_REL_OLD;
	r->status = status;
	return MOLT_OK;
}
