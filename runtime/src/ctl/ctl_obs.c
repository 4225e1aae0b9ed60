/* The observability ops: top, metrics, events; the metrics text; the
 * upgrade history (ROOT/log/upgrades.jsonl). See docs/observability.md. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "molt/buf.h"
#include "molt/common.h"
#include "molt/log.h"
#include "molt/runtime.h"

#include "ctl.h"

#include "molt/banned.h"

#define TOP_DEFAULT  20
#define TOP_MAX	     1000
#define EVENTS_MAX   512
#define MODULES_MAX  256
#define SCHEDS_MAX   256
#define HISTORY_FILE "upgrades.jsonl"

static const char *const sort_names[] = {"callback", "messages", "memory",
					 "queue"};

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

/* --- top --- */

static void add_scheds(cJSON *reply, molt_runtime *rt)
{
	molt_sched_stats ss[SCHEDS_MAX];
	size_t n = molt_runtime_sched_stats(rt, ss, SCHEDS_MAX);
	cJSON *arr = cJSON_AddArrayToObject(reply, "schedulers");

	for (size_t i = 0; arr && i < n && i < SCHEDS_MAX; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "id", ss[i].id);
		cJSON_AddNumberToObject(o, "messages", (double)ss[i].messages);
		cJSON_AddNumberToObject(o, "busy_ms", ms(ss[i].busy_ns));
		cJSON_AddNumberToObject(o, "idle_ms", ms(ss[i].idle_ns));
		cJSON_AddNumberToObject(o, "steals", (double)ss[i].steals);
		cJSON_AddNumberToObject(o, "queue", (double)ss[i].queue_len);
		cJSON_AddItemToArray(arr, o);
	}
}

static void add_node(cJSON *reply, molt_runtime *rt, const molt_top_totals *t)
{
	molt_runtime_stats st;
	molt_obs_stats os;
	cJSON *o = cJSON_AddObjectToObject(reply, "node");

	molt_runtime_get_stats(rt, &st);
	molt_runtime_obs_stats(rt, &os);
	cJSON_AddNumberToObject(o, "uptime_ms", (double)st.uptime_ms);
	cJSON_AddNumberToObject(o, "processes", (double)t->processes);
	cJSON_AddNumberToObject(o, "spawned", (double)st.spawned);
	cJSON_AddNumberToObject(o, "messages", (double)st.messages);
	cJSON_AddNumberToObject(o, "callback_ms", ms(t->callback_ns));
	cJSON_AddNumberToObject(o, "heap_bytes", (double)t->heap_bytes);
	cJSON_AddNumberToObject(o, "queued", (double)t->queued);
	cJSON_AddNumberToObject(o, "suspended", (double)t->suspended);
	cJSON_AddNumberToObject(o, "old_code", (double)t->old_code);
	cJSON_AddNumberToObject(o, "modules", (double)st.modules);
	cJSON_AddNumberToObject(o, "long_callbacks", (double)st.long_callbacks);
	cJSON_AddNumberToObject(
		o, "upgrades",
		(double)(os.installs + os.rollbacks + os.eval_commits));
	cJSON_AddNumberToObject(o, "rollbacks",
				(double)(os.rollbacks + os.eval_rollbacks));
	cJSON_AddNumberToObject(o, "last_pause_max_ms",
				ms(os.last_pause_max_ns));
	cJSON_AddNumberToObject(o, "scan_ms", ms(t->scan_ns));
	cJSON_AddNumberToObject(o, "scan_slots", (double)t->slots);
	cJSON_AddNumberToObject(o, "hold_max_us", (double)t->hold_max_ns / 1e3);
}

static int sort_key(const char *s)
{
	for (int i = 0; s && i < 4; i++)
		if (strcmp(s, sort_names[i]) == 0)
			return i;
	return -1;
}

/* {"op":"top","sort":"callback|messages|memory|queue","limit":N} */
int molt__ctl_op_top(molt__ctl_req *r, molt_err *err)
{
	const char *sort = molt__ctl_str_field(r->json, "sort");
	const cJSON *lim = cJSON_GetObjectItem(r->json, "limit");
	int key = sort ? sort_key(sort) : MOLT_TOP_CALLBACK;
	size_t k = TOP_DEFAULT, n;
	molt_top_totals t;
	molt_proc_info *pi;
	cJSON *arr;

	if (key < 0)
		return molt_err_set(err, MOLT_EINVAL,
				    "top: \"sort\" is callback, messages, "
				    "memory or queue");
	if (cJSON_IsNumber(lim) && lim->valuedouble >= 0)
		k = lim->valuedouble > TOP_MAX ? TOP_MAX
					       : (size_t)lim->valuedouble;
	pi = molt_calloc(k ? k : 1, sizeof(*pi));
	if (!pi)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	n = molt_runtime_top(r->ctl->rt, key, pi, k, &t);
	cJSON_AddStringToObject(r->reply, "sort", sort_names[key]);
	add_node(r->reply, r->ctl->rt, &t);
	add_scheds(r->reply, r->ctl->rt);
	molt__ctl_add_modules(r->reply, r->ctl->rt);
	arr = cJSON_AddArrayToObject(r->reply, "processes");
	for (size_t i = 0; arr && i < n; i++)
		molt__ctl_add_proc(arr, &pi[i]);
	molt_free(pi);
	return MOLT_OK;
}

