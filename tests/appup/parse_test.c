/* Term and appup.json readers: values, error positions, round trips. */
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "molt/appup.h"
#include "molt/relup.h"

#include "test_util.h"

/* last: bans unsafe functions (STYLE.md) */
#include "molt/banned.h"

static molt_arena *arena;

static void setup(void)
{
	arena = molt_arena_new();
	ck_assert_ptr_nonnull(arena);
}

static void teardown(void)
{
	molt_arena_free(arena);
}

/* Parse one term, or fail the test with the error. */
static molt_term *term(const char *text)
{
	molt_parse_opts o = MOLT_PARSE_OPTS_INIT;
	molt_err err = MOLT_ERR_INIT;
	molt_term *t = NULL;

	o.file = "t.appup";
	ck_assert_msg(
		molt_term_parse(&t, arena, text, strlen(text), &o, &err) == 0,
		"%s", err.msg);
	return t->u.seq.items[0];
}

/* Parse text expecting an error; returns the message. */
static const char *parse_error(const char *text)
{
	static molt_err err;
	molt_parse_opts o = MOLT_PARSE_OPTS_INIT;
	molt_term *t = NULL;

	o.file = "t.appup";
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(
		molt_term_parse(&t, arena, text, strlen(text), &o, &err),
		MOLT_EPARSE);
	return err.msg;
}

static char *printed(const molt_term *t)
{
	static char buf[512];
	molt_buf b = MOLT_BUF_INIT;

	molt_term_print(&b, t);
	snprintf(buf, sizeof(buf), "%s", b.ptr);
	molt_buf_release(&b);
	return buf;
}

START_TEST(test_terms_read_every_kind)
{
	molt_term *t = term("{'Q a', \"s\\n\" \"t\", <<\"re\\\\.\">>, 16#ff, "
			    "$a, -7, 1.5e1, [x@h, <<1,2>>], {}}.");

	ck_assert_int_eq(t->kind, MOLT_TERM_TUPLE);
	ck_assert_str_eq(t->u.seq.items[0]->u.str.s, "Q a");
	ck_assert_str_eq(t->u.seq.items[1]->u.str.s, "s\nt");
	ck_assert_str_eq(t->u.seq.items[2]->u.str.s, "re\\.");
	ck_assert_int_eq(t->u.seq.items[3]->u.i, 255);
	ck_assert_int_eq(t->u.seq.items[4]->u.i, 'a');
	ck_assert_int_eq(t->u.seq.items[5]->u.i, -7);
	ck_assert(t->u.seq.items[6]->u.f == 15.0);
	ck_assert_str_eq(printed(t), "{'Q a',\"s\\nt\",<<\"re\\\\.\">>,255,97,"
				     "-7,15.0,[x@h,<<\"\\001\\002\">>],{}}");
	ck_assert_int_eq(t->u.seq.items[7]->pos.line, 1);
	ck_assert_int_eq(t->u.seq.items[7]->pos.col, 55);
}
END_TEST

START_TEST(test_strings_equal_lists_of_codes)
{
	molt_term *a = term("{\"ab\", [], \"\"}.");
	molt_term *b = term("{[97, 98], \"\", []}.");

	ck_assert(molt_term_equal(a, b));
	ck_assert(!molt_term_equal(a, term("{\"ab\", [], [x]}.")));
	ck_assert(molt_term_is_list(a->u.seq.items[0]));
}
END_TEST

START_TEST(test_errors_name_line_and_column)
{
	ck_assert_str_eq(parse_error("{a,\n  b c}."),
			 "t.appup:2:5: expected ',' or '}', found atom 'c'");
	ck_assert_str_eq(parse_error("[a, b"),
			 "t.appup:1:6: expected ',' or ']', found end of file");
	ck_assert_str_eq(parse_error("{a}"),
			 "t.appup:1:4: expected '.' after the term, found end "
			 "of file");
	ck_assert_str_eq(parse_error("%% only a comment\n"),
			 "t.appup:2:1: expected a term, found no term");
	ck_assert_str_eq(parse_error("{\"abc}."),
			 "t.appup:1:2: unterminated string");
	ck_assert_str_eq(
		parse_error("{a, Foo}."),
		"t.appup:1:5: unbound variable Foo (only VSN is known)");
	ck_assert_str_eq(parse_error("{a, #}."),
			 "t.appup:1:5: unexpected character '#'");
	ck_assert_str_eq(parse_error("<<256>>."),
			 "t.appup:1:3: binary byte out of range 0..255");
	ck_assert_str_eq(parse_error("99999999999999999999."),
			 "t.appup:1:1: integer too large");
}
END_TEST

