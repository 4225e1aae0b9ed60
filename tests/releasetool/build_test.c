/* molt build: tags to bundles, reproducibly, without touching the
 * repository. */
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

static char dir[4096], repo[4096];

static void setup(void)
{
	molt_test_mkdtemp(dir, sizeof(dir), "build");
	relfix_make_repo(repo, dir);
}

static void teardown(void)
{
	molt_test_rmrf(dir);
}

/* `tar -xzOf bundle member` into a malloc'd string (or NULL). */
static char *member(const char *bundle, const char *name)
{
	char out[4200];

	snprintf(out, sizeof(out), "%s/member.out", dir);
	if (molt_test_system("tar -xzOf '%s' '%s' >'%s' 2>/dev/null", bundle,
			     name, out) != 0)
		return NULL;
	return molt_test_read_file(out, NULL);
}

static char *listing(const char *bundle)
{
	char out[4200];

	snprintf(out, sizeof(out), "%s/list.out", dir);
	ck_assert_int_eq(molt_test_system("tar -tzf '%s' >'%s'", bundle, out),
			 0);
	return molt_test_read_file(out, NULL);
}

static int build(const char *tag, const char *out, molt_build_result *r,
		 molt_err *err)
{
	molt_build_options o = MOLT_BUILD_OPTIONS_INIT;

	o.repo = repo;
	o.tag = tag;
	o.out = out;
	return molt_release_build(r, &o, err);
}

START_TEST(test_build_makes_the_1_0_0_bundle)
{
	molt_build_result r;
	molt_err err = MOLT_ERR_INIT;
	char *list, *rel, *app;

	ck_assert_msg(build("v1.0.0", dir, &r, &err) == MOLT_OK, "%s", err.msg);
	ck_assert_str_eq(r.name, "shop");
	ck_assert_str_eq(r.vsn, "1.0.0");
	ck_assert_int_eq(r.annotated, 1);
	ck_assert_int_eq(r.files, 5);
	ck_assert_ptr_nonnull(strstr(r.path, "shop-1.0.0.tar.gz"));
	list = listing(r.path);
	ck_assert_str_eq(list, "MANIFEST.sha256\n"
			       "lib/kvs-1.0.0/app.json\n"
			       "lib/kvs-1.0.0/modules/kvs_server.so\n"
			       "lib/kvs-1.0.0/modules/kvs_stats.so\n"
			       "lib/kvs-1.0.0/modules/kvs_util.so\n"
			       "releases/1.0.0/release.json\n");
	rel = member(r.path, "releases/1.0.0/release.json");
	ck_assert_ptr_nonnull(strstr(rel, "\"tag\":\t\"v1.0.0\""));
	ck_assert_ptr_nonnull(strstr(rel, "\"tag_type\":\t\"annotated\""));
	ck_assert_ptr_nonnull(strstr(rel, r.commit));
	ck_assert_ptr_nonnull(
		strstr(rel, "\"commit_date\":\t\"2026-01-05T10:00:00Z\""));
	app = member(r.path, "lib/kvs-1.0.0/app.json");
	ck_assert_ptr_nonnull(strstr(app, "\"state_vsn\":\t1"));
	ck_assert_ptr_null(strstr(app, "\"appup\""));
	free(list);
	free(rel);
	free(app);
}
END_TEST

START_TEST(test_build_reads_module_facts_of_1_1_0)
{
	molt_build_result r;
	molt_err err = MOLT_ERR_INIT;
	char *app, *srv;

	ck_assert_msg(build("v1.1.0", dir, &r, &err) == MOLT_OK, "%s", err.msg);
	ck_assert_int_eq(r.annotated, 0);
	app = member(r.path, "lib/kvs-1.1.0/app.json");
	ck_assert_ptr_nonnull(app);
	srv = strstr(app, "\"name\":\t\"kvs_server\"");
	ck_assert_ptr_nonnull(srv);
	ck_assert_ptr_nonnull(strstr(srv, "\"state_vsn\":\t2"));
	ck_assert_ptr_nonnull(strstr(srv, "\"code_change\":\ttrue"));
	ck_assert_ptr_nonnull(strstr(app, "\"exports\":\t[\"flush\"]"));
	ck_assert_ptr_nonnull(strstr(app, "\"appup\":\t\"kvs.appup\""));
	free(app);
	app = member(r.path, "lib/kvs-1.1.0/kvs.appup");
	ck_assert_ptr_nonnull(strstr(app, "{advanced, []}"));
	free(app);
}
END_TEST

