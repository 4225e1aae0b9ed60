/* Observability: counters, top, the system monitor's events, the metrics
 * endpoint and the upgrade history. Embedded runtimes and real moltd
 * nodes with the real molt CLI. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "molt/runtime.h"

#include "node_util.h"
#include "rt_util.h"
#include "test_util.h"

/* A runtime with counter, slow and probe loaded and the monitor's
 * thresholds set. */
static molt_runtime *start(unsigned scheds, long long long_queue,
			   long long large_heap)
{
	static const char *const mods[] = {"counter", "slow", "probe"};
	molt_runtime_options o = MOLT_RUNTIME_OPTIONS_INIT;
	molt_err err = MOLT_ERR_INIT;
	molt_runtime *rt;

	o.schedulers = scheds;
	o.long_queue = long_queue;
	o.large_heap = large_heap;
	ck_assert_int_eq(molt_runtime_new(&rt, &o, &err), MOLT_OK);
	for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]); i++)
		ck_assert_msg(molt_runtime_load(rt, rt_fixture(mods[i]), NULL,
						0, NULL, 0, &err) == MOLT_OK,
			      "load %s: %s", mods[i], err.msg);
	ck_assert_int_eq(molt_runtime_start(rt, &err), MOLT_OK);
	return rt;
}

static size_t events_of(molt_runtime *rt, int kind, molt_pid pid)
{
	molt_event ev[64];
	size_t n = molt_runtime_events(rt, 0, ev, 64, NULL), k = 0;

	for (size_t i = 0; i < n; i++)
		k += ev[i].kind == kind && (!pid || ev[i].pid == pid);
	return k;
}

START_TEST(test_counters_count_messages_queue_and_scheduler_work)
{
	molt_runtime *rt = start(2, 0, 0);
	molt_pid c = rt_spawn(rt, "counter", "0");
	molt_err err = MOLT_ERR_INIT;
	molt_sched_stats ss[8];
	molt_proc_info pi;
	uint64_t msgs = 0;
	size_t n;

	/* 40 casts while suspended: the mailbox's high-water mark */
	ck_assert_int_eq(molt_runtime_suspend(rt, c, 1000, &err), MOLT_OK);
	for (int i = 0; i < 40; i++)
		ck_assert_int_eq(molt_runtime_cast(rt, c, "incr", 4), MOLT_OK);
	ck_assert_int_eq(molt_runtime_process_info(rt, c, &pi), MOLT_OK);
	ck_assert_uint_eq(pi.queue_len, 40);
	ck_assert_uint_eq(pi.queue_max, 40);
	ck_assert_int_eq(molt_runtime_resume(rt, c, &err), MOLT_OK);
	/* the casts drain before the calls, or a call queued behind the
	 * last cast would make the high-water mark 41 */
	for (int i = 0; i < 5000; i++) {
		ck_assert_int_eq(molt_runtime_process_info(rt, c, &pi),
				 MOLT_OK);
		if (pi.queue_len == 0)
			break;
		usleep(1000);
	}
	ck_assert_uint_eq(pi.queue_len, 0);
	/* enough turns that some are timed (one in 64 on average) */
	for (int i = 0; i < 3000; i++)
		rt_call(rt, c, "incr");
	ck_assert_int_eq(molt_runtime_process_info(rt, c, &pi), MOLT_OK);
	ck_assert_uint_eq(pi.queue_len, 0);
	ck_assert_uint_eq(pi.queue_max, 40);
	ck_assert_uint_ge(pi.reductions, 3040);
	ck_assert_uint_gt(pi.callback_samples, 0);
	ck_assert_uint_gt(pi.callback_ns, 0);
	ck_assert_uint_gt(pi.callback_max_ns, 0);
	/* a scheduler counts a turn's messages when the turn ends, after
	 * the reply that ended rt_call went out: wait for the last one */
	for (int t = 0; t < 2000; t++) {
		n = molt_runtime_sched_stats(rt, ss, 8);
		ck_assert_uint_eq(n, 2);
		msgs = 0;
		for (size_t i = 0; i < n; i++) {
			msgs += ss[i].messages;
			ck_assert_uint_gt(ss[i].busy_ns + ss[i].idle_ns, 0);
		}
		if (msgs >= 3040)
			break;
		usleep(1000);
	}
	ck_assert_uint_ge(msgs, 3040);
	rt_stop(rt);
}
END_TEST

