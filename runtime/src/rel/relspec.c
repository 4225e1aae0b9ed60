/* Reading a root's permanent release: RELEASES.json, release.json,
 * app.json, each verified against the release's manifest first. */
#include "relspec.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "molt/buf.h"

#include "verify.h"

#include "molt/banned.h"

#define REL_FORMAT 1

/* What one reader needs to name a file in its errors. */
typedef struct src {
	const char *root; /* the root */
	const char *rel;  /* the file, relative to the root */
} src;

/* Names: letters, digits and ._+-, first a letter or digit, < 128 bytes;
 * so "." and ".." and anything with a slash are refused. */
static int valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 127 || s[0] == '.' || s[0] == '_' || s[0] == '+' ||
	    s[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr("._+-", s[i])))
			return 0;
	return 1;
}

/* A relative path without empty, "." or ".." components. */
static int valid_rel_path(const char *s)
{
	const char *p = s;

	if (!*s || *s == '/')
		return 0;
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		p += n;
		if (*p == '/')
			p++;
	}
	return p[-1] != '/';
}

static int read_json(cJSON **out, const src *f, molt_err *err)
{
	molt_buf path = MOLT_BUF_INIT, text = MOLT_BUF_INIT;
	const cJSON *fmt;
	int rc;

	if (molt_buf_printf(&path, "%s/%s", f->root, f->rel) < 0)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	rc = molt_buf_read_file(&text, path.ptr, err);
	molt_buf_release(&path);
	if (rc < 0)
		return rc;
	*out = cJSON_ParseWithLength(text.ptr, text.len);
	molt_buf_release(&text);
	if (!*out)
		return molt_err_set(err, MOLT_EPARSE, "%s/%s: malformed JSON",
				    f->root, f->rel);
	fmt = cJSON_GetObjectItem(*out, "format");
	if (cJSON_IsNumber(fmt) && fmt->valuedouble == REL_FORMAT)
		return MOLT_OK;
	cJSON_Delete(*out);
	*out = NULL;
	return molt_err_set(err, MOLT_EVERSION,
			    "%s/%s: field 'format': expected %d", f->root,
			    f->rel, REL_FORMAT);
}

/* The string field k of o, checked as a name if is_name. */
static int get_str(const char **out, const src *f, const cJSON *o,
		   const char *what, const char *k, int is_name, molt_err *err)
{
	const cJSON *v = cJSON_GetObjectItem(o, k);

	if (!cJSON_IsString(v))
		return molt_err_set(err, MOLT_EINVAL,
				    "%s/%s: field '%s%s': expected a string",
				    f->root, f->rel, what, k);
	if (is_name && !valid_name(v->valuestring))
		return molt_err_set(err, MOLT_EINVAL,
				    "%s/%s: field '%s%s': '%s' is not a valid "
				    "name",
				    f->root, f->rel, what, k, v->valuestring);
	*out = v->valuestring;
	return MOLT_OK;
}

/* Copy of cJSON's text into our allocator (cJSON's is not ours). */
static char *print_dup(const cJSON *j)
{
	char *text = cJSON_PrintUnformatted(j), *mine;

	if (!text)
		return NULL;
	mine = molt_strdup(text);
	cJSON_free(text);
	return mine;
}

/* --- RELEASES.json: which release to read --- */

/* The release vsn, or the permanent one when vsn is NULL. */
static int find_release(const char **name_out, const char **vsn_out,
			const char *root, const char *vsn, cJSON **doc,
			molt_err *err)
{
	src f = {root, "releases/RELEASES.json"};
	const cJSON *r;
	const char *st, *v;
	int rc;

	if ((rc = read_json(doc, &f, err)) < 0)
		return rc;
	cJSON_ArrayForEach(r, cJSON_GetObjectItem(*doc, "releases"))
	{
		st = cJSON_GetStringValue(cJSON_GetObjectItem(r, "status"));
		v = cJSON_GetStringValue(cJSON_GetObjectItem(r, "vsn"));
		if (vsn ? !v || strcmp(v, vsn) != 0
			: !st || strcmp(st, "permanent") != 0)
			continue;
		if ((rc = get_str(name_out, &f, r, "releases[].", "name", 1,
				  err)) < 0 ||
		    (rc = get_str(vsn_out, &f, r, "releases[].", "vsn", 1,
				  err)) < 0)
			return rc;
		return MOLT_OK;
	}
	if (vsn)
		return molt_err_set(err, MOLT_ENOTFOUND,
				    "%s/releases/RELEASES.json: no release %s",
				    root, vsn);
	return molt_err_set(err, MOLT_ENOTFOUND,
			    "%s/releases/RELEASES.json: no release is "
			    "permanent (molt init makes the first one "
			    "permanent)",
			    root);
}

