/* The JSON files of a release (cJSON): molt.json, app.json, release.json,
 * RELEASES.json. */
#include "manifest.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "molt/banned.h"
#include "molt/buf.h"

#include "fsutil.h"

/*
 * cJSON allocates through molt_malloc, so tests can make it fail, and
 * records a failure: a tree built while an allocation failed silently
 * lacks a member, so write_json refuses to write it. json_begin() resets
 * the flag at the start of each reader and writer.
 */
static _Thread_local int json_oom;

static void *json_malloc(size_t size)
{
	void *p = molt_malloc(size);

	if (!p)
		json_oom = 1;
	return p;
}

static void json_begin(void)
{
	static cJSON_Hooks hooks = {json_malloc, molt_free};

	cJSON_InitHooks(&hooks);
	json_oom = 0;
}

/* Give item to obj (arr); on failure free it and note the failure, as
 * cJSON leaves an item that could not be added to its caller. */
static void add_item(cJSON *obj, const char *key, cJSON *item)
{
	if (!cJSON_AddItemToObject(obj, key, item)) {
		cJSON_Delete(item);
		json_oom = 1;
	}
}

static void push_item(cJSON *arr, cJSON *item)
{
	if (!cJSON_AddItemToArray(arr, item)) {
		cJSON_Delete(item);
		json_oom = 1;
	}
}

/* Where a reader is: the file, for messages. */
struct jctx {
	const char *file; /* file name for messages */
	molt_err *err;	  /* where errors go */
};

int molt__name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 127 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || !strchr("._+-", c)))
			return 0;
	}
	return 1;
}

static int module_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || !(s[0] >= 'a' && s[0] <= 'z'))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

int molt__relpath_ok(const char *path)
{
	const char *p = path;

	if (!*p || *p == '/')
		return 0;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		p += n;
		if (*p == '/' && !*++p)
			return 0;
	}
	return 1;
}

/* ---- reading ---- */

static void line_col(const char *text, const char *at, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (const char *p = text; p < at; p++) {
		if (*p == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static cJSON *parse_json(const char *text, size_t len, const struct jctx *c)
{
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	int line, col;

	if (j) {
		while (end && end < text + len && strchr(" \t\r\n", *end))
			end++;
		if (end && end < text + len && *end) {
			line_col(text, end, &line, &col);
			molt_err_set(c->err, MOLT_EPARSE,
				     "%s:%d:%d: unexpected text after the "
				     "JSON value",
				     c->file, line, col);
			cJSON_Delete(j);
			return NULL;
		}
		return j;
	}
	if (json_oom) {
		molt_err_set(c->err, MOLT_ENOMEM, "%s: out of memory", c->file);
		return NULL;
	}
	line_col(text, end ? end : text, &line, &col);
	molt_err_set(c->err, MOLT_EPARSE, "%s:%d:%d: malformed JSON", c->file,
		     line, col);
	return NULL;
}

static int field_err(const struct jctx *c, const char *where, const char *key,
		     const char *expected)
{
	return molt_err_set(c->err, MOLT_EPARSE,
			    "%s: field '%s%s%s': expected %s", c->file, where,
			    *where ? "." : "", key, expected);
}

/* String field key of obj; NULL and an error if required and missing. */
static int get_str(const char **out, const cJSON *obj, const char *key,
		   int required, const struct jctx *c, const char *where)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	*out = NULL;
	if (!v && !required)
		return MOLT_OK;
	if (!cJSON_IsString(v) || !v->valuestring)
		return field_err(c, where, key, "a string");
	*out = v->valuestring;
	return MOLT_OK;
}

static int get_name(const char **out, const cJSON *obj, const char *key,
		    const struct jctx *c, const char *where)
{
	int rc = get_str(out, obj, key, 1, c, where);

	if (rc == MOLT_OK && !molt__name_ok(*out))
		return field_err(c, where, key,
				 "a name of letters, digits and ._+- "
				 "(at most 127 bytes)");
	return rc;
}

static int get_int(long *out, const cJSON *obj, const char *key, long dflt,
		   long min, const struct jctx *c, const char *where)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	*out = dflt;
	if (!v)
		return MOLT_OK;
	if (!cJSON_IsNumber(v) ||
	    v->valuedouble != (double)(long)v->valuedouble ||
	    v->valuedouble < (double)min || v->valuedouble > 2147483647.0)
		return field_err(c, where, key, "an integer in range");
	*out = (long)v->valuedouble;
	return MOLT_OK;
}

static int check_format(const cJSON *root, int expected, const struct jctx *c)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "format");

	if (!cJSON_IsObject(root))
		return molt_err_set(c->err, MOLT_EPARSE,
				    "%s: expected a JSON object", c->file);
	if (!cJSON_IsNumber(v))
		return field_err(c, "", "format", "an integer format version");
	if (v->valuedouble != (double)expected)
		return molt_err_set(c->err, MOLT_EVERSION,
				    "%s: field 'format': version %g is not "
				    "supported (expected %d)",
				    c->file, v->valuedouble, expected);
	return MOLT_OK;
}

