/* Checking, translation errors, generation, relup assembly, the commands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "molt/appup.h"
#include "molt/relup.h"

#include "test_util.h"

/* last: bans unsafe functions (STYLE.md) */
#include "molt/banned.h"

#define FIX  MOLT_FIXTURES_DIR "/appup"
#define MOLT MOLT_BUILD_DIR "/releasetool/molt"

static molt_appup *parse(const char *text)
{
	molt_err err = MOLT_ERR_INIT;
	molt_appup *ap = NULL;

	ck_assert_msg(molt_appup_parse(&ap, "x.appup", text, strlen(text), NULL,
				       &err) == 0,
		      "%s", err.msg);
	return ap;
}

typedef struct diags {
	int errors, warnings; /* counts */
	char last[400];	      /* last message */
} diags;

static void collect(int level, const char *msg, void *payload)
{
	diags *d = payload;

	if (level == MOLT_DIAG_ERROR)
		d->errors++;
	else
		d->warnings++;
	snprintf(d->last, sizeof(d->last), "%s", msg);
}

/* molt_appup_check of one up entry; returns the first error message. */
static const char *check_entry(const char *instrs, diags *d)
{
	static molt_err err;
	char text[2048];
	molt_appup *ap;

	snprintf(text, sizeof(text), "{\"2\",\n [{\"1\",\n   %s}],\n []}.",
		 instrs);
	ap = parse(text);
	memset(d, 0, sizeof(*d));
	memset(&err, 0, sizeof(err));
	molt_appup_check(ap, collect, d, &err);
	molt_appup_free(ap);
	return err.msg;
}

START_TEST(test_check_reports_each_error_with_position)
{
	diags d;

	ck_assert_str_eq(check_entry("[{frobnicate, m}]", &d),
			 "x.appup:3:5: unknown instruction or bad arity: "
			 "{frobnicate,m}");
	ck_assert_str_eq(check_entry("[{update, m, supervisor, []}]", &d),
			 "x.appup:3:5: unknown instruction or bad arity: "
			 "{update,m,supervisor,[]}");
	ck_assert_str_eq(check_entry("[{load_module, m, gentle, soft_purge, "
				     "[]}]",
				     &d),
			 "x.appup:3:22: bad purge method gentle (expected "
			 "soft_purge or brutal_purge)");
	ck_assert_str_eq(check_entry("[{update, m, 0, soft, brutal_purge, "
				     "brutal_purge, []}]",
				     &d),
			 "x.appup:3:17: bad timeout 0 (expected default, "
			 "infinity or an integer > 0)");
	ck_assert_str_eq(check_entry("[{load_module, a},\n    {update, b, "
				     "soft, [a, c]}]",
				     &d),
			 "x.appup:4:27: undefined module c: named in DepMods "
			 "of b but has no instruction of its own");
	ck_assert_str_eq(check_entry("[{load_module, a}, {update, a}]", &d),
			 "x.appup:3:32: module a has more than one "
			 "instruction");
	ck_assert_str_eq(
		check_entry("[{load_module, a}, point_of_no_return]", &d),
		"x.appup:3:5: instruction before point_of_no_return: "
		"only load_object_code and apply may come before it");
	ck_assert_str_eq(check_entry("[{suspend, [m]}]", &d),
			 "x.appup:3:16: module m is suspended but not resumed");
	ck_assert_str_eq(check_entry("[{code_change, up, [{m, x}]}]", &d),
			 "x.appup:3:25: module m gets code_change but is not "
			 "suspended");
	ck_assert_int_eq(d.errors, 1);
}
END_TEST

START_TEST(test_check_warns_about_a_cycle)
{
	diags d;

	ck_assert_str_eq(check_entry("[{update, a, soft, [b]}, {update, b, "
				     "soft, [a]}]",
				     &d),
			 "");
	ck_assert_int_eq(d.errors, 0);
	ck_assert_int_eq(d.warnings, 1);
	ck_assert_ptr_nonnull(strstr(d.last, "dependency cycle between a, b"));
}
END_TEST

