/* JSON in the release tool (cJSON): parsing with positions, typed field
 * access with messages naming the file and the field, and writing. Also
 * the names and paths the formats allow. */
#ifndef MOLT_RELEASETOOL_JSON_H
#define MOLT_RELEASETOOL_JSON_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "molt/common.h"

/* A reader's context: the file, for messages. */
struct molt__jctx {
	const char *file; /* file name for messages */
	molt_err *err;	  /* where errors go */
};

/* Route cJSON's allocations through molt_malloc and clear the
 * out-of-memory flag; call at the start of every reader and writer. */
void molt__json_begin(void);

/* Give item to obj under key (molt__json_push: to array arr). On failure
 * item is freed and the tree is marked incomplete (see molt__json_write). */
void molt__json_add(cJSON *obj, const char *key, cJSON *item);
void molt__json_push(cJSON *arr, cJSON *item);

/* Parse text; NULL with "FILE:LINE:COL: malformed JSON" (MOLT_EPARSE) or
 * MOLT_ENOMEM. Returns owned tree (cJSON_Delete). */
cJSON *molt__json_parse(const char *text, size_t len,
			const struct molt__jctx *c);
/* Read and parse the file at path (c->file names it). */
cJSON *molt__json_read(const char *path, const struct molt__jctx *c);

/* "FILE: field 'WHERE.KEY': expected EXPECTED"; returns MOLT_EPARSE. */
int molt__json_field_err(const struct molt__jctx *c, const char *where,
			 const char *key, const char *expected);

/* Field key of obj as a string (NULL if absent and not required), as a
 * name (molt__name_ok), as an integer >= min (dflt if absent). */
int molt__json_str(const char **out, const cJSON *obj, const char *key,
		   int required, const struct molt__jctx *c, const char *where);
int molt__json_name(const char **out, const cJSON *obj, const char *key,
		    const struct molt__jctx *c, const char *where);
int molt__json_int(long *out, const cJSON *obj, const char *key, long dflt,
		   long min, const struct molt__jctx *c, const char *where);

/* root is an object whose "format" is expected; MOLT_EVERSION if not. */
int molt__json_format(const cJSON *root, int expected,
		      const struct molt__jctx *c);

/* Print root (takes it) to path atomically, with a final newline. Refuses
 * with MOLT_ENOMEM a tree built while an allocation failed. */
int molt__json_write(const char *path, cJSON *root, molt_err *err);

/* 1 if s is a safe name: [A-Za-z0-9][A-Za-z0-9._+-]*, at most 127 bytes,
 * not "." or "..". */
int molt__name_ok(const char *s);

/* 1 if path is relative, has no "..", "." or empty component. */
int molt__relpath_ok(const char *path);

#endif
