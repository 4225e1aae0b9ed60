/* The upgrade engine's defects of issue 8, one test each: versions kept
 * loaded while in use, the lazy move's code_change rule, layouts that no
 * code can convert, get_state during a change, code-server operations
 * during an evaluation, and a rollback that meets busy processes. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "molt/runtime.h"

#include "rt_util.h"
#include "test_util.h"
#include "upg_util.h"

static molt_runtime *rt;

static void setup(void)
{
	rt = rt_start(0, 2);
}

static void teardown(void)
{
	rt_stop(rt);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Load counter VSN from the fixtures with molt_runtime_load. */
static void load_counter(const char *vsn)
{
	molt_err err = MOLT_ERR_INIT;
	const char *v1 = rt_fixture("counter");
	char path[4096];

	snprintf(path, sizeof(path), "%.*scounter-%s/counter.so",
		 (int)(strstr(v1, "counter-1.0.0") - v1), v1, vsn);
	ck_assert_msg(molt_runtime_load(rt, path, NULL, 0, NULL, 0, &err) ==
			      MOLT_OK,
		      "%s", err.msg);
}

static molt_pid spawn_counter(long count)
{
	char args[32];

	snprintf(args, sizeof(args), "%ld", count);
	return rt_spawn(rt, "counter", args);
}

static long count_of(molt_pid pid)
{
	return strtol(rt_call(rt, pid, "get"), NULL, 10);
}

/*
 * Defect 1: references on the new version taken during a parallel
 * code_change were counted only at the end of a worker's pass, while
 * processes exiting meanwhile dropped theirs at once: the version was
 * unloaded under the code_change still running in it.
 */
START_TEST(test_version_stays_loaded_while_processes_exit_during_code_change)
{
	enum { N = 8 };
	molt_pid pids[N];
	char script[1024], list[512];
	size_t off = 0;

	for (int i = 0; i < N; i++)
		pids[i] = spawn_counter(i == N - 1 ? 777 : i + 1);
	for (int i = 0; i < N - 1; i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off,
					"%s%llu", i ? "," : "",
					(unsigned long long)pids[i]);
	/* the last counter's code_change kills the seven changed before it */
	snprintf(
		script, sizeof(script),
		"[[\"load_object_code\",[\"counter\",\"4.0.0\",[\"counter\"]]],"
		"\"point_of_no_return\",[\"suspend\",[\"counter\"]],"
		"[\"load\",[\"counter\",\"brutal_purge\",\"brutal_purge\"]],"
		"[\"code_change\",\"up\",[[\"counter\",[%s]]]],"
		"[\"resume\",[\"counter\"]],[\"purge\",[\"counter\"]]]",
		list);
	upg_eval_ok(rt, script);
	for (int i = 0; i < N - 1; i++)
		ck_assert_ptr_nonnull(rt_wait_exit(rt, pids[i], 2000));
	ck_assert_int_eq(count_of(pids[N - 1]), 777);
	ck_assert_str_eq(upg_vsn(rt, pids[N - 1]), "4.0.0");
	/* new processes still run the code */
	ck_assert_int_eq(count_of(spawn_counter(5)), 5);
}
END_TEST

/*
 * Defect 2: a lazy move to a version with a lower state layout ran the
 * older code's code_change with {down, <the version it leaves>}. The
 * newer code converts its own state, with {down, <the version it goes
 * to>} (counter 2.0.0 refuses a "down" to 5.0.0).
 */
START_TEST(test_lazy_move_to_lower_layout_runs_newer_code)
{
	molt_pid p;

	load_counter("5.0.0"); /* state_vsn 3 */
	p = spawn_counter(41);
	rt_call(rt, p, "incr");
	load_counter("2.0.0"); /* state_vsn 2 becomes current */
	ck_assert_int_eq(strtol(rt_call(rt, p, "incr"), NULL, 10), 43);
	ck_assert_str_eq(upg_vsn(rt, p), "2.0.0");
	ck_assert_str_eq(rt_call(rt, p, "ring"), "42,43");
}
END_TEST

/*
 * Defect 3: a downgrade whose code_change runs in a version without
 * code_change moved a newer-layout state onto older code. Refused before
 * point_of_no_return, nothing changed.
 */
