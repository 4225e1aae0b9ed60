/* Processes: calls, casts, pids, crashes, memory, links, monitors, timers. */
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "molt/runtime.h"

#include "rt_util.h"
#include "test_util.h"

static molt_runtime *rt;

static void setup(void)
{
	rt = rt_start(1, 1);
}

static void teardown(void)
{
	rt_stop(rt);
}

static void cmd(char *buf, size_t n, const char *verb, uint64_t a,
		const char *rest)
{
	snprintf(buf, n, "%s %" PRIu64 "%s%s", verb, a, rest ? " " : "",
		 rest ? rest : "");
}

START_TEST(test_call_and_cast_reach_the_process)
{
	molt_pid c = rt_spawn(rt, "counter", NULL);

	ck_assert_str_eq(rt_call(rt, c, "incr"), "1");
	ck_assert_str_eq(rt_call(rt, c, "incr"), "2");
	ck_assert_int_eq(molt_runtime_cast(rt, c, "incr", 4), MOLT_OK);
	ck_assert_str_eq(rt_call(rt, c, "get"), "3");
	ck_assert_str_eq(rt_call(rt, c, "what"), "error: unknown request");
}
END_TEST

START_TEST(test_pids_are_never_reused)
{
	molt_pid a = rt_spawn(rt, "probe", NULL), b;

	ck_assert_str_eq(rt_call(rt, a, "stop normal"), "ok");
	ck_assert_ptr_nonnull(rt_wait_exit(rt, a, 2000));
	b = rt_spawn(rt, "probe", NULL);
	ck_assert_uint_eq((uint32_t)a, (uint32_t)b); /* same slot ... */
	ck_assert_uint_ne(a, b);		     /* ... new pid */
	ck_assert(!molt_runtime_alive(rt, a));
	ck_assert_str_eq(rt_call(rt, a, "ping"), "ERR:eclosed");
	ck_assert_str_eq(rt_call(rt, b, "ping"), "pong");
}
END_TEST

START_TEST(test_call_times_out_and_late_reply_is_dropped)
{
	molt_pid s = rt_spawn(rt, "slow", NULL);
	molt_reply_buf r = {0};
	molt_err err = MOLT_ERR_INIT;

	ck_assert_int_eq(molt_runtime_call(rt, &r, s, "sleep 300", 9, 50, &err),
			 MOLT_ETIMEOUT);
	ck_assert_ptr_nonnull(strstr(err.msg, "timed out"));
	ck_assert_str_eq(rt_call(rt, s, "ping"), "pong");
}
END_TEST

START_TEST(test_call_to_a_process_that_dies_fails_closed)
{
	molt_pid c = rt_spawn(rt, "crasher", NULL);

	ck_assert_str_eq(rt_call(rt, c, "crash"), "ERR:eclosed");
	ck_assert_str_eq(rt_wait_exit(rt, c, 2000), "noproc");
}
END_TEST

START_TEST(test_crash_leaves_others_untouched)
{
	molt_pid c = rt_spawn(rt, "counter", "41");
	molt_pid x = rt_spawn(rt, "crasher", NULL);
	molt_pid w = rt_watch(rt, x);

	ck_assert_str_eq(rt_call(rt, c, "incr"), "42");
	ck_assert_int_eq(molt_runtime_cast(rt, x, "crash", 5), MOLT_OK);
	ck_assert_str_eq(rt_watch_reason(rt, w, x, 2000), "requested crash");
	ck_assert_str_eq(rt_call(rt, c, "get"), "42");
	ck_assert_int_eq(molt_runtime_alive(rt, c), 1);
}
END_TEST

typedef struct exit_wait {
	molt_pid pid;	  /* waited for */
	int rc;		  /* molt_runtime_wait's result */
	char reason[128]; /* the exit reason */
} exit_wait;

/* molt_runtime_wait allocates nothing: it sees the reason even when every
 * allocation fails. */
static void *wait_exit_thread(void *arg)
{
	exit_wait *w = arg;

	w->rc = molt_runtime_wait(rt, w->pid, 5000, w->reason,
				  sizeof(w->reason));
	return NULL;
}

