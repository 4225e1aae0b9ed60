/* The control op "eval": run or dry-run a script, reply with the report. */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "molt/common.h"
#include "molt/runtime.h"
#include "molt/script.h"

#include "ctl.h"

#include "molt/banned.h"

#define MAX_PATH_DIRS 16
#define MAX_PLANNED   10000 /* pids listed in a dry-run reply */

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static void add_pid(cJSON *arr, molt_pid pid)
{
	char pb[32];

	cJSON_AddItemToArray(arr,
			     cJSON_CreateString(molt_pid_format(pid, pb, 32)));
}

static void add_steps(cJSON *reply, const molt_eval_report *r)
{
	cJSON *arr = cJSON_AddArrayToObject(reply, "steps");

	for (size_t i = 0; arr && i < r->n_steps; i++) {
		const molt_eval_step *s = &r->steps[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "index", s->index);
		cJSON_AddStringToObject(o, "instruction", s->name);
		cJSON_AddStringToObject(o, "modules", s->detail);
		cJSON_AddNumberToObject(o, "ms", ms(s->ns));
		cJSON_AddNumberToObject(o, "processes", (double)s->procs);
		cJSON_AddItemToArray(arr, o);
	}
}

static void add_report(cJSON *reply, const molt_eval_report *r, int dry)
{
	cJSON *o;

	cJSON_AddBoolToObject(reply, "dry_run", dry);
	cJSON_AddBoolToObject(reply, "committed", r->ok && !dry);
	cJSON_AddBoolToObject(reply, "rolled_back", r->rolled_back);
	cJSON_AddNumberToObject(reply, "total_ms", ms(r->total_ns));
	cJSON_AddNumberToObject(reply, "commit_ms", ms(r->commit_ns));
	cJSON_AddNumberToObject(reply, "rollback_ms", ms(r->rollback_ns));
	o = cJSON_AddObjectToObject(reply, "pause");
	cJSON_AddNumberToObject(o, "processes", (double)r->paused);
	cJSON_AddNumberToObject(o, "max_ms", ms(r->pause_max_ns));
	cJSON_AddNumberToObject(o, "p99_ms", ms(r->pause_p99_ns));
	cJSON_AddNumberToObject(o, "mean_ms", ms(r->pause_mean_ns));
	cJSON_AddNumberToObject(reply, "killed", r->killed);
	add_steps(reply, r);
	o = cJSON_AddArrayToObject(reply, "unpurged");
	for (size_t k = 0; o && k < r->n_unpurged; k++) {
		cJSON *u = cJSON_CreateObject();

		cJSON_AddStringToObject(u, "module", r->unpurged[k].module);
		cJSON_AddStringToObject(u, "post_purge",
					r->unpurged[k].brutal ? "brutal_purge"
							      : "soft_purge");
		cJSON_AddItemToArray(o, u);
	}
	if (r->failed_index >= 0) {
		o = cJSON_AddObjectToObject(reply, "failed");
		cJSON_AddNumberToObject(o, "index", r->failed_index);
		cJSON_AddStringToObject(o, "instruction", r->failed_instr);
		cJSON_AddStringToObject(o, "module", r->failed_module);
		if (r->failed_pid)
			add_pid(cJSON_AddArrayToObject(o, "pid"),
				r->failed_pid);
	}
	if (dry) {
		o = cJSON_AddArrayToObject(reply, "would_suspend");
		for (size_t k = 0; o && k < r->n_planned && k < MAX_PLANNED;
		     k++)
			add_pid(o, r->planned[k]);
		cJSON_AddNumberToObject(reply, "would_suspend_count",
					(double)r->n_planned);
	}
}

/* A script that does not parse: the report of an evaluation that failed
 * its checks at that instruction. Returns code. */
static int parse_failed(cJSON *reply, const molt_script_where *w, int dry,
			int code)
{
	molt_eval_report r;

	memset(&r, 0, sizeof(r));
	r.failed_index = w->index;
	snprintf(r.failed_instr, sizeof(r.failed_instr), "%s", w->name);
	add_report(reply, &r, dry);
	return code;
}

