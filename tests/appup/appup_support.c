/* Helpers for the appup suites. */
#include "appup_support.h"

#include <stdio.h>

#include "molt/buf.h"

/* last: bans unsafe functions (STYLE.md) */
#include "molt/banned.h"

const char *appup_test_str(molt_arena *a, const molt_term *t)
{
	const molt_term *s = NULL;

	if (t->kind == MOLT_TERM_ATOM)
		return t->u.str.s;
	if (molt_term_to_string(&s, a, t) != 1)
		return NULL;
	return s->u.str.s;
}

int appup_test_apps(molt_arena *a, const molt_term *list, molt_appinfo *apps,
		    size_t max)
{
	size_t i, k;

	for (i = 0; i < list->u.seq.n && i < max; i++) {
		const molt_term *t = list->u.seq.items[i], *mods;
		molt_modinfo *m;

		if (t->kind != MOLT_TERM_TUPLE || t->u.seq.n != 4)
			return -1;
		mods = t->u.seq.items[3];
		m = molt_arena_alloc(a, (mods->u.seq.n + 1) * sizeof(*m));
		if (!m)
			return -1;
		for (k = 0; k < mods->u.seq.n; k++)
			m[k].name = mods->u.seq.items[k]->u.str.s;
		apps[i].name = t->u.seq.items[0]->u.str.s;
		apps[i].vsn = appup_test_str(a, t->u.seq.items[1]);
		apps[i].type = t->u.seq.items[2]->u.str.s;
		if (!apps[i].vsn)
			return -1;
		apps[i].mods = m;
		apps[i].nmods = mods->u.seq.n;
	}
	return (int)i;
}

molt_term *appup_test_read_terms(molt_arena *a, const char *path)
{
	molt_parse_opts po = MOLT_PARSE_OPTS_INIT;
	molt_buf text = MOLT_BUF_INIT;
	molt_err err = MOLT_ERR_INIT;
	molt_term *out = NULL;

	po.file = path;
	po.all_terms = 1;
	if (molt_buf_read_file(&text, path, &err) < 0 ||
	    molt_term_parse(&out, a, text.ptr, text.len, &po, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		out = NULL;
	}
	molt_buf_release(&text);
	return out;
}
