/* The control ops: status, ps, call, cast, stop, the code server's ops
 * and eval (ctl_eval.c). See docs/control.md. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "molt/common.h"
#include "molt/log.h"
#include "molt/runtime.h"

#include "ctl.h"

#include "molt/banned.h"

#define CALL_TIMEOUT_DEFAULT 5000u
#define CALL_TIMEOUT_MAX     600000u

const char *molt__ctl_str_field(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItem(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The release the node booted, if any, and its applications. */
static void add_release(cJSON *reply, molt_runtime *rt)
{
	molt_release_info ri;
	molt_app_info ai[64];
	cJSON *rel, *apps, *o;
	size_t n;
	char pb[32];

	if (molt_runtime_release(rt, &ri) < 0)
		return;
	rel = cJSON_AddObjectToObject(reply, "release");
	cJSON_AddStringToObject(rel, "name", ri.name);
	cJSON_AddStringToObject(rel, "vsn", ri.vsn);
	apps = cJSON_AddArrayToObject(reply, "applications");
	n = molt_runtime_apps(rt, ai, 64);
	for (size_t i = 0; apps && i < n && i < 64; i++) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", ai[i].name);
		cJSON_AddStringToObject(o, "vsn", ai[i].vsn);
		cJSON_AddStringToObject(
			o, "supervisor",
			ai[i].sup ? molt_pid_format(ai[i].sup, pb, 32) : "");
		cJSON_AddItemToArray(apps, o);
	}
}

/* "longest_callback": the callback running for the longest time now, if
 * one runs (molt upgrade --watch treats one running too long as hung). */
static void add_longest(cJSON *reply, molt_runtime *rt)
{
	molt_callback_info cb[64];
	size_t n = molt_runtime_callbacks(rt, cb, 64), best = 0;
	cJSON *o;
	char pb[32];

	if (n > 64)
		n = 64;
	for (size_t i = 1; i < n; i++)
		if (cb[i].running_ms > cb[best].running_ms)
			best = i;
	if (!n || !(o = cJSON_AddObjectToObject(reply, "longest_callback")))
		return;
	cJSON_AddStringToObject(o, "pid",
				molt_pid_format(cb[best].pid, pb, 32));
	cJSON_AddStringToObject(o, "module", cb[best].module);
	cJSON_AddStringToObject(o, "vsn", cb[best].vsn);
	cJSON_AddStringToObject(o, "callback", cb[best].callback);
	cJSON_AddNumberToObject(o, "running_ms", (double)cb[best].running_ms);
}

static int op_status(molt__ctl_req *r, molt_err *err)
{
	molt_runtime_stats st;
	int clients = 0;

	(void)err;
	molt_runtime_get_stats(r->ctl->rt, &st);
	cJSON_AddNumberToObject(r->reply, "pid", (double)getpid());
	cJSON_AddNumberToObject(r->reply, "uptime_ms", (double)st.uptime_ms);
	cJSON_AddNumberToObject(r->reply, "processes", (double)st.processes);
	cJSON_AddNumberToObject(r->reply, "modules", (double)st.modules);
	cJSON_AddNumberToObject(r->reply, "schedulers", st.schedulers);
	cJSON_AddBoolToObject(r->reply, "deterministic", st.deterministic);
	cJSON_AddNumberToObject(r->reply, "spawned", (double)st.spawned);
	cJSON_AddNumberToObject(r->reply, "messages", (double)st.messages);
	/* status runs on the control thread, which owns these */
	for (int i = 0; i < MOLT__CTL_MAX_CLIENTS; i++)
		clients += r->ctl->clients[i].fd >= 0;
	cJSON_AddNumberToObject(r->reply, "ctl_clients", clients);
	cJSON_AddNumberToObject(r->reply, "ctl_out_max",
				(double)r->ctl->out_max);
	cJSON_AddNumberToObject(r->reply, "long_callbacks",
				(double)st.long_callbacks);
	add_longest(r->reply, r->ctl->rt);
	add_release(r->reply, r->ctl->rt);
	return MOLT_OK;
}