static void app(molt_appinfo *a, const char *name, const char *vsn,
		molt_modinfo *mods, size_t n)
{
	memset(a, 0, sizeof(*a));
	a->name = name;
	a->vsn = vsn;
	a->type = "permanent";
	a->mods = mods;
	a->nmods = n;
}

/* Compile instrs (a list term) up or down between the two kvs apps. */
static molt_term *compile(molt_arena *ar, const molt_term *instrs, int down,
			  const molt_appinfo *newa, const molt_appinfo *olda)
{
	molt_rc_opts o = MOLT_RC_OPTS_INIT;
	molt_err err = MOLT_ERR_INIT;
	molt_term *out = NULL;

	o.mode = down ? MOLT_DOWN : MOLT_UP;
	o.apps = down ? olda : newa;
	o.pre_apps = down ? newa : olda;
	o.napps = o.npre_apps = 1;
	ck_assert_msg(molt_rc_translate(&out, ar, &o, &instrs, 1, NULL, NULL,
					&err) == 0,
		      "%s", err.msg);
	return out;
}

START_TEST(test_generated_appup_compiles_like_hand_written)
{
	molt_arena *ar = molt_arena_new();
	molt_err err = MOLT_ERR_INIT;
	molt_appinfo olda, newa;
	molt_appup *gen = NULL, *hand;
	int down;

	ck_assert_int_eq(molt_app_load(&olda, ar,
				       FIX "/rel-1.0.0/lib/kvs-1.0.0/app.json",
				       &err),
			 0);
	ck_assert_int_eq(molt_app_load(&newa, ar,
				       FIX "/rel-1.1.0/lib/kvs-1.1.0/app.json",
				       &err),
			 0);
	ck_assert_int_eq(molt_appup_gen(&gen, &olda, &newa, &err), 0);
	hand = parse("{\"1.1.0\",\n"
		     " [{\"1.0.0\", [{add_module, kvs_codec},\n"
		     "              {update, kvs_server, {advanced, []}},\n"
		     "              {load_module, kvs_store},\n"
		     "              {delete_module, kvs_old_codec}]}],\n"
		     " [{\"1.0.0\", [{add_module, kvs_old_codec},\n"
		     "              {update, kvs_server, {advanced, []}},\n"
		     "              {load_module, kvs_store},\n"
		     "              {delete_module, kvs_codec}]}]}.");
	ck_assert(molt_term_equal(gen->term, hand->term));
	for (down = 0; down < 2; down++) {
		const molt_term *gi =
			down ? gen->down[0].instrs : gen->up[0].instrs;
		const molt_term *hi =
			down ? hand->down[0].instrs : hand->up[0].instrs;

		ck_assert(molt_term_equal(compile(ar, gi, down, &newa, &olda),
					  compile(ar, hi, down, &newa, &olda)));
	}
	molt_appup_free(gen);
	molt_appup_free(hand);
	molt_arena_free(ar);
}
END_TEST

START_TEST(test_gen_picks_load_module_without_state_change)
{
	molt_modinfo o1[] = {{"lib", "1", 0, 0, "a"}, {"srv", "1", 1, 0, "b"}};
	molt_modinfo n1[] = {{"lib", "2", 0, 0, "c"}, {"srv", "2", 1, 0, "d"}};
	molt_appinfo olda, newa;
	molt_err err = MOLT_ERR_INIT;
	molt_appup *gen = NULL;
	molt_buf b = MOLT_BUF_INIT;

	app(&olda, "x", "1", o1, 2);
	app(&newa, "x", "2", n1, 2);
	n1[1].state_vsn = 2; /* srv declares a new state layout */
	ck_assert_int_eq(molt_appup_gen(&gen, &olda, &newa, &err), 0);
	molt_appup_to_terms(&b, gen);
	ck_assert_str_eq(b.ptr,
			 "{\"2\",\n [{\"1\",\n   [{load_module,lib},\n"
			 "    {update,srv,{advanced,[]}}]}],\n [{\"1\",\n"
			 "   [{load_module,lib},\n"
			 "    {update,srv,{advanced,[]}}]}]}.\n");
	molt_buf_release(&b);
	molt_appup_free(gen);
}
END_TEST