START_TEST(test_deep_nesting_is_an_error_not_a_crash)
{
	char text[2000];

	memset(text, '[', 1000);
	text[1000] = '\0';
	ck_assert_ptr_nonnull(strstr(parse_error(text), "nested too deeply"));
}
END_TEST

START_TEST(test_template_vsn_is_substituted)
{
	const char *text = "{VSN, [{\"%VSN%-rc\", []}], []}.";
	molt_appup_load_opts o = MOLT_APPUP_LOAD_OPTS_INIT;
	molt_err err = MOLT_ERR_INIT;
	molt_appup *ap;

	o.vsn = "2.0.1";
	ck_assert_int_eq(molt_appup_parse(&ap, "x.appup.src", text,
					  strlen(text), &o, &err),
			 0);
	ck_assert_str_eq(ap->vsn->u.str.s, "2.0.1");
	ck_assert_str_eq(ap->up[0].key->u.str.s, "2.0.1-rc");
	molt_appup_free(ap);
}
END_TEST

static molt_appup *appup(const char *file, const char *text)
{
	molt_appup_load_opts o = MOLT_APPUP_LOAD_OPTS_INIT;
	molt_err err = MOLT_ERR_INIT;
	molt_appup *ap = NULL;

	ck_assert_msg(
		molt_appup_parse(&ap, file, text, strlen(text), &o, &err) == 0,
		"%s", err.msg);
	return ap;
}

static const char *appup_error(const char *file, const char *text)
{
	static molt_err err;
	molt_appup_load_opts o = MOLT_APPUP_LOAD_OPTS_INIT;
	molt_appup *ap = NULL;

	memset(&err, 0, sizeof(err));
	ck_assert_int_lt(
		molt_appup_parse(&ap, file, text, strlen(text), &o, &err), 0);
	return err.msg;
}

START_TEST(test_appup_shape_errors_have_positions)
{
	ck_assert_str_eq(appup_error("a.appup", "{\"1\", []}."),
			 "a.appup:1:1: expected {Vsn, [{UpFromVsn, "
			 "Instructions}], [{DownToVsn, Instructions}]}");
	ck_assert_str_eq(appup_error("a.appup", "{\"1\", [x], []}."),
			 "a.appup:1:8: expected a {Vsn, Instructions} entry "
			 "in the up list");
	ck_assert_str_eq(appup_error("a.appup", "{\"1\", [], [{\"0\", x}]}."),
			 "a.appup:1:18: expected a list of instructions");
}
END_TEST

START_TEST(test_json_errors_have_positions)
{
	ck_assert_str_eq(appup_error("a.json",
				     "{\"vsn\": \"1\",\n \"up\": [{}], "
				     "\"down\": []}"),
			 "a.json:2:9: expected {\"from\": VSN, "
			 "\"instructions\": [...]}");
	ck_assert_str_eq(appup_error("a.json", "{\"vsn\": \"1\", \"up\": [\n"
					       "{\"from\": \"0\", "
					       "\"instructions\": [[\"a\" "
					       "\"b\"]]}], \"down\": []}"),
			 "a.json:2:37: expected ',' or ']'");
	ck_assert_str_eq(
		appup_error("a.json", "{\"format\": \"molt-appup/9\"}"),
		"a.json:1:12: unknown appup.json format (expected "
		"\"molt-appup/1\")");
	ck_assert_str_eq(appup_error("a.json", "[1, 2"),
			 "a.json:1:6: expected ',' or ']'");
}
END_TEST

static const char *const round_trip_src =
	"%% every kind of value in an appup\n"
	"{\"1.1.0\",\n"
	" [{\"1.0.0\",\n"
	"   [{update, m, {advanced, {x, [1, 2.5, \"s\", <<\"b\">>]}}, [d]},\n"
	"    {load_module, d},\n"
	"    {apply, {io, format, [\"hi~n\", []]}},\n"
	"    point_of_no_return,\n"
	"    {update, 'Quoted', supervisor}]},\n"
	"  {<<\"1\\\\.0\\\\..*\">>, []}],\n"
	" [{\"1.0.0\", [{sync_nodes, id, [a@h]}]}]}.\n";

