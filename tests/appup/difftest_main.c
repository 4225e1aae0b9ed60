/* molt's side of the differential test: translate every case of a cases
 * file (see difftest.escript) and write the results as Erlang terms. */
#include <stdio.h>
#include <string.h>

#include "molt/appup.h"
#include "molt/buf.h"

#include "appup_support.h"

/* last: bans unsafe functions (STYLE.md) */
#include "molt/banned.h"

/* {ok, Script} or {error, Reason} into out; groups printed after it. */
static int translate(molt_arena *a, const molt_term *c, int quirks,
		     molt_buf *out)
{
	const molt_term *scripts = c->u.seq.items[5];
	molt_appinfo newa[8], olda[8];
	molt_rc_opts o = MOLT_RC_OPTS_INIT;
	molt_err err = MOLT_ERR_INIT;
	molt_term *script = NULL, *reason = NULL, *groups = NULL;
	int up = molt_term_is_atom(c->u.seq.items[2], "up");
	int nn = appup_test_apps(a, c->u.seq.items[3], newa, 8);
	int no = appup_test_apps(a, c->u.seq.items[4], olda, 8);
	int rc;

	if (nn < 0 || no < 0)
		return -1;
	o.mode = up ? MOLT_UP : MOLT_DOWN;
	o.apps = up ? newa : olda;
	o.napps = (size_t)(up ? nn : no);
	o.pre_apps = up ? olda : newa;
	o.npre_apps = (size_t)(up ? no : nn);
	o.otp_quirks = quirks;
	rc = molt_rc_translate(&script, a, &o,
			       (const molt_term *const *)scripts->u.seq.items,
			       scripts->u.seq.n, &reason, &groups, &err);
	if (rc == 0) {
		molt_buf_puts(out, "{ok,");
		molt_term_print(out, script);
		molt_buf_puts(out, "},");
		molt_term_print(out, groups);
	} else if (reason) {
		molt_buf_puts(out, "{error,");
		molt_term_print(out, reason);
		molt_buf_puts(out, "},");
		molt_term_print(out, groups);
	} else {
		fprintf(stderr, "case failed without a reason: %s\n", err.msg);
		return -1;
	}
	return 0;
}

/* {result, Id, Result, Groups, ResultWithOtpQuirks}. */
static int one_case(molt_arena *a, const molt_term *c, molt_buf *out)
{
	molt_buf_puts(out, "{result,");
	molt_term_print(out, c->u.seq.items[1]);
	molt_buf_putc(out, ',');
	if (translate(a, c, 0, out) < 0)
		return -1;
	molt_buf_putc(out, ',');
	if (translate(a, c, 1, out) < 0)
		return -1;
	return molt_buf_puts(out, "}.\n");
}

int main(int argc, char **argv)
{
	molt_arena *a;
	molt_term *cases;
	molt_buf out = MOLT_BUF_INIT;
	molt_err err = MOLT_ERR_INIT;
	size_t i;

	if (argc != 3) {
		fprintf(stderr, "usage: molt_appup_difftest CASES RESULTS\n");
		return 2;
	}
	a = molt_arena_new();
	cases = a ? appup_test_read_terms(a, argv[1]) : NULL;
	if (!cases)
		return 1;
	for (i = 0; i < cases->u.seq.n; i++)
		if (one_case(a, cases->u.seq.items[i], &out) < 0)
			return 1;
	if (molt_write_file_atomic(argv[2], out.ptr, out.len, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	molt_buf_release(&out);
	molt_arena_free(a);
	return 0;
}