START_TEST(test_build_of_1_2_0_adds_and_removes_modules)
{
	molt_build_result r;
	molt_err err = MOLT_ERR_INIT;
	char *list;

	ck_assert_msg(build("v1.2.0", dir, &r, &err) == MOLT_OK, "%s", err.msg);
	ck_assert_int_eq(r.annotated, 1);
	list = listing(r.path);
	ck_assert_ptr_nonnull(strstr(list, "modules/kvs_expiry.so"));
	ck_assert_ptr_null(strstr(list, "kvs_stats"));
	free(list);
}
END_TEST

START_TEST(test_same_tag_gives_the_same_bytes)
{
	molt_build_result a, b, c;
	molt_err err = MOLT_ERR_INIT;
	char out1[4200], out2[4200], other[4200];

	snprintf(out1, sizeof(out1), "%s/one.tar.gz", dir);
	snprintf(out2, sizeof(out2), "%s/two.tar.gz", dir);
	ck_assert_msg(build("v1.1.0", out1, &a, &err) == MOLT_OK, "%s",
		      err.msg);
	ck_assert_msg(build("v1.1.0", out2, &b, &err) == MOLT_OK, "%s",
		      err.msg);
	ck_assert_int_eq(molt_test_system("cmp -s '%s' '%s'", out1, out2), 0);
	ck_assert_str_eq(a.sha256, b.sha256);
	/* a fresh copy of the repository made elsewhere: same bytes again */
	snprintf(other, sizeof(other), "%s/elsewhere", dir);
	mkdir(other, 0755);
	relfix_make_repo(repo, other);
	ck_assert_msg(build("v1.1.0", dir, &c, &err) == MOLT_OK, "%s", err.msg);
	ck_assert_str_eq(a.sha256, c.sha256);
}
END_TEST

START_TEST(test_bundle_has_fixed_owner_mtime_and_gzip_header)
{
	molt_build_result r;
	molt_err err = MOLT_ERR_INIT;
	char out[4200];
	unsigned char *gz;
	char *verbose;
	size_t len;

	ck_assert_msg(build("v1.1.0", dir, &r, &err) == MOLT_OK, "%s", err.msg);
	gz = (unsigned char *)molt_test_read_file(r.path, &len);
	ck_assert_uint_gt(len, 10);
	ck_assert_int_eq(gz[3] & 0x08, 0);		    /* no FNAME */
	ck_assert_int_eq(gz[4] | gz[5] | gz[6] | gz[7], 0); /* MTIME 0 */
	free(gz);
	snprintf(out, sizeof(out), "%s/v.out", dir);
	ck_assert_int_eq(
		molt_test_system("TZ=UTC tar -tvzf '%s' --numeric-owner"
				 " >'%s'",
				 r.path, out),
		0);
	verbose = molt_test_read_file(out, NULL);
	/* every entry: 0/0, commit time 2026-02-02 11:30 */
	for (char *l = verbose; l && *l; l = strchr(l, '\n') + 1) {
		ck_assert_msg(strstr(l, " 0/0 ") != NULL, "owner: %s", l);
		ck_assert_msg(strstr(l, "2026-02-02 11:30") != NULL,
			      "mtime: %s", l);
	}
	free(verbose);
	/* the manifest checks out with the standard tool */
	ck_assert_int_eq(
		molt_test_system("cd '%s' && mkdir x && cd x && tar xzf "
				 "'%s' && sha256sum -c --quiet "
				 "MANIFEST.sha256",
				 dir, r.path),
		0);
}
END_TEST

static char *git_state(void)
{
	char out[4200];

	snprintf(out, sizeof(out), "%s/state.out", dir);
	ck_assert_int_eq(
		/* GIT_OPTIONAL_LOCKS=0: git status must not refresh the index
		 * itself (racy-git), or its bytes change without molt */
		molt_test_system("cd '%s' && export GIT_OPTIONAL_LOCKS=0 && "
				 "{ git rev-parse HEAD; git "
				 "symbolic-ref HEAD; git status "
				 "--porcelain; sha256sum .git/index; "
				 "git stash list; ls -lA; } >'%s' "
				 "2>&1",
				 repo, out),
		0);
	return molt_test_read_file(out, NULL);
}

