/* moltd: booting, bad boot specs, clean shutdown on SIGTERM. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "node_util.h"
#include "rt_util.h"
#include "test_util.h"

#define TREE                                                                   \
	"{\"strategy\":\"one_for_one\",\"children\":[{\"id\":\"c\","           \
	"\"module\":\"counter\",\"name\":\"c\"}]}"

static char dir[256];

static void setup(void)
{
	molt_test_mkdtemp(dir, sizeof(dir), "boot");
}

static void teardown(void)
{
	molt_test_rmrf(dir);
}

/* Write text to dir/name; returns the path (static). */
static const char *spec(const char *name, const char *text)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* Boot spec_path; expect failure with one line on stderr holding want. */
static void boots_badly(const char *spec_path, const char *want)
{
	char out[4096];
	int rc = rt_run(out, sizeof(out), "'%s' --root '%s/root' --boot '%s'",
			rt_moltd_path(), dir, spec_path);
	char *nl = strchr(out, '\n');

	ck_assert_msg(rc == 1, "moltd exited %d: %s", rc, out);
	ck_assert_msg(strstr(out, want), "wanted '%s' in: %s", want, out);
	ck_assert_msg(nl && nl[1] == '\0', "not one line: %s", out);
	ck_assert_ptr_nonnull(strstr(out, "moltd: "));
}

static void mods_spec(char *buf, size_t n, const char *mod, const char *root)
{
	snprintf(buf, n, "{\"format\":1,\"modules\":[\"%s\"],\"root\":%s}", mod,
		 root);
}

START_TEST(test_missing_spec_file)
{
	boots_badly("/nonexistent/boot.json", "/nonexistent/boot.json");
}
END_TEST

START_TEST(test_invalid_json_names_line_and_column)
{
	boots_badly(spec("b.json", "{\"format\": 1,\n  \"modules\": [,]}"),
		    "b.json:2:15: invalid JSON");
}
END_TEST

START_TEST(test_unknown_format_version)
{
	boots_badly(spec("b.json", "{\"format\": 2, \"root\": {}}"),
		    "format 2 is not supported");
	boots_badly(spec("c.json", "{\"root\": {}}"), "no \"format\"");
}
END_TEST

START_TEST(test_missing_module_file)
{
	char s[1024];

	mods_spec(s, sizeof(s), "/nonexistent/gone.so", TREE);
	boots_badly(spec("b.json", s), "modules[0]: /nonexistent/gone.so");
}
END_TEST

START_TEST(test_object_without_descriptor)
{
	char s[1024];

	mods_spec(s, sizeof(s), rt_fixture("nodesc"), TREE);
	boots_badly(spec("b.json", s), "no molt_module_descriptor symbol");
}
END_TEST

START_TEST(test_wrong_abi)
{
	char s[1024];

	mods_spec(s, sizeof(s), rt_fixture("badabi"), TREE);
	boots_badly(spec("b.json", s), "badabi.so: module ABI 42");
}
END_TEST

START_TEST(test_bad_tree)
{
	char s[1024];

	mods_spec(s, sizeof(s), rt_fixture("crasher"), TREE);
	boots_badly(spec("b.json", s), "module 'counter' is not loaded");
	mods_spec(s, sizeof(s), rt_fixture("counter"), "[]");
	boots_badly(spec("c.json", s), "no \"root\" supervisor");
}
END_TEST

START_TEST(test_usage_errors_exit_2)
{
	char out[1024];

	ck_assert_int_eq(rt_run(out, sizeof(out), "'%s'", rt_moltd_path()), 2);
	ck_assert_ptr_nonnull(strstr(out, "usage: moltd"));
	ck_assert_int_eq(rt_run(out, sizeof(out),
				"'%s' --root /tmp --boot x --schedulers 0",
				rt_moltd_path()),
			 2);
}
END_TEST

START_TEST(test_sigterm_stops_cleanly_running_terminate)
{
	char tree[1024], path[512], *txt;
	rt_node n;

	snprintf(path, sizeof(path), "%s/terminated", dir);
	snprintf(tree, sizeof(tree),
		 "{\"children\":[{\"id\":\"p\",\"module\":\"probe\","
		 "\"args\":\"touch:%s\"}]}",
		 path);
	rt_node_boot(&n, tree);
	ck_assert_int_eq(rt_node_stop(&n), 0);
	txt = molt_test_read_file(path, NULL);
	ck_assert_ptr_nonnull(txt);
	ck_assert_str_eq(txt, "shutdown\n");
	free(txt);
	ck_assert_int_ne(access(n.root, F_OK), -1);
	snprintf(path, sizeof(path), "%s/run/moltd.sock", n.root);
	ck_assert_int_eq(access(path, F_OK), -1); /* socket removed */
	rt_node_clean(&n);
}
END_TEST

START_TEST(test_root_supervisor_giving_up_stops_the_node)
{
	char out[256];
	rt_node n;

	rt_node_boot(&n, "{\"intensity\":0,\"children\":[{\"id\":\"x\","
			 "\"module\":\"crasher\",\"name\":\"x\"}]}");
	rt_ctl(n.root, "{\"op\":\"cast\",\"to\":\"x\",\"payload\":\"crash\"}",
	       out, sizeof(out));
	ck_assert_int_eq(rt_node_wait(&n, 5000), 1);
	rt_node_clean(&n);
}
END_TEST

START_TEST(test_second_moltd_on_one_root_is_refused)
{
	char out[4096];
	rt_node n;

	rt_node_boot(&n, TREE);
	ck_assert_int_eq(rt_run(out, sizeof(out),
				"'%s' --root '%s' --boot '%s'", rt_moltd_path(),
				n.root, n.boot),
			 1);
	ck_assert_ptr_nonnull(strstr(out, "another moltd is listening there"));
	ck_assert_int_eq(rt_node_stop(&n), 0); /* the first one still runs */
	rt_node_clean(&n);
}
END_TEST

Suite *boot_suite(void)
{
	Suite *s = suite_create("boot");
	TCase *tc = tcase_create("boot");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_missing_spec_file);
	tcase_add_test(tc, test_invalid_json_names_line_and_column);
	tcase_add_test(tc, test_unknown_format_version);
	tcase_add_test(tc, test_missing_module_file);
	tcase_add_test(tc, test_object_without_descriptor);
	tcase_add_test(tc, test_wrong_abi);
	tcase_add_test(tc, test_bad_tree);
	tcase_add_test(tc, test_usage_errors_exit_2);
	tcase_add_test(tc, test_sigterm_stops_cleanly_running_terminate);
	tcase_add_test(tc, test_root_supervisor_giving_up_stops_the_node);
	tcase_add_test(tc, test_second_moltd_on_one_root_is_refused);
	suite_add_tcase(s, tc);
	return s;
}
