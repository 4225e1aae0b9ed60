/* Internal: appup.json reading (a small JSON reader that keeps positions). */
#ifndef MOLT_APPUP_APPUP_JSON_H
#define MOLT_APPUP_APPUP_JSON_H

#include <stdint.h>

#include "molt/term.h"

typedef enum jkind { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jkind;

typedef struct jnode jnode;
struct jnode {
	jkind kind;    /* which fields are valid */
	molt_pos pos;  /* where the value starts */
	int is_float;  /* J_NUM written with a fraction or exponent */
	int64_t i;     /* J_NUM integer value; J_BOOL 0/1 */
	double f;      /* J_NUM value */
	char *s;       /* J_STR text (may hold NULs) */
	size_t len;    /* J_STR length; J_ARR/J_OBJ item count */
	jnode **items; /* J_ARR items; J_OBJ values */
	char **keys;   /* J_OBJ keys */
};

/*
 * Read one JSON document (text, len bytes) into a tree of arena-owned
 * nodes that keep their positions. MOLT_EPARSE "file:line:col: ..." on
 * bad JSON.
 */
int molt__appup_jparse(jnode **out, molt_arena *a, const char *file,
		       const char *text, size_t len, molt_err *err);
/* The value of key in object obj, or NULL. */
const jnode *molt__appup_jmember(const jnode *obj, const char *key);

/*
 * Read appup.json text into the appup term {Vsn, Up, Down}, returned as
 * the only element of a list term (like molt_term_parse). MOLT_EPARSE with
 * "file:line:col: ..." on error.
 */
int molt__appup_json_parse(molt_term **out, molt_arena *a, const char *file,
			   const char *text, size_t len, molt_err *err);

/* t in the appup.json value encoding (atoms are plain strings). */
int molt__term_to_appup_json(molt_buf *out, const molt_term *t);
/* The character codes of the string s (decoded as UTF-8), first before
 * the first and sep before each other (appup.c). */
int molt__appup_print_codes(molt_buf *out, const molt_term *s,
			    const char *first, const char *sep);
/* t in the low-level script encoding (atoms and strings are strings). */
int molt_script_to_json_value(molt_buf *out, const molt_term *t);

#endif
