/* moltd and native code: the shutdown deadline, long and hung callbacks,
 * crash reports. Each test boots a real moltd. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "node_util.h"
#include "rt_util.h"
#include "test_util.h"

#define TREE                                                                   \
	"{\"strategy\":\"one_for_one\",\"children\":["                         \
	"{\"id\":\"l\",\"module\":\"looper\",\"name\":\"l\"},"                 \
	"{\"id\":\"c\",\"module\":\"crasher\",\"name\":\"c\"},"                \
	"{\"id\":\"s\",\"module\":\"slow\",\"name\":\"s\"}]}"

static const char *const mods[] = {"looper", NULL};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Boot TREE with looper loaded and moltd arguments args. */
static void boot(rt_node *n, const char *const *args)
{
	rt_node_boot_ex(n, TREE, mods, args);
}

/* One control request; the reply (static), which must not be an error. */
static const char *ctl(rt_node *n, const char *line)
{
	static char out[4096];

	ck_assert_int_eq(rt_ctl(n->root, line, out, sizeof(out)), 0);
	ck_assert_msg(!strstr(out, "\"error\""), "%s: %s", line, out);
	return out;
}

/* moltd's stderr so far (owned: free). */
static char *log_text(rt_node *n)
{
	char *t = molt_test_read_file(n->log, NULL);

	ck_assert_ptr_nonnull(t);
	return t;
}

static void log_has(rt_node *n, const char *needle)
{
	char *t = log_text(n);

	ck_assert_msg(strstr(t, needle), "wanted '%s' in moltd's log:\n%s",
		      needle, t);
	free(t);
}

static int count(const char *hay, const char *needle)
{
	int k = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		k++;
	return k;
}

/* The one crash report in n's ROOT/log (owned: free). */
static char *crash_file(rt_node *n)
{
	char dir[512], path[1024];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/log", n->root);
	d = opendir(dir);
	ck_assert_msg(d != NULL, "no %s", dir);
	path[0] = '\0';
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, "crash-", 6) == 0)
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
	closedir(d);
	ck_assert_msg(path[0], "no crash-*.txt in %s", dir);
	return molt_test_read_file(path, NULL);
}

static void file_has(const char *text, const char *needle)
{
	ck_assert_msg(strstr(text, needle), "wanted '%s' in the report:\n%s",
		      needle, text);
}

/* ASan and UBSan handle fatal signals themselves; let moltd's handler
 * see them (the child inherits the environment). */
static void let_moltd_handle_signals(void)
{
	const char *old = getenv("ASAN_OPTIONS");
	char buf[1024];

	snprintf(buf, sizeof(buf),
		 "%s%shandle_segv=0:handle_sigbus=0:"
		 "handle_abort=0:handle_sigfpe=0:handle_sigill=0",
		 old ? old : "", old && *old ? ":" : "");
	setenv("ASAN_OPTIONS", buf, 1);
}

/* --- the shutdown deadline --- */

START_TEST(test_sigterm_with_a_looping_callback_exits_at_the_deadline)
{
	static const char *const args[] = {"--shutdown-timeout", "2", NULL};
	uint64_t t0, took;
	rt_node n;
	int rc;

	boot(&n, args);
	ctl(&n, "{\"op\":\"cast\",\"to\":\"l\",\"payload\":\"spin\"}");
	rt_sleep_ms(200);
	t0 = now_ms();
	kill(n.pid, SIGTERM);
	rc = rt_node_wait(&n, 10000);
	took = now_ms() - t0;
	ck_assert_msg(rc == 3, "moltd exited %d after %llu ms", rc,
		      (unsigned long long)took);
	ck_assert_msg(took >= 1900 && took < 5000, "took %llu ms",
		      (unsigned long long)took);
	log_has(&n, "shutdown: ");
	log_has(&n, "still alive after 2.");
	log_has(&n, "deadline of 2 s passed");
	log_has(&n, "(looper 1.0.0) in handle_cast for ");
	log_has(&n, "in callback handle_cast of <");
	rt_node_clean(&n);
}
END_TEST

START_TEST(test_a_second_sigterm_exits_at_once)
{
	static const char *const args[] = {"--shutdown-timeout", "60", NULL};
	uint64_t t0;
	rt_node n;

	boot(&n, args);
	ctl(&n, "{\"op\":\"cast\",\"to\":\"l\",\"payload\":\"hang\"}");
	rt_sleep_ms(100);
	kill(n.pid, SIGTERM);
	ck_assert_int_eq(rt_node_wait(&n, 500), -2); /* still stopping */
	t0 = now_ms();
	kill(n.pid, SIGTERM);
	ck_assert_int_eq(rt_node_wait(&n, 3000), 3);
	ck_assert_uint_lt(
		now_ms() - t0,
		5000); /* not the 60 s deadline; sanitizers are slow */
	log_has(&n, "(second SIGTERM)");
	log_has(&n, "(looper 1.0.0) in handle_cast for ");
	rt_node_clean(&n);
}
END_TEST

START_TEST(test_a_normal_node_still_exits_0_promptly)
{
	static const char *const args[] = {"--shutdown-timeout", "5", NULL};
	uint64_t t0;
	rt_node n;
	char *t;

	boot(&n, args);
	t0 = now_ms();
	kill(n.pid, SIGTERM);
	ck_assert_int_eq(rt_node_wait(&n, 5000), 0);
	ck_assert_uint_lt(now_ms() - t0, 2000);
	t = log_text(&n);
	ck_assert_msg(!strstr(t, "shutdown: "), "%s", t);
	free(t);
	rt_node_clean(&n);
}
END_TEST

