/* The script evaluator: each instruction, the checks before
 * point_of_no_return, dry runs, rollback, the failing allocator. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "molt/log.h"
#include "molt/runtime.h"

#include "rt_util.h"
#include "test_util.h"
#include "upg_util.h"

#define N 200

static molt_runtime *rt;
static molt_pid pids[N];
static long counts[N];

static void setup(void)
{
	rt = rt_start(0, 2);
	for (size_t i = 0; i < N; i++)
		counts[i] = (long)i * 3;
	upg_spawn_counters(rt, pids, counts, N);
}

/* The same in deterministic mode: one scheduler, a seeded PRNG (the seed
 * is printed; MOLT_SEED replays it), one worker. */
static void setup_det(void)
{
	rt = rt_start(1, 1);
	for (size_t i = 0; i < N; i++)
		counts[i] = (long)i * 3;
	upg_spawn_counters(rt, pids, counts, N);
}

static void teardown(void)
{
	rt_stop(rt);
}

/* Evaluate and expect failure with code; the message must contain
 * needle; nothing changed: every counter on 1.0.0 with its count. */
static void expect_refused(const char *script, int code, const char *needle)
{
	molt_eval_report r;
	molt_err err = MOLT_ERR_INIT;
	int rc = upg_eval(rt, script, 0, &r, &err);

	ck_assert_msg(rc == code, "rc %d (want %d): %s", rc, code, err.msg);
	ck_assert_msg(strstr(err.msg, needle), "'%s' lacks '%s'", err.msg,
		      needle);
	ck_assert_int_eq(r.ok, 0);
	molt_eval_report_release(&r);
	ck_assert_str_eq(upg_current(rt, "counter"), "1.0.0");
	upg_check_counters(rt, pids, counts, N, "1.0.0");
}

START_TEST(test_eval_upgrades_every_counter_keeping_its_count)
{
	molt_eval_report r;
	molt_err err = MOLT_ERR_INIT;

	ck_assert_int_eq(upg_eval(rt, UPG_UP("2.0.0"), 0, &r, &err), MOLT_OK);
	ck_assert_int_eq(r.ok, 1);
	ck_assert_int_eq(r.rolled_back, 0);
	ck_assert_uint_eq(r.paused, N);
	ck_assert(r.pause_max_ns > 0 && r.pause_p99_ns <= r.pause_max_ns);
	ck_assert_uint_eq(r.n_steps, 7);
	ck_assert_str_eq(r.steps[2].name, "suspend");
	ck_assert_uint_eq(r.steps[2].procs, N);
	ck_assert_uint_eq(r.steps[4].procs, N);
	molt_eval_report_release(&r);
	ck_assert_str_eq(upg_current(rt, "counter"), "2.0.0");
	upg_check_counters(rt, pids, counts, N, "2.0.0");
	/* the new state works: the ring records increments */
	rt_call(rt, pids[1], "incr");
	rt_call(rt, pids[1], "incr");
	ck_assert_str_eq(rt_call(rt, pids[1], "ring"), "4,5");
	ck_assert_str_eq(rt_call(rt, pids[1], "vsn"), "2.0.0");
}
END_TEST

START_TEST(test_eval_up_then_down_keeps_every_count)
{
	upg_eval_ok(rt, UPG_UP("2.0.0"));
	for (size_t i = 0; i < N; i += 7) {
		rt_call(rt, pids[i], "incr");
		counts[i]++;
	}
	upg_eval_ok(rt, UPG_DOWN);
	ck_assert_str_eq(upg_current(rt, "counter"), "1.0.0");
	ck_assert_uint_eq(upg_old_procs(rt, "counter"), 0);
	upg_check_counters(rt, pids, counts, N, "1.0.0");
	upg_eval_ok(rt, UPG_UP("2.0.0"));
	upg_check_counters(rt, pids, counts, N, "2.0.0");
}
END_TEST

