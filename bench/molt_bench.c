/*
 * molt_bench: the molt side of `make bench` (bench/run.sh).
 *
 *   molt_bench spawn|ring|cast|call|idle [--runs R] [--schedulers S]
 *   molt_bench ring --cpu ...   (CPU ns per hop instead of hops per second)
 *   molt_bench upgrade [--n N] [--down] [--runs R]
 *
 * Each run happens in a fresh child process with a fresh runtime (so that
 * memory figures start from a clean heap) and prints `name value unit`
 * lines on stdout; bench/run.sh takes the median over the runs. The work
 * is the same as bench/erlang/beam_bench.erl does on the BEAM; see
 * docs/benchmarks.md.
 */
#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "molt/buf.h"
#include "molt/common.h"
#include "molt/module.h"
#include "molt/runtime.h"

#include "bench_proc.h"

#include "molt/banned.h"

#define SPAWN_N	     1000000u
#define RING_SIZE    1000u
#define RING_HOPS    1000000u
#define CAST_SENDERS 100u
#define CAST_TOTAL   1000000u
#define CALLS	     100000u
#define IDLE_PROCS   10000u
#define IDLE_SECONDS 5u
#define LONG_MS	     600000u /* a call that waits for a whole benchmark */

typedef struct bopts {
	const char *what;    /* the subcommand */
	unsigned runs;	     /* repetitions */
	unsigned schedulers; /* 0: one per core */
	int cpu;	     /* ring: print CPU ns per hop instead */
	uint64_t n;	     /* upgrade: counters */
	int down;	     /* upgrade: then downgrade */
} bopts;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void line(const char *name, double v, const char *unit)
{
	printf("%s %.6g %s\n", name, v, unit);
	fflush(stdout);
}

static void progress(const char *fmt, ...) MOLT_PRINTF(1, 2);

