/* molt remove: a release and the lib dirs only it used out of a root;
 * refusals that change nothing; crash leftovers cleared. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "molt/release.h"

#include "relfix.h"
#include "test_util.h"

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

/* Made once for the suite (unchecked fixture): repository and bundles;
 * b111 is release 1.1.1 with the very lib dir of 1.1.0 (kvs-1.1.0). */
static char base[4096], repo[4096], b100[4200], b110[4200], b111[4200],
	b120[4200];
/* Per test. */
static char dir[4096], root[4200];

static void suite_setup(void)
{
	molt_test_mkdtemp(base, sizeof(base), "remove-suite");
	relfix_make_repo(repo, base);
	snprintf(b100, sizeof(b100), "%s", relfix_build(repo, "v1.0.0", base));
	snprintf(b110, sizeof(b110), "%s", relfix_build(repo, "v1.1.0", base));
	snprintf(b120, sizeof(b120), "%s", relfix_build(repo, "v1.2.0", base));
	relfix_retag(repo, "v1.1.1", "true");
	snprintf(b111, sizeof(b111), "%s", relfix_build(repo, "v1.1.1", base));
}

static void suite_teardown(void)
{
	molt_test_rmrf(base);
}

static void setup(void)
{
	molt_test_mkdtemp(dir, sizeof(dir), "remove");
	snprintf(root, sizeof(root), "%s/root", dir);
}

static void teardown(void)
{
	molt_test_rmrf(dir);
}

/* A root with 1.0.0 permanent and the other bundles unpacked. */
static void make_root(const char *const *bundles, size_t n)
{
	molt_err err = MOLT_ERR_INIT;

	ck_assert_msg(molt_release_init(NULL, root, b100, NULL, &err) ==
			      MOLT_OK,
		      "%s", err.msg);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(molt_release_unpack(NULL, root, bundles[i], NULL,
						  &err) == MOLT_OK,
			      "%s", err.msg);
}

static int exists(const char *rel)
{
	char p[4400];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	return access(p, F_OK) == 0;
}

static int listed(const char *vsn)
{
	molt_releases rels;
	molt_err err = MOLT_ERR_INIT;
	int found;

	ck_assert_msg(molt_releases_read(&rels, root, &err) == MOLT_OK, "%s",
		      err.msg);
	found = molt_releases_find(&rels, vsn) != NULL;
	molt_releases_release(&rels);
	return found;
}

/* Every release RELEASES.json lists has all its files, with their sums. */
static void assert_listed_whole(void)
{
	molt_releases rels;
	molt_err err = MOLT_ERR_INIT;

	ck_assert_msg(molt_releases_read(&rels, root, &err) == MOLT_OK, "%s",
		      err.msg);
	for (size_t i = 0; i < rels.n; i++)
		ck_assert_msg(molt_release_verify(root, rels.rels[i].vsn,
						  &err) == MOLT_OK,
			      "listed release %s is torn: %s", rels.rels[i].vsn,
			      err.msg);
	molt_releases_release(&rels);
}

static void set_status(const char *vsn, int status)
{
	molt_releases rels;
	molt_err err = MOLT_ERR_INIT;

	ck_assert_int_eq(molt_releases_read(&rels, root, &err), MOLT_OK);
	ck_assert_int_eq(molt_releases_set_status(&rels, vsn, status, &err),
			 MOLT_OK);
	ck_assert_int_eq(molt_releases_write(&rels, root, &err), MOLT_OK);
	molt_releases_release(&rels);
}

START_TEST(test_remove_deletes_the_release_and_its_lib_dirs)
{
	const char *const more[] = {b110, b120};
	molt_remove_result r;
	molt_err err = MOLT_ERR_INIT;

	make_root(more, 2);
	ck_assert_msg(molt_release_remove(&r, root, "1.1.0", &err) == MOLT_OK,
		      "%s", err.msg);
	ck_assert_uint_eq(r.ndeleted, 2);
	ck_assert_str_eq(r.deleted[0], "releases/1.1.0");
	ck_assert_str_eq(r.deleted[1], "lib/kvs-1.1.0");
	ck_assert_uint_eq(r.nkept, 0);
	molt_remove_result_release(&r);
	ck_assert(!exists("releases/1.1.0") && !exists("lib/kvs-1.1.0"));
	ck_assert(!listed("1.1.0") && listed("1.2.0") && listed("1.0.0"));
	ck_assert(exists("lib/kvs-1.2.0") && exists("lib/kvs-1.0.0"));
	ck_assert(exists("releases/RELEASES.json") && exists("releases/.lock"));
	ck_assert_int_eq(relfix_staging_left(root), 0);
	assert_listed_whole();
}
END_TEST

