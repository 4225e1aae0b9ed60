/* molt upgrade BUNDLE: unpack, install, watch the node, then make the
 * release permanent or roll back by itself (docs/releases.md). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "molt/buf.h"
#include "molt/common.h"
#include "molt/release.h"

#include "cli.h"
#include "ctlclient.h"

#include "molt/banned.h"

#define UPGRADE_USAGE                                                          \
	"usage: molt upgrade BUNDLE [--permanent] [--health 'NAME PAYLOAD' "   \
	"[--expect REPLY]] [--health-cmd COMMAND] [--watch SECONDS] "          \
	"[--interval MS] [--hung-ms MS]"
#define OP_TIMEOUT    600000u /* install, rollback, permanent */
#define CHECK_TIMEOUT 5000u   /* one health check */

typedef struct upgrade_args {
	const char *bundle;
	int permanent;	      /* --permanent: make it permanent if healthy */
	const char *call;     /* --health "NAME PAYLOAD" */
	const char *expect;   /* --expect: the reply the call must give */
	const char *cmd;      /* --health-cmd: a shell command */
	unsigned watch_s;     /* --watch: seconds to watch (default 10 with
				 a check, else 0) */
	unsigned interval_ms; /* --interval: between checks (500) */
	unsigned hung_ms;     /* --hung-ms: a callback running this long
				 fails the watch (2000) */
	int watch_given;      /* --watch was on the command line */
} upgrade_args;

/* What happened, for the summary and --json. */
typedef struct outcome {
	char from[128];	  /* the release the node ran */
	char to[128];	  /* the release installed */
	cJSON *install;	  /* moltd's install reply (owned) */
	unsigned checks;  /* health checks that passed */
	char failed[512]; /* why the watch failed, or "" */
	int rolled_back;  /* the node was put back on from */
	int permanent;	  /* to was made permanent */
	double node_pid;  /* moltd's pid when the install ran */
} outcome;

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int parse_args(molt_cli *cli, int argc, char **argv, upgrade_args *a)
{
	memset(a, 0, sizeof(*a));
	a->interval_ms = 500;
	a->hung_ms = 2000;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int bad = 0;

		if (strcmp(o, "--permanent") == 0) {
			a->permanent = 1;
			continue;
		}
		if (o[0] != '-') {
			if (a->bundle)
				return molt__cli_usage(cli,
						       "unexpected '%s'\n%s", o,
						       UPGRADE_USAGE);
			a->bundle = o;
			continue;
		}
		if (!v)
			return molt__cli_usage(cli, "%s needs a value\n%s", o,
					       UPGRADE_USAGE);
		i++;
		if (strcmp(o, "--health") == 0)
			a->call = v;
		else if (strcmp(o, "--expect") == 0)
			a->expect = v;
		else if (strcmp(o, "--health-cmd") == 0)
			a->cmd = v;
		else if (strcmp(o, "--watch") == 0)
			bad = parse_uint(v, 86400, &a->watch_s),
			a->watch_given = 1;
		else if (strcmp(o, "--interval") == 0)
			bad = parse_uint(v, 600000, &a->interval_ms) ||
			      a->interval_ms < 10;
		else if (strcmp(o, "--hung-ms") == 0)
			bad = parse_uint(v, 86400000, &a->hung_ms) ||
			      a->hung_ms < 100;
		else
			return molt__cli_usage(cli, "unknown option '%s'\n%s",
					       o, UPGRADE_USAGE);
		if (bad)
			return molt__cli_usage(cli, "bad value '%s' for %s", v,
					       o);
	}
	if (!a->bundle)
		return molt__cli_usage(cli, "no bundle\n%s", UPGRADE_USAGE);
	if (a->call && !strchr(a->call, ' '))
		return molt__cli_usage(cli,
				       "--health takes 'NAME PAYLOAD', e.g. "
				       "--health 'kvs_server PING'");
	if (a->expect && !a->call)
		return molt__cli_usage(cli, "--expect goes with --health");
	if (!a->watch_given && (a->call || a->cmd))
		a->watch_s = 10;
	return MOLT_EXIT_OK;
}

/* --- talking to moltd --- */

/* One request; *out is the reply (owned) when MOLT_OK, the error in err
 * otherwise (also when moltd answers with an error: then *out is that
 * reply too). */