START_TEST(test_downgrade_without_code_change_is_refused_before_ponr)
{
	molt_eval_report r;
	molt_err err = MOLT_ERR_INIT;
	molt_pid p;

	load_counter("6.0.0"); /* state_vsn 3, no code_change */
	p = spawn_counter(9);
	ck_assert_int_eq(
		upg_eval(rt,
			 "[[\"load_object_code\",[\"counter\","
			 "\"2.0.0\",[\"counter\"]]],"
			 "\"point_of_no_return\","
			 "[\"suspend\",[\"counter\"]],"
			 "[\"code_change\",\"down\",[[\"counter\",[]]]],"
			 "[\"load\",[\"counter\",\"brutal_purge\","
			 "\"brutal_purge\"]],"
			 "[\"resume\",[\"counter\"]]]",
			 0, &r, &err),
		MOLT_EINVAL);
	ck_assert_msg(strstr(err.msg, "instruction 3 (code_change)") &&
			      strstr(err.msg, "no code_change"),
		      "%s", err.msg);
	ck_assert_int_eq(r.rolled_back, 0);
	molt_eval_report_release(&r);
	ck_assert_str_eq(upg_vsn(rt, p), "6.0.0");
	ck_assert_str_eq(upg_current(rt, "counter"), "6.0.0");
	ck_assert_int_eq(count_of(p), 9);
}
END_TEST

/* And up: the code loaded before the code_change cannot convert. */
START_TEST(test_upgrade_without_code_change_is_refused_before_ponr)
{
	molt_eval_report r;
	molt_err err = MOLT_ERR_INIT;
	molt_pid p;

	load_counter("2.0.0");
	p = spawn_counter(9);
	ck_assert_int_eq(upg_eval(rt, UPG_UP("6.0.0"), 0, &r, &err),
			 MOLT_EINVAL);
	ck_assert_msg(strstr(err.msg, "no code_change"), "%s", err.msg);
	molt_eval_report_release(&r);
	ck_assert_str_eq(upg_vsn(rt, p), "2.0.0");
	ck_assert_int_eq(count_of(p), 9);
}
END_TEST

/*
 * Defect 4: between a code_change {down, Vsn} and its commit the process
 * still runs the newer code with a state in the older layout; get_state
 * formatted it with the newer code's format_state.
 */
START_TEST(test_get_state_formats_with_the_layout_owner)
{
	molt_vsn_change down = {1, "1.0.0"};
	molt_err err = MOLT_ERR_INIT;
	char *text = NULL;
	molt_pid p;

	load_counter("2.0.0");
	p = spawn_counter(5);
	ck_assert_int_eq(molt_runtime_suspend(rt, p, 2000, &err), MOLT_OK);
	ck_assert_msg(molt_runtime_change_code(rt, p, &down, "[]", 2000,
					       &err) == MOLT_OK,
		      "%s", err.msg);
	ck_assert_msg(molt_runtime_get_state(rt, p, &text, 2000, &err) ==
			      MOLT_OK,
		      "%s", err.msg);
	ck_assert_str_eq(text, "{\"count\":5,\"ring\":[]}");
	free(text);
	ck_assert_int_eq(molt_runtime_revert_code(rt, p, 2000, &err), MOLT_OK);
	ck_assert_int_eq(molt_runtime_resume(rt, p, &err), MOLT_OK);
	ck_assert_int_eq(count_of(p), 5);
}
END_TEST

typedef struct bg_eval {
	const char *script; /* to evaluate */
	int rc;		    /* its result */
	molt_err err;	    /* its error */
} bg_eval;

static void *eval_main(void *arg)
{
	bg_eval *b = arg;
	molt_eval_report r;

	b->rc = upg_eval(rt, b->script, 0, &r, &b->err);
	molt_eval_report_release(&r);
	return NULL;
}

/*
 * Defect 5: purge, load --force and delete ran in the middle of an
 * evaluation and could kill the processes it held. They are refused
 * while one runs.
 */
