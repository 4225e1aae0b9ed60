/* molt.json: the release a repository describes (format 1). */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json.h"
#include "manifest.h"

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

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

static int str_array(const char ***out, size_t *n, const cJSON *obj,
		     const char *key, int required, const struct molt__jctx *c,
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
		return molt__json_field_err(c, where, key,
					    "an array of strings");
	*n = (size_t)cJSON_GetArraySize(a);
	if (*n && !(*out = molt_calloc(*n, sizeof(**out))))
		return molt_err_set(c->err, MOLT_ENOMEM, "out of memory");
	cJSON_ArrayForEach(e, a)
	{
		if (!cJSON_IsString(e))
			return molt__json_field_err(c, where, key,
						    "an array of strings");
		(*out)[i++] = e->valuestring;
	}
	return MOLT_OK;
}

static int parse_module(struct molt__modsrc *m, const cJSON *o,
			const struct molt__jctx *c, const char *where)
{
	int rc;

	if (!cJSON_IsObject(o))
		return molt_err_set(c->err, MOLT_EPARSE,
				    "%s: field '%s': expected an object",
				    c->file, where);
	if ((rc = molt__json_str(&m->name, o, "name", 1, c, where)) < 0)
		return rc;
	if (!module_name_ok(m->name))
		return molt__json_field_err(
			c, where, "name",
			"a module name matching [a-z][a-z0-9_]*");
	if ((rc = str_array(&m->sources, &m->nsources, o, "sources", 1, c,
			    where)) < 0)
		return rc;
	for (size_t i = 0; i < m->nsources; i++)
		if (!molt__relpath_ok(m->sources[i]))
			return molt__json_field_err(
				c, where, "sources",
				"relative paths without '..'");
	if (m->nsources == 0)
		return molt__json_field_err(c, where, "sources",
					    "at least one C file");
	return MOLT_OK;
}

static int parse_modules(struct molt__appsrc *a, const cJSON *o,
			 const struct molt__jctx *c, const char *where)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "modules");
	const cJSON *e;
	char w[256];
	int rc;

	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
		return molt__json_field_err(c, where, "modules",
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
				return molt__json_field_err(
					c, w, "name",
					"a module name not already "
					"listed");
		a->nmods++;
	}
	return MOLT_OK;
}

static int check_path_field(const char *v, const struct molt__jctx *c,
			    const char *where, const char *key)
{
	if (v && !molt__relpath_ok(v))
		return molt__json_field_err(c, where, key,
					    "a relative path without '..'");
	return MOLT_OK;
}

static const char *const strategies[] = {"one_for_one", "one_for_all",
					 "rest_for_one", "simple_one_for_one",
					 NULL};
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
		       const struct molt__jctx *c, const char *where)
{
	const char *s;
	int rc;

	if (!cJSON_IsObject(ch))
		return molt_err_set(c->err, MOLT_EPARSE,
				    "%s: field '%s': expected an object",
				    c->file, where);
	if ((rc = molt__json_str(&s, ch, "id", 1, c, where)) < 0 ||
	    (rc = molt__json_str(&s, ch, "module", 1, c, where)) < 0)
		return rc;
	if (!has_module(a, s))
		return molt__json_field_err(c, where, "module",
					    "one of the application's modules");
	if ((rc = molt__json_str(&s, ch, "restart", 0, c, where)) < 0)
		return rc;
	if (s && !one_of(s, restarts))
		return molt__json_field_err(
			c, where, "restart",
			"permanent, transient or temporary");
	return MOLT_OK;
}

/* strategy, intensity, period and name of supervisor sup (at w); *simple
 * says whether it is simple_one_for_one. */
static int check_sup_head(int *simple, const cJSON *sup,
			  const struct molt__jctx *c, const char *w)
{
	const char *s, *name;
	long v;
	int rc;

	if ((rc = molt__json_str(&s, sup, "strategy", 0, c, w)) < 0)
		return rc;
	if (s && !one_of(s, strategies))
		return molt__json_field_err(
			c, w, "strategy",
			"one_for_one, one_for_all, rest_for_one or "
			"simple_one_for_one");
	*simple = s && strcmp(s, "simple_one_for_one") == 0;
	if ((rc = molt__json_int(&v, sup, "intensity", 1, 0, c, w)) < 0 ||
	    (rc = molt__json_int(&v, sup, "period", 5, 1, c, w)) < 0)
		return rc;
	if (cJSON_GetObjectItemCaseSensitive(sup, "name"))
		return molt__json_name(&name, sup, "name", c, w);
	return MOLT_OK;
}

