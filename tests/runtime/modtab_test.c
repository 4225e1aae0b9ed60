/* The module table: loading, two slots, purge rules, system operations. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* counter-1.0.1/counter.so: the same code with another vsn */
static const char *counter_v(const char *vsn)
{
	static char path[4096];
	const char *v1 = rt_fixture("counter");

	snprintf(path, sizeof(path), "%.*scounter-%s/counter.so",
		 (int)(strstr(v1, "counter-1.0.0") - v1), v1, vsn);
	return path;
}

static int load(const char *path, unsigned flags, molt_err *err)
{
	return molt_runtime_load(rt, path, NULL, flags, NULL, 0, err);
}

static molt_module_info module(const char *name)
{
	molt_module_info mi[16];
	size_t n = molt_runtime_modules(rt, mi, 16);

	for (size_t i = 0; i < n && i < 16; i++)
		if (strcmp(mi[i].name, name) == 0)
			return mi[i];
	ck_abort_msg("no module %s", name);
	return mi[0];
}

/* Is path mapped into this process (still dlopen()ed)? */
static int mapped(const char *path)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[8192];
	int found = 0;

	ck_assert_ptr_nonnull(f);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, path) != NULL;
	fclose(f);
	return found;
}

START_TEST(test_load_refuses_bad_objects_with_the_reason)
{
	molt_err err = MOLT_ERR_INIT;
	char name[64];

	ck_assert_int_eq(load("/nonexistent/x.so", 0, &err), MOLT_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/x.so"));
	ck_assert_int_eq(load(rt_fixture("nodesc"), 0, &err), MOLT_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "no molt_module_descriptor"));
	ck_assert_int_eq(load(rt_fixture("badabi"), 0, &err), MOLT_EVERSION);
	ck_assert_ptr_nonnull(strstr(err.msg, "ABI 42"));
	ck_assert_int_eq(molt_runtime_load(rt, rt_fixture("crasher"), "counter",
					   0, name, sizeof(name), &err),
			 MOLT_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "names module 'crasher'"));
	ck_assert_int_eq(load(MOLT_FIXTURES_DIR "/CMakeLists.txt", 0, &err),
			 MOLT_EINVAL);
	/* the file's name says which module it holds */
	{
		char dir[256], other[512];

		molt_test_mkdtemp(dir, sizeof(dir), "name");
		snprintf(other, sizeof(other), "%s/other.so", dir);
		ck_assert_int_eq(molt_test_system("cp '%s' '%s'",
						  counter_v("1.0.0"), other),
				 0);
		ck_assert_int_eq(load(other, 0, &err), MOLT_EINVAL);
		ck_assert_ptr_nonnull(
			strstr(err.msg, "names module 'counter', not 'other'"));
		molt_test_rmrf(dir);
	}
}
END_TEST

START_TEST(test_new_version_becomes_current_and_processes_move_at_next_message)
{
	molt_pid p = rt_spawn(rt, "counter", "5");
	molt_err err = MOLT_ERR_INIT;
	molt_proc_info pi;
	molt_module_info mi;

	ck_assert_int_eq(load(counter_v("1.0.1"), 0, &err), MOLT_OK);
	mi = module("counter");
	ck_assert_str_eq(mi.current_vsn, "1.0.1");
	ck_assert_str_eq(mi.old_vsn, "1.0.0");
	ck_assert_uint_eq(mi.old_procs, 1);
	ck_assert_int_eq(molt_runtime_process_info(rt, p, &pi), MOLT_OK);
	ck_assert_int_eq(pi.old_code, 1);
	/* its next message runs the new code, with the same state */
	ck_assert_str_eq(rt_call(rt, p, "incr"), "6");
	ck_assert_int_eq(molt_runtime_process_info(rt, p, &pi), MOLT_OK);
	ck_assert_str_eq(pi.vsn, "1.0.1");
	ck_assert_int_eq(pi.old_code, 0);
	mi = module("counter");
	ck_assert_uint_eq(mi.old_procs, 0);
	ck_assert_uint_eq(mi.current_procs, 1);
}
END_TEST