/* --- events --- */

/* {"op":"events","since":SEQ} */
int molt__ctl_op_events(molt__ctl_req *r, molt_err *err)
{
	const cJSON *since = cJSON_GetObjectItem(r->json, "since");
	molt_event *ev = molt_calloc(EVENTS_MAX, sizeof(*ev));
	uint64_t from = 0, next = 0;
	molt_obs_stats os;
	size_t n;
	cJSON *arr, *c;
	char pb[32];

	if (!ev)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	if (cJSON_IsNumber(since) && since->valuedouble > 0)
		from = (uint64_t)since->valuedouble;
	n = molt_runtime_events(r->ctl->rt, from, ev, EVENTS_MAX, &next);
	arr = cJSON_AddArrayToObject(r->reply, "events");
	for (size_t i = 0; arr && i < n; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "seq", (double)ev[i].seq);
		cJSON_AddNumberToObject(o, "time_ms", (double)ev[i].time_ms);
		cJSON_AddStringToObject(o, "kind",
					molt_event_kind_name(ev[i].kind));
		cJSON_AddStringToObject(
			o, "pid",
			ev[i].pid ? molt_pid_format(ev[i].pid, pb, 32) : "");
		cJSON_AddNumberToObject(o, "value", (double)ev[i].value);
		cJSON_AddNumberToObject(o, "threshold",
					(double)ev[i].threshold);
		cJSON_AddStringToObject(o, "text", ev[i].text);
		cJSON_AddItemToArray(arr, o);
	}
	cJSON_AddNumberToObject(r->reply, "next", (double)next);
	molt_runtime_obs_stats(r->ctl->rt, &os);
	c = cJSON_AddObjectToObject(r->reply, "counts");
	for (int k = 0; c && k < MOLT_EVENT_KINDS; k++)
		cJSON_AddNumberToObject(c, molt_event_kind_name(k),
					(double)os.events[k]);
	molt_free(ev);
	return MOLT_OK;
}

/* --- metrics --- */

/* A label value in the text format: \ " and newline escaped. */
static void put_label(molt_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			molt_buf_putc(b, '\\');
		if (*s == '\n') {
			molt_buf_puts(b, "\\n");
			continue;
		}
		molt_buf_putc(b, *s);
	}
}

static void family(molt_buf *b, const char *name, const char *type,
		   const char *help)
{
	molt_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
			type);
}

static void metric(molt_buf *b, const char *name, const char *type,
		   const char *help, double v)
{
	family(b, name, type, help);
	molt_buf_printf(b, "%s %.17g\n", name, v);
}

static void histogram(molt_buf *b, const char *name, const char *help,
		      const molt_histogram *h)
{
	uint64_t cum = 0;

	family(b, name, "histogram", help);
	for (unsigned i = 0; i < MOLT_HIST_BUCKETS; i++) {
		uint64_t bound = molt_histogram_bound_ns(i);

		cum += h->bucket[i];
		if (bound == UINT64_MAX)
			molt_buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n",
					name, (unsigned long long)cum);
		else
			molt_buf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name,
					(double)bound / 1e9,
					(unsigned long long)cum);
	}
	molt_buf_printf(b, "%s_sum %.17g\n%s_count %llu\n", name,
			(double)h->sum_ns / 1e9, name,
			(unsigned long long)h->count);
}