static cJSON *read_json(const char *path, const struct jctx *c)
{
	molt_buf b = MOLT_BUF_INIT;
	cJSON *j;

	if (molt_buf_read_file(&b, path, c->err) < 0)
		return NULL;
	j = parse_json(b.ptr, b.len, c);
	molt_buf_release(&b);
	return j;
}

/* ---- molt.json ---- */

static int str_array(const char ***out, size_t *n, const cJSON *obj,
		     const char *key, int required, const struct jctx *c,
		     const char *where)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, key);
	const cJSON *e;
	size_t i = 0;

	*out = NULL;
	*n = 0;
	if (!a && !required)
		return MOLT_OK;
	if (!cJSON_IsArray(a))
		return field_err(c, where, key, "an array of strings");
	*n = (size_t)cJSON_GetArraySize(a);
	if (*n && !(*out = molt_calloc(*n, sizeof(**out))))
		return molt_err_set(c->err, MOLT_ENOMEM, "out of memory");
	cJSON_ArrayForEach(e, a)
	{
		if (!cJSON_IsString(e))
			return field_err(c, where, key, "an array of strings");
		(*out)[i++] = e->valuestring;
	}
	return MOLT_OK;
}

static int parse_module(struct molt__modsrc *m, const cJSON *o,
			const struct jctx *c, const char *where)
{
	int rc;

	if (!cJSON_IsObject(o))
		return molt_err_set(c->err, MOLT_EPARSE,
				    "%s: field '%s': expected an object",
				    c->file, where);
	if ((rc = get_str(&m->name, o, "name", 1, c, where)) < 0)
		return rc;
	if (!module_name_ok(m->name))
		return field_err(c, where, "name",
				 "a module name matching [a-z][a-z0-9_]*");
	if ((rc = str_array(&m->sources, &m->nsources, o, "sources", 1, c,
			    where)) < 0)
		return rc;
	for (size_t i = 0; i < m->nsources; i++)
		if (!molt__relpath_ok(m->sources[i]))
			return field_err(c, where, "sources",
					 "relative paths without '..'");
	if (m->nsources == 0)
		return field_err(c, where, "sources", "at least one C file");
	return MOLT_OK;
}

static int parse_modules(struct molt__appsrc *a, const cJSON *o,
			 const struct jctx *c, const char *where)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "modules");
	const cJSON *e;
	char w[256];
	int rc;

	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
		return field_err(c, where, "modules",
				 "a non-empty array of modules");
	a->nmods = 0;
	/* one spare, zeroed entry: release may look at mods[nmods] */
	a->mods = molt_calloc((size_t)cJSON_GetArraySize(arr) + 1,
			      sizeof(*a->mods));
	if (!a->mods)
		return molt_err_set(c->err, MOLT_ENOMEM, "out of memory");
	cJSON_ArrayForEach(e, arr)
	{
		snprintf(w, sizeof(w), "%s.modules[%zu]", where, a->nmods);
		if ((rc = parse_module(&a->mods[a->nmods], e, c, w)) < 0)
			return rc;
		for (size_t i = 0; i < a->nmods; i++)
			if (strcmp(a->mods[i].name, a->mods[a->nmods].name) ==
			    0)
				return field_err(c, w, "name",
						 "a module name not already "
						 "listed");
		a->nmods++;
	}
	return MOLT_OK;
}