START_TEST(test_load_while_old_runs_is_not_purged_unless_forced)
{
	molt_pid p = rt_spawn(rt, "counter", NULL);
	molt_pid w = rt_watch(rt, p);
	molt_err err = MOLT_ERR_INIT;
	char pidtxt[32];

	ck_assert_int_eq(load(counter_v("1.0.1"), 0, &err), MOLT_OK);
	ck_assert_int_eq(load(counter_v("1.0.0"), 0, &err), MOLT_EBUSY);
	ck_assert_ptr_nonnull(strstr(err.msg, "not_purged"));
	ck_assert_ptr_nonnull(
		strstr(err.msg, molt_pid_format(p, pidtxt, sizeof(pidtxt))));
	ck_assert_str_eq(module("counter").current_vsn, "1.0.1");
	ck_assert_int_eq(load(counter_v("1.0.0"), MOLT_LOAD_FORCE, &err),
			 MOLT_OK);
	ck_assert_str_eq(rt_watch_reason(rt, w, p, 2000), "killed");
	ck_assert_str_eq(module("counter").current_vsn, "1.0.0");
	ck_assert_str_eq(module("counter").old_vsn, "1.0.1");
}
END_TEST

START_TEST(test_purge_kills_old_processes_and_supervisors_restart_them)
{
	molt_pid p, q;
	molt_err err = MOLT_ERR_INIT;
	molt_proc_info pi;
	unsigned killed = 0;

	ck_assert_int_eq(
		molt_runtime_start_supervisor(
			rt, &q,
			"{\"children\":[{\"id\":\"c\",\"module\":\"counter\","
			"\"name\":\"c\"}]}",
			&err),
		MOLT_OK);
	p = molt_runtime_whereis(rt, "c");
	ck_assert_int_eq(load(counter_v("1.0.1"), 0, &err), MOLT_OK);
	ck_assert_int_eq(molt_runtime_purge(rt, "counter", &killed, &err),
			 MOLT_OK);
	ck_assert_uint_eq(killed, 1);
	q = rt_wait_name(rt, "c", p, 2000);
	ck_assert_uint_ne(q, 0);
	ck_assert_int_eq(molt_runtime_process_info(rt, q, &pi), MOLT_OK);
	ck_assert_str_eq(pi.vsn, "1.0.1");
	ck_assert_str_eq(module("counter").old_vsn, "");
	ck_assert_int_eq(molt_runtime_purge(rt, "nosuch", NULL, &err),
			 MOLT_ENOTFOUND);
}
END_TEST

START_TEST(test_soft_purge_refuses_while_old_code_runs)
{
	molt_pid p = rt_spawn(rt, "counter", NULL);
	molt_err err = MOLT_ERR_INIT;
	char pidtxt[32];

	ck_assert_int_eq(load(counter_v("1.0.1"), 0, &err), MOLT_OK);
	ck_assert_int_eq(molt_runtime_soft_purge(rt, "counter", &err),
			 MOLT_EBUSY);
	ck_assert_ptr_nonnull(
		strstr(err.msg, molt_pid_format(p, pidtxt, sizeof(pidtxt))));
	ck_assert_str_eq(rt_call(rt, p, "incr"), "1"); /* moves to current */
	ck_assert_int_eq(molt_runtime_soft_purge(rt, "counter", &err), MOLT_OK);
	ck_assert_str_eq(module("counter").old_vsn, "");
	ck_assert_int_eq(molt_runtime_alive(rt, p), 1);
}
END_TEST

START_TEST(test_old_code_is_unloaded_when_nothing_references_it)
{
	molt_pid p = rt_spawn(rt, "counter", NULL);
	molt_err err = MOLT_ERR_INIT;
	char v1[4096];

	snprintf(v1, sizeof(v1), "%s", counter_v("1.0.0"));
	ck_assert_int_eq(mapped(v1), 1);
	ck_assert_int_eq(load(counter_v("1.0.1"), 0, &err), MOLT_OK);
	ck_assert_int_eq(molt_runtime_suspend(rt, p, 1000, &err), MOLT_OK);
	/* purge drops the slot, but p still holds the old version */
	ck_assert_int_eq(molt_runtime_purge(rt, "counter", NULL, &err),
			 MOLT_OK);
	ck_assert_ptr_nonnull(rt_wait_exit(rt, p, 2000));
	ck_assert_int_eq(mapped(v1), 0);
}
END_TEST

