/* molt install | rollback | permanent: the release handler of a live
 * node, over its control socket (moltd does the work, under the root
 * lock; docs/releases.md). */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "molt/common.h"

#include "cli.h"
#include "ctlclient.h"

#include "molt/banned.h"

#define INSTALL_TIMEOUT 600000u /* as eval: a big upgrade takes a while */

static const char *str(const cJSON *o, const char *k)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(o, k));

	return s ? s : "";
}

/* "release shop 1.0.0 -> 1.1.0 (up)", then eval's report. */
static void install_print(const cJSON *reply)
{
	int ok = cJSON_IsTrue(cJSON_GetObjectItem(reply, "ok"));
	const cJSON *r = ok ? reply : cJSON_GetObjectItem(reply, "report");

	if (!cJSON_GetObjectItem(r, "steps") &&
	    !cJSON_IsTrue(cJSON_GetObjectItem(r, "restart")))
		return; /* refused before running: the error says why */
	if (*str(r, "to"))
		printf("release %s %s -> %s (%s script of releases/%s/"
		       "relup.json)\n",
		       str(r, "release"), str(r, "from"), str(r, "to"),
		       str(r, "direction"),
		       strcmp(str(r, "direction"), "down") == 0 ? str(r, "from")
								: str(r, "to"));
	if (cJSON_IsTrue(cJSON_GetObjectItem(r, "restart"))) {
		printf("the script restarts the node into %s: process state is "
		       "not carried over\n",
		       str(r, "to"));
		return;
	}
	if (cJSON_GetObjectItem(r, "steps"))
		molt__eval_print(reply);
	if (!ok || cJSON_IsTrue(cJSON_GetObjectItem(r, "dry_run")))
		return;
	if (cJSON_IsTrue(cJSON_GetObjectItem(r, "permanent")))
		printf("%s is the permanent release: the node runs it again\n",
		       str(r, "to"));
	else
		printf("%s is current; 'molt permanent %s' makes the node boot "
		       "it\n",
		       str(r, "to"), str(r, "to"));
}

/* install VSN and rollback share their options and their output. */
static int run(molt_cli *cli, const char *op, const char *vsn, int dry)
{
	cJSON *req = cJSON_CreateObject(), *r = NULL;
	int rc;

	cJSON_AddStringToObject(req, "op", op);
	if (vsn)
		cJSON_AddStringToObject(req, "vsn", vsn);
	cJSON_AddBoolToObject(req, "dry_run", dry);
	rc = molt__ctlclient_verb_report(cli, req, &r, INSTALL_TIMEOUT);
	if (r)
		install_print(r);
	cJSON_Delete(r);
	return rc;
}

int molt__cmd_install(molt_cli *cli, int argc, char **argv)
{
	const char *vsn = NULL;
	int dry = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0)
			dry = 1;
		else if (argv[i][0] != '-' && !vsn)
			vsn = argv[i];
		else
			return molt__cli_usage(cli,
					       "unexpected '%s'\n"
					       "usage: molt install VSN "
					       "[--dry-run]",
					       argv[i]);
	}
	if (!vsn)
		return molt__cli_usage(cli, "usage: molt install VSN "
					    "[--dry-run]");
	return run(cli, "install", vsn, dry);
}

int molt__cmd_rollback(molt_cli *cli, int argc, char **argv)
{
	int dry = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0)
			dry = 1;
		else
			return molt__cli_usage(cli,
					       "unexpected '%s'\n"
					       "usage: molt rollback "
					       "[--dry-run]",
					       argv[i]);
	}
	return run(cli, "rollback", NULL, dry);
}

int molt__cmd_permanent(molt_cli *cli, int argc, char **argv)
{
	cJSON *req, *r = NULL;
	int rc;

	if (argc != 2 || argv[1][0] == '-')
		return molt__cli_usage(cli, "usage: molt permanent VSN");
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "op", "permanent");
	cJSON_AddStringToObject(req, "vsn", argv[1]);
	rc = molt__ctlclient_verb(cli, req, &r, INSTALL_TIMEOUT);
	if (r) {
		const cJSON *k = cJSON_GetObjectItem(r, "killed");

		printf("release %s is permanent: the node boots it from now "
		       "on",
		       argv[1]);
		if (cJSON_IsNumber(k) && k->valuedouble > 0)
			printf(" (old code purged: %.0f processes killed)",
			       k->valuedouble);
		printf("\n");
	}
	cJSON_Delete(r);
	return rc;
}
