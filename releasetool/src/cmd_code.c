/* molt load | purge | soft-purge | delete | modules: the code server;
 * molt eval: the script evaluator. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "molt/buf.h"

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

/* --- eval --- */

#define EVAL_TIMEOUT 600000u /* a big upgrade may take a while */

typedef struct eval_args {
	const char *file;      /* SCRIPT.json */
	const char *lib_dir;   /* --lib-dir, else ROOT/lib */
	const char *paths[16]; /* --path DIR... */
	int n_paths;	       /* entries in paths */
	int dry_run;	       /* --dry-run */
	long suspend_timeout;  /* --suspend-timeout MS, or 0 */
} eval_args;

static int eval_parse_args(molt_cli *cli, int argc, char **argv, eval_args *a)
{
	static const char usage[] =
		"usage: eval SCRIPT.json [--dry-run] [--lib-dir DIR] "
		"[--path DIR]... [--suspend-timeout MS]";

	memset(a, 0, sizeof(*a));
	for (int i = 1; i < argc; i++) {
		int more = i + 1 < argc;

		if (strcmp(argv[i], "--dry-run") == 0)
			a->dry_run = 1;
		else if (strcmp(argv[i], "--lib-dir") == 0 && more)
			a->lib_dir = argv[++i];
		else if (strcmp(argv[i], "--path") == 0 && more &&
			 a->n_paths < 16)
			a->paths[a->n_paths++] = argv[++i];
		else if (strcmp(argv[i], "--suspend-timeout") == 0 && more)
			a->suspend_timeout = strtol(argv[++i], NULL, 10);
		else if (argv[i][0] != '-' && !a->file)
			a->file = argv[i];
		else
			return molt__cli_usage(cli, "%s", usage);
	}
	if (!a->file)
		return molt__cli_usage(cli, "%s", usage);
	return MOLT_EXIT_OK;
}

/* The script in file: a JSON array, or an object with a "script" array
 * (a relup entry). Returns owned (cJSON_Delete) or NULL with err. */
static cJSON *eval_read_script(const char *file, molt_err *err)
{
	molt_buf b = MOLT_BUF_INIT;
	const char *end = NULL;
	cJSON *doc, *s;
	int line = 1, col = 1;

	if (molt_buf_read_file(&b, file, err) < 0)
		return NULL;
	doc = cJSON_ParseWithOpts(b.ptr, &end, 1);
	if (!doc) {
		for (const char *p = b.ptr; end && p < end; p++, col++)
			if (*p == '\n') {
				line++;
				col = 0;
			}
		molt_err_set(err, MOLT_EPARSE, "%s:%d:%d: JSON syntax error",
			     file, line, col);
		molt_buf_release(&b);
		return NULL;
	}
	molt_buf_release(&b);
	if (cJSON_IsObject(doc) &&
	    cJSON_IsArray(s = cJSON_GetObjectItem(doc, "script")))
		s = cJSON_DetachItemViaPointer(doc, s);
	else if (cJSON_IsArray(doc))
		return doc;
	else
		s = NULL;
	cJSON_Delete(doc);
	if (!s)
		molt_err_set(err, MOLT_EPARSE,
			     "%s: expected a JSON array of instructions", file);
	return s;
}

