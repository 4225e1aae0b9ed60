/* molt build: a release bundle from a git tag. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "molt/release.h"

#include "cli.h"
#include "sha256.h"

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

#define MAX_RELUP_FROM 16

static void on_progress(const char *step, double ms, void *payload)
{
	const molt_cli *cli = payload;

	molt__cli_progress(cli, "%s: %s (%.0f ms)", cli->verb, step, ms);
}

/* The value of option name at argv[*i] ("--x V" or "--x=V"), or NULL. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);

	if (strcmp(argv[*i], name) == 0)
		return *i + 1 < argc ? argv[++*i] : NULL;
	if (strncmp(argv[*i], name, n) == 0 && argv[*i][n] == '=')
		return argv[*i] + n + 1;
	return NULL;
}

static int is_opt(const char *arg, const char *name)
{
	size_t n = strlen(name);

	return strncmp(arg, name, n) == 0 && (!arg[n] || arg[n] == '=');
}

static int parse(molt_cli *cli, molt_build_options *o, const char **from,
		 const char **check, const char **key, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;

		if (strcmp(a, "--require-signed-tag") == 0)
			o->require_signed_tag = 1;
		else if (is_opt(a, "--cc") &&
			 (v = opt_value(argc, argv, &i, "--cc")))
			o->cc = v;
		else if (is_opt(a, "--check") &&
			 (v = opt_value(argc, argv, &i, "--check")))
			*check = v;
		else if (is_opt(a, "--sign") &&
			 (v = opt_value(argc, argv, &i, "--sign")))
			*key = v;
		else if (is_opt(a, "--repo") &&
			 (v = opt_value(argc, argv, &i, "--repo")))
			o->repo = v;
		else if (is_opt(a, "--tag") &&
			 (v = opt_value(argc, argv, &i, "--tag")))
			o->tag = v;
		else if ((is_opt(a, "--out") &&
			  (v = opt_value(argc, argv, &i, "--out"))) ||
			 (is_opt(a, "-o") &&
			  (v = opt_value(argc, argv, &i, "-o"))))
			o->out = v;
		else if (is_opt(a, "--relup-from") &&
			 (v = opt_value(argc, argv, &i, "--relup-from"))) {
			if (o->nrelup_from == MAX_RELUP_FROM)
				return molt__cli_usage(cli,
						       "at most %d "
						       "--relup-from",
						       MAX_RELUP_FROM);
			from[o->nrelup_from++] = v;
		} else
			return molt__cli_usage(cli, "unexpected argument '%s'",
					       a);
	}
	if (*check && (o->tag || o->out || o->nrelup_from || o->cc ||
		       o->require_signed_tag || *key))
		return molt__cli_usage(cli, "--check takes the tag and the "
					    "options from the bundle (only "
					    "--repo DIR may be given)");
	if (!*check && (!o->repo || !o->tag))
		return molt__cli_usage(
			cli, "usage: molt build --repo DIR --tag TAG [-o OUT] "
			     "[--relup-from TAG]... [--cc CC] "
			     "[--require-signed-tag] [--sign KEY] | molt build "
			     "--check "
			     "BUNDLE [--repo DIR]");
	return MOLT_EXIT_OK;
}

static void print_json(const molt_build_result *r, const char *tag)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddTrueToObject(o, "ok");
	cJSON_AddStringToObject(o, "bundle", r->path);
	cJSON_AddStringToObject(o, "name", r->name);
	cJSON_AddStringToObject(o, "vsn", r->vsn);
	cJSON_AddStringToObject(o, "tag", tag);
	cJSON_AddStringToObject(o, "tag_type",
				r->annotated ? "annotated" : "lightweight");
	cJSON_AddStringToObject(o, "commit", r->commit);
	cJSON_AddNumberToObject(o, "commit_time", (double)r->commit_time);
	cJSON_AddStringToObject(o, "sha256", r->sha256);
	cJSON_AddNumberToObject(o, "size", (double)r->size);
	cJSON_AddNumberToObject(o, "files", (double)r->files);
	cJSON_AddBoolToObject(o, "relup", r->relup);
	molt__cli_json_print(o);
}

static void print_check_json(const molt_check_result *r, const char *bundle)
{
	cJSON *o = cJSON_CreateObject(), *d = cJSON_CreateArray();

	cJSON_AddTrueToObject(o, "ok");
	cJSON_AddStringToObject(o, "bundle", bundle);
	cJSON_AddStringToObject(o, "tag", r->tag);
	cJSON_AddBoolToObject(o, "reproduces", r->same);
	cJSON_AddStringToObject(o, "rebuilt_sha256", r->sha256);
	for (size_t i = 0; i < r->ndiffs; i++)
		cJSON_AddItemToArray(d, cJSON_CreateString(r->diffs[i]));
	cJSON_AddItemToObject(o, "differences", d);
	molt__cli_json_print(o);
}

/* molt build --check BUNDLE: exit 0 if it reproduces, 1 (with what
 * differs on stdout) if not. */
static int check(molt_cli *cli, const char *bundle, const char *repo)
{
	molt_check_result r;
	molt_err err = MOLT_ERR_INIT;

	if (molt_release_check(&r, bundle, repo, on_progress, cli, &err) < 0)
		return molt__cli_fail(cli, &err);
	if (cli->json) {
		print_check_json(&r, bundle);
	} else if (r.same) {
		printf("%s: reproduces: rebuilt from %s, the same bytes "
		       "(%s)\n",
		       bundle, r.tag, r.sha256);
	} else {
		printf("%s: does not reproduce: rebuilt from %s, %zu "
		       "difference(s):\n",
		       bundle, r.tag, r.ndiffs);
		for (size_t i = 0; i < r.ndiffs; i++)
			printf("  %s\n", r.diffs[i]);
	}
	molt_check_result_release(&r);
	return r.same ? MOLT_EXIT_OK : MOLT_EXIT_FAILED;
}

/* --sign KEY: the built bundle signed, its sum and size again; an
 * unsigned bundle is not left behind. */
static int sign(const molt_cli *cli, molt_build_result *r, const char *key,
		molt_err *err)
{
	char id[MOLT_KEY_ID_SIZE];
	struct stat st;

	if (molt_bundle_sign(id, r->path, key, err) < 0) {
		unlink(r->path);
		return err->code;
	}
	molt__cli_progress(cli, "build: signed by key %s", id);
	if (stat(r->path, &st) == 0)
		r->size = (uint64_t)st.st_size;
	return molt__sha256_file(r->sha256, r->path, err);
}

int molt__cmd_build(molt_cli *cli, int argc, char **argv)
{
	molt_build_options o = MOLT_BUILD_OPTIONS_INIT;
	const char *from[MAX_RELUP_FROM], *bundle = NULL, *key = NULL;
	molt_build_result r;
	molt_err err = MOLT_ERR_INIT;
	int rc;

	if ((rc = parse(cli, &o, from, &bundle, &key, argc, argv)) !=
	    MOLT_EXIT_OK)
		return rc;
	if (bundle)
		return check(cli, bundle, o.repo);
	o.relup_from = from;
	o.progress = on_progress;
	o.payload = cli;
	if (molt_release_build(&r, &o, &err) < 0 ||
	    (key && sign(cli, &r, key, &err) < 0))
		return molt__cli_fail(cli, &err);
	if (cli->json)
		print_json(&r, o.tag);
	else if (!cli->quiet)
		printf("%s  %s\n", r.sha256, r.path);
	return MOLT_EXIT_OK;
}
