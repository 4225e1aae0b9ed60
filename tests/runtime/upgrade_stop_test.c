/* The upgrade instructions stop [Mod] and start [Mod]: supervisors
 * terminate and restart the children running Mod; rollback restarts
 * what was stopped, on the restored code. */
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "molt/runtime.h"

#include "rt_util.h"
#include "test_util.h"
#include "upg_util.h"

static molt_runtime *rt;
static molt_pid sup, plain;

/* a one_for_one supervisor with two counters and a slow child, and a
 * counter nobody supervises */
static void setup(void)
{
	molt_err err = MOLT_ERR_INIT;

	rt = rt_start(0, 2);
	ck_assert_msg(
		molt_runtime_start_supervisor(
			rt, &sup,
			"{\"strategy\":\"one_for_one\",\"intensity\":1,"
			"\"period\":5,\"children\":["
			"{\"id\":\"c1\",\"module\":\"counter\",\"name\":\"c1\"}"
			","
			"{\"id\":\"s\",\"module\":\"slow\"},"
			"{\"id\":\"c2\",\"module\":\"counter\",\"name\":\"c2\","
			"\"restart\":\"transient\"}]}",
			&err) == MOLT_OK,
		"%s", err.msg);
	plain = rt_spawn(rt, "counter", NULL);
	rt_call(rt, plain, "incr");
}

static void teardown(void)
{
	rt_stop(rt);
}

#define HEAD                                                                   \
	"[[\"load_object_code\",[\"counter\",\"2.0.0\",[\"counter\"]]],"       \
	"\"point_of_no_return\",[\"stop\",[\"counter\"]],"                     \
	"[\"load\",[\"counter\",\"brutal_purge\",\"brutal_purge\"]],"          \
	"[\"start\",[\"counter\"]]"

/* Is the supervisor's child id running (its pid in which_children)? */
static int child_runs(const char *id)
{
	const char *w = rt_call(rt, sup, "which_children");
	char needle[64];
	const char *at;

	snprintf(needle, sizeof(needle), "\"id\":\"%s\"", id);
	at = strstr(w, needle);
	ck_assert_msg(at != NULL, "no child %s in %s", id, w);
	return strncmp(strstr(at, "\"pid\":") + 6, "\"\"", 2) != 0;
}

START_TEST(test_stop_then_start_restarts_supervised_children_on_new_code)
{
	molt_pid c1 = molt_runtime_whereis(rt, "c1");
	molt_pid c2 = molt_runtime_whereis(rt, "c2");
	molt_eval_report r;
	molt_err err = MOLT_ERR_INIT;
	molt_pid n1, n2;

	ck_assert(c1 && c2);
	rt_call(rt, c1, "incr");
	ck_assert_int_eq(
		upg_eval(rt, HEAD ",[\"purge\",[\"counter\"]]]", 0, &r, &err),
		MOLT_OK);
	ck_assert_uint_eq(r.steps[2].procs, 2); /* stopped */
	ck_assert_uint_eq(r.steps[4].procs, 2); /* started */
	molt_eval_report_release(&r);
	/* the stopped children ended with "shutdown" (the transient one too
	 * is restarted: start, not the restart type, brings it back) */
	ck_assert(!molt_runtime_alive(rt, c1) && !molt_runtime_alive(rt, c2));
	n1 = molt_runtime_whereis(rt, "c1");
	n2 = molt_runtime_whereis(rt, "c2");
	ck_assert(n1 && n2 && n1 != c1 && n2 != c2);
	ck_assert_str_eq(upg_vsn(rt, n1), "2.0.0");
	ck_assert_str_eq(upg_vsn(rt, n2), "2.0.0");
	ck_assert_str_eq(rt_call(rt, n1, "get"), "0"); /* a fresh start */
	/* other children and unsupervised processes are left alone; the
	 * plain counter is on old code and the purge killed it */
	ck_assert(child_runs("s"));
	ck_assert(!molt_runtime_alive(rt, plain));
}
END_TEST

START_TEST(test_dry_run_counts_the_children_stop_would_terminate)
{
	molt_eval_report r;
	molt_err err = MOLT_ERR_INIT;
	molt_pid c1 = molt_runtime_whereis(rt, "c1");

	ck_assert_int_eq(upg_eval(rt, HEAD "]", 1, &r, &err), MOLT_OK);
	ck_assert_uint_eq(r.steps[2].procs, 2); /* not the plain one */
	molt_eval_report_release(&r);
	ck_assert(molt_runtime_alive(rt, c1));
	ck_assert_str_eq(upg_current(rt, "counter"), "1.0.0");
}
END_TEST