START_TEST(test_build_leaves_work_tree_index_and_head_alone)
{
	molt_build_result r;
	molt_err err = MOLT_ERR_INIT;
	char *before, *after;

	/* a dirty work tree and a staged change that a checkout would lose */
	ck_assert_int_eq(
		molt_test_system("cd '%s' && echo dirty >>README.md && "
				 "echo new >staged.txt && git add "
				 "staged.txt",
				 repo),
		0);
	before = git_state();
	ck_assert_msg(build("v1.0.0", dir, &r, &err) == MOLT_OK, "%s", err.msg);
	ck_assert_msg(build("v1.2.0", dir, &r, &err) == MOLT_OK, "%s", err.msg);
	after = git_state();
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
}
END_TEST

START_TEST(test_missing_tag_lists_nearest_tags)
{
	molt_build_result r;
	molt_err err = MOLT_ERR_INIT;

	ck_assert_int_eq(build("v1.2.1", dir, &r, &err), MOLT_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "tag 'v1.2.1' not found"));
	ck_assert_ptr_nonnull(strstr(err.msg, "nearest tags: v1.2.0"));
}
END_TEST

START_TEST(test_tag_without_molt_json_is_refused)
{
	molt_build_result r;
	molt_err err = MOLT_ERR_INIT;

	ck_assert_int_eq(build("v0.1.0", dir, &r, &err), MOLT_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "has no molt.json"));
	ck_assert_ptr_nonnull(strstr(err.msg, "nearest tags: v1.1.0"));
}
END_TEST

/* Commit molt.json (and more) with the given text and tag it. */
static void tag_with(const char *tag, const char *json)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/molt.json", repo);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(json, f);
	fclose(f);
	ck_assert_int_eq(
		molt_test_system("cd '%s' && git add -A && "
				 "GIT_CONFIG_GLOBAL=/dev/null git -c "
				 "user.name=t -c user.email=t@t commit "
				 "-qm t && git tag '%s'",
				 repo, tag),
		0);
}

START_TEST(test_bad_molt_json_names_file_field_and_expectation)
{
	molt_build_result r;
	molt_err err = MOLT_ERR_INIT;

	tag_with("v9.0.0", "{\"format\": 2, \"release\": \"shop\"}");
	ck_assert_int_eq(build("v9.0.0", dir, &r, &err), MOLT_EVERSION);
	ck_assert_ptr_nonnull(strstr(err.msg, "molt.json at v9.0.0: field "
					      "'format': version 2"));
	tag_with("v9.0.1", "{\"format\": 1, \"release\": \"shop\",\n"
			   "\"applications\": [{\"name\": \"kvs\"}]}");
	ck_assert_int_eq(build("v9.0.1", dir, &r, &err), MOLT_EPARSE);
	ck_assert_str_eq(err.msg, "molt.json at v9.0.1: field "
				  "'applications[0].dir': expected a string");
	tag_with("v9.0.2", "{\"format\": 1,\n  \"release\": shop}");
	ck_assert_int_eq(build("v9.0.2", dir, &r, &err), MOLT_EPARSE);
	ck_assert_str_eq(err.msg, "molt.json at v9.0.2:2:14: malformed JSON");
}
END_TEST

START_TEST(test_compile_error_names_the_module)
{
	molt_build_result r;
	molt_err err = MOLT_ERR_INIT;

	ck_assert_int_eq(
		molt_test_system("cd '%s' && git checkout -q v1.0.0 && "
				 "echo 'syntax error' >>"
				 "apps/kvs/src/kvs_util.c",
				 repo),
		0);
	tag_with("v9.1.0",
		 "{\"format\": 1, \"release\": \"shop\", "
		 "\"applications\": [{\"name\": \"kvs\", \"dir\": "
		 "\"apps/kvs\", \"modules\": [{\"name\": \"kvs_util\","
		 " \"sources\": [\"src/kvs_util.c\"]}]}]}");
	ck_assert_int_eq(build("v9.1.0", dir, &r, &err), MOLT_ERROR);
	ck_assert_ptr_nonnull(strstr(err.msg, "module 'kvs_util' of 'kvs'"));
	ck_assert_ptr_nonnull(strstr(err.msg, "exited with status"));
}
END_TEST

