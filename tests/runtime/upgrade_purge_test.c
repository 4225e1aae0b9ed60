/* Which processes an upgrade touches, and OTP's purge rules under the
 * evaluator: lingering processes, purge kills, supervisors restart. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "molt/runtime.h"

#include "rt_util.h"
#include "test_util.h"
#include "upg_util.h"

#define LOAD_101                                                               \
	"[[\"load_object_code\",[\"counter\",\"1.0.1\",[\"counter\"]]],"       \
	"\"point_of_no_return\","                                              \
	"[\"load\",[\"counter\",\"brutal_purge\",\"brutal_purge\"]]]"

static molt_runtime *rt;

static void setup(void)
{
	rt = rt_start(0, 2);
}

static void teardown(void)
{
	rt_stop(rt);
}

static molt_pid start_tree(void)
{
	static const char spec[] =
		"{\"strategy\":\"one_for_one\",\"intensity\":10,\"period\":5,"
		"\"children\":["
		"{\"id\":\"c1\",\"module\":\"counter\",\"args\":\"10\","
		"\"name\":\"c1\"},"
		"{\"id\":\"c2\",\"module\":\"counter\",\"args\":\"20\","
		"\"name\":\"c2\"}]}";
	molt_err err = MOLT_ERR_INIT;
	molt_pid sup = 0;

	ck_assert_msg(molt_runtime_start_supervisor(rt, &sup, spec, &err) ==
			      MOLT_OK,
		      "%s", err.msg);
	return sup;
}

START_TEST(test_purge_kills_lingering_and_supervisor_restarts_on_current)
{
	molt_pid c1, c2, w1, n1;
	molt_eval_report r;
	molt_err err = MOLT_ERR_INIT;

	start_tree();
	c1 = molt_runtime_whereis(rt, "c1");
	c2 = molt_runtime_whereis(rt, "c2");
	w1 = rt_watch(rt, c1);
	/* a plain load: both children linger on 1.0.0 (now old) */
	ck_assert_int_eq(upg_eval(rt, LOAD_101, 0, &r, &err), MOLT_OK);
	ck_assert_uint_eq(r.n_unpurged, 1);
	ck_assert_int_eq(r.unpurged[0].brutal, 1);
	molt_eval_report_release(&r);
	ck_assert_uint_eq(upg_old_procs(rt, "counter"), 2);
	ck_assert_str_eq(upg_vsn(rt, c2), "1.0.0");
	/* c2 gets a message: it moves to current at that dispatch */
	ck_assert_str_eq(rt_call(rt, c2, "get"), "20");
	ck_assert_str_eq(upg_vsn(rt, c2), "1.0.1");
	ck_assert_uint_eq(upg_old_procs(rt, "counter"), 1);
	/* purge kills c1, still on old code; its supervisor restarts it */
	ck_assert_int_eq(upg_eval(rt,
				  "[\"point_of_no_return\","
				  "[\"purge\",[\"counter\"]]]",
				  0, &r, &err),
			 MOLT_OK);
	ck_assert_uint_eq(r.killed, 1);
	molt_eval_report_release(&r);
	ck_assert_str_eq(rt_watch_reason(rt, w1, c1, 2000), "killed");
	n1 = rt_wait_name(rt, "c1", c1, 2000);
	ck_assert(n1 != 0);
	ck_assert_str_eq(upg_vsn(rt, n1), "1.0.1");
	ck_assert_str_eq(rt_call(rt, n1, "get"), "10");
	ck_assert(molt_runtime_alive(rt, c2));
}
END_TEST

