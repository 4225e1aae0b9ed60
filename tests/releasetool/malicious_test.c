/* molt unpack against hostile and broken bundles: every one refused with
 * a clear error, nothing written outside the root, nothing left half
 * written inside it. */
#include <fcntl.h>
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

static char base[4096], repo[4096], good[4200], first[4200];
static char dir[4096], root[4200], bad[4200];

static void suite_setup(void)
{
	molt_test_mkdtemp(base, sizeof(base), "malicious-suite");
	relfix_make_repo(repo, base);
	snprintf(first, sizeof(first), "%s",
		 relfix_build(repo, "v1.0.0", base));
	snprintf(good, sizeof(good), "%s", relfix_build(repo, "v1.1.0", base));
}

static void suite_teardown(void)
{
	molt_test_rmrf(base);
}

static void setup(void)
{
	molt_err err = MOLT_ERR_INIT;

	molt_test_mkdtemp(dir, sizeof(dir), "malicious");
	snprintf(root, sizeof(root), "%s/root", dir);
	snprintf(bad, sizeof(bad), "%s/bad.tar.gz", dir);
	ck_assert_int_eq(molt_release_init(NULL, root, first, NULL, &err),
			 MOLT_OK);
}

static void teardown(void)
{
	molt_test_rmrf(dir);
}

/* What to do to the bytes after the archive is written. */
enum post {
	AS_IS,
	FLIP_MIDDLE,  /* damage the deflate data */
	FLIP_CRC,     /* damage only the gzip trailer's CRC */
	TRUNCATE,     /* cut the file in half */
	APPEND_JUNK,  /* bytes after the gzip stream */
	APPEND_GZIP,  /* a second gzip member */
	EMPTY,	      /* a zero-byte file */
	GZIP_GARBAGE, /* valid gzip of bytes that are not tar */
	TAR_THEN_DATA /* a tar, then non-zero bytes, all gzip'd */
};

#define LONG_NAME                                                              \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define L4 LONG_NAME "/" LONG_NAME "/" LONG_NAME "/" LONG_NAME

static const struct relfix_entry e_dotdot[] = {{"../escape.txt", 'f', "x"}};
static const struct relfix_entry e_dotdot2[] = {
	{"lib/kvs-1.1.0/../../../escape.txt", 'f', "x"}};
static const struct relfix_entry e_abs[] = {
	{"/tmp/molt-abs-escape.txt", 'f', "x"}};
static const struct relfix_entry e_sym_abs[] = {
	{"lib/kvs-1.1.0/etc", 'l', NULL, "/etc"},
	{"lib/kvs-1.1.0/etc/molt-escape", 'f', "x"}};
static const struct relfix_entry e_sym_rel[] = {
	{"lib/kvs-1.1.0/up", 'l', NULL, "../../../escape.txt"}};
static const struct relfix_entry e_sym_in[] = {
	{"lib/kvs-1.1.0/alias", 'l', NULL, "app.json"}};
static const struct relfix_entry e_hard_abs[] = {
	{"lib/kvs-1.1.0/pw", 'h', NULL, "/etc/passwd"}};
static const struct relfix_entry e_hard_rel[] = {
	{"lib/kvs-1.1.0/pw", 'h', NULL, "../../escape.txt"}};
static const struct relfix_entry e_chr[] = {{"lib/kvs-1.1.0/null", 'c'}};
static const struct relfix_entry e_blk[] = {{"lib/kvs-1.1.0/loop", 'b'}};
static const struct relfix_entry e_fifo[] = {{"lib/kvs-1.1.0/fifo", 'p'}};
static const struct relfix_entry e_long[] = {{"lib/kvs-1.1.0/" L4, 'f', "x"}};
static const struct relfix_entry e_longname[] = {
	{"lib/kvs-1.1.0/" LONG_NAME, 'f', "x"}};
static const struct relfix_entry e_layout[] = {
	{"releases/RELEASES.json", 'f', "{}"}};
static const struct relfix_entry e_extra[] = {
	{"lib/kvs-1.1.0/unlisted.txt", 'f', "x"}};
static const struct relfix_entry e_suid[] = {
	{"lib/kvs-1.1.0/priv/tool", 'f', "#!/bin/sh\n", NULL, 06755}};

#define ENTRIES(e) e, sizeof(e) / sizeof(e[0])

struct bad_case {
	const char *name;	  /* what it tries */
	struct relfix_mutation m; /* how the archive is made */
	enum post post;		  /* what is done to its bytes */
	molt_unpack_limits lim;	  /* limits of the unpack */
	int code;		  /* expected status (0: any failure) */
	const char *msg;	  /* expected part of the message, or NULL */
};

