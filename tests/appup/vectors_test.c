/* Every case of ../shared/corpus/relup-vectors/systools_rc_otp25.terms:
 * molt's translation and version search against OTP 25's own output. */
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "molt/appup.h"

#include "appup_support.h"
#include "test_util.h"

/* last: bans unsafe functions (STYLE.md) */
#include "molt/banned.h"

#define VECTORS "corpus/relup-vectors/systools_rc_otp25.terms"
#define LOCAL	MOLT_FIXTURES_DIR "/../tests/appup/vectors/molt_cases.terms"

typedef struct world {
	molt_arena *a;	      /* every term */
	molt_term *all;	      /* the file's terms */
	molt_appinfo newa[8]; /* {apps, new, ...} */
	molt_appinfo olda[8]; /* {apps, old, ...} */
	int nnew, nold;	      /* counts */
} world;

/* The shared OTP 25 vectors (local == 0) or molt's own (local == 1). */
static int load_world(world *w, int local)
{
	const char *path =
		local ? LOCAL : molt_test_shared_path(VECTORS, "relup vectors");
	size_t i;

	memset(w, 0, sizeof(*w));
	if (!path)
		return 0;
	w->a = molt_arena_new();
	if (!w->a)
		return -1;
	w->all = appup_test_read_terms(w->a, path);
	if (!w->all)
		return -1;
	for (i = 0; i < w->all->u.seq.n; i++) {
		const molt_term *t = w->all->u.seq.items[i];

		if (!molt_term_is_tagged(t, "apps", 3))
			continue;
		if (molt_term_is_atom(t->u.seq.items[1], "new"))
			w->nnew = appup_test_apps(w->a, t->u.seq.items[2],
						  w->newa, 8);
		else
			w->nold = appup_test_apps(w->a, t->u.seq.items[2],
						  w->olda, 8);
	}
	return w->nnew > 0 && w->nold > 0 ? 1 : -1;
}

/* The n-th term tagged tag (translate or search), or NULL. */
static const molt_term *nth_case(const world *w, const char *tag, int n)
{
	size_t i;

	for (i = 0; i < w->all->u.seq.n; i++) {
		const molt_term *t = w->all->u.seq.items[i];

		if (t->kind == MOLT_TERM_TUPLE && t->u.seq.n >= 4 &&
		    molt_term_is_atom(t->u.seq.items[0], tag) && n-- == 0)
			return t;
	}
	return NULL;
}

static int count_cases(const char *tag, int local)
{
	world w;
	int n = 0;

	if (load_world(&w, local) != 1)
		return 1; /* one test, which reports the failure */
	while (nth_case(&w, tag, n))
		n++;
	molt_arena_free(w.a);
	return n;
}

static char *show(const molt_term *t)
{
	molt_buf b = MOLT_BUF_INIT;

	molt_term_print(&b, t);
	return molt_buf_detach(&b);
}

static void check_translate(world *w, const molt_term *c, int quirks)
{
	const char *name = appup_test_str(w->a, c->u.seq.items[1]);
	const molt_term *scripts = c->u.seq.items[3],
			*expect = c->u.seq.items[4];
	molt_rc_opts o = MOLT_RC_OPTS_INIT;
	molt_err err = MOLT_ERR_INIT;
	molt_term *out = NULL, *reason = NULL;
	int up = molt_term_is_atom(c->u.seq.items[2], "up"), rc;
	char *got, *want;

	ck_assert_ptr_nonnull(name);

	o.mode = up ? MOLT_UP : MOLT_DOWN;
	o.apps = up ? w->newa : w->olda;
	o.napps = (size_t)(up ? w->nnew : w->nold);
	o.pre_apps = up ? w->olda : w->newa;
	o.npre_apps = (size_t)(up ? w->nold : w->nnew);
	o.otp_quirks = quirks;
	rc = molt_rc_translate(&out, w->a, &o,
			       (const molt_term *const *)scripts->u.seq.items,
			       scripts->u.seq.n, &reason, NULL, &err);
	if (strcmp(name, "err_code_change_not_suspended_lowlevel") == 0 &&
	    !quirks) {
		/* OTP's check is dead code; molt does what the docs promise */
		ck_assert_msg(
			rc < 0 && reason &&
				molt_term_is_tagged(
					reason, "code_change_not_suspended", 2),
			"%s: expected code_change_not_suspended", name);
		return;
	}
	if (molt_term_is_tagged(expect, "ok", 2)) {
		ck_assert_msg(rc == 0, "%s %s: unexpected error: %s", name,
			      up ? "up" : "dn", err.msg);
		got = show(out);
		want = show(expect->u.seq.items[1]);
		ck_assert_msg(molt_term_equal(out, expect->u.seq.items[1]),
			      "%s %s:\n got  %s\n want %s", name,
			      up ? "up" : "dn", got, want);
	} else {
		ck_assert_msg(rc < 0 && reason, "%s %s: expected an error",
			      name, up ? "up" : "dn");
		got = show(reason);
		want = show(expect->u.seq.items[2]);
		ck_assert_msg(molt_term_equal(reason, expect->u.seq.items[2]),
			      "%s %s: reason\n got  %s\n want %s", name,
			      up ? "up" : "dn", got, want);
		ck_assert_msg(err.msg[0] != '\0', "%s: empty message", name);
	}
	molt_free(got);
	molt_free(want);
}