START_TEST(test_delete_makes_current_old)
{
	molt_pid p = rt_spawn(rt, "counter", NULL), q;
	molt_err err = MOLT_ERR_INIT;

	ck_assert_int_eq(molt_runtime_delete(rt, "counter", &err), MOLT_OK);
	ck_assert_str_eq(module("counter").current_vsn, "");
	ck_assert_str_eq(module("counter").old_vsn, "1.0.0");
	ck_assert_int_eq(molt_runtime_spawn(rt, &q, "counter", NULL, 0, &err),
			 MOLT_ENOTFOUND);
	ck_assert_str_eq(rt_call(rt, p, "incr"), "1"); /* keeps running old */
	ck_assert_int_eq(molt_runtime_delete(rt, "counter", &err),
			 MOLT_ENOTFOUND);
	ck_assert_int_eq(load(counter_v("1.0.1"), 0, &err), MOLT_EBUSY);
	ck_assert_int_eq(molt_runtime_purge(rt, "counter", NULL, &err),
			 MOLT_OK);
	ck_assert_int_eq(load(counter_v("1.0.1"), 0, &err), MOLT_OK);
	ck_assert_int_eq(molt_runtime_delete(rt, "supervisor", &err),
			 MOLT_ENOTFOUND);
}
END_TEST

START_TEST(test_change_code_on_a_suspended_process_commits_or_reverts)
{
	molt_pid p = rt_spawn(rt, "counter", "7");
	molt_vsn_change up = {0, "1.0.0"};
	molt_err err = MOLT_ERR_INIT;
	molt_proc_info pi;
	char *st = NULL;

	ck_assert_int_eq(load(counter_v("1.0.1"), 0, &err), MOLT_OK);
	ck_assert_int_eq(molt_runtime_change_code(rt, p, &up, "[]", 1000, &err),
			 MOLT_EINVAL); /* not suspended */
	ck_assert_int_eq(molt_runtime_suspend(rt, p, 1000, &err), MOLT_OK);
	ck_assert_int_eq(molt_runtime_cast(rt, p, "incr", 4), MOLT_OK);
	ck_assert_int_eq(molt_runtime_change_code(rt, p, &up, "[]", 1000, &err),
			 MOLT_OK);
	ck_assert_int_eq(molt_runtime_process_info(rt, p, &pi), MOLT_OK);
	ck_assert_str_eq(pi.vsn, "1.0.1");
	ck_assert_int_eq(molt_runtime_revert_code(rt, p, 1000, &err), MOLT_OK);
	ck_assert_int_eq(molt_runtime_process_info(rt, p, &pi), MOLT_OK);
	ck_assert_str_eq(pi.vsn, "1.0.0");
	ck_assert_int_eq(molt_runtime_change_code(rt, p, &up, "[]", 1000, &err),
			 MOLT_OK);
	ck_assert_int_eq(molt_runtime_commit_code(rt, p, 1000, &err), MOLT_OK);
	ck_assert_int_eq(molt_runtime_get_state(rt, p, &st, 1000, &err),
			 MOLT_OK);
	ck_assert_str_eq(st, "{\"count\":7}"); /* the cast still waits */
	molt_free(st);
	ck_assert_int_eq(molt_runtime_resume(rt, p, &err), MOLT_OK);
	ck_assert_str_eq(rt_call(rt, p, "get"), "8");
	ck_assert_int_eq(molt_runtime_suspend(rt, 12345, 100, &err),
			 MOLT_ENOTFOUND);
}
END_TEST

START_TEST(test_two_phase_load_and_restore_old)
{
	molt_pid p = rt_spawn(rt, "counter", NULL), pids[4];
	molt_err err = MOLT_ERR_INIT;
	molt_code *code = NULL;

	ck_assert_int_eq(molt_runtime_code_open(rt, &code, counter_v("1.0.1"),
						"counter", &err),
			 MOLT_OK);
	ck_assert_str_eq(molt_code_name(code), "counter");
	ck_assert_str_eq(molt_code_vsn(code), "1.0.1");
	ck_assert_str_eq(module("counter").current_vsn, "1.0.0"); /* not yet */
	ck_assert_int_eq(molt_runtime_code_install(rt, code, 0, &err), MOLT_OK);
	ck_assert_str_eq(module("counter").current_vsn, "1.0.1");
	ck_assert_uint_eq(
		molt_runtime_module_pids(rt, "counter", MOLT_PIDS_OLD, pids, 4),
		1);
	ck_assert_uint_eq(pids[0], p);
	ck_assert_uint_eq(molt_runtime_module_pids(rt, "counter",
						   MOLT_PIDS_CURRENT, pids, 4),
			  0);
	/* roll back: 1.0.0 is current again, p never moved */
	ck_assert_int_eq(molt_runtime_restore_old(rt, "counter", &err),
			 MOLT_OK);
	ck_assert_str_eq(module("counter").current_vsn, "1.0.0");
	ck_assert_str_eq(module("counter").old_vsn, "");
	ck_assert_uint_eq(molt_runtime_module_pids(rt, "counter",
						   MOLT_PIDS_CURRENT, pids, 4),
			  1);
	ck_assert_str_eq(rt_call(rt, p, "incr"), "1");
	ck_assert_int_eq(molt_runtime_restore_old(rt, "counter", &err),
			 MOLT_ENOTFOUND);
	/* an opened version that is never installed is just freed */
	ck_assert_int_eq(molt_runtime_code_open(rt, &code, counter_v("1.0.1"),
						NULL, &err),
			 MOLT_OK);
	molt_runtime_code_free(code);
}
END_TEST