void molt__ctl_add_proc(cJSON *arr, const molt_proc_info *pi)
{
	cJSON *o = cJSON_CreateObject();
	char pb[32];

	cJSON_AddStringToObject(o, "pid", molt_pid_format(pi->pid, pb, 32));
	cJSON_AddStringToObject(o, "name", pi->name);
	cJSON_AddStringToObject(o, "module", pi->module);
	cJSON_AddStringToObject(o, "vsn", pi->vsn);
	cJSON_AddBoolToObject(o, "old_code", pi->old_code);
	cJSON_AddBoolToObject(o, "suspended", pi->suspended);
	cJSON_AddNumberToObject(o, "queue", (double)pi->queue_len);
	cJSON_AddNumberToObject(o, "heap_bytes", (double)pi->heap_bytes);
	cJSON_AddNumberToObject(o, "reductions", (double)pi->reductions);
	cJSON_AddNumberToObject(o, "sockets", (double)pi->sockets);
	cJSON_AddNumberToObject(o, "queue_max", (double)pi->queue_max);
	cJSON_AddNumberToObject(o, "callback_ms",
				(double)pi->callback_ns / 1e6);
	cJSON_AddNumberToObject(o, "callback_max_ms",
				(double)pi->callback_max_ns / 1e6);
	cJSON_AddNumberToObject(o, "callback_samples",
				(double)pi->callback_samples);
	cJSON_AddItemToArray(arr, o);
}

static int op_ps(molt__ctl_req *r, molt_err *err)
{
	size_t n = molt_runtime_processes(r->ctl->rt, NULL, 0), cap = n + 64;
	molt_proc_info *pis = molt_calloc(cap, sizeof(*pis));
	cJSON *arr;

	if (!pis)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	n = molt_runtime_processes(r->ctl->rt, pis, cap);
	arr = cJSON_AddArrayToObject(r->reply, "processes");
	for (size_t i = 0; i < n && i < cap; i++)
		molt__ctl_add_proc(arr, &pis[i]);
	molt_free(pis);
	return MOLT_OK;
}

static int target(molt__ctl_req *r, molt_pid *out, molt_err *err)
{
	const char *to = molt__ctl_str_field(r->json, "to");

	if (!to)
		return molt_err_set(err, MOLT_EINVAL,
				    "request needs \"to\": a name or pid");
	*out = molt_runtime_resolve(r->ctl->rt, to);
	if (!*out || !molt_runtime_alive(r->ctl->rt, *out))
		return molt_err_set(err, MOLT_ENOTFOUND, "no process '%s'", to);
	return MOLT_OK;
}

typedef struct call_ctx {
	molt_ctl *ctl; /* referenced */
	uint64_t cid;  /* the client */
	uint32_t ms;   /* timeout, for the message */
} call_ctx;

static void call_cb(int status, const void *data, size_t len, void *payload)
{
	call_ctx *cc = payload;
	cJSON *o;

	if (status == MOLT_OK) {
		char *s = molt_strndup(data ? data : "", len);

		o = cJSON_CreateObject();
		cJSON_AddTrueToObject(o, "ok");
		cJSON_AddStringToObject(o, "reply", s ? s : "");
		molt_free(s);
	} else if (status == MOLT_ETIMEOUT) {
		char msg[64];

		snprintf(msg, sizeof(msg), "call timed out after %u ms",
			 cc->ms);
		o = molt__ctl_error_obj(status, msg);
	} else {
		o = molt__ctl_error_obj(status,
					"process exited before replying");
	}
	molt__ctl_complete(cc->ctl, cc->cid, o);
	molt_free(cc);
}

static int op_call(molt__ctl_req *r, molt_err *err)
{
	const cJSON *tmo = cJSON_GetObjectItem(r->json, "timeout");
	const char *payload = molt__ctl_str_field(r->json, "payload");
	call_ctx *cc;
	molt_pid pid;
	int rc;

	if ((rc = target(r, &pid, err)) < 0)
		return rc;
	cc = molt_malloc(sizeof(*cc));
	if (!cc)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	cc->ctl = r->ctl;
	cc->cid = r->cid;
	cc->ms = CALL_TIMEOUT_DEFAULT;
	if (cJSON_IsNumber(tmo) && tmo->valuedouble >= 1)
		cc->ms = tmo->valuedouble > CALL_TIMEOUT_MAX
				 ? CALL_TIMEOUT_MAX
				 : (uint32_t)tmo->valuedouble;
	payload = payload ? payload : "";
	atomic_fetch_add(&r->ctl->refs, 1);
	rc = molt_runtime_call_async(r->ctl->rt, pid, payload, strlen(payload),
				     cc->ms, call_cb, cc, err);
	if (rc < 0) {
		atomic_fetch_sub(&r->ctl->refs, 1);
		molt_free(cc);
		return rc;
	}
	return MOLT__CTL_PENDING;
}

static int op_cast(molt__ctl_req *r, molt_err *err)
{
	const char *payload = molt__ctl_str_field(r->json, "payload");
	molt_pid pid;
	int rc;

	if ((rc = target(r, &pid, err)) < 0)
		return rc;
	payload = payload ? payload : "";
	rc = molt_runtime_cast(r->ctl->rt, pid, payload, strlen(payload));
	return rc < 0 ? molt_err_set(err, rc, "cast failed: process exited")
		      : MOLT_OK;
}