START_TEST(test_remove_keeps_lib_dirs_another_release_uses)
{
	const char *const more[] = {b110, b111};
	molt_remove_result r;
	molt_err err = MOLT_ERR_INIT;

	make_root(more, 2);
	set_status("1.1.1", MOLT_REL_OLD);
	ck_assert_msg(molt_release_remove(&r, root, "1.1.0", &err) == MOLT_OK,
		      "%s", err.msg);
	ck_assert_uint_eq(r.ndeleted, 1);
	ck_assert_str_eq(r.deleted[0], "releases/1.1.0");
	ck_assert_uint_eq(r.nkept, 1);
	ck_assert_str_eq(r.kept[0], "lib/kvs-1.1.0");
	ck_assert_str_eq(r.kept_by[0], "1.1.1");
	molt_remove_result_release(&r);
	ck_assert(exists("lib/kvs-1.1.0") && !exists("releases/1.1.0"));
	assert_listed_whole();
	/* the old release 1.1.1 can go too, and the lib dir with it */
	ck_assert_msg(molt_release_remove(&r, root, "1.1.1", &err) == MOLT_OK,
		      "%s", err.msg);
	ck_assert_uint_eq(r.ndeleted, 2);
	ck_assert_str_eq(r.deleted[1], "lib/kvs-1.1.0");
	molt_remove_result_release(&r);
	ck_assert(!exists("lib/kvs-1.1.0"));
	ck_assert(listed("1.0.0"));
	assert_listed_whole();
}
END_TEST

/* remove vsn, which must be refused with code and a message holding
 * msg, leaving the root as it was. */
static void refused(const char *vsn, int code, const char *msg)
{
	molt_remove_result r;
	molt_err err = MOLT_ERR_INIT;
	char *before = relfix_snapshot(root), what[300];

	snprintf(what, sizeof(what), "remove '%s'", vsn);
	ck_assert_msg(molt_release_remove(&r, root, vsn, &err) == code,
		      "%s: %s", what, err.msg);
	ck_assert_msg(strstr(err.msg, msg) != NULL, "%s: '%s' lacks '%s'", what,
		      err.msg, msg);
	ck_assert_uint_eq(r.ndeleted + r.nkept, 0);
	relfix_assert_same_root(before, root, what);
	free(before);
}

START_TEST(test_remove_refuses_permanent_current_unknown_and_bad_names)
{
	static const char *const bad[] = {"../x",
					  "RELEASES.json",
					  "releases.json",
					  ".lock",
					  ".staging-x",
					  "..",
					  ".",
					  "",
					  "a/b"};
	const char *const more[] = {b110, b120};

	make_root(more, 2);
	set_status("1.1.0", MOLT_REL_CURRENT);
	refused("1.0.0", MOLT_EBUSY, "release 1.0.0 is permanent");
	refused("1.1.0", MOLT_EBUSY, "release 1.1.0 is current");
	refused("9.9.9", MOLT_ENOTFOUND,
		"release 9.9.9 is not in '"); /* and the known ones: */
	refused("9.9.9", MOLT_ENOTFOUND,
		"(known: 1.2.0 (unpacked), 1.1.0 (current), 1.0.0 "
		"(permanent))");
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		refused(bad[i], MOLT_EINVAL, "is not a release version");
	assert_listed_whole();
}
END_TEST

START_TEST(test_remove_needs_a_root)
{
	molt_err err = MOLT_ERR_INIT;
	char *before = relfix_snapshot(dir);

	ck_assert_int_eq(molt_release_remove(NULL, dir, "1.0.0", &err),
			 MOLT_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "is not a molt root"));
	relfix_assert_same_root(before, dir, "remove from no root");
	free(before);
	ck_assert_int_eq(molt_release_remove(NULL, NULL, "1.0.0", &err),
			 MOLT_EINVAL);
}
END_TEST

