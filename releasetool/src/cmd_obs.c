/* molt top | metrics | events | history: watch a running moltd. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "ctlclient.h"

#include "molt/banned.h"

#define CTL_TIMEOUT  30000u
#define TOP_LIMIT    20
#define HISTORY_FILE "log/upgrades.jsonl"

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* One request, no printing: the reply (owned) or NULL with err set. */
static cJSON *ask(molt_cli *cli, cJSON *req, molt_err *err)
{
	const char *root;
	cJSON *reply = NULL;
	int rc;

	if (molt__cli_need_root(cli, &root) != MOLT_EXIT_OK) {
		cJSON_Delete(req);
		molt_err_set(err, MOLT_EINVAL, "no root");
		return NULL;
	}
	rc = molt__ctlclient_request(&reply, NULL, root, req, CTL_TIMEOUT, err);
	cJSON_Delete(req);
	if (rc < 0)
		return NULL;
	if (molt__ctlclient_reply_error(reply, err) < 0) {
		cJSON_Delete(reply);
		return NULL;
	}
	return reply;
}

/* --- top --- */

typedef struct top_opts {
	const char *sort; /* callback, messages, memory, queue */
	long limit;	  /* rows */
	long interval_ms; /* between refreshes */
	long count;	  /* refreshes, 0: until interrupted */
	int once;	  /* --once */
} top_opts;

/* The same process in the previous snapshot, or NULL. */
static const cJSON *find_pid(const cJSON *prev, const char *pid)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, cJSON_GetObjectItem(prev, "processes"))
	{
		if (strcmp(molt__cli_str(p, "pid"), pid) == 0)
			return p;
	}
	return NULL;
}

static void top_header(const cJSON *r, const cJSON *prev, double dt)
{
	const cJSON *n = cJSON_GetObjectItem(r, "node"), *s;
	const cJSON *pn = prev ? cJSON_GetObjectItem(prev, "node") : NULL;
	double rate = pn && dt > 0 ? (molt__cli_num(n, "messages") -
				      molt__cli_num(pn, "messages")) /
					     dt
				   : 0;

	printf("molt top: %.0f processes, up %.1f s, %.0f messages "
	       "(%.0f/s), %.0f queued, %.0f heap bytes, sorted by %s\n",
	       molt__cli_num(n, "processes"),
	       molt__cli_num(n, "uptime_ms") / 1000,
	       molt__cli_num(n, "messages"), rate, molt__cli_num(n, "queued"),
	       molt__cli_num(n, "heap_bytes"), molt__cli_str(r, "sort"));
	printf("upgrades %.0f, rollbacks %.0f, last pause max %.3f ms; "
	       "%.0f on old code, %.0f suspended; scan %.1f ms "
	       "(longest lock hold %.1f us)\n",
	       molt__cli_num(n, "upgrades"), molt__cli_num(n, "rollbacks"),
	       molt__cli_num(n, "last_pause_max_ms"),
	       molt__cli_num(n, "old_code"), molt__cli_num(n, "suspended"),
	       molt__cli_num(n, "scan_ms"), molt__cli_num(n, "hold_max_us"));
	cJSON_ArrayForEach(s, cJSON_GetObjectItem(r, "schedulers"))
	{
		double busy = molt__cli_num(s, "busy_ms"),
		       idle = molt__cli_num(s, "idle_ms");
		double util = busy + idle > 0 ? 100 * busy / (busy + idle) : 0;

		printf("  sched %-3.0f %5.1f%% busy  queue %-6.0f steals "
		       "%-8.0f messages %.0f\n",
		       molt__cli_num(s, "id"), util, molt__cli_num(s, "queue"),
		       molt__cli_num(s, "steals"),
		       molt__cli_num(s, "messages"));
	}
}