static const struct bad_case cases[] = {
	{"dotdot",
	 {ENTRIES(e_dotdot), 0, 1},
	 AS_IS,
	 {0},
	 MOLT_EUNSAFE,
	 "entry '../escape.txt': '..' component"},
	{"nested dotdot",
	 {ENTRIES(e_dotdot2), 1, 1},
	 AS_IS,
	 {0},
	 MOLT_EUNSAFE,
	 "'..' component"},
	{"absolute path",
	 {ENTRIES(e_abs), 0, 1},
	 AS_IS,
	 {0},
	 MOLT_EUNSAFE,
	 "entry '/tmp/molt-abs-escape.txt': absolute path"},
	{"symlink to /etc, then a file through it",
	 {ENTRIES(e_sym_abs), 1, 1},
	 AS_IS,
	 {0},
	 MOLT_EUNSAFE,
	 "entry 'lib/kvs-1.1.0/etc': symlink to '/etc' points outside the "
	 "root"},
	{"relative symlink out",
	 {ENTRIES(e_sym_rel), 0, 0},
	 AS_IS,
	 {0},
	 MOLT_EUNSAFE,
	 "symlink to '../../../escape.txt' points outside"},
	{"symlink inside",
	 {ENTRIES(e_sym_in), 0, 0},
	 AS_IS,
	 {0},
	 MOLT_EUNSAFE,
	 "symlink to 'app.json' is not allowed in a bundle"},
	{"hard link to /etc/passwd",
	 {ENTRIES(e_hard_abs), 0, 0},
	 AS_IS,
	 {0},
	 MOLT_EUNSAFE,
	 "hard link to '/etc/passwd' points outside the root"},
	{"relative hard link out",
	 {ENTRIES(e_hard_rel), 1, 0},
	 AS_IS,
	 {0},
	 MOLT_EUNSAFE,
	 "hard link to '../../escape.txt' points outside"},
	{"character device",
	 {ENTRIES(e_chr), 0, 0},
	 AS_IS,
	 {0},
	 MOLT_EUNSAFE,
	 "entry 'lib/kvs-1.1.0/null': character device not allowed"},
	{"block device",
	 {ENTRIES(e_blk), 0, 0},
	 AS_IS,
	 {0},
	 MOLT_EUNSAFE,
	 "block device not allowed"},
	{"FIFO",
	 {ENTRIES(e_fifo), 0, 0},
	 AS_IS,
	 {0},
	 MOLT_EUNSAFE,
	 "FIFO not allowed"},
	{"path too long",
	 {ENTRIES(e_long), 0, 1},
	 AS_IS,
	 {0},
	 MOLT_EUNSAFE,
	 "path longer than 1024 bytes"},
	{"name too long",
	 {ENTRIES(e_longname), 0, 1},
	 AS_IS,
	 {0},
	 MOLT_EUNSAFE,
	 "name longer than 255 bytes"},
	{"duplicate entry",
	 {.duplicate = 1},
	 AS_IS,
	 {0},
	 MOLT_EUNSAFE,
	 "entry 'lib/kvs-1.1.0/app.json' appears twice"},
	{"too many entries",
	 {0},
	 AS_IS,
	 {0, 0, 3, 0},
	 MOLT_EUNSAFE,
	 "more than 3 entries"},
	{"file over the size limit",
	 {0},
	 AS_IS,
	 {0, 4096, 0, 0},
	 MOLT_EUNSAFE,
	 "larger than the 4096-byte file limit"},
	{"bundle over the size limit",
	 {0},
	 AS_IS,
	 {20000, 0, 0, 0},
	 MOLT_EUNSAFE,
	 "bundle larger than the 20000-byte limit"},
	{"plain tar, not gzip",
	 {.plain_tar = 1},
	 AS_IS,
	 {0},
	 MOLT_EPARSE,
	 "not a gzip-compressed tar (bad magic bytes)"},
	{"zip, not tar.gz",
	 {.zip = 1},
	 AS_IS,
	 {0},
	 MOLT_EPARSE,
	 "not a gzip-compressed tar"},
	{"empty file",
	 {0},
	 EMPTY,
	 {0},
	 MOLT_EPARSE,
	 "not a gzip-compressed tar"},
	{"gzip of something else", {0}, GZIP_GARBAGE, {0}, MOLT_EPARSE, "tar"},
	{"damaged deflate data", {0}, FLIP_MIDDLE, {0}, 0, NULL},
	{"bad gzip CRC only",
	 {0},
	 FLIP_CRC,
	 {0},
	 MOLT_EPARSE,
	 "bad gzip stream: incorrect data check"},
	{"truncated archive", {0}, TRUNCATE, {0}, MOLT_EPARSE, "truncated"},
	{"junk after the gzip stream",
	 {0},
	 APPEND_JUNK,
	 {0},
	 MOLT_EPARSE,
	 "trailing data after the gzip stream"},
	{"second gzip member",
	 {0},
	 APPEND_GZIP,
	 {0},
	 MOLT_EPARSE,
	 "trailing data after the gzip stream"},
	{"data after the tar end",
	 {0},
	 TAR_THEN_DATA,
	 {0},
	 MOLT_EPARSE,
	 "data after the end of the tar archive"},
	{"file changed, manifest kept",
	 {.corrupt_file = 1},
	 AS_IS,
	 {0},
	 MOLT_EUNSAFE,
	 "sha256 does not match"},
	{"no manifest",
	 {.drop_manifest = 1},
	 AS_IS,
	 {0},
	 MOLT_EUNSAFE,
	 "the bundle has no MANIFEST.sha256"},
	{"manifest lists a missing file",
	 {.manifest_phantom = 1},
	 AS_IS,
	 {0},
	 MOLT_EUNSAFE,
	 "'lib/phantom.txt' is listed but not in the bundle"},
	{"file not in the manifest",
	 {ENTRIES(e_extra), 0, 0},
	 AS_IS,
	 {0},
	 MOLT_EUNSAFE,
	 "'lib/kvs-1.1.0/unlisted.txt' is in the bundle but not in "
	 "MANIFEST.sha256"},
	{"file outside the layout",
	 {ENTRIES(e_layout), 0, 1},
	 AS_IS,
	 {0},
	 MOLT_EUNSAFE,
	 "entry 'releases/RELEASES.json' is outside the bundle"},
	{"release.json of an unknown format",
	 {.replace_path = "releases/1.1.0/release.json",
	  .replace_data = "{\"format\": 2}"},
	 AS_IS,
	 {0},
	 MOLT_EVERSION,
	 "bad.tar.gz: releases/1.1.0/release.json: field 'format': version 2 "
	 "is not supported (expected 1)"},
	{"malformed release.json",
	 {.replace_path = "releases/1.1.0/release.json",
	  .replace_data = "{\"format\": 1,\n \"name\": }"},
	 AS_IS,
	 {0},
	 MOLT_EPARSE,
	 "bad.tar.gz: releases/1.1.0/release.json:2:10: malformed JSON"},
	{"app.json for another version",
	 {.replace_path = "lib/kvs-1.1.0/app.json",
	  .replace_data = "{\"format\": 1, \"name\": \"kvs\", \"vsn\": "
			  "\"9\", \"modules\": []}"},
	 AS_IS,
	 {0},
	 MOLT_EPARSE,
	 "bad.tar.gz: lib/kvs-1.1.0/app.json: field 'vsn': expected 1.1.0"},
	{"release.json naming a path-like application",
	 {.replace_path = "releases/1.1.0/release.json",
	  .replace_data = "{\"format\": 1, \"name\": \"shop\", \"vsn\": "
			  "\"1.1.0\", \"applications\": [{\"name\": "
			  "\"../../x\", \"vsn\": \"1\"}]}"},
	 AS_IS,
	 {0},
	 MOLT_EPARSE,
	 "field 'applications[0].name': expected a name"},
	{"app.json with a wrong module sum",
	 {.replace_path = "lib/kvs-1.1.0/app.json",
	  .replace_data = "{\"format\": 1, \"name\": \"kvs\", \"vsn\": "
			  "\"1.1.0\", \"modules\": [{\"name\": \"kvs_server\", "
			  "\"file\": \"modules/kvs_server.so\", \"sha256\": "
			  "\"00\"}]}"},
	 AS_IS,
	 {0},
	 MOLT_EUNSAFE,
	 "bad.tar.gz: lib/kvs-1.1.0/app.json: module 'kvs_server': sha256 "
	 "does not match "
	 "'modules/kvs_server.so'"},
	{"app.json naming a module file outside its lib dir",
	 {.replace_path = "lib/kvs-1.1.0/app.json",
	  .replace_data = "{\"format\": 1, \"name\": \"kvs\", \"vsn\": "
			  "\"1.1.0\", \"modules\": [{\"name\": \"kvs_server\", "
			  "\"file\": \"../kvs-1.0.0/modules/kvs_server.so\", "
			  "\"sha256\": \"00\"}]}"},
	 AS_IS,
	 {0},
	 MOLT_EPARSE,
	 "field 'modules[0].file': expected a relative path without '..'"},
};