START_TEST(test_a_removed_release_unpacks_again)
{
	const char *const more[] = {b110};
	molt_unpack_result u;
	molt_err err = MOLT_ERR_INIT;

	make_root(more, 1);
	ck_assert_int_eq(molt_release_remove(NULL, root, "1.1.0", &err),
			 MOLT_OK);
	ck_assert_msg(molt_release_unpack(&u, root, b110, NULL, &err) ==
			      MOLT_OK,
		      "%s", err.msg);
	ck_assert_uint_eq(u.new_libs, 1);
	ck_assert(listed("1.1.0"));
	assert_listed_whole();
}
END_TEST

/* What a remove killed after its commit leaves: releases/1.1.0 and
 * lib/kvs-1.1.0 unlisted in place, and a half-deleted trash directory. */
static void crash_leftovers(void)
{
	ck_assert_int_eq(
		molt_test_system(
			"cd '%s' && cp -a releases/1.1.0 lib/kvs-1.1.0 "
			"'%s'",
			root, dir),
		0);
	ck_assert_int_eq(molt_release_remove(NULL, root, "1.1.0", NULL),
			 MOLT_OK);
	ck_assert_int_eq(
		molt_test_system("cd '%s' && cp -a '%s/1.1.0' releases/ && "
				 "cp -a '%s/kvs-1.1.0' lib/ && mkdir -p "
				 ".staging-dead01/0/modules && echo x "
				 ">.staging-dead01/0/modules/m.so",
				 root, dir, dir),
		0);
	ck_assert(!listed("1.1.0") && exists("releases/1.1.0"));
}

START_TEST(test_unpack_after_a_crashed_remove_clears_its_leftovers)
{
	const char *const more[] = {b110};
	molt_err err = MOLT_ERR_INIT;

	make_root(more, 1);
	crash_leftovers();
	ck_assert_msg(molt_release_unpack(NULL, root, b110, NULL, &err) ==
			      MOLT_OK,
		      "%s", err.msg);
	ck_assert_int_eq(relfix_staging_left(root), 0);
	ck_assert(listed("1.1.0"));
	assert_listed_whole();
}
END_TEST

START_TEST(test_remove_sweeps_what_no_listed_release_uses)
{
	const char *const more[] = {b110, b120};
	molt_remove_result r;
	molt_err err = MOLT_ERR_INIT;

	make_root(more, 2);
	crash_leftovers();
	/* a file under lib/ is not ours to judge: it stays */
	ck_assert_int_eq(molt_test_system("echo x >'%s/lib/README'", root), 0);
	ck_assert_msg(molt_release_remove(&r, root, "1.2.0", &err) == MOLT_OK,
		      "%s", err.msg);
	ck_assert_uint_eq(r.ndeleted, 4);
	ck_assert_str_eq(r.deleted[0], "releases/1.1.0");
	ck_assert_str_eq(r.deleted[1], "releases/1.2.0");
	ck_assert_str_eq(r.deleted[2], "lib/kvs-1.1.0");
	ck_assert_str_eq(r.deleted[3], "lib/kvs-1.2.0");
	molt_remove_result_release(&r);
	ck_assert_int_eq(relfix_staging_left(root), 0);
	ck_assert(exists("lib/README") && exists("lib/kvs-1.0.0"));
	assert_listed_whole();
}
END_TEST