static int check_path_field(const char *v, const struct jctx *c,
			    const char *where, const char *key)
{
	if (v && !molt__relpath_ok(v))
		return field_err(c, where, key, "a relative path without '..'");
	return MOLT_OK;
}

static const char *const strategies[] = {"one_for_one", "one_for_all",
					 "rest_for_one", NULL};
static const char *const restarts[] = {"permanent", "transient", "temporary",
				       NULL};

static int one_of(const char *s, const char *const *set)
{
	for (size_t i = 0; set[i]; i++)
		if (strcmp(s, set[i]) == 0)
			return 1;
	return 0;
}

static int has_module(const struct molt__appsrc *a, const char *name)
{
	for (size_t i = 0; i < a->nmods; i++)
		if (strcmp(a->mods[i].name, name) == 0)
			return 1;
	return 0;
}

static int check_child(const struct molt__appsrc *a, const cJSON *ch,
		       const struct jctx *c, const char *where)
{
	const char *s;
	int rc;

	if (!cJSON_IsObject(ch))
		return molt_err_set(c->err, MOLT_EPARSE,
				    "%s: field '%s': expected an object",
				    c->file, where);
	if ((rc = get_str(&s, ch, "id", 1, c, where)) < 0 ||
	    (rc = get_str(&s, ch, "module", 1, c, where)) < 0)
		return rc;
	if (!has_module(a, s))
		return field_err(c, where, "module",
				 "one of the application's modules");
	if ((rc = get_str(&s, ch, "restart", 0, c, where)) < 0)
		return rc;
	if (s && !one_of(s, restarts))
		return field_err(c, where, "restart",
				 "permanent, transient or temporary");
	return MOLT_OK;
}

static int check_supervisor(const struct molt__appsrc *a, const cJSON *sup,
			    const struct jctx *c, const char *where)
{
	const cJSON *ch, *children;
	char w[256];
	const char *s;
	long v;
	size_t i = 0;
	int rc;

	snprintf(w, sizeof(w), "%s.supervisor", where);
	if (!cJSON_IsObject(sup))
		return field_err(c, where, "supervisor", "an object");
	if ((rc = get_str(&s, sup, "strategy", 0, c, w)) < 0)
		return rc;
	if (s && !one_of(s, strategies))
		return field_err(c, w, "strategy",
				 "one_for_one, one_for_all or rest_for_one");
	if ((rc = get_int(&v, sup, "intensity", 1, 0, c, w)) < 0 ||
	    (rc = get_int(&v, sup, "period", 5, 1, c, w)) < 0)
		return rc;
	children = cJSON_GetObjectItemCaseSensitive(sup, "children");
	if (!cJSON_IsArray(children))
		return field_err(c, w, "children", "an array");
	cJSON_ArrayForEach(ch, children)
	{
		char cw[300];

		snprintf(cw, sizeof(cw), "%s.children[%zu]", w, i++);
		if ((rc = check_child(a, ch, c, cw)) < 0)
			return rc;
	}
	return MOLT_OK;
}

static int parse_app(struct molt__appsrc *a, const cJSON *o, const char *vsn,
		     const struct jctx *c, const char *where)
{
	const cJSON *sup = cJSON_GetObjectItemCaseSensitive(o, "supervisor");
	const cJSON *env = cJSON_GetObjectItemCaseSensitive(o, "env");
	const char **deps;
	size_t ndeps;
	int rc;

	if (!cJSON_IsObject(o))
		return molt_err_set(c->err, MOLT_EPARSE,
				    "%s: field '%s': expected an object",
				    c->file, where);
	a->json = o;
	if ((rc = get_name(&a->name, o, "name", c, where)) < 0 ||
	    (rc = get_str(&a->vsn, o, "vsn", 0, c, where)) < 0 ||
	    (rc = get_str(&a->dir, o, "dir", 1, c, where)) < 0 ||
	    (rc = get_str(&a->appup, o, "appup", 0, c, where)) < 0 ||
	    (rc = get_str(&a->priv, o, "priv", 0, c, where)) < 0 ||
	    (rc = get_str(&a->build, o, "build", 0, c, where)) < 0)
		return rc;
	if (!a->vsn)
		a->vsn = vsn;
	if (!molt__name_ok(a->vsn))
		return field_err(c, where, "vsn",
				 "a version of letters, digits and ._+-");
	if ((rc = check_path_field(a->dir, c, where, "dir")) < 0 ||
	    (rc = check_path_field(a->appup, c, where, "appup")) < 0 ||
	    (rc = check_path_field(a->priv, c, where, "priv")) < 0)
		return rc;
	if ((rc = str_array(&a->cflags, &a->ncflags, o, "cflags", 0, c,
			    where)) < 0 ||
	    (rc = parse_modules(a, o, c, where)) < 0)
		return rc;
	rc = str_array(&deps, &ndeps, o, "deps", 0, c, where);
	molt_free(deps);
	if (rc < 0)
		return rc;
	if (env && !cJSON_IsObject(env))
		return field_err(c, where, "env", "an object");
	return sup ? check_supervisor(a, sup, c, where) : MOLT_OK;
}