static cJSON *eval_request(molt_cli *cli, const eval_args *a, cJSON *script,
			   molt_err *err)
{
	char abs[PATH_MAX], lib[PATH_MAX + 8];
	cJSON *req = request("eval"), *p;

	cJSON_AddItemToObject(req, "script", script);
	cJSON_AddBoolToObject(req, "dry_run", a->dry_run);
	if (a->lib_dir && realpath(a->lib_dir, abs)) {
		cJSON_AddStringToObject(req, "lib_dir", abs);
	} else if (a->lib_dir) {
		molt_err_set(err, MOLT_ENOTFOUND, "%s: no such directory",
			     a->lib_dir);
		cJSON_Delete(req);
		return NULL;
	} else if (cli->root && realpath(cli->root, abs)) {
		snprintf(lib, sizeof(lib), "%s/lib", abs);
		cJSON_AddStringToObject(req, "lib_dir", lib);
	}
	p = cJSON_AddArrayToObject(req, "path");
	for (int i = 0; i < a->n_paths; i++)
		cJSON_AddItemToArray(
			p, cJSON_CreateString(realpath(a->paths[i], abs)
						      ? abs
						      : a->paths[i]));
	if (a->suspend_timeout > 0)
		cJSON_AddNumberToObject(req, "suspend_timeout",
					(double)a->suspend_timeout);
	return req;
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItem(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* The first pids a dry run would suspend, on one line. */
static void eval_print_planned(const cJSON *r)
{
	const cJSON *p;
	int n = 0;

	cJSON_ArrayForEach(p, cJSON_GetObjectItem(r, "would_suspend"))
	{
		if (n == 0)
			printf("would suspend:");
		if (n++ == 20) {
			printf(" ...");
			break;
		}
		printf(" %s", cJSON_IsString(p) ? p->valuestring : "?");
	}
	if (n)
		printf("\n");
}

/* A failed evaluation's report: where it failed and what was undone. */
static void eval_print_failed(const cJSON *r)
{
	const cJSON *f = cJSON_GetObjectItem(r, "failed");
	const cJSON *pid = cJSON_GetArrayItem(cJSON_GetObjectItem(f, "pid"), 0);
	const cJSON *pause = cJSON_GetObjectItem(r, "pause");

	if (f)
		printf("failed at instruction %.0f (%s), module %s, process "
		       "%s\n",
		       num(f, "index"), str(f, "instruction"),
		       *str(f, "module") ? str(f, "module") : "-",
		       cJSON_IsString(pid) ? pid->valuestring : "-");
	if (cJSON_IsTrue(cJSON_GetObjectItem(r, "rolled_back")))
		printf("rolled back in %.3f ms (total %.3f ms); %.0f processes "
		       "paused: max %.3f ms, p99 %.3f ms\n",
		       num(r, "rollback_ms"), num(r, "total_ms"),
		       num(pause, "processes"), num(pause, "max_ms"),
		       num(pause, "p99_ms"));
	else
		printf("nothing changed (total %.3f ms)\n", num(r, "total_ms"));
}

void molt__eval_print(const cJSON *reply)
{
	int ok = cJSON_IsTrue(cJSON_GetObjectItem(reply, "ok"));
	const cJSON *r = ok ? reply : cJSON_GetObjectItem(reply, "report");
	const cJSON *s, *pause = cJSON_GetObjectItem(r, "pause");
	int dry = cJSON_IsTrue(cJSON_GetObjectItem(r, "dry_run"));

	if (!r)
		return; /* refused before evaluating: the error says it all */

	printf("%-4s %-20s %-24s %10s %10s\n", "#", "INSTRUCTION", "MODULES",
	       "PROCESSES", "MS");
	cJSON_ArrayForEach(s, cJSON_GetObjectItem(r, "steps"))
	{
		printf("%-4.0f %-20s %-24s %10.0f %10.3f\n", num(s, "index"),
		       str(s, "instruction"), str(s, "modules"),
		       num(s, "processes"), num(s, "ms"));
	}
	if (!ok) {
		eval_print_failed(r);
		return;
	}
	if (dry) {
		eval_print_planned(r);
		printf("dry run: checks passed, nothing changed; suspend would "
		       "touch %.0f processes\n",
		       num(r, "would_suspend_count"));
		return;
	}
	printf("committed in %.3f ms; %.0f processes paused: max %.3f ms, "
	       "p99 %.3f ms, mean %.3f ms; %.0f killed\n",
	       num(r, "total_ms"), num(pause, "processes"),
	       num(pause, "max_ms"), num(pause, "p99_ms"),
	       num(pause, "mean_ms"), num(r, "killed"));
	cJSON_ArrayForEach(s, cJSON_GetObjectItem(r, "unpurged"))
		printf("old code of %s still in use (PostPurge %s)\n",
		       str(s, "module"), str(s, "post_purge"));
}

int molt__cmd_eval(molt_cli *cli, int argc, char **argv)
{
	molt_err err = MOLT_ERR_INIT;
	eval_args a;
	cJSON *script, *req, *r;
	int rc;

	if ((rc = eval_parse_args(cli, argc, argv, &a)) != MOLT_EXIT_OK)
		return rc;
	if (!(script = eval_read_script(a.file, &err)))
		return molt__cli_fail(cli, &err);
	if (!(req = eval_request(cli, &a, script, &err)))
		return molt__cli_fail(cli, &err);
	rc = molt__ctlclient_verb_report(cli, req, &r, EVAL_TIMEOUT);
	if (r)
		molt__eval_print(r);
	cJSON_Delete(r);
	return rc;
}
