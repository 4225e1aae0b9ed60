/* Internal: appup.json reading (a small JSON reader that keeps positions). */
#ifndef MOLT_APPUP_APPUP_JSON_H
#define MOLT_APPUP_APPUP_JSON_H

#include "molt/term.h"

/*
 * Read appup.json text into the appup term {Vsn, Up, Down}, returned as
 * the only element of a list term (like molt_term_parse). MOLT_EPARSE with
 * "file:line:col: ..." on error.
 */
int molt__appup_json_parse(molt_term **out, molt_arena *a, const char *file,
			   const char *text, size_t len, molt_err *err);

/* t in the appup.json value encoding (atoms are plain strings). */
int molt__term_to_appup_json(molt_buf *out, const molt_term *t);
/* t in the low-level script encoding (atoms and strings are strings). */
int molt_script_to_json_value(molt_buf *out, const molt_term *t);

#endif
