/* molt unpack, init and releases: bundles into a root, RELEASES.json. */
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

/* Made once for the suite (unchecked fixture): repository and bundles. */
static char base[4096], repo[4096], b100[4200], b110[4200], b120[4200];
/* Per test. */
static char dir[4096], root[4200];

static void suite_setup(void)
{
	molt_test_mkdtemp(base, sizeof(base), "unpack-suite");
	relfix_make_repo(repo, base);
	snprintf(b100, sizeof(b100), "%s", relfix_build(repo, "v1.0.0", base));
	snprintf(b110, sizeof(b110), "%s", relfix_build(repo, "v1.1.0", base));
	snprintf(b120, sizeof(b120), "%s", relfix_build(repo, "v1.2.0", base));
}

static void suite_teardown(void)
{
	molt_test_rmrf(base);
}

static void setup(void)
{
	molt_test_mkdtemp(dir, sizeof(dir), "unpack");
	snprintf(root, sizeof(root), "%s/root", dir);
}

static void teardown(void)
{
	molt_test_rmrf(dir);
}

static void init_root(const char *bundle)
{
	molt_err err = MOLT_ERR_INIT;

	ck_assert_msg(molt_release_init(NULL, root, bundle, NULL, &err) ==
			      MOLT_OK,
		      "%s", err.msg);
}