START_TEST(test_kill_9_during_remove_leaves_listed_releases_whole)
{
	molt_err err = MOLT_ERR_INIT;
	char big[4400];
	int removed = 0, torn = 0;

	relfix_big_bundle(big, sizeof(big), repo, dir);
	make_root(NULL, 0);
	/* every 0.5 ms up to 40 ms, then (a slow or loaded machine, a
	 * sanitizer build) every 20 ms until one remove has finished */
	for (int us = 0; us <= 40000 || (removed == 0 && us <= 3000000);
	     us += us < 40000 ? 500 : 20000) {
		if (!listed("1.1.9"))
			ck_assert_msg(molt_release_unpack(NULL, root, big, NULL,
							  &err) == MOLT_OK,
				      "unpack after a kill at %d us: %s", us,
				      err.msg);
		/* kill -9 a real `molt remove` after us microseconds */
		molt_test_system("'%s/releasetool/molt' -q remove --root '%s' "
				 "1.1.9 >/dev/null 2>&1 & pid=$!; sleep "
				 "%d.%06d; kill -9 $pid 2>/dev/null; wait $pid",
				 MOLT_BUILD_DIR, root, us / 1000000,
				 us % 1000000);
		assert_listed_whole();
		removed += !listed("1.1.9");
		/* killed half way: a trash directory or an unlisted dir */
		torn += relfix_staging_left(root) > 0 ||
			(!listed("1.1.9") && exists("lib/kvs-1.1.9"));
	}
	fprintf(stderr, "kill -9 sweep of remove: %d removed, %d torn\n",
		removed, torn);
	ck_assert_int_gt(removed, 0);
	/* whatever the last kill left, the next locked write clears it */
	if (listed("1.1.9"))
		ck_assert_int_eq(molt_release_remove(NULL, root, "1.1.9", &err),
				 MOLT_OK);
	ck_assert_msg(molt_release_unpack(NULL, root, big, NULL, &err) ==
			      MOLT_OK,
		      "%s", err.msg);
	ck_assert_int_eq(relfix_staging_left(root), 0);
	assert_listed_whole();
}
END_TEST

/* Remove 1.1.0 from a copy of pristine with allocation n failing: a
 * refusal leaves the root as pristine (want), a success leaves 1.1.0
 * gone and every listed release whole. Returns the status. */
static int remove_failing_at(const char *pristine, const char *want,
			     unsigned long n)
{
	molt_remove_result r;
	molt_err err = MOLT_ERR_INIT;
	char what[300];
	int rc;

	molt_test_rmrf(root);
	ck_assert_int_eq(molt_test_system("cp -a '%s' '%s'", pristine, root),
			 0);
	molt_alloc_fail_after(n);
	rc = molt_release_remove(&r, root, "1.1.0", &err);
	molt_alloc_fail_after(0);
	molt_remove_result_release(&r);
	ck_assert_int_eq(relfix_staging_left(root), 0);
	if (rc == MOLT_OK) {
		ck_assert(!listed("1.1.0"));
		assert_listed_whole();
		return rc;
	}
	ck_assert_msg(err.msg[0] != '\0', "allocation %lu: no message", n);
	snprintf(what, sizeof(what), "allocation %lu (%s)", n, err.msg);
	relfix_assert_same_root(want, root, what);
	return rc;
}

START_TEST(test_remove_survives_every_allocation_failure)
{
	const char *const more[] = {b110, b120};
	molt_err err = MOLT_ERR_INIT;
	char pristine[4400], *want;
	unsigned long total, failed = 0;

	make_root(more, 2);
	snprintf(pristine, sizeof(pristine), "%s/pristine", dir);
	ck_assert_int_eq(molt_test_system("cp -a '%s' '%s'", root, pristine),
			 0);
	want = relfix_snapshot(pristine);
	molt_alloc_fail_after((unsigned long)-1);
	ck_assert_int_eq(molt_release_remove(NULL, root, "1.1.0", &err),
			 MOLT_OK);
	total = molt_alloc_fail_after(0);
	ck_assert_uint_gt(total, 5);
	for (unsigned long n = 1; n <= total; n++)
		failed += remove_failing_at(pristine, want, n) < 0;
	fprintf(stderr, "remove: %lu allocations, %lu refused cleanly\n", total,
		failed);
	ck_assert_uint_gt(failed, 0);
	free(want);
}
END_TEST

/* The snapshot sees what Task 2's rule is about: contents of the same
 * size, permission bits, symlink targets. */