START_TEST(test_eval_dry_run_plans_and_changes_nothing)
{
	molt_eval_report r;
	molt_err err = MOLT_ERR_INIT;

	ck_assert_int_eq(upg_eval(rt, UPG_UP("2.0.0"), 1, &r, &err), MOLT_OK);
	ck_assert_int_eq(r.ok, 1);
	ck_assert_uint_eq(r.n_planned, N);
	ck_assert_uint_eq(r.steps[2].procs, N);
	ck_assert_uint_eq(r.paused, 0);
	for (size_t i = 0; i < N; i++) {
		int found = 0;

		for (size_t k = 0; k < r.n_planned; k++)
			found |= r.planned[k] == pids[i];
		ck_assert_msg(found, "counter %zu not planned", i);
	}
	molt_eval_report_release(&r);
	ck_assert_str_eq(upg_current(rt, "counter"), "1.0.0");
	upg_check_counters(rt, pids, counts, N, "1.0.0");
	/* and the dry run finds what the real one would fail on */
	expect_refused("[\"point_of_no_return\",[\"load\",[\"counter\","
		       "\"brutal_purge\",\"brutal_purge\"]]]",
		       MOLT_EINVAL, "no load_object_code");
}
END_TEST

/* How many lines of the file at path hold pid, and how many others. */
static void count_pids(const char *path, long pid, int *mine, int *others)
{
	FILE *f = fopen(path, "r");
	long p;

	*mine = *others = 0;
	while (f && fscanf(f, "%ld", &p) == 1)
		*(p == pid ? mine : others) += 1;
	if (f)
		fclose(f);
}

START_TEST(test_eval_dry_run_runs_no_code_of_the_new_version)
{
	char log[] = "/tmp/molt-ctor-XXXXXX";
	int fd = mkstemp(log), mine, others;
	molt_eval_report r;
	molt_err err = MOLT_ERR_INIT;

	ck_assert_int_ge(fd, 0);
	close(fd);
	setenv("MOLT_TEST_CTOR_LOG", log, 1);
	/* the dry run reads 7.0.0's descriptor in molt-probe: its
	 * constructor runs there, never in this process */
	ck_assert_int_eq(upg_eval(rt, UPG_UP("7.0.0"), 1, &r, &err), MOLT_OK);
	ck_assert_uint_eq(r.n_planned, N);
	molt_eval_report_release(&r);
	count_pids(log, (long)getpid(), &mine, &others);
	ck_assert_int_eq(mine, 0);
	ck_assert_int_eq(others, 1);
	/* the real evaluation loads it here */
	ck_assert_int_eq(upg_eval(rt, UPG_UP("7.0.0"), 0, &r, &err), MOLT_OK);
	molt_eval_report_release(&r);
	count_pids(log, (long)getpid(), &mine, &others);
	ck_assert_int_eq(mine, 1);
	unsetenv("MOLT_TEST_CTOR_LOG");
	unlink(log);
}
END_TEST

