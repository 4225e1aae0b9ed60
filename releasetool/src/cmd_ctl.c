/* molt status | ps | call | cast | stop: talk to a running moltd. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "ctlclient.h"

#include "molt/banned.h"

#define CTL_TIMEOUT 10000u

static cJSON *request(const char *op)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "op", op);
	return o;
}

/* The release moltd booted and its applications (absent: a boot spec). */
static void print_release(const cJSON *r)
{
	const cJSON *rel = cJSON_GetObjectItem(r, "release"), *a;

	if (!cJSON_IsObject(rel))
		return;
	printf("release     %s %s\n", molt__cli_str(rel, "name"),
	       molt__cli_str(rel, "vsn"));
	cJSON_ArrayForEach(a, cJSON_GetObjectItem(r, "applications"))
	{
		printf("  app       %-16s %-12s supervisor %s\n",
		       molt__cli_str(a, "name"), molt__cli_str(a, "vsn"),
		       molt__cli_str(a, "supervisor"));
	}
}

int molt__cmd_status(molt_cli *cli, int argc, char **argv)
{
	cJSON *r;
	int rc;

	(void)argv;
	if (argc != 1)
		return molt__cli_usage(cli, "usage: status");
	rc = molt__ctlclient_verb(cli, request("status"), &r, CTL_TIMEOUT);
	if (!r)
		return rc;
	printf("moltd pid %.0f, up %.1f s\n", molt__cli_num(r, "pid"),
	       molt__cli_num(r, "uptime_ms") / 1000.0);
	printf("processes   %.0f (spawned %.0f)\n",
	       molt__cli_num(r, "processes"), molt__cli_num(r, "spawned"));
	printf("modules     %.0f\n", molt__cli_num(r, "modules"));
	printf("schedulers  %.0f%s\n", molt__cli_num(r, "schedulers"),
	       cJSON_IsTrue(cJSON_GetObjectItem(r, "deterministic"))
		       ? " (deterministic)"
		       : "");
	printf("messages    %.0f\n", molt__cli_num(r, "messages"));
	print_release(r);
	cJSON_Delete(r);
	return rc;
}

int molt__cmd_ps(molt_cli *cli, int argc, char **argv)
{
	const cJSON *p;
	cJSON *r;
	int rc;

	(void)argv;
	if (argc != 1)
		return molt__cli_usage(cli, "usage: ps");
	rc = molt__ctlclient_verb(cli, request("ps"), &r, CTL_TIMEOUT);
	if (!r)
		return rc;
	printf("%-12s %-12s %-12s %-8s %6s %8s %10s %5s %s\n", "PID", "NAME",
	       "MODULE", "VSN", "QUEUE", "HEAP", "MESSAGES", "SOCKS", "FLAGS");
	cJSON_ArrayForEach(p, cJSON_GetObjectItem(r, "processes"))
	{
		int old = cJSON_IsTrue(cJSON_GetObjectItem(p, "old_code"));
		int susp = cJSON_IsTrue(cJSON_GetObjectItem(p, "suspended"));

		printf("%-12s %-12s %-12s %-8s %6.0f %8.0f %10.0f %5.0f %s%s\n",
		       molt__cli_str(p, "pid"),
		       *molt__cli_str(p, "name") ? molt__cli_str(p, "name")
						 : "-",
		       molt__cli_str(p, "module"), molt__cli_str(p, "vsn"),
		       molt__cli_num(p, "queue"),
		       molt__cli_num(p, "heap_bytes"),
		       molt__cli_num(p, "reductions"),
		       molt__cli_num(p, "sockets"), old ? "old " : "",
		       susp ? "suspended" : "");
	}
	cJSON_Delete(r);
	return rc;
}

int molt__cmd_sockets(molt_cli *cli, int argc, char **argv)
{
	const cJSON *s;
	cJSON *r;
	int rc;

	(void)argv;
	if (argc != 1)
		return molt__cli_usage(cli, "usage: sockets");
	rc = molt__ctlclient_verb(cli, request("sockets"), &r, CTL_TIMEOUT);
	if (!r)
		return rc;
	printf("%-14s %-12s %-6s %-24s %-24s %6s %8s %12s %12s\n", "SOCK",
	       "OWNER", "KIND", "LOCAL", "PEER", "ACTIVE", "QUEUED", "IN",
	       "OUT");
	cJSON_ArrayForEach(s, cJSON_GetObjectItem(r, "sockets"))
	{
		printf("%-14s %-12s %-6s %-24s %-24s %6.0f %8.0f %12.0f "
		       "%12.0f\n",
		       molt__cli_str(s, "sock"), molt__cli_str(s, "owner"),
		       molt__cli_str(s, "kind"), molt__cli_str(s, "local"),
		       *molt__cli_str(s, "peer") ? molt__cli_str(s, "peer")
						 : "-",
		       molt__cli_num(s, "active"), molt__cli_num(s, "queued"),
		       molt__cli_num(s, "bytes_in"),
		       molt__cli_num(s, "bytes_out"));
	}
	cJSON_Delete(r);
	return rc;
}

/* call/cast NAME|PID PAYLOAD [--timeout MS] */
static int message(molt_cli *cli, int argc, char **argv, const char *op)
{
	const char *target = NULL, *payload = NULL;
	long timeout = 5000;
	cJSON *req, *r;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			timeout = strtol(argv[++i], NULL, 10);
			if (timeout < 1 || timeout > 600000)
				return molt__cli_usage(
					cli, "--timeout needs 1..600000 ms");
		} else if (!target) {
			target = argv[i];
		} else if (!payload) {
			payload = argv[i];
		} else {
			return molt__cli_usage(cli, "too many arguments");
		}
	}
	if (!target || !payload)
		return molt__cli_usage(cli, "usage: %s NAME|PID PAYLOAD%s", op,
				       op[1] == 'a' ? " [--timeout MS]" : "");
	req = request(op);
	cJSON_AddStringToObject(req, "to", target);
	cJSON_AddStringToObject(req, "payload", payload);
	if (strcmp(op, "call") == 0)
		cJSON_AddNumberToObject(req, "timeout", (double)timeout);
	rc = molt__ctlclient_verb(cli, req, &r, (uint32_t)timeout + 5000);
	if (r && strcmp(op, "call") == 0)
		printf("%s\n", molt__cli_str(r, "reply"));
	cJSON_Delete(r);
	return rc;
}

int molt__cmd_call(molt_cli *cli, int argc, char **argv)
{
	return message(cli, argc, argv, "call");
}

int molt__cmd_cast(molt_cli *cli, int argc, char **argv)
{
	return message(cli, argc, argv, "cast");
}

int molt__cmd_stop(molt_cli *cli, int argc, char **argv)
{
	cJSON *r;
	int rc;

	(void)argv;
	if (argc != 1)
		return molt__cli_usage(cli, "usage: stop");
	rc = molt__ctlclient_verb(cli, request("stop"), &r, CTL_TIMEOUT);
	if (r)
		molt__cli_progress(cli, "moltd is stopping");
	cJSON_Delete(r);
	return rc;
}
