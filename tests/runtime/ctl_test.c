/* The control socket and the molt CLI against a real moltd. */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <cjson/cJSON.h>

#include "node_util.h"
#include "rt_util.h"
#include "test_util.h"

#define TREE                                                                   \
	"{\"strategy\":\"one_for_one\",\"intensity\":10,\"period\":10,"        \
	"\"children\":[{\"id\":\"c\",\"module\":\"counter\",\"name\":\"c\"},"  \
	"{\"id\":\"s\",\"module\":\"slow\",\"name\":\"s\"},"                   \
	"{\"id\":\"x\",\"module\":\"crasher\",\"name\":\"x\"}]}"

static rt_node n;
static char out[65536];

static void setup(void)
{
	rt_node_boot(&n, TREE);
}

static void teardown(void)
{
	rt_node_finish(&n);
}

static const char *req(const char *line)
{
	ck_assert_int_eq(rt_ctl(n.root, line, out, sizeof(out)), 0);
	return out;
}

static int molt(const char *args)
{
	return rt_run(out, sizeof(out), "'%s' --root '%s' %s", rt_molt_path(),
		      n.root, args);
}

static void send_str(int fd, const char *s)
{
	ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

START_TEST(test_socket_is_private)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/run", n.root);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/run/moltd.sock", n.root);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
}
END_TEST

START_TEST(test_ops_answer_one_line_each)
{
	ck_assert_ptr_nonnull(
		strstr(req("{\"op\":\"status\"}"), "\"ok\":true"));
	ck_assert_ptr_nonnull(strstr(out, "\"processes\":4"));
	req("{\"op\":\"call\",\"to\":\"c\",\"payload\":\"incr\"}");
	ck_assert_str_eq(out, "{\"ok\":true,\"reply\":\"1\"}");
	ck_assert_ptr_nonnull(strstr(req("{\"op\":\"ps\"}"), "\"name\":\"c\""));
	ck_assert_ptr_nonnull(
		strstr(req("{\"op\":\"modules\"}"), "\"name\":\"counter\""));
}
END_TEST

START_TEST(test_bad_input_gets_an_error_and_the_connection_lives)
{
	int fd = rt_ctl_connect(n.root);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(rt_ctl_line(fd, "{not json", out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"code\":\"eparse\""));
	ck_assert_int_eq(rt_ctl_line(fd, "[1,2]", out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"code\":\"eparse\""));
	ck_assert_int_eq(rt_ctl_line(fd, "{\"op\":\"fly\"}", out, sizeof(out)),
			 0);
	ck_assert_ptr_nonnull(strstr(out, "unknown op 'fly'"));
	ck_assert_int_eq(rt_ctl_line(fd, "{\"op\":7}", out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "no \\\"op\\\""));
	ck_assert_int_eq(rt_ctl_line(fd, "{\"op\":\"call\"}", out, sizeof(out)),
			 0);
	ck_assert_ptr_nonnull(strstr(out, "\"code\":\"einval\""));
	ck_assert_int_eq(rt_ctl_line(fd,
				     "{\"op\":\"call\",\"to\":\"nobody\","
				     "\"payload\":\"x\"}",
				     out, sizeof(out)),
			 0);
	ck_assert_ptr_nonnull(strstr(out, "no process 'nobody'"));
	ck_assert_int_eq(
		rt_ctl_line(fd, "{\"op\":\"status\"}", out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"ok\":true"));
	close(fd);
}
END_TEST

/* A line of about size bytes: prefix, a string of 'a's, suffix. */
static char *long_line(const char *prefix, size_t size, const char *suffix)
{
	size_t lp = strlen(prefix), ls = strlen(suffix);
	char *s = malloc(size + lp + ls + 1);

	ck_assert_ptr_nonnull(s);
	memcpy(s, prefix, lp);
	memset(s + lp, 'a', size);
	memcpy(s + lp + size, suffix, ls + 1);
	return s;
}

/* Send line (taken) on a new connection: it must be refused. */
static void refused(char *line)
{
	int fd = rt_ctl_connect(n.root);

	ck_assert_int_ge(fd, 0);
	/* cut off mid-send: the answer may still be there to read */
	if (rt_ctl_line(fd, line, out, sizeof(out)) == 0 ||
	    rt_ctl_line(fd, NULL, out, sizeof(out)) == 0)
		ck_assert_msg(strstr(out, "\"code\":\"eunsafe\""), "%s", out);
	/* and then the connection is closed */
	ck_assert_int_eq(rt_ctl_line(fd, NULL, out, sizeof(out)), -1);
	free(line);
	close(fd);
}

START_TEST(test_oversized_line_is_refused_and_closed)
{
	refused(long_line("", 99999, ""));
	ck_assert_ptr_nonnull(
		strstr(req("{\"op\":\"status\"}"), "\"ok\":true"));
}
END_TEST