static int build_relup(const char *from, const char *to, int allow,
		       molt_buf *out, molt_err *err)
{
	molt_release *rf = NULL, *rt = NULL;
	molt_relup_opts o = MOLT_RELUP_OPTS_INIT;
	int rc;

	ck_assert_msg(molt_release_load(&rf, from, err) == 0, "%s", err->msg);
	ck_assert_msg(molt_release_load(&rt, to, err) == 0, "%s", err->msg);
	o.to = rt;
	o.from = (const molt_release *const *)&rf;
	o.nfrom = 1;
	o.allow_untouched = allow;
	rc = molt_relup_build(out, &o, err);
	molt_release_free(rf);
	molt_release_free(rt);
	return rc;
}

START_TEST(test_relup_covers_changed_added_and_removed_apps)
{
	molt_buf b = MOLT_BUF_INIT;
	molt_err err = MOLT_ERR_INIT;

	ck_assert_msg(build_relup(FIX "/rel-1.0.0", FIX "/rel-1.1.0", 0, &b,
				  &err) == 0,
		      "%s", err.msg);
	ck_assert_ptr_nonnull(strstr(b.ptr, "\"format\": \"molt-relup/1\""));
	ck_assert_ptr_nonnull(strstr(
		b.ptr, "[\"apply\", [\"application\", \"start\", [\"metrics\", "
		       "\"temporary\"]]]"));
	ck_assert_ptr_nonnull(strstr(
		b.ptr,
		"[\"apply\", [\"application\", \"unload\", [\"legacy\"]]]"));
	ck_assert_ptr_nonnull(strstr(
		b.ptr, "[\"code_change\", \"down\", [[\"kvs_server\", []]]]"));
	molt_buf_release(&b);
}
END_TEST

/* A copy of the fixtures in a temp dir, to be edited by a test. */
static void sandbox(char *dir, size_t n)
{
	molt_test_mkdtemp(dir, n, "relup");
	molt_test_copy_fixture("appup/rel-1.0.0", dir);
	molt_test_copy_fixture("appup/rel-1.1.0", dir);
}

START_TEST(test_relup_refuses_changed_module_without_instruction)
{
	char dir[512], from[600], to[600];
	molt_buf b = MOLT_BUF_INIT;
	molt_err err = MOLT_ERR_INIT;

	sandbox(dir, sizeof(dir));
	snprintf(from, sizeof(from), "%s/rel-1.0.0", dir);
	snprintf(to, sizeof(to), "%s/rel-1.1.0", dir);
	/* kvs_sup's code changes, but the appup says nothing about it */
	ck_assert_int_eq(molt_test_system("sed -i 's/\"aa01\"/\"cc01\"/' "
					  "%s/lib/kvs-1.1.0/app.json",
					  to),
			 0);
	ck_assert_int_eq(build_relup(from, to, 0, &b, &err), MOLT_EUNSAFE);
	ck_assert_ptr_nonnull(strstr(err.msg, "module kvs_sup (application "
					      "kvs) changed between 1.0.0 and "
					      "1.1.0"));
	molt_buf_clear(&b);
	ck_assert_int_eq(build_relup(from, to, 1, &b, &err), 0);
	molt_buf_release(&b);
	molt_test_rmrf(dir);
}
END_TEST

