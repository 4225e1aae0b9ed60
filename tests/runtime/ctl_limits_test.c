/* The control socket's limits against a real moltd: the modes of --root. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
	"{\"id\":\"s\",\"module\":\"slow\",\"name\":\"s\"}]}"

static char out[65536];

/* --- the modes of --root --- */

/* Start moltd on root (its boot spec inside); exit status, 124 if it
 * was still running after 5 s. Its stderr is in out. */
static int moltd_on(rt_node *nd)
{
	return rt_run(out, sizeof(out),
		      "timeout -s KILL 5 '%s' --root '%s' "
		      "--boot '%s'",
		      rt_moltd_path(), nd->root, nd->boot);
}

static unsigned mode_of(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_mode & 07777;
}

START_TEST(test_ctl_refuses_a_world_writable_root)
{
	rt_node nd = {0};
	char run[512], want[600];

	molt_test_mkdtemp(nd.root, sizeof(nd.root), "root");
	rt_node_write_boot(&nd, TREE);
	snprintf(run, sizeof(run), "%s/run", nd.root);
	/* ROOT writable by others: refused, and left as it was */
	ck_assert_int_eq(chmod(nd.root, 0777), 0);
	ck_assert_int_eq(moltd_on(&nd), 1);
	snprintf(want, sizeof(want), "%s: mode 0777", nd.root);
	ck_assert_msg(strstr(out, want), "%s", out);
	ck_assert_msg(strstr(out, "chmod 0700"), "%s", out);
	ck_assert_uint_eq(mode_of(nd.root), 0777);
	/* ROOT/run writable by its group: the same */
	ck_assert_int_eq(chmod(nd.root, 0755), 0);
	ck_assert_int_eq(mkdir(run, 0700), 0);
	ck_assert_int_eq(chmod(run, 0770), 0);
	ck_assert_int_eq(moltd_on(&nd), 1);
	snprintf(want, sizeof(want), "%s: mode 0770", run);
	ck_assert_msg(strstr(out, want), "%s", out);
	ck_assert_uint_eq(mode_of(run), 0770);
	/* owned by someone else (root can make that happen) */
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam("nobody");

		ck_assert_ptr_nonnull(pw);
		ck_assert_int_eq(chmod(run, 0700), 0);
		ck_assert_int_eq(chown(run, pw->pw_uid, (gid_t)-1), 0);
		ck_assert_int_eq(moltd_on(&nd), 1);
		ck_assert_msg(strstr(out, "owned by uid"), "%s", out);
	}
	molt_test_rmrf(nd.root);
}
END_TEST

/* Start moltd on nd->root (made or not) with nd->boot; wait for its
 * socket. Its stderr goes to log. */
static void start_on(rt_node *nd, const char *log)
{
	nd->pid = fork();
	ck_assert_int_ge(nd->pid, 0);
	if (nd->pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		dup2(fd, 2);
		execl(rt_moltd_path(), "moltd", "--root", nd->root, "--boot",
		      nd->boot, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 5000; i++) {
		int fd = rt_ctl_connect(nd->root);

		if (fd >= 0) {
			close(fd);
			return;
		}
		rt_sleep_ms(1);
	}
	ck_abort_msg("moltd did not start on %s (see %s)", nd->root, log);
}

START_TEST(test_ctl_makes_a_missing_root_private)
{
	rt_node nd = {0};
	char top[200], log[320], path[600];

	molt_test_mkdtemp(top, sizeof(top), "root");
	snprintf(log, sizeof(log), "%s/moltd.log", top);
	snprintf(nd.root, sizeof(nd.root), "%s", top);
	rt_node_write_boot(&nd, TREE);
	/* a safe mode is left as it is; the missing run/ is made 0700 */
	ck_assert_int_eq(chmod(top, 0750), 0);
	start_on(&nd, log);
	ck_assert_int_eq(rt_node_stop(&nd), 0);
	ck_assert_uint_eq(mode_of(top), 0750);
	snprintf(path, sizeof(path), "%s/run", top);
	ck_assert_uint_eq(mode_of(path), 0700);
	/* a root that does not exist yet is made 0700 */
	snprintf(nd.root, sizeof(nd.root), "%s/node", top);
	start_on(&nd, log);
	ck_assert_int_eq(rt_node_stop(&nd), 0);
	ck_assert_uint_eq(mode_of(nd.root), 0700);
	snprintf(path, sizeof(path), "%s/run", nd.root);
	ck_assert_uint_eq(mode_of(path), 0700);
	molt_test_rmrf(top);
}
END_TEST

Suite *ctl_limits_suite(void)
{
	Suite *s = suite_create("ctl_limits");
	TCase *root = tcase_create("root");

	tcase_set_timeout(root, 40);
	tcase_add_test(root, test_ctl_refuses_a_world_writable_root);
	tcase_add_test(root, test_ctl_makes_a_missing_root_private);
	suite_add_tcase(s, root);
	return s;
}
