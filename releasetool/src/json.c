/* JSON in the release tool (cJSON): parsing with positions, typed field
 * access, atomic writing; the names and paths the formats allow. */
#include "json.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "molt/buf.h"

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

/*
 * cJSON allocates through molt_malloc, so tests can make it fail, and
 * records a failure: a tree built while an allocation failed silently
 * lacks a member, so write_json refuses to write it. molt__json_begin() resets
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

void molt__json_begin(void)
{
	static cJSON_Hooks hooks = {json_malloc, molt_free};

	cJSON_InitHooks(&hooks);
	json_oom = 0;
}

/* Give item to obj (arr); on failure free it and note the failure, as
 * cJSON leaves an item that could not be added to its caller. */
void molt__json_add(cJSON *obj, const char *key, cJSON *item)
{
	if (!cJSON_AddItemToObject(obj, key, item)) {
		cJSON_Delete(item);
		json_oom = 1;
	}
}

void molt__json_push(cJSON *arr, cJSON *item)
{
	if (!cJSON_AddItemToArray(arr, item)) {
		cJSON_Delete(item);
		json_oom = 1;
	}
}

/* Names the root itself uses beside release and lib directories (the
 * pattern below already excludes "." "..", and ".lock" and ".staging-*"
 * by their leading dot). Compared without case, for case-insensitive
 * file systems. */
static const char *const reserved[] = {"RELEASES.json"};

int molt__name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 127 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	for (size_t i = 0; i < sizeof(reserved) / sizeof(*reserved); i++)
		if (strcasecmp(s, reserved[i]) == 0)
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

cJSON *molt__json_parse(const char *text, size_t len,
			const struct molt__jctx *c)
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

int molt__json_field_err(const struct molt__jctx *c, const char *where,
			 const char *key, const char *expected)
{
	return molt_err_set(c->err, MOLT_EPARSE,
			    "%s: field '%s%s%s': expected %s", c->file, where,
			    *where ? "." : "", key, expected);
}

/* String field key of obj; NULL and an error if required and missing. */
int molt__json_str(const char **out, const cJSON *obj, const char *key,
		   int required, const struct molt__jctx *c, const char *where)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	*out = NULL;
	if (!v && !required)
		return MOLT_OK;
	if (!cJSON_IsString(v) || !v->valuestring)
		return molt__json_field_err(c, where, key, "a string");
	*out = v->valuestring;
	return MOLT_OK;
}

int molt__json_name(const char **out, const cJSON *obj, const char *key,
		    const struct molt__jctx *c, const char *where)
{
	int rc = molt__json_str(out, obj, key, 1, c, where);

	if (rc == MOLT_OK && !molt__name_ok(*out))
		return molt__json_field_err(
			c, where, key,
			"a name of letters, digits and ._+- "
			"(at most 127 bytes)");
	return rc;
}

int molt__json_int(long *out, const cJSON *obj, const char *key, long dflt,
		   long min, const struct molt__jctx *c, const char *where)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	*out = dflt;
	if (!v)
		return MOLT_OK;
	if (!cJSON_IsNumber(v) ||
	    v->valuedouble != (double)(long)v->valuedouble ||
	    v->valuedouble < (double)min || v->valuedouble > 2147483647.0)
		return molt__json_field_err(c, where, key,
					    "an integer in range");
	*out = (long)v->valuedouble;
	return MOLT_OK;
}

int molt__json_format(const cJSON *root, int expected,
		      const struct molt__jctx *c)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "format");

	if (!cJSON_IsObject(root))
		return molt_err_set(c->err, MOLT_EPARSE,
				    "%s: expected a JSON object", c->file);
	if (!cJSON_IsNumber(v))
		return molt__json_field_err(c, "", "format",
					    "an integer format version");
	if (v->valuedouble != (double)expected)
		return molt_err_set(c->err, MOLT_EVERSION,
				    "%s: field 'format': version %g is not "
				    "supported (expected %d)",
				    c->file, v->valuedouble, expected);
	return MOLT_OK;
}

cJSON *molt__json_read(const char *path, const struct molt__jctx *c)
{
	molt_buf b = MOLT_BUF_INIT;
	cJSON *j;

	if (molt_buf_read_file(&b, path, c->err) < 0)
		return NULL;
	j = molt__json_parse(b.ptr, b.len, c);
	molt_buf_release(&b);
	return j;
}

/* ---- writing ---- */

int molt__json_write(const char *path, cJSON *root, molt_err *err)
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