static void top_rows(const cJSON *r, const cJSON *prev, double dt)
{
	const cJSON *p;

	printf("%-12s %-12s %-12s %-8s %10s %8s %12s %9s %6s %7s %9s\n", "PID",
	       "NAME", "MODULE", "VSN", "MESSAGES", "MSG/S", "~CB_MS",
	       "CB_MAX_MS", "QUEUE", "Q_MAX", "HEAP");
	cJSON_ArrayForEach(p, cJSON_GetObjectItem(r, "processes"))
	{
		const cJSON *q =
			prev ? find_pid(prev, molt__cli_str(p, "pid")) : NULL;
		double rate = q && dt > 0 ? (molt__cli_num(p, "reductions") -
					     molt__cli_num(q, "reductions")) /
						    dt
					  : 0;

		char cb[32];

		/* an estimate from sampled turns: "?" until there are a few */
		if (molt__cli_num(p, "callback_samples") < 4 &&
		    molt__cli_num(p, "callback_ms") > 0)
			snprintf(cb, sizeof(cb), "?%.3f",
				 molt__cli_num(p, "callback_ms"));
		else
			snprintf(cb, sizeof(cb), "%.3f",
				 molt__cli_num(p, "callback_ms"));
		printf("%-12s %-12.12s %-12.12s %-8.8s %10.0f %8.0f %12s "
		       "%9.3f %6.0f %7.0f %9.0f%s\n",
		       molt__cli_str(p, "pid"),
		       *molt__cli_str(p, "name") ? molt__cli_str(p, "name")
						 : "-",
		       molt__cli_str(p, "module"), molt__cli_str(p, "vsn"),
		       molt__cli_num(p, "reductions"), rate, cb,
		       molt__cli_num(p, "callback_max_ms"),
		       molt__cli_num(p, "queue"), molt__cli_num(p, "queue_max"),
		       molt__cli_num(p, "heap_bytes"),
		       cJSON_IsTrue(cJSON_GetObjectItem(p, "old_code")) ? " old"
									: "");
	}
}

static int top_args(molt_cli *cli, int argc, char **argv, top_opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--once") == 0) {
			o->once = 1;
		} else if (strcmp(a, "--sort") == 0 && v) {
			o->sort = argv[++i];
		} else if ((strcmp(a, "-n") == 0 || !strcmp(a, "--limit")) &&
			   v) {
			o->limit = strtol(argv[++i], NULL, 10);
			if (o->limit < 1 || o->limit > 1000)
				return molt__cli_usage(cli, "-n needs 1..1000");
		} else if (strcmp(a, "--interval") == 0 && v) {
			o->interval_ms =
				(long)(strtod(argv[++i], NULL) * 1000.0);
			if (o->interval_ms < 100 || o->interval_ms > 3600000)
				return molt__cli_usage(
					cli, "--interval needs 0.1..3600 s");
		} else if (strcmp(a, "--count") == 0 && v) {
			o->count = strtol(argv[++i], NULL, 10);
			if (o->count < 1)
				return molt__cli_usage(cli,
						       "--count needs >= 1");
		} else {
			return molt__cli_usage(
				cli, "usage: top [--once] [--sort callback|"
				     "messages|memory|queue] [-n N] "
				     "[--interval S] [--count N]");
		}
	}
	return MOLT_EXIT_OK;
}

/* Live mode on a terminal: keys change the sort without Enter. */
static struct termios saved_tio;
static int tio_saved;

static void tio_restore(void)
{
	if (tio_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
}

static void tio_on_signal(int sig)
{
	tio_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void tio_keys(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio) != 0)
		return;
	t = saved_tio;
	t.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) != 0)
		return;
	tio_saved = 1;
	atexit(tio_restore);
	signal(SIGINT, tio_on_signal);
	signal(SIGTERM, tio_on_signal);
}

/* Wait ms for a key: c, m, h, l sort by callback, messages, heap, queue
 * length; q quits (returns 1). */
static int top_wait(top_opts *o, unsigned ms)
{
	struct pollfd pfd = {STDIN_FILENO, POLLIN, 0};
	char c;

	if (!tio_saved) {
		sleep_ms(ms);
		return 0;
	}
	if (poll(&pfd, 1, (int)ms) <= 0 || read(STDIN_FILENO, &c, 1) != 1)
		return 0;
	if (c == 'q')
		return 1;
	o->sort = c == 'm'   ? "messages"
		  : c == 'h' ? "memory"
		  : c == 'l' ? "queue"
		  : c == 'c' ? "callback"
			     : o->sort;
	return 0;
}

static cJSON *top_request(const top_opts *o)
{
	cJSON *req = cJSON_CreateObject();

	cJSON_AddStringToObject(req, "op", "top");
	cJSON_AddStringToObject(req, "sort", o->sort);
	cJSON_AddNumberToObject(req, "limit", (double)o->limit);
	return req;
}