START_TEST(test_terms_json_terms_round_trip)
{
	molt_appup *a = appup("a.appup", round_trip_src), *b, *c;
	molt_buf json = MOLT_BUF_INIT, terms = MOLT_BUF_INIT;

	ck_assert_int_eq(molt_appup_to_json(&json, a), 0);
	b = appup("a.json", json.ptr);
	ck_assert_msg(molt_term_equal(a->term, b->term), "%s", json.ptr);
	ck_assert_int_eq(molt_appup_to_terms(&terms, b), 0);
	c = appup("b.appup", terms.ptr);
	ck_assert_msg(molt_term_equal(a->term, c->term), "%s", terms.ptr);
	ck_assert_ptr_nonnull(
		strstr(json.ptr, "{\"regex\": \"1\\\\.0\\\\..*\"}"));
	ck_assert_ptr_nonnull(
		strstr(json.ptr, "[\"update\", \"Quoted\", \"supervisor\"]"));
	molt_buf_release(&json);
	molt_buf_release(&terms);
	molt_appup_free(a);
	molt_appup_free(b);
	molt_appup_free(c);
}
END_TEST

/* A string where the instruction list goes is its character codes, as
 * Erlang reads it: the 3 UTF-8 bytes of U+7EFB are one code, 32507 (both
 * writers wrote the bytes: found by appup.fuzz_terms). */
START_TEST(test_a_string_instruction_list_is_written_as_its_codes)
{
	molt_appup *a = appup("a.appup",
			      "{\"2\", [{\"1\", \"\xe7\xbb\xbb\"}], []}.\n"),
		   *b;
	molt_buf json = MOLT_BUF_INIT, terms = MOLT_BUF_INIT;

	ck_assert_int_eq(molt_appup_to_terms(&terms, a), 0);
	ck_assert_msg(strstr(terms.ptr, "[32507]") != NULL, "%s", terms.ptr);
	ck_assert_int_eq(molt_appup_to_json(&json, a), 0);
	b = appup("a.json", json.ptr);
	ck_assert_msg(molt_term_equal(a->term, b->term), "%s", json.ptr);
	molt_buf_release(&json);
	molt_buf_release(&terms);
	molt_appup_free(a);
	molt_appup_free(b);
}
END_TEST

/* 2.7e770 is no double: erl_scan says {illegal, float}, and so do we
 * (as infinity it was written back as 0.0: found by appup.fuzz_terms). */
START_TEST(test_float_overflow_is_an_error)
{
	ck_assert_str_eq(appup_error("a.appup",
				     "{\"2\", [{\"1\", [{x, 2.7e770}]}], []}."),
			 "a.appup:1:19: float out of range: 2.7e770");
	ck_assert_str_eq(appup_error("a.json",
				     "{\"format\": \"molt-appup/1\", "
				     "\"vsn\": \"2\", \"up\": [{\"from\": "
				     "\"1\", \"instructions\": [[\"x\", "
				     "1e999]]}], \"down\": []}"),
			 "a.json:1:84: number out of range");
	/* an underflow is 0.0, as in Erlang */
	molt_appup_free(
		appup("b.appup", "{\"2\", [{\"1\", [{x, 1.0e-400}]}], []}."));
}
END_TEST

/*
 * A string in an instruction list is a list of codes that systools
 * splices; "" and "\001" have no printable form, and as bare arrays they
 * would read back as tuples (found by appup.fuzz_terms).
 */
START_TEST(test_unprintable_string_instructions_round_trip)
{
	molt_appup
		*a = appup(
			"a.appup",
			"{\"2\", [{\"1\", [\"\", \"\\001\", \"ok\"]}], []}.\n"),
		*b;
	molt_buf json = MOLT_BUF_INIT;

	ck_assert_int_eq(molt_appup_to_json(&json, a), 0);
	ck_assert_ptr_nonnull(strstr(json.ptr, "{\"list\": []}"));
	ck_assert_ptr_nonnull(strstr(json.ptr, "{\"list\": [1]}"));
	b = appup("a.json", json.ptr);
	ck_assert_msg(molt_term_equal(a->term, b->term), "%s", json.ptr);
	molt_buf_release(&json);
	molt_appup_free(a);
	molt_appup_free(b);
}
END_TEST