static int ask(const char *root, cJSON *req, uint32_t timeout_ms, cJSON **out,
	       molt_err *err)
{
	int rc;

	*out = NULL;
	rc = molt__ctlclient_request(out, NULL, root, req, timeout_ms, err);
	cJSON_Delete(req);
	if (rc < 0)
		return rc;
	return molt__ctlclient_reply_error(*out, err);
}

static cJSON *op(const char *name, const char *vsn)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "op", name);
	if (vsn)
		cJSON_AddStringToObject(o, "vsn", vsn);
	return o;
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItem(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *str(const cJSON *o, const char *k)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(o, k));

	return s ? s : "";
}

/* --- the health check --- */

/* The call check: NAME PAYLOAD must get a reply (and the expected one). */
static int check_call(const char *root, const upgrade_args *a, char *why,
		      size_t size)
{
	const char *sp = strchr(a->call, ' ');
	char name[128];
	cJSON *req = op("call", NULL), *r = NULL;
	molt_err err = MOLT_ERR_INIT;
	int rc;

	snprintf(name, sizeof(name), "%.*s", (int)(sp - a->call), a->call);
	cJSON_AddStringToObject(req, "to", name);
	cJSON_AddStringToObject(req, "payload", sp + 1);
	cJSON_AddNumberToObject(req, "timeout", CHECK_TIMEOUT);
	rc = ask(root, req, CHECK_TIMEOUT + 1000, &r, &err);
	if (rc < 0)
		snprintf(why, size, "molt call %s: %s", a->call, err.msg);
	else if (a->expect && strcmp(str(r, "reply"), a->expect) != 0) {
		snprintf(why, size,
			 "molt call %s: replied '%.100s', expected "
			 "'%.100s'",
			 a->call, str(r, "reply"), a->expect);
		rc = MOLT_ERROR;
	}
	cJSON_Delete(r);
	return rc;
}

/* The command check: sh -c COMMAND must exit 0 within CHECK_TIMEOUT, with
 * MOLT_ROOT set to the root. */
static int check_cmd(const char *root, const upgrade_args *a, char *why,
		     size_t size)
{
	struct timespec t0, now;
	pid_t pid;
	int st = 0;

	fflush(NULL);
	if ((pid = fork()) < 0) {
		snprintf(why, size, "fork: %s", strerror(errno));
		return MOLT_EIO;
	}
	if (pid == 0) {
		setenv("MOLT_ROOT", root, 1);
		execl("/bin/sh", "sh", "-c", a->cmd, (char *)NULL);
		_exit(127);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - t0.tv_sec) * 1000 +
			    (now.tv_nsec - t0.tv_nsec) / 1000000 >
		    CHECK_TIMEOUT) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			snprintf(why, size,
				 "health command '%s': no exit "
				 "within %u ms",
				 a->cmd, CHECK_TIMEOUT);
			return MOLT_ETIMEOUT;
		}
		usleep(10000);
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return MOLT_OK;
	if (WIFEXITED(st))
		snprintf(why, size, "health command '%s' exited with %d",
			 a->cmd, WEXITSTATUS(st));
	else
		snprintf(why, size,
			 "health command '%s' was killed by "
			 "signal %d",
			 a->cmd, WTERMSIG(st));
	return MOLT_ERROR;
}

/* The node itself: still the same moltd, and no callback stuck. */
static int check_node(const char *root, const upgrade_args *a, const outcome *o,
		      char *why, size_t size)
{
	molt_err err = MOLT_ERR_INIT;
	cJSON *r = NULL;
	const cJSON *cb;
	int rc = ask(root, op("status", NULL), CHECK_TIMEOUT, &r, &err);

	if (rc < 0) {
		snprintf(why, size, "the node stopped answering: %s", err.msg);
		return rc;
	}
	cb = cJSON_GetObjectItem(r, "longest_callback");
	if (num(r, "pid") != o->node_pid) {
		snprintf(why, size,
			 "the node restarted (moltd pid %.0f, "
			 "then %.0f)",
			 o->node_pid, num(r, "pid"));
		rc = MOLT_ERROR;
	} else if (cb && num(cb, "running_ms") >= a->hung_ms) {
		snprintf(why, size,
			 "a callback hangs: %s of %s %s (%s %s) "
			 "has run for %.0f ms",
			 str(cb, "callback"), str(cb, "pid"), str(cb, "module"),
			 str(cb, "module"), str(cb, "vsn"),
			 num(cb, "running_ms"));
		rc = MOLT_ERROR;
	}
	cJSON_Delete(r);
	return rc;
}

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* Watch the node for a->watch_s seconds; 0 if it stayed healthy, else
 * o->failed says why. */