static void translation_case(int local, int i)
{
	world w;
	const molt_term *c;
	int rc;

	rc = load_world(&w, local);
	if (rc == 0)
		return;
	ck_assert_int_eq(rc, 1);
	c = nth_case(&w, "translate", i);
	ck_assert_ptr_nonnull(c);
	check_translate(&w, c, 0);
	check_translate(&w, c, 1);
	molt_arena_free(w.a);
}

START_TEST(test_translation_matches_otp25)
{
	translation_case(0, _i);
}
END_TEST

START_TEST(test_own_cases_match_otp)
{
	translation_case(1, _i);
}
END_TEST

static void search_case(int local, int _i)
{
	world w;
	const molt_term *c, *table, *expect;
	molt_err err = MOLT_ERR_INIT;
	const molt_term *hit = NULL;
	const char *vsn;
	size_t i;
	int rc;

	rc = load_world(&w, local);
	if (rc == 0)
		return;
	ck_assert_int_eq(rc, 1);
	c = nth_case(&w, "search", _i);
	ck_assert_ptr_nonnull(c);
	table = c->u.seq.items[2];
	expect = c->u.seq.items[3];
	vsn = appup_test_str(w.a, c->u.seq.items[1]);
	ck_assert_ptr_nonnull(vsn);
	for (i = 0; i < table->u.seq.n && !hit; i++) {
		const molt_term *e = table->u.seq.items[i];

		rc = molt_vsn_match(e->u.seq.items[0], vsn, &err);
		ck_assert_int_ge(rc, 0);
		if (rc)
			hit = e->u.seq.items[1];
	}
	if (molt_term_is_tagged(expect, "ok", 2))
		ck_assert_msg(
			hit && molt_term_equal(hit, expect->u.seq.items[1]),
			"search case %d: wrong entry", _i);
	else
		ck_assert_msg(!hit, "search case %d: expected no match", _i);
	molt_arena_free(w.a);
}

START_TEST(test_version_search_matches_otp25)
{
	search_case(0, _i);
}
END_TEST

START_TEST(test_own_searches_match_otp)
{
	search_case(1, _i);
}
END_TEST

Suite *vectors_suite(void)
{
	Suite *s = suite_create("vectors");
	TCase *tc = tcase_create("otp25");
	int nt = count_cases("translate", 0), ns = count_cases("search", 0);
	int lt = count_cases("translate", 1), ls = count_cases("search", 1);

	fprintf(stderr,
		"vectors: OTP 25 corpus %d translate, %d search; own %d "
		"translate, %d search\n",
		nt, ns, lt, ls);
	tcase_add_loop_test(tc, test_translation_matches_otp25, 0, nt);
	tcase_add_loop_test(tc, test_version_search_matches_otp25, 0, ns);
	tcase_add_loop_test(tc, test_own_cases_match_otp, 0, lt);
	tcase_add_loop_test(tc, test_own_searches_match_otp, 0, ls);
	suite_add_tcase(s, tc);
	return s;
}