START_TEST(test_exit_reason_survives_out_of_memory)
{
	exit_wait w = {.rc = -1};
	pthread_t th;

	w.pid = rt_spawn(rt, "crasher", NULL);
	ck_assert_int_eq(pthread_create(&th, NULL, wait_exit_thread, &w), 0);
	rt_sleep_ms(100); /* the waiter is registered */
	/* the cast is allocation 1; copying the crash reason is 2 */
	molt_alloc_fail_after(2);
	ck_assert_int_eq(molt_runtime_cast(rt, w.pid, "crash", 5), MOLT_OK);
	pthread_join(th, NULL);
	ck_assert_uint_gt(molt_alloc_failures(), 0);
	molt_alloc_fail_after(0);
	ck_assert_int_eq(w.rc, MOLT_OK);
	ck_assert_str_eq(w.reason, "error: out of memory");
}
END_TEST

START_TEST(test_init_failure_is_an_error_and_leaves_nothing)
{
	molt_runtime_stats st;
	molt_pid pid = 0;
	molt_err err = MOLT_ERR_INIT;

	ck_assert_int_eq(
		molt_runtime_spawn(rt, &pid, "crasher", "fail", 4, &err),
		MOLT_ERROR);
	ck_assert_ptr_nonnull(strstr(err.msg, "init failed"));
	ck_assert_int_eq(molt_runtime_spawn(rt, &pid, "nosuch", NULL, 0, &err),
			 MOLT_ENOTFOUND);
	molt_runtime_get_stats(rt, &st);
	ck_assert_uint_eq(st.processes, 0);
}
END_TEST

START_TEST(test_process_memory_is_accounted_and_reclaimed)
{
	molt_pid p = rt_spawn(rt, "probe", NULL);
	molt_pid w = rt_watch(rt, p);
	molt_proc_info pi;

	ck_assert_str_eq(rt_call(rt, p, "alloc 100000"), "ok");
	ck_assert_int_eq(molt_runtime_process_info(rt, p, &pi), MOLT_OK);
	ck_assert_uint_ge(pi.heap_bytes, 100000);
	/* never freed by the module: the runtime reclaims it at exit (the
	 * sanitizer build checks nothing leaks) */
	ck_assert_int_eq(molt_runtime_exit(rt, p, "kill"), MOLT_OK);
	ck_assert_str_eq(rt_watch_reason(rt, w, p, 2000), "killed");
}
END_TEST

START_TEST(test_idle_process_is_small)
{
	molt_runtime_stats st;

	molt_runtime_get_stats(rt, &st);
	fprintf(stderr, "process struct: %zu bytes\n", st.proc_struct_bytes);
	ck_assert_uint_le(st.proc_struct_bytes, 512);
}
END_TEST

START_TEST(test_link_propagates_a_crash)
{
	molt_pid a = rt_spawn(rt, "probe", NULL);
	molt_pid b = rt_call_u(rt, a, "spawn_link crasher");
	molt_pid wa = rt_watch(rt, a), wb = rt_watch(rt, b);

	ck_assert_int_eq(molt_runtime_cast(rt, b, "crash", 5), MOLT_OK);
	ck_assert_str_eq(rt_watch_reason(rt, wb, b, 2000), "requested crash");
	ck_assert_str_eq(rt_watch_reason(rt, wa, a, 2000), "requested crash");
}
END_TEST

START_TEST(test_normal_exit_does_not_kill_a_linked_process)
{
	molt_pid a = rt_spawn(rt, "probe", NULL);
	molt_pid b = rt_call_u(rt, a, "spawn_link crasher");
	molt_pid wb = rt_watch(rt, b);

	ck_assert_int_eq(molt_runtime_cast(rt, b, "stop normal", 11), MOLT_OK);
	ck_assert_str_eq(rt_watch_reason(rt, wb, b, 2000), "normal");
	ck_assert_str_eq(rt_call(rt, a, "ping"), "pong");
}
END_TEST

START_TEST(test_trap_exit_turns_exit_signals_into_messages)
{
	molt_pid a = rt_spawn(rt, "probe", "trap");
	molt_pid b = rt_call_u(rt, a, "spawn_link crasher");
	molt_pid wa = rt_watch(rt, a);
	char want[128];

	ck_assert_int_eq(molt_runtime_cast(rt, b, "crash", 5), MOLT_OK);
	snprintf(want, sizeof(want), "exit from=%" PRIu64, b);
	ck_assert_ptr_nonnull(
		strstr(rt_probe_log_until(rt, a, want, 2000), want));
	ck_assert_str_eq(rt_call(rt, a, "ping"), "pong");
	/* "kill" cannot be trapped */
	ck_assert_int_eq(molt_runtime_exit(rt, a, "kill"), MOLT_OK);
	ck_assert_str_eq(rt_watch_reason(rt, wa, a, 2000), "killed");
}
END_TEST