/* greeter-<vsn>/greeter.so: the docs/modules.md example */
static const char *greeter(const char *vsn)
{
	static char path[4096];
	const char *v1 = rt_fixture("counter");

	snprintf(path, sizeof(path), "%.*sgreeter-%s/greeter.so",
		 (int)(strstr(v1, "counter-1.0.0") - v1), v1, vsn);
	return path;
}

START_TEST(test_lazy_move_runs_code_change_when_the_layout_changes)
{
	molt_err err = MOLT_ERR_INIT;
	molt_pid g;

	ck_assert_int_eq(load(greeter("1.0.0"), 0, &err), MOLT_OK);
	g = rt_spawn(rt, "greeter", NULL);
	ck_assert_str_eq(rt_call(rt, g, "ada"), "hello ada #1");
	ck_assert_int_eq(load(greeter("2.0.0"), 0, &err), MOLT_OK);
	ck_assert_str_eq(rt_call(rt, g, "bob"), "hello bob #2, 3 letters");
	ck_assert_uint_eq(module("greeter").old_procs, 0);
	ck_assert_int_eq(molt_runtime_soft_purge(rt, "greeter", &err), MOLT_OK);
}
END_TEST

START_TEST(test_reverted_change_frees_the_new_state_and_keeps_the_old)
{
	molt_vsn_change up = {0, "1.0.0"};
	molt_err err = MOLT_ERR_INIT;
	molt_proc_info pi;
	molt_pid g;

	ck_assert_int_eq(load(greeter("1.0.0"), 0, &err), MOLT_OK);
	g = rt_spawn(rt, "greeter", NULL);
	ck_assert_str_eq(rt_call(rt, g, "ada"), "hello ada #1");
	ck_assert_int_eq(load(greeter("2.0.0"), 0, &err), MOLT_OK);
	ck_assert_int_eq(molt_runtime_suspend(rt, g, 1000, &err), MOLT_OK);
	ck_assert_int_eq(molt_runtime_change_code(rt, g, &up, "[]", 1000, &err),
			 MOLT_OK);
	ck_assert_int_eq(molt_runtime_revert_code(rt, g, 1000, &err), MOLT_OK);
	ck_assert_int_eq(molt_runtime_process_info(rt, g, &pi), MOLT_OK);
	ck_assert_str_eq(pi.vsn, "1.0.0");
	ck_assert_int_eq(molt_runtime_change_code(rt, g, &up, "[]", 1000, &err),
			 MOLT_OK);
	ck_assert_int_eq(molt_runtime_commit_code(rt, g, 1000, &err), MOLT_OK);
	ck_assert_int_eq(molt_runtime_resume(rt, g, &err), MOLT_OK);
	ck_assert_str_eq(rt_call(rt, g, "cy"), "hello cy #2, 2 letters");
}
END_TEST