START_TEST(test_version_regex_uses_otp_rule)
{
	molt_term *t = term("[<<\"2\\\\.1\\\\.[0-9]+\">>, <<\"1|1\\\\.0\">>, "
			    "<<\"1\\\\.0|1\">>, \"1.0\", '1.0', <<\"(\">>].");
	molt_err err = MOLT_ERR_INIT;

	ck_assert_int_eq(molt_vsn_match(t->u.seq.items[0], "2.1.10", &err), 1);
	ck_assert_int_eq(molt_vsn_match(t->u.seq.items[0], "2.1.1.1", &err), 0);
	ck_assert_int_eq(molt_vsn_match(t->u.seq.items[1], "1.0", &err), 0);
	ck_assert_int_eq(molt_vsn_match(t->u.seq.items[2], "1.0", &err), 1);
	ck_assert_int_eq(molt_vsn_match(t->u.seq.items[3], "1.0", &err), 1);
	ck_assert_int_eq(molt_vsn_match(t->u.seq.items[4], "1.0", &err), 0);
	ck_assert_int_eq(molt_vsn_match(t->u.seq.items[5], "1.0", &err),
			 MOLT_EPARSE);
	ck_assert_ptr_nonnull(
		strstr(err.msg, "t.appup:1:68: bad version regex"));
}
END_TEST