static int is_dir(const char *rel)
{
	char p[4400];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *rel)
{
	char p[4400];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

START_TEST(test_init_makes_a_root_with_a_permanent_release)
{
	molt_releases rels;
	molt_err err = MOLT_ERR_INIT;
	struct stat st;
	char run[4400];

	init_root(b100);
	ck_assert(is_dir("releases") && is_dir("lib") && is_dir("run") &&
		  is_dir("log"));
	snprintf(run, sizeof(run), "%s/run", root);
	ck_assert_int_eq(stat(run, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	ck_assert(is_file("releases/RELEASES.json"));
	ck_assert(is_file("releases/1.0.0/release.json"));
	ck_assert(is_file("releases/1.0.0/MANIFEST.sha256"));
	ck_assert(is_file("lib/kvs-1.0.0/app.json"));
	ck_assert(is_file("lib/kvs-1.0.0/modules/kvs_server.so"));
	ck_assert(!is_file("MANIFEST.sha256"));
	ck_assert_int_eq(relfix_staging_left(root), 0);
	ck_assert_int_eq(molt_releases_read(&rels, root, &err), MOLT_OK);
	ck_assert_uint_eq(rels.n, 1);
	ck_assert_str_eq(rels.rels[0].name, "shop");
	ck_assert_str_eq(rels.rels[0].vsn, "1.0.0");
	ck_assert_int_eq(rels.rels[0].status, MOLT_REL_PERMANENT);
	ck_assert_uint_eq(rels.rels[0].napps, 1);
	ck_assert_str_eq(rels.rels[0].apps[0].lib, "lib/kvs-1.0.0");
	molt_releases_release(&rels);
}
END_TEST

START_TEST(test_unpack_adds_an_unpacked_release_newest_first)
{
	molt_unpack_result r;
	molt_releases rels;
	molt_err err = MOLT_ERR_INIT;

	init_root(b100);
	ck_assert_msg(molt_release_unpack(&r, root, b110, NULL, &err) ==
			      MOLT_OK,
		      "%s", err.msg);
	ck_assert_str_eq(r.vsn, "1.1.0");
	ck_assert_uint_eq(r.files, 7);
	ck_assert_uint_eq(r.new_libs, 1);
	ck_assert_msg(molt_release_unpack(&r, root, b120, NULL, &err) ==
			      MOLT_OK,
		      "%s", err.msg);
	ck_assert(is_file("lib/kvs-1.1.0/kvs.appup"));
	ck_assert(is_file("lib/kvs-1.2.0/modules/kvs_expiry.so"));
	ck_assert(is_file("releases/1.2.0/release.json"));
	ck_assert_int_eq(molt_releases_read(&rels, root, &err), MOLT_OK);
	ck_assert_uint_eq(rels.n, 3);
	ck_assert_str_eq(rels.rels[0].vsn, "1.2.0");
	ck_assert_int_eq(rels.rels[0].status, MOLT_REL_UNPACKED);
	ck_assert_str_eq(rels.rels[1].vsn, "1.1.0");
	ck_assert_int_eq(rels.rels[1].status, MOLT_REL_UNPACKED);
	ck_assert_str_eq(rels.rels[2].vsn, "1.0.0");
	ck_assert_int_eq(rels.rels[2].status, MOLT_REL_PERMANENT);
	molt_releases_release(&rels);
	ck_assert_int_eq(relfix_staging_left(root), 0);
}
END_TEST

START_TEST(test_second_unpack_of_a_version_is_refused)
{
	molt_err err = MOLT_ERR_INIT;
	char *before;

	init_root(b100);
	ck_assert_int_eq(molt_release_unpack(NULL, root, b110, NULL, &err),
			 MOLT_OK);
	before = relfix_snapshot(root);
	ck_assert_int_eq(molt_release_unpack(NULL, root, b110, NULL, &err),
			 MOLT_EEXISTS);
	ck_assert_ptr_nonnull(strstr(err.msg, "release 1.1.0 is already in"));
	ck_assert_int_eq(molt_release_unpack(NULL, root, b100, NULL, &err),
			 MOLT_EEXISTS);
	ck_assert_ptr_nonnull(strstr(err.msg, "(permanent)"));
	relfix_assert_same_root(before, root, "unpack of a version twice");
	free(before);
}
END_TEST

START_TEST(test_unpack_needs_a_root_and_init_an_empty_dir)
{
	molt_err err = MOLT_ERR_INIT;
	char junk[4400], *before;

	before = relfix_snapshot(dir);
	ck_assert_int_eq(molt_release_unpack(NULL, dir, b100, NULL, &err),
			 MOLT_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "is not a molt root"));
	relfix_assert_same_root(before, dir, "unpack into no root");
	free(before);
	snprintf(junk, sizeof(junk), "%s/junk", dir);
	ck_assert_int_eq(mkdir(junk, 0755), 0);
	before = relfix_snapshot(dir);
	ck_assert_int_eq(molt_release_init(NULL, dir, b100, NULL, &err),
			 MOLT_EEXISTS);
	ck_assert_ptr_nonnull(strstr(err.msg, "is not empty"));
	relfix_assert_same_root(before, dir, "init of a full directory");
	free(before);
	ck_assert_int_eq(molt_release_init(NULL, root, "/nonexistent.tar.gz",
					   NULL, &err),
			 MOLT_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "bundle '/nonexistent.tar.gz'"));
	/* a failed init leaves no root behind */
	ck_assert_int_eq(access(root, F_OK), -1);
}
END_TEST

/* Issue 9 (a root only its owner can change): init and unpack refuse a
 * root that group or others can write, or that another user owns, and
 * change no mode. */
START_TEST(test_init_and_unpack_refuse_a_root_others_can_write)
{
	molt_err err = MOLT_ERR_INIT;
	struct stat st;
	char *before;

	ck_assert_int_eq(mkdir(root, 0700), 0);
	ck_assert_int_eq(chmod(root, 0777), 0);
	before = relfix_snapshot(root);
	ck_assert_int_eq(molt_release_init(NULL, root, b100, NULL, &err),
			 MOLT_EUNSAFE);
	relfix_assert_same_root(before, root, "init of an unsafe root");
	free(before);
	ck_assert_msg(strstr(err.msg, "mode 0777") &&
			      strstr(err.msg, "chmod go-w"),
		      "%s", err.msg);
	ck_assert_int_eq(stat(root, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0777); /* left as it was */
	ck_assert_int_eq(is_dir("releases"), 0);
	ck_assert_int_eq(chmod(root, 0755), 0);
	init_root(b100);
	ck_assert_int_eq(chmod(root, 0775), 0);
	before = relfix_snapshot(root);
	ck_assert_int_eq(molt_release_unpack(NULL, root, b110, NULL, &err),
			 MOLT_EUNSAFE);
	relfix_assert_same_root(before, root, "unpack into an unsafe root");
	free(before);
	ck_assert_int_eq(is_dir("releases/1.1.0"), 0);
	if (geteuid() == 0) { /* another owner: only root can arrange it */
		ck_assert_int_eq(chmod(root, 0755), 0);
		ck_assert_int_eq(chown(root, 65534, (gid_t)-1), 0);
		ck_assert_int_eq(
			molt_release_unpack(NULL, root, b110, NULL, &err),
			MOLT_EUNSAFE);
		ck_assert_msg(strstr(err.msg, "owned by uid 65534"), "%s",
			      err.msg);
		ck_assert_int_eq(chown(root, 0, (gid_t)-1), 0);
	}
	ck_assert_int_eq(chmod(root, 0755), 0);
	ck_assert_msg(molt_release_unpack(NULL, root, b110, NULL, &err) ==
			      MOLT_OK,
		      "%s", err.msg);
}
END_TEST

/* No release or application name addresses the root's own files: the
 * one name check (unpack, build, verify) refuses RELEASES.json in any
 * case, as it refuses ".", ".." and the dot names of the lock and the
 * staging directories. */
START_TEST(test_names_exclude_the_roots_own_files)
{
	static const char *const bad[] = {"RELEASES.json",
					  "releases.JSON",
					  ".lock",
					  ".staging-x",
					  "..",
					  "."};
	molt_err err = MOLT_ERR_INIT;

	init_root(b100);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		ck_assert_msg(molt_release_verify(root, bad[i], &err) ==
				      MOLT_EINVAL,
			      "'%s' accepted", bad[i]);
	ck_assert_int_eq(molt_release_verify(root, "1.0.0", &err), MOLT_OK);
}
END_TEST

START_TEST(test_shared_lib_dir_is_reused_only_if_identical)
{
	molt_unpack_result r;
	molt_err err = MOLT_ERR_INIT;
	const char *same, *diff;
	char same_copy[4400], *before;

	/* 1.1.1 ships exactly kvs-1.1.0 again; 1.1.2 ships a different one */
	relfix_retag(repo, "v1.1.1", "true");
	same = relfix_build(repo, "v1.1.1", dir);
	snprintf(same_copy, sizeof(same_copy), "%s", same);
	relfix_retag(
		repo, "v1.1.2",
		"echo 'int kvs_util_changed = 1;' >>apps/kvs/src/kvs_util.c");
	diff = relfix_build(repo, "v1.1.2", dir);
	init_root(b110);
	ck_assert_msg(molt_release_unpack(&r, root, same_copy, NULL, &err) ==
			      MOLT_OK,
		      "%s", err.msg);
	ck_assert_uint_eq(r.new_libs, 0);
	before = relfix_snapshot(root);
	ck_assert_int_eq(molt_release_unpack(&r, root, diff, NULL, &err),
			 MOLT_EEXISTS);
	relfix_assert_same_root(before, root, "a lib dir of other contents");
	free(before);
	ck_assert_ptr_nonnull(strstr(err.msg, "'lib/kvs-1.1.0' is already in "
					      "the root with different "
					      "contents"));
	ck_assert(!is_dir("releases/1.1.2"));
	ck_assert_int_eq(relfix_staging_left(root), 0);
}
END_TEST

START_TEST(test_releases_statuses_follow_otp_rules)
{
	molt_releases rels;
	molt_err err = MOLT_ERR_INIT;

	init_root(b100);
	ck_assert_int_eq(molt_release_unpack(NULL, root, b110, NULL, &err),
			 MOLT_OK);
	ck_assert_int_eq(molt_releases_read(&rels, root, &err), MOLT_OK);
	ck_assert_int_eq(molt_releases_set_status(&rels, "1.1.0",
						  MOLT_REL_CURRENT, &err),
			 MOLT_OK);
	ck_assert_int_eq(molt_releases_set_status(&rels, "1.1.0",
						  MOLT_REL_PERMANENT, &err),
			 MOLT_OK);
	ck_assert_int_eq(molt_releases_find(&rels, "1.0.0")->status,
			 MOLT_REL_OLD);
	ck_assert_int_eq(
		molt_releases_set_status(&rels, "9.9", MOLT_REL_OLD, &err),
		MOLT_ENOTFOUND);
	ck_assert_int_eq(molt_releases_write(&rels, root, &err), MOLT_OK);
	molt_releases_release(&rels);
	ck_assert_int_eq(molt_releases_read(&rels, root, &err), MOLT_OK);
	ck_assert_int_eq(molt_releases_find(&rels, "1.1.0")->status,
			 MOLT_REL_PERMANENT);
	molt_releases_release(&rels);
}
END_TEST

static void write_releases(const char *text)
{
	char p[4400];
	FILE *f;

	snprintf(p, sizeof(p), "%s/releases/RELEASES.json", root);
	f = fopen(p, "w");
	fputs(text, f);
	fclose(f);
}

START_TEST(test_bad_releases_json_is_refused_with_field)
{
	molt_releases rels;
	molt_err err = MOLT_ERR_INIT;
	char *before;

	init_root(b100);
	write_releases("{\"format\": 7, \"releases\": []}");
	ck_assert_int_eq(molt_releases_read(&rels, root, &err), MOLT_EVERSION);
	ck_assert_ptr_nonnull(strstr(err.msg, "RELEASES.json: field 'format': "
					      "version 7 is not supported"));
	write_releases("{\"format\": 1, \"releases\": [{\"name\": \"shop\", "
		       "\"vsn\": \"1\", \"status\": \"running\"}]}");
	ck_assert_int_eq(molt_releases_read(&rels, root, &err), MOLT_EPARSE);
	ck_assert_ptr_nonnull(strstr(err.msg, "field 'releases[0].status': "
					      "expected unpacked, current, "
					      "permanent or old"));
	write_releases("{\"format\": 1,\n\"releases\": [}");
	ck_assert_int_eq(molt_releases_read(&rels, root, &err), MOLT_EPARSE);
	ck_assert_ptr_nonnull(strstr(err.msg, "RELEASES.json:2:"));
	/* unpack refuses to go on with a RELEASES.json it cannot read */
	before = relfix_snapshot(root);
	ck_assert_int_eq(molt_release_unpack(NULL, root, b110, NULL, &err),
			 MOLT_EPARSE);
	relfix_assert_same_root(before, root,
				"unpack beside a bad "
				"RELEASES.json");
	free(before);
	ck_assert(!is_dir("lib/kvs-1.1.0"));
	ck_assert_int_eq(relfix_staging_left(root), 0);
}
END_TEST

START_TEST(test_cli_unpack_init_and_releases)
{
	char out[4400], *o;

	snprintf(out, sizeof(out), "%s/cli.out", dir);
	ck_assert_int_eq(
		molt_test_system("'%s/releasetool/molt' init --root '%s' "
				 "'%s' -q >/dev/null",
				 MOLT_BUILD_DIR, root, b100),
		0);
	ck_assert_int_eq(
		molt_test_system("MOLT_ROOT='%s' '%s/releasetool/molt' "
				 "--json unpack '%s' >'%s'",
				 root, MOLT_BUILD_DIR, b120, out),
		0);
	o = molt_test_read_file(out, NULL);
	ck_assert_ptr_nonnull(strstr(o, "\"ok\":true"));
	ck_assert_ptr_nonnull(strstr(o, "\"vsn\":\"1.2.0\""));
	free(o);
	ck_assert_int_eq(
		molt_test_system("'%s/releasetool/molt' releases --root "
				 "'%s' >'%s'",
				 MOLT_BUILD_DIR, root, out),
		0);
	o = molt_test_read_file(out, NULL);
	ck_assert_str_eq(o, "shop         1.2.0        unpacked   kvs-1.2.0\n"
			    "shop         1.0.0        permanent  kvs-1.0.0\n");
	free(o);
	ck_assert_int_eq(
		molt_test_system("'%s/releasetool/molt' releases --json "
				 "--root '%s' >'%s'",
				 MOLT_BUILD_DIR, root, out),
		0);
	o = molt_test_read_file(out, NULL);
	ck_assert_ptr_nonnull(strstr(o, "{\"ok\":true,\"releases\":[{\"name\":"
					"\"shop\",\"vsn\":\"1.2.0\",\"status\":"
					"\"unpacked\""));
	free(o);
	ck_assert_int_eq(molt_test_system("'%s/releasetool/molt' unpack --root "
					  "'%s' '%s' 2>'%s'",
					  MOLT_BUILD_DIR, root, b120, out),
			 1);
	o = molt_test_read_file(out, NULL);
	ck_assert_ptr_nonnull(strstr(o, "molt unpack: release 1.2.0 is already "
					"in"));
	free(o);
	ck_assert_int_eq(molt_test_system("'%s/releasetool/molt' unpack '%s' "
					  "2>/dev/null",
					  MOLT_BUILD_DIR, b120),
			 2);
}
END_TEST

START_TEST(test_leftovers_of_an_interrupted_unpack_are_cleared)
{
	molt_unpack_result r;
	molt_releases rels;
	molt_err err = MOLT_ERR_INIT;

	init_root(b100);
	/* what a crash before the RELEASES.json rename leaves behind */
	ck_assert_int_eq(
		molt_test_system("cd '%s' && mkdir -p .staging-dead/lib "
				 "releases/1.1.0 lib/kvs-1.1.0 && "
				 "echo x >.staging-dead/lib/f && echo "
				 "x >lib/kvs-1.1.0/stale && echo x "
				 ">releases/1.1.0/stale",
				 root),
		0);
	ck_assert_msg(molt_release_unpack(&r, root, b110, NULL, &err) ==
			      MOLT_OK,
		      "%s", err.msg);
	ck_assert_int_eq(relfix_staging_left(root), 0);
	ck_assert(!is_file("lib/kvs-1.1.0/stale"));
	ck_assert(!is_file("releases/1.1.0/stale"));
	ck_assert(is_file("lib/kvs-1.1.0/modules/kvs_server.so"));
	ck_assert_int_eq(molt_releases_read(&rels, root, &err), MOLT_OK);
	ck_assert_uint_eq(rels.n, 2);
	molt_releases_release(&rels);
}
END_TEST

START_TEST(test_kill_9_during_unpack_leaves_the_root_consistent)
{
	molt_releases rels;
	molt_err err = MOLT_ERR_INIT;
	char big[4400];
	int done = 0, kills = 0;

	relfix_big_bundle(big, sizeof(big), repo, dir);
	init_root(b100);
	for (int ms = 0; ms <= 400 && !done; ms += 10) {
		/* kill -9 a real `molt unpack` after ms milliseconds */
		molt_test_system(
			"'%s/releasetool/molt' -q unpack --root '%s' "
			"'%s' >/dev/null 2>&1 & pid=$!; sleep %d.%03d; "
			"kill -9 $pid 2>/dev/null; wait $pid",
			MOLT_BUILD_DIR, root, big, ms / 1000, ms % 1000);
		ck_assert_int_eq(molt_releases_read(&rels, root, &err),
				 MOLT_OK);
		done = molt_releases_find(&rels, "1.1.9") != NULL;
		kills += !done;
		/* committed or not at all: never listed with files missing */
		if (done)
			ck_assert(is_file("lib/kvs-1.1.9/priv/blob6") &&
				  is_file("releases/1.1.9/release.json"));
		ck_assert_int_eq(molt_releases_find(&rels, "1.0.0")->status,
				 MOLT_REL_PERMANENT);
		molt_releases_release(&rels);
	}
	fprintf(stderr, "kill -9 sweep: %s after %d kills\n",
		done ? "unpack completed" : "never completed", kills);
	/* whatever the kill left, the next unpack completes and cleans up */
	if (!done)
		ck_assert_msg(molt_release_unpack(NULL, root, big, NULL,
						  &err) == MOLT_OK,
			      "%s", err.msg);
	ck_assert_int_eq(molt_release_unpack(NULL, root, b110, NULL, &err),
			 MOLT_OK);
	ck_assert_int_eq(relfix_staging_left(root), 0);
	ck_assert(is_file("lib/kvs-1.1.9/priv/blob6"));
}
END_TEST

/* Unpack b110 into root with allocation n failing; returns the status.
 * A refused unpack leaves root as it was (checked by the caller); after
 * a good one, root is made a copy of pristine again. */
static int unpack_failing_at(const char *pristine, unsigned long n,
			     molt_err *err)
{
	int rc;

	molt_alloc_fail_after(n);
	rc = molt_release_unpack(NULL, root, b110, NULL, err);
	molt_alloc_fail_after(0);
	if (rc == MOLT_OK) {
		ck_assert(is_file("releases/1.1.0/release.json"));
		molt_test_rmrf(root);
		ck_assert_int_eq(
			molt_test_system("cp -a '%s' '%s'", pristine, root), 0);
	}
	return rc;
}

START_TEST(test_unpack_survives_every_allocation_failure)
{
	char pristine[4400], *want, what[300];
	molt_err err = MOLT_ERR_INIT;
	unsigned long total, failed = 0;

	init_root(b100);
	snprintf(pristine, sizeof(pristine), "%s/pristine", dir);
	ck_assert_int_eq(molt_test_system("cp -a '%s' '%s'", root, pristine),
			 0);
	want = relfix_snapshot(pristine);
	/* count the allocations of a good unpack, then start again */
	molt_alloc_fail_after((unsigned long)-1);
	ck_assert_int_eq(molt_release_unpack(NULL, root, b110, NULL, &err),
			 MOLT_OK);
	total = molt_alloc_fail_after(0);
	molt_test_rmrf(root);
	ck_assert_int_eq(molt_test_system("cp -a '%s' '%s'", pristine, root),
			 0);
	ck_assert_uint_gt(total, 10);
	for (unsigned long n = 1; n <= total; n++) {
		int rc = unpack_failing_at(pristine, n, &err);

		ck_assert_int_eq(relfix_staging_left(root), 0);
		if (rc == MOLT_OK)
			continue;
		failed++;
		ck_assert_msg(err.msg[0] != '\0', "allocation %lu: no message",
			      n);
		snprintf(what, sizeof(what), "allocation %lu (%s)", n, err.msg);
		relfix_assert_same_root(want, root, what);
	}
	fprintf(stderr,
		"unpack: %lu allocations, %lu failures refused cleanly\n",
		total, failed);
	ck_assert_uint_gt(failed, 0);
	free(want);
}
END_TEST

START_TEST(test_verify_finds_a_torn_release)
{
	molt_err err = MOLT_ERR_INIT;
	char out[4400], *o;

	init_root(b100);
	snprintf(out, sizeof(out), "%s/sync.err", dir);
	ck_assert_int_eq(molt_test_system("'%s/releasetool/molt' unpack --sync "
					  "--root '%s' '%s' >/dev/null 2>'%s'",
					  MOLT_BUILD_DIR, root, b110, out),
			 0);
	o = molt_test_read_file(out, NULL);
	ck_assert_ptr_nonnull(strstr(o, "unpack: synced 7 files to disk"));
	free(o);
	ck_assert_msg(molt_release_verify(root, "1.1.0", &err) == MOLT_OK, "%s",
		      err.msg);
	ck_assert_int_eq(molt_release_verify(root, "1.0.0", &err), MOLT_OK);
	/* what a power loss can leave: a short file, then a missing one */
	ck_assert_int_eq(molt_test_system("cd '%s' && : >lib/kvs-1.1.0/modules/"
					  "kvs_util.so",
					  root),
			 0);
	ck_assert_int_eq(molt_release_verify(root, "1.1.0", &err),
			 MOLT_EUNSAFE);
	ck_assert_str_eq(err.msg, "release 1.1.0: "
				  "'lib/kvs-1.1.0/modules/kvs_util.so': sha256 "
				  "does not match the manifest");
	ck_assert_int_eq(
		molt_test_system("rm '%s/lib/kvs-1.1.0/app.json'", root), 0);
	ck_assert_int_eq(molt_release_verify(root, "1.1.0", &err),
			 MOLT_ENOTFOUND);
	ck_assert_str_eq(err.msg,
			 "release 1.1.0: 'lib/kvs-1.1.0/app.json' is missing");
	ck_assert_int_eq(molt_release_verify(root, "9.9.9", &err),
			 MOLT_ENOTFOUND);
}
END_TEST

Suite *unpack_suite(void)
{
	Suite *s = suite_create("releasetool.unpack");
	TCase *tc = tcase_create("unpack");

	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_init_makes_a_root_with_a_permanent_release);
	tcase_add_test(tc, test_init_and_unpack_refuse_a_root_others_can_write);
	tcase_add_test(tc, test_names_exclude_the_roots_own_files);
	tcase_add_test(tc, test_unpack_adds_an_unpacked_release_newest_first);
	tcase_add_test(tc, test_second_unpack_of_a_version_is_refused);
	tcase_add_test(tc, test_unpack_needs_a_root_and_init_an_empty_dir);
	tcase_add_test(tc, test_shared_lib_dir_is_reused_only_if_identical);
	tcase_add_test(tc, test_releases_statuses_follow_otp_rules);
	tcase_add_test(tc, test_bad_releases_json_is_refused_with_field);
	tcase_add_test(tc, test_cli_unpack_init_and_releases);
	tcase_add_test(tc, test_leftovers_of_an_interrupted_unpack_are_cleared);
	tcase_add_test(tc,
		       test_kill_9_during_unpack_leaves_the_root_consistent);
	tcase_add_test(tc, test_unpack_survives_every_allocation_failure);
	tcase_add_test(tc, test_verify_finds_a_torn_release);
	suite_add_tcase(s, tc);
	return s;
}