START_TEST(test_relup_names_missing_appup_entry)
{
	char dir[512], from[600], to[600];
	molt_buf b = MOLT_BUF_INIT;
	molt_err err = MOLT_ERR_INIT;

	sandbox(dir, sizeof(dir));
	snprintf(from, sizeof(from), "%s/rel-1.0.0", dir);
	snprintf(to, sizeof(to), "%s/rel-1.1.0", dir);
	ck_assert_int_eq(molt_test_system("sed -i 's/\"1.0.0\"/\"0.8.0\"/' "
					  "%s/release.json "
					  "%s/lib/kvs-1.0.0/app.json && mv "
					  "%s/lib/kvs-1.0.0 %s/lib/kvs-0.8.0",
					  from, from, from, from),
			 0);
	ck_assert_int_eq(build_relup(from, to, 0, &b, &err), MOLT_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "no up entry for kvs-1.1.0 from "
					      "0.8.0 in "));
	ck_assert_ptr_nonnull(strstr(err.msg, "kvs.appup"));
	molt_buf_release(&b);
	molt_test_rmrf(dir);
}
END_TEST

START_TEST(test_relup_has_one_script_per_from_version)
{
	static const char appup[] = "{\"1.1.0\",\n"
				    " [{<<\"1\\\\.0\\\\.[0-9]+\">>, "
				    "[{restart_application, kvs}]}],\n"
				    " [{<<\"1\\\\.0\\\\.[0-9]+\">>, "
				    "[{restart_application, kvs}]}]}.\n";
	char dir[512], from1[600], from2[600], to[600], path[700];
	molt_release *rels[3] = {NULL, NULL, NULL};
	molt_relup_opts o = MOLT_RELUP_OPTS_INIT;
	molt_buf b = MOLT_BUF_INIT;
	molt_err err = MOLT_ERR_INIT;
	int i;

	sandbox(dir, sizeof(dir));
	snprintf(from1, sizeof(from1), "%s/rel-1.0.0", dir);
	snprintf(from2, sizeof(from2), "%s/rel-1.0.5", dir);
	snprintf(to, sizeof(to), "%s/rel-1.1.0", dir);
	/* 1.0.5: kvs 1.0.5, matched by the appup's regex entry */
	ck_assert_int_eq(molt_test_system("cp -r %s %s && cd %s && sed -i "
					  "'s/1\\.0\\.0/1.0.5/' release.json "
					  "lib/kvs-1.0.0/app.json && mv "
					  "lib/kvs-1.0.0 lib/kvs-1.0.5",
					  from1, from2, from2),
			 0);
	ck_assert_int_eq(molt_release_load(&rels[0], from1, &err), 0);
	ck_assert_int_eq(molt_release_load(&rels[1], from2, &err), 0);
	ck_assert_int_eq(molt_release_load(&rels[2], to, &err), 0);
	o.to = rels[2];
	o.from = (const molt_release *const *)rels;
	o.nfrom = 2;
	ck_assert_int_eq(molt_relup_build(&b, &o, &err), MOLT_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "no down entry for kvs-1.1.0 to "
					      "1.0.5 in "));
	/* give the appup a down entry for 1.0.x */
	snprintf(path, sizeof(path), "%s/lib/kvs-1.1.0/kvs.appup", to);
	ck_assert_int_eq(
		molt_write_file_atomic(path, appup, strlen(appup), &err), 0);
	molt_buf_clear(&b);
	ck_assert_msg(molt_relup_build(&b, &o, &err) == 0, "%s", err.msg);
	ck_assert_ptr_nonnull(strstr(b.ptr, "{\"from\": \"1.0.0\""));
	ck_assert_ptr_nonnull(strstr(b.ptr, "{\"from\": \"1.0.5\""));
	/* restart_application kvs, from the regex entry */
	ck_assert_ptr_nonnull(strstr(
		b.ptr, "[\"apply\", [\"application\", \"stop\", [\"kvs\"]]]"));
	ck_assert_ptr_nonnull(strstr(b.ptr, "{\"to\": \"1.0.5\""));
	molt_buf_release(&b);
	for (i = 0; i < 3; i++)
		molt_release_free(rels[i]);
	molt_test_rmrf(dir);
}
END_TEST