START_TEST(test_eval_checks_before_point_of_no_return)
{
	expect_refused("[[\"load_object_code\",[\"counter\",\"2.0.0\",["
		       "\"counter\"]]]]",
		       MOLT_EINVAL, "no point_of_no_return");
	expect_refused("[\"point_of_no_return\",[\"frobnicate\",[]]]",
		       MOLT_EINVAL, "instruction 1 (frobnicate): unknown");
	expect_refused("[[\"suspend\",[\"counter\"]],\"point_of_no_return\"]",
		       MOLT_EINVAL, "before point_of_no_return");
	expect_refused("[\"point_of_no_return\",\"point_of_no_return\"]",
		       MOLT_EINVAL, "second point_of_no_return");
	expect_refused("[[\"load_object_code\",[\"counter\",\"9.9.9\",["
		       "\"counter\"]]],\"point_of_no_return\"]",
		       MOLT_ENOTFOUND,
		       "no_such_file: counter.so of counter-9.9.9");
	expect_refused("[[\"load_object_code\",[\"kvs\",\"1.0.0\",["
		       "\"counter\"]]],\"point_of_no_return\"]",
		       MOLT_ENOTFOUND, "no_such_file");
	expect_refused("[\"point_of_no_return\",[\"code_change\",[[\"counter\","
		       "[]]]]]",
		       MOLT_EINVAL, "code_change_not_suspended");
	expect_refused("[\"point_of_no_return\",\"restart_emulator\"]",
		       MOLT_EINVAL, "not supported yet");
	expect_refused("[\"restart_new_emulator\",\"point_of_no_return\"]",
		       MOLT_EINVAL, "not supported yet");
	expect_refused("[\"point_of_no_return\",[\"stop\",\"counter\"]]",
		       MOLT_EINVAL, "expected [\"stop\", [Mod, ...]]");
	expect_refused("[[\"start\",[\"counter\"]],\"point_of_no_return\"]",
		       MOLT_EINVAL, "start before point_of_no_return");
	expect_refused("[\"point_of_no_return\",[\"load\",[\"counter\","
		       "\"soft\",\"brutal_purge\"]]]",
		       MOLT_EINVAL, "soft_purge or brutal_purge");
	expect_refused("[\"point_of_no_return\",[\"suspend\",[[\"counter\","
		       "\"soon\"]]]]",
		       MOLT_EINVAL, "infinity");
	expect_refused("[\"point_of_no_return\",[\"apply\",[\"counter\","
		       "\"hello\",[]]]]",
		       MOLT_ENOTFOUND, "exports no 'hello'");
	expect_refused("[\"point_of_no_return\",[\"remove\",[\"nosuch\","
		       "\"brutal_purge\",\"brutal_purge\"]]]",
		       MOLT_ENOTFOUND, "no current version of module 'nosuch'");
	expect_refused("[\n\"point_of_no_return\",\n  [\"load\" \"x\"]]",
		       MOLT_EPARSE, "script:3:");
	expect_refused("{\"script\":1}", MOLT_EPARSE, "JSON array");
	expect_refused("[[\"load_object_code\",[\"counter\",\"2.0.0\",["
		       "\"counter\"]]],\"point_of_no_return\","
		       "[\"load\",[\"counter\",\"brutal_purge\","
		       "\"brutal_purge\"]],[\"load\",[\"counter\","
		       "\"brutal_purge\",\"brutal_purge\"]]]",
		       MOLT_EINVAL,
		       "instruction 3 (load): module 'counter' is "
		       "loaded twice");
	expect_refused("[42, \"point_of_no_return\"]", MOLT_EINVAL,
		       "instruction 0");
}
END_TEST

/* The counter upgrade of UPG_UP("2.0.0"), built in C: no JSON at all. */
START_TEST(test_eval_runs_a_script_built_in_c)
{
	const molt_ins_mod counter[] = {{"counter", 0, NULL}};
	const molt_ins_mod counter_cc[] = {{"counter", 0, "{\"k\":1}"}};
	const molt_ins ins[] = {
		{.kind = MOLT_INS_LOAD_OBJECT_CODE,
		 .app = "counter",
		 .vsn = "2.0.0",
		 .mods = counter,
		 .n_mods = 1},
		{.kind = MOLT_INS_POINT_OF_NO_RETURN},
		{.kind = MOLT_INS_SUSPEND, .mods = counter, .n_mods = 1},
		{.kind = MOLT_INS_LOAD,
		 .module = "counter",
		 .pre_purge = MOLT_BRUTAL_PURGE,
		 .post_purge = MOLT_BRUTAL_PURGE},
		{.kind = MOLT_INS_CODE_CHANGE, .mods = counter_cc, .n_mods = 1},
		{.kind = MOLT_INS_RESUME, .mods = counter, .n_mods = 1},
		{.kind = MOLT_INS_PURGE, .mods = counter, .n_mods = 1},
	};
	const molt_script script = {ins, sizeof(ins) / sizeof(ins[0])};
	const molt_ins bad[] = {
		{.kind = MOLT_INS_POINT_OF_NO_RETURN},
		{.kind = MOLT_INS_LOAD, .module = "counter"},
	};
	const molt_script bad_script = {bad, 2};
	molt_eval_report r;
	molt_err err = MOLT_ERR_INIT;

	/* the typed checks name the instruction as the JSON ones do */
	ck_assert_int_eq(upg_eval_script(rt, &bad_script, 0, &r, &err),
			 MOLT_EINVAL);
	ck_assert_str_eq(err.msg, "instruction 1 (load): module 'counter' has "
				  "no load_object_code");
	ck_assert_int_eq(r.failed_index, 1);
	molt_eval_report_release(&r);
	ck_assert_int_eq(upg_eval_script(rt, &script, 1, &r, &err), MOLT_OK);
	ck_assert_uint_eq(r.n_planned, N);
	molt_eval_report_release(&r);
	ck_assert_int_eq(upg_eval_script(rt, &script, 0, &r, &err), MOLT_OK);
	ck_assert_int_eq(r.ok, 1);
	ck_assert_uint_eq(r.n_steps, 7);
	ck_assert_str_eq(r.steps[4].name, "code_change");
	ck_assert_str_eq(r.steps[4].detail, "counter");
	ck_assert_uint_eq(r.steps[4].procs, N);
	molt_eval_report_release(&r);
	ck_assert_str_eq(upg_current(rt, "counter"), "2.0.0");
	upg_check_counters(rt, pids, counts, N, "2.0.0");
}
END_TEST