#define NCASES (int)(sizeof(cases) / sizeof(cases[0]))

static void flip(const char *path, long at_from_end, long at)
{
	int fd = open(path, O_RDWR);
	off_t size = lseek(fd, 0, SEEK_END);
	off_t pos = at_from_end ? size - at_from_end : at;
	unsigned char c;

	ck_assert_int_eq(pread(fd, &c, 1, pos), 1);
	c ^= 0xff;
	ck_assert_int_eq(pwrite(fd, &c, 1, pos), 1);
	close(fd);
}

static void post_process(enum post p)
{
	struct stat st;
	char *tar, tmp[4300];
	size_t len;

	if (p != GZIP_GARBAGE && p != TAR_THEN_DATA)
		ck_assert_int_eq(stat(bad, &st), 0);
	switch (p) {
	case AS_IS:
		break;
	case FLIP_MIDDLE:
		flip(bad, 0, st.st_size / 2);
		break;
	case FLIP_CRC:
		flip(bad, 8, 0);
		break;
	case TRUNCATE:
		ck_assert_int_eq(truncate(bad, st.st_size / 2), 0);
		break;
	case APPEND_JUNK:
		molt_test_system("printf 'junk' >>'%s'", bad);
		break;
	case APPEND_GZIP:
		molt_test_system("printf 'more' | gzip -n >>'%s'", bad);
		break;
	case EMPTY:
		ck_assert_int_eq(truncate(bad, 0), 0);
		break;
	case GZIP_GARBAGE:
		relfix_gzip_bytes(bad, "this is not a tar archive at all\n",
				  33);
		break;
	case TAR_THEN_DATA:
		snprintf(tmp, sizeof(tmp), "%s/plain.tar", dir);
		ck_assert_int_eq(molt_test_system("gzip -dc '%s' >'%s' && "
						  "printf 'hidden' >>'%s'",
						  good, tmp, tmp),
				 0);
		tar = molt_test_read_file(tmp, &len);
		relfix_gzip_bytes(bad, tar, len);
		free(tar);
		break;
	}
}