static int watch(molt_cli *cli, const char *root, const upgrade_args *a,
		 outcome *o)
{
	uint64_t end = now_ms() + (uint64_t)a->watch_s * 1000;
	char why[sizeof(o->failed)];

	if (!a->watch_s)
		return MOLT_OK;
	molt__cli_progress(cli, "upgrade: watching the node for %u s%s%s%s",
			   a->watch_s, a->call ? ": molt call " : "",
			   a->call ? a->call : "",
			   a->cmd ? " and the health command" : "");
	do {
		why[0] = 0;
		if (check_node(root, a, o, why, sizeof(why)) < 0 ||
		    (a->call && check_call(root, a, why, sizeof(why)) < 0) ||
		    (a->cmd && check_cmd(root, a, why, sizeof(why)) < 0)) {
			snprintf(o->failed, sizeof(o->failed), "%s", why);
			return MOLT_ERROR;
		}
		o->checks++;
		usleep(a->interval_ms * 1000u);
	} while (now_ms() < end);
	molt__cli_progress(cli, "upgrade: healthy for %u s (%u checks)",
			   a->watch_s, o->checks);
	return MOLT_OK;
}

/* --- the steps --- */

static void on_progress(const char *step, double ms, void *payload)
{
	molt__cli_progress(payload, "upgrade: %s (%.0f ms)", step, ms);
}

/* The bundle's release in the root: unpacked now, or there already
 * (unpacked or old: an upgrade may be tried again). */
static int unpack(molt_cli *cli, const char *root, const char *bundle,
		  outcome *o, molt_err *err)
{
	molt_unpack_options uo = MOLT_UNPACK_OPTIONS_INIT;
	molt_unpack_result ur;
	int rc;

	uo.sync = 1;
	uo.progress = on_progress;
	uo.payload = cli;
	rc = molt_release_unpack(&ur, root, bundle, &uo, err);
	if (rc == MOLT_OK) {
		molt__cli_unpack_note(cli, root, bundle, &ur);
		snprintf(o->to, sizeof(o->to), "%s", ur.vsn);
		return MOLT_OK;
	}
	if (rc != MOLT_EEXISTS)
		return rc;
	/* "release V is already in ROOT (STATUS)": install it again */
	if (sscanf(err->msg, "release %127s is already in", o->to) != 1 ||
	    strstr(err->msg, "(current)") || strstr(err->msg, "(permanent)"))
		return rc;
	molt__cli_progress(cli, "upgrade: release %s is already unpacked",
			   o->to);
	return MOLT_OK;
}

static int install(molt_cli *cli, const char *root, outcome *o, molt_err *err)
{
	cJSON *status = NULL, *pause;
	int rc;

	if ((rc = ask(root, op("status", NULL), CHECK_TIMEOUT, &status, err)) <
	    0) {
		cJSON_Delete(status);
		return rc;
	}
	o->node_pid = num(status, "pid");
	snprintf(o->from, sizeof(o->from), "%s",
		 str(cJSON_GetObjectItem(status, "release"), "vsn"));
	cJSON_Delete(status);
	rc = ask(root, op("install", o->to), OP_TIMEOUT, &o->install, err);
	if (rc < 0)
		return rc;
	pause = cJSON_GetObjectItem(o->install, "pause");
	molt__cli_progress(cli,
			   "upgrade: installed %s -> %s in %.1f ms; %.0f "
			   "processes paused, longest %.3f ms",
			   o->from, o->to, num(o->install, "total_ms"),
			   num(pause, "processes"), num(pause, "max_ms"));
	return MOLT_OK;
}

/* Back to the release that ran before (the permanent one, in the
 * documented flow), by the down script; a node that restarted is on its
 * permanent release already. */