static int op_stop(molt__ctl_req *r, molt_err *err)
{
	(void)err;
	if (r->ctl->on_stop)
		r->ctl->on_stop(r->ctl->payload);
	return MOLT_OK;
}

void molt__ctl_add_modules(cJSON *reply, molt_runtime *rt)
{
	molt_module_info mi[256];
	size_t n = molt_runtime_modules(rt, mi, 256);
	cJSON *arr = cJSON_AddArrayToObject(reply, "modules");

	for (size_t i = 0; arr && i < n && i < 256; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "name", mi[i].name);
		cJSON_AddStringToObject(o, "current", mi[i].current_vsn);
		cJSON_AddStringToObject(o, "old", mi[i].old_vsn);
		cJSON_AddNumberToObject(o, "current_procs",
					mi[i].current_procs);
		cJSON_AddNumberToObject(o, "old_procs", mi[i].old_procs);
		cJSON_AddStringToObject(o, "path", mi[i].current_path);
		cJSON_AddBoolToObject(o, "builtin", mi[i].builtin);
		cJSON_AddItemToArray(arr, o);
	}
}

static int op_modules(molt__ctl_req *r, molt_err *err)
{
	(void)err;
	molt__ctl_add_modules(r->reply, r->ctl->rt);
	return MOLT_OK;
}

static int op_load(molt__ctl_req *r, molt_err *err)
{
	const char *path = molt__ctl_str_field(r->json, "path");
	const cJSON *force = cJSON_GetObjectItem(r->json, "force");
	char name[64];
	int rc;

	if (!path)
		return molt_err_set(err, MOLT_EINVAL, "load needs \"path\"");
	rc = molt_runtime_load(r->ctl->rt, path,
			       molt__ctl_str_field(r->json, "module"),
			       cJSON_IsTrue(force) ? MOLT_LOAD_FORCE : 0, name,
			       sizeof(name), err);
	if (rc == MOLT_OK) {
		cJSON_AddStringToObject(r->reply, "module", name);
		molt_log(MOLT_LOG_INFO, "ctl", "loaded module '%s' from %s",
			 name, path);
	}
	return rc;
}

static const char *need_module(molt__ctl_req *r, molt_err *err)
{
	const char *m = molt__ctl_str_field(r->json, "module");

	if (!m)
		molt_err_set(err, MOLT_EINVAL, "request needs \"module\"");
	return m;
}

static int op_purge(molt__ctl_req *r, molt_err *err)
{
	const char *m = need_module(r, err);
	unsigned killed = 0;
	int rc;

	if (!m)
		return MOLT_EINVAL;
	rc = molt_runtime_purge(r->ctl->rt, m, &killed, err);
	if (rc == MOLT_OK)
		cJSON_AddNumberToObject(r->reply, "killed", killed);
	return rc;
}

static int op_soft_purge(molt__ctl_req *r, molt_err *err)
{
	const char *m = need_module(r, err);

	return m ? molt_runtime_soft_purge(r->ctl->rt, m, err) : MOLT_EINVAL;
}

static int op_delete(molt__ctl_req *r, molt_err *err)
{
	const char *m = need_module(r, err);

	return m ? molt_runtime_delete(r->ctl->rt, m, err) : MOLT_EINVAL;
}

static int op_get_state(molt__ctl_req *r, molt_err *err)
{
	molt_pid pid;
	char *text = NULL;
	int rc;

	if ((rc = target(r, &pid, err)) < 0)
		return rc;
	rc = molt_runtime_get_state(r->ctl->rt, pid, &text, 5000, err);
	if (rc == MOLT_OK)
		cJSON_AddStringToObject(r->reply, "state", text);
	molt_free(text);
	return rc;
}

/* eval: the upgrade engine's op, in ctl_eval.c */
static int op_eval(molt__ctl_req *r, molt_err *err)
{
	int rc = molt__ctl_eval(r->ctl->rt, r->json, r->reply, err);

	molt__ctl_upgrade_done(r->ctl, "eval", r->json, r->reply, rc, err);
	return rc;
}

/* An install whose script restarts the node: reply, then stop; main.c
 * starts moltd again on the release (molt_ctl_restart_into). */