START_TEST(test_charlists_are_strings)
{
	molt_term *t = term("[[49,46,48], \"1.0\", [], \"\", [99,97,102,233], "
			    "[1,2], [49,a], [-1], [16#d800], [16#110000], "
			    "\"\\001\", 'x', <<\"1\">>].");
	static const int is_string[] = {1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0};
	static const int printable[] = {1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
	const molt_term *s;
	molt_buf b = MOLT_BUF_INIT;
	size_t i;

	for (i = 0; i < t->u.seq.n; i++) {
		ck_assert_msg(molt_term_is_string(t->u.seq.items[i]) ==
				      is_string[i],
			      "item %zu", i);
		ck_assert_msg(molt_term_is_printable(t->u.seq.items[i]) ==
				      printable[i],
			      "item %zu", i);
	}
	ck_assert_int_eq(molt_term_to_string(&s, arena, t->u.seq.items[0]), 1);
	ck_assert_int_eq(s->kind, MOLT_TERM_STRING);
	ck_assert_str_eq(s->u.str.s, "1.0");
	ck_assert_int_eq(s->pos.col, t->u.seq.items[0]->pos.col);
	ck_assert_int_eq(molt_term_to_string(&s, arena, t->u.seq.items[1]), 1);
	ck_assert_ptr_eq(s, t->u.seq.items[1]);
	ck_assert_int_eq(molt_term_to_string(&s, arena, t->u.seq.items[2]), 1);
	ck_assert_str_eq(s->u.str.s, "");
	ck_assert_int_eq(molt_term_to_string(&s, arena, t->u.seq.items[6]), 0);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(molt_term_put_string(&b, t->u.seq.items[4]), 0);
	ck_assert_str_eq(b.ptr, "caf\xc3\xa9");
	ck_assert_int_eq(molt_term_put_string(&b, t->u.seq.items[11]),
			 MOLT_EINVAL);
	molt_buf_release(&b);
}
END_TEST

/* ~w prints strings as lists of character codes: "2.0" is [50,46,48] */
static const char *const w_form_src =
	"{[50,46,48],\n"
	" [{[49,46,48], [{load_module, m}]},\n"
	"  {<<49,92,46,91,48,45,57,93>>, [{update, m}]}],\n"
	" [{[49,46,48], []}]}.\n";

static void count_warnings(int level, const char *msg, void *payload)
{
	(void)msg;
	if (level == MOLT_DIAG_WARNING)
		(*(int *)payload)++;
}

START_TEST(test_appup_accepts_charlist_versions)
{
	molt_appup *ap = appup("w.appup", w_form_src);
	molt_err err = MOLT_ERR_INIT;
	const molt_term *instrs = NULL;
	int warnings = 0;

	ck_assert_msg(molt_appup_search(&instrs, ap, 0, "1.0", &err) == 0, "%s",
		      err.msg);
	ck_assert(
		molt_term_is_tagged(instrs->u.seq.items[0], "load_module", 2));
	ck_assert_msg(molt_appup_search(&instrs, ap, 1, "1.0", &err) == 0, "%s",
		      err.msg);
	/* the binary in ~w form is still a regex */
	ck_assert_int_eq(molt_appup_search(&instrs, ap, 0, "1.7", &err), 0);
	ck_assert(molt_term_is_tagged(instrs->u.seq.items[0], "update", 2));
	ck_assert_int_eq(molt_appup_search(&instrs, ap, 0, "2.0", &err),
			 MOLT_ENOTFOUND);
	/* the versions are strings: no "not a string" warning */
	ck_assert_int_eq(ap->vsn->kind, MOLT_TERM_STRING);
	ck_assert_str_eq(ap->vsn->u.str.s, "2.0");
	ck_assert_int_eq(ap->up[0].key->kind, MOLT_TERM_STRING);
	ck_assert_int_eq(molt_appup_check(ap, count_warnings, &warnings, &err),
			 0);
	ck_assert_int_eq(warnings, 0);
	molt_appup_free(ap);
}
END_TEST

START_TEST(test_version_match_accepts_charlists)
{
	molt_term *t = term("[[49,46,48], [], [$1, $., $0, $0], [49,46,a], "
			    "[-1], [16#e9]].");
	molt_err err = MOLT_ERR_INIT;

	ck_assert_int_eq(molt_vsn_match(t->u.seq.items[0], "1.0", &err), 1);
	ck_assert_int_eq(molt_vsn_match(t->u.seq.items[0], "1.00", &err), 0);
	ck_assert_int_eq(molt_vsn_match(t->u.seq.items[1], "", &err), 1);
	ck_assert_int_eq(molt_vsn_match(t->u.seq.items[2], "1.00", &err), 1);
	ck_assert_int_eq(molt_vsn_match(t->u.seq.items[3], "1.a", &err), 0);
	ck_assert_int_eq(molt_vsn_match(t->u.seq.items[4], "", &err), 0);
	/* a code above 127 is the character: UTF-8 in the version */
	ck_assert_int_eq(molt_vsn_match(t->u.seq.items[5], "\xc3\xa9", &err),
			 1);
	ck_assert(molt_term_is_string(t->u.seq.items[0]));
	ck_assert(molt_term_is_string(t->u.seq.items[1]));
	ck_assert(!molt_term_is_string(t->u.seq.items[3]));
	ck_assert(!molt_term_is_string(t->u.seq.items[4]));
}
END_TEST

/* Every output of Extra in {update, m, {advanced, Extra}}: the appup in
 * term syntax and appup.json, and the instruction list as a script. */
static char *outputs(const char *extra)
{
	char text[512];
	molt_appup *ap;
	molt_buf b = MOLT_BUF_INIT;

	snprintf(text, sizeof(text),
		 "{\"1\", [{\"0\", [{update, m, {advanced, %s}}]}], []}.",
		 extra);
	ap = appup("x.appup", text);
	ck_assert_int_eq(molt_appup_to_terms(&b, ap), 0);
	ck_assert_int_eq(molt_buf_puts(&b, " | "), 0);
	ck_assert_int_eq(molt_appup_to_json(&b, ap), 0);
	ck_assert_int_eq(molt_buf_puts(&b, " | "), 0);
	ck_assert_int_eq(molt_script_to_json(&b, ap->up[0].instrs, -1), 0);
	molt_appup_free(ap);
	return molt_buf_detach(&b);
}

START_TEST(test_charlists_print_and_encode_like_strings)
{
	/* equal terms, written with strings and with character codes, and
	 * what each output holds */
	static const char *const cases[][5] = {
		{"\"abc\"", "[97,98,99]", "{advanced,\"abc\"}",
		 "{\"str\": \"abc\"}", "[\"advanced\", \"abc\"]"},
		{"\"\"", "[]", "{advanced,[]}",
		 "{\"tuple\": [\"advanced\", []]}", "[\"advanced\", []]"},
		{"\"\\001\\002\"", "[1,2]", "{advanced,[1,2]}",
		 "{\"tuple\": [\"advanced\", [1, 2]]}",
		 "[\"advanced\", [1, 2]]"},
		{"{x, \"v2\", [\"\"]}", "{x, [118,50], [[]]}",
		 "{advanced,{x,\"v2\",[[]]}}",
		 "[\"x\", {\"str\": \"v2\"}, [[]]]",
		 "[\"advanced\", [\"x\", \"v2\", [[]]]]"},
		{"\"caf\xc3\xa9\"", "[99,97,102,233]",
		 "{advanced,\"caf\xc3\xa9\"}", "{\"str\": \"caf\xc3\xa9\"}",
		 "[\"advanced\", \"caf\xc3\xa9\"]"},
	};
	size_t i, k;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *a = outputs(cases[i][0]), *b = outputs(cases[i][1]);

		ck_assert_str_eq(a, b);
		for (k = 2; k < 5; k++)
			ck_assert_msg(strstr(a, cases[i][k]), "%s: no %s in %s",
				      cases[i][0], cases[i][k], a);
		molt_free(a);
		molt_free(b);
	}
}
END_TEST

