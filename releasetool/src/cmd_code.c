/* molt load | purge | soft-purge | delete | modules: the code server. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "ctlclient.h"

#include "molt/banned.h"

#define CODE_TIMEOUT 30000u

static cJSON *request(const char *op)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "op", op);
	return o;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItem(o, k);

	return cJSON_IsString(v) ? v->valuestring : "";
}

int molt__cmd_load(molt_cli *cli, int argc, char **argv)
{
	const char *path = NULL;
	char abs[PATH_MAX];
	int force = 0, rc;
	cJSON *req, *r;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0)
			force = 1;
		else if (!path)
			path = argv[i];
		else
			return molt__cli_usage(cli, "too many arguments");
	}
	if (!path)
		return molt__cli_usage(cli, "usage: load PATH.so [--force]");
	/* moltd runs elsewhere: send an absolute path */
	if (!realpath(path, abs)) {
		molt_err err;

		molt_err_set(&err, MOLT_ENOTFOUND, "%s: no such file", path);
		return molt__cli_fail(cli, &err);
	}
	req = request("load");
	cJSON_AddStringToObject(req, "path", abs);
	cJSON_AddBoolToObject(req, "force", force);
	rc = molt__ctlclient_verb(cli, req, &r, CODE_TIMEOUT);
	if (r)
		printf("loaded %s from %s\n", str(r, "module"), abs);
	cJSON_Delete(r);
	return rc;
}

static int on_module(molt_cli *cli, int argc, char **argv, const char *op,
		     const char *done)
{
	cJSON *req, *r;
	const cJSON *k;
	int rc;

	if (argc != 2)
		return molt__cli_usage(cli, "usage: %s MODULE", cli->verb);
	req = request(op);
	cJSON_AddStringToObject(req, "module", argv[1]);
	rc = molt__ctlclient_verb(cli, req, &r, CODE_TIMEOUT);
	if (!r)
		return rc;
	k = cJSON_GetObjectItem(r, "killed");
	if (cJSON_IsNumber(k))
		printf("%s %s (%d processes killed)\n", done, argv[1],
		       k->valueint);
	else
		printf("%s %s\n", done, argv[1]);
	cJSON_Delete(r);
	return rc;
}

int molt__cmd_purge(molt_cli *cli, int argc, char **argv)
{
	return on_module(cli, argc, argv, "purge", "purged");
}

int molt__cmd_soft_purge(molt_cli *cli, int argc, char **argv)
{
	return on_module(cli, argc, argv, "soft_purge", "purged");
}

int molt__cmd_delete(molt_cli *cli, int argc, char **argv)
{
	return on_module(cli, argc, argv, "delete", "deleted");
}

int molt__cmd_modules(molt_cli *cli, int argc, char **argv)
{
	const cJSON *m;
	cJSON *r;
	int rc;

	(void)argv;
	if (argc != 1)
		return molt__cli_usage(cli, "usage: modules");
	rc = molt__ctlclient_verb(cli, request("modules"), &r, CODE_TIMEOUT);
	if (!r)
		return rc;
	printf("%-16s %-10s %6s %-10s %6s %s\n", "MODULE", "CURRENT", "PROCS",
	       "OLD", "PROCS", "PATH");
	cJSON_ArrayForEach(m, cJSON_GetObjectItem(r, "modules"))
	{
		const cJSON *cp = cJSON_GetObjectItem(m, "current_procs");
		const cJSON *op = cJSON_GetObjectItem(m, "old_procs");
		int builtin = cJSON_IsTrue(cJSON_GetObjectItem(m, "builtin"));

		printf("%-16s %-10s %6d %-10s %6d %s\n", str(m, "name"),
		       *str(m, "current") ? str(m, "current") : "-",
		       cJSON_IsNumber(cp) ? cp->valueint : 0,
		       *str(m, "old") ? str(m, "old") : "-",
		       cJSON_IsNumber(op) ? op->valueint : 0,
		       builtin ? "(built in)" : str(m, "path"));
	}
	cJSON_Delete(r);
	return rc;
}

int molt__cmd_eval(molt_cli *cli, int argc, char **argv)
{
	molt_err err;

	(void)argc;
	(void)argv;
	molt_err_set(&err, MOLT_ERROR, "'%s' is not implemented yet (issue 3)",
		     cli->verb);
	return molt__cli_fail(cli, &err);
}