int molt__cmd_top(molt_cli *cli, int argc, char **argv)
{
	top_opts o = {"callback", TOP_LIMIT, 2000, 0, 0};
	molt_err err = MOLT_ERR_INIT;
	cJSON *prev = NULL, *r;
	int rc = top_args(cli, argc, argv, &o);
	int tty = isatty(STDOUT_FILENO);
	double then = mono_s(), now;

	if (rc != MOLT_EXIT_OK)
		return rc;
	if (o.once)
		o.count = 1;
	if (tty && !o.once && !cli->json)
		tio_keys();
	for (long k = 0; !o.count || k < o.count; k++) {
		if (k && top_wait(&o, (unsigned)o.interval_ms))
			break;
		if (!(r = ask(cli, top_request(&o), &err))) {
			cJSON_Delete(prev);
			return molt__cli_fail(cli, &err);
		}
		if (cli->json) {
			molt__cli_json_print(r);
			fflush(stdout);
			continue;
		}
		if (tty && !o.once)
			printf("\033[H\033[2J"); /* home, clear */
		now = mono_s();
		top_header(r, prev, now - then);
		top_rows(r, prev, now - then);
		then = now;
		if (tio_saved)
			printf("keys: c callback, m messages, h heap, l queue "
			       "length, q quit\n");
		fflush(stdout);
		cJSON_Delete(prev);
		prev = r;
	}
	cJSON_Delete(prev);
	return MOLT_EXIT_OK;
}

/* --- metrics --- */

int molt__cmd_metrics(molt_cli *cli, int argc, char **argv)
{
	cJSON *req = cJSON_CreateObject(), *r;
	int rc;

	(void)argv;
	if (argc != 1) {
		cJSON_Delete(req);
		return molt__cli_usage(cli, "usage: metrics");
	}
	cJSON_AddStringToObject(req, "op", "metrics");
	rc = molt__ctlclient_verb(cli, req, &r, CTL_TIMEOUT);
	if (r)
		fputs(molt__cli_str(r, "text"), stdout);
	cJSON_Delete(r);
	return rc;
}

/* --- events --- */

static void print_event(const cJSON *e)
{
	time_t t = (time_t)(molt__cli_num(e, "time_ms") / 1000);
	struct tm tm;
	char when[32];

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%s #%.0f %-13s %s\n", when, molt__cli_num(e, "seq"),
	       molt__cli_str(e, "kind"), molt__cli_str(e, "text"));
}

int molt__cmd_events(molt_cli *cli, int argc, char **argv)
{
	molt_err err = MOLT_ERR_INIT;
	double since = 0;
	int follow = 0;
	const cJSON *e;
	cJSON *req, *r;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--follow") == 0 ||
		    strcmp(argv[i], "-f") == 0)
			follow = 1;
		else
			return molt__cli_usage(cli, "usage: events [--follow]");
	}
	for (;;) {
		req = cJSON_CreateObject();
		cJSON_AddStringToObject(req, "op", "events");
		cJSON_AddNumberToObject(req, "since", since);
		if (!(r = ask(cli, req, &err)))
			return molt__cli_fail(cli, &err);
		cJSON_ArrayForEach(e, cJSON_GetObjectItem(r, "events"))
		{
			if (cli->json) {
				char *s = cJSON_PrintUnformatted(e);

				printf("%s\n", s ? s : "{}");
				cJSON_free(s);
			} else {
				print_event(e);
			}
		}
		fflush(stdout);
		since = molt__cli_num(r, "next");
		cJSON_Delete(r);
		if (!follow)
			return MOLT_EXIT_OK;
		sleep_ms(250);
	}
}

/* --- history --- */

static void print_history(const cJSON *h)
{
	const cJSON *pause = cJSON_GetObjectItem(h, "pause");
	const cJSON *f = cJSON_GetObjectItem(h, "failure");

	printf("%-24s %-8s %-10s %-10s %-11s %8.0f %10.3f %10.3f%s%s\n",
	       molt__cli_str(h, "time"), molt__cli_str(h, "op"),
	       *molt__cli_str(h, "from") ? molt__cli_str(h, "from") : "-",
	       *molt__cli_str(h, "to") ? molt__cli_str(h, "to") : "-",
	       molt__cli_str(h, "outcome"), molt__cli_num(pause, "processes"),
	       molt__cli_num(pause, "max_ms"), molt__cli_num(h, "total_ms"),
	       f ? "  " : "", f ? molt__cli_str(f, "message") : "");
}

