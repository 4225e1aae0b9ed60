/* Booting from a boot spec file: load the modules, start the root tree. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "molt/buf.h"
#include "molt/common.h"
#include "molt/runtime.h"

#include "molt/banned.h"

#define BOOT_FORMAT 1

/* line:col of offset off in text (1-based). */
static void position(const char *text, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && text[i]; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static int parse(cJSON **out, const char *path, const molt_buf *b,
		 molt_err *err)
{
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithOpts(b->ptr, &end, 1);
	int line, col;

	if (!j) {
		end = cJSON_GetErrorPtr();
		position(b->ptr, end ? (size_t)(end - b->ptr) : 0, &line, &col);
		return molt_err_set(err, MOLT_EPARSE, "%s:%d:%d: invalid JSON",
				    path, line, col);
	}
	*out = j;
	return MOLT_OK;
}

static int check_format(const char *path, const cJSON *j, molt_err *err)
{
	const cJSON *f = cJSON_GetObjectItem(j, "format");

	if (!cJSON_IsObject(j))
		return molt_err_set(err, MOLT_EINVAL,
				    "%s: boot spec must be a JSON object",
				    path);
	if (!cJSON_IsNumber(f))
		return molt_err_set(err, MOLT_EVERSION,
				    "%s: boot spec has no \"format\" number",
				    path);
	if (f->valuedouble != BOOT_FORMAT)
		return molt_err_set(err, MOLT_EVERSION,
				    "%s: boot spec format %g is not supported "
				    "(this moltd reads %d)",
				    path, f->valuedouble, BOOT_FORMAT);
	return MOLT_OK;
}

static int load_modules(molt_runtime *rt, const char *path, const cJSON *mods,
			molt_err *err)
{
	char dir[PATH_MAX], full[PATH_MAX];
	const char *slash = strrchr(path, '/');
	const cJSON *m;
	int i = 0, rc, n;

	if (mods && !cJSON_IsArray(mods))
		return molt_err_set(err, MOLT_EINVAL,
				    "%s: \"modules\" must be an array of paths",
				    path);
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1,
		 slash ? path : ".");
	cJSON_ArrayForEach(m, mods)
	{
		if (!cJSON_IsString(m))
			return molt_err_set(err, MOLT_EINVAL,
					    "%s: modules[%d] is not a string",
					    path, i);
		if (m->valuestring[0] == '/')
			n = snprintf(full, sizeof(full), "%s", m->valuestring);
		else
			n = snprintf(full, sizeof(full), "%s/%s", dir,
				     m->valuestring);
		if (n < 0 || (size_t)n >= sizeof(full))
			return molt_err_set(err, MOLT_EINVAL,
					    "%s: modules[%d]: path too long",
					    path, i);
		rc = molt_runtime_load(rt, full, NULL, 0, NULL, 0, err);
		if (rc < 0)
			return molt_err_prefix(err, "%s: modules[%d]", path, i);
		i++;
	}
	return MOLT_OK;
}

static int start_root(molt_runtime *rt, molt_pid *out, const char *path,
		      const cJSON *root, molt_err *err)
{
	char *text;
	int rc;

	if (!cJSON_IsObject(root))
		return molt_err_set(err, MOLT_EINVAL,
				    "%s: boot spec has no \"root\" supervisor "
				    "object",
				    path);
	text = cJSON_PrintUnformatted(root);
	if (!text)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	rc = molt_runtime_start_supervisor(rt, out, text, err);
	cJSON_free(text);
	if (rc < 0)
		molt_err_prefix(err, "%s: root", path);
	return rc;
}

int molt_runtime_boot(molt_runtime *rt, molt_pid *out, const char *spec_path,
		      molt_err *err)
{
	molt_buf b = MOLT_BUF_INIT;
	cJSON *j = NULL;
	int rc;

	if ((rc = molt_buf_read_file(&b, spec_path, err)) < 0)
		return rc;
	rc = parse(&j, spec_path, &b, err);
	molt_buf_release(&b);
	if (rc < 0)
		return rc;
	if ((rc = check_format(spec_path, j, err)) == MOLT_OK &&
	    (rc = load_modules(rt, spec_path, cJSON_GetObjectItem(j, "modules"),
			       err)) == MOLT_OK)
		rc = start_root(rt, out, spec_path,
				cJSON_GetObjectItem(j, "root"), err);
	cJSON_Delete(j);
	return rc;
}