static void sched_metrics(molt_buf *b, molt_runtime *rt)
{
	static const char *const names[] = {"molt_scheduler_messages_total",
					    "molt_scheduler_busy_seconds_total",
					    "molt_scheduler_idle_seconds_total",
					    "molt_scheduler_steals_total",
					    "molt_scheduler_run_queue"};
	static const char *const helps[] = {
		"Messages handled by the scheduler thread.",
		"Time the scheduler thread was not asleep.",
		"Time the scheduler thread slept waiting for work.",
		"Processes the scheduler took from other run queues.",
		"Processes in the scheduler's run queue now."};
	molt_sched_stats ss[SCHEDS_MAX];
	size_t n = molt_runtime_sched_stats(rt, ss, SCHEDS_MAX);

	for (int m = 0; m < 5; m++) {
		family(b, names[m], m == 4 ? "gauge" : "counter", helps[m]);
		for (size_t i = 0; i < n && i < SCHEDS_MAX; i++) {
			double v = m == 0   ? (double)ss[i].messages
				   : m == 1 ? (double)ss[i].busy_ns / 1e9
				   : m == 2 ? (double)ss[i].idle_ns / 1e9
				   : m == 3 ? (double)ss[i].steals
					    : (double)ss[i].queue_len;

			molt_buf_printf(b, "%s{scheduler=\"%u\"} %.17g\n",
					names[m], ss[i].id, v);
		}
	}
}

static void module_metrics(molt_buf *b, molt_runtime *rt)
{
	molt_module_info *mi = molt_calloc(MODULES_MAX, sizeof(*mi));
	size_t n = mi ? molt_runtime_modules(rt, mi, MODULES_MAX) : 0;

	family(b, "molt_module_processes", "gauge",
	       "Processes running each module, on its current or old "
	       "version.");
	for (size_t i = 0; i < n && i < MODULES_MAX; i++) {
		for (int old = 0; old < 2; old++) {
			molt_buf_puts(b, "molt_module_processes{module=\"");
			put_label(b, mi[i].name);
			molt_buf_printf(b, "\",code=\"%s\"} %u\n",
					old ? "old" : "current",
					old ? mi[i].old_procs
					    : mi[i].current_procs);
		}
	}
	molt_free(mi);
}

static void upgrade_metrics(molt_buf *b, const molt_obs_stats *os)
{
	metric(b, "molt_evals_total", "counter",
	       "Upgrade scripts evaluated (not dry runs).", (double)os->evals);
	metric(b, "molt_eval_commits_total", "counter",
	       "Evaluated scripts that committed.", (double)os->eval_commits);
	metric(b, "molt_eval_rollbacks_total", "counter",
	       "Evaluated scripts that failed and were rolled back.",
	       (double)os->eval_rollbacks);
	metric(b, "molt_release_installs_total", "counter",
	       "Release installs done.", (double)os->installs);
	metric(b, "molt_release_install_failures_total", "counter",
	       "Release installs and rollbacks that failed.",
	       (double)os->install_failures);
	metric(b, "molt_release_rollbacks_total", "counter",
	       "Release rollbacks (to the permanent release) done.",
	       (double)os->rollbacks);
	metric(b, "molt_last_upgrade_pause_max_seconds", "gauge",
	       "Longest process pause of the latest upgrade.",
	       (double)os->last_pause_max_ns / 1e9);
	histogram(b, "molt_upgrade_pause_seconds",
		  "Per-process pauses of upgrades (suspend to resume).",
		  &os->pause);
}

int molt__ctl_metrics_text(molt_runtime *rt, molt_buf *b)
{
	molt_runtime_stats st;
	molt_obs_stats os;
	molt_top_totals t;

	molt_runtime_get_stats(rt, &st);
	molt_runtime_obs_stats(rt, &os);
	molt_runtime_top(rt, MOLT_TOP_CALLBACK, NULL, 0, &t);
	metric(b, "molt_uptime_seconds", "gauge",
	       "Time since the node started.", (double)st.uptime_ms / 1e3);
	metric(b, "molt_processes", "gauge", "Live processes.",
	       (double)t.processes);
	metric(b, "molt_processes_spawned_total", "counter",
	       "Processes spawned.", (double)st.spawned);
	metric(b, "molt_messages_total", "counter", "Messages handled.",
	       (double)st.messages);
	metric(b, "molt_mailbox_messages", "gauge",
	       "Messages waiting in all mailboxes.", (double)t.queued);
	metric(b, "molt_process_heap_bytes", "gauge",
	       "Bytes held by all process heaps.", (double)t.heap_bytes);
	metric(b, "molt_processes_old_code", "gauge",
	       "Processes running an old module version.", (double)t.old_code);
	metric(b, "molt_modules", "gauge", "Modules in the module table.",
	       (double)st.modules);
	metric(b, "molt_timers_pending", "gauge", "Timers armed.",
	       (double)st.timers_pending);
	metric(b, "molt_sockets", "gauge", "TCP sockets open.",
	       (double)molt_runtime_sockets(rt, NULL, 0));
	sched_metrics(b, rt);
	module_metrics(b, rt);
	histogram(b, "molt_callback_duration_seconds",
		  "Callback durations, sampled (about one turn in 64 is "
		  "timed).",
		  &os.callback);
	upgrade_metrics(b, &os);
	family(b, "molt_monitor_events_total", "counter",
	       "System monitor events, by kind.");
	for (int k = 0; k < MOLT_EVENT_KINDS; k++)
		molt_buf_printf(b,
				"molt_monitor_events_total{kind=\"%s\"} "
				"%llu\n",
				molt_event_kind_name(k),
				(unsigned long long)os.events[k]);
	return b->len ? MOLT_OK : MOLT_ENOMEM;
}