START_TEST(test_build_command_from_molt_json)
{
	molt_build_result r;
	molt_err err = MOLT_ERR_INIT;

	ck_assert_int_eq(
		molt_test_system("cd '%s' && git checkout -q v1.0.0", repo), 0);
	tag_with("v9.2.0",
		 "{\"format\": 1, \"release\": \"shop\", \"applications\": "
		 "[{\"name\": \"kvs\", \"dir\": \"apps/kvs\", \"build\": "
		 "\"$MOLT_CC $MOLT_CFLAGS -o $MOLT_OUT_DIR/kvs_util.so "
		 "src/kvs_util.c\", \"modules\": [{\"name\": \"kvs_util\", "
		 "\"sources\": [\"src/kvs_util.c\"]}]}]}");
	ck_assert_msg(build("v9.2.0", dir, &r, &err) == MOLT_OK, "%s", err.msg);
	ck_assert_str_eq(r.vsn, "9.2.0");
	ck_assert_int_eq(r.files, 3);
}
END_TEST

/* molt.json of shop 9.4.x: kvs with a simple_one_for_one supervisor whose
 * children are given (JSON text). */
static void tag_simple(const char *tag, const char *children)
{
	char json[1024];

	snprintf(json, sizeof(json),
		 "{\"format\": 1, \"release\": \"shop\", "
		 "\"applications\": [{\"name\": \"kvs\", \"dir\": "
		 "\"apps/kvs\", \"modules\": [{\"name\": \"kvs_util\", "
		 "\"sources\": [\"src/kvs_util.c\"]}], \"supervisor\": "
		 "{\"strategy\": \"simple_one_for_one\", \"name\": "
		 "\"kvs_sup\", \"children\": [%s]}}]}",
		 children);
	tag_with(tag, json);
}

START_TEST(test_simple_one_for_one_supervisor_has_one_template)
{
	static const char kid[] = "{\"id\": \"w\", \"module\": \"kvs_util\"}";
	char two[128];
	molt_build_result r;
	molt_err err = MOLT_ERR_INIT;
	char *app;

	ck_assert_int_eq(
		molt_test_system("cd '%s' && git checkout -q v1.0.0", repo), 0);
	tag_simple("v9.4.0", kid);
	ck_assert_msg(build("v9.4.0", dir, &r, &err) == MOLT_OK, "%s", err.msg);
	app = member(r.path, "lib/kvs-9.4.0/app.json");
	ck_assert_ptr_nonnull(
		strstr(app, "\"strategy\":\t\"simple_one_for_one\""));
	ck_assert_ptr_nonnull(strstr(app, "\"name\":\t\"kvs_sup\""));
	free(app);
	snprintf(two, sizeof(two), "%s, %s", kid, kid);
	tag_simple("v9.4.1", two);
	ck_assert_int_eq(build("v9.4.1", dir, &r, &err), MOLT_EPARSE);
	ck_assert_str_eq(err.msg,
			 "molt.json at v9.4.1: field "
			 "'applications[0].supervisor.children': expected "
			 "exactly one child (the simple_one_for_one template)");
}
END_TEST

static void write_file(const char *rel, const char *text)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", repo, rel);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static const char web_util[] =
	"#include \"molt/module.h\"\n"
	"MOLT_DEFINE_MODULE(.behaviour = MOLT_BEHAVIOUR_SERVER,\n"
	"\t.name = \"web_util\", .vsn = \"0.3.0\", .state_vsn = 7);\n";