/* --- app.json --- */

static int str_array(char ***out, size_t *n_out, const src *f, const cJSON *arr,
		     const char *what, molt_err *err)
{
	const cJSON *v;
	size_t n = 0;

	if (arr && !cJSON_IsArray(arr))
		return molt_err_set(err, MOLT_EINVAL,
				    "%s/%s: field '%s': expected an array",
				    f->root, f->rel, what);
	*out = molt_calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(char *));
	if (!*out)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	cJSON_ArrayForEach(v, arr)
	{
		if (!cJSON_IsString(v) || !valid_name(v->valuestring))
			return molt_err_set(err, MOLT_EINVAL,
					    "%s/%s: field '%s[%zu]': expected "
					    "a name",
					    f->root, f->rel, what, n);
		if (!((*out)[n++] = molt_strdup(v->valuestring)))
			return molt_err_set(err, MOLT_ENOMEM, "out of memory");
		*n_out = n;
	}
	return MOLT_OK;
}

/* Check module m's .so and record its name and absolute path. */
static int read_module(molt__appspec *a, const molt__manifest *mf, const src *f,
		       const char *lib, const cJSON *m, molt_err *err)
{
	const char *name = NULL, *file = NULL, *sum = NULL;
	molt_buf rel = MOLT_BUF_INIT, abs = MOLT_BUF_INIT;
	int rc;

	if ((rc = get_str(&name, f, m, "modules[].", "name", 1, err)) < 0 ||
	    (rc = get_str(&file, f, m, "modules[].", "file", 0, err)) < 0 ||
	    (rc = get_str(&sum, f, m, "modules[].", "sha256", 0, err)) < 0)
		return rc;
	if (!valid_rel_path(file))
		return molt_err_set(err, MOLT_EUNSAFE,
				    "%s/%s: module '%s': file '%s' is not a "
				    "relative path inside the application",
				    f->root, f->rel, name, file);
	if (molt_buf_printf(&rel, "%s/%s", lib, file) < 0 ||
	    molt_buf_printf(&abs, "%s/%s", f->root, rel.ptr) < 0) {
		rc = molt_err_set(err, MOLT_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = molt__manifest_check(mf, rel.ptr, sum, err)) < 0)
		goto out;
	a->mods[a->n_mods] = molt_strdup(name);
	a->paths[a->n_mods] = molt_buf_detach(&abs);
	a->sums[a->n_mods] = molt_strdup(sum);
	a->n_mods++;
	if (!a->mods[a->n_mods - 1] || !a->paths[a->n_mods - 1] ||
	    !a->sums[a->n_mods - 1])
		rc = molt_err_set(err, MOLT_ENOMEM, "out of memory");
out:
	molt_buf_release(&abs);
	molt_buf_release(&rel);
	return rc;
}

static int read_modules(molt__appspec *a, const molt__manifest *mf,
			const src *f, const char *lib, const cJSON *mods,
			molt_err *err)
{
	size_t n = (size_t)cJSON_GetArraySize(mods);
	const cJSON *m;
	int rc;

	if (!cJSON_IsArray(mods) || n == 0)
		return molt_err_set(err, MOLT_EINVAL,
				    "%s/%s: field 'modules': expected a "
				    "non-empty array",
				    f->root, f->rel);
	a->mods = molt_calloc(n, sizeof(char *));
	a->paths = molt_calloc(n, sizeof(char *));
	a->sums = molt_calloc(n, sizeof(char *));
	if (!a->mods || !a->paths || !a->sums)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	cJSON_ArrayForEach(m, mods)
	{
		if ((rc = read_module(a, mf, f, lib, m, err)) < 0)
			return rc;
	}
	return MOLT_OK;
}

/* The env and supervisor objects, as text. */
static int read_env_sup(molt__appspec *a, const src *f, const cJSON *j,
			molt_err *err)
{
	const cJSON *env = cJSON_GetObjectItem(j, "env");
	const cJSON *sup = cJSON_GetObjectItem(j, "supervisor");

	if ((env && !cJSON_IsObject(env)) || (sup && !cJSON_IsObject(sup)))
		return molt_err_set(err, MOLT_EINVAL,
				    "%s/%s: fields 'env' and 'supervisor': "
				    "expected objects",
				    f->root, f->rel);
	a->env = env ? print_dup(env) : molt_strdup("{}");
	a->sup = sup ? print_dup(sup) : NULL;
	if (!a->env || (sup && !a->sup))
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	return MOLT_OK;
}