/* The JSON form is parsed before anything runs; its errors still name
 * the instruction, in the message and the report. */
START_TEST(test_eval_json_errors_name_the_instruction)
{
	const char *json = "[[\"load_object_code\",[\"counter\",\"2.0.0\","
			   "[\"counter\"]]],\"point_of_no_return\","
			   "[\"suspend\",[\"counter\"]],"
			   "[\"load\",[\"counter\",\"soon\"]]]";
	molt_script_where w;
	molt_eval_report r;
	molt_err err = MOLT_ERR_INIT;
	molt_script *s = NULL;

	ck_assert_int_eq(molt_script_parse(&s, json, &w, &err), MOLT_EINVAL);
	ck_assert_ptr_null(s);
	ck_assert_str_eq(err.msg,
			 "instruction 3 (load): expected [\"load\", [Mod, "
			 "PrePurge, PostPurge]] with soft_purge or "
			 "brutal_purge");
	ck_assert_int_eq(w.index, 3);
	ck_assert_str_eq(w.name, "load");
	ck_assert_int_eq(upg_eval(rt, json, 0, &r, &err), MOLT_EINVAL);
	ck_assert_msg(strstr(err.msg, "instruction 3 (load): expected"), "%s",
		      err.msg);
	ck_assert_int_eq(r.failed_index, 3);
	ck_assert_str_eq(r.failed_instr, "load");
	molt_eval_report_release(&r);
	/* and a good one parses to the typed form */
	ck_assert_int_eq(molt_script_parse(&s, UPG_UP("2.0.0"), &w, &err),
			 MOLT_OK);
	ck_assert_uint_eq(s->n, 7);
	ck_assert_int_eq(s->ins[0].kind, MOLT_INS_LOAD_OBJECT_CODE);
	ck_assert_str_eq(s->ins[0].vsn, "2.0.0");
	ck_assert_int_eq(s->ins[3].post_purge, MOLT_BRUTAL_PURGE);
	ck_assert_int_eq(s->ins[4].down, 0);
	ck_assert_str_eq(s->ins[4].mods[0].extra, "[]");
	molt_script_free(s);
	ck_assert_str_eq(upg_current(rt, "counter"), "1.0.0");
}
END_TEST

START_TEST(test_eval_refuses_a_layout_change_without_code_change)
{
	molt_eval_report r;
	molt_err err = MOLT_ERR_INIT;

	upg_eval_ok(rt, UPG_UP("2.0.0"));
	/* 1.0.1 has the 1.x layout (state_vsn 1) and no code_change */
	ck_assert_int_eq(upg_eval(rt, UPG_UP("1.0.1"), 0, &r, &err),
			 MOLT_EINVAL);
	ck_assert_msg(strstr(err.msg, "instruction 4 (code_change): module "
				      "'counter' 1.0.1 changes state_vsn 2 "
				      "to 1 but has no code_change"),
		      "%s", err.msg);
	ck_assert_int_eq(r.rolled_back, 0);
	molt_eval_report_release(&r);
	upg_check_counters(rt, pids, counts, N, "2.0.0");
}
END_TEST