START_TEST(test_unlink_stops_exit_signals)
{
	molt_pid a = rt_spawn(rt, "probe", NULL);
	molt_pid b = rt_call_u(rt, a, "spawn_link crasher");
	char c[64];

	cmd(c, sizeof(c), "unlink", b, NULL);
	ck_assert_str_eq(rt_call(rt, a, c), "ok");
	ck_assert_int_eq(molt_runtime_cast(rt, b, "crash", 5), MOLT_OK);
	ck_assert_ptr_nonnull(rt_wait_exit(rt, b, 2000));
	ck_assert_str_eq(rt_call(rt, a, "ping"), "pong");
}
END_TEST

START_TEST(test_monitor_reports_down_with_reason)
{
	molt_pid a = rt_spawn(rt, "probe", NULL);
	molt_pid b = rt_spawn(rt, "crasher", NULL);
	molt_pid d = rt_spawn(rt, "probe", NULL);
	char c[64], want[160];
	uint64_t ref, ref2;

	cmd(c, sizeof(c), "monitor", b, NULL);
	ref = rt_call_u(rt, a, c);
	ck_assert_int_eq(molt_runtime_cast(rt, b, "crash", 5), MOLT_OK);
	snprintf(want, sizeof(want),
		 "down from=%" PRIu64 " ref=%" PRIu64 " reason=requested crash",
		 b, ref);
	ck_assert_ptr_nonnull(
		strstr(rt_probe_log_until(rt, a, want, 2000), want));
	/* monitoring a dead pid: DOWN noproc at once */
	ref = rt_call_u(rt, a, c);
	snprintf(want, sizeof(want), "ref=%" PRIu64 " reason=noproc", ref);
	ck_assert_ptr_nonnull(
		strstr(rt_probe_log_until(rt, a, want, 2000), want));
	/* demonitor: no DOWN */
	cmd(c, sizeof(c), "monitor", d, NULL);
	ref2 = rt_call_u(rt, a, c);
	cmd(c, sizeof(c), "demonitor", ref2, NULL);
	ck_assert_str_eq(rt_call(rt, a, c), "ok");
	ck_assert_str_eq(rt_call(rt, d, "stop normal"), "ok");
	ck_assert_ptr_nonnull(rt_wait_exit(rt, d, 2000));
	ck_assert_ptr_null(
		strstr(rt_probe_log_until(rt, a, "down", 100), "down"));
}
END_TEST

START_TEST(test_timers_fire_and_cancel)
{
	molt_pid a = rt_spawn(rt, "probe", NULL);
	uint64_t t1 = rt_call_u(rt, a, "after 20 first");
	uint64_t t2 = rt_call_u(rt, a, "after 60000 never");
	char c[64];
	const char *log;

	cmd(c, sizeof(c), "cancel", t2, NULL);
	ck_assert_str_eq(rt_call(rt, a, c), "ok");
	log = rt_probe_log_until(rt, a, "data=first", 2000);
	ck_assert_ptr_nonnull(strstr(log, "timer"));
	ck_assert_ptr_nonnull(strstr(log, "data=first"));
	cmd(c, sizeof(c), "cancel", t1, NULL);
	ck_assert_str_eq(rt_call(rt, a, c), "notfound");
	ck_assert_ptr_null(
		strstr(rt_probe_log_until(rt, a, "never", 50), "never"));
}
END_TEST

static size_t timers_pending(void)
{
	molt_runtime_stats st;

	molt_runtime_get_stats(rt, &st);
	return st.timers_pending;
}

/* A process's pending timers go with it: 10,000 timers an hour out do not
 * stay in the timer heap after their process exited. */
START_TEST(test_timers_are_cancelled_when_their_process_exits)
{
	molt_pid a = rt_spawn(rt, "probe", NULL);
	molt_pid b = rt_spawn(rt, "probe", NULL);

	ck_assert_uint_ne(rt_call_u(rt, b, "after 3600000 other"), 0);
	for (int i = 0; i < 10000; i++)
		ck_assert_uint_ne(rt_call_u(rt, a, "after 3600000 late"), 0);
	ck_assert_uint_eq(timers_pending(), 10001);
	ck_assert_str_eq(rt_call(rt, a, "stop normal"), "ok");
	ck_assert_ptr_nonnull(rt_wait_exit(rt, a, 2000));
	ck_assert_uint_eq(timers_pending(), 1); /* b's is still there */
	ck_assert_str_eq(rt_call(rt, b, "crash"), "ERR:eclosed");
	ck_assert_ptr_nonnull(rt_wait_exit(rt, b, 2000));
	ck_assert_uint_eq(timers_pending(), 0);
}
END_TEST