START_TEST(test_top_finds_the_busiest_without_stopping_the_table)
{
	unsigned procs = getenv("OBS_TOP_PROCS")
				 ? (unsigned)atoi(getenv("OBS_TOP_PROCS"))
				 : 50000;
	molt_runtime *rt = start(2, 0, 0);
	molt_proc_info out[5];
	molt_top_totals t;
	molt_pid busy = 0, *pids = calloc(procs, sizeof(*pids));
	size_t n;

	ck_assert_ptr_nonnull(pids);
	for (unsigned i = 0; i < procs; i++)
		pids[i] = rt_spawn(rt, "counter", "0");
	busy = pids[procs / 2];
	for (int i = 0; i < 50; i++)
		rt_call(rt, busy, "incr");
	n = molt_runtime_top(rt, MOLT_TOP_MESSAGES, out, 5, &t);
	ck_assert_uint_eq(n, 5);
	ck_assert_uint_eq(out[0].pid, busy);
	ck_assert_uint_ge(out[0].reductions, out[1].reductions);
	ck_assert_uint_ge(t.processes, procs);
	ck_assert_uint_ge(t.messages, 50);
	fprintf(stderr,
		"top over %zu processes: %.1f ms, longest lock hold %.1f us\n",
		t.processes, (double)t.scan_ns / 1e6,
		(double)t.hold_max_ns / 1e3);
	ck_assert_uint_lt(t.scan_ns, 1000000000ull);
	ck_assert_uint_lt(t.hold_max_ns, 1000000ull);
	free(pids);
	rt_stop(rt);
}
END_TEST

START_TEST(test_a_long_queue_is_one_event_per_episode)
{
	molt_runtime *rt = start(2, 50, 0);
	molt_pid c = rt_spawn(rt, "counter", "0");
	molt_err err = MOLT_ERR_INIT;
	molt_obs_stats os;

	for (int episode = 1; episode <= 2; episode++) {
		ck_assert_int_eq(molt_runtime_suspend(rt, c, 1000, &err),
				 MOLT_OK);
		for (int i = 0; i < 200; i++)
			molt_runtime_cast(rt, c, "incr", 4);
		ck_assert_uint_eq(events_of(rt, MOLT_EVENT_LONG_QUEUE, c),
				  (size_t)episode);
		ck_assert_int_eq(molt_runtime_resume(rt, c, &err), MOLT_OK);
		ck_assert_str_eq(rt_call(rt, c, "get"),
				 episode == 1 ? "200" : "400");
		/* the watchdog ends the episode within a tick or two */
		rt_sleep_ms(100);
	}
	molt_runtime_obs_stats(rt, &os);
	ck_assert_uint_eq(os.events[MOLT_EVENT_LONG_QUEUE], 2);
	rt_stop(rt);
}
END_TEST

START_TEST(test_a_large_heap_is_one_event_per_episode)
{
	molt_runtime *rt = start(1, 0, 100000);
	molt_pid p = rt_spawn(rt, "probe", "");
	molt_event ev[8];
	size_t n;

	ck_assert_str_eq(rt_call(rt, p, "alloc 60000"), "ok");
	ck_assert_uint_eq(events_of(rt, MOLT_EVENT_LARGE_HEAP, p), 0);
	ck_assert_str_eq(rt_call(rt, p, "alloc 60000"), "ok");
	ck_assert_str_eq(rt_call(rt, p, "alloc 60000"), "ok");
	ck_assert_uint_eq(events_of(rt, MOLT_EVENT_LARGE_HEAP, p), 1);
	n = molt_runtime_events(rt, 0, ev, 8, NULL);
	ck_assert_uint_eq(n, 1);
	ck_assert_ptr_nonnull(strstr(ev[0].text, "probe"));
	ck_assert_uint_eq(ev[0].threshold, 100000);
	rt_stop(rt);
}
END_TEST