/* --- long and hung callbacks --- */

START_TEST(test_a_long_callback_is_logged_once_and_counted)
{
	static const char *const args[] = {"--long-callback-ms", "50", NULL};
	const char *st;
	rt_node n;
	char *t;

	boot(&n, args);
	ctl(&n, "{\"op\":\"call\",\"to\":\"s\",\"payload\":\"sleep 1\"}");
	st = ctl(&n, "{\"op\":\"status\"}");
	ck_assert_msg(strstr(st, "\"long_callbacks\":0"), "%s", st);
	ctl(&n, "{\"op\":\"call\",\"to\":\"s\",\"payload\":\"sleep 400\"}");
	st = ctl(&n, "{\"op\":\"status\"}");
	ck_assert_msg(strstr(st, "\"long_callbacks\":1"), "%s", st);
	t = log_text(&n);
	ck_assert_msg(count(t, "long callback: ") == 1, "%s", t);
	ck_assert_msg(strstr(t, "long callback: handle_call of <"), "%s", t);
	ck_assert_msg(strstr(t, "(slow 1.0.0) on scheduler "), "%s", t);
	ck_assert_msg(strstr(t, "(threshold 50 ms)"), "%s", t);
	free(t);
	ck_assert_int_eq(rt_node_stop(&n), 0);
	rt_node_clean(&n);
}
END_TEST

START_TEST(test_a_hung_callback_writes_a_crash_report_and_exits_71)
{
	static const char *const args[] = {"--hung-callback-s", "1", NULL};
	rt_node n;
	char *f;

	boot(&n, args);
	ctl(&n, "{\"op\":\"cast\",\"to\":\"l\",\"payload\":\"hang\"}");
	ck_assert_int_eq(rt_node_wait(&n, 5000), 71);
	log_has(&n, "molt crash: hung callback (running for ");
	log_has(&n, " in handle_cast of <");
	log_has(&n, "(looper 1.0.0) handling a cast message");
	log_has(&n, "; report ");
	f = crash_file(&n);
	file_has(f, "event: hung callback\n");
	file_has(f, "module: looper\n");
	file_has(f, "version: 1.0.0\n");
	file_has(f, "callback: handle_cast\n");
	file_has(f, "message: cast\n");
	free(f);
	rt_node_clean(&n);
}
END_TEST

/* --- crashes --- */

/* Send line to a crasher, expect a crash report for sig and status 70. */
static char *crashes(rt_node *n, const char *line, const char *sig)
{
	char want[128], out[256];

	let_moltd_handle_signals();
	boot(n, NULL);
	rt_ctl(n->root, line, out, sizeof(out)); /* no reply: it dies */
	ck_assert_int_eq(rt_node_wait(n, 5000), 70);
	snprintf(want, sizeof(want), "molt crash: signal %s (fault address ",
		 sig);
	log_has(n, want);
	log_has(n, "(crasher 1.0.0) handling a ");
	return crash_file(n);
}

START_TEST(test_a_segv_in_a_callback_writes_a_crash_report_and_exits_70)
{
	rt_node n;
	char *f = crashes(&n,
			  "{\"op\":\"cast\",\"to\":\"c\",\"payload\":\"segv\"}",
			  "SIGSEGV");

	log_has(&n, " in handle_cast of <");
	file_has(f, "event: SIGSEGV\nsignal: 11\nfault_address: 0x0\n");
	file_has(f, "process: <");
	file_has(f, "module: crasher\nversion: 1.0.0\n");
	file_has(f, "callback: handle_cast\nmessage: cast\n");
	free(f);
	rt_node_clean(&n);
}
END_TEST

START_TEST(test_abort_in_a_call_is_reported)
{
	rt_node n;
	char *f = crashes(
		&n, "{\"op\":\"call\",\"to\":\"c\",\"payload\":\"abort\"}",
		"SIGABRT");

	file_has(f, "event: SIGABRT\n");
	file_has(f, "callback: handle_call\nmessage: call\n");
	free(f);
	rt_node_clean(&n);
}
END_TEST

START_TEST(test_a_stack_overflow_is_reported)
{
	rt_node n;
	char *f = crashes(
		&n, "{\"op\":\"cast\",\"to\":\"c\",\"payload\":\"overflow\"}",
		"SIGSEGV");

	file_has(f, "event: SIGSEGV\n");
	file_has(f, "module: crasher\n");
	free(f);
	rt_node_clean(&n);
}
END_TEST

Suite *watch_suite(void)
{
	Suite *s = suite_create("watch");
	TCase *tc = tcase_create("shutdown");

	tcase_set_timeout(tc, 30);
	tcase_add_test(
		tc, test_sigterm_with_a_looping_callback_exits_at_the_deadline);
	tcase_add_test(tc, test_a_second_sigterm_exits_at_once);
	tcase_add_test(tc, test_a_normal_node_still_exits_0_promptly);
	suite_add_tcase(s, tc);
	tc = tcase_create("callbacks");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_a_long_callback_is_logged_once_and_counted);
	tcase_add_test(tc,
		       test_a_hung_callback_writes_a_crash_report_and_exits_71);
	tcase_add_test(
		tc,
		test_a_segv_in_a_callback_writes_a_crash_report_and_exits_70);
	tcase_add_test(tc, test_abort_in_a_call_is_reported);
	tcase_add_test(tc, test_a_stack_overflow_is_reported);
	suite_add_tcase(s, tc);
	return s;
}