START_TEST(test_stop_without_start_leaves_children_terminated)
{
	const char *script =
		"[[\"load_object_code\",[\"counter\",\"2.0.0\",[\"counter\"]]],"
		"\"point_of_no_return\",[\"stop\",[\"counter\"]],"
		"[\"load\",[\"counter\",\"brutal_purge\",\"brutal_purge\"]]]";

	upg_eval_ok(rt, script);
	ck_assert(!child_runs("c1"));
	ck_assert(!child_runs("c2"));
	ck_assert(child_runs("s"));
	ck_assert(molt_runtime_whereis(rt, "c1") == 0);
	/* the plain counter was not stopped: it still answers, old code */
	ck_assert_str_eq(rt_call(rt, plain, "get"), "1");
}
END_TEST

START_TEST(test_a_failure_after_stop_restarts_the_children_on_old_code)
{
	molt_pid c1 = molt_runtime_whereis(rt, "c1");
	molt_eval_report r;
	molt_err err = MOLT_ERR_INIT;
	molt_pid n1, n2;

	/* counter 2.0.0's export "fail" fails: after stop, load and start */
	ck_assert_int_eq(
		upg_eval(rt, HEAD ",[\"apply\",[\"counter\",\"fail\",[]]]]", 0,
			 &r, &err),
		MOLT_ERROR);
	ck_assert_int_eq(r.rolled_back, 1);
	ck_assert_int_eq(r.failed_index, 5);
	molt_eval_report_release(&r);
	ck_assert_str_eq(upg_current(rt, "counter"), "1.0.0");
	n1 = molt_runtime_whereis(rt, "c1");
	n2 = molt_runtime_whereis(rt, "c2");
	ck_assert(n1 && n2 && n1 != c1);
	ck_assert_str_eq(upg_vsn(rt, n1), "1.0.0");
	ck_assert_str_eq(upg_vsn(rt, n2), "1.0.0");
	ck_assert(child_runs("c1") && child_runs("c2") && child_runs("s"));
	ck_assert_str_eq(rt_call(rt, plain, "get"), "1");
	ck_assert_str_eq(upg_vsn(rt, plain), "1.0.0");
}
END_TEST

START_TEST(test_a_failure_between_stop_and_start_restarts_them)
{
	molt_eval_report r;
	molt_err err = MOLT_ERR_INIT;
	molt_pid n1;

	ck_assert_int_eq(
		upg_eval(rt,
			 "[[\"load_object_code\",[\"counter\",\"2.0.0\",["
			 "\"counter\"]]],\"point_of_no_return\","
			 "[\"stop\",[\"counter\"]],"
			 "[\"load\",[\"counter\",\"brutal_purge\","
			 "\"brutal_purge\"]],"
			 "[\"apply\",[\"counter\",\"fail\",[]]],"
			 "[\"start\",[\"counter\"]]]",
			 0, &r, &err),
		MOLT_ERROR);
	ck_assert_int_eq(r.rolled_back, 1);
	molt_eval_report_release(&r);
	n1 = molt_runtime_whereis(rt, "c1");
	ck_assert(n1 != 0);
	ck_assert_str_eq(upg_vsn(rt, n1), "1.0.0");
	ck_assert(child_runs("c2"));
}
END_TEST

/* stop and start reach supervisors as typed system requests from the
 * evaluator; the old text calls are gone, so a call from anyone else
 * stops nothing. */
START_TEST(test_a_stop_module_call_stops_nothing)
{
	molt_pid c1 = molt_runtime_whereis(rt, "c1");

	ck_assert_str_eq(rt_call(rt, sup, "stop_module counter"),
			 "error: unknown request");
	ck_assert_str_eq(rt_call(rt, sup, "forget_stopped counter"),
			 "error: unknown request");
	ck_assert_str_eq(rt_call(rt, sup, "start_module counter"),
			 "error: unknown request");
	ck_assert(child_runs("c1"));
	ck_assert(child_runs("c2"));
	ck_assert(molt_runtime_whereis(rt, "c1") == c1);
	ck_assert_str_eq(rt_call(rt, sup, "count"), "3");
}
END_TEST

Suite *upgrade_stop_suite(void)
{
	Suite *s = suite_create("upgrade_stop");
	TCase *tc = tcase_create("stop_start");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(
		tc,
		test_stop_then_start_restarts_supervised_children_on_new_code);
	tcase_add_test(tc, test_stop_without_start_leaves_children_terminated);
	tcase_add_test(tc,
		       test_dry_run_counts_the_children_stop_would_terminate);
	tcase_add_test(
		tc,
		test_a_failure_after_stop_restarts_the_children_on_old_code);
	tcase_add_test(tc, test_a_failure_between_stop_and_start_restarts_them);
	tcase_add_test(tc, test_a_stop_module_call_stops_nothing);
	suite_add_tcase(s, tc);
	return s;
}
