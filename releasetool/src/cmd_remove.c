/* molt remove: a release and the lib dirs only it used out of the root. */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "molt/release.h"

#include "cli.h"

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

#define REMOVE_USAGE "usage: molt remove --root DIR VSN"

/* "molt remove: removed release 1.1.0 (deleted releases/1.1.0,
 * lib/kvs-1.1.0; kept lib/kvs-1.0.0, used by 1.0.0)" */
static void print_human(const molt_cli *cli, const char *vsn,
			const molt_remove_result *r)
{
	printf("%s %s: removed release %s (deleted", cli->prog, cli->verb, vsn);
	for (size_t i = 0; i < r->ndeleted; i++)
		printf("%s %s", i ? "," : "", r->deleted[i]);
	if (!r->ndeleted)
		printf(" nothing");
	for (size_t i = 0; i < r->nkept; i++)
		printf("%s %s, used by %s", i ? ";" : "; kept", r->kept[i],
		       r->kept_by[i]);
	printf(")\n");
}

static cJSON *string_array(char *const *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

static void print_json(const char *vsn, const molt_remove_result *r)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddTrueToObject(o, "ok");
	cJSON_AddStringToObject(o, "vsn", vsn);
	cJSON_AddItemToObject(o, "deleted",
			      string_array(r->deleted, r->ndeleted));
	cJSON_AddItemToObject(o, "kept", string_array(r->kept, r->nkept));
	cJSON_AddItemToObject(o, "kept_by", string_array(r->kept_by, r->nkept));
	molt__cli_json_print(o);
}

int molt__cmd_remove(molt_cli *cli, int argc, char **argv)
{
	molt_remove_result r;
	molt_err err = MOLT_ERR_INIT;
	const char *root, *vsn;
	int rc;

	if (argc != 2 || argv[1][0] == '-')
		return molt__cli_usage(cli, REMOVE_USAGE);
	vsn = argv[1];
	if ((rc = molt__cli_need_root(cli, &root)) != MOLT_EXIT_OK)
		return rc;
	if (molt_release_remove(&r, root, vsn, &err) < 0)
		return molt__cli_fail(cli, &err);
	if (cli->json)
		print_json(vsn, &r);
	else if (!cli->quiet)
		print_human(cli, vsn, &r);
	molt_remove_result_release(&r);
	return MOLT_EXIT_OK;
}