START_TEST(test_eval_refuses_soft_prepurge_while_old_code_runs)
{
	const char *v101 = "[[\"load_object_code\",[\"counter\",\"1.0.1\",["
			   "\"counter\"]]],\"point_of_no_return\","
			   "[\"load\",[\"counter\",\"brutal_purge\","
			   "\"soft_purge\"]]]";
	molt_eval_report r;
	molt_err err = MOLT_ERR_INIT;

	/* a plain load: the processes linger on 1.0.0, now old */
	ck_assert_int_eq(upg_eval(rt, v101, 0, &r, &err), MOLT_OK);
	ck_assert_uint_eq(r.n_unpurged, 1);
	ck_assert_str_eq(r.unpurged[0].module, "counter");
	ck_assert_int_eq(r.unpurged[0].brutal, 0);
	molt_eval_report_release(&r);
	ck_assert_str_eq(upg_current(rt, "counter"), "1.0.1");
	ck_assert_uint_eq(upg_old_procs(rt, "counter"), N);
	ck_assert_int_eq(
		upg_eval(rt,
			 "[[\"load_object_code\",[\"counter\",\"2.0.0\",["
			 "\"counter\"]]],\"point_of_no_return\","
			 "[\"load\",[\"counter\",\"soft_purge\","
			 "\"soft_purge\"]]]",
			 0, &r, &err),
		MOLT_EBUSY);
	ck_assert_msg(strstr(err.msg, "old_processes"), "%s", err.msg);
	ck_assert_int_eq(r.failed_index, 2);
	ck_assert_str_eq(r.failed_module, "counter");
	molt_eval_report_release(&r);
	ck_assert_str_eq(upg_current(rt, "counter"), "1.0.1");
	/* a message moves a lingering process to current */
	ck_assert_str_eq(rt_call(rt, pids[0], "get"), "0");
	ck_assert_str_eq(upg_vsn(rt, pids[0]), "1.0.1");
	ck_assert_uint_eq(upg_old_procs(rt, "counter"), N - 1);
}
END_TEST

START_TEST(test_eval_apply_calls_an_export_and_rolls_back_on_failure)
{
	const char *head =
		"[[\"load_object_code\",[\"counter\",\"2.0.0\",["
		"\"counter\"]]],\"point_of_no_return\","
		"[\"suspend\",[\"counter\"]],"
		"[\"load\",[\"counter\",\"brutal_purge\",\"brutal_purge\"]],"
		"[\"code_change\",[[\"counter\",{\"k\":1}]]],"
		"[\"apply\",[\"counter\",\"";
	const char *tail = "\",[1,\"two\"]]],[\"sync_nodes\",\"id\",[]],"
			   "[\"resume\",[\"counter\"]]]";
	char script[1024];
	molt_eval_report r;
	molt_err err = MOLT_ERR_INIT;

	snprintf(script, sizeof(script), "%s%s%s", head, "fail", tail);
	ck_assert_int_eq(upg_eval(rt, script, 0, &r, &err), MOLT_ERROR);
	ck_assert_msg(strstr(err.msg, "instruction 5 (apply)"), "%s", err.msg);
	ck_assert_int_eq(r.rolled_back, 1);
	ck_assert_uint_eq(r.paused, N);
	molt_eval_report_release(&r);
	ck_assert_str_eq(upg_current(rt, "counter"), "1.0.0");
	upg_check_counters(rt, pids, counts, N, "1.0.0");
	snprintf(script, sizeof(script), "%s%s%s", head, "hello", tail);
	upg_eval_ok(rt, script);
	upg_check_counters(rt, pids, counts, N, "2.0.0");
}
END_TEST

START_TEST(test_eval_remove_makes_current_old_and_purge_kills)
{
	molt_pid w = rt_watch(rt, pids[N - 1]);
	molt_eval_report r;
	molt_err err = MOLT_ERR_INIT;

	ck_assert_int_eq(
		upg_eval(rt,
			 "[\"point_of_no_return\",[\"remove\",[\"counter\","
			 "\"brutal_purge\",\"brutal_purge\"]],"
			 "[\"purge\",[\"counter\"]]]",
			 0, &r, &err),
		MOLT_OK);
	ck_assert_uint_eq(r.killed, N);
	molt_eval_report_release(&r);
	ck_assert_str_eq(upg_current(rt, "counter"), "");
	ck_assert_str_eq(rt_watch_reason(rt, w, pids[N - 1], 2000), "killed");
}
END_TEST