/* {"op":"metrics"}: {"text": the Prometheus text format} */
int molt__ctl_op_metrics(molt__ctl_req *r, molt_err *err)
{
	molt_buf b = MOLT_BUF_INIT;
	int rc = molt__ctl_metrics_text(r->ctl->rt, &b);

	if (rc == MOLT_OK)
		cJSON_AddStringToObject(r->reply, "text", b.ptr);
	molt_buf_release(&b);
	return rc < 0 ? molt_err_set(err, rc, "out of memory") : MOLT_OK;
}

/* --- the upgrade history --- */

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItem(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void copy_item(cJSON *to, const cJSON *from, const char *k)
{
	const cJSON *v = cJSON_GetObjectItem(from, k);

	if (v)
		cJSON_AddItemToObject(to, k, cJSON_Duplicate(v, 1));
}

static void iso_time(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);

	snprintf(buf + n, size - n, ".%03uZ",
		 (unsigned)(ts.tv_nsec / 1000000) % 1000u);
}

static const char *outcome(const cJSON *reply, int rc)
{
	if (cJSON_IsTrue(cJSON_GetObjectItem(reply, "rolled_back")))
		return "rolled_back";
	return rc < 0 ? "failed" : "committed";
}

/* The history line for one upgrade (owned), from its reply. */
static cJSON *history_entry(const char *op, const cJSON *req,
			    const cJSON *reply, int rc, const molt_err *err)
{
	cJSON *o = cJSON_CreateObject();
	char t[64];

	iso_time(t, sizeof(t));
	cJSON_AddStringToObject(o, "time", t);
	cJSON_AddStringToObject(o, "op", op);
	if (strcmp(op, "eval") == 0) {
		const cJSON *s = cJSON_GetObjectItem(req, "script");

		cJSON_AddNumberToObject(o, "instructions",
					(double)cJSON_GetArraySize(s));
	}
	copy_item(o, reply, "release");
	copy_item(o, reply, "from");
	copy_item(o, reply, "to");
	copy_item(o, reply, "direction");
	cJSON_AddStringToObject(o, "outcome", outcome(reply, rc));
	copy_item(o, reply, "pause");
	copy_item(o, reply, "total_ms");
	copy_item(o, reply, "commit_ms");
	copy_item(o, reply, "rollback_ms");
	if (rc < 0) {
		cJSON *f = cJSON_AddObjectToObject(o, "failure");

		cJSON_AddStringToObject(f, "code", molt_status_name(rc));
		cJSON_AddStringToObject(
			f, "message", err && err->msg[0] ? err->msg : "failed");
		copy_item(f, reply, "failed");
	}
	return o;
}

/* Append line to ROOT/log/upgrades.jsonl (one write, O_APPEND). */
static void history_append(const char *root, const char *line)
{
	char path[4096];
	int fd;

	if (!root[0] ||
	    snprintf(path, sizeof(path), "%s/log", root) >= (int)sizeof(path))
		return;
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		goto fail;
	if (snprintf(path, sizeof(path), "%s/log/" HISTORY_FILE, root) >=
	    (int)sizeof(path))
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		goto fail;
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line) ||
	    fsync(fd) != 0) {
		close(fd);
		goto fail;
	}
	close(fd);
	return;
fail:
	molt_log(MOLT_LOG_WARN, "ctl", "upgrade history: cannot write %s: %s",
		 path, strerror(errno));
}

static void slow_upgrade(molt_ctl *ctl, const char *op, const cJSON *reply)
{
	const cJSON *pause = cJSON_GetObjectItem(reply, "pause");
	double max_ms = num(pause, "max_ms");
	char text[192];

	if (!ctl->slow_upgrade_ms || max_ms < ctl->slow_upgrade_ms)
		return;
	snprintf(text, sizeof(text),
		 "%s paused %.0f processes, the longest for %.3f ms "
		 "(threshold %u ms)",
		 op, num(pause, "processes"), max_ms, ctl->slow_upgrade_ms);
	molt_runtime_event_post(ctl->rt, MOLT_EVENT_SLOW_UPGRADE, 0,
				(uint64_t)max_ms, ctl->slow_upgrade_ms, text);
}