static void roll_back(molt_cli *cli, const char *root, outcome *o)
{
	molt_err err = MOLT_ERR_INIT;
	cJSON *r = NULL;
	int rc = ask(root, op("status", NULL), CHECK_TIMEOUT, &r, &err);

	if (rc == MOLT_OK && num(r, "pid") != o->node_pid) {
		molt__cli_progress(
			cli,
			"upgrade: the node restarted into "
			"release %s",
			str(cJSON_GetObjectItem(r, "release"), "vsn"));
		cJSON_Delete(r);
		o->rolled_back = 1;
		return;
	}
	cJSON_Delete(r);
	if (rc < 0) {
		molt__cli_progress(cli,
				   "upgrade: the node is down; it boots "
				   "its permanent release when it restarts");
		return;
	}
	rc = ask(root, op("install", o->from), OP_TIMEOUT, &r, &err);
	if (rc == MOLT_OK) {
		o->rolled_back = 1;
		molt__cli_progress(cli, "upgrade: rolled back to %s in %.1f ms",
				   o->from, num(r, "total_ms"));
	} else {
		molt__cli_progress(cli, "upgrade: rollback to %s failed: %s",
				   o->from, err.msg);
	}
	cJSON_Delete(r);
}

static int make_permanent(molt_cli *cli, const char *root, outcome *o,
			  molt_err *err)
{
	cJSON *r = NULL;
	int rc = ask(root, op("permanent", o->to), OP_TIMEOUT, &r, err);

	cJSON_Delete(r);
	if (rc == MOLT_OK) {
		o->permanent = 1;
		molt__cli_progress(cli, "upgrade: %s is permanent", o->to);
	}
	return rc;
}

static void print_json(const outcome *o, const molt_err *err)
{
	cJSON *j = cJSON_CreateObject(), *h;

	cJSON_AddBoolToObject(j, "ok", !err->code && !o->failed[0]);
	cJSON_AddStringToObject(j, "from", o->from);
	cJSON_AddStringToObject(j, "to", o->to);
	if (o->install)
		cJSON_AddItemReferenceToObject(j, "install", o->install);
	h = cJSON_AddObjectToObject(j, "health");
	cJSON_AddNumberToObject(h, "checks", o->checks);
	if (o->failed[0])
		cJSON_AddStringToObject(h, "failed", o->failed);
	cJSON_AddBoolToObject(j, "rolled_back", o->rolled_back);
	cJSON_AddBoolToObject(j, "permanent", o->permanent);
	if (err->code) {
		h = cJSON_AddObjectToObject(j, "error");
		cJSON_AddStringToObject(h, "message", err->msg);
	}
	molt__cli_json_print(j);
}

static int finish(molt_cli *cli, outcome *o, molt_err *err)
{
	int rc = err->code || o->failed[0] ? MOLT_EXIT_FAILED : MOLT_EXIT_OK;

	if (cli->json)
		print_json(o, err);
	else if (o->failed[0])
		fprintf(stderr, "molt upgrade: release %s failed: %s; %s\n",
			o->to, o->failed,
			o->rolled_back ? "rolled back" : "NOT rolled back");
	else if (err->code)
		molt__cli_fail(cli, err);
	else
		printf("release %s runs%s\n", o->to,
		       o->permanent ? " and is permanent" : " (current)");
	cJSON_Delete(o->install);
	return rc;
}

int molt__cmd_upgrade(molt_cli *cli, int argc, char **argv)
{
	molt_err err = MOLT_ERR_INIT;
	upgrade_args a;
	outcome o;
	const char *root;
	int rc;

	if ((rc = parse_args(cli, argc, argv, &a)) != MOLT_EXIT_OK ||
	    (rc = molt__cli_need_root(cli, &root)) != MOLT_EXIT_OK)
		return rc;
	memset(&o, 0, sizeof(o));
	if (unpack(cli, root, a.bundle, &o, &err) < 0 ||
	    install(cli, root, &o, &err) < 0)
		return finish(cli, &o, &err);
	if (watch(cli, root, &a, &o) < 0) {
		molt__cli_progress(cli, "upgrade: %s", o.failed);
		roll_back(cli, root, &o);
		return finish(cli, &o, &err);
	}
	if (a.permanent)
		make_permanent(cli, root, &o, &err);
	return finish(cli, &o, &err);
}