START_TEST(test_code_server_ops_are_refused_during_an_evaluation)
{
	bg_eval b = {UPG_UP("3.0.0"), 0, MOLT_ERR_INIT};
	molt_err err = MOLT_ERR_INIT;
	const char *v1 = rt_fixture("counter");
	pthread_t th;
	molt_pid p;

	load_counter("2.0.0");
	p = spawn_counter(3);
	/* the suspend waits for this callback: the evaluation is running */
	ck_assert_int_eq(molt_runtime_cast(rt, p, "sleep 1000", 10), MOLT_OK);
	rt_sleep_ms(100);
	ck_assert_int_eq(pthread_create(&th, NULL, eval_main, &b), 0);
	rt_sleep_ms(300);
	ck_assert_int_eq(molt_runtime_purge(rt, "counter", NULL, &err),
			 MOLT_EBUSY);
	ck_assert_msg(strstr(err.msg, "evaluation"), "%s", err.msg);
	ck_assert_int_eq(
		molt_runtime_load(rt, v1, NULL, MOLT_LOAD_FORCE, NULL, 0, &err),
		MOLT_EBUSY);
	ck_assert_int_eq(molt_runtime_delete(rt, "counter", &err), MOLT_EBUSY);
	pthread_join(th, NULL);
	ck_assert_msg(b.rc == MOLT_OK, "%s", b.err.msg);
	ck_assert_str_eq(upg_vsn(rt, p), "3.0.0");
	ck_assert_int_eq(count_of(p), 3);
}
END_TEST

/*
 * Defect 6: a rollback waited up to 5 s for each busy process on the
 * removed code, then killed it. It now takes no time for them: each is
 * moved back when its callback returns, and none is killed.
 */
START_TEST(test_rollback_does_not_kill_busy_processes)
{
	molt_eval_report r;
	molt_err err = MOLT_ERR_INIT;
	char script[1024];
	uint64_t t0;
	molt_pid p;
	int rc;

	load_counter("2.0.0");
	p = spawn_counter(7);
	/* no suspend: p moves onto 3.0.0 by itself at the cast, sleeps in
	 * it, and the failing apply rolls the load back meanwhile */
	snprintf(
		script, sizeof(script),
		"[[\"load_object_code\",[\"counter\",\"3.0.0\",[\"counter\"]]],"
		"\"point_of_no_return\","
		"[\"load\",[\"counter\",\"brutal_purge\",\"brutal_purge\"]],"
		"[\"apply\",[\"counter\",\"sleep_fail\",[%llu,5500]]]]",
		(unsigned long long)p);
	t0 = now_ms();
	rc = upg_eval(rt, script, 0, &r, &err);
	ck_assert_int_eq(rc, MOLT_ERROR);
	ck_assert_int_eq(r.rolled_back, 1);
	molt_eval_report_release(&r);
	ck_assert_msg(now_ms() - t0 < 2000, "rollback took %llu ms",
		      (unsigned long long)(now_ms() - t0));
	ck_assert_str_eq(upg_current(rt, "counter"), "2.0.0");
	/* the process was never killed: once its callback returns, it is
	 * back on 2.0.0 with its count */
	rt_sleep_ms(5000);
	ck_assert_int_eq(count_of(p), 7);
	ck_assert_str_eq(upg_vsn(rt, p), "2.0.0");
}
END_TEST

typedef struct purger {
	int rounds;	 /* soft purges to run */
	uint64_t min_ns; /* the shortest one */
	atomic_int done; /* all ran */
} purger;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *purge_main(void *arg)
{
	purger *pg = arg;

	pg->min_ns = UINT64_MAX;
	for (int i = 0; i < pg->rounds; i++) {
		molt_err err = MOLT_ERR_INIT;
		uint64_t t = now_ns();

		/* refused: every counter still runs the old code */
		molt_runtime_soft_purge(rt, "counter", &err);
		t = now_ns() - t;
		if (t < pg->min_ns)
			pg->min_ns = t;
	}
	atomic_store(&pg->done, 1);
	return NULL;
}

/*
 * Defect 8: purge and load looked for processes on old code by scanning
 * every process with the module table's lock held, stalling every spawn,
 * load and `modules` meanwhile.
 */