static void progress(const char *fmt, ...)
{
	va_list ap;

	fputs("  [molt] ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int fail(const char *what, const molt_err *err)
{
	fprintf(stderr, "molt_bench: %s: %s\n", what,
		err && err->msg[0] ? err->msg : "failed");
	return 1;
}

/* A started runtime with bench_proc loaded. */
static int setup(molt_runtime **out, unsigned schedulers)
{
	molt_runtime_options o = MOLT_RUNTIME_OPTIONS_INIT;
	molt_err err = MOLT_ERR_INIT;
	molt_runtime *rt;

	o.schedulers = schedulers;
	if (molt_runtime_new(&rt, &o, &err) < 0)
		return fail("runtime_new", &err);
	if (molt_runtime_start(rt, &err) < 0)
		return fail("runtime_start", &err);
	if (molt_runtime_load(rt, MOLT_BENCH_MODULE, "bench_proc", 0, NULL, 0,
			      &err) < 0)
		return fail(MOLT_BENCH_MODULE, &err);
	*out = rt;
	return 0;
}

static int spawn_role(molt_runtime *rt, molt_pid *out, uint32_t role,
		      uint64_t a, uint64_t b)
{
	bench_args args = {role, 0, a, b};
	molt_err err = MOLT_ERR_INIT;

	if (molt_runtime_spawn(rt, out, "bench_proc", &args, sizeof(args),
			       &err) < 0)
		return fail("spawn bench_proc", &err);
	return 0;
}

/* Call pid with one tagged message; the reply goes to *out (may be NULL). */
static int call_tag(molt_runtime *rt, molt_reply_buf *out, molt_pid pid,
		    uint32_t tag, uint64_t v)
{
	bench_msg m = {tag, 0, v};
	molt_reply_buf r = {NULL, 0};
	molt_err err = MOLT_ERR_INIT;

	if (molt_runtime_call(rt, &r, pid, &m, sizeof(m), LONG_MS, &err) < 0)
		return fail("call", &err);
	if (out)
		*out = r;
	else
		molt_free(r.data);
	return 0;
}

/* CPU time used by this process (all threads), in seconds. */
static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Resident set size of this process, in bytes. */
static double rss_bytes(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

/* CPU time of this process in ns: the sum over its threads of the first
 * field of /proc/self/task/TID/schedstat (same as beam_bench.erl). */
static double cpu_ns(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	double sum = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[300];
		unsigned long long ns;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/schedstat",
			 e->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		if (fscanf(f, "%llu", &ns) == 1)
			sum += (double)ns;
		fclose(f);
	}
	closedir(d);
	return sum;
}

/* --- the benchmarks: one run each, in a fresh process --- */

static int run_spawn(const bopts *o)
{
	molt_runtime_stats st;
	molt_runtime *rt;
	molt_pid spawner;
	double rss0, rss1, t0, t1;

	if (setup(&rt, o->schedulers) ||
	    spawn_role(rt, &spawner, BENCH_SPAWNER, 0, 0))
		return 1;
	rss0 = rss_bytes();
	t0 = now_s();
	if (call_tag(rt, NULL, spawner, BENCH_T_SPAWN, SPAWN_N))
		return 1;
	t1 = now_s();
	rss1 = rss_bytes();
	molt_runtime_get_stats(rt, &st);
	if (st.processes < SPAWN_N) {
		fprintf(stderr, "molt_bench: only %zu processes alive\n",
			st.processes);
		return 1;
	}
	progress("spawn 1M: %.3f s, %.1f bytes/process (rss), struct %zu",
		 t1 - t0, (rss1 - rss0) / SPAWN_N, st.proc_struct_bytes);
	line("spawn_1m_seconds", t1 - t0, "s");
	line("process_bytes", (rss1 - rss0) / SPAWN_N, "bytes");
	return 0;
}

static int run_ring(const bopts *o)
{
	molt_pid first = 0, last = 0, next = 0;
	char name[64];
	bench_msg close;
	molt_runtime *rt;
	double t0, t1, c0, c1;
	unsigned i;

	if (setup(&rt, o->schedulers))
		return 1;
	/* Spawn from the end: each node gets its next; then close the ring. */
	for (i = 0; i < RING_SIZE; i++) {
		if (spawn_role(rt, &first, BENCH_RING, next, 0))
			return 1;
		if (i == 0)
			last = first;
		next = first;
	}
	close = (bench_msg){BENCH_T_NEXT, 0, first};
	if (molt_runtime_send(rt, last, &close, sizeof(close)) < 0)
		return fail("send next", NULL);
	c0 = cpu_s();
	t0 = now_s();
	/* RING_HOPS is a multiple of RING_SIZE: the last hop lands on first. */
	if (call_tag(rt, NULL, first, BENCH_T_GO, RING_HOPS))
		return 1;
	t1 = now_s();
	c1 = cpu_s();
	if (o->cpu) {
		snprintf(name, sizeof(name), "ring_cpu_ns_per_hop_s%u",
			 molt_runtime_schedulers(rt));
		line(name, (c1 - c0) * 1e9 / RING_HOPS, "ns");
		return 0;
	}
	progress("ring (%u schedulers): %.0f msg/s",
		 molt_runtime_schedulers(rt), RING_HOPS / (t1 - t0));
	snprintf(name, sizeof(name), "ring_msgs_per_sec_s%u",
		 molt_runtime_schedulers(rt));
	line(name, RING_HOPS / (t1 - t0), "msg/s");
	return 0;
}

static int run_cast(const bopts *o)
{
	molt_pid sink, senders[CAST_SENDERS];
	bench_msg go = {BENCH_T_GO, 0, 0};
	molt_runtime *rt;
	double t0, t1;
	unsigned i;

	if (setup(&rt, o->schedulers) ||
	    spawn_role(rt, &sink, BENCH_SINK, CAST_TOTAL, 0))
		return 1;
	for (i = 0; i < CAST_SENDERS; i++)
		if (spawn_role(rt, &senders[i], BENCH_SENDER, sink,
			       CAST_TOTAL / CAST_SENDERS))
			return 1;
	t0 = now_s();
	for (i = 0; i < CAST_SENDERS; i++)
		if (molt_runtime_send(rt, senders[i], &go, sizeof(go)) < 0)
			return fail("send go", NULL);
	if (call_tag(rt, NULL, sink, BENCH_T_WAIT, 0))
		return 1;
	t1 = now_s();
	progress("cast: %.0f msg/s", CAST_TOTAL / (t1 - t0));
	line("cast_msgs_per_sec", CAST_TOTAL / (t1 - t0), "msg/s");
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n). */
static uint64_t pct(const uint64_t *v, size_t n, unsigned p)
{
	size_t k = (p * n + 99) / 100;

	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1];
}

static int run_call(const bopts *o)
{
	molt_pid server, caller;
	molt_reply_buf r;
	molt_runtime *rt;
	uint64_t *lat;
	double p50, p99;

	if (setup(&rt, o->schedulers) ||
	    spawn_role(rt, &server, BENCH_SINK, 0, 0) ||
	    spawn_role(rt, &caller, BENCH_CALLER, server, CALLS) ||
	    call_tag(rt, &r, caller, BENCH_T_RUN, 0))
		return 1;
	if (r.len != CALLS * sizeof(uint64_t)) {
		fprintf(stderr, "molt_bench: caller answered %zu bytes\n",
			r.len);
		return 1;
	}
	lat = (uint64_t *)(void *)r.data;
	qsort(lat, CALLS, sizeof(*lat), cmp_u64);
	p50 = (double)pct(lat, CALLS, 50) / 1000;
	p99 = (double)pct(lat, CALLS, 99) / 1000;
	molt_free(r.data);
	progress("call rtt: p50 %.2f us, p99 %.2f us", p50, p99);
	line("call_rtt_p50_us", p50, "us");
	line("call_rtt_p99_us", p99, "us");
	return 0;
}

static int run_idle(const bopts *o)
{
	struct timespec one = {1, 0}, idle = {IDLE_SECONDS, 0};
	molt_runtime *rt;
	double c0, c1, t0, t1, pcent;
	molt_pid pid;
	unsigned i;

	if (setup(&rt, o->schedulers))
		return 1;
	for (i = 0; i < IDLE_PROCS; i++)
		if (spawn_role(rt, &pid, BENCH_IDLE, 0, 0))
			return 1;
	nanosleep(&one, NULL);
	c0 = cpu_ns();
	t0 = now_s();
	nanosleep(&idle, NULL);
	c1 = cpu_ns();
	t1 = now_s();
	pcent = 100 * (c1 - c0) / 1e9 / (t1 - t0);
	progress("idle: %.3f %% of a core", pcent);
	line("idle_cpu_percent", pcent, "%");
	return 0;
}

/* --- the upgrade (issue 3) --- */

#define CLIENTS	     8u
#define WARMUP_MS    500u
#define SETTLE_MS    300u
#define BATCH_WINDOW 256u  /* outside calls in flight at once */
#define SUP_CHILDREN 1000u /* counters per supervisor */

/* Per-process pauses of one evaluation, from the evaluator's report. */
typedef struct pause_stats {
	double max_ms; /* longest suspension-to-resume */
	double p99_ms; /* 99th percentile (nearest rank) */
	size_t count;  /* processes paused */
} pause_stats;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_us(unsigned long us)
{
	struct timespec ts = {(time_t)(us / 1000000),
			      (long)(us % 1000000) * 1000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void sleep_ms(unsigned ms)
{
	sleep_us(ms * 1000ul);
}

/*
 * Evaluate a low-level script (JSON) with the runtime's evaluator and fill
 * *ps from its per-process pause report (suspension to resume). CMake sets
 * MOLT_BENCH_HAVE_EVAL when runtime.h declares molt_runtime_eval.
 */
#if MOLT_BENCH_HAVE_EVAL
#define HAVE_EVALUATOR 1

static int upgrade_eval(molt_runtime *rt, const char *script, pause_stats *ps,
			molt_err *err)
{
	molt_eval_options eo = MOLT_EVAL_OPTIONS_INIT;
	molt_eval_report rep;
	size_t i;
	int rc;

	eo.lib_dir = MOLT_BENCH_DIR; /* LIB_DIR/counterapp-<vsn>/counter.so */
	rc = molt_runtime_eval(rt, script, &eo, &rep, err);
	for (i = 0; i < rep.n_steps; i++)
		progress("  %-18s %-10s %8.3f ms %zu processes",
			 rep.steps[i].name, rep.steps[i].detail,
			 (double)rep.steps[i].ns / 1e6, rep.steps[i].procs);
	ps->count = rep.paused;
	ps->max_ms = (double)rep.pause_max_ns / 1e6;
	ps->p99_ms = (double)rep.pause_p99_ns / 1e6;
	molt_eval_report_release(&rep);
	return rc;
}
#else
#define HAVE_EVALUATOR 0

static int upgrade_eval(molt_runtime *rt, const char *script, pause_stats *ps,
			molt_err *err)
{
	(void)rt;
	(void)script;
	(void)ps;
	return molt_err_set(err, MOLT_ENOTFOUND,
			    "no script evaluator in this runtime yet");
}
#endif

static const char *const up_script =
	"[[\"load_object_code\", [\"counterapp\", \"2\", [\"counter\"]]],"
	" \"point_of_no_return\","
	" [\"suspend\", [\"counter\"]],"
	" [\"load\", [\"counter\", \"brutal_purge\", \"brutal_purge\"]],"
	" [\"code_change\", \"up\", [[\"counter\", []]]],"
	" [\"resume\", [\"counter\"]],"
	" [\"purge\", [\"counter\"]]]";

static const char *const down_script =
	"[[\"load_object_code\", [\"counterapp\", \"1\", [\"counter\"]]],"
	" \"point_of_no_return\","
	" [\"suspend\", [\"counter\"]],"
	" [\"code_change\", \"down\", [[\"counter\", []]]],"
	" [\"load\", [\"counter\", \"brutal_purge\", \"brutal_purge\"]],"
	" [\"resume\", [\"counter\"]],"
	" [\"purge\", [\"counter\"]]]";

/* One evaluation and its window. */
typedef struct upgrade_win {
	uint64_t t0, t1; /* CLOCK_MONOTONIC ns around the evaluation */
	pause_stats ps;	 /* the evaluator's pauses */
} upgrade_win;

static int upgrade_step(molt_runtime *rt, const char *script, upgrade_win *w)
{
	molt_err err = MOLT_ERR_INIT;
	int rc;

	w->t0 = now_ns();
	rc = upgrade_eval(rt, script, &w->ps, &err);
	w->t1 = now_ns();
	if (rc < 0)
		return fail("evaluate", &err);
	progress("evaluation: %.3f s, %zu processes paused, pause max %.2f ms "
		 "p99 %.2f ms",
		 (double)(w->t1 - w->t0) / 1e9, w->ps.count, w->ps.max_ms,
		 w->ps.p99_ms);
	return 0;
}

/*
 * Many calls from outside, all in flight at once (a synchronous call per
 * counter would cost a thread wake-up each): the answers land in slots,
 * written by molt_call_cb on a scheduler thread.
 */
typedef struct answer {
	int status;    /* MOLT_OK or the call's error */
	char text[40]; /* the answer (a pid, or a count as 8 bytes) */
	size_t len;    /* its length */
} answer;

typedef struct batch {
	answer *slots;	    /* one per call */
	atomic_size_t done; /* calls answered */
} batch;

typedef struct batch_ref {
	batch *b;
	size_t i;
} batch_ref;

static void batch_cb(int status, const void *data, size_t len, void *payload)
{
	batch_ref *r = payload;
	answer *a = &r->b->slots[r->i];

	a->status = status;
	a->len = len < sizeof(a->text) - 1 ? len : sizeof(a->text) - 1;
	if (status == MOLT_OK && a->len)
		memcpy(a->text, data, a->len);
	atomic_fetch_add(&r->b->done, 1);
}

/* Call to[i % nto] with req for i in [0, n); the answers are in *out
 * (molt_free). */
static int batch_call(molt_runtime *rt, answer **out, const molt_pid *to,
		      size_t nto, size_t n, const char *req)
{
	batch b = {molt_calloc(n, sizeof(answer)), 0};
	batch_ref *refs = molt_calloc(n, sizeof(*refs));
	molt_err err = MOLT_ERR_INIT;
	size_t i;

	if (!b.slots || !refs)
		return fail("out of memory", NULL);
	for (i = 0; i < n; i++) {
		/* a window: the runtime's table of outside calls is not
		 * made for 100,000 at once */
		while (i - atomic_load(&b.done) >= BATCH_WINDOW)
			sleep_us(50);
		refs[i] = (batch_ref){&b, i};
		if (molt_runtime_call_async(rt, to[i % nto], req, strlen(req),
					    LONG_MS, batch_cb, &refs[i],
					    &err) < 0)
			return fail("call_async", &err);
	}
	while (atomic_load(&b.done) < n)
		sleep_us(200);
	molt_free(refs);
	*out = b.slots;
	return 0;
}

/*
 * Start n counters under supervision: a top one_for_one supervisor with
 * ceil(n / SUP_CHILDREN) simple_one_for_one supervisors (counter_sup_<i>)
 * under it, each with up to SUP_CHILDREN counters. (One supervisor with
 * 100,000 children, as on the BEAM, would take minutes to start: the
 * runtime's link insertion walks the supervisor's whole link list. The
 * molt evaluator finds processes through its registry, so the shape of
 * the tree does not matter to the upgrade.) Pids go to *out (molt_free).
 */
static int start_counters(molt_runtime *rt, molt_pid **out, uint64_t n)
{
	size_t nsup = (size_t)((n + SUP_CHILDREN - 1) / SUP_CHILDREN), i;
	molt_pid top, *sups = molt_calloc(nsup, sizeof(*sups)), *pids;
	molt_err err = MOLT_ERR_INIT;
	molt_buf spec = MOLT_BUF_INIT;
	answer *ans;
	int rc = 0;

	if (!sups || !(pids = molt_calloc(n, sizeof(*pids))))
		return fail("out of memory", NULL);
	rc |= molt_buf_puts(&spec, "{\"strategy\": \"one_for_one\", "
				   "\"intensity\": 10, \"period\": 1, "
				   "\"children\": [");
	for (i = 0; i < nsup; i++)
		rc |= molt_buf_printf(
			&spec,
			"%s{\"id\": \"sup%zu\", \"supervisor\": {"
			"\"strategy\": \"simple_one_for_one\", \"intensity\": "
			"10,"
			" \"period\": 1, \"name\": \"counter_sup_%zu\", "
			"\"children\": [{\"id\": \"counter\", \"module\": "
			"\"counter\", \"restart\": \"permanent\", "
			"\"shutdown\": 5000}]}}",
			i ? ", " : "", i, i);
	rc |= molt_buf_puts(&spec, "]}");
	if (rc < 0)
		return fail("out of memory", NULL);
	if (molt_runtime_start_supervisor(rt, &top, spec.ptr, &err) < 0)
		return fail("start the counters' supervisors", &err);
	molt_buf_release(&spec);
	for (i = 0; i < nsup; i++) {
		char name[48];

		snprintf(name, sizeof(name), "counter_sup_%zu", i);
		if (!(sups[i] = molt_runtime_whereis(rt, name)))
			return fail(name, NULL);
	}
	if (batch_call(rt, &ans, sups, nsup, n, "start_child x"))
		return 1;
	for (i = 0; i < n; i++) {
		pids[i] = ans[i].status == MOLT_OK
				  ? molt_runtime_resolve(rt, ans[i].text)
				  : 0;
		if (!pids[i])
			return fail("start_child: no pid in the answer", NULL);
	}
	molt_free(ans);
	molt_free(sups);
	*out = pids;
	return 0;
}

/* Give the clients the counters and let them call. */
static int start_clients(molt_runtime *rt, molt_pid *clients,
			 const molt_pid *pids, uint64_t n)
{
	size_t len = sizeof(bench_msg) + n * sizeof(molt_pid);
	bench_msg hdr = {BENCH_T_PIDS, 0, n};
	char *buf = molt_malloc(len);
	unsigned i;

	if (!buf)
		return fail("out of memory", NULL);
	memcpy(buf, &hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), pids, n * sizeof(molt_pid));
	for (i = 0; i < CLIENTS; i++)
		if (spawn_role(rt, &clients[i], BENCH_CLIENT, n,
			       7919u * (i + 1)) ||
		    molt_runtime_send(rt, clients[i], buf, len) < 0)
			return fail("start client", NULL);
	molt_free(buf);
	return 0;
}

/* Stop the clients; their records are appended to *recs (molt_free). */
static int stop_clients(molt_runtime *rt, const molt_pid *clients,
			bench_call **recs, size_t *nrec, uint64_t *total)
{
	unsigned i;

	*recs = NULL;
	*nrec = 0;
	*total = 0;
	for (i = 0; i < CLIENTS; i++) {
		molt_reply_buf r = {NULL, 0};
		bench_calls h;
		bench_call *grown;

		if (call_tag(rt, &r, clients[i], BENCH_T_STOP, 0))
			return 1;
		if (r.len < sizeof(h))
			return fail("client answer too short", NULL);
		memcpy(&h, r.data, sizeof(h));
		if (r.len != sizeof(h) + h.nrec * sizeof(bench_call))
			return fail("client answer has the wrong size", NULL);
		grown = molt_realloc(*recs,
				     (*nrec + h.nrec + 1) * sizeof(**recs));
		if (!grown)
			return fail("out of memory", NULL);
		*recs = grown;
		memcpy(*recs + *nrec, r.data + sizeof(h),
		       h.nrec * sizeof(bench_call));
		*nrec += h.nrec;
		*total += h.total;
		molt_free(r.data);
	}
	return 0;
}

static void report(const char *what, uint64_t n, const upgrade_win *w,
		   const bench_call *recs, size_t nrec)
{
	uint64_t *lat = molt_calloc(nrec + 1, sizeof(*lat));
	size_t i, k = 0, failed = 0;
	char name[96];

	for (i = 0; lat && i < nrec; i++) {
		if (recs[i].start >= w->t1 ||
		    recs[i].start + recs[i].lat <= w->t0)
			continue;
		lat[k++] = recs[i].lat;
		failed += !recs[i].ok;
	}
	qsort(lat, k, sizeof(*lat), cmp_u64);
	progress("%s_%llu: %zu processes paused, %zu calls overlapped the "
		 "window",
		 what, (unsigned long long)n, w->ps.count, k);
#define OUT(suffix, v, unit)                                                   \
	do {                                                                   \
		snprintf(name, sizeof(name), "%s_%llu_%s", what,               \
			 (unsigned long long)n, suffix);                       \
		line(name, v, unit);                                           \
	} while (0)
	OUT("seconds", (double)(w->t1 - w->t0) / 1e9, "s");
	OUT("pause_max_ms", w->ps.max_ms, "ms");
	OUT("pause_p99_ms", w->ps.p99_ms, "ms");
	OUT("failed_calls", (double)failed, "calls");
	OUT("call_max_ms", k ? (double)lat[k - 1] / 1e6 : 0, "ms");
	OUT("call_p99_ms", k ? (double)pct(lat, k, 99) / 1e6 : 0, "ms");
#undef OUT
	molt_free(lat);
}

/* Every incr a client made was handled exactly once. */
static void check_counts(molt_runtime *rt, const molt_pid *pids, uint64_t n,
			 uint64_t total)
{
	uint64_t sum = 0, v, i;
	answer *ans;

	if (batch_call(rt, &ans, pids, n, n, "get"))
		return;
	for (i = 0; i < n; i++) {
		if (ans[i].status != MOLT_OK || ans[i].len != sizeof(v)) {
			progress("WARNING: get from counter %llu failed",
				 (unsigned long long)i);
			molt_free(ans);
			return;
		}
		memcpy(&v, ans[i].text, sizeof(v));
		sum += v;
	}
	molt_free(ans);
	if (sum != total)
		progress("WARNING: counters sum to %llu, clients made %llu "
			 "calls",
			 (unsigned long long)sum, (unsigned long long)total);
	else
		progress("counters sum to the %llu calls the clients made",
			 (unsigned long long)total);
}

static int run_upgrade(const bopts *o)
{
	molt_pid clients[CLIENTS], *pids;
	upgrade_win up, down;
	molt_err err = MOLT_ERR_INIT;
	bench_call *recs;
	size_t nrec;
	uint64_t total;
	bench_msg mark;
	molt_runtime *rt;
	double t0;
	unsigned i;

	if (setup(&rt, o->schedulers))
		return 1;
	if (molt_runtime_load(rt, MOLT_BENCH_DIR "/counterapp-1/counter.so",
			      "counter", 0, NULL, 0, &err) < 0)
		return fail("load counter v1", &err);
	t0 = now_s();
	if (start_counters(rt, &pids, o->n))
		return 1;
	progress("%llu counters started in %.3f s", (unsigned long long)o->n,
		 now_s() - t0);
	if (start_clients(rt, clients, pids, o->n))
		return 1;
	sleep_ms(WARMUP_MS);
	mark = (bench_msg){BENCH_T_MARK, 0, now_ns()};
	for (i = 0; i < CLIENTS; i++)
		molt_runtime_send(rt, clients[i], &mark, sizeof(mark));
	if (upgrade_step(rt, up_script, &up))
		return 1;
	sleep_ms(SETTLE_MS);
	if (o->down) {
		if (upgrade_step(rt, down_script, &down))
			return 1;
		sleep_ms(SETTLE_MS);
	}
	if (stop_clients(rt, clients, &recs, &nrec, &total))
		return 1;
	report("upgrade", o->n, &up, recs, nrec);
	if (o->down)
		report("downgrade", o->n, &down, recs, nrec);
	check_counts(rt, pids, o->n, total);
	molt_free(recs);
	molt_free(pids);
	return 0;
}

/* One simple_one_for_one supervisor; n counters started under it
 * (start_child calls, BATCH_WINDOW in flight). Time until all exist. */
static int run_sup(const bopts *o)
{
	const char *spec = "{\"strategy\": \"simple_one_for_one\", "
			   "\"intensity\": 10, \"period\": 1, \"children\": "
			   "[{\"id\": \"counter\", \"module\": \"counter\"}]}";
	molt_err err = MOLT_ERR_INIT;
	molt_runtime *rt;
	molt_pid sup;
	answer *ans;
	double t0;

	if (setup(&rt, o->schedulers))
		return 1;
	if (molt_runtime_load(rt, MOLT_BENCH_DIR "/counterapp-1/counter.so",
			      "counter", 0, NULL, 0, &err) < 0)
		return fail("load counter v1", &err);
	t0 = now_s();
	if (molt_runtime_start_supervisor(rt, &sup, spec, &err) < 0)
		return fail("start the supervisor", &err);
	if (batch_call(rt, &ans, &sup, 1, o->n, "start_child x"))
		return 1;
	line("sup_start_seconds", now_s() - t0, "s");
	for (size_t i = 0; i < o->n; i++)
		if (ans[i].status != MOLT_OK)
			return fail("start_child", NULL);
	molt_free(ans);
	t0 = now_s();
	if (molt_runtime_exit(rt, sup, "shutdown") < 0 ||
	    molt_runtime_wait(rt, sup, 600000, NULL, 0) < 0)
		return fail("shut the supervisor down", &err);
	line("sup_stop_seconds", now_s() - t0, "s");
	return 0;
}

static void ext_cb(int status, const void *data, size_t len, void *payload)
{
	(void)data;
	(void)len;
	if (status == MOLT_OK)
		atomic_fetch_add((atomic_size_t *)payload, 1);
}

/* n outside calls in flight at once (molt_runtime_call_async, all made
 * before any answer is awaited) to a supervisor ("count"); time until
 * all are answered. */
static int run_ext(const bopts *o)
{
	const char *spec = "{\"strategy\": \"one_for_one\", \"children\": []}";
	molt_err err = MOLT_ERR_INIT;
	atomic_size_t done = 0;
	molt_runtime *rt;
	molt_pid sup;
	double t0;

	if (setup(&rt, o->schedulers))
		return 1;
	if (molt_runtime_start_supervisor(rt, &sup, spec, &err) < 0)
		return fail("start the supervisor", &err);
	t0 = now_s();
	for (size_t i = 0; i < o->n; i++)
		if (molt_runtime_call_async(rt, sup, "count", 5, LONG_MS,
					    ext_cb, &done, &err) < 0)
			return fail("call_async", &err);
	while (atomic_load(&done) < o->n)
		sleep_us(200);
	line("ext_calls_seconds", now_s() - t0, "s");
	return 0;
}

/* --- driver --- */

typedef struct bench {
	const char *name;
	int (*run)(const bopts *o);
} bench;

static const bench benches[] = {
	{"spawn", run_spawn}, {"ring", run_ring}, {"cast", run_cast},
	{"call", run_call},   {"idle", run_idle}, {"upgrade", run_upgrade},
	{"sup", run_sup},     {"ext", run_ext},	  {NULL, NULL},
};

static int usage(void)
{
	fputs("usage: molt_bench spawn|ring|cast|call|idle [--runs R] "
	      "[--schedulers S]\n"
	      "       molt_bench upgrade [--n N] [--down] [--runs R]\n"
	      "       molt_bench sup|ext [--n N] [--runs R]\n",
	      stderr);
	return 2;
}

/* One run in a child process; the child never tears its runtime down
 * (1M processes would take longer to free than to make). */
static int run_once(const bench *b, const bopts *o)
{
	int status;
	pid_t child;

	fflush(stdout);
	if ((child = fork()) < 0) {
		perror("molt_bench: fork");
		return 1;
	}
	if (child == 0) {
		int rc = b->run(o);

		fflush(stdout);
		fflush(stderr);
		_exit(rc);
	}
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "molt_bench: %s run failed (status %d)\n",
			b->name, status);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	bopts o = {NULL, 5, 0, 0, 1000, 0};
	const bench *b;
	unsigned r;
	int i;

	if (argc < 2)
		return usage();
	o.what = argv[1];
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--runs") && i + 1 < argc)
			o.runs = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--schedulers") && i + 1 < argc)
			o.schedulers = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--n") && i + 1 < argc)
			o.n = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--down"))
			o.down = 1;
		else if (!strcmp(argv[i], "--cpu"))
			o.cpu = 1;
		else
			return usage();
	}
	for (b = benches; b->name; b++)
		if (!strcmp(b->name, o.what))
			break;
	if (!b->name || o.runs == 0)
		return usage();
	if (b->run == run_upgrade && !HAVE_EVALUATOR) {
		fputs("molt_bench: upgrade: this runtime has no script "
		      "evaluator yet\n",
		      stderr);
		return 3;
	}
	for (r = 0; r < o.runs; r++)
		if (run_once(b, &o))
			return 1;
	return 0;
}