static int parse_project(struct molt__project *p, const char *vsn,
			 const struct jctx *c)
{
	const cJSON *root = p->json, *apps, *e;
	char w[64];
	int rc;

	if ((rc = check_format(root, MOLT_PROJECT_FORMAT, c)) < 0 ||
	    (rc = get_name(&p->release, root, "release", c, "")) < 0 ||
	    (rc = get_str(&p->repo, root, "repo", 0, c, "")) < 0)
		return rc;
	apps = cJSON_GetObjectItemCaseSensitive(root, "applications");
	if (!cJSON_IsArray(apps) || cJSON_GetArraySize(apps) == 0)
		return field_err(c, "", "applications",
				 "a non-empty array of applications");
	/* one spare, zeroed entry: release may look at apps[napps] */
	p->apps = molt_calloc((size_t)cJSON_GetArraySize(apps) + 1,
			      sizeof(*p->apps));
	if (!p->apps)
		return molt_err_set(c->err, MOLT_ENOMEM, "out of memory");
	cJSON_ArrayForEach(e, apps)
	{
		snprintf(w, sizeof(w), "applications[%zu]", p->napps);
		if ((rc = parse_app(&p->apps[p->napps], e, vsn, c, w)) < 0)
			return rc;
		for (size_t i = 0; i < p->napps; i++)
			if (strcmp(p->apps[i].name, p->apps[p->napps].name) ==
			    0)
				return field_err(c, w, "name",
						 "an application name not "
						 "already listed");
		p->napps++;
	}
	return MOLT_OK;
}

int molt__project_parse(struct molt__project *out, const char *text, size_t len,
			const char *file, const char *vsn, molt_err *err)
{
	struct jctx c = {file, err};
	int rc;

	json_begin();
	memset(out, 0, sizeof(*out));
	if (!(out->json = parse_json(text, len, &c)))
		return err ? err->code : MOLT_EPARSE;
	if ((rc = parse_project(out, vsn, &c)) < 0)
		molt__project_release(out);
	return rc;
}

void molt__project_release(struct molt__project *p)
{
	for (size_t i = 0; p->apps && i < p->napps + 1; i++) {
		for (size_t m = 0; p->apps[i].mods && m < p->apps[i].nmods + 1;
		     m++)
			molt_free(p->apps[i].mods[m].sources);
		molt_free(p->apps[i].mods);
		molt_free(p->apps[i].cflags);
	}
	molt_free(p->apps);
	cJSON_Delete(p->json);
	memset(p, 0, sizeof(*p));
}

/* ---- writing ---- */