START_TEST(test_two_applications_in_one_release)
{
	molt_build_result r;
	molt_err err = MOLT_ERR_INIT;
	char *list, *rel, *app;

	ck_assert_int_eq(
		molt_test_system("cd '%s' && git checkout -q v1.0.0 && "
				 "mkdir -p apps/web/src apps/web/priv/"
				 "static && echo hi >apps/web/priv/"
				 "static/index.html",
				 repo),
		0);
	write_file("apps/web/src/web_util.c", web_util);
	tag_with("v9.3.0",
		 "{\"format\": 1, \"release\": \"shop\", \"applications\": "
		 "[{\"name\": \"kvs\", \"dir\": \"apps/kvs\", \"modules\": "
		 "[{\"name\": \"kvs_util\", \"sources\": "
		 "[\"src/kvs_util.c\"]}]}, {\"name\": \"web\", \"vsn\": "
		 "\"0.3.0\", \"dir\": \"apps/web\", \"priv\": \"priv\", "
		 "\"deps\": [\"kvs\"], \"cflags\": [\"-DWEB=1\"], \"modules\":"
		 " [{\"name\": \"web_util\", \"sources\": "
		 "[\"src/web_util.c\"]}]}]}");
	ck_assert_msg(build("v9.3.0", dir, &r, &err) == MOLT_OK, "%s", err.msg);
	list = listing(r.path);
	ck_assert_str_eq(list, "MANIFEST.sha256\n"
			       "lib/kvs-9.3.0/app.json\n"
			       "lib/kvs-9.3.0/modules/kvs_util.so\n"
			       "lib/web-0.3.0/app.json\n"
			       "lib/web-0.3.0/modules/web_util.so\n"
			       "lib/web-0.3.0/priv/static/index.html\n"
			       "releases/9.3.0/release.json\n");
	rel = member(r.path, "releases/9.3.0/release.json");
	ck_assert_ptr_nonnull(strstr(rel, "\"lib\":\t\"lib/web-0.3.0\""));
	app = member(r.path, "lib/web-0.3.0/app.json");
	ck_assert_ptr_nonnull(strstr(app, "\"state_vsn\":\t7"));
	ck_assert_ptr_nonnull(strstr(app, "\"deps\":\t[\"kvs\"]"));
	free(list);
	free(rel);
	free(app);
}
END_TEST

START_TEST(test_module_must_carry_its_own_name)
{
	molt_build_result r;
	molt_err err = MOLT_ERR_INIT;

	ck_assert_int_eq(
		molt_test_system("cd '%s' && git checkout -q v1.0.0", repo), 0);
	/* kvs_util.c built as "kvs_tools": its descriptor says kvs_util */
	tag_with("v9.4.0",
		 "{\"format\": 1, \"release\": \"shop\", \"applications\": "
		 "[{\"name\": \"kvs\", \"dir\": \"apps/kvs\", \"modules\": "
		 "[{\"name\": \"kvs_tools\", \"sources\": "
		 "[\"src/kvs_util.c\"]}]}]}");
	ck_assert_int_eq(build("v9.4.0", dir, &r, &err), MOLT_EPARSE);
	ck_assert_str_eq(err.msg, "module 'kvs_tools': its descriptor is named "
				  "'kvs_util'");
	/* a shared object with no descriptor at all */
	write_file("apps/kvs/src/plain.c", "int plain(void);\n"
					   "int plain(void) { return 1; }\n");
	tag_with("v9.4.1",
		 "{\"format\": 1, \"release\": \"shop\", \"applications\": "
		 "[{\"name\": \"kvs\", \"dir\": \"apps/kvs\", \"modules\": "
		 "[{\"name\": \"plain\", \"sources\": "
		 "[\"src/plain.c\"]}]}]}");
	/* molt-probe's answer, with the module named */
	ck_assert_int_eq(build("v9.4.1", dir, &r, &err), MOLT_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "module 'plain': "));
	ck_assert_ptr_nonnull(strstr(err.msg, "plain.so: no "
					      "molt_module_descriptor symbol"));
}
END_TEST

START_TEST(test_relup_from_builds_both_and_compiles_the_relup)
{
	molt_build_options o = MOLT_BUILD_OPTIONS_INIT;
	const char *from[] = {"v1.0.0"};
	molt_build_result r;
	molt_err err = MOLT_ERR_INIT;
	int rc;

	o.repo = repo;
	o.tag = "v1.1.0";
	o.out = dir;
	o.relup_from = from;
	o.nrelup_from = 1;
	rc = molt_release_build(&r, &o, &err);
#ifdef MOLT_HAVE_APPUP
	ck_assert_msg(rc == MOLT_OK, "%s", err.msg);
	ck_assert_int_eq(r.relup, 1);
	{
		char *relup = member(r.path, "releases/1.1.0/relup.json");

		ck_assert_ptr_nonnull(relup);
		ck_assert_ptr_nonnull(strstr(relup, "1.0.0"));
		ck_assert_ptr_nonnull(strstr(relup, "kvs_server"));
		ck_assert_ptr_nonnull(strstr(relup, "code_change"));
		free(relup);
	}
#else
	ck_assert_int_eq(rc, MOLT_ERROR);
	ck_assert_str_eq(err.msg,
			 "relup compilation needs the appup library (issue 4)");
	/* the relup-from tag is checked first: a bad one fails before */
	from[0] = "v0.9.9";
	ck_assert_int_eq(molt_release_build(&r, &o, &err), MOLT_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "tag 'v0.9.9' not found"));
	/* nothing half-made is left where the bundle would go */
	ck_assert_int_eq(
		molt_test_system("ls '%s' | grep -q 'shop-1.1.0'", dir), 1);
