/* Helpers for the upgrade suites. */
#include "upg_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "rt_util.h"

#include "molt/banned.h"

/* Options with BUILD/fixtures as search path (static storage). */
static molt_eval_options *options(int dry_run)
{
	static char dir[4096];
	static const char *path[] = {dir, NULL};
	static molt_eval_options o;
	const char *b = getenv("MOLT_BUILD_DIR");

	snprintf(dir, sizeof(dir), "%s/fixtures", b && *b ? b : MOLT_BUILD_DIR);
	o = (molt_eval_options)MOLT_EVAL_OPTIONS_INIT;
	o.search_path = path;
	o.dry_run = dry_run;
	return &o;
}

int upg_eval(molt_runtime *rt, const char *script, int dry_run,
	     molt_eval_report *report, molt_err *err)
{
	return molt_runtime_eval(rt, script, options(dry_run), report, err);
}

int upg_eval_script(molt_runtime *rt, const molt_script *script, int dry_run,
		    molt_eval_report *report, molt_err *err)
{
	return molt_runtime_eval_script(rt, script, options(dry_run), report,
					err);
}

void upg_eval_ok(molt_runtime *rt, const char *script)
{
	molt_eval_report r;
	molt_err err = MOLT_ERR_INIT;
	int rc = upg_eval(rt, script, 0, &r, &err);

	ck_assert_msg(rc == MOLT_OK, "eval: %s", err.msg);
	ck_assert_int_eq(r.ok, 1);
	molt_eval_report_release(&r);
}

const char *upg_vsn(molt_runtime *rt, molt_pid pid)
{
	static molt_proc_info pi;

	if (molt_runtime_process_info(rt, pid, &pi) != MOLT_OK)
		return "";
	return pi.vsn;
}

static molt_module_info *find_module(molt_runtime *rt, const char *name)
{
	static molt_module_info mi[64];
	size_t n = molt_runtime_modules(rt, mi, 64);

	for (size_t i = 0; i < n && i < 64; i++)
		if (strcmp(mi[i].name, name) == 0)
			return &mi[i];
	return NULL;
}

const char *upg_current(molt_runtime *rt, const char *module)
{
	molt_module_info *m = find_module(rt, module);

	return m ? m->current_vsn : "";
}

unsigned upg_old_procs(molt_runtime *rt, const char *module)
{
	molt_module_info *m = find_module(rt, module);

	return m ? m->old_procs : 0;
}

void upg_spawn_counters(molt_runtime *rt, molt_pid *pids, const long *counts,
			size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char a[32];

		snprintf(a, sizeof(a), "%ld", counts[i]);
		pids[i] = rt_spawn(rt, "counter", a);
	}
}

void upg_check_counters(molt_runtime *rt, const molt_pid *pids,
			const long *counts, size_t n, const char *vsn)
{
	for (size_t i = 0; i < n; i++) {
		const char *got = rt_call(rt, pids[i], "get");

		ck_assert_msg(strtol(got, NULL, 10) == counts[i],
			      "counter %zu: got %s, want %ld", i, got,
			      counts[i]);
		ck_assert_msg(strcmp(upg_vsn(rt, pids[i]), vsn) == 0,
			      "counter %zu runs %s, want %s", i,
			      upg_vsn(rt, pids[i]), vsn);
	}
}