static int write_json(const char *path, cJSON *root, molt_err *err)
{
	char *text;
	molt_buf b = MOLT_BUF_INIT;
	int rc;

	if (!root || json_oom) {
		cJSON_Delete(root);
		return molt_err_set(err, MOLT_ENOMEM,
				    "out of memory writing %s", path);
	}
	text = cJSON_Print(root);
	cJSON_Delete(root);
	if (!text || molt_buf_puts(&b, text) < 0 ||
	    molt_buf_putc(&b, '\n') < 0) {
		cJSON_free(text);
		molt_buf_release(&b);
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	}
	cJSON_free(text);
	rc = molt_write_file_atomic(path, b.ptr, b.len, err);
	molt_buf_release(&b);
	return rc;
}

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
		push_item(ex, cJSON_CreateString(m->exports[i]));
	add_item(o, "exports", ex);
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
		add_item(c, "args",
			 args ? cJSON_Duplicate(args, 1)
			      : cJSON_CreateString(""));
		v = cJSON_GetObjectItemCaseSensitive(ch, "restart");
		cJSON_AddStringToObject(c, "restart",
					v ? v->valuestring : "permanent");
		push_item(children, c);
	}
	add_item(o, "children", children);
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
		push_item(ms, module_json(&app->mods[i], &mods[i]));
	add_item(o, "modules", ms);
	add_item(o, "deps", dup_or(src, "deps", cJSON_CreateArray()));
	add_item(o, "env", dup_or(src, "env", cJSON_CreateObject()));
	if (sup)
		add_item(o, "supervisor", supervisor_json(sup));
	if (appup)
		cJSON_AddStringToObject(o, "appup", appup);
	return write_json(path, o, err);
}

int molt__app_json_write(const char *path, const struct molt__appsrc *app,
			 const struct molt__modinfo *mods, const char *appup,
			 molt_err *err)
{
	json_begin();
	return app_json_write(path, app, mods, appup, err);
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
	return o;
}

static int release_json_write(const char *path, const struct molt__project *p,
			      const char *vsn, const struct molt__source *src,
			      int relup, molt_err *err)
{
	cJSON *o = cJSON_CreateObject(), *apps = cJSON_CreateArray();
	char lib[300];

	cJSON_AddNumberToObject(o, "format", MOLT_RELEASE_FORMAT);
	cJSON_AddStringToObject(o, "name", p->release);
	cJSON_AddStringToObject(o, "vsn", vsn);
	add_item(o, "source", source_json(src));
	for (size_t i = 0; i < p->napps; i++) {
		cJSON *a = cJSON_CreateObject();

		snprintf(lib, sizeof(lib), MOLT_ROOT_LIB_DIR "/%s-%s",
			 p->apps[i].name, p->apps[i].vsn);
		cJSON_AddStringToObject(a, "name", p->apps[i].name);
		cJSON_AddStringToObject(a, "vsn", p->apps[i].vsn);
		cJSON_AddStringToObject(a, "lib", lib);
		push_item(apps, a);
	}
	add_item(o, "applications", apps);
	if (relup)
		cJSON_AddStringToObject(o, "relup", MOLT_RELUP_FILE);
	return write_json(path, o, err);
}

int molt__release_json_write(const char *path, const struct molt__project *p,
			     const char *vsn, const struct molt__source *src,
			     int relup, molt_err *err)
{
	json_begin();
	return release_json_write(path, p, vsn, src, relup, err);
}

/* ---- release.json and app.json, read back ---- */

static int copy_field(char *out, size_t size, const cJSON *obj, const char *key,
		      const struct jctx *c, const char *where)
{
	const char *s;
	int rc = get_name(&s, obj, key, c, where);

	if (rc == MOLT_OK)
		snprintf(out, size, "%s", s);
	return rc;
}