#endif
}
END_TEST

START_TEST(test_cli_build_json_and_quiet)
{
	char out[4200], err[4200], *o, *e;

	snprintf(out, sizeof(out), "%s/cli.out", dir);
	snprintf(err, sizeof(err), "%s/cli.err", dir);
	ck_assert_int_eq(molt_test_system("'%s/releasetool/molt' build --repo "
					  "'%s' --tag v1.0.0 -o '%s' --json "
					  ">'%s' 2>'%s'",
					  MOLT_BUILD_DIR, repo, dir, out, err),
			 0);
	o = molt_test_read_file(out, NULL);
	e = molt_test_read_file(err, NULL);
	ck_assert_ptr_nonnull(strstr(o, "{\"ok\":true,\"bundle\":"));
	ck_assert_ptr_nonnull(strstr(o, "\"vsn\":\"1.0.0\""));
	ck_assert_str_eq(e, "");
	free(o);
	free(e);
	ck_assert_int_eq(molt_test_system("'%s/releasetool/molt' build --repo "
					  "'%s' --tag v1.0.0 -o '%s' "
					  ">'%s' 2>'%s'",
					  MOLT_BUILD_DIR, repo, dir, out, err),
			 0);
	e = molt_test_read_file(err, NULL);
	ck_assert_ptr_nonnull(
		strstr(e, "build: v1.0.0: annotated tag -> commit"));
	ck_assert_ptr_nonnull(strstr(e, " ms)\n"));
	free(e);
	ck_assert_int_eq(
		molt_test_system("'%s/releasetool/molt' -q build --repo "
				 "'%s' --tag v1.0.0 -o '%s' "
				 ">'%s' 2>'%s'",
				 MOLT_BUILD_DIR, repo, dir, out, err),
		0);
	e = molt_test_read_file(err, NULL);
	ck_assert_str_eq(e, "");
	free(e);
	ck_assert_int_eq(molt_test_system("'%s/releasetool/molt' build --repo "
					  "'%s' 2>/dev/null",
					  MOLT_BUILD_DIR, repo),
			 2);
	ck_assert_int_eq(molt_test_system("'%s/releasetool/molt' build --repo "
					  "'%s' --tag nope 2>/dev/null",
					  MOLT_BUILD_DIR, repo),
			 1);
}
END_TEST

Suite *build_suite(void)
{
	Suite *s = suite_create("releasetool.build");
	TCase *tc = tcase_create("build");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_build_makes_the_1_0_0_bundle);
	tcase_add_test(tc, test_build_reads_module_facts_of_1_1_0);
	tcase_add_test(tc, test_build_of_1_2_0_adds_and_removes_modules);
	tcase_add_test(tc, test_same_tag_gives_the_same_bytes);
	tcase_add_test(tc, test_bundle_has_fixed_owner_mtime_and_gzip_header);
	tcase_add_test(tc, test_build_leaves_work_tree_index_and_head_alone);
	tcase_add_test(tc, test_missing_tag_lists_nearest_tags);
	tcase_add_test(tc, test_tag_without_molt_json_is_refused);
	tcase_add_test(tc, test_bad_molt_json_names_file_field_and_expectation);
	tcase_add_test(tc, test_compile_error_names_the_module);
	tcase_add_test(tc, test_build_command_from_molt_json);
	tcase_add_test(tc, test_simple_one_for_one_supervisor_has_one_template);
	tcase_add_test(tc, test_two_applications_in_one_release);
	tcase_add_test(tc, test_module_must_carry_its_own_name);
	tcase_add_test(tc, test_relup_from_builds_both_and_compiles_the_relup);
	tcase_add_test(tc, test_cli_build_json_and_quiet);
	suite_add_tcase(s, tc);
	return s;
}