/* --- a real node --- */

#define TREE                                                                   \
	"{\"strategy\":\"one_for_one\",\"children\":["                         \
	"{\"id\":\"c\",\"module\":\"counter\",\"args\":\"0\","                 \
	"\"name\":\"c\"},"                                                     \
	"{\"id\":\"s\",\"module\":\"slow\",\"name\":\"s\"}]}"

static const char *ctl(rt_node *n, const char *line)
{
	static char out[65536];

	ck_assert_int_eq(rt_ctl(n->root, line, out, sizeof(out)), 0);
	ck_assert_msg(!strstr(out, "\"error\""), "%s: %s", line, out);
	return out;
}

/* The node's metrics endpoint (run/metrics.addr) as addr and port. */
static void metrics_addr(rt_node *n, struct sockaddr_in *sa)
{
	char path[512], *t = NULL, *colon;

	snprintf(path, sizeof(path), "%s/run/metrics.addr", n->root);
	for (int i = 0; i < 200 && !(t = molt_test_read_file(path, NULL)); i++)
		rt_sleep_ms(10);
	ck_assert_ptr_nonnull(t);
	colon = strrchr(t, ':');
	ck_assert_ptr_nonnull(colon);
	*colon = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(colon + 1));
	ck_assert_int_eq(inet_pton(AF_INET, t, &sa->sin_addr), 1);
	free(t);
}

static int http_connect(const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (const struct sockaddr *)sa, sizeof(*sa)),
			 0);
	return fd;
}