START_TEST(test_snapshot_sees_contents_modes_and_links)
{
	char *a, *b;

	make_root(NULL, 0);
	ck_assert_int_eq(molt_test_system("cd '%s' && ln -s a lib/link", root),
			 0);
	a = relfix_snapshot(root);
	ck_assert_int_eq(molt_test_system("cd '%s' && printf X | dd conv="
					  "notrunc of=lib/kvs-1.0.0/app.json "
					  "2>/dev/null",
					  root),
			 0);
	b = relfix_snapshot(root);
	ck_assert_str_ne(a, b);
	free(b);
	ck_assert_int_eq(molt_test_system("cd '%s' && chmod 600 "
					  "releases/RELEASES.json && ln -sf b "
					  "lib/link",
					  root),
			 0);
	b = relfix_snapshot(root);
	ck_assert_ptr_nonnull(strstr(b, "/releases/RELEASES.json f 0600 "));
	ck_assert_ptr_nonnull(strstr(b, "/lib/link l 0777 1 b\n"));
	free(a);
	free(b);
}
END_TEST

START_TEST(test_cli_remove)
{
	char out[4400], *o;
	const char *molt = MOLT_BUILD_DIR "/releasetool/molt";
	const char *const more[] = {b110, b111, b120};

	make_root(more, 3);
	snprintf(out, sizeof(out), "%s/cli.out", dir);
	ck_assert_int_eq(molt_test_system("'%s' remove --root '%s' 1.1.0 >'%s'",
					  molt, root, out),
			 0);
	o = molt_test_read_file(out, NULL);
	ck_assert_str_eq(o, "molt remove: removed release 1.1.0 (deleted "
			    "releases/1.1.0; kept lib/kvs-1.1.0, used by "
			    "1.1.1)\n");
	free(o);
	ck_assert_int_eq(molt_test_system("MOLT_ROOT='%s' '%s' --json remove "
					  "1.2.0 >'%s'",
					  root, molt, out),
			 0);
	o = molt_test_read_file(out, NULL);
	ck_assert_str_eq(o, "{\"ok\":true,\"vsn\":\"1.2.0\",\"deleted\":["
			    "\"releases/1.2.0\",\"lib/kvs-1.2.0\"],\"kept\":[],"
			    "\"kept_by\":[]}\n");
	free(o);
	ck_assert_int_eq(molt_test_system("'%s' remove --root '%s' 1.0.0 "
					  "2>'%s'",
					  molt, root, out),
			 1);
	o = molt_test_read_file(out, NULL);
	ck_assert_str_eq(o, "molt remove: release 1.0.0 is permanent (the node "
			    "boots it): make another release permanent "
			    "first\n");
	free(o);
	ck_assert_int_eq(molt_test_system("'%s' --json remove --root '%s' "
					  "../x >'%s'",
					  molt, root, out),
			 1);
	o = molt_test_read_file(out, NULL);
	ck_assert_ptr_nonnull(strstr(o, "{\"ok\":false,\"error\":{\"code\":"));
	free(o);
	ck_assert_int_eq(molt_test_system("'%s' remove --root '%s' 2>/dev/null",
					  molt, root),
			 2);
	ck_assert_int_eq(molt_test_system("'%s' remove --root '%s' 1.1.1 x "
					  "2>/dev/null",
					  molt, root),
			 2);
	ck_assert_int_eq(molt_test_system("env -u MOLT_ROOT '%s' remove 1.1.1 "
					  "2>/dev/null",
					  molt),
			 2);
	ck_assert(listed("1.1.1"));
}
END_TEST

Suite *remove_suite(void)
{
	Suite *s = suite_create("releasetool.remove");
	TCase *tc = tcase_create("remove");

	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_remove_deletes_the_release_and_its_lib_dirs);
	tcase_add_test(tc, test_remove_keeps_lib_dirs_another_release_uses);
	tcase_add_test(
		tc,
		test_remove_refuses_permanent_current_unknown_and_bad_names);
	tcase_add_test(tc, test_remove_needs_a_root);
	tcase_add_test(tc, test_a_removed_release_unpacks_again);
	tcase_add_test(tc,
		       test_unpack_after_a_crashed_remove_clears_its_leftovers);
	tcase_add_test(tc, test_remove_sweeps_what_no_listed_release_uses);
	tcase_add_test(tc,
		       test_kill_9_during_remove_leaves_listed_releases_whole);
	tcase_add_test(tc, test_remove_survives_every_allocation_failure);
	tcase_add_test(tc, test_snapshot_sees_contents_modes_and_links);
	tcase_add_test(tc, test_cli_remove);
	suite_add_tcase(s, tc);
	return s;
}