/* The timer thread is woken only for a timer due before the one it sleeps
 * on: an earlier one must still wake it, later ones (not signalled) and
 * ones behind a cancelled head must still fire. */
START_TEST(test_timers_fire_in_order_around_the_sleeping_thread)
{
	molt_pid a = rt_spawn(rt, "probe", NULL);
	uint64_t far = rt_call_u(rt, a, "after 60000 far");
	uint64_t head;
	char c[64];

	/* the thread sleeps until "far": "early" must wake it */
	ck_assert_uint_ne(rt_call_u(rt, a, "after 30 early"), 0);
	/* due after "early": no wake-up, fired once "early" has been */
	ck_assert_uint_ne(rt_call_u(rt, a, "after 60 late"), 0);
	ck_assert_ptr_nonnull(strstr(
		rt_probe_log_until(rt, a, "data=early", 2000), "data=early"));
	ck_assert_ptr_nonnull(strstr(
		rt_probe_log_until(rt, a, "data=late", 2000), "data=late"));
	/* the head cancelled while the thread sleeps on it */
	head = rt_call_u(rt, a, "after 40 head");
	ck_assert_uint_ne(rt_call_u(rt, a, "after 80 behind"), 0);
	cmd(c, sizeof(c), "cancel", head, NULL);
	ck_assert_str_eq(rt_call(rt, a, c), "ok");
	ck_assert_ptr_nonnull(strstr(
		rt_probe_log_until(rt, a, "data=behind", 2000), "data=behind"));
	cmd(c, sizeof(c), "cancel", far, NULL);
	ck_assert_str_eq(rt_call(rt, a, c), "ok");
}
END_TEST

START_TEST(test_async_call_gets_reply_or_timeout_never_both)
{
	molt_pid a = rt_spawn(rt, "probe", NULL);
	molt_pid c = rt_spawn(rt, "counter", NULL);
	molt_pid s = rt_spawn(rt, "slow", NULL);
	char buf[96], want[96];
	uint64_t ref;
	const char *log;

	cmd(buf, sizeof(buf), "acall", c, "1000 incr");
	ref = rt_call_u(rt, a, buf);
	snprintf(want, sizeof(want), "reply from=%" PRIu64 " ref=%" PRIu64, c,
		 ref);
	log = rt_probe_log_until(rt, a, want, 2000);
	ck_assert_ptr_nonnull(strstr(log, want));
	ck_assert_ptr_nonnull(strstr(log, "data=1"));
	/* a slow callee: timeout, and its late reply is dropped */
	cmd(buf, sizeof(buf), "acall", s, "30 sleep 200");
	ref = rt_call_u(rt, a, buf);
	snprintf(want, sizeof(want), "timeout from=%" PRIu64 " ref=%" PRIu64, s,
		 ref);
	ck_assert_ptr_nonnull(
		strstr(rt_probe_log_until(rt, a, want, 2000), want));
	ck_assert_str_eq(rt_call(rt, s, "ping"), "pong"); /* slept, replied */
	ck_assert_ptr_null(
		strstr(rt_probe_log_until(rt, a, "reply", 50), "reply"));
}
END_TEST

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Completion counts by status, for outside calls (static: they outlive
 * a failed case). */
static atomic_int calls_ok, calls_closed, calls_other;

static void count_status(int status, const void *data, size_t len,
			 void *payload)
{
	(void)data;
	(void)len;
	(void)payload;
	if (status == MOLT_OK)
		atomic_fetch_add(&calls_ok, 1);
	else if (status == MOLT_ECLOSED)
		atomic_fetch_add(&calls_closed, 1);
	else
		atomic_fetch_add(&calls_other, 1);
}

/* Spawn n counters into pids, kill them, wait until they are gone;
 * milliseconds. */