START_TEST(test_suspend_finds_supervised_and_unsupervised_processes)
{
	molt_pid lone = rt_spawn(rt, "counter", "5"), c1;
	molt_eval_report r;
	molt_err err = MOLT_ERR_INIT;

	start_tree();
	c1 = molt_runtime_whereis(rt, "c1");
	rt_spawn(rt, "probe", NULL); /* another module: not touched */
	ck_assert_int_eq(upg_eval(rt, UPG_UP("2.0.0"), 0, &r, &err), MOLT_OK);
	ck_assert_uint_eq(r.steps[2].procs, 3);
	ck_assert_uint_eq(r.paused, 3);
	molt_eval_report_release(&r);
	ck_assert_str_eq(upg_vsn(rt, lone), "2.0.0");
	ck_assert_str_eq(upg_vsn(rt, c1), "2.0.0");
	ck_assert_str_eq(rt_call(rt, lone, "get"), "5");
	ck_assert_str_eq(rt_call(rt, c1, "get"), "10");
}
END_TEST

START_TEST(test_load_moves_idle_processes_off_the_previous_old_code)
{
	molt_pid pids[20];
	long counts[20] = {0};
	molt_eval_report r;
	molt_err err = MOLT_ERR_INIT;

	upg_spawn_counters(rt, pids, counts, 20);
	upg_eval_ok(rt, LOAD_101);   /* all 20 linger on 1.0.0 */
	rt_call(rt, pids[0], "get"); /* one moves to 1.0.1 */
	/* loading 2.0.0 purges 1.0.0 first. OTP's code:load_binary kills
	 * the 19 lingerers; molt first moves each idle one to the current
	 * code (1.0.1) by the lazy rule, so none dies, and the script's
	 * code_change takes all 20 to 2.0.0 with their state */
	ck_assert_int_eq(upg_eval(rt, UPG_UP("2.0.0"), 0, &r, &err), MOLT_OK);
	ck_assert_uint_eq(r.killed, 0);
	molt_eval_report_release(&r);
	for (int i = 0; i < 20; i++) {
		ck_assert_int_eq(molt_runtime_alive(rt, pids[i]), 1);
		ck_assert_str_eq(rt_call(rt, pids[i], "get"), "0");
		ck_assert_str_eq(upg_vsn(rt, pids[i]), "2.0.0");
	}
}
END_TEST

START_TEST(test_a_process_dying_mid_upgrade_counts_as_done)
{
	molt_pid pids[50], w;
	long counts[50];
	char script[1024];
	molt_eval_report r;
	molt_err err = MOLT_ERR_INIT;

	for (size_t i = 0; i < 50; i++)
		counts[i] = (long)i;
	upg_spawn_counters(rt, pids, counts, 50);
	w = rt_watch(rt, pids[7]);
	/* killed by an apply between suspend and code_change */
	snprintf(script, sizeof(script),
		 "[[\"load_object_code\",[\"counter\",\"2.0.0\",["
		 "\"counter\"]]],\"point_of_no_return\","
		 "[\"suspend\",[\"counter\"]],"
		 "[\"load\",[\"counter\",\"brutal_purge\",\"brutal_purge\"]],"
		 "[\"apply\",[\"counter\",\"kill\",[%llu]]],"
		 "[\"code_change\",\"up\",[[\"counter\",[]]]],"
		 "[\"resume\",[\"counter\"]]]",
		 (unsigned long long)pids[7]);
	ck_assert_msg(upg_eval(rt, script, 0, &r, &err) == MOLT_OK, "%s",
		      err.msg);
	molt_eval_report_release(&r);
	ck_assert_str_eq(rt_watch_reason(rt, w, pids[7], 2000), "killed");
	pids[7] = pids[8];
	counts[7] = counts[8];
	upg_check_counters(rt, pids, counts, 50, "2.0.0");
}
END_TEST

Suite *upgrade_purge_suite(void)
{
	Suite *s = suite_create("upgrade_purge");
	TCase *tc = tcase_create("purge");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(
		tc,
		test_purge_kills_lingering_and_supervisor_restarts_on_current);
	tcase_add_test(
		tc, test_suspend_finds_supervised_and_unsupervised_processes);
	tcase_add_test(
		tc, test_load_moves_idle_processes_off_the_previous_old_code);
	tcase_add_test(tc, test_a_process_dying_mid_upgrade_counts_as_done);
	suite_add_tcase(s, tc);
	return s;
}