static int read_app(molt__appspec *a, const molt__manifest *mf,
		    const char *root, const char *lib, molt_err *err)
{
	molt_buf rel = MOLT_BUF_INIT;
	const char *name, *vsn;
	cJSON *j = NULL;
	src f = {root, NULL};
	int rc;

	if (molt_buf_printf(&rel, "%s/app.json", lib) < 0)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	f.rel = rel.ptr;
	if ((rc = molt__manifest_check(mf, rel.ptr, NULL, err)) < 0 ||
	    (rc = read_json(&j, &f, err)) < 0)
		goto out;
	if ((rc = get_str(&name, &f, j, "", "name", 1, err)) < 0 ||
	    (rc = get_str(&vsn, &f, j, "", "vsn", 1, err)) < 0)
		goto out;
	if (strcmp(name, a->name) != 0 || strcmp(vsn, a->vsn) != 0) {
		rc = molt_err_set(err, MOLT_EINVAL,
				  "%s/%s: is %s %s, the release names %s %s",
				  root, rel.ptr, name, vsn, a->name, a->vsn);
		goto out;
	}
	if ((rc = read_modules(a, mf, &f, lib,
			       cJSON_GetObjectItem(j, "modules"), err)) ==
		    MOLT_OK &&
	    (rc = str_array(&a->deps, &a->n_deps, &f,
			    cJSON_GetObjectItem(j, "deps"), "deps", err)) ==
		    MOLT_OK)
		rc = read_env_sup(a, &f, j, err);
out:
	cJSON_Delete(j);
	molt_buf_release(&rel);
	return rc;
}

/* --- release.json --- */

static int read_entry(molt__appspec *a, const molt__manifest *mf, const src *f,
		      const cJSON *e, molt_err *err)
{
	const char *name = NULL, *vsn = NULL, *lib = NULL;
	int rc;

	if ((rc = get_str(&name, f, e, "applications[].", "name", 1, err)) <
		    0 ||
	    (rc = get_str(&vsn, f, e, "applications[].", "vsn", 1, err)) < 0 ||
	    (rc = get_str(&lib, f, e, "applications[].", "lib", 0, err)) < 0)
		return rc;
	if (strncmp(lib, "lib/", 4) != 0 || !valid_name(lib + 4))
		return molt_err_set(err, MOLT_EUNSAFE,
				    "%s/%s: application '%s': lib '%s' is not "
				    "lib/NAME",
				    f->root, f->rel, name, lib);
	a->name = molt_strdup(name);
	a->vsn = molt_strdup(vsn);
	if (!a->name || !a->vsn)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	return read_app(a, mf, f->root, lib, err);
}

/* release.json is the release RELEASES.json names. */
static int check_names(const molt__relspec *rs, const src *f, const cJSON *j,
		       molt_err *err)
{
	const char *name = NULL, *vsn = NULL;
	int rc;

	if ((rc = get_str(&name, f, j, "", "name", 1, err)) < 0 ||
	    (rc = get_str(&vsn, f, j, "", "vsn", 1, err)) < 0)
		return rc;
	if (strcmp(name, rs->name) != 0 || strcmp(vsn, rs->vsn) != 0)
		return molt_err_set(err, MOLT_EINVAL,
				    "%s/%s: is release %s %s, RELEASES.json "
				    "names %s %s",
				    f->root, f->rel, name, vsn, rs->name,
				    rs->vsn);
	return MOLT_OK;
}

static int read_release(molt__relspec *rs, const molt__manifest *mf,
			const char *root, molt_err *err)
{
	molt_buf rel = MOLT_BUF_INIT;
	const cJSON *apps, *e;
	cJSON *j = NULL;
	src f = {root, NULL};
	int rc;

	if (molt_buf_printf(&rel, "releases/%s/release.json", rs->vsn) < 0)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	f.rel = rel.ptr;
	if ((rc = molt__manifest_check(mf, rel.ptr, NULL, err)) < 0 ||
	    (rc = read_json(&j, &f, err)) < 0)
		goto out;
	if ((rc = check_names(rs, &f, j, err)) < 0)
		goto out;
	apps = cJSON_GetObjectItem(j, "applications");
	rs->apps = molt_calloc((size_t)cJSON_GetArraySize(apps) + 1,
			       sizeof(*rs->apps));
	if (!rs->apps) {
		rc = molt_err_set(err, MOLT_ENOMEM, "out of memory");
		goto out;
	}
	if (!cJSON_IsArray(apps) || cJSON_GetArraySize(apps) == 0) {
		rc = molt_err_set(err, MOLT_EINVAL,
				  "%s/%s: field 'applications': expected a "
				  "non-empty array",
				  root, rel.ptr);
		goto out;
	}
	cJSON_ArrayForEach(e, apps)
	{
		rc = read_entry(&rs->apps[rs->n++], mf, &f, e, err);
		if (rc < 0)
			break;
	}
out:
	cJSON_Delete(j);
	molt_buf_release(&rel);
	return rc;
}