/* Send req on a fresh connection and read the whole answer (static). */
static const char *http(const struct sockaddr_in *sa, const char *req,
			size_t len)
{
	static char out[1 << 20];
	int fd = http_connect(sa);
	size_t n = 0;
	ssize_t r;

	if (len && send(fd, req, len, MSG_NOSIGNAL) < 0)
		(void)0; /* the server may have closed already */
	while (n < sizeof(out) - 1 &&
	       (r = recv(fd, out + n, sizeof(out) - 1 - n, 0)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(fd);
	return out;
}

START_TEST(
	test_metrics_endpoint_serves_prometheus_text_and_shrugs_off_bad_clients)
{
	static const char *const args[] = {"--metrics-port", "127.0.0.1:0",
					   NULL};
	static char big[20000];
	struct sockaddr_in sa;
	rt_node n;
	int idle[20];
	const char *r;
	char out[4096], path[512];
	FILE *f;

	rt_node_boot_ex(&n, TREE, NULL, args);
	metrics_addr(&n, &sa);
	ctl(&n, "{\"op\":\"call\",\"to\":\"c\",\"payload\":\"incr\"}");
	/* hostile and broken clients first */
	for (int i = 0; i < 20; i++)
		idle[i] = http_connect(&sa); /* more than the 16 slots */
	rt_sleep_ms(100);
	r = http(&sa, "GET /metrics HTTP/1.1\r\n\r\n", 25);
	/* a 503, or a reset if the request was still unread at the close */
	ck_assert_msg(strstr(r, "503") || !*r, "full: %s", r);
	for (int i = 0; i < 20; i++)
		close(idle[i]);
	rt_sleep_ms(100);
	r = http(&sa, "GARBAGE\r\n\r\n", 11);
	ck_assert_msg(strstr(r, "400"), "garbage: %s", r);
	memset(big, 'A', sizeof(big));
	memcpy(big, "GET /", 5);
	r = http(&sa, big, sizeof(big));
	ck_assert_msg(strstr(r, "431") || !*r, "oversized: %s", r);
	r = http(&sa, "POST /metrics HTTP/1.1\r\n\r\n", 26);
	ck_assert_ptr_nonnull(strstr(r, "405"));
	r = http(&sa, "GET /nope HTTP/1.1\r\n\r\n", 22);
	ck_assert_ptr_nonnull(strstr(r, "404"));
	r = http(&sa, "GET /metrics HTTP/1.0\r\n\r\n", 25);
	ck_assert_msg(strncmp(r, "HTTP/1.1 200 OK", 15) == 0, "%s", r);
	ck_assert_ptr_nonnull(strstr(r, "text/plain; version=0.0.4"));
	ck_assert_ptr_nonnull(strstr(r, "\nmolt_processes 3\n"));
	ck_assert_ptr_nonnull(strstr(
		r, "molt_callback_duration_seconds_bucket{le=\"+Inf\"}"));
	ck_assert_ptr_nonnull(strstr(r, "molt_module_processes{module="
					"\"counter\",code=\"current\"} 1"));
	/* promtool (Debian's prometheus) checks the format */
	snprintf(path, sizeof(path), "%s/metrics.txt", n.root);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(strstr(r, "\r\n\r\n") + 4, f);
	fclose(f);
	if (rt_run(out, sizeof(out), "command -v promtool") != 0)
		fprintf(stderr, "SKIP promtool check: promtool not installed "
				"(Debian package prometheus)\n");
	else
		ck_assert_msg(rt_run(out, sizeof(out),
				     "promtool check metrics < %s", path) == 0,
			      "promtool: %s", out);
	/* molt metrics prints the same families */
	ck_assert_int_eq(rt_run(out, sizeof(out),
				"%s --root %s metrics | "
				"grep -c '^# TYPE'",
				rt_molt_path(), n.root),
			 0);
	ck_assert_int_gt(atoi(out), 20);
	rt_node_finish(&n);
}
END_TEST

START_TEST(test_top_events_and_history_through_the_cli)
{
	static const char *const args[] = {"--long-queue", "20", NULL};
	rt_node n;
	char out[16384], line[256];
	int fd;

	rt_node_boot_ex(&n, TREE, NULL, args);
	for (int i = 0; i < 30; i++)
		ctl(&n, "{\"op\":\"call\",\"to\":\"c\",\"payload\":\"incr\"}");
	/* a long queue: casts pile up behind a 300 ms callback */
	fd = rt_ctl_connect(n.root);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_gt(write(fd,
			       "{\"op\":\"call\",\"to\":\"s\",\"payload\":"
			       "\"sleep 300\"}\n",
			       46),
			 0);
	rt_sleep_ms(50);
	for (int i = 0; i < 30; i++)
		ctl(&n, "{\"op\":\"cast\",\"to\":\"s\",\"payload\":\"x\"}");
	ck_assert_int_eq(
		rt_ctl_line(fd, "{\"op\":\"status\"}", line, sizeof(line)), 0);
	close(fd);
	ck_assert_int_eq(rt_run(out, sizeof(out),
				"%s --root %s top --once --sort messages -n 5",
				rt_molt_path(), n.root),
			 0);
	ck_assert_msg(strstr(out, "molt top: 3 processes") &&
			      strstr(out, "sched 0") && strstr(out, "counter"),
		      "%s", out);
	ck_assert_int_eq(rt_run(out, sizeof(out),
				"%s --root %s --json top --once --sort queue",
				rt_molt_path(), n.root),
			 0);
	ck_assert_msg(strstr(out, "\"sort\":\"queue\"") &&
			      strstr(out, "\"schedulers\":["),
		      "%s", out);
	ck_assert_int_eq(rt_run(out, sizeof(out), "%s --root %s events",
				rt_molt_path(), n.root),
			 0);
	ck_assert_msg(strstr(out, "long_queue") && strstr(out, "slow"), "%s",
		      out);
	/* a failing eval and a dry run: only the first is history */
	ctl(&n, "{\"op\":\"eval\",\"dry_run\":true,\"script\":["
		"\"point_of_no_return\",[\"suspend\",[\"counter\"]],"
		"[\"resume\",[\"counter\"]]]}");
	ck_assert_int_eq(
		rt_ctl(n.root,
		       "{\"op\":\"eval\",\"script\":[[\"load_object_"
		       "code\",[\"counter\",\"9.9.9\",[\"counter\"]]]]}",
		       out, sizeof(out)),
		0);
	ck_assert_ptr_nonnull(strstr(out, "\"ok\":false"));
	ctl(&n, "{\"op\":\"eval\",\"script\":[\"point_of_no_return\","
		"[\"suspend\",[\"counter\"]],[\"resume\",[\"counter\"]]]}");
	ck_assert_int_eq(rt_run(out, sizeof(out), "%s --root %s history",
				rt_molt_path(), n.root),
			 0);
	ck_assert_msg(strstr(out, "failed") && strstr(out, "committed") &&
			      strstr(out, "9.9.9"),
		      "%s", out);
	ck_assert_int_eq(rt_run(out, sizeof(out),
				"wc -l < %s/log/upgrades.jsonl", n.root),
			 0);
	ck_assert_int_eq(atoi(out), 2);
	rt_node_finish(&n);
}
END_TEST

START_TEST(test_trace_prints_escaped_lines_and_stops_at_its_limit)
{
	static const char *const args[] = {NULL};
	rt_node n;
	char out[16384];
	FILE *f;
	char cmd[1024];

	rt_node_boot_ex(&n, TREE, NULL, args);
	snprintf(cmd, sizeof(cmd), "%s --root %s trace c --limit 7",
		 rt_molt_path(), n.root);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	rt_sleep_ms(300); /* the trace starts */
	for (int i = 0; i < 3; i++) {
		ctl(&n, "{\"op\":\"call\",\"to\":\"c\",\"payload\":\"incr\"}");
		ctl(&n, "{\"op\":\"cast\",\"to\":\"c\",\"payload\":"
			"\"a\\u0001\\\"b\"}");
	}
	out[fread(out, 1, sizeof(out) - 1, f)] = '\0';
	ck_assert_int_eq(pclose(f), 0);
	ck_assert_msg(
		strstr(out, "trace started: 1 process") &&
			strstr(out, "counter receive call from - \"incr\"") &&
			strstr(out, "counter enter handle_call") &&
			strstr(out, "counter leave after") &&
			strstr(out, "\"a\\x01\\\"b\"") &&
			strstr(out, "trace stopped: 7 events (the limit)"),
		"%s", out);
	/* tracing stopped: the counter still counts, untraced */
	ctl(&n, "{\"op\":\"call\",\"to\":\"c\",\"payload\":\"incr\"}");
	ck_assert_int_eq(rt_ctl(n.root, "{\"op\":\"trace\",\"to\":\"nobody\"}",
				out, sizeof(out)),
			 0);
	ck_assert_ptr_nonnull(strstr(out, "enotfound"));
	rt_node_finish(&n);
}
END_TEST

START_TEST(test_a_slow_upgrade_is_an_event_and_counted)
{
	static const char *const args[] = {"--slow-upgrade-ms", "100", NULL};
	char fixdir[512], req[2048], out[16384], *slash;
	rt_node n;

	/* fixtures/counter-1.0.0/counter.so -> fixtures */
	snprintf(fixdir, sizeof(fixdir), "%s", rt_fixture("counter"));
	for (int i = 0; i < 2 && (slash = strrchr(fixdir, '/')); i++)
		*slash = '\0';
	rt_node_boot_ex(&n,
			"{\"strategy\":\"one_for_one\",\"children\":["
			"{\"id\":\"c\",\"module\":\"counter\",\"args\":"
			"\"777\",\"name\":\"c\"}]}",
			NULL, args);
	snprintf(
		req, sizeof(req),
		"{\"op\":\"eval\",\"path\":[\"%s\"],\"script\":%s}", fixdir,
		"[[\"load_object_code\",[\"counter\",\"4.0.0\",[\"counter\"]]],"
		"\"point_of_no_return\",[\"suspend\",[\"counter\"]],"
		"[\"load\",[\"counter\",\"brutal_purge\",\"brutal_purge\"]],"
		"[\"code_change\",\"up\",[[\"counter\",[]]]],"
		"[\"resume\",[\"counter\"]],[\"purge\",[\"counter\"]]]");
	ctl(&n, req);
	ck_assert_int_eq(rt_run(out, sizeof(out), "%s --root %s events",
				rt_molt_path(), n.root),
			 0);
	ck_assert_msg(strstr(out, "slow_upgrade") &&
			      strstr(out, "paused 1 processes"),
		      "%s", out);
	ck_assert_int_eq(rt_run(out, sizeof(out), "%s --root %s metrics",
				rt_molt_path(), n.root),
			 0);
	ck_assert_msg(strstr(out, "molt_monitor_events_total{kind=\"slow_"
				  "upgrade\"} 1") &&
			      strstr(out, "molt_eval_commits_total 1") &&
			      strstr(out, "molt_upgrade_pause_seconds_count 1"),
		      "%s", out);
	rt_node_finish(&n);
}
END_TEST

START_TEST(test_bad_observability_requests_get_errors)
{
	rt_node n;
	char out[4096];

	rt_node_boot(&n, TREE);
	ck_assert_int_eq(rt_ctl(n.root, "{\"op\":\"top\",\"sort\":\"nope\"}",
				out, sizeof(out)),
			 0);
	ck_assert_ptr_nonnull(strstr(out, "einval"));
	ck_assert_int_eq(rt_ctl(n.root,
				"{\"op\":\"top\",\"limit\":1e300,\"sort\":7}",
				out, sizeof(out)),
			 0);
	ck_assert_int_eq(rt_ctl(n.root, "{\"op\":\"events\",\"since\":-5}", out,
				sizeof(out)),
			 0);
	ck_assert_ptr_nonnull(strstr(out, "\"ok\":true"));
	ck_assert_int_eq(rt_ctl(n.root, "{\"op\":\"events\",\"since\":\"x\"}",
				out, sizeof(out)),
			 0);
	ck_assert_ptr_nonnull(strstr(out, "\"ok\":true"));
	rt_node_finish(&n);
}
END_TEST

Suite *obs_suite(void)
{
	Suite *s = suite_create("obs");
	TCase *tc = tcase_create("counters");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc,
		       test_counters_count_messages_queue_and_scheduler_work);
	tcase_add_test(tc,
		       test_top_finds_the_busiest_without_stopping_the_table);
	tcase_add_test(tc, test_a_long_queue_is_one_event_per_episode);
	tcase_add_test(tc, test_a_large_heap_is_one_event_per_episode);
	suite_add_tcase(s, tc);
	tc = tcase_create("node");
	tcase_set_timeout(tc, 60);
	tcase_add_test(
		tc,
		test_metrics_endpoint_serves_prometheus_text_and_shrugs_off_bad_clients);
	tcase_add_test(tc, test_top_events_and_history_through_the_cli);
	tcase_add_test(tc,
		       test_trace_prints_escaped_lines_and_stops_at_its_limit);
	tcase_add_test(tc, test_a_slow_upgrade_is_an_event_and_counted);
	tcase_add_test(tc, test_bad_observability_requests_get_errors);
	suite_add_tcase(s, tc);
	return s;
}