static int op_install(molt__ctl_req *r, molt_err *err)
{
	int rc = molt__ctl_install(r->ctl->rt, r->json, r->reply, err);
	const char *to = molt__ctl_str_field(r->reply, "to");

	molt__ctl_upgrade_done(r->ctl, "install", r->json, r->reply, rc, err);
	if (rc == MOLT_OK && to &&
	    cJSON_IsTrue(cJSON_GetObjectItem(r->reply, "restart")) &&
	    !cJSON_IsTrue(cJSON_GetObjectItem(r->json, "dry_run")) &&
	    r->ctl->on_stop) {
		pthread_mutex_lock(&r->ctl->restart_mu);
		snprintf(r->ctl->restart_into, sizeof(r->ctl->restart_into),
			 "%s", to);
		pthread_mutex_unlock(&r->ctl->restart_mu);
		r->ctl->on_stop(r->ctl->payload);
	}
	return rc;
}

static int op_rollback(molt__ctl_req *r, molt_err *err)
{
	int rc = molt__ctl_rollback(r->ctl->rt, r->json, r->reply, err);

	molt__ctl_upgrade_done(r->ctl, "rollback", r->json, r->reply, rc, err);
	return rc;
}

static int op_permanent(molt__ctl_req *r, molt_err *err)
{
	return molt__ctl_permanent(r->ctl->rt, r->json, r->reply, err);
}

/* Every socket of the node: {"sockets":[{"sock","owner","kind","local",
 * "peer","active","queued","bytes_in","bytes_out"}...],"count":N}. */
static int op_sockets(molt__ctl_req *r, molt_err *err)
{
	size_t n = molt_runtime_sockets(r->ctl->rt, NULL, 0), cap = n + 64;
	molt_sock_info *si = molt_calloc(cap, sizeof(*si));
	cJSON *arr;
	char pb[32], id[32];

	if (!si)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	n = molt_runtime_sockets(r->ctl->rt, si, cap);
	arr = cJSON_AddArrayToObject(r->reply, "sockets");
	for (size_t i = 0; arr && i < n && i < cap; i++) {
		cJSON *o = cJSON_CreateObject();

		snprintf(id, sizeof(id), "#%u.%u",
			 (unsigned)(si[i].sock & 0xffffffffu),
			 (unsigned)(si[i].sock >> 32));
		cJSON_AddStringToObject(o, "sock", id);
		cJSON_AddStringToObject(o, "owner",
					molt_pid_format(si[i].owner, pb, 32));
		cJSON_AddStringToObject(o, "kind",
					si[i].listener ? "listen" : "conn");
		cJSON_AddStringToObject(o, "local", si[i].local);
		cJSON_AddStringToObject(o, "peer", si[i].peer);
		cJSON_AddNumberToObject(o, "active", si[i].active);
		cJSON_AddNumberToObject(o, "queued", (double)si[i].queued);
		cJSON_AddNumberToObject(o, "bytes_in", (double)si[i].bytes_in);
		cJSON_AddNumberToObject(o, "bytes_out",
					(double)si[i].bytes_out);
		cJSON_AddItemToArray(arr, o);
	}
	cJSON_AddNumberToObject(r->reply, "count", (double)n);
	molt_free(si);
	return MOLT_OK;
}

/*
 * The op table. To add an op: write `static int op_x(molt__ctl_req *r, molt_err
 * *err)` that adds fields to r->reply and returns MOLT_OK, a negative
 * code with err set, or MOLT__CTL_PENDING after arranging a later complete().
 * Columns: name, function, threaded, served on the reserved slot.
 */
static const molt__ctl_op ops[] = {
	{"status", op_status, 0, 1},
	{"ps", op_ps, 0, 0},
	{"sockets", op_sockets, 0, 0},
	{"call", op_call, 0, 0},
	{"cast", op_cast, 0, 0},
	{"stop", op_stop, 0, 1},
	{"modules", op_modules, 0, 0},
	{"load", op_load, 1, 0},
	{"purge", op_purge, 0, 0},
	{"soft_purge", op_soft_purge, 0, 0},
	{"delete", op_delete, 0, 0},
	{"get_state", op_get_state, 1, 0},
	{"eval", op_eval, 1, 0},
	{"install", op_install, 1, 0},
	{"rollback", op_rollback, 1, 0},
	{"permanent", op_permanent, 1, 0},
	{"top", molt__ctl_op_top, 1, 0},
	{"metrics", molt__ctl_op_metrics, 1, 0},
	{"events", molt__ctl_op_events, 0, 0},
	{"trace", molt__ctl_op_trace, 1, 0},
	{"trace_read", molt__ctl_op_trace_read, 0, 0},
	{"trace_stop", molt__ctl_op_trace_stop, 0, 0},
};

const molt__ctl_op *molt__ctl_find_op(const char *name)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(ops[i].name, name) == 0)
			return &ops[i];
	return NULL;
}