START_TEST(test_eval_survives_every_allocation_failure)
{
	molt_eval_report r;
	molt_err err = MOLT_ERR_INIT;
	unsigned long n;
	int rc = MOLT_ENOMEM;

	molt_log_set_level(MOLT_LOG_ERROR); /* one warning per failure */
	for (n = 1; rc != MOLT_OK && n < 10000; n++) {
		molt_alloc_fail_after(n);
		rc = upg_eval(rt, UPG_UP("2.0.0"), 0, &r, &err);
		molt_alloc_fail_after(0);
		molt_eval_report_release(&r);
		if (rc == MOLT_OK)
			break;
		/* a failure leaves everything as it was */
		ck_assert_msg(strcmp(upg_current(rt, "counter"), "1.0.0") == 0,
			      "after failing allocation %lu: current %s", n,
			      upg_current(rt, "counter"));
		upg_check_counters(rt, pids, counts, N, "1.0.0");
	}
	ck_assert_msg(rc == MOLT_OK, "never succeeded: %s", err.msg);
	ck_assert_msg(n > 20, "only %lu allocations were tried", n);
	fprintf(stderr,
		"eval passed once allocation %lu was never reached; every "
		"earlier failure left all as it was\n",
		n);
	upg_check_counters(rt, pids, counts, N, "2.0.0");
}
END_TEST

START_TEST(test_eval_rollback_survives_every_allocation_failure)
{
	static const char script[] =
		"[[\"load_object_code\",[\"counter\",\"2.0.0\",[\"counter\"]]],"
		"\"point_of_no_return\",[\"suspend\",[\"counter\"]],"
		"[\"load\",[\"counter\",\"brutal_purge\",\"brutal_purge\"]],"
		"[\"code_change\",\"up\",[[\"counter\",[]]]],"
		"[\"apply\",[\"counter\",\"fail\",[]]],"
		"[\"resume\",[\"counter\"]]]";
	molt_eval_report r;
	molt_err err = MOLT_ERR_INIT;
	unsigned long n, failed = 1;

	molt_log_set_level(MOLT_LOG_ERROR);
	/* the script always fails; with allocation n failing it fails
	 * earlier, and every way of failing must leave all as it was */
	for (n = 1; failed && n < 10000; n++) {
		int rc;

		molt_alloc_fail_after(n);
		rc = upg_eval(rt, script, 0, &r, &err);
		failed = molt_alloc_failures();
		molt_alloc_fail_after(0);
		molt_eval_report_release(&r);
		ck_assert_msg(rc < 0, "allocation %lu: the script passed", n);
		ck_assert_msg(strcmp(upg_current(rt, "counter"), "1.0.0") == 0,
			      "after failing allocation %lu: current %s", n,
			      upg_current(rt, "counter"));
		upg_check_counters(rt, pids, counts, N, "1.0.0");
	}
	ck_assert_msg(!failed, "still failing at allocation %lu", n);
	ck_assert_msg(n > 20, "only %lu allocations were tried", n);
}
END_TEST

/* The release handler's hook: the sha256 app.json would give. */
static int sum_hook(void *payload, const char *app, const char *vsn,
		    const char *mod, const char **sum, molt_err *err)
{
	(void)app;
	(void)vsn;
	if (strcmp(mod, "counter") != 0)
		return molt_err_set(err, MOLT_ENOTFOUND, "no module '%s'", mod);
	*sum = payload;
	return MOLT_OK;
}