START_TEST(test_hostile_bundle_is_refused_and_changes_nothing)
{
	const struct bad_case *c = &cases[_i];
	molt_unpack_options o = MOLT_UNPACK_OPTIONS_INIT;
	molt_err err = MOLT_ERR_INIT;
	char *before, esc[4300], what[300];
	int rc;

	if (c->post == GZIP_GARBAGE || c->post == TAR_THEN_DATA)
		molt_test_system("true");
	else
		relfix_mutate(good, bad, &c->m);
	post_process(c->post);
	o.limits = c->lim;
	before = relfix_snapshot(root);
	rc = molt_release_unpack(NULL, root, bad, &o, &err);
	fprintf(stderr, "case '%s': %s\n", c->name, err.msg);
	ck_assert_msg(rc < 0, "case '%s' was accepted", c->name);
	if (c->code)
		ck_assert_msg(rc == c->code, "case '%s': %s (%s)", c->name,
			      molt_status_name(rc), err.msg);
	if (c->msg)
		ck_assert_msg(strstr(err.msg, c->msg) != NULL,
			      "case '%s': message '%s' lacks '%s'", c->name,
			      err.msg, c->msg);
	ck_assert_msg(strchr(err.msg, '\n') == NULL, "one line");
	snprintf(what, sizeof(what), "case '%s'", c->name);
	relfix_assert_same_root(before, root, what);
	ck_assert_int_eq(relfix_staging_left(root), 0);
	snprintf(esc, sizeof(esc), "%s/escape.txt", dir);
	ck_assert_int_eq(access(esc, F_OK), -1);
	ck_assert_int_eq(access("/tmp/molt-abs-escape.txt", F_OK), -1);
	ck_assert_int_eq(access("/etc/molt-escape", F_OK), -1);
	free(before);
}
END_TEST

START_TEST(test_setuid_bits_are_dropped)
{
	struct relfix_mutation m = {ENTRIES(e_suid), 0, 1};
	molt_err err = MOLT_ERR_INIT;
	struct stat st;
	char path[4400];

	relfix_mutate(good, bad, &m);
	ck_assert_msg(molt_release_unpack(NULL, root, bad, NULL, &err) ==
			      MOLT_OK,
		      "%s", err.msg);
	snprintf(path, sizeof(path), "%s/lib/kvs-1.1.0/priv/tool", root);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0755);
}
END_TEST

START_TEST(test_good_bundle_rewritten_by_helper_still_unpacks)
{
	struct relfix_mutation m = {0};
	molt_err err = MOLT_ERR_INIT;

	/* the helper itself makes valid bundles: failures above are real */
	relfix_mutate(good, bad, &m);
	ck_assert_msg(molt_release_unpack(NULL, root, bad, NULL, &err) ==
			      MOLT_OK,
		      "%s", err.msg);
}
END_TEST

Suite *malicious_suite(void)
{
	Suite *s = suite_create("releasetool.malicious");
	TCase *tc = tcase_create("malicious");

	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc,
			    test_hostile_bundle_is_refused_and_changes_nothing,
			    0, NCASES);
	tcase_add_test(tc, test_setuid_bits_are_dropped);
	tcase_add_test(tc, test_good_bundle_rewritten_by_helper_still_unpacks);
	suite_add_tcase(s, tc);
	return s;
}