START_TEST(test_purge_scans_processes_outside_the_table_lock)
{
	enum { N = 300000, MAXS = 1 << 20 };
	purger pg = {.rounds = 20};
	molt_module_info mi[16];
	uint64_t *lat = malloc(MAXS * sizeof(*lat)), sum = 0;
	size_t n = 0;
	pthread_t th;

	ck_assert_ptr_nonnull(lat);
	for (int i = 0; i < N; i++)
		spawn_counter(i);
	load_counter("1.0.1"); /* the counters are now on old code */
	atomic_init(&pg.done, 0);
	ck_assert_int_eq(pthread_create(&th, NULL, purge_main, &pg), 0);
	while (!atomic_load(&pg.done) && n < MAXS) {
		uint64_t t = now_ns();

		molt_runtime_modules(rt, mi, 16);
		lat[n++] = now_ns() - t;
	}
	pthread_join(th, NULL);
	/* with the scan under the lock, the calls wait for most of each
	 * scan: their mean is a large part of one (measured: 165 us per
	 * call against 2.8 ms scans); without, a call takes a microsecond
	 * but for the odd preempted one */
	for (size_t i = 0; i < n; i++)
		sum += lat[i];
	free(lat);
	ck_assert_msg(sum / n < pg.min_ns / 100,
		      "modules: %llu ns per call (%zu calls) while a purge's "
		      "scan takes %llu us",
		      (unsigned long long)(sum / n), n,
		      (unsigned long long)pg.min_ns / 1000);
}
END_TEST

/* Section 3: a code_change runs on the engine's workers, not on a
 * scheduler; a long one is seen and counted like a long callback. */
START_TEST(test_a_long_code_change_is_seen_like_a_long_callback)
{
	molt_runtime_stats st;

	spawn_counter(777); /* 4.0.0's code_change takes 300 ms for it */
	upg_eval_ok(rt, UPG_UP("4.0.0"));
	molt_runtime_get_stats(rt, &st);
	ck_assert_uint_ge(st.long_callbacks, 1);
}
END_TEST

/* The median time of 5 dry runs of script, in ns. */
static uint64_t dry_run_ns(const char *script)
{
	uint64_t t[5];

	for (int k = 0; k < 5; k++) {
		molt_eval_report r;
		molt_err err = MOLT_ERR_INIT;

		t[k] = now_ns();
		ck_assert_msg(upg_eval(rt, script, 1, &r, &err) == MOLT_OK,
			      "%s", err.msg);
		t[k] = now_ns() - t[k];
		molt_eval_report_release(&r);
	}
	for (int a = 0; a < 5; a++) /* sort */
		for (int b = a + 1; b < 5; b++)
			if (t[b] < t[a]) {
				uint64_t x = t[a];

				t[a] = t[b];
				t[b] = x;
			}
	return t[2];
}

/*
 * Defect 8: an evaluation scanned the whole process table once per module
 * of a suspend (and again per module of each code_change). Suspending
 * four modules now costs one scan, as suspending one does.
 */
START_TEST(test_a_suspend_of_many_modules_scans_the_processes_once)
{
	uint64_t one, four;

	for (int i = 0; i < 300000; i++)
		spawn_counter(i);
	one = dry_run_ns("[\"point_of_no_return\",[\"suspend\",[\"counter\"]],"
			 "[\"resume\",[\"counter\"]]]");
	four = dry_run_ns(
		"[\"point_of_no_return\",[\"suspend\",[\"counter\",\"crasher\","
		"\"slow\",\"probe\"]],[\"resume\",[\"counter\","
		"\"crasher\",\"slow\",\"probe\"]]]");
	ck_assert_msg(four < one * 2, "one module: %llu us, four: %llu us",
		      (unsigned long long)one / 1000,
		      (unsigned long long)four / 1000);
}
END_TEST

Suite *engine_suite(void)
{
	Suite *s = suite_create("engine");
	TCase *tc = tcase_create("defects");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(
		tc,
		test_version_stays_loaded_while_processes_exit_during_code_change);
	tcase_add_test(tc, test_lazy_move_to_lower_layout_runs_newer_code);
	tcase_add_test(
		tc, test_downgrade_without_code_change_is_refused_before_ponr);
	tcase_add_test(tc,
		       test_upgrade_without_code_change_is_refused_before_ponr);
	tcase_add_test(tc, test_get_state_formats_with_the_layout_owner);
	tcase_add_test(tc,
		       test_code_server_ops_are_refused_during_an_evaluation);
	tcase_add_test(tc, test_rollback_does_not_kill_busy_processes);
	tcase_add_test(tc, test_purge_scans_processes_outside_the_table_lock);
	tcase_add_test(tc,
		       test_a_long_code_change_is_seen_like_a_long_callback);
	tcase_add_test(tc,
		       test_a_suspend_of_many_modules_scans_the_processes_once);
	suite_add_tcase(s, tc);
	return s;
}