START_TEST(test_eval_lines_may_be_long_and_others_not)
{
	int fd = rt_ctl_connect(n.root);
	char *line;

	/* a 1 MiB eval script is accepted (sync_nodes ignores its args) */
	line = long_line("{\"op\":\"eval\",\"script\":[\"point_of_no_return\","
			 "[\"sync_nodes\",\"",
			 1 << 20, "\",[]]]}");
	ck_assert_int_eq(rt_ctl_line(fd, line, out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "\"committed\":true"), "%.300s", out);
	free(line);
	close(fd);
	/* the same length for another op is refused, and so is an eval
	 * over 16 MiB: moltd answers eunsafe and hangs up, possibly while
	 * the client is still sending (then the send fails) */
	refused(long_line("{\"op\":\"status\",\"x\":\"", 1 << 20, "\"}"));
	refused(long_line("{\"op\":\"eval\",\"script\":[\"", 17u << 20,
			  "\"]}"));
	ck_assert_ptr_nonnull(
		strstr(req("{\"op\":\"status\"}"), "\"ok\":true"));
}
END_TEST

START_TEST(test_failed_eval_reply_carries_the_report)
{
	/* counter 2.0.0 is not in the search path: fails at the check */
	req("{\"op\":\"eval\",\"script\":[\"point_of_no_return\","
	    "[\"suspend\",[\"counter\"]],[\"apply\",[\"counter\",\"nope\",[]]]]"
	    "}");
	ck_assert_msg(strstr(out, "\"ok\":false"), "%s", out);
	ck_assert_msg(strstr(out, "\"report\":{"), "%s", out);
	ck_assert_msg(strstr(out, "\"failed\":{\"index\":2,\"instruction\":"
				  "\"apply\",\"module\":\"counter\""),
		      "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "\"steps\":["));
	/* an error without a report has none */
	req("{\"op\":\"eval\"}");
	ck_assert_msg(strstr(out, "\"ok\":false") && !strstr(out, "report"),
		      "%s", out);
}
END_TEST

START_TEST(test_client_leaving_mid_request_harms_nothing)
{
	int fd = rt_ctl_connect(n.root);

	ck_assert_int_ge(fd, 0);
	send_str(fd, "{\"op\":\"call\",\"to\":\"s\",\"payload\":"
		     "\"sleep 200\"}\n{\"op\":\"sta");
	close(fd);
	ck_assert_ptr_nonnull(
		strstr(req("{\"op\":\"status\"}"), "\"ok\":true"));
	rt_sleep_ms(300); /* the reply arrives for nobody */
	req("{\"op\":\"call\",\"to\":\"s\",\"payload\":\"ping\"}");
	ck_assert_str_eq(out, "{\"ok\":true,\"reply\":\"pong\"}");
}
END_TEST

/* Messages the process registered as name has started handling (ps). */
static double reductions(const char *name)
{
	cJSON *j = cJSON_Parse(req("{\"op\":\"ps\"}")), *p;
	double r = -1;

	cJSON_ArrayForEach(p, cJSON_GetObjectItem(j, "processes"))
	{
		if (strcmp(cJSON_GetObjectItem(p, "name")->valuestring, name) ==
		    0)
			r = cJSON_GetObjectItem(p, "reductions")->valuedouble;
	}
	cJSON_Delete(j);
	ck_assert(r >= 0);
	return r;
}

