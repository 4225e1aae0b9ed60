/* molt unpack, molt init, molt releases: bundles into a root, and what
 * the root holds. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "molt/release.h"

#include "cli.h"

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

static void on_progress(const char *step, double ms, void *payload)
{
	const molt_cli *cli = payload;

	molt__cli_progress(cli, "%s: %s (%.0f ms)", cli->verb, step, ms);
}

static void print_result(const molt_cli *cli, const molt_unpack_result *r,
			 const char *root, const char *status)
{
	cJSON *o;

	if (!cli->json) {
		if (!cli->quiet)
			printf("%s %s %s in %s (%zu files, %llu bytes)\n",
			       r->name, r->vsn, status, root, r->files,
			       (unsigned long long)r->bytes);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddTrueToObject(o, "ok");
	cJSON_AddStringToObject(o, "root", root);
	cJSON_AddStringToObject(o, "name", r->name);
	cJSON_AddStringToObject(o, "vsn", r->vsn);
	cJSON_AddStringToObject(o, "status", status);
	cJSON_AddNumberToObject(o, "files", (double)r->files);
	cJSON_AddNumberToObject(o, "bytes", (double)r->bytes);
	cJSON_AddNumberToObject(o, "new_libs", (double)r->new_libs);
	molt__cli_json_print(o);
}

void molt__cli_unpack_note(const molt_cli *cli, const char *root,
			   const char *bundle, const molt_unpack_result *r)
{
	(void)cli;
	if (r->trusted_keys)
		return;
	fprintf(stderr,
		"%s %s: warning: '%s' trusts no keys (none in "
		"%s/" MOLT_ROOT_KEYS_DIR
		"/): the signatures of '%s' were not checked%s\n",
		cli->prog, cli->verb, root, root, bundle,
		r->signatures ? "" : " (it has none)");
}

typedef int (*unpack_fn)(molt_unpack_result *, const char *, const char *,
			 const molt_unpack_options *, molt_err *);

static int run(molt_cli *cli, int argc, char **argv, unpack_fn fn,
	       const char *status)
{
	molt_unpack_options o = MOLT_UNPACK_OPTIONS_INIT;
	molt_unpack_result r;
	molt_err err = MOLT_ERR_INIT;
	const char *root, *bundle = NULL;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--sync") == 0)
			o.sync = 1;
		else if (argv[i][0] == '-' || bundle)
			return molt__cli_usage(cli,
					       "usage: molt %s --root DIR "
					       "[--sync] BUNDLE",
					       cli->verb);
		else
			bundle = argv[i];
	}
	if (!bundle)
		return molt__cli_usage(cli,
				       "usage: molt %s --root DIR [--sync] "
				       "BUNDLE",
				       cli->verb);
	if ((rc = molt__cli_need_root(cli, &root)) != MOLT_EXIT_OK)
		return rc;
	o.progress = on_progress;
	o.payload = cli;
	if (fn(&r, root, bundle, &o, &err) < 0)
		return molt__cli_fail(cli, &err);
	molt__cli_unpack_note(cli, root, bundle, &r);
	print_result(cli, &r, root, status);
	return MOLT_EXIT_OK;
}

int molt__cmd_unpack(molt_cli *cli, int argc, char **argv)
{
	return run(cli, argc, argv, molt_release_unpack, "unpacked");
}

int molt__cmd_init(molt_cli *cli, int argc, char **argv)
{
	return run(cli, argc, argv, molt_release_init, "permanent");
}

static cJSON *release_json(const molt_release_info *r)
{
	cJSON *o = cJSON_CreateObject(), *apps = cJSON_CreateArray();

	cJSON_AddStringToObject(o, "name", r->name);
	cJSON_AddStringToObject(o, "vsn", r->vsn);
	cJSON_AddStringToObject(o, "status",
				molt_release_status_name(r->status));
	for (size_t i = 0; i < r->napps; i++) {
		cJSON *a = cJSON_CreateObject();

		cJSON_AddStringToObject(a, "name", r->apps[i].name);
		cJSON_AddStringToObject(a, "vsn", r->apps[i].vsn);
		cJSON_AddStringToObject(a, "lib", r->apps[i].lib);
		cJSON_AddItemToArray(apps, a);
	}
	cJSON_AddItemToObject(o, "applications", apps);
	return o;
}

static void print_releases(const molt_cli *cli, const molt_releases *rels)
{
	cJSON *o, *arr;

	if (!cli->json) {
		for (size_t i = 0; i < rels->n; i++) {
			const molt_release_info *r = &rels->rels[i];

			printf("%-12s %-12s %-10s", r->name, r->vsn,
			       molt_release_status_name(r->status));
			for (size_t j = 0; j < r->napps; j++)
				printf(" %s-%s", r->apps[j].name,
				       r->apps[j].vsn);
			printf("\n");
		}
		return;
	}
	o = cJSON_CreateObject();
	arr = cJSON_CreateArray();
	cJSON_AddTrueToObject(o, "ok");
	for (size_t i = 0; i < rels->n; i++)
		cJSON_AddItemToArray(arr, release_json(&rels->rels[i]));
	cJSON_AddItemToObject(o, "releases", arr);
	molt__cli_json_print(o);
}

int molt__cmd_releases(molt_cli *cli, int argc, char **argv)
{
	molt_releases rels;
	molt_err err = MOLT_ERR_INIT;
	char dir[4096];
	struct stat st;
	const char *root;
	int rc;

	(void)argv;
	if (argc != 1)
		return molt__cli_usage(cli, "usage: molt releases --root DIR "
					    "[--json]");
	if ((rc = molt__cli_need_root(cli, &root)) != MOLT_EXIT_OK)
		return rc;
	snprintf(dir, sizeof(dir), "%s/" MOLT_ROOT_RELEASES_DIR, root);
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		molt_err_set(&err, MOLT_ENOTFOUND,
			     "'%s' is not a molt root (no releases/ directory)",
			     root);
		return molt__cli_fail(cli, &err);
	}
	if (molt_releases_read(&rels, root, &err) < 0)
		return molt__cli_fail(cli, &err);
	print_releases(cli, &rels);
	molt_releases_release(&rels);
	return MOLT_EXIT_OK;
}
