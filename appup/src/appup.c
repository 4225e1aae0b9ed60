/* Appup files: loading, shape, version search and checking. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "molt/appup.h"

#include <pcre2.h>
#include <stdio.h>
#include <string.h>

#include "appup_json.h"
#include "rc.h"

/* last: bans unsafe functions (STYLE.md) */
#include "molt/banned.h"

MOLT_PRINTF(3, 4)
static int shape_error(molt_err *err, molt_pos pos, const char *fmt, ...)
{
	char where[200], msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return molt_err_set(err, MOLT_EPARSE, "%s: %s",
			    molt_pos_format(where, sizeof(where), pos), msg);
}

/*
 * A version where OTP expects a string: a list of character codes, as
 * io:format("~w") writes "1.0", becomes the string term; anything else
 * (a binary regex, a term that never matches) is kept.
 */
static int as_string(const molt_term **out, molt_appup *ap, const molt_term *t,
		     molt_err *err)
{
	int rc = molt_term_to_string(out, ap->arena, t);

	if (rc < 0)
		return molt_err_set(err, rc, "out of memory");
	if (rc == 0)
		*out = t;
	return 0;
}

static int read_entries(molt_appup *ap, const molt_term *list,
			molt_appup_entry **out, size_t *n, const char *which,
			molt_err *err)
{
	size_t i;
	int rc;

	if (list->kind != MOLT_TERM_LIST &&
	    !(list->kind == MOLT_TERM_STRING && list->u.str.len == 0))
		return shape_error(err, list->pos,
				   "expected the %s list [{Vsn, Instructions}]",
				   which);
	*n = molt_term_list_len(list);
	*out = molt_arena_alloc(ap->arena, (*n + 1) * sizeof(**out));
	if (!*out)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	for (i = 0; i < *n; i++) {
		const molt_term *e = list->u.seq.items[i];

		if (e->kind != MOLT_TERM_TUPLE || e->u.seq.n != 2)
			return shape_error(err, e->pos,
					   "expected a {Vsn, Instructions} "
					   "entry in the %s list",
					   which);
		if (!molt_term_is_list(e->u.seq.items[1]))
			return shape_error(err, e->u.seq.items[1]->pos,
					   "expected a list of instructions");
		if ((rc = as_string(&(*out)[i].key, ap, e->u.seq.items[0],
				    err)) < 0)
			return rc;
		(*out)[i].instrs = e->u.seq.items[1];
	}
	return 0;
}