START_TEST(test_apply_args_stay_a_list_in_json)
{
	/* [100] is "d" for Erlang, but an argument list is a list */
	molt_term *t = term("[{apply, {m, f, [100]}}, {apply, {m, f, \"d\"}}, "
			    "{sync_nodes, id, {m, f, \"ab\"}}, "
			    "{apply, {m, f, [\"ab\", [97]]}}].");
	molt_buf s = MOLT_BUF_INIT;

	ck_assert_int_eq(molt_script_to_json(&s, t, -1), 0);
	ck_assert_str_eq(s.ptr,
			 "[[\"apply\", [\"m\", \"f\", [100]]],"
			 "[\"apply\", [\"m\", \"f\", [100]]],"
			 "[\"sync_nodes\", \"id\", [\"m\", \"f\", [97, "
			 "98]]],"
			 "[\"apply\", [\"m\", \"f\", [\"ab\", \"a\"]]]]");
	molt_buf_release(&s);
}
END_TEST

static char *convert(const char *file, const char *text, int json)
{
	molt_appup *ap = appup(file, text);
	molt_buf b = MOLT_BUF_INIT;

	ck_assert_int_eq(json ? molt_appup_to_json(&b, ap)
			      : molt_appup_to_terms(&b, ap),
			 0);
	molt_appup_free(ap);
	return molt_buf_detach(&b);
}

START_TEST(test_convert_of_w_form_equals_string_form)
{
	static const char *const str =
		"{\"2.0\", [{\"1.0\", [{update, m, {advanced, \"v2\"}},\n"
		"  {apply, {io, format, [\"hi~n\", []]}},\n"
		"  {load_object_code, {app, \"2.0\", [m]}}]}],\n"
		" [{\"\", [{apply, {m, f, [100]}}]}]}.\n";
	static const char *const w =
		"{[50,46,48],[{[49,46,48],[{update,m,{advanced,[118,50]}},"
		"{apply,{io,format,[[104,105,126,110],[]]}},"
		"{load_object_code,{app,[50,46,48],[m]}}]}],"
		"[{[],[{apply,{m,f,[100]}}]}]}.\n";
	int json;

	for (json = 0; json < 2; json++) {
		char *a = convert("s.appup", str, json);
		char *b = convert("w.appup", w, json);

		ck_assert_str_eq(a, b);
		ck_assert_ptr_nonnull(
			strstr(a, json ? "\"from\": \"1.0\"" : "{\"1.0\","));
		molt_free(a);
		molt_free(b);
	}
}
END_TEST

Suite *parse_suite(void)
{
	Suite *s = suite_create("parse");
	TCase *tc = tcase_create("parse");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_terms_read_every_kind);
	tcase_add_test(tc, test_strings_equal_lists_of_codes);
	tcase_add_test(tc, test_errors_name_line_and_column);
	tcase_add_test(tc, test_deep_nesting_is_an_error_not_a_crash);
	tcase_add_test(tc, test_template_vsn_is_substituted);
	tcase_add_test(tc, test_appup_shape_errors_have_positions);
	tcase_add_test(tc, test_json_errors_have_positions);
	tcase_add_test(tc, test_terms_json_terms_round_trip);
	tcase_add_test(tc, test_unprintable_string_instructions_round_trip);
	tcase_add_test(tc, test_float_overflow_is_an_error);
	tcase_add_test(tc,
		       test_a_string_instruction_list_is_written_as_its_codes);
	tcase_add_test(tc, test_version_regex_uses_otp_rule);
	tcase_add_test(tc, test_charlists_are_strings);
	tcase_add_test(tc, test_appup_accepts_charlist_versions);
	tcase_add_test(tc, test_version_match_accepts_charlists);
	tcase_add_test(tc, test_charlists_print_and_encode_like_strings);
	tcase_add_test(tc, test_apply_args_stay_a_list_in_json);
	tcase_add_test(tc, test_convert_of_w_form_equals_string_form);
	suite_add_tcase(s, tc);
	return s;
}
