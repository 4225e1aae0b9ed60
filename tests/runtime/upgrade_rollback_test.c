/* Transactional upgrades: a failing code_change, a suspend timeout or a
 * failing apply puts every process back, states and messages intact. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

#define BIG 10000

START_TEST(test_code_change_failure_at_5000_of_10000_rolls_back_all)
{
	static molt_pid pids[BIG];
	static long counts[BIG];
	molt_eval_report r;
	molt_err err = MOLT_ERR_INIT;
	char pb[32];

	for (size_t i = 0; i < BIG; i++)
		counts[i] = (long)i + 1000;
	counts[4999] = 666; /* counter 3.0.0 refuses to convert this one */
	upg_spawn_counters(rt, pids, counts, BIG);
	ck_assert_int_eq(upg_eval(rt, UPG_UP("3.0.0"), 0, &r, &err),
			 MOLT_ERROR);
	molt_pid_format(pids[4999], pb, sizeof(pb));
	ck_assert_msg(strstr(err.msg, "instruction 4 (code_change)") &&
			      strstr(err.msg, "module 'counter' 3.0.0") &&
			      strstr(err.msg, pb),
		      "%s", err.msg);
	ck_assert_int_eq(r.rolled_back, 1);
	ck_assert_int_eq(r.failed_index, 4);
	ck_assert_str_eq(r.failed_module, "counter");
	ck_assert(r.failed_pid == pids[4999]);
	ck_assert_uint_eq(r.paused, BIG);
	molt_eval_report_release(&r);
	ck_assert_str_eq(upg_current(rt, "counter"), "1.0.0");
	upg_check_counters(rt, pids, counts, BIG, "1.0.0");
	/* nothing is left half-done: the next upgrade goes through */
	upg_eval_ok(rt, UPG_UP("2.0.0"));
	upg_check_counters(rt, pids, counts, BIG, "2.0.0");
}
END_TEST

static void load_blocker(void)
{
	molt_err err = MOLT_ERR_INIT;
	char path[4096];
	const char *v1 = rt_fixture("counter");

	snprintf(path, sizeof(path), "%.*sblocker-1.0.0/blocker.so",
		 (int)(strstr(v1, "counter-1.0.0") - v1), v1);
	ck_assert_msg(molt_runtime_load(rt, path, NULL, 0, NULL, 0, &err) ==
			      MOLT_OK,
		      "%s", err.msg);
}

/* Cast cmd ("block MS") to blocker b and wait until b has taken it: it
 * is then inside the callback for MS. */
static void block(molt_pid b, const char *cmd)
{
	molt_proc_info pi;

	ck_assert_int_eq(molt_runtime_cast(rt, b, cmd, strlen(cmd)), MOLT_OK);
	do {
		ck_assert_int_eq(molt_runtime_process_info(rt, b, &pi),
				 MOLT_OK);
	} while (pi.queue_len > 0);
}

START_TEST(test_suspend_timeout_rolls_back)
{
	static const char script[] =
		"[[\"load_object_code\",[\"counter\",\"2.0.0\",[\"counter\"]]],"
		"\"point_of_no_return\","
		"[\"suspend\",[\"counter\",[\"blocker\",100]]],"
		"[\"load\",[\"counter\",\"brutal_purge\",\"brutal_purge\"]],"
		"[\"code_change\",\"up\",[[\"counter\",[]]]],"
		"[\"resume\",[\"counter\",\"blocker\"]]]";
	molt_pid pids[100], b;
	long counts[100];
	molt_eval_report r;
	molt_err err = MOLT_ERR_INIT;

	ck_assert_int_eq(molt_runtime_load(rt, "", NULL, 0, NULL, 0, &err) < 0,
			 1);
	load_blocker();
	for (size_t i = 0; i < 100; i++)
		counts[i] = (long)i;
	upg_spawn_counters(rt, pids, counts, 100);
	b = rt_spawn(rt, "blocker", NULL);
	block(b, "block 1500");
	ck_assert_int_eq(upg_eval(rt, script, 0, &r, &err), MOLT_ETIMEOUT);
	ck_assert_msg(strstr(err.msg, "instruction 2 (suspend)") &&
			      strstr(err.msg, "timed out") &&
			      strstr(err.msg, "'blocker'"),
		      "%s", err.msg);
	ck_assert(r.failed_pid == b);
	ck_assert_int_eq(r.rolled_back, 1);
	molt_eval_report_release(&r);
	upg_check_counters(rt, pids, counts, 100, "1.0.0");
	/* the blocker was resumed too: it answers once its callback ends */
	ck_assert_str_eq(rt_call(rt, b, "get"), "1");
}
END_TEST

/* --- every message during an upgrade handled exactly once --- */

#define MSGN 500

typedef struct sender {
	molt_pid *pids;	 /* targets */
	long sent[MSGN]; /* casts sent to each */
	atomic_int stop; /* set by the test */
} sender;