/* The fixture releases in a sandbox, with kvs 1.1.0's appup replaced by
 * appup (a fixture file); the relup, as JSON or as OTP's term. */
static char *relup_with_appup(const char *appup, int terms)
{
	char dir[512], from[600], to[600];
	molt_release *rf = NULL, *rt = NULL;
	molt_relup_opts o = MOLT_RELUP_OPTS_INIT;
	molt_buf b = MOLT_BUF_INIT;
	molt_err err = MOLT_ERR_INIT;

	sandbox(dir, sizeof(dir));
	snprintf(from, sizeof(from), "%s/rel-1.0.0", dir);
	snprintf(to, sizeof(to), "%s/rel-1.1.0", dir);
	ck_assert_int_eq(molt_test_system("cp '%s/%s' "
					  "'%s/lib/kvs-1.1.0/kvs.appup'",
					  FIX, appup, to),
			 0);
	ck_assert_msg(molt_release_load(&rf, from, &err) == 0, "%s", err.msg);
	ck_assert_msg(molt_release_load(&rt, to, &err) == 0, "%s", err.msg);
	o.to = rt;
	o.from = (const molt_release *const *)&rf;
	o.nfrom = 1;
	o.terms = terms;
	ck_assert_msg(molt_relup_build(&b, &o, &err) == 0, "%s: %s", appup,
		      err.msg);
	molt_release_free(rf);
	molt_release_free(rt);
	molt_test_rmrf(dir);
	return molt_buf_detach(&b);
}

START_TEST(test_relup_of_charlist_appup_equals_string_form)
{
	int terms;

	for (terms = 0; terms < 2; terms++) {
		char *s = relup_with_appup("kvs.appup", terms);
		char *w = relup_with_appup("kvs.w.appup", terms);

		ck_assert_str_eq(s, w);
		molt_free(s);
		molt_free(w);
	}
}
END_TEST

static molt_term *read_term(molt_arena *a, const char *file, const char *text,
			    size_t len)
{
	molt_parse_opts po = MOLT_PARSE_OPTS_INIT;
	molt_err err = MOLT_ERR_INIT;
	molt_term *t = NULL;

	po.file = file;
	ck_assert_msg(molt_term_parse(&t, a, text, len, &po, &err) == 0, "%s",
		      err.msg);
	return t->u.seq.items[0];
}

START_TEST(test_relup_in_w_form_reads_back_as_molts_relup)
{
	/* OTP's relup of the fixtures, printed with ~w (relup_vs_otp.escript
	 * write-w), is the relup molt writes from either appup */
	molt_arena *a = molt_arena_new();
	const char *appups[] = {"kvs.appup", "kvs.w.appup"};
	molt_term *otp;
	size_t len;
	char *text = molt_test_read_file(FIX "/relup-1.1.0.w.terms", &len);
	int i;

	ck_assert_ptr_nonnull(text);
	otp = read_term(a, "relup-1.1.0.w.terms", text, len);
	ck_assert_int_eq(otp->u.seq.items[0]->kind, MOLT_TERM_LIST);
	for (i = 0; i < 2; i++) {
		char *molt = relup_with_appup(appups[i], 1);
		molt_term *t = read_term(a, appups[i], molt, strlen(molt));

		ck_assert_msg(molt_term_equal(t, otp), "%s:\n%s", appups[i],
			      molt);
		molt_free(molt);
	}
	free(text);
	molt_arena_free(a);
}
END_TEST