int molt__relspec_read_vsn(molt__relspec *out, const char *root,
			   const char *vsn, molt_err *err)
{
	molt__manifest mf;
	const char *name, *v;
	cJSON *doc = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = find_release(&name, &v, root, vsn, &doc, err)) == MOLT_OK) {
		out->name = molt_strdup(name);
		out->vsn = molt_strdup(v);
		if (!out->name || !out->vsn)
			rc = molt_err_set(err, MOLT_ENOMEM, "out of memory");
	}
	cJSON_Delete(doc);
	if (rc == MOLT_OK &&
	    (rc = molt__manifest_init(&mf, root, out->vsn, err)) == MOLT_OK) {
		if ((rc = molt__manifest_check_all(&mf, err)) == MOLT_OK)
			rc = read_release(out, &mf, root, err);
		molt__manifest_release(&mf);
	}
	if (rc < 0)
		molt__relspec_release(out);
	return rc;
}

int molt__relspec_read(molt__relspec *out, const char *root, molt_err *err)
{
	return molt__relspec_read_vsn(out, root, NULL, err);
}

/* --- start order --- */

static long index_of(const molt__relspec *rs, const char *name)
{
	for (size_t i = 0; i < rs->n; i++)
		if (strcmp(rs->apps[i].name, name) == 0)
			return (long)i;
	return -1;
}

static int deps_known(const molt__relspec *rs, molt_err *err)
{
	for (size_t i = 0; i < rs->n; i++)
		for (size_t d = 0; d < rs->apps[i].n_deps; d++)
			if (index_of(rs, rs->apps[i].deps[d]) < 0)
				return molt_err_set(
					err, MOLT_EINVAL,
					"application '%s' depends on '%s', "
					"which release %s %s does not include",
					rs->apps[i].name, rs->apps[i].deps[d],
					rs->name, rs->vsn);
	return MOLT_OK;
}

static int ready(const molt__relspec *rs, size_t i, const char *placed)
{
	for (size_t d = 0; d < rs->apps[i].n_deps; d++)
		if (!placed[index_of(rs, rs->apps[i].deps[d])])
			return 0;
	return 1;
}

static int start_order(size_t *order, const molt__relspec *rs, molt_err *err)
{
	char *placed = molt_calloc(rs->n, 1);
	size_t n = 0, i = 0;
	int rc = MOLT_OK;

	if (!placed)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	while (n < rs->n) {
		for (i = 0; i < rs->n; i++)
			if (!placed[i] && ready(rs, i, placed))
				break;
		if (i == rs->n) {
			rc = molt_err_set(err, MOLT_EINVAL,
					  "release %s %s: the deps of its "
					  "applications form a cycle",
					  rs->name, rs->vsn);
			break;
		}
		placed[i] = 1;
		order[n++] = i;
	}
	molt_free(placed);
	return rc;
}

int molt__relspec_order(size_t *order, const molt__relspec *rs, molt_err *err)
{
	int rc = deps_known(rs, err);

	return rc < 0 ? rc : start_order(order, rs, err);
}

static void free_strs(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		molt_free(v[i]);
	molt_free(v);
}

void molt__relspec_release(molt__relspec *rs)
{
	for (size_t i = 0; rs->apps && i < rs->n; i++) {
		molt__appspec *a = &rs->apps[i];

		molt_free(a->name);
		molt_free(a->vsn);
		free_strs(a->mods, a->n_mods);
		free_strs(a->paths, a->n_mods);
		free_strs(a->sums, a->n_mods);
		free_strs(a->deps, a->n_deps);
		molt_free(a->env);
		molt_free(a->sup);
	}
	molt_free(rs->apps);
	molt_free(rs->name);
	molt_free(rs->vsn);
	memset(rs, 0, sizeof(*rs));
}