/* load_object_code with the hook, dry run or not: rc and message. */
static int eval_summed(const char *sum, int dry_run, molt_err *err)
{
	char dir[4096];
	const char *path[] = {dir, NULL};
	const char *b = getenv("MOLT_BUILD_DIR");
	molt_eval_options o = MOLT_EVAL_OPTIONS_INIT;
	molt_eval_report r;
	int rc;

	snprintf(dir, sizeof(dir), "%s/fixtures", b && *b ? b : MOLT_BUILD_DIR);
	o.search_path = path;
	o.dry_run = dry_run;
	o.module_sum = sum_hook;
	o.payload = (void *)sum;
	rc = molt_runtime_eval(rt, UPG_UP("2.0.0"), &o, &r, err);
	molt_eval_report_release(&r);
	return rc;
}

/* A file whose sum is not the one app.json gives is never opened: the
 * refusal names the file, the expected and the found sum. */
START_TEST(test_eval_loads_only_files_with_the_expected_sum)
{
	static const char *zero = "00000000000000000000000000000000"
				  "00000000000000000000000000000000";
	molt_err err = MOLT_ERR_INIT;
	char found[65], cmd[4200];
	FILE *f;

	for (int dry = 1; dry >= 0; dry--) {
		ck_assert_int_eq(eval_summed(zero, dry, &err), MOLT_EUNSAFE);
		ck_assert_msg(strstr(err.msg, "counter-2.0.0/counter.so: "
					      "sha256 ") &&
				      strstr(err.msg, "does not match its "
						      "app.json (00000000"),
			      "%s", err.msg);
		ck_assert_str_eq(upg_current(rt, "counter"), "1.0.0");
	}
	upg_check_counters(rt, pids, counts, N, "1.0.0");
	/* the found sum in the message is the file's: with it, it loads */
	snprintf(cmd, sizeof(cmd),
		 "sha256sum %s/fixtures/counter-2.0.0/"
		 "counter.so",
		 getenv("MOLT_BUILD_DIR") && *getenv("MOLT_BUILD_DIR")
			 ? getenv("MOLT_BUILD_DIR")
			 : MOLT_BUILD_DIR);
	ck_assert_ptr_nonnull(f = popen(cmd, "r"));
	ck_assert_int_eq(fscanf(f, "%64s", found), 1);
	pclose(f);
	ck_assert_ptr_nonnull(strstr(err.msg, found));
	ck_assert_int_eq(eval_summed(found, 1, &err), MOLT_OK);
	ck_assert_int_eq(eval_summed(found, 0, &err), MOLT_OK);
	ck_assert_str_eq(upg_current(rt, "counter"), "2.0.0");
	upg_check_counters(rt, pids, counts, N, "2.0.0");
}
END_TEST

Suite *eval_suite(void)
{
	Suite *s = suite_create("eval");
	TCase *tc = tcase_create("eval");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_eval_upgrades_every_counter_keeping_its_count);
	tcase_add_test(tc, test_eval_up_then_down_keeps_every_count);
	tcase_add_test(tc, test_eval_dry_run_plans_and_changes_nothing);
	tcase_add_test(tc, test_eval_dry_run_runs_no_code_of_the_new_version);
	tcase_add_test(tc, test_eval_checks_before_point_of_no_return);
	tcase_add_test(tc, test_eval_loads_only_files_with_the_expected_sum);
	tcase_add_test(tc, test_eval_runs_a_script_built_in_c);
	tcase_add_test(tc, test_eval_json_errors_name_the_instruction);
	tcase_add_test(tc, test_eval_refuses_soft_prepurge_while_old_code_runs);
	tcase_add_test(tc,
		       test_eval_refuses_a_layout_change_without_code_change);
	tcase_add_test(
		tc, test_eval_apply_calls_an_export_and_rolls_back_on_failure);
	tcase_add_test(tc, test_eval_remove_makes_current_old_and_purge_kills);
	tcase_add_test(tc, test_eval_survives_every_allocation_failure);
	tcase_add_test(tc,
		       test_eval_rollback_survives_every_allocation_failure);
	suite_add_tcase(s, tc);
	tc = tcase_create("deterministic");
	tcase_add_checked_fixture(tc, setup_det, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_eval_up_then_down_keeps_every_count);
	tcase_add_test(
		tc, test_eval_apply_calls_an_export_and_rolls_back_on_failure);
	suite_add_tcase(s, tc);
	return s;
}