static void *send_loop(void *arg)
{
	sender *s = arg;
	unsigned k = 0;

	while (!atomic_load(&s->stop)) {
		size_t i = (k++ * 7919u) % MSGN;

		if (molt_runtime_cast(rt, s->pids[i], "incr", 4) == MOLT_OK)
			s->sent[i]++;
	}
	return NULL;
}

START_TEST(test_every_message_during_upgrades_is_handled_once)
{
	static const char fail_script[] =
		"[[\"load_object_code\",[\"counter\",\"3.0.0\",[\"counter\"]]],"
		"\"point_of_no_return\",[\"suspend\",[\"counter\"]],"
		"[\"load\",[\"counter\",\"brutal_purge\",\"brutal_purge\"]],"
		"[\"code_change\",\"up\",[[\"counter\",[]]]],"
		"[\"apply\",[\"counter\",\"fail\",[]]],"
		"[\"resume\",[\"counter\"]]]";
	static sender s;
	molt_pid pids[MSGN];
	long zero[MSGN] = {0};
	molt_eval_report r;
	molt_err err = MOLT_ERR_INIT;
	pthread_t th;

	upg_spawn_counters(rt, pids, zero, MSGN);
	memset(&s, 0, sizeof(s));
	s.pids = pids;
	ck_assert_int_eq(pthread_create(&th, NULL, send_loop, &s), 0);
	rt_sleep_ms(20);
	upg_eval_ok(rt, UPG_UP("2.0.0"));
	rt_sleep_ms(20);
	ck_assert_int_eq(upg_eval(rt, fail_script, 0, &r, &err), MOLT_ERROR);
	ck_assert_int_eq(r.rolled_back, 1);
	molt_eval_report_release(&r);
	rt_sleep_ms(20);
	upg_eval_ok(rt, UPG_DOWN);
	rt_sleep_ms(20);
	atomic_store(&s.stop, 1);
	pthread_join(th, NULL);
	upg_check_counters(rt, pids, s.sent, MSGN, "1.0.0");
}
END_TEST

/* --- a process the script did not suspend moves by itself --- */

typedef struct bg_eval {
	const char *script; /* what to evaluate */
	int rc;		    /* its result */
	molt_eval_report r; /* its report */
	molt_err err;	    /* its error */
} bg_eval;

static void *eval_main(void *arg)
{
	bg_eval *e = arg;

	e->rc = upg_eval(rt, e->script, 0, &e->r, &e->err);
	return NULL;
}

START_TEST(test_rollback_brings_back_processes_that_moved_by_themselves)
{
	/* load 2.0.0 (new state layout) without suspending counter, then a
	 * suspend that times out: meanwhile c handles a message, so it
	 * moves to 2.0.0 by itself and its state is converted up */
	bg_eval e = {
		"[[\"load_object_code\",[\"counter\",\"2.0.0\",[\"counter\"]]],"
		"\"point_of_no_return\","
		"[\"load\",[\"counter\",\"brutal_purge\",\"brutal_purge\"]],"
		"[\"suspend\",[[\"blocker\",2000]]],"
		"[\"resume\",[\"blocker\"]]]",
		0,
		{0},
		MOLT_ERR_INIT};
	molt_pid c, b;
	pthread_t th;

	load_blocker();
	c = rt_spawn(rt, "counter", "41");
	b = rt_spawn(rt, "blocker", NULL);
	block(b, "block 2500");
	ck_assert_int_eq(pthread_create(&th, NULL, eval_main, &e), 0);
	while (strcmp(upg_current(rt, "counter"), "2.0.0") != 0)
		; /* until the load has happened */
	ck_assert_str_eq(rt_call(rt, c, "incr"), "42");
	ck_assert_str_eq(upg_vsn(rt, c), "2.0.0"); /* it moved */
	pthread_join(th, NULL);
	ck_assert_msg(e.rc == MOLT_ETIMEOUT, "%d %s", e.rc, e.err.msg);
	ck_assert_int_eq(e.r.rolled_back, 1);
	molt_eval_report_release(&e.r);
	/* back on 1.0.0 with its count, before any further message, and
	 * nothing is left on code the table no longer has */
	ck_assert_str_eq(upg_current(rt, "counter"), "1.0.0");
	ck_assert_str_eq(upg_vsn(rt, c), "1.0.0");
	ck_assert_uint_eq(upg_old_procs(rt, "counter"), 0);
	ck_assert_str_eq(rt_call(rt, c, "get"), "42");
	ck_assert_str_eq(rt_call(rt, c, "incr"), "43");
	ck_assert_str_eq(upg_vsn(rt, c), "1.0.0");
}
END_TEST

Suite *upgrade_rollback_suite(void)
{
	Suite *s = suite_create("upgrade_rollback");
	TCase *tc = tcase_create("rollback");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 100);
	tcase_add_test(
		tc, test_code_change_failure_at_5000_of_10000_rolls_back_all);
	tcase_add_test(tc, test_suspend_timeout_rolls_back);
	tcase_add_test(tc, test_every_message_during_upgrades_is_handled_once);
	tcase_add_test(
		tc,
		test_rollback_brings_back_processes_that_moved_by_themselves);
	suite_add_tcase(s, tc);
	return s;
}