static int read_apps(struct molt__relmeta *m, const cJSON *arr,
		     const struct jctx *c)
{
	const cJSON *e;
	char w[64];
	const char *s;
	int rc;

	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
		return field_err(c, "", "applications",
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
			return field_err(c, "", w, "an object");
		if ((rc = get_name(&s, e, "name", c, w)) < 0 ||
		    !(a->name = molt_strdup(s)) ||
		    (rc = get_name(&s, e, "vsn", c, w)) < 0 ||
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
	struct jctx c = {path, err};
	cJSON *j;
	int rc;

	json_begin();
	memset(out, 0, sizeof(*out));
	if (!(j = read_json(path, &c)))
		return err ? err->code : MOLT_EPARSE;
	if ((rc = check_format(j, MOLT_RELEASE_FORMAT, &c)) == MOLT_OK &&
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

static int check_app_modules(const cJSON *j, const struct jctx *c,
			     molt__module_fn each, void *payload)
{
	const cJSON *ms = cJSON_GetObjectItemCaseSensitive(j, "modules"), *e;
	const char *s, *name, *file;
	char w[64];
	size_t i = 0;
	int rc;

	if (!cJSON_IsArray(ms))
		return field_err(c, "", "modules", "an array of modules");
	cJSON_ArrayForEach(e, ms)
	{
		snprintf(w, sizeof(w), "modules[%zu]", i++);
		if (!cJSON_IsObject(e))
			return field_err(c, "", w, "an object");
		if ((rc = get_str(&name, e, "name", 1, c, w)) < 0 ||
		    (rc = get_str(&file, e, "file", 1, c, w)) < 0 ||
		    (rc = get_str(&s, e, "sha256", 1, c, w)) < 0)
			return rc;
		if (!molt__relpath_ok(file))
			return field_err(c, w, "file",
					 "a relative path without '..'");
		if (each && (rc = each(name, file, s, payload)) < 0)
			return rc;
	}
	return MOLT_OK;
}

static int app_json_check(const char *path, const char *name, const char *vsn,
			  molt__module_fn each, void *payload, molt_err *err)
{
	struct jctx c = {path, err};
	const char *s;
	cJSON *j = read_json(path, &c);
	int rc;

	if (!j)
		return err ? err->code : MOLT_EPARSE;
	if ((rc = check_format(j, MOLT_APP_FORMAT, &c)) == MOLT_OK &&
	    (rc = get_str(&s, j, "name", 1, &c, "")) == MOLT_OK &&
	    strcmp(s, name) != 0)
		rc = field_err(&c, "", "name", name);
	if (rc == MOLT_OK &&
	    (rc = get_str(&s, j, "vsn", 1, &c, "")) == MOLT_OK &&
	    strcmp(s, vsn) != 0)
		rc = field_err(&c, "", "vsn", vsn);
	if (rc == MOLT_OK)
		rc = check_app_modules(j, &c, each, payload);
	cJSON_Delete(j);
	return rc;
}

int molt__app_json_check(const char *path, const char *name, const char *vsn,
			 molt__module_fn each, void *payload, molt_err *err)
{
	json_begin();
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
			const struct jctx *c, const char *where)
{
	struct molt__relmeta m;
	const char *s;
	int rc;

	if (!cJSON_IsObject(o))
		return field_err(c, "", where, "an object");
	if ((rc = get_name(&s, o, "name", c, where)) < 0 ||
	    !(r->name = molt_strdup(s)) ||
	    (rc = get_name(&s, o, "vsn", c, where)) < 0 ||
	    !(r->vsn = molt_strdup(s)))
		return rc < 0 ? rc
			      : molt_err_set(c->err, MOLT_ENOMEM,
					     "out of memory");
	if ((rc = get_str(&s, o, "status", 1, c, where)) < 0)
		return rc;
	if ((r->status = molt_release_status_parse(s)) < 0)
		return field_err(c, where, "status",
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
			 const struct jctx *c)
{
	const cJSON *arr, *e;
	char w[64];
	int rc;

	if ((rc = check_format(j, MOLT_RELEASES_FORMAT, c)) < 0)
		return rc;
	arr = cJSON_GetObjectItemCaseSensitive(j, "releases");
	if (!cJSON_IsArray(arr))
		return field_err(c, "", "releases", "an array of releases");
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
			return field_err(c, w, "vsn",
					 "a version not already listed");
	}
	return MOLT_OK;
}

int molt_releases_read(molt_releases *out, const char *root, molt_err *err)
{
	char path[MOLT__PATH_MAX];
	struct jctx c = {path, err};
	cJSON *j;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = molt__path(path, sizeof(path), err, "%s/" MOLT_RELEASES_FILE,
			     root)) < 0)
		return rc;
	if (!molt__exists(path))
		return MOLT_OK;
	json_begin();
	if (!(j = read_json(path, &c)))
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
		push_item(apps, a);
	}
	add_item(o, "applications", apps);
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
		push_item(arr, release_item(&rels->rels[i]));
	add_item(o, "releases", arr);
	return write_json(path, o, err);
}

int molt_releases_write(const molt_releases *rels, const char *root,
			molt_err *err)
{
	json_begin();
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