START_TEST(test_system_operations_on_many_processes_at_once)
{
	enum { N = 2000 };
	molt_vsn_change up = {0, "1.0.0"};
	molt_err err = MOLT_ERR_INIT;
	static molt_pid pids[N + 1];
	static int rcs[N + 1];
	molt_proc_info pi;

	for (int i = 0; i < N; i++)
		pids[i] = rt_spawn(rt, "counter", NULL);
	pids[N] = 12345; /* a dead pid: reported, not a failure */
	ck_assert_int_eq(molt_runtime_sys_many(rt, MOLT_SYS_SUSPEND, pids,
					       N + 1, NULL, NULL, 5000, rcs,
					       &err),
			 MOLT_OK);
	ck_assert_int_eq(rcs[0], MOLT_OK);
	ck_assert_int_eq(rcs[N], MOLT_ENOTFOUND);
	for (int i = 0; i < N; i++)
		molt_runtime_cast(rt, pids[i], "incr", 4);
	ck_assert_int_eq(load(counter_v("1.0.1"), 0, &err), MOLT_OK);
	ck_assert_int_eq(molt_runtime_sys_many(rt, MOLT_SYS_CHANGE_CODE, pids,
					       N, &up, "[]", 5000, NULL, &err),
			 MOLT_OK);
	ck_assert_int_eq(molt_runtime_sys_many(rt, MOLT_SYS_COMMIT_CODE, pids,
					       N, NULL, NULL, 5000, NULL, &err),
			 MOLT_OK);
	ck_assert_int_eq(molt_runtime_process_info(rt, pids[N - 1], &pi),
			 MOLT_OK);
	ck_assert_str_eq(pi.vsn, "1.0.1");
	ck_assert_int_eq(pi.suspended, 1);
	ck_assert_uint_eq(pi.queue_len, 1);
	ck_assert_int_eq(molt_runtime_sys_many(rt, MOLT_SYS_RESUME, pids, N,
					       NULL, NULL, 5000, NULL, &err),
			 MOLT_OK);
	for (int i = 0; i < N; i += 97)
		ck_assert_str_eq(rt_call(rt, pids[i], "get"), "1");
	ck_assert_int_eq(molt_runtime_sys_many(rt, 99, pids, 1, NULL, NULL, 10,
					       NULL, &err),
			 MOLT_EINVAL);
}
END_TEST

/* Allocation N fails, for N = 1, 2, ...: spawning, starting a tree and
 * loading report errors and leave a working runtime (and, in the
 * sanitizer build, no leak). */
START_TEST(test_allocation_failures_are_errors_not_crashes)
{
	static const char *tree = "{\"children\":[{\"id\":\"a\",\"module\":"
				  "\"counter\"},{\"id\":\"b\",\"module\":"
				  "\"probe\"}]}";
	unsigned long failed = 0;

	for (unsigned long n = 1; n <= 40; n++) {
		molt_err err = MOLT_ERR_INIT;
		molt_pid pid = 0, sup = 0;
		int rc_spawn, rc_sup, rc_load;

		molt_alloc_fail_after(n);
		rc_spawn =
			molt_runtime_spawn(rt, &pid, "counter", "1", 1, &err);
		rc_sup = molt_runtime_start_supervisor(rt, &sup, tree, &err);
		rc_load = load(counter_v(n % 2 ? "1.0.1" : "1.0.0"), 0, &err);
		failed += molt_alloc_failures();
		molt_alloc_fail_after(0);
		ck_assert(rc_spawn == MOLT_OK || rc_spawn < 0);
		if (rc_spawn == MOLT_OK)
			ck_assert_str_eq(rt_call(rt, pid, "incr"), "2");
		if (rc_sup == MOLT_OK)
			molt_runtime_exit(rt, sup, "shutdown");
		(void)rc_load;
		ck_assert_str_eq(
			rt_call(rt, rt_spawn(rt, "counter", NULL), "incr"),
			"1");
		molt_runtime_purge(rt, "counter", NULL, &err);
	}
	ck_assert_uint_gt(failed, 0);
}
END_TEST

Suite *modtab_suite(void)
{
	Suite *s = suite_create("modtab");
	TCase *tc = tcase_create("modtab");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_load_refuses_bad_objects_with_the_reason);
	tcase_add_test(
		tc,
		test_new_version_becomes_current_and_processes_move_at_next_message);
	tcase_add_test(tc,
		       test_load_while_old_runs_is_not_purged_unless_forced);
	tcase_add_test(
		tc,
		test_purge_kills_old_processes_and_supervisors_restart_them);
	tcase_add_test(tc, test_soft_purge_refuses_while_old_code_runs);
	tcase_add_test(tc,
		       test_old_code_is_unloaded_when_nothing_references_it);
	tcase_add_test(tc, test_delete_makes_current_old);
	tcase_add_test(
		tc, test_change_code_on_a_suspended_process_commits_or_reverts);
	tcase_add_test(tc, test_two_phase_load_and_restore_old);
	tcase_add_test(tc, test_allocation_failures_are_errors_not_crashes);
	tcase_add_test(tc, test_system_operations_on_many_processes_at_once);
	tcase_add_test(tc,
		       test_lazy_move_runs_code_change_when_the_layout_changes);
	tcase_add_test(
		tc, test_reverted_change_frees_the_new_state_and_keeps_the_old);
	suite_add_tcase(s, tc);
	return s;
}
