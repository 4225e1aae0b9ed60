/* molt trace (trace.h): start, stop, the lines, the dispatch wrapper. */
#include "trace.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "molt/common.h"

#include "obs.h"
#include "proc.h"
#include "rt.h"

#include "molt/banned.h"

#define PAYLOAD_MAX 48 /* payload bytes shown */

int molt__trace_init(molt_runtime *rt)
{
	molt__trace *t = &rt->trace;

	t->lines = molt_calloc(MOLT__TRACE_LINES, sizeof(*t->lines));
	if (!t->lines)
		return MOLT_ENOMEM;
	pthread_mutex_init(&t->mu, NULL);
	return MOLT_OK;
}

/* Clear the flags and drop the references (mu held). */
static void unflag_all(molt__trace *t)
{
	for (size_t i = 0; i < t->n_vers; i++) {
		atomic_fetch_and(&t->vers[i]->is_old, ~MOLT__V_TRACED);
		molt__version_unref(t->vers[i]);
	}
	t->n_vers = 0;
}

void molt__trace_release(molt_runtime *rt)
{
	molt__trace *t = &rt->trace;

	if (!t->lines)
		return;
	unflag_all(t);
	molt_free(t->vers);
	molt_free(t->lines);
	t->lines = NULL;
	pthread_mutex_destroy(&t->mu);
}

/* payload, shortened and escaped, into out. */
static void escape(char *out, size_t size, const void *data, size_t len)
{
	const unsigned char *s = data;
	size_t o = 0;

	out[o++] = '"';
	for (size_t i = 0; s && i < len && i < PAYLOAD_MAX && o + 6 < size;
	     i++) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c >= 0x20 && c < 0x7f) {
			out[o++] = (char)c;
		} else {
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
		}
	}
	out[o++] = '"';
	if (len > PAYLOAD_MAX && o + 4 < size)
		o += (size_t)snprintf(out + o, size - o, "...");
	out[o < size ? o : size - 1] = '\0';
}

static void stamp(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, size, "%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%06ld", ts.tv_nsec / 1000);
}

/* Append a line (mu held). */
static void put_line(molt__trace *t, const char *text)
{
	snprintf(t->lines[t->seq % MOLT__TRACE_LINES], MOLT__TRACE_LINE, "%s",
		 text);
	t->seq++;
}

static void stop_locked(molt__trace *t, const char *why)
{
	char line[MOLT__TRACE_LINE], ts[32];

	if (!t->on)
		return;
	t->on = 0;
	unflag_all(t);
	snprintf(t->why, sizeof(t->why), "%s", why);
	stamp(ts, sizeof(ts));
	snprintf(line, sizeof(line), "%s trace stopped: %s", ts, why);
	put_line(t, line);
}

/* Write one event line for pid; stops the trace at its limits. */
static void event(molt_runtime *rt, molt_pid pid, const char *what)
{
	molt__trace *t = &rt->trace;
	char line[MOLT__TRACE_LINE], ts[32], pb[32], why[96];
	uint64_t now = molt_now_ms();

	stamp(ts, sizeof(ts));
	snprintf(line, sizeof(line), "%s %s %s", ts,
		 molt_pid_format(pid, pb, sizeof(pb)), what);
	pthread_mutex_lock(&t->mu);
	if (!t->on) {
		pthread_mutex_unlock(&t->mu);
		return;
	}
	if (now - t->win_ms >= 1000) {
		t->win_ms = now;
		t->win_n = 0;
	}
	put_line(t, line);
	t->n++;
	t->win_n++;
	if (t->n >= t->limit) {
		snprintf(why, sizeof(why), "%llu events (the limit)",
			 (unsigned long long)t->n);
		stop_locked(t, why);
	} else if (t->win_n > t->rate) {
		snprintf(why, sizeof(why), "more than %llu events in a second",
			 (unsigned long long)t->rate);
		stop_locked(t, why);
	} else if (now >= t->deadline_ms) {
		stop_locked(t, "time limit");
	}
	pthread_mutex_unlock(&t->mu);
}

static int is_target(molt_runtime *rt, molt_proc *p)
{
	molt__trace *t = &rt->trace;
	int yes;

	pthread_mutex_lock(&t->mu);
	yes = t->on && (t->pid ? p->pid == t->pid
			       : strcmp(p->ver->desc->name, t->module) == 0);
	pthread_mutex_unlock(&t->mu);
	return yes;
}

static const char *kind_name(int kind)
{
	static const char *const names[] = {"?",    "call",  "cast",
					    "info", "timer", "exit",
					    "down", "reply", "timeout"};

	return kind >= 0 && kind < (int)(sizeof(names) / sizeof(names[0]))
		       ? names[kind]
		       : "tcp";
}

/* Between molt__trace_begin and molt__trace_end on one thread. */
static _Thread_local struct {
	molt_pid pid;	/* the process */
	uint64_t red;	/* its reductions before the callback */
	uint64_t t0_ns; /* when it was entered */
} tok;

int molt__trace_begin(molt_runtime *rt, molt_proc *p, const molt__msg *m)
{
	char what[MOLT__TRACE_LINE], pl[PAYLOAD_MAX * 4 + 8], pb[32];

	if (!is_target(rt, p))
		return 0;
	tok.pid = p->pid;
	tok.red = atomic_load_explicit(&p->reductions, memory_order_relaxed);
	escape(pl, sizeof(pl), m->data, m->len);
	snprintf(what, sizeof(what), "%s receive %s from %s %s",
		 p->ver->desc->name, kind_name(m->kind),
		 m->from ? molt_pid_format(m->from, pb, sizeof(pb)) : "-", pl);
	event(rt, tok.pid, what);
	snprintf(what, sizeof(what), "%s enter handle_%s", p->ver->desc->name,
		 m->kind == MOLT_MSG_CALL   ? "call"
		 : m->kind == MOLT_MSG_CAST ? "cast"
					    : "info");
	event(rt, tok.pid, what);
	tok.t0_ns = molt__now_ns();
	return 1;
}