int molt__cmd_history(molt_cli *cli, int argc, char **argv)
{
	const char *root;
	char path[4096], line[65536];
	FILE *fp;
	int rc;

	(void)argv;
	if (argc != 1)
		return molt__cli_usage(cli, "usage: history");
	if ((rc = molt__cli_need_root(cli, &root)) != MOLT_EXIT_OK)
		return rc;
	snprintf(path, sizeof(path), "%s/" HISTORY_FILE, root);
	fp = fopen(path, "r");
	if (!fp && errno != ENOENT) {
		molt_err err = MOLT_ERR_INIT;

		molt_err_set(&err, MOLT_EIO, "cannot read %s: %s", path,
			     strerror(errno));
		return molt__cli_fail(cli, &err);
	}
	if (!cli->json)
		printf("%-24s %-8s %-10s %-10s %-11s %8s %10s %10s\n", "TIME",
		       "OP", "FROM", "TO", "OUTCOME", "PAUSED", "MAX_MS",
		       "TOTAL_MS");
	while (fp && fgets(line, sizeof(line), fp)) {
		cJSON *h = cJSON_Parse(line);

		if (cli->json)
			fputs(line, stdout);
		else if (h)
			print_history(h);
		cJSON_Delete(h);
	}
	if (fp)
		fclose(fp);
	return MOLT_EXIT_OK;
}

/* --- trace --- */

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static int trace_args(molt_cli *cli, int argc, char **argv, cJSON *req)
{
	int target = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--module") == 0 && v) {
			cJSON_AddStringToObject(req, "module", argv[++i]);
			target++;
		} else if ((strcmp(a, "--limit") == 0 ||
			    strcmp(a, "--rate") == 0 ||
			    strcmp(a, "--time") == 0) &&
			   v) {
			long n = strtol(argv[++i], NULL, 10);

			if (n < 1)
				return molt__cli_usage(cli, "%s needs >= 1", a);
			cJSON_AddNumberToObject(req,
						a[2] == 't' ? "seconds" : a + 2,
						(double)n);
		} else if (a[0] != '-' && !target) {
			cJSON_AddStringToObject(req, "to", a);
			target++;
		} else {
			target = 2;
		}
	}
	if (target != 1)
		return molt__cli_usage(
			cli, "usage: trace NAME|PID | --module MOD [--limit "
			     "N] [--rate N] [--time S]");
	return MOLT_EXIT_OK;
}

int molt__cmd_trace(molt_cli *cli, int argc, char **argv)
{
	molt_err err = MOLT_ERR_INIT;
	cJSON *req = cJSON_CreateObject(), *r;
	const cJSON *l;
	double since = 0;
	int rc, on = 1;

	cJSON_AddStringToObject(req, "op", "trace");
	if ((rc = trace_args(cli, argc, argv, req)) != MOLT_EXIT_OK) {
		cJSON_Delete(req);
		return rc;
	}
	if (!(r = ask(cli, req, &err)))
		return molt__cli_fail(cli, &err);
	since = molt__cli_num(r, "since");
	cJSON_Delete(r);
	signal(SIGINT, on_sigint);
	while (on) {
		req = cJSON_CreateObject();
		cJSON_AddStringToObject(
			req, "op", interrupted ? "trace_stop" : "trace_read");
		cJSON_AddNumberToObject(req, "since", since);
		interrupted = 0;
		if (!(r = ask(cli, req, &err)))
			return molt__cli_fail(cli, &err);
		cJSON_ArrayForEach(l, cJSON_GetObjectItem(r, "lines"))
		{
			if (cJSON_IsString(l))
				printf("%s\n", l->valuestring);
		}
		fflush(stdout);
		if (cJSON_GetObjectItem(r, "next")) {
			since = molt__cli_num(r, "next");
			on = cJSON_IsTrue(cJSON_GetObjectItem(r, "on"));
		}
		cJSON_Delete(r);
		if (on)
			sleep_ms(200);
	}
	return MOLT_EXIT_OK;
}
