/* Every appup of ../shared/corpus/appup parses (and checks) as expected. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <check.h>

#include "molt/appup.h"

#include "test_util.h"

/* last: bans unsafe functions (STYLE.md) */
#include "molt/banned.h"

#define MAX_FILES 64

static char files[MAX_FILES][1024];
static int nfiles;

static void scan(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) && nfiles < MAX_FILES) {
		char path[1024];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			scan(path);
		else if (strstr(e->d_name, ".appup"))
			snprintf(files[nfiles++], sizeof(files[0]), "%s", path);
	}
	closedir(d);
}

static int is_src(const char *path)
{
	size_t n = strlen(path);

	return n > 4 && strcmp(path + n - 4, ".src") == 0;
}

static void count_diag(int level, const char *msg, void *payload)
{
	(void)msg;
	if (level == MOLT_DIAG_ERROR)
		(*(int *)payload)++;
}

START_TEST(test_corpus_file_parses)
{
	const char *path = files[_i];
	molt_appup_load_opts o = MOLT_APPUP_LOAD_OPTS_INIT;
	molt_err err = MOLT_ERR_INIT;
	molt_appup *ap = NULL;
	int rc, errors = 0;

	o.vsn = is_src(path) ? "9.9.9" : NULL;
	rc = molt_appup_load(&ap, path, &o, &err);
	if (strstr(path, "d_bad_appup")) {
		/* OTP's negative test: a missing comma on line 10 */
		ck_assert_int_eq(rc, MOLT_EPARSE);
		ck_assert_msg(strstr(err.msg, "fe.appup:9:12: expected ',' or "
					      "'}', found '['"),
			      "%s", err.msg);
		return;
	}
	ck_assert_msg(rc == 0, "%s", err.msg);
	ck_assert_ptr_nonnull(ap->vsn);
	if (is_src(path))
		ck_assert_ptr_null(strstr(ap->vsn->u.str.s, "%VSN%"));
	if (strstr(path, "ranch.appup"))
		ck_assert_int_eq(ap->ignored_terms, 2);
	rc = molt_appup_check(ap, count_diag, &errors, &err);
	if (strstr(path, "lib/b-2.0/")) {
		/* remove_module is not an instruction (systools agrees) */
		ck_assert_int_eq(rc, MOLT_EPARSE);
		ck_assert_msg(strstr(err.msg, "remove_module"), "%s", err.msg);
	} else {
		ck_assert_msg(rc == 0 && errors == 0, "%s", err.msg);
	}
	molt_appup_free(ap);
}
END_TEST

START_TEST(test_template_without_version_is_reported)
{
	const char *dir = molt_test_shared_path("corpus/appup", "appup corpus");
	char path[1024];
	molt_appup_load_opts o = MOLT_APPUP_LOAD_OPTS_INIT;
	molt_err err = MOLT_ERR_INIT;
	molt_appup *ap = NULL;

	if (!dir)
		return;
	snprintf(path, sizeof(path),
		 "%s/emqx__emqx/apps/emqx_auth_jwt/src/"
		 "emqx_auth_jwt.appup.src",
		 dir);
	ck_assert_int_eq(molt_appup_load(&ap, path, &o, &err), MOLT_EPARSE);
	ck_assert_msg(strstr(err.msg, "emqx_auth_jwt.appup.src:3:2: unbound "
				      "variable VSN"),
		      "%s", err.msg);
	snprintf(path, sizeof(path), "%s/erlang__otp/lib/ssl/src/ssl.appup.src",
		 dir);
	o.placeholders = 1;
	ck_assert_int_eq(molt_appup_load(&ap, path, &o, &err), MOLT_EPARSE);
	ck_assert_msg(strstr(err.msg, "ssl.appup.src:2:2: placeholder %VSN%"),
		      "%s", err.msg);
}
END_TEST

Suite *corpus_suite(void)
{
	Suite *s = suite_create("corpus");
	TCase *tc = tcase_create("corpus");
	const char *dir = molt_test_shared_path("corpus/appup", "appup corpus");

	if (dir) {
		char root[1024];

		snprintf(root, sizeof(root), "%s", dir);
		scan(root);
		fprintf(stderr, "corpus: %d appup files\n", nfiles);
	}
	tcase_add_loop_test(tc, test_corpus_file_parses, 0, nfiles);
	tcase_add_test(tc, test_template_without_version_is_reported);
	suite_add_tcase(s, tc);
	return s;
}