void molt__trace_end(molt_runtime *rt, molt_proc *p)
{
	char what[MOLT__TRACE_LINE];
	uint64_t red =
		atomic_load_explicit(&p->reductions, memory_order_relaxed);

	snprintf(what, sizeof(what), "%s leave after %.1f us%s",
		 p->ver->desc->name, (double)(molt__now_ns() - tok.t0_ns) / 1e3,
		 red == tok.red			     ? " (not handled)"
		 : molt__pf_has(p, MOLT__PF_EXITING) ? " (exiting)"
						     : "");
	event(rt, tok.pid, what);
}

void molt__trace_send(molt_runtime *rt, molt_proc *p, molt_pid to, int kind,
		      const void *data, size_t len)
{
	char what[MOLT__TRACE_LINE], pl[PAYLOAD_MAX * 4 + 8], pb[32];

	escape(pl, sizeof(pl), data, len);
	snprintf(what, sizeof(what), "%s send %s to %s %s", p->ver->desc->name,
		 kind_name(kind), molt_pid_format(to, pb, sizeof(pb)), pl);
	event(rt, p->pid, what);
}

/* Flag v (mu held): referenced until the trace stops. */
static void flag(molt__trace *t, molt__version *v)
{
	for (size_t i = 0; i < t->n_vers; i++)
		if (t->vers[i] == v)
			return;
	if (t->n_vers == t->cap_vers) {
		size_t cap = t->cap_vers ? 2 * t->cap_vers : 8;
		molt__version **nv = molt_realloc(t->vers, cap * sizeof(*nv));

		if (!nv)
			return;
		t->vers = nv;
		t->cap_vers = cap;
	}
	molt__version_ref(v);
	atomic_fetch_or(&v->is_old, MOLT__V_TRACED);
	t->vers[t->n_vers++] = v;
}

/* Flag the version of every target process now. */
static size_t flag_targets(molt_runtime *rt)
{
	molt__trace *t = &rt->trace;
	unsigned hw = atomic_load(&rt->hw);
	size_t n = 0;

	for (uint32_t i = 0; i < hw; i++) {
		molt_proc *p = molt__proc_at(rt, i);

		if (!p)
			continue;
		molt__spin_lock(&p->lock);
		if (p->pid && p->ver &&
		    (t->pid ? p->pid == t->pid
			    : strcmp(p->ver->desc->name, t->module) == 0)) {
			flag(t, p->ver);
			n++;
		}
		molt__spin_unlock(&p->lock);
	}
	return n;
}

int molt_runtime_trace_start(molt_runtime *rt, const molt_trace_options *o,
			     size_t *procs_out, molt_err *err)
{
	molt__trace *t = &rt->trace;
	char line[MOLT__TRACE_LINE], ts[32];
	size_t n;

	if (!o->pid && !o->module)
		return molt_err_set(err, MOLT_EINVAL, "trace needs a target");
	pthread_mutex_lock(&t->mu);
	stop_locked(t, "replaced by a new trace");
	t->pid = o->pid;
	snprintf(t->module, sizeof(t->module), "%s", o->pid ? "" : o->module);
	t->limit = o->limit ? o->limit : 1000;
	t->rate = o->rate ? o->rate : 1000;
	t->deadline_ms = molt_now_ms() + (o->seconds ? o->seconds : 60) * 1000;
	t->n = t->win_n = 0;
	t->win_ms = molt_now_ms();
	t->why[0] = '\0';
	t->on = 1;
	n = flag_targets(rt);
	stamp(ts, sizeof(ts));
	snprintf(line, sizeof(line),
		 "%s trace started: %zu process(es), stops after %llu events, "
		 "above %llu a second or in %llu s",
		 ts, n, (unsigned long long)t->limit,
		 (unsigned long long)t->rate,
		 (unsigned long long)(o->seconds ? o->seconds : 60));
	put_line(t, line);
	if (!n)
		stop_locked(t, "no such process");
	pthread_mutex_unlock(&t->mu);
	if (procs_out)
		*procs_out = n;
	return n ? MOLT_OK
		 : molt_err_set(err, MOLT_ENOTFOUND,
				"trace: no process to "
				"trace");
}

void molt_runtime_trace_stop(molt_runtime *rt, const char *why)
{
	molt__trace *t = &rt->trace;

	pthread_mutex_lock(&t->mu);
	stop_locked(t, why ? why : "stopped");
	pthread_mutex_unlock(&t->mu);
}

size_t molt_runtime_trace_read(molt_runtime *rt, uint64_t since,
			       char (*out)[256], size_t max, uint64_t *next_out,
			       int *on_out)
{
	molt__trace *t = &rt->trace;
	uint64_t first, s;
	size_t n = 0;

	pthread_mutex_lock(&t->mu);
	if (t->on && molt_now_ms() >= t->deadline_ms)
		stop_locked(t, "time limit");
	first = t->seq > MOLT__TRACE_LINES ? t->seq - MOLT__TRACE_LINES : 0;
	s = since > first ? since : first;
	if (s > t->seq)
		s = t->seq;
	for (; s < t->seq && n < max; s++)
		memcpy(out[n++], t->lines[s % MOLT__TRACE_LINES], 256);
	if (next_out)
		*next_out = s;
	if (on_out)
		*on_out = t->on || s < t->seq;
	pthread_mutex_unlock(&t->mu);
	return n;
}