START_TEST(test_slow_call_does_not_block_other_clients)
{
	int fd = rt_ctl_connect(n.root), fd2;
	double t0, t1, r0 = reductions("s");

	send_str(fd, "{\"op\":\"call\",\"to\":\"s\",\"payload\":"
		     "\"sleep 800\"}\n");
	while (reductions("s") == r0)
		; /* until s is inside the call */
	/* a system operation on the busy process waits on a worker thread */
	fd2 = rt_ctl_connect(n.root);
	send_str(fd2, "{\"op\":\"get_state\",\"to\":\"s\"}\n");
	t0 = now_ms();
	req("{\"op\":\"call\",\"to\":\"c\",\"payload\":\"incr\"}");
	t1 = now_ms();
	ck_assert_str_eq(out, "{\"ok\":true,\"reply\":\"1\"}");
	ck_assert_msg(t1 - t0 < 650, "other client waited %.0f ms", t1 - t0);
	ck_assert_int_eq(rt_ctl_line(fd, NULL, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "{\"ok\":true,\"reply\":\"slept 800\"}");
	close(fd);
	ck_assert_int_eq(rt_ctl_line(fd2, NULL, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "{\"ok\":true,\"state\":\"<no format_state>\"}");
	close(fd2);
	/* and a call that outlives its timeout says so */
	req("{\"op\":\"call\",\"to\":\"s\",\"payload\":\"sleep 300\","
	    "\"timeout\":50}");
	ck_assert_ptr_nonnull(strstr(out, "\"code\":\"etimeout\""));
}
END_TEST

/* A forked child that becomes nobody and tries the socket. */
static int try_as_nobody(const char *root)
{
	struct passwd *pw = getpwnam("nobody");
	pid_t pid;
	int st;

	ck_assert_ptr_nonnull(pw);
	pid = fork();
	if (pid == 0) {
		char line[512];
		int fd;

		if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 ||
		    setuid(pw->pw_uid) != 0)
			_exit(3);
		fd = rt_ctl_connect(root);
		if (fd < 0)
			_exit(1); /* the directory keeps it out */
		if (rt_ctl_line(fd, "{\"op\":\"status\"}", line, sizeof(line)) <
			    0 ||
		    !strstr(line, "\"ok\":true"))
			_exit(2); /* refused or closed */
		_exit(0);
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(test_other_users_are_refused)
{
	char path[512];

	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: refused peers need root to setuid\n");
		return;
	}
	ck_assert_int_eq(try_as_nobody(n.root), 1);
	/* with the permissions opened up, the uid check still refuses */
	chmod(n.root, 0755);
	snprintf(path, sizeof(path), "%s/run", n.root);
	chmod(path, 0755);
	snprintf(path, sizeof(path), "%s/run/moltd.sock", n.root);
	chmod(path, 0777);
	ck_assert_int_eq(try_as_nobody(n.root), 2);
	ck_assert_ptr_nonnull(
		strstr(req("{\"op\":\"status\"}"), "\"ok\":true"));
}
END_TEST

START_TEST(test_cli_status_ps_call_cast)
{
	ck_assert_int_eq(molt("status"), 0);
	ck_assert_ptr_nonnull(strstr(out, "processes   4"));
	ck_assert_int_eq(molt("ps"), 0);
	ck_assert_ptr_nonnull(strstr(out, "counter"));
	ck_assert_int_eq(molt("call c incr"), 0);
	ck_assert_str_eq(out, "1\n");
	ck_assert_int_eq(molt("cast c incr"), 0);
	ck_assert_int_eq(molt("--json call c get"), 0);
	ck_assert_str_eq(out, "{\"ok\":true,\"reply\":\"2\"}\n");
	ck_assert_int_eq(molt("call nobody incr"), 1);
	ck_assert_ptr_nonnull(strstr(out, "molt call: no process 'nobody'"));
	ck_assert_int_eq(molt("--json call nobody incr"), 1);
	ck_assert_ptr_nonnull(strstr(out, "\"code\":\"enotfound\""));
	ck_assert_int_eq(molt("call c"), 2);
	ck_assert_int_eq(molt("call s 'sleep 500' --timeout 50"), 1);
	ck_assert_ptr_nonnull(strstr(out, "timed out"));
	ck_assert_int_eq(molt("eval x.json"), 1);
	ck_assert_ptr_nonnull(strstr(out, "x.json"));
}
END_TEST

START_TEST(test_cli_code_server)
{
	char cmd[4096];
	const char *v1 = rt_fixture("counter");

	snprintf(cmd, sizeof(cmd), "load '%.*scounter-1.0.1/counter.so'",
		 (int)(strstr(v1, "counter-1.0.0") - v1), v1);
	ck_assert_int_eq(molt(cmd), 0);
	ck_assert_ptr_nonnull(strstr(out, "loaded counter"));
	ck_assert_int_eq(molt("modules"), 0);
	ck_assert_ptr_nonnull(strstr(out, "1.0.1"));
	ck_assert_int_eq(molt("soft-purge counter"), 1);
	ck_assert_ptr_nonnull(strstr(out, "old code still runs"));
	ck_assert_int_eq(molt("purge counter"), 0);
	ck_assert_ptr_nonnull(strstr(out, "1 processes killed"));
	ck_assert_int_eq(molt("delete nosuch"), 1);
	ck_assert_int_eq(molt("load /nonexistent.so"), 1);
	ck_assert_int_eq(molt("--json modules"), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"old\":\"\""));
}
END_TEST

START_TEST(test_cli_stop_shuts_the_node_down)
{
	ck_assert_int_eq(molt("stop"), 0);
	ck_assert_int_eq(rt_node_wait(&n, 10000), 0);
	ck_assert_int_eq(molt("status"), 1);
	ck_assert_ptr_nonnull(strstr(out, "no moltd at"));
}
END_TEST

Suite *ctl_suite(void)
{
	Suite *s = suite_create("ctl");
	TCase *tc = tcase_create("ctl");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_socket_is_private);
	tcase_add_test(tc, test_ops_answer_one_line_each);
	tcase_add_test(tc,
		       test_bad_input_gets_an_error_and_the_connection_lives);
	tcase_add_test(tc, test_oversized_line_is_refused_and_closed);
	tcase_add_test(tc, test_eval_lines_may_be_long_and_others_not);
	tcase_add_test(tc, test_failed_eval_reply_carries_the_report);
	tcase_add_test(tc, test_client_leaving_mid_request_harms_nothing);
	tcase_add_test(tc, test_slow_call_does_not_block_other_clients);
	tcase_add_test(tc, test_other_users_are_refused);
	tcase_add_test(tc, test_cli_status_ps_call_cast);
	tcase_add_test(tc, test_cli_code_server);
	tcase_add_test(tc, test_cli_stop_shuts_the_node_down);
	suite_add_tcase(s, tc);
	return s;
}