static double exit_counters(molt_pid *pids, int n)
{
	molt_runtime_stats st;
	size_t before;
	double t0;

	molt_runtime_get_stats(rt, &st);
	before = st.processes;
	for (int i = 0; i < n; i++)
		pids[i] = rt_spawn(rt, "counter", NULL);
	t0 = now_ms();
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(molt_runtime_exit(rt, pids[i], "kill"),
				 MOLT_OK);
	do {
		rt_sleep_ms(1);
		molt_runtime_get_stats(rt, &st);
	} while (st.processes > before && now_ms() - t0 < 20000);
	ck_assert_uint_eq(st.processes, before);
	return now_ms() - t0;
}

/* A process exit looks only at its own outside callers: 20,000 calls
 * pending to one (suspended) process do not slow down 20,000 other
 * exits, and when that process dies its callers all fail with
 * MOLT_ECLOSED, promptly, while a call to another process is answered.
 * Each exit scanning the whole table made this O(exits * calls). */
#define PENDING 20000
START_TEST(test_exit_looks_only_at_its_own_outside_callers)
{
	static molt_pid pids[PENDING];
	molt_err err = MOLT_ERR_INIT;
	double idle_ms, busy_ms, t0;
	molt_pid blocked, other;

	rt_stop(rt);
	rt = rt_start(0, 1); /* the seeded pick walks a long run queue */
	blocked = rt_spawn(rt, "counter", NULL);
	other = rt_spawn(rt, "counter", NULL);
	idle_ms = exit_counters(pids, PENDING);
	ck_assert_int_eq(molt_runtime_suspend(rt, blocked, 1000, &err),
			 MOLT_OK);
	atomic_store(&calls_ok, 0);
	atomic_store(&calls_closed, 0);
	atomic_store(&calls_other, 0);
	for (int i = 0; i < PENDING; i++)
		ck_assert_int_eq(molt_runtime_call_async(rt, blocked, "get", 3,
							 0, count_status, NULL,
							 &err),
				 MOLT_OK);
	busy_ms = exit_counters(pids, PENDING);
	fprintf(stderr,
		"%d exits: %.0f ms, with %d calls pending elsewhere %.0f ms\n",
		PENDING, idle_ms, PENDING, busy_ms);
	ck_assert_int_eq(atomic_load(&calls_closed), 0);
	ck_assert_msg(busy_ms < 3 * idle_ms + 100,
		      "exits took %.0f ms with calls pending, %.0f ms without",
		      busy_ms, idle_ms);
	/* the callee dies: its callers fail at once, others are served */
	t0 = now_ms();
	ck_assert_int_eq(molt_runtime_exit(rt, blocked, "kill"), MOLT_OK);
	ck_assert_str_eq(rt_call(rt, other, "incr"), "1");
	while (atomic_load(&calls_closed) < PENDING && now_ms() - t0 < 2000)
		rt_sleep_ms(1);
	ck_assert_int_eq(atomic_load(&calls_closed), PENDING);
	ck_assert_int_eq(atomic_load(&calls_other), 0);
	ck_assert_int_eq(atomic_load(&calls_ok), 0);
}
END_TEST

START_TEST(test_registered_names)
{
	molt_pid a = rt_spawn(rt, "probe", "register alpha");
	molt_pid b = rt_spawn(rt, "probe", NULL);

	ck_assert_uint_eq(molt_runtime_whereis(rt, "alpha"), a);
	ck_assert_uint_eq(molt_runtime_resolve(rt, "alpha"), a);
	ck_assert_str_eq(rt_call(rt, b, "register alpha"), "taken");
	ck_assert_uint_eq(rt_call_u(rt, b, "whereis alpha"), a);
	ck_assert_str_eq(rt_call(rt, a, "stop normal"), "ok");
	ck_assert_ptr_nonnull(rt_wait_exit(rt, a, 2000));
	ck_assert_uint_eq(molt_runtime_whereis(rt, "alpha"), 0);
	ck_assert_str_eq(rt_call(rt, b, "register alpha"), "ok");
	ck_assert_uint_eq(molt_runtime_whereis(rt, "alpha"), b);
}
END_TEST

/* A name goes when the exit begins, not after terminate: a process stuck
 * in terminate (writing to a FIFO nobody reads yet) is not found by
 * whereis, and its name is free for another process. */