void molt__ctl_upgrade_done(molt_ctl *ctl, const char *op, const cJSON *req,
			    const cJSON *reply, int rc, const molt_err *err)
{
	int kind = strcmp(op, "eval") == 0	? MOLT_UPGRADE_EVAL
		   : strcmp(op, "install") == 0 ? MOLT_UPGRADE_INSTALL
						: MOLT_UPGRADE_ROLLBACK;
	const cJSON *pause = cJSON_GetObjectItem(reply, "pause");
	cJSON *e;
	char *s;

	if (cJSON_IsTrue(cJSON_GetObjectItem(req, "dry_run")))
		return; /* nothing changed */
	molt_runtime_note_upgrade(
		ctl->rt, kind, rc == MOLT_OK,
		cJSON_IsTrue(cJSON_GetObjectItem(reply, "rolled_back")),
		(uint64_t)(num(pause, "max_ms") * 1e6));
	if (rc == MOLT_OK)
		slow_upgrade(ctl, op, reply);
	e = history_entry(op, req, reply, rc, err);
	s = e ? cJSON_PrintUnformatted(e) : NULL;
	if (s) {
		molt_buf b = MOLT_BUF_INIT;

		if (molt_buf_puts(&b, s) == 0 && molt_buf_putc(&b, '\n') == 0)
			history_append(ctl->root, b.ptr);
		molt_buf_release(&b);
	}
	cJSON_free(s);
	cJSON_Delete(e);
}

/* --- trace --- */

static uint64_t u64_field(const cJSON *o, const char *k, uint64_t max)
{
	const cJSON *v = cJSON_GetObjectItem(o, k);

	if (!cJSON_IsNumber(v) || v->valuedouble < 1)
		return 0;
	return v->valuedouble > (double)max ? max : (uint64_t)v->valuedouble;
}

/* {"op":"trace","to":NAME|PID | "module":M, "limit","rate","seconds"} */
int molt__ctl_op_trace(molt__ctl_req *r, molt_err *err)
{
	const char *to = molt__ctl_str_field(r->json, "to");
	molt_trace_options o = {0, NULL, 0, 0, 0};
	uint64_t since = 0;
	size_t n = 0;
	int rc;

	o.module = molt__ctl_str_field(r->json, "module");
	if (to) {
		o.pid = molt_runtime_resolve(r->ctl->rt, to);
		if (!o.pid)
			return molt_err_set(err, MOLT_ENOTFOUND,
					    "no process '%s'", to);
	} else if (!o.module) {
		return molt_err_set(err, MOLT_EINVAL,
				    "trace needs \"to\" (a name or pid) or "
				    "\"module\"");
	}
	o.limit = u64_field(r->json, "limit", 1000000);
	o.rate = u64_field(r->json, "rate", 1000000);
	o.seconds = u64_field(r->json, "seconds", 86400);
	/* where this trace's lines start (the ring keeps older ones) */
	molt_runtime_trace_read(r->ctl->rt, UINT64_MAX, NULL, 0, &since, NULL);
	rc = molt_runtime_trace_start(r->ctl->rt, &o, &n, err);
	cJSON_AddNumberToObject(r->reply, "processes", (double)n);
	cJSON_AddNumberToObject(r->reply, "since", (double)since);
	return rc;
}

/* {"op":"trace_read","since":SEQ}: {"lines":[...],"next":SEQ,"on":bool} */
int molt__ctl_op_trace_read(molt__ctl_req *r, molt_err *err)
{
	const cJSON *since = cJSON_GetObjectItem(r->json, "since");
	char(*lines)[256] = molt_calloc(512, sizeof(*lines));
	uint64_t from = 0, next = 0;
	int on = 0;
	size_t n;
	cJSON *arr;

	if (!lines)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	if (cJSON_IsNumber(since) && since->valuedouble > 0)
		from = (uint64_t)since->valuedouble;
	n = molt_runtime_trace_read(r->ctl->rt, from, lines, 512, &next, &on);
	arr = cJSON_AddArrayToObject(r->reply, "lines");
	for (size_t i = 0; arr && i < n; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(lines[i]));
	cJSON_AddNumberToObject(r->reply, "next", (double)next);
	cJSON_AddBoolToObject(r->reply, "on", on);
	molt_free(lines);
	return MOLT_OK;
}

int molt__ctl_op_trace_stop(molt__ctl_req *r, molt_err *err)
{
	(void)err;
	molt_runtime_trace_stop(r->ctl->rt, "stopped by molt trace");
	return MOLT_OK;
}