/* One parse + check + translation; returns its status. */
static int parse_and_compile(const char *text, const molt_appinfo *newa,
			     const molt_appinfo *olda)
{
	molt_rc_opts o = MOLT_RC_OPTS_INIT;
	molt_err err = MOLT_ERR_INIT;
	const molt_term *instrs;
	molt_term *out;
	molt_appup *ap = NULL;
	molt_arena *a;
	int rc;

	rc = molt_appup_parse(&ap, "x.appup", text, strlen(text), NULL, &err);
	if (rc < 0)
		return rc;
	rc = molt_appup_check(ap, NULL, NULL, &err);
	if (rc == 0)
		rc = molt_appup_search(&instrs, ap, 0, "1.0.0", &err);
	a = molt_arena_new();
	if (rc == 0 && !a)
		rc = MOLT_ENOMEM;
	o.apps = newa;
	o.pre_apps = olda;
	o.napps = o.npre_apps = 1;
	if (rc == 0)
		rc = molt_rc_translate(&out, a, &o, &instrs, 1, NULL, NULL,
				       &err);
	molt_arena_free(a);
	molt_appup_free(ap);
	return rc;
}

START_TEST(test_out_of_memory_fails_cleanly_everywhere)
{
	char *text;
	size_t len;
	molt_arena *ar = molt_arena_new();
	molt_err err = MOLT_ERR_INIT;
	molt_appinfo olda, newa;
	unsigned long n;
	int rc = -1;

	text = molt_test_read_file(FIX "/kvs.appup", &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(molt_app_load(&olda, ar,
				       FIX "/rel-1.0.0/lib/kvs-1.0.0/app.json",
				       &err),
			 0);
	ck_assert_int_eq(molt_app_load(&newa, ar,
				       FIX "/rel-1.1.0/lib/kvs-1.1.0/app.json",
				       &err),
			 0);
	/* allocation n fails, for every n until the whole run succeeds */
	for (n = 1; rc != 0 && n < 100000; n++) {
		molt_alloc_fail_after(n);
		rc = parse_and_compile(text, &newa, &olda);
		molt_alloc_fail_after(0);
		ck_assert_msg(rc == 0 || rc == MOLT_ENOMEM,
			      "allocation %lu: status %d", n, rc);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_gt(n, 10);
	free(text);
	molt_arena_free(ar);
}
END_TEST

static char *run(const char *cmd, int *status)
{
	char path[512], full[2048];
	size_t len;
	char *out;

	molt_test_mkdtemp(path, sizeof(path), "cli");
	snprintf(full, sizeof(full), "%s > %s/out 2>&1", cmd, path);
	*status = molt_test_system("%s", full);
	snprintf(full, sizeof(full), "%s/out", path);
	out = molt_test_read_file(full, &len);
	molt_test_rmrf(path);
	ck_assert_ptr_nonnull(out);
	return out;
}

START_TEST(test_cli_check_and_compile)
{
	int st;
	char *out;

	out = run(MOLT " appup check " FIX "/kvs.appup " FIX "/cycle.appup",
		  &st);
	ck_assert_msg(st == 0, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "kvs.appup: ok (2 up, 1 down"));
	ck_assert_ptr_nonnull(strstr(out, "cycle.appup:3:14: warning"));
	free(out);
	out = run(MOLT " appup check " FIX "/bad_depmod.appup", &st);
	ck_assert_int_eq(st, 1);
	ck_assert_ptr_nonnull(strstr(out, "bad_depmod.appup:4:54: undefined "
					  "module kvs_cache"));
	free(out);
	out = run(MOLT " appup compile " FIX "/kvs.appup --app " FIX
		       "/rel-1.1.0/lib/kvs-1.1.0/app.json --old-app " FIX
		       "/rel-1.0.0/lib/kvs-1.0.0/app.json --from 1.0.0",
		  &st);
	ck_assert_msg(st == 0, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "  [\"code_change\", \"up\", "
					  "[[\"kvs_server\", []]]],\n"));
	free(out);
	out = run(MOLT " appup compile " FIX "/kvs.appup --app " FIX
		       "/rel-1.1.0/lib/kvs-1.1.0/app.json --from 0.1.0",
		  &st);
	ck_assert_int_eq(st, 1);
	ck_assert_ptr_nonnull(strstr(out, "no up entry for version 0.1.0"));
	free(out);
	out = run(MOLT " appup frob", &st);
	ck_assert_int_eq(st, 2);
	free(out);
}
END_TEST