/* The request's options; dirs holds the search path (borrowed strings). */
static int options(const cJSON *req, molt_eval_options *o, const char **dirs,
		   molt_err *err)
{
	const cJSON *lib = cJSON_GetObjectItem(req, "lib_dir");
	const cJSON *path = cJSON_GetObjectItem(req, "path");
	const cJSON *tmo = cJSON_GetObjectItem(req, "suspend_timeout");
	const cJSON *d;
	size_t n = 0;

	o->dry_run = cJSON_IsTrue(cJSON_GetObjectItem(req, "dry_run"));
	if (cJSON_IsString(lib))
		o->lib_dir = lib->valuestring;
	if (cJSON_IsNumber(tmo) && tmo->valuedouble >= 1 &&
	    tmo->valuedouble < 86400000.0)
		o->suspend_timeout = (uint32_t)tmo->valuedouble;
	if (!cJSON_IsArray(path))
		path = NULL;
	cJSON_ArrayForEach(d, path)
	{
		if (!cJSON_IsString(d) || n == MAX_PATH_DIRS)
			return molt_err_set(
				err, MOLT_EINVAL,
				"eval: \"path\" is a list of at most "
				"16 directory strings");
		dirs[n++] = d->valuestring;
	}
	dirs[n] = NULL;
	o->search_path = n ? dirs : NULL;
	return MOLT_OK;
}

int molt__ctl_eval(molt_runtime *rt, const cJSON *req, cJSON *reply,
		   molt_err *err)
{
	const cJSON *script = cJSON_GetObjectItem(req, "script");
	molt_eval_options o = MOLT_EVAL_OPTIONS_INIT;
	const char *dirs[MAX_PATH_DIRS + 1];
	molt_eval_report r;
	molt_script_where w;
	molt_script *s;
	char *text;
	int rc;

	if (!cJSON_IsArray(script))
		return molt_err_set(err, MOLT_EINVAL,
				    "eval needs \"script\", a JSON array");
	if ((rc = options(req, &o, dirs, err)) < 0)
		return rc;
	text = cJSON_PrintUnformatted(script);
	if (!text)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	rc = molt_script_parse(&s, text, &w, err);
	cJSON_free(text);
	if (rc < 0)
		return parse_failed(reply, &w, o.dry_run, rc);
	rc = molt_runtime_eval_script(rt, s, &o, &r, err);
	molt_script_free(s);
	add_report(reply, &r, o.dry_run);
	molt_eval_report_release(&r);
	return rc;
}

/* --- the release handler: install, rollback, permanent --- */

static int install_opts(const cJSON *req, molt_install_options *o)
{
	const cJSON *tmo = cJSON_GetObjectItem(req, "suspend_timeout");

	o->dry_run = cJSON_IsTrue(cJSON_GetObjectItem(req, "dry_run"));
	if (cJSON_IsNumber(tmo) && tmo->valuedouble >= 1 &&
	    tmo->valuedouble < 86400000.0)
		o->suspend_timeout = (uint32_t)tmo->valuedouble;
	return MOLT_OK;
}

/* vsn NULL: the permanent release (rollback). */
static int install(molt_runtime *rt, const char *vsn, const cJSON *req,
		   cJSON *reply, molt_err *err)
{
	molt_install_options o = MOLT_INSTALL_OPTIONS_INIT;
	molt_install_report r;
	int rc;

	install_opts(req, &o);
	rc = molt_runtime_install(rt, vsn, &o, &r, err);
	if (r.to[0]) {
		cJSON_AddStringToObject(reply, "release", r.name);
		cJSON_AddStringToObject(reply, "from", r.from);
		cJSON_AddStringToObject(reply, "to", r.to);
		cJSON_AddStringToObject(reply, "direction",
					r.down ? "down" : "up");
		cJSON_AddBoolToObject(reply, "restart", r.restart);
		cJSON_AddBoolToObject(reply, "permanent", r.permanent);
		if (r.warning[0])
			cJSON_AddStringToObject(reply, "warning", r.warning);
	}
	if (r.eval.n_steps || r.eval.failed_index >= 0)
		add_report(reply, &r.eval, o.dry_run);
	molt_install_report_release(&r);
	return rc;
}

int molt__ctl_install(molt_runtime *rt, const cJSON *req, cJSON *reply,
		      molt_err *err)
{
	const char *vsn = molt__ctl_str_field(req, "vsn");

	if (!vsn)
		return molt_err_set(err, MOLT_EINVAL,
				    "install needs \"vsn\", a release version");
	return install(rt, vsn, req, reply, err);
}

int molt__ctl_rollback(molt_runtime *rt, const cJSON *req, cJSON *reply,
		       molt_err *err)
{
	return install(rt, NULL, req, reply, err);
}

int molt__ctl_permanent(molt_runtime *rt, const cJSON *req, cJSON *reply,
			molt_err *err)
{
	const char *vsn = molt__ctl_str_field(req, "vsn");
	unsigned killed = 0;
	int rc;

	if (!vsn)
		return molt_err_set(err, MOLT_EINVAL,
				    "permanent needs \"vsn\", a release "
				    "version");
	rc = molt_runtime_make_permanent(rt, vsn, &killed, err);
	cJSON_AddStringToObject(reply, "vsn", vsn);
	cJSON_AddNumberToObject(reply, "killed", killed);
	return rc;
}