/* Check {Vsn, Up, Down} and index the entries. */
static int read_shape(molt_appup *ap, const molt_term *t, molt_err *err)
{
	int rc;

	if (t->kind != MOLT_TERM_TUPLE || t->u.seq.n != 3)
		return shape_error(
			err, t->pos,
			"expected {Vsn, [{UpFromVsn, Instructions}], "
			"[{DownToVsn, Instructions}]}");
	ap->term = t;
	if ((rc = as_string(&ap->vsn, ap, t->u.seq.items[0], err)) < 0)
		return rc;
	if ((rc = read_entries(ap, t->u.seq.items[1], &ap->up, &ap->nup, "up",
			       err)) < 0)
		return rc;
	return read_entries(ap, t->u.seq.items[2], &ap->down, &ap->ndown,
			    "down", err);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

int molt_appup_parse(molt_appup **out, const char *file, const char *text,
		     size_t len, const molt_appup_load_opts *opts,
		     molt_err *err)
{
	static const molt_appup_load_opts defaults = MOLT_APPUP_LOAD_OPTS_INIT;
	molt_parse_opts po = MOLT_PARSE_OPTS_INIT;
	molt_appup *ap;
	molt_term *terms;
	int json, rc;

	opts = opts ? opts : &defaults;
	json = opts->json >= 0 ? opts->json : ends_with(file, ".json");
	ap = molt_calloc(1, sizeof(*ap));
	if (!ap || !(ap->arena = molt_arena_new())) {
		molt_free(ap);
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	}
	ap->file = molt_arena_strndup(ap->arena, file, strlen(file));
	if (json) {
		rc = molt__appup_json_parse(&terms, ap->arena, ap->file, text,
					    len, err);
	} else {
		po.file = ap->file;
		po.vsn = opts->vsn;
		po.all_terms = 1;
		po.placeholders = opts->placeholders;
		rc = molt_term_parse(&terms, ap->arena, text, len, &po, err);
	}
	if (rc == 0) {
		ap->ignored_terms = terms->u.seq.n - 1;
		rc = read_shape(ap, terms->u.seq.items[0], err);
	}
	if (rc < 0) {
		molt_appup_free(ap);
		return rc;
	}
	*out = ap;
	return 0;
}

int molt_appup_load(molt_appup **out, const char *path,
		    const molt_appup_load_opts *opts, molt_err *err)
{
	molt_buf text = MOLT_BUF_INIT;
	int rc;

	if ((rc = molt_buf_read_file(&text, path, err)) < 0)
		return rc;
	rc = molt_appup_parse(out, path, text.ptr, text.len, opts, err);
	molt_buf_release(&text);
	return rc;
}

void molt_appup_free(molt_appup *ap)
{
	if (!ap)
		return;
	molt_arena_free(ap->arena);
	molt_free(ap);
}

static int regex_match(const molt_term *key, const char *vsn, molt_err *err)
{
	char where[200];
	pcre2_code *re;
	pcre2_match_data *md;
	PCRE2_SIZE erroff, *ov;
	int errcode, rc;

	re = pcre2_compile((PCRE2_SPTR)key->u.str.s, key->u.str.len, PCRE2_UTF,
			   &errcode, &erroff, NULL);
	if (!re) {
		PCRE2_UCHAR msg[120];

		pcre2_get_error_message(errcode, msg, sizeof(msg));
		return molt_err_set(
			err, MOLT_EPARSE,
			"%s: bad version regex at offset %zu: %s",
			molt_pos_format(where, sizeof(where), key->pos),
			(size_t)erroff, (char *)msg);
	}
	md = pcre2_match_data_create_from_pattern(re, NULL);
	if (!md) {
		pcre2_code_free(re);
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	}
	rc = pcre2_match(re, (PCRE2_SPTR)vsn, strlen(vsn), 0, 0, md, NULL);
	ov = pcre2_get_ovector_pointer(md);
	/* OTP: the first match found must be the whole version */
	rc = rc >= 0 && ov[0] == 0 && ov[1] == strlen(vsn);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	return rc;
}

int molt_vsn_match(const molt_term *key, const char *vsn, molt_err *err)
{
	molt_buf text = MOLT_BUF_INIT;
	int rc;

	if (key->kind == MOLT_TERM_STRING)
		return key->u.str.len == strlen(vsn) &&
		       memcmp(key->u.str.s, vsn, key->u.str.len) == 0;
	if (key->kind == MOLT_TERM_BINARY)
		return regex_match(key, vsn, err);
	if (!molt_term_is_string(key))
		return 0;
	/* a list of character codes ("~w" form): the same string */
	if ((rc = molt_term_put_string(&text, key)) < 0)
		return molt_err_set(err, rc, "out of memory");
	rc = text.len == strlen(vsn) && memcmp(text.ptr, vsn, text.len) == 0;
	molt_buf_release(&text);
	return rc;
}

int molt_appup_search(const molt_term **out, const molt_appup *ap, int down,
		      const char *vsn, molt_err *err)
{
	const molt_appup_entry *e = down ? ap->down : ap->up;
	size_t i, n = down ? ap->ndown : ap->nup;
	int rc;

	for (i = 0; i < n; i++) {
		if ((rc = molt_vsn_match(e[i].key, vsn, err)) < 0)
			return rc;
		if (rc) {
			*out = e[i].instrs;
			return 0;
		}
	}
	return molt_err_set(err, MOLT_ENOTFOUND,
			    "%s: no %s entry for version %s", ap->file,
			    down ? "down" : "up", vsn);
}

MOLT_PRINTF(4, 5)
static void diagf(molt_diag_fn diag, void *payload, int level, const char *fmt,
		  ...)
{
	char msg[400];
	va_list ap;

	if (!diag)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag(level, msg, payload);
}

static void warn_cycles(const molt_term *groups, molt_diag_fn diag,
			void *payload)
{
	char where[200];
	size_t g, s, m;

	for (g = 0; g < groups->u.seq.n; g++) {
		const molt_term *sccs = groups->u.seq.items[g];

		for (s = 0; s < sccs->u.seq.n; s++) {
			const molt_term *scc = sccs->u.seq.items[s];
			molt_buf names = MOLT_BUF_INIT;

			if (scc->u.seq.n < 2)
				continue;
			for (m = 0; m < scc->u.seq.n; m++)
				molt_buf_printf(&names, "%s%s", m ? ", " : "",
						scc->u.seq.items[m]->u.str.s);
			diagf(diag, payload, MOLT_DIAG_WARNING,
			      "%s: warning: dependency cycle between %s: "
			      "accepted as OTP does, loaded as one group in "
			      "appup order",
			      molt_pos_format(where, sizeof(where),
					      scc->u.seq.items[0]->pos),
			      names.ptr);
			molt_buf_release(&names);
		}
	}
}

static int check_entry(const molt_appup *ap, const molt_appup_entry *e,
		       molt_diag_fn diag, void *payload, molt_err *first)
{
	molt_err err = MOLT_ERR_INIT;
	molt_term *groups;
	int rc;

	if (e->key->kind == MOLT_TERM_BINARY &&
	    (rc = molt_vsn_match(e->key, "", &err)) < 0)
		goto out_err;
	if (e->key->kind != MOLT_TERM_BINARY && !molt_term_is_string(e->key)) {
		char where[200];

		diagf(diag, payload, MOLT_DIAG_WARNING,
		      "%s: warning: version key %s is neither a string nor a "
		      "binary regex: it never matches",
		      molt_pos_format(where, sizeof(where), e->key->pos),
		      molt__rc_name(e->key));
	}
	if ((rc = molt__rc_check(ap->arena, e->instrs, &groups, &err)) < 0)
		goto out_err;
	warn_cycles(groups, diag, payload);
	return 0;
out_err:
	diagf(diag, payload, MOLT_DIAG_ERROR, "%s", err.msg);
	if (first->code == MOLT_OK)
		*first = err;
	return rc;
}

static void check_header(const molt_appup *ap, molt_diag_fn diag, void *payload)
{
	char where[200];

	if (ap->ignored_terms)
		diagf(diag, payload, MOLT_DIAG_WARNING,
		      "%s: warning: %zu term(s) after the first are ignored "
		      "(systools reads only the first)",
		      ap->file, ap->ignored_terms);
	if (ap->vsn->kind == MOLT_TERM_STRING &&
	    strstr(ap->vsn->u.str.s, "%VSN%"))
		diagf(diag, payload, MOLT_DIAG_WARNING,
		      "%s: warning: version placeholder %%VSN%% not "
		      "substituted (give --vsn)",
		      molt_pos_format(where, sizeof(where), ap->vsn->pos));
	else if (ap->vsn->kind != MOLT_TERM_STRING)
		diagf(diag, payload, MOLT_DIAG_WARNING,
		      "%s: warning: the appup version is not a string",
		      molt_pos_format(where, sizeof(where), ap->vsn->pos));
}

int molt_appup_check(const molt_appup *ap, molt_diag_fn diag, void *payload,
		     molt_err *err)
{
	molt_err first = MOLT_ERR_INIT;
	size_t i;

	check_header(ap, diag, payload);
	for (i = 0; i < ap->nup; i++)
		check_entry(ap, &ap->up[i], diag, payload, &first);
	for (i = 0; i < ap->ndown; i++)
		check_entry(ap, &ap->down[i], diag, payload, &first);
	if (first.code == MOLT_OK)
		return MOLT_OK;
	if (err)
		*err = first;
	return first.code;
}

/*
 * A string where a list of instructions goes: its character codes, as
 * Erlang reads it (the 3 bytes of U+7EFB in UTF-8 are one code, 32507),
 * each after sep but the first (appup_json.h).
 */
int molt__appup_print_codes(molt_buf *out, const molt_term *s,
			    const char *first, const char *sep)
{
	size_t pos = 0, k = 0;
	int64_t code;
	int rc = 0;

	while (rc == 0 && molt_term_next_code(s, &pos, &code) == 1) {
		rc = molt_buf_puts(out, k++ ? sep : first);
		if (rc == 0)
			rc = molt_buf_printf(out, "%lld", (long long)code);
	}
	return rc;
}

static int print_entries(molt_buf *out, const molt_appup_entry *e, size_t n)
{
	size_t i, k;
	int rc = molt_buf_puts(out, " [");

	for (i = 0; rc == 0 && i < n; i++) {
		size_t ni = molt_term_list_len(e[i].instrs);

		rc = molt_buf_puts(out, i ? ",\n  {" : "{");
		if (rc == 0)
			rc = molt_term_print(out, e[i].key);
		if (rc == 0)
			rc = molt_buf_puts(out, ",\n   [");
		if (e[i].instrs->kind == MOLT_TERM_LIST)
			for (k = 0; rc == 0 && k < ni; k++) {
				if (k)
					rc = molt_buf_puts(out, ",\n    ");
				if (rc == 0)
					rc = molt_term_print(
						out,
						e[i].instrs->u.seq.items[k]);
			}
		else
			rc = molt__appup_print_codes(out, e[i].instrs, "",
						     ",\n    ");
		if (rc == 0)
			rc = molt_buf_puts(out, "]}");
	}
	return rc ? rc : molt_buf_puts(out, "]");
}

int molt_appup_to_terms(molt_buf *out, const molt_appup *ap)
{
	int rc;

	if ((rc = molt_buf_puts(out, "{")) < 0 ||
	    (rc = molt_term_print(out, ap->vsn)) < 0 ||
	    (rc = molt_buf_puts(out, ",\n")) < 0 ||
	    (rc = print_entries(out, ap->up, ap->nup)) < 0 ||
	    (rc = molt_buf_puts(out, ",\n")) < 0 ||
	    (rc = print_entries(out, ap->down, ap->ndown)) < 0)
		return rc;
	return molt_buf_puts(out, "}.\n");
}