START_TEST(test_cli_gen_convert_and_relup)
{
	char dir[512], cmd[2048];
	int st;
	char *out;

	molt_test_mkdtemp(dir, sizeof(dir), "cli");
	snprintf(cmd, sizeof(cmd),
		 MOLT " appup gen --from " FIX
		      "/rel-1.0.0/lib/kvs-1.0.0 --to " FIX
		      "/rel-1.1.0/lib/kvs-1.1.0 -o %s/kvs.json && " MOLT
		      " appup convert %s/kvs.json --format terms",
		 dir, dir);
	out = run(cmd, &st);
	ck_assert_msg(st == 0, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "{update,kvs_server,{advanced,[]}}"));
	free(out);
	snprintf(cmd, sizeof(cmd),
		 MOLT " relup --from " FIX "/rel-1.0.0 --to " FIX
		      "/rel-1.1.0 -o %s/relup.json && cat %s/relup.json",
		 dir, dir);
	out = run(cmd, &st);
	ck_assert_msg(st == 0, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "\"from\": \"1.0.0\""));
	free(out);
	molt_test_rmrf(dir);
}
END_TEST

START_TEST(test_cli_convert_accepts_charlist_appup)
{
	static const char *const formats[] = {"json", "terms"};
	char cmd[1024];
	char *s, *w;
	int st, i;

	for (i = 0; i < 2; i++) {
		snprintf(cmd, sizeof(cmd),
			 MOLT " appup convert " FIX "/kvs.appup --format %s",
			 formats[i]);
		s = run(cmd, &st);
		ck_assert_msg(st == 0, "%s", s);
		snprintf(cmd, sizeof(cmd),
			 MOLT " appup convert " FIX "/kvs.w.appup --format %s",
			 formats[i]);
		w = run(cmd, &st);
		ck_assert_msg(st == 0, "%s", w);
		ck_assert_str_eq(s, w);
		free(s);
		free(w);
	}
	/* check and compile read it too */
	w = run(MOLT " appup check " FIX "/kvs.w.appup", &st);
	ck_assert_msg(st == 0 && strstr(w, "ok (2 up, 1 down"), "%s", w);
	free(w);
	w = run(MOLT " appup compile " FIX "/kvs.w.appup --app " FIX
		     "/rel-1.1.0/lib/kvs-1.1.0/app.json --old-app " FIX
		     "/rel-1.0.0/lib/kvs-1.0.0/app.json --from 1.0.0",
		&st);
	ck_assert_msg(st == 0, "%s", w);
	ck_assert_ptr_nonnull(strstr(w, "[\"code_change\", \"up\", "
					"[[\"kvs_server\", []]]]"));
	free(w);
}
END_TEST

Suite *compile_suite(void)
{
	Suite *s = suite_create("compile");
	TCase *tc = tcase_create("compile");

	tcase_add_test(tc, test_check_reports_each_error_with_position);
	tcase_add_test(tc, test_check_warns_about_a_cycle);
	tcase_add_test(tc, test_generated_appup_compiles_like_hand_written);
	tcase_add_test(tc, test_gen_picks_load_module_without_state_change);
	tcase_add_test(tc, test_relup_covers_changed_added_and_removed_apps);
	tcase_add_test(tc,
		       test_relup_refuses_changed_module_without_instruction);
	tcase_add_test(tc, test_relup_names_missing_appup_entry);
	tcase_add_test(tc, test_relup_has_one_script_per_from_version);
	tcase_add_test(tc, test_out_of_memory_fails_cleanly_everywhere);
	tcase_add_test(tc, test_cli_check_and_compile);
	tcase_add_test(tc, test_cli_gen_convert_and_relup);
	tcase_add_test(tc, test_relup_of_charlist_appup_equals_string_form);
	tcase_add_test(tc, test_relup_in_w_form_reads_back_as_molts_relup);
	tcase_add_test(tc, test_cli_convert_accepts_charlist_appup);
	suite_add_tcase(s, tc);
	return s;
}