START_TEST(test_name_is_dropped_when_exit_begins)
{
	char dir[256], arg[300], buf[64];
	molt_pid a, b;
	int fd;

	molt_test_mkdtemp(dir, sizeof(dir), "fifo");
	snprintf(arg, sizeof(arg), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(arg, 0600), 0);
	snprintf(arg, sizeof(arg), "touch:%s/fifo", dir);
	a = rt_spawn(rt, "probe", arg);
	b = rt_spawn(rt, "probe", NULL);
	ck_assert_str_eq(rt_call(rt, a, "register x"), "ok");
	ck_assert_uint_eq(molt_runtime_whereis(rt, "x"), a);
	ck_assert_int_eq(molt_runtime_exit(rt, a, "shutdown"), MOLT_OK);
	rt_sleep_ms(100); /* a is in terminate, blocked opening the FIFO */
	ck_assert_int_eq(molt_runtime_alive(rt, a), 1);
	ck_assert_uint_eq(molt_runtime_whereis(rt, "x"), 0);
	/* unblock terminate (b's call is queued behind it: one scheduler) */
	snprintf(arg, sizeof(arg), "%s/fifo", dir);
	fd = open(arg, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	ck_assert_ptr_nonnull(rt_wait_exit(rt, a, 2000));
	ck_assert_str_eq(rt_call(rt, b, "register x"), "ok");
	ck_assert_uint_eq(molt_runtime_whereis(rt, "x"), b);
	molt_test_rmrf(dir);
}
END_TEST

START_TEST(test_pid_text_round_trips)
{
	molt_pid a = rt_spawn(rt, "probe", NULL);
	char buf[32];

	ck_assert_uint_eq(molt_runtime_resolve(rt, molt_pid_format(a, buf, 32)),
			  a);
	ck_assert_uint_eq(molt_runtime_resolve(rt, "<1.x>"), 0);
	ck_assert_uint_eq(molt_runtime_resolve(rt, "nobody"), 0);
}
END_TEST

START_TEST(test_shutdown_runs_terminate)
{
	char dir[256], path[300];
	char *txt;
	molt_pid p;

	molt_test_mkdtemp(dir, sizeof(dir), "term");
	snprintf(path, sizeof(path), "touch:%s/reason", dir);
	p = rt_spawn(rt, "probe", path);
	ck_assert_uint_ne(p, 0);
	ck_assert_int_eq(molt_runtime_shutdown(rt, 2000), MOLT_OK);
	snprintf(path, sizeof(path), "%s/reason", dir);
	txt = molt_test_read_file(path, NULL);
	ck_assert_ptr_nonnull(txt);
	ck_assert_str_eq(txt, "shutdown\n");
	free(txt);
	molt_test_rmrf(dir);
}
END_TEST

Suite *proc_suite(void)
{
	Suite *s = suite_create("proc");
	TCase *tc = tcase_create("proc");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_call_and_cast_reach_the_process);
	tcase_add_test(tc, test_pids_are_never_reused);
	tcase_add_test(tc, test_call_times_out_and_late_reply_is_dropped);
	tcase_add_test(tc, test_call_to_a_process_that_dies_fails_closed);
	tcase_add_test(tc, test_crash_leaves_others_untouched);
	tcase_add_test(tc, test_init_failure_is_an_error_and_leaves_nothing);
	tcase_add_test(tc, test_exit_reason_survives_out_of_memory);
	tcase_add_test(tc, test_process_memory_is_accounted_and_reclaimed);
	tcase_add_test(tc, test_idle_process_is_small);
	tcase_add_test(tc, test_link_propagates_a_crash);
	tcase_add_test(tc, test_normal_exit_does_not_kill_a_linked_process);
	tcase_add_test(tc, test_trap_exit_turns_exit_signals_into_messages);
	tcase_add_test(tc, test_unlink_stops_exit_signals);
	tcase_add_test(tc, test_monitor_reports_down_with_reason);
	tcase_add_test(tc, test_timers_fire_and_cancel);
	tcase_add_test(tc,
		       test_timers_fire_in_order_around_the_sleeping_thread);
	tcase_add_test(tc, test_async_call_gets_reply_or_timeout_never_both);
	tcase_add_test(tc, test_timers_are_cancelled_when_their_process_exits);
	tcase_add_test(tc, test_exit_looks_only_at_its_own_outside_callers);
	tcase_add_test(tc, test_registered_names);
	tcase_add_test(tc, test_name_is_dropped_when_exit_begins);
	tcase_add_test(tc, test_pid_text_round_trips);
	tcase_add_test(tc, test_shutdown_runs_terminate);
	suite_add_tcase(s, tc);
	return s;
}