static int check_supervisor(const struct molt__appsrc *a, const cJSON *sup,
			    const struct molt__jctx *c, const char *where)
{
	const cJSON *ch, *children;
	char w[256];
	size_t i = 0;
	int rc, simple = 0;

	snprintf(w, sizeof(w), "%s.supervisor", where);
	if (!cJSON_IsObject(sup))
		return molt__json_field_err(c, where, "supervisor",
					    "an object");
	if ((rc = check_sup_head(&simple, sup, c, w)) < 0)
		return rc;
	children = cJSON_GetObjectItemCaseSensitive(sup, "children");
	if (!cJSON_IsArray(children))
		return molt__json_field_err(c, w, "children", "an array");
	/* as the runtime's spec reader (sup/spec.c): the one child is the
	 * template start_child spawns from */
	if (simple && cJSON_GetArraySize(children) != 1)
		return molt__json_field_err(
			c, w, "children",
			"exactly one child (the simple_one_for_one template)");
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
		     const struct molt__jctx *c, const char *where)
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
	if ((rc = molt__json_name(&a->name, o, "name", c, where)) < 0 ||
	    (rc = molt__json_str(&a->vsn, o, "vsn", 0, c, where)) < 0 ||
	    (rc = molt__json_str(&a->dir, o, "dir", 1, c, where)) < 0 ||
	    (rc = molt__json_str(&a->appup, o, "appup", 0, c, where)) < 0 ||
	    (rc = molt__json_str(&a->priv, o, "priv", 0, c, where)) < 0 ||
	    (rc = molt__json_str(&a->build, o, "build", 0, c, where)) < 0)
		return rc;
	if (!a->vsn)
		a->vsn = vsn;
	if (!molt__name_ok(a->vsn))
		return molt__json_field_err(
			c, where, "vsn",
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
		return molt__json_field_err(c, where, "env", "an object");
	return sup ? check_supervisor(a, sup, c, where) : MOLT_OK;
}

/* A name "toolchain.env" may pass on: a variable name, none of those the
 * build sets itself. */
static int env_name_ok(const char *s)
{
	static const char *const fixed[] = {"PATH", "LC_ALL", "TZ",
					    "SOURCE_DATE_EPOCH", NULL};

	if (!*s || one_of(s, fixed) || strncmp(s, "MOLT_", 5) == 0 ||
	    (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

/* "toolchain": {"cc": COMPILER, "env": [NAME, ...]}, both optional. */
static int parse_toolchain(struct molt__project *p, const cJSON *root,
			   const struct molt__jctx *c)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "toolchain");
	int rc;

	if (!t)
		return MOLT_OK;
	if (!cJSON_IsObject(t))
		return molt__json_field_err(c, "", "toolchain", "an object");
	if ((rc = molt__json_str(&p->cc, t, "cc", 0, c, "toolchain")) < 0 ||
	    (rc = str_array(&p->env, &p->nenv, t, "env", 0, c, "toolchain")) <
		    0)
		return rc;
	if (p->cc && (!*p->cc || strchr(p->cc, '\'') || strchr(p->cc, ' ')))
		return molt__json_field_err(c, "toolchain", "cc",
					    "a compiler name or path without "
					    "spaces or quotes");
	for (size_t i = 0; i < p->nenv; i++)
		if (!env_name_ok(p->env[i]))
			return molt__json_field_err(
				c, "toolchain", "env",
				"variable names, not PATH, LC_ALL, TZ, "
				"SOURCE_DATE_EPOCH or MOLT_*");
	return MOLT_OK;
}

static int parse_project(struct molt__project *p, const char *vsn,
			 const struct molt__jctx *c)
{
	const cJSON *root = p->json, *apps, *e;
	char w[64];
	int rc;

	if ((rc = molt__json_format(root, MOLT_PROJECT_FORMAT, c)) < 0 ||
	    (rc = molt__json_name(&p->release, root, "release", c, "")) < 0 ||
	    (rc = molt__json_str(&p->repo, root, "repo", 0, c, "")) < 0 ||
	    (rc = parse_toolchain(p, root, c)) < 0)
		return rc;
	apps = cJSON_GetObjectItemCaseSensitive(root, "applications");
	if (!cJSON_IsArray(apps) || cJSON_GetArraySize(apps) == 0)
		return molt__json_field_err(
			c, "", "applications",
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
				return molt__json_field_err(
					c, w, "name",
					"an application name not "
					"already listed");
		p->napps++;
	}
	return MOLT_OK;
}

int molt__project_parse(struct molt__project *out, const char *text, size_t len,
			const char *file, const char *vsn, molt_err *err)
{
	struct molt__jctx c = {file, err};
	int rc;

	molt__json_begin();
	memset(out, 0, sizeof(*out));
	if (!(out->json = molt__json_parse(text, len, &c)))
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
	molt_free(p->env);
	cJSON_Delete(p->json);
	memset(p, 0, sizeof(*p));
}
